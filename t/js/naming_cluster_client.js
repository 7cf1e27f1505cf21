// The nacos npm package (1.x HTTP naming client) against ONE node of a
// cluster: registers <n> instances (their ip:ports hash to various nodes,
// so the node forwards), waits until its subscription lists all of them,
// deregisters the first, waits until the subscription drops it, closes.
// One JSON line per step, for t/distro_http.t.
//   node naming_cluster_client.js <port> <service> <n>
'use strict';

const { NacosNamingClient } = require('nacos');

const port = process.argv[2];
const service = process.argv[3];
const n = Number(process.argv[4]);
const quiet = { info() {}, warn() {}, debug() {}, error() {}, log() {} };

function out(step, data) {
  process.stdout.write(JSON.stringify({ step, data }) + '\n');
}

function addr(h) { return h.ip + ':' + h.port; }

function ips(i) { return { ip: '10.42.0.' + i, port: 9000 + i }; }

// resolves with the hosts once the listener sees exactly the wanted set;
// rejects after ms
function waitFor(client, want, ms) {
  const w = want.slice().sort().join(',');
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no listener call with ' + w
                                                + ' within ' + ms + ' ms')),
                         ms);
    const listener = (hosts) => {
      if (hosts.map(addr).sort().join(',') === w) {
        clearTimeout(t);
        client.unSubscribe(service, listener);
        resolve(hosts);
      }
    };
    client.subscribe(service, listener);
  });
}

async function main() {
  const client = new NacosNamingClient({
    logger: quiet, serverList: `127.0.0.1:${port}`, namespace: 'public',
  });
  await client.ready();

  const all = [];
  for (let i = 1; i <= n; i++) {
    await client.registerInstance(service, ips(i));
    all.push(addr(ips(i)));
  }
  out('registered', all);

  // the subscription polls every 10 s, or is pushed to (UDP) sooner
  const seen = await waitFor(client, all, 40000);
  out('subscribed', seen.map(addr).sort());

  await client.deregisterInstance(service, ips(1));
  out('deregistered', addr(ips(1)));
  const left = await waitFor(client, all.slice(1), 40000);
  out('changed', left.map(addr).sort());

  client.close();
  out('done', true);
  setTimeout(() => process.exit(0), 100);
}

main().catch(err => { out('error', String(err && err.stack || err));
                      process.exit(1); });

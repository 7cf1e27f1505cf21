// Drives the nacos npm package (1.x HTTP naming client) against nacosd:
// register, query, subscribe and see a change, deregister.  Prints one
// JSON line per step for t/naming_node.t.
//   node naming_client.js <port> <service>
'use strict';

const http = require('http');
const { NacosNamingClient } = require('nacos');

const port = process.argv[2];
const service = process.argv[3];
const quiet = { info() {}, warn() {}, debug() {}, error() {}, log() {} };

function out(step, data) {
  process.stdout.write(JSON.stringify({ step, data }) + '\n');
}

// an instance registered behind the client's back: the change must come
// to the client by push (or by its 10 s poll)
function rawRegister(ip, p) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port, method: 'POST',
      path: `/nacos/v1/ns/instance?serviceName=${service}&ip=${ip}&port=${p}`,
    }, res => { res.resume(); res.on('end', resolve); });
    req.on('error', reject);
    req.end();
  });
}

async function main() {
  const client = new NacosNamingClient({
    logger: quiet, serverList: `127.0.0.1:${port}`, namespace: 'public',
  });
  await client.ready();

  await client.registerInstance(service, { ip: '10.20.0.1', port: 8080,
                                           metadata: { from: 'node' } });
  out('registered', true);

  const all = await client.getAllInstances(service);
  out('instances', all.map(h => ({ ip: h.ip, port: h.port,
                                   metadata: h.metadata })));

  const changed = new Promise(resolve => {
    client.subscribe(service, hosts => {
      if (hosts.some(h => h.ip === '10.20.0.2')) resolve(hosts);
    });
  });
  await new Promise(r => setTimeout(r, 300));   // the subscribing poll
  await rawRegister('10.20.0.2', 9090);
  const hosts = await changed;
  out('changed', hosts.map(h => h.ip).sort());

  await client.deregisterInstance(service, { ip: '10.20.0.1', port: 8080 });
  const left = await client.getAllInstances(service, 'DEFAULT_GROUP', '', false);
  out('after_deregister', left.map(h => h.ip).sort());

  client.close();
  out('done', true);
  setTimeout(() => process.exit(0), 100);
}

main().catch(err => { out('error', String(err && err.stack || err));
                      process.exit(1); });

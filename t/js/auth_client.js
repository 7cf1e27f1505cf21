// The nacos npm package (1.x HTTP config and naming clients) against a
// nacosd with auth on, logging in with username and password (the
// package sends them with each request): publish, get, subscribe and
// see a change, register, list; and with a wrong password every call
// fails.  One JSON line per step for t/auth_js.t.
//   node auth_client.js <port> <username> <password> <bad password>
'use strict';

const { NacosConfigClient, NacosNamingClient } = require('nacos');

const [port, username, password, badPassword] = process.argv.slice(2);
const quiet = { info() {}, warn() {}, debug() {}, error() {}, log() {} };
const group = 'DEFAULT_GROUP';

function out(step, data) {
  process.stdout.write(JSON.stringify({ step, data }) + '\n');
}

async function attempt(fn) {
  try { return await fn(); } catch (e) { return { failed: String(e.message || e) }; }
}

async function main() {
  const config = new NacosConfigClient({ serverAddr: `127.0.0.1:${port}`,
                                         username, password });
  await config.ready();
  out('published', await config.publishSingle('js.auth', group, 'v=1'));
  out('get', await config.getConfig('js.auth', group));

  const changed = new Promise(resolve => {
    config.subscribe({ dataId: 'js.auth', group }, content => {
      if (content === 'v=2') resolve(content);
    });
  });
  await new Promise(r => setTimeout(r, 500));
  out('republished', await config.publishSingle('js.auth', group, 'v=2'));
  out('changed', await changed);
  config.close();

  const naming = new NacosNamingClient({ logger: quiet, namespace: 'public',
    serverList: `127.0.0.1:${port}`, username, password });
  await naming.ready();
  await naming.registerInstance('js-auth-svc', { ip: '10.30.0.1',
                                                 port: 8080 });
  out('registered', true);
  const all = await naming.getAllInstances('js-auth-svc');
  out('instances', all.map(h => h.ip));
  naming.close();

  const bad = new NacosConfigClient({ serverAddr: `127.0.0.1:${port}`,
                                      username, password: badPassword });
  await bad.ready();
  out('bad_publish', await attempt(() =>
    bad.publishSingle('js.auth', group, 'v=3')));
  bad.close();

  out('done', true);
  setTimeout(() => process.exit(0), 100);
}

main().catch(err => { out('error', String(err && err.stack || err));
                      process.exit(1); });

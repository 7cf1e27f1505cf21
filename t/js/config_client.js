// Drives the nacos npm package's 1.x config client (HTTP, long polling)
// against nacosd: publish, get, subscribe and receive a change made by
// someone else, remove.  One JSON line per step for t/config_node.t.
//   node config_client.js <port> <dataId>
'use strict';

const http = require('http');
const { NacosConfigClient } = require('nacos');

const port = process.argv[2];
const dataId = process.argv[3];
const group = 'DEFAULT_GROUP';

function out(step, data) {
  process.stdout.write(JSON.stringify({ step, data }) + '\n');
}

// a publish behind the client's back: it must arrive by long polling
function rawPublish(content) {
  return new Promise((resolve, reject) => {
    const body = `dataId=${dataId}&group=${group}&content=`
               + encodeURIComponent(content);
    const req = http.request({
      host: '127.0.0.1', port, method: 'POST', path: '/nacos/v1/cs/configs',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded',
                 'Content-Length': Buffer.byteLength(body) },
    }, res => { res.resume(); res.on('end', resolve); });
    req.on('error', reject);
    req.end(body);
  });
}

async function main() {
  const client = new NacosConfigClient({ serverAddr: `127.0.0.1:${port}` });
  await client.ready();

  out('published', await client.publishSingle(dataId, group, 'v=1'));
  out('get', await client.getConfig(dataId, group));

  const seen = [];
  const changed = new Promise(resolve => {
    client.subscribe({ dataId, group }, content => {
      seen.push(content);
      if (content === 'v=2') resolve(content);
    });
  });
  await new Promise(r => setTimeout(r, 500));    // the first poll is held
  await rawPublish('v=2');
  out('changed', await changed);

  out('removed', await client.remove(dataId, group));
  out('after_remove', await client.getConfig(dataId, group));

  client.close();
  out('done', true);
  setTimeout(() => process.exit(0), 100);
}

main().catch(err => { out('error', String(err && err.stack || err));
                      process.exit(1); });

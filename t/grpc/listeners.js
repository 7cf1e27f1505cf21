// Many Nacos 2.x config listeners on a real gRPC stack (@grpc/grpc-js),
// each on its own connection (its own channel and subchannel), as many
// SDK processes would be.
//
//   node listeners.js <spec.json>
//
// spec: { "concurrency": 20,
//         "listeners": [ { "id": "n3a", "port": 9868, "clientIp": "",
//                          "headers": { "Vipserver-Tag": "blue" },
//                          "keys": [ { "dataId", "group", "tenant", "md5" } ],
//                          "fetch": true, "queryTag": "" } ] }
//
// Each listener: ServerCheckRequest, the bi-stream, ConnectionSetupRequest
// (metadata.clientIp as given), ConfigBatchListenRequest for its keys.
// Then, as the Java SDK: every server push is answered on the stream; a
// ConfigChangeNotifyRequest is printed and, with "fetch", followed by a
// ConfigQueryRequest for that key on the same connection.  A listener's
// fetches run one after another, in the order of its notifies, so the
// sequence of contents it prints is the sequence its node served.
//
// One JSON line per event: ready, notify, fetched, error, stream_error,
// stream_end, and all_ready once every listener has answered its listen.
'use strict';

const fs = require('fs');
const { grpc, payload, decode, unary } = require('./nacos');

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));

function out(obj) { process.stdout.write(JSON.stringify(obj) + '\n'); }

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function fetchOne(L, client, key) {
  const body = { dataId: key.dataId, group: key.group, tenant: key.tenant };
  if (L.queryTag) { body.tag = L.queryTag; }
  const r = await unary(client, payload('ConfigQueryRequest', body,
                                        L.headers, L.clientIp));
  const b = r.body || {};
  out({ event: 'fetched', l: L.id, dataId: key.dataId, group: key.group,
        type: r.type, error: r.grpc_error || r.decode_error,
        resultCode: b.resultCode, errorCode: b.errorCode,
        content: b.errorCode === 300 ? null : b.content, md5: b.md5,
        beta: b.beta, tag: b.tag, at: Date.now() });
}

async function listener(L) {
  const client = new grpc.Client('127.0.0.1:' + L.port,
    grpc.credentials.createInsecure(),
    { 'grpc.use_local_subchannel_pool': 1,
      'grpc.max_receive_message_length': 64 << 20,
      'grpc.max_send_message_length': 64 << 20 });

  const check = await unary(client, payload('ServerCheckRequest', {}));
  if (check.type !== 'ServerCheckResponse') {
    out({ event: 'error', l: L.id, step: 'ServerCheckRequest', got: check });
    return false;
  }

  let queue = Promise.resolve();
  const stream = client.makeBidiStreamRequest('/BiRequestStream/requestBiStream',
    (x) => x, (x) => x, new grpc.Metadata());
  stream.on('data', (buf) => {
    const msg = decode(buf);
    if (/Request$/.test(msg.type) && msg.type !== 'SetupAckRequest') {
      stream.write(payload(msg.type.replace(/Request$/, 'Response'),
        { resultCode: 200, errorCode: 0, success: true,
          requestId: msg.body.requestId }));
    }
    if (msg.type !== 'ConfigChangeNotifyRequest') { return; }
    const key = { dataId: msg.body.dataId, group: msg.body.group,
                  tenant: msg.body.tenant || '' };
    out({ event: 'notify', l: L.id, dataId: key.dataId, group: key.group,
          tenant: key.tenant, at: Date.now() });
    if (L.fetch) { queue = queue.then(() => fetchOne(L, client, key)); }
  });
  stream.on('error', (e) => out({ event: 'stream_error', l: L.id, code: e.code }));
  stream.on('end', () => out({ event: 'stream_end', l: L.id }));
  stream.write(payload('ConnectionSetupRequest',
    { clientVersion: 'Nacos-Java-Client:v2.5.1',
      labels: Object.assign({ module: 'config' }, L.labels || {}) },
    {}, L.clientIp));
  await sleep(100);

  const r = await unary(client, payload('ConfigBatchListenRequest',
    { listen: true, configListenContexts: L.keys }, L.headers, L.clientIp));
  const ok = r.type === 'ConfigChangeBatchListenResponse' && r.body.success;
  out({ event: ok ? 'ready' : 'error', l: L.id, step: 'ConfigBatchListenRequest',
        type: r.type, error: r.grpc_error,
        changed: ok ? (r.body.changedConfigs || []).map((c) => c.dataId) : null });
  return ok;
}

async function main() {
  const ls = spec.listeners;
  const width = spec.concurrency || 20;
  let next = 0, ready = 0;
  async function worker() {
    while (next < ls.length) {
      const L = ls[next++];
      if (await listener(L).catch((e) => {
        out({ event: 'error', l: L.id, error: String(e) }); return false;
      })) { ready++; }
    }
  }
  await Promise.all(Array.from({ length: Math.min(width, ls.length) }, worker));
  out({ event: 'all_ready', ready: ready, of: ls.length });
  // stay connected until the test kills us
}

main().catch((e) => { out({ event: 'fatal', error: String(e) }); process.exit(2); });

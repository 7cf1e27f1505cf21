// Many Nacos 2.x SDK connections on a real gRPC stack (@grpc/grpc-js),
// each on its own HTTP/2 connection, that behave as the Java SDK does
// about where they connect:
//
//   node conns.js <spec.json>
//
// spec: { servers: [SDK gRPC port, ...],       the client's server list
//         clients: [ { who, server: index in servers, clientIp, app,
//                      source } ],
//         concurrency: 20, tries: how many servers a client tries before
//         it gives up (default: all of them) }
//
// A client: ServerCheckRequest, the bi-stream, ConnectionSetupRequest
// (metadata.clientIp and labels AppName/source as given, an empty
// abilityTable so the server answers with SetupAckRequest).  Accepted
// (SetupAckRequest): a "conn" line.  Refused (ConnectResetRequest or the
// stream ends before SetupAck): a "refused" line, and the next server
// of the list is tried, as the SDK does.
//
// Connected, every server request is answered as the Java SDK answers
// it; a ConnectResetRequest is answered with ConnectResetResponse and
// the client then connects to serverIp:serverPort (the HTTP port, so the
// SDK port is serverPort + 1000) when the request names one, else to the
// next server of its list: a "reset" line, then "conn" (or "refused").
// A connection lost otherwise ("lost") also moves to the next server.
//
// A client with "register": SVC registers one instance of SVC
// (clientIp:8080) on every connection it gets, as the SDK's redo does
// ("reg" line); one with "subscribe": SVC subscribes to SVC on every
// connection it gets ("sub" with the hosts of the answer) and prints
// every NotifySubscriberRequest for it ("push" with its hosts).
//
// One JSON line per event on stdout, each with "t" (ms since the epoch).
'use strict';

const fs = require('fs');
const { grpc, payload, decode, unary } = require('./nacos');

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));

function out(obj) {
  obj.t = Date.now();
  process.stdout.write(JSON.stringify(obj) + '\n');
}

const tries = spec.tries || spec.servers.length;

// one connection attempt; resolves 'conn', 'refused'; later events
// (reset, lost) call C.moved(port) with where to go next
function attempt(C, port) {
  return new Promise((resolve) => {
    const client = new grpc.Client('127.0.0.1:' + port,
      grpc.credentials.createInsecure(),
      { 'grpc.enable_retries': 0, 'grpc.use_local_subchannel_pool': 1 });
    let state = 'setup';
    let stream = null;
    const finish = (why, next) => {
      if (state === 'gone') { return; }
      const was = state;
      state = 'gone';
      try { stream && stream.cancel(); } catch (e) { /* closed */ }
      try { client.close(); } catch (e) { /* closed */ }
      if (was === 'setup') {
        out({ ev: 'refused', who: C.who, port, why });
        resolve('refused');
      } else {
        C.moved(next);
      }
    };
    unary(client, payload('ServerCheckRequest', {}, {}, C.clientIp), 5000)
      .then((chk) => {
      if (chk.grpc_error !== undefined || chk.type !== 'ServerCheckResponse') {
        finish('server check');
        return;
      }
      stream = client.makeBidiStreamRequest('/BiRequestStream/requestBiStream',
        (x) => x, (x) => x, new grpc.Metadata());
      stream.on('data', (buf) => {
        const m = decode(buf);
        if (m.type === 'SetupAckRequest') {
          if (state === 'setup') {
            state = 'up';
            C.port = port;
            out({ ev: 'conn', who: C.who, port });
            resolve('conn');
            naming(C, client, port);
          }
          return;
        }
        if (m.type === 'NotifySubscriberRequest' && C.subscribe
            && m.body.serviceInfo && m.body.serviceInfo.name === C.subscribe) {
          out({ ev: 'push', who: C.who, port,
                hosts: hostsOf(m.body.serviceInfo) });
        }
        if (/Request$/.test(m.type)) {
          try {
            stream.write(payload(m.type.replace(/Request$/, 'Response'),
              { resultCode: 200, errorCode: 0, success: true,
                requestId: m.body.requestId }));
          } catch (e) { /* closing */ }
        }
        if (m.type === 'ConnectResetRequest') {
          if (state === 'setup') { finish('ConnectResetRequest'); return; }
          const ip = m.body.serverIp;
          const next = ip ? +m.body.serverPort + 1000 : null;
          out({ ev: 'reset', who: C.who, port, serverIp: ip || null,
                serverPort: ip ? +m.body.serverPort : null });
          // the SDK answers, then switches server
          setTimeout(() => finish('reset', next), 20);
        }
      });
      stream.on('error', () => finish('stream error'));
      stream.on('end', () => finish('stream end'));
      stream.write(payload('ConnectionSetupRequest',
        { clientVersion: 'Nacos-Java-Client:v2.5.1', tenant: '',
          labels: { source: C.source || 'sdk', module: 'naming',
                    AppName: C.app || '-' },
          abilityTable: {} }, {}, C.clientIp));
    });
  });
}

function hostsOf(si) {
  return ((si && si.hosts) || []).map((h) => h.ip + ':' + h.port).sort();
}

// what the SDK's redo does on a new connection: register, subscribe
async function naming(C, client, port) {
  if (C.register) {
    const r = await unary(client, payload('InstanceRequest',
      { namespace: 'public', serviceName: C.register,
        groupName: 'DEFAULT_GROUP', type: 'registerInstance', module: 'naming',
        instance: { ip: C.clientIp, port: 8080, weight: 1.0, healthy: true,
                    enabled: true, ephemeral: true, clusterName: 'DEFAULT',
                    metadata: {} } }, {}, C.clientIp), 5000);
    out({ ev: 'reg', who: C.who, port, code: r.body ? r.body.resultCode : -1 });
  }
  if (C.subscribe) {
    const r = await unary(client, payload('SubscribeServiceRequest',
      { namespace: 'public', serviceName: C.subscribe,
        groupName: 'DEFAULT_GROUP', clusters: '', subscribe: true,
        module: 'naming' }, {}, C.clientIp), 5000);
    out({ ev: 'sub', who: C.who, port,
          code: r.body ? r.body.resultCode : -1,
          hosts: hostsOf(r.body && r.body.serviceInfo) });
  }
}

// connect to port, else to the next servers of the list
async function connect(C, port) {
  let i = Math.max(0, spec.servers.indexOf(port));
  for (let k = 0; k < tries; k++) {
    const p = k === 0 ? port : spec.servers[(i + k) % spec.servers.length];
    if (await attempt(C, p) === 'conn') { return; }
  }
  out({ ev: 'gave_up', who: C.who });
}

function start(c) {
  const C = Object.assign({}, c);
  C.moved = (next) => {
    if (!next) {
      const i = spec.servers.indexOf(C.port);
      next = spec.servers[(i + 1) % spec.servers.length];
    }
    connect(C, next);
  };
  return connect(C, spec.servers[c.server || 0]);
}

async function main() {
  const queue = spec.clients.slice();
  const n = spec.concurrency || 20;
  const workers = [];
  for (let w = 0; w < n; w++) {
    workers.push((async () => {
      while (queue.length) { await start(queue.shift()); }
    })());
  }
  await Promise.all(workers);
  out({ ev: 'all_started' });
}

main().catch((e) => { out({ ev: 'fatal', error: String(e) }); process.exit(2); });

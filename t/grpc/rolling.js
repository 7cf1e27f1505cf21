// Steady naming load across a cluster, for t/distro_rolling.t, on a real
// gRPC stack (@grpc/grpc-js), one process for every client:
//
//   node rolling.js <config.json>
//
// config: { ports: [SDK gRPC port of node 1, 2, ...],
//           http_ports: [HTTP port of node 1, 2, ...], svc,
//           registrars: [home node, ...], every_ms: [min, max],
//           http_registrars: [first node, ...], beat_ms,
//           bulk: [{home, n}, ...], bulk_svc, mortals: [home node, ...],
//           subscribers: [home node, ...], stop_file }
//
// A registrar is one 2.x connection holding a growing set of instances of
// svc: every every_ms (random in [min, max]) it adds one instance and sends
// BatchInstanceRequest with its whole set (a 2.x client's instances of a
// service are its last batch).  When its connection is lost (stream ended
// or errored, a ConnectResetRequest, a request failing at the transport)
// it does what the Java SDK's redo does: connects to the next node that
// accepts (round robin from the one after the lost node) and registers its
// whole set again.  Once stop_file exists it adds nothing more.
//
// A mortal is a registrar that does not redo: when its connection goes
// it is gone for good (a client that died with its node).
//
// A bulk registrar is a 2.x connection that registers n instances of
// bulk_svc in one batch and holds them, redoing them as a registrar does.
//
// An HTTP registrar is a 1.x client: every every_ms it registers one more
// ephemeral instance (POST /nacos/v1/ns/instance) and beats each of its
// instances (PUT .../instance/beat with the beat info, which registers the
// instance again where it is missing, as the 1.x SDK's beat does) as the
// SDK's beat reactor does: one timer per instance, the next beat beat_ms
// after the last one's answer, the instances' beats concurrent (not one
// round beating them one after the other, which with hundreds of instances
// on a loaded host outlasts the protocol's 30 s beat timeout); a request
// that fails (refused, 503, not 200) goes to the next node round robin, as
// the SDK's server list does.
//
// A subscriber is one connection subscribed to svc on its home node; when
// the connection is lost it connects to its home node again (retrying
// while the node is down or loading) and subscribes again.  It answers
// every push as the Java SDK does.
//
// One JSON line per event on stdout, each with "t" (ms since the epoch):
//   {ev:"conn",   who, node}            connection set up (ServerCheck ok)
//   {ev:"refused",who, node, why}       a node did not take the connection
//   {ev:"lost",   who, node, why}       the connection is gone
//   {ev:"reg",    who, svc, node, inst, n}  inst (new) of svc registered
//                                       (answered 200); n in the set
//   {ev:"redo",   who, node, n}         the whole set registered again after
//                                       a reconnect (answered 200)
//   {ev:"regfail",who, node, code, msg} a batch not answered 200
//   {ev:"idle",   who}                  stop_file seen, the whole set registered
//   {ev:"gone",   who}                  a mortal lost its connection, for good
//   {ev:"beat",   who, node, code}      a beat answered 20404 (not found)
//   {ev:"sub",    who, node, hosts}     SubscribeServiceResponse 200
//   {ev:"push",   who, node, hosts}     NotifySubscriberRequest for svc
'use strict';

const path = require('path');
const fs = require('fs');
const http = require('http');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const proto = path.join(__dirname, '..', '..', 'src', 'modules', 'grpc',
                        'nacos_grpc.proto');
const def = loader.loadSync(proto, { keepCase: true, defaults: true });
const codec = def.Request.request;
const N = cfg.ports.length;

function out(o) {
  o.t = Date.now();
  process.stdout.write(JSON.stringify(o) + '\n');
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function payload(type, body) {
  return codec.requestSerialize({
    metadata: { type: type, clientIp: '', headers: {} },
    body: { type_url: '', value: Buffer.from(JSON.stringify(body || {})) },
  });
}

function decode(buf) {
  const p = codec.responseDeserialize(buf);
  let body = null;
  try { body = JSON.parse(p.body ? p.body.value.toString('utf8') : '{}'); }
  catch (e) { body = { unparsable: true }; }
  return { type: p.metadata ? p.metadata.type : '', body: body };
}

function hostsOf(si) {
  return ((si && si.hosts) || []).map((h) => h.ip + ':' + h.port).sort();
}

// one SDK connection to node (1-based); resolves to the connection or to
// null (with a "refused" line) when the node does not take it
async function connect(who, node, onPush, onLost) {
  const client = new grpc.Client('127.0.0.1:' + cfg.ports[node - 1],
                                 grpc.credentials.createInsecure(),
                                 { 'grpc.max_receive_message_length': 64 << 20,
                                   'grpc.enable_retries': 0,
                                   // an HTTP/2 connection of its own: a
                                   // connection is a client to the server,
                                   // and grpc-js shares one between channels
                                   // to the same address otherwise
                                   'grpc.use_local_subchannel_pool': 1 });
  const c = { who, node, client, alive: true, stream: null };
  c.unary = (type, body) => new Promise((resolve) => {
    client.makeUnaryRequest('/Request/request', (x) => x, (x) => x,
      payload(type, body), new grpc.Metadata(),
      { deadline: Date.now() + 5000 }, (err, res) => {
        if (err) { resolve({ grpc_error: err.code, details: err.details }); }
        else { try { resolve(decode(res)); } catch (e) { resolve({ grpc_error: -1 }); } }
      });
  });
  c.lose = (why) => {
    if (!c.alive) { return; }
    c.alive = false;
    out({ ev: 'lost', who, node, why });
    try { c.stream && c.stream.cancel(); } catch (e) { /* closed */ }
    try { client.close(); } catch (e) { /* closed */ }
    onLost(c);
  };
  const chk = await c.unary('ServerCheckRequest', {});
  if (chk.grpc_error !== undefined || chk.type !== 'ServerCheckResponse'
      || (chk.body.resultCode && chk.body.resultCode !== 200)) {
    out({ ev: 'refused', who, node,
          why: chk.grpc_error !== undefined ? 'grpc ' + chk.grpc_error
                                            : chk.type + ' ' + chk.body.errorCode });
    client.close();
    return null;
  }
  c.stream = client.makeBidiStreamRequest('/BiRequestStream/requestBiStream',
    (x) => x, (x) => x, new grpc.Metadata());
  let reset = false;
  c.stream.on('data', (buf) => {
    const m = decode(buf);
    if (/Request$/.test(m.type) && m.type !== 'SetupAckRequest') {
      try {
        c.stream.write(payload(m.type.replace(/Request$/, 'Response'),
          { resultCode: 200, errorCode: 0, success: true,
            requestId: m.body.requestId }));
      } catch (e) { /* closing */ }
    }
    if (m.type === 'ConnectResetRequest') {
      reset = true;
      c.lose('ConnectResetRequest');
      return;
    }
    if (c.alive && onPush) { onPush(c, m); }
  });
  c.stream.on('error', (e) => c.lose('stream error ' + e.code));
  c.stream.on('end', () => c.lose('stream end'));
  c.stream.write(payload('ConnectionSetupRequest',
    { clientVersion: 'Nacos-Java-Client:v2.5.1',
      labels: { source: 'sdk', module: 'naming' } }));
  await sleep(150);               // as the SDK: setup, then requests
  if (!c.alive) {
    if (!reset) { out({ ev: 'refused', who, node, why: 'lost at setup' }); }
    return null;
  }
  out({ ev: 'conn', who, node });
  return c;
}

// ---- registrars ----------------------------------------------------------------

function batchBody(svc, insts) {
  return { namespace: 'public', serviceName: svc,
           groupName: 'DEFAULT_GROUP', module: 'naming',
           type: 'batchRegisterInstance',
           instances: insts.map((a) => {
             const [ip, port] = a.split(':');
             return { ip, port: +port, weight: 1.0, healthy: true,
                      enabled: true, ephemeral: true, clusterName: 'DEFAULT',
                      metadata: {} };
           }) };
}

// opt.bulk: a registrar of opt.svc that registers opt.bulk instances once
// and then only holds them (and redoes them)
async function registrar(k, home, opt) {
  const who = opt.who;
  const svc = opt.svc;
  const insts = [];            // every instance this client holds
  for (let i = 0; i < (opt.bulk || 0); i++) {
    insts.push('10.79.' + k + '.1:' + (10000 + i));
  }
  let sent = false;
  const acked = new Set();
  let next = 0;
  let node = home;
  let c = null;
  let redo = false;
  let wake = null;
  const lost = () => { if (wake) { const w = wake; wake = null; w(); } };

  for (;;) {
    if (c && !c.alive && opt.noredo) {
      // a client that dies with its connection: it never comes back
      out({ ev: 'gone', who });
      return;
    }
    if (!c || !c.alive) {
      // find a node that takes us: the home node first, after a loss the
      // next one round robin
      for (;;) {
        c = await connect(who, node, null, lost);
        if (c) { break; }
        node = node % N + 1;
        await sleep(100);
      }
      redo = insts.length > 0;
    }
    const hold = !!opt.bulk || fs.existsSync(cfg.stop_file);
    if (!redo && hold && (sent || insts.length === 0)) {
      // nothing to add: hold the connection, and redo if it goes
      out({ ev: 'idle', who });
      await new Promise((r) => { wake = r; if (!c.alive) { lost(); } });
      continue;
    }
    let fresh = null;
    if (!redo && !hold) {
      fresh = '10.77.' + k + '.' + (next + 1) + ':' + (7000 + next);
      next++;
      insts.push(fresh);
    }
    const r = await c.unary('BatchInstanceRequest', batchBody(svc, insts));
    if (r.grpc_error !== undefined) {
      // a transport failure: the connection is gone (the SDK's redo)
      c.lose('request grpc ' + r.grpc_error);
      node = node % N + 1;
      continue;
    }
    if ((r.body.resultCode || 0) !== 200) {
      out({ ev: 'regfail', who, node: c.node, code: r.body.errorCode,
            msg: r.body.message, type: r.type });
      if (r.body.errorCode === 300 || r.body.errorCode === 301) {
        c.lose('errorCode ' + r.body.errorCode);
        node = node % N + 1;
      } else {
        await sleep(200);
      }
      redo = redo || !fresh;
      continue;                  // the set (fresh included) is sent again
    }
    if (redo) { out({ ev: 'redo', who, node: c.node, n: insts.length }); }
    redo = false;
    sent = true;
    for (const a of insts) {
      if (!acked.has(a)) {
        acked.add(a);
        out({ ev: 'reg', who, svc, node: c.node, inst: a, n: insts.length });
      }
    }
    const [lo, hi] = cfg.every_ms;
    await new Promise((r) => {
      const t = setTimeout(() => { wake = null; r(); },
                           lo + Math.floor(Math.random() * (hi - lo + 1)));
      wake = () => { clearTimeout(t); r(); };
    });
    wake = null;
    if (!c.alive) { node = node % N + 1; }
  }
}

// ---- 1.x HTTP registrars ---------------------------------------------------------

function httpReq(node, method, p) {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: cfg.http_ports[node - 1],
                               method, path: p, timeout: 5000,
                               agent: false }, (res) => {
      let b = '';
      res.on('data', (d) => { b += d; });
      res.on('end', () => resolve({ status: res.statusCode, body: b }));
      res.on('error', (e) => resolve({ status: 0, body: String(e) }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, body: String(e) }));
    req.end();
  });
}

async function httpRegistrar(k, first) {
  const who = 'h' + k;
  let node = first;          // the server list's current node, shared
  const insts = [];
  let next = 0;
  // one request, to the next node that answers 200; resolves to the
  // answer and the node that gave it.  Requests run concurrently and share
  // the current node: a failure moves it on only if no other request has
  // moved it since this one was sent.
  const send = async (method, p) => {
    for (;;) {
      const at = node;
      const r = await httpReq(at, method, p);
      if (r.status === 200) { return { r, node: at }; }
      if (node === at) { node = node % N + 1; }
      await sleep(100);
    }
  };
  const q = (a) => {
    const [ip, port] = a.split(':');
    return 'serviceName=' + cfg.svc + '&ip=' + ip + '&port=' + port;
  };
  // the SDK's beat task: each instance beaten on its own timer, beat_ms
  // after its registration and then beat_ms after each beat's answer, every
  // instance's beats independent of (and concurrent with) the others'
  const beat = async (a) => {
    const [ip, port] = a.split(':');
    const info = { ip, port: +port, serviceName: 'DEFAULT_GROUP@@' + cfg.svc,
                   cluster: 'DEFAULT', weight: 1, metadata: {},
                   scheduled: true };
    const p = '/nacos/v1/ns/instance/beat?' + q(a)
              + '&beat=' + encodeURIComponent(JSON.stringify(info));
    for (;;) {
      await sleep(cfg.beat_ms);
      const { r, node: at } = await send('PUT', p);
      let code = 0;
      try { code = JSON.parse(r.body).code; } catch (e) { /* plain */ }
      if (code === 20404) { out({ ev: 'beat', who, node: at, code, inst: a }); }
    }
  };
  let idle = false;
  for (;;) {
    const [lo, hi] = cfg.every_ms;
    await sleep(lo + Math.floor(Math.random() * (hi - lo + 1)));
    if (fs.existsSync(cfg.stop_file)) {
      if (!idle) { out({ ev: 'idle', who }); idle = true; }
      continue;
    }
    const a = '10.78.' + k + '.' + (next + 1) + ':' + (8000 + next);
    next++;
    const { node: at } = await send('POST', '/nacos/v1/ns/instance?' + q(a)
                                    + '&ephemeral=true');
    insts.push(a);
    out({ ev: 'reg', who, svc: cfg.svc, node: at, inst: a, n: insts.length });
    beat(a);
  }
}

// ---- subscribers ---------------------------------------------------------------

async function subscriber(k, home) {
  const who = 's' + k;
  for (;;) {
    let done = null;
    const gone = new Promise((r) => { done = r; });
    const c = await connect(who, home, (c, m) => {
      if (m.type === 'NotifySubscriberRequest'
          && m.body.serviceInfo && m.body.serviceInfo.name === cfg.svc) {
        out({ ev: 'push', who, node: home, hosts: hostsOf(m.body.serviceInfo) });
      }
    }, () => done());
    if (!c) { await sleep(100); continue; }
    const r = await c.unary('SubscribeServiceRequest',
      { namespace: 'public', serviceName: cfg.svc, groupName: 'DEFAULT_GROUP',
        clusters: '', subscribe: true, module: 'naming' });
    if (r.grpc_error !== undefined || (r.body.resultCode || 0) !== 200) {
      out({ ev: 'subfail', who, node: home,
            why: r.grpc_error !== undefined ? 'grpc ' + r.grpc_error
                                            : r.body.errorCode });
      c.lose('subscribe failed');
      await sleep(100);
      continue;
    }
    out({ ev: 'sub', who, node: home, hosts: hostsOf(r.body.serviceInfo) });
    await gone;
    await sleep(100);
  }
}

cfg.subscribers.forEach((h, i) => { subscriber(i + 1, h); });
cfg.registrars.forEach((h, i) => {
  registrar(i + 1, h, { who: 'r' + (i + 1), svc: cfg.svc });
});
(cfg.mortals || []).forEach((h, i) => {
  registrar(cfg.registrars.length + i + 1, h,
            { who: 'm' + (i + 1), svc: cfg.svc, noredo: true });
});
(cfg.bulk || []).forEach((b, i) => {
  registrar(i + 1, b.home, { who: 'b' + (i + 1), svc: cfg.bulk_svc, bulk: b.n });
});
(cfg.http_registrars || []).forEach((h, i) => { httpRegistrar(i + 1, h); });

// A Nacos gRPC test client on a real gRPC stack (@grpc/grpc-js).
//
//   node client.js <port> <steps.json>
//
// Runs the steps in order over ONE channel (unary calls and the bi-stream
// share the HTTP/2 connection, as the SDKs do) and prints one JSON line per
// result.  Server pushes on the bi-stream are answered the way the Java SDK
// answers them (XRequest -> XResponse echoing requestId) unless "silent";
// a push's line carries "at", its arrival time (Unix epoch, ms).  With
// ND_GRPC_TLS_CA (a PEM file) the channel is TLS, verified with that CA.
'use strict';

const path = require('path');
const fs = require('fs');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const port = process.argv[2];
const steps = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
const proto = path.join(__dirname, '..', '..', 'src', 'modules', 'grpc',
                        'nacos_grpc.proto');
const def = loader.loadSync(proto, { keepCase: true, defaults: true });
const codec = def.Request.request;   // Payload <-> Buffer

const creds = process.env.ND_GRPC_TLS_CA
  ? grpc.credentials.createSsl(fs.readFileSync(process.env.ND_GRPC_TLS_CA))
  : grpc.credentials.createInsecure();
const opts = { 'grpc.max_receive_message_length': 64 << 20,
               'grpc.max_send_message_length': 64 << 20 };
if (process.env.ND_GRPC_TLS_CA) {
  // Node warns on an IP as the TLS server name: check the name instead
  opts['grpc.ssl_target_name_override'] = 'localhost';
}
const client = new grpc.Client('127.0.0.1:' + port, creds, opts);

let stream = null;
let silent = false;
// how pushes are answered ("answers" step): plain JSON.stringify, or
// hand-written text that is still the same answer (spaced, escaped key)
// or is not JSON at all (broken)
let answerStyle = 'plain';
const pushes = [];
let waiter = null;

function out(obj) { process.stdout.write(JSON.stringify(obj) + '\n'); }

// after a "login" step every request carries its accessToken (as the
// SDKs do) unless the step gives its own headers
let accessToken = null;

function payload(type, body, headers, clientIp) {
  if (!headers && accessToken) { headers = { accessToken: accessToken }; }
  return codec.requestSerialize({
    metadata: { type: type, clientIp: clientIp || '', headers: headers || {} },
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

// an answer's JSON text in the chosen style
function answerText(answer) {
  const rid = JSON.stringify(String(answer.requestId));
  switch (answerStyle) {
    case 'spaced':
      return ' {\n "message" : "a } \\" [" , "x":{"y":[1,{"z":null}]},'
        + ' "requestId" : ' + rid + ' , "success":true, "resultCode" : 200 }\n';
    case 'escaped':
      return '{"resultCode":200,"errorCode":0,"success":true,'
        + '"request\\u0049d":' + rid + '}';
    case 'broken':
      return '{"resultCode":200,"requestId":' + rid + ',';
    default:
      return JSON.stringify(answer);
  }
}

function rawPayload(type, text) {
  return codec.requestSerialize({
    metadata: { type: type, clientIp: '', headers: {} },
    body: { type_url: '', value: Buffer.from(text) },
  });
}

function unary(buf) {
  return new Promise((resolve) => {
    client.makeUnaryRequest('/Request/request', (x) => x, (x) => x, buf,
      new grpc.Metadata(), { deadline: Date.now() + 10000 },
      (err, res) => {
        if (err) {
          resolve({ grpc_error: { code: err.code, details: err.details } });
        } else {
          try { resolve(decode(res)); }
          catch (e) { resolve({ decode_error: String(e) }); }
        }
      });
  });
}

function onPush(msg) {
  pushes.push(msg);
  out({ event: 'push', type: msg.type, body: msg.body, at: Date.now() });
  // the Java SDK does not answer SetupAckRequest on the stream
  if (!silent && /Request$/.test(msg.type) && msg.type !== 'SetupAckRequest') {
    const answer = { resultCode: 200, errorCode: 0, success: true,
                     requestId: msg.body.requestId };
    if (msg.type === 'ClientConfigMetricRequest') {
      // as the Java SDK: metrics keyed by the client's uuid, the value a
      // JSON string with what it holds for the asked keys
      const values = {};
      for (const k of msg.body.metricsKeys || []) {
        values[k.type + ':' + k.key] = 'held';
      }
      answer.metrics = {};
      answer.metrics['uuid-' + process.pid] = JSON.stringify(
        { listenConfigSize: 1, metricValues: values });
    }
    const rtype = msg.type.replace(/Request$/, 'Response');
    stream.write(answerStyle === 'plain' ? payload(rtype, answer)
                                         : rawPayload(rtype, answerText(answer)));
  }
  if (waiter && waiter.type === msg.type) {
    const w = waiter; waiter = null; w.resolve(msg);
  }
}

function waitPush(type, ms) {
  const i = pushes.findIndex((m) => m.type === type);
  if (i >= 0) { return Promise.resolve(pushes.splice(i, 1)[0]); }
  return new Promise((resolve) => {
    const t = setTimeout(() => { waiter = null; resolve(null); }, ms);
    waiter = { type: type, resolve: (m) => {
      clearTimeout(t); pushes.splice(pushes.indexOf(m), 1); resolve(m); } };
  });
}

async function run() {
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    switch (s.op) {
      case 'unary': {
        const r = await unary(payload(s.type, s.body, s.headers, s.clientIp));
        if (s.digest && r.body && typeof r.body.content === 'string') {
          // a large content as its length and md5 (a line of megabytes
          // may be cut when the process exits)
          const c = Buffer.from(r.body.content, 'utf8');
          r.body.content = { length: c.length,
            md5: require('crypto').createHash('md5').update(c).digest('hex') };
        }
        out(Object.assign({ step: i, op: 'unary' }, r));
        break;
      }
      case 'burst': {
        // s.n unary calls at once; in the JSON of s.body, "%n" (with its
        // quotes) becomes the number k = 1..n, and %n inside a string k
        const text = JSON.stringify(s.body);
        const calls = [];
        for (let k = 1; k <= s.n; k++) {
          const b = text.split('"%n"').join(String(k)).split('%n').join(String(k));
          calls.push(unary(payload(s.type, JSON.parse(b), s.headers,
                                   s.clientIp)));
        }
        const rs = await Promise.all(calls);
        out({ step: i, op: 'burst', n: s.n, at: Date.now(),
              ok: rs.filter((r) => r.body && r.body.resultCode === 200).length });
        break;
      }
      case 'raw_unary': {
        const buf = s.hex !== undefined ? Buffer.from(s.hex, 'hex')
          : s.json !== undefined ? payloadRaw(s.type, s.json, s.headers)
          : Buffer.alloc(s.size, 0x41);
        const r = await unary(buf);
        out(Object.assign({ step: i, op: 'raw_unary' }, r));
        break;
      }
      case 'bidi_open':
        stream = client.makeBidiStreamRequest('/BiRequestStream/requestBiStream',
          (x) => x, (x) => x, new grpc.Metadata());
        stream.on('data', (buf) => onPush(decode(buf)));
        stream.on('error', (e) => out({ event: 'stream_error', code: e.code }));
        stream.on('end', () => out({ event: 'stream_end' }));
        out({ step: i, op: 'bidi_open' });
        break;
      case 'bidi_send':
        stream.write(payload(s.type, s.body, s.headers, s.clientIp));
        out({ step: i, op: 'bidi_send' });
        break;
      case 'wait': {
        const m = await waitPush(s.type, s.timeout || 5000);
        out(Object.assign({ step: i, op: 'wait', want: s.type },
                          m ? { type: m.type, body: m.body } : { timeout: true }));
        break;
      }
      case 'answers':
        answerStyle = s.style;
        out({ step: i, op: 'answers' });
        break;
      case 'silent':
        silent = !!s.value;
        out({ step: i, op: 'silent' });
        break;
      case 'login': {
        // POST /nacos/v1/auth/users/login on s.http_port, as the SDKs log
        // in with username and password before their gRPC calls
        const r = await login(s.http_port, s.username, s.password);
        if (r.accessToken) { accessToken = r.accessToken; }
        out(Object.assign({ step: i, op: 'login' }, r));
        break;
      }
      case 'sleep':
        await new Promise((r) => setTimeout(r, s.ms));
        out({ step: i, op: 'sleep' });
        break;
      case 'gate': {
        // wait until the test creates s.file: lets a test run the next
        // steps on the same connection when it chooses
        while (!fs.existsSync(s.file)) {
          await new Promise((r) => setTimeout(r, 20));
        }
        out({ step: i, op: 'gate' });
        break;
      }
      case 'hold':
        // stay connected until the test kills us
        out({ step: i, op: 'hold' });
        await new Promise(() => {});
        break;
      default:
        out({ step: i, error: 'unknown op ' + s.op });
    }
  }
  if (stream) { stream.end(); }
  client.close();
  out({ event: 'done' });
  process.exit(0);
}

function login(httpPort, username, password) {
  const http = require('http');
  const body = 'username=' + encodeURIComponent(username)
             + '&password=' + encodeURIComponent(password);
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: httpPort,
      method: 'POST', path: '/nacos/v1/auth/users/login',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded',
                 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let j = {};
        try { j = JSON.parse(text); } catch (e) { j = { text: text }; }
        resolve(Object.assign({ status: res.statusCode }, j));
      });
    });
    req.on('error', (e) => resolve({ status: 0, error: String(e) }));
    req.end(body);
  });
}

function payloadRaw(type, json, headers) {
  return codec.requestSerialize({
    metadata: { type: type, clientIp: '', headers: headers || {} },
    body: { type_url: '', value: Buffer.from(json, 'utf8') },
  });
}

run().catch((e) => { out({ event: 'fatal', error: String(e) }); process.exit(2); });

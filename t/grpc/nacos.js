// What the gRPC test clients share: the Nacos Payload codec (from the
// proto the server is built from), a request as one Payload, an answer
// decoded, and a unary call on a grpc-js Client.
'use strict';

const path = require('path');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const proto = path.join(__dirname, '..', '..', 'src', 'modules', 'grpc',
                        'nacos_grpc.proto');
const def = loader.loadSync(proto, { keepCase: true, defaults: true });
const codec = def.Request.request;   // Payload <-> Buffer

function payload(type, body, headers, clientIp) {
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

// resolves the decoded answer, or { grpc_error: { code, details } }, or
// { decode_error }
function unary(client, buf, ms) {
  return new Promise((resolve) => {
    client.makeUnaryRequest('/Request/request', (x) => x, (x) => x, buf,
      new grpc.Metadata(), { deadline: Date.now() + (ms || 10000) },
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

module.exports = { grpc, codec, payload, decode, unary };

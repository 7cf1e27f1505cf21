/*
 * Fuzz target: a gRPC message as both roles decode it: the Payload
 * protobuf (protobuf-c, nacos_grpc.proto), its metadata, and the body's
 * JSON (nd_grpc_payload_body).  What decodes is framed again with
 * nd_grpc_payload_frame and must decode to the same type and body.
 * The answer scanner (nd_grpc_payload_answer) reads the same bytes: what
 * it takes as a push's answer, the full path must read with the same
 * requestId and resultCode whenever it reads it at all.
 */
#include <nd_fuzz.h>

#ifdef ND_WITH_GRPC

#include <nd_grpc_internal.h>


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int               scanned;
    size_t            i, n;
    json_t           *body, *back_body, *rid, *code;
    nd_buf_t          out;
    Payload          *payload, *back;
    uint32_t          len;
    nd_grpc_answer_t  a;

    scanned = nd_grpc_payload_answer(data, size, &a) == ND_OK;

    payload = payload__unpack(NULL, size, data);
    if (payload == NULL) {
        return 0;
    }

    body = nd_grpc_payload_body(payload);

    rid = json_object_get(body, "requestId");
    code = json_object_get(body, "resultCode");
    if (scanned && json_is_string(rid) && json_is_integer(code)
        && (strtoull(json_string_value(rid), NULL, 10) != a.request_id
            || json_integer_value(code) != (json_int_t) a.result_code))
    {
        abort();
    }

    n = 0;
    if (payload->metadata) {
        for (i = 0; i < payload->metadata->n_headers; i++) {
            n += strlen(payload->metadata->headers[i]->key);
            n += strlen(payload->metadata->headers[i]->value);
        }
    }

    if (n == SIZE_MAX) {
        abort();                        /* read them all, for ASan */
    }

    if (body && payload->metadata && payload->body) {
        nd_buf_init(&out);
        if (nd_grpc_payload_frame(&out, payload->metadata,
                                  payload->body->value.data,
                                  payload->body->value.len) != ND_OK
            || out.len < 5)
        {
            abort();
        }

        len = nd_h2_get32(out.data + 1);
        if (out.data[0] != 0 || len != out.len - 5) {
            abort();
        }

        back = payload__unpack(NULL, len, out.data + 5);
        if (back == NULL || back->metadata == NULL
            || strcmp(back->metadata->type, payload->metadata->type) != 0)
        {
            abort();
        }
        back_body = nd_grpc_payload_body(back);
        if (back_body == NULL || !json_equal(back_body, body)) {
            abort();
        }
        json_decref(back_body);
        payload__free_unpacked(back, NULL);
        nd_buf_free(&out);
    }

    json_decref(body);
    payload__free_unpacked(payload, NULL);

    return 0;
}

#else

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return 0;
}

#endif

/*
 * The Nacos Payload envelope of a gRPC message: Payload {metadata, body =
 * Any whose value is the request or response as JSON}, behind the 5-byte
 * gRPC message prefix.  Shared by the server (nd_grpc_conn.c), the peer
 * client (nd_grpc_client.c) and libnacos (src/client/): no cycle, no loop.
 */
#include <nd_grpc_internal.h>


nd_int_t
nd_grpc_payload_frame(nd_buf_t *out, Metadata *meta, const u_char *json,
    size_t len)
{
    u_char                 *p;
    size_t                  size;
    Payload                 payload = PAYLOAD__INIT;
    Google__Protobuf__Any   any = GOOGLE__PROTOBUF__ANY__INIT;

    any.type_url = (char *) "";
    any.value.data = (u_char *) json;
    any.value.len = len;
    payload.metadata = meta;
    payload.body = &any;

    size = payload__get_packed_size(&payload);
    if (size > UINT32_MAX || nd_buf_reserve(out, 5 + size) != ND_OK) {
        return ND_ERROR;
    }

    p = out->data + out->len;
    p[0] = 0;
    p[1] = (u_char) (size >> 24);
    p[2] = (u_char) (size >> 16);
    p[3] = (u_char) (size >> 8);
    p[4] = (u_char) size;
    payload__pack(&payload, p + 5);
    out->len += 5 + size;

    return ND_OK;
}


json_t *
nd_grpc_payload_body(const Payload *payload)
{
    json_t  *body;

    if (payload->body == NULL || payload->body->value.len == 0) {
        return json_object();
    }

    /* as json_loadb(JSON_REJECT_DUPLICATES), without its byte-at-a-time
     * lexer (src/core/nd_json.c) */
    body = nd_json_loadb((const char *) payload->body->value.data,
                         payload->body->value.len);
    if (body && !json_is_object(body)) {
        json_decref(body);
        body = NULL;
    }

    return body;
}




int
nd_grpc_message_next(nd_buf_t *in, const u_char **msg, size_t *len)
{
    u_char  *p;
    size_t   size, n;

    size = nd_buf_size(in);
    if (size < 5) {
        return 0;                   /* the buffer may have no memory yet */
    }

    p = nd_buf_start(in);

    n = (size_t) p[1] << 24 | (size_t) p[2] << 16 | (size_t) p[3] << 8
        | (size_t) p[4];
    if (size - 5 < n) {
        return 0;
    }

    *msg = p + 5;
    *len = n;

    return 1;
}

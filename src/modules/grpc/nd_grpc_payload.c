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


/* a hand-made message head: everything before the JSON, for the server's
 * pushes whose JSON is not in one piece (nd_grpc_push.c) */

static u_char *
nd_grpc_pb_put_varint(u_char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (u_char) (v | 0x80);
        v >>= 7;
    }
    *p++ = (u_char) v;

    return p;
}


static size_t
nd_grpc_pb_varint_len(uint64_t v)
{
    size_t  n;

    for (n = 1; v >= 0x80; n++) {
        v >>= 7;
    }

    return n;
}


size_t
nd_grpc_payload_head(u_char *head, const char *type, size_t json_len)
{
    u_char  *p;
    size_t   tlen, meta, any, size;

    tlen = strlen(type);
    meta = 1 + nd_grpc_pb_varint_len(tlen) + tlen;
    any = 1 + nd_grpc_pb_varint_len(json_len) + json_len;
    size = 1 + nd_grpc_pb_varint_len(meta) + meta
           + 1 + nd_grpc_pb_varint_len(any) + any;

    if (size > UINT32_MAX || tlen > ND_GRPC_TYPE_MAX) {
        return 0;
    }

    head[0] = 0;
    head[1] = (u_char) (size >> 24);
    head[2] = (u_char) (size >> 16);
    head[3] = (u_char) (size >> 8);
    head[4] = (u_char) size;
    p = head + 5;

    *p++ = 0x12;                            /* Payload.metadata */
    p = nd_grpc_pb_put_varint(p, meta);
    *p++ = 0x1a;                            /* Metadata.type */
    p = nd_grpc_pb_put_varint(p, tlen);
    memcpy(p, type, tlen);
    p += tlen;
    *p++ = 0x1a;                            /* Payload.body (Any) */
    p = nd_grpc_pb_put_varint(p, any);
    *p++ = 0x12;                            /* Any.value */
    p = nd_grpc_pb_put_varint(p, json_len);

    return (size_t) (p - head);
}


/*
 * The answer scanner: a client's answer to a push is matched by the
 * requestId and resultCode read straight from the Payload bytes, with no
 * unpack and no JSON tree.  Anything it does not fully understand is
 * ND_DECLINED, and the caller takes the full path (payload__unpack and
 * the JSON parser), which answers bad input as before.
 */

/* one varint of at most 10 bytes */
static nd_int_t
nd_grpc_pb_varint(const u_char **pp, const u_char *end, uint64_t *v)
{
    int            shift;
    const u_char  *p;

    p = *pp;
    *v = 0;

    for (shift = 0; ; shift += 7) {
        if (p == end || shift > 63) {
            return ND_ERROR;
        }
        *v |= (uint64_t) (*p & 0x7f) << shift;
        if (!(*p++ & 0x80)) {
            break;
        }
    }

    *pp = p;

    return ND_OK;
}


/* one protobuf field: its number, and for length-delimited ones the
 * bytes; other wire types are skipped */
static nd_int_t
nd_grpc_pb_field(const u_char **pp, const u_char *end, uint32_t *field,
    const u_char **val, size_t *vlen)
{
    uint64_t       key, v;
    const u_char  *p;

    p = *pp;

    if (nd_grpc_pb_varint(&p, end, &key) != ND_OK || key > UINT32_MAX) {
        return ND_ERROR;
    }

    *field = (uint32_t) (key >> 3);
    *val = NULL;
    *vlen = 0;

    switch (key & 7) {

    case 0:                                 /* varint */
        if (nd_grpc_pb_varint(&p, end, &v) != ND_OK) {
            return ND_ERROR;
        }
        break;

    case 1:                                 /* 64-bit */
        if (end - p < 8) {
            return ND_ERROR;
        }
        p += 8;
        break;

    case 2:                                 /* length-delimited */
        if (nd_grpc_pb_varint(&p, end, &v) != ND_OK
            || v > (uint64_t) (end - p))
        {
            return ND_ERROR;
        }
        *val = p;
        *vlen = (size_t) v;
        p += v;
        break;

    case 5:                                 /* 32-bit */
        if (end - p < 4) {
            return ND_ERROR;
        }
        p += 4;
        break;

    default:                                /* groups: never in ours */
        return ND_ERROR;
    }

    *pp = p;

    return ND_OK;
}


/* the bytes of the length-delimited fields in "want" (a bit per field
 * number, 1 to 7) of a message, in one pass: val[f], vlen[f]; a wanted
 * field that comes twice (protobuf would merge them) or not
 * length-delimited is declined, as is one that is missing */
static nd_int_t
nd_grpc_pb_find(const u_char *p, size_t len, unsigned want,
    const u_char **val, size_t *vlen)
{
    size_t         n;
    unsigned       seen;
    uint32_t       field;
    const u_char  *end, *v;

    end = p + len;
    seen = 0;

    while (p < end) {
        if (nd_grpc_pb_field(&p, end, &field, &v, &n) != ND_OK) {
            return ND_DECLINED;
        }
        if (field > 7 || !(want & (1u << field))) {
            continue;
        }
        if (v == NULL || (seen & (1u << field))) {
            return ND_DECLINED;
        }
        seen |= 1u << field;
        val[field] = v;
        vlen[field] = n;
    }

    return seen == want ? ND_OK : ND_DECLINED;
}


/* a byte of a JSON number or literal (true, false, null) */
#define nd_grpc_json_scalar(c)                                                \
    (((c) >= '0' && (c) <= '9') || ((c) >= 'a' && (c) <= 'z')                 \
     || ((c) >= 'A' && (c) <= 'Z') || (c) == '-' || (c) == '+' || (c) == '.')


static const u_char *
nd_grpc_json_ws(const u_char *p, const u_char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
    {
        p++;
    }

    return p;
}


/* p at '"': past the closing quote, or NULL */
static const u_char *
nd_grpc_json_string(const u_char *p, const u_char *end)
{
    for (p++; p < end; p++) {
        if (*p == '"') {
            return p + 1;
        }
        if (*p < 0x20) {
            return NULL;
        }
        if (*p == '\\' && ++p == end) {
            return NULL;
        }
    }

    return NULL;
}


/* past one JSON value (brackets matched, strings whole), or NULL */
static const u_char *
nd_grpc_json_skip(const u_char *p, const u_char *end)
{
    u_char  open[ND_GRPC_JSON_DEPTH];
    size_t  depth;

    depth = 0;

    while (p < end) {
        switch (*p) {

        case '"':
            p = nd_grpc_json_string(p, end);
            if (p == NULL) {
                return NULL;
            }
            break;

        case '{':
        case '[':
            if (depth == ND_GRPC_JSON_DEPTH) {
                return NULL;
            }
            open[depth++] = (u_char) (*p == '{' ? '}' : ']');
            p++;
            break;

        case '}':
        case ']':
            if (depth == 0 || open[depth - 1] != *p) {
                return NULL;
            }
            depth--;
            p++;
            break;

        default:
            if (depth == 0) {
                /* a scalar: number, true, false, null */
                if (!nd_grpc_json_scalar(*p)) {
                    return NULL;
                }
                while (p < end && nd_grpc_json_scalar(*p)) {
                    p++;
                }
                return p;
            }
            p++;
        }

        if (depth == 0) {
            return p;
        }
    }

    return NULL;
}


/* digits only (an optional '-' when sign), at most max of them */
static const u_char *
nd_grpc_json_int(const u_char *p, const u_char *end, int sign, size_t max,
    uint64_t *v, int *neg)
{
    size_t  n;

    *v = 0;
    *neg = 0;

    if (sign && p < end && *p == '-') {
        *neg = 1;
        p++;
    }

    for (n = 0; p < end && *p >= '0' && *p <= '9'; n++, p++) {
        if (n == max) {
            return NULL;
        }
        *v = *v * 10 + (uint64_t) (*p - '0');
    }

    return n ? p : NULL;
}


/* the length of the known key p starts with (its closing quote must
 * follow), 0 when none: what the byte scan may skip */
#define nd_grpc_key_is(p, end, k)                                             \
    ((size_t) ((end) - (p)) >= sizeof(k) - 1                                 \
     && memcmp(p, k, sizeof(k) - 1) == 0)

static size_t
nd_grpc_answer_key(const u_char *p, const u_char *end)
{
    if (p == end) {
        return 0;
    }

    switch (*p) {
    case 'r':
        return nd_grpc_key_is(p, end, "requestId\"") ? 9
               : nd_grpc_key_is(p, end, "resultCode\"") ? 10 : 0;
    case 'e':
        return nd_grpc_key_is(p, end, "errorCode\"") ? 9 : 0;
    case 's':
        return nd_grpc_key_is(p, end, "success\"") ? 7 : 0;
    case 'm':
        return nd_grpc_key_is(p, end, "message\"") ? 7 : 0;
    default:
        return 0;
    }
}


nd_int_t
nd_grpc_payload_answer(const u_char *msg, size_t len, nd_grpc_answer_t *a)
{
    int            neg, have_id, have_code;
    size_t         klen, top_n[4], meta_n[4], any_n[4];
    uint64_t       v;
    const u_char  *top[4], *meta[4], *any[4], *p, *end, *key;

    /* Payload.metadata (2) .type (3); Payload.body (3) .value (2) */
    if (nd_grpc_pb_find(msg, len, 1u << 2 | 1u << 3, top, top_n) != ND_OK
        || nd_grpc_pb_find(top[2], top_n[2], 1u << 3, meta, meta_n) != ND_OK
        || meta_n[3] <= 8
        || memcmp(meta[3] + meta_n[3] - 8, "Response", 8) != 0
        || nd_grpc_pb_find(top[3], top_n[3], 1u << 2, any, any_n) != ND_OK)
    {
        return ND_DECLINED;
    }

    p = any[2];
    end = p + any_n[2];
    have_id = 0;
    have_code = 0;

    p = nd_grpc_json_ws(p, end);
    if (p == end || *p++ != '{') {
        return ND_DECLINED;
    }

    for ( ;; ) {
        p = nd_grpc_json_ws(p, end);
        if (p == end || *p != '"') {
            return ND_DECLINED;
        }

        key = ++p;

        /* the keys an SDK's answer has, compared whole; any other key
         * scanned byte by byte */
        klen = nd_grpc_answer_key(p, end);
        p += klen;

        while (p < end && *p != '"' && *p != '\\' && *p >= 0x20) {
            p++;
        }
        if (p == end || *p != '"') {
            return ND_DECLINED;         /* escapes in a key: full path */
        }
        klen = (size_t) (p - key);

        p = nd_grpc_json_ws(p + 1, end);
        if (p == end || *p++ != ':') {
            return ND_DECLINED;
        }
        p = nd_grpc_json_ws(p, end);

        if (klen == 9 && memcmp(key, "requestId", 9) == 0) {
            if (have_id || p == end || *p++ != '"') {
                return ND_DECLINED;
            }
            p = nd_grpc_json_int(p, end, 0, 19, &v, &neg);
            if (p == NULL || p == end || *p++ != '"') {
                return ND_DECLINED;
            }
            a->request_id = v;
            have_id = 1;

        } else if (klen == 10 && memcmp(key, "resultCode", 10) == 0) {
            if (have_code) {
                return ND_DECLINED;
            }
            p = nd_grpc_json_int(p, end, 1, 9, &v, &neg);
            if (p == NULL
                || (p < end && (*p == '.' || *p == 'e' || *p == 'E')))
            {
                return ND_DECLINED;
            }
            a->result_code = neg ? -(nd_int_t) v : (nd_int_t) v;
            have_code = 1;

        } else {
            p = nd_grpc_json_skip(p, end);
            if (p == NULL) {
                return ND_DECLINED;
            }
        }

        p = nd_grpc_json_ws(p, end);
        if (p == end) {
            return ND_DECLINED;
        }
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p++ != '}') {
            return ND_DECLINED;
        }
        break;
    }

    if (nd_grpc_json_ws(p, end) != end || !have_id || !have_code) {
        return ND_DECLINED;
    }

    return ND_OK;
}

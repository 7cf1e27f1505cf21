/*
 * The cluster port of a member (nd_fuzz_cycle.h, nd_fuzz_conf_cluster)
 * as a peer calls it: the target's input is the JSON body of one
 * request; its first byte picks the type from the target's list.  The
 * request is framed as our own client role frames it (preface,
 * SETTINGS, HEADERS for /Request/request, the Payload in DATA) and
 * goes through the real read handler (nd_grpc_init_cluster_connection)
 * to the module's handler.
 */
#ifndef ND_FUZZ_CLUSTER_H
#define ND_FUZZ_CLUSTER_H

#include <nd_fuzz_cycle.h>
#include <nd_grpc_internal.h>


static size_t
nd_fuzz_h2_frame(u_char *p, u_char type, u_char flags, uint32_t sid,
    const u_char *payload, size_t len)
{
    nd_grpc_h2_head(p, len, type, flags, (int32_t) sid);
    if (len) {
        memcpy(p + ND_H2_HEAD, payload, len);
    }
    return ND_H2_HEAD + len;
}


static int
nd_fuzz_cluster_call(const char **types, size_t ntypes,
    const uint8_t *data, size_t size)
{
    int               peer;
    u_char           *out, hb[128], *h;
    size_t            n;
    nd_buf_t          msg;
    Metadata          meta = METADATA__INIT;
    nd_uint_t         before;
    nd_connection_t  *c;

    static nd_cycle_t  *cycle;

    if (cycle == NULL) {
        cycle = nd_fuzz_cycle(nd_fuzz_conf_cluster);
    }

    if (size < 1) {
        return 0;
    }

    meta.type = (char *) types[data[0] % ntypes];
    data++;
    size--;

    nd_buf_init(&msg);
    if (nd_grpc_payload_frame(&msg, &meta, data, size) != ND_OK) {
        abort();
    }

    /* :method POST, :scheme http, :path, content-type, te */
    h = hb;
    *h++ = 0x83;
    *h++ = 0x86;
    h = nd_hpack_encode_indexed_name(h, 4, (u_char *) ND_GRPC_PATH_UNARY,
                                     sizeof(ND_GRPC_PATH_UNARY) - 1);
    h = nd_hpack_encode_indexed_name(h, 31, (u_char *) "application/grpc",
                                     16);
    h = nd_hpack_encode_literal(h, (u_char *) "te", 2,
                                (u_char *) "trailers", 8);

    out = malloc(ND_H2_PREFACE_LEN + 3 * ND_H2_HEAD + sizeof(hb)
                 + msg.len + (msg.len / 16384 + 1) * ND_H2_HEAD);
    if (out == NULL) {
        abort();
    }

    memcpy(out, ND_H2_PREFACE, ND_H2_PREFACE_LEN);
    n = ND_H2_PREFACE_LEN;
    n += nd_fuzz_h2_frame(out + n, ND_H2_SETTINGS, 0, 0, NULL, 0);
    n += nd_fuzz_h2_frame(out + n, ND_H2_HEADERS, ND_H2_END_HEADERS, 1, hb,
                          (size_t) (h - hb));
    {
        size_t  off, chunk;

        for (off = 0; off < msg.len; off += chunk) {
            chunk = msg.len - off > 16384 ? 16384 : msg.len - off;
            n += nd_fuzz_h2_frame(out + n, ND_H2_DATA,
                                  off + chunk == msg.len ? ND_H2_END_STREAM
                                                         : 0,
                                  1, msg.data + off, chunk);
        }
    }

    before = cycle->connection_n;
    c = nd_fuzz_connection(cycle, &peer);
    nd_grpc_init_cluster_connection(c);

    if (write(peer, out, n) == (ssize_t) n) {
        nd_fuzz_pass(cycle, peer);
        nd_fuzz_pass(cycle, peer);
    }

    nd_fuzz_hangup(cycle, peer, before);

    free(out);
    nd_buf_free(&msg);

    return 0;
}

#endif /* ND_FUZZ_CLUSTER_H */

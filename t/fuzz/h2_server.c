/*
 * Fuzz target: the server role of our HTTP/2 framer
 * (src/modules/grpc/nd_grpc_h2.c, nd_grpc_h2_frame.c, nd_hpack.c) and
 * the gRPC layer above it (nd_grpc_conn.c: message framing, Payload,
 * the handlers of a whole standalone nacosd, nd_fuzz_cycle.h), through
 * the real read handler.  The input is the client's byte stream
 * (preface included), written in pieces: "\xfe\xfe" followed by a byte n
 * cuts a piece there, and n % 4 + 1 loop passes run between pieces.
 */
#include <nd_fuzz_cycle.h>

#ifdef ND_WITH_GRPC

#include <nd_grpc_internal.h>


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int               peer, passes;
    size_t            len;
    nd_uint_t         before;
    const uint8_t    *cut;
    nd_connection_t  *c;

    static nd_cycle_t  *cycle;

    if (cycle == NULL) {
        cycle = nd_fuzz_cycle(nd_fuzz_conf);
    }

    before = cycle->connection_n;
    c = nd_fuzz_connection(cycle, &peer);
    nd_grpc_init_connection(c);

    while (size) {
        cut = memmem(data, size, "\xfe\xfe", 2);
        len = cut && (size_t) (cut - data) + 2 < size
              ? (size_t) (cut - data) : size;
        passes = len < size ? data[len + 2] % 4 + 1 : 1;

        if (len && write(peer, data, len) != (ssize_t) len) {
            break;                      /* the server closed: done */
        }
        while (passes--) {
            nd_fuzz_pass(cycle, peer);
        }

        if (len == size) {
            break;
        }
        data += len + 3;
        size -= len + 3;
    }

    nd_fuzz_hangup(cycle, peer, before);

    return 0;
}

#else

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return 0;
}

#endif

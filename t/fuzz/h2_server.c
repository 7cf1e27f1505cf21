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
    static nd_cycle_t  *cycle;

    if (cycle == NULL) {
        cycle = nd_fuzz_cycle(nd_fuzz_conf);
    }

    nd_fuzz_stream(cycle, nd_grpc_init_connection, "\xfe\xfe", 2, data, size);

    return 0;
}

#else

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return 0;
}

#endif

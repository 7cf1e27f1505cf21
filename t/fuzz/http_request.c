/*
 * Fuzz target: HTTP/1.1 requests through the real connection code
 * (src/modules/http/nd_http_request.c on llhttp: request line, headers,
 * Content-Length and chunked bodies, pipelining, forms and
 * percent-decoding) on to the routes of a whole standalone nacosd
 * (nd_fuzz_cycle.h).  The input is the client's byte stream, written in
 * pieces whose sizes come from the input ("\xff" followed by a byte n
 * cuts a piece there: n loop passes run between the pieces).
 */
#include <nd_fuzz_cycle.h>
#include <nd_http_internal.h>


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static nd_cycle_t  *cycle;

    if (cycle == NULL) {
        cycle = nd_fuzz_cycle(nd_fuzz_conf);
    }

    nd_fuzz_stream(cycle, nd_http_init_connection, "\xff", 1, data, size);

    return 0;
}

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
    nd_http_init_connection(c);

    while (size) {
        cut = memmem(data, size, "\xff", 1);
        len = cut && (size_t) (cut - data) + 1 < size
              ? (size_t) (cut - data) : size;
        passes = len < size ? data[len + 1] % 4 + 1 : 1;

        if (len && write(peer, data, len) != (ssize_t) len) {
            break;                      /* the server closed: done */
        }
        while (passes--) {
            nd_fuzz_pass(cycle, peer);
        }

        if (len == size) {
            break;
        }
        data += len + 2;
        size -= len + 2;
    }

    nd_fuzz_hangup(cycle, peer, before);

    return 0;
}

/*
 * Fuzz target: libnacos' reading of an HTTP answer
 * (src/client/nd_client_http_parse.h, what nd_client_http.c runs on the
 * whole answer of a login or an HTTP call): the input is the answer.  A
 * status comes with a body inside the input, after its blank line.
 */
#include <nd_fuzz.h>
#include "../../src/client/nd_client_http_parse.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int          status;
    char        *text;
    size_t       blen;
    const char  *body;

    /* the client parses a NUL-terminated copy; the NUL is not counted */
    text = nd_fuzz_cstr(data, size);

    status = nd_client_http_parse(text, size, &body, &blen);

    if (status == 0) {
        if (blen != 0 || *body != '\0') {
            abort();
        }

    } else if (status < 100 || status > 999
               || body < text + 4 || body > text + size
               || body + blen != text + size
               || memcmp(body - 4, "\r\n\r\n", 4) != 0
               || memcmp(text, "HTTP/1.", 7) != 0)
    {
        abort();
    }

    free(text);

    return 0;
}

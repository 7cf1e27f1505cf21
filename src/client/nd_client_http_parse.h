/*
 * An HTTP/1.x answer as libnacos reads it (nd_client_http.c: HTTP/1.0,
 * Connection: close, the whole answer read to the end): the status, three
 * digits after "HTTP/1.x ", and the body after the first blank line.
 * Anything else is no answer (status 0).  On its own, with nothing else
 * of the library, for the fuzz target t/fuzz/client_http.c.
 */
#ifndef ND_CLIENT_HTTP_PARSE_H
#define ND_CLIENT_HTTP_PARSE_H

#include <string.h>

/* text: len bytes; the status, or 0 with *body "" and *blen 0 */
static inline int
nd_client_http_parse(const char *text, size_t len, const char **body,
    size_t *blen)
{
    int          i, status;
    const char  *end;

    *body = "";
    *blen = 0;

    if (len < 13 || memcmp(text, "HTTP/1.", 7) != 0 || text[8] != ' '
        || (text[12] != ' ' && text[12] != '\r'))
    {
        return 0;
    }

    status = 0;
    for (i = 9; i < 12; i++) {
        if (text[i] < '0' || text[i] > '9') {
            return 0;
        }
        status = status * 10 + (text[i] - '0');
    }

    end = memmem(text, len, "\r\n\r\n", 4);
    if (end == NULL || status < 100) {
        return 0;
    }

    *body = end + 4;
    *blen = len - (size_t) (*body - text);

    return status;
}

#endif /* ND_CLIENT_HTTP_PARSE_H */

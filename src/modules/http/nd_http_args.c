/*
 * Request parameters: query strings and urlencoded form bodies, merged in
 * that order (servlet semantics, for every method).
 */
#include <nd_http_internal.h>


nd_int_t
nd_http_parse_args(nd_http_request_t *r, const nd_str_t *s)
{
    u_char       *p, *end, *amp, *eq, *buf;
    ssize_t       n;
    nd_keyval_t  *kv;

    if (s->len == 0) {
        return ND_OK;
    }

    /* decode into one pool copy: decoded text never grows */
    buf = nd_pnalloc(r->pool, s->len);
    if (buf == NULL) {
        return ND_ERROR;
    }

    p = s->data;
    end = s->data + s->len;

    while (p < end) {
        amp = memchr(p, '&', (size_t) (end - p));
        if (amp == NULL) {
            amp = end;
        }

        if (amp == p) {
            p++;
            continue;
        }

        eq = memchr(p, '=', (size_t) (amp - p));

        kv = nd_array_push(&r->args);
        if (kv == NULL) {
            return ND_ERROR;
        }

        n = nd_unescape(buf, p, (size_t) ((eq ? eq : amp) - p), 1);
        if (n < 0) {
            return ND_ERROR;
        }
        kv->key.data = buf;
        kv->key.len = (size_t) n;
        buf += n;

        if (eq) {
            n = nd_unescape(buf, eq + 1, (size_t) (amp - eq - 1), 1);
            if (n < 0) {
                return ND_ERROR;
            }
            kv->value.data = buf;
            kv->value.len = (size_t) n;
            buf += n;

        } else {
            kv->value.data = buf;
            kv->value.len = 0;
        }

        p = amp + 1;
    }

    return ND_OK;
}


nd_int_t
nd_http_arg(nd_http_request_t *r, const char *name, nd_str_t *value)
{
    size_t        len;
    nd_uint_t     i;
    nd_keyval_t  *kv;

    len = strlen(name);
    kv = r->args.elts;

    for (i = 0; i < r->args.nelts; i++) {
        if (kv[i].key.len == len && memcmp(kv[i].key.data, name, len) == 0) {
            *value = kv[i].value;
            return ND_OK;
        }
    }

    return ND_DECLINED;
}


nd_str_t *
nd_http_header_in(nd_http_request_t *r, const char *name)
{
    size_t        len;
    nd_uint_t     i;
    nd_keyval_t  *h;

    len = strlen(name);
    h = r->headers.elts;

    for (i = 0; i < r->headers.nelts; i++) {
        if (h[i].key.len == len
            && strncasecmp((char *) h[i].key.data, name, len) == 0)
        {
            return &h[i].value;
        }
    }

    return NULL;
}

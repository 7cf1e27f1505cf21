/*
 * Fuzz target: request parameters (src/modules/http/nd_http_args.c):
 * a query string and a urlencoded form body, percent-decoded into the
 * request's args (nd_http_parse_args, nd_unescape), then looked up.
 * Decoded text never grows, and every arg lies in the pool copy.
 */
#include <nd_fuzz.h>
#include <nd_http_internal.h>


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char             *dst;
    ssize_t             n;
    nd_str_t            s, v;
    nd_uint_t           i;
    nd_pool_t          *pool;
    nd_keyval_t        *kv;
    nd_http_request_t   r;

    pool = nd_create_pool(1024, nd_log_default());
    if (pool == NULL) {
        return 0;
    }

    memset(&r, 0, sizeof(r));
    r.pool = pool;
    if (nd_array_init(&r.args, pool, 4, sizeof(nd_keyval_t)) != ND_OK
        || nd_array_init(&r.headers, pool, 1, sizeof(nd_keyval_t)) != ND_OK)
    {
        abort();
    }

    /* a copy: the parser reads only its own bytes */
    s.len = size;
    s.data = nd_pnalloc(pool, size ? size : 1);
    if (size) {
        memcpy(s.data, data, size);
    }

    for (i = 0; i < 2; i++) {
        dst = malloc(size ? size : 1);
        n = nd_unescape(dst, s.data, s.len, (int) i);
        if (n > (ssize_t) size) {
            abort();
        }
        free(dst);
    }

    if (nd_http_parse_args(&r, &s) == ND_OK) {
        kv = r.args.elts;
        for (i = 0; i < r.args.nelts; i++) {
            if (kv[i].key.len > size || kv[i].value.len > size) {
                abort();
            }
            if (kv[i].key.len && memchr(kv[i].key.data, '&', kv[i].key.len)
                == (void *) -1)
            {
                abort();                /* reads every byte for ASan */
            }
        }
        (void) nd_http_arg(&r, "Listening-Configs", &v);
        (void) nd_http_arg(&r, "serviceName", &v);
    }

    nd_destroy_pool(pool);

    return 0;
}

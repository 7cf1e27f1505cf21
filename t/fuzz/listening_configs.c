/*
 * Fuzz target: the 1.x long-poll Listening-Configs parameter
 * (nd_config_parse_listening, src/modules/config/nd_config_listen.c):
 * the value as the form decoder left it, URL-decoded once more, then
 * split into dataId^2group^2md5[^2tenant]^1 lines.  Every key it
 * accepts must lie inside the decoded copy and be non-empty.
 */
#include <nd_fuzz.h>

#ifdef ND_WITH_CONFIG

#include <nd_config_internal.h>


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nd_int_t            rc;
    nd_str_t            v;
    nd_uint_t           i, max;
    nd_pool_t          *pool;
    nd_config_poll_t    poll;
    nd_http_request_t   r;

    static int  inited;

    if (!inited) {
        nd_fuzz_quiet();
        inited = 1;
    }

    if (size < 1) {
        return 0;
    }

    /* the limit (max_listen_keys) from the first byte, 0 .. 255 */
    max = data[0];
    data++;
    size--;

    pool = nd_create_pool(1024, nd_log_default());
    if (pool == NULL) {
        return 0;
    }

    memset(&r, 0, sizeof(r));
    memset(&poll, 0, sizeof(poll));
    r.pool = pool;

    /* a pool copy, as the form decoder leaves it */
    v.len = size;
    v.data = nd_pnalloc(pool, size + 1);
    if (v.data == NULL) {
        nd_destroy_pool(pool);
        return 0;
    }
    if (size) {
        memcpy(v.data, data, size);
    }

    rc = nd_config_parse_listening(&r, &v, &poll, max);

    if (rc == ND_OK) {
        if (poll.n == 0 || poll.n > max) {
            abort();
        }
        for (i = 0; i < poll.n; i++) {
            if (poll.keys[i].key.data_id.len == 0
                || poll.keys[i].key.group.len == 0
                || strlen(poll.ls[i].md5) > 32)
            {
                abort();
            }
            /* touch them: ASan sees a view outside its copy */
            if (memchr(poll.keys[i].key.data_id.data, '\001',
                       poll.keys[i].key.data_id.len)
                || memchr(poll.keys[i].key.group.data, '\001',
                          poll.keys[i].key.group.len)
                || (poll.keys[i].tenant.len
                    && memchr(poll.keys[i].tenant.data, '\001',
                              poll.keys[i].tenant.len)))
            {
                abort();
            }
        }
    }

    nd_destroy_pool(pool);

    return 0;
}

#else

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return 0;
}

#endif

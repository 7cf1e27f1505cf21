/*
 * Fuzz target: the conf grammar and every module's directives
 * (src/core/nd_conf_file.c, nd_cycle_load_conf: all create_conf, the
 * parse, all init_conf), as "nacosd -t" runs them.  The input is the
 * conf file, written to a memfd the cycle reads through /proc; each run
 * builds its conf in a fresh pool.  An "include" can
 * only reach regular files (nd_conf_read_file), so it cannot block.
 */
#include <nd_fuzz.h>
#include <sys/mman.h>


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    void       **ctx;
    nd_pool_t   *pool;

    static int          fd = -1;
    static char         path[64];
    static nd_cycle_t  *cycle;

    if (cycle == NULL) {
        nd_fuzz_quiet();
        fd = memfd_create("nacosd.conf", MFD_CLOEXEC);
        if (fd < 0) {
            abort();
        }
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        cycle = nd_cycle_create("/tmp/", path, NULL);
        if (cycle == NULL) {
            abort();
        }
        cycle->error_log.level = ND_LOG_ALERT;
    }

    if (ftruncate(fd, 0) != 0
        || pwrite(fd, data, size, 0) != (ssize_t) size)
    {
        abort();
    }

    pool = nd_create_pool(16384, cycle->log);
    if (pool == NULL) {
        abort();
    }

    /* as at startup (-t); nothing outlives the pool */
    (void) nd_cycle_load_conf(cycle, pool, &ctx, 0);
    cycle->conf_ctx = NULL;

    nd_destroy_pool(pool);

    return 0;
}

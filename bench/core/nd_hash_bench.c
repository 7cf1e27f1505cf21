/*
 * nd_hash_bench: lookups per second in the core hash table (SipHash-1-3
 * under the process key), and the hash functions alone on the same keys:
 * FNV-1a (the table's hash before, now distro's stable hash), our
 * SipHash-1-3, and OpenSSL's EVP_MAC "SIPHASH" (1 and 3 rounds).
 *
 *   nd_hash_bench [keys [seconds-per-figure]]
 *
 * Built by bench/15-hash.bench with src/core/nd_hash.c.
 */
#include <nd_core.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>


/* nd_hash.c's allocators without the rest of the core */
void *
nd_alloc(size_t size)
{
    return malloc(size ? size : 1);
}


void *
nd_calloc(size_t size)
{
    return calloc(1, size ? size : 1);
}


static double
nd_bench_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}


typedef struct {
    char     s[64];
    size_t   len;
} nd_bench_key_t;


static volatile uint64_t  nd_bench_sink;


int
main(int argc, char **argv)
{
    u_char           k[16] = { 0 }, mac[8];
    size_t           n, i, round, size = 8, maclen;
    double           secs, t0, t;
    uint64_t         acc;
    nd_hash_t        h;
    unsigned int     c = 1, d = 3;
    EVP_MAC         *m;
    EVP_MAC_CTX     *ctx;
    OSSL_PARAM       params[4];
    nd_bench_key_t  *keys;

    n = argc > 1 ? (size_t) atol(argv[1]) : 100000;
    secs = argc > 2 ? atof(argv[2]) : 1.0;

    keys = calloc(n, sizeof(nd_bench_key_t));
    if (keys == NULL || nd_hash_seed() != ND_OK || nd_hash_init(&h, 16)) {
        return 1;
    }

    /* keys shaped as the naming module's: group@@service */
    for (i = 0; i < n; i++) {
        keys[i].len = (size_t) snprintf(keys[i].s, sizeof(keys[i].s),
                                        "DEFAULT_GROUP@@svc-%zu", i);
        if (nd_hash_add(&h, (u_char *) keys[i].s, keys[i].len, &keys[i])
            != ND_OK)
        {
            return 1;
        }
    }

#define ND_BENCH_LOOP(label, expr)                                           \
    do {                                                                     \
        acc = 0;                                                             \
        round = 0;                                                           \
        t0 = nd_bench_now();                                                 \
        do {                                                                 \
            for (i = 0; i < n; i++) {                                        \
                acc += (uint64_t) (uintptr_t) (expr);                        \
            }                                                                \
            round++;                                                         \
            t = nd_bench_now() - t0;                                         \
        } while (t < secs);                                                  \
        nd_bench_sink = acc;                                                 \
        printf("%-34s %8.2f M/s\n", label, round * n / t / 1e6);             \
    } while (0)

    ND_BENCH_LOOP("table lookups (SipHash-1-3)",
                  nd_hash_find(&h, (u_char *) keys[i].s, keys[i].len));
    ND_BENCH_LOOP("hash only: FNV-1a",
                  nd_hash_stable((u_char *) keys[i].s, keys[i].len));
    ND_BENCH_LOOP("hash only: SipHash-1-3 (ours)",
                  nd_siphash13(k, (u_char *) keys[i].s, keys[i].len));

    m = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
    ctx = m ? EVP_MAC_CTX_new(m) : NULL;
    if (ctx == NULL) {
        return 1;
    }
    params[0] = OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size);
    params[1] = OSSL_PARAM_construct_uint(OSSL_MAC_PARAM_C_ROUNDS, &c);
    params[2] = OSSL_PARAM_construct_uint(OSSL_MAC_PARAM_D_ROUNDS, &d);
    params[3] = OSSL_PARAM_construct_end();

    /* the cheapest use of it: one context, re-initialised per key */
    ND_BENCH_LOOP("hash only: EVP_MAC SIPHASH-1-3",
                  (EVP_MAC_init(ctx, k, 16, params)
                   && EVP_MAC_update(ctx, (u_char *) keys[i].s, keys[i].len)
                   && EVP_MAC_final(ctx, mac, &maclen, sizeof(mac)))
                  ? mac[0] : 0);

    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(m);
    nd_hash_free(&h);
    free(keys);

    return 0;
}

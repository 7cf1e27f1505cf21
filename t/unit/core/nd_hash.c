/*
 * Unit tests: SipHash-1-3 against OpenSSL's, the stable FNV-1a, and hash
 * flooding: keys that all collide for FNV-1a (the table's old hash) stay
 * spread out, so a lookup compares a handful of entries, not all of them.
 * Linked (intrusive) elements: found, refused twice, unlinked, never
 * freed by the table (ASan would see a free of their owners' interior).
 */
#include <nd_core.h>
#include <tap.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>


#define ND_T_BLOCKS  12                 /* 2^12 colliding keys */
#define ND_T_SEARCH  (1 << 18)          /* birthday search space */


static int
openssl_siphash13(const u_char k[16], const u_char *p, size_t len,
    uint64_t *out)
{
    int           rc;
    u_char        mac[8];
    size_t        n;
    size_t        size = 8;
    unsigned int  c = 1, d = 3;
    EVP_MAC      *m;
    EVP_MAC_CTX  *ctx;
    OSSL_PARAM    params[4];

    m = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
    if (m == NULL) {
        return -1;
    }

    ctx = EVP_MAC_CTX_new(m);
    params[0] = OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size);
    params[1] = OSSL_PARAM_construct_uint(OSSL_MAC_PARAM_C_ROUNDS, &c);
    params[2] = OSSL_PARAM_construct_uint(OSSL_MAC_PARAM_D_ROUNDS, &d);
    params[3] = OSSL_PARAM_construct_end();

    rc = ctx && EVP_MAC_init(ctx, k, 16, params)
         && EVP_MAC_update(ctx, p, len)
         && EVP_MAC_final(ctx, mac, &n, sizeof(mac)) && n == 8;

    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(m);

    if (!rc) {
        return -1;
    }

    *out = 0;
    for (n = 8; n--; /* void */) {
        *out = *out << 8 | mac[n];
    }

    return 0;
}


static int
cmp_u64(const void *a, const void *b)
{
    uint64_t  x = *(const uint64_t *) a, y = *(const uint64_t *) b;

    return x < y ? -1 : x > y;
}


/* FNV-1a's loop from state h: the key's hash when h is the offset basis */
static uint32_t
fnv1a_from(uint32_t h, const u_char *p, size_t len)
{
    while (len--) {
        h ^= *p++;
        h *= 16777619u;
    }

    return h;
}


/* two different 8-byte strings that take FNV-1a from state h to one
 * state (a birthday search); that state, or 0 when none is found */
static int
fnv_pair(uint32_t h, u_char a[8], u_char b[8], uint32_t *next)
{
    char       s[16];
    uint32_t   i;
    uint64_t  *v;

    v = malloc(ND_T_SEARCH * sizeof(uint64_t));
    if (v == NULL) {
        return -1;
    }

    for (i = 0; i < ND_T_SEARCH; i++) {
        snprintf(s, sizeof(s), "%08x", i * 2654435761u);
        v[i] = (uint64_t) fnv1a_from(h, (u_char *) s, 8) << 32 | i;
    }

    qsort(v, ND_T_SEARCH, sizeof(uint64_t), cmp_u64);

    for (i = 1; i < ND_T_SEARCH; i++) {
        if (v[i] >> 32 == v[i - 1] >> 32) {
            snprintf(s, sizeof(s), "%08x", (uint32_t) v[i] * 2654435761u);
            memcpy(a, s, 8);
            snprintf(s, sizeof(s), "%08x",
                     (uint32_t) v[i - 1] * 2654435761u);
            memcpy(b, s, 8);
            *next = (uint32_t) (v[i] >> 32);
            free(v);
            return 0;
        }
    }

    free(v);
    return -1;
}


/* an owner whose element ends it, as naming's client */
typedef struct {
    int             n;
    nd_hash_elt_t   elt;
} t_owner_t;


static t_owner_t *
t_owner(int n)
{
    t_owner_t  *o;
    char        key[32];
    int         len;

    len = snprintf(key, sizeof(key), "10.0.%d.%d:8080#true", n / 256,
                   n % 256);
    o = calloc(1, sizeof(t_owner_t) + (size_t) len + 1);
    o->n = n;
    o->elt.len = (uint32_t) len;
    o->elt.value = o;
    memcpy(o->elt.key, key, (size_t) len + 1);
    return o;
}


static void
t_linked(void)
{
    int              i, n, found, busy;
    nd_uint_t        it;
    nd_hash_t        h;
    t_owner_t      **o, *twin;
    nd_hash_elt_t   *e, *next;

    n = 5000;                            /* the table grows on the way */
    o = calloc((size_t) n, sizeof(*o));
    ok(nd_hash_init(&h, 16) == ND_OK, "linked: table");

    for (i = 0; i < n; i++) {
        o[i] = t_owner(i);
        if (nd_hash_link(&h, &o[i]->elt) != ND_OK) {
            break;
        }
    }
    is_int(i, n, "linked: %d owners linked", n);
    is_int(h.nelts, n, "linked: the table counts them");

    twin = t_owner(7);
    busy = nd_hash_link(&h, &twin->elt) == ND_BUSY;
    ok(busy && h.nelts == (nd_uint_t) n, "linked: a key linked twice is "
       "refused, the table unchanged");
    free(twin);

    found = 0;
    for (i = 0; i < n; i++) {
        found += nd_hash_find(&h, o[i]->elt.key, o[i]->elt.len) == o[i];
    }
    is_int(found, n, "linked: every key finds its owner");

    /* unlink every third, one by its key (nd_hash_del unlinks only) */
    for (i = 0; i < n; i += 3) {
        nd_hash_unlink(&h, &o[i]->elt);
    }
    ok(nd_hash_del(&h, o[1]->elt.key, o[1]->elt.len) == o[1],
       "linked: del by key returns the owner");
    ok(nd_hash_find(&h, o[0]->elt.key, o[0]->elt.len) == NULL
       && nd_hash_find(&h, o[1]->elt.key, o[1]->elt.len) == NULL
       && nd_hash_find(&h, o[2]->elt.key, o[2]->elt.len) == o[2],
       "linked: unlinked keys are gone, the others stay");
    is_int(h.nelts, n - (n + 2) / 3 - 1, "linked: the count follows");

    /* a linked owner may be linked again after its unlink */
    ok(nd_hash_link(&h, &o[0]->elt) == ND_OK
       && nd_hash_find(&h, o[0]->elt.key, o[0]->elt.len) == o[0],
       "linked: relinked");

    /* the owners free themselves while iterating, next taken first */
    for (i = 0; i < n; i += 3) {
        if (i) {
            free(o[i]);
        }
    }
    free(o[1]);
    found = 0;
    for (e = nd_hash_first(&h, &it); e; e = next) {
        next = nd_hash_next(&h, e, &it);
        free(e->value);
        found++;
    }
    is_int(found, n - (n + 2) / 3 - 1 + 1, "linked: iteration sees each "
           "linked owner once");
    nd_hash_free(&h);                    /* buckets only */
    ok(h.buckets == NULL, "linked: freed");
    free(o);
}


int
main(void)
{
    int         same, found, bad;
    u_char      k[16], msg[64], a[ND_T_BLOCKS][8], b[ND_T_BLOCKS][8];
    u_char      (*keys)[ND_T_BLOCKS * 8];
    uint32_t    h0, h1, n, i, j, st;
    uint64_t    want;
    nd_uint_t   p, max, total;
    nd_hash_t   h;
    const char  *kv = "key";

    /* SipHash-1-3: the paper's key and message layout, every length up to
     * 63 (all tail sizes, several blocks), against OpenSSL's SIPHASH MAC
     * with 1 compression and 3 finalization rounds */
    for (i = 0; i < 16; i++) {
        k[i] = (u_char) i;
    }
    for (i = 0; i < 64; i++) {
        msg[i] = (u_char) i;
    }

    bad = 0;
    for (i = 0; i < 64; i++) {
        if (openssl_siphash13(k, msg, i, &want) != 0) {
            bad = -1;
            break;
        }
        if (nd_siphash13(k, msg, i) != want) {
            bad++;
            printf("# length %u: %016llx, OpenSSL %016llx\n", i,
                   (unsigned long long) nd_siphash13(k, msg, i),
                   (unsigned long long) want);
        }
    }
    is_int(bad, 0, "SipHash-1-3 equals OpenSSL's for lengths 0..63");

    /* FNV-1a (distro's ring) is fixed: the reference values */
    is_int(nd_hash_stable((u_char *) "", 0), 0x811c9dc5u, "fnv1a(\"\")");
    is_int(nd_hash_stable((u_char *) "a", 1), 0xe40c292cu, "fnv1a(\"a\")");
    is_int(nd_hash_stable((u_char *) "foobar", 6), 0xbf9cf968u,
           "fnv1a(\"foobar\")");

    /* the table's hash is keyed: a new key, other values */
    ok(nd_hash_seed() == ND_OK, "seeded from RAND_bytes");
    h0 = nd_hash_key((u_char *) kv, 3);
    ok(nd_hash_seed() == ND_OK, "seeded again");
    h1 = nd_hash_key((u_char *) kv, 3);
    ok(h0 != h1, "another process key hashes \"key\" differently");

    /* hash flooding: 2^12 keys of 12 blocks, block j being A[j] or B[j],
     * where A[j] and B[j] take FNV-1a from the same state to the same
     * state (Joux's multicollision): all keys have one FNV-1a value, so
     * the old table chained them all into one bucket and a lookup
     * compared up to n entries */
    st = 2166136261u;
    bad = 0;
    for (j = 0; j < ND_T_BLOCKS; j++) {
        if (fnv_pair(st, a[j], b[j], &st) != 0) {
            bad++;
        }
    }
    is_int(bad, 0, "found %d FNV-1a block collisions", ND_T_BLOCKS);

    n = 1u << ND_T_BLOCKS;
    keys = malloc(n * sizeof(*keys));
    ok(keys != NULL, "keys allocated");

    same = 1;
    for (i = 0; i < n; i++) {
        for (j = 0; j < ND_T_BLOCKS; j++) {
            memcpy(keys[i] + j * 8, (i >> j) & 1 ? a[j] : b[j], 8);
        }
        if (nd_hash_stable(keys[i], sizeof(keys[i]))
            != nd_hash_stable(keys[0], sizeof(keys[0])))
        {
            same = 0;
        }
    }
    ok(same, "all %u keys have the same FNV-1a value", n);

    ok(nd_hash_init(&h, 16) == ND_OK, "table");

    bad = 0;
    for (i = 0; i < n; i++) {
        if (nd_hash_add(&h, keys[i], sizeof(keys[i]), &keys[i]) != ND_OK) {
            bad++;
        }
    }
    is_int(bad, 0, "all %u keys added", n);
    is_int(h.nelts, n, "table holds them");

    found = 0;
    max = 0;
    total = 0;
    for (i = 0; i < n; i++) {
        found += nd_hash_find(&h, keys[i], sizeof(keys[i])) == &keys[i];
        p = nd_hash_probes(&h, keys[i], sizeof(keys[i]));
        total += p;
        max = p > max ? p : max;
    }
    is_int(found, n, "every key finds its value");

    /* load factor <= 1 and a random-looking hash: chains of a few
     * entries.  P(one chain >= 16) is about 1/16! per bucket */
    printf("# probes per lookup: mean %.2f, max %lu (FNV-1a: mean %.1f)\n",
           (double) total / n, (unsigned long) max, (n + 1) / 2.0);
    ok(max < 16, "longest lookup compares %lu entries (FNV-1a: %u)",
       (unsigned long) max, n);
    ok(total < 3 * (nd_uint_t) n, "mean probes %.2f < 3",
       (double) total / n);

    /* absent keys cost a chain too */
    is_int(nd_hash_find(&h, a[0], 8) == NULL, 1, "absent key not found");
    ok(nd_hash_probes(&h, a[0], 8) < 16, "absent key: a short chain");

    for (i = 0; i < n; i += 2) {
        nd_hash_del(&h, keys[i], sizeof(keys[i]));
    }
    is_int(h.nelts, n / 2, "half deleted");
    ok(nd_hash_find(&h, keys[1], sizeof(keys[1])) == &keys[1]
       && nd_hash_find(&h, keys[0], sizeof(keys[0])) == NULL,
       "the other half remains");

    nd_hash_free(&h);
    free(keys);

    t_linked();

    return done_testing();
}

/*
 * Chained hash table keyed by SipHash-1-3 (Aumasson and Bernstein,
 * "SipHash: a fast short-input PRF", 2012: c = 1 compression round per
 * 8-byte word, d = 3 finalization rounds), under a per-process key.
 */
#include <nd_core.h>
#include <openssl/rand.h>


static u_char  nd_hash_k[16];
static int     nd_hash_seeded;


nd_int_t
nd_hash_seed(void)
{
    if (RAND_bytes(nd_hash_k, sizeof(nd_hash_k)) != 1) {
        return ND_ERROR;
    }

    nd_hash_seeded = 1;

    return ND_OK;
}


#define nd_rotl64(x, b)  (uint64_t) (((x) << (b)) | ((x) >> (64 - (b))))

#define ND_SIPROUND                                                          \
    do {                                                                     \
        v0 += v1; v1 = nd_rotl64(v1, 13); v1 ^= v0; v0 = nd_rotl64(v0, 32);  \
        v2 += v3; v3 = nd_rotl64(v3, 16); v3 ^= v2;                          \
        v0 += v3; v3 = nd_rotl64(v3, 21); v3 ^= v0;                          \
        v2 += v1; v1 = nd_rotl64(v1, 17); v1 ^= v2; v2 = nd_rotl64(v2, 32);  \
    } while (0)


static uint64_t
nd_hash_le64(const u_char *p)
{
    return (uint64_t) p[0] | (uint64_t) p[1] << 8 | (uint64_t) p[2] << 16
           | (uint64_t) p[3] << 24 | (uint64_t) p[4] << 32
           | (uint64_t) p[5] << 40 | (uint64_t) p[6] << 48
           | (uint64_t) p[7] << 56;
}


uint64_t
nd_siphash13(const u_char k[16], const u_char *p, size_t len)
{
    size_t    left;
    uint64_t  k0, k1, v0, v1, v2, v3, m, b;

    k0 = nd_hash_le64(k);
    k1 = nd_hash_le64(k + 8);

    v0 = k0 ^ 0x736f6d6570736575ULL;        /* "somepseu" */
    v1 = k1 ^ 0x646f72616e646f6dULL;        /* "dorandom" */
    v2 = k0 ^ 0x6c7967656e657261ULL;        /* "lygenera" */
    v3 = k1 ^ 0x7465646279746573ULL;        /* "tedbytes" */

    b = (uint64_t) len << 56;

    for (left = len; left >= 8; left -= 8, p += 8) {
        m = nd_hash_le64(p);
        v3 ^= m;
        ND_SIPROUND;
        v0 ^= m;
    }

    switch (left) {
    case 7: b |= (uint64_t) p[6] << 48; /* fall through */
    case 6: b |= (uint64_t) p[5] << 40; /* fall through */
    case 5: b |= (uint64_t) p[4] << 32; /* fall through */
    case 4: b |= (uint64_t) p[3] << 24; /* fall through */
    case 3: b |= (uint64_t) p[2] << 16; /* fall through */
    case 2: b |= (uint64_t) p[1] << 8;  /* fall through */
    case 1: b |= (uint64_t) p[0];       /* fall through */
    default: break;
    }

    v3 ^= b;
    ND_SIPROUND;
    v0 ^= b;

    v2 ^= 0xff;
    ND_SIPROUND;
    ND_SIPROUND;
    ND_SIPROUND;

    return v0 ^ v1 ^ v2 ^ v3;
}


uint32_t
nd_hash_key(const u_char *key, size_t len)
{
    uint64_t  h;

    h = nd_siphash13(nd_hash_k, key, len);

    return (uint32_t) (h ^ (h >> 32));
}


uint32_t
nd_hash_stable(const u_char *key, size_t len)
{
    uint32_t  h;

    h = 2166136261u;
    while (len--) {
        h ^= *key++;
        h *= 16777619u;
    }

    return h;
}


nd_int_t
nd_hash_init(nd_hash_t *h, nd_uint_t size)
{
    nd_uint_t  n;

    if (!nd_hash_seeded && nd_hash_seed() != ND_OK) {
        h->buckets = NULL;
        return ND_ERROR;
    }

    for (n = 16; n < size; n <<= 1) { /* void */ }

    h->buckets = nd_calloc(n * sizeof(nd_hash_elt_t *));
    if (h->buckets == NULL) {
        return ND_ERROR;
    }

    h->size = n;
    h->nelts = 0;
    h->linked = 0;

    return ND_OK;
}


static nd_hash_elt_t *
nd_hash_lookup(nd_hash_t *h, uint32_t hv, const u_char *key, size_t len)
{
    nd_hash_elt_t  *e;

    for (e = h->buckets[hv & (h->size - 1)]; e; e = e->next) {
        if (e->hash == hv && e->len == len && memcmp(e->key, key, len) == 0) {
            return e;
        }
    }

    return NULL;
}


void *
nd_hash_find(nd_hash_t *h, const u_char *key, size_t len)
{
    nd_hash_elt_t  *e;

    e = nd_hash_lookup(h, nd_hash_key(key, len), key, len);

    return e ? e->value : NULL;
}


static void
nd_hash_grow(nd_hash_t *h)
{
    nd_uint_t        i, n;
    nd_hash_elt_t  **b, *e, *next;

    n = h->size * 2;
    b = calloc(n, sizeof(nd_hash_elt_t *));
    if (b == NULL) {
        return;                     /* keep working at a higher load */
    }

    for (i = 0; i < h->size; i++) {
        for (e = h->buckets[i]; e; e = next) {
            next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    }

    nd_free(h->buckets);
    h->buckets = b;
    h->size = n;
}


/* links e (e->hash set, its key absent) */
static void
nd_hash_insert(nd_hash_t *h, nd_hash_elt_t *e)
{
    nd_hash_elt_t  **b;

    b = &h->buckets[e->hash & (h->size - 1)];
    e->next = *b;
    *b = e;

    if (++h->nelts > h->size) {
        nd_hash_grow(h);
    }
}


nd_int_t
nd_hash_add(nd_hash_t *h, const u_char *key, size_t len, void *value)
{
    uint32_t        hv;
    nd_hash_elt_t  *e;

    if (len > UINT32_MAX) {
        return ND_ERROR;
    }

    hv = nd_hash_key(key, len);

    if (nd_hash_lookup(h, hv, key, len)) {
        return ND_BUSY;
    }

    e = nd_alloc(sizeof(nd_hash_elt_t) + len);
    if (e == NULL) {
        return ND_ERROR;
    }

    e->hash = hv;
    e->len = (uint32_t) len;
    e->value = value;
    if (len) {
        memcpy(e->key, key, len);
    }

    nd_hash_insert(h, e);

    return ND_OK;
}


nd_int_t
nd_hash_link(nd_hash_t *h, nd_hash_elt_t *e)
{
    e->hash = nd_hash_key(e->key, e->len);

    if (nd_hash_lookup(h, e->hash, e->key, e->len)) {
        return ND_BUSY;
    }

    h->linked = 1;
    nd_hash_insert(h, e);

    return ND_OK;
}


void
nd_hash_unlink(nd_hash_t *h, nd_hash_elt_t *e)
{
    nd_hash_elt_t  **pp;

    for (pp = &h->buckets[e->hash & (h->size - 1)]; *pp; pp = &(*pp)->next) {
        if (*pp == e) {
            *pp = e->next;
            h->nelts--;
            return;
        }
    }
}


void *
nd_hash_del(nd_hash_t *h, const u_char *key, size_t len)
{
    void           *v;
    uint32_t        hv;
    nd_hash_elt_t  *e, **pp;

    hv = nd_hash_key(key, len);

    for (pp = &h->buckets[hv & (h->size - 1)]; (e = *pp); pp = &e->next) {
        if (e->hash == hv && e->len == len && memcmp(e->key, key, len) == 0) {
            *pp = e->next;
            v = e->value;
            if (!h->linked) {
                nd_free(e);
            }
            h->nelts--;
            return v;
        }
    }

    return NULL;
}


nd_uint_t
nd_hash_probes(nd_hash_t *h, const u_char *key, size_t len)
{
    uint32_t        hv;
    nd_uint_t       n;
    nd_hash_elt_t  *e;

    hv = nd_hash_key(key, len);
    n = 0;

    for (e = h->buckets[hv & (h->size - 1)]; e; e = e->next) {
        n++;
        if (e->hash == hv && e->len == len && memcmp(e->key, key, len) == 0) {
            break;
        }
    }

    return n;
}


void
nd_hash_free(nd_hash_t *h)
{
    nd_uint_t       i;
    nd_hash_elt_t  *e, *next;

    if (h->buckets == NULL) {
        return;
    }

    for (i = 0; i < h->size && !h->linked; i++) {
        for (e = h->buckets[i]; e; e = next) {
            next = e->next;
            nd_free(e);
        }
    }

    nd_free(h->buckets);
    h->buckets = NULL;
    h->size = 0;
    h->nelts = 0;
}


nd_hash_elt_t *
nd_hash_first(nd_hash_t *h, nd_uint_t *i)
{
    for (*i = 0; *i < h->size; (*i)++) {
        if (h->buckets[*i]) {
            return h->buckets[*i];
        }
    }

    return NULL;
}


nd_hash_elt_t *
nd_hash_next(nd_hash_t *h, nd_hash_elt_t *e, nd_uint_t *i)
{
    if (e->next) {
        return e->next;
    }

    for ((*i)++; *i < h->size; (*i)++) {
        if (h->buckets[*i]) {
            return h->buckets[*i];
        }
    }

    return NULL;
}

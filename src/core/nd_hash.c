/*
 * Chained hash table, FNV-1a keys.
 */
#include <nd_core.h>


uint32_t
nd_hash_key(const u_char *key, size_t len)
{
    uint32_t  h;

    h = 2166136261u;
    while (len--) {
        h ^= *key++;
        h *= 16777619u;
    }

    return h;
}


int
nd_hash_init(nd_hash_t *h, nd_uint_t size)
{
    nd_uint_t  n;

    for (n = 16; n < size; n <<= 1) { /* void */ }

    h->buckets = nd_calloc(n * sizeof(nd_hash_elt_t *));
    if (h->buckets == NULL) {
        return ND_ERROR;
    }

    h->size = n;
    h->nelts = 0;

    return ND_OK;
}


void *
nd_hash_find(nd_hash_t *h, const u_char *key, size_t len)
{
    uint32_t        hv;
    nd_hash_elt_t  *e;

    hv = nd_hash_key(key, len);

    for (e = h->buckets[hv & (h->size - 1)]; e; e = e->next) {
        if (e->hash == hv && e->len == len && memcmp(e->key, key, len) == 0) {
            return e->value;
        }
    }

    return NULL;
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


int
nd_hash_add(nd_hash_t *h, const u_char *key, size_t len, void *value)
{
    uint32_t        hv;
    nd_hash_elt_t  *e, **b;

    if (len > UINT32_MAX) {
        return ND_ERROR;
    }

    hv = nd_hash_key(key, len);
    b = &h->buckets[hv & (h->size - 1)];

    for (e = *b; e; e = e->next) {
        if (e->hash == hv && e->len == len && memcmp(e->key, key, len) == 0) {
            return ND_BUSY;
        }
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
    e->next = *b;
    *b = e;

    if (++h->nelts > h->size) {
        nd_hash_grow(h);
    }

    return ND_OK;
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
            nd_free(e);
            h->nelts--;
            return v;
        }
    }

    return NULL;
}


void
nd_hash_free(nd_hash_t *h)
{
    nd_uint_t       i;
    nd_hash_elt_t  *e, *next;

    if (h->buckets == NULL) {
        return;
    }

    for (i = 0; i < h->size; i++) {
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

/*
 * String-keyed hash table on the heap.  Keys are copied; values are
 * borrowed pointers.  Grows by doubling at load factor 1.
 */
#ifndef ND_HASH_H
#define ND_HASH_H

#include <nd_config.h>

typedef struct nd_hash_elt_s  nd_hash_elt_t;

struct nd_hash_elt_s {
    nd_hash_elt_t  *next;
    void           *value;
    uint32_t        hash;
    uint32_t        len;
    u_char          key[];
};

typedef struct {
    nd_hash_elt_t **buckets;
    nd_uint_t       size;          /* power of two */
    nd_uint_t       nelts;
} nd_hash_t;

uint32_t nd_hash_key(const u_char *key, size_t len);
int nd_hash_init(nd_hash_t *h, nd_uint_t size);
void *nd_hash_find(nd_hash_t *h, const u_char *key, size_t len);
/* ND_OK; ND_BUSY when the key exists (value unchanged); ND_ERROR on ENOMEM */
int nd_hash_add(nd_hash_t *h, const u_char *key, size_t len, void *value);
/* returns the removed value or NULL */
void *nd_hash_del(nd_hash_t *h, const u_char *key, size_t len);
void nd_hash_free(nd_hash_t *h);

/* iteration: for (e = nd_hash_first(h, &i); e; e = nd_hash_next(h, e, &i)) */
nd_hash_elt_t *nd_hash_first(nd_hash_t *h, nd_uint_t *i);
nd_hash_elt_t *nd_hash_next(nd_hash_t *h, nd_hash_elt_t *e, nd_uint_t *i);

#endif /* ND_HASH_H */

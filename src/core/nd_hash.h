/*
 * String-keyed hash table on the heap.  Keys are copied; values are
 * borrowed pointers.  Grows by doubling at load factor 1.
 *
 * Or intrusive: the element is the last member of the value's own
 * struct (key[] its tail), set by the owner and linked with
 * nd_hash_link(); the table never allocates nor frees such elements,
 * which saves a table of many small values an allocation each (naming's
 * clients: one per 1.x instance).  A table holds one kind only.
 *
 * Keys are often chosen by clients (service names, config keys,
 * connection ids), so the table hashes them with SipHash-1-3 under a
 * key drawn once per process from OpenSSL's CSPRNG: nobody outside the
 * process can make keys collide on purpose (hash flooding).  The hash
 * values, and so the iteration order, differ from one run to the next.
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
    unsigned        linked:1;      /* its elements are its values' */
} nd_hash_t;

/* draws the process key (RAND_bytes); ND_OK or ND_ERROR.  main() calls
 * it first; nd_hash_init() calls it when nobody has */
nd_int_t nd_hash_seed(void);
/* SipHash-1-3 of p under the 16-byte key k */
uint64_t nd_siphash13(const u_char k[16], const u_char *p, size_t len);
/* the table's hash: SipHash-1-3 under the process key, differs per run */
uint32_t nd_hash_key(const u_char *key, size_t len);
/* FNV-1a: the same value in every process on every node.  Only for
 * values that must agree between processes (distro's ring of members);
 * never for a table keyed by client-chosen strings */
uint32_t nd_hash_stable(const u_char *key, size_t len);

nd_int_t nd_hash_init(nd_hash_t *h, nd_uint_t size);
void *nd_hash_find(nd_hash_t *h, const u_char *key, size_t len);
/* ND_OK; ND_BUSY when the key exists (value unchanged); ND_ERROR on ENOMEM */
nd_int_t nd_hash_add(nd_hash_t *h, const u_char *key, size_t len, void *value);
/* returns the removed value or NULL (a linked element is unlinked only) */
void *nd_hash_del(nd_hash_t *h, const u_char *key, size_t len);
/* the buckets, and the elements unless linked */
void nd_hash_free(nd_hash_t *h);
/* an owner's element, e->key, e->len and e->value set: ND_OK, or ND_BUSY
 * when the key exists (e not linked); e stays the owner's */
nd_int_t nd_hash_link(nd_hash_t *h, nd_hash_elt_t *e);
/* e out of the table (linked by nd_hash_link) */
void nd_hash_unlink(nd_hash_t *h, nd_hash_elt_t *e);
/* entries a lookup of key compares: its place in its chain, or the whole
 * chain's length when absent (tests and benches) */
nd_uint_t nd_hash_probes(nd_hash_t *h, const u_char *key, size_t len);

/* iteration: for (e = nd_hash_first(h, &i); e; e = nd_hash_next(h, e, &i)) */
nd_hash_elt_t *nd_hash_first(nd_hash_t *h, nd_uint_t *i);
nd_hash_elt_t *nd_hash_next(nd_hash_t *h, nd_hash_elt_t *e, nd_uint_t *i);

#endif /* ND_HASH_H */

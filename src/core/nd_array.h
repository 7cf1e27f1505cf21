/*
 * Growable arrays.  A pool array grows inside its pool (old space stays in
 * the pool); a heap array (pool == NULL) grows with realloc and must be
 * freed with nd_array_free().
 */
#ifndef ND_ARRAY_H
#define ND_ARRAY_H

#include <nd_config.h>

typedef struct {
    void        *elts;
    nd_uint_t    nelts;
    size_t       size;
    nd_uint_t    nalloc;
    nd_pool_t   *pool;
} nd_array_t;

int nd_array_init(nd_array_t *a, nd_pool_t *pool, nd_uint_t n, size_t size);
nd_array_t *nd_array_create(nd_pool_t *p, nd_uint_t n, size_t size);
void *nd_array_push(nd_array_t *a);
void *nd_array_push_n(nd_array_t *a, nd_uint_t n);
void nd_array_free(nd_array_t *a);

#define nd_array_elt(a, type, i)  (&((type *) (a)->elts)[i])

#endif /* ND_ARRAY_H */

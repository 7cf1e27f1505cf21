/*
 * Growable arrays.
 */
#include <nd_core.h>


int
nd_array_init(nd_array_t *a, nd_pool_t *pool, nd_uint_t n, size_t size)
{
    a->nelts = 0;
    a->size = size;
    a->nalloc = n ? n : 1;
    a->pool = pool;

    a->elts = pool ? nd_palloc(pool, a->nalloc * size)
                   : nd_alloc(a->nalloc * size);

    return a->elts ? ND_OK : ND_ERROR;
}


nd_array_t *
nd_array_create(nd_pool_t *p, nd_uint_t n, size_t size)
{
    nd_array_t  *a;

    a = nd_palloc(p, sizeof(nd_array_t));
    if (a == NULL || nd_array_init(a, p, n, size) != ND_OK) {
        return NULL;
    }

    return a;
}


static nd_int_t
nd_array_grow(nd_array_t *a, nd_uint_t need)
{
    void       *n;
    nd_uint_t   cap;

    cap = a->nalloc;
    while (cap < need) {
        cap *= 2;
    }

    if (a->pool) {
        n = nd_palloc(a->pool, cap * a->size);
        if (n == NULL) {
            return ND_ERROR;
        }
        memcpy(n, a->elts, a->nelts * a->size);

    } else {
        n = nd_realloc(a->elts, cap * a->size);
        if (n == NULL) {
            return ND_ERROR;
        }
    }

    a->elts = n;
    a->nalloc = cap;

    return ND_OK;
}


void *
nd_array_push(nd_array_t *a)
{
    return nd_array_push_n(a, 1);
}


void *
nd_array_push_n(nd_array_t *a, nd_uint_t n)
{
    void  *elt;

    if (a->nelts + n > a->nalloc
        && nd_array_grow(a, a->nelts + n) != ND_OK)
    {
        return NULL;
    }

    elt = (u_char *) a->elts + a->size * a->nelts;
    a->nelts += n;

    return elt;
}


void
nd_array_free(nd_array_t *a)
{
    if (a->pool == NULL) {
        nd_free(a->elts);
    }

    a->elts = NULL;
    a->nelts = 0;
    a->nalloc = 0;
}

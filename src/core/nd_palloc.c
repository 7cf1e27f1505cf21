/*
 * Pools: bump allocation in blocks, large allocations on the heap, cleanup
 * handlers run at destruction.  One pool per cycle, connection, request.
 */
#include <nd_core.h>


void *
nd_alloc(size_t size)
{
    void  *p;

    p = malloc(size ? size : 1);
    if (p == NULL) {
        nd_log_error(ND_LOG_EMERG, nd_log_default(), errno,
                     "malloc(%zu) failed", size);
    }

    return p;
}


void *
nd_calloc(size_t size)
{
    void  *p;

    p = calloc(1, size ? size : 1);
    if (p == NULL) {
        nd_log_error(ND_LOG_EMERG, nd_log_default(), errno,
                     "calloc(%zu) failed", size);
    }

    return p;
}


void *
nd_realloc(void *p, size_t size)
{
    void  *n;

    n = realloc(p, size ? size : 1);
    if (n == NULL) {
        nd_log_error(ND_LOG_EMERG, nd_log_default(), errno,
                     "realloc(%zu) failed", size);
    }

    return n;
}


static nd_pool_block_t *
nd_pool_new_block(nd_pool_t *pool)
{
    nd_pool_block_t  *b;

    b = nd_alloc(pool->block_size);
    if (b == NULL) {
        return NULL;
    }

    b->next = NULL;
    b->last = (u_char *) b + nd_align(sizeof(nd_pool_block_t), 16);
    b->end = (u_char *) b + pool->block_size;

    return b;
}


nd_pool_t *
nd_create_pool(size_t size, nd_log_t *log)
{
    nd_pool_t  *pool;

    pool = nd_alloc(sizeof(nd_pool_t));
    if (pool == NULL) {
        return NULL;
    }

    pool->block_size = size < 512 ? 512 : size;
    pool->large = NULL;
    pool->cleanup = NULL;
    pool->log = log;
    pool->blocks = nd_pool_new_block(pool);
    if (pool->blocks == NULL) {
        nd_free(pool);
        return NULL;
    }
    pool->current = pool->blocks;

    return pool;
}


void
nd_destroy_pool(nd_pool_t *pool)
{
    nd_pool_cleanup_t  *c;
    nd_pool_large_t    *l;
    nd_pool_block_t    *b, *n;

    if (pool == NULL) {
        return;
    }

    for (c = pool->cleanup; c; c = c->next) {
        if (c->handler) {
            c->handler(c->data);
        }
    }

    for (l = pool->large; l; l = l->next) {
        nd_free(l->alloc);
    }

    for (b = pool->blocks; b; b = n) {
        n = b->next;
        nd_free(b);
    }

    nd_free(pool);
}


static void *
nd_palloc_large(nd_pool_t *pool, size_t size)
{
    void             *p;
    nd_pool_large_t  *large;

    p = nd_alloc(size);
    if (p == NULL) {
        return NULL;
    }

    large = nd_palloc(pool, sizeof(nd_pool_large_t));
    if (large == NULL) {
        nd_free(p);
        return NULL;
    }

    large->alloc = p;
    large->next = pool->large;
    pool->large = large;

    return p;
}


static void *
nd_palloc_small(nd_pool_t *pool, size_t size, int align)
{
    u_char           *m;
    nd_pool_block_t  *b;

    b = pool->current;

    for ( ;; ) {
        m = b->last;
        if (align) {
            m = (u_char *) nd_align((uintptr_t) m, ND_ALIGNMENT);
        }

        if (m <= b->end && (size_t) (b->end - m) >= size) {
            b->last = m + size;
            return m;
        }

        if (b->next) {
            b = b->next;
            continue;
        }

        b->next = nd_pool_new_block(pool);
        if (b->next == NULL) {
            return NULL;
        }
        pool->current = b->next;
        b = b->next;
    }
}


void *
nd_palloc(nd_pool_t *pool, size_t size)
{
    if (size > pool->block_size / 2) {
        return nd_palloc_large(pool, size);
    }

    return nd_palloc_small(pool, size, 1);
}


void *
nd_pnalloc(nd_pool_t *pool, size_t size)
{
    if (size > pool->block_size / 2) {
        return nd_palloc_large(pool, size);
    }

    return nd_palloc_small(pool, size, 0);
}


void *
nd_pcalloc(nd_pool_t *pool, size_t size)
{
    void  *p;

    p = nd_palloc(pool, size);
    if (p) {
        memset(p, 0, size);
    }

    return p;
}


nd_pool_cleanup_t *
nd_pool_cleanup_add(nd_pool_t *p, size_t size)
{
    nd_pool_cleanup_t  *c;

    c = nd_palloc(p, sizeof(nd_pool_cleanup_t));
    if (c == NULL) {
        return NULL;
    }

    if (size) {
        c->data = nd_palloc(p, size);
        if (c->data == NULL) {
            return NULL;
        }
    } else {
        c->data = NULL;
    }

    c->handler = NULL;
    c->next = p->cleanup;
    p->cleanup = c;

    return c;
}


nd_shared_t *
nd_shared_alloc(size_t size, nd_shared_dispose_pt dispose)
{
    nd_shared_t  *s;

    s = nd_alloc(sizeof(nd_shared_t) + size);
    if (s == NULL) {
        return NULL;
    }

    s->refs = 1;
    s->len = size;
    s->dispose = dispose;

    return s;
}


void
nd_shared_release(nd_shared_t *s)
{
    if (s == NULL || --s->refs > 0) {
        return;
    }

    if (s->dispose) {
        s->dispose(s);
    }

    nd_free(s);
}

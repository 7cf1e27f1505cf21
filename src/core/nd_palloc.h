/*
 * Memory: heap wrappers, pools (freed as a whole) and refcounted shared
 * blocks for fan-out payloads.
 */
#ifndef ND_PALLOC_H
#define ND_PALLOC_H

#include <nd_config.h>

typedef struct nd_log_s           nd_log_t;
typedef struct nd_pool_s          nd_pool_t;
typedef struct nd_pool_cleanup_s  nd_pool_cleanup_t;
typedef struct nd_pool_large_s    nd_pool_large_t;
typedef struct nd_pool_block_s    nd_pool_block_t;

typedef void (*nd_pool_cleanup_pt)(void *data);

struct nd_pool_cleanup_s {
    nd_pool_cleanup_pt   handler;
    void                *data;
    nd_pool_cleanup_t   *next;
};

struct nd_pool_large_s {
    nd_pool_large_t     *next;
    void                *alloc;
};

struct nd_pool_block_s {
    nd_pool_block_t     *next;
    u_char              *last;
    u_char              *end;
};

struct nd_pool_s {
    nd_pool_block_t     *current;
    nd_pool_block_t     *blocks;
    nd_pool_large_t     *large;
    nd_pool_cleanup_t   *cleanup;
    size_t               block_size;
    nd_log_t            *log;
};

#define ND_POOL_DEFAULT_SIZE   4096
#define ND_ALIGNMENT           sizeof(void *)
#define nd_align(d, a)         (((d) + ((a) - 1)) & ~((a) - 1))

void *nd_alloc(size_t size);
void *nd_calloc(size_t size);
void *nd_realloc(void *p, size_t size);
#define nd_free  free

nd_pool_t *nd_create_pool(size_t size, nd_log_t *log);
void nd_destroy_pool(nd_pool_t *pool);
void *nd_palloc(nd_pool_t *pool, size_t size);     /* aligned */
void *nd_pnalloc(nd_pool_t *pool, size_t size);    /* unaligned */
void *nd_pcalloc(nd_pool_t *pool, size_t size);
nd_pool_cleanup_t *nd_pool_cleanup_add(nd_pool_t *p, size_t size);

/* Refcounted block: the data follows the header; dispose (may be NULL)
 * runs when the last reference is released. */
typedef struct nd_shared_s  nd_shared_t;
typedef void (*nd_shared_dispose_pt)(nd_shared_t *s);

struct nd_shared_s {
    nd_uint_t              refs;
    size_t                 len;
    nd_shared_dispose_pt   dispose;
    u_char                 data[];
};

nd_shared_t *nd_shared_alloc(size_t size, nd_shared_dispose_pt dispose);
static inline nd_shared_t *
nd_shared_ref(nd_shared_t *s)
{
    s->refs++;
    return s;
}
void nd_shared_release(nd_shared_t *s);

#endif /* ND_PALLOC_H */

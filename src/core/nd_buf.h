/*
 * Growable heap byte buffers: data[pos, len) is unread content.
 */
#ifndef ND_BUF_H
#define ND_BUF_H

#include <nd_config.h>

typedef struct {
    u_char   *data;
    size_t    pos;      /* first unconsumed byte */
    size_t    len;      /* end of content */
    size_t    cap;
} nd_buf_t;

#define nd_buf_size(b)   ((b)->len - (b)->pos)
/* NULL for a buffer that never had memory: NULL + 0 is undefined in C,
 * and the fuzzers found two readers that asked before any data came */
#define nd_buf_start(b)  ((b)->data ? (b)->data + (b)->pos : (b)->data)
/* a string literal, its length counted by the compiler */
#define nd_buf_append_lit(b, s)  nd_buf_append(b, s, sizeof(s) - 1)

void nd_buf_init(nd_buf_t *b);
/* make room for n more bytes after len; compacts first */
nd_int_t nd_buf_reserve(nd_buf_t *b, size_t n);
nd_int_t nd_buf_append(nd_buf_t *b, const void *data, size_t n);
nd_int_t nd_buf_appendf(nd_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void nd_buf_consume(nd_buf_t *b, size_t n);
void nd_buf_reset(nd_buf_t *b);
void nd_buf_free(nd_buf_t *b);

/*
 * Bytes of a refcounted block (nd_shared_t) placed among a buffer's own
 * bytes without copying them: an output queue is the buffer plus a FIFO
 * of references, each standing after a given count of the buffer's
 * bytes.  A push body built once is referenced by every connection's
 * queue and written with sendmsg(); only frame and message headers are
 * the connection's own bytes.  Everything that consumes the buffer goes
 * through nd_buf_refs_consume, so the counts stay in step.
 */
typedef struct nd_shared_s  nd_shared_t;

typedef struct {
    nd_shared_t         *sh;        /* holds one reference */
    const u_char        *data;      /* unwritten part */
    size_t               len;
    uint64_t             at;        /* own bytes of the queue before it */
} nd_buf_ref_t;

typedef struct {
    nd_buf_ref_t        *r;         /* ring of cap entries */
    uint32_t             head;
    uint32_t             n;
    uint32_t             cap;
    size_t               bytes;     /* in references */
    uint64_t             consumed;  /* own bytes consumed, ever */
} nd_buf_refs_t;

/* every byte queued: own and referenced */
#define nd_buf_refs_size(b, rs)  (nd_buf_size(b) + (rs)->bytes)

/* append len bytes at data (inside sh) after the own bytes of b queued
 * now; takes a new reference to sh */
nd_int_t nd_buf_refs_add(nd_buf_t *b, nd_buf_refs_t *rs, nd_shared_t *sh,
    const u_char *data, size_t len);
/* the first contiguous piece queued: its bytes and the block they are in
 * (NULL: own bytes of b); 0 when nothing is queued */
size_t nd_buf_refs_peek(nd_buf_t *b, nd_buf_refs_t *rs, const u_char **data,
    nd_shared_t **sh);
/* up to max pieces in order, as iovecs; returns how many */
int nd_buf_refs_iov(nd_buf_t *b, nd_buf_refs_t *rs, struct iovec *iov,
    int max);
/* n bytes written or moved on: own bytes consumed, finished references
 * released */
void nd_buf_refs_consume(nd_buf_t *b, nd_buf_refs_t *rs, size_t n);
/* drop every reference (the buffer itself is the caller's) */
void nd_buf_refs_free(nd_buf_refs_t *rs);

#endif /* ND_BUF_H */

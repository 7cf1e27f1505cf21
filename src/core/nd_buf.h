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

#endif /* ND_BUF_H */

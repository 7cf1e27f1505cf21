/*
 * Growable heap byte buffers.
 */
#include <nd_core.h>


void
nd_buf_init(nd_buf_t *b)
{
    b->data = NULL;
    b->pos = 0;
    b->len = 0;
    b->cap = 0;
}


nd_int_t
nd_buf_reserve(nd_buf_t *b, size_t n)
{
    u_char  *p;
    size_t   cap;

    if (b->cap - b->len >= n) {
        return ND_OK;
    }

    if (b->pos) {
        memmove(b->data, b->data + b->pos, b->len - b->pos);
        b->len -= b->pos;
        b->pos = 0;
        if (b->cap - b->len >= n) {
            return ND_OK;
        }
    }

    cap = b->cap ? b->cap : 256;
    while (cap - b->len < n) {
        if (cap > SIZE_MAX / 2) {
            return ND_ERROR;
        }
        cap *= 2;
    }

    p = nd_realloc(b->data, cap);
    if (p == NULL) {
        return ND_ERROR;
    }

    b->data = p;
    b->cap = cap;

    return ND_OK;
}


nd_int_t
nd_buf_append(nd_buf_t *b, const void *data, size_t n)
{
    if (n == 0) {
        return ND_OK;
    }

    if (nd_buf_reserve(b, n) != ND_OK) {
        return ND_ERROR;
    }

    memcpy(b->data + b->len, data, n);
    b->len += n;

    return ND_OK;
}


nd_int_t
nd_buf_appendf(nd_buf_t *b, const char *fmt, ...)
{
    int      n;
    va_list  args;

    if (nd_buf_reserve(b, 128) != ND_OK) {
        return ND_ERROR;
    }

    va_start(args, fmt);
    n = vsnprintf((char *) b->data + b->len, b->cap - b->len, fmt, args);
    va_end(args);

    if (n < 0) {
        return ND_ERROR;
    }

    if ((size_t) n >= b->cap - b->len) {
        if (nd_buf_reserve(b, (size_t) n + 1) != ND_OK) {
            return ND_ERROR;
        }
        va_start(args, fmt);
        vsnprintf((char *) b->data + b->len, b->cap - b->len, fmt, args);
        va_end(args);
    }

    b->len += (size_t) n;

    return ND_OK;
}


void
nd_buf_consume(nd_buf_t *b, size_t n)
{
    b->pos += n;
    if (b->pos >= b->len) {
        b->pos = 0;
        b->len = 0;
    }
}


void
nd_buf_reset(nd_buf_t *b)
{
    b->pos = 0;
    b->len = 0;
}


void
nd_buf_free(nd_buf_t *b)
{
    nd_free(b->data);
    nd_buf_init(b);
}

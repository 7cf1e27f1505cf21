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


/* references among a buffer's bytes */

nd_int_t
nd_buf_refs_add(nd_buf_t *b, nd_buf_refs_t *rs, nd_shared_t *sh,
    const u_char *data, size_t len)
{
    uint32_t       i, cap;
    nd_buf_ref_t  *r, *ring;

    if (len == 0) {
        return ND_OK;
    }

    if (rs->n == rs->cap) {
        cap = rs->cap ? rs->cap * 2 : 4;
        ring = nd_alloc(cap * sizeof(nd_buf_ref_t));
        if (ring == NULL) {
            return ND_ERROR;
        }
        for (i = 0; i < rs->n; i++) {
            ring[i] = rs->r[(rs->head + i) % rs->cap];
        }
        nd_free(rs->r);
        rs->r = ring;
        rs->head = 0;
        rs->cap = cap;
    }

    r = &rs->r[(rs->head + rs->n) % rs->cap];
    r->sh = nd_shared_ref(sh);
    r->data = data;
    r->len = len;
    r->at = rs->consumed + nd_buf_size(b);
    rs->n++;
    rs->bytes += len;

    return ND_OK;
}


size_t
nd_buf_refs_peek(nd_buf_t *b, nd_buf_refs_t *rs, const u_char **data,
    nd_shared_t **sh)
{
    size_t         own;
    nd_buf_ref_t  *r;

    own = nd_buf_size(b);

    if (rs->n) {
        r = &rs->r[rs->head];
        if (r->at == rs->consumed) {
            *data = r->data;
            *sh = r->sh;
            return r->len;
        }
        own = (size_t) (r->at - rs->consumed);
    }

    *data = nd_buf_start(b);
    *sh = NULL;

    return own;
}


int
nd_buf_refs_iov(nd_buf_t *b, nd_buf_refs_t *rs, struct iovec *iov, int max)
{
    int            n;
    size_t         pos, own, upto;
    uint32_t       i;
    nd_buf_ref_t  *r;

    n = 0;
    pos = 0;
    own = nd_buf_size(b);

    for (i = 0; i < rs->n && n < max; i++) {
        r = &rs->r[(rs->head + i) % rs->cap];
        upto = (size_t) (r->at - rs->consumed);

        if (upto > pos) {
            iov[n].iov_base = nd_buf_start(b) + pos;
            iov[n].iov_len = upto - pos;
            pos = upto;
            if (++n == max) {
                return n;
            }
        }

        iov[n].iov_base = (void *) r->data;
        iov[n].iov_len = r->len;
        n++;
    }

    if (i == rs->n && n < max && own > pos) {
        iov[n].iov_base = nd_buf_start(b) + pos;
        iov[n].iov_len = own - pos;
        n++;
    }

    return n;
}


void
nd_buf_refs_consume(nd_buf_t *b, nd_buf_refs_t *rs, size_t n)
{
    size_t         k;
    nd_buf_ref_t  *r;

    while (n) {
        if (rs->n == 0) {
            k = nd_min(n, nd_buf_size(b));
            nd_buf_consume(b, k);
            rs->consumed += k;
            return;
        }

        r = &rs->r[rs->head];

        if (r->at > rs->consumed) {
            k = nd_min(n, (size_t) (r->at - rs->consumed));
            nd_buf_consume(b, k);
            rs->consumed += k;
            n -= k;
            continue;
        }

        k = nd_min(n, r->len);
        r->data += k;
        r->len -= k;
        rs->bytes -= k;
        n -= k;

        if (r->len == 0) {
            nd_shared_release(r->sh);
            rs->head = (rs->head + 1) % rs->cap;
            rs->n--;
        }
    }
}


void
nd_buf_refs_free(nd_buf_refs_t *rs)
{
    while (rs->n) {
        nd_shared_release(rs->r[rs->head].sh);
        rs->head = (rs->head + 1) % rs->cap;
        rs->n--;
    }

    nd_free(rs->r);
    rs->r = NULL;
    rs->head = 0;
    rs->cap = 0;
    rs->bytes = 0;
}

/*
 * HPACK (RFC 7541) for our HTTP/2 server: a decoder with Huffman and the
 * dynamic table, and the few encoder pieces our responses need (static
 * table, literals, indexing of a few constant fields; no Huffman).  Pure
 * functions: no loop, no connection; the dynamic table's storage is
 * allocated on the first insert and sized to what it holds.
 */
#ifndef ND_HPACK_H
#define ND_HPACK_H

#include <nd_core.h>

#define ND_HPACK_OK          0
#define ND_HPACK_ERROR      -1      /* malformed: COMPRESSION_ERROR */
#define ND_HPACK_TOO_LARGE  -2      /* a field over the caller's buffer */

/* the static table has 61 entries (Appendix A) */
#define ND_HPACK_STATIC     61

typedef struct {
    u_char      *data;      /* entries, oldest first; NULL while empty */
    uint32_t     start;     /* offset of the oldest entry */
    uint32_t     end;       /* offset after the newest entry */
    uint32_t     cap;       /* bytes allocated at data */
    uint32_t     count;     /* entries */
    uint32_t     size;      /* RFC 7541 size: name + value + 32 each */
    uint32_t     max;       /* current maximum (size updates) */
    uint32_t     limit;     /* what our SETTINGS allow (the max's max) */
} nd_hpack_t;

/* one decoded field; name and value are valid only during the call */
typedef void (*nd_hpack_emit_pt)(void *data, const u_char *name,
    size_t nlen, const u_char *value, size_t vlen);

void nd_hpack_init(nd_hpack_t *hp, uint32_t limit);
void nd_hpack_free(nd_hpack_t *hp);

/*
 * Decode one complete header block.  tmp (tmpsize bytes) holds a
 * literal's name and value while it is emitted: a field longer than that
 * is ND_HPACK_TOO_LARGE.  The table stays consistent only on ND_HPACK_OK;
 * any error is a connection error.
 */
int nd_hpack_decode(nd_hpack_t *hp, const u_char *p, size_t len,
    u_char *tmp, size_t tmpsize, nd_hpack_emit_pt emit, void *data);

/* Huffman-decode src into dst: the length, or ND_HPACK_ERROR (bad code,
 * EOS, bad padding) or ND_HPACK_TOO_LARGE (dst too small) */
ssize_t nd_hpack_huff_decode(const u_char *src, size_t len, u_char *dst,
    size_t dstsize);

/* integer with an N-bit prefix (RFC 7541 5.1): *value, and the bytes
 * used, or ND_HPACK_ERROR (truncated, over 2^32 - 1) */
int nd_hpack_decode_int(const u_char *p, size_t len, int prefix,
    uint32_t *value);

/* encoders: write at p (room for 6 + lengths), return the end */
u_char *nd_hpack_encode_int(u_char *p, uint32_t value, int prefix,
    u_char flags);
/* literal without indexing, name from the static table (index 1..61) */
u_char *nd_hpack_encode_indexed_name(u_char *p, uint32_t index,
    const u_char *value, size_t vlen);
/* literal without indexing, new name */
u_char *nd_hpack_encode_literal(u_char *p, const u_char *name, size_t nlen,
    const u_char *value, size_t vlen);
/* literal with incremental indexing: the name from the static table when
 * index is not 0, else the given name */
u_char *nd_hpack_encode_indexing(u_char *p, uint32_t index,
    const u_char *name, size_t nlen, const u_char *value, size_t vlen);

#endif /* ND_HPACK_H */

/*
 * HPACK (RFC 7541): the decoder our HTTP/2 server runs on every request
 * header block, and the encoder pieces its responses use.
 *
 * The dynamic table is one byte array, oldest entry first.  An entry is
 * stored as [name length:2][value length:2][name][value][entry length:2]:
 * eviction reads the head of the oldest entry, lookups walk back from the
 * newest by the trailing length.  The array is allocated on the first
 * insert and grows (doubling, compacting first) to at most the table's
 * limit, since 6 bytes of overhead stay under the 32 the RFC counts.
 */
#include <nd_hpack.h>

#define ND_HPACK_ENTRY_OVERHEAD  32     /* RFC 7541 4.1 */
#define ND_HPACK_STORE_OVERHEAD  6      /* our two heads and one tail */
#define ND_HPACK_MIN_CAP         128

typedef struct {
    const char  *name;
    uint8_t      nlen;
    const char  *value;
    uint8_t      vlen;
} nd_hpack_static_t;

#define nd_hpack_s(n, v)  { n, sizeof(n) - 1, v, sizeof(v) - 1 }

/* Appendix A; index 1 is the first row */
static const nd_hpack_static_t  nd_hpack_static[ND_HPACK_STATIC] = {
    nd_hpack_s(":authority", ""),
    nd_hpack_s(":method", "GET"),
    nd_hpack_s(":method", "POST"),
    nd_hpack_s(":path", "/"),
    nd_hpack_s(":path", "/index.html"),
    nd_hpack_s(":scheme", "http"),
    nd_hpack_s(":scheme", "https"),
    nd_hpack_s(":status", "200"),
    nd_hpack_s(":status", "204"),
    nd_hpack_s(":status", "206"),
    nd_hpack_s(":status", "304"),
    nd_hpack_s(":status", "400"),
    nd_hpack_s(":status", "404"),
    nd_hpack_s(":status", "500"),
    nd_hpack_s("accept-charset", ""),
    nd_hpack_s("accept-encoding", "gzip, deflate"),
    nd_hpack_s("accept-language", ""),
    nd_hpack_s("accept-ranges", ""),
    nd_hpack_s("accept", ""),
    nd_hpack_s("access-control-allow-origin", ""),
    nd_hpack_s("age", ""),
    nd_hpack_s("allow", ""),
    nd_hpack_s("authorization", ""),
    nd_hpack_s("cache-control", ""),
    nd_hpack_s("content-disposition", ""),
    nd_hpack_s("content-encoding", ""),
    nd_hpack_s("content-language", ""),
    nd_hpack_s("content-length", ""),
    nd_hpack_s("content-location", ""),
    nd_hpack_s("content-range", ""),
    nd_hpack_s("content-type", ""),
    nd_hpack_s("cookie", ""),
    nd_hpack_s("date", ""),
    nd_hpack_s("etag", ""),
    nd_hpack_s("expect", ""),
    nd_hpack_s("expires", ""),
    nd_hpack_s("from", ""),
    nd_hpack_s("host", ""),
    nd_hpack_s("if-match", ""),
    nd_hpack_s("if-modified-since", ""),
    nd_hpack_s("if-none-match", ""),
    nd_hpack_s("if-range", ""),
    nd_hpack_s("if-unmodified-since", ""),
    nd_hpack_s("last-modified", ""),
    nd_hpack_s("link", ""),
    nd_hpack_s("location", ""),
    nd_hpack_s("max-forwards", ""),
    nd_hpack_s("proxy-authenticate", ""),
    nd_hpack_s("proxy-authorization", ""),
    nd_hpack_s("range", ""),
    nd_hpack_s("referer", ""),
    nd_hpack_s("refresh", ""),
    nd_hpack_s("retry-after", ""),
    nd_hpack_s("server", ""),
    nd_hpack_s("set-cookie", ""),
    nd_hpack_s("strict-transport-security", ""),
    nd_hpack_s("transfer-encoding", ""),
    nd_hpack_s("user-agent", ""),
    nd_hpack_s("vary", ""),
    nd_hpack_s("via", ""),
    nd_hpack_s("www-authenticate", ""),
};

/*
 * The Huffman code of Appendix B is canonical: codes of one length are
 * consecutive and ordered by symbol, and the first code of length L + 1
 * is (last code of length L + 1) << 1.  So the code lengths alone define
 * it: how many symbols have each length (index = bits), and the symbols
 * ordered by (length, symbol).  256 is EOS.
 */
static const uint8_t  nd_hpack_huff_count[31] = {
    0, 0, 0, 0, 0, 10, 26, 32, 6, 0, 5, 3, 2, 6, 2, 3,
    0, 0, 0, 3, 8, 13, 26, 29, 12, 4, 15, 19, 29, 0, 4
};

static const uint16_t  nd_hpack_huff_syms[257] = {
    48, 49, 50, 97, 99, 101, 105, 111, 115, 116, 32, 37,
    45, 46, 47, 51, 52, 53, 54, 55, 56, 57, 61, 65,
    95, 98, 100, 102, 103, 104, 108, 109, 110, 112, 114, 117,
    58, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76,
    77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 89,
    106, 107, 113, 118, 119, 120, 121, 122, 38, 42, 44, 59,
    88, 90, 33, 34, 40, 41, 63, 39, 43, 124, 35, 62,
    0, 36, 64, 91, 93, 126, 94, 125, 60, 96, 123, 92,
    195, 208, 128, 130, 131, 162, 184, 194, 224, 226, 153, 161,
    167, 172, 176, 177, 179, 209, 216, 217, 227, 229, 230, 129,
    132, 133, 134, 136, 146, 154, 156, 160, 163, 164, 169, 170,
    173, 178, 181, 185, 186, 187, 189, 190, 196, 198, 228, 232,
    233, 1, 135, 137, 138, 139, 140, 141, 143, 147, 149, 150,
    151, 152, 155, 157, 158, 165, 166, 168, 174, 175, 180, 182,
    183, 188, 191, 197, 231, 239, 9, 142, 144, 145, 148, 159,
    171, 206, 215, 225, 236, 237, 199, 207, 234, 235, 192, 193,
    200, 201, 202, 205, 210, 213, 218, 219, 238, 240, 242, 243,
    255, 203, 204, 211, 212, 214, 221, 222, 223, 241, 244, 245,
    246, 247, 248, 250, 251, 252, 253, 254, 2, 3, 4, 5,
    6, 7, 8, 11, 12, 14, 15, 16, 17, 18, 19, 20,
    21, 23, 24, 25, 26, 27, 28, 29, 30, 31, 127, 220,
    249, 10, 13, 22, 256,
};

#define ND_HPACK_HUFF_EOS      256
#define ND_HPACK_HUFF_MAXBITS  30


#define nd_hpack_get16(p)  ((uint32_t) (p)[0] << 8 | (uint32_t) (p)[1])
#define nd_hpack_put16(p, v)                                                  \
    do { (p)[0] = (u_char) ((v) >> 8); (p)[1] = (u_char) (v); } while (0)


void
nd_hpack_init(nd_hpack_t *hp, uint32_t limit)
{
    memset(hp, 0, sizeof(nd_hpack_t));
    hp->max = limit;
    hp->limit = limit;
}


void
nd_hpack_free(nd_hpack_t *hp)
{
    nd_free(hp->data);
    hp->data = NULL;
    hp->start = 0;
    hp->end = 0;
    hp->cap = 0;
    hp->count = 0;
    hp->size = 0;
}


static void
nd_hpack_evict(nd_hpack_t *hp)
{
    u_char    *e;
    uint32_t   nlen, vlen;

    e = hp->data + hp->start;
    nlen = nd_hpack_get16(e);
    vlen = nd_hpack_get16(e + 2);

    hp->start += nlen + vlen + ND_HPACK_STORE_OVERHEAD;
    hp->size -= nlen + vlen + ND_HPACK_ENTRY_OVERHEAD;
    hp->count--;

    if (hp->count == 0) {
        hp->start = 0;
        hp->end = 0;
    }
}


/* evict until size fits max; an empty table of max 0 gives back memory */
static void
nd_hpack_shrink(nd_hpack_t *hp, uint32_t max)
{
    while (hp->count && hp->size > max) {
        nd_hpack_evict(hp);
    }

    if (max == 0) {
        nd_hpack_free(hp);
    }
}


static int
nd_hpack_insert(nd_hpack_t *hp, const u_char *name, size_t nlen,
    const u_char *value, size_t vlen)
{
    u_char    *e;
    size_t     esize, need, used, cap;

    esize = nlen + vlen + ND_HPACK_ENTRY_OVERHEAD;

    if (esize > hp->max) {
        /* RFC 7541 4.4: the table is emptied, the entry not added */
        nd_hpack_shrink(hp, 0);
        return ND_HPACK_OK;
    }

    nd_hpack_shrink(hp, hp->max - (uint32_t) esize);

    need = nlen + vlen + ND_HPACK_STORE_OVERHEAD;

    if (hp->cap - hp->end < need) {
        used = hp->end - hp->start;
        if (hp->start) {
            memmove(hp->data, hp->data + hp->start, used);
            hp->start = 0;
            hp->end = (uint32_t) used;
        }

        if (hp->cap - hp->end < need) {
            cap = hp->cap ? hp->cap * 2 : ND_HPACK_MIN_CAP;
            while (cap < used + need) {
                cap *= 2;
            }
            /* used + need < size + esize <= max <= limit */
            if (cap > hp->limit) {
                cap = hp->limit;
            }

            e = nd_realloc(hp->data, cap);
            if (e == NULL) {
                return ND_HPACK_ERROR;
            }
            hp->data = e;
            hp->cap = (uint32_t) cap;
        }
    }

    e = hp->data + hp->end;
    nd_hpack_put16(e, nlen);
    nd_hpack_put16(e + 2, vlen);
    memcpy(e + 4, name, nlen);
    memcpy(e + 4 + nlen, value, vlen);
    nd_hpack_put16(e + 4 + nlen + vlen, need);

    hp->end += (uint32_t) need;
    hp->count++;
    hp->size += (uint32_t) esize;

    return ND_HPACK_OK;
}


static int
nd_hpack_lookup(nd_hpack_t *hp, uint32_t index, const u_char **name,
    size_t *nlen, const u_char **value, size_t *vlen)
{
    u_char    *e;
    uint32_t   pos, i;

    if (index == 0) {
        return ND_HPACK_ERROR;
    }

    if (index <= ND_HPACK_STATIC) {
        *name = (const u_char *) nd_hpack_static[index - 1].name;
        *nlen = nd_hpack_static[index - 1].nlen;
        *value = (const u_char *) nd_hpack_static[index - 1].value;
        *vlen = nd_hpack_static[index - 1].vlen;
        return ND_HPACK_OK;
    }

    index -= ND_HPACK_STATIC + 1;       /* 0: the newest entry */
    if (index >= hp->count) {
        return ND_HPACK_ERROR;
    }

    pos = hp->end;
    for (i = 0; i <= index; i++) {
        pos -= nd_hpack_get16(hp->data + pos - 2);
    }

    e = hp->data + pos;
    *nlen = nd_hpack_get16(e);
    *vlen = nd_hpack_get16(e + 2);
    *name = e + 4;
    *value = e + 4 + *nlen;

    return ND_HPACK_OK;
}


int
nd_hpack_decode_int(const u_char *p, size_t len, int prefix, uint32_t *value)
{
    size_t     i;
    uint32_t   mask;
    uint64_t   v;
    unsigned   shift;

    if (len == 0) {
        return ND_HPACK_ERROR;
    }

    mask = (1u << prefix) - 1;
    v = p[0] & mask;

    if (v < mask) {
        *value = (uint32_t) v;
        return 1;
    }

    shift = 0;

    for (i = 1; i < len; i++) {
        if (shift > 28) {
            return ND_HPACK_ERROR;          /* more than 2^32 */
        }

        v += (uint64_t) (p[i] & 0x7f) << shift;
        if (v > UINT32_MAX) {
            return ND_HPACK_ERROR;
        }

        if (!(p[i] & 0x80)) {
            *value = (uint32_t) v;
            return (int) i + 1;
        }

        shift += 7;
    }

    return ND_HPACK_ERROR;                  /* truncated */
}


ssize_t
nd_hpack_huff_decode(const u_char *src, size_t len, u_char *dst,
    size_t dstsize)
{
    int        bit;
    size_t     i, n;
    unsigned   bits, ones, count, first, index, code, sym;

    n = 0;
    code = 0;
    first = 0;
    index = 0;
    bits = 0;
    ones = 1;

    for (i = 0; i < len; i++) {
        for (bit = 7; bit >= 0; bit--) {
            code = code << 1 | ((src[i] >> bit) & 1);
            ones &= (src[i] >> bit) & 1;
            bits++;

            count = nd_hpack_huff_count[bits];

            if (code - first < count) {
                sym = nd_hpack_huff_syms[index + code - first];
                if (sym == ND_HPACK_HUFF_EOS) {
                    return ND_HPACK_ERROR;  /* RFC 7541 5.2 */
                }
                if (n == dstsize) {
                    return ND_HPACK_TOO_LARGE;
                }
                dst[n++] = (u_char) sym;

                code = 0;
                first = 0;
                index = 0;
                bits = 0;
                ones = 1;
                continue;
            }

            if (bits == ND_HPACK_HUFF_MAXBITS) {
                return ND_HPACK_ERROR;      /* cannot happen: complete */
            }

            index += count;
            first = (first + count) << 1;
        }
    }

    /* padding: at most 7 bits, the most significant bits of EOS */
    if (bits > 7 || !ones) {
        return ND_HPACK_ERROR;
    }

    return (ssize_t) n;
}


/* a string literal at *pp into dst; *pp moves past it */
static int
nd_hpack_decode_string(const u_char **pp, const u_char *end, u_char *dst,
    size_t dstsize, size_t *len)
{
    int            n;
    ssize_t        h;
    uint32_t       slen;
    const u_char  *p;

    p = *pp;

    if (p == end) {
        return ND_HPACK_ERROR;
    }

    n = nd_hpack_decode_int(p, (size_t) (end - p), 7, &slen);
    if (n < 0) {
        return ND_HPACK_ERROR;
    }

    if (slen > (size_t) (end - p) - (size_t) n) {
        return ND_HPACK_ERROR;              /* truncated */
    }

    if (p[0] & 0x80) {
        h = nd_hpack_huff_decode(p + n, slen, dst, dstsize);
        if (h < 0) {
            return (int) h;
        }
        *len = (size_t) h;

    } else {
        if (slen > dstsize) {
            return ND_HPACK_TOO_LARGE;
        }
        memcpy(dst, p + n, slen);
        *len = slen;
    }

    *pp = p + n + slen;

    return ND_HPACK_OK;
}


int
nd_hpack_decode(nd_hpack_t *hp, const u_char *p, size_t len, u_char *tmp,
    size_t tmpsize, nd_hpack_emit_pt emit, void *data)
{
    int            n, rc, index, fields;
    size_t         nlen, vlen;
    uint32_t       v;
    const u_char  *end, *name, *value;

    end = p + len;
    fields = 0;

    while (p < end) {

        if (p[0] & 0x80) {
            /* indexed header field (6.1) */
            n = nd_hpack_decode_int(p, (size_t) (end - p), 7, &v);
            if (n < 0
                || nd_hpack_lookup(hp, v, &name, &nlen, &value, &vlen)
                   != ND_HPACK_OK)
            {
                return ND_HPACK_ERROR;
            }
            p += n;
            fields++;
            emit(data, name, nlen, value, vlen);
            continue;
        }

        if ((p[0] & 0xe0) == 0x20) {
            /* dynamic table size update (6.3): only before any field */
            n = nd_hpack_decode_int(p, (size_t) (end - p), 5, &v);
            if (n < 0 || fields || v > hp->limit) {
                return ND_HPACK_ERROR;
            }
            p += n;
            hp->max = v;
            nd_hpack_shrink(hp, v);
            continue;
        }

        /* literals: with incremental indexing (6.2.1, 01xxxxxx), without
         * indexing (0000xxxx) or never indexed (0001xxxx) */
        index = (p[0] & 0x40) != 0;

        n = nd_hpack_decode_int(p, (size_t) (end - p), index ? 6 : 4, &v);
        if (n < 0) {
            return ND_HPACK_ERROR;
        }
        p += n;

        if (v) {
            if (nd_hpack_lookup(hp, v, &name, &nlen, &value, &vlen)
                != ND_HPACK_OK)
            {
                return ND_HPACK_ERROR;
            }
            if (nlen > tmpsize) {
                return ND_HPACK_TOO_LARGE;
            }
            /* copied: inserting may move or evict the table's copy */
            memcpy(tmp, name, nlen);

        } else {
            rc = nd_hpack_decode_string(&p, end, tmp, tmpsize, &nlen);
            if (rc != ND_HPACK_OK) {
                return rc;
            }
        }

        rc = nd_hpack_decode_string(&p, end, tmp + nlen, tmpsize - nlen,
                                    &vlen);
        if (rc != ND_HPACK_OK) {
            return rc;
        }

        if (index
            && nd_hpack_insert(hp, tmp, nlen, tmp + nlen, vlen)
               != ND_HPACK_OK)
        {
            return ND_HPACK_ERROR;
        }

        fields++;
        emit(data, tmp, nlen, tmp + nlen, vlen);
    }

    return ND_HPACK_OK;
}


u_char *
nd_hpack_encode_int(u_char *p, uint32_t value, int prefix, u_char flags)
{
    uint32_t  mask;

    mask = (1u << prefix) - 1;

    if (value < mask) {
        *p++ = (u_char) (flags | value);
        return p;
    }

    *p++ = (u_char) (flags | mask);
    value -= mask;

    while (value >= 0x80) {
        *p++ = (u_char) (0x80 | (value & 0x7f));
        value >>= 7;
    }

    *p++ = (u_char) value;

    return p;
}


u_char *
nd_hpack_encode_indexed_name(u_char *p, uint32_t index, const u_char *value,
    size_t vlen)
{
    p = nd_hpack_encode_int(p, index, 4, 0x00);
    p = nd_hpack_encode_int(p, (uint32_t) vlen, 7, 0x00);
    memcpy(p, value, vlen);

    return p + vlen;
}


/* a string literal: its length (no Huffman), then its bytes */
static u_char *
nd_hpack_encode_string(u_char *p, const u_char *s, size_t len)
{
    p = nd_hpack_encode_int(p, (uint32_t) len, 7, 0x00);
    memcpy(p, s, len);

    return p + len;
}


u_char *
nd_hpack_encode_literal(u_char *p, const u_char *name, size_t nlen,
    const u_char *value, size_t vlen)
{
    *p++ = 0x00;
    p = nd_hpack_encode_string(p, name, nlen);

    return nd_hpack_encode_string(p, value, vlen);
}


u_char *
nd_hpack_encode_indexing(u_char *p, uint32_t index, const u_char *name,
    size_t nlen, const u_char *value, size_t vlen)
{
    p = nd_hpack_encode_int(p, index, 6, 0x40);

    if (index == 0) {
        p = nd_hpack_encode_string(p, name, nlen);
    }

    return nd_hpack_encode_string(p, value, vlen);
}

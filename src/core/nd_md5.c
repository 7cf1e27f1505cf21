/*
 * MD5 (RFC 1321), our own: Nacos names config contents by the lowercase
 * hex MD5 of their UTF-8 bytes.  A library (libcrypto) only for this
 * would cost every node 1.4 MB of mapped pages and its start-up.
 */
#include <nd_core.h>


/* T[i] = floor(2^32 * |sin(i + 1)|) */
static const uint32_t  nd_md5_t[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee,
    0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
    0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa,
    0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
    0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
    0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05,
    0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039,
    0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
    0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

#define nd_md5_rotl(x, n)  (((x) << (n)) | ((x) >> (32 - (n))))

#define nd_md5_f(b, c, d)  ((d) ^ ((b) & ((c) ^ (d))))
#define nd_md5_g(b, c, d)  ((c) ^ ((d) & ((b) ^ (c))))
#define nd_md5_h(b, c, d)  ((b) ^ (c) ^ (d))
#define nd_md5_i(b, c, d)  ((c) ^ ((b) | ~(d)))

/* one step: a = b + ((a + fn(b, c, d) + x[k] + T[i]) <<< s) */
#define nd_md5_step(fn, a, b, c, d, k, i, s)                                  \
    (a) += fn(b, c, d) + x[k] + nd_md5_t[i];                                  \
    (a) = (b) + nd_md5_rotl(a, s)


/* one 64-byte block into the state; unrolled: the looped form with its
 * per-step switch cost a config publish four times the instructions */
static void
nd_md5_block(uint32_t st[4], const u_char *p)
{
    uint32_t    a, b, c, d, x[16];
    nd_uint_t   i;

    for (i = 0; i < 16; i++) {
        x[i] = (uint32_t) p[i * 4] | (uint32_t) p[i * 4 + 1] << 8
               | (uint32_t) p[i * 4 + 2] << 16 | (uint32_t) p[i * 4 + 3] << 24;
    }

    a = st[0];
    b = st[1];
    c = st[2];
    d = st[3];

    nd_md5_step(nd_md5_f, a, b, c, d, 0, 0, 7);
    nd_md5_step(nd_md5_f, d, a, b, c, 1, 1, 12);
    nd_md5_step(nd_md5_f, c, d, a, b, 2, 2, 17);
    nd_md5_step(nd_md5_f, b, c, d, a, 3, 3, 22);
    nd_md5_step(nd_md5_f, a, b, c, d, 4, 4, 7);
    nd_md5_step(nd_md5_f, d, a, b, c, 5, 5, 12);
    nd_md5_step(nd_md5_f, c, d, a, b, 6, 6, 17);
    nd_md5_step(nd_md5_f, b, c, d, a, 7, 7, 22);
    nd_md5_step(nd_md5_f, a, b, c, d, 8, 8, 7);
    nd_md5_step(nd_md5_f, d, a, b, c, 9, 9, 12);
    nd_md5_step(nd_md5_f, c, d, a, b, 10, 10, 17);
    nd_md5_step(nd_md5_f, b, c, d, a, 11, 11, 22);
    nd_md5_step(nd_md5_f, a, b, c, d, 12, 12, 7);
    nd_md5_step(nd_md5_f, d, a, b, c, 13, 13, 12);
    nd_md5_step(nd_md5_f, c, d, a, b, 14, 14, 17);
    nd_md5_step(nd_md5_f, b, c, d, a, 15, 15, 22);

    nd_md5_step(nd_md5_g, a, b, c, d, 1, 16, 5);
    nd_md5_step(nd_md5_g, d, a, b, c, 6, 17, 9);
    nd_md5_step(nd_md5_g, c, d, a, b, 11, 18, 14);
    nd_md5_step(nd_md5_g, b, c, d, a, 0, 19, 20);
    nd_md5_step(nd_md5_g, a, b, c, d, 5, 20, 5);
    nd_md5_step(nd_md5_g, d, a, b, c, 10, 21, 9);
    nd_md5_step(nd_md5_g, c, d, a, b, 15, 22, 14);
    nd_md5_step(nd_md5_g, b, c, d, a, 4, 23, 20);
    nd_md5_step(nd_md5_g, a, b, c, d, 9, 24, 5);
    nd_md5_step(nd_md5_g, d, a, b, c, 14, 25, 9);
    nd_md5_step(nd_md5_g, c, d, a, b, 3, 26, 14);
    nd_md5_step(nd_md5_g, b, c, d, a, 8, 27, 20);
    nd_md5_step(nd_md5_g, a, b, c, d, 13, 28, 5);
    nd_md5_step(nd_md5_g, d, a, b, c, 2, 29, 9);
    nd_md5_step(nd_md5_g, c, d, a, b, 7, 30, 14);
    nd_md5_step(nd_md5_g, b, c, d, a, 12, 31, 20);

    nd_md5_step(nd_md5_h, a, b, c, d, 5, 32, 4);
    nd_md5_step(nd_md5_h, d, a, b, c, 8, 33, 11);
    nd_md5_step(nd_md5_h, c, d, a, b, 11, 34, 16);
    nd_md5_step(nd_md5_h, b, c, d, a, 14, 35, 23);
    nd_md5_step(nd_md5_h, a, b, c, d, 1, 36, 4);
    nd_md5_step(nd_md5_h, d, a, b, c, 4, 37, 11);
    nd_md5_step(nd_md5_h, c, d, a, b, 7, 38, 16);
    nd_md5_step(nd_md5_h, b, c, d, a, 10, 39, 23);
    nd_md5_step(nd_md5_h, a, b, c, d, 13, 40, 4);
    nd_md5_step(nd_md5_h, d, a, b, c, 0, 41, 11);
    nd_md5_step(nd_md5_h, c, d, a, b, 3, 42, 16);
    nd_md5_step(nd_md5_h, b, c, d, a, 6, 43, 23);
    nd_md5_step(nd_md5_h, a, b, c, d, 9, 44, 4);
    nd_md5_step(nd_md5_h, d, a, b, c, 12, 45, 11);
    nd_md5_step(nd_md5_h, c, d, a, b, 15, 46, 16);
    nd_md5_step(nd_md5_h, b, c, d, a, 2, 47, 23);

    nd_md5_step(nd_md5_i, a, b, c, d, 0, 48, 6);
    nd_md5_step(nd_md5_i, d, a, b, c, 7, 49, 10);
    nd_md5_step(nd_md5_i, c, d, a, b, 14, 50, 15);
    nd_md5_step(nd_md5_i, b, c, d, a, 5, 51, 21);
    nd_md5_step(nd_md5_i, a, b, c, d, 12, 52, 6);
    nd_md5_step(nd_md5_i, d, a, b, c, 3, 53, 10);
    nd_md5_step(nd_md5_i, c, d, a, b, 10, 54, 15);
    nd_md5_step(nd_md5_i, b, c, d, a, 1, 55, 21);
    nd_md5_step(nd_md5_i, a, b, c, d, 8, 56, 6);
    nd_md5_step(nd_md5_i, d, a, b, c, 15, 57, 10);
    nd_md5_step(nd_md5_i, c, d, a, b, 6, 58, 15);
    nd_md5_step(nd_md5_i, b, c, d, a, 13, 59, 21);
    nd_md5_step(nd_md5_i, a, b, c, d, 4, 60, 6);
    nd_md5_step(nd_md5_i, d, a, b, c, 11, 61, 10);
    nd_md5_step(nd_md5_i, c, d, a, b, 2, 62, 15);
    nd_md5_step(nd_md5_i, b, c, d, a, 9, 63, 21);

    st[0] += a;
    st[1] += b;
    st[2] += c;
    st[3] += d;
}


int
nd_md5_hex(const void *data, size_t len, char *out)
{
    static const char  hex[] = "0123456789abcdef";
    u_char             tail[128], byte;
    size_t             n, left, i;
    uint32_t           st[4] = { 0x67452301, 0xefcdab89, 0x98badcfe,
                                 0x10325476 };
    uint64_t           bits;
    const u_char      *p;

    p = data;

    for (n = len; n >= 64; n -= 64, p += 64) {
        nd_md5_block(st, p);
    }

    /* the rest, 0x80, zeros to 56 mod 64, the bit length (LE) */
    left = n;
    memcpy(tail, p, left);
    tail[left++] = 0x80;
    n = left <= 56 ? 64 : 128;
    memset(tail + left, 0, n - left);

    bits = (uint64_t) len << 3;
    for (i = 0; i < 8; i++) {
        tail[n - 8 + i] = (u_char) (bits >> (8 * i));
    }

    nd_md5_block(st, tail);
    if (n == 128) {
        nd_md5_block(st, tail + 64);
    }

    for (i = 0; i < 16; i++) {
        byte = (u_char) (st[i / 4] >> (8 * (i % 4)));
        out[i * 2] = hex[byte >> 4];
        out[i * 2 + 1] = hex[byte & 0xf];
    }
    out[32] = '\0';

    return ND_OK;
}

/*
 * Counted strings (views) and the text helpers around them.
 */
#ifndef ND_STRING_H
#define ND_STRING_H

#include <nd_config.h>

typedef struct nd_pool_s  nd_pool_t;

typedef struct {
    size_t     len;
    u_char    *data;
} nd_str_t;

typedef struct {
    nd_str_t   key;
    nd_str_t   value;
} nd_keyval_t;

#define nd_string(s)      { sizeof(s) - 1, (u_char *) (s) }
#define nd_null_string    { 0, NULL }
#define nd_str_set(str, text)                                                 \
    (str)->len = sizeof(text) - 1; (str)->data = (u_char *) (text)
#define nd_str_null(str)  (str)->len = 0; (str)->data = NULL
#define ND_STR_ARG(s)     (int) (s).len, (const char *) (s).data

#define nd_str_eq(s, lit)                                                     \
    ((s)->len == sizeof(lit) - 1 && memcmp((s)->data, lit, (s)->len) == 0)

static inline int
nd_str_equal(const nd_str_t *a, const nd_str_t *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data,
                                                      a->len) == 0);
}

/* memcpy returning the end of what it wrote; n may be 0 with src NULL */
static inline u_char *
nd_cpymem(u_char *dst, const void *src, size_t n)
{
    if (n) {
        memcpy(dst, src, n);
    }

    return dst + n;
}

int nd_str_casecmp_lit(const nd_str_t *s, const char *lit);
u_char *nd_pstrdup(nd_pool_t *pool, const nd_str_t *src);
char *nd_pstrdupz(nd_pool_t *pool, const nd_str_t *src);
u_char *nd_strdup(const nd_str_t *src, nd_str_t *dst);
void nd_strlow(u_char *dst, const u_char *src, size_t n);

/* numbers: -1 (ND_ERROR) on any bad character or overflow */
nd_int_t nd_atoi(const u_char *p, size_t n);
nd_int_t nd_atoi64(const u_char *p, size_t n, int64_t *out);
nd_int_t nd_atod(const u_char *p, size_t n, double *out);

/* conf units: time in ms ("500ms", "10s", "1m30s", "2h", "1d"; no unit =
 * seconds), sizes in bytes ("512", "16k", "10m", "1g") */
nd_int_t nd_parse_time(const nd_str_t *s, nd_msec_t *out);
nd_int_t nd_parse_size(const nd_str_t *s, size_t *out);

/*
 * Percent-decoding.  plus_space turns '+' into ' ' (form/query rules).
 * Decodes in place into dst (which may equal src); returns the new length
 * or -1 on a malformed escape.
 */
ssize_t nd_unescape(u_char *dst, const u_char *src, size_t len,
    int plus_space);
/* URL-encode as Java's URLEncoder (UTF-8; space -> '+'), into dst which
 * must have room for 3 * len bytes; returns bytes written */
size_t nd_escape_form(u_char *dst, const u_char *src, size_t len);

/* lowercase hex of n bytes into dst (2 * n bytes, then a NUL) */
void nd_hex_encode(char *dst, const u_char *src, size_t n);

/*
 * base64url without padding (RFC 4648 section 5, as JWT uses it): encode
 * into dst with room for nd_base64url_len(n) + 1 bytes (NUL-terminated),
 * returns the length; decode returns the length written to dst (room for
 * 3 * len / 4 bytes) or -1 on a character outside the alphabet, a '='
 * or an impossible length.
 */
#define nd_base64url_len(n)  (((n) * 4 + 2) / 3)
size_t nd_base64url_encode(char *dst, const u_char *src, size_t n);
ssize_t nd_base64url_decode(u_char *dst, const u_char *src, size_t len);

/* MD5 of contents (Nacos names a config content by the lowercase hex MD5
 * of its bytes), over libcrypto's EVP: 32 hex chars and a NUL into
 * out[33]; ND_OK, or ND_ERROR (out "") when libcrypto fails */
#define ND_MD5_HEX_LEN  32
nd_int_t nd_md5_hex(const void *data, size_t len, char *out);

#endif /* ND_STRING_H */

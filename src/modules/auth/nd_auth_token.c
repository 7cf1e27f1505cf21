/*
 * JWT HS256 and PBKDF2 password hashes.  The HMAC, the key derivation,
 * the random salt and the comparison are libcrypto's; ours is only the
 * framing (base64url and the two small JSON objects).
 */
#include <nd_auth_token.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

/* base64url of {"alg":"HS256","typ":"JWT"} */
#define ND_AUTH_JWT_HEADER  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"

#define ND_AUTH_PBKDF2      "pbkdf2-sha256"
#define ND_AUTH_SALT_LEN    16
#define ND_AUTH_HASH_LEN    32


static nd_int_t
nd_auth_hmac(const u_char *secret, size_t secret_len, const u_char *data,
    size_t len, u_char *md)
{
    unsigned int  n;

    n = 0;
    if (HMAC(EVP_sha256(), secret, (int) secret_len, data, len, md, &n)
        == NULL || n != 32)
    {
        return ND_ERROR;
    }

    return ND_OK;
}


char *
nd_auth_jwt_sign(const u_char *secret, size_t secret_len, const char *sub,
    int64_t exp)
{
    char      *tok, *p;
    u_char     md[32];
    size_t     hlen, plen, n;
    json_t    *payload;
    char      *text;

    payload = json_pack("{s:s, s:I}", "sub", sub, "exp", (json_int_t) exp);
    text = payload ? json_dumps(payload, JSON_COMPACT | JSON_PRESERVE_ORDER)
                   : NULL;
    json_decref(payload);
    if (text == NULL) {
        return NULL;
    }

    hlen = sizeof(ND_AUTH_JWT_HEADER) - 1;
    plen = strlen(text);
    n = hlen + 1 + nd_base64url_len(plen) + 1 + nd_base64url_len(32) + 1;

    tok = malloc(n);
    if (tok == NULL) {
        free(text);
        return NULL;
    }

    p = tok;
    memcpy(p, ND_AUTH_JWT_HEADER, hlen);
    p += hlen;
    *p++ = '.';
    p += nd_base64url_encode(p, (u_char *) text, plen);
    free(text);

    if (nd_auth_hmac(secret, secret_len, (u_char *) tok, p - tok, md)
        != ND_OK)
    {
        free(tok);
        return NULL;
    }

    *p++ = '.';
    nd_base64url_encode(p, md, sizeof(md));

    return tok;
}


/* decode one base64url part as a JSON object; NULL when it is not one */
static json_t *
nd_auth_jwt_part(const u_char *s, size_t len)
{
    u_char   buf[ND_AUTH_TOKEN_MAX];
    ssize_t  n;
    json_t  *j;

    n = nd_base64url_decode(buf, s, len);
    if (n <= 0) {
        return NULL;
    }

    j = json_loadb((const char *) buf, (size_t) n, JSON_REJECT_DUPLICATES,
                   NULL);
    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }

    return j;
}


int
nd_auth_jwt_verify(const u_char *secret, size_t secret_len,
    const u_char *token, size_t len, int64_t now,
    char sub[ND_AUTH_USER_MAX + 1])
{
    int            rc;
    u_char         md[32], sig[48];
    size_t         i, dot1, dot2, ndots, n;
    ssize_t        slen;
    json_t        *h, *p, *v;
    const char    *s;

    if (len == 0 || len > ND_AUTH_TOKEN_MAX) {
        return ND_AUTH_TOKEN_INVALID;
    }

    dot1 = dot2 = 0;
    ndots = 0;
    for (i = 0; i < len; i++) {
        if (token[i] == '.') {
            if (ndots == 0) {
                dot1 = i;
            } else {
                dot2 = i;
            }
            ndots++;
        }
    }

    if (ndots != 2 || dot1 == 0 || dot2 == dot1 + 1 || dot2 + 1 == len
        || len - dot2 - 1 > 64)
    {
        return ND_AUTH_TOKEN_INVALID;
    }

    /* the signature first: nothing of an unsigned token is parsed */
    slen = nd_base64url_decode(sig, token + dot2 + 1, len - dot2 - 1);
    if (slen != 32
        || nd_auth_hmac(secret, secret_len, token, dot2, md) != ND_OK
        || CRYPTO_memcmp(md, sig, 32) != 0)
    {
        return ND_AUTH_TOKEN_INVALID;
    }

    h = nd_auth_jwt_part(token, dot1);
    v = h ? json_object_get(h, "alg") : NULL;
    if (!json_is_string(v) || strcmp(json_string_value(v), "HS256") != 0) {
        json_decref(h);
        return ND_AUTH_TOKEN_INVALID;
    }
    json_decref(h);

    p = nd_auth_jwt_part(token + dot1 + 1, dot2 - dot1 - 1);
    if (p == NULL) {
        return ND_AUTH_TOKEN_INVALID;
    }

    rc = ND_AUTH_TOKEN_INVALID;
    v = json_object_get(p, "sub");
    s = json_is_string(v) ? json_string_value(v) : NULL;
    n = s ? json_string_length(v) : 0;
    v = json_object_get(p, "exp");

    if (s && n && n <= ND_AUTH_USER_MAX && strlen(s) == n
        && json_is_integer(v))
    {
        if (json_integer_value(v) <= now) {
            rc = ND_AUTH_TOKEN_EXPIRED;

        } else {
            memcpy(sub, s, n + 1);
            rc = ND_AUTH_TOKEN_OK;
        }
    }

    json_decref(p);

    return rc;
}


char *
nd_auth_password_hash(const u_char *pw, size_t len, nd_uint_t iterations)
{
    char    *out;
    u_char   salt[ND_AUTH_SALT_LEN], hash[ND_AUTH_HASH_LEN];
    char     s64[nd_base64url_len(ND_AUTH_SALT_LEN) + 1];
    char     h64[nd_base64url_len(ND_AUTH_HASH_LEN) + 1];
    size_t   n;

    if (RAND_bytes(salt, sizeof(salt)) != 1
        || PKCS5_PBKDF2_HMAC((const char *) pw, (int) len, salt,
                             sizeof(salt), (int) iterations, EVP_sha256(),
                             sizeof(hash), hash) != 1)
    {
        return NULL;
    }

    nd_base64url_encode(s64, salt, sizeof(salt));
    nd_base64url_encode(h64, hash, sizeof(hash));

    n = sizeof(ND_AUTH_PBKDF2) + 24 + sizeof(s64) + sizeof(h64);
    out = malloc(n);
    if (out == NULL) {
        return NULL;
    }

    snprintf(out, n, ND_AUTH_PBKDF2 "$%lu$%s$%s", (unsigned long) iterations,
             s64, h64);

    return out;
}


int
nd_auth_password_check(const u_char *pw, size_t len, const char *stored)
{
    char           *end;
    u_char          salt[64], hash[64], want[64];
    const char     *p, *d;
    ssize_t         slen, hlen;
    unsigned long   iter;

    p = stored;
    if (strncmp(p, ND_AUTH_PBKDF2 "$", sizeof(ND_AUTH_PBKDF2)) != 0) {
        return 0;
    }
    p += sizeof(ND_AUTH_PBKDF2);

    iter = strtoul(p, &end, 10);
    if (end == p || *end != '$' || iter == 0 || iter > 10000000) {
        return 0;
    }
    p = end + 1;

    d = strchr(p, '$');
    if (d == NULL || (size_t) (d - p) > 80 || strlen(d + 1) > 80) {
        return 0;
    }

    slen = nd_base64url_decode(salt, (const u_char *) p, d - p);
    hlen = nd_base64url_decode(want, (const u_char *) d + 1, strlen(d + 1));
    if (slen <= 0 || hlen != ND_AUTH_HASH_LEN) {
        return 0;
    }

    if (PKCS5_PBKDF2_HMAC((const char *) pw, (int) len, salt, (int) slen,
                          (int) iter, EVP_sha256(), ND_AUTH_HASH_LEN, hash)
        != 1)
    {
        return 0;
    }

    return CRYPTO_memcmp(hash, want, ND_AUTH_HASH_LEN) == 0;
}

/*
 * Tokens and passwords, over libcrypto: JWT HS256 ({"sub", "exp"}) and
 * PBKDF2-HMAC-SHA256 password hashes.  No loop or module state: the
 * fuzz target and the unit tests call these directly.
 */
#ifndef ND_AUTH_TOKEN_H
#define ND_AUTH_TOKEN_H

#include <nd_core.h>

#define ND_AUTH_SECRET_MIN    32       /* bytes of a token secret */
#define ND_AUTH_TOKEN_MAX     4096     /* a longer token is invalid */
#define ND_AUTH_USER_MAX      50       /* users.username varchar(50) */

/* results of nd_auth_jwt_verify */
#define ND_AUTH_TOKEN_OK       0
#define ND_AUTH_TOKEN_INVALID  1       /* malformed, alg, signature */
#define ND_AUTH_TOKEN_EXPIRED  2

/* a token for sub, valid until exp (epoch seconds): heap, free() it */
char *nd_auth_jwt_sign(const u_char *secret, size_t secret_len,
    const char *sub, int64_t exp);
/* checks the form, alg HS256 (nothing else, never "none"), the HMAC in
 * constant time, then exp against now; on ND_AUTH_TOKEN_OK copies sub
 * (NUL-terminated, at most ND_AUTH_USER_MAX bytes) into sub */
int nd_auth_jwt_verify(const u_char *secret, size_t secret_len,
    const u_char *token, size_t len, int64_t now,
    char sub[ND_AUTH_USER_MAX + 1]);

/* "pbkdf2-sha256$<iterations>$<salt b64url>$<hash b64url>": heap, free()
 * it; NULL on failure */
char *nd_auth_password_hash(const u_char *pw, size_t len,
    nd_uint_t iterations);
/* 1: pw matches the stored hash (constant-time compare), 0: not or the
 * stored text is not a hash of ours */
int nd_auth_password_check(const u_char *pw, size_t len, const char *stored);

#endif /* ND_AUTH_TOKEN_H */

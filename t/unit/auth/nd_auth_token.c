/*
 * Unit tests: base64url, the JWT HS256 sign/verify pair and its refusals,
 * PBKDF2 password hashes, and Nacos's resource match ('*' any run, '.'
 * any one character).
 */
#include <nd_core.h>
#include <tap.h>

#if (ND_WITH_AUTH)

#include <nd_auth.h>

static const u_char  key[] = "0123456789abcdef0123456789abcdef";
#define KEY_LEN  (sizeof(key) - 1)


static int
verify(const char *tok, int64_t now, char *sub)
{
    return nd_auth_jwt_verify(key, KEY_LEN, (const u_char *) tok,
                              strlen(tok), now, sub);
}


int
main(void)
{
    char     enc[64], sub[ND_AUTH_USER_MAX + 1], *tok, *bad, *hash;
    u_char   dec[64];
    ssize_t  n;

    /* RFC 4648 vectors, without padding, url alphabet */
    nd_base64url_encode(enc, (u_char *) "foobar", 6);
    is_str(enc, "Zm9vYmFy", "base64url foobar");
    nd_base64url_encode(enc, (u_char *) "fo", 2);
    is_str(enc, "Zm8", "base64url fo");
    nd_base64url_encode(enc, (u_char *) "\xfb\xff", 2);
    is_str(enc, "-_8", "base64url uses - and _");
    n = nd_base64url_decode(dec, (u_char *) "Zm9vYg", 6);
    ok(n == 4 && memcmp(dec, "foob", 4) == 0, "decode Zm9vYg");
    is_int(nd_base64url_decode(dec, (u_char *) "Zm9vY", 5), -1,
           "decode: impossible length");
    is_int(nd_base64url_decode(dec, (u_char *) "Zm9v+g", 6), -1,
           "decode: '+' is not base64url");
    is_int(nd_base64url_decode(dec, (u_char *) "Zg==", 4), -1,
           "decode: no padding");

    tok = nd_auth_jwt_sign(key, KEY_LEN, "nacos", 1000);
    ok(tok != NULL, "signed");
    is_int(verify(tok, 999, sub), ND_AUTH_TOKEN_OK, "valid before exp");
    is_str(sub, "nacos", "sub");
    is_int(verify(tok, 1000, sub), ND_AUTH_TOKEN_EXPIRED, "expired at exp");
    is_int(nd_auth_jwt_verify((u_char *) "another secret of 32 bytes......",
                              32, (u_char *) tok, strlen(tok), 999, sub),
           ND_AUTH_TOKEN_INVALID, "another secret: invalid");
    is_int(nd_auth_jwt_verify(key, KEY_LEN, (u_char *) tok, strlen(tok) - 3,
                              999, sub),
           ND_AUTH_TOKEN_INVALID, "truncated: invalid");

    /* {"alg":"none"} with the payload and no signature */
    bad = malloc(strlen(tok) + 64);
    sprintf(bad, "eyJhbGciOiJub25lIn0.%s", strchr(tok, '.') + 1);
    *strrchr(bad, '.') = '\0';
    strcat(bad, ".");
    is_int(verify(bad, 999, sub), ND_AUTH_TOKEN_INVALID, "alg none: invalid");
    is_int(verify("a.b", 999, sub), ND_AUTH_TOKEN_INVALID, "two parts");
    is_int(verify("..", 999, sub), ND_AUTH_TOKEN_INVALID, "empty parts");
    free(bad);
    free(tok);

    hash = nd_auth_password_hash((u_char *) "s3cret!", 7, 1000);
    ok(hash && strncmp(hash, "pbkdf2-sha256$1000$", 19) == 0, "hash form");
    ok(nd_auth_password_check((u_char *) "s3cret!", 7, hash), "password ok");
    ok(!nd_auth_password_check((u_char *) "s3cret?", 7, hash),
       "wrong password");
    ok(!nd_auth_password_check((u_char *) "s3cret!", 7, "s3cret!"),
       "a plain text is not a hash");
    free(hash);

    ok(nd_auth_match(":*:*", ":DEFAULT_GROUP:config/a"), ":*:* matches");
    ok(nd_auth_match("ns1:*:*", "ns1:G:naming/s"), "namespace pattern");
    ok(!nd_auth_match("ns1:*:*", "ns2:G:naming/s"), "other namespace");
    ok(nd_auth_match(":G:config/*", ":G:config/x.y"), "name wildcard");
    ok(!nd_auth_match(":G:config/*", ":H:config/x"), "other group");
    ok(nd_auth_match(":G.:*", ":GX:config/x"), "'.' is any character");
    ok(!nd_auth_match(":G", ":G:config/x"), "whole string");

    return done_testing();
}

#else

int
main(void)
{
    ok(1, "built without auth");
    return done_testing();
}

#endif

/*
 * Fuzz target: nd_auth_jwt_verify (src/modules/auth/nd_auth_token.c), the
 * token decoder every protected request runs on a client's token: the
 * dots, base64url, the HMAC, then the header and payload JSON; and
 * nd_auth_password_check on a stored hash text.  The input is the token
 * (verified with a fixed secret, at a fixed time); a token the fuzzer
 * makes that passes must really be one signed with that secret: signing
 * its subject again and verifying that must pass too.
 */
#include <nd_fuzz.h>
#include <nd_auth_token.h>

static const u_char  nd_fuzz_secret[] =
    "0123456789abcdef0123456789abcdef";


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int    rc;
    char   sub[ND_AUTH_USER_MAX + 1], sub2[ND_AUTH_USER_MAX + 1];
    char  *tok, *text;

    rc = nd_auth_jwt_verify(nd_fuzz_secret, sizeof(nd_fuzz_secret) - 1,
                            data, size, 1700000000, sub);

    if (rc != ND_AUTH_TOKEN_OK && rc != ND_AUTH_TOKEN_INVALID
        && rc != ND_AUTH_TOKEN_EXPIRED)
    {
        abort();
    }

    if (rc == ND_AUTH_TOKEN_OK) {
        if (strlen(sub) == 0 || strlen(sub) > ND_AUTH_USER_MAX) {
            abort();
        }
        tok = nd_auth_jwt_sign(nd_fuzz_secret, sizeof(nd_fuzz_secret) - 1,
                               sub, 1700000001);
        if (tok == NULL
            || nd_auth_jwt_verify(nd_fuzz_secret,
                                  sizeof(nd_fuzz_secret) - 1,
                                  (u_char *) tok, strlen(tok), 1700000000,
                                  sub2) != ND_AUTH_TOKEN_OK
            || strcmp(sub, sub2) != 0)
        {
            abort();
        }
        free(tok);
    }

    /* the same bytes as a stored password hash: never matches "x" unless
     * it is a well-formed hash (and then only by chance) */
    if (size < 300) {
        text = malloc(size + 1);
        if (text) {
            memcpy(text, data, size);
            text[size] = '\0';
            if (strncmp(text, "pbkdf2-sha256$", 14) == 0
                && strtoul(text + 14, NULL, 10) <= 2000)
            {
                (void) nd_auth_password_check((u_char *) "x", 1, text);
            }
            free(text);
        }
    }

    return 0;
}

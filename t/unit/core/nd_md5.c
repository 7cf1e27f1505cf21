/*
 * Unit tests: nd_md5_hex (over libcrypto EVP) against the RFC 1321 suite and padding boundaries
 * (55..65, 119, 120 bytes: one or two final blocks), whose digests were
 * taken from another implementation (Python hashlib).
 */
#include <nd_core.h>
#include <tap.h>


static int
md5_is(const void *data, size_t len, const char *want)
{
    char  out[ND_MD5_HEX_LEN + 1];

    memset(out, 'x', sizeof(out));
    return nd_md5_hex(data, len, out) == ND_OK && strcmp(out, want) == 0;
}


int
main(void)
{
    size_t         i, k;
    u_char         buf[1000];
    static const struct {
        const char  *in;
        const char  *md5;
    } rfc[] = {
        { "", "d41d8cd98f00b204e9800998ecf8427e" },
        { "a", "0cc175b9c0f1b6a831c399e269772661" },
        { "abc", "900150983cd24fb0d6963f7d28e17f72" },
        { "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
        { "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b" },
        { "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
          "d174ab98d277d9f5a5611c2c9f419d9f" },
        { "1234567890123456789012345678901234567890"
          "1234567890123456789012345678901234567890",
          "57edf4a22be3c955ac49da2e2107b67a" },
    };
    static const struct {
        size_t       len;
        const char  *md5;
    } edge[] = {
        { 55, "52c0e574e1198de5fe3f8f11440dcb1b" },
        { 56, "46c9907fc908ee68b1e7b8e71286a518" },
        { 57, "1c805dd236c35cab25fcb1bc73802c51" },
        { 63, "a62f6d59e837867693f042f5b8f5a236" },
        { 64, "7160b8fb5e9e4023d549c3971fbaeead" },
        { 65, "70bd662e7aefbda85a0f7244167b7897" },
        { 119, "e84905d4214f4d1ca56c2cdcc152b143" },
        { 120, "e3eb5a6c8669ea01a8c185b8abc8a5dc" },
        { 1000, "10046f077f2082ac19676b8079f1cb1a" },
    };

    for (i = 0; i < nd_nelts(rfc); i++) {
        ok(md5_is(rfc[i].in, strlen(rfc[i].in), rfc[i].md5),
           "RFC 1321 MD5(\"%.20s\")", rfc[i].in);
    }

    /* bytes (7i + 3) mod 256: every value, high bits included */
    for (i = 0; i < sizeof(buf); i++) {
        buf[i] = (u_char) (i * 7 + 3);
    }

    for (k = 0; k < nd_nelts(edge); k++) {
        ok(md5_is(buf, edge[k].len, edge[k].md5), "%zu bytes",
           edge[k].len);
    }

    ok(!md5_is("abd", 3, "900150983cd24fb0d6963f7d28e17f72"),
       "a different input has a different digest");

    return done_testing();
}

/*
 * MD5 through OpenSSL EVP.
 */
#include <nd_core.h>
#include <openssl/evp.h>


int
nd_md5_hex(const void *data, size_t len, char *out)
{
    static const char  hex[] = "0123456789abcdef";
    unsigned int       n, i;
    unsigned char      md[EVP_MAX_MD_SIZE];

    if (EVP_Digest(data, len, md, &n, EVP_md5(), NULL) != 1 || n != 16) {
        out[0] = '\0';
        return ND_ERROR;
    }

    for (i = 0; i < n; i++) {
        out[i * 2] = hex[md[i] >> 4];
        out[i * 2 + 1] = hex[md[i] & 0xf];
    }
    out[32] = '\0';

    return ND_OK;
}

/*
 * MD5 through OpenSSL EVP (Nacos config md5 = lowercase hex of UTF-8 bytes).
 */
#ifndef ND_MD5_H
#define ND_MD5_H

#include <nd_config.h>

#define ND_MD5_HEX_LEN  32

/* writes 32 hex chars and a NUL into out[33]; ND_OK or ND_ERROR */
int nd_md5_hex(const void *data, size_t len, char *out);

#endif /* ND_MD5_H */

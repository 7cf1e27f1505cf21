/*
 * MD5 (RFC 1321; Nacos config md5 = lowercase hex of the UTF-8 bytes).
 */
#ifndef ND_MD5_H
#define ND_MD5_H

#include <nd_config.h>

#define ND_MD5_HEX_LEN  32

/* writes 32 hex chars and a NUL into out[33]; always ND_OK */
int nd_md5_hex(const void *data, size_t len, char *out);

#endif /* ND_MD5_H */

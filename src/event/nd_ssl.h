/*
 * TLS on connections (OpenSSL's libssl).  A listener with a server
 * context makes every accepted connection TLS; an outbound connection is
 * made TLS after its TCP connect.  nd_connection_recv() and the flush then
 * go through SSL_read()/SSL_write(), non-blocking: the handshake runs
 * inside them, WANT_READ/WANT_WRITE wait for the socket event the library
 * asked for, so nothing above the connection layer knows about TLS.
 */
#ifndef ND_SSL_H
#define ND_SSL_H

#include <nd_config.h>

typedef struct ssl_ctx_st  nd_ssl_ctx_t;
typedef struct ssl_st      nd_ssl_t;

/* the TLS directives of one block (http, grpc, cluster) */
typedef struct {
    char           *certificate;       /* full paths; NULL: no TLS */
    char           *certificate_key;
    char           *trusted;           /* CA file for the peers we dial */
    nd_ssl_ctx_t   *ctx;               /* server side */
    nd_ssl_ctx_t   *client;            /* dialling peers of this block */
} nd_ssl_conf_t;

/* the three directives of a block with a nd_ssl_conf_t at offset off */
#define nd_ssl_commands(type, off)                                            \
    { nd_string("ssl_certificate"), ND_BLOCK_CONF | ND_CONF_TAKE1,          \
      nd_ssl_set_path_slot,                                                  \
      offsetof(type, off) + offsetof(nd_ssl_conf_t, certificate), NULL },   \
    { nd_string("ssl_certificate_key"), ND_BLOCK_CONF | ND_CONF_TAKE1,      \
      nd_ssl_set_path_slot,                                                  \
      offsetof(type, off) + offsetof(nd_ssl_conf_t, certificate_key),        \
      NULL },                                                                \
    { nd_string("ssl_trusted_certificate"), ND_BLOCK_CONF | ND_CONF_TAKE1,  \
      nd_ssl_set_path_slot,                                                  \
      offsetof(type, off) + offsetof(nd_ssl_conf_t, trusted), NULL }

/* directive setter: a file name, stored as its full path (char *)
 * relative to the conf file's directory */
char *nd_ssl_set_path_slot(nd_conf_t *cf, nd_command_t *cmd, void *conf);

/* after the block is parsed: the server context when a certificate is
 * set (alpn: the one protocol offered, "h2" or "http/1.1"); with client,
 * also the context for dialling peers, which verifies them against
 * "trusted", else against our own certificate.  A conf error message or
 * NULL */
char *nd_ssl_conf_init(nd_cycle_t *cycle, nd_ssl_conf_t *sc,
    const char *block, const char *alpn, int client);
void nd_ssl_conf_free(nd_ssl_conf_t *sc);

/* TLS on c: as the server (accepted), or as the client of host, which
 * the peer's certificate must name (an IP address or a DNS name) */
nd_int_t nd_ssl_accept_init(nd_connection_t *c, nd_ssl_ctx_t *ctx);
nd_int_t nd_ssl_connect_init(nd_connection_t *c, nd_ssl_ctx_t *ctx,
    const char *host);

/* nd_connection.c's I/O on a TLS connection: bytes, 0 at the peer's
 * close, ND_AGAIN, ND_ERROR (logged) */
ssize_t nd_ssl_recv(nd_connection_t *c, u_char *buf, size_t size);
ssize_t nd_ssl_send(nd_connection_t *c, const u_char *buf, size_t size);
/* decrypted bytes read from the socket and not yet taken */
int nd_ssl_pending(nd_connection_t *c);
void nd_ssl_free(nd_connection_t *c);

#endif /* ND_SSL_H */

/*
 * TLS on connections with OpenSSL (see nd_ssl.h).
 */
#include <nd_core.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>


/* the library's error queue into our log, then empty */
static void
nd_ssl_log_error(nd_log_t *log, int level, const char *what)
{
    char           buf[256];
    unsigned long  e;

    e = ERR_get_error();
    if (e == 0) {
        nd_log_error(level, log, 0, "%s", what);
        return;
    }

    ERR_error_string_n(e, buf, sizeof(buf));
    nd_log_error(level, log, 0, "%s: %s", what, buf);
    ERR_clear_error();
}


char *
nd_ssl_set_path_slot(nd_conf_t *cf, nd_command_t *cmd, void *conf)
{
    char  **field;

    field = (char **) ((u_char *) conf + cmd->offset);
    if (*field) {
        return "is duplicate";
    }

    *field = nd_conf_full_name(cf, &((nd_str_t *) cf->args->elts)[1], 1);

    return *field ? ND_CONF_OK : ND_CONF_ERROR;
}


static int
nd_ssl_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
    const char  *proto = arg;
    size_t       n;

    n = strlen(proto);

    /* in: the client's list of length-prefixed names */
    while (inlen > 0 && in[0] < inlen) {
        if (in[0] == n && memcmp(in + 1, proto, n) == 0) {
            *out = in + 1;
            *outlen = in[0];
            return SSL_TLSEXT_ERR_OK;
        }
        inlen -= in[0] + 1u;
        in += in[0] + 1u;
    }

    /* no common protocol: go on without ALPN (curl without h2, ...) */
    return SSL_TLSEXT_ERR_NOACK;
}


static SSL_CTX *
nd_ssl_ctx_new(const SSL_METHOD *method)
{
    SSL_CTX  *ctx;

    ctx = SSL_CTX_new(method);
    if (ctx == NULL) {
        return NULL;
    }

    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE
                          | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                          | SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION
                             | SSL_OP_IGNORE_UNEXPECTED_EOF);

    return ctx;
}


static void
nd_ssl_conf_cleanup(void *data)
{
    nd_ssl_conf_free(data);
}


char *
nd_ssl_conf_init(nd_cycle_t *cycle, nd_ssl_conf_t *sc, const char *block,
    const char *alpn, int client)
{
    char                *what;
    nd_pool_cleanup_t   *cln;
    static char          err[512];

    if (sc->certificate == NULL && sc->certificate_key == NULL) {
        return sc->trusted ? "\"ssl_trusted_certificate\" needs "
                             "\"ssl_certificate\"" : ND_CONF_OK;
    }

    if (sc->certificate == NULL || sc->certificate_key == NULL) {
        return "\"ssl_certificate\" and \"ssl_certificate_key\" go together";
    }

    if (sc->trusted && !client) {
        return "\"ssl_trusted_certificate\" is for blocks that dial peers "
               "(http, cluster)";
    }

    cln = nd_pool_cleanup_add(cycle->pool, 0);
    if (cln == NULL) {
        return ND_CONF_ERROR;
    }
    cln->handler = nd_ssl_conf_cleanup;
    cln->data = sc;

    what = NULL;

    sc->ctx = nd_ssl_ctx_new(TLS_server_method());
    if (sc->ctx == NULL) {
        what = "SSL_CTX_new() failed";

    } else if (SSL_CTX_use_certificate_chain_file(sc->ctx, sc->certificate)
               != 1)
    {
        what = sc->certificate;

    } else if (SSL_CTX_use_PrivateKey_file(sc->ctx, sc->certificate_key,
                                           SSL_FILETYPE_PEM) != 1
               || SSL_CTX_check_private_key(sc->ctx) != 1)
    {
        what = sc->certificate_key;
    }

    if (what == NULL && client) {
        sc->client = nd_ssl_ctx_new(TLS_client_method());
        if (sc->client == NULL) {
            what = "SSL_CTX_new() failed";

        } else if (SSL_CTX_load_verify_locations(sc->client,
                       sc->trusted ? sc->trusted : sc->certificate, NULL)
                   != 1)
        {
            what = sc->trusted ? sc->trusted : sc->certificate;

        } else {
            SSL_CTX_set_verify(sc->client, SSL_VERIFY_PEER, NULL);
            if (strcmp(alpn, "h2") == 0) {
                (void) SSL_CTX_set_alpn_protos(sc->client,
                                               (const u_char *) "\x02h2", 3);
            }
        }
    }

    if (what) {
        snprintf(err, sizeof(err), "in \"%s\": cannot load %s: %s", block,
                 what, ERR_reason_error_string(ERR_peek_last_error())
                       ? ERR_reason_error_string(ERR_peek_last_error())
                       : "unknown error");
        ERR_clear_error();
        nd_ssl_conf_free(sc);
        return err;
    }

    SSL_CTX_set_alpn_select_cb(sc->ctx, nd_ssl_alpn_select, (void *) alpn);

    return ND_CONF_OK;
}


void
nd_ssl_conf_free(nd_ssl_conf_t *sc)
{
    SSL_CTX_free(sc->ctx);
    SSL_CTX_free(sc->client);
    sc->ctx = NULL;
    sc->client = NULL;
}


static nd_int_t
nd_ssl_new(nd_connection_t *c, nd_ssl_ctx_t *ctx)
{
    SSL  *ssl;

    ssl = SSL_new(ctx);
    if (ssl == NULL || SSL_set_fd(ssl, c->fd) != 1) {
        nd_ssl_log_error(&c->log, ND_LOG_ERR, "SSL_new() failed");
        SSL_free(ssl);
        return ND_ERROR;
    }

    c->ssl = ssl;

    return ND_OK;
}


nd_int_t
nd_ssl_accept_init(nd_connection_t *c, nd_ssl_ctx_t *ctx)
{
    if (nd_ssl_new(c, ctx) != ND_OK) {
        return ND_ERROR;
    }

    SSL_set_accept_state(c->ssl);

    return ND_OK;
}


nd_int_t
nd_ssl_connect_init(nd_connection_t *c, nd_ssl_ctx_t *ctx, const char *host)
{
    X509_VERIFY_PARAM  *param;

    if (nd_ssl_new(c, ctx) != ND_OK) {
        return ND_ERROR;
    }

    param = SSL_get0_param(c->ssl);

    /* the peer's certificate must name the address we dialled */
    if (X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1) {
        ERR_clear_error();
        if (X509_VERIFY_PARAM_set1_host(param, host, 0) != 1) {
            nd_ssl_log_error(&c->log, ND_LOG_ERR, "cannot verify host");
            return ND_ERROR;
        }
        (void) SSL_set_tlsext_host_name(c->ssl, host);
    }

    SSL_set_connect_state(c->ssl);

    return ND_OK;
}


/* what an SSL_read/SSL_write result means; sets the event to wait for */
static ssize_t
nd_ssl_result(nd_connection_t *c, int n, int writing)
{
    int   err;

    err = SSL_get_error(c->ssl, n);

    switch (err) {
    case SSL_ERROR_WANT_READ:
        if (writing) {
            /* the handshake (or a key update) waits for the peer: the
             * next read event flushes again */
            c->ssl_write_on_read = 1;
        }
        return ND_AGAIN;

    case SSL_ERROR_WANT_WRITE:
        if (!writing) {
            c->ssl_read_on_write = 1;
        }
        ev_io_start(nd_cycle->loop, &c->wev);
        return ND_AGAIN;

    case SSL_ERROR_ZERO_RETURN:
        return 0;                   /* close_notify */

    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0) {
            if (errno == EAGAIN || errno == EINTR) {
                return ND_AGAIN;
            }
            if (!writing && (n == 0 || errno == 0 || errno == ECONNRESET)) {
                return 0;           /* closed without close_notify */
            }
            nd_log_error(ND_LOG_INFO, &c->log, errno, "%s failed",
                         writing ? "SSL_write()" : "SSL_read()");
            return ND_ERROR;
        }
        /* fall through */

    default:
        c->ssl_failed = 1;
        nd_ssl_log_error(&c->log, ND_LOG_INFO, SSL_is_init_finished(c->ssl)
                         ? (writing ? "SSL_write() failed"
                                    : "SSL_read() failed")
                         : "TLS handshake failed");
        return ND_ERROR;
    }
}


ssize_t
nd_ssl_recv(nd_connection_t *c, u_char *buf, size_t size)
{
    int  n;

    ERR_clear_error();
    n = SSL_read(c->ssl, buf, size > INT_MAX ? INT_MAX : (int) size);

    if (n > 0) {
        return n;
    }

    return nd_ssl_result(c, n, 0);
}


ssize_t
nd_ssl_send(nd_connection_t *c, const u_char *buf, size_t size)
{
    int  n;

    ERR_clear_error();
    n = SSL_write(c->ssl, buf, size > INT_MAX ? INT_MAX : (int) size);

    if (n > 0) {
        return n;
    }

    n = (int) nd_ssl_result(c, n, 1);

    return n == 0 ? ND_ERROR : n;
}


int
nd_ssl_pending(nd_connection_t *c)
{
    return SSL_pending(c->ssl);
}


void
nd_ssl_free(nd_connection_t *c)
{
    if (c->ssl == NULL) {
        return;
    }

    /* one non-blocking close_notify; the peer may not wait for it */
    if (!c->ssl_failed && !c->error && SSL_is_init_finished(c->ssl)) {
        ERR_clear_error();
        (void) SSL_shutdown(c->ssl);
        ERR_clear_error();
    }

    SSL_free(c->ssl);
    c->ssl = NULL;
}

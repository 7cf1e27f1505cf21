/*
 * A small HTTP/1.1 client for requests between nodes: one request on a
 * new connection (Connection: close), the response read with llhttp, one
 * callback.  Distro forwards 1.x naming writes to their owner with it.
 */
#include <nd_http_internal.h>

#define ND_HTTP_FETCH_MAX  (4 * 1024 * 1024)

struct nd_http_fetch_s {
    nd_connection_t     *c;
    nd_timer_t           timer;
    llhttp_t             parser;
    llhttp_settings_t    settings;
    nd_buf_t             req;
    nd_buf_t             body;
    nd_buf_t             ctype;
    nd_buf_t             field;         /* the header name being read */
    nd_http_fetch_pt     cb;
    void                *data;
    unsigned             in_value:1;
    unsigned             in_ctype:1;
    unsigned             complete:1;
};


static void
nd_http_fetch_free(nd_http_fetch_t *f)
{
    nd_timer_stop(&f->timer);
    nd_buf_free(&f->req);
    nd_buf_free(&f->body);
    nd_buf_free(&f->ctype);
    nd_buf_free(&f->field);
    nd_free(f);
}


/* the one callback, then the connection and f go */
static void
nd_http_fetch_end(nd_http_fetch_t *f, nd_int_t rc)
{
    nd_str_t          body, ctype;
    nd_connection_t  *c;

    c = f->c;
    if (c) {
        c->data = NULL;
        c->close_handler = NULL;
        nd_connection_finalize(c, 0);
        f->c = NULL;
    }

    body.data = nd_buf_start(&f->body);
    body.len = nd_buf_size(&f->body);
    ctype.data = nd_buf_start(&f->ctype);
    ctype.len = nd_buf_size(&f->ctype);

    f->cb(rc, rc == ND_OK ? f->parser.status_code : 0, &ctype, &body,
          f->data);

    nd_http_fetch_free(f);
}


static int
nd_http_fetch_on_field(llhttp_t *p, const char *at, size_t len)
{
    nd_http_fetch_t  *f = p->data;

    if (f->in_value) {              /* a new header begins */
        f->in_value = 0;
        nd_buf_reset(&f->field);
    }

    return nd_buf_append(&f->field, at, len) == ND_OK ? 0 : -1;
}


static int
nd_http_fetch_on_value(llhttp_t *p, const char *at, size_t len)
{
    nd_http_fetch_t  *f = p->data;

    if (!f->in_value) {             /* its value begins */
        f->in_value = 1;
        f->in_ctype = nd_buf_size(&f->field) == sizeof("Content-Type") - 1
                      && strncasecmp((char *) nd_buf_start(&f->field),
                                     "Content-Type",
                                     sizeof("Content-Type") - 1) == 0;
        if (f->in_ctype) {
            nd_buf_reset(&f->ctype);
        }
    }

    if (!f->in_ctype || nd_buf_size(&f->ctype) + len > 256) {
        return 0;
    }

    return nd_buf_append(&f->ctype, at, len) == ND_OK ? 0 : -1;
}


static int
nd_http_fetch_on_body(llhttp_t *p, const char *at, size_t len)
{
    nd_http_fetch_t  *f = p->data;

    if (nd_buf_size(&f->body) + len > ND_HTTP_FETCH_MAX) {
        return -1;
    }

    return nd_buf_append(&f->body, at, len) == ND_OK ? 0 : -1;
}


static int
nd_http_fetch_on_complete(llhttp_t *p)
{
    nd_http_fetch_t  *f = p->data;

    f->complete = 1;

    return HPE_PAUSED;
}


static void
nd_http_fetch_read(nd_connection_t *c)
{
    u_char            buf[16384];
    ssize_t           n;
    llhttp_errno_t    err;
    nd_http_fetch_t  *f;

    f = c->data;

    for ( ;; ) {
        n = nd_connection_recv(c, buf, sizeof(buf));

        if (n == ND_AGAIN) {
            return;
        }

        if (n == ND_ERROR) {
            nd_http_fetch_end(f, ND_ERROR);
            return;
        }

        if (n == 0) {
            err = llhttp_finish(&f->parser);
            nd_http_fetch_end(f, (err == HPE_OK || err == HPE_PAUSED)
                                 && f->complete ? ND_OK : ND_ERROR);
            return;
        }

        err = llhttp_execute(&f->parser, (const char *) buf, (size_t) n);

        if (f->complete) {
            nd_http_fetch_end(f, ND_OK);
            return;
        }

        if (err != HPE_OK) {
            nd_http_fetch_end(f, ND_ERROR);
            return;
        }
    }
}


static void
nd_http_fetch_closed(nd_connection_t *c)
{
    nd_http_fetch_t  *f;

    f = c->data;
    if (f) {
        f->c = NULL;
        nd_http_fetch_end(f, ND_ERROR);
    }
}


static void
nd_http_fetch_connected(nd_connection_t *c, int err, void *data)
{
    nd_http_fetch_t  *f = data;
    nd_ssl_ctx_t     *ssl;

    if (err) {
        f->c = NULL;                /* closing by itself */
        nd_http_fetch_end(f, ND_DECLINED);
        return;
    }

    c->data = f;
    c->read_handler = nd_http_fetch_read;
    c->close_handler = nd_http_fetch_closed;

    /* our HTTP port speaks TLS: so do the peers' */
    ssl = nd_http_conf(nd_cycle)->ssl.client;
    if (ssl && nd_ssl_connect_init(c, ssl, c->addr.host) != ND_OK) {
        nd_connection_finalize(c, 0);
        return;
    }

    if (nd_connection_send(c, nd_buf_start(&f->req), nd_buf_size(&f->req))
        != ND_OK)
    {
        return;                     /* closed: the close handler ends f */
    }

    nd_connection_read_start(c);
}


static void
nd_http_fetch_timeout(nd_timer_t *t)
{
    nd_http_fetch_end(t->data, ND_AGAIN);
}


nd_http_fetch_t *
nd_http_fetch(nd_cycle_t *cycle, const nd_addr_t *addr, const u_char *req,
    size_t len, nd_msec_t timeout, nd_http_fetch_pt cb, void *data)
{
    nd_http_fetch_t  *f;

    f = nd_calloc(sizeof(nd_http_fetch_t));
    if (f == NULL) {
        return NULL;
    }

    if (nd_buf_append(&f->req, req, len) != ND_OK) {
        nd_free(f);
        return NULL;
    }

    llhttp_settings_init(&f->settings);
    f->settings.on_header_field = nd_http_fetch_on_field;
    f->settings.on_header_value = nd_http_fetch_on_value;
    f->settings.on_body = nd_http_fetch_on_body;
    f->settings.on_message_complete = nd_http_fetch_on_complete;
    llhttp_init(&f->parser, HTTP_RESPONSE, &f->settings);
    f->parser.data = f;
    f->cb = cb;
    f->data = data;

    nd_timer_init(&f->timer, "http fetch", nd_http_fetch_timeout, f);

    f->c = nd_connection_connect(cycle, addr, timeout,
                                 nd_http_fetch_connected, f);
    if (f->c == NULL) {
        nd_http_fetch_free(f);
        return NULL;
    }

    nd_timer_start(&f->timer, timeout, ND_TIMER_ONCE);

    return f;
}


void
nd_http_fetch_cancel(nd_http_fetch_t *f)
{
    if (f->c) {
        f->c->data = NULL;
        f->c->close_handler = NULL;
        nd_connection_finalize(f->c, 0);
        f->c = NULL;
    }

    nd_http_fetch_free(f);
}

/*
 * HTTP/1.1 connections and requests on llhttp: keep-alive, pipelining,
 * Content-Length and chunked bodies, 100-continue, limits and timeouts.
 *
 * One request per connection is in flight at a time.  Parsing pauses at
 * the end of each message; pipelined bytes wait in the input buffer until
 * the response before them has been queued, so answers keep their order.
 */
#include <nd_http_internal.h>

typedef enum {
    nd_http_idle_e = 0,         /* between requests: keepalive_timeout */
    nd_http_header_e,           /* reading headers: client_header_timeout */
    nd_http_body_e,             /* reading body: client_body_timeout */
    nd_http_handler_e,          /* the handler has the request */
    nd_http_lingering_e         /* error sent, draining input */
} nd_http_phase_e;

struct nd_http_conn_s {
    nd_connection_t     *c;
    nd_http_conf_t      *hcf;
    llhttp_t             parser;
    nd_buf_t             in;
    nd_buf_t             head;        /* url, then header fields/values */
    nd_buf_t             body;
    nd_buf_t             pending;     /* a large answer not yet in c->out */
    nd_array_t           hdr_offs;    /* size_t pairs into head */
    size_t               url_len;
    nd_http_request_t   *r;           /* being read or handled */
    nd_http_phase_e      phase;
    nd_msec_t            deadline;
    nd_timer_t           timer;
    nd_posted_t          resume;
    nd_queue_t           link;        /* hcf->conns */
    nd_uint_t            error;       /* status to answer a bad request */
    nd_uint_t            requests;
    const char          *exec_end;    /* end of what llhttp is given */
    unsigned             crlf:2;      /* chunk terminator bytes to check */
    unsigned             blocked:1;   /* output over ND_HTTP_OUT_HIGH */
    unsigned             linger:1;    /* lingering close once drained */
    unsigned             close_fed:1; /* close once pending is out */
    unsigned             last_was_value:1;
    unsigned             handling:1;  /* a handler has the request */
    unsigned             paused:1;    /* a message is complete */
    unsigned             parsing:1;
};

#define ND_HTTP_READ_CHUNK  16384
/* output queued past which no further pipelined request is read, and the
 * piece of a large answer moved into c->out at a time */
#define ND_HTTP_OUT_HIGH    (256 * 1024)

static void nd_http_read(nd_connection_t *c);
static void nd_http_process(nd_http_conn_t *hc);
static void nd_http_dispatch(nd_http_conn_t *hc);
static void nd_http_run(nd_http_request_t *r, nd_int_t rc);
static void nd_http_bad_request(nd_http_conn_t *hc, nd_uint_t status,
    const char *reason);
static void nd_http_request_done(nd_http_request_t *r);
static void nd_http_conn_close_handler(nd_connection_t *c);
static void nd_http_timer_handler(nd_timer_t *t);
static void nd_http_resume_handler(nd_posted_t *p);
static void nd_http_send_spring_error(nd_http_request_t *r,
    nd_uint_t status);
static void nd_http_hold_expired(nd_timer_t *t);
static void nd_http_drained(nd_connection_t *c);
static void nd_http_lingering_start(nd_connection_t *c);


/* timers: one per connection, re-armed for the remainder on expiry */

static void
nd_http_set_deadline(nd_http_conn_t *hc, nd_http_phase_e phase,
    nd_msec_t msec)
{
    nd_msec_t  now;

    now = nd_time_monotonic_msec();
    hc->phase = phase;

    if (msec == 0) {
        hc->deadline = 0;
        nd_timer_stop(&hc->timer);
        return;
    }

    hc->deadline = now + msec;

    if (!nd_timer_active(&hc->timer)
        || ev_timer_remaining(nd_cycle->loop, &hc->timer.w) * 1000.0
           > (double) msec)
    {
        nd_timer_start(&hc->timer, msec, ND_TIMER_ONCE);
    }
}


static void
nd_http_timer_handler(nd_timer_t *t)
{
    nd_msec_t        now;
    nd_http_conn_t  *hc;

    hc = t->data;
    now = nd_time_monotonic_msec();

    if (hc->deadline == 0) {
        return;
    }

    if (now < hc->deadline) {
        nd_timer_start(t, hc->deadline - now, ND_TIMER_ONCE);
        return;
    }

    switch (hc->phase) {

    case nd_http_header_e:
        nd_log_error(ND_LOG_INFO, &hc->c->log, 0,
                     "client timed out while reading request headers");
        if (hc->r) {
            nd_http_bad_request(hc, 408, "request header timeout");
            return;
        }
        break;

    case nd_http_body_e:
        nd_log_error(ND_LOG_INFO, &hc->c->log, 0,
                     "client timed out while reading request body");
        nd_http_bad_request(hc, 408, "request body timeout");
        return;

    case nd_http_idle_e:
        nd_log_debug(&hc->c->log, "keepalive timeout");
        break;

    default:
        break;
    }

    nd_connection_finalize(hc->c, 0);
}


/* llhttp callbacks: copy fragments into hc->head, keep offsets */

static int
nd_http_on_message_begin(llhttp_t *p)
{
    nd_http_conn_t  *hc = p->data;

    nd_buf_reset(&hc->head);
    nd_buf_reset(&hc->body);
    hc->hdr_offs.nelts = 0;
    hc->url_len = 0;
    hc->last_was_value = 0;

    if (hc->phase == nd_http_idle_e) {
        nd_http_set_deadline(hc, nd_http_header_e,
                             hc->hcf->client_header_timeout);
    }

    return 0;
}


static int
nd_http_on_url(llhttp_t *p, const char *at, size_t len)
{
    nd_http_conn_t  *hc = p->data;

    if (hc->url_len + len > hc->hcf->client_header_max_size / 2) {
        hc->error = 414;
        return -1;
    }

    hc->url_len += len;

    return nd_buf_append(&hc->head, at, len) == ND_OK ? 0 : -1;
}


static int
nd_http_on_header_field(llhttp_t *p, const char *at, size_t len)
{
    size_t          *off;
    nd_http_conn_t  *hc = p->data;

    if (nd_buf_size(&hc->head) + len > hc->hcf->client_header_max_size) {
        hc->error = 431;
        return -1;
    }

    if (hc->hdr_offs.nelts == 0 || hc->last_was_value) {
        /* a new header: name start, value start */
        off = nd_array_push_n(&hc->hdr_offs, 3);
        if (off == NULL) {
            return -1;
        }
        off[0] = nd_buf_size(&hc->head);
        off[1] = off[0];
        off[2] = off[0];
        hc->last_was_value = 0;
    }

    if (nd_buf_append(&hc->head, at, len) != ND_OK) {
        return -1;
    }

    off = nd_array_elt(&hc->hdr_offs, size_t, hc->hdr_offs.nelts - 3);
    off[1] = nd_buf_size(&hc->head);          /* name end = value start */
    off[2] = off[1];

    return 0;
}


static int
nd_http_on_header_value(llhttp_t *p, const char *at, size_t len)
{
    size_t          *off;
    nd_http_conn_t  *hc = p->data;

    if (nd_buf_size(&hc->head) + len > hc->hcf->client_header_max_size) {
        hc->error = 431;
        return -1;
    }

    if (hc->hdr_offs.nelts == 0) {
        return -1;
    }

    hc->last_was_value = 1;

    if (nd_buf_append(&hc->head, at, len) != ND_OK) {
        return -1;
    }

    off = nd_array_elt(&hc->hdr_offs, size_t, hc->hdr_offs.nelts - 3);
    off[2] = nd_buf_size(&hc->head);

    return 0;
}


static nd_uint_t
nd_http_method_bit(uint8_t method, nd_str_t *name)
{
    const char  *n;

    n = llhttp_method_name((llhttp_method_t) method);
    name->data = (u_char *) n;
    name->len = strlen(n);

    switch (method) {
    case HTTP_GET:     return ND_HTTP_GET;
    case HTTP_HEAD:    return ND_HTTP_HEAD;
    case HTTP_POST:    return ND_HTTP_POST;
    case HTTP_PUT:     return ND_HTTP_PUT;
    case HTTP_DELETE:  return ND_HTTP_DELETE;
    case HTTP_PATCH:   return ND_HTTP_PATCH;
    case HTTP_OPTIONS: return ND_HTTP_OPTIONS;
    default:           return 0;
    }
}


static int
nd_http_on_headers_complete(llhttp_t *p)
{
    u_char             *head, *q;
    size_t             *off, i, n;
    ssize_t             dlen;
    nd_str_t           *expect;
    nd_pool_t          *pool;
    nd_keyval_t        *h;
    nd_http_conn_t     *hc = p->data;
    nd_http_request_t  *r;

    pool = nd_create_pool(2048, &hc->c->log);
    if (pool == NULL) {
        hc->error = 500;
        return -1;
    }

    r = nd_pcalloc(pool, sizeof(nd_http_request_t));
    if (r == NULL) {
        nd_destroy_pool(pool);
        hc->error = 500;
        return -1;
    }

    r->pool = pool;
    r->c = hc->c;
    r->hc = hc;
    r->start_msec = nd_current_msec;
    r->http_minor = p->http_minor;
    r->method = nd_http_method_bit(p->method, &r->method_name);
    r->keepalive = llhttp_should_keep_alive(p)
                   && hc->hcf->keepalive_timeout != 0;
    hc->r = r;

    /* one copy of url + headers into the request pool */
    n = nd_buf_size(&hc->head);
    head = nd_pnalloc(pool, n + 1);
    if (head == NULL
        || nd_array_init(&r->headers, pool, hc->hdr_offs.nelts / 3 + 1,
                         sizeof(nd_keyval_t)) != ND_OK
        || nd_array_init(&r->args, pool, 8, sizeof(nd_keyval_t)) != ND_OK
        || nd_array_init(&r->headers_out, pool, 4, sizeof(nd_keyval_t))
           != ND_OK)
    {
        hc->error = 500;
        return -1;
    }
    memcpy(head, nd_buf_start(&hc->head), n);
    head[n] = '\0';

    r->uri.data = head;
    r->uri.len = hc->url_len;

    off = hc->hdr_offs.elts;
    for (i = 0; i + 2 < hc->hdr_offs.nelts; i += 3) {
        h = nd_array_push(&r->headers);
        h->key.data = head + off[i];
        h->key.len = off[i + 1] - off[i];
        h->value.data = head + off[i + 1];
        h->value.len = off[i + 2] - off[i + 1];
        /* trim trailing white space of the value */
        while (h->value.len && (h->value.data[h->value.len - 1] == ' '
                                || h->value.data[h->value.len - 1] == '\t'))
        {
            h->value.len--;
        }
    }

    /* split the target into path and query; decode the path */
    if (r->uri.len == 0 || r->uri.data[0] != '/') {
        hc->error = 400;
        return -1;
    }

    q = memchr(r->uri.data, '?', r->uri.len);
    r->path.len = q ? (size_t) (q - r->uri.data) : r->uri.len;
    if (q) {
        r->query.data = q + 1;
        r->query.len = r->uri.len - r->path.len - 1;
    }

    r->path.data = nd_pnalloc(pool, r->path.len + 1);
    if (r->path.data == NULL) {
        hc->error = 500;
        return -1;
    }
    dlen = nd_unescape(r->path.data, r->uri.data, r->path.len, 0);
    if (dlen < 0 || memchr(r->path.data, '\0', (size_t) dlen)) {
        r->path.data = r->uri.data;     /* report the raw path */
        hc->error = 400;
        return -1;
    }
    r->path.len = (size_t) dlen;

    if (p->upgrade) {
        hc->error = 400;
        return -1;
    }

    /* RFC 9112 3.2: an HTTP/1.1 request without Host is a 400 */
    if (r->http_minor >= 1 && nd_http_header_in(r, "Host") == NULL) {
        nd_log_error(ND_LOG_INFO, &hc->c->log, 0,
                     "client sent HTTP/1.1 request without \"Host\" header");
        hc->error = 400;
        return -1;
    }

    /* body limits and 100-continue */
    if ((p->flags & F_CONTENT_LENGTH)
        && p->content_length > hc->hcf->client_max_body_size)
    {
        nd_log_error(ND_LOG_INFO, &hc->c->log, 0,
                     "client intended to send too large body: %llu bytes",
                     (unsigned long long) p->content_length);
        hc->error = 413;
        return -1;
    }

    expect = nd_http_header_in(r, "Expect");
    if (expect && r->http_minor >= 1) {
        if (nd_str_casecmp_lit(expect, "100-continue") != 0) {
            hc->error = 417;
            return -1;
        }
        if ((p->flags & F_CHUNKED) || p->content_length > 0) {
            nd_connection_send(hc->c, "HTTP/1.1 100 Continue\r\n\r\n",
                               sizeof("HTTP/1.1 100 Continue\r\n\r\n") - 1);
        }
    }

    if ((p->flags & F_CHUNKED) || p->content_length > 0) {
        nd_http_set_deadline(hc, nd_http_body_e,
                             hc->hcf->client_body_timeout);
    }

    return 0;
}


/*
 * llhttp 8 (Debian's) skips the two bytes after a chunk's data without
 * looking at them unless built in strict mode, and has no lenient flag for
 * it: any two bytes would end a chunk, a request smuggling vector.  We
 * check them ourselves: -1 when one is not the CRLF expected; those past
 * end are checked at the start of the next read.
 */
static int
nd_http_chunk_crlf(nd_http_conn_t *hc, const char *pos, const char *end)
{
    while (hc->crlf && pos < end) {
        if (*pos++ != "\r\n"[2 - hc->crlf]) {
            nd_log_error(ND_LOG_INFO, &hc->c->log, 0,
                         "client sent a chunk not ended by CRLF");
            hc->crlf = 0;
            hc->error = 400;
            return -1;
        }
        hc->crlf--;
    }

    return 0;
}


static int
nd_http_on_body(llhttp_t *p, const char *at, size_t len)
{
    nd_http_conn_t  *hc = p->data;

    if ((p->flags & F_CHUNKED) && p->content_length == 0) {
        hc->crlf = 2;                   /* this chunk's data ends here */
        if (nd_http_chunk_crlf(hc, at + len, hc->exec_end) != 0) {
            return -1;
        }
    }

    if (nd_buf_size(&hc->body) + len > hc->hcf->client_max_body_size) {
        nd_log_error(ND_LOG_INFO, &hc->c->log, 0,
                     "client sent too large body");
        hc->error = 413;
        return -1;
    }

    return nd_buf_append(&hc->body, at, len) == ND_OK ? 0 : -1;
}


static int
nd_http_on_message_complete(llhttp_t *p)
{
    nd_http_conn_t  *hc = p->data;

    hc->paused = 1;
    return HPE_PAUSED;
}


void
nd_http_init_parser_settings(llhttp_settings_t *s)
{
    llhttp_settings_init(s);
    s->on_message_begin = nd_http_on_message_begin;
    s->on_url = nd_http_on_url;
    s->on_header_field = nd_http_on_header_field;
    s->on_header_value = nd_http_on_header_value;
    s->on_headers_complete = nd_http_on_headers_complete;
    s->on_body = nd_http_on_body;
    s->on_message_complete = nd_http_on_message_complete;
}


/* connections */

void
nd_http_init_connection(nd_connection_t *c)
{
    nd_http_conn_t  *hc;
    nd_http_conf_t  *hcf;

    hcf = nd_http_conf(nd_cycle);       /* the live conf (reloads) */

    hc = nd_pcalloc(c->pool, sizeof(nd_http_conn_t));
    if (hc == NULL
        || nd_array_init(&hc->hdr_offs, c->pool, 48, sizeof(size_t)) != ND_OK)
    {
        nd_connection_close(c);
        return;
    }

    hc->c = c;
    hc->hcf = hcf;
    c->data = hc;
    c->out_max = hcf->send_queue_max;
    c->read_handler = nd_http_read;
    c->drained_handler = nd_http_drained;
    c->close_handler = nd_http_conn_close_handler;

    llhttp_init(&hc->parser, HTTP_REQUEST, &hcf->settings);
    hc->parser.data = hc;

    nd_timer_init(&hc->timer, "http", nd_http_timer_handler, hc);
    hc->resume.handler = nd_http_resume_handler;
    hc->resume.data = hc;

    nd_queue_insert_tail(&hcf->conns, &hc->link);

    if (nd_cycle->stopping) {
        nd_connection_finalize(c, 0);
        return;
    }

    /* the first request must arrive within client_header_timeout */
    nd_http_set_deadline(hc, nd_http_idle_e, hcf->client_header_timeout);
    nd_connection_read_start(c);
}


static void
nd_http_conn_close_handler(nd_connection_t *c)
{
    nd_http_conn_t     *hc;
    nd_http_request_t  *r;

    hc = c->data;

    nd_timer_stop(&hc->timer);
    nd_post_cancel(&hc->resume);
    nd_queue_remove(&hc->link);

    r = hc->r;
    if (r) {
        hc->r = NULL;
        if (r->async && !r->done && r->abort_handler) {
            r->abort_handler(r);
        }
        nd_timer_stop(&r->hold_timer);
        nd_destroy_pool(r->pool);
    }

    nd_buf_free(&hc->in);
    nd_buf_free(&hc->head);
    nd_buf_free(&hc->body);
    nd_buf_free(&hc->pending);
}


void
nd_http_close_idle(nd_cycle_t *cycle)
{
    nd_queue_t      *q, *next;
    nd_http_conn_t  *hc;
    nd_http_conf_t  *hcf;

    hcf = nd_http_conf(cycle);

    for (q = nd_queue_head(&hcf->conns);
         q != nd_queue_sentinel(&hcf->conns);
         q = next)
    {
        next = nd_queue_next(q);
        hc = nd_queue_data(q, nd_http_conn_t, link);

        if (hc->r == NULL && nd_buf_size(&hc->c->out) == 0
            && nd_buf_size(&hc->pending) == 0)
        {
            nd_connection_finalize(hc->c, 0);
        }
    }
}


static void
nd_http_lingering_read(nd_connection_t *c)
{
    u_char   buf[4096];
    ssize_t  n;

    while ((n = nd_connection_recv(c, buf, sizeof(buf))) > 0) {
        /* discard */
    }

    if (n != ND_AGAIN) {
        nd_connection_finalize(c, 0);
    }
}


static void
nd_http_lingering_start(nd_connection_t *c)
{
    nd_http_conn_t  *hc;

    hc = c->data;

    /* the answer is out: stop sending, drain what the client still sends
     * so that closing does not reset the connection under its reader */
    hc->linger = 0;
    shutdown(c->fd, SHUT_WR);
    c->read_handler = nd_http_lingering_read;
    nd_connection_read_start(c);
    nd_http_set_deadline(hc, nd_http_lingering_e, 2000);
}


static void
nd_http_read(nd_connection_t *c)
{
    ssize_t          n;
    nd_http_conn_t  *hc;

    hc = c->data;

    for ( ;; ) {
        /* while a request is being handled, buffer only a bounded amount
         * of pipelined input */
        if (hc->handling && nd_buf_size(&hc->in)
                     >= hc->hcf->client_header_max_size + ND_HTTP_READ_CHUNK)
        {
            nd_connection_read_stop(c);
            return;
        }

        if (nd_buf_reserve(&hc->in, ND_HTTP_READ_CHUNK) != ND_OK) {
            nd_connection_finalize(c, 0);
            return;
        }

        n = nd_connection_recv(c, hc->in.data + hc->in.len,
                               hc->in.cap - hc->in.len);

        if (n > 0) {
            hc->in.len += (size_t) n;
            if (hc->phase == nd_http_body_e) {
                hc->deadline = nd_time_monotonic_msec()
                               + hc->hcf->client_body_timeout;
            }
            if ((size_t) n < ND_HTTP_READ_CHUNK) {
                break;
            }
            continue;
        }

        if (n == ND_AGAIN) {
            break;
        }

        /* eof or error: a request still being handled is aborted */
        nd_connection_finalize(c, hc->r == NULL || hc->r->done);
        return;
    }

    nd_http_process(hc);
}


static void
nd_http_resume_handler(nd_posted_t *p)
{
    nd_http_conn_t  *hc;

    hc = p->data;

    if (!hc->c->close) {
        nd_connection_read_start(hc->c);
        nd_http_process(hc);
    }
}


static void
nd_http_process(nd_http_conn_t *hc)
{
    size_t          len;
    const char     *start, *stop;
    llhttp_errno_t  err;

    if (hc->parsing) {
        return;
    }

    hc->parsing = 1;

    while (!hc->handling) {

        if (hc->c->close || hc->c->close_after_write
            || hc->phase == nd_http_lingering_e)
        {
            break;
        }

        len = nd_buf_size(&hc->in);
        if (len == 0) {
            break;
        }

        if (nd_buf_size(&hc->pending)
            || nd_buf_size(&hc->c->out) >= ND_HTTP_OUT_HIGH)
        {
            /* pipelined requests wait until the client took our answers
             * (nd_http_drained): memory stays bounded, nothing dropped */
            hc->blocked = 1;
            nd_connection_read_stop(hc->c);
            break;
        }

        start = (const char *) nd_buf_start(&hc->in);
        hc->paused = 0;
        hc->exec_end = start + len;

        if (nd_http_chunk_crlf(hc, start, hc->exec_end) != 0) {
            nd_http_bad_request(hc, 400, "invalid chunk terminator");
            break;
        }

        err = llhttp_execute(&hc->parser, start, len);

        if (err == HPE_OK) {
            nd_buf_consume(&hc->in, len);
            continue;                   /* loop ends: nothing left */
        }

        if (err == HPE_PAUSED && hc->paused) {
            stop = llhttp_get_error_pos(&hc->parser);
            nd_buf_consume(&hc->in, (size_t) (stop - start));
            llhttp_resume(&hc->parser);
            nd_http_dispatch(hc);
            continue;
        }

        if (hc->error == 0) {
            nd_log_error(ND_LOG_INFO, &hc->c->log, 0,
                         "client sent invalid request: %s",
                         llhttp_get_error_reason(&hc->parser));
        }

        nd_http_bad_request(hc, hc->error ? hc->error : 400,
                            llhttp_get_error_reason(&hc->parser));
        break;
    }

    hc->parsing = 0;
}


static void
nd_http_bad_request(nd_http_conn_t *hc, nd_uint_t status, const char *reason)
{
    nd_pool_t          *pool;
    nd_http_request_t  *r;

    nd_buf_reset(&hc->in);
    nd_connection_read_stop(hc->c);
    hc->phase = nd_http_lingering_e;

    r = hc->r;

    if (r == NULL || r->done) {
        /* the failure came before the request object: make a bare one */
        if (r) {
            hc->r = NULL;
            nd_destroy_pool(r->pool);
        }

        pool = nd_create_pool(1024, &hc->c->log);
        r = pool ? nd_pcalloc(pool, sizeof(nd_http_request_t)) : NULL;
        if (r == NULL
            || nd_array_init(&r->headers, pool, 1, sizeof(nd_keyval_t))
               != ND_OK
            || nd_array_init(&r->headers_out, pool, 2, sizeof(nd_keyval_t))
               != ND_OK)
        {
            nd_destroy_pool(pool);
            nd_connection_finalize(hc->c, 0);
            return;
        }
        r->pool = pool;
        r->c = hc->c;
        r->hc = hc;
        r->start_msec = nd_current_msec;
        nd_str_set(&r->method_name, "-");
        nd_str_set(&r->uri, "-");
        nd_str_set(&r->path, "");
        r->http_minor = 1;
        hc->r = r;
    }

    r->keepalive = 0;
    nd_connection_set_busy(hc->c, 1);
    nd_log_debug(&hc->c->log, "bad request %u: %s", (unsigned) status,
                 reason);
    nd_http_send_spring_error(r, status);
}


static void
nd_http_dispatch(nd_http_conn_t *hc)
{
    nd_str_t                route, *ctype, form;
    nd_uint_t               i, bit;
    nd_http_conf_t         *hcf;
    nd_http_request_t      *r;
    nd_http_route_entry_t  *e;
    nd_http_handler_pt      handler;

    r = hc->r;
    hcf = hc->hcf;
    hc->requests++;
    hcf->requests++;

    nd_http_set_deadline(hc, nd_http_handler_e, 0);
    nd_connection_set_busy(hc->c, 1);
    hc->handling = 1;

    if (nd_buf_size(&hc->body)) {
        r->body.len = nd_buf_size(&hc->body);
        r->body.data = nd_pnalloc(r->pool, r->body.len + 1);
        if (r->body.data == NULL) {
            nd_http_finalize(r, ND_ERROR);
            return;
        }
        memcpy(r->body.data, nd_buf_start(&hc->body), r->body.len);
        r->body.data[r->body.len] = '\0';
    }

    if (hc->body.cap > 64 * 1024) {
        nd_buf_free(&hc->body);
    }

    /* route: the path below context_path */
    route = r->path;
    if (hcf->context_path.len) {
        if (route.len < hcf->context_path.len
            || memcmp(route.data, hcf->context_path.data,
                      hcf->context_path.len) != 0
            || (route.len > hcf->context_path.len
                && route.data[hcf->context_path.len] != '/'))
        {
            nd_http_send_spring_error(r, 404);
            return;
        }
        route.data += hcf->context_path.len;
        route.len -= hcf->context_path.len;
    }
    r->route = route;

    e = nd_http_find_route(hcf, &route);
    if (e == NULL) {
        if (route.len == 0 && hcf->console) {
            nd_http_console_redirect(r);     /* "/nacos" -> "/nacos/" */
            return;
        }
        nd_http_send_spring_error(r, 404);
        return;
    }

    if (r->method == ND_HTTP_HEAD && !(e->methods & ND_HTTP_HEAD)) {
        bit = ND_HTTP_GET;
        r->header_only = 1;
    } else {
        bit = r->method;
    }

    handler = NULL;
    for (i = 0; i < ND_HTTP_NMETHODS; i++) {
        if (bit == ((nd_uint_t) 1 << i)) {
            handler = e->handlers[i];
            r->hist = e->hist[i];
            break;
        }
    }

    if (handler == NULL) {
        nd_http_send_spring_error(r, 405);
        return;
    }

    /* parameters: query string, then a form body, for every method */
    if (nd_http_parse_args(r, &r->query) != ND_OK) {
        nd_http_error(r, 400, 400, "invalid percent-encoding in the query");
        return;
    }

    ctype = nd_http_header_in(r, "Content-Type");
    if (ctype && r->body.len
        && ctype->len >= sizeof("application/x-www-form-urlencoded") - 1
        && strncasecmp((char *) ctype->data,
                       "application/x-www-form-urlencoded",
                       sizeof("application/x-www-form-urlencoded") - 1) == 0)
    {
        form = r->body;
        if (nd_http_parse_args(r, &form) != ND_OK) {
            nd_http_error(r, 400, 400,
                          "invalid percent-encoding in the form body");
            return;
        }
    }

    r->handler = handler;
    r->filter = 0;

    nd_http_run(r, ND_DECLINED);
}


/* the filters from r->filter on, then the handler, unless rc (what ran
 * before) is not ND_DECLINED; the request held, finished or answered */
static void
nd_http_run(nd_http_request_t *r, nd_int_t rc)
{
    nd_http_conf_t      *hcf;
    nd_http_handler_pt  *filters;

    hcf = r->hc->hcf;
    filters = hcf->filters.elts;

    /* while the handler runs, a response only marks r done: r is freed
     * here, once nothing up the stack holds it */
    r->in_handler = 1;

    while (rc == ND_DECLINED && r->filter < hcf->filters.nelts) {
        rc = filters[r->filter++](r);
    }

    if (rc == ND_DECLINED) {
        rc = r->handler(r);
    }

    r->in_handler = 0;

    if (r->done) {
        nd_http_request_done(r);
        return;
    }

    if (rc == ND_DONE) {
        r->async = 1;
        return;
    }

    nd_http_finalize(r, rc);
}


void
nd_http_resume(nd_http_request_t *r, nd_http_resume_pt rest, void *data)
{
    nd_int_t  rc;

    r->abort_handler = NULL;
    r->async = 0;

    r->in_handler = 1;
    rc = rest(r, data);
    r->in_handler = 0;

    if (r->done) {
        nd_http_request_done(r);
        return;
    }

    nd_http_run(r, rc);
}


void
nd_http_finalize(nd_http_request_t *r, nd_int_t rc)
{
    if (r->done) {
        return;
    }

    if (rc == ND_OK || rc == ND_DONE) {
        /* a handler that returned OK must have answered */
        nd_log_error(ND_LOG_ALERT, &r->c->log, 0,
                     "handler for \"%.*s\" finished without a response",
                     ND_STR_ARG(r->path));
        nd_http_send_spring_error(r, 500);
        return;
    }

    if (rc >= 400 && rc < 600) {
        nd_http_send_spring_error(r, (nd_uint_t) rc);
        return;
    }

    nd_http_send_spring_error(r, 500);
}


void
nd_http_hold(nd_http_request_t *r, nd_msec_t msec, nd_http_hold_pt handler)
{
    nd_http_conn_t  *hc;

    /* a held request can wait a long time, in great numbers: its
     * connection keeps no scratch buffers (the request has its copies) */
    hc = r->hc;
    if (nd_buf_size(&hc->in) == 0) {
        nd_buf_free(&hc->in);
    }
    nd_buf_free(&hc->head);
    nd_buf_free(&hc->body);

    r->hold_handler = handler;
    if (r->hold_timer.handler == NULL) {
        nd_timer_init(&r->hold_timer, "http hold", nd_http_hold_expired, r);
    }
    r->async = 1;
    nd_timer_start(&r->hold_timer, msec, ND_TIMER_ONCE);
}


static void
nd_http_hold_expired(nd_timer_t *t)
{
    nd_http_request_t  *r;

    r = t->data;

    if (!r->done && r->hold_handler) {
        r->hold_handler(r);
    }
}


/* responses */

const char *
nd_http_status_text(nd_uint_t status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default:  return "Unknown";
    }
}


nd_int_t
nd_http_add_header(nd_http_request_t *r, const char *name, const char *value,
    size_t len)
{
    nd_keyval_t  *h;

    h = nd_array_push(&r->headers_out);
    if (h == NULL) {
        return ND_ERROR;
    }

    h->key.len = strlen(name);
    h->key.data = (u_char *) name;
    h->value.len = len;
    h->value.data = nd_pnalloc(r->pool, len + 1);
    if (h->value.data == NULL) {
        return ND_ERROR;
    }
    memcpy(h->value.data, value, len);
    h->value.data[len] = '\0';

    return ND_OK;
}


/* move the next pieces of a large answer into the send queue */
static void
nd_http_feed(nd_http_conn_t *hc)
{
    size_t            n;
    nd_connection_t  *c;

    c = hc->c;

    while (nd_buf_size(&hc->pending)
           && nd_buf_size(&c->out) < ND_HTTP_OUT_HIGH)
    {
        n = nd_min(nd_buf_size(&hc->pending), ND_HTTP_OUT_HIGH);
        if (nd_connection_send(c, nd_buf_start(&hc->pending), n) != ND_OK) {
            nd_buf_free(&hc->pending);
            return;
        }
        nd_buf_consume(&hc->pending, n);
    }

    if (nd_buf_size(&hc->pending) == 0) {
        nd_buf_free(&hc->pending);
        if (hc->close_fed) {
            nd_connection_finalize(c, 1);
        }
    }
}


/* all queued output was written */
static void
nd_http_drained(nd_connection_t *c)
{
    nd_http_conn_t  *hc;

    hc = c->data;

    if (nd_buf_size(&hc->pending)) {
        nd_http_feed(hc);
        return;
    }

    if (hc->linger) {
        nd_http_lingering_start(c);
        return;
    }

    if (hc->blocked) {
        hc->blocked = 0;
        nd_post(&hc->resume);
    }
}


nd_int_t
nd_http_send(nd_http_request_t *r, nd_uint_t status, const char *content_type,
    const void *body, size_t len)
{
    int               n;
    char              head[1024];
    size_t            hlen;
    nd_uint_t         i;
    nd_keyval_t      *h;
    nd_buf_t         *out;
    nd_connection_t  *c;

    if (r->done) {
        nd_log_error(ND_LOG_ALERT, &r->c->log, 0,
                     "response sent twice for \"%.*s\"",
                     ND_STR_ARG(r->path));
        return ND_ERROR;
    }

    c = r->c;
    r->done = 1;
    r->status = status;

    if (nd_cycle->stopping) {
        r->keepalive = 0;
    }

    n = snprintf(head, sizeof(head),
                 "HTTP/1.1 %u %s\r\n"
                 "Server: nacosd\r\n"
                 "Date: %s\r\n"
                 "Content-Type: %s\r\n"
                 "Content-Length: %zu\r\n"
                 "Connection: %s\r\n",
                 (unsigned) status, nd_http_status_text(status),
                 nd_cached_http_time,
                 content_type ? content_type : "text/plain;charset=UTF-8",
                 len, r->keepalive ? "keep-alive" : "close");
    hlen = (size_t) n < sizeof(head) ? (size_t) n : sizeof(head) - 1;

    /* head and body go straight into the connection's output buffer */
    out = &c->out;
    if (nd_connection_send(c, head, hlen) != ND_OK) {
        goto done;
    }

    h = r->headers_out.elts;
    for (i = 0; i < r->headers_out.nelts; i++) {
        if (nd_buf_reserve(out, h[i].key.len + h[i].value.len + 4) != ND_OK) {
            goto done;
        }
        nd_connection_send(c, h[i].key.data, h[i].key.len);
        nd_connection_send(c, ": ", 2);
        nd_connection_send(c, h[i].value.data, h[i].value.len);
        nd_connection_send(c, "\r\n", 2);
    }

    if (nd_connection_send(c, "\r\n", 2) != ND_OK) {
        goto done;
    }

    if (len && !r->header_only) {
        if (nd_buf_size(&c->out) + len <= c->out_max) {
            if (nd_connection_send(c, body, len) != ND_OK) {
                goto done;
            }

        } else {
            /* larger than the send queue: it goes out as the client takes
             * it (nd_http_feed), the queue staying bounded */
            if (nd_buf_append(&r->hc->pending, body, len) != ND_OK) {
                nd_connection_finalize(c, 0);
                goto done;
            }
            nd_http_feed(r->hc);
        }
        r->body_sent = len;
    }

done:

    if (!r->in_handler) {
        nd_http_request_done(r);        /* r is gone from here on */
    }

    return ND_OK;
}


nd_int_t
nd_http_send_json(nd_http_request_t *r, nd_uint_t status, json_t *json)
{
    nd_int_t  rc;
    nd_buf_t  b;

    nd_buf_init(&b);

    if (json == NULL || nd_json_dump_buf(json, &b) != ND_OK) {
        nd_buf_free(&b);
        return nd_http_send(r, 500, NULL, "server error", 12);
    }

    rc = nd_http_send(r, status, "application/json;charset=UTF-8",
                      b.data, b.len);
    nd_buf_free(&b);

    return rc;
}


/* the v2 envelope's message for a Nacos ErrorCode (api/model/v2) */
static const char *
nd_http_v2_message(nd_int_t code, nd_uint_t status)
{
    static const struct {
        nd_int_t     code;
        const char  *msg;
    } codes[] = {
        { 10000, "parameter missing" },
        { 10001, "access denied" },
        { 10002, "data access error" },
        { 20001, "'tenant' parameter error" },
        { 20002, "parameter validate error" },
        { 20003, "MediaType Error" },
        { 20004, "resource not found" },
        { 20005, "resource conflict" },
        { 20006, "config listener is null" },
        { 20007, "config listener error" },
        { 20008, "invalid dataId" },
        { 20009, "parameter mismatch" },
        { 21000, "service name error" },
        { 21001, "weight error" },
        { 21002, "instance metadata error" },
        { 21003, "instance not found" },
        { 21004, "instance error" },
        { 21005, "service metadata error" },
        { 21006, "selector error" },
        { 21007, "service already exist" },
        { 21008, "service not exist" },
        { 21009, "service delete failure" },
        { 21010, "healthy param miss" },
        { 21011, "health check still running" },
        { 22000, "illegal namespace" },
        { 22001, "namespace not exist" },
        { 22002, "namespace already exist" },
        { 23000, "illegal state" },
        { 23001, "node info error" },
        { 23002, "node down failure" },
        { 5031, "cluster capacity reach quota" },
        { 5032, "group capacity reach quota" },
        { 5033, "tenant capacity reach quota" },
        { 5034, "config content size is over limit" },
        { 30000, "server error" },
    };
    nd_uint_t  i;

    for (i = 0; i < nd_nelts(codes); i++) {
        if (codes[i].code == code) {
            return codes[i].msg;
        }
    }

    return nd_http_status_text(status);
}


nd_int_t
nd_http_error(nd_http_request_t *r, nd_uint_t status, nd_int_t code,
    const char *msg)
{
    size_t     len;
    u_char    *fixed;
    json_t    *j;
    nd_int_t   rc;

    /* messages may quote what the client sent: make it text, as a Java
     * server's decoding would have */
    len = strlen(msg);

    if (!nd_utf8_valid((u_char *) msg, len, 0)) {
        fixed = nd_pnalloc(r->pool, 3 * len + 1);
        if (fixed == NULL) {
            return ND_ERROR;
        }
        len = nd_utf8_repair(fixed, (u_char *) msg, len);
        fixed[len] = '\0';
        msg = (const char *) fixed;
    }

    if (r->route.len >= 4 && memcmp(r->route.data, "/v2/", 4) == 0) {
        j = json_pack("{s:I, s:s, s:s}", "code", (json_int_t) code,
                      "message", nd_http_v2_message(code, status),
                      "data", msg);
        rc = nd_http_send_json(r, status, j);
        json_decref(j);
        return rc;
    }

    return nd_http_send(r, status, NULL, msg, len);
}


/* the Spring Boot error body Nacos answers for protocol-level errors */
static void
nd_http_send_spring_error(nd_http_request_t *r, nd_uint_t status)
{
    json_t  *j;
    char     ts[64];
    time_t   sec;
    struct tm tm;

    sec = (time_t) (nd_current_msec / 1000);
    gmtime_r(&sec, &tm);
    snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03u+00:00",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (unsigned) (nd_current_msec % 1000));

    if (status == 405) {
        nd_http_add_header(r, "Allow", "GET, HEAD, POST, PUT, DELETE",
                           sizeof("GET, HEAD, POST, PUT, DELETE") - 1);
    }

    j = json_pack("{s:s, s:I, s:s, s:s}", "timestamp", ts,
                  "status", (json_int_t) status,
                  "error", nd_http_status_text(status),
                  "message", status == 404 ? "No message available"
                                           : nd_http_status_text(status));
    /* the path is the client's: jansson refuses invalid UTF-8, then the
     * body goes without it */
    if (j && r->path.len) {
        json_object_set_new(j, "path", json_stringn((char *) r->path.data,
                                                    r->path.len));
    }
    nd_http_send_json(r, status, j);
    json_decref(j);
}


static void
nd_http_request_done(nd_http_request_t *r)
{
    unsigned          keepalive;
    nd_http_conn_t   *hc;
    nd_connection_t  *c;

    hc = r->hc;
    c = r->c;

    nd_http_access_log(r);

    nd_timer_stop(&r->hold_timer);

    keepalive = r->keepalive;          /* r lives in its pool */
    hc->r = NULL;
    hc->handling = 0;
    nd_destroy_pool(r->pool);
    r = NULL;

    if (c->close) {
        return;
    }

    if (hc->phase == nd_http_lingering_e) {
        if (nd_buf_size(&c->out) || nd_buf_size(&hc->pending)) {
            hc->linger = 1;
        } else {
            nd_http_lingering_start(c);
        }
        return;
    }

    if (!keepalive || nd_cycle->stopping) {
        if (nd_buf_size(&hc->pending)) {
            hc->close_fed = 1;
        } else {
            nd_connection_finalize(c, 1);
        }
        return;
    }

    nd_connection_set_busy(c, 0);
    nd_http_set_deadline(hc, nd_http_idle_e, hc->hcf->keepalive_timeout);

    /* pipelined requests already buffered continue from the loop pass */
    if (!hc->parsing) {
        nd_post(&hc->resume);
    }
}

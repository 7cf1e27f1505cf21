/*
 * Connections.
 */
#include <nd_core.h>

#define ND_CONNECTION_OUT_MAX  (4 * 1024 * 1024)
/* pieces (own bytes, shared blocks) one sendmsg() takes */
#define ND_CONNECTION_IOV      64

static void nd_connection_read_handler(struct ev_loop *loop, ev_io *w,
    int revents);
static void nd_connection_write_handler(struct ev_loop *loop, ev_io *w,
    int revents);

/* an outbound connect in progress (in the connection's pool) */
struct nd_connect_s {
    nd_timer_t              timer;      /* the timeout, or 0 for an error
                                           connect() gave at once */
    nd_connect_handler_pt   handler;
    void                   *data;
    int                     err;
};


static size_t
nd_connection_log_handler(nd_log_t *log, char *buf, size_t len)
{
    int               n;
    nd_connection_t  *c;

    c = log->data;
    n = c->listening
        ? snprintf(buf, len, ", client: %s", c->addr.host)
        : snprintf(buf, len, ", peer: %s", c->addr.text);

    return n < 0 ? 0 : ((size_t) n < len ? (size_t) n : len - 1);
}


nd_connection_t *
nd_connection_create(nd_cycle_t *cycle, int fd, nd_listening_t *ls)
{
    nd_connection_t  *c;

    c = nd_calloc(sizeof(nd_connection_t));
    if (c == NULL) {
        return NULL;
    }

    c->pool = nd_create_pool(1024, cycle->log);
    if (c->pool == NULL) {
        nd_free(c);
        return NULL;
    }

    c->fd = fd;
    c->listening = ls;
    c->number = ++cycle->connection_seq;
    c->out_max = ND_CONNECTION_OUT_MAX;

    c->log = *cycle->log;
    c->log.connection = c->number;
    c->log.handler = nd_connection_log_handler;
    c->log.data = c;
    c->log.action = NULL;
    c->pool->log = &c->log;

    ev_io_init(&c->rev, nd_connection_read_handler, fd, EV_READ);
    c->rev.data = c;
    ev_io_init(&c->wev, nd_connection_write_handler, fd, EV_WRITE);
    c->wev.data = c;

    nd_queue_insert_tail(&cycle->connections, &c->queue);
    cycle->connection_n++;

    if (ls && ls->ssl && nd_ssl_accept_init(c, ls->ssl) != ND_OK) {
        c->fd = -1;                     /* the caller closes it */
        nd_connection_close(c);
        return NULL;
    }

    return c;
}


static void
nd_connection_read_handler(struct ev_loop *loop, ev_io *w, int revents)
{
    nd_connection_t  *c;

    c = w->data;

    if (c->close) {
        ev_io_stop(loop, w);
        return;
    }

    if (c->ssl_write_on_read) {
        /* TLS: output waited for the peer's handshake data */
        c->ssl_write_on_read = 0;
        nd_connection_flush(c);

        if (c->close) {
            return;
        }
    }

    if (!c->reading) {
        /* only TLS wanted this event: the owner does not read now */
        if (!c->ssl_write_on_read) {
            ev_io_stop(loop, w);
        }
        return;
    }

    c->read_handler(c);

    /* TLS: a record may hold more than the handler took; the socket
     * will not say so again */
    if (c->ssl && !c->close && ev_is_active(&c->rev) && nd_ssl_pending(c)) {
        ev_feed_event(loop, &c->rev, EV_READ);
    }
}


static void
nd_connection_write_handler(struct ev_loop *loop, ev_io *w, int revents)
{
    nd_connection_t  *c;

    c = w->data;

    if (c->ssl_read_on_write) {
        c->ssl_read_on_write = 0;
        if (!c->close && ev_is_active(&c->rev)) {
            ev_feed_event(loop, &c->rev, EV_READ);
        }
    }

    nd_connection_flush(c);
}


/* outbound connections */

static void
nd_connection_connected(nd_connection_t *c, int err)
{
    nd_connect_t  *cn;

    cn = c->connect;
    c->connect = NULL;

    nd_timer_stop(&cn->timer);
    ev_io_stop(nd_cycle->loop, &c->wev);
    ev_set_cb(&c->wev, nd_connection_write_handler);

    if (err) {
        nd_log_error(ND_LOG_INFO, &c->log, err, "connect() to %s failed",
                     c->addr.text);
        nd_connection_finalize(c, 0);
    }

    cn->handler(c, err, cn->data);
}


static void
nd_connection_connect_handler(struct ev_loop *loop, ev_io *w, int revents)
{
    int               err;
    socklen_t         len;
    nd_connection_t  *c;

    c = w->data;

    if (c->close || c->connect == NULL) {
        ev_io_stop(loop, w);
        return;
    }

    err = 0;
    len = sizeof(err);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
        err = errno;
    }

    nd_connection_connected(c, err);
}


static void
nd_connection_connect_timeout(nd_timer_t *t)
{
    nd_connection_t  *c;

    c = t->data;

    if (c->close || c->connect == NULL) {
        return;
    }

    nd_connection_connected(c, c->connect->err ? c->connect->err
                                               : ETIMEDOUT);
}


nd_connection_t *
nd_connection_connect(nd_cycle_t *cycle, const nd_addr_t *addr,
    nd_msec_t timeout, nd_connect_handler_pt handler, void *data)
{
    int               fd, on;
    nd_connect_t     *cn;
    nd_connection_t  *c;

    fd = socket(addr->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                0);
    if (fd < 0) {
        nd_log_error(ND_LOG_ERR, cycle->log, errno,
                     "socket() for %s failed", addr->text);
        return NULL;
    }

    on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));

    c = nd_connection_create(cycle, fd, NULL);
    if (c == NULL) {
        close(fd);
        return NULL;
    }

    cn = nd_pcalloc(c->pool, sizeof(nd_connect_t));
    if (cn == NULL) {
        nd_connection_close(c);
        return NULL;
    }

    c->addr = *addr;
    c->connect = cn;
    cn->handler = handler;
    cn->data = data;
    nd_timer_init(&cn->timer, "connect", nd_connection_connect_timeout, c);

    if (connect(fd, (struct sockaddr *) &addr->sa, addr->socklen) < 0
        && errno != EINPROGRESS)
    {
        /* reported from the loop, as any other outcome */
        cn->err = errno;
        nd_timer_start(&cn->timer, 0, ND_TIMER_ONCE);
        return c;
    }

    ev_set_cb(&c->wev, nd_connection_connect_handler);
    ev_io_start(cycle->loop, &c->wev);
    nd_timer_start(&cn->timer, timeout, ND_TIMER_ONCE);

    return c;
}


void
nd_connection_read_start(nd_connection_t *c)
{
    if (!c->close) {
        c->reading = 1;
        ev_io_start(nd_cycle->loop, &c->rev);
    }
}


void
nd_connection_read_stop(nd_connection_t *c)
{
    c->reading = 0;

    if (!c->ssl_write_on_read) {        /* TLS handshake data still due */
        ev_io_stop(nd_cycle->loop, &c->rev);
    }
}


ssize_t
nd_connection_recv(nd_connection_t *c, u_char *buf, size_t size)
{
    ssize_t  n;

    if (c->ssl) {
        return nd_ssl_recv(c, buf, size);
    }

    for ( ;; ) {
        n = recv(c->fd, buf, size, 0);

        if (n >= 0) {
            return n;
        }

        if (errno == EINTR) {
            continue;
        }

        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return ND_AGAIN;
        }

        nd_log_error(ND_LOG_INFO, &c->log, errno, "recv() failed");
        return ND_ERROR;
    }
}


/* ND_OK when len more bytes fit in c's queue; else c is closing */
static nd_int_t
nd_connection_room(nd_connection_t *c, size_t len)
{
    if (c->close || c->error) {
        return ND_ERROR;
    }

    if (nd_connection_queued(c) + len > c->out_max) {
        nd_log_error(ND_LOG_WARN, &c->log, 0,
                     "output queue over %zu bytes, closing connection",
                     c->out_max);
        c->error = 1;
        nd_connection_finalize(c, 0);
        return ND_ERROR;
    }

    return ND_OK;
}


static void
nd_connection_queue_write(nd_connection_t *c)
{
    nd_event_conf_t  *ecf;

    if (!ev_is_active(&c->wev) && !nd_queue_linked(&c->write_link)) {
        ecf = nd_event_conf(nd_cycle);
        nd_queue_insert_tail(&ecf->write_queue, &c->write_link);
    }
}


nd_int_t
nd_connection_send(nd_connection_t *c, const void *data, size_t len)
{
    if (nd_connection_room(c, len) != ND_OK) {
        return ND_ERROR;
    }

    if (nd_buf_append(&c->out, data, len) != ND_OK) {
        c->error = 1;
        nd_connection_finalize(c, 0);
        return ND_ERROR;
    }

    nd_connection_queue_write(c);

    return ND_OK;
}


nd_int_t
nd_connection_send_ref(nd_connection_t *c, nd_shared_t *sh,
    const u_char *data, size_t len)
{
    if (nd_connection_room(c, len) != ND_OK) {
        return ND_ERROR;
    }

    if (nd_buf_refs_add(&c->out, &c->out_refs, sh, data, len) != ND_OK) {
        c->error = 1;
        nd_connection_finalize(c, 0);
        return ND_ERROR;
    }

    nd_connection_queue_write(c);

    return ND_OK;
}


nd_int_t
nd_connection_flush(nd_connection_t *c)
{
    int             niov;
    size_t          size;
    ssize_t         n;
    nd_shared_t    *sh;
    struct msghdr   msg;
    const u_char   *p;
    struct iovec    iov[ND_CONNECTION_IOV];

    while ((size = nd_connection_queued(c)) > 0) {
        if (c->ssl) {
            /* TLS records: one piece at a time */
            size = nd_buf_refs_peek(&c->out, &c->out_refs, &p, &sh);
            n = nd_ssl_send(c, p, size);

            if (n > 0) {
                c->ssl_write_on_read = 0;
                nd_buf_refs_consume(&c->out, &c->out_refs, (size_t) n);
                continue;
            }

            if (n == ND_AGAIN) {
                if (c->ssl_write_on_read) {
                    /* the peer's data first, even if the owner does not
                     * read now (see the read handler) */
                    ev_io_stop(nd_cycle->loop, &c->wev);
                    ev_io_start(nd_cycle->loop, &c->rev);
                }
                return ND_AGAIN;
            }

            c->error = 1;
            ev_io_stop(nd_cycle->loop, &c->wev);
            nd_connection_finalize(c, 0);
            return ND_ERROR;
        }

        if (c->out_refs.n == 0) {
            n = send(c->fd, nd_buf_start(&c->out), size, MSG_NOSIGNAL);

        } else {
            /* own bytes and shared blocks in one call */
            niov = nd_buf_refs_iov(&c->out, &c->out_refs, iov,
                                   ND_CONNECTION_IOV);
            memset(&msg, 0, sizeof(msg));
            msg.msg_iov = iov;
            msg.msg_iovlen = (size_t) niov;
            n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
        }

        if (n > 0) {
            nd_buf_refs_consume(&c->out, &c->out_refs, (size_t) n);
            continue;
        }

        if (n < 0 && errno == EINTR) {
            continue;
        }

        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            ev_io_start(nd_cycle->loop, &c->wev);
            return ND_AGAIN;
        }

        nd_log_error(ND_LOG_INFO, &c->log, errno, "send() failed");
        c->error = 1;
        ev_io_stop(nd_cycle->loop, &c->wev);
        nd_connection_finalize(c, 0);
        return ND_ERROR;
    }

    ev_io_stop(nd_cycle->loop, &c->wev);

    if (c->out.cap > 64 * 1024) {
        nd_buf_free(&c->out);           /* do not keep a burst's buffer */
    }

    if (c->close_after_write) {
        nd_connection_finalize(c, 0);
        return ND_OK;
    }

    if (c->drained_handler && !c->close) {
        c->drained_handler(c);
    }

    return ND_OK;
}


void
nd_connection_finalize(nd_connection_t *c, int after_write)
{
    nd_event_conf_t  *ecf;

    if (c->close) {
        return;
    }

    if (after_write && nd_connection_queued(c) && !c->error) {
        c->close_after_write = 1;
        nd_connection_read_stop(c);
        return;
    }

    c->close = 1;
    ev_io_stop(nd_cycle->loop, &c->rev);
    ev_io_stop(nd_cycle->loop, &c->wev);

    ecf = nd_event_conf(nd_cycle);
    nd_queue_insert_tail(&ecf->close_queue, &c->close_link);
}


void
nd_connection_set_busy(nd_connection_t *c, int busy)
{
    if (busy && !c->busy) {
        c->busy = 1;
        nd_cycle->busy++;

    } else if (!busy && c->busy) {
        c->busy = 0;
        nd_cycle->busy--;
    }
}


void
nd_connection_close(nd_connection_t *c)
{
    if (nd_queue_linked(&c->write_link)) {
        nd_queue_remove(&c->write_link);
    }
    if (nd_queue_linked(&c->close_link)) {
        nd_queue_remove(&c->close_link);
    }

    if (nd_cycle->loop) {
        ev_io_stop(nd_cycle->loop, &c->rev);
        ev_io_stop(nd_cycle->loop, &c->wev);
        if (c->connect) {
            nd_timer_stop(&c->connect->timer);
        }
    }

    if (c->close_handler) {
        c->close_handler(c);
        c->close_handler = NULL;
    }

    nd_connection_set_busy(c, 0);

    nd_queue_remove(&c->queue);
    nd_cycle->connection_n--;

    nd_ssl_free(c);

    if (c->fd != -1) {
        close(c->fd);
        c->fd = -1;
    }

    nd_buf_refs_free(&c->out_refs);
    nd_buf_free(&c->out);
    nd_destroy_pool(c->pool);
    nd_free(c);
}

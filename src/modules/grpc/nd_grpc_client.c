/*
 * Outbound gRPC peers (nd_grpc_client.h): one h2c connection per peer,
 * driven by the client role of our framer (nd_grpc_h2_client.c), unary
 * Payload calls multiplexed on it.
 *
 * A call is always in one of three queues: waiting (for a connection),
 * sent (a stream on a connection) or done (its callback not yet run).
 * Calls end into done and callbacks run from one posted handler, so no
 * callback ever runs inside the framer or inside nd_grpc_peer_call.
 * State changes are told from the loop too (connect result, the read
 * handler after the framer returned, a connection's close).
 *
 * After GOAWAY the old connection drains (its streams up to the last id
 * finish there) while a new one is dialled at once; new calls wait for
 * the new one.  A connection lost once ready is dialled again at once;
 * a failed connect (or a connection lost before its SETTINGS) goes to
 * backoff: backoff_min doubling up to backoff_max, each delay picked in
 * [d/2, d].
 */
#include <nd_grpc_internal.h>
#include <nd_grpc_h2_client.h>
#include <nd_grpc_client.h>

#define ND_GRPC_PEER_READ      16384
#define ND_GRPC_PEER_OUT_HIGH  (256 * 1024)
#define ND_GRPC_PEER_TIMEOUT   3000

typedef enum {
    ND_GRPC_PEER_CONNECTING = 0,
    ND_GRPC_PEER_READY,
    ND_GRPC_PEER_BACKOFF
} nd_grpc_peer_state_e;

typedef struct nd_grpc_peer_conn_s  nd_grpc_peer_conn_t;
typedef struct nd_grpc_peer_call_s  nd_grpc_peer_call_t;

/* one connection, in its nd_connection_t's pool */
struct nd_grpc_peer_conn_s {
    nd_grpc_h2c_t          h2c;
    nd_grpc_peer_t        *peer;        /* NULL once let go */
    nd_connection_t       *c;
    unsigned               ready:1;     /* the server's SETTINGS came */
    unsigned               told:1;      /* up = 1 was told */
    unsigned               goaway:1;    /* GOAWAY came */
};

struct nd_grpc_peer_call_s {
    nd_grpc_h2c_stream_t   st;          /* st.data: the call */
    nd_queue_t             link;        /* waiting, sent or done */
    nd_grpc_peer_t        *peer;
    nd_grpc_peer_conn_t   *pc;          /* sent on */
    nd_timer_t             timer;
    nd_grpc_peer_done_pt   cb;
    void                  *data;
    nd_int_t               rc;
    char                  *type;        /* the answer's */
    json_t                *body;
};

struct nd_grpc_peer_s {
    nd_cycle_t            *cycle;
    nd_grpc_peer_conf_t    conf;
    nd_grpc_peer_state_e   state;
    nd_connection_t       *connecting;
    nd_grpc_peer_conn_t   *conn;        /* the current connection */
    nd_grpc_peer_conn_t   *draining;    /* after GOAWAY */
    nd_queue_t             waiting;
    nd_queue_t             sent;
    nd_queue_t             done;
    nd_uint_t              inflight;    /* waiting + sent */
    nd_msec_t              backoff;     /* the next delay's ceiling */
    nd_timer_t             retry;
    nd_posted_t            dispatch;
    nd_uint_t              calling;     /* user callbacks running */
    nd_grpc_peer_stats_t   stats;
    unsigned               destroyed:1;
};

static void nd_grpc_peer_connect(nd_grpc_peer_t *peer);
static nd_int_t nd_grpc_peer_lost(nd_grpc_peer_conn_t *pc, int err);


/* a user callback ran and the peer may be gone: ND_ABORT then */
static nd_int_t
nd_grpc_peer_unwind(nd_grpc_peer_t *peer)
{
    peer->calling--;

    if (!peer->destroyed) {
        return ND_OK;
    }

    if (peer->calling == 0) {
        nd_free(peer);
    }

    return ND_ABORT;
}


static nd_int_t
nd_grpc_peer_tell(nd_grpc_peer_t *peer, int up, int err)
{
    if (peer->conf.state_handler == NULL) {
        return ND_OK;
    }

    peer->calling++;
    peer->conf.state_handler(peer, up, err, peer->conf.data);

    return nd_grpc_peer_unwind(peer);
}


static void
nd_grpc_peer_call_free(nd_grpc_peer_call_t *call)
{
    nd_timer_stop(&call->timer);
    nd_grpc_h2c_stream_free(&call->st);
    nd_free(call->type);
    if (call->body) {
        json_decref(call->body);
    }
    nd_free(call);
}


/* the call is over: its callback runs from the next loop pass */
static void
nd_grpc_peer_complete(nd_grpc_peer_call_t *call, nd_int_t rc)
{
    nd_grpc_peer_t  *peer;

    peer = call->peer;

    nd_timer_stop(&call->timer);
    nd_queue_remove(&call->link);
    call->pc = NULL;
    call->rc = rc;
    peer->inflight--;

    if (rc == ND_OK) {
        peer->stats.answered++;
    } else if (rc == ND_AGAIN) {
        peer->stats.timeouts++;
    } else if (rc != ND_ABORT) {
        peer->stats.failed++;
    }

    nd_queue_insert_tail(&peer->done, &call->link);
    nd_post(&peer->dispatch);
}


static void
nd_grpc_peer_dispatch(nd_posted_t *p)
{
    nd_queue_t           *q;
    nd_grpc_peer_t       *peer;
    nd_grpc_peer_call_t  *call;

    peer = p->data;
    peer->calling++;

    while (!peer->destroyed && !nd_queue_empty(&peer->done)) {
        q = nd_queue_head(&peer->done);
        nd_queue_remove(q);
        call = nd_queue_data(q, nd_grpc_peer_call_t, link);

        call->cb(call->rc, call->rc == ND_OK ? call->type : NULL,
                 call->rc == ND_OK ? call->body : NULL, call->data);
        nd_grpc_peer_call_free(call);
    }

    (void) nd_grpc_peer_unwind(peer);
}


/* every call in q ends with rc */
static void
nd_grpc_peer_complete_all(nd_queue_t *q, nd_int_t rc)
{
    while (!nd_queue_empty(q)) {
        nd_grpc_peer_complete(nd_queue_data(nd_queue_head(q),
                                            nd_grpc_peer_call_t, link), rc);
    }
}


static void
nd_grpc_peer_backoff(nd_grpc_peer_t *peer)
{
    nd_msec_t  delay;

    delay = peer->backoff / 2 + (nd_msec_t) random() % (peer->backoff / 2 + 1);
    peer->backoff = nd_min(peer->backoff * 2, peer->conf.backoff_max);
    peer->state = ND_GRPC_PEER_BACKOFF;

    nd_log_debug(peer->cycle->log, "grpc peer %s: retry in %llu ms",
                 peer->conf.addr.text, (unsigned long long) delay);

    nd_timer_start(&peer->retry, delay, ND_TIMER_ONCE);
}


static void
nd_grpc_peer_retry(nd_timer_t *t)
{
    nd_grpc_peer_connect(t->data);
}


/* the framer's handler */

static nd_int_t
nd_grpc_peer_write(void *data, const u_char *p, size_t len)
{
    nd_grpc_peer_conn_t  *pc = data;

    return nd_connection_send(pc->c, p, len);
}


static nd_int_t
nd_grpc_peer_full(void *data)
{
    nd_grpc_peer_conn_t  *pc = data;

    return nd_buf_size(&pc->c->out) >= ND_GRPC_PEER_OUT_HIGH;
}


static void
nd_grpc_peer_ready(void *data)
{
    nd_grpc_peer_conn_t  *pc = data;

    pc->ready = 1;              /* told once the framer returned */
}


static void
nd_grpc_peer_goaway(void *data, int32_t last_sid, uint32_t code)
{
    nd_grpc_peer_conn_t  *pc = data;

    pc->goaway = 1;
}


/* the answer of a call that ended on the wire */
static nd_int_t
nd_grpc_peer_answer(nd_grpc_peer_call_t *call)
{
    u_char                *p;
    size_t                 size, len;
    const char            *type;
    Payload               *payload;
    nd_grpc_h2c_stream_t  *st;

    st = &call->st;

    if (st->end != ND_GRPC_H2C_ANSWERED) {
        nd_log_error(ND_LOG_INFO, call->peer->cycle->log, 0,
                     "grpc peer %s: call failed (%d): %s",
                     call->peer->conf.addr.text, (int) st->end,
                     st->message[0] ? st->message : "connection lost");
        return ND_ERROR;
    }

    if (st->grpc_status != 0) {
        nd_log_error(ND_LOG_INFO, call->peer->cycle->log, 0,
                     "grpc peer %s: grpc-status %d: %s",
                     call->peer->conf.addr.text, (int) st->grpc_status,
                     st->message);
        return ND_ERROR;
    }

    size = nd_buf_size(&st->in);
    p = nd_buf_start(&st->in);
    len = size >= 5 ? ((size_t) p[1] << 24 | (size_t) p[2] << 16
                       | (size_t) p[3] << 8 | (size_t) p[4])
                    : 0;

    if (size < 5 || p[0] != 0 || size != 5 + len) {
        nd_log_error(ND_LOG_INFO, call->peer->cycle->log, 0,
                     "grpc peer %s: not one uncompressed message "
                     "(%zu bytes)", call->peer->conf.addr.text, size);
        return ND_ERROR;
    }

    payload = payload__unpack(NULL, len, p + 5);
    if (payload == NULL) {
        nd_log_error(ND_LOG_INFO, call->peer->cycle->log, 0,
                     "grpc peer %s: invalid protobuf payload",
                     call->peer->conf.addr.text);
        return ND_ERROR;
    }

    type = payload->metadata && payload->metadata->type
           ? payload->metadata->type : "";
    call->type = nd_alloc(strlen(type) + 1);
    call->body = nd_grpc_payload_body(payload);

    if (call->type) {
        memcpy(call->type, type, strlen(type) + 1);
    }

    payload__free_unpacked(payload, NULL);

    if (call->type == NULL || call->body == NULL) {
        nd_log_error(ND_LOG_INFO, call->peer->cycle->log, 0,
                     "grpc peer %s: undecodable \"%s\" body",
                     call->peer->conf.addr.text, type);
        return ND_ERROR;
    }

    return ND_OK;
}


static void
nd_grpc_peer_end(void *data, nd_grpc_h2c_stream_t *st)
{
    nd_grpc_peer_call_t  *call;

    call = st->data;

    if (st->end == ND_GRPC_H2C_REFUSED && st->id == 0) {
        /* never sent (GOAWAY, or the connection went first): it waits
         * for the next connection, within its timeout */
        nd_queue_remove(&call->link);
        nd_queue_insert_tail(&call->peer->waiting, &call->link);
        call->pc = NULL;
        return;
    }

    nd_grpc_peer_complete(call, nd_grpc_peer_answer(call));
    nd_grpc_h2c_stream_free(st);
}


static const nd_grpc_h2c_handler_t  nd_grpc_peer_h2c = {
    .write = nd_grpc_peer_write,
    .full = nd_grpc_peer_full,
    .ready = nd_grpc_peer_ready,
    .end = nd_grpc_peer_end,
    .goaway = nd_grpc_peer_goaway,
};


/* connections */

static void
nd_grpc_peer_submit(nd_grpc_peer_conn_t *pc, nd_grpc_peer_call_t *call)
{
    nd_queue_remove(&call->link);
    nd_queue_insert_tail(&pc->peer->sent, &call->link);
    call->pc = pc;

    if (nd_grpc_h2c_submit(&pc->h2c, &call->st) != ND_OK) {
        nd_grpc_peer_complete(call, ND_ERROR);
    }
}


/* let pc go: nothing of the peer refers to it any more */
static void
nd_grpc_peer_release(nd_grpc_peer_conn_t *pc)
{
    nd_grpc_peer_t  *peer;

    peer = pc->peer;

    if (peer->conn == pc) {
        peer->conn = NULL;
    }
    if (peer->draining == pc) {
        peer->draining = NULL;
    }

    pc->peer = NULL;
    nd_connection_finalize(pc->c, 1);
}


/* a draining connection closes once its last stream ended */
static void
nd_grpc_peer_drain_check(nd_grpc_peer_conn_t *pc)
{
    if (pc->peer && pc->peer->draining == pc
        && nd_grpc_h2c_streams(&pc->h2c) == 0)
    {
        nd_grpc_h2c_goaway(&pc->h2c);
        nd_grpc_peer_release(pc);
    }
}


/* after the framer returned: tell what it saw; ND_ABORT: peer gone */
static nd_int_t
nd_grpc_peer_after(nd_grpc_peer_conn_t *pc)
{
    nd_grpc_peer_t  *peer;

    peer = pc->peer;
    if (peer == NULL) {
        return ND_OK;
    }

    if (pc->h2c.failed || pc->c->close || pc->c->error) {
        return nd_grpc_peer_lost(pc, 0);
    }

    if (pc->goaway && peer->conn == pc) {
        /* streams up to its last id finish here; new calls go to a new
         * connection, dialled now */
        if (peer->draining) {
            (void) nd_grpc_peer_lost(peer->draining, 0);
        }
        peer->conn = NULL;
        peer->draining = pc;
        peer->state = ND_GRPC_PEER_CONNECTING;

        if (pc->told && nd_grpc_peer_tell(peer, 0, 0) != ND_OK) {
            return ND_ABORT;
        }

        nd_grpc_peer_connect(peer);
        nd_grpc_peer_drain_check(pc);
        return ND_OK;
    }

    if (pc->ready && !pc->told && peer->conn == pc) {
        pc->told = 1;
        peer->state = ND_GRPC_PEER_READY;
        peer->backoff = peer->conf.backoff_min;

        nd_log_error(ND_LOG_INFO, &pc->c->log, 0, "grpc peer connected");

        if (nd_grpc_peer_tell(peer, 1, 0) != ND_OK) {
            return ND_ABORT;
        }
    }

    nd_grpc_peer_drain_check(pc);

    return ND_OK;
}


/* pc failed or closed: its calls fail; the current one is dialled again
 * (at once when it had been ready, else after backoff); ND_ABORT: the
 * state handler destroyed the peer */
static nd_int_t
nd_grpc_peer_lost(nd_grpc_peer_conn_t *pc, int err)
{
    int              current, told;
    nd_grpc_peer_t  *peer;

    peer = pc->peer;
    if (peer == NULL) {
        return ND_OK;
    }

    current = (peer->conn == pc);
    told = pc->told;

    nd_log_error(ND_LOG_INFO, &pc->c->log, err, "grpc peer connection lost");

    nd_grpc_h2c_fail(&pc->h2c, ND_GRPC_H2C_LOST);
    nd_grpc_peer_release(pc);

    if (!current) {
        return ND_OK;
    }

    if (told) {
        peer->state = ND_GRPC_PEER_CONNECTING;
        if (nd_grpc_peer_tell(peer, 0, err) != ND_OK) {
            return ND_ABORT;
        }
        nd_grpc_peer_connect(peer);
        return ND_OK;
    }

    /* lost before it was ever ready: as a failed connect */
    nd_grpc_peer_complete_all(&peer->waiting, ND_ERROR);
    nd_grpc_peer_backoff(peer);

    return nd_grpc_peer_tell(peer, 0, err);
}


static void
nd_grpc_peer_read(nd_connection_t *c)
{
    int                   err;
    u_char                buf[ND_GRPC_PEER_READ];
    ssize_t               n;
    nd_grpc_peer_conn_t  *pc;

    pc = c->data;

    for ( ;; ) {
        if (pc->peer == NULL) {
            nd_connection_read_stop(c);
            return;
        }

        n = nd_connection_recv(c, buf, sizeof(buf));

        if (n > 0) {
            nd_grpc_h2c_recv(&pc->h2c, buf, (size_t) n);

            if (nd_grpc_peer_after(pc) != ND_OK || pc->peer == NULL) {
                return;
            }

            if ((size_t) n < sizeof(buf)) {
                return;
            }
            continue;
        }

        if (n == ND_AGAIN) {
            return;
        }

        err = (n == 0 || errno == 0) ? ECONNRESET : errno;
        (void) nd_grpc_peer_lost(pc, err);
        return;
    }
}


static void
nd_grpc_peer_drained(nd_connection_t *c)
{
    nd_grpc_peer_conn_t  *pc;

    pc = c->data;

    if (pc->peer) {
        nd_grpc_h2c_send(&pc->h2c);
        (void) nd_grpc_peer_after(pc);
    }
}


static void
nd_grpc_peer_close_handler(nd_connection_t *c)
{
    nd_grpc_peer_conn_t  *pc;

    pc = c->data;

    /* closed under us (a write failed): as lost */
    (void) nd_grpc_peer_lost(pc, c->error ? ECONNRESET : 0);

    nd_grpc_h2c_free(&pc->h2c);
}


static void
nd_grpc_peer_connected_handler(nd_connection_t *c, int err, void *data)
{
    nd_queue_t           *q;
    nd_grpc_peer_t       *peer = data;
    nd_grpc_peer_conn_t  *pc;

    peer->connecting = NULL;

    if (err) {
        nd_grpc_peer_complete_all(&peer->waiting, ND_ERROR);
        nd_grpc_peer_backoff(peer);
        (void) nd_grpc_peer_tell(peer, 0, err);
        return;
    }

    pc = nd_pcalloc(c->pool, sizeof(nd_grpc_peer_conn_t));
    if (pc == NULL
        || (peer->conf.ssl
            && nd_ssl_connect_init(c, peer->conf.ssl, peer->conf.addr.host)
               != ND_OK))
    {
        nd_connection_finalize(c, 0);
        nd_grpc_peer_complete_all(&peer->waiting, ND_ERROR);
        nd_grpc_peer_backoff(peer);
        return;
    }

    pc->peer = peer;
    pc->c = c;
    c->data = pc;
    c->read_handler = nd_grpc_peer_read;
    c->drained_handler = nd_grpc_peer_drained;
    c->close_handler = nd_grpc_peer_close_handler;
    peer->conn = pc;

    if (nd_grpc_h2c_init(&pc->h2c, &nd_grpc_peer_h2c, pc, &c->log,
                         peer->conf.addr.text, peer->conf.max_message_size,
                         0)
        != ND_OK)
    {
        nd_grpc_peer_release(pc);       /* the close tells the rest */
        return;
    }

    nd_connection_read_start(c);

    /* they open once the server's SETTINGS came */
    while (!nd_queue_empty(&peer->waiting)) {
        q = nd_queue_head(&peer->waiting);
        nd_grpc_peer_submit(pc, nd_queue_data(q, nd_grpc_peer_call_t, link));
    }
}


static void
nd_grpc_peer_connect(nd_grpc_peer_t *peer)
{
    nd_timer_stop(&peer->retry);

    if (peer->connecting || peer->conn || peer->destroyed) {
        return;
    }

    peer->state = ND_GRPC_PEER_CONNECTING;
    peer->connecting = nd_connection_connect(peer->cycle, &peer->conf.addr,
                                             peer->conf.connect_timeout,
                                             nd_grpc_peer_connected_handler,
                                             peer);
    if (peer->connecting == NULL) {
        nd_grpc_peer_complete_all(&peer->waiting, ND_ERROR);
        nd_grpc_peer_backoff(peer);
    }
}


/* the API */

nd_grpc_peer_t *
nd_grpc_peer_create(nd_cycle_t *cycle, const nd_grpc_peer_conf_t *conf)
{
    nd_grpc_peer_t  *peer;

    peer = nd_calloc(sizeof(nd_grpc_peer_t));
    if (peer == NULL) {
        return NULL;
    }

    peer->cycle = cycle;
    peer->conf = *conf;

    if (peer->conf.connect_timeout == 0) {
        peer->conf.connect_timeout = 3000;
    }
    if (peer->conf.backoff_min == 0) {
        peer->conf.backoff_min = 100;
    }
    if (peer->conf.backoff_max == 0) {
        peer->conf.backoff_max = 5000;
    }
    peer->conf.backoff_max = nd_max(peer->conf.backoff_max,
                                    peer->conf.backoff_min);
    if (peer->conf.max_inflight == 0) {
        peer->conf.max_inflight = 1024;
    }
    if (peer->conf.max_message_size == 0) {
        peer->conf.max_message_size = 4 * 1024 * 1024;
    }

    peer->backoff = peer->conf.backoff_min;
    nd_queue_init(&peer->waiting);
    nd_queue_init(&peer->sent);
    nd_queue_init(&peer->done);
    nd_timer_init(&peer->retry, "grpc peer retry", nd_grpc_peer_retry, peer);
    peer->dispatch.handler = nd_grpc_peer_dispatch;
    peer->dispatch.data = peer;

    nd_grpc_peer_connect(peer);

    return peer;
}


void
nd_grpc_peer_destroy(nd_grpc_peer_t *peer)
{
    nd_queue_t           *q, *queues[3];
    nd_uint_t             i;
    nd_grpc_peer_call_t  *call;

    if (peer == NULL || peer->destroyed) {
        return;
    }

    peer->destroyed = 1;
    peer->calling++;

    nd_timer_stop(&peer->retry);
    nd_post_cancel(&peer->dispatch);

    if (peer->connecting) {
        nd_connection_finalize(peer->connecting, 0);
        peer->connecting = NULL;
    }

    /* every call not yet told hears ND_ABORT, now */
    queues[0] = &peer->sent;
    queues[1] = &peer->waiting;
    queues[2] = &peer->done;

    for (i = 0; i < 3; i++) {
        while (!nd_queue_empty(queues[i])) {
            q = nd_queue_head(queues[i]);
            nd_queue_remove(q);
            call = nd_queue_data(q, nd_grpc_peer_call_t, link);

            if (call->pc) {
                nd_grpc_h2c_cancel(&call->pc->h2c, &call->st);
            }
            nd_timer_stop(&call->timer);
            call->cb(ND_ABORT, NULL, NULL, call->data);
            nd_grpc_peer_call_free(call);
        }
    }

    peer->inflight = 0;

    if (peer->draining) {
        nd_grpc_h2c_goaway(&peer->draining->h2c);
        nd_grpc_peer_release(peer->draining);
    }

    if (peer->conn) {
        nd_grpc_h2c_goaway(&peer->conn->h2c);
        nd_grpc_peer_release(peer->conn);
    }

    (void) nd_grpc_peer_unwind(peer);
}


static void
nd_grpc_peer_timeout(nd_timer_t *t)
{
    nd_grpc_peer_call_t  *call;
    nd_grpc_peer_conn_t  *pc;

    call = t->data;
    pc = call->pc;

    nd_log_error(ND_LOG_INFO, call->peer->cycle->log, 0,
                 "grpc peer %s: call timed out", call->peer->conf.addr.text);

    if (pc) {
        nd_grpc_h2c_cancel(&pc->h2c, &call->st);
    }

    nd_grpc_peer_complete(call, ND_AGAIN);

    if (pc) {
        nd_grpc_peer_drain_check(pc);
    }
}


/* the request: Payload {metadata {type, headers}, body} */
static int
nd_grpc_peer_encode(nd_grpc_peer_t *peer, nd_grpc_peer_call_t *call,
    const char *type, const u_char *json, size_t len, json_t *headers)
{
    int                      rc;
    size_t                   n, i;
    json_t                  *v;
    Metadata                 meta = METADATA__INIT;
    const char              *key;
    Metadata__HeadersEntry  *entries, **ptrs;

    n = (headers && json_is_object(headers) ? json_object_size(headers) : 0)
        + (peer->conf.source ? 1 : 0) + (peer->conf.identity ? 1 : 0);

    entries = nd_calloc(n * sizeof(Metadata__HeadersEntry) + 1);
    ptrs = nd_calloc(n * sizeof(Metadata__HeadersEntry *) + 1);

    rc = ND_ERROR;

    if (entries == NULL || ptrs == NULL) {
        goto done;
    }

    i = 0;

    if (headers && json_is_object(headers)) {
        json_object_foreach(headers, key, v) {
            if (!json_is_string(v)
                || (peer->conf.source && strcmp(key, "source") == 0))
            {
                continue;
            }
            metadata__headers_entry__init(&entries[i]);
            entries[i].key = (char *) key;
            entries[i].value = (char *) json_string_value(v);
            ptrs[i] = &entries[i];
            i++;
        }
    }

    if (peer->conf.source) {
        metadata__headers_entry__init(&entries[i]);
        entries[i].key = (char *) "source";
        entries[i].value = (char *) peer->conf.source;
        ptrs[i] = &entries[i];
        i++;
    }

    if (peer->conf.identity) {
        metadata__headers_entry__init(&entries[i]);
        entries[i].key = (char *) ND_SERVER_IDENTITY;
        entries[i].value = (char *) peer->conf.identity->data;
        ptrs[i] = &entries[i];
        i++;
    }

    meta.type = (char *) type;
    meta.n_headers = i;
    meta.headers = ptrs;

    rc = nd_grpc_payload_frame(&call->st.out, &meta, json, len);

done:

    nd_free(entries);
    nd_free(ptrs);

    return rc;
}


static nd_int_t nd_grpc_peer_start(nd_grpc_peer_t *peer, const char *type,
    const u_char *json, size_t len, json_t *headers, nd_msec_t timeout,
    nd_grpc_peer_done_pt cb, void *data);


nd_int_t
nd_grpc_peer_call(nd_grpc_peer_t *peer, const char *type, json_t *body,
    json_t *headers, nd_msec_t timeout, nd_grpc_peer_done_pt cb,
    void *data)
{
    int       rc;
    nd_buf_t  json;

    nd_buf_init(&json);

    if (!json_is_object(body) || nd_json_dump_buf(body, &json) != ND_OK) {
        nd_log_error(ND_LOG_ERR, peer->cycle->log, 0,
                     "grpc peer %s: \"%s\" not called: bad body",
                     peer->conf.addr.text, type);
        json_decref(body);
        nd_buf_free(&json);
        return ND_ERROR;
    }

    json_decref(body);

    rc = nd_grpc_peer_start(peer, type, nd_buf_start(&json),
                            nd_buf_size(&json), headers, timeout, cb, data);
    nd_buf_free(&json);

    return rc;
}


int
nd_grpc_peer_call_raw(nd_grpc_peer_t *peer, const char *type,
    const u_char *json, size_t len, json_t *headers, nd_msec_t timeout,
    nd_grpc_peer_done_pt cb, void *data)
{
    return nd_grpc_peer_start(peer, type, json, len, headers, timeout, cb,
                              data);
}


static nd_int_t
nd_grpc_peer_start(nd_grpc_peer_t *peer, const char *type,
    const u_char *json, size_t len, json_t *headers, nd_msec_t timeout,
    nd_grpc_peer_done_pt cb, void *data)
{
    size_t                size;
    nd_grpc_peer_call_t  *call;

    if (peer->destroyed || cb == NULL) {
        nd_log_error(ND_LOG_ERR, peer->cycle->log, 0,
                     "grpc peer %s: \"%s\" not called: %s",
                     peer->conf.addr.text, type,
                     peer->destroyed ? "peer destroyed" : "bad arguments");
        return ND_ERROR;
    }

    call = nd_calloc(sizeof(nd_grpc_peer_call_t));
    if (call == NULL) {
        return ND_ERROR;
    }

    call->peer = peer;
    call->cb = cb;
    call->data = data;
    call->st.data = call;
    nd_buf_init(&call->st.out);
    nd_buf_init(&call->st.in);
    nd_timer_init(&call->timer, "grpc peer call", nd_grpc_peer_timeout, call);

    if (nd_grpc_peer_encode(peer, call, type, json, len, headers) != ND_OK) {
        nd_log_error(ND_LOG_ERR, peer->cycle->log, 0,
                     "grpc peer %s: cannot encode \"%s\"",
                     peer->conf.addr.text, type);
        nd_grpc_peer_call_free(call);
        return ND_ERROR;
    }

    size = nd_buf_size(&call->st.out) - 5;
    if (size > peer->conf.max_message_size) {
        nd_log_error(ND_LOG_ERR, peer->cycle->log, 0,
                     "grpc peer %s: \"%s\" of %zu bytes is over "
                     "max_message_size %zu", peer->conf.addr.text, type,
                     size, peer->conf.max_message_size);
        nd_grpc_peer_call_free(call);
        return ND_ERROR;
    }

    peer->inflight++;
    peer->stats.calls++;
    nd_queue_insert_tail(&peer->waiting, &call->link);

    if (peer->state == ND_GRPC_PEER_BACKOFF) {
        nd_grpc_peer_complete(call, ND_DECLINED);
        return ND_OK;
    }

    if (peer->inflight > peer->conf.max_inflight) {
        nd_log_error(ND_LOG_WARN, peer->cycle->log, 0,
                     "grpc peer %s: \"%s\" declined: %lu calls in flight "
                     "(max_inflight)", peer->conf.addr.text, type,
                     (unsigned long) peer->conf.max_inflight);
        nd_grpc_peer_complete(call, ND_DECLINED);
        return ND_OK;
    }

    nd_timer_start(&call->timer, timeout ? timeout : ND_GRPC_PEER_TIMEOUT,
                   ND_TIMER_ONCE);

    if (peer->conn) {
        nd_grpc_peer_submit(peer->conn, call);
        nd_grpc_h2c_send(&peer->conn->h2c);
        /* a failed write closes the connection: its close handler
         * ends the calls, from the loop */
    }

    return ND_OK;
}


int
nd_grpc_peer_connected(nd_grpc_peer_t *peer)
{
    return peer->state == ND_GRPC_PEER_READY && peer->conn != NULL;
}


void
nd_grpc_peer_kick(nd_grpc_peer_t *peer)
{
    peer->backoff = peer->conf.backoff_min;

    if (peer->state == ND_GRPC_PEER_BACKOFF) {
        nd_grpc_peer_connect(peer);
    }
}


nd_uint_t
nd_grpc_peer_inflight(nd_grpc_peer_t *peer)
{
    return peer->inflight;
}


const nd_grpc_peer_stats_t *
nd_grpc_peer_stats(nd_grpc_peer_t *peer)
{
    return &peer->stats;
}

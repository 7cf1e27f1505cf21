/*
 * gRPC connections: streams, message framing, the Payload envelope,
 * dispatch by metadata.type, replies and registration (server pushes and
 * the liveness probes: nd_grpc_push.c).
 *
 * A connection's id is "<millis>_<ip>_<port>" of its TCP connection; every
 * stream on it belongs to that id.  ServerCheckRequest is answered at any
 * time; every other unary request needs the bi-stream's
 * ConnectionSetupRequest first (else ErrorResponse 301).
 */
#include <nd_grpc_internal.h>

#define ND_GRPC_READ_CHUNK  16384
/* bytes waiting for the socket past which we stop reading the client
 * (nd_grpc_h2.c stops adding frames at 256 KB; PING and SETTINGS answers
 * come on top) until its output drains */
#define ND_GRPC_READ_STOP   (256 * 1024)

static void nd_grpc_read(nd_connection_t *c);
static void nd_grpc_close_handler(nd_connection_t *c);
static void nd_grpc_drained(nd_connection_t *c);
static void nd_grpc_flush_handler(nd_posted_t *p);
static void nd_grpc_stream_message(nd_grpc_stream_t *st, const u_char *msg,
    size_t len);
static void nd_grpc_call_free(nd_grpc_call_t *call);
static void nd_grpc_unknown_type(nd_grpc_call_t *call, const char *type);
static void nd_grpc_dispatch(nd_grpc_conn_t *conn);


void
nd_grpc_flush_later(nd_grpc_conn_t *conn)
{
    nd_post(&conn->flush);
}


void
nd_grpc_conn_touch(nd_grpc_conn_t *conn)
{
    conn->last_active = nd_time_monotonic_msec();
}


/* the count of SDK connections from conn's peer address that wait for
 * their ConnectionSetupRequest, changed by delta (+1, -1); kept in
 * gcf->handshaking as the value itself, absent at 0 */
static uintptr_t
nd_grpc_handshaking(nd_grpc_conn_t *conn, int delta)
{
    size_t      len;
    uintptr_t   n;
    nd_hash_t  *h;
    u_char     *ip;

    h = &conn->gcf->handshaking;
    ip = (u_char *) conn->c->addr.host;
    len = strlen((char *) ip);

    n = (uintptr_t) nd_hash_del(h, ip, len) + (uintptr_t) (intptr_t) delta;

    if (n && nd_hash_add(h, ip, len, (void *) n) != ND_OK) {
        return UINTPTR_MAX;
    }

    return n;
}


/* one more connection of this address waits for ConnectionSetupRequest;
 * ND_DECLINED: max_handshakes_per_ip of them already do (a burst of
 * half-open handshakes, as a SYN flood) */
static nd_int_t
nd_grpc_handshake_start(nd_grpc_conn_t *conn)
{
    uintptr_t  n;

    n = (uintptr_t) nd_hash_find(&conn->gcf->handshaking,
                                 (u_char *) conn->c->addr.host,
                                 strlen(conn->c->addr.host));

    if (n >= conn->gcf->max_handshakes_per_ip) {
        return ND_DECLINED;
    }

    if (nd_grpc_handshaking(conn, 1) == UINTPTR_MAX) {
        return ND_ERROR;
    }

    conn->handshaking = 1;

    return ND_OK;
}


/* set up or closed: no longer counted */
static void
nd_grpc_handshake_done(nd_grpc_conn_t *conn)
{
    if (conn->handshaking) {
        conn->handshaking = 0;
        (void) nd_grpc_handshaking(conn, -1);
    }
}


static void
nd_grpc_conn_init(nd_connection_t *c, unsigned cluster)
{
    nd_grpc_conn_t  *conn;
    nd_grpc_conf_t  *gcf;

    gcf = nd_grpc_conf(nd_cycle);

    conn = nd_pcalloc(c->pool, sizeof(nd_grpc_conn_t));
    if (conn == NULL) {
        nd_connection_close(c);
        return;
    }

    conn->c = c;
    conn->gcf = gcf;
    conn->cluster = cluster;
    c->data = conn;
    c->read_handler = nd_grpc_read;
    c->drained_handler = nd_grpc_drained;
    c->close_handler = nd_grpc_close_handler;
    c->out_max = gcf->push_queue_max + 1024 * 1024;

    snprintf(conn->id, sizeof(conn->id), "%llu_%s_%u",
             (unsigned long long) nd_time_now_msec(), c->addr.host,
             (unsigned) c->addr.port);
    snprintf(conn->client_ip, sizeof(conn->client_ip), "%s", c->addr.host);

    nd_queue_init(&conn->streams);
    nd_queue_init(&conn->pushes);
    nd_queue_init(&conn->ready);
    nd_queue_insert_tail(&gcf->all, &conn->link);
    gcf->nconns++;
    conn->flush.handler = nd_grpc_flush_handler;
    conn->flush.data = conn;
    nd_grpc_conn_touch(conn);
    conn->created = conn->last_active;
    conn->reset_at = conn->last_active;
    conn->reset_credit = (uint64_t) gcf->stream_reset_rate * 1000;

    if (nd_grpc_h2_session(conn) != ND_OK) {
        nd_connection_finalize(c, 0);
        return;
    }

    if (nd_cycle->stopping) {
        nd_grpc_conn_close(conn, "server is stopping");
        return;
    }

    if (!cluster) {
        switch (nd_grpc_handshake_start(conn)) {
        case ND_OK:
            break;

        case ND_DECLINED:
            nd_log_error(ND_LOG_WARN, &c->log, 0, "too many connections "
                         "from %s waiting for ConnectionSetupRequest "
                         "(max_handshakes_per_ip %lu), refused", c->addr.host,
                         (unsigned long) gcf->max_handshakes_per_ip);
            /* our SETTINGS, then GOAWAY ENHANCE_YOUR_CALM saying why */
            conn->closing = 1;
            nd_grpc_h2_calm(conn, "too many connections from this address "
                            "waiting for ConnectionSetupRequest");
            nd_grpc_h2_send(conn);
            nd_connection_finalize(c, 1);
            return;

        default:
            nd_connection_finalize(c, 0);
            return;
        }
    }

    nd_connection_read_start(c);
    nd_grpc_flush_later(conn);            /* our SETTINGS */
}


void
nd_grpc_init_connection(nd_connection_t *c)
{
    nd_grpc_conn_init(c, 0);
}


/* the cluster port: the same protocol, the cluster's handlers, no
 * ConnectionSetup and no bi-stream */
void
nd_grpc_init_cluster_connection(nd_connection_t *c)
{
    nd_grpc_conn_init(c, 1);
}


static void
nd_grpc_read(nd_connection_t *c)
{
    u_char           buf[ND_GRPC_READ_CHUNK];
    ssize_t          n;
    nd_grpc_conn_t  *conn;

    conn = c->data;

    for ( ;; ) {
        n = nd_connection_recv(c, buf, sizeof(buf));

        if (n > 0) {
            if (nd_grpc_h2_recv(conn, buf, (size_t) n) != ND_OK) {
                /* a protocol error: GOAWAY is queued */
                nd_grpc_h2_send(conn);
                nd_connection_finalize(c, 1);
                return;
            }
            if (c->close || (size_t) n < sizeof(buf)) {
                break;
            }
            continue;
        }

        if (n == ND_AGAIN) {
            break;
        }

        nd_connection_finalize(c, 0);      /* eof or error */
        return;
    }

    if (nd_connection_queued(c) >= ND_GRPC_READ_STOP) {
        /* the client does not read what we owe it: neither do we, until
         * nd_grpc_drained (nginx's backpressure) */
        nd_log_debug(&c->log, "grpc output over %d bytes: reading stops",
                     ND_GRPC_READ_STOP);
        nd_connection_read_stop(c);
        conn->read_stopped = 1;
    }

    nd_grpc_flush_later(conn);
}


static void
nd_grpc_flush_handler(nd_posted_t *p)
{
    nd_grpc_conn_t  *conn;

    conn = p->data;

    if (conn->c->close) {
        return;
    }

    nd_grpc_dispatch(conn);

    if (conn->c->close) {
        return;
    }

    if (nd_grpc_h2_send(conn) != ND_OK) {
        nd_connection_finalize(conn->c, 0);
        return;
    }

    if (!nd_grpc_h2_want_io(conn)) {
        nd_connection_finalize(conn->c, 1);
    }
}


static void
nd_grpc_drained(nd_connection_t *c)
{
    nd_grpc_conn_t  *conn;

    conn = c->data;

    if (conn->read_stopped) {
        conn->read_stopped = 0;
        nd_connection_read_start(c);
    }

    nd_grpc_flush_later(conn);        /* more frames may wait in streams */
}


static void
nd_grpc_conn_hooks(nd_grpc_conn_t *conn, int up)
{
    nd_uint_t              i;
    nd_grpc_conn_hook_pt  *hooks;

    hooks = conn->gcf->conn_hooks.elts;

    for (i = 0; i < conn->gcf->conn_hooks.nelts; i++) {
        hooks[i](conn, up);
    }
}


static void
nd_grpc_close_handler(nd_connection_t *c)
{
    nd_str_t          key;
    nd_queue_t       *q;
    nd_grpc_conn_t   *conn;
    nd_grpc_push_t   *push;
    nd_grpc_closed_t *closed;
    nd_grpc_conf_t   *gcf;
    nd_grpc_stream_t *st;
    nd_grpc_push_pt   cb;
    void             *data;

    conn = c->data;
    gcf = conn->gcf;
    conn->closing = 1;

    nd_post_cancel(&conn->flush);

    while (!nd_queue_empty(&conn->pushes)) {
        q = nd_queue_head(&conn->pushes);
        push = nd_queue_data(q, nd_grpc_push_t, link);
        cb = push->cb;
        data = push->data;
        nd_grpc_push_free(push);
        if (cb) {
            cb(conn, 0, NULL, data);
        }
    }

    while (!nd_queue_empty(&conn->streams)) {
        q = nd_queue_head(&conn->streams);
        st = nd_queue_data(q, nd_grpc_stream_t, link);
        nd_grpc_stream_closed(st);
    }

    nd_grpc_handshake_done(conn);

    if (conn->registered) {
        conn->registered = 0;
        gcf->registered--;
        nd_hash_del(&gcf->conns, (u_char *) conn->id, strlen(conn->id));
        nd_log_error(ND_LOG_INFO, &c->log, 0,
                     "grpc connection %s unregistered", conn->id);
        nd_grpc_conn_hooks(conn, 0);

        closed = calloc(1, sizeof(nd_grpc_closed_t));
        if (closed) {
            closed->moved = conn->moved;
        }
        key.data = (u_char *) conn->id;
        key.len = strlen(conn->id);
        nd_event_publish(nd_cycle, ND_EV_CONNECTION_CLOSED, &key, closed,
                         free);
    }

    nd_queue_remove(&conn->link);
    conn->gcf->nconns--;
    nd_grpc_h2_free(conn);

    json_decref(conn->labels);
    nd_free(conn->client_version);
    nd_free(conn->tenant);
}


void
nd_grpc_conn_close(nd_grpc_conn_t *conn, const char *reason)
{
    if (conn->c->close || conn->closing) {
        return;
    }

    nd_log_error(ND_LOG_INFO, &conn->c->log, 0, "closing grpc connection %s: %s",
                 conn->id, reason);

    conn->closing = 1;
    nd_grpc_h2_goaway(conn);
    nd_grpc_h2_send(conn);
    nd_connection_finalize(conn->c, 1);
}


/* streams */

nd_grpc_stream_t *
nd_grpc_stream_open(nd_grpc_conn_t *conn, int32_t id)
{
    nd_grpc_stream_t  *st;

    st = nd_calloc(sizeof(nd_grpc_stream_t));
    if (st == NULL) {
        return NULL;
    }

    st->id = id;
    st->conn = conn;
    nd_queue_insert_tail(&conn->streams, &st->link);

    return st;
}


nd_int_t
nd_grpc_stream_header(nd_grpc_stream_t *st, const u_char *name, size_t nlen,
    const u_char *value, size_t vlen)
{
    if (nlen == 5 && memcmp(name, ":path", 5) == 0) {
        if (vlen == sizeof(ND_GRPC_PATH_UNARY) - 1
            && memcmp(value, ND_GRPC_PATH_UNARY, vlen) == 0)
        {
            st->unary = 1;

        } else if (vlen == sizeof(ND_GRPC_PATH_BIDI) - 1
                   && memcmp(value, ND_GRPC_PATH_BIDI, vlen) == 0)
        {
            st->bidi = 1;
        }
        return ND_OK;
    }

    if (nlen == 13 && memcmp(name, "grpc-encoding", 13) == 0
        && !(vlen == 8 && memcmp(value, "identity", 8) == 0))
    {
        st->status = ND_GRPC_UNIMPLEMENTED;
        st->message = "compression is not supported";
    }

    return ND_OK;
}


static void
nd_grpc_stream_fail(nd_grpc_stream_t *st, uint32_t status, const char *msg)
{
    nd_log_error(ND_LOG_INFO, &st->conn->c->log, 0,
                 "grpc stream %d failed: %s", (int) st->id, msg);

    nd_buf_free(&st->in);
    st->status = status;
    st->message = msg;
    st->ended = 1;                     /* ignore what else arrives */

    if (nd_grpc_h2_trailers_only(st, status, msg) != ND_OK) {
        nd_grpc_h2_reset(st);
    }

    nd_grpc_flush_later(st->conn);
}


/* pull complete gRPC messages out of st->in */
static void
nd_grpc_stream_parse(nd_grpc_stream_t *st, int all)
{
    u_char   *p;
    size_t    size, len;

    for ( ;; ) {
        size = nd_buf_size(&st->in);
        if (size < 5) {
            break;
        }

        p = nd_buf_start(&st->in);
        len = (size_t) p[1] << 24 | (size_t) p[2] << 16 | (size_t) p[3] << 8
              | (size_t) p[4];

        if (len > st->conn->gcf->max_message_size) {
            nd_grpc_stream_fail(st, ND_GRPC_RESOURCE_EXHAUSTED,
                                "message larger than max");
            return;
        }

        if (p[0] != 0) {
            nd_grpc_stream_fail(st, ND_GRPC_UNIMPLEMENTED,
                                "compression is not supported");
            return;
        }

        if (size < 5 + len) {
            break;
        }

        if (!all) {
            return;                    /* unary: wait for END_STREAM */
        }

        nd_grpc_stream_message(st, p + 5, len);
        nd_buf_consume(&st->in, 5 + len);

        if (st->ended && !st->bidi) {
            return;
        }
    }
}


nd_int_t
nd_grpc_stream_data(nd_grpc_stream_t *st, const u_char *data, size_t len)
{
    if (st->ended) {
        return ND_OK;
    }

    if (nd_buf_append(&st->in, data, len) != ND_OK) {
        nd_grpc_stream_fail(st, ND_GRPC_RESOURCE_EXHAUSTED, "out of memory");
        return ND_ERROR;
    }

    nd_grpc_stream_parse(st, st->bidi);

    return ND_OK;
}


void
nd_grpc_stream_end(nd_grpc_stream_t *st)
{
    if (st->ended) {
        return;
    }

    if (st->bidi) {
        /* the client closed its side: close ours */
        st->ended = 1;
        nd_grpc_h2_trailers_only(st, ND_GRPC_OK, NULL);
        nd_grpc_flush_later(st->conn);
        return;
    }

    if (!st->unary) {
        nd_grpc_stream_fail(st, ND_GRPC_UNIMPLEMENTED, "unknown method");
        return;
    }

    if (st->status) {
        nd_grpc_stream_fail(st, st->status, st->message);
        return;
    }

    if (nd_buf_size(&st->in) < 5) {
        nd_grpc_stream_fail(st, ND_GRPC_INTERNAL, "incomplete message");
        return;
    }

    /* started in the loop pass after this read (nd_grpc_dispatch): a
     * RST_STREAM read with it cancels it for free */
    st->ended = 1;
    st->ready = 1;
    nd_queue_insert_tail(&st->conn->ready, &st->ready_link);
}


static void
nd_grpc_stream_start(nd_grpc_stream_t *st)
{
    st->ended = 0;
    nd_grpc_stream_parse(st, 1);

    if (!st->ended && nd_buf_size(&st->in)) {
        nd_grpc_stream_fail(st, ND_GRPC_INTERNAL, "truncated message");
    }
}


/*
 * Start the unary calls whose requests are whole, in order, while the
 * output the connection holds stays under queued_output_max: a client
 * that does not read its answers gets no new work done for it (it may
 * still reset streams or close, which frees their output).
 */
static void
nd_grpc_dispatch(nd_grpc_conn_t *conn)
{
    nd_queue_t        *q;
    nd_grpc_stream_t  *st;

    while (!nd_queue_empty(&conn->ready)) {
        if (conn->c->close || conn->closing
            || conn->queued + nd_connection_queued(conn->c)
               >= conn->gcf->queued_output_max)
        {
            return;
        }

        q = nd_queue_head(&conn->ready);
        st = nd_queue_data(q, nd_grpc_stream_t, ready_link);
        nd_queue_remove(q);
        st->ready = 0;
        conn->gcf->calls_started++;

        nd_grpc_stream_start(st);
        nd_grpc_queued_note(conn);
    }
}


void
nd_grpc_queued_note(nd_grpc_conn_t *conn)
{
    size_t  n;

    n = conn->queued + nd_connection_queued(conn->c);
    if (n > conn->gcf->queued_peak) {
        conn->gcf->queued_peak = n;
    }
}


nd_int_t
nd_grpc_stream_client_reset(nd_grpc_conn_t *conn)
{
    uint64_t         max;
    nd_msec_t        now;
    nd_grpc_conf_t  *gcf;

    gcf = conn->gcf;
    now = nd_time_monotonic_msec();
    max = (uint64_t) gcf->stream_reset_rate * 1000;

    /* a bucket of one second's resets, refilled at the rate */
    conn->reset_credit += (uint64_t) (now - conn->reset_at)
                          * (uint64_t) gcf->stream_reset_rate;
    conn->reset_credit = nd_min(conn->reset_credit, max);
    conn->reset_at = now;

    if (conn->reset_credit < 1000) {
        gcf->calm_goaways++;
        nd_log_error(ND_LOG_WARN, &conn->c->log, 0,
                     "grpc connection %s resets streams faster than %d "
                     "a second: closing", conn->id,
                     (int) gcf->stream_reset_rate);
        return ND_ERROR;
    }

    conn->reset_credit -= 1000;

    return ND_OK;
}


void
nd_grpc_stream_closed(nd_grpc_stream_t *st)
{
    nd_grpc_call_t  *call;
    nd_grpc_conn_t  *conn;

    conn = st->conn;

    call = st->call;
    if (call) {
        st->call = NULL;
        call->stream = NULL;
        call->conn = NULL;
        if (call->async && !call->done && call->abort_handler) {
            call->abort_handler(call);
        }
        if (!call->in_handler) {
            nd_grpc_call_free(call);
        }
    }

    if (conn->bidi == st) {
        conn->bidi = NULL;
    }

    if (st->ready) {
        nd_queue_remove(&st->ready_link);
        conn->gcf->calls_cancelled++;
    }

    conn->queued -= nd_min(conn->queued, nd_grpc_stream_pending(st));

    nd_queue_remove(&st->link);
    nd_buf_free(&st->in);
    nd_buf_refs_free(&st->out_refs);
    nd_buf_free(&st->out);
    nd_free(st);
}


size_t
nd_grpc_stream_pending(nd_grpc_stream_t *st)
{
    return nd_buf_refs_size(&st->out, &st->out_refs);
}


nd_int_t
nd_grpc_stream_move(nd_grpc_stream_t *st, size_t n)
{
    size_t            k;
    nd_shared_t      *sh;
    const u_char     *p;
    nd_connection_t  *c;

    c = st->conn->c;

    while (n) {
        k = nd_min(n, nd_buf_refs_peek(&st->out, &st->out_refs, &p, &sh));

        if (k == 0                      /* n over what is queued: a bug */
            || (sh ? nd_connection_send_ref(c, sh, p, k)
                   : nd_connection_send(c, p, k))
               != ND_OK)
        {
            return ND_ERROR;
        }

        nd_buf_refs_consume(&st->out, &st->out_refs, k);
        st->conn->queued -= nd_min(st->conn->queued, k);
        n -= k;
    }

    return ND_OK;
}


int
nd_grpc_frame(nd_buf_t *out, const char *type, const nd_buf_t *json)
{
    Metadata  meta = METADATA__INIT;

    meta.type = (char *) type;

    return nd_grpc_payload_frame(out, &meta, nd_buf_start(json),
                                 nd_buf_size(json));
}


static void
nd_grpc_response_defaults(json_t *body)
{
    json_int_t  code;

    if (json_object_get(body, "resultCode") == NULL) {
        json_object_set_new(body, "resultCode", json_integer(200));
    }
    if (json_object_get(body, "errorCode") == NULL) {
        json_object_set_new(body, "errorCode", json_integer(0));
    }
    if (json_object_get(body, "success") == NULL) {
        code = json_integer_value(json_object_get(body, "resultCode"));
        json_object_set_new(body, "success", json_boolean(code == 200));
    }
}


static void
nd_grpc_call_free(nd_grpc_call_t *call)
{
    json_decref(call->headers);
    nd_destroy_pool(call->pool);
}


/* frame json as the call's answer; the call is freed unless its handler
 * is still running */
static nd_int_t
nd_grpc_reply_json(nd_grpc_call_t *call, const char *type,
    const nd_buf_t *json)
{
    size_t             before;
    nd_grpc_stream_t  *st;

    if (call->done) {
        return ND_ERROR;
    }

    call->done = 1;
    st = call->stream;

    if (call->hist) {
        nd_metrics_hist_observe(call->hist,
            (double) (nd_current_msec - call->start_msec) / 1000.0);
    }

    if (st == NULL || call->conn == NULL) {
        goto done;                      /* the client is gone */
    }

    before = nd_buf_size(&st->out);

    if (json == NULL || nd_grpc_frame(&st->out, type, json) != ND_OK) {
        nd_grpc_stream_fail(st, ND_GRPC_INTERNAL, "cannot encode response");
        goto done;
    }

    st->conn->queued += nd_buf_size(&st->out) - before;
    nd_grpc_queued_note(st->conn);
    st->finish = 1;
    st->status = ND_GRPC_OK;

    if (nd_grpc_h2_respond(st) != ND_OK) {
        nd_grpc_h2_reset(st);
    }
    nd_grpc_flush_later(st->conn);

done:

    if (st) {
        st->call = NULL;
    }

    if (!call->in_handler) {
        nd_grpc_call_free(call);        /* call is gone from here on */
    }

    return ND_OK;
}


nd_int_t
nd_grpc_reply(nd_grpc_call_t *call, const char *type, json_t *body)
{
    int        ok;
    nd_int_t   rc;
    nd_buf_t   json;

    if (call->done) {
        json_decref(body);
        return ND_ERROR;
    }

    if (body == NULL) {
        body = json_object();
    }

    nd_grpc_response_defaults(body);

    nd_buf_init(&json);
    ok = nd_json_dump_buf(body, &json) == ND_OK;
    json_decref(body);

    rc = nd_grpc_reply_json(call, type, ok ? &json : NULL);
    nd_buf_free(&json);

    return rc;
}


nd_int_t
nd_grpc_reply_raw(nd_grpc_call_t *call, const char *type, const u_char *json,
    size_t len)
{
    nd_buf_t  view;

    view.data = (u_char *) json;
    view.pos = 0;
    view.len = len;
    view.cap = len;

    return nd_grpc_reply_json(call, type, &view);
}


nd_int_t
nd_grpc_reply_error(nd_grpc_call_t *call, nd_int_t code, const char *msg)
{
    json_t  *body;

    body = json_pack("{s:i, s:I, s:s, s:b}", "resultCode", 500,
                     "errorCode", (json_int_t) code, "message", msg,
                     "success", 0);

    return nd_grpc_reply(call, "ErrorResponse", body);
}


static json_t *
nd_grpc_headers_json(Metadata *meta)
{
    size_t   i;
    json_t  *h, *v;

    h = json_object();
    if (meta == NULL || h == NULL) {
        return h;
    }

    for (i = 0; i < meta->n_headers; i++) {
        if (meta->headers[i]->key == NULL || meta->headers[i]->value == NULL) {
            continue;
        }
        v = json_string(meta->headers[i]->value);
        if (v) {
            json_object_set_new(h, meta->headers[i]->key, v);
        }
    }

    return h;
}


/* ND_OK, or the code of the gate that refuses the request (*msg set) */
static nd_int_t
nd_grpc_gate(nd_grpc_conn_t *conn, const char *type, json_t *headers,
    json_t *body, const char **msg)
{
    nd_int_t          rc;
    nd_uint_t         i;
    nd_grpc_gate_pt  *gates;

    if (conn->cluster) {
        return ND_OK;
    }

    gates = conn->gcf->gates.elts;

    for (i = 0; i < conn->gcf->gates.nelts; i++) {
        *msg = "refused";
        rc = gates[i](conn, type, headers, body, msg);
        if (rc != ND_OK) {
            return rc;
        }
    }

    return ND_OK;
}


/* no handler on this port: say whether the other port serves the type */
static void
nd_grpc_unknown_type(nd_grpc_call_t *call, const char *type)
{
    size_t           len;
    nd_hash_t       *other;
    nd_grpc_conn_t  *conn;

    conn = call->conn;
    len = strlen(type);
    other = conn->cluster ? &conn->gcf->handlers : &conn->gcf->cluster_handlers;

    nd_log_error(ND_LOG_INFO, &conn->c->log, 0, "no %s grpc handler for \"%s\"",
                 conn->cluster ? "cluster" : "sdk", type);

    if (len && nd_hash_find(other, (u_char *) type, len)) {
        nd_grpc_reply_error(call, 403, conn->cluster
                            ? "SDK request on the cluster port"
                            : "cluster request on the SDK port");
        return;
    }

    nd_grpc_reply_error(call, 302, "RequestHandler Not Found");
}


/* a refusal of a request whose body is not decoded yet (raw): an
 * invalid body is refused as such first, as when decoded up front */
static void
nd_grpc_refuse(nd_grpc_call_t *call, Payload *payload, int raw,
    nd_int_t code, const char *msg)
{
    json_t  *body;

    if (raw) {
        body = nd_grpc_payload_body(payload);
        if (body == NULL) {
            code = 502;
            msg = "Invalid request payload";
        }
        json_decref(body);
    }

    nd_grpc_reply_error(call, code, msg);
}


static void
nd_grpc_unary(nd_grpc_stream_t *st, Payload *payload)
{
    int                  raw;
    char                *type;
    json_t              *body;
    const char          *msg;
    nd_int_t             rc;
    nd_pool_t           *pool;
    nd_grpc_conn_t      *conn;
    nd_grpc_call_t      *call;
    nd_grpc_handler_pt         handler;
    nd_grpc_handler_entry_t   *e;

    conn = st->conn;
    type = payload->metadata ? payload->metadata->type : "";
    nd_grpc_conn_touch(conn);

    pool = nd_create_pool(1024, &conn->c->log);
    call = pool ? nd_pcalloc(pool, sizeof(nd_grpc_call_t)) : NULL;
    if (call == NULL) {
        nd_destroy_pool(pool);
        nd_grpc_stream_fail(st, ND_GRPC_INTERNAL, "out of memory");
        return;
    }

    call->pool = pool;
    call->conn = conn;
    call->stream = st;
    call->type = nd_pstrdupz(pool, &(nd_str_t) { strlen(type),
                                                 (u_char *) type });
    call->client_ip = nd_pstrdupz(pool, &(nd_str_t) {
        payload->metadata ? strlen(payload->metadata->clientip) : 0,
        (u_char *) (payload->metadata ? payload->metadata->clientip : "") });
    call->headers = nd_grpc_headers_json(payload->metadata);
    st->call = call;

    e = nd_hash_find(conn->cluster ? &conn->gcf->cluster_handlers
                                   : &conn->gcf->handlers,
                     (u_char *) type, strlen(type));
    handler = e ? e->handler : NULL;
    call->hist = e ? e->hist : NULL;
    call->start_msec = nd_current_msec;

    /* a type with a raw handler is decoded only if that declines (the
     * answers stay those of a body decoded here) */
    raw = e && e->raw && !conn->cluster && !conn->gcf->body_gates;
    body = NULL;

    if (!raw) {
        body = nd_grpc_payload_body(payload);
        if (body == NULL) {
            nd_grpc_reply_error(call, 502, "Invalid request payload");
            return;
        }
    }

    /* a cluster connection needs no ConnectionSetup: the port is the
     * cluster's, and a member proves itself with the shared secret
     * (but for the connection check, which tells nothing) */
    if (conn->cluster
        && (conn->gcf->identity.len || conn->gcf->identity_required)
        && strcmp(type, "ServerCheckRequest") != 0)
    {
        json_t  *v;

        v = json_object_get(call->headers, ND_SERVER_IDENTITY);
        if (!json_is_string(v)
            || !nd_grpc_identity_ok(nd_cycle,
                                    (u_char *) json_string_value(v),
                                    json_string_length(v)))
        {
            nd_log_error(ND_LOG_WARN, &conn->c->log, 0,
                         "cluster request \"%s\" without the server "
                         "identity refused", type);
            nd_grpc_reply_error(call, 403, "server identity required");
            goto done;
        }
    }

    if (!conn->registered && !conn->cluster
        && strcmp(type, "ServerCheckRequest") != 0)
    {
        nd_grpc_refuse(call, payload, raw, 301, "Connection is unregistered.");
        goto done;
    }

    if (handler == NULL) {
        nd_grpc_unknown_type(call, type);
        goto done;
    }

    rc = nd_grpc_gate(conn, type, call->headers, body, &msg);
    if (rc != ND_OK) {
        nd_grpc_refuse(call, payload, raw, rc, msg);
        goto done;
    }

    call->in_handler = 1;

    rc = ND_DECLINED;
    if (raw && payload->body) {
        rc = e->raw(call, payload->body->value.data,
                    payload->body->value.len);
    }

    if (rc == ND_DECLINED) {
        if (raw) {
            body = nd_grpc_payload_body(payload);
        }
        if (body == NULL) {
            call->in_handler = 0;
            nd_grpc_reply_error(call, 502, "Invalid request payload");
            goto done;
        }
        rc = handler(call, body);
    }

    call->in_handler = 0;

    if (call->done) {
        nd_grpc_call_free(call);
        goto done;
    }

    if (rc == ND_DONE) {
        call->async = 1;
        if (call->conn == NULL) {       /* aborted inside the handler */
            nd_grpc_call_free(call);
        }
        goto done;
    }

    nd_grpc_reply_error(call, rc >= 300 ? rc : 500,
                        rc >= 300 ? "request failed" : "server error");

done:

    json_decref(body);
}


/* what the ConnectionSetupRequest says of the client, before the gates
 * judge it: the client's IP (as it states it, else the socket's), its
 * labels (AppName...), version and tenant */
static void
nd_grpc_setup_meta(nd_grpc_conn_t *conn, Payload *payload, json_t *body)
{
    const char  *s;

    s = payload->metadata ? payload->metadata->clientip : NULL;
    if (s && s[0]) {
        snprintf(conn->client_ip, sizeof(conn->client_ip), "%s", s);
    }

    json_decref(conn->labels);
    conn->labels = json_incref(json_object_get(body, "labels"));
    nd_free(conn->client_version);
    conn->client_version = strdup(nd_json_get_str(body, "clientVersion",
                                                  ""));
    nd_free(conn->tenant);
    conn->tenant = strdup(nd_json_get_str(body, "tenant", ""));
}


static void
nd_grpc_setup(nd_grpc_conn_t *conn, json_t *body)
{
    nd_str_t         key;
    nd_grpc_conf_t  *gcf;

    if (conn->registered) {
        return;
    }

    gcf = conn->gcf;

    if (nd_hash_add(&gcf->conns, (u_char *) conn->id, strlen(conn->id), conn)
        != ND_OK)
    {
        nd_grpc_conn_close(conn, "cannot register");
        return;
    }

    conn->registered = 1;
    conn->registered_at = nd_time_monotonic_msec();
    gcf->registered++;
    nd_grpc_handshake_done(conn);
    nd_grpc_conn_hooks(conn, 1);

    nd_log_error(ND_LOG_INFO, &conn->c->log, 0,
                 "grpc connection %s registered, version \"%s\"", conn->id,
                 conn->client_version ? conn->client_version : "");

    /* ability negotiation (2.3+ clients send a table, maybe empty; older
     * ones "abilities", Go "clientAbilities"): the client waits for this,
     * and does not answer it */
    if (json_is_object(json_object_get(body, "abilityTable"))
        && nd_grpc_push(conn, "SetupAckRequest",
                        json_pack("{s:O, s:s}", "abilityTable",
                                  gcf->abilities, "module", "internal"),
                        0, NULL, NULL) != ND_OK)
    {
        nd_log_error(ND_LOG_WARN, &conn->c->log, 0,
                     "grpc connection %s: SetupAckRequest not sent",
                     conn->id);
    }

    key.data = (u_char *) conn->id;
    key.len = strlen(conn->id);
    nd_event_publish(nd_cycle, ND_EV_CONNECTION_OPENED, &key,
                     strdup(conn->id), free);
}


static void
nd_grpc_bidi(nd_grpc_stream_t *st, Payload *payload, json_t *body)
{
    size_t           len;
    const char      *type, *msg;
    nd_grpc_conn_t  *conn;

    conn = st->conn;
    type = payload->metadata ? payload->metadata->type : "";

    if (body == NULL) {
        nd_log_error(ND_LOG_INFO, &conn->c->log, 0,
                     "invalid json in a \"%s\" stream message", type);
        return;
    }

    if (strcmp(type, "ConnectionSetupRequest") == 0) {
        if (conn->bidi == NULL) {
            conn->bidi = st;
        }

        if (conn->registered) {
            return;
        }

        nd_grpc_setup_meta(conn, payload, body);

        if (nd_grpc_gate(conn, type, NULL, body, &msg) != ND_OK) {
            nd_log_error(ND_LOG_INFO, &conn->c->log, 0,
                         "grpc connection %s refused: %s", conn->id, msg);
            nd_grpc_reset(conn, NULL, 0);
            nd_grpc_conn_close(conn, msg);
            return;
        }

        nd_grpc_setup(conn, body);
        return;
    }

    len = strlen(type);
    if (len > 8 && strcmp(type + len - 8, "Response") == 0) {
        nd_grpc_conn_touch(conn);
        nd_grpc_push_answer(conn, body);
        return;
    }

    nd_log_error(ND_LOG_INFO, &conn->c->log, 0,
                 "unexpected \"%s\" on the bi-stream", type);
}


static void
nd_grpc_stream_message(nd_grpc_stream_t *st, const u_char *msg, size_t len)
{
    json_t        *body;
    Payload       *payload;

    /* answers to pushes: matched from the bytes when they are plain */
    if (st->bidi && !st->conn->cluster
        && nd_grpc_push_scan(st->conn, msg, len) == ND_OK)
    {
        return;
    }

    payload = payload__unpack(NULL, len, msg);
    if (payload == NULL) {
        nd_grpc_stream_fail(st, ND_GRPC_INTERNAL, "invalid protobuf payload");
        return;
    }

    if (st->bidi && st->conn->cluster) {
        nd_grpc_stream_fail(st, ND_GRPC_UNIMPLEMENTED,
                            "no bi-stream on the cluster port");

    } else if (st->bidi) {
        body = nd_grpc_payload_body(payload);
        nd_grpc_bidi(st, payload, body);
        json_decref(body);

    } else {
        st->ended = 1;
        nd_grpc_unary(st, payload);            /* decodes the body */
    }

    payload__free_unpacked(payload, NULL);
}


const char *
nd_grpc_conn_id(nd_grpc_conn_t *conn)
{
    return conn->id;
}


const char *
nd_grpc_conn_client_ip(nd_grpc_conn_t *conn)
{
    return conn->client_ip;
}


const char *
nd_grpc_conn_client_version(nd_grpc_conn_t *conn)
{
    return conn->client_version ? conn->client_version : "";
}


json_t *
nd_grpc_conn_labels(nd_grpc_conn_t *conn)
{
    return conn->labels;
}


nd_msec_t
nd_grpc_conn_registered_at(nd_grpc_conn_t *conn)
{
    return conn->registered_at;
}


nd_uint_t
nd_grpc_conn_count(nd_cycle_t *cycle)
{
    return nd_grpc_conf(cycle)->registered;
}


uint64_t
nd_grpc_last_moved(nd_cycle_t *cycle)
{
    return nd_grpc_conf(cycle)->last_moved;
}


nd_grpc_conn_t *
nd_grpc_conn_find(nd_cycle_t *cycle, const char *id)
{
    nd_grpc_conf_t  *gcf;

    gcf = nd_grpc_conf(cycle);
    return nd_hash_find(&gcf->conns, (u_char *) id, strlen(id));
}


nd_uint_t
nd_grpc_conn_each(nd_cycle_t *cycle,
    void (*fn)(nd_grpc_conn_t *conn, void *data), void *data)
{
    nd_uint_t        n;
    nd_queue_t      *q, *next;
    nd_grpc_conn_t  *conn;
    nd_grpc_conf_t  *gcf;

    gcf = nd_grpc_conf(cycle);
    n = 0;

    for (q = nd_queue_head(&gcf->all); q != nd_queue_sentinel(&gcf->all);
         q = next)
    {
        next = nd_queue_next(q);
        conn = nd_queue_data(q, nd_grpc_conn_t, link);
        if (conn->registered && !conn->closing) {
            fn(conn, data);
            n++;
        }
    }

    return n;
}

/*
 * Requests the server sends on a connection's bi-stream: pushes with
 * their request ids, timeouts and answers, ConnectResetRequest, and the
 * liveness probe of idle connections (ClientDetectionRequest).
 */
#include <nd_grpc_internal.h>


void
nd_grpc_push_free(nd_grpc_push_t *push)
{
    nd_grpc_conf_t  *gcf;

    gcf = push->conn->gcf;

    nd_queue_remove(&push->wait);
    if (nd_queue_empty(&gcf->push_waits)) {
        nd_timer_stop(&gcf->push_timer);
    }

    nd_queue_remove(&push->link);
    push->conn->npushes--;
    nd_free(push);
}


static nd_grpc_push_t *
nd_grpc_push_find(nd_grpc_conn_t *conn, uint64_t id)
{
    nd_queue_t      *q;
    nd_grpc_push_t  *push;

    for (q = nd_queue_head(&conn->pushes);
         q != nd_queue_sentinel(&conn->pushes);
         q = nd_queue_next(q))
    {
        push = nd_queue_data(q, nd_grpc_push_t, link);
        if (push->request_id == id) {
            return push;
        }
    }

    return NULL;
}


/* the push was answered with code (body only if it asked for it) */
static void
nd_grpc_push_end(nd_grpc_conn_t *conn, nd_grpc_push_t *push, nd_int_t code,
    json_t *body)
{
    nd_grpc_push_pt   cb;
    void             *data;

    cb = push->cb;
    data = push->data;
    nd_metrics_hist_observe(&conn->gcf->push_latency,
        (double) (nd_current_msec - push->start_msec) / 1000.0);
    nd_grpc_push_free(push);

    if (cb) {
        cb(conn, code, body, data);
    }
}


void
nd_grpc_push_answer(nd_grpc_conn_t *conn, json_t *body)
{
    const char      *rid;
    nd_grpc_push_t  *push;

    conn->gcf->answers_parsed++;

    rid = nd_json_get_str(body, "requestId", NULL);
    if (rid == NULL) {
        return;
    }

    push = nd_grpc_push_find(conn, strtoull(rid, NULL, 10));
    if (push) {
        nd_grpc_push_end(conn, push,
                         (nd_int_t) nd_json_get_int(body, "resultCode", 0),
                         push->body ? body : NULL);
    }
}


nd_int_t
nd_grpc_push_scan(nd_grpc_conn_t *conn, const u_char *msg, size_t len)
{
    nd_grpc_push_t    *push;
    nd_grpc_answer_t   a;

    if (nd_grpc_payload_answer(msg, len, &a) != ND_OK) {
        return ND_DECLINED;
    }

    push = nd_grpc_push_find(conn, a.request_id);
    if (push && push->body) {
        return ND_DECLINED;             /* its sender wants the JSON */
    }

    conn->gcf->answers_scanned++;
    nd_grpc_conn_touch(conn);

    if (push) {
        nd_grpc_push_end(conn, push, a.result_code, NULL);
    }

    return ND_OK;
}


/* pushes */

/*
 * Push timeouts: every unanswered push is in gcf->push_waits by deadline
 * (nearly always appended: most have the same timeout), with one timer
 * for the first, not a timer each: a fan-out to 10,000 connections would
 * put 10,000 timers in the loop's heap and take them out again.
 */
static void
nd_grpc_push_wait(nd_grpc_conf_t *gcf, nd_grpc_push_t *push, nd_msec_t now)
{
    nd_queue_t  *q;

    for (q = nd_queue_last(&gcf->push_waits);
         q != nd_queue_sentinel(&gcf->push_waits);
         q = nd_queue_prev(q))
    {
        if (nd_queue_data(q, nd_grpc_push_t, wait)->deadline
            <= push->deadline)
        {
            break;
        }
    }

    nd_queue_insert_head(q, &push->wait);      /* after q */

    if (!nd_timer_active(&gcf->push_timer) || push->deadline < gcf->push_due)
    {
        gcf->push_due = push->deadline;
        nd_timer_start(&gcf->push_timer, push->deadline - now, ND_TIMER_ONCE);
    }
}


static void
nd_grpc_push_timeout(nd_grpc_push_t *push)
{
    nd_grpc_conn_t   *conn;
    nd_grpc_push_pt   cb;
    void             *data;

    conn = push->conn;
    cb = push->cb;
    data = push->data;

    conn->gcf->push_failed++;

    nd_log_error(ND_LOG_INFO, &conn->c->log, 0,
                 "push %llu to %s timed out",
                 (unsigned long long) push->request_id, conn->id);

    nd_grpc_push_free(push);

    if (cb) {
        cb(conn, 0, NULL, data);
    }
}


void
nd_grpc_push_timer_handler(nd_timer_t *t)
{
    nd_msec_t        now;
    nd_grpc_conf_t  *gcf;
    nd_grpc_push_t  *push;

    gcf = t->data;
    now = nd_time_monotonic_msec();

    while (!nd_queue_empty(&gcf->push_waits)) {
        push = nd_queue_data(nd_queue_head(&gcf->push_waits),
                             nd_grpc_push_t, wait);

        if (push->deadline > now) {
            gcf->push_due = push->deadline;
            nd_timer_start(t, push->deadline - now, ND_TIMER_ONCE);
            return;
        }

        nd_grpc_push_timeout(push);     /* frees it, may queue more */
    }
}


/* ND_OK when conn can take a push now; closes it over push_queue_max */
static nd_int_t
nd_grpc_push_ready(nd_grpc_conn_t *conn)
{
    if (conn->bidi == NULL || conn->closing || conn->c->close) {
        conn->gcf->push_failed++;
        return ND_ERROR;
    }

    if (conn->queued > conn->gcf->push_queue_max) {
        conn->gcf->push_failed++;
        nd_grpc_conn_close(conn, "push queue over push_queue_max");
        return ND_ERROR;
    }

    return ND_OK;
}


/* ,"headers":{},"requestId":"N"} (without the comma for an empty
 * object): a push's own end, written per connection without printf */
#define ND_GRPC_TAIL_MAX  64

static size_t
nd_grpc_push_tail(u_char *tail, uint64_t id, int comma)
{
    u_char              *p, digits[20];
    size_t               n;
    static const char    head[] = "\"headers\":{},\"requestId\":\"";

    p = tail;
    if (comma) {
        *p++ = ',';
    }
    memcpy(p, head, sizeof(head) - 1);
    p += sizeof(head) - 1;

    n = 0;
    do {
        digits[n++] = (u_char) ('0' + id % 10);
        id /= 10;
    } while (id);

    while (n) {
        *p++ = digits[--n];
    }
    *p++ = '"';
    *p++ = '}';

    return (size_t) (p - tail);
}


/*
 * Queue one push on the bi-stream.  json is a JSON object's text without
 * requestId and headers; the message is written as three pieces: its
 * head (gRPC prefix and Payload up to the JSON) and the object without
 * its closing brace, then ,"headers":{},"requestId":"N"}.  With sh the
 * middle piece is a reference into sh (built once, shared by every
 * connection that is pushed it); without, it is copied.
 */
static nd_int_t
nd_grpc_push_send(nd_grpc_conn_t *conn, const char *type, nd_shared_t *sh,
    const u_char *json, size_t len, unsigned body, nd_msec_t timeout,
    nd_grpc_push_pt cb, void *data)
{
    u_char             tail[ND_GRPC_TAIL_MAX];
    size_t             n, hlen, before;
    uint64_t           id;
    nd_msec_t          now;
    u_char             frame[ND_H2_HEAD + ND_GRPC_HEAD_MAX], *head;
    nd_grpc_push_t    *push;
    nd_grpc_conf_t    *gcf;
    nd_connection_t   *c;
    nd_grpc_stream_t  *st;

    gcf = conn->gcf;

    if (len < 2 || json[0] != '{' || json[len - 1] != '}'
        || nd_grpc_push_ready(conn) != ND_OK)
    {
        return ND_ERROR;
    }

    id = ++gcf->push_seq;
    st = conn->bidi;

    n = nd_grpc_push_tail(tail, id, len > 2);
    head = frame + ND_H2_HEAD;
    hlen = nd_grpc_payload_head(head, type, len - 1 + n);
    if (hlen == 0) {
        gcf->push_failed++;
        return ND_ERROR;                /* a type name over the limit */
    }

    c = conn->c;

    if (nd_grpc_h2_data_now(st, hlen + len - 1 + n, frame) == ND_OK) {
        /* nothing waits on the bi-stream: the DATA frame goes straight
         * to the connection's queue (the shared text by reference), not
         * through the stream's */
        if (nd_connection_send(c, frame, ND_H2_HEAD + hlen) != ND_OK
            || (sh ? nd_connection_send_ref(c, sh, json, len - 1)
                   : nd_connection_send(c, json, len - 1))
               != ND_OK
            || nd_connection_send(c, tail, n) != ND_OK)
        {
            /* a frame cut short: the connection cannot go on */
            gcf->push_failed++;
            conn->h2.failed = 1;
            nd_connection_finalize(c, 0);
            return ND_ERROR;
        }

        gcf->pushes++;
        nd_grpc_queued_note(conn);
        goto queued;
    }

    before = nd_grpc_stream_pending(st);

    if (nd_buf_append(&st->out, head, hlen) != ND_OK
        || (sh ? nd_buf_refs_add(&st->out, &st->out_refs, sh, json, len - 1)
               : nd_buf_append(&st->out, json, len - 1))
           != ND_OK
        || nd_buf_append(&st->out, tail, n) != ND_OK
        || nd_grpc_h2_respond(st) != ND_OK)
    {
        /* a partial message cannot be taken back: the stream is broken */
        gcf->push_failed++;
        nd_grpc_conn_close(conn, "cannot queue a push");
        return ND_ERROR;
    }

    gcf->pushes++;
    conn->queued += nd_grpc_stream_pending(st) - before;
    nd_grpc_queued_note(conn);
    nd_grpc_flush_later(conn);

queued:

    if (cb == NULL) {
        return ND_OK;
    }

    push = nd_alloc(sizeof(nd_grpc_push_t));
    if (push == NULL) {
        return ND_ERROR;
    }

    push->request_id = id;
    push->cb = cb;
    push->data = data;
    push->conn = conn;
    push->body = body;
    push->start_msec = nd_current_msec;
    now = nd_time_monotonic_msec();
    push->deadline = now + (timeout ? timeout : gcf->push_timeout);
    nd_queue_insert_tail(&conn->pushes, &push->link);
    conn->npushes++;

    nd_grpc_push_wait(gcf, push, now);

    return ND_OK;
}


nd_int_t
nd_grpc_push(nd_grpc_conn_t *conn, const char *type, json_t *body,
    nd_msec_t timeout, nd_grpc_push_pt cb, void *data)
{
    nd_int_t         rc;
    nd_grpc_conf_t  *gcf;

    gcf = conn->gcf;

    if (body == NULL) {
        body = json_object();
    }
    json_object_del(body, "requestId");
    json_object_del(body, "headers");

    nd_buf_reset(&gcf->scratch);
    rc = nd_json_dump_buf(body, &gcf->scratch);
    json_decref(body);

    if (rc != ND_OK) {
        return ND_ERROR;
    }

    return nd_grpc_push_send(conn, type, NULL, nd_buf_start(&gcf->scratch),
                             nd_buf_size(&gcf->scratch), 1, timeout, cb,
                             data);
}


nd_int_t
nd_grpc_push_raw(nd_grpc_conn_t *conn, const char *type, const u_char *json,
    size_t len, nd_msec_t timeout, nd_grpc_push_pt cb, void *data)
{
    return nd_grpc_push_send(conn, type, NULL, json, len, 0, timeout, cb,
                             data);
}


nd_int_t
nd_grpc_push_shared(nd_grpc_conn_t *conn, const char *type,
    nd_shared_t *json, nd_msec_t timeout, nd_grpc_push_pt cb, void *data)
{
    return nd_grpc_push_send(conn, type, json, json->data, json->len, 0,
                             timeout, cb, data);
}


int
nd_grpc_reset(nd_grpc_conn_t *conn, const char *server_ip,
    nd_uint_t server_port)
{
    char     port[16];
    json_t  *body;

    body = json_pack("{s:s, s:s}", "module", "internal",
                     "connectionId", conn->id);
    if (body && server_ip && server_ip[0]) {
        conn->moved = 1;
        conn->gcf->last_moved = nd_current_msec;
        snprintf(port, sizeof(port), "%u", (unsigned) server_port);
        json_object_set_new(body, "serverIp", json_string(server_ip));
        json_object_set_new(body, "serverPort", json_string(port));
    }

    return nd_grpc_push(conn, "ConnectResetRequest", body, 0, NULL, NULL);
}


/* liveness: probe connections idle for idle_probe */

static const u_char  nd_grpc_probe[] = "{\"module\":\"internal\"}";

static void
nd_grpc_probe_answer(nd_grpc_conn_t *conn, nd_int_t code, json_t *response,
    void *data)
{
    conn->probing = 0;

    if (code == 200) {
        nd_grpc_conn_touch(conn);
        return;
    }

    if (!conn->closing) {
        nd_grpc_conn_close(conn, "no answer to ClientDetectionRequest");
    }
}


void
nd_grpc_probe_handler(nd_timer_t *t)
{
    nd_msec_t        now;
    nd_queue_t      *q, *next;
    nd_grpc_conn_t  *conn;
    nd_grpc_conf_t  *gcf;

    gcf = t->data;
    now = nd_time_monotonic_msec();

    for (q = nd_queue_head(&gcf->all); q != nd_queue_sentinel(&gcf->all);
         q = next)
    {
        next = nd_queue_next(q);
        conn = nd_queue_data(q, nd_grpc_conn_t, link);

        /* a connection that never finished its handshake (the h2 preface
         * and SETTINGS; on the SDK port the ConnectionSetupRequest too)
         * holds a descriptor for nothing: closed */
        if (!conn->closing
            && (conn->cluster ? !conn->h2.rd.settings : !conn->registered)
            && now - conn->created >= gcf->handshake_timeout)
        {
            nd_grpc_conn_close(conn, "no handshake within "
                               "handshake_timeout");
            continue;
        }

        /* a push queue that stays blocked (the client reads nothing)
         * is ejected, as Nacos does after 300 s */
        if (conn->registered && !conn->closing
            && conn->queued >= gcf->push_blocked_size)
        {
            if (conn->blocked_since == 0) {
                conn->blocked_since = now;

            } else if (now - conn->blocked_since
                       >= gcf->push_blocked_timeout)
            {
                nd_grpc_conn_close(conn, "push queue blocked past "
                                   "push_blocked_timeout");
                continue;
            }

        } else {
            conn->blocked_since = 0;
        }

        if (!conn->registered || conn->probing || conn->closing
            || now - conn->last_active < gcf->idle_probe)
        {
            continue;
        }

        conn->probing = 1;

        if (nd_grpc_push_raw(conn, "ClientDetectionRequest", nd_grpc_probe,
                             sizeof(nd_grpc_probe) - 1, gcf->probe_timeout,
                             nd_grpc_probe_answer, NULL)
            != ND_OK)
        {
            conn->probing = 0;
            nd_grpc_conn_close(conn, "cannot probe");
        }
    }
}

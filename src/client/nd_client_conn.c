/*
 * libnacos: the client object, its one connection and the calls on it.
 *
 *   IDLE --(login when a user is set)--> CONNECTING --TCP--> CHECKING
 *     ^        ServerCheckRequest answered: open the bi-stream, send
 *     |        ConnectionSetupRequest --> SETUP --SetupAckRequest (or
 *     |        100 ms when the server does not negotiate)--> READY
 *     +---- lost / health check failed / ConnectResetRequest: the next
 *           server (or the redirect) at once, capped backoff once every
 *           server failed in a row
 *
 * The h2 framer (nd_grpc_h2_client.c) is driven over a non-blocking
 * socket; its callbacks only record what happened (a call ended, a server
 * request came), and one ev_prepare watcher acts on it once per loop
 * pass, outside the framer: callers' handlers, answers on the stream,
 * tearing a connection down.
 */
#include <nd_client.h>

#define ND_CLIENT_OUT_FULL   (1024 * 1024)


static void nd_client_connect(nacos_client_t *c);
static void nd_client_down(nacos_client_t *c, const char *reason);
static void nd_client_submit(nacos_client_t *c, nd_client_call_t *call);
static void nd_client_finish(nacos_client_t *c, nd_client_call_t *call);


/* errors and trace */

int
nd_client_error(nacos_client_t *c, int rc, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, args);
    va_end(args);
    c->errcode = rc;

    if (c->trace) {
        fprintf(stderr, "nacos: error %d: %s\n", rc, c->errmsg);
    }

    return rc;
}


void
nd_client_trace(nacos_client_t *c, const char *fmt, ...)
{
    va_list  args;

    if (!c->trace) {
        return;
    }

    va_start(args, fmt);
    fprintf(stderr, "nacos: ");
    vfprintf(stderr, fmt, args);
    fprintf(stderr, "\n");
    va_end(args);
}


const char *
nacos_strerror(int rc)
{
    static const char  *names[] = {
        "ok", "not found", "error", "timeout", "unavailable", "conflict",
        "denied", "invalid argument", "out of memory",
        "blocking call inside a callback"
    };

    return rc >= 0 && rc < (int) nd_nelts(names) ? names[rc] : "?";
}


const char *
nacos_errmsg(nacos_client_t *c)
{
    return c->errmsg[0] ? c->errmsg : nacos_strerror(c->errcode);
}


/* the h2 framer's side */

static nd_int_t
nd_client_h2_write(void *data, const u_char *p, size_t len)
{
    nacos_client_t  *c = data;

    if (nd_buf_append(&c->out, p, len) != ND_OK) {
        return ND_ERROR;
    }

    if (c->fd >= 0 && !ev_is_active(&c->wev)) {
        ev_io_start(c->loop, &c->wev);
    }

    return ND_OK;
}


static nd_int_t
nd_client_h2_full(void *data)
{
    nacos_client_t  *c = data;

    return nd_buf_size(&c->out) > ND_CLIENT_OUT_FULL;
}


static void
nd_client_h2_ready(void *data)
{
}


static void
nd_client_h2_end(void *data, nd_grpc_h2c_stream_t *st)
{
    nacos_client_t    *c = data;
    nd_client_call_t  *call;

    if (st == &c->bidi) {
        c->lost = 1;                    /* the server ended the stream */
        return;
    }

    call = (nd_client_call_t *) ((u_char *) st
                                 - offsetof(nd_client_call_t, st));

    if (st->end == ND_GRPC_H2C_REFUSED && !call->internal
        && !c->stopping)
    {
        /* not processed by the server (GOAWAY, REFUSED_STREAM): sent
         * again, on this connection or the next, within its timeout */
        call->submitted = 0;
        nd_queue_insert_tail(&c->waiting, &call->link);
        return;
    }

    call->ended = 1;
    nd_queue_insert_tail(&c->done, &call->link);
}


/* whole gRPC messages of the bi-stream move to c->pushes */
static void
nd_client_h2_message(void *data, nd_grpc_h2c_stream_t *st)
{
    size_t           len;
    const u_char    *msg;
    nacos_client_t  *c = data;

    while (nd_grpc_message_next(&st->in, &msg, &len)) {
        if (nd_buf_append(&c->pushes, msg - 5, 5 + len) != ND_OK) {
            c->lost = 1;
        }
        nd_buf_consume(&st->in, 5 + len);
    }
}


static void
nd_client_h2_goaway(void *data, int32_t last_sid, uint32_t code)
{
    nacos_client_t  *c = data;

    c->lost = 1;
}


static const nd_grpc_h2c_handler_t  nd_client_h2_handler = {
    .write = nd_client_h2_write,
    .full = nd_client_h2_full,
    .ready = nd_client_h2_ready,
    .end = nd_client_h2_end,
    .message = nd_client_h2_message,
    .goaway = nd_client_h2_goaway,
};


/* the socket */

static void
nd_client_flush(nacos_client_t *c)
{
    ssize_t  n;

    while (nd_buf_size(&c->out)) {
        n = write(c->fd, nd_buf_start(&c->out), nd_buf_size(&c->out));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return;
            }
            c->lost = 1;
            return;
        }
        nd_buf_consume(&c->out, (size_t) n);
    }

    nd_buf_reset(&c->out);
}


static void nd_client_check(nacos_client_t *c);
static void nd_client_process(nacos_client_t *c);


static void
nd_client_write_handler(struct ev_loop *loop, ev_io *w, int revents)
{
    int              err;
    socklen_t        len;
    nacos_client_t  *c = w->data;

    if (c->state == ND_CLIENT_CONNECTING) {
        err = 0;
        len = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            nd_client_error(c, NACOS_UNAVAILABLE, "connect to %s: %s",
                            c->authority, strerror(err));
            nd_client_down(c, "connect failed");
            return;
        }

        ev_timer_stop(c->loop, &c->reconnect);
        ev_io_start(c->loop, &c->rev);
        nd_client_check(c);
    }

    nd_client_flush(c);

    if (nd_buf_size(&c->out) == 0) {
        ev_io_stop(c->loop, &c->wev);
        if (c->h2c_live) {
            nd_grpc_h2c_send(&c->h2c);  /* it may have waited on "full" */
        }
    }
}


static void
nd_client_read_handler(struct ev_loop *loop, ev_io *w, int revents)
{
    u_char           buf[16384];
    ssize_t          n;
    nacos_client_t  *c = w->data;

    for ( ;; ) {
        n = read(c->fd, buf, sizeof(buf));
        if (n > 0) {
            if (nd_grpc_h2c_recv(&c->h2c, buf, (size_t) n) != ND_OK) {
                c->lost = 1;
                break;
            }
            continue;
        }

        if (n < 0 && errno == EINTR) {
            continue;
        }

        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
            nd_client_error(c, NACOS_UNAVAILABLE, "%s closed the connection",
                            c->server);
            c->lost = 1;
        }
        break;
    }

    /* the read handler may end here: the connection may be torn down */
    nd_client_process(c);
}


/* calls */

static void
nd_client_call_free(nd_client_call_t *call)
{
    nd_grpc_h2c_stream_free(&call->st);
    json_decref(call->body);
    nd_free(call->type);
    nd_free(call);
}


/* report the call's end to its handler and forget it */
static void
nd_client_finish(nacos_client_t *c, nd_client_call_t *call)
{
    size_t                 len;
    const u_char          *msg;
    json_t                *body;
    Payload               *payload;
    const char            *type;
    nd_grpc_h2c_stream_t  *st;

    ev_timer_stop(c->loop, &call->timer);
    st = &call->st;
    body = NULL;
    payload = NULL;
    type = NULL;

    if (call->rc == NACOS_OK) {
        if (st->end != ND_GRPC_H2C_ANSWERED || st->grpc_status != 0) {
            call->rc = nd_client_error(c, NACOS_UNAVAILABLE,
                                       "%s: %s failed: %s", c->server,
                                       call->type, st->message[0]
                                       ? st->message : "connection lost");

        } else if (!nd_grpc_message_next(&st->in, &msg, &len)
                   || nd_buf_size(&st->in) != 5 + len
                   || (payload = payload__unpack(NULL, len, msg)) == NULL
                   || (body = nd_grpc_payload_body(payload)) == NULL)
        {
            call->rc = nd_client_error(c, NACOS_ERROR,
                                       "%s: undecodable answer to %s",
                                       c->server, call->type);

        } else {
            type = payload->metadata && payload->metadata->type
                   ? payload->metadata->type : "";
            c->last_ok = nd_time_monotonic_msec();
        }
    }

    c->in_callback++;
    call->handler(c, call->rc, call->rc == NACOS_OK ? type : NULL,
                  call->rc == NACOS_OK ? body : NULL, call->data);
    c->in_callback--;

    json_decref(body);
    if (payload) {
        payload__free_unpacked(payload, NULL);
    }

    nd_client_call_free(call);
}


static void
nd_client_call_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    nd_client_call_t  *call = w->data;
    nacos_client_t    *c = call->client;

    if (call->ended) {
        return;                         /* reported in this pass */
    }

    if (call->submitted) {
        nd_grpc_h2c_cancel(&c->h2c, &call->st);
    } else {
        nd_queue_remove(&call->link);
    }

    call->rc = nd_client_error(c, NACOS_TIMEOUT, "%s: no answer to %s "
                               "in %lu ms", c->server[0] ? c->server
                               : "no server", call->type,
                               (unsigned long) c->timeout);
    nd_client_finish(c, call);
}


static void
nd_client_submit(nacos_client_t *c, nd_client_call_t *call)
{
    int                      rc;
    char                    *json;
    Metadata                 meta = METADATA__INIT;
    Metadata__HeadersEntry   entry, *ptrs[1];

    meta.type = call->type;
    meta.clientip = (char *) "";

    if (c->token) {
        metadata__headers_entry__init(&entry);
        entry.key = (char *) "accessToken";
        entry.value = c->token;
        ptrs[0] = &entry;
        meta.headers = ptrs;
        meta.n_headers = 1;
    }

    nd_buf_reset(&call->st.out);
    nd_buf_reset(&call->st.in);
    json = json_dumps(call->body, JSON_COMPACT);
    rc = json ? nd_grpc_payload_frame(&call->st.out, &meta, (u_char *) json,
                                      strlen(json))
              : ND_ERROR;
    free(json);

    if (rc != ND_OK || nd_grpc_h2c_submit(&c->h2c, &call->st) != ND_OK) {
        call->rc = NACOS_UNAVAILABLE;
        call->ended = 1;
        nd_queue_insert_tail(&c->done, &call->link);
        return;
    }

    call->submitted = 1;

    if (nd_grpc_h2c_send(&c->h2c) != ND_OK) {
        c->lost = 1;
    }
}


int
nd_client_call(nacos_client_t *c, const char *type, json_t *body,
    unsigned internal, nd_client_done_pt handler, void *data)
{
    nd_client_call_t  *call;

    call = nd_calloc(sizeof(nd_client_call_t));
    if (call == NULL || body == NULL) {
        nd_free(call);
        json_decref(body);
        return nd_client_error(c, NACOS_ENOMEM, "no memory");
    }

    call->client = c;
    call->body = body;
    call->handler = handler;
    call->data = data;
    call->internal = internal;
    call->type = nd_alloc(strlen(type) + 1);
    if (call->type == NULL) {
        nd_client_call_free(call);
        return nd_client_error(c, NACOS_ENOMEM, "no memory");
    }
    memcpy(call->type, type, strlen(type) + 1);

    ev_timer_init(&call->timer, nd_client_call_timeout,
                  (double) c->timeout / 1000, 0.);
    call->timer.data = call;
    ev_timer_start(c->loop, &call->timer);

    nd_client_trace(c, "call %s", type);

    if (c->state == ND_CLIENT_READY || (internal && c->h2c_live)) {
        nd_client_submit(c, call);
    } else {
        nd_queue_insert_tail(&c->waiting, &call->link);
    }

    return NACOS_OK;
}


/* the common part of an answer: NACOS_OK, or an error with the message */
int
nd_client_result(nacos_client_t *c, const char *type, json_t *body)
{
    int64_t      code, ecode;
    const char  *msg;

    code = nd_json_get_int(body, "resultCode", 200);
    ecode = nd_json_get_int(body, "errorCode", 0);
    msg = nd_json_get_str(body, "message", "");

    if (strcmp(type, "ErrorResponse") == 0 || code != 200) {
        return nd_client_error(c, ecode == 403 || code == 403
                                  ? NACOS_DENIED : NACOS_ERROR,
                               "%s: %s %d/%d %s", c->server, type,
                               (int) code, (int) ecode,
                               msg[0] ? msg : "failed");
    }

    return NACOS_OK;
}


/* blocking */

int
nd_client_blocking_ok(nacos_client_t *c)
{
    if (c->in_callback) {
        return nd_client_error(c, NACOS_EBUSY, "a blocking call inside a "
                               "libnacos callback");
    }

    return NACOS_OK;
}


static void
nd_client_wake(struct ev_loop *loop, ev_timer *w, int revents)
{
}


/* run the loop until *done or ms: 0 when done */
int
nd_client_wait(nacos_client_t *c, int *done, nd_msec_t ms)
{
    int        rc;
    ev_timer   t;
    nd_msec_t  deadline;

    deadline = nd_time_monotonic_msec() + ms;
    ev_timer_init(&t, nd_client_wake, 0.05, 0.05);
    ev_timer_start(c->loop, &t);

    while (!*done && nd_time_monotonic_msec() < deadline) {
        ev_run(c->loop, EVRUN_ONCE);
    }

    ev_timer_stop(c->loop, &t);
    rc = *done ? 0 : -1;

    return rc;
}


typedef struct {
    int          done;
    int          rc;
    char        *type;
    json_t      *body;
} nd_client_wait_t;


static void
nd_client_waited(nacos_client_t *c, int rc, const char *type, json_t *body,
    void *data)
{
    nd_client_wait_t  *w = data;

    w->done = 1;
    w->rc = rc;

    if (rc == NACOS_OK) {
        w->type = strdup(type);
        w->body = json_incref(body);
    }
}


/* one call, waited for: NACOS_OK with *rtype (malloc'd) and *rbody (a
 * reference) the caller's */
int
nd_client_call_wait(nacos_client_t *c, const char *type, json_t *body,
    char **rtype, json_t **rbody)
{
    int                rc;
    nd_client_wait_t   w;

    rc = nd_client_blocking_ok(c);
    if (rc != NACOS_OK) {
        json_decref(body);
        return rc;
    }

    memset(&w, 0, sizeof(w));

    rc = nd_client_call(c, type, body, 0, nd_client_waited, &w);
    if (rc != NACOS_OK) {
        return rc;
    }

    /* the call's own timer ends it; the margin only guards the loop */
    nd_client_wait(c, &w.done, c->timeout + 1000);

    if (!w.done) {
        return nd_client_error(c, NACOS_TIMEOUT, "no answer to %s", type);
    }

    if (w.rc != NACOS_OK) {
        return w.rc;
    }

    *rtype = w.type;
    *rbody = w.body;

    return NACOS_OK;
}


int
nacos_request(nacos_client_t *c, const char *type, const char *body,
    char **resp_type, char **response)
{
    int           rc;
    char         *rtype;
    json_t       *req, *rbody;
    json_error_t  err;

    req = json_loads(body ? body : "{}", 0, &err);
    if (req == NULL || !json_is_object(req)) {
        json_decref(req);
        return nd_client_error(c, NACOS_EINVAL, "body is not a JSON object");
    }

    rc = nd_client_call_wait(c, type, req, &rtype, &rbody);
    if (rc != NACOS_OK) {
        return rc;
    }

    *response = json_dumps(rbody, JSON_COMPACT);
    if (resp_type) {
        *resp_type = rtype;
    } else {
        free(rtype);
    }
    json_decref(rbody);

    return *response ? NACOS_OK : NACOS_ENOMEM;
}


/* server requests on the bi-stream */

void
nd_client_answer(nacos_client_t *c, const char *type, const char *request_id)
{
    char      json[256];
    Metadata  meta = METADATA__INIT;

    if (!c->h2c_live) {
        return;
    }

    snprintf(json, sizeof(json), "{\"resultCode\":200,\"errorCode\":0,"
             "\"success\":true,\"requestId\":\"%.64s\"}",
             request_id ? request_id : "");
    meta.type = (char *) type;
    meta.clientip = (char *) "";

    if (nd_grpc_payload_frame(&c->bidi.out, &meta, (u_char *) json,
                              strlen(json))
        != ND_OK
        || nd_grpc_h2c_send(&c->h2c) != ND_OK)
    {
        c->lost = 1;
    }
}


static void
nd_client_ready(nacos_client_t *c);


static void
nd_client_reset(nacos_client_t *c, json_t *body)
{
    int          port;
    nd_uint_t    i;
    const char  *ip, *sport;

    c->stats.resets++;
    ip = nd_json_get_str(body, "serverIp", "");
    sport = nd_json_get_str(body, "serverPort", "");
    port = atoi(sport);

    c->redirect_ip[0] = '\0';

    if (ip[0] && port > 0) {
        /* only a server of our list */
        for (i = 0; i < c->nservers; i++) {
            if (strcmp(c->servers[i].ip, ip) == 0
                && c->servers[i].port == port)
            {
                c->cur = i;
                snprintf(c->redirect_ip, sizeof(c->redirect_ip), "%s", ip);
                c->redirect_port = port;
            }
        }
    }

    nd_client_trace(c, "ConnectResetRequest from %s: to %s", c->server,
                    c->redirect_ip[0] ? c->redirect_ip : "the next server");
    nd_client_down(c, "ConnectResetRequest");
}


static void
nd_client_push(nacos_client_t *c, const u_char *p, size_t len)
{
    json_t      *body;
    Payload     *payload;
    const char  *type, *rid;

    payload = payload__unpack(NULL, len, p);
    if (payload == NULL) {
        nd_client_trace(c, "undecodable message on the bi-stream");
        return;
    }

    body = nd_grpc_payload_body(payload);
    type = payload->metadata && payload->metadata->type
           ? payload->metadata->type : "";

    if (body == NULL) {
        payload__free_unpacked(payload, NULL);
        return;
    }

    rid = nd_json_get_str(body, "requestId", "");
    nd_client_trace(c, "server request %s %s", type, rid);

    if (strcmp(type, "SetupAckRequest") == 0) {
        c->ack = 1;
        if (c->state == ND_CLIENT_SETUP) {
            nd_client_ready(c);
        }

    } else if (strcmp(type, "ClientDetectionRequest") == 0) {
        nd_client_answer(c, "ClientDetectionResponse", rid);

    } else if (strcmp(type, "ConfigChangeNotifyRequest") == 0) {
        nd_client_answer(c, "ConfigChangeNotifyResponse", rid);
        nd_client_config_push(c, body);

    } else if (strcmp(type, "NotifySubscriberRequest") == 0) {
        nd_client_answer(c, "NotifySubscriberResponse", rid);
        nd_client_naming_push(c, body);

    } else if (strcmp(type, "ConnectResetRequest") == 0) {
        nd_client_answer(c, "ConnectResetResponse", rid);
        nd_client_flush(c);
        nd_client_reset(c, body);
    }

    json_decref(body);
    payload__free_unpacked(payload, NULL);
}


/* what the framer and the socket recorded: run outside the framer, after
 * each read and write and once per loop pass */
static void
nd_client_process(nacos_client_t *c)
{
    size_t             len;
    const u_char      *msg;
    nd_buf_t           pushes;
    nd_queue_t        *q;
    nd_client_call_t  *call;

    if (nd_buf_size(&c->pushes)) {
        pushes = c->pushes;
        nd_buf_init(&c->pushes);

        while (nd_grpc_message_next(&pushes, &msg, &len)) {
            if (c->h2c_live) {
                nd_client_push(c, msg, len);
            }
            nd_buf_consume(&pushes, 5 + len);
        }

        nd_buf_free(&pushes);
    }

    if (c->lost) {
        nd_client_down(c, c->errmsg[0] ? c->errmsg : "connection lost");
    }

    while (!nd_queue_empty(&c->done)) {
        q = nd_queue_head(&c->done);
        nd_queue_remove(q);
        call = nd_queue_data(q, nd_client_call_t, link);
        nd_client_finish(c, call);
    }

    /* calls refused by a connection that still serves */
    while (c->state == ND_CLIENT_READY && !nd_queue_empty(&c->waiting)) {
        q = nd_queue_head(&c->waiting);
        nd_queue_remove(q);
        call = nd_queue_data(q, nd_client_call_t, link);
        nd_client_submit(c, call);
    }
}


static void
nd_client_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
    nd_client_process(w->data);
}


/* the connection's steps */

static void
nd_client_setup_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    nacos_client_t  *c = w->data;

    if (c->state == ND_CLIENT_SETUP) {
        nd_client_ready(c);
    }
}


static void
nd_client_ready(nacos_client_t *c)
{
    nd_queue_t        *q;
    nd_client_call_t  *call;

    ev_timer_stop(c->loop, &c->setup);
    c->state = ND_CLIENT_READY;
    c->lasterr[0] = '\0';
    c->failures = 0;
    c->backoff = 0;
    c->redirect_ip[0] = '\0';
    c->stats.connects++;
    c->last_ok = nd_time_monotonic_msec();
    ev_timer_again(c->loop, &c->health);

    nd_client_trace(c, "ready on %s, connection %s", c->server, c->conn_id);

    while (!nd_queue_empty(&c->waiting)) {
        q = nd_queue_head(&c->waiting);
        nd_queue_remove(q);
        call = nd_queue_data(q, nd_client_call_t, link);
        nd_client_submit(c, call);
    }

    nd_client_naming_connected(c);
    nd_client_config_connected(c);
}


static void
nd_client_checked(nacos_client_t *c, int rc, const char *type, json_t *body,
    void *data)
{
    char      *json;
    json_t    *setup;
    Metadata   meta = METADATA__INIT;

    if (c->state != ND_CLIENT_CHECKING) {
        return;
    }

    if (rc != NACOS_OK || nd_client_result(c, type, body) != NACOS_OK) {
        c->lost = 1;
        return;
    }

    snprintf(c->conn_id, sizeof(c->conn_id), "%s",
             nd_json_get_str(body, "connectionId", ""));

    setup = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:{}, s:s, s:{}}",
                      "clientVersion", "libnacos:" ND_VERSION,
                      "tenant", c->namespace_id,
                      "labels", "source", "sdk", "module", "config,naming",
                      "AppName", c->app_name,
                      "abilityTable", "module", "internal", "headers");
    json = setup ? json_dumps(setup, JSON_COMPACT) : NULL;
    json_decref(setup);

    memset(&c->bidi, 0, sizeof(c->bidi));
    c->bidi.path = ND_GRPC_PATH_BIDI;
    c->bidi.bidi = 1;
    meta.type = (char *) "ConnectionSetupRequest";
    meta.clientip = (char *) "";

    if (json == NULL
        || nd_grpc_payload_frame(&c->bidi.out, &meta, (u_char *) json,
                                 strlen(json)) != ND_OK
        || nd_grpc_h2c_submit(&c->h2c, &c->bidi) != ND_OK
        || nd_grpc_h2c_send(&c->h2c) != ND_OK)
    {
        free(json);
        c->lost = 1;
        return;
    }

    free(json);
    c->state = ND_CLIENT_SETUP;
    c->ack = 0;

    /* a server that negotiates abilities answers the setup with a
     * SetupAckRequest: that says the connection is registered */
    ev_timer_set(&c->setup, nd_json_get_bool(body, "supportAbilityNegotiation",
                                             0)
                            ? (double) c->timeout / 1000 : 0.1, 0.);
    ev_timer_start(c->loop, &c->setup);
}


/* TCP is up: the h2 session and ServerCheckRequest */
static void
nd_client_check(nacos_client_t *c)
{
    if (nd_grpc_h2c_init(&c->h2c, &nd_client_h2_handler, c, &c->log,
                         c->authority, 16 * 1024 * 1024, 0)
        != ND_OK)
    {
        c->lost = 1;
        return;
    }

    c->h2c_live = 1;
    c->state = ND_CLIENT_CHECKING;

    nd_client_call(c, "ServerCheckRequest",
                   json_pack("{s:s, s:{}}", "module", "internal", "headers"),
                   1, nd_client_checked, NULL);
}


static void
nd_client_tcp(nacos_client_t *c)
{
    int                       fd, port;
    socklen_t                 slen;
    const char               *ip, *why;
    struct sockaddr_storage   ss;

    if (c->redirect_ip[0]) {
        ip = c->redirect_ip;
        port = c->redirect_port;
    } else {
        ip = c->servers[c->cur].ip;
        port = c->servers[c->cur].port;
    }

    snprintf(c->server_host, sizeof(c->server_host), "%s", ip);
    c->server_port = port;
    nd_client_hostport(c->server, sizeof(c->server), ip, port);
    nd_client_hostport(c->authority, sizeof(c->authority), ip,
                       port + (int) c->grpc_offset);

    if (nd_client_sockaddr(ip, port + (int) c->grpc_offset, &ss, &slen,
                           &why) != 0)
    {
        nd_client_error(c, NACOS_UNAVAILABLE, "%s: %s", ip, why);
        nd_client_down(c, "address not resolved");
        return;
    }

    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        nd_client_error(c, NACOS_UNAVAILABLE, "socket: %s", strerror(errno));
        nd_client_down(c, "socket failed");
        return;
    }

    (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int) { 1 },
                      sizeof(int));
    c->fd = fd;
    c->state = ND_CLIENT_CONNECTING;
    nd_client_trace(c, "connecting to %s", c->authority);

    if (connect(fd, (struct sockaddr *) &ss, slen) < 0
        && errno != EINPROGRESS)
    {
        nd_client_error(c, NACOS_UNAVAILABLE, "connect to %s: %s",
                        c->authority, strerror(errno));
        nd_client_down(c, "connect failed");
        return;
    }

    ev_io_set(&c->rev, fd, EV_READ);
    ev_io_set(&c->wev, fd, EV_WRITE);
    ev_io_start(c->loop, &c->wev);

    /* the connect timeout */
    ev_timer_set(&c->reconnect, (double) c->timeout / 1000, 0.);
    ev_timer_start(c->loop, &c->reconnect);
}


void
nd_client_login_done(nacos_client_t *c, int ok)
{
    if (c->state != ND_CLIENT_LOGIN) {
        return;
    }

    if (!ok) {
        nd_client_down(c, "login failed");
        return;
    }

    nd_client_tcp(c);
}


static void
nd_client_connect(nacos_client_t *c)
{
    if (c->stopping) {
        return;
    }

    c->lost = 0;

    /* a wait that ends during this attempt still says why the last failed */
    if (c->errmsg[0]) {
        memcpy(c->lasterr, c->errmsg, sizeof(c->lasterr));
        c->errmsg[0] = '\0';
    }

    if (nd_client_login_needed(c)) {
        c->state = ND_CLIENT_LOGIN;
        nd_client_hostport(c->server, sizeof(c->server),
                           c->servers[c->cur].ip, c->servers[c->cur].port);
        nd_client_login(c);
        return;
    }

    nd_client_tcp(c);
}


static void
nd_client_reconnect_handler(struct ev_loop *loop, ev_timer *w, int revents)
{
    nacos_client_t  *c = w->data;

    if (c->state == ND_CLIENT_CONNECTING) {
        nd_client_error(c, NACOS_UNAVAILABLE, "connect to %s timed out",
                        c->authority);
        nd_client_down(c, "connect timed out");
        return;
    }

    if (c->state == ND_CLIENT_IDLE) {
        nd_client_connect(c);
    }
}


static void
nd_client_health_done(nacos_client_t *c, int rc, const char *type,
    json_t *body, void *data)
{
    if (rc != NACOS_OK || nd_client_result(c, type, body) != NACOS_OK) {
        nd_client_trace(c, "health check of %s failed", c->server);
        c->lost = 1;
    }
}


static void
nd_client_health_handler(struct ev_loop *loop, ev_timer *w, int revents)
{
    nacos_client_t  *c = w->data;

    if (c->state != ND_CLIENT_READY) {
        return;
    }

    /* the token is renewed in the background, before it expires */
    if (nd_client_login_needed(c)) {
        nd_client_login(c);
    }

    if (nd_time_monotonic_msec() - c->last_ok + 50 < c->health_interval) {
        return;                         /* something succeeded lately */
    }

    nd_client_call(c, "HealthCheckRequest",
                   json_pack("{s:s, s:{}}", "module", "internal", "headers"),
                   1, nd_client_health_done, NULL);
}


/* the connection is gone or refused: tear it down, plan the next one */
static void
nd_client_down(nacos_client_t *c, const char *reason)
{
    nd_msec_t  delay;

    c->lost = 0;

    if (c->state == ND_CLIENT_IDLE) {
        return;
    }

    nd_client_trace(c, "down: %s (%s)", c->server, reason);

    ev_io_stop(c->loop, &c->rev);
    ev_io_stop(c->loop, &c->wev);
    ev_timer_stop(c->loop, &c->reconnect);
    ev_timer_stop(c->loop, &c->setup);
    ev_timer_stop(c->loop, &c->health);

    if (c->login) {
        nd_client_http_cancel(c->login);
        c->login = NULL;
    }

    if (c->h2c_live) {
        /* every call on the wire ends LOST: reported in the prepare */
        nd_grpc_h2c_fail(&c->h2c, ND_GRPC_H2C_LOST);
        nd_grpc_h2c_stream_free(&c->bidi);
        nd_grpc_h2c_free(&c->h2c);
        c->h2c_live = 0;
    }

    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }

    nd_buf_free(&c->out);
    nd_buf_free(&c->pushes);
    c->conn_id[0] = '\0';
    c->state = ND_CLIENT_IDLE;

    if (c->stopping) {
        return;
    }

    c->failures++;

    if (c->redirect_ip[0] == '\0') {
        c->cur = (c->cur + 1) % c->nservers;
    }

    if (c->failures < c->nservers || c->redirect_ip[0]) {
        delay = 0;                      /* the next server at once */
    } else {
        c->backoff = c->backoff ? nd_min(c->backoff * 2, c->backoff_max)
                                : 100;
        delay = c->backoff;
    }

    ev_timer_set(&c->reconnect, (double) delay / 1000, 0.);
    ev_timer_start(c->loop, &c->reconnect);
}


/* the public object */

static char *
nd_client_strdup(const char *s)
{
    return strdup(s ? s : "");
}


nacos_client_t *
nacos_client_new(const nacos_conf_t *conf, char *err, size_t errlen)
{
    nacos_client_t  *c;

    c = nd_calloc(sizeof(nacos_client_t));
    if (c == NULL) {
        snprintf(err, errlen, "no memory");
        return NULL;
    }

    c->fd = -1;
    c->grpc_offset = conf->grpc_offset ? conf->grpc_offset : 1000;
    c->timeout = conf->timeout_ms ? conf->timeout_ms : 3000;
    c->listen_interval = conf->listen_interval_ms
                         ? conf->listen_interval_ms : 5000;
    c->health_interval = conf->health_interval_ms
                         ? conf->health_interval_ms : 5000;
    c->backoff_max = conf->backoff_max_ms ? conf->backoff_max_ms : 5000;
    c->trace = conf->trace;
    c->namespace_id = nd_client_strdup(conf->namespace_id);
    c->app_name = nd_client_strdup(conf->app_name && conf->app_name[0]
                                   ? conf->app_name : "unknown");
    c->username = conf->username && conf->username[0]
                  ? strdup(conf->username) : NULL;
    c->password = nd_client_strdup(conf->password);

    nd_queue_init(&c->waiting);
    nd_queue_init(&c->done);
    c->log.level = c->trace ? ND_LOG_ERR : 0;
    c->log.file = nd_log_default()->file;

    if (c->namespace_id == NULL || c->app_name == NULL || c->password == NULL
        || conf->servers == NULL
        || nd_client_parse_servers(c, conf->servers) != 0)
    {
        snprintf(err, errlen, "bad server list \"%s\": IPv4 ip:port or "
                 "[IPv6]:port, comma separated",
                 conf->servers ? conf->servers : "");
        c->loop = NULL;
        nacos_client_free(c);
        return NULL;
    }

    if (conf->loop) {
        c->loop = conf->loop;
    } else {
        c->loop = ev_loop_new(EVFLAG_AUTO);
        c->own_loop = 1;
        if (c->loop == NULL) {
            snprintf(err, errlen, "cannot create a libev loop");
            nacos_client_free(c);
            return NULL;
        }
    }

    ev_io_init(&c->rev, nd_client_read_handler, -1, EV_READ);
    ev_io_init(&c->wev, nd_client_write_handler, -1, EV_WRITE);
    c->rev.data = c;
    c->wev.data = c;
    ev_timer_init(&c->reconnect, nd_client_reconnect_handler, 0., 0.);
    c->reconnect.data = c;
    ev_timer_init(&c->setup, nd_client_setup_timeout, 0., 0.);
    c->setup.data = c;
    ev_timer_init(&c->health, nd_client_health_handler, 0.,
                  (double) c->health_interval / 1000);
    c->health.data = c;
    ev_prepare_init(&c->prepare, nd_client_prepare);
    c->prepare.data = c;
    ev_prepare_start(c->loop, &c->prepare);

    nd_client_config_init(c);
    nd_client_naming_init(c);

    /* the first connect from the loop */
    ev_timer_start(c->loop, &c->reconnect);

    return c;
}


void
nacos_client_free(nacos_client_t *c)
{
    nd_queue_t        *q;
    nd_client_call_t  *call;

    if (c == NULL) {
        return;
    }

    if (c->loop) {
        c->stopping = 1;
        nd_client_down(c, "client freed");

        /* calls the connection ended, then those never sent: ABORT-like */
        while (!nd_queue_empty(&c->waiting)) {
            q = nd_queue_head(&c->waiting);
            nd_queue_remove(q);
            call = nd_queue_data(q, nd_client_call_t, link);
            call->rc = NACOS_UNAVAILABLE;
            nd_queue_insert_tail(&c->done, &call->link);
        }

        while (!nd_queue_empty(&c->done)) {
            q = nd_queue_head(&c->done);
            nd_queue_remove(q);
            call = nd_queue_data(q, nd_client_call_t, link);
            if (call->rc == NACOS_OK) {
                call->rc = NACOS_UNAVAILABLE;
            }
            nd_client_finish(c, call);
        }

        ev_timer_stop(c->loop, &c->reconnect);
        ev_prepare_stop(c->loop, &c->prepare);
        nd_client_config_free(c);
        nd_client_naming_free(c);

        if (c->own_loop) {
            ev_loop_destroy(c->loop);
        }
    }

    free(c->token);
    free(c->namespace_id);
    free(c->app_name);
    free(c->username);
    free(c->password);
    nd_free(c->servers);
    nd_buf_free(&c->pushes);
    nd_free(c);
}


struct ev_loop *
nacos_client_loop(nacos_client_t *c)
{
    return c->loop;
}


static void
nd_client_run_end(struct ev_loop *loop, ev_timer *w, int revents)
{
    ev_break(loop, EVBREAK_ONE);
}


void
nacos_client_run(nacos_client_t *c, unsigned ms)
{
    ev_timer  t;

    ev_timer_init(&t, nd_client_run_end, (double) ms / 1000, 0.);
    if (ms) {
        ev_timer_start(c->loop, &t);
    }

    ev_run(c->loop, 0);
    ev_timer_stop(c->loop, &t);
}


void
nacos_client_stop(nacos_client_t *c)
{
    ev_break(c->loop, EVBREAK_ONE);
}


int
nacos_client_wait_ready(nacos_client_t *c, unsigned ms)
{
    int  ready;

    if (nd_client_blocking_ok(c) != NACOS_OK) {
        return NACOS_EBUSY;
    }

    ready = (c->state == ND_CLIENT_READY);
    if (!ready) {
        nd_msec_t  deadline = nd_time_monotonic_msec() + ms;

        while (c->state != ND_CLIENT_READY
               && nd_time_monotonic_msec() < deadline)
        {
            ready = 0;
            nd_client_wait(c, &ready, 50);
        }
    }

    if (c->state != ND_CLIENT_READY) {
        char  why[256];

        snprintf(why, sizeof(why), "%s",
                 c->errmsg[0] ? c->errmsg : c->lasterr);
        return nd_client_error(c, NACOS_UNAVAILABLE, "no server ready in "
                               "%u ms%s%s", ms, why[0] ? ": " : "", why);
    }

    return NACOS_OK;
}


int
nacos_client_connected(nacos_client_t *c)
{
    return c->state == ND_CLIENT_READY;
}


const char *
nacos_client_server(nacos_client_t *c)
{
    return c->state == ND_CLIENT_READY ? c->server : "";
}


const char *
nacos_client_connection_id(nacos_client_t *c)
{
    return c->conn_id;
}


void
nacos_client_stats(nacos_client_t *c, nacos_stats_t *st)
{
    *st = c->stats;
}

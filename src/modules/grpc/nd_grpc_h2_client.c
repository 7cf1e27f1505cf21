/*
 * HTTP/2 for gRPC, client side (h2c): unary calls on /Request/request
 * over one connection, with the frame reader of nd_grpc_h2_frame.c and
 * HPACK from nd_hpack.c.
 *
 * A session sends the preface, its SETTINGS (no push, our stream window,
 * MAX_HEADER_LIST_SIZE) and a WINDOW_UPDATE at once; streams open (odd
 * ids, increasing, in submit order) once the server's SETTINGS came and
 * while its MAX_CONCURRENT_STREAMS allows.  A request is HEADERS then
 * DATA within the server's connection and stream windows and
 * MAX_FRAME_SIZE, END_STREAM on the last DATA.  Responses are kept whole
 * (at most max_message + 5 bytes a stream) and window is given back once
 * half of it was received.  A stream ends on END_STREAM from the server
 * (with grpc-status from the trailers), on RST_STREAM, on GOAWAY (above
 * its last stream id: REFUSED, safe to send again), or with the
 * connection.  Frames for a stream we cancelled are read and dropped.
 */
#include <nd_grpc_internal.h>
#include <nd_grpc_h2_client.h>

#define ND_H2C_HEADERS_MAX  (ND_H2_HEAD + 128 + ND_SOCKADDR_STRLEN)

/* one response header block being decoded */
typedef struct {
    nd_grpc_h2c_stream_t  *st;
    int32_t                grpc_status;
    uint32_t               http_status;
    size_t                 size;
    unsigned               malformed:1;
} nd_grpc_h2c_fields_t;


static nd_grpc_h2c_stream_t *
nd_grpc_h2c_find(nd_grpc_h2c_t *h2c, int32_t sid)
{
    nd_queue_t            *q;
    nd_grpc_h2c_stream_t  *st;

    for (q = nd_queue_head(&h2c->open);
         q != nd_queue_sentinel(&h2c->open);
         q = nd_queue_next(q))
    {
        st = nd_queue_data(q, nd_grpc_h2c_stream_t, link);
        if (st->id == sid) {
            return st;
        }
    }

    return NULL;
}


static nd_int_t
nd_grpc_h2c_write(nd_grpc_h2c_t *h2c, const u_char *p, size_t len)
{
    if (h2c->handler->write(h2c->data, p, len) != ND_OK) {
        h2c->failed = 1;
        return ND_ERROR;
    }

    return ND_OK;
}


static int
nd_grpc_h2c_write32(nd_grpc_h2c_t *h2c, u_char type, int32_t sid,
    uint32_t value)
{
    u_char  f[ND_H2_HEAD + 4];

    nd_grpc_h2_frame32(f, type, sid, value);

    return nd_grpc_h2c_write(h2c, f, sizeof(f));
}


/* st leaves the framer: the owner hears how */
static void
nd_grpc_h2c_end(nd_grpc_h2c_t *h2c, nd_grpc_h2c_stream_t *st,
    nd_grpc_h2c_end_e how, uint32_t code)
{
    if (!st->queued) {
        return;
    }

    nd_queue_remove(&st->link);
    st->queued = 0;

    if (st->id) {
        h2c->nopen--;
    } else {
        h2c->npending--;
    }

    st->end = how;
    st->code = code;

    nd_log_debug(h2c->log, "http/2 client stream %d ended %d, code %u",
                 (int) st->id, (int) how, (unsigned) code);

    h2c->handler->end(h2c->data, st);
}


/* a stream error of ours: RST_STREAM, and the stream ends */
static int
nd_grpc_h2c_stream_error(nd_grpc_h2c_t *h2c, nd_grpc_h2c_stream_t *st,
    uint32_t code, const char *reason)
{
    int32_t  sid;

    sid = st->id;
    nd_log_error(ND_LOG_INFO, h2c->log, 0, "http/2 stream %d: %s",
                 (int) sid, reason);
    snprintf(st->message, sizeof(st->message), "%s", reason);
    nd_grpc_h2c_end(h2c, st, ND_GRPC_H2C_BAD, code);

    return nd_grpc_h2c_write32(h2c, ND_H2_RST_STREAM, sid, code);
}


/* the streams not opened end REFUSED: they never went out */
static void
nd_grpc_h2c_fail_pending(nd_grpc_h2c_t *h2c, uint32_t code)
{
    nd_queue_t            *q;
    nd_grpc_h2c_stream_t  *st;

    while (!nd_queue_empty(&h2c->pending)) {
        q = nd_queue_head(&h2c->pending);
        st = nd_queue_data(q, nd_grpc_h2c_stream_t, link);
        nd_grpc_h2c_end(h2c, st, ND_GRPC_H2C_REFUSED, code);
    }
}


/* end everything: the pending never went out */
void
nd_grpc_h2c_fail(nd_grpc_h2c_t *h2c, nd_grpc_h2c_end_e how)
{
    nd_queue_t            *q;
    nd_grpc_h2c_stream_t  *st;

    h2c->failed = 1;

    while (!nd_queue_empty(&h2c->open)) {
        q = nd_queue_head(&h2c->open);
        st = nd_queue_data(q, nd_grpc_h2c_stream_t, link);
        nd_grpc_h2c_end(h2c, st, how, 0);
    }

    nd_grpc_h2c_fail_pending(h2c, 0);
}


/* a connection error: GOAWAY (we accept no streams: last id 0) */
static nd_int_t
nd_grpc_h2c_error(nd_grpc_h2c_t *h2c, uint32_t code, const char *reason)
{
    u_char  f[ND_H2_HEAD + 8];

    nd_log_error(ND_LOG_INFO, h2c->log, 0, "http/2 error %u: %s",
                 (unsigned) code, reason);

    if (!h2c->failed) {
        nd_grpc_h2_frame_goaway(f, 0, code);
        nd_grpc_h2c_write(h2c, f, sizeof(f));
        nd_grpc_h2c_fail(h2c, ND_GRPC_H2C_LOST);
    }

    return ND_ERROR;
}


int
nd_grpc_h2c_init(nd_grpc_h2c_t *h2c, const nd_grpc_h2c_handler_t *h,
    void *data, nd_log_t *log, const char *authority, size_t max_message,
    uint32_t window)
{
    size_t    n;
    u_char    f[ND_H2_PREFACE_LEN + ND_H2_HEAD + 18 + ND_H2_HEAD + 4];
    uint32_t  set[3][2];

    memset(h2c, 0, sizeof(nd_grpc_h2c_t));
    nd_grpc_h2_reader_init(&h2c->rd, 0);
    nd_hpack_init(&h2c->hpack, ND_H2_TABLE_SIZE);
    nd_queue_init(&h2c->pending);
    nd_queue_init(&h2c->open);

    h2c->handler = h;
    h2c->data = data;
    h2c->log = log;
    h2c->authority = authority;
    h2c->max_message = max_message;
    h2c->window = window ? window : ND_GRPC_H2C_WINDOW;
    h2c->next_sid = 1;
    h2c->max_streams = UINT32_MAX;          /* until SETTINGS say */
    nd_grpc_h2_flow_init(&h2c->flow);

    memcpy(f, ND_H2_PREFACE, ND_H2_PREFACE_LEN);

    set[0][0] = ND_H2_SET_ENABLE_PUSH;
    set[0][1] = 0;
    set[1][0] = ND_H2_SET_WINDOW;
    set[1][1] = h2c->window;
    set[2][0] = ND_H2_SET_LIST_SIZE;
    set[2][1] = ND_H2_HEADER_LIST;

    n = nd_grpc_h2_frame_session(f + ND_H2_PREFACE_LEN, set, 3,
                                 ND_GRPC_H2C_CONN_WINDOW);

    return nd_grpc_h2c_write(h2c, f, ND_H2_PREFACE_LEN + n);
}


/* receiving */

static void
nd_grpc_h2c_field(void *data, const u_char *name, size_t nlen,
    const u_char *value, size_t vlen)
{
    size_t                 i;
    uint32_t               v;
    nd_grpc_h2c_fields_t  *f = data;

    f->size += nlen + vlen + 32;

    if (f->st == NULL || f->malformed) {
        return;
    }

    if (f->size > ND_H2_HEADER_LIST) {
        f->malformed = 1;
        return;
    }

    if (nd_h2_name_is(name, nlen, ":status")) {
        for (i = 0, v = 0; i < vlen && i < 3; i++) {
            if (value[i] < '0' || value[i] > '9') {
                break;
            }
            v = v * 10 + (uint32_t) (value[i] - '0');
        }
        if (vlen != 3 || i != 3 || f->http_status) {
            f->malformed = 1;
        }
        f->http_status = v;

    } else if (nd_h2_name_is(name, nlen, "grpc-status")) {
        for (i = 0, v = 0; i < vlen && i < 9; i++) {
            if (value[i] < '0' || value[i] > '9') {
                break;
            }
            v = v * 10 + (uint32_t) (value[i] - '0');
        }
        if (vlen == 0 || i != vlen) {
            f->malformed = 1;
        }
        f->grpc_status = (int32_t) v;

    } else if (nd_h2_name_is(name, nlen, "grpc-message")) {
        /* percent-encoded by the spec; kept as sent, for the log */
        snprintf(f->st->message, sizeof(f->st->message), "%.*s",
                 (int) vlen, value);
    }
}


/* the server ended st: how the call came out */
static nd_int_t
nd_grpc_h2c_remote_end(nd_grpc_h2c_t *h2c, nd_grpc_h2c_stream_t *st)
{
    int32_t   sid;
    unsigned  local;

    /* st is the owner's again once it ended */
    sid = st->id;
    local = st->local;

    if (st->http_status != 200) {
        snprintf(st->message, sizeof(st->message), "http status %u",
                 (unsigned) st->http_status);
        nd_grpc_h2c_end(h2c, st, ND_GRPC_H2C_BAD, 0);

    } else if (st->grpc_status < 0) {
        snprintf(st->message, sizeof(st->message), "no grpc-status");
        nd_grpc_h2c_end(h2c, st, ND_GRPC_H2C_BAD, 0);

    } else {
        nd_grpc_h2c_end(h2c, st, ND_GRPC_H2C_ANSWERED, 0);
    }

    if (!local) {
        /* answered before the request was all out: stop it (8.1) */
        return nd_grpc_h2c_write32(h2c, ND_H2_RST_STREAM, sid, ND_H2_CANCEL);
    }

    return ND_OK;
}


static nd_int_t
nd_grpc_h2c_block(void *ctx, int32_t sid, u_char flags, const u_char *p,
    size_t len)
{
    int                    rc;
    u_char                 tmp[ND_H2_HEADER_LIST];
    nd_grpc_h2c_t         *h2c = ctx;
    nd_grpc_h2c_stream_t  *st;
    nd_grpc_h2c_fields_t   f;

    if (sid > h2c->rd.last_sid) {
        return nd_grpc_h2c_error(h2c, ND_H2_PROTOCOL_ERROR,
                                 "HEADERS on a stream we did not open");
    }

    st = nd_grpc_h2c_find(h2c, sid);

    memset(&f, 0, sizeof(f));
    f.st = st;
    f.grpc_status = -1;

    /* always decoded: the server's table must stay in step */
    rc = nd_hpack_decode(&h2c->hpack, p, len, tmp, sizeof(tmp),
                         nd_grpc_h2c_field, &f);
    if (rc != ND_HPACK_OK) {
        return nd_grpc_h2c_error(h2c, ND_H2_COMPRESSION,
                                 rc == ND_HPACK_TOO_LARGE
                                 ? "header field too large"
                                 : "bad header block");
    }

    if (st == NULL) {
        return ND_OK;                   /* a stream we cancelled */
    }

    if (f.malformed) {
        return nd_grpc_h2c_stream_error(h2c, st, ND_H2_PROTOCOL_ERROR,
                                        "malformed response headers");
    }

    if (!st->headers) {
        /* the response headers, or trailers-only */
        st->headers = 1;
        st->http_status = f.http_status;
        if (f.http_status == 0) {
            return nd_grpc_h2c_stream_error(h2c, st, ND_H2_PROTOCOL_ERROR,
                                            "response without :status");
        }

    } else if (f.http_status || !(flags & ND_H2_END_STREAM)) {
        /* 8.1: trailers, and they end the stream */
        return nd_grpc_h2c_stream_error(h2c, st, ND_H2_PROTOCOL_ERROR,
                                        "bad trailers");
    }

    if (f.grpc_status >= 0) {
        st->grpc_status = f.grpc_status;
    }

    if (flags & ND_H2_END_STREAM) {
        return nd_grpc_h2c_remote_end(h2c, st);
    }

    return ND_OK;
}


static nd_int_t
nd_grpc_h2c_data_start(void *ctx)
{
    nd_grpc_h2c_t         *h2c = ctx;
    nd_grpc_h2c_stream_t  *st;

    /* every byte counts against the connection, even a dropped stream's */
    if (nd_grpc_h2_window_take(&h2c->flow.recv_unacked, ND_GRPC_H2C_CONN_WINDOW,
                               h2c->rd.length)
        != ND_OK)
    {
        return nd_grpc_h2c_error(h2c, ND_H2_FLOW_CONTROL,
                                 "DATA over the connection window");
    }

    st = nd_grpc_h2c_find(h2c, h2c->rd.sid);
    if (st == NULL) {
        return ND_OK;                   /* cancelled or ended: dropped */
    }

    if (!st->headers) {
        return nd_grpc_h2c_stream_error(h2c, st, ND_H2_PROTOCOL_ERROR,
                                        "DATA before the response headers");
    }

    if (nd_grpc_h2_window_take(&st->unacked, h2c->window, h2c->rd.length)
        != ND_OK)
    {
        return nd_grpc_h2c_stream_error(h2c, st, ND_H2_FLOW_CONTROL,
                                        "DATA over the stream window");
    }

    return ND_OK;
}


static nd_int_t
nd_grpc_h2c_data(void *ctx, const u_char *p, size_t n)
{
    nd_grpc_h2c_t         *h2c = ctx;
    nd_grpc_h2c_stream_t  *st;

    st = nd_grpc_h2c_find(h2c, h2c->rd.sid);
    if (st == NULL) {
        return ND_OK;
    }

    if (nd_buf_size(&st->in) + n > h2c->max_message + 5) {
        return nd_grpc_h2c_stream_error(h2c, st, ND_H2_CANCEL,
                                        "response over max_message_size");
    }

    if (nd_buf_append(&st->in, p, n) != ND_OK) {
        return nd_grpc_h2c_stream_error(h2c, st, ND_H2_INTERNAL_ERROR,
                                        "no memory for the response");
    }

    return ND_OK;
}


static nd_int_t
nd_grpc_h2c_data_end(void *ctx)
{
    u_char                 f[2 * (ND_H2_HEAD + 4)];
    size_t                 n;
    int32_t                sid;
    uint32_t              *unacked;
    nd_grpc_h2c_t         *h2c = ctx;
    nd_grpc_h2c_stream_t  *st;

    sid = h2c->rd.sid;
    unacked = NULL;

    st = nd_grpc_h2c_find(h2c, sid);

    if (st) {
        if (nd_h2_flags(&h2c->rd) & ND_H2_END_STREAM) {
            /* no trailers: no grpc-status, a failed call */
            if (nd_grpc_h2c_remote_end(h2c, st) != ND_OK) {
                return ND_ERROR;
            }

        } else {
            unacked = &st->unacked;
            if (st->bidi && h2c->handler->message) {
                h2c->handler->message(h2c->data, st);
            }
        }
    }

    n = nd_grpc_h2_frame_grants(f, sid, unacked, h2c->window,
                                &h2c->flow.recv_unacked,
                                ND_GRPC_H2C_CONN_WINDOW);

    return n ? nd_grpc_h2c_write(h2c, f, n) : ND_OK;
}


static nd_int_t
nd_grpc_h2c_settings(nd_grpc_h2c_t *h2c, const u_char *p, size_t len)
{
    int64_t                 delta;
    uint32_t                code;
    const char             *reason;
    nd_queue_t             *q;
    nd_grpc_h2c_stream_t   *st;
    nd_grpc_h2_settings_t   set;

    if (nd_h2_flags(&h2c->rd) & ND_H2_ACK) {
        h2c->acked = 1;
        return ND_OK;
    }

    code = nd_grpc_h2_settings_parse(p, len, &set, &reason);
    if (code) {
        return nd_grpc_h2c_error(h2c, code, reason);
    }

    nd_grpc_h2_flow_settings(&h2c->flow, &set, &delta);

    for (q = nd_queue_head(&h2c->open);
         delta && q != nd_queue_sentinel(&h2c->open);
         q = nd_queue_next(q))
    {
        st = nd_queue_data(q, nd_grpc_h2c_stream_t, link);
        if (nd_grpc_h2_window_add(&st->window, delta) != ND_OK) {
            return nd_grpc_h2c_error(h2c, ND_H2_FLOW_CONTROL,
                                     "stream window over 2^31 - 1");
        }
    }

    if (nd_h2_has(&set, ND_H2_SET_STREAMS)) {
        h2c->max_streams = set.value[ND_H2_SET_STREAMS];
    }

    /* HEADER_TABLE_SIZE: our encoder never indexes, nothing to do;
     * the reader acknowledges */

    if (!h2c->ready) {
        h2c->ready = 1;
        if (h2c->handler->ready) {
            h2c->handler->ready(h2c->data);
        }
    }

    return ND_OK;
}


static void
nd_grpc_h2c_goaway_in(nd_grpc_h2c_t *h2c, const u_char *p)
{
    int32_t                last;
    uint32_t               code;
    nd_queue_t            *q, *next;
    nd_grpc_h2c_stream_t  *st;

    last = (int32_t) (nd_h2_get32(p) & 0x7fffffff);
    code = nd_h2_get32(p + 4);

    nd_log_error(code ? ND_LOG_INFO : ND_LOG_DEBUG, h2c->log, 0,
                 "http/2 GOAWAY from server, last stream %d, error %u",
                 (int) last, (unsigned) code);

    if (!h2c->goaway || last < h2c->goaway_sid) {
        h2c->goaway_sid = last;
    }
    h2c->goaway = 1;

    /* 6.8: streams above last were not processed: they may be sent
     * again (on another connection); the pending never opened */
    for (q = nd_queue_head(&h2c->open);
         q != nd_queue_sentinel(&h2c->open);
         q = next)
    {
        next = nd_queue_next(q);
        st = nd_queue_data(q, nd_grpc_h2c_stream_t, link);
        if (st->id > last) {
            nd_grpc_h2c_end(h2c, st, ND_GRPC_H2C_REFUSED, code);
        }
    }

    nd_grpc_h2c_fail_pending(h2c, code);

    if (h2c->handler->goaway) {
        h2c->handler->goaway(h2c->data, last, code);
    }
}


static nd_int_t
nd_grpc_h2c_frame(void *ctx, const u_char *p)
{
    uint32_t               code;
    nd_grpc_h2c_t         *h2c = ctx;
    nd_grpc_h2c_stream_t  *st;

    switch (nd_h2_type(&h2c->rd)) {

    case ND_H2_SETTINGS:
        return nd_grpc_h2c_settings(h2c, p, h2c->rd.length);

    case ND_H2_RST_STREAM:
        st = nd_grpc_h2c_find(h2c, h2c->rd.sid);
        if (st) {
            code = nd_h2_get32(p);
            snprintf(st->message, sizeof(st->message),
                     "stream reset by the server, error %u", (unsigned) code);
            nd_grpc_h2c_end(h2c, st,
                            code == ND_H2_REFUSED_STREAM
                            ? ND_GRPC_H2C_REFUSED : ND_GRPC_H2C_RESET,
                            code);
        }
        return ND_OK;

    case ND_H2_GOAWAY:
        nd_grpc_h2c_goaway_in(h2c, p);
        return ND_OK;

    default:
        return ND_OK;
    }
}


static nd_int_t
nd_grpc_h2c_read_error(void *ctx, uint32_t code, const char *reason)
{
    return nd_grpc_h2c_error(ctx, code, reason);
}


static nd_int_t
nd_grpc_h2c_write_out(void *ctx, const u_char *p, size_t len)
{
    return nd_grpc_h2c_write(ctx, p, len);
}


static int32_t *
nd_grpc_h2c_send_window(void *ctx, int32_t sid)
{
    nd_grpc_h2c_t         *h2c = ctx;
    nd_grpc_h2c_stream_t  *st;

    if (sid == 0) {
        return &h2c->flow.send_window;
    }

    st = nd_grpc_h2c_find(h2c, sid);

    return st ? &st->window : NULL;
}


static nd_int_t
nd_grpc_h2c_stream_fail(void *ctx, int32_t sid, uint32_t code,
    const char *reason)
{
    nd_grpc_h2c_stream_t  *st;

    st = nd_grpc_h2c_find(ctx, sid);

    return st ? nd_grpc_h2c_stream_error(ctx, st, code, reason) : ND_OK;
}


static nd_int_t
nd_grpc_h2c_halted(void *ctx)
{
    nd_grpc_h2c_t  *h2c = ctx;

    return h2c->failed;
}


static const nd_grpc_h2_role_t  nd_grpc_h2c_role = {
    .data_start = nd_grpc_h2c_data_start,
    .data = nd_grpc_h2c_data,
    .data_end = nd_grpc_h2c_data_end,
    .block = nd_grpc_h2c_block,
    .frame = nd_grpc_h2c_frame,
    .write = nd_grpc_h2c_write_out,
    .send_window = nd_grpc_h2c_send_window,
    .stream_error = nd_grpc_h2c_stream_fail,
    .error = nd_grpc_h2c_read_error,
    .halted = nd_grpc_h2c_halted,
};


nd_int_t
nd_grpc_h2c_recv(nd_grpc_h2c_t *h2c, const u_char *data, size_t len)
{
    if (h2c->failed) {
        return ND_ERROR;
    }

    if (nd_grpc_h2_read(&h2c->rd, &nd_grpc_h2c_role, h2c, data, len)
        != ND_OK)
    {
        return h2c->failed ? ND_ERROR : ND_OK;
    }

    /* new window, a SETTINGS that let streams open */
    return nd_grpc_h2c_send(h2c);
}


/* sending */

nd_int_t
nd_grpc_h2c_submit(nd_grpc_h2c_t *h2c, nd_grpc_h2c_stream_t *st)
{
    if (h2c->failed || h2c->goaway) {
        return ND_DECLINED;
    }

    st->id = 0;
    st->window = 0;
    st->unacked = 0;
    st->code = 0;
    st->http_status = 0;
    st->grpc_status = -1;
    st->message[0] = '\0';
    st->headers = 0;
    st->local = 0;
    st->queued = 1;

    nd_queue_insert_tail(&h2c->pending, &st->link);
    h2c->npending++;

    return ND_OK;
}


/* HEADERS of a new stream: POST /Request/request */
static int
nd_grpc_h2c_open(nd_grpc_h2c_t *h2c, nd_grpc_h2c_stream_t *st)
{
    u_char       f[ND_H2C_HEADERS_MAX], *p;
    const char  *path;

    st->id = (int32_t) h2c->next_sid;
    h2c->next_sid += 2;
    h2c->rd.last_sid = st->id;
    st->window = (int32_t) h2c->flow.peer_window;

    nd_queue_remove(&st->link);
    h2c->npending--;
    nd_queue_insert_tail(&h2c->open, &st->link);
    h2c->nopen++;

    p = f + ND_H2_HEAD;
    *p++ = 0x83;                                /* :method POST (3) */
    *p++ = 0x86;                                /* :scheme http (6) */
    path = st->path ? st->path : ND_GRPC_PATH_UNARY;
    p = nd_hpack_encode_indexed_name(p, 4, (u_char *) path, strlen(path));
    p = nd_hpack_encode_indexed_name(p, 1, (u_char *) h2c->authority,
                                     strlen(h2c->authority));
    p = nd_hpack_encode_indexed_name(p, 31, (u_char *) "application/grpc",
                                     sizeof("application/grpc") - 1);
    p = nd_hpack_encode_literal(p, (u_char *) "te", 2,
                                (u_char *) "trailers", 8);

    nd_grpc_h2_head(f, (size_t) (p - f) - ND_H2_HEAD, ND_H2_HEADERS,
                    ND_H2_END_HEADERS, st->id);

    return nd_grpc_h2c_write(h2c, f, (size_t) (p - f));
}


/* at most one DATA frame of st: 1 when one was written, 0 when it waits */
static nd_int_t
nd_grpc_h2c_stream_send(nd_grpc_h2c_t *h2c, nd_grpc_h2c_stream_t *st,
    u_char *buf)
{
    size_t   n, left, room;
    u_char   flags;

    if (st->local) {
        return 0;
    }

    room = nd_grpc_h2_flow_room(&h2c->flow, st->window);
    left = nd_buf_size(&st->out);

    if ((left && room == 0) || (st->bidi && left == 0)) {
        return 0;                       /* waits for WINDOW_UPDATE */
    }

    n = nd_min(left, room);
    flags = (n == left && !st->bidi) ? ND_H2_END_STREAM : 0;

    nd_grpc_h2_head(buf, n, ND_H2_DATA, flags, st->id);
    memcpy(buf + ND_H2_HEAD, nd_buf_start(&st->out), n);

    if (nd_grpc_h2c_write(h2c, buf, ND_H2_HEAD + n) != ND_OK) {
        return ND_ERROR;
    }

    nd_buf_consume(&st->out, n);
    nd_grpc_h2_flow_spend(&h2c->flow, &st->window, n);

    if (flags) {
        st->local = 1;
        nd_buf_free(&st->out);
    }

    return 1;
}


int
nd_grpc_h2c_send(nd_grpc_h2c_t *h2c)
{
    int                    rc, progress;
    u_char                 buf[ND_H2_HEAD + ND_H2_FRAME_MAX];
    nd_queue_t            *q, *next;
    nd_grpc_h2c_stream_t  *st;

    if (h2c->failed || h2c->in_send) {
        return h2c->failed ? ND_ERROR : ND_OK;
    }

    h2c->in_send = 1;
    rc = ND_OK;

    /* new streams, in submit order, as many as the server allows */
    while (h2c->ready && !h2c->goaway && !nd_queue_empty(&h2c->pending)
           && h2c->nopen < h2c->max_streams)
    {
        q = nd_queue_head(&h2c->pending);
        st = nd_queue_data(q, nd_grpc_h2c_stream_t, link);

        if (h2c->next_sid > ND_H2_WINDOW_MAX) {
            /* 5.1.1: ids are spent; this connection opens no more, as
             * after a GOAWAY */
            h2c->goaway = 1;
            h2c->goaway_sid = h2c->rd.last_sid;
            nd_grpc_h2c_fail_pending(h2c, 0);
            if (h2c->handler->goaway) {
                h2c->handler->goaway(h2c->data, h2c->rd.last_sid, 0);
            }
            break;
        }

        if (nd_grpc_h2c_open(h2c, st) != ND_OK) {
            rc = ND_ERROR;
            break;
        }
    }

    /* DATA: streams take turns, one frame each per round */
    do {
        progress = 0;

        for (q = nd_queue_head(&h2c->open);
             rc == ND_OK && q != nd_queue_sentinel(&h2c->open);
             q = next)
        {
            next = nd_queue_next(q);
            st = nd_queue_data(q, nd_grpc_h2c_stream_t, link);

            if (h2c->handler->full && h2c->handler->full(h2c->data)) {
                progress = 0;
                break;
            }

            switch (nd_grpc_h2c_stream_send(h2c, st, buf)) {
            case ND_ERROR:
                rc = ND_ERROR;
                break;
            case 1:
                progress = 1;
                break;
            default:
                break;
            }
        }

    } while (progress && rc == ND_OK);

    h2c->in_send = 0;

    return rc;
}


void
nd_grpc_h2c_cancel(nd_grpc_h2c_t *h2c, nd_grpc_h2c_stream_t *st)
{
    if (!st->queued) {
        return;
    }

    nd_queue_remove(&st->link);
    st->queued = 0;

    if (st->id == 0) {
        h2c->npending--;
        return;
    }

    h2c->nopen--;

    if (!h2c->failed) {
        nd_grpc_h2c_write32(h2c, ND_H2_RST_STREAM, st->id, ND_H2_CANCEL);
    }
}


void
nd_grpc_h2c_goaway(nd_grpc_h2c_t *h2c)
{
    u_char  f[ND_H2_HEAD + 8];

    if (!h2c->failed) {
        nd_grpc_h2_frame_goaway(f, 0, ND_H2_NO_ERROR);
        nd_grpc_h2c_write(h2c, f, sizeof(f));
    }
}


void
nd_grpc_h2c_stream_free(nd_grpc_h2c_stream_t *st)
{
    nd_buf_free(&st->in);
    nd_buf_free(&st->out);
}


void
nd_grpc_h2c_free(nd_grpc_h2c_t *h2c)
{
    nd_hpack_free(&h2c->hpack);
    nd_grpc_h2_reader_free(&h2c->rd);
}

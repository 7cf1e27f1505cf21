/*
 * HTTP/2 for gRPC (RFC 9113, server side, h2c only): our own framing, with
 * HPACK from nd_hpack.c.  Frames are parsed as they arrive, with nothing
 * buffered but a frame or header block that a read split; every frame we
 * send is written straight into the connection's bounded output buffer.
 * Stream events go to nd_grpc_conn.c.
 *
 * Flow control: we grant 4 MiB per stream and 16 MiB for the connection,
 * and give window back (WINDOW_UPDATE) once half of it was received, since
 * nd_grpc_conn.c takes every byte at once.  Toward the client we never
 * send more DATA than its windows and MAX_FRAME_SIZE allow; a stream
 * waiting for window resumes when WINDOW_UPDATE or SETTINGS grant it.
 *
 * Our header blocks use the static table and literals; the three fields
 * nearly every response repeats (content-type, grpc-accept-encoding,
 * grpc-status 0) are added to the client's dynamic table on first use and
 * sent by index afterwards, which saves clients a literal decode per call.
 *
 * Streams close when both sides ended, on RST_STREAM either way, and when
 * our response ended first (then with RST_STREAM NO_ERROR, RFC 9113 8.1).
 * Only this file closes a stream (nd_grpc_h2_close); a stream that
 * nd_grpc_conn.c wants reset is reset on the next send.
 */
#include <nd_grpc_internal.h>

#define ND_GRPC_STREAM_WINDOW  (4 * 1024 * 1024)
#define ND_GRPC_CONN_WINDOW    (16 * 1024 * 1024)
/* output kept in streams' buffers rather than in the socket buffer
 * beyond this much: a slow reader is bounded by push_queue_max */
#define ND_GRPC_OUT_HIGH       (256 * 1024)

#define ND_H2_MESSAGE_MAX      1024     /* grpc-message we send */

/* what a header block does to its stream */
typedef enum {
    ND_H2_BLOCK_OPEN = 0,       /* request headers of a new stream */
    ND_H2_BLOCK_TRAILERS,       /* trailers of an open stream */
    ND_H2_BLOCK_CLOSED,         /* the client already ended the stream */
    ND_H2_BLOCK_REFUSED,        /* over MAX_CONCURRENT_STREAMS */
    ND_H2_BLOCK_FAILED,         /* no memory for the stream */
    ND_H2_BLOCK_IGNORED         /* after our GOAWAY */
} nd_grpc_h2_block_e;

/* one header block being decoded */
typedef struct {
    nd_grpc_stream_t    *st;
    size_t               size;      /* header list size so far */
    unsigned             trailers:1;
    unsigned             regular:1; /* a regular field was seen */
    unsigned             method:1;
    unsigned             scheme:1;
    unsigned             path:1;
    unsigned             authority:1;
    unsigned             malformed:1;
    unsigned             too_large:1;
    unsigned             rejected:1;  /* nd_grpc_stream_header said no */
} nd_grpc_h2_fields_t;

/* the fields we index in the client's table (nd_grpc_h2_t.enc_at) */
typedef struct {
    uint32_t             sindex;    /* static table name, or 0 */
    const char          *name;
    const char          *value;
} nd_grpc_h2_const_t;

#define ND_H2_CONTENT_TYPE     0
#define ND_H2_ACCEPT_ENCODING  1
#define ND_H2_STATUS_OK        2

static const nd_grpc_h2_const_t  nd_grpc_h2_consts[] = {
    { 31, "content-type", "application/grpc" },
    { 0, "grpc-accept-encoding", "identity" },
    { 0, "grpc-status", "0" },
};

/* the kinds of HEADERS we send */
typedef enum {
    ND_H2_RESPONSE = 0,
    ND_H2_TRAILERS,
    ND_H2_TRAILERS_ONLY
} nd_grpc_h2_out_e;


static nd_int_t
nd_grpc_h2_write(nd_grpc_conn_t *conn, const u_char *frame, size_t len)
{
    if (nd_connection_send(conn->c, frame, len) != ND_OK) {
        conn->h2.failed = 1;
        return ND_ERROR;
    }

    return ND_OK;
}


/* a frame with one 32-bit field (RST_STREAM, WINDOW_UPDATE) */
static int
nd_grpc_h2_write32(nd_grpc_conn_t *conn, u_char type, int32_t sid,
    uint32_t value)
{
    u_char  f[ND_H2_HEAD + 4];

    nd_grpc_h2_frame32(f, type, sid, value);

    return nd_grpc_h2_write(conn, f, sizeof(f));
}


static int
nd_grpc_h2_write_goaway(nd_grpc_conn_t *conn, uint32_t code)
{
    u_char  f[ND_H2_HEAD + 8];

    nd_grpc_h2_frame_goaway(f, conn->h2.rd.last_sid, code);
    conn->h2.goaway_sent = 1;

    return nd_grpc_h2_write(conn, f, sizeof(f));
}


/* a connection error: GOAWAY, then nothing more is read or sent */
static nd_int_t
nd_grpc_h2_error(nd_grpc_conn_t *conn, uint32_t code, const char *reason)
{
    nd_log_error(ND_LOG_INFO, &conn->c->log, 0,
                 "http/2 error %u: %s", (unsigned) code, reason);

    if (!conn->h2.failed) {
        nd_grpc_h2_write_goaway(conn, code);
        conn->h2.failed = 1;
    }

    return ND_ERROR;
}


static nd_grpc_stream_t *
nd_grpc_h2_find(nd_grpc_conn_t *conn, int32_t sid)
{
    nd_queue_t        *q;
    nd_grpc_stream_t  *st;

    /* newest first: a request's frames follow its HEADERS */
    for (q = nd_queue_last(&conn->streams);
         q != nd_queue_sentinel(&conn->streams);
         q = nd_queue_prev(q))
    {
        st = nd_queue_data(q, nd_grpc_stream_t, link);
        if (st->id == sid) {
            return st;
        }
    }

    return NULL;
}


static void
nd_grpc_h2_close(nd_grpc_conn_t *conn, nd_grpc_stream_t *st)
{
    conn->h2.nstreams--;
    nd_grpc_stream_closed(st);
}


/* a stream error: RST_STREAM, and the stream (if any) is gone */
static int
nd_grpc_h2_stream_error(nd_grpc_conn_t *conn, int32_t sid,
    nd_grpc_stream_t *st, uint32_t code)
{
    nd_log_debug(&conn->c->log, "http/2 stream %d reset, error %u",
                 (int) sid, (unsigned) code);

    if (st) {
        nd_grpc_h2_close(conn, st);
    }

    return nd_grpc_h2_write32(conn, ND_H2_RST_STREAM, sid, code);
}


int
nd_grpc_h2_session(nd_grpc_conn_t *conn)
{
    u_char         f[ND_H2_HEAD + 18 + ND_H2_HEAD + 4];
    uint32_t       set[3][2];
    nd_grpc_h2_t  *h2;

    h2 = &conn->h2;
    nd_hpack_init(&h2->hpack, ND_H2_TABLE_SIZE);
    nd_grpc_h2_reader_init(&h2->rd, 1);
    nd_grpc_h2_flow_init(&h2->flow);
    h2->enc_max = ND_H2_TABLE_SIZE;

    /* our SETTINGS, then the connection window up to 16 MiB */
    set[0][0] = ND_H2_SET_STREAMS;
    set[0][1] = (uint32_t) conn->gcf->max_concurrent_streams;
    set[1][0] = ND_H2_SET_WINDOW;
    set[1][1] = ND_GRPC_STREAM_WINDOW;
    set[2][0] = ND_H2_SET_LIST_SIZE;
    set[2][1] = ND_H2_HEADER_LIST;

    return nd_grpc_h2_write(conn, f,
                            nd_grpc_h2_frame_session(f, set, 3,
                                                     ND_GRPC_CONN_WINDOW));
}


/* receiving */

static void
nd_grpc_h2_field(void *data, const u_char *name, size_t nlen,
    const u_char *value, size_t vlen)
{
    size_t                i;
    nd_grpc_h2_fields_t  *f = data;

    f->size += nlen + vlen + 32;

    if (f->st == NULL || f->malformed || f->too_large || f->rejected) {
        return;
    }

    if (f->size > ND_H2_HEADER_LIST) {
        f->too_large = 1;
        return;
    }

    /* RFC 9113 8.2.1: no NUL, CR or LF in values */
    for (i = 0; i < vlen; i++) {
        if (value[i] == '\0' || value[i] == '\r' || value[i] == '\n') {
            f->malformed = 1;
            return;
        }
    }

    if (nlen == 0) {
        f->malformed = 1;
        return;
    }

    if (name[0] == ':') {
        /* 8.3: pseudo-headers come first, once each, none in trailers */
        if (f->regular || f->trailers) {
            f->malformed = 1;

        } else if (nd_h2_name_is(name, nlen, ":method")) {
            f->malformed |= f->method;
            f->method = 1;

        } else if (nd_h2_name_is(name, nlen, ":scheme")) {
            f->malformed |= f->scheme;
            f->scheme = 1;

        } else if (nd_h2_name_is(name, nlen, ":path")) {
            f->malformed |= f->path || vlen == 0;
            f->path = 1;

        } else if (nd_h2_name_is(name, nlen, ":authority")) {
            f->malformed |= f->authority;
            f->authority = 1;

        } else {
            f->malformed = 1;
        }

        if (f->malformed) {
            return;
        }

    } else {
        f->regular = 1;

        for (i = 0; i < nlen; i++) {
            if (name[i] <= 0x20 || name[i] >= 0x7f || name[i] == ':'
                || (name[i] >= 'A' && name[i] <= 'Z'))
            {
                f->malformed = 1;
                return;
            }
        }

        /* 8.2.2: no connection-specific fields; te only "trailers" */
        if (nd_h2_name_is(name, nlen, "connection")
            || nd_h2_name_is(name, nlen, "keep-alive")
            || nd_h2_name_is(name, nlen, "proxy-connection")
            || nd_h2_name_is(name, nlen, "transfer-encoding")
            || nd_h2_name_is(name, nlen, "upgrade")
            || (nd_h2_name_is(name, nlen, "te")
                && !nd_h2_name_is(value, vlen, "trailers")))
        {
            f->malformed = 1;
            return;
        }
    }

    if (!f->trailers
        && nd_grpc_stream_header(f->st, name, nlen, value, vlen) != ND_OK)
    {
        f->rejected = 1;
    }
}


/* one complete header block of stream sid */
static nd_int_t
nd_grpc_h2_block(nd_grpc_conn_t *conn, int32_t sid, u_char flags,
    const u_char *block, size_t len)
{
    int                  rc;
    u_char               tmp[ND_H2_HEADER_LIST];
    nd_grpc_h2_t        *h2;
    nd_grpc_stream_t    *st;
    nd_grpc_h2_block_e   what;
    nd_grpc_h2_fields_t  f;

    h2 = &conn->h2;
    memset(&f, 0, sizeof(f));

    st = nd_grpc_h2_find(conn, sid);

    if (st) {
        what = st->h2.remote ? ND_H2_BLOCK_CLOSED : ND_H2_BLOCK_TRAILERS;
        f.trailers = 1;

    } else if (sid <= h2->rd.last_sid) {
        /* 5.1.1: a new stream's id is above every earlier one; and a
         * stream that ended takes no more HEADERS */
        return nd_grpc_h2_error(conn, ND_H2_PROTOCOL_ERROR,
                                "HEADERS on a closed stream");

    } else {
        h2->rd.last_sid = sid;

        if (h2->goaway_sent || h2->goaway_recv) {
            what = ND_H2_BLOCK_IGNORED;

        } else if (h2->nstreams
                   >= (uint32_t) conn->gcf->max_concurrent_streams)
        {
            what = ND_H2_BLOCK_REFUSED;

        } else {
            st = nd_grpc_stream_open(conn, sid);
            if (st == NULL) {
                what = ND_H2_BLOCK_FAILED;

            } else {
                what = ND_H2_BLOCK_OPEN;
                st->h2.window = (int32_t) h2->flow.peer_window;
                h2->nstreams++;
            }
        }
    }

    if (what == ND_H2_BLOCK_OPEN || what == ND_H2_BLOCK_TRAILERS) {
        f.st = st;
    }

    /* always decoded: the client's table must stay in step */
    rc = nd_hpack_decode(&h2->hpack, block, len, tmp, sizeof(tmp),
                         nd_grpc_h2_field, &f);
    if (rc != ND_HPACK_OK) {
        return nd_grpc_h2_error(conn, ND_H2_COMPRESSION,
                                rc == ND_HPACK_TOO_LARGE
                                ? "header field too large"
                                : "bad header block");
    }

    switch (what) {

    case ND_H2_BLOCK_OPEN:
        if (f.malformed || !f.method || !f.scheme || !f.path) {
            return nd_grpc_h2_stream_error(conn, sid, st,
                                           ND_H2_PROTOCOL_ERROR);
        }
        if (f.too_large) {
            return nd_grpc_h2_stream_error(conn, sid, st,
                                           ND_H2_PROTOCOL_ERROR);
        }
        if (f.rejected) {
            return nd_grpc_h2_stream_error(conn, sid, st,
                                           ND_H2_INTERNAL_ERROR);
        }
        break;

    case ND_H2_BLOCK_TRAILERS:
        /* 8.1: trailers end the stream */
        if (f.malformed || f.too_large || !(flags & ND_H2_END_STREAM)) {
            return nd_grpc_h2_stream_error(conn, sid, st,
                                           ND_H2_PROTOCOL_ERROR);
        }
        break;

    case ND_H2_BLOCK_CLOSED:
        return nd_grpc_h2_stream_error(conn, sid, st, ND_H2_STREAM_CLOSED);

    case ND_H2_BLOCK_REFUSED:
        nd_log_error(ND_LOG_INFO, &conn->c->log, 0,
                     "http/2 stream %d refused: max_concurrent_streams %d",
                     (int) sid, (int) conn->gcf->max_concurrent_streams);
        return nd_grpc_h2_stream_error(conn, sid, NULL,
                                       ND_H2_REFUSED_STREAM);

    case ND_H2_BLOCK_FAILED:
        return nd_grpc_h2_stream_error(conn, sid, NULL,
                                       ND_H2_INTERNAL_ERROR);

    case ND_H2_BLOCK_IGNORED:
        return ND_OK;
    }

    if (flags & ND_H2_END_STREAM) {
        st->h2.remote = 1;
        nd_grpc_stream_end(st);
    }

    return ND_OK;
}
static nd_int_t
nd_grpc_h2_settings(nd_grpc_conn_t *conn, const u_char *p, size_t len)
{
    int64_t                 delta;
    uint32_t                code, v;
    const char             *reason;
    nd_queue_t             *q;
    nd_grpc_h2_t           *h2;
    nd_grpc_stream_t       *st;
    nd_grpc_h2_settings_t   set;

    h2 = &conn->h2;

    if (nd_h2_flags(&h2->rd) & ND_H2_ACK) {
        return ND_OK;
    }

    code = nd_grpc_h2_settings_parse(p, len, &set, &reason);
    if (code) {
        return nd_grpc_h2_error(conn, code, reason);
    }

    nd_grpc_h2_flow_settings(&h2->flow, &set, &delta);

    /* 6.9.2: open streams' windows move by the difference */
    for (q = nd_queue_head(&conn->streams);
         delta && q != nd_queue_sentinel(&conn->streams);
         q = nd_queue_next(q))
    {
        st = nd_queue_data(q, nd_grpc_stream_t, link);
        if (nd_grpc_h2_window_add(&st->h2.window, delta) != ND_OK) {
            return nd_grpc_h2_error(conn, ND_H2_FLOW_CONTROL,
                                    "stream window over 2^31 - 1");
        }
    }

    /* RFC 7541 4.2: a smaller table is confirmed by a size update at the
     * start of our next header block */
    v = set.value[ND_H2_SET_TABLE_SIZE];
    if (nd_h2_has(&set, ND_H2_SET_TABLE_SIZE) && v < h2->enc_max) {
        h2->enc_max = (uint16_t) v;
        h2->enc_update = 1;
    }

    /* MAX_CONCURRENT_STREAMS: we open none; the rest: nothing to do */

    return ND_OK;
}


/* a whole SETTINGS, RST_STREAM or GOAWAY */
static nd_int_t
nd_grpc_h2_frame(void *ctx, const u_char *p)
{
    uint32_t           code;
    nd_grpc_h2_t      *h2;
    nd_grpc_conn_t    *conn = ctx;
    nd_grpc_stream_t  *st;

    h2 = &conn->h2;

    switch (nd_h2_type(&h2->rd)) {

    case ND_H2_SETTINGS:
        return nd_grpc_h2_settings(conn, p, h2->rd.length);

    case ND_H2_RST_STREAM:
        st = nd_grpc_h2_find(conn, h2->rd.sid);
        if (st) {
            nd_log_debug(&conn->c->log, "http/2 stream %d reset by client, "
                         "error %u", (int) h2->rd.sid,
                         (unsigned) nd_h2_get32(p));
            nd_grpc_h2_close(conn, st);
            /* rapid reset (CVE-2023-44487): an open stream reset costs
             * the client, one already answered does not */
            if (nd_grpc_stream_client_reset(conn) != ND_OK) {
                return nd_grpc_h2_error(conn, ND_H2_CALM,
                                        "too many stream resets");
            }
        }
        return ND_OK;

    case ND_H2_GOAWAY:
        h2->goaway_recv = 1;
        code = nd_h2_get32(p + 4);
        if (code != ND_H2_NO_ERROR) {
            nd_log_error(ND_LOG_INFO, &conn->c->log, 0,
                         "http/2 GOAWAY from client, error %u",
                         (unsigned) code);
        }
        return ND_OK;

    default:
        return ND_OK;
    }
}


static nd_int_t
nd_grpc_h2_data_start(void *ctx)
{
    nd_grpc_h2_t      *h2;
    nd_grpc_conn_t    *conn = ctx;
    nd_grpc_stream_t  *st;

    h2 = &conn->h2;

    /* every byte counts against the connection, even a closed stream's */
    if (nd_grpc_h2_window_take(&h2->flow.recv_unacked, ND_GRPC_CONN_WINDOW,
                               h2->rd.length)
        != ND_OK)
    {
        return nd_grpc_h2_error(conn, ND_H2_FLOW_CONTROL,
                                "DATA over the connection window");
    }

    st = nd_grpc_h2_find(conn, h2->rd.sid);

    if (st == NULL || st->h2.remote) {
        /* 6.1: not open for the client's data */
        return nd_grpc_h2_stream_error(conn, h2->rd.sid, st,
                                       ND_H2_STREAM_CLOSED);
    }

    if (nd_grpc_h2_window_take(&st->h2.unacked, ND_GRPC_STREAM_WINDOW,
                               h2->rd.length)
        != ND_OK)
    {
        return nd_grpc_h2_stream_error(conn, h2->rd.sid, st,
                                       ND_H2_FLOW_CONTROL);
    }

    return ND_OK;
}


static nd_int_t
nd_grpc_h2_data(void *ctx, const u_char *p, size_t n)
{
    nd_grpc_conn_t    *conn = ctx;
    nd_grpc_stream_t  *st;

    st = nd_grpc_h2_find(conn, conn->h2.rd.sid);
    if (st && !st->h2.remote) {
        nd_grpc_stream_data(st, p, n);
    }

    return ND_OK;
}


static nd_int_t
nd_grpc_h2_data_end(void *ctx)
{
    u_char             f[2 * (ND_H2_HEAD + 4)];
    size_t             n;
    int32_t            sid;
    uint32_t          *unacked;
    nd_grpc_h2_t      *h2;
    nd_grpc_conn_t    *conn = ctx;
    nd_grpc_stream_t  *st;

    h2 = &conn->h2;
    sid = h2->rd.sid;
    unacked = NULL;

    st = nd_grpc_h2_find(conn, sid);

    if (st && !st->h2.remote) {
        if (nd_h2_flags(&h2->rd) & ND_H2_END_STREAM) {
            st->h2.remote = 1;
            nd_grpc_stream_end(st);

        } else {
            unacked = &st->h2.unacked;
        }
    }

    n = nd_grpc_h2_frame_grants(f, sid, unacked, ND_GRPC_STREAM_WINDOW,
                                &h2->flow.recv_unacked, ND_GRPC_CONN_WINDOW);

    return n ? nd_grpc_h2_write(conn, f, n) : ND_OK;
}


static nd_int_t
nd_grpc_h2_read_error(void *ctx, uint32_t code, const char *reason)
{
    return nd_grpc_h2_error(ctx, code, reason);
}


static nd_int_t
nd_grpc_h2_block_in(void *ctx, int32_t sid, u_char flags, const u_char *p,
    size_t len)
{
    return nd_grpc_h2_block(ctx, sid, flags, p, len);
}


static nd_int_t
nd_grpc_h2_write_out(void *ctx, const u_char *p, size_t len)
{
    return nd_grpc_h2_write(ctx, p, len);
}


static int32_t *
nd_grpc_h2_send_window(void *ctx, int32_t sid)
{
    nd_grpc_conn_t    *conn = ctx;
    nd_grpc_stream_t  *st;

    if (sid == 0) {
        return &conn->h2.flow.send_window;
    }

    st = nd_grpc_h2_find(conn, sid);

    return st ? &st->h2.window : NULL;
}


static nd_int_t
nd_grpc_h2_stream_fail(void *ctx, int32_t sid, uint32_t code,
    const char *reason)
{
    return nd_grpc_h2_stream_error(ctx, sid, nd_grpc_h2_find(ctx, sid), code);
}


static nd_int_t
nd_grpc_h2_halted(void *ctx)
{
    nd_grpc_conn_t  *conn = ctx;

    return conn->h2.failed || conn->closing || conn->c->close
           || conn->c->close_after_write;
}


static const nd_grpc_h2_role_t  nd_grpc_h2_server = {
    .data_start = nd_grpc_h2_data_start,
    .data = nd_grpc_h2_data,
    .data_end = nd_grpc_h2_data_end,
    .block = nd_grpc_h2_block_in,
    .frame = nd_grpc_h2_frame,
    .write = nd_grpc_h2_write_out,
    .send_window = nd_grpc_h2_send_window,
    .stream_error = nd_grpc_h2_stream_fail,
    .error = nd_grpc_h2_read_error,
    .halted = nd_grpc_h2_halted,
};


nd_int_t
nd_grpc_h2_recv(nd_grpc_conn_t *conn, const u_char *data, size_t len)
{
    int  rc;

    if (conn->h2.failed) {
        return ND_ERROR;
    }

    conn->h2.in_recv = 1;
    rc = nd_grpc_h2_read(&conn->h2.rd, &nd_grpc_h2_server, conn, data, len);
    conn->h2.in_recv = 0;

    return rc;
}


/* sending */

/* one of our constant fields: by index, or added to the table */
static u_char *
nd_grpc_h2_encode_const(nd_grpc_h2_t *h2, u_char *p, int k)
{
    size_t                     size;
    const nd_grpc_h2_const_t  *c;

    c = &nd_grpc_h2_consts[k];

    if (h2->enc_at[k]) {
        /* 62 is the newest entry */
        return nd_hpack_encode_int(p, ND_HPACK_STATIC + 1u + h2->enc_count
                                      - h2->enc_at[k], 7, 0x80);
    }

    size = strlen(c->name) + strlen(c->value) + 32;

    if (h2->enc_size + size > h2->enc_max) {
        /* no room (a client with a small table): a plain literal */
        if (c->sindex) {
            return nd_hpack_encode_indexed_name(p, c->sindex,
                                                (u_char *) c->value,
                                                strlen(c->value));
        }
        return nd_hpack_encode_literal(p, (u_char *) c->name,
                                       strlen(c->name), (u_char *) c->value,
                                       strlen(c->value));
    }

    /* never evicted: we insert nothing else, and all fit */
    h2->enc_size += (uint16_t) size;
    h2->enc_at[k] = ++h2->enc_count;

    return nd_hpack_encode_indexing(p, c->sindex, (u_char *) c->name,
                                    strlen(c->name), (u_char *) c->value,
                                    strlen(c->value));
}


static int
nd_grpc_h2_write_headers(nd_grpc_conn_t *conn, nd_grpc_stream_t *st,
    nd_grpc_h2_out_e kind)
{
    u_char         f[ND_H2_HEAD + 128 + ND_H2_MESSAGE_MAX], *p;
    u_char         flags;
    char           code[16];
    size_t         mlen;
    nd_grpc_h2_t  *h2;

    h2 = &conn->h2;
    p = f + ND_H2_HEAD;

    if (h2->enc_update) {
        /* to 0 (our entries are gone), then to the client's size */
        *p++ = 0x20;
        p = nd_hpack_encode_int(p, h2->enc_max, 5, 0x20);
        h2->enc_update = 0;
        h2->enc_size = 0;
        h2->enc_count = 0;
        memset(h2->enc_at, 0, sizeof(h2->enc_at));
    }

    if (kind != ND_H2_TRAILERS) {
        *p++ = 0x88;                            /* :status 200 (index 8) */
        p = nd_grpc_h2_encode_const(h2, p, ND_H2_CONTENT_TYPE);
    }

    if (kind == ND_H2_RESPONSE) {
        p = nd_grpc_h2_encode_const(h2, p, ND_H2_ACCEPT_ENCODING);
        flags = ND_H2_END_HEADERS;

    } else {
        if (st->status == ND_GRPC_OK) {
            p = nd_grpc_h2_encode_const(h2, p, ND_H2_STATUS_OK);

        } else {
            snprintf(code, sizeof(code), "%u", (unsigned) st->status);
            p = nd_hpack_encode_literal(p, (u_char *) "grpc-status",
                                        sizeof("grpc-status") - 1,
                                        (u_char *) code, strlen(code));
        }

        if (kind == ND_H2_TRAILERS_ONLY || st->message) {
            mlen = st->message ? strlen(st->message) : 0;
            mlen = nd_min(mlen, ND_H2_MESSAGE_MAX);
            p = nd_hpack_encode_literal(p, (u_char *) "grpc-message",
                                        sizeof("grpc-message") - 1,
                                        (u_char *) (st->message
                                                    ? st->message : ""),
                                        mlen);
        }
        flags = ND_H2_END_HEADERS | ND_H2_END_STREAM;
    }

    nd_grpc_h2_head(f, (size_t) (p - f) - ND_H2_HEAD, ND_H2_HEADERS, flags,
                    st->id);

    return nd_grpc_h2_write(conn, f, (size_t) (p - f));
}


/* we sent END_STREAM: the stream is done, the client's side too */
static nd_int_t
nd_grpc_h2_local_end(nd_grpc_conn_t *conn, nd_grpc_stream_t *st)
{
    int32_t  sid;

    st->h2.local = 1;
    sid = st->id;

    if (st->h2.remote) {
        nd_grpc_h2_close(conn, st);
        return ND_OK;
    }

    /* 8.1: a complete response before the request ended */
    return nd_grpc_h2_stream_error(conn, sid, st, ND_H2_NO_ERROR);
}


/* at most one frame of st: 1 when one was written, 0 when st waits */
static nd_int_t
nd_grpc_h2_stream_send(nd_grpc_conn_t *conn, nd_grpc_stream_t *st,
    u_char *buf)
{
    int            eof;
    size_t         n, room;
    nd_grpc_h2_t  *h2;

    h2 = &conn->h2;

    if (st->h2.rst) {
        if (nd_grpc_h2_stream_error(conn, st->id, st, st->h2.rst - 1u)
            != ND_OK)
        {
            return ND_ERROR;
        }
        return 1;
    }

    if (!st->responded || st->h2.local) {
        return 0;
    }

    if (!st->h2.headers) {
        st->h2.headers = 1;

        if (st->h2.tonly) {
            if (nd_grpc_h2_write_headers(conn, st, ND_H2_TRAILERS_ONLY)
                != ND_OK
                || nd_grpc_h2_local_end(conn, st) != ND_OK)
            {
                return ND_ERROR;
            }
            return 1;
        }

        if (nd_grpc_h2_write_headers(conn, st, ND_H2_RESPONSE) != ND_OK) {
            return ND_ERROR;
        }
        return 1;
    }

    if (st->deferred) {
        return 0;
    }

    room = nd_grpc_h2_flow_room(&h2->flow, st->h2.window);

    /* the frame header, then the stream's bytes moved after it (shared
     * blocks stay shared) */
    n = nd_min(room, nd_grpc_stream_pending(st));

    if (n > 0) {
        nd_grpc_h2_head(buf, n, ND_H2_DATA, 0, st->id);
        if (nd_grpc_h2_write(conn, buf, ND_H2_HEAD) != ND_OK
            || nd_grpc_stream_move(st, n) != ND_OK)
        {
            h2->failed = 1;
            return ND_ERROR;
        }
        nd_grpc_h2_flow_spend(&h2->flow, &st->h2.window, n);
    }

    eof = st->finish && nd_grpc_stream_pending(st) == 0;

    if (eof) {
        if (nd_grpc_h2_write_headers(conn, st, ND_H2_TRAILERS) != ND_OK
            || nd_grpc_h2_local_end(conn, st) != ND_OK)
        {
            return ND_ERROR;
        }
        return 1;
    }

    if (n > 0) {
        return 1;
    }

    if (room > 0) {
        st->deferred = 1;       /* nothing queued: nd_grpc_h2_resume */
    }

    return 0;                   /* or waits for WINDOW_UPDATE */
}


nd_int_t
nd_grpc_h2_send(nd_grpc_conn_t *conn)
{
    int                rc, progress;
    u_char             buf[ND_H2_HEAD];     /* a DATA frame's header */
    nd_queue_t        *q, *next;
    nd_grpc_stream_t  *st;

    if (conn->h2.failed || conn->c->close) {
        return ND_OK;           /* the GOAWAY is out; nothing after it */
    }

    if (conn->h2.in_recv || conn->h2.in_send) {
        return ND_OK;           /* the outer call sends what is queued */
    }

    /* a stream closed here may run a call's abort handler: no nested
     * pass may free the stream this one goes to next */
    conn->h2.in_send = 1;
    rc = ND_OK;

    /* round robin, one frame per stream per pass */
    do {
        progress = 0;

        for (q = nd_queue_head(&conn->streams);
             q != nd_queue_sentinel(&conn->streams);
             q = next)
        {
            if (nd_connection_queued(conn->c) >= ND_GRPC_OUT_HIGH
                || conn->h2.failed)
            {
                progress = 0;   /* nd_grpc_drained comes back */
                break;
            }

            next = nd_queue_next(q);
            st = nd_queue_data(q, nd_grpc_stream_t, link);

            rc = nd_grpc_h2_stream_send(conn, st, buf);
            if (rc == ND_ERROR) {
                progress = 0;
                break;
            }
            progress |= rc;
            rc = ND_OK;
        }

    } while (progress);

    conn->h2.in_send = 0;

    return rc;
}


int
nd_grpc_h2_want_io(nd_grpc_conn_t *conn)
{
    if (conn->h2.failed) {
        return 0;
    }

    if (!nd_queue_empty(&conn->streams)) {
        return 1;
    }

    return !(conn->h2.goaway_sent || conn->h2.goaway_recv);
}


/*
 * n bytes of st's DATA may go out now, straight into the connection's
 * queue, when nothing of st waits before them (headers out, nothing
 * queued on the stream, the windows and the frame size take them, the
 * connection's queue under its mark): the DATA frame's header for them
 * is written into head, the windows are spent, and the caller queues the
 * n bytes after head with nd_connection_send (each frame whole, so it
 * may be called while frames are read or sent).  ND_DECLINED: queue them
 * on the stream, as any response.
 */
nd_int_t
nd_grpc_h2_data_now(nd_grpc_stream_t *st, size_t n, u_char *head)
{
    nd_grpc_h2_t    *h2;
    nd_grpc_conn_t  *conn;

    conn = st->conn;
    h2 = &conn->h2;

    if (h2->failed || conn->closing || conn->c->close
        || conn->c->close_after_write
        || !st->responded || !st->h2.headers || st->h2.rst || st->h2.local
        || st->finish
        || nd_grpc_stream_pending(st) != 0
        || nd_connection_queued(conn->c) >= ND_GRPC_OUT_HIGH
        || nd_grpc_h2_flow_room(&h2->flow, st->h2.window) < n)
    {
        return ND_DECLINED;
    }

    nd_grpc_h2_head(head, n, ND_H2_DATA, 0, st->id);
    nd_grpc_h2_flow_spend(&h2->flow, &st->h2.window, n);

    return ND_OK;
}


nd_int_t
nd_grpc_h2_respond(nd_grpc_stream_t *st)
{
    if (st->responded) {
        nd_grpc_h2_resume(st);
        return ND_OK;
    }

    st->responded = 1;

    return ND_OK;
}


nd_int_t
nd_grpc_h2_trailers_only(nd_grpc_stream_t *st, uint32_t status,
    const char *message)
{
    st->status = status;
    st->message = message;
    st->finish = 1;

    if (st->responded) {
        /* headers are out: end with trailers after what is queued */
        nd_grpc_h2_resume(st);
        return ND_OK;
    }

    st->responded = 1;
    st->h2.tonly = 1;

    return ND_OK;
}


void
nd_grpc_h2_resume(nd_grpc_stream_t *st)
{
    st->deferred = 0;
}


void
nd_grpc_h2_reset(nd_grpc_stream_t *st)
{
    if (!st->h2.rst) {
        st->h2.rst = ND_H2_INTERNAL_ERROR + 1;
    }
}


void
nd_grpc_h2_goaway(nd_grpc_conn_t *conn)
{
    if (!conn->h2.goaway_sent && !conn->h2.failed) {
        nd_grpc_h2_write_goaway(conn, ND_H2_NO_ERROR);
    }
}


void
nd_grpc_h2_calm(nd_grpc_conn_t *conn, const char *reason)
{
    size_t  n;
    u_char  f[ND_H2_HEAD + 8 + 256];

    if (conn->h2.goaway_sent || conn->h2.failed) {
        return;
    }

    n = strlen(reason);
    n = n > 256 ? 256 : n;

    nd_grpc_h2_head(f, 8 + n, ND_H2_GOAWAY, 0, 0);
    nd_h2_put32(f + ND_H2_HEAD, (uint32_t) conn->h2.rd.last_sid);
    nd_h2_put32(f + ND_H2_HEAD + 4, ND_H2_CALM);
    memcpy(f + ND_H2_HEAD + 8, reason, n);
    conn->h2.goaway_sent = 1;

    (void) nd_grpc_h2_write(conn, f, ND_H2_HEAD + 8 + n);
}


void
nd_grpc_h2_free(nd_grpc_conn_t *conn)
{
    nd_hpack_free(&conn->h2.hpack);
    nd_grpc_h2_reader_free(&conn->h2.rd);
}

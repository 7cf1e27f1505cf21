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

#define ND_H2_PREFACE          "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define ND_H2_PREFACE_LEN      24
#define ND_H2_HEAD             9
#define ND_H2_FRAME_MAX        16384    /* ours: the default, never raised */
#define ND_H2_FRAME_LIMIT      16777215 /* the largest MAX_FRAME_SIZE */
#define ND_H2_WINDOW_MAX       0x7fffffff
#define ND_H2_DEFAULT_WINDOW   65535
#define ND_H2_TABLE_SIZE       4096     /* HEADER_TABLE_SIZE: the default */
#define ND_H2_HEADER_LIST      16384    /* our MAX_HEADER_LIST_SIZE */
#define ND_H2_BLOCK_MAX        (64 * 1024)  /* HEADERS + CONTINUATIONs */
#define ND_H2_MESSAGE_MAX      1024     /* grpc-message we send */

#define ND_H2_DATA             0x0
#define ND_H2_HEADERS          0x1
#define ND_H2_PRIORITY         0x2
#define ND_H2_RST_STREAM       0x3
#define ND_H2_SETTINGS         0x4
#define ND_H2_PUSH_PROMISE     0x5
#define ND_H2_PING             0x6
#define ND_H2_GOAWAY           0x7
#define ND_H2_WINDOW_UPDATE    0x8
#define ND_H2_CONTINUATION     0x9

#define ND_H2_END_STREAM       0x01
#define ND_H2_ACK              0x01
#define ND_H2_END_HEADERS      0x04
#define ND_H2_PADDED           0x08
#define ND_H2_PRIORITY_FLAG    0x20

#define ND_H2_NO_ERROR         0x0
#define ND_H2_PROTOCOL_ERROR   0x1
#define ND_H2_INTERNAL_ERROR   0x2
#define ND_H2_FLOW_CONTROL     0x3
#define ND_H2_STREAM_CLOSED    0x5
#define ND_H2_FRAME_SIZE       0x6
#define ND_H2_REFUSED_STREAM   0x7
#define ND_H2_COMPRESSION      0x9
#define ND_H2_CALM             0xb      /* ENHANCE_YOUR_CALM */

#define ND_H2_SET_TABLE_SIZE   0x1
#define ND_H2_SET_ENABLE_PUSH  0x2
#define ND_H2_SET_STREAMS      0x3
#define ND_H2_SET_WINDOW       0x4
#define ND_H2_SET_FRAME_SIZE   0x5
#define ND_H2_SET_LIST_SIZE    0x6

#define nd_h2_type(h2)   ((h2)->head[3])
#define nd_h2_flags(h2)  ((h2)->head[4])

#define nd_h2_get32(p)                                                        \
    ((uint32_t) (p)[0] << 24 | (uint32_t) (p)[1] << 16                        \
     | (uint32_t) (p)[2] << 8 | (uint32_t) (p)[3])

#define nd_h2_put32(p, v)                                                     \
    do {                                                                      \
        (p)[0] = (u_char) ((v) >> 24); (p)[1] = (u_char) ((v) >> 16);         \
        (p)[2] = (u_char) ((v) >> 8); (p)[3] = (u_char) (v);                  \
    } while (0)

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


static void
nd_grpc_h2_head(u_char *p, size_t len, u_char type, u_char flags,
    int32_t sid)
{
    p[0] = (u_char) (len >> 16);
    p[1] = (u_char) (len >> 8);
    p[2] = (u_char) len;
    p[3] = type;
    p[4] = flags;
    nd_h2_put32(p + 5, (uint32_t) sid);
}


static int
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

    nd_grpc_h2_head(f, 4, type, 0, sid);
    nd_h2_put32(f + ND_H2_HEAD, value);

    return nd_grpc_h2_write(conn, f, sizeof(f));
}


static int
nd_grpc_h2_write_goaway(nd_grpc_conn_t *conn, uint32_t code)
{
    u_char  f[ND_H2_HEAD + 8];

    nd_grpc_h2_head(f, 8, ND_H2_GOAWAY, 0, 0);
    nd_h2_put32(f + ND_H2_HEAD, (uint32_t) conn->h2.last_sid);
    nd_h2_put32(f + ND_H2_HEAD + 4, code);
    conn->h2.goaway_sent = 1;

    return nd_grpc_h2_write(conn, f, sizeof(f));
}


/* a connection error: GOAWAY, then nothing more is read or sent */
static int
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
    u_char         f[ND_H2_HEAD + 18 + ND_H2_HEAD + 4], *p;
    nd_grpc_h2_t  *h2;

    h2 = &conn->h2;
    nd_hpack_init(&h2->hpack, ND_H2_TABLE_SIZE);
    nd_buf_init(&h2->in);
    h2->send_window = ND_H2_DEFAULT_WINDOW;
    h2->peer_window = ND_H2_DEFAULT_WINDOW;
    h2->peer_frame = ND_H2_FRAME_MAX;
    h2->enc_max = ND_H2_TABLE_SIZE;

    /* our SETTINGS, then the connection window up to 16 MiB */
    nd_grpc_h2_head(f, 18, ND_H2_SETTINGS, 0, 0);
    p = f + ND_H2_HEAD;
    p[0] = 0;
    p[1] = ND_H2_SET_STREAMS;
    nd_h2_put32(p + 2, (uint32_t) conn->gcf->max_concurrent_streams);
    p[6] = 0;
    p[7] = ND_H2_SET_WINDOW;
    nd_h2_put32(p + 8, ND_GRPC_STREAM_WINDOW);
    p[12] = 0;
    p[13] = ND_H2_SET_LIST_SIZE;
    nd_h2_put32(p + 14, ND_H2_HEADER_LIST);

    p += 18;
    nd_grpc_h2_head(p, 4, ND_H2_WINDOW_UPDATE, 0, 0);
    nd_h2_put32(p + ND_H2_HEAD, ND_GRPC_CONN_WINDOW - ND_H2_DEFAULT_WINDOW);

    return nd_grpc_h2_write(conn, f, sizeof(f));
}


/* receiving */

static int
nd_grpc_h2_name_is(const u_char *name, size_t nlen, const char *s)
{
    return nlen == strlen(s) && memcmp(name, s, nlen) == 0;
}


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

        } else if (nd_grpc_h2_name_is(name, nlen, ":method")) {
            f->malformed |= f->method;
            f->method = 1;

        } else if (nd_grpc_h2_name_is(name, nlen, ":scheme")) {
            f->malformed |= f->scheme;
            f->scheme = 1;

        } else if (nd_grpc_h2_name_is(name, nlen, ":path")) {
            f->malformed |= f->path || vlen == 0;
            f->path = 1;

        } else if (nd_grpc_h2_name_is(name, nlen, ":authority")) {
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
        if (nd_grpc_h2_name_is(name, nlen, "connection")
            || nd_grpc_h2_name_is(name, nlen, "keep-alive")
            || nd_grpc_h2_name_is(name, nlen, "proxy-connection")
            || nd_grpc_h2_name_is(name, nlen, "transfer-encoding")
            || nd_grpc_h2_name_is(name, nlen, "upgrade")
            || (nd_grpc_h2_name_is(name, nlen, "te")
                && !nd_grpc_h2_name_is(value, vlen, "trailers")))
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
static int
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
    h2->cont_sid = 0;
    memset(&f, 0, sizeof(f));

    st = nd_grpc_h2_find(conn, sid);

    if (st) {
        what = st->h2.remote ? ND_H2_BLOCK_CLOSED : ND_H2_BLOCK_TRAILERS;
        f.trailers = 1;

    } else if (sid <= h2->last_sid) {
        /* 5.1.1: a new stream's id is above every earlier one; and a
         * stream that ended takes no more HEADERS */
        return nd_grpc_h2_error(conn, ND_H2_PROTOCOL_ERROR,
                                "HEADERS on a closed stream");

    } else {
        h2->last_sid = sid;

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
                st->h2.window = (int32_t) h2->peer_window;
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


static int
nd_grpc_h2_headers(nd_grpc_conn_t *conn, const u_char *p, size_t len)
{
    size_t         off, pad;
    u_char         flags;
    nd_grpc_h2_t  *h2;

    h2 = &conn->h2;
    flags = nd_h2_flags(h2);
    off = 0;
    pad = 0;

    if (flags & ND_H2_PADDED) {
        if (len < 1) {
            return nd_grpc_h2_error(conn, ND_H2_FRAME_SIZE,
                                    "HEADERS too short for its padding");
        }
        pad = p[0];
        off = 1;
    }

    if (flags & ND_H2_PRIORITY_FLAG) {
        off += 5;                       /* dependency and weight: ignored */
    }

    if (off + pad > len) {
        return nd_grpc_h2_error(conn, ND_H2_PROTOCOL_ERROR,
                                "HEADERS padding over its length");
    }

    len -= off + pad;
    p += off;

    if (flags & ND_H2_END_HEADERS) {
        return nd_grpc_h2_block(conn, h2->sid, flags, p, len);
    }

    /* the block goes on in CONTINUATION frames: keep the fragment */
    h2->cont_sid = h2->sid;
    h2->cont_flags = flags;

    if (nd_buf_size(&h2->in)) {
        /* p is inside h2->in (the frame came in pieces) */
        memmove(h2->in.data, p, len);
        h2->in.pos = 0;
        h2->in.len = len;
        return ND_OK;
    }

    if (nd_buf_append(&h2->in, p, len) != ND_OK) {
        return nd_grpc_h2_error(conn, ND_H2_INTERNAL_ERROR, "no memory");
    }

    return ND_OK;
}


static int
nd_grpc_h2_settings(nd_grpc_conn_t *conn, const u_char *p, size_t len)
{
    u_char             ack[ND_H2_HEAD];
    size_t             i;
    int64_t            w, delta;
    uint32_t           id, value;
    nd_queue_t        *q;
    nd_grpc_h2_t      *h2;
    nd_grpc_stream_t  *st;

    h2 = &conn->h2;

    if (nd_h2_flags(h2) & ND_H2_ACK) {
        return ND_OK;
    }

    for (i = 0; i + 6 <= len; i += 6) {
        id = (uint32_t) p[i] << 8 | p[i + 1];
        value = nd_h2_get32(p + i + 2);

        switch (id) {

        case ND_H2_SET_ENABLE_PUSH:
            if (value > 1) {
                return nd_grpc_h2_error(conn, ND_H2_PROTOCOL_ERROR,
                                        "bad SETTINGS_ENABLE_PUSH");
            }
            break;

        case ND_H2_SET_WINDOW:
            if (value > ND_H2_WINDOW_MAX) {
                return nd_grpc_h2_error(conn, ND_H2_FLOW_CONTROL,
                                        "bad SETTINGS_INITIAL_WINDOW_SIZE");
            }

            /* 6.9.2: open streams' windows move by the difference */
            delta = (int64_t) value - h2->peer_window;
            for (q = nd_queue_head(&conn->streams);
                 q != nd_queue_sentinel(&conn->streams);
                 q = nd_queue_next(q))
            {
                st = nd_queue_data(q, nd_grpc_stream_t, link);
                w = st->h2.window + delta;
                if (w > ND_H2_WINDOW_MAX) {
                    return nd_grpc_h2_error(conn, ND_H2_FLOW_CONTROL,
                                            "stream window over 2^31 - 1");
                }
                st->h2.window = (int32_t) w;
            }
            h2->peer_window = value;
            break;

        case ND_H2_SET_FRAME_SIZE:
            if (value < ND_H2_FRAME_MAX || value > ND_H2_FRAME_LIMIT) {
                return nd_grpc_h2_error(conn, ND_H2_PROTOCOL_ERROR,
                                        "bad SETTINGS_MAX_FRAME_SIZE");
            }
            h2->peer_frame = value;
            break;

        case ND_H2_SET_TABLE_SIZE:
            /* RFC 7541 4.2: a smaller table is confirmed by a size
             * update at the start of our next header block */
            if (value < h2->enc_max) {
                h2->enc_max = (uint16_t) value;
                h2->enc_update = 1;
            }
            break;

        default:
            /* MAX_CONCURRENT_STREAMS: we open none; unknown: ignored */
            break;
        }
    }

    h2->settings = 1;

    nd_grpc_h2_head(ack, 0, ND_H2_SETTINGS, ND_H2_ACK, 0);

    return nd_grpc_h2_write(conn, ack, sizeof(ack));
}


static int
nd_grpc_h2_window_update(nd_grpc_conn_t *conn, const u_char *p)
{
    int64_t            w;
    uint32_t           inc;
    nd_grpc_h2_t      *h2;
    nd_grpc_stream_t  *st;

    h2 = &conn->h2;
    inc = nd_h2_get32(p) & 0x7fffffff;

    if (h2->sid == 0) {
        if (inc == 0) {
            return nd_grpc_h2_error(conn, ND_H2_PROTOCOL_ERROR,
                                    "WINDOW_UPDATE of 0");
        }
        w = (int64_t) h2->send_window + inc;
        if (w > ND_H2_WINDOW_MAX) {
            return nd_grpc_h2_error(conn, ND_H2_FLOW_CONTROL,
                                    "connection window over 2^31 - 1");
        }
        h2->send_window = (int32_t) w;
        return ND_OK;
    }

    st = nd_grpc_h2_find(conn, h2->sid);
    if (st == NULL) {
        return ND_OK;                   /* a closed stream */
    }

    if (inc == 0) {
        return nd_grpc_h2_stream_error(conn, h2->sid, st,
                                       ND_H2_PROTOCOL_ERROR);
    }

    w = (int64_t) st->h2.window + inc;
    if (w > ND_H2_WINDOW_MAX) {
        return nd_grpc_h2_stream_error(conn, h2->sid, st,
                                       ND_H2_FLOW_CONTROL);
    }

    st->h2.window = (int32_t) w;

    return ND_OK;
}


/* a frame other than DATA and CONTINUATION, its payload complete */
static int
nd_grpc_h2_frame(nd_grpc_conn_t *conn, const u_char *p)
{
    u_char             pong[ND_H2_HEAD + 8];
    uint32_t           code;
    nd_grpc_h2_t      *h2;
    nd_grpc_stream_t  *st;

    h2 = &conn->h2;

    switch (nd_h2_type(h2)) {

    case ND_H2_HEADERS:
        return nd_grpc_h2_headers(conn, p, h2->length);

    case ND_H2_SETTINGS:
        return nd_grpc_h2_settings(conn, p, h2->length);

    case ND_H2_PING:
        if (nd_h2_flags(h2) & ND_H2_ACK) {
            return ND_OK;
        }
        /* answered, never counted: gRPC clients ping as they like */
        nd_grpc_h2_head(pong, 8, ND_H2_PING, ND_H2_ACK, 0);
        memcpy(pong + ND_H2_HEAD, p, 8);
        return nd_grpc_h2_write(conn, pong, sizeof(pong));

    case ND_H2_WINDOW_UPDATE:
        return nd_grpc_h2_window_update(conn, p);

    case ND_H2_RST_STREAM:
        st = nd_grpc_h2_find(conn, h2->sid);
        if (st) {
            nd_log_debug(&conn->c->log, "http/2 stream %d reset by client, "
                         "error %u", (int) h2->sid,
                         (unsigned) nd_h2_get32(p));
            nd_grpc_h2_close(conn, st);
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

    default:                            /* PRIORITY: ignored */
        return ND_OK;
    }
}


static int
nd_grpc_h2_data_start(nd_grpc_conn_t *conn)
{
    nd_grpc_h2_t      *h2;
    nd_grpc_stream_t  *st;

    h2 = &conn->h2;

    if (h2->sid == 0 || h2->sid > h2->last_sid || !(h2->sid & 1)) {
        return nd_grpc_h2_error(conn, ND_H2_PROTOCOL_ERROR,
                                "DATA on an idle stream");
    }

    if ((nd_h2_flags(h2) & ND_H2_PADDED) && h2->length == 0) {
        return nd_grpc_h2_error(conn, ND_H2_FRAME_SIZE,
                                "DATA too short for its padding");
    }

    /* every byte counts against the connection, even a closed stream's */
    if (h2->length > ND_GRPC_CONN_WINDOW - h2->recv_unacked) {
        return nd_grpc_h2_error(conn, ND_H2_FLOW_CONTROL,
                                "DATA over the connection window");
    }

    h2->recv_unacked += h2->length;

    st = nd_grpc_h2_find(conn, h2->sid);

    if (st == NULL || st->h2.remote) {
        /* 6.1: not open for the client's data */
        return nd_grpc_h2_stream_error(conn, h2->sid, st,
                                       ND_H2_STREAM_CLOSED);
    }

    if (h2->length > ND_GRPC_STREAM_WINDOW - st->h2.unacked) {
        return nd_grpc_h2_stream_error(conn, h2->sid, st,
                                       ND_H2_FLOW_CONTROL);
    }

    st->h2.unacked += h2->length;

    return ND_OK;
}


/* n payload bytes of a DATA frame at p; h2->got is where they start */
static int
nd_grpc_h2_data(nd_grpc_conn_t *conn, const u_char *p, size_t n)
{
    size_t             pos, limit;
    nd_grpc_h2_t      *h2;
    nd_grpc_stream_t  *st;

    h2 = &conn->h2;
    pos = h2->got;

    if (nd_h2_flags(h2) & ND_H2_PADDED) {
        if (pos == 0) {
            h2->pad = p[0];
            if ((size_t) h2->pad >= h2->length) {
                return nd_grpc_h2_error(conn, ND_H2_PROTOCOL_ERROR,
                                        "DATA padding over its length");
            }
            p++;
            n--;
            pos++;
        }
        limit = h2->length - h2->pad;

    } else {
        limit = h2->length;
    }

    if (pos >= limit || n == 0) {
        return ND_OK;                   /* padding */
    }

    n = nd_min(n, limit - pos);

    st = nd_grpc_h2_find(conn, h2->sid);
    if (st && !st->h2.remote) {
        nd_grpc_stream_data(st, p, n);
    }

    return ND_OK;
}


static int
nd_grpc_h2_data_end(nd_grpc_conn_t *conn)
{
    uint32_t           inc;
    nd_grpc_h2_t      *h2;
    nd_grpc_stream_t  *st;

    h2 = &conn->h2;

    st = nd_grpc_h2_find(conn, h2->sid);

    if (st && !st->h2.remote) {
        if (nd_h2_flags(h2) & ND_H2_END_STREAM) {
            st->h2.remote = 1;
            nd_grpc_stream_end(st);

        } else if (st->h2.unacked >= ND_GRPC_STREAM_WINDOW / 2) {
            inc = st->h2.unacked;
            st->h2.unacked = 0;
            if (nd_grpc_h2_write32(conn, ND_H2_WINDOW_UPDATE, h2->sid, inc)
                != ND_OK)
            {
                return ND_ERROR;
            }
        }
    }

    if (h2->recv_unacked >= ND_GRPC_CONN_WINDOW / 2) {
        inc = h2->recv_unacked;
        h2->recv_unacked = 0;
        return nd_grpc_h2_write32(conn, ND_H2_WINDOW_UPDATE, 0, inc);
    }

    return ND_OK;
}


/* the 9 bytes of a frame header are in: check what can be checked now */
static int
nd_grpc_h2_frame_start(nd_grpc_conn_t *conn)
{
    u_char         type, flags;
    uint32_t       len;
    int32_t        sid;
    nd_grpc_h2_t  *h2;

    h2 = &conn->h2;

    len = (uint32_t) h2->head[0] << 16 | (uint32_t) h2->head[1] << 8
          | h2->head[2];
    type = nd_h2_type(h2);
    flags = nd_h2_flags(h2);
    sid = (int32_t) (nd_h2_get32(h2->head + 5) & 0x7fffffff);

    h2->length = len;
    h2->sid = sid;
    h2->got = 0;
    h2->pad = 0;

    if (len > ND_H2_FRAME_MAX) {
        return nd_grpc_h2_error(conn, ND_H2_FRAME_SIZE,
                                "frame over SETTINGS_MAX_FRAME_SIZE");
    }

    /* 3.4: the preface ends with a SETTINGS frame */
    if (!h2->settings && (type != ND_H2_SETTINGS || (flags & ND_H2_ACK))) {
        return nd_grpc_h2_error(conn, ND_H2_PROTOCOL_ERROR,
                                "first frame is not SETTINGS");
    }

    /* 6.10: nothing between HEADERS and its CONTINUATIONs */
    if (h2->cont_sid
        && (type != ND_H2_CONTINUATION || sid != h2->cont_sid))
    {
        return nd_grpc_h2_error(conn, ND_H2_PROTOCOL_ERROR,
                                "CONTINUATION expected");
    }

    switch (type) {

    case ND_H2_DATA:
        return nd_grpc_h2_data_start(conn);

    case ND_H2_HEADERS:
        if (sid == 0 || !(sid & 1)) {
            return nd_grpc_h2_error(conn, ND_H2_PROTOCOL_ERROR,
                                    "HEADERS on a bad stream id");
        }
        if ((flags & ND_H2_PRIORITY_FLAG)
            && len < 5 + ((flags & ND_H2_PADDED) ? 1u : 0u))
        {
            return nd_grpc_h2_error(conn, ND_H2_FRAME_SIZE,
                                    "HEADERS too short for its priority");
        }
        return ND_OK;

    case ND_H2_PRIORITY:
        if (sid == 0) {
            return nd_grpc_h2_error(conn, ND_H2_PROTOCOL_ERROR,
                                    "PRIORITY on stream 0");
        }
        if (len != 5) {
            return nd_grpc_h2_error(conn, ND_H2_FRAME_SIZE,
                                    "PRIORITY length is not 5");
        }
        return ND_OK;

    case ND_H2_RST_STREAM:
        if (len != 4) {
            return nd_grpc_h2_error(conn, ND_H2_FRAME_SIZE,
                                    "RST_STREAM length is not 4");
        }
        if (sid == 0 || sid > h2->last_sid || !(sid & 1)) {
            return nd_grpc_h2_error(conn, ND_H2_PROTOCOL_ERROR,
                                    "RST_STREAM on an idle stream");
        }
        return ND_OK;

    case ND_H2_SETTINGS:
        if (sid != 0) {
            return nd_grpc_h2_error(conn, ND_H2_PROTOCOL_ERROR,
                                    "SETTINGS on a stream");
        }
        if (((flags & ND_H2_ACK) && len != 0) || len % 6) {
            return nd_grpc_h2_error(conn, ND_H2_FRAME_SIZE,
                                    "bad SETTINGS length");
        }
        return ND_OK;

    case ND_H2_PUSH_PROMISE:
        return nd_grpc_h2_error(conn, ND_H2_PROTOCOL_ERROR,
                                "PUSH_PROMISE from a client");

    case ND_H2_PING:
        if (sid != 0) {
            return nd_grpc_h2_error(conn, ND_H2_PROTOCOL_ERROR,
                                    "PING on a stream");
        }
        if (len != 8) {
            return nd_grpc_h2_error(conn, ND_H2_FRAME_SIZE,
                                    "PING length is not 8");
        }
        return ND_OK;

    case ND_H2_GOAWAY:
        if (sid != 0) {
            return nd_grpc_h2_error(conn, ND_H2_PROTOCOL_ERROR,
                                    "GOAWAY on a stream");
        }
        if (len < 8) {
            return nd_grpc_h2_error(conn, ND_H2_FRAME_SIZE,
                                    "GOAWAY shorter than 8");
        }
        return ND_OK;

    case ND_H2_WINDOW_UPDATE:
        if (len != 4) {
            return nd_grpc_h2_error(conn, ND_H2_FRAME_SIZE,
                                    "WINDOW_UPDATE length is not 4");
        }
        if (sid != 0 && (sid > h2->last_sid || !(sid & 1))) {
            return nd_grpc_h2_error(conn, ND_H2_PROTOCOL_ERROR,
                                    "WINDOW_UPDATE on an idle stream");
        }
        return ND_OK;

    case ND_H2_CONTINUATION:
        if (h2->cont_sid == 0) {
            return nd_grpc_h2_error(conn, ND_H2_PROTOCOL_ERROR,
                                    "CONTINUATION without HEADERS");
        }
        if (nd_buf_size(&h2->in) + len > ND_H2_BLOCK_MAX) {
            return nd_grpc_h2_error(conn, ND_H2_CALM,
                                    "header block too large");
        }
        return ND_OK;

    default:
        return ND_OK;                   /* 5.5: unknown types are ignored */
    }
}


/* the payload of the current frame is complete */
static int
nd_grpc_h2_frame_end(nd_grpc_conn_t *conn, const u_char *payload)
{
    int            rc;
    nd_grpc_h2_t  *h2;

    h2 = &conn->h2;

    switch (nd_h2_type(h2)) {

    case ND_H2_DATA:
        return nd_grpc_h2_data_end(conn);

    case ND_H2_CONTINUATION:
        if (!(nd_h2_flags(h2) & ND_H2_END_HEADERS)) {
            return ND_OK;
        }
        rc = nd_grpc_h2_block(conn, h2->cont_sid, h2->cont_flags,
                              nd_buf_start(&h2->in), nd_buf_size(&h2->in));
        nd_buf_free(&h2->in);
        return rc;

    case ND_H2_HEADERS:
    case ND_H2_PRIORITY:
    case ND_H2_RST_STREAM:
    case ND_H2_SETTINGS:
    case ND_H2_PING:
    case ND_H2_GOAWAY:
    case ND_H2_WINDOW_UPDATE:
        rc = nd_grpc_h2_frame(conn, payload);
        if (h2->cont_sid == 0) {
            nd_buf_free(&h2->in);
        }
        return rc;

    default:
        return ND_OK;
    }
}


/* payload bytes that must be seen whole: whole in this read, or kept */
static int
nd_grpc_h2_whole(nd_grpc_h2_t *h2)
{
    switch (nd_h2_type(h2)) {
    case ND_H2_HEADERS:
    case ND_H2_PRIORITY:
    case ND_H2_RST_STREAM:
    case ND_H2_SETTINGS:
    case ND_H2_PING:
    case ND_H2_GOAWAY:
    case ND_H2_WINDOW_UPDATE:
        return 1;
    default:
        return 0;
    }
}


int
nd_grpc_h2_recv(nd_grpc_conn_t *conn, const u_char *data, size_t len)
{
    int             rc;
    size_t          n, need;
    const u_char   *p, *end, *payload;
    nd_grpc_h2_t   *h2;

    h2 = &conn->h2;

    if (h2->failed) {
        return ND_ERROR;
    }

    p = data;
    end = data + len;
    rc = ND_OK;
    h2->in_recv = 1;

    while (rc == ND_OK) {

        if (h2->failed || conn->closing || conn->c->close
            || conn->c->close_after_write)
        {
            break;
        }

        if (h2->preface < ND_H2_PREFACE_LEN) {
            if (p == end) {
                break;
            }
            if (*p != (u_char) ND_H2_PREFACE[h2->preface]) {
                rc = nd_grpc_h2_error(conn, ND_H2_PROTOCOL_ERROR,
                                      "bad client preface");
                break;
            }
            p++;
            h2->preface++;
            continue;
        }

        if (h2->hlen < ND_H2_HEAD) {
            if (p == end) {
                break;
            }
            n = nd_min((size_t) (end - p), (size_t) ND_H2_HEAD - h2->hlen);
            memcpy(h2->head + h2->hlen, p, n);
            h2->hlen += (uint8_t) n;
            p += n;

            if (h2->hlen < ND_H2_HEAD) {
                break;
            }

            rc = nd_grpc_h2_frame_start(conn);
            if (rc != ND_OK) {
                break;
            }
        }

        /* the payload, maybe empty */
        need = h2->length - h2->got;
        n = nd_min((size_t) (end - p), need);

        if (need && n == 0) {
            break;
        }

        payload = p;

        if (nd_h2_type(h2) == ND_H2_DATA) {
            rc = nd_grpc_h2_data(conn, p, n);

        } else if (nd_h2_type(h2) == ND_H2_CONTINUATION
                   || (nd_grpc_h2_whole(h2) && n < h2->length))
        {
            /* kept until complete: a block, or a frame split by reads */
            if (nd_buf_append(&h2->in, p, n) != ND_OK) {
                rc = nd_grpc_h2_error(conn, ND_H2_INTERNAL_ERROR,
                                      "no memory");
            }
            payload = nd_buf_start(&h2->in);
        }

        p += n;
        h2->got += (uint32_t) n;

        if (rc == ND_OK && h2->got == h2->length) {
            h2->hlen = 0;
            rc = nd_grpc_h2_frame_end(conn, payload);
        }
    }

    h2->in_recv = 0;

    return rc == ND_OK ? ND_OK : ND_ERROR;
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
static int
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
static int
nd_grpc_h2_stream_send(nd_grpc_conn_t *conn, nd_grpc_stream_t *st,
    u_char *buf)
{
    int            eof;
    ssize_t        n;
    int32_t        room;
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

    room = nd_min(h2->send_window, st->h2.window);
    room = nd_min(room, (int32_t) nd_min(h2->peer_frame, ND_H2_FRAME_MAX));

    eof = 0;
    n = nd_grpc_stream_read(st, buf + ND_H2_HEAD,
                            room > 0 ? (size_t) room : 0, &eof);

    if (n > 0) {
        nd_grpc_h2_head(buf, (size_t) n, ND_H2_DATA, 0, st->id);
        if (nd_grpc_h2_write(conn, buf, ND_H2_HEAD + (size_t) n) != ND_OK) {
            return ND_ERROR;
        }
        h2->send_window -= (int32_t) n;
        st->h2.window -= (int32_t) n;
    }

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


int
nd_grpc_h2_send(nd_grpc_conn_t *conn)
{
    int                rc, progress;
    u_char             buf[ND_H2_HEAD + ND_H2_FRAME_MAX];
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
            if (nd_buf_size(&conn->c->out) >= ND_GRPC_OUT_HIGH
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


int
nd_grpc_h2_respond(nd_grpc_stream_t *st)
{
    if (st->responded) {
        nd_grpc_h2_resume(st);
        return ND_OK;
    }

    st->responded = 1;

    return ND_OK;
}


int
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
nd_grpc_h2_free(nd_grpc_conn_t *conn)
{
    nd_hpack_free(&conn->h2.hpack);
    nd_buf_free(&conn->h2.in);
}

/*
 * HTTP/2 frames for both roles (see nd_grpc_h2.h): the reader and the
 * frame builders.  Frames are parsed as they arrive, with nothing buffered
 * but a control frame or header block that a read split.
 */
#include <nd_grpc_h2.h>


void
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


void
nd_grpc_h2_frame32(u_char *p, u_char type, int32_t sid, uint32_t value)
{
    nd_grpc_h2_head(p, 4, type, 0, sid);
    nd_h2_put32(p + ND_H2_HEAD, value);
}


void
nd_grpc_h2_frame_goaway(u_char *p, int32_t last_sid, uint32_t code)
{
    nd_grpc_h2_head(p, 8, ND_H2_GOAWAY, 0, 0);
    nd_h2_put32(p + ND_H2_HEAD, (uint32_t) last_sid);
    nd_h2_put32(p + ND_H2_HEAD + 4, code);
}


void
nd_grpc_h2_frame_pong(u_char *p, const u_char *opaque)
{
    nd_grpc_h2_head(p, 8, ND_H2_PING, ND_H2_ACK, 0);
    memcpy(p + ND_H2_HEAD, opaque, 8);
}


size_t
nd_grpc_h2_frame_session(u_char *p, const uint32_t (*set)[2], size_t n,
    uint32_t conn_window)
{
    size_t   i;
    u_char  *s;

    nd_grpc_h2_head(p, 6 * n, ND_H2_SETTINGS, 0, 0);
    s = p + ND_H2_HEAD;

    for (i = 0; i < n; i++, s += 6) {
        s[0] = (u_char) (set[i][0] >> 8);
        s[1] = (u_char) set[i][0];
        nd_h2_put32(s + 2, set[i][1]);
    }

    if (conn_window > ND_H2_DEFAULT_WINDOW) {
        nd_grpc_h2_frame32(s, ND_H2_WINDOW_UPDATE, 0,
                           conn_window - ND_H2_DEFAULT_WINDOW);
        s += ND_H2_HEAD + 4;
    }

    return (size_t) (s - p);
}


void
nd_grpc_h2_flow_init(nd_grpc_h2_flow_t *fl)
{
    fl->send_window = ND_H2_DEFAULT_WINDOW;
    fl->recv_unacked = 0;
    fl->peer_window = ND_H2_DEFAULT_WINDOW;
    fl->peer_frame = ND_H2_FRAME_MAX;
}


size_t
nd_grpc_h2_flow_room(const nd_grpc_h2_flow_t *fl, int32_t st_window)
{
    int32_t  room;

    room = nd_min(fl->send_window, st_window);
    room = nd_min(room, (int32_t) nd_min(fl->peer_frame, ND_H2_FRAME_MAX));

    return room > 0 ? (size_t) room : 0;
}


void
nd_grpc_h2_flow_spend(nd_grpc_h2_flow_t *fl, int32_t *st_window, size_t n)
{
    fl->send_window -= (int32_t) n;
    *st_window -= (int32_t) n;
}


void
nd_grpc_h2_flow_settings(nd_grpc_h2_flow_t *fl,
    const nd_grpc_h2_settings_t *set, int64_t *delta)
{
    *delta = 0;

    if (nd_h2_has(set, ND_H2_SET_WINDOW)) {
        *delta = (int64_t) set->value[ND_H2_SET_WINDOW] - fl->peer_window;
        fl->peer_window = set->value[ND_H2_SET_WINDOW];
    }

    if (nd_h2_has(set, ND_H2_SET_FRAME_SIZE)) {
        fl->peer_frame = set->value[ND_H2_SET_FRAME_SIZE];
    }
}


uint32_t
nd_grpc_h2_settings_parse(const u_char *p, size_t len,
    nd_grpc_h2_settings_t *s, const char **reason)
{
    size_t    i;
    uint32_t  id, value;

    memset(s, 0, sizeof(nd_grpc_h2_settings_t));

    for (i = 0; i + 6 <= len; i += 6) {
        id = (uint32_t) p[i] << 8 | p[i + 1];
        value = nd_h2_get32(p + i + 2);

        if (id == ND_H2_SET_ENABLE_PUSH && value > 1) {
            *reason = "bad SETTINGS_ENABLE_PUSH";
            return ND_H2_PROTOCOL_ERROR;
        }

        if (id == ND_H2_SET_WINDOW && value > ND_H2_WINDOW_MAX) {
            *reason = "bad SETTINGS_INITIAL_WINDOW_SIZE";
            return ND_H2_FLOW_CONTROL;
        }

        if (id == ND_H2_SET_FRAME_SIZE
            && (value < ND_H2_FRAME_MAX || value > ND_H2_FRAME_LIMIT))
        {
            *reason = "bad SETTINGS_MAX_FRAME_SIZE";
            return ND_H2_PROTOCOL_ERROR;
        }

        if (id >= 1 && id <= ND_H2_SET_LIST_SIZE) {
            s->value[id] = value;
            s->has |= 1u << id;
        }
        /* unknown: ignored (6.5.2) */
    }

    return 0;
}


nd_int_t
nd_grpc_h2_window_add(int32_t *window, int64_t delta)
{
    int64_t  w;

    w = (int64_t) *window + delta;
    if (w > ND_H2_WINDOW_MAX) {
        return ND_ERROR;
    }

    *window = (int32_t) w;

    return ND_OK;
}


nd_int_t
nd_grpc_h2_window_take(uint32_t *unacked, uint32_t window, uint32_t len)
{
    if (len > window - nd_min(*unacked, window)) {
        return ND_ERROR;
    }

    *unacked += len;

    return ND_OK;
}


uint32_t
nd_grpc_h2_window_grant(uint32_t *unacked, uint32_t window)
{
    uint32_t  inc;

    if (*unacked < window / 2 || *unacked == 0) {
        return 0;
    }

    inc = *unacked;
    *unacked = 0;

    return inc;
}


size_t
nd_grpc_h2_frame_grants(u_char *f, int32_t sid, uint32_t *st_unacked,
    uint32_t st_window, uint32_t *conn_unacked, uint32_t conn_window)
{
    size_t    n;
    uint32_t  inc;

    n = 0;

    if (st_unacked) {
        inc = nd_grpc_h2_window_grant(st_unacked, st_window);
        if (inc) {
            nd_grpc_h2_frame32(f, ND_H2_WINDOW_UPDATE, sid, inc);
            n += ND_H2_HEAD + 4;
        }
    }

    inc = nd_grpc_h2_window_grant(conn_unacked, conn_window);
    if (inc) {
        nd_grpc_h2_frame32(f + n, ND_H2_WINDOW_UPDATE, 0, inc);
        n += ND_H2_HEAD + 4;
    }

    return n;
}


/* the reader */

void
nd_grpc_h2_reader_init(nd_grpc_h2_reader_t *rd, int client_preface)
{
    memset(rd, 0, sizeof(nd_grpc_h2_reader_t));
    nd_buf_init(&rd->in);
    rd->preface = client_preface ? 0 : ND_H2_PREFACE_LEN;
}


void
nd_grpc_h2_reader_free(nd_grpc_h2_reader_t *rd)
{
    nd_buf_free(&rd->in);
}


/* a stream id no stream was opened with (5.1: idle) */
static int
nd_grpc_h2_idle(nd_grpc_h2_reader_t *rd, int32_t sid)
{
    return sid == 0 || sid > rd->last_sid || !(sid & 1);
}


/* the control frames of a fixed shape (RFC 9113 6.3 - 6.9) */
typedef enum {
    ND_H2_ON_STREAM = 0,        /* a stream, never 0 */
    ND_H2_ON_OPENED,            /* a stream opened before */
    ND_H2_ON_CONNECTION,        /* stream 0 only */
    ND_H2_ON_EITHER             /* stream 0 or one opened before */
} nd_grpc_h2_on_e;

typedef struct {
    u_char                type;
    uint8_t               on;           /* nd_grpc_h2_on_e */
    uint8_t               len;          /* the payload's length ... */
    uint8_t               at_least;     /* ... or its minimum */
    const char           *bad_sid;
    const char           *bad_len;
} nd_grpc_h2_shape_t;

static const nd_grpc_h2_shape_t  nd_grpc_h2_shapes[] = {
    { ND_H2_PRIORITY, ND_H2_ON_STREAM, 5, 0,
      "PRIORITY on stream 0", "PRIORITY length is not 5" },
    { ND_H2_RST_STREAM, ND_H2_ON_OPENED, 4, 0,
      "RST_STREAM on an idle stream", "RST_STREAM length is not 4" },
    { ND_H2_PING, ND_H2_ON_CONNECTION, 8, 0,
      "PING on a stream", "PING length is not 8" },
    { ND_H2_GOAWAY, ND_H2_ON_CONNECTION, 8, 1,
      "GOAWAY on a stream", "GOAWAY shorter than 8" },
    { ND_H2_WINDOW_UPDATE, ND_H2_ON_EITHER, 4, 0,
      "WINDOW_UPDATE on an idle stream", "WINDOW_UPDATE length is not 4" },
};


/* a control frame's stream and length: the stream's kind first, its
 * length next, whether it was opened last */
static nd_int_t
nd_grpc_h2_control_start(nd_grpc_h2_reader_t *rd,
    const nd_grpc_h2_role_t *role, void *ctx)
{
    size_t                     i;
    const nd_grpc_h2_shape_t  *f;

    for (i = 0; nd_grpc_h2_shapes[i].type != nd_h2_type(rd); i++) {
        /* void: every type handed here is in the table */
    }

    f = &nd_grpc_h2_shapes[i];

    if ((f->on == ND_H2_ON_STREAM && rd->sid == 0)
        || (f->on == ND_H2_ON_CONNECTION && rd->sid != 0))
    {
        return role->error(ctx, ND_H2_PROTOCOL_ERROR, f->bad_sid);
    }

    if (f->at_least ? rd->length < f->len : rd->length != f->len) {
        return role->error(ctx, ND_H2_FRAME_SIZE, f->bad_len);
    }

    if ((f->on == ND_H2_ON_OPENED
         || (f->on == ND_H2_ON_EITHER && rd->sid != 0))
        && nd_grpc_h2_idle(rd, rd->sid))
    {
        return role->error(ctx, ND_H2_PROTOCOL_ERROR, f->bad_sid);
    }

    return ND_OK;
}


/* the 9 bytes of a frame header are in: check what can be checked now */
static nd_int_t
nd_grpc_h2_frame_start(nd_grpc_h2_reader_t *rd, const nd_grpc_h2_role_t *role,
    void *ctx)
{
    u_char    type, flags;
    uint32_t  len;
    int32_t   sid;

    len = (uint32_t) rd->head[0] << 16 | (uint32_t) rd->head[1] << 8
          | rd->head[2];
    type = nd_h2_type(rd);
    flags = nd_h2_flags(rd);
    sid = (int32_t) (nd_h2_get32(rd->head + 5) & 0x7fffffff);

    rd->length = len;
    rd->sid = sid;
    rd->got = 0;
    rd->pad = 0;

    if (len > ND_H2_FRAME_MAX) {
        return role->error(ctx, ND_H2_FRAME_SIZE,
                           "frame over SETTINGS_MAX_FRAME_SIZE");
    }

    /* 3.4: either side's preface ends with a SETTINGS frame */
    if (!rd->settings) {
        if (type != ND_H2_SETTINGS || (flags & ND_H2_ACK)) {
            return role->error(ctx, ND_H2_PROTOCOL_ERROR,
                               "first frame is not SETTINGS");
        }
        rd->settings = 1;
    }

    /* 6.10: nothing between HEADERS and its CONTINUATIONs */
    if (rd->cont_sid
        && (type != ND_H2_CONTINUATION || sid != rd->cont_sid))
    {
        return role->error(ctx, ND_H2_PROTOCOL_ERROR,
                           "CONTINUATION expected");
    }

    switch (type) {

    case ND_H2_DATA:
        if (nd_grpc_h2_idle(rd, sid)) {
            return role->error(ctx, ND_H2_PROTOCOL_ERROR,
                               "DATA on an idle stream");
        }
        if ((flags & ND_H2_PADDED) && len == 0) {
            return role->error(ctx, ND_H2_FRAME_SIZE,
                               "DATA too short for its padding");
        }
        return role->data_start(ctx);

    case ND_H2_HEADERS:
        if (sid == 0 || !(sid & 1)) {
            return role->error(ctx, ND_H2_PROTOCOL_ERROR,
                               "HEADERS on a bad stream id");
        }
        if ((flags & ND_H2_PRIORITY_FLAG)
            && len < 5 + ((flags & ND_H2_PADDED) ? 1u : 0u))
        {
            return role->error(ctx, ND_H2_FRAME_SIZE,
                               "HEADERS too short for its priority");
        }
        return ND_OK;

    case ND_H2_SETTINGS:
        if (sid != 0) {
            return role->error(ctx, ND_H2_PROTOCOL_ERROR,
                               "SETTINGS on a stream");
        }
        if (((flags & ND_H2_ACK) && len != 0) || len % 6) {
            return role->error(ctx, ND_H2_FRAME_SIZE, "bad SETTINGS length");
        }
        return ND_OK;

    case ND_H2_PUSH_PROMISE:
        /* a client may not push; we never enable push as a client */
        return role->error(ctx, ND_H2_PROTOCOL_ERROR, "PUSH_PROMISE");

    case ND_H2_PRIORITY:
    case ND_H2_RST_STREAM:
    case ND_H2_PING:
    case ND_H2_GOAWAY:
    case ND_H2_WINDOW_UPDATE:
        return nd_grpc_h2_control_start(rd, role, ctx);

    case ND_H2_CONTINUATION:
        if (rd->cont_sid == 0) {
            return role->error(ctx, ND_H2_PROTOCOL_ERROR,
                               "CONTINUATION without HEADERS");
        }
        if (nd_buf_size(&rd->in) + len > ND_H2_BLOCK_MAX) {
            return role->error(ctx, ND_H2_CALM, "header block too large");
        }
        return ND_OK;

    default:
        return ND_OK;                   /* 5.5: unknown types are ignored */
    }
}


/* n payload bytes of a DATA frame at p; rd->got is where they start */
static nd_int_t
nd_grpc_h2_data(nd_grpc_h2_reader_t *rd, const nd_grpc_h2_role_t *role,
    void *ctx, const u_char *p, size_t n)
{
    size_t  pos, limit;

    pos = rd->got;

    if (nd_h2_flags(rd) & ND_H2_PADDED) {
        if (pos == 0) {
            rd->pad = p[0];
            if ((size_t) rd->pad >= rd->length) {
                return role->error(ctx, ND_H2_PROTOCOL_ERROR,
                                   "DATA padding over its length");
            }
            p++;
            n--;
            pos++;
        }
        limit = rd->length - rd->pad;

    } else {
        limit = rd->length;
    }

    if (pos >= limit || n == 0) {
        return ND_OK;                   /* padding */
    }

    return role->data(ctx, p, nd_min(n, limit - pos));
}


/* a complete HEADERS frame: its block, or the first part of one */
static nd_int_t
nd_grpc_h2_headers(nd_grpc_h2_reader_t *rd, const nd_grpc_h2_role_t *role,
    void *ctx, const u_char *p)
{
    size_t  off, pad, len;
    u_char  flags;

    flags = nd_h2_flags(rd);
    len = rd->length;
    off = 0;
    pad = 0;

    if (flags & ND_H2_PADDED) {
        if (len < 1) {
            return role->error(ctx, ND_H2_FRAME_SIZE,
                               "HEADERS too short for its padding");
        }
        pad = p[0];
        off = 1;
    }

    if (flags & ND_H2_PRIORITY_FLAG) {
        off += 5;                       /* dependency and weight: ignored */
    }

    if (off + pad > len) {
        return role->error(ctx, ND_H2_PROTOCOL_ERROR,
                           "HEADERS padding over its length");
    }

    len -= off + pad;
    p += off;

    if (flags & ND_H2_END_HEADERS) {
        return role->block(ctx, rd->sid, flags, p, len);
    }

    /* the block goes on in CONTINUATION frames: keep the fragment */
    rd->cont_sid = rd->sid;
    rd->cont_flags = flags;

    if (nd_buf_size(&rd->in)) {
        /* p is inside rd->in (the frame came in pieces) */
        memmove(rd->in.data, p, len);
        rd->in.pos = 0;
        rd->in.len = len;
        return ND_OK;
    }

    if (nd_buf_append(&rd->in, p, len) != ND_OK) {
        return role->error(ctx, ND_H2_INTERNAL_ERROR, "no memory");
    }

    return ND_OK;
}


/* the frames a role gets whole, through role->frame */
static int
nd_grpc_h2_control(u_char type)
{
    return type == ND_H2_PRIORITY || type == ND_H2_RST_STREAM
           || type == ND_H2_SETTINGS || type == ND_H2_PING
           || type == ND_H2_GOAWAY || type == ND_H2_WINDOW_UPDATE;
}


/* WINDOW_UPDATE (6.9): the increment goes to the stream's window, or
 * the connection's */
static nd_int_t
nd_grpc_h2_window_update(nd_grpc_h2_reader_t *rd,
    const nd_grpc_h2_role_t *role, void *ctx, const u_char *p)
{
    int32_t     *window;
    uint32_t     inc;
    const char  *reason;

    window = role->send_window(ctx, rd->sid);
    if (window == NULL) {
        return ND_OK;                   /* a closed stream */
    }

    inc = nd_h2_get32(p) & 0x7fffffff;

    if (inc == 0) {
        reason = "WINDOW_UPDATE of 0";
        return rd->sid ? role->stream_error(ctx, rd->sid,
                                            ND_H2_PROTOCOL_ERROR, reason)
                       : role->error(ctx, ND_H2_PROTOCOL_ERROR, reason);
    }

    if (nd_grpc_h2_window_add(window, inc) != ND_OK) {
        return rd->sid ? role->stream_error(ctx, rd->sid, ND_H2_FLOW_CONTROL,
                                            "stream window over 2^31 - 1")
                       : role->error(ctx, ND_H2_FLOW_CONTROL,
                                     "connection window over 2^31 - 1");
    }

    return ND_OK;
}


/* a whole control frame */
static nd_int_t
nd_grpc_h2_control_end(nd_grpc_h2_reader_t *rd,
    const nd_grpc_h2_role_t *role, void *ctx, const u_char *p)
{
    int     rc;
    u_char  f[ND_H2_HEAD + 8];

    switch (nd_h2_type(rd)) {

    case ND_H2_PING:
        if (nd_h2_flags(rd) & ND_H2_ACK) {
            return ND_OK;
        }
        /* answered, never counted: gRPC peers ping as they like */
        nd_grpc_h2_frame_pong(f, p);
        return role->write(ctx, f, sizeof(f));

    case ND_H2_WINDOW_UPDATE:
        return nd_grpc_h2_window_update(rd, role, ctx, p);

    case ND_H2_PRIORITY:
        return ND_OK;                   /* ignored */

    case ND_H2_SETTINGS:
        rc = role->frame(ctx, p);
        if (rc != ND_OK || (nd_h2_flags(rd) & ND_H2_ACK)) {
            return rc;
        }
        nd_grpc_h2_head(f, 0, ND_H2_SETTINGS, ND_H2_ACK, 0);
        return role->write(ctx, f, ND_H2_HEAD);

    default:                            /* RST_STREAM, GOAWAY */
        return role->frame(ctx, p);
    }
}


/* what rd->in holds; empty HEADERS and CONTINUATION fragments leave it
 * without memory, and NULL + 0 is undefined (UBSan; t/fuzz/h2_client/
 * crashes/empty-continuation-null-buf) */
static const u_char *
nd_grpc_h2_kept(nd_grpc_h2_reader_t *rd)
{
    return rd->in.data ? nd_buf_start(&rd->in) : (const u_char *) "";
}


/* the payload of the current frame is complete */
static nd_int_t
nd_grpc_h2_frame_end(nd_grpc_h2_reader_t *rd, const nd_grpc_h2_role_t *role,
    void *ctx, const u_char *payload)
{
    int      rc;
    int32_t  sid;

    switch (nd_h2_type(rd)) {

    case ND_H2_DATA:
        return role->data_end(ctx);

    case ND_H2_CONTINUATION:
        if (!(nd_h2_flags(rd) & ND_H2_END_HEADERS)) {
            return ND_OK;
        }
        sid = rd->cont_sid;
        rd->cont_sid = 0;
        rc = role->block(ctx, sid, rd->cont_flags, nd_grpc_h2_kept(rd),
                         nd_buf_size(&rd->in));
        nd_buf_free(&rd->in);
        return rc;

    case ND_H2_HEADERS:
        rc = nd_grpc_h2_headers(rd, role, ctx, payload);
        if (rd->cont_sid == 0) {
            nd_buf_free(&rd->in);
        }
        return rc;

    default:
        if (!nd_grpc_h2_control(nd_h2_type(rd))) {
            return ND_OK;               /* unknown: ignored */
        }
        rc = nd_grpc_h2_control_end(rd, role, ctx, payload);
        nd_buf_free(&rd->in);
        return rc;
    }
}


/* payload bytes that must be seen whole: whole in this read, or kept */
static int
nd_grpc_h2_whole(nd_grpc_h2_reader_t *rd)
{
    return nd_h2_type(rd) == ND_H2_HEADERS
           || nd_grpc_h2_control(nd_h2_type(rd));
}


int
nd_grpc_h2_read(nd_grpc_h2_reader_t *rd, const nd_grpc_h2_role_t *role,
    void *ctx, const u_char *data, size_t len)
{
    int            rc;
    size_t         n, need;
    const u_char  *p, *end, *payload;

    p = data;
    end = data + len;
    rc = ND_OK;

    while (rc == ND_OK && !role->halted(ctx)) {

        if (rd->preface < ND_H2_PREFACE_LEN) {
            if (p == end) {
                break;
            }
            if (*p != (u_char) ND_H2_PREFACE[rd->preface]) {
                rc = role->error(ctx, ND_H2_PROTOCOL_ERROR,
                                 "bad client preface");
                break;
            }
            p++;
            rd->preface++;
            continue;
        }

        if (rd->hlen < ND_H2_HEAD) {
            if (p == end) {
                break;
            }
            n = nd_min((size_t) (end - p), (size_t) ND_H2_HEAD - rd->hlen);
            memcpy(rd->head + rd->hlen, p, n);
            rd->hlen += (uint8_t) n;
            p += n;

            if (rd->hlen < ND_H2_HEAD) {
                break;
            }

            rc = nd_grpc_h2_frame_start(rd, role, ctx);
            if (rc != ND_OK) {
                break;
            }
        }

        /* the payload, maybe empty */
        need = rd->length - rd->got;
        n = nd_min((size_t) (end - p), need);

        if (need && n == 0) {
            break;
        }

        payload = p;

        if (nd_h2_type(rd) == ND_H2_DATA) {
            rc = nd_grpc_h2_data(rd, role, ctx, p, n);

        } else if (nd_h2_type(rd) == ND_H2_CONTINUATION
                   || (nd_grpc_h2_whole(rd) && n < rd->length))
        {
            /* kept until complete: a block, or a frame split by reads */
            if (nd_buf_append(&rd->in, p, n) != ND_OK) {
                rc = role->error(ctx, ND_H2_INTERNAL_ERROR, "no memory");
            }
            payload = nd_grpc_h2_kept(rd);
        }

        p += n;
        rd->got += (uint32_t) n;

        if (rc == ND_OK && rd->got == rd->length) {
            rd->hlen = 0;
            rc = nd_grpc_h2_frame_end(rd, role, ctx, payload);
        }
    }

    return rc == ND_OK ? ND_OK : ND_ERROR;
}

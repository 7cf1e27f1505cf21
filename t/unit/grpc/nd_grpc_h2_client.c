/*
 * Unit tests: the client role of our HTTP/2 framer, driven with bytes.
 * What it writes is parsed back frame by frame (header blocks with our
 * HPACK decoder); what the "server" sends is built here by hand.
 * Preface and SETTINGS, SETTINGS ack, odd increasing stream ids,
 * MAX_CONCURRENT_STREAMS, HEADERS and DATA, responses and trailers,
 * flow control both ways, PING, RST_STREAM, GOAWAY, and bad frames.
 */
#include <nd_core.h>
#include <tap.h>

#ifdef ND_WITH_GRPC

#include <nd_grpc_h2_client.h>

#define NSTREAMS  8

typedef struct {
    nd_buf_t               out;         /* what the client wrote */
    size_t                 pos;         /* frames read up to here */
    int                    ready;
    int                    ended;
    nd_grpc_h2c_stream_t  *last;        /* the latest to end */
    int32_t                goaway_last;
    int                    goaways;
    int                    fail_writes;
    int                    messages;    /* bidi DATA reported */
    size_t                 seen;        /* st->in size at the last one */
} env_t;

typedef struct {
    u_char                 type;
    u_char                 flags;
    int32_t                sid;
    size_t                 len;
    const u_char          *p;
} frame_t;


static nd_int_t
w_write(void *data, const u_char *p, size_t len)
{
    env_t  *e = data;

    if (e->fail_writes) {
        return ND_ERROR;
    }

    return nd_buf_append(&e->out, p, len);
}


static void
w_ready(void *data)
{
    ((env_t *) data)->ready++;
}


static void
w_end(void *data, nd_grpc_h2c_stream_t *st)
{
    env_t  *e = data;

    e->ended++;
    e->last = st;
}


static void
w_goaway(void *data, int32_t last, uint32_t code)
{
    env_t  *e = data;

    e->goaways++;
    e->goaway_last = last;
}


static void
w_message(void *data, nd_grpc_h2c_stream_t *st)
{
    env_t  *e = data;

    e->messages++;
    e->seen = nd_buf_size(&st->in);
}


static const nd_grpc_h2c_handler_t  handler = {
    .write = w_write,
    .ready = w_ready,
    .end = w_end,
    .message = w_message,
    .goaway = w_goaway,
};


/* the next frame the client wrote: 1, or 0 when there is none */
static int
next(env_t *e, frame_t *f)
{
    const u_char  *p;

    if (e->pos > e->out.len || e->out.len - e->pos < ND_H2_HEAD) {
        return 0;
    }

    p = e->out.data + e->pos;
    f->len = (size_t) p[0] << 16 | (size_t) p[1] << 8 | p[2];
    if (e->out.len - e->pos - ND_H2_HEAD < f->len) {
        return 0;
    }
    f->type = p[3];
    f->flags = p[4];
    f->sid = (int32_t) (nd_h2_get32(p + 5) & 0x7fffffff);
    f->p = p + ND_H2_HEAD;
    e->pos += ND_H2_HEAD + f->len;

    return 1;
}


/* the frames written since last time, as "TYPE:sid:flags:len " */
static const char *
frames(env_t *e)
{
    static char  s[1024];
    frame_t      f;
    static const char  *names[] = { "DATA", "HEADERS", "PRIORITY", "RST",
        "SETTINGS", "PUSH", "PING", "GOAWAY", "WU", "CONT" };

    s[0] = '\0';
    while (next(e, &f)) {
        snprintf(s + strlen(s), sizeof(s) - strlen(s), "%s:%d:%d:%zu ",
                 f.type < 10 ? names[f.type] : "?", (int) f.sid,
                 (int) f.flags, f.len);
    }

    return s;
}


static void
emit(void *data, const u_char *name, size_t nlen, const u_char *value,
    size_t vlen)
{
    char    *s = data;
    size_t   used = strlen(s);

    snprintf(s + used, 1024 - used, "%.*s=%.*s;", (int) nlen, name,
             (int) vlen, value);
}


/* a frame from the server */
static int
feed(nd_grpc_h2c_t *h2c, u_char type, u_char flags, int32_t sid,
    const void *payload, size_t len)
{
    u_char  f[ND_H2_HEAD + 32768];

    nd_grpc_h2_head(f, len, type, flags, sid);
    if (len) {
        memcpy(f + ND_H2_HEAD, payload, len);
    }

    return nd_grpc_h2c_recv(h2c, f, ND_H2_HEAD + len);
}


static int
feed_settings(nd_grpc_h2c_t *h2c, uint32_t id, uint32_t value)
{
    u_char  p[6];

    p[0] = (u_char) (id >> 8);
    p[1] = (u_char) id;
    nd_h2_put32(p + 2, value);

    return feed(h2c, ND_H2_SETTINGS, 0, 0, p, id ? 6 : 0);
}


static int
feed32(nd_grpc_h2c_t *h2c, u_char type, int32_t sid, uint32_t v)
{
    u_char  p[4];

    nd_h2_put32(p, v);

    return feed(h2c, type, 0, sid, p, 4);
}


/* response HEADERS: ":status 200, content-type"; with grpc-status
 * (status >= 0) and END_STREAM when trailers-only */
static int
feed_headers(nd_grpc_h2c_t *h2c, int32_t sid, int status, int trailers,
    const char *message)
{
    u_char  b[512], *p;
    char    code[16];
    u_char  flags;

    p = b;
    if (!trailers) {
        *p++ = 0x88;                            /* :status 200 */
        p = nd_hpack_encode_indexed_name(p, 31, (u_char *) "application/grpc",
                                         16);
    }
    if (status >= 0) {
        snprintf(code, sizeof(code), "%d", status);
        p = nd_hpack_encode_literal(p, (u_char *) "grpc-status", 11,
                                    (u_char *) code, strlen(code));
    }
    if (message) {
        p = nd_hpack_encode_literal(p, (u_char *) "grpc-message", 12,
                                    (u_char *) message, strlen(message));
    }

    flags = ND_H2_END_HEADERS | (status >= 0 ? ND_H2_END_STREAM : 0);

    return feed(h2c, ND_H2_HEADERS, flags, sid, b, (size_t) (p - b));
}


static void
stream_init(nd_grpc_h2c_stream_t *st, size_t body)
{
    size_t  i;

    memset(st, 0, sizeof(*st));
    nd_buf_init(&st->out);
    nd_buf_init(&st->in);
    for (i = 0; i < body; i++) {
        u_char  c = (u_char) ('a' + i % 26);
        nd_buf_append(&st->out, &c, 1);
    }
}


static void
session(env_t *e, nd_grpc_h2c_t *h2c, uint32_t window, size_t max_message)
{
    memset(e, 0, sizeof(*e));
    nd_buf_init(&e->out);
    nd_grpc_h2c_init(h2c, &handler, e, nd_log_default(), "127.0.0.1:9848",
                     max_message, window);
    e->pos = ND_H2_PREFACE_LEN;         /* frames from here */
}


static void
done(env_t *e, nd_grpc_h2c_t *h2c, nd_grpc_h2c_stream_t *sts, int n)
{
    int  i;

    for (i = 0; i < n; i++) {
        nd_grpc_h2c_stream_free(&sts[i]);
    }
    nd_grpc_h2c_free(h2c);
    nd_buf_free(&e->out);
}


static void
test_session(void)
{
    int                    i;
    char                   fields[1024];
    u_char                 tmp[4096];
    env_t                  e;
    frame_t                f;
    nd_hpack_t             dec;
    nd_grpc_h2c_t          h2c;
    nd_grpc_h2c_stream_t   st[4];

    session(&e, &h2c, 0, 4096);

    ok(e.out.len >= 24 && memcmp(e.out.data, ND_H2_PREFACE, 24) == 0,
       "client preface first");
    e.pos = 24;
    ok(next(&e, &f) && f.type == ND_H2_SETTINGS && f.sid == 0 && f.flags == 0
       && f.len == 18, "then our SETTINGS (3 parameters)");
    ok(f.p[1] == ND_H2_SET_ENABLE_PUSH && nd_h2_get32(f.p + 2) == 0,
       "ENABLE_PUSH 0");
    ok(f.p[7] == ND_H2_SET_WINDOW
       && nd_h2_get32(f.p + 8) == ND_GRPC_H2C_WINDOW,
       "INITIAL_WINDOW_SIZE 4 MiB");
    ok(next(&e, &f) && f.type == ND_H2_WINDOW_UPDATE && f.sid == 0
       && nd_h2_get32(f.p) == ND_GRPC_H2C_CONN_WINDOW - 65535,
       "WINDOW_UPDATE takes the connection window to 16 MiB");

    for (i = 0; i < 4; i++) {
        stream_init(&st[i], 10 + i);
        is_int(nd_grpc_h2c_submit(&h2c, &st[i]), ND_OK, "submit %d", i);
    }
    nd_grpc_h2c_send(&h2c);
    is_str(frames(&e), "", "no HEADERS before the server's SETTINGS");

    /* the server allows two streams */
    is_int(feed_settings(&h2c, ND_H2_SET_STREAMS, 2), ND_OK,
           "server SETTINGS read");
    is_int(e.ready, 1, "ready once the server's SETTINGS came");

    ok(next(&e, &f) && f.type == ND_H2_SETTINGS && f.flags == ND_H2_ACK
       && f.len == 0, "SETTINGS acknowledged");

    /* stream 1: HEADERS decodable by our own HPACK decoder */
    ok(next(&e, &f) && f.type == ND_H2_HEADERS && f.sid == 1
       && f.flags == ND_H2_END_HEADERS, "HEADERS of stream 1");
    nd_hpack_init(&dec, 4096);
    fields[0] = '\0';
    is_int(nd_hpack_decode(&dec, f.p, f.len, tmp, sizeof(tmp), emit,
                           fields), ND_HPACK_OK, "HEADERS decode");
    is_str(fields, ":method=POST;:scheme=http;:path=/Request/request;"
           ":authority=127.0.0.1:9848;content-type=application/grpc;"
           "te=trailers;", "request header fields");
    nd_hpack_free(&dec);

    ok(next(&e, &f) && f.type == ND_H2_HEADERS && f.sid == 3,
       "HEADERS of stream 3");
    ok(next(&e, &f) && f.type == ND_H2_DATA && f.sid == 1
       && f.flags == ND_H2_END_STREAM && f.len == 10
       && memcmp(f.p, "abcdefghij", 10) == 0,
       "DATA of stream 1 with END_STREAM");
    is_str(frames(&e), "DATA:3:1:11 ",
           "and of stream 3; MAX_CONCURRENT_STREAMS 2 holds the others");
    is_int(h2c.nopen, 2, "two open");
    is_int(h2c.npending, 2, "two pending");

    /* stream 1 answered: headers, data, trailers */
    is_int(feed_headers(&h2c, 1, -1, 0, NULL), ND_OK, "response headers");
    is_int(feed(&h2c, ND_H2_DATA, 0, 1, "\0\0\0\0\3xyz", 8), ND_OK,
           "response data");
    is_int(e.ended, 0, "not ended before the trailers");
    is_int(feed_headers(&h2c, 1, 0, 1, NULL), ND_OK, "trailers");
    is_int(e.ended, 1, "stream 1 ended");
    ok(e.last == &st[0] && st[0].end == ND_GRPC_H2C_ANSWERED
       && st[0].grpc_status == 0 && st[0].http_status == 200,
       "answered, grpc-status 0");
    ok(nd_buf_size(&st[0].in) == 8
       && memcmp(nd_buf_start(&st[0].in), "\0\0\0\0\3xyz", 8) == 0,
       "response message kept");
    is_str(frames(&e), "HEADERS:5:4:68 DATA:5:1:12 ",
           "a slot freed: stream 5 opens (ids odd and increasing)");

    /* stream 3: trailers-only, an error status */
    is_int(feed_headers(&h2c, 3, 13, 0, "boom"), ND_OK, "trailers-only");
    ok(e.last == &st[1] && st[1].end == ND_GRPC_H2C_ANSWERED
       && st[1].grpc_status == 13, "grpc-status 13 seen");
    is_str(st[1].message, "boom", "grpc-message kept");
    is_str(frames(&e), "HEADERS:7:4:68 DATA:7:1:13 ", "stream 7 opens");

    /* RST_STREAM: an error, and REFUSED_STREAM: retryable */
    is_int(feed32(&h2c, ND_H2_RST_STREAM, 5, ND_H2_INTERNAL_ERROR), ND_OK,
           "RST_STREAM read");
    ok(e.last == &st[2] && st[2].end == ND_GRPC_H2C_RESET
       && st[2].code == ND_H2_INTERNAL_ERROR, "reset stream ended RESET");
    is_int(feed32(&h2c, ND_H2_RST_STREAM, 7, ND_H2_REFUSED_STREAM), ND_OK,
           "RST_STREAM REFUSED_STREAM read");
    ok(e.last == &st[3] && st[3].end == ND_GRPC_H2C_REFUSED,
       "refused stream ended REFUSED");
    is_int(nd_grpc_h2c_streams(&h2c), 0, "no stream left");

    /* frames for a stream that ended are dropped, not errors */
    is_int(feed_headers(&h2c, 5, 0, 0, NULL), ND_OK,
           "HEADERS for a reset stream: dropped");
    is_int(feed(&h2c, ND_H2_DATA, 0, 7, "\0\0\0\0\0", 5), ND_OK,
           "DATA for a refused stream: dropped");

    /* PING is answered with the same bytes */
    is_int(feed(&h2c, ND_H2_PING, 0, 0, "12345678", 8), ND_OK, "PING read");
    ok(next(&e, &f) && f.type == ND_H2_PING && f.flags == ND_H2_ACK
       && f.len == 8 && memcmp(f.p, "12345678", 8) == 0, "PING ack");

    done(&e, &h2c, st, 4);
}


/* a bi-stream (libnacos): its own path, no END_STREAM from us, more
 * messages after submit, each DATA that comes reported as it comes */
static void
test_bidi(void)
{
    char                   fields[1024];
    u_char                 tmp[4096];
    env_t                  e;
    frame_t                f;
    nd_hpack_t             dec;
    nd_grpc_h2c_t          h2c;
    nd_grpc_h2c_stream_t   st;

    session(&e, &h2c, 0, 4096);
    frames(&e);
    stream_init(&st, 5);
    st.path = "/BiRequestStream/requestBiStream";
    st.bidi = 1;
    is_int(nd_grpc_h2c_submit(&h2c, &st), ND_OK, "bidi submit");
    feed_settings(&h2c, 0, 0);
    ok(next(&e, &f) && f.type == ND_H2_SETTINGS && f.flags == ND_H2_ACK,
       "SETTINGS acknowledged");

    ok(next(&e, &f) && f.type == ND_H2_HEADERS && f.sid == 1, "HEADERS");
    nd_hpack_init(&dec, 4096);
    fields[0] = '\0';
    nd_hpack_decode(&dec, f.p, f.len, tmp, sizeof(tmp), emit, fields);
    ok(strstr(fields, ":path=/BiRequestStream/requestBiStream;") != NULL,
       "the stream's own path");
    nd_hpack_free(&dec);
    is_str(frames(&e), "DATA:1:0:5 ", "its message without END_STREAM");

    nd_buf_append(&st.out, "more!", 5);
    nd_grpc_h2c_send(&h2c);
    is_str(frames(&e), "DATA:1:0:5 ", "a later message goes out the same way");
    nd_grpc_h2c_send(&h2c);
    is_str(frames(&e), "", "nothing to send: no empty DATA");

    feed_headers(&h2c, 1, -1, 0, NULL);
    feed(&h2c, ND_H2_DATA, 0, 1, "\0\0\0\0\2ab", 7);
    is_int(e.messages, 1, "DATA reported to the message handler");
    is_int((int) e.seen, 7, "with what came so far in st->in");
    feed(&h2c, ND_H2_DATA, 0, 1, "\0\0\0\0\1c", 6);
    is_int(e.messages, 2, "each DATA frame reported");
    is_int(e.ended, 0, "the stream lives on");

    feed_headers(&h2c, 1, 0, 1, NULL);
    is_int(e.ended, 1, "it ends with the server's trailers");
    ok(st.end == ND_GRPC_H2C_ANSWERED, "answered");

    done(&e, &h2c, &st, 1);
}


static void
test_send_flow(void)
{
    env_t                  e;
    frame_t                f;
    nd_grpc_h2c_t          h2c;
    nd_grpc_h2c_stream_t   st[2];
    size_t                 total;

    /* a request larger than the stream window waits for WINDOW_UPDATE */
    session(&e, &h2c, 0, 4096);
    frames(&e);
    feed_settings(&h2c, ND_H2_SET_WINDOW, 10);
    is_str(frames(&e), "SETTINGS:0:1:0 ", "ack");

    stream_init(&st[0], 30);
    nd_grpc_h2c_submit(&h2c, &st[0]);
    nd_grpc_h2c_send(&h2c);
    is_str(frames(&e), "HEADERS:1:4:68 DATA:1:0:10 ",
           "10 bytes: the stream window, no END_STREAM");
    nd_grpc_h2c_send(&h2c);
    is_str(frames(&e), "", "then it waits");

    feed32(&h2c, ND_H2_WINDOW_UPDATE, 1, 5);
    is_str(frames(&e), "DATA:1:0:5 ", "WINDOW_UPDATE 5: 5 more");
    feed_settings(&h2c, ND_H2_SET_WINDOW, 25);
    is_str(frames(&e), "SETTINGS:0:1:0 DATA:1:1:15 ",
           "INITIAL_WINDOW_SIZE raised by 15: the last 15 with END_STREAM");
    ok(st[0].local, "request ended");

    /* the connection window, and MAX_FRAME_SIZE */
    feed_settings(&h2c, ND_H2_SET_WINDOW, 1 << 20);
    frames(&e);
    stream_init(&st[1], 70000);
    nd_grpc_h2c_submit(&h2c, &st[1]);
    nd_grpc_h2c_send(&h2c);
    total = 0;
    while (next(&e, &f)) {
        if (f.type == ND_H2_DATA) {
            ok(f.len <= 16384, "DATA frame of %zu within MAX_FRAME_SIZE",
               f.len);
            ok(!(f.flags & ND_H2_END_STREAM), "not the end yet");
            total += f.len;
        }
    }
    is_int(total, 65535 - 30, "the connection window's worth went out");
    feed32(&h2c, ND_H2_WINDOW_UPDATE, 0, 100000);
    total = 0;
    while (next(&e, &f)) {
        if (f.type == ND_H2_DATA) {
            total += f.len;
            if (f.flags & ND_H2_END_STREAM) {
                ok(1, "END_STREAM on the last DATA");
            }
        }
    }
    is_int(total, 70000 - (65535 - 30), "the rest after WINDOW_UPDATE");

    /* a window over 2^31 - 1 is a connection error */
    is_int(feed32(&h2c, ND_H2_WINDOW_UPDATE, 0, 0x7fffffff), ND_ERROR,
           "connection window overflow");
    ok(next(&e, &f) && f.type == ND_H2_GOAWAY
       && nd_h2_get32(f.p + 4) == ND_H2_FLOW_CONTROL,
       "GOAWAY FLOW_CONTROL_ERROR");

    done(&e, &h2c, st, 2);
}


static void
test_recv_flow(void)
{
    u_char                 big[2000];
    env_t                  e;
    nd_grpc_h2c_t          h2c;
    nd_grpc_h2c_stream_t   st[3];

    /* our stream window 1000: WINDOW_UPDATE once half of it came */
    session(&e, &h2c, 1000, 1000);
    feed_settings(&h2c, 0, 0);
    stream_init(&st[0], 5);
    stream_init(&st[1], 5);
    stream_init(&st[2], 5);
    nd_grpc_h2c_submit(&h2c, &st[0]);
    nd_grpc_h2c_submit(&h2c, &st[1]);
    nd_grpc_h2c_submit(&h2c, &st[2]);
    nd_grpc_h2c_send(&h2c);
    frames(&e);

    memset(big, 0, sizeof(big));
    feed_headers(&h2c, 1, -1, 0, NULL);
    feed(&h2c, ND_H2_DATA, 0, 1, big, 400);
    is_str(frames(&e), "", "400 of 1000: no WINDOW_UPDATE yet");
    feed(&h2c, ND_H2_DATA, 0, 1, big, 200);
    is_str(frames(&e), "WU:1:0:4 ", "600 of 1000: WINDOW_UPDATE");
    ok(e.out.len >= 4 && nd_h2_get32(e.out.data + e.out.len - 4) == 600,
       "for the 600 bytes consumed");

    /* padded DATA: padding counts against the window, not the message */
    {
        u_char  pad[11] = { 4, 'a', 'b', 'c', 'd', 'e', 'f', 0, 0, 0, 0 };
        feed(&h2c, ND_H2_DATA, ND_H2_PADDED, 1, pad, sizeof(pad));
        is_int(nd_buf_size(&st[0].in), 606, "padding stripped");
    }

    /* over the stream window: a stream error */
    feed_headers(&h2c, 3, -1, 0, NULL);
    feed(&h2c, ND_H2_DATA, 0, 3, big, 1001);
    ok(e.last == &st[1] && st[1].end == ND_GRPC_H2C_BAD,
       "one byte over the stream window: the stream fails");
    is_str(frames(&e), "RST:3:0:4 ", "RST_STREAM");
    ok(nd_h2_get32(e.out.data + e.out.len - 4) == ND_H2_FLOW_CONTROL,
       "FLOW_CONTROL_ERROR");

    /* over max_message: the stream fails, not the connection */
    feed_headers(&h2c, 5, -1, 0, NULL);
    feed(&h2c, ND_H2_DATA, 0, 5, big, 600);
    feed(&h2c, ND_H2_DATA, 0, 5, big, 405);
    is_int(nd_buf_size(&st[2].in), 1005, "max_message + 5 bytes kept");
    is_int(e.ended, 1, "no more stream ended");
    feed(&h2c, ND_H2_DATA, 0, 5, big, 1);
    ok(e.last == &st[2] && st[2].end == ND_GRPC_H2C_BAD,
       "a response over max_message fails its stream");
    is_str(st[2].message, "response over max_message_size", "and says so");
    ok(!h2c.failed, "the connection goes on");

    done(&e, &h2c, st, 3);
}


static void
test_goaway(void)
{
    int                    i;
    env_t                  e;
    nd_grpc_h2c_t          h2c;
    nd_grpc_h2c_stream_t   st[5], extra;

    session(&e, &h2c, 0, 4096);
    feed_settings(&h2c, ND_H2_SET_STREAMS, 3);
    for (i = 0; i < 5; i++) {
        stream_init(&st[i], 4);
        nd_grpc_h2c_submit(&h2c, &st[i]);
    }
    nd_grpc_h2c_send(&h2c);
    frames(&e);
    is_int(h2c.nopen, 3, "streams 1, 3, 5 open");

    {
        u_char  g[8];
        nd_h2_put32(g, 3);
        nd_h2_put32(g + 4, ND_H2_NO_ERROR);
        is_int(feed(&h2c, ND_H2_GOAWAY, 0, 0, g, 8), ND_OK, "GOAWAY read");
    }
    is_int(e.goaways, 1, "GOAWAY told");
    is_int(e.goaway_last, 3, "with its last stream id");
    is_int(e.ended, 3, "stream 5 and the two pending ended");
    ok(st[2].end == ND_GRPC_H2C_REFUSED && st[2].id == 5,
       "stream 5 (above the last id) REFUSED: retryable");
    ok(st[3].end == ND_GRPC_H2C_REFUSED && st[3].id == 0
       && st[4].end == ND_GRPC_H2C_REFUSED, "never-sent streams REFUSED");
    is_int(nd_grpc_h2c_streams(&h2c), 2, "streams 1 and 3 go on");

    stream_init(&extra, 4);
    is_int(nd_grpc_h2c_submit(&h2c, &extra), ND_DECLINED,
           "no new stream after GOAWAY");
    nd_grpc_h2c_send(&h2c);
    is_str(frames(&e), "", "nothing opened");

    feed_headers(&h2c, 3, 0, 0, NULL);
    ok(e.last == &st[1] && st[1].end == ND_GRPC_H2C_ANSWERED,
       "stream 3 (at the last id) still answered");

    /* cancel: RST_STREAM CANCEL, and no end call */
    e.ended = 0;
    nd_grpc_h2c_cancel(&h2c, &st[0]);
    is_str(frames(&e), "RST:1:0:4 ", "cancel sends RST_STREAM");
    is_int(e.ended, 0, "no end call for a cancelled stream");
    is_int(nd_grpc_h2c_streams(&h2c), 0, "none left");

    done(&e, &h2c, st, 5);
    nd_grpc_h2c_stream_free(&extra);
}


/* one connection error: GOAWAY with code, every stream LOST */
static void
bad(const char *what, uint32_t code, const u_char *bytes, size_t len,
    int settings_first)
{
    env_t                  e;
    frame_t                f;
    nd_grpc_h2c_t          h2c;
    nd_grpc_h2c_stream_t   st;
    int                    rc;

    session(&e, &h2c, 0, 4096);
    if (settings_first) {
        feed_settings(&h2c, 0, 0);
        stream_init(&st, 4);
        nd_grpc_h2c_submit(&h2c, &st);
        nd_grpc_h2c_send(&h2c);
    } else {
        stream_init(&st, 4);
        nd_grpc_h2c_submit(&h2c, &st);
    }
    frames(&e);

    rc = nd_grpc_h2c_recv(&h2c, bytes, len);
    is_int(rc, ND_ERROR, "%s: a connection error", what);
    ok(next(&e, &f) && f.type == ND_H2_GOAWAY && f.len == 8
       && nd_h2_get32(f.p + 4) == code, "%s: GOAWAY error %u", what,
       (unsigned) code);
    ok(e.ended == 1 && st.end == (settings_first ? ND_GRPC_H2C_LOST
                                                 : ND_GRPC_H2C_REFUSED),
       "%s: the stream ended", what);
    is_int(nd_grpc_h2c_recv(&h2c, (u_char *) "x", 1), ND_ERROR,
           "%s: nothing read after it", what);
    is_int(nd_grpc_h2c_submit(&h2c, &st), ND_DECLINED,
           "%s: no new stream", what);

    done(&e, &h2c, &st, 1);
}


static void
test_bad(void)
{
    u_char  b[64];

    /* first frame not SETTINGS */
    nd_grpc_h2_head(b, 8, ND_H2_PING, 0, 0);
    memset(b + 9, 0, 8);
    bad("PING first", ND_H2_PROTOCOL_ERROR, b, 17, 0);

    nd_grpc_h2_head(b, 4, ND_H2_DATA, 0, 0);
    bad("DATA on stream 0", ND_H2_PROTOCOL_ERROR, b, 13, 1);

    nd_grpc_h2_head(b, 1, ND_H2_HEADERS, ND_H2_END_HEADERS, 9);
    b[9] = 0x88;
    bad("HEADERS on a stream never opened", ND_H2_PROTOCOL_ERROR, b, 10, 1);

    nd_grpc_h2_head(b, 1, ND_H2_HEADERS, ND_H2_END_HEADERS, 2);
    bad("HEADERS on an even stream", ND_H2_PROTOCOL_ERROR, b, 10, 1);

    nd_grpc_h2_head(b, 3, ND_H2_HEADERS, ND_H2_END_HEADERS, 1);
    b[9] = 0xff;                        /* an index with no end */
    b[10] = 0xff;
    b[11] = 0xff;
    bad("bad HPACK", ND_H2_COMPRESSION, b, 12, 1);

    nd_grpc_h2_head(b, 20000, ND_H2_DATA, 0, 1);
    bad("frame over MAX_FRAME_SIZE", ND_H2_FRAME_SIZE, b, 9, 1);

    nd_grpc_h2_head(b, 7, ND_H2_PING, 0, 0);
    bad("PING of 7 bytes", ND_H2_FRAME_SIZE, b, 16, 1);

    nd_grpc_h2_head(b, 4, ND_H2_PUSH_PROMISE, ND_H2_END_HEADERS, 1);
    bad("PUSH_PROMISE", ND_H2_PROTOCOL_ERROR, b, 13, 1);

    nd_grpc_h2_head(b, 6, ND_H2_SETTINGS, 0, 0);
    b[9] = 0;
    b[10] = ND_H2_SET_FRAME_SIZE;
    nd_h2_put32(b + 11, 100);
    bad("MAX_FRAME_SIZE 100", ND_H2_PROTOCOL_ERROR, b, 15, 1);

    nd_grpc_h2_head(b, 4, ND_H2_WINDOW_UPDATE, 0, 0);
    nd_h2_put32(b + 9, 0);
    bad("WINDOW_UPDATE of 0", ND_H2_PROTOCOL_ERROR, b, 13, 1);

    nd_grpc_h2_head(b, 1, ND_H2_HEADERS, 0, 1);     /* no END_HEADERS */
    b[9] = 0x88;
    nd_grpc_h2_head(b + 10, 8, ND_H2_PING, 0, 0);
    memset(b + 19, 0, 8);
    bad("PING inside a header block", ND_H2_PROTOCOL_ERROR, b, 27, 1);
}


/* a response split into one-byte reads, with CONTINUATION */
static void
test_split(void)
{
    size_t                 i, n;
    u_char                 b[256], *p;
    env_t                  e;
    nd_grpc_h2c_t          h2c;
    nd_grpc_h2c_stream_t   st;

    session(&e, &h2c, 0, 4096);
    stream_init(&st, 3);
    nd_grpc_h2c_submit(&h2c, &st);

    p = b;
    nd_grpc_h2_head(p, 0, ND_H2_SETTINGS, 0, 0);
    p += 9;
    nd_grpc_h2_head(p, 1, ND_H2_HEADERS, 0, 1);
    p[9] = 0x88;
    p += 10;
    nd_grpc_h2_head(p, 18, ND_H2_CONTINUATION, ND_H2_END_HEADERS, 1);
    p[9] = 0x5f;                        /* content-type (31), indexed */
    p[10] = 16;
    memcpy(p + 11, "application/grpc", 16);
    p += 27;
    nd_grpc_h2_head(p, 7, ND_H2_DATA, 0, 1);
    memcpy(p + 9, "\0\0\0\0\2hi", 7);
    p += 16;
    nd_grpc_h2_head(p, 15, ND_H2_HEADERS, ND_H2_END_HEADERS | ND_H2_END_STREAM,
                    1);
    p += 9;
    p = nd_hpack_encode_literal(p, (u_char *) "grpc-status", 11,
                                (u_char *) "0", 1);
    n = (size_t) (p - b);

    for (i = 0; i < n; i++) {
        if (nd_grpc_h2c_recv(&h2c, b + i, 1) != ND_OK) {
            break;
        }
    }
    is_int(i, n, "every byte read, one at a time");
    ok(e.ended == 1 && st.end == ND_GRPC_H2C_ANSWERED && st.grpc_status == 0,
       "the response came whole");
    ok(nd_buf_size(&st.in) == 7
       && memcmp(nd_buf_start(&st.in), "\0\0\0\0\2hi", 7) == 0,
       "with its message");

    done(&e, &h2c, &st, 1);
}


/* a write that fails fails the session */
static void
test_write_fails(void)
{
    env_t                  e;
    nd_grpc_h2c_t          h2c;
    nd_grpc_h2c_stream_t   st;

    session(&e, &h2c, 0, 4096);
    feed_settings(&h2c, 0, 0);
    stream_init(&st, 4);
    nd_grpc_h2c_submit(&h2c, &st);
    e.fail_writes = 1;
    is_int(nd_grpc_h2c_send(&h2c), ND_ERROR, "send reports the failure");
    ok(h2c.failed, "the session failed");
    nd_grpc_h2c_fail(&h2c, ND_GRPC_H2C_LOST);
    ok(e.ended == 1 && st.end == ND_GRPC_H2C_LOST, "fail ends the stream");

    done(&e, &h2c, &st, 1);
}


/* seeded mutations of a valid answer: no crash, no leak, and every
 * stream ends exactly once (ASan and UBSan watch the rest) */
static void
test_mutations(void)
{
    int                    round, i, ends, bad_ends;
    size_t                 n, k;
    u_char                 good[512], b[512], *p;
    env_t                  e;
    nd_grpc_h2c_t          h2c;
    nd_grpc_h2c_stream_t   st[3];

    /* SETTINGS, answers to streams 1 and 3, a PING, a WINDOW_UPDATE */
    p = good;
    nd_grpc_h2_head(p, 6, ND_H2_SETTINGS, 0, 0);
    p[9] = 0;
    p[10] = ND_H2_SET_STREAMS;
    nd_h2_put32(p + 11, 2);
    p += 15;
    for (i = 1; i <= 3; i += 2) {
        nd_grpc_h2_head(p, 1, ND_H2_HEADERS, ND_H2_END_HEADERS, i);
        p[9] = 0x88;
        p += 10;
        nd_grpc_h2_head(p, 7, ND_H2_DATA, 0, i);
        memcpy(p + 9, "\0\0\0\0\2hi", 7);
        p += 16;
        nd_grpc_h2_head(p, 15, ND_H2_HEADERS,
                        ND_H2_END_HEADERS | ND_H2_END_STREAM, i);
        p = nd_hpack_encode_literal(p + 9, (u_char *) "grpc-status", 11,
                                    (u_char *) "0", 1);
    }
    nd_grpc_h2_head(p, 8, ND_H2_PING, 0, 0);
    memcpy(p + 9, "pingpong", 8);
    p += 17;
    nd_grpc_h2_frame32(p, ND_H2_WINDOW_UPDATE, 0, 1000);
    p += 13;
    n = (size_t) (p - good);

    srandom(20261206);
    bad_ends = 0;

    for (round = 0; round < 3000; round++) {
        memcpy(b, good, n);
        for (k = 1 + (size_t) random() % 4; k > 0; k--) {
            b[(size_t) random() % n] = (u_char) random();
        }

        session(&e, &h2c, 0, 64);
        for (i = 0; i < 3; i++) {
            stream_init(&st[i], 8);
            nd_grpc_h2c_submit(&h2c, &st[i]);
        }

        /* in random pieces */
        for (k = 0; k < n; ) {
            size_t  piece = 1 + (size_t) random() % 40;
            piece = nd_min(piece, n - k);
            if (nd_grpc_h2c_recv(&h2c, b + k, piece) != ND_OK) {
                break;
            }
            k += piece;
        }

        nd_grpc_h2c_fail(&h2c, ND_GRPC_H2C_LOST);
        ends = e.ended;
        if (ends != 3) {
            bad_ends++;
        }
        done(&e, &h2c, st, 3);
    }

    is_int(bad_ends, 0, "3000 mutated answers: every stream ended once");
}


int
main(void)
{
    test_session();
    test_bidi();
    test_send_flow();
    test_recv_flow();
    test_goaway();
    test_bad();
    test_split();
    test_write_fails();
    test_mutations();

    return done_testing();
}

#else

int
main(void)
{
    printf("1..0 # SKIP built without the grpc module\n");
    return 0;
}

#endif

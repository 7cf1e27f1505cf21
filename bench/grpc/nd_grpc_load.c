/*
 * nd_grpc_load: a Nacos gRPC load generator for bench/ (not part of the
 * server).  Each connection does the real handshake (ServerCheckRequest,
 * bi-stream, ConnectionSetupRequest), then keeps `depth` unary calls in
 * flight for `seconds`, and reports calls/s and latency percentiles.
 *
 *   nd_grpc_load -p PORT [-c conns] [-d depth] [-t seconds]
 *                [-T RequestType] [-b 'json with %n for a counter']
 *   nd_grpc_load -p PORT -c N -I      open N registered connections,
 *                                     print "ready", hold until stdin ends
 *   nd_grpc_load -p PORT -c N -F SERVICE [-k changes] [-C]
 *                                     fan-out: every connection subscribes
 *                                     to SERVICE; connection 0 registers a
 *                                     new instance per change; prints the
 *                                     time from the register sent to the
 *                                     last subscriber's push (p50/p99
 *                                     over the changes); with -C the
 *                                     connections listen to config
 *                                     SERVICE (ConfigBatchListenRequest)
 *                                     and connection 0 publishes it
 *   nd_grpc_load -p PORT -P PORT2,PORT3 -c N -F SERVICE -C [-k changes]
 *                                     the same over several nodes:
 *                                     connection i dials the (i mod
 *                                     ports)th of PORT, PORT2, ...
 *                                     (connection 0, the publisher, is
 *                                     on PORT); prints besides, first,
 *                                     "listeners" p50/p99/max over every
 *                                     listener of every change and the
 *                                     last listener's p50/p99 over the
 *                                     changes, all from the publish sent,
 *                                     with the notifications lost (a
 *                                     change not seen within -w seconds,
 *                                     default 30: counted, not fatal) and
 *                                     duplicated
 *   nd_grpc_load -p PORT -N [-c conns] [-d depth] [-t seconds] [-T ...]
 *                                     unary calls on a cluster RPC port:
 *                                     no ServerCheck, no bi-stream, no
 *                                     ConnectionSetupRequest
 *   nd_grpc_load -p PORT -R PORT2 [-k registrations] [-m services]
 *                                     replication: a connection to PORT2
 *                                     subscribes to `services` services,
 *                                     a connection to PORT registers one
 *                                     new instance at a time in them
 *                                     (round robin; as a 2.x client, it
 *                                     holds one instance a service, so a
 *                                     register replaces its previous one
 *                                     there); prints the time from each
 *                                     register sent to the push carrying
 *                                     it arriving on PORT2 (p50/p99/max)
 *   nd_grpc_load -p PORT -S [-c conns] [-t seconds]
 *                                     setup churn: each of `conns` slots
 *                                     dials, does the handshake with an
 *                                     empty abilityTable, waits for the
 *                                     server's SetupAckRequest (accepted)
 *                                     or ConnectResetRequest (refused),
 *                                     closes and dials again; prints
 *                                     setups/s (connection i states
 *                                     client IP 10.9.x.y and AppName
 *                                     app-(i mod 10))
 *   nd_grpc_load -p PORT -B SERVICE [-k changes]
 *                                     burst: connection 1 subscribes to
 *                                     SERVICE, connection 0 sends `changes`
 *                                     registrations of it at once (each a
 *                                     new ip: the last one is the final
 *                                     state); prints the pushes connection
 *                                     1 got, and when the final state came
 *                                     (from the last answer)
 *
 *   nd_grpc_load -p PORT -E PREFIX [-v bytes] [-L lease] [-n calls]
 *                [-c conns] [-d depth] [-t seconds]
 *                                     etcd v3 (the peer of bench/65-etcd):
 *                                     unary etcdserverpb.KV/Put of key
 *                                     PREFIX<counter>, a value of `bytes`
 *                                     (default 1024), attached to lease
 *                                     ID `lease` when given; no Nacos
 *                                     handshake
 *   nd_grpc_load -p PORT -W KEY -c N [-k changes]
 *                                     etcd v3 watch fan-out (the peer of
 *                                     -F -C): every connection opens an
 *                                     etcdserverpb.Watch/Watch bi-stream
 *                                     watching KEY; connection 0 puts a
 *                                     new value of KEY per change; prints
 *                                     the time from the Put sent to the
 *                                     last watcher's event carrying that
 *                                     value (the "fanout" line of -F)
 *   -n calls (any unary mode)         stop after that many calls in all
 *                                     (loading N entries), or at -t
 *   -X PID (-F)                       print the CPU time of process PID
 *                                     (every thread: the server) over the
 *                                     changes, a line before the last
 *   -M wrap                           %n counts 0 .. wrap-1, then again
 *   -G seconds (-F, -W)               the pause after a change's pushes
 *                                     and their answers, before the next
 *                                     change (default 0.2: the server has
 *                                     read the answers)
 *
 * A call answered with a grpc-status other than 0 counts as failed.
 *
 * The Payload protobuf is tiny and encoded by hand here:
 *   Payload { metadata(2) { type(3) }, body(3) Any { value(2) } }
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <nghttp2/nghttp2.h>

typedef struct conn_s  conn_t;

typedef struct {
    conn_t    *c;
    uint8_t   *out;
    size_t     len, pos;
    double     start;
    int        kind;          /* 0 unary, 1 bi-stream */
    int        failed;        /* grpc-status other than 0 */
} stream_t;

struct conn_s {
    int               fd;
    nghttp2_session  *s;
    int               ready;   /* setup sent */
    int               inflight;
    stream_t         *bidi;
    int32_t           bidi_id;
    uint8_t          *in;      /* bi-stream bytes received */
    size_t            inlen, incap;
    long              seen;    /* newest change this connection got */
    int               acked;   /* -S: 1 SetupAck, 2 ConnectReset */
    int               slot;
    int               dirty;   /* an answer waits in fan_dirty */
};

static const char  *req_type = "HealthCheckRequest";
static const char  *req_body = "{}";
static int          depth = 16, port;
static double       duration = 5, t_end;
static long         done_calls, failed_calls, counter;
static double      *lat;
static size_t       nlat, caplat;
static const char  *fan_service;
static int          fan_config;      /* -C: config listeners, not naming */
static long         fan_change;      /* the change being waited for */
static char         fan_marker[64];  /* its instance ip, in the push */
static long         fan_left;        /* connections still without it */
static double       fan_sent;        /* when the change was sent */
static double      *fan_lat;         /* -P: per listener and change, ms */
static size_t       fan_nlat;
static long         fan_dup;         /* notifies beyond one a change */
static int          nports = 1, ports[8];
static double       wait_s = 30;     /* -w: a change's notifies, -P */
static double       settle_s = 0.2;  /* -G: a pause after each change */
/* while a change spreads, the answers to the pushes are queued and sent
 * once every connection has it: one process plays 10,000 clients on one
 * CPU here, and answering in between would make the last reader wait for
 * the client's own writes rather than for the server */
static int          fan_defer;
static conn_t     **fan_dirty;
static int          ndirty;
static int          no_setup;        /* -N: a cluster port */
static int          churn;           /* -S */
static int          churn_slot;      /* the slot dial() serves */
static const char  *burst_service;   /* -B */
static long         burst_pushes;    /* NotifySubscriberRequests counted */
static double       burst_final;     /* when the final state came */
static const char  *etcd_prefix;     /* -E: etcd KV/Put calls */
static size_t       etcd_vlen = 1024;/* -v */
static uint64_t     etcd_lease;      /* -L */
static const char  *etcd_watch;      /* -W: the watched key */
static long         max_calls;       /* -n: 0 = until -t */
static long         counter_wrap;    /* -M: %n counts 0 .. M-1 again and
                                        again (0: never) */
static long         submitted;       /* timed calls sent, for -n */
static int          cpu_pid;         /* -X: the server, for its CPU */
static char         answer[64];      /* the type of the first unary answer
                                      * of the timed calls (-N and plain) */


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static size_t
varint(uint8_t *p, uint64_t v)
{
    size_t  n = 0;

    while (v >= 0x80) {
        p[n++] = (uint8_t) (v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t) v;
    return n;
}


/* the 5-byte gRPC prefix of the message buf + 5 .. end; the frame's
 * length */
static size_t
prefix(uint8_t *buf, const uint8_t *end)
{
    size_t  n = (size_t) (end - buf - 5);

    buf[0] = 0;
    buf[1] = (uint8_t) (n >> 24);
    buf[2] = (uint8_t) (n >> 16);
    buf[3] = (uint8_t) (n >> 8);
    buf[4] = (uint8_t) n;
    return n + 5;
}

static char  frame_ip[32];           /* -S: Metadata.clientIp */

/* 5-byte gRPC prefix + Payload */
static uint8_t *
frame(const char *type, const char *json, size_t *len)
{
    size_t    tl = strlen(type), jl = strlen(json), m, b, a, il;
    uint8_t   meta[512], any[16], *buf, *p;

    /* Metadata { type = 3, clientIp = 8 } */
    m = 0;
    meta[m++] = (3 << 3) | 2;
    m += varint(meta + m, tl);
    memcpy(meta + m, type, tl);
    m += tl;
    il = strlen(frame_ip);
    if (il) {
        meta[m++] = (8 << 3) | 2;
        m += varint(meta + m, il);
        memcpy(meta + m, frame_ip, il);
        m += il;
    }

    /* Any { value = 2 } header (type_url left empty) */
    a = 0;
    any[a++] = (2 << 3) | 2;
    a += varint(any + a, jl);
    b = a + jl;                             /* Any size */

    buf = malloc(5 + 16 + m + 16 + b);
    p = buf + 5;
    *p++ = (2 << 3) | 2;
    p += varint(p, m);
    memcpy(p, meta, m);
    p += m;
    *p++ = (3 << 3) | 2;
    p += varint(p, b);
    memcpy(p, any, a);
    p += a;
    memcpy(p, json, jl);
    p += jl;

    *len = prefix(buf, p);
    return buf;
}


/* 5-byte gRPC prefix + etcdserverpb.PutRequest { key(1) value(2)
 * lease(3) }, the value vlen bytes of value, or of 'x' when NULL */
static uint8_t *
etcd_kv_frame(const char *key, const char *value, size_t vlen,
    uint64_t lease, size_t *len)
{
    size_t    kl = strlen(key);
    uint8_t  *buf, *p;

    buf = malloc(5 + 12 + kl + 12 + vlen + 12);
    p = buf + 5;
    *p++ = (1 << 3) | 2;
    p += varint(p, kl);
    memcpy(p, key, kl);
    p += kl;
    *p++ = (2 << 3) | 2;
    p += varint(p, vlen);
    if (value) {
        memcpy(p, value, vlen);
    } else {
        memset(p, 'x', vlen);
    }
    p += vlen;
    if (lease) {
        *p++ = (3 << 3) | 0;
        p += varint(p, lease);
    }

    *len = prefix(buf, p);
    return buf;
}


/* the Put of the timed calls: key PREFIX<n> */
static uint8_t *
etcd_put_frame(long n, size_t *len)
{
    char  key[128];

    snprintf(key, sizeof(key), "%s%ld", etcd_prefix, n);
    return etcd_kv_frame(key, NULL, etcd_vlen, etcd_lease, len);
}


/* WatchRequest { create_request(1) WatchCreateRequest { key(1) } } */
static uint8_t *
etcd_watch_frame(const char *key, size_t *len)
{
    size_t    kl = strlen(key), n;
    uint8_t   inner[256], *buf, *p;

    if (kl > sizeof(inner) - 16) {
        fprintf(stderr, "-W: the key is too long\n");
        exit(2);
    }

    n = 0;
    inner[n++] = (1 << 3) | 2;
    n += varint(inner + n, kl);
    memcpy(inner + n, key, kl);
    n += kl;

    buf = malloc(5 + 12 + n);
    p = buf + 5;
    *p++ = (1 << 3) | 2;
    p += varint(p, n);
    memcpy(p, inner, n);
    p += n;

    *len = prefix(buf, p);
    return buf;
}


static ssize_t
read_cb(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
    uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    (void) s; (void) id; (void) ud;

    stream_t  *st = src->ptr;
    size_t     n = st->len - st->pos;

    if (n > length) {
        n = length;
    }
    memcpy(buf, st->out + st->pos, n);
    st->pos += n;

    if (st->pos == st->len) {
        if (st->kind == 0) {
            *flags |= NGHTTP2_DATA_FLAG_EOF;
        } else if (n == 0) {
            return NGHTTP2_ERR_DEFERRED;
        }
    }
    return (ssize_t) n;
}


/* the bytes of field `want` (length-delimited) in a protobuf message */
static const uint8_t *
pb_field(const uint8_t *p, size_t len, unsigned want, size_t *flen)
{
    const uint8_t  *end = p + len;

    while (p < end) {
        uint64_t  key = 0, v = 0;
        int       sh = 0;

        while (p < end && (*p & 0x80)) { key |= (uint64_t) (*p++ & 0x7f) << sh; sh += 7; }
        if (p == end) return NULL;
        key |= (uint64_t) *p++ << sh;

        switch (key & 7) {
        case 0:
            while (p < end && (*p++ & 0x80)) { }
            break;
        case 2:
            sh = 0;
            while (p < end && (*p & 0x80)) { v |= (uint64_t) (*p++ & 0x7f) << sh; sh += 7; }
            if (p == end) return NULL;
            v |= (uint64_t) *p++ << sh;
            if ((uint64_t) (end - p) < v) return NULL;
            if ((key >> 3) == want) { *flen = (size_t) v; return p; }
            p += v;
            break;
        default:
            return NULL;
        }
    }
    return NULL;
}


/* a server push on the bi-stream: answer it as the SDK does, and note
 * whether it carries the change being waited for */
static const uint8_t *pb_field(const uint8_t *p, size_t len, unsigned want,
    size_t *flen);


/* a WatchResponse: the first one says the watch is created; later ones
 * carry events(11) { kv(2) { value(5) } } */
static void
on_watch(conn_t *c, const uint8_t *msg, size_t len)
{
    size_t          el, kl, vl, off;
    const uint8_t  *ev, *kv, *val;

    if (!c->acked) {
        c->acked = 1;
        done_calls++;
    }

    /* each event is one field 11; look at every one */
    for (off = 0; off < len; off += (size_t) (ev - (msg + off)) + el) {
        ev = pb_field(msg + off, len - off, 11, &el);
        if (ev == NULL) {
            break;
        }
        kv = pb_field(ev, el, 2, &kl);
        val = kv ? pb_field(kv, kl, 5, &vl) : NULL;
        if (fan_change && val && vl == strlen(fan_marker)
            && memcmp(val, fan_marker, vl) == 0 && c->seen < fan_change)
        {
            c->seen = fan_change;
            fan_left--;
        }
    }
}


static void
on_push(conn_t *c, const uint8_t *msg, size_t len)
{
    size_t          ml, tl, bl, vl;
    const uint8_t  *meta, *type, *body, *val;
    char            json[256], rid[32];
    const char     *r;
    uint8_t        *out;
    size_t          olen;
    stream_t       *st = c->bidi;

    meta = pb_field(msg, len, 2, &ml);
    body = pb_field(msg, len, 3, &bl);
    if (meta == NULL || body == NULL) return;
    type = pb_field(meta, ml, 3, &tl);
    val = pb_field(body, bl, 2, &vl);
    if (type == NULL || val == NULL) return;

    if (churn) {
        if (tl == 15 && memcmp(type, "SetupAckRequest", 15) == 0) {
            c->acked = 1;
        } else if (tl == 19 && memcmp(type, "ConnectResetRequest", 19) == 0) {
            c->acked = 2;
        }
        return;
    }

    if (fan_config) {
        if (tl == 25 && memcmp(type, "ConfigChangeNotifyRequest", 25) == 0) {
            if (fan_lat == NULL) {
                if (++c->seen == fan_change) {  /* one notify per change */
                    fan_left--;
                }
            } else if (fan_change && c->seen < fan_change) {
                c->seen = fan_change;   /* the first notify since the change */
                fan_left--;
                fan_lat[fan_nlat++] = (now() - fan_sent) * 1000;
            } else if (fan_change) {
                fan_dup++;
            }
        }
    } else if (burst_service) {
        if (fan_change && tl == 23
            && memcmp(type, "NotifySubscriberRequest", 23) == 0)
        {
            burst_pushes++;
            if (burst_final == 0
                && memmem(val, vl, fan_marker, strlen(fan_marker)))
            {
                burst_final = now();
            }
        }

    } else if (fan_change
               && memmem(val, vl, fan_marker, strlen(fan_marker)))
    {
        if (c->seen < fan_change) {
            c->seen = fan_change;
            fan_left--;
        }
    }

    r = memmem(val, vl, "\"requestId\":\"", 13);
    if (r == NULL || tl < 7 || memcmp(type + tl - 7, "Request", 7) != 0) {
        return;
    }
    r += 13;
    snprintf(rid, sizeof(rid), "%.*s", (int) strcspn(r, "\""), r);
    snprintf(json, sizeof(json), "{\"resultCode\":200,\"errorCode\":0,"
             "\"success\":true,\"requestId\":\"%s\"}", rid);
    {
        char  rtype[128];

        snprintf(rtype, sizeof(rtype), "%.*sResponse", (int) tl - 7, type);
        out = frame(rtype, json, &olen);
    }

    /* append to what the bi-stream still has to send */
    st->out = realloc(st->out, st->len + olen);
    memcpy(st->out + st->len, out, olen);
    st->len += olen;
    free(out);
    nghttp2_session_resume_data(c->s, c->bidi_id);

    if (fan_defer && !c->dirty) {
        c->dirty = 1;
        fan_dirty[ndirty++] = c;
    }
}


static int
on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
    size_t len, void *ud)
{
    conn_t  *c = ud;
    size_t   n, off;

    (void) s; (void) flags;

    if (id != c->bidi_id) {
        /* one answer is enough to say what the calls get; a whole
         * gRPC message in this chunk, as small answers come */
        if (c->ready && answer[0] == '\0' && len > 5) {
            size_t          ml, tl;
            const uint8_t  *meta, *type;

            meta = pb_field(data + 5, len - 5, 2, &ml);
            type = meta ? pb_field(meta, ml, 3, &tl) : NULL;
            if (type) {
                snprintf(answer, sizeof(answer), "%.*s", (int) tl, type);
            }
        }
        return 0;
    }

    if (c->inlen + len > c->incap) {
        c->incap = (c->inlen + len) * 2;
        c->in = realloc(c->in, c->incap);
    }
    memcpy(c->in + c->inlen, data, len);
    c->inlen += len;

    for (off = 0; c->inlen - off >= 5; off += 5 + n) {
        n = (size_t) c->in[off + 1] << 24 | (size_t) c->in[off + 2] << 16
            | (size_t) c->in[off + 3] << 8 | c->in[off + 4];
        if (c->inlen - off < 5 + n) break;
        if (etcd_watch) {
            on_watch(c, c->in + off + 5, n);
        } else {
            on_push(c, c->in + off + 5, n);
        }
    }
    memmove(c->in, c->in + off, c->inlen - off);
    c->inlen -= off;
    return 0;
}


#define NV(n, v) { (uint8_t *) n, (uint8_t *) v, sizeof(n) - 1,             \
                   sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE }


static void
submit_frame(conn_t *c, const char *path, uint8_t *out, size_t len, int kind);


static void
submit(conn_t *c, const char *path, const char *type, const char *json,
    int kind)
{
    uint8_t  *out;
    size_t    len;

    out = frame(type, json, &len);
    submit_frame(c, path, out, len, kind);
}


static void
submit_frame(conn_t *c, const char *path, uint8_t *out, size_t len, int kind)
{
    stream_t               *st = calloc(1, sizeof(*st));
    nghttp2_data_provider   prd;
    nghttp2_nv              hdr[] = {
        NV(":method", "POST"), NV(":scheme", "http"),
        NV(":authority", "127.0.0.1"), NV(":path", "/Request/request"),
        NV("content-type", "application/grpc"), NV("te", "trailers"),
    };
    int32_t                 id;

    hdr[3].value = (uint8_t *) path;
    hdr[3].valuelen = strlen(path);

    st->c = c;
    st->kind = kind;
    st->out = out;
    st->len = len;
    st->start = now();
    prd.source.ptr = st;
    prd.read_callback = read_cb;

    id = nghttp2_submit_request(c->s, NULL, hdr, 6, &prd, st);
    if (id < 0) {
        fprintf(stderr, "submit: %s\n", nghttp2_strerror(id));
        exit(1);
    }
    if (kind == 1) {
        c->bidi = st;
        c->bidi_id = id;
    } else {
        c->inflight++;
    }
}


static void
next_call(conn_t *c)
{
    char         body[4096];
    const char  *p;
    size_t       n = 0;
    uint8_t     *out;

    if (max_calls && submitted >= max_calls) {
        return;
    }
    submitted++;

    if (etcd_prefix) {
        out = etcd_put_frame(counter++, &n);
        submit_frame(c, "/etcdserverpb.KV/Put", out, n, 0);
        return;
    }

    /* %n in the body becomes a unique counter */
    for (p = req_body; *p && n < sizeof(body) - 24; p++) {
        if (p[0] == '%' && p[1] == 'n') {
            n += (size_t) snprintf(body + n, sizeof(body) - n, "%ld",
                                   counter_wrap ? counter++ % counter_wrap
                                                : counter++);
            p++;
        } else {
            body[n++] = *p;
        }
    }
    body[n] = '\0';

    submit(c, "/Request/request", req_type, body, 0);
}


static int
on_close(nghttp2_session *s, int32_t id, uint32_t err, void *ud)
{
    (void) ud;
    conn_t    *c = ud;
    stream_t  *st = nghttp2_session_get_stream_user_data(s, id);
    double     t;

    if (st == NULL || st->kind == 1) {
        return 0;
    }

    t = now();
    if (err == 0 && !st->failed) {
        done_calls++;
        if (nlat == caplat) {
            caplat = caplat ? caplat * 2 : 1 << 16;
            lat = realloc(lat, caplat * sizeof(double));
        }
        lat[nlat++] = t - st->start;
    } else {
        failed_calls++;
    }
    c->inflight--;
    free(st->out);
    free(st);

    if (c->ready && t < t_end) {
        next_call(c);
    }
    return 0;
}


static int
on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
    size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
    void *ud)
{
    stream_t  *st;

    (void) flags; (void) ud;

    if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0
        && !(valuelen == 1 && value[0] == '0'))
    {
        st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
        if (st != NULL) {
            st->failed = 1;
        }
    }
    return 0;
}


static conn_t *
dial(int to)
{
    int                   one = 1;
    conn_t               *c = calloc(1, sizeof(*c));
    struct sockaddr_in    sa;
    nghttp2_session_callbacks  *cb;

    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t) to);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *) &sa, sizeof(sa)) != 0) {
        perror("connect");
        exit(1);
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(c->fd, F_SETFL, O_NONBLOCK);

    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_client_new(&c->s, cb, c);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, NULL, 0);

    if (no_setup) {
        return c;
    }
    if (churn) {
        char  setup[256];

        snprintf(setup, sizeof(setup), "{\"clientVersion\":\"nd_grpc_load\","
                 "\"labels\":{\"source\":\"sdk\",\"AppName\":\"app-%d\"},"
                 "\"abilityTable\":{}}", churn_slot % 10);
        snprintf(frame_ip, sizeof(frame_ip), "10.9.%d.%d",
                 churn_slot / 250 % 250, churn_slot % 250 + 1);
        submit(c, "/Request/request", "ServerCheckRequest", "{}", 0);
        submit(c, "/BiRequestStream/requestBiStream",
               "ConnectionSetupRequest", setup, 1);
        frame_ip[0] = '\0';
        c->slot = churn_slot;
        return c;
    }
    submit(c, "/Request/request", "ServerCheckRequest", "{}", 0);
    submit(c, "/BiRequestStream/requestBiStream", "ConnectionSetupRequest",
           "{\"clientVersion\":\"nd_grpc_load\",\"labels\":{}}", 1);
    return c;
}


/* write everything nghttp2 has queued, gathered first: a call's HEADERS
 * and DATA leave in one write(), as grpc-go's and Netty's buffered
 * writers send them (one frame a write() would cost the server a second
 * TCP segment and an immediate ACK per call) */
static int
write_all(int fd, const uint8_t *data, size_t len)
{
    ssize_t  k;
    size_t   w;

    for (w = 0; w < len; w += (size_t) k) {
        k = write(fd, data + w, len - w);
        if (k < 0) {
            if (errno != EAGAIN) {
                return -1;
            }
            struct pollfd  p = { fd, POLLOUT, 0 };
            poll(&p, 1, 100);
            k = 0;
        }
    }
    return 0;
}


static int
flush_out(conn_t *c)
{
    static uint8_t   out[65536];
    const uint8_t   *data;
    ssize_t          n;
    size_t           len;

    len = 0;
    while ((n = nghttp2_session_mem_send(c->s, &data)) > 0) {
        if (len + (size_t) n > sizeof(out)) {
            if (write_all(c->fd, out, len) < 0) {
                return -1;
            }
            len = 0;
        }
        if ((size_t) n > sizeof(out)) {
            if (write_all(c->fd, data, (size_t) n) < 0) {
                return -1;
            }
            continue;
        }
        memcpy(out + len, data, (size_t) n);
        len += (size_t) n;
    }
    if (len && write_all(c->fd, out, len) < 0) {
        return -1;
    }
    return n < 0 ? -1 : 0;
}


/* send what is queued, read what arrived, then send what the answers
 * made us queue (new calls), so nothing waits for the next poll */
static int
io(conn_t *c)
{
    uint8_t   buf[65536];
    ssize_t   n;

    if (flush_out(c) < 0) {
        return -1;
    }

    while ((n = read(c->fd, buf, sizeof(buf))) > 0) {
        if (nghttp2_session_mem_recv(c->s, buf, (size_t) n) < 0) {
            return -1;
        }
    }
    if (n == 0) {
        return -1;
    }

    return flush_out(c);
}


/* one readiness: read what is there (a short read means drained: epoll
 * is level-triggered) and answer, unless the answers are deferred */
static int
io_read(conn_t *c)
{
    uint8_t   buf[65536];
    ssize_t   n;

    do {
        n = read(c->fd, buf, sizeof(buf));
        if (n < 0) {
            return errno == EAGAIN ? 0 : -1;
        }
        if (n == 0) {
            return -1;
        }
        if (nghttp2_session_mem_recv(c->s, buf, (size_t) n) < 0) {
            return -1;
        }
    } while ((size_t) n == sizeof(buf));

    return fan_defer ? 0 : flush_out(c);
}


static int
cmp(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}


static void
pump(conn_t **cs, int n, struct pollfd *pfd, int ms)
{
    int  i;

    for (i = 0; i < n; i++) {
        pfd[i].fd = cs[i]->fd;
        pfd[i].events = POLLIN;
        pfd[i].revents = 0;
    }
    poll(pfd, (nfds_t) n, ms);
    for (i = 0; i < n; i++) {
        if (pfd[i].revents && io(cs[i]) < 0) {
            fprintf(stderr, "connection %d failed\n", i);
            exit(1);
        }
    }
}


/* this process's CPU time so far, in ms */
static double
self_cpu_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}


/* the CPU time of every thread of process pid so far, in ns (the run
 * time of /proc/PID/task/TID/schedstat), 0 when it cannot be read */
static double
proc_cpu_ns(int pid)
{
    char            path[64];
    double          ns, sum;
    FILE           *f;
    DIR            *d;
    struct dirent  *e;

    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    d = opendir(path);
    if (d == NULL) {
        return 0;
    }
    sum = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%d/task/%.16s/schedstat", pid,
                 e->d_name);
        f = fopen(path, "r");
        if (f != NULL) {
            if (fscanf(f, "%lf", &ns) == 1) {
                sum += ns;
            }
            fclose(f);
        }
    }
    closedir(d);
    return sum;
}


static int
fan_out(conn_t **cs, int n, struct pollfd *pfd, int changes)
{
    int                  i, k, m, ep;
    char                 body[512];
    long                 acked, lost = 0;
    double               t_sent, t_ack, wait_until, *lat_ms, *last_ms = NULL;
    double               cpu0 = 0;
    double               cpu_self = 0, cpu_reading = 0;
    double               cpu_change = 0, cpu_push = 0;
    int                  pushed;
    size_t               from;
    struct epoll_event   ev, evs[1024];

    if (fan_config) {
        snprintf(body, sizeof(body), "{\"listen\":true,"
                 "\"configListenContexts\":[{\"dataId\":\"%s\","
                 "\"group\":\"BENCH\",\"tenant\":\"\",\"md5\":\"\"}]}",
                 fan_service);
    } else {
        snprintf(body, sizeof(body), "{\"namespace\":\"public\","
                 "\"serviceName\":\"%s\",\"groupName\":\"DEFAULT_GROUP\","
                 "\"subscribe\":true,\"clusters\":\"\"}", fan_service);
    }
    for (i = 0; i < n; i++) {
        if (etcd_watch) {
            uint8_t  *out;
            size_t    olen;

            out = etcd_watch_frame(etcd_watch, &olen);
            submit_frame(cs[i], "/etcdserverpb.Watch/Watch", out, olen, 1);
        } else {
            submit(cs[i], "/Request/request", fan_config
                   ? "ConfigBatchListenRequest" : "SubscribeServiceRequest",
                   body, 0);
        }
        if (io(cs[i]) < 0) {
            return 1;
        }
    }

    /* subscribed, and past the push the server sends after subscribing */
    wait_until = now() + 2.0;
    while (now() < wait_until || done_calls < n) {
        pump(cs, n, pfd, 50);
    }
    for (i = 0; i < n; i++) {
        cs[i]->seen = 0;                /* count from the first change */
    }
    printf("%d connections %s %s\n", n, etcd_watch ? "watch"
           : fan_config ? "listen to config" : "subscribed to", fan_service);

    lat_ms = calloc((size_t) changes, sizeof(double));
    fan_dirty = calloc((size_t) n, sizeof(conn_t *));
    if (nports > 1 && fan_config) {
        fan_lat = calloc((size_t) n * (size_t) changes, sizeof(double));
        last_ms = calloc((size_t) changes, sizeof(double));
    }

    /* epoll from here: poll() over 10,000 descriptors per round would
     * cost the client more than reading them */
    ep = epoll_create1(0);
    for (i = 0; i < n; i++) {
        ev.events = EPOLLIN;
        ev.data.ptr = cs[i];
        if (epoll_ctl(ep, EPOLL_CTL_ADD, cs[i]->fd, &ev) != 0) {
            perror("epoll_ctl");
            return 1;
        }
    }

    if (cpu_pid) {
        cpu0 = proc_cpu_ns(cpu_pid);
    }

    for (k = 1; k <= changes; k++) {
        snprintf(fan_marker, sizeof(fan_marker), "\"10.9.%d.%d\"",
                 k / 250, k % 250 + 1);
        fan_change = k;
        fan_left = n;
        fan_defer = 1;
        snprintf(body, sizeof(body), "{\"namespace\":\"public\","
                 "\"serviceName\":\"%s\",\"groupName\":\"DEFAULT_GROUP\","
                 "\"type\":\"registerInstance\",\"instance\":{\"ip\":%s,"
                 "\"port\":8080,\"weight\":1.0,\"healthy\":true,"
                 "\"enabled\":true,\"ephemeral\":true,"
                 "\"clusterName\":\"DEFAULT\",\"metadata\":{}}}",
                 fan_service, fan_marker);

        if (fan_config) {
            snprintf(body, sizeof(body), "{\"dataId\":\"%s\","
                     "\"group\":\"BENCH\",\"tenant\":\"\","
                     "\"content\":\"v%d\",\"additionMap\":{}}",
                     fan_service, k);
        }

        acked = done_calls;
        from = fan_nlat;
        cpu_self = self_cpu_ms();
        if (cpu_pid) {
            cpu_change = proc_cpu_ns(cpu_pid);
        }
        t_sent = now();
        fan_sent = t_sent;
        if (etcd_watch) {
            uint8_t  *out;
            size_t    olen;

            snprintf(fan_marker, sizeof(fan_marker), "change-%d", k);
            out = etcd_kv_frame(etcd_watch, fan_marker, strlen(fan_marker),
                                0, &olen);
            submit_frame(cs[0], "/etcdserverpb.KV/Put", out, olen, 0);
        } else {
            submit(cs[0], "/Request/request", fan_config
                   ? "ConfigPublishRequest" : "InstanceRequest", body, 0);
        }
        flush_out(cs[0]);

        t_ack = 0;
        pushed = 0;
        for ( ;; ) {
            m = epoll_wait(ep, evs, 1024, 20);
            for (i = 0; i < m; i++) {
                if (io_read(evs[i].data.ptr) < 0) {
                    fprintf(stderr, "a connection failed\n");
                    return 1;
                }
            }
            if (cpu_pid && !pushed && fan_left <= 0) {
                /* the server's CPU until every connection had the change
                 * (the floor's sender-cpu), its answers not yet sent */
                cpu_push += proc_cpu_ns(cpu_pid) - cpu_change;
                pushed = 1;
            }
            if (t_ack == 0 && done_calls > acked) {
                t_ack = now();
            }
            if (fan_left <= 0 && t_ack) {
                break;
            }
            if (fan_lat && now() - t_sent > wait_s) {
                /* -P: lost notifications are a figure, not the end */
                fprintf(stderr, "change %d: %s; %ld listeners without a "
                        "notify after %.0f s\n", k,
                        t_ack ? "answered" : "no answer to the publish",
                        fan_left, wait_s);
                lost += fan_left;
                break;
            }
            if (!fan_lat && t_ack && now() - t_ack > 30) {
                fprintf(stderr, "change %d: %ld subscribers never got it\n",
                        k, fan_left);
                return 1;
            }
        }
        if (fan_lat) {
            last_ms[k - 1] = 0;
            for (size_t j = from; j < fan_nlat; j++) {
                if (fan_lat[j] > last_ms[k - 1]) {
                    last_ms[k - 1] = fan_lat[j];
                }
            }
        }
        /* from the change sent: its answer may come after the pushes */
        lat_ms[k - 1] = (now() - t_sent) * 1000;
        cpu_reading += self_cpu_ms() - cpu_self;

        /* now the answers, before the next change */
        fan_defer = 0;
        for (i = 0; i < ndirty; i++) {
            fan_dirty[i]->dirty = 0;
            if (flush_out(fan_dirty[i]) < 0) {
                return 1;
            }
        }
        ndirty = 0;

        /* let the server read those answers before the next change: it
         * reads them all in one loop pass, and a change arriving in that
         * pass would be timed with the previous change's answers in it
         * (the bare-send floor has no answers to read) */
        wait_until = now() + settle_s;
        while (now() < wait_until) {
            m = epoll_wait(ep, evs, 1024, 10);
            for (i = 0; i < m; i++) {
                if (io_read(evs[i].data.ptr) < 0) {
                    return 1;
                }
            }
        }
    }

    if (cpu_pid) {
        cpu0 = (proc_cpu_ns(cpu_pid) - cpu0) / 1e6;
        printf("server-cpu %.1f ms over %d changes, %.2f ms a change, "
               "%.2f ms a change until the last push\n",
               cpu0, changes, cpu0 / changes, cpu_push / 1e6 / changes);
    }

    if (fan_lat) {
        /* let late duplicates show */
        wait_until = now() + 0.5;
        while (now() < wait_until) {
            m = epoll_wait(ep, evs, 1024, 20);
            for (i = 0; i < m; i++) {
                if (io_read(evs[i].data.ptr) < 0) {
                    return 1;
                }
            }
        }
        qsort(fan_lat, fan_nlat, sizeof(double), cmp);
        qsort(last_ms, (size_t) changes, sizeof(double), cmp);
        printf("listeners %d ports %d changes %d notified %zu lost %ld "
               "duplicate %ld notify p50 %.2f ms p99 %.2f ms max %.2f ms "
               "last p50 %.2f ms p99 %.2f ms max %.2f ms\n", n, nports,
               changes, fan_nlat, lost, fan_dup,
               fan_nlat ? fan_lat[(fan_nlat - 1) / 2] : 0,
               fan_nlat ? fan_lat[(size_t) ((fan_nlat - 1) * 0.99)] : 0,
               fan_nlat ? fan_lat[fan_nlat - 1] : 0,
               last_ms[(changes - 1) / 2],
               last_ms[(int) ((changes - 1) * 0.99)], last_ms[changes - 1]);
    }

    qsort(lat_ms, (size_t) changes, sizeof(double), cmp);
    printf("fanout %d subscribers %d changes last-push p50 %.1f ms "
           "p99 %.1f ms client-cpu %.1f ms a change\n", n, changes,
           lat_ms[changes / 2], lat_ms[(int) ((changes - 1) * 0.99)],
           cpu_reading / changes);
    return 0;
}

/* -R: register on cs[0] (one node), the push on cs[1] (another node) */
static int
replicate(conn_t **cs, struct pollfd *pfd, int regs, int services)
{
    int      i, k;
    char     body[512];
    long     acked, base = done_calls;
    double   t_sent, t_ack, t_push, *lat_ms, sum = 0;

    for (i = 0; i < services; i++) {
        snprintf(body, sizeof(body), "{\"namespace\":\"public\","
                 "\"serviceName\":\"repl-%d\",\"groupName\":\"DEFAULT_GROUP\","
                 "\"subscribe\":true,\"clusters\":\"\"}", i);
        submit(cs[1], "/Request/request", "SubscribeServiceRequest", body, 0);
    }
    if (io(cs[1]) < 0) {
        return 1;
    }
    /* subscribed, and past the pushes the server sends after subscribing */
    t_sent = now() + 1.0;
    while (now() < t_sent || done_calls - base < services) {
        pump(cs, 2, pfd, 50);
    }
    printf("%d services subscribed\n", services);
    fflush(stdout);

    lat_ms = calloc((size_t) regs, sizeof(double));
    cs[1]->seen = 0;

    for (k = 1; k <= regs; k++) {
        snprintf(fan_marker, sizeof(fan_marker), "\"10.%d.%d.%d\"",
                 k / 62500 + 20, k / 250 % 250, k % 250 + 1);
        fan_change = k;
        fan_left = 1;
        snprintf(body, sizeof(body), "{\"namespace\":\"public\","
                 "\"serviceName\":\"repl-%d\",\"groupName\":\"DEFAULT_GROUP\","
                 "\"type\":\"registerInstance\",\"instance\":{\"ip\":%s,"
                 "\"port\":8080,\"weight\":1.0,\"healthy\":true,"
                 "\"enabled\":true,\"ephemeral\":true,"
                 "\"clusterName\":\"DEFAULT\",\"metadata\":{}}}",
                 (k - 1) % services, fan_marker);

        acked = done_calls;
        t_sent = now();
        submit(cs[0], "/Request/request", "InstanceRequest", body, 0);
        if (flush_out(cs[0]) < 0) {
            return 1;
        }

        t_ack = t_push = 0;
        for ( ;; ) {
            pump(cs, 2, pfd, 20);
            if (t_push == 0 && fan_left <= 0) {
                t_push = now();
            }
            if (t_ack == 0 && done_calls > acked) {
                t_ack = now();
            }
            if (t_push && t_ack) {
                break;
            }
            if (now() - t_sent > 10) {
                fprintf(stderr, "registration %d: %s within 10 s\n", k,
                        t_ack ? "no push on the other node"
                              : "no answer to the register");
                return 1;
            }
        }
        lat_ms[k - 1] = (t_push - t_sent) * 1000;
        sum += lat_ms[k - 1];
    }

    qsort(lat_ms, (size_t) regs, sizeof(double), cmp);
    printf("replicated %d registrations over %d services push p50 %.2f ms "
           "p99 %.2f ms max %.2f ms mean %.2f ms\n", regs, services,
           lat_ms[(regs - 1) / 2], lat_ms[(int) ((regs - 1) * 0.99)],
           lat_ms[regs - 1], sum / regs);
    return 0;
}


/* -B: `changes` registrations of one service at once on cs[0]; the
 * pushes cs[1] gets for them, and when the final state comes */
static int
burst(conn_t **cs, struct pollfd *pfd, int changes)
{
    int      k;
    char     body[512], ip[32];
    long     base;
    double   t_first, t_last = 0, until;

    snprintf(body, sizeof(body), "{\"namespace\":\"public\","
             "\"serviceName\":\"%s\",\"groupName\":\"DEFAULT_GROUP\","
             "\"subscribe\":true,\"clusters\":\"\"}", burst_service);
    base = done_calls;
    submit(cs[1], "/Request/request", "SubscribeServiceRequest", body, 0);
    if (io(cs[1]) < 0) {
        return 1;
    }
    /* subscribed, and past the push the server sends after subscribing */
    until = now() + 1.0;
    while (now() < until || done_calls == base) {
        pump(cs, 2, pfd, 50);
    }

    snprintf(fan_marker, sizeof(fan_marker), "\"10.8.%d.%d\"",
             changes / 250, changes % 250 + 1);
    fan_change = 1;
    base = done_calls;
    t_first = now();

    for (k = 1; k <= changes; k++) {
        snprintf(ip, sizeof(ip), "\"10.8.%d.%d\"", k / 250, k % 250 + 1);
        snprintf(body, sizeof(body), "{\"namespace\":\"public\","
                 "\"serviceName\":\"%s\",\"groupName\":\"DEFAULT_GROUP\","
                 "\"type\":\"registerInstance\",\"instance\":{\"ip\":%s,"
                 "\"port\":8080,\"weight\":1.0,\"healthy\":true,"
                 "\"enabled\":true,\"ephemeral\":true,"
                 "\"clusterName\":\"DEFAULT\",\"metadata\":{}}}",
                 burst_service, ip);
        submit(cs[0], "/Request/request", "InstanceRequest", body, 0);
    }
    if (io(cs[0]) < 0) {
        return 1;
    }

    for ( ;; ) {
        pump(cs, 2, pfd, 5);
        if (t_last == 0 && done_calls - base >= changes) {
            t_last = now();
        }
        if (t_last && burst_final) {
            break;
        }
        if (now() - t_first > 30) {
            fprintf(stderr, "burst: %s within 30 s\n", t_last
                    ? "no push of the final state" : "registrations unanswered");
            return 1;
        }
    }

    /* anything after the final state would be a wasted push */
    until = now() + 0.5;
    while (now() < until) {
        pump(cs, 2, pfd, 20);
    }

    printf("burst %d changes in %.1f ms pushes %ld final-state %.1f ms "
           "after the last answer %.1f ms after the first sent\n", changes,
           (t_last - t_first) * 1000, burst_pushes,
           (burst_final - t_last) * 1000, (burst_final - t_first) * 1000);
    return 0;
}


static void
conn_free(conn_t *c)
{
    struct linger  lg = { 1, 0 };

    nghttp2_session_del(c->s);      /* runs no callback */
    /* reset, not FIN: thousands of setups a second would otherwise fill
     * the ephemeral ports with TIME_WAIT */
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(c->fd);
    if (c->bidi) {
        free(c->bidi->out);
        free(c->bidi);
    }
    free(c->in);
    free(c);
}


/* -S: connections set up and closed, as fast as they come */
static int
setup_churn(int n)
{
    int             i;
    long            ok = 0, refused = 0;
    double          t0;
    conn_t        **cs = calloc((size_t) n, sizeof(*cs));
    struct pollfd  *pfd = calloc((size_t) n, sizeof(*pfd));

    for (i = 0; i < n; i++) {
        churn_slot = i;
        cs[i] = dial(port);
        io(cs[i]);
    }

    t0 = now();
    t_end = t0 + duration;

    while (now() < t_end) {
        for (i = 0; i < n; i++) {
            pfd[i].fd = cs[i]->fd;
            pfd[i].events = POLLIN;
            pfd[i].revents = 0;
        }
        poll(pfd, (nfds_t) n, 100);
        for (i = 0; i < n; i++) {
            if (pfd[i].revents && io(cs[i]) < 0 && !cs[i]->acked) {
                cs[i]->acked = 2;       /* closed on us: refused */
            }
            if (cs[i]->acked) {
                if (cs[i]->acked == 1) {
                    ok++;
                } else {
                    refused++;
                }
                conn_free(cs[i]);
                churn_slot = i + n * (int) ((ok + refused) % 7);
                cs[i] = dial(port);
                io(cs[i]);
            }
        }
    }

    printf("setups %.0f/s (%ld accepted, %ld refused in %.1f s)\n",
           (ok + refused) / (now() - t0), ok, refused, now() - t0);
    return 0;
}


int
main(int argc, char **argv)
{
    int              i, o, nconns = 1, idle = 0, changes = 20, port2 = 0;
    int              services = 100;
    conn_t         **cs;
    struct pollfd   *pfd;
    double           t0, setup_until;

    while ((o = getopt(argc, argv,
                       "p:c:d:t:T:b:IF:k:CNR:m:P:w:B:SE:v:L:n:W:X:M:G:")) != -1) {
        switch (o) {
        case 'p': port = atoi(optarg); break;
        case 'c': nconns = atoi(optarg); break;
        case 'd': depth = atoi(optarg); break;
        case 't': duration = atof(optarg); break;
        case 'T': req_type = optarg; break;
        case 'b': req_body = optarg; break;
        case 'I': idle = 1; break;
        case 'F': fan_service = optarg; break;
        case 'k': changes = atoi(optarg); break;
        case 'C': fan_config = 1; break;
        case 'N': no_setup = 1; break;
        case 'R': port2 = atoi(optarg); break;
        case 'm': services = atoi(optarg); break;
        case 'P':
            for (char *t = strtok(optarg, ","); t && nports < 8;
                 t = strtok(NULL, ","))
            {
                ports[nports++] = atoi(t);
            }
            break;
        case 'w': wait_s = atof(optarg); break;
        case 'G': settle_s = atof(optarg); break;
        case 'B': burst_service = optarg; break;
        case 'E': etcd_prefix = optarg; no_setup = 1; break;
        case 'v': etcd_vlen = (size_t) atol(optarg); break;
        case 'L': etcd_lease = strtoull(optarg, NULL, 0); break;
        case 'W': etcd_watch = fan_service = optarg; no_setup = 1; break;
        case 'n': max_calls = atol(optarg); break;
        case 'X': cpu_pid = atoi(optarg); break;
        case 'M': counter_wrap = atol(optarg); break;
        case 'S': churn = 1; break;
        default:
            fprintf(stderr, "usage: see the comment at the top\n");
            return 2;
        }
    }

    if (port2 || burst_service) {
        nconns = 2;
    }
    if (churn) {
        return setup_churn(nconns);
    }
    ports[0] = port;
    cs = calloc((size_t) nconns, sizeof(*cs));
    pfd = calloc((size_t) nconns + 1, sizeof(*pfd));
    for (i = 0; i < nconns; i++) {
        cs[i] = dial(port2 && i == 1 ? port2 : ports[i % nports]);
        io(cs[i]);
    }

    /* let the setups land (the SDKs wait about 100 ms too) */
    setup_until = now() + (no_setup ? 0.05 : 0.3);
    while (now() < setup_until) {
        for (i = 0; i < nconns; i++) {
            pfd[i].fd = cs[i]->fd;
            pfd[i].events = POLLIN;
        }
        poll(pfd, (nfds_t) nconns, 20);
        for (i = 0; i < nconns; i++) {
            io(cs[i]);
        }
    }

    if (fan_service) {
        return fan_out(cs, nconns, pfd, changes);
    }
    if (burst_service) {
        return burst(cs, pfd, changes);
    }
    if (port2) {
        return replicate(cs, pfd, changes, services < 1 ? 1 : services);
    }

    if (idle) {
        char  b[16];

        printf("ready %d\n", nconns);
        fflush(stdout);
        pfd[nconns].fd = 0;
        pfd[nconns].events = POLLIN;
        for ( ;; ) {
            for (i = 0; i < nconns; i++) {
                pfd[i].fd = cs[i]->fd;
                pfd[i].events = POLLIN;
            }
            poll(pfd, (nfds_t) nconns + 1, 1000);
            if (pfd[nconns].revents && read(0, b, sizeof(b)) <= 0) {
                return 0;
            }
            for (i = 0; i < nconns; i++) {
                if (pfd[i].revents) {
                    io(cs[i]);
                }
            }
        }
    }

    t0 = now();
    t_end = t0 + duration;
    for (i = 0; i < nconns; i++) {
        int  k;

        cs[i]->ready = 1;
        for (k = 0; k < depth; k++) {
            next_call(cs[i]);
        }
        io(cs[i]);
    }

    for ( ;; ) {
        int  busy = 0;

        for (i = 0; i < nconns; i++) {
            pfd[i].fd = cs[i]->fd;
            pfd[i].events = POLLIN;
            busy += cs[i]->inflight;
        }
        if (busy == 0
            && (now() >= t_end || (max_calls && submitted >= max_calls)))
        {
            break;
        }
        poll(pfd, (nfds_t) nconns, 100);
        for (i = 0; i < nconns; i++) {
            if (io(cs[i]) < 0) {
                fprintf(stderr, "connection %d failed\n", i);
                return 1;
            }
        }
    }

    qsort(lat, nlat, sizeof(double), cmp);
    {
        struct rusage  ru;
        double         t = now() - t0, cpu;

        getrusage(RUSAGE_SELF, &ru);
        cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
              + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
        printf("calls %ld failed %ld seconds %.2f calls/s %.0f "
               "p50 %.3f ms p99 %.3f ms client-cpu %.0f%% answer %s\n",
               done_calls, failed_calls, t, done_calls / t,
               nlat ? lat[nlat / 2] * 1000 : 0,
               nlat ? lat[(size_t) (nlat * 0.99)] * 1000 : 0,
               cpu * 100 / t, answer[0] ? answer : "?");
    }
    return 0;
}

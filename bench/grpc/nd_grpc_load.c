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
 *
 * The Payload protobuf is tiny and encoded by hand here:
 *   Payload { metadata(2) { type(3) }, body(3) Any { value(2) } }
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
} stream_t;

struct conn_s {
    int               fd;
    nghttp2_session  *s;
    int               ready;   /* setup sent */
    int               inflight;
    stream_t         *bidi;
};

static const char  *req_type = "HealthCheckRequest";
static const char  *req_body = "{}";
static int          depth = 16, port;
static double       duration = 5, t_end;
static long         done_calls, failed_calls, counter;
static double      *lat;
static size_t       nlat, caplat;


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


/* 5-byte gRPC prefix + Payload */
static uint8_t *
frame(const char *type, const char *json, size_t *len)
{
    size_t    tl = strlen(type), jl = strlen(json), n, m, b, a;
    uint8_t   meta[512], any[16], *buf, *p;

    /* Metadata { type = 3 } */
    m = 0;
    meta[m++] = (3 << 3) | 2;
    m += varint(meta + m, tl);
    memcpy(meta + m, type, tl);
    m += tl;

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

    n = (size_t) (p - buf - 5);
    buf[0] = 0;
    buf[1] = (uint8_t) (n >> 24);
    buf[2] = (uint8_t) (n >> 16);
    buf[3] = (uint8_t) (n >> 8);
    buf[4] = (uint8_t) n;
    *len = n + 5;
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


#define NV(n, v) { (uint8_t *) n, (uint8_t *) v, sizeof(n) - 1,             \
                   sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE }


static void
submit(conn_t *c, const char *path, const char *type, const char *json,
    int kind)
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
    st->out = frame(type, json, &st->len);
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

    /* %n in the body becomes a unique counter */
    for (p = req_body; *p && n < sizeof(body) - 24; p++) {
        if (p[0] == '%' && p[1] == 'n') {
            n += (size_t) snprintf(body + n, sizeof(body) - n, "%ld",
                                   counter++);
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
    if (err == 0) {
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


static conn_t *
dial(void)
{
    int                   one = 1;
    conn_t               *c = calloc(1, sizeof(*c));
    struct sockaddr_in    sa;
    nghttp2_session_callbacks  *cb;

    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t) port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *) &sa, sizeof(sa)) != 0) {
        perror("connect");
        exit(1);
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(c->fd, F_SETFL, O_NONBLOCK);

    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
    nghttp2_session_client_new(&c->s, cb, c);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, NULL, 0);

    submit(c, "/Request/request", "ServerCheckRequest", "{}", 0);
    submit(c, "/BiRequestStream/requestBiStream", "ConnectionSetupRequest",
           "{\"clientVersion\":\"nd_grpc_load\",\"labels\":{}}", 1);
    return c;
}


static int
flush_out(conn_t *c)
{
    const uint8_t  *data;
    ssize_t         n, w, k;

    while ((n = nghttp2_session_mem_send(c->s, &data)) > 0) {
        for (w = 0; w < n; w += k) {
            k = write(c->fd, data + w, (size_t) (n - w));
            if (k < 0) {
                if (errno != EAGAIN) {
                    return -1;
                }
                struct pollfd  p = { c->fd, POLLOUT, 0 };
                poll(&p, 1, 100);
                k = 0;
            }
        }
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


static int
cmp(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}


int
main(int argc, char **argv)
{
    int              i, o, nconns = 1, idle = 0;
    conn_t         **cs;
    struct pollfd   *pfd;
    double           t0, setup_until;

    while ((o = getopt(argc, argv, "p:c:d:t:T:b:I")) != -1) {
        switch (o) {
        case 'p': port = atoi(optarg); break;
        case 'c': nconns = atoi(optarg); break;
        case 'd': depth = atoi(optarg); break;
        case 't': duration = atof(optarg); break;
        case 'T': req_type = optarg; break;
        case 'b': req_body = optarg; break;
        case 'I': idle = 1; break;
        default:
            fprintf(stderr, "usage: see the comment at the top\n");
            return 2;
        }
    }

    cs = calloc((size_t) nconns, sizeof(*cs));
    pfd = calloc((size_t) nconns + 1, sizeof(*pfd));
    for (i = 0; i < nconns; i++) {
        cs[i] = dial();
        io(cs[i]);
    }

    /* let the setups land (the SDKs wait about 100 ms too) */
    setup_until = now() + 0.3;
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
        if (busy == 0 && now() >= t_end) {
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
    printf("calls %ld failed %ld seconds %.2f calls/s %.0f "
           "p50 %.3f ms p99 %.3f ms\n", done_calls, failed_calls,
           now() - t0, done_calls / (now() - t0),
           nlat ? lat[nlat / 2] * 1000 : 0,
           nlat ? lat[(size_t) (nlat * 0.99)] * 1000 : 0);
    return 0;
}

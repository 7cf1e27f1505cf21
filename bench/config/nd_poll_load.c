/*
 * nd_poll_load: the HTTP long-poll fan-out load for bench/ (not part of
 * the server).  N connections each hold a 1.x long poll
 * (POST /nacos/v1/cs/configs/listener) on one key; per round one publish
 * (POST /nacos/v1/cs/configs, content v<round>) on a connection of its
 * own; prints the time from the publish sent to the last poll's answer
 * (p50/p99 over the rounds; the store's commit is in it, and the
 * publish's own answer may come after many of the polls'), then re-arms every poll with the md5
 * the server reports (GET /nacos/v1/cs/configs, Content-MD5).
 *
 *   nd_poll_load -p PORT [-c N] [-k rounds] [-d dataId] [-g group]
 *                [-w ms] [-H]
 *
 * A round starts once the server has read every poll (no unread bytes on
 * its sockets of PORT, from /proc/net/tcp), -w ms after that (default
 * 50), and only if no poll was answered early.  Without /proc/net/tcp it
 * waits 2 s before the first round and 1 s before the others.
 * -H: print "open" once the N connections are accepted and "held" once
 * the first round's polls are held, and wait for a line on stdin after
 * each (the bench measures the server's RSS there).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUFSZ  2048

typedef struct {
    int     fd;
    int     done;
    size_t  len;
    char    buf[BUFSZ];
} conn_t;

static struct sockaddr_in  sa;
static int                 port;


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static int
cmp(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}


/* the value of header name (with its colon) in head, or NULL */
static const char *
header(const char *head, size_t len, const char *name)
{
    size_t       n = strlen(name);
    const char  *p = head, *end = head + len;

    while (p < end) {
        p = memmem(p, (size_t) (end - p), "\r\n", 2);
        if (p == NULL) {
            return NULL;
        }
        p += 2;
        if ((size_t) (end - p) > n && strncasecmp(p, name, n) == 0) {
            p += n;
            while (p < end && (*p == ' ' || *p == '\t')) {
                p++;
            }
            return p;
        }
    }

    return NULL;
}


/* the length of the complete HTTP response at the start of b, 0 when
 * more is to come, -1 when it has no length we can tell */
static long
complete(const char *b, size_t len)
{
    size_t       head;
    const char  *e, *v;

    e = memmem(b, len, "\r\n\r\n", 4);
    if (e == NULL) {
        return 0;
    }
    head = (size_t) (e - b) + 4;

    v = header(b, head, "content-length:");
    if (v) {
        size_t  cl = strtoul(v, NULL, 10);

        return len >= head + cl ? (long) (head + cl) : 0;
    }

    v = header(b, head, "transfer-encoding:");
    if (v && strncasecmp(v, "chunked", 7) == 0) {
        e = memmem(b + head, len - head, "0\r\n\r\n", 5);
        return e && (e == b + head || e[-1] == '\n')
               ? (long) (e + 5 - b) : 0;
    }

    return -1;
}


/* one request on a connection of its own; the answer in resp, its
 * length returned (-1 on error) */
static long
request(const char *req, char *resp, size_t cap)
{
    int      fd;
    long     n;
    size_t   len = 0, rlen = strlen(req);
    ssize_t  r;

    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0
        || write(fd, req, rlen) != (ssize_t) rlen)
    {
        perror("control connection");
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }

    for ( ;; ) {
        r = read(fd, resp + len, cap - 1 - len);
        if (r <= 0) {
            fprintf(stderr, "control connection: %s\n",
                    r ? strerror(errno) : "closed before the answer");
            close(fd);
            return -1;
        }
        len += (size_t) r;
        resp[len] = '\0';
        n = complete(resp, len);
        if (n) {
            close(fd);
            return n;
        }
        if (len == cap - 1) {
            fprintf(stderr, "control connection: answer too long\n");
            close(fd);
            return -1;
        }
    }
}


static int
publish(const char *data_id, const char *group, int round)
{
    char  body[512], req[1024], resp[4096];
    long  n;

    snprintf(body, sizeof(body), "dataId=%s&group=%s&content=v%d",
             data_id, group, round);
    snprintf(req, sizeof(req),
             "POST /nacos/v1/cs/configs HTTP/1.1\r\nHost: b\r\n"
             "Content-Type: application/x-www-form-urlencoded\r\n"
             "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
             strlen(body), body);

    n = request(req, resp, sizeof(resp));
    if (n < 0) {
        return -1;
    }
    if (strncmp(resp, "HTTP/1.1 200", 12) != 0
        || n < 4 || memcmp(resp + n - 4, "true", 4) != 0)
    {
        fprintf(stderr, "publish v%d failed:\n%s\n", round, resp);
        return -1;
    }

    return 0;
}


/* the md5 the server holds for the key, into md5[33] */
static int
server_md5(const char *data_id, const char *group, char *md5)
{
    char         req[1024], resp[BUFSZ * 4];
    long         n;
    size_t       i;
    const char  *v, *e;

    snprintf(req, sizeof(req),
             "GET /nacos/v1/cs/configs?dataId=%s&group=%s HTTP/1.1\r\n"
             "Host: b\r\nConnection: close\r\n\r\n", data_id, group);

    n = request(req, resp, sizeof(resp));
    if (n < 0) {
        return -1;
    }
    e = memmem(resp, (size_t) n, "\r\n\r\n", 4);
    v = header(resp, (size_t) (e - resp), "content-md5:");
    if (v == NULL || strncmp(resp, "HTTP/1.1 200", 12) != 0) {
        fprintf(stderr, "no Content-MD5 for %s/%s:\n%s\n", data_id, group,
                resp);
        return -1;
    }
    for (i = 0; i < 32 && v[i] && v[i] != '\r'; i++) {
        md5[i] = v[i];
    }
    md5[i] = '\0';

    return 0;
}


/* the server's unread bytes on its sockets of port, and its established
 * connections there; -1 when /proc/net/tcp cannot be read */
static long
server_queues(long *estab)
{
    int           i;
    char          line[512];
    FILE         *f;
    long          unread = 0;
    unsigned      lport, st, txq, rxq;
    const char   *files[] = { "/proc/net/tcp", "/proc/net/tcp6" };

    *estab = 0;
    for (i = 0; i < 2; i++) {
        f = fopen(files[i], "r");
        if (f == NULL) {
            if (i == 0) {
                return -1;
            }
            continue;
        }
        while (fgets(line, sizeof(line), f)) {
            /* sl local_addr:port rem_addr:port st tx_queue:rx_queue */
            if (sscanf(line, " %*[^:]: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x"
                       " %x %x:%x", &lport, &st, &txq, &rxq) == 4
                && (int) lport == port)
            {
                unread += rxq;
                *estab += st == 1;
            }
        }
        fclose(f);
    }

    return unread;
}


/* wait until the server has accepted the n connections and read every
 * request sent on them, then grace ms more */
static int
wait_server(long n, int grace, int fallback_ms)
{
    long    u, e;
    double  deadline = now() + 30;

    for ( ;; ) {
        u = server_queues(&e);
        if (u < 0) {
            usleep((useconds_t) fallback_ms * 1000);
            return 0;
        }
        if (u == 0 && e >= n) {
            break;
        }
        if (now() > deadline) {
            fprintf(stderr, "server still has %ld unread bytes, %ld of %ld "
                    "connections\n", u, e, n);
            return -1;
        }
        usleep(10000);
    }

    usleep((useconds_t) grace * 1000);
    return 0;
}


static void
handshake(int hold, const char *what)
{
    char  line[64];

    if (hold) {
        printf("%s\n", what);
        fflush(stdout);
        if (fgets(line, sizeof(line), stdin) == NULL) {
            /* stdin closed: go on */
        }
    }
}


int
main(int argc, char **argv)
{
    int                  o, i, k, m, n = 10000, rounds = 20, ep, one = 1,
                         hold = 0, grace = 50;
    char                 md5[33], req[1024], body[512];
    long                 left, done_len;
    size_t               rlen;
    double               t_sent, t_ack, t_last, deadline, *lat;
    conn_t              *c, *conns;
    ssize_t              r;
    const char          *data_id = "hot", *group = "BENCH";
    struct rlimit        rl;
    struct epoll_event   ev, evs[1024];

    while ((o = getopt(argc, argv, "p:c:k:d:g:w:H")) != -1) {
        switch (o) {
        case 'p': port = atoi(optarg); break;
        case 'c': n = atoi(optarg); break;
        case 'k': rounds = atoi(optarg); break;
        case 'd': data_id = optarg; break;
        case 'g': group = optarg; break;
        case 'w': grace = atoi(optarg); break;
        case 'H': hold = 1; break;
        default:
            fprintf(stderr, "usage: see the comment at the top\n");
            return 2;
        }
    }
    if (port <= 0 || n <= 0 || rounds <= 0) {
        fprintf(stderr, "usage: nd_poll_load -p PORT [-c N] [-k rounds] "
                "[-d dataId] [-g group] [-w ms] [-H]\n");
        return 2;
    }

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t) port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    if (publish(data_id, group, 0) != 0 || server_md5(data_id, group, md5)) {
        return 1;
    }

    conns = calloc((size_t) n, sizeof(conn_t));
    lat = calloc((size_t) rounds, sizeof(double));
    ep = epoll_create1(0);
    if (conns == NULL || lat == NULL || ep < 0) {
        perror("setup");
        return 1;
    }

    for (i = 0; i < n; i++) {
        c = &conns[i];
        c->fd = socket(AF_INET, SOCK_STREAM, 0);
        if (c->fd < 0
            || connect(c->fd, (struct sockaddr *) &sa, sizeof(sa)) != 0)
        {
            fprintf(stderr, "connection %d: %s\n", i, strerror(errno));
            return 1;
        }
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
        ev.events = EPOLLIN;
        ev.data.ptr = c;
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    }

    if (hold) {
        if (wait_server(n, grace, 500) != 0) {
            return 1;
        }
        handshake(hold, "open");
    }

    for (k = 1; k <= rounds; k++) {
        /* arm: the same request as the Perl bench sent */
        snprintf(body, sizeof(body), "Listening-Configs=%s%%02%s%%02%s%%01",
                 data_id, group, md5);
        snprintf(req, sizeof(req),
                 "POST /nacos/v1/cs/configs/listener HTTP/1.1\r\nHost: b\r\n"
                 "Long-Pulling-Timeout: 30000\r\n"
                 "Content-Type: application/x-www-form-urlencoded\r\n"
                 "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
        rlen = strlen(req);

        for (i = 0; i < n; i++) {
            c = &conns[i];
            c->done = 0;
            c->len = 0;
            if (write(c->fd, req, rlen) != (ssize_t) rlen) {
                fprintf(stderr, "poll %d: short write\n", i);
                return 1;
            }
        }

        if (wait_server(n, grace, k == 1 ? 2000 : 1000) != 0) {
            return 1;
        }
        m = epoll_wait(ep, evs, 1024, 0);
        if (m != 0) {
            fprintf(stderr, "round %d: %d polls answered before the "
                    "publish\n", k, m);
            return 1;
        }
        if (k == 1) {
            handshake(hold, "held");
        }

        t_sent = now();
        if (publish(data_id, group, k) != 0) {
            return 1;
        }
        t_ack = now();
        t_last = t_ack;

        left = n;
        deadline = t_ack + 30;
        while (left > 0) {
            m = epoll_wait(ep, evs, 1024, 500);
            for (i = 0; i < m; i++) {
                c = evs[i].data.ptr;
                if (c->done) {
                    fprintf(stderr, "round %d: more after the answer\n", k);
                    return 1;
                }
                r = read(c->fd, c->buf + c->len, BUFSZ - 1 - c->len);
                if (r < 0 && errno == EAGAIN) {
                    continue;
                }
                if (r <= 0) {
                    fprintf(stderr, "round %d: poll closed: %s\n", k,
                            r ? strerror(errno) : "by the server");
                    return 1;
                }
                c->len += (size_t) r;
                done_len = complete(c->buf, c->len);
                if (done_len == 0 && c->len < BUFSZ - 1) {
                    continue;
                }
                if (done_len != (long) c->len
                    || strncmp(c->buf, "HTTP/1.1 200", 12) != 0)
                {
                    c->buf[c->len] = '\0';
                    fprintf(stderr, "round %d: unexpected answer:\n%s\n", k,
                            c->buf);
                    return 1;
                }
                c->done = 1;
                left--;
                t_last = now();
            }
            if (left > 0 && now() > deadline) {
                fprintf(stderr, "round %d: %ld polls not answered\n", k,
                        left);
                return 1;
            }
        }
        lat[k - 1] = (t_last - t_sent) * 1000;

        if (server_md5(data_id, group, md5) != 0) {
            return 1;
        }
    }

    /* p99 by nearest rank: the slowest round of 20 */
    qsort(lat, (size_t) rounds, sizeof(double), cmp);
    i = (int) ((rounds * 99 + 99) / 100) - 1;
    printf("longpoll %d polls %d rounds last-answer p50 %.1f ms "
           "p99 %.1f ms\n", n, rounds, lat[rounds / 2], lat[i]);

    return 0;
}

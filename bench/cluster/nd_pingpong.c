/*
 * nd_pingpong: the reference for the cluster RPC round trip figures
 * (bench/, not part of the server).  A forked echo process accepts one
 * loopback TCP connection and sends back every byte it reads (blocking
 * read/write, nothing else); the client keeps `depth` messages of `size`
 * bytes in flight on that one connection for `seconds` (poll, read,
 * write, as bench/grpc/nd_grpc_load.c drives its h2 connection) and
 * reports round trips/s and latency percentiles: what one connection's
 * round trips cost on this kernel before any protocol or server work.
 *
 *   nd_pingpong [-d depth] [-s size] [-t seconds] [-A cpu] [-B cpu]
 *
 * -A/-B pin the echo process and the client (as the bench pins nacosd
 * and its load generator).  Prints one line:
 *   round trips N seconds S rt/s R p50 X ms p99 Y ms
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static void
pin(int cpu)
{
    cpu_set_t  set;

    if (cpu < 0) {
        return;
    }
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof(set), &set);
}


static int
cmp(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}


static void
echo(int ls)
{
    int      fd, one = 1;
    char     buf[65536];
    ssize_t  n, w, k;

    fd = accept(ls, NULL, NULL);
    if (fd < 0) {
        _exit(1);
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        for (w = 0; w < n; w += k) {
            k = write(fd, buf + w, (size_t) (n - w));
            if (k <= 0) {
                _exit(1);
            }
        }
    }
    _exit(0);
}


int
main(int argc, char **argv)
{
    int                  o, ls, fd, one = 1, depth = 1, acpu = -1, bcpu = -1;
    size_t               size = 64, got = 0, nlat = 0, caplat = 1 << 16;
    size_t               head = 0, tail = 0;
    double               seconds = 5, t0, t_end, t, *lat, *sent;
    char                *msg, buf[65536];
    long                 inflight = 0, done = 0;
    pid_t                pid;
    socklen_t            sl;
    ssize_t              n, w, k;
    struct pollfd        p;
    struct sockaddr_in   sa;

    while ((o = getopt(argc, argv, "d:s:t:A:B:")) != -1) {
        switch (o) {
        case 'd': depth = atoi(optarg); break;
        case 's': size = (size_t) atol(optarg); break;
        case 't': seconds = atof(optarg); break;
        case 'A': acpu = atoi(optarg); break;
        case 'B': bcpu = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: see the comment at the top\n");
            return 2;
        }
    }
    if (depth < 1 || depth > 4096 || size < 1 || size * depth > 1 << 20) {
        fprintf(stderr, "nd_pingpong: bad -d or -s\n");
        return 2;
    }

    ls = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *) &sa, sizeof(sa)) != 0
        || listen(ls, 1) != 0)
    {
        perror("nd_pingpong: listen");
        return 1;
    }
    sl = sizeof(sa);
    getsockname(ls, (struct sockaddr *) &sa, &sl);

    pid = fork();
    if (pid == 0) {
        pin(acpu);
        echo(ls);
    }
    close(ls);
    pin(bcpu);

    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0) {
        perror("nd_pingpong: connect");
        kill(pid, SIGKILL);
        return 1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(fd, F_SETFL, O_NONBLOCK);

    msg = calloc(1, size * (size_t) depth);
    memset(msg, 'x', size * (size_t) depth);
    lat = malloc(caplat * sizeof(double));
    sent = calloc((size_t) depth + 1, sizeof(double));   /* a ring */

    t0 = now();
    t_end = t0 + seconds;

    /* queue `want` messages (one write, as an h2 flush would) */
#define SEND(want)                                                          \
    do {                                                                    \
        size_t  _len = (size_t) (want) * size;                              \
        for (w = 0; w < (ssize_t) _len; w += k) {                           \
            k = write(fd, msg + w, _len - (size_t) w);                      \
            if (k < 0) {                                                    \
                if (errno != EAGAIN) { perror("write"); return 1; }         \
                p.fd = fd; p.events = POLLOUT;                              \
                poll(&p, 1, 100);                                           \
                k = 0;                                                      \
            }                                                               \
        }                                                                   \
    } while (0)

    t = now();
    for (o = 0; o < depth; o++) {
        sent[tail] = t;
        tail = (tail + 1) % ((size_t) depth + 1);
    }
    inflight = depth;
    SEND(depth);

    while (inflight > 0) {
        p.fd = fd;
        p.events = POLLIN;
        poll(&p, 1, 100);

        n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EAGAIN) {
            continue;
        }
        if (n <= 0) {
            fprintf(stderr, "nd_pingpong: the echo closed\n");
            return 1;
        }
        got += (size_t) n;
        t = now();

        k = 0;                       /* messages completed by this read */
        while (got >= size) {
            got -= size;
            if (nlat == caplat) {
                caplat *= 2;
                lat = realloc(lat, caplat * sizeof(double));
            }
            lat[nlat++] = t - sent[head];
            head = (head + 1) % ((size_t) depth + 1);
            inflight--;
            done++;
            k++;
        }
        if (k && t < t_end) {
            long  more = k;

            for (o = 0; o < more; o++) {
                sent[tail] = t;
                tail = (tail + 1) % ((size_t) depth + 1);
            }
            inflight += more;
            SEND(more);
        }
    }

    t = now() - t0;
    close(fd);
    waitpid(pid, NULL, 0);

    qsort(lat, nlat, sizeof(double), cmp);
    {
        struct rusage  ru;
        double         cpu;

        getrusage(RUSAGE_SELF, &ru);
        cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
              + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
        printf("round trips %ld seconds %.2f rt/s %.0f p50 %.3f ms "
               "p99 %.3f ms client-cpu %.0f%%\n", done, t, done / t,
               nlat ? lat[nlat / 2] * 1000 : 0,
               nlat ? lat[(size_t) (nlat * 0.99)] * 1000 : 0,
               cpu * 100 / t);
    }
    return 0;
}

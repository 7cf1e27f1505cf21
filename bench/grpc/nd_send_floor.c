/*
 * nd_send_floor: the reference for the push fan-out figures (bench/, not
 * part of the server).  One process accepts N loopback TCP connections
 * and, per round, sends SIZE bytes on each with one send(), as a server
 * that did nothing else would; another process reads them with epoll.
 * Prints the time from the first send to the reader having all N (p50/p99
 * over the rounds): what N pushes cost on this machine's kernel before
 * any server work.  Not a strict lower bound: the reader's TCP ACKs reach
 * the sender while it sends, which a gRPC server's clients (answering
 * with data) mostly spare it.
 *
 *   nd_send_floor [-c N] [-k rounds] [-s size] [-A cpu] [-B cpu] [-U]
 *
 * -A/-B pin the sender and the reader (as the bench pins nacosd and its
 * load generator).  -U (built with -DND_FLOOR_URING -luring): each round's
 * sends go as io_uring batches (IORING_OP_SEND, MSG_DONTWAIT, up to 4096
 * an io_uring_enter) instead of one send() each: the most that batching
 * the sends could save a fan-out (issue 21, docs/event.md).  The line
 * ends with the sender's CPU time a round (p50), which is what batching
 * changes.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef ND_FLOOR_URING
#include <liburing.h>
#endif


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


static double
cpu_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}


#ifdef ND_FLOOR_URING

#define URING_BATCH  4096

/* one round's sends as io_uring batches; every one completes inside the
 * enter that submits it (MSG_DONTWAIT: io_uring never parks it) */
static int
send_uring(int *fds, int n, const char *msg, size_t size)
{
    int                   i, j, b;
    unsigned              head, seen;
    struct io_uring_sqe  *sqe;
    struct io_uring_cqe  *cqe;
    static int            init;
    static struct io_uring  ring;

    if (!init) {
        if ((i = io_uring_queue_init(URING_BATCH, &ring, 0)) < 0) {
            fprintf(stderr, "io_uring_queue_init: %s\n", strerror(-i));
            return -1;
        }
        init = 1;
    }

    for (i = 0; i < n; i = j) {
        for (j = i, b = 0; j < n && b < URING_BATCH; j++, b++) {
            sqe = io_uring_get_sqe(&ring);
            io_uring_prep_send(sqe, fds[j], msg, size, MSG_DONTWAIT);
        }
        io_uring_submit_and_wait(&ring, (unsigned) b);
        seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe) {
            if (cqe->res != (int) size) {
                fprintf(stderr, "io_uring send: %d\n", cqe->res);
                return -1;
            }
            seen++;
        }
        io_uring_cq_advance(&ring, seen);
    }

    return 0;
}

#endif


static int
cmp(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}


/* the reader: connect n sockets, then per round read until each has
 * delivered size bytes, and tell the sender when */
static int
reader(struct sockaddr_in *sa, int n, int rounds, size_t size, int go,
    int done)
{
    int                  i, k, m, ep, *fds;
    char                 buf[65536];
    size_t              *got;
    double               t;
    long                 left;
    ssize_t              r;
    struct epoll_event   ev, evs[1024];

    fds = calloc((size_t) n, sizeof(int));
    got = calloc((size_t) n, sizeof(size_t));
    ep = epoll_create1(0);

    for (i = 0; i < n; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (fds[i] < 0) {
            perror("socket");
            return 1;
        }
        if (connect(fds[i], (struct sockaddr *) sa, sizeof(*sa)) != 0
            && errno != EINPROGRESS)
        {
            perror("connect");
            return 1;
        }
        ev.events = EPOLLIN;
        ev.data.u32 = (uint32_t) i;
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    }

    for (k = 0; k < rounds; k++) {
        memset(got, 0, (size_t) n * sizeof(size_t));
        left = n;
        if (write(go, "g", 1) != 1) {
            return 1;
        }

        while (left > 0) {
            m = epoll_wait(ep, evs, 1024, 1000);
            for (i = 0; i < m; i++) {
                uint32_t  j = evs[i].data.u32;

                r = read(fds[j], buf, sizeof(buf));
                if (r <= 0) {
                    continue;
                }
                if (got[j] < size && (got[j] += (size_t) r) >= size) {
                    left--;
                }
            }
        }

        t = now();
        if (write(done, &t, sizeof(t)) != sizeof(t)) {
            return 1;
        }
    }

    return 0;
}


int
main(int argc, char **argv)
{
    int                  o, i, k, n = 10000, rounds = 20, cpu_a = -1,
                         cpu_b = -1, uring = 0, ls, one = 1, go[2], done[2], *fds;
    char                 c, *msg;
    size_t               size = 600;
    double               t0, t1, c0, *lat, *snd, *cpu;
    pid_t                pid;
    socklen_t            len;
    struct sockaddr_in   sa;

    while ((o = getopt(argc, argv, "c:k:s:A:B:U")) != -1) {
        switch (o) {
        case 'c': n = atoi(optarg); break;
        case 'k': rounds = atoi(optarg); break;
        case 's': size = (size_t) atol(optarg); break;
        case 'A': cpu_a = atoi(optarg); break;
        case 'B': cpu_b = atoi(optarg); break;
#ifdef ND_FLOOR_URING
        case 'U': uring = 1; break;
#endif
        default:
            fprintf(stderr, "usage: see the comment at the top\n");
            return 2;
        }
    }

    ls = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    len = sizeof(sa);
    if (bind(ls, (struct sockaddr *) &sa, sizeof(sa)) != 0
        || listen(ls, 4096) != 0
        || getsockname(ls, (struct sockaddr *) &sa, &len) != 0
        || pipe(go) != 0 || pipe(done) != 0)
    {
        perror("setup");
        return 1;
    }

    pid = fork();
    if (pid == 0) {
        close(ls);
        pin(cpu_b);
        _exit(reader(&sa, n, rounds, size, go[1], done[1]));
    }

    pin(cpu_a);
    fds = calloc((size_t) n, sizeof(int));
    for (i = 0; i < n; i++) {
        fds[i] = accept(ls, NULL, NULL);
        if (fds[i] < 0) {
            perror("accept");
            return 1;
        }
        setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }

    msg = malloc(size);
    memset(msg, 'p', size);
    lat = calloc((size_t) rounds, sizeof(double));
    snd = calloc((size_t) rounds, sizeof(double));
    cpu = calloc((size_t) rounds, sizeof(double));

    for (k = 0; k < rounds; k++) {
        if (read(go[0], &c, 1) != 1) {
            return 1;
        }
        usleep(20000);                  /* the reader is in epoll_wait */

        c0 = cpu_now();
        t0 = now();
        for (i = 0; i < n && !uring; i++) {
            if (send(fds[i], msg, size, 0) != (ssize_t) size) {
                perror("send");
                return 1;
            }
        }
#ifdef ND_FLOOR_URING
        if (uring && send_uring(fds, n, msg, size) != 0) {
            return 1;
        }
#endif
        snd[k] = (now() - t0) * 1000;
        cpu[k] = (cpu_now() - c0) * 1000;

        if (read(done[0], &t1, sizeof(t1)) != sizeof(t1)) {
            return 1;
        }
        lat[k] = (t1 - t0) * 1000;
    }

    waitpid(pid, NULL, 0);
    qsort(lat, (size_t) rounds, sizeof(double), cmp);
    qsort(snd, (size_t) rounds, sizeof(double), cmp);
    qsort(cpu, (size_t) rounds, sizeof(double), cmp);
    printf("floor %d connections %zu bytes %d rounds sent p50 %.1f ms "
           "last-read p50 %.1f ms p99 %.1f ms sender-cpu p50 %.1f ms%s\n",
           n, size, rounds, snd[rounds / 2], lat[rounds / 2],
           lat[(int) ((rounds - 1) * 0.99)], cpu[rounds / 2],
           uring ? " io_uring" : "");
    return 0;
}

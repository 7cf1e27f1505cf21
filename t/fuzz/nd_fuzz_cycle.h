/*
 * A whole standalone nacosd inside a fuzz target: the cycle is built as
 * main() builds it (conf, logs, loop, every init_module and start), with
 * the embedded SQLite store, under a fresh temporary prefix, but no
 * listener is opened: a connection is made over a socketpair whose
 * other end the target writes (the client) and reads (discarded).  So
 * the bytes go through the real read handlers (nd_http_read,
 * nd_grpc_read) and on to the handlers, with no test-only code in
 * src/.  Errors go to <prefix>/logs/error.log; the target fails on an
 * [alert] there (our bug, as t/ tests fail on it).
 */
#ifndef ND_FUZZ_CYCLE_H
#define ND_FUZZ_CYCLE_H

#include <nd_fuzz.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <ftw.h>

/* standalone: the embedded store */
static const char  nd_fuzz_conf[] =
    "daemon off;\n"
    "pid logs/nacosd.pid;\n"
    "error_log logs/error.log warn;\n"
    "auth off;\n"                 /* the handlers behind the checks */
    "http {\n"
    "    listen 127.0.0.1:18848;\n"
    "    context_path /nacos;\n"
    "    client_max_body_size 64k;\n"
    "    client_header_max_size 16k;\n"
    "}\n";

/* a member of a cluster of two: the other member and PostgreSQL are
 * nowhere (their connects fail and back off), which the cluster port's
 * handlers do not need for what they parse and apply */
static const char  nd_fuzz_conf_cluster[] =
    "daemon off;\n"
    "pid logs/nacosd.pid;\n"
    "error_log logs/error.log warn;\n"
    "auth off;\n"
    "http { listen 127.0.0.1:18848; }\n"
    "store {\n"
    "    backend pg;\n"
    "    pg_conninfo \"hostaddr=127.0.0.1 port=1 dbname=nacos user=nacos\";\n"
    "}\n"
    "cluster {\n"
    "    member 127.0.0.1:18848;\n"
    "    member 127.0.0.1:1;\n"
    "}\n";

static int   nd_fuzz_errlog = -1;
static char  nd_fuzz_prefix[] = "/tmp/nd-fuzz-XXXXXX";


static int
nd_fuzz_rm(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
    return remove(path);
}


/* the prefix goes when the fuzzer exits (a crash leaves it to look at) */
static void
nd_fuzz_cleanup(void)
{
    nftw(nd_fuzz_prefix, nd_fuzz_rm, 16, FTW_DEPTH | FTW_PHYS);
}


static void
nd_fuzz_file(const char *dir, const char *name, const char *text)
{
    int   fd;
    char  path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t) strlen(text)) {
        abort();
    }
    close(fd);
}


static nd_cycle_t *
nd_fuzz_cycle(const char *conf)
{
    char        *dir, path[PATH_MAX];
    nd_uint_t    i;
    nd_cycle_t  *cycle;

    nd_fuzz_quiet();
    signal(SIGPIPE, SIG_IGN);

    dir = mkdtemp(nd_fuzz_prefix);
    if (dir == NULL) {
        abort();
    }
    atexit(nd_fuzz_cleanup);
    snprintf(path, sizeof(path), "%s/conf", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/logs", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/data", dir);
    mkdir(path, 0755);
    nd_fuzz_file(dir, "conf/nacosd.conf", conf);

    cycle = nd_cycle_create(dir, "conf/nacosd.conf", NULL);
    if (cycle == NULL
        || nd_cycle_load_conf(cycle, cycle->pool, &cycle->conf_ctx, 0)
           != ND_OK
        || nd_cycle_open_logs(cycle) != ND_OK)
    {
        abort();
    }

    cycle->loop = ev_default_loop(EVFLAG_AUTO);

    for (i = 0; nd_modules[i]; i++) {
        if (nd_modules[i]->init_module
            && nd_modules[i]->init_module(cycle) != ND_OK)
        {
            abort();
        }
    }
    /* registered, never opened: no accept watcher either */
    cycle->listening.nelts = 0;

    for (i = 0; nd_modules[i]; i++) {
        if (nd_modules[i]->start && nd_modules[i]->start(cycle) != ND_OK) {
            abort();
        }
    }

    snprintf(path, sizeof(path), "%s/logs/error.log", dir);
    nd_fuzz_errlog = open(path, O_RDONLY);
    if (nd_fuzz_errlog < 0) {
        abort();
    }
    lseek(nd_fuzz_errlog, 0, SEEK_END);

    return cycle;
}


/* what error.log got since last time must not hold an [alert] */
static void
nd_fuzz_check_log(void)
{
    char   line[4096];
    FILE  *f;

    static FILE  *log;

    /* "2026/01/31 12:00:00 [alert] ..." -- the level where the log puts
     * it, not a client's text that says "[alert]" */
    if (log == NULL) {
        log = fdopen(nd_fuzz_errlog, "r");
        if (log == NULL) {
            abort();
        }
    }
    f = log;

    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line + 19 * (strlen(line) > 19), " [alert] ", 9) == 0) {
            fprintf(stderr, "error.log: %s\n", line);
            abort();
        }
    }
    clearerr(f);
}


/* a connection whose client end is *peer */
static nd_connection_t *
nd_fuzz_connection(nd_cycle_t *cycle, int *peer)
{
    int               sv[2];
    nd_connection_t  *c;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                   sv) != 0)
    {
        abort();
    }

    c = nd_connection_create(cycle, sv[0], NULL);
    if (c == NULL) {
        abort();
    }
    snprintf(c->addr.host, sizeof(c->addr.host), "127.0.0.1");
    c->addr.port = 40000;
    *peer = sv[1];

    return c;
}


/* one loop pass, then what the server wrote is read and dropped */
static void
nd_fuzz_pass(nd_cycle_t *cycle, int peer)
{
    char     buf[65536];
    ssize_t  n;

    static int  echo = -1;

    if (echo == -1) {
        echo = getenv("ND_FUZZ_ECHO") != NULL;  /* to see what it does */
    }

    ev_run(cycle->loop, EVRUN_NOWAIT);
    while ((n = read(peer, buf, sizeof(buf))) > 0) {
        if (echo) {
            fwrite(buf, 1, (size_t) n, stderr);
        }
    }
}


/* the client closes; the loop runs until the server side is closed too
 * (bounded: a connection that stays is left to the next run) */
static void
nd_fuzz_hangup(nd_cycle_t *cycle, int peer, nd_uint_t before)
{
    int  i;

    shutdown(peer, SHUT_WR);
    for (i = 0; i < 50 && cycle->connection_n > before; i++) {
        nd_fuzz_pass(cycle, peer);
    }
    close(peer);
    for (i = 0; i < 10 && cycle->connection_n > before; i++) {
        ev_run(cycle->loop, EVRUN_NOWAIT);
    }
    nd_fuzz_check_log();
}


/*
 * A client's byte stream to a new connection that init makes ours (the
 * real accept path's handler): the input is written in pieces, cut where
 * sep stands; the byte after sep gives n % 4 + 1 loop passes between the
 * pieces.  Then the client hangs up.
 */
static inline void
nd_fuzz_stream(nd_cycle_t *cycle, void (*init)(nd_connection_t *c),
    const char *sep, size_t seplen, const uint8_t *data, size_t size)
{
    int               peer, passes;
    size_t            len;
    nd_uint_t         before;
    const uint8_t    *cut;
    nd_connection_t  *c;

    before = cycle->connection_n;
    c = nd_fuzz_connection(cycle, &peer);
    init(c);

    while (size) {
        cut = memmem(data, size, sep, seplen);
        len = cut && (size_t) (cut - data) + seplen < size
              ? (size_t) (cut - data) : size;
        passes = len < size ? data[len + seplen] % 4 + 1 : 1;

        if (len && write(peer, data, len) != (ssize_t) len) {
            break;                      /* the server closed: done */
        }
        while (passes--) {
            nd_fuzz_pass(cycle, peer);
        }

        if (len == size) {
            break;
        }
        data += len + seplen + 1;
        size -= len + seplen + 1;
    }

    nd_fuzz_hangup(cycle, peer, before);
}

#endif /* ND_FUZZ_CYCLE_H */

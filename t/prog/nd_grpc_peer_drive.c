/*
 * Test-only program (never in the release binary): drives the outbound
 * gRPC peer API (nd_grpc_client.h) against a real server, step by step,
 * and prints what happened, one line per event, for t/grpc_peer.t.
 *
 *   nd_grpc_peer_drive [-i MAX_INFLIGHT] [-m MAX_MESSAGE] IP:PORT STEP...
 *
 *   wait_state          run until the state handler is called; prints
 *                       "state up=1 err=0" / "state up=0 err=ECONNREFUSED"
 *   calls N TYPE [MS]   N concurrent calls of TYPE, wait for them all;
 *                       prints "calls n=N OK=.. types=T:n ids=I conns=C
 *                       inflight=F" (ids: distinct connectionId answers)
 *   call TYPE MS        one call, wait; prints "done rc=.. type=.. body=.."
 *   send TYPE MS        one call, do not wait for it
 *   wait_calls          wait for every call sent; prints each "done ..."
 *   sleep MS            run the loop for MS
 *   signal SIG PID      kill(PID, SIG) (SIG a number)
 *   kick                nd_grpc_peer_kick
 *   connected           prints "connected 0|1"
 *   destroy             nd_grpc_peer_destroy (pending calls: ABORT)
 *   destroy_in_cb       the next callback destroys the peer
 *   big BYTES MS        one ServerCheckRequest with a BYTES long field,
 *                       sent and waited for
 *
 * Every step has a 10 s limit; one that runs out prints "timeout STEP"
 * and the program exits 2.
 */
#include <nd_core.h>

#ifdef ND_WITH_GRPC

#include <nd_grpc_client.h>

#define LIMIT  10000

typedef struct {
    nd_grpc_peer_t  *peer;
    int              states;        /* state calls seen */
    int              pending;       /* calls not answered */
    int              waited;        /* print each answer */
    int              counts[8];     /* by -rc */
    char             types[1024];
    char             ids[64][128];
    int              nids;
    int              destroy_in_cb;
} drive_t;

static drive_t  d;


static const char *
rc_name(nd_int_t rc)
{
    switch (rc) {
    case ND_OK: return "OK";
    case ND_AGAIN: return "AGAIN";
    case ND_DECLINED: return "DECLINED";
    case ND_ERROR: return "ERROR";
    case ND_ABORT: return "ABORT";
    default: return "?";
    }
}


static void
on_state(nd_grpc_peer_t *peer, int up, int err, void *data)
{
    d.states++;
    printf("state up=%d err=%s\n", up, err ? strerrorname_np(err) : "0");
    fflush(stdout);
}


static void
count_type(const char *type)
{
    char   key[160], *p;
    int    n;

    snprintf(key, sizeof(key), "%s:", type);
    p = strstr(d.types, key);
    if (p == NULL) {
        snprintf(d.types + strlen(d.types), sizeof(d.types) - strlen(d.types),
                 "%s1,", key);
        return;
    }

    /* bump the count in place: rebuild the list */
    {
        char  rebuilt[1024], *s, *save;

        rebuilt[0] = '\0';
        for (s = strtok_r(d.types, ",", &save); s;
             s = strtok_r(NULL, ",", &save))
        {
            if (strncmp(s, key, strlen(key)) == 0) {
                n = atoi(s + strlen(key)) + 1;
                snprintf(rebuilt + strlen(rebuilt),
                         sizeof(rebuilt) - strlen(rebuilt), "%s%d,", key, n);
            } else {
                snprintf(rebuilt + strlen(rebuilt),
                         sizeof(rebuilt) - strlen(rebuilt), "%s,", s);
            }
        }
        snprintf(d.types, sizeof(d.types), "%s", rebuilt);
    }
}


static void
count_id(json_t *body)
{
    int          i;
    const char  *id;

    id = nd_json_get_str(body, "connectionId", NULL);
    if (id == NULL) {
        return;
    }

    for (i = 0; i < d.nids; i++) {
        if (strcmp(d.ids[i], id) == 0) {
            return;
        }
    }

    if (d.nids < 64) {
        snprintf(d.ids[d.nids++], sizeof(d.ids[0]), "%s", id);
    }
}


static void
on_done(nd_int_t rc, const char *type, json_t *body, void *data)
{
    char  *s;

    d.pending--;
    d.counts[-rc]++;

    if (rc == ND_OK) {
        count_type(type);
        count_id(body);
    }

    if (d.waited) {
        s = body ? json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        printf("done rc=%s type=%s body=%s\n", rc_name(rc),
               type ? type : "-", s ? s : "-");
        fflush(stdout);
        free(s);
    }

    if (d.destroy_in_cb && d.peer) {
        d.destroy_in_cb = 0;
        printf("destroying in a callback\n");
        nd_grpc_peer_destroy(d.peer);
        d.peer = NULL;
    }
}


static void
tick(struct ev_loop *loop, ev_timer *w, int revents)
{
}


/* run the loop until *flag passes want, or ms went by: 0 when it did */
static int
run_until(int *value, int want, int above, nd_msec_t ms)
{
    nd_msec_t  deadline;

    deadline = nd_time_monotonic_msec() + ms;

    while (nd_time_monotonic_msec() < deadline) {
        if (value && (above ? *value > want : *value <= want)) {
            return 0;
        }
        ev_run(nd_cycle->loop, EVRUN_ONCE);
    }

    return value ? -1 : 0;
}


static int
call(const char *type, nd_msec_t ms, size_t pad)
{
    char    *fill;
    json_t  *body, *headers;
    int      rc;

    if (d.peer == NULL) {
        printf("call rc=NOPEER\n");
        return ND_ERROR;
    }

    body = json_pack("{s:s, s:{}}", "module", "internal", "headers");
    if (pad) {
        fill = malloc(pad + 1);
        memset(fill, 'x', pad);
        fill[pad] = '\0';
        json_object_set_new(body, "pad", json_string(fill));
        free(fill);
    }
    headers = json_pack("{s:s}", "test", "nd_grpc_peer_drive");

    d.pending++;
    rc = nd_grpc_peer_call(d.peer, type, body, headers, ms, on_done, NULL);
    json_decref(headers);

    if (rc != ND_OK) {
        d.pending--;
        printf("call rc=%s\n", rc_name(rc));
    }

    return rc;
}


int
main(int argc, char **argv)
{
    int                   a, i, n, states, limit_hit;
    nd_msec_t             ms;
    nd_uint_t             inflight;
    const char           *type;
    ev_timer              t;
    nd_str_t              s;
    nd_cycle_t           *cycle;
    nd_event_conf_t      *ecf;
    nd_grpc_peer_conf_t   conf;

    memset(&conf, 0, sizeof(conf));
    a = 1;

    while (a + 1 < argc && argv[a][0] == '-') {
        if (strcmp(argv[a], "-i") == 0) {
            conf.max_inflight = (nd_uint_t) atol(argv[a + 1]);
        } else if (strcmp(argv[a], "-m") == 0) {
            conf.max_message_size = (size_t) atol(argv[a + 1]);
        }
        a += 2;
    }

    if (a >= argc) {
        fprintf(stderr, "usage: %s [-i N] [-m N] IP:PORT STEP...\n",
                argv[0]);
        return 1;
    }

    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    cycle = nd_cycle_create("/tmp", "/dev/null", NULL);
    cycle->error_log.level = ND_LOG_INFO;
    cycle->conf_ctx = nd_pcalloc(cycle->pool, cycle->modules_n
                                              * sizeof(void *));
    ecf = nd_event_module.create_conf(cycle);
    cycle->conf_ctx[nd_event_module.index] = ecf;
    nd_event_module.init_conf(cycle, ecf);
    cycle->loop = ev_default_loop(EVFLAG_AUTO);
    nd_event_module.init_module(cycle);
    nd_event_module.start(cycle);

    ev_timer_init(&t, tick, 0.05, 0.05);
    ev_timer_start(cycle->loop, &t);

    s.data = (u_char *) argv[a];
    s.len = strlen(argv[a]);
    if (nd_parse_addr(&s, &conf.addr) != ND_OK) {
        fprintf(stderr, "bad address %s\n", argv[a]);
        return 1;
    }
    conf.connect_timeout = 1000;
    conf.backoff_min = 200;
    conf.backoff_max = 1000;
    conf.source = "cluster";
    conf.state_handler = on_state;

    d.peer = nd_grpc_peer_create(cycle, &conf);
    limit_hit = 0;

    for (i = a + 1; i < argc && !limit_hit; i++) {

        if (strcmp(argv[i], "wait_state") == 0) {
            states = d.states;
            limit_hit = run_until(&d.states, states, 1, LIMIT);

        } else if (strcmp(argv[i], "calls") == 0 && i + 2 < argc) {
            n = atoi(argv[++i]);
            type = argv[++i];
            ms = 5000;
            if (i + 1 < argc && argv[i + 1][0] >= '0'
                && argv[i + 1][0] <= '9')
            {
                ms = (nd_msec_t) atoi(argv[++i]);
            }
            memset(d.counts, 0, sizeof(d.counts));
            d.types[0] = '\0';
            d.nids = 0;
            d.waited = 0;
            while (n-- > 0 && d.peer) {
                call(type, ms, 0);
            }
            inflight = nd_grpc_peer_inflight(d.peer);
            limit_hit = run_until(&d.pending, 0, 0, LIMIT);
            printf("calls n=%d OK=%d AGAIN=%d DECLINED=%d ERROR=%d "
                   "types=%s ids=%d conns=%lu inflight=%lu\n",
                   d.counts[0] + d.counts[2] + d.counts[5] + d.counts[1],
                   d.counts[0], d.counts[2], d.counts[5], d.counts[1],
                   d.types, d.nids, (unsigned long) cycle->connection_n,
                   (unsigned long) inflight);

        } else if (strcmp(argv[i], "call") == 0 && i + 2 < argc) {
            d.waited = 1;
            call(argv[i + 1], (nd_msec_t) atoi(argv[i + 2]), 0);
            i += 2;
            limit_hit = run_until(&d.pending, 0, 0, LIMIT);

        } else if (strcmp(argv[i], "send") == 0 && i + 2 < argc) {
            d.waited = 1;
            call(argv[i + 1], (nd_msec_t) atoi(argv[i + 2]), 0);
            i += 2;

        } else if (strcmp(argv[i], "wait_calls") == 0) {
            limit_hit = run_until(&d.pending, 0, 0, LIMIT);

        } else if (strcmp(argv[i], "sleep") == 0 && i + 1 < argc) {
            run_until(NULL, 0, 0, (nd_msec_t) atoi(argv[++i]));

        } else if (strcmp(argv[i], "signal") == 0 && i + 2 < argc) {
            kill((pid_t) atoi(argv[i + 2]), atoi(argv[i + 1]));
            i += 2;

        } else if (strcmp(argv[i], "kick") == 0) {
            nd_grpc_peer_kick(d.peer);

        } else if (strcmp(argv[i], "connected") == 0) {
            printf("connected %d\n", nd_grpc_peer_connected(d.peer));

        } else if (strcmp(argv[i], "big") == 0 && i + 2 < argc) {
            d.waited = 1;
            call("ServerCheckRequest", (nd_msec_t) atoi(argv[i + 2]),
                 (size_t) atol(argv[i + 1]));
            i += 2;
            limit_hit = run_until(&d.pending, 0, 0, LIMIT);

        } else if (strcmp(argv[i], "destroy_in_cb") == 0) {
            d.destroy_in_cb = 1;

        } else if (strcmp(argv[i], "destroy") == 0) {
            d.waited = 1;
            nd_grpc_peer_destroy(d.peer);
            d.peer = NULL;

        } else {
            fprintf(stderr, "bad step %s\n", argv[i]);
            return 1;
        }

        if (limit_hit) {
            printf("timeout %s\n", argv[i]);
        }
    }

    if (d.peer) {
        nd_grpc_peer_destroy(d.peer);
    }

    /* closes run in the loop pass */
    ev_run(cycle->loop, EVRUN_NOWAIT);
    ev_timer_stop(cycle->loop, &t);
    nd_event_module.exit(cycle);
    ev_loop_destroy(cycle->loop);
    nd_cycle_destroy(cycle);

    printf("end\n");

    return limit_hit ? 2 : 0;
}

#else

int
main(void)
{
    fprintf(stderr, "built without the grpc module\n");
    return 1;
}

#endif

/*
 * Test-only program: drives libnacos (nacos.h only, linked with
 * libnacos.a) against real nacosd nodes, step by step, one line a step or
 * event on stdout, for t/client_*.t.
 *
 *   nd_client_drive [-l LISTEN_MS] [-h HEALTH_MS] [-t TIMEOUT_MS]
 *                   [-n NAMESPACE] [-e 1] SERVERS STEP...
 *
 * -e 1: the client is embedded in a loop of ours (conf.loop), which must
 * outlive it.
 *
 *   ready                     wait for a connection: "ready SERVER"
 *   get D G                   "get rc=R content=C md5=M"
 *   publish D G C [CAS]       "publish rc=R"
 *   remove D G                "remove rc=R"
 *   listen D G / unlisten D G "listen rc=R"
 *   wait_listens [N]          run until one more ConfigBatchListenRequest
 *                             went out (N: N in all): "listens N"
 *   wait_change [N]           run until a listener is called (N: until
 *                             N calls in all); each call prints
 *                             "change D G MD5 CONTENT|-"
 *   register S IP PORT [persistent] / deregister S IP PORT
 *                             "register rc=R"
 *   batch S IP:PORT...        "batch rc=R"
 *   query S                   "query rc=R hosts=IP:PORT,..."
 *   subscribe S               "subscribe rc=R"; each callback prints
 *                             "service S hosts=IP:PORT,..."
 *   wait_service [N]          run until a subscriber callback (N: N in
 *                             all)
 *   mark                      remember the server in use
 *   wait_moved                run until ready on a server not the marked
 *                             one: "moved SERVER"
 *   reset [IP:PORT]           ask the server in use to send us a
 *                             ConnectResetRequest (loader reloadClient)
 *   kill_current PORT=PID,... SIGKILL the node the client is on
 *   publish_at ADDR D G C     publish through a second client on ADDR:
 *                             "publish_at rc=R"
 *   wait_hosts_at ADDR S H    query S through a second client on ADDR
 *                             until its hosts are H: "hosts_at ADDR H"
 *   server_listeners D G      how many listen to D G on the server in use
 *                             (GET /v1/cs/configs/listener):
 *                             "server_listeners D G N"
 *   stats                     "stats connects=.. listens=.. ..."
 *   sleep MS
 *
 * Every wait has a 10 s limit; one that runs out prints "timeout STEP"
 * and the program exits 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <jansson.h>
#include <ev.h>
#include <nacos.h>

#define LIMIT_MS  10000

static int  changes, services;


static void
hosts_of(const char *info, char *out, size_t size)
{
    size_t        i, n;
    json_t       *j, *hosts, *h;
    json_error_t  err;

    out[0] = '\0';
    j = json_loads(info, 0, &err);
    hosts = json_object_get(j, "hosts");
    n = 0;

    json_array_foreach(hosts, i, h) {
        n += (size_t) snprintf(out + n, size - n, "%s%s:%d", i ? "," : "",
                               json_string_value(json_object_get(h, "ip")),
                               (int) json_integer_value(
                                   json_object_get(h, "port")));
        if (n >= size) {
            break;
        }
    }

    json_decref(j);
}


static void
on_change(nacos_client_t *c, const char *d, const char *g,
    const char *content, const char *md5, void *data)
{
    changes++;
    printf("change %s %s %s %s\n", d, g, md5[0] ? md5 : "-",
           content ? content : "-");
}


static void
on_service(nacos_client_t *c, const char *s, const char *g,
    const char *info, void *data)
{
    char  hosts[4096];

    services++;
    hosts_of(info, hosts, sizeof(hosts));
    printf("service %s hosts=%s\n", s, hosts);
}


static long
now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


static unsigned long
listens(nacos_client_t *c)
{
    nacos_stats_t  st;

    nacos_client_stats(c, &st);
    return st.listen_requests;
}


/* "wait_x N": N callbacks in all (they may have come while a blocking
 * call ran the loop); "wait_x": one more */
static int
total_given(int i, int argc, char **argv)
{
    return i + 1 < argc && argv[i + 1][0] >= '0' && argv[i + 1][0] <= '9';
}


static int
run_until_total(nacos_client_t *c, int *v, int i, int argc, char **argv)
{
    int   want;
    long  deadline = now_ms() + LIMIT_MS;

    want = total_given(i, argc, argv) ? atoi(argv[i + 1]) : *v + 1;

    while (*v < want && now_ms() < deadline) {
        nacos_client_run(c, 20);
    }

    return *v < want ? -1 : 0;
}


static nacos_client_t *
other(const char *addr)
{
    char           err[256];
    nacos_conf_t   conf;

    memset(&conf, 0, sizeof(conf));
    conf.servers = addr;
    conf.app_name = "nd_client_drive";
    return nacos_client_new(&conf, err, sizeof(err));
}


static nacos_instance_t *
inst(const char *ip, const char *port, int persistent)
{
    static nacos_instance_t  i;

    memset(&i, 0, sizeof(i));
    i.ip = ip;
    i.port = atoi(port);
    i.persistent = persistent;

    return &i;
}


int
main(int argc, char **argv)
{
    int             a, i, rc, limit_hit, v;
    char            err[256], *content, md5[33], *info, hosts[4096];
    char            marked[80], path[512];
    long            deadline;
    nacos_conf_t    conf;
    nacos_stats_t   st;
    nacos_client_t *c;

    memset(&conf, 0, sizeof(conf));
    a = 1;
    while (a + 1 < argc && argv[a][0] == '-') {
        switch (argv[a][1]) {
        case 'l': conf.listen_interval_ms = (unsigned) atoi(argv[a + 1]);
                  break;
        case 'h': conf.health_interval_ms = (unsigned) atoi(argv[a + 1]);
                  break;
        case 't': conf.timeout_ms = (unsigned) atoi(argv[a + 1]); break;
        case 'n': conf.namespace_id = argv[a + 1]; break;
        case 'e': conf.loop = ev_loop_new(EVFLAG_AUTO); break;
        }
        a += 2;
    }

    if (a >= argc) {
        fprintf(stderr, "usage: nd_client_drive [-l MS] SERVERS STEP...\n");
        return 1;
    }

    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    conf.servers = argv[a];
    conf.app_name = "nd_client_drive";
    conf.backoff_max_ms = 500;
    conf.trace = getenv("ND_CLIENT_TRACE") != NULL;

    c = nacos_client_new(&conf, err, sizeof(err));
    if (c == NULL) {
        printf("new failed: %s\n", err);
        return 1;
    }

    limit_hit = 0;
    marked[0] = '\0';

    for (i = a + 1; i < argc && !limit_hit; i++) {
        const char  *s = argv[i];
        int          left = argc - i - 1;

        if (strcmp(s, "ready") == 0) {
            rc = nacos_client_wait_ready(c, LIMIT_MS);
            printf("ready %s\n", rc == NACOS_OK ? nacos_client_server(c)
                                                : nacos_errmsg(c));
            limit_hit = rc != NACOS_OK;

        } else if (strcmp(s, "get") == 0 && left >= 2) {
            rc = nacos_config_get(c, argv[i + 1], argv[i + 2], &content,
                                  md5);
            printf("get rc=%d content=%s md5=%s\n", rc,
                   rc == 0 ? content : "-", rc == 0 ? md5 : "-");
            if (rc == 0) {
                free(content);
            }
            i += 2;

        } else if (strcmp(s, "publish") == 0 && left >= 3) {
            rc = nacos_config_publish(c, argv[i + 1], argv[i + 2],
                                      argv[i + 3],
                                      left >= 4 && argv[i + 4][0] != '\0'
                                      && strlen(argv[i + 4]) == 32
                                      ? argv[i + 4] : NULL, NULL);
            printf("publish rc=%d\n", rc);
            i += (left >= 4 && strlen(argv[i + 4]) == 32) ? 4 : 3;

        } else if (strcmp(s, "remove") == 0 && left >= 2) {
            rc = nacos_config_remove(c, argv[i + 1], argv[i + 2]);
            printf("remove rc=%d\n", rc);
            i += 2;

        } else if (strcmp(s, "listen") == 0 && left >= 2) {
            rc = nacos_config_listen(c, argv[i + 1], argv[i + 2], on_change,
                                     NULL);
            printf("listen rc=%d\n", rc);
            i += 2;

        } else if (strcmp(s, "unlisten") == 0 && left >= 2) {
            rc = nacos_config_unlisten(c, argv[i + 1], argv[i + 2],
                                       on_change, NULL);
            printf("unlisten rc=%d\n", rc);
            i += 2;

        } else if (strcmp(s, "wait_listens") == 0) {
            unsigned long  want = total_given(i, argc, argv)
                                  ? (unsigned long) atol(argv[i + 1])
                                  : listens(c) + 1;

            i += total_given(i, argc, argv);
            deadline = now_ms() + LIMIT_MS;
            while (listens(c) < want && now_ms() < deadline) {
                nacos_client_run(c, 20);
            }
            limit_hit = listens(c) < want;
            printf("listens %lu\n", listens(c));

        } else if (strcmp(s, "wait_change") == 0) {
            limit_hit = run_until_total(c, &changes, i, argc, argv);
            i += total_given(i, argc, argv);

        } else if ((strcmp(s, "register") == 0
                    || strcmp(s, "deregister") == 0) && left >= 3)
        {
            int  persistent = left >= 4
                              && strcmp(argv[i + 4], "persistent") == 0;

            rc = s[0] == 'r'
                 ? nacos_naming_register(c, argv[i + 1], NULL,
                                         inst(argv[i + 2], argv[i + 3],
                                              persistent))
                 : nacos_naming_deregister(c, argv[i + 1], NULL,
                                           inst(argv[i + 2], argv[i + 3],
                                                persistent));
            printf("%s rc=%d\n", s, rc);
            i += 3 + persistent;

        } else if (strcmp(s, "batch") == 0 && left >= 2) {
            nacos_instance_t  list[16];
            char              ips[16][64];
            int               n = 0;

            memset(list, 0, sizeof(list));
            while (i + 2 + n < argc && n < 16
                   && strchr(argv[i + 2 + n], ':'))
            {
                snprintf(ips[n], sizeof(ips[n]), "%s", argv[i + 2 + n]);
                *strchr(ips[n], ':') = '\0';
                list[n].ip = ips[n];
                list[n].port = atoi(strchr(argv[i + 2 + n], ':') + 1);
                n++;
            }
            rc = nacos_naming_batch_register(c, argv[i + 1], NULL, list,
                                             (size_t) n);
            printf("batch rc=%d\n", rc);
            i += 1 + n;

        } else if (strcmp(s, "query") == 0 && left >= 1) {
            rc = nacos_naming_query(c, argv[i + 1], NULL, NULL, 0, &info);
            hosts[0] = '\0';
            if (rc == 0) {
                hosts_of(info, hosts, sizeof(hosts));
                free(info);
            }
            printf("query rc=%d hosts=%s\n", rc, hosts);
            i += 1;

        } else if (strcmp(s, "subscribe") == 0 && left >= 1) {
            rc = nacos_naming_subscribe(c, argv[i + 1], NULL, on_service,
                                        NULL);
            printf("subscribe rc=%d\n", rc);
            i += 1;

        } else if (strcmp(s, "wait_service") == 0) {
            limit_hit = run_until_total(c, &services, i, argc, argv);
            i += total_given(i, argc, argv);

        } else if (strcmp(s, "mark") == 0) {
            snprintf(marked, sizeof(marked), "%s", nacos_client_server(c));

        } else if (strcmp(s, "wait_moved") == 0) {
            deadline = now_ms() + LIMIT_MS;
            while ((!nacos_client_connected(c)
                    || strcmp(nacos_client_server(c), marked) == 0)
                   && now_ms() < deadline)
            {
                nacos_client_run(c, 20);
            }
            limit_hit = !nacos_client_connected(c)
                        || strcmp(nacos_client_server(c), marked) == 0;
            printf("moved %s\n", nacos_client_server(c));

        } else if (strcmp(s, "reset") == 0) {
            int    status = 0;
            char  *body = NULL;

            snprintf(path, sizeof(path), "/nacos/v2/core/loader/reloadClient"
                     "?connectionId=%s%s%s", nacos_client_connection_id(c),
                     left >= 1 && strchr(argv[i + 1], ':')
                     ? "&redirectAddress=" : "",
                     left >= 1 && strchr(argv[i + 1], ':') ? argv[i + 1]
                                                           : "");
            if (left >= 1 && strchr(argv[i + 1], ':')) {
                i++;
            }
            rc = nacos_http(c, "GET", path, NULL, &status, &body);
            printf("reset rc=%d status=%d body=%s\n", rc, status,
                   body ? body : "-");
            free(body);

        } else if (strcmp(s, "kill_current") == 0 && left >= 1) {
            char   map[1024], *e, *save;
            const char  *port = strchr(nacos_client_server(c), ':');

            snprintf(map, sizeof(map), "%s", argv[++i]);
            for (e = strtok_r(map, ",", &save); e && port;
                 e = strtok_r(NULL, ",", &save))
            {
                if (strncmp(e, port + 1, strlen(port + 1)) == 0
                    && e[strlen(port + 1)] == '=')
                {
                    kill((pid_t) atoi(strchr(e, '=') + 1), SIGKILL);
                    printf("killed %s\n", nacos_client_server(c));
                }
            }

        } else if (strcmp(s, "publish_at") == 0 && left >= 4) {
            nacos_client_t  *o = other(argv[i + 1]);

            rc = o ? nacos_config_publish(o, argv[i + 2], argv[i + 3],
                                          argv[i + 4], NULL, NULL)
                   : NACOS_ENOMEM;
            printf("publish_at rc=%d\n", rc);
            nacos_client_free(o);
            i += 4;

        } else if (strcmp(s, "wait_hosts_at") == 0 && left >= 3) {
            nacos_client_t  *o = other(argv[i + 1]);

            deadline = now_ms() + LIMIT_MS;
            hosts[0] = '\0';
            while (o && strcmp(hosts, argv[i + 3]) != 0
                   && now_ms() < deadline)
            {
                if (nacos_naming_query(o, argv[i + 2], NULL, NULL, 0, &info)
                    == NACOS_OK)
                {
                    hosts_of(info, hosts, sizeof(hosts));
                    free(info);
                }
                if (strcmp(hosts, argv[i + 3]) != 0) {
                    nacos_client_run(o, 100);
                }
            }
            limit_hit = strcmp(hosts, argv[i + 3]) != 0;
            printf("hosts_at %s %s\n", argv[i + 1], hosts);
            nacos_client_free(o);
            i += 3;

        } else if (strcmp(s, "server_listeners") == 0 && left >= 2) {
            int            status = 0;
            char          *body = NULL;
            json_t        *j;
            json_error_t   jerr;

            snprintf(path, sizeof(path), "/nacos/v1/cs/configs/listener"
                     "?dataId=%s&group=%s", argv[i + 1], argv[i + 2]);
            rc = nacos_http(c, "GET", path, NULL, &status, &body);
            j = rc == NACOS_OK ? json_loads(body, 0, &jerr) : NULL;
            printf("server_listeners %s %s %d\n", argv[i + 1], argv[i + 2],
                   j ? (int) json_object_size(json_object_get(j,
                                          "lisentersGroupkeyStatus")) : -1);
            json_decref(j);
            free(body);
            i += 2;

        } else if (strcmp(s, "stats") == 0) {
            nacos_client_stats(c, &st);
            printf("stats connects=%lu listens=%lu config_pushes=%lu "
                   "naming_pushes=%lu resets=%lu redo_instances=%lu "
                   "redo_subscribes=%lu\n", st.connects, st.listen_requests,
                   st.config_pushes, st.naming_pushes, st.resets,
                   st.redo_instances, st.redo_subscribes);

        } else if (strcmp(s, "sleep") == 0 && left >= 1) {
            v = atoi(argv[++i]);
            nacos_client_run(c, (unsigned) v);

        } else {
            fprintf(stderr, "bad step %s\n", s);
            nacos_client_free(c);
            return 1;
        }

        if (limit_hit) {
            printf("timeout %s\n", s);
        }
    }

    nacos_client_free(c);
    if (conf.loop) {
        /* still ours after the client went */
        ev_run(conf.loop, EVRUN_NOWAIT);
        ev_loop_destroy(conf.loop);
        printf("own loop ok\n");
    }
    printf("end\n");

    return limit_hit ? 2 : 0;
}

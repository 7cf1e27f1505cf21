/*
 * libnacos load for bench/85-client.bench (built against libnacos.a):
 *
 *   nd_client_bench SERVERS get N         N blocking config gets, one key
 *   nd_client_bench SERVERS health N      N HealthCheckRequests (nacos_request):
 *                                         the bare round trip, the reference
 *   nd_client_bench SERVERS register N    N blocking registers (N services)
 *   nd_client_bench SERVERS listeners N   N listeners (N keys), until every
 *                                         key was read and listened once
 *
 * prints "rate R/s" (calls per second) or, for listeners, "rss BEFORE
 * AFTER" in KB of this process, with its time to sync.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <nacos.h>


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}


static long
rss_kb(void)
{
    char   line[256];
    long   kb = 0;
    FILE  *f = fopen("/proc/self/status", "r");

    while (f && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = atol(line + 6);
        }
    }
    if (f) {
        fclose(f);
    }
    return kb;
}


static void
on_config(nacos_client_t *c, const char *d, const char *g, const char *content,
    const char *md5, void *data)
{
}


int
main(int argc, char **argv)
{
    int               i, n, rc;
    char              err[256], key[64], *content, *resp;
    long              before;
    double            t0;
    nacos_conf_t      conf;
    nacos_stats_t     st;
    nacos_client_t   *c;
    nacos_instance_t  inst;

    if (argc < 4) {
        fprintf(stderr, "usage: nd_client_bench SERVERS MODE N\n");
        return 1;
    }

    n = atoi(argv[3]);
    memset(&conf, 0, sizeof(conf));
    conf.servers = argv[1];
    conf.timeout_ms = 30000;

    before = rss_kb();
    c = nacos_client_new(&conf, err, sizeof(err));
    if (c == NULL || nacos_client_wait_ready(c, 5000) != NACOS_OK) {
        fprintf(stderr, "bench: %s\n", c ? nacos_errmsg(c) : err);
        return 1;
    }

    rc = NACOS_OK;
    t0 = now();

    if (strcmp(argv[2], "get") == 0) {
        rc = nacos_config_publish(c, "bench.get", "BENCH", "x=1", NULL, NULL);
        t0 = now();
        for (i = 0; i < n && rc == NACOS_OK; i++) {
            rc = nacos_config_get(c, "bench.get", "BENCH", &content, NULL);
            free(rc == NACOS_OK ? content : NULL);
        }

    } else if (strcmp(argv[2], "health") == 0) {
        for (i = 0; i < n && rc == NACOS_OK; i++) {
            rc = nacos_request(c, "HealthCheckRequest",
                               "{\"module\":\"internal\"}", NULL, &resp);
            free(rc == NACOS_OK ? resp : NULL);
        }

    } else if (strcmp(argv[2], "register") == 0) {
        memset(&inst, 0, sizeof(inst));
        inst.ip = "10.9.9.9";
        inst.port = 80;
        for (i = 0; i < n && rc == NACOS_OK; i++) {
            snprintf(key, sizeof(key), "bench-svc-%d", i);
            rc = nacos_naming_register(c, key, "BENCH", &inst);
        }

    } else if (strcmp(argv[2], "listeners") == 0) {
        before = rss_kb();
        for (i = 0; i < n && rc == NACOS_OK; i++) {
            snprintf(key, sizeof(key), "bench.listen.%d", i);
            rc = nacos_config_listen(c, key, "BENCH", on_config, NULL);
        }
        /* every key read once, then listened (the bell after the reads) */
        do {
            nacos_client_run(c, 50);
            nacos_client_stats(c, &st);
        } while ((st.config_queries < (unsigned long) n
                  || st.listen_requests == 0) && now() - t0 < 120);
        nacos_client_run(c, 500);
        printf("rss %ld %ld synced in %.2f s\n", before, rss_kb(),
               now() - t0);
        nacos_client_free(c);
        return 0;
    }

    if (rc != NACOS_OK) {
        fprintf(stderr, "bench: %s\n", nacos_errmsg(c));
        return 1;
    }

    printf("rate %.0f\n", n / (now() - t0));
    nacos_client_free(c);

    return 0;
}

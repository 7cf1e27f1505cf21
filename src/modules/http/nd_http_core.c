/*
 * Core endpoints: health, the standalone cluster view, and (debug builds
 * only) echo and sleep routes the tests use to drive the HTTP engine.
 */
#include <nd_http_internal.h>

static nd_int_t nd_http_liveness(nd_http_request_t *r);
static nd_int_t nd_http_readiness(nd_http_request_t *r);
static nd_int_t nd_http_prometheus(nd_http_request_t *r);
#if !(ND_WITH_CLUSTER)
static nd_int_t nd_http_cluster_nodes(nd_http_request_t *r);
#endif
#ifdef ND_DEBUG
static nd_int_t nd_http_debug_echo(nd_http_request_t *r);
static nd_int_t nd_http_debug_sleep(nd_http_request_t *r);
#endif

static const nd_http_route_t  nd_http_core_routes[] = {
    { ND_HTTP_GET, nd_string("/v1/console/health/liveness"),
      nd_http_liveness },
    { ND_HTTP_GET, nd_string("/v1/console/health/readiness"),
      nd_http_readiness },
    { ND_HTTP_GET, nd_string("/actuator/prometheus"), nd_http_prometheus },
#if !(ND_WITH_CLUSTER)
    { ND_HTTP_GET, nd_string("/v1/core/cluster/nodes"),
      nd_http_cluster_nodes },
#endif
#ifdef ND_DEBUG
    { ND_HTTP_ANY, nd_string("/v1/core/debug/echo"), nd_http_debug_echo },
    { ND_HTTP_GET, nd_string("/v1/core/debug/sleep"), nd_http_debug_sleep },
#endif
    nd_http_null_route
};


nd_int_t
nd_http_core_init(nd_cycle_t *cycle)
{
    return nd_http_add_routes(cycle, nd_http_core_routes);
}


static nd_int_t
nd_http_liveness(nd_http_request_t *r)
{
    return nd_http_send(r, 200, NULL, "OK", 2);
}


static nd_int_t
nd_http_readiness(nd_http_request_t *r)
{
    if (!nd_modules_ready(nd_cycle) || nd_cycle->stopping) {
        return nd_http_send(r, 503, NULL, "server is not ready",
                            sizeof("server is not ready") - 1);
    }

    return nd_http_send(r, 200, NULL, "OK", 2);
}


/* the metrics of every module, in the Prometheus text format 0.0.4 */
static nd_int_t
nd_http_prometheus(nd_http_request_t *r)
{
    nd_int_t  rc;
    nd_buf_t  out;

    nd_buf_init(&out);

    if (nd_metrics_render(nd_cycle, &out) != ND_OK) {
        nd_buf_free(&out);
        return ND_ERROR;
    }

    rc = nd_http_send(r, 200, "text/plain; version=0.0.4; charset=utf-8",
                      nd_buf_start(&out), nd_buf_size(&out));
    nd_buf_free(&out);

    return rc;
}


json_t *
nd_http_member_json(const char *host, nd_uint_t port, const char *state,
    nd_uint_t fail, uint64_t refreshed, const char *version)
{
    char  address[ND_SOCKADDR_STRLEN + 8];
    char  raft[8];

    snprintf(address, sizeof(address), "%s:%u", host, (unsigned) port);
    snprintf(raft, sizeof(raft), "%u",
             (unsigned) (port > 1000 ? port - 1000 : 0));

    return json_pack(
        "{s:s, s:i, s:s, s:{s:I, s:s, s:s, s:b}, s:s, s:i, s:b,"
        " s:{s:{s:b, s:b}, s:{s:b}, s:{s:b}}}",
        "ip", host, "port", (int) port, "state", state,
        "extendInfo",
            "lastRefreshTime", (json_int_t) refreshed,
            "raftPort", raft, "version", version,
            "readyToUpgrade", 1,
        "address", address, "failAccessCnt", (int) fail,
        "grpcReportEnabled", 1,
        "abilities",
            "remoteAbility", "supportRemoteConnection", 1,
                             "grpcReportEnabled", 1,
            "configAbility", "supportRemoteMetrics", 0,
            "namingAbility", "supportJraft", 0);
}


#if !(ND_WITH_CLUSTER)

/* this node as a Nacos Member: with the cluster module built, it answers
 * for the members; a node without it lists itself */
static nd_int_t
nd_http_cluster_nodes(nd_http_request_t *r)
{
    json_t                  *data, *node, *res;
    nd_int_t                 rc;
    nd_str_t                 keyword;
    nd_addr_t                local;
    socklen_t                len;
    struct sockaddr_storage  sa;

    len = sizeof(sa);
    if (getsockname(r->c->fd, (struct sockaddr *) &sa, &len) != 0) {
        return ND_ERROR;
    }
    nd_addr_from_sockaddr(&local, (struct sockaddr *) &sa, len);

    data = json_array();

    if (nd_http_arg(r, "keyword", &keyword) != ND_OK || keyword.len == 0
        || memmem(local.text, strlen(local.text), keyword.data, keyword.len))
    {
        node = nd_http_member_json(local.host, local.port, "UP", 0,
                                   nd_current_msec, ND_NACOS_VERSION);
        json_array_append_new(data, node);
    }

    res = json_pack("{s:i, s:n, s:o}", "code", 200, "message", "data", data);
    rc = nd_http_send_json(r, 200, res);
    json_decref(res);

    return rc;
}

#endif


#ifdef ND_DEBUG

static nd_int_t
nd_http_debug_echo(nd_http_request_t *r)
{
    json_t       *res, *args;
    nd_int_t      rc;
    nd_uint_t     i;
    nd_keyval_t  *kv;

    args = json_object();
    kv = r->args.elts;

    for (i = 0; i < r->args.nelts; i++) {
        char  *k = nd_pstrdupz(r->pool, &kv[i].key);

        if (k && json_object_get(args, k) == NULL) {
            json_object_set_new(args, k, json_stringn((char *) kv[i].value.data,
                                                      kv[i].value.len));
        }
    }

    res = json_pack("{s:s%, s:s%, s:o, s:I}",
                    "method", (char *) r->method_name.data,
                    r->method_name.len,
                    "path", (char *) r->path.data, r->path.len,
                    "args", args, "body_length", (json_int_t) r->body.len);
    rc = nd_http_send_json(r, 200, res);
    json_decref(res);

    return rc;
}


static void
nd_http_debug_sleep_done(nd_http_request_t *r)
{
    nd_http_send(r, 200, NULL, "slept", 5);
}


static nd_int_t
nd_http_debug_sleep(nd_http_request_t *r)
{
    nd_str_t  v;
    nd_int_t  ms;

    ms = 0;
    if (nd_http_arg(r, "ms", &v) == ND_OK) {
        ms = nd_atoi(v.data, v.len);
    }

    if (ms < 0 || ms > 600000) {
        return nd_http_error(r, 400, 400, "invalid ms");
    }

    nd_http_hold(r, (nd_msec_t) ms, nd_http_debug_sleep_done);

    return ND_DONE;
}

#endif

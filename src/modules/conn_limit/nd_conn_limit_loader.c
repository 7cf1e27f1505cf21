/*
 * The loader API (Nacos's ServerLoaderController, under
 * /nacos/v2/core/loader), the limit rule over HTTP, the cluster requests
 * behind them (ServerLoaderInfoRequest, ServerReloadRequest), and
 * automatic rebalancing from the SDK connection counts the members
 * report to each other.
 */
#include <nd_conn_limit_internal.h>

#define ND_CONN_LIMIT_METRICS_WAIT  1000     /* Nacos: cluster metrics */
/* rebalancing leaves a connection younger than this many intervals where
 * it is: one that just moved here does not move again */
#define ND_CONN_LIMIT_SETTLE        4
/* a node does not shed for this many intervals after another member
 * moved connections (its moves are settling) */
#define ND_CONN_LIMIT_QUIET         10
/* redirects to a member count there for at most this many intervals */
#define ND_CONN_LIMIT_PENDING       10

static nd_int_t nd_conn_limit_reload_current(nd_http_request_t *r);
static nd_int_t nd_conn_limit_reload_client(nd_http_request_t *r);
static nd_int_t nd_conn_limit_smart_reload(nd_http_request_t *r);
static nd_int_t nd_conn_limit_cluster(nd_http_request_t *r);
static nd_int_t nd_conn_limit_rule_get(nd_http_request_t *r);
static nd_int_t nd_conn_limit_rule_post(nd_http_request_t *r);
static nd_int_t nd_conn_limit_stats(nd_http_request_t *r);
static nd_int_t nd_conn_limit_info_handler(nd_grpc_call_t *call,
    json_t *body);
static nd_int_t nd_conn_limit_reload_handler(nd_grpc_call_t *call,
    json_t *body);

static const nd_http_route_t  nd_conn_limit_routes[] = {
    { ND_HTTP_GET, nd_string("/v2/core/loader/reloadCurrent"),
      nd_conn_limit_reload_current },
    { ND_HTTP_GET, nd_string("/v2/core/loader/reloadClient"),
      nd_conn_limit_reload_client },
    { ND_HTTP_GET, nd_string("/v2/core/loader/smartReloadCluster"),
      nd_conn_limit_smart_reload },
    { ND_HTTP_GET, nd_string("/v2/core/loader/cluster"),
      nd_conn_limit_cluster },
    { ND_HTTP_GET, nd_string("/v1/core/loader/limitRule"),
      nd_conn_limit_rule_get },
    { ND_HTTP_POST, nd_string("/v1/core/loader/limitRule"),
      nd_conn_limit_rule_post },
    { ND_HTTP_GET, nd_string("/v1/core/loader/limitStats"),
      nd_conn_limit_stats },
    nd_http_null_route
};

static const nd_grpc_handler_t  nd_conn_limit_cluster_handlers[] = {
    { nd_string("ServerLoaderInfoRequest"), nd_conn_limit_info_handler },
    { nd_string("ServerReloadRequest"), nd_conn_limit_reload_handler },
    nd_grpc_null_handler
};

/* what this node redirected to a member lately: until the member
 * reports at least base + n, or the redirects are old, this node counts
 * them there (clients may take a while to arrive) */
typedef struct {
    int64_t      base;                /* its count when we began */
    int64_t      n;
    uint64_t     at;                  /* wall msec of the last */
} nd_conn_limit_pending_t;

typedef struct nd_conn_limit_gather_s  nd_conn_limit_gather_t;

/* one member's counts in a gathering */
typedef struct {
    nd_conn_limit_gather_t  *g;
    char                     address[ND_SOCKADDR_STRLEN + 8];
    int64_t                  conns;   /* -1: no answer */
    int64_t                  sdk;
} nd_conn_limit_count_t;

/* a gathering of the members' counts for one HTTP request; freed when
 * the last call ends (each ends within its timeout) */
struct nd_conn_limit_gather_s {
    nd_http_request_t       *r;       /* NULL once answered or gone */
    nd_uint_t                waiting;
    nd_uint_t                n;
    double                   factor;  /* smartReloadCluster, or < 0 */
    nd_conn_limit_count_t    m[];
};


nd_int_t
nd_conn_limit_loader_init(nd_cycle_t *cycle)
{
    if (nd_http_add_routes(cycle, nd_conn_limit_routes) != ND_OK
        || nd_cluster_add_handlers(cycle, nd_conn_limit_cluster_handlers)
           != ND_OK)
    {
        return ND_ERROR;
    }

    return ND_OK;
}


/* a member's SDK connections as this node believes them: its last
 * report plus what this node sent it since */
static int64_t
nd_conn_limit_member_load(nd_conn_limit_conf_t *lcf, nd_member_t *m)
{
    nd_conn_limit_pending_t  *p;

    if (m->self) {
        return (int64_t) nd_conn_limit_movable(lcf);
    }

    if (m->sdk_conns < 0) {
        return -1;
    }

    p = nd_hash_find(&lcf->pending, (u_char *) m->addr.text,
                     strlen(m->addr.text));

    if (p && (m->sdk_conns >= p->base + p->n
              || nd_current_msec - p->at
                 > ND_CONN_LIMIT_PENDING * lcf->rebalance_interval))
    {
        nd_free(nd_hash_del(&lcf->pending, (u_char *) m->addr.text,
                            strlen(m->addr.text)));
        p = NULL;
    }

    return p ? nd_max(m->sdk_conns, p->base + p->n) : m->sdk_conns;
}


static void
nd_conn_limit_pending_add(nd_conn_limit_conf_t *lcf, nd_member_t *m,
    nd_uint_t n)
{
    nd_conn_limit_pending_t  *p;

    p = nd_hash_find(&lcf->pending, (u_char *) m->addr.text,
                     strlen(m->addr.text));
    if (p == NULL) {
        p = nd_calloc(sizeof(nd_conn_limit_pending_t));
        if (p == NULL) {
            return;
        }
        if (nd_hash_add(&lcf->pending, (u_char *) m->addr.text,
                        strlen(m->addr.text), p) != ND_OK)
        {
            nd_free(p);
            return;
        }
        p->base = nd_max(m->sdk_conns, 0);
    }

    p->n += (int64_t) n;
    p->at = nd_current_msec;
}


nd_member_t *
nd_conn_limit_least_loaded(nd_conn_limit_conf_t *lcf)
{
    int64_t             load, best_load;
    nd_uint_t           i;
    nd_member_t        *best, **mp;
    const nd_array_t   *members;

    if (!nd_cluster_enabled(nd_cycle)) {
        return NULL;
    }

    members = nd_cluster_members(nd_cycle);
    mp = members->elts;
    best = NULL;
    best_load = 0;

    for (i = 0; i < members->nelts; i++) {
        if (mp[i]->self || mp[i]->state != ND_MEMBER_UP) {
            continue;
        }
        load = nd_conn_limit_member_load(lcf, mp[i]);
        if (load < 0) {
            continue;
        }
        if (best == NULL || load < best_load) {
            best = mp[i];
            best_load = load;
        }
    }

    return best;
}


/* "ip:port" or nothing; a bad one is an error */
static nd_int_t
nd_conn_limit_redirect_arg(nd_http_request_t *r, char *buf, size_t size)
{
    nd_str_t   v;
    nd_addr_t  addr;

    buf[0] = '\0';

    if (nd_http_arg(r, "redirectAddress", &v) != ND_OK || v.len == 0) {
        return ND_OK;
    }

    if (v.len >= size || nd_parse_addr(&v, &addr) != ND_OK) {
        return ND_ERROR;
    }

    snprintf(buf, size, "%s", addr.text);

    return ND_OK;
}


static nd_int_t
nd_conn_limit_reload_current(nd_http_request_t *r)
{
    char                   redirect[ND_SOCKADDR_STRLEN + 8];
    nd_int_t               count;
    nd_str_t               v;
    nd_uint_t              have;
    nd_conn_limit_conf_t  *lcf;

    lcf = nd_conn_limit_conf(nd_cycle);

    if (nd_http_arg(r, "count", &v) != ND_OK
        || (count = nd_atoi(v.data, v.len)) < 0)
    {
        return nd_http_error(r, 400, 400, "count must be a number >= 0");
    }

    if (nd_conn_limit_redirect_arg(r, redirect, sizeof(redirect)) != ND_OK) {
        return nd_http_error(r, 400, 400, "redirectAddress must be ip:port");
    }

    have = nd_conn_limit_movable(lcf);

    if (have > (nd_uint_t) count) {
        nd_conn_limit_move(lcf, have - (nd_uint_t) count,
                           redirect[0] ? redirect : NULL, 0);
    }

    return nd_http_send(r, 200, "text/plain", "success", 7);
}


static nd_int_t
nd_conn_limit_reload_client(nd_http_request_t *r)
{
    char                   id[128], redirect[ND_SOCKADDR_STRLEN + 8];
    nd_str_t               v;
    nd_grpc_conn_t        *conn;
    nd_conn_limit_conf_t  *lcf;

    lcf = nd_conn_limit_conf(nd_cycle);

    if (nd_http_arg(r, "connectionId", &v) != ND_OK || v.len == 0
        || v.len >= sizeof(id))
    {
        return nd_http_error(r, 400, 400, "connectionId is required");
    }

    memcpy(id, v.data, v.len);
    id[v.len] = '\0';

    if (nd_conn_limit_redirect_arg(r, redirect, sizeof(redirect)) != ND_OK) {
        return nd_http_error(r, 400, 400, "redirectAddress must be ip:port");
    }

    conn = nd_grpc_conn_find(nd_cycle, id);
    if (conn == NULL || !nd_conn_limit_is_sdk(conn)) {
        return nd_http_error(r, 404, 404, "no such connection");
    }

    nd_conn_limit_expel(lcf, conn, redirect[0] ? redirect : NULL);

    return nd_http_send(r, 200, "text/plain", "success", 7);
}


/* the members' counts: ServerLoaderInfoRequest to every peer (as Nacos,
 * 1 s to answer), this node counted here */

static nd_int_t nd_conn_limit_answer(nd_conn_limit_gather_t *g,
    nd_http_request_t *r);


static void
nd_conn_limit_gather_abort(nd_http_request_t *r)
{
    nd_conn_limit_gather_t  *g = r->ctx;

    g->r = NULL;
}


static void
nd_conn_limit_gather_done(nd_int_t rc, const char *type, json_t *body,
    void *data)
{
    json_t                  *metrics;
    nd_http_request_t       *r;
    nd_conn_limit_count_t   *c = data;
    nd_conn_limit_gather_t  *g;

    g = c->g;

    if (rc == ND_OK && strcmp(type, "ServerLoaderInfoResponse") == 0) {
        metrics = json_object_get(body, "loaderMetrics");
        c->sdk = nd_json_get_int(metrics, "sdkConCount", -1);
        c->conns = nd_json_get_int(metrics, "conCount", c->sdk);
    }

    if (--g->waiting) {
        return;
    }

    r = g->r;
    if (r) {
        g->r = NULL;
        r->abort_handler = NULL;
        rc = nd_conn_limit_answer(g, r);    /* r is gone once answered */
        if (rc != ND_OK) {
            nd_http_finalize(r, rc);
        }
    }

    nd_free(g);
}


static nd_int_t
nd_conn_limit_gather(nd_http_request_t *r, double factor)
{
    nd_int_t                 rc;
    nd_uint_t                i;
    nd_member_t            **mp;
    const nd_array_t        *members;
    nd_conn_limit_gather_t  *g;
    nd_conn_limit_conf_t    *lcf;

    lcf = nd_conn_limit_conf(nd_cycle);
    members = nd_cluster_members(nd_cycle);
    mp = members->elts;

    g = nd_calloc(sizeof(nd_conn_limit_gather_t)
                  + members->nelts * sizeof(nd_conn_limit_count_t));
    if (g == NULL) {
        return ND_ERROR;
    }

    g->factor = factor;
    g->n = members->nelts;
    g->waiting = 1;                     /* this function's own */

    for (i = 0; i < g->n; i++) {
        g->m[i].g = g;
        snprintf(g->m[i].address, sizeof(g->m[i].address), "%s",
                 mp[i]->addr.text);
        g->m[i].conns = -1;
        g->m[i].sdk = -1;

        if (mp[i]->self) {
            g->m[i].sdk = (int64_t) nd_conn_limit_movable(lcf);
            g->m[i].conns = (int64_t) nd_grpc_conn_count(nd_cycle);
            continue;
        }

        g->waiting++;
        if (nd_cluster_call(mp[i], "ServerLoaderInfoRequest", json_object(),
                            ND_CONN_LIMIT_METRICS_WAIT,
                            nd_conn_limit_gather_done, &g->m[i]) != ND_OK)
        {
            g->waiting--;
        }
    }

    if (--g->waiting == 0) {
        rc = nd_conn_limit_answer(g, r);
        nd_free(g);
        return rc;
    }

    g->r = r;
    r->ctx = g;
    r->abort_handler = nd_conn_limit_gather_abort;

    return ND_DONE;
}


static int
nd_conn_limit_by_sdk(const void *a, const void *b)
{
    int64_t  x, y;

    x = ((const nd_conn_limit_count_t *) a)->sdk;
    y = ((const nd_conn_limit_count_t *) b)->sdk;

    return x < y ? -1 : x > y;
}


/* move connections as a ServerReloadRequest says: our own shape,
 * reloadServers [{address, count}], or Nacos's: keep reloadCount and
 * send the rest to reloadServer */
static nd_uint_t
nd_conn_limit_apply_reload(nd_conn_limit_conf_t *lcf, json_t *body)
{
    size_t        i;
    json_t       *servers, *s;
    int64_t       keep, count;
    nd_uint_t     have, n;
    const char   *to;

    servers = json_object_get(body, "reloadServers");
    n = 0;

    if (json_is_array(servers)) {
        json_array_foreach(servers, i, s) {
            to = nd_json_get_str(s, "address", NULL);
            count = nd_json_get_int(s, "count", 0);
            if (to && count > 0) {
                n += nd_conn_limit_move(lcf, (nd_uint_t) count, to, 0);
            }
        }
        return n;
    }

    keep = nd_json_get_int(body, "reloadCount", -1);
    have = nd_conn_limit_movable(lcf);
    to = nd_json_get_str(body, "reloadServer", NULL);

    if (keep < 0 || have <= (nd_uint_t) keep) {
        return 0;
    }

    return nd_conn_limit_move(lcf, have - (nd_uint_t) keep,
                              to && to[0] ? to : NULL, 0);
}


/* smartReloadCluster: every member above avg * (1 + factor) sheds down
 * to the average, each of its excess connections redirected to a member
 * below the average, the least loaded filled first */
static void
nd_conn_limit_smart(nd_conn_limit_gather_t *g, double avg, double over)
{
    int64_t                 excess, give, room;
    json_t                 *servers, *body;
    nd_uint_t               i, j;
    nd_member_t            *m;
    nd_conn_limit_count_t  *c;

    c = g->m;
    qsort(c, g->n, sizeof(nd_conn_limit_count_t), nd_conn_limit_by_sdk);

    for (i = g->n; i-- > 0; ) {
        if ((double) c[i].sdk <= over) {
            break;
        }

        excess = c[i].sdk - (int64_t) (avg + 0.999);
        servers = json_array();

        for (j = 0; j < i && excess > 0 && servers; j++) {
            room = (int64_t) avg - c[j].sdk;
            if (room <= 0) {
                continue;
            }
            give = nd_min(room, excess);
            c[j].sdk += give;
            excess -= give;
            json_array_append_new(servers,
                json_pack("{s:s, s:I}", "address", c[j].address,
                          "count", (json_int_t) give));
        }

        if (servers == NULL || json_array_size(servers) == 0) {
            json_decref(servers);
            continue;
        }

        body = json_pack("{s:I, s:s, s:o}",
                         "reloadCount", (json_int_t) (avg + 0.999),
                         "reloadServer",
                         nd_json_get_str(json_array_get(servers, 0),
                                         "address", ""),
                         "reloadServers", servers);
        if (body == NULL) {
            continue;
        }

        nd_log_error(ND_LOG_NOTICE, nd_cycle->log, 0,
                     "smartReloadCluster: %s holds %lld, over %.1f: sheds "
                     "to the average %.1f", c[i].address,
                     (long long) c[i].sdk, over, avg);

        m = nd_cluster_member_find(nd_cycle, c[i].address);

        if (m == NULL || m->self) {
            nd_conn_limit_apply_reload(nd_conn_limit_conf(nd_cycle), body);
            json_decref(body);
            continue;
        }

        (void) nd_cluster_call(m, "ServerReloadRequest", body, 0,
                               NULL, NULL);
    }
}


static json_t *
nd_conn_limit_metric(const nd_conn_limit_count_t *c)
{
    char  con[32], sdk[32];

    /* Nacos's metrics are a map of strings */
    snprintf(con, sizeof(con), "%lld", (long long) c->conns);
    snprintf(sdk, sizeof(sdk), "%lld", (long long) c->sdk);

    return json_pack("{s:s, s:s, s:s, s:s}", "conCount", con,
                     "sdkConCount", sdk, "load", "0", "cpu", "0");
}


static nd_int_t
nd_conn_limit_answer(nd_conn_limit_gather_t *g, nd_http_request_t *r)
{
    json_t      *res, *detail;
    int64_t      max, min, total;
    double       avg;
    nd_int_t     rc;
    nd_uint_t    i, counted;

    total = 0;
    counted = 0;
    max = 0;
    min = -1;
    detail = json_array();

    for (i = 0; i < g->n; i++) {
        if (g->m[i].sdk < 0) {
            continue;
        }
        counted++;
        total += g->m[i].sdk;
        max = nd_max(max, g->m[i].sdk);
        min = min < 0 ? g->m[i].sdk : nd_min(min, g->m[i].sdk);
        json_array_append_new(detail,
            json_pack("{s:s, s:o}", "address", g->m[i].address,
                      "metric", nd_conn_limit_metric(&g->m[i])));
    }

    avg = counted ? (double) total / (double) counted : 0.0;

    if (g->factor >= 0) {
        json_decref(detail);

        if (counted < g->n) {
            return nd_http_send(r, 200, "text/plain", "Fail", 4);
        }

        nd_conn_limit_smart(g, avg, avg * (1 + g->factor));
        return nd_http_send(r, 200, "text/plain", "Ok", 2);
    }

    res = json_pack("{s:o, s:i, s:i, s:b, s:I, s:I, s:f, s:f, s:I}",
                    "detail", detail, "memberCount", (int) g->n,
                    "metricsCount", (int) counted,
                    "completed", counted == g->n,
                    "max", (json_int_t) max,
                    "min", (json_int_t) (min < 0 ? 0 : min),
                    "avg", avg, "threshold", avg * 1.1,
                    "total", (json_int_t) total);

    rc = nd_http_send_json(r, 200, res);
    json_decref(res);

    return rc;
}


static nd_int_t
nd_conn_limit_smart_reload(nd_http_request_t *r)
{
    char      buf[32], *end;
    double    f;
    nd_str_t  v;

    f = 0.1;                            /* Nacos's default loader factor */

    if (nd_http_arg(r, "loaderFactor", &v) == ND_OK && v.len) {
        if (v.len >= sizeof(buf)) {
            return nd_http_error(r, 400, 400, "loaderFactor is not a number");
        }
        memcpy(buf, v.data, v.len);
        buf[v.len] = '\0';
        f = strtod(buf, &end);
        if (*end != '\0' || !(f >= 0.0 && f <= 10.0)) {
            return nd_http_error(r, 400, 400,
                                 "loaderFactor must be between 0 and 10");
        }
    }

    return nd_conn_limit_gather(r, f);
}


static nd_int_t
nd_conn_limit_cluster(nd_http_request_t *r)
{
    return nd_conn_limit_gather(r, -1.0);
}


/* the cluster requests */

static nd_int_t
nd_conn_limit_info_handler(nd_grpc_call_t *call, json_t *body)
{
    nd_conn_limit_count_t   c;
    nd_conn_limit_conf_t   *lcf;

    lcf = nd_conn_limit_conf(nd_cycle);
    c.sdk = (int64_t) nd_conn_limit_movable(lcf);
    c.conns = (int64_t) nd_grpc_conn_count(nd_cycle);

    return nd_grpc_reply(call, "ServerLoaderInfoResponse",
                         json_pack("{s:o, s:s}", "loaderMetrics",
                                   nd_conn_limit_metric(&c), "address",
                                   nd_cluster_self(nd_cycle)->addr.text));
}


static nd_int_t
nd_conn_limit_reload_handler(nd_grpc_call_t *call, json_t *body)
{
    nd_uint_t  n;

    n = nd_conn_limit_apply_reload(nd_conn_limit_conf(nd_cycle), body);

    nd_log_error(ND_LOG_NOTICE, nd_cycle->log, 0,
                 "ServerReloadRequest: %lu connections told to go",
                 (unsigned long) n);

    return nd_grpc_reply(call, "ServerReloadResponse", json_object());
}


/* the rule over HTTP */

static nd_int_t
nd_conn_limit_rule_get(nd_http_request_t *r)
{
    json_t                *rule;
    nd_int_t               rc;
    nd_conn_limit_conf_t  *lcf;

    lcf = nd_conn_limit_conf(nd_cycle);
    rule = lcf->rule.json ? json_incref(lcf->rule.json) : json_object();

    rc = nd_http_send_json(r, 200, rule);
    json_decref(rule);

    return rc;
}


/* make the directories above path (data/loader under the prefix) */
static void
nd_conn_limit_mkdirs(const char *path)
{
    char   dir[4096], *p;

    if (strlen(path) >= sizeof(dir)) {
        return;
    }

    strcpy(dir, path);

    for (p = dir + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            (void) mkdir(dir, 0755);
            *p = '/';
        }
    }
}


/* write the rule file whole: a temporary file, fsync, rename */
static nd_int_t
nd_conn_limit_write(const char *path, const u_char *data, size_t len)
{
    int       fd;
    char      tmp[4096 + 32];
    size_t    done;
    ssize_t   n;

    if (snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int) getpid())
        >= (int) sizeof(tmp))
    {
        return ND_ERROR;
    }

    nd_conn_limit_mkdirs(path);

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd == -1) {
        nd_log_error(ND_LOG_ERR, nd_cycle->log, errno, "open(\"%s\") failed",
                     tmp);
        return ND_ERROR;
    }

    for (done = 0; done < len; done += (size_t) n) {
        n = write(fd, data + done, len - done);
        if (n == -1 && errno == EINTR) {
            n = 0;
            continue;
        }
        if (n <= 0) {
            break;
        }
    }

    if (done < len || fsync(fd) != 0) {
        nd_log_error(ND_LOG_ERR, nd_cycle->log, errno, "write(\"%s\") failed",
                     tmp);
        close(fd);
        unlink(tmp);
        return ND_ERROR;
    }

    close(fd);

    if (rename(tmp, path) != 0) {
        nd_log_error(ND_LOG_ERR, nd_cycle->log, errno,
                     "rename(\"%s\", \"%s\") failed", tmp, path);
        unlink(tmp);
        return ND_ERROR;
    }

    return ND_OK;
}


/* POST /v1/core/loader/limitRule: the rule as the body (JSON), or in
 * the "limitRule" parameter; applied, then the file rewritten */
static nd_int_t
nd_conn_limit_rule_post(nd_http_request_t *r)
{
    char                   err[256];
    nd_str_t               v;
    nd_conn_limit_rule_t   rule;
    nd_conn_limit_conf_t  *lcf;

    lcf = nd_conn_limit_conf(nd_cycle);

    if (nd_http_arg(r, "limitRule", &v) != ND_OK) {
        v = r->body;
    }

    if (nd_conn_limit_rule_parse(v.data, v.len, &rule, err, sizeof(err))
        != ND_OK)
    {
        return nd_http_error(r, 400, 400, err);
    }

    nd_conn_limit_rule_free(&rule);

    if (nd_conn_limit_write(lcf->rule_path, v.data, v.len) != ND_OK) {
        return nd_http_error(r, 500, 500, "cannot write the limit rule file");
    }

    if (nd_conn_limit_load(lcf, v.data, v.len, "the loader API",
                           nd_cycle->log, ND_LOG_ERR) != ND_OK)
    {
        return ND_ERROR;
    }

    return nd_http_send(r, 200, "text/plain", "success", 7);
}


static nd_int_t
nd_conn_limit_stats(nd_http_request_t *r)
{
    json_t                *res;
    nd_int_t               rc;
    nd_conn_limit_conf_t  *lcf;

    lcf = nd_conn_limit_conf(nd_cycle);

    res = json_pack("{s:I, s:I, s:{s:I, s:I, s:I, s:I}, s:I, s:I, s:I, s:I,"
                    " s:I}",
                    "connections", (json_int_t) (lcf->total - lcf->polls),
                    "longPolls", (json_int_t) lcf->polls,
                    "refused",
                        "countLimit", (json_int_t) lcf->refused_count,
                        "clientIp", (json_int_t) lcf->refused_ip,
                        "clientApp", (json_int_t) lcf->refused_app,
                        "longPoll", (json_int_t) lcf->refused_polls,
                    "expelled", (json_int_t) lcf->expelled,
                    "closed", (json_int_t) lcf->closed,
                    "rebalanced", (json_int_t) lcf->rebalanced,
                    "ruleLoads", (json_int_t) lcf->reloads,
                    "ruleErrors", (json_int_t) lcf->reload_errors);

    rc = nd_http_send_json(r, 200, res);
    json_decref(res);

    return rc;
}


/* automatic rebalancing (rebalance on): a node above the average of the
 * members' SDK connections by more than rebalance_factor for two
 * intervals in a row sends its oldest connections, at most
 * rebalance_batch an interval, to the members below the average (the
 * least loaded first, none past the average).  Nothing moves while a
 * member is not UP or its count unknown, nor in the node's first
 * rebalance_delay, nor for ND_CONN_LIMIT_QUIET intervals after another
 * member moved connections (the members' reports say when); a connection
 * younger than ND_CONN_LIMIT_SETTLE intervals does not move. */
void
nd_conn_limit_rebalance_handler(nd_timer_t *t)
{
    double                  avg, over;
    int64_t                 self, load, total, excess, give;
    nd_uint_t               i, j, n, moved;
    nd_member_t           **mp, *peers[64];
    int64_t                 loads[64];
    const nd_array_t       *members;
    nd_conn_limit_conf_t   *lcf = t->data;

    if (!lcf->rebalance || !nd_cluster_enabled(nd_cycle)
        || nd_time_monotonic_msec() - lcf->started < lcf->rebalance_delay)
    {
        lcf->over_streak = 0;
        return;
    }

    members = nd_cluster_members(nd_cycle);
    mp = members->elts;
    self = (int64_t) nd_conn_limit_movable(lcf);
    total = self;
    n = 0;

    for (i = 0; i < members->nelts; i++) {
        if (mp[i]->self) {
            continue;
        }
        load = nd_conn_limit_member_load(lcf, mp[i]);
        if (mp[i]->state != ND_MEMBER_UP || load < 0 || n == 64) {
            lcf->over_streak = 0;
            return;
        }

        /* another member moved connections lately: they may still be
         * on their way, and the counts are not to be trusted yet */
        if (mp[i]->sdk_moved_at + ND_CONN_LIMIT_QUIET
                                  * lcf->rebalance_interval
            > nd_current_msec)
        {
            lcf->over_streak = 0;
            return;
        }
        peers[n] = mp[i];
        loads[n++] = load;
        total += load;
    }

    avg = (double) total / (double) (n + 1);
    over = avg * (1.0 + (double) lcf->rebalance_factor / 1000.0);

    if ((double) self <= over || self - (int64_t) avg < 1) {
        lcf->over_streak = 0;
        return;
    }

    if (lcf->over_streak++ == 0) {
        lcf->over_since = nd_current_msec;
    }

    /* over two intervals in a row, and by counts every peer reported
     * since this began: a count learned before another node moved
     * connections to that peer must not make this one shed them */
    if (lcf->over_streak < 2) {
        return;
    }

    for (i = 0; i < n; i++) {
        if (peers[i]->sdk_conns_at <= lcf->over_since) {
            return;
        }
    }

    lcf->over_streak = 0;
    excess = nd_min(self - (int64_t) (avg + 0.999),
                    (int64_t) lcf->rebalance_batch);
    moved = 0;

    /* the least loaded first */
    while (excess > 0) {
        j = n;
        for (i = 0; i < n; i++) {
            if (loads[i] < (int64_t) avg
                && (j == n || loads[i] < loads[j]))
            {
                j = i;
            }
        }
        if (j == n) {
            break;
        }

        give = nd_min(excess, (int64_t) avg - loads[j]);
        give = (int64_t) nd_conn_limit_move(lcf, (nd_uint_t) give,
                                            peers[j]->addr.text,
                                            ND_CONN_LIMIT_SETTLE
                                            * lcf->rebalance_interval);
        if (give <= 0) {
            break;
        }

        nd_conn_limit_pending_add(lcf, peers[j], (nd_uint_t) give);
        loads[j] += give;
        excess -= give;
        moved += (nd_uint_t) give;
    }

    if (moved) {
        lcf->rebalanced += moved;
        nd_log_error(ND_LOG_NOTICE, nd_cycle->log, 0,
                     "rebalance: %lld SDK connections here, average %.1f: "
                     "%lu told to move", (long long) self, avg,
                     (unsigned long) moved);
    }
}

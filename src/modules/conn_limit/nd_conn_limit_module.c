/*
 * The conn_limit module: the limit rule file (read at start, on SIGHUP,
 * when it changes, and through the loader API), the gate that refuses an
 * SDK connection over a limit at its ConnectionSetupRequest, the counts
 * it reads (kept by a grpc connection hook, per client IP and per
 * application), and the check that expels connections over the limits
 * with ConnectResetRequest and closes those that do not go.
 *
 * Connections labelled source=cluster are never limited nor counted.
 */
#include <nd_conn_limit_internal.h>

static void *nd_conn_limit_create_conf(nd_cycle_t *cycle);
static char *nd_conn_limit_init_conf(nd_cycle_t *cycle, void *conf);
static nd_int_t nd_conn_limit_init_module(nd_cycle_t *cycle);
static nd_int_t nd_conn_limit_start(nd_cycle_t *cycle);
static void nd_conn_limit_stop(nd_cycle_t *cycle);
static void nd_conn_limit_exit(nd_cycle_t *cycle);
static void nd_conn_limit_reload(nd_cycle_t *cycle, void *conf);
static char *nd_conn_limit_set_factor(nd_conf_t *cf, nd_command_t *cmd,
    void *conf);
static void nd_conn_limit_check_handler(nd_timer_t *t);

static nd_conf_bounds_t  nd_conn_limit_batch_bounds = { 1, 1000000 };

static nd_command_t  nd_conn_limit_commands[] = {

    { nd_string("conn_limit"),
      ND_MAIN_CONF | ND_CONF_BLOCK | ND_CONF_NOARGS,
      nd_conf_module_block, 0, NULL },

    { nd_string("limit_rule_file"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_str_slot, offsetof(nd_conn_limit_conf_t, rule_file),
      NULL },

    { nd_string("check_interval"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_conn_limit_conf_t, check_interval),
      NULL },

    { nd_string("reset_timeout"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_conn_limit_conf_t, reset_timeout),
      NULL },

    { nd_string("rule_watch_interval"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_conn_limit_conf_t, watch_interval),
      NULL },

    { nd_string("rebalance"),
      ND_BLOCK_CONF | ND_CONF_FLAG,
      nd_conf_set_flag_slot, offsetof(nd_conn_limit_conf_t, rebalance),
      NULL },

    { nd_string("rebalance_factor"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conn_limit_set_factor,
      offsetof(nd_conn_limit_conf_t, rebalance_factor), NULL },

    { nd_string("rebalance_interval"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot,
      offsetof(nd_conn_limit_conf_t, rebalance_interval), NULL },

    { nd_string("rebalance_delay"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_conn_limit_conf_t, rebalance_delay),
      NULL },

    { nd_string("rebalance_batch"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_num_slot, offsetof(nd_conn_limit_conf_t, rebalance_batch),
      &nd_conn_limit_batch_bounds },

    nd_null_command
};

nd_module_t  nd_conn_limit_module = {
    .name = "conn_limit",
    .commands = nd_conn_limit_commands,
    .create_conf = nd_conn_limit_create_conf,
    .init_conf = nd_conn_limit_init_conf,
    .init_module = nd_conn_limit_init_module,
    .start = nd_conn_limit_start,
    .stop = nd_conn_limit_stop,
    .exit = nd_conn_limit_exit,
    .reload = nd_conn_limit_reload,
};


static void *
nd_conn_limit_create_conf(nd_cycle_t *cycle)
{
    nd_conn_limit_conf_t  *lcf;

    lcf = nd_pcalloc(cycle->pool, sizeof(nd_conn_limit_conf_t));
    if (lcf == NULL) {
        return NULL;
    }

    lcf->check_interval = ND_CONF_UNSET_MSEC;
    lcf->reset_timeout = ND_CONF_UNSET_MSEC;
    lcf->watch_interval = ND_CONF_UNSET_MSEC;
    lcf->rebalance = ND_CONF_UNSET;
    lcf->rebalance_factor = ND_CONF_UNSET_UINT;
    lcf->rebalance_interval = ND_CONF_UNSET_MSEC;
    lcf->rebalance_delay = ND_CONF_UNSET_MSEC;
    lcf->rebalance_batch = ND_CONF_UNSET;
    nd_conn_limit_rule_none(&lcf->rule);

    return lcf;
}


/* a fraction such as 0.1, kept in thousandths */
static char *
nd_conn_limit_set_factor(nd_conf_t *cf, nd_command_t *cmd, void *conf)
{
    char       buf[32], *end;
    double     f;
    nd_str_t  *value;

    value = cf->args->elts;

    if (*(nd_uint_t *) ((char *) conf + cmd->offset) != ND_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    if (value[1].len == 0 || value[1].len >= sizeof(buf)) {
        return "takes a fraction such as 0.1";
    }

    memcpy(buf, value[1].data, value[1].len);
    buf[value[1].len] = '\0';
    f = strtod(buf, &end);

    if (*end != '\0' || !(f > 0.0 && f <= 10.0)) {
        return "takes a fraction above 0 and at most 10, such as 0.1";
    }

    *(nd_uint_t *) ((char *) conf + cmd->offset) = (nd_uint_t) (f * 1000 + 0.5);

    return ND_CONF_OK;
}


/* read the rule file: ND_OK (a missing file is no rules), or ND_ERROR
 * with the reason logged */
static nd_int_t
nd_conn_limit_read(nd_conn_limit_conf_t *lcf, nd_log_t *log, int level)
{
    int       fd, rc;
    ssize_t   n;
    size_t    len;
    u_char   *buf;

    fd = open(lcf->rule_path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        if (errno == ENOENT) {
            if (lcf->rule.json) {
                nd_log_error(ND_LOG_NOTICE, log, 0, "limit rule file \"%s\" "
                             "is gone: no connection limits",
                             lcf->rule_path);
            }
            nd_conn_limit_rule_free(&lcf->rule);
            return ND_OK;
        }
        nd_log_error(level, log, errno, "open(\"%s\") failed",
                     lcf->rule_path);
        return ND_ERROR;
    }

    buf = nd_alloc(ND_CONN_LIMIT_RULE_MAX + 1);
    if (buf == NULL) {
        close(fd);
        return ND_ERROR;
    }

    len = 0;
    for ( ;; ) {
        n = read(fd, buf + len, ND_CONN_LIMIT_RULE_MAX + 1 - len);
        if (n > 0) {
            len += (size_t) n;
            if (len < ND_CONN_LIMIT_RULE_MAX + 1) {
                continue;
            }
            break;
        }
        if (n == -1 && errno == EINTR) {
            continue;
        }
        break;
    }

    close(fd);

    if (n == -1) {
        nd_log_error(level, log, errno, "read(\"%s\") failed",
                     lcf->rule_path);
        nd_free(buf);
        return ND_ERROR;
    }

    rc = nd_conn_limit_load(lcf, buf, len, lcf->rule_path, log, level);
    nd_free(buf);

    return rc;
}


static char *
nd_conn_limit_init_conf(nd_cycle_t *cycle, void *conf)
{
    nd_conn_limit_conf_t  *lcf = conf;
    nd_conf_t              cf;

    nd_conf_init_msec_value(lcf->check_interval, 3000);
    nd_conf_init_msec_value(lcf->reset_timeout, 3000);
    nd_conf_init_msec_value(lcf->watch_interval, 1000);
    nd_conf_init_value(lcf->rebalance, 0);
    nd_conf_init_uint_value(lcf->rebalance_factor, 100);
    nd_conf_init_msec_value(lcf->rebalance_interval, 10000);
    nd_conf_init_msec_value(lcf->rebalance_delay, 180000);
    nd_conf_init_value(lcf->rebalance_batch, 100);
    nd_conf_init_str_value(lcf->rule_file, "data/loader/limitRule");

    if (lcf->check_interval < 100 || lcf->rebalance_interval < 100
        || lcf->watch_interval < 100)
    {
        return "\"check_interval\", \"rebalance_interval\" and "
               "\"rule_watch_interval\" must be at least 100ms";
    }

    memset(&cf, 0, sizeof(cf));
    cf.cycle = cycle;
    cf.pool = cycle->pool;

    lcf->rule_path = nd_conf_full_name(&cf, &lcf->rule_file, 0);
    if (lcf->rule_path == NULL) {
        return ND_CONF_ERROR;
    }

    if (cycle->reloading) {
        return ND_CONF_OK;
    }

    /* an invalid rule file stops the start (and fails -t) */
    if (nd_conn_limit_read(lcf, cycle->log, ND_LOG_EMERG) != ND_OK) {
        return "cannot use the limit rule file";
    }

    return ND_CONF_OK;
}


int
nd_conn_limit_is_sdk(nd_grpc_conn_t *conn)
{
    const char  *source;

    source = nd_json_get_str(nd_grpc_conn_labels(conn), "source", "sdk");

    return strcmp(source, "cluster") != 0;
}


static const char *
nd_conn_limit_app(nd_grpc_conn_t *conn)
{
    const char  *app;

    app = nd_json_get_str(nd_grpc_conn_labels(conn), "AppName", "-");

    return app[0] ? app : "-";
}


static nd_uint_t
nd_conn_limit_count(nd_hash_t *h, const char *key)
{
    return (nd_uint_t) (uintptr_t) nd_hash_find(h, (u_char *) key,
                                                strlen(key));
}


static void
nd_conn_limit_add(nd_hash_t *h, const char *key, int delta)
{
    size_t     len;
    nd_uint_t  n;

    len = strlen(key);
    n = (nd_uint_t) (uintptr_t) nd_hash_del(h, (u_char *) key, len);

    if (delta < 0 && n == 0) {
        return;
    }

    n += delta;

    if (n) {
        (void) nd_hash_add(h, (u_char *) key, len, (void *) (uintptr_t) n);
    }
}


/* the grpc connection hook: keep the counts the gate reads */
static void
nd_conn_limit_conn_hook(nd_grpc_conn_t *conn, int up)
{
    const char            *id;
    nd_conn_limit_conf_t  *lcf;

    if (!nd_conn_limit_is_sdk(conn)) {
        return;
    }

    lcf = nd_conn_limit_conf(nd_cycle);

    nd_conn_limit_add(&lcf->per_ip, nd_grpc_conn_client_ip(conn),
                      up ? 1 : -1);
    nd_conn_limit_add(&lcf->per_app, nd_conn_limit_app(conn), up ? 1 : -1);

    if (up) {
        lcf->total++;
        return;
    }

    lcf->total -= lcf->total ? 1 : 0;
    id = nd_grpc_conn_id(conn);
    (void) nd_hash_del(&lcf->resets, (u_char *) id, strlen(id));
}


/* the gate: a ConnectionSetupRequest over a limit is refused (grpc then
 * sends ConnectResetRequest and closes, and the client tries another
 * server, as Nacos does when its ConnectionManager denies); every
 * request of a monitored IP is logged */
static nd_int_t
nd_conn_limit_gate(nd_grpc_conn_t *conn, const char *type, json_t *headers,
    json_t *body, const char **msg)
{
    int64_t                limit;
    const char            *ip, *app;
    nd_conn_limit_conf_t  *lcf;

    lcf = nd_conn_limit_conf(nd_cycle);
    ip = nd_grpc_conn_client_ip(conn);

    if (nd_conn_limit_rule_monitored(&lcf->rule, ip)) {
        nd_log_error(ND_LOG_NOTICE, nd_cycle->log, 0,
                     "traced connection %s, client %s: %s",
                     nd_grpc_conn_id(conn), ip, type);
    }

    if (strcmp(type, "ConnectionSetupRequest") != 0
        || !nd_conn_limit_is_sdk(conn))
    {
        return ND_OK;
    }

    if (lcf->rule.count >= 0 && lcf->total >= (nd_uint_t) lcf->rule.count) {
        lcf->refused_count++;
        *msg = "connection refused: over countLimit";
        return 300;
    }

    limit = nd_conn_limit_rule_ip(&lcf->rule, ip);
    if (limit >= 0 && nd_conn_limit_count(&lcf->per_ip, ip)
                      >= (nd_uint_t) limit)
    {
        lcf->refused_ip++;
        *msg = "connection refused: over the client IP's limit";
        return 300;
    }

    app = nd_conn_limit_app(conn);
    limit = nd_conn_limit_rule_app(&lcf->rule, app);
    if (limit >= 0 && nd_conn_limit_count(&lcf->per_app, app)
                      >= (nd_uint_t) limit)
    {
        lcf->refused_app++;
        *msg = "connection refused: over the application's limit";
        return 300;
    }

    return ND_OK;
}


/* 1.x long polls (POST /v1/cs/configs/listener with Long-Pulling-Timeout)
 * count against countLimit and the per-IP limits while they are held,
 * as Nacos checks them with the same manager; one over is answered 503 */

static void
nd_conn_limit_poll_done(void *data)
{
    char                  *ip = data;
    nd_conn_limit_conf_t  *lcf;

    lcf = nd_conn_limit_conf(nd_cycle);
    if (!lcf->initialized) {
        return;                     /* after exit */
    }

    nd_conn_limit_add(&lcf->per_ip, ip, -1);
    lcf->total -= lcf->total ? 1 : 0;
    lcf->polls -= lcf->polls ? 1 : 0;
}


static nd_int_t
nd_conn_limit_http_filter(nd_http_request_t *r)
{
    size_t                  len;
    int64_t                 limit;
    const char             *ip;
    nd_pool_cleanup_t      *cln;
    nd_conn_limit_conf_t   *lcf;
    static const nd_str_t   route = nd_string("/v1/cs/configs/listener");

    if (r->method != ND_HTTP_POST || r->route.len != route.len
        || memcmp(r->route.data, route.data, route.len) != 0
        || nd_http_header_in(r, "Long-Pulling-Timeout") == NULL)
    {
        return ND_DECLINED;
    }

    lcf = nd_conn_limit_conf(nd_cycle);
    ip = r->c->addr.host;

    limit = nd_conn_limit_rule_ip(&lcf->rule, ip);

    if ((lcf->rule.count >= 0 && lcf->total >= (nd_uint_t) lcf->rule.count)
        || (limit >= 0
            && nd_conn_limit_count(&lcf->per_ip, ip) >= (nd_uint_t) limit))
    {
        lcf->refused_polls++;
        return nd_http_error(r, 503, 503, "too many connections");
    }

    len = strlen(ip) + 1;
    cln = nd_pool_cleanup_add(r->pool, len);
    if (cln == NULL) {
        return ND_ERROR;
    }

    memcpy(cln->data, ip, len);
    cln->handler = nd_conn_limit_poll_done;

    nd_conn_limit_add(&lcf->per_ip, ip, 1);
    lcf->total++;
    lcf->polls++;

    return ND_DECLINED;
}


nd_int_t
nd_conn_limit_load(nd_conn_limit_conf_t *lcf, const u_char *data,
    size_t len, const char *from, nd_log_t *log, int level)
{
    char                   err[256];
    nd_conn_limit_rule_t   rule;

    if (nd_conn_limit_rule_parse(data, len, &rule, err, sizeof(err))
        != ND_OK)
    {
        lcf->reload_errors++;
        nd_log_error(level, log, 0,
                     "invalid limit rule in %s: %s%s", from, err,
                     lcf->rule.json ? ", the rules in use are kept" : "");
        return ND_ERROR;
    }

    nd_conn_limit_rule_free(&lcf->rule);
    lcf->rule = rule;
    lcf->reloads++;

    nd_log_error(ND_LOG_NOTICE, log, 0,
                 "limit rule loaded from %s: countLimit %lld, "
                 "per IP default %lld, %lu IPs, %lu apps, %lu monitored",
                 from, (long long) rule.count,
                 (long long) rule.per_ip_default,
                 (unsigned long) (rule.per_ip ? json_object_size(rule.per_ip)
                                              : 0),
                 (unsigned long) (rule.per_app
                                  ? json_object_size(rule.per_app) : 0),
                 (unsigned long) json_object_size(rule.monitor));

    /* the excess goes at the next check, not a whole interval later */
    if (nd_timer_active(&lcf->check)) {
        nd_timer_start(&lcf->check, 1, ND_TIMER_ONCE);
    }

    return ND_OK;
}


static void
nd_conn_limit_watch_handler(struct ev_loop *loop, ev_stat *w, int revents)
{
    nd_conn_limit_conf_t  *lcf = w->data;

    nd_log_error(ND_LOG_INFO, nd_cycle->log, 0,
                 "limit rule file \"%s\" changed", lcf->rule_path);

    (void) nd_conn_limit_read(lcf, nd_cycle->log, ND_LOG_ERR);
}


static void
nd_conn_limit_watch_start(nd_cycle_t *cycle, nd_conn_limit_conf_t *lcf)
{
    ev_stat_init(&lcf->watch, nd_conn_limit_watch_handler, lcf->rule_path,
                 (ev_tstamp) lcf->watch_interval / 1000);
    lcf->watch.data = lcf;
    ev_stat_start(cycle->loop, &lcf->watch);
}


/* the counters, read by the metrics registry where they are kept */
typedef int (*nd_conn_limit_metric_add_pt)(nd_cycle_t *cycle,
    const char *name, const char *help, const char *labels,
    const nd_uint_t *value);

static const struct {
    const char            *name;
    const char            *labels;
    const char            *help;        /* NULL: the family's first */
    nd_metric_type_e       type;
    size_t                 offset;
} nd_conn_limit_metrics[] = {
    { "nacosd_conn_limit_refused_total", "limit=\"count\"",
      "Connections and long polls refused by a limit rule, by limit.",
      ND_METRIC_COUNTER, offsetof(nd_conn_limit_conf_t, refused_count) },
    { "nacosd_conn_limit_refused_total", "limit=\"ip\"", NULL,
      ND_METRIC_COUNTER, offsetof(nd_conn_limit_conf_t, refused_ip) },
    { "nacosd_conn_limit_refused_total", "limit=\"app\"", NULL,
      ND_METRIC_COUNTER, offsetof(nd_conn_limit_conf_t, refused_app) },
    { "nacosd_conn_limit_refused_total", "limit=\"polls\"", NULL,
      ND_METRIC_COUNTER, offsetof(nd_conn_limit_conf_t, refused_polls) },
    { "nacosd_conn_limit_expelled_total", NULL,
      "SDK connections told to go (ConnectResetRequest): over a limit, "
      "rebalanced or moved by the loader API.",
      ND_METRIC_COUNTER, offsetof(nd_conn_limit_conf_t, expelled) },
    { "nacosd_conn_limit_closed_total", NULL,
      "Expelled connections closed because they did not go within "
      "reset_timeout.",
      ND_METRIC_COUNTER, offsetof(nd_conn_limit_conf_t, closed) },
    { "nacosd_conn_limit_rebalanced_total", NULL,
      "SDK connections moved to a less loaded member by rebalancing.",
      ND_METRIC_COUNTER, offsetof(nd_conn_limit_conf_t, rebalanced) },
    { "nacosd_conn_limit_rule_reloads_total", "result=\"ok\"",
      "Rule file loads, by result (a bad file keeps the rules in use).",
      ND_METRIC_COUNTER, offsetof(nd_conn_limit_conf_t, reloads) },
    { "nacosd_conn_limit_rule_reloads_total", "result=\"error\"", NULL,
      ND_METRIC_COUNTER, offsetof(nd_conn_limit_conf_t, reload_errors) },
    { "nacosd_conn_limit_counted", "kind=\"all\"",
      "What the count limit counts now: SDK connections and held long "
      "polls (all), of them the polls.",
      ND_METRIC_GAUGE, offsetof(nd_conn_limit_conf_t, total) },
    { "nacosd_conn_limit_counted", "kind=\"polls\"", NULL,
      ND_METRIC_GAUGE, offsetof(nd_conn_limit_conf_t, polls) },
};


static nd_int_t
nd_conn_limit_metrics_init(nd_cycle_t *cycle, nd_conn_limit_conf_t *lcf)
{
    nd_uint_t                     i, *v;
    nd_conn_limit_metric_add_pt   add;

    for (i = 0; i < nd_nelts(nd_conn_limit_metrics); i++) {
        v = (nd_uint_t *) ((u_char *) lcf + nd_conn_limit_metrics[i].offset);
        add = nd_conn_limit_metrics[i].type == ND_METRIC_COUNTER
              ? nd_metrics_add_counter : nd_metrics_add_gauge;

        if (add(cycle, nd_conn_limit_metrics[i].name,
                nd_conn_limit_metrics[i].help,
                nd_conn_limit_metrics[i].labels, v) != ND_OK)
        {
            return ND_ERROR;
        }
    }

    return ND_OK;
}


static nd_int_t
nd_conn_limit_init_module(nd_cycle_t *cycle)
{
    nd_conn_limit_conf_t  *lcf;

    lcf = nd_conn_limit_conf(cycle);

    /* the rule file's path is copied: a reload may change it */
    lcf->rule_path = strdup(lcf->rule_path);
    if (lcf->rule_path == NULL) {
        return ND_ERROR;
    }
    lcf->initialized = 1;

    if (nd_hash_init(&lcf->per_ip, 256) != ND_OK
        || nd_hash_init(&lcf->per_app, 64) != ND_OK
        || nd_hash_init(&lcf->resets, 64) != ND_OK
        || nd_hash_init(&lcf->pending, 8) != ND_OK
        || nd_grpc_add_gate(cycle, nd_conn_limit_gate) != ND_OK
        || nd_grpc_add_conn_hook(cycle, nd_conn_limit_conn_hook) != ND_OK
        || nd_http_add_filter(cycle, nd_conn_limit_http_filter) != ND_OK
        || nd_conn_limit_loader_init(cycle) != ND_OK
        || nd_conn_limit_metrics_init(cycle, lcf) != ND_OK)
    {
        return ND_ERROR;
    }

    nd_timer_init(&lcf->check, "conn_limit check",
                  nd_conn_limit_check_handler, lcf);
    nd_timer_init(&lcf->rebalance_timer, "conn_limit rebalance",
                  nd_conn_limit_rebalance_handler, lcf);

    return ND_OK;
}


static nd_int_t
nd_conn_limit_start(nd_cycle_t *cycle)
{
    nd_conn_limit_conf_t  *lcf;

    lcf = nd_conn_limit_conf(cycle);
    lcf->started = nd_time_monotonic_msec();

    nd_timer_start(&lcf->check, lcf->check_interval, ND_TIMER_ONCE);
    nd_timer_start(&lcf->rebalance_timer, lcf->rebalance_interval,
                   ND_TIMER_REPEAT);
    nd_conn_limit_watch_start(cycle, lcf);

    return ND_OK;
}


static void
nd_conn_limit_stop(nd_cycle_t *cycle)
{
    nd_conn_limit_conf_t  *lcf;

    lcf = nd_conn_limit_conf(cycle);

    nd_timer_stop(&lcf->check);
    nd_timer_stop(&lcf->rebalance_timer);
    ev_stat_stop(cycle->loop, &lcf->watch);
}


static void
nd_conn_limit_exit(nd_cycle_t *cycle)
{
    nd_uint_t              i;
    nd_hash_elt_t         *e;
    nd_conn_limit_conf_t  *lcf;

    lcf = nd_conn_limit_conf(cycle);

    nd_conn_limit_rule_free(&lcf->rule);

    if (!lcf->initialized) {
        return;                     /* init_module never ran */
    }

    lcf->initialized = 0;
    nd_hash_free(&lcf->per_ip);
    nd_hash_free(&lcf->per_app);
    nd_hash_free(&lcf->resets);

    for (e = nd_hash_first(&lcf->pending, &i); e;
         e = nd_hash_next(&lcf->pending, e, &i))
    {
        nd_free(e->value);
    }
    nd_hash_free(&lcf->pending);
    free(lcf->rule_path);
    lcf->rule_path = NULL;
}


/* SIGHUP: the new settings, and the rule file read again */
static void
nd_conn_limit_reload(nd_cycle_t *cycle, void *conf)
{
    char                  *path;
    nd_conn_limit_conf_t  *lcf, *nlcf = conf;

    lcf = nd_conn_limit_conf(cycle);

    lcf->check_interval = nlcf->check_interval;
    lcf->reset_timeout = nlcf->reset_timeout;
    lcf->rebalance = nlcf->rebalance;
    lcf->rebalance_factor = nlcf->rebalance_factor;
    lcf->rebalance_delay = nlcf->rebalance_delay;
    lcf->rebalance_batch = nlcf->rebalance_batch;

    if (lcf->rebalance_interval != nlcf->rebalance_interval) {
        lcf->rebalance_interval = nlcf->rebalance_interval;
        nd_timer_start(&lcf->rebalance_timer, lcf->rebalance_interval,
                       ND_TIMER_REPEAT);
    }

    if (strcmp(lcf->rule_path, nlcf->rule_path) != 0
        || lcf->watch_interval != nlcf->watch_interval)
    {
        path = strdup(nlcf->rule_path);
        if (path) {
            ev_stat_stop(cycle->loop, &lcf->watch);
            free(lcf->rule_path);
            lcf->rule_path = path;
            lcf->watch_interval = nlcf->watch_interval;
            nd_conn_limit_watch_start(cycle, lcf);
        }
    }

    (void) nd_conn_limit_read(lcf, cycle->log, ND_LOG_ERR);
}


/* expelling */

void
nd_conn_limit_expel(nd_conn_limit_conf_t *lcf, nd_grpc_conn_t *conn,
    const char *redirect)
{
    char         ip[ND_SOCKADDR_STRLEN + 8], *colon;
    nd_uint_t    port;
    const char  *id;
    nd_msec_t    deadline;

    id = nd_grpc_conn_id(conn);

    if (nd_hash_find(&lcf->resets, (u_char *) id, strlen(id))) {
        return;                         /* told already */
    }

    ip[0] = '\0';
    port = 0;

    if (redirect && redirect[0]) {
        snprintf(ip, sizeof(ip), "%s", redirect);
        colon = strrchr(ip, ':');
        if (colon) {
            *colon = '\0';
            port = (nd_uint_t) strtoul(colon + 1, NULL, 10);
        }
        if (port == 0) {
            port = 8848;
        }
    }

    nd_log_error(ND_LOG_INFO, nd_cycle->log, 0,
                 "expelling connection %s%s%s", id,
                 ip[0] ? " to " : "", ip[0] ? redirect : "");

    lcf->expelled++;

    if (nd_grpc_reset(conn, ip[0] ? ip : NULL, port) != ND_OK) {
        nd_grpc_conn_close(conn, "cannot send ConnectResetRequest");
        lcf->closed++;
        return;
    }

    deadline = nd_time_monotonic_msec() + lcf->reset_timeout;
    if (deadline == 0) {
        deadline = 1;
    }

    (void) nd_hash_add(&lcf->resets, (u_char *) id, strlen(id),
                       (void *) (uintptr_t) deadline);
}


typedef struct {
    nd_conn_limit_conf_t  *lcf;
    nd_array_t            *conns;
} nd_conn_limit_collect_t;


static void
nd_conn_limit_collect_one(nd_grpc_conn_t *conn, void *data)
{
    const char               *id;
    nd_grpc_conn_t          **p;
    nd_conn_limit_collect_t  *col = data;

    id = nd_grpc_conn_id(conn);

    if (!nd_conn_limit_is_sdk(conn)
        || nd_hash_find(&col->lcf->resets, (u_char *) id, strlen(id)))
    {
        return;
    }

    p = nd_array_push(col->conns);
    if (p) {
        *p = conn;
    }
}


static int
nd_conn_limit_by_age(const void *a, const void *b)
{
    nd_msec_t  x, y;

    x = nd_grpc_conn_registered_at(*(nd_grpc_conn_t **) a);
    y = nd_grpc_conn_registered_at(*(nd_grpc_conn_t **) b);

    return x < y ? -1 : x > y;
}


/* the SDK connections not yet told to go, oldest first */
static nd_array_t *
nd_conn_limit_collect(nd_conn_limit_conf_t *lcf, nd_pool_t *pool)
{
    nd_array_t               *a;
    nd_conn_limit_collect_t   col;

    a = nd_array_create(pool, lcf->total + 1, sizeof(nd_grpc_conn_t *));
    if (a == NULL) {
        return NULL;
    }

    col.lcf = lcf;
    col.conns = a;
    nd_grpc_conn_each(nd_cycle, nd_conn_limit_collect_one, &col);

    qsort(a->elts, a->nelts, sizeof(nd_grpc_conn_t *), nd_conn_limit_by_age);

    return a;
}


nd_uint_t
nd_conn_limit_move(nd_conn_limit_conf_t *lcf, nd_uint_t n,
    const char *redirect, nd_msec_t min_age)
{
    nd_uint_t         i, k;
    nd_msec_t         now;
    nd_pool_t        *pool;
    nd_array_t       *a;
    nd_grpc_conn_t  **conns;

    if (n == 0) {
        return 0;
    }

    pool = nd_create_pool(4096, nd_cycle->log);
    a = pool ? nd_conn_limit_collect(lcf, pool) : NULL;
    if (a == NULL) {
        nd_destroy_pool(pool);
        return 0;
    }

    /* the oldest go: a connection that just arrived (maybe moved here)
     * is the last to move again */
    conns = a->elts;
    now = nd_time_monotonic_msec();
    k = 0;

    for (i = 0; i < a->nelts && k < n; i++) {
        if (now - nd_grpc_conn_registered_at(conns[i]) < min_age) {
            break;                      /* the rest are younger still */
        }
        nd_conn_limit_expel(lcf, conns[i], redirect);
        k++;
    }

    nd_destroy_pool(pool);

    return k;
}


nd_uint_t
nd_conn_limit_movable(nd_conn_limit_conf_t *lcf)
{
    nd_uint_t  n;

    n = nd_grpc_conn_count(nd_cycle);

    return n > lcf->resets.nelts ? n - lcf->resets.nelts : 0;
}


/* connections told to go that are still here after reset_timeout */
static void
nd_conn_limit_close_stayers(nd_conn_limit_conf_t *lcf)
{
    char             ids[64][128];
    nd_uint_t        i, n, k;
    nd_msec_t        now;
    nd_hash_elt_t   *e;
    nd_grpc_conn_t  *conn;

    now = nd_time_monotonic_msec();

    do {
        n = 0;
        for (e = nd_hash_first(&lcf->resets, &i); e && n < 64;
             e = nd_hash_next(&lcf->resets, e, &i))
        {
            /* hash keys are not NUL-terminated: copied */
            if (now >= (nd_msec_t) (uintptr_t) e->value
                && e->len < sizeof(ids[0]))
            {
                memcpy(ids[n], e->key, e->len);
                ids[n++][e->len] = '\0';
            }
        }

        for (k = 0; k < n; k++) {
            (void) nd_hash_del(&lcf->resets, (u_char *) ids[k],
                               strlen(ids[k]));
            conn = nd_grpc_conn_find(nd_cycle, ids[k]);
            if (conn) {
                lcf->closed++;
                nd_grpc_conn_close(conn, "still here after "
                                   "ConnectResetRequest");
            }
        }
    } while (n == 64);
}


/* the connections over the rule's limits go, the newest first */
static void
nd_conn_limit_enforce(nd_conn_limit_conf_t *lcf)
{
    int64_t            limit;
    nd_uint_t          i, total;
    nd_hash_t          ip, app;
    nd_pool_t         *pool;
    nd_array_t        *a;
    const char        *cip, *capp, *redirect;
    nd_member_t       *m;
    nd_grpc_conn_t   **conns;

    pool = nd_create_pool(4096, nd_cycle->log);
    a = pool ? nd_conn_limit_collect(lcf, pool) : NULL;

    if (a == NULL || nd_hash_init(&ip, 64) != ND_OK) {
        nd_destroy_pool(pool);
        return;
    }

    if (nd_hash_init(&app, 16) != ND_OK) {
        nd_hash_free(&ip);
        nd_destroy_pool(pool);
        return;
    }

    m = nd_conn_limit_least_loaded(lcf);
    redirect = m ? m->addr.text : NULL;
    conns = a->elts;
    total = 0;

    for (i = 0; i < a->nelts; i++) {
        cip = nd_grpc_conn_client_ip(conns[i]);
        capp = nd_conn_limit_app(conns[i]);

        if (lcf->rule.count >= 0 && total >= (nd_uint_t) lcf->rule.count) {
            goto expel;
        }

        limit = nd_conn_limit_rule_ip(&lcf->rule, cip);
        if (limit >= 0 && nd_conn_limit_count(&ip, cip) >= (nd_uint_t) limit)
        {
            goto expel;
        }

        limit = nd_conn_limit_rule_app(&lcf->rule, capp);
        if (limit >= 0
            && nd_conn_limit_count(&app, capp) >= (nd_uint_t) limit)
        {
            goto expel;
        }

        total++;
        nd_conn_limit_add(&ip, cip, 1);
        nd_conn_limit_add(&app, capp, 1);
        continue;

    expel:

        nd_conn_limit_expel(lcf, conns[i], redirect);
    }

    nd_hash_free(&ip);
    nd_hash_free(&app);
    nd_destroy_pool(pool);
}


/* every check_interval (as Nacos's 3 s connection task): stayers are
 * closed, the excess over the rule and over the loader's count goes */
static void
nd_conn_limit_check_handler(nd_timer_t *t)
{
    nd_conn_limit_conf_t  *lcf = t->data;

    nd_conn_limit_close_stayers(lcf);

    if (nd_conn_limit_rule_limits(&lcf->rule)) {
        nd_conn_limit_enforce(lcf);
    }

    nd_timer_start(&lcf->check, lcf->check_interval, ND_TIMER_ONCE);
}

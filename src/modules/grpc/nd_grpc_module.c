/*
 * The grpc module: directives, the handler and connection registries, the
 * liveness probe, the internal requests (ServerCheck, HealthCheck) and the
 * connection listing for operators.
 */
#include <nd_grpc_internal.h>
#include <nd_http.h>

#include <openssl/crypto.h>

static void *nd_grpc_create_conf(nd_cycle_t *cycle);
static char *nd_grpc_init_conf(nd_cycle_t *cycle, void *conf);
static nd_int_t nd_grpc_init_module(nd_cycle_t *cycle);
static nd_int_t nd_grpc_start(nd_cycle_t *cycle);
static void nd_grpc_stop(nd_cycle_t *cycle);
static void nd_grpc_exit(nd_cycle_t *cycle);
static nd_int_t nd_grpc_server_check(nd_grpc_call_t *call, json_t *body);
static nd_int_t nd_grpc_health_check(nd_grpc_call_t *call, json_t *body);
static nd_int_t nd_grpc_loader_current(nd_http_request_t *r);
#ifdef ND_DEBUG
static nd_int_t nd_grpc_debug_stats(nd_http_request_t *r);
#endif

static nd_conf_bounds_t  nd_grpc_streams_bounds = { 1, 65536 };
static nd_conf_bounds_t  nd_grpc_reset_rate_bounds = { 1, 1000000 };

static nd_command_t  nd_grpc_commands[] = {

    { nd_string("grpc"),
      ND_MAIN_CONF | ND_CONF_BLOCK | ND_CONF_NOARGS,
      nd_conf_module_block, 0, NULL },

    { nd_string("listen"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_addr_slot, offsetof(nd_grpc_conf_t, listen), NULL },

    { nd_string("max_concurrent_streams"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_num_slot, offsetof(nd_grpc_conf_t, max_concurrent_streams),
      &nd_grpc_streams_bounds },

    { nd_string("max_message_size"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_size_slot, offsetof(nd_grpc_conf_t, max_message_size),
      NULL },

    { nd_string("push_queue_max"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_size_slot, offsetof(nd_grpc_conf_t, push_queue_max),
      NULL },

    { nd_string("idle_probe"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_grpc_conf_t, idle_probe), NULL },

    { nd_string("probe_interval"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_grpc_conf_t, probe_interval),
      NULL },

    { nd_string("probe_timeout"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_grpc_conf_t, probe_timeout), NULL },

    { nd_string("push_timeout"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_grpc_conf_t, push_timeout), NULL },

    { nd_string("push_blocked_size"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_size_slot, offsetof(nd_grpc_conf_t, push_blocked_size),
      NULL },

    { nd_string("push_blocked_timeout"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_grpc_conf_t, push_blocked_timeout),
      NULL },

    { nd_string("handshake_timeout"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_grpc_conf_t, handshake_timeout),
      NULL },

    nd_ssl_commands(nd_grpc_conf_t, ssl),

    { nd_string("queued_output_max"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_size_slot, offsetof(nd_grpc_conf_t, queued_output_max),
      NULL },

    { nd_string("stream_reset_rate"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_num_slot, offsetof(nd_grpc_conf_t, stream_reset_rate),
      &nd_grpc_reset_rate_bounds },

    { nd_string("max_handshakes_per_ip"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_num_slot,
      offsetof(nd_grpc_conf_t, max_handshakes_per_ip), NULL },

    nd_null_command
};

nd_module_t  nd_grpc_module = {
    .name = "grpc",
    .commands = nd_grpc_commands,
    .create_conf = nd_grpc_create_conf,
    .init_conf = nd_grpc_init_conf,
    .init_module = nd_grpc_init_module,
    .start = nd_grpc_start,
    .stop = nd_grpc_stop,
    .exit = nd_grpc_exit,
};

static const nd_grpc_handler_t  nd_grpc_internal_handlers[] = {
    { nd_string("ServerCheckRequest"), nd_grpc_server_check },
    { nd_string("HealthCheckRequest"), nd_grpc_health_check },
    nd_grpc_null_handler
};

static const nd_http_route_t  nd_grpc_routes[] = {
    { ND_HTTP_GET, nd_string("/v1/core/loader/current"),
      nd_grpc_loader_current },
    { ND_HTTP_GET, nd_string("/v2/core/loader/current"),
      nd_grpc_loader_current },
#ifdef ND_DEBUG
    { ND_HTTP_GET, nd_string("/v1/core/debug/grpc"), nd_grpc_debug_stats },
#endif
    nd_http_null_route
};


static void *
nd_grpc_create_conf(nd_cycle_t *cycle)
{
    nd_grpc_conf_t  *gcf;

    gcf = nd_pcalloc(cycle->pool, sizeof(nd_grpc_conf_t));
    if (gcf == NULL) {
        return NULL;
    }

    gcf->listen = ND_CONF_UNSET_PTR;
    gcf->max_concurrent_streams = ND_CONF_UNSET;
    gcf->max_message_size = ND_CONF_UNSET_SIZE;
    gcf->push_queue_max = ND_CONF_UNSET_SIZE;
    gcf->idle_probe = ND_CONF_UNSET_MSEC;
    gcf->probe_interval = ND_CONF_UNSET_MSEC;
    gcf->probe_timeout = ND_CONF_UNSET_MSEC;
    gcf->push_timeout = ND_CONF_UNSET_MSEC;
    gcf->handshake_timeout = ND_CONF_UNSET_MSEC;
    gcf->queued_output_max = ND_CONF_UNSET_SIZE;
    gcf->stream_reset_rate = ND_CONF_UNSET;
    gcf->max_handshakes_per_ip = ND_CONF_UNSET_UINT;
    gcf->push_blocked_size = ND_CONF_UNSET_SIZE;
    gcf->push_blocked_timeout = ND_CONF_UNSET_MSEC;

    return gcf;
}


static char *
nd_grpc_init_conf(nd_cycle_t *cycle, void *conf)
{
    char            *rv;
    nd_addr_t        http;
    nd_listening_t  *ls;
    nd_grpc_conf_t  *gcf = conf;

    nd_conf_init_value(gcf->max_concurrent_streams, 256);
    nd_conf_init_size_value(gcf->max_message_size, 10 * 1024 * 1024);
    nd_conf_init_size_value(gcf->push_queue_max, 4 * 1024 * 1024);
    nd_conf_init_msec_value(gcf->idle_probe, 20000);
    nd_conf_init_msec_value(gcf->probe_interval, 3000);
    nd_conf_init_msec_value(gcf->probe_timeout, 5000);
    nd_conf_init_msec_value(gcf->push_timeout, 5000);
    nd_conf_init_msec_value(gcf->handshake_timeout, 10000);
    nd_conf_init_size_value(gcf->queued_output_max, 4 * 1024 * 1024);
    nd_conf_init_value(gcf->stream_reset_rate, 200);
    nd_conf_init_uint_value(gcf->max_handshakes_per_ip, 1024);

    if (gcf->max_handshakes_per_ip == 0) {
        return "\"max_handshakes_per_ip\" must be at least 1";
    }
    /* as Nacos: a stream with over 32 KiB unsent is not writable, and
     * one not writable for 300 s is ejected */
    nd_conf_init_size_value(gcf->push_blocked_size, 32 * 1024);
    nd_conf_init_msec_value(gcf->push_blocked_timeout, 300000);

    if (gcf->listen == ND_CONF_UNSET_PTR) {
        /* Nacos convention: the HTTP port + 1000 on the same address */
        gcf->listen = nd_pcalloc(cycle->pool, sizeof(nd_addr_t));
        if (gcf->listen == NULL) {
            return ND_CONF_ERROR;
        }
        nd_http_default_addr(cycle, &http);
        if (http.port + 1000 > 65535) {
            return "the gRPC port (HTTP port + 1000) is over 65535: "
                   "set \"listen\" in \"grpc\"";
        }
        ((struct sockaddr_in *) &http.sa)->sin_port =
            htons((in_port_t) (http.port + 1000));
        nd_addr_from_sockaddr(gcf->listen, (struct sockaddr *) &http.sa,
                              http.socklen);
    }

    if (cycle->reloading) {
        return ND_CONF_OK;
    }

    rv = nd_ssl_conf_init(cycle, &gcf->ssl, "grpc", "h2", 0);
    if (rv != ND_CONF_OK) {
        return rv;
    }

    ls = nd_listening_add(cycle, gcf->listen, 511, nd_grpc_init_connection,
                          gcf, "grpc");
    if (ls == NULL) {
        return ND_CONF_ERROR;
    }

    ls->ssl = gcf->ssl.ctx;

    return ND_CONF_OK;
}


int
nd_grpc_add_ability(nd_cycle_t *cycle, const char *name)
{
    nd_grpc_conf_t  *gcf;

    gcf = nd_grpc_conf(cycle);

    return json_object_set_new(gcf->abilities, name, json_true()) == 0
           ? ND_OK : ND_ERROR;
}


static nd_int_t
nd_grpc_add_to(nd_cycle_t *cycle, nd_hash_t *table, const nd_grpc_handler_t *h)
{
    nd_grpc_conf_t            *gcf;
    nd_grpc_handler_entry_t   *e;

    gcf = nd_grpc_conf(cycle);

    for ( /* void */ ; h->type.len; h++) {
        e = nd_pcalloc(cycle->pool, sizeof(nd_grpc_handler_entry_t));
        if (e == NULL) {
            return ND_ERROR;
        }

        /* type names come from the code: nothing to escape */
        e->handler = h->handler;
        e->hist = nd_metrics_series_new(cycle, &gcf->handler_stats,
                                        "requestClass=\"%.*s\"",
                                        ND_STR_ARG(h->type));
        if (e->hist == NULL) {
            return ND_ERROR;
        }

        if (nd_hash_add(table, h->type.data, h->type.len, e) != ND_OK) {
            nd_log_error(ND_LOG_EMERG, cycle->log, 0,
                         "duplicate grpc handler \"%.*s\"",
                         ND_STR_ARG(h->type));
            return ND_ERROR;
        }
    }

    return ND_OK;
}


int
nd_grpc_add_handlers(nd_cycle_t *cycle, const nd_grpc_handler_t *h)
{
    return nd_grpc_add_to(cycle, &nd_grpc_conf(cycle)->handlers, h);
}


nd_int_t
nd_grpc_set_raw_handler(nd_cycle_t *cycle, const nd_str_t *type,
    nd_grpc_raw_handler_pt raw)
{
    nd_grpc_handler_entry_t  *e;

    e = nd_hash_find(&nd_grpc_conf(cycle)->handlers, type->data, type->len);
    if (e == NULL) {
        return ND_ERROR;
    }

    e->raw = raw;

    return ND_OK;
}


int
nd_grpc_add_cluster_handlers(nd_cycle_t *cycle, const nd_grpc_handler_t *h)
{
    return nd_grpc_add_to(cycle, &nd_grpc_conf(cycle)->cluster_handlers, h);
}


void
nd_grpc_set_identity(nd_cycle_t *cycle, const nd_str_t *secret)
{
    nd_grpc_conf(cycle)->identity = *secret;
}


void
nd_grpc_require_identity(nd_cycle_t *cycle)
{
    nd_grpc_conf(cycle)->identity_required = 1;
}


const nd_str_t *
nd_grpc_identity(nd_cycle_t *cycle)
{
    nd_grpc_conf_t  *gcf;

    gcf = nd_grpc_conf(cycle);

    return gcf->identity.len ? &gcf->identity : NULL;
}


int
nd_grpc_identity_ok(nd_cycle_t *cycle, const u_char *value, size_t len)
{
    nd_grpc_conf_t  *gcf;

    gcf = nd_grpc_conf(cycle);

    return gcf->identity.len != 0 && len == gcf->identity.len
           && CRYPTO_memcmp(value, gcf->identity.data, len) == 0;
}


nd_int_t
nd_grpc_add_gate(nd_cycle_t *cycle, nd_grpc_gate_pt gate)
{
    nd_grpc_gate_pt  *g;

    g = nd_array_push(&nd_grpc_conf(cycle)->gates);
    if (g == NULL) {
        return ND_ERROR;
    }

    *g = gate;

    return ND_OK;
}


nd_int_t
nd_grpc_add_body_gate(nd_cycle_t *cycle, nd_grpc_gate_pt gate)
{
    nd_grpc_conf(cycle)->body_gates++;

    return nd_grpc_add_gate(cycle, gate);
}


nd_int_t
nd_grpc_add_conn_hook(nd_cycle_t *cycle, nd_grpc_conn_hook_pt hook)
{
    nd_grpc_conn_hook_pt  *h;

    h = nd_array_push(&nd_grpc_conf(cycle)->conn_hooks);
    if (h == NULL) {
        return ND_ERROR;
    }

    *h = hook;

    return ND_OK;
}


nd_int_t
nd_grpc_add_cluster_listener(nd_cycle_t *cycle, nd_addr_t *addr,
    nd_ssl_ctx_t *ssl)
{
    nd_listening_t  *ls;

    ls = nd_listening_add(cycle, addr, 511, nd_grpc_init_cluster_connection,
                          nd_grpc_conf(cycle), "cluster");
    if (ls == NULL) {
        return ND_ERROR;
    }

    ls->ssl = ssl;

    return ND_OK;
}


int
nd_grpc_conn_is_cluster(nd_grpc_conn_t *conn)
{
    return conn->cluster;
}


static double
nd_grpc_metric_unregistered(void *data)
{
    nd_grpc_conf_t  *gcf;

    gcf = data;
    return gcf->nconns > gcf->registered
           ? (double) (gcf->nconns - gcf->registered) : 0;
}


static nd_int_t
nd_grpc_metrics_init(nd_cycle_t *cycle, nd_grpc_conf_t *gcf)
{
    if (nd_metrics_add_gauge(cycle, ND_METRICS_NACOS_MONITOR,
            ND_METRICS_NACOS_HELP,
            "module=\"core\",name=\"longConnection\"",
            &gcf->registered) != ND_OK
        || nd_metrics_add_gauge(cycle, "nacosd_grpc_connections",
            "gRPC connections by state (setup: before ConnectionSetup; "
            "cluster-port connections included).", "state=\"registered\"",
            &gcf->registered) != ND_OK
        || nd_metrics_add_gauge_fn(cycle, "nacosd_grpc_connections", NULL,
            "state=\"setup\"", nd_grpc_metric_unregistered, gcf) != ND_OK
        || nd_metrics_add_counter(cycle, "nacosd_grpc_pushes_total",
            "Server requests (pushes) sent to gRPC clients.", NULL,
            &gcf->pushes) != ND_OK
        || nd_metrics_add_counter(cycle, "nacosd_grpc_push_failures_total",
            "Server requests not sent, failed or not answered in time.",
            NULL, &gcf->push_failed) != ND_OK
        || nd_metrics_add_latency(cycle, "nacosd_push_latency_seconds",
            "Pushes to gRPC clients, from sent to answered (seconds).",
            NULL, &gcf->push_latency) != ND_OK
        || nd_metrics_add_series(cycle, "grpc_server_requests_seconds",
            "gRPC requests answered, by request type (seconds).",
            &gcf->handler_stats) != ND_OK)
    {
        return ND_ERROR;
    }

    return ND_OK;
}


static nd_int_t
nd_grpc_init_module(nd_cycle_t *cycle)
{
    nd_grpc_conf_t  *gcf;

    gcf = nd_grpc_conf(cycle);

    if (nd_hash_init(&gcf->handlers, 64) != ND_OK
        || nd_hash_init(&gcf->cluster_handlers, 16) != ND_OK
        || nd_array_init(&gcf->handler_stats, cycle->pool, 64,
                         sizeof(nd_metrics_series_t *)) != ND_OK
        || nd_grpc_metrics_init(cycle, gcf) != ND_OK
        || nd_array_init(&gcf->gates, cycle->pool, 2,
                         sizeof(nd_grpc_gate_pt)) != ND_OK
        || nd_array_init(&gcf->conn_hooks, cycle->pool, 2,
                         sizeof(nd_grpc_conn_hook_pt)) != ND_OK
        || nd_hash_init(&gcf->conns, 1024) != ND_OK
        || nd_hash_init(&gcf->handshaking, 64) != ND_OK)
    {
        return ND_ERROR;
    }

    nd_queue_init(&gcf->all);

    nd_timer_init(&gcf->probe, "grpc probe", nd_grpc_probe_handler, gcf);
    nd_queue_init(&gcf->push_waits);
    nd_timer_init(&gcf->push_timer, "grpc push timeouts",
                  nd_grpc_push_timer_handler, gcf);

    gcf->abilities = json_object();
    if (gcf->abilities == NULL) {
        return ND_ERROR;
    }

    if (nd_grpc_add_handlers(cycle, nd_grpc_internal_handlers) != ND_OK
        || nd_grpc_add_cluster_handlers(cycle, nd_grpc_internal_handlers)
           != ND_OK
        || nd_http_add_routes(cycle, nd_grpc_routes) != ND_OK)
    {
        return ND_ERROR;
    }

    return ND_OK;
}


static nd_int_t
nd_grpc_start(nd_cycle_t *cycle)
{
    nd_grpc_conf_t  *gcf;

    gcf = nd_grpc_conf(cycle);
    nd_timer_start(&gcf->probe, gcf->probe_interval, ND_TIMER_REPEAT);

    return ND_OK;
}


static void
nd_grpc_stop(nd_cycle_t *cycle)
{
    nd_queue_t      *q, *next;
    nd_grpc_conn_t  *conn;
    nd_grpc_conf_t  *gcf;

    gcf = nd_grpc_conf(cycle);
    nd_timer_stop(&gcf->probe);
    nd_timer_stop(&gcf->push_timer);

    /* long connections never drain by themselves: tell clients to go */
    for (q = nd_queue_head(&gcf->all); q != nd_queue_sentinel(&gcf->all);
         q = next)
    {
        next = nd_queue_next(q);
        conn = nd_queue_data(q, nd_grpc_conn_t, link);
        nd_grpc_conn_close(conn, "server is stopping");
    }
}


static void
nd_grpc_exit(nd_cycle_t *cycle)
{
    nd_grpc_conf_t  *gcf;

    gcf = nd_grpc_conf(cycle);

    nd_hash_free(&gcf->handlers);
    nd_hash_free(&gcf->cluster_handlers);
    nd_hash_free(&gcf->conns);
    nd_hash_free(&gcf->handshaking);
    nd_buf_free(&gcf->scratch);

    if (gcf->abilities) {
        json_decref(gcf->abilities);
        gcf->abilities = NULL;
    }
}


static nd_int_t
nd_grpc_server_check(nd_grpc_call_t *call, json_t *body)
{
    /* negotiation on: a 2.3+ Java or Python client then waits for the
     * SetupAckRequest that follows its ConnectionSetupRequest */
    return nd_grpc_reply(call, "ServerCheckResponse",
                         json_pack("{s:s, s:b}",
                                   "connectionId", call->conn->id,
                                   "supportAbilityNegotiation", 1));
}


static nd_int_t
nd_grpc_health_check(nd_grpc_call_t *call, json_t *body)
{
    return nd_grpc_reply(call, "HealthCheckResponse", json_object());
}


/* GET /v1/core/loader/current: this node's long connections */
static nd_int_t
nd_grpc_loader_current(nd_http_request_t *r)
{
    json_t          *res, *meta;
    nd_int_t         rc;
    nd_msec_t        now;
    nd_queue_t      *q;
    nd_grpc_conn_t  *conn;
    nd_grpc_conf_t  *gcf;

    gcf = nd_grpc_conf(nd_cycle);
    now = nd_time_monotonic_msec();
    res = json_object();

    for (q = nd_queue_head(&gcf->all); q != nd_queue_sentinel(&gcf->all);
         q = nd_queue_next(q))
    {
        conn = nd_queue_data(q, nd_grpc_conn_t, link);
        if (!conn->registered) {
            continue;
        }

        meta = json_pack("{s:s, s:s, s:i, s:s, s:s, s:I}",
                         "connectionId", conn->id,
                         "clientIp", conn->client_ip,
                         "remotePort", (int) conn->c->addr.port,
                         "version", conn->client_version
                                    ? conn->client_version : "",
                         "tenant", conn->tenant ? conn->tenant : "",
                         "lastActiveTime",
                         (json_int_t) (nd_current_msec
                                       - (now - conn->last_active)));
        if (meta) {
            json_object_set_new(meta, "labels",
                                conn->labels ? json_incref(conn->labels)
                                             : json_object());
            json_object_set_new(res, conn->id,
                                json_pack("{s:o}", "metaInfo", meta));
        }
    }

    rc = nd_http_send_json(r, 200, res);
    json_decref(res);

    return rc;
}


#ifdef ND_DEBUG

/* counters the robustness tests read: the most output one connection
 * held queued, calls started and cancelled before they started, and
 * connections sent GOAWAY ENHANCE_YOUR_CALM */
static nd_int_t
nd_grpc_debug_stats(nd_http_request_t *r)
{
    json_t          *res;
    nd_int_t         rc;
    nd_grpc_conf_t  *gcf;

    gcf = nd_grpc_conf(nd_cycle);

    res = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                    "queuedPeak", (json_int_t) gcf->queued_peak,
                    "queuedOutputMax", (json_int_t) gcf->queued_output_max,
                    "callsStarted", (json_int_t) gcf->calls_started,
                    "callsCancelled", (json_int_t) gcf->calls_cancelled,
                    "calmGoaways", (json_int_t) gcf->calm_goaways,
                    "answersScanned", (json_int_t) gcf->answers_scanned,
                    "answersParsed", (json_int_t) gcf->answers_parsed);

    rc = nd_http_send_json(r, 200, res);
    json_decref(res);

    return rc;
}

#endif

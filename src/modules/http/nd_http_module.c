/*
 * The http module: directives, listeners, route registry, access log.
 */
#include <nd_http_internal.h>

static void *nd_http_create_conf(nd_cycle_t *cycle);
static char *nd_http_init_conf(nd_cycle_t *cycle, void *conf);
static nd_int_t nd_http_init_module(nd_cycle_t *cycle);
static nd_int_t nd_http_start(nd_cycle_t *cycle);
static void nd_http_stop(nd_cycle_t *cycle);
static void nd_http_exit(nd_cycle_t *cycle);
static void nd_http_reload(nd_cycle_t *cycle, void *conf);
static char *nd_http_listen(nd_conf_t *cf, nd_command_t *cmd, void *conf);
static char *nd_http_context_path(nd_conf_t *cf, nd_command_t *cmd,
    void *conf);

static nd_command_t  nd_http_commands[] = {

    { nd_string("http"),
      ND_MAIN_CONF | ND_CONF_BLOCK | ND_CONF_NOARGS,
      nd_conf_module_block, 0, NULL },

    { nd_string("listen"),
      ND_BLOCK_CONF | ND_CONF_TAKE12,
      nd_http_listen, 0, NULL },

    { nd_string("context_path"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_http_context_path, 0, NULL },

    { nd_string("keepalive_timeout"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_http_conf_t, keepalive_timeout),
      NULL },

    { nd_string("client_header_timeout"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_http_conf_t, client_header_timeout),
      NULL },

    { nd_string("client_body_timeout"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_http_conf_t, client_body_timeout),
      NULL },

    { nd_string("client_max_body_size"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_size_slot, offsetof(nd_http_conf_t, client_max_body_size),
      NULL },

    { nd_string("client_header_max_size"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_size_slot,
      offsetof(nd_http_conf_t, client_header_max_size), NULL },

    { nd_string("send_queue_max"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_size_slot, offsetof(nd_http_conf_t, send_queue_max),
      NULL },

    nd_ssl_commands(nd_http_conf_t, ssl),

    { nd_string("access_log"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_str_slot, offsetof(nd_http_conf_t, access_log), NULL },

    { nd_string("console"),
      ND_BLOCK_CONF | ND_CONF_FLAG,
      nd_conf_set_flag_slot, offsetof(nd_http_conf_t, console), NULL },

    nd_null_command
};

nd_module_t  nd_http_module = {
    .name = "http",
    .commands = nd_http_commands,
    .create_conf = nd_http_create_conf,
    .init_conf = nd_http_init_conf,
    .init_module = nd_http_init_module,
    .start = nd_http_start,
    .stop = nd_http_stop,
    .exit = nd_http_exit,
    .reload = nd_http_reload,
};


static void *
nd_http_create_conf(nd_cycle_t *cycle)
{
    nd_http_conf_t  *hcf;

    hcf = nd_pcalloc(cycle->pool, sizeof(nd_http_conf_t));
    if (hcf == NULL) {
        return NULL;
    }

    hcf->keepalive_timeout = ND_CONF_UNSET_MSEC;
    hcf->client_header_timeout = ND_CONF_UNSET_MSEC;
    hcf->client_body_timeout = ND_CONF_UNSET_MSEC;
    hcf->client_max_body_size = ND_CONF_UNSET_SIZE;
    hcf->client_header_max_size = ND_CONF_UNSET_SIZE;
    hcf->send_queue_max = ND_CONF_UNSET_SIZE;
    hcf->console = ND_CONF_UNSET;
    hcf->access_file.fd = -1;

    return hcf;
}


static char *
nd_http_listen(nd_conf_t *cf, nd_command_t *cmd, void *conf)
{
    nd_int_t           n;
    nd_str_t          *value;
    nd_http_listen_t  *ls;
    nd_http_conf_t    *hcf = conf;

    value = cf->args->elts;

    if (hcf->listens == NULL) {
        hcf->listens = nd_array_create(cf->pool, 2, sizeof(nd_http_listen_t));
        if (hcf->listens == NULL) {
            return ND_CONF_ERROR;
        }
    }

    ls = nd_array_push(hcf->listens);
    if (ls == NULL) {
        return ND_CONF_ERROR;
    }

    if (nd_parse_addr(&value[1], &ls->addr) != ND_OK) {
        nd_conf_error(cf, 0, "invalid address \"%.*s\" in \"listen\" "
                      "directive", ND_STR_ARG(value[1]));
        return ND_CONF_ERROR;
    }

    ls->backlog = 511;

    if (cf->args->nelts == 3) {
        if (value[2].len <= 8 || memcmp(value[2].data, "backlog=", 8) != 0) {
            nd_conf_error(cf, 0, "invalid parameter \"%.*s\" in \"listen\" "
                          "directive", ND_STR_ARG(value[2]));
            return ND_CONF_ERROR;
        }
        n = nd_atoi(value[2].data + 8, value[2].len - 8);
        if (n < 1 || n > 65535) {
            nd_conf_error(cf, 0, "invalid backlog \"%.*s\" in \"listen\" "
                          "directive", ND_STR_ARG(value[2]));
            return ND_CONF_ERROR;
        }
        ls->backlog = (int) n;
    }

    return ND_CONF_OK;
}


static char *
nd_http_context_path(nd_conf_t *cf, nd_command_t *cmd, void *conf)
{
    nd_str_t        *value;
    nd_http_conf_t  *hcf = conf;

    if (hcf->context_path.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0 || value[1].data[0] != '/') {
        return "must start with \"/\"";
    }

    hcf->context_path = value[1];
    /* "/" means no context path; a trailing slash is dropped */
    while (hcf->context_path.len
           && hcf->context_path.data[hcf->context_path.len - 1] == '/')
    {
        hcf->context_path.len--;
    }
    hcf->context_path.data = nd_pstrdup(cf->pool, &hcf->context_path);

    return hcf->context_path.data ? ND_CONF_OK : ND_CONF_ERROR;
}


static char *
nd_http_init_conf(nd_cycle_t *cycle, void *conf)
{
    char              *rv;
    nd_uint_t          i;
    nd_conf_t          cf;
    nd_listening_t    *l;
    nd_http_listen_t  *ls, dflt;
    nd_http_conf_t    *hcf = conf;

    nd_conf_init_str_value(hcf->context_path, "/nacos");
    nd_conf_init_msec_value(hcf->keepalive_timeout, 60000);
    nd_conf_init_msec_value(hcf->client_header_timeout, 10000);
    nd_conf_init_msec_value(hcf->client_body_timeout, 60000);
    nd_conf_init_size_value(hcf->client_max_body_size, 10 * 1024 * 1024);
    nd_conf_init_size_value(hcf->client_header_max_size, 16 * 1024);
    nd_conf_init_size_value(hcf->send_queue_max, 4 * 1024 * 1024);
    nd_conf_init_value(hcf->console, 1);

    if (hcf->client_header_max_size < 256) {
        return "\"client_header_max_size\" must be at least 256 bytes";
    }

    if (hcf->access_log.data && !nd_str_eq(&hcf->access_log, "off")) {
        memset(&cf, 0, sizeof(cf));
        cf.cycle = cycle;
        cf.pool = cycle->pool;
        hcf->access_log_path = nd_conf_full_name(&cf, &hcf->access_log, 0);
        if (hcf->access_log_path == NULL) {
            return ND_CONF_ERROR;
        }
    }

    if (cycle->reloading) {
        return ND_CONF_OK;             /* listeners are not reloadable */
    }

    /* TLS: HTTP/1.1 only; the client side forwards to peers' HTTP ports */
    rv = nd_ssl_conf_init(cycle, &hcf->ssl, "http", "http/1.1", 1);
    if (rv != ND_CONF_OK) {
        return rv;
    }

    if (hcf->listens == NULL) {
        nd_http_default_addr(cycle, &dflt.addr);
        dflt.backlog = 511;
        ls = &dflt;
        l = nd_listening_add(cycle, &ls->addr, ls->backlog,
                             nd_http_init_connection, hcf, "http");
        if (l == NULL) {
            return ND_CONF_ERROR;
        }
        l->ssl = hcf->ssl.ctx;
        return ND_CONF_OK;
    }

    ls = hcf->listens->elts;
    for (i = 0; i < hcf->listens->nelts; i++) {
        l = nd_listening_add(cycle, &ls[i].addr, ls[i].backlog,
                             nd_http_init_connection, hcf, "http");
        if (l == NULL) {
            return ND_CONF_ERROR;
        }
        l->ssl = hcf->ssl.ctx;
    }

    return ND_CONF_OK;
}


static void
nd_http_access_timer(nd_timer_t *t)
{
    nd_http_access_flush(t->data);
}


static void
nd_http_access_file_flush(nd_log_file_t *file)
{
    nd_http_access_flush(file->data);
}


static nd_int_t
nd_http_open_access_log(nd_http_conf_t *hcf, nd_log_t *log)
{
    nd_log_file_t  f;

    if (hcf->access_log_path == NULL) {
        return ND_OK;
    }

    if (nd_log_file_open(&f, hcf->access_log_path) != ND_OK) {
        nd_log_error(ND_LOG_EMERG, log, errno, "open() \"%s\" failed",
                     hcf->access_log_path);
        return ND_ERROR;
    }

    if (hcf->access_file.fd != -1) {
        close(hcf->access_file.fd);
    }
    hcf->access_file.fd = f.fd;
    hcf->access_file.path = hcf->access_log_path;
    hcf->access_file.flush = nd_http_access_file_flush;
    hcf->access_file.data = hcf;

    return ND_OK;
}


static nd_int_t
nd_http_init_module(nd_cycle_t *cycle)
{
    nd_http_conf_t  *hcf;

    hcf = nd_http_conf(cycle);

    if (nd_hash_init(&hcf->routes, 128) != ND_OK
        || nd_array_init(&hcf->filters, cycle->pool, 2,
                         sizeof(nd_http_handler_pt)) != ND_OK
        || nd_array_init(&hcf->route_stats, cycle->pool, 128,
                         sizeof(nd_metrics_series_t *)) != ND_OK
        || nd_metrics_add_counter(cycle, "nacosd_http_requests_total",
               "HTTP requests received, routed or not.", NULL,
               &hcf->requests) != ND_OK
        || nd_metrics_add_series(cycle, "http_server_requests_seconds",
               "HTTP requests answered, by route and method (seconds).",
               &hcf->route_stats) != ND_OK)
    {
        return ND_ERROR;
    }

    nd_queue_init(&hcf->conns);
    nd_http_init_parser_settings(&hcf->settings);
    nd_timer_init(&hcf->access_timer, "access log", nd_http_access_timer,
                  hcf);

    if (nd_http_open_access_log(hcf, cycle->log) != ND_OK
        || nd_cycle_add_log_file(cycle, &hcf->access_file) != ND_OK)
    {
        return ND_ERROR;
    }

    if (nd_http_console_init(cycle) != ND_OK) {
        return ND_ERROR;
    }

    return nd_http_core_init(cycle);
}


static nd_int_t
nd_http_start(nd_cycle_t *cycle)
{
    nd_http_conf_t  *hcf;

    hcf = nd_http_conf(cycle);

    if (hcf->access_file.fd != -1) {
        nd_timer_start(&hcf->access_timer, 1000, ND_TIMER_REPEAT);
    }

    return ND_OK;
}


static void
nd_http_stop(nd_cycle_t *cycle)
{
    nd_http_close_idle(cycle);
}


static void
nd_http_exit(nd_cycle_t *cycle)
{
    nd_uint_t               i;
    nd_hash_elt_t          *e;
    nd_http_conf_t         *hcf;

    hcf = nd_http_conf(cycle);

    if (hcf->routes.buckets == NULL) {
        return;                         /* never initialised */
    }

    nd_http_access_flush(hcf);
    nd_buf_free(&hcf->access_buf);
    if (cycle->loop) {
        nd_timer_stop(&hcf->access_timer);
    }
    if (hcf->access_file.fd != -1) {
        close(hcf->access_file.fd);
        hcf->access_file.fd = -1;
    }

    for (e = nd_hash_first(&hcf->routes, &i); e;
         e = nd_hash_next(&hcf->routes, e, &i))
    {
        nd_free(e->value);
    }
    nd_hash_free(&hcf->routes);
}


static void
nd_http_reload(nd_cycle_t *cycle, void *conf)
{
    nd_str_t         path;
    nd_http_conf_t  *hcf, *ncf = conf;

    hcf = nd_http_conf(cycle);

    hcf->keepalive_timeout = ncf->keepalive_timeout;
    hcf->client_header_timeout = ncf->client_header_timeout;
    hcf->client_body_timeout = ncf->client_body_timeout;
    hcf->client_max_body_size = ncf->client_max_body_size;

    nd_http_access_flush(hcf);

    if (ncf->access_log_path == NULL) {
        if (hcf->access_file.fd != -1) {
            close(hcf->access_file.fd);
            hcf->access_file.fd = -1;
            nd_timer_stop(&hcf->access_timer);
        }
        hcf->access_log_path = NULL;
        hcf->access_file.path = NULL;
        return;
    }

    path.len = strlen(ncf->access_log_path);
    path.data = (u_char *) ncf->access_log_path;
    hcf->access_log_path = nd_pstrdupz(cycle->pool, &path);

    if (nd_http_open_access_log(hcf, cycle->log) == ND_OK
        && !nd_timer_active(&hcf->access_timer))
    {
        nd_timer_start(&hcf->access_timer, 1000, ND_TIMER_REPEAT);
    }
}


void
nd_http_default_addr(nd_cycle_t *cycle, nd_addr_t *addr)
{
    nd_str_t           def = nd_string("127.0.0.1:8848");
    nd_http_conf_t    *hcf;
    nd_http_listen_t  *ls;

    hcf = nd_http_conf(cycle);

    if (hcf->listens && hcf->listens->nelts) {
        ls = hcf->listens->elts;
        *addr = ls[0].addr;
        return;
    }

    nd_parse_addr(&def, addr);
}


/* in the order of the ND_HTTP_* bits */
static const char  *nd_http_method_names[ND_HTTP_NMETHODS] = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"
};


int
nd_http_method_index(nd_uint_t bit)
{
    int  i;

    for (i = 0; i < ND_HTTP_NMETHODS; i++) {
        if (bit == ((nd_uint_t) 1 << i)) {
            return i;
        }
    }

    return -1;
}


nd_int_t
nd_http_add_filter(nd_cycle_t *cycle, nd_http_handler_pt filter)
{
    nd_http_handler_pt  *f;

    f = nd_array_push(&nd_http_conf(cycle)->filters);
    if (f == NULL) {
        return ND_ERROR;
    }

    *f = filter;

    return ND_OK;
}


nd_int_t
nd_http_add_routes(nd_cycle_t *cycle, const nd_http_route_t *routes)
{
    int                     i;
    nd_uint_t               bit;
    nd_http_conf_t         *hcf;
    nd_http_route_entry_t  *e;

    hcf = nd_http_conf(cycle);

    for ( /* void */ ; routes->path.len; routes++) {
        e = nd_hash_find(&hcf->routes, routes->path.data, routes->path.len);

        if (e == NULL) {
            e = nd_calloc(sizeof(nd_http_route_entry_t));
            if (e == NULL) {
                return ND_ERROR;
            }
            if (nd_hash_add(&hcf->routes, routes->path.data,
                            routes->path.len, e) != ND_OK)
            {
                nd_free(e);
                return ND_ERROR;
            }
        }

        for (bit = 1; bit & ND_HTTP_ANY; bit <<= 1) {
            if (!(routes->methods & bit)) {
                continue;
            }

            i = nd_http_method_index(bit);

            if (e->handlers[i]) {
                nd_log_error(ND_LOG_EMERG, cycle->log, 0,
                             "duplicate HTTP route \"%.*s\"",
                             ND_STR_ARG(routes->path));
                return ND_ERROR;
            }

            e->handlers[i] = routes->handler;
            e->methods |= bit;

            /* route paths come from the code: nothing to escape */
            e->hist[i] = nd_metrics_series_new(cycle, &hcf->route_stats,
                             "method=\"%s\",uri=\"%.*s%.*s\"",
                             nd_http_method_names[i],
                             ND_STR_ARG(hcf->context_path),
                             ND_STR_ARG(routes->path));
            if (e->hist[i] == NULL) {
                return ND_ERROR;
            }
        }
    }

    return ND_OK;
}


void
nd_http_routes_each(nd_cycle_t *cycle,
    void (*fn)(const nd_str_t *path, nd_uint_t methods, void *data),
    void *data)
{
    nd_str_t                path;
    nd_uint_t               i;
    nd_hash_elt_t          *e;
    nd_http_route_entry_t  *re;
    nd_http_conf_t         *hcf;

    hcf = nd_http_conf(cycle);

    for (e = nd_hash_first(&hcf->routes, &i); e;
         e = nd_hash_next(&hcf->routes, e, &i))
    {
        re = e->value;
        path.data = e->key;
        path.len = e->len;
        fn(&path, re->methods, data);
    }
}


nd_http_route_entry_t *
nd_http_find_route(nd_http_conf_t *hcf, const nd_str_t *route)
{
    return nd_hash_find(&hcf->routes, route->data, route->len);
}


void
nd_http_access_log(nd_http_request_t *r)
{
    nd_str_t        *ua;
    nd_http_conf_t  *hcf;

    if (r->hist) {
        nd_metrics_hist_observe(r->hist,
            (double) (nd_current_msec - r->start_msec) / 1000.0);
    }

    hcf = nd_http_conf(nd_cycle);

    if (hcf->access_file.fd == -1) {
        return;
    }

    ua = nd_http_header_in(r, "User-Agent");

    nd_buf_appendf(&hcf->access_buf,
                   "%s - - [%s] \"%.*s %.*s HTTP/1.%u\" %u %zu %.3f \"%.*s\"\n",
                   r->c->addr.host, nd_cached_access_time,
                   ND_STR_ARG(r->method_name), ND_STR_ARG(r->uri),
                   (unsigned) r->http_minor, (unsigned) r->status,
                   r->body_sent,
                   (double) (nd_current_msec - r->start_msec) / 1000.0,
                   ua ? (int) ua->len : 1, ua ? (char *) ua->data : "-");

    if (nd_buf_size(&hcf->access_buf) >= 64 * 1024) {
        nd_http_access_flush(hcf);
    }
}


void
nd_http_access_flush(nd_http_conf_t *hcf)
{
    ssize_t  n;

    if (hcf->access_file.fd == -1 || nd_buf_size(&hcf->access_buf) == 0) {
        return;
    }

    n = write(hcf->access_file.fd, nd_buf_start(&hcf->access_buf),
              nd_buf_size(&hcf->access_buf));
    (void) n;                   /* a lost access log line is not fatal */
    nd_buf_reset(&hcf->access_buf);
}

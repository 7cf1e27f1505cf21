/*
 * HTTP module internals shared by its files.
 */
#ifndef ND_HTTP_INTERNAL_H
#define ND_HTTP_INTERNAL_H

#include <nd_http.h>
#include <llhttp.h>

typedef struct {
    nd_addr_t            addr;
    int                  backlog;
} nd_http_listen_t;

typedef struct {
    nd_http_handler_pt   handlers[ND_HTTP_NMETHODS];
    nd_uint_t            methods;
    /* http_server_requests_seconds, per method */
    nd_metrics_hist_t   *hist[ND_HTTP_NMETHODS];
} nd_http_route_entry_t;

typedef struct {
    nd_array_t          *listens;            /* nd_http_listen_t */
    nd_str_t             context_path;
    nd_msec_t            keepalive_timeout;
    nd_msec_t            client_header_timeout;
    nd_msec_t            client_body_timeout;
    size_t               client_max_body_size;
    size_t               client_header_max_size;
    size_t               send_queue_max;
    nd_str_t             access_log;
    nd_flag_t            console;
    nd_ssl_conf_t        ssl;

    /* runtime */
    nd_hash_t            routes;             /* path -> route entry */
    nd_array_t           filters;            /* nd_http_handler_pt */
    llhttp_settings_t    settings;
    char                *access_log_path;
    nd_log_file_t        access_file;        /* fd -1: off */
    nd_buf_t             access_buf;
    nd_timer_t           access_timer;
    nd_queue_t           conns;              /* nd_http_conn_t */
    nd_uint_t            requests;           /* served, for metrics */
    nd_array_t           route_stats;        /* nd_metrics_series_t * */
} nd_http_conf_t;

extern nd_module_t  nd_http_module;

#define nd_http_conf(cycle)                                                   \
    ((nd_http_conf_t *) nd_get_conf(cycle, nd_http_module))

void nd_http_init_connection(nd_connection_t *c);
void nd_http_init_parser_settings(llhttp_settings_t *s);
void nd_http_close_idle(nd_cycle_t *cycle);
nd_http_route_entry_t *nd_http_find_route(nd_http_conf_t *hcf,
    const nd_str_t *route);
nd_int_t nd_http_parse_args(nd_http_request_t *r, const nd_str_t *s);
void nd_http_access_log(nd_http_request_t *r);
void nd_http_access_flush(nd_http_conf_t *hcf);
nd_int_t nd_http_core_init(nd_cycle_t *cycle);
nd_int_t nd_http_console_init(nd_cycle_t *cycle);
void nd_http_console_redirect(nd_http_request_t *r);

#endif /* ND_HTTP_INTERNAL_H */

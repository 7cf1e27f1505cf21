/*
 * HTTP/1.1 server API for modules: routes, requests, responses, holds.
 */
#ifndef ND_HTTP_H
#define ND_HTTP_H

#include <nd_core.h>

/* method bits for route tables */
#define ND_HTTP_GET       0x0001
#define ND_HTTP_HEAD      0x0002
#define ND_HTTP_POST      0x0004
#define ND_HTTP_PUT       0x0008
#define ND_HTTP_DELETE    0x0010
#define ND_HTTP_PATCH     0x0020
#define ND_HTTP_OPTIONS   0x0040
#define ND_HTTP_ANY       0x007f
#define ND_HTTP_NMETHODS  7

typedef struct nd_http_request_s  nd_http_request_t;
typedef struct nd_http_conn_s     nd_http_conn_t;

/*
 * A handler returns ND_OK (response sent), ND_DONE (it will call
 * nd_http_finalize() later), ND_ERROR (500) or an HTTP status >= 400.
 */
typedef nd_int_t (*nd_http_handler_pt)(nd_http_request_t *r);
/* a held request's connection went away; free what points at r */
typedef void (*nd_http_abort_pt)(nd_http_request_t *r);
typedef void (*nd_http_hold_pt)(nd_http_request_t *r);
/* the rest of a filter that returned ND_DONE (nd_http_resume) */
typedef nd_int_t (*nd_http_resume_pt)(nd_http_request_t *r, void *data);

typedef struct {
    nd_uint_t            methods;
    nd_str_t             path;        /* below context_path: "/v1/ns/..." */
    nd_http_handler_pt   handler;
} nd_http_route_t;

#define nd_http_null_route  { 0, nd_null_string, NULL }

struct nd_http_request_s {
    nd_connection_t     *c;
    nd_http_conn_t      *hc;
    nd_pool_t           *pool;

    nd_uint_t            method;      /* ND_HTTP_GET ... */
    nd_str_t             method_name;
    nd_str_t             uri;         /* raw request target */
    nd_str_t             path;        /* decoded path */
    nd_str_t             route;       /* path below context_path */
    nd_str_t             query;       /* raw query string */
    nd_array_t           headers;     /* nd_keyval_t, as received */
    nd_array_t           args;        /* nd_keyval_t: query, then form */
    nd_str_t             body;
    nd_uint_t            http_minor;

    nd_uint_t            status;
    nd_array_t           headers_out; /* nd_keyval_t */
    size_t               body_sent;
    nd_msec_t            start_msec;

    void                *ctx;         /* the handler's */
    nd_metrics_hist_t   *hist;        /* the route's latency, or NULL */
    nd_http_abort_pt     abort_handler;
    nd_http_handler_pt   handler;     /* the route's, after the filters */
    nd_uint_t            filter;      /* the next filter to run */
    nd_http_hold_pt      hold_handler;
    nd_timer_t           hold_timer;
    nd_queue_t           link;        /* free for the handler's module */

    unsigned             keepalive:1;
    unsigned             done:1;
    unsigned             async:1;
    unsigned             header_only:1;
    unsigned             in_handler:1;
};

nd_int_t nd_http_add_routes(nd_cycle_t *cycle, const nd_http_route_t *routes);
/* a filter runs before the handler of every routed request (parameters
 * parsed, r->route set): ND_DECLINED goes on, anything else is the
 * request's result as a handler's (distro forwards 1.x writes so);
 * ND_DONE holds the request (r->ctx and r->abort_handler are the
 * filter's meanwhile) until the filter calls nd_http_resume */
nd_int_t nd_http_add_filter(nd_cycle_t *cycle, nd_http_handler_pt filter);
/* a held filter finishes: rest(r, data) runs as the filter's remainder
 * (ND_DECLINED: the next filters and the handler run, else it is the
 * request's result); r->abort_handler is cleared first */
void nd_http_resume(nd_http_request_t *r, nd_http_resume_pt rest,
    void *data);
/* the index (0 .. ND_HTTP_NMETHODS - 1) of one method bit, or -1 */
int nd_http_method_index(nd_uint_t bit);
/* every registered route with its method bits (from start on: all
 * modules added theirs in init_module) */
void nd_http_routes_each(nd_cycle_t *cycle,
    void (*fn)(const nd_str_t *path, nd_uint_t methods, void *data),
    void *data);
/* the first HTTP listen address (127.0.0.1:8848 by default); other ports
 * follow the Nacos convention of offsets from it */
void nd_http_default_addr(nd_cycle_t *cycle, nd_addr_t *addr);

/* parameters: first occurrence; ND_OK, or ND_DECLINED when absent */
nd_int_t nd_http_arg(nd_http_request_t *r, const char *name, nd_str_t *value);
/* request header, case-insensitive; NULL when absent */
nd_str_t *nd_http_header_in(nd_http_request_t *r, const char *name);
nd_int_t nd_http_add_header(nd_http_request_t *r, const char *name,
    const char *value, size_t len);

/* queue the whole response; r must not be used afterwards (outside of
 * the handler call that answers synchronously, it is freed at once) */
nd_int_t nd_http_send(nd_http_request_t *r, nd_uint_t status,
    const char *content_type, const void *body, size_t len);
nd_int_t nd_http_send_json(nd_http_request_t *r, nd_uint_t status,
    json_t *json);
/* Nacos error: a text body for v1 paths, the {code,message,data}
 * envelope for v2 paths (message from the Nacos ErrorCode table, data
 * the detail) */
nd_int_t nd_http_error(nd_http_request_t *r, nd_uint_t status,
    nd_int_t code, const char *msg);
/* finish an async request with a handler return code */
void nd_http_finalize(nd_http_request_t *r, nd_int_t rc);
/* hold an async request; handler runs after msec unless finished before */
void nd_http_hold(nd_http_request_t *r, nd_msec_t msec,
    nd_http_hold_pt handler);

const char *nd_http_status_text(nd_uint_t status);

/*
 * One request to another node (nd_http_client.c): req is the whole
 * request text (send "Connection: close"); cb runs once, from the loop:
 * rc ND_OK with the status, Content-Type and body (borrowed), ND_AGAIN
 * timed out, ND_DECLINED could not connect, ND_ERROR failed.  NULL: not
 * started (cb will not run).  A fetch cancelled runs no callback.
 */
typedef struct nd_http_fetch_s  nd_http_fetch_t;
typedef void (*nd_http_fetch_pt)(nd_int_t rc, nd_uint_t status,
    nd_str_t *content_type, nd_str_t *body, void *data);

nd_http_fetch_t *nd_http_fetch(nd_cycle_t *cycle, const nd_addr_t *addr,
    const u_char *req, size_t len, nd_msec_t timeout, nd_http_fetch_pt cb,
    void *data);
void nd_http_fetch_cancel(nd_http_fetch_t *f);

/* a Nacos Member object, as /v1/core/cluster/nodes lists it */
json_t *nd_http_member_json(const char *host, nd_uint_t port,
    const char *state, nd_uint_t fail, uint64_t refreshed,
    const char *version);

#endif /* ND_HTTP_H */

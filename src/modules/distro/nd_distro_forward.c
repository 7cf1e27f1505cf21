/*
 * The gates of this node while its snapshot loads, and 1.x writes sent to
 * their owner.  A 1.x ephemeral client "ip:port#true" belongs to the node
 * its ip:port hashes to; a write (register, deregister, update, beat) that
 * arrives elsewhere is forwarded there over HTTP and answered with the
 * owner's answer.  A forwarded request carries ND_DISTRO_FORWARDED; one
 * that lands on a node that is not the owner either is refused, so a
 * request never goes round.
 */
#include <nd_distro.h>

#define ND_DISTRO_FORWARDED  "X-Nacosd-Forwarded"

typedef struct {
    nd_uint_t            methods;
    nd_str_t             route;
    unsigned             beat:1;
} nd_distro_write_t;

static const nd_distro_write_t  nd_distro_writes[] = {
    { ND_HTTP_POST | ND_HTTP_DELETE | ND_HTTP_PUT | ND_HTTP_PATCH,
      nd_string("/v1/ns/instance"), 0 },
    { ND_HTTP_PUT, nd_string("/v1/ns/instance/beat"), 1 },
    { ND_HTTP_POST | ND_HTTP_DELETE | ND_HTTP_PUT | ND_HTTP_PATCH,
      nd_string("/v2/ns/instance"), 0 },
    { ND_HTTP_PUT, nd_string("/v2/ns/instance/beat"), 1 },
};

typedef struct {
    nd_http_request_t   *r;
    nd_http_fetch_t     *fetch;
} nd_distro_fwd_t;


static nd_int_t
nd_distro_gate(nd_grpc_conn_t *conn, const char *type, json_t *headers,
    json_t *body, const char **msg)
{
    if (nd_distro_conf(nd_cycle)->loading) {
        *msg = "Server is starting,please try later.";
        return 300;                 /* Nacos's INVALID_SERVER_STATUS */
    }

    return ND_OK;
}


/* the ip:port a 1.x write names: parameters, or the beat's JSON */
static nd_int_t
nd_distro_write_addr(nd_http_request_t *r, int beat, char *buf, size_t size)
{
    json_t        *b;
    nd_str_t       ip, port, text;
    json_error_t   err;

    if (beat && nd_http_arg(r, "beat", &text) == ND_OK && text.len) {
        b = json_loadb((const char *) text.data, text.len, 0, &err);
        if (json_is_object(b) && json_is_string(json_object_get(b, "ip"))
            && json_is_integer(json_object_get(b, "port")))
        {
            snprintf(buf, size, "%s:%lld",
                     json_string_value(json_object_get(b, "ip")),
                     (long long) json_integer_value(json_object_get(b,
                                                                    "port")));
            json_decref(b);
            return ND_OK;
        }
        json_decref(b);
    }

    if (nd_http_arg(r, "ip", &ip) != ND_OK || ip.len == 0 || ip.len > 255
        || nd_http_arg(r, "port", &port) != ND_OK || port.len == 0
        || port.len > 5)
    {
        return ND_DECLINED;         /* the handler says what is missing */
    }

    snprintf(buf, size, "%.*s:%.*s", ND_STR_ARG(ip), ND_STR_ARG(port));

    return ND_OK;
}


static void
nd_distro_fwd_abort(nd_http_request_t *r)
{
    nd_distro_fwd_t  *fw = r->ctx;

    if (fw && fw->fetch) {
        nd_http_fetch_cancel(fw->fetch);
        fw->fetch = NULL;
    }
}


static void
nd_distro_fwd_done(nd_int_t rc, nd_uint_t status, nd_str_t *ctype,
    nd_str_t *body, void *data)
{
    char              *type;
    nd_distro_fwd_t   *fw = data;
    nd_http_request_t *r;

    r = fw->r;
    fw->fetch = NULL;
    r->abort_handler = NULL;

    if (rc != ND_OK) {
        nd_http_error(r, 503, 503, "the node responsible for this instance "
                      "did not answer");
        return;
    }

    type = ctype->len ? nd_pstrdupz(r->pool, ctype) : NULL;
    nd_http_send(r, status, type, body->data, body->len);
}


static nd_int_t
nd_distro_forward(nd_http_request_t *r, const char *owner)
{
    nd_buf_t          req;
    nd_str_t         *h;
    const nd_str_t   *id;
    nd_addr_t         addr;
    nd_str_t          a;
    nd_member_t      *m, *self;
    nd_distro_fwd_t  *fw;

    m = nd_cluster_member_find(nd_cycle, owner);
    if (m == NULL) {
        return nd_http_error(r, 503, 503, "the responsible node is unknown");
    }

    a.data = (u_char *) m->addr.text;
    a.len = strlen(m->addr.text);
    if (nd_parse_addr(&a, &addr) != ND_OK) {
        return ND_ERROR;
    }

    self = nd_cluster_self(nd_cycle);
    nd_buf_init(&req);

    nd_buf_appendf(&req, "%.*s %.*s HTTP/1.1\r\nHost: %s\r\n"
                   "Connection: close\r\n" ND_DISTRO_FORWARDED ": %s\r\n"
                   "Content-Length: %lu\r\n",
                   ND_STR_ARG(r->method_name), ND_STR_ARG(r->uri),
                   m->addr.text, self->addr.text,
                   (unsigned long) r->body.len);

    h = nd_http_header_in(r, "Content-Type");
    if (h) {
        nd_buf_appendf(&req, "Content-Type: %.*s\r\n", ND_STR_ARG(*h));
    }

    h = nd_http_header_in(r, "User-Agent");
    if (h) {
        nd_buf_appendf(&req, "User-Agent: %.*s\r\n", ND_STR_ARG(*h));
    }

    /* the owner takes the write as this member's, not as a client's */
    id = nd_grpc_identity(nd_cycle);
    if (id) {
        nd_buf_appendf(&req, ND_SERVER_IDENTITY ": %.*s\r\n",
                       ND_STR_ARG(*id));
    }

    nd_buf_append(&req, "\r\n", 2);
    nd_buf_append(&req, r->body.data, r->body.len);

    fw = nd_pcalloc(r->pool, sizeof(nd_distro_fwd_t));
    if (fw == NULL) {
        nd_buf_free(&req);
        return ND_ERROR;
    }

    fw->r = r;
    fw->fetch = nd_http_fetch(nd_cycle, &addr, nd_buf_start(&req),
                              nd_buf_size(&req),
                              nd_cluster_call_timeout(nd_cycle),
                              nd_distro_fwd_done, fw);
    nd_buf_free(&req);

    if (fw->fetch == NULL) {
        return nd_http_error(r, 503, 503, "cannot reach the responsible "
                             "node");
    }

    r->ctx = fw;
    r->abort_handler = nd_distro_fwd_abort;

    return ND_DONE;
}


static nd_int_t
nd_distro_filter(nd_http_request_t *r)
{
    char                      addr[300];
    size_t                    i;
    nd_str_t                  v, id;
    const char               *owner;
    nd_distro_conf_t         *dcf;
    nd_naming_client_t       *c;
    const nd_distro_write_t  *w;

    for (i = 0; i < nd_nelts(nd_distro_writes); i++) {
        w = &nd_distro_writes[i];
        if ((w->methods & r->method) && nd_str_equal(&w->route, &r->route)) {
            break;
        }
    }

    if (i == nd_nelts(nd_distro_writes)) {
        return ND_DECLINED;
    }

    dcf = nd_distro_conf(nd_cycle);

    if (dcf->loading) {
        return nd_http_error(r, 503, 503, "server is starting, the "
                             "registry is not loaded yet");
    }

    if (!dcf->enabled) {
        return ND_DECLINED;
    }

    if (!w->beat && nd_http_arg(r, "ephemeral", &v) == ND_OK
        && nd_str_eq(&v, "false"))
    {
        return ND_DECLINED;         /* persistent: the store's */
    }

    if (nd_distro_write_addr(r, w->beat, addr, sizeof(addr) - 8) != ND_OK) {
        return ND_DECLINED;
    }

    owner = nd_distro_owner(dcf, addr, strlen(addr));

    if (owner == NULL) {
        /* ours: a copy synced before a ring change becomes native */
        strcat(addr, "#true");
        id.data = (u_char *) addr;
        id.len = strlen(addr);
        c = nd_naming_client_find(dcf->nf, &id);
        if (c && !c->native) {
            nd_naming_client_set_native(dcf->nf, c, 1);
        }
        return ND_DECLINED;
    }

    if (nd_http_header_in(r, ND_DISTRO_FORWARDED)) {
        nd_log_error(ND_LOG_WARN, &r->c->log, 0,
                     "distro: a forwarded write for %s, which %s is "
                     "responsible for, refused", addr, owner);
        return nd_http_error(r, 503, 503, "forwarded to a node that is not "
                             "responsible for the instance");
    }

    return nd_distro_forward(r, owner);
}


nd_int_t
nd_distro_forward_init(nd_cycle_t *cycle)
{
    if (nd_grpc_add_gate(cycle, nd_distro_gate) != ND_OK
        || nd_http_add_filter(cycle, nd_distro_filter) != ND_OK)
    {
        return ND_ERROR;
    }

    return ND_OK;
}

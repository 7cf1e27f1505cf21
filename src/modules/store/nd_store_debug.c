/*
 * Debug builds only: a small HTTP surface over the asynchronous store API
 * (/nacos/v1/core/debug/store/...), so the store is tested end to end
 * before the config API exists.  Each handler submits one operation and
 * answers from its completion handler.
 */
#include <nd_store_internal.h>
#include <nd_http.h>

#ifdef ND_DEBUG

static nd_int_t nd_store_debug_config(nd_http_request_t *r);
static nd_int_t nd_store_debug_configs(nd_http_request_t *r);
static nd_int_t nd_store_debug_history(nd_http_request_t *r);
static nd_int_t nd_store_debug_previous(nd_http_request_t *r);
static nd_int_t nd_store_debug_changes(nd_http_request_t *r);
static nd_int_t nd_store_debug_namespace(nd_http_request_t *r);
static nd_int_t nd_store_debug_instance(nd_http_request_t *r);
static nd_int_t nd_store_debug_status(nd_http_request_t *r);

static const nd_http_route_t  nd_store_debug_routes[] = {
    { ND_HTTP_GET | ND_HTTP_POST | ND_HTTP_DELETE,
      nd_string("/v1/core/debug/store/config"), nd_store_debug_config },
    { ND_HTTP_GET, nd_string("/v1/core/debug/store/configs"),
      nd_store_debug_configs },
    { ND_HTTP_GET, nd_string("/v1/core/debug/store/history"),
      nd_store_debug_history },
    { ND_HTTP_GET, nd_string("/v1/core/debug/store/history/previous"),
      nd_store_debug_previous },
    { ND_HTTP_GET, nd_string("/v1/core/debug/store/changes"),
      nd_store_debug_changes },
    { ND_HTTP_GET | ND_HTTP_POST | ND_HTTP_PUT | ND_HTTP_DELETE,
      nd_string("/v1/core/debug/store/namespace"), nd_store_debug_namespace },
    { ND_HTTP_GET | ND_HTTP_POST | ND_HTTP_DELETE,
      nd_string("/v1/core/debug/store/instance"), nd_store_debug_instance },
    { ND_HTTP_GET, nd_string("/v1/core/debug/store/status"),
      nd_store_debug_status },
    nd_http_null_route
};


nd_int_t
nd_store_debug_init(nd_cycle_t *cycle)
{
    return nd_http_add_routes(cycle, nd_store_debug_routes);
}


static void
nd_store_debug_arg(nd_http_request_t *r, const char *name, nd_str_t *v)
{
    if (nd_http_arg(r, name, v) != ND_OK) {
        v->len = 0;
        v->data = NULL;
    }
}


static int64_t
nd_store_debug_int(nd_http_request_t *r, const char *name, int64_t dflt)
{
    int64_t   v;
    nd_str_t  s;

    if (nd_http_arg(r, name, &s) != ND_OK || s.len == 0) {
        return dflt;
    }

    if (s.data[0] == '-') {
        return -1;
    }

    return nd_atoi64(s.data, s.len, &v) == ND_OK ? v : -1;
}


static json_t *
nd_store_debug_str(const nd_str_t *s)
{
    return json_stringn(s->data ? (char *) s->data : "", s->len);
}


static json_t *
nd_store_debug_config_json(const nd_store_config_t *c, int history)
{
    json_t  *j;

    j = json_object();
    json_object_set_new(j, "id", json_integer(c->id));
    json_object_set_new(j, "dataId", nd_store_debug_str(&c->data_id));
    json_object_set_new(j, "group", nd_store_debug_str(&c->group));
    json_object_set_new(j, "tenant", nd_store_debug_str(&c->tenant));
    json_object_set_new(j, "seq", json_integer(c->seq));

    if (c->deleted) {
        json_object_set_new(j, "deleted", json_true());
        return j;
    }

    json_object_set_new(j, "content", nd_store_debug_str(&c->content));
    json_object_set_new(j, "md5", nd_store_debug_str(&c->md5));
    json_object_set_new(j, "appName", nd_store_debug_str(&c->app_name));
    json_object_set_new(j, "srcUser", nd_store_debug_str(&c->src_user));
    json_object_set_new(j, "srcIp", nd_store_debug_str(&c->src_ip));
    json_object_set_new(j, "encryptedDataKey",
                        nd_store_debug_str(&c->encrypted_data_key));
    json_object_set_new(j, "createTime", json_integer(c->gmt_create));
    json_object_set_new(j, "lastModifiedTime",
                        json_integer(c->gmt_modified));

    if (history) {
        json_object_set_new(j, "nid", json_integer(c->nid));
        json_object_set_new(j, "opType", nd_store_debug_str(&c->op_type));
        return j;
    }

    json_object_set_new(j, "type", nd_store_debug_str(&c->type));
    json_object_set_new(j, "desc", nd_store_debug_str(&c->desc));
    json_object_set_new(j, "use", nd_store_debug_str(&c->use));
    json_object_set_new(j, "effect", nd_store_debug_str(&c->effect));
    json_object_set_new(j, "schema", nd_store_debug_str(&c->schema));
    json_object_set_new(j, "configTags", nd_store_debug_str(&c->tags));

    return j;
}


static void
nd_store_debug_abort(nd_http_request_t *r)
{
    nd_store_cancel(r->ctx);
}


/* the completion: one answer for every operation type */
static void
nd_store_debug_done(nd_store_op_t *op)
{
    json_t               *j, *items, *it;
    nd_uint_t             i;
    nd_store_ns_t        *ns;
    nd_store_config_t    *c;
    nd_http_request_t    *r;
    nd_store_instance_t  *in;

    r = op->data;
    r->abort_handler = NULL;
    r->ctx = NULL;

    if (op->rc != ND_OK) {
        nd_http_error(r, op->status, (nd_int_t) op->status,
                      op->error ? op->error : "store error");
        return;
    }

    j = json_object();
    items = json_array();

    for (i = 0; i < op->rows.nelts; i++) {
        switch (op->type) {
        case ND_STORE_NS_LIST:
        case ND_STORE_NS_GET:
        case ND_STORE_INSTANCE_NAMESPACES:
            ns = nd_array_elt(&op->rows, nd_store_ns_t, i);
            it = json_pack("{s:o, s:o, s:o, s:o, s:I, s:I}",
                           "namespace", nd_store_debug_str(&ns->id),
                           "namespaceShowName",
                           nd_store_debug_str(&ns->name),
                           "namespaceDesc", nd_store_debug_str(&ns->desc),
                           "createSource", nd_store_debug_str(&ns->source),
                           "createTime", (json_int_t) ns->gmt_create,
                           "modifyTime", (json_int_t) ns->gmt_modified);
            break;

        case ND_STORE_INSTANCE_LIST:
        case ND_STORE_INSTANCE_SYNC:
            in = nd_array_elt(&op->rows, nd_store_instance_t, i);
            it = json_pack("{s:o, s:o, s:o, s:o, s:o, s:I, s:f, s:b, s:b,"
                           " s:o}",
                           "namespaceId", nd_store_debug_str(&in->ns),
                           "groupName", nd_store_debug_str(&in->group),
                           "serviceName", nd_store_debug_str(&in->service),
                           "clusterName", nd_store_debug_str(&in->cluster),
                           "ip", nd_store_debug_str(&in->ip),
                           "port", (json_int_t) in->port,
                           "weight", in->weight,
                           "healthy", (int) in->healthy,
                           "enabled", (int) in->enabled,
                           "metadata", nd_store_debug_str(&in->metadata));
            break;

        default:
            c = nd_array_elt(&op->rows, nd_store_config_t, i);
            it = nd_store_debug_config_json(c,
                     op->type == ND_STORE_HISTORY_LIST
                     || op->type == ND_STORE_HISTORY_GET
                     || op->type == ND_STORE_HISTORY_PREVIOUS);
        }

        json_array_append_new(items, it);
    }

    switch (op->type) {
    case ND_STORE_CONFIG_GET:
    case ND_STORE_HISTORY_GET:
    case ND_STORE_HISTORY_PREVIOUS:
    case ND_STORE_NS_GET:
        json_decref(j);
        j = json_incref(json_array_get(items, 0));
        json_decref(items);
        break;

    case ND_STORE_CONFIG_SEARCH:
    case ND_STORE_HISTORY_LIST:
        json_object_set_new(j, "totalCount", json_integer(op->total));
        json_object_set_new(j, "pageNumber", json_integer(op->page_no));
        json_object_set_new(j, "pagesAvailable",
                            json_integer((op->total + op->page_size - 1)
                                         / op->page_size));
        json_object_set_new(j, "pageItems", items);
        break;

    case ND_STORE_CONFIG_PUBLISH:
    case ND_STORE_CONFIG_DELETE:
        json_decref(items);
        json_object_set_new(j, "seq", json_integer(op->seq));
        json_object_set_new(j, "id", json_integer(op->config.id));
        if (op->type == ND_STORE_CONFIG_PUBLISH) {
            json_object_set_new(j, "md5",
                                nd_store_debug_str(&op->config.md5));
        }
        break;

    default:
        json_object_set_new(j, "data", items);
        json_object_set_new(j, "affected", json_integer(op->affected));
    }

    nd_http_send_json(r, 200, j);
    json_decref(j);
}


static nd_store_op_t *
nd_store_debug_op(nd_http_request_t *r, nd_store_op_e type)
{
    nd_store_op_t  *op;

    op = nd_store_op_create(nd_cycle, type, nd_store_debug_done, r);
    if (op == NULL) {
        return NULL;
    }

    op->page_no = (nd_uint_t) nd_store_debug_int(r, "pageNo", 1);
    op->page_size = (nd_uint_t) nd_store_debug_int(r, "pageSize", 100);

    return op;
}


static nd_int_t
nd_store_debug_submit(nd_http_request_t *r, nd_store_op_t *op)
{
    r->ctx = op;
    r->abort_handler = nd_store_debug_abort;
    nd_store_submit(op);

    return ND_DONE;
}


static void
nd_store_debug_key(nd_http_request_t *r, nd_store_op_t *op)
{
    nd_store_debug_arg(r, "dataId", &op->config.data_id);
    nd_store_debug_arg(r, "group", &op->config.group);
    nd_store_debug_arg(r, "tenant", &op->config.tenant);
    op->config.src_ip.data = (u_char *) r->c->addr.host;
    op->config.src_ip.len = strlen(r->c->addr.host);
    nd_store_debug_arg(r, "src_user", &op->config.src_user);
}


static nd_int_t
nd_store_debug_config(nd_http_request_t *r)
{
    nd_store_op_t      *op;
    nd_store_config_t  *c;

    op = nd_store_debug_op(r, r->method == ND_HTTP_POST
                              ? ND_STORE_CONFIG_PUBLISH
                              : r->method == ND_HTTP_DELETE
                              ? ND_STORE_CONFIG_DELETE
                              : ND_STORE_CONFIG_GET);
    if (op == NULL) {
        return ND_ERROR;
    }

    nd_store_debug_key(r, op);

    if (op->type == ND_STORE_CONFIG_PUBLISH) {
        c = &op->config;
        nd_store_debug_arg(r, "content", &c->content);
        nd_store_debug_arg(r, "appName", &c->app_name);
        nd_store_debug_arg(r, "type", &c->type);
        nd_store_debug_arg(r, "desc", &c->desc);
        nd_store_debug_arg(r, "use", &c->use);
        nd_store_debug_arg(r, "effect", &c->effect);
        nd_store_debug_arg(r, "schema", &c->schema);
        nd_store_debug_arg(r, "config_tags", &c->tags);
        nd_store_debug_arg(r, "encryptedDataKey", &c->encrypted_data_key);
        if (nd_http_arg(r, "casMd5", &op->cas_md5) == ND_OK) {
            op->cas = 1;
        }
    }

    return nd_store_debug_submit(r, op);
}


static nd_int_t
nd_store_debug_configs(nd_http_request_t *r)
{
    nd_str_t        search;
    nd_store_op_t  *op;

    op = nd_store_debug_op(r, ND_STORE_CONFIG_SEARCH);
    if (op == NULL) {
        return ND_ERROR;
    }

    nd_store_debug_arg(r, "dataId", &op->config.data_id);
    nd_store_debug_arg(r, "group", &op->config.group);
    nd_store_debug_arg(r, "tenant", &op->config.tenant);
    nd_store_debug_arg(r, "appName", &op->config.app_name);
    nd_store_debug_arg(r, "search", &search);
    op->blur = nd_str_eq(&search, "blur");

    return nd_store_debug_submit(r, op);
}


static nd_int_t
nd_store_debug_history(nd_http_request_t *r)
{
    nd_store_op_t  *op;

    if (nd_store_debug_int(r, "nid", 0) != 0) {
        op = nd_store_debug_op(r, ND_STORE_HISTORY_GET);
        if (op) {
            op->nid = nd_store_debug_int(r, "nid", 0);
        }
    } else {
        op = nd_store_debug_op(r, ND_STORE_HISTORY_LIST);
        if (op) {
            nd_store_debug_key(r, op);
        }
    }

    return op ? nd_store_debug_submit(r, op) : ND_ERROR;
}


static nd_int_t
nd_store_debug_previous(nd_http_request_t *r)
{
    nd_store_op_t  *op;

    op = nd_store_debug_op(r, ND_STORE_HISTORY_PREVIOUS);
    if (op == NULL) {
        return ND_ERROR;
    }

    op->nid = nd_store_debug_int(r, "nid", 0);

    return nd_store_debug_submit(r, op);
}


static nd_int_t
nd_store_debug_changes(nd_http_request_t *r)
{
    nd_store_op_t  *op;

    op = nd_store_debug_op(r, ND_STORE_CHANGES);
    if (op == NULL) {
        return ND_ERROR;
    }

    op->since = nd_store_debug_int(r, "since", 0);
    op->page_size = (nd_uint_t) nd_store_debug_int(r, "limit", 100);

    return nd_store_debug_submit(r, op);
}


static nd_int_t
nd_store_debug_namespace(nd_http_request_t *r)
{
    nd_str_t        id;
    nd_store_op_e   type;
    nd_store_op_t  *op;

    nd_store_debug_arg(r, "namespaceId", &id);

    switch (r->method) {
    case ND_HTTP_POST:
        type = ND_STORE_NS_CREATE;
        break;
    case ND_HTTP_PUT:
        type = ND_STORE_NS_UPDATE;
        break;
    case ND_HTTP_DELETE:
        type = ND_STORE_NS_DELETE;
        break;
    default:
        type = id.data ? ND_STORE_NS_GET : ND_STORE_NS_LIST;
    }

    op = nd_store_debug_op(r, type);
    if (op == NULL) {
        return ND_ERROR;
    }

    op->ns.id = id;
    nd_store_debug_arg(r, "namespaceName", &op->ns.name);
    nd_store_debug_arg(r, "namespaceDesc", &op->ns.desc);
    nd_str_set(&op->ns.source, "nacos");

    return nd_store_debug_submit(r, op);
}


static nd_int_t
nd_store_debug_instance(nd_http_request_t *r)
{
    char                  buf[64];
    nd_str_t              v;
    nd_store_op_t        *op;
    nd_store_instance_t  *in;

    op = nd_store_debug_op(r, r->method == ND_HTTP_POST
                              ? ND_STORE_INSTANCE_UPSERT
                              : r->method == ND_HTTP_DELETE
                              ? ND_STORE_INSTANCE_DELETE
                              : ND_STORE_INSTANCE_LIST);
    if (op == NULL) {
        return ND_ERROR;
    }

    in = &op->instance;
    nd_store_debug_arg(r, "namespaceId", &in->ns);
    nd_store_debug_arg(r, "groupName", &in->group);
    nd_store_debug_arg(r, "serviceName", &in->service);
    nd_store_debug_arg(r, "clusterName", &in->cluster);
    nd_store_debug_arg(r, "ip", &in->ip);
    nd_store_debug_arg(r, "metadata", &in->metadata);
    in->port = nd_store_debug_int(r, "port", 0);
    in->weight = 1.0;
    if (nd_http_arg(r, "weight", &v) == ND_OK) {
        if (v.len == 0 || v.len >= sizeof(buf)) {
            in->weight = -1;
        } else {
            memcpy(buf, v.data, v.len);
            buf[v.len] = '\0';
            in->weight = strtod(buf, NULL);
        }
    }
    in->healthy = !(nd_http_arg(r, "healthy", &v) == ND_OK
                    && nd_str_eq(&v, "false"));
    in->enabled = !(nd_http_arg(r, "enabled", &v) == ND_OK
                    && nd_str_eq(&v, "false"));

    return nd_store_debug_submit(r, op);
}


static nd_int_t
nd_store_debug_status(nd_http_request_t *r)
{
    json_t           *j;
    nd_int_t          rc;
    nd_store_conf_t  *scf;

    scf = nd_store_conf(nd_cycle);

    j = json_pack("{s:s, s:b, s:b, s:I, s:I, s:I, s:I}",
                  "backend", scf->be->name,
                  "available", nd_store_available(nd_cycle) == ND_OK,
                  "loading", scf->lazy,
                  "lastSeq", (json_int_t) scf->last_seq,
                  "syncSeq", (json_int_t) scf->sync_seq,
                  "cached", (json_int_t) scf->cache.nelts,
                  "inflight", (json_int_t) scf->inflight);
    rc = nd_http_send_json(r, 200, j);
    json_decref(j);

    return rc;
}

#endif /* ND_DEBUG */

/*
 * History (/v1/cs/history*, /v2/cs/history*) and namespaces
 * (/v1/console/namespaces, /v2/console/namespace*).
 */
#include <nd_config_internal.h>

typedef struct {
    nd_http_request_t   *r;
    nd_store_op_t       *op;
    json_t              *list;        /* namespaces being counted */
    nd_uint_t            next;        /* next namespace to count */
    nd_str_t             nid_key[3];  /* history get: the expected key */
    unsigned             v2:1;
    unsigned             one:1;       /* a single namespace (show=all) */
    unsigned             check:1;     /* history get: check the key */
} nd_config_cctx_t;

static nd_int_t nd_config_history(nd_http_request_t *r);
static nd_int_t nd_config_history_previous(nd_http_request_t *r);
static nd_int_t nd_config_history_configs(nd_http_request_t *r);
static nd_int_t nd_config_ns_get(nd_http_request_t *r);
static nd_int_t nd_config_ns_create(nd_http_request_t *r);
static nd_int_t nd_config_ns_update(nd_http_request_t *r);
static nd_int_t nd_config_ns_delete(nd_http_request_t *r);

static const nd_http_route_t  nd_config_console_routes[] = {
    { ND_HTTP_GET, nd_string("/v1/cs/history"), nd_config_history },
    { ND_HTTP_GET, nd_string("/v1/cs/history/previous"),
      nd_config_history_previous },
    { ND_HTTP_GET, nd_string("/v1/cs/history/configs"),
      nd_config_history_configs },
    { ND_HTTP_GET, nd_string("/v2/cs/history"), nd_config_history },
    { ND_HTTP_GET, nd_string("/v2/cs/history/detail"), nd_config_history },
    { ND_HTTP_GET, nd_string("/v2/cs/history/list"), nd_config_history },
    { ND_HTTP_GET, nd_string("/v2/cs/history/previous"),
      nd_config_history_previous },
    { ND_HTTP_GET, nd_string("/v2/cs/history/configs"),
      nd_config_history_configs },
    { ND_HTTP_GET, nd_string("/v1/console/namespaces"), nd_config_ns_get },
    { ND_HTTP_POST, nd_string("/v1/console/namespaces"), nd_config_ns_create },
    { ND_HTTP_PUT, nd_string("/v1/console/namespaces"), nd_config_ns_update },
    { ND_HTTP_DELETE, nd_string("/v1/console/namespaces"),
      nd_config_ns_delete },
    { ND_HTTP_GET, nd_string("/v2/console/namespace"), nd_config_ns_get },
    { ND_HTTP_GET, nd_string("/v2/console/namespace/list"),
      nd_config_ns_get },
    { ND_HTTP_POST, nd_string("/v2/console/namespace"), nd_config_ns_create },
    { ND_HTTP_PUT, nd_string("/v2/console/namespace"), nd_config_ns_update },
    { ND_HTTP_DELETE, nd_string("/v2/console/namespace"),
      nd_config_ns_delete },
    nd_http_null_route
};


nd_int_t
nd_config_console_init(nd_cycle_t *cycle)
{
    return nd_http_add_routes(cycle, nd_config_console_routes);
}


static int
nd_config_console_v2(nd_http_request_t *r)
{
    return r->route.len >= 4 && memcmp(r->route.data, "/v2/", 4) == 0;
}


static nd_int_t
nd_config_send_v2(nd_http_request_t *r, json_t *data)
{
    json_t    *j;
    nd_int_t   rc;

    j = json_pack("{s:i, s:s, s:o}", "code", 0, "message", "success",
                  "data", data ? data : json_null());
    rc = nd_http_send_json(r, 200, j);
    json_decref(j);

    return rc;
}


/* v1 answers data bare (or in RestResult where Nacos does); v2 wraps */
static nd_int_t
nd_config_send_data(nd_http_request_t *r, json_t *data)
{
    nd_int_t  rc;

    if (nd_config_console_v2(r)) {
        return nd_config_send_v2(r, data);
    }

    rc = nd_http_send_json(r, 200, data);
    json_decref(data);

    return rc;
}


static nd_int_t
nd_config_console_error(nd_http_request_t *r, nd_store_op_t *op)
{
    if (op->status == 503) {
        return nd_http_error(r, 503, 30000,
                             "the config store is not available, "
                             "try again later");
    }

    if (op->status == 400 || op->status == 413) {
        return nd_config_console_v2(r)
               ? nd_http_error(r, 400, 20002, op->error ? op->error : "")
               : nd_config_v1_error(r, 400, op->error ? op->error : "");
    }

    if (op->status == 404) {
        return nd_http_error(r, 404, 20004, op->error ? op->error : "");
    }

    return nd_http_error(r, 500, 30000, op->error ? op->error : "error");
}


static void
nd_config_cctx_abort(nd_http_request_t *r)
{
    nd_config_cctx_t  *ctx;

    ctx = r->ctx;
    json_decref(ctx->list);
    ctx->list = NULL;
    if (ctx->op) {
        nd_store_cancel(ctx->op);
    }
}


static nd_int_t
nd_config_console_submit(nd_http_request_t *r, nd_store_op_t *op,
    nd_config_cctx_t *ctx)
{
    if (ctx == NULL) {
        ctx = nd_pcalloc(r->pool, sizeof(nd_config_cctx_t));
        if (ctx == NULL) {
            nd_store_op_free(op);
            return ND_ERROR;
        }
        ctx->r = r;
        ctx->v2 = nd_config_console_v2(r);
        r->ctx = ctx;
        r->abort_handler = nd_config_cctx_abort;
    }

    ctx->op = op;
    op->data = ctx;
    nd_store_submit(op);

    return ND_DONE;
}


static json_t *
nd_config_sjson(const nd_str_t *s)
{
    json_t  *j;

    j = json_stringn(s->data ? (char *) s->data : "", s->len);
    return j ? j : json_string("");
}


static void
nd_config_iso_time(char *buf, size_t size, int64_t ms)
{
    time_t     sec;
    struct tm  tm;

    sec = (time_t) (ms / 1000);
    gmtime_r(&sec, &tm);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03d+00:00",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int) (ms % 1000));
}


static json_t *
nd_config_history_json(const nd_store_config_t *c)
{
    char     id[32], created[64], modified[64];
    json_t  *j;

    snprintf(id, sizeof(id), "%lld", (long long) c->nid);
    nd_config_iso_time(created, sizeof(created), c->gmt_create);
    nd_config_iso_time(modified, sizeof(modified), c->gmt_modified);

    j = json_object();
    json_object_set_new(j, "id", json_string(id));
    json_object_set_new(j, "lastId", json_integer(-1));
    json_object_set_new(j, "dataId", nd_config_sjson(&c->data_id));
    json_object_set_new(j, "group", nd_config_sjson(&c->group));
    json_object_set_new(j, "tenant", nd_config_sjson(&c->tenant));
    json_object_set_new(j, "appName", nd_config_sjson(&c->app_name));
    json_object_set_new(j, "md5", nd_config_sjson(&c->md5));
    json_object_set_new(j, "content", nd_config_sjson(&c->content));
    json_object_set_new(j, "srcIp", nd_config_sjson(&c->src_ip));
    json_object_set_new(j, "srcUser", nd_config_sjson(&c->src_user));
    json_object_set_new(j, "opType", nd_config_sjson(&c->op_type));
    /* Nacos 2.5: gray versions' history rows (beta, tag_<tag>) */
    json_object_set_new(j, "publishType",
                        json_string(c->gray_name.len ? "gray" : "formal"));
    if (c->gray_name.len) {
        json_object_set_new(j, "grayName", nd_config_sjson(&c->gray_name));
    }
    json_object_set_new(j, "extInfo", nd_config_sjson(&c->ext_info));
    json_object_set_new(j, "type", nd_config_sjson(&c->type));
    json_object_set_new(j, "createdTime", json_string(created));
    json_object_set_new(j, "lastModifiedTime", json_string(modified));
    json_object_set_new(j, "encryptedDataKey",
                        nd_config_sjson(&c->encrypted_data_key));

    return j;
}


/* history */

static void
nd_config_history_done(nd_store_op_t *op)
{
    json_t              *items, *res;
    nd_uint_t            i;
    nd_config_cctx_t    *ctx;
    nd_store_config_t   *rows;
    nd_http_request_t   *r;

    ctx = op->data;
    r = ctx->r;
    ctx->op = NULL;

    if (op->rc != ND_OK) {
        if (op->status == 404 && !ctx->v2 && op->type != ND_STORE_HISTORY_LIST)
        {
            /* v1 answers an unknown nid with an empty body */
            nd_http_send(r, 200, "application/json;charset=UTF-8", "", 0);
            return;
        }
        nd_config_console_error(r, op);
        return;
    }

    rows = op->rows.elts;

    if (op->type == ND_STORE_HISTORY_LIST) {
        items = json_array();
        for (i = 0; i < op->rows.nelts; i++) {
            json_array_append_new(items, nd_config_history_json(&rows[i]));
        }
        res = json_pack("{s:I, s:I, s:I, s:o}",
                        "totalCount", (json_int_t) op->total,
                        "pageNumber", (json_int_t) op->page_no,
                        "pagesAvailable", (json_int_t)
                        ((op->total + (int64_t) op->page_size - 1)
                         / (int64_t) nd_max(op->page_size, 1)),
                        "pageItems", items);
        nd_config_send_data(r, res);
        return;
    }

    if (op->rows.nelts == 0) {
        nd_http_error(r, 404, 20004, "history not exist");
        return;
    }

    /* the entry must belong to the key the caller named */
    if (ctx->check
        && (!nd_str_equal(&rows[0].data_id, &ctx->nid_key[0])
            || !nd_str_equal(&rows[0].group, &ctx->nid_key[1])
            || !nd_str_equal(&rows[0].tenant, &ctx->nid_key[2])))
    {
        nd_http_error(r, 400, 20009,
                      "Please check dataId, group or namespaceId.");
        return;
    }

    nd_config_send_data(r, nd_config_history_json(&rows[0]));
}


static nd_int_t
nd_config_history_key(nd_http_request_t *r, nd_store_op_t *op,
    nd_config_cctx_t **ctxp)
{
    nd_config_key_t    key;
    nd_config_cctx_t  *ctx;

    if (nd_config_arg(r, "dataId", &key.data_id) != ND_OK
        || nd_config_arg(r, "group", &key.group) != ND_OK)
    {
        return nd_config_console_v2(r)
               ? nd_http_error(r, 400, 10000,
                               "Required parameter 'dataId' and 'group'")
               : nd_config_v1_error(r, 400, "dataId and group are required");
    }

    key.tenant.len = 0;
    key.tenant.data = (u_char *) "";
    nd_config_arg(r, nd_config_console_v2(r) ? "namespaceId" : "tenant",
                  &key.tenant);
    nd_config_key_normalize(&key);

    op->config.data_id = key.data_id;
    op->config.group = key.group;
    op->config.tenant = key.tenant;

    ctx = nd_pcalloc(r->pool, sizeof(nd_config_cctx_t));
    if (ctx == NULL) {
        return ND_ERROR;
    }
    ctx->r = r;
    ctx->v2 = nd_config_console_v2(r);
    ctx->nid_key[0] = key.data_id;
    ctx->nid_key[1] = key.group;
    ctx->nid_key[2] = key.tenant;
    r->ctx = ctx;
    r->abort_handler = nd_config_cctx_abort;
    *ctxp = ctx;

    return ND_OK;
}


static nd_int_t
nd_config_history(nd_http_request_t *r)
{
    int64_t            nid;
    nd_str_t           v;
    nd_int_t           rc, n;
    nd_store_op_t     *op;
    nd_config_cctx_t  *ctx;
    int                list;

    list = nd_http_arg(r, "nid", &v) != ND_OK;

    op = nd_store_op_create(nd_cycle, list ? ND_STORE_HISTORY_LIST
                                           : ND_STORE_HISTORY_GET,
                            nd_config_history_done, NULL);
    if (op == NULL) {
        return ND_ERROR;
    }

    rc = nd_config_history_key(r, op, &ctx);
    if (rc != ND_OK) {
        nd_store_op_free(op);
        return rc;
    }

    if (!list) {
        if (nd_atoi64(v.data, v.len, &nid) != ND_OK || nid < 0) {
            nd_store_op_free(op);
            return nd_http_error(r, 400, 20002, "invalid nid");
        }
        op->nid = nid;
        ctx->check = 1;
        return nd_config_console_submit(r, op, ctx);
    }

    op->page_no = 1;
    op->page_size = 100;
    if (nd_config_arg(r, "pageNo", &v) == ND_OK) {
        n = nd_atoi(v.data, v.len);
        op->page_no = n > 0 ? (nd_uint_t) n : 1;
    }
    if (nd_config_arg(r, "pageSize", &v) == ND_OK) {
        n = nd_atoi(v.data, v.len);
        op->page_size = n > 0 ? (nd_uint_t) nd_min(n, 500) : 100;
    }

    return nd_config_console_submit(r, op, ctx);
}


static nd_int_t
nd_config_history_previous(nd_http_request_t *r)
{
    int64_t            id;
    nd_str_t           v;
    nd_int_t           rc;
    nd_store_op_t     *op;
    nd_config_cctx_t  *ctx;

    if (nd_config_arg(r, "id", &v) != ND_OK
        || nd_atoi64(v.data, v.len, &id) != ND_OK || id < 0)
    {
        return nd_http_error(r, 400, 10000, "Required parameter 'id'");
    }

    op = nd_store_op_create(nd_cycle, ND_STORE_HISTORY_PREVIOUS,
                            nd_config_history_done, NULL);
    if (op == NULL) {
        return ND_ERROR;
    }

    rc = nd_config_history_key(r, op, &ctx);
    if (rc != ND_OK) {
        nd_store_op_free(op);
        return rc;
    }

    op->nid = id;
    ctx->check = 1;

    return nd_config_console_submit(r, op, ctx);
}


static void
nd_config_history_configs_done(nd_store_op_t *op)
{
    char                id[32];
    json_t             *items, *j;
    nd_uint_t           i;
    nd_config_cctx_t   *ctx;
    nd_store_config_t  *rows;

    ctx = op->data;
    ctx->op = NULL;

    if (op->rc != ND_OK) {
        nd_config_console_error(ctx->r, op);
        return;
    }

    items = json_array();
    rows = op->rows.elts;
    for (i = 0; i < op->rows.nelts; i++) {
        snprintf(id, sizeof(id), "%lld", (long long) rows[i].id);
        j = json_object();
        json_object_set_new(j, "id", json_string(id));
        json_object_set_new(j, "dataId", nd_config_sjson(&rows[i].data_id));
        json_object_set_new(j, "group", nd_config_sjson(&rows[i].group));
        json_object_set_new(j, "tenant", nd_config_sjson(&rows[i].tenant));
        json_object_set_new(j, "appName", nd_config_sjson(&rows[i].app_name));
        json_object_set_new(j, "type", nd_config_sjson(&rows[i].type));
        json_object_set_new(j, "content", nd_config_sjson(&rows[i].content));
        json_object_set_new(j, "md5", nd_config_sjson(&rows[i].md5));
        json_array_append_new(items, j);
    }

    nd_config_send_data(ctx->r, items);
}


static nd_int_t
nd_config_history_configs(nd_http_request_t *r)
{
    nd_store_op_t    *op;
    nd_config_key_t   key;

    memset(&key, 0, sizeof(key));

    if (nd_config_arg(r, nd_config_console_v2(r) ? "namespaceId" : "tenant",
                      &key.tenant) != ND_OK)
    {
        return nd_config_console_v2(r)
               ? nd_http_error(r, 400, 10000,
                               "Required parameter 'namespaceId'")
               : nd_config_v1_error(r, 400, "tenant is required");
    }
    nd_config_key_normalize(&key);

    op = nd_store_op_create(nd_cycle, ND_STORE_CONFIG_SEARCH,
                            nd_config_history_configs_done, NULL);
    if (op == NULL) {
        return ND_ERROR;
    }

    op->config.tenant = key.tenant;
    op->page_no = 1;
    op->page_size = 500;

    return nd_config_console_submit(r, op, NULL);
}


/* namespaces */

static json_t *
nd_config_ns_json(const nd_str_t *id, const nd_str_t *name,
    const nd_str_t *desc, int type)
{
    return json_pack("{s:o, s:o, s:o, s:i, s:i, s:i}",
                     "namespace", nd_config_sjson(id),
                     "namespaceShowName", nd_config_sjson(name),
                     "namespaceDesc", nd_config_sjson(desc),
                     "quota", 200, "configCount", 0, "type", type);
}


static void nd_config_ns_count(nd_config_cctx_t *ctx);


static void
nd_config_ns_counted(nd_store_op_t *op)
{
    json_t            *ns;
    nd_config_cctx_t  *ctx;

    ctx = op->data;
    ctx->op = NULL;

    if (op->rc != ND_OK) {
        json_decref(ctx->list);
        ctx->list = NULL;
        nd_config_console_error(ctx->r, op);
        return;
    }

    ns = json_array_get(ctx->list, ctx->next);
    json_object_set_new(ns, "configCount", json_integer(op->total));
    ctx->next++;

    nd_config_ns_count(ctx);
}


/* count the configs of each listed namespace, one search at a time */
static void
nd_config_ns_count(nd_config_cctx_t *ctx)
{
    json_t             *list, *res;
    nd_str_t            id;
    nd_store_op_t      *op;
    nd_http_request_t  *r;

    r = ctx->r;

    if (ctx->next < json_array_size(ctx->list)) {
        op = nd_store_op_create(nd_cycle, ND_STORE_CONFIG_SEARCH,
                                nd_config_ns_counted, ctx);
        if (op == NULL) {
            json_decref(ctx->list);
            ctx->list = NULL;
            nd_http_error(r, 500, 30000, "out of memory");
            return;
        }

        id.data = (u_char *) json_string_value(json_object_get(
                      json_array_get(ctx->list, ctx->next), "namespace"));
        id.len = id.data ? strlen((char *) id.data) : 0;
        op->config.tenant.data = nd_pstrdup(op->pool, &id);
        op->config.tenant.len = id.len;
        op->page_no = 1;
        op->page_size = 1;
        ctx->op = op;
        nd_store_submit(op);
        return;
    }

    list = ctx->list;
    ctx->list = NULL;

    if (ctx->one) {
        res = json_incref(json_array_get(list, 0));
        json_decref(list);
        nd_config_send_data(r, res);
        return;
    }

    if (ctx->v2) {
        nd_config_send_v2(r, list);
        return;
    }

    res = json_pack("{s:i, s:n, s:o}", "code", 200, "message", "data", list);
    nd_http_send_json(r, 200, res);
    json_decref(res);
}


static void
nd_config_ns_listed(nd_store_op_t *op)
{
    nd_str_t           pub_name = nd_string("public"),
                       pub_desc = nd_string("Default Namespace"),
                       empty = nd_null_string;
    nd_uint_t          i;
    nd_store_ns_t     *ns;
    nd_config_cctx_t  *ctx;

    ctx = op->data;
    ctx->op = NULL;

    if (op->rc != ND_OK) {
        nd_config_console_error(ctx->r, op);
        return;
    }

    ctx->list = json_array();
    ns = op->rows.elts;

    if (!ctx->one) {
        json_array_append_new(ctx->list,
                              nd_config_ns_json(&empty, &pub_name, &pub_desc,
                                                0));
    }

    for (i = 0; i < op->rows.nelts; i++) {
        if (ns[i].id.len == 0) {
            continue;
        }
        json_array_append_new(ctx->list,
                              nd_config_ns_json(&ns[i].id, &ns[i].name,
                                                &ns[i].desc, 2));
    }

    if (ctx->one && json_array_size(ctx->list) == 0) {
        json_decref(ctx->list);
        ctx->list = NULL;
        nd_http_error(ctx->r, ctx->v2 ? 400 : 404, 22001,
                      "namespace not exist");
        return;
    }

    ctx->next = 0;
    nd_config_ns_count(ctx);
}


static void
nd_config_ns_bool_done(nd_store_op_t *op)
{
    nd_config_cctx_t  *ctx;

    ctx = op->data;
    ctx->op = NULL;

    if (ctx->v2) {
        if (op->rc != ND_OK) {
            if (op->status == 409) {
                nd_http_error(ctx->r, 400, 22002,
                              "namespace already exist");
            } else if (op->status == 404) {
                nd_http_error(ctx->r, 400, 22001, "namespace not exist");
            } else {
                nd_config_console_error(ctx->r, op);
            }
            return;
        }
        nd_config_send_v2(ctx->r, json_true());
        return;
    }

    /* v1 answers validation and conflicts with false, not an error */
    if (op->rc != ND_OK && op->status >= 500) {
        nd_config_console_error(ctx->r, op);
        return;
    }

    if (op->rc != ND_OK) {
        nd_http_send(ctx->r, 200, "application/json;charset=UTF-8", "false",
                     5);
        return;
    }

    nd_http_send(ctx->r, 200, "application/json;charset=UTF-8", "true", 4);
}


static void
nd_config_ns_exists_done(nd_store_op_t *op)
{
    nd_config_cctx_t  *ctx;

    ctx = op->data;
    ctx->op = NULL;

    if (op->rc != ND_OK && op->status >= 500) {
        nd_config_console_error(ctx->r, op);
        return;
    }

    if (op->rc == ND_OK) {
        nd_http_send(ctx->r, 200, "application/json;charset=UTF-8", "true",
                     4);
    } else {
        nd_http_send(ctx->r, 200, "application/json;charset=UTF-8", "false",
                     5);
    }
}


static nd_int_t
nd_config_ns_get(nd_http_request_t *r)
{
    nd_str_t           v, id;
    nd_store_op_t     *op;
    nd_config_cctx_t  *ctx;

    id.len = 0;

    if (!nd_config_console_v2(r)
        && nd_config_arg(r, "checkNamespaceIdExist", &v) == ND_OK
        && nd_str_eq(&v, "true"))
    {
        if (nd_config_arg(r, "customNamespaceId", &id) != ND_OK
            || id.len == 0)
        {
            return nd_http_send(r, 200, "application/json;charset=UTF-8",
                                "false", 5);
        }
        op = nd_store_op_create(nd_cycle, ND_STORE_NS_GET,
                                nd_config_ns_exists_done, NULL);
        if (op == NULL) {
            return ND_ERROR;
        }
        op->ns.id = id;
        return nd_config_console_submit(r, op, NULL);
    }

    op = nd_store_op_create(nd_cycle, ND_STORE_NS_LIST, nd_config_ns_listed,
                            NULL);
    if (op == NULL) {
        return ND_ERROR;
    }

    ctx = nd_pcalloc(r->pool, sizeof(nd_config_cctx_t));
    if (ctx == NULL) {
        nd_store_op_free(op);
        return ND_ERROR;
    }
    ctx->r = r;
    ctx->v2 = nd_config_console_v2(r);
    r->ctx = ctx;
    r->abort_handler = nd_config_cctx_abort;

    /* one namespace: v1 ?show=all&namespaceId=, v2 ?namespaceId= */
    if (r->route.len != sizeof("/v2/console/namespace/list") - 1
        && nd_config_arg(r, "namespaceId", &id) == ND_OK)
    {
        if (id.len == 0 || nd_str_eq(&id, "public")) {
            nd_store_op_free(op);
            r->abort_handler = NULL;
            {
                nd_str_t  e = nd_null_string, n = nd_string("public"),
                          d = nd_string("Default Namespace");
                json_t   *one = nd_config_ns_json(&e, &n, &d, 0);

                ctx->list = json_array();
                json_array_append_new(ctx->list, one);
                ctx->one = 1;
                ctx->next = 0;
                nd_config_ns_count(ctx);
                return ND_DONE;
            }
        }
        op->type = ND_STORE_NS_GET;
        op->ns.id = id;
        ctx->one = 1;
    }

    return nd_config_console_submit(r, op, ctx);
}


static void
nd_config_uuid(char *out)
{
    unsigned char  b[16];
    int            fd, i;
    ssize_t        n;

    n = -1;
    fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        n = read(fd, b, sizeof(b));
        close(fd);
    }
    if (n != (ssize_t) sizeof(b)) {
        for (i = 0; i < 16; i++) {
            b[i] = (unsigned char) (random() & 0xff);
        }
    }

    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;

    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
             b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}


static int
nd_config_ns_name_ok(const nd_str_t *name)
{
    size_t  i;

    if (name->len == 0 || name->len > 128) {
        return 0;
    }

    for (i = 0; i < name->len; i++) {
        if (strchr("@#$%^&*", name->data[i])) {
            return 0;
        }
    }

    return 1;
}


static nd_int_t
nd_config_ns_write(nd_http_request_t *r, nd_store_op_e type,
    const nd_str_t *id, const nd_str_t *name, const nd_str_t *desc)
{
    nd_store_op_t  *op;

    op = nd_store_op_create(nd_cycle, type, nd_config_ns_bool_done, NULL);
    if (op == NULL) {
        return ND_ERROR;
    }

    op->ns.id = *id;
    op->ns.name = *name;
    op->ns.desc = *desc;

    return nd_config_console_submit(r, op, NULL);
}


static nd_int_t
nd_config_ns_create(nd_http_request_t *r)
{
    int               v2;
    char             *uuid;
    nd_str_t          id, name, desc;

    v2 = nd_config_console_v2(r);
    id.len = 0;
    desc.len = 0;
    desc.data = (u_char *) "";

    nd_config_arg(r, v2 ? "namespaceId" : "customNamespaceId", &id);
    nd_config_arg(r, "namespaceDesc", &desc);

    if (nd_config_arg(r, "namespaceName", &name) != ND_OK
        || !nd_config_ns_name_ok(&name)
        || (id.len && (nd_name_check(ND_NAME_NAMESPACE, &id) != ND_NAME_OK
                       || nd_str_eq(&id, "public"))))
    {
        return v2 ? nd_http_error(r, 400, 22000, "illegal namespace")
                  : nd_http_send(r, 200, "application/json;charset=UTF-8",
                                 "false", 5);
    }

    if (id.len == 0) {
        uuid = nd_pnalloc(r->pool, 37);
        if (uuid == NULL) {
            return ND_ERROR;
        }
        nd_config_uuid(uuid);
        id.data = (u_char *) uuid;
        id.len = 36;
    }

    return nd_config_ns_write(r, ND_STORE_NS_CREATE, &id, &name, &desc);
}


static nd_int_t
nd_config_ns_update(nd_http_request_t *r)
{
    int              v2;
    nd_str_t         id, name, desc;

    v2 = nd_config_console_v2(r);
    desc.len = 0;
    desc.data = (u_char *) "";

    if (nd_config_arg(r, v2 ? "namespaceId" : "namespace", &id) != ND_OK
        || nd_config_arg(r, v2 ? "namespaceName" : "namespaceShowName",
                         &name) != ND_OK
        || id.len == 0 || !nd_config_ns_name_ok(&name))
    {
        return v2 ? nd_http_error(r, 400, 10000, "parameter missing")
                  : nd_http_send(r, 200, "application/json;charset=UTF-8",
                                 "false", 5);
    }

    nd_config_arg(r, "namespaceDesc", &desc);

    return nd_config_ns_write(r, ND_STORE_NS_UPDATE, &id, &name, &desc);
}


static nd_int_t
nd_config_ns_delete(nd_http_request_t *r)
{
    nd_str_t         id;
    nd_store_op_t   *op;

    if (nd_config_arg(r, "namespaceId", &id) != ND_OK || id.len == 0) {
        return nd_config_console_v2(r)
               ? nd_http_error(r, 400, 10000,
                               "Required parameter 'namespaceId'")
               : nd_http_send(r, 200, "application/json;charset=UTF-8",
                              "false", 5);
    }

    op = nd_store_op_create(nd_cycle, ND_STORE_NS_DELETE,
                            nd_config_ns_bool_done, NULL);
    if (op == NULL) {
        return ND_ERROR;
    }

    op->ns.id = id;

    return nd_config_console_submit(r, op, NULL);
}

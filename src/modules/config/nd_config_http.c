/*
 * Config Open API: /v1/cs/configs (get, publish, delete, search) and
 * /v2/cs/config.  Reads come from the store's cache; writes go through
 * the store and are answered only after the commit.
 */
#include <nd_config_internal.h>

typedef struct {
    nd_http_request_t   *r;
    nd_store_op_t       *op;
    nd_config_key_t     *keys;        /* delete by ids: what to delete */
    nd_uint_t            nkeys;
    nd_uint_t            next;
    unsigned             v2:1;
} nd_config_ctx_t;

static nd_int_t nd_config_get(nd_http_request_t *r);
static nd_int_t nd_config_publish(nd_http_request_t *r);
static nd_int_t nd_config_delete(nd_http_request_t *r);

static const nd_http_route_t  nd_config_routes[] = {
    { ND_HTTP_GET, nd_string("/v1/cs/configs"), nd_config_get },
    { ND_HTTP_POST, nd_string("/v1/cs/configs"), nd_config_publish },
    { ND_HTTP_DELETE, nd_string("/v1/cs/configs"), nd_config_delete },
    { ND_HTTP_GET, nd_string("/v2/cs/config"), nd_config_get },
    { ND_HTTP_POST, nd_string("/v2/cs/config"), nd_config_publish },
    { ND_HTTP_DELETE, nd_string("/v2/cs/config"), nd_config_delete },
    { ND_HTTP_POST, nd_string("/v1/cs/configs/listener"),
      nd_config_listener_poll },
    { ND_HTTP_GET, nd_string("/v1/cs/configs/listener"),
      nd_config_listener_query },
    { ND_HTTP_GET, nd_string("/v1/cs/listener"), nd_config_listener_query },
    nd_http_null_route
};

static const char  *nd_config_types[] = {
    "text", "json", "xml", "yaml", "html", "properties", "toml", NULL
};


nd_int_t
nd_config_http_init(nd_cycle_t *cycle)
{
    return nd_http_add_routes(cycle, nd_config_routes);
}


/* parameters are trimmed, as Nacos's WebUtils does */
nd_int_t
nd_config_arg(nd_http_request_t *r, const char *name, nd_str_t *v)
{
    if (nd_http_arg(r, name, v) != ND_OK) {
        return ND_DECLINED;
    }

    while (v->len && (v->data[0] == ' ' || v->data[0] == '\t')) {
        v->data++;
        v->len--;
    }
    while (v->len && (v->data[v->len - 1] == ' '
                      || v->data[v->len - 1] == '\t'))
    {
        v->len--;
    }

    return ND_OK;
}


/* v1 config errors: Nacos's exception handler answers "caused: <msg>;" */
nd_int_t
nd_config_v1_error(nd_http_request_t *r, nd_uint_t status, const char *msg)
{
    char  buf[512];

    snprintf(buf, sizeof(buf), "caused: %s;", msg);
    return nd_http_error(r, status, status, buf);
}


static int
nd_config_is_v2(nd_http_request_t *r)
{
    return r->route.len >= 4 && memcmp(r->route.data, "/v2/", 4) == 0;
}


static nd_int_t
nd_config_missing(nd_http_request_t *r, const char *name)
{
    char  buf[256];

    if (nd_config_is_v2(r)) {
        snprintf(buf, sizeof(buf),
                 "Required parameter '%s' type String is not present", name);
        return nd_http_error(r, 400, 10000, buf);
    }

    snprintf(buf, sizeof(buf), "Required request parameter '%s' for method "
             "parameter type String is not present", name);
    return nd_http_error(r, 400, 400, buf);
}


static nd_int_t
nd_config_invalid(nd_http_request_t *r, const char *msg)
{
    if (nd_config_is_v2(r)) {
        return nd_http_error(r, 400, 20002, msg);
    }

    return nd_config_v1_error(r, 400, msg);
}


nd_config_key_field_t
nd_config_key_invalid(const nd_config_key_t *key)
{
    if (nd_name_check(ND_NAME_DATA_ID, &key->data_id) != ND_NAME_OK) {
        return ND_CONFIG_KEY_DATA_ID;
    }
    if (nd_name_check(ND_NAME_GROUP, &key->group) != ND_NAME_OK) {
        return ND_CONFIG_KEY_GROUP;
    }
    if (nd_name_check(ND_NAME_NAMESPACE, &key->tenant) != ND_NAME_OK) {
        return ND_CONFIG_KEY_TENANT;
    }

    return ND_CONFIG_KEY_OK;
}


int
nd_config_tag_ok(const nd_str_t *tag)
{
    return nd_name_check(ND_NAME_TAG, tag) == ND_NAME_OK;
}


/* dataId, group and tenant (namespaceId on v2) of a request; answers the
 * error itself and returns it, or ND_OK */
static nd_int_t
nd_config_key_args(nd_http_request_t *r, nd_config_key_t *key, nd_int_t *rc)
{
    char  msg[512];

    *rc = ND_OK;

    if (nd_config_arg(r, "dataId", &key->data_id) != ND_OK) {
        *rc = nd_config_missing(r, "dataId");
        return ND_ERROR;
    }
    if (nd_config_arg(r, "group", &key->group) != ND_OK) {
        *rc = nd_config_missing(r, "group");
        return ND_ERROR;
    }

    key->tenant.len = 0;
    key->tenant.data = (u_char *) "";
    nd_config_arg(r, nd_config_is_v2(r) ? "namespaceId" : "tenant",
                  &key->tenant);
    nd_config_key_normalize(key);

    switch (nd_config_key_invalid(key)) {

    case ND_CONFIG_KEY_DATA_ID:
        snprintf(msg, sizeof(msg), "invalid dataId : %.*s",
                 (int) nd_min(key->data_id.len, 256),
                 (char *) key->data_id.data);
        *rc = nd_config_invalid(r, msg);
        return ND_ERROR;

    case ND_CONFIG_KEY_GROUP:
        snprintf(msg, sizeof(msg), "invalid group : %.*s",
                 (int) nd_min(key->group.len, 256), (char *) key->group.data);
        *rc = nd_config_invalid(r, msg);
        return ND_ERROR;

    case ND_CONFIG_KEY_TENANT:
        *rc = nd_config_invalid(r, nd_config_is_v2(r) ? "invalid namespaceId"
                                                      : "invalid tenant");
        return ND_ERROR;

    default:
        break;
    }

    return ND_OK;
}


static const char *
nd_config_content_type(const nd_str_t *type)
{
    if (nd_str_eq(type, "json")) {
        return "application/json;charset=UTF-8";
    }
    if (nd_str_eq(type, "xml")) {
        return "application/xml;charset=UTF-8";
    }
    if (nd_str_eq(type, "html")) {
        return "text/html;charset=UTF-8";
    }
    return "text/plain;charset=UTF-8";
}


static json_t *
nd_config_str_json(const nd_str_t *s)
{
    json_t  *j;

    j = json_stringn(s->data ? (char *) s->data : "", s->len);
    return j ? j : json_string("");
}


/* ConfigAllInfo (GET ?show=all) and search page items */
static json_t *
nd_config_row_json(const nd_store_config_t *c, int all)
{
    char     id[32];
    json_t  *j;

    snprintf(id, sizeof(id), "%lld", (long long) c->id);

    j = json_object();
    json_object_set_new(j, "id", json_string(id));
    json_object_set_new(j, "dataId", nd_config_str_json(&c->data_id));
    json_object_set_new(j, "group", nd_config_str_json(&c->group));
    json_object_set_new(j, "content", nd_config_str_json(&c->content));
    json_object_set_new(j, "md5", nd_config_str_json(&c->md5));
    json_object_set_new(j, "encryptedDataKey",
                        nd_config_str_json(&c->encrypted_data_key));
    json_object_set_new(j, "tenant", nd_config_str_json(&c->tenant));
    json_object_set_new(j, "appName", nd_config_str_json(&c->app_name));
    json_object_set_new(j, "type", nd_config_str_json(&c->type));

    if (all) {
        json_object_set_new(j, "createTime", json_integer(c->gmt_create));
        json_object_set_new(j, "modifyTime", json_integer(c->gmt_modified));
        json_object_set_new(j, "createUser", nd_config_str_json(&c->src_user));
        json_object_set_new(j, "createIp", nd_config_str_json(&c->src_ip));
        json_object_set_new(j, "desc", nd_config_str_json(&c->desc));
        json_object_set_new(j, "use", nd_config_str_json(&c->use));
        json_object_set_new(j, "effect", nd_config_str_json(&c->effect));
        json_object_set_new(j, "schema", nd_config_str_json(&c->schema));
        json_object_set_new(j, "configTags", nd_config_str_json(&c->tags));
    }

    return j;
}


/* store completions */

static void
nd_config_op_abort(nd_http_request_t *r)
{
    nd_config_ctx_t  *ctx;

    ctx = r->ctx;
    nd_store_cancel(ctx->op);    /* a write still completes or fails whole */
}


static nd_int_t
nd_config_store_error(nd_http_request_t *r, nd_store_op_t *op)
{
    nd_int_t  code;

    if (op->status == 503) {
        return nd_http_error(r, 503, 30000,
                             "the config store is not available, "
                             "try again later");
    }

    if (op->status == 409) {
        /* Nacos: a CAS publish that lost is a 500 */
        return nd_config_is_v2(r)
               ? nd_http_error(r, 500, 20005, "Cas publish fail, server md5 "
                               "may have changed.")
               : nd_http_error(r, 500, 500, "Cas publish fail, server md5 "
                               "may have changed.");
    }

    if (op->status == 400 || op->status == 413) {
        code = nd_config_is_v2(r) ? 20002 : 400;
        return nd_config_is_v2(r)
               ? nd_http_error(r, 400, code, op->error ? op->error : "")
               : nd_config_v1_error(r, 400, op->error ? op->error : "");
    }

    return nd_http_error(r, op->status >= 400 ? op->status : 500,
                         nd_config_is_v2(r) ? 30000 : 500,
                         op->error ? op->error : "server error");
}


static void
nd_config_write_done(nd_store_op_t *op)
{
    nd_config_ctx_t    *ctx;
    nd_http_request_t  *r;

    ctx = op->data;
    r = ctx->r;

    if (op->rc != ND_OK) {
        nd_config_store_error(r, op);
        return;
    }

    if (ctx->v2) {
        json_t  *j = json_pack("{s:i, s:s, s:b}", "code", 0,
                               "message", "success", "data", 1);

        nd_http_send_json(r, 200, j);
        json_decref(j);
        return;
    }

    nd_http_send(r, 200, "application/json;charset=UTF-8", "true", 4);
}


/* DELETE ?beta=true: Nacos's RestResult */
static void
nd_config_stop_beta_done(nd_store_op_t *op)
{
    json_t             *j;
    nd_config_ctx_t    *ctx;

    ctx = op->data;

    if (op->rc != ND_OK) {
        j = json_pack("{s:i, s:s, s:b}", "code", 500,
                      "message", "remove beta data error", "data", 0);
        nd_http_send_json(ctx->r, 500, j);
        json_decref(j);
        return;
    }

    j = json_pack("{s:i, s:s, s:b}", "code", 200, "message", "stop beta ok",
                  "data", 1);
    nd_http_send_json(ctx->r, 200, j);
    json_decref(j);
}


static nd_int_t
nd_config_submit(nd_http_request_t *r, nd_store_op_t *op)
{
    nd_config_ctx_t  *ctx;

    ctx = nd_pcalloc(r->pool, sizeof(nd_config_ctx_t));
    if (ctx == NULL) {
        nd_store_op_free(op);
        return ND_ERROR;
    }

    ctx->r = r;
    ctx->op = op;
    ctx->v2 = nd_config_is_v2(r);
    op->data = ctx;

    r->ctx = ctx;
    r->abort_handler = nd_config_op_abort;

    nd_store_submit(op);

    return ND_DONE;
}


/* GET */

static void
nd_config_search_done(nd_store_op_t *op)
{
    json_t             *items, *res;
    nd_uint_t           i, pages;
    nd_config_ctx_t    *ctx;
    nd_store_config_t  *rows;

    ctx = op->data;

    if (op->rc != ND_OK) {
        nd_config_store_error(ctx->r, op);
        return;
    }

    items = json_array();
    rows = op->rows.elts;
    for (i = 0; i < op->rows.nelts; i++) {
        json_array_append_new(items, nd_config_row_json(&rows[i], 0));
    }

    pages = op->page_size ? (nd_uint_t) ((op->total + (int64_t) op->page_size
                                          - 1) / (int64_t) op->page_size)
                          : 0;

    res = json_pack("{s:I, s:I, s:I, s:o}",
                    "totalCount", (json_int_t) op->total,
                    "pageNumber", (json_int_t) op->page_no,
                    "pagesAvailable", (json_int_t) pages,
                    "pageItems", items);
    nd_http_send_json(ctx->r, 200, res);
    json_decref(res);
}


static nd_int_t
nd_config_search(nd_http_request_t *r, const nd_str_t *mode)
{
    nd_str_t        v;
    nd_int_t        n;
    nd_store_op_t  *op;

    op = nd_store_op_create(nd_cycle, ND_STORE_CONFIG_SEARCH,
                            nd_config_search_done, NULL);
    if (op == NULL) {
        return ND_ERROR;
    }

    op->blur = nd_str_eq(mode, "blur");

    nd_config_arg(r, "dataId", &op->config.data_id);
    nd_config_arg(r, "group", &op->config.group);
    nd_config_arg(r, "tenant", &op->config.tenant);
    nd_config_arg(r, "appName", &op->config.app_name);
    nd_config_arg(r, "config_tags", &op->config.tags);
    {
        nd_config_key_t  k = { op->config.data_id, op->config.group,
                               op->config.tenant };

        nd_config_key_normalize(&k);
        op->config.tenant = k.tenant;
    }

    op->page_no = 1;
    op->page_size = 100;
    if (nd_config_arg(r, "pageNo", &v) == ND_OK) {
        n = nd_atoi(v.data, v.len);
        if (n < 1) {
            nd_store_op_free(op);
            return nd_config_invalid(r, "invalid pageNo");
        }
        op->page_no = (nd_uint_t) n;
    }
    if (nd_config_arg(r, "pageSize", &v) == ND_OK) {
        n = nd_atoi(v.data, v.len);
        if (n < 1 || n > 500) {
            nd_store_op_free(op);
            return nd_config_invalid(r, "invalid pageSize");
        }
        op->page_size = (nd_uint_t) n;
    }

    return nd_config_submit(r, op);
}


/* GET ?beta=true (console): RestResult of the beta version, data null
 * when there is none */
static nd_int_t
nd_config_get_beta(nd_http_request_t *r, const nd_config_key_t *key)
{
    json_t                   *j, *data;
    nd_int_t                  rc;
    nd_str_t                  beta = nd_string("beta"), type;
    const nd_store_config_t  *c;

    c = nd_store_gray_cached(nd_cycle, &key->data_id, &key->group,
                             &key->tenant, &beta);

    if (c) {
        data = nd_config_row_json(c, 0);
        type = nd_config_row_type(nd_cycle, c);
        json_object_set_new(data, "type", nd_config_str_json(&type));
        json_object_set_new(data, "betaIps",
                            nd_config_str_json(&c->gray_expr));
        json_object_set_new(data, "lastModified",
                            json_integer(c->gmt_modified));
    } else {
        data = json_null();
    }

    j = json_pack("{s:i, s:s, s:o}", "code", 200, "message", "query beta ok",
                  "data", data);
    rc = nd_http_send_json(r, 200, j);
    json_decref(j);

    return rc;
}


static nd_int_t
nd_config_get(nd_http_request_t *r)
{
    char                      date[64], *body, *tagz;
    json_t                   *j;
    nd_int_t                  rc;
    nd_str_t                  v, tag, type, *h;
    nd_config_key_t           key;
    const nd_store_config_t  *c;

    if (!nd_config_is_v2(r) && nd_config_arg(r, "search", &v) == ND_OK
        && (nd_str_eq(&v, "accurate") || nd_str_eq(&v, "blur")))
    {
        return nd_config_search(r, &v);
    }

    if (nd_config_key_args(r, &key, &rc) != ND_OK) {
        return rc;
    }

    if (!nd_config_is_v2(r) && nd_config_arg(r, "beta", &v) == ND_OK
        && nd_str_eq(&v, "true"))
    {
        return nd_config_get_beta(r, &key);
    }

    if (nd_config_arg(r, "show", &v) == ND_OK && nd_str_eq(&v, "all")
        && !nd_config_is_v2(r))
    {
        /* the formal version, as Nacos's ConfigAllInfo */
        c = nd_store_config_cached(nd_cycle, &key.data_id, &key.group,
                                   &key.tenant);
        if (c == NULL) {
            return nd_http_send(r, 200, "application/json;charset=UTF-8",
                                "", 0);
        }
        j = nd_config_row_json(c, 1);
        rc = nd_http_send_json(r, 200, j);
        json_decref(j);
        return rc;
    }

    /* gray rules: the beta for a listed client address, else the version
     * of the tag parameter or of Vipserver-Tag, else the formal one */
    tag.len = 0;
    if (nd_config_arg(r, "tag", &tag) != ND_OK) {
        tag.len = 0;
    }
    if (tag.len == 0) {
        h = nd_http_header_in(r, "Vipserver-Tag");
        if (h && h->len) {
            tag = *h;
        }
    }
    tagz = NULL;
    if (tag.len) {
        tagz = nd_pnalloc(r->pool, tag.len + 1);
        if (tagz == NULL) {
            return ND_ERROR;
        }
        memcpy(tagz, tag.data, tag.len);
        tagz[tag.len] = '\0';
    }

    c = nd_config_for_client(nd_cycle, &key, r->c->addr.host, tagz);

    /* a tag parameter naming no version: not found (Nacos 2.5's
     * SPECIAL_TAG_CONFIG_NOT_FOUND), unless the beta matched */
    if (c && c->gray_name.len == 0 && nd_config_arg(r, "tag", &v) == ND_OK
        && v.len)
    {
        c = NULL;
    }

    if (nd_config_is_v2(r)) {
        if (c == NULL) {
            return nd_http_error(r, 404, 20004, "config data not exist");
        }
        j = json_pack("{s:i, s:s, s:o}", "code", 0, "message", "success",
                      "data", nd_config_str_json(&c->content));
        rc = nd_http_send_json(r, 200, j);
        json_decref(j);
        return rc;
    }

    if (c == NULL) {
        return nd_http_send(r, 404, NULL, "config data not exist\n",
                            sizeof("config data not exist\n") - 1);
    }

    type = nd_config_row_type(nd_cycle, c);

    nd_http_add_header(r, "Content-MD5", (char *) c->md5.data, c->md5.len);
    nd_http_add_header(r, "Config-Type", (char *) type.data, type.len);
    nd_http_time(date, (time_t) (c->gmt_modified / 1000));
    nd_http_add_header(r, "Last-Modified", date, strlen(date));
    if (c->encrypted_data_key.len) {
        nd_http_add_header(r, "Encrypted-Data-Key",
                           (char *) c->encrypted_data_key.data,
                           c->encrypted_data_key.len);
    }
    if (nd_config_is_beta(c)) {
        nd_http_add_header(r, "isBeta", "true", 4);

    } else if (nd_config_is_tag(c)) {
        u_char  *enc;
        size_t   n;

        enc = nd_pnalloc(r->pool, 3 * (c->gray_name.len - 4) + 1);
        if (enc == NULL) {
            return ND_ERROR;
        }
        n = nd_escape_form(enc, c->gray_name.data + 4, c->gray_name.len - 4);
        nd_http_add_header(r, "tag", (char *) enc, n);
    }
    nd_http_add_header(r, "Pragma", "no-cache", 8);
    nd_http_add_header(r, "Expires", "Thu, 01 Jan 1970 00:00:00 GMT", 29);
    nd_http_add_header(r, "Cache-Control", "no-cache,no-store", 17);

    body = (char *) c->content.data;

    return nd_http_send(r, 200, nd_config_content_type(&type), body,
                        c->content.len);
}


/* POST */

static nd_int_t
nd_config_publish(nd_http_request_t *r)
{
    nd_int_t         rc;
    nd_str_t         v, tag, *h, *beta;
    nd_uint_t        i;
    nd_store_op_t   *op;
    nd_config_key_t  key;
    nd_store_config_t *c;


    if (nd_config_key_args(r, &key, &rc) != ND_OK) {
        return rc;
    }

    if (nd_http_arg(r, "content", &v) != ND_OK) {
        return nd_config_missing(r, "content");
    }

    /* gray releases (Nacos: betaIps first, then tag): a beta version for
     * the listed client addresses, or a tag version; the formal version
     * is not touched */
    beta = nd_http_header_in(r, "betaIps");
    if (beta && beta->len == 0) {
        beta = NULL;
    }
    if (nd_config_arg(r, "tag", &tag) != ND_OK) {
        tag.len = 0;
    }

    if (tag.len && !beta && !nd_config_tag_ok(&tag)) {
        return nd_config_invalid(r, "invalid tag");
    }

    op = nd_store_op_create(nd_cycle, beta || tag.len
                                      ? ND_STORE_GRAY_PUBLISH
                                      : ND_STORE_CONFIG_PUBLISH,
                            nd_config_write_done, NULL);
    if (op == NULL) {
        return ND_ERROR;
    }

    if (beta) {
        op->beta_ips = *beta;
    } else if (tag.len) {
        op->tag = tag;
    }

    c = &op->config;
    c->data_id = key.data_id;
    c->group = key.group;
    c->tenant = key.tenant;
    nd_http_arg(r, "content", &c->content);
    nd_config_arg(r, "appName", &c->app_name);
    if (nd_config_arg(r, "src_user", &c->src_user) != ND_OK) {
        nd_config_arg(r, "srcUser", &c->src_user);
    }
    if (nd_config_arg(r, "config_tags", &c->tags) != ND_OK) {
        nd_config_arg(r, "configTags", &c->tags);
    }
    nd_config_arg(r, "desc", &c->desc);
    nd_config_arg(r, "use", &c->use);
    nd_config_arg(r, "effect", &c->effect);
    nd_config_arg(r, "schema", &c->schema);
    nd_config_arg(r, "encryptedDataKey", &c->encrypted_data_key);
    c->src_ip.data = (u_char *) r->c->addr.host;
    c->src_ip.len = strlen(r->c->addr.host);

    /* an unknown or missing type is "text", as Nacos */
    nd_str_set(&c->type, "text");
    if (nd_config_arg(r, "type", &v) == ND_OK) {
        for (i = 0; nd_config_types[i]; i++) {
            if (v.len == strlen(nd_config_types[i])
                && memcmp(v.data, nd_config_types[i], v.len) == 0)
            {
                c->type = v;
                break;
            }
        }
    }

    h = nd_http_header_in(r, "casMd5");
    if (h && h->len) {
        op->cas = 1;
        op->cas_md5 = *h;
    }

    return nd_config_submit(r, op);
}


/* DELETE ?delType=ids&ids=1,2: the console's batch delete, one store
 * delete per config, one after the other */

static nd_store_op_t *
nd_config_delete_op(nd_http_request_t *r, const nd_config_key_t *key,
    nd_store_handler_pt handler)
{
    nd_store_op_t  *op;

    op = nd_store_op_create(nd_cycle, ND_STORE_CONFIG_DELETE, handler, NULL);
    if (op == NULL) {
        return NULL;
    }

    op->config.data_id = key->data_id;
    op->config.group = key->group;
    op->config.tenant = key->tenant;
    op->config.src_ip.data = (u_char *) r->c->addr.host;
    op->config.src_ip.len = strlen(r->c->addr.host);

    return op;
}


static void
nd_config_ids_done(nd_store_op_t *op)
{
    json_t           *j;
    nd_config_ctx_t  *ctx;
    nd_store_op_t    *next;

    ctx = op->data;

    if (op->rc != ND_OK) {
        nd_config_store_error(ctx->r, op);
        return;
    }

    if (ctx->next < ctx->nkeys) {
        next = nd_config_delete_op(ctx->r, &ctx->keys[ctx->next++],
                                   nd_config_ids_done);
        if (next == NULL) {
            nd_http_error(ctx->r, 500, 500, "out of memory");
            return;
        }
        next->data = ctx;
        ctx->op = next;
        nd_store_submit(next);
        return;
    }

    j = json_pack("{s:i, s:n, s:b}", "code", 200, "message", "data", 1);
    nd_http_send_json(ctx->r, 200, j);
    json_decref(j);
}


static nd_int_t
nd_config_delete_ids(nd_http_request_t *r)
{
    json_t                   *j;
    int64_t                   id;
    nd_int_t                  rc;
    nd_str_t                  ids, field;
    u_char                   *p, *end, *comma;
    nd_store_op_t            *op;
    nd_config_key_t          *keys, *k;
    nd_uint_t                 n, max;
    const nd_store_config_t  *c;

    if (nd_config_arg(r, "ids", &ids) != ND_OK || ids.len == 0) {
        return nd_config_missing(r, "ids");
    }

    max = 1;
    for (p = ids.data; p < ids.data + ids.len; p++) {
        max += (*p == ',');
    }

    keys = nd_pcalloc(r->pool, max * sizeof(nd_config_key_t));
    if (keys == NULL) {
        return ND_ERROR;
    }

    n = 0;
    p = ids.data;
    end = ids.data + ids.len;

    while (p < end) {
        comma = memchr(p, ',', (size_t) (end - p));
        field.data = p;
        field.len = (size_t) ((comma ? comma : end) - p);
        p = comma ? comma + 1 : end;

        if (nd_atoi64(field.data, field.len, &id) != ND_OK || id < 0) {
            return nd_config_invalid(r, "invalid ids");
        }

        /* copy the key: the cache entry may change before its turn */
        c = nd_store_config_by_id(nd_cycle, id);
        if (c == NULL) {
            continue;                   /* already gone */
        }

        k = &keys[n++];
        k->data_id.len = c->data_id.len;
        k->data_id.data = nd_pstrdup(r->pool, &c->data_id);
        k->group.len = c->group.len;
        k->group.data = nd_pstrdup(r->pool, &c->group);
        k->tenant.len = c->tenant.len;
        k->tenant.data = nd_pstrdup(r->pool, &c->tenant);
        if (k->data_id.data == NULL || k->group.data == NULL
            || k->tenant.data == NULL)
        {
            return ND_ERROR;
        }
    }

    if (n == 0) {
        j = json_pack("{s:i, s:n, s:b}", "code", 200, "message", "data", 1);
        rc = nd_http_send_json(r, 200, j);
        json_decref(j);
        return rc;
    }

    op = nd_config_delete_op(r, &keys[0], nd_config_ids_done);
    if (op == NULL) {
        return ND_ERROR;
    }

    rc = nd_config_submit(r, op);
    if (rc == ND_DONE) {
        nd_config_ctx_t  *ctx = r->ctx;

        ctx->keys = keys;
        ctx->nkeys = n;
        ctx->next = 1;
    }

    return rc;
}


/* DELETE */

static nd_int_t
nd_config_delete(nd_http_request_t *r)
{
    int              stop_beta;
    nd_int_t         rc;
    nd_str_t         v, tag;
    nd_store_op_t   *op;
    nd_config_key_t  key;

    if (nd_config_arg(r, "delType", &v) == ND_OK && nd_str_eq(&v, "ids")) {
        return nd_config_delete_ids(r);
    }

    if (nd_config_key_args(r, &key, &rc) != ND_OK) {
        return rc;
    }

    /* ?beta=true: stop the beta (console, RestResult); tag: remove the
     * tag version; else the formal version (gray versions stay) */
    stop_beta = !nd_config_is_v2(r) && nd_config_arg(r, "beta", &v) == ND_OK
                && nd_str_eq(&v, "true");
    if (nd_config_arg(r, "tag", &tag) != ND_OK) {
        tag.len = 0;
    }
    if (stop_beta) {
        tag.len = 0;
    }
    if (tag.len && !nd_config_tag_ok(&tag)) {
        return nd_config_invalid(r, "invalid tag");
    }

    op = nd_store_op_create(nd_cycle, stop_beta || tag.len
                                      ? ND_STORE_GRAY_DELETE
                                      : ND_STORE_CONFIG_DELETE,
                            stop_beta ? nd_config_stop_beta_done
                                      : nd_config_write_done, NULL);
    if (op == NULL) {
        return ND_ERROR;
    }

    op->tag = tag;

    op->config.data_id = key.data_id;
    op->config.group = key.group;
    op->config.tenant = key.tenant;
    op->config.src_ip.data = (u_char *) r->c->addr.host;
    op->config.src_ip.len = strlen(r->c->addr.host);

    return nd_config_submit(r, op);
}

/*
 * Config over gRPC (Nacos 2.x SDKs): query, publish, remove, batch
 * listen, and ConfigChangeNotifyRequest pushes.  Built with the grpc
 * module only.
 *
 * Listeners are per connection: a key listened twice on one connection
 * stays one listener.  Gray rules: the connection's client address picks
 * a beta version, the tag field / Vipserver-Tag header (or label) a tag
 * version; any change of a key, gray ones included, is pushed to every
 * connection listening to it (Nacos 2.5), the listen md5 compare decides.  The push echoes the tenant string the connection
 * used in its listen request (the Java client looks its cache up by it),
 * while matching uses the normalised key.
 */
#include <nd_config_internal.h>

#if (ND_WITH_GRPC)

#include <nd_grpc.h>

#define ND_CONFIG_PUSH_RETRIES  50

typedef struct {
    nd_hash_t             keys;        /* index key -> nd_config_glisten_t */
    char                 *id;          /* connection id */
    nd_grpc_conn_t       *conn;        /* NULL once it unregistered
                                          (nd_config_grpc_conn_hook) */
} nd_config_gconn_t;

typedef struct {
    nd_config_listener_t  l;
    nd_config_gconn_t    *gc;
    nd_str_t              data_id;
    nd_str_t              group;
    nd_str_t              tenant;      /* as the client sent it */
    nd_uint_t             retries;
    nd_timer_t            retry;
    unsigned              pushing:1;
} nd_config_glisten_t;

typedef struct {
    nd_grpc_call_t       *call;
    unsigned              remove:1;
} nd_config_gwrite_t;

#define nd_config_gconns  (&nd_config_conf(nd_cycle)->gconns)
#define nd_config_gpush   (nd_config_conf(nd_cycle)->gpush)

static nd_int_t nd_config_grpc_query(nd_grpc_call_t *call, json_t *body);
static nd_int_t nd_config_grpc_publish(nd_grpc_call_t *call, json_t *body);
static nd_int_t nd_config_grpc_remove(nd_grpc_call_t *call, json_t *body);
static nd_int_t nd_config_grpc_listen(nd_grpc_call_t *call, json_t *body);
static void nd_config_grpc_conn_hook(nd_grpc_conn_t *conn, int up);
static void nd_config_grpc_closed(nd_event_id_e id, const nd_str_t *key,
    void *payload, void *data);

static nd_int_t nd_config_grpc_metrics(nd_http_request_t *r);

static const nd_http_route_t  nd_config_grpc_routes[] = {
    { ND_HTTP_GET, nd_string("/v1/cs/metrics/current"),
      nd_config_grpc_metrics },
    { ND_HTTP_GET, nd_string("/v1/cs/metrics/cluster"),
      nd_config_grpc_metrics },
    nd_http_null_route
};

static const nd_grpc_handler_t  nd_config_grpc_handlers[] = {
    { nd_string("ConfigQueryRequest"), nd_config_grpc_query },
    { nd_string("ConfigPublishRequest"), nd_config_grpc_publish },
    { nd_string("ConfigRemoveRequest"), nd_config_grpc_remove },
    { nd_string("ConfigBatchListenRequest"), nd_config_grpc_listen },
    nd_grpc_null_handler
};


nd_int_t
nd_config_grpc_init(nd_cycle_t *cycle)
{
    if (nd_hash_init(&nd_config_conf(cycle)->gconns, 256) != ND_OK
        || nd_grpc_add_handlers(cycle, nd_config_grpc_handlers) != ND_OK
        || nd_http_add_routes(cycle, nd_config_grpc_routes) != ND_OK
        || nd_event_subscribe(cycle, ND_EV_CONNECTION_CLOSED,
                              nd_config_grpc_closed, NULL) != ND_OK
        || nd_grpc_add_conn_hook(cycle, nd_config_grpc_conn_hook) != ND_OK)
    {
        return ND_ERROR;
    }

    return ND_OK;
}


static void
nd_config_glisten_free(nd_config_glisten_t *gl)
{
    nd_config_unlisten(&gl->l);
    if (gl->retry.handler) {
        nd_timer_stop(&gl->retry);
    }
    nd_free(gl);
}


void
nd_config_grpc_exit(nd_cycle_t *cycle)
{
    nd_uint_t           i, j;
    nd_hash_elt_t      *e, *k;
    nd_config_gconn_t  *gc;

    nd_buf_free(&nd_config_gpush);
    nd_buf_free(&nd_config_conf(cycle)->gpush_key);
    nd_shared_release(nd_config_conf(cycle)->gpush_text);
    nd_config_conf(cycle)->gpush_text = NULL;

    if (nd_config_gconns->buckets == NULL) {
        return;
    }

    for (e = nd_hash_first(nd_config_gconns, &i); e;
         e = nd_hash_next(nd_config_gconns, e, &i))
    {
        gc = e->value;
        for (k = nd_hash_first(&gc->keys, &j); k;
             k = nd_hash_next(&gc->keys, k, &j))
        {
            nd_config_glisten_free(k->value);
        }
        nd_hash_free(&gc->keys);
        nd_free(gc->id);
        nd_free(gc);
    }

    nd_hash_free(nd_config_gconns);
}


/*
 * A registered connection goes (from its close, before it is freed): its
 * listeners stop pushing to it at once; they go when CONNECTION_CLOSED
 * is dispatched (below).  A push takes gc->conn, no lookup by id.
 */
static void
nd_config_grpc_conn_hook(nd_grpc_conn_t *conn, int up)
{
    const char         *id;
    nd_config_gconn_t  *gc;

    if (up) {
        return;
    }

    id = nd_grpc_conn_id(conn);
    gc = nd_hash_find(nd_config_gconns, (u_char *) id, strlen(id));
    if (gc && gc->conn == conn) {
        gc->conn = NULL;
    }
}


static void
nd_config_grpc_closed(nd_event_id_e id, const nd_str_t *key, void *payload,
    void *data)
{
    nd_uint_t           i;
    nd_hash_elt_t      *k;
    nd_config_gconn_t  *gc;

    gc = nd_hash_del(nd_config_gconns, key->data, key->len);
    if (gc == NULL) {
        return;
    }

    for (k = nd_hash_first(&gc->keys, &i); k;
         k = nd_hash_next(&gc->keys, k, &i))
    {
        nd_config_glisten_free(k->value);
    }

    nd_hash_free(&gc->keys);
    nd_free(gc->id);
    nd_free(gc);
}


/* request fields */

static int
nd_config_grpc_key(json_t *body, nd_config_key_t *key)
{
    const char  *d, *g, *t;

    d = nd_json_get_str(body, "dataId", "");
    g = nd_json_get_str(body, "group", "");
    t = nd_json_get_str(body, "tenant", "");

    key->data_id.data = (u_char *) d;
    key->data_id.len = strlen(d);
    key->group.data = (u_char *) g;
    key->group.len = strlen(g);
    key->tenant.data = (u_char *) t;
    key->tenant.len = strlen(t);
    nd_config_key_normalize(key);

    return nd_config_key_invalid(key) == ND_CONFIG_KEY_OK ? ND_OK : ND_ERROR;
}


static json_t *
nd_config_grpc_fail(nd_int_t code, const char *msg)
{
    return json_pack("{s:i, s:I, s:s, s:b}", "resultCode", 500,
                     "errorCode", (json_int_t) code, "message", msg,
                     "success", 0);
}


static json_t *
nd_config_gstr(const nd_str_t *s)
{
    json_t  *j;

    j = json_stringn(s->data ? (char *) s->data : "", s->len);
    return j ? j : json_string("");
}


/* ConfigQueryRequest */

/* the tag a request asks for: its tag field, else the Vipserver-Tag
 * header, else the connection's Vipserver-Tag label; NULL for none */
static const char *
nd_config_grpc_tag(nd_grpc_call_t *call, json_t *body, int *explicit)
{
    json_t      *labels;
    const char  *t;

    t = body ? nd_json_get_str(body, "tag", "") : "";
    *explicit = t[0] != '\0';
    if (t[0]) {
        return t;
    }

    t = call->headers ? nd_json_get_str(call->headers, "Vipserver-Tag", "")
                      : "";
    if (t[0]) {
        return t;
    }

    labels = call->conn ? nd_grpc_conn_labels(call->conn) : NULL;
    t = labels ? nd_json_get_str(labels, "Vipserver-Tag", "") : "";

    return t[0] ? t : NULL;
}


static const char *
nd_config_grpc_ip(nd_grpc_call_t *call)
{
    return call->conn ? nd_grpc_conn_client_ip(call->conn) : "";
}


static nd_int_t
nd_config_grpc_query(nd_grpc_call_t *call, json_t *body)
{
    int                       explicit;
    json_t                   *res;
    nd_str_t                  type;
    const char               *tag;
    nd_config_key_t           key;
    const nd_store_config_t  *c;

    if (nd_config_grpc_key(body, &key) != ND_OK) {
        return nd_grpc_reply(call, "ConfigQueryResponse",
                             nd_config_grpc_fail(400, "invalid param"));
    }

    /* gray rules: beta for a listed client address, else the tag
     * version, else formal (a tag without a version: the formal content,
     * the tag echoed, as Nacos 2.5) */
    tag = nd_config_grpc_tag(call, body, &explicit);
    c = nd_config_for_client(nd_cycle, &key, nd_config_grpc_ip(call), tag);
    if (c == NULL) {
        /* a typed failure: clients read errorCode 300 as "absent" */
        return nd_grpc_reply(call, "ConfigQueryResponse",
                             nd_config_grpc_fail(300,
                                                 "config data not exist"));
    }

    type = nd_config_row_type(nd_cycle, c);

    res = json_object();
    json_object_set_new(res, "content", nd_config_gstr(&c->content));
    json_object_set_new(res, "encryptedDataKey",
                        nd_config_gstr(&c->encrypted_data_key));
    json_object_set_new(res, "contentType", nd_config_gstr(&type));
    json_object_set_new(res, "md5", nd_config_gstr(&c->md5));
    json_object_set_new(res, "lastModified", json_integer(c->gmt_modified));
    json_object_set_new(res, "beta", json_boolean(nd_config_is_beta(c)));

    if (nd_config_is_tag(c)) {
        u_char  enc[3 * 128 + 1];
        size_t  n;

        n = c->gray_name.len - 4 <= 128
            ? nd_escape_form(enc, c->gray_name.data + 4, c->gray_name.len - 4)
            : 0;
        json_object_set_new(res, "tag", json_stringn((char *) enc, n));

    } else if (c->gray_name.len == 0 && explicit) {
        json_object_set_new(res, "tag", json_string(tag));
    }

    return nd_grpc_reply(call, "ConfigQueryResponse", res);
}


/* ConfigPublishRequest / ConfigRemoveRequest */

static void
nd_config_grpc_abort(nd_grpc_call_t *call)
{
    nd_store_cancel(call->ctx);
}


static void
nd_config_grpc_write_done(nd_store_op_t *op)
{
    const char      *type;
    nd_grpc_call_t  *call;

    call = op->data;
    type = op->type == ND_STORE_CONFIG_DELETE
           || op->type == ND_STORE_GRAY_DELETE ? "ConfigRemoveResponse"
                                               : "ConfigPublishResponse";

    if (op->rc == ND_OK) {
        /* what nd_grpc_reply makes of an empty object, without building
         * and printing it for every publish */
        static const char  ok[] = "{\"resultCode\":200,\"errorCode\":0,"
                                  "\"success\":true}";

        nd_grpc_reply_raw(call, type, (const u_char *) ok, sizeof(ok) - 1);
        return;
    }

    nd_grpc_reply(call, type,
                  nd_config_grpc_fail(op->status == 400 || op->status == 413
                                      ? 400 : op->status == 409 ? 500
                                      : op->status,
                                      op->status == 409
                                      ? "Cas publish fail, server md5 may "
                                        "have changed."
                                      : op->error ? op->error : "failed"));
}


static void
nd_config_grpc_opt(json_t *map, const char *name, nd_str_t *dst)
{
    const char  *v;

    v = nd_json_get_str(map, name, NULL);
    if (v) {
        dst->data = (u_char *) v;
        dst->len = strlen(v);
    }
}


static nd_int_t
nd_config_grpc_write(nd_grpc_call_t *call, json_t *body, int remove)
{
    json_t             *add;
    nd_str_t            v;
    nd_uint_t           i;
    const char         *s, *type, *tag, *beta;
    nd_store_op_t      *op;
    nd_config_key_t     key;
    nd_store_config_t  *c;
    static const char  *types[] = { "text", "json", "xml", "yaml", "html",
                                    "properties", "toml", NULL };

    type = remove ? "ConfigRemoveResponse" : "ConfigPublishResponse";

    if (nd_config_grpc_key(body, &key) != ND_OK) {
        return nd_grpc_reply(call, type,
                             nd_config_grpc_fail(400, "invalid param"));
    }

    /* gray: additionMap betaIps (a beta version) or tag (a tag version);
     * a remove with tag removes that tag version */
    add = json_object_get(body, "additionMap");
    tag = nd_json_get_str(remove ? body : add, "tag", "");
    beta = remove ? "" : nd_json_get_str(add, "betaIps", "");

    if (tag[0] && !beta[0]) {
        v.data = (u_char *) tag;
        v.len = strlen(tag);
        if (!nd_config_tag_ok(&v)) {
            return nd_grpc_reply(call, type,
                                 nd_config_grpc_fail(400, "invalid tag"));
        }
    }

    op = nd_store_op_create(nd_cycle,
                            tag[0] || beta[0]
                            ? (remove ? ND_STORE_GRAY_DELETE
                                      : ND_STORE_GRAY_PUBLISH)
                            : (remove ? ND_STORE_CONFIG_DELETE
                                      : ND_STORE_CONFIG_PUBLISH),
                            nd_config_grpc_write_done, call);
    if (op == NULL) {
        return ND_ERROR;
    }

    if (beta[0]) {
        op->beta_ips.data = (u_char *) beta;
        op->beta_ips.len = strlen(beta);
    } else if (tag[0]) {
        op->tag.data = (u_char *) tag;
        op->tag.len = strlen(tag);
    }

    c = &op->config;
    c->data_id = key.data_id;
    c->group = key.group;
    c->tenant = key.tenant;
    s = call->client_ip && call->client_ip[0]
        ? call->client_ip
        : call->conn ? nd_grpc_conn_client_ip(call->conn) : "";
    c->src_ip.data = (u_char *) s;
    c->src_ip.len = strlen(s);

    if (!remove) {
        s = nd_json_get_str(body, "content", NULL);
        if (s == NULL) {
            nd_store_op_free(op);
            return nd_grpc_reply(call, type,
                                 nd_config_grpc_fail(400, "content is blank"));
        }
        c->content.data = (u_char *) s;
        c->content.len = strlen(s);

        nd_config_grpc_opt(add, "appName", &c->app_name);
        nd_config_grpc_opt(add, "src_user", &c->src_user);
        nd_config_grpc_opt(add, "config_tags", &c->tags);
        nd_config_grpc_opt(add, "desc", &c->desc);
        nd_config_grpc_opt(add, "use", &c->use);
        nd_config_grpc_opt(add, "effect", &c->effect);
        nd_config_grpc_opt(add, "schema", &c->schema);
        nd_config_grpc_opt(add, "encryptedDataKey", &c->encrypted_data_key);

        nd_str_set(&c->type, "text");
        v.len = 0;
        nd_config_grpc_opt(add, "type", &v);
        for (i = 0; types[i] && v.len; i++) {
            if (v.len == strlen(types[i])
                && memcmp(v.data, types[i], v.len) == 0)
            {
                c->type = v;
                break;
            }
        }

        s = nd_json_get_str(body, "casMd5", "");
        if (s[0]) {
            op->cas = 1;
            op->cas_md5.data = (u_char *) s;
            op->cas_md5.len = strlen(s);
        }
    }

    call->ctx = op;
    call->abort_handler = nd_config_grpc_abort;
    nd_store_submit(op);                 /* copies the views */

    return ND_DONE;
}


static nd_int_t
nd_config_grpc_publish(nd_grpc_call_t *call, json_t *body)
{
    return nd_config_grpc_write(call, body, 0);
}


static nd_int_t
nd_config_grpc_remove(nd_grpc_call_t *call, json_t *body)
{
    return nd_config_grpc_write(call, body, 1);
}


/* ConfigBatchListenRequest and the pushes */

static void nd_config_grpc_push(nd_config_glisten_t *gl);


static void
nd_config_grpc_retry(nd_timer_t *t)
{
    nd_config_grpc_push(t->data);
}


static void
nd_config_grpc_pushed(nd_grpc_conn_t *conn, nd_int_t code, json_t *response,
    void *data)
{
    nd_config_glisten_t  *gl;

    gl = data;
    gl->pushing = 0;

    if (code || conn == NULL) {
        gl->retries = 0;
        return;
    }

    /* no answer: try again with backoff, as Nacos does */
    if (++gl->retries > ND_CONFIG_PUSH_RETRIES) {
        return;
    }

    if (gl->retry.handler == NULL) {
        nd_timer_init(&gl->retry, "config push retry", nd_config_grpc_retry,
                      gl);
    }
    nd_timer_start(&gl->retry, nd_min(gl->retries * 200, 5000),
                   ND_TIMER_ONCE);
}


#define nd_config_gtext(s)  ((s)->data ? (const char *) (s)->data : "")


/*
 * ConfigChangeNotifyRequest's text for gl's key: it names the key only,
 * so the text of the last key is kept in one refcounted block that the
 * queues of every listener of that key share (10,000 listeners of a
 * change are 10,000 pushes in one pass, and one text).
 */
static nd_shared_t *
nd_config_grpc_text(nd_config_glisten_t *gl)
{
    size_t              i;
    u_char             *p;
    nd_buf_t           *b, *key;
    nd_shared_t        *sh;
    const nd_str_t     *part[3];
    nd_config_conf_t   *ccf;

    ccf = nd_config_conf(nd_cycle);
    key = &ccf->gpush_key;

    /* the text's key is kept as dataId NUL group NUL tenant */
    part[0] = &gl->data_id;
    part[1] = &gl->group;
    part[2] = &gl->tenant;

    if (ccf->gpush_text
        && nd_buf_size(key) == part[0]->len + part[1]->len + part[2]->len + 2)
    {
        p = nd_buf_start(key);
        for (i = 0; i < 3; i++) {
            if (memcmp(p, nd_config_gtext(part[i]), part[i]->len) != 0
                || (i < 2 && p[part[i]->len] != '\0'))
            {
                break;
            }
            p += part[i]->len + 1;
        }
        if (i == 3) {
            return ccf->gpush_text;
        }
    }

    nd_buf_reset(key);
    for (i = 0; i < 3; i++) {
        if (nd_buf_append(key, nd_config_gtext(part[i]), part[i]->len)
            != ND_OK
            || (i < 2 && nd_buf_append(key, "", 1) != ND_OK))
        {
            return NULL;
        }
    }

    b = &nd_config_gpush;
    nd_buf_reset(b);

    if (nd_buf_append(b, "{\"dataId\":", 10) != ND_OK
        || nd_json_str(b, nd_config_gtext(&gl->data_id), gl->data_id.len)
           != ND_OK
        || nd_buf_append(b, ",\"group\":", 9) != ND_OK
        || nd_json_str(b, nd_config_gtext(&gl->group), gl->group.len) != ND_OK
        || nd_buf_append(b, ",\"tenant\":", 10) != ND_OK
        || nd_json_str(b, nd_config_gtext(&gl->tenant), gl->tenant.len)
           != ND_OK
        || nd_buf_append(b, ",\"module\":\"config\"}", 19) != ND_OK)
    {
        return NULL;
    }

    sh = nd_shared_alloc(nd_buf_size(b), NULL);
    if (sh == NULL) {
        return NULL;
    }
    memcpy(sh->data, nd_buf_start(b), nd_buf_size(b));

    nd_shared_release(ccf->gpush_text);     /* queued pushes keep theirs */
    ccf->gpush_text = sh;

    return sh;
}


static void
nd_config_grpc_push(nd_config_glisten_t *gl)
{
    nd_shared_t     *text;
    nd_grpc_conn_t  *conn;

    conn = gl->gc->conn;
    if (conn == NULL || gl->pushing) {
        return;
    }

    text = nd_config_grpc_text(gl);
    if (text == NULL) {
        return;
    }

    gl->pushing = 1;
    if (nd_grpc_push_shared(conn, "ConfigChangeNotifyRequest", text, 0,
                            nd_config_grpc_pushed, gl) != ND_OK)
    {
        gl->pushing = 0;
    }
}


static void
nd_config_grpc_notify(nd_config_listener_t *l)
{
    nd_config_glisten_t  *gl;

    gl = (nd_config_glisten_t *) l;
    gl->retries = 0;
    nd_config_grpc_push(gl);
}


static nd_config_gconn_t *
nd_config_gconn(nd_grpc_call_t *call)
{
    const char         *id;
    nd_config_gconn_t  *gc;

    id = nd_grpc_conn_id(call->conn);
    gc = nd_hash_find(nd_config_gconns, (u_char *) id, strlen(id));
    if (gc) {
        return gc;
    }

    gc = nd_calloc(sizeof(nd_config_gconn_t));
    if (gc == NULL) {
        return NULL;
    }

    /* a registered connection only: the hook clears it when it goes */
    gc->conn = nd_grpc_conn_find(nd_cycle, id);
    gc->id = strdup(id);
    if (gc->id == NULL || nd_hash_init(&gc->keys, 16) != ND_OK
        || nd_hash_add(nd_config_gconns, (u_char *) id, strlen(id), gc)
           != ND_OK)
    {
        nd_hash_free(&gc->keys);
        nd_free(gc->id);
        nd_free(gc);
        return NULL;
    }

    return gc;
}


static nd_config_glisten_t *
nd_config_glisten_new(nd_config_gconn_t *gc, const nd_config_key_t *key,
    const char *tenant, const char *client_ip)
{
    size_t                dlen, glen, tlen, ilen;
    u_char               *p;
    nd_config_glisten_t  *gl;

    dlen = key->data_id.len;
    glen = key->group.len;
    tlen = strlen(tenant);
    ilen = strlen(client_ip);

    gl = nd_calloc(sizeof(nd_config_glisten_t) + dlen + glen + tlen + ilen
                   + 4);
    if (gl == NULL) {
        return NULL;
    }

    p = (u_char *) (gl + 1);
    gl->data_id.data = p;
    gl->data_id.len = dlen;
    memcpy(p, key->data_id.data, dlen);
    p += dlen + 1;
    gl->group.data = p;
    gl->group.len = glen;
    memcpy(p, key->group.data, glen);
    p += glen + 1;
    gl->tenant.data = p;
    gl->tenant.len = tlen;
    memcpy(p, tenant, tlen);
    p += tlen + 1;

    /* the connection (and its address) is freed one loop pass before
     * CONNECTION_CLOSED removes this listener: keep a copy */
    memcpy(p, client_ip, ilen + 1);

    gl->gc = gc;
    gl->l.notify = nd_config_grpc_notify;
    gl->l.data = gc;
    gl->l.client_ip = (const char *) p;

    return gl;
}


/* how many of the request's keys the connection does not listen to yet */
static nd_uint_t
nd_config_grpc_new_keys(nd_grpc_call_t *call, nd_config_gconn_t *gc,
    json_t *ctxs)
{
    u_char           *ik;
    size_t            i;
    nd_uint_t         n;
    nd_config_key_t   key;

    n = 0;

    for (i = 0; i < json_array_size(ctxs); i++) {
        if (nd_config_grpc_key(json_array_get(ctxs, i), &key) != ND_OK) {
            continue;
        }

        ik = nd_pnalloc(call->pool, nd_config_index_len(&key));
        if (ik == NULL) {
            return json_array_size(ctxs);   /* as if all were new */
        }

        if (nd_hash_find(&gc->keys, ik, nd_config_index_key(ik, &key))
            == NULL)
        {
            n++;
        }
    }

    return n;
}


static nd_int_t
nd_config_grpc_listen(nd_grpc_call_t *call, json_t *body)
{
    char                  err[128];
    nd_uint_t             max;
    int                   listen;
    u_char               *ik;
    size_t                iklen, i;
    json_t               *ctxs, *item, *changed, *ch;
    const char           *md5, *tenant, *ip, *tag;
    nd_config_key_t       key;
    nd_config_gconn_t    *gc;
    nd_config_glisten_t  *gl;

    listen = nd_json_get_bool(body, "listen", 1);
    ctxs = json_object_get(body, "configListenContexts");
    changed = json_array();

    gc = nd_config_gconn(call);
    if (gc == NULL) {
        json_decref(changed);
        return ND_ERROR;
    }

    /* max_connection_listeners: the whole request is refused, so what a
     * connection listens to is all it asked for or what it had */
    max = nd_config_conf(nd_cycle)->max_connection_listeners;

    if (listen && gc->keys.nelts + json_array_size(ctxs) > max
        && gc->keys.nelts + nd_config_grpc_new_keys(call, gc, ctxs) > max)
    {
        json_decref(changed);
        snprintf(err, sizeof(err), "too many listeners on this connection: "
                 "the limit is %lu (max_connection_listeners)",
                 (unsigned long) max);
        return nd_grpc_reply_error(call, 429, err);
    }

    ip = nd_grpc_conn_client_ip(call->conn);
    {
        int  explicit;

        /* Vipserver-Tag header (or label): compare with its version */
        tag = nd_config_grpc_tag(call, NULL, &explicit);
    }

    for (i = 0; i < json_array_size(ctxs); i++) {
        item = json_array_get(ctxs, i);

        if (nd_config_grpc_key(item, &key) != ND_OK) {
            continue;                   /* Nacos skips what it cannot use */
        }

        tenant = nd_json_get_str(item, "tenant", "");
        md5 = nd_json_get_str(item, "md5", "");

        ik = nd_pnalloc(call->pool, nd_config_index_len(&key));
        if (ik == NULL) {
            json_decref(changed);
            return ND_ERROR;
        }
        iklen = nd_config_index_key(ik, &key);

        gl = nd_hash_find(&gc->keys, ik, iklen);

        if (!listen) {
            if (gl) {
                nd_hash_del(&gc->keys, ik, iklen);
                nd_config_glisten_free(gl);
            }
            continue;
        }

        if (gl == NULL) {
            gl = nd_config_glisten_new(gc, &key, tenant, ip);
            if (gl == NULL
                || nd_config_listen(nd_cycle, &key, &gl->l) != ND_OK
                || nd_hash_add(&gc->keys, ik, iklen, gl) != ND_OK)
            {
                if (gl) {
                    nd_config_glisten_free(gl);
                }
                json_decref(changed);
                return ND_ERROR;
            }
        }

        snprintf(gl->l.md5, sizeof(gl->l.md5), "%s", md5);

        if (nd_config_md5_differs(nd_cycle, &key, ip, tag, md5)) {
            ch = json_pack("{s:o, s:o, s:s}",
                           "dataId", nd_config_gstr(&key.data_id),
                           "group", nd_config_gstr(&key.group),
                           "tenant", tenant);
            json_array_append_new(changed, ch);
        }
    }

    return nd_grpc_reply(call, "ConfigChangeBatchListenResponse",
                         json_pack("{s:o}", "changedConfigs", changed));
}


/*
 * GET /v1/cs/metrics/current?ip=&dataId=&group=&tenant= (and /cluster,
 * the same on a standalone node): ask every connection from ip for its
 * config metrics (ClientConfigMetricRequest, 1 s) and merge the answers.
 * The collection lives on the heap: answers may come after the HTTP
 * client went away.
 */

typedef struct {
    nd_http_request_t  *r;            /* NULL once the client went away */
    json_t             *metrics;
    json_t             *keys;         /* metricsKeys of each request */
    nd_uint_t           pending;
    const char         *ip;
} nd_config_metrics_t;


static void
nd_config_metrics_finish(nd_config_metrics_t *m)
{
    if (m->pending) {
        return;
    }

    if (m->r) {
        m->r->abort_handler = NULL;
        nd_http_send_json(m->r, 200, m->metrics);
    }

    json_decref(m->metrics);
    json_decref(m->keys);
    nd_free(m);
}


static void
nd_config_metrics_answer(nd_grpc_conn_t *conn, nd_int_t code,
    json_t *response, void *data)
{
    json_t               *got;
    nd_config_metrics_t  *m;

    m = data;

    got = json_object_get(response, "metrics");
    if (json_is_object(got)) {
        json_object_update(m->metrics, got);
    }

    m->pending--;
    nd_config_metrics_finish(m);
}


static void
nd_config_metrics_ask(nd_grpc_conn_t *conn, void *data)
{
    nd_config_metrics_t  *m;

    m = data;

    if (strcmp(nd_grpc_conn_client_ip(conn), m->ip) != 0) {
        return;
    }

    m->pending++;
    if (nd_grpc_push(conn, "ClientConfigMetricRequest",
                     json_pack("{s:O, s:s}", "metricsKeys", m->keys,
                               "module", "config"),
                     1000, nd_config_metrics_answer, m) != ND_OK)
    {
        m->pending--;
    }
}


static void
nd_config_metrics_abort(nd_http_request_t *r)
{
    nd_config_metrics_t  *m;

    m = r->ctx;
    m->r = NULL;                      /* answers still free it */
}


static nd_int_t
nd_config_grpc_metrics(nd_http_request_t *r)
{
    u_char               *gk, *p;
    size_t                i;
    nd_str_t              ip, v[3];
    nd_config_metrics_t  *m;

    if (nd_config_arg(r, "ip", &ip) != ND_OK || ip.len == 0) {
        return nd_config_v1_error(r, 400, "Required request parameter 'ip' "
                                  "for method parameter type String is not "
                                  "present");
    }

    m = nd_calloc(sizeof(nd_config_metrics_t));
    if (m == NULL) {
        return ND_ERROR;
    }

    m->r = r;
    m->ip = nd_pstrdupz(r->pool, &ip);
    m->metrics = json_object();
    m->keys = json_array();

    /* the group key dataId+group[+tenant], '+' and '%' escaped */
    if (nd_config_arg(r, "dataId", &v[0]) == ND_OK && v[0].len) {
        if (nd_config_arg(r, "group", &v[1]) != ND_OK) {
            nd_str_set(&v[1], "DEFAULT_GROUP");
        }
        if (nd_config_arg(r, "tenant", &v[2]) != ND_OK) {
            v[2].len = 0;
        }

        gk = nd_pnalloc(r->pool, 3 * (v[0].len + v[1].len + v[2].len) + 3);
        if (gk == NULL || m->ip == NULL) {
            json_decref(m->metrics);
            json_decref(m->keys);
            nd_free(m);
            return ND_ERROR;
        }

        p = gk;
        for (i = 0; i < 3; i++) {
            const u_char  *c;

            if (i == 2 && v[2].len == 0) {
                break;
            }
            if (i) {
                *p++ = '+';
            }
            for (c = v[i].data; c < v[i].data + v[i].len; c++) {
                if (*c == '+') {
                    memcpy(p, "%2B", 3);
                    p += 3;
                } else if (*c == '%') {
                    memcpy(p, "%25", 3);
                    p += 3;
                } else {
                    *p++ = *c;
                }
            }
        }

        json_array_append_new(m->keys, json_pack("{s:s, s:s%}",
                              "type", "cacheData", "key", gk,
                              (size_t) (p - gk)));
        json_array_append_new(m->keys, json_pack("{s:s, s:s%}",
                              "type", "snapshotData", "key", gk,
                              (size_t) (p - gk)));
    }

    r->ctx = m;
    r->abort_handler = nd_config_metrics_abort;

    nd_grpc_conn_each(nd_cycle, nd_config_metrics_ask, m);

    if (m->pending == 0) {
        r->abort_handler = NULL;
        nd_config_metrics_finish(m);      /* answers now, frees m */
        return ND_OK;
    }

    return ND_DONE;
}

#endif

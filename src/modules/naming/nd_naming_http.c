/*
 * Naming Open API v1 (/v1/ns/...), shared with v2 where Nacos shares the
 * logic: handlers answer text/JSON on v1 paths and the {code, message,
 * data} envelope on v2 paths.
 */
#include <nd_naming.h>
#include <regex.h>

static nd_int_t nd_naming_instance_register(nd_http_request_t *r);
static nd_int_t nd_naming_instance_deregister(nd_http_request_t *r);
static nd_int_t nd_naming_instance_update(nd_http_request_t *r);
static nd_int_t nd_naming_instance_detail(nd_http_request_t *r);
static nd_int_t nd_naming_instance_list(nd_http_request_t *r);
static nd_int_t nd_naming_instance_beat_h(nd_http_request_t *r);
static nd_int_t nd_naming_instance_metadata_batch(nd_http_request_t *r);
static nd_int_t nd_naming_instance_statuses(nd_http_request_t *r);
static nd_int_t nd_naming_service_create(nd_http_request_t *r);
static nd_int_t nd_naming_service_delete(nd_http_request_t *r);
static nd_int_t nd_naming_service_update(nd_http_request_t *r);
static nd_int_t nd_naming_service_detail(nd_http_request_t *r);
static nd_int_t nd_naming_service_list(nd_http_request_t *r);
static nd_int_t nd_naming_service_names(nd_http_request_t *r);
static nd_int_t nd_naming_service_subscribers(nd_http_request_t *r);
static nd_int_t nd_naming_health_instance(nd_http_request_t *r);
static nd_int_t nd_naming_health_server(nd_http_request_t *r);
static nd_int_t nd_naming_cluster_update(nd_http_request_t *r);
static nd_int_t nd_naming_operator_metrics(nd_http_request_t *r);
static nd_int_t nd_naming_operator_switches(nd_http_request_t *r);
static nd_int_t nd_naming_operator_switch_update(nd_http_request_t *r);
static nd_int_t nd_naming_push_state(nd_http_request_t *r);
static nd_int_t nd_naming_catalog_services(nd_http_request_t *r);
static nd_int_t nd_naming_catalog_instances(nd_http_request_t *r);

static const nd_http_route_t  nd_naming_routes[] = {
    { ND_HTTP_POST, nd_string("/v1/ns/instance"),
      nd_naming_instance_register },
    { ND_HTTP_DELETE, nd_string("/v1/ns/instance"),
      nd_naming_instance_deregister },
    { ND_HTTP_PUT | ND_HTTP_PATCH, nd_string("/v1/ns/instance"),
      nd_naming_instance_update },
    { ND_HTTP_GET, nd_string("/v1/ns/instance"), nd_naming_instance_detail },
    { ND_HTTP_GET, nd_string("/v1/ns/instance/list"),
      nd_naming_instance_list },
    { ND_HTTP_PUT, nd_string("/v1/ns/instance/beat"),
      nd_naming_instance_beat_h },
    { ND_HTTP_PUT | ND_HTTP_DELETE, nd_string("/v1/ns/instance/metadata/batch"),
      nd_naming_instance_metadata_batch },
    { ND_HTTP_GET | ND_HTTP_POST, nd_string("/v1/ns/instance/statuses"),
      nd_naming_instance_statuses },
    { ND_HTTP_POST, nd_string("/v1/ns/service"), nd_naming_service_create },
    { ND_HTTP_DELETE, nd_string("/v1/ns/service"), nd_naming_service_delete },
    { ND_HTTP_PUT, nd_string("/v1/ns/service"), nd_naming_service_update },
    { ND_HTTP_GET, nd_string("/v1/ns/service"), nd_naming_service_detail },
    { ND_HTTP_GET, nd_string("/v1/ns/service/list"), nd_naming_service_list },
    { ND_HTTP_ANY, nd_string("/v1/ns/service/names"),
      nd_naming_service_names },
    { ND_HTTP_GET, nd_string("/v1/ns/service/subscribers"),
      nd_naming_service_subscribers },
    { ND_HTTP_PUT, nd_string("/v1/ns/health"), nd_naming_health_instance },
    { ND_HTTP_PUT, nd_string("/v1/ns/health/instance"),
      nd_naming_health_instance },
    { ND_HTTP_GET, nd_string("/v1/ns/health/server"),
      nd_naming_health_server },
    { ND_HTTP_PUT, nd_string("/v1/ns/cluster"), nd_naming_cluster_update },
    { ND_HTTP_GET, nd_string("/v1/ns/operator/metrics"),
      nd_naming_operator_metrics },
    { ND_HTTP_GET, nd_string("/v1/ns/ops/metrics"),
      nd_naming_operator_metrics },
    { ND_HTTP_GET, nd_string("/v1/ns/operator/switches"),
      nd_naming_operator_switches },
    { ND_HTTP_GET, nd_string("/v1/ns/ops/switches"),
      nd_naming_operator_switches },
    { ND_HTTP_PUT, nd_string("/v1/ns/operator/switches"),
      nd_naming_operator_switch_update },
    { ND_HTTP_PUT, nd_string("/v1/ns/ops/switches"),
      nd_naming_operator_switch_update },
    { ND_HTTP_GET, nd_string("/v1/ns/operator/push/state"),
      nd_naming_push_state },
    { ND_HTTP_GET, nd_string("/v1/ns/catalog/services"),
      nd_naming_catalog_services },
    { ND_HTTP_ANY, nd_string("/v1/ns/catalog/instances"),
      nd_naming_catalog_instances },

    /* v2: same logic, enveloped answers */
    { ND_HTTP_POST, nd_string("/v2/ns/instance"),
      nd_naming_instance_register },
    { ND_HTTP_DELETE, nd_string("/v2/ns/instance"),
      nd_naming_instance_deregister },
    { ND_HTTP_PUT | ND_HTTP_PATCH, nd_string("/v2/ns/instance"),
      nd_naming_instance_update },
    { ND_HTTP_GET, nd_string("/v2/ns/instance"), nd_naming_instance_detail },
    { ND_HTTP_GET, nd_string("/v2/ns/instance/list"),
      nd_naming_instance_list },
    { ND_HTTP_PUT, nd_string("/v2/ns/instance/beat"),
      nd_naming_instance_beat_h },
    { ND_HTTP_PUT | ND_HTTP_DELETE, nd_string("/v2/ns/instance/metadata/batch"),
      nd_naming_instance_metadata_batch },
    { ND_HTTP_POST, nd_string("/v2/ns/service"), nd_naming_service_create },
    { ND_HTTP_DELETE, nd_string("/v2/ns/service"), nd_naming_service_delete },
    { ND_HTTP_PUT, nd_string("/v2/ns/service"), nd_naming_service_update },
    { ND_HTTP_GET, nd_string("/v2/ns/service"), nd_naming_service_detail },
    { ND_HTTP_GET, nd_string("/v2/ns/service/list"), nd_naming_service_list },
    { ND_HTTP_PUT, nd_string("/v2/ns/health/instance"),
      nd_naming_health_instance },
    { ND_HTTP_GET, nd_string("/v2/ns/operator/metrics"),
      nd_naming_operator_metrics },
    { ND_HTTP_GET, nd_string("/v2/ns/operator/switches"),
      nd_naming_operator_switches },
    { ND_HTTP_PUT, nd_string("/v2/ns/operator/switches"),
      nd_naming_operator_switch_update },
    nd_http_null_route
};

int
nd_naming_http_init(nd_cycle_t *cycle)
{
    return nd_http_add_routes(cycle, nd_naming_routes);
}


/* ---- helpers ------------------------------------------------------------- */

int
nd_naming_is_v2(nd_http_request_t *r)
{
    return r->route.len >= 4 && memcmp(r->route.data, "/v2/", 4) == 0;
}


nd_int_t
nd_naming_fail(nd_http_request_t *r, nd_uint_t status, nd_int_t code,
    const char *fmt, ...)
{
    char     msg[1024];
    va_list  args;

    va_start(args, fmt);
    vsnprintf(msg, sizeof(msg), fmt, args);
    va_end(args);

    /* v1: status and text; v2: the envelope with the ErrorCode message */
    return nd_http_error(r, status, nd_naming_is_v2(r) ? code
                                                       : (nd_int_t) status,
                         msg);
}


nd_int_t
nd_naming_send_json(nd_http_request_t *r, json_t *data)
{
    json_t    *j;
    nd_int_t   rc;

    if (data == NULL) {
        return ND_ERROR;
    }

    if (!nd_naming_is_v2(r)) {
        rc = nd_http_send_json(r, 200, data);
        json_decref(data);
        return rc;
    }

    j = json_pack("{s:i, s:s, s:o}", "code", 0, "message", "success",
                  "data", data);
    rc = nd_http_send_json(r, 200, j);
    json_decref(j);

    return rc;
}


nd_int_t
nd_naming_ok(nd_http_request_t *r)
{
    if (!nd_naming_is_v2(r)) {
        return nd_http_send(r, 200, NULL, "ok", 2);
    }

    return nd_naming_send_json(r, json_string("ok"));
}


/* send a cached ServiceInfo, enveloped on v2 */
static nd_int_t
nd_naming_send_info(nd_http_request_t *r, nd_shared_t *body, size_t pos)
{
    u_char    *p;
    nd_buf_t   b;
    nd_int_t   rc;

    p = nd_naming_info_stamp(r->pool, body, pos, nd_current_msec);
    if (p == NULL) {
        return ND_ERROR;
    }

    if (!nd_naming_is_v2(r)) {
        return nd_http_send(r, 200, "application/json;charset=UTF-8", p,
                            body->len);
    }

    nd_buf_init(&b);
    nd_buf_append(&b, "{\"code\":0,\"message\":\"success\",\"data\":", 37);
    nd_buf_append(&b, p, body->len);
    if (nd_buf_append(&b, "}", 1) != ND_OK) {
        nd_buf_free(&b);
        return ND_ERROR;
    }
    rc = nd_http_send(r, 200, "application/json;charset=UTF-8", b.data,
                      b.len);
    nd_buf_free(&b);

    return rc;
}


int
nd_naming_arg(nd_http_request_t *r, const char *name, nd_str_t *v)
{
    if (nd_http_arg(r, name, v) != ND_OK) {
        return ND_DECLINED;
    }

    while (v->len && isspace(v->data[0])) {
        v->data++;
        v->len--;
    }
    while (v->len && isspace(v->data[v->len - 1])) {
        v->len--;
    }

    return v->len ? ND_OK : ND_DECLINED;
}


static nd_int_t
nd_naming_required(nd_http_request_t *r, const char *name)
{
    if (nd_naming_is_v2(r)) {
        return nd_naming_fail(r, 400, 10000, "Required parameter '%s' type "
                              "String is not present", name);
    }

    return nd_naming_fail(r, 400, 10000, "Param '%s' is required.", name);
}


int
nd_naming_bool(const nd_str_t *v)
{
    return nd_str_casecmp_lit(v, "true") == 0
           || nd_str_casecmp_lit(v, "on") == 0
           || nd_str_casecmp_lit(v, "yes") == 0
           || nd_str_casecmp_lit(v, "y") == 0
           || nd_str_casecmp_lit(v, "t") == 0
           || nd_str_casecmp_lit(v, "1") == 0;
}


static int
nd_naming_bool_arg(nd_http_request_t *r, const char *name, int dflt)
{
    nd_str_t  v;

    if (nd_naming_arg(r, name, &v) != ND_OK) {
        return dflt;
    }

    return nd_naming_bool(&v);
}


int
nd_naming_int_arg(nd_http_request_t *r, const char *name, nd_int_t dflt)
{
    nd_int_t  n;
    nd_str_t  v;

    if (nd_naming_arg(r, name, &v) != ND_OK) {
        return (int) dflt;
    }

    n = nd_atoi(v.data, v.len);
    return n == ND_ERROR ? 0 : (int) nd_min(n, INT32_MAX);   /* toInt */
}


json_t *
nd_naming_meta_json(const char *text)
{
    json_t  *j;

    if (text == NULL) {
        return json_object();
    }

    j = json_loads(text, 0, NULL);
    return j ? j : json_object();
}


int
nd_naming_ns_ok(const nd_str_t *ns)
{
    size_t  i;

    if (ns->len > 64) {
        return 0;
    }

    for (i = 0; i < ns->len; i++) {
        if (!isalnum(ns->data[i]) && ns->data[i] != '_' && ns->data[i] != '-')
        {
            return 0;
        }
    }

    return 1;
}


int
nd_naming_group_ok(const nd_str_t *g)
{
    size_t  i;
    u_char  c;

    for (i = 0; i < g->len; i++) {
        c = g->data[i];
        if (!isalnum(c) && c != '-' && c != '_' && c != ':' && c != '.') {
            return 0;
        }
    }

    return 1;
}


/* serviceName param check: not starting with '@', no "@@", no white
 * space (CJK is let through: we do not decode UTF-8 here) */
int
nd_naming_svc_name_ok(const nd_str_t *n)
{
    size_t  i;

    if (n->len == 0 || n->data[0] == '@') {
        return 0;
    }

    for (i = 0; i < n->len; i++) {
        if (isspace(n->data[i])
            || (n->data[i] == '@' && i + 1 < n->len && n->data[i + 1] == '@'))
        {
            return 0;
        }
    }

    return 1;
}


int
nd_naming_http_ref(nd_http_request_t *r, nd_naming_ref_t *ref, nd_int_t *rc)
{
    u_char    *sep, *p;
    nd_str_t   sn;

    if (nd_naming_arg(r, "namespaceId", &ref->ns) != ND_OK) {
        nd_str_set(&ref->ns, ND_NAMING_DEFAULT_NS);
    }

    if (!nd_naming_ns_ok(&ref->ns)) {
        *rc = nd_naming_fail(r, 400, 20002, "Param 'namespaceId/tenant' is "
                             "illegal, illegal characters should not appear "
                             "in the param.");
        return ND_ERROR;
    }

    if (nd_naming_arg(r, "serviceName", &sn) != ND_OK) {
        *rc = nd_naming_required(r, "serviceName");
        return ND_ERROR;
    }

    if (sn.len > 512) {
        *rc = nd_naming_fail(r, 400, 21000, "Param 'serviceName' is "
                             "illegal, the param length should not exceed "
                             "512.");
        return ND_ERROR;
    }

    sep = memmem(sn.data, sn.len, ND_NAMING_SPLITTER, 2);

    if (sep) {
        /* NamingUtils.checkServiceNameFormat on group@@name */
        ref->group.data = sn.data;
        ref->group.len = (size_t) (sep - sn.data);
        ref->name.data = sep + 2;
        ref->name.len = sn.len - ref->group.len - 2;

        if (ref->name.len == 0 || ref->group.len == 0) {
            /* "g@@" splits into one part, "@@s" has an empty group */
            *rc = nd_naming_fail(r, 400, 21000, ref->name.len == 0
                      ? "Param 'serviceName' is illegal, it should be "
                        "format as 'groupName@@serviceName'"
                      : "Param 'serviceName' is illegal, groupName can't "
                        "be empty");
            return ND_ERROR;
        }

        ref->grouped = sn;

    } else {
        if (nd_naming_arg(r, "groupName", &ref->group) != ND_OK) {
            nd_str_set(&ref->group, ND_NAMING_DEFAULT_GROUP);
        }
        ref->name = sn;

        ref->grouped.len = ref->group.len + 2 + sn.len;
        ref->grouped.data = nd_pnalloc(r->pool, ref->grouped.len);
        if (ref->grouped.data == NULL) {
            *rc = ND_ERROR;
            return ND_ERROR;
        }
        p = ref->grouped.data;
        p = (u_char *) memcpy(p, ref->group.data, ref->group.len)
            + ref->group.len;
        *p++ = '@';
        *p++ = '@';
        memcpy(p, sn.data, sn.len);
        ref->name.data = p;
    }

    if (!nd_naming_svc_name_ok(&ref->name)) {
        *rc = nd_naming_fail(r, 400, 21000, "Param 'serviceName' is illegal, "
                             "illegal characters should not appear in the "
                             "param.");
        return ND_ERROR;
    }

    if (ref->group.len > 128 || !nd_naming_group_ok(&ref->group)) {
        *rc = nd_naming_fail(r, 400, 21000, ref->group.len > 128
                  ? "Param 'group' is illegal, the param length should not "
                    "exceed 128."
                  : "Param 'group' is illegal, illegal characters should "
                    "not appear in the param.");
        return ND_ERROR;
    }

    return ND_OK;
}


/* the param-check filter on ip, port and cluster, then the cluster rule of
 * NamingUtils.checkInstanceIsLegal */
static int
nd_naming_http_addr(nd_http_request_t *r, int required, nd_str_t *ip,
    nd_uint_t *port, nd_str_t *cluster, nd_int_t *rc)
{
    size_t    i;
    nd_int_t  n;
    nd_str_t  v;

    if (nd_naming_arg(r, "ip", ip) != ND_OK) {
        if (required) {
            *rc = nd_naming_required(r, "ip");
            return ND_ERROR;
        }
        ip->len = 0;
        ip->data = (u_char *) "";
    }

    if (ip->len > 128) {
        *rc = nd_naming_fail(r, 400, 20002, "Param 'ip' is illegal, the "
                             "param length should not exceed 128.");
        return ND_ERROR;
    }

    for (i = 0; i < ip->len; i++) {
        if (isspace(ip->data[i]) || ip->data[i] < 0x20) {
            *rc = nd_naming_fail(r, 400, 20002, "Param 'ip' is illegal, "
                                 "illegal characters should not appear in "
                                 "the param.");
            return ND_ERROR;
        }
    }

    if (nd_naming_arg(r, "port", &v) != ND_OK) {
        if (required) {
            *rc = nd_naming_required(r, "port");
            return ND_ERROR;
        }
        *port = 0;

    } else {
        n = nd_atoi(v.data, v.len);
        if (n < 0 || n > 65535) {
            *rc = nd_naming_fail(r, 400, 20002, "Param 'port' is illegal, "
                                 "the value should be between 0 and "
                                 "65535.");
            return ND_ERROR;
        }
        *port = (nd_uint_t) n;
    }

    if (cluster == NULL) {
        return ND_OK;
    }

    if (nd_naming_arg(r, "clusterName", cluster) != ND_OK
        && nd_naming_arg(r, "cluster", cluster) != ND_OK)
    {
        nd_str_set(cluster, ND_NAMING_DEFAULT_CLUSTER);
    }

    if (cluster->len > 64) {
        *rc = nd_naming_fail(r, 400, 20002, "Param 'cluster' is illegal, the "
                             "param length should not exceed 64.");
        return ND_ERROR;
    }

    for (i = 0; i < cluster->len; i++) {
        if (!isalnum(cluster->data[i]) && cluster->data[i] != '-'
            && cluster->data[i] != '_')
        {
            *rc = nd_naming_fail(r, 400, 20002, "Param 'cluster' is illegal, "
                                 "illegal characters should not appear in "
                                 "the param.");
            return ND_ERROR;
        }
    }

    for (i = 0; i < cluster->len; i++) {
        if (cluster->data[i] == '_') {
            *rc = nd_naming_fail(r, 400, 21004, "Instance 'clusterName' "
                                 "should be characters with only "
                                 "0-9a-zA-Z-. (current: %.*s)",
                                 ND_STR_ARG(*cluster));
            return ND_ERROR;
        }
    }

    return ND_OK;
}


static int
nd_naming_http_metadata(nd_http_request_t *r, const char *name, json_t **out,
    nd_int_t *rc)
{
    nd_str_t  v;

    *out = NULL;

    if (nd_naming_arg(r, name, &v) != ND_OK) {
        return ND_OK;
    }

    if (v.len > 1024) {
        *rc = nd_naming_fail(r, 400, 20002, "Param 'Metadata' is illegal, "
                             "the param length should not exceed 1024.");
        return ND_ERROR;
    }

    *out = nd_naming_parse_metadata(&v);
    if (*out == NULL) {
        *rc = nd_naming_fail(r, 400, 21002, "metadata format incorrect:%.*s",
                             ND_STR_ARG(v));
        return ND_ERROR;
    }

    return ND_OK;
}


/* the heart beat rule of NamingUtils.checkInstanceIsLegal */
static int
nd_naming_check_beats(nd_http_request_t *r, json_t *meta, nd_int_t *rc)
{
    int64_t      interval, timeout, del;
    const char  *v;

    interval = ND_NAMING_BEAT_INTERVAL;
    timeout = ND_NAMING_BEAT_TIMEOUT;
    del = ND_NAMING_DELETE_TIMEOUT;

    if (meta) {
        if ((v = nd_json_get_str(meta, "preserved.heart.beat.interval", NULL)))
        {
            nd_atoi64((u_char *) v, strlen(v), &interval);
        }
        if ((v = nd_json_get_str(meta, "preserved.heart.beat.timeout", NULL)))
        {
            nd_atoi64((u_char *) v, strlen(v), &timeout);
        }
        if ((v = nd_json_get_str(meta, "preserved.ip.delete.timeout", NULL))) {
            nd_atoi64((u_char *) v, strlen(v), &del);
        }
    }

    if (timeout < interval || del < interval) {
        *rc = nd_naming_fail(r, 400, 21004, "Instance 'heart beat interval' "
                             "must less than 'heart beat timeout' and 'ip "
                             "delete timeout'.");
        return ND_ERROR;
    }

    return ND_OK;
}


/* HttpRequestInstanceBuilder */
static int
nd_naming_http_spec(nd_http_request_t *r, nd_naming_spec_t *spec,
    nd_int_t *rc)
{
    nd_str_t  v;

    memset(spec, 0, sizeof(nd_naming_spec_t));

    if (nd_naming_http_addr(r, 1, &spec->ip, &spec->port, &spec->cluster, rc)
        != ND_OK)
    {
        return ND_ERROR;
    }

    spec->weight = 1.0;
    if (nd_naming_arg(r, "weight", &v) == ND_OK) {
        if (nd_atod(v.data, v.len, &spec->weight) != ND_OK) {
            *rc = nd_naming_fail(r, 400, 21001, "For input string: \"%.*s\"",
                                 ND_STR_ARG(v));
            return ND_ERROR;
        }
        if (spec->weight > ND_NAMING_MAX_WEIGHT || spec->weight < 0.0
            || spec->weight != spec->weight)
        {
            *rc = nd_naming_fail(r, 400, 21001, "instance format invalid: "
                                 "The weights range from 0.0 to 10000.0");
            return ND_ERROR;
        }
    }

    spec->healthy = nd_naming_bool_arg(r, "healthy", 1);
    spec->ephemeral = nd_naming_bool_arg(r, "ephemeral", 1);

    if (nd_naming_arg(r, "enabled", &v) == ND_OK) {
        spec->enabled = nd_naming_bool(&v);
    } else {
        spec->enabled = nd_naming_bool_arg(r, "enable", 1);
    }

    if (nd_naming_http_metadata(r, "metadata", &spec->metadata, rc) != ND_OK)
    {
        return ND_ERROR;
    }

    if (nd_naming_check_beats(r, spec->metadata, rc) != ND_OK) {
        if (spec->metadata) {
            json_decref(spec->metadata);
            spec->metadata = NULL;
        }
        return ND_ERROR;
    }

    return ND_OK;
}


static nd_str_t
nd_naming_client_id(nd_http_request_t *r, const nd_str_t *ip, nd_uint_t port,
    int ephemeral)
{
    nd_str_t  id;

    id.data = nd_pnalloc(r->pool, ip->len + 16);
    id.len = 0;
    if (id.data) {
        id.len = (size_t) snprintf((char *) id.data, ip->len + 16,
                                   "%.*s:%u#%s", ND_STR_ARG(*ip),
                                   (unsigned) port,
                                   ephemeral ? "true" : "false");
    }

    return id;
}


/* register through an ip:port client: the v1 path and the beat path;
 * ND_DECLINED: an error was answered */
static nd_int_t
nd_naming_do_register(nd_http_request_t *r, nd_naming_ref_t *ref,
    nd_naming_spec_t *spec, nd_naming_instance_t **out)
{
    char      err[768];
    nd_int_t  rc;

    rc = nd_naming_register_ipport(nd_naming_conf(nd_cycle), ref, spec, out,
                                   err, sizeof(err));
    if (rc == ND_DECLINED) {
        nd_naming_fail(r, 400, 21004, "%s", err);
    }

    return rc;
}


/* ---- persistent writes answered later ------------------------------------ */

static nd_int_t
nd_naming_http_answer(nd_naming_waiter_t *w, nd_uint_t status, nd_int_t code,
    const char *msg, json_t *updated)
{
    nd_http_request_t  *r;

    r = w->req;

    if (status) {
        return nd_naming_fail(r, status, code, "%s", msg);
    }

    if (updated) {
        return nd_naming_send_json(r, json_pack("{s:O}", "updated", updated));
    }

    return nd_naming_ok(r);
}


static void
nd_naming_http_abort(nd_http_request_t *r)
{
    nd_naming_persist_abort(r->ctx);
}


static void
nd_naming_http_wait(nd_naming_waiter_t *w, void *ctx)
{
    nd_http_request_t  *r;

    r = w->req;
    r->ctx = ctx;
    r->abort_handler = ctx ? nd_naming_http_abort : NULL;
}


static const nd_naming_waiter_t *
nd_naming_http_waiter(nd_http_request_t *r, nd_naming_waiter_t *w)
{
    w->answer = nd_naming_http_answer;
    w->wait = nd_naming_http_wait;
    w->req = r;
    w->data = NULL;

    return w;
}


/* ---- instances ----------------------------------------------------------- */

static nd_int_t
nd_naming_instance_register(nd_http_request_t *r)
{
    nd_int_t            rc;
    nd_naming_ref_t     ref;
    nd_naming_spec_t    spec;
    nd_naming_waiter_t  w;

    if (nd_naming_http_ref(r, &ref, &rc) != ND_OK
        || nd_naming_http_spec(r, &spec, &rc) != ND_OK)
    {
        return rc;
    }

    /* persistent: answered once the store has it */
    rc = nd_naming_persist_register(nd_naming_http_waiter(r, &w), &ref,
                                     &spec);
    if (rc != ND_DECLINED) {
        if (spec.metadata) {
            json_decref(spec.metadata);
        }
        return rc;
    }

    rc = nd_naming_do_register(r, &ref, &spec, NULL);

    if (spec.metadata) {
        json_decref(spec.metadata);
    }

    if (rc == ND_DECLINED) {
        return ND_OK;
    }

    return rc == ND_OK ? nd_naming_ok(r) : rc;
}


static nd_int_t
nd_naming_instance_deregister(nd_http_request_t *r)
{
    int                  eph;
    nd_int_t             rc;
    nd_str_t             ip, cluster;
    nd_uint_t            port;
    nd_naming_ref_t      ref;
    nd_naming_waiter_t   w;

    if (nd_naming_http_ref(r, &ref, &rc) != ND_OK
        || nd_naming_http_addr(r, 1, &ip, &port, &cluster, &rc) != ND_OK)
    {
        return rc;
    }

    eph = nd_naming_bool_arg(r, "ephemeral", 1);

    if (!eph) {
        rc = nd_naming_persist_deregister(nd_naming_http_waiter(r, &w),
                                          &ref, &ip, port);
        if (rc != ND_DECLINED) {
            return rc;
        }
    }

    nd_naming_deregister_ipport(nd_naming_conf(nd_cycle), &ref, &ip, port,
                                eph);

    return nd_naming_ok(r);
}


static void
nd_naming_service_str(nd_naming_ref_t *ref, int eph, char *buf, size_t size)
{
    snprintf(buf, size, "Service{namespace='%.*s', group='%.*s', "
             "name='%.*s', ephemeral=%s, revision=0}", ND_STR_ARG(ref->ns),
             ND_STR_ARG(ref->group), ND_STR_ARG(ref->name),
             eph ? "true" : "false");
}


static nd_int_t
nd_naming_instance_update(nd_http_request_t *r)
{
    char                   sstr[1200];
    nd_int_t               rc;
    nd_str_t               w;
    nd_naming_ref_t        ref;
    nd_naming_spec_t       spec;
    nd_naming_change_t     ch;
    nd_naming_conf_t      *nf;
    nd_naming_service_t   *s;
    nd_naming_instance_t  *inst;
    nd_naming_waiter_t     pw;

    if (nd_naming_http_ref(r, &ref, &rc) != ND_OK
        || nd_naming_http_spec(r, &spec, &rc) != ND_OK)
    {
        return rc;
    }

    nf = nd_naming_conf(nd_cycle);
    s = nd_naming_service_find(nf, &ref.ns, &ref.grouped);

    if (s == NULL) {
        if (spec.metadata) {
            json_decref(spec.metadata);
        }
        nd_naming_service_str(&ref, spec.ephemeral, sstr, sizeof(sstr));
        return nd_naming_fail(r, 400, 21004, "service not found, namespace: "
                              "%.*s, service: %s", ND_STR_ARG(ref.ns), sstr);
    }

    inst = nd_naming_instance_find(s, &spec.ip, spec.port, &spec.cluster);

    /* the instance-metadata overlay: PATCH changes only what it has */
    memset(&ch, 0, sizeof(nd_naming_change_t));
    ch.weight = spec.weight;
    ch.weight_set = r->method != ND_HTTP_PATCH
                    || nd_naming_arg(r, "weight", &w) == ND_OK;
    ch.enabled = spec.enabled;
    ch.enabled_set = r->method != ND_HTTP_PATCH
                     || nd_naming_arg(r, "enabled", &w) == ND_OK
                     || nd_naming_arg(r, "enable", &w) == ND_OK;
    ch.healthy = spec.healthy;
    ch.healthy_set = r->method == ND_HTTP_PATCH
                     && nd_naming_arg(r, "healthy", &w) == ND_OK;
    ch.meta = spec.metadata;

    if (inst && !inst->ephemeral) {
        rc = nd_naming_persist_update(nd_naming_http_waiter(r, &pw), &ref,
                                      &spec.ip, spec.port, &spec.cluster,
                                      &ch);
        if (rc != ND_DECLINED) {
            if (spec.metadata) {
                json_decref(spec.metadata);
            }
            return rc;
        }
    }

    if (inst) {
        if (inst->ephemeral) {
            ch.healthy_set = 0;     /* beats decide */
        }
        nd_naming_instance_change(nf, inst, &ch);
        nd_naming_service_changed(nf, s);
        nd_naming_client_changed(nf, inst->client);
    }

    if (spec.metadata) {
        json_decref(spec.metadata);
    }

    return nd_naming_ok(r);
}


static nd_int_t
nd_naming_instance_detail(nd_http_request_t *r)
{
    json_t                *j;
    nd_int_t               rc;
    nd_str_t               ip, cluster, id;
    nd_uint_t              port;
    nd_naming_ref_t        ref;
    nd_naming_conf_t      *nf;
    nd_naming_service_t   *s;
    nd_naming_instance_t  *inst;

    if (nd_naming_http_ref(r, &ref, &rc) != ND_OK
        || nd_naming_http_addr(r, 1, &ip, &port, &cluster, &rc) != ND_OK)
    {
        return rc;
    }

    nf = nd_naming_conf(nd_cycle);
    s = nd_naming_service_find(nf, &ref.ns, &ref.grouped);

    if (s == NULL || s->ninstances == 0) {
        return nd_naming_fail(r, 404, 20004, "no ips found for cluster %.*s "
                              "in service %.*s", ND_STR_ARG(cluster),
                              ND_STR_ARG(ref.grouped));
    }

    inst = nd_naming_instance_find(s, &ip, port, &cluster);
    if (inst == NULL) {
        return nd_naming_fail(r, 404, 20004, "no matched ip found!");
    }

    id = nd_naming_instance_id(r->pool, inst);

    j = json_pack("{s:s%, s:s, s:i, s:s, s:f, s:b, s:s%, s:o}",
                  nd_naming_is_v2(r) ? "serviceName" : "service",
                  s->grouped, (size_t) s->grouped_len,
                  "ip", inst->ip, "port", (int) inst->port,
                  "clusterName", inst->cluster->name,
                  "weight", inst->weight, "healthy", (int) inst->healthy,
                  "instanceId", (char *) id.data, id.len,
                  "metadata", nd_naming_meta_json(inst->metadata));

    return nd_naming_send_json(r, j);
}


static nd_int_t
nd_naming_instance_list(nd_http_request_t *r)
{
    int                   healthy_only;
    size_t                pos;
    nd_int_t              rc, udp_port;
    nd_str_t              clusters, v, cid, client_ip, *ua;
    nd_shared_t          *body;
    nd_naming_ref_t       ref;
    nd_naming_sub_t      *sub;
    nd_naming_conf_t     *nf;
    nd_naming_cache_t    *ca;
    nd_naming_client_t   *c;
    nd_naming_service_t  *s;
    struct in_addr        in;

    if (nd_naming_http_ref(r, &ref, &rc) != ND_OK) {
        return rc;
    }

    nf = nd_naming_conf(nd_cycle);

    if (nd_naming_arg(r, "clusters", &clusters) != ND_OK
        && (!nd_naming_is_v2(r)
            || nd_naming_arg(r, "clusterName", &clusters) != ND_OK))
    {
        clusters.len = 0;
        clusters.data = (u_char *) "";
    }

    healthy_only = nd_naming_bool_arg(r, "healthyOnly", 0);

    udp_port = 0;
    if (nd_naming_arg(r, "udpPort", &v) == ND_OK) {
        udp_port = nd_atoi(v.data, v.len);
        if (udp_port < 0 || udp_port > 65535) {
            return nd_naming_fail(r, 400, 20002, "For input string: \"%.*s\"",
                                  ND_STR_ARG(v));
        }
    }

    s = nd_naming_service_find(nf, &ref.ns, &ref.grouped);

    /* a 1.x subscriber: renewed by every poll, pushed to by UDP */
    if (udp_port > 0 && nf->udp) {
        if (nd_naming_arg(r, "clientIP", &client_ip) != ND_OK) {
            client_ip.data = (u_char *) r->c->addr.host;
            client_ip.len = strlen(r->c->addr.host);
        }

        if (s == NULL) {
            s = nd_naming_service_get(nf, &ref.ns, &ref.grouped, 1, NULL);
        }

        cid = nd_naming_client_id(r, &client_ip, (nd_uint_t) udp_port, 1);
        c = s ? nd_naming_client_get(nf, ND_NAMING_CLIENT_IPPORT, &cid, 1)
              : NULL;
        sub = c ? nd_naming_subscribe(nf, c, s, &clusters) : NULL;

        if (sub) {
            if (sub->agent == NULL) {
                ua = nd_http_header_in(r, "User-Agent");
                sub->agent = ua ? strndup((char *) ua->data, ua->len)
                                : strdup("");
                if (nd_naming_arg(r, "app", &v) != ND_OK) {
                    nd_str_set(&v, "unknown");
                }
                sub->app = strndup((char *) v.data, v.len);
            }

            memset(&sub->addr, 0, sizeof(sub->addr));
            {
                char  ipz[64];

                snprintf(ipz, sizeof(ipz), "%.*s", ND_STR_ARG(client_ip));
                if (inet_pton(AF_INET, ipz, &in) == 1) {
                    sub->addr.sin_family = AF_INET;
                    sub->addr.sin_addr = in;
                    sub->addr.sin_port = htons((uint16_t) udp_port);
                }
            }

            if (nd_queue_linked(&sub->expire_link)) {
                nd_queue_remove(&sub->expire_link);
            }
            nd_queue_insert_tail(&nf->sub_expire, &sub->expire_link);
        }
    }

    if (s == NULL) {
        body = nd_naming_info_empty(&ref.grouped, &clusters, nf->cache_millis,
                                    &pos);
        if (body == NULL) {
            return ND_ERROR;
        }
        rc = nd_naming_send_info(r, body, pos);
        nd_shared_release(body);
        return rc;
    }

    ca = nd_naming_info_get(nf, s, &clusters, healthy_only, 1);
    if (ca == NULL) {
        return ND_ERROR;
    }

    return nd_naming_send_info(r, ca->body, ca->ref_time_pos);
}


static nd_int_t
nd_naming_beat_answer(nd_http_request_t *r, nd_int_t code,
    nd_naming_instance_t *inst)
{
    char               buf[128];
    nd_msec_t          interval;
    nd_naming_conf_t  *nf;

    nf = nd_naming_conf(nd_cycle);

    interval = nf->client_beat_interval;
    if (inst && inst->interval_set) {
        interval = inst->beat_interval;
    }

    /* never enveloped, not even on v2 */
    return nd_http_send(r, 200, "application/json;charset=UTF-8", buf,
                        (size_t) snprintf(buf, sizeof(buf),
                                          "{\"clientBeatInterval\":%" PRIu64
                                          ",\"code\":%d,\"lightBeatEnabled\":"
                                          "%s}", (uint64_t) interval,
                                          (int) code, nf->light_beat_off
                                          ? "false" : "true"));
}


static nd_int_t
nd_naming_instance_beat_h(nd_http_request_t *r)
{
    json_t                *beat, *m;
    nd_int_t               rc;
    nd_str_t               ip, cluster, v, cid;
    nd_uint_t              port;
    const char            *s_val;
    nd_naming_ref_t        ref;
    nd_naming_spec_t       spec;
    nd_naming_conf_t      *nf;
    nd_naming_client_t    *c;
    nd_naming_service_t   *s;
    nd_naming_instance_t  *inst;

    beat = NULL;
    if (nd_naming_arg(r, "beat", &v) == ND_OK) {
        beat = json_loadb((char *) v.data, v.len, 0, NULL);
        if (beat == NULL || !json_is_object(beat)) {
            if (beat) {
                json_decref(beat);
            }
            return nd_naming_fail(r, 400, 20002, "beat format incorrect:%.*s",
                                  ND_STR_ARG(v));
        }
    }

    if (nd_naming_http_ref(r, &ref, &rc) != ND_OK
        || nd_naming_http_addr(r, 0, &ip, &port, &cluster, &rc) != ND_OK)
    {
        goto done;
    }

    if (beat) {
        s_val = nd_json_get_str(beat, "cluster", NULL);
        if (s_val && *s_val) {
            cluster.data = (u_char *) s_val;
            cluster.len = strlen(s_val);
        }
        s_val = nd_json_get_str(beat, "ip", "");
        ip.data = (u_char *) s_val;
        ip.len = strlen(s_val);
        port = (nd_uint_t) nd_json_get_int(beat, "port", 0) & 0xffff;
    }

    nf = nd_naming_conf(nd_cycle);
    cid = nd_naming_client_id(r, &ip, port, 1);
    c = nd_naming_client_find(nf, &cid);
    s = nd_naming_service_find(nf, &ref.ns, &ref.grouped);
    inst = (c && s) ? nd_naming_client_instance(c, s) : NULL;

    if (inst == NULL) {
        if (beat == NULL) {
            rc = nd_naming_beat_answer(r, 20404, NULL);
            goto done;
        }

        /* BeatInfoInstanceBuilder: re-register from the beat */
        memset(&spec, 0, sizeof(spec));
        spec.ip = ip;
        spec.port = port;
        spec.cluster = cluster;
        spec.weight = nd_json_get_real(beat, "weight", 1.0);
        if (spec.weight < 0 || spec.weight > ND_NAMING_MAX_WEIGHT) {
            spec.weight = 1.0;
        }
        spec.healthy = 1;
        spec.enabled = 1;
        spec.ephemeral = 1;
        m = json_object_get(beat, "metadata");
        spec.metadata = json_is_object(m) ? m : NULL;

        if (nd_naming_check_beats(r, spec.metadata, &rc) != ND_OK) {
            goto done;
        }

        rc = nd_naming_do_register(r, &ref, &spec, &inst);
        if (rc != ND_OK) {
            if (rc == ND_DECLINED) {
                rc = ND_OK;
            }
            goto done;
        }
    }

    if (inst->port == port && inst->ip_len == ip.len
        && memcmp(inst->ip, ip.data, ip.len) == 0)
    {
        nd_naming_instance_beat(nf, inst);
    }

    rc = nd_naming_beat_answer(r, 10200, inst);

done:

    if (beat) {
        json_decref(beat);
    }

    return rc;
}


static nd_int_t
nd_naming_instance_metadata_batch(nd_http_request_t *r)
{
    int                    all;
    char                   buf[512];
    size_t                 i;
    json_t                *meta, *list, *updated, *e, *res;
    nd_int_t               rc;
    nd_str_t               v, ip, cl;
    nd_uint_t              npersist;
    nd_queue_t            *q, *iq;
    nd_naming_ref_t        ref;
    nd_naming_change_t     ch;
    nd_naming_conf_t      *nf;
    nd_naming_cluster_t   *cluster;
    nd_naming_service_t   *s;
    nd_naming_instance_t  *inst, **persist;
    nd_naming_waiter_t     w;

    if (nd_naming_http_ref(r, &ref, &rc) != ND_OK) {
        return rc;
    }

    if (nd_naming_arg(r, "metadata", &v) != ND_OK) {
        return nd_naming_required(r, "metadata");
    }

    if (nd_naming_http_metadata(r, "metadata", &meta, &rc) != ND_OK) {
        return rc;
    }

    list = NULL;
    if (nd_naming_arg(r, "instances", &v) == ND_OK) {
        list = json_loadb((char *) v.data, v.len, 0, NULL);
        if (!json_is_array(list)) {
            if (list) {
                json_decref(list);
            }
            json_decref(meta);
            return nd_naming_fail(r, 400, 20002, "instances format "
                                  "incorrect:%.*s", ND_STR_ARG(v));
        }
    }

    nf = nd_naming_conf(nd_cycle);
    memset(&ch, 0, sizeof(nd_naming_change_t));
    ch.meta = meta;
    ch.meta_del = r->method == ND_HTTP_DELETE;
    all = list == NULL || json_array_size(list) == 0;
    updated = json_array();
    s = nd_naming_service_find(nf, &ref.ns, &ref.grouped);
    persist = NULL;
    npersist = 0;

    if (s) {
        persist = nd_palloc(r->pool, (s->ninstances ? s->ninstances : 1)
                                     * sizeof(nd_naming_instance_t *));
        if (persist == NULL) {
            json_decref(meta);
            json_decref(updated);
            if (list) {
                json_decref(list);
            }
            return ND_ERROR;
        }

        for (q = nd_queue_head(&s->clusters);
             q != nd_queue_sentinel(&s->clusters); q = nd_queue_next(q))
        {
            cluster = nd_queue_data(q, nd_naming_cluster_t, link);

            for (iq = nd_queue_head(&cluster->instances);
                 iq != nd_queue_sentinel(&cluster->instances);
                 iq = nd_queue_next(iq))
            {
                inst = nd_queue_data(iq, nd_naming_instance_t, cluster_link);

                if (!all) {
                    json_array_foreach(list, i, e) {
                        ip.data = (u_char *) nd_json_get_str(e, "ip", "");
                        ip.len = strlen((char *) ip.data);
                        cl.data = (u_char *) nd_json_get_str(e,
                                      "clusterName", ND_NAMING_DEFAULT_CLUSTER);
                        cl.len = strlen((char *) cl.data);
                        if (ip.len == inst->ip_len
                            && memcmp(ip.data, inst->ip, ip.len) == 0
                            && nd_json_get_int(e, "port", -1) == inst->port
                            && cl.len == cluster->name_len
                            && memcmp(cl.data, cluster->name, cl.len) == 0)
                        {
                            break;
                        }
                    }
                    if (i == json_array_size(list)) {
                        continue;
                    }
                }

                if (!inst->ephemeral) {
                    persist[npersist++] = inst;
                    continue;
                }

                nd_naming_instance_change(nf, inst, &ch);
                snprintf(buf, sizeof(buf), "%s:%u:unknown:%s:ephemeral",
                         inst->ip, (unsigned) inst->port, cluster->name);
                json_array_append_new(updated, json_string(buf));
            }
        }

        if (json_array_size(updated)) {
            nd_naming_service_changed(nf, s);
        }
    }

    if (list) {
        json_decref(list);
    }

    /* persistent ones: listed once the store has them */
    rc = nd_naming_persist_batch(nd_naming_http_waiter(r, &w), s, persist,
                                 npersist, &ch, updated);
    if (rc != ND_DECLINED) {
        json_decref(meta);
        json_decref(updated);
        return rc;
    }

    for (i = 0; i < npersist; i++) {
        inst = persist[i];
        nd_naming_instance_change(nf, inst, &ch);
        snprintf(buf, sizeof(buf), "%s:%u:unknown:%s:persist", inst->ip,
                 (unsigned) inst->port, inst->cluster->name);
        json_array_append_new(updated, json_string(buf));
    }

    if (npersist) {
        nd_naming_service_changed(nf, s);
    }

    json_decref(meta);

    res = json_pack("{s:o}", "updated", updated);
    return nd_naming_send_json(r, res);
}


static nd_int_t
nd_naming_instance_statuses(nd_http_request_t *r)
{
    char                   buf[320];
    u_char                *sep;
    json_t                *ips;
    nd_str_t               key, ns, grouped;
    nd_queue_t            *q, *iq;
    nd_naming_conf_t      *nf;
    nd_naming_cluster_t   *cl;
    nd_naming_service_t   *s;
    nd_naming_instance_t  *inst;

    if (nd_naming_arg(r, "key", &key) != ND_OK) {
        return nd_naming_fail(r, 400, 10000, "Parameter 'key' is missing");
    }

    sep = memmem(key.data, key.len, "##", 2);
    if (sep) {
        ns.data = key.data;
        ns.len = (size_t) (sep - key.data);
        grouped.data = sep + 2;
        grouped.len = key.len - ns.len - 2;
    } else {
        nd_str_set(&ns, ND_NAMING_DEFAULT_NS);
        grouped = key;
    }

    nf = nd_naming_conf(nd_cycle);
    s = nd_naming_service_find(nf, &ns, &grouped);
    ips = json_array();

    for (q = s ? nd_queue_head(&s->clusters) : NULL;
         s && q != nd_queue_sentinel(&s->clusters); q = nd_queue_next(q))
    {
        cl = nd_queue_data(q, nd_naming_cluster_t, link);
        for (iq = nd_queue_head(&cl->instances);
             iq != nd_queue_sentinel(&cl->instances); iq = nd_queue_next(iq))
        {
            inst = nd_queue_data(iq, nd_naming_instance_t, cluster_link);
            snprintf(buf, sizeof(buf), "%s:%u_%s", inst->ip,
                     (unsigned) inst->port, inst->healthy ? "true" : "false");
            json_array_append_new(ips, json_string(buf));
        }
    }

    return nd_naming_send_json(r, json_pack("{s:o}", "ips", ips));
}


/* ---- services -------------------------------------------------------------- */

static int
nd_naming_float_arg(nd_http_request_t *r, const char *name, float *out,
    nd_int_t *rc)
{
    double    d;
    nd_str_t  v;

    if (nd_naming_arg(r, name, &v) != ND_OK) {
        return ND_DECLINED;
    }

    if (nd_atod(v.data, v.len, &d) != ND_OK) {
        *rc = nd_naming_fail(r, 400, 20002, "For input string: \"%.*s\"",
                             ND_STR_ARG(v));
        return ND_ERROR;
    }

    *out = (float) d;
    return ND_OK;
}


/* ServiceController.parseSelector: none or label */
static int
nd_naming_selector_arg(nd_http_request_t *r, char **out, nd_int_t *rc)
{
    json_t      *j, *sel;
    nd_str_t     v;
    const char  *type, *expr;

    *out = NULL;

    if (nd_naming_arg(r, "selector", &v) != ND_OK) {
        return ND_OK;
    }

    j = json_loadb((char *) v.data, v.len, 0, NULL);
    type = j ? nd_json_get_str(j, "type", NULL) : NULL;

    if (type == NULL || (strcmp(type, "none") && strcmp(type, "label"))) {
        if (j) {
            json_decref(j);
        }
        *rc = nd_naming_fail(r, 400, 21006, "not match any type of "
                             "selector!");
        return ND_ERROR;
    }

    if (strcmp(type, "label") == 0) {
        expr = nd_json_get_str(j, "expression", "");
        sel = json_pack("{s:s, s:s}", "type", "label", "expression", expr);
        *out = json_dumps(sel, JSON_COMPACT);
        json_decref(sel);
    }

    json_decref(j);
    return ND_OK;
}


static nd_int_t
nd_naming_service_create(nd_http_request_t *r)
{
    int                   created, eph;
    char                 *selector;
    float                 threshold;
    json_t               *meta;
    nd_int_t              rc;
    nd_naming_ref_t       ref;
    nd_naming_conf_t     *nf;
    nd_naming_service_t  *s;

    if (nd_naming_http_ref(r, &ref, &rc) != ND_OK) {
        return rc;
    }

    threshold = 0.0f;
    if (nd_naming_float_arg(r, "protectThreshold", &threshold, &rc)
        == ND_ERROR)
    {
        return rc;
    }

    if (nd_naming_http_metadata(r, "metadata", &meta, &rc) != ND_OK) {
        return rc;
    }

    if (nd_naming_selector_arg(r, &selector, &rc) != ND_OK) {
        if (meta) {
            json_decref(meta);
        }
        return rc;
    }

    nf = nd_naming_conf(nd_cycle);

    /* v1 creates persistent services; v2 takes an ephemeral param */
    eph = nd_naming_is_v2(r) ? nd_naming_bool_arg(r, "ephemeral", 0) : 0;

    s = nd_naming_service_find(nf, &ref.ns, &ref.grouped);
    if (s) {
        if (meta) {
            json_decref(meta);
        }
        nd_free(selector);
        return nd_naming_fail(r, 400, 21007, "specified service %.*s "
                              "already exists!", ND_STR_ARG(ref.grouped));
    }

    s = nd_naming_service_get(nf, &ref.ns, &ref.grouped, eph, &created);
    if (s == NULL) {
        if (meta) {
            json_decref(meta);
        }
        nd_free(selector);
        return ND_ERROR;
    }

    s->protect_threshold = threshold;
    s->metadata = nd_naming_dump_metadata(meta);
    s->selector = selector;
    s->has_metadata = 1;

    if (meta) {
        json_decref(meta);
    }

    nd_naming_service_changed(nf, s);

    return nd_naming_ok(r);
}


static nd_int_t
nd_naming_service_delete(nd_http_request_t *r)
{
    nd_int_t              rc;
    nd_naming_ref_t       ref;
    nd_naming_conf_t     *nf;
    nd_naming_service_t  *s;

    if (nd_naming_http_ref(r, &ref, &rc) != ND_OK) {
        return rc;
    }

    nf = nd_naming_conf(nd_cycle);
    s = nd_naming_service_find(nf, &ref.ns, &ref.grouped);

    if (s == NULL) {
        return nd_naming_fail(r, 400, 21008, "service %.*s not found!",
                              ND_STR_ARG(ref.grouped));
    }

    if (s->ninstances) {
        return nd_naming_fail(r, 400, 21009, "Service %.*s is not empty, "
                              "can't be delete. Please unregister instance "
                              "first", ND_STR_ARG(ref.grouped));
    }

    nd_naming_service_changed(nf, s);
    nd_naming_service_remove(nf, s);

    return nd_naming_ok(r);
}


static nd_int_t
nd_naming_service_update(nd_http_request_t *r)
{
    int                   rv;
    char                 *selector;
    float                 threshold;
    json_t               *meta;
    nd_int_t              rc;
    nd_naming_ref_t       ref;
    nd_naming_conf_t     *nf;
    nd_naming_service_t  *s;

    if (nd_naming_http_ref(r, &ref, &rc) != ND_OK) {
        return rc;
    }

    threshold = 0.0f;
    rv = nd_naming_float_arg(r, "protectThreshold", &threshold, &rc);
    if (rv == ND_ERROR) {
        return rc;
    }
    if (rv == ND_DECLINED && !nd_naming_is_v2(r)) {
        return nd_naming_required(r, "protectThreshold");
    }

    if (nd_naming_http_metadata(r, "metadata", &meta, &rc) != ND_OK) {
        return rc;
    }

    if (nd_naming_selector_arg(r, &selector, &rc) != ND_OK) {
        if (meta) {
            json_decref(meta);
        }
        return rc;
    }

    nf = nd_naming_conf(nd_cycle);
    s = nd_naming_service_find(nf, &ref.ns, &ref.grouped);

    if (s == NULL) {
        if (meta) {
            json_decref(meta);
        }
        nd_free(selector);
        return nd_naming_fail(r, 400, 21008, "service %.*s not found!",
                              ND_STR_ARG(ref.grouped));
    }

    s->protect_threshold = threshold;
    nd_free(s->metadata);
    s->metadata = nd_naming_dump_metadata(meta);
    nd_free(s->selector);
    s->selector = selector;
    s->has_metadata = 1;

    if (meta) {
        json_decref(meta);
    }

    nd_naming_service_changed(nf, s);

    return nd_naming_ok(r);
}


static json_t *
nd_naming_float_json(float f)
{
    int     prec;
    char    buf[32];
    double  d;

    /* Float.toString: the shortest text that reads back as the float */
    for (prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, (double) f);
        if ((float) strtod(buf, NULL) == f) {
            break;
        }
    }

    d = strtod(buf, NULL);
    return json_real(d);
}


static json_t *
nd_naming_selector_json(nd_naming_service_t *s)
{
    json_t  *j;

    if (s->selector && (j = json_loads(s->selector, 0, NULL))) {
        return j;
    }

    return json_pack("{s:s}", "type", "none");
}


static json_t *
nd_naming_checker_json(nd_naming_cluster_t *cl)
{
    json_t  *j;

    if (cl->health_checker && (j = json_loads(cl->health_checker, 0, NULL))) {
        return j;
    }

    return json_pack("{s:s}", "type", "TCP");
}


static nd_int_t
nd_naming_service_detail(nd_http_request_t *r)
{
    json_t               *j, *clusters, *cj;
    nd_int_t              rc;
    nd_queue_t           *q;
    nd_naming_ref_t       ref;
    nd_naming_conf_t     *nf;
    nd_naming_cluster_t  *cl;
    nd_naming_service_t  *s;

    if (nd_naming_http_ref(r, &ref, &rc) != ND_OK) {
        return rc;
    }

    nf = nd_naming_conf(nd_cycle);
    s = nd_naming_service_find(nf, &ref.ns, &ref.grouped);

    if (s == NULL) {
        return nd_naming_fail(r, 400, 21008, "service not found, namespace: "
                              "%.*s, serviceName: %.*s", ND_STR_ARG(ref.ns),
                              ND_STR_ARG(nd_naming_is_v2(r) ? ref.name
                                                            : ref.grouped));
    }

    if (nd_naming_is_v2(r)) {
        /* ServiceDetailInfo */
        clusters = json_object();
        for (q = nd_queue_head(&s->clusters);
             q != nd_queue_sentinel(&s->clusters); q = nd_queue_next(q))
        {
            cl = nd_queue_data(q, nd_naming_cluster_t, link);
            cj = json_pack("{s:s, s:o, s:o}", "clusterName", cl->name,
                           "healthChecker", nd_naming_checker_json(cl),
                           "metadata", nd_naming_meta_json(cl->metadata));
            json_object_set_new(clusters, cl->name, cj);
        }

        j = json_pack("{s:s, s:s%, s:s%, s:o, s:o, s:o, s:o, s:b}",
                      "namespace", s->ns->id,
                      "serviceName", nd_naming_service_name(s),
                      (size_t) nd_naming_service_name_len(s),
                      "groupName", s->grouped, (size_t) s->group_len,
                      "clusterMap", clusters,
                      "metadata", nd_naming_meta_json(s->metadata),
                      "protectThreshold",
                      nd_naming_float_json(s->protect_threshold),
                      "selector", nd_naming_selector_json(s),
                      "ephemeral", (int) s->ephemeral);
        return nd_naming_send_json(r, j);
    }

    clusters = json_array();
    for (q = nd_queue_head(&s->clusters); q != nd_queue_sentinel(&s->clusters);
         q = nd_queue_next(q))
    {
        cl = nd_queue_data(q, nd_naming_cluster_t, link);
        if (cl->ninstances == 0) {
            continue;           /* ServiceStorage.getClusters: live ones */
        }
        cj = json_pack("{s:s, s:o, s:o}", "name", cl->name,
                       "healthChecker", nd_naming_checker_json(cl),
                       "metadata", nd_naming_meta_json(cl->metadata));
        json_array_append_new(clusters, cj);
    }

    j = json_pack("{s:s, s:s%, s:s%, s:o, s:o, s:o, s:o}",
                  "namespaceId", s->ns->id,
                  "groupName", s->grouped, (size_t) s->group_len,
                  "name", nd_naming_service_name(s),
                  (size_t) nd_naming_service_name_len(s),
                  "protectThreshold", nd_naming_float_json(s->protect_threshold),
                  "metadata", nd_naming_meta_json(s->metadata),
                  "selector", nd_naming_selector_json(s),
                  "clusters", clusters);

    return nd_naming_send_json(r, j);
}


static int
nd_naming_name_cmp(const void *a, const void *b)
{
    const nd_naming_service_t  *x = *(nd_naming_service_t * const *) a;
    const nd_naming_service_t  *y = *(nd_naming_service_t * const *) b;
    int                         rc;

    rc = memcmp(x->grouped, y->grouped, nd_min(x->grouped_len,
                                               y->grouped_len));
    return rc ? rc : (int) x->grouped_len - (int) y->grouped_len;
}


/* the services of a namespace, sorted by grouped name, in the pool */
static nd_naming_service_t **
nd_naming_sorted_services(nd_http_request_t *r, nd_naming_ns_t *ns,
    nd_uint_t *n)
{
    nd_uint_t              i, k;
    nd_hash_elt_t         *e;
    nd_naming_service_t  **all;

    *n = 0;
    if (ns == NULL || ns->nservices == 0) {
        return NULL;
    }

    all = nd_palloc(r->pool, ns->nservices * sizeof(void *));
    if (all == NULL) {
        return NULL;
    }

    k = 0;
    for (e = nd_hash_first(&ns->services, &i); e && k < ns->nservices;
         e = nd_hash_next(&ns->services, e, &i))
    {
        all[k++] = e->value;
    }

    qsort(all, k, sizeof(void *), nd_naming_name_cmp);
    *n = k;

    return all;
}


static nd_int_t
nd_naming_service_list(nd_http_request_t *r)
{
    int                    v2, page_no, page_size;
    json_t                *doms;
    nd_int_t               start, i, count;
    nd_str_t               ns_id, group, v;
    nd_uint_t              n, k;
    nd_naming_ns_t        *ns;
    nd_naming_conf_t      *nf;
    nd_naming_service_t  **all, *s;

    v2 = nd_naming_is_v2(r);

    if (!v2 && nd_naming_arg(r, "pageNo", &v) != ND_OK) {
        return nd_naming_required(r, "pageNo");
    }
    if (!v2 && nd_naming_arg(r, "pageSize", &v) != ND_OK) {
        return nd_naming_required(r, "pageSize");
    }

    page_no = nd_naming_int_arg(r, "pageNo", 1);
    page_size = nd_naming_int_arg(r, "pageSize", 20);

    if (nd_naming_arg(r, "namespaceId", &ns_id) != ND_OK) {
        nd_str_set(&ns_id, ND_NAMING_DEFAULT_NS);
    }
    if (nd_naming_arg(r, "groupName", &group) != ND_OK) {
        nd_str_set(&group, ND_NAMING_DEFAULT_GROUP);
    }

    nf = nd_naming_conf(nd_cycle);
    ns = nd_naming_ns_find(nf, &ns_id);
    all = nd_naming_sorted_services(r, ns, &n);

    /* keep the group's services, then page the bare names */
    count = 0;
    for (k = 0; k < n; k++) {
        s = all[k];
        if (s->group_len == group.len
            && memcmp(s->grouped, group.data, group.len) == 0)
        {
            all[count++] = s;
        }
    }

    doms = json_array();
    start = (nd_int_t) (page_no - 1) * page_size;
    if (start < 0) {
        start = 0;
    }

    for (i = start; i < count && i < start + page_size; i++) {
        s = all[i];
        json_array_append_new(doms, json_stringn(nd_naming_service_name(s),
                                             nd_naming_service_name_len(s)));
    }

    return nd_naming_send_json(r, json_pack("{s:I, s:o}", "count",
                                            (json_int_t) count,
                                            v2 ? "services" : "doms", doms));
}


/*
 * ServiceController#searchService (2.5.1): the grouped names of which the
 * whole matches ".*" + expr + ".*" (String.matches, a Java regex; POSIX
 * ERE here), of namespaceId or of every namespace when blank.  The map
 * is answered under "services" (ref/nacos-wire.md, Nacos 2.0-2.2); Nacos
 * 2.3-2.5 write "META-INF/services" there, an apparent refactoring
 * accident that no SDK reads.
 */
static nd_int_t
nd_naming_service_names_of(nd_http_request_t *r, nd_naming_ns_t *ns,
    regex_t *re, json_t *map, const char *id, size_t id_len)
{
    char                 *name;
    json_t               *names;
    nd_uint_t             n, k;
    regmatch_t            m;
    nd_naming_service_t **all, *s;

    names = json_array();
    if (json_object_setn(map, id, id_len, names) != 0) {
        json_decref(names);
        return ND_DECLINED;             /* not UTF-8 */
    }
    json_decref(names);                 /* the map holds it */

    all = nd_naming_sorted_services(r, ns, &n);

    for (k = 0; k < n; k++) {
        s = all[k];

        if (re) {
            name = nd_pnalloc(r->pool, s->grouped_len + 1);
            if (name == NULL) {
                return ND_ERROR;
            }
            memcpy(name, s->grouped, s->grouped_len);
            name[s->grouped_len] = '\0';

            /* leftmost-longest: a whole match, if any, is the one found */
            if (regexec(re, name, 1, &m, 0) != 0 || m.rm_so != 0
                || m.rm_eo != (regoff_t) s->grouped_len)
            {
                continue;
            }
        }

        json_array_append_new(names, json_stringn(s->grouped,
                                                  s->grouped_len));
    }

    return ND_OK;
}


static nd_int_t
nd_naming_service_names(nd_http_request_t *r)
{
    int                rv;
    char              *p, err[256];
    json_t            *map, *v;
    regex_t            re;
    nd_int_t           rc;
    nd_str_t           ns_id, expr;
    nd_uint_t          i;
    json_int_t         count;
    const char        *key;
    nd_hash_elt_t     *e;
    nd_naming_ns_t    *ns;
    nd_naming_conf_t  *nf;

    if (nd_http_arg(r, "expr", &expr) != ND_OK) {
        expr.len = 0;
    }

    if (expr.len) {
        p = nd_pnalloc(r->pool, expr.len + 5);
        if (p == NULL) {
            return ND_ERROR;
        }
        memcpy(p, ".*", 2);
        memcpy(p + 2, expr.data, expr.len);
        memcpy(p + 2 + expr.len, ".*", 3);

        rv = regcomp(&re, p, REG_EXTENDED);
        if (rv != 0) {
            regerror(rv, &re, err, sizeof(err));
            return nd_naming_fail(r, 400, 400, "%s: %s", err, p);
        }
    }

    nf = nd_naming_conf(nd_cycle);
    map = json_object();
    rc = ND_OK;

    if (nd_naming_arg(r, "namespaceId", &ns_id) == ND_OK) {
        rc = nd_naming_service_names_of(r, nd_naming_ns_find(nf, &ns_id),
                                        expr.len ? &re : NULL, map,
                                        (char *) ns_id.data, ns_id.len);

    } else if (nf->namespaces.buckets) {
        for (e = nd_hash_first(&nf->namespaces, &i); e && rc == ND_OK;
             e = nd_hash_next(&nf->namespaces, e, &i))
        {
            ns = e->value;
            rc = nd_naming_service_names_of(r, ns, expr.len ? &re : NULL,
                                            map, ns->id, ns->id_len);
        }
    }

    if (expr.len) {
        regfree(&re);
    }

    if (rc != ND_OK) {
        json_decref(map);
        return rc == ND_DECLINED
               ? nd_naming_fail(r, 400, 400, "illegal namespaceId") : rc;
    }

    count = 0;
    json_object_foreach(map, key, v) {
        count += (json_int_t) json_array_size(v);
    }

    return nd_naming_send_json(r, json_pack("{s:o, s:I}", "services",
                                            map, "count", count));
}


json_t *
nd_naming_sub_json(nd_naming_sub_t *sub)
{
    char   addr[64], *colon;

    snprintf(addr, sizeof(addr), "%s", sub->client->id);
    colon = strrchr(addr, '#');
    if (colon) {
        *colon = '\0';
    }
    colon = strrchr(addr, ':');

    return json_pack("{s:s, s:s, s:s, s:s%, s:i, s:s, s:s%, s:s}",
                     "addrStr", addr,
                     "agent", sub->agent ? sub->agent : "",
                     "app", sub->app ? sub->app : "unknown",
                     "ip", addr, colon ? (size_t) (colon - addr)
                                       : strlen(addr),
                     "port", colon ? atoi(colon + 1) : 0,
                     "namespaceId", sub->service->ns->id,
                     "serviceName", sub->service->grouped,
                     (size_t) sub->service->grouped_len,
                     "cluster", sub->clusters);
}


static nd_int_t
nd_naming_service_subscribers(nd_http_request_t *r)
{
    int                   page_no, page_size;
    json_t               *subs;
    nd_int_t              rc, i, start;
    nd_queue_t           *q;
    nd_naming_ref_t       ref;
    nd_naming_conf_t     *nf;
    nd_naming_service_t  *s;

    if (nd_naming_http_ref(r, &ref, &rc) != ND_OK) {
        return rc;
    }

    page_no = nd_naming_int_arg(r, "pageNo", 1);
    page_size = nd_naming_int_arg(r, "pageSize", 1000);

    nf = nd_naming_conf(nd_cycle);
    s = nd_naming_service_find(nf, &ref.ns, &ref.grouped);
    subs = json_array();

    start = (nd_int_t) (page_no - 1) * page_size;
    if (start < 0) {
        start = 0;
    }

    i = 0;
    for (q = s ? nd_queue_head(&s->subs) : NULL;
         s && q != nd_queue_sentinel(&s->subs); q = nd_queue_next(q), i++)
    {
        if (i >= start && i < start + page_size) {
            json_array_append_new(subs, nd_naming_sub_json(
                nd_queue_data(q, nd_naming_sub_t, service_link)));
        }
    }

    return nd_naming_send_json(r, json_pack("{s:o, s:I}", "subscribers", subs,
                                            "count",
                                            (json_int_t) (s ? s->nsubs : 0)));
}


/* ---- health, cluster, operator ---------------------------------------------- */

static nd_int_t
nd_naming_health_instance(nd_http_request_t *r)
{
    json_t                *hc;
    nd_int_t               rc;
    nd_str_t               v, ip, cluster, cid;
    nd_uint_t              port;
    const char            *type;
    nd_naming_ref_t        ref;
    nd_naming_change_t     ch;
    nd_naming_conf_t      *nf;
    nd_naming_client_t    *c;
    nd_naming_cluster_t   *cl;
    nd_naming_service_t   *s;
    nd_naming_instance_t  *inst;
    nd_naming_waiter_t     w;

    if (nd_naming_arg(r, "healthy", &v) != ND_OK
        && nd_naming_arg(r, "valid", &v) != ND_OK)
    {
        return nd_naming_fail(r, 400, 21010, "Param 'healthy' is required.");
    }

    if (nd_naming_http_ref(r, &ref, &rc) != ND_OK
        || nd_naming_http_addr(r, 1, &ip, &port, &cluster, &rc) != ND_OK)
    {
        return rc;
    }

    nf = nd_naming_conf(nd_cycle);
    s = nd_naming_service_find(nf, &ref.ns, &ref.grouped);
    cl = s ? nd_naming_cluster_find(s, &cluster) : NULL;

    /* only a cluster whose health checker is NONE takes manual health */
    type = NULL;
    if (cl && s->has_metadata && cl->health_checker
        && (hc = json_loads(cl->health_checker, 0, NULL)))
    {
        type = nd_json_get_str(hc, "type", "") ;
        type = strcmp(type, "NONE") == 0 ? "NONE" : NULL;
        json_decref(hc);
    }

    if (type == NULL) {
        return nd_naming_fail(r, 400, 21011, "health check is still working, "
                              "service: %.*s, cluster: %.*s",
                              ND_STR_ARG(ref.grouped), ND_STR_ARG(cluster));
    }

    cid = nd_naming_client_id(r, &ip, port, 0);
    c = nd_naming_client_find(nf, &cid);
    inst = c ? nd_naming_client_instance(c, s) : NULL;

    if (inst) {
        memset(&ch, 0, sizeof(nd_naming_change_t));
        ch.healthy = nd_naming_bool(&v);
        ch.healthy_set = 1;

        rc = nd_naming_persist_update(nd_naming_http_waiter(r, &w), &ref,
                                      &ip, port, NULL, &ch);
        if (rc != ND_DECLINED) {
            return rc;
        }

        nd_naming_instance_set_healthy(nf, inst, ch.healthy);
    }

    return nd_naming_ok(r);
}


static nd_int_t
nd_naming_health_server(nd_http_request_t *r)
{
    return nd_naming_send_json(r, json_pack("{s:s}", "msg",
               "Hello! I am Nacos-Naming and healthy! total services: "
               "raft 0, local port:8848"));
}


static nd_int_t
nd_naming_cluster_update(nd_http_request_t *r)
{
    json_t               *meta, *hc;
    nd_int_t              rc;
    nd_str_t              v, cname;
    nd_naming_ref_t       ref;
    nd_naming_conf_t     *nf;
    nd_naming_cluster_t  *cl;
    nd_naming_service_t  *s;

    if (nd_naming_http_ref(r, &ref, &rc) != ND_OK) {
        return rc;
    }

    if (nd_naming_arg(r, "clusterName", &cname) != ND_OK) {
        return nd_naming_required(r, "clusterName");
    }

    if (nd_naming_arg(r, "healthChecker", &v) != ND_OK) {
        return nd_naming_required(r, "healthChecker");
    }

    hc = json_loadb((char *) v.data, v.len, 0, NULL);
    if (hc == NULL || nd_json_get_str(hc, "type", NULL) == NULL) {
        if (hc) {
            json_decref(hc);
        }
        return nd_naming_fail(r, 400, 20002, "healthChecker format "
                              "incorrect:%.*s", ND_STR_ARG(v));
    }

    if (nd_naming_http_metadata(r, "metadata", &meta, &rc) != ND_OK) {
        json_decref(hc);
        return rc;
    }

    nf = nd_naming_conf(nd_cycle);
    s = nd_naming_service_find(nf, &ref.ns, &ref.grouped);
    cl = s ? nd_naming_cluster_get(nf, s, &cname) : NULL;

    if (cl == NULL) {
        json_decref(hc);
        if (meta) {
            json_decref(meta);
        }
        return nd_naming_fail(r, 400, 21008, "service %.*s not found!",
                              ND_STR_ARG(ref.grouped));
    }

    nd_free(cl->health_checker);
    cl->health_checker = json_dumps(hc, JSON_COMPACT);
    nd_free(cl->metadata);
    cl->metadata = nd_naming_dump_metadata(meta);
    s->has_metadata = 1;

    json_decref(hc);
    if (meta) {
        json_decref(meta);
    }

    nd_naming_service_changed(nf, s);

    return nd_naming_ok(r);
}


static nd_int_t
nd_naming_operator_metrics(nd_http_request_t *r)
{
    json_t            *j;
    nd_naming_conf_t  *nf;

    nf = nd_naming_conf(nd_cycle);

    if (!nd_naming_is_v2(r) && nd_naming_bool_arg(r, "onlyStatus", 1)) {
        return nd_naming_send_json(r, json_pack("{s:s}", "status", "UP"));
    }

    j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
                  " s:f, s:f, s:f}",
                  "status", "UP",
                  "serviceCount", (json_int_t) nf->nservices,
                  "instanceCount", (json_int_t) nf->ninstances,
                  "subscribeCount", (json_int_t) nf->nsubs,
                  "responsibleInstanceCount", (json_int_t) nf->ninstances,
                  "clientCount", (json_int_t) nf->clients.nelts,
                  "connectionBasedClientCount",
                  (json_int_t) nf->nclients_conn,
                  "ephemeralIpPortClientCount",
                  (json_int_t) nf->nclients_ipport[1],
                  "persistentIpPortClientCount",
                  (json_int_t) nf->nclients_ipport[0],
                  "responsibleClientCount", (json_int_t) nf->clients.nelts,
                  "cpu", 0.0, "load", 0.0, "mem", 0.0);

    return nd_naming_send_json(r, j);
}


static nd_int_t
nd_naming_operator_switches(nd_http_request_t *r)
{
    json_t            *j;
    nd_naming_conf_t  *nf;

    nf = nd_naming_conf(nd_cycle);

    j = json_pack("{s:s, s:s, s:I, s:I, s:I, s:b, s:b, s:b, s:b, s:b,"
                  " s:i, s:I, s:b, s:b, s:b, s:b}",
                  "name", "00-00---000-NACOS_SWITCH_DOMAIN-000---00-00",
                  "defaultPushCacheMillis", "10000",
                  "clientBeatInterval", (json_int_t) nf->client_beat_interval,
                  "defaultCacheMillis", (json_int_t) 3000,
                  "serviceStatusSynchronizationPeriodMillis",
                  (json_int_t) 5000,
                  "healthCheckEnabled", 1, "autoChangeHealthCheckEnabled", 1,
                  "distroEnabled", 1, "enableStandalone", 1,
                  "pushEnabled", 1,
                  "checkTimes", 3,
                  "defaultInstanceHeartBeatTimeOut",
                  (json_int_t) nf->heartbeat_timeout,
                  "lightBeatEnabled", !nf->light_beat_off,
                  "defaultInstanceEphemeral", 1,
                  "expireInstance", 1,
                  "pushUdpEnabled", nf->udp != NULL);
    json_object_set_new(j, "defaultPushCacheMillis",
                        json_integer((json_int_t) nf->cache_millis));

    return nd_naming_send_json(r, j);
}


/* Java's Long.parseLong */
static int
nd_naming_parse_long(const nd_str_t *v, int64_t *out)
{
    size_t    i;
    int       neg;
    uint64_t  n, max;

    i = 0;
    neg = 0;
    if (v->len && (v->data[0] == '-' || v->data[0] == '+')) {
        neg = v->data[0] == '-';
        i = 1;
    }
    if (i == v->len) {
        return ND_ERROR;
    }

    max = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
    for (n = 0; i < v->len; i++) {
        if (v->data[i] < '0' || v->data[i] > '9'
            || n > (max - (uint64_t) (v->data[i] - '0')) / 10)
        {
            return ND_ERROR;
        }
        n = n * 10 + (uint64_t) (v->data[i] - '0');
    }

    *out = neg ? (int64_t) (0 - n) : (int64_t) n;
    return ND_OK;
}


/* commons-lang3 toBooleanObject == TRUE, as ConvertUtils.toBoolean */
static int
nd_naming_lang3_true(const nd_str_t *v)
{
    return nd_str_casecmp_lit(v, "true") == 0
           || nd_str_casecmp_lit(v, "on") == 0
           || nd_str_casecmp_lit(v, "yes") == 0
           || nd_str_casecmp_lit(v, "y") == 0
           || nd_str_casecmp_lit(v, "t") == 0;
}


/* drop every cached ServiceInfo: they carry cacheMillis */
static void
nd_naming_drop_all_caches(nd_naming_conf_t *nf)
{
    nd_uint_t       i, j;
    nd_hash_elt_t  *e, *se;
    nd_naming_ns_t *ns;

    if (nf->namespaces.buckets == NULL) {
        return;
    }

    for (e = nd_hash_first(&nf->namespaces, &i); e;
         e = nd_hash_next(&nf->namespaces, e, &i))
    {
        ns = e->value;
        for (se = nd_hash_first(&ns->services, &j); se;
             se = nd_hash_next(&ns->services, se, &j))
        {
            nd_naming_info_drop(se->value);
        }
    }
}


/*
 * OperatorController#updateSwitch -> SwitchManager.update (2.5.1): an
 * entry Nacos does not know changes nothing and answers "ok"; so do the
 * entries nacosd has no behaviour for.  Bad values are IllegalArgument
 * (400 text on v1; 500/30000 on v2, as OperatorControllerV2).
 */
static nd_int_t
nd_naming_operator_switch_update(nd_http_request_t *r)
{
    int                v2;
    int64_t            n;
    nd_str_t           entry, value;
    nd_naming_conf_t  *nf;

    v2 = nd_naming_is_v2(r);

    if (v2) {
        /* UpdateSwitchForm.validate: blank is missing */
        if (nd_naming_arg(r, "entry", &entry) != ND_OK) {
            return nd_naming_required(r, "entry");
        }
        if (nd_naming_arg(r, "value", &value) != ND_OK) {
            return nd_naming_required(r, "value");
        }

    } else {
        /* @RequestParam String: absent is missing, empty is a value */
        if (nd_http_arg(r, "entry", &entry) != ND_OK) {
            return nd_naming_fail(r, 400, 10000,
                                  "Parameter 'entry' is missing");
        }
        if (nd_http_arg(r, "value", &value) != ND_OK) {
            return nd_naming_fail(r, 400, 10000,
                                  "Parameter 'value' is missing");
        }
    }

    nf = nd_naming_conf(nd_cycle);

    if (nd_str_eq(&entry, "clientBeatInterval")
        || nd_str_eq(&entry, "pushCacheMillis"))
    {
        if (nd_naming_parse_long(&value, &n) != ND_OK) {
            return nd_naming_fail(r, v2 ? 500 : 400, 30000,
                                  "For input string: \"%.*s\"",
                                  ND_STR_ARG(value));
        }

        if (entry.data[0] == 'p') {
            if (n < 10000) {
                return nd_naming_fail(r, v2 ? 500 : 400, 30000,
                                      "min cache time for http or tcp is "
                                      "too small(<10000)");
            }
            nf->cache_millis = (nd_msec_t) n;
            nd_naming_drop_all_caches(nf);

        } else {
            /* Nacos takes any long; a beat interval must be positive */
            if (n <= 0) {
                return nd_naming_fail(r, v2 ? 500 : 400, 30000,
                                      "clientBeatInterval must be positive: "
                                      "%" PRId64, n);
            }
            nf->client_beat_interval = (nd_msec_t) n;
        }

    } else if (nd_str_eq(&entry, "lightBeatEnabled")) {
        nf->light_beat_off = !nd_naming_lang3_true(&value);
    }

    nd_log_error(ND_LOG_NOTICE, nd_cycle->log, 0,
                 "naming switch \"%.*s\" set to \"%.*s\"",
                 ND_STR_ARG(entry), ND_STR_ARG(value));

    return nd_naming_ok(r);
}


static nd_int_t
nd_naming_push_state(nd_http_request_t *r)
{
    uint64_t           ok;
    nd_naming_conf_t  *nf;

    nf = nd_naming_conf(nd_cycle);
    ok = nf->push_total - nf->push_failed;

    return nd_naming_send_json(r, json_pack("{s:I, s:I, s:f, s:b}",
               "succeed", (json_int_t) ok, "total",
               (json_int_t) nf->push_total, "ratio",
               nf->push_total ? (double) ok / (double) nf->push_total : 0.0,
               "reset", 0));
}


/* ---- catalog ------------------------------------------------------------------ */

static nd_int_t
nd_naming_catalog_services(nd_http_request_t *r)
{
    int                    page_no, page_size, has_ip;
    json_t                *list;
    nd_int_t               i, count, start;
    nd_str_t               ns_id, sname, gname;
    nd_uint_t              n, k, healthy;
    nd_queue_t            *q, *iq;
    nd_naming_ns_t        *ns;
    nd_naming_conf_t      *nf;
    nd_naming_cluster_t   *cl;
    nd_naming_service_t  **all, *s;
    nd_naming_instance_t  *inst;

    page_no = nd_naming_int_arg(r, "pageNo", 1);
    page_size = nd_naming_int_arg(r, "pageSize", 10);
    has_ip = nd_naming_bool_arg(r, "hasIpCount", 0);

    if (nd_naming_arg(r, "namespaceId", &ns_id) != ND_OK) {
        nd_str_set(&ns_id, ND_NAMING_DEFAULT_NS);
    }
    if (nd_naming_arg(r, "serviceNameParam", &sname) != ND_OK) {
        sname.len = 0;
    }
    if (nd_naming_arg(r, "groupNameParam", &gname) != ND_OK) {
        gname.len = 0;
    }

    nf = nd_naming_conf(nd_cycle);
    ns = nd_naming_ns_find(nf, &ns_id);
    all = nd_naming_sorted_services(r, ns, &n);

    count = 0;
    for (k = 0; k < n; k++) {
        s = all[k];
        if ((has_ip && s->ninstances == 0)
            || (sname.len && memmem(nd_naming_service_name(s),
                                    nd_naming_service_name_len(s),
                                    sname.data, sname.len) == NULL)
            || (gname.len && memmem(s->grouped, s->group_len, gname.data,
                                    gname.len) == NULL))
        {
            continue;
        }
        all[count++] = s;
    }

    list = json_array();
    start = (nd_int_t) (page_no - 1) * page_size;
    if (start < 0) {
        start = 0;
    }

    for (i = start; i < count && i < start + page_size; i++) {
        s = all[i];
        healthy = 0;
        k = 0;
        for (q = nd_queue_head(&s->clusters);
             q != nd_queue_sentinel(&s->clusters); q = nd_queue_next(q))
        {
            cl = nd_queue_data(q, nd_naming_cluster_t, link);
            k += cl->ninstances ? 1 : 0;
            for (iq = nd_queue_head(&cl->instances);
                 iq != nd_queue_sentinel(&cl->instances);
                 iq = nd_queue_next(iq))
            {
                inst = nd_queue_data(iq, nd_naming_instance_t, cluster_link);
                healthy += inst->healthy;
            }
        }

        json_array_append_new(list, json_pack(
            "{s:s%, s:s%, s:I, s:I, s:I, s:s}",
            "name", nd_naming_service_name(s),
            (size_t) nd_naming_service_name_len(s),
            "groupName", s->grouped, (size_t) s->group_len,
            "clusterCount", (json_int_t) k,
            "ipCount", (json_int_t) s->ninstances,
            "healthyInstanceCount", (json_int_t) healthy,
            "triggerFlag", "false"));
    }

    return nd_naming_send_json(r, json_pack("{s:I, s:o}", "count",
                                            (json_int_t) count,
                                            "serviceList", list));
}


static nd_int_t
nd_naming_catalog_instances(nd_http_request_t *r)
{
    int                    page_no, page_size;
    json_t                *list, *j;
    nd_int_t               rc, i, start;
    nd_buf_t               b;
    nd_str_t               cname, v;
    nd_queue_t            *iq;
    nd_naming_ref_t        ref;
    nd_naming_conf_t      *nf;
    nd_naming_cluster_t   *cl;
    nd_naming_service_t   *s;
    nd_naming_instance_t  *inst;

    if (nd_naming_http_ref(r, &ref, &rc) != ND_OK) {
        return rc;
    }

    if (nd_naming_arg(r, "clusterName", &cname) != ND_OK) {
        return nd_naming_fail(r, 400, 10000, "Parameter 'clusterName' is "
                              "missing");
    }
    if (nd_naming_arg(r, "pageNo", &v) != ND_OK) {
        return nd_naming_fail(r, 400, 10000, "Parameter 'pageNo' is missing");
    }
    if (nd_naming_arg(r, "pageSize", &v) != ND_OK) {
        return nd_naming_fail(r, 400, 10000, "Parameter 'pageSize' is "
                              "missing");
    }

    page_no = nd_naming_int_arg(r, "pageNo", 1);
    page_size = nd_naming_int_arg(r, "pageSize", 10);

    nf = nd_naming_conf(nd_cycle);
    s = nd_naming_service_find(nf, &ref.ns, &ref.grouped);

    if (s == NULL) {
        return nd_naming_fail(r, 404, 20004, "service not found, namespace: "
                              "%.*s, serviceName: %.*s", ND_STR_ARG(ref.ns),
                              ND_STR_ARG(ref.grouped));
    }

    cl = nd_naming_cluster_find(s, &cname);
    list = json_array();
    start = (nd_int_t) (page_no - 1) * page_size;
    if (start < 0) {
        start = 0;
    }

    i = 0;
    for (iq = cl ? nd_queue_head(&cl->instances) : NULL;
         cl && iq != nd_queue_sentinel(&cl->instances);
         iq = nd_queue_next(iq), i++)
    {
        if (i < start || i >= start + page_size) {
            continue;
        }

        inst = nd_queue_data(iq, nd_naming_instance_t, cluster_link);
        nd_buf_init(&b);
        nd_naming_instance_json(&b, inst, 0);
        j = json_loadb((char *) b.data, b.len, 0, NULL);
        nd_buf_free(&b);
        if (j) {
            json_array_append_new(list, j);
        }
    }

    return nd_naming_send_json(r, json_pack("{s:o, s:I}", "list", list,
                                            "count", (json_int_t) i));
}

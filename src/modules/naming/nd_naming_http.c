/*
 * Naming Open API v1 (/v1/ns/...), shared with v2 where Nacos shares the
 * logic: handlers answer text/JSON on v1 paths and the {code, message,
 * data} envelope on v2 paths.
 */
#include <nd_naming_http.h>


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
nd_int_t
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


nd_int_t
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


nd_int_t
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


int
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


nd_int_t
nd_naming_http_ref(nd_http_request_t *r, nd_naming_ref_t *ref, nd_int_t *rc)
{
    u_char      *sep, *p;
    nd_int_t     code;
    nd_str_t     sn;
    const char  *msg;

    if (nd_naming_arg(r, "namespaceId", &ref->ns) != ND_OK) {
        nd_str_set(&ref->ns, ND_NAMING_DEFAULT_NS);
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

    msg = nd_naming_check_ref(ref, &code);
    if (msg) {
        *rc = nd_naming_fail(r, 400, code, "%s", msg);
        return ND_ERROR;
    }

    return ND_OK;
}


/* the param-check filter on ip, port and cluster, then the cluster rule of
 * NamingUtils.checkInstanceIsLegal */
nd_int_t
nd_naming_http_addr(nd_http_request_t *r, int required, nd_str_t *ip,
    nd_uint_t *port, nd_str_t *cluster, nd_int_t *rc)
{
    char         buf[160];
    nd_int_t     n, code;
    nd_str_t     v;
    const char  *msg;

    if (nd_naming_arg(r, "ip", ip) != ND_OK) {
        if (required) {
            *rc = nd_naming_required(r, "ip");
            return ND_ERROR;
        }
        ip->len = 0;
        ip->data = (u_char *) "";
    }

    msg = nd_naming_check_ip(ip, &code);
    if (msg) {
        *rc = nd_naming_fail(r, 400, code, "%s", msg);
        return ND_ERROR;
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

    msg = nd_naming_check_cluster(cluster, buf, sizeof(buf), &code);
    if (msg) {
        *rc = nd_naming_fail(r, 400, code, "%s", msg);
        return ND_ERROR;
    }

    return ND_OK;
}


nd_int_t
nd_naming_http_metadata(nd_http_request_t *r, const char *name, json_t **out,
    nd_int_t *rc)
{
    char         buf[128];
    nd_str_t     v;
    const char  *msg;

    *out = NULL;

    if (nd_naming_arg(r, name, &v) != ND_OK) {
        return ND_OK;
    }

    *out = nd_naming_parse_metadata(&v);
    if (*out == NULL) {
        *rc = nd_naming_fail(r, 400, 21002, "metadata format incorrect:%.*s",
                             ND_STR_ARG(v));
        return ND_ERROR;
    }

    /* Nacos counts the keys and values, not the JSON text */
    msg = nd_naming_metadata_check(nd_naming_conf(nd_cycle), *out, buf,
                                   sizeof(buf));
    if (msg) {
        json_decref(*out);
        *out = NULL;
        *rc = nd_naming_fail(r, 400, 20002, "%s", msg);
        return ND_ERROR;
    }

    return ND_OK;
}


/* the heart beat rule of NamingUtils.checkInstanceIsLegal */
nd_int_t
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
nd_int_t
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


nd_str_t
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
nd_int_t
nd_naming_do_register(nd_http_request_t *r, nd_naming_ref_t *ref,
    nd_naming_spec_t *spec, nd_naming_instance_t **out)
{
    char      err[768];
    nd_int_t  rc;

    rc = nd_naming_register_ipport(nd_naming_conf(nd_cycle), ref, spec, out,
                                   err, sizeof(err));
    if (rc == ND_DECLINED) {
        nd_naming_fail(r, 400, 21004, "%s", err);

    } else if (rc == ND_BUSY) {
        nd_naming_fail(r, 429, 5033, "%s", err);
        rc = ND_DECLINED;
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


const nd_naming_waiter_t *
nd_naming_http_waiter(nd_http_request_t *r, nd_naming_waiter_t *w)
{
    w->answer = nd_naming_http_answer;
    w->wait = nd_naming_http_wait;
    w->req = r;
    w->data = NULL;

    return w;
}

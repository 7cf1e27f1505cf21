/*
 * Naming HTTP API: manual health, cluster updates, operator metrics and
 * switches, push state, and the catalog the console reads.
 */
#include <nd_naming_http.h>


/* ---- health, cluster, operator ---------------------------------------------- */

nd_int_t
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


nd_int_t
nd_naming_health_server(nd_http_request_t *r)
{
    return nd_naming_send_json(r, json_pack("{s:s}", "msg",
               "Hello! I am Nacos-Naming and healthy! total services: "
               "raft 0, local port:8848"));
}


nd_int_t
nd_naming_cluster_update(nd_http_request_t *r)
{
    char                  buf[160];
    json_t               *meta, *hc;
    nd_int_t              rc, code;
    nd_str_t              v, cname;
    const char           *msg;
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

    msg = nd_naming_check_cluster(&cname, buf, sizeof(buf), &code);
    if (msg) {
        return nd_naming_fail(r, 400, code, "%s", msg);
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


nd_int_t
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


nd_int_t
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
static nd_int_t
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
nd_int_t
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


nd_int_t
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

nd_int_t
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


nd_int_t
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

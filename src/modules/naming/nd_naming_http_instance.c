/*
 * Naming HTTP API: instances (register, deregister, update, detail, list,
 * beat, metadata batch, statuses).
 */
#include <nd_naming_http.h>


/* ---- instances ----------------------------------------------------------- */

nd_int_t
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


nd_int_t
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


nd_int_t
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


nd_int_t
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


nd_int_t
nd_naming_instance_list(nd_http_request_t *r)
{
    int                   healthy_only;
    char                  err[256];
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

        /* over max_services: no subscription, the list is answered */
        if (s == NULL
            && nd_naming_service_admit(nf, &ref.ns, &ref.grouped, err,
                                       sizeof(err)) == ND_OK)
        {
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


nd_int_t
nd_naming_instance_beat_h(nd_http_request_t *r)
{
    char                   err[128];
    json_t                *beat, *m;
    int64_t                n;
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

        /* a number or a string holding one ("port":"2001", the C++ SDK) */
        if (nd_json_int(beat, "port", &n) != ND_OK || n < 1 || n > 65535) {
            rc = nd_naming_fail(r, 400, 20002, "Param 'port' is illegal, "
                                "the value should be between 1 and 65535.");
            goto done;
        }
        port = (nd_uint_t) n;
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
        if (!(spec.weight >= 0 && spec.weight <= ND_NAMING_MAX_WEIGHT)) {
            spec.weight = 1.0;
        }
        spec.healthy = 1;
        spec.enabled = 1;
        spec.ephemeral = 1;
        m = json_object_get(beat, "metadata");
        spec.metadata = json_is_object(m) ? m : NULL;

        if (nd_naming_metadata_check(nf, spec.metadata, err, sizeof(err))) {
            rc = nd_naming_fail(r, 400, 20002, "%s", err);
            goto done;
        }

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


nd_int_t
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


nd_int_t
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

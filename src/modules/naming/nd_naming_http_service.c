/*
 * Naming HTTP API: services (create, delete, update, detail, list, names,
 * subscribers).
 */
#include <nd_naming_http.h>


/* ---- services -------------------------------------------------------------- */

static nd_int_t
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

    /* a ratio: "inf" or 2 stored would break every read of the service */
    if (!(d >= 0.0 && d <= 1.0)) {
        *rc = nd_naming_fail(r, 400, 20002, "Param '%s' must be a number "
                             "from 0 to 1 (current: %.*s)", name,
                             ND_STR_ARG(v));
        return ND_ERROR;
    }

    *out = (float) d;
    return ND_OK;
}


/* ServiceController.parseSelector: none or label */
static nd_int_t
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


nd_int_t
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

    {
        char  err[256];

        if (nd_naming_service_admit(nf, &ref.ns, &ref.grouped, err,
                                    sizeof(err))
            != ND_OK)
        {
            if (meta) {
                json_decref(meta);
            }
            nd_free(selector);
            return nd_naming_fail(r, 429, 5033, "%s", err);
        }
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


nd_int_t
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


nd_int_t
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


nd_int_t
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
nd_naming_service_t **
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


nd_int_t
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


nd_int_t
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

    snprintf(addr, sizeof(addr), "%s", nd_naming_cid(sub->client));
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


nd_int_t
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

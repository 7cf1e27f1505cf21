/*
 * ServiceInfo: the JSON Java emits for a service's instance list, built
 * once per (service revision, clusters, healthyOnly, name form) and kept
 * as a shared block; each answer copies it and stamps lastRefTime.
 */
#include <nd_naming.h>

#define ND_NAMING_REF_TIME_DIGITS  13


/* the shortest text that reads back as d, with Java's ".0" for integers */
int
nd_naming_json_double(nd_buf_t *b, double d)
{
    int     prec;
    char    buf[40];
    double  back;

    /* the range first: converting a double outside int64_t is undefined */
    if (d > -1e15 && d < 1e15 && d == (double) (int64_t) d) {
        return nd_buf_appendf(b, "%" PRId64 ".0", (int64_t) d);
    }

    for (prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, d);
        back = strtod(buf, NULL);
        if (back == d) {
            break;
        }
    }

    return nd_buf_append(b, buf, strlen(buf));
}


nd_int_t
nd_naming_instance_json(nd_buf_t *b, nd_naming_instance_t *inst,
    int force_healthy)
{
    const char           *gen, *p;
    nd_naming_service_t  *s;

    s = inst->cluster->service;

    if (nd_buf_append(b, "{\"instanceId\":", 14) != ND_OK) {
        return ND_ERROR;
    }

    if (inst->instance_id) {
        nd_json_str(b, inst->instance_id, strlen(inst->instance_id));

    } else {
        char    *id;
        size_t   len;
        int      n;

        len = inst->ip_len + 8 + inst->cluster->name_len + s->grouped_len;
        id = nd_alloc(len + 1);
        if (id == NULL) {
            return ND_ERROR;
        }
        n = snprintf(id, len + 1, "%s#%u#%s#%.*s", inst->ip,
                     (unsigned) inst->port, inst->cluster->name,
                     (int) s->grouped_len, s->grouped);
        nd_json_str(b, id, (size_t) n);
        nd_free(id);
    }

    nd_buf_append(b, ",\"ip\":", 6);
    nd_json_str(b, inst->ip, inst->ip_len);
    nd_buf_appendf(b, ",\"port\":%u,\"weight\":", (unsigned) inst->port);
    nd_naming_json_double(b, inst->weight);
    nd_buf_appendf(b, ",\"healthy\":%s,\"enabled\":%s,\"ephemeral\":%s,"
                   "\"clusterName\":",
                   inst->healthy || force_healthy ? "true" : "false",
                   inst->enabled ? "true" : "false",
                   inst->ephemeral ? "true" : "false");
    nd_json_str(b, inst->cluster->name, inst->cluster->name_len);
    nd_buf_append(b, ",\"serviceName\":", 15);
    nd_json_str(b, s->grouped, s->grouped_len);
    nd_buf_append(b, ",\"metadata\":", 12);

    if (inst->metadata) {
        nd_buf_append(b, inst->metadata, strlen(inst->metadata));
    } else {
        nd_buf_append(b, "{}", 2);
    }

    gen = "simple";
    if (inst->metadata
        && (p = strstr(inst->metadata, "\"preserved.instance.id.generator\":\"")))
    {
        gen = p + sizeof("\"preserved.instance.id.generator\":\"") - 1;
        p = strchr(gen, '"');
        if (p) {
            nd_buf_appendf(b, ",\"instanceHeartBeatInterval\":%u,"
                           "\"instanceHeartBeatTimeOut\":%u,"
                           "\"ipDeleteTimeout\":%u,\"instanceIdGenerator\":"
                           "\"%.*s\"}",
                           inst->beat_interval, inst->beat_timeout,
                           inst->delete_timeout, (int) (p - gen), gen);
            return ND_OK;
        }
        gen = "simple";
    }

    return nd_buf_appendf(b, ",\"instanceHeartBeatInterval\":%u,"
                          "\"instanceHeartBeatTimeOut\":%u,"
                          "\"ipDeleteTimeout\":%u,\"instanceIdGenerator\":"
                          "\"%s\"}",
                          inst->beat_interval, inst->beat_timeout,
                          inst->delete_timeout, gen);
}


/*
 * The same instance held by two clients (a 2.x client that reconnected to
 * another node registers again while its old connection's synced copy
 * has not expired yet) is listed once: Java builds the list as a set of
 * equal Instances.  seen maps "ip:port" of the cluster to the first one.
 */
static int
nd_naming_info_seen(nd_hash_t *seen, nd_naming_instance_t *inst)
{
    int                    n;
    char                   key[300];
    nd_naming_instance_t  *first;

    n = snprintf(key, sizeof(key), "%.*s:%u", (int) inst->ip_len, inst->ip,
                 (unsigned) inst->port);

    first = nd_hash_find(seen, (u_char *) key, (size_t) n);
    if (first == NULL) {
        nd_hash_add(seen, (u_char *) key, (size_t) n, inst);
        return 0;
    }

    return first->weight == inst->weight && first->healthy == inst->healthy
           && first->enabled == inst->enabled
           && (first->metadata == NULL) == (inst->metadata == NULL)
           && (first->metadata == NULL
               || strcmp(first->metadata, inst->metadata) == 0)
           && (first->instance_id == NULL) == (inst->instance_id == NULL)
           && (first->instance_id == NULL
               || strcmp(first->instance_id, inst->instance_id) == 0);
}


static int
nd_naming_cluster_selected(nd_naming_cluster_t *cl, const nd_str_t *clusters)
{
    u_char  *p, *end, *comma;

    if (clusters->len == 0) {
        return 1;
    }

    p = clusters->data;
    end = p + clusters->len;

    for ( /* void */ ; p <= end; p = comma + 1) {
        comma = memchr(p, ',', (size_t) (end - p));
        if (comma == NULL) {
            comma = end;
        }
        if ((size_t) (comma - p) == cl->name_len
            && memcmp(p, cl->name, cl->name_len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static int
nd_naming_info_head(nd_buf_t *b, const char *name, size_t name_len,
    const char *group, size_t group_len, const nd_str_t *clusters,
    nd_msec_t cache_millis)
{
    nd_buf_append(b, "{\"name\":", 8);
    nd_json_str(b, name, name_len);
    nd_buf_append(b, ",\"groupName\":", 13);
    nd_json_str(b, group, group_len);
    nd_buf_append(b, ",\"clusters\":", 12);
    nd_json_str(b, (char *) clusters->data, clusters->len);
    return nd_buf_appendf(b, ",\"cacheMillis\":%" PRIu64 ",\"hosts\":[",
                          (uint64_t) cache_millis);
}


static nd_shared_t *
nd_naming_info_tail(nd_buf_t *b, int reach, size_t *ref_time_pos)
{
    size_t        pos;
    nd_shared_t  *sh;

    nd_buf_append(b, "],\"lastRefTime\":", 16);
    pos = b->len;
    nd_buf_append(b, "0000000000000", ND_NAMING_REF_TIME_DIGITS);
    if (nd_buf_appendf(b, ",\"checksum\":\"\",\"allIPs\":false,"
                       "\"reachProtectionThreshold\":%s,\"valid\":true}",
                       reach ? "true" : "false") != ND_OK)
    {
        return NULL;
    }

    sh = nd_shared_alloc(b->len, NULL);
    if (sh == NULL) {
        return NULL;
    }

    memcpy(sh->data, b->data, b->len);
    *ref_time_pos = pos;

    return sh;
}


nd_shared_t *
nd_naming_info_empty(const nd_str_t *grouped, const nd_str_t *clusters,
    nd_msec_t cache_millis, size_t *ref_time_pos)
{
    u_char       *sep;
    size_t        glen;
    nd_buf_t      b;
    nd_shared_t  *sh;

    sep = memmem(grouped->data, grouped->len, ND_NAMING_SPLITTER, 2);
    glen = sep ? (size_t) (sep - grouped->data) : 0;

    nd_buf_init(&b);
    nd_naming_info_head(&b, (char *) grouped->data, grouped->len,
                        (char *) grouped->data, glen, clusters,
                        cache_millis);
    sh = nd_naming_info_tail(&b, 0, ref_time_pos);
    nd_buf_free(&b);

    return sh;
}


static nd_naming_cache_t *
nd_naming_info_build(nd_naming_conf_t *nf, nd_naming_service_t *s,
    const nd_str_t *clusters, int healthy_only, int grouped_name)
{
    int                    reach, dedup;
    float                  threshold;
    nd_uint_t              healthy, selected, n;
    nd_buf_t               b;
    nd_hash_t              seen;
    nd_queue_t            *q, *iq;
    nd_naming_cache_t     *ca;
    nd_naming_cluster_t   *cl;
    nd_naming_instance_t  *inst;

    /* count first: the protect threshold decides how hosts are written */
    healthy = 0;
    selected = 0;

    for (q = nd_queue_head(&s->clusters); q != nd_queue_sentinel(&s->clusters);
         q = nd_queue_next(q))
    {
        cl = nd_queue_data(q, nd_naming_cluster_t, link);
        if (!nd_naming_cluster_selected(cl, clusters)) {
            continue;
        }

        for (iq = nd_queue_head(&cl->instances);
             iq != nd_queue_sentinel(&cl->instances); iq = nd_queue_next(iq))
        {
            inst = nd_queue_data(iq, nd_naming_instance_t, cluster_link);
            if (!inst->enabled) {
                continue;
            }
            if (inst->healthy) {
                healthy++;
            }
            if (!healthy_only || inst->healthy) {
                selected++;
            }
        }
    }

    /* ServiceUtil.selectInstancesWithHealthyProtection: only a service
     * with metadata is protected; healthy / selected <= threshold, where
     * 0 / 0 is NaN and never reaches it */
    reach = 0;
    if (s->has_metadata && selected) {
        threshold = s->protect_threshold < 0 ? 0.0f : s->protect_threshold;
        reach = ((float) healthy / (float) selected) <= threshold;
    }

    ca = nd_calloc(sizeof(nd_naming_cache_t) + clusters->len + 1);
    if (ca == NULL) {
        return NULL;
    }

    nd_buf_init(&b);

    if (grouped_name) {
        nd_naming_info_head(&b, s->grouped, s->grouped_len, s->grouped,
                            s->group_len, clusters, nf->cache_millis);
    } else {
        nd_naming_info_head(&b, nd_naming_service_name(s),
                            nd_naming_service_name_len(s), s->grouped,
                            s->group_len, clusters, nf->cache_millis);
    }

    n = 0;
    for (q = nd_queue_head(&s->clusters); q != nd_queue_sentinel(&s->clusters);
         q = nd_queue_next(q))
    {
        cl = nd_queue_data(q, nd_naming_cluster_t, link);
        if (!nd_naming_cluster_selected(cl, clusters)) {
            continue;
        }

        dedup = cl->ninstances > 1 && nd_hash_init(&seen, 16) == ND_OK;

        for (iq = nd_queue_head(&cl->instances);
             iq != nd_queue_sentinel(&cl->instances); iq = nd_queue_next(iq))
        {
            inst = nd_queue_data(iq, nd_naming_instance_t, cluster_link);
            if (!inst->enabled || (healthy_only && !inst->healthy)) {
                continue;
            }
            if (dedup && nd_naming_info_seen(&seen, inst)) {
                continue;
            }
            if (n++) {
                nd_buf_append(&b, ",", 1);
            }
            nd_naming_instance_json(&b, inst, reach);
        }

        if (dedup) {
            nd_hash_free(&seen);
        }
    }

    ca->body = nd_naming_info_tail(&b, reach, &ca->ref_time_pos);
    nd_buf_free(&b);

    if (ca->body == NULL) {
        nd_free(ca);
        return NULL;
    }

    ca->revision = s->revision;
    ca->healthy_only = healthy_only ? 1 : 0;
    ca->grouped_name = grouped_name ? 1 : 0;
    ca->clusters_len = (uint16_t) clusters->len;
    memcpy(ca->clusters, clusters->data, clusters->len);

    return ca;
}


nd_naming_cache_t *
nd_naming_info_get(nd_naming_conf_t *nf, nd_naming_service_t *s,
    const nd_str_t *clusters, int healthy_only, int grouped_name)
{
    nd_uint_t           n;
    nd_naming_cache_t  *ca, **pp;

    healthy_only = healthy_only ? 1 : 0;
    grouped_name = grouped_name ? 1 : 0;

    for (ca = s->caches; ca; ca = ca->next) {
        if (ca->healthy_only == healthy_only
            && ca->grouped_name == grouped_name
            && ca->clusters_len == clusters->len
            && memcmp(ca->clusters, clusters->data, clusters->len) == 0)
        {
            return ca;
        }
    }

    if (clusters->len > 0xffff) {
        return NULL;
    }

    ca = nd_naming_info_build(nf, s, clusters, healthy_only, grouped_name);
    if (ca == NULL) {
        return NULL;
    }

    ca->next = s->caches;
    s->caches = ca;

    /* bounded: drop the oldest entries past max_caches */
    for (pp = &s->caches, n = 0; *pp; n++) {
        if (n >= nf->max_caches) {
            ca = *pp;
            *pp = ca->next;
            nd_shared_release(ca->body);
            nd_free(ca);
            continue;
        }
        pp = &(*pp)->next;
    }

    return s->caches;
}


void
nd_naming_info_drop(nd_naming_service_t *s)
{
    nd_naming_cache_t  *ca, *next;

    for (ca = s->caches; ca; ca = next) {
        next = ca->next;
        nd_shared_release(ca->body);
        nd_free(ca);
    }

    s->caches = NULL;
}


u_char *
nd_naming_info_stamp(nd_pool_t *pool, nd_shared_t *body, size_t ref_time_pos,
    nd_msec_t now)
{
    u_char  *p;
    char     digits[32];

    p = nd_pnalloc(pool, body->len);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, body->data, body->len);

    if (snprintf(digits, sizeof(digits), "%013" PRIu64, (uint64_t) now)
        == ND_NAMING_REF_TIME_DIGITS)
    {
        memcpy(p + ref_time_pos, digits, ND_NAMING_REF_TIME_DIGITS);
    }

    return p;
}

/*
 * A client's state as Distro sends it, and the receiver's side: a synced
 * (non-native) copy of the client brought in line with it.  Services whose
 * instances of the client did not change are not touched, so a re-sent or
 * verified client pushes nothing to subscribers.
 */
#include <nd_distro.h>

#define ND_DISTRO_MAX_SERVICES   65536
#define ND_DISTRO_MAX_INSTANCES  65536


static int
nd_distro_by_service(const void *a, const void *b)
{
    const nd_naming_instance_t  *x = *(nd_naming_instance_t **) a;
    const nd_naming_instance_t  *y = *(nd_naming_instance_t **) b;
    uintptr_t                    sx, sy;

    sx = (uintptr_t) x->cluster->service;
    sy = (uintptr_t) y->cluster->service;

    return sx < sy ? -1 : sx > sy;
}


static void
nd_distro_instance_text(nd_buf_t *b, nd_naming_instance_t *inst)
{
    nd_naming_cluster_t  *cl;

    cl = inst->cluster;

    nd_buf_append_lit(b, "{\"ip\":");
    nd_json_str(b, inst->ip, inst->ip_len);
    nd_buf_appendf(b, ",\"port\":%u,\"cluster\":", (unsigned) inst->port);
    nd_json_str(b, cl->name, cl->name_len);
    nd_buf_append_lit(b, ",\"weight\":");
    nd_naming_json_double(b, inst->weight);
    nd_buf_appendf(b, ",\"healthy\":%s,\"enabled\":%s",
                   inst->healthy ? "true" : "false",
                   inst->enabled ? "true" : "false");

    if (inst->metadata) {
        nd_buf_append_lit(b, ",\"md\":");
        nd_json_str(b, inst->metadata, strlen(inst->metadata));
    }

    if (inst->instance_id) {
        nd_buf_append_lit(b, ",\"iid\":");
        nd_json_str(b, inst->instance_id, strlen(inst->instance_id));
    }

    nd_buf_append_lit(b, "}");
}


/* the client's state as JSON text (the CLIENT of nd_distro.h), written
 * straight into b: a snapshot or a batch holds many thousands */
nd_int_t
nd_distro_client_text(nd_buf_t *b, nd_naming_client_t *c)
{
    nd_uint_t              i, n;
    nd_queue_t            *q;
    nd_naming_service_t   *s, *prev;
    nd_naming_instance_t  *one, **all;

    nd_buf_append_lit(b, "{\"id\":");
    nd_json_str(b, nd_naming_cid(c), nd_naming_cid_len(c));
    nd_buf_appendf(b, ",\"type\":%u,\"rev\":%" PRIu64, (unsigned) c->type,
                   c->revision);

    /* a copy's age since its owner last renewed it: a snapshot must not
     * make an old copy young again (a dead client would come back) */
    if (!c->native) {
        nd_buf_appendf(b, ",\"age\":%" PRIu64,
                       (uint64_t) (nd_current_msec - c->last_updated));
    }

    nd_buf_append_lit(b, ",\"services\":[");

    n = c->ninstances;
    all = NULL;

    if (n > 1) {
        /* group the instances by service */
        all = nd_alloc(n * sizeof(nd_naming_instance_t *));
        if (all == NULL) {
            return ND_ERROR;
        }
    }

    i = 0;
    for (q = nd_queue_head(&c->instances);
         q != nd_queue_sentinel(&c->instances) && i < nd_max(n, 1);
         q = nd_queue_next(q))
    {
        one = nd_queue_data(q, nd_naming_instance_t, client_link);
        if (all) {
            all[i] = one;
        }
        i++;
    }
    n = i;

    if (all) {
        qsort(all, n, sizeof(nd_naming_instance_t *), nd_distro_by_service);
    }

    prev = NULL;

    for (i = 0; i < n; i++) {
        if (all) {
            one = all[i];
        }
        s = one->cluster->service;

        if (s != prev) {
            if (prev) {
                nd_buf_append_lit(b, "]},");
            }
            nd_buf_append_lit(b, "{\"ns\":");
            nd_json_str(b, s->ns->id, s->ns->id_len);
            nd_buf_append_lit(b, ",\"s\":");
            nd_json_str(b, s->grouped, s->grouped_len);
            nd_buf_append_lit(b, ",\"instances\":[");
            prev = s;

        } else {
            nd_buf_append_lit(b, ",");
        }

        nd_distro_instance_text(b, one);
    }

    if (prev) {
        nd_buf_append_lit(b, "]}");
    }

    nd_free(all);

    return nd_buf_append_lit(b, "]}");
}


static int
nd_distro_is_str(json_t *o, const char *key, size_t max)
{
    json_t  *v;

    v = json_object_get(o, key);
    return json_is_string(v) && json_string_length(v) > 0
           && json_string_length(v) <= max;
}


const char *
nd_distro_client_check(json_t *client)
{
    size_t   i, j;
    json_t  *services, *svc, *list, *inst, *v;

    if (!json_is_object(client)) {
        return "client is not an object";
    }

    if (!nd_distro_is_str(client, "id", 0xffff)) {
        return "client without id";
    }

    v = json_object_get(client, "type");
    if (!json_is_integer(v) || (json_integer_value(v) != ND_NAMING_CLIENT_IPPORT
                                && json_integer_value(v)
                                   != ND_NAMING_CLIENT_CONNECTION))
    {
        return "client of an unknown type";
    }

    if (!json_is_integer(json_object_get(client, "rev"))) {
        return "client without revision";
    }

    services = json_object_get(client, "services");
    if (!json_is_array(services)
        || json_array_size(services) > ND_DISTRO_MAX_SERVICES)
    {
        return "client without services";
    }

    json_array_foreach(services, i, svc) {
        if (!json_is_object(svc) || !nd_distro_is_str(svc, "ns", 128)
            || !nd_distro_is_str(svc, "s", 1024)
            || strstr(json_string_value(json_object_get(svc, "s")),
                      ND_NAMING_SPLITTER) == NULL)
        {
            return "service without namespace or grouped name";
        }

        list = json_object_get(svc, "instances");
        if (!json_is_array(list)
            || json_array_size(list) > ND_DISTRO_MAX_INSTANCES)
        {
            return "service without instances";
        }

        json_array_foreach(list, j, inst) {
            v = json_object_get(inst, "port");
            if (!json_is_object(inst) || !nd_distro_is_str(inst, "ip", 255)
                || !json_is_integer(v) || json_integer_value(v) < 0
                || json_integer_value(v) > 65535
                || !nd_distro_is_str(inst, "cluster", 255)
                || !json_is_number(json_object_get(inst, "weight"))
                || !json_is_boolean(json_object_get(inst, "healthy"))
                || !json_is_boolean(json_object_get(inst, "enabled")))
            {
                return "instance with a missing or bad field";
            }

            /* the owner wrote it compact from an object it parsed: the
             * cluster port is the members' own, so a shape check will do */
            v = json_object_get(inst, "md");
            if (v && (!json_is_string(v) || json_string_length(v) < 2
                      || json_string_value(v)[0] != '{'
                      || json_string_value(v)[json_string_length(v) - 1]
                         != '}'))
            {
                return "instance metadata is not a JSON object text";
            }

            v = json_object_get(inst, "iid");
            if (v && !json_is_string(v)) {
                return "instance id is not a string";
            }
        }
    }

    return NULL;
}


/* spec from a checked instance; metadata parsed into *meta (release it) */
static void
nd_distro_spec(json_t *inst, nd_naming_spec_t *spec)
{
    json_t        *v;
    json_error_t   err;

    memset(spec, 0, sizeof(*spec));

    v = json_object_get(inst, "ip");
    spec->ip.data = (u_char *) json_string_value(v);
    spec->ip.len = json_string_length(v);
    spec->port = (nd_uint_t) json_integer_value(json_object_get(inst, "port"));
    v = json_object_get(inst, "cluster");
    spec->cluster.data = (u_char *) json_string_value(v);
    spec->cluster.len = json_string_length(v);
    v = json_object_get(inst, "iid");
    if (v) {
        spec->instance_id.data = (u_char *) json_string_value(v);
        spec->instance_id.len = json_string_length(v);
    }
    spec->weight = json_number_value(json_object_get(inst, "weight"));
    spec->healthy = json_is_true(json_object_get(inst, "healthy"));
    spec->enabled = json_is_true(json_object_get(inst, "enabled"));
    spec->ephemeral = 1;

    /* the owner's compact text is kept as it is; parsed only for the
     * preserved.* timeouts it may hold */
    v = json_object_get(inst, "md");
    if (v && json_string_length(v)) {
        spec->metadata_text.data = (u_char *) json_string_value(v);
        spec->metadata_text.len = json_string_length(v);

        if (strstr(json_string_value(v), "preserved.")) {
            spec->metadata = json_loadb(json_string_value(v),
                                        json_string_length(v), 0, &err);
            if (!json_is_object(spec->metadata)) {
                json_decref(spec->metadata);
                spec->metadata = NULL;
            }
        }
    }
}


/* the client's own instance of s at ip:port in cluster cname, or NULL:
 * the client's list is short, a service's may be long */
static nd_naming_instance_t *
nd_distro_client_has(nd_naming_client_t *c, nd_naming_service_t *s,
    json_t *inst)
{
    json_t                *ip, *cname;
    nd_uint_t              port;
    nd_queue_t            *q;
    nd_naming_instance_t  *have;

    ip = json_object_get(inst, "ip");
    cname = json_object_get(inst, "cluster");
    port = (nd_uint_t) json_integer_value(json_object_get(inst, "port"));

    /* the client's instances of s are one run of its list */
    have = nd_naming_client_instance(c, s);

    for (q = have ? &have->client_link : nd_queue_sentinel(&c->instances);
         q != nd_queue_sentinel(&c->instances); q = nd_queue_next(q))
    {
        have = nd_queue_data(q, nd_naming_instance_t, client_link);

        if (have->cluster->service != s) {
            break;
        }

        if (have->port == port
            && have->ip_len == json_string_length(ip)
            && memcmp(have->ip, json_string_value(ip), have->ip_len) == 0
            && have->cluster->name_len == json_string_length(cname)
            && memcmp(have->cluster->name, json_string_value(cname),
                      have->cluster->name_len) == 0)
        {
            return have;
        }
    }

    return NULL;
}


/* the client's instances of s are those of list already */
static int
nd_distro_same(nd_naming_client_t *c, nd_naming_service_t *s, json_t *list)
{
    size_t                 i, n;
    json_t                *inst, *md, *iid;
    nd_queue_t            *q;
    nd_naming_instance_t  *have;

    n = 0;
    have = nd_naming_client_instance(c, s);

    for (q = have ? &have->client_link : nd_queue_sentinel(&c->instances);
         q != nd_queue_sentinel(&c->instances); q = nd_queue_next(q))
    {
        have = nd_queue_data(q, nd_naming_instance_t, client_link);
        if (have->cluster->service != s) {
            break;
        }
        n++;
    }

    if (n != json_array_size(list)) {
        return 0;
    }

    json_array_foreach(list, i, inst) {
        have = nd_distro_client_has(c, s, inst);
        if (have == NULL) {
            return 0;
        }

        md = json_object_get(inst, "md");
        iid = json_object_get(inst, "iid");

        if (have->weight != json_number_value(json_object_get(inst, "weight"))
            || have->healthy != json_is_true(json_object_get(inst, "healthy"))
            || have->enabled != json_is_true(json_object_get(inst, "enabled"))
            || (have->metadata == NULL) != (md == NULL)
            || (md && strcmp(have->metadata, json_string_value(md)) != 0)
            || (have->instance_id == NULL) != (iid == NULL)
            || (iid && strcmp(have->instance_id, json_string_value(iid)) != 0))
        {
            return 0;
        }
    }

    return 1;
}


static void
nd_distro_apply_service(nd_distro_conf_t *dcf, nd_naming_client_t *c,
    json_t *svc)
{
    size_t                i, n;
    json_t               *list, *inst;
    nd_str_t              ns, grouped;
    nd_naming_spec_t     *specs;
    nd_naming_service_t  *s;

    ns.data = (u_char *) json_string_value(json_object_get(svc, "ns"));
    ns.len = json_string_length(json_object_get(svc, "ns"));
    grouped.data = (u_char *) json_string_value(json_object_get(svc, "s"));
    grouped.len = json_string_length(json_object_get(svc, "s"));
    list = json_object_get(svc, "instances");

    s = nd_naming_service_get(dcf->nf, &ns, &grouped, 1, NULL);
    if (s == NULL) {
        return;
    }

    if (!s->ephemeral) {
        nd_log_error(ND_LOG_WARN, nd_cycle->log, 0,
                     "distro: %.*s is a persistent service here, the "
                     "ephemeral instances of client %s are not applied",
                     ND_STR_ARG(grouped), nd_naming_cid(c));
        return;
    }

    if (nd_distro_same(c, s, list)) {
        return;
    }

    n = json_array_size(list);
    specs = n ? nd_calloc(n * sizeof(nd_naming_spec_t)) : NULL;
    if (n && specs == NULL) {
        return;
    }

    json_array_foreach(list, i, inst) {
        nd_distro_spec(inst, &specs[i]);
    }

    nd_naming_register_batch(dcf->nf, c, s, specs, n);

    for (i = 0; i < n; i++) {
        json_decref(specs[i].metadata);
    }
    nd_free(specs);
}


/* svc (checked) names s */
static int
nd_distro_service_is(nd_naming_service_t *s, json_t *svc)
{
    json_t  *ns, *grouped;

    ns = json_object_get(svc, "ns");
    grouped = json_object_get(svc, "s");

    return json_string_length(ns) == s->ns->id_len
           && json_string_length(grouped) == s->grouped_len
           && memcmp(json_string_value(ns), s->ns->id, s->ns->id_len) == 0
           && memcmp(json_string_value(grouped), s->grouped, s->grouped_len)
              == 0;
}


void
nd_distro_client_apply(nd_distro_conf_t *dcf, json_t *client)
{
    size_t                i, n;
    json_t               *services, *svc, *age;
    nd_str_t              id;
    nd_queue_t           *q;
    nd_naming_client_t   *c;
    nd_naming_service_t  *s, **gone;
    nd_naming_instance_t *inst;

    id.data = (u_char *) json_string_value(json_object_get(client, "id"));
    id.len = json_string_length(json_object_get(client, "id"));

    c = nd_naming_client_find(dcf->nf, &id);

    if (c && c->native) {
        /* ours: the sender is behind (a ring change); verify settles it */
        nd_log_error(ND_LOG_INFO, nd_cycle->log, 0,
                     "distro: client %s is ours, its synced state is "
                     "ignored", nd_naming_cid(c));
        return;
    }

    if (c == NULL) {
        c = nd_naming_client_get(dcf->nf,
                (nd_naming_client_type_e)
                json_integer_value(json_object_get(client, "type")), &id, 1);
        if (c == NULL) {
            return;
        }
        nd_naming_client_set_native(dcf->nf, c, 0);
    }

    services = json_object_get(client, "services");

    json_array_foreach(services, i, svc) {
        nd_distro_apply_service(dcf, c, svc);
    }

    /* services the client no longer has instances in */
    gone = NULL;
    n = 0;

    for (q = nd_queue_head(&c->instances);
         q != nd_queue_sentinel(&c->instances); q = nd_queue_next(q))
    {
        n++;
    }

    if (n) {
        gone = nd_alloc(n * sizeof(nd_naming_service_t *));
        n = 0;

        for (q = nd_queue_head(&c->instances);
             gone && q != nd_queue_sentinel(&c->instances);
             q = nd_queue_next(q))
        {
            inst = nd_queue_data(q, nd_naming_instance_t, client_link);
            s = inst->cluster->service;

            json_array_foreach(services, i, svc) {
                if (nd_distro_service_is(s, svc)) {
                    break;
                }
            }

            if (i == json_array_size(services)) {
                gone[n++] = s;
            }
        }

        for (i = 0; gone && i < n; i++) {
            if (nd_naming_client_instance(c, gone[i])) {
                nd_naming_register_batch(dcf->nf, c, gone[i], NULL, 0);
            }
        }

        nd_free(gone);
    }

    c->revision = (uint64_t) json_integer_value(json_object_get(client,
                                                                "rev"));

    /* the sender's own copy: as old as it was there (never in the future) */
    age = json_object_get(client, "age");
    c->last_updated = nd_current_msec;
    if (json_is_integer(age) && json_integer_value(age) > 0
        && (nd_msec_t) json_integer_value(age) < nd_current_msec)
    {
        c->last_updated -= (nd_msec_t) json_integer_value(age);
    }

    dcf->applied++;
}


void
nd_distro_client_delete(nd_distro_conf_t *dcf, const char *id)
{
    nd_str_t             key;
    nd_naming_client_t  *c;

    key.data = (u_char *) id;
    key.len = strlen(id);

    c = nd_naming_client_find(dcf->nf, &key);
    if (c == NULL || c->native) {
        return;
    }

    nd_naming_client_release(dcf->nf, c);
}

/*
 * The naming model: namespaces, services, clusters, instances, clients,
 * beat expiry (one rbtree ordered by deadline + one timer), the
 * empty-service cleaner and the events they publish.  A client's index
 * of instances by service is nd_naming_pubs.c; subscribers are
 * nd_naming_sub.c.
 */
#include <nd_naming.h>


static void nd_naming_expire_arm(nd_naming_conf_t *nf);
static void nd_naming_cluster_free(nd_naming_cluster_t *cl);


nd_int_t
nd_naming_model_init(nd_naming_conf_t *nf)
{
    if (nd_hash_init(&nf->namespaces, 8) != ND_OK
        || nd_hash_init(&nf->clients, 1024) != ND_OK)
    {
        return ND_ERROR;
    }

    nd_rbtree_init(&nf->expire, &nf->expire_sentinel);
    nd_queue_init(&nf->empty);
    nd_queue_init(&nf->sub_expire);
    nd_queue_init(&nf->push_pending);
    nd_queue_init(&nf->push_ready);

    return ND_OK;
}


static void
nd_naming_instance_free(nd_naming_instance_t *inst)
{
    nd_free(inst->metadata);
    nd_free(inst->instance_id);
    nd_free(inst);
}


static void
nd_naming_service_free(nd_naming_service_t *s)
{
    nd_queue_t           *q;
    nd_naming_cluster_t  *cl;

    while (!nd_queue_empty(&s->clusters)) {
        q = nd_queue_head(&s->clusters);
        nd_queue_remove(q);
        cl = nd_queue_data(q, nd_naming_cluster_t, link);
        nd_naming_cluster_free(cl);
    }

    nd_naming_info_drop(s);
    nd_free(s->metadata);
    nd_free(s->selector);
    nd_free(s);
}


void
nd_naming_model_free(nd_naming_conf_t *nf)
{
    nd_uint_t                i, j;
    nd_queue_t              *q;
    nd_hash_elt_t           *e, *se, *next;
    nd_naming_ns_t          *ns;
    nd_naming_client_t      *c;
    nd_naming_service_t     *s;
    nd_naming_cluster_t     *cl;
    nd_naming_instance_t    *inst;

    if (nf->clients.buckets) {
        /* each element is its client's: the next one first */
        for (e = nd_hash_first(&nf->clients, &i); e; e = next) {
            next = nd_hash_next(&nf->clients, e, &i);
            c = e->value;
            while (!nd_queue_empty(&c->subs)) {
                q = nd_queue_head(&c->subs);
                nd_queue_remove(q);
                nd_naming_sub_free(nd_queue_data(q, nd_naming_sub_t,
                                                 client_link));
            }
            nd_free(c->pubs);
            nd_free(c);
        }
        nd_hash_free(&nf->clients);
    }

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
            s = se->value;
            for (q = nd_queue_head(&s->clusters);
                 q != nd_queue_sentinel(&s->clusters);
                 q = nd_queue_next(q))
            {
                cl = nd_queue_data(q, nd_naming_cluster_t, link);
                while (!nd_queue_empty(&cl->instances)) {
                    inst = nd_queue_data(nd_queue_head(&cl->instances),
                                         nd_naming_instance_t, cluster_link);
                    nd_queue_remove(&inst->cluster_link);
                    nd_naming_instance_free(inst);
                }
            }
            nd_naming_service_free(s);
        }
        nd_hash_free(&ns->services);
        nd_free(ns);
    }

    nd_hash_free(&nf->namespaces);
}


/* ---- events ------------------------------------------------------------ */

static void
nd_naming_event_dispose(void *p)
{
    nd_free(p);
}


void
nd_naming_publish(nd_naming_conf_t *nf, nd_event_id_e id,
    nd_naming_service_t *s, nd_naming_client_t *c)
{
    u_char             *p;
    size_t              size, klen;
    nd_str_t            key;
    nd_naming_event_t  *ev;

    if (nf->cycle == NULL || nf->cycle->loop == NULL) {
        return;
    }

    size = sizeof(nd_naming_event_t);
    if (s) {
        size += s->ns->id_len + 2 + s->grouped_len + 1;
    }
    if (c) {
        size += nd_naming_cid_len(c) + 1;
    }

    ev = nd_calloc(size);
    if (ev == NULL) {
        return;
    }

    p = (u_char *) (ev + 1);

    if (s) {
        /* the key "ns##group@@name" doubles as the strings' storage */
        key.data = p;
        p = (u_char *) memcpy(p, s->ns->id, s->ns->id_len) + s->ns->id_len;
        *p++ = '#';
        *p++ = '#';
        memcpy(p, s->grouped, s->grouped_len);
        klen = s->ns->id_len + 2 + s->grouped_len;
        key.len = klen;

        ev->ns.data = key.data;
        ev->ns.len = s->ns->id_len;
        ev->group.data = p;
        ev->group.len = s->group_len;
        ev->name.data = p + s->group_len + 2;
        ev->name.len = nd_naming_service_name_len(s);
        p += s->grouped_len;
        *p++ = '\0';
        ev->revision = s->revision;
        ev->ephemeral = s->ephemeral;
    }

    if (c) {
        ev->client_id.data = p;
        ev->client_id.len = nd_naming_cid_len(c);
        memcpy(p, nd_naming_cid(c), nd_naming_cid_len(c) + 1);
        ev->native = c->native;
        if (s == NULL) {
            key = ev->client_id;
            ev->revision = c->revision;
            ev->ephemeral = c->ephemeral;
        }
    }

    nd_event_publish(nf->cycle, id, &key, ev, nd_naming_event_dispose);
}


/* ---- namespaces and services --------------------------------------------- */

nd_naming_ns_t *
nd_naming_ns_find(nd_naming_conf_t *nf, const nd_str_t *id)
{
    return nd_hash_find(&nf->namespaces, id->data, id->len);
}


static nd_naming_ns_t *
nd_naming_ns_get(nd_naming_conf_t *nf, const nd_str_t *id)
{
    nd_naming_ns_t  *ns;

    ns = nd_naming_ns_find(nf, id);
    if (ns) {
        return ns;
    }

    if (id->len > 0xffff) {
        return NULL;
    }

    ns = nd_calloc(sizeof(nd_naming_ns_t) + id->len + 1);
    if (ns == NULL) {
        return NULL;
    }

    if (nd_hash_init(&ns->services, 64) != ND_OK) {
        nd_free(ns);
        return NULL;
    }

    ns->id_len = (uint16_t) id->len;
    memcpy(ns->id, id->data, id->len);

    if (nd_hash_add(&nf->namespaces, id->data, id->len, ns) != ND_OK) {
        nd_hash_free(&ns->services);
        nd_free(ns);
        return NULL;
    }

    return ns;
}


nd_naming_service_t *
nd_naming_service_find(nd_naming_conf_t *nf, const nd_str_t *ns_id,
    const nd_str_t *grouped)
{
    nd_naming_ns_t  *ns;

    ns = nd_naming_ns_find(nf, ns_id);
    if (ns == NULL) {
        return NULL;
    }

    return nd_hash_find(&ns->services, grouped->data, grouped->len);
}


nd_naming_service_t *
nd_naming_service_get(nd_naming_conf_t *nf, const nd_str_t *ns_id,
    const nd_str_t *grouped, int ephemeral, int *created)
{
    u_char               *sep;
    nd_naming_ns_t       *ns;
    nd_naming_service_t  *s;

    if (created) {
        *created = 0;
    }

    ns = nd_naming_ns_get(nf, ns_id);
    if (ns == NULL) {
        return NULL;
    }

    s = nd_hash_find(&ns->services, grouped->data, grouped->len);
    if (s) {
        return s;
    }

    sep = memmem(grouped->data, grouped->len, ND_NAMING_SPLITTER, 2);
    if (sep == NULL || grouped->len > 0xffff) {
        return NULL;
    }

    s = nd_calloc(sizeof(nd_naming_service_t) + grouped->len + 1);
    if (s == NULL) {
        return NULL;
    }

    nd_queue_init(&s->clusters);
    nd_queue_init(&s->subs);
    s->ns = ns;
    s->ephemeral = ephemeral ? 1 : 0;
    s->group_len = (uint16_t) (sep - grouped->data);
    s->grouped_len = (uint16_t) grouped->len;
    memcpy(s->grouped, grouped->data, grouped->len);
    s->last_updated = nd_current_msec;
    s->revision = 1;

    if (nd_hash_add(&ns->services, grouped->data, grouped->len, s)
        != ND_OK)
    {
        nd_free(s);
        return NULL;
    }

    ns->nservices++;
    nf->nservices++;

    /* no instance yet: a candidate for the empty-service cleaner */
    nd_queue_insert_tail(&nf->empty, &s->clean_link);

    if (created) {
        *created = 1;
    }

    return s;
}


nd_int_t
nd_naming_service_admit(nd_naming_conf_t *nf, const nd_str_t *ns_id,
    const nd_str_t *grouped, char *err, size_t size)
{
    nd_naming_ns_t  *ns;

    ns = nd_naming_ns_find(nf, ns_id);

    if (ns == NULL || ns->nservices < nf->max_services
        || nd_hash_find(&ns->services, grouped->data, grouped->len))
    {
        return ND_OK;
    }

    snprintf(err, size, "too many services in namespace '%.*s': the limit "
             "is %lu (max_services)", ND_STR_ARG(*ns_id),
             (unsigned long) nf->max_services);

    return ND_BUSY;
}


nd_int_t
nd_naming_instances_admit(nd_naming_conf_t *nf, nd_naming_service_t *s,
    nd_naming_client_t *c, nd_uint_t n, char *err, size_t size)
{
    nd_uint_t              have;
    nd_queue_t            *q;
    nd_naming_instance_t  *inst;

    have = s ? s->ninstances : 0;

    if (have + n > nf->max_service_instances && c) {
        /* what c has there now is replaced */
        for (q = nd_queue_head(&c->instances);
             q != nd_queue_sentinel(&c->instances); q = nd_queue_next(q))
        {
            inst = nd_queue_data(q, nd_naming_instance_t, client_link);
            if (inst->cluster->service == s) {
                have--;
            }
        }
    }

    if (have + n <= nf->max_service_instances) {
        return ND_OK;
    }

    snprintf(err, size, "too many instances in service '%.*s': the limit "
             "is %lu (max_service_instances)",
             (int) (s ? s->grouped_len : 0), s ? s->grouped : "",
             (unsigned long) nf->max_service_instances);

    return ND_BUSY;
}


void
nd_naming_service_remove(nd_naming_conf_t *nf, nd_naming_service_t *s)
{
    nd_queue_t       *q;
    nd_naming_sub_t  *sub;

    while (!nd_queue_empty(&s->subs)) {
        q = nd_queue_head(&s->subs);
        sub = nd_queue_data(q, nd_naming_sub_t, service_link);
        nd_naming_unsubscribe(nf, sub);
    }

    if (nd_queue_linked(&s->clean_link)) {
        nd_queue_remove(&s->clean_link);
    }
    if (nd_queue_linked(&s->push_link)) {
        nd_queue_remove(&s->push_link);
    }

    nd_hash_del(&s->ns->services, (u_char *) s->grouped, s->grouped_len);
    s->ns->nservices--;
    nf->nservices--;

    nd_naming_service_free(s);
}


nd_naming_cluster_t *
nd_naming_cluster_find(nd_naming_service_t *s, const nd_str_t *name)
{
    nd_queue_t           *q;
    nd_naming_cluster_t  *cl;

    for (q = nd_queue_head(&s->clusters); q != nd_queue_sentinel(&s->clusters);
         q = nd_queue_next(q))
    {
        cl = nd_queue_data(q, nd_naming_cluster_t, link);
        if (cl->name_len == name->len
            && memcmp(cl->name, name->data, name->len) == 0)
        {
            return cl;
        }
    }

    return NULL;
}


nd_naming_cluster_t *
nd_naming_cluster_get(nd_naming_conf_t *nf, nd_naming_service_t *s,
    const nd_str_t *name)
{
    nd_naming_cluster_t  *cl;

    cl = nd_naming_cluster_find(s, name);
    if (cl) {
        return cl;
    }

    if (name->len > 0xffff) {
        return NULL;
    }

    cl = nd_calloc(sizeof(nd_naming_cluster_t) + name->len + 1);
    if (cl == NULL) {
        return NULL;
    }

    nd_queue_init(&cl->instances);
    cl->service = s;
    cl->name_len = (uint16_t) name->len;
    memcpy(cl->name, name->data, name->len);
    nd_queue_insert_tail(&s->clusters, &cl->link);

    return cl;
}


static void
nd_naming_cluster_free(nd_naming_cluster_t *cl)
{
    nd_free(cl->metadata);
    nd_free(cl->health_checker);
    nd_free(cl);
}


void
nd_naming_service_changed(nd_naming_conf_t *nf, nd_naming_service_t *s)
{
    s->revision++;
    s->last_updated = nd_current_msec;
    nd_naming_info_drop(s);

    /* our push scheduler ignores a service nobody subscribes to: with no
     * other reader, skip the event (one allocation and a bus entry per
     * register; a subscriber added later gets its own first push) */
    if (s->nsubs || nf->service_watched) {
        nd_naming_publish(nf, ND_EV_SERVICE_CHANGED, s, NULL);
    }
}


/* ---- clients ------------------------------------------------------------- */

nd_naming_client_t *
nd_naming_client_find(nd_naming_conf_t *nf, const nd_str_t *id)
{
    return nd_hash_find(&nf->clients, id->data, id->len);
}


nd_naming_client_t *
nd_naming_client_get(nd_naming_conf_t *nf, nd_naming_client_type_e type,
    const nd_str_t *id, int ephemeral)
{
    nd_naming_client_t  *c;

    c = nd_naming_client_find(nf, id);
    if (c) {
        return c;
    }

    if (id->len > 0xffff) {
        return NULL;
    }

    c = nd_alloc(sizeof(nd_naming_client_t) + id->len + 1);
    if (c == NULL) {
        return NULL;
    }

    nd_queue_init(&c->instances);
    nd_queue_init(&c->subs);
    c->revision = 0;
    c->last_updated = nd_current_msec;
    c->pubs = NULL;
    c->data = NULL;
    c->ninstances = 0;
    c->nsubs = 0;
    c->type = (uint8_t) type;
    c->ephemeral = ephemeral ? 1 : 0;
    c->native = 1;
    c->elt.len = (uint32_t) id->len;
    c->elt.value = c;
    memcpy(c->elt.key, id->data, id->len);
    c->elt.key[id->len] = '\0';

    if (nd_hash_link(&nf->clients, &c->elt) != ND_OK) {
        nd_free(c);
        return NULL;
    }

    if (type == ND_NAMING_CLIENT_IPPORT) {
        nf->nclients_ipport[c->ephemeral]++;
    } else {
        nf->nclients_conn++;
    }

    return c;
}


static void
nd_naming_client_free(nd_naming_conf_t *nf, nd_naming_client_t *c)
{
    nd_hash_unlink(&nf->clients, &c->elt);

    if (c->type == ND_NAMING_CLIENT_IPPORT) {
        nf->nclients_ipport[c->ephemeral]--;
    } else {
        nf->nclients_conn--;
    }

    if (c->native) {
        /* a synced copy is its owner's to announce, never ours */
        nd_naming_publish(nf, ND_EV_CLIENT_DISCONNECTED, NULL, c);
    }
    nd_free(c->pubs);
    nd_free(c);
}


void
nd_naming_client_release(nd_naming_conf_t *nf, nd_naming_client_t *c)
{
    nd_queue_t            *q;
    nd_naming_instance_t  *inst;

    while (!nd_queue_empty(&c->subs)) {
        q = nd_queue_head(&c->subs);
        nd_naming_unsubscribe(nf, nd_queue_data(q, nd_naming_sub_t,
                                                client_link));
    }

    while (!nd_queue_empty(&c->instances)) {
        q = nd_queue_head(&c->instances);
        inst = nd_queue_data(q, nd_naming_instance_t, client_link);
        nd_naming_deregister(nf, inst);
    }

    nd_naming_client_free(nf, c);
}


void
nd_naming_client_gc(nd_naming_conf_t *nf, nd_naming_client_t *c)
{
    if (c->type == ND_NAMING_CLIENT_IPPORT && c->ninstances == 0
        && c->nsubs == 0)
    {
        nd_naming_client_free(nf, c);
    }
}


void
nd_naming_client_set_native(nd_naming_conf_t *nf, nd_naming_client_t *c,
    int native)
{
    nd_queue_t            *q;
    nd_naming_instance_t  *inst;

    if (c->native == (native ? 1 : 0)) {
        return;
    }

    c->native = native ? 1 : 0;
    c->last_updated = nd_current_msec;

    for (q = nd_queue_head(&c->instances);
         q != nd_queue_sentinel(&c->instances); q = nd_queue_next(q))
    {
        inst = nd_queue_data(q, nd_naming_instance_t, client_link);

        if (native) {
            /* its beats went to the old owner: count from now */
            inst->last_beat = nd_current_msec;
            nd_naming_instance_rearm(nf, inst);

        } else if (inst->in_expire) {
            nd_rbtree_delete(&nf->expire, &inst->expire);
            inst->in_expire = 0;
        }
    }
}


void
nd_naming_client_changed(nd_naming_conf_t *nf, nd_naming_client_t *c)
{
    c->revision++;
    c->last_updated = nd_current_msec;

    if (c->native && !nf->client_changes_unread) {
        nd_naming_publish(nf, ND_EV_CLIENT_CHANGED, NULL, c);
    }
}


void
nd_naming_client_changes_read(nd_naming_conf_t *nf, int read)
{
    nf->client_changes_unread = !read;
}


/* ---- metadata (its text: nd_naming_meta.c) ------------------------------ */

static int
nd_naming_meta_msec(json_t *meta, const char *key, uint32_t *out)
{
    const char  *v;
    int64_t      n;

    v = nd_json_get_str(meta, key, NULL);
    if (v == NULL) {
        return 0;
    }

    if (nd_atoi64((u_char *) v, strlen(v), &n) != ND_OK || n < 0
        || n > UINT32_MAX)
    {
        return 0;                   /* ConvertUtils.toLong: default */
    }

    *out = (uint32_t) n;
    return 1;
}


static void
nd_naming_instance_preserved(nd_naming_instance_t *inst, json_t *meta)
{
    inst->beat_interval = ND_NAMING_BEAT_INTERVAL;
    inst->beat_timeout = ND_NAMING_BEAT_TIMEOUT;
    inst->delete_timeout = ND_NAMING_DELETE_TIMEOUT;

    if (meta == NULL) {
        inst->interval_set = 0;
        inst->beat_timeout_set = 0;
        inst->delete_timeout_set = 0;
        return;
    }

    inst->interval_set = nd_naming_meta_msec(meta,
        "preserved.heart.beat.interval", &inst->beat_interval);
    inst->beat_timeout_set = nd_naming_meta_msec(meta,
        "preserved.heart.beat.timeout", &inst->beat_timeout);
    inst->delete_timeout_set = nd_naming_meta_msec(meta,
        "preserved.ip.delete.timeout", &inst->delete_timeout);
}


void
nd_naming_instance_set_metadata(nd_naming_conf_t *nf,
    nd_naming_instance_t *inst, char *text, json_t *meta)
{
    nd_free(inst->metadata);
    inst->metadata = text;
    nd_naming_instance_preserved(inst, meta);
    nd_naming_instance_rearm(nf, inst);
}


void
nd_naming_instance_change(nd_naming_conf_t *nf, nd_naming_instance_t *inst,
    const nd_naming_change_t *ch)
{
    json_t      *merged, *v;
    const char  *k;

    if (ch->weight_set) {
        inst->weight = ch->weight;
    }

    if (ch->enabled_set) {
        inst->enabled = ch->enabled;
    }

    if (ch->healthy_set) {
        inst->healthy = ch->healthy;
        nd_naming_instance_rearm(nf, inst);
    }

    if (ch->meta && (json_object_size(ch->meta) || ch->meta_del)) {
        merged = nd_naming_meta_json(inst->metadata);
        json_object_foreach(ch->meta, k, v) {
            if (ch->meta_del) {
                json_object_del(merged, k);
            } else {
                json_object_set(merged, k, v);
            }
        }
        nd_naming_instance_set_metadata(nf, inst,
                                        nd_naming_dump_metadata(merged),
                                        merged);
        json_decref(merged);
    }
}


/* ---- instances ------------------------------------------------------------ */

nd_naming_instance_t *
nd_naming_instance_find(nd_naming_service_t *s, const nd_str_t *ip,
    nd_uint_t port, const nd_str_t *cluster)
{
    nd_queue_t            *q, *iq;
    nd_naming_cluster_t   *cl;
    nd_naming_instance_t  *inst;

    for (q = nd_queue_head(&s->clusters); q != nd_queue_sentinel(&s->clusters);
         q = nd_queue_next(q))
    {
        cl = nd_queue_data(q, nd_naming_cluster_t, link);

        if (cluster && (cl->name_len != cluster->len
                        || memcmp(cl->name, cluster->data, cluster->len)))
        {
            continue;
        }

        for (iq = nd_queue_head(&cl->instances);
             iq != nd_queue_sentinel(&cl->instances);
             iq = nd_queue_next(iq))
        {
            inst = nd_queue_data(iq, nd_naming_instance_t, cluster_link);
            if (inst->port == port && inst->ip_len == ip->len
                && memcmp(inst->ip, ip->data, ip->len) == 0)
            {
                return inst;
            }
        }
    }

    return NULL;
}


nd_str_t
nd_naming_instance_id(nd_pool_t *pool, nd_naming_instance_t *inst)
{
    nd_str_t              id;
    nd_naming_service_t  *s;

    if (inst->instance_id) {
        id.data = (u_char *) inst->instance_id;
        id.len = strlen(inst->instance_id);
        return id;
    }

    s = inst->cluster->service;
    id.len = inst->ip_len + 1 + 5 + 1 + inst->cluster->name_len + 1
             + s->grouped_len;
    id.data = nd_pnalloc(pool, id.len + 1);
    if (id.data == NULL) {
        id.len = 0;
        return id;
    }

    id.len = (size_t) snprintf((char *) id.data, id.len + 1, "%s#%u#%s#%.*s",
                               inst->ip, (unsigned) inst->port,
                               inst->cluster->name, (int) s->grouped_len,
                               s->grouped);
    return id;
}


/* the expiry tree is keyed by a time that is never later than the next
 * thing to do for the instance; a beat only moves deadlines later, so it
 * just stores last_beat and the timer re-keys lazily */
static nd_msec_t
nd_naming_instance_deadline(nd_naming_instance_t *inst)
{
    if (inst->healthy && inst->beat_timeout < inst->delete_timeout) {
        return inst->last_beat + inst->beat_timeout;
    }

    return inst->last_beat + inst->delete_timeout;
}


/* ephemeral 1.x instances of our own clients; a synced copy lives as
 * long as its owner says (Distro) */
static int
nd_naming_instance_beats(nd_naming_instance_t *inst)
{
    return inst->ephemeral && inst->client->type == ND_NAMING_CLIENT_IPPORT
           && inst->client->native;
}


void
nd_naming_instance_rearm(nd_naming_conf_t *nf, nd_naming_instance_t *inst)
{
    if (!nd_naming_instance_beats(inst)) {
        return;
    }

    if (inst->in_expire) {
        nd_rbtree_delete(&nf->expire, &inst->expire);
    }

    inst->expire.key = nd_naming_instance_deadline(inst);
    nd_rbtree_insert(&nf->expire, &inst->expire);
    inst->in_expire = 1;

    nd_naming_expire_arm(nf);
}


static void
nd_naming_expire_arm(nd_naming_conf_t *nf)
{
    nd_msec_t          at, now;
    nd_rbtree_node_t  *n;

    if (!nf->started || nd_rbtree_empty(&nf->expire)) {
        return;
    }

    n = nd_rbtree_min(&nf->expire);
    at = n->key;

    if (nd_timer_active(&nf->expire_timer) && nf->expire_at <= at) {
        return;
    }

    now = nd_current_msec;
    /* batch: never more often than every 100 ms */
    nf->expire_at = nd_max(at, now + 100);
    nd_timer_stop(&nf->expire_timer);
    nd_timer_start(&nf->expire_timer, nf->expire_at - now, ND_TIMER_ONCE);
}


void
nd_naming_expire_handler(nd_timer_t *t)
{
    nd_msec_t              now, deadline;
    nd_rbtree_node_t      *n;
    nd_naming_conf_t      *nf;
    nd_naming_instance_t  *inst;
    nd_naming_client_t    *c;

    nf = t->data;
    now = nd_current_msec;

    while (!nd_rbtree_empty(&nf->expire)) {
        n = nd_rbtree_min(&nf->expire);
        if (n->key > now) {
            break;
        }

        inst = (nd_naming_instance_t *)
               ((u_char *) n - offsetof(nd_naming_instance_t, expire));
        nd_rbtree_delete(&nf->expire, n);
        inst->in_expire = 0;

        deadline = nd_naming_instance_deadline(inst);

        if (deadline > now) {
            inst->expire.key = deadline;        /* beaten meanwhile */
            nd_rbtree_insert(&nf->expire, n);
            inst->in_expire = 1;
            continue;
        }

        /* ">=": at exactly the deadline the entry would be re-keyed to
         * now and picked again by this loop, forever */
        if (now - inst->last_beat >= inst->delete_timeout) {
            nd_log_error(ND_LOG_INFO, nf->cycle->log, 0,
                         "naming: instance %s:%u of %.*s removed, no beat "
                         "for %" PRIu64 " ms", inst->ip, (unsigned) inst->port,
                         (int) inst->cluster->service->grouped_len,
                         inst->cluster->service->grouped,
                         (uint64_t) (now - inst->last_beat));
            c = inst->client;
            nd_naming_deregister(nf, inst);
            nd_naming_client_gc(nf, c);
            continue;
        }

        if (inst->healthy) {
            nd_log_error(ND_LOG_INFO, nf->cycle->log, 0,
                         "naming: instance %s:%u of %.*s unhealthy, no beat "
                         "for %" PRIu64 " ms", inst->ip, (unsigned) inst->port,
                         (int) inst->cluster->service->grouped_len,
                         inst->cluster->service->grouped,
                         (uint64_t) (now - inst->last_beat));
            inst->healthy = 0;
            nd_naming_service_changed(nf, inst->cluster->service);
            nd_naming_client_changed(nf, inst->client);
        }

        inst->expire.key = nd_naming_instance_deadline(inst);
        nd_rbtree_insert(&nf->expire, n);
        inst->in_expire = 1;
    }

    nd_naming_expire_arm(nf);
}


void
nd_naming_instance_beat(nd_naming_conf_t *nf, nd_naming_instance_t *inst)
{
    inst->last_beat = nd_current_msec;
    inst->client->last_updated = nd_current_msec;

    if (!inst->healthy) {
        inst->healthy = 1;
        nd_naming_instance_rearm(nf, inst);
        nd_naming_service_changed(nf, inst->cluster->service);
        nd_naming_client_changed(nf, inst->client);
    }
}


void
nd_naming_instance_set_healthy(nd_naming_conf_t *nf,
    nd_naming_instance_t *inst, int healthy)
{
    if (inst->healthy == (healthy ? 1 : 0)) {
        return;
    }

    inst->healthy = healthy ? 1 : 0;
    nd_naming_instance_rearm(nf, inst);
    nd_naming_service_changed(nf, inst->cluster->service);
    nd_naming_client_changed(nf, inst->client);
}


/* a new instance of s owned by c, not linked anywhere yet */
static nd_naming_instance_t *
nd_naming_instance_new(nd_naming_conf_t *nf, nd_naming_client_t *c,
    nd_naming_service_t *s, const nd_naming_spec_t *spec)
{
    char                  *meta_text, *iid;
    nd_str_t               cname;
    nd_naming_cluster_t   *cl;
    nd_naming_instance_t  *inst;

    if (spec->ip.len > 255) {
        return NULL;
    }

    cname = spec->cluster;
    if (cname.len == 0) {
        nd_str_set(&cname, ND_NAMING_DEFAULT_CLUSTER);
    }

    cl = nd_naming_cluster_get(nf, s, &cname);
    if (cl == NULL) {
        return NULL;
    }

    meta_text = spec->metadata_text.len
                ? strndup((char *) spec->metadata_text.data,
                          spec->metadata_text.len)
                : nd_naming_dump_metadata(spec->metadata);
    iid = NULL;
    if (spec->instance_id.len) {
        iid = strndup((char *) spec->instance_id.data, spec->instance_id.len);
    }

    inst = nd_calloc(sizeof(nd_naming_instance_t) + spec->ip.len + 1);
    if (inst == NULL) {
        nd_free(meta_text);
        nd_free(iid);
        return NULL;
    }

    inst->cluster = cl;
    inst->client = c;
    inst->metadata = meta_text;
    inst->instance_id = iid;
    inst->weight = spec->weight;
    inst->last_beat = nd_current_msec;
    inst->port = (uint16_t) spec->port;
    inst->ip_len = (uint8_t) spec->ip.len;
    inst->healthy = spec->healthy;
    inst->enabled = spec->enabled;
    inst->ephemeral = spec->ephemeral;
    memcpy(inst->ip, spec->ip.data, spec->ip.len);
    nd_naming_instance_preserved(inst, spec->metadata);

    return inst;
}


static void
nd_naming_instance_link(nd_naming_conf_t *nf, nd_naming_instance_t *inst)
{
    nd_naming_client_t   *c;
    nd_naming_service_t  *s;

    c = inst->client;
    s = inst->cluster->service;

    nd_queue_insert_tail(&inst->cluster->instances, &inst->cluster_link);
    nd_queue_insert_tail(&c->instances, &inst->client_link);
    inst->cluster->ninstances++;
    c->ninstances++;
    nf->ninstances++;
    nd_naming_pubs_link(c, inst);

    if (s->ninstances++ == 0 && nd_queue_linked(&s->clean_link)) {
        nd_queue_remove(&s->clean_link);
    }

    nd_naming_instance_rearm(nf, inst);
}


/* unlinks and frees; the caller publishes the changes */
static void
nd_naming_instance_unlink(nd_naming_conf_t *nf, nd_naming_instance_t *inst)
{
    nd_naming_service_t  *s;

    s = inst->cluster->service;

    if (inst->in_expire) {
        nd_rbtree_delete(&nf->expire, &inst->expire);
    }

    nd_naming_pubs_unlink(inst->client, inst);
    nd_queue_remove(&inst->cluster_link);
    nd_queue_remove(&inst->client_link);
    inst->cluster->ninstances--;
    inst->client->ninstances--;
    nf->ninstances--;

    if (--s->ninstances == 0) {
        nd_queue_insert_tail(&nf->empty, &s->clean_link);
    }

    nd_naming_instance_free(inst);
}


nd_int_t
nd_naming_register(nd_naming_conf_t *nf, nd_naming_client_t *c,
    nd_naming_service_t *s, const nd_naming_spec_t *spec,
    nd_naming_instance_t **out)
{
    nd_naming_instance_t  *inst, *old;

    inst = nd_naming_instance_new(nf, c, s, spec);
    if (inst == NULL) {
        return ND_ERROR;
    }

    /* one instance per service per client: a new one replaces the old */
    old = nd_naming_client_instance(c, s);
    if (old) {
        nd_naming_instance_unlink(nf, old);
    }

    nd_naming_instance_link(nf, inst);

    nd_naming_service_changed(nf, s);
    nd_naming_client_changed(nf, c);

    if (out) {
        *out = inst;
    }

    return ND_OK;
}


/* inst holds what spec would make (nd_naming_instance_new) */
static int
nd_naming_instance_same(nd_naming_instance_t *inst,
    const nd_naming_spec_t *spec)
{
    int        same;
    char      *text;
    size_t     len;
    nd_str_t   cname;

    cname = spec->cluster;
    if (cname.len == 0) {
        nd_str_set(&cname, ND_NAMING_DEFAULT_CLUSTER);
    }

    if (inst->port != spec->port || inst->ip_len != spec->ip.len
        || memcmp(inst->ip, spec->ip.data, spec->ip.len) != 0
        || inst->weight != spec->weight
        || inst->healthy != spec->healthy || inst->enabled != spec->enabled
        || inst->ephemeral != spec->ephemeral
        || inst->cluster->name_len != cname.len
        || memcmp(inst->cluster->name, cname.data, cname.len) != 0)
    {
        return 0;
    }

    if (spec->instance_id.len == 0
        ? inst->instance_id != NULL
        : inst->instance_id == NULL
          || strlen(inst->instance_id) != spec->instance_id.len
          || memcmp(inst->instance_id, spec->instance_id.data,
                    spec->instance_id.len) != 0)
    {
        return 0;
    }

    if (spec->metadata_text.len) {
        return inst->metadata
               && strlen(inst->metadata) == spec->metadata_text.len
               && memcmp(inst->metadata, spec->metadata_text.data,
                         spec->metadata_text.len) == 0;
    }

    if (spec->metadata == NULL || json_object_size(spec->metadata) == 0) {
        return inst->metadata == NULL;
    }

    if (inst->metadata == NULL) {
        return 0;
    }

    text = nd_naming_dump_metadata(spec->metadata);
    if (text == NULL) {
        return 0;
    }
    len = strlen(text);
    same = strlen(inst->metadata) == len
           && memcmp(inst->metadata, text, len) == 0;
    nd_free(text);

    return same;
}


/* c's instances of s are those specs would make, in their order: a
 * register of them changes no instance (the first is s's in c->pubs) */
static int
nd_naming_client_same(nd_naming_client_t *c, nd_naming_service_t *s,
    const nd_naming_spec_t *specs, nd_uint_t n)
{
    nd_uint_t              i;
    nd_queue_t            *q;
    nd_naming_instance_t  *inst;

    inst = nd_naming_client_instance(c, s);
    if (inst == NULL) {
        return 0;
    }

    if (c->pubs && n == 1 && !inst->run_multi) {
        /* its only instance there: the next one in c->instances, of
         * another service, need not be read */
        return nd_naming_instance_same(inst, &specs[0]);
    }

    q = &inst->client_link;

    for (i = 0; i < n; i++, q = nd_queue_next(q)) {
        if (q == nd_queue_sentinel(&c->instances)) {
            return 0;
        }
        inst = nd_queue_data(q, nd_naming_instance_t, client_link);
        if (inst->cluster->service != s
            || !nd_naming_instance_same(inst, &specs[i]))
        {
            return 0;
        }
    }

    if (q != nd_queue_sentinel(&c->instances)) {
        inst = nd_queue_data(q, nd_naming_instance_t, client_link);
        if (inst->cluster->service == s) {
            return 0;
        }
    }

    return 1;
}


nd_int_t
nd_naming_register_batch(nd_naming_conf_t *nf, nd_naming_client_t *c,
    nd_naming_service_t *s, const nd_naming_spec_t *specs, nd_uint_t n)
{
    nd_uint_t              i;
    nd_queue_t            *q, *next, *cq, *cnext;
    nd_naming_cluster_t   *cl;
    nd_naming_instance_t  *inst, **made;

    /*
     * The same instances again (an SDK re-registering, a redo after a
     * reconnect): kept as they are, no allocation, no list moves (and
     * last_beat: only our own 1.x instances beat, and they register
     * through nd_naming_register).  What
     * Nacos does on any register still happens: the service's revision
     * and update time, its subscribers pushed, the client's change told
     * to the peers.
     */
    if (n && nd_naming_client_same(c, s, specs, n)) {
        nd_naming_service_changed(nf, s);
        nd_naming_client_changed(nf, c);

        return ND_OK;
    }

    made = NULL;

    if (n) {
        made = nd_alloc(n * sizeof(nd_naming_instance_t *));
        if (made == NULL) {
            return ND_ERROR;
        }

        /* all or nothing: build every instance before touching s */
        for (i = 0; i < n; i++) {
            made[i] = nd_naming_instance_new(nf, c, s, &specs[i]);
            if (made[i] == NULL) {
                while (i--) {
                    nd_naming_instance_free(made[i]);
                }
                nd_free(made);
                return ND_ERROR;
            }
        }
    }

    /* drop c's current instances of s: by its index, else walk whichever
     * list is shorter, the client's (a connection may publish thousands
     * of services) or the service's (a service may have thousands of
     * publishers) */
    if (c->pubs) {
        while ((inst = nd_naming_client_instance(c, s)) != NULL) {
            nd_naming_instance_unlink(nf, inst);
        }

    } else if (c->ninstances <= s->ninstances) {
        for (q = nd_queue_head(&c->instances);
             q != nd_queue_sentinel(&c->instances); q = next)
        {
            next = nd_queue_next(q);
            inst = nd_queue_data(q, nd_naming_instance_t, client_link);
            if (inst->cluster->service == s) {
                nd_naming_instance_unlink(nf, inst);
            }
        }

    } else {
        for (cq = nd_queue_head(&s->clusters);
             cq != nd_queue_sentinel(&s->clusters); cq = cnext)
        {
            cnext = nd_queue_next(cq);
            cl = nd_queue_data(cq, nd_naming_cluster_t, link);

            for (q = nd_queue_head(&cl->instances);
                 q != nd_queue_sentinel(&cl->instances); q = next)
            {
                next = nd_queue_next(q);
                inst = nd_queue_data(q, nd_naming_instance_t, cluster_link);
                if (inst->client == c) {
                    nd_naming_instance_unlink(nf, inst);
                }
            }
        }
    }

    for (i = 0; i < n; i++) {
        nd_naming_instance_link(nf, made[i]);
    }

    nd_free(made);

    nd_naming_service_changed(nf, s);
    nd_naming_client_changed(nf, c);

    return ND_OK;
}


void
nd_naming_deregister(nd_naming_conf_t *nf, nd_naming_instance_t *inst)
{
    nd_naming_client_t   *c;
    nd_naming_service_t  *s;

    c = inst->client;
    s = inst->cluster->service;

    nd_naming_instance_unlink(nf, inst);

    nd_naming_service_changed(nf, s);
    nd_naming_client_changed(nf, c);
}


/* the id of an ip:port client: "ip:port#ephemeral"; NULL when too long */
static u_char *
nd_naming_ipport_id(const nd_str_t *ip, nd_uint_t port, int ephemeral,
    u_char *buf, size_t size, nd_str_t *id)
{
    u_char   digits[20], *p;
    size_t   n;

    /* what snprintf("%.*s:%u#%s") makes, without its format walk */
    n = 0;
    do {
        digits[n++] = (u_char) ('0' + port % 10);
        port /= 10;
    } while (port && n < sizeof(digits));

    if (ip->len + 1 + n + (ephemeral ? sizeof("#true") : sizeof("#false"))
        > size)
    {
        return NULL;
    }

    p = (u_char *) memcpy(buf, ip->data, ip->len) + ip->len;
    *p++ = ':';
    while (n) {
        *p++ = digits[--n];
    }
    *p++ = '#';
    if (ephemeral) {
        p = (u_char *) memcpy(p, "true", 4) + 4;
    } else {
        p = (u_char *) memcpy(p, "false", 5) + 5;
    }
    *p = '\0';

    id->data = buf;
    id->len = (size_t) (p - buf);

    return buf;
}


nd_int_t
nd_naming_register_ipport(nd_naming_conf_t *nf, const nd_naming_ref_t *ref,
    const nd_naming_spec_t *spec, nd_naming_instance_t **out, char *err,
    size_t size)
{
    u_char                buf[ND_NAMING_IPPORT_ID_LEN];
    nd_str_t              cid;
    nd_naming_client_t   *c;
    nd_naming_service_t  *s;

    if (nd_naming_ipport_id(&spec->ip, spec->port, spec->ephemeral, buf,
                            sizeof(buf), &cid) == NULL)
    {
        snprintf(err, size, "Param 'ip' is illegal, the param length "
                 "should not exceed 128.");
        return ND_DECLINED;
    }

    if (nd_naming_service_admit(nf, &ref->ns, &ref->grouped, err, size)
        != ND_OK)
    {
        return ND_BUSY;
    }

    s = nd_naming_service_get(nf, &ref->ns, &ref->grouped, spec->ephemeral,
                              NULL);
    if (s == NULL) {
        return ND_ERROR;
    }

    if (s->ephemeral != spec->ephemeral) {
        snprintf(err, size, "Current service %.*s is %s service, can't "
                 "register %s instance.", (int) s->grouped_len, s->grouped,
                 s->ephemeral ? "ephemeral" : "persistent",
                 s->ephemeral ? "persistent" : "ephemeral");
        return ND_DECLINED;
    }

    c = nd_naming_client_find(nf, &cid);

    if (nd_naming_instances_admit(nf, s, c, 1, err, size) != ND_OK) {
        return ND_BUSY;
    }

    if (c == NULL) {
        c = nd_naming_client_get(nf, ND_NAMING_CLIENT_IPPORT, &cid,
                                 spec->ephemeral);
        if (c == NULL) {
            return ND_ERROR;
        }
    }

    if (nd_naming_register(nf, c, s, spec, out) != ND_OK) {
        nd_naming_client_gc(nf, c);
        return ND_ERROR;
    }

    return ND_OK;
}


void
nd_naming_deregister_ipport(nd_naming_conf_t *nf, const nd_naming_ref_t *ref,
    const nd_str_t *ip, nd_uint_t port, int ephemeral)
{
    u_char                 buf[ND_NAMING_IPPORT_ID_LEN];
    nd_str_t               cid;
    nd_naming_client_t    *c;
    nd_naming_service_t   *s;
    nd_naming_instance_t  *inst;

    if (nd_naming_ipport_id(ip, port, ephemeral, buf, sizeof(buf), &cid)
        == NULL)
    {
        return;                 /* no such client can exist */
    }

    c = nd_naming_client_find(nf, &cid);
    s = nd_naming_service_find(nf, &ref->ns, &ref->grouped);

    if (c && s) {
        inst = nd_naming_client_instance(c, s);
        if (inst) {
            nd_naming_deregister(nf, inst);
        }
        nd_naming_client_gc(nf, c);
    }
}


/* ---- empty services --------------------------------------------------------- */

void
nd_naming_clean_handler(nd_timer_t *t)
{
    nd_queue_t           *q, *next;
    nd_naming_conf_t     *nf;
    nd_naming_service_t  *s;

    nf = t->data;

    for (q = nd_queue_head(&nf->empty); q != nd_queue_sentinel(&nf->empty);
         q = next)
    {
        next = nd_queue_next(q);
        s = nd_queue_data(q, nd_naming_service_t, clean_link);

        if (s->ninstances || s->nsubs
            || nd_current_msec - s->last_updated < nf->empty_service_expire)
        {
            continue;
        }

        nd_log_error(ND_LOG_INFO, nf->cycle->log, 0,
                     "naming: empty service %s##%.*s removed", s->ns->id,
                     (int) s->grouped_len, s->grouped);
        nd_naming_service_remove(nf, s);
    }
}

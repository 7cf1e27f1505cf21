/*
 * Config across the cluster.  After a commit of this node (CONFIG_CHANGED
 * with local set) every other member gets ConfigChangeClusterSyncRequest
 * {dataId, group, tenant, lastModified (the change sequence), grayName}.
 * The notify carries no content: the receiver reads every change after
 * the last sequence it applied from the store (the truth) and fires its
 * own CONFIG_CHANGED, which answers its long polls and pushes to its gRPC
 * listeners.  A failed notify is retried with a growing delay while the
 * member is not DOWN; a member that comes back UP is told again, and a
 * node that sees a peer come back reads the store, so whatever is lost on
 * the way is repaired; the store's cache_refresh is the backstop.
 */
#include <nd_config_internal.h>

#if (ND_WITH_CLUSTER)

#include <nd_cluster.h>

#define ND_CONFIG_SYNC_TYPE      "ConfigChangeClusterSyncRequest"
#define ND_CONFIG_SYNC_RESPONSE  "ConfigChangeClusterSyncResponse"
#define ND_CONFIG_RETRY_MIN      500
#define ND_CONFIG_RETRY_MAX      30000

/* a member this node owes a notify */
typedef struct {
    nd_queue_t           link;
    nd_timer_t           timer;
    nd_msec_t            delay;
    json_t              *body;          /* the newest notify */
    unsigned             inflight:1;
    unsigned             again:1;       /* a newer notify while in flight */
    unsigned             gone:1;
    char                 address[ND_SOCKADDR_STRLEN];
} nd_config_peer_t;

static void nd_config_sync_send(nd_config_peer_t *p);


static void nd_config_sync_timer(nd_timer_t *t);


static nd_config_peer_t *
nd_config_peer_get(nd_config_conf_t *ccf, const char *address)
{
    nd_queue_t        *q;
    nd_config_peer_t  *p;

    for (q = nd_queue_head(&ccf->peers);
         q != nd_queue_sentinel(&ccf->peers); q = nd_queue_next(q))
    {
        p = nd_queue_data(q, nd_config_peer_t, link);
        if (strcmp(p->address, address) == 0) {
            return p;
        }
    }

    p = nd_calloc(sizeof(nd_config_peer_t));
    if (p == NULL) {
        return NULL;
    }

    snprintf(p->address, sizeof(p->address), "%s", address);
    nd_timer_init(&p->timer, "config cluster notify", nd_config_sync_timer,
                  p);
    nd_queue_insert_tail(&ccf->peers, &p->link);

    return p;
}


static void
nd_config_peer_free(nd_config_peer_t *p)
{
    nd_timer_stop(&p->timer);
    nd_queue_remove(&p->link);
    json_decref(p->body);

    if (p->inflight) {
        p->gone = 1;                /* freed by the answer */
        return;
    }

    nd_free(p);
}


static void
nd_config_sync_done(nd_int_t rc, const char *type, json_t *body, void *data)
{
    nd_config_peer_t  *p = data;

    p->inflight = 0;

    if (p->gone) {
        nd_free(p);
        return;
    }

    if (rc == ND_ABORT) {
        return;
    }

    if (rc == ND_OK && strcmp(type, ND_CONFIG_SYNC_RESPONSE) == 0) {
        p->delay = 0;

        if (p->again) {
            p->again = 0;
            nd_config_sync_send(p);
            return;
        }

        json_decref(p->body);
        p->body = NULL;
        return;
    }

    /* Nacos: 0.5 s, 1.5 s, 4.5 s ... capped; the newest notify goes */
    p->delay = p->delay ? nd_min(p->delay * 3, ND_CONFIG_RETRY_MAX)
                        : ND_CONFIG_RETRY_MIN;
    p->again = 0;

    nd_log_error(ND_LOG_INFO, nd_cycle->log, 0,
                 "config: notify to %s failed (%s), retry in %lu ms",
                 p->address, rc == ND_AGAIN ? "timed out" : "failed",
                 (unsigned long) p->delay);

    nd_timer_start(&p->timer, p->delay, ND_TIMER_ONCE);
}


static void
nd_config_sync_send(nd_config_peer_t *p)
{
    nd_member_t  *m;

    if (p->body == NULL) {
        return;
    }

    if (p->inflight) {
        p->again = 1;
        return;
    }

    m = nd_cluster_member_find(nd_cycle, p->address);
    if (m == NULL || m->state == ND_MEMBER_DOWN) {
        return;                     /* told again when it is back */
    }

    p->inflight = 1;

    if (nd_cluster_call(m, ND_CONFIG_SYNC_TYPE, json_incref(p->body), 0,
                        nd_config_sync_done, p) != ND_OK)
    {
        p->inflight = 0;
        return;
    }

    nd_config_conf(nd_cycle)->syncs_sent++;
}


static void
nd_config_sync_timer(nd_timer_t *t)
{
    nd_config_sync_send(t->data);
}


/* a commit of ours: tell every other member */
static void
nd_config_cluster_changed(nd_event_id_e id, const nd_str_t *ikey,
    void *payload, void *data)
{
    json_t              *body;
    nd_uint_t            i;
    nd_member_t        **mp;
    nd_config_peer_t    *p;
    nd_store_change_t   *ch = payload;
    const nd_array_t    *members;

    if (ch == NULL || !ch->local || !nd_cluster_enabled(nd_cycle)) {
        return;
    }

    members = nd_cluster_members(nd_cycle);
    mp = members->elts;

    for (i = 0; i < members->nelts; i++) {
        if (mp[i]->self) {
            continue;
        }

        body = json_pack("{s:s%, s:s%, s:s%, s:I, s:b}",
                         "dataId", ch->key.data_id.data, ch->key.data_id.len,
                         "group", ch->key.group.data, ch->key.group.len,
                         "tenant", ch->key.tenant.data, ch->key.tenant.len,
                         "lastModified", (json_int_t) ch->seq,
                         "isBeta", (int) ch->gray);
        p = nd_config_peer_get(data, mp[i]->addr.text);

        if (body == NULL || p == NULL) {
            json_decref(body);
            continue;
        }

        /* the newest notify replaces one not sent yet: it is a "read the
         * store" either way */
        json_decref(p->body);
        p->body = body;

        if (!nd_timer_active(&p->timer)) {
            nd_config_sync_send(p);
        }
    }
}


static void
nd_config_cluster_members(nd_event_id_e id, const nd_str_t *key,
    void *payload, void *data)
{
    nd_queue_t        *q, *next;
    nd_member_t       *m;
    nd_config_peer_t  *p;
    nd_config_conf_t  *ccf = data;

    for (q = nd_queue_head(&ccf->peers);
         q != nd_queue_sentinel(&ccf->peers); q = next)
    {
        next = nd_queue_next(q);
        p = nd_queue_data(q, nd_config_peer_t, link);
        m = nd_cluster_member_find(nd_cycle, p->address);

        if (m == NULL) {
            nd_config_peer_free(p);

        } else if (m->state == ND_MEMBER_UP && p->body) {
            /* back (or seen UP again after a one-way cut): what it
             * missed goes now, not when the retry's delay is over */
            nd_timer_stop(&p->timer);
            nd_config_sync_send(p);
        }
    }

    /* a peer may have committed while we could not hear it */
    nd_store_refresh_now(nd_cycle);
}


static nd_int_t
nd_config_sync_handler(nd_grpc_call_t *call, json_t *body)
{
    /* the store is the truth: read what changed, whatever it was */
    nd_store_refresh_now(nd_cycle);

    return nd_grpc_reply(call, ND_CONFIG_SYNC_RESPONSE, json_object());
}


/* ---- listener queries for the whole cluster ------------------------------ */

#define ND_CONFIG_LISTENERS_TYPE      "ConfigListenerQueryRequest"
#define ND_CONFIG_LISTENERS_RESPONSE  "ConfigListenerQueryResponse"

typedef struct {
    nd_http_request_t   *r;             /* NULL once the client went */
    json_t              *map;
    nd_uint_t            pending;
} nd_config_gather_t;


static void
nd_config_gather_finish(nd_config_gather_t *g)
{
    if (g->pending) {
        return;
    }

    if (g->r) {
        g->r->abort_handler = NULL;
        nd_config_listeners_answer(g->r, g->map);
    }

    json_decref(g->map);
    nd_free(g);
}


static void
nd_config_gather_done(nd_int_t rc, const char *type, json_t *body,
    void *data)
{
    json_t              *part;
    nd_config_gather_t  *g = data;

    part = json_object_get(body, "map");

    /* a member that does not answer is left out, as Nacos does */
    if (rc == ND_OK && strcmp(type, ND_CONFIG_LISTENERS_RESPONSE) == 0
        && json_is_object(part))
    {
        json_object_update(g->map, part);
    }

    g->pending--;
    nd_config_gather_finish(g);
}


static void
nd_config_gather_abort(nd_http_request_t *r)
{
    ((nd_config_gather_t *) r->ctx)->r = NULL;
}


nd_int_t
nd_config_cluster_gather(nd_http_request_t *r, const nd_config_key_t *key,
    const nd_str_t *ip, json_t *map)
{
    json_t              *body;
    nd_uint_t            i;
    nd_member_t        **mp;
    nd_config_gather_t  *g;
    const nd_array_t    *members;

    if (!nd_cluster_enabled(nd_cycle)) {
        return ND_DECLINED;
    }

    if (key) {
        body = json_pack("{s:s%, s:s%, s:s%}",
                         "dataId", key->data_id.data, key->data_id.len,
                         "group", key->group.data, key->group.len,
                         "tenant", key->tenant.data ? key->tenant.data
                                                    : (u_char *) "",
                         key->tenant.len);
    } else {
        body = json_pack("{s:s%}", "ip", ip->data, ip->len);
    }

    g = nd_calloc(sizeof(nd_config_gather_t));
    if (body == NULL || g == NULL) {
        json_decref(body);
        nd_free(g);
        return ND_DECLINED;
    }

    g->r = r;
    g->map = map;
    g->pending = 1;                 /* held while the calls go out */

    members = nd_cluster_members(nd_cycle);
    mp = members->elts;

    for (i = 0; i < members->nelts; i++) {
        if (!mp[i]->self
            && nd_cluster_call(mp[i], ND_CONFIG_LISTENERS_TYPE,
                               json_incref(body), 0, nd_config_gather_done, g)
               == ND_OK)
        {
            g->pending++;
        }
    }

    json_decref(body);

    r->ctx = g;
    r->abort_handler = nd_config_gather_abort;

    if (--g->pending == 0) {
        /* nobody to ask after all: the caller answers */
        r->abort_handler = NULL;
        nd_free(g);
        return ND_DECLINED;
    }

    return ND_DONE;
}


static nd_int_t
nd_config_listeners_handler(nd_grpc_call_t *call, json_t *body)
{
    json_t           *map;
    nd_str_t          ip;
    nd_config_key_t   key;

    ip.data = (u_char *) nd_json_get_str(body, "ip", "");
    ip.len = strlen((char *) ip.data);

    if (ip.len == 0) {
        key.data_id.data = (u_char *) nd_json_get_str(body, "dataId", "");
        key.data_id.len = strlen((char *) key.data_id.data);
        key.group.data = (u_char *) nd_json_get_str(body, "group", "");
        key.group.len = strlen((char *) key.group.data);
        key.tenant.data = (u_char *) nd_json_get_str(body, "tenant", "");
        key.tenant.len = strlen((char *) key.tenant.data);

        if (key.data_id.len == 0 || key.group.len == 0) {
            return nd_grpc_reply_error(call, 400, "a listener query needs "
                                       "dataId and group, or ip");
        }
    }

    map = nd_config_listeners_map(nd_cycle, ip.len ? NULL : &key, &ip);
    if (map == NULL) {
        return ND_ERROR;
    }

    return nd_grpc_reply(call, ND_CONFIG_LISTENERS_RESPONSE,
                         json_pack("{s:o}", "map", map));
}


static const nd_grpc_handler_t  nd_config_cluster_handlers[] = {
    { nd_string(ND_CONFIG_SYNC_TYPE), nd_config_sync_handler },
    { nd_string(ND_CONFIG_LISTENERS_TYPE), nd_config_listeners_handler },
    nd_grpc_null_handler
};


nd_int_t
nd_config_cluster_init(nd_cycle_t *cycle)
{
    nd_config_conf_t  *ccf;

    ccf = nd_config_conf(cycle);
    nd_queue_init(&ccf->peers);

    if (nd_cluster_add_handlers(cycle, nd_config_cluster_handlers) != ND_OK
        || nd_event_subscribe(cycle, ND_EV_CONFIG_CHANGED,
                              nd_config_cluster_changed, ccf) != ND_OK
        || nd_event_subscribe(cycle, ND_EV_MEMBERS_CHANGED,
                              nd_config_cluster_members, ccf) != ND_OK)
    {
        return ND_ERROR;
    }

    return ND_OK;
}


void
nd_config_cluster_exit(nd_cycle_t *cycle)
{
    nd_queue_t        *q;
    nd_config_peer_t  *p;
    nd_config_conf_t  *ccf;

    ccf = nd_config_conf(cycle);

    if (ccf->peers.next == NULL) {
        return;
    }

    while (!nd_queue_empty(&ccf->peers)) {
        q = nd_queue_head(&ccf->peers);
        p = nd_queue_data(q, nd_config_peer_t, link);
        p->inflight = 0;            /* the cluster's peers are gone */
        nd_config_peer_free(p);
    }
}

#endif

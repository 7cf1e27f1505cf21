/*
 * The distro module: every node holds every ephemeral naming client of
 * the cluster; the node responsible for a client (its gRPC connection is
 * here, or its 1.x ip:port hashes here) sends the client's state to every
 * peer when it changes (CHANGE), and DELETE when it goes.  Tasks merge per
 * (client, peer) while queued and go out as one batch per peer at the end
 * of the loop pass (or after sync_delay).  Every verify_interval each node
 * sends each peer one list of (client, revision) of its own clients; the
 * peer renews those copies and names the ones it lacks or holds at another
 * revision, which are sent again (ADD).  A copy nobody renews expires after
 * synced_expire.  A starting node loads a snapshot from a peer before it
 * reports ready.
 */
#include <nd_distro.h>

static void *nd_distro_create_conf(nd_cycle_t *cycle);
static char *nd_distro_init_conf(nd_cycle_t *cycle, void *conf);
static nd_int_t nd_distro_init_module(nd_cycle_t *cycle);
static nd_int_t nd_distro_start(nd_cycle_t *cycle);
static void nd_distro_stop(nd_cycle_t *cycle);
static void nd_distro_exit(nd_cycle_t *cycle);
static void nd_distro_flush_handler(nd_posted_t *p);
static void nd_distro_retry_handler(nd_timer_t *t);
static void nd_distro_snapshot_next(nd_distro_conf_t *dcf);

static nd_conf_bounds_t  nd_distro_batch_bounds = { 1, 100000 };

static nd_command_t  nd_distro_commands[] = {

    { nd_string("distro"),
      ND_MAIN_CONF | ND_CONF_BLOCK | ND_CONF_NOARGS,
      nd_conf_module_block, 0, NULL },

    { nd_string("sync_delay"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_distro_conf_t, sync_delay), NULL },

    { nd_string("verify_interval"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_distro_conf_t, verify_interval),
      NULL },

    { nd_string("synced_expire"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_distro_conf_t, synced_expire),
      NULL },

    { nd_string("snapshot_wait"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_distro_conf_t, snapshot_wait),
      NULL },

    { nd_string("batch_max"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_num_slot, offsetof(nd_distro_conf_t, batch_max),
      &nd_distro_batch_bounds },

    nd_null_command
};

nd_module_t  nd_distro_module = {
    .name = "distro",
    .commands = nd_distro_commands,
    .create_conf = nd_distro_create_conf,
    .init_conf = nd_distro_init_conf,
    .init_module = nd_distro_init_module,
    .start = nd_distro_start,
    .stop = nd_distro_stop,
    .exit = nd_distro_exit,
};

static const nd_grpc_handler_t  nd_distro_handlers[] = {
    { nd_string(ND_DISTRO_TYPE), nd_distro_handler },
    nd_grpc_null_handler
};

static const char  *nd_distro_op_names[] = { "CHANGE", "ADD", "DELETE" };


static void *
nd_distro_create_conf(nd_cycle_t *cycle)
{
    nd_distro_conf_t  *dcf;

    dcf = nd_pcalloc(cycle->pool, sizeof(nd_distro_conf_t));
    if (dcf == NULL) {
        return NULL;
    }

    dcf->sync_delay = ND_CONF_UNSET_MSEC;
    dcf->verify_interval = ND_CONF_UNSET_MSEC;
    dcf->synced_expire = ND_CONF_UNSET_MSEC;
    dcf->snapshot_wait = ND_CONF_UNSET_MSEC;
    dcf->batch_max = ND_CONF_UNSET_UINT;

    return dcf;
}


static char *
nd_distro_init_conf(nd_cycle_t *cycle, void *conf)
{
    nd_distro_conf_t  *dcf = conf;

    nd_conf_init_msec_value(dcf->sync_delay, 0);
    nd_conf_init_msec_value(dcf->verify_interval, 5000);
    nd_conf_init_msec_value(dcf->synced_expire, 180000);
    nd_conf_init_msec_value(dcf->snapshot_wait, 10000);
    nd_conf_init_uint_value(dcf->batch_max, 1000);

    if (dcf->verify_interval == 0 || dcf->synced_expire == 0) {
        return "distro intervals must not be 0";
    }

    if (dcf->synced_expire <= 2 * dcf->verify_interval) {
        return "\"synced_expire\" must be over twice \"verify_interval\"";
    }

    return ND_CONF_OK;
}


/* ---- the hash ring of 1.x clients ---------------------------------------- */

static void
nd_distro_ring_build(nd_distro_conf_t *dcf)
{
    char               *a;
    nd_uint_t           i;
    nd_member_t       **mp;
    const nd_array_t   *members;

    members = nd_cluster_members(nd_cycle);
    mp = members->elts;
    dcf->ring.nelts = 0;

    for (i = 0; i < members->nelts; i++) {
        if (mp[i]->state == ND_MEMBER_DOWN) {
            continue;
        }
        a = nd_array_push(&dcf->ring);
        if (a) {
            snprintf(a, ND_SOCKADDR_STRLEN, "%s", mp[i]->addr.text);
        }
    }
}


/* the member responsible for a 1.x client id "ip:port#true" (the hash of
 * "ip:port" over the sorted UP and SUSPICIOUS members); NULL: this node */
const char *
nd_distro_owner(nd_distro_conf_t *dcf, const char *id, size_t len)
{
    char         *a;
    const char   *hash;
    nd_member_t  *self;

    if (!dcf->enabled || dcf->ring.nelts == 0) {
        return NULL;
    }

    hash = memchr(id, '#', len);
    if (hash) {
        len = (size_t) (hash - id);
    }

    /* every member must pick the same owner: a stable hash (FNV-1a), not
     * the tables' per-process keyed one */
    a = (char *) dcf->ring.elts + ND_SOCKADDR_STRLEN
        * (nd_hash_stable((const u_char *) id, len) % dcf->ring.nelts);

    self = nd_cluster_self(nd_cycle);

    return strcmp(a, self->addr.text) == 0 ? NULL : a;
}


/* is this node responsible for the client? */
static int
nd_distro_mine(nd_distro_conf_t *dcf, nd_naming_client_t *c)
{
    if (c->type == ND_NAMING_CLIENT_CONNECTION) {
        return c->native;           /* its connection ends here or not */
    }

    return nd_distro_owner(dcf, nd_naming_cid(c), nd_naming_cid_len(c))
           == NULL;
}


/* after a ring change, 1.x clients change hands: ours become native (beat
 * expiry from now), others' become synced copies */
static void
nd_distro_reown(nd_distro_conf_t *dcf)
{
    nd_uint_t            i;
    nd_hash_elt_t       *e;
    nd_naming_client_t  *c;

    for (e = nd_hash_first(&dcf->nf->clients, &i); e;
         e = nd_hash_next(&dcf->nf->clients, e, &i))
    {
        c = e->value;
        if (c->type != ND_NAMING_CLIENT_IPPORT || !c->ephemeral) {
            continue;
        }

        nd_naming_client_set_native(dcf->nf, c, nd_distro_mine(dcf, c));
    }
}


/* ---- peers ------------------------------------------------------------- */

static nd_distro_peer_t *
nd_distro_peer_find(nd_distro_conf_t *dcf, const char *address)
{
    nd_queue_t        *q;
    nd_distro_peer_t  *p;

    for (q = nd_queue_head(&dcf->peers); q != nd_queue_sentinel(&dcf->peers);
         q = nd_queue_next(q))
    {
        p = nd_queue_data(q, nd_distro_peer_t, link);
        if (strcmp(p->address, address) == 0) {
            return p;
        }
    }

    return NULL;
}


static void
nd_distro_tasks_free(nd_distro_peer_t *p, nd_queue_t *list, int indexed)
{
    nd_queue_t        *q;
    nd_distro_task_t  *t;

    while (!nd_queue_empty(list)) {
        q = nd_queue_head(list);
        nd_queue_remove(q);
        t = nd_queue_data(q, nd_distro_task_t, link);
        if (indexed) {
            nd_hash_del(&p->pending, (u_char *) t->id, t->len);
        }
        nd_free(t);
    }
}


static void nd_distro_drain_release(nd_distro_peer_t *p);

/* a batch written at the stop (the clients are released after it) */
typedef struct {
    nd_queue_t           link;          /* p->drain */
    nd_buf_t             body;
} nd_distro_body_t;


static void
nd_distro_body_free(nd_distro_body_t *b)
{
    nd_buf_free(&b->body);
    nd_free(b);
}


static void
nd_distro_drain_free(nd_distro_peer_t *p)
{
    nd_queue_t  *q;

    while (!nd_queue_empty(&p->drain)) {
        q = nd_queue_head(&p->drain);
        nd_queue_remove(q);
        nd_distro_body_free(nd_queue_data(q, nd_distro_body_t, link));
    }
}


static void
nd_distro_peer_free(nd_distro_peer_t *p)
{
    if (!p->sending) {
        nd_distro_drain_release(p);     /* else at the call's answer */
    }

    nd_post_cancel(&p->flush);
    nd_timer_stop(&p->retry);
    nd_queue_remove(&p->link);

    nd_distro_tasks_free(p, &p->tasks, 1);
    nd_distro_drain_free(p);

    if (p->sending || p->verifying) {
        p->gone = 1;                /* freed by the call's answer */
        return;
    }

    nd_distro_tasks_free(p, &p->inflight, 0);
    nd_hash_free(&p->pending);
    nd_free(p);
}


static nd_distro_peer_t *
nd_distro_peer_add(nd_distro_conf_t *dcf, const char *address)
{
    nd_distro_peer_t  *p;

    p = nd_calloc(sizeof(nd_distro_peer_t));
    if (p == NULL || nd_hash_init(&p->pending, 64) != ND_OK) {
        nd_free(p);
        return NULL;
    }

    p->dcf = dcf;
    snprintf(p->address, sizeof(p->address), "%s", address);
    nd_queue_init(&p->tasks);
    nd_queue_init(&p->inflight);
    nd_queue_init(&p->drain);
    p->flush.handler = nd_distro_flush_handler;
    p->flush.data = p;
    nd_timer_init(&p->retry, "distro retry", nd_distro_retry_handler, p);
    nd_queue_insert_tail(&dcf->peers, &p->link);

    return p;
}


/* a peer went DOWN: its queued CHANGE and ADD go (see enqueue_all) */
static void
nd_distro_purge(nd_distro_peer_t *p)
{
    nd_queue_t        *q, *next;
    nd_distro_task_t  *t;

    for (q = nd_queue_head(&p->tasks); q != nd_queue_sentinel(&p->tasks);
         q = next)
    {
        next = nd_queue_next(q);
        t = nd_queue_data(q, nd_distro_task_t, link);

        if (t->op != ND_DISTRO_DELETE) {
            nd_queue_remove(q);
            nd_hash_del(&p->pending, (u_char *) t->id, t->len);
            nd_free(t);
        }
    }
}


static void
nd_distro_schedule(nd_distro_peer_t *p)
{
    if (p->sending || nd_timer_active(&p->retry)
        || nd_queue_empty(&p->tasks))
    {
        return;
    }

    if (p->dcf->sync_delay) {
        nd_timer_start(&p->retry, p->dcf->sync_delay, ND_TIMER_ONCE);
    } else {
        nd_post(&p->flush);         /* the end of this loop pass */
    }
}


/* queue op for the client on p; a queued task of the client is replaced
 * (the newest action wins; the state is read when sent) */
static void
nd_distro_enqueue(nd_distro_peer_t *p, nd_distro_op_e op, const char *id,
    size_t len)
{
    nd_distro_task_t  *t;

    t = nd_hash_find(&p->pending, (const u_char *) id, len);
    if (t) {
        /* an ADD asked by verify does not hide a DELETE queued since */
        if (!(op == ND_DISTRO_ADD && t->op == ND_DISTRO_DELETE)) {
            t->op = (uint8_t) op;
        }
        return;
    }

    t = nd_alloc(sizeof(nd_distro_task_t) + len + 1);
    if (t == NULL) {
        return;
    }

    t->op = (uint8_t) op;
    t->len = (uint16_t) len;
    memcpy(t->id, id, len);
    t->id[len] = '\0';

    if (nd_hash_add(&p->pending, (u_char *) t->id, len, t) != ND_OK) {
        nd_free(t);
        return;
    }

    nd_queue_insert_tail(&p->tasks, &t->link);
    nd_distro_schedule(p);
}


/*
 * A peer that is DOWN gets no CHANGE: when it comes back, verify names what
 * it lacks (and a restarted peer loads a snapshot).  It keeps its DELETEs,
 * ids only: nothing else would remove a copy whose client is gone before
 * synced_expire.
 */
static void
nd_distro_enqueue_all(nd_distro_conf_t *dcf, nd_distro_op_e op,
    const char *id, size_t len)
{
    nd_queue_t        *q;
    nd_member_t       *m;
    nd_distro_peer_t  *p;

    for (q = nd_queue_head(&dcf->peers); q != nd_queue_sentinel(&dcf->peers);
         q = nd_queue_next(q))
    {
        p = nd_queue_data(q, nd_distro_peer_t, link);

        if (op != ND_DISTRO_DELETE) {
            m = nd_cluster_member_find(nd_cycle, p->address);
            if (m == NULL || m->state == ND_MEMBER_DOWN) {
                continue;
            }
        }

        nd_distro_enqueue(p, op, id, len);
    }
}


/* p's queue is out (or cannot go): the stop waits for it no more */
static void
nd_distro_drain_release(nd_distro_peer_t *p)
{
    nd_distro_conf_t  *dcf;

    if (!p->drain_hold) {
        return;
    }

    p->drain_hold = 0;
    dcf = p->dcf;

    if (--dcf->drains == 0 && dcf->draining) {
        nd_log_error(ND_LOG_NOTICE, nd_cycle->log, 0,
                     "distro: stop: the queues are out");
        dcf->draining = 0;
        nd_cluster_release(nd_cycle);
        nd_cycle->busy--;
    }
}


static void nd_distro_send(nd_distro_peer_t *p, nd_member_t *m,
    const u_char *body, size_t len);


/* stopping: p's next batch written at the stop, now */
static void
nd_distro_drain_next(nd_distro_peer_t *p)
{
    nd_queue_t        *q;
    nd_member_t       *m;
    nd_distro_body_t  *b;

    if (p->sending) {
        return;
    }

    m = nd_cluster_member_find(nd_cycle, p->address);

    if (nd_queue_empty(&p->drain) || m == NULL
        || m->state == ND_MEMBER_DOWN)
    {
        nd_distro_drain_free(p);
        nd_distro_drain_release(p);
        return;
    }

    q = nd_queue_head(&p->drain);
    nd_queue_remove(q);
    b = nd_queue_data(q, nd_distro_body_t, link);
    nd_distro_send(p, m, nd_buf_start(&b->body), nd_buf_size(&b->body));
    nd_distro_body_free(b);
}


static void
nd_distro_sync_done(nd_int_t rc, const char *type, json_t *body, void *data)
{
    nd_queue_t        *q;
    nd_distro_peer_t  *p = data;
    nd_distro_task_t  *t;

    p->sending = 0;

    if (p->gone) {
        nd_distro_drain_release(p);
        if (!p->verifying) {
            nd_distro_tasks_free(p, &p->inflight, 0);
            nd_hash_free(&p->pending);
            nd_free(p);
        }
        return;
    }

    if (rc == ND_OK && strcmp(type, ND_DISTRO_RESPONSE) == 0) {
        nd_distro_tasks_free(p, &p->inflight, 0);
        p->backoff = 0;
        p->sent++;

        if (p->drain_hold) {
            nd_distro_drain_next(p);
        } else {
            nd_distro_schedule(p);
        }
        return;
    }

    /* the batch failed: its tasks go back unless a newer one is queued */
    p->failed++;

    if (p->drain_hold) {
        /* stopping: no retry; the clients' redo elsewhere repairs it */
        nd_log_error(ND_LOG_WARN, nd_cycle->log, 0,
                     "distro: stop: sync to %s failed, what was left for "
                     "it is dropped", p->address);
        nd_distro_tasks_free(p, &p->inflight, 0);
        nd_distro_drain_free(p);
        nd_distro_drain_release(p);
        return;
    }

    while (!nd_queue_empty(&p->inflight)) {
        q = nd_queue_last(&p->inflight);
        nd_queue_remove(q);
        t = nd_queue_data(q, nd_distro_task_t, link);

        if (nd_hash_find(&p->pending, (u_char *) t->id, t->len)
            || nd_hash_add(&p->pending, (u_char *) t->id, t->len, t)
               != ND_OK)
        {
            nd_free(t);
            continue;
        }

        nd_queue_insert_head(&p->tasks, &t->link);
    }

    if (rc == ND_ABORT) {
        return;                     /* the member or this node is going */
    }

    p->backoff = p->backoff ? nd_min(p->backoff * 2, 10000) : 200;

    nd_log_error(ND_LOG_INFO, nd_cycle->log, 0,
                 "distro: sync to %s failed (%s), retry in %lu ms",
                 p->address,
                 rc == ND_AGAIN ? "timed out" : rc == ND_DECLINED
                 ? "not connected" : rc == ND_OK
                 ? nd_json_get_str(body, "message", "error answer")
                 : "failed", (unsigned long) p->backoff);

    nd_timer_start(&p->retry, p->backoff, ND_TIMER_ONCE);
}


/* the next batch of p's queue as a SYNC body, written as text (a batch
 * after a restart holds many thousands of clients); its tasks move to
 * into, each client's state read now */
static void
nd_distro_batch(nd_distro_peer_t *p, nd_buf_t *body, nd_queue_t *into)
{
    nd_str_t             id;
    nd_uint_t            n, items;
    nd_queue_t          *q;
    nd_distro_task_t    *t;
    nd_naming_client_t  *c;

    nd_buf_appendf(body, "{\"v\":%d,\"op\":\"SYNC\",\"items\":[",
                   ND_DISTRO_VERSION);
    items = 0;

    for (n = 0; n < p->dcf->batch_max && !nd_queue_empty(&p->tasks); n++) {
        q = nd_queue_head(&p->tasks);
        nd_queue_remove(q);
        t = nd_queue_data(q, nd_distro_task_t, link);
        nd_hash_del(&p->pending, (u_char *) t->id, t->len);
        nd_queue_insert_tail(into, &t->link);

        id.data = (u_char *) t->id;
        id.len = t->len;
        c = nd_naming_client_find(p->dcf->nf, &id);

        if (c && t->op != ND_DISTRO_DELETE && !c->native) {
            continue;               /* no longer ours */
        }

        if (items++) {
            nd_buf_append_lit(body, ",");
        }

        if (t->op == ND_DISTRO_DELETE || c == NULL) {
            nd_buf_append_lit(body, "{\"op\":\"DELETE\",\"id\":");
            nd_json_str(body, t->id, t->len);
            nd_buf_append_lit(body, "}");

        } else {
            nd_buf_appendf(body, "{\"op\":\"%s\",\"client\":",
                           nd_distro_op_names[t->op]);
            nd_distro_client_text(body, c);
            nd_buf_append_lit(body, "}");
        }
    }

    nd_buf_append_lit(body, "]}");
}


static void
nd_distro_send(nd_distro_peer_t *p, nd_member_t *m, const u_char *body,
    size_t len)
{
    p->sending = 1;

    if (nd_cluster_call_raw(m, ND_DISTRO_TYPE, body, len, 0,
                            nd_distro_sync_done, p)
        != ND_OK)
    {
        nd_distro_sync_done(ND_DECLINED, NULL, NULL, p);
    }
}


/* one batch of the queued tasks to p */
static void
nd_distro_flush(nd_distro_peer_t *p)
{
    nd_buf_t      body;
    nd_member_t  *m;

    if (p->sending || nd_queue_empty(&p->tasks)) {
        return;
    }

    m = nd_cluster_member_find(nd_cycle, p->address);
    if (m == NULL || m->state == ND_MEMBER_DOWN) {
        return;                     /* MEMBERS_CHANGED brings us back */
    }

    nd_buf_init(&body);
    nd_distro_batch(p, &body, &p->inflight);
    nd_distro_send(p, m, nd_buf_start(&body), nd_buf_size(&body));
    nd_buf_free(&body);
}


static void
nd_distro_flush_handler(nd_posted_t *ev)
{
    nd_distro_flush(ev->data);
}


static void
nd_distro_retry_handler(nd_timer_t *t)
{
    nd_distro_flush(t->data);
}


/* ---- events ------------------------------------------------------------ */

static void
nd_distro_client_event(nd_event_id_e id, const nd_str_t *key, void *payload,
    void *data)
{
    nd_distro_conf_t   *dcf = data;
    nd_naming_event_t  *ev = payload;

    if (ev == NULL || !ev->ephemeral || !ev->native || !dcf->started) {
        return;                     /* not ours to tell */
    }

    nd_distro_enqueue_all(dcf, id == ND_EV_CLIENT_DISCONNECTED
                               ? ND_DISTRO_DELETE : ND_DISTRO_CHANGE,
                          (const char *) ev->client_id.data,
                          ev->client_id.len);
}


static void
nd_distro_members_changed(nd_event_id_e id, const nd_str_t *key,
    void *payload, void *data)
{
    nd_uint_t           i;
    nd_queue_t         *q, *next;
    nd_member_t       **mp;
    nd_distro_peer_t   *p;
    nd_distro_conf_t   *dcf = data;
    const nd_array_t   *members;

    members = nd_cluster_members(nd_cycle);
    mp = members->elts;

    /* peers that left */
    for (q = nd_queue_head(&dcf->peers); q != nd_queue_sentinel(&dcf->peers);
         q = next)
    {
        next = nd_queue_next(q);
        p = nd_queue_data(q, nd_distro_peer_t, link);
        if (nd_cluster_member_find(nd_cycle, p->address) == NULL) {
            nd_log_error(ND_LOG_NOTICE, nd_cycle->log, 0,
                         "distro: %s left the cluster, its queue is dropped",
                         p->address);
            nd_distro_peer_free(p);
        }
    }

    /* new peers, and flushes to peers that came back */
    for (i = 0; i < members->nelts; i++) {
        if (mp[i]->self) {
            continue;
        }

        p = nd_distro_peer_find(dcf, mp[i]->addr.text);
        if (p == NULL) {
            p = nd_distro_peer_add(dcf, mp[i]->addr.text);
        }

        if (p == NULL) {
            continue;
        }

        if (mp[i]->state == ND_MEMBER_DOWN) {
            nd_distro_purge(p);
        } else {
            nd_distro_schedule(p);
        }
    }

    dcf->enabled = members->nelts > 1;

    /* with no peer, nothing reads the client changes (one event a
     * register); a peer added later learns them by verify, as one that
     * was DOWN */
    nd_naming_client_changes_read(dcf->nf, dcf->enabled);
    nd_distro_ring_build(dcf);

    if (dcf->started) {
        nd_distro_reown(dcf);
    }
}


/* ---- verify ---------------------------------------------------------------- */

static void
nd_distro_verify_done(nd_int_t rc, const char *type, json_t *body,
    void *data)
{
    size_t             i;
    json_t            *missing, *v;
    nd_distro_peer_t  *p = data;

    p->verifying = 0;

    if (p->gone) {
        if (!p->sending) {
            nd_distro_tasks_free(p, &p->inflight, 0);
            nd_hash_free(&p->pending);
            nd_free(p);
        }
        return;
    }

    if (rc != ND_OK || strcmp(type, ND_DISTRO_RESPONSE) != 0) {
        return;                     /* the next interval tries again */
    }

    missing = json_object_get(body, "missing");

    json_array_foreach(missing, i, v) {
        if (json_is_string(v)) {
            /* ClientVerifyFailed: send the whole client again */
            p->verify_missing++;
            nd_distro_enqueue(p, ND_DISTRO_ADD, json_string_value(v),
                              json_string_length(v));
        }
    }
}


static void
nd_distro_verify_handler(nd_timer_t *t)
{
    json_t              *list, *body;
    nd_uint_t            i;
    nd_queue_t          *q;
    nd_member_t         *m;
    nd_hash_elt_t       *e;
    nd_distro_conf_t    *dcf;
    nd_distro_peer_t    *p;
    nd_naming_client_t  *c;

    dcf = t->data;

    if (dcf->loading) {
        return;
    }

    /* one list of our clients, shared by every peer's call */
    list = json_array();
    if (list == NULL) {
        return;
    }

    for (e = nd_hash_first(&dcf->nf->clients, &i); e;
         e = nd_hash_next(&dcf->nf->clients, e, &i))
    {
        c = e->value;
        if (c->ephemeral && c->native && nd_distro_mine(dcf, c)) {
            json_array_append_new(list, json_pack("[s, I]", nd_naming_cid(c),
                                                  (json_int_t) c->revision));
        }
    }

    for (q = nd_queue_head(&dcf->peers); q != nd_queue_sentinel(&dcf->peers);
         q = nd_queue_next(q))
    {
        p = nd_queue_data(q, nd_distro_peer_t, link);
        m = nd_cluster_member_find(nd_cycle, p->address);

        if (p->verifying || m == NULL || m->state == ND_MEMBER_DOWN) {
            continue;
        }

        body = json_pack("{s:i, s:s, s:O}", "v", ND_DISTRO_VERSION,
                         "op", "VERIFY", "clients", list);
        if (body == NULL) {
            continue;
        }

        p->verifying = 1;
        if (nd_cluster_call(m, ND_DISTRO_TYPE, body, 0, nd_distro_verify_done,
                            p) != ND_OK)
        {
            p->verifying = 0;
        }
    }

    json_decref(list);
}


/* copies nobody renewed for synced_expire are gone */
static void
nd_distro_expire_handler(nd_timer_t *t)
{
    nd_uint_t            i, n;
    nd_hash_elt_t       *e;
    nd_distro_conf_t    *dcf;
    nd_naming_client_t  *c, **old;

    dcf = t->data;
    n = 0;
    old = NULL;

    for (e = nd_hash_first(&dcf->nf->clients, &i); e;
         e = nd_hash_next(&dcf->nf->clients, e, &i))
    {
        c = e->value;
        if (!c->native && c->ephemeral
            && nd_current_msec - c->last_updated > dcf->synced_expire)
        {
            if (n % 64 == 0) {
                void  *grown = realloc(old, (n + 64) * sizeof(*old));

                if (grown == NULL) {
                    break;
                }
                old = grown;
            }
            old[n++] = c;
        }
    }

    for (i = 0; i < n; i++) {
        nd_log_error(ND_LOG_NOTICE, nd_cycle->log, 0,
                     "distro: synced client %s expired (not renewed for "
                     "%lu ms)", nd_naming_cid(old[i]),
                     (unsigned long) (nd_current_msec
                                      - old[i]->last_updated));
        nd_naming_client_release(dcf->nf, old[i]);
    }

    free(old);
}


/* ---- the snapshot at start ----------------------------------------------- */

static void
nd_distro_loaded(nd_distro_conf_t *dcf, const char *how)
{
    if (!dcf->loading) {
        return;
    }

    dcf->loading = 0;
    nd_timer_stop(&dcf->snapshot);

    nd_log_error(ND_LOG_NOTICE, nd_cycle->log, 0,
                 "distro: %s, %lu clients", how,
                 (unsigned long) dcf->nf->clients.nelts);

    nd_distro_reown(dcf);
    nd_module_ready(nd_cycle, &nd_distro_module);
}


static void
nd_distro_snapshot_done(nd_int_t rc, const char *type, json_t *body,
    void *data)
{
    size_t             i;
    json_t            *clients, *client, *next;
    nd_distro_conf_t  *dcf = data;

    if (!dcf->loading || rc == ND_ABORT) {
        return;
    }

    clients = json_object_get(body, "clients");
    next = json_object_get(body, "next");

    if (rc != ND_OK || strcmp(type, ND_DISTRO_RESPONSE) != 0
        || !json_is_array(clients) || !json_is_integer(next))
    {
        dcf->snapshot_next++;       /* the next peer */
        dcf->snapshot_cursor = 0;
        nd_distro_snapshot_next(dcf);
        return;
    }

    /* the next page is asked first: the peer writes it while we apply
     * this one */
    if (json_integer_value(next) >= 0) {
        dcf->snapshot_cursor = json_integer_value(next);
        nd_distro_snapshot_next(dcf);
    }

    json_array_foreach(clients, i, client) {
        if (nd_distro_client_check(client) == NULL) {
            nd_distro_client_apply(dcf, client);
        }
    }

    if (json_integer_value(next) >= 0) {
        return;
    }

    /* a peer that is itself still loading has nothing better to give
     * than what it has: good enough when every member starts together */
    nd_distro_loaded(dcf, json_is_true(json_object_get(body, "ready"))
                          ? "snapshot loaded" : "snapshot of a starting peer "
                          "loaded");
}


static void
nd_distro_snapshot_next(nd_distro_conf_t *dcf)
{
    json_t              *body;
    nd_uint_t            i, k;
    nd_member_t        **mp;
    const nd_array_t    *members;

    members = nd_cluster_members(nd_cycle);
    mp = members->elts;

    /* the snapshot_next-th peer that can be asked */
    for (k = 0, i = 0; i < members->nelts; i++) {
        if (mp[i]->self) {
            continue;
        }
        if (k++ == dcf->snapshot_next) {
            break;
        }
    }

    if (i == members->nelts) {
        /* every peer tried: again shortly, until snapshot_wait is over */
        dcf->snapshot_next = 0;
        dcf->snapshot_cursor = 0;

        if (nd_current_msec >= dcf->snapshot_until) {
            nd_log_error(ND_LOG_WARN, nd_cycle->log, 0,
                         "distro: no peer gave a snapshot in %lu ms, "
                         "starting empty",
                         (unsigned long) dcf->snapshot_wait);
            nd_distro_loaded(dcf, "started without a snapshot");
            return;
        }

        nd_timer_start(&dcf->snapshot, 500, ND_TIMER_ONCE);
        return;
    }

    body = json_pack("{s:i, s:s, s:I}", "v", ND_DISTRO_VERSION,
                     "op", "SNAPSHOT", "cursor",
                     (json_int_t) dcf->snapshot_cursor);

    /* a peer not known UP yet is asked anyway: nd_cluster_call refuses
     * only DOWN ones, and the connection may well be up */
    if (body == NULL
        || nd_cluster_call(mp[i], ND_DISTRO_TYPE, body, 0,
                           nd_distro_snapshot_done, dcf) != ND_OK)
    {
        dcf->snapshot_next++;
        nd_timer_start(&dcf->snapshot, 100, ND_TIMER_ONCE);
    }
}


static void
nd_distro_snapshot_timer(nd_timer_t *t)
{
    nd_distro_snapshot_next(t->data);
}


/* ---- module hooks -------------------------------------------------------- */

/* ---- metrics -------------------------------------------------------------- */

static const struct {
    const char        *name;
    nd_metric_type_e   type;
    const char        *help;
} nd_distro_peer_metrics[] = {
    { "nacosd_distro_queue_length", ND_METRIC_GAUGE,
      "Clients queued for a sync to each peer." },
    { "nacosd_distro_batches_sent_total", ND_METRIC_COUNTER,
      "Distro sync batches each peer took." },
    { "nacosd_distro_batches_retried_total", ND_METRIC_COUNTER,
      "Distro sync batches to each peer that failed and were queued "
      "again." },
    { "nacosd_distro_verify_failures_total", ND_METRIC_COUNTER,
      "Clients each peer's verify answer named as missing or stale "
      "(sent again whole)." },
};


static double
nd_distro_peer_metric(nd_distro_peer_t *p, nd_uint_t which)
{
    switch (which) {
    case 0:  return (double) p->pending.nelts;
    case 1:  return (double) p->sent;
    case 2:  return (double) p->failed;
    default: return (double) p->verify_missing;
    }
}


static void
nd_distro_metrics_source(nd_buf_t *out, void *data)
{
    char               labels[ND_SOCKADDR_STRLEN + 16];
    nd_uint_t          k;
    nd_queue_t        *q;
    nd_distro_conf_t  *dcf;
    nd_distro_peer_t  *p;
    static const char *ops[] = { "SYNC", "VERIFY", "SNAPSHOT" };

    dcf = data;

    for (k = 0; k < nd_nelts(nd_distro_peer_metrics); k++) {
        nd_metrics_put_family(out, nd_distro_peer_metrics[k].name,
                              nd_distro_peer_metrics[k].type,
                              nd_distro_peer_metrics[k].help);

        for (q = nd_queue_head(&dcf->peers);
             q != nd_queue_sentinel(&dcf->peers);
             q = nd_queue_next(q))
        {
            p = nd_queue_data(q, nd_distro_peer_t, link);
            snprintf(labels, sizeof(labels), "peer=\"%s\"", p->address);
            nd_metrics_put_value(out, nd_distro_peer_metrics[k].name, labels,
                                 nd_distro_peer_metric(p, k));
        }
    }

    nd_metrics_put_family(out, "nacosd_distro_received_total",
                          ND_METRIC_COUNTER,
                          "Distro requests received from peers, by "
                          "operation.");
    for (k = 0; k < nd_nelts(ops); k++) {
        snprintf(labels, sizeof(labels), "op=\"%s\"", ops[k]);
        nd_metrics_put_value(out, "nacosd_distro_received_total", labels,
                             (double) dcf->received[k]);
    }

    nd_metrics_put_family(out, "nacosd_distro_clients_applied_total",
                          ND_METRIC_COUNTER,
                          "Client states applied from peers' syncs and "
                          "snapshots.");
    nd_metrics_put_value(out, "nacosd_distro_clients_applied_total", NULL,
                         (double) dcf->applied);
}


static nd_int_t
nd_distro_init_module(nd_cycle_t *cycle)
{
    nd_distro_conf_t  *dcf;

    dcf = nd_distro_conf(cycle);
    dcf->nf = nd_naming_conf(cycle);

    nd_queue_init(&dcf->peers);

    if (nd_array_init(&dcf->ring, NULL, 4, ND_SOCKADDR_STRLEN) != ND_OK) {
        return ND_ERROR;
    }

    nd_timer_init(&dcf->verify, "distro verify", nd_distro_verify_handler,
                  dcf);
    nd_timer_init(&dcf->expire, "distro synced expiry",
                  nd_distro_expire_handler, dcf);
    nd_timer_init(&dcf->snapshot, "distro snapshot", nd_distro_snapshot_timer,
                  dcf);

    if (nd_cluster_add_handlers(cycle, nd_distro_handlers) != ND_OK
        || nd_distro_forward_init(cycle) != ND_OK
        || nd_event_subscribe(cycle, ND_EV_CLIENT_CHANGED,
                              nd_distro_client_event, dcf) != ND_OK
        || nd_event_subscribe(cycle, ND_EV_CLIENT_DISCONNECTED,
                              nd_distro_client_event, dcf) != ND_OK
        || nd_event_subscribe(cycle, ND_EV_MEMBERS_CHANGED,
                              nd_distro_members_changed, dcf) != ND_OK
        || nd_metrics_add_source(cycle, "distro", nd_distro_metrics_source,
                                 dcf) != ND_OK)
    {
        return ND_ERROR;
    }

    /* the peers and the ring as the conf gives them */
    nd_distro_members_changed(ND_EV_MEMBERS_CHANGED, NULL, NULL, dcf);

    if (dcf->enabled) {
        dcf->loading = 1;
        nd_module_pending(cycle, &nd_distro_module);
    }

    return ND_OK;
}


static nd_int_t
nd_distro_start(nd_cycle_t *cycle)
{
    nd_distro_conf_t  *dcf;

    dcf = nd_distro_conf(cycle);
    dcf->started = 1;

    if (!dcf->enabled) {
        return ND_OK;
    }

    nd_timer_start(&dcf->verify, dcf->verify_interval, ND_TIMER_REPEAT);
    nd_timer_start(&dcf->expire, dcf->verify_interval, ND_TIMER_REPEAT);

    dcf->snapshot_until = nd_current_msec + dcf->snapshot_wait;
    dcf->snapshot_next = 0;
    dcf->snapshot_cursor = 0;
    nd_distro_snapshot_next(dcf);

    return ND_OK;
}


/* the stop: p's queue written now, batch after batch, while the clients
 * still are (the stop of the grpc module releases the connections'
 * clients next; a batch written later would say DELETE for them) */
static void
nd_distro_drain_write(nd_distro_peer_t *p)
{
    nd_queue_t         done;
    nd_member_t       *m;
    nd_distro_body_t  *b;

    m = nd_cluster_member_find(nd_cycle, p->address);
    if (m == NULL || m->state == ND_MEMBER_DOWN) {
        return;
    }

    while (!nd_queue_empty(&p->tasks)) {
        b = nd_alloc(sizeof(nd_distro_body_t));
        if (b == NULL) {
            return;
        }

        nd_queue_init(&done);
        nd_buf_init(&b->body);
        nd_distro_batch(p, &b->body, &done);
        nd_distro_tasks_free(p, &done, 0);
        nd_queue_insert_tail(&p->drain, &b->link);
    }
}


/*
 * Graceful stop: what is queued for the peers (the changes of registers
 * this node answered) goes now, batch after batch, and the stop waits for
 * the answers: the cycle stays busy and the cluster keeps its peer
 * connections (nd_cluster_hold) until every queue is out or failed, at
 * most the cluster's bound.  No new change is queued (started is 0): the
 * copies of this node's clients stay on the peers until they expire or
 * the clients register again elsewhere.
 */
static void
nd_distro_stop(nd_cycle_t *cycle)
{
    nd_queue_t        *q, *next;
    nd_distro_peer_t  *p;
    nd_distro_conf_t  *dcf;

    dcf = nd_distro_conf(cycle);
    dcf->started = 0;

    nd_timer_stop(&dcf->verify);
    nd_timer_stop(&dcf->expire);
    nd_timer_stop(&dcf->snapshot);

    if (dcf->ring.elts == NULL) {
        return;
    }

    for (q = nd_queue_head(&dcf->peers); q != nd_queue_sentinel(&dcf->peers);
         q = nd_queue_next(q))
    {
        p = nd_queue_data(q, nd_distro_peer_t, link);
        nd_post_cancel(&p->flush);
        nd_timer_stop(&p->retry);
        nd_distro_drain_write(p);

        if (p->sending || !nd_queue_empty(&p->drain)) {
            p->drain_hold = 1;
            dcf->drains++;
        }
    }

    if (dcf->drains == 0) {
        return;
    }

    nd_log_error(ND_LOG_NOTICE, cycle->log, 0,
                 "distro: stop: sending what is queued for %lu peer(s) "
                 "first", (unsigned long) dcf->drains);
    dcf->draining = 1;
    nd_cluster_hold(cycle);
    nd_cycle->busy++;

    for (q = nd_queue_head(&dcf->peers); q != nd_queue_sentinel(&dcf->peers);
         q = next)
    {
        next = nd_queue_next(q);
        p = nd_queue_data(q, nd_distro_peer_t, link);

        if (p->drain_hold && !p->sending) {
            nd_distro_drain_next(p);
        }
    }
}


static void
nd_distro_exit(nd_cycle_t *cycle)
{
    nd_queue_t        *q;
    nd_distro_peer_t  *p;
    nd_distro_conf_t  *dcf;

    dcf = nd_distro_conf(cycle);

    if (dcf->ring.elts == NULL) {
        return;
    }

    nd_timer_stop(&dcf->verify);
    nd_timer_stop(&dcf->expire);
    nd_timer_stop(&dcf->snapshot);

    /* the loop ended with the stop still waiting (shutdown_timeout, a
     * second TERM): the cluster's peers close now, while ours listen */
    if (dcf->draining) {
        dcf->draining = 0;
        nd_cluster_release(cycle);
    }

    while (!nd_queue_empty(&dcf->peers)) {
        q = nd_queue_head(&dcf->peers);
        p = nd_queue_data(q, nd_distro_peer_t, link);
        p->drain_hold = 0;
        p->sending = 0;             /* the cluster's peers are gone */
        p->verifying = 0;
        nd_distro_peer_free(p);
    }

    nd_array_free(&dcf->ring);
    dcf->ring.elts = NULL;
}

/*
 * Persistent instances written by the cluster's other members.
 *
 * Every statement that writes naming_instance moves nd_instance_version
 * (a trigger: conf/schema/pg.sql version 7).  In a cluster, every
 * persistent_sync this node asks the store for that version and, in the
 * same operation, for the whole table when the version differs from the
 * one it read last (INSTANCE_SYNC).  Memory is then made the table's:
 * rows that memory lacks or holds otherwise are applied
 * (nd_naming_persist_apply: a new instance, or the new state of one),
 * and persistent instances the table no longer has are deregistered;
 * each change is pushed to subscribers as any other.  A node that was
 * cut from the database catches up at its first sync after, whatever it
 * missed: there is no change log to lose.
 *
 * A commit of this node tells the other members at once
 * (NamingPersistentSyncRequest, no body, answered at once, not retried:
 * the next round is the backstop), and a member told runs its sync then.
 *
 * This node's own writes go to memory when they commit
 * (nd_naming_persist.c).  A table read while one of them was in flight
 * may predate it, so the keys of writes in flight or ended while the sync
 * ran keep memory's state this round; when such a key differs from the
 * table, the version is not taken and the next round reads the table
 * again.
 */
#include <nd_naming.h>

#if (ND_WITH_STORE)

#include <nd_naming_persist.h>

#if (ND_WITH_CLUSTER)
#include <nd_cluster.h>
#endif

/* "ns\ngroup@@service\nip:port": names are at most 128 + 642 + 128 */
#define ND_NAMING_SYNC_KEY       1024

/* a round not taken (stale, or keys kept) runs again this late, ms */
#define ND_NAMING_SYNC_AGAIN     100

#define ND_NAMING_SYNC_TYPE      "NamingPersistentSyncRequest"
#define ND_NAMING_SYNC_RESPONSE  "NamingPersistentSyncResponse"

static void nd_naming_sync_run(nd_timer_t *t);


static size_t
nd_naming_sync_key(char *buf, const nd_str_t *ns, const nd_str_t *grouped,
    const nd_str_t *ip, nd_uint_t port)
{
    int  n;

    n = snprintf(buf, ND_NAMING_SYNC_KEY, "%.*s\n%.*s\n%.*s:%u",
                 ND_STR_ARG(*ns), ND_STR_ARG(*grouped), ND_STR_ARG(*ip),
                 (unsigned) port);

    return n < 0 ? 0 : nd_min((size_t) n, ND_NAMING_SYNC_KEY - 1);
}


static void
nd_naming_sync_touch_key(nd_naming_persist_t *ps, const nd_naming_pw_t *pw)
{
    char    key[ND_NAMING_SYNC_KEY];
    size_t  len;

    len = nd_naming_sync_key(key, &pw->ns, &pw->grouped, &pw->ip, pw->port);

    if (nd_hash_add(&ps->sync_touched, (u_char *) key, len, ps) == ND_ERROR) {
        ps->sync_stale = 1;         /* not kept: the round is not used */
    }
}


void
nd_naming_persist_sync_touch(nd_naming_persist_t *ps,
    const nd_naming_pw_t *pw)
{
    if (ps->sync_op) {
        nd_naming_sync_touch_key(ps, pw);
    }
}


static void
nd_naming_sync_next(nd_naming_persist_t *ps)
{
    if (ps->sync_again && !ps->stopping) {
        ps->sync_again = 0;
        nd_naming_sync_run(&ps->sync_timer);
        return;
    }

    if (!ps->stopping && ps->nf->persistent_sync) {
        nd_timer_start(&ps->sync_timer, ps->nf->persistent_sync,
                       ND_TIMER_ONCE);
    }
}


/* memory holds the row as it is */
static int
nd_naming_sync_same(nd_naming_conf_t *nf, const nd_str_t *ns,
    const nd_str_t *grouped, const nd_store_instance_t *in)
{
    size_t                 mlen;
    nd_naming_client_t    *c;
    nd_naming_service_t   *s;
    nd_naming_instance_t  *inst;

    s = nd_naming_service_find(nf, ns, grouped);
    c = nd_naming_persist_client(nf, &in->ip, (nd_uint_t) in->port, 0);
    if (s == NULL || c == NULL) {
        return 0;
    }

    inst = nd_naming_client_instance(c, s);
    if (inst == NULL) {
        return 0;
    }

    mlen = inst->metadata ? strlen(inst->metadata) : 0;

    return in->cluster.len == inst->cluster->name_len
           && memcmp(in->cluster.data, inst->cluster->name,
                     in->cluster.len) == 0
           && inst->weight == in->weight
           && inst->healthy == (in->healthy != 0)
           && inst->enabled == (in->enabled != 0)
           && mlen == in->metadata.len
           && (mlen == 0
               || memcmp(inst->metadata, in->metadata.data, mlen) == 0);
}


/* the table's rows into memory, and what it lacks out of memory */
static void
nd_naming_sync_apply(nd_naming_persist_t *ps, nd_store_op_t *op)
{
    char                    key[ND_NAMING_SYNC_KEY];
    size_t                  len;
    nd_str_t                ns, grouped, ip;
    nd_uint_t               i, n, nout, applied;
    nd_hash_t               seen;
    nd_array_t              gone;
    nd_queue_t             *q;
    nd_hash_elt_t          *e;
    nd_naming_conf_t       *nf;
    nd_naming_client_t     *c;
    nd_naming_service_t    *s;
    nd_naming_instance_t   *inst, **out, **slot;
    nd_store_instance_t   **sorted, *in;

    nf = ps->nf;
    n = op->rows.nelts;

    sorted = nd_naming_persist_rows_sorted(op);
    if (sorted == NULL || nd_hash_init(&seen, n) != ND_OK) {
        ps->sync_stale = 1;
        return;
    }

    applied = 0;

    for (i = 0; i < n; i++) {
        in = sorted[i];

        /* an ip:port in two clusters: the newest row wins, as at start */
        if (nd_naming_persist_row_superseded(sorted, i, n)) {
            continue;
        }

        ns = nd_naming_persist_naming_ns(&in->ns);
        if (nd_naming_persist_grouped(op->pool, in, &grouped) != ND_OK) {
            ps->sync_stale = 1;
            goto done;
        }

        len = nd_naming_sync_key(key, &ns, &grouped, &in->ip,
                                 (nd_uint_t) in->port);
        if (nd_hash_add(&seen, (u_char *) key, len, in) == ND_ERROR) {
            ps->sync_stale = 1;
            goto done;
        }

        if (nd_naming_sync_same(nf, &ns, &grouped, in)) {
            continue;
        }

        if (nd_hash_find(&ps->sync_touched, (u_char *) key, len)) {
            ps->sync_skipped = 1;
            continue;
        }

        if (nd_naming_persist_apply_row(nf, &ns, &grouped, in, "synced")
            == ND_OK)
        {
            applied++;
        }
    }

    /* memory's persistent instances the table no longer has: collected
     * first (a deregister may free its client, an element of the walk) */
    if (nd_array_init(&gone, op->pool, 16, sizeof(void *)) != ND_OK) {
        ps->sync_stale = 1;
        goto done;
    }
    for (e = nd_hash_first(&nf->clients, &i); e;
         e = nd_hash_next(&nf->clients, e, &i))
    {
        c = e->value;
        if (c->type != ND_NAMING_CLIENT_IPPORT || c->ephemeral) {
            continue;
        }

        for (q = nd_queue_head(&c->instances);
             q != nd_queue_sentinel(&c->instances);
             q = nd_queue_next(q))
        {
            inst = nd_queue_data(q, nd_naming_instance_t, client_link);
            s = inst->cluster->service;
            ns.data = (u_char *) s->ns->id;
            ns.len = s->ns->id_len;
            grouped.data = (u_char *) s->grouped;
            grouped.len = s->grouped_len;
            ip.data = (u_char *) inst->ip;
            ip.len = inst->ip_len;
            len = nd_naming_sync_key(key, &ns, &grouped, &ip, inst->port);

            if (nd_hash_find(&seen, (u_char *) key, len)) {
                continue;
            }

            if (nd_hash_find(&ps->sync_touched, (u_char *) key, len)) {
                ps->sync_skipped = 1;
                continue;
            }

            slot = nd_array_push(&gone);
            if (slot == NULL) {
                ps->sync_stale = 1;
                goto done;
            }
            *slot = inst;
        }
    }

    out = gone.elts;
    nout = gone.nelts;

    for (i = 0; i < nout; i++) {
        c = out[i]->client;
        nd_naming_deregister(nf, out[i]);
        nd_naming_client_gc(nf, c);
    }

    if (applied || nout) {
        nd_log_error(ND_LOG_INFO, nf->cycle->log, 0,
                     "naming: persistent instances synced: %lu applied, "
                     "%lu removed (table version %" PRId64 ")",
                     (unsigned long) applied, (unsigned long) nout,
                     op->total);
    }

done:

    nd_hash_free(&seen);
}


static void
nd_naming_sync_done(nd_store_op_t *op)
{
    nd_queue_t           *q;
    nd_naming_persist_t  *ps;

    ps = op->data;
    ps->sync_op = NULL;

    if (op->rc != ND_OK) {
        nd_log_error(ND_LOG_INFO, ps->nf->cycle->log, 0,
                     "naming: persistent sync: %s",
                     op->error ? op->error : "store error");
        nd_naming_sync_next(ps);
        return;
    }

    if (op->total == ps->sync_version) {
        nd_naming_sync_next(ps);
        return;
    }

    /* writes still in flight keep their keys as memory has them */
    for (q = nd_queue_head(&ps->writes); q != nd_queue_sentinel(&ps->writes);
         q = nd_queue_next(q))
    {
        nd_naming_sync_touch_key(ps, nd_queue_data(q, nd_naming_pw_t, link));
    }

    if (!ps->sync_stale) {
        nd_naming_sync_apply(ps, op);
    }

    /* a key kept as memory has it may hide another member's newer write
     * of it: then the next round reads the table again */
    if (!ps->sync_stale && !ps->sync_skipped) {
        ps->sync_version = op->total;

    } else if (!ps->stopping && !ps->sync_again) {
        /* soon, rounds or not: the writes kept are about to commit */
        nd_timer_start(&ps->sync_timer, ND_NAMING_SYNC_AGAIN, ND_TIMER_ONCE);
        return;
    }

    nd_naming_sync_next(ps);
}


static void
nd_naming_sync_run(nd_timer_t *t)
{
    nd_store_op_t        *op;
    nd_naming_persist_t  *ps;

    ps = t->data;

    if (ps->stopping || ps->sync_op || !ps->loaded) {
        return;
    }

#if (ND_WITH_CLUSTER)
    if (!nd_cluster_enabled(ps->nf->cycle)) {
        nd_naming_sync_next(ps);
        return;
    }
#else
    return;
#endif

    nd_hash_free(&ps->sync_touched);
    if (nd_hash_init(&ps->sync_touched, 16) != ND_OK) {
        nd_naming_sync_next(ps);
        return;
    }

    op = nd_store_op_create(ps->nf->cycle, ND_STORE_INSTANCE_SYNC,
                            nd_naming_sync_done, ps);
    if (op == NULL) {
        nd_naming_sync_next(ps);
        return;
    }

    op->since = ps->sync_version;
    ps->sync_stale = 0;
    ps->sync_skipped = 0;
    ps->sync_op = op;
    nd_store_submit(op);
}


/* ---- telling the other members ----------------------------------------- */

#if (ND_WITH_CLUSTER)

static void
nd_naming_sync_told(nd_int_t rc, const char *type, json_t *body, void *data)
{
    /* nothing to repair: a member that missed it syncs within a round */
}


static void
nd_naming_sync_tell(nd_timer_t *t)
{
    nd_naming_persist_t  *ps;

    ps = t->data;

    if (!ps->stopping && nd_cluster_enabled(ps->nf->cycle)) {
        (void) nd_cluster_broadcast(ps->nf->cycle, ND_NAMING_SYNC_TYPE,
                                    json_object(), 0, nd_naming_sync_told,
                                    NULL);
    }
}


static nd_int_t
nd_naming_sync_handler(nd_grpc_call_t *call, json_t *body)
{
    nd_naming_persist_t  *ps;

    ps = nd_naming_conf(nd_cycle)->persist;

    if (ps && ps->loaded && !ps->stopping) {
        if (ps->sync_op) {
            ps->sync_again = 1;     /* its table may predate the commit */

        } else {
            nd_timer_stop(&ps->sync_timer);
            nd_naming_sync_run(&ps->sync_timer);
        }
    }

    return nd_grpc_reply(call, ND_NAMING_SYNC_RESPONSE, json_object());
}


static const nd_grpc_handler_t  nd_naming_sync_handlers[] = {
    { nd_string(ND_NAMING_SYNC_TYPE), nd_naming_sync_handler },
    nd_grpc_null_handler
};

#endif


void
nd_naming_persist_sync_written(nd_naming_persist_t *ps)
{
#if (ND_WITH_CLUSTER)
    /* once a loop pass, whatever this pass committed */
    if (!nd_timer_active(&ps->sync_tell)) {
        nd_timer_start(&ps->sync_tell, 0, ND_TIMER_ONCE);
    }
#endif
}


nd_int_t
nd_naming_persist_sync_init(nd_naming_persist_t *ps)
{
    ps->sync_version = -1;
    nd_timer_init(&ps->sync_timer, "naming persistent sync",
                  nd_naming_sync_run, ps);

#if (ND_WITH_CLUSTER)
    nd_timer_init(&ps->sync_tell, "naming persistent sync tell",
                  nd_naming_sync_tell, ps);

    if (nd_cluster_add_handlers(ps->nf->cycle, nd_naming_sync_handlers)
        != ND_OK)
    {
        return ND_ERROR;
    }
#endif

    return nd_hash_init(&ps->sync_touched, 16);
}


void
nd_naming_persist_sync_start(nd_naming_persist_t *ps)
{
    nd_naming_sync_next(ps);
}


void
nd_naming_persist_sync_stop(nd_naming_persist_t *ps)
{
    nd_timer_stop(&ps->sync_timer);
#if (ND_WITH_CLUSTER)
    nd_timer_stop(&ps->sync_tell);
#endif
}


void
nd_naming_persist_sync_exit(nd_naming_persist_t *ps)
{
    if (ps->sync_op) {
        nd_store_cancel(ps->sync_op);
        ps->sync_op = NULL;
    }

    if (ps->nf->cycle->loop) {
        nd_timer_stop(&ps->sync_timer);
#if (ND_WITH_CLUSTER)
        nd_timer_stop(&ps->sync_tell);
#endif
    }

    nd_hash_free(&ps->sync_touched);
}

#endif /* ND_WITH_STORE */

/*
 * Persistent instances (ephemeral=false) through the store module.
 *
 * Memory follows the store: a write of a persistent instance (register,
 * deregister, update/PATCH, manual health, metadata batch) becomes one
 * store operation per instance; the request is answered when the store
 * has committed it, and only then is the change applied in memory.  A
 * store failure answers the Nacos error and leaves memory as it was.
 *
 * Writes of one instance (namespace, service, ip:port: the key of the
 * ip:port#false client's instance) run one at a time in arrival order, so
 * a PATCH computed from the memory state is never based on a state that
 * a write still in flight is about to replace.  A write whose client
 * went away before it was sent is dropped (nothing was acknowledged); one
 * already sent completes and is applied in memory all the same.
 *
 * At start every persistent instance is loaded before the module reports
 * ready: INSTANCE_NAMESPACES (the namespaces that hold instances, created
 * through the console or not: naming namespaces are implicit, as in
 * Nacos 2.x), then INSTANCE_LIST for public and each of them, one after
 * the other, retried with backoff while the store is unavailable.  Writes
 * are refused (503) until then.
 *
 * Without the store module this file only has the stubs: persistent
 * instances live in memory, as before.
 */
#include <nd_naming.h>

#if (ND_WITH_STORE)

#include <nd_naming_persist.h>

static void nd_naming_pw_start(nd_naming_pw_t *pw);
static void nd_naming_pw_finish(nd_naming_pw_t *pw);
static void nd_naming_persist_load_step(nd_naming_persist_t *ps);


/* ---- helpers ------------------------------------------------------------- */

/* naming "public" is the store's '' */
static nd_str_t
nd_naming_persist_store_ns(const nd_str_t *ns)
{
    nd_str_t  s;

    if (nd_str_eq(ns, ND_NAMING_DEFAULT_NS)) {
        s.len = 0;
        s.data = (u_char *) "";
        return s;
    }

    return *ns;
}


nd_str_t
nd_naming_persist_naming_ns(const nd_str_t *ns)
{
    nd_str_t  s;

    if (ns->len == 0) {
        nd_str_set(&s, ND_NAMING_DEFAULT_NS);
        return s;
    }

    return *ns;
}


static void
nd_naming_persist_split(const nd_str_t *grouped, nd_str_t *group,
    nd_str_t *name)
{
    u_char  *sep;

    sep = memmem(grouped->data, grouped->len, ND_NAMING_SPLITTER, 2);
    if (sep == NULL) {
        group->data = grouped->data;
        group->len = 0;
        *name = *grouped;
        return;
    }

    group->data = grouped->data;
    group->len = (size_t) (sep - grouped->data);
    name->data = sep + 2;
    name->len = grouped->len - group->len - 2;
}


nd_naming_client_t *
nd_naming_persist_client(nd_naming_conf_t *nf, const nd_str_t *ip,
    nd_uint_t port, int create)
{
    char      buf[320];
    nd_str_t  id;

    if (ip->len > 255) {
        return NULL;
    }

    id.data = (u_char *) buf;
    id.len = (size_t) snprintf(buf, sizeof(buf), "%.*s:%u#false",
                               ND_STR_ARG(*ip), (unsigned) port);

    return create ? nd_naming_client_get(nf, ND_NAMING_CLIENT_IPPORT, &id, 0)
                  : nd_naming_client_find(nf, &id);
}


/* the in-memory persistent instance of a write's key, or NULL */
static nd_naming_instance_t *
nd_naming_persist_find(nd_naming_pw_t *pw)
{
    nd_naming_client_t   *c;
    nd_naming_service_t  *s;

    s = nd_naming_service_find(pw->ps->nf, &pw->ns, &pw->grouped);
    c = nd_naming_persist_client(pw->ps->nf, &pw->ip, pw->port, 0);

    if (s == NULL || c == NULL) {
        return NULL;
    }

    return nd_naming_client_instance(c, s);
}


static int
nd_naming_persist_same_key(nd_naming_pw_t *a, nd_naming_pw_t *b)
{
    return a->port == b->port
           && nd_str_equal(&a->ip, &b->ip)
           && nd_str_equal(&a->grouped, &b->grouped)
           && nd_str_equal(&a->ns, &b->ns);
}


int
nd_naming_persist_cmp(const nd_str_t *a, const nd_str_t *b)
{
    int  rc;

    rc = memcmp(a->data, b->data, nd_min(a->len, b->len));
    if (rc) {
        return rc;
    }

    return a->len < b->len ? -1 : a->len > b->len;
}


static void
nd_naming_pw_free(nd_naming_pw_t *pw)
{
    if (pw->ch.meta) {
        json_decref(pw->ch.meta);
    }
    nd_free(pw->meta_text);
    nd_free(pw->old_cluster.data);
    nd_free(pw);
}


/* a stored row into memory: a new instance (replacing the client's one
 * in the service) or the new state of the existing one */
nd_int_t
nd_naming_persist_apply(nd_naming_conf_t *nf, const nd_str_t *ns,
    const nd_str_t *grouped, const nd_store_instance_t *in)
{
    json_t                *meta;
    nd_int_t               rc;
    nd_naming_spec_t       spec;
    nd_naming_client_t    *c;
    nd_naming_service_t   *s;

    s = nd_naming_service_get(nf, ns, grouped, 0, NULL);
    if (s == NULL) {
        return ND_ERROR;
    }

    if (s->ephemeral) {
        if (s->ninstances) {
            return ND_DECLINED;
        }
        /* made by a subscription, or emptied: the store's rows say what
         * it is (a register here is still refused, as Nacos does) */
        s->ephemeral = 0;
    }

    c = nd_naming_persist_client(nf, &in->ip, (nd_uint_t) in->port, 1);
    if (c == NULL) {
        return ND_ERROR;
    }

    meta = NULL;
    if (in->metadata.len) {
        meta = nd_naming_parse_metadata(&in->metadata);
    }

    memset(&spec, 0, sizeof(nd_naming_spec_t));
    spec.ip = in->ip;
    spec.port = (nd_uint_t) in->port;
    spec.cluster = in->cluster;
    spec.weight = in->weight;
    spec.metadata = meta;
    spec.healthy = in->healthy;
    spec.enabled = in->enabled;
    spec.ephemeral = 0;

    rc = nd_naming_register(nf, c, s, &spec, NULL);

    if (meta) {
        json_decref(meta);
    }

    if (rc != ND_OK) {
        nd_naming_client_gc(nf, c);
    }

    return rc;
}


/* nd_naming_persist_apply(), and what failed in the error log ("not
 * <what>") */
nd_int_t
nd_naming_persist_apply_row(nd_naming_conf_t *nf, const nd_str_t *ns,
    const nd_str_t *grouped, const nd_store_instance_t *in, const char *what)
{
    nd_int_t  rc;

    rc = nd_naming_persist_apply(nf, ns, grouped, in);
    if (rc != ND_OK) {
        nd_log_error(ND_LOG_ERR, nf->cycle->log, 0,
                     "naming: persistent instance %.*s:%" PRId64 " of "
                     "%.*s##%.*s not %s: %s", ND_STR_ARG(in->ip), in->port,
                     ND_STR_ARG(*ns), ND_STR_ARG(*grouped), what,
                     rc == ND_DECLINED ? "the service is ephemeral here"
                                       : "out of memory");
    }

    return rc;
}


/* the state an update leaves, from the instance and the change */
static char *
nd_naming_persist_merge(nd_naming_instance_t *inst,
    const nd_naming_change_t *ch)
{
    char        *text;
    json_t      *merged, *v;
    const char  *k;

    if (ch->meta == NULL || json_object_size(ch->meta) == 0) {
        return inst->metadata ? strdup(inst->metadata) : NULL;
    }

    merged = nd_naming_meta_json(inst->metadata);
    json_object_foreach(ch->meta, k, v) {
        if (ch->meta_del) {
            json_object_del(merged, k);
        } else {
            json_object_set(merged, k, v);
        }
    }

    text = nd_naming_dump_metadata(merged);
    json_decref(merged);

    return text;
}


/* ---- requests ------------------------------------------------------------ */

static nd_naming_persist_t *
nd_naming_persist_get(void)
{
    return nd_naming_conf(nd_cycle)->persist;
}


static void
nd_naming_preq_fail(nd_naming_preq_t *preq, nd_uint_t status, nd_int_t code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
nd_naming_preq_fail(nd_naming_preq_t *preq, nd_uint_t status, nd_int_t code,
    const char *fmt, ...)
{
    va_list  args;

    if (preq->status) {
        return;                 /* the first failure is the answer */
    }

    preq->status = status;
    preq->code = code;

    va_start(args, fmt);
    vsnprintf(preq->error, sizeof(preq->error), fmt, args);
    va_end(args);
}


static void
nd_naming_preq_store_fail(nd_naming_preq_t *preq, nd_store_op_t *op)
{
    const char  *err;

    err = op->error ? op->error : "store error";

    if (op->status == 400 || op->status == 413) {
        nd_naming_preq_fail(preq, 400, 20002, "persistent instance refused "
                            "by the store: %s", err);
        return;
    }

    nd_naming_preq_fail(preq, op->status >= 500 ? op->status : 500, 30000,
                        "persistent instance not stored: %s", err);
}


static nd_int_t
nd_naming_preq_answer(nd_naming_preq_t *preq)
{
    nd_int_t             rc;
    nd_naming_waiter_t  *w;

    w = &preq->w;
    rc = w->answer(w, preq->status, preq->code, preq->error, preq->updated);
    w->req = NULL;              /* not to be touched after the answer */

    return rc;
}


static void
nd_naming_preq_free(nd_naming_preq_t *preq)
{
    nd_queue_remove(&preq->link);

    if (preq->w.req) {
        preq->w.wait(&preq->w, NULL);
    }

    if (preq->updated) {
        json_decref(preq->updated);
    }

    nd_free(preq);
}


/* a write of preq is over */
static void
nd_naming_preq_done(nd_naming_preq_t *preq)
{
    if (--preq->pending || !preq->async) {
        return;                 /* more to come, or the handler answers */
    }

    if (preq->w.req) {
        preq->w.wait(&preq->w, NULL);
        nd_naming_preq_answer(preq);
    }

    nd_naming_preq_free(preq);
}


/* the client went away: writes not yet sent are dropped, the others
 * complete and are applied in memory */
void
nd_naming_persist_abort(void *ctx)
{
    nd_queue_t           *q, *next;
    nd_naming_pw_t       *pw;
    nd_naming_preq_t     *preq;
    nd_naming_persist_t  *ps;

    preq = ctx;
    preq->w.req = NULL;
    ps = nd_naming_persist_get();

    for (q = nd_queue_head(&ps->writes); q != nd_queue_sentinel(&ps->writes);
         q = next)
    {
        next = nd_queue_next(q);
        pw = nd_queue_data(q, nd_naming_pw_t, link);

        if (pw->preq == preq && !pw->started) {
            nd_queue_remove(&pw->link);
            nd_naming_pw_free(pw);
            preq->pending--;
        }
    }

    if (preq->pending == 0) {
        nd_naming_preq_free(preq);
    }
}


/* refuses writes while loading; NULL with *rc set then */
static nd_naming_preq_t *
nd_naming_preq_create(const nd_naming_waiter_t *w, nd_int_t *rc)
{
    nd_naming_waiter_t    copy;
    nd_naming_preq_t     *preq;
    nd_naming_persist_t  *ps;

    ps = nd_naming_persist_get();

    if (!ps->loaded) {
        copy = *w;
        *rc = copy.answer(&copy, 503, 30000, "persistent instances are "
                          "still being loaded from the store, try again "
                          "later", NULL);
        return NULL;
    }

    preq = nd_calloc(sizeof(nd_naming_preq_t));
    if (preq == NULL) {
        *rc = ND_ERROR;
        return NULL;
    }

    preq->w = *w;
    nd_queue_insert_tail(&ps->reqs, &preq->link);

    return preq;
}


/* the handler's return: answered now, or later by the last write */
static nd_int_t
nd_naming_preq_return(nd_naming_preq_t *preq)
{
    nd_int_t  rc;

    if (preq->pending == 0) {
        rc = nd_naming_preq_answer(preq);
        nd_naming_preq_free(preq);
        return rc;
    }

    preq->async = 1;
    preq->w.wait(&preq->w, preq);

    return ND_DONE;
}


/* a new write for preq; its strings are copied */
static nd_naming_pw_t *
nd_naming_pw_create(nd_naming_preq_t *preq, nd_naming_pw_e kind,
    const nd_str_t *ns, const nd_str_t *grouped, const nd_str_t *ip,
    nd_uint_t port, const nd_str_t *cluster)
{
    u_char               *p;
    size_t                len;
    nd_naming_pw_t       *pw;

    len = ns->len + grouped->len + ip->len + (cluster ? cluster->len : 0);

    pw = nd_calloc(sizeof(nd_naming_pw_t) + len + 4);
    if (pw == NULL) {
        return NULL;
    }

    pw->ps = nd_naming_persist_get();
    pw->preq = preq;
    pw->kind = kind;
    pw->port = port;

    p = (u_char *) (pw + 1);
    pw->ns.data = p;
    pw->ns.len = ns->len;
    p = (u_char *) memcpy(p, ns->data, ns->len) + ns->len;
    *p++ = '\0';
    pw->grouped.data = p;
    pw->grouped.len = grouped->len;
    p = (u_char *) memcpy(p, grouped->data, grouped->len) + grouped->len;
    *p++ = '\0';
    pw->ip.data = p;
    pw->ip.len = ip->len;
    p = (u_char *) memcpy(p, ip->data, ip->len) + ip->len;
    *p++ = '\0';
    pw->cluster.data = p;
    pw->cluster.len = cluster ? cluster->len : 0;
    if (cluster) {
        p = (u_char *) memcpy(p, cluster->data, cluster->len) + cluster->len;
    }
    *p = '\0';

    return pw;
}


/* queue a write: it runs now unless a write of the same key is ahead */
static void
nd_naming_pw_add(nd_naming_pw_t *pw)
{
    nd_queue_t           *q;
    nd_naming_persist_t  *ps;

    ps = pw->ps;
    pw->preq->pending++;

    for (q = nd_queue_head(&ps->writes); q != nd_queue_sentinel(&ps->writes);
         q = nd_queue_next(q))
    {
        if (nd_naming_persist_same_key(nd_queue_data(q, nd_naming_pw_t,
                                                     link), pw))
        {
            nd_queue_insert_tail(&ps->writes, &pw->link);
            return;             /* waits for the one ahead */
        }
    }

    nd_queue_insert_tail(&ps->writes, &pw->link);
    nd_naming_pw_start(pw);
}


/* ---- writes -------------------------------------------------------------- */

static void
nd_naming_pw_done(nd_store_op_t *op)
{
    nd_str_t               ns;
    nd_naming_pw_t        *pw;
    nd_naming_conf_t      *nf;
    nd_naming_client_t    *c;
    nd_naming_instance_t  *inst;
    nd_store_instance_t   *in;

    pw = op->data;
    pw->op = NULL;
    nf = pw->ps->nf;
    in = &op->instance;

    nd_naming_persist_sync_touch(pw->ps, pw);

    /* the stale row of a register that moved the instance to another
     * cluster: the new row is committed and applied already */
    if (pw->old_cluster.len && pw->cluster.len == 0) {
        if (op->rc != ND_OK && op->status != 404) {
            nd_log_error(ND_LOG_WARN, nf->cycle->log, 0,
                         "naming: stale row of %.*s:%u in cluster %.*s of "
                         "%.*s not deleted (%s); the newer row wins at "
                         "the next start", ND_STR_ARG(pw->ip),
                         (unsigned) pw->port, ND_STR_ARG(pw->old_cluster),
                         ND_STR_ARG(pw->grouped),
                         op->error ? op->error : "store error");
        }
        nd_naming_pw_finish(pw);
        return;
    }

    if (op->rc != ND_OK
        && !(pw->kind == ND_NAMING_PW_DEREGISTER && op->status == 404))
    {
        nd_log_error(ND_LOG_INFO, nf->cycle->log, 0,
                     "naming: persistent %s of %.*s:%u in %.*s failed: "
                     "%u %s", pw->kind == ND_NAMING_PW_DEREGISTER
                              ? "deregister" : "write",
                     ND_STR_ARG(pw->ip), (unsigned) pw->port,
                     ND_STR_ARG(pw->grouped), (unsigned) op->status,
                     op->error ? op->error : "");
        nd_naming_preq_store_fail(pw->preq, op);
        nd_naming_pw_finish(pw);
        return;
    }

    /* committed: memory follows, the other members are told */
    nd_naming_persist_sync_written(pw->ps);
    inst = nd_naming_persist_find(pw);

    switch (pw->kind) {

    case ND_NAMING_PW_REGISTER:
        ns = pw->ns;
        if (nd_naming_persist_apply(nf, &ns, &pw->grouped, in) != ND_OK) {
            nd_log_error(ND_LOG_ERR, nf->cycle->log, 0,
                         "naming: stored persistent instance %.*s:%u of "
                         "%.*s not applied in memory", ND_STR_ARG(pw->ip),
                         (unsigned) pw->port, ND_STR_ARG(pw->grouped));
            nd_naming_preq_fail(pw->preq, 500, 30000, "persistent instance "
                                "stored but not applied");
        }

        if (pw->old_cluster.len) {
            /* same write, second step: drop the row of the old cluster */
            pw->cluster.len = 0;
            nd_naming_pw_start(pw);
            return;
        }
        break;

    case ND_NAMING_PW_DEREGISTER:
        if (inst) {
            c = inst->client;
            nd_naming_deregister(nf, inst);
            nd_naming_client_gc(nf, c);
        }
        break;

    default: /* ND_NAMING_PW_UPDATE */
        if (inst == NULL) {
            break;              /* gone meanwhile: nothing to follow */
        }

        {
            json_t  *meta;

            meta = in->metadata.len ? nd_naming_parse_metadata(&in->metadata)
                                    : NULL;
            nd_naming_instance_set_metadata(nf, inst,
                                            nd_naming_dump_metadata(meta),
                                            meta);
            if (meta) {
                json_decref(meta);
            }
        }

        inst->weight = in->weight;
        inst->enabled = in->enabled;
        inst->healthy = in->healthy;

        nd_naming_service_changed(nf, inst->cluster->service);
        nd_naming_client_changed(nf, inst->client);

        if (pw->preq->updated) {
            char  buf[512];

            snprintf(buf, sizeof(buf), "%s:%u:unknown:%s:persist", inst->ip,
                     (unsigned) inst->port, inst->cluster->name);
            json_array_append_new(pw->preq->updated, json_string(buf));
        }
        break;
    }

    nd_naming_pw_finish(pw);
}


/* the write's key is free: compute the row from memory and send it */
static void
nd_naming_pw_start(nd_naming_pw_t *pw)
{
    char                  *text;
    nd_str_t               sns, group, name, cname;
    nd_store_op_t         *op;
    nd_naming_conf_t      *nf;
    nd_naming_service_t   *s;
    nd_naming_instance_t  *inst;
    nd_store_instance_t   *in;

    pw->started = 1;
    nf = pw->ps->nf;
    sns = nd_naming_persist_store_ns(&pw->ns);
    nd_naming_persist_split(&pw->grouped, &group, &name);
    inst = nd_naming_persist_find(pw);
    text = NULL;

    op = nd_store_op_create(nf->cycle, pw->kind == ND_NAMING_PW_REGISTER
                                       && pw->cluster.len
                                       ? ND_STORE_INSTANCE_UPSERT
                                       : pw->kind == ND_NAMING_PW_UPDATE
                                       ? ND_STORE_INSTANCE_UPSERT
                                       : ND_STORE_INSTANCE_DELETE,
                            nd_naming_pw_done, pw);
    if (op == NULL) {
        goto nomem;
    }

    in = &op->instance;
    in->ns = sns;
    in->group = group;
    in->service = name;
    in->ip = pw->ip;
    in->port = (int64_t) pw->port;

    switch (pw->kind) {

    case ND_NAMING_PW_REGISTER:
        if (pw->cluster.len == 0) {
            /* second step: the row of the old cluster */
            in->cluster = pw->old_cluster;
            break;
        }

        /* a persistent service; reserved now, so that no ephemeral
         * instance takes the name while the write is in flight */
        s = nd_naming_service_get(nf, &pw->ns, &pw->grouped, 0, NULL);
        if (s == NULL) {
            nd_store_op_free(op);
            goto nomem;
        }
        if (s->ephemeral) {
            nd_store_op_free(op);
            nd_naming_preq_fail(pw->preq, 400, 21004, "Current service "
                                "%.*s is ephemeral service, can't register "
                                "persistent instance.",
                                ND_STR_ARG(pw->grouped));
            nd_naming_pw_finish(pw);
            return;
        }

        if (inst && (inst->cluster->name_len != pw->cluster.len
                     || memcmp(inst->cluster->name, pw->cluster.data,
                               pw->cluster.len)))
        {
            cname.data = (u_char *) inst->cluster->name;
            cname.len = inst->cluster->name_len;
            if (pw->old_cluster.data == NULL
                && nd_strdup(&cname, &pw->old_cluster) == NULL)
            {
                nd_store_op_free(op);
                goto nomem;
            }
        }

        in->cluster = pw->cluster;
        in->weight = pw->weight;
        in->healthy = pw->healthy;
        in->enabled = pw->enabled;
        if (pw->meta_text) {
            in->metadata.data = (u_char *) pw->meta_text;
            in->metadata.len = strlen(pw->meta_text);
        }
        break;

    case ND_NAMING_PW_DEREGISTER:
        if (inst == NULL) {
            /* nothing in memory, so nothing stored: Nacos answers ok */
            nd_store_op_free(op);
            nd_naming_pw_finish(pw);
            return;
        }
        in->cluster.data = (u_char *) inst->cluster->name;
        in->cluster.len = inst->cluster->name_len;
        break;

    default: /* ND_NAMING_PW_UPDATE */
        if (inst == NULL
            || (pw->cluster.len
                && (inst->cluster->name_len != pw->cluster.len
                    || memcmp(inst->cluster->name, pw->cluster.data,
                              pw->cluster.len))))
        {
            nd_store_op_free(op);   /* as in memory: no instance, ok */
            nd_naming_pw_finish(pw);
            return;
        }

        text = nd_naming_persist_merge(inst, &pw->ch);
        in->cluster.data = (u_char *) inst->cluster->name;
        in->cluster.len = inst->cluster->name_len;
        in->weight = pw->ch.weight_set ? pw->ch.weight : inst->weight;
        in->enabled = pw->ch.enabled_set ? pw->ch.enabled : inst->enabled;
        in->healthy = pw->ch.healthy_set ? pw->ch.healthy : inst->healthy;
        if (text) {
            in->metadata.data = (u_char *) text;
            in->metadata.len = strlen(text);
        }
        break;
    }

    pw->op = op;
    nd_store_submit(op);            /* copies the views */
    nd_free(text);
    return;

nomem:

    nd_naming_preq_fail(pw->preq, 500, 30000, "out of memory");
    nd_naming_pw_finish(pw);
}


static void
nd_naming_pw_finish(nd_naming_pw_t *pw)
{
    nd_queue_t           *q;
    nd_naming_pw_t       *next;
    nd_naming_preq_t     *preq;
    nd_naming_persist_t  *ps;

    ps = pw->ps;
    preq = pw->preq;

    next = NULL;
    for (q = nd_queue_next(&pw->link); q != nd_queue_sentinel(&ps->writes);
         q = nd_queue_next(q))
    {
        next = nd_queue_data(q, nd_naming_pw_t, link);
        if (nd_naming_persist_same_key(next, pw)) {
            break;
        }
        next = NULL;
    }

    nd_queue_remove(&pw->link);
    nd_naming_pw_free(pw);

    nd_naming_preq_done(preq);

    if (next) {
        nd_naming_pw_start(next);
    }
}


/* ---- the request entry points -------------------------------------------- */

nd_int_t
nd_naming_persist_register(const nd_naming_waiter_t *w,
    const nd_naming_ref_t *ref, const nd_naming_spec_t *spec)
{
    char                  err[256];
    nd_int_t              rc;
    nd_str_t              cluster;
    nd_uint_t             add;
    nd_naming_pw_t       *pw;
    nd_naming_conf_t     *nf;
    nd_naming_preq_t     *preq;
    nd_naming_service_t  *s;

    if (nd_naming_persist_get() == NULL || spec->ephemeral) {
        return ND_DECLINED;
    }

    nf = nd_naming_conf(nd_cycle);
    s = nd_naming_service_find(nf, &ref->ns, &ref->grouped);
    if (s && s->ephemeral) {
        return ND_DECLINED;     /* the memory path answers the conflict */
    }

    /* the limits, before the store takes it: a new service, or one more
     * instance unless this ip:port client has one there to replace */
    add = (s && nd_naming_instance_find(s, &spec->ip, spec->port, NULL))
          ? 0 : 1;

    if (nd_naming_service_admit(nf, &ref->ns, &ref->grouped, err,
                                sizeof(err)) != ND_OK
        || nd_naming_instances_admit(nf, s, NULL, add, err, sizeof(err))
           != ND_OK)
    {
        return w->answer((nd_naming_waiter_t *) w, 429, 5033, err, NULL);
    }

    preq = nd_naming_preq_create(w, &rc);
    if (preq == NULL) {
        return rc;
    }

    cluster = spec->cluster;
    if (cluster.len == 0) {
        nd_str_set(&cluster, ND_NAMING_DEFAULT_CLUSTER);
    }

    pw = nd_naming_pw_create(preq, ND_NAMING_PW_REGISTER, &ref->ns,
                             &ref->grouped, &spec->ip, spec->port, &cluster);
    if (pw == NULL) {
        nd_naming_preq_free(preq);
        return ND_ERROR;
    }

    pw->weight = spec->weight;
    pw->healthy = spec->healthy;
    pw->enabled = spec->enabled;
    pw->meta_text = nd_naming_dump_metadata(spec->metadata);

    nd_naming_pw_add(pw);

    return nd_naming_preq_return(preq);
}


nd_int_t
nd_naming_persist_deregister(const nd_naming_waiter_t *w,
    const nd_naming_ref_t *ref, const nd_str_t *ip, nd_uint_t port)
{
    nd_int_t           rc;
    nd_naming_pw_t    *pw;
    nd_naming_preq_t  *preq;

    if (nd_naming_persist_get() == NULL) {
        return ND_DECLINED;
    }

    preq = nd_naming_preq_create(w, &rc);
    if (preq == NULL) {
        return rc;
    }

    pw = nd_naming_pw_create(preq, ND_NAMING_PW_DEREGISTER, &ref->ns,
                             &ref->grouped, ip, port, NULL);
    if (pw == NULL) {
        nd_naming_preq_free(preq);
        return ND_ERROR;
    }

    nd_naming_pw_add(pw);

    return nd_naming_preq_return(preq);
}


nd_int_t
nd_naming_persist_update(const nd_naming_waiter_t *w,
    const nd_naming_ref_t *ref, const nd_str_t *ip, nd_uint_t port,
    const nd_str_t *cluster, const nd_naming_change_t *ch)
{
    nd_int_t           rc;
    nd_naming_pw_t    *pw;
    nd_naming_preq_t  *preq;

    if (nd_naming_persist_get() == NULL) {
        return ND_DECLINED;
    }

    preq = nd_naming_preq_create(w, &rc);
    if (preq == NULL) {
        return rc;
    }

    pw = nd_naming_pw_create(preq, ND_NAMING_PW_UPDATE, &ref->ns,
                             &ref->grouped, ip, port, cluster);
    if (pw == NULL) {
        nd_naming_preq_free(preq);
        return ND_ERROR;
    }

    pw->ch = *ch;
    if (pw->ch.meta) {
        json_incref(pw->ch.meta);
    }

    nd_naming_pw_add(pw);

    return nd_naming_preq_return(preq);
}


nd_int_t
nd_naming_persist_batch(const nd_naming_waiter_t *w,
    nd_naming_service_t *s, nd_naming_instance_t **insts, nd_uint_t n,
    const nd_naming_change_t *ch, json_t *updated)
{
    nd_int_t              rc;
    nd_str_t              ns, grouped, ip, cluster;
    nd_uint_t             i;
    nd_naming_pw_t       *pw;
    nd_naming_preq_t     *preq;

    if (nd_naming_persist_get() == NULL || n == 0) {
        return ND_DECLINED;
    }

    preq = nd_naming_preq_create(w, &rc);
    if (preq == NULL) {
        return rc;
    }

    preq->updated = json_incref(updated);

    ns.data = (u_char *) s->ns->id;
    ns.len = s->ns->id_len;
    grouped.data = (u_char *) s->grouped;
    grouped.len = s->grouped_len;

    for (i = 0; i < n; i++) {
        ip.data = (u_char *) insts[i]->ip;
        ip.len = insts[i]->ip_len;
        cluster.data = (u_char *) insts[i]->cluster->name;
        cluster.len = insts[i]->cluster->name_len;

        pw = nd_naming_pw_create(preq, ND_NAMING_PW_UPDATE, &ns, &grouped,
                                 &ip, insts[i]->port, &cluster);
        if (pw == NULL) {
            nd_naming_preq_fail(preq, 500, 30000, "out of memory");
            break;
        }

        pw->ch = *ch;
        if (pw->ch.meta) {
            json_incref(pw->ch.meta);
        }

        nd_naming_pw_add(pw);
    }

    return nd_naming_preq_return(preq);
}


/* ---- the load at start --------------------------------------------------- */

static void
nd_naming_persist_load_retry(nd_naming_persist_t *ps, const char *error)
{
    nd_log_error(ND_LOG_WARN, ps->nf->cycle->log, 0,
                 "naming: loading persistent instances: %s, retry in "
                 "%lu ms", error ? error : "store error",
                 (unsigned long) ps->load_delay);

    nd_timer_start(&ps->load_timer, ps->load_delay, ND_TIMER_ONCE);
    ps->load_delay = nd_min(ps->load_delay * 2, ND_NAMING_PERSIST_RETRY_MAX);
}


static int
nd_naming_persist_row_cmp(const void *a, const void *b)
{
    int                         rc;
    const nd_store_instance_t  *x, *y;

    x = *(const nd_store_instance_t **) a;
    y = *(const nd_store_instance_t **) b;

    if ((rc = nd_naming_persist_cmp(&x->ns, &y->ns))
        || (rc = nd_naming_persist_cmp(&x->group, &y->group))
        || (rc = nd_naming_persist_cmp(&x->service, &y->service))
        || (rc = nd_naming_persist_cmp(&x->ip, &y->ip)))
    {
        return rc;
    }

    if (x->port != y->port) {
        return x->port < y->port ? -1 : 1;
    }

    /* the newest row of an ip:port last */
    return x->gmt_modified < y->gmt_modified ? -1
           : x->gmt_modified > y->gmt_modified;
}


nd_store_instance_t **
nd_naming_persist_rows_sorted(nd_store_op_t *op)
{
    nd_uint_t              i, n;
    nd_store_instance_t   *rows, **sorted;

    rows = op->rows.elts;
    n = op->rows.nelts;

    sorted = nd_palloc(op->pool, (n ? n : 1) * sizeof(void *));
    if (sorted == NULL) {
        return NULL;
    }

    for (i = 0; i < n; i++) {
        sorted[i] = &rows[i];
    }
    qsort(sorted, n, sizeof(void *), nd_naming_persist_row_cmp);

    return sorted;
}


int
nd_naming_persist_row_superseded(nd_store_instance_t **sorted, nd_uint_t i,
    nd_uint_t n)
{
    nd_store_instance_t  *x, *y;

    if (i + 1 >= n) {
        return 0;
    }

    x = sorted[i];
    y = sorted[i + 1];

    return x->port == y->port && nd_str_equal(&x->ip, &y->ip)
           && nd_str_equal(&x->service, &y->service)
           && nd_str_equal(&x->group, &y->group)
           && nd_str_equal(&x->ns, &y->ns);
}


nd_int_t
nd_naming_persist_grouped(nd_pool_t *pool, const nd_store_instance_t *in,
    nd_str_t *grouped)
{
    u_char  *p;

    grouped->len = in->group.len + 2 + in->service.len;
    grouped->data = nd_pnalloc(pool, grouped->len);
    if (grouped->data == NULL) {
        return ND_ERROR;
    }

    p = (u_char *) memcpy(grouped->data, in->group.data, in->group.len)
        + in->group.len;
    *p++ = '@';
    *p++ = '@';
    memcpy(p, in->service.data, in->service.len);

    return ND_OK;
}


static void
nd_naming_persist_stale_done(nd_store_op_t *op)
{
    if (op->rc != ND_OK && op->status != 404) {
        nd_log_error(ND_LOG_WARN, op->log, 0, "naming: stale persistent "
                     "row not deleted: %s", op->error ? op->error : "");
    }
}


static void
nd_naming_persist_list_done(nd_store_op_t *op)
{
    nd_str_t               ns, grouped;
    nd_uint_t              i, n;
    nd_store_op_t         *del;
    nd_naming_conf_t      *nf;
    nd_naming_persist_t   *ps;
    nd_store_instance_t  **sorted, *in;

    ps = op->data;
    ps->load_op = NULL;
    nf = ps->nf;

    if (op->rc != ND_OK) {
        nd_naming_persist_load_retry(ps, op->error);
        return;
    }

    n = op->rows.nelts;

    sorted = nd_naming_persist_rows_sorted(op);
    if (sorted == NULL) {
        nd_naming_persist_load_retry(ps, "out of memory");
        return;
    }

    for (i = 0; i < n; i++) {
        in = sorted[i];

        if (nd_naming_persist_row_superseded(sorted, i, n)) {
            /* an ip:port in two clusters (a move whose delete failed):
             * one instance per client and service, the newest wins */
            nd_log_error(ND_LOG_WARN, nf->cycle->log, 0,
                         "naming: stale persistent row %.*s:%" PRId64
                         " in cluster %.*s of %.*s@@%.*s deleted",
                         ND_STR_ARG(in->ip), in->port,
                         ND_STR_ARG(in->cluster), ND_STR_ARG(in->group),
                         ND_STR_ARG(in->service));
            del = nd_store_op_create(nf->cycle, ND_STORE_INSTANCE_DELETE,
                                     nd_naming_persist_stale_done, NULL);
            if (del) {
                del->instance = *in;
                nd_store_submit(del);
            }
            continue;
        }

        ns = nd_naming_persist_naming_ns(&in->ns);
        if (nd_naming_persist_grouped(op->pool, in, &grouped) != ND_OK) {
            continue;
        }

        if (nd_naming_persist_apply_row(nf, &ns, &grouped, in, "loaded")
            == ND_OK)
        {
            ps->loaded_instances++;
        }
    }

    ps->load_next++;
    ps->load_delay = ND_NAMING_PERSIST_RETRY_MIN;
    nd_naming_persist_load_step(ps);
}


static void
nd_naming_persist_ns_done(nd_store_op_t *op)
{
    nd_uint_t             i, n;
    nd_store_ns_t        *rows;
    nd_naming_persist_t  *ps;

    ps = op->data;
    ps->load_op = NULL;

    if (op->rc != ND_OK) {
        nd_naming_persist_load_retry(ps, op->error);
        return;
    }

    rows = op->rows.elts;

    ps->load_ns = nd_calloc((op->rows.nelts + 1) * sizeof(char *));
    if (ps->load_ns == NULL) {
        nd_naming_persist_load_retry(ps, "out of memory");
        return;
    }

    n = 0;
    ps->load_ns[n++] = strdup("");

    for (i = 0; i < op->rows.nelts; i++) {
        if (rows[i].id.len == 0
            || nd_str_eq(&rows[i].id, ND_NAMING_DEFAULT_NS))
        {
            continue;           /* public is '' */
        }
        ps->load_ns[n++] = strndup((char *) rows[i].id.data, rows[i].id.len);
    }

    ps->load_n = n;

    for (i = 0; i < n; i++) {
        if (ps->load_ns[i] == NULL) {
            for (n = 0; n < ps->load_n; n++) {
                nd_free(ps->load_ns[n]);
            }
            nd_free(ps->load_ns);
            ps->load_ns = NULL;
            ps->load_n = 0;
            nd_naming_persist_load_retry(ps, "out of memory");
            return;
        }
    }

    ps->load_next = 0;
    ps->load_delay = ND_NAMING_PERSIST_RETRY_MIN;
    nd_naming_persist_load_step(ps);
}


static void
nd_naming_persist_load_step(nd_naming_persist_t *ps)
{
    nd_store_op_t  *op;

    if (ps->stopping) {
        return;
    }

    if (ps->load_ns && ps->load_next >= ps->load_n) {
        ps->loaded = 1;
        nd_log_error(ND_LOG_INFO, ps->nf->cycle->log, 0,
                     "naming: %lu persistent instances loaded from %lu "
                     "namespaces", (unsigned long) ps->loaded_instances,
                     (unsigned long) ps->load_n);
        nd_module_ready(ps->nf->cycle, &nd_naming_module);
        nd_naming_persist_sync_start(ps);
        return;
    }

    op = nd_store_op_create(ps->nf->cycle, ps->load_ns
                                           ? ND_STORE_INSTANCE_LIST
                                           : ND_STORE_INSTANCE_NAMESPACES,
                            ps->load_ns ? nd_naming_persist_list_done
                                        : nd_naming_persist_ns_done, ps);
    if (op == NULL) {
        nd_timer_start(&ps->load_timer, ps->load_delay, ND_TIMER_ONCE);
        return;
    }

    if (ps->load_ns) {
        op->instance.ns.data = (u_char *) ps->load_ns[ps->load_next];
        op->instance.ns.len = strlen(ps->load_ns[ps->load_next]);
    }

    ps->load_op = op;
    nd_store_submit(op);
}


static void
nd_naming_persist_load_timer(nd_timer_t *t)
{
    nd_naming_persist_load_step(t->data);
}


/* ---- the module's hooks -------------------------------------------------- */

nd_int_t
nd_naming_persist_init(nd_cycle_t *cycle)
{
    nd_naming_conf_t     *nf;
    nd_naming_persist_t  *ps;

    nf = nd_naming_conf(cycle);

    ps = nd_pcalloc(cycle->pool, sizeof(nd_naming_persist_t));
    if (ps == NULL) {
        return ND_ERROR;
    }

    ps->nf = nf;
    ps->load_delay = ND_NAMING_PERSIST_RETRY_MIN;
    nd_queue_init(&ps->writes);
    nd_queue_init(&ps->reqs);
    nd_timer_init(&ps->load_timer, "naming persistent load",
                  nd_naming_persist_load_timer, ps);
    nf->persist = ps;

    if (nd_naming_persist_sync_init(ps) != ND_OK) {
        return ND_ERROR;
    }

    /* not ready before the persistent instances are in memory */
    nd_module_pending(cycle, &nd_naming_module);

    return ND_OK;
}


nd_int_t
nd_naming_persist_start(nd_naming_conf_t *nf)
{
    nd_naming_persist_load_step(nf->persist);
    return ND_OK;
}


void
nd_naming_persist_stop(nd_naming_conf_t *nf)
{
    nd_naming_persist_t  *ps;

    ps = nf->persist;
    if (ps == NULL) {
        return;
    }

    ps->stopping = 1;
    nd_timer_stop(&ps->load_timer);
    nd_naming_persist_sync_stop(ps);
}


void
nd_naming_persist_exit(nd_naming_conf_t *nf)
{
    nd_uint_t             i;
    nd_queue_t           *q;
    nd_naming_pw_t       *pw;
    nd_naming_preq_t     *preq;
    nd_naming_persist_t  *ps;

    ps = nf->persist;
    if (ps == NULL || ps->writes.next == NULL) {
        return;
    }

    if (nf->cycle->loop) {
        nd_timer_stop(&ps->load_timer);
    }

    /* only after a shutdown timeout: the store delivers no more */
    if (ps->load_op) {
        nd_store_cancel(ps->load_op);
        ps->load_op = NULL;
    }

    nd_naming_persist_sync_exit(ps);

    while (!nd_queue_empty(&ps->writes)) {
        q = nd_queue_head(&ps->writes);
        nd_queue_remove(q);
        pw = nd_queue_data(q, nd_naming_pw_t, link);
        if (pw->op) {
            nd_store_cancel(pw->op);
        }
        nd_naming_pw_free(pw);
    }

    while (!nd_queue_empty(&ps->reqs)) {
        q = nd_queue_head(&ps->reqs);
        preq = nd_queue_data(q, nd_naming_preq_t, link);
        nd_naming_preq_free(preq);
    }

    for (i = 0; i < ps->load_n; i++) {
        nd_free(ps->load_ns[i]);
    }
    nd_free(ps->load_ns);
    ps->load_ns = NULL;
    ps->load_n = 0;
    nf->persist = NULL;
}


#else  /* !ND_WITH_STORE */


nd_int_t
nd_naming_persist_init(nd_cycle_t *cycle)
{
    return ND_OK;
}


nd_int_t
nd_naming_persist_start(nd_naming_conf_t *nf)
{
    return ND_OK;
}


void
nd_naming_persist_stop(nd_naming_conf_t *nf)
{
}


void
nd_naming_persist_exit(nd_naming_conf_t *nf)
{
}


nd_int_t
nd_naming_persist_register(const nd_naming_waiter_t *w,
    const nd_naming_ref_t *ref, const nd_naming_spec_t *spec)
{
    return ND_DECLINED;
}


nd_int_t
nd_naming_persist_deregister(const nd_naming_waiter_t *w,
    const nd_naming_ref_t *ref, const nd_str_t *ip, nd_uint_t port)
{
    return ND_DECLINED;
}


nd_int_t
nd_naming_persist_update(const nd_naming_waiter_t *w,
    const nd_naming_ref_t *ref, const nd_str_t *ip, nd_uint_t port,
    const nd_str_t *cluster, const nd_naming_change_t *ch)
{
    return ND_DECLINED;
}


nd_int_t
nd_naming_persist_batch(const nd_naming_waiter_t *w,
    nd_naming_service_t *s, nd_naming_instance_t **insts, nd_uint_t n,
    const nd_naming_change_t *ch, json_t *updated)
{
    return ND_DECLINED;
}


void
nd_naming_persist_abort(void *ctx)
{
}

#endif /* ND_WITH_STORE */

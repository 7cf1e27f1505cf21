/*
 * The config cache of the store: the newest committed row of every config
 * (and of its gray versions), the lookups the config module asks (which
 * version a client gets is config's rule: nd_config_for_client),
 * CONFIG_CHANGED when a row changes, and the refresh that
 * follows other nodes' commits through the change sequence.
 */
#include <nd_store_internal.h>


static int64_t nd_store_cache_tomb(nd_store_conf_t *scf, const u_char *key,
    size_t klen);
static void nd_store_cache_tomb_add(nd_store_conf_t *scf, const u_char *key,
    size_t klen, int64_t seq);


const nd_store_config_t *
nd_store_config_cached(nd_cycle_t *cycle, const nd_str_t *data_id,
    const nd_str_t *group, const nd_str_t *tenant)
{
    u_char                    buf[1600];
    size_t                    klen;
    nd_store_conf_t          *scf;
    const nd_store_config_t  *c;

    scf = nd_store_conf(cycle);

    klen = nd_store_group_key_len(data_id, group, tenant);
    if (klen > sizeof(buf)) {
        return NULL;
    }
    klen = nd_store_group_key(buf, data_id, group, tenant);

    c = nd_hash_find(&scf->cache, buf, klen);

    if (c == NULL && scf->lazy) {
        /* not loaded yet is not absent */
        c = scf->be->miss(cycle, data_id, group, tenant, 0);
    }

    return c;
}


const nd_store_config_t *
nd_store_config_by_id(nd_cycle_t *cycle, int64_t id)
{
    nd_uint_t                 i;
    nd_hash_elt_t            *e;
    nd_store_conf_t          *scf;
    const nd_store_config_t  *c;

    scf = nd_store_conf(cycle);

    for (e = nd_hash_first(&scf->cache, &i); e;
         e = nd_hash_next(&scf->cache, e, &i))
    {
        c = e->value;
        if (c->id == id && c->gray_name.len == 0) {
            return c;
        }
    }

    /* not loaded yet is not absent (a row written during the load is in
     * the cache, not in the load's snapshot) */
    return scf->lazy ? scf->be->miss(cycle, NULL, NULL, NULL, id) : NULL;
}


const nd_store_config_t *
nd_store_gray_cached(nd_cycle_t *cycle, const nd_str_t *data_id,
    const nd_str_t *group, const nd_str_t *tenant, const nd_str_t *gray_name)
{
    u_char            buf[1800];
    size_t            klen;
    nd_store_conf_t  *scf;

    scf = nd_store_conf(cycle);

    if (gray_name->len == 0) {
        return NULL;
    }

    klen = nd_store_gray_key_len(data_id, group, tenant, gray_name);
    if (klen > sizeof(buf)) {
        return NULL;
    }
    klen = nd_store_cache_key(buf, data_id, group, tenant, gray_name);

    return nd_hash_find(&scf->cache, buf, klen);
}


/* the cache: the newest committed config_info row per group key */

static void
nd_store_notify(nd_store_conf_t *scf, const nd_store_config_t *c,
    int64_t seq, int deleted)
{
    /* a gray version: deleted says whether that version went away */
    u_char             *p;
    nd_str_t            key;
    nd_store_change_t  *ch;

    if (scf->loading) {
        return;                         /* start-up: nobody listens yet */
    }

    /* one allocation: the change, then dataId \x02 group \x02 tenant,
     * which is also the event key; the key's views point into it */
    key.len = c->data_id.len + c->group.len + c->tenant.len + 2;
    ch = nd_alloc(sizeof(nd_store_change_t) + key.len);
    if (ch == NULL) {
        return;
    }

    key.data = (u_char *) (ch + 1);
    p = key.data;

    ch->key.data_id.data = p;
    ch->key.data_id.len = c->data_id.len;
    p = nd_cpymem(p, c->data_id.data, c->data_id.len);
    *p++ = '\002';

    ch->key.group.data = p;
    ch->key.group.len = c->group.len;
    p = nd_cpymem(p, c->group.data, c->group.len);
    *p++ = '\002';

    ch->key.tenant.data = p;
    ch->key.tenant.len = c->tenant.len;
    (void) nd_cpymem(p, c->tenant.data, c->tenant.len);

    ch->seq = seq;
    ch->deleted = deleted ? 1 : 0;
    ch->gray = c->gray_name.len ? 1 : 0;
    ch->local = scf->committing;

    nd_event_publish(scf->cycle, ND_EV_CONFIG_CHANGED, &key, ch, nd_free);
}


/* the cache key of a row: its group key, \x01 gray name for a gray one;
 * dst >= nd_store_gray_key_len() */
size_t
nd_store_cache_key(u_char *dst, const nd_str_t *data_id,
    const nd_str_t *group, const nd_str_t *tenant, const nd_str_t *gray)
{
    size_t  n;

    n = nd_store_group_key(dst, data_id, group, tenant);

    if (gray && gray->len) {
        dst[n++] = '\001';
        memcpy(dst + n, gray->data, gray->len);
        n += gray->len;
    }

    return n;
}


/* the match list of a gray row: beta ips (from its rule), or the tag of
 * tag_<tag>; *json holds what expr points into until json_decref() */
static void
nd_store_gray_expr(const nd_store_config_t *c, nd_str_t *expr, json_t **json)
{
    size_t       pre;
    const char  *e;

    *json = NULL;
    nd_str_null(expr);

    if (c->gray_name.len == 0) {
        return;
    }

    pre = sizeof(ND_STORE_TAG_PREFIX) - 1;
    if (c->gray_name.len > pre
        && memcmp(c->gray_name.data, ND_STORE_TAG_PREFIX, pre) == 0)
    {
        expr->data = c->gray_name.data + pre;
        expr->len = c->gray_name.len - pre;
        return;
    }

    *json = json_loadb((char *) c->gray_rule.data, c->gray_rule.len, 0,
                       NULL);
    e = *json ? nd_json_get_str(*json, "expr", NULL) : NULL;
    if (e) {
        expr->data = (u_char *) e;
        expr->len = strlen(e);
    }
}


void
nd_store_cache_put(nd_store_conf_t *scf, const nd_store_config_t *c)
{
    u_char             *p, *key;
    size_t              size, klen;
    int64_t             old_seq;
    json_t             *rule;
    nd_str_t            expr;
    nd_uint_t           i;
    nd_str_t           *dst;
    nd_store_config_t  *n, *old;

    nd_store_gray_expr(c, &expr, &rule);

    klen = nd_store_gray_key_len(&c->data_id, &c->group, &c->tenant,
                                 &c->gray_name);
    size = sizeof(nd_store_config_t) + klen;
    size += c->data_id.len + c->group.len + c->tenant.len + c->content.len
            + c->md5.len + c->app_name.len + c->type.len + c->src_user.len
            + c->src_ip.len + c->desc.len + c->use.len + c->effect.len
            + c->schema.len + c->tags.len + c->encrypted_data_key.len
            + c->gray_name.len + c->gray_rule.len + expr.len + 16;

    n = nd_alloc(size);
    if (n == NULL) {
        json_decref(rule);
        nd_log_error(ND_LOG_CRIT, scf->cycle->log, 0,
                     "store: no memory to cache a config");
        return;
    }

    *n = *c;
    n->nid = 0;
    n->deleted = 0;
    n->gray_expr = expr;
    nd_str_null(&n->op_type);
    nd_str_null(&n->ext_info);

    p = (u_char *) (n + 1);
    key = p;
    klen = nd_store_cache_key(key, &c->data_id, &c->group, &c->tenant,
                              &c->gray_name);
    p += klen;

    {
        nd_str_t  *fields[] = {
            &n->data_id, &n->group, &n->tenant, &n->content, &n->md5,
            &n->app_name, &n->type, &n->src_user, &n->src_ip, &n->desc,
            &n->use, &n->effect, &n->schema, &n->tags,
            &n->encrypted_data_key, &n->gray_name, &n->gray_rule,
            &n->gray_expr
        };

        for (i = 0; i < nd_nelts(fields); i++) {
            dst = fields[i];
            if (dst->len) {
                memcpy(p, dst->data, dst->len);
            }
            dst->data = p;
            p += dst->len;
        }
    }

    json_decref(rule);

    old_seq = -1;

    old = nd_hash_find(&scf->cache, key, klen);

    if (old == NULL && scf->loading && nd_store_cache_tomb(scf, key, klen)
        >= n->seq)
    {
        nd_free(n);                     /* deleted since it was read */
        return;
    }

    if (old) {
        if (old->seq > n->seq) {
            nd_free(n);                 /* a newer one is cached */
            return;
        }
        old_seq = old->seq;
        nd_hash_del(&scf->cache, key, klen);
        nd_free(old);
    }

    if (nd_hash_add(&scf->cache, key, klen, n) != ND_OK) {
        nd_free(n);
        return;
    }

    if (old_seq != n->seq) {
        nd_store_notify(scf, n, n->seq, 0);
    }
}


void
nd_store_cache_del(nd_store_conf_t *scf, const nd_store_config_t *c,
    int64_t seq)
{
    u_char              buf[1800];
    size_t              klen;
    nd_store_config_t  *old;

    klen = nd_store_gray_key_len(&c->data_id, &c->group, &c->tenant,
                                 &c->gray_name);
    if (klen > sizeof(buf)) {
        return;
    }
    klen = nd_store_cache_key(buf, &c->data_id, &c->group, &c->tenant,
                              &c->gray_name);

    old = nd_hash_find(&scf->cache, buf, klen);
    if (old && old->seq < seq) {
        nd_hash_del(&scf->cache, buf, klen);
        nd_free(old);
        nd_store_notify(scf, c, seq, 1);

    } else if (old == NULL && scf->lazy
               && nd_store_cache_tomb(scf, buf, klen) < seq)
    {
        /* not loaded yet: a listener may have seen its row (a miss) */
        nd_store_notify(scf, c, seq, 1);
    }

    if (scf->lazy) {
        /* its row may still be in a chunk to come */
        nd_store_cache_tomb_add(scf, buf, klen, seq);
    }
}


/* tombstones: while the formal rows load, a delete must outlive the row
 * of a chunk still to come (their sequences are lower than any delete's) */

static int64_t
nd_store_cache_tomb(nd_store_conf_t *scf, const u_char *key, size_t klen)
{
    int64_t  *seq;

    if (scf->tombs.buckets == NULL) {
        return -1;
    }

    seq = nd_hash_find(&scf->tombs, key, klen);

    return seq ? *seq : -1;
}


static void
nd_store_cache_tomb_add(nd_store_conf_t *scf, const u_char *key,
    size_t klen, int64_t seq)
{
    int64_t  *t;

    if (scf->tombs.buckets == NULL
        && nd_hash_init(&scf->tombs, 64) != ND_OK)
    {
        goto failed;
    }

    t = nd_hash_find(&scf->tombs, key, klen);
    if (t) {
        if (*t < seq) {
            *t = seq;
        }
        return;
    }

    t = nd_alloc(sizeof(int64_t));
    if (t == NULL) {
        goto failed;
    }

    *t = seq;
    if (nd_hash_add(&scf->tombs, key, klen, t) == ND_OK) {
        return;
    }

    nd_free(t);

failed:

    nd_log_error(ND_LOG_CRIT, scf->cycle->log, 0,
                 "store: no memory for a delete during the cache load");
}


void
nd_store_cache_tombs_free(nd_store_conf_t *scf)
{
    nd_uint_t       i;
    nd_hash_elt_t  *e;

    if (scf->tombs.buckets == NULL) {
        return;
    }

    for (e = nd_hash_first(&scf->tombs, &i); e;
         e = nd_hash_next(&scf->tombs, e, &i))
    {
        nd_free(e->value);
    }

    nd_hash_free(&scf->tombs);
    scf->tombs.buckets = NULL;
}


void
nd_store_cache_load(nd_store_conf_t *scf, nd_store_op_t *op)
{
    nd_uint_t           i;
    nd_store_config_t  *rows;

    rows = op->rows.elts;

    for (i = 0; i < op->rows.nelts; i++) {
        if (rows[i].deleted) {
            nd_store_cache_del(scf, &rows[i], rows[i].seq);
        } else {
            nd_store_cache_put(scf, &rows[i]);
        }
        if (rows[i].seq > scf->last_seq) {
            scf->last_seq = rows[i].seq;
        }
        /* only what was read in sequence order moves the cursor: our own
         * writes do not (a change of another node below them may not be
         * in the cache yet) */
        if (rows[i].seq > scf->sync_seq) {
            scf->sync_seq = rows[i].seq;
        }
    }
}


/* pg: other nodes write the same tables; follow the change sequence */

static void
nd_store_refresh_done(nd_store_op_t *op)
{
    nd_store_conf_t  *scf;

    scf = op->data;
    scf->refreshing = 0;

    if (op->rc == ND_OK) {
        nd_store_cache_load(scf, op);
    }

    if (nd_cycle->stopping) {
        return;
    }

    if ((op->rc == ND_OK && op->rows.nelts == op->page_size)
        || scf->refresh_again)
    {
        scf->refresh_again = 0;
        nd_store_refresh(&scf->refresh);      /* more to come */
    }
}


void
nd_store_refresh_now(nd_cycle_t *cycle)
{
    nd_store_conf_t  *scf;

    scf = nd_store_conf(cycle);

    if (scf->started && !scf->loading) {
        nd_store_refresh(&scf->refresh);
    }
}


void
nd_store_refresh(nd_timer_t *t)
{
    nd_store_op_t    *op;
    nd_store_conf_t  *scf;

    scf = t->data;

    if (scf->refreshing) {
        scf->refresh_again = 1;     /* a change may be past its read */
        return;
    }

    if (scf->be->available(scf->cycle) != ND_OK) {
        return;
    }

    op = nd_store_op_create(scf->cycle, ND_STORE_CHANGES,
                            nd_store_refresh_done, scf);
    if (op == NULL) {
        return;
    }

    op->since = scf->sync_seq;
    op->page_size = 1000;
    scf->refreshing = 1;
    nd_store_submit(op);
}

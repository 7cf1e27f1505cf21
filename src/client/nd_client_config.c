/*
 * libnacos: config get/publish/remove and listeners.
 *
 * Each listened key has a cache entry: content, md5, and "synced" (the
 * server has been told our md5 on this connection and found no change).
 * The listen loop waits for its bell at most listen_interval, then sends
 * one ConfigBatchListenRequest with every entry not synced (and one with
 * listen=false for entries whose last listener went).  The bell rings
 * when a listener is added (after the entry's first read) or removed,
 * when the server pushes ConfigChangeNotifyRequest (the entry is no
 * longer synced), and when a connection becomes ready (no entry is).
 * Keys the server reports changed are read again; listeners run once per
 * real change (md5), in the order they were added.  An entry that a
 * push touched while its listen or read was in flight stays unsynced
 * (gen), so no change is lost between the two.
 */
#include <nd_client.h>

/* listener reads in flight at most (the rest wait their turn), and keys
 * in one ConfigBatchListenRequest at most */
#define ND_CLIENT_QUERIES_MAX   64
#define ND_CLIENT_BATCH_MAX     1000


typedef struct {
    nd_client_cache_t   *cache;
    unsigned             gen;
} nd_client_sent_t;

/* a batch listen in flight: the entries it names */
typedef struct {
    nd_uint_t            n;
    nd_client_sent_t     sent[];
} nd_client_batch_t;


static void nd_client_listen_handler(struct ev_loop *loop, ev_timer *w,
    int revents);
static void nd_client_query(nacos_client_t *c, nd_client_cache_t *cache);
static void nd_client_query_next(nacos_client_t *c);


void
nd_client_config_init(nacos_client_t *c)
{
    nd_queue_init(&c->caches);
    nd_queue_init(&c->query_wait);
    ev_timer_init(&c->listen, nd_client_listen_handler, 0.,
                  (double) c->listen_interval / 1000);
    c->listen.data = c;
    ev_timer_again(c->loop, &c->listen);
}


static void
nd_client_cache_free(nd_client_cache_t *cache)
{
    nd_client_listener_t  *l, *next;

    for (l = cache->listeners; l; l = next) {
        next = l->next;
        nd_free(l);
    }

    free(cache->data_id);
    free(cache->group);
    free(cache->content);
    nd_free(cache);
}


/* the entry may go: no listener, nothing in flight names it */
static void
nd_client_cache_release(nd_client_cache_t *cache)
{
    if (--cache->refs == 0 && cache->removing && cache->unlistened) {
        nd_queue_remove(&cache->link);
        nd_client_cache_free(cache);
    }
}


void
nd_client_config_free(nacos_client_t *c)
{
    nd_queue_t         *q;
    nd_client_cache_t  *cache;

    ev_timer_stop(c->loop, &c->listen);

    while (!nd_queue_empty(&c->caches)) {
        q = nd_queue_head(&c->caches);
        nd_queue_remove(q);
        cache = nd_queue_data(q, nd_client_cache_t, link);
        nd_client_cache_free(cache);
    }
}


static void
nd_client_bell(nacos_client_t *c)
{
    if (c->listening) {
        c->bell = 1;                    /* again once the answer came */
        return;
    }

    ev_timer_stop(c->loop, &c->listen);
    ev_timer_set(&c->listen, 0., (double) c->listen_interval / 1000);
    ev_timer_start(c->loop, &c->listen);
}


void
nd_client_config_connected(nacos_client_t *c)
{
    nd_queue_t         *q;
    nd_client_cache_t  *cache;

    for (q = nd_queue_head(&c->caches); q != nd_queue_sentinel(&c->caches);
         q = nd_queue_next(q))
    {
        cache = nd_queue_data(q, nd_client_cache_t, link);
        cache->synced = 0;
        cache->gen++;
        if (!cache->known && !cache->querying && !cache->removing) {
            nd_client_query(c, cache);
        }
    }

    nd_client_bell(c);
}


static nd_client_cache_t *
nd_client_cache_find(nacos_client_t *c, const char *data_id,
    const char *group)
{
    nd_queue_t         *q;
    nd_client_cache_t  *cache;

    for (q = nd_queue_head(&c->caches); q != nd_queue_sentinel(&c->caches);
         q = nd_queue_next(q))
    {
        cache = nd_queue_data(q, nd_client_cache_t, link);
        if (!cache->removing && strcmp(cache->data_id, data_id) == 0
            && strcmp(cache->group, group) == 0)
        {
            return cache;
        }
    }

    return NULL;
}


void
nd_client_config_push(nacos_client_t *c, json_t *body)
{
    nd_client_cache_t  *cache;

    c->stats.config_pushes++;

    cache = nd_client_cache_find(c, nd_json_get_str(body, "dataId", ""),
                                 nd_json_get_str(body, "group", ""));
    if (cache) {
        cache->synced = 0;
        cache->gen++;
    }

    nd_client_bell(c);
}


static json_t *
nd_client_config_body(nacos_client_t *c, const char *data_id,
    const char *group)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:{}}", "dataId", data_id,
                     "group", ND_CLIENT_GROUP(group),
                     "tenant", c->namespace_id, "module", "config",
                     "headers");
}


/* the listeners of an entry whose content changed */
static void
nd_client_notify(nacos_client_t *c, nd_client_cache_t *cache)
{
    nd_client_listener_t  *l;

    c->in_callback++;

    for (l = cache->listeners; l; l = l->next) {
        if (l->cb) {
            l->cb(c, cache->data_id, cache->group, cache->content,
                  cache->md5, l->data);
        }
    }

    c->in_callback--;
}


typedef struct {
    nd_client_cache_t   *cache;
    unsigned             gen;
} nd_client_read_t;


static void
nd_client_queried(nacos_client_t *c, int rc, const char *type, json_t *body,
    void *data)
{
    int                 absent;
    char               *content;
    const char         *md5;
    nd_client_read_t   *rd = data;
    nd_client_cache_t  *cache;

    cache = rd->cache;
    cache->querying = 0;
    c->queries--;

    if (rc != NACOS_OK || cache->removing) {
        goto done;
    }

    absent = nd_json_get_int(body, "errorCode", 0) == 300;
    if (!absent && nd_client_result(c, type, body) != NACOS_OK) {
        goto done;                      /* read again on the next bell */
    }

    md5 = absent ? "" : nd_json_get_str(body, "md5", "");

    if (strcmp(md5, cache->md5) != 0 || !cache->known) {
        content = absent ? NULL
                         : strdup(nd_json_get_str(body, "content", ""));
        free(cache->content);
        cache->content = content;
        snprintf(cache->md5, sizeof(cache->md5), "%s", md5);

        if (cache->known) {
            nd_client_trace(c, "config %s %s changed, md5 %s",
                            cache->data_id, cache->group, md5);
            nd_client_notify(c, cache);
        }
    }

    if (!cache->known) {
        cache->known = 1;
        nd_client_bell(c);              /* a listener was added */

    } else if (rd->gen == cache->gen) {
        cache->synced = 1;
    }

done:

    nd_client_cache_release(cache);
    nd_free(rd);
    nd_client_query_next(c);
}


static void
nd_client_query_send(nacos_client_t *c, nd_client_cache_t *cache)
{
    nd_client_read_t  *rd;

    rd = nd_alloc(sizeof(nd_client_read_t));
    if (rd == NULL) {
        cache->querying = 0;
        nd_client_cache_release(cache);
        return;
    }

    rd->cache = cache;
    rd->gen = cache->gen;
    c->queries++;
    c->stats.config_queries++;

    if (nd_client_call(c, "ConfigQueryRequest",
                       nd_client_config_body(c, cache->data_id,
                                             cache->group),
                       0, nd_client_queried, rd)
        != NACOS_OK)
    {
        c->queries--;
        cache->querying = 0;
        nd_client_cache_release(cache);
        nd_free(rd);
    }
}


/* read an entry (its first read, or a change the server reported); at
 * most ND_CLIENT_QUERIES_MAX at once, the others queue */
static void
nd_client_query(nacos_client_t *c, nd_client_cache_t *cache)
{
    cache->refs++;
    cache->querying = 1;

    if (c->queries < ND_CLIENT_QUERIES_MAX) {
        nd_client_query_send(c, cache);
        return;
    }

    nd_queue_insert_tail(&c->query_wait, &cache->qlink);
}


static void
nd_client_query_next(nacos_client_t *c)
{
    nd_queue_t         *q;
    nd_client_cache_t  *cache;

    while (c->queries < ND_CLIENT_QUERIES_MAX
           && !nd_queue_empty(&c->query_wait))
    {
        q = nd_queue_head(&c->query_wait);
        nd_queue_remove(q);
        cache = nd_queue_data(q, nd_client_cache_t, qlink);

        if (cache->removing) {
            cache->querying = 0;
            nd_client_cache_release(cache);
            continue;
        }

        nd_client_query_send(c, cache);
    }
}


static void
nd_client_listened(nacos_client_t *c, int rc, const char *type,
    json_t *body, void *data)
{
    size_t              i, k;
    json_t             *changed, *e;
    nd_client_batch_t  *b = data;
    nd_client_cache_t  *cache;

    c->listening--;

    if (rc == NACOS_OK && nd_client_result(c, type, body) == NACOS_OK) {
        changed = json_object_get(body, "changedConfigs");

        for (i = 0; i < b->n; i++) {
            cache = b->sent[i].cache;
            if (cache->removing) {
                continue;
            }

            for (k = 0; k < json_array_size(changed); k++) {
                e = json_array_get(changed, k);
                if (strcmp(nd_json_get_str(e, "dataId", ""), cache->data_id)
                    == 0
                    && strcmp(nd_json_get_str(e, "group", ""), cache->group)
                    == 0)
                {
                    break;
                }
            }

            if (k < json_array_size(changed)) {
                if (!cache->querying) {
                    nd_client_query(c, cache);
                }

            } else if (b->sent[i].gen == cache->gen) {
                cache->synced = 1;
            }
        }
    }

    for (i = 0; i < b->n; i++) {
        nd_client_cache_release(b->sent[i].cache);
    }

    nd_free(b);

    if (c->bell && c->listening == 0) {
        c->bell = 0;
        nd_client_bell(c);
    }
}


static json_t *
nd_client_listen_context(nacos_client_t *c, nd_client_cache_t *cache)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "dataId", cache->data_id,
                     "group", cache->group, "tenant", c->namespace_id,
                     "md5", cache->md5);
}


static void
nd_client_unlistened(nacos_client_t *c, int rc, const char *type,
    json_t *body, void *data)
{
}


/* listen=false for entries without listeners; then they may go */
static void
nd_client_unlisten_gone(nacos_client_t *c)
{
    json_t             *ctx;
    nd_queue_t         *q, *next;
    nd_client_cache_t  *cache;

    ctx = json_array();

    for (q = nd_queue_head(&c->caches); q != nd_queue_sentinel(&c->caches);
         q = next)
    {
        next = nd_queue_next(q);
        cache = nd_queue_data(q, nd_client_cache_t, link);
        if (!cache->removing || cache->unlistened) {
            continue;
        }

        json_array_append_new(ctx, nd_client_listen_context(c, cache));
        cache->unlistened = 1;
        nd_client_cache_release(cache); /* the listeners' hold */
    }

    if (json_array_size(ctx) == 0) {
        json_decref(ctx);
        return;
    }

    c->stats.listen_requests++;
    nd_client_trace(c, "ConfigBatchListenRequest listen=false %zu keys",
                    json_array_size(ctx));
    nd_client_call(c, "ConfigBatchListenRequest",
                   json_pack("{s:b, s:o, s:s, s:{}}", "listen", 0,
                             "configListenContexts", ctx,
                             "module", "config", "headers"),
                   0, nd_client_unlistened, NULL);
}


/* one ConfigBatchListenRequest for at most ND_CLIENT_BATCH_MAX unsynced
 * entries from q on; returns where the next batch starts */
static nd_queue_t *
nd_client_listen_batch(nacos_client_t *c, nd_queue_t *q)
{
    nd_uint_t           i;
    json_t             *ctx;
    nd_client_batch_t  *b;
    nd_client_cache_t  *cache;

    b = nd_alloc(sizeof(nd_client_batch_t)
                 + ND_CLIENT_BATCH_MAX * sizeof(nd_client_sent_t));
    ctx = json_array();
    if (b == NULL || ctx == NULL) {
        nd_free(b);
        json_decref(ctx);
        return nd_queue_sentinel(&c->caches);
    }

    b->n = 0;

    for ( /* void */ ; q != nd_queue_sentinel(&c->caches)
                       && b->n < ND_CLIENT_BATCH_MAX;
         q = nd_queue_next(q))
    {
        cache = nd_queue_data(q, nd_client_cache_t, link);
        if (cache->synced || !cache->known || cache->removing) {
            continue;
        }

        json_array_append_new(ctx, nd_client_listen_context(c, cache));
        b->sent[b->n].cache = cache;
        b->sent[b->n].gen = cache->gen;
        b->n++;
        cache->refs++;
    }

    if (b->n == 0) {
        nd_free(b);
        json_decref(ctx);
        return q;
    }

    c->stats.listen_requests++;
    c->listening++;
    nd_client_trace(c, "ConfigBatchListenRequest %lu keys",
                    (unsigned long) b->n);

    if (nd_client_call(c, "ConfigBatchListenRequest",
                       json_pack("{s:b, s:o, s:s, s:{}}", "listen", 1,
                                 "configListenContexts", ctx,
                                 "module", "config", "headers"),
                       0, nd_client_listened, b)
        != NACOS_OK)
    {
        c->listening--;
        for (i = 0; i < b->n; i++) {
            nd_client_cache_release(b->sent[i].cache);
        }
        nd_free(b);
    }

    return q;
}


/* the listen loop: the bell rang or listen_interval went by */
static void
nd_client_listen_handler(struct ev_loop *loop, ev_timer *w, int revents)
{
    nd_queue_t         *q;
    nacos_client_t     *c = w->data;
    nd_client_cache_t  *cache;

    if (c->state != ND_CLIENT_READY || c->listening) {
        return;
    }

    nd_client_unlisten_gone(c);

    for (q = nd_queue_head(&c->caches); q != nd_queue_sentinel(&c->caches);
         q = nd_queue_next(q))
    {
        cache = nd_queue_data(q, nd_client_cache_t, link);
        if (!cache->known && !cache->querying && !cache->removing) {
            nd_client_query(c, cache);  /* its first read failed */
        }
    }

    q = nd_queue_head(&c->caches);
    while (q != nd_queue_sentinel(&c->caches)) {
        q = nd_client_listen_batch(c, q);
    }
}


int
nacos_config_listen(nacos_client_t *c, const char *data_id,
    const char *group, nacos_config_pt cb, void *data)
{
    nd_client_cache_t     *cache;
    nd_client_listener_t  *l, **last;

    if (data_id == NULL || data_id[0] == '\0' || cb == NULL) {
        return nd_client_error(c, NACOS_EINVAL, "no dataId or callback");
    }

    group = ND_CLIENT_GROUP(group);

    l = nd_calloc(sizeof(nd_client_listener_t));
    if (l == NULL) {
        return nd_client_error(c, NACOS_ENOMEM, "no memory");
    }

    l->cb = cb;
    l->data = data;

    cache = nd_client_cache_find(c, data_id, group);

    if (cache == NULL) {
        cache = nd_calloc(sizeof(nd_client_cache_t));
        if (cache == NULL
            || (cache->data_id = strdup(data_id)) == NULL
            || (cache->group = strdup(group)) == NULL)
        {
            if (cache) {
                nd_client_cache_free(cache);
            }
            nd_free(l);
            return nd_client_error(c, NACOS_ENOMEM, "no memory");
        }

        cache->refs = 1;                /* the listeners' */
        cache->listeners = l;
        nd_queue_insert_tail(&c->caches, &cache->link);

        /* the first read, then the bell */
        nd_client_query(c, cache);

        return NACOS_OK;
    }

    for (last = &cache->listeners; *last; last = &(*last)->next) {
        /* void */
    }
    *last = l;

    nd_client_bell(c);

    return NACOS_OK;
}


int
nacos_config_unlisten(nacos_client_t *c, const char *data_id,
    const char *group, nacos_config_pt cb, void *data)
{
    int                    live;
    nd_client_cache_t     *cache;
    nd_client_listener_t  *l;

    cache = nd_client_cache_find(c, data_id ? data_id : "",
                                 ND_CLIENT_GROUP(group));
    if (cache == NULL) {
        return nd_client_error(c, NACOS_NOT_FOUND, "not listening");
    }

    live = 0;

    /* a listener goes quiet at once; the entry goes with its last one */
    for (l = cache->listeners; l; l = l->next) {
        if (l->cb == cb && l->data == data) {
            l->cb = NULL;
        }
        live += (l->cb != NULL);
    }

    if (!live) {
        /* the listeners' hold now waits for listen=false */
        cache->removing = 1;
        nd_client_bell(c);
    }

    return NACOS_OK;
}


/* the blocking calls */

int
nacos_config_get(nacos_client_t *c, const char *data_id, const char *group,
    char **content, char *md5)
{
    int      rc;
    char    *rtype;
    json_t  *body;

    if (data_id == NULL || data_id[0] == '\0') {
        return nd_client_error(c, NACOS_EINVAL, "no dataId");
    }

    c->stats.config_queries++;
    rc = nd_client_call_wait(c, "ConfigQueryRequest",
                             nd_client_config_body(c, data_id, group),
                             &rtype, &body);
    if (rc != NACOS_OK) {
        return rc;
    }

    if (nd_json_get_int(body, "errorCode", 0) == 300) {
        rc = nd_client_error(c, NACOS_NOT_FOUND, "config %s %s not found",
                             data_id, ND_CLIENT_GROUP(group));

    } else {
        rc = nd_client_result(c, rtype, body);
    }

    if (rc == NACOS_OK) {
        *content = strdup(nd_json_get_str(body, "content", ""));
        if (md5) {
            snprintf(md5, 33, "%s", nd_json_get_str(body, "md5", ""));
        }
        if (*content == NULL) {
            rc = NACOS_ENOMEM;
        }
    }

    free(rtype);
    json_decref(body);

    return rc;
}


static int
nd_client_config_write(nacos_client_t *c, const char *type, json_t *req,
    int cas)
{
    int      rc;
    char    *rtype;
    json_t  *body;

    rc = nd_client_call_wait(c, type, req, &rtype, &body);
    if (rc != NACOS_OK) {
        return rc;
    }

    rc = nd_client_result(c, rtype, body);
    if (rc == NACOS_ERROR && cas) {
        rc = NACOS_CONFLICT;
        c->errcode = rc;
    }

    free(rtype);
    json_decref(body);

    return rc;
}


int
nacos_config_publish(nacos_client_t *c, const char *data_id,
    const char *group, const char *content, const char *cas_md5,
    const char *type)
{
    json_t  *req;

    if (data_id == NULL || data_id[0] == '\0' || content == NULL) {
        return nd_client_error(c, NACOS_EINVAL, "no dataId or content");
    }

    req = nd_client_config_body(c, data_id, group);
    if (req == NULL) {
        return NACOS_ENOMEM;
    }

    json_object_set_new(req, "content", json_string(content));
    json_object_set_new(req, "additionMap",
                        json_pack("{s:s}", "type", type ? type : "text"));
    if (cas_md5 && cas_md5[0]) {
        json_object_set_new(req, "casMd5", json_string(cas_md5));
    }

    return nd_client_config_write(c, "ConfigPublishRequest", req,
                                  cas_md5 && cas_md5[0]);
}


int
nacos_config_remove(nacos_client_t *c, const char *data_id,
    const char *group)
{
    if (data_id == NULL || data_id[0] == '\0') {
        return nd_client_error(c, NACOS_EINVAL, "no dataId");
    }

    return nd_client_config_write(c, "ConfigRemoveRequest",
                                  nd_client_config_body(c, data_id, group),
                                  0);
}

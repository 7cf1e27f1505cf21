/*
 * The config module: directives, the listener index, and the reaction to
 * CONFIG_CHANGED (answering held long polls, pushing to gRPC listeners).
 */
#include <nd_config_internal.h>

static void *nd_config_create_conf(nd_cycle_t *cycle);
static char *nd_config_init_conf(nd_cycle_t *cycle, void *conf);
static nd_int_t nd_config_init_module(nd_cycle_t *cycle);
static void nd_config_stop(nd_cycle_t *cycle);
static void nd_config_exit(nd_cycle_t *cycle);
static void nd_config_on_change(nd_event_id_e id, const nd_str_t *key,
    void *payload, void *data);

static nd_conf_bounds_t  nd_config_keys_bounds = { 1, 1000000 };
static nd_conf_bounds_t  nd_config_polls_bounds = { 1, 100000000 };

static nd_command_t  nd_config_commands[] = {

    { nd_string("config"),
      ND_MAIN_CONF | ND_CONF_BLOCK | ND_CONF_NOARGS,
      nd_conf_module_block, 0, NULL },

    { nd_string("long_poll_floor"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_config_conf_t, long_poll_floor),
      NULL },

    { nd_string("long_poll_delay"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_config_conf_t, long_poll_delay),
      NULL },

    { nd_string("max_listen_keys"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_num_slot, offsetof(nd_config_conf_t, max_listen_keys),
      &nd_config_keys_bounds },

    { nd_string("max_long_polls"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_num_slot, offsetof(nd_config_conf_t, max_long_polls),
      &nd_config_polls_bounds },

    { nd_string("max_long_poll_keys"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_num_slot, offsetof(nd_config_conf_t, max_long_poll_keys),
      &nd_config_polls_bounds },
    { nd_string("max_connection_listeners"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_num_slot,
      offsetof(nd_config_conf_t, max_connection_listeners),
      &nd_config_keys_bounds },

    nd_null_command
};

nd_module_t  nd_config_module = {
    .name = "config",
    .commands = nd_config_commands,
    .create_conf = nd_config_create_conf,
    .init_conf = nd_config_init_conf,
    .init_module = nd_config_init_module,
    .stop = nd_config_stop,
    .exit = nd_config_exit,
};


static void *
nd_config_create_conf(nd_cycle_t *cycle)
{
    nd_config_conf_t  *ccf;

    ccf = nd_pcalloc(cycle->pool, sizeof(nd_config_conf_t));
    if (ccf == NULL) {
        return NULL;
    }

    ccf->long_poll_floor = ND_CONF_UNSET_MSEC;
    ccf->long_poll_delay = ND_CONF_UNSET_MSEC;
    ccf->max_listen_keys = ND_CONF_UNSET_UINT;
    ccf->max_long_polls = ND_CONF_UNSET_UINT;
    ccf->max_long_poll_keys = ND_CONF_UNSET_UINT;
    ccf->max_connection_listeners = ND_CONF_UNSET_UINT;

    return ccf;
}


static char *
nd_config_init_conf(nd_cycle_t *cycle, void *conf)
{
    nd_config_conf_t  *ccf = conf;

    /* Nacos: MIN_LONG_POOLING_TIMEOUT 10 s, FIXED_DELAY_TIME 500 ms */
    nd_conf_init_msec_value(ccf->long_poll_floor, 10000);
    nd_conf_init_msec_value(ccf->long_poll_delay, 500);
    nd_conf_init_uint_value(ccf->max_listen_keys, 10000);
    nd_conf_init_uint_value(ccf->max_long_polls, 10000);
    nd_conf_init_uint_value(ccf->max_long_poll_keys, 500000);
    nd_conf_init_uint_value(ccf->max_connection_listeners, 20000);

    return ND_CONF_OK;
}


static nd_int_t
nd_config_metrics_init(nd_cycle_t *cycle, nd_config_conf_t *ccf)
{
    if (nd_metrics_add_gauge(cycle, ND_METRICS_NACOS_MONITOR,
            ND_METRICS_NACOS_HELP,
            "module=\"config\",name=\"longPolling\"",
            &ccf->polls) != ND_OK
        || nd_metrics_add_gauge(cycle, "nacosd_config_listened_keys",
            "Config keys with at least one listener (long poll or gRPC).",
            NULL, &ccf->watches.nelts) != ND_OK
        || nd_metrics_add_gauge(cycle, "nacosd_config_grpc_listeners",
            "gRPC connections listening to configs.", NULL,
            &ccf->gconns.nelts) != ND_OK
        || nd_metrics_add_counter(cycle,
            "nacosd_config_cluster_notifies_total",
            "ConfigChangeClusterSyncRequest sent to peers.", NULL,
            &ccf->syncs_sent) != ND_OK)
    {
        return ND_ERROR;
    }

    return ND_OK;
}


static nd_int_t
nd_config_init_module(nd_cycle_t *cycle)
{
    nd_config_conf_t  *ccf;

    ccf = nd_config_conf(cycle);

    if (nd_hash_init(&ccf->watches, 1024) != ND_OK) {
        return ND_ERROR;
    }

    nd_queue_init(&ccf->held);
    nd_timer_init(&ccf->trim, "config trim", nd_config_trim, ccf);

    if (nd_event_subscribe(cycle, ND_EV_CONFIG_CHANGED, nd_config_on_change,
                           cycle) != ND_OK
        || nd_config_metrics_init(cycle, ccf) != ND_OK
        || nd_config_http_init(cycle) != ND_OK
        || nd_config_console_init(cycle) != ND_OK)
    {
        return ND_ERROR;
    }

#if (ND_WITH_GRPC)
    if (nd_config_grpc_init(cycle) != ND_OK) {
        return ND_ERROR;
    }
#endif

#if (ND_WITH_CLUSTER)
    if (nd_config_cluster_init(cycle) != ND_OK) {
        return ND_ERROR;
    }
#endif

    return ND_OK;
}


/* a stop answers every held long poll "no change", as a restarting Nacos
 * does, so the clients poll again (elsewhere) at once */
static void
nd_config_stop(nd_cycle_t *cycle)
{
    nd_config_polls_stop(cycle);
    nd_timer_stop(&nd_config_conf(cycle)->trim);
}


static void
nd_config_exit(nd_cycle_t *cycle)
{
    nd_uint_t           i;
    nd_queue_t         *q;
    nd_hash_elt_t      *e;
    nd_config_conf_t   *ccf;
    nd_config_watch_t  *w;

    ccf = nd_config_conf(cycle);

    if (ccf->watches.buckets == NULL) {
        return;
    }

#if (ND_WITH_GRPC)
    nd_config_grpc_exit(cycle);
#endif
#if (ND_WITH_CLUSTER)
    nd_config_cluster_exit(cycle);
#endif

    /* a listener still registered (a connection the event module closes
     * after us) must not find its watch: detach them all */
    for (e = nd_hash_first(&ccf->watches, &i); e;
         e = nd_hash_next(&ccf->watches, e, &i))
    {
        w = e->value;
        while (!nd_queue_empty(&w->listeners)) {
            q = nd_queue_head(&w->listeners);
            nd_queue_remove(q);
            nd_queue_data(q, nd_config_listener_t, link)->watch = NULL;
        }
        nd_free(w);
    }

    nd_hash_free(&ccf->watches);
}


/* keys */

void
nd_config_key_normalize(nd_config_key_t *key)
{
    if (key->tenant.len == 6
        && strncasecmp((char *) key->tenant.data, "public", 6) == 0)
    {
        key->tenant.len = 0;
    }

    if (key->tenant.len == 4 && memcmp(key->tenant.data, "null", 4) == 0) {
        key->tenant.len = 0;
    }
}


size_t
nd_config_index_key(u_char *dst, const nd_config_key_t *key)
{
    u_char  *p;

    p = dst;
    memcpy(p, key->data_id.data, key->data_id.len);
    p += key->data_id.len;
    *p++ = '\002';
    memcpy(p, key->group.data, key->group.len);
    p += key->group.len;
    *p++ = '\002';
    if (key->tenant.len) {
        memcpy(p, key->tenant.data, key->tenant.len);
        p += key->tenant.len;
    }

    return (size_t) (p - dst);
}


/* ip is in a comma separated list (blanks around items ignored) */
static int
nd_config_ip_listed(const nd_str_t *list, const char *ip)
{
    u_char  *p, *end, *item, *e;
    size_t   len;

    if (ip == NULL || list->len == 0) {
        return 0;
    }

    len = strlen(ip);
    p = list->data;
    end = p + list->len;

    while (p < end) {
        item = p;
        while (p < end && *p != ',') {
            p++;
        }
        e = p++;

        while (item < e && (*item == ' ' || *item == '\t')) {
            item++;
        }
        while (e > item && (e[-1] == ' ' || e[-1] == '\t')) {
            e--;
        }

        if ((size_t) (e - item) == len && memcmp(item, ip, len) == 0) {
            return 1;
        }
    }

    return 0;
}


/* Nacos's gray precedence: the beta version when the client's address is
 * in its list, else the tag version the client names, else the formal
 * row (NULL when absent) */
const nd_store_config_t *
nd_config_for_client(nd_cycle_t *cycle, const nd_config_key_t *key,
    const char *client_ip, const char *tag)
{
    u_char                    name[80];
    size_t                    len, pre;
    nd_str_t                  gray;
    const nd_store_config_t  *c;

    nd_str_set(&gray, ND_STORE_BETA);
    c = nd_store_gray_cached(cycle, &key->data_id, &key->group, &key->tenant,
                             &gray);
    if (c && nd_config_ip_listed(&c->gray_expr, client_ip)) {
        return c;
    }

    len = tag ? strlen(tag) : 0;
    pre = sizeof(ND_STORE_TAG_PREFIX) - 1;

    if (len && len <= sizeof(name) - pre) {
        memcpy(name, ND_STORE_TAG_PREFIX, pre);
        memcpy(name + pre, tag, len);
        gray.data = name;
        gray.len = pre + len;
        c = nd_store_gray_cached(cycle, &key->data_id, &key->group,
                                 &key->tenant, &gray);
        if (c) {
            return c;
        }
    }

    return nd_store_config_cached(cycle, &key->data_id, &key->group,
                                  &key->tenant);
}


nd_str_t
nd_config_row_type(nd_cycle_t *cycle, const nd_store_config_t *c)
{
    nd_str_t                  text = nd_string("text");
    const nd_store_config_t  *formal;

    if (c->type.len) {
        return c->type;
    }

    if (c->gray_name.len) {
        /* Nacos: the CacheItem's type, i.e. the formal version's */
        formal = nd_store_config_cached(cycle, &c->data_id, &c->group,
                                        &c->tenant);
        if (formal && formal->type.len) {
            return formal->type;
        }
    }

    return text;
}


nd_str_t
nd_config_md5(nd_cycle_t *cycle, const nd_config_key_t *key,
    const char *client_ip, const char *tag)
{
    nd_str_t                  none = nd_string("");
    const nd_store_config_t  *c;

    c = nd_config_for_client(cycle, key, client_ip, tag);

    return c ? c->md5 : none;
}


int
nd_config_md5_differs(nd_cycle_t *cycle, const nd_config_key_t *key,
    const char *client_ip, const char *tag, const char *client_md5)
{
    nd_str_t  md5;

    md5 = nd_config_md5(cycle, key, client_ip, tag);

    return md5.len != strlen(client_md5)
           || (md5.len && memcmp(md5.data, client_md5, md5.len) != 0);
}


/* the listener index */

static void
nd_config_watch_release(nd_config_conf_t *ccf, nd_config_watch_t *w)
{
    if (w->n == 0 && w->busy == 0) {
        nd_hash_del(&ccf->watches, w->key, w->klen);
        nd_free(w);
    }
}


nd_int_t
nd_config_listen(nd_cycle_t *cycle, const nd_config_key_t *key,
    nd_config_listener_t *l)
{
    u_char              buf[1024], *k;
    size_t              klen;
    nd_config_conf_t   *ccf;
    nd_config_watch_t  *w;

    ccf = nd_config_conf(cycle);
    klen = nd_config_index_len(key);

    k = klen <= sizeof(buf) ? buf : nd_alloc(klen);
    if (k == NULL) {
        return ND_ERROR;
    }
    klen = nd_config_index_key(k, key);

    w = nd_hash_find(&ccf->watches, k, klen);

    if (w == NULL) {
        w = nd_alloc(sizeof(nd_config_watch_t) + klen);
        if (w == NULL) {
            goto failed;
        }
        nd_queue_init(&w->listeners);
        w->n = 0;
        w->busy = 0;
        w->klen = klen;
        memcpy(w->key, k, klen);

        if (nd_hash_add(&ccf->watches, w->key, klen, w) != ND_OK) {
            nd_free(w);
            goto failed;
        }

    } else if (!nd_queue_empty(&w->listeners)
               && nd_queue_data(nd_queue_last(&w->listeners),
                                nd_config_listener_t, link)->data == l->data)
    {
        /* the same owner listed the key twice: one listener per owner
         * and key keeps nd_config_changed() safe */
        if (k != buf) {
            nd_free(k);
        }
        return ND_DECLINED;
    }

    nd_queue_insert_tail(&w->listeners, &l->link);
    l->watch = w;
    w->n++;

    if (k != buf) {
        nd_free(k);
    }
    return ND_OK;

failed:

    if (k != buf) {
        nd_free(k);
    }
    return ND_ERROR;
}


void
nd_config_unlisten(nd_config_listener_t *l)
{
    nd_config_watch_t  *w;
    nd_config_conf_t   *ccf;

    w = l->watch;
    if (w == NULL) {
        return;
    }

    nd_queue_remove(&l->link);
    l->watch = NULL;
    w->n--;

    ccf = nd_config_conf(nd_cycle);
    nd_config_watch_release(ccf, w);
}


void
nd_config_changed(nd_cycle_t *cycle, const nd_config_key_t *key, int gray)
{
    u_char                buf[1024], *k;
    size_t                klen;
    nd_queue_t           *q, *next;
    nd_config_conf_t     *ccf;
    nd_config_watch_t    *w;
    nd_config_listener_t *l;

    ccf = nd_config_conf(cycle);
    klen = nd_config_index_len(key);

    k = klen <= sizeof(buf) ? buf : nd_alloc(klen);
    if (k == NULL) {
        return;
    }
    klen = nd_config_index_key(k, key);

    w = nd_hash_find(&ccf->watches, k, klen);

    if (k != buf) {
        nd_free(k);
    }

    if (w == NULL) {
        return;
    }

    /* notify may unlisten (and free) the listener and its owner's other
     * listeners, never another owner's (one listener per owner and key):
     * the saved next stays valid; w is pinned until the walk ends */
    w->busy++;

    for (q = nd_queue_head(&w->listeners);
         q != nd_queue_sentinel(&w->listeners);
         q = next)
    {
        next = nd_queue_next(q);
        l = nd_queue_data(q, nd_config_listener_t, link);

        /* a beta or tag version changed: a held poll whose client still
         * gets what it holds (not in the beta list, another tag) stays */
        if (gray && l->gray_compare
            && !nd_config_md5_differs(cycle, key, l->client_ip, l->tag,
                                      l->md5))
        {
            continue;
        }

        l->notify(l);
    }

    w->busy--;
    nd_config_watch_release(ccf, w);
}


/*
 * CONFIG_CHANGED, published by the store after a commit or when it learns
 * of another node's commit; the payload carries the key.
 */
static void
nd_config_on_change(nd_event_id_e id, const nd_str_t *ikey, void *payload,
    void *data)
{
    nd_store_change_t  *ch = payload;

    if (ch == NULL) {
        return;
    }

    nd_config_changed(data, &ch->key, ch->gray);
}

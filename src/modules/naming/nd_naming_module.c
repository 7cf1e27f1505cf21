/*
 * The naming module: directives, start/stop, timers, the push scheduler
 * fed by SERVICE_CHANGED.
 *
 * Push scheduling (push_delay 0, the default): a change to a service whose
 * last push round is at least push_min_interval old is pushed at the end
 * of the current loop pass (deferred work: every change of the pass goes
 * in that one round); a change within push_min_interval of the last round
 * waits for last round + push_min_interval (one timer, services ordered by
 * due time), and every change until then goes in that round.  The state
 * pushed is the one current when the round runs.  push_delay > 0 is
 * Nacos's fixed merge window: a change is pushed push_delay after the
 * first change of the burst.
 */
#include <nd_naming.h>

static void *nd_naming_create_conf(nd_cycle_t *cycle);
static char *nd_naming_init_conf(nd_cycle_t *cycle, void *conf);
static nd_int_t nd_naming_init_module(nd_cycle_t *cycle);
static nd_int_t nd_naming_start(nd_cycle_t *cycle);
static void nd_naming_stop(nd_cycle_t *cycle);
static void nd_naming_exit(nd_cycle_t *cycle);

static nd_command_t  nd_naming_commands[] = {

    { nd_string("naming"),
      ND_MAIN_CONF | ND_CONF_BLOCK | ND_CONF_NOARGS,
      nd_conf_module_block, 0, NULL },

    { nd_string("heartbeat_timeout"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_naming_conf_t, heartbeat_timeout),
      NULL },

    { nd_string("ip_delete_timeout"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_naming_conf_t, ip_delete_timeout),
      NULL },

    { nd_string("client_beat_interval"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot,
      offsetof(nd_naming_conf_t, client_beat_interval), NULL },

    { nd_string("cache_millis"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_naming_conf_t, cache_millis),
      NULL },

    { nd_string("push_delay"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_naming_conf_t, push_delay), NULL },

    { nd_string("push_min_interval"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_naming_conf_t, push_min_interval),
      NULL },

    { nd_string("push_ack_timeout"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_naming_conf_t, push_ack_timeout),
      NULL },

    { nd_string("moved_grace"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_naming_conf_t, moved_grace), NULL },

    { nd_string("push_udp"),
      ND_BLOCK_CONF | ND_CONF_FLAG,
      nd_conf_set_flag_slot, offsetof(nd_naming_conf_t, push_udp), NULL },

    { nd_string("empty_service_clean_interval"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot,
      offsetof(nd_naming_conf_t, empty_service_clean_interval), NULL },

    { nd_string("max_services"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_num_slot, offsetof(nd_naming_conf_t, max_services), NULL },

    { nd_string("max_service_instances"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_num_slot,
      offsetof(nd_naming_conf_t, max_service_instances), NULL },

    { nd_string("max_metadata_size"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_size_slot, offsetof(nd_naming_conf_t, max_metadata_size),
      NULL },

    { nd_string("empty_service_expire"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot,
      offsetof(nd_naming_conf_t, empty_service_expire), NULL },

    { nd_string("persistent_sync"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_naming_conf_t, persistent_sync),
      NULL },

    nd_null_command
};

nd_module_t  nd_naming_module = {
    .name = "naming",
    .commands = nd_naming_commands,
    .create_conf = nd_naming_create_conf,
    .init_conf = nd_naming_init_conf,
    .init_module = nd_naming_init_module,
    .start = nd_naming_start,
    .stop = nd_naming_stop,
    .exit = nd_naming_exit,
};


static void *
nd_naming_create_conf(nd_cycle_t *cycle)
{
    nd_naming_conf_t  *nf;

    nf = nd_pcalloc(cycle->pool, sizeof(nd_naming_conf_t));
    if (nf == NULL) {
        return NULL;
    }

    nf->heartbeat_timeout = ND_CONF_UNSET_MSEC;
    nf->ip_delete_timeout = ND_CONF_UNSET_MSEC;
    nf->client_beat_interval = ND_CONF_UNSET_MSEC;
    nf->cache_millis = ND_CONF_UNSET_MSEC;
    nf->push_delay = ND_CONF_UNSET_MSEC;
    nf->push_min_interval = ND_CONF_UNSET_MSEC;
    nf->push_ack_timeout = ND_CONF_UNSET_MSEC;
    nf->moved_grace = ND_CONF_UNSET_MSEC;
    nf->push_udp = ND_CONF_UNSET;
    nf->empty_service_clean_interval = ND_CONF_UNSET_MSEC;
    nf->empty_service_expire = ND_CONF_UNSET_MSEC;
    nf->persistent_sync = ND_CONF_UNSET_MSEC;
    nf->max_caches = ND_CONF_UNSET_UINT;
    nf->max_services = ND_CONF_UNSET_UINT;
    nf->max_service_instances = ND_CONF_UNSET_UINT;
    nf->max_metadata_size = ND_CONF_UNSET_SIZE;

    return nf;
}


static char *
nd_naming_init_conf(nd_cycle_t *cycle, void *conf)
{
    nd_naming_conf_t  *nf = conf;

    nd_conf_init_msec_value(nf->heartbeat_timeout, ND_NAMING_BEAT_TIMEOUT);
    nd_conf_init_msec_value(nf->ip_delete_timeout, ND_NAMING_DELETE_TIMEOUT);
    nd_conf_init_msec_value(nf->client_beat_interval,
                            ND_NAMING_BEAT_INTERVAL);
    nd_conf_init_msec_value(nf->cache_millis, 10000);
    nd_conf_init_msec_value(nf->push_delay, 0);
    nd_conf_init_msec_value(nf->push_min_interval,
                            ND_NAMING_PUSH_MIN_INTERVAL);
    nd_conf_init_msec_value(nf->push_ack_timeout, 10000);
    nd_conf_init_msec_value(nf->moved_grace, 30000);
    nd_conf_init_value(nf->push_udp, 1);
    nd_conf_init_msec_value(nf->empty_service_clean_interval, 60000);
    nd_conf_init_msec_value(nf->empty_service_expire, 60000);
    nd_conf_init_msec_value(nf->persistent_sync, 1000);
    nd_conf_init_uint_value(nf->max_caches, 8);
    nd_conf_init_uint_value(nf->max_services, 100000);
    nd_conf_init_uint_value(nf->max_service_instances, 50000);
    nd_conf_init_size_value(nf->max_metadata_size, 16384);

    if (nf->max_services == 0 || nf->max_service_instances == 0
        || nf->max_metadata_size == 0)
    {
        return "\"max_services\", \"max_service_instances\" and "
               "\"max_metadata_size\" must not be 0";
    }

    if (nf->heartbeat_timeout > UINT32_MAX
        || nf->ip_delete_timeout > UINT32_MAX)
    {
        return "\"heartbeat_timeout\" and \"ip_delete_timeout\" must be "
               "below 49 days";
    }

    if (nf->client_beat_interval == 0 || nf->cache_millis == 0
        || nf->empty_service_clean_interval == 0
        || nf->push_ack_timeout == 0)
    {
        return "naming intervals must not be 0";
    }

    return ND_CONF_OK;
}


/* one push round of s: every subscriber gets the state current now */
static void
nd_naming_push_service(nd_naming_conf_t *nf, nd_naming_service_t *s)
{
    int                 grouped, last_grouped;
    const char         *last;
    nd_queue_t         *sq;
    nd_str_t            clusters;
    nd_naming_sub_t    *sub;
    nd_naming_cache_t  *ca;

    s->push_last = nd_current_msec;
    last = NULL;
    last_grouped = 0;
    ca = NULL;

    for (sq = nd_queue_head(&s->subs); sq != nd_queue_sentinel(&s->subs);
         sq = nd_queue_next(sq))
    {
        sub = nd_queue_data(sq, nd_naming_sub_t, service_link);

        if (nf->push[sub->client->type] == NULL) {
            continue;
        }

        /* 1.x clients read the grouped name, gRPC ones the bare one; the
         * subscriber before asked the same (the shared "" of all
         * clusters, nd_naming_sub.c): its body */
        grouped = sub->client->type == ND_NAMING_CLIENT_IPPORT;

        if (sub->clusters != last || grouped != last_grouped) {
            clusters.data = (u_char *) sub->clusters;
            clusters.len = strlen(sub->clusters);
            ca = nd_naming_info_get(nf, s, &clusters, 0, grouped);
            last = sub->clusters;
            last_grouped = grouped;
        }

        if (ca == NULL) {
            continue;
        }

        nf->push[sub->client->type](nf, sub, ca->body, ca->ref_time_pos);
    }
}


/* s is pushed at due: push_pending stays ordered by due time */
static void
nd_naming_push_schedule(nd_naming_conf_t *nf, nd_naming_service_t *s,
    nd_msec_t due)
{
    nd_queue_t           *q;
    nd_naming_service_t  *o;

    s->push_due = due;

    /* the due times of a fixed window only grow; those of the trailing
     * edge almost so: look from the tail */
    for (q = nd_queue_last(&nf->push_pending);
         q != nd_queue_sentinel(&nf->push_pending);
         q = nd_queue_prev(q))
    {
        o = nd_queue_data(q, nd_naming_service_t, push_link);
        if (o->push_due <= due) {
            break;
        }
    }

    nd_queue_insert_head(q, &s->push_link);      /* after q */

    if (nd_queue_head(&nf->push_pending) == &s->push_link) {
        nd_timer_stop(&nf->push_timer);
        nd_timer_start(&nf->push_timer,
                       due > nd_current_msec ? due - nd_current_msec : 0,
                       ND_TIMER_ONCE);
    }
}


static void
nd_naming_service_changed_handler(nd_event_id_e id, const nd_str_t *key,
    void *payload, void *data)
{
    nd_naming_conf_t     *nf = data;
    nd_naming_event_t    *ev = payload;
    nd_naming_service_t  *s;
    nd_str_t              grouped;

    if (ev == NULL || !nf->started) {
        return;
    }

    grouped.data = ev->group.data;
    grouped.len = ev->group.len + 2 + ev->name.len;

    s = nd_naming_service_find(nf, &ev->ns, &grouped);
    if (s == NULL || s->nsubs == 0 || nd_queue_linked(&s->push_link)) {
        return;                 /* gone, nobody listens, or already due */
    }

    if (nf->push_delay) {
        /* Nacos's fixed merge window */
        nd_naming_push_schedule(nf, s, nd_current_msec + nf->push_delay);
        return;
    }

    if (s->push_last == 0 || s->push_last > nd_current_msec
        || nd_current_msec - s->push_last >= nf->push_min_interval)
    {
        /* leading edge: at the end of this loop pass (the wall clock
         * going back counts as quiet) */
        nd_queue_insert_tail(&nf->push_ready, &s->push_link);
        nd_post(&nf->push_post);
        return;
    }

    /* trailing edge: one round when the interval ends */
    nd_naming_push_schedule(nf, s, s->push_last + nf->push_min_interval);
}


/* the services changed in this loop pass */
static void
nd_naming_push_posted(nd_posted_t *p)
{
    nd_queue_t           *q;
    nd_naming_conf_t     *nf;
    nd_naming_service_t  *s;

    nf = p->data;

    while (!nd_queue_empty(&nf->push_ready)) {
        q = nd_queue_head(&nf->push_ready);
        s = nd_queue_data(q, nd_naming_service_t, push_link);
        nd_queue_remove(q);
        nd_naming_push_service(nf, s);
    }
}


void
nd_naming_push_timer_handler(nd_timer_t *t)
{
    nd_queue_t           *q;
    nd_naming_conf_t     *nf;
    nd_naming_service_t  *s;

    nf = t->data;

    while (!nd_queue_empty(&nf->push_pending)) {
        q = nd_queue_head(&nf->push_pending);
        s = nd_queue_data(q, nd_naming_service_t, push_link);

        if (s->push_due > nd_current_msec) {
            nd_timer_start(&nf->push_timer, s->push_due - nd_current_msec,
                           ND_TIMER_ONCE);
            return;
        }

        nd_queue_remove(q);
        nd_naming_push_service(nf, s);
    }
}


static nd_int_t nd_naming_metrics_init(nd_cycle_t *cycle, nd_naming_conf_t *nf);


static nd_int_t
nd_naming_init_module(nd_cycle_t *cycle)
{
    nd_naming_conf_t  *nf;

    nf = nd_naming_conf(cycle);
    nf->cycle = cycle;

    if (nd_naming_model_init(nf) != ND_OK) {
        return ND_ERROR;
    }

    nd_timer_init(&nf->expire_timer, "naming beat expiry",
                  nd_naming_expire_handler, nf);
    nd_timer_init(&nf->clean_timer, "naming empty services",
                  nd_naming_clean_handler, nf);
    nd_timer_init(&nf->sub_timer, "naming 1.x subscribers",
                  nd_naming_sub_expire_handler, nf);
    nd_timer_init(&nf->push_timer, "naming push",
                  nd_naming_push_timer_handler, nf);
    nf->push_post.handler = nd_naming_push_posted;
    nf->push_post.data = nf;

    if (nd_event_subscribe(cycle, ND_EV_SERVICE_CHANGED,
                           nd_naming_service_changed_handler, nf) != ND_OK)
    {
        return ND_ERROR;
    }

    if (nd_naming_http_init(cycle) != ND_OK
        || nd_naming_metrics_init(cycle, nf) != ND_OK
        || nd_naming_http_v2_init(cycle) != ND_OK
        || nd_naming_grpc_init(cycle) != ND_OK
        || nd_naming_persist_init(cycle) != ND_OK)
    {
        return ND_ERROR;
    }

    return ND_OK;
}


static double
nd_naming_metric_pushes(void *data)
{
    return (double) ((nd_naming_conf_t *) data)->push_total;
}


static double
nd_naming_metric_push_failed(void *data)
{
    return (double) ((nd_naming_conf_t *) data)->push_failed;
}


static double
nd_naming_metric_clients(void *data)
{
    nd_naming_conf_t  *nf = data;

    return (double) (nf->nclients_conn + nf->nclients_ipport[0]
                     + nf->nclients_ipport[1]);
}


/* Nacos's naming gauges (kept up to date by the model) and ours */
static nd_int_t
nd_naming_metrics_init(nd_cycle_t *cycle, nd_naming_conf_t *nf)
{
    static const char  *help = ND_METRICS_NACOS_HELP;

    if (nd_metrics_add_gauge(cycle, ND_METRICS_NACOS_MONITOR, help,
            "module=\"naming\",name=\"serviceCount\"",
            &nf->nservices) != ND_OK
        || nd_metrics_add_gauge(cycle, ND_METRICS_NACOS_MONITOR, help,
            "module=\"naming\",name=\"ipCount\"",
            &nf->ninstances) != ND_OK
        || nd_metrics_add_gauge(cycle, ND_METRICS_NACOS_MONITOR, help,
            "module=\"naming\",name=\"subscriberCount\"",
            &nf->nsubs) != ND_OK
        || nd_metrics_add_gauge_fn(cycle, ND_METRICS_NACOS_MONITOR, help,
            "module=\"naming\",name=\"totalPush\"",
            nd_naming_metric_pushes, nf) != ND_OK
        || nd_metrics_add_gauge_fn(cycle, ND_METRICS_NACOS_MONITOR, help,
            "module=\"naming\",name=\"failedPush\"",
            nd_naming_metric_push_failed, nf) != ND_OK
        || nd_metrics_add_counter_fn(cycle, "nacosd_naming_pushes_total",
            "Service pushes to subscribers (gRPC and UDP).", NULL,
            nd_naming_metric_pushes, nf) != ND_OK
        || nd_metrics_add_counter_fn(cycle,
            "nacosd_naming_push_failures_total",
            "Service pushes that failed or were not acknowledged.", NULL,
            nd_naming_metric_push_failed, nf) != ND_OK
        || nd_metrics_add_gauge_fn(cycle, "nacosd_naming_clients",
            "Naming clients (gRPC connections, 1.x ip:port clients, "
            "Distro copies).", NULL, nd_naming_metric_clients, nf)
           != ND_OK)
    {
        return ND_ERROR;
    }

    return ND_OK;
}


static nd_int_t
nd_naming_start(nd_cycle_t *cycle)
{
    nd_naming_conf_t  *nf;

    nf = nd_naming_conf(cycle);
    nf->started = 1;
    nf->service_watched =
        nd_event_subscribers(cycle, ND_EV_SERVICE_CHANGED) > 1;

    if (nf->push_udp && nd_naming_udp_init(nf) != ND_OK) {
        return ND_ERROR;
    }

    nd_timer_start(&nf->clean_timer, nf->empty_service_clean_interval,
                   ND_TIMER_REPEAT);
    nd_timer_start(&nf->sub_timer, 1000, ND_TIMER_REPEAT);

    return nd_naming_persist_start(nf);
}


static void
nd_naming_stop(nd_cycle_t *cycle)
{
    nd_naming_conf_t  *nf;

    nf = nd_naming_conf(cycle);
    nf->started = 0;

    nd_timer_stop(&nf->expire_timer);
    nd_timer_stop(&nf->clean_timer);
    nd_timer_stop(&nf->sub_timer);
    nd_timer_stop(&nf->push_timer);
    nd_post_cancel(&nf->push_post);
    nd_naming_udp_stop(nf);
    nd_naming_grpc_stop(nf);
    nd_naming_persist_stop(nf);
}


static void
nd_naming_exit(nd_cycle_t *cycle)
{
    nd_naming_conf_t  *nf;

    nf = nd_naming_conf(cycle);

    if (cycle->loop) {
        nd_timer_stop(&nf->expire_timer);
        nd_timer_stop(&nf->clean_timer);
        nd_timer_stop(&nf->sub_timer);
        nd_timer_stop(&nf->push_timer);
    }

    nd_post_cancel(&nf->push_post);
    nd_naming_persist_exit(nf);
    nd_naming_udp_free(nf);
    nd_naming_grpc_exit(nf);
    nd_naming_model_free(nf);
}

/*
 * Naming over gRPC (Nacos 2.x SDKs): InstanceRequest,
 * BatchInstanceRequest, ServiceQueryRequest, SubscribeServiceRequest,
 * ServiceListRequest, and NotifySubscriberRequest pushes.
 *
 * The connection is the client: id = connection id, type CONNECTION,
 * created on its first naming request and released when the grpc module
 * reports the connection closed (its instances go, subscribers of those
 * services are pushed the change).  A connection publishes one set of
 * instances per service: a register or a batch register replaces it.
 *
 * Pushes (nd_naming_grpc_push.c): the push scheduler calls
 * nd_naming_grpc_push for each subscriber with the shared ServiceInfo of
 * its clusters; the request
 * text built from it is serialized once per round into a refcounted
 * block that every subscriber's queue of that round references
 * (nd_grpc_push_shared: only the message head and the requestId are
 * written per connection).  A
 * failed or unanswered push is retried after push_retry_delay, a few
 * times, with the state current then; a newer push supersedes a pending
 * retry.  A subscribe is followed by one push after push_delay, as Java
 * (push_delay 0: at once, in the next loop iteration, after the answer).
 */
#include <nd_naming.h>

#if (ND_WITH_GRPC)

#include <nd_naming_grpc.h>

static const char  nd_naming_grpc_server_error[] = "server error";

/* how often the clients of moved connections are looked at */
#define ND_NAMING_MOVED_CHECK  250

/* the client of a connection moved to another server, released late */
typedef struct {
    nd_queue_t              link;           /* grpc->moved */
    nd_msec_t               at;             /* release then (monotonic) */
    size_t                  len;
    char                    id[];
} nd_naming_gmoved_t;

/* what an Instance says that spec does not hold as such */
typedef struct {
    nd_int_t                port_rc;        /* nd_json_int's */
    int64_t                 port;
    nd_int_t                weight_rc;      /* nd_json_real's */
    double                  weight;
    nd_str_t                metadata;       /* a non-empty object's text
                                               (NULL: out of memory) */
    unsigned                has_metadata:1;
} nd_naming_grpc_inst_t;

static nd_int_t nd_naming_grpc_instance(nd_grpc_call_t *call, json_t *body);
static nd_int_t nd_naming_grpc_instance_raw(nd_grpc_call_t *call,
    const u_char *json, size_t len);
static const char *nd_naming_grpc_ref_check(nd_grpc_call_t *call,
    nd_naming_ref_t *ref);
static const char *nd_naming_grpc_spec_check(nd_naming_grpc_inst_t *in,
    nd_naming_spec_t *spec, char *buf, size_t size);
static nd_int_t nd_naming_grpc_batch(nd_grpc_call_t *call, json_t *body);
static nd_int_t nd_naming_grpc_persistent(nd_grpc_call_t *call,
    json_t *body);
static nd_int_t nd_naming_grpc_query(nd_grpc_call_t *call, json_t *body);
static nd_int_t nd_naming_grpc_subscribe(nd_grpc_call_t *call, json_t *body);
static nd_int_t nd_naming_grpc_list(nd_grpc_call_t *call, json_t *body);
static void nd_naming_grpc_conn_hook(nd_grpc_conn_t *conn, int up);
static void nd_naming_grpc_closed(nd_event_id_e id, const nd_str_t *key,
    void *payload, void *data);
static void nd_naming_grpc_moved_timer(nd_timer_t *t);
static void nd_naming_grpc_release_moved(nd_naming_conf_t *nf, int all);

static const nd_grpc_handler_t  nd_naming_grpc_handlers[] = {
    { nd_string("InstanceRequest"), nd_naming_grpc_instance },
    { nd_string("BatchInstanceRequest"), nd_naming_grpc_batch },
    { nd_string("PersistentInstanceRequest"), nd_naming_grpc_persistent },
    { nd_string("ServiceQueryRequest"), nd_naming_grpc_query },
    { nd_string("SubscribeServiceRequest"), nd_naming_grpc_subscribe },
    { nd_string("ServiceListRequest"), nd_naming_grpc_list },
    nd_grpc_null_handler
};


nd_int_t
nd_naming_grpc_init(nd_cycle_t *cycle)
{
    nd_naming_conf_t  *nf;
    nd_naming_grpc_t  *ng;

    nf = nd_naming_conf(cycle);

    ng = nd_pcalloc(cycle->pool, sizeof(nd_naming_grpc_t));
    if (ng == NULL) {
        return ND_ERROR;
    }

    nd_queue_init(&ng->pushers);
    nd_queue_init(&ng->moved);
    nd_timer_init(&ng->moved_timer, "naming moved clients",
                  nd_naming_grpc_moved_timer, nf);
    nf->grpc = ng;
    nf->push[ND_NAMING_CLIENT_CONNECTION] = nd_naming_grpc_push;
    nf->forget[ND_NAMING_CLIENT_CONNECTION] = nd_naming_grpc_forget;

    if (nd_grpc_add_handlers(cycle, nd_naming_grpc_handlers) != ND_OK
        || nd_grpc_set_raw_handler(cycle,
               &(nd_str_t) nd_string("InstanceRequest"),
               nd_naming_grpc_instance_raw) != ND_OK
        || nd_grpc_add_ability(cycle, "supportPersistentInstanceByGrpc")
           != ND_OK
        || nd_event_subscribe(cycle, ND_EV_CONNECTION_CLOSED,
                              nd_naming_grpc_closed, nf) != ND_OK
        || nd_grpc_add_conn_hook(cycle, nd_naming_grpc_conn_hook) != ND_OK)
    {
        return ND_ERROR;
    }

    return ND_OK;
}


/*
 * A registered connection goes (called from its close, before it is
 * freed): its client forgets the pointer nd_naming_grpc_send keeps (the
 * client itself is released when CONNECTION_CLOSED is dispatched).
 */
static void
nd_naming_grpc_conn_hook(nd_grpc_conn_t *conn, int up)
{
    nd_str_t             id;
    nd_naming_client_t  *cl;

    if (up) {
        return;
    }

    id.data = (u_char *) nd_grpc_conn_id(conn);
    id.len = strlen((char *) id.data);

    cl = nd_naming_client_find(nd_naming_conf(nd_cycle), &id);
    if (cl && cl->data == conn) {
        cl->data = NULL;
    }
}


void
nd_naming_grpc_info_clear(nd_naming_grpc_t *ng)
{
    if (ng->info_body) {
        nd_shared_release(ng->info_body);
        ng->info_body = NULL;
    }

    nd_shared_release(ng->req);         /* queued pushes keep theirs */
    ng->req = NULL;
}


void
nd_naming_grpc_stop(nd_naming_conf_t *nf)
{
    nd_queue_t         *q;
    nd_naming_grpc_t   *ng;
    nd_naming_gpush_t  *gp;

    ng = nf->grpc;
    if (ng == NULL) {
        return;
    }

    for (q = nd_queue_head(&ng->pushers); q != nd_queue_sentinel(&ng->pushers);
         q = nd_queue_next(q))
    {
        gp = nd_queue_data(q, nd_naming_gpush_t, link);
        nd_timer_stop(&gp->timer);
    }

    nd_naming_grpc_info_clear(ng);
    nd_naming_grpc_release_moved(nf, 1);
}


void
nd_naming_grpc_exit(nd_naming_conf_t *nf)
{
    nd_queue_t         *q;
    nd_naming_grpc_t   *ng;
    nd_naming_gpush_t  *gp;

    ng = nf->grpc;
    if (ng == NULL) {
        return;
    }

    /* the model frees the subscribers without telling us */
    while (!nd_queue_empty(&ng->pushers)) {
        q = nd_queue_head(&ng->pushers);
        gp = nd_queue_data(q, nd_naming_gpush_t, link);
        nd_naming_grpc_forget(nf, gp->sub);
    }

    nd_naming_grpc_info_clear(ng);
    nf->grpc = NULL;
}


/* ---- connections --------------------------------------------------------- */

static void
nd_naming_grpc_release(nd_naming_conf_t *nf, const nd_str_t *id)
{
    nd_naming_client_t  *c;

    c = nd_naming_client_find(nf, id);
    if (c == NULL || c->type != ND_NAMING_CLIENT_CONNECTION) {
        return;
    }

    nd_log_error(ND_LOG_INFO, nf->cycle->log, 0,
                 "naming: connection client %s released, %u instances, "
                 "%u subscriptions", nd_naming_cid(c),
                 (unsigned) c->ninstances, (unsigned) c->nsubs);

    /* instances go (SERVICE_CHANGED), then CLIENT_DISCONNECTED */
    nd_naming_client_release(nf, c);
}


/* every instance of c is held by another client too: its client's new
 * connection (here, or synced by Distro from its new server) */
static int
nd_naming_grpc_covered(nd_naming_client_t *c)
{
    nd_queue_t            *q, *k;
    nd_naming_instance_t  *i, *o;

    for (q = nd_queue_head(&c->instances);
         q != nd_queue_sentinel(&c->instances);
         q = nd_queue_next(q))
    {
        i = nd_queue_data(q, nd_naming_instance_t, client_link);

        for (k = nd_queue_head(&i->cluster->instances);
             k != nd_queue_sentinel(&i->cluster->instances);
             k = nd_queue_next(k))
        {
            o = nd_queue_data(k, nd_naming_instance_t, cluster_link);
            if (o->client != c && o->port == i->port
                && o->ip_len == i->ip_len
                && memcmp(o->ip, i->ip, i->ip_len) == 0)
            {
                break;
            }
        }

        if (k == nd_queue_sentinel(&i->cluster->instances)) {
            return 0;
        }
    }

    return 1;
}


/* the moved clients whose instances are held elsewhere now, or whose
 * moved_grace passed (all of them when stopping), are released */
static void
nd_naming_grpc_release_moved(nd_naming_conf_t *nf, int all)
{
    nd_str_t             id;
    nd_msec_t            now;
    nd_queue_t          *q, *next;
    nd_naming_client_t  *c;
    nd_naming_grpc_t    *ng;
    nd_naming_gmoved_t  *m;

    ng = nf->grpc;
    now = nd_time_monotonic_msec();
    nd_timer_stop(&ng->moved_timer);

    for (q = nd_queue_head(&ng->moved); q != nd_queue_sentinel(&ng->moved);
         q = next)
    {
        next = nd_queue_next(q);
        m = nd_queue_data(q, nd_naming_gmoved_t, link);
        id.data = (u_char *) m->id;
        id.len = m->len;
        c = nd_naming_client_find(nf, &id);

        if (c && !all && now < m->at && !nd_naming_grpc_covered(c)) {
            continue;
        }

        nd_queue_remove(&m->link);
        nd_naming_grpc_release(nf, &id);
        nd_free(m);
    }

    if (!nd_queue_empty(&ng->moved)) {
        nd_timer_start(&ng->moved_timer, ND_NAMING_MOVED_CHECK,
                       ND_TIMER_ONCE);
    }
}


static void
nd_naming_grpc_moved_timer(nd_timer_t *t)
{
    nd_naming_grpc_release_moved(t->data, 0);
}


/* a connection closed: its client is released at once, or, when the
 * connection was told to go to another server, once every instance it
 * holds is held by another client too (its registration on the new
 * server, which Distro brings here), at the latest moved_grace later: a
 * subscriber never sees an instance that only moved leave, and a query
 * never misses it. */
static void
nd_naming_grpc_closed(nd_event_id_e id, const nd_str_t *key, void *payload,
    void *data)
{
    nd_grpc_closed_t    *closed = payload;
    nd_naming_conf_t    *nf;
    nd_naming_grpc_t    *ng;
    nd_naming_gmoved_t  *m;

    nf = data;
    ng = nf->grpc;

    if (closed == NULL || !closed->moved || nf->moved_grace == 0
        || nf->cycle->stopping || nd_naming_client_find(nf, key) == NULL)
    {
        nd_naming_grpc_release(nf, key);
        return;
    }

    m = nd_alloc(sizeof(nd_naming_gmoved_t) + key->len + 1);
    if (m == NULL) {
        nd_naming_grpc_release(nf, key);
        return;
    }

    m->at = nd_time_monotonic_msec() + nf->moved_grace;
    m->len = key->len;
    memcpy(m->id, key->data, key->len);
    m->id[key->len] = '\0';
    nd_queue_insert_tail(&ng->moved, &m->link);

    nd_log_error(ND_LOG_INFO, nf->cycle->log, 0,
                 "naming: connection client %s moved, released once its "
                 "instances are held elsewhere, within %lu ms",
                 m->id, (unsigned long) nf->moved_grace);

    if (!nd_timer_active(&ng->moved_timer)) {
        nd_timer_start(&ng->moved_timer, ND_NAMING_MOVED_CHECK,
                       ND_TIMER_ONCE);
    }
}


static nd_naming_client_t *
nd_naming_grpc_client(nd_naming_conf_t *nf, nd_grpc_call_t *call, int create)
{
    nd_str_t  id;

    if (call->conn == NULL) {
        return NULL;
    }

    id.data = (u_char *) nd_grpc_conn_id(call->conn);
    id.len = strlen((char *) id.data);

    if (!create) {
        return nd_naming_client_find(nf, &id);
    }

    return nd_naming_client_get(nf, ND_NAMING_CLIENT_CONNECTION, &id, 1);
}


/* ---- requests ------------------------------------------------------------ */

/* a typed failure: what Nacos's parameter filter answers */
static nd_int_t
nd_naming_grpc_fail(nd_grpc_call_t *call, const char *type, nd_int_t code,
    const char *msg)
{
    return nd_grpc_reply(call, type,
                         json_pack("{s:i, s:I, s:s, s:b}", "resultCode", 500,
                                   "errorCode", (json_int_t) code,
                                   "message", msg, "success", 0));
}


static void
nd_naming_grpc_field(json_t *body, const char *name, nd_str_t *v)
{
    const char  *s;

    s = nd_json_get_str(body, name, "");
    v->data = (u_char *) s;
    v->len = strlen(s);
}


/* namespace, groupName, serviceName (bare); an empty string is absent,
 * as the Go SDK sends every field; NULL or the error message */
static const char *
nd_naming_grpc_ref(nd_grpc_call_t *call, json_t *body, nd_naming_ref_t *ref)
{
    nd_naming_grpc_field(body, "namespace", &ref->ns);
    nd_naming_grpc_field(body, "groupName", &ref->group);
    nd_naming_grpc_field(body, "serviceName", &ref->name);

    return nd_naming_grpc_ref_check(call, ref);
}


/* the rest of nd_naming_grpc_ref, on the three fields as sent */
static const char *
nd_naming_grpc_ref_check(nd_grpc_call_t *call, nd_naming_ref_t *ref)
{
    u_char      *p;
    nd_int_t     code;
    const char  *msg;

    if (ref->ns.len == 0) {
        nd_str_set(&ref->ns, ND_NAMING_DEFAULT_NS);
    }

    if (ref->group.len == 0) {
        nd_str_set(&ref->group, ND_NAMING_DEFAULT_GROUP);
    }

    if (ref->name.len == 0) {
        return "Param 'serviceName' is required.";
    }

    msg = nd_naming_check_ref(ref, &code);
    if (msg) {
        return msg;
    }

    ref->grouped.len = ref->group.len + 2 + ref->name.len;
    ref->grouped.data = nd_pnalloc(call->pool, ref->grouped.len);
    if (ref->grouped.data == NULL) {
        return "out of memory";
    }

    p = ref->grouped.data;
    p = (u_char *) memcpy(p, ref->group.data, ref->group.len)
        + ref->group.len;
    *p++ = '@';
    *p++ = '@';
    memcpy(p, ref->name.data, ref->name.len);

    return NULL;
}


/* an Instance JSON into spec (views into j); NULL or the error message of
 * NamingUtils.checkInstanceIsLegal */
static const char *
nd_naming_grpc_spec(json_t *j, nd_naming_spec_t *spec, char *buf,
    size_t size)
{
    char                   *text;
    json_t                 *v;
    const char             *msg;
    nd_naming_grpc_inst_t   in;

    memset(spec, 0, sizeof(nd_naming_spec_t));
    memset(&in, 0, sizeof(nd_naming_grpc_inst_t));

    if (!json_is_object(j)) {
        return "Param 'instance' is required.";
    }

    nd_naming_grpc_field(j, "ip", &spec->ip);
    nd_naming_grpc_field(j, "clusterName", &spec->cluster);
    nd_naming_grpc_field(j, "instanceId", &spec->instance_id);

    in.port_rc = nd_json_int(j, "port", &in.port);
    in.weight_rc = nd_json_real(j, "weight", &in.weight);
    spec->healthy = nd_json_get_bool(j, "healthy", 1);
    spec->enabled = nd_json_get_bool(j, "enabled", 1);

    text = NULL;
    v = json_object_get(j, "metadata");
    if (json_is_object(v) && json_object_size(v)) {
        text = json_dumps(v, JSON_COMPACT);
        in.has_metadata = 1;
        in.metadata.data = (u_char *) text;
        in.metadata.len = text ? strlen(text) : 0;
    }

    msg = nd_naming_grpc_spec_check(&in, spec, buf, size);

    free(text);

    return msg;
}


/* the checks of an Instance, its fields read into spec and in (port,
 * weight, the metadata object's text) */
static const char *
nd_naming_grpc_spec_check(nd_naming_grpc_inst_t *in, nd_naming_spec_t *spec,
    char *buf, size_t size)
{
    int64_t      interval, timeout, del;
    nd_int_t     code;
    const char  *s;

    if (spec->ip.len == 0) {
        return "Param 'ip' is required.";
    }

    s = nd_naming_check_ip(&spec->ip, &code);
    if (s) {
        return s;
    }

    if (in->port_rc == ND_DECLINED) {
        in->port = 0;
    }
    if (in->port_rc == ND_ERROR || in->port < 0 || in->port > 65535) {
        return "Param 'port' is illegal, the value should be between 0 and "
               "65535.";
    }
    spec->port = (nd_uint_t) in->port;

    if (spec->cluster.len) {
        s = nd_naming_check_cluster(&spec->cluster, buf, size, &code);
        if (s) {
            return s;
        }
    }

    spec->weight = in->weight_rc == ND_OK ? in->weight : 1.0;
    if (in->weight_rc == ND_ERROR
        || !(spec->weight >= 0.0 && spec->weight <= ND_NAMING_MAX_WEIGHT))
    {
        return "instance format invalid: The weights range from 0.0 to "
               "10000.0";
    }

    spec->ephemeral = 1;                /* the connection's: ephemeral */

    /* Map<String, String>: the HTTP parser turns scalars into text */
    if (in->has_metadata) {
        if (in->metadata.data == NULL) {
            return "out of memory";
        }
        spec->metadata = nd_naming_parse_metadata(&in->metadata);
        if (spec->metadata == NULL) {
            return "metadata format incorrect";
        }
        if (nd_naming_metadata_check(nd_naming_conf(nd_cycle),
                                     spec->metadata, buf, size))
        {
            json_decref(spec->metadata);
            spec->metadata = NULL;
            return buf;
        }
    }

    interval = ND_NAMING_BEAT_INTERVAL;
    timeout = ND_NAMING_BEAT_TIMEOUT;
    del = ND_NAMING_DELETE_TIMEOUT;

    if (spec->metadata) {
        s = nd_json_get_str(spec->metadata, "preserved.heart.beat.interval",
                            NULL);
        if (s) {
            nd_atoi64((u_char *) s, strlen(s), &interval);
        }
        s = nd_json_get_str(spec->metadata, "preserved.heart.beat.timeout",
                            NULL);
        if (s) {
            nd_atoi64((u_char *) s, strlen(s), &timeout);
        }
        s = nd_json_get_str(spec->metadata, "preserved.ip.delete.timeout",
                            NULL);
        if (s) {
            nd_atoi64((u_char *) s, strlen(s), &del);
        }
    }

    if (timeout < interval || del < interval) {
        json_decref(spec->metadata);
        spec->metadata = NULL;
        return "Instance 'heart beat interval' must less than 'heart beat "
               "timeout' and 'ip delete timeout'.";
    }

    return NULL;
}


static void
nd_naming_grpc_specs_free(nd_naming_spec_t *specs, nd_uint_t n)
{
    nd_uint_t  i;

    for (i = 0; i < n; i++) {
        if (specs[i].metadata) {
            json_decref(specs[i].metadata);
        }
    }
}


/* the ephemeral service for a register; NULL with *msg set on conflict
 * and over max_services (*code 429) */
static nd_naming_service_t *
nd_naming_grpc_service(nd_naming_conf_t *nf, nd_naming_ref_t *ref,
    char *buf, size_t size, const char **msg, nd_int_t *code)
{
    nd_naming_service_t  *s;

    if (nd_naming_service_admit(nf, &ref->ns, &ref->grouped, buf, size)
        != ND_OK)
    {
        *code = 429;
        *msg = buf;
        return NULL;
    }

    s = nd_naming_service_get(nf, &ref->ns, &ref->grouped, 1, NULL);
    if (s == NULL) {
        *msg = nd_naming_grpc_server_error;
        return NULL;
    }

    if (!s->ephemeral) {
        snprintf(buf, size, "Current service %.*s is persistent service, "
                 "can't register ephemeral instance.",
                 (int) s->grouped_len, s->grouped);
        *msg = buf;
        return NULL;
    }

    return s;
}


/* register (n specs, a batch) or deregister (specs NULL) for the call's
 * connection; NULL, or the message of the errorCode in *code: 500
 * (nd_naming_grpc_server_error), 400, or 429 (a limit) */
static const char *
nd_naming_grpc_publish(nd_grpc_call_t *call, nd_naming_ref_t *ref,
    nd_naming_spec_t *specs, nd_uint_t n, char *buf, size_t size,
    nd_int_t *code)
{
    const char           *msg;
    nd_naming_conf_t     *nf;
    nd_naming_client_t   *c;
    nd_naming_service_t  *s;

    nf = nd_naming_conf(nd_cycle);

    if (specs == NULL) {
        /* Nacos removes the connection's instances of the service,
         * whatever instance the request names */
        c = nd_naming_grpc_client(nf, call, 0);
        s = nd_naming_service_find(nf, &ref->ns, &ref->grouped);
        if (c && s && nd_naming_client_instance(c, s)) {
            nd_naming_register_batch(nf, c, s, NULL, 0);
        }
        return NULL;
    }

    msg = NULL;
    *code = 500;
    s = nd_naming_grpc_service(nf, ref, buf, size, &msg, code);
    if (s == NULL) {
        if (*code == 500 && msg != nd_naming_grpc_server_error) {
            *code = 400;
        }
        return msg;
    }

    c = nd_naming_grpc_client(nf, call, 1);
    if (c == NULL) {
        return nd_naming_grpc_server_error;
    }

    if (nd_naming_instances_admit(nf, s, c, n, buf, size) != ND_OK) {
        *code = 429;
        return buf;
    }

    if (nd_naming_register_batch(nf, c, s, specs, n) != ND_OK) {
        return nd_naming_grpc_server_error;
    }

    return NULL;
}


/* the answer to a register or deregister: always the same bytes, as
 * nd_grpc_reply would write {"type": type} (without its build and dump,
 * which were a quarter of a register) */
static nd_int_t
nd_naming_grpc_instance_ok(nd_grpc_call_t *call, const char *type)
{
    static const char  reg[] = "{\"type\":\"registerInstance\","
                               "\"resultCode\":200,\"errorCode\":0,"
                               "\"success\":true}";
    static const char  dereg[] = "{\"type\":\"deregisterInstance\","
                                 "\"resultCode\":200,\"errorCode\":0,"
                                 "\"success\":true}";

    if (type[0] == 'r') {
        return nd_grpc_reply_raw(call, "InstanceResponse",
                                 (const u_char *) reg, sizeof(reg) - 1);
    }

    return nd_grpc_reply_raw(call, "InstanceResponse",
                             (const u_char *) dereg, sizeof(dereg) - 1);
}


static nd_int_t
nd_naming_grpc_instance(nd_grpc_call_t *call, json_t *body)
{
    char              buf[768];
    nd_int_t          code;
    const char       *type, *msg;
    nd_naming_ref_t   ref;
    nd_naming_spec_t  spec;

    msg = nd_naming_grpc_ref(call, body, &ref);
    if (msg) {
        return nd_naming_grpc_fail(call, "InstanceResponse", 400, msg);
    }

    type = nd_json_get_str(body, "type", "");

    if (strcmp(type, "registerInstance") == 0) {
        msg = nd_naming_grpc_spec(json_object_get(body, "instance"), &spec,
                                  buf, sizeof(buf));
        if (msg) {
            return nd_grpc_reply_error(call, 400, msg);
        }
        msg = nd_naming_grpc_publish(call, &ref, &spec, 1, buf, sizeof(buf),
                                     &code);
        nd_naming_grpc_specs_free(&spec, 1);

    } else if (strcmp(type, "deregisterInstance") == 0) {
        msg = nd_naming_grpc_publish(call, &ref, NULL, 0, buf, sizeof(buf),
                                     &code);

    } else {
        snprintf(buf, sizeof(buf), "Unsupported request type %s", type);
        return nd_grpc_reply_error(call, 400, buf);
    }

    if (msg) {
        return nd_grpc_reply_error(call, code, msg);
    }

    return nd_naming_grpc_instance_ok(call, type);
}


/*
 * The fast path of InstanceRequest: a registerInstance as the SDKs send
 * it, its fields read from the JSON text (nd_json_fields) instead of a
 * tree, which was a third of a register.  Whatever it does not take as
 * is -- another type, a field of another JSON type than the SDKs send,
 * an escape, a request that would be refused -- is declined to
 * nd_naming_grpc_instance, which answers it.  Once it publishes, it
 * answers as that does.
 */

/* the room for the fields of a request and of the objects in it */
#define ND_NAMING_GRPC_FIELDS  64

/* a string member of obj: ND_OK (absent: empty), ND_DECLINED another
 * type */
static nd_int_t
nd_naming_grpc_raw_str(nd_json_field_t *f, nd_uint_t n,
    const nd_json_field_t *obj, const char *key, nd_str_t *v)
{
    nd_json_field_t  *j;

    j = nd_json_field(f, n, obj, key);
    if (j == NULL) {
        v->len = 0;
        v->data = (u_char *) "";
        return ND_OK;
    }

    if (j->type != ND_JSON_F_STRING) {
        return ND_DECLINED;
    }

    *v = j->value;

    return ND_OK;
}


/* a boolean member of obj (absent: 1), or -1 for another type */
static int
nd_naming_grpc_raw_bool(nd_json_field_t *f, nd_uint_t n,
    const nd_json_field_t *obj, const char *key)
{
    nd_json_field_t  *j;

    j = nd_json_field(f, n, obj, key);

    return j == NULL || j->type == ND_JSON_F_TRUE
           ? 1 : j->type == ND_JSON_F_FALSE ? 0 : -1;
}


/* the members of the Instance object ins into spec and in */
static nd_int_t
nd_naming_grpc_raw_spec(nd_json_field_t *f, nd_uint_t n,
    const nd_json_field_t *ins, nd_naming_spec_t *spec,
    nd_naming_grpc_inst_t *in)
{
    int               healthy, enabled;
    nd_uint_t         i;
    nd_json_field_t  *j;

    memset(spec, 0, sizeof(nd_naming_spec_t));
    memset(in, 0, sizeof(nd_naming_grpc_inst_t));

    if (nd_naming_grpc_raw_str(f, n, ins, "ip", &spec->ip) != ND_OK
        || nd_naming_grpc_raw_str(f, n, ins, "clusterName", &spec->cluster)
           != ND_OK
        || nd_naming_grpc_raw_str(f, n, ins, "instanceId",
                                  &spec->instance_id) != ND_OK)
    {
        return ND_DECLINED;
    }

    healthy = nd_naming_grpc_raw_bool(f, n, ins, "healthy");
    enabled = nd_naming_grpc_raw_bool(f, n, ins, "enabled");
    if (healthy < 0 || enabled < 0) {
        return ND_DECLINED;
    }
    spec->healthy = healthy;
    spec->enabled = enabled;

    in->port_rc = ND_DECLINED;
    j = nd_json_field(f, n, ins, "port");
    if (j) {
        if (j->type != ND_JSON_F_INTEGER) {
            return ND_DECLINED;
        }
        in->port_rc = ND_OK;
        in->port = nd_json_field_int(j);
    }

    in->weight_rc = ND_DECLINED;
    j = nd_json_field(f, n, ins, "weight");
    if (j) {
        if (j->type != ND_JSON_F_INTEGER && j->type != ND_JSON_F_REAL) {
            return ND_DECLINED;
        }
        in->weight_rc = ND_OK;
        in->weight = nd_json_field_real(j);
    }

    /* metadata of scalars (nested values take another parser there) */
    j = nd_json_field(f, n, ins, "metadata");
    if (j && (j->type != ND_JSON_F_OBJECT || j->size)) {
        if (j->type != ND_JSON_F_OBJECT) {
            return ND_DECLINED;
        }
        for (i = (nd_uint_t) (j - f) + 1; i < n; i++) {
            if (f[i].parent == (nd_uint_t) (j - f) + 1
                && (f[i].type == ND_JSON_F_OBJECT
                    || f[i].type == ND_JSON_F_ARRAY))
            {
                return ND_DECLINED;
            }
        }
        in->has_metadata = 1;
        in->metadata = j->value;
    }

    return ND_OK;
}


static nd_int_t
nd_naming_grpc_instance_raw(nd_grpc_call_t *call, const u_char *json,
    size_t len)
{
    char                    buf[768];
    nd_int_t                code;
    nd_uint_t               n;
    const char             *msg;
    nd_json_field_t         f[ND_NAMING_GRPC_FIELDS], *j, *ins;
    nd_naming_ref_t         ref;
    nd_naming_spec_t        spec;
    nd_naming_grpc_inst_t   in;

    if (nd_json_fields(json, len, f, ND_NAMING_GRPC_FIELDS, &n) != ND_OK) {
        return ND_DECLINED;
    }

    j = nd_json_field(f, n, NULL, "type");
    if (j == NULL || j->type != ND_JSON_F_STRING
        || !nd_str_eq(&j->value, "registerInstance"))
    {
        return ND_DECLINED;
    }

    ins = nd_json_field(f, n, NULL, "instance");
    if (ins == NULL || ins->type != ND_JSON_F_OBJECT
        || nd_naming_grpc_raw_str(f, n, NULL, "namespace", &ref.ns) != ND_OK
        || nd_naming_grpc_raw_str(f, n, NULL, "groupName", &ref.group)
           != ND_OK
        || nd_naming_grpc_raw_str(f, n, NULL, "serviceName", &ref.name)
           != ND_OK
        || nd_naming_grpc_ref_check(call, &ref) != NULL
        || nd_naming_grpc_raw_spec(f, n, ins, &spec, &in) != ND_OK
        || nd_naming_grpc_spec_check(&in, &spec, buf, sizeof(buf)) != NULL)
    {
        return ND_DECLINED;
    }

    msg = nd_naming_grpc_publish(call, &ref, &spec, 1, buf, sizeof(buf),
                                 &code);
    nd_naming_grpc_specs_free(&spec, 1);

    if (msg) {
        return nd_grpc_reply_error(call, code, msg);
    }

    return nd_naming_grpc_instance_ok(call, "registerInstance");
}


/* ---- persistent instances ------------------------------------------------ */

static nd_int_t
nd_naming_grpc_persist_answer(nd_naming_waiter_t *w, nd_uint_t status,
    nd_int_t code, const char *msg, json_t *updated)
{
    nd_grpc_call_t  *call;

    call = w->req;

    if (status) {
        /* Nacos answers the NacosException: its code is HTTP-like */
        return nd_grpc_reply_error(call, (nd_int_t) status, msg);
    }

    return nd_naming_grpc_instance_ok(call, w->data);
}


static void
nd_naming_grpc_persist_abort(nd_grpc_call_t *call)
{
    nd_naming_persist_abort(call->ctx);
}


static void
nd_naming_grpc_persist_wait(nd_naming_waiter_t *w, void *ctx)
{
    nd_grpc_call_t  *call;

    call = w->req;
    call->ctx = ctx;
    call->abort_handler = ctx ? nd_naming_grpc_persist_abort : NULL;
}


/*
 * PersistentInstanceRequest (Java 2.3+ once SetupAck announced
 * supportPersistentInstanceByGrpc): the instance belongs to the ip:port
 * client "ip:port#false", not to the connection, exactly as the HTTP v1
 * persistent register, and is answered once the store has committed it.
 */
static nd_int_t
nd_naming_grpc_persistent(nd_grpc_call_t *call, json_t *body)
{
    int                  reg;
    char                 buf[768];
    nd_int_t             rc;
    const char          *type, *msg;
    nd_naming_ref_t      ref;
    nd_naming_spec_t     spec;
    nd_naming_conf_t    *nf;
    nd_naming_waiter_t   w;

    msg = nd_naming_grpc_ref(call, body, &ref);
    if (msg) {
        return nd_naming_grpc_fail(call, "InstanceResponse", 400, msg);
    }

    type = nd_json_get_str(body, "type", "");

    reg = strcmp(type, "registerInstance") == 0;

    if (!reg && strcmp(type, "deregisterInstance") != 0) {
        snprintf(buf, sizeof(buf), "Unsupported request type %s", type);
        return nd_grpc_reply_error(call, 400, buf);
    }

    msg = nd_naming_grpc_spec(json_object_get(body, "instance"), &spec, buf,
                              sizeof(buf));
    if (msg) {
        return nd_grpc_reply_error(call, 400, msg);
    }

    spec.ephemeral = 0;
    if (spec.cluster.len == 0) {
        nd_str_set(&spec.cluster, ND_NAMING_DEFAULT_CLUSTER);
    }

    w.answer = nd_naming_grpc_persist_answer;
    w.wait = nd_naming_grpc_persist_wait;
    w.req = call;
    w.data = reg ? "registerInstance" : "deregisterInstance";
    nf = nd_naming_conf(nd_cycle);

    if (reg) {
        rc = nd_naming_persist_register(&w, &ref, &spec);
        if (rc == ND_DECLINED) {
            /* memory only (no store), or the service is ephemeral */
            rc = nd_naming_register_ipport(nf, &ref, &spec, NULL, buf,
                                           sizeof(buf));
            rc = rc == ND_OK ? w.answer(&w, 0, 0, NULL, NULL)
                 : rc == ND_DECLINED ? w.answer(&w, 400, 21004, buf, NULL)
                 : rc == ND_BUSY ? w.answer(&w, 429, 5033, buf, NULL)
                 : ND_ERROR;
        }

    } else {
        rc = nd_naming_persist_deregister(&w, &ref, &spec.ip, spec.port);
        if (rc == ND_DECLINED) {
            nd_naming_deregister_ipport(nf, &ref, &spec.ip, spec.port, 0);
            rc = w.answer(&w, 0, 0, NULL, NULL);
        }
    }

    nd_naming_grpc_specs_free(&spec, 1);

    return rc;
}


static nd_int_t
nd_naming_grpc_batch(nd_grpc_call_t *call, json_t *body)
{
    char               buf[768];
    size_t             i, n;
    json_t            *list, *item;
    nd_int_t           code;
    const char        *type, *msg;
    nd_naming_ref_t    ref;
    nd_naming_spec_t  *specs;

    msg = nd_naming_grpc_ref(call, body, &ref);
    if (msg) {
        return nd_naming_grpc_fail(call, "BatchInstanceResponse", 400, msg);
    }

    type = nd_json_get_str(body, "type", "");
    if (strcmp(type, "batchRegisterInstance") != 0) {
        snprintf(buf, sizeof(buf), "Unsupported request type %s", type);
        return nd_grpc_reply_error(call, 400, buf);
    }

    list = json_object_get(body, "instances");
    n = json_array_size(list);

    specs = nd_pcalloc(call->pool, (n ? n : 1) * sizeof(nd_naming_spec_t));
    if (specs == NULL) {
        return ND_ERROR;
    }

    for (i = 0; i < n; i++) {
        item = json_array_get(list, i);

        if (json_is_object(item)
            && !nd_json_get_bool(item, "ephemeral", 1))
        {
            nd_naming_grpc_specs_free(specs, i);
            return nd_grpc_reply_error(call, 400, "Batch registration does "
                                       "not allow persistent instance "
                                       "registration");
        }

        msg = nd_naming_grpc_spec(item, &specs[i], buf, sizeof(buf));
        if (msg) {
            nd_naming_grpc_specs_free(specs, i);
            return nd_grpc_reply_error(call, 400, msg);
        }
    }

    msg = nd_naming_grpc_publish(call, &ref, specs, n, buf, sizeof(buf),
                                 &code);
    nd_naming_grpc_specs_free(specs, n);

    if (msg) {
        return nd_grpc_reply_error(call, code, msg);
    }

    return nd_grpc_reply(call, "BatchInstanceResponse",
                         json_pack("{s:s}", "type", type));
}


/* a cached ServiceInfo text as a JSON tree, lastRefTime set to now (the
 * text holds a zero-filled placeholder there, which is no JSON number) */
static json_t *
nd_naming_grpc_parse(nd_shared_t *body, size_t ref_time_pos)
{
    char     digits[32];
    u_char  *p;
    json_t  *j;

    p = nd_alloc(body->len);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, body->data, body->len);
    if (snprintf(digits, sizeof(digits), "%013" PRIu64,
                 (uint64_t) nd_current_msec) == 13)
    {
        memcpy(p + ref_time_pos, digits, 13);
    }

    j = json_loadb((char *) p, body->len, 0, NULL);
    nd_free(p);

    return j;
}


/* ServiceInfo as a JSON tree: name bare, lastRefTime now */
static json_t *
nd_naming_grpc_info(nd_naming_conf_t *nf, nd_naming_ref_t *ref,
    const nd_str_t *clusters, int healthy_only)
{
    size_t                pos;
    json_t               *info;
    nd_shared_t          *body;
    nd_naming_cache_t    *ca;
    nd_naming_service_t  *s;

    s = nd_naming_service_find(nf, &ref->ns, &ref->grouped);

    if (s) {
        ca = nd_naming_info_get(nf, s, clusters, healthy_only, 0);
        if (ca == NULL) {
            return NULL;
        }
        return nd_naming_grpc_parse(ca->body, ca->ref_time_pos);
    }

    body = nd_naming_info_empty(&ref->grouped, clusters, nf->cache_millis,
                                &pos);
    if (body == NULL) {
        return NULL;
    }

    info = nd_naming_grpc_parse(body, pos);
    nd_shared_release(body);

    if (info) {
        json_object_set_new(info, "name",
                            json_stringn((char *) ref->name.data,
                                         ref->name.len));
    }

    return info;
}


/*
 * Answer with the ServiceInfo: from the cached serialized text when the
 * service exists (lastRefTime stamped in, no JSON parsing), else built.
 */
static nd_int_t
nd_naming_grpc_reply_info(nd_grpc_call_t *call, const char *type,
    nd_naming_ref_t *ref, const nd_str_t *clusters, int healthy_only,
    const char *extra)
{
    char                  digits[32];
    size_t                at;
    json_t               *info, *res;
    nd_int_t              rc;
    nd_buf_t              b;
    nd_naming_conf_t     *nf;
    nd_naming_cache_t    *ca;
    nd_naming_service_t  *s;

    nf = nd_naming_conf(nd_cycle);
    s = nd_naming_service_find(nf, &ref->ns, &ref->grouped);

    if (s == NULL) {
        info = nd_naming_grpc_info(nf, ref, clusters, healthy_only);
        if (info == NULL) {
            return ND_ERROR;
        }
        res = json_pack("{s:o}", "serviceInfo", info);
        if (res && extra[0]) {
            json_object_set_new(res, "message", json_string("success"));
        }
        return nd_grpc_reply(call, type, res);
    }

    ca = nd_naming_info_get(nf, s, clusters, healthy_only, 0);
    if (ca == NULL) {
        return ND_ERROR;
    }

    nd_buf_init(&b);
    if (nd_buf_appendf(&b, "{\"resultCode\":200,\"errorCode\":0,"
                       "\"success\":true%s,\"serviceInfo\":", extra)
        != ND_OK)
    {
        nd_buf_free(&b);
        return ND_ERROR;
    }
    at = b.len;
    if (nd_buf_append(&b, ca->body->data, ca->body->len) != ND_OK
        || nd_buf_append(&b, "}", 1) != ND_OK)
    {
        nd_buf_free(&b);
        return ND_ERROR;
    }

    if (snprintf(digits, sizeof(digits), "%013" PRIu64,
                 (uint64_t) nd_current_msec) == 13)
    {
        memcpy(b.data + at + ca->ref_time_pos, digits, 13);
    }

    rc = nd_grpc_reply_raw(call, type, b.data, b.len);
    nd_buf_free(&b);

    return rc;
}


static nd_int_t
nd_naming_grpc_query(nd_grpc_call_t *call, json_t *body)
{
    nd_str_t          clusters;
    const char       *msg;
    nd_naming_ref_t   ref;

    msg = nd_naming_grpc_ref(call, body, &ref);
    if (msg) {
        return nd_naming_grpc_fail(call, "QueryServiceResponse", 400, msg);
    }

    nd_naming_grpc_field(body, "cluster", &clusters);

    return nd_naming_grpc_reply_info(call, "QueryServiceResponse", &ref,
                                     &clusters,
                                     nd_json_get_bool(body, "healthyOnly", 0),
                                     "");
}


/* ---- subscriptions ----------------------------------------------------- */

static nd_int_t
nd_naming_grpc_subscribe(nd_grpc_call_t *call, json_t *body)
{
    char                  buf[256];
    json_t               *labels;
    nd_str_t              clusters;
    const char           *msg, *app;
    nd_queue_t           *q;
    nd_naming_ref_t       ref;
    nd_naming_sub_t      *sub;
    nd_naming_conf_t     *nf;
    nd_naming_client_t   *c;
    nd_naming_gpush_t    *gp;
    nd_naming_service_t  *s;

    msg = nd_naming_grpc_ref(call, body, &ref);
    if (msg) {
        return nd_naming_grpc_fail(call, "SubscribeServiceResponse", 400,
                                   msg);
    }

    nf = nd_naming_conf(nd_cycle);
    nd_naming_grpc_field(body, "clusters", &clusters);

    if (nd_json_get_bool(body, "subscribe", 1)) {
        /* the subscription needs the service object: made empty here */
        if (nd_naming_service_admit(nf, &ref.ns, &ref.grouped, buf,
                                    sizeof(buf))
            != ND_OK)
        {
            return nd_naming_grpc_fail(call, "SubscribeServiceResponse",
                                       429, buf);
        }
        s = nd_naming_service_get(nf, &ref.ns, &ref.grouped, 1, NULL);
        c = nd_naming_grpc_client(nf, call, 1);
        sub = (s && c) ? nd_naming_subscribe(nf, c, s, &clusters) : NULL;
        if (sub == NULL) {
            return ND_ERROR;
        }

        if (sub->app == NULL) {
            labels = nd_grpc_conn_labels(call->conn);
            app = nd_json_get_str(labels, "AppName", "unknown");
            sub->app = strdup(app[0] ? app : "unknown");
        }

        if (sub->agent == NULL) {
            sub->agent = strdup(nd_grpc_conn_client_version(call->conn));
        }

        /* Java pushes once more push_delay after a subscribe; with
         * push_delay 0 the timer fires in the next loop iteration */
        gp = nd_naming_grpc_pusher(nf, sub);
        if (gp && nf->started) {
            nd_timer_stop(&gp->timer);
            gp->retries = 0;
            nd_timer_start(&gp->timer, nf->push_delay, ND_TIMER_ONCE);
        }

    } else {
        c = nd_naming_grpc_client(nf, call, 0);
        s = nd_naming_service_find(nf, &ref.ns, &ref.grouped);
        /* nd_naming_subscribe keeps one per (client, service) */
        for (q = c && s ? nd_queue_head(&c->subs) : NULL;
             q && q != nd_queue_sentinel(&c->subs); q = nd_queue_next(q))
        {
            sub = nd_queue_data(q, nd_naming_sub_t, client_link);
            if (sub->service == s) {
                nd_naming_unsubscribe(nf, sub);
                break;
            }
        }
    }

    return nd_naming_grpc_reply_info(call, "SubscribeServiceResponse", &ref,
                                     &clusters, 0, ",\"message\":\"success\"");
}


static int
nd_naming_grpc_name_cmp(const void *a, const void *b)
{
    const nd_naming_service_t  *x = *(nd_naming_service_t * const *) a;
    const nd_naming_service_t  *y = *(nd_naming_service_t * const *) b;
    int                         rc;

    rc = memcmp(x->grouped, y->grouped, nd_min(x->grouped_len,
                                               y->grouped_len));
    return rc ? rc : (int) x->grouped_len - (int) y->grouped_len;
}


static nd_int_t
nd_naming_grpc_list(nd_grpc_call_t *call, json_t *body)
{
    json_t                *names;
    int64_t                page_no, page_size, start, i;
    nd_str_t               ns_id, group;
    nd_uint_t              n, b;
    nd_hash_elt_t         *e;
    nd_naming_ns_t        *ns;
    nd_naming_conf_t      *nf;
    nd_naming_service_t  **all, *s;

    nd_naming_grpc_field(body, "namespace", &ns_id);
    if (ns_id.len == 0) {
        nd_str_set(&ns_id, ND_NAMING_DEFAULT_NS);
    }
    nd_naming_grpc_field(body, "groupName", &group);
    if (group.len == 0) {
        nd_str_set(&group, ND_NAMING_DEFAULT_GROUP);
    }

    page_no = nd_json_get_int(body, "pageNo", 1);
    page_size = nd_json_get_int(body, "pageSize", 10);

    nf = nd_naming_conf(nd_cycle);
    ns = nd_naming_ns_find(nf, &ns_id);
    names = json_array();
    n = 0;

    if (ns && ns->nservices) {
        all = nd_palloc(call->pool, ns->nservices * sizeof(void *));
        if (all == NULL) {
            json_decref(names);
            return ND_ERROR;
        }

        /* the group's services, sorted: pages are stable */
        for (e = nd_hash_first(&ns->services, &b); e && n < ns->nservices;
             e = nd_hash_next(&ns->services, e, &b))
        {
            s = e->value;
            if (s->group_len == group.len
                && memcmp(s->grouped, group.data, group.len) == 0)
            {
                all[n++] = s;
            }
        }

        qsort(all, n, sizeof(void *), nd_naming_grpc_name_cmp);

        start = (page_no - 1) * page_size;
        for (i = nd_max(start, 0);
             page_size > 0 && i < (int64_t) n && i < start + page_size;
             i++)
        {
            s = all[i];
            json_array_append_new(names,
                json_stringn(nd_naming_service_name(s),
                             nd_naming_service_name_len(s)));
        }
    }

    return nd_grpc_reply(call, "ServiceListResponse",
                         json_pack("{s:I, s:o}", "count", (json_int_t) n,
                                   "serviceNames", names));
}

#else  /* !ND_WITH_GRPC */


nd_int_t
nd_naming_grpc_init(nd_cycle_t *cycle)
{
    return ND_OK;
}


void
nd_naming_grpc_stop(nd_naming_conf_t *nf)
{
}


void
nd_naming_grpc_exit(nd_naming_conf_t *nf)
{
}

#endif

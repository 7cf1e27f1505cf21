/*
 * libnacos: naming.  Ephemeral instances belong to the connection, so the
 * client remembers what it registered per service (one instance, or a
 * batch) and registers it again on every new connection; subscriptions
 * likewise (the Java SDK's redo).  Pushes (NotifySubscriberRequest) and
 * subscribe answers update each subscriber's last host list; its
 * callback runs when that list really changed.
 */
#include <nd_client.h>


void
nd_client_naming_init(nacos_client_t *c)
{
    nd_queue_init(&c->subs);
    nd_queue_init(&c->redos);
}


static void
nd_client_sub_free(nd_client_sub_t *sub)
{
    free(sub->service);
    free(sub->group);
    free(sub->hosts);
    nd_free(sub);
}


static void
nd_client_redo_free(nd_client_redo_t *r)
{
    free(r->service);
    free(r->group);
    json_decref(r->instances);
    nd_free(r);
}


void
nd_client_naming_free(nacos_client_t *c)
{
    nd_queue_t  *q;

    while (!nd_queue_empty(&c->subs)) {
        q = nd_queue_head(&c->subs);
        nd_queue_remove(q);
        nd_client_sub_free(nd_queue_data(q, nd_client_sub_t, link));
    }

    while (!nd_queue_empty(&c->redos)) {
        q = nd_queue_head(&c->redos);
        nd_queue_remove(q);
        nd_client_redo_free(nd_queue_data(q, nd_client_redo_t, link));
    }
}


static json_t *
nd_client_naming_body(nacos_client_t *c, const char *service,
    const char *group)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:{}}",
                     "namespace", c->namespace_id[0] ? c->namespace_id
                                                     : "public",
                     "serviceName", service, "groupName",
                     ND_CLIENT_GROUP(group), "module", "naming", "headers");
}


static json_t *
nd_client_instance_json(const nacos_instance_t *inst)
{
    json_t        *j, *meta;
    json_error_t   err;

    meta = inst->metadata && inst->metadata[0]
           ? json_loads(inst->metadata, 0, &err) : json_object();
    if (meta == NULL || !json_is_object(meta)) {
        json_decref(meta);
        return NULL;
    }

    j = json_pack("{s:s, s:i, s:f, s:b, s:b, s:b, s:s, s:o}",
                  "ip", inst->ip, "port", inst->port,
                  "weight", inst->weight > 0 ? inst->weight : 1.0,
                  "healthy", !inst->unhealthy, "enabled", !inst->disabled,
                  "ephemeral", !inst->persistent,
                  "clusterName", inst->cluster && inst->cluster[0]
                                 ? inst->cluster : "DEFAULT",
                  "metadata", meta);

    return j;
}


static nd_client_redo_t *
nd_client_redo_find(nacos_client_t *c, const char *service,
    const char *group)
{
    nd_queue_t        *q;
    nd_client_redo_t  *r;

    for (q = nd_queue_head(&c->redos); q != nd_queue_sentinel(&c->redos);
         q = nd_queue_next(q))
    {
        r = nd_queue_data(q, nd_client_redo_t, link);
        if (strcmp(r->service, service) == 0 && strcmp(r->group, group) == 0)
        {
            return r;
        }
    }

    return NULL;
}


/* remember (instances an array, reference taken) or forget (NULL) */
static void
nd_client_redo_set(nacos_client_t *c, const char *service, const char *group,
    json_t *instances)
{
    nd_client_redo_t  *r;

    r = nd_client_redo_find(c, service, group);

    if (instances == NULL) {
        if (r) {
            nd_queue_remove(&r->link);
            nd_client_redo_free(r);
        }
        return;
    }

    if (r == NULL) {
        r = nd_calloc(sizeof(nd_client_redo_t));
        if (r == NULL || (r->service = strdup(service)) == NULL
            || (r->group = strdup(group)) == NULL)
        {
            if (r) {
                nd_client_redo_free(r);
            }
            json_decref(instances);
            return;
        }
        nd_queue_insert_tail(&c->redos, &r->link);
    }

    json_decref(r->instances);
    r->instances = instances;
}


/* one naming request, waited for */
static int
nd_client_naming_call(nacos_client_t *c, const char *type, json_t *req,
    json_t **answer)
{
    int      rc;
    char    *rtype;
    json_t  *body;

    if (req == NULL) {
        return nd_client_error(c, NACOS_EINVAL, "bad instance (metadata "
                               "must be a JSON object)");
    }

    rc = nd_client_call_wait(c, type, req, &rtype, &body);
    if (rc != NACOS_OK) {
        return rc;
    }

    rc = nd_client_result(c, rtype, body);
    free(rtype);

    if (rc == NACOS_OK && answer) {
        *answer = body;
    } else {
        json_decref(body);
    }

    return rc;
}


static int
nd_client_instance(nacos_client_t *c, const char *service, const char *group,
    const nacos_instance_t *inst, const char *op)
{
    int      rc;
    json_t  *req, *ij;

    if (service == NULL || service[0] == '\0' || inst == NULL
        || inst->ip == NULL || inst->port <= 0)
    {
        return nd_client_error(c, NACOS_EINVAL, "no service, ip or port");
    }

    group = ND_CLIENT_GROUP(group);
    ij = nd_client_instance_json(inst);
    req = ij ? nd_client_naming_body(c, service, group) : NULL;

    if (req) {
        json_object_set_new(req, "type", json_string(op));
        json_object_set(req, "instance", ij);
    }

    rc = nd_client_naming_call(c, inst->persistent
                                  ? "PersistentInstanceRequest"
                                  : "InstanceRequest", req, NULL);

    if (rc == NACOS_OK && !inst->persistent) {
        nd_client_redo_set(c, service, group,
                           op[0] == 'r' ? json_pack("[O]", ij) : NULL);
    }

    json_decref(ij);

    return rc;
}


int
nacos_naming_register(nacos_client_t *c, const char *service,
    const char *group, const nacos_instance_t *inst)
{
    return nd_client_instance(c, service, group, inst, "registerInstance");
}


int
nacos_naming_deregister(nacos_client_t *c, const char *service,
    const char *group, const nacos_instance_t *inst)
{
    return nd_client_instance(c, service, group, inst, "deregisterInstance");
}


int
nacos_naming_batch_register(nacos_client_t *c, const char *service,
    const char *group, const nacos_instance_t *inst, size_t n)
{
    int      rc;
    size_t   i;
    json_t  *req, *list, *ij;

    if (service == NULL || service[0] == '\0') {
        return nd_client_error(c, NACOS_EINVAL, "no service");
    }

    group = ND_CLIENT_GROUP(group);
    list = json_array();

    for (i = 0; i < n && list; i++) {
        if (inst[i].persistent || inst[i].ip == NULL || inst[i].port <= 0
            || (ij = nd_client_instance_json(&inst[i])) == NULL)
        {
            json_decref(list);
            return nd_client_error(c, NACOS_EINVAL, "instance %zu: bad or "
                                   "persistent", i);
        }
        json_array_append_new(list, ij);
    }

    req = list ? nd_client_naming_body(c, service, group) : NULL;
    if (req) {
        json_object_set_new(req, "type", json_string("batchRegisterInstance"));
        json_object_set(req, "instances", list);
    }

    rc = nd_client_naming_call(c, "BatchInstanceRequest", req, NULL);

    if (rc == NACOS_OK) {
        nd_client_redo_set(c, service, group, n ? json_incref(list) : NULL);
    }

    json_decref(list);

    return rc;
}


int
nacos_naming_query(nacos_client_t *c, const char *service, const char *group,
    const char *clusters, int healthy_only, char **service_info)
{
    int      rc;
    json_t  *req, *answer;

    if (service == NULL || service[0] == '\0') {
        return nd_client_error(c, NACOS_EINVAL, "no service");
    }

    req = nd_client_naming_body(c, service, group);
    if (req) {
        json_object_set_new(req, "cluster", json_string(clusters ? clusters
                                                                 : ""));
        json_object_set_new(req, "healthyOnly", json_boolean(healthy_only));
        json_object_set_new(req, "udpPort", json_integer(0));
    }

    rc = nd_client_naming_call(c, "ServiceQueryRequest", req, &answer);
    if (rc != NACOS_OK) {
        return rc;
    }

    *service_info = json_dumps(json_object_get(answer, "serviceInfo")
                               ? json_object_get(answer, "serviceInfo")
                               : json_object(), JSON_COMPACT);
    json_decref(answer);

    return *service_info ? NACOS_OK : NACOS_ENOMEM;
}


/* a ServiceInfo came (push or subscribe answer): call back where the
 * hosts changed */
static void
nd_client_service_info(nacos_client_t *c, json_t *info)
{
    char             *hosts, *text;
    const char       *name, *group, *at;
    nd_queue_t       *q;
    nd_client_sub_t  *sub;
    char              service[512], grp[256];

    if (!json_is_array(json_object_get(info, "hosts"))) {
        return;                         /* clients ignore a null list */
    }

    name = nd_json_get_str(info, "name", "");
    group = nd_json_get_str(info, "groupName", "");
    at = strstr(name, "@@");
    if (at) {
        if (group[0] == '\0') {
            snprintf(grp, sizeof(grp), "%.*s", (int) (at - name), name);
            group = grp;
        }
        name = at + 2;
    }
    snprintf(service, sizeof(service), "%s", name);
    group = ND_CLIENT_GROUP(group);

    hosts = json_dumps(json_object_get(info, "hosts"),
                       JSON_COMPACT | JSON_SORT_KEYS);
    text = json_dumps(info, JSON_COMPACT);

    for (q = nd_queue_head(&c->subs);
         hosts && text && q != nd_queue_sentinel(&c->subs);
         q = nd_queue_next(q))
    {
        sub = nd_queue_data(q, nd_client_sub_t, link);
        if (sub->cb == NULL || strcmp(sub->service, service) != 0
            || strcmp(sub->group, group) != 0
            || (sub->hosts && strcmp(sub->hosts, hosts) == 0))
        {
            continue;
        }

        free(sub->hosts);
        sub->hosts = strdup(hosts);

        c->in_callback++;
        sub->cb(c, sub->service, sub->group, text, sub->data);
        c->in_callback--;
    }

    free(hosts);
    free(text);
}


void
nd_client_naming_push(nacos_client_t *c, json_t *body)
{
    c->stats.naming_pushes++;
    nd_client_service_info(c, json_object_get(body, "serviceInfo"));
}


static void
nd_client_resubscribed(nacos_client_t *c, int rc, const char *type,
    json_t *body, void *data)
{
    if (rc == NACOS_OK && nd_client_result(c, type, body) == NACOS_OK) {
        nd_client_service_info(c, json_object_get(body, "serviceInfo"));
    }
}


static void
nd_client_redone(nacos_client_t *c, int rc, const char *type, json_t *body,
    void *data)
{
    if (rc == NACOS_OK) {
        nd_client_result(c, type, body);
    }
}


static json_t *
nd_client_subscribe_body(nacos_client_t *c, const char *service,
    const char *group, int on)
{
    json_t  *req;

    req = nd_client_naming_body(c, service, group);
    if (req) {
        json_object_set_new(req, "subscribe", json_boolean(on));
        json_object_set_new(req, "clusters", json_string(""));
    }

    return req;
}


/* a new connection: register and subscribe again */
void
nd_client_naming_connected(nacos_client_t *c)
{
    json_t            *req;
    nd_queue_t        *q, *p;
    nd_client_sub_t   *sub, *prev;
    nd_client_redo_t  *r;

    for (q = nd_queue_head(&c->redos); q != nd_queue_sentinel(&c->redos);
         q = nd_queue_next(q))
    {
        r = nd_queue_data(q, nd_client_redo_t, link);
        req = nd_client_naming_body(c, r->service, r->group);
        if (req == NULL) {
            continue;
        }

        if (json_array_size(r->instances) == 1) {
            json_object_set_new(req, "type", json_string("registerInstance"));
            json_object_set(req, "instance", json_array_get(r->instances, 0));
            nd_client_call(c, "InstanceRequest", req, 0, nd_client_redone,
                           NULL);
        } else {
            json_object_set_new(req, "type",
                                json_string("batchRegisterInstance"));
            json_object_set(req, "instances", r->instances);
            nd_client_call(c, "BatchInstanceRequest", req, 0,
                           nd_client_redone, NULL);
        }

        c->stats.redo_instances++;
    }

    for (q = nd_queue_head(&c->subs); q != nd_queue_sentinel(&c->subs);
         q = nd_queue_next(q))
    {
        sub = nd_queue_data(q, nd_client_sub_t, link);

        /* once per service */
        for (p = nd_queue_head(&c->subs); p != q; p = nd_queue_next(p)) {
            prev = nd_queue_data(p, nd_client_sub_t, link);
            if (strcmp(prev->service, sub->service) == 0
                && strcmp(prev->group, sub->group) == 0)
            {
                break;
            }
        }

        if (p != q) {
            continue;
        }

        nd_client_call(c, "SubscribeServiceRequest",
                       nd_client_subscribe_body(c, sub->service, sub->group,
                                                1),
                       0, nd_client_resubscribed, NULL);
        c->stats.redo_subscribes++;
    }
}


int
nacos_naming_subscribe(nacos_client_t *c, const char *service,
    const char *group, nacos_service_pt cb, void *data)
{
    int               rc;
    json_t           *answer;
    nd_client_sub_t  *sub;

    if (service == NULL || service[0] == '\0' || cb == NULL) {
        return nd_client_error(c, NACOS_EINVAL, "no service or callback");
    }

    group = ND_CLIENT_GROUP(group);

    sub = nd_calloc(sizeof(nd_client_sub_t));
    if (sub == NULL || (sub->service = strdup(service)) == NULL
        || (sub->group = strdup(group)) == NULL)
    {
        if (sub) {
            nd_client_sub_free(sub);
        }
        return nd_client_error(c, NACOS_ENOMEM, "no memory");
    }

    rc = nd_client_naming_call(c, "SubscribeServiceRequest",
                               nd_client_subscribe_body(c, service, group, 1),
                               &answer);
    if (rc != NACOS_OK) {
        nd_client_sub_free(sub);
        return rc;
    }

    sub->cb = cb;
    sub->data = data;
    nd_queue_insert_tail(&c->subs, &sub->link);

    /* the first list */
    nd_client_service_info(c, json_object_get(answer, "serviceInfo"));
    json_decref(answer);

    return NACOS_OK;
}


int
nacos_naming_unsubscribe(nacos_client_t *c, const char *service,
    const char *group, nacos_service_pt cb, void *data)
{
    int               others;
    nd_queue_t       *q, *next;
    nd_client_sub_t  *sub;

    group = ND_CLIENT_GROUP(group);
    others = 0;

    for (q = nd_queue_head(&c->subs); q != nd_queue_sentinel(&c->subs);
         q = next)
    {
        next = nd_queue_next(q);
        sub = nd_queue_data(q, nd_client_sub_t, link);
        if (strcmp(sub->service, service) != 0
            || strcmp(sub->group, group) != 0)
        {
            continue;
        }

        if (sub->cb == cb && sub->data == data) {
            nd_queue_remove(q);
            nd_client_sub_free(sub);
        } else {
            others++;
        }
    }

    if (others) {
        return NACOS_OK;
    }

    return nd_client_naming_call(c, "SubscribeServiceRequest",
                                 nd_client_subscribe_body(c, service, group,
                                                          0),
                                 NULL);
}

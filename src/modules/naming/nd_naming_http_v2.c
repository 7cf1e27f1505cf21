/*
 * Naming Open API v2 client introspection (/v2/ns/client/...); the v2
 * instance and service routes share the v1 handlers (nd_naming_http.c).
 */
#include <nd_naming_http.h>

static nd_int_t nd_naming_client_list(nd_http_request_t *r);
static nd_int_t nd_naming_client_detail(nd_http_request_t *r);
static nd_int_t nd_naming_client_publish_list(nd_http_request_t *r);
static nd_int_t nd_naming_client_subscribe_list(nd_http_request_t *r);
static nd_int_t nd_naming_service_publishers(nd_http_request_t *r);
static nd_int_t nd_naming_service_subscriber_list(nd_http_request_t *r);

static const nd_http_route_t  nd_naming_v2_routes[] = {
    { ND_HTTP_GET, nd_string("/v2/ns/client/list"), nd_naming_client_list },
    { ND_HTTP_GET, nd_string("/v2/ns/client"), nd_naming_client_detail },
    { ND_HTTP_GET, nd_string("/v2/ns/client/publish/list"),
      nd_naming_client_publish_list },
    { ND_HTTP_GET, nd_string("/v2/ns/client/subscribe/list"),
      nd_naming_client_subscribe_list },
    { ND_HTTP_GET, nd_string("/v2/ns/client/service/publisher/list"),
      nd_naming_service_publishers },
    { ND_HTTP_GET, nd_string("/v2/ns/client/service/subscriber/list"),
      nd_naming_service_subscriber_list },
    nd_http_null_route
};


int
nd_naming_http_v2_init(nd_cycle_t *cycle)
{
    return nd_http_add_routes(cycle, nd_naming_v2_routes);
}


static nd_naming_client_t *
nd_naming_client_arg(nd_http_request_t *r, nd_int_t *rc)
{
    nd_str_t             id;
    nd_naming_client_t  *c;

    if (nd_naming_arg(r, "clientId", &id) != ND_OK) {
        *rc = nd_naming_fail(r, 400, 10000, "Required parameter 'clientId' "
                             "type String is not present");
        return NULL;
    }

    c = nd_naming_client_find(nd_naming_conf(nd_cycle), &id);
    if (c == NULL) {
        *rc = nd_naming_fail(r, 404, 20004, "clientId [ %.*s ] not exist",
                             ND_STR_ARG(id));
    }

    return c;
}


json_t *
nd_naming_client_json(nd_naming_client_t *c)
{
    char    addr[80], *p;
    json_t  *j;

    j = json_pack("{s:s, s:b, s:I, s:s}", "clientId", nd_naming_cid(c),
                  "ephemeral", (int) c->ephemeral,
                  "lastUpdatedTime", (json_int_t) c->last_updated,
                  "clientType", c->type == ND_NAMING_CLIENT_IPPORT
                                ? "ipport" : "connection");

    if (c->type == ND_NAMING_CLIENT_IPPORT) {
        snprintf(addr, sizeof(addr), "%s", nd_naming_cid(c));
        p = strrchr(addr, '#');
        if (p) {
            *p = '\0';
        }
        p = strrchr(addr, ':');
        if (p) {
            *p++ = '\0';
            json_object_set_new(j, "clientIp", json_string(addr));
            json_object_set_new(j, "clientPort", json_integer(atoi(p)));
        }
    }

    return j;
}


static nd_int_t
nd_naming_client_list(nd_http_request_t *r)
{
    json_t              *list;
    nd_uint_t            i;
    nd_hash_elt_t       *e;
    nd_naming_conf_t    *nf;
    nd_naming_client_t  *c;

    nf = nd_naming_conf(nd_cycle);
    list = json_array();

    for (e = nd_hash_first(&nf->clients, &i); e;
         e = nd_hash_next(&nf->clients, e, &i))
    {
        c = e->value;
        json_array_append_new(list, json_stringn(nd_naming_cid(c),
                                                 nd_naming_cid_len(c)));
    }

    return nd_naming_send_json(r, list);
}


static nd_int_t
nd_naming_client_detail(nd_http_request_t *r)
{
    nd_int_t             rc;
    nd_naming_client_t  *c;

    c = nd_naming_client_arg(r, &rc);
    if (c == NULL) {
        return rc;
    }

    return nd_naming_send_json(r, nd_naming_client_json(c));
}


static json_t *
nd_naming_service_ref_json(nd_naming_service_t *s)
{
    return json_pack("{s:s, s:s%, s:s%}", "namespace", s->ns->id,
                     "group", s->grouped, (size_t) s->group_len,
                     "serviceName", nd_naming_service_name(s),
                     (size_t) nd_naming_service_name_len(s));
}


static nd_int_t
nd_naming_client_publish_list(nd_http_request_t *r)
{
    json_t                *list, *j;
    nd_int_t               rc;
    nd_queue_t            *q;
    nd_naming_client_t    *c;
    nd_naming_instance_t  *inst;

    c = nd_naming_client_arg(r, &rc);
    if (c == NULL) {
        return rc;
    }

    list = json_array();
    for (q = nd_queue_head(&c->instances);
         q != nd_queue_sentinel(&c->instances); q = nd_queue_next(q))
    {
        inst = nd_queue_data(q, nd_naming_instance_t, client_link);
        j = nd_naming_service_ref_json(inst->cluster->service);
        json_object_set_new(j, "registeredInstance", json_pack(
            "{s:s, s:i, s:s}", "ip", inst->ip, "port", (int) inst->port,
            "cluster", inst->cluster->name));
        json_array_append_new(list, j);
    }

    return nd_naming_send_json(r, list);
}


static nd_int_t
nd_naming_client_subscribe_list(nd_http_request_t *r)
{
    json_t              *list, *j;
    nd_int_t             rc;
    nd_queue_t          *q;
    nd_naming_sub_t     *sub;
    nd_naming_client_t  *c;

    c = nd_naming_client_arg(r, &rc);
    if (c == NULL) {
        return rc;
    }

    list = json_array();
    for (q = nd_queue_head(&c->subs); q != nd_queue_sentinel(&c->subs);
         q = nd_queue_next(q))
    {
        sub = nd_queue_data(q, nd_naming_sub_t, client_link);
        j = nd_naming_service_ref_json(sub->service);
        json_object_set_new(j, "subscriberInfo", nd_naming_sub_json(sub));
        json_array_append_new(list, j);
    }

    return nd_naming_send_json(r, list);
}


static nd_int_t
nd_naming_service_clients(nd_http_request_t *r, int publishers)
{
    json_t                *list;
    nd_int_t               rc;
    nd_queue_t            *q, *iq;
    nd_naming_ref_t        ref;
    nd_naming_sub_t       *sub;
    nd_naming_cluster_t   *cl;
    nd_naming_service_t   *s;
    nd_naming_instance_t  *inst;

    if (nd_naming_http_ref(r, &ref, &rc) != ND_OK) {
        return rc;
    }

    s = nd_naming_service_find(nd_naming_conf(nd_cycle), &ref.ns,
                               &ref.grouped);
    list = json_array();

    if (s && publishers) {
        for (q = nd_queue_head(&s->clusters);
             q != nd_queue_sentinel(&s->clusters); q = nd_queue_next(q))
        {
            cl = nd_queue_data(q, nd_naming_cluster_t, link);
            for (iq = nd_queue_head(&cl->instances);
                 iq != nd_queue_sentinel(&cl->instances);
                 iq = nd_queue_next(iq))
            {
                inst = nd_queue_data(iq, nd_naming_instance_t,
                                     cluster_link);
                json_array_append_new(list, json_pack("{s:s, s:s, s:i}",
                    "clientId", nd_naming_cid(inst->client), "ip", inst->ip,
                    "port", (int) inst->port));
            }
        }

    } else if (s) {
        for (q = nd_queue_head(&s->subs); q != nd_queue_sentinel(&s->subs);
             q = nd_queue_next(q))
        {
            sub = nd_queue_data(q, nd_naming_sub_t, service_link);
            json_array_append_new(list, json_pack("{s:s, s:s, s:i}",
                "clientId", nd_naming_cid(sub->client),
                "ip", inet_ntoa(sub->addr.sin_addr),
                "port", (int) ntohs(sub->addr.sin_port)));
        }
    }

    return nd_naming_send_json(r, list);
}


static nd_int_t
nd_naming_service_publishers(nd_http_request_t *r)
{
    return nd_naming_service_clients(r, 1);
}


static nd_int_t
nd_naming_service_subscriber_list(nd_http_request_t *r)
{
    return nd_naming_service_clients(r, 0);
}

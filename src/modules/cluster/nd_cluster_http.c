/*
 * The cluster over HTTP, in Nacos's shapes: the member list (v1, v2), this
 * node, and the v1 report a member may send instead of the cluster RPC.
 */
#include <nd_cluster_internal.h>

static nd_int_t nd_cluster_nodes_v1(nd_http_request_t *r);
static nd_int_t nd_cluster_nodes_v2(nd_http_request_t *r);
static nd_int_t nd_cluster_self_v1(nd_http_request_t *r);
static nd_int_t nd_cluster_self_v2(nd_http_request_t *r);
static nd_int_t nd_cluster_simple_nodes(nd_http_request_t *r);
static nd_int_t nd_cluster_health(nd_http_request_t *r);
static nd_int_t nd_cluster_report_v1(nd_http_request_t *r);

static const nd_http_route_t  nd_cluster_routes[] = {
    { ND_HTTP_GET, nd_string("/v1/core/cluster/nodes"), nd_cluster_nodes_v1 },
    { ND_HTTP_GET, nd_string("/v1/core/cluster/self"), nd_cluster_self_v1 },
    { ND_HTTP_GET, nd_string("/v1/core/cluster/simple/nodes"),
      nd_cluster_simple_nodes },
    { ND_HTTP_GET, nd_string("/v1/core/cluster/health"), nd_cluster_health },
    { ND_HTTP_POST, nd_string("/v1/core/cluster/report"),
      nd_cluster_report_v1 },
    { ND_HTTP_GET, nd_string("/v2/core/cluster/node/list"),
      nd_cluster_nodes_v2 },
    { ND_HTTP_GET, nd_string("/v2/core/cluster/node/self"),
      nd_cluster_self_v2 },
    nd_http_null_route
};


nd_int_t
nd_cluster_http_init(nd_cycle_t *cycle)
{
    return nd_http_add_routes(cycle, nd_cluster_routes);
}


/* v1: {"code":200,"message":null,"data":...}; v2: code 0, "success" */
static nd_int_t
nd_cluster_send(nd_http_request_t *r, int v2, json_t *data)
{
    json_t    *res;
    nd_int_t   rc;

    if (v2) {
        res = json_pack("{s:i, s:s, s:o}", "code", 0, "message", "success",
                        "data", data);
    } else {
        res = json_pack("{s:i, s:n, s:o}", "code", 200, "message",
                        "data", data);
    }

    if (res == NULL) {
        return ND_ERROR;
    }

    rc = nd_http_send_json(r, 200, res);
    json_decref(res);

    return rc;
}


/* the members whose address holds keyword (v1 "keyword", v2 "address"),
 * and in v2 whose state is "state" when given */
static nd_int_t
nd_cluster_nodes(nd_http_request_t *r, int v2)
{
    json_t              *data;
    nd_str_t             keyword, state;
    const char          *name;
    nd_uint_t            i;
    nd_member_t        **mp;
    nd_cluster_conf_t   *ccf;

    ccf = nd_cluster_conf(nd_cycle);

    if (nd_http_arg(r, v2 ? "address" : "keyword", &keyword) != ND_OK) {
        nd_str_null(&keyword);
    }
    if (!v2 || nd_http_arg(r, "state", &state) != ND_OK) {
        nd_str_null(&state);
    }

    data = json_array();
    mp = ccf->members.elts;

    for (i = 0; i < ccf->members.nelts; i++) {
        if (keyword.len
            && memmem(mp[i]->addr.text, strlen(mp[i]->addr.text),
                      keyword.data, keyword.len) == NULL)
        {
            continue;
        }

        name = nd_member_state_name(mp[i]->state);
        if (state.len
            && (state.len != strlen(name)
                || memcmp(state.data, name, state.len) != 0))
        {
            continue;
        }

        json_array_append_new(data, nd_cluster_member_json(mp[i]));
    }

    return nd_cluster_send(r, v2, data);
}


static nd_int_t
nd_cluster_nodes_v1(nd_http_request_t *r)
{
    return nd_cluster_nodes(r, 0);
}


static nd_int_t
nd_cluster_nodes_v2(nd_http_request_t *r)
{
    return nd_cluster_nodes(r, 1);
}


static nd_int_t
nd_cluster_self_v1(nd_http_request_t *r)
{
    return nd_cluster_send(r, 0,
                           nd_cluster_member_json(nd_cluster_self(nd_cycle)));
}


static nd_int_t
nd_cluster_self_v2(nd_http_request_t *r)
{
    return nd_cluster_send(r, 1,
                           nd_cluster_member_json(nd_cluster_self(nd_cycle)));
}


static nd_int_t
nd_cluster_simple_nodes(nd_http_request_t *r)
{
    json_t              *data;
    nd_uint_t            i;
    nd_member_t        **mp;
    nd_cluster_conf_t   *ccf;

    ccf = nd_cluster_conf(nd_cycle);
    data = json_array();
    mp = ccf->members.elts;

    for (i = 0; i < ccf->members.nelts; i++) {
        json_array_append_new(data, json_string(mp[i]->addr.text));
    }

    return nd_cluster_send(r, 0, data);
}


static nd_int_t
nd_cluster_health(nd_http_request_t *r)
{
    return nd_cluster_send(r, 0, json_string(nd_member_state_name(
                                     nd_cluster_self(nd_cycle)->state)));
}


/* POST /v1/core/cluster/report: a Member in the body; the answer's data
 * is this node's Member as a JSON string, as Nacos answers */
static nd_int_t
nd_cluster_report_v1(nd_http_request_t *r)
{
    char               *self;
    json_t             *node;
    nd_int_t            rc;
    json_error_t        err;
    nd_cluster_conf_t  *ccf;

    ccf = nd_cluster_conf(nd_cycle);

    node = json_loadb((const char *) r->body.data, r->body.len,
                      JSON_REJECT_DUPLICATES, &err);
    if (!json_is_object(node)) {
        json_decref(node);
        return nd_http_error(r, 400, 400, "the body is not a member (JSON)");
    }

    if (nd_cluster_reported(ccf, node) == NULL) {
        json_decref(node);
        return nd_http_error(r, 404, 404, "not a member of this cluster");
    }

    json_decref(node);

    node = nd_cluster_member_json(ccf->self);
    self = node ? json_dumps(node, JSON_COMPACT) : NULL;
    json_decref(node);

    if (self == NULL) {
        return ND_ERROR;
    }

    rc = nd_cluster_send(r, 0, json_string(self));
    free(self);

    return rc;
}

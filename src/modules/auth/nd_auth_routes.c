/*
 * The class of every HTTP route and gRPC request type, in one place (as
 * Nacos's @Secured annotations say them), and the resource a request
 * names.  start refuses a registered route missing here, so a new route
 * cannot be served unchecked; the route walk test reads this table.
 */
#include <nd_auth.h>

#define R(m, p, c)  { ND_HTTP_##m, nd_string(p), ND_AUTH_##c }
#define ND_HTTP_RW  (ND_HTTP_POST | ND_HTTP_PUT | ND_HTTP_DELETE)

const nd_auth_route_t  nd_auth_routes[] = {
    /* open: probes, login, the one-time admin bootstrap */
    R(GET,    "/v1/console/health/liveness", OPEN),
    R(GET,    "/v1/console/health/readiness", OPEN),
    R(POST,   "/v1/auth/users/login", OPEN),
    R(POST,   "/v1/auth/login", OPEN),
    R(POST,   "/v1/auth/users/admin", OPEN),

    /* the console's own files (no data: every call it makes is checked)
     * and the Prometheus scrape (counts only, as Nacos's actuator; see
     * docs/security.md) */
    R(GET,    "/", OPEN),
    R(GET,    "/index.html", OPEN),
    R(GET,    "/console.js", OPEN),
    R(GET,    "/console.css", OPEN),
    R(GET,    "/diff.js", OPEN),
    R(GET,    "/actuator/prometheus", OPEN),

    /* users, roles, permissions: console; a user changes its own
     * password (the handler checks it is its own or an admin's call) */
    R(GET,    "/v1/auth/users", CONSOLE),
    R(POST,   "/v1/auth/users", CONSOLE),
    R(DELETE, "/v1/auth/users", CONSOLE),
    R(PUT,    "/v1/auth/users", USER),
    R(GET,    "/v1/auth/users/search", CONSOLE),
    R(GET,    "/v1/auth/roles", CONSOLE),
    R(POST,   "/v1/auth/roles", CONSOLE),
    R(DELETE, "/v1/auth/roles", CONSOLE),
    R(GET,    "/v1/auth/roles/search", CONSOLE),
    R(GET,    "/v1/auth/permissions", CONSOLE),
    R(POST,   "/v1/auth/permissions", CONSOLE),
    R(DELETE, "/v1/auth/permissions", CONSOLE),

    /* config */
    R(GET,    "/v1/cs/configs", CONFIG_R),
    R(POST,   "/v1/cs/configs", CONFIG_W),
    R(DELETE, "/v1/cs/configs", CONFIG_W),
    R(GET,    "/v1/cs/configs/listener", CONFIG_R),
    R(POST,   "/v1/cs/configs/listener", CONFIG_R),
    R(GET,    "/v1/cs/history", CONFIG_R),
    R(GET,    "/v1/cs/history/configs", CONFIG_R),
    R(GET,    "/v1/cs/history/previous", CONFIG_R),
    R(GET,    "/v1/cs/listener", CONFIG_R),
    R(GET,    "/v1/cs/metrics/cluster", CONSOLE),
    R(GET,    "/v1/cs/metrics/current", CONSOLE),
    R(GET,    "/v2/cs/config", CONFIG_R),
    R(POST,   "/v2/cs/config", CONFIG_W),
    R(DELETE, "/v2/cs/config", CONFIG_W),
    R(GET,    "/v2/cs/history", CONFIG_R),
    R(GET,    "/v2/cs/history/configs", CONFIG_R),
    R(GET,    "/v2/cs/history/detail", CONFIG_R),
    R(GET,    "/v2/cs/history/list", CONFIG_R),
    R(GET,    "/v2/cs/history/previous", CONFIG_R),

    /* naming */
    R(GET,    "/v1/ns/instance", NAMING_R),
    R(RW,     "/v1/ns/instance", NAMING_W),
    R(PATCH,  "/v1/ns/instance", NAMING_W),
    R(PUT,    "/v1/ns/instance/beat", NAMING_W),
    R(GET,    "/v1/ns/instance/list", NAMING_R),
    R(PUT,    "/v1/ns/instance/metadata/batch", NAMING_W),
    R(DELETE, "/v1/ns/instance/metadata/batch", NAMING_W),
    R(GET,    "/v1/ns/instance/statuses", NAMING_R),
    R(POST,   "/v1/ns/instance/statuses", NAMING_R),
    R(GET,    "/v1/ns/service", NAMING_R),
    R(RW,     "/v1/ns/service", NAMING_W),
    R(GET,    "/v1/ns/service/list", NAMING_R),
    R(ANY,    "/v1/ns/service/names", NAMING_R),
    R(GET,    "/v1/ns/service/subscribers", NAMING_R),
    R(GET,    "/v1/ns/catalog/instances", NAMING_R),
    R(HEAD,   "/v1/ns/catalog/instances", NAMING_R),
    R(OPTIONS, "/v1/ns/catalog/instances", NAMING_R),
    R(RW,     "/v1/ns/catalog/instances", NAMING_W),
    R(PATCH,  "/v1/ns/catalog/instances", NAMING_W),
    R(GET,    "/v1/ns/catalog/services", NAMING_R),
    R(PUT,    "/v1/ns/cluster", NAMING_W),
    R(PUT,    "/v1/ns/health", NAMING_W),
    R(PUT,    "/v1/ns/health/instance", NAMING_W),
    R(GET,    "/v1/ns/health/server", NAMING_R),
    R(GET,    "/v2/ns/instance", NAMING_R),
    R(RW,     "/v2/ns/instance", NAMING_W),
    R(PATCH,  "/v2/ns/instance", NAMING_W),
    R(PUT,    "/v2/ns/instance/beat", NAMING_W),
    R(GET,    "/v2/ns/instance/list", NAMING_R),
    R(PUT,    "/v2/ns/instance/metadata/batch", NAMING_W),
    R(DELETE, "/v2/ns/instance/metadata/batch", NAMING_W),
    R(PUT,    "/v2/ns/health/instance", NAMING_W),
    R(GET,    "/v2/ns/service", NAMING_R),
    R(RW,     "/v2/ns/service", NAMING_W),
    R(GET,    "/v2/ns/service/list", NAMING_R),
    R(GET,    "/v2/ns/client", NAMING_R),
    R(GET,    "/v2/ns/client/list", NAMING_R),
    R(GET,    "/v2/ns/client/publish/list", NAMING_R),
    R(GET,    "/v2/ns/client/subscribe/list", NAMING_R),
    R(GET,    "/v2/ns/client/service/publisher/list", NAMING_R),
    R(GET,    "/v2/ns/client/service/subscriber/list", NAMING_R),

    /* operations: console */
    R(GET,    "/v1/ns/operator/metrics", CONSOLE),
    R(GET,    "/v1/ns/operator/push/state", CONSOLE),
    R(GET,    "/v1/ns/operator/switches", CONSOLE),
    R(PUT,    "/v1/ns/operator/switches", CONSOLE),
    R(GET,    "/v1/ns/ops/metrics", CONSOLE),
    R(GET,    "/v1/ns/ops/switches", CONSOLE),
    R(PUT,    "/v1/ns/ops/switches", CONSOLE),
    R(GET,    "/v2/ns/operator/metrics", CONSOLE),
    R(GET,    "/v2/ns/operator/switches", CONSOLE),
    R(PUT,    "/v2/ns/operator/switches", CONSOLE),
    R(GET,    "/v1/console/namespaces", CONSOLE),
    R(RW,     "/v1/console/namespaces", CONSOLE),
    R(GET,    "/v2/console/namespace", CONSOLE),
    R(RW,     "/v2/console/namespace", CONSOLE),
    R(GET,    "/v2/console/namespace/list", CONSOLE),
    R(GET,    "/v1/core/cluster/nodes", CONSOLE),
    R(GET,    "/v1/core/cluster/self", CONSOLE),
    R(GET,    "/v1/core/cluster/simple/nodes", CONSOLE),
    R(GET,    "/v1/core/cluster/health", CONSOLE),
    R(POST,   "/v1/core/cluster/report", CONSOLE),
    R(GET,    "/v2/core/cluster/node/list", CONSOLE),
    R(GET,    "/v2/core/cluster/node/self", CONSOLE),
    R(GET,    "/v1/core/loader/current", CONSOLE),
    R(GET,    "/v2/core/loader/current", CONSOLE),
    R(GET,    "/v2/core/loader/reloadCurrent", CONSOLE),
    R(GET,    "/v2/core/loader/reloadClient", CONSOLE),
    R(GET,    "/v2/core/loader/smartReloadCluster", CONSOLE),
    R(GET,    "/v2/core/loader/cluster", CONSOLE),
    R(GET,    "/v1/core/loader/limitRule", CONSOLE),
    R(POST,   "/v1/core/loader/limitRule", CONSOLE),
    R(GET,    "/v1/core/loader/limitStats", CONSOLE),
    R(GET,    "/v1/core/debug/grpc", CONSOLE),
    R(ANY,    "/v1/core/debug/echo", CONSOLE),
    R(GET,    "/v1/core/debug/sleep", CONSOLE),
    R(GET,    "/v1/core/debug/store/changes", CONSOLE),
    R(GET,    "/v1/core/debug/store/configs", CONSOLE),
    R(GET,    "/v1/core/debug/store/history", CONSOLE),
    R(GET,    "/v1/core/debug/store/history/previous", CONSOLE),
    R(GET,    "/v1/core/debug/store/status", CONSOLE),
    R(GET,    "/v1/core/debug/store/config", CONSOLE),
    R(POST,   "/v1/core/debug/store/config", CONSOLE),
    R(DELETE, "/v1/core/debug/store/config", CONSOLE),
    R(GET,    "/v1/core/debug/store/namespace", CONSOLE),
    R(RW,     "/v1/core/debug/store/namespace", CONSOLE),
    R(GET,    "/v1/core/debug/store/instance", CONSOLE),
    R(POST,   "/v1/core/debug/store/instance", CONSOLE),
    R(DELETE, "/v1/core/debug/store/instance", CONSOLE),
    { 0, nd_null_string, ND_AUTH_UNSET }
};

#undef R
#undef ND_HTTP_RW

/* SDK gRPC requests; a type not listed is refused (the cluster port's
 * requests carry the server identity instead) */
const nd_auth_grpc_type_t  nd_auth_grpc_types[] = {
    { "ServerCheckRequest", ND_AUTH_OPEN },
    { "ConnectionSetupRequest", ND_AUTH_OPEN },
    { "HealthCheckRequest", ND_AUTH_OPEN },
    { "InstanceRequest", ND_AUTH_NAMING_W },
    { "BatchInstanceRequest", ND_AUTH_NAMING_W },
    { "PersistentInstanceRequest", ND_AUTH_NAMING_W },
    { "ServiceQueryRequest", ND_AUTH_NAMING_R },
    { "SubscribeServiceRequest", ND_AUTH_NAMING_R },
    { "ServiceListRequest", ND_AUTH_NAMING_R },
    { "ConfigQueryRequest", ND_AUTH_CONFIG_R },
    { "ConfigBatchListenRequest", ND_AUTH_CONFIG_R },
    { "ConfigPublishRequest", ND_AUTH_CONFIG_W },
    { "ConfigRemoveRequest", ND_AUTH_CONFIG_W },
    { NULL, ND_AUTH_UNSET }
};


static void
nd_auth_route_check(const nd_str_t *path, nd_uint_t methods, void *data)
{
    int              *bad;
    u_char           *cls;
    nd_uint_t         bit;
    nd_auth_conf_t   *acf;

    bad = data;
    acf = nd_auth_conf(nd_cycle);
    cls = nd_hash_find(&acf->routes, path->data, path->len);

    for (bit = 1; bit & ND_HTTP_ANY; bit <<= 1) {
        if ((methods & bit)
            && (cls == NULL || cls[nd_http_method_index(bit)] == ND_AUTH_UNSET))
        {
            nd_log_error(ND_LOG_EMERG, nd_cycle->log, 0,
                         "HTTP route \"%.*s\" (method bit %lu) has no auth "
                         "class in src/modules/auth/nd_auth_routes.c",
                         ND_STR_ARG(*path), (unsigned long) bit);
            *bad = 1;
        }
    }
}


nd_int_t
nd_auth_routes_init(nd_cycle_t *cycle, nd_auth_conf_t *acf)
{
    int                     bad;
    u_char                 *cls;
    nd_uint_t               bit;
    const nd_auth_route_t  *rt;

    if (acf->routes.buckets == NULL && nd_hash_init(&acf->routes, 256) != ND_OK)
    {
        return ND_ERROR;
    }

    for (rt = nd_auth_routes; rt->path.len; rt++) {
        cls = nd_hash_find(&acf->routes, rt->path.data, rt->path.len);
        if (cls == NULL) {
            cls = nd_pcalloc(cycle->pool, ND_HTTP_NMETHODS);
            if (cls == NULL
                || nd_hash_add(&acf->routes, rt->path.data, rt->path.len, cls)
                   != ND_OK)
            {
                return ND_ERROR;
            }
        }
        for (bit = 1; bit & ND_HTTP_ANY; bit <<= 1) {
            if (rt->methods & bit) {
                cls[nd_http_method_index(bit)] = (u_char) rt->cls;
            }
        }
    }

    bad = 0;
    nd_http_routes_each(cycle, nd_auth_route_check, &bad);

    return bad ? ND_ERROR : ND_OK;
}


nd_auth_class_e
nd_auth_route_class(nd_auth_conf_t *acf, nd_http_request_t *r)
{
    int      i;
    u_char  *cls;

    cls = nd_hash_find(&acf->routes, r->route.data, r->route.len);
    /* HEAD runs the GET handler */
    i = nd_http_method_index(r->method == ND_HTTP_HEAD
                             && (cls == NULL || !cls[1])
                             ? ND_HTTP_GET : r->method);

    return cls && i >= 0 ? (nd_auth_class_e) cls[i] : ND_AUTH_UNSET;
}


nd_auth_class_e
nd_auth_grpc_class(const char *type)
{
    const nd_auth_grpc_type_t  *t;

    for (t = nd_auth_grpc_types; t->type; t++) {
        if (strcmp(t->type, type) == 0) {
            return t->cls;
        }
    }

    return ND_AUTH_UNSET;
}


/*
 * Nacos's joined resource: "<namespace>:<group>:<type>/<name>", the
 * namespace left out when it is the public one, '*' for a missing group,
 * "<type>/" and '*' for a missing name.
 */
static char *
nd_auth_join(nd_pool_t *pool, nd_str_t *ns, nd_str_t *group, nd_str_t *name,
    const char *type)
{
    char    *p;
    size_t   n;

    if (ns->len == 6 && memcmp(ns->data, "public", 6) == 0) {
        ns->len = 0;
    }

    n = ns->len + group->len + name->len + strlen(type) + 8;
    p = nd_pnalloc(pool, n);
    if (p == NULL) {
        return NULL;
    }

    snprintf(p, n, "%.*s:%.*s:%s/%.*s", ND_STR_ARG(*ns),
             group->len ? (int) group->len : 1,
             group->len ? (char *) group->data : "*", type,
             name->len ? (int) name->len : 1,
             name->len ? (char *) name->data : "*");

    return p;
}


/* a naming service name "group@@name" splits as Nacos's NamingUtils */
static void
nd_auth_naming_split(nd_str_t *group, nd_str_t *name)
{
    u_char  *at;

    at = name->len > 2 ? memmem(name->data, name->len, "@@", 2) : NULL;

    if (at) {
        if (group->len == 0) {
            group->data = name->data;
            group->len = at - name->data;
        }
        name->len -= at + 2 - name->data;
        name->data = at + 2;

    } else if (group->len == 0 && name->len) {
        nd_str_set(group, "DEFAULT_GROUP");
    }
}


char *
nd_auth_http_resource(nd_http_request_t *r, nd_auth_class_e cls)
{
    nd_str_t  ns, group, name;

    ns.len = group.len = name.len = 0;
    ns.data = group.data = name.data = NULL;

    if (cls == ND_AUTH_CONFIG_R || cls == ND_AUTH_CONFIG_W) {
        if (nd_http_arg(r, "tenant", &ns) != ND_OK) {
            (void) nd_http_arg(r, "namespaceId", &ns);
        }
        (void) nd_http_arg(r, "group", &group);
        (void) nd_http_arg(r, "dataId", &name);
        return nd_auth_join(r->pool, &ns, &group, &name, "config");
    }

    (void) nd_http_arg(r, "namespaceId", &ns);
    (void) nd_http_arg(r, "groupName", &group);
    (void) nd_http_arg(r, "serviceName", &name);
    nd_auth_naming_split(&group, &name);

    return nd_auth_join(r->pool, &ns, &group, &name, "naming");
}


static void
nd_auth_json_str(json_t *o, const char *key, nd_str_t *out)
{
    json_t  *v;

    v = json_object_get(o, key);
    if (json_is_string(v)) {
        out->data = (u_char *) json_string_value(v);
        out->len = json_string_length(v);
    }
}


char *
nd_auth_grpc_resource(nd_pool_t *pool, const char *type, json_t *body,
    nd_auth_class_e cls)
{
    json_t    *ctx;
    nd_str_t   ns, group, name;

    ns.len = group.len = name.len = 0;
    ns.data = group.data = name.data = NULL;

    if (cls == ND_AUTH_CONFIG_R || cls == ND_AUTH_CONFIG_W) {
        if (strcmp(type, "ConfigBatchListenRequest") == 0) {
            /* Nacos: the first listen context's namespace only */
            ctx = json_array_get(json_object_get(body,
                                                 "configListenContexts"), 0);
            nd_auth_json_str(ctx, "tenant", &ns);

        } else {
            nd_auth_json_str(body, "tenant", &ns);
            nd_auth_json_str(body, "group", &group);
            nd_auth_json_str(body, "dataId", &name);
        }
        return nd_auth_join(pool, &ns, &group, &name, "config");
    }

    nd_auth_json_str(body, "namespace", &ns);
    nd_auth_json_str(body, "groupName", &group);
    nd_auth_json_str(body, "serviceName", &name);
    nd_auth_naming_split(&group, &name);

    return nd_auth_join(pool, &ns, &group, &name, "naming");
}

/*
 * Naming HTTP API internals: what the handlers of the v1/v2 Open API
 * share (nd_naming_http.c), and the handlers by resource: instances
 * (nd_naming_http_instance.c), services (nd_naming_http_service.c),
 * health, clusters, operator switches and the catalog
 * (nd_naming_http_operator.c).
 */
#ifndef ND_NAMING_HTTP_H
#define ND_NAMING_HTTP_H

#include <nd_naming.h>
#include <nd_http.h>
#include <regex.h>

/* v1: text body; v2: {code, message, data} with the Nacos ErrorCode */
nd_int_t nd_naming_fail(nd_http_request_t *r, nd_uint_t status,
    nd_int_t code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
nd_int_t nd_naming_ok(nd_http_request_t *r);
/* v1: the JSON as is; v2: wrapped in the envelope (takes the ref) */
nd_int_t nd_naming_send_json(nd_http_request_t *r, json_t *data);
int nd_naming_is_v2(nd_http_request_t *r);
/* trimmed parameter; ND_DECLINED when absent or empty */
nd_int_t nd_naming_arg(nd_http_request_t *r, const char *name, nd_str_t *v);
/* ND_OK or an answered error (the handler's return code in *rc) */
nd_int_t nd_naming_http_ref(nd_http_request_t *r, nd_naming_ref_t *ref,
    nd_int_t *rc);
int nd_naming_bool(const nd_str_t *v);
int nd_naming_int_arg(nd_http_request_t *r, const char *name, nd_int_t dflt);
json_t *nd_naming_client_json(nd_naming_client_t *c);
json_t *nd_naming_sub_json(nd_naming_sub_t *sub);

/* helpers (nd_naming_http.c) */
nd_int_t nd_naming_send_info(nd_http_request_t *r, nd_shared_t *body,
    size_t pos);
nd_int_t nd_naming_required(nd_http_request_t *r, const char *name);
int nd_naming_bool_arg(nd_http_request_t *r, const char *name, int dflt);
nd_int_t nd_naming_http_addr(nd_http_request_t *r, int required, nd_str_t *ip,
    nd_uint_t *port, nd_str_t *cluster, nd_int_t *rc);
nd_int_t nd_naming_http_metadata(nd_http_request_t *r, const char *name,
    json_t **out, nd_int_t *rc);
nd_int_t nd_naming_check_beats(nd_http_request_t *r, json_t *meta,
    nd_int_t *rc);
nd_int_t nd_naming_http_spec(nd_http_request_t *r, nd_naming_spec_t *spec,
    nd_int_t *rc);
nd_str_t nd_naming_client_id(nd_http_request_t *r, const nd_str_t *ip,
    nd_uint_t port, int ephemeral);
nd_int_t nd_naming_do_register(nd_http_request_t *r, nd_naming_ref_t *ref,
    nd_naming_spec_t *spec, nd_naming_instance_t **out);
const nd_naming_waiter_t *nd_naming_http_waiter(nd_http_request_t *r,
    nd_naming_waiter_t *w);

/* instances (nd_naming_http_instance.c) */
nd_int_t nd_naming_instance_register(nd_http_request_t *r);
nd_int_t nd_naming_instance_deregister(nd_http_request_t *r);
nd_int_t nd_naming_instance_update(nd_http_request_t *r);
nd_int_t nd_naming_instance_detail(nd_http_request_t *r);
nd_int_t nd_naming_instance_list(nd_http_request_t *r);
nd_int_t nd_naming_instance_beat_h(nd_http_request_t *r);
nd_int_t nd_naming_instance_metadata_batch(nd_http_request_t *r);
nd_int_t nd_naming_instance_statuses(nd_http_request_t *r);

/* services (nd_naming_http_service.c) */
nd_int_t nd_naming_service_create(nd_http_request_t *r);
nd_int_t nd_naming_service_delete(nd_http_request_t *r);
nd_int_t nd_naming_service_update(nd_http_request_t *r);
nd_int_t nd_naming_service_detail(nd_http_request_t *r);
nd_naming_service_t **nd_naming_sorted_services(nd_http_request_t *r,
    nd_naming_ns_t *ns, nd_uint_t *n);
nd_int_t nd_naming_service_list(nd_http_request_t *r);
nd_int_t nd_naming_service_names(nd_http_request_t *r);
nd_int_t nd_naming_service_subscribers(nd_http_request_t *r);

/* health, clusters, operator, catalog (nd_naming_http_operator.c) */
nd_int_t nd_naming_health_instance(nd_http_request_t *r);
nd_int_t nd_naming_health_server(nd_http_request_t *r);
nd_int_t nd_naming_cluster_update(nd_http_request_t *r);
nd_int_t nd_naming_operator_metrics(nd_http_request_t *r);
nd_int_t nd_naming_operator_switches(nd_http_request_t *r);
nd_int_t nd_naming_operator_switch_update(nd_http_request_t *r);
nd_int_t nd_naming_push_state(nd_http_request_t *r);
nd_int_t nd_naming_catalog_services(nd_http_request_t *r);
nd_int_t nd_naming_catalog_instances(nd_http_request_t *r);

#endif /* ND_NAMING_HTTP_H */

/*
 * gRPC API for modules: request handlers keyed by the Nacos type name,
 * replies, and server pushes over a connection's bi-stream.
 */
#ifndef ND_GRPC_H
#define ND_GRPC_H

#include <nd_core.h>

typedef struct nd_grpc_conn_s  nd_grpc_conn_t;
typedef struct nd_grpc_call_s  nd_grpc_call_t;

/*
 * A handler returns ND_OK (replied), ND_DONE (replies later with
 * nd_grpc_reply), ND_ERROR (ErrorResponse 500) or a Nacos error code
 * >= 300 (ErrorResponse with that code).  body is borrowed.
 */
typedef nd_int_t (*nd_grpc_handler_pt)(nd_grpc_call_t *call, json_t *body);
/* the connection went away while the call was pending */
typedef void (*nd_grpc_abort_pt)(nd_grpc_call_t *call);
/* a push's answer: code is its resultCode, 0 when none came (timeout,
 * error, disconnect); response is its JSON only for pushes made with
 * nd_grpc_push (else NULL: those answers are matched from their bytes,
 * never parsed) */
typedef void (*nd_grpc_push_pt)(nd_grpc_conn_t *conn, nd_int_t code,
    json_t *response, void *data);

typedef struct {
    nd_str_t             type;        /* "InstanceRequest" */
    nd_grpc_handler_pt   handler;
} nd_grpc_handler_t;

#define nd_grpc_null_handler  { nd_null_string, NULL }

/*
 * An optional fast path of an SDK port handler: the request's JSON text,
 * not yet decoded (json may be anything, even invalid).  ND_DECLINED
 * hands the request to the handler, decoded, having answered nothing;
 * anything else is what the handler would return.  Used while no gate
 * reads bodies (nd_grpc_add_body_gate).
 */
typedef nd_int_t (*nd_grpc_raw_handler_pt)(nd_grpc_call_t *call,
    const u_char *json, size_t len);

struct nd_grpc_call_s {
    nd_grpc_conn_t      *conn;        /* NULL once the connection closed */
    void                *stream;
    nd_pool_t           *pool;
    char                *type;        /* request type */
    json_t              *headers;     /* metadata.headers (object) */
    char                *client_ip;   /* metadata.clientIp */
    void                *ctx;
    nd_grpc_abort_pt     abort_handler;
    nd_metrics_hist_t   *hist;        /* the type's latency, or NULL */
    nd_msec_t            start_msec;
    unsigned             done:1;
    unsigned             async:1;
    unsigned             in_handler:1;
};

int nd_grpc_add_handlers(nd_cycle_t *cycle, const nd_grpc_handler_t *h);
/* the fast path of the handler of type, added before */
nd_int_t nd_grpc_set_raw_handler(nd_cycle_t *cycle, const nd_str_t *type,
    nd_grpc_raw_handler_pt raw);
/* handlers of the cluster port (cluster RPC between nodes); its
 * connections need no ConnectionSetup and have no bi-stream, and a type
 * served on one port only is refused on the other */
int nd_grpc_add_cluster_handlers(nd_cycle_t *cycle,
    const nd_grpc_handler_t *h);
/*
 * Server identity: the secret the members share (cluster
 * server_identity_file).  Every request on the cluster port must carry it
 * in the ND_SERVER_IDENTITY header (compared in constant time) once one
 * is set, or always when required (auth on): with none set, the cluster
 * port then refuses everything.  Peers send it with every call, and
 * forwarded HTTP requests carry it as a header of that name.
 */
#define ND_SERVER_IDENTITY  "Nacos-Server-Identity"
void nd_grpc_set_identity(nd_cycle_t *cycle, const nd_str_t *secret);
void nd_grpc_require_identity(nd_cycle_t *cycle);
/* the shared secret or NULL */
const nd_str_t *nd_grpc_identity(nd_cycle_t *cycle);
/* value is the shared secret (constant time) */
int nd_grpc_identity_ok(nd_cycle_t *cycle, const u_char *value, size_t len);
/* open the cluster port (from init_conf, not when reloading) */
/* ssl: TLS on the port, or NULL */
nd_int_t nd_grpc_add_cluster_listener(nd_cycle_t *cycle, nd_addr_t *addr,
    nd_ssl_ctx_t *ssl);
/* the connection is on the cluster port */
int nd_grpc_conn_is_cluster(nd_grpc_conn_t *conn);
/* a server ability announced to 2.3+ clients in SetupAckRequest, e.g.
 * "supportPersistentInstanceByGrpc" (Java AbilityKey names) */
int nd_grpc_add_ability(nd_cycle_t *cycle, const char *name);

/*
 * A gate decides, before any handler, whether this node takes a request
 * of an SDK connection now: ND_OK lets it through, a Nacos error code
 * refuses it with *msg (a ConnectionSetupRequest refused gets
 * ConnectResetRequest and the connection is closed, so the client goes to
 * another server).  Gates run in the order added; the cluster port has
 * none.  Distro refuses while its snapshot loads, conn_limit over limits,
 * auth without a token that grants the request.  headers: the request's
 * metadata.headers, body its JSON (both borrowed, maybe NULL).
 */
typedef nd_int_t (*nd_grpc_gate_pt)(nd_grpc_conn_t *conn, const char *type,
    json_t *headers, json_t *body, const char **msg);
nd_int_t nd_grpc_add_gate(nd_cycle_t *cycle, nd_grpc_gate_pt gate);
/* a gate that reads body: while one is added, every request is decoded
 * before the gates (no raw handler runs); others get body NULL when the
 * request has a raw handler */
nd_int_t nd_grpc_add_body_gate(nd_cycle_t *cycle, nd_grpc_gate_pt gate);

/*
 * A connection hook is called at once (not through the event bus) when an
 * SDK connection is registered (up = 1) and when a registered one goes
 * (up = 0), so a module can keep counts that a gate reads.
 */
typedef void (*nd_grpc_conn_hook_pt)(nd_grpc_conn_t *conn, int up);
nd_int_t nd_grpc_add_conn_hook(nd_cycle_t *cycle, nd_grpc_conn_hook_pt hook);

/* answer with a response type; fills resultCode 200, errorCode 0 and
 * success true where body lacks them; takes the body reference */
nd_int_t nd_grpc_reply(nd_grpc_call_t *call, const char *type, json_t *body);
/* answer with a body serialized by the caller (a whole JSON object with
 * resultCode, errorCode and success); borrowed */
nd_int_t nd_grpc_reply_raw(nd_grpc_call_t *call, const char *type,
    const u_char *json, size_t len);
/* answer with ErrorResponse {resultCode 500, errorCode, message} */
nd_int_t nd_grpc_reply_error(nd_grpc_call_t *call, nd_int_t code,
    const char *msg);

/* connections */
const char *nd_grpc_conn_id(nd_grpc_conn_t *conn);
const char *nd_grpc_conn_client_ip(nd_grpc_conn_t *conn);
/* clientVersion from ConnectionSetupRequest ("" before it) */
const char *nd_grpc_conn_client_version(nd_grpc_conn_t *conn);
/* labels from ConnectionSetupRequest (borrowed, may be NULL) */
json_t *nd_grpc_conn_labels(nd_grpc_conn_t *conn);
/* when the connection was registered (monotonic msec) */
nd_msec_t nd_grpc_conn_registered_at(nd_grpc_conn_t *conn);
/* registered SDK connections on this node */
nd_uint_t nd_grpc_conn_count(nd_cycle_t *cycle);
/* when this node last told a connection to go to another server (wall
 * msec, 0 never) */
uint64_t nd_grpc_last_moved(nd_cycle_t *cycle);
nd_grpc_conn_t *nd_grpc_conn_find(nd_cycle_t *cycle, const char *id);
/* call fn for every registered connection; returns how many */
nd_uint_t nd_grpc_conn_each(nd_cycle_t *cycle,
    void (*fn)(nd_grpc_conn_t *conn, void *data), void *data);
/* server request on the bi-stream; requestId is assigned here; takes the
 * body reference; cb may be NULL */
nd_int_t nd_grpc_push(nd_grpc_conn_t *conn, const char *type, json_t *body,
    nd_msec_t timeout, nd_grpc_push_pt cb, void *data);
/* the same with a body serialized once for many connections: json is a
 * JSON object's text without requestId and headers (they are spliced in
 * per push); borrowed */
nd_int_t nd_grpc_push_raw(nd_grpc_conn_t *conn, const char *type,
    const u_char *json, size_t len, nd_msec_t timeout, nd_grpc_push_pt cb,
    void *data);
/* the same with the body in a refcounted block (json->data, json->len),
 * built once and referenced, never copied, by every connection's queue
 * until written */
nd_int_t nd_grpc_push_shared(nd_grpc_conn_t *conn, const char *type,
    nd_shared_t *json, nd_msec_t timeout, nd_grpc_push_pt cb, void *data);
/* CONNECTION_CLOSED's payload (its key is the connection id) */
typedef struct {
    unsigned             moved:1;     /* told to go to another server: its
                                         client reconnects there */
} nd_grpc_closed_t;

/* ask the client to reconnect (to ip:port when given: the connection is
 * then "moved") */
int nd_grpc_reset(nd_grpc_conn_t *conn, const char *server_ip,
    nd_uint_t server_port);
void nd_grpc_conn_close(nd_grpc_conn_t *conn, const char *reason);

#endif /* ND_GRPC_H */

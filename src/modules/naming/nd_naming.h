/*
 * Naming: namespace -> group@@service -> cluster -> instance, owned by
 * clients (1.x ip:port clients, gRPC connection clients).
 *
 * Ownership: every object below is heap memory owned by the naming module
 * (nd_naming_conf_t).  Other modules borrow pointers only inside one
 * callback; across callbacks they keep a service key or a client id and
 * look it up again (nd_naming_service_find, nd_naming_client_find).
 *
 * Events published on the bus (payload nd_naming_event_t, borrowed):
 *   ND_EV_SERVICE_CHANGED      key "namespace##group@@service"
 *   ND_EV_CLIENT_CHANGED       key client id (native clients only: a
 *                              synced copy is its owner's to announce)
 *   ND_EV_CLIENT_DISCONNECTED  key client id (the client is gone; native
 *                              clients only)
 *   ND_EV_SUBSCRIBER_ADDED     key "namespace##group@@service"
 */
#ifndef ND_NAMING_H
#define ND_NAMING_H

#include <nd_core.h>
#include <inttypes.h>

#define ND_NAMING_DEFAULT_NS        "public"
#define ND_NAMING_DEFAULT_GROUP     "DEFAULT_GROUP"
#define ND_NAMING_DEFAULT_CLUSTER   "DEFAULT"
#define ND_NAMING_SPLITTER          "@@"
/* "ip:port#false" for an ip of up to 128 bytes, with its NUL */
#define ND_NAMING_IPPORT_ID_LEN     (128 + sizeof(":65535#false"))

/* Instance defaults from the Java Instance getters (not server switches) */
#define ND_NAMING_BEAT_INTERVAL     5000
#define ND_NAMING_BEAT_TIMEOUT      15000
#define ND_NAMING_DELETE_TIMEOUT    30000
#define ND_NAMING_MAX_WEIGHT        10000.0

/* push_min_interval's default, ms (docs/naming.md, "Push scheduling") */
#define ND_NAMING_PUSH_MIN_INTERVAL 100

typedef struct nd_naming_ns_s        nd_naming_ns_t;
typedef struct nd_naming_service_s   nd_naming_service_t;
typedef struct nd_naming_cluster_s   nd_naming_cluster_t;
typedef struct nd_naming_instance_s  nd_naming_instance_t;
typedef struct nd_naming_client_s    nd_naming_client_t;
typedef struct nd_naming_sub_s       nd_naming_sub_t;
typedef struct nd_naming_cache_s     nd_naming_cache_t;
typedef struct nd_naming_conf_s      nd_naming_conf_t;
typedef struct nd_naming_push_s      nd_naming_push_t;
typedef struct nd_naming_pubs_s      nd_naming_pubs_t;

typedef enum {
    ND_NAMING_CLIENT_IPPORT = 0,    /* 1.x HTTP: "ip:port#true|false" */
    ND_NAMING_CLIENT_CONNECTION     /* gRPC: the connection id */
} nd_naming_client_type_e;

/* a client: the unit that owns instances (one per service) and
 * subscriptions; the unit Distro replicates.  Its instances of one
 * service are adjacent in `instances` (a register replaces them all and
 * appends the new ones together). */
struct nd_naming_client_s {
    nd_queue_t              instances;      /* nd_naming_instance_t */
    nd_queue_t              subs;           /* nd_naming_sub_t.client_link */
    nd_naming_pubs_t       *pubs;           /* instances by service, or
                                               NULL: walk `instances` */
    uint64_t                revision;
    nd_msec_t               last_updated;
    void                   *data;           /* gRPC: its connection once
                                               pushed to (grpc_push.c) */
    uint32_t                ninstances;
    uint32_t                nsubs;
    uint8_t                 type;           /* nd_naming_client_type_e */
    unsigned                ephemeral:1;
    unsigned                native:1;       /* ours, not synced by Distro */
    /* in nf->clients, linked (one allocation a client): its key[] is the
     * client id, NUL-terminated; nd_naming_cid() */
    nd_hash_elt_t           elt;
};

#define nd_naming_cid(c)      ((char *) (c)->elt.key)
#define nd_naming_cid_len(c)  ((size_t) (c)->elt.len)

/* one published instance; compact: see docs/naming.md for the budget */
struct nd_naming_instance_s {
    nd_queue_t              cluster_link;
    nd_queue_t              client_link;
    nd_rbtree_node_t        expire;         /* beat expiry, ephemeral 1.x */
    nd_naming_client_t     *client;
    nd_msec_t               last_beat;
    uint32_t                beat_interval;  /* preserved.* or defaults */
    uint32_t                beat_timeout;
    /* what a re-register compares (nd_naming_instance_same), last and
     * next to the ip: one or two cache lines */
    nd_naming_cluster_t    *cluster;
    char                   *metadata;       /* compact JSON object or NULL */
    char                   *instance_id;    /* client-supplied or NULL */
    double                  weight;
    /* here, not beside beat_timeout: no hole before cluster, and the
     * struct 136 bytes, whose malloc chunk with a short ip is 160 */
    uint32_t                delete_timeout;
    uint16_t                port;
    uint8_t                 ip_len;
    unsigned                healthy:1;
    unsigned                enabled:1;
    unsigned                ephemeral:1;
    unsigned                in_expire:1;    /* linked in the expiry tree */
    unsigned                beat_timeout_set:1;
    unsigned                delete_timeout_set:1;
    unsigned                interval_set:1;
    unsigned                run_multi:1;    /* the first of its client's
                                               instances of its service in
                                               c->pubs, and not the only
                                               one (or it was not) */
    char                    ip[];
};

struct nd_naming_cluster_s {
    nd_queue_t              link;           /* service->clusters */
    nd_queue_t              instances;
    nd_naming_service_t    *service;
    char                   *metadata;       /* JSON object or NULL */
    char                   *health_checker; /* JSON object or NULL (TCP) */
    uint32_t                ninstances;
    uint16_t                name_len;
    char                    name[];
};

/* a cached serialized ServiceInfo for one (clusters, healthyOnly) */
struct nd_naming_cache_s {
    nd_naming_cache_t      *next;
    nd_shared_t            *body;           /* JSON text */
    size_t                  ref_time_pos;   /* 13 digits of lastRefTime */
    uint64_t                revision;
    unsigned                healthy_only:1;
    unsigned                grouped_name:1; /* name is group@@name */
    uint16_t                clusters_len;
    char                    clusters[];
};

struct nd_naming_service_s {
    /* what every register reads and writes, together (one cache line
     * where malloc's alignment allows; a register of a random service
     * out of thousands misses the cache for each line it touches) */
    nd_naming_cache_t      *caches;
    uint64_t                revision;
    nd_msec_t               last_updated;
    uint32_t                ninstances;
    uint32_t                nsubs;
    unsigned                ephemeral:1;
    unsigned                has_metadata:1; /* ServiceMetadata exists */
    unsigned                push_all:1;
    float                   protect_threshold;
    nd_queue_t              clusters;       /* nd_naming_cluster_t */

    nd_queue_t              subs;           /* nd_naming_sub_t.service_link */
    nd_queue_t              clean_link;     /* conf->empty (no instance) */
    nd_queue_t              push_link;      /* conf->push_pending or
                                               conf->push_ready */
    nd_naming_ns_t         *ns;
    nd_msec_t               push_due;
    nd_msec_t               push_last;      /* its last push round */
    char                   *metadata;       /* JSON object or NULL */
    char                   *selector;       /* JSON object or NULL (none) */
    uint16_t                group_len;      /* grouped = group@@name */
    uint16_t                grouped_len;
    char                    grouped[];
};

#define nd_naming_service_name(s)                                           \
    ((s)->grouped + (s)->group_len + 2)
#define nd_naming_service_name_len(s)                                       \
    ((s)->grouped_len - (s)->group_len - 2)

struct nd_naming_ns_s {
    nd_hash_t               services;       /* grouped name -> service */
    nd_uint_t               nservices;
    uint16_t                id_len;
    char                    id[];
};

/* a subscription of a client to a service */
struct nd_naming_sub_s {
    nd_queue_t              service_link;
    nd_queue_t              client_link;
    nd_queue_t              expire_link;    /* 1.x subs: conf->sub_expire */
    nd_naming_service_t    *service;
    nd_naming_client_t     *client;
    nd_msec_t               last_seen;
    char                   *clusters;       /* "" = all */
    char                   *agent;
    char                   *app;
    struct sockaddr_in      addr;           /* 1.x UDP target */
    void                   *udp_ack;        /* push waiting for its ack */
    void                   *push_data;      /* gRPC: nd_naming_grpc.c's */
};

/* payload of the naming events (one allocation; strings inline) */
typedef struct {
    nd_str_t                ns;             /* service events */
    nd_str_t                group;
    nd_str_t                name;
    nd_str_t                client_id;      /* client events, subscriber */
    uint64_t                revision;
    unsigned                ephemeral:1;
    unsigned                native:1;       /* client events: ours */
} nd_naming_event_t;

/* what a register call carries; views, copied by the model */
typedef struct {
    nd_str_t                ip;
    nd_uint_t               port;
    nd_str_t                cluster;
    nd_str_t                instance_id;    /* empty: generated */
    double                  weight;
    json_t                 *metadata;       /* object of strings or NULL */
    nd_str_t                metadata_text;  /* or already as compact text
                                               (metadata then only when it
                                               has preserved.* keys) */
    unsigned                healthy:1;
    unsigned                enabled:1;
    unsigned                ephemeral:1;
} nd_naming_spec_t;

/* a service named by a request: views into the request pool */
typedef struct {
    nd_str_t                ns;
    nd_str_t                group;
    nd_str_t                name;
    nd_str_t                grouped;
} nd_naming_ref_t;

/* a change to an instance (PUT/PATCH, manual health, metadata batch):
 * only what is set changes */
typedef struct {
    json_t                 *meta;           /* merged in, or keys deleted */
    double                  weight;
    unsigned                weight_set:1;
    unsigned                enabled:1;
    unsigned                enabled_set:1;
    unsigned                healthy:1;
    unsigned                healthy_set:1;
    unsigned                meta_del:1;     /* meta: keys to delete */
} nd_naming_change_t;

/* persistent instances through the store: nd_naming_persist.c's state */
typedef struct nd_naming_persist_s   nd_naming_persist_t;

/* push to a subscriber of a client type (UDP for ip:port, gRPC for
 * connections) */
typedef void (*nd_naming_push_pt)(nd_naming_conf_t *nf, nd_naming_sub_t *sub,
    nd_shared_t *body, size_t ref_time_pos);
/* a subscriber goes away: drop the pusher's state for it */
typedef void (*nd_naming_forget_pt)(nd_naming_conf_t *nf,
    nd_naming_sub_t *sub);

struct nd_naming_conf_s {
    /* directives */
    nd_msec_t               heartbeat_timeout;
    nd_msec_t               ip_delete_timeout;
    nd_msec_t               client_beat_interval;
    nd_msec_t               cache_millis;
    nd_msec_t               push_delay;
    nd_msec_t               push_min_interval;
    nd_msec_t               push_ack_timeout;
    nd_msec_t               moved_grace;    /* a moved connection's client
                                               is released this late */
    nd_flag_t               push_udp;
    nd_msec_t               empty_service_clean_interval;
    nd_msec_t               empty_service_expire;
    nd_msec_t               persistent_sync;   /* cluster: 0 off */
    nd_uint_t               max_caches;
    nd_uint_t               max_services;          /* per namespace */
    nd_uint_t               max_service_instances;
    size_t                  max_metadata_size;     /* keys + values */

    /* runtime */
    unsigned                light_beat_off:1;   /* switch lightBeatEnabled */
    nd_cycle_t             *cycle;
    nd_hash_t               namespaces;     /* id -> nd_naming_ns_t */
    nd_hash_t               clients;        /* id -> nd_naming_client_t */
    nd_rbtree_t             expire;         /* beat deadlines */
    nd_rbtree_node_t        expire_sentinel;
    nd_timer_t              expire_timer;
    nd_msec_t               expire_at;      /* when expire_timer fires */
    nd_queue_t              empty;          /* services without instance */
    nd_timer_t              clean_timer;
    nd_queue_t              sub_expire;     /* 1.x subs by last_seen */
    nd_timer_t              sub_timer;
    nd_queue_t              push_pending;   /* services by push_due */
    nd_timer_t              push_timer;
    nd_queue_t              push_ready;     /* services to push this pass */
    nd_posted_t             push_post;      /* pushes push_ready */
    nd_naming_push_pt       push[2];        /* by client type */
    nd_naming_forget_pt     forget[2];      /* by client type, or NULL */
    nd_naming_persist_t    *persist;        /* NULL: memory only */
    nd_naming_push_t       *udp;
    void                   *grpc;           /* nd_naming_grpc.c's state */
    nd_uint_t               nservices;
    nd_uint_t               ninstances;
    nd_uint_t               nsubs;
    nd_uint_t               nclients_ipport[2];  /* persistent, ephemeral */
    nd_uint_t               nclients_conn;
    uint64_t                push_total;
    uint64_t                push_failed;
    unsigned                started:1;
    /* SERVICE_CHANGED has subscribers besides our push scheduler */
    unsigned                service_watched:1;
    /* nobody reads CLIENT_CHANGED now: Distro without peers */
    unsigned                client_changes_unread:1;
};

extern nd_module_t  nd_naming_module;

#define nd_naming_conf(cycle)                                               \
    ((nd_naming_conf_t *) nd_get_conf(cycle, nd_naming_module))

/* model (nd_naming_model.c) */
nd_int_t nd_naming_model_init(nd_naming_conf_t *nf);
void nd_naming_model_free(nd_naming_conf_t *nf);

nd_naming_ns_t *nd_naming_ns_find(nd_naming_conf_t *nf, const nd_str_t *id);
nd_naming_service_t *nd_naming_service_find(nd_naming_conf_t *nf,
    const nd_str_t *ns, const nd_str_t *grouped);
/* creates when absent; *created set when made now */
nd_naming_service_t *nd_naming_service_get(nd_naming_conf_t *nf,
    const nd_str_t *ns, const nd_str_t *grouped, int ephemeral,
    int *created);
/* removes a service that has no instance (subscribers are dropped) */
void nd_naming_service_remove(nd_naming_conf_t *nf, nd_naming_service_t *s);
nd_naming_cluster_t *nd_naming_cluster_find(nd_naming_service_t *s,
    const nd_str_t *name);
nd_naming_cluster_t *nd_naming_cluster_get(nd_naming_conf_t *nf,
    nd_naming_service_t *s, const nd_str_t *name);
/* the service changed: revision++, caches dropped, event, push */
void nd_naming_service_changed(nd_naming_conf_t *nf, nd_naming_service_t *s);

nd_naming_client_t *nd_naming_client_find(nd_naming_conf_t *nf,
    const nd_str_t *id);
nd_naming_client_t *nd_naming_client_get(nd_naming_conf_t *nf,
    nd_naming_client_type_e type, const nd_str_t *id, int ephemeral);
/* removes everything the client owns, publishes CLIENT_DISCONNECTED */
void nd_naming_client_release(nd_naming_conf_t *nf, nd_naming_client_t *c);
/* frees a 1.x client that owns nothing any more */
void nd_naming_client_gc(nd_naming_conf_t *nf, nd_naming_client_t *c);
void nd_naming_client_changed(nd_naming_conf_t *nf, nd_naming_client_t *c);
/* whether CLIENT_CHANGED has a reader (Distro: peers to tell); without
 * one it is not published (the revision still counts) */
void nd_naming_client_changes_read(nd_naming_conf_t *nf, int read);
/* a client becomes ours (native: its 1.x instances live by our beat
 * expiry, from now) or a copy synced from its owner (no expiry here) */
void nd_naming_client_set_native(nd_naming_conf_t *nf, nd_naming_client_t *c,
    int native);

/* nd_naming_pubs.c: c's first instance of s (the others follow it in
 * c->instances), or NULL; the index kept as instances are linked at the
 * tail of their client's list and unlinked */
nd_naming_instance_t *nd_naming_client_instance(nd_naming_client_t *c,
    nd_naming_service_t *s);
void nd_naming_pubs_link(nd_naming_client_t *c, nd_naming_instance_t *inst);
void nd_naming_pubs_unlink(nd_naming_client_t *c, nd_naming_instance_t *inst);
/* ND_OK, or ND_DECLINED with *err set to a static message (400) */
nd_int_t nd_naming_register(nd_naming_conf_t *nf, nd_naming_client_t *c,
    nd_naming_service_t *s, const nd_naming_spec_t *spec,
    nd_naming_instance_t **out);
/* replaces every instance c has in s with n new ones (n may be 0): the
 * gRPC publish unit; one SERVICE_CHANGED */
nd_int_t nd_naming_register_batch(nd_naming_conf_t *nf, nd_naming_client_t *c,
    nd_naming_service_t *s, const nd_naming_spec_t *specs, nd_uint_t n);

/*
 * Limits on what clients grow (max_services, max_service_instances).
 * Checked where a client's request would create a service or an
 * instance; never on synced copies (distro) or on what the store holds
 * (a restart must bring back what was accepted).  ND_OK, or ND_BUSY with
 * the reason in err: answered as 429 (HTTP; v2 code 5033, Nacos's
 * "capacity reach quota") or errorCode 429 (gRPC).
 */
/* may the namespace ns_id hold the service grouped (new or not)? */
nd_int_t nd_naming_service_admit(nd_naming_conf_t *nf,
    const nd_str_t *ns_id, const nd_str_t *grouped, char *err, size_t size);
/* may client c (NULL: a new one) have n instances in s (NULL: new),
 * replacing those it has there? */
nd_int_t nd_naming_instances_admit(nd_naming_conf_t *nf,
    nd_naming_service_t *s, nd_naming_client_t *c, nd_uint_t n, char *err,
    size_t size);
void nd_naming_deregister(nd_naming_conf_t *nf, nd_naming_instance_t *inst);
/* through the ip:port client of spec (HTTP v1, beats, gRPC persistent
 * instances): ND_OK, ND_ERROR, ND_DECLINED with the 400 message in err
 * (the service is of the other kind), or ND_BUSY with the 429 message
 * (a limit, see nd_naming_service_admit) */
nd_int_t nd_naming_register_ipport(nd_naming_conf_t *nf,
    const nd_naming_ref_t *ref, const nd_naming_spec_t *spec,
    nd_naming_instance_t **out, char *err, size_t size);
/* the instance of client ip:port#ephemeral in the service goes, if any */
void nd_naming_deregister_ipport(nd_naming_conf_t *nf,
    const nd_naming_ref_t *ref, const nd_str_t *ip, nd_uint_t port,
    int ephemeral);
/* find by ip, port and cluster name (NULL cluster: any) */
nd_naming_instance_t *nd_naming_instance_find(nd_naming_service_t *s,
    const nd_str_t *ip, nd_uint_t port, const nd_str_t *cluster);
/* replace metadata (takes ownership of text, may be NULL) and refresh
 * the preserved.* overrides */
void nd_naming_instance_set_metadata(nd_naming_conf_t *nf,
    nd_naming_instance_t *inst, char *text, json_t *meta);
void nd_naming_instance_beat(nd_naming_conf_t *nf,
    nd_naming_instance_t *inst);
void nd_naming_instance_set_healthy(nd_naming_conf_t *nf,
    nd_naming_instance_t *inst, int healthy);
/* re-arm the expiry of an ephemeral 1.x instance after its timeouts
 * changed */
void nd_naming_instance_rearm(nd_naming_conf_t *nf,
    nd_naming_instance_t *inst);
/* "ip#port#cluster#group@@svc" into a pool, or the stored id */
nd_str_t nd_naming_instance_id(nd_pool_t *pool, nd_naming_instance_t *inst);

void nd_naming_expire_handler(nd_timer_t *t);
void nd_naming_clean_handler(nd_timer_t *t);

/* subscribers */
nd_naming_sub_t *nd_naming_subscribe(nd_naming_conf_t *nf,
    nd_naming_client_t *c, nd_naming_service_t *s, const nd_str_t *clusters);
void nd_naming_unsubscribe(nd_naming_conf_t *nf, nd_naming_sub_t *sub);
/* frees a subscriber already out of its lists (nd_naming_sub.c) */
void nd_naming_sub_free(nd_naming_sub_t *sub);
void nd_naming_sub_expire_handler(nd_timer_t *t);
void nd_naming_push_timer_handler(nd_timer_t *t);

/* metadata: JSON object or k=v,k=v; NULL result on a bad format.
 * Empty input gives an empty object. */
json_t *nd_naming_parse_metadata(const nd_str_t *text);
/* Nacos's measure of metadata: the bytes of its keys and values */
size_t nd_naming_metadata_size(json_t *meta);
/* the message when meta is over max_metadata_size (Nacos's text), or
 * NULL; buf holds it */
const char *nd_naming_metadata_check(nd_naming_conf_t *nf, json_t *meta,
    char *buf, size_t size);
char *nd_naming_dump_metadata(json_t *meta);    /* NULL when empty */

void nd_naming_publish(nd_naming_conf_t *nf, nd_event_id_e id,
    nd_naming_service_t *s, nd_naming_client_t *c);

/* ServiceInfo (nd_naming_info.c) */
/* cached ServiceInfo; returns a new reference (release it) */
nd_naming_cache_t *nd_naming_info_get(nd_naming_conf_t *nf,
    nd_naming_service_t *s, const nd_str_t *clusters, int healthy_only,
    int grouped_name);
/* the empty ServiceInfo of a service that does not exist */
nd_shared_t *nd_naming_info_empty(const nd_str_t *grouped,
    const nd_str_t *clusters, nd_msec_t cache_millis, size_t *ref_time_pos);
void nd_naming_info_drop(nd_naming_service_t *s);
/* JSON of one instance as Java's Instance, appended to b */
nd_int_t nd_naming_instance_json(nd_buf_t *b, nd_naming_instance_t *inst,
    int force_healthy);
int nd_naming_json_double(nd_buf_t *b, double d);
/* copy of body with lastRefTime set to now, in pool */
u_char *nd_naming_info_stamp(nd_pool_t *pool, nd_shared_t *body,
    size_t ref_time_pos, nd_msec_t now);

/* the name rules with Nacos's messages (nd_naming_check.c): NULL when
 * fine, else the message and in *code its v2 / gRPC error code; buf
 * (size bytes) may hold the message */
const char *nd_naming_check_ref(const nd_naming_ref_t *ref, nd_int_t *code);
const char *nd_naming_check_ip(const nd_str_t *ip, nd_int_t *code);
const char *nd_naming_check_cluster(const nd_str_t *cluster, char *buf,
    size_t size, nd_int_t *code);
/* metadata text as a JSON object (an empty one for NULL or bad text) */
json_t *nd_naming_meta_json(const char *text);

/* the HTTP API (nd_naming_http*.c, see nd_naming_http.h) */
int nd_naming_http_init(nd_cycle_t *cycle);
int nd_naming_http_v2_init(nd_cycle_t *cycle);

/* who waits for a persistent write: the HTTP or gRPC request behind it */
typedef struct nd_naming_waiter_s  nd_naming_waiter_t;

struct nd_naming_waiter_s {
    /* the answer: status 0 for success, else an HTTP status with a v2
     * error code and a message; updated: the metadata batch's list or
     * NULL.  Returns what the handler returns. */
    nd_int_t              (*answer)(nd_naming_waiter_t *w, nd_uint_t status,
                                    nd_int_t code, const char *msg,
                                    json_t *updated);
    /* ctx != NULL: the answer comes later, and the request's abort must
     * call nd_naming_persist_abort(ctx); NULL: disarm that */
    void                  (*wait)(nd_naming_waiter_t *w, void *ctx);
    void                   *req;            /* nd_http_request_t, call */
    const void             *data;           /* the front end's own */
};

/* persistent instances (nd_naming_persist.c): with the store module,
 * every write of a persistent instance is answered once the store has
 * committed it, and memory follows the store; without it they live in
 * memory only.  The request functions answer through w (returning what
 * its answer returns), or answer later (ND_DONE), or return ND_DECLINED:
 * not for the store, do it in memory.  w is copied. */
nd_int_t nd_naming_persist_init(nd_cycle_t *cycle);
nd_int_t nd_naming_persist_start(nd_naming_conf_t *nf);
void nd_naming_persist_stop(nd_naming_conf_t *nf);
void nd_naming_persist_exit(nd_naming_conf_t *nf);
nd_int_t nd_naming_persist_register(const nd_naming_waiter_t *w,
    const nd_naming_ref_t *ref, const nd_naming_spec_t *spec);
nd_int_t nd_naming_persist_deregister(const nd_naming_waiter_t *w,
    const nd_naming_ref_t *ref, const nd_str_t *ip, nd_uint_t port);
/* cluster: the instance must be in it (NULL: any) */
nd_int_t nd_naming_persist_update(const nd_naming_waiter_t *w,
    const nd_naming_ref_t *ref, const nd_str_t *ip, nd_uint_t port,
    const nd_str_t *cluster, const nd_naming_change_t *ch);
/* metadata batch: the ephemeral instances are done; updated lists them */
nd_int_t nd_naming_persist_batch(const nd_naming_waiter_t *w,
    nd_naming_service_t *s, nd_naming_instance_t **insts, nd_uint_t n,
    const nd_naming_change_t *ch, json_t *updated);
/* the request went away before its answer */
void nd_naming_persist_abort(void *ctx);
/* the change applied in memory (ephemeral instances, no store) */
void nd_naming_instance_change(nd_naming_conf_t *nf,
    nd_naming_instance_t *inst, const nd_naming_change_t *ch);

/* UDP push (nd_naming_push.c) */
nd_int_t nd_naming_udp_init(nd_naming_conf_t *nf);
void nd_naming_udp_stop(nd_naming_conf_t *nf);
void nd_naming_udp_free(nd_naming_conf_t *nf);
void nd_naming_udp_forget(nd_naming_sub_t *sub);

/* gRPC (nd_naming_grpc.c): no-ops when built without the grpc module */
nd_int_t nd_naming_grpc_init(nd_cycle_t *cycle);
void nd_naming_grpc_stop(nd_naming_conf_t *nf);
void nd_naming_grpc_exit(nd_naming_conf_t *nf);

#endif /* ND_NAMING_H */

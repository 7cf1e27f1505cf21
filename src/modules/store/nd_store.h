/*
 * The store: one asynchronous interface to the durable data (configs,
 * their history, namespaces, persistent naming instances), two backends
 * (embedded SQLite on a writer thread, PostgreSQL driven by the loop).
 *
 * A caller creates an operation, fills its input, submits it, and gets
 * its handler called once, later, from the loop (never from inside
 * nd_store_submit).  The store frees the operation when the handler
 * returns; rows and strings in it live in op->pool, so copy what must
 * outlive the handler.
 *
 *     op = nd_store_op_create(cycle, ND_STORE_CONFIG_PUBLISH, done, ctx);
 *     op->config.data_id = ...;          (views; the store copies them)
 *     nd_store_submit(op);
 *     ...
 *     static void done(nd_store_op_t *op)
 *     {
 *         if (op->rc == ND_OK) { ... op->seq ... }
 *         else { answer op->status with op->error }
 *     }
 *
 * Every write that changes a config row also writes its history row in
 * the same transaction and takes the next value of one global change
 * sequence (stored on the row and on the history row; a delete leaves a
 * history row carrying the sequence).  Sequence order is commit order.
 */
#ifndef ND_STORE_H
#define ND_STORE_H

#include <nd_core.h>

typedef enum {
    ND_STORE_CONFIG_GET = 0,     /* key -> rows[0]; from the cache */
    ND_STORE_CONFIG_SEARCH,      /* tenant + filters, paged -> rows, total */
    ND_STORE_CONFIG_PUBLISH,     /* config (+ cas) -> seq, rows[0] */
    ND_STORE_CONFIG_DELETE,      /* key -> seq (0: there was nothing) */
    ND_STORE_HISTORY_LIST,       /* key, paged, newest first -> rows, total */
    ND_STORE_HISTORY_GET,        /* nid -> rows[0] */
    ND_STORE_HISTORY_PREVIOUS,   /* nid -> the entry of that key before it */
    ND_STORE_CHANGES,            /* seq, limit -> rows with seq > N, ordered */
    ND_STORE_NS_LIST,            /* -> rows (nd_store_ns_t) */
    ND_STORE_NS_GET,             /* ns.id -> rows[0] */
    ND_STORE_NS_CREATE,          /* ns */
    ND_STORE_NS_UPDATE,          /* ns.id, name, desc */
    ND_STORE_NS_DELETE,          /* ns.id */
    ND_STORE_INSTANCE_UPSERT,    /* instance */
    ND_STORE_INSTANCE_DELETE,    /* instance key */
    ND_STORE_INSTANCE_LIST,      /* namespace [, group [, service]] -> rows */
    ND_STORE_CONFIG_LOAD,        /* internal: fill the cache */
    ND_STORE_GRAY_PUBLISH,       /* config + beta_ips or tag (+ cas) -> seq */
    ND_STORE_GRAY_DELETE,        /* key + tag (else the beta) -> seq (0:
                                    there was nothing) */
    ND_STORE_INSTANCE_NAMESPACES,/* -> rows (nd_store_ns_t, id only): the
                                    namespaces persistent instances are in,
                                    created or not (naming's are implicit) */
    ND_STORE_AUTH_LOAD,          /* -> rows (nd_store_auth_t): every user,
                                    role, permission and stored secret */
    ND_STORE_AUTH_WRITE,         /* auth.kind + a, b, c -> affected */
    ND_STORE_INSTANCE_SYNC,      /* since = a version of naming_instance ->
                                    total = its version now; rows (every
                                    namespace's) when it is not since */
    ND_STORE_OP_N
} nd_store_op_e;

/* a config row, a history row (nid, op_type) or a change (deleted) */
typedef struct {
    int64_t             id;             /* config_info.id */
    int64_t             nid;            /* history: his_config_info.nid */
    int64_t             seq;            /* change_seq */
    int64_t             gmt_create;     /* epoch ms (server clock) */
    int64_t             gmt_modified;
    nd_str_t            data_id;
    nd_str_t            group;
    nd_str_t            tenant;         /* '' = public */
    nd_str_t            content;
    nd_str_t            md5;
    nd_str_t            app_name;
    nd_str_t            type;
    nd_str_t            src_user;
    nd_str_t            src_ip;
    nd_str_t            desc;
    nd_str_t            use;
    nd_str_t            effect;
    nd_str_t            schema;
    nd_str_t            tags;           /* "a,b": config_tags_relation */
    nd_str_t            encrypted_data_key;
    nd_str_t            op_type;        /* history: I U D */
    /* gray versions (config_info_gray; history: publish_type gray) */
    nd_str_t            gray_name;      /* "beta", "tag_<tag>"; '' formal */
    nd_str_t            gray_rule;      /* JSON {type,version,expr,priority} */
    nd_str_t            gray_expr;      /* cached rows: beta ips / the tag */
    nd_str_t            ext_info;       /* history: JSON (gray rule) */
    unsigned            deleted:1;      /* changes: a delete */
} nd_store_config_t;

typedef struct {
    nd_str_t            id;             /* tenant_id */
    nd_str_t            name;
    nd_str_t            desc;
    nd_str_t            source;         /* create_source */
    int64_t             gmt_create;
    int64_t             gmt_modified;
} nd_store_ns_t;

typedef struct {
    nd_str_t            ns;             /* namespace id, '' = public */
    nd_str_t            group;
    nd_str_t            service;
    nd_str_t            cluster;
    nd_str_t            ip;
    int64_t             port;
    double              weight;
    nd_str_t            metadata;       /* JSON text */
    int64_t             gmt_modified;
    unsigned            healthy:1;
    unsigned            enabled:1;
} nd_store_instance_t;

/* the gray_name of gray rows (config_info_gray): the beta version, and
 * the prefix of a tag version's ("tag_<tag>") */
#define ND_STORE_BETA       "beta"
#define ND_STORE_TAG_PREFIX "tag_"

/* the one config key type (config's and the store's): normalised, tenant
 * "public" and blank are "" */
typedef struct {
    nd_str_t            data_id;
    nd_str_t            group;
    nd_str_t            tenant;
} nd_config_key_t;

/*
 * ND_EV_CONFIG_CHANGED is published by the store whenever its cache of a
 * config changes: after a commit of this node, or when it learns of
 * another node's commit (pg: cache_refresh).  Key: dataId \x02 group
 * \x02 tenant ('' = public), which only makes changes of one config
 * coalesce; subscribers read the key from the payload, nd_store_change_t,
 * whose views point into the payload's own bytes.  The cache already
 * holds the new row (or no row) when subscribers run.
 */
typedef struct {
    nd_config_key_t     key;
    int64_t             seq;
    unsigned            deleted:1;
    unsigned            gray:1;         /* a gray version changed: the
                                           formal one did not */
    unsigned            local:1;        /* this node's own commit (the
                                           cluster is told); else learnt
                                           from the store */
} nd_store_change_t;

/*
 * Auth rows (users, roles, permissions, the token secret) and writes.
 * Loaded rows: kind 'u' (a username, b password hash), 'r' (a username,
 * b role), 'p' (a role, b resource, c action), 's' (a name, b value).
 */
typedef enum {
    ND_STORE_AUTH_USER_ADD = 0,  /* a username, b hash; 0: exists */
    ND_STORE_AUTH_USER_PASSWORD, /* a username, b hash; 0: no user */
    ND_STORE_AUTH_USER_DELETE,   /* a username (and its roles) */
    ND_STORE_AUTH_ROLE_ADD,      /* a username, b role; 0: exists */
    ND_STORE_AUTH_ROLE_DELETE,   /* b role [, a username] */
    ND_STORE_AUTH_PERM_ADD,      /* a role, b resource, c action */
    ND_STORE_AUTH_PERM_DELETE,   /* a role, b resource, c action */
    ND_STORE_AUTH_SECRET_INIT,   /* a name, b value; 0: already set */
    ND_STORE_AUTH_ADMIN_INIT     /* a username, b hash: user and
                                    ROLE_ADMIN, only while no user holds
                                    ROLE_ADMIN (affected 2: done) */
} nd_store_auth_e;

typedef struct {
    nd_uint_t           kind;           /* nd_store_auth_e; rows: a char */
    nd_str_t            a;
    nd_str_t            b;
    nd_str_t            c;
} nd_store_auth_t;

typedef struct nd_store_op_s  nd_store_op_t;
typedef void (*nd_store_handler_pt)(nd_store_op_t *op);

struct nd_store_op_s {
    nd_store_op_e        type;
    nd_pool_t           *pool;          /* the op's; gone after handler */
    nd_store_handler_pt  handler;
    void                *data;
    nd_log_t            *log;

    /* input: views, copied by nd_store_submit() */
    nd_store_config_t    config;        /* key, fields, search filters */
    nd_str_t             cas_md5;       /* publish: used when cas is set */
    nd_str_t             beta_ips;      /* gray publish: "ip1,ip2" (beta) */
    nd_str_t             tag;           /* gray publish (no beta_ips) and
                                           gray delete: the tag version */
    nd_store_ns_t        ns;
    nd_store_instance_t  instance;
    nd_store_auth_t      auth;
    int64_t              nid;           /* history get / previous */
    int64_t              since;         /* changes: seq > since */
    nd_uint_t            page_no;       /* from 1 */
    nd_uint_t            page_size;     /* also the changes limit */
    unsigned             cas:1;         /* publish: compare cas_md5 */
    unsigned             blur:1;        /* search: '*' is a wildcard */
    unsigned             views:1;       /* rows: text points into the
                                         * backend's current row, no copy
                                         * (the sqlite cache load) */

    /* output */
    nd_int_t             rc;            /* ND_OK, ND_DECLINED, ND_ERROR */
    nd_uint_t            status;        /* 200 400 404 409 413 500 503 */
    const char          *error;         /* why, for the caller's answer */
    nd_array_t           rows;          /* nd_store_config_t, _ns_t,
                                           _instance_t or _auth_t, by type */
    int64_t              total;         /* paged lists: all matches */
    int64_t              seq;           /* writes: the change sequence */

    /* the store's */
    nd_queue_t           queue;
    int64_t              affected;
    int64_t              write_status;  /* 0 done, 1 cas/not found */
    nd_msec_t            submitted;
    unsigned char        canceled;      /* set by the loop thread only */
    unsigned char        solo;          /* retry alone after a batch error */
    unsigned char        unknown;       /* outcome unknown (conn lost) */
    unsigned char        plan_n;        /* pg: statements sent */
    unsigned char        plan_rows[2];  /* pg: their result kinds */
    unsigned short       pg_batch;      /* pg: publishes answered by this
                                           op's batch statement, itself
                                           and the next ones (plan_n 0) */
};

/* a new operation with its own pool; NULL on ENOMEM */
nd_store_op_t *nd_store_op_create(nd_cycle_t *cycle, nd_store_op_e type,
    nd_store_handler_pt handler, void *data);
/* validates, copies the input views and queues; the handler runs later
 * in every case (bad input: rc ND_DECLINED, status 400/413) */
void nd_store_submit(nd_store_op_t *op);
/* the caller goes away: its handler will not be called (a write still
 * completes or fails as a whole) */
void nd_store_cancel(nd_store_op_t *op);
/* a never submitted op */
void nd_store_op_free(nd_store_op_t *op);

/* cached config (the newest committed row); borrowed, valid until the
 * next loop pass.  NULL when absent or when the store is not built */
/* the cached formal config with config_info.id id, or NULL; scans the
 * cache (for console operations, not request paths) */
const nd_store_config_t *nd_store_config_by_id(nd_cycle_t *cycle,
    int64_t id);
const nd_store_config_t *nd_store_config_cached(nd_cycle_t *cycle,
    const nd_str_t *data_id, const nd_str_t *group, const nd_str_t *tenant);
/* a cached gray version (ND_STORE_BETA, or ND_STORE_TAG_PREFIX and the
 * tag); borrowed as above.  Its gray_expr holds what it matches: the beta
 * ips (comma separated) or the tag */
const nd_store_config_t *nd_store_gray_cached(nd_cycle_t *cycle,
    const nd_str_t *data_id, const nd_str_t *group, const nd_str_t *tenant,
    const nd_str_t *gray_name);
/* read the changes other nodes committed now, not at the next
 * cache_refresh tick (a peer said it committed one) */
void nd_store_refresh_now(nd_cycle_t *cycle);
/* the highest change sequence this node has committed or seen */
int64_t nd_store_last_seq(nd_cycle_t *cycle);
/* the backend is shared by several nodes (PostgreSQL), which a cluster
 * needs; valid from the store's init_conf on */
int nd_store_shared(nd_cycle_t *cycle);
/* ND_OK when the backend can take writes now */
nd_int_t nd_store_available(nd_cycle_t *cycle);

const char *nd_store_op_name(nd_store_op_e type);

extern nd_module_t  nd_store_module;

#endif /* ND_STORE_H */

/*
 * auth module internals: the conf, the in-memory copy of users, roles and
 * permissions, the route classes and the permission check.
 */
#ifndef ND_AUTH_H
#define ND_AUTH_H

#include <nd_core.h>
#include <nd_http.h>
#include <nd_store.h>
#include <nd_auth_token.h>

#define ND_AUTH_ADMIN_ROLE   "ROLE_ADMIN"
#define ND_AUTH_ADMIN_USER   "nacos"       /* the bootstrap admin's name */
#define ND_AUTH_SECRET_NAME  "token_secret"

/* how a request is checked (Nacos's @Secured action x signType) */
typedef enum {
    ND_AUTH_UNSET = 0,       /* not classified (refused at start) */
    ND_AUTH_OPEN,            /* liveness, readiness, login, bootstrap */
    ND_AUTH_NAMING_R,
    ND_AUTH_NAMING_W,
    ND_AUTH_CONFIG_R,
    ND_AUTH_CONFIG_W,
    ND_AUTH_CONSOLE,         /* console resources: admin only */
    ND_AUTH_USER             /* any logged-in user (own password) */
} nd_auth_class_e;

typedef struct {
    nd_uint_t            methods;
    nd_str_t             path;
    nd_auth_class_e      cls;
} nd_auth_route_t;

typedef struct {
    const char          *type;         /* gRPC request type */
    nd_auth_class_e      cls;
} nd_auth_grpc_type_t;

typedef struct {
    char                *name;
    char                *hash;
    /* the last password that matched, as HMAC(process key, password): a
     * client sending username and password on every request (the nacos
     * npm package) costs one slow hash per reload, not per request */
    u_char               verified[32];
    unsigned             has_verified:1;
} nd_auth_user_t;

typedef struct {
    char                *user;
    char                *role;
} nd_auth_role_t;

typedef struct {
    char                *role;
    char                *resource;
    char                *action;
} nd_auth_perm_t;

/* one load of the auth tables; replaced whole on every reload */
typedef struct {
    nd_pool_t           *pool;
    nd_array_t           users;        /* nd_auth_user_t */
    nd_array_t           roles;        /* nd_auth_role_t */
    nd_array_t           perms;        /* nd_auth_perm_t */
    char                *secret;       /* the stored token secret */
    unsigned             has_admin:1;
} nd_auth_model_t;

typedef struct {
    nd_flag_t            enabled;
    nd_msec_t            token_ttl;
    nd_msec_t            cache_refresh;
    nd_uint_t            iterations;
    nd_uint_t            password_queue;   /* checks waiting, at most */
    nd_str_t             admin_password;   /* from admin_password_file */
    nd_str_t             secret;           /* from token_secret_file */
    nd_str_t             admin_file;       /* as written, for messages */

    /* runtime */
    nd_auth_model_t     *model;
    nd_hash_t            routes;           /* path -> u_char[methods] */
    nd_timer_t           refresh;
    u_char               pw_key[32];       /* for nd_auth_user_t.verified */
    nd_store_op_t       *loading;
    nd_uint_t            load_gen;         /* loads started */
    nd_queue_t           waiters;          /* writes answered after the
                                              next load (r->link) */
    unsigned             load_again:1;
    unsigned             secret_init:1;    /* a SECRET_INIT in flight */
    unsigned             admin_init:1;     /* an ADMIN_INIT in flight */
} nd_auth_conf_t;

extern nd_module_t  nd_auth_module;

#define nd_auth_conf(cycle)                                                   \
    ((nd_auth_conf_t *) nd_get_conf(cycle, nd_auth_module))

/* nd_auth_routes.c: the one table of every route's class */
extern const nd_auth_route_t      nd_auth_routes[];
extern const nd_auth_grpc_type_t  nd_auth_grpc_types[];
nd_int_t nd_auth_routes_init(nd_cycle_t *cycle, nd_auth_conf_t *acf);
nd_auth_class_e nd_auth_route_class(nd_auth_conf_t *acf,
    nd_http_request_t *r);
nd_auth_class_e nd_auth_grpc_class(const char *type);
/* the Nacos resource "ns:group:type/name" of a request (pool string) */
char *nd_auth_http_resource(nd_http_request_t *r, nd_auth_class_e cls);
char *nd_auth_grpc_resource(nd_pool_t *pool, const char *type,
    json_t *body, nd_auth_class_e cls);

/* nd_auth_module.c */
/* NULL: not loaded yet */
nd_auth_model_t *nd_auth_model(nd_cycle_t *cycle);
int nd_auth_is_admin(nd_auth_model_t *m, const char *user);
nd_auth_user_t *nd_auth_user_find(nd_auth_model_t *m, const char *user);
/* Nacos's hasPermission: admin, console, then any matching permission */
int nd_auth_permitted(nd_auth_model_t *m, const char *user,
    const char *resource, nd_auth_class_e cls);
/* Nacos's resource match: '*' any run, '.' any one character (both as
 * Nacos's regex makes them), everything else itself */
int nd_auth_match(const char *pattern, const char *s);
/* the token secret in use (file, else store); NULL before the load */
const nd_str_t *nd_auth_secret(nd_cycle_t *cycle);
/* reload the tables now (after a write of ours) */
void nd_auth_reload(nd_cycle_t *cycle);
/* the user a request's token names: ND_OK (user set), or a status with
 * *msg (403 token invalid / expired / missing) */
nd_int_t nd_auth_identify(nd_cycle_t *cycle, nd_str_t *token,
    char user[ND_AUTH_USER_MAX + 1], const char **msg);

/* nd_auth_kdf.c: password checks on a thread of their own */
typedef struct nd_auth_kdf_s  nd_auth_kdf_t;
/* runs on the loop when the check is done (not after a cancel); the job
 * is freed when it returns */
typedef void (*nd_auth_kdf_pt)(nd_auth_kdf_t *job);
/* 1: pw is the password u last logged in with (no slow hash) */
int nd_auth_password_cached(nd_auth_conf_t *acf, nd_auth_user_t *u,
    const char *pw);
/* checks pw against user's stored hash (an unknown user's against a
 * dummy, which costs the same); NULL: password_queue checks already
 * wait, or out of memory: answer 503 */
nd_auth_kdf_t *nd_auth_kdf_check(nd_auth_conf_t *acf, const char *user,
    const char *pw, nd_auth_kdf_pt done, void *data);
/* a new hash of pw (password_iterations); NULL as for a check */
nd_auth_kdf_t *nd_auth_kdf_hash(nd_auth_conf_t *acf, const char *pw,
    nd_auth_kdf_pt done, void *data);
/* in the callback of nd_auth_kdf_hash: the hash, NULL when it failed */
const char *nd_auth_kdf_hashed(nd_auth_kdf_t *job);
/* the requester is gone: no callback */
void nd_auth_kdf_cancel(nd_auth_kdf_t *job);
/* an abort_handler that cancels r->ctx, the request's job */
void nd_auth_kdf_abort(nd_http_request_t *r);
void *nd_auth_kdf_data(nd_auth_kdf_t *job);
const char *nd_auth_kdf_user(nd_auth_kdf_t *job);
/* in the callback: the user, now verified (cached), when the password
 * matched and the user still has the hash checked; else NULL */
nd_auth_user_t *nd_auth_kdf_result(nd_auth_conf_t *acf, nd_auth_kdf_t *job);
void nd_auth_kdf_stop(nd_cycle_t *cycle);
/* the token of a request: the accessToken parameter, an accessToken
 * header or Authorization: Bearer; ND_OK or ND_DECLINED */
nd_int_t nd_auth_http_token(nd_http_request_t *r, nd_str_t *token);

/* nd_auth_http.c */
nd_int_t nd_auth_http_init(nd_cycle_t *cycle);
/* a load that started after them completed: answer the waiting writes */
void nd_auth_http_loaded(nd_auth_conf_t *acf, nd_uint_t gen);

#endif /* ND_AUTH_H */

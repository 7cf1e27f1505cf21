/*
 * auth: Nacos's users, roles and permissions, on by default.  The tables
 * live in the store (shared by every member) and are cached here, loaded
 * at start, after each write of ours and every cache_refresh (so changes
 * made through another member arrive too).  Every HTTP route and SDK
 * gRPC request is checked before its handler (a filter and a gate); the
 * class of each is in nd_auth_routes.c.
 */
#include <nd_auth.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#if (ND_WITH_GRPC)
#include <nd_grpc.h>
#endif
#if (ND_WITH_CLUSTER)
#include <nd_cluster.h>
#endif

static void *nd_auth_create_conf(nd_cycle_t *cycle);
static char *nd_auth_init_conf(nd_cycle_t *cycle, void *conf);
static nd_int_t nd_auth_init(nd_cycle_t *cycle);
static nd_int_t nd_auth_start(nd_cycle_t *cycle);
static void nd_auth_stop(nd_cycle_t *cycle);
static void nd_auth_exit(nd_cycle_t *cycle);
static void nd_auth_filter_checked(nd_auth_kdf_t *job);
static nd_int_t nd_auth_filter_rest(nd_http_request_t *r, void *user);
static nd_int_t nd_auth_filter_refuse(nd_http_request_t *r, void *user);

static nd_conf_bounds_t  nd_auth_iterations_bounds = { 1000, 10000000 };
static nd_conf_bounds_t  nd_auth_queue_bounds = { 1, 65536 };
static size_t            nd_auth_secret_min = ND_AUTH_SECRET_MIN;
static size_t            nd_auth_password_min = 8;

static nd_command_t  nd_auth_commands[] = {

    /* "auth off;" (closed networks only) and "auth { ... }" */
    { nd_string("auth"),
      ND_MAIN_CONF | ND_CONF_FLAG,
      nd_conf_set_flag_slot, offsetof(nd_auth_conf_t, enabled), NULL },

    { nd_string("auth"),
      ND_MAIN_CONF | ND_CONF_BLOCK | ND_CONF_NOARGS,
      nd_conf_module_block, 0, NULL },

    { nd_string("admin_password_file"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_secret_file_slot, offsetof(nd_auth_conf_t, admin_password),
      &nd_auth_password_min },

    { nd_string("token_secret_file"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_secret_file_slot, offsetof(nd_auth_conf_t, secret),
      &nd_auth_secret_min },

    { nd_string("token_ttl"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_auth_conf_t, token_ttl), NULL },

    { nd_string("cache_refresh"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_auth_conf_t, cache_refresh), NULL },

    { nd_string("password_iterations"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_num_slot, offsetof(nd_auth_conf_t, iterations),
      &nd_auth_iterations_bounds },

    { nd_string("password_queue"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_num_slot, offsetof(nd_auth_conf_t, password_queue),
      &nd_auth_queue_bounds },

    nd_null_command
};


nd_module_t  nd_auth_module = {
    .name = "auth",
    .commands = nd_auth_commands,
    .create_conf = nd_auth_create_conf,
    .init_conf = nd_auth_init_conf,
    .init_module = nd_auth_init,
    .start = nd_auth_start,
    .stop = nd_auth_stop,
    .exit = nd_auth_exit,
};


static void *
nd_auth_create_conf(nd_cycle_t *cycle)
{
    nd_auth_conf_t  *acf;

    acf = nd_pcalloc(cycle->pool, sizeof(nd_auth_conf_t));
    if (acf == NULL) {
        return NULL;
    }

    acf->enabled = ND_CONF_UNSET;
    acf->token_ttl = ND_CONF_UNSET_MSEC;
    acf->cache_refresh = ND_CONF_UNSET_MSEC;
    acf->iterations = ND_CONF_UNSET_UINT;
    acf->password_queue = ND_CONF_UNSET_UINT;

    return acf;
}


static char *
nd_auth_init_conf(nd_cycle_t *cycle, void *conf)
{
    nd_auth_conf_t  *acf = conf;

    nd_conf_init_value(acf->enabled, 1);
    nd_conf_init_msec_value(acf->token_ttl, 18000 * 1000);
    nd_conf_init_msec_value(acf->cache_refresh, 5000);
    nd_conf_init_uint_value(acf->iterations, 100000);
    nd_conf_init_uint_value(acf->password_queue, 64);

    if (acf->token_ttl < 1000) {
        return "\"token_ttl\" must be at least 1s";
    }

    if (acf->cache_refresh == 0) {
        return "\"cache_refresh\" must not be 0";
    }

    return ND_CONF_OK;
}


/* ---- the cached tables --------------------------------------------------- */

nd_auth_model_t *
nd_auth_model(nd_cycle_t *cycle)
{
    return nd_auth_conf(cycle)->model;
}


const nd_str_t *
nd_auth_secret(nd_cycle_t *cycle)
{
    static nd_str_t   s;
    nd_auth_conf_t   *acf;

    acf = nd_auth_conf(cycle);

    if (acf->secret.len) {
        return &acf->secret;
    }

    if (acf->model == NULL || acf->model->secret == NULL) {
        return NULL;
    }

    s.data = (u_char *) acf->model->secret;
    s.len = strlen(acf->model->secret);

    return &s;
}


nd_auth_user_t *
nd_auth_user_find(nd_auth_model_t *m, const char *user)
{
    nd_uint_t        i;
    nd_auth_user_t  *u;

    u = m->users.elts;
    for (i = 0; i < m->users.nelts; i++) {
        if (strcmp(u[i].name, user) == 0) {
            return &u[i];
        }
    }

    return NULL;
}


int
nd_auth_is_admin(nd_auth_model_t *m, const char *user)
{
    nd_uint_t        i;
    nd_auth_role_t  *r;

    r = m->roles.elts;
    for (i = 0; i < m->roles.nelts; i++) {
        if (strcmp(r[i].user, user) == 0
            && strcmp(r[i].role, ND_AUTH_ADMIN_ROLE) == 0)
        {
            return 1;
        }
    }

    return 0;
}


int
nd_auth_match(const char *pattern, const char *s)
{
    const char  *star, *retry;

    star = NULL;
    retry = NULL;

    /* glob with backtracking to the last '*': linear in practice */
    while (*s) {
        if (*pattern == '*') {
            star = ++pattern;
            retry = s;
            continue;
        }

        if (*pattern && (*pattern == '.' || *pattern == *s)) {
            pattern++;
            s++;
            continue;
        }

        if (star == NULL) {
            return 0;
        }

        pattern = star;
        s = ++retry;
    }

    while (*pattern == '*') {
        pattern++;
    }

    return *pattern == '\0';
}


int
nd_auth_permitted(nd_auth_model_t *m, const char *user, const char *resource,
    nd_auth_class_e cls)
{
    char             action;
    nd_uint_t        i, j;
    nd_auth_role_t  *r;
    nd_auth_perm_t  *p;

    if (nd_auth_is_admin(m, user)) {
        return 1;
    }

    if (cls != ND_AUTH_NAMING_R && cls != ND_AUTH_NAMING_W
        && cls != ND_AUTH_CONFIG_R && cls != ND_AUTH_CONFIG_W)
    {
        return 0;               /* console resources: admin only */
    }

    action = cls == ND_AUTH_NAMING_R || cls == ND_AUTH_CONFIG_R ? 'r' : 'w';

    r = m->roles.elts;
    p = m->perms.elts;

    for (i = 0; i < m->roles.nelts; i++) {
        if (strcmp(r[i].user, user) != 0) {
            continue;
        }
        for (j = 0; j < m->perms.nelts; j++) {
            if (strcmp(p[j].role, r[i].role) == 0
                && strchr(p[j].action, action) != NULL
                && nd_auth_match(p[j].resource, resource))
            {
                return 1;
            }
        }
    }

    return 0;
}


static void nd_auth_load(nd_auth_conf_t *acf);


static void
nd_auth_secret_done(nd_store_op_t *op)
{
    nd_auth_conf_t  *acf = op->data;

    acf->secret_init = 0;
    if (op->rc != ND_OK) {
        nd_log_error(ND_LOG_ERR, nd_cycle->log, 0,
                     "auth: cannot store the token secret: %s",
                     op->error ? op->error : "store error");
    }
    nd_auth_load(acf);
}


/* first start on an empty store: a token secret from the CSPRNG; the
 * first member to store one wins, the others read it back */
static void
nd_auth_secret_create(nd_auth_conf_t *acf)
{
    char            hex[2 * ND_AUTH_SECRET_MIN + 1];
    u_char          rnd[ND_AUTH_SECRET_MIN];
    nd_store_op_t  *op;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        nd_log_error(ND_LOG_ALERT, nd_cycle->log, 0,
                     "auth: RAND_bytes failed");
        return;
    }

    nd_hex_encode(hex, rnd, sizeof(rnd));
    OPENSSL_cleanse(rnd, sizeof(rnd));

    op = nd_store_op_create(nd_cycle, ND_STORE_AUTH_WRITE,
                            nd_auth_secret_done, acf);
    if (op == NULL) {
        return;
    }

    op->auth.kind = ND_STORE_AUTH_SECRET_INIT;
    nd_str_set(&op->auth.a, ND_AUTH_SECRET_NAME);
    op->auth.b.data = (u_char *) hex;
    op->auth.b.len = strlen(hex);
    acf->secret_init = 1;
    nd_store_submit(op);
    OPENSSL_cleanse(hex, sizeof(hex));

    nd_log_error(ND_LOG_NOTICE, nd_cycle->log, 0,
                 "auth: a new token secret was made and stored");
}


static void
nd_auth_admin_done(nd_store_op_t *op)
{
    nd_auth_conf_t  *acf = op->data;

    acf->admin_init = 0;

    if (op->rc == ND_OK && op->affected == 2) {
        nd_log_error(ND_LOG_NOTICE, nd_cycle->log, 0,
                     "auth: admin user \"" ND_AUTH_ADMIN_USER "\" set from "
                     "admin_password_file");
    }

    nd_auth_load(acf);
}


/* the admin's hash is made on the password thread, then stored */
static void
nd_auth_admin_hashed(nd_auth_kdf_t *job)
{
    const char      *hash;
    nd_store_op_t   *op;
    nd_auth_conf_t  *acf;

    acf = nd_auth_kdf_data(job);
    hash = nd_auth_kdf_hashed(job);

    op = hash ? nd_store_op_create(nd_cycle, ND_STORE_AUTH_WRITE,
                                   nd_auth_admin_done, acf)
              : NULL;
    if (op == NULL) {
        acf->admin_init = 0;
        return;
    }

    /* the store copies the texts */
    op->auth.kind = ND_STORE_AUTH_ADMIN_INIT;
    nd_str_set(&op->auth.a, ND_AUTH_ADMIN_USER);
    op->auth.b.data = (u_char *) hash;
    op->auth.b.len = strlen(hash);
    nd_store_submit(op);
}


static void
nd_auth_admin_from_file(nd_auth_conf_t *acf)
{
    char  *pw;

    pw = nd_alloc(acf->admin_password.len + 1);
    if (pw == NULL) {
        return;
    }
    memcpy(pw, acf->admin_password.data, acf->admin_password.len);
    pw[acf->admin_password.len] = '\0';

    if (nd_auth_kdf_hash(acf, pw, nd_auth_admin_hashed, acf) != NULL) {
        acf->admin_init = 1;
    }

    OPENSSL_cleanse(pw, acf->admin_password.len);
    nd_free(pw);
}


static char *
nd_auth_pdup(nd_pool_t *pool, nd_str_t *s)
{
    return nd_pstrdupz(pool, s);
}


static void
nd_auth_load_done(nd_store_op_t *op)
{
    nd_uint_t         i;
    nd_pool_t        *pool;
    nd_auth_conf_t   *acf;
    nd_auth_user_t   *u;
    nd_auth_role_t   *ro;
    nd_auth_perm_t   *pe;
    nd_auth_model_t  *m;
    nd_store_auth_t  *rows;

    acf = op->data;
    acf->loading = NULL;

    if (op->rc != ND_OK) {
        nd_log_error(ND_LOG_WARN, nd_cycle->log, 0,
                     "auth: cannot load users and roles: %s",
                     op->error ? op->error : "store error");
        nd_auth_http_loaded(acf, acf->load_gen);
        return;
    }

    pool = nd_create_pool(4096, nd_cycle->log);
    m = pool ? nd_pcalloc(pool, sizeof(nd_auth_model_t)) : NULL;
    if (m == NULL
        || nd_array_init(&m->users, pool, 8, sizeof(nd_auth_user_t)) != ND_OK
        || nd_array_init(&m->roles, pool, 8, sizeof(nd_auth_role_t)) != ND_OK
        || nd_array_init(&m->perms, pool, 8, sizeof(nd_auth_perm_t)) != ND_OK)
    {
        nd_destroy_pool(pool);
        return;
    }
    m->pool = pool;

    rows = op->rows.elts;

    for (i = 0; i < op->rows.nelts; i++) {
        switch (rows[i].kind) {

        case 'u':
            u = nd_array_push(&m->users);
            if (u == NULL) {
                goto failed;
            }
            u->name = nd_auth_pdup(pool, &rows[i].a);
            u->hash = nd_auth_pdup(pool, &rows[i].b);
            break;

        case 'r':
            ro = nd_array_push(&m->roles);
            if (ro == NULL) {
                goto failed;
            }
            ro->user = nd_auth_pdup(pool, &rows[i].a);
            ro->role = nd_auth_pdup(pool, &rows[i].b);
            if (rows[i].b.len == sizeof(ND_AUTH_ADMIN_ROLE) - 1
                && memcmp(rows[i].b.data, ND_AUTH_ADMIN_ROLE,
                          rows[i].b.len) == 0)
            {
                m->has_admin = 1;
            }
            break;

        case 'p':
            pe = nd_array_push(&m->perms);
            if (pe == NULL) {
                goto failed;
            }
            pe->role = nd_auth_pdup(pool, &rows[i].a);
            pe->resource = nd_auth_pdup(pool, &rows[i].b);
            pe->action = nd_auth_pdup(pool, &rows[i].c);
            break;

        case 's':
            if (rows[i].a.len == sizeof(ND_AUTH_SECRET_NAME) - 1
                && memcmp(rows[i].a.data, ND_AUTH_SECRET_NAME,
                          rows[i].a.len) == 0)
            {
                m->secret = nd_auth_pdup(pool, &rows[i].b);
            }
            break;
        }
    }

    if (acf->model) {
        nd_destroy_pool(acf->model->pool);
    }
    acf->model = m;

    if (acf->secret.len == 0 && m->secret == NULL && !acf->secret_init) {
        nd_auth_secret_create(acf);
    }

    if (acf->admin_password.len && !m->has_admin && !acf->admin_init) {
        nd_auth_admin_from_file(acf);
    }

    if (nd_auth_secret(nd_cycle)) {
        nd_module_ready(nd_cycle, &nd_auth_module);
    }

    nd_auth_http_loaded(acf, acf->load_gen);

    if (acf->load_again) {
        acf->load_again = 0;
        nd_auth_load(acf);
    }

    return;

failed:

    nd_destroy_pool(pool);
    nd_auth_http_loaded(acf, acf->load_gen);
}


static void
nd_auth_load(nd_auth_conf_t *acf)
{
    nd_store_op_t  *op;

    if (acf->loading) {
        acf->load_again = 1;
        return;
    }

    op = nd_store_op_create(nd_cycle, ND_STORE_AUTH_LOAD, nd_auth_load_done,
                            acf);
    if (op == NULL) {
        return;
    }

    acf->loading = op;
    acf->load_gen++;
    nd_store_submit(op);
}


void
nd_auth_reload(nd_cycle_t *cycle)
{
    nd_auth_load(nd_auth_conf(cycle));
}


static void
nd_auth_refresh(nd_timer_t *t)
{
    nd_auth_load(t->data);
}


/* ---- identity and the checks --------------------------------------------- */

nd_int_t
nd_auth_identify(nd_cycle_t *cycle, nd_str_t *token,
    char user[ND_AUTH_USER_MAX + 1], const char **msg)
{
    int               rc;
    const nd_str_t   *secret;
    nd_auth_model_t  *m;

    m = nd_auth_model(cycle);
    secret = nd_auth_secret(cycle);

    if (m == NULL || secret == NULL) {
        *msg = "authentication data not loaded yet, retry later";
        return 503;
    }

    if (!m->has_admin) {
        *msg = "no admin user yet: set the admin password once with POST "
               "/nacos/v1/auth/users/admin (parameter password), or with "
               "auth { admin_password_file FILE; } in nacosd.conf";
        return 403;
    }

    if (token == NULL || token->len == 0) {
        *msg = "user not found!";
        return 403;
    }

    rc = nd_auth_jwt_verify(secret->data, secret->len, token->data,
                            token->len, (int64_t) (nd_current_msec / 1000),
                            user);

    if (rc == ND_AUTH_TOKEN_EXPIRED) {
        *msg = "token expired!";
        return 403;
    }

    if (rc != ND_AUTH_TOKEN_OK) {
        *msg = "token invalid!";
        return 403;
    }

    if (nd_auth_user_find(m, user) == NULL) {
        *msg = "user not found!";
        return 403;
    }

    return ND_OK;
}


/* username and password parameters (the nacos npm package sends them on
 * every request, as Nacos accepts): ND_OK with user set (the password it
 * logged in with last), ND_DECLINED when absent, ND_DONE when the check
 * went to the password thread (nd_auth_filter_checked goes on), 503 when
 * too many checks wait */
static nd_int_t
nd_auth_http_password(nd_http_request_t *r, char user[ND_AUTH_USER_MAX + 1])
{
    char             *pw;
    nd_str_t          name, pass;
    nd_auth_kdf_t    *job;
    nd_auth_user_t   *u;
    nd_auth_conf_t   *acf;

    if (nd_http_arg(r, "username", &name) != ND_OK
        || nd_http_arg(r, "password", &pass) != ND_OK
        || name.len == 0 || name.len > ND_AUTH_USER_MAX)
    {
        return ND_DECLINED;
    }

    acf = nd_auth_conf(nd_cycle);
    pw = nd_pstrdupz(r->pool, &pass);
    if (pw == NULL) {
        return ND_ERROR;
    }
    memcpy(user, name.data, name.len);
    user[name.len] = '\0';

    u = acf->model ? nd_auth_user_find(acf->model, user) : NULL;
    if (u && nd_auth_password_cached(acf, u, pw)) {
        return ND_OK;
    }

    job = nd_auth_kdf_check(acf, user, pw, nd_auth_filter_checked, r);
    if (job == NULL) {
        return 503;
    }

    r->ctx = job;
    r->abort_handler = nd_auth_kdf_abort;

    return ND_DONE;
}


/* accessToken parameter, accessToken header, Authorization: Bearer */
nd_int_t
nd_auth_http_token(nd_http_request_t *r, nd_str_t *token)
{
    nd_str_t  *h;

    if (nd_http_arg(r, "accessToken", token) == ND_OK && token->len) {
        return ND_OK;
    }

    h = nd_http_header_in(r, "accessToken");
    if (h && h->len) {
        *token = *h;
        return ND_OK;
    }

    h = nd_http_header_in(r, "Authorization");
    if (h && h->len > 7 && strncasecmp((char *) h->data, "Bearer ", 7) == 0) {
        token->data = h->data + 7;
        token->len = h->len - 7;
        return ND_OK;
    }

    return ND_DECLINED;
}


/* the filter's part once the user is known: the permission */
static nd_int_t
nd_auth_filter_user(nd_http_request_t *r, nd_auth_conf_t *acf,
    const char *user)
{
    char             *res;
    nd_auth_class_e   cls;

    cls = nd_auth_route_class(acf, r);
    if (cls == ND_AUTH_USER) {
        return ND_DECLINED;
    }

    res = cls == ND_AUTH_CONSOLE ? "console/" : nd_auth_http_resource(r, cls);
    if (res == NULL) {
        return ND_ERROR;
    }

    if (!nd_auth_permitted(acf->model, user, res, cls)) {
        nd_log_error(ND_LOG_INFO, &r->c->log, 0,
                     "auth: user \"%s\" refused %.*s on \"%s\"", user,
                     ND_STR_ARG(r->route), res);
        return nd_http_error(r, 403, 403, "authorization failed!");
    }

    return ND_DECLINED;
}


static nd_int_t
nd_auth_filter(nd_http_request_t *r)
{
    char              user[ND_AUTH_USER_MAX + 1];
    const char       *msg;
    nd_int_t          rc;
    nd_str_t          token, *h;
    nd_auth_conf_t   *acf;
    nd_auth_class_e   cls;

    acf = nd_auth_conf(nd_cycle);

    if (!acf->enabled) {
        return ND_DECLINED;
    }

    cls = nd_auth_route_class(acf, r);
    if (cls == ND_AUTH_OPEN) {
        return ND_DECLINED;
    }

#if (ND_WITH_GRPC)
    /* a request another member forwards carries the server identity */
    h = nd_http_header_in(r, ND_SERVER_IDENTITY);
    if (h && nd_grpc_identity_ok(nd_cycle, h->data, h->len)) {
        return ND_DECLINED;
    }
#else
    (void) h;
#endif

    if (cls == ND_AUTH_UNSET) {
        return nd_http_error(r, 403, 403, "route has no auth class");
    }

    token.len = 0;
    token.data = NULL;
    (void) nd_auth_http_token(r, &token);

    rc = nd_auth_identify(nd_cycle, &token, user, &msg);

    if (rc == 403 && token.len == 0 && acf->model->has_admin) {
        rc = nd_auth_http_password(r, user);
        msg = "unknown user!";
        if (rc == ND_DECLINED) {
            rc = 403;
            msg = "user not found!";
        } else if (rc == ND_DONE) {
            return ND_DONE;
        } else if (rc == 503) {
            msg = "too many password checks at once, retry later";
        }
    }

    if (rc != ND_OK) {
        return nd_http_error(r, rc, rc, msg);
    }

    return nd_auth_filter_user(r, acf, user);
}


/* the password thread answered a request's username and password */
static void
nd_auth_filter_checked(nd_auth_kdf_t *job)
{
    nd_auth_conf_t     *acf;
    nd_http_request_t  *r;

    acf = nd_auth_conf(nd_cycle);
    r = nd_auth_kdf_data(job);
    r->ctx = NULL;

    nd_http_resume(r, nd_auth_kdf_result(acf, job) ? nd_auth_filter_rest
                                                   : nd_auth_filter_refuse,
                   (void *) nd_auth_kdf_user(job));
}


static nd_int_t
nd_auth_filter_rest(nd_http_request_t *r, void *user)
{
    return nd_auth_filter_user(r, nd_auth_conf(nd_cycle), user);
}


static nd_int_t
nd_auth_filter_refuse(nd_http_request_t *r, void *user)
{
    (void) user;

    return nd_http_error(r, 403, 403, "unknown user!");
}


#if (ND_WITH_GRPC)

static nd_int_t
nd_auth_gate(nd_grpc_conn_t *conn, const char *type, json_t *headers,
    json_t *body, const char **msg)
{
    char              user[ND_AUTH_USER_MAX + 1];
    char             *res;
    json_t           *v;
    nd_int_t          rc;
    nd_str_t          token;
    nd_pool_t        *pool;
    nd_auth_conf_t   *acf;
    nd_auth_class_e   cls;

    acf = nd_auth_conf(nd_cycle);

    if (!acf->enabled) {
        return ND_OK;
    }

    cls = nd_auth_grpc_class(type);
    if (cls == ND_AUTH_OPEN) {
        return ND_OK;
    }

    if (cls == ND_AUTH_UNSET) {
        *msg = "request type has no auth class";
        return 403;
    }

    v = json_object_get(headers, "accessToken");
    token.data = (u_char *) (json_is_string(v) ? json_string_value(v) : "");
    token.len = json_is_string(v) ? json_string_length(v) : 0;

    rc = nd_auth_identify(nd_cycle, &token, user, msg);
    if (rc != ND_OK) {
        return rc == 503 ? 300 : 403;   /* Nacos: NO_RIGHT 403 */
    }

    pool = nd_create_pool(512, nd_cycle->log);
    res = pool ? nd_auth_grpc_resource(pool, type, body, cls) : NULL;
    rc = res && nd_auth_permitted(acf->model, user, res, cls) ? ND_OK : 403;
    nd_destroy_pool(pool);

    if (rc != ND_OK) {
        *msg = "authorization failed!";
    }

    return rc;
}

#endif


static nd_int_t
nd_auth_init(nd_cycle_t *cycle)
{
    nd_auth_conf_t  *acf;

    acf = nd_auth_conf(cycle);

    nd_timer_init(&acf->refresh, "auth refresh", nd_auth_refresh, acf);
    nd_queue_init(&acf->waiters);

    if (RAND_bytes(acf->pw_key, sizeof(acf->pw_key)) != 1) {
        nd_log_error(ND_LOG_EMERG, cycle->log, 0, "auth: RAND_bytes failed");
        return ND_ERROR;
    }

    if (nd_http_add_filter(cycle, nd_auth_filter) != ND_OK
#if (ND_WITH_GRPC)
        /* off, the gate passes everything without reading the body */
        || (acf->enabled ? nd_grpc_add_body_gate(cycle, nd_auth_gate)
                         : nd_grpc_add_gate(cycle, nd_auth_gate)) != ND_OK
#endif
        || nd_auth_http_init(cycle) != ND_OK)
    {
        return ND_ERROR;
    }

    if (acf->enabled) {
        nd_module_pending(cycle, &nd_auth_module);
#if (ND_WITH_GRPC)
        /* members prove themselves with the shared secret */
        nd_grpc_require_identity(cycle);
#endif
    }

    return ND_OK;
}


static nd_int_t
nd_auth_start(nd_cycle_t *cycle)
{
    nd_auth_conf_t  *acf;

    acf = nd_auth_conf(cycle);

    if (nd_auth_routes_init(cycle, acf) != ND_OK) {
        return ND_ERROR;
    }

    if (!acf->enabled) {
        nd_log_error(ND_LOG_WARN, cycle->log, 0,
                     "auth is off: every API is open to whoever reaches "
                     "the ports; use it on closed networks only");
    }

#if (ND_WITH_CLUSTER)
    if (acf->enabled && nd_cluster_enabled(cycle)
        && nd_grpc_identity(cycle) == NULL)
    {
        nd_log_error(ND_LOG_WARN, cycle->log, 0,
                     "auth is on and \"cluster\" has no "
                     "\"server_identity_file\": the cluster port refuses "
                     "every request");
    }
#endif

    nd_timer_start(&acf->refresh, acf->cache_refresh, ND_TIMER_REPEAT);
    nd_auth_load(acf);

    return ND_OK;
}


static void
nd_auth_stop(nd_cycle_t *cycle)
{
    nd_auth_conf_t  *acf;

    acf = nd_auth_conf(cycle);
    nd_timer_stop(&acf->refresh);

    if (acf->loading) {
        nd_store_cancel(acf->loading);
        acf->loading = NULL;
    }
}


static void
nd_auth_exit(nd_cycle_t *cycle)
{
    nd_auth_conf_t  *acf;

    acf = nd_auth_conf(cycle);

    nd_auth_kdf_stop(cycle);

    if (acf->model) {
        nd_destroy_pool(acf->model->pool);
        acf->model = NULL;
    }

    nd_hash_free(&acf->routes);

    if (acf->secret.data) {
        OPENSSL_cleanse(acf->secret.data, acf->secret.len);
    }
}

/*
 * The auth HTTP API in Nacos's shapes: login, the one-time admin
 * bootstrap, users, roles and permissions (paged and searched as the
 * console asks).  Writes go to the store; a write is answered once a
 * reload of the tables that started after it completed, so the next
 * request (a list, a login) sees it.
 */
#include <nd_auth.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

typedef struct {
    nd_store_op_t       *op;
    nd_auth_kdf_t       *kdf;        /* the password's hash being made */
    nd_store_auth_e      kind;
    const char          *user;
    nd_uint_t            gen;        /* the load that must complete */
    const char          *ok;         /* RestResult message */
    const char          *none;       /* affected 0: this 400 message */
    json_t              *answer;     /* a body instead of a RestResult */
    unsigned             waiting:1;
} nd_auth_write_t;

static nd_int_t nd_auth_login(nd_http_request_t *r);
static nd_int_t nd_auth_admin(nd_http_request_t *r);
static nd_int_t nd_auth_users(nd_http_request_t *r);
static nd_int_t nd_auth_user_add(nd_http_request_t *r);
static nd_int_t nd_auth_user_delete(nd_http_request_t *r);
static nd_int_t nd_auth_user_password(nd_http_request_t *r);
static nd_int_t nd_auth_user_search(nd_http_request_t *r);
static nd_int_t nd_auth_roles(nd_http_request_t *r);
static nd_int_t nd_auth_role_add(nd_http_request_t *r);
static nd_int_t nd_auth_role_delete(nd_http_request_t *r);
static nd_int_t nd_auth_role_search(nd_http_request_t *r);
static nd_int_t nd_auth_perms(nd_http_request_t *r);
static nd_int_t nd_auth_perm_add(nd_http_request_t *r);
static nd_int_t nd_auth_perm_delete(nd_http_request_t *r);

static const nd_http_route_t  nd_auth_http_routes[] = {
    { ND_HTTP_POST, nd_string("/v1/auth/users/login"), nd_auth_login },
    { ND_HTTP_POST, nd_string("/v1/auth/login"), nd_auth_login },
    { ND_HTTP_POST, nd_string("/v1/auth/users/admin"), nd_auth_admin },
    { ND_HTTP_GET, nd_string("/v1/auth/users"), nd_auth_users },
    { ND_HTTP_POST, nd_string("/v1/auth/users"), nd_auth_user_add },
    { ND_HTTP_DELETE, nd_string("/v1/auth/users"), nd_auth_user_delete },
    { ND_HTTP_PUT, nd_string("/v1/auth/users"), nd_auth_user_password },
    { ND_HTTP_GET, nd_string("/v1/auth/users/search"), nd_auth_user_search },
    { ND_HTTP_GET, nd_string("/v1/auth/roles"), nd_auth_roles },
    { ND_HTTP_POST, nd_string("/v1/auth/roles"), nd_auth_role_add },
    { ND_HTTP_DELETE, nd_string("/v1/auth/roles"), nd_auth_role_delete },
    { ND_HTTP_GET, nd_string("/v1/auth/roles/search"), nd_auth_role_search },
    { ND_HTTP_GET, nd_string("/v1/auth/permissions"), nd_auth_perms },
    { ND_HTTP_POST, nd_string("/v1/auth/permissions"), nd_auth_perm_add },
    { ND_HTTP_DELETE, nd_string("/v1/auth/permissions"),
      nd_auth_perm_delete },
    nd_http_null_route
};


nd_int_t
nd_auth_http_init(nd_cycle_t *cycle)
{
    return nd_http_add_routes(cycle, nd_auth_http_routes);
}


/* a parameter as a C string in the request pool; NULL when absent or
 * empty */
static char *
nd_auth_arg(nd_http_request_t *r, const char *name)
{
    nd_str_t  v;

    if (nd_http_arg(r, name, &v) != ND_OK || v.len == 0) {
        return NULL;
    }

    return nd_pstrdupz(r->pool, &v);
}


/* a name of a user or a role: 1..50 bytes, no control bytes, none of the
 * characters the resource syntax or the console uses */
static int
nd_auth_valid_name(const char *s)
{
    size_t  n;

    n = s ? strlen(s) : 0;
    if (n == 0 || n > ND_AUTH_USER_MAX) {
        return 0;
    }

    for ( /* void */ ; *s; s++) {
        if ((u_char) *s < 0x20 || *s == 0x7f || strchr(":,;\"'\\", *s)) {
            return 0;
        }
    }

    return 1;
}


static nd_int_t
nd_auth_rest_result(nd_http_request_t *r, const char *msg)
{
    json_t    *j;
    nd_int_t   rc;

    j = json_pack("{s:i, s:s, s:n}", "code", 200, "message", msg, "data");
    rc = nd_http_send_json(r, 200, j);
    json_decref(j);

    return rc;
}


/* ---- writes --------------------------------------------------------------- */

static void
nd_auth_write_answer(nd_http_request_t *r)
{
    json_t           *answer;
    nd_int_t          rc;
    nd_auth_write_t  *w;

    w = r->ctx;

    if (w->answer) {
        /* r and w are gone once sent */
        answer = w->answer;
        w->answer = NULL;
        rc = nd_http_send_json(r, 200, answer);
        json_decref(answer);
    } else {
        rc = nd_auth_rest_result(r, w->ok);
    }

    if (rc != ND_OK) {          /* else r is gone: answered */
        nd_http_finalize(r, rc);
    }
}


/* an async error answer */
static void
nd_auth_write_fail(nd_http_request_t *r, nd_uint_t status, const char *msg)
{
    nd_int_t          rc;
    nd_auth_write_t  *w;

    w = r->ctx;
    json_decref(w->answer);
    w->answer = NULL;

    rc = nd_http_error(r, status, status, msg);
    if (rc != ND_OK) {
        nd_http_finalize(r, rc);
    }
}


void
nd_auth_http_loaded(nd_auth_conf_t *acf, nd_uint_t gen)
{
    nd_queue_t         *q, *next;
    nd_auth_write_t    *w;
    nd_http_request_t  *r;

    for (q = nd_queue_head(&acf->waiters);
         q != nd_queue_sentinel(&acf->waiters);
         q = next)
    {
        next = nd_queue_next(q);
        r = nd_queue_data(q, nd_http_request_t, link);
        w = r->ctx;
        if (w->gen <= gen) {
            nd_queue_remove(q);
            w->waiting = 0;
            nd_auth_write_answer(r);
        }
    }
}


static void
nd_auth_write_abort(nd_http_request_t *r)
{
    nd_auth_write_t  *w;

    w = r->ctx;

    if (w->kdf) {
        nd_auth_kdf_cancel(w->kdf);
        w->kdf = NULL;
    }

    if (w->op) {
        nd_store_cancel(w->op);
        w->op = NULL;
    }

    if (w->waiting) {
        nd_queue_remove(&r->link);
        w->waiting = 0;
    }

    json_decref(w->answer);
    w->answer = NULL;
}


static void
nd_auth_write_done(nd_store_op_t *op)
{
    int                 admin;
    nd_auth_conf_t     *acf;
    nd_auth_write_t    *w;
    nd_http_request_t  *r;

    r = op->data;
    w = r->ctx;
    w->op = NULL;

    if (op->rc != ND_OK) {
        nd_auth_write_fail(r, op->status, op->error ? op->error
                                                    : "store error");
        return;
    }

    admin = op->auth.kind == ND_STORE_AUTH_ADMIN_INIT;

    if (w->none && (op->affected == 0 || (admin && op->affected != 2))) {
        nd_auth_write_fail(r, admin ? 409 : 400, w->none);
        return;
    }

    /* answered after a load that starts from now on */
    acf = nd_auth_conf(nd_cycle);
    w->gen = acf->load_gen + 1;
    w->waiting = 1;
    nd_queue_insert_tail(&acf->waiters, &r->link);
    nd_auth_reload(nd_cycle);
}


/* the write of a request, answered ok (a RestResult message) or, when it
 * changed nothing, none (400) */
static nd_auth_write_t *
nd_auth_write_new(nd_http_request_t *r, const char *ok, const char *none)
{
    nd_auth_write_t  *w;

    w = nd_pcalloc(r->pool, sizeof(nd_auth_write_t));
    if (w == NULL) {
        return NULL;
    }

    w->ok = ok;
    w->none = none;
    r->ctx = w;
    r->abort_handler = nd_auth_write_abort;

    return w;
}


/* submit the write; the texts are copied by the store */
static nd_int_t
nd_auth_write_submit(nd_http_request_t *r, nd_store_auth_e kind,
    const char *a, const char *b, const char *c)
{
    nd_store_op_t    *op;
    nd_auth_write_t  *w;

    w = r->ctx;
    op = nd_store_op_create(nd_cycle, ND_STORE_AUTH_WRITE,
                            nd_auth_write_done, r);
    if (op == NULL) {
        return ND_ERROR;
    }

    op->auth.kind = kind;
    op->auth.a.data = (u_char *) a;
    op->auth.a.len = a ? strlen(a) : 0;
    op->auth.b.data = (u_char *) b;
    op->auth.b.len = b ? strlen(b) : 0;
    op->auth.c.data = (u_char *) c;
    op->auth.c.len = c ? strlen(c) : 0;

    w->op = op;
    nd_store_submit(op);

    return ND_DONE;
}


static nd_int_t
nd_auth_write(nd_http_request_t *r, nd_store_auth_e kind, const char *a,
    const char *b, const char *c, const char *ok, const char *none)
{
    if (nd_auth_write_new(r, ok, none) == NULL) {
        return ND_ERROR;
    }

    return nd_auth_write_submit(r, kind, a, b, c);
}


/* the password thread made the hash: now the write */
static void
nd_auth_write_hashed(nd_auth_kdf_t *job)
{
    nd_int_t            rc;
    const char         *hash;
    nd_auth_write_t    *w;
    nd_http_request_t  *r;

    r = nd_auth_kdf_data(job);
    w = r->ctx;
    w->kdf = NULL;

    hash = nd_auth_kdf_hashed(job);
    rc = hash ? nd_auth_write_submit(r, w->kind, w->user, hash, NULL)
              : ND_ERROR;

    if (rc != ND_DONE) {
        nd_auth_write_fail(r, 500, "cannot hash the password");
    }
}


/* a write of a user's password: hashed on the password thread, then
 * stored */
static nd_int_t
nd_auth_write_password(nd_http_request_t *r, nd_store_auth_e kind,
    const char *user, const char *pass, const char *ok, const char *none)
{
    nd_auth_write_t  *w;

    w = nd_auth_write_new(r, ok, none);
    if (w == NULL) {
        return ND_ERROR;
    }

    w->kind = kind;
    w->user = user;         /* in r->pool */
    w->kdf = nd_auth_kdf_hash(nd_auth_conf(nd_cycle), pass,
                              nd_auth_write_hashed, r);
    if (w->kdf == NULL) {
        r->ctx = NULL;
        r->abort_handler = NULL;
        return nd_http_error(r, 503, 503, "too many password checks at "
                             "once, retry later");
    }

    return ND_DONE;
}


/* ---- login and the admin bootstrap --------------------------------------- */

/* a token for user, answered */
static nd_int_t
nd_auth_login_answer(nd_http_request_t *r, const char *user)
{
    char              *tok, *bearer;
    json_t            *j;
    nd_int_t           rc;
    nd_auth_conf_t    *acf;
    const nd_str_t    *secret;

    acf = nd_auth_conf(nd_cycle);
    secret = nd_auth_secret(nd_cycle);

    if (acf->model == NULL || secret == NULL) {
        return nd_http_error(r, 503, 503, "authentication data not loaded "
                             "yet, retry later");
    }

    tok = nd_auth_jwt_sign(secret->data, secret->len, user,
                           (int64_t) (nd_current_msec / 1000)
                           + (int64_t) (acf->token_ttl / 1000));
    if (tok == NULL) {
        return ND_ERROR;
    }

    j = json_pack("{s:s, s:I, s:b, s:s}", "accessToken", tok,
                  "tokenTtl", (json_int_t) (acf->token_ttl / 1000),
                  "globalAdmin", nd_auth_is_admin(acf->model, user),
                  "username", user);

    bearer = nd_pnalloc(r->pool, strlen(tok) + 8);
    if (bearer == NULL || j == NULL) {
        free(tok);
        json_decref(j);
        return ND_ERROR;
    }
    snprintf(bearer, strlen(tok) + 8, "Bearer %s", tok);

    if (nd_http_add_header(r, "Authorization", bearer, strlen(bearer))
        != ND_OK)
    {
        free(tok);
        json_decref(j);
        return ND_ERROR;
    }

    rc = nd_http_send_json(r, 200, j);
    json_decref(j);
    free(tok);

    return rc;
}


/* the password thread answered a login */
static void
nd_auth_login_checked(nd_auth_kdf_t *job)
{
    nd_int_t            rc;
    const char         *user;
    nd_http_request_t  *r;

    r = nd_auth_kdf_data(job);
    r->ctx = NULL;
    r->abort_handler = NULL;
    user = nd_auth_kdf_user(job);

    if (nd_auth_kdf_result(nd_auth_conf(nd_cycle), job)) {
        rc = nd_auth_login_answer(r, user);
    } else {
        nd_log_error(ND_LOG_INFO, &r->c->log, 0,
                     "auth: wrong password or unknown user \"%s\"", user);
        rc = nd_http_error(r, 403, 403, "unknown user!");
    }

    if (rc != ND_OK) {          /* else r is gone: answered */
        nd_http_finalize(r, rc);
    }
}


/* the check of the password runs on the password thread, unless it is
 * the one this user logged in with last */
static nd_int_t
nd_auth_login(nd_http_request_t *r)
{
    char              *user, *pass;
    nd_auth_kdf_t     *job;
    nd_auth_conf_t    *acf;
    nd_auth_user_t    *u;

    acf = nd_auth_conf(nd_cycle);

    if (acf->model == NULL || nd_auth_secret(nd_cycle) == NULL) {
        return nd_http_error(r, 503, 503, "authentication data not loaded "
                             "yet, retry later");
    }

    user = nd_auth_arg(r, "username");
    pass = nd_auth_arg(r, "password");

    if (user == NULL || pass == NULL || strlen(user) > ND_AUTH_USER_MAX) {
        return nd_http_error(r, 403, 403, "unknown user!");
    }

    u = nd_auth_user_find(acf->model, user);
    if (u && nd_auth_password_cached(acf, u, pass)) {
        return nd_auth_login_answer(r, user);
    }

    job = nd_auth_kdf_check(acf, user, pass, nd_auth_login_checked, r);
    if (job == NULL) {
        return nd_http_error(r, 503, 503, "too many password checks at "
                             "once, retry later");
    }

    r->ctx = job;
    r->abort_handler = nd_auth_kdf_abort;

    return ND_DONE;
}


static nd_int_t
nd_auth_admin(nd_http_request_t *r)
{
    char              *pass;
    char               gen[25];
    u_char             rnd[12];
    nd_int_t           rc;
    nd_auth_conf_t    *acf;
    nd_auth_write_t   *w;

    acf = nd_auth_conf(nd_cycle);

    if (acf->model == NULL) {
        return nd_http_error(r, 503, 503, "authentication data not loaded "
                             "yet, retry later");
    }

    if (acf->model->has_admin) {
        return nd_http_error(r, 409, 409, "have admin user cannot use it");
    }

    pass = nd_auth_arg(r, "password");

    if (pass == NULL) {
        /* Nacos makes one up and answers it */
        if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
            return ND_ERROR;
        }
        nd_base64url_encode(gen, rnd, sizeof(rnd));
        pass = nd_pstrdupz(r->pool, &(nd_str_t) { strlen(gen),
                                                  (u_char *) gen });
        if (pass == NULL) {
            return ND_ERROR;
        }
    }

    if (strlen(pass) < 8) {
        return nd_http_error(r, 400, 400, "password must have at least 8 "
                             "characters");
    }

    rc = nd_auth_write_password(r, ND_STORE_AUTH_ADMIN_INIT,
                                ND_AUTH_ADMIN_USER, pass, "",
                                "have admin user cannot use it");

    if (rc == ND_DONE) {
        w = r->ctx;
        w->answer = json_pack("{s:s, s:s}", "username", ND_AUTH_ADMIN_USER,
                              "password", pass);
    }

    return rc;
}


/* ---- users ---------------------------------------------------------------- */

/* pageNo, pageSize (Nacos's defaults 1 and 10, at most 500) */
static void
nd_auth_page(nd_http_request_t *r, nd_uint_t *no, nd_uint_t *size)
{
    nd_int_t  n;
    nd_str_t  v;

    *no = 1;
    *size = 10;

    if (nd_http_arg(r, "pageNo", &v) == ND_OK
        && (n = nd_atoi(v.data, v.len)) > 0)
    {
        *no = (nd_uint_t) n;
    }

    if (nd_http_arg(r, "pageSize", &v) == ND_OK
        && (n = nd_atoi(v.data, v.len)) > 0)
    {
        *size = n > 500 ? 500 : (nd_uint_t) n;
    }
}


/* search=blur: the filter is a substring; else (accurate) the value */
static int
nd_auth_filter_ok(nd_http_request_t *r, const char *arg, const char *v)
{
    char      *want;
    nd_str_t   s;
    int        blur;

    want = nd_auth_arg(r, arg);
    if (want == NULL) {
        return 1;
    }

    blur = nd_http_arg(r, "search", &s) == ND_OK && nd_str_eq(&s, "blur");

    return blur ? strstr(v, want) != NULL : strcmp(v, want) == 0;
}


/* a JSON array answer (a search); takes the reference */
static nd_int_t
nd_auth_send_array(nd_http_request_t *r, json_t *all)
{
    nd_int_t  rc;

    rc = all ? nd_http_send_json(r, 200, all) : ND_ERROR;
    json_decref(all);

    return rc;
}


/* a Nacos Page: {totalCount, pageNumber, pagesAvailable, pageItems} */
static nd_int_t
nd_auth_send_page(nd_http_request_t *r, json_t *all)
{
    json_t     *items, *page;
    nd_int_t    rc;
    nd_uint_t   no, size, total, i;

    nd_auth_page(r, &no, &size);
    total = json_array_size(all);

    items = json_array();
    for (i = (no - 1) * size; items && i < total && i < no * size; i++) {
        json_array_append(items, json_array_get(all, i));
    }

    page = json_pack("{s:I, s:I, s:I, s:o}", "totalCount", (json_int_t) total,
                     "pageNumber", (json_int_t) no,
                     "pagesAvailable", (json_int_t) ((total + size - 1)
                                                     / size),
                     "pageItems", items ? items : json_array());
    json_decref(all);

    if (page == NULL) {
        return ND_ERROR;
    }

    rc = nd_http_send_json(r, 200, page);
    json_decref(page);

    return rc;
}


/* a list answer: row() gives the JSON of element i of the model's array
 * at offset arr, or NULL to leave it out; a Page, or a plain array (a
 * search) */
typedef json_t *(*nd_auth_row_pt)(nd_http_request_t *r, nd_auth_model_t *m,
    nd_uint_t i);

static nd_int_t
nd_auth_list(nd_http_request_t *r, size_t arr, nd_auth_row_pt row, int page)
{
    json_t           *all, *j;
    nd_uint_t         i;
    nd_array_t       *a;
    nd_auth_model_t  *m;

    m = nd_auth_model(nd_cycle);
    if (m == NULL) {
        return nd_http_error(r, 503, 503, "not loaded yet");
    }

    a = (nd_array_t *) ((u_char *) m + arr);
    all = json_array();

    for (i = 0; all && i < a->nelts; i++) {
        j = row(r, m, i);
        if (j) {
            json_array_append_new(all, j);
        }
    }

    if (!page) {
        return nd_auth_send_array(r, all);
    }

    return all ? nd_auth_send_page(r, all) : ND_ERROR;
}


static json_t *
nd_auth_user_row(nd_http_request_t *r, nd_auth_model_t *m, nd_uint_t i)
{
    nd_auth_user_t  *u = m->users.elts;

    if (!nd_auth_filter_ok(r, "username", u[i].name)) {
        return NULL;
    }

    /* the console shows names; a hash never leaves the server */
    return json_pack("{s:s, s:s}", "username", u[i].name, "password", "");
}


static nd_int_t
nd_auth_users(nd_http_request_t *r)
{
    return nd_auth_list(r, offsetof(nd_auth_model_t, users),
                        nd_auth_user_row, 1);
}


static json_t *
nd_auth_user_name(nd_http_request_t *r, nd_auth_model_t *m, nd_uint_t i)
{
    char            *want;
    nd_auth_user_t  *u = m->users.elts;

    want = nd_auth_arg(r, "username");

    return want == NULL || strstr(u[i].name, want)
           ? json_string(u[i].name) : NULL;
}


static nd_int_t
nd_auth_user_search(nd_http_request_t *r)
{
    return nd_auth_list(r, offsetof(nd_auth_model_t, users),
                        nd_auth_user_name, 0);
}


static nd_int_t
nd_auth_user_add(nd_http_request_t *r)
{
    char            *user, *pass;
    nd_auth_conf_t  *acf;

    acf = nd_auth_conf(nd_cycle);
    user = nd_auth_arg(r, "username");
    pass = nd_auth_arg(r, "password");

    if (!nd_auth_valid_name(user) || pass == NULL) {
        return nd_http_error(r, 400, 400, "invalid username or password");
    }

    if (acf->model && nd_auth_user_find(acf->model, user)) {
        return nd_http_error(r, 400, 400, "user already exist!");
    }

    return nd_auth_write_password(r, ND_STORE_AUTH_USER_ADD, user, pass,
                                  "create user ok!", "user already exist!");
}


static nd_int_t
nd_auth_user_delete(nd_http_request_t *r)
{
    char             *user;
    nd_auth_model_t  *m;

    m = nd_auth_model(nd_cycle);
    user = nd_auth_arg(r, "username");

    if (user == NULL) {
        return nd_http_error(r, 400, 400, "username is required");
    }

    if (m && nd_auth_is_admin(m, user)) {
        return nd_http_error(r, 400, 400, "cannot delete admin user");
    }

    return nd_auth_write(r, ND_STORE_AUTH_USER_DELETE, user, NULL, NULL,
                         "delete user ok!", "user not exist!");
}


/* PUT: a user changes its own password, an admin anyone's */
static nd_int_t
nd_auth_user_password(nd_http_request_t *r)
{
    char              me[ND_AUTH_USER_MAX + 1];
    char             *user, *pass;
    const char       *msg;
    nd_int_t          rc;
    nd_str_t          token;
    nd_auth_conf_t   *acf;

    acf = nd_auth_conf(nd_cycle);
    user = nd_auth_arg(r, "username");
    pass = nd_auth_arg(r, "newPassword");

    if (user == NULL || pass == NULL) {
        return nd_http_error(r, 400, 400, "username and newPassword are "
                             "required");
    }

    if (acf->enabled) {
        token.len = 0;
        token.data = NULL;
        (void) nd_auth_http_token(r, &token);

        rc = nd_auth_identify(nd_cycle, &token, me, &msg);
        if (rc != ND_OK) {
            return nd_http_error(r, rc, rc, msg);
        }

        if (strcmp(me, user) != 0 && !nd_auth_is_admin(acf->model, me)) {
            return nd_http_error(r, 403, 403, "authorization failed!");
        }
    }

    return nd_auth_write_password(r, ND_STORE_AUTH_USER_PASSWORD, user, pass,
                                  "update user ok!", "user not exist!");
}


/* ---- roles ---------------------------------------------------------------- */

static json_t *
nd_auth_role_row(nd_http_request_t *r, nd_auth_model_t *m, nd_uint_t i)
{
    nd_auth_role_t  *ro = m->roles.elts;

    if (!nd_auth_filter_ok(r, "username", ro[i].user)
        || !nd_auth_filter_ok(r, "role", ro[i].role))
    {
        return NULL;
    }

    return json_pack("{s:s, s:s}", "role", ro[i].role, "username",
                     ro[i].user);
}


static nd_int_t
nd_auth_roles(nd_http_request_t *r)
{
    return nd_auth_list(r, offsetof(nd_auth_model_t, roles),
                        nd_auth_role_row, 1);
}


/* each role name once */
static json_t *
nd_auth_role_name(nd_http_request_t *r, nd_auth_model_t *m, nd_uint_t i)
{
    char            *want;
    nd_uint_t        j;
    nd_auth_role_t  *ro = m->roles.elts;

    want = nd_auth_arg(r, "role");
    if (want && strstr(ro[i].role, want) == NULL) {
        return NULL;
    }

    for (j = 0; j < i; j++) {
        if (strcmp(ro[j].role, ro[i].role) == 0) {
            return NULL;
        }
    }

    return json_string(ro[i].role);
}


static nd_int_t
nd_auth_role_search(nd_http_request_t *r)
{
    return nd_auth_list(r, offsetof(nd_auth_model_t, roles),
                        nd_auth_role_name, 0);
}


static nd_int_t
nd_auth_role_add(nd_http_request_t *r)
{
    char             *role, *user;
    nd_auth_model_t  *m;

    m = nd_auth_model(nd_cycle);
    role = nd_auth_arg(r, "role");
    user = nd_auth_arg(r, "username");

    if (!nd_auth_valid_name(role) || user == NULL) {
        return nd_http_error(r, 400, 400, "invalid role or username");
    }

    if (strcmp(role, ND_AUTH_ADMIN_ROLE) == 0) {
        return nd_http_error(r, 400, 400, "role 'ROLE_ADMIN' is not "
                             "permitted to create!");
    }

    if (m == NULL || nd_auth_user_find(m, user) == NULL) {
        return nd_http_error(r, 400, 400, "user not found!");
    }

    return nd_auth_write(r, ND_STORE_AUTH_ROLE_ADD, user, role, NULL,
                         "add role ok!", "user already bound to the role!");
}


static nd_int_t
nd_auth_role_delete(nd_http_request_t *r)
{
    char  *role, *user;

    role = nd_auth_arg(r, "role");
    user = nd_auth_arg(r, "username");

    if (role == NULL) {
        return nd_http_error(r, 400, 400, "role is required");
    }

    if (strcmp(role, ND_AUTH_ADMIN_ROLE) == 0) {
        return nd_http_error(r, 400, 400, "cannot delete the admin role");
    }

    return nd_auth_write(r, ND_STORE_AUTH_ROLE_DELETE, user ? user : "", role,
                         NULL, user ? "delete role of user ok!"
                                    : "delete role ok!", NULL);
}


/* ---- permissions ---------------------------------------------------------- */

static json_t *
nd_auth_perm_row(nd_http_request_t *r, nd_auth_model_t *m, nd_uint_t i)
{
    nd_auth_perm_t  *p = m->perms.elts;

    if (!nd_auth_filter_ok(r, "role", p[i].role)) {
        return NULL;
    }

    return json_pack("{s:s, s:s, s:s}", "role", p[i].role, "resource",
                     p[i].resource, "action", p[i].action);
}


static nd_int_t
nd_auth_perms(nd_http_request_t *r)
{
    return nd_auth_list(r, offsetof(nd_auth_model_t, perms),
                        nd_auth_perm_row, 1);
}


static nd_int_t
nd_auth_perm_args(nd_http_request_t *r, char **role, char **res,
    char **action)
{
    *role = nd_auth_arg(r, "role");
    *res = nd_auth_arg(r, "resource");
    *action = nd_auth_arg(r, "action");

    if (!nd_auth_valid_name(*role) || *res == NULL || strlen(*res) > 128
        || *action == NULL
        || (strcmp(*action, "r") != 0 && strcmp(*action, "w") != 0
            && strcmp(*action, "rw") != 0))
    {
        return ND_DECLINED;
    }

    return ND_OK;
}


static nd_int_t
nd_auth_perm_add(nd_http_request_t *r)
{
    char             *role, *res, *action;
    nd_uint_t         i;
    nd_auth_role_t   *ro;
    nd_auth_model_t  *m;

    if (nd_auth_perm_args(r, &role, &res, &action) != ND_OK) {
        return nd_http_error(r, 400, 400, "invalid role, resource or action "
                             "(r, w or rw)");
    }

    m = nd_auth_model(nd_cycle);
    ro = m ? m->roles.elts : NULL;

    for (i = 0; m && i < m->roles.nelts; i++) {
        if (strcmp(ro[i].role, role) == 0) {
            break;
        }
    }

    if (m == NULL || i == m->roles.nelts) {
        return nd_http_error(r, 400, 400, "role not found!");
    }

    return nd_auth_write(r, ND_STORE_AUTH_PERM_ADD, role, res, action,
                         "add permission ok!", "permission already exist!");
}


static nd_int_t
nd_auth_perm_delete(nd_http_request_t *r)
{
    char  *role, *res, *action;

    if (nd_auth_perm_args(r, &role, &res, &action) != ND_OK) {
        return nd_http_error(r, 400, 400, "invalid role, resource or action "
                             "(r, w or rw)");
    }

    return nd_auth_write(r, ND_STORE_AUTH_PERM_DELETE, role, res, action,
                         "delete permission ok!", NULL);
}

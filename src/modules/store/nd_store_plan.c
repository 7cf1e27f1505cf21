/*
 * Statement plans: what each store operation runs, with which parameters,
 * in the order the SQL texts of both backends expect them; and the result
 * rows decoded back into configs, history and instances.
 */
#include <nd_store_internal.h>


/* statement plans: what each op runs, with which parameters, in the
 * order the SQL texts of both backends expect them */

static void
nd_store_p_text(nd_store_stmt_t *st, const nd_str_t *s)
{
    nd_store_param_t  *p;

    p = &st->params[st->nparams++];
    p->type = ND_STORE_P_TEXT;
    p->text = *s;
    if (p->text.data == NULL) {
        p->text.data = (u_char *) "";
        p->text.len = 0;
    }
}


static void
nd_store_p_int(nd_store_stmt_t *st, int64_t v)
{
    nd_store_param_t  *p;

    p = &st->params[st->nparams++];
    p->type = ND_STORE_P_INT;
    p->i = v;
    p->text.len = snprintf(p->buf, sizeof(p->buf), "%lld", (long long) v);
    p->text.data = (u_char *) p->buf;
}


static void
nd_store_p_bool(nd_store_stmt_t *st, int v)
{
    nd_store_param_t  *p;

    p = &st->params[st->nparams++];
    p->type = ND_STORE_P_BOOL;
    p->i = v ? 1 : 0;
    p->text.len = 1;
    p->text.data = (u_char *) (v ? "t" : "f");
}


static void
nd_store_p_real(nd_store_stmt_t *st, double v)
{
    nd_store_param_t  *p;

    p = &st->params[st->nparams++];
    p->type = ND_STORE_P_REAL;
    p->d = v;
    p->text.len = snprintf(p->buf, sizeof(p->buf), "%.17g", v);
    p->text.data = (u_char *) p->buf;
}


static void
nd_store_p_like(nd_store_op_t *op, nd_store_stmt_t *st, const nd_str_t *s)
{
    nd_str_t  pat;

    /* NUL-terminated: libpq takes text parameters as C strings */
    pat.data = nd_pnalloc(op->pool, 2 * s->len + 1);
    pat.len = pat.data ? nd_store_like_pattern(pat.data, s, op->blur) : 0;
    if (pat.data == NULL) {
        pat.data = (u_char *) "";
    } else {
        pat.data[pat.len] = '\0';
    }
    nd_store_p_text(st, &pat);
}


static void
nd_store_stmt(nd_store_stmt_t *st, nd_store_sql_e sql, nd_store_rows_e rows)
{
    st->sql = sql;
    st->rows = rows;
    st->nparams = 0;
}


nd_uint_t
nd_store_plan(nd_store_op_t *op, nd_store_stmt_t *plan)
{
    nd_uint_t             i;
    nd_store_stmt_t      *st;
    nd_store_config_t    *c;
    nd_store_instance_t  *in;

    c = &op->config;
    in = &op->instance;
    st = plan;

    switch (op->type) {

    case ND_STORE_CONFIG_LOAD:
        nd_store_stmt(st, ND_STORE_SQL_CONFIG_ALL, ND_STORE_ROWS_CONFIG);
        return 1;

    case ND_STORE_CONFIG_SEARCH:
        for (i = 0; i < 2; i++) {
            nd_store_stmt(&st[i], i ? ND_STORE_SQL_CONFIG_COUNT
                                    : ND_STORE_SQL_CONFIG_SEARCH,
                          i ? ND_STORE_ROWS_COUNT : ND_STORE_ROWS_CONFIG);
            nd_store_p_text(&st[i], &c->tenant);
            nd_store_p_like(op, &st[i], &c->data_id);
            nd_store_p_like(op, &st[i], &c->group);
            nd_store_p_like(op, &st[i], &c->app_name);
        }
        nd_store_p_int(st, op->page_size);
        nd_store_p_int(st, (int64_t) (op->page_no - 1) * op->page_size);
        return 2;

    case ND_STORE_HISTORY_LIST:
        for (i = 0; i < 2; i++) {
            nd_store_stmt(&st[i], i ? ND_STORE_SQL_HISTORY_COUNT
                                    : ND_STORE_SQL_HISTORY_LIST,
                          i ? ND_STORE_ROWS_COUNT : ND_STORE_ROWS_HISTORY);
            nd_store_p_text(&st[i], &c->data_id);
            nd_store_p_text(&st[i], &c->group);
            nd_store_p_text(&st[i], &c->tenant);
        }
        nd_store_p_int(st, op->page_size);
        nd_store_p_int(st, (int64_t) (op->page_no - 1) * op->page_size);
        return 2;

    case ND_STORE_HISTORY_GET:
    case ND_STORE_HISTORY_PREVIOUS:
        nd_store_stmt(st, op->type == ND_STORE_HISTORY_GET
                          ? ND_STORE_SQL_HISTORY_GET
                          : ND_STORE_SQL_HISTORY_PREVIOUS,
                      ND_STORE_ROWS_HISTORY);
        nd_store_p_int(st, op->nid);
        return 1;

    case ND_STORE_CHANGES:
        nd_store_stmt(&st[0], ND_STORE_SQL_CHANGES_CONFIG,
                      ND_STORE_ROWS_CONFIG);
        nd_store_stmt(&st[1], ND_STORE_SQL_CHANGES_DELETED,
                      ND_STORE_ROWS_DELETED);
        for (i = 0; i < 2; i++) {
            nd_store_p_int(&st[i], op->since);
            nd_store_p_int(&st[i], op->page_size);
        }
        return 2;

    case ND_STORE_NS_LIST:
        nd_store_stmt(st, ND_STORE_SQL_NS_LIST, ND_STORE_ROWS_NS);
        return 1;

    case ND_STORE_AUTH_LOAD:
        nd_store_stmt(st, ND_STORE_SQL_AUTH_ALL, ND_STORE_ROWS_AUTH);
        return 1;

    case ND_STORE_AUTH_WRITE:
        nd_store_stmt(st, ND_STORE_SQL_AUTH_USER_ADD + op->auth.kind,
                      ND_STORE_ROWS_AFFECTED);
        /* a; then b but for the deletes of a user and the admin role;
         * then c for permissions */
        nd_store_p_text(st, &op->auth.a);
        if (op->auth.kind != ND_STORE_AUTH_USER_DELETE
            && op->auth.kind != ND_STORE_AUTH_ADMIN_INIT)
        {
            nd_store_p_text(st, &op->auth.b);
        }
        if (op->auth.kind == ND_STORE_AUTH_PERM_ADD
            || op->auth.kind == ND_STORE_AUTH_PERM_DELETE)
        {
            nd_store_p_text(st, &op->auth.c);
        }
        if (op->auth.kind == ND_STORE_AUTH_ADMIN_INIT
            || op->auth.kind == ND_STORE_AUTH_USER_DELETE)
        {
            /* the user's row, then its roles (delete) / the user only
             * while it holds ROLE_ADMIN (admin) */
            nd_store_stmt(&st[1], op->auth.kind == ND_STORE_AUTH_ADMIN_INIT
                                  ? ND_STORE_SQL_AUTH_ADMIN_USER
                                  : ND_STORE_SQL_AUTH_USER_ROLES_DELETE,
                          ND_STORE_ROWS_AFFECTED);
            nd_store_p_text(&st[1], &op->auth.a);
            if (op->auth.kind == ND_STORE_AUTH_ADMIN_INIT) {
                nd_store_p_text(&st[1], &op->auth.b);
            }
            return 2;
        }
        return 1;

    case ND_STORE_INSTANCE_NAMESPACES:
        nd_store_stmt(st, ND_STORE_SQL_INSTANCE_NAMESPACES, ND_STORE_ROWS_NS);
        return 1;

    case ND_STORE_NS_GET:
        nd_store_stmt(st, ND_STORE_SQL_NS_GET, ND_STORE_ROWS_NS);
        nd_store_p_text(st, &op->ns.id);
        return 1;

    case ND_STORE_NS_CREATE:
        nd_store_stmt(st, ND_STORE_SQL_NS_CREATE, ND_STORE_ROWS_AFFECTED);
        nd_store_p_text(st, &op->ns.id);
        nd_store_p_text(st, &op->ns.name);
        nd_store_p_text(st, &op->ns.desc);
        nd_store_p_text(st, &op->ns.source);
        nd_store_p_int(st, c->gmt_modified);
        return 1;

    case ND_STORE_NS_UPDATE:
        nd_store_stmt(st, ND_STORE_SQL_NS_UPDATE, ND_STORE_ROWS_AFFECTED);
        nd_store_p_text(st, &op->ns.id);
        nd_store_p_text(st, &op->ns.name);
        nd_store_p_text(st, &op->ns.desc);
        nd_store_p_int(st, c->gmt_modified);
        return 1;

    case ND_STORE_NS_DELETE:
        nd_store_stmt(st, ND_STORE_SQL_NS_DELETE, ND_STORE_ROWS_AFFECTED);
        nd_store_p_text(st, &op->ns.id);
        return 1;

    case ND_STORE_INSTANCE_UPSERT:
    case ND_STORE_INSTANCE_DELETE:
        nd_store_stmt(st, op->type == ND_STORE_INSTANCE_UPSERT
                          ? ND_STORE_SQL_INSTANCE_UPSERT
                          : ND_STORE_SQL_INSTANCE_DELETE,
                      ND_STORE_ROWS_AFFECTED);
        nd_store_p_text(st, &in->ns);
        nd_store_p_text(st, &in->group);
        nd_store_p_text(st, &in->service);
        nd_store_p_text(st, &in->cluster);
        nd_store_p_text(st, &in->ip);
        nd_store_p_int(st, in->port);
        if (op->type == ND_STORE_INSTANCE_UPSERT) {
            nd_store_p_real(st, in->weight);
            nd_store_p_bool(st, in->healthy);
            nd_store_p_bool(st, in->enabled);
            nd_store_p_text(st, &in->metadata);
            nd_store_p_int(st, c->gmt_modified);
        }
        return 1;

    case ND_STORE_INSTANCE_LIST:
        nd_store_stmt(st, ND_STORE_SQL_INSTANCE_LIST,
                      ND_STORE_ROWS_INSTANCE);
        nd_store_p_text(st, &in->ns);
        nd_store_p_text(st, &in->group);
        nd_store_p_text(st, &in->service);
        return 1;

    case ND_STORE_INSTANCE_SYNC:
        /* the version first: the list (its own snapshot, read committed)
         * is at least as new, so a version that differs from since
         * always comes with the whole table */
        nd_store_stmt(&st[0], ND_STORE_SQL_INSTANCE_VERSION,
                      ND_STORE_ROWS_COUNT);
        nd_store_stmt(&st[1], ND_STORE_SQL_INSTANCE_SYNC,
                      ND_STORE_ROWS_INSTANCE);
        nd_store_p_int(&st[1], op->since);
        return 2;

    case ND_STORE_CONFIG_PUBLISH:
        nd_store_stmt(st, ND_STORE_SQL_CONFIG_PUBLISH, ND_STORE_ROWS_WRITE);
        nd_store_p_text(st, &c->data_id);
        nd_store_p_text(st, &c->group);
        nd_store_p_text(st, &c->tenant);
        nd_store_p_text(st, &c->content);
        nd_store_p_text(st, &c->md5);
        nd_store_p_int(st, c->gmt_modified);
        nd_store_p_text(st, &c->src_user);
        nd_store_p_text(st, &c->src_ip);
        nd_store_p_text(st, &c->app_name);
        nd_store_p_text(st, &c->desc);
        nd_store_p_text(st, &c->use);
        nd_store_p_text(st, &c->effect);
        nd_store_p_text(st, &c->type);
        nd_store_p_text(st, &c->schema);
        nd_store_p_text(st, &c->encrypted_data_key);
        nd_store_p_bool(st, op->cas);
        nd_store_p_text(st, &op->cas_md5);
        nd_store_p_text(st, &c->tags);
        return 1;

    case ND_STORE_GRAY_PUBLISH:
        /* pg: the sequence row lock first, so the one statement after it
         * sees every earlier commit */
        nd_store_stmt(&st[0], ND_STORE_SQL_SEQ_LOCK, ND_STORE_ROWS_AFFECTED);
        st = &st[1];
        nd_store_stmt(st, ND_STORE_SQL_GRAY_PUBLISH, ND_STORE_ROWS_WRITE);
        nd_store_p_text(st, &c->data_id);
        nd_store_p_text(st, &c->group);
        nd_store_p_text(st, &c->tenant);
        nd_store_p_text(st, &c->gray_name);
        nd_store_p_text(st, &c->gray_rule);
        nd_store_p_text(st, &c->content);
        nd_store_p_text(st, &c->md5);
        nd_store_p_int(st, c->gmt_modified);
        nd_store_p_text(st, &c->src_user);
        nd_store_p_text(st, &c->src_ip);
        nd_store_p_text(st, &c->app_name);
        nd_store_p_text(st, &c->encrypted_data_key);
        nd_store_p_bool(st, op->cas);
        nd_store_p_text(st, &op->cas_md5);
        nd_store_p_text(st, &c->ext_info);
        return 2;

    case ND_STORE_GRAY_DELETE:
        nd_store_stmt(&st[0], ND_STORE_SQL_SEQ_LOCK, ND_STORE_ROWS_AFFECTED);
        st = &st[1];
        nd_store_stmt(st, ND_STORE_SQL_GRAY_DELETE, ND_STORE_ROWS_WRITE);
        nd_store_p_text(st, &c->data_id);
        nd_store_p_text(st, &c->group);
        nd_store_p_text(st, &c->tenant);
        nd_store_p_text(st, &c->gray_name);
        nd_store_p_int(st, c->gmt_modified);
        nd_store_p_text(st, &c->src_user);
        nd_store_p_text(st, &c->src_ip);
        return 2;

    case ND_STORE_CONFIG_DELETE:
        nd_store_stmt(st, ND_STORE_SQL_CONFIG_DELETE, ND_STORE_ROWS_WRITE);
        nd_store_p_text(st, &c->data_id);
        nd_store_p_text(st, &c->group);
        nd_store_p_text(st, &c->tenant);
        nd_store_p_int(st, c->gmt_modified);
        nd_store_p_text(st, &c->src_user);
        nd_store_p_text(st, &c->src_ip);
        return 1;

    default:
        return 0;
    }
}


/* result rows: columns as text, in the orders the SQL texts select */

static nd_int_t
nd_store_col_str(nd_store_op_t *op, nd_store_row_t *row, int col,
    nd_str_t *dst)
{
    nd_str_t  v;

    row->get(row->ctx, col, &v);

    if (v.data == NULL || v.len == 0) {
        dst->data = (u_char *) "";
        dst->len = 0;
        return ND_OK;
    }

    if (op->views) {
        *dst = v;
        return ND_OK;
    }

    dst->data = nd_pnalloc(op->pool, v.len + 1);
    if (dst->data == NULL) {
        return ND_ERROR;
    }
    memcpy(dst->data, v.data, v.len);
    dst->data[v.len] = '\0';
    dst->len = v.len;

    return ND_OK;
}


static int64_t
nd_store_col_int(nd_store_row_t *row, int col)
{
    int64_t   v;
    nd_str_t  s;

    if (row->get_int && row->get_int(row->ctx, col, &v) == ND_OK) {
        return v;
    }

    row->get(row->ctx, col, &s);

    if (s.data == NULL || nd_atoi64(s.data, s.len, &v) != ND_OK) {
        /* a negative number */
        if (s.data && s.len > 1 && s.data[0] == '-'
            && nd_atoi64(s.data + 1, s.len - 1, &v) == ND_OK)
        {
            return -v;
        }
        return 0;
    }

    return v;
}


static int
nd_store_col_bool(nd_store_row_t *row, int col)
{
    nd_str_t  s;

    row->get(row->ctx, col, &s);

    return s.data && s.len && (s.data[0] == 't' || s.data[0] == '1');
}


nd_int_t
nd_store_decode_row(nd_store_op_t *op, nd_store_rows_e kind,
    nd_store_row_t *row)
{
    int                   i, rc;
    double                d;
    nd_str_t              s;
    nd_store_ns_t        *ns;
    nd_store_config_t    *c;
    nd_store_instance_t  *in;

    rc = ND_OK;

    switch (kind) {

    case ND_STORE_ROWS_COUNT:
        op->total = nd_store_col_int(row, 0);
        return ND_OK;

    case ND_STORE_ROWS_AFFECTED:
        op->affected++;
        return ND_OK;

    case ND_STORE_ROWS_WRITE:
        op->write_status = nd_store_col_int(row, 0);
        op->seq = nd_store_col_int(row, 1);
        op->config.id = nd_store_col_int(row, 2);
        if (op->write_status == 0) {
            op->config.gmt_create = nd_store_col_int(row, 3);
        }
        return ND_OK;

    case ND_STORE_ROWS_NS:
        ns = nd_array_push(&op->rows);
        if (ns == NULL) {
            return ND_ERROR;
        }
        memset(ns, 0, sizeof(*ns));
        rc |= nd_store_col_str(op, row, 0, &ns->id);
        rc |= nd_store_col_str(op, row, 1, &ns->name);
        rc |= nd_store_col_str(op, row, 2, &ns->desc);
        rc |= nd_store_col_str(op, row, 3, &ns->source);
        ns->gmt_create = nd_store_col_int(row, 4);
        ns->gmt_modified = nd_store_col_int(row, 5);
        return rc ? ND_ERROR : ND_OK;

    case ND_STORE_ROWS_AUTH:
        {
            nd_str_t          k;
            nd_store_auth_t  *au;

            au = nd_array_push(&op->rows);
            if (au == NULL) {
                return ND_ERROR;
            }
            memset(au, 0, sizeof(*au));
            row->get(row->ctx, 0, &k);
            au->kind = k.data && k.len == 1 ? k.data[0] : '?';
            rc |= nd_store_col_str(op, row, 1, &au->a);
            rc |= nd_store_col_str(op, row, 2, &au->b);
            rc |= nd_store_col_str(op, row, 3, &au->c);
            return rc ? ND_ERROR : ND_OK;
        }

    case ND_STORE_ROWS_INSTANCE:
        in = nd_array_push(&op->rows);
        if (in == NULL) {
            return ND_ERROR;
        }
        memset(in, 0, sizeof(*in));
        rc |= nd_store_col_str(op, row, 0, &in->ns);
        rc |= nd_store_col_str(op, row, 1, &in->group);
        rc |= nd_store_col_str(op, row, 2, &in->service);
        rc |= nd_store_col_str(op, row, 3, &in->cluster);
        rc |= nd_store_col_str(op, row, 4, &in->ip);
        in->port = nd_store_col_int(row, 5);
        row->get(row->ctx, 6, &s);
        d = 0;
        if (s.data && s.len < 64) {
            char  buf[64];

            memcpy(buf, s.data, s.len);
            buf[s.len] = '\0';
            d = strtod(buf, NULL);
        }
        in->weight = d;
        in->healthy = nd_store_col_bool(row, 7);
        in->enabled = nd_store_col_bool(row, 8);
        rc |= nd_store_col_str(op, row, 9, &in->metadata);
        in->gmt_modified = nd_store_col_int(row, 10);
        return rc ? ND_ERROR : ND_OK;

    default:
        break;
    }

    c = nd_array_push(&op->rows);
    if (c == NULL) {
        return ND_ERROR;
    }
    memset(c, 0, sizeof(*c));

    if (kind == ND_STORE_ROWS_DELETED) {
        c->seq = nd_store_col_int(row, 0);
        rc |= nd_store_col_str(op, row, 1, &c->data_id);
        rc |= nd_store_col_str(op, row, 2, &c->group);
        rc |= nd_store_col_str(op, row, 3, &c->tenant);
        rc |= nd_store_col_str(op, row, 4, &c->gray_name);
        nd_str_set(&c->op_type, "D");
        c->deleted = 1;
        return rc ? ND_ERROR : ND_OK;
    }

    if (kind == ND_STORE_ROWS_HISTORY) {
        /* id nid data_id group_id tenant_id content md5 gmt_create
         * gmt_modified src_user src_ip app_name op_type
         * encrypted_data_key change_seq */
        c->id = nd_store_col_int(row, 0);
        c->nid = nd_store_col_int(row, 1);
        rc |= nd_store_col_str(op, row, 2, &c->data_id);
        rc |= nd_store_col_str(op, row, 3, &c->group);
        rc |= nd_store_col_str(op, row, 4, &c->tenant);
        rc |= nd_store_col_str(op, row, 5, &c->content);
        rc |= nd_store_col_str(op, row, 6, &c->md5);
        c->gmt_create = nd_store_col_int(row, 7);
        c->gmt_modified = nd_store_col_int(row, 8);
        rc |= nd_store_col_str(op, row, 9, &c->src_user);
        rc |= nd_store_col_str(op, row, 10, &c->src_ip);
        rc |= nd_store_col_str(op, row, 11, &c->app_name);
        rc |= nd_store_col_str(op, row, 12, &c->op_type);
        rc |= nd_store_col_str(op, row, 13, &c->encrypted_data_key);
        c->seq = nd_store_col_int(row, 14);
        rc |= nd_store_col_str(op, row, 15, &c->gray_name);
        rc |= nd_store_col_str(op, row, 16, &c->ext_info);
        return rc ? ND_ERROR : ND_OK;
    }

    /* config: id data_id group_id tenant_id content md5 gmt_create
     * gmt_modified src_user src_ip app_name c_desc c_use effect type
     * c_schema encrypted_data_key change_seq tags gray_name gray_rule
     * (the last two NULL for formal rows) */
    {
        nd_str_t  *f[] = {
            NULL, &c->data_id, &c->group, &c->tenant, &c->content, &c->md5,
            NULL, NULL, &c->src_user, &c->src_ip, &c->app_name, &c->desc,
            &c->use, &c->effect, &c->type, &c->schema,
            &c->encrypted_data_key, NULL, &c->tags, &c->gray_name,
            &c->gray_rule
        };

        for (i = 0; i < (int) nd_nelts(f); i++) {
            if (f[i]) {
                rc |= nd_store_col_str(op, row, i, f[i]);
            }
        }
    }

    c->id = nd_store_col_int(row, 0);
    c->gmt_create = nd_store_col_int(row, 6);
    c->gmt_modified = nd_store_col_int(row, 7);
    c->seq = nd_store_col_int(row, 17);
    nd_str_set(&c->op_type, "U");

    return rc ? ND_ERROR : ND_OK;
}

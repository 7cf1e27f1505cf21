/*
 * The sqlite backend: one database file (WAL, synchronous=FULL) owned by
 * one writer thread.  The loop queues operations under a mutex; the thread
 * takes everything queued, runs consecutive writes in one transaction
 * (a failing write is taken out and the others run again, so it does
 * not change their outcome: group commit; the next group gathers its
 * writers first, nd_store_gather_want), and hands the finished
 * operations back with ev_async.  Only the thread touches its connection
 * once the loop runs; it never logs and never touches the loop.  The loop
 * thread has a second, read-only connection while the config cache loads
 * (warm start).
 */
#include <nd_store_sqlite.h>


static nd_int_t nd_store_sqlite_start(nd_cycle_t *cycle);
static void nd_store_sqlite_submit(nd_cycle_t *cycle, nd_store_op_t *op);
static nd_int_t nd_store_sqlite_available(nd_cycle_t *cycle);
static void nd_store_sqlite_stop(nd_cycle_t *cycle);
static void nd_store_sqlite_exit(nd_cycle_t *cycle);

nd_store_backend_t  nd_store_sqlite_backend = {
    .name = "sqlite",
    .start = nd_store_sqlite_start,
    .submit = nd_store_sqlite_submit,
    .available = nd_store_sqlite_available,
    .stop = nd_store_sqlite_stop,
    .exit = nd_store_sqlite_exit,
    .miss = nd_store_sqlite_miss,
};


/* thread side: no logging, no loop; errors go into the op */

static void
nd_store_sqlite_error(nd_store_sqlite_t *sq, nd_store_op_t *op, int rc)
{
    char        *msg;
    const char  *e;
    size_t       n;

    e = sqlite3_errmsg(sq->db);
    n = strlen(e) + sizeof("database error: ");
    msg = nd_pnalloc(op->pool, n);
    if (msg) {
        snprintf(msg, n, "database error: %s", e);
    }

    nd_store_fail(op, (rc & 0xff) == SQLITE_BUSY ? 503 : 500,
                  msg ? msg : "database error");
}


void
nd_store_sqlite_get(void *ctx, int col, nd_str_t *out)
{
    sqlite3_stmt  *st = ctx;

    out->data = (u_char *) sqlite3_column_text(st, col);
    out->len = out->data ? (size_t) sqlite3_column_bytes(st, col) : 0;
}


/* an INTEGER column as it is stored: no text to print and parse back
 * (that was half of loading the cache at start) */
nd_int_t
nd_store_sqlite_get_int(void *ctx, int col, int64_t *out)
{
    sqlite3_stmt  *st = ctx;

    if (sqlite3_column_type(st, col) != SQLITE_INTEGER) {
        return ND_DECLINED;
    }

    *out = sqlite3_column_int64(st, col);
    return ND_OK;
}


static int
nd_store_sqlite_bind(sqlite3_stmt *st, nd_store_stmt_t *s)
{
    int                rc;
    nd_uint_t          i;
    nd_store_param_t  *p;

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);

    for (i = 0; i < s->nparams; i++) {
        p = &s->params[i];

        switch (p->type) {
        case ND_STORE_P_INT:
        case ND_STORE_P_BOOL:
            rc = sqlite3_bind_int64(st, i + 1, p->i);
            break;
        case ND_STORE_P_REAL:
            rc = sqlite3_bind_double(st, i + 1, p->d);
            break;
        default:
            rc = sqlite3_bind_text(st, i + 1, (char *) p->text.data,
                                   (int) p->text.len, SQLITE_STATIC);
        }

        if (rc != SQLITE_OK) {
            return rc;
        }
    }

    return SQLITE_OK;
}


/* runs a planned statement, decoding its rows into op */
static int
nd_store_sqlite_exec(nd_store_sqlite_t *sq, nd_store_op_t *op,
    nd_store_stmt_t *s)
{
    int              rc;
    sqlite3_stmt    *st;
    nd_store_row_t   row;

    st = sq->stmts[s->sql];

    rc = nd_store_sqlite_bind(st, s);
    if (rc != SQLITE_OK) {
        return rc;
    }

    row.ctx = st;
    row.get = nd_store_sqlite_get;
    row.get_int = nd_store_sqlite_get_int;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (nd_store_decode_row(op, s->rows, &row) != ND_OK) {
            sqlite3_reset(st);
            return SQLITE_NOMEM;
        }
    }

    sqlite3_reset(st);

    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}


static int
nd_store_sqlite_x(nd_store_sqlite_t *sq, nd_sqlite_x_e x)
{
    int  rc;

    sqlite3_reset(sq->x[x]);
    rc = sqlite3_step(sq->x[x]);
    sqlite3_reset(sq->x[x]);

    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}


/* bind texts and ints by position from a small list */
void
nd_store_sqlite_bt(sqlite3_stmt *st, int i, const nd_str_t *s)
{
    sqlite3_bind_text(st, i, s->data ? (char *) s->data : "", (int) s->len,
                      SQLITE_STATIC);
}


int
nd_store_sqlite_step_int(sqlite3_stmt *st, int64_t *out)
{
    int  rc;

    rc = sqlite3_step(st);

    if (rc == SQLITE_ROW) {
        if (out) {
            *out = sqlite3_column_int64(st, 0);
        }
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) { /* void */ }
    }

    sqlite3_reset(st);

    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}


/* the next change sequence of the open write transaction (read at its
 * BEGIN, written back before its COMMIT; the writer thread is the only
 * writer of the file) */
static int
nd_store_sqlite_next_seq(nd_store_sqlite_t *sq, int64_t *seq)
{
    *seq = ++sq->seq;

    return SQLITE_OK;
}


static int
nd_store_sqlite_history(nd_store_sqlite_t *sq, nd_store_op_t *op,
    int64_t id, const char *op_type)
{
    sqlite3_stmt       *st;
    nd_store_config_t  *c;

    c = &op->config;
    st = sq->x[ND_SQLITE_HIS_FROM_ROW];
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, c->gmt_modified);
    nd_store_sqlite_bt(st, 3, &c->src_user);
    nd_store_sqlite_bt(st, 4, &c->src_ip);
    sqlite3_bind_text(st, 5, op_type, 1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, op->seq);

    return nd_store_sqlite_step_int(st, NULL);
}


static int
nd_store_sqlite_tags(nd_store_sqlite_t *sq, nd_store_op_t *op, int64_t id,
    int insert)
{
    int                 rc;
    u_char             *p, *end, *comma;
    nd_str_t            tag;
    sqlite3_stmt       *st;
    nd_store_config_t  *c;

    c = &op->config;

    st = sq->x[ND_SQLITE_TAGS_DELETE];
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, id);
    rc = nd_store_sqlite_step_int(st, NULL);
    if (rc != SQLITE_OK || !insert) {
        return rc;
    }

    p = c->tags.data;
    end = p + c->tags.len;
    st = sq->x[ND_SQLITE_TAG_INSERT];

    while (p < end) {
        comma = memchr(p, ',', end - p);
        if (comma == NULL) {
            comma = end;
        }
        tag.data = p;
        tag.len = comma - p;
        p = comma + 1;

        if (tag.len == 0) {
            continue;
        }

        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, id);
        nd_store_sqlite_bt(st, 2, &tag);
        nd_store_sqlite_bt(st, 3, &c->data_id);
        nd_store_sqlite_bt(st, 4, &c->group);
        nd_store_sqlite_bt(st, 5, &c->tenant);
        rc = nd_store_sqlite_step_int(st, NULL);
        if (rc != SQLITE_OK) {
            return rc;
        }
    }

    return SQLITE_OK;
}


/* SELECT the key's row (x: ND_SQLITE_CFG_FIND, or ND_SQLITE_GRAY_FIND
 * for its gray_name); SQLITE_OK with *id 0 when absent */
static int
nd_store_sqlite_find(nd_store_sqlite_t *sq, nd_store_op_t *op,
    nd_sqlite_x_e x, int64_t *id, int *md5_ok, int64_t *created)
{
    int                  rc;
    size_t               n;
    const u_char        *md5;
    sqlite3_stmt        *st;
    nd_store_config_t   *c;

    c = &op->config;
    st = sq->x[x];
    sqlite3_reset(st);
    nd_store_sqlite_bt(st, 1, &c->data_id);
    nd_store_sqlite_bt(st, 2, &c->group);
    nd_store_sqlite_bt(st, 3, &c->tenant);
    if (x == ND_SQLITE_GRAY_FIND) {
        nd_store_sqlite_bt(st, 4, &c->gray_name);
    }

    *id = 0;
    *md5_ok = 1;
    *created = 0;
    rc = sqlite3_step(st);

    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        md5 = sqlite3_column_text(st, 1);
        n = md5 ? (size_t) sqlite3_column_bytes(st, 1) : 0;
        *md5_ok = n == 0 || (n == op->cas_md5.len
                             && memcmp(md5, op->cas_md5.data, n) == 0);
        *created = sqlite3_column_int64(st, 2);
        rc = SQLITE_DONE;
    }

    sqlite3_reset(st);

    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}


/* a write's first steps: the key's row (x: its find), a lost CAS
 * (publish) or an absent row (delete) refused with write_status 1, then
 * the next change sequence.  Callers stop at an error or a refusal */
static int
nd_store_sqlite_write_start(nd_store_sqlite_t *sq, nd_store_op_t *op,
    nd_sqlite_x_e x, int delete, int64_t *id, int64_t *created)
{
    int  rc, md5_ok;

    rc = nd_store_sqlite_find(sq, op, x, id, &md5_ok, created);
    if (rc != SQLITE_OK) {
        return rc;
    }

    if (delete ? *id == 0 : (*id && op->cas && !md5_ok)) {
        op->write_status = 1;
        return SQLITE_OK;
    }

    return nd_store_sqlite_next_seq(sq, &op->seq);
}


static int
nd_store_sqlite_publish(nd_store_sqlite_t *sq, nd_store_op_t *op)
{
    int                 rc;
    int64_t             id, created;
    sqlite3_stmt       *st;
    nd_store_config_t  *c;

    c = &op->config;

    rc = nd_store_sqlite_write_start(sq, op, ND_SQLITE_CFG_FIND, 0, &id,
                                     &created);
    if (rc != SQLITE_OK || op->write_status) {
        return rc;
    }

    if (id) {
        /* history keeps the row as it was (Nacos: op U, old content) */
        rc = nd_store_sqlite_history(sq, op, id, "U");
        if (rc != SQLITE_OK) {
            return rc;
        }

        st = sq->x[ND_SQLITE_CFG_UPDATE];
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, id);
        nd_store_sqlite_bt(st, 2, &c->content);
        nd_store_sqlite_bt(st, 3, &c->md5);
        sqlite3_bind_int64(st, 4, c->gmt_modified);
        nd_store_sqlite_bt(st, 5, &c->src_user);
        nd_store_sqlite_bt(st, 6, &c->src_ip);
        nd_store_sqlite_bt(st, 7, &c->app_name);
        nd_store_sqlite_bt(st, 8, &c->desc);
        nd_store_sqlite_bt(st, 9, &c->use);
        nd_store_sqlite_bt(st, 10, &c->effect);
        nd_store_sqlite_bt(st, 11, &c->type);
        nd_store_sqlite_bt(st, 12, &c->schema);
        nd_store_sqlite_bt(st, 13, &c->encrypted_data_key);
        sqlite3_bind_int64(st, 14, op->seq);
        rc = nd_store_sqlite_step_int(st, NULL);
        if (rc != SQLITE_OK) {
            return rc;
        }

        c->gmt_create = created;

    } else {
        st = sq->x[ND_SQLITE_CFG_INSERT];
        sqlite3_reset(st);
        nd_store_sqlite_bt(st, 1, &c->data_id);
        nd_store_sqlite_bt(st, 2, &c->group);
        nd_store_sqlite_bt(st, 3, &c->tenant);
        nd_store_sqlite_bt(st, 4, &c->content);
        nd_store_sqlite_bt(st, 5, &c->md5);
        sqlite3_bind_int64(st, 6, c->gmt_modified);
        nd_store_sqlite_bt(st, 7, &c->src_user);
        nd_store_sqlite_bt(st, 8, &c->src_ip);
        nd_store_sqlite_bt(st, 9, &c->app_name);
        nd_store_sqlite_bt(st, 10, &c->desc);
        nd_store_sqlite_bt(st, 11, &c->use);
        nd_store_sqlite_bt(st, 12, &c->effect);
        nd_store_sqlite_bt(st, 13, &c->type);
        nd_store_sqlite_bt(st, 14, &c->schema);
        nd_store_sqlite_bt(st, 15, &c->encrypted_data_key);
        sqlite3_bind_int64(st, 16, op->seq);
        rc = nd_store_sqlite_step_int(st, NULL);
        if (rc != SQLITE_OK) {
            return rc;
        }
        id = sqlite3_last_insert_rowid(sq->db);

        /* history of an insert: the new row (Nacos: op I) */
        st = sq->x[ND_SQLITE_HIS_INSERT];
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, id);
        nd_store_sqlite_bt(st, 2, &c->data_id);
        nd_store_sqlite_bt(st, 3, &c->group);
        nd_store_sqlite_bt(st, 4, &c->tenant);
        nd_store_sqlite_bt(st, 5, &c->app_name);
        nd_store_sqlite_bt(st, 6, &c->content);
        nd_store_sqlite_bt(st, 7, &c->md5);
        sqlite3_bind_int64(st, 8, c->gmt_modified);
        nd_store_sqlite_bt(st, 9, &c->src_user);
        nd_store_sqlite_bt(st, 10, &c->src_ip);
        nd_store_sqlite_bt(st, 11, &c->encrypted_data_key);
        sqlite3_bind_int64(st, 12, op->seq);
        rc = nd_store_sqlite_step_int(st, NULL);
        if (rc != SQLITE_OK) {
            return rc;
        }

        c->gmt_create = c->gmt_modified;

        if (c->tags.len == 0) {
            /* a new id (AUTOINCREMENT: never reused) has no tag rows */
            c->id = id;
            return SQLITE_OK;
        }
    }

    c->id = id;

    return nd_store_sqlite_tags(sq, op, id, 1);
}


static int
nd_store_sqlite_gray_history(nd_store_sqlite_t *sq, nd_store_op_t *op,
    int64_t id, const char *op_type)
{
    sqlite3_stmt       *st;
    nd_store_config_t  *c;

    c = &op->config;
    st = sq->x[ND_SQLITE_HIS_FROM_GRAY];
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, c->gmt_modified);
    nd_store_sqlite_bt(st, 3, &c->src_user);
    nd_store_sqlite_bt(st, 4, &c->src_ip);
    sqlite3_bind_text(st, 5, op_type, 1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, op->seq);
    if (c->ext_info.len) {
        nd_store_sqlite_bt(st, 7, &c->ext_info);
    } else {
        sqlite3_bind_null(st, 7);
    }

    return nd_store_sqlite_step_int(st, NULL);
}


/* a formal row (its history and tags) or, gray, a gray row */
static int
nd_store_sqlite_delete(nd_store_sqlite_t *sq, nd_store_op_t *op, int gray)
{
    int            rc;
    int64_t        id, created;
    sqlite3_stmt  *st;

    rc = nd_store_sqlite_write_start(sq, op, gray ? ND_SQLITE_GRAY_FIND
                                                  : ND_SQLITE_CFG_FIND,
                                     1, &id, &created);
    if (rc != SQLITE_OK || op->write_status) {
        return rc;
    }

    if (gray) {
        rc = nd_store_sqlite_gray_history(sq, op, id, "D");
        op->config.gmt_create = created;

    } else {
        rc = nd_store_sqlite_history(sq, op, id, "D");
        if (rc == SQLITE_OK) {
            rc = nd_store_sqlite_tags(sq, op, id, 0);
        }
    }

    if (rc != SQLITE_OK) {
        return rc;
    }

    st = sq->x[gray ? ND_SQLITE_GRAY_DELETE : ND_SQLITE_CFG_DELETE];
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, id);
    op->config.id = id;

    return nd_store_sqlite_step_int(st, NULL);
}


static int
nd_store_sqlite_gray_publish(nd_store_sqlite_t *sq, nd_store_op_t *op)
{
    int                 rc;
    int64_t             id, created;
    sqlite3_stmt       *st;
    nd_store_config_t  *c;

    c = &op->config;

    rc = nd_store_sqlite_write_start(sq, op, ND_SQLITE_GRAY_FIND, 0, &id,
                                     &created);
    if (rc != SQLITE_OK || op->write_status) {
        return rc;
    }

    if (id) {
        rc = nd_store_sqlite_gray_history(sq, op, id, "U");
        if (rc != SQLITE_OK) {
            return rc;
        }

        st = sq->x[ND_SQLITE_GRAY_UPDATE];
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, id);
        nd_store_sqlite_bt(st, 2, &c->gray_rule);
        nd_store_sqlite_bt(st, 3, &c->content);
        nd_store_sqlite_bt(st, 4, &c->md5);
        nd_store_sqlite_bt(st, 5, &c->app_name);
        nd_store_sqlite_bt(st, 6, &c->src_user);
        nd_store_sqlite_bt(st, 7, &c->src_ip);
        sqlite3_bind_int64(st, 8, c->gmt_modified);
        nd_store_sqlite_bt(st, 9, &c->encrypted_data_key);
        sqlite3_bind_int64(st, 10, op->seq);
        rc = nd_store_sqlite_step_int(st, NULL);
        if (rc != SQLITE_OK) {
            return rc;
        }

        c->gmt_create = created;

    } else {
        st = sq->x[ND_SQLITE_GRAY_INSERT];
        sqlite3_reset(st);
        nd_store_sqlite_bt(st, 1, &c->data_id);
        nd_store_sqlite_bt(st, 2, &c->group);
        nd_store_sqlite_bt(st, 3, &c->tenant);
        nd_store_sqlite_bt(st, 4, &c->gray_name);
        nd_store_sqlite_bt(st, 5, &c->gray_rule);
        nd_store_sqlite_bt(st, 6, &c->content);
        nd_store_sqlite_bt(st, 7, &c->md5);
        nd_store_sqlite_bt(st, 8, &c->app_name);
        nd_store_sqlite_bt(st, 9, &c->src_user);
        nd_store_sqlite_bt(st, 10, &c->src_ip);
        sqlite3_bind_int64(st, 11, c->gmt_modified);
        nd_store_sqlite_bt(st, 12, &c->encrypted_data_key);
        sqlite3_bind_int64(st, 13, op->seq);
        rc = nd_store_sqlite_step_int(st, NULL);
        if (rc != SQLITE_OK) {
            return rc;
        }
        id = sqlite3_last_insert_rowid(sq->db);

        rc = nd_store_sqlite_gray_history(sq, op, id, "I");
        if (rc != SQLITE_OK) {
            return rc;
        }

        c->gmt_create = c->gmt_modified;
    }

    c->id = id;

    return SQLITE_OK;
}


/* one op, inside the caller's transaction for writes */
static int
nd_store_sqlite_run(nd_store_sqlite_t *sq, nd_store_op_t *op)
{
    int              rc;
    nd_uint_t        i, n;
    nd_store_stmt_t  plan[ND_STORE_PLAN_MAX];

    op->rows.nelts = 0;
    op->affected = 0;
    op->write_status = 0;
    op->seq = 0;

    if (op->type == ND_STORE_CONFIG_PUBLISH) {
        return nd_store_sqlite_publish(sq, op);
    }

    if (op->type == ND_STORE_CONFIG_DELETE) {
        return nd_store_sqlite_delete(sq, op, 0);
    }

    if (op->type == ND_STORE_GRAY_PUBLISH) {
        return nd_store_sqlite_gray_publish(sq, op);
    }

    if (op->type == ND_STORE_GRAY_DELETE) {
        return nd_store_sqlite_delete(sq, op, 1);
    }

    n = nd_store_plan(op, plan);

    for (i = 0; i < n; i++) {
        rc = nd_store_sqlite_exec(sq, op, &plan[i]);
        if (rc != SQLITE_OK) {
            return rc;
        }
    }

    return SQLITE_OK;
}


/* the change sequence as the transaction begins */
static int
nd_store_sqlite_seq_get(nd_store_sqlite_t *sq)
{
    int            rc;
    sqlite3_stmt  *st;

    st = sq->x[ND_SQLITE_SEQ_GET];
    sqlite3_reset(st);
    sq->seq = -1;

    rc = nd_store_sqlite_step_int(st, &sq->seq);
    if (rc == SQLITE_OK && sq->seq < 0) {
        /* the schema makes the row; without it there is no sequence */
        return SQLITE_CORRUPT;
    }

    return rc;
}


/* the change sequence as the transaction ends, when writes took any */
static int
nd_store_sqlite_seq_set(nd_store_sqlite_t *sq, int64_t first)
{
    sqlite3_stmt  *st;

    if (sq->seq == first) {
        return SQLITE_OK;
    }

    st = sq->x[ND_SQLITE_SEQ_SET];
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, sq->seq);

    return nd_store_sqlite_step_int(st, NULL);
}


/*
 * consecutive writes: one transaction.  A write that fails rolls the
 * transaction back; the writes before it run again in a new one, the
 * failed one is answered with its error, and the rest go on in another:
 * group commit does not change outcomes.  (A savepoint per write did the
 * same, but made SQLite copy every page a write touched that was already
 * dirty into the statement journal, spilled to a temporary file past 64
 * KB: for a failure that validated input next to never meets.)
 */
static void
nd_store_sqlite_write_group(nd_store_sqlite_t *sq, nd_store_op_t **ops,
    nd_uint_t n)
{
    int        rc;
    int64_t    first;
    nd_uint_t  i;

    if (n == 0) {
        return;
    }

    rc = nd_store_sqlite_x(sq, ND_SQLITE_BEGIN);
    if (rc == SQLITE_OK) {
        rc = nd_store_sqlite_seq_get(sq);
        if (rc != SQLITE_OK) {
            nd_store_sqlite_x(sq, ND_SQLITE_ROLLBACK);
        }
    }

    if (rc != SQLITE_OK) {
        for (i = 0; i < n; i++) {
            nd_store_sqlite_error(sq, ops[i], rc);
        }
        return;
    }

    first = sq->seq;

    for (i = 0; i < n; i++) {
        rc = nd_store_sqlite_run(sq, ops[i]);
        if (rc != SQLITE_OK) {
            break;
        }
    }

    if (i < n) {
        nd_store_sqlite_error(sq, ops[i], rc);
        ops[i]->seq = 0;
        if (!sqlite3_get_autocommit(sq->db)) {
            nd_store_sqlite_x(sq, ND_SQLITE_ROLLBACK);
        }

        nd_store_sqlite_write_group(sq, ops, i);
        nd_store_sqlite_write_group(sq, ops + i + 1, n - i - 1);
        return;
    }

    rc = nd_store_sqlite_seq_set(sq, first);
    if (rc == SQLITE_OK) {
        rc = nd_store_sqlite_x(sq, ND_SQLITE_COMMIT);
        if (rc == SQLITE_OK) {
            return;
        }
    }

    /* nothing of the group is committed: every op failed */
    for (i = 0; i < n; i++) {
        if (ops[i]->rc == ND_OK) {
            nd_store_sqlite_error(sq, ops[i], rc);
            ops[i]->seq = 0;
        }
    }

    if (!sqlite3_get_autocommit(sq->db)) {
        nd_store_sqlite_x(sq, ND_SQLITE_ROLLBACK);
    }
}


static void
nd_store_sqlite_batch(nd_store_sqlite_t *sq, nd_store_op_t **ops,
    nd_uint_t n)
{
    int        rc;
    nd_uint_t  i, j;

    for (i = 0; i < n; /* void */ ) {

        if (!nd_store_op_is_write(ops[i])) {
            rc = nd_store_sqlite_run(sq, ops[i]);
            if (rc != SQLITE_OK) {
                nd_store_sqlite_error(sq, ops[i], rc);
            }
            i++;
            continue;
        }

        for (j = i; j < n && nd_store_op_is_write(ops[j]); j++) {
            /* void */
        }

        nd_store_sqlite_write_group(sq, ops + i, j - i);
        i = j;
    }
}


/*
 * Under the mutex: wait, at most commit_gather, until the group's target
 * is queued (submit signals when it is); a timeout lowers the target.
 */
static void
nd_store_sqlite_gather(nd_store_sqlite_t *sq)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += sq->scf->commit_gather / 1000;
    ts.tv_nsec += (long) (sq->scf->commit_gather % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }

    while (sq->njobs < sq->want && !sq->quit) {
        if (pthread_cond_timedwait(&sq->cond, &sq->mutex, &ts) != 0) {
            sq->want = sq->njobs;
            return;
        }
    }
}


static void *
nd_store_sqlite_thread(void *arg)
{
    nd_uint_t           n;
    nd_queue_t          taken, *q;
    nd_store_op_t     **ops;
    nd_store_sqlite_t  *sq = arg;

    ops = nd_alloc(sq->batch_max * sizeof(nd_store_op_t *));

    for ( ;; ) {
        pthread_mutex_lock(&sq->mutex);

        while (nd_queue_empty(&sq->jobs) && !sq->quit) {
            pthread_cond_wait(&sq->cond, &sq->mutex);
        }

        if (nd_queue_empty(&sq->jobs) && sq->quit) {
            pthread_mutex_unlock(&sq->mutex);
            break;
        }

        if (sq->njobs < sq->want && !sq->quit) {
            nd_store_sqlite_gather(sq);
        }

        nd_queue_init(&taken);
        n = 0;
        while (!nd_queue_empty(&sq->jobs) && n < sq->batch_max && ops) {
            q = nd_queue_head(&sq->jobs);
            nd_queue_remove(q);
            ops[n++] = nd_queue_data(q, nd_store_op_t, queue);
            sq->njobs--;
        }

        pthread_mutex_unlock(&sq->mutex);

        if (ops == NULL) {
            /* no memory for the batch array: nothing can run */
            pthread_mutex_lock(&sq->mutex);
            while (!nd_queue_empty(&sq->jobs)) {
                q = nd_queue_head(&sq->jobs);
                nd_queue_remove(q);
                nd_store_fail(nd_queue_data(q, nd_store_op_t, queue), 500,
                              "out of memory");
                nd_queue_insert_tail(&sq->results, q);
            }
            sq->njobs = 0;
            pthread_mutex_unlock(&sq->mutex);
            ev_async_send(sq->loop, &sq->async);
            continue;
        }

        nd_store_sqlite_batch(sq, ops, n);

        pthread_mutex_lock(&sq->mutex);
        for (nd_uint_t i = 0; i < n; i++) {
            nd_queue_insert_tail(&sq->results, &ops[i]->queue);
        }
        sq->want = nd_store_gather_want(sq->scf, n, sq->njobs);
        sq->groups++;
        sq->group_ops += n;
        pthread_mutex_unlock(&sq->mutex);

        ev_async_send(sq->loop, &sq->async);
    }

    nd_free(ops);

    return NULL;
}


/* loop side */

static void
nd_store_sqlite_async(struct ev_loop *loop, ev_async *w, int revents)
{
    nd_queue_t          done, *q;
    nd_store_op_t      *op;
    nd_store_sqlite_t  *sq = w->data;

    nd_queue_init(&done);

    pthread_mutex_lock(&sq->mutex);
    if (!nd_queue_empty(&sq->results)) {
        /* move the whole list */
        done.next = sq->results.next;
        done.prev = sq->results.prev;
        done.next->prev = &done;
        done.prev->next = &done;
        nd_queue_init(&sq->results);
    }
    sq->scf->groups = sq->groups;
    sq->scf->group_ops = sq->group_ops;
    pthread_mutex_unlock(&sq->mutex);

    while (!nd_queue_empty(&done)) {
        q = nd_queue_head(&done);
        nd_queue_remove(q);
        op = nd_queue_data(q, nd_store_op_t, queue);
        nd_store_complete(op);
    }
}


static void
nd_store_sqlite_submit(nd_cycle_t *cycle, nd_store_op_t *op)
{
    nd_store_sqlite_t  *sq;

    sq = nd_store_conf(cycle)->sqlite;

    pthread_mutex_lock(&sq->mutex);
    nd_queue_insert_tail(&sq->jobs, &op->queue);
    sq->njobs++;
    /* the thread waits for the first job, or gathers up to want */
    if (sq->njobs == 1 || sq->njobs >= sq->want) {
        pthread_cond_signal(&sq->cond);
    }
    pthread_mutex_unlock(&sq->mutex);
}


static nd_int_t
nd_store_sqlite_available(nd_cycle_t *cycle)
{
    nd_store_sqlite_t  *sq;

    sq = nd_store_conf(cycle)->sqlite;

    return sq && sq->running ? ND_OK : ND_DECLINED;
}


/* start-up, before the loop runs: open, schema, statements, cache */

nd_int_t
nd_store_sqlite_exec_sql(nd_store_sqlite_t *sq, nd_log_t *log,
    const char *sql, const char *what)
{
    char  *err;

    err = NULL;

    if (sqlite3_exec(sq->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        nd_log_error(ND_LOG_EMERG, log, 0, "sqlite: %s failed: %s", what,
                     err ? err : sqlite3_errmsg(sq->db));
        sqlite3_free(err);
        return ND_ERROR;
    }

    return ND_OK;
}


typedef struct {
    nd_store_sqlite_t  *sq;
    nd_log_t           *log;
    const char         *path;
} nd_store_sqlite_schema_t;


static nd_int_t
nd_store_sqlite_section(void *data, int64_t version, const char *sql,
    size_t len)
{
    int                        rc;
    char                      *err, *text;
    sqlite3_stmt              *st;
    nd_store_sqlite_schema_t  *s = data;

    text = nd_alloc(len + 1);
    if (text == NULL) {
        return ND_ERROR;
    }
    memcpy(text, sql, len);
    text[len] = '\0';

    err = NULL;
    rc = sqlite3_exec(s->sq->db, text, NULL, NULL, &err);
    nd_free(text);

    if (rc != SQLITE_OK) {
        nd_log_error(ND_LOG_EMERG, s->log, 0,
                     "sqlite: schema \"%s\" version %lld failed: %s",
                     s->path, (long long) version,
                     err ? err : sqlite3_errmsg(s->sq->db));
        sqlite3_free(err);
        return ND_ERROR;
    }

    if (sqlite3_prepare_v2(s->sq->db,
                           "INSERT INTO nd_schema_version (version, applied)"
                           " VALUES (?1, ?2)", -1, &st, NULL) != SQLITE_OK)
    {
        return ND_ERROR;
    }
    sqlite3_bind_int64(st, 1, version);
    sqlite3_bind_int64(st, 2, (int64_t) nd_time_now_msec());
    rc = sqlite3_step(st);
    sqlite3_finalize(st);

    return rc == SQLITE_DONE ? ND_OK : ND_ERROR;
}


static nd_int_t
nd_store_sqlite_schema(nd_store_sqlite_t *sq, nd_store_conf_t *scf,
    nd_log_t *log)
{
    int                        rc;
    char                      *text, path[PATH_MAX];
    size_t                     len;
    int64_t                    current, top;
    sqlite3_stmt              *st;
    nd_store_sqlite_schema_t   s;

    snprintf(path, sizeof(path), "%s/sqlite.sql", scf->schema_dir_z);

    text = nd_store_schema_text(scf, "sqlite.sql", &len, log);
    if (text == NULL) {
        return ND_ERROR;
    }

    if (nd_store_sqlite_exec_sql(sq, log,
            "BEGIN IMMEDIATE;"
            "CREATE TABLE IF NOT EXISTS nd_schema_version ("
            " version INTEGER NOT NULL PRIMARY KEY,"
            " applied INTEGER NOT NULL)", "schema lock") != ND_OK)
    {
        nd_free(text);
        return ND_ERROR;
    }

    current = 0;
    if (sqlite3_prepare_v2(sq->db, "SELECT coalesce(max(version), 0) "
                           "FROM nd_schema_version", -1, &st, NULL)
        == SQLITE_OK)
    {
        if (sqlite3_step(st) == SQLITE_ROW) {
            current = sqlite3_column_int64(st, 0);
        }
        sqlite3_finalize(st);
    }

    s.sq = sq;
    s.log = log;
    s.path = path;

    top = nd_store_schema_walk(text, len, current, nd_store_sqlite_section,
                               &s);
    nd_free(text);

    if (top < 0 || top < current) {
        sqlite3_exec(sq->db, "ROLLBACK", NULL, NULL, NULL);
        if (top >= 0) {
            nd_log_error(ND_LOG_EMERG, log, 0,
                         "sqlite: the database has schema version %lld, "
                         "newer than \"%s\" (%lld)", (long long) current,
                         path, (long long) top);
        } else {
            nd_log_error(ND_LOG_EMERG, log, 0,
                         "sqlite: schema \"%s\" not applied", path);
        }
        return ND_ERROR;
    }

    rc = nd_store_sqlite_exec_sql(sq, log, "COMMIT", "schema commit");
    if (rc != ND_OK) {
        sqlite3_exec(sq->db, "ROLLBACK", NULL, NULL, NULL);
        return ND_ERROR;
    }

    if (top > current) {
        nd_log_error(ND_LOG_NOTICE, log, 0,
                     "sqlite: schema version %lld -> %lld applied",
                     (long long) current, (long long) top);
    }

    return ND_OK;
}


static nd_int_t
nd_store_sqlite_start(nd_cycle_t *cycle)
{
    int                 rc, i;
    char               *dir, *slash;
    sigset_t            all, old;
    pthread_condattr_t  cattr;
    nd_store_conf_t    *scf;
    nd_store_sqlite_t  *sq;

    scf = nd_store_conf(cycle);

    sq = nd_pcalloc(cycle->pool, sizeof(nd_store_sqlite_t));
    if (sq == NULL) {
        return ND_ERROR;
    }
    scf->sqlite = sq;
    sq->scf = scf;
    sq->batch_max = (nd_uint_t) scf->commit_batch;
    nd_queue_init(&sq->jobs);
    nd_queue_init(&sq->results);

    /* the directory of the file: data/ under the prefix */
    dir = nd_alloc(strlen(scf->sqlite_path_z) + 1);
    if (dir) {
        strcpy(dir, scf->sqlite_path_z);
        slash = strrchr(dir, '/');
        if (slash && slash != dir) {
            *slash = '\0';
            if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
                nd_log_error(ND_LOG_EMERG, cycle->log, errno,
                             "sqlite: mkdir(\"%s\") failed", dir);
                nd_free(dir);
                return ND_ERROR;
            }
        }
        nd_free(dir);
    }

    /* one thread at a time uses the connection (this one until the
     * writer starts, then the writer): no mutex per call, no global one
     * per allocation (refused once SQLite is initialized: harmless) */
    (void) sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);

    if (nd_store_sqlite_vfs_init(&sq->vfs, "nd-wal") != ND_OK) {
        nd_log_error(ND_LOG_EMERG, cycle->log, 0,
                     "sqlite: cannot register the WAL VFS");
        return ND_ERROR;
    }

    rc = sqlite3_open_v2(scf->sqlite_path_z, &sq->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                         | SQLITE_OPEN_NOMUTEX, sq->vfs.zName);
    if (rc != SQLITE_OK) {
        nd_log_error(ND_LOG_EMERG, cycle->log, 0,
                     "sqlite: cannot open \"%s\": %s", scf->sqlite_path_z,
                     sq->db ? sqlite3_errmsg(sq->db) : sqlite3_errstr(rc));
        return ND_ERROR;
    }

    sqlite3_busy_timeout(sq->db, 5000);

    if (nd_store_sqlite_exec_sql(sq, cycle->log,
            "PRAGMA journal_mode = WAL;"
            "PRAGMA synchronous = FULL;"
            "PRAGMA case_sensitive_like = ON;"
            "PRAGMA foreign_keys = OFF", "PRAGMA") != ND_OK
        || nd_store_sqlite_schema(sq, scf, cycle->log) != ND_OK)
    {
        return ND_ERROR;
    }

    for (i = 0; i < ND_STORE_SQL_N; i++) {
        if (nd_store_sqlite_sql[i] == NULL) {
            continue;
        }
        if (sqlite3_prepare_v3(sq->db, nd_store_sqlite_sql[i], -1,
                               SQLITE_PREPARE_PERSISTENT, &sq->stmts[i],
                               NULL) != SQLITE_OK)
        {
            nd_log_error(ND_LOG_EMERG, cycle->log, 0,
                         "sqlite: statement %d: %s", i,
                         sqlite3_errmsg(sq->db));
            return ND_ERROR;
        }
    }

    for (i = 0; i < ND_SQLITE_X_N; i++) {
        if (sqlite3_prepare_v3(sq->db, nd_store_sqlite_x_sql[i], -1,
                               SQLITE_PREPARE_PERSISTENT, &sq->x[i], NULL)
            != SQLITE_OK)
        {
            nd_log_error(ND_LOG_EMERG, cycle->log, 0,
                         "sqlite: statement x%d: %s", i,
                         sqlite3_errmsg(sq->db));
            return ND_ERROR;
        }
    }

    /* the cache: the first chunk now, the rest once the loop runs */
    rc = nd_store_sqlite_load(sq, cycle);
    if (rc != SQLITE_OK) {
        nd_log_error(ND_LOG_EMERG, cycle->log, 0,
                     "sqlite: loading configs failed: %s",
                     rc == SQLITE_NOMEM ? "out of memory"
                     : sq->ldb ? sqlite3_errmsg(sq->ldb)
                               : sqlite3_errstr(rc));
        return ND_ERROR;
    }

    nd_log_error(ND_LOG_INFO, cycle->log, 0,
                 "sqlite: \"%s\" open, %lu configs%s, change sequence %lld",
                 scf->sqlite_path_z, (unsigned long) sq->loaded,
                 sq->loading ? " (more loading)" : "",
                 (long long) scf->last_seq);

    /* the gather's deadline is on the monotonic clock */
    if (pthread_mutex_init(&sq->mutex, NULL) != 0
        || pthread_condattr_init(&cattr) != 0)
    {
        return ND_ERROR;
    }

    rc = pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
    if (rc == 0) {
        rc = pthread_cond_init(&sq->cond, &cattr);
    }
    pthread_condattr_destroy(&cattr);

    if (rc != 0) {
        return ND_ERROR;
    }

    ev_async_init(&sq->async, nd_store_sqlite_async);
    sq->async.data = sq;
    sq->loop = cycle->loop;
    ev_async_start(cycle->loop, &sq->async);

    /* signals stay with the loop thread */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = pthread_create(&sq->thread, NULL, nd_store_sqlite_thread, sq);
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    if (rc != 0) {
        nd_log_error(ND_LOG_EMERG, cycle->log, rc,
                     "sqlite: pthread_create() failed");
        return ND_ERROR;
    }

    sq->running = 1;
    nd_module_ready(cycle, &nd_store_module);

    return ND_OK;
}


static void
nd_store_sqlite_stop(nd_cycle_t *cycle)
{
    nd_store_sqlite_t  *sq;

    /* queued operations drain: each one holds cycle->busy; a load still
     * going stops where it is (misses still read its snapshot) */
    sq = nd_store_conf(cycle)->sqlite;

    if (sq && sq->loading) {
        nd_timer_stop(&sq->load_timer);
    }
}


static void
nd_store_sqlite_exit(nd_cycle_t *cycle)
{
    int                 i;
    nd_queue_t         *q;
    nd_store_op_t      *op;
    nd_store_sqlite_t  *sq;

    sq = nd_store_conf(cycle)->sqlite;
    if (sq == NULL) {
        return;
    }

    if (sq->running) {
        pthread_mutex_lock(&sq->mutex);
        sq->quit = 1;
        pthread_cond_signal(&sq->cond);
        pthread_mutex_unlock(&sq->mutex);
        pthread_join(sq->thread, NULL);
        sq->running = 0;

        ev_async_stop(cycle->loop, &sq->async);

        /* finished but never delivered */
        while (!nd_queue_empty(&sq->results)) {
            q = nd_queue_head(&sq->results);
            nd_queue_remove(q);
            op = nd_queue_data(q, nd_store_op_t, queue);
            nd_destroy_pool(op->pool);
        }

        pthread_mutex_destroy(&sq->mutex);
        pthread_cond_destroy(&sq->cond);
    }

    if (sq->loading) {
        nd_timer_stop(&sq->load_timer);
    }
    nd_store_sqlite_load_end(sq);

    for (i = 0; i < ND_STORE_SQL_N; i++) {
        sqlite3_finalize(sq->stmts[i]);
    }
    for (i = 0; i < ND_SQLITE_X_N; i++) {
        sqlite3_finalize(sq->x[i]);
    }

    if (sq->db) {
        sqlite3_close(sq->db);
        sq->db = NULL;
    }

    if (sq->vfs.zName) {
        sqlite3_vfs_unregister(&sq->vfs);
        sq->vfs.zName = NULL;
    }
}

/*
 * The sqlite backend's warm start: the config cache loads from a
 * read-only connection of the loop thread, a chunk a loop pass, while the
 * writer thread (nd_store_sqlite.c) already runs.  See docs/store.md.
 */
#include <nd_store_sqlite.h>


static const char  *nd_store_sqlite_l_sql[ND_SQLITE_L_N] = {
    [ND_SQLITE_L_SEQ] = "SELECT seq FROM nd_change_seq WHERE id = 1",
    [ND_SQLITE_L_HAS_TAGS] =
        "SELECT EXISTS (SELECT 1 FROM config_tags_relation)",
    [ND_SQLITE_L_GRAY] =
        "SELECT " ND_STORE_GRAY_COLS "FROM config_info_gray g",
    /* table order: keys are unique, no order needed (an ORDER BY made
     * SQLite walk an index and fetch each row by id) */
    [ND_SQLITE_L_FORMAL] = "SELECT " ND_SQLITE_CFG_COLS "FROM config_info c",
    /* no tags anywhere (the usual case): no subquery a row */
    [ND_SQLITE_L_FORMAL_NOTAGS] =
        "SELECT " ND_SQLITE_CFG_BASE "NULL, NULL, NULL FROM config_info c",
    [ND_SQLITE_L_KEY] =
        "SELECT " ND_SQLITE_CFG_COLS "FROM config_info c "
        "WHERE c.data_id = ?1 AND c.group_id = ?2 AND c.tenant_id = ?3",
    [ND_SQLITE_L_ID] =
        "SELECT " ND_SQLITE_CFG_COLS "FROM config_info c WHERE c.id = ?1",
};


/* warm start: the gray rows, then the formal rows in chunks of
 * load_chunk, one a loop pass, read on the loop thread from a second,
 * read-only connection whose one read transaction (the scan's statement
 * stays open between chunks) sees the database as it was before the writer
 * started.  A miss reads that same snapshot, and what the writer delivers
 * meanwhile is newer than all of it, so the cache plus the snapshot is the
 * delivered state: a loaded row never replaces a newer one (sequence
 * order) and a delete delivered during the load leaves a tombstone the load
 * does not pass (nd_store_cache.c).  See docs/store.md. */

static int
nd_store_sqlite_load_rows(nd_store_sqlite_t *sq, sqlite3_stmt *st,
    nd_uint_t max, int *done)
{
    int               rc;
    nd_uint_t         n;
    nd_store_op_t    *op;
    nd_store_row_t    row;
    nd_store_conf_t  *scf;

    scf = sq->scf;
    op = sq->load_op;

    row.ctx = st;
    row.get = nd_store_sqlite_get;
    row.get_int = nd_store_sqlite_get_int;

    *done = 0;
    rc = SQLITE_OK;
    scf->loading = 1;

    /* each row straight from SQLite's row into its cache entry (one
     * copy; the rows are never all in memory twice) */
    for (n = 0; max == 0 || n < max; n++) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
            sqlite3_reset(st);
            *done = 1;
            rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
            break;
        }

        op->rows.nelts = 0;
        if (nd_store_decode_row(op, ND_STORE_ROWS_CONFIG, &row) != ND_OK) {
            sqlite3_reset(st);
            rc = SQLITE_NOMEM;
            break;
        }
        nd_store_cache_load(scf, op);
        sq->loaded++;
        rc = SQLITE_OK;
    }

    op->rows.nelts = 0;
    scf->loading = 0;

    return rc;
}


/* the load is over (or abandoned): its connection goes */
void
nd_store_sqlite_load_end(nd_store_sqlite_t *sq)
{
    nd_uint_t  i;

    sq->loading = 0;
    sq->scf->lazy = 0;
    nd_store_cache_tombs_free(sq->scf);

    for (i = 0; i < ND_SQLITE_L_N; i++) {
        sqlite3_finalize(sq->load[i]);
        sq->load[i] = NULL;
    }

    if (sq->ldb) {
        sqlite3_close(sq->ldb);
        sq->ldb = NULL;
    }

    if (sq->load_op) {
        nd_store_op_free(sq->load_op);
        sq->load_op = NULL;
    }
}


static void
nd_store_sqlite_load_chunk(nd_timer_t *t)
{
    int                 rc, done;
    nd_store_conf_t    *scf;
    nd_store_sqlite_t  *sq;

    sq = t->data;
    scf = sq->scf;

    rc = nd_store_sqlite_load_rows(sq, sq->formal,
                                   (nd_uint_t) scf->load_chunk, &done);

    if (rc != SQLITE_OK) {
        /* its snapshot is gone with the reset: the misses of a restarted
         * scan could read rows newer than the cache; so no restart */
        nd_log_error(ND_LOG_ALERT, scf->cycle->log, 0,
                     "sqlite: loading configs failed after %lu: %s",
                     (unsigned long) sq->loaded,
                     rc == SQLITE_NOMEM ? "out of memory"
                                        : sqlite3_errmsg(sq->ldb));
        return;
    }

    if (!done) {
        /* the next loop pass (tests space the chunks out) */
        nd_timer_start(&sq->load_timer, scf->load_interval, 0);
        return;
    }

    nd_log_error(ND_LOG_INFO, scf->cycle->log, 0,
                 "sqlite: %lu configs loaded", (unsigned long) sq->loaded);

    nd_store_sqlite_load_end(sq);
}


/* a cache miss while the formal rows load: the row of the load's
 * snapshot, cached (no event: it did not change) */
const nd_store_config_t *
nd_store_sqlite_miss(nd_cycle_t *cycle, const nd_str_t *data_id,
    const nd_str_t *group, const nd_str_t *tenant, int64_t id)
{
    int                 rc;
    u_char              key[1600];
    size_t              klen;
    sqlite3_stmt       *st;
    nd_store_op_t      *op;
    nd_store_row_t      row;
    nd_store_conf_t    *scf;
    nd_store_config_t  *c;
    nd_store_sqlite_t  *sq;

    scf = nd_store_conf(cycle);
    sq = scf->sqlite;

    if (sq == NULL || !sq->loading) {
        return NULL;
    }

    if (id) {
        st = sq->load[ND_SQLITE_L_ID];
        sqlite3_bind_int64(st, 1, id);

    } else {
        st = sq->load[ND_SQLITE_L_KEY];
        nd_store_sqlite_bt(st, 1, data_id);
        nd_store_sqlite_bt(st, 2, group);
        nd_store_sqlite_bt(st, 3, tenant);
    }

    rc = sqlite3_step(st);

    if (rc != SQLITE_ROW) {
        if (rc != SQLITE_DONE) {
            nd_log_error(ND_LOG_ERR, cycle->log, 0,
                         "sqlite: reading a config while loading: %s",
                         sqlite3_errmsg(sq->ldb));
        }
        sqlite3_reset(st);
        return NULL;
    }

    row.ctx = st;
    row.get = nd_store_sqlite_get;
    row.get_int = nd_store_sqlite_get_int;

    op = sq->load_op;
    op->rows.nelts = 0;
    c = NULL;

    if (nd_store_decode_row(op, ND_STORE_ROWS_CONFIG, &row) == ND_OK) {
        c = op->rows.elts;
        scf->loading = 1;
        nd_store_cache_put(scf, c);     /* not over a tombstone */
        scf->loading = 0;

        klen = nd_store_group_key_len(&c->data_id, &c->group, &c->tenant);
        if (klen <= sizeof(key)) {
            klen = nd_store_group_key(key, &c->data_id, &c->group,
                                      &c->tenant);
            c = nd_hash_find(&scf->cache, key, klen);
        } else {
            c = NULL;
        }
    }

    op->rows.nelts = 0;
    sqlite3_reset(st);

    return c;
}


/* start-up, before the loop runs and before the writer starts: the
 * change sequence, the gray rows, the first chunk of formal rows; the
 * rest in the loop's passes */
int
nd_store_sqlite_load(nd_store_sqlite_t *sq, nd_cycle_t *cycle)
{
    int               rc, done;
    int64_t           has_tags;
    nd_uint_t         i;
    nd_store_conf_t  *scf;

    scf = sq->scf;

    rc = sqlite3_open_v2(scf->sqlite_path_z, &sq->ldb,
                         SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        return rc;
    }

    sqlite3_busy_timeout(sq->ldb, 5000);

    for (i = 0; i < ND_SQLITE_L_N; i++) {
        rc = sqlite3_prepare_v3(sq->ldb, nd_store_sqlite_l_sql[i], -1,
                                SQLITE_PREPARE_PERSISTENT, &sq->load[i],
                                NULL);
        if (rc != SQLITE_OK) {
            return rc;
        }
    }

    sq->load_op = nd_store_op_create(cycle, ND_STORE_CONFIG_LOAD, NULL,
                                     NULL);
    if (sq->load_op == NULL) {
        return SQLITE_NOMEM;
    }
    sq->load_op->views = 1;

    rc = nd_store_sqlite_step_int(sq->load[ND_SQLITE_L_SEQ], &scf->last_seq);
    if (rc != SQLITE_OK) {
        return rc;
    }
    scf->sync_seq = scf->last_seq;

    has_tags = 1;
    rc = nd_store_sqlite_step_int(sq->load[ND_SQLITE_L_HAS_TAGS], &has_tags);
    if (rc != SQLITE_OK) {
        return rc;
    }

    sq->formal = sq->load[has_tags ? ND_SQLITE_L_FORMAL
                                   : ND_SQLITE_L_FORMAL_NOTAGS];
    sq->loading = 1;

    /* gray rows first and whole (few): a gray miss is then an absence */
    rc = nd_store_sqlite_load_rows(sq, sq->load[ND_SQLITE_L_GRAY], 0, &done);
    if (rc != SQLITE_OK) {
        return rc;
    }

    /* its first step opens the read transaction of the whole load */
    rc = nd_store_sqlite_load_rows(sq, sq->formal,
                                   (nd_uint_t) scf->load_chunk, &done);
    if (rc != SQLITE_OK) {
        return rc;
    }

    if (done) {
        nd_store_sqlite_load_end(sq);
        return SQLITE_OK;
    }

    scf->lazy = 1;
    nd_timer_init(&sq->load_timer, "sqlite load", nd_store_sqlite_load_chunk,
                  sq);
    nd_timer_start(&sq->load_timer, scf->load_interval, 0);

    return SQLITE_OK;
}

/*
 * The sqlite backend's private parts, shared by nd_store_sqlite.c (the
 * writer thread and its statements) and nd_store_sqlite_load.c (the warm
 * start on the loop thread).
 */
#ifndef ND_STORE_SQLITE_H
#define ND_STORE_SQLITE_H

#include <nd_store_internal.h>
#include <pthread.h>
#include <sqlite3.h>

typedef enum {
    ND_SQLITE_SEQ_GET = 0,
    ND_SQLITE_SEQ_SET,
    ND_SQLITE_CFG_FIND,
    ND_SQLITE_CFG_INSERT,
    ND_SQLITE_CFG_UPDATE,
    ND_SQLITE_CFG_DELETE,
    ND_SQLITE_HIS_FROM_ROW,
    ND_SQLITE_HIS_INSERT,
    ND_SQLITE_TAGS_DELETE,
    ND_SQLITE_TAG_INSERT,
    ND_SQLITE_GRAY_FIND,
    ND_SQLITE_GRAY_INSERT,
    ND_SQLITE_GRAY_UPDATE,
    ND_SQLITE_GRAY_DELETE,
    ND_SQLITE_HIS_FROM_GRAY,
    ND_SQLITE_BEGIN,
    ND_SQLITE_COMMIT,
    ND_SQLITE_ROLLBACK,
    ND_SQLITE_X_N
} nd_sqlite_x_e;

/* the statements of the load at start, prepared by the loop thread */
typedef enum {
    ND_SQLITE_L_SEQ = 0,
    ND_SQLITE_L_HAS_TAGS,
    ND_SQLITE_L_GRAY,
    ND_SQLITE_L_FORMAL,
    ND_SQLITE_L_FORMAL_NOTAGS,
    ND_SQLITE_L_KEY,
    ND_SQLITE_L_ID,
    ND_SQLITE_L_N
} nd_sqlite_l_e;

struct nd_store_sqlite_s {
    sqlite3             *db;
    sqlite3_vfs          vfs;           /* nd_store_sqlite_vfs.c */
    sqlite3_stmt        *stmts[ND_STORE_SQL_N];
    sqlite3_stmt        *x[ND_SQLITE_X_N];

    pthread_t            thread;
    pthread_mutex_t      mutex;
    pthread_cond_t       cond;
    nd_queue_t           jobs;          /* loop -> thread */
    nd_queue_t           results;       /* thread -> loop */
    ev_async             async;
    struct ev_loop      *loop;
    nd_uint_t            batch_max;
    nd_uint_t            njobs;         /* queued in jobs */
    nd_uint_t            want;          /* the next group's gather target */
    nd_uint_t            groups;        /* groups run, ops in them: the */
    nd_uint_t            group_ops;     /* loop copies them (mutex) */
    nd_store_conf_t     *scf;
    int64_t              seq;           /* the change sequence in the open
                                         * write transaction */
    int                  quit;
    unsigned             running:1;

    /* warm start: the loop thread's read-only connection */
    sqlite3             *ldb;
    sqlite3_stmt        *load[ND_SQLITE_L_N];
    sqlite3_stmt        *formal;        /* the statement of the load */
    nd_store_op_t       *load_op;       /* decoding rows, views */
    nd_timer_t           load_timer;    /* one chunk a loop pass */
    nd_uint_t            loaded;        /* rows */
    unsigned             loading:1;
};


#define ND_SQLITE_CFG_BASE                                                    \
    "c.id, c.data_id, c.group_id, c.tenant_id, c.content, c.md5, "           \
    "c.gmt_create, c.gmt_modified, c.src_user, c.src_ip, c.app_name, "       \
    "c.c_desc, c.c_use, c.effect, c.type, c.c_schema, "                      \
    "c.encrypted_data_key, c.change_seq, "

#define ND_SQLITE_CFG_COLS                                                    \
    ND_SQLITE_CFG_BASE                                                        \
    "(SELECT group_concat(t.tag_name, ',') FROM config_tags_relation t "     \
    "WHERE t.id = c.id), NULL, NULL "

/* nd_store_sqlite_sql.c: the statements prepared at start */
extern const char  *const nd_store_sqlite_sql[ND_STORE_SQL_N];
extern const char  *const nd_store_sqlite_x_sql[ND_SQLITE_X_N];

/* nd_store_sqlite.c: column readers and statement helpers */
void nd_store_sqlite_get(void *ctx, int col, nd_str_t *out);
nd_int_t nd_store_sqlite_get_int(void *ctx, int col, int64_t *out);
void nd_store_sqlite_bt(sqlite3_stmt *st, int i, const nd_str_t *s);
int nd_store_sqlite_step_int(sqlite3_stmt *st, int64_t *out);
nd_int_t nd_store_sqlite_exec_sql(nd_store_sqlite_t *sq, nd_log_t *log,
    const char *sql, const char *what);

/* nd_store_sqlite_load.c: the warm start */
int nd_store_sqlite_load(nd_store_sqlite_t *sq, nd_cycle_t *cycle);
void nd_store_sqlite_load_end(nd_store_sqlite_t *sq);
const nd_store_config_t *nd_store_sqlite_miss(nd_cycle_t *cycle,
    const nd_str_t *data_id, const nd_str_t *group, const nd_str_t *tenant,
    int64_t id);

#endif /* ND_STORE_SQLITE_H */

/*
 * Store internals shared by the module and its backends.
 */
#ifndef ND_STORE_INTERNAL_H
#define ND_STORE_INTERNAL_H

#include <nd_store.h>

#define ND_STORE_SQLITE  0
#define ND_STORE_PG      1

#define ND_STORE_MAX_PARAMS  20

/* statements, the same ids for both backends */
typedef enum {
    ND_STORE_SQL_CONFIG_ALL = 0,
    ND_STORE_SQL_CONFIG_SEARCH,
    ND_STORE_SQL_CONFIG_COUNT,
    ND_STORE_SQL_HISTORY_LIST,
    ND_STORE_SQL_HISTORY_COUNT,
    ND_STORE_SQL_HISTORY_GET,
    ND_STORE_SQL_HISTORY_PREVIOUS,
    ND_STORE_SQL_CHANGES_CONFIG,
    ND_STORE_SQL_CHANGES_DELETED,
    ND_STORE_SQL_NS_LIST,
    ND_STORE_SQL_NS_GET,
    ND_STORE_SQL_NS_CREATE,
    ND_STORE_SQL_NS_UPDATE,
    ND_STORE_SQL_NS_DELETE,
    ND_STORE_SQL_INSTANCE_UPSERT,
    ND_STORE_SQL_INSTANCE_DELETE,
    ND_STORE_SQL_INSTANCE_LIST,
    ND_STORE_SQL_INSTANCE_NAMESPACES,
    ND_STORE_SQL_CONFIG_PUBLISH,     /* pg: one function call */
    ND_STORE_SQL_CONFIG_DELETE,      /* pg: one function call */
    ND_STORE_SQL_SEQ_LOCK,           /* pg: the change sequence row lock */
    ND_STORE_SQL_GRAY_PUBLISH,       /* pg: one statement, after the lock */
    ND_STORE_SQL_GRAY_DELETE,        /* pg: one statement, after the lock */
    ND_STORE_SQL_AUTH_ALL,
    ND_STORE_SQL_AUTH_USER_ADD,      /* the order of nd_store_auth_e */
    ND_STORE_SQL_AUTH_USER_PASSWORD,
    ND_STORE_SQL_AUTH_USER_DELETE,
    ND_STORE_SQL_AUTH_ROLE_ADD,
    ND_STORE_SQL_AUTH_ROLE_DELETE,
    ND_STORE_SQL_AUTH_PERM_ADD,
    ND_STORE_SQL_AUTH_PERM_DELETE,
    ND_STORE_SQL_AUTH_SECRET_INIT,
    ND_STORE_SQL_AUTH_ADMIN_INIT,
    ND_STORE_SQL_AUTH_USER_ROLES_DELETE,
    ND_STORE_SQL_AUTH_ADMIN_USER,
    ND_STORE_SQL_INSTANCE_VERSION,
    ND_STORE_SQL_INSTANCE_SYNC,
    ND_STORE_SQL_N
} nd_store_sql_e;

/* what a statement's result rows become */
typedef enum {
    ND_STORE_ROWS_CONFIG = 0,        /* op->rows: config columns */
    ND_STORE_ROWS_HISTORY,           /* op->rows: history columns */
    ND_STORE_ROWS_DELETED,           /* op->rows: seq, key; deleted = 1 */
    ND_STORE_ROWS_NS,
    ND_STORE_ROWS_INSTANCE,
    ND_STORE_ROWS_COUNT,             /* first column -> op->total */
    ND_STORE_ROWS_AFFECTED,          /* number of rows -> op->affected */
    ND_STORE_ROWS_WRITE,             /* status, seq, id, gmt_create */
    ND_STORE_ROWS_AUTH               /* op->rows: kind, a, b, c */
} nd_store_rows_e;

typedef enum {
    ND_STORE_P_TEXT = 0,
    ND_STORE_P_INT,
    ND_STORE_P_REAL,
    ND_STORE_P_BOOL
} nd_store_ptype_e;

typedef struct {
    nd_store_ptype_e     type;
    nd_str_t             text;         /* TEXT (never NULL data: '' ) */
    int64_t              i;            /* INT, BOOL */
    double               d;            /* REAL */
    char                 buf[32];      /* INT/REAL as text, for pg */
} nd_store_param_t;

/* one statement of an operation's plan */
typedef struct {
    nd_store_sql_e       sql;
    nd_store_rows_e      rows;
    nd_uint_t            nparams;
    nd_store_param_t     params[ND_STORE_MAX_PARAMS];
} nd_store_stmt_t;

#define ND_STORE_PLAN_MAX  2

/* a result row as the backends see it: column i as text (NULL data for
 * SQL NULL); get_int, when the backend has one, column i as an integer
 * without the text round trip (ND_DECLINED: not an integer, ask get) */
typedef struct {
    void                *ctx;
    void               (*get)(void *ctx, int col, nd_str_t *out);
    nd_int_t           (*get_int)(void *ctx, int col, int64_t *out);
} nd_store_row_t;

typedef struct nd_store_backend_s  nd_store_backend_t;

struct nd_store_backend_s {
    const char          *name;
    /* before ev_run: open, schema, load; ND_OK or ND_ERROR (emerg) */
    nd_int_t           (*start)(nd_cycle_t *cycle);
    /* queue an op (validated, copied) */
    void               (*submit)(nd_cycle_t *cycle, nd_store_op_t *op);
    nd_int_t           (*available)(nd_cycle_t *cycle);
    void               (*stop)(nd_cycle_t *cycle);
    void               (*exit)(nd_cycle_t *cycle);
    /* while the cache is still loading (scf->lazy): the formal row of a
     * key (id 0) or of config_info.id id read from the database and put
     * into the cache; NULL when the database has none */
    const nd_store_config_t *(*miss)(nd_cycle_t *cycle,
        const nd_str_t *data_id, const nd_str_t *group,
        const nd_str_t *tenant, int64_t id);
};

typedef struct nd_store_sqlite_s  nd_store_sqlite_t;
typedef struct nd_store_pg_s      nd_store_pg_t;

typedef struct {
    nd_uint_t            backend;
    nd_str_t             sqlite_path;
    nd_str_t             pg_conninfo;
    nd_str_t             pg_library;        /* NUL-terminated */
    nd_int_t             pg_pool;
    nd_msec_t            query_timeout;
    nd_msec_t            pg_reconnect_max;
    nd_msec_t            cache_refresh;
    nd_int_t             commit_batch;
    nd_msec_t            commit_gather;     /* 0: off */
    nd_int_t             load_chunk;        /* rows a loop pass at start */
    nd_msec_t            load_interval;     /* between chunks (tests) */
    size_t               max_content_size;
    nd_str_t             schema_dir;
    char                 content_error[48];  /* Nacos's words, over max */

    /* runtime */
    char                *sqlite_path_z;     /* resolved */
    char                *schema_dir_z;      /* resolved */
    nd_cycle_t          *cycle;
    nd_store_backend_t  *be;
    nd_store_sqlite_t   *sqlite;
    nd_store_pg_t       *pg;
    nd_hash_t            cache;             /* group key -> config */
    nd_hash_t            tombs;             /* lazy: deleted key -> seq */
    int64_t              last_seq;          /* highest seen */
    int64_t              sync_seq;          /* every change up to it is
                                               in the cache (refresh) */
    nd_queue_t           done;              /* completed ops to deliver */
    nd_posted_t          deliver;
    nd_timer_t           refresh;
    nd_uint_t            inflight;
    nd_uint_t            pg_drops;          /* pg connections lost/failed */
    nd_uint_t            groups;            /* commit groups run */
    nd_uint_t            group_ops;         /* operations in them */
    nd_metrics_hist_t    commit_latency;    /* writes: submit -> delivered */
    unsigned             schema_explicit:1;
    unsigned             loading:1;         /* no events while loading */
    unsigned             lazy:1;            /* formal rows still loading:
                                               a miss asks be->miss */
    unsigned             refreshing:1;
    unsigned             refresh_again:1;   /* asked while refreshing */
    unsigned             committing:1;      /* delivering our own write */
    unsigned             started:1;
} nd_store_conf_t;

#define nd_store_conf(cycle)                                                  \
    ((nd_store_conf_t *) nd_get_conf(cycle, nd_store_module))

extern nd_store_backend_t  nd_store_sqlite_backend;
extern nd_store_backend_t  nd_store_pg_backend;

/* nd_store_sqlite_vfs.c: a VFS over SQLite's default one that writes a
 * commit's WAL frames with one pwrite() */
struct sqlite3_vfs;
nd_int_t nd_store_sqlite_vfs_init(struct sqlite3_vfs *vfs, const char *name);

/* module side, for the backends */
void nd_store_complete(nd_store_op_t *op);
/* the operation changes the database (both backends batch these) */
int nd_store_op_is_write(const nd_store_op_t *op);   /* any thread: loop only */
nd_uint_t nd_store_plan(nd_store_op_t *op, nd_store_stmt_t *plan);
nd_int_t nd_store_decode_row(nd_store_op_t *op, nd_store_rows_e kind,
    nd_store_row_t *row);
void nd_store_fail(nd_store_op_t *op, nd_uint_t status, const char *msg);

/* nd_store_cache.c: the config cache and its refresh */
void nd_store_cache_load(nd_store_conf_t *scf, nd_store_op_t *op);
void nd_store_cache_put(nd_store_conf_t *scf, const nd_store_config_t *c);
void nd_store_cache_del(nd_store_conf_t *scf, const nd_store_config_t *c,
    int64_t seq);
/* the deletes seen while the cache loaded lazily, when it ends */
void nd_store_cache_tombs_free(nd_store_conf_t *scf);
/* the cache key of a row: its group key, \x01 gray name for a gray one;
 * dst >= nd_store_gray_key_len() */
size_t nd_store_cache_key(u_char *dst, const nd_str_t *data_id,
    const nd_str_t *group, const nd_str_t *tenant, const nd_str_t *gray);
void nd_store_refresh(nd_timer_t *t);

/* nd_store_util.c: pure helpers (unit tested) */
/* '*' wildcards -> LIKE pattern with '\' escapes; exact when !blur */
size_t nd_store_like_pattern(u_char *dst, const nd_str_t *src, int blur);
/* a schema file: "-- version N" sections; calls cb for each section
 * with version > from, in order; returns the highest version or -1 on a
 * malformed file */
typedef nd_int_t (*nd_store_schema_pt)(void *data, int64_t version,
    const char *sql, size_t len);
int64_t nd_store_schema_walk(const char *text, size_t len, int64_t from,
    nd_store_schema_pt cb, void *data);
char *nd_store_read_file(const char *path, size_t *len);
/* the schema text of a backend ("sqlite.sql", "pg.sql"): from schema_dir,
 * or the built-in copy when schema_dir is not set and the conf dir has
 * none; heap, nd_free() it; NULL (logged) on error */
char *nd_store_schema_text(nd_store_conf_t *scf, const char *name,
    size_t *len, nd_log_t *log);
extern const char  nd_store_schema_sqlite[];
extern const char  nd_store_schema_pg[];
/* dataId + '+' + group [+ '+' + tenant], '+' and '%' escaped */
size_t nd_store_group_key(u_char *dst, const nd_str_t *data_id,
    const nd_str_t *group, const nd_str_t *tenant);
#define nd_store_group_key_len(d, g, t)                                       \
    (3 * ((d)->len + (g)->len + (t)->len) + 2)
/* the cache key of a gray version: group key \x01 gray name */
#define nd_store_gray_key_len(d, g, t, n)                                     \
    (nd_store_group_key_len(d, g, t) + 1 + (n)->len)


/*
 * Group commit gathers (docs/store.md, "Group commit"): a write group
 * that finished with n writes while q more were queued sets the next
 * group's target to n + q, at most commit_batch.  With one call in
 * flight a client, the n answered clients write again at once, so a
 * group that waits the tens of microseconds for them commits the whole
 * set with one sync instead of two half groups alternating through two.
 * The next group starts when its target is queued or commit_gather after
 * it could have started, whichever is first; a timeout lowers the target
 * to what came, so a lone writer after a busy burst waits once.
 */
static inline nd_uint_t
nd_store_gather_want(nd_store_conf_t *scf, nd_uint_t done, nd_uint_t queued)
{
    if (scf->commit_gather == 0) {
        return 0;
    }

    return nd_min(done + queued, (nd_uint_t) scf->commit_batch);
}


/* column lists the same in both backends' SQL (nd_store_*_sql.c) */

/* gray rows in the config row shape (no desc, use, effect, type, schema,
 * tags) */
#define ND_STORE_GRAY_COLS                                                    \
    "g.id, g.data_id, g.group_id, g.tenant_id, g.content, g.md5, "           \
    "g.gmt_create, g.gmt_modified, g.src_user, g.src_ip, g.app_name, "       \
    "NULL, NULL, NULL, NULL, NULL, g.encrypted_data_key, g.change_seq, "     \
    "NULL, g.gray_name, g.gray_rule "

#define ND_STORE_HIS_COLS                                                     \
    "h.id, h.nid, h.data_id, h.group_id, h.tenant_id, h.content, h.md5, "    \
    "h.gmt_create, h.gmt_modified, h.src_user, h.src_ip, h.app_name, "       \
    "h.op_type, h.encrypted_data_key, h.change_seq, h.gray_name, "           \
    "h.ext_info "

#define ND_STORE_INSTANCE_COLS                                                \
    "namespace_id, group_name, service_name, cluster_name, ip, port, "       \
    "weight, healthy, enabled, metadata, gmt_modified "


#endif /* ND_STORE_INTERNAL_H */

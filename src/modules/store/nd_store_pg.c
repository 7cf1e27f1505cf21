/*
 * The pg backend: libpq in non-blocking pipeline mode, driven by the loop.
 *
 * A small pool of connections.  The first ready connection is the writer:
 * queued writes go to it in batches, each batch one pipeline segment (one
 * implicit transaction up to its Sync: group commit), one in flight:
 * what queues meanwhile is the next group (with a group's publishes in
 * one statement, a larger group costs PostgreSQL less a write than two
 * alternating smaller ones gain by overlapping), and the next group
 * gathers its writers first (nd_store_gather_want, commit_gather).
 * Writes take the global change sequence row lock inside the server
 * functions (conf/schema/pg.sql), so sequence order is commit order.
 * Reads go, one per segment, to the least busy connection.
 *
 * A connection that fails, or whose oldest segment passes query_timeout,
 * is dropped: its operations fail (503), and it reconnects with backoff.
 * While no connection is ready, operations fail at once with 503.
 */
#include <nd_store_internal.h>
#include <nd_store_pg_batch.h>
#include <dlfcn.h>
#include <libpq-fe.h>

#define ND_PG_DOWN        0
#define ND_PG_CONNECTING  1
#define ND_PG_SCHEMA      2
#define ND_PG_PREPARING   3
#define ND_PG_READY       4

#define ND_PG_SCHEMA_LOCK  "4711470"

#define ND_PG_WRITE_UNITS  1
#define ND_PG_READ_UNITS   16

typedef struct nd_store_pg_conn_s  nd_store_pg_conn_t;

typedef struct {
    nd_queue_t           link;          /* conn->units */
    nd_queue_t           ops;
    nd_uint_t            nops;
    unsigned             write:1;
    unsigned             failed:1;
    const char          *error;
} nd_store_pg_unit_t;

struct nd_store_pg_conn_s {
    nd_store_pg_t       *pg;
    PGconn              *conn;
    ev_io                io;
    int                  fd;
    int                  events;
    int                  state;
    nd_uint_t            index;
    nd_timer_t           retry;
    nd_timer_t           timeout;
    nd_msec_t            backoff;

    nd_queue_t           units;         /* sent, awaiting their Sync */
    nd_uint_t            nunits;
    nd_uint_t            nwrites;

    /* result cursor in the head unit */
    nd_queue_t          *cur;           /* op link, or the sentinel */
    nd_uint_t            stmt;
    unsigned             expect_null:1;

    /* schema / prepare steps */
    int                  step;
    int64_t              version;
    nd_uint_t            pending;
    const char          *step_error;
};

struct nd_store_pg_s {
    nd_store_conf_t     *scf;
    nd_cycle_t          *cycle;
    nd_store_pg_conn_t  *conns;
    nd_uint_t            nconns;
    nd_queue_t           writes;
    nd_queue_t           reads;
    char                *schema;        /* pg.sql */
    nd_buf_t             batch;         /* a batch's parameters */
    size_t               schema_len;
    nd_uint_t            ready;         /* connections ready */
    nd_uint_t            nwrites;       /* queued in writes */
    nd_uint_t            want;          /* the next group's gather target */
    nd_timer_t           gather;        /* commit_gather */
    unsigned             schema_done:1;
    unsigned             loaded:1;
    unsigned             loading:1;
    unsigned             stopping:1;
};


/*
 * libpq is not linked: nd_store_pg_load() opens it when the conf says
 * "backend pg", so a SQLite node never maps it, nor what it pulls in
 * (gnutls, krb5, ldap, ...).  Every libpq call in this file goes through
 * nd_pq; libpq-fe.h still types each member, so the compiler checks the
 * calls, and a direct PQ call left behind fails at link time.
 *
 * Process-wide like the library itself: filled once, at conf time,
 * before the loop runs; read-only afterwards.
 */
typedef struct {
    void                                  *handle;
    __typeof__(PQlibVersion)              *PQlibVersion;
    __typeof__(PQconninfoParse)           *PQconninfoParse;
    __typeof__(PQconninfoFree)            *PQconninfoFree;
    __typeof__(PQfreemem)                 *PQfreemem;
    __typeof__(PQconnectStartParams)      *PQconnectStartParams;
    __typeof__(PQconnectPoll)             *PQconnectPoll;
    __typeof__(PQstatus)                  *PQstatus;
    __typeof__(PQsocket)                  *PQsocket;
    __typeof__(PQerrorMessage)            *PQerrorMessage;
    __typeof__(PQsetnonblocking)          *PQsetnonblocking;
    __typeof__(PQsetNoticeProcessor)      *PQsetNoticeProcessor;
    __typeof__(PQenterPipelineMode)       *PQenterPipelineMode;
    __typeof__(PQpipelineSync)            *PQpipelineSync;
    __typeof__(PQsendQuery)               *PQsendQuery;
    __typeof__(PQsendPrepare)             *PQsendPrepare;
    __typeof__(PQsendQueryPrepared)       *PQsendQueryPrepared;
    __typeof__(PQflush)                   *PQflush;
    __typeof__(PQconsumeInput)            *PQconsumeInput;
    __typeof__(PQisBusy)                  *PQisBusy;
    __typeof__(PQgetResult)               *PQgetResult;
    __typeof__(PQresultStatus)            *PQresultStatus;
    __typeof__(PQresultErrorMessage)      *PQresultErrorMessage;
    __typeof__(PQntuples)                 *PQntuples;
    __typeof__(PQnfields)                 *PQnfields;
    __typeof__(PQgetisnull)               *PQgetisnull;
    __typeof__(PQgetvalue)                *PQgetvalue;
    __typeof__(PQgetlength)               *PQgetlength;
    __typeof__(PQclear)                   *PQclear;
    __typeof__(PQfinish)                  *PQfinish;
} nd_store_pq_t;

#define nd_store_pq_sym(name)  { #name, offsetof(nd_store_pq_t, name) }

static const struct {
    const char          *name;
    size_t               offset;
} nd_store_pq_syms[] = {
    nd_store_pq_sym(PQlibVersion),
    nd_store_pq_sym(PQconninfoParse),
    nd_store_pq_sym(PQconninfoFree),
    nd_store_pq_sym(PQfreemem),
    nd_store_pq_sym(PQconnectStartParams),
    nd_store_pq_sym(PQconnectPoll),
    nd_store_pq_sym(PQstatus),
    nd_store_pq_sym(PQsocket),
    nd_store_pq_sym(PQerrorMessage),
    nd_store_pq_sym(PQsetnonblocking),
    nd_store_pq_sym(PQsetNoticeProcessor),
    nd_store_pq_sym(PQenterPipelineMode),
    nd_store_pq_sym(PQpipelineSync),
    nd_store_pq_sym(PQsendQuery),
    nd_store_pq_sym(PQsendPrepare),
    nd_store_pq_sym(PQsendQueryPrepared),
    nd_store_pq_sym(PQflush),
    nd_store_pq_sym(PQconsumeInput),
    nd_store_pq_sym(PQisBusy),
    nd_store_pq_sym(PQgetResult),
    nd_store_pq_sym(PQresultStatus),
    nd_store_pq_sym(PQresultErrorMessage),
    nd_store_pq_sym(PQntuples),
    nd_store_pq_sym(PQnfields),
    nd_store_pq_sym(PQgetisnull),
    nd_store_pq_sym(PQgetvalue),
    nd_store_pq_sym(PQgetlength),
    nd_store_pq_sym(PQclear),
    nd_store_pq_sym(PQfinish),
};

/* every member but the handle has its row above */
_Static_assert(sizeof(nd_store_pq_t)
               == (nd_nelts(nd_store_pq_syms) + 1) * sizeof(void *),
               "nd_store_pq_syms[] must list every nd_store_pq_t member");

static nd_store_pq_t  nd_pq;


#define ND_PG_CFG_COLS                                                        \
    "c.id, c.data_id, c.group_id, c.tenant_id, c.content, c.md5, "           \
    "c.gmt_create, c.gmt_modified, c.src_user, c.src_ip, c.app_name, "       \
    "c.c_desc, c.c_use, c.effect, c.type, c.c_schema, "                      \
    "c.encrypted_data_key, c.change_seq, "                                    \
    "(SELECT string_agg(t.tag_name, ',' ORDER BY t.nid) "                    \
    "FROM config_tags_relation t WHERE t.id = c.id), NULL, NULL "

/* gray rows in the config row shape (no desc, use, effect, type, schema,
 * tags) */
#define ND_PG_GRAY_COLS                                                       \
    "g.id, g.data_id, g.group_id, g.tenant_id, g.content, g.md5, "           \
    "g.gmt_create, g.gmt_modified, g.src_user, g.src_ip, g.app_name, "       \
    "NULL, NULL, NULL, NULL, NULL, g.encrypted_data_key, g.change_seq, "     \
    "NULL, g.gray_name, g.gray_rule "

#define ND_PG_HIS_INSERT                                                      \
    "INSERT INTO his_config_info (id, data_id, group_id, tenant_id, "        \
    "app_name, content, md5, gmt_create, gmt_modified, src_user, src_ip, "   \
    "op_type, encrypted_data_key, publish_type, gray_name, ext_info, "       \
    "change_seq) "

#define ND_PG_GRAY_OLD                                                        \
    "old AS (SELECT g.id, g.md5, g.gmt_create FROM config_info_gray g "      \
    "WHERE g.data_id = $1::text AND g.group_id = $2::text "                  \
    "AND g.tenant_id = $3::text AND g.gray_name = $4::text) "

#define ND_PG_HIS_COLS                                                        \
    "h.id, h.nid, h.data_id, h.group_id, h.tenant_id, h.content, h.md5, "    \
    "h.gmt_create, h.gmt_modified, h.src_user, h.src_ip, h.app_name, "       \
    "h.op_type, h.encrypted_data_key, h.change_seq, h.gray_name, "           \
    "h.ext_info "

#define ND_PG_SEARCH_WHERE                                                    \
    "WHERE c.tenant_id = $1::text "                                           \
    "AND ($2::text = '' OR c.data_id LIKE $2::text ESCAPE '\\') "             \
    "AND ($3::text = '' OR c.group_id LIKE $3::text ESCAPE '\\') "            \
    "AND ($4::text = '' OR c.app_name LIKE $4::text ESCAPE '\\') "

#define ND_PG_INSTANCE_COLS                                                   \
    "namespace_id, group_name, service_name, cluster_name, ip, port, "       \
    "weight, healthy, enabled, metadata, gmt_modified "

static const char  *nd_store_pg_sql[ND_STORE_SQL_N] = {

    [ND_STORE_SQL_CONFIG_ALL] =
        "SELECT " ND_PG_CFG_COLS "FROM config_info c UNION ALL "
        "SELECT " ND_PG_GRAY_COLS "FROM config_info_gray g",

    [ND_STORE_SQL_CONFIG_SEARCH] =
        "SELECT " ND_PG_CFG_COLS "FROM config_info c "
        ND_PG_SEARCH_WHERE
        "ORDER BY c.id LIMIT $5::bigint OFFSET $6::bigint",

    [ND_STORE_SQL_CONFIG_COUNT] =
        "SELECT count(*) FROM config_info c " ND_PG_SEARCH_WHERE,

    [ND_STORE_SQL_HISTORY_LIST] =
        "SELECT " ND_PG_HIS_COLS "FROM his_config_info h "
        "WHERE h.data_id = $1::text AND h.group_id = $2::text "
        "AND h.tenant_id = $3::text "
        "ORDER BY h.nid DESC LIMIT $4::bigint OFFSET $5::bigint",

    [ND_STORE_SQL_HISTORY_COUNT] =
        "SELECT count(*) FROM his_config_info h "
        "WHERE h.data_id = $1::text AND h.group_id = $2::text "
        "AND h.tenant_id = $3::text",

    [ND_STORE_SQL_HISTORY_GET] =
        "SELECT " ND_PG_HIS_COLS "FROM his_config_info h "
        "WHERE h.nid = $1::bigint",

    [ND_STORE_SQL_HISTORY_PREVIOUS] =
        "SELECT " ND_PG_HIS_COLS "FROM his_config_info h "
        "WHERE (h.data_id, h.group_id, h.tenant_id) = "
        "(SELECT data_id, group_id, tenant_id FROM his_config_info "
        "WHERE nid = $1::bigint) AND h.nid < $1::bigint "
        "ORDER BY h.nid DESC LIMIT 1",

    /* schema version 6: the changed configs through the history
     * (nd_config_changed); c.change_seq keeps those changed since $1 */
    [ND_STORE_SQL_CHANGES_CONFIG] =
        "SELECT " ND_PG_CFG_COLS "FROM config_info c "
        "WHERE c.id IN (SELECT nd_config_changed($1::bigint)) "
        "AND c.change_seq > $1::bigint UNION ALL "
        "SELECT " ND_PG_GRAY_COLS "FROM config_info_gray g "
        "WHERE g.change_seq > $1::bigint ORDER BY 18 LIMIT $2::bigint",

    [ND_STORE_SQL_CHANGES_DELETED] =
        "SELECT change_seq, data_id, group_id, tenant_id, gray_name "
        "FROM his_config_info WHERE op_type = 'D' "
        "AND change_seq > $1::bigint ORDER BY change_seq LIMIT $2::bigint",

    [ND_STORE_SQL_AUTH_ALL] =
        "SELECT 'u'::text, username::text, password::text, ''::text "
        "FROM users UNION ALL SELECT 'r', username, role, '' FROM roles "
        "UNION ALL SELECT 'p', role, resource, action FROM permissions "
        "UNION ALL SELECT 's', name, value, '' FROM nd_auth_secret",

    [ND_STORE_SQL_AUTH_USER_ADD] =
        "INSERT INTO users (username, password, enabled) "
        "VALUES ($1::text, $2::text, true) "
        "ON CONFLICT (username) DO NOTHING RETURNING username",

    [ND_STORE_SQL_AUTH_USER_PASSWORD] =
        "UPDATE users SET password = $2::text WHERE username = $1::text "
        "RETURNING username",

    [ND_STORE_SQL_AUTH_USER_DELETE] =
        "DELETE FROM users WHERE username = $1::text RETURNING username",

    [ND_STORE_SQL_AUTH_USER_ROLES_DELETE] =
        "DELETE FROM roles WHERE username = $1::text RETURNING role",

    [ND_STORE_SQL_AUTH_ROLE_ADD] =
        "INSERT INTO roles (username, role) VALUES ($1::text, $2::text) "
        "ON CONFLICT (username, role) DO NOTHING RETURNING role",

    [ND_STORE_SQL_AUTH_ROLE_DELETE] =
        "DELETE FROM roles WHERE role = $2::text "
        "AND ($1::text = '' OR username = $1::text) RETURNING role",

    [ND_STORE_SQL_AUTH_PERM_ADD] =
        "INSERT INTO permissions (role, resource, action) "
        "VALUES ($1::text, $2::text, $3::text) "
        "ON CONFLICT (role, resource, action) DO NOTHING RETURNING role",

    [ND_STORE_SQL_AUTH_PERM_DELETE] =
        "DELETE FROM permissions WHERE role = $1::text "
        "AND resource = $2::text AND action = $3::text RETURNING role",

    [ND_STORE_SQL_AUTH_SECRET_INIT] =
        "INSERT INTO nd_auth_secret (name, value) VALUES ($1::text, $2::text) "
        "ON CONFLICT (name) DO NOTHING RETURNING name",

    [ND_STORE_SQL_AUTH_ADMIN_INIT] =
        "INSERT INTO roles (username, role) SELECT $1::text, 'ROLE_ADMIN' "
        "WHERE NOT EXISTS (SELECT 1 FROM roles WHERE role = 'ROLE_ADMIN') "
        "RETURNING role",

    [ND_STORE_SQL_AUTH_ADMIN_USER] =
        "INSERT INTO users (username, password, enabled) "
        "SELECT $1::text, $2::text, true WHERE EXISTS (SELECT 1 FROM roles "
        "WHERE role = 'ROLE_ADMIN' AND username = $1::text) "
        "AND NOT EXISTS (SELECT 1 FROM users WHERE username = $1::text) "
        "RETURNING username",

    [ND_STORE_SQL_NS_LIST] =
        "SELECT tenant_id, tenant_name, tenant_desc, create_source, "
        "gmt_create, gmt_modified FROM tenant_info WHERE kp = '1' "
        "ORDER BY id",

    [ND_STORE_SQL_NS_GET] =
        "SELECT tenant_id, tenant_name, tenant_desc, create_source, "
        "gmt_create, gmt_modified FROM tenant_info "
        "WHERE kp = '1' AND tenant_id = $1::text",

    [ND_STORE_SQL_NS_CREATE] =
        "INSERT INTO tenant_info (kp, tenant_id, tenant_name, tenant_desc, "
        "create_source, gmt_create, gmt_modified) "
        "VALUES ('1', $1::text, $2::text, $3::text, $4::text, $5::bigint, "
        "$5::bigint) ON CONFLICT (kp, tenant_id) DO NOTHING RETURNING id",

    [ND_STORE_SQL_NS_UPDATE] =
        "UPDATE tenant_info SET tenant_name = $2::text, "
        "tenant_desc = $3::text, gmt_modified = $4::bigint "
        "WHERE kp = '1' AND tenant_id = $1::text RETURNING id",

    [ND_STORE_SQL_NS_DELETE] =
        "DELETE FROM tenant_info WHERE kp = '1' AND tenant_id = $1::text "
        "RETURNING id",

    [ND_STORE_SQL_INSTANCE_UPSERT] =
        "INSERT INTO naming_instance (" ND_PG_INSTANCE_COLS
        ", gmt_create) VALUES ($1::text, $2::text, $3::text, $4::text, "
        "$5::text, $6::int, $7::float8, $8::boolean, $9::boolean, $10::text, "
        "$11::bigint, $11::bigint) ON CONFLICT (namespace_id, group_name, "
        "service_name, cluster_name, ip, port) DO UPDATE SET "
        "weight = excluded.weight, healthy = excluded.healthy, "
        "enabled = excluded.enabled, metadata = excluded.metadata, "
        "gmt_modified = excluded.gmt_modified RETURNING id",

    [ND_STORE_SQL_INSTANCE_DELETE] =
        "DELETE FROM naming_instance WHERE namespace_id = $1::text "
        "AND group_name = $2::text AND service_name = $3::text "
        "AND cluster_name = $4::text AND ip = $5::text AND port = $6::int "
        "RETURNING id",

    [ND_STORE_SQL_INSTANCE_NAMESPACES] =
        "SELECT DISTINCT namespace_id, ''::text, ''::text, ''::text, "
        "0::bigint, 0::bigint FROM naming_instance ORDER BY 1",

    [ND_STORE_SQL_INSTANCE_LIST] =
        "SELECT " ND_PG_INSTANCE_COLS "FROM naming_instance "
        "WHERE namespace_id = $1::text "
        "AND ($2::text = '' OR group_name = $2::text) "
        "AND ($3::text = '' OR service_name = $3::text) "
        "ORDER BY group_name, service_name, cluster_name, ip, port",

    [ND_STORE_SQL_CONFIG_PUBLISH] =
        "SELECT * FROM nd_config_publish($1::text, $2::text, $3::text, "
        "$4::text, $5::text, $6::bigint, $7::text, $8::text, $9::text, "
        "$10::text, $11::text, $12::text, $13::text, $14::text, $15::text, "
        "$16::boolean, $17::text, $18::text)",

    [ND_STORE_SQL_CONFIG_DELETE] =
        "SELECT * FROM nd_config_delete($1::text, $2::text, $3::text, "
        "$4::bigint, $5::text, $6::text)",

    /* gray writes: the sequence row lock (as nd_config_publish takes it),
     * then one statement that sees every earlier commit (read committed:
     * a new snapshot per statement) and does what the functions do */
    [ND_STORE_SQL_SEQ_LOCK] =
        "SELECT seq FROM nd_change_seq WHERE id = 1 FOR UPDATE",

    /* $1 data_id $2 group $3 tenant $4 gray_name $5 gray_rule $6 content
     * $7 md5 $8 now $9 src_user $10 src_ip $11 app $12 edk $13 cas
     * $14 cas_md5 $15 ext_info -> status seq id gmt_create */
    [ND_STORE_SQL_GRAY_PUBLISH] =
        "WITH " ND_PG_GRAY_OLD ", "
        "go AS (SELECT NOT EXISTS (SELECT 1 FROM old WHERE $13::boolean "
        "AND NOT (old.md5 IS NULL OR old.md5 = '' "
        "OR old.md5 = $14::text)) AS ok), "
        "s AS (UPDATE nd_change_seq SET seq = seq + 1 "
        "WHERE id = 1 AND (SELECT ok FROM go) RETURNING seq), "
        "hu AS (" ND_PG_HIS_INSERT
        "SELECT g.id, g.data_id, g.group_id, g.tenant_id, g.app_name, "
        "g.content, g.md5, g.gmt_create, $8::bigint, $9::text, $10::text, "
        "'U', g.encrypted_data_key, 'gray', g.gray_name, $15::text, s.seq "
        "FROM config_info_gray g JOIN old ON g.id = old.id, s), "
        "u AS (UPDATE config_info_gray g SET gray_rule = $5::text, "
        "content = $6::text, md5 = $7::text, app_name = $11::text, "
        "src_user = $9::text, src_ip = $10::text, gmt_modified = $8::bigint, "
        "encrypted_data_key = $12::text, change_seq = s.seq "
        "FROM old, s WHERE g.id = old.id RETURNING g.id, g.gmt_create), "
        "i AS (INSERT INTO config_info_gray (data_id, group_id, tenant_id, "
        "gray_name, gray_rule, content, md5, app_name, src_user, src_ip, "
        "gmt_create, gmt_modified, encrypted_data_key, change_seq) "
        "SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, "
        "$7::text, $11::text, $9::text, $10::text, $8::bigint, $8::bigint, "
        "$12::text, s.seq FROM s WHERE NOT EXISTS (SELECT 1 FROM old) "
        "RETURNING id, gmt_create), "
        "hi AS (" ND_PG_HIS_INSERT
        "SELECT i.id, $1::text, $2::text, $3::text, $11::text, $6::text, "
        "$7::text, $8::bigint, $8::bigint, $9::text, $10::text, 'I', "
        "$12::text, 'gray', $4::text, $15::text, s.seq FROM i, s) "
        "SELECT CASE WHEN (SELECT ok FROM go) THEN 0 ELSE 1 END, "
        "coalesce((SELECT seq FROM s), 0), "
        "coalesce((SELECT id FROM u), (SELECT id FROM i), "
        "(SELECT id FROM old), 0), "
        "coalesce((SELECT gmt_create FROM u), (SELECT gmt_create FROM i), 0)",

    /* $1 data_id $2 group $3 tenant $4 gray_name $5 now $6 src_user
     * $7 src_ip -> status (1: none) seq id gmt_create */
    [ND_STORE_SQL_GRAY_DELETE] =
        "WITH " ND_PG_GRAY_OLD ", "
        "s AS (UPDATE nd_change_seq SET seq = seq + 1 "
        "WHERE id = 1 AND EXISTS (SELECT 1 FROM old) RETURNING seq), "
        "h AS (" ND_PG_HIS_INSERT
        "SELECT g.id, g.data_id, g.group_id, g.tenant_id, g.app_name, "
        "g.content, g.md5, g.gmt_create, $5::bigint, $6::text, $7::text, "
        "'D', g.encrypted_data_key, 'gray', g.gray_name, NULL, s.seq "
        "FROM config_info_gray g JOIN old ON g.id = old.id, s), "
        "d AS (DELETE FROM config_info_gray g USING old, s "
        "WHERE g.id = old.id RETURNING g.id) "
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM old) THEN 0 ELSE 1 END, "
        "coalesce((SELECT seq FROM s), 0), "
        "coalesce((SELECT id FROM old), 0), "
        "coalesce((SELECT gmt_create FROM old), 0)",
};


static nd_int_t nd_store_pg_start(nd_cycle_t *cycle);
static void nd_store_pg_submit(nd_cycle_t *cycle, nd_store_op_t *op);
static nd_int_t nd_store_pg_available(nd_cycle_t *cycle);
static void nd_store_pg_stop(nd_cycle_t *cycle);
static void nd_store_pg_exit(nd_cycle_t *cycle);
static void nd_store_pg_connect(nd_store_pg_conn_t *pc);
static void nd_store_pg_drop(nd_store_pg_conn_t *pc, const char *why);
static void nd_store_pg_dispatch(nd_store_pg_t *pg);
static void nd_store_pg_gather_expired(nd_timer_t *t);
static void nd_store_pg_io_handler(struct ev_loop *loop, ev_io *w,
    int revents);

nd_store_backend_t  nd_store_pg_backend = {
    .name = "pg",
    .start = nd_store_pg_start,
    .submit = nd_store_pg_submit,
    .available = nd_store_pg_available,
    .stop = nd_store_pg_stop,
    .exit = nd_store_pg_exit,
};


/*
 * "backend pg": open libpq and fill nd_pq, or say why not (a conf error:
 * nacosd does not start).  Once per process; a reload that still says
 * "backend pg" keeps the library already open.
 */
char *
nd_store_pg_load(nd_pool_t *pool, const char *library)
{
    char           *msg;
    void           *handle, *sym;
    size_t          len;
    nd_uint_t       i;
    const char     *err;
    nd_store_pq_t   pq;

    if (nd_pq.handle) {
        return ND_CONF_OK;
    }

    handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        err = dlerror();
        len = sizeof("\"backend pg\" cannot load libpq (\"\"): ; "
                     "install the libpq5 package")
              + strlen(library) + (err ? strlen(err) : 0);
        msg = nd_pnalloc(pool, len);
        if (msg == NULL) {
            return ND_CONF_ERROR;
        }
        snprintf(msg, len, "\"backend pg\" cannot load libpq (\"%s\"): %s; "
                 "install the libpq5 package", library, err ? err : "");
        return msg;
    }

    memset(&pq, 0, sizeof(pq));
    pq.handle = handle;

    for (i = 0; i < nd_nelts(nd_store_pq_syms); i++) {
        (void) dlerror();
        sym = dlsym(handle, nd_store_pq_syms[i].name);
        if (sym == NULL) {
            len = sizeof("\"backend pg\": \"\" has no ; libpq 14 or later "
                         "is needed (the libpq5 package)")
                  + strlen(library) + strlen(nd_store_pq_syms[i].name);
            msg = nd_pnalloc(pool, len);
            if (msg) {
                snprintf(msg, len, "\"backend pg\": \"%s\" has no %s; "
                         "libpq 14 or later is needed (the libpq5 package)",
                         library, nd_store_pq_syms[i].name);
            }
            dlclose(handle);
            return msg ? msg : ND_CONF_ERROR;
        }
        /* POSIX: a function pointer has the representation of void * */
        memcpy((u_char *) &pq + nd_store_pq_syms[i].offset, &sym,
               sizeof(sym));
    }

    nd_pq = pq;

    return ND_CONF_OK;
}


/* which libpq was loaded, for the error log */
static void
nd_store_pg_log_library(nd_log_t *log)
{
    int       v;
    Dl_info   info;

    if (nd_pq.handle == NULL) {
        return;
    }

    v = nd_pq.PQlibVersion();

    if (dladdr((void *) nd_pq.PQlibVersion, &info) == 0
        || info.dli_fname == NULL)
    {
        info.dli_fname = "?";
    }

    nd_log_error(ND_LOG_INFO, log, 0, "pg: libpq %d.%d from \"%s\"",
                 v / 10000, v % 10000, info.dli_fname);
}


/* pg_conninfo is checked at start-up: no password, no name lookups */
char *
nd_store_pg_check_conninfo(nd_pool_t *pool, const nd_str_t *conninfo)
{
    char               *z, *err, *msg;
    int                 host, hostaddr, password;
    PQconninfoOption   *opts, *o;

    z = nd_pstrdupz(pool, conninfo);
    if (z == NULL) {
        return ND_CONF_ERROR;
    }

    err = NULL;
    opts = nd_pq.PQconninfoParse(z, &err);
    if (opts == NULL) {
        msg = "\"pg_conninfo\" is not a valid libpq connection string";
        if (err) {
            nd_pq.PQfreemem(err);
        }
        return msg;
    }

    host = 0;
    hostaddr = 0;
    password = 0;

    for (o = opts; o->keyword; o++) {
        if (o->val == NULL || o->val[0] == '\0') {
            continue;
        }
        if (strcmp(o->keyword, "password") == 0) {
            password = 1;
        } else if (strcmp(o->keyword, "hostaddr") == 0) {
            hostaddr = 1;
        } else if (strcmp(o->keyword, "host") == 0 && o->val[0] != '/') {
            host = 1;
        }
    }

    nd_pq.PQconninfoFree(opts);

    if (password) {
        return "\"pg_conninfo\" must not hold a password: use libpq's "
               "passfile (PGPASSFILE or passfile=)";
    }

    if (host && !hostaddr) {
        return "\"pg_conninfo\" needs hostaddr= (a host= name lookup "
               "would block the event loop)";
    }

    return ND_CONF_OK;
}


static void
nd_store_pg_notice(void *arg, const char *message)
{
    /* NOTICEs ("relation already exists, skipping") are not for us */
}


static void
nd_store_pg_io_set(nd_store_pg_conn_t *pc, int events)
{
    int              fd;
    struct ev_loop  *loop;

    loop = pc->pg->cycle->loop;
    fd = pc->conn ? nd_pq.PQsocket(pc->conn) : -1;

    if (fd == pc->fd && events == pc->events) {
        return;
    }

    if (pc->fd != -1) {
        ev_io_stop(loop, &pc->io);
    }

    pc->fd = fd;
    pc->events = events;

    if (fd != -1 && events) {
        ev_io_set(&pc->io, fd, events);
        ev_io_start(loop, &pc->io);
    }
}


static char *
nd_store_pg_msg(nd_store_op_t *op, const char *prefix, const char *err)
{
    char    *m;
    size_t   n;

    n = strlen(prefix) + strlen(err) + 1;
    m = nd_pnalloc(op->pool, n);
    if (m == NULL) {
        return (char *) prefix;
    }
    snprintf(m, n, "%s%s", prefix, err);
    /* libpq messages end with a newline */
    while (n > 1 && (m[n - 2] == '\n' || m[n - 2] == ' ')) {
        m[n - 2] = '\0';
        n--;
    }

    return m;
}


static void
nd_store_pg_reset_op(nd_store_op_t *op)
{
    op->rc = ND_OK;
    op->status = 200;
    op->error = NULL;
    op->rows.nelts = 0;
    op->affected = 0;
    op->write_status = 0;
    op->seq = 0;
    op->total = 0;
    op->pg_batch = 0;
}


/* fail every op still queued (nothing is ready to run it) */
static void
nd_store_pg_fail_queued(nd_store_pg_t *pg, const char *why)
{
    nd_queue_t     *q, *queues[2];
    nd_uint_t       i;
    nd_store_op_t  *op;

    queues[0] = &pg->writes;
    queues[1] = &pg->reads;
    pg->nwrites = 0;

    for (i = 0; i < 2; i++) {
        while (!nd_queue_empty(queues[i])) {
            q = nd_queue_head(queues[i]);
            nd_queue_remove(q);
            op = nd_queue_data(q, nd_store_op_t, queue);
            nd_store_fail(op, 503, why);
            nd_store_complete(op);
        }
    }
}


/* sending */

static nd_int_t
nd_store_pg_send_op(nd_store_pg_conn_t *pc, nd_store_op_t *op)
{
    int               i, j;
    char              name[16];
    nd_uint_t         n;
    const char       *values[ND_STORE_MAX_PARAMS];
    nd_store_stmt_t   plan[ND_STORE_PLAN_MAX];

    n = nd_store_plan(op, plan);
    op->plan_n = (unsigned char) n;

    for (i = 0; i < (int) n; i++) {
        op->plan_rows[i] = (unsigned char) plan[i].rows;

        for (j = 0; j < (int) plan[i].nparams; j++) {
            values[j] = (const char *) plan[i].params[j].text.data;
        }

        snprintf(name, sizeof(name), "nd%d", (int) plan[i].sql);

        if (!nd_pq.PQsendQueryPrepared(pc->conn, name,
                                       (int) plan[i].nparams, values, NULL,
                                       NULL, 0))
        {
            return ND_ERROR;
        }
    }

    return ND_OK;
}


/* publishes ops[0..n) as one statement (nd_store_pg_batch.c); ops[0]
 * gets its result, the others none */
static nd_int_t
nd_store_pg_send_batch(nd_store_pg_conn_t *pc, nd_store_op_t **ops,
    nd_uint_t n)
{
    nd_uint_t              i;
    nd_store_pg_params_t   pp;

    if (nd_store_pg_batch_encode(&pc->pg->batch, ops, n, &pp) != ND_OK) {
        return ND_ERROR;
    }

    for (i = 1; i < n; i++) {
        ops[i]->plan_n = 0;
        ops[i]->pg_batch = 0;
    }

    ops[0]->plan_n = 1;
    ops[0]->plan_rows[0] = ND_STORE_ROWS_WRITE;
    ops[0]->pg_batch = (unsigned short) n;

    if (!nd_pq.PQsendQueryPrepared(pc->conn, "nd_batch", ND_PG_BATCH_PARAMS,
                                   pp.values, pp.lengths, pp.formats, 0))
    {
        return ND_ERROR;
    }

    return ND_OK;
}


static nd_store_pg_unit_t *
nd_store_pg_unit(nd_store_pg_conn_t *pc, int write)
{
    nd_store_pg_unit_t  *u;

    u = nd_calloc(sizeof(nd_store_pg_unit_t));
    if (u == NULL) {
        return NULL;
    }

    nd_queue_init(&u->ops);
    u->write = write;

    return u;
}


static void
nd_store_pg_flush(nd_store_pg_conn_t *pc)
{
    int  rc;

    rc = nd_pq.PQflush(pc->conn);

    if (rc == -1) {
        nd_store_pg_drop(pc, nd_pq.PQerrorMessage(pc->conn));
        return;
    }

    nd_store_pg_io_set(pc, rc == 1 ? EV_READ | EV_WRITE : EV_READ);
}


static nd_int_t
nd_store_pg_send_unit(nd_store_pg_conn_t *pc, nd_store_pg_unit_t *u)
{
    nd_uint_t       i, n;
    nd_queue_t     *q;
    nd_store_op_t  *op, *ops[ND_PG_BATCH_MAX];

    q = nd_queue_head(&u->ops);

    while (q != nd_queue_sentinel(&u->ops)) {
        op = nd_queue_data(q, nd_store_op_t, queue);
        op->pg_batch = 0;

        n = u->write ? nd_store_pg_batch_collect(q, nd_queue_sentinel(&u->ops),
                                                 ops, ND_PG_BATCH_MAX)
                     : 0;

        if (n >= 2) {
            if (nd_store_pg_send_batch(pc, ops, n) != ND_OK) {
                return ND_ERROR;
            }
            for (i = 0; i < n; i++) {
                q = nd_queue_next(q);
            }
            continue;
        }

        if (nd_store_pg_send_op(pc, op) != ND_OK) {
            return ND_ERROR;
        }
        q = nd_queue_next(q);
    }

    if (!nd_pq.PQpipelineSync(pc->conn)) {
        return ND_ERROR;
    }

    if (nd_queue_empty(&pc->units)) {
        pc->cur = nd_queue_head(&u->ops);
        pc->stmt = 0;
        pc->expect_null = 0;
    }

    nd_queue_insert_tail(&pc->units, &u->link);
    pc->nunits++;
    if (u->write) {
        pc->nwrites++;
    }

    if (!nd_timer_active(&pc->timeout)) {
        nd_timer_start(&pc->timeout, pc->pg->scf->query_timeout,
                       ND_TIMER_ONCE);
    }

    return ND_OK;
}


static nd_store_pg_conn_t *
nd_store_pg_writer(nd_store_pg_t *pg)
{
    nd_uint_t  i;

    for (i = 0; i < pg->nconns; i++) {
        if (pg->conns[i].state == ND_PG_READY) {
            return &pg->conns[i];
        }
    }

    return NULL;
}


static void
nd_store_pg_dispatch(nd_store_pg_t *pg)
{
    nd_uint_t            i, n, max;
    nd_queue_t          *q;
    nd_store_op_t       *op;
    nd_store_pg_unit_t  *u;
    nd_store_pg_conn_t  *w, *pc, *best, *sent[64];
    nd_uint_t            nsent;

    nsent = 0;
    w = nd_store_pg_writer(pg);

    if (w == NULL) {
        if (!nd_queue_empty(&pg->writes) || !nd_queue_empty(&pg->reads)) {
            nd_store_pg_fail_queued(pg, "database unavailable");
        }
        return;
    }

    max = (nd_uint_t) pg->scf->commit_batch;

    if (w->nwrites == 0 && pg->nwrites > 0 && pg->nwrites < pg->want) {
        /* the writers of the group before are coming back */
        if (!nd_timer_active(&pg->gather)) {
            nd_timer_start(&pg->gather, pg->scf->commit_gather,
                           ND_TIMER_ONCE);
        }
        goto reads;
    }

    while (!nd_queue_empty(&pg->writes) && w->nwrites < ND_PG_WRITE_UNITS) {
        u = nd_store_pg_unit(w, 1);
        if (u == NULL) {
            break;
        }

        for (n = 0; n < max && !nd_queue_empty(&pg->writes); n++) {
            q = nd_queue_head(&pg->writes);
            op = nd_queue_data(q, nd_store_op_t, queue);
            if (op->solo && n > 0) {
                break;
            }
            nd_queue_remove(q);
            nd_queue_insert_tail(&u->ops, q);
            u->nops++;
            pg->nwrites--;
            if (op->solo) {
                n++;
                break;
            }
        }

        if (nd_store_pg_send_unit(w, u) != ND_OK) {
            /* the unit's ops go back; the drop fails them */
            nd_queue_insert_tail(&w->units, &u->link);
            w->nunits++;
            nd_store_pg_drop(w, nd_pq.PQerrorMessage(w->conn));
            nd_store_pg_dispatch(pg);
            return;
        }

        sent[nsent++] = w;
        nd_timer_stop(&pg->gather);
    }

reads:

    while (!nd_queue_empty(&pg->reads)) {
        best = NULL;
        for (i = 0; i < pg->nconns; i++) {
            pc = &pg->conns[i];
            if (pc->state != ND_PG_READY || pc->nunits >= ND_PG_READ_UNITS) {
                continue;
            }
            /* the writer last */
            if (best == NULL
                || (best == w && pc != w)
                || (pc != w && pc->nunits < best->nunits))
            {
                best = pc;
            }
        }

        if (best == NULL) {
            break;                      /* all busy: wait */
        }

        u = nd_store_pg_unit(best, 0);
        if (u == NULL) {
            break;
        }

        q = nd_queue_head(&pg->reads);
        nd_queue_remove(q);
        nd_queue_insert_tail(&u->ops, q);
        u->nops = 1;

        if (nd_store_pg_send_unit(best, u) != ND_OK) {
            nd_queue_insert_tail(&best->units, &u->link);
            best->nunits++;
            nd_store_pg_drop(best, nd_pq.PQerrorMessage(best->conn));
            nd_store_pg_dispatch(pg);
            return;
        }

        if (nsent < nd_nelts(sent)) {
            sent[nsent++] = best;
        }
    }

    for (i = 0; i < pg->nconns; i++) {
        pc = &pg->conns[i];
        for (n = 0; n < nsent; n++) {
            if (sent[n] == pc) {
                nd_store_pg_flush(pc);
                break;
            }
        }
    }
}


static void
nd_store_pg_gather_expired(nd_timer_t *t)
{
    nd_store_pg_t  *pg = t->data;

    pg->want = pg->nwrites;             /* go with what came */
    nd_store_pg_dispatch(pg);
}


static void
nd_store_pg_submit(nd_cycle_t *cycle, nd_store_op_t *op)
{
    nd_store_pg_t  *pg;

    pg = nd_store_conf(cycle)->pg;

    if (pg->ready == 0 || pg->stopping) {
        nd_store_fail(op, 503, "database unavailable");
        nd_store_complete(op);
        return;
    }

    if (nd_store_op_is_write(op)) {
        nd_queue_insert_tail(&pg->writes, &op->queue);
        pg->nwrites++;
    } else {
        nd_queue_insert_tail(&pg->reads, &op->queue);
    }

    nd_store_pg_dispatch(pg);
}


static nd_int_t
nd_store_pg_available(nd_cycle_t *cycle)
{
    nd_store_pg_t  *pg;

    pg = nd_store_conf(cycle)->pg;

    return pg && pg->ready && pg->loaded ? ND_OK : ND_DECLINED;
}


/* results */

static void nd_store_pg_load_rows(nd_store_conf_t *scf, nd_store_op_t *op,
    nd_store_row_t *row, int n);
static void nd_store_pg_batch_rows(nd_store_pg_conn_t *pc, nd_store_op_t *op,
    nd_store_row_t *row, int n);

static void
nd_store_pg_get(void *ctx, int col, nd_str_t *out)
{
    PGresult  **res = ctx;
    int         row;

    row = (int) (intptr_t) res[1];

    if (nd_pq.PQgetisnull(res[0], row, col)) {
        out->data = NULL;
        out->len = 0;
        return;
    }

    out->data = (u_char *) nd_pq.PQgetvalue(res[0], row, col);
    out->len = (size_t) nd_pq.PQgetlength(res[0], row, col);
}


static void
nd_store_pg_result(nd_store_pg_conn_t *pc, PGresult *res)
{
    int                  i, n;
    void                *ctx[2];
    nd_store_op_t       *op;
    nd_store_row_t       row;
    nd_store_pg_unit_t  *u;
    ExecStatusType       st;

    u = nd_queue_data(nd_queue_head(&pc->units), nd_store_pg_unit_t, link);

    if (pc->cur == nd_queue_sentinel(&u->ops)) {
        return;                         /* more results than statements */
    }

    op = nd_queue_data(pc->cur, nd_store_op_t, queue);
    st = nd_pq.PQresultStatus(res);

    if (st == PGRES_PIPELINE_ABORTED) {
        u->failed = 1;
        return;
    }

    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        u->failed = 1;
        if (op->rc == ND_OK) {
            nd_store_fail(op, 500,
                          nd_store_pg_msg(op, "database error: ",
                                          nd_pq.PQresultErrorMessage(res)));
        }
        return;
    }

    if (op->rc != ND_OK || pc->stmt >= op->plan_n) {
        return;
    }

    n = nd_pq.PQntuples(res);
    ctx[0] = res;
    row.ctx = ctx;
    row.get = nd_store_pg_get;
    row.get_int = NULL;

    if (op->type == ND_STORE_CONFIG_LOAD) {
        nd_store_pg_load_rows(pc->pg->scf, op, &row, n);
        return;
    }

    if (op->pg_batch) {
        nd_store_pg_batch_rows(pc, op, &row, n);
        return;
    }

    for (i = 0; i < n; i++) {
        ctx[1] = (void *) (intptr_t) i;
        if (nd_store_decode_row(op, op->plan_rows[pc->stmt], &row) != ND_OK) {
            nd_store_fail(op, 500, "out of memory");
            return;
        }
    }
}


/* a batch's answer: row i is the ith publish's, from op on */
static void
nd_store_pg_batch_rows(nd_store_pg_conn_t *pc, nd_store_op_t *op,
    nd_store_row_t *row, int n)
{
    int          i;
    void       **ctx;
    nd_queue_t  *q;

    ctx = row->ctx;

    if (n != (int) op->pg_batch) {
        /* not what the statement answers: fail the unit; its ops run
         * again one by one */
        nd_store_fail(op, 500, "database error: a batch answered the wrong "
                               "number of rows");
        nd_queue_data(nd_queue_head(&pc->units), nd_store_pg_unit_t,
                      link)->failed = 1;
        return;
    }

    q = &op->queue;

    for (i = 0; i < n; i++, q = nd_queue_next(q)) {
        op = nd_queue_data(q, nd_store_op_t, queue);
        ctx[1] = (void *) (intptr_t) i;
        if (nd_store_decode_row(op, ND_STORE_ROWS_WRITE, row) != ND_OK) {
            nd_store_fail(op, 500, "out of memory");
        }
    }
}


/* the cache load: each row straight from libpq's into its cache entry
 * (views: one copy, no array of every row in the op); any order, the keys
 * are unique and one snapshot holds every change up to its highest */
static void
nd_store_pg_load_rows(nd_store_conf_t *scf, nd_store_op_t *op,
    nd_store_row_t *row, int n)
{
    int     i;
    void  **ctx;

    ctx = row->ctx;
    op->views = 1;
    scf->loading = 1;

    for (i = 0; i < n; i++) {
        ctx[1] = (void *) (intptr_t) i;
        op->rows.nelts = 0;
        if (nd_store_decode_row(op, ND_STORE_ROWS_CONFIG, row) != ND_OK) {
            nd_store_fail(op, 500, "out of memory");
            break;
        }
        nd_store_cache_load(scf, op);
        op->total++;
    }

    op->rows.nelts = 0;
    scf->loading = 0;
}


static void
nd_store_pg_advance(nd_store_pg_conn_t *pc)
{
    nd_store_op_t       *op;
    nd_store_pg_unit_t  *u;

    u = nd_queue_data(nd_queue_head(&pc->units), nd_store_pg_unit_t, link);

    if (pc->cur == nd_queue_sentinel(&u->ops)) {
        return;
    }

    op = nd_queue_data(pc->cur, nd_store_op_t, queue);

    if (++pc->stmt >= op->plan_n) {
        pc->stmt = 0;
        /* past the publishes a batch statement answered */
        do {
            pc->cur = nd_queue_next(pc->cur);
        } while (pc->cur != nd_queue_sentinel(&u->ops)
                 && nd_queue_data(pc->cur, nd_store_op_t,
                                  queue)->plan_n == 0);
    }
}


/* the head unit's Sync arrived */
static void
nd_store_pg_unit_done(nd_store_pg_conn_t *pc)
{
    nd_queue_t          *q;
    nd_store_op_t       *op;
    nd_store_pg_t       *pg;
    nd_store_pg_unit_t  *u, *next;

    pg = pc->pg;
    q = nd_queue_head(&pc->units);
    u = nd_queue_data(q, nd_store_pg_unit_t, link);
    nd_queue_remove(q);
    pc->nunits--;
    if (u->write) {
        pc->nwrites--;
        pg->scf->groups++;
        pg->scf->group_ops += u->nops;
        pg->want = nd_store_gather_want(pg->scf, u->nops, pg->nwrites);
    }

    if (!nd_queue_empty(&pc->units)) {
        next = nd_queue_data(nd_queue_head(&pc->units), nd_store_pg_unit_t,
                             link);
        pc->cur = nd_queue_head(&next->ops);
        nd_timer_start(&pc->timeout, pg->scf->query_timeout, ND_TIMER_ONCE);
    } else {
        nd_timer_stop(&pc->timeout);
    }

    pc->stmt = 0;
    pc->expect_null = 0;

    if (u->failed && u->write && u->nops > 1) {
        /* the whole segment rolled back: each op runs again alone, so
         * one bad write does not change the others' outcome */
        while (!nd_queue_empty(&u->ops)) {
            q = nd_queue_last(&u->ops);
            nd_queue_remove(q);
            op = nd_queue_data(q, nd_store_op_t, queue);
            nd_store_pg_reset_op(op);
            op->solo = 1;
            nd_queue_insert_head(&pg->writes, q);
            pg->nwrites++;
        }
        nd_free(u);
        return;
    }

    while (!nd_queue_empty(&u->ops)) {
        q = nd_queue_head(&u->ops);
        nd_queue_remove(q);
        op = nd_queue_data(q, nd_store_op_t, queue);

        if (u->failed && op->rc == ND_OK) {
            /* rolled back with the segment */
            nd_store_fail(op, 500, "database error: transaction aborted");
        }

        nd_store_complete(op);
    }

    nd_free(u);
}


static void
nd_store_pg_read_results(nd_store_pg_conn_t *pc)
{
    PGresult        *res;
    ExecStatusType   st;

    while (pc->state == ND_PG_READY && !nd_queue_empty(&pc->units)) {

        if (nd_pq.PQisBusy(pc->conn)) {
            return;
        }

        res = nd_pq.PQgetResult(pc->conn);

        if (res == NULL) {
            if (!pc->expect_null) {
                return;
            }
            pc->expect_null = 0;
            nd_store_pg_advance(pc);
            continue;
        }

        st = nd_pq.PQresultStatus(res);

        if (st == PGRES_PIPELINE_SYNC) {
            nd_pq.PQclear(res);
            nd_store_pg_unit_done(pc);
            continue;
        }

        if (pc->expect_null) {
            nd_store_pg_advance(pc);
        }

        nd_store_pg_result(pc, res);
        nd_pq.PQclear(res);
        pc->expect_null = 1;
    }
}


/* connection set-up: schema (first connection), prepare, then load */

static void
nd_store_pg_loaded(nd_store_op_t *op)
{
    nd_uint_t       i;
    nd_store_pg_t  *pg;

    pg = op->data;
    pg->loading = 0;

    if (op->rc != ND_OK) {
        return;                         /* again when a connection is up */
    }

    pg->loaded = 1;
    nd_log_error(ND_LOG_INFO, pg->cycle->log, 0,
                 "pg: %lu configs loaded, change sequence %lld",
                 (unsigned long) op->total,
                 (long long) pg->scf->last_seq);
    nd_module_ready(pg->cycle, &nd_store_module);

    for (i = 1; i < pg->nconns; i++) {
        if (pg->conns[i].state == ND_PG_DOWN
            && !nd_timer_active(&pg->conns[i].retry))
        {
            nd_store_pg_connect(&pg->conns[i]);
        }
    }
}


static void
nd_store_pg_ready(nd_store_pg_conn_t *pc)
{
    nd_store_op_t  *op;
    nd_store_pg_t  *pg;

    pg = pc->pg;
    pc->state = ND_PG_READY;
    pc->backoff = 0;
    pg->ready++;

    nd_log_error(ND_LOG_INFO, pg->cycle->log, 0,
                 "pg: connection %lu ready", (unsigned long) pc->index);

    if (!pg->loaded && !pg->loading && !pg->stopping) {
        op = nd_store_op_create(pg->cycle, ND_STORE_CONFIG_LOAD,
                                nd_store_pg_loaded, pg);
        if (op) {
            pg->loading = 1;
            pg->scf->inflight++;
            pg->cycle->busy++;
            nd_queue_insert_tail(&pg->reads, &op->queue);
        }
    }

    nd_store_pg_dispatch(pg);
}


static nd_int_t
nd_store_pg_prepare(nd_store_pg_conn_t *pc)
{
    int   i;
    char  name[16];

    if (!nd_pq.PQenterPipelineMode(pc->conn)) {
        return ND_ERROR;
    }

    pc->pending = 0;

    for (i = 0; i < ND_STORE_SQL_N; i++) {
        snprintf(name, sizeof(name), "nd%d", i);
        if (!nd_pq.PQsendPrepare(pc->conn, name, nd_store_pg_sql[i], 0,
                                 NULL))
        {
            return ND_ERROR;
        }
        pc->pending++;
    }

    if (!nd_pq.PQsendPrepare(pc->conn, "nd_batch", nd_store_pg_batch_sql, 0,
                             NULL))
    {
        return ND_ERROR;
    }
    pc->pending++;

    if (!nd_pq.PQpipelineSync(pc->conn)) {
        return ND_ERROR;
    }

    pc->state = ND_PG_PREPARING;
    pc->step_error = NULL;
    pc->expect_null = 0;
    nd_timer_start(&pc->timeout, pc->pg->scf->query_timeout, ND_TIMER_ONCE);
    nd_store_pg_flush(pc);

    return ND_OK;
}


static void
nd_store_pg_prepare_results(nd_store_pg_conn_t *pc)
{
    PGresult        *res;
    ExecStatusType   st;

    while (pc->state == ND_PG_PREPARING && !nd_pq.PQisBusy(pc->conn)) {
        res = nd_pq.PQgetResult(pc->conn);
        if (res == NULL) {
            if (!pc->expect_null) {
                return;
            }
            pc->expect_null = 0;
            continue;
        }

        st = nd_pq.PQresultStatus(res);

        if (st == PGRES_PIPELINE_SYNC) {
            nd_pq.PQclear(res);
            nd_timer_stop(&pc->timeout);
            pc->expect_null = 0;
            if (pc->step_error) {
                nd_store_pg_drop(pc, NULL);
                return;
            }
            nd_store_pg_ready(pc);
            return;
        }

        if (st != PGRES_COMMAND_OK && pc->step_error == NULL) {
            pc->step_error = "error";
            nd_log_error(ND_LOG_ERR, pc->pg->cycle->log, 0,
                         "pg: preparing statements failed: %s",
                         nd_pq.PQresultErrorMessage(res));
        }

        pc->expect_null = 1;
        nd_pq.PQclear(res);
    }
}


static nd_int_t
nd_store_pg_section(void *data, int64_t version, const char *sql, size_t len)
{
    nd_buf_t  *b = data;

    if (nd_buf_append(b, sql, len) != ND_OK
        || nd_buf_appendf(b, ";\nINSERT INTO nd_schema_version "
                          "(version, applied) VALUES (%lld, %llu);\n",
                          (long long) version,
                          (unsigned long long) nd_current_msec) != ND_OK)
    {
        return ND_ERROR;
    }

    return ND_OK;
}


static nd_int_t
nd_store_pg_schema_send(nd_store_pg_conn_t *pc)
{
    int             ok;
    int64_t         top;
    nd_buf_t        b;
    nd_store_pg_t  *pg;

    pg = pc->pg;

    if (pc->step == 0) {
        ok = nd_pq.PQsendQuery(pc->conn,
                 "SELECT pg_advisory_lock(" ND_PG_SCHEMA_LOCK ");"
                 "CREATE TABLE IF NOT EXISTS nd_schema_version ("
                 " version bigint PRIMARY KEY, applied bigint NOT NULL);"
                 "SELECT coalesce(max(version), 0) FROM nd_schema_version");
        pc->version = -1;

    } else {
        nd_buf_init(&b);
        nd_buf_appendf(&b, "BEGIN;\n");

        top = nd_store_schema_walk(pg->schema, pg->schema_len, pc->version,
                                   nd_store_pg_section, &b);
        if (top < 0 || top < pc->version) {
            nd_log_error(ND_LOG_ERR, pg->cycle->log, 0,
                         top < 0 ? "pg: the schema file is malformed"
                                 : "pg: the database schema (%lld) is newer "
                                   "than the schema file",
                         (long long) pc->version);
            nd_buf_free(&b);
            return ND_ERROR;
        }

        if (top > pc->version) {
            nd_log_error(ND_LOG_NOTICE, pg->cycle->log, 0,
                         "pg: applying schema version %lld -> %lld",
                         (long long) pc->version, (long long) top);
        }

        nd_buf_appendf(&b, "COMMIT;\nSELECT pg_advisory_unlock("
                       ND_PG_SCHEMA_LOCK ")");
        nd_buf_append(&b, "", 1);
        ok = nd_pq.PQsendQuery(pc->conn, (char *) nd_buf_start(&b));
        nd_buf_free(&b);
    }

    if (!ok) {
        return ND_ERROR;
    }

    pc->state = ND_PG_SCHEMA;
    pc->step_error = NULL;
    nd_timer_start(&pc->timeout, 30000, ND_TIMER_ONCE);
    nd_store_pg_flush(pc);

    return ND_OK;
}


static void
nd_store_pg_schema_results(nd_store_pg_conn_t *pc)
{
    PGresult        *res;
    ExecStatusType   st;
    int64_t          v;

    while (pc->state == ND_PG_SCHEMA && !nd_pq.PQisBusy(pc->conn)) {
        res = nd_pq.PQgetResult(pc->conn);

        if (res != NULL) {
            st = nd_pq.PQresultStatus(res);
            if (st == PGRES_TUPLES_OK && pc->step == 0
                && nd_pq.PQntuples(res) == 1 && nd_pq.PQnfields(res) == 1
                && nd_atoi64((u_char *) nd_pq.PQgetvalue(res, 0, 0),
                             nd_pq.PQgetlength(res, 0, 0), &v) == ND_OK)
            {
                pc->version = v;
            } else if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK
                       && pc->step_error == NULL)
            {
                nd_log_error(ND_LOG_ERR, pc->pg->cycle->log, 0,
                             "pg: schema: %s",
                             nd_pq.PQresultErrorMessage(res));
                pc->step_error = "schema";
            }
            nd_pq.PQclear(res);
            continue;
        }

        /* the step's results are complete */
        nd_timer_stop(&pc->timeout);

        if (pc->step_error || (pc->step == 0 && pc->version < 0)) {
            nd_store_pg_drop(pc, NULL);
            return;
        }

        if (pc->step == 0) {
            pc->step = 1;
            if (nd_store_pg_schema_send(pc) != ND_OK) {
                nd_store_pg_drop(pc, NULL);
            }
            return;
        }

        pc->pg->schema_done = 1;

        if (nd_store_pg_prepare(pc) != ND_OK) {
            nd_store_pg_drop(pc, nd_pq.PQerrorMessage(pc->conn));
        }
        return;
    }
}


static void
nd_store_pg_connected(nd_store_pg_conn_t *pc)
{
    if (nd_pq.PQsetnonblocking(pc->conn, 1) != 0) {
        nd_store_pg_drop(pc, nd_pq.PQerrorMessage(pc->conn));
        return;
    }

    nd_pq.PQsetNoticeProcessor(pc->conn, nd_store_pg_notice, NULL);

    if (!pc->pg->schema_done) {
        pc->step = 0;
        if (nd_store_pg_schema_send(pc) != ND_OK) {
            nd_store_pg_drop(pc, nd_pq.PQerrorMessage(pc->conn));
        }
        return;
    }

    if (nd_store_pg_prepare(pc) != ND_OK) {
        nd_store_pg_drop(pc, nd_pq.PQerrorMessage(pc->conn));
    }
}


static void
nd_store_pg_poll(nd_store_pg_conn_t *pc)
{
    switch (nd_pq.PQconnectPoll(pc->conn)) {

    case PGRES_POLLING_READING:
        nd_store_pg_io_set(pc, EV_READ);
        return;

    case PGRES_POLLING_WRITING:
        nd_store_pg_io_set(pc, EV_WRITE);
        return;

    case PGRES_POLLING_OK:
        nd_timer_stop(&pc->timeout);
        nd_store_pg_io_set(pc, EV_READ);
        nd_store_pg_connected(pc);
        return;

    default:
        nd_store_pg_drop(pc, nd_pq.PQerrorMessage(pc->conn));
        return;
    }
}


static void
nd_store_pg_io_handler(struct ev_loop *loop, ev_io *w, int revents)
{
    nd_store_pg_conn_t  *pc = w->data;

    if (pc->state == ND_PG_CONNECTING) {
        nd_store_pg_poll(pc);
        return;
    }

    if (pc->state == ND_PG_DOWN) {
        return;
    }

    if (revents & EV_WRITE) {
        nd_store_pg_flush(pc);
        if (pc->state == ND_PG_DOWN) {
            return;
        }
    }

    if (revents & EV_READ) {
        if (!nd_pq.PQconsumeInput(pc->conn)) {
            nd_store_pg_drop(pc, nd_pq.PQerrorMessage(pc->conn));
            nd_store_pg_dispatch(pc->pg);
            return;
        }
    }

    switch (pc->state) {
    case ND_PG_SCHEMA:
        nd_store_pg_schema_results(pc);
        break;
    case ND_PG_PREPARING:
        nd_store_pg_prepare_results(pc);
        break;
    case ND_PG_READY:
        nd_store_pg_read_results(pc);
        if (pc->state == ND_PG_READY
            && nd_pq.PQstatus(pc->conn) == CONNECTION_BAD)
        {
            nd_store_pg_drop(pc, nd_pq.PQerrorMessage(pc->conn));
        }
        nd_store_pg_dispatch(pc->pg);
        break;
    }
}


static void
nd_store_pg_connect(nd_store_pg_conn_t *pc)
{
    nd_store_pg_t       *pg;
    const char          *keys[] = { "dbname", "application_name",
                                    "fallback_application_name", NULL };
    const char          *vals[] = { NULL, "nacosd", "nacosd", NULL };

    pg = pc->pg;

    if (pg->stopping) {
        return;
    }

    vals[0] = (const char *) pg->scf->pg_conninfo.data;

    pc->conn = nd_pq.PQconnectStartParams(keys, vals, 1);
    if (pc->conn == NULL || nd_pq.PQstatus(pc->conn) == CONNECTION_BAD) {
        nd_store_pg_drop(pc, pc->conn ? nd_pq.PQerrorMessage(pc->conn)
                                      : "out of memory");
        return;
    }

    pc->state = ND_PG_CONNECTING;
    pc->fd = -1;
    pc->events = 0;
    nd_timer_start(&pc->timeout, pg->scf->query_timeout, ND_TIMER_ONCE);
    nd_store_pg_io_set(pc, EV_WRITE);
}


static void
nd_store_pg_retry(nd_timer_t *t)
{
    nd_store_pg_connect(t->data);
}


static void
nd_store_pg_timeout(nd_timer_t *t)
{
    nd_store_pg_conn_t  *pc = t->data;

    nd_store_pg_drop(pc, pc->state == ND_PG_CONNECTING
                         ? "connect timed out" : "query timed out");
    nd_store_pg_dispatch(pc->pg);
}


/* the connection is gone: fail what it carried, reconnect later */
static void
nd_store_pg_drop(nd_store_pg_conn_t *pc, const char *why)
{
    nd_queue_t          *q;
    nd_store_op_t       *op;
    nd_store_pg_t       *pg;
    nd_store_pg_unit_t  *u;
    char                 msg[256];
    size_t               n;

    pg = pc->pg;

    if (pc->state == ND_PG_DOWN && pc->conn == NULL) {
        return;
    }

    msg[0] = '\0';
    if (why) {
        n = nd_min(strlen(why), sizeof(msg) - 1);
        memcpy(msg, why, n);
        msg[n] = '\0';
        while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) {
            msg[--n] = '\0';
        }
        for (char *p = msg; *p; p++) {
            if (*p == '\n') {
                *p = ' ';
            }
        }
    }

    if (pc->state == ND_PG_READY) {
        pg->ready--;
    }

    if (!pg->stopping) {
        pg->scf->pg_drops++;
    }

    if (pc->state == ND_PG_READY && !pg->stopping) {
        nd_log_error(ND_LOG_WARN, pg->cycle->log, 0,
                     "pg: connection %lu lost: %s", (unsigned long) pc->index,
                     msg[0] ? msg : "error");
    } else if (!pg->stopping) {
        nd_log_error(pc->backoff ? ND_LOG_INFO : ND_LOG_WARN,
                     pg->cycle->log, 0, "pg: connection %lu failed: %s",
                     (unsigned long) pc->index, msg[0] ? msg : "error");
    }

    nd_store_pg_io_set(pc, 0);
    if (pc->fd != -1) {
        ev_io_stop(pg->cycle->loop, &pc->io);
    }
    pc->fd = -1;
    pc->events = 0;
    nd_timer_stop(&pc->timeout);

    if (pc->conn) {
        nd_pq.PQfinish(pc->conn);
        pc->conn = NULL;
    }

    pc->state = ND_PG_DOWN;

    while (!nd_queue_empty(&pc->units)) {
        q = nd_queue_head(&pc->units);
        nd_queue_remove(q);
        u = nd_queue_data(q, nd_store_pg_unit_t, link);

        while (!nd_queue_empty(&u->ops)) {
            q = nd_queue_head(&u->ops);
            nd_queue_remove(q);
            op = nd_queue_data(q, nd_store_op_t, queue);
            nd_store_pg_reset_op(op);
            if (u->write) {
                op->unknown = 1;
                nd_store_fail(op, 503, "database connection lost; the "
                              "outcome of this write is unknown");
            } else {
                nd_store_fail(op, 503, "database connection lost");
            }
            nd_store_complete(op);
        }

        nd_free(u);
    }

    pc->nunits = 0;
    pc->nwrites = 0;

    if (pg->ready == 0) {
        nd_store_pg_fail_queued(pg, "database unavailable");
    }

    if (pg->stopping) {
        return;
    }

    pc->backoff = pc->backoff ? nd_min(pc->backoff * 2,
                                       pg->scf->pg_reconnect_max)
                              : 100;
    nd_timer_start(&pc->retry, pc->backoff, ND_TIMER_ONCE);
}


static nd_int_t
nd_store_pg_start(nd_cycle_t *cycle)
{
    char              path[PATH_MAX];
    nd_uint_t         i;
    nd_store_pg_t    *pg;
    nd_store_conf_t  *scf;
    nd_store_pg_conn_t  *pc;

    scf = nd_store_conf(cycle);

    pg = nd_pcalloc(cycle->pool, sizeof(nd_store_pg_t));
    if (pg == NULL) {
        return ND_ERROR;
    }

    scf->pg = pg;
    pg->scf = scf;
    pg->cycle = cycle;

    nd_store_pg_log_library(cycle->log);
    nd_queue_init(&pg->writes);
    nd_queue_init(&pg->reads);
    nd_buf_init(&pg->batch);

    snprintf(path, sizeof(path), "%s/pg.sql", scf->schema_dir_z);
    pg->schema = nd_store_schema_text(scf, "pg.sql", &pg->schema_len,
                                      cycle->log);
    if (pg->schema == NULL) {
        return ND_ERROR;
    }

    if (nd_store_schema_walk(pg->schema, pg->schema_len, 0, NULL, NULL) < 1)
    {
        nd_log_error(ND_LOG_EMERG, cycle->log, 0,
                     "pg: the schema \"%s\" is malformed", path);
        return ND_ERROR;
    }

    pg->nconns = (nd_uint_t) scf->pg_pool;
    pg->conns = nd_pcalloc(cycle->pool,
                           pg->nconns * sizeof(nd_store_pg_conn_t));
    if (pg->conns == NULL) {
        return ND_ERROR;
    }

    nd_timer_init(&pg->gather, "pg commit gather", nd_store_pg_gather_expired,
                  pg);

    for (i = 0; i < pg->nconns; i++) {
        pc = &pg->conns[i];
        pc->pg = pg;
        pc->index = i;
        pc->fd = -1;
        pc->state = ND_PG_DOWN;
        nd_queue_init(&pc->units);
        ev_init(&pc->io, nd_store_pg_io_handler);
        pc->io.data = pc;
        nd_timer_init(&pc->retry, "pg reconnect", nd_store_pg_retry, pc);
        nd_timer_init(&pc->timeout, "pg query timeout", nd_store_pg_timeout,
                      pc);
    }

    /* the first connection applies the schema and loads the cache; the
     * others follow once it did */
    nd_store_pg_connect(&pg->conns[0]);

    return ND_OK;
}


static void
nd_store_pg_stop(nd_cycle_t *cycle)
{
    /* in-flight operations finish (each holds cycle->busy) */
}


static void
nd_store_pg_exit(nd_cycle_t *cycle)
{
    nd_uint_t        i;
    nd_store_pg_t   *pg;

    pg = nd_store_conf(cycle)->pg;
    if (pg == NULL) {
        return;
    }

    pg->stopping = 1;
    nd_timer_stop(&pg->gather);

    for (i = 0; i < pg->nconns; i++) {
        nd_timer_stop(&pg->conns[i].retry);
        nd_store_pg_drop(&pg->conns[i], NULL);
    }

    nd_store_pg_fail_queued(pg, "server stopping");

    nd_free(pg->schema);
    pg->schema = NULL;
    nd_buf_free(&pg->batch);
}

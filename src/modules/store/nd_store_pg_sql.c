/*
 * The statements each pg connection prepares (nd_store_pg_prepare()),
 * indexed by nd_store_sql_e; the server functions they call are in
 * conf/schema/pg.sql.
 */
#include <nd_store_pg.h>


#define ND_PG_CFG_COLS                                                        \
    "c.id, c.data_id, c.group_id, c.tenant_id, c.content, c.md5, "           \
    "c.gmt_create, c.gmt_modified, c.src_user, c.src_ip, c.app_name, "       \
    "c.c_desc, c.c_use, c.effect, c.type, c.c_schema, "                      \
    "c.encrypted_data_key, c.change_seq, "                                    \
    "(SELECT string_agg(t.tag_name, ',' ORDER BY t.nid) "                    \
    "FROM config_tags_relation t WHERE t.id = c.id), NULL, NULL "

#define ND_PG_HIS_INSERT                                                      \
    "INSERT INTO his_config_info (id, data_id, group_id, tenant_id, "        \
    "app_name, content, md5, gmt_create, gmt_modified, src_user, src_ip, "   \
    "op_type, encrypted_data_key, publish_type, gray_name, ext_info, "       \
    "change_seq) "

#define ND_PG_GRAY_OLD                                                        \
    "old AS (SELECT g.id, g.md5, g.gmt_create FROM config_info_gray g "      \
    "WHERE g.data_id = $1::text AND g.group_id = $2::text "                  \
    "AND g.tenant_id = $3::text AND g.gray_name = $4::text) "

#define ND_PG_SEARCH_WHERE                                                    \
    "WHERE c.tenant_id = $1::text "                                           \
    "AND ($2::text = '' OR c.data_id LIKE $2::text ESCAPE '\\') "             \
    "AND ($3::text = '' OR c.group_id LIKE $3::text ESCAPE '\\') "            \
    "AND ($4::text = '' OR c.app_name LIKE $4::text ESCAPE '\\') "

const char  *const nd_store_pg_sql[ND_STORE_SQL_N] = {

    [ND_STORE_SQL_CONFIG_ALL] =
        "SELECT " ND_PG_CFG_COLS "FROM config_info c UNION ALL "
        "SELECT " ND_STORE_GRAY_COLS "FROM config_info_gray g",

    [ND_STORE_SQL_CONFIG_SEARCH] =
        "SELECT " ND_PG_CFG_COLS "FROM config_info c "
        ND_PG_SEARCH_WHERE
        "ORDER BY c.id LIMIT $5::bigint OFFSET $6::bigint",

    [ND_STORE_SQL_CONFIG_COUNT] =
        "SELECT count(*) FROM config_info c " ND_PG_SEARCH_WHERE,

    [ND_STORE_SQL_HISTORY_LIST] =
        "SELECT " ND_STORE_HIS_COLS "FROM his_config_info h "
        "WHERE h.data_id = $1::text AND h.group_id = $2::text "
        "AND h.tenant_id = $3::text "
        "ORDER BY h.nid DESC LIMIT $4::bigint OFFSET $5::bigint",

    [ND_STORE_SQL_HISTORY_COUNT] =
        "SELECT count(*) FROM his_config_info h "
        "WHERE h.data_id = $1::text AND h.group_id = $2::text "
        "AND h.tenant_id = $3::text",

    [ND_STORE_SQL_HISTORY_GET] =
        "SELECT " ND_STORE_HIS_COLS "FROM his_config_info h "
        "WHERE h.nid = $1::bigint",

    [ND_STORE_SQL_HISTORY_PREVIOUS] =
        "SELECT " ND_STORE_HIS_COLS "FROM his_config_info h "
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
        "SELECT " ND_STORE_GRAY_COLS "FROM config_info_gray g "
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
        "INSERT INTO naming_instance (" ND_STORE_INSTANCE_COLS
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
        "SELECT " ND_STORE_INSTANCE_COLS "FROM naming_instance "
        "WHERE namespace_id = $1::text "
        "AND ($2::text = '' OR group_name = $2::text) "
        "AND ($3::text = '' OR service_name = $3::text) "
        "ORDER BY group_name, service_name, cluster_name, ip, port",

    [ND_STORE_SQL_INSTANCE_VERSION] =
        "SELECT v FROM nd_instance_version WHERE id = 1",

    /* nothing but the version's check when it is $1 (a one-time filter) */
    [ND_STORE_SQL_INSTANCE_SYNC] =
        "SELECT " ND_STORE_INSTANCE_COLS "FROM naming_instance "
        "WHERE (SELECT v FROM nd_instance_version WHERE id = 1) "
        "<> $1::bigint",

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

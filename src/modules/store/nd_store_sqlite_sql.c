/*
 * The statements the sqlite writer prepares at start: the plans' (by
 * nd_store_sql_e) and the writer's own steps (by nd_sqlite_x_e).
 */
#include <nd_store_sqlite.h>

#define ND_SQLITE_SEARCH_WHERE                                                \
    "WHERE c.tenant_id = ?1 "                                                 \
    "AND (?2 = '' OR c.data_id LIKE ?2 ESCAPE '\\') "                         \
    "AND (?3 = '' OR c.group_id LIKE ?3 ESCAPE '\\') "                        \
    "AND (?4 = '' OR c.app_name LIKE ?4 ESCAPE '\\') "

const char  *const nd_store_sqlite_sql[ND_STORE_SQL_N] = {

    [ND_STORE_SQL_CONFIG_ALL] =
        "SELECT " ND_SQLITE_CFG_COLS "FROM config_info c UNION ALL "
        "SELECT " ND_STORE_GRAY_COLS "FROM config_info_gray g",

    [ND_STORE_SQL_CONFIG_SEARCH] =
        "SELECT " ND_SQLITE_CFG_COLS "FROM config_info c "
        ND_SQLITE_SEARCH_WHERE "ORDER BY c.id LIMIT ?5 OFFSET ?6",

    [ND_STORE_SQL_CONFIG_COUNT] =
        "SELECT count(*) FROM config_info c " ND_SQLITE_SEARCH_WHERE,

    [ND_STORE_SQL_HISTORY_LIST] =
        "SELECT " ND_STORE_HIS_COLS "FROM his_config_info h "
        "WHERE h.data_id = ?1 AND h.group_id = ?2 AND h.tenant_id = ?3 "
        "ORDER BY h.nid DESC LIMIT ?4 OFFSET ?5",

    [ND_STORE_SQL_HISTORY_COUNT] =
        "SELECT count(*) FROM his_config_info h "
        "WHERE h.data_id = ?1 AND h.group_id = ?2 AND h.tenant_id = ?3",

    [ND_STORE_SQL_HISTORY_GET] =
        "SELECT " ND_STORE_HIS_COLS "FROM his_config_info h "
        "WHERE h.nid = ?1",

    [ND_STORE_SQL_HISTORY_PREVIOUS] =
        "SELECT " ND_STORE_HIS_COLS "FROM his_config_info h "
        "WHERE (h.data_id, h.group_id, h.tenant_id) = "
        "(SELECT data_id, group_id, tenant_id FROM his_config_info "
        "WHERE nid = ?1) AND h.nid < ?1 ORDER BY h.nid DESC LIMIT 1",

    [ND_STORE_SQL_CHANGES_CONFIG] =
        "SELECT " ND_SQLITE_CFG_COLS "FROM config_info c "
        "WHERE c.change_seq > ?1 UNION ALL "
        "SELECT " ND_STORE_GRAY_COLS "FROM config_info_gray g "
        "WHERE g.change_seq > ?1 ORDER BY 18 LIMIT ?2",

    [ND_STORE_SQL_CHANGES_DELETED] =
        "SELECT change_seq, data_id, group_id, tenant_id, gray_name "
        "FROM his_config_info WHERE op_type = 'D' AND change_seq > ?1 "
        "ORDER BY change_seq LIMIT ?2",

    [ND_STORE_SQL_AUTH_ALL] =
        "SELECT 'u', username, password, '' FROM users "
        "UNION ALL SELECT 'r', username, role, '' FROM roles "
        "UNION ALL SELECT 'p', role, resource, action FROM permissions "
        "UNION ALL SELECT 's', name, value, '' FROM nd_auth_secret",

    [ND_STORE_SQL_AUTH_USER_ADD] =
        "INSERT INTO users (username, password, enabled) VALUES (?1, ?2, 1) "
        "ON CONFLICT (username) DO NOTHING RETURNING username",

    [ND_STORE_SQL_AUTH_USER_PASSWORD] =
        "UPDATE users SET password = ?2 WHERE username = ?1 "
        "RETURNING username",

    [ND_STORE_SQL_AUTH_USER_DELETE] =
        "DELETE FROM users WHERE username = ?1 RETURNING username",

    [ND_STORE_SQL_AUTH_USER_ROLES_DELETE] =
        "DELETE FROM roles WHERE username = ?1 RETURNING role",

    [ND_STORE_SQL_AUTH_ROLE_ADD] =
        "INSERT INTO roles (username, role) VALUES (?1, ?2) "
        "ON CONFLICT (username, role) DO NOTHING RETURNING role",

    [ND_STORE_SQL_AUTH_ROLE_DELETE] =
        "DELETE FROM roles WHERE role = ?2 AND (?1 = '' OR username = ?1) "
        "RETURNING role",

    [ND_STORE_SQL_AUTH_PERM_ADD] =
        "INSERT INTO permissions (role, resource, action) "
        "VALUES (?1, ?2, ?3) ON CONFLICT (role, resource, action) "
        "DO NOTHING RETURNING role",

    [ND_STORE_SQL_AUTH_PERM_DELETE] =
        "DELETE FROM permissions WHERE role = ?1 AND resource = ?2 "
        "AND action = ?3 RETURNING role",

    [ND_STORE_SQL_AUTH_SECRET_INIT] =
        "INSERT INTO nd_auth_secret (name, value) VALUES (?1, ?2) "
        "ON CONFLICT (name) DO NOTHING RETURNING name",

    [ND_STORE_SQL_AUTH_ADMIN_INIT] =
        "INSERT INTO roles (username, role) SELECT ?1, 'ROLE_ADMIN' "
        "WHERE NOT EXISTS (SELECT 1 FROM roles WHERE role = 'ROLE_ADMIN') "
        "RETURNING role",

    [ND_STORE_SQL_AUTH_ADMIN_USER] =
        "INSERT INTO users (username, password, enabled) SELECT ?1, ?2, 1 "
        "WHERE EXISTS (SELECT 1 FROM roles WHERE role = 'ROLE_ADMIN' "
        "AND username = ?1) AND NOT EXISTS (SELECT 1 FROM users "
        "WHERE username = ?1) RETURNING username",

    [ND_STORE_SQL_NS_LIST] =
        "SELECT tenant_id, tenant_name, tenant_desc, create_source, "
        "gmt_create, gmt_modified FROM tenant_info WHERE kp = '1' "
        "ORDER BY id",

    [ND_STORE_SQL_NS_GET] =
        "SELECT tenant_id, tenant_name, tenant_desc, create_source, "
        "gmt_create, gmt_modified FROM tenant_info "
        "WHERE kp = '1' AND tenant_id = ?1",

    [ND_STORE_SQL_NS_CREATE] =
        "INSERT INTO tenant_info (kp, tenant_id, tenant_name, tenant_desc, "
        "create_source, gmt_create, gmt_modified) "
        "VALUES ('1', ?1, ?2, ?3, ?4, ?5, ?5) "
        "ON CONFLICT (kp, tenant_id) DO NOTHING RETURNING id",

    [ND_STORE_SQL_NS_UPDATE] =
        "UPDATE tenant_info SET tenant_name = ?2, tenant_desc = ?3, "
        "gmt_modified = ?4 WHERE kp = '1' AND tenant_id = ?1 RETURNING id",

    [ND_STORE_SQL_NS_DELETE] =
        "DELETE FROM tenant_info WHERE kp = '1' AND tenant_id = ?1 "
        "RETURNING id",

    [ND_STORE_SQL_INSTANCE_UPSERT] =
        "INSERT INTO naming_instance (" ND_STORE_INSTANCE_COLS
        ", gmt_create) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
        "?11) ON CONFLICT (namespace_id, group_name, service_name, "
        "cluster_name, ip, port) DO UPDATE SET weight = excluded.weight, "
        "healthy = excluded.healthy, enabled = excluded.enabled, "
        "metadata = excluded.metadata, gmt_modified = excluded.gmt_modified "
        "RETURNING id",

    [ND_STORE_SQL_INSTANCE_DELETE] =
        "DELETE FROM naming_instance WHERE namespace_id = ?1 "
        "AND group_name = ?2 AND service_name = ?3 AND cluster_name = ?4 "
        "AND ip = ?5 AND port = ?6 RETURNING id",

    [ND_STORE_SQL_INSTANCE_VERSION] =
        "SELECT v FROM nd_instance_version WHERE id = 1",

    [ND_STORE_SQL_INSTANCE_SYNC] =
        "SELECT " ND_STORE_INSTANCE_COLS "FROM naming_instance "
        "WHERE (SELECT v FROM nd_instance_version WHERE id = 1) <> ?1",

    [ND_STORE_SQL_INSTANCE_NAMESPACES] =
        "SELECT DISTINCT namespace_id, '', '', '', 0, 0 "
        "FROM naming_instance ORDER BY 1",

    [ND_STORE_SQL_INSTANCE_LIST] =
        "SELECT " ND_STORE_INSTANCE_COLS "FROM naming_instance "
        "WHERE namespace_id = ?1 AND (?2 = '' OR group_name = ?2) "
        "AND (?3 = '' OR service_name = ?3) "
        "ORDER BY group_name, service_name, cluster_name, ip, port",
};


const char  *const nd_store_sqlite_x_sql[ND_SQLITE_X_N] = {

    /* the sequence is read once a write transaction and written back
     * once before its commit (no RETURNING: SQLite collects returned rows
     * in an ephemeral table, a b-tree opened and zeroed for each call) */
    [ND_SQLITE_SEQ_GET] =
        "SELECT seq FROM nd_change_seq WHERE id = 1",

    [ND_SQLITE_SEQ_SET] =
        "UPDATE nd_change_seq SET seq = ?1 WHERE id = 1",

    [ND_SQLITE_CFG_FIND] =
        "SELECT id, md5, gmt_create FROM config_info "
        "WHERE data_id = ?1 AND group_id = ?2 AND tenant_id = ?3",

    [ND_SQLITE_CFG_INSERT] =
        "INSERT INTO config_info (data_id, group_id, tenant_id, content, "
        "md5, gmt_create, gmt_modified, src_user, src_ip, app_name, c_desc, "
        "c_use, effect, type, c_schema, encrypted_data_key, change_seq) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
        "?14, ?15, ?16)",

    [ND_SQLITE_CFG_UPDATE] =
        "UPDATE config_info SET content = ?2, md5 = ?3, gmt_modified = ?4, "
        "src_user = ?5, src_ip = ?6, app_name = ?7, c_desc = ?8, c_use = ?9, "
        "effect = ?10, type = ?11, c_schema = ?12, encrypted_data_key = ?13, "
        "change_seq = ?14 WHERE id = ?1",

    [ND_SQLITE_CFG_DELETE] =
        "DELETE FROM config_info WHERE id = ?1",

    [ND_SQLITE_HIS_FROM_ROW] =
        "INSERT INTO his_config_info (id, data_id, group_id, tenant_id, "
        "app_name, content, md5, gmt_create, gmt_modified, src_user, src_ip, "
        "op_type, encrypted_data_key, change_seq) "
        "SELECT id, data_id, group_id, tenant_id, app_name, content, md5, "
        "gmt_create, ?2, ?3, ?4, ?5, encrypted_data_key, ?6 "
        "FROM config_info WHERE id = ?1",

    /* the history row of an insert, from the values just inserted (not
     * read back from the row: a seek and a copy of the content less) */
    [ND_SQLITE_HIS_INSERT] =
        "INSERT INTO his_config_info (id, data_id, group_id, tenant_id, "
        "app_name, content, md5, gmt_create, gmt_modified, src_user, src_ip, "
        "op_type, encrypted_data_key, change_seq) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10, 'I', ?11, ?12)",

    [ND_SQLITE_TAGS_DELETE] =
        "DELETE FROM config_tags_relation WHERE id = ?1",

    [ND_SQLITE_TAG_INSERT] =
        "INSERT OR IGNORE INTO config_tags_relation (id, tag_name, tag_type, "
        "data_id, group_id, tenant_id) VALUES (?1, ?2, '', ?3, ?4, ?5)",

    [ND_SQLITE_GRAY_FIND] =
        "SELECT id, md5, gmt_create FROM config_info_gray "
        "WHERE data_id = ?1 AND group_id = ?2 AND tenant_id = ?3 "
        "AND gray_name = ?4",

    [ND_SQLITE_GRAY_INSERT] =
        "INSERT INTO config_info_gray (data_id, group_id, tenant_id, "
        "gray_name, gray_rule, content, md5, app_name, src_user, src_ip, "
        "gmt_create, gmt_modified, encrypted_data_key, change_seq) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12, "
        "?13)",

    [ND_SQLITE_GRAY_UPDATE] =
        "UPDATE config_info_gray SET gray_rule = ?2, content = ?3, md5 = ?4, "
        "app_name = ?5, src_user = ?6, src_ip = ?7, gmt_modified = ?8, "
        "encrypted_data_key = ?9, change_seq = ?10 WHERE id = ?1",

    [ND_SQLITE_GRAY_DELETE] =
        "DELETE FROM config_info_gray WHERE id = ?1",

    /* Nacos 2.5: publish_type gray, gray_name, the rule in ext_info */
    [ND_SQLITE_HIS_FROM_GRAY] =
        "INSERT INTO his_config_info (id, data_id, group_id, tenant_id, "
        "app_name, content, md5, gmt_create, gmt_modified, src_user, src_ip, "
        "op_type, encrypted_data_key, publish_type, gray_name, ext_info, "
        "change_seq) "
        "SELECT id, data_id, group_id, tenant_id, app_name, content, md5, "
        "gmt_create, ?2, ?3, ?4, ?5, encrypted_data_key, 'gray', gray_name, "
        "?7, ?6 FROM config_info_gray WHERE id = ?1",

    [ND_SQLITE_BEGIN] = "BEGIN IMMEDIATE",
    [ND_SQLITE_COMMIT] = "COMMIT",
    [ND_SQLITE_ROLLBACK] = "ROLLBACK",
};

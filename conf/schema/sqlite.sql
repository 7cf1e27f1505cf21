-- nacosd store schema, SQLite (store { backend sqlite; }).
--
-- nacosd applies this file itself on start: every "-- version N" section
-- newer than the database's (table nd_schema_version) runs in one
-- transaction with its nd_schema_version row.  Never edit a released
-- section: add a new "-- version N+1" section at the end.
--
-- Keys are case-sensitive (BINARY collation, the SQLite default; LIKE is
-- made case-sensitive by the server).  Times are epoch milliseconds from
-- the server clock.  change_seq is the global change sequence: every
-- write to config_info takes the next value (nd_change_seq) and stores it
-- on the row and on its his_config_info row.
-- version 1
CREATE TABLE nd_change_seq (
    id                  INTEGER PRIMARY KEY,
    seq                 INTEGER NOT NULL
);
INSERT INTO nd_change_seq (id, seq) VALUES (1, 0);

CREATE TABLE config_info (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    data_id             TEXT NOT NULL,
    group_id            TEXT NOT NULL,
    tenant_id           TEXT NOT NULL DEFAULT '',
    content             TEXT NOT NULL,
    md5                 TEXT,
    gmt_create          INTEGER NOT NULL,
    gmt_modified        INTEGER NOT NULL,
    src_user            TEXT,
    src_ip              TEXT,
    app_name            TEXT,
    c_desc              TEXT,
    c_use               TEXT,
    effect              TEXT,
    type                TEXT,
    c_schema            TEXT,
    encrypted_data_key  TEXT NOT NULL DEFAULT '',
    change_seq          INTEGER NOT NULL,
    UNIQUE (data_id, group_id, tenant_id)
);
CREATE INDEX config_info_change_seq ON config_info (change_seq);

CREATE TABLE his_config_info (
    id                  INTEGER NOT NULL,
    nid                 INTEGER PRIMARY KEY AUTOINCREMENT,
    data_id             TEXT NOT NULL,
    group_id            TEXT NOT NULL,
    tenant_id           TEXT NOT NULL DEFAULT '',
    app_name            TEXT,
    content             TEXT NOT NULL,
    md5                 TEXT,
    gmt_create          INTEGER NOT NULL,
    gmt_modified        INTEGER NOT NULL,
    src_user            TEXT,
    src_ip              TEXT,
    op_type             TEXT NOT NULL,
    encrypted_data_key  TEXT NOT NULL DEFAULT '',
    publish_type        TEXT DEFAULT 'formal',
    gray_name           TEXT,
    ext_info            TEXT,
    change_seq          INTEGER NOT NULL
);
CREATE INDEX his_config_info_key
    ON his_config_info (data_id, group_id, tenant_id, nid);
CREATE INDEX his_config_info_change_seq ON his_config_info (change_seq);
CREATE INDEX his_config_info_gmt_modified ON his_config_info (gmt_modified);

CREATE TABLE config_info_beta (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    data_id             TEXT NOT NULL,
    group_id            TEXT NOT NULL,
    tenant_id           TEXT NOT NULL DEFAULT '',
    app_name            TEXT,
    content             TEXT NOT NULL,
    beta_ips            TEXT,
    md5                 TEXT,
    gmt_create          INTEGER NOT NULL,
    gmt_modified        INTEGER NOT NULL,
    src_user            TEXT,
    src_ip              TEXT,
    encrypted_data_key  TEXT NOT NULL DEFAULT '',
    UNIQUE (data_id, group_id, tenant_id)
);

CREATE TABLE config_info_tag (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    data_id             TEXT NOT NULL,
    group_id            TEXT NOT NULL,
    tenant_id           TEXT NOT NULL DEFAULT '',
    tag_id              TEXT NOT NULL,
    app_name            TEXT,
    content             TEXT NOT NULL,
    md5                 TEXT,
    gmt_create          INTEGER NOT NULL,
    gmt_modified        INTEGER NOT NULL,
    src_user            TEXT,
    src_ip              TEXT,
    UNIQUE (data_id, group_id, tenant_id, tag_id)
);

CREATE TABLE config_info_gray (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    data_id             TEXT NOT NULL,
    group_id            TEXT NOT NULL,
    tenant_id           TEXT NOT NULL DEFAULT '',
    gray_name           TEXT NOT NULL,
    gray_rule           TEXT NOT NULL,
    content             TEXT NOT NULL,
    md5                 TEXT,
    app_name            TEXT,
    src_user            TEXT,
    src_ip              TEXT,
    gmt_create          INTEGER NOT NULL,
    gmt_modified        INTEGER NOT NULL,
    encrypted_data_key  TEXT NOT NULL DEFAULT '',
    change_seq          INTEGER NOT NULL DEFAULT 0,
    UNIQUE (data_id, group_id, tenant_id, gray_name)
);
CREATE INDEX config_info_gray_modified ON config_info_gray (gmt_modified);

CREATE TABLE config_tags_relation (
    id                  INTEGER NOT NULL,
    tag_name            TEXT NOT NULL,
    tag_type            TEXT NOT NULL DEFAULT '',
    data_id             TEXT NOT NULL,
    group_id            TEXT NOT NULL,
    tenant_id           TEXT NOT NULL DEFAULT '',
    nid                 INTEGER PRIMARY KEY AUTOINCREMENT,
    UNIQUE (id, tag_name, tag_type)
);
CREATE INDEX config_tags_relation_tenant ON config_tags_relation (tenant_id);

CREATE TABLE tenant_info (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    kp                  TEXT NOT NULL,
    tenant_id           TEXT NOT NULL DEFAULT '',
    tenant_name         TEXT DEFAULT '',
    tenant_desc         TEXT,
    create_source       TEXT,
    gmt_create          INTEGER NOT NULL,
    gmt_modified        INTEGER NOT NULL,
    UNIQUE (kp, tenant_id)
);
CREATE INDEX tenant_info_tenant ON tenant_info (tenant_id);

CREATE TABLE users (
    username            TEXT NOT NULL PRIMARY KEY,
    password            TEXT NOT NULL,
    enabled             INTEGER NOT NULL
);

CREATE TABLE roles (
    username            TEXT NOT NULL,
    role                TEXT NOT NULL,
    UNIQUE (username, role)
);

CREATE TABLE permissions (
    role                TEXT NOT NULL,
    resource            TEXT NOT NULL,
    action              TEXT NOT NULL,
    UNIQUE (role, resource, action)
);

CREATE TABLE naming_instance (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace_id        TEXT NOT NULL DEFAULT '',
    group_name          TEXT NOT NULL,
    service_name        TEXT NOT NULL,
    cluster_name        TEXT NOT NULL,
    ip                  TEXT NOT NULL,
    port                INTEGER NOT NULL,
    weight              REAL NOT NULL DEFAULT 1,
    healthy             INTEGER NOT NULL DEFAULT 1,
    enabled             INTEGER NOT NULL DEFAULT 1,
    metadata            TEXT NOT NULL DEFAULT '',
    gmt_create          INTEGER NOT NULL,
    gmt_modified        INTEGER NOT NULL,
    UNIQUE (namespace_id, group_name, service_name, cluster_name, ip, port)
);
-- version 2
-- auth: values every member shares (the token secret made at first start)
CREATE TABLE nd_auth_secret (
    name                TEXT NOT NULL PRIMARY KEY,
    value               TEXT NOT NULL
);
-- version 3
-- the version of naming_instance that a cluster's nodes compare (see
-- pg.sql version 7); a standalone node keeps it too
CREATE TABLE nd_instance_version (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    v                   INTEGER NOT NULL
);
INSERT INTO nd_instance_version (id, v) VALUES (1, 0);
CREATE TRIGGER naming_instance_version_i AFTER INSERT ON naming_instance
BEGIN
    UPDATE nd_instance_version SET v = v + 1 WHERE id = 1;
END;
CREATE TRIGGER naming_instance_version_u AFTER UPDATE ON naming_instance
BEGIN
    UPDATE nd_instance_version SET v = v + 1 WHERE id = 1;
END;
CREATE TRIGGER naming_instance_version_d AFTER DELETE ON naming_instance
BEGIN
    UPDATE nd_instance_version SET v = v + 1 WHERE id = 1;
END;

-- nacosd store schema, PostgreSQL (store { backend pg; }).
--
-- nacosd applies this file itself when it first connects: under an
-- advisory lock (several nodes may start at once), every "-- version N"
-- section newer than the database's (table nd_schema_version) runs in one
-- transaction with its nd_schema_version row.  Never edit a released
-- section: add a new "-- version N+1" section at the end.
--
-- Keys are case-sensitive with byte order (COLLATE "C", as Nacos'
-- utf8_bin).  Times are epoch milliseconds from the server clock.
-- change_seq is the global change sequence: nd_config_publish and
-- nd_config_delete lock the nd_change_seq row first, so writers are
-- serialised and sequence order is commit order (a reader that sees
-- sequence N has every change below N committed).
-- version 1
CREATE TABLE nd_change_seq (
    id                  int PRIMARY KEY,
    seq                 bigint NOT NULL
);
INSERT INTO nd_change_seq (id, seq) VALUES (1, 0);

CREATE TABLE config_info (
    id                  bigserial PRIMARY KEY,
    data_id             varchar(255) COLLATE "C" NOT NULL,
    group_id            varchar(128) COLLATE "C" NOT NULL,
    tenant_id           varchar(128) COLLATE "C" NOT NULL DEFAULT '',
    content             text NOT NULL,
    md5                 varchar(32),
    gmt_create          bigint NOT NULL,
    gmt_modified        bigint NOT NULL,
    src_user            text,
    src_ip              varchar(50),
    app_name            varchar(128),
    c_desc              varchar(256),
    c_use               varchar(64),
    effect              varchar(64),
    type                varchar(64),
    c_schema            text,
    encrypted_data_key  varchar(1024) NOT NULL DEFAULT '',
    change_seq          bigint NOT NULL,
    CONSTRAINT uk_configinfo_datagrouptenant
        UNIQUE (data_id, group_id, tenant_id)
);
CREATE INDEX config_info_change_seq ON config_info (change_seq);

CREATE TABLE his_config_info (
    id                  bigint NOT NULL,
    nid                 bigserial PRIMARY KEY,
    data_id             varchar(255) COLLATE "C" NOT NULL,
    group_id            varchar(128) COLLATE "C" NOT NULL,
    tenant_id           varchar(128) COLLATE "C" NOT NULL DEFAULT '',
    app_name            varchar(128),
    content             text NOT NULL,
    md5                 varchar(32),
    gmt_create          bigint NOT NULL,
    gmt_modified        bigint NOT NULL,
    src_user            text,
    src_ip              varchar(50),
    op_type             char(1) NOT NULL,
    encrypted_data_key  varchar(1024) NOT NULL DEFAULT '',
    publish_type        varchar(50) DEFAULT 'formal',
    gray_name           varchar(50),
    ext_info            text,
    change_seq          bigint NOT NULL
);
CREATE INDEX his_config_info_key
    ON his_config_info (data_id, group_id, tenant_id, nid);
CREATE INDEX his_config_info_change_seq ON his_config_info (change_seq);
CREATE INDEX his_config_info_gmt_modified ON his_config_info (gmt_modified);

CREATE TABLE config_info_beta (
    id                  bigserial PRIMARY KEY,
    data_id             varchar(255) COLLATE "C" NOT NULL,
    group_id            varchar(128) COLLATE "C" NOT NULL,
    tenant_id           varchar(128) COLLATE "C" NOT NULL DEFAULT '',
    app_name            varchar(128),
    content             text NOT NULL,
    beta_ips            varchar(1024),
    md5                 varchar(32),
    gmt_create          bigint NOT NULL,
    gmt_modified        bigint NOT NULL,
    src_user            text,
    src_ip              varchar(50),
    encrypted_data_key  text NOT NULL DEFAULT '',
    UNIQUE (data_id, group_id, tenant_id)
);

CREATE TABLE config_info_tag (
    id                  bigserial PRIMARY KEY,
    data_id             varchar(255) COLLATE "C" NOT NULL,
    group_id            varchar(128) COLLATE "C" NOT NULL,
    tenant_id           varchar(128) COLLATE "C" NOT NULL DEFAULT '',
    tag_id              varchar(128) COLLATE "C" NOT NULL,
    app_name            varchar(128),
    content             text NOT NULL,
    md5                 varchar(32),
    gmt_create          bigint NOT NULL,
    gmt_modified        bigint NOT NULL,
    src_user            text,
    src_ip              varchar(50),
    UNIQUE (data_id, group_id, tenant_id, tag_id)
);

CREATE TABLE config_info_gray (
    id                  bigserial PRIMARY KEY,
    data_id             varchar(255) COLLATE "C" NOT NULL,
    group_id            varchar(128) COLLATE "C" NOT NULL,
    tenant_id           varchar(128) COLLATE "C" NOT NULL DEFAULT '',
    gray_name           varchar(128) COLLATE "C" NOT NULL,
    gray_rule           text NOT NULL,
    content             text NOT NULL,
    md5                 varchar(32),
    app_name            varchar(128),
    src_user            text,
    src_ip              varchar(100),
    gmt_create          bigint NOT NULL,
    gmt_modified        bigint NOT NULL,
    encrypted_data_key  varchar(256) NOT NULL DEFAULT '',
    change_seq          bigint NOT NULL DEFAULT 0,
    UNIQUE (data_id, group_id, tenant_id, gray_name)
);
CREATE INDEX config_info_gray_modified ON config_info_gray (gmt_modified);

CREATE TABLE config_tags_relation (
    id                  bigint NOT NULL,
    tag_name            varchar(128) COLLATE "C" NOT NULL,
    tag_type            varchar(64) NOT NULL DEFAULT '',
    data_id             varchar(255) COLLATE "C" NOT NULL,
    group_id            varchar(128) COLLATE "C" NOT NULL,
    tenant_id           varchar(128) COLLATE "C" NOT NULL DEFAULT '',
    nid                 bigserial PRIMARY KEY,
    UNIQUE (id, tag_name, tag_type)
);
CREATE INDEX config_tags_relation_tenant ON config_tags_relation (tenant_id);

CREATE TABLE tenant_info (
    id                  bigserial PRIMARY KEY,
    kp                  varchar(128) NOT NULL,
    tenant_id           varchar(128) COLLATE "C" NOT NULL DEFAULT '',
    tenant_name         varchar(128) DEFAULT '',
    tenant_desc         varchar(256),
    create_source       varchar(32),
    gmt_create          bigint NOT NULL,
    gmt_modified        bigint NOT NULL,
    UNIQUE (kp, tenant_id)
);
CREATE INDEX tenant_info_tenant ON tenant_info (tenant_id);

CREATE TABLE users (
    username            varchar(50) COLLATE "C" PRIMARY KEY,
    password            varchar(500) NOT NULL,
    enabled             boolean NOT NULL
);

CREATE TABLE roles (
    username            varchar(50) COLLATE "C" NOT NULL,
    role                varchar(50) COLLATE "C" NOT NULL,
    UNIQUE (username, role)
);

CREATE TABLE permissions (
    role                varchar(50) COLLATE "C" NOT NULL,
    resource            varchar(128) COLLATE "C" NOT NULL,
    action              varchar(8) NOT NULL,
    UNIQUE (role, resource, action)
);

CREATE TABLE naming_instance (
    id                  bigserial PRIMARY KEY,
    namespace_id        varchar(128) COLLATE "C" NOT NULL DEFAULT '',
    group_name          varchar(128) COLLATE "C" NOT NULL,
    service_name        varchar(255) COLLATE "C" NOT NULL,
    cluster_name        varchar(64) COLLATE "C" NOT NULL,
    ip                  varchar(64) NOT NULL,
    port                int NOT NULL,
    weight              double precision NOT NULL DEFAULT 1,
    healthy             boolean NOT NULL DEFAULT true,
    enabled             boolean NOT NULL DEFAULT true,
    metadata            text NOT NULL DEFAULT '',
    gmt_create          bigint NOT NULL,
    gmt_modified        bigint NOT NULL,
    UNIQUE (namespace_id, group_name, service_name, cluster_name, ip, port)
);

-- publish: insert or update (compare-and-set on md5 when p_cas), with its
-- history row (I: the new row, U: the old row), tags replaced, and the
-- next change sequence.  o_status 1: the md5 did not match.
CREATE FUNCTION nd_config_publish(p_data_id text, p_group text,
    p_tenant text, p_content text, p_md5 text, p_now bigint,
    p_src_user text, p_src_ip text, p_app text, p_desc text, p_use text,
    p_effect text, p_type text, p_schema text, p_edk text, p_cas boolean,
    p_cas_md5 text, p_tags text,
    OUT o_status int, OUT o_seq bigint, OUT o_id bigint,
    OUT o_created bigint)
LANGUAGE plpgsql AS $$
DECLARE
    old_md5  text;
BEGIN
    PERFORM 1 FROM nd_change_seq WHERE id = 1 FOR UPDATE;

    SELECT c.id, c.md5, c.gmt_create INTO o_id, old_md5, o_created
      FROM config_info c
     WHERE c.data_id = p_data_id AND c.group_id = p_group
       AND c.tenant_id = p_tenant;

    IF o_id IS NOT NULL AND p_cas
       AND NOT (old_md5 IS NULL OR old_md5 = '' OR old_md5 = p_cas_md5)
    THEN
        o_status := 1;
        o_seq := 0;
        RETURN;
    END IF;

    UPDATE nd_change_seq SET seq = seq + 1 WHERE id = 1
    RETURNING seq INTO o_seq;

    IF o_id IS NOT NULL THEN
        INSERT INTO his_config_info (id, data_id, group_id, tenant_id,
            app_name, content, md5, gmt_create, gmt_modified, src_user,
            src_ip, op_type, encrypted_data_key, change_seq)
        SELECT id, data_id, group_id, tenant_id, app_name, content, md5,
               gmt_create, p_now, p_src_user, p_src_ip, 'U',
               encrypted_data_key, o_seq
          FROM config_info WHERE id = o_id;

        UPDATE config_info SET content = p_content, md5 = p_md5,
               gmt_modified = p_now, src_user = p_src_user,
               src_ip = p_src_ip, app_name = p_app, c_desc = p_desc,
               c_use = p_use, effect = p_effect, type = p_type,
               c_schema = p_schema, encrypted_data_key = p_edk,
               change_seq = o_seq
         WHERE id = o_id;
    ELSE
        INSERT INTO config_info (data_id, group_id, tenant_id, content, md5,
            gmt_create, gmt_modified, src_user, src_ip, app_name, c_desc,
            c_use, effect, type, c_schema, encrypted_data_key, change_seq)
        VALUES (p_data_id, p_group, p_tenant, p_content, p_md5, p_now, p_now,
            p_src_user, p_src_ip, p_app, p_desc, p_use, p_effect, p_type,
            p_schema, p_edk, o_seq)
        RETURNING id INTO o_id;

        o_created := p_now;

        INSERT INTO his_config_info (id, data_id, group_id, tenant_id,
            app_name, content, md5, gmt_create, gmt_modified, src_user,
            src_ip, op_type, encrypted_data_key, change_seq)
        SELECT id, data_id, group_id, tenant_id, app_name, content, md5,
               gmt_create, p_now, p_src_user, p_src_ip, 'I',
               encrypted_data_key, o_seq
          FROM config_info WHERE id = o_id;
    END IF;

    DELETE FROM config_tags_relation WHERE id = o_id;

    IF p_tags <> '' THEN
        INSERT INTO config_tags_relation (id, tag_name, tag_type, data_id,
            group_id, tenant_id)
        SELECT DISTINCT o_id, t, '', p_data_id, p_group, p_tenant
          FROM unnest(string_to_array(p_tags, ',')) AS t
         WHERE t <> '';
    END IF;

    o_status := 0;
END
$$;

-- delete, leaving a history row (D: the old row) with the next change
-- sequence.  o_status 1: there was no such config.
CREATE FUNCTION nd_config_delete(p_data_id text, p_group text,
    p_tenant text, p_now bigint, p_src_user text, p_src_ip text,
    OUT o_status int, OUT o_seq bigint, OUT o_id bigint,
    OUT o_created bigint)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM nd_change_seq WHERE id = 1 FOR UPDATE;

    SELECT c.id, c.gmt_create INTO o_id, o_created
      FROM config_info c
     WHERE c.data_id = p_data_id AND c.group_id = p_group
       AND c.tenant_id = p_tenant;

    IF o_id IS NULL THEN
        o_status := 1;
        o_seq := 0;
        RETURN;
    END IF;

    UPDATE nd_change_seq SET seq = seq + 1 WHERE id = 1
    RETURNING seq INTO o_seq;

    INSERT INTO his_config_info (id, data_id, group_id, tenant_id,
        app_name, content, md5, gmt_create, gmt_modified, src_user, src_ip,
        op_type, encrypted_data_key, change_seq)
    SELECT id, data_id, group_id, tenant_id, app_name, content, md5,
           gmt_create, p_now, p_src_user, p_src_ip, 'D', encrypted_data_key,
           o_seq
      FROM config_info WHERE id = o_id;

    DELETE FROM config_tags_relation WHERE id = o_id;
    DELETE FROM config_info WHERE id = o_id;

    o_status := 0;
END
$$;

-- version 2
-- the naming name rules (src/core/nd_name.h): service names up to 512
-- characters and ips up to 128, as clients may register them.
ALTER TABLE naming_instance ALTER COLUMN service_name TYPE varchar(512);
ALTER TABLE naming_instance ALTER COLUMN ip TYPE varchar(128);

-- version 3
-- auth: values every member shares (the token secret made at first start)
CREATE TABLE nd_auth_secret (
    name                varchar(64) COLLATE "C" PRIMARY KEY,
    value               text NOT NULL
);

-- version 4
-- nd_config_publish with less work a call (issue 24): the sequence row is
-- locked by the UPDATE that takes the next number (was a SELECT FOR
-- UPDATE first, then the UPDATE: a second tuple lock and WAL record each
-- publish; a refused CAS gives the number back), the history row of an
-- insert is written from the parameters (was read back from config_info),
-- and a new row deletes no tag rows (a new id has none).
CREATE OR REPLACE FUNCTION nd_config_publish(p_data_id text, p_group text,
    p_tenant text, p_content text, p_md5 text, p_now bigint,
    p_src_user text, p_src_ip text, p_app text, p_desc text, p_use text,
    p_effect text, p_type text, p_schema text, p_edk text, p_cas boolean,
    p_cas_md5 text, p_tags text,
    OUT o_status int, OUT o_seq bigint, OUT o_id bigint,
    OUT o_created bigint)
LANGUAGE plpgsql AS $$
DECLARE
    old_md5  text;
BEGIN
    UPDATE nd_change_seq SET seq = seq + 1 WHERE id = 1
    RETURNING seq INTO o_seq;

    SELECT c.id, c.md5, c.gmt_create INTO o_id, old_md5, o_created
      FROM config_info c
     WHERE c.data_id = p_data_id AND c.group_id = p_group
       AND c.tenant_id = p_tenant;

    IF o_id IS NOT NULL AND p_cas
       AND NOT (old_md5 IS NULL OR old_md5 = '' OR old_md5 = p_cas_md5)
    THEN
        UPDATE nd_change_seq SET seq = seq - 1 WHERE id = 1;
        o_status := 1;
        o_seq := 0;
        RETURN;
    END IF;

    IF o_id IS NOT NULL THEN
        INSERT INTO his_config_info (id, data_id, group_id, tenant_id,
            app_name, content, md5, gmt_create, gmt_modified, src_user,
            src_ip, op_type, encrypted_data_key, change_seq)
        SELECT id, data_id, group_id, tenant_id, app_name, content, md5,
               gmt_create, p_now, p_src_user, p_src_ip, 'U',
               encrypted_data_key, o_seq
          FROM config_info WHERE id = o_id;

        UPDATE config_info SET content = p_content, md5 = p_md5,
               gmt_modified = p_now, src_user = p_src_user,
               src_ip = p_src_ip, app_name = p_app, c_desc = p_desc,
               c_use = p_use, effect = p_effect, type = p_type,
               c_schema = p_schema, encrypted_data_key = p_edk,
               change_seq = o_seq
         WHERE id = o_id;

        DELETE FROM config_tags_relation WHERE id = o_id;
    ELSE
        INSERT INTO config_info (data_id, group_id, tenant_id, content, md5,
            gmt_create, gmt_modified, src_user, src_ip, app_name, c_desc,
            c_use, effect, type, c_schema, encrypted_data_key, change_seq)
        VALUES (p_data_id, p_group, p_tenant, p_content, p_md5, p_now, p_now,
            p_src_user, p_src_ip, p_app, p_desc, p_use, p_effect, p_type,
            p_schema, p_edk, o_seq)
        RETURNING id INTO o_id;

        o_created := p_now;

        INSERT INTO his_config_info (id, data_id, group_id, tenant_id,
            app_name, content, md5, gmt_create, gmt_modified, src_user,
            src_ip, op_type, encrypted_data_key, change_seq)
        VALUES (o_id, p_data_id, p_group, p_tenant, p_app, p_content, p_md5,
            p_now, p_now, p_src_user, p_src_ip, 'I', p_edk, o_seq);
    END IF;

    IF p_tags <> '' THEN
        INSERT INTO config_tags_relation (id, tag_name, tag_type, data_id,
            group_id, tenant_id)
        SELECT DISTINCT o_id, t, '', p_data_id, p_group, p_tenant
          FROM unnest(string_to_array(p_tags, ',')) AS t
         WHERE t <> '';
    END IF;

    o_status := 0;
END
$$;

-- version 5
-- a commit group's plain publishes in one call (issue 24): nacosd sends
-- consecutive publishes of formal configs without tags, with distinct
-- keys, as arrays (element i: publish i); each is answered by one row,
-- in order, as nd_config_publish answers.  The UPDATE that takes the
-- sequence numbers locks the sequence row first, so the one statement
-- after it (a new snapshot: read committed) sees every earlier commit and
-- writes the rows set-based: a U history row is the old row (the
-- sub-statements see one snapshot, before the update), an I row the new
-- one; a refused CAS takes no number (given back).  The SET clauses: the
-- plan is made once a connection and must not depend on the table's size
-- when it was made (a seq scan chosen while config_info was small would
-- stay in the cached plan as it grows).  The contents are not carried
-- through the CTEs (materialised: a copy each), but read by index from
-- p_content where a row is written (plpgsql keeps array arguments
-- expanded: no walk).
--
-- And two index entries fewer a publish: nothing reads history by
-- gmt_modified (nacosd keeps all history; Nacos's index served its
-- retention job), and history is read by change_seq only for deletes
-- (the CHANGES feed: op_type D).
CREATE FUNCTION nd_config_publish_batch(p_data_id text[], p_group text[],
    p_tenant text[], p_content text[], p_md5 text[], p_now bigint[],
    p_src_user text[], p_src_ip text[], p_app text[], p_desc text[],
    p_use text[], p_effect text[], p_type text[], p_schema text[],
    p_edk text[], p_cas boolean[], p_cas_md5 text[],
    OUT o_status int, OUT o_seq bigint, OUT o_id bigint,
    OUT o_created bigint)
RETURNS SETOF record
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
DECLARE
    v_n    bigint := cardinality(p_data_id);
    v_top  bigint;
BEGIN
    UPDATE nd_change_seq SET seq = seq + v_n WHERE id = 1
    RETURNING seq INTO v_top;

    RETURN QUERY
    WITH p AS (
        SELECT * FROM unnest(p_data_id, p_group, p_tenant, p_md5, p_now,
            p_src_user, p_src_ip, p_app, p_desc, p_use, p_effect, p_type,
            p_schema, p_edk, p_cas, p_cas_md5) WITH ORDINALITY
        AS p(data_id, group_id, tenant_id, md5, now, src_user, src_ip, app,
            c_desc, c_use, effect, type, c_schema, edk, cas, cas_md5, ord)),
    o AS (
        SELECT p.*, c.id AS old_id, c.gmt_create AS old_create,
               (c.id IS NULL OR NOT p.cas OR c.md5 IS NULL OR c.md5 = ''
                OR c.md5 = p.cas_md5) AS ok
          FROM p LEFT JOIN config_info c ON c.data_id = p.data_id
           AND c.group_id = p.group_id AND c.tenant_id = p.tenant_id),
    g AS (
        UPDATE nd_change_seq
           SET seq = v_top - v_n + (SELECT count(*) FROM o WHERE o.ok)
         WHERE id = 1 AND EXISTS (SELECT 1 FROM o WHERE NOT o.ok)),
    r AS (
        -- an accepted row's number: its place less the refused before it
        -- (counted only when there is one: no window, no sort)
        SELECT o.*,
               v_top - v_n + o.ord
               - CASE WHEN NOT EXISTS (SELECT 1 FROM o o1 WHERE NOT o1.ok)
                      THEN 0
                      ELSE (SELECT count(*) FROM o o2
                             WHERE NOT o2.ok AND o2.ord < o.ord) END
               AS nseq,
               CASE WHEN o.ok AND o.old_id IS NULL
                    THEN nextval('config_info_id_seq') END AS nid
          FROM o),
    hu AS (
        INSERT INTO his_config_info (id, data_id, group_id, tenant_id,
            app_name, content, md5, gmt_create, gmt_modified, src_user,
            src_ip, op_type, encrypted_data_key, change_seq)
        SELECT c.id, c.data_id, c.group_id, c.tenant_id, c.app_name,
               c.content, c.md5, c.gmt_create, r.now, r.src_user, r.src_ip,
               'U', c.encrypted_data_key, r.nseq
          FROM r JOIN config_info c ON c.id = r.old_id
         WHERE r.ok AND r.old_id IS NOT NULL),
    u AS (
        UPDATE config_info c SET content = p_content[r.ord::int],
               md5 = r.md5, gmt_modified = r.now, src_user = r.src_user,
               src_ip = r.src_ip, app_name = r.app, c_desc = r.c_desc,
               c_use = r.c_use, effect = r.effect, type = r.type,
               c_schema = r.c_schema, encrypted_data_key = r.edk,
               change_seq = r.nseq
          FROM r WHERE r.ok AND r.old_id IS NOT NULL AND c.id = r.old_id),
    dt AS (
        DELETE FROM config_tags_relation t USING r
         WHERE r.ok AND r.old_id IS NOT NULL AND t.id = r.old_id),
    i AS (
        INSERT INTO config_info (id, data_id, group_id, tenant_id, content,
            md5, gmt_create, gmt_modified, src_user, src_ip, app_name,
            c_desc, c_use, effect, type, c_schema, encrypted_data_key,
            change_seq)
        SELECT r.nid, r.data_id, r.group_id, r.tenant_id,
               p_content[r.ord::int], r.md5, r.now, r.now, r.src_user,
               r.src_ip, r.app, r.c_desc, r.c_use, r.effect, r.type,
               r.c_schema, r.edk, r.nseq
          FROM r WHERE r.nid IS NOT NULL),
    hi AS (
        INSERT INTO his_config_info (id, data_id, group_id, tenant_id,
            app_name, content, md5, gmt_create, gmt_modified, src_user,
            src_ip, op_type, encrypted_data_key, change_seq)
        SELECT r.nid, r.data_id, r.group_id, r.tenant_id, r.app,
               p_content[r.ord::int], r.md5, r.now, r.now, r.src_user,
               r.src_ip, 'I', r.edk, r.nseq
          FROM r WHERE r.nid IS NOT NULL)
    SELECT CASE WHEN r.ok THEN 0 ELSE 1 END,
           CASE WHEN r.ok THEN r.nseq ELSE 0 END,
           coalesce(r.old_id, r.nid, 0),
           coalesce(r.old_create, r.now)
      FROM r ORDER BY r.ord;
END
$$;

DROP INDEX his_config_info_gmt_modified;
DROP INDEX his_config_info_change_seq;
CREATE INDEX his_config_info_deleted ON his_config_info (change_seq)
    WHERE op_type = 'D';

-- version 6
-- HOT updates of config_info: an update of a config changed its
-- change_seq, an indexed column, so every update wrote a new entry in
-- each of the table's three indexes.  The CHANGES feed now finds the
-- changed configs through the history (every write of config_info writes
-- its history row with the same change_seq: I, U and D; a history row's
-- id is its config's), so config_info keeps change_seq unindexed and
-- room in its pages (fillfactor 70) for new row versions to stay on the
-- page.  The history's change_seq index, partial (D only) since version
-- 5, covers every row again.  nd_config_changed reads it by that index
-- whatever the statistics say (the history grows by thousands of rows a
-- second, faster than they follow), and says it returns few rows, so
-- the feed looks each one up by config_info's key.
DROP INDEX config_info_change_seq;
ALTER TABLE config_info SET (fillfactor = 70);
DROP INDEX his_config_info_deleted;
CREATE INDEX his_config_info_change_seq ON his_config_info (change_seq);

CREATE FUNCTION nd_config_changed(p_since bigint)
RETURNS SETOF bigint
LANGUAGE sql STABLE
ROWS 10
SET enable_seqscan = off
SET enable_bitmapscan = off
AS $$
    SELECT h.id FROM his_config_info h WHERE h.change_seq > p_since
$$;

-- version 7
-- persistent instances across the cluster: every statement that writes
-- naming_instance moves nd_instance_version (its row lock serialises the
-- writers until they commit), and each node reads the whole table again
-- when the number differs from the one it read last (the naming module's
-- persistent_sync).
CREATE TABLE nd_instance_version (
    id                  int PRIMARY KEY CHECK (id = 1),
    v                   bigint NOT NULL
);
INSERT INTO nd_instance_version (id, v) VALUES (1, 0);

CREATE FUNCTION nd_instance_bump() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE nd_instance_version SET v = v + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER naming_instance_version
    AFTER INSERT OR UPDATE OR DELETE ON naming_instance
    FOR EACH STATEMENT EXECUTE FUNCTION nd_instance_bump();

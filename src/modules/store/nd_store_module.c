/*
 * The store module: directives, and the operation life cycle (validate,
 * copy, hand to the backend, post-process, deliver in the loop).  The
 * config cache is nd_store_cache.c's, the statement plans both backends
 * execute nd_store_plan.c's.
 */
#include <nd_store_internal.h>
#include <nd_store_pg.h>

static void *nd_store_create_conf(nd_cycle_t *cycle);
static char *nd_store_init_conf(nd_cycle_t *cycle, void *conf);
static nd_int_t nd_store_init_module(nd_cycle_t *cycle);
static nd_int_t nd_store_start(nd_cycle_t *cycle);
static void nd_store_stop(nd_cycle_t *cycle);
static void nd_store_exit(nd_cycle_t *cycle);
static char *nd_store_set_path(nd_conf_t *cf, nd_command_t *cmd,
    void *conf);
static void nd_store_deliver(nd_posted_t *p);

#ifdef ND_DEBUG
nd_int_t nd_store_debug_init(nd_cycle_t *cycle);
#endif


static nd_conf_enum_t  nd_store_backends[] = {
    { nd_string("sqlite"), ND_STORE_SQLITE },
    { nd_string("pg"), ND_STORE_PG },
    { nd_null_string, 0 }
};

static nd_conf_bounds_t  nd_store_pool_bounds = { 1, 64 };
static nd_conf_bounds_t  nd_store_batch_bounds = { 1, 4096 };
static nd_conf_bounds_t  nd_store_chunk_bounds = { 0, 1000000 };


static nd_command_t  nd_store_commands[] = {

    { nd_string("store"),
      ND_MAIN_CONF | ND_CONF_BLOCK | ND_CONF_NOARGS,
      nd_conf_module_block, 0, NULL },

    { nd_string("backend"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_enum_slot, offsetof(nd_store_conf_t, backend),
      nd_store_backends },

    { nd_string("sqlite_path"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_store_set_path, offsetof(nd_store_conf_t, sqlite_path), NULL },

    { nd_string("schema_dir"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_store_set_path, offsetof(nd_store_conf_t, schema_dir), NULL },

    { nd_string("pg_conninfo"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_str_slot, offsetof(nd_store_conf_t, pg_conninfo), NULL },

    { nd_string("pg_library"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_store_set_path, offsetof(nd_store_conf_t, pg_library), NULL },

    { nd_string("pg_pool"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_num_slot, offsetof(nd_store_conf_t, pg_pool),
      &nd_store_pool_bounds },

    { nd_string("pg_reconnect_max"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_store_conf_t, pg_reconnect_max),
      NULL },

    { nd_string("query_timeout"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_store_conf_t, query_timeout),
      NULL },

    { nd_string("cache_refresh"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_store_conf_t, cache_refresh),
      NULL },

    { nd_string("commit_batch"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_num_slot, offsetof(nd_store_conf_t, commit_batch),
      &nd_store_batch_bounds },

    { nd_string("commit_gather"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_store_conf_t, commit_gather),
      NULL },

    { nd_string("load_chunk"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_num_slot, offsetof(nd_store_conf_t, load_chunk),
      &nd_store_chunk_bounds },

    { nd_string("load_interval"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_store_conf_t, load_interval),
      NULL },

    { nd_string("max_content_size"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_size_slot, offsetof(nd_store_conf_t, max_content_size),
      NULL },

    nd_null_command
};


nd_module_t  nd_store_module = {
    .name = "store",
    .commands = nd_store_commands,
    .create_conf = nd_store_create_conf,
    .init_conf = nd_store_init_conf,
    .init_module = nd_store_init_module,
    .start = nd_store_start,
    .stop = nd_store_stop,
    .exit = nd_store_exit,
};


static const char  *nd_store_op_names[] = {
    "config get", "config search", "config publish", "config delete",
    "history list", "history get", "history previous", "changes",
    "namespace list", "namespace get", "namespace create",
    "namespace update", "namespace delete", "instance upsert",
    "instance delete", "instance list", "config load", "gray publish",
    "gray delete", "instance namespaces", "auth load", "auth write",
    "instance sync"
};


const char *
nd_store_op_name(nd_store_op_e type)
{
    return type < ND_STORE_OP_N ? nd_store_op_names[type] : "?";
}


static void *
nd_store_create_conf(nd_cycle_t *cycle)
{
    nd_store_conf_t  *scf;

    scf = nd_pcalloc(cycle->pool, sizeof(nd_store_conf_t));
    if (scf == NULL) {
        return NULL;
    }

    scf->backend = ND_CONF_UNSET_UINT;
    scf->pg_pool = ND_CONF_UNSET;
    scf->query_timeout = ND_CONF_UNSET_MSEC;
    scf->pg_reconnect_max = ND_CONF_UNSET_MSEC;
    scf->cache_refresh = ND_CONF_UNSET_MSEC;
    scf->commit_batch = ND_CONF_UNSET;
    scf->commit_gather = ND_CONF_UNSET_MSEC;
    scf->load_chunk = ND_CONF_UNSET;
    scf->load_interval = ND_CONF_UNSET_MSEC;
    scf->max_content_size = ND_CONF_UNSET_SIZE;
    scf->cycle = cycle;

    return scf;
}


/* sqlite_path: from the prefix; schema_dir: from the conf file's dir;
 * pg_library: a bare file name is searched as the dynamic linker does, a
 * path with a slash is taken from the prefix */
static char *
nd_store_set_path(nd_conf_t *cf, nd_command_t *cmd, void *conf)
{
    char      *z;
    nd_str_t  *field, *value;

    field = (nd_str_t *) ((u_char *) conf + cmd->offset);
    if (field->data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    if (value[1].len == 0) {
        return "must not be empty";
    }

    if (cmd->offset == offsetof(nd_store_conf_t, pg_library)
        && memchr(value[1].data, '/', value[1].len) == NULL)
    {
        z = nd_pstrdupz(cf->pool, &value[1]);

    } else {
        z = nd_conf_full_name(cf, &value[1],
                              cmd->offset == offsetof(nd_store_conf_t,
                                                      schema_dir));
    }

    if (z == NULL) {
        return ND_CONF_ERROR;
    }

    field->data = (u_char *) z;
    field->len = strlen(z);

    return ND_CONF_OK;
}


static char *
nd_store_init_conf(nd_cycle_t *cycle, void *conf)
{
    char             *slash, *msg;
    size_t            n;
    nd_conf_t         cf;
    nd_store_conf_t  *scf = conf;

    nd_conf_init_uint_value(scf->backend, ND_STORE_SQLITE);
    nd_conf_init_str_value(scf->pg_library, "libpq.so.5");
    nd_conf_init_value(scf->pg_pool, 4);
    nd_conf_init_msec_value(scf->query_timeout, 5000);
    nd_conf_init_msec_value(scf->pg_reconnect_max, 5000);
    nd_conf_init_msec_value(scf->cache_refresh, 1000);
    nd_conf_init_value(scf->commit_batch, 512);
    nd_conf_init_msec_value(scf->commit_gather, 1);
    nd_conf_init_value(scf->load_chunk, 512);
    nd_conf_init_msec_value(scf->load_interval, 0);
    nd_conf_init_size_value(scf->max_content_size, 10 * 1024 * 1024);

    if (scf->query_timeout < 100) {
        return "\"query_timeout\" must be at least 100ms";
    }

    if (scf->commit_gather > 1000) {
        return "\"commit_gather\" must be at most 1s";
    }

    if (scf->pg_reconnect_max < 100) {
        return "\"pg_reconnect_max\" must be at least 100ms";
    }

    if (scf->max_content_size == 0
        || scf->max_content_size > 100 * 1024 * 1024)
    {
        return "\"max_content_size\" must be between 1 and 100m";
    }

    /* Nacos (maxContent, 10 MB by default): INVALID_PARAM, these words */
    snprintf(scf->content_error, sizeof(scf->content_error),
             "invalid content, over %zu", scf->max_content_size);

    memset(&cf, 0, sizeof(cf));
    cf.cycle = cycle;
    cf.pool = cycle->pool;

    if (scf->sqlite_path.data == NULL) {
        nd_str_t  def = nd_string("data/nacosd.db");

        scf->sqlite_path_z = nd_conf_full_name(&cf, &def, 0);
        if (scf->sqlite_path_z == NULL) {
            return ND_CONF_ERROR;
        }
        scf->sqlite_path.data = (u_char *) scf->sqlite_path_z;
        scf->sqlite_path.len = strlen(scf->sqlite_path_z);
    }
    scf->sqlite_path_z = (char *) scf->sqlite_path.data;

    scf->schema_explicit = scf->schema_dir.data != NULL;

    if (scf->schema_dir.data == NULL) {
        /* "schema" next to the main conf file: conf/schema */
        slash = strrchr((char *) cycle->conf_file.data, '/');
        n = slash ? (size_t) (slash - (char *) cycle->conf_file.data + 1)
                  : 0;
        scf->schema_dir_z = nd_pnalloc(cycle->pool, n + sizeof("schema"));
        if (scf->schema_dir_z == NULL) {
            return ND_CONF_ERROR;
        }
        memcpy(scf->schema_dir_z, cycle->conf_file.data, n);
        memcpy(scf->schema_dir_z + n, "schema", sizeof("schema"));
        scf->schema_dir.data = (u_char *) scf->schema_dir_z;
        scf->schema_dir.len = n + sizeof("schema") - 1;
    }
    scf->schema_dir_z = (char *) scf->schema_dir.data;

    if (scf->backend == ND_STORE_PG) {
        if (scf->pg_conninfo.data == NULL) {
            return "\"backend pg\" needs \"pg_conninfo\"";
        }

        /* only here: a SQLite node never loads libpq */
        msg = nd_store_pg_load(cycle->pool,
                               (char *) scf->pg_library.data);
        if (msg) {
            return msg;
        }

        msg = nd_store_pg_check_conninfo(cycle->pool, &scf->pg_conninfo);
        if (msg) {
            return msg;
        }

        scf->be = &nd_store_pg_backend;

    } else {
        scf->be = &nd_store_sqlite_backend;
    }

    return ND_CONF_OK;
}


static nd_int_t
nd_store_metrics_init(nd_cycle_t *cycle, nd_store_conf_t *scf)
{
    if (nd_metrics_add_gauge(cycle, ND_METRICS_NACOS_MONITOR,
            ND_METRICS_NACOS_HELP,
            "module=\"config\",name=\"configCount\"",
            &scf->cache.nelts) != ND_OK
        || nd_metrics_add_gauge(cycle, "nacosd_store_queue_depth",
            "Store operations submitted and not yet delivered.", NULL,
            &scf->inflight) != ND_OK
        || nd_metrics_add_latency(cycle, "nacosd_store_commit_seconds",
            "Store writes, from submitted to committed and delivered "
            "(seconds).", NULL, &scf->commit_latency) != ND_OK
        || nd_metrics_add_counter(cycle, "nacosd_store_pg_reconnects_total",
            "PostgreSQL connections lost or failed (each is retried with "
            "backoff).", NULL, &scf->pg_drops) != ND_OK
        || nd_metrics_add_counter(cycle, "nacosd_store_commit_groups_total",
            "Commit groups run: queued operations the writer took at once "
            "(group commit, commit_gather).", NULL, &scf->groups) != ND_OK
        || nd_metrics_add_counter(cycle, "nacosd_store_commit_ops_total",
            "Operations in those groups.", NULL, &scf->group_ops) != ND_OK)
    {
        return ND_ERROR;
    }

    return ND_OK;
}


static nd_int_t
nd_store_init_module(nd_cycle_t *cycle)
{
    nd_store_conf_t  *scf;

    scf = nd_store_conf(cycle);

    if (nd_hash_init(&scf->cache, 1024) != ND_OK) {
        return ND_ERROR;
    }

    nd_queue_init(&scf->done);
    scf->deliver.handler = nd_store_deliver;
    scf->deliver.data = scf;
    nd_timer_init(&scf->refresh, "store cache refresh", nd_store_refresh,
                  scf);

    /* ready once the schema is applied and the cache loaded */
    nd_module_pending(cycle, &nd_store_module);

    if (nd_store_metrics_init(cycle, scf) != ND_OK) {
        return ND_ERROR;
    }

#ifdef ND_DEBUG
    if (nd_store_debug_init(cycle) != ND_OK) {
        return ND_ERROR;
    }
#endif

    return ND_OK;
}


static nd_int_t
nd_store_start(nd_cycle_t *cycle)
{
    nd_store_conf_t  *scf;

    scf = nd_store_conf(cycle);

    if (scf->be->start(cycle) != ND_OK) {
        return ND_ERROR;
    }

    scf->started = 1;

    if (scf->backend == ND_STORE_PG) {
        /* other nodes write too: follow the change sequence */
        nd_timer_start(&scf->refresh, scf->cache_refresh, ND_TIMER_REPEAT);
    }

    return ND_OK;
}


static void
nd_store_stop(nd_cycle_t *cycle)
{
    nd_store_conf_t  *scf;

    scf = nd_store_conf(cycle);

    nd_timer_stop(&scf->refresh);

    if (scf->started) {
        scf->be->stop(cycle);
    }
}


static void
nd_store_exit(nd_cycle_t *cycle)
{
    nd_uint_t         i;
    nd_queue_t       *q;
    nd_hash_elt_t    *e;
    nd_store_op_t    *op;
    nd_store_conf_t  *scf;

    scf = nd_store_conf(cycle);

    if (scf->cache.buckets == NULL) {
        return;
    }

    /* also after a failed start: the backend frees what it opened */
    if (scf->be) {
        scf->be->exit(cycle);
        scf->started = 0;
    }

    if (cycle->loop) {
        nd_timer_stop(&scf->refresh);
        nd_post_cancel(&scf->deliver);
    }

    /* completed but never delivered (shutdown timeout) */
    while (!nd_queue_empty(&scf->done)) {
        q = nd_queue_head(&scf->done);
        nd_queue_remove(q);
        op = nd_queue_data(q, nd_store_op_t, queue);
        nd_destroy_pool(op->pool);
    }

    for (e = nd_hash_first(&scf->cache, &i); e;
         e = nd_hash_next(&scf->cache, e, &i))
    {
        nd_free(e->value);
    }
    nd_hash_free(&scf->cache);
}


char *
nd_store_schema_text(nd_store_conf_t *scf, const char *name, size_t *len,
    nd_log_t *log)
{
    char        *text, path[PATH_MAX];
    const char  *builtin;

    snprintf(path, sizeof(path), "%s/%s", scf->schema_dir_z, name);

    text = nd_store_read_file(path, len);
    if (text) {
        nd_log_error(ND_LOG_INFO, log, 0, "store: schema \"%s\"", path);
        return text;
    }

    if (scf->schema_explicit || errno != ENOENT) {
        nd_log_error(ND_LOG_EMERG, log, errno,
                     "store: cannot read the schema \"%s\"", path);
        return NULL;
    }

    builtin = strcmp(name, "pg.sql") == 0 ? nd_store_schema_pg
                                         : nd_store_schema_sqlite;
    *len = strlen(builtin);
    text = nd_alloc(*len + 1);
    if (text) {
        memcpy(text, builtin, *len + 1);
        nd_log_error(ND_LOG_INFO, log, 0,
                     "store: built-in schema %s (no \"%s\")", name, path);
    }

    return text;
}


/* operations */

nd_store_op_t *
nd_store_op_create(nd_cycle_t *cycle, nd_store_op_e type,
    nd_store_handler_pt handler, void *data)
{
    nd_pool_t      *pool;
    nd_store_op_t  *op;

    pool = nd_create_pool(4096, cycle->log);
    if (pool == NULL) {
        return NULL;
    }

    op = nd_pcalloc(pool, sizeof(nd_store_op_t));
    if (op == NULL) {
        nd_destroy_pool(pool);
        return NULL;
    }

    op->type = type;
    op->pool = pool;
    op->handler = handler;
    op->data = data;
    op->log = cycle->log;
    op->page_no = 1;
    op->status = 200;

    if (nd_array_init(&op->rows, pool, 4,
                      type == ND_STORE_NS_LIST || type == ND_STORE_NS_GET
                      || type == ND_STORE_INSTANCE_NAMESPACES
                      ? sizeof(nd_store_ns_t)
                      : type == ND_STORE_INSTANCE_LIST
                        || type == ND_STORE_INSTANCE_SYNC
                      ? sizeof(nd_store_instance_t)
                      : type == ND_STORE_AUTH_LOAD
                      ? sizeof(nd_store_auth_t)
                      : sizeof(nd_store_config_t)) != ND_OK)
    {
        nd_destroy_pool(pool);
        return NULL;
    }

    return op;
}


void
nd_store_op_free(nd_store_op_t *op)
{
    nd_destroy_pool(op->pool);
}


void
nd_store_cancel(nd_store_op_t *op)
{
    op->canceled = 1;
    op->handler = NULL;
    op->data = NULL;
}


void
nd_store_fail(nd_store_op_t *op, nd_uint_t status, const char *msg)
{
    op->rc = status >= 500 ? ND_ERROR : ND_DECLINED;
    op->status = status;
    op->error = msg;
}


static nd_int_t
nd_store_copy(nd_store_op_t *op, nd_str_t *s)
{
    u_char  *p;

    if (s->data == NULL) {
        s->data = (u_char *) "";
        s->len = 0;
        return ND_OK;
    }

    p = nd_pnalloc(op->pool, s->len + 1);
    if (p == NULL) {
        return ND_ERROR;
    }
    memcpy(p, s->data, s->len);
    p[s->len] = '\0';
    s->data = p;

    return ND_OK;
}


static nd_int_t
nd_store_copy_input(nd_store_op_t *op)
{
    nd_uint_t     i;
    nd_str_t     *s[] = {
        &op->config.data_id, &op->config.group, &op->config.tenant,
        &op->config.content, &op->config.md5, &op->config.app_name,
        &op->config.type, &op->config.src_user, &op->config.src_ip,
        &op->config.desc, &op->config.use, &op->config.effect,
        &op->config.schema, &op->config.tags,
        &op->config.encrypted_data_key, &op->config.op_type,
        &op->cas_md5, &op->ns.id, &op->ns.name, &op->ns.desc,
        &op->ns.source, &op->instance.ns, &op->instance.group,
        &op->instance.service, &op->instance.cluster, &op->instance.ip,
        &op->instance.metadata, &op->beta_ips, &op->tag,
        &op->config.gray_name, &op->config.gray_rule,
        &op->config.gray_expr, &op->config.ext_info, &op->auth.a,
        &op->auth.b, &op->auth.c
    };

    for (i = 0; i < nd_nelts(s); i++) {
        if (nd_store_copy(op, s[i]) != ND_OK) {
            return ND_ERROR;
        }
    }

    return ND_OK;
}


static nd_int_t
nd_store_check_key(nd_store_op_t *op)
{
    if (nd_name_check(ND_NAME_DATA_ID, &op->config.data_id) != ND_NAME_OK) {
        nd_store_fail(op, 400, "invalid dataId");
        return ND_DECLINED;
    }

    if (nd_name_check(ND_NAME_GROUP, &op->config.group) != ND_NAME_OK) {
        nd_store_fail(op, 400, "invalid group");
        return ND_DECLINED;
    }

    if (nd_name_check(ND_NAME_NAMESPACE, &op->config.tenant) != ND_NAME_OK) {
        nd_store_fail(op, 400, "invalid tenant");
        return ND_DECLINED;
    }

    return ND_OK;
}


static nd_int_t
nd_store_check_tags(nd_store_op_t *op)
{
    u_char  *p, *end, *comma;

    p = op->config.tags.data;
    end = p + op->config.tags.len;

    while (p < end) {
        comma = memchr(p, ',', end - p);
        if (comma == NULL) {
            comma = end;
        }
        if (comma - p > 128) {
            return ND_DECLINED;
        }
        p = comma + 1;
    }

    return ND_OK;
}


/* every bad input is refused here, before any SQL */
static nd_int_t
nd_store_validate(nd_store_conf_t *scf, nd_store_op_t *op)
{
    nd_uint_t             i;
    nd_store_config_t    *c;
    nd_store_instance_t  *in;
    static const struct {
        size_t       off;
        size_t       max;
        const char  *msg;
    } fields[] = {
        { offsetof(nd_store_config_t, app_name), 128, "invalid appName" },
        { offsetof(nd_store_config_t, type), 64, "invalid type" },
        { offsetof(nd_store_config_t, src_user), 256, "invalid src_user" },
        { offsetof(nd_store_config_t, src_ip), 50, "invalid src_ip" },
        { offsetof(nd_store_config_t, desc), 256, "invalid desc" },
        { offsetof(nd_store_config_t, use), 64, "invalid use" },
        { offsetof(nd_store_config_t, effect), 64, "invalid effect" },
        { offsetof(nd_store_config_t, schema), 65536, "invalid schema" },
        { offsetof(nd_store_config_t, tags), 1024, "invalid config_tags" },
        { offsetof(nd_store_config_t, encrypted_data_key), 1024,
          "invalid encryptedDataKey" },
    };

    c = &op->config;

    switch (op->type) {

    case ND_STORE_GRAY_PUBLISH:
    case ND_STORE_GRAY_DELETE:
        if (op->tag.len
            && nd_name_check(ND_NAME_TAG, &op->tag) != ND_NAME_OK)
        {
            nd_store_fail(op, 400, "invalid tag");
            return ND_DECLINED;
        }
        if (op->type == ND_STORE_GRAY_DELETE) {
            if (nd_store_check_key(op) != ND_OK) {
                return ND_DECLINED;
            }
            if (!nd_text_valid(&c->src_user, 256)
                || !nd_text_valid(&c->src_ip, 50))
            {
                nd_store_fail(op, 400, "invalid src_user or src_ip");
                return ND_DECLINED;
            }
            return ND_OK;
        }
        if (op->beta_ips.len == 0 && op->tag.len == 0) {
            nd_store_fail(op, 400, "betaIps or tag is required");
            return ND_DECLINED;
        }
        if (!nd_text_valid(&op->beta_ips, 1024)) {
            nd_store_fail(op, 400, "invalid betaIps");
            return ND_DECLINED;
        }
        if (c->encrypted_data_key.len > 256) {
            /* config_info_gray.encrypted_data_key varchar(256) */
            nd_store_fail(op, 400, "invalid encryptedDataKey");
            return ND_DECLINED;
        }
        /* fall through */

    case ND_STORE_CONFIG_PUBLISH:
        if (nd_store_check_key(op) != ND_OK) {
            return ND_DECLINED;
        }
        if (c->content.len == 0) {
            nd_store_fail(op, 400, "content is empty");
            return ND_DECLINED;
        }
        if (c->content.len > scf->max_content_size) {
            nd_store_fail(op, 413, scf->content_error);
            return ND_DECLINED;
        }
        if (!nd_text_valid(&c->content, scf->max_content_size)) {
            nd_store_fail(op, 400, "content is not valid UTF-8 text");
            return ND_DECLINED;
        }
        for (i = 0; i < nd_nelts(fields); i++) {
            if (!nd_text_valid((nd_str_t *) ((u_char *) c
                                                   + fields[i].off),
                                     fields[i].max))
            {
                nd_store_fail(op, 400, fields[i].msg);
                return ND_DECLINED;
            }
        }
        if (nd_store_check_tags(op) != ND_OK) {
            nd_store_fail(op, 400, "invalid config_tags");
            return ND_DECLINED;
        }
        if (op->cas && !nd_text_valid(&op->cas_md5, 32)) {
            nd_store_fail(op, 400, "invalid casMd5");
            return ND_DECLINED;
        }
        return ND_OK;

    case ND_STORE_CONFIG_GET:
    case ND_STORE_CONFIG_DELETE:
    case ND_STORE_HISTORY_LIST:
        if (nd_store_check_key(op) != ND_OK) {
            return ND_DECLINED;
        }
        if (!nd_text_valid(&c->src_user, 256)
            || !nd_text_valid(&c->src_ip, 50))
        {
            nd_store_fail(op, 400, "invalid src_user or src_ip");
            return ND_DECLINED;
        }
        break;

    case ND_STORE_CONFIG_SEARCH:
        if (nd_name_check(ND_NAME_NAMESPACE, &c->tenant) != ND_NAME_OK) {
            nd_store_fail(op, 400, "invalid tenant");
            return ND_DECLINED;
        }
        if (!nd_text_valid(&c->data_id, 255)
            || !nd_text_valid(&c->group, 128)
            || !nd_text_valid(&c->app_name, 128))
        {
            nd_store_fail(op, 400, "invalid search filter");
            return ND_DECLINED;
        }
        break;

    case ND_STORE_HISTORY_GET:
    case ND_STORE_HISTORY_PREVIOUS:
        if (op->nid <= 0) {
            nd_store_fail(op, 400, "invalid nid");
            return ND_DECLINED;
        }
        return ND_OK;

    case ND_STORE_CHANGES:
        if (op->since < 0) {
            nd_store_fail(op, 400, "invalid sequence");
            return ND_DECLINED;
        }
        if (op->page_size == 0) {
            op->page_size = 100;
        }
        if (op->page_size > 1000) {
            nd_store_fail(op, 400, "invalid limit");
            return ND_DECLINED;
        }
        return ND_OK;

    case ND_STORE_AUTH_WRITE:
        if (op->auth.kind > ND_STORE_AUTH_ADMIN_INIT
            || op->auth.a.len == 0
            || !nd_text_valid(&op->auth.a, 128)
            || !nd_text_valid(&op->auth.b, 500)
            || !nd_text_valid(&op->auth.c, 8))
        {
            nd_store_fail(op, 400, "invalid auth record");
            return ND_DECLINED;
        }
        return ND_OK;

    case ND_STORE_NS_GET:
    case ND_STORE_NS_DELETE:
        if (op->ns.id.len == 0
            || nd_name_check(ND_NAME_NAMESPACE, &op->ns.id) != ND_NAME_OK)
        {
            nd_store_fail(op, 400, "invalid namespaceId");
            return ND_DECLINED;
        }
        return ND_OK;

    case ND_STORE_NS_CREATE:
    case ND_STORE_NS_UPDATE:
        if (op->ns.id.len == 0
            || nd_name_check(ND_NAME_NAMESPACE, &op->ns.id) != ND_NAME_OK)
        {
            nd_store_fail(op, 400, "invalid namespaceId");
            return ND_DECLINED;
        }
        if (op->ns.name.len == 0 || !nd_text_valid(&op->ns.name, 128))
        {
            nd_store_fail(op, 400, "invalid namespaceName");
            return ND_DECLINED;
        }
        if (!nd_text_valid(&op->ns.desc, 256)
            || !nd_text_valid(&op->ns.source, 32))
        {
            nd_store_fail(op, 400, "invalid namespaceDesc");
            return ND_DECLINED;
        }
        return ND_OK;

    case ND_STORE_INSTANCE_UPSERT:
    case ND_STORE_INSTANCE_DELETE:
    case ND_STORE_INSTANCE_LIST:
        in = &op->instance;
        if (nd_name_check(ND_NAME_NAMESPACE, &in->ns) != ND_NAME_OK) {
            nd_store_fail(op, 400, "invalid namespaceId");
            return ND_DECLINED;
        }
        if (op->type == ND_STORE_INSTANCE_LIST) {
            if ((in->group.len
                 && nd_name_check(ND_NAME_GROUP, &in->group) != ND_NAME_OK)
                || (in->service.len
                    && nd_name_check(ND_NAME_SERVICE, &in->service)
                       != ND_NAME_OK))
            {
                nd_store_fail(op, 400, "invalid group or service");
                return ND_DECLINED;
            }
            return ND_OK;
        }
        if (in->cluster.len == 0) {
            nd_str_set(&in->cluster, "DEFAULT");
        }
        if (nd_name_check(ND_NAME_GROUP, &in->group) != ND_NAME_OK
            || nd_name_check(ND_NAME_SERVICE, &in->service) != ND_NAME_OK
            || nd_name_check(ND_NAME_CLUSTER, &in->cluster) != ND_NAME_OK)
        {
            nd_store_fail(op, 400, "invalid group, service or cluster");
            return ND_DECLINED;
        }
        if (in->ip.len == 0
            || nd_name_check(ND_NAME_IP, &in->ip) != ND_NAME_OK
            || in->port < 0 || in->port > 65535)
        {
            nd_store_fail(op, 400, "invalid ip or port");
            return ND_DECLINED;
        }
        if (!(in->weight >= 0.0 && in->weight <= 10000.0)
            || !nd_text_valid(&in->metadata, 65536))
        {
            nd_store_fail(op, 400, "invalid weight or metadata");
            return ND_DECLINED;
        }
        return ND_OK;

    default:
        return ND_OK;
    }

    /* paged */
    if (op->page_no == 0) {
        op->page_no = 1;
    }
    if (op->page_size == 0) {
        op->page_size = 100;
    }
    if (op->page_size > 500 || op->page_no > 1000000) {
        nd_store_fail(op, 400, "invalid pageNo or pageSize");
        return ND_DECLINED;
    }

    return ND_OK;
}


static nd_int_t
nd_store_config_dup(nd_store_op_t *op, nd_store_config_t *dst,
    const nd_store_config_t *src)
{
    nd_uint_t  i;
    nd_str_t  *f[] = {
        &dst->data_id, &dst->group, &dst->tenant, &dst->content, &dst->md5,
        &dst->app_name, &dst->type, &dst->src_user, &dst->src_ip,
        &dst->desc, &dst->use, &dst->effect, &dst->schema, &dst->tags,
        &dst->encrypted_data_key, &dst->op_type, &dst->gray_name,
        &dst->gray_rule, &dst->gray_expr, &dst->ext_info
    };

    *dst = *src;

    for (i = 0; i < nd_nelts(f); i++) {
        if (nd_store_copy(op, f[i]) != ND_OK) {
            return ND_ERROR;
        }
    }

    return ND_OK;
}


static nd_int_t
nd_store_pstr(nd_store_op_t *op, nd_str_t *dst, const char *s)
{
    size_t  n;

    n = strlen(s);
    dst->data = nd_pnalloc(op->pool, n + 1);
    if (dst->data == NULL) {
        return ND_ERROR;
    }
    memcpy(dst->data, s, n + 1);
    dst->len = n;

    return ND_OK;
}


/*
 * A gray write: its gray name ("beta" when betaIps are given, else
 * "tag_<tag>"), and for a publish the rule as Nacos 2.5 stores it
 * (config_info_gray.gray_rule) and the history's ext_info.
 */
static nd_int_t
nd_store_gray_input(nd_store_op_t *op)
{
    int                 beta;
    char               *text;
    json_t             *rule, *ext;
    nd_int_t            rc;
    nd_store_config_t  *c;

    c = &op->config;
    beta = op->type == ND_STORE_GRAY_PUBLISH ? op->beta_ips.len != 0
                                             : op->tag.len == 0;

    if (beta) {
        nd_str_set(&c->gray_name, ND_STORE_BETA);
        c->gray_expr = op->beta_ips;

    } else {
        c->gray_name.len = sizeof(ND_STORE_TAG_PREFIX) - 1 + op->tag.len;
        c->gray_name.data = nd_pnalloc(op->pool, c->gray_name.len + 1);
        if (c->gray_name.data == NULL) {
            return ND_ERROR;
        }
        memcpy(c->gray_name.data, ND_STORE_TAG_PREFIX,
               sizeof(ND_STORE_TAG_PREFIX) - 1);
        memcpy(c->gray_name.data + sizeof(ND_STORE_TAG_PREFIX) - 1,
               op->tag.data, op->tag.len);
        c->gray_name.data[c->gray_name.len] = '\0';
        c->gray_expr = op->tag;
    }

    if (op->type != ND_STORE_GRAY_PUBLISH) {
        return ND_OK;
    }

    /* Nacos: beta priority Integer.MAX_VALUE, tag MAX_VALUE - 1 */
    rule = json_pack("{s:s, s:s, s:s%, s:I}",
                     "type", beta ? "beta" : "tag", "version", "1.0.0",
                     "expr", (char *) c->gray_expr.data, c->gray_expr.len,
                     "priority", (json_int_t) (beta ? 2147483647
                                                    : 2147483646));
    text = rule ? json_dumps(rule, JSON_COMPACT | JSON_PRESERVE_ORDER)
                : NULL;
    json_decref(rule);
    if (text == NULL) {
        return ND_ERROR;
    }
    rc = nd_store_pstr(op, &c->gray_rule, text);
    free(text);
    if (rc != ND_OK) {
        return ND_ERROR;
    }

    ext = json_pack("{s:s%, s:s%}",
                    "gray_name", (char *) c->gray_name.data,
                    c->gray_name.len,
                    "gray_rule", (char *) c->gray_rule.data,
                    c->gray_rule.len);
    if (ext && c->src_user.len) {
        json_object_set_new(ext, "src_user",
                            json_stringn((char *) c->src_user.data,
                                         c->src_user.len));
    }
    text = ext ? json_dumps(ext, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(ext);
    if (text == NULL) {
        return ND_ERROR;
    }
    rc = nd_store_pstr(op, &c->ext_info, text);
    free(text);

    return rc;
}


static void
nd_store_queue_done(nd_store_conf_t *scf, nd_store_op_t *op)
{
    nd_queue_insert_tail(&scf->done, &op->queue);
    nd_post(&scf->deliver);
}


void
nd_store_submit(nd_store_op_t *op)
{
    char                      md5[ND_MD5_HEX_LEN + 1];
    nd_store_conf_t          *scf;
    nd_store_config_t        *c, *row;
    const nd_store_config_t  *cached;

    scf = nd_store_conf(nd_cycle);

    op->submitted = nd_current_msec;
    scf->inflight++;
    nd_cycle->busy++;

    if (nd_store_copy_input(op) != ND_OK) {
        nd_store_fail(op, 500, "out of memory");
        nd_store_queue_done(scf, op);
        return;
    }

    if (nd_store_validate(scf, op) != ND_OK) {
        nd_store_queue_done(scf, op);
        return;
    }

    c = &op->config;

    switch (op->type) {

    case ND_STORE_CONFIG_GET:
        /* also while the cache loads: a miss then reads the database */
        cached = nd_store_config_cached(nd_cycle, &c->data_id, &c->group,
                                        &c->tenant);
        if (cached == NULL) {
            nd_store_fail(op, 404, "config data not exist");
            break;
        }
        row = nd_array_push(&op->rows);
        if (row == NULL || nd_store_config_dup(op, row, cached) != ND_OK) {
            nd_store_fail(op, 500, "out of memory");
            break;
        }
        op->seq = row->seq;
        break;

    case ND_STORE_GRAY_PUBLISH:
    case ND_STORE_GRAY_DELETE:
        if (nd_store_gray_input(op) != ND_OK) {
            nd_store_fail(op, 500, "out of memory");
            break;
        }
        if (op->type == ND_STORE_GRAY_DELETE) {
            c->gmt_modified = (int64_t) nd_current_msec;
            scf->be->submit(nd_cycle, op);
            return;
        }
        /* fall through */

    case ND_STORE_CONFIG_PUBLISH:
        if (nd_md5_hex(c->content.data, c->content.len, md5) != ND_OK
            || (c->md5.data = nd_pnalloc(op->pool, ND_MD5_HEX_LEN + 1))
               == NULL)
        {
            nd_store_fail(op, 500, "md5 failed");
            break;
        }
        /* with its NUL: libpq reads text parameters as C strings */
        memcpy(c->md5.data, md5, ND_MD5_HEX_LEN + 1);
        c->md5.len = ND_MD5_HEX_LEN;
        c->gmt_create = (int64_t) nd_current_msec;
        c->gmt_modified = (int64_t) nd_current_msec;
        scf->be->submit(nd_cycle, op);
        return;

    default:
        c->gmt_modified = (int64_t) nd_current_msec;
        scf->be->submit(nd_cycle, op);
        return;
    }

    nd_store_queue_done(scf, op);
}


int64_t
nd_store_last_seq(nd_cycle_t *cycle)
{
    return nd_store_conf(cycle)->last_seq;
}


int
nd_store_shared(nd_cycle_t *cycle)
{
    return nd_store_conf(cycle)->backend == ND_STORE_PG;
}


nd_int_t
nd_store_available(nd_cycle_t *cycle)
{
    nd_store_conf_t  *scf;

    scf = nd_store_conf(cycle);

    return scf->started ? scf->be->available(cycle) : ND_DECLINED;
}


/* completion: the backend hands a finished op back, in the loop */

static int
nd_store_change_cmp(const void *a, const void *b)
{
    const nd_store_config_t  *x = a, *y = b;

    return x->seq < y->seq ? -1 : x->seq > y->seq;
}


void
nd_store_complete(nd_store_op_t *op)
{
    nd_uint_t           i;
    nd_store_conf_t    *scf;
    nd_store_config_t  *c, *rows;

    scf = nd_store_conf(nd_cycle);

    if (op->rc != ND_OK) {
        goto done;
    }

    c = &op->config;
    scf->committing = 1;            /* the changes below are ours */

    switch (op->type) {

    case ND_STORE_CONFIG_PUBLISH:
        if (op->write_status != 0) {
            nd_store_fail(op, 409,
                          "Cas publish fail, server md5 may have changed");
            break;
        }
        c->seq = op->seq;
        nd_store_cache_put(scf, c);
        break;

    case ND_STORE_CONFIG_DELETE:
    case ND_STORE_GRAY_DELETE:
        if (op->write_status != 0) {
            op->seq = 0;                /* nothing to delete */
            break;
        }
        nd_store_cache_del(scf, c, op->seq);
        break;

    case ND_STORE_GRAY_PUBLISH:
        if (op->write_status != 0) {
            nd_store_fail(op, 409,
                          "Cas publish fail, server md5 may have changed");
            break;
        }
        c->seq = op->seq;
        nd_store_cache_put(scf, c);
        break;

    case ND_STORE_HISTORY_GET:
    case ND_STORE_HISTORY_PREVIOUS:
    case ND_STORE_NS_GET:
        if (op->rows.nelts == 0) {
            nd_store_fail(op, 404, op->type == ND_STORE_NS_GET
                                   ? "namespace not exist"
                                   : "history not exist");
        }
        break;

    case ND_STORE_NS_CREATE:
        if (op->affected == 0) {
            nd_store_fail(op, 409, "namespace already exists");
        }
        break;

    case ND_STORE_NS_UPDATE:
    case ND_STORE_NS_DELETE:
        if (op->affected == 0) {
            nd_store_fail(op, 404, "namespace not exist");
        }
        break;

    case ND_STORE_INSTANCE_DELETE:
        if (op->affected == 0) {
            nd_store_fail(op, 404, "instance not exist");
        }
        break;

    case ND_STORE_CHANGES:
        rows = op->rows.elts;
        qsort(rows, op->rows.nelts, sizeof(nd_store_config_t),
              nd_store_change_cmp);
        if (op->rows.nelts > op->page_size) {
            op->rows.nelts = op->page_size;
        }
        for (i = 0; i < op->rows.nelts; i++) {
            if (rows[i].seq > scf->last_seq) {
                scf->last_seq = rows[i].seq;
            }
        }
        break;

    case ND_STORE_CONFIG_LOAD:
        scf->loading = 1;
        nd_store_cache_load(scf, op);
        scf->loading = 0;
        break;

    default:
        break;
    }

    if (op->seq > scf->last_seq) {
        scf->last_seq = op->seq;
    }

    /* our write next to every change the cache holds: it holds this one
     * too, and the refresh need not read it back (numbers have no gaps:
     * a refused or rolled back write takes none; another node's write or
     * one of unknown outcome is a gap the refresh reads) */
    if (op->rc == ND_OK && op->seq > 0 && op->seq == scf->sync_seq + 1
        && (op->type == ND_STORE_CONFIG_PUBLISH
            || op->type == ND_STORE_CONFIG_DELETE
            || op->type == ND_STORE_GRAY_PUBLISH
            || op->type == ND_STORE_GRAY_DELETE))
    {
        scf->sync_seq = op->seq;
    }

    scf->committing = 0;

done:

    if (op->rc != ND_OK && op->status >= 500) {
        nd_log_error(op->status == 503 ? ND_LOG_WARN : ND_LOG_ERR, op->log,
                     0, "store: %s failed: %s",
                     nd_store_op_name(op->type), op->error);
    }

    nd_store_queue_done(scf, op);
}


static void
nd_store_deliver(nd_posted_t *p)
{
    nd_queue_t       *q;
    nd_store_op_t    *op;
    nd_store_conf_t  *scf;

    scf = p->data;

    while (!nd_queue_empty(&scf->done)) {
        q = nd_queue_head(&scf->done);
        nd_queue_remove(q);
        op = nd_queue_data(q, nd_store_op_t, queue);

        if (op->rc == ND_OK) {
            op->status = 200;
        }

        if (nd_store_op_is_write(op)) {
            nd_metrics_hist_observe(&scf->commit_latency,
                (double) (nd_current_msec - op->submitted) / 1000.0);
        }

        if (op->handler && !op->canceled) {
            op->handler(op);
        }

        scf->inflight--;
        nd_cycle->busy--;
        nd_destroy_pool(op->pool);
    }
}

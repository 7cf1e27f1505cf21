/*
 * The store module: directives, the operation life cycle (validate, copy,
 * hand to the backend, post-process, deliver in the loop), the config
 * cache, and the statement plans both backends execute.
 */
#include <nd_store_internal.h>

static void *nd_store_create_conf(nd_cycle_t *cycle);
static char *nd_store_init_conf(nd_cycle_t *cycle, void *conf);
static nd_int_t nd_store_init_module(nd_cycle_t *cycle);
static nd_int_t nd_store_start(nd_cycle_t *cycle);
static void nd_store_stop(nd_cycle_t *cycle);
static void nd_store_exit(nd_cycle_t *cycle);
static char *nd_store_set_path(nd_conf_t *cf, nd_command_t *cmd,
    void *conf);
static void nd_store_deliver(nd_posted_t *p);
static void nd_store_refresh(nd_timer_t *t);
static void nd_store_cache_put(nd_store_conf_t *scf,
    const nd_store_config_t *c);
static void nd_store_cache_del(nd_store_conf_t *scf,
    const nd_store_config_t *c, int64_t seq);
static size_t nd_store_cache_key(u_char *dst, const nd_str_t *data_id,
    const nd_str_t *group, const nd_str_t *tenant, const nd_str_t *gray);

char *nd_store_pg_load(nd_pool_t *pool, const char *library);
char *nd_store_pg_check_conninfo(nd_pool_t *pool, const nd_str_t *conninfo);
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
    "gray delete"
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
    nd_conf_init_size_value(scf->max_content_size, 10 * 1024 * 1024);

    if (scf->query_timeout < 100) {
        return "\"query_timeout\" must be at least 100ms";
    }

    if (scf->pg_reconnect_max < 100) {
        return "\"pg_reconnect_max\" must be at least 100ms";
    }

    if (scf->max_content_size == 0
        || scf->max_content_size > 100 * 1024 * 1024)
    {
        return "\"max_content_size\" must be between 1 and 100m";
    }

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
                      ? sizeof(nd_store_ns_t)
                      : type == ND_STORE_INSTANCE_LIST
                      ? sizeof(nd_store_instance_t)
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


static int
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


static int
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
        &op->config.gray_expr, &op->config.ext_info
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
    if (!nd_store_valid_name(&op->config.data_id, 255)) {
        nd_store_fail(op, 400, "invalid dataId");
        return ND_DECLINED;
    }

    if (!nd_store_valid_name(&op->config.group, 128)) {
        nd_store_fail(op, 400, "invalid group");
        return ND_DECLINED;
    }

    if (!nd_store_valid_tenant(&op->config.tenant)) {
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
        if (op->tag.len && !nd_store_valid_name(&op->tag, 64)) {
            nd_store_fail(op, 400, "invalid tag");
            return ND_DECLINED;
        }
        if (op->type == ND_STORE_GRAY_DELETE) {
            if (nd_store_check_key(op) != ND_OK) {
                return ND_DECLINED;
            }
            if (!nd_store_valid_text(&c->src_user, 256)
                || !nd_store_valid_text(&c->src_ip, 50))
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
        if (!nd_store_valid_text(&op->beta_ips, 1024)) {
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
            nd_store_fail(op, 413, "content is too large");
            return ND_DECLINED;
        }
        if (!nd_store_valid_text(&c->content, scf->max_content_size)) {
            nd_store_fail(op, 400, "content is not valid UTF-8 text");
            return ND_DECLINED;
        }
        for (i = 0; i < nd_nelts(fields); i++) {
            if (!nd_store_valid_text((nd_str_t *) ((u_char *) c
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
        if (op->cas && !nd_store_valid_text(&op->cas_md5, 32)) {
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
        if (!nd_store_valid_text(&c->src_user, 256)
            || !nd_store_valid_text(&c->src_ip, 50))
        {
            nd_store_fail(op, 400, "invalid src_user or src_ip");
            return ND_DECLINED;
        }
        break;

    case ND_STORE_CONFIG_SEARCH:
        if (!nd_store_valid_tenant(&c->tenant)) {
            nd_store_fail(op, 400, "invalid tenant");
            return ND_DECLINED;
        }
        if (!nd_store_valid_text(&c->data_id, 255)
            || !nd_store_valid_text(&c->group, 128)
            || !nd_store_valid_text(&c->app_name, 128))
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

    case ND_STORE_NS_GET:
    case ND_STORE_NS_DELETE:
        if (op->ns.id.len == 0 || !nd_store_valid_tenant(&op->ns.id)) {
            nd_store_fail(op, 400, "invalid namespaceId");
            return ND_DECLINED;
        }
        return ND_OK;

    case ND_STORE_NS_CREATE:
    case ND_STORE_NS_UPDATE:
        if (op->ns.id.len == 0 || !nd_store_valid_tenant(&op->ns.id)) {
            nd_store_fail(op, 400, "invalid namespaceId");
            return ND_DECLINED;
        }
        if (op->ns.name.len == 0 || !nd_store_valid_text(&op->ns.name, 128))
        {
            nd_store_fail(op, 400, "invalid namespaceName");
            return ND_DECLINED;
        }
        if (!nd_store_valid_text(&op->ns.desc, 256)
            || !nd_store_valid_text(&op->ns.source, 32))
        {
            nd_store_fail(op, 400, "invalid namespaceDesc");
            return ND_DECLINED;
        }
        return ND_OK;

    case ND_STORE_INSTANCE_UPSERT:
    case ND_STORE_INSTANCE_DELETE:
    case ND_STORE_INSTANCE_LIST:
        in = &op->instance;
        if (!nd_store_valid_tenant(&in->ns)) {
            nd_store_fail(op, 400, "invalid namespaceId");
            return ND_DECLINED;
        }
        if (op->type == ND_STORE_INSTANCE_LIST) {
            if ((in->group.len && !nd_store_valid_name(&in->group, 128))
                || !nd_store_valid_text(&in->service, 255))
            {
                nd_store_fail(op, 400, "invalid group or service");
                return ND_DECLINED;
            }
            return ND_OK;
        }
        if (in->cluster.len == 0) {
            nd_str_set(&in->cluster, "DEFAULT");
        }
        if (!nd_store_valid_name(&in->group, 128)
            || in->service.len == 0
            || !nd_store_valid_text(&in->service, 255)
            || !nd_store_valid_name(&in->cluster, 64))
        {
            nd_store_fail(op, 400, "invalid group, service or cluster");
            return ND_DECLINED;
        }
        if (in->ip.len == 0 || !nd_store_valid_name(&in->ip, 64)
            || in->port < 0 || in->port > 65535)
        {
            nd_store_fail(op, 400, "invalid ip or port");
            return ND_DECLINED;
        }
        if (!(in->weight >= 0.0 && in->weight <= 10000.0)
            || !nd_store_valid_text(&in->metadata, 65536))
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


static int
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
    char              md5[ND_MD5_HEX_LEN + 1];
    size_t            klen;
    u_char           *key;
    nd_store_conf_t    *scf;
    nd_store_config_t  *c, *row, *cached;

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
        klen = nd_store_group_key_len(&c->data_id, &c->group, &c->tenant);
        key = nd_pnalloc(op->pool, klen);
        if (key == NULL) {
            nd_store_fail(op, 500, "out of memory");
            break;
        }
        klen = nd_store_group_key(key, &c->data_id, &c->group, &c->tenant);
        cached = nd_hash_find(&scf->cache, key, klen);
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


const nd_store_config_t *
nd_store_config_cached(nd_cycle_t *cycle, const nd_str_t *data_id,
    const nd_str_t *group, const nd_str_t *tenant)
{
    u_char            buf[1600];
    size_t            klen;
    nd_store_conf_t  *scf;

    scf = nd_store_conf(cycle);

    klen = nd_store_group_key_len(data_id, group, tenant);
    if (klen > sizeof(buf)) {
        return NULL;
    }
    klen = nd_store_group_key(buf, data_id, group, tenant);

    return nd_hash_find(&scf->cache, buf, klen);
}


const nd_store_config_t *
nd_store_config_by_id(nd_cycle_t *cycle, int64_t id)
{
    nd_uint_t                 i;
    nd_hash_elt_t            *e;
    nd_store_conf_t          *scf;
    const nd_store_config_t  *c;

    scf = nd_store_conf(cycle);

    for (e = nd_hash_first(&scf->cache, &i); e;
         e = nd_hash_next(&scf->cache, e, &i))
    {
        c = e->value;
        if (c->id == id && c->gray_name.len == 0) {
            return c;
        }
    }

    return NULL;
}


const nd_store_config_t *
nd_store_gray_cached(nd_cycle_t *cycle, const nd_str_t *data_id,
    const nd_str_t *group, const nd_str_t *tenant, const nd_str_t *gray_name)
{
    u_char            buf[1800];
    size_t            klen;
    nd_store_conf_t  *scf;

    scf = nd_store_conf(cycle);

    if (gray_name->len == 0) {
        return NULL;
    }

    klen = nd_store_gray_key_len(data_id, group, tenant, gray_name);
    if (klen > sizeof(buf)) {
        return NULL;
    }
    klen = nd_store_cache_key(buf, data_id, group, tenant, gray_name);

    return nd_hash_find(&scf->cache, buf, klen);
}


int
nd_store_ip_listed(const nd_str_t *list, const char *ip)
{
    u_char  *p, *end, *item, *e;
    size_t   len;

    if (ip == NULL || list->len == 0) {
        return 0;
    }

    len = strlen(ip);
    p = list->data;
    end = p + list->len;

    while (p < end) {
        item = p;
        while (p < end && *p != ',') {
            p++;
        }
        e = p++;

        while (item < e && (*item == ' ' || *item == '\t')) {
            item++;
        }
        while (e > item && (e[-1] == ' ' || e[-1] == '\t')) {
            e--;
        }

        if ((size_t) (e - item) == len && memcmp(item, ip, len) == 0) {
            return 1;
        }
    }

    return 0;
}


const nd_store_config_t *
nd_store_config_match(nd_cycle_t *cycle, const nd_str_t *data_id,
    const nd_str_t *group, const nd_str_t *tenant, const char *ip,
    const nd_str_t *tag)
{
    u_char                    name[80];
    nd_str_t                  gray;
    const nd_store_config_t  *c;

    nd_str_set(&gray, ND_STORE_BETA);
    c = nd_store_gray_cached(cycle, data_id, group, tenant, &gray);
    if (c && nd_store_ip_listed(&c->gray_expr, ip)) {
        return c;
    }

    if (tag && tag->len
        && tag->len <= sizeof(name) - sizeof(ND_STORE_TAG_PREFIX))
    {
        memcpy(name, ND_STORE_TAG_PREFIX, sizeof(ND_STORE_TAG_PREFIX) - 1);
        memcpy(name + sizeof(ND_STORE_TAG_PREFIX) - 1, tag->data, tag->len);
        gray.data = name;
        gray.len = sizeof(ND_STORE_TAG_PREFIX) - 1 + tag->len;
        c = nd_store_gray_cached(cycle, data_id, group, tenant, &gray);
        if (c) {
            return c;
        }
    }

    return nd_store_config_cached(cycle, data_id, group, tenant);
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

        if (op->handler && !op->canceled) {
            op->handler(op);
        }

        scf->inflight--;
        nd_cycle->busy--;
        nd_destroy_pool(op->pool);
    }
}


/* the cache: the newest committed config_info row per group key */

static void
nd_store_notify(nd_store_conf_t *scf, const nd_store_config_t *c,
    int64_t seq, int deleted)
{
    /* a gray version: deleted says whether that version went away */
    u_char             *p;
    nd_str_t            key;
    nd_store_change_t  *ch;

    if (scf->loading) {
        return;                         /* start-up: nobody listens yet */
    }

    key.len = c->data_id.len + c->group.len + c->tenant.len + 2;
    key.data = nd_alloc(key.len);
    ch = nd_alloc(sizeof(nd_store_change_t));

    if (key.data == NULL || ch == NULL) {
        nd_free(key.data);
        nd_free(ch);
        return;
    }

    p = key.data;
    p = (u_char *) memcpy(p, c->data_id.data, c->data_id.len)
        + c->data_id.len;
    *p++ = '\002';
    if (c->group.len) {
        memcpy(p, c->group.data, c->group.len);
        p += c->group.len;
    }
    *p++ = '\002';
    if (c->tenant.len) {
        memcpy(p, c->tenant.data, c->tenant.len);
    }

    ch->seq = seq;
    ch->deleted = deleted ? 1 : 0;
    ch->gray = c->gray_name.len ? 1 : 0;
    ch->local = scf->committing;

    nd_event_publish(scf->cycle, ND_EV_CONFIG_CHANGED, &key, ch, nd_free);
    nd_free(key.data);
}


/* the cache key of a row: its group key, \x01 gray name for a gray one;
 * dst >= nd_store_gray_key_len() */
static size_t
nd_store_cache_key(u_char *dst, const nd_str_t *data_id,
    const nd_str_t *group, const nd_str_t *tenant, const nd_str_t *gray)
{
    size_t  n;

    n = nd_store_group_key(dst, data_id, group, tenant);

    if (gray && gray->len) {
        dst[n++] = '\001';
        memcpy(dst + n, gray->data, gray->len);
        n += gray->len;
    }

    return n;
}


/* the match list of a gray row: beta ips (from its rule), or the tag of
 * tag_<tag>; *json holds what expr points into until json_decref() */
static void
nd_store_gray_expr(const nd_store_config_t *c, nd_str_t *expr, json_t **json)
{
    size_t       pre;
    const char  *e;

    *json = NULL;
    nd_str_null(expr);

    if (c->gray_name.len == 0) {
        return;
    }

    pre = sizeof(ND_STORE_TAG_PREFIX) - 1;
    if (c->gray_name.len > pre
        && memcmp(c->gray_name.data, ND_STORE_TAG_PREFIX, pre) == 0)
    {
        expr->data = c->gray_name.data + pre;
        expr->len = c->gray_name.len - pre;
        return;
    }

    *json = json_loadb((char *) c->gray_rule.data, c->gray_rule.len, 0,
                       NULL);
    e = *json ? nd_json_get_str(*json, "expr", NULL) : NULL;
    if (e) {
        expr->data = (u_char *) e;
        expr->len = strlen(e);
    }
}


static void
nd_store_cache_put(nd_store_conf_t *scf, const nd_store_config_t *c)
{
    u_char             *p, *key;
    size_t              size, klen;
    int64_t             old_seq;
    json_t             *rule;
    nd_str_t            expr;
    nd_uint_t           i;
    nd_str_t           *dst;
    nd_store_config_t  *n, *old;

    nd_store_gray_expr(c, &expr, &rule);

    klen = nd_store_gray_key_len(&c->data_id, &c->group, &c->tenant,
                                 &c->gray_name);
    size = sizeof(nd_store_config_t) + klen;
    size += c->data_id.len + c->group.len + c->tenant.len + c->content.len
            + c->md5.len + c->app_name.len + c->type.len + c->src_user.len
            + c->src_ip.len + c->desc.len + c->use.len + c->effect.len
            + c->schema.len + c->tags.len + c->encrypted_data_key.len
            + c->gray_name.len + c->gray_rule.len + expr.len + 16;

    n = nd_alloc(size);
    if (n == NULL) {
        json_decref(rule);
        nd_log_error(ND_LOG_CRIT, scf->cycle->log, 0,
                     "store: no memory to cache a config");
        return;
    }

    *n = *c;
    n->nid = 0;
    n->deleted = 0;
    n->gray_expr = expr;
    nd_str_null(&n->op_type);
    nd_str_null(&n->ext_info);

    p = (u_char *) (n + 1);
    key = p;
    klen = nd_store_cache_key(key, &c->data_id, &c->group, &c->tenant,
                              &c->gray_name);
    p += klen;

    {
        nd_str_t  *fields[] = {
            &n->data_id, &n->group, &n->tenant, &n->content, &n->md5,
            &n->app_name, &n->type, &n->src_user, &n->src_ip, &n->desc,
            &n->use, &n->effect, &n->schema, &n->tags,
            &n->encrypted_data_key, &n->gray_name, &n->gray_rule,
            &n->gray_expr
        };

        for (i = 0; i < nd_nelts(fields); i++) {
            dst = fields[i];
            if (dst->len) {
                memcpy(p, dst->data, dst->len);
            }
            dst->data = p;
            p += dst->len;
        }
    }

    json_decref(rule);

    old_seq = -1;

    old = nd_hash_find(&scf->cache, key, klen);
    if (old) {
        if (old->seq > n->seq) {
            nd_free(n);                 /* a newer one is cached */
            return;
        }
        old_seq = old->seq;
        nd_hash_del(&scf->cache, key, klen);
        nd_free(old);
    }

    if (nd_hash_add(&scf->cache, key, klen, n) != ND_OK) {
        nd_free(n);
        return;
    }

    if (old_seq != n->seq) {
        nd_store_notify(scf, n, n->seq, 0);
    }
}


static void
nd_store_cache_del(nd_store_conf_t *scf, const nd_store_config_t *c,
    int64_t seq)
{
    u_char              buf[1800];
    size_t              klen;
    nd_store_config_t  *old;

    klen = nd_store_gray_key_len(&c->data_id, &c->group, &c->tenant,
                                 &c->gray_name);
    if (klen > sizeof(buf)) {
        return;
    }
    klen = nd_store_cache_key(buf, &c->data_id, &c->group, &c->tenant,
                              &c->gray_name);

    old = nd_hash_find(&scf->cache, buf, klen);
    if (old && old->seq < seq) {
        nd_hash_del(&scf->cache, buf, klen);
        nd_free(old);
        nd_store_notify(scf, c, seq, 1);
    }
}


void
nd_store_cache_load(nd_store_conf_t *scf, nd_store_op_t *op)
{
    nd_uint_t           i;
    nd_store_config_t  *rows;

    rows = op->rows.elts;

    for (i = 0; i < op->rows.nelts; i++) {
        if (rows[i].deleted) {
            nd_store_cache_del(scf, &rows[i], rows[i].seq);
        } else {
            nd_store_cache_put(scf, &rows[i]);
        }
        if (rows[i].seq > scf->last_seq) {
            scf->last_seq = rows[i].seq;
        }
        /* only what was read in sequence order moves the cursor: our own
         * writes do not (a change of another node below them may not be
         * in the cache yet) */
        if (rows[i].seq > scf->sync_seq) {
            scf->sync_seq = rows[i].seq;
        }
    }
}


/* pg: other nodes write the same tables; follow the change sequence */

static void
nd_store_refresh_done(nd_store_op_t *op)
{
    nd_store_conf_t  *scf;

    scf = op->data;
    scf->refreshing = 0;

    if (op->rc == ND_OK) {
        nd_store_cache_load(scf, op);
    }

    if (nd_cycle->stopping) {
        return;
    }

    if ((op->rc == ND_OK && op->rows.nelts == op->page_size)
        || scf->refresh_again)
    {
        scf->refresh_again = 0;
        nd_store_refresh(&scf->refresh);      /* more to come */
    }
}


void
nd_store_refresh_now(nd_cycle_t *cycle)
{
    nd_store_conf_t  *scf;

    scf = nd_store_conf(cycle);

    if (scf->started && !scf->loading) {
        nd_store_refresh(&scf->refresh);
    }
}


static void
nd_store_refresh(nd_timer_t *t)
{
    nd_store_op_t    *op;
    nd_store_conf_t  *scf;

    scf = t->data;

    if (scf->refreshing) {
        scf->refresh_again = 1;     /* a change may be past its read */
        return;
    }

    if (scf->be->available(scf->cycle) != ND_OK) {
        return;
    }

    op = nd_store_op_create(scf->cycle, ND_STORE_CHANGES,
                            nd_store_refresh_done, scf);
    if (op == NULL) {
        return;
    }

    op->since = scf->sync_seq;
    op->page_size = 1000;
    scf->refreshing = 1;
    nd_store_submit(op);
}


/* statement plans: what each op runs, with which parameters, in the
 * order the SQL texts of both backends expect them */

static void
nd_store_p_text(nd_store_stmt_t *st, const nd_str_t *s)
{
    nd_store_param_t  *p;

    p = &st->params[st->nparams++];
    p->type = ND_STORE_P_TEXT;
    p->text = *s;
    if (p->text.data == NULL) {
        p->text.data = (u_char *) "";
        p->text.len = 0;
    }
}


static void
nd_store_p_int(nd_store_stmt_t *st, int64_t v)
{
    nd_store_param_t  *p;

    p = &st->params[st->nparams++];
    p->type = ND_STORE_P_INT;
    p->i = v;
    p->text.len = snprintf(p->buf, sizeof(p->buf), "%lld", (long long) v);
    p->text.data = (u_char *) p->buf;
}


static void
nd_store_p_bool(nd_store_stmt_t *st, int v)
{
    nd_store_param_t  *p;

    p = &st->params[st->nparams++];
    p->type = ND_STORE_P_BOOL;
    p->i = v ? 1 : 0;
    p->text.len = 1;
    p->text.data = (u_char *) (v ? "t" : "f");
}


static void
nd_store_p_real(nd_store_stmt_t *st, double v)
{
    nd_store_param_t  *p;

    p = &st->params[st->nparams++];
    p->type = ND_STORE_P_REAL;
    p->d = v;
    p->text.len = snprintf(p->buf, sizeof(p->buf), "%.17g", v);
    p->text.data = (u_char *) p->buf;
}


static void
nd_store_p_like(nd_store_op_t *op, nd_store_stmt_t *st, const nd_str_t *s)
{
    nd_str_t  pat;

    /* NUL-terminated: libpq takes text parameters as C strings */
    pat.data = nd_pnalloc(op->pool, 2 * s->len + 1);
    pat.len = pat.data ? nd_store_like_pattern(pat.data, s, op->blur) : 0;
    if (pat.data == NULL) {
        pat.data = (u_char *) "";
    } else {
        pat.data[pat.len] = '\0';
    }
    nd_store_p_text(st, &pat);
}


static void
nd_store_stmt(nd_store_stmt_t *st, nd_store_sql_e sql, nd_store_rows_e rows)
{
    st->sql = sql;
    st->rows = rows;
    st->nparams = 0;
}


nd_uint_t
nd_store_plan(nd_store_op_t *op, nd_store_stmt_t *plan)
{
    nd_uint_t             i;
    nd_store_stmt_t      *st;
    nd_store_config_t    *c;
    nd_store_instance_t  *in;

    c = &op->config;
    in = &op->instance;
    st = plan;

    switch (op->type) {

    case ND_STORE_CONFIG_LOAD:
        nd_store_stmt(st, ND_STORE_SQL_CONFIG_ALL, ND_STORE_ROWS_CONFIG);
        return 1;

    case ND_STORE_CONFIG_SEARCH:
        for (i = 0; i < 2; i++) {
            nd_store_stmt(&st[i], i ? ND_STORE_SQL_CONFIG_COUNT
                                    : ND_STORE_SQL_CONFIG_SEARCH,
                          i ? ND_STORE_ROWS_COUNT : ND_STORE_ROWS_CONFIG);
            nd_store_p_text(&st[i], &c->tenant);
            nd_store_p_like(op, &st[i], &c->data_id);
            nd_store_p_like(op, &st[i], &c->group);
            nd_store_p_like(op, &st[i], &c->app_name);
        }
        nd_store_p_int(st, op->page_size);
        nd_store_p_int(st, (int64_t) (op->page_no - 1) * op->page_size);
        return 2;

    case ND_STORE_HISTORY_LIST:
        for (i = 0; i < 2; i++) {
            nd_store_stmt(&st[i], i ? ND_STORE_SQL_HISTORY_COUNT
                                    : ND_STORE_SQL_HISTORY_LIST,
                          i ? ND_STORE_ROWS_COUNT : ND_STORE_ROWS_HISTORY);
            nd_store_p_text(&st[i], &c->data_id);
            nd_store_p_text(&st[i], &c->group);
            nd_store_p_text(&st[i], &c->tenant);
        }
        nd_store_p_int(st, op->page_size);
        nd_store_p_int(st, (int64_t) (op->page_no - 1) * op->page_size);
        return 2;

    case ND_STORE_HISTORY_GET:
    case ND_STORE_HISTORY_PREVIOUS:
        nd_store_stmt(st, op->type == ND_STORE_HISTORY_GET
                          ? ND_STORE_SQL_HISTORY_GET
                          : ND_STORE_SQL_HISTORY_PREVIOUS,
                      ND_STORE_ROWS_HISTORY);
        nd_store_p_int(st, op->nid);
        return 1;

    case ND_STORE_CHANGES:
        nd_store_stmt(&st[0], ND_STORE_SQL_CHANGES_CONFIG,
                      ND_STORE_ROWS_CONFIG);
        nd_store_stmt(&st[1], ND_STORE_SQL_CHANGES_DELETED,
                      ND_STORE_ROWS_DELETED);
        for (i = 0; i < 2; i++) {
            nd_store_p_int(&st[i], op->since);
            nd_store_p_int(&st[i], op->page_size);
        }
        return 2;

    case ND_STORE_NS_LIST:
        nd_store_stmt(st, ND_STORE_SQL_NS_LIST, ND_STORE_ROWS_NS);
        return 1;

    case ND_STORE_NS_GET:
        nd_store_stmt(st, ND_STORE_SQL_NS_GET, ND_STORE_ROWS_NS);
        nd_store_p_text(st, &op->ns.id);
        return 1;

    case ND_STORE_NS_CREATE:
        nd_store_stmt(st, ND_STORE_SQL_NS_CREATE, ND_STORE_ROWS_AFFECTED);
        nd_store_p_text(st, &op->ns.id);
        nd_store_p_text(st, &op->ns.name);
        nd_store_p_text(st, &op->ns.desc);
        nd_store_p_text(st, &op->ns.source);
        nd_store_p_int(st, c->gmt_modified);
        return 1;

    case ND_STORE_NS_UPDATE:
        nd_store_stmt(st, ND_STORE_SQL_NS_UPDATE, ND_STORE_ROWS_AFFECTED);
        nd_store_p_text(st, &op->ns.id);
        nd_store_p_text(st, &op->ns.name);
        nd_store_p_text(st, &op->ns.desc);
        nd_store_p_int(st, c->gmt_modified);
        return 1;

    case ND_STORE_NS_DELETE:
        nd_store_stmt(st, ND_STORE_SQL_NS_DELETE, ND_STORE_ROWS_AFFECTED);
        nd_store_p_text(st, &op->ns.id);
        return 1;

    case ND_STORE_INSTANCE_UPSERT:
    case ND_STORE_INSTANCE_DELETE:
        nd_store_stmt(st, op->type == ND_STORE_INSTANCE_UPSERT
                          ? ND_STORE_SQL_INSTANCE_UPSERT
                          : ND_STORE_SQL_INSTANCE_DELETE,
                      ND_STORE_ROWS_AFFECTED);
        nd_store_p_text(st, &in->ns);
        nd_store_p_text(st, &in->group);
        nd_store_p_text(st, &in->service);
        nd_store_p_text(st, &in->cluster);
        nd_store_p_text(st, &in->ip);
        nd_store_p_int(st, in->port);
        if (op->type == ND_STORE_INSTANCE_UPSERT) {
            nd_store_p_real(st, in->weight);
            nd_store_p_bool(st, in->healthy);
            nd_store_p_bool(st, in->enabled);
            nd_store_p_text(st, &in->metadata);
            nd_store_p_int(st, c->gmt_modified);
        }
        return 1;

    case ND_STORE_INSTANCE_LIST:
        nd_store_stmt(st, ND_STORE_SQL_INSTANCE_LIST,
                      ND_STORE_ROWS_INSTANCE);
        nd_store_p_text(st, &in->ns);
        nd_store_p_text(st, &in->group);
        nd_store_p_text(st, &in->service);
        return 1;

    case ND_STORE_CONFIG_PUBLISH:
        nd_store_stmt(st, ND_STORE_SQL_CONFIG_PUBLISH, ND_STORE_ROWS_WRITE);
        nd_store_p_text(st, &c->data_id);
        nd_store_p_text(st, &c->group);
        nd_store_p_text(st, &c->tenant);
        nd_store_p_text(st, &c->content);
        nd_store_p_text(st, &c->md5);
        nd_store_p_int(st, c->gmt_modified);
        nd_store_p_text(st, &c->src_user);
        nd_store_p_text(st, &c->src_ip);
        nd_store_p_text(st, &c->app_name);
        nd_store_p_text(st, &c->desc);
        nd_store_p_text(st, &c->use);
        nd_store_p_text(st, &c->effect);
        nd_store_p_text(st, &c->type);
        nd_store_p_text(st, &c->schema);
        nd_store_p_text(st, &c->encrypted_data_key);
        nd_store_p_bool(st, op->cas);
        nd_store_p_text(st, &op->cas_md5);
        nd_store_p_text(st, &c->tags);
        return 1;

    case ND_STORE_GRAY_PUBLISH:
        /* pg: the sequence row lock first, so the one statement after it
         * sees every earlier commit */
        nd_store_stmt(&st[0], ND_STORE_SQL_SEQ_LOCK, ND_STORE_ROWS_AFFECTED);
        st = &st[1];
        nd_store_stmt(st, ND_STORE_SQL_GRAY_PUBLISH, ND_STORE_ROWS_WRITE);
        nd_store_p_text(st, &c->data_id);
        nd_store_p_text(st, &c->group);
        nd_store_p_text(st, &c->tenant);
        nd_store_p_text(st, &c->gray_name);
        nd_store_p_text(st, &c->gray_rule);
        nd_store_p_text(st, &c->content);
        nd_store_p_text(st, &c->md5);
        nd_store_p_int(st, c->gmt_modified);
        nd_store_p_text(st, &c->src_user);
        nd_store_p_text(st, &c->src_ip);
        nd_store_p_text(st, &c->app_name);
        nd_store_p_text(st, &c->encrypted_data_key);
        nd_store_p_bool(st, op->cas);
        nd_store_p_text(st, &op->cas_md5);
        nd_store_p_text(st, &c->ext_info);
        return 2;

    case ND_STORE_GRAY_DELETE:
        nd_store_stmt(&st[0], ND_STORE_SQL_SEQ_LOCK, ND_STORE_ROWS_AFFECTED);
        st = &st[1];
        nd_store_stmt(st, ND_STORE_SQL_GRAY_DELETE, ND_STORE_ROWS_WRITE);
        nd_store_p_text(st, &c->data_id);
        nd_store_p_text(st, &c->group);
        nd_store_p_text(st, &c->tenant);
        nd_store_p_text(st, &c->gray_name);
        nd_store_p_int(st, c->gmt_modified);
        nd_store_p_text(st, &c->src_user);
        nd_store_p_text(st, &c->src_ip);
        return 2;

    case ND_STORE_CONFIG_DELETE:
        nd_store_stmt(st, ND_STORE_SQL_CONFIG_DELETE, ND_STORE_ROWS_WRITE);
        nd_store_p_text(st, &c->data_id);
        nd_store_p_text(st, &c->group);
        nd_store_p_text(st, &c->tenant);
        nd_store_p_int(st, c->gmt_modified);
        nd_store_p_text(st, &c->src_user);
        nd_store_p_text(st, &c->src_ip);
        return 1;

    default:
        return 0;
    }
}


/* result rows: columns as text, in the orders the SQL texts select */

static int
nd_store_col_str(nd_store_op_t *op, nd_store_row_t *row, int col,
    nd_str_t *dst)
{
    nd_str_t  v;

    row->get(row->ctx, col, &v);

    if (v.data == NULL || v.len == 0) {
        dst->data = (u_char *) "";
        dst->len = 0;
        return ND_OK;
    }

    dst->data = nd_pnalloc(op->pool, v.len + 1);
    if (dst->data == NULL) {
        return ND_ERROR;
    }
    memcpy(dst->data, v.data, v.len);
    dst->data[v.len] = '\0';
    dst->len = v.len;

    return ND_OK;
}


static int64_t
nd_store_col_int(nd_store_row_t *row, int col)
{
    int64_t   v;
    nd_str_t  s;

    row->get(row->ctx, col, &s);

    if (s.data == NULL || nd_atoi64(s.data, s.len, &v) != ND_OK) {
        /* a negative number */
        if (s.data && s.len > 1 && s.data[0] == '-'
            && nd_atoi64(s.data + 1, s.len - 1, &v) == ND_OK)
        {
            return -v;
        }
        return 0;
    }

    return v;
}


static int
nd_store_col_bool(nd_store_row_t *row, int col)
{
    nd_str_t  s;

    row->get(row->ctx, col, &s);

    return s.data && s.len && (s.data[0] == 't' || s.data[0] == '1');
}


int
nd_store_decode_row(nd_store_op_t *op, nd_store_rows_e kind,
    nd_store_row_t *row)
{
    int                   i, rc;
    double                d;
    nd_str_t              s;
    nd_store_ns_t        *ns;
    nd_store_config_t    *c;
    nd_store_instance_t  *in;

    rc = ND_OK;

    switch (kind) {

    case ND_STORE_ROWS_COUNT:
        op->total = nd_store_col_int(row, 0);
        return ND_OK;

    case ND_STORE_ROWS_AFFECTED:
        op->affected++;
        return ND_OK;

    case ND_STORE_ROWS_WRITE:
        op->write_status = nd_store_col_int(row, 0);
        op->seq = nd_store_col_int(row, 1);
        op->config.id = nd_store_col_int(row, 2);
        if (op->write_status == 0) {
            op->config.gmt_create = nd_store_col_int(row, 3);
        }
        return ND_OK;

    case ND_STORE_ROWS_NS:
        ns = nd_array_push(&op->rows);
        if (ns == NULL) {
            return ND_ERROR;
        }
        memset(ns, 0, sizeof(*ns));
        rc |= nd_store_col_str(op, row, 0, &ns->id);
        rc |= nd_store_col_str(op, row, 1, &ns->name);
        rc |= nd_store_col_str(op, row, 2, &ns->desc);
        rc |= nd_store_col_str(op, row, 3, &ns->source);
        ns->gmt_create = nd_store_col_int(row, 4);
        ns->gmt_modified = nd_store_col_int(row, 5);
        return rc ? ND_ERROR : ND_OK;

    case ND_STORE_ROWS_INSTANCE:
        in = nd_array_push(&op->rows);
        if (in == NULL) {
            return ND_ERROR;
        }
        memset(in, 0, sizeof(*in));
        rc |= nd_store_col_str(op, row, 0, &in->ns);
        rc |= nd_store_col_str(op, row, 1, &in->group);
        rc |= nd_store_col_str(op, row, 2, &in->service);
        rc |= nd_store_col_str(op, row, 3, &in->cluster);
        rc |= nd_store_col_str(op, row, 4, &in->ip);
        in->port = nd_store_col_int(row, 5);
        row->get(row->ctx, 6, &s);
        d = 0;
        if (s.data && s.len < 64) {
            char  buf[64];

            memcpy(buf, s.data, s.len);
            buf[s.len] = '\0';
            d = strtod(buf, NULL);
        }
        in->weight = d;
        in->healthy = nd_store_col_bool(row, 7);
        in->enabled = nd_store_col_bool(row, 8);
        rc |= nd_store_col_str(op, row, 9, &in->metadata);
        in->gmt_modified = nd_store_col_int(row, 10);
        return rc ? ND_ERROR : ND_OK;

    default:
        break;
    }

    c = nd_array_push(&op->rows);
    if (c == NULL) {
        return ND_ERROR;
    }
    memset(c, 0, sizeof(*c));

    if (kind == ND_STORE_ROWS_DELETED) {
        c->seq = nd_store_col_int(row, 0);
        rc |= nd_store_col_str(op, row, 1, &c->data_id);
        rc |= nd_store_col_str(op, row, 2, &c->group);
        rc |= nd_store_col_str(op, row, 3, &c->tenant);
        rc |= nd_store_col_str(op, row, 4, &c->gray_name);
        nd_str_set(&c->op_type, "D");
        c->deleted = 1;
        return rc ? ND_ERROR : ND_OK;
    }

    if (kind == ND_STORE_ROWS_HISTORY) {
        /* id nid data_id group_id tenant_id content md5 gmt_create
         * gmt_modified src_user src_ip app_name op_type
         * encrypted_data_key change_seq */
        c->id = nd_store_col_int(row, 0);
        c->nid = nd_store_col_int(row, 1);
        rc |= nd_store_col_str(op, row, 2, &c->data_id);
        rc |= nd_store_col_str(op, row, 3, &c->group);
        rc |= nd_store_col_str(op, row, 4, &c->tenant);
        rc |= nd_store_col_str(op, row, 5, &c->content);
        rc |= nd_store_col_str(op, row, 6, &c->md5);
        c->gmt_create = nd_store_col_int(row, 7);
        c->gmt_modified = nd_store_col_int(row, 8);
        rc |= nd_store_col_str(op, row, 9, &c->src_user);
        rc |= nd_store_col_str(op, row, 10, &c->src_ip);
        rc |= nd_store_col_str(op, row, 11, &c->app_name);
        rc |= nd_store_col_str(op, row, 12, &c->op_type);
        rc |= nd_store_col_str(op, row, 13, &c->encrypted_data_key);
        c->seq = nd_store_col_int(row, 14);
        rc |= nd_store_col_str(op, row, 15, &c->gray_name);
        rc |= nd_store_col_str(op, row, 16, &c->ext_info);
        return rc ? ND_ERROR : ND_OK;
    }

    /* config: id data_id group_id tenant_id content md5 gmt_create
     * gmt_modified src_user src_ip app_name c_desc c_use effect type
     * c_schema encrypted_data_key change_seq tags gray_name gray_rule
     * (the last two NULL for formal rows) */
    {
        nd_str_t  *f[] = {
            NULL, &c->data_id, &c->group, &c->tenant, &c->content, &c->md5,
            NULL, NULL, &c->src_user, &c->src_ip, &c->app_name, &c->desc,
            &c->use, &c->effect, &c->type, &c->schema,
            &c->encrypted_data_key, NULL, &c->tags, &c->gray_name,
            &c->gray_rule
        };

        for (i = 0; i < (int) nd_nelts(f); i++) {
            if (f[i]) {
                rc |= nd_store_col_str(op, row, i, f[i]);
            }
        }
    }

    c->id = nd_store_col_int(row, 0);
    c->gmt_create = nd_store_col_int(row, 6);
    c->gmt_modified = nd_store_col_int(row, 7);
    c->seq = nd_store_col_int(row, 17);
    nd_str_set(&c->op_type, "U");

    return rc ? ND_ERROR : ND_OK;
}

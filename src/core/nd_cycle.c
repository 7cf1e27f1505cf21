/*
 * The cycle and the core module (daemon, pid, error_log).
 */
#include <nd_core.h>

nd_cycle_t  *nd_cycle;

static void *nd_core_create_conf(nd_cycle_t *cycle);
static char *nd_core_init_conf(nd_cycle_t *cycle, void *conf);
static char *nd_core_error_log(nd_conf_t *cf, nd_command_t *cmd, void *conf);
static void nd_core_reload(nd_cycle_t *cycle, void *conf);

static nd_command_t  nd_core_commands[] = {

    { nd_string("daemon"),
      ND_MAIN_CONF | ND_CONF_FLAG,
      nd_conf_set_flag_slot, offsetof(nd_core_conf_t, daemon), NULL },

    { nd_string("pid"),
      ND_MAIN_CONF | ND_CONF_TAKE1,
      nd_conf_set_str_slot, offsetof(nd_core_conf_t, pid), NULL },

    { nd_string("error_log"),
      ND_MAIN_CONF | ND_CONF_TAKE12,
      nd_core_error_log, 0, NULL },

    nd_null_command
};

nd_module_t  nd_core_module = {
    .name = "core",
    .commands = nd_core_commands,
    .create_conf = nd_core_create_conf,
    .init_conf = nd_core_init_conf,
    .reload = nd_core_reload,
};


static void *
nd_core_create_conf(nd_cycle_t *cycle)
{
    nd_core_conf_t  *ccf;

    ccf = nd_pcalloc(cycle->pool, sizeof(nd_core_conf_t));
    if (ccf == NULL) {
        return NULL;
    }

    ccf->daemon = ND_CONF_UNSET;
    ccf->error_level = ND_CONF_UNSET_UINT;

    return ccf;
}


static char *
nd_core_error_log(nd_conf_t *cf, nd_command_t *cmd, void *conf)
{
    int              level;
    nd_str_t        *value;
    nd_core_conf_t  *ccf = conf;

    if (ccf->error_log.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    ccf->error_log.len = value[1].len;
    ccf->error_log.data = nd_pstrdup(cf->pool, &value[1]);
    if (ccf->error_log.data == NULL) {
        return ND_CONF_ERROR;
    }

    if (cf->args->nelts == 3) {
        level = nd_log_level_parse((char *) value[2].data, value[2].len);
        if (level < 0) {
            nd_conf_error(cf, 0, "invalid log level \"%.*s\"",
                          ND_STR_ARG(value[2]));
            return ND_CONF_ERROR;
        }
        ccf->error_level = (nd_uint_t) level;
    }

    if (nd_str_eq(&ccf->error_log, "stderr")) {
        ccf->error_log_path = NULL;
    } else {
        ccf->error_log_path = nd_conf_full_name(cf, &ccf->error_log, 0);
        if (ccf->error_log_path == NULL) {
            return ND_CONF_ERROR;
        }
    }

    return ND_CONF_OK;
}


static char *
nd_core_init_conf(nd_cycle_t *cycle, void *conf)
{
    nd_conf_t        cf;
    nd_core_conf_t  *ccf = conf;

    memset(&cf, 0, sizeof(cf));
    cf.cycle = cycle;
    cf.pool = cycle->pool;

    nd_conf_init_value(ccf->daemon, 0);
    nd_conf_init_uint_value(ccf->error_level, ND_LOG_NOTICE);
    nd_conf_init_str_value(ccf->pid, "logs/nacosd.pid");

    if (ccf->error_log.data == NULL) {
        nd_str_set(&ccf->error_log, "logs/error.log");
        ccf->error_log_path = nd_conf_full_name(&cf, &ccf->error_log, 0);
    }

    ccf->pid_path = nd_conf_full_name(&cf, &ccf->pid, 0);

    if (ccf->pid_path == NULL
        || (ccf->error_log_path == NULL
            && !nd_str_eq(&ccf->error_log, "stderr")))
    {
        return ND_CONF_ERROR;
    }

    return ND_CONF_OK;
}


static void
nd_core_reload(nd_cycle_t *cycle, void *conf)
{
    nd_core_conf_t  *ccf, *ncf = conf;

    ccf = nd_get_conf(cycle, nd_core_module);

    if (ncf->error_level != ccf->error_level) {
        nd_log_error(ND_LOG_NOTICE, cycle->log, 0, "error_log level %s -> %s",
                     nd_log_level_name(ccf->error_level),
                     nd_log_level_name(ncf->error_level));
        ccf->error_level = ncf->error_level;
        cycle->error_log.level = ncf->error_level;
    }
}


nd_cycle_t *
nd_cycle_create(const char *prefix, const char *conf_file,
    const char *conf_param)
{
    size_t       len, clen;
    nd_pool_t   *pool;
    nd_cycle_t  *cycle;
    char        *p, cwd[PATH_MAX];

    pool = nd_create_pool(16384, nd_log_default());
    if (pool == NULL) {
        return NULL;
    }

    cycle = nd_pcalloc(pool, sizeof(nd_cycle_t));
    if (cycle == NULL) {
        nd_destroy_pool(pool);
        return NULL;
    }

    cycle->pool = pool;
    cycle->error_file.fd = STDERR_FILENO;
    cycle->error_log.level = ND_LOG_NOTICE;
    cycle->error_log.file = &cycle->error_file;
    cycle->log = &cycle->error_log;
    cycle->start_msec = nd_time_monotonic_msec();
    nd_queue_init(&cycle->connections);

    if (nd_array_init(&cycle->listening, pool, 4, sizeof(nd_listening_t *))
        != ND_OK
        || nd_array_init(&cycle->log_files, pool, 4, sizeof(nd_log_file_t *))
           != ND_OK)
    {
        nd_destroy_pool(pool);
        return NULL;
    }

    /* prefix is absolute and always ends with '/' */
    len = strlen(prefix);
    cwd[0] = '\0';
    if (prefix[0] != '/' && getcwd(cwd, sizeof(cwd)) == NULL) {
        nd_log_stderr(errno, "getcwd() failed");
        nd_destroy_pool(pool);
        return NULL;
    }
    clen = strlen(cwd);
    p = nd_pnalloc(pool, clen + len + 3);
    memcpy(p, cwd, clen);
    if (clen) {
        p[clen++] = '/';
    }
    memcpy(p + clen, prefix, len);
    len += clen;
    if (p[len - 1] != '/') {
        p[len++] = '/';
    }
    p[len] = '\0';
    cycle->prefix.data = (u_char *) p;
    cycle->prefix.len = len;

    if (conf_file[0] == '/') {
        cycle->conf_file.len = strlen(conf_file);
        cycle->conf_file.data = (u_char *) conf_file;
    } else {
        len = strlen(conf_file);
        p = nd_pnalloc(pool, cycle->prefix.len + len + 1);
        memcpy(p, cycle->prefix.data, cycle->prefix.len);
        memcpy(p + cycle->prefix.len, conf_file, len + 1);
        cycle->conf_file.data = (u_char *) p;
        cycle->conf_file.len = cycle->prefix.len + len;
    }

    if (conf_param) {
        cycle->conf_param.len = strlen(conf_param);
        cycle->conf_param.data = (u_char *) conf_param;
    }

    for (cycle->modules_n = 0; nd_modules[cycle->modules_n];
         cycle->modules_n++)
    {
        nd_modules[cycle->modules_n]->index = cycle->modules_n;
    }

    cycle->module_pending = nd_pcalloc(pool, cycle->modules_n);
    if (cycle->module_pending == NULL) {
        nd_destroy_pool(pool);
        return NULL;
    }

    nd_cycle = cycle;

    return cycle;
}


nd_int_t
nd_cycle_load_conf(nd_cycle_t *cycle, nd_pool_t *pool, void ***ctxp,
    int reloading)
{
    char         *rv;
    void        **ctx;
    nd_uint_t     i, params;
    nd_conf_t     cf;
    nd_pool_t    *saved;
    nd_module_t  *m;

    /* modules allocate their conf from cycle->pool: point it at the pool
     * the new conf lives in for the duration */
    saved = cycle->pool;
    cycle->pool = pool;
    cycle->reloading = reloading;

    ctx = nd_pcalloc(pool, cycle->modules_n * sizeof(void *));
    if (ctx == NULL) {
        goto failed;
    }

    for (i = 0; nd_modules[i]; i++) {
        m = nd_modules[i];
        if (m->create_conf) {
            ctx[i] = m->create_conf(cycle);
            if (ctx[i] == NULL) {
                goto failed;
            }
        }
    }

    memset(&cf, 0, sizeof(cf));
    cf.cycle = cycle;
    cf.pool = pool;
    cf.conf_ctx = ctx;
    cf.reloading = reloading;
    cf.args = nd_array_create(pool, ND_CONF_MAX_ARGS + 2, sizeof(nd_str_t));
    if (cf.args == NULL) {
        goto failed;
    }

    if (cycle->conf_param.len) {
        if (nd_conf_parse_param(&cf, &cycle->conf_param) != ND_CONF_OK) {
            goto failed;
        }
    }

    params = cf.directives;         /* -g's, not the file's */

    if (nd_conf_parse_file(&cf, &cycle->conf_file) != ND_CONF_OK) {
        goto failed;
    }

    if (reloading && cf.directives == params) {
        /* an emptied file (a half-done edit, a bad deploy) would turn
         * every setting back to its default: keep what runs */
        nd_log_error(ND_LOG_EMERG, cycle->log, 0,
                     "%.*s has no directive", ND_STR_ARG(cycle->conf_file));
        goto failed;
    }

    /* init_conf sees the new ctx through cycle->conf_ctx */
    {
        void  **live = cycle->conf_ctx;

        cycle->conf_ctx = ctx;

        for (i = 0; nd_modules[i]; i++) {
            m = nd_modules[i];
            if (m->init_conf && ctx[i]) {
                rv = m->init_conf(cycle, ctx[i]);
                if (rv != ND_CONF_OK) {
                    if (rv != ND_CONF_ERROR) {
                        if (reloading) {
                            nd_log_error(ND_LOG_EMERG, cycle->log, 0,
                                         "%s in %.*s", rv,
                                         ND_STR_ARG(cycle->conf_file));
                        } else {
                            nd_log_stderr(0, "%s in %.*s", rv,
                                          ND_STR_ARG(cycle->conf_file));
                        }
                    }
                    cycle->conf_ctx = live;
                    goto failed;
                }
            }
        }

        if (reloading) {
            cycle->conf_ctx = live;
        }
    }

    cycle->pool = saved;
    cycle->reloading = 0;
    *ctxp = ctx;

    return ND_OK;

failed:

    cycle->pool = saved;
    cycle->reloading = 0;
    return ND_ERROR;
}


nd_int_t
nd_cycle_open_logs(nd_cycle_t *cycle)
{
    nd_core_conf_t  *ccf;

    ccf = nd_get_conf(cycle, nd_core_module);

    cycle->error_log.level = ccf->error_level;

    if (ccf->error_log_path == NULL) {
        return ND_OK;
    }

    if (nd_log_file_open(&cycle->error_file, ccf->error_log_path) != ND_OK) {
        nd_log_stderr(errno, "open() \"%s\" failed", ccf->error_log_path);
        return ND_ERROR;
    }

    cycle->error_file.path = ccf->error_log_path;

    return ND_OK;
}


void
nd_cycle_stop(nd_cycle_t *cycle)
{
    nd_int_t  i;

    if (cycle->stopping) {
        nd_log_error(ND_LOG_NOTICE, cycle->log, 0, "stopping now");
        ev_break(cycle->loop, EVBREAK_ALL);
        return;
    }

    cycle->stopping = 1;

    for (i = (nd_int_t) cycle->modules_n - 1; i >= 0; i--) {
        if (nd_modules[i]->stop) {
            nd_modules[i]->stop(cycle);
        }
    }
}


void
nd_cycle_reload(nd_cycle_t *cycle)
{
    void       **ctx;
    nd_uint_t    i;
    nd_pool_t   *pool;

    pool = nd_create_pool(16384, cycle->log);
    if (pool == NULL) {
        return;
    }

    if (nd_cycle_load_conf(cycle, pool, &ctx, 1) != ND_OK) {
        nd_log_error(ND_LOG_ERR, cycle->log, 0,
                     "reload failed, the configuration in use is kept");
        nd_destroy_pool(pool);
        return;
    }

    for (i = 0; nd_modules[i]; i++) {
        if (nd_modules[i]->reload && ctx[i]) {
            nd_modules[i]->reload(cycle, ctx[i]);
        }
    }

    nd_destroy_pool(pool);

    nd_cycle_reopen_logs(cycle);
    nd_log_error(ND_LOG_NOTICE, cycle->log, 0, "configuration reloaded");
}


void
nd_cycle_reopen_logs(nd_cycle_t *cycle)
{
    nd_uint_t        i;
    nd_log_file_t  **files;

    if (nd_log_file_reopen(&cycle->error_file) != ND_OK) {
        nd_log_error(ND_LOG_CRIT, cycle->log, errno,
                     "reopen of \"%s\" failed", cycle->error_file.path);
    }

    files = cycle->log_files.elts;
    for (i = 0; i < cycle->log_files.nelts; i++) {
        if (nd_log_file_reopen(files[i]) != ND_OK) {
            nd_log_error(ND_LOG_CRIT, cycle->log, errno,
                         "reopen of \"%s\" failed", files[i]->path);
        }
    }
}


nd_int_t
nd_cycle_add_log_file(nd_cycle_t *cycle, nd_log_file_t *file)
{
    nd_log_file_t  **f;

    f = nd_array_push(&cycle->log_files);
    if (f == NULL) {
        return ND_ERROR;
    }

    *f = file;
    return ND_OK;
}


pid_t
nd_cycle_read_pid(nd_cycle_t *cycle)
{
    int              fd;
    char             buf[32];
    ssize_t          n;
    nd_int_t         pid;
    nd_core_conf_t  *ccf;

    ccf = nd_get_conf(cycle, nd_core_module);

    fd = open(ccf->pid_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        nd_log_stderr(errno, "open() \"%s\" failed", ccf->pid_path);
        return -1;
    }

    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);

    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) {
        n--;
    }

    pid = n > 0 ? nd_atoi((u_char *) buf, (size_t) n) : ND_ERROR;
    if (pid <= 0) {
        nd_log_stderr(0, "invalid PID number \"%.*s\" in \"%s\"",
                      (int) (n > 0 ? n : 0), buf, ccf->pid_path);
        return -1;
    }

    return (pid_t) pid;
}


void
nd_module_pending(nd_cycle_t *cycle, nd_module_t *m)
{
    cycle->module_pending[m->index] = 1;
}


void
nd_module_ready(nd_cycle_t *cycle, nd_module_t *m)
{
    if (cycle->module_pending[m->index]) {
        cycle->module_pending[m->index] = 0;
        nd_log_error(ND_LOG_INFO, cycle->log, 0, "module %s is ready",
                     m->name);
    }
}


int
nd_modules_ready(nd_cycle_t *cycle)
{
    nd_uint_t  i;

    for (i = 0; i < cycle->modules_n; i++) {
        if (cycle->module_pending[i]) {
            return 0;
        }
    }

    return 1;
}


void
nd_cycle_destroy(nd_cycle_t *cycle)
{
    if (cycle->error_file.fd > STDERR_FILENO) {
        close(cycle->error_file.fd);
        cycle->error_file.fd = STDERR_FILENO;
    }

    nd_destroy_pool(cycle->pool);

    if (nd_cycle == cycle) {
        nd_cycle = NULL;
    }
}

/*
 * nacosd: command line, start-up and the main loop.
 */
#include <nd_core.h>

typedef struct {
    const char  *prefix;
    const char  *conf_file;
    const char  *conf_param;
    const char  *signal;
    unsigned     test:1;
    unsigned     dump:1;
    unsigned     version:1;
    unsigned     help:1;
} nd_options_t;

static nd_int_t nd_get_options(int argc, char *const *argv, nd_options_t *o);
static void nd_show_version(void);
static void nd_show_help(void);
static nd_int_t nd_signal_process(nd_cycle_t *cycle, const char *name);
static nd_int_t nd_daemonize(void);
static nd_int_t nd_write_pid(nd_cycle_t *cycle);
static nd_int_t nd_dump_conf(nd_cycle_t *cycle);


int
main(int argc, char *const *argv)
{
    int              rc;
    nd_int_t         i;
    nd_cycle_t      *cycle;
    nd_options_t     o;
    nd_core_conf_t  *ccf;

    memset(&o, 0, sizeof(o));

    if (nd_get_options(argc, argv, &o) != ND_OK) {
        return 1;
    }

    if (o.help) {
        nd_show_help();
        return 0;
    }

    if (o.version) {
        nd_show_version();
        return 0;
    }

    nd_time_update();

    if (nd_hash_seed() != ND_OK) {
        nd_log_stderr(0, "could not draw the hash key: RAND_bytes() failed");
        return 1;
    }

    cycle = nd_cycle_create(o.prefix ? o.prefix : ND_PREFIX,
                            o.conf_file ? o.conf_file : ND_CONF_PATH,
                            o.conf_param);
    if (cycle == NULL) {
        return 1;
    }

    if (nd_cycle_load_conf(cycle, cycle->pool, &cycle->conf_ctx, 0)
        != ND_OK)
    {
        if (o.test) {
            fprintf(stderr, "nacosd: configuration file %.*s test failed\n",
                    ND_STR_ARG(cycle->conf_file));
        }
        nd_cycle_destroy(cycle);
        return 1;
    }

    if (o.test || o.dump) {
        fprintf(stderr, "nacosd: the configuration file %.*s syntax is ok\n"
                "nacosd: configuration file %.*s test is successful\n",
                ND_STR_ARG(cycle->conf_file), ND_STR_ARG(cycle->conf_file));
        rc = o.dump ? nd_dump_conf(cycle) : ND_OK;
        nd_cycle_destroy(cycle);
        return rc == ND_OK ? 0 : 1;
    }

    if (o.signal) {
        rc = nd_signal_process(cycle, o.signal);
        nd_cycle_destroy(cycle);
        return rc == ND_OK ? 0 : 1;
    }

    if (nd_cycle_open_logs(cycle) != ND_OK) {
        nd_cycle_destroy(cycle);
        return 1;
    }

    signal(SIGPIPE, SIG_IGN);

    ccf = nd_get_conf(cycle, nd_core_module);

    if (ccf->daemon && nd_daemonize() != ND_OK) {
        nd_cycle_destroy(cycle);
        return 1;
    }

    cycle->loop = ev_default_loop(EVFLAG_AUTO);
    if (cycle->loop == NULL) {
        nd_log_stderr(0, "could not initialise the event loop");
        nd_cycle_destroy(cycle);
        return 1;
    }

    if (nd_listening_open_all(cycle) != ND_OK) {
        goto failed;
    }

    for (i = 0; nd_modules[i]; i++) {
        if (nd_modules[i]->init_module
            && nd_modules[i]->init_module(cycle) != ND_OK)
        {
            nd_log_stderr(0, "module \"%s\" failed to initialise",
                          nd_modules[i]->name);
            goto failed;
        }
    }

    for (i = 0; nd_modules[i]; i++) {
        if (nd_modules[i]->start && nd_modules[i]->start(cycle) != ND_OK) {
            nd_log_stderr(0, "module \"%s\" failed to start",
                          nd_modules[i]->name);
            goto failed;
        }
    }

    if (nd_write_pid(cycle) != ND_OK) {
        goto failed;
    }

    nd_log_error(ND_LOG_NOTICE, cycle->log, 0, "%s started, pid %d",
                 ND_VER, (int) getpid());

    ev_run(cycle->loop, 0);

    nd_log_error(ND_LOG_NOTICE, cycle->log, 0, "exiting");
    rc = 0;
    goto done;

failed:

    rc = 1;

done:

    for (i = (nd_int_t) cycle->modules_n - 1; i >= 0; i--) {
        if (nd_modules[i]->exit) {
            nd_modules[i]->exit(cycle);
        }
    }

    if (rc == 0) {
        unlink(((nd_core_conf_t *) nd_get_conf(cycle, nd_core_module))
               ->pid_path);
    }

    ev_loop_destroy(cycle->loop);
    nd_cycle_destroy(cycle);

    return rc;
}


static nd_int_t
nd_get_options(int argc, char *const *argv, nd_options_t *o)
{
    int          i;
    const char  *p, **target;

    for (i = 1; i < argc; i++) {
        p = argv[i];

        if (p[0] != '-' || p[1] == '\0' || p[2] != '\0') {
            fprintf(stderr, "nacosd: invalid option: \"%s\"\n", p);
            return ND_ERROR;
        }

        target = NULL;

        switch (p[1]) {
        case 'h': case '?': o->help = 1; continue;
        case 'V': case 'v': o->version = 1; continue;
        case 't': o->test = 1; continue;
        case 'T': o->test = 1; o->dump = 1; continue;
        case 'p': target = &o->prefix; break;
        case 'c': target = &o->conf_file; break;
        case 'g': target = &o->conf_param; break;
        case 's': target = &o->signal; break;
        default:
            fprintf(stderr, "nacosd: invalid option: \"%s\"\n", p);
            return ND_ERROR;
        }

        if (++i >= argc || argv[i][0] == '\0') {
            fprintf(stderr, "nacosd: option \"%s\" requires %s\n", p,
                    p[1] == 'p' ? "directory name"
                    : p[1] == 'c' ? "file name"
                    : p[1] == 's' ? "parameter" : "directives");
            return ND_ERROR;
        }

        *target = argv[i];
    }

    if (o->signal && strcmp(o->signal, "stop") != 0
        && strcmp(o->signal, "reload") != 0
        && strcmp(o->signal, "reopen") != 0)
    {
        fprintf(stderr, "nacosd: invalid option: \"-s %s\"\n", o->signal);
        return ND_ERROR;
    }

    return ND_OK;
}


static void
nd_show_version(void)
{
    nd_uint_t  i;

    fprintf(stderr, "nacosd version: %s (Nacos %s compatible)\n", ND_VER,
            ND_NACOS_VERSION);
    fprintf(stderr, "configure arguments:%s%s\n",
            ND_CONFIGURE[0] ? " " : "", ND_CONFIGURE);
    fprintf(stderr, "modules:");
    for (i = 0; nd_module_names[i]; i++) {
        fprintf(stderr, " %s", nd_module_names[i]);
    }
    fprintf(stderr, "\n");
}


static void
nd_show_help(void)
{
    fprintf(stderr,
        "nacosd version: %s\n"
        "Usage: nacosd [-?hVtT] [-s signal] [-p prefix] [-c filename]"
        " [-g directives]\n\n"
        "Options:\n"
        "  -?,-h         : this help\n"
        "  -V            : show version, configure arguments and modules\n"
        "  -t            : test configuration and exit\n"
        "  -T            : test configuration, dump it and exit\n"
        "  -s signal     : send signal to the running process: "
        "stop, reload, reopen\n"
        "  -p prefix     : set prefix path (default: %s)\n"
        "  -c filename   : set configuration file (default: %s)\n"
        "  -g directives : set global directives out of the configuration "
        "file\n", ND_VER, ND_PREFIX, ND_CONF_PATH);
}


static nd_int_t
nd_signal_process(nd_cycle_t *cycle, const char *name)
{
    int    sig;
    pid_t  pid;

    sig = strcmp(name, "stop") == 0 ? SIGTERM
          : strcmp(name, "reload") == 0 ? SIGHUP : SIGUSR1;

    pid = nd_cycle_read_pid(cycle);
    if (pid == -1) {
        return ND_ERROR;
    }

    if (kill(pid, sig) != 0) {
        nd_log_stderr(errno, "kill(%d, %d) failed", (int) pid, sig);
        return ND_ERROR;
    }

    return ND_OK;
}


static nd_int_t
nd_daemonize(void)
{
    int  fd;

    switch (fork()) {
    case -1:
        nd_log_stderr(errno, "fork() failed");
        return ND_ERROR;
    case 0:
        break;
    default:
        _exit(0);
    }

    if (setsid() == -1) {
        nd_log_stderr(errno, "setsid() failed");
        return ND_ERROR;
    }

    umask(0);

    fd = open("/dev/null", O_RDWR);
    if (fd == -1) {
        nd_log_stderr(errno, "open(\"/dev/null\") failed");
        return ND_ERROR;
    }

    dup2(fd, STDIN_FILENO);
    dup2(fd, STDOUT_FILENO);
    if (fd > STDERR_FILENO) {
        close(fd);
    }

    return ND_OK;
}


static nd_int_t
nd_write_pid(nd_cycle_t *cycle)
{
    int              fd;
    char             buf[32];
    int              n;
    nd_core_conf_t  *ccf;

    ccf = nd_get_conf(cycle, nd_core_module);

    fd = open(ccf->pid_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd == -1 && errno == ENOENT
        && nd_create_parent_dir(ccf->pid_path) == ND_OK)
    {
        fd = open(ccf->pid_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                  0644);
    }
    if (fd < 0) {
        nd_log_stderr(errno, "open() \"%s\" failed", ccf->pid_path);
        return ND_ERROR;
    }

    n = snprintf(buf, sizeof(buf), "%d\n", (int) getpid());
    if (write(fd, buf, (size_t) n) != n) {
        nd_log_stderr(errno, "write() \"%s\" failed", ccf->pid_path);
        close(fd);
        return ND_ERROR;
    }

    close(fd);
    return ND_OK;
}


static nd_int_t
nd_dump_conf(nd_cycle_t *cycle)
{
    int      fd;
    char     buf[8192];
    ssize_t  n;

    fd = open((char *) cycle->conf_file.data, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return ND_ERROR;
    }

    printf("# configuration file %.*s:\n", ND_STR_ARG(cycle->conf_file));
    fflush(stdout);

    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        if (write(STDOUT_FILENO, buf, (size_t) n) != n) {
            break;
        }
    }

    close(fd);
    return ND_OK;
}

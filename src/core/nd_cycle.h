/*
 * The cycle: configuration, loop, listeners and connections of one run.
 */
#ifndef ND_CYCLE_H
#define ND_CYCLE_H

#include <nd_config.h>

struct nd_cycle_s {
    void              **conf_ctx;       /* one conf per module */
    nd_pool_t          *pool;
    nd_log_t           *log;            /* the error log */
    nd_log_t            error_log;
    nd_log_file_t       error_file;
    struct ev_loop     *loop;

    nd_array_t          listening;      /* nd_listening_t * */
    nd_array_t          log_files;      /* nd_log_file_t *, reopened */
    nd_queue_t          connections;    /* every open nd_connection_t */
    nd_uint_t           connection_n;   /* open connections */
    nd_uint_t           connection_seq; /* numbering for logs */
    nd_uint_t           busy;           /* work that delays a graceful exit */
    struct nd_metrics_s *metrics;       /* the registry (nd_metrics.c) */

    nd_str_t            prefix;         /* ends with '/' */
    nd_str_t            conf_file;      /* absolute */
    nd_str_t            conf_param;     /* -g */

    nd_uint_t           modules_n;
    u_char             *module_pending; /* per module: not ready yet */

    nd_msec_t           start_msec;
    unsigned            stopping:1;
    unsigned            reloading:1;
    unsigned            test_config:1;
};

typedef struct {
    nd_flag_t           daemon;
    nd_str_t            pid;
    nd_str_t            error_log;
    nd_uint_t           error_level;
    char               *pid_path;       /* resolved */
    char               *error_log_path; /* resolved, NULL = stderr */
} nd_core_conf_t;

extern nd_module_t   nd_core_module;
extern nd_cycle_t   *nd_cycle;        /* the running cycle */

nd_cycle_t *nd_cycle_create(const char *prefix, const char *conf_file,
    const char *conf_param);
/* create_conf for every module, parse, init_conf; ND_OK/ND_ERROR */
nd_int_t nd_cycle_load_conf(nd_cycle_t *cycle, nd_pool_t *pool, void ***ctx,
    int reloading);
nd_int_t nd_cycle_open_logs(nd_cycle_t *cycle);
int nd_cycle_run(nd_cycle_t *cycle);
void nd_cycle_stop(nd_cycle_t *cycle);
void nd_cycle_reload(nd_cycle_t *cycle);
void nd_cycle_reopen_logs(nd_cycle_t *cycle);
/* files reopened by SIGUSR1 and SIGHUP besides the error log */
nd_int_t nd_cycle_add_log_file(nd_cycle_t *cycle, nd_log_file_t *file);
void nd_cycle_destroy(nd_cycle_t *cycle);
/* pid in the pid file, or -1 */
pid_t nd_cycle_read_pid(nd_cycle_t *cycle);

#endif /* ND_CYCLE_H */

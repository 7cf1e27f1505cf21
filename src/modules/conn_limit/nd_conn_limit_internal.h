/*
 * conn_limit module internals.
 */
#ifndef ND_CONN_LIMIT_INTERNAL_H
#define ND_CONN_LIMIT_INTERNAL_H

#include <nd_core.h>
#include <nd_grpc.h>
#include <nd_http.h>
#include <nd_cluster.h>
#include <nd_conn_limit_rule.h>

typedef struct {
    nd_str_t               rule_file;
    char                  *rule_path;         /* resolved (heap once
                                                 initialized) */
    unsigned               initialized:1;
    nd_msec_t              check_interval;    /* expel over the limits */
    nd_msec_t              reset_timeout;     /* go, or be closed */
    nd_msec_t              watch_interval;    /* the rule file's stat */
    nd_int_t               rebalance;         /* flag */
    nd_uint_t              rebalance_factor;  /* percent */
    nd_msec_t              rebalance_interval;
    nd_msec_t              rebalance_delay;   /* after start */
    nd_int_t               rebalance_batch;   /* resets per interval */

    /* runtime */
    nd_conn_limit_rule_t   rule;
    nd_hash_t              per_ip;            /* ip -> count */
    nd_hash_t              per_app;           /* app -> count */
    nd_hash_t              resets;            /* conn id -> deadline */
    nd_hash_t              pending;           /* member -> redirected */
    nd_uint_t              total;             /* SDK connections and
                                                 held long polls */
    nd_uint_t              polls;             /* held long polls */
    nd_timer_t             check;
    nd_timer_t             rebalance_timer;
    ev_stat                watch;
    nd_msec_t              started;           /* monotonic */
    nd_uint_t              over_streak;       /* intervals over */
    uint64_t               over_since;        /* wall msec it began */

    /* counters */
    nd_uint_t              refused_count;
    nd_uint_t              refused_ip;
    nd_uint_t              refused_app;
    nd_uint_t              refused_polls;
    nd_uint_t              expelled;
    nd_uint_t              closed;
    nd_uint_t              rebalanced;
    nd_uint_t              reloads;
    nd_uint_t              reload_errors;
} nd_conn_limit_conf_t;

extern nd_module_t  nd_conn_limit_module;

#define nd_conn_limit_conf(cycle)                                             \
    ((nd_conn_limit_conf_t *) nd_get_conf(cycle, nd_conn_limit_module))

/* nd_conn_limit_module.c */
nd_int_t nd_conn_limit_load(nd_conn_limit_conf_t *lcf, const u_char *data,
    size_t len, const char *from, nd_log_t *log, int level);
/* send ConnectResetRequest (redirect "ip:port" or NULL) and close the
 * connection if it is still here after reset_timeout */
void nd_conn_limit_expel(nd_conn_limit_conf_t *lcf, nd_grpc_conn_t *conn,
    const char *redirect);
/* expel n SDK connections, the oldest first (none younger than
 * min_age), redirected; returns how many were told */
nd_uint_t nd_conn_limit_move(nd_conn_limit_conf_t *lcf, nd_uint_t n,
    const char *redirect, nd_msec_t min_age);
/* SDK connections not yet told to go */
nd_uint_t nd_conn_limit_movable(nd_conn_limit_conf_t *lcf);
int nd_conn_limit_is_sdk(nd_grpc_conn_t *conn);

/* nd_conn_limit_loader.c */
nd_int_t nd_conn_limit_loader_init(nd_cycle_t *cycle);
void nd_conn_limit_rebalance_handler(nd_timer_t *t);
/* the UP member with the fewest SDK connections, not this node */
nd_member_t *nd_conn_limit_least_loaded(nd_conn_limit_conf_t *lcf);

#endif /* ND_CONN_LIMIT_INTERNAL_H */

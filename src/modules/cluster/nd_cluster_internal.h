/*
 * cluster module internals.
 */
#ifndef ND_CLUSTER_INTERNAL_H
#define ND_CLUSTER_INTERNAL_H

#include <nd_cluster.h>
#include <nd_http.h>

#define ND_CLUSTER_DEFAULT_PORT  8848     /* cluster.conf: "ip" alone */
#define ND_CLUSTER_RPC_OFFSET    1001     /* cluster RPC = HTTP + 1001 */

/* a member as the conf names it */
typedef struct {
    nd_addr_t            addr;
    nd_addr_t            rpc;
    unsigned             has_rpc:1;
} nd_cluster_member_conf_t;

typedef struct {
    nd_array_t          *conf_members;      /* nd_cluster_member_conf_t */
    nd_addr_t           *self_addr;
    nd_addr_t           *listen;
    nd_ssl_conf_t        ssl;               /* the port, and dialling */
    nd_msec_t            report_interval;
    nd_msec_t            unhealthy_interval;
    nd_msec_t            call_timeout;
    nd_str_t             identity;          /* server_identity_file */
    char                *block_file;        /* the cluster block, for */
    nd_uint_t            block_line;        /* errors found at the end */

    /* runtime */
    nd_array_t           members;           /* nd_member_t *, sorted */
    nd_member_t         *self;
    nd_uint_t            next;              /* round robin of reports */
    nd_timer_t           report;
    nd_timer_t           unhealthy;
    nd_timer_t           drain;             /* the stop's bound on holds */
    nd_uint_t            holds;             /* nd_cluster_hold() */
    unsigned             configured:1;      /* a cluster block was given */
    unsigned             started:1;
    unsigned             stopping:1;        /* peers go at the last release */
} nd_cluster_conf_t;

#define nd_cluster_conf(cycle)                                                \
    ((nd_cluster_conf_t *) nd_get_conf(cycle, nd_cluster_module))

/* nd_cluster_module.c */
nd_member_t *nd_cluster_member_create(nd_cluster_conf_t *ccf,
    const nd_cluster_member_conf_t *mc, const nd_addr_t *self);
void nd_cluster_member_free(nd_member_t *m);

/* nd_cluster_member.c: health */
nd_int_t nd_cluster_member_init(nd_cycle_t *cycle);
void nd_cluster_peer_open(nd_cluster_conf_t *ccf, nd_member_t *m);
void nd_cluster_report_all(nd_cluster_conf_t *ccf);
void nd_cluster_report_timer(nd_timer_t *t);
void nd_cluster_unhealthy_timer(nd_timer_t *t);
void nd_cluster_members_changed(nd_cluster_conf_t *ccf);
/* a member's own report (node JSON) reached us: it is UP; NULL when the
 * address is not a member */
nd_member_t *nd_cluster_reported(nd_cluster_conf_t *ccf, json_t *node);
json_t *nd_cluster_member_json(nd_member_t *m);

/* nd_cluster_http.c */
nd_int_t nd_cluster_http_init(nd_cycle_t *cycle);

#endif /* ND_CLUSTER_INTERNAL_H */

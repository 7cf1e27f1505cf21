/*
 * Persistent instances: the state nd_naming_persist.c (writes, the load
 * at start) and nd_naming_persist_sync.c (the cluster's other writers)
 * share.
 */
#ifndef ND_NAMING_PERSIST_H
#define ND_NAMING_PERSIST_H

#include <nd_naming.h>
#include <nd_store.h>

#define ND_NAMING_PERSIST_RETRY_MIN   100
#define ND_NAMING_PERSIST_RETRY_MAX   2000

typedef enum {
    ND_NAMING_PW_REGISTER = 0,
    ND_NAMING_PW_DEREGISTER,
    ND_NAMING_PW_UPDATE
} nd_naming_pw_e;

typedef struct nd_naming_preq_s  nd_naming_preq_t;
typedef struct nd_naming_pw_s    nd_naming_pw_t;

/* one request's writes (HTTP or gRPC: its waiter answers) */
struct nd_naming_preq_s {
    nd_queue_t              link;           /* ps->reqs */
    nd_naming_waiter_t      w;              /* w.req NULL: the client is
                                               gone */
    json_t                 *updated;        /* batch answer, or NULL */
    nd_uint_t               pending;
    nd_uint_t               status;         /* first failure, 0: none */
    nd_int_t                code;           /* its v2 code */
    unsigned                async:1;
    char                    error[256];
};

/* one write of one instance */
struct nd_naming_pw_s {
    nd_queue_t              link;           /* ps->writes, arrival order */
    nd_naming_persist_t    *ps;
    nd_naming_preq_t       *preq;
    nd_store_op_t          *op;             /* in flight */
    nd_naming_change_t      ch;             /* update; ch.meta is a ref */
    nd_str_t                ns;             /* naming's id: "public" */
    nd_str_t                grouped;
    nd_str_t                ip;
    nd_str_t                cluster;        /* register: the new one;
                                               update: must match, or "" */
    nd_str_t                old_cluster;    /* register moved it */
    nd_uint_t               port;
    double                  weight;         /* register */
    char                   *meta_text;      /* register, or NULL */
    unsigned                kind:2;
    unsigned                started:1;      /* its key was free: it runs */
    unsigned                healthy:1;
    unsigned                enabled:1;
};

struct nd_naming_persist_s {
    nd_naming_conf_t       *nf;
    nd_queue_t              writes;
    nd_queue_t              reqs;
    nd_timer_t              load_timer;
    nd_store_op_t          *load_op;
    char                  **load_ns;        /* store ids; [0] = "" */
    nd_uint_t               load_n;
    nd_uint_t               load_next;      /* -1 (max): NS_LIST first */
    nd_uint_t               loaded_instances;
    nd_msec_t               load_delay;
    unsigned                loaded:1;
    unsigned                stopping:1;

    /* nd_naming_persist_sync.c */
    nd_timer_t              sync_timer;
    nd_store_op_t          *sync_op;
    int64_t                 sync_version;   /* read last; -1: none */
    nd_timer_t              sync_tell;      /* the other members, once a
                                               loop pass of commits */
    unsigned                sync_stale:1;   /* this round is not used */
    unsigned                sync_skipped:1; /* a touched key differed:
                                               read the table again */
    unsigned                sync_again:1;   /* told while in flight */
    nd_hash_t               sync_touched;   /* keys written here while
                                               sync_op was in flight */
};

nd_str_t nd_naming_persist_naming_ns(const nd_str_t *ns);
/* the ip:port#false client (create: made when missing) */
nd_naming_client_t *nd_naming_persist_client(nd_naming_conf_t *nf,
    const nd_str_t *ip, nd_uint_t port, int create);
int nd_naming_persist_cmp(const nd_str_t *a, const nd_str_t *b);
/* op's rows (nd_store_instance_t) by namespace, group, service, ip:port,
 * the newest row of an ip:port last; from op's pool, NULL on ENOMEM */
nd_store_instance_t **nd_naming_persist_rows_sorted(nd_store_op_t *op);
/* a newer row of the same ip:port in the same service follows sorted[i]
 * (one moved between clusters whose old row stayed): sorted[i] is stale */
int nd_naming_persist_row_superseded(nd_store_instance_t **sorted,
    nd_uint_t i, nd_uint_t n);
/* a stored row into memory (a new instance, or the new state of one) */
nd_int_t nd_naming_persist_apply(nd_naming_conf_t *nf, const nd_str_t *ns,
    const nd_str_t *grouped, const nd_store_instance_t *in);
/* the same, what failed logged ("naming: ... not <what>: ...") */
nd_int_t nd_naming_persist_apply_row(nd_naming_conf_t *nf,
    const nd_str_t *ns, const nd_str_t *grouped,
    const nd_store_instance_t *in, const char *what);
/* "group@@service" of a row, from pool */
nd_int_t nd_naming_persist_grouped(nd_pool_t *pool,
    const nd_store_instance_t *in, nd_str_t *grouped);

/* nd_naming_persist_sync.c: in a cluster, every persistent_sync the
 * instances other members wrote */
nd_int_t nd_naming_persist_sync_init(nd_naming_persist_t *ps);
void nd_naming_persist_sync_start(nd_naming_persist_t *ps);
void nd_naming_persist_sync_stop(nd_naming_persist_t *ps);
void nd_naming_persist_sync_exit(nd_naming_persist_t *ps);
/* a write of this node committed: tell the other members */
void nd_naming_persist_sync_written(nd_naming_persist_t *ps);
/* a write of this key ended here (the sync in flight keeps memory's
 * state of it) */
void nd_naming_persist_sync_touch(nd_naming_persist_t *ps,
    const nd_naming_pw_t *pw);

#endif /* ND_NAMING_PERSIST_H */

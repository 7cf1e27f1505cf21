/*
 * distro module internals: AP replication of ephemeral naming clients.
 *
 * DistroDataRequest bodies (JSON, "v": 1), on the cluster port only:
 *   {"op":"SYNC","items":[{"op":"CHANGE"|"ADD","client":CLIENT},
 *                         {"op":"DELETE","id":ID}]}   -> {}
 *   {"op":"VERIFY","clients":[[ID,REVISION],...]}      -> {"missing":[ID]}
 *   {"op":"SNAPSHOT","cursor":N}   -> {"ready":B,"clients":[CLIENT],
 *                                      "next":N|-1}
 * CLIENT: {"id","type","rev","age"?: ms since the owner renewed a synced
 *           copy (snapshots),"services":[{"ns","s","instances":[
 *           {"ip","port","cluster","weight","healthy","enabled",
 *            "md"?: metadata JSON text, "iid"?: instance id}]}]}
 */
#ifndef ND_DISTRO_H
#define ND_DISTRO_H

#include <nd_cluster.h>
#include <nd_naming.h>
#include <nd_http.h>

#define ND_DISTRO_VERSION       1
#define ND_DISTRO_TYPE          "DistroDataRequest"
#define ND_DISTRO_RESPONSE      "DistroDataResponse"

typedef enum {
    ND_DISTRO_CHANGE = 0,
    ND_DISTRO_ADD,
    ND_DISTRO_DELETE
} nd_distro_op_e;

/* one client to send to one peer; the client's state is read when the
 * batch is built, so a task only names it */
typedef struct {
    nd_queue_t           link;
    uint8_t              op;
    uint16_t             len;
    char                 id[];
} nd_distro_task_t;

typedef struct nd_distro_conf_s  nd_distro_conf_t;

/* what this node keeps for one peer */
typedef struct {
    nd_queue_t           link;          /* dcf->peers */
    nd_distro_conf_t    *dcf;
    char                 address[ND_SOCKADDR_STRLEN];
    nd_hash_t            pending;       /* client id -> task */
    nd_queue_t           tasks;         /* in order */
    nd_queue_t           inflight;      /* sent, not yet answered */
    nd_queue_t           drain;         /* stopping: batches written at
                                           the stop, to send in order */
    nd_posted_t          flush;
    nd_timer_t           retry;
    nd_msec_t            backoff;
    uint64_t             sent;          /* batches */
    uint64_t             failed;
    uint64_t             verify_missing;/* clients its verify lacked */
    unsigned             sending:1;
    unsigned             verifying:1;
    unsigned             gone:1;        /* removed while a call runs */
    unsigned             drain_hold:1;  /* the stop waits for its queue */
} nd_distro_peer_t;

struct nd_distro_conf_s {
    nd_msec_t            sync_delay;
    nd_msec_t            verify_interval;
    nd_msec_t            synced_expire;
    nd_msec_t            snapshot_wait;
    nd_uint_t            batch_max;     /* clients per message */

    /* runtime */
    nd_naming_conf_t    *nf;
    nd_queue_t           peers;
    nd_array_t           ring;          /* addresses of the UP and
                                           SUSPICIOUS members, sorted */
    nd_timer_t           verify;
    nd_timer_t           expire;
    nd_timer_t           snapshot;      /* retries and the deadline */
    nd_msec_t            snapshot_until;
    nd_uint_t            snapshot_next; /* peer index to ask */
    int64_t              snapshot_cursor;
    uint64_t             applied;       /* clients applied from peers */
    nd_uint_t            received[3];   /* SYNC, VERIFY, SNAPSHOT asked */
    nd_uint_t            drains;        /* peers with drain_hold */
    unsigned             enabled:1;     /* a cluster of 2+ */
    unsigned             loading:1;     /* snapshot not applied yet */
    unsigned             started:1;
    unsigned             draining:1;    /* stopping: queues go out now,
                                           the cluster and the cycle held */
};

extern nd_module_t  nd_distro_module;

#define nd_distro_conf(cycle)                                                 \
    ((nd_distro_conf_t *) nd_get_conf(cycle, nd_distro_module))

/* nd_distro_module.c: the member responsible for a 1.x client id or its
 * "ip:port"; NULL when this node is */
const char *nd_distro_owner(nd_distro_conf_t *dcf, const char *id,
    size_t len);

/* nd_distro_forward.c: the snapshot gates, 1.x writes to their owner */
nd_int_t nd_distro_forward_init(nd_cycle_t *cycle);
/* nd_distro_receive.c: DistroDataRequest on the cluster port */
nd_int_t nd_distro_handler(nd_grpc_call_t *call, json_t *body);

/* nd_distro_data.c: clients as JSON, and applying them */
/* the client's state as JSON text appended to b */
nd_int_t nd_distro_client_text(nd_buf_t *b, nd_naming_client_t *c);
/* NULL when it is well formed, else what is wrong */
const char *nd_distro_client_check(json_t *client);
/* a synced copy made or brought in line with the owner's state */
void nd_distro_client_apply(nd_distro_conf_t *dcf, json_t *client);
void nd_distro_client_delete(nd_distro_conf_t *dcf, const char *id);

#endif /* ND_DISTRO_H */

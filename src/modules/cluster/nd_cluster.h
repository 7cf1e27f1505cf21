/*
 * Cluster API for modules: the members and their state, calls to a peer
 * or to every peer over the cluster RPC, handlers of the cluster port.
 *
 * A node without a cluster block is a cluster of one: nd_cluster_members()
 * lists only itself and no cluster port is opened.
 */
#ifndef ND_CLUSTER_H
#define ND_CLUSTER_H

#include <nd_core.h>
#include <nd_grpc.h>
#include <nd_grpc_client.h>

typedef enum {
    ND_MEMBER_UP = 0,
    ND_MEMBER_SUSPICIOUS,
    ND_MEMBER_DOWN
} nd_member_state_e;

typedef struct nd_member_s  nd_member_t;

struct nd_member_s {
    nd_addr_t            addr;        /* HTTP address: the member's name */
    nd_addr_t            rpc;         /* where this node dials its cluster
                                         RPC */
    nd_member_state_e    state;
    nd_uint_t            fail;        /* failed reports in a row */
    int                  err;         /* errno of the last failed connect */
    uint64_t             refreshed;   /* wall msec of the last report */
    char                *version;     /* from its reports */
    int64_t              sdk_conns;   /* its SDK connections as it last
                                         reported them (extendInfo
                                         sdkConCount), -1 unknown */
    uint64_t             sdk_conns_at; /* wall msec of that report */
    uint64_t             sdk_moved_at; /* when it last sent connections to
                                          another member (sdkConMovedAt,
                                          its clock), 0 never */
    nd_grpc_peer_t      *peer;        /* NULL for this node */
    unsigned             self:1;
    unsigned             reporting:1; /* a report in flight */
    unsigned             removed:1;   /* gone from the conf */
};

/* the members, sorted by address, this node included; MEMBERS_CHANGED
 * (payload: this array, borrowed) follows every change of a member's
 * state or of the list */
const nd_array_t *nd_cluster_members(nd_cycle_t *cycle);
nd_member_t *nd_cluster_self(nd_cycle_t *cycle);
nd_member_t *nd_cluster_member_find(nd_cycle_t *cycle, const char *address);
/* more than one member */
int nd_cluster_enabled(nd_cycle_t *cycle);
const char *nd_member_state_name(nd_member_state_e state);

/*
 * A unary call to a peer: type is the request type, body a JSON object
 * (reference taken), timeout 0 means call_timeout.  ND_OK: cb will be
 * called once (see nd_grpc_peer_done_pt); ND_DECLINED: the peer is DOWN
 * or this node, and nothing was sent (cb is not called).
 */
nd_int_t nd_cluster_call(nd_member_t *m, const char *type, json_t *body,
    nd_msec_t timeout, nd_grpc_peer_done_pt cb, void *data);
/* the same with a body serialized by the caller (borrowed) */
nd_int_t nd_cluster_call_raw(nd_member_t *m, const char *type,
    const u_char *json, size_t len, nd_msec_t timeout,
    nd_grpc_peer_done_pt cb, void *data);
/* the same call to every peer that is not DOWN; returns how many calls
 * were made (cb once for each) */
nd_uint_t nd_cluster_broadcast(nd_cycle_t *cycle, const char *type,
    json_t *body, nd_msec_t timeout, nd_grpc_peer_done_pt cb, void *data);
/* a module whose calls must be answered before a graceful stop closes
 * the peer connections (each hold released once): they stay until the
 * last release, at most half the shutdown_timeout */
void nd_cluster_hold(nd_cycle_t *cycle);
void nd_cluster_release(nd_cycle_t *cycle);
/* call_timeout, the default of a call */
nd_msec_t nd_cluster_call_timeout(nd_cycle_t *cycle);
/* handlers of cluster request types, from init_module */
#define nd_cluster_add_handlers(cycle, h)  nd_grpc_add_cluster_handlers(cycle, h)

extern nd_module_t  nd_cluster_module;

#endif /* ND_CLUSTER_H */

/*
 * Outbound gRPC: one long h2c connection to a peer node, unary Nacos
 * Payload calls multiplexed on it (/Request/request).  A peer is
 * connecting, ready, or in backoff after a failed connect:
 *
 *   create/kick -> connecting --SETTINGS--> ready --lost/GOAWAY--> connecting
 *                      |  connect failed                 (at once, once)
 *                      v
 *                   backoff --timer (capped exponential, jitter)--> connecting
 *
 * Callbacks run from the loop, never from inside nd_grpc_peer_call; after
 * nd_grpc_peer_destroy none runs.  A callback may call any function here,
 * nd_grpc_peer_destroy included.
 */
#ifndef ND_GRPC_CLIENT_H
#define ND_GRPC_CLIENT_H

#include <nd_core.h>

typedef struct nd_grpc_peer_s  nd_grpc_peer_t;

/* a call ended: rc ND_OK answered (type = response Payload metadata.type,
 * body = parsed JSON body; both borrowed, valid during the callback);
 * ND_AGAIN timed out; ND_DECLINED refused at once (peer not connected and
 * in backoff, or too many calls in flight); ND_ERROR failed (connection
 * lost, GOAWAY, RST, bad grpc-status, undecodable answer); ND_ABORT the
 * peer was destroyed */
typedef void (*nd_grpc_peer_done_pt)(nd_int_t rc, const char *type,
    json_t *body, void *data);
/* the connection came up (up = 1, after the SETTINGS exchange) or went
 * down / a connect failed (up = 0, err = errno such as ECONNREFUSED,
 * ETIMEDOUT, ECONNRESET, or 0 for a protocol error or GOAWAY) */
typedef void (*nd_grpc_peer_state_pt)(nd_grpc_peer_t *peer, int up, int err,
    void *data);

typedef struct {
    nd_addr_t              addr;            /* where to dial */
    nd_msec_t              connect_timeout; /* 0: 3000 */
    nd_ssl_ctx_t          *ssl;             /* TLS to the peer, or NULL */
    nd_msec_t              backoff_min;     /* 0: 100 ms */
    nd_msec_t              backoff_max;     /* 0: 5000 ms; capped
                                               exponential, with jitter */
    nd_uint_t              max_inflight;    /* 0: 1024 */
    size_t                 max_message_size;/* 0: 4 MiB */
    const char            *source;          /* header "source" on every
                                               call, e.g. "cluster";
                                               NULL none */
    const nd_str_t        *identity;        /* ND_SERVER_IDENTITY header
                                               on every call; NULL none */
    nd_grpc_peer_state_pt  state_handler;
    void                  *data;
} nd_grpc_peer_conf_t;

nd_grpc_peer_t *nd_grpc_peer_create(nd_cycle_t *cycle,
    const nd_grpc_peer_conf_t *conf);   /* starts connecting at once */
void nd_grpc_peer_destroy(nd_grpc_peer_t *peer); /* pending: ND_ABORT */
/* body: a JSON object, reference taken; headers: optional extra
 * metadata.headers (borrowed). Calls made while connecting wait for the
 * connection (within their timeout); while in backoff after a failed
 * connect they fail at once with ND_DECLINED (cb called from the next
 * loop pass, never re-entrantly).
 *
 * ND_OK: cb will be called exactly once.  ND_ERROR: no call was made and
 * cb is never called (body not an object, a request over
 * max_message_size, no memory, a destroyed peer; logged).
 * timeout 0: 3000 ms. */
nd_int_t nd_grpc_peer_call(nd_grpc_peer_t *peer, const char *type, json_t *body,
    json_t *headers, nd_msec_t timeout, nd_grpc_peer_done_pt cb,
    void *data);
/* the same with a body serialized by the caller (a JSON object's text,
 * borrowed): one message built once, no jansson tree */
int nd_grpc_peer_call_raw(nd_grpc_peer_t *peer, const char *type,
    const u_char *json, size_t len, json_t *headers, nd_msec_t timeout,
    nd_grpc_peer_done_pt cb, void *data);
int nd_grpc_peer_connected(nd_grpc_peer_t *peer);
/* forget the backoff and connect now (e.g. a peer reported itself up) */
void nd_grpc_peer_kick(nd_grpc_peer_t *peer);
/* calls in flight, for metrics */
nd_uint_t nd_grpc_peer_inflight(nd_grpc_peer_t *peer);

/* what a peer's calls came to, for metrics (counters only go up) */
typedef struct {
    nd_uint_t              calls;           /* made (ND_OK returned) */
    nd_uint_t              answered;
    nd_uint_t              timeouts;
    nd_uint_t              failed;          /* refused, lost, bad answer */
} nd_grpc_peer_stats_t;

const nd_grpc_peer_stats_t *nd_grpc_peer_stats(nd_grpc_peer_t *peer);

#endif /* ND_GRPC_CLIENT_H */

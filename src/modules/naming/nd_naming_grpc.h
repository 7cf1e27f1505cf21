/*
 * Naming over gRPC, private to nd_naming_grpc.c (requests) and
 * nd_naming_grpc_push.c (pushes).
 */
#ifndef ND_NAMING_GRPC_H
#define ND_NAMING_GRPC_H

#include <nd_naming.h>
#include <nd_grpc.h>

#define ND_NAMING_GRPC_RETRIES      3
#define ND_NAMING_GRPC_RETRY_DELAY  1000

/* per subscriber push state: sub->push_data */
typedef struct {
    nd_queue_t              link;           /* grpc->pushers */
    nd_naming_sub_t        *sub;            /* NULL: orphan, freed when the
                                               last answer arrives */
    nd_naming_conf_t       *nf;
    nd_timer_t              timer;          /* first push, retries */
    uint32_t                gen;            /* of the newest push sent */
    uint16_t                inflight;
    uint8_t                 retries;
} nd_naming_gpush_t;

typedef struct {
    nd_queue_t              moved;          /* nd_naming_gmoved_t, by at */
    nd_timer_t              moved_timer;
    nd_queue_t              pushers;        /* nd_naming_gpush_t */
    nd_shared_t            *info_body;      /* what req was built from */
    nd_shared_t            *req;            /* NotifySubscriberRequest */
    nd_msec_t               info_at;        /* its lastRefTime */
} nd_naming_grpc_t;


void nd_naming_grpc_info_clear(nd_naming_grpc_t *ng);

/* nd_naming_grpc_push.c */
nd_naming_gpush_t *nd_naming_grpc_pusher(nd_naming_conf_t *nf,
    nd_naming_sub_t *sub);
void nd_naming_grpc_push(nd_naming_conf_t *nf, nd_naming_sub_t *sub,
    nd_shared_t *body, size_t ref_time_pos);
void nd_naming_grpc_forget(nd_naming_conf_t *nf, nd_naming_sub_t *sub);

#endif /* ND_NAMING_GRPC_H */

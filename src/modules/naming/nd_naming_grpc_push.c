/*
 * NotifySubscriberRequest pushes to gRPC subscribers (nd_naming_grpc.c
 * has the requests): one request text a round, shared by every
 * subscriber's queue (nd_grpc_push_shared), the answers, retries after
 * ND_NAMING_GRPC_RETRY_DELAY, a newer push superseding a pending retry.
 */
#include <nd_naming.h>

#if (ND_WITH_GRPC)

#include <nd_naming_grpc.h>


/* one push in flight: its answer must know whether it is the newest */
typedef struct {
    nd_naming_gpush_t      *gp;
    uint32_t                gen;
} nd_naming_gticket_t;


static void nd_naming_grpc_timer(nd_timer_t *t);


nd_naming_gpush_t *
nd_naming_grpc_pusher(nd_naming_conf_t *nf, nd_naming_sub_t *sub)
{
    nd_naming_grpc_t   *ng;
    nd_naming_gpush_t  *gp;

    if (sub->push_data) {
        return sub->push_data;
    }

    gp = nd_calloc(sizeof(nd_naming_gpush_t));
    if (gp == NULL) {
        return NULL;
    }

    ng = nf->grpc;
    gp->sub = sub;
    gp->nf = nf;
    nd_timer_init(&gp->timer, "naming grpc push", nd_naming_grpc_timer, gp);
    nd_queue_insert_tail(&ng->pushers, &gp->link);
    sub->push_data = gp;

    return gp;
}


void
nd_naming_grpc_forget(nd_naming_conf_t *nf, nd_naming_sub_t *sub)
{
    nd_naming_gpush_t  *gp;

    gp = sub->push_data;
    if (gp == NULL) {
        return;
    }

    sub->push_data = NULL;
    gp->sub = NULL;
    nd_timer_stop(&gp->timer);
    nd_queue_remove(&gp->link);

    if (gp->inflight == 0) {
        nd_free(gp);
    }
}


static void
nd_naming_grpc_answer(nd_grpc_conn_t *conn, nd_int_t code, json_t *response,
    void *data)
{
    nd_naming_gpush_t    *gp;
    nd_naming_conf_t     *nf;
    nd_naming_gticket_t  *tk;
    uint32_t              gen;

    tk = data;
    gp = tk->gp;
    gen = tk->gen;
    nd_free(tk);

    gp->inflight--;

    if (gp->sub == NULL) {
        if (gp->inflight == 0) {
            nd_free(gp);                /* unsubscribed meanwhile */
        }
        return;
    }

    if (gen != gp->gen) {
        return;                         /* a newer push decides */
    }

    if (code == 200) {
        gp->retries = 0;
        return;
    }

    nf = gp->nf;

    if (gp->retries >= ND_NAMING_GRPC_RETRIES || !nf->started
        || conn == NULL)
    {
        nf->push_failed++;
        nd_log_error(ND_LOG_INFO, nf->cycle->log, 0,
                     "naming: push of %.*s to %s failed",
                     (int) gp->sub->service->grouped_len,
                     gp->sub->service->grouped,
                     nd_naming_cid(gp->sub->client));
        gp->retries = 0;
        return;
    }

    gp->retries++;
    nd_timer_stop(&gp->timer);
    nd_timer_start(&gp->timer, ND_NAMING_GRPC_RETRY_DELAY, ND_TIMER_ONCE);
}


/* the NotifySubscriberRequest text for body: built once per loop pass
 * into a refcounted block that every subscriber's queue of that round
 * references (nd_grpc_push_shared) */
static nd_shared_t *
nd_naming_grpc_shared_req(nd_naming_grpc_t *ng, nd_shared_t *body,
    size_t ref_time_pos)
{
    char                digits[32];
    u_char             *p;
    nd_shared_t        *req;
    static const char   head[] = "{\"serviceInfo\":";
    static const char   tail[] = ",\"module\":\"naming\"}";

    if (ng->info_body == body && ng->info_at == nd_current_msec) {
        return ng->req;
    }

    nd_naming_grpc_info_clear(ng);

    req = nd_shared_alloc(sizeof(head) - 1 + body->len + sizeof(tail) - 1,
                          NULL);
    if (req == NULL) {
        return NULL;
    }

    p = req->data;
    memcpy(p, head, sizeof(head) - 1);
    p += sizeof(head) - 1;
    memcpy(p, body->data, body->len);
    memcpy(p + body->len, tail, sizeof(tail) - 1);

    /* the cached text holds a zero-filled placeholder: now, in ms */
    if (snprintf(digits, sizeof(digits), "%013" PRIu64,
                 (uint64_t) nd_current_msec) == 13)
    {
        memcpy(p + ref_time_pos, digits, 13);
    }

    ng->req = req;
    ng->info_body = nd_shared_ref(body);
    ng->info_at = nd_current_msec;

    return req;
}


static void
nd_naming_grpc_send(nd_naming_gpush_t *gp, nd_shared_t *body,
    size_t ref_time_pos)
{
    nd_shared_t          *req;
    nd_grpc_conn_t       *conn;
    nd_naming_conf_t     *nf;
    nd_naming_client_t   *cl;
    nd_naming_gticket_t  *tk;

    nf = gp->nf;
    cl = gp->sub->client;

    /* the connection, kept on the client from the first push on (not a
     * lookup by id a push; nd_naming_grpc_conn_hook clears it) */
    conn = cl->data;
    if (conn == NULL) {
        conn = nd_grpc_conn_find(nf->cycle, nd_naming_cid(cl));
        if (conn == NULL) {
            return;                     /* gone: its release is queued */
        }
        cl->data = conn;
    }

    req = nd_naming_grpc_shared_req(nf->grpc, body, ref_time_pos);
    tk = nd_alloc(sizeof(nd_naming_gticket_t));
    if (req == NULL || tk == NULL) {
        nd_free(tk);
        return;
    }

    tk->gp = gp;
    tk->gen = ++gp->gen;
    gp->inflight++;
    nf->push_total++;

    if (nd_grpc_push_shared(conn, "NotifySubscriberRequest", req, 0,
                            nd_naming_grpc_answer, tk) != ND_OK)
    {
        /* no callback will come: the connection is closing */
        gp->inflight--;
        nd_free(tk);
    }
}


/* the push scheduler's hook: a change reached this subscriber */
void
nd_naming_grpc_push(nd_naming_conf_t *nf, nd_naming_sub_t *sub,
    nd_shared_t *body, size_t ref_time_pos)
{
    nd_naming_gpush_t  *gp;

    gp = nd_naming_grpc_pusher(nf, sub);
    if (gp == NULL) {
        return;
    }

    nd_timer_stop(&gp->timer);          /* supersedes a pending retry */
    gp->retries = 0;
    nd_naming_grpc_send(gp, body, ref_time_pos);
}


/* the push after a subscribe, and retries: the state current now */
static void
nd_naming_grpc_timer(nd_timer_t *t)
{
    nd_str_t              clusters;
    nd_naming_sub_t      *sub;
    nd_naming_cache_t    *ca;
    nd_naming_gpush_t    *gp;

    gp = t->data;
    sub = gp->sub;

    clusters.data = (u_char *) sub->clusters;
    clusters.len = strlen(sub->clusters);

    ca = nd_naming_info_get(gp->nf, sub->service, &clusters, 0, 0);
    if (ca) {
        nd_naming_grpc_send(gp, ca->body, ca->ref_time_pos);
    }
}

#endif

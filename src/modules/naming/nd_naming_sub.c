/*
 * Subscribers of the naming model: subscribe and unsubscribe (the
 * SUBSCRIBER_* events), and the expiry of 1.x subscribers that stopped
 * querying.
 */
#include <nd_naming.h>


/* "" (all clusters, what nearly every subscriber asks) is one string
 * shared by all: a push round compares pointers (nd_naming_push_service) */
static char  nd_naming_all_clusters[] = "";


static char *
nd_naming_clusters_dup(const nd_str_t *clusters)
{
    if (clusters->len == 0) {
        return nd_naming_all_clusters;
    }

    return strndup((char *) clusters->data, clusters->len);
}


static void
nd_naming_clusters_free(char *clusters)
{
    if (clusters != nd_naming_all_clusters) {
        nd_free(clusters);
    }
}


void
nd_naming_sub_free(nd_naming_sub_t *sub)
{
    nd_naming_clusters_free(sub->clusters);
    nd_free(sub->agent);
    nd_free(sub->app);
    nd_free(sub);
}


nd_naming_sub_t *
nd_naming_subscribe(nd_naming_conf_t *nf, nd_naming_client_t *c,
    nd_naming_service_t *s, const nd_str_t *clusters)
{
    nd_queue_t       *q;
    nd_naming_sub_t  *sub;

    for (q = nd_queue_head(&c->subs); q != nd_queue_sentinel(&c->subs);
         q = nd_queue_next(q))
    {
        sub = nd_queue_data(q, nd_naming_sub_t, client_link);
        if (sub->service == s) {
            if (strlen(sub->clusters) != clusters->len
                || memcmp(sub->clusters, clusters->data, clusters->len))
            {
                char  *cl = nd_naming_clusters_dup(clusters);

                if (cl) {
                    nd_naming_clusters_free(sub->clusters);
                    sub->clusters = cl;
                }
            }
            sub->last_seen = nd_current_msec;
            return sub;
        }
    }

    sub = nd_calloc(sizeof(nd_naming_sub_t));
    if (sub == NULL) {
        return NULL;
    }

    sub->clusters = nd_naming_clusters_dup(clusters);
    if (sub->clusters == NULL) {
        nd_free(sub);
        return NULL;
    }

    sub->service = s;
    sub->client = c;
    sub->last_seen = nd_current_msec;
    nd_queue_insert_tail(&s->subs, &sub->service_link);
    nd_queue_insert_tail(&c->subs, &sub->client_link);
    s->nsubs++;
    c->nsubs++;
    nf->nsubs++;

    nd_naming_publish(nf, ND_EV_SUBSCRIBER_ADDED, s, c);

    return sub;
}


void
nd_naming_unsubscribe(nd_naming_conf_t *nf, nd_naming_sub_t *sub)
{
    nd_naming_udp_forget(sub);
    if (nf->forget[sub->client->type]) {
        nf->forget[sub->client->type](nf, sub);
    }
    nd_queue_remove(&sub->service_link);
    nd_queue_remove(&sub->client_link);
    if (nd_queue_linked(&sub->expire_link)) {
        nd_queue_remove(&sub->expire_link);
    }

    sub->service->nsubs--;
    sub->client->nsubs--;
    nf->nsubs--;

    if (sub->service->nsubs == 0 && sub->service->ninstances == 0) {
        sub->service->last_updated = nd_current_msec;
    }

    nd_naming_sub_free(sub);
}


void
nd_naming_sub_expire_handler(nd_timer_t *t)
{
    nd_queue_t          *q;
    nd_naming_sub_t     *sub;
    nd_naming_conf_t    *nf;
    nd_naming_client_t  *c;

    nf = t->data;

    while (!nd_queue_empty(&nf->sub_expire)) {
        q = nd_queue_head(&nf->sub_expire);
        sub = nd_queue_data(q, nd_naming_sub_t, expire_link);

        if (nd_current_msec - sub->last_seen < nf->cache_millis) {
            break;
        }

        c = sub->client;
        nd_naming_unsubscribe(nf, sub);
        nd_naming_client_gc(nf, c);
    }
}

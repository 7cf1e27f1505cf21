/*
 * A client's instances by service: Nacos keeps a client's publishers in
 * a map by service, and so does the naming model once a client has
 * ND_NAMING_PUBS_MIN instances (nd_naming_model.c links and unlinks
 * instances through here).
 */
#include <nd_naming.h>


/*
 * Nacos keeps a client's publishers in a map by service; so do we once a
 * client has ND_NAMING_PUBS_MIN instances (a gRPC connection may publish
 * thousands of services: walking its list, or the service's, on every
 * register was most of a register's cache misses).  Open addressing,
 * linear probing, keyed by the service's address (no client chooses it);
 * each slot names the first of the client's instances of the service,
 * the others follow it in c->instances.  The table only speeds lookups
 * up: when it cannot grow it is dropped and the list walked again.
 */

#define ND_NAMING_PUBS_MIN  16

struct nd_naming_pubs_s {
    uint32_t                mask;           /* slots - 1 */
    uint32_t                n;              /* services */
    struct {
        nd_naming_service_t   *service;     /* NULL: free */
        nd_naming_instance_t  *first;
    }                       slot[];
};


static uint32_t
nd_naming_pubs_hash(nd_naming_pubs_t *p, nd_naming_service_t *s)
{
    return (uint32_t) (((uint64_t) (uintptr_t) s * 0x9e3779b97f4a7c15ULL)
                       >> 32) & p->mask;
}


/* the slot of s, or of where s would go */
static uint32_t
nd_naming_pubs_slot(nd_naming_pubs_t *p, nd_naming_service_t *s)
{
    uint32_t  i;

    for (i = nd_naming_pubs_hash(p, s);
         p->slot[i].service && p->slot[i].service != s;
         i = (i + 1) & p->mask)
    { /* void */ }

    return i;
}


static nd_naming_pubs_t *
nd_naming_pubs_alloc(uint32_t size)
{
    nd_naming_pubs_t  *p;

    p = nd_calloc(sizeof(nd_naming_pubs_t) + size * sizeof(p->slot[0]));
    if (p) {
        p->mask = size - 1;
    }

    return p;
}


/* s's first instance is inst now (s absent: added); ND_ERROR when the
 * table cannot grow */
static nd_int_t
nd_naming_pubs_set(nd_naming_pubs_t **pp, nd_naming_service_t *s,
    nd_naming_instance_t *inst)
{
    uint32_t           i, j;
    nd_naming_pubs_t  *p, *np;

    p = *pp;
    i = nd_naming_pubs_slot(p, s);

    if (p->slot[i].service == NULL) {
        /* keep the load at most 3/4 */
        if ((p->n + 1) * 4 > (p->mask + 1) * 3) {
            np = nd_naming_pubs_alloc((p->mask + 1) * 2);
            if (np == NULL) {
                return ND_ERROR;
            }
            for (j = 0; j <= p->mask; j++) {
                if (p->slot[j].service) {
                    np->slot[nd_naming_pubs_slot(np, p->slot[j].service)]
                        = p->slot[j];
                }
            }
            np->n = p->n;
            nd_free(p);
            *pp = p = np;
            i = nd_naming_pubs_slot(p, s);
        }
        p->slot[i].service = s;
        p->n++;
    }

    p->slot[i].first = inst;

    return ND_OK;
}


/* s leaves the table: the entries after it move back into the gap */
static void
nd_naming_pubs_del(nd_naming_pubs_t *p, uint32_t i)
{
    uint32_t  j, home;

    p->n--;

    for (j = (i + 1) & p->mask; p->slot[j].service; j = (j + 1) & p->mask) {
        home = nd_naming_pubs_hash(p, p->slot[j].service);
        /* j may move to i unless its home lies cyclically in (i, j] */
        if (((j - home) & p->mask) >= ((j - i) & p->mask)) {
            p->slot[i] = p->slot[j];
            i = j;
        }
    }

    p->slot[i].service = NULL;
    p->slot[i].first = NULL;
}


/* the table of c's instances, from its list */
static void
nd_naming_pubs_build(nd_naming_client_t *c)
{
    uint32_t               size;
    nd_queue_t            *q;
    nd_naming_service_t   *s, *prev;
    nd_naming_instance_t  *inst, *first;

    for (size = 64; size * 3 < c->ninstances * 4; size <<= 1) { /* void */ }

    c->pubs = nd_naming_pubs_alloc(size);
    if (c->pubs == NULL) {
        return;
    }

    prev = NULL;
    first = NULL;
    for (q = nd_queue_head(&c->instances);
         q != nd_queue_sentinel(&c->instances); q = nd_queue_next(q))
    {
        inst = nd_queue_data(q, nd_naming_instance_t, client_link);
        s = inst->cluster->service;
        if (s == prev) {
            first->run_multi = 1;
            continue;
        }
        if (nd_naming_pubs_set(&c->pubs, s, inst) != ND_OK) {
            nd_free(c->pubs);
            c->pubs = NULL;
            return;
        }
        inst->run_multi = 0;
        first = inst;
        prev = s;
    }
}


/* inst was linked at the tail of its client's list */
void
nd_naming_pubs_link(nd_naming_client_t *c, nd_naming_instance_t *inst)
{
    uint32_t              i;
    nd_naming_service_t  *s;

    if (c->pubs == NULL) {
        if (c->ninstances >= ND_NAMING_PUBS_MIN) {
            nd_naming_pubs_build(c);
        }
        return;
    }

    s = inst->cluster->service;
    i = nd_naming_pubs_slot(c->pubs, s);

    if (c->pubs->slot[i].service) {
        c->pubs->slot[i].first->run_multi = 1;
        return;
    }

    if (nd_naming_pubs_set(&c->pubs, s, inst) != ND_OK) {
        nd_free(c->pubs);
        c->pubs = NULL;
        return;
    }

    inst->run_multi = 0;
}


/* inst is about to leave its client's list */
void
nd_naming_pubs_unlink(nd_naming_client_t *c, nd_naming_instance_t *inst)
{
    uint32_t               i;
    nd_queue_t            *next;
    nd_naming_service_t   *s;
    nd_naming_instance_t  *other;

    if (c->pubs == NULL) {
        return;
    }

    s = inst->cluster->service;
    i = nd_naming_pubs_slot(c->pubs, s);

    if (c->pubs->slot[i].first != inst) {
        return;
    }

    next = nd_queue_next(&inst->client_link);
    if (next != nd_queue_sentinel(&c->instances)) {
        other = nd_queue_data(next, nd_naming_instance_t, client_link);
        if (other->cluster->service == s) {
            c->pubs->slot[i].first = other;
            other->run_multi = 1;      /* may be the only one now */
            return;
        }
    }

    nd_naming_pubs_del(c->pubs, i);
}


nd_naming_instance_t *
nd_naming_client_instance(nd_naming_client_t *c, nd_naming_service_t *s)
{
    nd_queue_t            *q;
    nd_naming_instance_t  *inst;

    if (c->pubs) {
        return c->pubs->slot[nd_naming_pubs_slot(c->pubs, s)].first;
    }

    for (q = nd_queue_head(&c->instances); q != nd_queue_sentinel(&c->instances);
         q = nd_queue_next(q))
    {
        inst = nd_queue_data(q, nd_naming_instance_t, client_link);
        if (inst->cluster->service == s) {
            return inst;
        }
    }

    return NULL;
}

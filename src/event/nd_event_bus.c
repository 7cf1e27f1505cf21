/*
 * Event bus: the queue of published events and their subscribers.  It has
 * no watcher of its own: the event module's loop pass (nd_event.c) calls
 * nd_event_bus_dispatch() with the rest of the deferred work.
 */
#include <nd_core.h>

typedef struct {
    nd_event_handler_pt   handler;
    void                 *data;
} nd_bus_sub_t;

typedef struct {
    nd_queue_t            link;
    nd_event_id_e         id;
    void                 *payload;
    nd_event_dispose_pt   dispose;
    size_t                len;          /* 1 + key length */
    u_char                key[];        /* id byte, then the key */
} nd_bus_item_t;

struct nd_event_bus_s {
    nd_array_t            subs[ND_EV_MAX];
    nd_queue_t            pending;
    nd_hash_t             index;
    nd_uint_t             npending;
};

static const char  *nd_event_names[] = {
    "CLIENT_CHANGED", "CLIENT_DISCONNECTED", "CLIENT_VERIFY_FAILED",
    "SERVICE_CHANGED", "SUBSCRIBER_ADDED", "CONFIG_CHANGED",
    "MEMBERS_CHANGED", "CONNECTION_OPENED", "CONNECTION_CLOSED"
};


const char *
nd_event_name(nd_event_id_e id)
{
    return id < ND_EV_MAX ? nd_event_names[id] : "?";
}


nd_event_bus_t *
nd_event_bus_create(void)
{
    nd_uint_t        i;
    nd_event_bus_t  *bus;

    bus = nd_calloc(sizeof(nd_event_bus_t));
    if (bus == NULL) {
        return NULL;
    }

    for (i = 0; i < ND_EV_MAX; i++) {
        if (nd_array_init(&bus->subs[i], NULL, 2, sizeof(nd_bus_sub_t))
            != ND_OK)
        {
            nd_event_bus_destroy(bus);
            return NULL;
        }
    }

    if (nd_hash_init(&bus->index, 64) != ND_OK) {
        nd_event_bus_destroy(bus);
        return NULL;
    }

    nd_queue_init(&bus->pending);

    return bus;
}


static void
nd_bus_item_free(nd_bus_item_t *it)
{
    if (it->dispose) {
        it->dispose(it->payload);
    }
    nd_free(it);
}


void
nd_event_bus_destroy(nd_event_bus_t *bus)
{
    nd_uint_t       i;
    nd_queue_t     *q;
    nd_bus_item_t  *it;

    if (bus == NULL) {
        return;
    }

    while (!nd_queue_empty(&bus->pending)) {
        q = nd_queue_head(&bus->pending);
        nd_queue_remove(q);
        it = nd_queue_data(q, nd_bus_item_t, link);
        nd_bus_item_free(it);
    }

    for (i = 0; i < ND_EV_MAX; i++) {
        if (bus->subs[i].elts) {
            nd_array_free(&bus->subs[i]);
        }
    }

    nd_hash_free(&bus->index);
    nd_free(bus);
}


nd_int_t
nd_event_bus_subscribe(nd_event_bus_t *bus, nd_event_id_e id,
    nd_event_handler_pt handler, void *data)
{
    nd_bus_sub_t  *s;

    if (id >= ND_EV_MAX) {
        return ND_ERROR;
    }

    s = nd_array_push(&bus->subs[id]);
    if (s == NULL) {
        return ND_ERROR;
    }

    s->handler = handler;
    s->data = data;

    return ND_OK;
}


nd_uint_t
nd_event_bus_subscribers(nd_event_bus_t *bus, nd_event_id_e id)
{
    return id < ND_EV_MAX ? bus->subs[id].nelts : 0;
}


nd_int_t
nd_event_bus_publish(nd_event_bus_t *bus, nd_event_id_e id,
    const nd_str_t *key, void *payload, nd_event_dispose_pt dispose)
{
    size_t          klen;
    nd_bus_item_t  *it, *old;

    if (id >= ND_EV_MAX) {
        goto failed;
    }

    if (bus->subs[id].nelts == 0) {
        if (dispose) {
            dispose(payload);          /* nobody listens */
        }
        return ND_OK;
    }

    klen = key ? key->len : 0;

    it = nd_alloc(sizeof(nd_bus_item_t) + 1 + klen);
    if (it == NULL) {
        goto failed;
    }

    it->id = id;
    it->payload = payload;
    it->dispose = dispose;
    it->len = 1 + klen;
    it->key[0] = (u_char) id;
    if (klen) {
        memcpy(it->key + 1, key->data, klen);
    }

    old = nd_hash_find(&bus->index, it->key, it->len);
    if (old) {
        /* coalesce: keep the place in the queue, take the newest payload */
        if (old->dispose) {
            old->dispose(old->payload);
        }
        old->payload = payload;
        old->dispose = dispose;
        nd_free(it);
        return ND_OK;
    }

    if (nd_hash_add(&bus->index, it->key, it->len, it) != ND_OK) {
        nd_free(it);
        goto failed;
    }

    nd_queue_insert_tail(&bus->pending, &it->link);
    bus->npending++;

    return ND_OK;

failed:

    if (dispose) {
        dispose(payload);
    }
    return ND_ERROR;
}


nd_uint_t
nd_event_bus_dispatch(nd_event_bus_t *bus)
{
    nd_str_t        key;
    nd_uint_t       i, n;
    nd_queue_t      batch, *q;
    nd_bus_sub_t   *subs;
    nd_bus_item_t  *it;

    if (bus->npending == 0) {
        return 0;
    }

    /* take the batch; what subscribers publish now goes to the next pass */
    nd_queue_init(&batch);
    while (!nd_queue_empty(&bus->pending)) {
        q = nd_queue_head(&bus->pending);
        nd_queue_remove(q);
        it = nd_queue_data(q, nd_bus_item_t, link);
        nd_hash_del(&bus->index, it->key, it->len);
        nd_queue_insert_tail(&batch, q);
    }
    bus->npending = 0;

    n = 0;
    while (!nd_queue_empty(&batch)) {
        q = nd_queue_head(&batch);
        nd_queue_remove(q);
        it = nd_queue_data(q, nd_bus_item_t, link);

        key.data = it->key + 1;
        key.len = it->len - 1;

        /* re-read elts: a subscriber may subscribe (and grow the array) */
        for (i = 0; i < bus->subs[it->id].nelts; i++) {
            subs = bus->subs[it->id].elts;
            subs[i].handler(it->id, &key, it->payload, subs[i].data);
        }

        nd_bus_item_free(it);
        n++;
    }

    return n;
}


nd_uint_t
nd_event_bus_pending(nd_event_bus_t *bus)
{
    return bus->npending;
}

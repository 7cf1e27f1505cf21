/*
 * Event bus: typed in-process publish/subscribe.  Publishing queues; the
 * loop pass before sleep (nd_event.c) dispatches, so a publisher never
 * re-enters a subscriber, and what a subscriber publishes is dispatched in
 * the next round of the same pass.  An event published again (same id,
 * same key) before dispatch coalesces: subscribers see it once, with the
 * newest payload.
 */
#ifndef ND_EVENT_BUS_H
#define ND_EVENT_BUS_H

#include <nd_config.h>

typedef enum {
    ND_EV_CLIENT_CHANGED = 0,
    ND_EV_CLIENT_DISCONNECTED,
    ND_EV_CLIENT_VERIFY_FAILED,
    ND_EV_SERVICE_CHANGED,
    ND_EV_SUBSCRIBER_ADDED,
    ND_EV_CONFIG_CHANGED,
    ND_EV_MEMBERS_CHANGED,
    ND_EV_CONNECTION_OPENED,
    ND_EV_CONNECTION_CLOSED,
    ND_EV_MAX
} nd_event_id_e;

typedef struct nd_event_bus_s  nd_event_bus_t;

/* payload is borrowed for the duration of the call */
typedef void (*nd_event_handler_pt)(nd_event_id_e id, const nd_str_t *key,
    void *payload, void *data);
/* frees a payload once every subscriber has seen it (or it coalesced) */
typedef void (*nd_event_dispose_pt)(void *payload);

nd_event_bus_t *nd_event_bus_create(void);
void nd_event_bus_destroy(nd_event_bus_t *bus);
nd_int_t nd_event_bus_subscribe(nd_event_bus_t *bus, nd_event_id_e id,
    nd_event_handler_pt handler, void *data);
/* key: what identifies "the same event" (service key, config key...);
 * takes ownership of payload (dispose is called even on error) */
nd_int_t nd_event_bus_publish(nd_event_bus_t *bus, nd_event_id_e id,
    const nd_str_t *key, void *payload, nd_event_dispose_pt dispose);
/* dispatch what was queued before this call (what the subscribers publish
 * stays queued); returns events dispatched */
nd_uint_t nd_event_bus_dispatch(nd_event_bus_t *bus);
nd_uint_t nd_event_bus_pending(nd_event_bus_t *bus);
/* how many handlers id has (a publisher may skip work nobody reads) */
nd_uint_t nd_event_bus_subscribers(nd_event_bus_t *bus, nd_event_id_e id);
const char *nd_event_name(nd_event_id_e id);

/* the running cycle's bus */
#define nd_event_subscribe(cycle, id, h, d)                                   \
    nd_event_bus_subscribe(nd_event_conf(cycle)->bus, id, h, d)
#define nd_event_subscribers(cycle, id)                                       \
    nd_event_bus_subscribers(nd_event_conf(cycle)->bus, id)
#define nd_event_publish(cycle, id, key, p, dispose)                          \
    nd_event_bus_publish(nd_event_conf(cycle)->bus, id, key, p, dispose)

#endif /* ND_EVENT_BUS_H */

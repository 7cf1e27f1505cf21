/*
 * Unit tests: the event bus dispatches what was queued before the call,
 * coalesces duplicates, never re-enters a subscriber, and disposes every
 * payload exactly once.  The loop pass that calls it is tested in
 * nd_event_pass.c.
 */
#include <nd_core.h>
#include <tap.h>

typedef struct {
    int   calls;
    int   last;
    char  key[32];
    nd_event_bus_t  *bus;
    int   republish;
} counter_t;

static int  disposed;


static void
dispose(void *p)
{
    disposed++;
    free(p);
}


static int *
payload(int v)
{
    int  *p = malloc(sizeof(int));

    *p = v;
    return p;
}


static void
on_event(nd_event_id_e id, const nd_str_t *key, void *p, void *data)
{
    counter_t  *c = data;
    nd_str_t    k = nd_string("again");

    c->calls++;
    c->last = *(int *) p;
    snprintf(c->key, sizeof(c->key), "%.*s", (int) key->len, key->data);

    if (c->republish) {
        c->republish = 0;
        /* published while dispatching: must wait for the next pass */
        nd_event_bus_publish(c->bus, ND_EV_SERVICE_CHANGED, &k, payload(99),
                             dispose);
    }
}


int
main(void)
{
    counter_t        svc, cfg, svc2;
    nd_str_t         a = nd_string("public##DEFAULT_GROUP@@order");
    nd_str_t         b = nd_string("public##DEFAULT_GROUP@@pay");
    nd_event_bus_t  *bus;

    memset(&svc, 0, sizeof(svc));
    memset(&svc2, 0, sizeof(svc2));
    memset(&cfg, 0, sizeof(cfg));

    bus = nd_event_bus_create();
    ok(bus != NULL, "bus created");

    nd_event_bus_subscribe(bus, ND_EV_SERVICE_CHANGED, on_event, &svc);
    nd_event_bus_subscribe(bus, ND_EV_SERVICE_CHANGED, on_event, &svc2);
    nd_event_bus_subscribe(bus, ND_EV_CONFIG_CHANGED, on_event, &cfg);

    /* three publishes of one key coalesce; another key stays separate */
    nd_event_bus_publish(bus, ND_EV_SERVICE_CHANGED, &a, payload(1), dispose);
    nd_event_bus_publish(bus, ND_EV_SERVICE_CHANGED, &a, payload(2), dispose);
    nd_event_bus_publish(bus, ND_EV_SERVICE_CHANGED, &a, payload(3), dispose);
    nd_event_bus_publish(bus, ND_EV_CONFIG_CHANGED, &a, payload(7), dispose);
    is_int(nd_event_bus_pending(bus), 2, "two distinct events pending");
    is_int(disposed, 2, "coalesced payloads disposed at once");
    is_int(svc.calls, 0, "nothing dispatched before dispatch");

    /* nobody listens to MEMBERS_CHANGED: payload is disposed, no queue */
    nd_event_bus_publish(bus, ND_EV_MEMBERS_CHANGED, &a, payload(5), dispose);
    is_int(disposed, 3, "payload without subscribers disposed");
    is_int(nd_event_bus_pending(bus), 2, "and not queued");

    is_int(nd_event_bus_dispatch(bus), 2, "two events dispatched");
    is_int(svc.calls, 1, "service event dispatched once");
    is_int(svc.last, 3, "with the newest payload");
    is_str(svc.key, "public##DEFAULT_GROUP@@order", "with its key");
    is_int(svc2.calls, 1, "second subscriber called once");
    is_int(cfg.calls, 1, "config subscriber called once");
    is_int(cfg.last, 7, "config payload");
    is_int(disposed, 5, "dispatched payloads disposed");

    /* re-publish from inside a subscriber goes to the next pass */
    svc.bus = bus;
    svc.republish = 1;
    nd_event_bus_publish(bus, ND_EV_SERVICE_CHANGED, &b, payload(4), dispose);
    nd_event_bus_dispatch(bus);
    is_int(svc.calls, 2, "event published in a pass");
    is_str(svc.key, "public##DEFAULT_GROUP@@pay", "its key");
    is_int(nd_event_bus_pending(bus), 1, "re-published event waits");

    /* the next dispatch delivers it */
    svc.republish = 1;
    nd_event_bus_dispatch(bus);
    is_int(svc.calls, 3, "next dispatch delivers it");
    is_str(svc.key, "again", "the re-published key");
    is_int(svc.last, 99, "the re-published payload");
    is_int(nd_event_bus_pending(bus), 1, "the event queued meanwhile");

    /* destroy disposes what is still queued */
    nd_event_bus_publish(bus, ND_EV_CONFIG_CHANGED, &b, payload(8), dispose);
    nd_event_bus_destroy(bus);
    is_int(disposed, 9, "all 9 payloads disposed exactly once");

    return done_testing();
}

/*
 * Unit tests: the loop pass before sleep.  Deferred work that publishes a
 * bus event, a subscriber that posts deferred work which publishes again:
 * the whole chain runs in one loop iteration, with no timer or I/O to wake
 * the loop.  A chain longer than the pass's bound of rounds goes on in the
 * next iterations without the loop sleeping.
 */
#include <nd_core.h>
#include <tap.h>

static nd_str_t     key = nd_string("public##DEFAULT_GROUP@@order");
static nd_posted_t  first, second, spin;
static int          steps[4];
static int          spins, spin_max;


static void
on_second(nd_posted_t *p)
{
    steps[2]++;
    nd_event_publish(nd_cycle, ND_EV_CONFIG_CHANGED, &key, NULL, NULL);
}


static void
on_event(nd_event_id_e id, const nd_str_t *k, void *payload, void *data)
{
    if (id == ND_EV_SERVICE_CHANGED) {
        steps[1]++;
        nd_post(&second);           /* deferred work from a subscriber */

    } else {
        steps[3]++;                 /* the end of the chain */
    }
}


static void
on_first(nd_posted_t *p)
{
    steps[0]++;
    nd_event_publish(nd_cycle, ND_EV_SERVICE_CHANGED, &key, NULL, NULL);
}


static void
on_spin(nd_posted_t *p)
{
    if (++spins < spin_max) {
        nd_post(&spin);

    } else {
        ev_break(nd_cycle->loop, EVBREAK_ONE);  /* returns after this pass */
    }
}


static void
on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    ev_break(loop, EVBREAK_ALL);
}


int
main(void)
{
    int               i;
    void             *ctx[64];
    ev_timer          t;
    nd_cycle_t        cycle;
    nd_event_conf_t   ecf;

    memset(&cycle, 0, sizeof(cycle));
    memset(&ecf, 0, sizeof(ecf));
    memset(ctx, 0, sizeof(ctx));

    cycle.conf_ctx = ctx;
    ctx[nd_event_module.index] = &ecf;
    cycle.loop = ev_default_loop(0);
    cycle.pool = nd_create_pool(4096, NULL);
    nd_queue_init(&cycle.connections);
    nd_cycle = &cycle;

    ok(nd_event_module.init_module(&cycle) == ND_OK, "event module init");
    ok(nd_event_module.start(&cycle) == ND_OK, "event module start");

    nd_event_subscribe(&cycle, ND_EV_SERVICE_CHANGED, on_event, NULL);
    nd_event_subscribe(&cycle, ND_EV_CONFIG_CHANGED, on_event, NULL);

    first.handler = on_first;
    second.handler = on_second;
    spin.handler = on_spin;

    /* a long timer: if anything waited for a wake-up, it would be this */
    ev_timer_init(&t, on_timer, 30.0, 0.);
    ev_timer_start(cycle.loop, &t);

    nd_post(&first);
    ev_run(cycle.loop, EVRUN_NOWAIT);

    is_int(steps[0], 1, "deferred work ran");
    is_int(steps[1], 1, "the event it published was dispatched");
    is_int(steps[2], 1, "the work that subscriber posted ran");
    is_int(steps[3], 1, "the event that work published was dispatched");
    is_int(nd_event_bus_pending(ecf.bus), 0, "nothing left on the bus");
    ok(nd_queue_empty(&ecf.posted), "nothing left posted");
    ok(!ev_is_active(&ecf.idle), "no idle watcher: the loop may sleep");

    /* a chain longer than one pass's rounds: the pass stops at its bound,
     * and the idle watcher keeps the next iteration from blocking */
    spin_max = 100;
    nd_post(&spin);
    ev_run(cycle.loop, EVRUN_NOWAIT);
    ok(spins > 1 && spins < spin_max, "one pass is bounded (%d rounds)",
       spins);

    /* each iteration blocks on the 30 s timer unless the pass kept the
     * loop awake; the last one returns through ev_break */
    for (i = 0; i < 20 && spins < spin_max; i++) {
        ev_run(cycle.loop, EVRUN_ONCE);
    }
    is_int(spins, spin_max, "the chain finished without sleeping");
    ok(ev_is_active(&t), "the timer never had to fire");

    ev_timer_stop(cycle.loop, &t);
    nd_event_module.exit(&cycle);
    nd_destroy_pool(cycle.pool);

    return done_testing();
}

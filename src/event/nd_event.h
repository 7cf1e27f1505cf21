/*
 * The event module: timers, deferred work once per loop pass, listeners,
 * graceful stop.  One libev loop per process (cycle->loop).
 */
#ifndef ND_EVENT_H
#define ND_EVENT_H

#include <nd_config.h>

typedef struct nd_event_bus_s  nd_event_bus_t;
typedef struct nd_timer_s   nd_timer_t;
typedef struct nd_posted_s  nd_posted_t;

typedef void (*nd_timer_handler_pt)(nd_timer_t *t);
typedef void (*nd_posted_handler_pt)(nd_posted_t *p);
typedef nd_int_t (*nd_accept_hook_pt)(nd_connection_t *c);

struct nd_timer_s {
    ev_timer              w;
    const char           *name;
    nd_timer_handler_pt   handler;
    void                 *data;
};

#define ND_TIMER_ONCE    0
#define ND_TIMER_REPEAT  1

void nd_timer_init(nd_timer_t *t, const char *name,
    nd_timer_handler_pt handler, void *data);
void nd_timer_start(nd_timer_t *t, nd_msec_t msec, int repeat);
void nd_timer_stop(nd_timer_t *t);
#define nd_timer_active(t)  ev_is_active(&(t)->w)

/* deferred work: runs once, in the loop pass before the loop sleeps
 * (nd_event.c); work posted from that pass runs in its next round */
struct nd_posted_s {
    nd_queue_t            queue;
    nd_posted_handler_pt  handler;
    void                 *data;
};

void nd_post(nd_posted_t *p);
void nd_post_cancel(nd_posted_t *p);

struct nd_listening_s {
    nd_addr_t             addr;
    int                   fd;
    int                   backlog;
    ev_io                 w;
    nd_timer_t            pause;
    void                (*handler)(nd_connection_t *c);
    void                 *data;          /* owner module context */
    const char           *owner;         /* module name, for logs */
    nd_ssl_ctx_t         *ssl;           /* TLS on every connection */
    unsigned              paused:1;
};

typedef struct {
    nd_msec_t             shutdown_timeout;

    /* runtime */
    nd_queue_t            posted;
    nd_queue_t            write_queue;   /* connections with output */
    nd_queue_t            close_queue;   /* connections to close */
    ev_prepare            prepare;
    ev_check              check;
    ev_idle               idle;
    nd_timer_t            shutdown_timer;
    ev_signal             signals[4];
    nd_array_t            accept_hooks;  /* nd_accept_hook_pt */
    nd_event_bus_t       *bus;
} nd_event_conf_t;

extern nd_module_t  nd_event_module;

nd_listening_t *nd_listening_add(nd_cycle_t *cycle, const nd_addr_t *addr,
    int backlog, void (*handler)(nd_connection_t *c), void *data,
    const char *owner);
nd_int_t nd_listening_open_all(nd_cycle_t *cycle);
void nd_listening_close_all(nd_cycle_t *cycle);

nd_int_t nd_event_add_accept_hook(nd_cycle_t *cycle, nd_accept_hook_pt hook);

#define nd_event_conf(cycle)                                                  \
    ((nd_event_conf_t *) nd_get_conf(cycle, nd_event_module))

#endif /* ND_EVENT_H */

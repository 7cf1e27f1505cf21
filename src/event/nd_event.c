/*
 * The event module: the loop pass (deferred work, writes, closes), timers,
 * signals, listeners and the graceful stop.
 */
#include <nd_core.h>

static void *nd_event_create_conf(nd_cycle_t *cycle);
static char *nd_event_init_conf(nd_cycle_t *cycle, void *conf);
static nd_int_t nd_event_init_module(nd_cycle_t *cycle);
static nd_int_t nd_event_start(nd_cycle_t *cycle);
static void nd_event_stop(nd_cycle_t *cycle);
static void nd_event_exit(nd_cycle_t *cycle);
static void nd_event_accept(struct ev_loop *loop, ev_io *w, int revents);

static nd_command_t  nd_event_commands[] = {

    { nd_string("events"),
      ND_MAIN_CONF | ND_CONF_BLOCK | ND_CONF_NOARGS,
      nd_conf_module_block, 0, NULL },

    { nd_string("shutdown_timeout"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_event_conf_t, shutdown_timeout),
      NULL },

    nd_null_command
};

nd_module_t  nd_event_module = {
    .name = "event",
    .commands = nd_event_commands,
    .create_conf = nd_event_create_conf,
    .init_conf = nd_event_init_conf,
    .init_module = nd_event_init_module,
    .start = nd_event_start,
    .stop = nd_event_stop,
    .exit = nd_event_exit,
};


static void *
nd_event_create_conf(nd_cycle_t *cycle)
{
    nd_event_conf_t  *ecf;

    ecf = nd_pcalloc(cycle->pool, sizeof(nd_event_conf_t));
    if (ecf == NULL) {
        return NULL;
    }

    ecf->shutdown_timeout = ND_CONF_UNSET_MSEC;

    return ecf;
}


static char *
nd_event_init_conf(nd_cycle_t *cycle, void *conf)
{
    nd_event_conf_t  *ecf = conf;

    nd_conf_init_msec_value(ecf->shutdown_timeout, 10000);

    return ND_CONF_OK;
}


/* timers */

static void
nd_timer_handler(struct ev_loop *loop, ev_timer *w, int revents)
{
    nd_timer_t  *t;

    t = w->data;
    t->handler(t);
}


void
nd_timer_init(nd_timer_t *t, const char *name, nd_timer_handler_pt handler,
    void *data)
{
    ev_init(&t->w, nd_timer_handler);
    t->w.data = t;
    t->name = name;
    t->handler = handler;
    t->data = data;
}


void
nd_timer_start(nd_timer_t *t, nd_msec_t msec, int repeat)
{
    ev_tstamp  after;

    after = (ev_tstamp) msec / 1000.0;
    ev_timer_stop(nd_cycle->loop, &t->w);
    ev_timer_set(&t->w, after, repeat ? after : 0.);
    ev_timer_start(nd_cycle->loop, &t->w);
}


void
nd_timer_stop(nd_timer_t *t)
{
    ev_timer_stop(nd_cycle->loop, &t->w);
}


/* deferred work */

void
nd_post(nd_posted_t *p)
{
    nd_event_conf_t  *ecf;

    if (nd_queue_linked(&p->queue)) {
        return;
    }

    ecf = nd_event_conf(nd_cycle);
    nd_queue_insert_tail(&ecf->posted, &p->queue);
}


void
nd_post_cancel(nd_posted_t *p)
{
    if (nd_queue_linked(&p->queue)) {
        nd_queue_remove(&p->queue);
    }
}


static void
nd_event_idle_handler(struct ev_loop *loop, ev_idle *w, int revents)
{
    ev_idle_stop(loop, w);
}


/*
 * The loop pass before sleep (Redis's beforeSleep, nginx's posted events):
 * the one ev_prepare watcher of the process.  Each round runs deferred
 * work, dispatches the event bus, flushes every pending write and closes
 * what was finalized; whatever one step posts or publishes (a store result
 * that publishes CONFIG_CHANGED, a subscriber that posts a push) is run by
 * the next round, so the loop never sleeps with work queued.  The rounds
 * are bounded so a chain that keeps posting cannot starve I/O; if the bound
 * is hit the idle watcher keeps the loop from blocking and the next
 * iteration goes on.  Then the stop check.
 */
#define ND_EVENT_PASS_ROUNDS  16

static nd_uint_t
nd_event_pass_pending(nd_event_conf_t *ecf)
{
    return !nd_queue_empty(&ecf->posted)
           || nd_event_bus_pending(ecf->bus)
           || !nd_queue_empty(&ecf->write_queue)
           || !nd_queue_empty(&ecf->close_queue);
}


static void
nd_event_prepare_handler(struct ev_loop *loop, ev_prepare *w, int revents)
{
    nd_uint_t         rounds;
    nd_queue_t        batch, *q;
    nd_cycle_t       *cycle;
    nd_posted_t      *p;
    nd_connection_t  *c;
    nd_event_conf_t  *ecf;

    cycle = w->data;
    ecf = nd_event_conf(cycle);

    for (rounds = 0; rounds < ND_EVENT_PASS_ROUNDS; rounds++) {

        /* what was posted before this round; work posted now waits for
         * the next round, so a chain that keeps posting stays bounded */
        nd_queue_move(&ecf->posted, &batch);

        while (!nd_queue_empty(&batch)) {
            q = nd_queue_head(&batch);
            nd_queue_remove(q);
            p = nd_queue_data(q, nd_posted_t, queue);
            p->handler(p);
        }

        nd_event_bus_dispatch(ecf->bus);

        while (!nd_queue_empty(&ecf->write_queue)) {
            q = nd_queue_head(&ecf->write_queue);
            nd_queue_remove(q);
            c = nd_queue_data(q, nd_connection_t, write_link);
            if (!c->close) {
                nd_connection_flush(c);
            }
        }

        while (!nd_queue_empty(&ecf->close_queue)) {
            q = nd_queue_head(&ecf->close_queue);
            nd_queue_remove(q);
            c = nd_queue_data(q, nd_connection_t, close_link);
            nd_connection_close(c);
        }

        if (!nd_event_pass_pending(ecf)) {
            break;
        }
    }

    if (nd_event_pass_pending(ecf)) {
        ev_idle_start(loop, &ecf->idle);
    }

    if (cycle->stopping && cycle->busy == 0) {
        nd_log_error(ND_LOG_INFO, cycle->log, 0, "all work drained");
        ev_break(loop, EVBREAK_ALL);
    }
}


static void
nd_event_check_handler(struct ev_loop *loop, ev_check *w, int revents)
{
    nd_time_update();
}


static void
nd_event_signal_handler(struct ev_loop *loop, ev_signal *w, int revents)
{
    nd_cycle_t  *cycle;

    cycle = w->data;

    switch (w->signum) {

    case SIGTERM:
    case SIGINT:
        nd_log_error(ND_LOG_NOTICE, cycle->log, 0,
                     "signal %d received, stopping", w->signum);
        nd_cycle_stop(cycle);
        break;

    case SIGHUP:
        nd_log_error(ND_LOG_NOTICE, cycle->log, 0,
                     "signal %d received, reloading", w->signum);
        nd_cycle_reload(cycle);
        break;

    case SIGUSR1:
        nd_log_error(ND_LOG_NOTICE, cycle->log, 0,
                     "signal %d received, reopening logs", w->signum);
        nd_cycle_reopen_logs(cycle);
        break;
    }
}


static void
nd_event_shutdown_timeout(nd_timer_t *t)
{
    nd_cycle_t  *cycle;

    cycle = t->data;
    nd_log_error(ND_LOG_WARN, cycle->log, 0,
                 "shutdown timeout, %lu busy connections are dropped",
                 (unsigned long) cycle->busy);
    ev_break(cycle->loop, EVBREAK_ALL);
}


static nd_int_t
nd_event_init_module(nd_cycle_t *cycle)
{
    nd_uint_t         i;
    nd_event_conf_t  *ecf;
    static const int  signals[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };

    ecf = nd_event_conf(cycle);

    nd_queue_init(&ecf->posted);
    nd_queue_init(&ecf->write_queue);
    nd_queue_init(&ecf->close_queue);

    if (nd_array_init(&ecf->accept_hooks, cycle->pool, 2,
                      sizeof(nd_accept_hook_pt)) != ND_OK)
    {
        return ND_ERROR;
    }

    ecf->bus = nd_event_bus_create();
    if (ecf->bus == NULL) {
        return ND_ERROR;
    }

    ev_prepare_init(&ecf->prepare, nd_event_prepare_handler);
    ev_set_priority(&ecf->prepare, EV_MINPRI);
    ecf->prepare.data = cycle;

    ev_check_init(&ecf->check, nd_event_check_handler);
    ev_set_priority(&ecf->check, EV_MAXPRI);

    ev_idle_init(&ecf->idle, nd_event_idle_handler);

    nd_timer_init(&ecf->shutdown_timer, "shutdown", nd_event_shutdown_timeout,
                  cycle);

    for (i = 0; i < nd_nelts(signals); i++) {
        ev_signal_init(&ecf->signals[i], nd_event_signal_handler, signals[i]);
        ecf->signals[i].data = cycle;
    }

    return nd_metrics_init(cycle);
}


static nd_int_t
nd_event_start(nd_cycle_t *cycle)
{
    nd_uint_t         i;
    nd_listening_t  **ls;
    nd_event_conf_t  *ecf;

    ecf = nd_event_conf(cycle);

    ev_prepare_start(cycle->loop, &ecf->prepare);
    ev_unref(cycle->loop);
    ev_check_start(cycle->loop, &ecf->check);
    ev_unref(cycle->loop);

    for (i = 0; i < nd_nelts(ecf->signals); i++) {
        ev_signal_start(cycle->loop, &ecf->signals[i]);
    }

    ls = cycle->listening.elts;
    for (i = 0; i < cycle->listening.nelts; i++) {
        ev_io_init(&ls[i]->w, nd_event_accept, ls[i]->fd, EV_READ);
        ls[i]->w.data = ls[i];
        ev_io_start(cycle->loop, &ls[i]->w);
    }

    nd_metrics_start(cycle);

    return ND_OK;
}


static void
nd_event_stop(nd_cycle_t *cycle)
{
    nd_event_conf_t  *ecf;

    ecf = nd_event_conf(cycle);

    nd_metrics_stop(cycle);
    nd_listening_close_all(cycle);
    nd_timer_start(&ecf->shutdown_timer, ecf->shutdown_timeout,
                   ND_TIMER_ONCE);
}


static void
nd_event_exit(nd_cycle_t *cycle)
{
    nd_uint_t         i;
    nd_queue_t       *q;
    nd_connection_t  *c;
    nd_event_conf_t  *ecf;

    ecf = nd_event_conf(cycle);

    while (!nd_queue_empty(&cycle->connections)) {
        q = nd_queue_head(&cycle->connections);
        c = nd_queue_data(q, nd_connection_t, queue);
        nd_connection_close(c);
    }

    nd_listening_close_all(cycle);

    if (ecf->bus == NULL) {
        return;
    }

    for (i = 0; i < nd_nelts(ecf->signals); i++) {
        ev_signal_stop(cycle->loop, &ecf->signals[i]);
    }

    nd_timer_stop(&ecf->shutdown_timer);

    if (ev_is_active(&ecf->prepare)) {
        ev_ref(cycle->loop);
        ev_prepare_stop(cycle->loop, &ecf->prepare);
    }
    if (ev_is_active(&ecf->check)) {
        ev_ref(cycle->loop);
        ev_check_stop(cycle->loop, &ecf->check);
    }
    ev_idle_stop(cycle->loop, &ecf->idle);

    nd_event_bus_destroy(ecf->bus);
    ecf->bus = NULL;
}


nd_int_t
nd_event_add_accept_hook(nd_cycle_t *cycle, nd_accept_hook_pt hook)
{
    nd_accept_hook_pt  *h;

    h = nd_array_push(&nd_event_conf(cycle)->accept_hooks);
    if (h == NULL) {
        return ND_ERROR;
    }

    *h = hook;
    return ND_OK;
}


/* listeners */

nd_listening_t *
nd_listening_add(nd_cycle_t *cycle, const nd_addr_t *addr, int backlog,
    void (*handler)(nd_connection_t *c), void *data, const char *owner)
{
    nd_listening_t  *ls, **lsp;

    ls = nd_pcalloc(cycle->pool, sizeof(nd_listening_t));
    lsp = nd_array_push(&cycle->listening);
    if (ls == NULL || lsp == NULL) {
        return NULL;
    }

    ls->addr = *addr;
    ls->fd = -1;
    ls->backlog = backlog;
    ls->handler = handler;
    ls->data = data;
    ls->owner = owner;
    *lsp = ls;

    return ls;
}


nd_int_t
nd_listening_open_all(nd_cycle_t *cycle)
{
    int               fd, on;
    nd_uint_t         i;
    nd_listening_t  **ls;

    ls = cycle->listening.elts;

    for (i = 0; i < cycle->listening.nelts; i++) {
        fd = socket(ls[i]->addr.sa.ss_family,
                    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            nd_log_stderr(errno, "socket() for %s failed", ls[i]->addr.text);
            return ND_ERROR;
        }

        on = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));

        if (ls[i]->addr.sa.ss_family == AF_INET6) {
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
        }

        if (bind(fd, (struct sockaddr *) &ls[i]->addr.sa, ls[i]->addr.socklen)
            < 0)
        {
            nd_log_stderr(errno, "bind() to %s failed (%s)",
                          ls[i]->addr.text, ls[i]->owner);
            close(fd);
            return ND_ERROR;
        }

        if (listen(fd, ls[i]->backlog) < 0) {
            nd_log_stderr(errno, "listen() to %s failed", ls[i]->addr.text);
            close(fd);
            return ND_ERROR;
        }

        ls[i]->fd = fd;
    }

    return ND_OK;
}


void
nd_listening_close_all(nd_cycle_t *cycle)
{
    nd_uint_t         i;
    nd_listening_t  **ls;

    ls = cycle->listening.elts;

    for (i = 0; i < cycle->listening.nelts; i++) {
        if (ls[i]->fd == -1) {
            continue;
        }

        if (cycle->loop) {
            ev_io_stop(cycle->loop, &ls[i]->w);
            if (ls[i]->pause.handler) {
                nd_timer_stop(&ls[i]->pause);
            }
        }
        close(ls[i]->fd);
        ls[i]->fd = -1;
    }
}


static void
nd_event_accept_resume(nd_timer_t *t)
{
    nd_listening_t  *ls;

    ls = t->data;
    ls->paused = 0;

    if (ls->fd != -1) {
        ev_io_start(nd_cycle->loop, &ls->w);
    }
}


static void
nd_event_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    int                   fd, on;
    nd_uint_t             i, n;
    socklen_t             len;
    nd_listening_t       *ls;
    nd_connection_t      *c;
    nd_event_conf_t      *ecf;
    nd_accept_hook_pt    *hooks;
    struct sockaddr_storage  sa;

    ls = w->data;
    ecf = nd_event_conf(nd_cycle);

    for (n = 0; n < 64; n++) {
        len = sizeof(sa);
        fd = accept4(ls->fd, (struct sockaddr *) &sa, &len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
                || errno == ECONNABORTED)
            {
                return;
            }

            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS
                || errno == ENOMEM)
            {
                nd_log_error(ND_LOG_CRIT, nd_cycle->log, errno,
                             "accept() on %s failed, pausing accepts",
                             ls->addr.text);
                ev_io_stop(loop, &ls->w);
                ls->paused = 1;
                if (ls->pause.handler == NULL) {
                    nd_timer_init(&ls->pause, "accept pause",
                                  nd_event_accept_resume, ls);
                }
                nd_timer_start(&ls->pause, 100, ND_TIMER_ONCE);
                return;
            }

            nd_log_error(ND_LOG_ERR, nd_cycle->log, errno,
                         "accept() on %s failed", ls->addr.text);
            return;
        }

        on = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));

        c = nd_connection_create(nd_cycle, fd, ls);
        if (c == NULL) {
            close(fd);
            continue;
        }

        nd_addr_from_sockaddr(&c->addr, (struct sockaddr *) &sa, len);

        hooks = ecf->accept_hooks.elts;
        for (i = 0; i < ecf->accept_hooks.nelts; i++) {
            if (hooks[i](c) != ND_OK) {
                break;
            }
        }

        if (i < ecf->accept_hooks.nelts) {
            nd_connection_close(c);
            continue;
        }

        ls->handler(c);
    }
}

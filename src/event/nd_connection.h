/*
 * Connections: non-blocking sockets with lazy writes.  Output is queued in
 * a bounded buffer and flushed once per loop pass; closing is deferred to
 * the same pass so no watcher ever runs on freed memory.
 */
#ifndef ND_CONNECTION_H
#define ND_CONNECTION_H

#include <nd_config.h>

typedef void (*nd_connection_handler_pt)(nd_connection_t *c);
/* an outbound connect ended: err 0 (c is connected), or an errno
 * (ECONNREFUSED, ETIMEDOUT, ...): then c is already closing, forget it */
typedef void (*nd_connect_handler_pt)(nd_connection_t *c, int err,
    void *data);
typedef struct nd_connect_s  nd_connect_t;

struct nd_connection_s {
    int                        fd;
    ev_io                      rev;
    ev_io                      wev;
    void                      *data;        /* owner (protocol) state */
    nd_pool_t                 *pool;
    nd_log_t                   log;
    nd_listening_t            *listening;   /* NULL: outbound */
    nd_connect_t              *connect;     /* while connecting */
    nd_addr_t                  addr;        /* peer */
    nd_uint_t                  number;

    nd_buf_t                   out;
    nd_buf_refs_t              out_refs;    /* shared blocks among out */
    size_t                     out_max;     /* queued bytes before error */

    nd_queue_t                 queue;       /* cycle->connections */
    nd_queue_t                 write_link;  /* event write_queue */
    nd_queue_t                 close_link;  /* event close_queue */

    nd_connection_handler_pt   read_handler;
    nd_connection_handler_pt   drained_handler; /* all output written */
    nd_connection_handler_pt   close_handler;   /* owner cleanup */

    nd_ssl_t                  *ssl;         /* TLS (nd_ssl.c) or NULL */

    unsigned                   close:1;
    unsigned                   close_after_write:1;
    unsigned                   error:1;
    unsigned                   busy:1;      /* counted in cycle->busy */
    unsigned                   ssl_write_on_read:1;  /* flush waits for
                                                        the peer's data */
    unsigned                   ssl_read_on_write:1;  /* read waits for a
                                                        writable socket */
    unsigned                   ssl_failed:1;
    unsigned                   reading:1;   /* the owner reads (rev may
                                               also run for TLS alone) */
};

nd_connection_t *nd_connection_create(nd_cycle_t *cycle, int fd,
    nd_listening_t *ls);
/*
 * Dial addr without blocking (TCP_NODELAY): the connection, with no read
 * handler yet, or NULL when no socket could be made (logged).  handler
 * runs exactly once, from the loop (never from inside this call), unless
 * the connection is closed first; after it, c is like an accepted one.
 */
nd_connection_t *nd_connection_connect(nd_cycle_t *cycle,
    const nd_addr_t *addr, nd_msec_t timeout, nd_connect_handler_pt handler,
    void *data);
/* queue output; ND_ERROR (and the connection is closed) when the queue
 * would pass out_max */
nd_int_t nd_connection_send(nd_connection_t *c, const void *data, size_t len);
/* the same without a copy: len bytes at data inside sh, written from sh
 * (which holds one more reference until they are) */
nd_int_t nd_connection_send_ref(nd_connection_t *c, nd_shared_t *sh,
    const u_char *data, size_t len);
/* bytes queued, own and referenced */
#define nd_connection_queued(c)  nd_buf_refs_size(&(c)->out, &(c)->out_refs)
/* read: bytes read (> 0), 0 at end of stream, ND_AGAIN when nothing is
 * there now, ND_ERROR on an error (logged); EINTR is retried */
ssize_t nd_connection_recv(nd_connection_t *c, u_char *buf, size_t size);
/* flush now (normally done by the loop pass) */
nd_int_t nd_connection_flush(nd_connection_t *c);
void nd_connection_read_start(nd_connection_t *c);
void nd_connection_read_stop(nd_connection_t *c);
/* close in the next loop pass; after_write: once queued output is sent */
void nd_connection_finalize(nd_connection_t *c, int after_write);
void nd_connection_set_busy(nd_connection_t *c, int busy);
/* close now; never call from inside one of c's own watchers */
void nd_connection_close(nd_connection_t *c);

#endif /* ND_CONNECTION_H */

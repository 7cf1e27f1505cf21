/*
 * The measurement of issue 21 (docs/event.md): the pending writes of one
 * loop pass submitted as one io_uring batch (IORING_OP_SEND, one
 * io_uring_enter for up to ND_URING_BATCH connections) instead of one
 * send() per connection.  Built only with ./configure --with-io_uring;
 * the default build flushes with send() (nd_connection_flush).
 *
 * Every send carries MSG_DONTWAIT, so io_uring never parks it: it ends
 * inside the io_uring_enter that submitted it, with the bytes sent or
 * -EAGAIN, and the buffers are free again when the batch returns.  What
 * is left (a partial send, EAGAIN, an error) goes through
 * nd_connection_flush as before, which also runs the drained handlers.
 */
#include <nd_core.h>

#ifdef ND_HAVE_IO_URING

#include <liburing.h>

#define ND_URING_BATCH  1024

static struct io_uring  nd_uring;
static int              nd_uring_state;     /* 0 untried, 1 up, -1 off */


static int
nd_event_uring_init(void)
{
    int  rc;

    rc = io_uring_queue_init(ND_URING_BATCH, &nd_uring,
                             IORING_SETUP_SUBMIT_ALL
                             | IORING_SETUP_COOP_TASKRUN
                             | IORING_SETUP_SINGLE_ISSUER);
    if (rc < 0) {
        rc = io_uring_queue_init(ND_URING_BATCH, &nd_uring, 0);
    }

    if (rc < 0) {
        nd_log_error(ND_LOG_WARN, nd_cycle->log, -rc,
                     "io_uring_queue_init() failed, writes use send()");
        nd_uring_state = -1;
        return 0;
    }

    nd_uring_state = 1;
    return 1;
}


void
nd_event_uring_flush(nd_queue_t *queue)
{
    int                    rc;
    unsigned               n, head, seen;
    nd_queue_t            *q;
    nd_connection_t       *c;
    struct io_uring_sqe   *sqe;
    struct io_uring_cqe   *cqe;

    while (!nd_queue_empty(queue)) {

        /* one connection alone: a send() costs what an enter does */
        if (nd_uring_state < 0 || nd_queue_head(queue) == nd_queue_last(queue)
            || (nd_uring_state == 0 && !nd_event_uring_init()))
        {
            q = nd_queue_head(queue);
            nd_queue_remove(q);
            c = nd_queue_data(q, nd_connection_t, write_link);
            if (!c->close) {
                nd_connection_flush(c);
            }
            continue;
        }

        n = 0;

        while (!nd_queue_empty(queue) && n < ND_URING_BATCH) {
            q = nd_queue_head(queue);
            nd_queue_remove(q);
            c = nd_queue_data(q, nd_connection_t, write_link);

            if (c->close) {
                continue;
            }

            if (c->ssl || nd_buf_size(&c->out) == 0) {
                nd_connection_flush(c);
                continue;
            }

            sqe = io_uring_get_sqe(&nd_uring);
            if (sqe == NULL) {
                nd_connection_flush(c);
                continue;
            }

            io_uring_prep_send(sqe, c->fd, nd_buf_start(&c->out),
                               nd_buf_size(&c->out),
                               MSG_NOSIGNAL | MSG_DONTWAIT);
            io_uring_sqe_set_data(sqe, c);
            n++;
        }

        if (n == 0) {
            continue;
        }

        do {
            rc = io_uring_submit_and_wait(&nd_uring, n);
        } while (rc == -EINTR);

        if (rc < 0) {
            nd_log_error(ND_LOG_ALERT, nd_cycle->log, -rc,
                         "io_uring_submit_and_wait() failed");
        }

        seen = 0;

        io_uring_for_each_cqe(&nd_uring, head, cqe) {
            c = io_uring_cqe_get_data(cqe);
            seen++;

            if (cqe->res > 0) {
                nd_buf_consume(&c->out, (size_t) cqe->res);
            }

            if (cqe->res == -EAGAIN) {
                ev_io_start(nd_cycle->loop, &c->wev);
                continue;
            }

            /* the rest, an error (sent again, to be logged) or the
             * drained part */
            nd_connection_flush(c);
        }

        io_uring_cq_advance(&nd_uring, seen);
    }
}


void
nd_event_uring_exit(void)
{
    if (nd_uring_state == 1) {
        io_uring_queue_exit(&nd_uring);
    }

    nd_uring_state = 0;
}

#endif /* ND_HAVE_IO_URING */

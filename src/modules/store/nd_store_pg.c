/*
 * The pg backend: libpq in non-blocking pipeline mode, driven by the loop.
 *
 * A small pool of connections.  The first ready connection is the writer:
 * queued writes go to it in batches, each batch one pipeline segment (one
 * implicit transaction up to its Sync: group commit), one in flight:
 * what queues meanwhile is the next group (with a group's publishes in
 * one statement, a larger group costs PostgreSQL less a write than two
 * alternating smaller ones gain by overlapping), and the next group
 * gathers its writers first (nd_store_gather_want, commit_gather).
 * Writes take the global change sequence row lock inside the server
 * functions (conf/schema/pg.sql), so sequence order is commit order.
 * Reads go, one per segment, to the least busy connection.
 *
 * A connection that fails, or whose oldest segment passes query_timeout,
 * is dropped: its operations fail (503), and it reconnects with backoff.
 * While no connection is ready, operations fail at once with 503.
 */
#include <nd_store_internal.h>
#include <nd_store_pg.h>
#include <nd_store_pg_batch.h>

#define ND_PG_DOWN        0
#define ND_PG_CONNECTING  1
#define ND_PG_SCHEMA      2
#define ND_PG_PREPARING   3
#define ND_PG_READY       4

#define ND_PG_SCHEMA_LOCK  "4711470"

#define ND_PG_WRITE_UNITS  1
#define ND_PG_READ_UNITS   16

typedef struct nd_store_pg_conn_s  nd_store_pg_conn_t;

typedef struct {
    nd_queue_t           link;          /* conn->units */
    nd_queue_t           ops;
    nd_uint_t            nops;
    unsigned             write:1;
    unsigned             failed:1;
    const char          *error;
} nd_store_pg_unit_t;

struct nd_store_pg_conn_s {
    nd_store_pg_t       *pg;
    PGconn              *conn;
    ev_io                io;
    int                  fd;
    int                  events;
    int                  state;
    nd_uint_t            index;
    nd_timer_t           retry;
    nd_timer_t           timeout;
    nd_msec_t            backoff;

    nd_queue_t           units;         /* sent, awaiting their Sync */
    nd_uint_t            nunits;
    nd_uint_t            nwrites;

    /* result cursor in the head unit */
    nd_queue_t          *cur;           /* op link, or the sentinel */
    nd_uint_t            stmt;
    unsigned             expect_null:1;

    /* schema / prepare steps */
    int                  step;
    int64_t              version;
    nd_uint_t            pending;
    const char          *step_error;
};

struct nd_store_pg_s {
    nd_store_conf_t     *scf;
    nd_cycle_t          *cycle;
    nd_store_pg_conn_t  *conns;
    nd_uint_t            nconns;
    nd_queue_t           writes;
    nd_queue_t           reads;
    char                *schema;        /* pg.sql */
    nd_buf_t             batch;         /* a batch's parameters */
    size_t               schema_len;
    nd_uint_t            ready;         /* connections ready */
    nd_uint_t            nwrites;       /* queued in writes */
    nd_uint_t            want;          /* the next group's gather target */
    nd_timer_t           gather;        /* commit_gather */
    unsigned             schema_done:1;
    unsigned             loaded:1;
    unsigned             loading:1;
    unsigned             stopping:1;
};






static nd_int_t nd_store_pg_start(nd_cycle_t *cycle);
static void nd_store_pg_submit(nd_cycle_t *cycle, nd_store_op_t *op);
static nd_int_t nd_store_pg_available(nd_cycle_t *cycle);
static void nd_store_pg_stop(nd_cycle_t *cycle);
static void nd_store_pg_exit(nd_cycle_t *cycle);
static void nd_store_pg_connect(nd_store_pg_conn_t *pc);
static void nd_store_pg_drop(nd_store_pg_conn_t *pc, const char *why);
static void nd_store_pg_dispatch(nd_store_pg_t *pg);
static void nd_store_pg_gather_expired(nd_timer_t *t);
static void nd_store_pg_io_handler(struct ev_loop *loop, ev_io *w,
    int revents);

nd_store_backend_t  nd_store_pg_backend = {
    .name = "pg",
    .start = nd_store_pg_start,
    .submit = nd_store_pg_submit,
    .available = nd_store_pg_available,
    .stop = nd_store_pg_stop,
    .exit = nd_store_pg_exit,
};




static void
nd_store_pg_notice(void *arg, const char *message)
{
    /* NOTICEs ("relation already exists, skipping") are not for us */
}


static void
nd_store_pg_io_set(nd_store_pg_conn_t *pc, int events)
{
    int              fd;
    struct ev_loop  *loop;

    loop = pc->pg->cycle->loop;
    fd = pc->conn ? nd_pq.PQsocket(pc->conn) : -1;

    if (fd == pc->fd && events == pc->events) {
        return;
    }

    if (pc->fd != -1) {
        ev_io_stop(loop, &pc->io);
    }

    pc->fd = fd;
    pc->events = events;

    if (fd != -1 && events) {
        ev_io_set(&pc->io, fd, events);
        ev_io_start(loop, &pc->io);
    }
}


static char *
nd_store_pg_msg(nd_store_op_t *op, const char *prefix, const char *err)
{
    char    *m;
    size_t   n;

    n = strlen(prefix) + strlen(err) + 1;
    m = nd_pnalloc(op->pool, n);
    if (m == NULL) {
        return (char *) prefix;
    }
    snprintf(m, n, "%s%s", prefix, err);
    /* libpq messages end with a newline */
    while (n > 1 && (m[n - 2] == '\n' || m[n - 2] == ' ')) {
        m[n - 2] = '\0';
        n--;
    }

    return m;
}


static void
nd_store_pg_reset_op(nd_store_op_t *op)
{
    op->rc = ND_OK;
    op->status = 200;
    op->error = NULL;
    op->rows.nelts = 0;
    op->affected = 0;
    op->write_status = 0;
    op->seq = 0;
    op->total = 0;
    op->pg_batch = 0;
}


/* fail every op still queued (nothing is ready to run it) */
static void
nd_store_pg_fail_queued(nd_store_pg_t *pg, const char *why)
{
    nd_queue_t     *q, *queues[2];
    nd_uint_t       i;
    nd_store_op_t  *op;

    queues[0] = &pg->writes;
    queues[1] = &pg->reads;
    pg->nwrites = 0;

    for (i = 0; i < 2; i++) {
        while (!nd_queue_empty(queues[i])) {
            q = nd_queue_head(queues[i]);
            nd_queue_remove(q);
            op = nd_queue_data(q, nd_store_op_t, queue);
            nd_store_fail(op, 503, why);
            nd_store_complete(op);
        }
    }
}


/* sending */

static nd_int_t
nd_store_pg_send_op(nd_store_pg_conn_t *pc, nd_store_op_t *op)
{
    int               i, j;
    char              name[16];
    nd_uint_t         n;
    const char       *values[ND_STORE_MAX_PARAMS];
    nd_store_stmt_t   plan[ND_STORE_PLAN_MAX];

    n = nd_store_plan(op, plan);
    op->plan_n = (unsigned char) n;

    for (i = 0; i < (int) n; i++) {
        op->plan_rows[i] = (unsigned char) plan[i].rows;

        for (j = 0; j < (int) plan[i].nparams; j++) {
            values[j] = (const char *) plan[i].params[j].text.data;
        }

        snprintf(name, sizeof(name), "nd%d", (int) plan[i].sql);

        if (!nd_pq.PQsendQueryPrepared(pc->conn, name,
                                       (int) plan[i].nparams, values, NULL,
                                       NULL, 0))
        {
            return ND_ERROR;
        }
    }

    return ND_OK;
}


/* publishes ops[0..n) as one statement (nd_store_pg_batch.c); ops[0]
 * gets its result, the others none */
static nd_int_t
nd_store_pg_send_batch(nd_store_pg_conn_t *pc, nd_store_op_t **ops,
    nd_uint_t n)
{
    nd_uint_t              i;
    nd_store_pg_params_t   pp;

    if (nd_store_pg_batch_encode(&pc->pg->batch, ops, n, &pp) != ND_OK) {
        return ND_ERROR;
    }

    for (i = 1; i < n; i++) {
        ops[i]->plan_n = 0;
        ops[i]->pg_batch = 0;
    }

    ops[0]->plan_n = 1;
    ops[0]->plan_rows[0] = ND_STORE_ROWS_WRITE;
    ops[0]->pg_batch = (unsigned short) n;

    if (!nd_pq.PQsendQueryPrepared(pc->conn, "nd_batch", ND_PG_BATCH_PARAMS,
                                   pp.values, pp.lengths, pp.formats, 0))
    {
        return ND_ERROR;
    }

    return ND_OK;
}


static nd_store_pg_unit_t *
nd_store_pg_unit(nd_store_pg_conn_t *pc, int write)
{
    nd_store_pg_unit_t  *u;

    u = nd_calloc(sizeof(nd_store_pg_unit_t));
    if (u == NULL) {
        return NULL;
    }

    nd_queue_init(&u->ops);
    u->write = write;

    return u;
}


static void
nd_store_pg_flush(nd_store_pg_conn_t *pc)
{
    int  rc;

    rc = nd_pq.PQflush(pc->conn);

    if (rc == -1) {
        nd_store_pg_drop(pc, nd_pq.PQerrorMessage(pc->conn));
        return;
    }

    nd_store_pg_io_set(pc, rc == 1 ? EV_READ | EV_WRITE : EV_READ);
}


static nd_int_t
nd_store_pg_send_unit(nd_store_pg_conn_t *pc, nd_store_pg_unit_t *u)
{
    nd_uint_t       i, n;
    nd_queue_t     *q;
    nd_store_op_t  *op, *ops[ND_PG_BATCH_MAX];

    q = nd_queue_head(&u->ops);

    while (q != nd_queue_sentinel(&u->ops)) {
        op = nd_queue_data(q, nd_store_op_t, queue);
        op->pg_batch = 0;

        n = u->write ? nd_store_pg_batch_collect(q, nd_queue_sentinel(&u->ops),
                                                 ops, ND_PG_BATCH_MAX)
                     : 0;

        if (n >= 2) {
            if (nd_store_pg_send_batch(pc, ops, n) != ND_OK) {
                return ND_ERROR;
            }
            for (i = 0; i < n; i++) {
                q = nd_queue_next(q);
            }
            continue;
        }

        if (nd_store_pg_send_op(pc, op) != ND_OK) {
            return ND_ERROR;
        }
        q = nd_queue_next(q);
    }

    if (!nd_pq.PQpipelineSync(pc->conn)) {
        return ND_ERROR;
    }

    if (nd_queue_empty(&pc->units)) {
        pc->cur = nd_queue_head(&u->ops);
        pc->stmt = 0;
        pc->expect_null = 0;
    }

    nd_queue_insert_tail(&pc->units, &u->link);
    pc->nunits++;
    if (u->write) {
        pc->nwrites++;
    }

    if (!nd_timer_active(&pc->timeout)) {
        nd_timer_start(&pc->timeout, pc->pg->scf->query_timeout,
                       ND_TIMER_ONCE);
    }

    return ND_OK;
}


static nd_store_pg_conn_t *
nd_store_pg_writer(nd_store_pg_t *pg)
{
    nd_uint_t  i;

    for (i = 0; i < pg->nconns; i++) {
        if (pg->conns[i].state == ND_PG_READY) {
            return &pg->conns[i];
        }
    }

    return NULL;
}


static void
nd_store_pg_dispatch(nd_store_pg_t *pg)
{
    nd_uint_t            i, n, max;
    nd_queue_t          *q;
    nd_store_op_t       *op;
    nd_store_pg_unit_t  *u;
    nd_store_pg_conn_t  *w, *pc, *best, *sent[64];
    nd_uint_t            nsent;

    nsent = 0;
    w = nd_store_pg_writer(pg);

    if (w == NULL) {
        if (!nd_queue_empty(&pg->writes) || !nd_queue_empty(&pg->reads)) {
            nd_store_pg_fail_queued(pg, "database unavailable");
        }
        return;
    }

    max = (nd_uint_t) pg->scf->commit_batch;

    if (w->nwrites == 0 && pg->nwrites > 0 && pg->nwrites < pg->want) {
        /* the writers of the group before are coming back */
        if (!nd_timer_active(&pg->gather)) {
            nd_timer_start(&pg->gather, pg->scf->commit_gather,
                           ND_TIMER_ONCE);
        }
        goto reads;
    }

    while (!nd_queue_empty(&pg->writes) && w->nwrites < ND_PG_WRITE_UNITS) {
        u = nd_store_pg_unit(w, 1);
        if (u == NULL) {
            break;
        }

        for (n = 0; n < max && !nd_queue_empty(&pg->writes); n++) {
            q = nd_queue_head(&pg->writes);
            op = nd_queue_data(q, nd_store_op_t, queue);
            if (op->solo && n > 0) {
                break;
            }
            nd_queue_remove(q);
            nd_queue_insert_tail(&u->ops, q);
            u->nops++;
            pg->nwrites--;
            if (op->solo) {
                n++;
                break;
            }
        }

        if (nd_store_pg_send_unit(w, u) != ND_OK) {
            /* the unit's ops go back; the drop fails them */
            nd_queue_insert_tail(&w->units, &u->link);
            w->nunits++;
            nd_store_pg_drop(w, nd_pq.PQerrorMessage(w->conn));
            nd_store_pg_dispatch(pg);
            return;
        }

        sent[nsent++] = w;
        nd_timer_stop(&pg->gather);
    }

reads:

    while (!nd_queue_empty(&pg->reads)) {
        best = NULL;
        for (i = 0; i < pg->nconns; i++) {
            pc = &pg->conns[i];
            if (pc->state != ND_PG_READY || pc->nunits >= ND_PG_READ_UNITS) {
                continue;
            }
            /* the writer last */
            if (best == NULL
                || (best == w && pc != w)
                || (pc != w && pc->nunits < best->nunits))
            {
                best = pc;
            }
        }

        if (best == NULL) {
            break;                      /* all busy: wait */
        }

        u = nd_store_pg_unit(best, 0);
        if (u == NULL) {
            break;
        }

        q = nd_queue_head(&pg->reads);
        nd_queue_remove(q);
        nd_queue_insert_tail(&u->ops, q);
        u->nops = 1;

        if (nd_store_pg_send_unit(best, u) != ND_OK) {
            nd_queue_insert_tail(&best->units, &u->link);
            best->nunits++;
            nd_store_pg_drop(best, nd_pq.PQerrorMessage(best->conn));
            nd_store_pg_dispatch(pg);
            return;
        }

        if (nsent < nd_nelts(sent)) {
            sent[nsent++] = best;
        }
    }

    for (i = 0; i < pg->nconns; i++) {
        pc = &pg->conns[i];
        for (n = 0; n < nsent; n++) {
            if (sent[n] == pc) {
                nd_store_pg_flush(pc);
                break;
            }
        }
    }
}


static void
nd_store_pg_gather_expired(nd_timer_t *t)
{
    nd_store_pg_t  *pg = t->data;

    pg->want = pg->nwrites;             /* go with what came */
    nd_store_pg_dispatch(pg);
}


static void
nd_store_pg_submit(nd_cycle_t *cycle, nd_store_op_t *op)
{
    nd_store_pg_t  *pg;

    pg = nd_store_conf(cycle)->pg;

    if (pg->ready == 0 || pg->stopping) {
        nd_store_fail(op, 503, "database unavailable");
        nd_store_complete(op);
        return;
    }

    if (nd_store_op_is_write(op)) {
        nd_queue_insert_tail(&pg->writes, &op->queue);
        pg->nwrites++;
    } else {
        nd_queue_insert_tail(&pg->reads, &op->queue);
    }

    nd_store_pg_dispatch(pg);
}


static nd_int_t
nd_store_pg_available(nd_cycle_t *cycle)
{
    nd_store_pg_t  *pg;

    pg = nd_store_conf(cycle)->pg;

    return pg && pg->ready && pg->loaded ? ND_OK : ND_DECLINED;
}


/* results */

static void nd_store_pg_load_rows(nd_store_conf_t *scf, nd_store_op_t *op,
    nd_store_row_t *row, int n);
static void nd_store_pg_batch_rows(nd_store_pg_conn_t *pc, nd_store_op_t *op,
    nd_store_row_t *row, int n);

static void
nd_store_pg_get(void *ctx, int col, nd_str_t *out)
{
    PGresult  **res = ctx;
    int         row;

    row = (int) (intptr_t) res[1];

    if (nd_pq.PQgetisnull(res[0], row, col)) {
        out->data = NULL;
        out->len = 0;
        return;
    }

    out->data = (u_char *) nd_pq.PQgetvalue(res[0], row, col);
    out->len = (size_t) nd_pq.PQgetlength(res[0], row, col);
}


static void
nd_store_pg_result(nd_store_pg_conn_t *pc, PGresult *res)
{
    int                  i, n;
    void                *ctx[2];
    nd_store_op_t       *op;
    nd_store_row_t       row;
    nd_store_pg_unit_t  *u;
    ExecStatusType       st;

    u = nd_queue_data(nd_queue_head(&pc->units), nd_store_pg_unit_t, link);

    if (pc->cur == nd_queue_sentinel(&u->ops)) {
        return;                         /* more results than statements */
    }

    op = nd_queue_data(pc->cur, nd_store_op_t, queue);
    st = nd_pq.PQresultStatus(res);

    if (st == PGRES_PIPELINE_ABORTED) {
        u->failed = 1;
        return;
    }

    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        u->failed = 1;
        if (op->rc == ND_OK) {
            nd_store_fail(op, 500,
                          nd_store_pg_msg(op, "database error: ",
                                          nd_pq.PQresultErrorMessage(res)));
        }
        return;
    }

    if (op->rc != ND_OK || pc->stmt >= op->plan_n) {
        return;
    }

    n = nd_pq.PQntuples(res);
    ctx[0] = res;
    row.ctx = ctx;
    row.get = nd_store_pg_get;
    row.get_int = NULL;

    if (op->type == ND_STORE_CONFIG_LOAD) {
        nd_store_pg_load_rows(pc->pg->scf, op, &row, n);
        return;
    }

    if (op->pg_batch) {
        nd_store_pg_batch_rows(pc, op, &row, n);
        return;
    }

    for (i = 0; i < n; i++) {
        ctx[1] = (void *) (intptr_t) i;
        if (nd_store_decode_row(op, op->plan_rows[pc->stmt], &row) != ND_OK) {
            nd_store_fail(op, 500, "out of memory");
            return;
        }
    }
}


/* a batch's answer: row i is the ith publish's, from op on */
static void
nd_store_pg_batch_rows(nd_store_pg_conn_t *pc, nd_store_op_t *op,
    nd_store_row_t *row, int n)
{
    int          i;
    void       **ctx;
    nd_queue_t  *q;

    ctx = row->ctx;

    if (n != (int) op->pg_batch) {
        /* not what the statement answers: fail the unit; its ops run
         * again one by one */
        nd_store_fail(op, 500, "database error: a batch answered the wrong "
                               "number of rows");
        nd_queue_data(nd_queue_head(&pc->units), nd_store_pg_unit_t,
                      link)->failed = 1;
        return;
    }

    q = &op->queue;

    for (i = 0; i < n; i++, q = nd_queue_next(q)) {
        op = nd_queue_data(q, nd_store_op_t, queue);
        ctx[1] = (void *) (intptr_t) i;
        if (nd_store_decode_row(op, ND_STORE_ROWS_WRITE, row) != ND_OK) {
            nd_store_fail(op, 500, "out of memory");
        }
    }
}


/* the cache load: each row straight from libpq's into its cache entry
 * (views: one copy, no array of every row in the op); any order, the keys
 * are unique and one snapshot holds every change up to its highest */
static void
nd_store_pg_load_rows(nd_store_conf_t *scf, nd_store_op_t *op,
    nd_store_row_t *row, int n)
{
    int     i;
    void  **ctx;

    ctx = row->ctx;
    op->views = 1;
    scf->loading = 1;

    for (i = 0; i < n; i++) {
        ctx[1] = (void *) (intptr_t) i;
        op->rows.nelts = 0;
        if (nd_store_decode_row(op, ND_STORE_ROWS_CONFIG, row) != ND_OK) {
            nd_store_fail(op, 500, "out of memory");
            break;
        }
        nd_store_cache_load(scf, op);
        op->total++;
    }

    op->rows.nelts = 0;
    scf->loading = 0;
}


static void
nd_store_pg_advance(nd_store_pg_conn_t *pc)
{
    nd_store_op_t       *op;
    nd_store_pg_unit_t  *u;

    u = nd_queue_data(nd_queue_head(&pc->units), nd_store_pg_unit_t, link);

    if (pc->cur == nd_queue_sentinel(&u->ops)) {
        return;
    }

    op = nd_queue_data(pc->cur, nd_store_op_t, queue);

    if (++pc->stmt >= op->plan_n) {
        pc->stmt = 0;
        /* past the publishes a batch statement answered */
        do {
            pc->cur = nd_queue_next(pc->cur);
        } while (pc->cur != nd_queue_sentinel(&u->ops)
                 && nd_queue_data(pc->cur, nd_store_op_t,
                                  queue)->plan_n == 0);
    }
}


/* the head unit's Sync arrived */
static void
nd_store_pg_unit_done(nd_store_pg_conn_t *pc)
{
    nd_queue_t          *q;
    nd_store_op_t       *op;
    nd_store_pg_t       *pg;
    nd_store_pg_unit_t  *u, *next;

    pg = pc->pg;
    q = nd_queue_head(&pc->units);
    u = nd_queue_data(q, nd_store_pg_unit_t, link);
    nd_queue_remove(q);
    pc->nunits--;
    if (u->write) {
        pc->nwrites--;
        pg->scf->groups++;
        pg->scf->group_ops += u->nops;
        pg->want = nd_store_gather_want(pg->scf, u->nops, pg->nwrites);
    }

    if (!nd_queue_empty(&pc->units)) {
        next = nd_queue_data(nd_queue_head(&pc->units), nd_store_pg_unit_t,
                             link);
        pc->cur = nd_queue_head(&next->ops);
        nd_timer_start(&pc->timeout, pg->scf->query_timeout, ND_TIMER_ONCE);
    } else {
        nd_timer_stop(&pc->timeout);
    }

    pc->stmt = 0;
    pc->expect_null = 0;

    if (u->failed && u->write && u->nops > 1) {
        /* the whole segment rolled back: each op runs again alone, so
         * one bad write does not change the others' outcome */
        while (!nd_queue_empty(&u->ops)) {
            q = nd_queue_last(&u->ops);
            nd_queue_remove(q);
            op = nd_queue_data(q, nd_store_op_t, queue);
            nd_store_pg_reset_op(op);
            op->solo = 1;
            nd_queue_insert_head(&pg->writes, q);
            pg->nwrites++;
        }
        nd_free(u);
        return;
    }

    while (!nd_queue_empty(&u->ops)) {
        q = nd_queue_head(&u->ops);
        nd_queue_remove(q);
        op = nd_queue_data(q, nd_store_op_t, queue);

        if (u->failed && op->rc == ND_OK) {
            /* rolled back with the segment */
            nd_store_fail(op, 500, "database error: transaction aborted");
        }

        nd_store_complete(op);
    }

    nd_free(u);
}


static void
nd_store_pg_read_results(nd_store_pg_conn_t *pc)
{
    PGresult        *res;
    ExecStatusType   st;

    while (pc->state == ND_PG_READY && !nd_queue_empty(&pc->units)) {

        if (nd_pq.PQisBusy(pc->conn)) {
            return;
        }

        res = nd_pq.PQgetResult(pc->conn);

        if (res == NULL) {
            if (!pc->expect_null) {
                return;
            }
            pc->expect_null = 0;
            nd_store_pg_advance(pc);
            continue;
        }

        st = nd_pq.PQresultStatus(res);

        if (st == PGRES_PIPELINE_SYNC) {
            nd_pq.PQclear(res);
            nd_store_pg_unit_done(pc);
            continue;
        }

        if (pc->expect_null) {
            nd_store_pg_advance(pc);
        }

        nd_store_pg_result(pc, res);
        nd_pq.PQclear(res);
        pc->expect_null = 1;
    }
}


/* connection set-up: schema (first connection), prepare, then load */

static void
nd_store_pg_loaded(nd_store_op_t *op)
{
    nd_uint_t       i;
    nd_store_pg_t  *pg;

    pg = op->data;
    pg->loading = 0;

    if (op->rc != ND_OK) {
        return;                         /* again when a connection is up */
    }

    pg->loaded = 1;
    nd_log_error(ND_LOG_INFO, pg->cycle->log, 0,
                 "pg: %lu configs loaded, change sequence %lld",
                 (unsigned long) op->total,
                 (long long) pg->scf->last_seq);
    nd_module_ready(pg->cycle, &nd_store_module);

    for (i = 1; i < pg->nconns; i++) {
        if (pg->conns[i].state == ND_PG_DOWN
            && !nd_timer_active(&pg->conns[i].retry))
        {
            nd_store_pg_connect(&pg->conns[i]);
        }
    }
}


static void
nd_store_pg_ready(nd_store_pg_conn_t *pc)
{
    nd_store_op_t  *op;
    nd_store_pg_t  *pg;

    pg = pc->pg;
    pc->state = ND_PG_READY;
    pc->backoff = 0;
    pg->ready++;

    nd_log_error(ND_LOG_INFO, pg->cycle->log, 0,
                 "pg: connection %lu ready", (unsigned long) pc->index);

    if (!pg->loaded && !pg->loading && !pg->stopping) {
        op = nd_store_op_create(pg->cycle, ND_STORE_CONFIG_LOAD,
                                nd_store_pg_loaded, pg);
        if (op) {
            pg->loading = 1;
            pg->scf->inflight++;
            pg->cycle->busy++;
            nd_queue_insert_tail(&pg->reads, &op->queue);
        }
    }

    nd_store_pg_dispatch(pg);
}


static nd_int_t
nd_store_pg_prepare(nd_store_pg_conn_t *pc)
{
    int   i;
    char  name[16];

    if (!nd_pq.PQenterPipelineMode(pc->conn)) {
        return ND_ERROR;
    }

    pc->pending = 0;

    for (i = 0; i < ND_STORE_SQL_N; i++) {
        snprintf(name, sizeof(name), "nd%d", i);
        if (!nd_pq.PQsendPrepare(pc->conn, name, nd_store_pg_sql[i], 0,
                                 NULL))
        {
            return ND_ERROR;
        }
        pc->pending++;
    }

    if (!nd_pq.PQsendPrepare(pc->conn, "nd_batch", nd_store_pg_batch_sql, 0,
                             NULL))
    {
        return ND_ERROR;
    }
    pc->pending++;

    if (!nd_pq.PQpipelineSync(pc->conn)) {
        return ND_ERROR;
    }

    pc->state = ND_PG_PREPARING;
    pc->step_error = NULL;
    pc->expect_null = 0;
    nd_timer_start(&pc->timeout, pc->pg->scf->query_timeout, ND_TIMER_ONCE);
    nd_store_pg_flush(pc);

    return ND_OK;
}


static void
nd_store_pg_prepare_results(nd_store_pg_conn_t *pc)
{
    PGresult        *res;
    ExecStatusType   st;

    while (pc->state == ND_PG_PREPARING && !nd_pq.PQisBusy(pc->conn)) {
        res = nd_pq.PQgetResult(pc->conn);
        if (res == NULL) {
            if (!pc->expect_null) {
                return;
            }
            pc->expect_null = 0;
            continue;
        }

        st = nd_pq.PQresultStatus(res);

        if (st == PGRES_PIPELINE_SYNC) {
            nd_pq.PQclear(res);
            nd_timer_stop(&pc->timeout);
            pc->expect_null = 0;
            if (pc->step_error) {
                nd_store_pg_drop(pc, NULL);
                return;
            }
            nd_store_pg_ready(pc);
            return;
        }

        if (st != PGRES_COMMAND_OK && pc->step_error == NULL) {
            pc->step_error = "error";
            nd_log_error(ND_LOG_ERR, pc->pg->cycle->log, 0,
                         "pg: preparing statements failed: %s",
                         nd_pq.PQresultErrorMessage(res));
        }

        pc->expect_null = 1;
        nd_pq.PQclear(res);
    }
}


static nd_int_t
nd_store_pg_section(void *data, int64_t version, const char *sql, size_t len)
{
    nd_buf_t  *b = data;

    if (nd_buf_append(b, sql, len) != ND_OK
        || nd_buf_appendf(b, ";\nINSERT INTO nd_schema_version "
                          "(version, applied) VALUES (%lld, %llu);\n",
                          (long long) version,
                          (unsigned long long) nd_current_msec) != ND_OK)
    {
        return ND_ERROR;
    }

    return ND_OK;
}


static nd_int_t
nd_store_pg_schema_send(nd_store_pg_conn_t *pc)
{
    int             ok;
    int64_t         top;
    nd_buf_t        b;
    nd_store_pg_t  *pg;

    pg = pc->pg;

    if (pc->step == 0) {
        ok = nd_pq.PQsendQuery(pc->conn,
                 "SELECT pg_advisory_lock(" ND_PG_SCHEMA_LOCK ");"
                 "CREATE TABLE IF NOT EXISTS nd_schema_version ("
                 " version bigint PRIMARY KEY, applied bigint NOT NULL);"
                 "SELECT coalesce(max(version), 0) FROM nd_schema_version");
        pc->version = -1;

    } else {
        nd_buf_init(&b);
        nd_buf_appendf(&b, "BEGIN;\n");

        top = nd_store_schema_walk(pg->schema, pg->schema_len, pc->version,
                                   nd_store_pg_section, &b);
        if (top < 0 || top < pc->version) {
            nd_log_error(ND_LOG_ERR, pg->cycle->log, 0,
                         top < 0 ? "pg: the schema file is malformed"
                                 : "pg: the database schema (%lld) is newer "
                                   "than the schema file",
                         (long long) pc->version);
            nd_buf_free(&b);
            return ND_ERROR;
        }

        if (top > pc->version) {
            nd_log_error(ND_LOG_NOTICE, pg->cycle->log, 0,
                         "pg: applying schema version %lld -> %lld",
                         (long long) pc->version, (long long) top);
        }

        nd_buf_appendf(&b, "COMMIT;\nSELECT pg_advisory_unlock("
                       ND_PG_SCHEMA_LOCK ")");
        nd_buf_append(&b, "", 1);
        ok = nd_pq.PQsendQuery(pc->conn, (char *) nd_buf_start(&b));
        nd_buf_free(&b);
    }

    if (!ok) {
        return ND_ERROR;
    }

    pc->state = ND_PG_SCHEMA;
    pc->step_error = NULL;
    nd_timer_start(&pc->timeout, 30000, ND_TIMER_ONCE);
    nd_store_pg_flush(pc);

    return ND_OK;
}


static void
nd_store_pg_schema_results(nd_store_pg_conn_t *pc)
{
    PGresult        *res;
    ExecStatusType   st;
    int64_t          v;

    while (pc->state == ND_PG_SCHEMA && !nd_pq.PQisBusy(pc->conn)) {
        res = nd_pq.PQgetResult(pc->conn);

        if (res != NULL) {
            st = nd_pq.PQresultStatus(res);
            if (st == PGRES_TUPLES_OK && pc->step == 0
                && nd_pq.PQntuples(res) == 1 && nd_pq.PQnfields(res) == 1
                && nd_atoi64((u_char *) nd_pq.PQgetvalue(res, 0, 0),
                             nd_pq.PQgetlength(res, 0, 0), &v) == ND_OK)
            {
                pc->version = v;
            } else if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK
                       && pc->step_error == NULL)
            {
                nd_log_error(ND_LOG_ERR, pc->pg->cycle->log, 0,
                             "pg: schema: %s",
                             nd_pq.PQresultErrorMessage(res));
                pc->step_error = "schema";
            }
            nd_pq.PQclear(res);
            continue;
        }

        /* the step's results are complete */
        nd_timer_stop(&pc->timeout);

        if (pc->step_error || (pc->step == 0 && pc->version < 0)) {
            nd_store_pg_drop(pc, NULL);
            return;
        }

        if (pc->step == 0) {
            pc->step = 1;
            if (nd_store_pg_schema_send(pc) != ND_OK) {
                nd_store_pg_drop(pc, NULL);
            }
            return;
        }

        pc->pg->schema_done = 1;

        if (nd_store_pg_prepare(pc) != ND_OK) {
            nd_store_pg_drop(pc, nd_pq.PQerrorMessage(pc->conn));
        }
        return;
    }
}


static void
nd_store_pg_connected(nd_store_pg_conn_t *pc)
{
    if (nd_pq.PQsetnonblocking(pc->conn, 1) != 0) {
        nd_store_pg_drop(pc, nd_pq.PQerrorMessage(pc->conn));
        return;
    }

    nd_pq.PQsetNoticeProcessor(pc->conn, nd_store_pg_notice, NULL);

    if (!pc->pg->schema_done) {
        pc->step = 0;
        if (nd_store_pg_schema_send(pc) != ND_OK) {
            nd_store_pg_drop(pc, nd_pq.PQerrorMessage(pc->conn));
        }
        return;
    }

    if (nd_store_pg_prepare(pc) != ND_OK) {
        nd_store_pg_drop(pc, nd_pq.PQerrorMessage(pc->conn));
    }
}


static void
nd_store_pg_poll(nd_store_pg_conn_t *pc)
{
    switch (nd_pq.PQconnectPoll(pc->conn)) {

    case PGRES_POLLING_READING:
        nd_store_pg_io_set(pc, EV_READ);
        return;

    case PGRES_POLLING_WRITING:
        nd_store_pg_io_set(pc, EV_WRITE);
        return;

    case PGRES_POLLING_OK:
        nd_timer_stop(&pc->timeout);
        nd_store_pg_io_set(pc, EV_READ);
        nd_store_pg_connected(pc);
        return;

    default:
        nd_store_pg_drop(pc, nd_pq.PQerrorMessage(pc->conn));
        return;
    }
}


static void
nd_store_pg_io_handler(struct ev_loop *loop, ev_io *w, int revents)
{
    nd_store_pg_conn_t  *pc = w->data;

    if (pc->state == ND_PG_CONNECTING) {
        nd_store_pg_poll(pc);
        return;
    }

    if (pc->state == ND_PG_DOWN) {
        return;
    }

    if (revents & EV_WRITE) {
        nd_store_pg_flush(pc);
        if (pc->state == ND_PG_DOWN) {
            return;
        }
    }

    if (revents & EV_READ) {
        if (!nd_pq.PQconsumeInput(pc->conn)) {
            nd_store_pg_drop(pc, nd_pq.PQerrorMessage(pc->conn));
            nd_store_pg_dispatch(pc->pg);
            return;
        }
    }

    switch (pc->state) {
    case ND_PG_SCHEMA:
        nd_store_pg_schema_results(pc);
        break;
    case ND_PG_PREPARING:
        nd_store_pg_prepare_results(pc);
        break;
    case ND_PG_READY:
        nd_store_pg_read_results(pc);
        if (pc->state == ND_PG_READY
            && nd_pq.PQstatus(pc->conn) == CONNECTION_BAD)
        {
            nd_store_pg_drop(pc, nd_pq.PQerrorMessage(pc->conn));
        }
        nd_store_pg_dispatch(pc->pg);
        break;
    }
}


static void
nd_store_pg_connect(nd_store_pg_conn_t *pc)
{
    nd_store_pg_t       *pg;
    const char          *keys[] = { "dbname", "application_name",
                                    "fallback_application_name", NULL };
    const char          *vals[] = { NULL, "nacosd", "nacosd", NULL };

    pg = pc->pg;

    if (pg->stopping) {
        return;
    }

    vals[0] = (const char *) pg->scf->pg_conninfo.data;

    pc->conn = nd_pq.PQconnectStartParams(keys, vals, 1);
    if (pc->conn == NULL || nd_pq.PQstatus(pc->conn) == CONNECTION_BAD) {
        nd_store_pg_drop(pc, pc->conn ? nd_pq.PQerrorMessage(pc->conn)
                                      : "out of memory");
        return;
    }

    pc->state = ND_PG_CONNECTING;
    pc->fd = -1;
    pc->events = 0;
    nd_timer_start(&pc->timeout, pg->scf->query_timeout, ND_TIMER_ONCE);
    nd_store_pg_io_set(pc, EV_WRITE);
}


static void
nd_store_pg_retry(nd_timer_t *t)
{
    nd_store_pg_connect(t->data);
}


static void
nd_store_pg_timeout(nd_timer_t *t)
{
    nd_store_pg_conn_t  *pc = t->data;

    nd_store_pg_drop(pc, pc->state == ND_PG_CONNECTING
                         ? "connect timed out" : "query timed out");
    nd_store_pg_dispatch(pc->pg);
}


/* the connection is gone: fail what it carried, reconnect later */
static void
nd_store_pg_drop(nd_store_pg_conn_t *pc, const char *why)
{
    nd_queue_t          *q;
    nd_store_op_t       *op;
    nd_store_pg_t       *pg;
    nd_store_pg_unit_t  *u;
    char                 msg[256];
    size_t               n;

    pg = pc->pg;

    if (pc->state == ND_PG_DOWN && pc->conn == NULL) {
        return;
    }

    msg[0] = '\0';
    if (why) {
        n = nd_min(strlen(why), sizeof(msg) - 1);
        memcpy(msg, why, n);
        msg[n] = '\0';
        while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) {
            msg[--n] = '\0';
        }
        for (char *p = msg; *p; p++) {
            if (*p == '\n') {
                *p = ' ';
            }
        }
    }

    if (pc->state == ND_PG_READY) {
        pg->ready--;
    }

    if (!pg->stopping) {
        pg->scf->pg_drops++;
    }

    if (pc->state == ND_PG_READY && !pg->stopping) {
        nd_log_error(ND_LOG_WARN, pg->cycle->log, 0,
                     "pg: connection %lu lost: %s", (unsigned long) pc->index,
                     msg[0] ? msg : "error");
    } else if (!pg->stopping) {
        nd_log_error(pc->backoff ? ND_LOG_INFO : ND_LOG_WARN,
                     pg->cycle->log, 0, "pg: connection %lu failed: %s",
                     (unsigned long) pc->index, msg[0] ? msg : "error");
    }

    nd_store_pg_io_set(pc, 0);
    if (pc->fd != -1) {
        ev_io_stop(pg->cycle->loop, &pc->io);
    }
    pc->fd = -1;
    pc->events = 0;
    nd_timer_stop(&pc->timeout);

    if (pc->conn) {
        nd_pq.PQfinish(pc->conn);
        pc->conn = NULL;
    }

    pc->state = ND_PG_DOWN;

    while (!nd_queue_empty(&pc->units)) {
        q = nd_queue_head(&pc->units);
        nd_queue_remove(q);
        u = nd_queue_data(q, nd_store_pg_unit_t, link);

        while (!nd_queue_empty(&u->ops)) {
            q = nd_queue_head(&u->ops);
            nd_queue_remove(q);
            op = nd_queue_data(q, nd_store_op_t, queue);
            nd_store_pg_reset_op(op);
            if (u->write) {
                op->unknown = 1;
                nd_store_fail(op, 503, "database connection lost; the "
                              "outcome of this write is unknown");
            } else {
                nd_store_fail(op, 503, "database connection lost");
            }
            nd_store_complete(op);
        }

        nd_free(u);
    }

    pc->nunits = 0;
    pc->nwrites = 0;

    if (pg->ready == 0) {
        nd_store_pg_fail_queued(pg, "database unavailable");
    }

    if (pg->stopping) {
        return;
    }

    pc->backoff = pc->backoff ? nd_min(pc->backoff * 2,
                                       pg->scf->pg_reconnect_max)
                              : 100;
    nd_timer_start(&pc->retry, pc->backoff, ND_TIMER_ONCE);
}


static nd_int_t
nd_store_pg_start(nd_cycle_t *cycle)
{
    char              path[PATH_MAX];
    nd_uint_t         i;
    nd_store_pg_t    *pg;
    nd_store_conf_t  *scf;
    nd_store_pg_conn_t  *pc;

    scf = nd_store_conf(cycle);

    pg = nd_pcalloc(cycle->pool, sizeof(nd_store_pg_t));
    if (pg == NULL) {
        return ND_ERROR;
    }

    scf->pg = pg;
    pg->scf = scf;
    pg->cycle = cycle;

    nd_store_pg_log_library(cycle->log);
    nd_queue_init(&pg->writes);
    nd_queue_init(&pg->reads);
    nd_buf_init(&pg->batch);

    snprintf(path, sizeof(path), "%s/pg.sql", scf->schema_dir_z);
    pg->schema = nd_store_schema_text(scf, "pg.sql", &pg->schema_len,
                                      cycle->log);
    if (pg->schema == NULL) {
        return ND_ERROR;
    }

    if (nd_store_schema_walk(pg->schema, pg->schema_len, 0, NULL, NULL) < 1)
    {
        nd_log_error(ND_LOG_EMERG, cycle->log, 0,
                     "pg: the schema \"%s\" is malformed", path);
        return ND_ERROR;
    }

    pg->nconns = (nd_uint_t) scf->pg_pool;
    pg->conns = nd_pcalloc(cycle->pool,
                           pg->nconns * sizeof(nd_store_pg_conn_t));
    if (pg->conns == NULL) {
        return ND_ERROR;
    }

    nd_timer_init(&pg->gather, "pg commit gather", nd_store_pg_gather_expired,
                  pg);

    for (i = 0; i < pg->nconns; i++) {
        pc = &pg->conns[i];
        pc->pg = pg;
        pc->index = i;
        pc->fd = -1;
        pc->state = ND_PG_DOWN;
        nd_queue_init(&pc->units);
        ev_init(&pc->io, nd_store_pg_io_handler);
        pc->io.data = pc;
        nd_timer_init(&pc->retry, "pg reconnect", nd_store_pg_retry, pc);
        nd_timer_init(&pc->timeout, "pg query timeout", nd_store_pg_timeout,
                      pc);
    }

    /* the first connection applies the schema and loads the cache; the
     * others follow once it did */
    nd_store_pg_connect(&pg->conns[0]);

    return ND_OK;
}


static void
nd_store_pg_stop(nd_cycle_t *cycle)
{
    /* in-flight operations finish (each holds cycle->busy) */
}


static void
nd_store_pg_exit(nd_cycle_t *cycle)
{
    nd_uint_t        i;
    nd_store_pg_t   *pg;

    pg = nd_store_conf(cycle)->pg;
    if (pg == NULL) {
        return;
    }

    pg->stopping = 1;
    nd_timer_stop(&pg->gather);

    for (i = 0; i < pg->nconns; i++) {
        nd_timer_stop(&pg->conns[i].retry);
        nd_store_pg_drop(&pg->conns[i], NULL);
    }

    nd_store_pg_fail_queued(pg, "server stopping");

    nd_free(pg->schema);
    pg->schema = NULL;
    nd_buf_free(&pg->batch);
}

/*
 * pg: plain publishes of one commit group as one statement
 * (nd_store_pg_batch.c).
 */
#ifndef ND_STORE_PG_BATCH_H
#define ND_STORE_PG_BATCH_H

#include <nd_store_internal.h>

/* the statement's parameters: one array each */
#define ND_PG_BATCH_PARAMS  17
/* publishes a statement at most (a group holds up to commit_batch) */
#define ND_PG_BATCH_MAX     256

typedef struct {
    const char          *values[ND_PG_BATCH_PARAMS];
    int                  lengths[ND_PG_BATCH_PARAMS];
    int                  formats[ND_PG_BATCH_PARAMS];
} nd_store_pg_params_t;

extern const char  nd_store_pg_batch_sql[];

/* a publish that may share a batch: formal, no tags, not a retry */
int nd_store_pg_batchable(const nd_store_op_t *op);
/* the batchable ops from q on (up to end, at most max and
 * ND_PG_BATCH_MAX) until one is not or repeats a key taken: their count,
 * the ops in ops[] */
nd_uint_t nd_store_pg_batch_collect(nd_queue_t *q, nd_queue_t *end,
    nd_store_op_t **ops, nd_uint_t max);
/* the parameters of ops[0..n) into b (reset first), pointed to by out;
 * valid until b changes */
nd_int_t nd_store_pg_batch_encode(nd_buf_t *b, nd_store_op_t **ops,
    nd_uint_t n, nd_store_pg_params_t *out);

#endif /* ND_STORE_PG_BATCH_H */

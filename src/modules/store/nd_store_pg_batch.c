/*
 * pg: plain publishes of one commit group as one statement.
 *
 * Consecutive publishes of a write segment (formal configs, no tags, not
 * a retry) with distinct keys are sent as one call of the server function
 * nd_config_publish_batch whose parameters are arrays, one element a
 * publish: PostgreSQL starts one executor for the group and writes its
 * rows set-based, instead of one call of nd_config_publish a publish
 * (which started an executor for each of its statements).  The arrays
 * go in PostgreSQL's binary array format: no quoting of the contents
 * here, no parsing of them there.
 *
 * Pure functions: which ops form a batch, and the parameters of one.
 */
#include <nd_store_internal.h>
#include <nd_store_pg_batch.h>

/* the element types of the arrays (pg_type.oid) */
#define ND_PG_OID_BOOL  16
#define ND_PG_OID_INT8  20
#define ND_PG_OID_TEXT  25

/* header of a one-dimensional array without NULLs: ndim, flags, element
 * type, length, lower bound */
#define ND_PG_ARRAY_HDR  20

typedef enum {
    ND_PG_COL_TEXT = 0,
    ND_PG_COL_INT8,
    ND_PG_COL_BOOL
} nd_store_pg_col_e;

/* the statement's parameters in order: $1 .. $17 */
static const struct {
    nd_store_pg_col_e   type;
    size_t              offset;         /* in nd_store_op_t */
} nd_store_pg_batch_cols[ND_PG_BATCH_PARAMS] = {
    { ND_PG_COL_TEXT, offsetof(nd_store_op_t, config.data_id) },
    { ND_PG_COL_TEXT, offsetof(nd_store_op_t, config.group) },
    { ND_PG_COL_TEXT, offsetof(nd_store_op_t, config.tenant) },
    { ND_PG_COL_TEXT, offsetof(nd_store_op_t, config.content) },
    { ND_PG_COL_TEXT, offsetof(nd_store_op_t, config.md5) },
    { ND_PG_COL_INT8, offsetof(nd_store_op_t, config.gmt_modified) },
    { ND_PG_COL_TEXT, offsetof(nd_store_op_t, config.src_user) },
    { ND_PG_COL_TEXT, offsetof(nd_store_op_t, config.src_ip) },
    { ND_PG_COL_TEXT, offsetof(nd_store_op_t, config.app_name) },
    { ND_PG_COL_TEXT, offsetof(nd_store_op_t, config.desc) },
    { ND_PG_COL_TEXT, offsetof(nd_store_op_t, config.use) },
    { ND_PG_COL_TEXT, offsetof(nd_store_op_t, config.effect) },
    { ND_PG_COL_TEXT, offsetof(nd_store_op_t, config.type) },
    { ND_PG_COL_TEXT, offsetof(nd_store_op_t, config.schema) },
    { ND_PG_COL_TEXT, offsetof(nd_store_op_t, config.encrypted_data_key) },
    { ND_PG_COL_BOOL, 0 },                                   /* op->cas */
    { ND_PG_COL_TEXT, offsetof(nd_store_op_t, cas_md5) },
};


/*
 * The group's publishes in one call of nd_config_publish_batch (schema
 * version 5, conf/schema/pg.sql): one UPDATE takes the sequence numbers,
 * one INSERT each the new rows and the history rows, one UPDATE the
 * changed rows, after the sequence row lock (so its snapshot holds every
 * earlier commit); the keys are distinct, so no row is written twice.
 * One result row a publish, in order: status (1: the CAS md5 did not
 * match), seq, id, gmt_create -- as nd_config_publish answers.
 */
const char  nd_store_pg_batch_sql[] =
    "SELECT * FROM nd_config_publish_batch($1::text[], $2::text[], "
    "$3::text[], $4::text[], $5::text[], $6::int8[], $7::text[], "
    "$8::text[], $9::text[], $10::text[], $11::text[], $12::text[], "
    "$13::text[], $14::text[], $15::text[], $16::bool[], $17::text[])";


int
nd_store_pg_batchable(const nd_store_op_t *op)
{
    return op->type == ND_STORE_CONFIG_PUBLISH && !op->solo
           && op->config.tags.len == 0;
}


static uint32_t
nd_store_pg_batch_hash(const nd_store_op_t *op)
{
    const nd_store_config_t  *c = &op->config;

    return nd_hash_key(c->data_id.data, c->data_id.len)
           ^ (nd_hash_key(c->group.data, c->group.len) * 31)
           ^ (nd_hash_key(c->tenant.data, c->tenant.len) * 961);
}


static int
nd_store_pg_batch_same_key(const nd_store_op_t *a, const nd_store_op_t *b)
{
    return nd_str_equal(&a->config.data_id, &b->config.data_id)
           && nd_str_equal(&a->config.group, &b->config.group)
           && nd_str_equal(&a->config.tenant, &b->config.tenant);
}


nd_uint_t
nd_store_pg_batch_collect(nd_queue_t *q, nd_queue_t *end,
    nd_store_op_t **ops, nd_uint_t max)
{
    uint32_t        h, i, mask;
    nd_uint_t       n;
    nd_store_op_t  *op, *slot[2 * ND_PG_BATCH_MAX];

    /* an open-addressing set of the keys taken: twice the entries */
    mask = 2 * ND_PG_BATCH_MAX - 1;
    memset(slot, 0, sizeof(slot));
    max = nd_min(max, (nd_uint_t) ND_PG_BATCH_MAX);

    for (n = 0; n < max && q != end; n++, q = nd_queue_next(q)) {
        op = nd_queue_data(q, nd_store_op_t, queue);
        if (!nd_store_pg_batchable(op)) {
            break;
        }

        h = nd_store_pg_batch_hash(op);
        for (i = h & mask; slot[i]; i = (i + 1) & mask) {
            if (nd_store_pg_batch_same_key(slot[i], op)) {
                return n;       /* its key again: the next batch, after */
            }
        }
        slot[i] = op;
        ops[n] = op;
    }

    return n;
}


static u_char *
nd_store_pg_put32(u_char *p, uint32_t v)
{
    p[0] = (u_char) (v >> 24);
    p[1] = (u_char) (v >> 16);
    p[2] = (u_char) (v >> 8);
    p[3] = (u_char) v;
    return p + 4;
}


static u_char *
nd_store_pg_put64(u_char *p, uint64_t v)
{
    p = nd_store_pg_put32(p, (uint32_t) (v >> 32));
    return nd_store_pg_put32(p, (uint32_t) v);
}


static const nd_str_t *
nd_store_pg_batch_text(const nd_store_op_t *op, nd_uint_t col)
{
    return (const nd_str_t *) ((const u_char *) op
                               + nd_store_pg_batch_cols[col].offset);
}


nd_int_t
nd_store_pg_batch_encode(nd_buf_t *b, nd_store_op_t **ops, nd_uint_t n,
    nd_store_pg_params_t *out)
{
    u_char          *p;
    size_t           size, len, off[ND_PG_BATCH_PARAMS];
    nd_uint_t        col, i;
    const nd_str_t  *s;
    static const uint32_t  oids[] = {
        [ND_PG_COL_TEXT] = ND_PG_OID_TEXT,
        [ND_PG_COL_INT8] = ND_PG_OID_INT8,
        [ND_PG_COL_BOOL] = ND_PG_OID_BOOL,
    };

    if (n == 0 || n > ND_PG_BATCH_MAX) {
        return ND_ERROR;
    }

    /* the size of all arrays first: one allocation, no moves */
    size = 0;
    for (col = 0; col < ND_PG_BATCH_PARAMS; col++) {
        size += ND_PG_ARRAY_HDR + 4 * n;
        for (i = 0; i < n; i++) {
            switch (nd_store_pg_batch_cols[col].type) {
            case ND_PG_COL_TEXT:
                len = nd_store_pg_batch_text(ops[i], col)->len;
                if (len > INT32_MAX) {
                    return ND_ERROR;
                }
                size += len;
                break;
            case ND_PG_COL_INT8:
                size += 8;
                break;
            case ND_PG_COL_BOOL:
                size += 1;
                break;
            }
        }
    }

    if (size > INT32_MAX) {
        return ND_ERROR;
    }

    nd_buf_reset(b);
    if (nd_buf_reserve(b, size) != ND_OK) {
        return ND_ERROR;
    }

    p = b->data;

    for (col = 0; col < ND_PG_BATCH_PARAMS; col++) {
        off[col] = (size_t) (p - b->data);

        p = nd_store_pg_put32(p, 1);                    /* ndim */
        p = nd_store_pg_put32(p, 0);                    /* no NULLs */
        p = nd_store_pg_put32(p, oids[nd_store_pg_batch_cols[col].type]);
        p = nd_store_pg_put32(p, (uint32_t) n);
        p = nd_store_pg_put32(p, 1);                    /* lower bound */

        for (i = 0; i < n; i++) {
            switch (nd_store_pg_batch_cols[col].type) {
            case ND_PG_COL_TEXT:
                s = nd_store_pg_batch_text(ops[i], col);
                p = nd_store_pg_put32(p, (uint32_t) s->len);
                if (s->len) {
                    memcpy(p, s->data, s->len);
                    p += s->len;
                }
                break;
            case ND_PG_COL_INT8:
                p = nd_store_pg_put32(p, 8);
                p = nd_store_pg_put64(p, (uint64_t) *(const int64_t *)
                          ((const u_char *) ops[i]
                           + nd_store_pg_batch_cols[col].offset));
                break;
            case ND_PG_COL_BOOL:
                p = nd_store_pg_put32(p, 1);
                *p++ = ops[i]->cas ? 1 : 0;
                break;
            }
        }

        out->lengths[col] = (int) ((size_t) (p - b->data) - off[col]);
        out->formats[col] = 1;                          /* binary */
    }

    b->len = (size_t) (p - b->data);

    for (col = 0; col < ND_PG_BATCH_PARAMS; col++) {
        out->values[col] = (const char *) b->data + off[col];
    }

    return ND_OK;
}

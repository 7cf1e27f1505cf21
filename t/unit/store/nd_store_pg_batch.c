/*
 * pg batches (nd_store_pg_batch.c): which publishes share a statement,
 * and their parameters in PostgreSQL's binary array format.
 */
#include <nd_core.h>
#include <tap.h>

#ifdef ND_WITH_STORE

#include <nd_store_pg_batch.h>

#define NOPS  8

static nd_store_op_t  ops[NOPS];
static nd_queue_t     q;


static void
op_init(nd_store_op_t *op, const char *data_id, const char *content)
{
    memset(op, 0, sizeof(*op));
    op->type = ND_STORE_CONFIG_PUBLISH;
    op->config.data_id.data = (u_char *) data_id;
    op->config.data_id.len = strlen(data_id);
    nd_str_set(&op->config.group, "G");
    nd_str_set(&op->config.tenant, "");
    op->config.content.data = (u_char *) content;
    op->config.content.len = strlen(content);
    op->config.gmt_modified = 0x0102030405060708LL;
    nd_queue_insert_tail(&q, &op->queue);
}


static uint32_t
get32(const u_char *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}


static nd_uint_t
collect(void)
{
    nd_store_op_t  *out[ND_PG_BATCH_MAX];

    return nd_store_pg_batch_collect(nd_queue_head(&q),
                                     nd_queue_sentinel(&q), out, NOPS);
}


int
main(void)
{
    int                    i;
    nd_buf_t               b;
    nd_uint_t              n;
    const u_char          *p;
    nd_store_op_t         *batch[3];
    nd_store_pg_params_t   pp;

    /* which ops share a batch */
    nd_queue_init(&q);
    op_init(&ops[0], "a", "x");
    op_init(&ops[1], "b", "y");
    op_init(&ops[2], "c", "z");
    is_int(collect(), 3, "three publishes of distinct keys: one batch");

    op_init(&ops[3], "b", "again");
    is_int(collect(), 3, "a key seen again ends the batch before it");

    nd_queue_init(&q);
    op_init(&ops[0], "a", "x");
    op_init(&ops[1], "b", "y");
    nd_str_set(&ops[1].config.tags, "t1");
    is_int(collect(), 1, "a publish with tags ends the batch");

    nd_queue_init(&q);
    op_init(&ops[0], "a", "x");
    op_init(&ops[1], "b", "y");
    ops[1].type = ND_STORE_CONFIG_DELETE;
    is_int(collect(), 1, "a delete ends the batch");

    nd_queue_init(&q);
    op_init(&ops[0], "a", "x");
    ops[0].solo = 1;
    is_int(collect(), 0, "a retry (solo) is never batched");

    nd_queue_init(&q);
    op_init(&ops[0], "k", "x");
    op_init(&ops[1], "k", "x");
    ops[1].config.group.data = (u_char *) "H";
    is_int(collect(), 2, "the same dataId in another group is another key");

    /* the parameters */
    nd_queue_init(&q);
    op_init(&ops[0], "a", "first");
    op_init(&ops[1], "bb", "");
    op_init(&ops[2], "ccc", "third");
    ops[1].cas = 1;
    for (i = 0; i < 3; i++) {
        batch[i] = &ops[i];
    }

    nd_buf_init(&b);
    n = nd_store_pg_batch_encode(&b, batch, 3, &pp) == ND_OK;
    ok(n, "three publishes encoded");

    for (i = 0; i < ND_PG_BATCH_PARAMS; i++) {
        if (pp.formats[i] != 1) {
            break;
        }
    }
    is_int(i, ND_PG_BATCH_PARAMS, "every parameter in binary format");

    /* $1: text[] of the dataIds */
    p = (const u_char *) pp.values[0];
    is_int(get32(p), 1, "one dimension");
    is_int(get32(p + 4), 0, "no NULLs");
    is_int(get32(p + 8), 25, "elements of type text");
    is_int(get32(p + 12), 3, "three elements");
    is_int(get32(p + 16), 1, "from index 1");
    is_int(get32(p + 20), 1, "element 1: 1 byte");
    ok(memcmp(p + 24, "a", 1) == 0, "element 1: the first dataId");
    is_int(get32(p + 25), 2, "element 2: 2 bytes");
    is_int(get32(p + 31), 3, "element 3: 3 bytes");
    is_int(pp.lengths[0], 20 + 3 * 4 + 6, "$1: its length");

    /* $4: content, an empty one is an empty element, not a NULL */
    p = (const u_char *) pp.values[3];
    is_int(get32(p + 20), 5, "content 1: 5 bytes");
    is_int(get32(p + 29), 0, "content 2: empty");
    is_int(get32(p + 33), 5, "content 3: 5 bytes");

    /* $6: int8[] of gmt_modified */
    p = (const u_char *) pp.values[5];
    is_int(get32(p + 8), 20, "$6: elements of type int8");
    is_int(get32(p + 20), 8, "an int8 is 8 bytes");
    ok(get32(p + 24) == 0x01020304 && get32(p + 28) == 0x05060708,
       "in network order");

    /* $16: bool[] of cas */
    p = (const u_char *) pp.values[15];
    is_int(get32(p + 8), 16, "$16: elements of type bool");
    ok(p[24] == 0 && p[29] == 1 && p[34] == 0, "cas of each publish");

    ok(nd_store_pg_batch_encode(&b, batch, 0, &pp) == ND_ERROR,
       "an empty batch is refused");

    nd_buf_free(&b);

    return done_testing();
}

#else

int
main(void)
{
    printf("1..0 # skip the store module is not built\n");
    return 0;
}

#endif

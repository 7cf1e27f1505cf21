/*
 * Unit tests: rbtree, hash, arrays, buffers, pools, md5.
 */
#include <nd_core.h>
#include <tap.h>

#define N  2000


static int
rbtree_sorted(nd_rbtree_t *t, nd_uint_t expect)
{
    nd_uint_t          n;
    nd_rbtree_key_t    last;
    nd_rbtree_node_t  *node;

    n = 0;
    last = 0;

    for (node = nd_rbtree_min(t); node; node = nd_rbtree_next(t, node)) {
        if (node->key < last) {
            return 0;
        }
        last = node->key;
        n++;
    }

    return n == expect;
}


int
main(void)
{
    char               key[32], md5[33];
    nd_uint_t          i, it, count;
    nd_buf_t           b;
    nd_hash_t          h;
    nd_pool_t         *pool;
    nd_array_t         a, *pa;
    nd_rbtree_t        tree;
    nd_hash_elt_t     *e;
    nd_rbtree_node_t   sentinel, *nodes;
    int               *ip;

    /* rbtree: insert in pseudo-random order, delete every other */
    nodes = calloc(N, sizeof(nd_rbtree_node_t));
    nd_rbtree_init(&tree, &sentinel);
    for (i = 0; i < N; i++) {
        nodes[i].key = (i * 7919) % 1009;   /* many duplicates */
        nd_rbtree_insert(&tree, &nodes[i]);
    }
    ok(rbtree_sorted(&tree, N), "rbtree in order after %d inserts", N);
    for (i = 0; i < N; i += 2) {
        nd_rbtree_delete(&tree, &nodes[i]);
    }
    ok(rbtree_sorted(&tree, N / 2), "rbtree in order after deletes");
    is_int(nd_rbtree_min(&tree)->key, 0, "min key");
    for (i = 1; i < N; i += 2) {
        nd_rbtree_delete(&tree, &nodes[i]);
    }
    ok(nd_rbtree_empty(&tree), "rbtree empty");
    free(nodes);

    /* hash */
    ok(nd_hash_init(&h, 4) == ND_OK, "hash init");
    for (i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "svc-%lu", (unsigned long) i);
        if (nd_hash_add(&h, (u_char *) key, strlen(key),
                        (void *) (uintptr_t) (i + 1)) != ND_OK)
        {
            break;
        }
    }
    is_int(i, 1000, "1000 keys added");
    ok(h.size >= 1000, "table grew (%lu buckets)", (unsigned long) h.size);
    is_int(nd_hash_add(&h, (u_char *) "svc-5", 5, NULL), ND_BUSY,
           "duplicate key refused");
    is_int((uintptr_t) nd_hash_find(&h, (u_char *) "svc-777", 7), 778,
           "find");
    ok(nd_hash_find(&h, (u_char *) "svc-1000", 8) == NULL, "miss");
    is_int((uintptr_t) nd_hash_del(&h, (u_char *) "svc-5", 5), 6, "delete");
    ok(nd_hash_find(&h, (u_char *) "svc-5", 5) == NULL, "gone after delete");
    count = 0;
    for (e = nd_hash_first(&h, &it); e; e = nd_hash_next(&h, e, &it)) {
        count++;
    }
    is_int(count, 999, "iteration sees every key");
    nd_hash_free(&h);

    /* arrays: heap and pool */
    pool = nd_create_pool(1024, nd_log_default());
    ok(nd_array_init(&a, NULL, 1, sizeof(int)) == ND_OK, "heap array");
    for (i = 0; i < 100; i++) {
        ip = nd_array_push(&a);
        *ip = (int) i;
    }
    is_int(((int *) a.elts)[99], 99, "heap array grows");
    nd_array_free(&a);
    pa = nd_array_create(pool, 2, sizeof(int));
    for (i = 0; i < 100; i++) {
        ip = nd_array_push(pa);
        *ip = (int) i * 2;
    }
    is_int(((int *) pa->elts)[50], 100, "pool array grows");

    /* pool: large allocations and cleanup order */
    ok(nd_palloc(pool, 100000) != NULL, "large pool allocation");
    ok(((uintptr_t) nd_palloc(pool, 3) % sizeof(void *)) == 0, "aligned");
    nd_destroy_pool(pool);

    /* buffers */
    nd_buf_init(&b);
    nd_buf_appendf(&b, "%s-%d", "abc", 42);
    nd_buf_append(&b, "xyz", 3);
    is_int(nd_buf_size(&b), 9, "buf size");
    nd_buf_consume(&b, 4);
    ok(memcmp(nd_buf_start(&b), "42xyz", 5) == 0, "buf consume");
    for (i = 0; i < 1000; i++) {
        nd_buf_appendf(&b, "%04lu", (unsigned long) i);
    }
    is_int(nd_buf_size(&b), 5 + 4000, "buf grows with appendf");
    nd_buf_free(&b);

    /* md5 as Nacos computes it */
    nd_md5_hex("hello", 5, md5);
    is_str(md5, "5d41402abc4b2a76b9719d911017c592", "md5 of hello");
    nd_md5_hex("", 0, md5);
    is_str(md5, "d41d8cd98f00b204e9800998ecf8427e", "md5 of empty");

    return done_testing();
}

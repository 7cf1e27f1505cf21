/*
 * Red-black tree with a shared sentinel, keyed by an unsigned integer;
 * equal keys go to the right, so nodes with one key keep insertion order.
 */
#ifndef ND_RBTREE_H
#define ND_RBTREE_H

#include <nd_config.h>

typedef uint64_t  nd_rbtree_key_t;
typedef struct nd_rbtree_node_s  nd_rbtree_node_t;

struct nd_rbtree_node_s {
    nd_rbtree_key_t    key;
    nd_rbtree_node_t  *left;
    nd_rbtree_node_t  *right;
    nd_rbtree_node_t  *parent;
    u_char             color;
};

typedef struct {
    nd_rbtree_node_t  *root;
    nd_rbtree_node_t  *sentinel;
} nd_rbtree_t;

#define nd_rbtree_init(tree, s)                                               \
    (s)->color = 0; (s)->left = (s)->right = (s)->parent = NULL;              \
    (tree)->root = s; (tree)->sentinel = s

#define nd_rbtree_empty(tree)  ((tree)->root == (tree)->sentinel)

void nd_rbtree_insert(nd_rbtree_t *tree, nd_rbtree_node_t *node);
void nd_rbtree_delete(nd_rbtree_t *tree, nd_rbtree_node_t *node);
nd_rbtree_node_t *nd_rbtree_min(nd_rbtree_t *tree);
nd_rbtree_node_t *nd_rbtree_next(nd_rbtree_t *tree, nd_rbtree_node_t *node);

#endif /* ND_RBTREE_H */

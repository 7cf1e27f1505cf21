/*
 * Red-black tree (CLRS algorithm, sentinel leaves).
 */
#include <nd_core.h>

#define nd_red(n)     ((n)->color = 1)
#define nd_black(n)   ((n)->color = 0)
#define nd_is_red(n)  ((n)->color)


static void
nd_rbtree_rotate_left(nd_rbtree_t *t, nd_rbtree_node_t *x)
{
    nd_rbtree_node_t  *y;

    y = x->right;
    x->right = y->left;
    if (y->left != t->sentinel) {
        y->left->parent = x;
    }
    y->parent = x->parent;

    if (x == t->root) {
        t->root = y;
    } else if (x == x->parent->left) {
        x->parent->left = y;
    } else {
        x->parent->right = y;
    }

    y->left = x;
    x->parent = y;
}


static void
nd_rbtree_rotate_right(nd_rbtree_t *t, nd_rbtree_node_t *x)
{
    nd_rbtree_node_t  *y;

    y = x->left;
    x->left = y->right;
    if (y->right != t->sentinel) {
        y->right->parent = x;
    }
    y->parent = x->parent;

    if (x == t->root) {
        t->root = y;
    } else if (x == x->parent->right) {
        x->parent->right = y;
    } else {
        x->parent->left = y;
    }

    y->right = x;
    x->parent = y;
}


void
nd_rbtree_insert(nd_rbtree_t *t, nd_rbtree_node_t *node)
{
    nd_rbtree_node_t  **p, *parent, *u, *s;

    s = t->sentinel;
    node->left = s;
    node->right = s;

    if (t->root == s) {
        node->parent = NULL;
        nd_black(node);
        t->root = node;
        return;
    }

    parent = t->root;
    for ( ;; ) {
        p = node->key < parent->key ? &parent->left : &parent->right;
        if (*p == s) {
            break;
        }
        parent = *p;
    }

    *p = node;
    node->parent = parent;
    nd_red(node);

    while (node != t->root && nd_is_red(node->parent)) {
        if (node->parent == node->parent->parent->left) {
            u = node->parent->parent->right;
            if (nd_is_red(u)) {
                nd_black(node->parent);
                nd_black(u);
                nd_red(node->parent->parent);
                node = node->parent->parent;
            } else {
                if (node == node->parent->right) {
                    node = node->parent;
                    nd_rbtree_rotate_left(t, node);
                }
                nd_black(node->parent);
                nd_red(node->parent->parent);
                nd_rbtree_rotate_right(t, node->parent->parent);
            }

        } else {
            u = node->parent->parent->left;
            if (nd_is_red(u)) {
                nd_black(node->parent);
                nd_black(u);
                nd_red(node->parent->parent);
                node = node->parent->parent;
            } else {
                if (node == node->parent->left) {
                    node = node->parent;
                    nd_rbtree_rotate_right(t, node);
                }
                nd_black(node->parent);
                nd_red(node->parent->parent);
                nd_rbtree_rotate_left(t, node->parent->parent);
            }
        }
    }

    nd_black(t->root);
}


static nd_rbtree_node_t *
nd_rbtree_subtree_min(nd_rbtree_node_t *n, nd_rbtree_node_t *s)
{
    while (n->left != s) {
        n = n->left;
    }
    return n;
}


void
nd_rbtree_delete(nd_rbtree_t *t, nd_rbtree_node_t *node)
{
    u_char             red;
    nd_rbtree_node_t  *s, *subst, *temp, *w;

    s = t->sentinel;

    if (node->left == s) {
        temp = node->right;
        subst = node;
    } else if (node->right == s) {
        temp = node->left;
        subst = node;
    } else {
        subst = nd_rbtree_subtree_min(node->right, s);
        temp = subst->right;
    }

    if (subst == t->root) {
        t->root = temp;
        nd_black(temp);
        temp->parent = NULL;
        node->left = node->right = node->parent = NULL;
        return;
    }

    red = nd_is_red(subst);

    if (subst == subst->parent->left) {
        subst->parent->left = temp;
    } else {
        subst->parent->right = temp;
    }

    if (subst == node) {
        temp->parent = subst->parent;

    } else {
        if (subst->parent == node) {
            temp->parent = subst;
        } else {
            temp->parent = subst->parent;
        }

        subst->left = node->left;
        subst->right = node->right;
        subst->parent = node->parent;
        subst->color = node->color;

        if (node == t->root) {
            t->root = subst;
        } else if (node == node->parent->left) {
            node->parent->left = subst;
        } else {
            node->parent->right = subst;
        }

        if (subst->left != s) {
            subst->left->parent = subst;
        }
        if (subst->right != s) {
            subst->right->parent = subst;
        }
    }

    node->left = node->right = node->parent = NULL;

    if (red) {
        return;
    }

    while (temp != t->root && !nd_is_red(temp)) {
        if (temp == temp->parent->left) {
            w = temp->parent->right;
            if (nd_is_red(w)) {
                nd_black(w);
                nd_red(temp->parent);
                nd_rbtree_rotate_left(t, temp->parent);
                w = temp->parent->right;
            }
            if (!nd_is_red(w->left) && !nd_is_red(w->right)) {
                nd_red(w);
                temp = temp->parent;
            } else {
                if (!nd_is_red(w->right)) {
                    nd_black(w->left);
                    nd_red(w);
                    nd_rbtree_rotate_right(t, w);
                    w = temp->parent->right;
                }
                w->color = temp->parent->color;
                nd_black(temp->parent);
                nd_black(w->right);
                nd_rbtree_rotate_left(t, temp->parent);
                temp = t->root;
            }

        } else {
            w = temp->parent->left;
            if (nd_is_red(w)) {
                nd_black(w);
                nd_red(temp->parent);
                nd_rbtree_rotate_right(t, temp->parent);
                w = temp->parent->left;
            }
            if (!nd_is_red(w->left) && !nd_is_red(w->right)) {
                nd_red(w);
                temp = temp->parent;
            } else {
                if (!nd_is_red(w->left)) {
                    nd_black(w->right);
                    nd_red(w);
                    nd_rbtree_rotate_left(t, w);
                    w = temp->parent->left;
                }
                w->color = temp->parent->color;
                nd_black(temp->parent);
                nd_black(w->left);
                nd_rbtree_rotate_right(t, temp->parent);
                temp = t->root;
            }
        }
    }

    nd_black(temp);
}


nd_rbtree_node_t *
nd_rbtree_min(nd_rbtree_t *t)
{
    if (t->root == t->sentinel) {
        return NULL;
    }

    return nd_rbtree_subtree_min(t->root, t->sentinel);
}


nd_rbtree_node_t *
nd_rbtree_next(nd_rbtree_t *t, nd_rbtree_node_t *node)
{
    nd_rbtree_node_t  *s, *p;

    s = t->sentinel;

    if (node->right != s) {
        return nd_rbtree_subtree_min(node->right, s);
    }

    for ( ;; ) {
        p = node->parent;
        if (p == NULL) {
            return NULL;
        }
        if (node == p->left) {
            return p;
        }
        node = p;
    }
}

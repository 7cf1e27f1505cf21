/*
 * Intrusive doubly linked lists with a sentinel.
 */
#ifndef ND_QUEUE_H
#define ND_QUEUE_H

typedef struct nd_queue_s  nd_queue_t;

struct nd_queue_s {
    nd_queue_t  *prev;
    nd_queue_t  *next;
};

#define nd_queue_init(q)      (q)->prev = q; (q)->next = q
#define nd_queue_empty(h)     ((h) == (h)->prev)
#define nd_queue_head(h)      (h)->next
#define nd_queue_last(h)      (h)->prev
#define nd_queue_sentinel(h)  (h)
#define nd_queue_next(q)      (q)->next
#define nd_queue_prev(q)      (q)->prev

#define nd_queue_insert_head(h, x)                                            \
    (x)->next = (h)->next; (x)->next->prev = x; (x)->prev = h; (h)->next = x

#define nd_queue_insert_tail(h, x)                                            \
    (x)->prev = (h)->prev; (x)->prev->next = x; (x)->next = h; (h)->prev = x

#define nd_queue_remove(x)                                                    \
    (x)->next->prev = (x)->prev; (x)->prev->next = (x)->next;                 \
    (x)->prev = NULL; (x)->next = NULL

#define nd_queue_linked(x)    ((x)->next != NULL)

/* every element of h moves to the queue n (its old contents are dropped);
 * h is left empty */
#define nd_queue_move(h, n)                                                   \
    do {                                                                      \
        if (nd_queue_empty(h)) {                                              \
            nd_queue_init(n);                                                 \
        } else {                                                              \
            (n)->next = (h)->next; (n)->prev = (h)->prev;                     \
            (n)->next->prev = (n); (n)->prev->next = (n);                     \
            nd_queue_init(h);                                                 \
        }                                                                     \
    } while (0)

#define nd_queue_data(q, type, link)                                          \
    ((type *) ((u_char *) (q) - offsetof(type, link)))

#endif /* ND_QUEUE_H */

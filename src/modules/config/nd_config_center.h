/*
 * The config module's API for other front ends (gRPC): keys, md5 lookup
 * and the listener index shared by long polls and gRPC connections.
 */
#ifndef ND_CONFIG_CENTER_H
#define ND_CONFIG_CENTER_H

#include <nd_core.h>
#include <nd_store.h>

typedef struct nd_config_listener_s  nd_config_listener_t;
typedef struct nd_config_watch_s     nd_config_watch_t;

/* a listened key changed; the listener is still registered */
typedef void (*nd_config_notify_pt)(nd_config_listener_t *l);

struct nd_config_listener_s {
    nd_queue_t            link;       /* in watch->listeners */
    nd_config_watch_t    *watch;      /* NULL when not registered */
    nd_config_notify_pt   notify;
    void                 *data;       /* the owner */
    nd_uint_t             index;      /* the owner's slot for this key */
    /* for the listener queries and the gray rules (beta by client ip,
     * tag versions by Vipserver-Tag); must live as long as the
     * listener; tag may be NULL */
    const char           *client_ip;
    const char           *tag;
    char                  md5[33];    /* what the client holds */
    /* a gray version of the key changed: notify only when the md5 this
     * client should hold is no longer md5 (long polls) */
    unsigned              gray_compare:1;
};

void nd_config_key_normalize(nd_config_key_t *key);
/* the md5 a client with this key, address and tag (Vipserver-Tag; NULL
 * or "" for none) should hold: its beta, tag or formal version (empty
 * when absent) */
nd_str_t nd_config_md5(nd_cycle_t *cycle, const nd_config_key_t *key,
    const char *client_ip, const char *tag);
/* the client's md5 (NUL-terminated) is not the server's */
int nd_config_md5_differs(nd_cycle_t *cycle, const nd_config_key_t *key,
    const char *client_ip, const char *tag, const char *client_md5);
/* l->notify and l->data set by the caller; data identifies the owner:
 * an owner that listens to the same key twice gets ND_DECLINED (the
 * first listener stays).  Owners register their keys one after another */
nd_int_t nd_config_listen(nd_cycle_t *cycle, const nd_config_key_t *key,
    nd_config_listener_t *l);
void nd_config_unlisten(nd_config_listener_t *l);

#endif /* ND_CONFIG_CENTER_H */

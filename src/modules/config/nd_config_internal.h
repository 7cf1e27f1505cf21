/*
 * config module internals.
 */
#ifndef ND_CONFIG_INTERNAL_H
#define ND_CONFIG_INTERNAL_H

#include <nd_config_center.h>
#include <nd_http.h>
#include <nd_store.h>

struct nd_config_watch_s {
    nd_queue_t            listeners;
    nd_uint_t             n;
    nd_uint_t             busy;       /* pinned by a notification walk */
    size_t                klen;
    u_char                key[];      /* dataId \x02 group \x02 tenant */
};

typedef struct {
    nd_msec_t             long_poll_floor;   /* minimum hold */
    nd_msec_t             long_poll_delay;   /* held for timeout - delay */
    nd_uint_t             max_listen_keys;   /* per long poll */
    nd_uint_t             max_long_polls;    /* held at once */
    nd_uint_t             max_long_poll_keys; /* in held polls, summed */
    nd_uint_t             max_connection_listeners;  /* per gRPC conn */

    /* runtime */
    nd_hash_t             watches;           /* key -> nd_config_watch_t */
    nd_uint_t             polls;             /* held long polls */
    nd_uint_t             poll_keys;         /* keys they listen to */
    nd_uint_t             trim_keys;         /* ended since the trim */
    nd_timer_t            trim;              /* memory back, polls ended */
    nd_queue_t            held;              /* nd_config_listen.c's */
    nd_queue_t            peers;             /* nd_config_cluster.c's */
    nd_hash_t             gconns;            /* nd_config_grpc.c's:
                                                connection id -> gconn */
    nd_buf_t              gpush;             /* a notify's JSON text */
    nd_shared_t          *gpush_text;        /* the last one, shared */
    nd_buf_t              gpush_key;         /* its dataId, group, tenant */
    nd_uint_t             syncs_sent;        /* cluster notifies */
} nd_config_conf_t;

extern nd_module_t  nd_config_module;

#define nd_config_conf(cycle)                                                 \
    ((nd_config_conf_t *) nd_get_conf(cycle, nd_config_module))

/* index key of a normalised config key; dst >= nd_config_index_len() */
size_t nd_config_index_key(u_char *dst, const nd_config_key_t *key);
#define nd_config_index_len(k)                                                \
    ((k)->data_id.len + (k)->group.len + (k)->tenant.len + 2)

/* gray: only a gray version changed (see listener gray_compare) */
void nd_config_changed(nd_cycle_t *cycle, const nd_config_key_t *key,
    int gray);
/* the version of a key a client sees (nd_store_config_match); tag is the
 * tag parameter or Vipserver-Tag, NUL-terminated or NULL */
const nd_store_config_t *nd_config_for_client(nd_cycle_t *cycle,
    const nd_config_key_t *key, const char *client_ip, const char *tag);
/* the config type of a row (a gray row has none: the formal one's) */
nd_str_t nd_config_row_type(nd_cycle_t *cycle, const nd_store_config_t *c);
/* "beta" gray row, "tag_<tag>" gray row */
#define nd_config_is_beta(c)                                                  \
    ((c)->gray_name.len == 4 && memcmp((c)->gray_name.data, "beta", 4) == 0)
#define nd_config_is_tag(c)                                                   \
    ((c)->gray_name.len > 4 && memcmp((c)->gray_name.data, "tag_", 4) == 0)

nd_int_t nd_config_http_init(nd_cycle_t *cycle);
nd_int_t nd_config_console_init(nd_cycle_t *cycle);
nd_int_t nd_config_listener_poll(nd_http_request_t *r);
/* answer every held long poll "no change" (the node stops) */
void nd_config_polls_stop(nd_cycle_t *cycle);
void nd_config_trim(nd_timer_t *t);
#if (ND_WITH_GRPC)
nd_int_t nd_config_grpc_init(nd_cycle_t *cycle);
void nd_config_grpc_exit(nd_cycle_t *cycle);
#endif
nd_int_t nd_config_listener_query(nd_http_request_t *r);
/* this node's listeners of key (client ip -> md5), or of the client ip
 * (group key -> md5) when key is NULL */
json_t *nd_config_listeners_map(nd_cycle_t *cycle, const nd_config_key_t *key,
    const nd_str_t *ip);
/* {"collectStatus":200,"lisentersGroupkeyStatus":map}; map borrowed */
nd_int_t nd_config_listeners_answer(nd_http_request_t *r, json_t *map);
#if (ND_WITH_CLUSTER)
nd_int_t nd_config_cluster_init(nd_cycle_t *cycle);
void nd_config_cluster_exit(nd_cycle_t *cycle);
/* ask every other member for its part of a listener query (map takes
 * it, the request is answered once all did): ND_DONE; ND_DECLINED when
 * there is nobody to ask (answer map now) */
nd_int_t nd_config_cluster_gather(nd_http_request_t *r,
    const nd_config_key_t *key, const nd_str_t *ip, json_t *map);
#endif

/* request parameters shared by the HTTP files */
nd_int_t nd_config_arg(nd_http_request_t *r, const char *name, nd_str_t *v);
nd_int_t nd_config_v1_error(nd_http_request_t *r, nd_uint_t status,
    const char *msg);
/* the first part of a key that breaks the Nacos name rules (nd_name.h) */
typedef enum {
    ND_CONFIG_KEY_OK = 0,
    ND_CONFIG_KEY_DATA_ID,
    ND_CONFIG_KEY_GROUP,
    ND_CONFIG_KEY_TENANT
} nd_config_key_field_t;

nd_config_key_field_t nd_config_key_invalid(const nd_config_key_t *key);
int nd_config_tag_ok(const nd_str_t *tag);

/* a 1.x long poll (nd_config_listen.c) */
typedef struct {
    nd_config_key_t        key;       /* normalised */
    nd_str_t               tenant;    /* as the client sent it */
} nd_config_poll_key_t;

typedef struct {
    nd_queue_t             link;      /* ccf->held */
    nd_http_request_t     *r;
    nd_uint_t              n;
    nd_config_poll_key_t  *keys;
    nd_config_listener_t  *ls;
} nd_config_poll_t;

/* Listening-Configs (v, form-decoded) into poll->keys and ->ls, views
 * into a decoded pool copy: ND_OK, ND_DECLINED (malformed), ND_BUSY (over
 * max keys), ND_ERROR; its own function for t/fuzz/listening_configs.c */
nd_int_t nd_config_parse_listening(nd_http_request_t *r, nd_str_t *v,
    nd_config_poll_t *poll, nd_uint_t max);

#endif /* ND_CONFIG_INTERNAL_H */

/*
 * libnacos: a Nacos 2.x (gRPC) client for C.
 *
 * One client is one connection to one server of a list, driven by a libev
 * loop: the client's own (nacos_client_run) or the caller's (conf.loop;
 * the caller runs it).  Everything happens on that loop's thread; the
 * library keeps no global state, so separate clients on separate threads
 * are independent.
 *
 * Calls come in two shapes:
 *   - blocking conveniences (nacos_config_get, nacos_naming_register ...)
 *     run the loop until the answer came or timeout_ms went by; never call
 *     them from inside a libnacos callback (they fail with NACOS_EBUSY);
 *   - listeners and subscribers, whose callbacks run from the loop.
 * Every call returns a NACOS_* code; nacos_errmsg says more about the last
 * failure.  Strings the library returns are malloc'd and the caller's
 * (free them), or borrowed for the duration of a callback when so noted.
 *
 * The connection: ServerCheckRequest, then the bi-stream with its
 * ConnectionSetupRequest, HealthCheckRequest when idle, failover to the
 * next server and reconnect with capped backoff, ConnectResetRequest
 * honoured; after every (re)connect instances are registered again,
 * subscriptions renewed and every config listen resent.
 */
#ifndef NACOS_H
#define NACOS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NACOS_OK            0
#define NACOS_NOT_FOUND     1   /* no such config */
#define NACOS_ERROR         2   /* the server said no: see nacos_errmsg */
#define NACOS_TIMEOUT       3   /* no answer within timeout_ms */
#define NACOS_UNAVAILABLE   4   /* no server reachable */
#define NACOS_CONFLICT      5   /* publish: the CAS md5 did not match */
#define NACOS_DENIED        6   /* login failed or no right */
#define NACOS_EINVAL        7   /* bad argument */
#define NACOS_ENOMEM        8
#define NACOS_EBUSY         9   /* a blocking call inside a callback */

struct ev_loop;

typedef struct nacos_client_s  nacos_client_t;

typedef struct {
    const char      *servers;       /* "host:port[,host:port...]": the
                                       HTTP ports; gRPC is port +
                                       grpc_offset.  IP addresses only
                                       (no name lookup on the loop):
                                       IPv4, or IPv6 in brackets
                                       ("[::1]:8848") */
    const char      *namespace_id;  /* NULL or "": public */
    const char      *app_name;      /* label AppName; NULL: "unknown" */
    const char      *username;      /* NULL: no login */
    const char      *password;
    struct ev_loop  *loop;          /* NULL: the client makes its own */
    unsigned         grpc_offset;   /* 0: 1000 */
    unsigned         timeout_ms;    /* a request; 0: 3000 */
    unsigned         listen_interval_ms;  /* the listen loop's longest
                                             wait for its bell; 0: 5000 */
    unsigned         health_interval_ms;  /* 0: 5000 */
    unsigned         backoff_max_ms;      /* reconnect; 0: 5000 */
    int              trace;         /* non-zero: one line per event on
                                       stderr */
} nacos_conf_t;

/* what the client did, for tests and metrics */
typedef struct {
    unsigned long    connects;      /* connections set up */
    unsigned long    listen_requests;     /* ConfigBatchListenRequests */
    unsigned long    config_queries;
    unsigned long    config_pushes;       /* ConfigChangeNotifyRequests */
    unsigned long    naming_pushes;       /* NotifySubscriberRequests */
    unsigned long    resets;              /* ConnectResetRequests */
    unsigned long    redo_instances;      /* registrations redone */
    unsigned long    redo_subscribes;
    unsigned long    logins;
} nacos_stats_t;

/* NULL on failure, with the reason in err (errlen bytes) */
nacos_client_t *nacos_client_new(const nacos_conf_t *conf, char *err,
    size_t errlen);
void nacos_client_free(nacos_client_t *c);
struct ev_loop *nacos_client_loop(nacos_client_t *c);
/* run the loop for ms (0: until nacos_client_stop) */
void nacos_client_run(nacos_client_t *c, unsigned ms);
void nacos_client_stop(nacos_client_t *c);
/* wait (blocking) until the connection is ready: NACOS_OK or
 * NACOS_UNAVAILABLE after ms */
int nacos_client_wait_ready(nacos_client_t *c, unsigned ms);
int nacos_client_connected(nacos_client_t *c);
/* "ip:port" (HTTP port) of the server in use, "" when none */
const char *nacos_client_server(nacos_client_t *c);
/* the server's id of this connection, "" when none */
const char *nacos_client_connection_id(nacos_client_t *c);
void nacos_client_stats(nacos_client_t *c, nacos_stats_t *st);
const char *nacos_errmsg(nacos_client_t *c);
const char *nacos_strerror(int rc);

/* config: group NULL is "DEFAULT_GROUP" */

/* *content malloc'd (NUL-terminated); md5 (33 bytes) may be NULL */
int nacos_config_get(nacos_client_t *c, const char *data_id,
    const char *group, char **content, char *md5);
/* cas_md5: publish only if the current md5 is this (NACOS_CONFLICT
 * when it is not); NULL or "": always.  type: "text", "yaml" ... or
 * NULL */
int nacos_config_publish(nacos_client_t *c, const char *data_id,
    const char *group, const char *content, const char *cas_md5,
    const char *type);
int nacos_config_remove(nacos_client_t *c, const char *data_id,
    const char *group);

/* a listened config changed: content NULL when it was deleted; all
 * arguments borrowed for the call */
typedef void (*nacos_config_pt)(nacos_client_t *c, const char *data_id,
    const char *group, const char *content, const char *md5, void *data);

/* add a listener (never blocks): it is called once per real change of
 * the content from now on, in order; the first change is against the
 * content the server had when the listener was added */
int nacos_config_listen(nacos_client_t *c, const char *data_id,
    const char *group, nacos_config_pt cb, void *data);
int nacos_config_unlisten(nacos_client_t *c, const char *data_id,
    const char *group, nacos_config_pt cb, void *data);

/* naming: service names bare, group NULL is "DEFAULT_GROUP" */

typedef struct {
    const char      *ip;
    int              port;
    double           weight;        /* 0: 1.0 */
    const char      *cluster;       /* NULL: "DEFAULT" */
    const char      *metadata;      /* a JSON object's text or NULL */
    int              persistent;    /* 0: ephemeral (owned by the
                                       connection, redone on reconnect) */
    int              disabled;
    int              unhealthy;
} nacos_instance_t;

int nacos_naming_register(nacos_client_t *c, const char *service,
    const char *group, const nacos_instance_t *inst);
int nacos_naming_deregister(nacos_client_t *c, const char *service,
    const char *group, const nacos_instance_t *inst);
/* replaces this client's ephemeral instances of the service by n */
int nacos_naming_batch_register(nacos_client_t *c, const char *service,
    const char *group, const nacos_instance_t *inst, size_t n);
/* *service_info: the ServiceInfo JSON text (malloc'd), with "hosts" */
int nacos_naming_query(nacos_client_t *c, const char *service,
    const char *group, const char *clusters, int healthy_only,
    char **service_info);

/* the instances of a subscribed service changed (or came first):
 * service_info is the ServiceInfo JSON text, borrowed */
typedef void (*nacos_service_pt)(nacos_client_t *c, const char *service,
    const char *group, const char *service_info, void *data);

int nacos_naming_subscribe(nacos_client_t *c, const char *service,
    const char *group, nacos_service_pt cb, void *data);
int nacos_naming_unsubscribe(nacos_client_t *c, const char *service,
    const char *group, nacos_service_pt cb, void *data);

/* any request: type ("ServiceListRequest"), body a JSON object's text;
 * *response (malloc'd) the answer's JSON text, *resp_type its type
 * (malloc'd; may be NULL) */
int nacos_request(nacos_client_t *c, const char *type, const char *body,
    char **resp_type, char **response);

/* the HTTP API of the server in use (for what gRPC lacks: history,
 * members, loader): method "GET"/"POST"/"DELETE", path under the host
 * ("/nacos/v1/cs/history?..."), form an urlencoded body or NULL.  The
 * accessToken is added when logged in.  *status the HTTP status,
 * *body malloc'd */
int nacos_http(nacos_client_t *c, const char *method, const char *path,
    const char *form, int *status, char **body);

#ifdef __cplusplus
}
#endif

#endif /* NACOS_H */

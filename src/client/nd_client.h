/*
 * libnacos internals: the client object shared by nd_client_conn.c (the
 * connection, calls, pushes), nd_client_config.c (config and the listen
 * loop), nd_client_naming.c (naming and redo) and nd_client_http.c (the
 * HTTP API and login).  Built only into libnacos; never into nacosd.
 */
#ifndef ND_CLIENT_H
#define ND_CLIENT_H

#include <nd_grpc_internal.h>
#include <nd_grpc_h2_client.h>
#include <nacos.h>

typedef struct nd_client_call_s    nd_client_call_t;
typedef struct nd_client_cache_s   nd_client_cache_t;
typedef struct nd_client_listener_s  nd_client_listener_t;
typedef struct nd_client_sub_s     nd_client_sub_t;
typedef struct nd_client_redo_s    nd_client_redo_t;
typedef struct nd_client_http_s    nd_client_http_t;

typedef enum {
    ND_CLIENT_IDLE = 0,         /* waiting to (re)connect */
    ND_CLIENT_LOGIN,            /* HTTP login in flight */
    ND_CLIENT_CONNECTING,       /* TCP connect */
    ND_CLIENT_CHECKING,         /* ServerCheckRequest sent */
    ND_CLIENT_SETUP,            /* ConnectionSetupRequest sent */
    ND_CLIENT_READY
} nd_client_state_e;

/* a call ended: rc NACOS_OK with the answer (type, body borrowed), or a
 * failure code with type and body NULL */
typedef void (*nd_client_done_pt)(nacos_client_t *c, int rc,
    const char *type, json_t *body, void *data);

struct nd_client_call_s {
    nd_queue_t               link;      /* waiting or done */
    nd_grpc_h2c_stream_t     st;
    ev_timer                 timer;
    nacos_client_t          *client;
    char                    *type;
    json_t                  *body;
    nd_client_done_pt        handler;
    void                    *data;
    int                      rc;
    unsigned                 internal:1; /* may go before READY */
    unsigned                 submitted:1;
    unsigned                 ended:1;
};

typedef struct {
    char                     ip[64];    /* IPv4 or IPv6 (no brackets) */
    int                      port;      /* HTTP */
} nd_client_server_t;

struct nd_client_listener_s {
    nd_client_listener_t    *next;
    nacos_config_pt          cb;
    void                    *data;
};

struct nd_client_cache_s {
    nd_queue_t               link;
    nd_queue_t               qlink;     /* waiting for its first read */
    char                    *data_id;
    char                    *group;
    char                    *content;   /* NULL: absent */
    char                     md5[33];   /* "" : absent */
    nd_client_listener_t    *listeners;
    unsigned                 refs;      /* listeners (1) + in flight */
    unsigned                 gen;       /* bumped when it must be
                                           listened again */
    unsigned                 synced:1;  /* the server has our md5 */
    unsigned                 known:1;   /* content read once */
    unsigned                 removing:1; /* no listener: unlisten, free */
    unsigned                 unlistened:1; /* listen=false sent */
    unsigned                 querying:1;
};

struct nd_client_sub_s {
    nd_queue_t               link;
    char                    *service;
    char                    *group;
    char                    *hosts;     /* last hosts JSON (sorted) */
    nacos_service_pt         cb;
    void                    *data;
};

/* what to register again after a reconnect: one service's ephemeral
 * instances of this client */
struct nd_client_redo_s {
    nd_queue_t               link;
    char                    *service;
    char                    *group;
    json_t                  *instances; /* array */
};

struct nacos_client_s {
    struct ev_loop          *loop;
    unsigned                 own_loop:1;
    unsigned                 in_callback;
    unsigned                 stopping:1;
    unsigned                 lost:1;        /* tear down in the prepare */
    unsigned                 ack:1;         /* SetupAckRequest came */
    unsigned                 bell:1;        /* rang while listening */

    /* conf */
    char                    *namespace_id;
    char                    *app_name;
    char                    *username;
    char                    *password;
    unsigned                 grpc_offset;
    nd_msec_t                timeout;
    nd_msec_t                listen_interval;
    nd_msec_t                health_interval;
    nd_msec_t                backoff_max;
    int                      trace;

    nd_client_server_t      *servers;
    nd_uint_t                nservers;
    nd_uint_t                cur;
    nd_uint_t                failures;      /* in a row */
    nd_msec_t                backoff;
    char                     redirect_ip[64];
    int                      redirect_port;

    /* the connection */
    nd_client_state_e        state;
    int                      fd;
    ev_io                    rev;
    ev_io                    wev;
    ev_timer                 reconnect;     /* backoff, connect timeout */
    ev_timer                 health;
    ev_timer                 setup;         /* SetupAck wait */
    ev_prepare               prepare;
    nd_buf_t                 out;
    nd_grpc_h2c_t            h2c;
    unsigned                 h2c_live:1;
    nd_grpc_h2c_stream_t     bidi;
    char                     authority[80];
    char                     conn_id[128];
    char                     server[80];
    char                     server_host[64]; /* of server, its port: */
    int                      server_port;
    nd_msec_t                last_ok;
    nd_log_t                 log;

    nd_queue_t               waiting;       /* calls before READY */
    nd_queue_t               done;          /* calls ended, to report */
    nd_buf_t                 pushes;        /* server requests, raw
                                               gRPC messages */
    nd_buf_t                 answers;       /* our answers to them */

    /* auth */
    char                    *token;
    nd_msec_t                token_expire;  /* monotonic */
    nd_client_http_t        *login;

    /* config */
    nd_queue_t               caches;
    nd_queue_t               query_wait;    /* first reads beyond the
                                               concurrency limit */
    unsigned                 queries;       /* first reads in flight */
    unsigned                 listening;     /* batch listens in flight */
    ev_timer                 listen;

    /* naming */
    nd_queue_t               subs;
    nd_queue_t               redos;

    nacos_stats_t            stats;
    int                      errcode;
    char                     errmsg[256];
    char                     lasterr[256];   /* the last failed attempt's */
};

#define ND_CLIENT_GROUP(g)  ((g) && (g)[0] ? (g) : "DEFAULT_GROUP")

/* nd_client_conn.c */
int nd_client_call(nacos_client_t *c, const char *type, json_t *body,
    unsigned internal, nd_client_done_pt handler, void *data);
int nd_client_call_wait(nacos_client_t *c, const char *type, json_t *body,
    char **rtype, json_t **rbody);
int nd_client_result(nacos_client_t *c, const char *type, json_t *body);
int nd_client_error(nacos_client_t *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void nd_client_trace(nacos_client_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int nd_client_blocking_ok(nacos_client_t *c);
int nd_client_wait(nacos_client_t *c, int *done, nd_msec_t ms);
void nd_client_answer(nacos_client_t *c, const char *type,
    const char *request_id);

/* nd_client_config.c */
void nd_client_config_init(nacos_client_t *c);
void nd_client_config_free(nacos_client_t *c);
void nd_client_config_connected(nacos_client_t *c);
void nd_client_config_push(nacos_client_t *c, json_t *body);

/* nd_client_naming.c */
void nd_client_naming_init(nacos_client_t *c);
void nd_client_naming_free(nacos_client_t *c);
void nd_client_naming_connected(nacos_client_t *c);
void nd_client_naming_push(nacos_client_t *c, json_t *body);

/* nd_client_http.c */
typedef void (*nd_client_http_pt)(nacos_client_t *c, int status,
    const char *body, size_t len, void *data);
nd_client_http_t *nd_client_http_start(nacos_client_t *c, const char *ip,
    int port, const char *method, const char *path, const char *form,
    nd_client_http_pt handler, void *data);
void nd_client_http_cancel(nd_client_http_t *h);
int nd_client_login_needed(nacos_client_t *c);
void nd_client_login(nacos_client_t *c);
/* nd_client_conn.c: the login ended (ok or not) */
void nd_client_login_done(nacos_client_t *c, int ok);

/* nd_client_addr.c */
/* host (an IPv4 or IPv6 address; never a name, whose lookup would block
 * the loop) and port as a socket address; 0, or -1 with *why set */
int nd_client_sockaddr(const char *host, int port,
    struct sockaddr_storage *ss, socklen_t *len, const char **why);
/* "host:port", "[v6]:port" */
void nd_client_hostport(char *out, size_t size, const char *host, int port);
/* conf->servers into c->servers; 0, or -1 when malformed */
int nd_client_parse_servers(nacos_client_t *c, const char *list);

#endif /* ND_CLIENT_H */

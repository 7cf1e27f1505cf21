/*
 * gRPC module internals.
 */
#ifndef ND_GRPC_INTERNAL_H
#define ND_GRPC_INTERNAL_H

#include <nd_grpc.h>
#include <nd_hpack.h>
#include <nd_grpc_h2.h>
#include "nacos_grpc.pb-c.h"

#define ND_GRPC_PATH_UNARY  "/Request/request"
#define ND_GRPC_PATH_BIDI   "/BiRequestStream/requestBiStream"

/* gRPC status codes we use */
#define ND_GRPC_OK                  0
#define ND_GRPC_RESOURCE_EXHAUSTED  8
#define ND_GRPC_UNIMPLEMENTED       12
#define ND_GRPC_INTERNAL            13

typedef struct nd_grpc_stream_s  nd_grpc_stream_t;
typedef struct nd_grpc_push_s    nd_grpc_push_t;

/* HTTP/2 state of a connection (nd_grpc_h2.c); idle, it owns no memory
 * but the client's HPACK table */
typedef struct {
    nd_hpack_t           hpack;         /* the client's header table */
    nd_grpc_h2_reader_t  rd;            /* frames in */
    nd_grpc_h2_flow_t    flow;          /* toward the client and back */
    uint32_t             nstreams;
    uint16_t             enc_max;       /* our encoder's table size */
    uint16_t             enc_size;      /* what we inserted in it */
    uint8_t              enc_count;     /* entries we inserted */
    uint8_t              enc_at[3];     /* each constant's insertion + 1 */
    unsigned             enc_update:1;  /* size update to send */
    unsigned             goaway_sent:1;
    unsigned             goaway_recv:1;
    unsigned             failed:1;      /* connection error sent */
    unsigned             in_recv:1;
    unsigned             in_send:1;
} nd_grpc_h2_t;

/* HTTP/2 state of a stream */
typedef struct {
    int32_t              window;        /* send window toward the client */
    uint32_t             unacked;       /* received, not yet granted */
    uint8_t              rst;           /* RST_STREAM code to send + 1 */
    unsigned             remote:1;      /* client sent END_STREAM */
    unsigned             local:1;       /* we sent END_STREAM */
    unsigned             headers:1;     /* response HEADERS sent */
    unsigned             tonly:1;       /* trailers-only response */
} nd_grpc_h2_stream_t;

/* a registered handler and its grpc_server_requests_seconds series */
typedef struct {
    nd_grpc_handler_pt       handler;
    nd_grpc_raw_handler_pt   raw;
    nd_metrics_hist_t       *hist;
} nd_grpc_handler_entry_t;

typedef struct {
    nd_addr_t           *listen;
    nd_int_t             max_concurrent_streams;
    size_t               max_message_size;
    size_t               push_queue_max;
    nd_msec_t            idle_probe;        /* idle time before a probe */
    nd_msec_t            probe_interval;    /* how often to look */
    nd_msec_t            probe_timeout;     /* ClientDetection answer */
    nd_msec_t            push_timeout;
    nd_msec_t            handshake_timeout; /* preface and setup */
    size_t               queued_output_max; /* no new call past this */
    nd_int_t             stream_reset_rate; /* client resets a second */
    nd_uint_t            max_handshakes_per_ip;
    size_t               push_blocked_size;  /* queued bytes = blocked */
    nd_msec_t            push_blocked_timeout; /* blocked that long: out */
    nd_ssl_conf_t        ssl;

    /* runtime */
    nd_hash_t            handlers;          /* type -> handler entry */
    nd_hash_t            cluster_handlers;  /* the same, cluster port */
    nd_array_t           handler_stats;     /* nd_metrics_series_t * */
    nd_array_t           gates;             /* nd_grpc_gate_pt */
    nd_uint_t            body_gates;        /* of them, reading bodies */
    nd_array_t           conn_hooks;        /* nd_grpc_conn_hook_pt */
    nd_hash_t            conns;             /* id -> conn (registered) */
    nd_hash_t            handshaking;       /* SDK port: peer address ->
                                               its connections not set up
                                               yet (a count, never 0) */
    nd_queue_t           all;               /* every conn */
    nd_timer_t           probe;
    nd_queue_t           push_waits;        /* pushes by deadline */
    nd_timer_t           push_timer;        /* the first one's */
    nd_msec_t            push_due;          /* when push_timer fires */
    uint64_t             push_seq;
    nd_buf_t             scratch;           /* a push's JSON body */
    nd_uint_t            registered;
    uint64_t             last_moved;        /* wall msec */
    nd_uint_t            pushes;            /* server requests sent */
    nd_uint_t            push_failed;       /* not sent or not answered */
    nd_metrics_hist_t    push_latency;      /* sent -> answered */
    uint64_t             answers_scanned;   /* matched from the bytes */
    uint64_t             answers_parsed;    /* unpacked and parsed */
    nd_uint_t            nconns;            /* in all */
    json_t              *abilities;         /* SetupAckRequest's table */
    size_t               queued_peak;       /* most output one conn held */
    uint64_t             calls_started;
    uint64_t             calls_cancelled;   /* reset or gone before start */
    uint64_t             calm_goaways;      /* ENHANCE_YOUR_CALM sent */
    nd_str_t             identity;          /* the members' shared secret */
    unsigned             identity_required:1;
} nd_grpc_conf_t;

struct nd_grpc_stream_s {
    int32_t              id;
    nd_grpc_conn_t      *conn;
    nd_buf_t             in;            /* received gRPC frames */
    nd_buf_t             out;           /* framed messages to send */
    nd_buf_refs_t        out_refs;      /* shared push bodies among out */
    nd_grpc_call_t      *call;          /* unary call in flight */
    nd_queue_t           link;
    nd_queue_t           ready_link;    /* conn->ready while waiting */
    uint32_t             status;        /* grpc-status of the trailers */
    const char          *message;       /* grpc-message */
    unsigned             bidi:1;
    unsigned             unary:1;
    unsigned             responded:1;   /* response headers submitted */
    unsigned             finish:1;      /* trailers once out is drained */
    unsigned             deferred:1;    /* data provider waits for out */
    unsigned             ended:1;       /* client sent END_STREAM */
    unsigned             ready:1;       /* a whole request, not started */
    nd_grpc_h2_stream_t  h2;
};

struct nd_grpc_push_s {
    nd_queue_t           link;
    uint64_t             request_id;
    nd_grpc_push_pt      cb;
    void                *data;
    nd_queue_t           wait;          /* in gcf->push_waits */
    nd_grpc_conn_t      *conn;
    nd_msec_t            start_msec;
    nd_msec_t            deadline;      /* unanswered then: timed out */
    unsigned             body:1;        /* cb wants the answer's JSON */
};

struct nd_grpc_conn_s {
    nd_connection_t     *c;
    nd_grpc_conf_t      *gcf;
    nd_grpc_h2_t         h2;
    char                 id[96];
    char                 client_ip[INET6_ADDRSTRLEN];
    nd_grpc_stream_t    *bidi;
    nd_queue_t           streams;
    nd_queue_t           pushes;        /* nd_grpc_push_t awaiting answers */
    nd_uint_t            npushes;
    nd_queue_t           link;          /* gcf->all */
    nd_posted_t          flush;
    nd_msec_t            last_active;   /* monotonic */
    nd_msec_t            created;       /* monotonic */
    nd_msec_t            registered_at; /* monotonic */
    nd_msec_t            blocked_since; /* push queue blocked, or 0 */
    json_t              *labels;
    char                *client_version;
    char                *tenant;
    size_t               queued;        /* bytes in streams' out buffers */
    nd_queue_t           ready;         /* unary requests not started */
    uint64_t             reset_credit;  /* client resets allowed, x1000 */
    nd_msec_t            reset_at;      /* when the credit was counted */
    unsigned             registered:1;
    unsigned             cluster:1;     /* on the cluster port */
    unsigned             probing:1;
    unsigned             closing:1;
    unsigned             read_stopped:1; /* output over the bound */
    unsigned             handshaking:1; /* counted in gcf->handshaking */
    unsigned             moved:1;       /* reset to another server */
};

extern nd_module_t  nd_grpc_module;

#define nd_grpc_conf(cycle)                                                   \
    ((nd_grpc_conf_t *) nd_get_conf(cycle, nd_grpc_module))

/* nd_grpc_h2.c: HTTP/2 framing (server side, h2c) */
int nd_grpc_h2_session(nd_grpc_conn_t *conn);
nd_int_t nd_grpc_h2_recv(nd_grpc_conn_t *conn, const u_char *data, size_t len);
nd_int_t nd_grpc_h2_send(nd_grpc_conn_t *conn);
nd_int_t nd_grpc_h2_respond(nd_grpc_stream_t *st);
nd_int_t nd_grpc_h2_data_now(nd_grpc_stream_t *st, size_t n, u_char *head);
nd_int_t nd_grpc_h2_trailers_only(nd_grpc_stream_t *st, uint32_t status,
    const char *message);
void nd_grpc_h2_resume(nd_grpc_stream_t *st);
void nd_grpc_h2_reset(nd_grpc_stream_t *st);
void nd_grpc_h2_goaway(nd_grpc_conn_t *conn);
/* GOAWAY ENHANCE_YOUR_CALM with reason as its debug data */
void nd_grpc_h2_calm(nd_grpc_conn_t *conn, const char *reason);
void nd_grpc_h2_free(nd_grpc_conn_t *conn);
int nd_grpc_h2_want_io(nd_grpc_conn_t *conn);

/* nd_grpc_conn.c: called back from nd_grpc_h2.c */
nd_grpc_stream_t *nd_grpc_stream_open(nd_grpc_conn_t *conn, int32_t id);
nd_int_t nd_grpc_stream_header(nd_grpc_stream_t *st, const u_char *name,
    size_t nlen, const u_char *value, size_t vlen);
nd_int_t nd_grpc_stream_data(nd_grpc_stream_t *st, const u_char *data,
    size_t len);
void nd_grpc_stream_end(nd_grpc_stream_t *st);
void nd_grpc_stream_closed(nd_grpc_stream_t *st);
/* the client reset an open stream: ND_ERROR when it does so faster than
 * stream_reset_rate (the caller sends GOAWAY ENHANCE_YOUR_CALM) */
nd_int_t nd_grpc_stream_client_reset(nd_grpc_conn_t *conn);
/* bytes of st's messages not yet framed; move n of them (n <= that) to
 * the connection's queue right after the DATA frame header */
size_t nd_grpc_stream_pending(nd_grpc_stream_t *st);
nd_int_t nd_grpc_stream_move(nd_grpc_stream_t *st, size_t n);

/* a Payload as one gRPC message (5-byte prefix) at the end of out */
nd_int_t nd_grpc_payload_frame(nd_buf_t *out, Metadata *meta,
    const u_char *json, size_t len);
/* a Payload's body: the JSON object (a new reference), {} when empty,
 * NULL when it is not a JSON object */
json_t *nd_grpc_payload_body(const Payload *payload);
/* a message head (5-byte prefix, Payload up to the body's JSON) for a
 * JSON of json_len bytes that follows it: its length (at most
 * ND_GRPC_HEAD_MAX), 0 when too long */
#define ND_GRPC_TYPE_MAX   64
#define ND_GRPC_HEAD_MAX   (29 + ND_GRPC_TYPE_MAX)
size_t nd_grpc_payload_head(u_char *head, const char *type, size_t json_len);
/* a client's answer to a push, read from the message bytes alone */
#define ND_GRPC_JSON_DEPTH  32
typedef struct {
    uint64_t             request_id;
    nd_int_t             result_code;
} nd_grpc_answer_t;
/* ND_OK: msg (a Payload, without the 5-byte prefix) is a *Response whose
 * JSON object has a requestId of digits and an integer resultCode;
 * ND_DECLINED for anything else (take the full path) */
nd_int_t nd_grpc_payload_answer(const u_char *msg, size_t len,
    nd_grpc_answer_t *a);
/* the first whole gRPC message in "in" (any compression flag): 1 with
 * *msg (inside the buffer) and *len, 0 while it is incomplete; the
 * caller consumes 5 + *len once done with it */
int nd_grpc_message_next(nd_buf_t *in, const u_char **msg, size_t *len);

void nd_grpc_init_connection(nd_connection_t *c);
void nd_grpc_init_cluster_connection(nd_connection_t *c);
void nd_grpc_conn_touch(nd_grpc_conn_t *conn);
void nd_grpc_probe_handler(nd_timer_t *t);
/* shared by nd_grpc_conn.c and nd_grpc_push.c: flush in this loop pass;
 * one framed message (Payload of type and json) appended to out; a
 * push's end; an answer of the client to a push */
void nd_grpc_flush_later(nd_grpc_conn_t *conn);
int nd_grpc_frame(nd_buf_t *out, const char *type, const nd_buf_t *json);
void nd_grpc_push_free(nd_grpc_push_t *push);
void nd_grpc_push_timer_handler(nd_timer_t *t);
void nd_grpc_push_answer(nd_grpc_conn_t *conn, json_t *body);
/* a bi-stream message that may answer a push, matched from its bytes:
 * ND_OK when it was taken, ND_DECLINED for the full path */
nd_int_t nd_grpc_push_scan(nd_grpc_conn_t *conn, const u_char *msg,
    size_t len);
/* note the output a connection holds (the most any held, for the
 * debug counters) */
void nd_grpc_queued_note(nd_grpc_conn_t *conn);
nd_int_t nd_grpc_internal_init(nd_cycle_t *cycle);

#endif /* ND_GRPC_INTERNAL_H */

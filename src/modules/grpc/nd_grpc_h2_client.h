/*
 * The client role of our HTTP/2 framer (h2c, RFC 9113): unary gRPC calls
 * on one connection to a server.  No socket and no loop: bytes from the
 * server go in through nd_grpc_h2c_recv, every frame we send goes out
 * through the handler's write function, and streams end through its end
 * function.  nd_grpc_client.c drives it over an nd_connection_t; the unit
 * tests drive it with bytes.
 */
#ifndef ND_GRPC_H2_CLIENT_H
#define ND_GRPC_H2_CLIENT_H

#include <nd_grpc_h2.h>
#include <nd_hpack.h>

typedef struct nd_grpc_h2c_s         nd_grpc_h2c_t;
typedef struct nd_grpc_h2c_stream_s  nd_grpc_h2c_stream_t;

/* how a stream ended */
typedef enum {
    ND_GRPC_H2C_ANSWERED = 0,   /* response and trailers: see grpc_status */
    ND_GRPC_H2C_REFUSED,        /* not processed by the server (GOAWAY
                                   below it, REFUSED_STREAM, or never
                                   sent): safe to send again */
    ND_GRPC_H2C_RESET,          /* RST_STREAM from the server (code) */
    ND_GRPC_H2C_BAD,            /* a malformed or oversized response */
    ND_GRPC_H2C_LOST            /* the connection failed or went away */
} nd_grpc_h2c_end_e;

struct nd_grpc_h2c_stream_s {
    nd_queue_t           link;          /* pending or open */
    void                *data;          /* the owner's */
    nd_buf_t             out;           /* the request: gRPC messages; the
                                           owner fills it before submit */
    nd_buf_t             in;            /* the response's DATA */
    int32_t              id;            /* 0 until its HEADERS are sent */
    int32_t              window;        /* send window toward the server */
    uint32_t             unacked;       /* received, not yet granted */
    uint32_t             code;          /* RST_STREAM or GOAWAY error */
    uint32_t             http_status;
    int32_t              grpc_status;   /* -1: none came */
    nd_grpc_h2c_end_e    end;
    char                 message[256];  /* grpc-message, maybe truncated */
    const char          *path;          /* NULL: /Request/request; set
                                           before submit, borrowed */
    unsigned             bidi:1;        /* a stream of messages both ways:
                                           out may grow after submit (call
                                           nd_grpc_h2c_send), never ends
                                           from our side, and each DATA
                                           frame that came is reported by
                                           the handler's message function */
    unsigned             queued:1;      /* submitted, not ended */
    unsigned             headers:1;     /* response HEADERS came */
    unsigned             local:1;       /* we sent END_STREAM */
};

typedef struct {
    /* frames to send: ND_OK, or ND_ERROR (the connection is failing) */
    nd_int_t           (*write)(void *data, const u_char *p, size_t len);
    /* non-zero: enough output is queued, stop sending DATA for now
     * (nd_grpc_h2c_send again once it drained); NULL: never */
    nd_int_t           (*full)(void *data);
    /* the server's SETTINGS came: streams open from now on */
    void               (*ready)(void *data);
    /* st ended (st->end); the framer no longer knows it.  Called from
     * inside nd_grpc_h2c_recv, _send and _fail: it may not call into
     * the framer. */
    void               (*end)(void *data, nd_grpc_h2c_stream_t *st);
    /* DATA came on a bidi stream: st->in holds what came so far (the
     * owner takes whole gRPC messages from it); called from inside
     * nd_grpc_h2c_recv, it may not call into the framer; may be NULL */
    void               (*message)(void *data, nd_grpc_h2c_stream_t *st);
    /* GOAWAY from the server: streams above last_sid have ended
     * REFUSED, nothing new opens; may be NULL */
    void               (*goaway)(void *data, int32_t last_sid,
        uint32_t code);
} nd_grpc_h2c_handler_t;

struct nd_grpc_h2c_s {
    nd_grpc_h2_reader_t           rd;       /* rd.last_sid: our newest */
    nd_hpack_t                    hpack;    /* the server's header table */
    const nd_grpc_h2c_handler_t  *handler;
    void                         *data;
    nd_log_t                     *log;
    const char                   *authority;
    nd_queue_t                    pending;  /* submitted, no id yet */
    nd_queue_t                    open;     /* HEADERS sent */
    uint32_t                      npending;
    uint32_t                      nopen;
    uint32_t                      max_streams;  /* the server's limit */
    uint32_t                      next_sid;
    nd_grpc_h2_flow_t             flow;         /* the connection's */
    uint32_t                      window;       /* ours, per stream */
    size_t                        max_message;
    int32_t                       goaway_sid;
    unsigned                      ready:1;      /* server SETTINGS seen */
    unsigned                      acked:1;      /* ours acknowledged */
    unsigned                      goaway:1;     /* GOAWAY received */
    unsigned                      failed:1;     /* connection error */
    unsigned                      in_send:1;
};

/* our stream window (INITIAL_WINDOW_SIZE) when 0 is given, and the
 * connection's */
#define ND_GRPC_H2C_WINDOW       (4 * 1024 * 1024)
#define ND_GRPC_H2C_CONN_WINDOW  (16 * 1024 * 1024)

/* start a session: the preface, our SETTINGS and the connection window
 * go out at once.  authority is borrowed for the session's life.
 * window: our per-stream receive window (0: ND_GRPC_H2C_WINDOW) */
int nd_grpc_h2c_init(nd_grpc_h2c_t *h2c, const nd_grpc_h2c_handler_t *h,
    void *data, nd_log_t *log, const char *authority, size_t max_message,
    uint32_t window);
/* bytes from the server: ND_OK, or ND_ERROR after a connection error
 * (GOAWAY written, every stream ended LOST) */
nd_int_t nd_grpc_h2c_recv(nd_grpc_h2c_t *h2c, const u_char *data, size_t len);
/* queue a unary call on /Request/request: its HEADERS go out when the
 * server's SETTINGS came and MAX_CONCURRENT_STREAMS allows; ND_DECLINED
 * after GOAWAY or a connection error */
nd_int_t nd_grpc_h2c_submit(nd_grpc_h2c_t *h2c, nd_grpc_h2c_stream_t *st);
/* write what can be written: new streams, DATA within the windows */
int nd_grpc_h2c_send(nd_grpc_h2c_t *h2c);
/* forget st without an end call (RST_STREAM CANCEL when it was open) */
void nd_grpc_h2c_cancel(nd_grpc_h2c_t *h2c, nd_grpc_h2c_stream_t *st);
/* the connection is gone: every stream ends with how */
void nd_grpc_h2c_fail(nd_grpc_h2c_t *h2c, nd_grpc_h2c_end_e how);
/* GOAWAY NO_ERROR from our side: nothing new opens */
void nd_grpc_h2c_goaway(nd_grpc_h2c_t *h2c);
/* streams submitted and not ended */
#define nd_grpc_h2c_streams(h2c)  ((h2c)->npending + (h2c)->nopen)
/* free the stream's buffers (the owner's, after end or cancel) */
void nd_grpc_h2c_stream_free(nd_grpc_h2c_stream_t *st);
void nd_grpc_h2c_free(nd_grpc_h2c_t *h2c);

#endif /* ND_GRPC_H2_CLIENT_H */

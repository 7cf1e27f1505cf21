/*
 * HTTP/2 framing shared by both roles of our framer (RFC 9113, h2c): the
 * frame constants, the frame builders, and the frame reader that turns
 * bytes into frames.  The reader checks everything a frame header says
 * that does not depend on the role, strips DATA and HEADERS padding,
 * joins HEADERS and CONTINUATION into one header block, and hands the
 * role (nd_grpc_h2.c: server, nd_grpc_h2_client.c: client) DATA bytes,
 * whole header blocks and whole control frames.  No socket, no loop.
 */
#ifndef ND_GRPC_H2_H
#define ND_GRPC_H2_H

#include <nd_core.h>

#define ND_H2_PREFACE          "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define ND_H2_PREFACE_LEN      24
#define ND_H2_HEAD             9
#define ND_H2_FRAME_MAX        16384    /* ours: the default, never raised */
#define ND_H2_FRAME_LIMIT      16777215 /* the largest MAX_FRAME_SIZE */
#define ND_H2_WINDOW_MAX       0x7fffffff
#define ND_H2_DEFAULT_WINDOW   65535
#define ND_H2_TABLE_SIZE       4096     /* HEADER_TABLE_SIZE: the default */
#define ND_H2_HEADER_LIST      16384    /* our MAX_HEADER_LIST_SIZE */
#define ND_H2_BLOCK_MAX        (64 * 1024)  /* HEADERS + CONTINUATIONs */

#define ND_H2_DATA             0x0
#define ND_H2_HEADERS          0x1
#define ND_H2_PRIORITY         0x2
#define ND_H2_RST_STREAM       0x3
#define ND_H2_SETTINGS         0x4
#define ND_H2_PUSH_PROMISE     0x5
#define ND_H2_PING             0x6
#define ND_H2_GOAWAY           0x7
#define ND_H2_WINDOW_UPDATE    0x8
#define ND_H2_CONTINUATION     0x9

#define ND_H2_END_STREAM       0x01
#define ND_H2_ACK              0x01
#define ND_H2_END_HEADERS      0x04
#define ND_H2_PADDED           0x08
#define ND_H2_PRIORITY_FLAG    0x20

#define ND_H2_NO_ERROR         0x0
#define ND_H2_PROTOCOL_ERROR   0x1
#define ND_H2_INTERNAL_ERROR   0x2
#define ND_H2_FLOW_CONTROL     0x3
#define ND_H2_STREAM_CLOSED    0x5
#define ND_H2_FRAME_SIZE       0x6
#define ND_H2_REFUSED_STREAM   0x7
#define ND_H2_CANCEL           0x8
#define ND_H2_COMPRESSION      0x9
#define ND_H2_CALM             0xb      /* ENHANCE_YOUR_CALM */

#define ND_H2_SET_TABLE_SIZE   0x1
#define ND_H2_SET_ENABLE_PUSH  0x2
#define ND_H2_SET_STREAMS      0x3
#define ND_H2_SET_WINDOW       0x4
#define ND_H2_SET_FRAME_SIZE   0x5
#define ND_H2_SET_LIST_SIZE    0x6

#define nd_h2_get32(p)                                                        \
    ((uint32_t) (p)[0] << 24 | (uint32_t) (p)[1] << 16                        \
     | (uint32_t) (p)[2] << 8 | (uint32_t) (p)[3])

#define nd_h2_put32(p, v)                                                     \
    do {                                                                      \
        (p)[0] = (u_char) ((v) >> 24); (p)[1] = (u_char) ((v) >> 16);         \
        (p)[2] = (u_char) ((v) >> 8); (p)[3] = (u_char) (v);                  \
    } while (0)

/* a header name (not NUL-terminated) is the string s */
#define nd_h2_name_is(name, nlen, s)                                          \
    ((nlen) == sizeof(s) - 1 && memcmp(name, s, sizeof(s) - 1) == 0)

/* the frame being read, and what the reader keeps between reads */
typedef struct {
    nd_buf_t             in;            /* a frame or header block split
                                           across reads; freed once used */
    u_char               head[9];       /* the frame header being read */
    uint8_t              hlen;
    uint8_t              preface;       /* client preface bytes matched;
                                           the client role starts at 24 */
    uint8_t              pad;           /* DATA: padding of this frame */
    uint8_t              cont_flags;    /* flags of the HEADERS continued */
    unsigned             settings:1;    /* the peer's first SETTINGS seen */
    uint32_t             length;        /* payload of the current frame */
    uint32_t             got;           /* payload bytes seen */
    int32_t              sid;           /* stream of the current frame */
    int32_t              last_sid;      /* highest stream opened: any
                                           stream above it is idle */
    int32_t              cont_sid;      /* CONTINUATION expected, or 0 */
} nd_grpc_h2_reader_t;

#define nd_h2_type(rd)   ((rd)->head[3])
#define nd_h2_flags(rd)  ((rd)->head[4])

/*
 * What a role does with frames.  Every function returns ND_OK to go on;
 * anything else stops the read (the role has sent GOAWAY or RST_STREAM
 * as it sees fit).  error is called for a connection error the reader
 * found and returns ND_ERROR.
 */
typedef struct {
    /* a DATA frame header passed the shared checks */
    nd_int_t (*data_start)(void *ctx);
    /* DATA payload bytes, padding stripped */
    nd_int_t (*data)(void *ctx, const u_char *p, size_t n);
    /* the DATA frame is complete */
    nd_int_t (*data_end)(void *ctx);
    /* a complete header block; flags are those of its HEADERS frame */
    nd_int_t (*block)(void *ctx, int32_t sid, u_char flags, const u_char *p,
        size_t len);
    /* a complete SETTINGS (the reader acknowledges it once this
     * returned ND_OK), RST_STREAM or GOAWAY frame (rd->sid, rd->length,
     * flags in rd->head); PING, WINDOW_UPDATE and PRIORITY are the
     * reader's */
    nd_int_t (*frame)(void *ctx, const u_char *p);
    /* frames the reader sends (PING and SETTINGS acks) */
    nd_int_t (*write)(void *ctx, const u_char *p, size_t len);
    /* the send window of stream sid, the connection's for 0; NULL when
     * the stream is closed */
    int32_t *(*send_window)(void *ctx, int32_t sid);
    /* a stream error: RST_STREAM with code, and the stream ends */
    nd_int_t (*stream_error)(void *ctx, int32_t sid, uint32_t code,
        const char *reason);
    nd_int_t (*error)(void *ctx, uint32_t code, const char *reason);
    /* non-zero: read nothing more (closing, failed) */
    nd_int_t (*halted)(void *ctx);
} nd_grpc_h2_role_t;

void nd_grpc_h2_reader_init(nd_grpc_h2_reader_t *rd, int client_preface);
void nd_grpc_h2_reader_free(nd_grpc_h2_reader_t *rd);
/* feed bytes: ND_OK, or ND_ERROR once a role function stopped the read */
int nd_grpc_h2_read(nd_grpc_h2_reader_t *rd, const nd_grpc_h2_role_t *role,
    void *ctx, const u_char *data, size_t len);

/* a connection's flow control, either role */
typedef struct {
    int32_t              send_window;   /* ours toward the peer */
    uint32_t             recv_unacked;  /* received, not yet granted */
    uint32_t             peer_window;   /* its INITIAL_WINDOW_SIZE */
    uint32_t             peer_frame;    /* its MAX_FRAME_SIZE */
} nd_grpc_h2_flow_t;

void nd_grpc_h2_flow_init(nd_grpc_h2_flow_t *fl);
/* DATA bytes a stream with send window st_window may send now, in one
 * frame of ours (at most 16384) */
size_t nd_grpc_h2_flow_room(const nd_grpc_h2_flow_t *fl, int32_t st_window);
/* n DATA bytes went out on a stream */
void nd_grpc_h2_flow_spend(nd_grpc_h2_flow_t *fl, int32_t *st_window,
    size_t n);

/* frame builders: p has room for the frame */
void nd_grpc_h2_head(u_char *p, size_t len, u_char type, u_char flags,
    int32_t sid);
/* RST_STREAM or WINDOW_UPDATE: 13 bytes */
void nd_grpc_h2_frame32(u_char *p, u_char type, int32_t sid,
    uint32_t value);
/* GOAWAY: 17 bytes */
void nd_grpc_h2_frame_goaway(u_char *p, int32_t last_sid, uint32_t code);
/* a PING ack echoing 8 bytes: 17 bytes */
void nd_grpc_h2_frame_pong(u_char *p, const u_char *opaque);
/* our SETTINGS (n pairs of id, value) then a WINDOW_UPDATE taking the
 * connection window to conn_window; returns the bytes written (at most
 * 9 + 6 n + 13) */
size_t nd_grpc_h2_frame_session(u_char *p, const uint32_t (*set)[2],
    size_t n, uint32_t conn_window);

/* a SETTINGS frame's parameters; where one repeats, the last counts */
typedef struct nd_grpc_h2_settings_s {
    uint32_t             value[ND_H2_SET_LIST_SIZE + 1];    /* by id */
    uint32_t             has;                   /* 1 << id: present */
} nd_grpc_h2_settings_t;

#define nd_h2_has(s, id)  ((s)->has & (1u << (id)))

/* parse and check a SETTINGS payload: 0, or the connection error code
 * with *reason */
uint32_t nd_grpc_h2_settings_parse(const u_char *p, size_t len,
    nd_grpc_h2_settings_t *s, const char **reason);
struct nd_grpc_h2_settings_s;
/* apply a peer's MAX_FRAME_SIZE and INITIAL_WINDOW_SIZE; *delta is what
 * every open stream's send window moves by (6.9.2) */
void nd_grpc_h2_flow_settings(nd_grpc_h2_flow_t *fl,
    const struct nd_grpc_h2_settings_s *set, int64_t *delta);

/* add a WINDOW_UPDATE increment or a SETTINGS delta to a send window:
 * ND_ERROR when the window would pass 2^31 - 1 */
nd_int_t nd_grpc_h2_window_add(int32_t *window, int64_t delta);
/* receive side: count len bytes against a window of size window,
 * ND_ERROR when they do not fit */
nd_int_t nd_grpc_h2_window_take(uint32_t *unacked, uint32_t window,
    uint32_t len);
/* the increment to grant (and reset *unacked), once half the window was
 * received; 0 while less */
uint32_t nd_grpc_h2_window_grant(uint32_t *unacked, uint32_t window);
/* after a DATA frame: WINDOW_UPDATEs for the stream (when st_unacked is
 * not NULL) and the connection, each once half its window was received;
 * the bytes written at f (at most 26), 0 for none */
size_t nd_grpc_h2_frame_grants(u_char *f, int32_t sid, uint32_t *st_unacked,
    uint32_t st_window, uint32_t *conn_unacked, uint32_t conn_window);

#endif /* ND_GRPC_H2_H */

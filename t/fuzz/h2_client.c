/*
 * Fuzz target: the client role of our HTTP/2 framer
 * (src/modules/grpc/nd_grpc_h2_client.c with nd_grpc_h2_frame.c and
 * nd_hpack.c), driven with bytes as t/unit/grpc/nd_grpc_h2_client.c
 * does: a session with three calls submitted, then the input as what
 * the server sends, in reads whose sizes come from the input too.  With
 * bit 4 of the first byte, the first call is a bi-stream (libnacos'
 * /BiRequestStream/requestBiStream): each DATA on it goes to the
 * message handler, which takes whole gRPC messages and decodes them as
 * libnacos does its server requests (Payload, then the JSON body).
 */
#include <nd_fuzz.h>

#ifdef ND_WITH_GRPC

#include <nd_grpc_h2_client.h>
#include <nd_grpc_internal.h>

#define NSTREAMS  3

typedef struct {
    nd_buf_t   out;
    int        ended[NSTREAMS];
    nd_grpc_h2c_stream_t  *st;
} env_t;


static nd_int_t
w_write(void *data, const u_char *p, size_t len)
{
    env_t  *e = data;

    /* what we send is not looked at: keep the buffer small */
    if (nd_buf_size(&e->out) > 65536) {
        nd_buf_reset(&e->out);
    }

    return nd_buf_append(&e->out, p, len);
}


static void
w_ready(void *data)
{
}


static void
w_end(void *data, nd_grpc_h2c_stream_t *st)
{
    env_t  *e = data;
    int     i;

    i = (int) (st - e->st);
    if (i < 0 || i >= NSTREAMS || e->ended[i]++) {
        abort();                        /* ended twice, or not ours */
    }
}


static void
w_message(void *data, nd_grpc_h2c_stream_t *st)
{
    size_t         len;
    json_t        *body;
    Payload       *payload;
    const u_char  *msg;

    while (nd_grpc_message_next(&st->in, &msg, &len)) {
        payload = payload__unpack(NULL, len, msg);
        if (payload) {
            body = nd_grpc_payload_body(payload);
            if (body) {
                (void) nd_json_get_str(body, "requestId", "");
                json_decref(body);
            }
            payload__free_unpacked(payload, NULL);
        }

        nd_buf_consume(&st->in, 5 + len);
    }
}


static const nd_grpc_h2c_handler_t  handler = {
    .write = w_write,
    .ready = w_ready,
    .end = w_end,
    .message = w_message,
};


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                    i;
    size_t                 len;
    env_t                  e;
    nd_grpc_h2c_t          h2c;
    nd_grpc_h2c_stream_t   st[NSTREAMS];

    static int  inited;

    if (!inited) {
        nd_fuzz_quiet();
        inited = 1;
    }

    if (size < 1) {
        return 0;
    }

    memset(&e, 0, sizeof(e));
    nd_buf_init(&e.out);
    e.st = st;

    /* a small stream window and message limit, so that the limits are
     * reached by inputs of fuzzer size */
    nd_grpc_h2c_init(&h2c, &handler, &e, nd_log_default(), "127.0.0.1:9848",
                     (data[0] & 1) ? 64 : 4096, (data[0] & 2) ? 100 : 0);

    for (i = 0; i < NSTREAMS; i++) {
        memset(&st[i], 0, sizeof(st[i]));
        nd_buf_init(&st[i].out);
        nd_buf_init(&st[i].in);
        nd_buf_append(&st[i].out, "\0\0\0\0\5hello" "0123456789", 10 + i * 5);
        if (i == 0 && (data[0] & 4)) {
            st[i].path = ND_GRPC_PATH_BIDI;
            st[i].bidi = 1;
        }
        nd_grpc_h2c_submit(&h2c, &st[i]);
    }

    /* the rest: "n(1 byte) n bytes" reads */
    data++;
    size--;

    while (size) {
        len = (size_t) data[0] * 8 + 1;
        if (len > size) {
            len = size;
        }

        if (nd_grpc_h2c_recv(&h2c, data, len) != ND_OK) {
            break;
        }
        data += len;
        size -= len;

        if (nd_grpc_h2c_send(&h2c) != ND_OK) {
            break;
        }
    }

    /* whatever did not end ends now */
    nd_grpc_h2c_fail(&h2c, ND_GRPC_H2C_LOST);

    for (i = 0; i < NSTREAMS; i++) {
        if (e.ended[i] != 1) {
            abort();                    /* lost without an end */
        }
        nd_grpc_h2c_stream_free(&st[i]);
    }

    nd_grpc_h2c_free(&h2c);
    nd_buf_free(&e.out);

    return 0;
}

#else

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return 0;
}

#endif

/*
 * HTTP/2 for gRPC through nghttp2 (classic API, 1.52): the only file that
 * calls nghttp2.  Frames are pulled with mem_send into the connection's
 * bounded output buffer; stream events go to nd_grpc_conn.c.
 */
#include <nd_grpc_internal.h>

#define ND_GRPC_STREAM_WINDOW  (4 * 1024 * 1024)
#define ND_GRPC_CONN_WINDOW    (16 * 1024 * 1024)
/* output kept in nghttp2 (per stream) rather than in the socket buffer
 * beyond this much: a slow reader is bounded by push_queue_max */
#define ND_GRPC_OUT_HIGH       (256 * 1024)


static int
nd_grpc_h2_on_begin_headers(nghttp2_session *session,
    const nghttp2_frame *frame, void *user_data)
{
    nd_grpc_conn_t    *conn = user_data;
    nd_grpc_stream_t  *st;

    if (frame->hd.type != NGHTTP2_HEADERS
        || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
    {
        return 0;
    }

    st = nd_grpc_stream_open(conn, frame->hd.stream_id);
    if (st == NULL) {
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }

    nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, st);

    return 0;
}


static int
nd_grpc_h2_on_header(nghttp2_session *session, const nghttp2_frame *frame,
    const uint8_t *name, size_t namelen, const uint8_t *value,
    size_t valuelen, uint8_t flags, void *user_data)
{
    nd_grpc_stream_t  *st;

    if (frame->hd.type != NGHTTP2_HEADERS) {
        return 0;
    }

    st = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (st == NULL) {
        return 0;
    }

    if (nd_grpc_stream_header(st, name, namelen, value, valuelen) != ND_OK) {
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;   /* resets stream */
    }

    return 0;
}


static int
nd_grpc_h2_on_data(nghttp2_session *session, uint8_t flags, int32_t stream_id,
    const uint8_t *data, size_t len, void *user_data)
{
    nd_grpc_stream_t  *st;

    st = nghttp2_session_get_stream_user_data(session, stream_id);
    if (st == NULL) {
        return 0;
    }

    nd_grpc_stream_data(st, data, len);

    return 0;
}


static int
nd_grpc_h2_on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame,
    void *user_data)
{
    nd_grpc_stream_t  *st;

    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
    {
        return 0;
    }

    if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        return 0;
    }

    st = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (st) {
        nd_grpc_stream_end(st);
    }

    return 0;
}


static int
nd_grpc_h2_on_stream_close(nghttp2_session *session, int32_t stream_id,
    uint32_t error_code, void *user_data)
{
    nd_grpc_stream_t  *st;

    st = nghttp2_session_get_stream_user_data(session, stream_id);
    if (st) {
        nghttp2_session_set_stream_user_data(session, stream_id, NULL);
        nd_grpc_stream_closed(st);
    }

    return 0;
}


nghttp2_session_callbacks *
nd_grpc_h2_callbacks(void)
{
    nghttp2_session_callbacks  *cbs;

    if (nghttp2_session_callbacks_new(&cbs) != 0) {
        return NULL;
    }

    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs,
        nd_grpc_h2_on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs,
        nd_grpc_h2_on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs,
        nd_grpc_h2_on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs,
        nd_grpc_h2_on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs,
        nd_grpc_h2_on_stream_close);

    return cbs;
}


int
nd_grpc_h2_session(nd_grpc_conn_t *conn)
{
    nghttp2_option         *opt;
    nghttp2_settings_entry  iv[3];

    if (nghttp2_option_new(&opt) != 0) {
        return ND_ERROR;
    }

    /* gRPC clients ping as they like (Go every 60 s): never count them */
    nghttp2_option_set_max_outbound_ack(opt, 10000);

    if (nghttp2_session_server_new2(&conn->session, conn->gcf->callbacks,
                                    conn, opt) != 0)
    {
        nghttp2_option_del(opt);
        return ND_ERROR;
    }

    nghttp2_option_del(opt);

    iv[0].settings_id = NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS;
    iv[0].value = (uint32_t) conn->gcf->max_concurrent_streams;
    iv[1].settings_id = NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE;
    iv[1].value = ND_GRPC_STREAM_WINDOW;
    iv[2].settings_id = NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE;
    iv[2].value = 16384;

    if (nghttp2_submit_settings(conn->session, NGHTTP2_FLAG_NONE, iv, 3) != 0
        || nghttp2_session_set_local_window_size(conn->session,
               NGHTTP2_FLAG_NONE, 0, ND_GRPC_CONN_WINDOW) != 0)
    {
        return ND_ERROR;
    }

    return ND_OK;
}


int
nd_grpc_h2_recv(nd_grpc_conn_t *conn, const u_char *data, size_t len)
{
    ssize_t  n;

    n = nghttp2_session_mem_recv(conn->session, data, len);
    if (n < 0) {
        nd_log_error(ND_LOG_INFO, &conn->c->log, 0, "http/2 error: %s",
                     nghttp2_strerror((int) n));
        return ND_ERROR;
    }

    return ND_OK;
}


int
nd_grpc_h2_send(nd_grpc_conn_t *conn)
{
    ssize_t         n;
    const uint8_t  *data;

    while (nd_buf_size(&conn->c->out) < ND_GRPC_OUT_HIGH) {
        n = nghttp2_session_mem_send(conn->session, &data);
        if (n < 0) {
            nd_log_error(ND_LOG_INFO, &conn->c->log, 0, "http/2 error: %s",
                         nghttp2_strerror((int) n));
            return ND_ERROR;
        }
        if (n == 0) {
            break;
        }
        if (nd_connection_send(conn->c, data, (size_t) n) != ND_OK) {
            return ND_ERROR;
        }
    }

    return ND_OK;
}


int
nd_grpc_h2_want_io(nd_grpc_conn_t *conn)
{
    return nghttp2_session_want_read(conn->session)
           || nghttp2_session_want_write(conn->session);
}


static ssize_t
nd_grpc_h2_read_data(nghttp2_session *session, int32_t stream_id,
    uint8_t *buf, size_t length, uint32_t *data_flags,
    nghttp2_data_source *source, void *user_data)
{
    int                eof;
    ssize_t            n;
    nghttp2_nv         trailers[2];
    char               status[16];
    nd_grpc_stream_t  *st;

    st = source->ptr;
    eof = 0;

    n = nd_grpc_stream_read(st, buf, length, &eof);

    if (eof) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;

        snprintf(status, sizeof(status), "%u", (unsigned) st->status);
        trailers[0].name = (uint8_t *) "grpc-status";
        trailers[0].namelen = sizeof("grpc-status") - 1;
        trailers[0].value = (uint8_t *) status;
        trailers[0].valuelen = strlen(status);
        trailers[0].flags = NGHTTP2_NV_FLAG_NONE;
        trailers[1].name = (uint8_t *) "grpc-message";
        trailers[1].namelen = sizeof("grpc-message") - 1;
        trailers[1].value = (uint8_t *) (st->message ? st->message : "");
        trailers[1].valuelen = st->message ? strlen(st->message) : 0;
        trailers[1].flags = NGHTTP2_NV_FLAG_NONE;

        if (nghttp2_submit_trailer(session, stream_id, trailers,
                                   st->message ? 2 : 1) != 0)
        {
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        }
        return n;
    }

    if (n == 0) {
        st->deferred = 1;
        return NGHTTP2_ERR_DEFERRED;
    }

    return n;
}


#define nd_grpc_nv(n, v)                                                      \
    { (uint8_t *) (n), (uint8_t *) (v), sizeof(n) - 1, sizeof(v) - 1,         \
      NGHTTP2_NV_FLAG_NONE }


int
nd_grpc_h2_respond(nd_grpc_stream_t *st)
{
    nghttp2_data_provider  prd;
    nghttp2_nv             hdrs[] = {
        nd_grpc_nv(":status", "200"),
        nd_grpc_nv("content-type", "application/grpc"),
        nd_grpc_nv("grpc-accept-encoding", "identity"),
    };

    if (st->responded) {
        nd_grpc_h2_resume(st);
        return ND_OK;
    }

    st->responded = 1;
    prd.source.ptr = st;
    prd.read_callback = nd_grpc_h2_read_data;

    if (nghttp2_submit_response(st->conn->session, st->id, hdrs,
                                nd_nelts(hdrs), &prd) != 0)
    {
        return ND_ERROR;
    }

    return ND_OK;
}


int
nd_grpc_h2_trailers_only(nd_grpc_stream_t *st, uint32_t status,
    const char *message)
{
    char        code[16];
    nghttp2_nv  hdrs[4] = {
        nd_grpc_nv(":status", "200"),
        nd_grpc_nv("content-type", "application/grpc"),
    };

    if (st->responded) {
        /* headers are out: end with trailers after what is queued */
        st->status = status;
        st->message = message;
        st->finish = 1;
        nd_grpc_h2_resume(st);
        return ND_OK;
    }

    st->responded = 1;
    st->finish = 1;

    snprintf(code, sizeof(code), "%u", (unsigned) status);
    hdrs[2].name = (uint8_t *) "grpc-status";
    hdrs[2].namelen = sizeof("grpc-status") - 1;
    hdrs[2].value = (uint8_t *) code;
    hdrs[2].valuelen = strlen(code);
    hdrs[2].flags = NGHTTP2_NV_FLAG_NONE;
    hdrs[3].name = (uint8_t *) "grpc-message";
    hdrs[3].namelen = sizeof("grpc-message") - 1;
    hdrs[3].value = (uint8_t *) (message ? message : "");
    hdrs[3].valuelen = message ? strlen(message) : 0;
    hdrs[3].flags = NGHTTP2_NV_FLAG_NONE;

    if (nghttp2_submit_headers(st->conn->session, NGHTTP2_FLAG_END_STREAM,
                               st->id, NULL, hdrs, 4, NULL) < 0)
    {
        return ND_ERROR;
    }

    return ND_OK;
}


void
nd_grpc_h2_resume(nd_grpc_stream_t *st)
{
    if (st->deferred) {
        st->deferred = 0;
        nghttp2_session_resume_data(st->conn->session, st->id);
    }
}


void
nd_grpc_h2_reset(nd_grpc_stream_t *st)
{
    nghttp2_submit_rst_stream(st->conn->session, NGHTTP2_FLAG_NONE, st->id,
                              NGHTTP2_INTERNAL_ERROR);
}


void
nd_grpc_h2_goaway(nd_grpc_conn_t *conn)
{
    nghttp2_submit_goaway(conn->session, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(
                              conn->session),
                          NGHTTP2_NO_ERROR, NULL, 0);
}


void
nd_grpc_h2_free(nd_grpc_conn_t *conn)
{
    if (conn->session) {
        nghttp2_session_del(conn->session);
        conn->session = NULL;
    }
}

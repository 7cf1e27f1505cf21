/*
 * UDP push to 1.x subscribers: {"type":"dom","data":"<ServiceInfo>",
 * "lastRefTime":n}, gzip when >= 1 KiB, ack {"type":"push-ack",
 * "lastRefTime":n} expected within push_ack_timeout, one retransmit.
 * One socket, one queue ordered by send time, one timer.
 */
#include <nd_naming.h>
#include <zlib.h>

#define ND_NAMING_UDP_MAX     65507
#define ND_NAMING_GZIP_MIN    1024

typedef struct {
    nd_queue_t              link;           /* push->queue, by sent */
    nd_naming_sub_t        *sub;            /* NULL once unsubscribed */
    u_char                 *packet;
    size_t                  len;
    struct sockaddr_in      addr;
    nd_msec_t               sent;
    uint64_t                ref;
    nd_uint_t               retries;
} nd_naming_udp_ack_t;

struct nd_naming_push_s {
    int                     fd;
    ev_io                   rev;
    nd_naming_conf_t       *nf;
    nd_queue_t              queue;
    nd_hash_t               pending;        /* ref text -> ack */
    nd_timer_t              timer;
    uint64_t                last_ref;
};


static void nd_naming_udp_read(struct ev_loop *loop, ev_io *w, int revents);
static void nd_naming_udp_timer(nd_timer_t *t);
static void nd_naming_udp_push(nd_naming_conf_t *nf, nd_naming_sub_t *sub,
    nd_shared_t *body, size_t ref_time_pos);


/* gzip of src (zlib, gzip wrapper); NULL on error */
static u_char *
nd_naming_gzip_packet(const u_char *src, size_t len, size_t *out_len)
{
    int        rc;
    u_char    *out;
    uLong      bound;
    z_stream   z;

    memset(&z, 0, sizeof(z));

    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
    {
        return NULL;
    }

    bound = deflateBound(&z, (uLong) len);
    out = nd_alloc(bound);
    if (out == NULL) {
        deflateEnd(&z);
        return NULL;
    }

    z.next_in = (Bytef *) src;
    z.avail_in = (uInt) len;
    z.next_out = out;
    z.avail_out = (uInt) bound;

    rc = deflate(&z, Z_FINISH);
    *out_len = z.total_out;
    deflateEnd(&z);

    if (rc != Z_STREAM_END) {
        nd_free(out);
        return NULL;
    }

    return out;
}


nd_int_t
nd_naming_udp_init(nd_naming_conf_t *nf)
{
    int                  fd;
    struct sockaddr_in   sin;
    nd_naming_push_t    *push;

    fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        nd_log_error(ND_LOG_EMERG, nf->cycle->log, errno,
                     "naming: socket(udp) failed");
        return ND_ERROR;
    }

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    if (bind(fd, (struct sockaddr *) &sin, sizeof(sin)) != 0) {
        nd_log_error(ND_LOG_EMERG, nf->cycle->log, errno,
                     "naming: bind(udp) failed");
        close(fd);
        return ND_ERROR;
    }

    push = nd_calloc(sizeof(nd_naming_push_t));
    if (push == NULL || nd_hash_init(&push->pending, 64) != ND_OK) {
        nd_free(push);
        close(fd);
        return ND_ERROR;
    }

    push->fd = fd;
    push->nf = nf;
    nd_queue_init(&push->queue);
    nd_timer_init(&push->timer, "naming udp ack", nd_naming_udp_timer, push);

    ev_io_init(&push->rev, nd_naming_udp_read, fd, EV_READ);
    push->rev.data = push;
    ev_io_start(nf->cycle->loop, &push->rev);
    ev_unref(nf->cycle->loop);          /* the socket alone keeps no loop */

    nf->udp = push;
    nf->push[ND_NAMING_CLIENT_IPPORT] = nd_naming_udp_push;

    return ND_OK;
}


static void
nd_naming_udp_ack_free(nd_naming_push_t *push, nd_naming_udp_ack_t *ack)
{
    char  key[24];
    int   n;

    n = snprintf(key, sizeof(key), "%" PRIu64, ack->ref);
    nd_hash_del(&push->pending, (u_char *) key, (size_t) n);
    nd_queue_remove(&ack->link);

    if (ack->sub && ack->sub->udp_ack == ack) {
        ack->sub->udp_ack = NULL;
    }

    nd_free(ack->packet);
    nd_free(ack);
}


void
nd_naming_udp_stop(nd_naming_conf_t *nf)
{
    nd_naming_push_t  *push;

    push = nf->udp;
    if (push == NULL || push->fd == -1) {
        return;
    }

    nd_timer_stop(&push->timer);
    ev_ref(nf->cycle->loop);
    ev_io_stop(nf->cycle->loop, &push->rev);
    close(push->fd);
    push->fd = -1;
    nf->push[ND_NAMING_CLIENT_IPPORT] = NULL;
}


void
nd_naming_udp_free(nd_naming_conf_t *nf)
{
    nd_naming_push_t     *push;
    nd_naming_udp_ack_t  *ack;

    push = nf->udp;
    if (push == NULL) {
        return;
    }

    if (push->fd != -1 && nf->cycle->loop) {
        nd_naming_udp_stop(nf);
    }

    while (!nd_queue_empty(&push->queue)) {
        ack = nd_queue_data(nd_queue_head(&push->queue), nd_naming_udp_ack_t,
                            link);
        nd_naming_udp_ack_free(push, ack);
    }

    nd_hash_free(&push->pending);
    nd_free(push);
    nf->udp = NULL;
}


/* the sub is going away: its pending push keeps only the address */
void
nd_naming_udp_forget(nd_naming_sub_t *sub)
{
    nd_naming_udp_ack_t  *ack;

    ack = sub->udp_ack;
    if (ack) {
        ack->sub = NULL;
        sub->udp_ack = NULL;
    }
}


static nd_int_t
nd_naming_udp_send(nd_naming_push_t *push, nd_naming_udp_ack_t *ack)
{
    ssize_t  n;

    n = sendto(push->fd, ack->packet, ack->len, 0,
               (struct sockaddr *) &ack->addr, sizeof(ack->addr));
    if (n == -1) {
        nd_log_error(ND_LOG_INFO, push->nf->cycle->log, errno,
                     "naming: udp push to %s:%u failed",
                     inet_ntoa(ack->addr.sin_addr),
                     (unsigned) ntohs(ack->addr.sin_port));
        return ND_ERROR;
    }

    return ND_OK;
}


static void
nd_naming_udp_push(nd_naming_conf_t *nf, nd_naming_sub_t *sub,
    nd_shared_t *body, size_t ref_time_pos)
{
    int                   n;
    char                  key[24];
    u_char               *data, *gz;
    size_t                gzlen;
    uint64_t              ref;
    nd_buf_t              b;
    nd_naming_push_t     *push;
    nd_naming_udp_ack_t  *ack;

    push = nf->udp;
    if (push == NULL || push->fd == -1
        || sub->addr.sin_family != AF_INET)
    {
        return;
    }

    /* a newer state replaces a push still waiting for its ack */
    if (sub->udp_ack) {
        nd_naming_udp_ack_free(push, sub->udp_ack);
    }

    /* microseconds-like and increasing; stays below 2^53 for the
     * JavaScript clients that echo it as a number */
    ref = nd_max(push->last_ref + 1, (uint64_t) nd_current_msec * 1000);
    push->last_ref = ref;

    data = nd_alloc(body->len);
    if (data == NULL) {
        return;
    }
    memcpy(data, body->data, body->len);
    n = snprintf(key, sizeof(key), "%013" PRIu64, (uint64_t) nd_current_msec);
    if (n == 13) {
        memcpy(data + ref_time_pos, key, 13);
    }

    nd_buf_init(&b);
    nd_buf_append(&b, "{\"type\":\"dom\",\"data\":", 21);
    nd_json_str(&b, (char *) data, body->len);
    nd_free(data);
    if (nd_buf_appendf(&b, ",\"lastRefTime\":%" PRIu64 "}", ref) != ND_OK) {
        nd_buf_free(&b);
        return;
    }

    ack = nd_calloc(sizeof(nd_naming_udp_ack_t));
    if (ack == NULL) {
        nd_buf_free(&b);
        return;
    }

    if (b.len >= ND_NAMING_GZIP_MIN) {
        gz = nd_naming_gzip_packet(b.data, b.len, &gzlen);
        nd_buf_free(&b);
        if (gz == NULL) {
            nd_free(ack);
            return;
        }
        ack->packet = gz;
        ack->len = gzlen;

    } else {
        ack->packet = b.data;       /* the buffer's memory is ours now */
        ack->len = b.len;
    }

    if (ack->len > ND_NAMING_UDP_MAX) {
        nd_log_error(ND_LOG_WARN, nf->cycle->log, 0,
                     "naming: ServiceInfo of %.*s too large for a udp "
                     "push (%zu bytes)", (int) sub->service->grouped_len,
                     sub->service->grouped, ack->len);
        nd_free(ack->packet);
        nd_free(ack);
        return;
    }

    memcpy(&ack->addr, &sub->addr, sizeof(ack->addr));
    ack->sub = sub;
    ack->ref = ref;
    ack->sent = nd_current_msec;

    n = snprintf(key, sizeof(key), "%" PRIu64, ref);
    if (nd_hash_add(&push->pending, (u_char *) key, (size_t) n, ack)
        != ND_OK)
    {
        nd_free(ack->packet);
        nd_free(ack);
        return;
    }

    nd_queue_insert_tail(&push->queue, &ack->link);
    sub->udp_ack = ack;
    nf->push_total++;

    nd_naming_udp_send(push, ack);

    if (!nd_timer_active(&push->timer)) {
        nd_timer_start(&push->timer, nf->push_ack_timeout, ND_TIMER_ONCE);
    }
}


static void
nd_naming_udp_read(struct ev_loop *loop, ev_io *w, int revents)
{
    int                   n;
    char                  buf[2048], key[24];
    json_t               *j, *v;
    ssize_t               len;
    nd_naming_push_t     *push;
    nd_naming_udp_ack_t  *ack;

    push = w->data;

    for ( ;; ) {
        len = recv(push->fd, buf, sizeof(buf), 0);
        if (len <= 0) {
            return;
        }

        j = json_loadb(buf, (size_t) len, 0, NULL);
        if (j == NULL) {
            continue;
        }

        v = json_object_get(j, "lastRefTime");
        n = -1;
        if (json_is_string(v)) {
            n = snprintf(key, sizeof(key), "%s", json_string_value(v));
        } else if (json_is_integer(v)) {
            n = snprintf(key, sizeof(key), "%" JSON_INTEGER_FORMAT,
                         json_integer_value(v));
        } else if (json_is_real(v)) {
            n = snprintf(key, sizeof(key), "%.0f", json_real_value(v));
        }

        if (n > 0 && (size_t) n < sizeof(key)) {
            ack = nd_hash_find(&push->pending, (u_char *) key, (size_t) n);
            if (ack) {
                nd_naming_udp_ack_free(push, ack);
            }
        }

        json_decref(j);
    }
}


static void
nd_naming_udp_timer(nd_timer_t *t)
{
    nd_msec_t             due;
    nd_naming_conf_t     *nf;
    nd_naming_push_t     *push;
    nd_naming_udp_ack_t  *ack;

    push = t->data;
    nf = push->nf;

    while (!nd_queue_empty(&push->queue)) {
        ack = nd_queue_data(nd_queue_head(&push->queue), nd_naming_udp_ack_t,
                            link);

        due = ack->sent + nf->push_ack_timeout;
        if (due > nd_current_msec) {
            nd_timer_start(&push->timer, due - nd_current_msec,
                           ND_TIMER_ONCE);
            return;
        }

        if (ack->retries == 0) {
            ack->retries = 1;                   /* one retransmit */
            ack->sent = nd_current_msec;
            nd_queue_remove(&ack->link);
            nd_queue_insert_tail(&push->queue, &ack->link);
            nd_naming_udp_send(push, ack);
            continue;
        }

        nf->push_failed++;
        nd_log_error(ND_LOG_INFO, nf->cycle->log, 0,
                     "naming: udp push to %s:%u not acknowledged",
                     inet_ntoa(ack->addr.sin_addr),
                     (unsigned) ntohs(ack->addr.sin_port));
        nd_naming_udp_ack_free(push, ack);
    }
}

/*
 * libnacos: the server's HTTP API, non-blocking on the client's loop: one
 * HTTP/1.0 request per connection (Connection: close), the answer read
 * to EOF.  Used for the login (POST /nacos/v1/auth/users/login ->
 * accessToken, tokenTtl) and by nacos_http for what gRPC lacks.
 */
#include <nd_client.h>
#include <nd_client_http_parse.h>

#define ND_CLIENT_HTTP_MAX  (16 * 1024 * 1024)

struct nd_client_http_s {
    nacos_client_t      *client;
    int                  fd;
    ev_io                io;
    ev_timer             timer;
    nd_buf_t             out;
    nd_buf_t             in;
    nd_client_http_pt    handler;
    void                *data;
};


static void
nd_client_http_close(nd_client_http_t *h)
{
    ev_io_stop(h->client->loop, &h->io);
    ev_timer_stop(h->client->loop, &h->timer);
    if (h->fd >= 0) {
        close(h->fd);
    }
    nd_buf_free(&h->out);
    nd_buf_free(&h->in);
    nd_free(h);
}


void
nd_client_http_cancel(nd_client_http_t *h)
{
    nd_client_http_close(h);
}


/* status 0: no answer (connect failed, timeout, malformed) */
static void
nd_client_http_end(nd_client_http_t *h)
{
    int              status;
    size_t           len;
    const char      *body;
    nacos_client_t  *c;

    c = h->client;
    status = 0;
    body = "";
    len = 0;

    /* NUL-terminated for the handlers, which take the body as a string */
    if (nd_buf_append(&h->in, "", 1) == ND_OK) {
        status = nd_client_http_parse((char *) nd_buf_start(&h->in),
                                      nd_buf_size(&h->in) - 1, &body,
                                      &len);
    }

    c->in_callback++;
    h->handler(c, status, body, len, h->data);
    c->in_callback--;

    nd_client_http_close(h);
}


static void
nd_client_http_io(struct ev_loop *loop, ev_io *w, int revents)
{
    int                 err;
    u_char              buf[16384];
    ssize_t             n;
    socklen_t           len;
    nd_client_http_t   *h = w->data;

    if (revents & EV_WRITE) {
        err = 0;
        len = sizeof(err);
        getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            nd_client_error(h->client, NACOS_UNAVAILABLE, "HTTP connect: %s",
                            strerror(err));
            nd_client_http_end(h);
            return;
        }

        n = write(h->fd, nd_buf_start(&h->out), nd_buf_size(&h->out));
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            nd_client_http_end(h);
            return;
        }
        if (n > 0) {
            nd_buf_consume(&h->out, (size_t) n);
        }
        if (nd_buf_size(&h->out) == 0) {
            ev_io_stop(loop, &h->io);
            ev_io_set(&h->io, h->fd, EV_READ);
            ev_io_start(loop, &h->io);
        }
        return;
    }

    for ( ;; ) {
        n = read(h->fd, buf, sizeof(buf));
        if (n > 0) {
            if (nd_buf_size(&h->in) + (size_t) n > ND_CLIENT_HTTP_MAX
                || nd_buf_append(&h->in, buf, (size_t) n) != ND_OK)
            {
                nd_buf_reset(&h->in);
                nd_client_http_end(h);
                return;
            }
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        nd_client_http_end(h);          /* EOF (or an error) */
        return;
    }
}


static void
nd_client_http_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    nd_client_http_t  *h = w->data;

    nd_client_error(h->client, NACOS_TIMEOUT, "HTTP: no answer in time");
    nd_buf_reset(&h->in);
    nd_client_http_end(h);
}


nd_client_http_t *
nd_client_http_start(nacos_client_t *c, const char *ip, int port,
    const char *method, const char *path, const char *form,
    nd_client_http_pt handler, void *data)
{
    char                      hostport[80];
    socklen_t                 slen;
    const char               *why;
    nd_client_http_t         *h;
    struct sockaddr_storage   ss;

    h = nd_calloc(sizeof(nd_client_http_t));
    if (h == NULL) {
        return NULL;
    }

    h->client = c;
    h->handler = handler;
    h->data = data;

    nd_client_hostport(hostport, sizeof(hostport), ip, port);

    if (nd_buf_appendf(&h->out, "%s %s HTTP/1.0\r\nHost: %s\r\n"
                       "Connection: close\r\n", method, path, hostport)
        != ND_OK
        || (c->token && nd_buf_appendf(&h->out, "accessToken: %s\r\n",
                                       c->token) != ND_OK)
        || (form && nd_buf_appendf(&h->out, "Content-Type: application/"
                                   "x-www-form-urlencoded\r\n"
                                   "Content-Length: %zu\r\n", strlen(form))
            != ND_OK)
        || nd_buf_append_lit(&h->out, "\r\n") != ND_OK
        || (form && nd_buf_append(&h->out, form, strlen(form)) != ND_OK))
    {
        nd_buf_free(&h->out);
        nd_free(h);
        return NULL;
    }

    why = NULL;
    h->fd = -1;
    if (nd_client_sockaddr(ip, port, &ss, &slen, &why) == 0) {
        h->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK
                                     | SOCK_CLOEXEC, 0);
    }
    if (h->fd < 0
        || (connect(h->fd, (struct sockaddr *) &ss, slen) < 0
            && errno != EINPROGRESS))
    {
        nd_client_error(c, NACOS_UNAVAILABLE, "HTTP connect to %s: %s",
                        hostport, why ? why : strerror(errno));
        h->io.data = h;
        ev_io_init(&h->io, nd_client_http_io, 0, EV_READ);
        ev_timer_init(&h->timer, nd_client_http_timeout, 0., 0.);
        nd_client_http_close(h);
        return NULL;
    }

    ev_io_init(&h->io, nd_client_http_io, h->fd, EV_WRITE);
    h->io.data = h;
    ev_io_start(c->loop, &h->io);
    ev_timer_init(&h->timer, nd_client_http_timeout,
                  (double) c->timeout / 1000, 0.);
    h->timer.data = h;
    ev_timer_start(c->loop, &h->timer);

    return h;
}


/* the login */

int
nd_client_login_needed(nacos_client_t *c)
{
    return c->username
           && (c->token == NULL || nd_time_monotonic_msec() >= c->token_expire);
}


/* form-urlencode s at the end of b */
static int
nd_client_urlencode(nd_buf_t *b, const char *s)
{
    int  rc;

    for (rc = ND_OK; *s && rc == ND_OK; s++) {
        if (isalnum((u_char) *s) || strchr("-_.~", *s)) {
            rc = nd_buf_append(b, s, 1);
        } else {
            rc = nd_buf_appendf(b, "%%%02X", (u_char) *s);
        }
    }

    return rc;
}


static void
nd_client_logged_in(nacos_client_t *c, int status, const char *body,
    size_t len, void *data)
{
    json_t        *j;
    int64_t        ttl;
    const char    *token;
    json_error_t   err;

    c->login = NULL;
    j = status == 200 ? json_loadb(body, len, 0, &err) : NULL;
    token = j ? nd_json_get_str(j, "accessToken", NULL) : NULL;

    if (token == NULL) {
        nd_client_error(c, NACOS_DENIED, "login as \"%s\" at %s: %s",
                        c->username, c->server,
                        status ? "refused" : "no answer");
        json_decref(j);
        nd_client_login_done(c, 0);
        return;
    }

    ttl = nd_json_get_int(j, "tokenTtl", 18000);
    free(c->token);
    c->token = strdup(token);
    /* refreshed once 90% of its life went by */
    c->token_expire = nd_time_monotonic_msec()
                      + (nd_msec_t) (ttl > 0 ? ttl : 1) * 900;
    c->stats.logins++;
    json_decref(j);

    nd_client_trace(c, "logged in as %s, token for %lds", c->username,
                    (long) ttl);
    nd_client_login_done(c, c->token != NULL);
}


void
nd_client_login(nacos_client_t *c)
{
    nd_buf_t                   form;
    const nd_client_server_t  *s;

    if (c->login) {
        return;
    }

    s = &c->servers[c->cur];
    nd_buf_init(&form);

    if (nd_buf_append_lit(&form, "username=") != ND_OK
        || nd_client_urlencode(&form, c->username) != ND_OK
        || nd_buf_append_lit(&form, "&password=") != ND_OK
        || nd_client_urlencode(&form, c->password) != ND_OK
        || nd_buf_append(&form, "", 1) != ND_OK)
    {
        nd_buf_free(&form);
        nd_client_login_done(c, 0);
        return;
    }

    c->login = nd_client_http_start(c, s->ip, s->port, "POST",
                                    "/nacos/v1/auth/users/login",
                                    (char *) nd_buf_start(&form),
                                    nd_client_logged_in, NULL);
    nd_buf_free(&form);

    if (c->login == NULL) {
        nd_client_login_done(c, 0);
    }
}


/* the blocking HTTP call */

typedef struct {
    int          done;
    int          status;
    char        *body;
} nd_client_http_wait_t;


static void
nd_client_http_waited(nacos_client_t *c, int status, const char *body,
    size_t len, void *data)
{
    nd_client_http_wait_t  *w = data;

    w->done = 1;
    w->status = status;
    w->body = malloc(len + 1);
    if (w->body) {
        memcpy(w->body, body, len);
        w->body[len] = '\0';
    }
}


int
nacos_http(nacos_client_t *c, const char *method, const char *path,
    const char *form, int *status, char **body)
{
    int                     port;
    const char             *host;
    nd_client_http_t       *h;
    nd_client_http_wait_t   w;

    if (nd_client_blocking_ok(c) != NACOS_OK) {
        return NACOS_EBUSY;
    }

    if (nd_client_login_needed(c) && c->login == NULL) {
        nacos_client_wait_ready(c, c->timeout);
    }

    /* the server in use, else the one about to be tried */
    if (c->state == ND_CLIENT_READY) {
        host = c->server_host;
        port = c->server_port;
    } else {
        host = c->servers[c->cur].ip;
        port = c->servers[c->cur].port;
    }

    memset(&w, 0, sizeof(w));
    h = nd_client_http_start(c, host, port, method, path, form,
                             nd_client_http_waited, &w);
    if (h == NULL) {
        return c->errcode ? c->errcode : NACOS_ENOMEM;
    }

    /* the request's own timer ends it; the margin only guards the loop */
    if (nd_client_wait(c, &w.done, c->timeout + 1000) != 0) {
        nd_client_http_cancel(h);
    }

    if (w.status == 0) {
        free(w.body);
        return nd_client_error(c, NACOS_UNAVAILABLE, "HTTP %s %s: no answer",
                               method, path);
    }

    *status = w.status;
    *body = w.body;

    return w.body ? NACOS_OK : NACOS_ENOMEM;
}

/*
 * The cluster module: the member list from the conf (member directives or
 * a Nacos cluster.conf file), this node's place in it, the cluster RPC
 * port, reloads of the list, and the call API other modules use.
 */
#include <nd_cluster_internal.h>
#include <nd_store.h>

static void *nd_cluster_create_conf(nd_cycle_t *cycle);
static char *nd_cluster_init_conf(nd_cycle_t *cycle, void *conf);
static nd_int_t nd_cluster_init_module(nd_cycle_t *cycle);
static nd_int_t nd_cluster_start(nd_cycle_t *cycle);
static void nd_cluster_stop(nd_cycle_t *cycle);
static void nd_cluster_drain_timer(nd_timer_t *t);
static void nd_cluster_exit(nd_cycle_t *cycle);
static void nd_cluster_reload(nd_cycle_t *cycle, void *conf);
static char *nd_cluster_block(nd_conf_t *cf, nd_command_t *cmd, void *conf);
static char *nd_cluster_member(nd_conf_t *cf, nd_command_t *cmd, void *conf);
static char *nd_cluster_members_file(nd_conf_t *cf, nd_command_t *cmd,
    void *conf);

static size_t  nd_cluster_identity_min = 32;

static nd_command_t  nd_cluster_commands[] = {

    { nd_string("cluster"),
      ND_MAIN_CONF | ND_CONF_BLOCK | ND_CONF_NOARGS,
      nd_cluster_block, 0, NULL },

    { nd_string("member"),
      ND_BLOCK_CONF | ND_CONF_TAKE12,
      nd_cluster_member, 0, NULL },

    { nd_string("members_file"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_cluster_members_file, 0, NULL },

    { nd_string("self"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_addr_slot, offsetof(nd_cluster_conf_t, self_addr), NULL },

    { nd_string("listen"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_addr_slot, offsetof(nd_cluster_conf_t, listen), NULL },

    nd_ssl_commands(nd_cluster_conf_t, ssl),

    { nd_string("report_interval"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_cluster_conf_t, report_interval),
      NULL },

    { nd_string("unhealthy_report_interval"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_cluster_conf_t, unhealthy_interval),
      NULL },

    { nd_string("call_timeout"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_msec_slot, offsetof(nd_cluster_conf_t, call_timeout),
      NULL },

    { nd_string("server_identity_file"),
      ND_BLOCK_CONF | ND_CONF_TAKE1,
      nd_conf_set_secret_file_slot, offsetof(nd_cluster_conf_t, identity),
      &nd_cluster_identity_min },

    nd_null_command
};

nd_module_t  nd_cluster_module = {
    .name = "cluster",
    .commands = nd_cluster_commands,
    .create_conf = nd_cluster_create_conf,
    .init_conf = nd_cluster_init_conf,
    .init_module = nd_cluster_init_module,
    .start = nd_cluster_start,
    .stop = nd_cluster_stop,
    .exit = nd_cluster_exit,
    .reload = nd_cluster_reload,
};


static void *
nd_cluster_create_conf(nd_cycle_t *cycle)
{
    nd_cluster_conf_t  *ccf;

    ccf = nd_pcalloc(cycle->pool, sizeof(nd_cluster_conf_t));
    if (ccf == NULL) {
        return NULL;
    }

    ccf->conf_members = nd_array_create(cycle->pool, 4,
                                        sizeof(nd_cluster_member_conf_t));
    if (ccf->conf_members == NULL) {
        return NULL;
    }

    ccf->self_addr = ND_CONF_UNSET_PTR;
    ccf->listen = ND_CONF_UNSET_PTR;
    ccf->report_interval = ND_CONF_UNSET_MSEC;
    ccf->unhealthy_interval = ND_CONF_UNSET_MSEC;
    ccf->call_timeout = ND_CONF_UNSET_MSEC;

    return ccf;
}


static char *
nd_cluster_block(nd_conf_t *cf, nd_command_t *cmd, void *conf)
{
    nd_cluster_conf_t  *ccf = conf;

    ccf->configured = 1;
    ccf->block_file = cf->file ? cf->file->path : NULL;
    ccf->block_line = cf->file ? cf->file->line : 0;

    return nd_conf_module_block(cf, cmd, conf);
}


/* "ip[:port]" (port 8848 when absent, as in Nacos's cluster.conf) or
 * "[v6]:port"; numeric only */
static nd_int_t
nd_cluster_parse_addr(const u_char *p, size_t len, nd_addr_t *addr)
{
    u_char    buf[ND_SOCKADDR_STRLEN + 8];
    nd_str_t  s;

    if (len == 0 || len >= ND_SOCKADDR_STRLEN) {
        return ND_ERROR;
    }

    s.data = (u_char *) p;
    s.len = len;

    if (p[0] != '[' && memchr(p, ':', len) == NULL) {
        s.len = (size_t) snprintf((char *) buf, sizeof(buf), "%.*s:%d",
                                  (int) len, p, ND_CLUSTER_DEFAULT_PORT);
        s.data = buf;
    }

    return nd_parse_addr(&s, addr);
}


static char *
nd_cluster_add(nd_conf_t *cf, nd_cluster_conf_t *ccf, const u_char *p,
    size_t len, const nd_str_t *rpc)
{
    char                      *err;
    nd_uint_t                  i;
    nd_cluster_member_conf_t  *mc, *old;

    mc = nd_array_push(ccf->conf_members);
    if (mc == NULL) {
        return ND_CONF_ERROR;
    }
    memset(mc, 0, sizeof(*mc));

    err = nd_pnalloc(cf->pool, 256 + len);
    if (err == NULL) {
        return ND_CONF_ERROR;
    }

    if (nd_cluster_parse_addr(p, len, &mc->addr) != ND_OK) {
        snprintf(err, 256 + len, "has an invalid address \"%.*s\" "
                 "(numeric ip[:port])", (int) len, p);
        ccf->conf_members->nelts--;
        return err;
    }

    if (rpc && rpc->len) {
        if (nd_cluster_parse_addr(rpc->data, rpc->len, &mc->rpc) != ND_OK) {
            snprintf(err, 256 + len, "has an invalid rpc address \"%.*s\"",
                     (int) rpc->len, rpc->data);
            ccf->conf_members->nelts--;
            return err;
        }
        mc->has_rpc = 1;
    }

    old = ccf->conf_members->elts;
    for (i = 0; i + 1 < ccf->conf_members->nelts; i++) {
        if (strcmp(old[i].addr.text, mc->addr.text) == 0) {
            snprintf(err, 256 + len, "names member \"%s\" twice",
                     mc->addr.text);
            ccf->conf_members->nelts--;
            return err;
        }
    }

    return ND_CONF_OK;
}


/* member ADDRESS [rpc=ADDRESS]; */
static char *
nd_cluster_member(nd_conf_t *cf, nd_command_t *cmd, void *conf)
{
    nd_str_t  *args, rpc;

    args = cf->args->elts;
    nd_str_null(&rpc);

    if (cf->args->nelts == 3) {
        if (args[2].len <= 4 || memcmp(args[2].data, "rpc=", 4) != 0) {
            return "takes \"rpc=ADDRESS\" as its second parameter";
        }
        rpc.data = args[2].data + 4;
        rpc.len = args[2].len - 4;
    }

    return nd_cluster_add(cf, conf, args[1].data, args[1].len, &rpc);
}


/*
 * members_file FILE;  Nacos's cluster.conf: members separated by new
 * lines, commas or blanks, "#" comments to the end of the line.  Read
 * when the conf is (at start and on SIGHUP).
 */
static char *
nd_cluster_members_file(nd_conf_t *cf, nd_command_t *cmd, void *conf)
{
    int          fd;
    char        *path, *rv, *err;
    u_char      *data, *p, *end, *tok;
    ssize_t      n;
    nd_str_t    *args;
    nd_uint_t    line;
    struct stat  st;

    args = cf->args->elts;

    path = nd_conf_full_name(cf, &args[1], 0);
    if (path == NULL) {
        return ND_CONF_ERROR;
    }

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1 || fstat(fd, &st) == -1 || st.st_size > 1024 * 1024) {
        if (fd != -1) {
            close(fd);
        }
        nd_conf_error(cf, errno, "cannot read members_file \"%s\"", path);
        return ND_CONF_ERROR;
    }

    data = nd_pnalloc(cf->pool, (size_t) st.st_size + 1);
    n = data ? read(fd, data, (size_t) st.st_size) : -1;
    close(fd);

    if (n != (ssize_t) st.st_size) {
        nd_conf_error(cf, errno, "cannot read members_file \"%s\"", path);
        return ND_CONF_ERROR;
    }

    end = data + n;
    line = 1;

    for (p = data; p < end; /* void */) {

        if (*p == '#') {
            while (p < end && *p != '\n') {
                p++;
            }
            continue;
        }

        if (*p == '\n' || *p == '\r' || *p == ' ' || *p == '\t' || *p == ',')
        {
            line += (*p == '\n');
            p++;
            continue;
        }

        tok = p;
        while (p < end && *p != '\n' && *p != '\r' && *p != ' '
               && *p != '\t' && *p != ',' && *p != '#')
        {
            p++;
        }

        rv = nd_cluster_add(cf, conf, tok, (size_t) (p - tok), NULL);
        if (rv == ND_CONF_ERROR) {
            return rv;
        }
        if (rv != ND_CONF_OK) {
            err = nd_pnalloc(cf->pool, strlen(rv) + strlen(path) + 64);
            if (err == NULL) {
                return ND_CONF_ERROR;
            }
            sprintf(err, "%s (%s:%lu)", rv, path, (unsigned long) line);
            return err;
        }
    }

    return ND_CONF_OK;
}


/* an error found once the whole block is read: at the block's line */
static char *
nd_cluster_conf_error(nd_cycle_t *cycle, nd_cluster_conf_t *ccf,
    const char *fmt, ...)
{
    char     msg[512];
    va_list  args;

    va_start(args, fmt);
    vsnprintf(msg, sizeof(msg), fmt, args);
    va_end(args);

    nd_conf_report(cycle, cycle->reloading, 0,
                   ccf->block_file ? ccf->block_file : "?",
                   ccf->block_line, msg);

    return ND_CONF_ERROR;
}


static int
nd_cluster_member_conf_cmp(const void *a, const void *b)
{
    const nd_cluster_member_conf_t  *x = a, *y = b;

    return strcmp(x->addr.text, y->addr.text);
}


/* addr with port + offset */
static nd_int_t
nd_cluster_port_offset(const nd_addr_t *from, nd_uint_t offset,
    nd_addr_t *to)
{
    struct sockaddr_storage  sa;

    if ((nd_uint_t) from->port + offset > 65535) {
        return ND_ERROR;
    }

    sa = from->sa;
    if (sa.ss_family == AF_INET6) {
        ((struct sockaddr_in6 *) &sa)->sin6_port =
            htons((in_port_t) (from->port + offset));
    } else {
        ((struct sockaddr_in *) &sa)->sin_port =
            htons((in_port_t) (from->port + offset));
    }

    nd_addr_from_sockaddr(to, (struct sockaddr *) &sa, from->socklen);

    return ND_OK;
}


static char *
nd_cluster_init_conf(nd_cycle_t *cycle, void *conf)
{
    char                      *rv;
    nd_uint_t                  i;
    nd_addr_t                  http, self;
    nd_cluster_conf_t         *ccf = conf;
    nd_cluster_member_conf_t  *mc;

    nd_conf_init_msec_value(ccf->report_interval, 2000);
    nd_conf_init_msec_value(ccf->unhealthy_interval, 5000);
    nd_conf_init_msec_value(ccf->call_timeout, 3000);

    nd_http_default_addr(cycle, &http);

    if (ccf->self_addr != ND_CONF_UNSET_PTR) {
        self = *ccf->self_addr;
    } else {
        self = http;
    }

    if (!ccf->configured) {
        /* standalone: a cluster of one, no cluster port */
        mc = nd_array_push(ccf->conf_members);
        if (mc == NULL) {
            return ND_CONF_ERROR;
        }
        memset(mc, 0, sizeof(*mc));
        mc->addr = self;
        return ND_CONF_OK;
    }

    if (ccf->conf_members->nelts == 0) {
        return nd_cluster_conf_error(cycle, ccf, "\"cluster\" names no "
                                     "member (\"member\" or "
                                     "\"members_file\")");
    }

    mc = ccf->conf_members->elts;
    for (i = 0; i < ccf->conf_members->nelts; i++) {
        if (strcmp(mc[i].addr.text, self.text) == 0) {
            break;
        }
    }

    if (i == ccf->conf_members->nelts) {
        return nd_cluster_conf_error(cycle, ccf, "this node, %s, is not a "
                                     "member of its cluster: add it, or set "
                                     "\"self\" to its member address",
                                     self.text);
    }

    if (ccf->conf_members->nelts > 1 && !nd_store_shared(cycle)) {
        return nd_cluster_conf_error(cycle, ccf, "a cluster of %lu members "
                                     "cannot use the embedded sqlite store: "
                                     "set \"backend pg\" in \"store\", "
                                     "one PostgreSQL shared by the members",
                                     (unsigned long)
                                     ccf->conf_members->nelts);
    }

    for (i = 0; i < ccf->conf_members->nelts; i++) {
        if (!mc[i].has_rpc
            && nd_cluster_port_offset(&mc[i].addr, ND_CLUSTER_RPC_OFFSET,
                                      &mc[i].rpc) != ND_OK)
        {
            return nd_cluster_conf_error(cycle, ccf, "the cluster port of "
                                         "%s (its port + 1001) is over "
                                         "65535: give it \"rpc=\"",
                                         mc[i].addr.text);
        }
    }

    qsort(mc, ccf->conf_members->nelts, sizeof(nd_cluster_member_conf_t),
          nd_cluster_member_conf_cmp);

    if (ccf->listen == ND_CONF_UNSET_PTR) {
        ccf->listen = nd_pcalloc(cycle->pool, sizeof(nd_addr_t));
        if (ccf->listen == NULL) {
            return ND_CONF_ERROR;
        }
        if (nd_cluster_port_offset(&http, ND_CLUSTER_RPC_OFFSET, ccf->listen)
            != ND_OK)
        {
            return "the cluster port (HTTP port + 1001) is over 65535: set "
                   "\"listen\" in \"cluster\"";
        }
    }

    /* the place of the self address, for the runtime list */
    ccf->self_addr = nd_pcalloc(cycle->pool, sizeof(nd_addr_t));
    if (ccf->self_addr == NULL) {
        return ND_CONF_ERROR;
    }
    *ccf->self_addr = self;

    if (cycle->reloading) {
        return ND_CONF_OK;
    }

    /* TLS: every member's cluster port speaks it, so we dial with it */
    rv = nd_ssl_conf_init(cycle, &ccf->ssl, "cluster", "h2", 1);
    if (rv != ND_CONF_OK) {
        return rv;
    }

    return nd_grpc_add_cluster_listener(cycle, ccf->listen, ccf->ssl.ctx)
           == ND_OK ? ND_CONF_OK : ND_CONF_ERROR;
}


nd_member_t *
nd_cluster_member_create(nd_cluster_conf_t *ccf,
    const nd_cluster_member_conf_t *mc, const nd_addr_t *self)
{
    nd_member_t  *m;

    m = nd_calloc(sizeof(nd_member_t));
    if (m == NULL) {
        return NULL;
    }

    m->addr = mc->addr;
    m->rpc = mc->rpc;
    m->self = self && strcmp(mc->addr.text, self->text) == 0;
    m->state = m->self ? ND_MEMBER_UP : ND_MEMBER_SUSPICIOUS;
    m->refreshed = nd_current_msec;
    m->sdk_conns = -1;

    return m;
}


void
nd_cluster_member_free(nd_member_t *m)
{
    if (m->peer) {
        nd_grpc_peer_destroy(m->peer);      /* a report in flight: ABORT */
        m->peer = NULL;
    }

    free(m->version);
    nd_free(m);
}


/* the runtime list from a conf's members (sorted); old members that are
 * still named keep their state and connection */
static nd_int_t
nd_cluster_members_set(nd_cluster_conf_t *ccf, nd_cluster_conf_t *from)
{
    nd_uint_t                  i, j, n;
    nd_array_t                 list;
    nd_member_t              **old, *m, **mp;
    const nd_addr_t           *self;
    nd_cluster_member_conf_t  *mc;

    if (nd_array_init(&list, NULL, from->conf_members->nelts,
                      sizeof(nd_member_t *)) != ND_OK)
    {
        return ND_ERROR;
    }

    self = from->configured ? from->self_addr
                            : &((nd_cluster_member_conf_t *)
                                from->conf_members->elts)[0].addr;
    mc = from->conf_members->elts;
    old = ccf->members.elts;
    n = ccf->members.elts ? ccf->members.nelts : 0;

    for (i = 0; i < from->conf_members->nelts; i++) {
        m = NULL;

        for (j = 0; j < n; j++) {
            if (old[j] && strcmp(old[j]->addr.text, mc[i].addr.text) == 0) {
                m = old[j];
                old[j] = NULL;
                break;
            }
        }

        if (m && !m->self && memcmp(&m->rpc.sa, &mc[i].rpc.sa,
                                    sizeof(m->rpc.sa)) != 0)
        {
            /* dialled elsewhere now: a new connection */
            nd_cluster_member_free(m);
            m = NULL;
        }

        if (m == NULL) {
            m = nd_cluster_member_create(ccf, &mc[i], self);
            if (m == NULL) {
                goto failed;
            }
        }

        mp = nd_array_push(&list);
        if (mp == NULL) {
            nd_cluster_member_free(m);
            goto failed;
        }
        *mp = m;

        if (m->self) {
            ccf->self = m;
        }
    }

    for (j = 0; j < n; j++) {
        if (old[j]) {
            nd_log_error(ND_LOG_NOTICE, nd_cycle->log, 0,
                         "cluster member %s removed", old[j]->addr.text);
            nd_cluster_member_free(old[j]);
        }
    }

    if (ccf->members.elts) {
        nd_array_free(&ccf->members);
    }
    ccf->members = list;

    return ND_OK;

failed:

    mp = list.elts;
    for (i = 0; i < list.nelts; i++) {
        nd_cluster_member_free(mp[i]);
    }
    nd_array_free(&list);

    return ND_ERROR;
}


/* per peer: calls made, answered, timed out, failed */
static const struct {
    const char        *name;
    const char        *reason;      /* a failures series, or NULL */
    const char        *help;
} nd_cluster_peer_metrics[] = {
    { "nacosd_cluster_messages_sent_total", NULL,
      "Cluster RPC calls made to each peer." },
    { "nacosd_cluster_messages_answered_total", NULL,
      "Cluster RPC calls each peer answered." },
    { "nacosd_cluster_message_failures_total", "timeout",
      "Cluster RPC calls to each peer that timed out or failed (refused, "
      "connection lost)." },
    { "nacosd_cluster_message_failures_total", "error", NULL },
};


static double
nd_cluster_peer_metric(const nd_grpc_peer_stats_t *ps, nd_uint_t which)
{
    switch (which) {
    case 0:  return (double) ps->calls;
    case 1:  return (double) ps->answered;
    case 2:  return (double) ps->timeouts;
    default: return (double) ps->failed;
    }
}


/* the members (from the conf: bounded) and the calls to each */
static void
nd_cluster_metrics_source(nd_buf_t *out, void *data)
{
    char                 labels[ND_SOCKADDR_STRLEN + 64];
    const char          *name;
    nd_uint_t            i, k, st;
    nd_member_t        **mp;
    nd_cluster_conf_t   *ccf;

    ccf = data;
    mp = ccf->members.elts;

    nd_metrics_put_family(out, "nacosd_cluster_member_state",
                          ND_METRIC_GAUGE,
                          "1 for the state each member is in, as this "
                          "node sees it.");
    for (i = 0; i < ccf->members.nelts; i++) {
        for (st = ND_MEMBER_UP; st <= ND_MEMBER_DOWN; st++) {
            snprintf(labels, sizeof(labels), "member=\"%s\",state=\"%s\"",
                     mp[i]->addr.text, nd_member_state_name(st));
            nd_metrics_put_value(out, "nacosd_cluster_member_state", labels,
                                 mp[i]->state == st ? 1 : 0);
        }
    }

    for (k = 0; k < nd_nelts(nd_cluster_peer_metrics); k++) {
        name = nd_cluster_peer_metrics[k].name;
        if (nd_cluster_peer_metrics[k].help) {
            nd_metrics_put_family(out, name, ND_METRIC_COUNTER,
                                  nd_cluster_peer_metrics[k].help);
        }

        for (i = 0; i < ccf->members.nelts; i++) {
            if (mp[i]->peer == NULL) {
                continue;
            }

            snprintf(labels, sizeof(labels), "peer=\"%s\"%s%s%s",
                     mp[i]->addr.text,
                     nd_cluster_peer_metrics[k].reason ? ",reason=\"" : "",
                     nd_cluster_peer_metrics[k].reason
                     ? nd_cluster_peer_metrics[k].reason : "",
                     nd_cluster_peer_metrics[k].reason ? "\"" : "");
            nd_metrics_put_value(out, name, labels,
                nd_cluster_peer_metric(nd_grpc_peer_stats(mp[i]->peer), k));
        }
    }
}


static nd_int_t
nd_cluster_init_module(nd_cycle_t *cycle)
{
    nd_cluster_conf_t  *ccf;

    ccf = nd_cluster_conf(cycle);

    if (ccf->identity.len) {
        nd_grpc_set_identity(cycle, &ccf->identity);
    }

    if (nd_cluster_members_set(ccf, ccf) != ND_OK) {
        return ND_ERROR;
    }

    nd_timer_init(&ccf->report, "cluster report", nd_cluster_report_timer,
                  ccf);
    nd_timer_init(&ccf->unhealthy, "cluster report unhealthy",
                  nd_cluster_unhealthy_timer, ccf);
    nd_timer_init(&ccf->drain, "cluster stop drain", nd_cluster_drain_timer,
                  ccf);

    if (nd_cluster_member_init(cycle) != ND_OK
        || nd_cluster_http_init(cycle) != ND_OK
        || nd_metrics_add_source(cycle, "cluster", nd_cluster_metrics_source,
                                 ccf) != ND_OK)
    {
        return ND_ERROR;
    }

    return ND_OK;
}


static void
nd_cluster_open_peers(nd_cluster_conf_t *ccf)
{
    nd_uint_t     i;
    nd_member_t **mp;

    mp = ccf->members.elts;
    for (i = 0; i < ccf->members.nelts; i++) {
        if (!mp[i]->self && mp[i]->peer == NULL) {
            nd_cluster_peer_open(ccf, mp[i]);
        }
    }
}


static nd_int_t
nd_cluster_start(nd_cycle_t *cycle)
{
    nd_cluster_conf_t  *ccf;

    ccf = nd_cluster_conf(cycle);

    if (!ccf->configured) {
        return ND_OK;
    }

    ccf->started = 1;

    nd_log_error(ND_LOG_NOTICE, cycle->log, 0,
                 "cluster of %lu members, this node is %s, cluster port %s",
                 (unsigned long) ccf->members.nelts, ccf->self->addr.text,
                 ccf->listen->text);

    nd_cluster_open_peers(ccf);
    nd_cluster_report_all(ccf);

    nd_timer_start(&ccf->report, ccf->report_interval, ND_TIMER_REPEAT);
    nd_timer_start(&ccf->unhealthy, ccf->unhealthy_interval,
                   ND_TIMER_REPEAT);

    return ND_OK;
}


/* the peer connections go: every call not answered hears ND_ABORT */
static void
nd_cluster_peers_close(nd_cluster_conf_t *ccf)
{
    nd_uint_t      i;
    nd_member_t  **mp;

    nd_timer_stop(&ccf->drain);

    mp = ccf->members.elts;
    for (i = 0; mp && i < ccf->members.nelts; i++) {
        if (mp[i]->peer) {
            nd_grpc_peer_destroy(mp[i]->peer);
            mp[i]->peer = NULL;
        }
    }
}


static void
nd_cluster_drain_timer(nd_timer_t *t)
{
    nd_cluster_conf_t  *ccf = t->data;

    nd_log_error(ND_LOG_WARN, nd_cycle->log, 0,
                 "cluster: stop: %lu module(s) still waiting for peers, "
                 "their calls are dropped", (unsigned long) ccf->holds);
    ccf->holds = 0;
    nd_cluster_peers_close(ccf);
}


void
nd_cluster_hold(nd_cycle_t *cycle)
{
    nd_cluster_conf(cycle)->holds++;
}


void
nd_cluster_release(nd_cycle_t *cycle)
{
    nd_cluster_conf_t  *ccf;

    ccf = nd_cluster_conf(cycle);

    if (ccf->holds && --ccf->holds == 0 && ccf->stopping) {
        nd_cluster_peers_close(ccf);
    }
}


/*
 * Graceful stop: the peer connections stay while a module holds them
 * (distro sending what it answered for), at most half the
 * shutdown_timeout (and the call_timeout twice), so that they are closed
 * inside the loop, before any module's exit.
 */
static void
nd_cluster_stop(nd_cycle_t *cycle)
{
    nd_msec_t           bound;
    nd_cluster_conf_t  *ccf;

    ccf = nd_cluster_conf(cycle);
    ccf->started = 0;
    ccf->stopping = 1;

    nd_timer_stop(&ccf->report);
    nd_timer_stop(&ccf->unhealthy);

    if (ccf->holds == 0) {
        nd_cluster_peers_close(ccf);
        return;
    }

    bound = nd_min(nd_event_conf(cycle)->shutdown_timeout / 2,
                   2 * ccf->call_timeout);
    nd_timer_start(&ccf->drain, bound, ND_TIMER_ONCE);
}


static void
nd_cluster_exit(nd_cycle_t *cycle)
{
    nd_uint_t           i;
    nd_member_t       **mp;
    nd_cluster_conf_t  *ccf;

    ccf = nd_cluster_conf(cycle);

    nd_timer_stop(&ccf->report);
    nd_timer_stop(&ccf->unhealthy);
    nd_timer_stop(&ccf->drain);

    mp = ccf->members.elts;
    if (mp == NULL) {
        return;
    }

    for (i = 0; i < ccf->members.nelts; i++) {
        nd_cluster_member_free(mp[i]);
    }

    nd_array_free(&ccf->members);
    ccf->members.elts = NULL;
    ccf->self = NULL;
}


/*
 * SIGHUP: the member list (and members_file) and the intervals.  The
 * cluster port and this node's address stay as they started.
 */
static void
nd_cluster_reload(nd_cycle_t *cycle, void *conf)
{
    nd_cluster_conf_t  *ccf, *ncf;

    ccf = nd_cluster_conf(cycle);
    ncf = conf;

    if (!ccf->configured || !ncf->configured) {
        if (ccf->configured != ncf->configured) {
            nd_log_error(ND_LOG_WARN, cycle->log, 0,
                         "adding or removing the \"cluster\" block needs a "
                         "restart; the member list is kept");
        }
        return;
    }

    if (strcmp(ncf->self_addr->text, ccf->self_addr->text) != 0) {
        nd_log_error(ND_LOG_WARN, cycle->log, 0,
                     "this node's member address needs a restart to "
                     "change; the member list is kept");
        return;
    }

    ccf->report_interval = ncf->report_interval;
    ccf->unhealthy_interval = ncf->unhealthy_interval;
    ccf->call_timeout = ncf->call_timeout;

    if (nd_cluster_members_set(ccf, ncf) != ND_OK) {
        nd_log_error(ND_LOG_ERR, cycle->log, 0,
                     "cluster members not reloaded: out of memory");
        return;
    }

    ccf->next = 0;

    nd_log_error(ND_LOG_NOTICE, cycle->log, 0,
                 "cluster reloaded: %lu members",
                 (unsigned long) ccf->members.nelts);

    if (ccf->started) {
        nd_cluster_open_peers(ccf);
        nd_cluster_report_all(ccf);
        nd_timer_start(&ccf->report, ccf->report_interval, ND_TIMER_REPEAT);
        nd_timer_start(&ccf->unhealthy, ccf->unhealthy_interval,
                       ND_TIMER_REPEAT);
    }

    nd_cluster_members_changed(ccf);
}


/* the API */

const nd_array_t *
nd_cluster_members(nd_cycle_t *cycle)
{
    return &nd_cluster_conf(cycle)->members;
}


nd_member_t *
nd_cluster_self(nd_cycle_t *cycle)
{
    return nd_cluster_conf(cycle)->self;
}


int
nd_cluster_enabled(nd_cycle_t *cycle)
{
    return nd_cluster_conf(cycle)->members.nelts > 1;
}


nd_member_t *
nd_cluster_member_find(nd_cycle_t *cycle, const char *address)
{
    nd_uint_t           i;
    nd_member_t       **mp;
    nd_cluster_conf_t  *ccf;

    ccf = nd_cluster_conf(cycle);
    mp = ccf->members.elts;

    for (i = 0; i < ccf->members.nelts; i++) {
        if (strcmp(mp[i]->addr.text, address) == 0) {
            return mp[i];
        }
    }

    return NULL;
}


nd_msec_t
nd_cluster_call_timeout(nd_cycle_t *cycle)
{
    return nd_cluster_conf(cycle)->call_timeout;
}


const char *
nd_member_state_name(nd_member_state_e state)
{
    static const char  *names[] = { "UP", "SUSPICIOUS", "DOWN" };

    return state <= ND_MEMBER_DOWN ? names[state] : "DOWN";
}


nd_int_t
nd_cluster_call(nd_member_t *m, const char *type, json_t *body,
    nd_msec_t timeout, nd_grpc_peer_done_pt cb, void *data)
{
    if (m->self || m->peer == NULL || m->state == ND_MEMBER_DOWN) {
        json_decref(body);
        return ND_DECLINED;
    }

    if (timeout == 0) {
        timeout = nd_cluster_conf(nd_cycle)->call_timeout;
    }

    return nd_grpc_peer_call(m->peer, type, body, NULL, timeout, cb, data);
}


nd_int_t
nd_cluster_call_raw(nd_member_t *m, const char *type, const u_char *json,
    size_t len, nd_msec_t timeout, nd_grpc_peer_done_pt cb, void *data)
{
    if (m->self || m->peer == NULL || m->state == ND_MEMBER_DOWN) {
        return ND_DECLINED;
    }

    if (timeout == 0) {
        timeout = nd_cluster_conf(nd_cycle)->call_timeout;
    }

    return nd_grpc_peer_call_raw(m->peer, type, json, len, NULL, timeout, cb,
                                 data);
}


nd_uint_t
nd_cluster_broadcast(nd_cycle_t *cycle, const char *type, json_t *body,
    nd_msec_t timeout, nd_grpc_peer_done_pt cb, void *data)
{
    nd_uint_t           i, n;
    nd_member_t       **mp;
    nd_cluster_conf_t  *ccf;

    ccf = nd_cluster_conf(cycle);
    mp = ccf->members.elts;
    n = 0;

    for (i = 0; i < ccf->members.nelts; i++) {
        if (nd_cluster_call(mp[i], type, json_incref(body), timeout, cb, data)
            == ND_OK)
        {
            n++;
        }
    }

    json_decref(body);

    return n;
}

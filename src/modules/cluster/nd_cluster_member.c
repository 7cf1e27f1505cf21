/*
 * Member health: every report_interval this node reports itself to the
 * next peer (round robin), every unhealthy_report_interval to each peer
 * that is not UP, over the cluster RPC (MemberReportRequest).  An answer
 * makes the peer UP; a failure SUSPICIOUS; more than 3 failures in a row,
 * or a refused connection, DOWN.  A report received makes its sender UP.
 * Every change of state is one MEMBERS_CHANGED.
 */
#include <nd_cluster_internal.h>

#define ND_CLUSTER_MAX_FAILS  3

static nd_int_t nd_cluster_report_handler(nd_grpc_call_t *call, json_t *body);

static const nd_grpc_handler_t  nd_cluster_handlers[] = {
    { nd_string("MemberReportRequest"), nd_cluster_report_handler },
    nd_grpc_null_handler
};


nd_int_t
nd_cluster_member_init(nd_cycle_t *cycle)
{
    return nd_cluster_add_handlers(cycle, nd_cluster_handlers);
}


void
nd_cluster_members_changed(nd_cluster_conf_t *ccf)
{
    nd_str_t  key = nd_string("members");

    nd_event_publish(nd_cycle, ND_EV_MEMBERS_CHANGED, &key, &ccf->members,
                     NULL);
}


static void
nd_cluster_member_state(nd_cluster_conf_t *ccf, nd_member_t *m,
    nd_member_state_e state)
{
    if (m->state == state) {
        return;
    }

    nd_log_error(state == ND_MEMBER_UP ? ND_LOG_NOTICE : ND_LOG_WARN,
                 nd_cycle->log, 0, "cluster member %s: %s -> %s",
                 m->addr.text, nd_member_state_name(m->state),
                 nd_member_state_name(state));

    m->state = state;
    nd_cluster_members_changed(ccf);
}


/* a Member; its extendInfo carries the SDK connections it holds
 * (sdkConCount), so members learn each other's load from the reports */
json_t *
nd_cluster_member_json(nd_member_t *m)
{
    json_t    *node;
    int64_t    conns;
    uint64_t   moved;

    node = nd_http_member_json(m->addr.host, m->addr.port,
                               nd_member_state_name(m->state), m->fail,
                               m->self ? nd_current_msec : m->refreshed,
                               m->self || m->version == NULL
                               ? ND_NACOS_VERSION : m->version);

    conns = m->self ? (int64_t) nd_grpc_conn_count(nd_cycle) : m->sdk_conns;

    if (node && conns >= 0) {
        json_object_set_new(json_object_get(node, "extendInfo"),
                            "sdkConCount", json_integer(conns));
    }

    moved = m->self ? nd_grpc_last_moved(nd_cycle) : m->sdk_moved_at;

    if (node && moved) {
        json_object_set_new(json_object_get(node, "extendInfo"),
                            "sdkConMovedAt", json_integer((json_int_t) moved));
    }

    return node;
}


nd_member_t *
nd_cluster_reported(nd_cluster_conf_t *ccf, json_t *node)
{
    char         address[ND_SOCKADDR_STRLEN + 8];
    json_t      *conns;
    const char  *s, *version;
    nd_member_t *m;

    s = nd_json_get_str(node, "address", NULL);
    if (s == NULL) {
        /* a Member without its address: ip and port */
        s = nd_json_get_str(node, "ip", NULL);
        if (s == NULL || !json_is_integer(json_object_get(node, "port"))) {
            return NULL;
        }
        snprintf(address, sizeof(address), "%s:%lld", s,
                 (long long) json_integer_value(json_object_get(node,
                                                                "port")));
        s = address;
    }

    m = nd_cluster_member_find(nd_cycle, s);
    if (m == NULL || m->self) {
        return NULL;
    }

    version = nd_json_get_str(json_object_get(node, "extendInfo"), "version",
                              NULL);
    if (version && (m->version == NULL || strcmp(m->version, version) != 0)
        && strlen(version) < 64)
    {
        free(m->version);
        m->version = strdup(version);
    }

    conns = json_object_get(json_object_get(node, "extendInfo"),
                            "sdkConCount");
    if (json_is_integer(conns) && json_integer_value(conns) >= 0) {
        m->sdk_conns = json_integer_value(conns);
        m->sdk_conns_at = nd_current_msec;
    }

    conns = json_object_get(json_object_get(node, "extendInfo"),
                            "sdkConMovedAt");
    if (json_is_integer(conns) && json_integer_value(conns) > 0) {
        m->sdk_moved_at = (uint64_t) json_integer_value(conns);
    }

    m->fail = 0;
    m->err = 0;
    m->refreshed = nd_current_msec;
    nd_cluster_member_state(ccf, m, ND_MEMBER_UP);

    /* it is up: our own connection to it need not wait for its backoff */
    if (m->peer && !nd_grpc_peer_connected(m->peer)) {
        nd_grpc_peer_kick(m->peer);
    }

    return m;
}


static nd_int_t
nd_cluster_report_handler(nd_grpc_call_t *call, json_t *body)
{
    json_t             *node;
    nd_cluster_conf_t  *ccf;

    ccf = nd_cluster_conf(nd_cycle);

    node = json_object_get(body, "node");
    if (!json_is_object(node)) {
        return nd_grpc_reply_error(call, 400, "MemberReportRequest without "
                                   "a node");
    }

    if (nd_cluster_reported(ccf, node) == NULL) {
        nd_log_error(ND_LOG_WARN, nd_cycle->log, 0,
                     "member report from \"%s\", not a member of this "
                     "cluster", nd_json_get_str(node, "address", "?"));
        return nd_grpc_reply_error(call, 404, "not a member of this "
                                   "cluster");
    }

    return nd_grpc_reply(call, "MemberReportResponse",
                         json_pack("{s:o}", "node",
                                   nd_cluster_member_json(ccf->self)));
}


static void
nd_cluster_peer_state(nd_grpc_peer_t *peer, int up, int err, void *data)
{
    nd_member_t  *m = data;

    if (up) {
        m->err = 0;
        return;
    }

    m->err = err;

    nd_log_error(ND_LOG_INFO, nd_cycle->log, err,
                 "cluster connection to %s (%s) is down",
                 m->addr.text, m->rpc.text);
}


void
nd_cluster_peer_open(nd_cluster_conf_t *ccf, nd_member_t *m)
{
    nd_grpc_peer_conf_t  pc;

    memset(&pc, 0, sizeof(pc));
    pc.addr = m->rpc;
    pc.connect_timeout = ccf->call_timeout;
    pc.source = "cluster";
    pc.identity = nd_grpc_identity(nd_cycle);
    pc.state_handler = nd_cluster_peer_state;
    pc.data = m;

    m->peer = nd_grpc_peer_create(nd_cycle, &pc);
    if (m->peer == NULL) {
        nd_log_error(ND_LOG_ERR, nd_cycle->log, 0,
                     "cannot create the cluster connection to %s",
                     m->addr.text);
    }
}


static void
nd_cluster_report_done(nd_int_t rc, const char *type, json_t *body,
    void *data)
{
    json_t             *node;
    nd_member_t        *m = data;
    nd_cluster_conf_t  *ccf;

    m->reporting = 0;

    if (rc == ND_ABORT) {
        return;                     /* the member or the node is going */
    }

    ccf = nd_cluster_conf(nd_cycle);

    if (rc == ND_OK && strcmp(type, "MemberReportResponse") == 0) {
        node = json_object_get(body, "node");
        if (json_is_object(node)) {
            nd_cluster_reported(ccf, node);
        } else {
            m->fail = 0;
            m->refreshed = nd_current_msec;
            nd_cluster_member_state(ccf, m, ND_MEMBER_UP);
        }
        return;
    }

    m->fail++;

    nd_log_error(ND_LOG_INFO, nd_cycle->log, m->err,
                 "member report to %s failed (%s, %s), %lu in a row",
                 m->addr.text,
                 rc == ND_AGAIN ? "timed out"
                 : rc == ND_DECLINED ? "not connected"
                 : rc == ND_OK ? "error answer" : "failed",
                 rc == ND_OK ? nd_json_get_str(body, "message", "") : "",
                 (unsigned long) m->fail);

    nd_cluster_member_state(ccf, m,
                            (m->fail > ND_CLUSTER_MAX_FAILS
                             || m->err == ECONNREFUSED)
                            ? ND_MEMBER_DOWN : ND_MEMBER_SUSPICIOUS);
}


static void
nd_cluster_report(nd_cluster_conf_t *ccf, nd_member_t *m)
{
    json_t  *body;

    if (m->self || m->reporting || m->peer == NULL) {
        return;
    }

    body = json_pack("{s:o}", "node", nd_cluster_member_json(ccf->self));
    if (body == NULL) {
        return;
    }

    m->reporting = 1;

    if (nd_grpc_peer_call(m->peer, "MemberReportRequest", body, NULL,
                          ccf->call_timeout, nd_cluster_report_done, m)
        != ND_OK)
    {
        m->reporting = 0;
        nd_cluster_report_done(ND_ERROR, NULL, NULL, m);
    }
}


void
nd_cluster_report_all(nd_cluster_conf_t *ccf)
{
    nd_uint_t     i;
    nd_member_t **mp;

    mp = ccf->members.elts;
    for (i = 0; i < ccf->members.nelts; i++) {
        nd_cluster_report(ccf, mp[i]);
    }
}


/* the next peer, round robin */
void
nd_cluster_report_timer(nd_timer_t *t)
{
    nd_uint_t           i, n;
    nd_member_t       **mp;
    nd_cluster_conf_t  *ccf;

    ccf = t->data;
    mp = ccf->members.elts;
    n = ccf->members.nelts;

    for (i = 0; i < n; i++) {
        ccf->next = (ccf->next + 1) % n;
        if (!mp[ccf->next]->self) {
            nd_cluster_report(ccf, mp[ccf->next]);
            return;
        }
    }
}


/* every peer that is not UP */
void
nd_cluster_unhealthy_timer(nd_timer_t *t)
{
    nd_uint_t           i;
    nd_member_t       **mp;
    nd_cluster_conf_t  *ccf;

    ccf = t->data;
    mp = ccf->members.elts;

    for (i = 0; i < ccf->members.nelts; i++) {
        if (mp[i]->state != ND_MEMBER_UP) {
            nd_cluster_report(ccf, mp[i]);
        }
    }
}

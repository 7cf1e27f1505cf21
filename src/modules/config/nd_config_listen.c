/*
 * 1.x long polling (POST /v1/cs/configs/listener) and the listener
 * queries for operators.
 *
 * Listening-Configs, after form decoding, is URL-decoded once more, then
 * split into lines (\x01) of dataId \x02 group \x02 md5 [\x02 tenant].
 * Changed keys are answered at once; otherwise the poll is held for
 * max(floor, Long-Pulling-Timeout - delay) and answered with the first
 * key that changes.  A poll is registered in the listener index in the
 * same loop callback that compared its md5s, and a commit updates the
 * store's cache before CONFIG_CHANGED goes out, so no change between the
 * compare and the registration can be missed.
 *
 * The md5 compared is the one this client should hold: the beta version
 * when its address is in the beta list, else the version of its
 * Vipserver-Tag, else the formal one.  When only a gray version changes,
 * a held poll is answered only if that md5 changed for it.
 */
#include <nd_config_internal.h>
#include <malloc.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ND_ASAN  1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define ND_ASAN  1
#endif

#ifdef ND_ASAN
/* AddressSanitizer's allocator does not take malloc_trim(): its own
 * call gives its free memory back (sanitizer/allocator_interface.h) */
void __sanitizer_purge_allocator(void);
#endif

/* keys of ended polls after which their memory goes back to the system */
#define ND_CONFIG_TRIM_KEYS  10000


static void
nd_config_poll_headers(nd_http_request_t *r)
{
    nd_http_add_header(r, "Pragma", "no-cache", 8);
    nd_http_add_header(r, "Expires", "Thu, 01 Jan 1970 00:00:00 GMT", 29);
    nd_http_add_header(r, "Cache-Control", "no-cache,no-store", 17);
}


/* the body: URLEncode(dataId \x02 group [\x02 tenant] \x01 ...) "\n" */
static nd_int_t
nd_config_poll_answer(nd_http_request_t *r, nd_config_poll_key_t *keys,
    nd_uint_t *which, nd_uint_t n)
{
    u_char                *line, *p;
    size_t                 len;
    nd_int_t               rc;
    nd_buf_t               b;
    nd_uint_t              i;
    nd_config_poll_key_t  *k;

    nd_buf_init(&b);

    for (i = 0; i < n; i++) {
        k = &keys[which[i]];
        len = k->key.data_id.len + k->key.group.len + k->tenant.len + 3;

        line = nd_alloc(len);
        if (line == NULL || nd_buf_reserve(&b, len * 3) != ND_OK) {
            nd_free(line);
            nd_buf_free(&b);
            return ND_ERROR;
        }

        p = line;
        memcpy(p, k->key.data_id.data, k->key.data_id.len);
        p += k->key.data_id.len;
        *p++ = '\002';
        memcpy(p, k->key.group.data, k->key.group.len);
        p += k->key.group.len;
        if (k->tenant.len) {
            *p++ = '\002';
            memcpy(p, k->tenant.data, k->tenant.len);
            p += k->tenant.len;
        }
        *p++ = '\001';

        b.len += nd_escape_form(b.data + b.len, line, (size_t) (p - line));
        nd_free(line);
    }

    if (nd_buf_append(&b, "\n", 1) != ND_OK) {
        nd_buf_free(&b);
        return ND_ERROR;
    }

    nd_config_poll_headers(r);
    rc = nd_http_send(r, 200, "text/html;charset=UTF-8", b.data, b.len);
    nd_buf_free(&b);

    return rc;
}


static void
nd_config_poll_unlisten(nd_config_poll_t *poll)
{
    nd_uint_t          i;
    nd_config_conf_t  *ccf;

    for (i = 0; i < poll->n; i++) {
        nd_config_unlisten(&poll->ls[i]);
    }

    ccf = nd_config_conf(nd_cycle);
    ccf->polls--;
    ccf->poll_keys -= poll->n;
    nd_queue_remove(&poll->link);

    /* a poll's keys are many small blocks malloc keeps for reuse: after
     * many ended, give the pages back (in a second, once the requests'
     * pools are gone too) */
    ccf->trim_keys += poll->n;
    if (ccf->trim_keys >= ND_CONFIG_TRIM_KEYS && !nd_timer_active(&ccf->trim)
        && !nd_cycle->stopping)
    {
        nd_timer_start(&ccf->trim, 1000, ND_TIMER_ONCE);
    }
}


void
nd_config_trim(nd_timer_t *t)
{
    nd_config_conf_t  *ccf = t->data;

    ccf->trim_keys = 0;
    malloc_trim(0);
#ifdef ND_ASAN
    __sanitizer_purge_allocator();
#endif
}


static void
nd_config_poll_notify(nd_config_listener_t *l)
{
    nd_uint_t          which;
    nd_config_poll_t  *poll;

    poll = l->data;
    which = l->index;

    nd_config_poll_unlisten(poll);
    nd_config_poll_answer(poll->r, poll->keys, &which, 1);   /* frees r */
}


static void
nd_config_poll_timeout(nd_http_request_t *r)
{
    nd_config_poll_unlisten(r->ctx);
    nd_config_poll_headers(r);
    nd_http_send(r, 200, "text/html;charset=UTF-8", "", 0);
}


void
nd_config_polls_stop(nd_cycle_t *cycle)
{
    nd_queue_t        *q;
    nd_config_conf_t  *ccf;

    ccf = nd_config_conf(cycle);

    if (ccf->held.next == NULL) {
        return;
    }

    while (!nd_queue_empty(&ccf->held)) {
        q = nd_queue_head(&ccf->held);
        nd_config_poll_timeout(nd_queue_data(q, nd_config_poll_t, link)->r);
    }
}


static void
nd_config_poll_abort(nd_http_request_t *r)
{
    nd_config_poll_unlisten(r->ctx);
}


nd_int_t
nd_config_parse_listening(nd_http_request_t *r, nd_str_t *v,
    nd_config_poll_t *poll, nd_uint_t max)
{
    u_char                *p, *end, *line, *f[5];
    ssize_t                n;
    nd_uint_t              count, nf;
    nd_config_poll_key_t  *k;

    /* the second URL decoding Nacos applies ('+' becomes a space) */
    p = nd_pnalloc(r->pool, v->len + 1);
    if (p == NULL) {
        return ND_ERROR;
    }
    n = nd_unescape(p, v->data, v->len, 1);
    if (n < 0) {
        return ND_DECLINED;
    }
    end = p + n;

    count = 0;
    for (line = p; line < end; line++) {
        count += (*line == '\001');
    }
    if (end > p && end[-1] != '\001') {
        count++;
    }
    if (count == 0) {
        return ND_DECLINED;
    }
    if (count > max) {
        return ND_BUSY;
    }

    poll->keys = nd_pcalloc(r->pool, count * sizeof(nd_config_poll_key_t));
    poll->ls = nd_pcalloc(r->pool, count * sizeof(nd_config_listener_t));
    if (poll->keys == NULL || poll->ls == NULL) {
        return ND_ERROR;
    }

    poll->n = 0;

    while (p < end) {
        line = p;
        while (p < end && *p != '\001') {
            p++;
        }

        /* fields of [line, p) */
        nf = 0;
        f[nf++] = line;
        for (u_char *q = line; q < p && nf < 5; q++) {
            if (*q == '\002') {
                f[nf++] = q + 1;
            }
        }

        if (nf != 3 && nf != 4) {
            return ND_DECLINED;
        }

        k = &poll->keys[poll->n++];
        k->key.data_id.data = f[0];
        k->key.data_id.len = (size_t) (f[1] - 1 - f[0]);
        k->key.group.data = f[1];
        k->key.group.len = (size_t) (f[2] - 1 - f[1]);

        /* md5: up to the next field or the line end */
        {
            u_char  *md5_end = nf == 4 ? f[3] - 1 : p;
            size_t   mlen = (size_t) (md5_end - f[2]);

            poll->ls[poll->n - 1].md5[0] = '\0';
            if (mlen <= 32) {
                memcpy(poll->ls[poll->n - 1].md5, f[2], mlen);
                poll->ls[poll->n - 1].md5[mlen] = '\0';
            }
        }

        if (nf == 4) {
            k->tenant.data = f[3];
            k->tenant.len = (size_t) (p - f[3]);
        }

        k->key.tenant = k->tenant;
        nd_config_key_normalize(&k->key);

        if (k->key.data_id.len == 0 || k->key.group.len == 0) {
            return ND_DECLINED;
        }

        p++;                                /* past \x01 */
    }

    return ND_OK;
}


nd_int_t
nd_config_listener_poll(nd_http_request_t *r)
{
    int                 rc;
    char               *tag;
    nd_str_t            v, *hdr;
    nd_int_t            timeout;
    nd_uint_t           i, nchanged, *changed;
    nd_msec_t           hold;
    nd_config_poll_t   *poll;
    nd_config_conf_t   *ccf;

    ccf = nd_config_conf(nd_cycle);

    if (nd_http_arg(r, "Listening-Configs", &v) != ND_OK || v.len == 0) {
        return nd_config_v1_error(r, 400, "invalid probeModify");
    }

    poll = nd_pcalloc(r->pool, sizeof(nd_config_poll_t));
    if (poll == NULL) {
        return ND_ERROR;
    }
    poll->r = r;

    rc = nd_config_parse_listening(r, &v, poll, ccf->max_listen_keys);
    if (rc == ND_BUSY) {
        return nd_config_v1_error(r, 400, "too many listening keys");
    }
    if (rc != ND_OK) {
        return rc == ND_DECLINED
               ? nd_config_v1_error(r, 400, "invalid probeModify")
               : ND_ERROR;
    }

    changed = nd_palloc(r->pool, poll->n * sizeof(nd_uint_t));
    if (changed == NULL) {
        return ND_ERROR;
    }

    /* Vipserver-Tag: the tag version is what this client compares */
    tag = NULL;
    hdr = nd_http_header_in(r, "Vipserver-Tag");
    if (hdr && hdr->len) {
        tag = nd_pnalloc(r->pool, hdr->len + 1);
        if (tag == NULL) {
            return ND_ERROR;
        }
        memcpy(tag, hdr->data, hdr->len);
        tag[hdr->len] = '\0';
    }

    nchanged = 0;
    for (i = 0; i < poll->n; i++) {
        if (nd_config_md5_differs(nd_cycle, &poll->keys[i].key,
                                  r->c->addr.host, tag, poll->ls[i].md5))
        {
            changed[nchanged++] = i;
        }
    }

    if (nchanged) {
        return nd_config_poll_answer(r, poll->keys, changed, nchanged);
    }

    hdr = nd_http_header_in(r, "Long-Pulling-Timeout-No-Hangup");
    if (hdr && nd_str_casecmp_lit(hdr, "true") == 0) {
        nd_config_poll_headers(r);
        return nd_http_send(r, 200, "text/html;charset=UTF-8", "", 0);
    }

    hdr = nd_http_header_in(r, "Long-Pulling-Timeout");
    if (hdr == NULL) {
        /* a very old client: short polling, nothing changed */
        nd_config_poll_headers(r);
        return nd_http_send(r, 200, "text/html;charset=UTF-8", "", 0);
    }

    timeout = nd_atoi(hdr->data, hdr->len);
    if (timeout < 0) {
        timeout = 30000;
    }
    hold = (nd_msec_t) timeout > ccf->long_poll_delay
           ? (nd_msec_t) timeout - ccf->long_poll_delay : 0;
    hold = nd_max(hold, ccf->long_poll_floor);

    /* memory: a held poll costs its keys (docs/config.md) */
    if (ccf->polls >= ccf->max_long_polls
        || ccf->poll_keys + poll->n > ccf->max_long_poll_keys)
    {
        nd_log_error(ND_LOG_WARN, &r->c->log, 0,
                     "long poll of %lu keys refused: %lu polls of %lu keys "
                     "held (max_long_polls %lu, max_long_poll_keys %lu)",
                     (unsigned long) poll->n, (unsigned long) ccf->polls,
                     (unsigned long) ccf->poll_keys,
                     (unsigned long) ccf->max_long_polls,
                     (unsigned long) ccf->max_long_poll_keys);
        return nd_config_v1_error(r, 503, "too many long polls held, "
                                  "retry later");
    }

    for (i = 0; i < poll->n; i++) {
        poll->ls[i].notify = nd_config_poll_notify;
        poll->ls[i].data = poll;
        poll->ls[i].index = i;
        poll->ls[i].client_ip = r->c->addr.host;
        poll->ls[i].tag = tag;
        poll->ls[i].gray_compare = 1;

        if (nd_config_listen(nd_cycle, &poll->keys[i].key, &poll->ls[i])
            == ND_ERROR)
        {
            while (i--) {
                nd_config_unlisten(&poll->ls[i]);
            }
            return ND_ERROR;
        }
    }

    ccf->polls++;
    ccf->poll_keys += poll->n;
    nd_queue_insert_tail(&ccf->held, &poll->link);
    r->ctx = poll;
    r->abort_handler = nd_config_poll_abort;
    nd_http_hold(r, hold, nd_config_poll_timeout);

    return ND_DONE;
}


/*
 * Who listens on this node: to a key (key set: client ip -> md5), or what
 * one client address listens to (ip set: group key -> md5, the group key
 * as Nacos writes it, dataId+group[+tenant]).
 */
json_t *
nd_config_listeners_map(nd_cycle_t *cycle, const nd_config_key_t *key,
    const nd_str_t *ip)
{
    char                   gk[1200];
    u_char                 k[1200];
    size_t                 n;
    json_t                *map;
    nd_uint_t              it;
    nd_queue_t            *q;
    nd_hash_elt_t         *e;
    nd_config_conf_t      *ccf;
    nd_config_watch_t     *w;
    nd_config_listener_t  *l;

    ccf = nd_config_conf(cycle);
    map = json_object();
    if (map == NULL) {
        return NULL;
    }

    if (key) {
        if (nd_config_index_len(key) > sizeof(k)) {
            return map;
        }

        w = nd_hash_find(&ccf->watches, k, nd_config_index_key(k, key));

        for (q = w ? nd_queue_head(&w->listeners) : NULL;
             q && q != nd_queue_sentinel(&w->listeners); q = nd_queue_next(q))
        {
            l = nd_queue_data(q, nd_config_listener_t, link);
            if (l->client_ip) {
                json_object_set_new(map, l->client_ip, json_string(l->md5));
            }
        }

        return map;
    }

    for (e = nd_hash_first(&ccf->watches, &it); e;
         e = nd_hash_next(&ccf->watches, e, &it))
    {
        w = e->value;
        for (q = nd_queue_head(&w->listeners);
             q != nd_queue_sentinel(&w->listeners); q = nd_queue_next(q))
        {
            l = nd_queue_data(q, nd_config_listener_t, link);
            if (l->client_ip == NULL || strlen(l->client_ip) != ip->len
                || memcmp(l->client_ip, ip->data, ip->len) != 0)
            {
                continue;
            }

            /* dataId+group+tenant, as Nacos's group keys */
            n = nd_min(w->klen, sizeof(gk) - 1);
            memcpy(gk, w->key, n);
            gk[n] = '\0';
            for (char *c = gk; *c; c++) {
                if (*c == '\002') {
                    *c = '+';
                }
            }
            if (n && gk[n - 1] == '+') {
                gk[n - 1] = '\0';
            }
            json_object_set_new(map, gk, json_string(l->md5));
        }
    }

    return map;
}


nd_int_t
nd_config_listeners_answer(nd_http_request_t *r, json_t *map)
{
    json_t    *res;
    nd_int_t   rc;

    res = json_pack("{s:i, s:O}", "collectStatus", 200,
                    "lisentersGroupkeyStatus", map);
    rc = nd_http_send_json(r, 200, res);
    json_decref(res);

    return rc;
}


/*
 * GET /v1/cs/configs/listener?dataId=&group=&tenant=: who listens, with
 * the md5 each holds (the misspelt field is Nacos's).
 * GET /v1/cs/listener?ip=: what one client address listens to.
 * In a cluster both answer for every member.
 */
nd_int_t
nd_config_listener_query(nd_http_request_t *r)
{
    json_t           *map;
    nd_str_t          ip, tenant;
    nd_int_t          rc;
    nd_config_key_t   key, *kp;

    kp = NULL;
    ip.len = 0;

    if (r->route.len == sizeof("/v1/cs/listener") - 1) {
        if (nd_config_arg(r, "ip", &ip) != ND_OK || ip.len == 0) {
            return nd_config_v1_error(r, 400,
                       "Required request parameter 'ip' for method "
                       "parameter type String is not present");
        }

    } else {
        if (nd_config_arg(r, "dataId", &key.data_id) != ND_OK
            || nd_config_arg(r, "group", &key.group) != ND_OK)
        {
            return nd_config_v1_error(r, 400, "Required request parameter "
                                      "'dataId' and 'group' are not "
                                      "present");
        }
        tenant.len = 0;
        nd_config_arg(r, "tenant", &tenant);
        key.tenant = tenant;
        nd_config_key_normalize(&key);
        kp = &key;
    }

    map = nd_config_listeners_map(nd_cycle, kp, &ip);
    if (map == NULL) {
        return ND_ERROR;
    }

#if (ND_WITH_CLUSTER)
    rc = nd_config_cluster_gather(r, kp, &ip, map);
    if (rc != ND_DECLINED) {
        return rc;                  /* the members answer, then we do */
    }
#endif

    rc = nd_config_listeners_answer(r, map);
    json_decref(map);

    return rc;
}

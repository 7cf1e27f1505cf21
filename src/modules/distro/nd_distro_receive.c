/*
 * The receiver's side of DistroDataRequest: SYNC (clients applied or
 * deleted), VERIFY (which of the sender's clients this node lacks) and
 * SNAPSHOT (this node's own clients, page by page, for a starting peer).
 */
#include <nd_distro.h>


static nd_int_t
nd_distro_sync(nd_distro_conf_t *dcf, nd_grpc_call_t *call, json_t *body)
{
    size_t        i;
    json_t       *items, *item, *v;
    const char   *op, *err;

    items = json_object_get(body, "items");
    if (!json_is_array(items)) {
        return nd_grpc_reply_error(call, 400, "SYNC without items");
    }

    /* all or nothing: check every item before applying one */
    json_array_foreach(items, i, item) {
        op = nd_json_get_str(item, "op", "");

        if (strcmp(op, "DELETE") == 0) {
            v = json_object_get(item, "id");
            if (!json_is_string(v) || json_string_length(v) == 0) {
                return nd_grpc_reply_error(call, 400, "DELETE without id");
            }
            continue;
        }

        if (strcmp(op, "CHANGE") != 0 && strcmp(op, "ADD") != 0) {
            return nd_grpc_reply_error(call, 400, "unknown distro item op");
        }

        err = nd_distro_client_check(json_object_get(item, "client"));
        if (err) {
            return nd_grpc_reply_error(call, 400, err);
        }
    }

    json_array_foreach(items, i, item) {
        op = nd_json_get_str(item, "op", "");

        if (strcmp(op, "DELETE") == 0) {
            nd_distro_client_delete(dcf, nd_json_get_str(item, "id", ""));
        } else {
            nd_distro_client_apply(dcf, json_object_get(item, "client"));
        }
    }

    return nd_grpc_reply(call, ND_DISTRO_RESPONSE,
                         json_pack("{s:i}", "v", ND_DISTRO_VERSION));
}


static nd_int_t
nd_distro_verify(nd_distro_conf_t *dcf, nd_grpc_call_t *call, json_t *body)
{
    size_t                i;
    json_t               *clients, *pair, *missing, *id, *rev;
    nd_str_t              key;
    nd_queue_t           *q;
    nd_naming_client_t   *c;
    nd_naming_instance_t *inst;

    clients = json_object_get(body, "clients");
    if (!json_is_array(clients)) {
        return nd_grpc_reply_error(call, 400, "VERIFY without clients");
    }

    if (dcf->loading) {
        /* our snapshot is on its way: nothing to ask for yet */
        return nd_grpc_reply(call, ND_DISTRO_RESPONSE,
                             json_pack("{s:i, s:[]}", "v", ND_DISTRO_VERSION,
                                       "missing"));
    }

    json_array_foreach(clients, i, pair) {
        if (!json_is_array(pair) || json_array_size(pair) != 2
            || !json_is_string(json_array_get(pair, 0))
            || !json_is_integer(json_array_get(pair, 1)))
        {
            return nd_grpc_reply_error(call, 400, "VERIFY with a bad entry");
        }
    }

    missing = json_array();
    if (missing == NULL) {
        return ND_ERROR;
    }

    json_array_foreach(clients, i, pair) {
        id = json_array_get(pair, 0);
        rev = json_array_get(pair, 1);
        key.data = (u_char *) json_string_value(id);
        key.len = json_string_length(id);

        c = nd_naming_client_find(dcf->nf, &key);

        if (c == NULL
            || (!c->native
                && c->revision != (uint64_t) json_integer_value(rev)))
        {
            json_array_append(missing, id);
        }

        if (c == NULL || c->native) {
            continue;
        }

        /* the owner holds it: the lease, and the 1.x beats it received */
        c->last_updated = nd_current_msec;

        for (q = nd_queue_head(&c->instances);
             q != nd_queue_sentinel(&c->instances); q = nd_queue_next(q))
        {
            inst = nd_queue_data(q, nd_naming_instance_t, client_link);
            inst->last_beat = nd_current_msec;
        }
    }

    return nd_grpc_reply(call, ND_DISTRO_RESPONSE,
                         json_pack("{s:i, s:o}", "v", ND_DISTRO_VERSION,
                                   "missing", missing));
}


/* a page of every ephemeral client this node holds: hash buckets from
 * the cursor on, whole buckets, until batch_max clients; written as text */
static nd_int_t
nd_distro_snapshot(nd_distro_conf_t *dcf, nd_grpc_call_t *call, json_t *body)
{
    json_t              *v;
    nd_int_t             rc;
    nd_buf_t             out;
    nd_uint_t            i, n, start;
    nd_hash_t           *h;
    nd_hash_elt_t       *e;
    nd_naming_client_t  *c;

    v = json_object_get(body, "cursor");
    if (v && (!json_is_integer(v) || json_integer_value(v) < 0)) {
        return nd_grpc_reply_error(call, 400, "SNAPSHOT with a bad cursor");
    }

    start = v ? (nd_uint_t) json_integer_value(v) : 0;
    h = &dcf->nf->clients;
    n = 0;

    nd_buf_init(&out);
    nd_buf_appendf(&out, "{\"resultCode\":200,\"errorCode\":0,"
                   "\"success\":true,\"v\":%d,\"ready\":%s,\"clients\":[",
                   ND_DISTRO_VERSION, dcf->loading ? "false" : "true");

    for (i = start; i < h->size && n < dcf->batch_max; i++) {
        for (e = h->buckets[i]; e; e = e->next) {
            c = e->value;
            if (c->ephemeral) {
                if (n++) {
                    nd_buf_append_lit(&out, ",");
                }
                nd_distro_client_text(&out, c);
            }
        }
    }

    nd_buf_appendf(&out, "],\"next\":%" PRId64 "}",
                   i < h->size ? (int64_t) i : (int64_t) -1);

    rc = nd_grpc_reply_raw(call, ND_DISTRO_RESPONSE, nd_buf_start(&out),
                           nd_buf_size(&out));
    nd_buf_free(&out);

    return rc;
}


nd_int_t
nd_distro_handler(nd_grpc_call_t *call, json_t *body)
{
    json_t            *v;
    const char        *op;
    nd_distro_conf_t  *dcf;

    dcf = nd_distro_conf(nd_cycle);

    v = json_object_get(body, "v");
    if (!json_is_integer(v) || json_integer_value(v) != ND_DISTRO_VERSION) {
        return nd_grpc_reply_error(call, 400, "unsupported distro version");
    }

    op = nd_json_get_str(body, "op", "");

    if (strcmp(op, "SYNC") == 0) {
        dcf->received[0]++;
        return nd_distro_sync(dcf, call, body);
    }

    if (strcmp(op, "VERIFY") == 0) {
        dcf->received[1]++;
        return nd_distro_verify(dcf, call, body);
    }

    if (strcmp(op, "SNAPSHOT") == 0) {
        dcf->received[2]++;
        return nd_distro_snapshot(dcf, call, body);
    }

    return nd_grpc_reply_error(call, 400, "unknown distro operation");
}

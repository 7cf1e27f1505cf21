/*
 * Unit tests: the hand-made push message head (byte for byte what
 * protobuf-c packs) and the answer scanner (requestId and resultCode
 * read from the Payload bytes): good answers, bad ones declined, and
 * seeded mutations that must never disagree with the full path.
 */
#include <nd_core.h>
#include <tap.h>
#include <nd_grpc_internal.h>


/* a whole Payload (no 5-byte prefix) of type and json, as protobuf-c
 * packs it */
static size_t
packed(nd_buf_t *b, const char *type, const char *json)
{
    Metadata  meta = METADATA__INIT;

    nd_buf_reset(b);
    meta.type = (char *) type;
    if (nd_grpc_payload_frame(b, &meta, (const u_char *) json, strlen(json))
        != ND_OK)
    {
        return 0;
    }
    nd_buf_consume(b, 5);

    return nd_buf_size(b);
}


static nd_int_t
scan(const char *type, const char *json, nd_grpc_answer_t *a)
{
    size_t     n;
    nd_int_t   rc;
    nd_buf_t   b;

    nd_buf_init(&b);
    n = packed(&b, type, json);
    a->request_id = 0;
    a->result_code = 0;
    rc = n ? nd_grpc_payload_answer(nd_buf_start(&b), n, a) : ND_ERROR;
    nd_buf_free(&b);

    return rc;
}


static nd_int_t
scan_raw(const u_char *p, size_t len)
{
    nd_grpc_answer_t  a;

    return nd_grpc_payload_answer(p, len, &a);
}


/* the full path's reading of the same bytes: 1 with its id and code */
static int
full(const u_char *p, size_t len, uint64_t *id, nd_int_t *code)
{
    int         ok_;
    json_t     *body, *rid, *rc;
    Payload    *payload;
    const char *type;
    size_t      tlen;

    payload = payload__unpack(NULL, len, p);
    if (payload == NULL) {
        return 0;
    }

    ok_ = 0;
    type = payload->metadata ? payload->metadata->type : "";
    tlen = strlen(type);
    body = nd_grpc_payload_body(payload);
    rid = json_object_get(body, "requestId");
    rc = json_object_get(body, "resultCode");

    if (body && tlen > 8 && strcmp(type + tlen - 8, "Response") == 0
        && json_is_string(rid) && json_is_integer(rc))
    {
        *id = strtoull(json_string_value(rid), NULL, 10);
        *code = (nd_int_t) json_integer_value(rc);
        ok_ = 1;
    }

    json_decref(body);
    payload__free_unpacked(payload, NULL);

    return ok_;
}


static void
test_head(void)
{
    size_t       hlen, n;
    u_char       head[ND_GRPC_HEAD_MAX];
    nd_buf_t     ours, theirs;
    Payload     *payload;
    Metadata     meta = METADATA__INIT;
    const char  *json;
    char         big[20000];

    nd_buf_init(&ours);
    nd_buf_init(&theirs);

    json = "{\"module\":\"naming\",\"headers\":{},\"requestId\":\"7\"}";
    hlen = nd_grpc_payload_head(head, "NotifySubscriberRequest",
                                strlen(json));
    ok(hlen > 5 && hlen <= ND_GRPC_HEAD_MAX, "head length %zu", hlen);
    nd_buf_append(&ours, head, hlen);
    nd_buf_append(&ours, json, strlen(json));

    meta.type = (char *) "NotifySubscriberRequest";
    nd_grpc_payload_frame(&theirs, &meta, (const u_char *) json,
                          strlen(json));
    ok(nd_buf_size(&ours) == nd_buf_size(&theirs)
       && memcmp(nd_buf_start(&ours), nd_buf_start(&theirs),
                 nd_buf_size(&ours)) == 0,
       "head + json is what protobuf-c packs");

    /* a body over 16 KB: two-byte and three-byte varints */
    memset(big, 'x', sizeof(big));
    memcpy(big, "{\"a\":\"", 6);
    memcpy(big + sizeof(big) - 3, "\"}", 3);
    n = strlen(big);
    nd_buf_reset(&ours);
    nd_buf_reset(&theirs);
    hlen = nd_grpc_payload_head(head, "ConfigChangeNotifyRequest", n);
    nd_buf_append(&ours, head, hlen);
    nd_buf_append(&ours, big, n);
    meta.type = (char *) "ConfigChangeNotifyRequest";
    nd_grpc_payload_frame(&theirs, &meta, (const u_char *) big, n);
    ok(nd_buf_size(&ours) == nd_buf_size(&theirs)
       && memcmp(nd_buf_start(&ours), nd_buf_start(&theirs),
                 nd_buf_size(&ours)) == 0,
       "the same for a 20 KB body");

    payload = payload__unpack(NULL, nd_buf_size(&ours) - 5,
                              nd_buf_start(&ours) + 5);
    ok(payload && payload->metadata && payload->body
       && strcmp(payload->metadata->type, "ConfigChangeNotifyRequest") == 0
       && payload->body->value.len == n, "protobuf-c reads it back");
    if (payload) {
        payload__free_unpacked(payload, NULL);
    }

    memset(big, 'T', 100);
    big[100] = '\0';
    is_int(nd_grpc_payload_head(head, big, 10), 0, "a type over %d bytes",
           ND_GRPC_TYPE_MAX);

    nd_buf_free(&ours);
    nd_buf_free(&theirs);
}


static void
test_good(void)
{
    nd_grpc_answer_t  a;

    ok(scan("NotifySubscriberResponse",
            "{\"resultCode\":200,\"errorCode\":0,\"success\":true,"
            "\"requestId\":\"42\"}", &a) == ND_OK
       && a.request_id == 42 && a.result_code == 200, "Java's answer");

    ok(scan("ConfigChangeNotifyResponse",
            " {\n \"requestId\" : \"9999999999999999999\" ,\"message\":"
            "\"a \\\"quoted\\\" } [\",\"x\":{\"y\":[1,{\"z\":null}]},"
            "\"resultCode\" : -1 }\r\n", &a) == ND_OK
       && a.request_id == 9999999999999999999ULL && a.result_code == -1,
       "spaces, escapes, nested values skipped, negative code");

    ok(scan("ClientDetectionResponse",
            "{\"requestId\":\"3\",\"resultCode\":200,\"success\":false,"
            "\"n\":1.5e3,\"l\":[]}", &a) == ND_OK
       && a.request_id == 3 && a.result_code == 200, "ClientDetection");
}


static void
test_bad(void)
{
    size_t            i;
    u_char            raw[64];
    nd_grpc_answer_t  a;
    char              deep[200];

    static const char  *bad_json[] = {
        "",
        "[]",
        "{}",
        "{\"resultCode\":200}",                            /* no id */
        "{\"requestId\":\"1\"}",                           /* no code */
        "{\"requestId\":1,\"resultCode\":200}",            /* a number */
        "{\"requestId\":\"\",\"resultCode\":200}",
        "{\"requestId\":\"1a\",\"resultCode\":200}",
        "{\"requestId\":\"-1\",\"resultCode\":200}",
        "{\"requestId\":\"123456789012345678901\",\"resultCode\":200}",
        "{\"requestId\":\"1\",\"requestId\":\"2\",\"resultCode\":200}",
        "{\"requestId\":\"1\",\"resultCode\":200,\"resultCode\":500}",
        "{\"request\\u0049d\":\"1\",\"resultCode\":200}",   /* escaped key */
        "{\"requestId\":\"1\",\"resultCode\":200.0}",
        "{\"requestId\":\"1\",\"resultCode\":2e2}",
        "{\"requestId\":\"1\",\"resultCode\":\"200\"}",
        "{\"requestId\":\"1\",\"resultCode\":1234567890}",
        "{\"requestId\":\"1\",\"resultCode\":200",         /* unclosed */
        "{\"requestId\":\"1\",\"resultCode\":200}}",
        "{\"requestId\":\"1\",\"resultCode\":200} x",
        "{\"requestId\":\"1\",\"resultCode\":200,}",
        "{\"requestId\":\"1\" \"resultCode\":200}",
        "{\"requestId\" \"1\",\"resultCode\":200}",
        "{\"a\":[1,2},\"requestId\":\"1\",\"resultCode\":200}",
        "{\"a\":{\"b\":]},\"requestId\":\"1\",\"resultCode\":200}",
        "{\"a\":\"unterminated,\"requestId\":\"1\",\"resultCode\":200}",
        "{\"a\":\"tab\there\",\"requestId\":\"1\",\"resultCode\":200}",
        "{\"a\":,\"requestId\":\"1\",\"resultCode\":200}",
        "{\"a\":\"x\\",
        "{\"requestId\":\"1\",\"resultCode\":200,\"a\":#}",
    };

    for (i = 0; i < sizeof(bad_json) / sizeof(bad_json[0]); i++) {
        ok(scan("NotifySubscriberResponse", bad_json[i], &a)
           == ND_DECLINED, "declined: %s", bad_json[i]);
    }

    ok(scan("NotifySubscriberRequest",
            "{\"requestId\":\"1\",\"resultCode\":200}", &a) == ND_DECLINED,
       "declined: a request type");
    ok(scan("Response", "{\"requestId\":\"1\",\"resultCode\":200}", &a)
       == ND_DECLINED, "declined: the bare word Response");

    /* deeper than ND_GRPC_JSON_DEPTH */
    memset(deep, '[', 40);
    memset(deep + 40, ']', 40);
    snprintf(deep, sizeof(deep), "{\"a\":%.40s%.40s,\"requestId\":\"1\","
             "\"resultCode\":200}",
             "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
             "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
    ok(scan("NotifySubscriberResponse", deep, &a) == ND_DECLINED,
       "declined: nesting over %d", ND_GRPC_JSON_DEPTH);

    /* protobuf that is not right */
    is_int(scan_raw((const u_char *) "", 0), ND_DECLINED, "empty message");
    raw[0] = 0x12;
    raw[1] = 0x7f;                      /* metadata longer than the rest */
    is_int(scan_raw(raw, 2), ND_DECLINED, "a length past the end");
    memset(raw, 0xff, 12);              /* a key varint that never ends */
    is_int(scan_raw(raw, 12), ND_DECLINED, "an endless varint");
    raw[0] = 0x13;                      /* field 2, start group */
    is_int(scan_raw(raw, 1), ND_DECLINED, "a group");
    raw[0] = 0x09;                      /* field 1, 64-bit, truncated */
    is_int(scan_raw(raw, 4), ND_DECLINED, "a truncated 64-bit field");
    raw[0] = 0x0d;                      /* field 1, 32-bit, truncated */
    is_int(scan_raw(raw, 3), ND_DECLINED, "a truncated 32-bit field");
    raw[0] = 0x08;                      /* field 1, varint, truncated */
    raw[1] = 0x80;
    is_int(scan_raw(raw, 2), ND_DECLINED, "a truncated varint field");
    raw[0] = 0x10;                      /* metadata as a varint */
    raw[1] = 0x01;
    is_int(scan_raw(raw, 2), ND_DECLINED, "metadata of the wrong type");
}


/* seeded mutations: no crash, and never an answer the full path reads
 * differently */
static void
test_mutations(void)
{
    int               i, k, taken, disagree;
    size_t            n;
    u_char            m[512];
    uint64_t          id;
    nd_int_t          code;
    nd_buf_t          b;
    unsigned          seed;
    nd_grpc_answer_t  a;

    nd_buf_init(&b);
    n = packed(&b, "NotifySubscriberResponse",
               "{\"resultCode\":200,\"errorCode\":0,\"message\":\"m\","
               "\"success\":true,\"requestId\":\"12345\","
               "\"x\":[{\"y\":\"z\"}]}");
    memcpy(m, nd_buf_start(&b), n);
    nd_buf_free(&b);

    seed = 21;
    taken = 0;
    disagree = 0;

    for (i = 0; i < 20000; i++) {
        u_char  t[512];
        size_t  len;

        memcpy(t, m, n);
        len = n;
        for (k = rand_r(&seed) % 4; k >= 0; k--) {
            switch (rand_r(&seed) % 3) {
            case 0:
                t[rand_r(&seed) % len] = (u_char) rand_r(&seed);
                break;
            case 1:
                len = (size_t) rand_r(&seed) % (len + 1);
                break;
            default:
                t[rand_r(&seed) % len] ^= (u_char) (1 << (rand_r(&seed) % 8));
            }
            if (len == 0) {
                break;
            }
        }

        if (nd_grpc_payload_answer(t, len, &a) != ND_OK) {
            continue;
        }

        taken++;
        if (full(t, len, &id, &code)
            && (id != a.request_id || code != a.result_code))
        {
            disagree++;
        }
    }

    ok(taken > 0, "some mutated answers still scan (%d)", taken);
    is_int(disagree, 0, "none read differently by the full path");
}


int
main(void)
{
    test_head();
    test_good();
    test_bad();
    test_mutations();

    return done_testing();
}

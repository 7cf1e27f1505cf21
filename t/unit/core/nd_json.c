/*
 * Unit tests: the jansson glue.  nd_json_get_int on a real outside
 * int64_t (t/fuzz/naming_beat/crashes/beat-port-huge-real: a UBSan
 * report, the conversion is undefined) gives the default, a string that
 * wholly holds a number gives the number; nd_json_str
 * writes what jansson reads back; nd_json_loadb builds what jansson
 * builds and refuses what it refuses.
 */
#include <nd_core.h>
#include <tap.h>


/* nd_json_loadb on text agrees with jansson: both take it (equal trees)
 * or both refuse it; want says which */
static void
loadb_same(const char *text, int want, const char *name)
{
    json_t  *ours, *theirs;

    ours = nd_json_loadb(text, strlen(text));
    theirs = json_loadb(text, strlen(text), JSON_REJECT_DUPLICATES, NULL);

    ok((ours != NULL) == want && (theirs != NULL) == want
       && (ours == NULL || json_equal(ours, theirs)), name);

    json_decref(ours);
    json_decref(theirs);
}


int
main(void)
{
    json_t    *o, *back;
    nd_buf_t   b;

    o = json_loads("{\"a\":80,\"b\":80.9,\"c\":-3.5,\"d\":4.4e69,"
                   "\"e\":-1e19,\"f\":9.2e18,\"g\":\"80\",\"h\":\"8o\"}", 0, NULL);
    ok(o != NULL, "parsed");

    is_int(nd_json_get_int(o, "a", -1), 80, "integer");
    is_int(nd_json_get_int(o, "b", -1), 80, "real truncated");
    is_int(nd_json_get_int(o, "c", -1), -3, "negative real truncated");
    is_int(nd_json_get_int(o, "d", -1), -1, "real over int64: the default");
    is_int(nd_json_get_int(o, "e", -1), -1, "real under int64: the default");
    ok(nd_json_get_int(o, "f", -1) == 9200000000000000000LL,
       "real near the top still converts");
    is_int(nd_json_get_int(o, "g", -1), 80,
           "a string holding a number: the number (as Jackson)");
    is_int(nd_json_get_int(o, "h", -1), -1, "any other string: the default");
    is_int(nd_json_get_int(o, "none", 7), 7, "missing: the default");
    json_decref(o);

    nd_buf_init(&b);
    ok(nd_json_str(&b, "a\"b\\c\n\001\0z", 9) == ND_OK, "nd_json_str");
    back = json_loadb((char *) b.data, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL,
                      NULL);
    ok(back && json_string_length(back) == 9
       && memcmp(json_string_value(back), "a\"b\\c\n\001\0z", 9) == 0,
       "read back the same 9 bytes");
    json_decref(back);
    nd_buf_free(&b);

    loadb_same("{\"dataId\":\"a\",\"content\":\"x\\n\\u00e9\\ud83d\\ude00"
               "\xc3\xa9\\\"\\/\",\"m\":{\"k\":[1,-0,2.5e-3,true,false,null]},"
               "\"big\":9223372036854775807,\"neg\":-9223372036854775808}",
               1, "publish body, escapes, UTF-8, nested, int64 limits");
    loadb_same(" [ ] ", 1, "an empty array with blanks");
    loadb_same("{}", 1, "an empty object");
    loadb_same("{\"a\":1,\"a\":2}", 0, "duplicate key refused");
    loadb_same("{\"a\":9223372036854775808}", 0, "integer over int64 refused");
    loadb_same("{\"a\":1e999}", 0, "real over double refused");
    loadb_same("{\"a\":1e-999}", 1, "real underflow taken (0)");
    loadb_same("{\"a\":\"\\u0000\"}", 0, "\\u0000 refused");
    loadb_same("{\"a\":\"\\ud800\"}", 0, "lone high surrogate refused");
    loadb_same("{\"a\":\"\\udc00\"}", 0, "lone low surrogate refused");
    loadb_same("{\"a\":\"\x01\"}", 0, "raw control byte refused");
    loadb_same("{\"a\":\"\xc0\x80\"}", 0, "overlong UTF-8 refused");
    loadb_same("{\"a\":\"\xed\xa0\x80\"}", 0, "UTF-8 surrogate refused");
    loadb_same("{\"a\":\"\xf4\x90\x80\x80\"}", 0, "beyond U+10FFFF refused");
    loadb_same("{\"a\":01}", 0, "leading zero refused");
    loadb_same("{\"a\":1.}", 0, "no digit after the point refused");
    loadb_same("{\"a\":-}", 0, "a lone minus refused");
    loadb_same("{\"a\":tru}", 0, "a cut literal refused");
    loadb_same("{\"a\":1} x", 0, "bytes after the value refused");
    loadb_same("{\"a\":1,}", 0, "trailing comma refused");
    loadb_same("\"s\"", 0, "a bare string refused (object or array only)");
    loadb_same("{\"a\":\"unterminated}", 0, "an unterminated string refused");
    loadb_same("", 0, "nothing refused");

    {
        /* jansson's depth limit: 2048 nested values */
        char    deep[2 * 2049 + 1];
        size_t  i;

        for (i = 0; i < 2048; i++) {
            deep[i] = '[';
            deep[2048 + i] = ']';
        }
        deep[4096] = '\0';
        loadb_same(deep, 1, "2048 nested arrays taken");
        memmove(deep + 1, deep, 4097);
        deep[0] = '[';
        deep[4097] = ']';
        deep[4098] = '\0';
        loadb_same(deep, 0, "2049 nested arrays refused");
    }

    {
        /* nd_json_fields: views of the members, or declined */
        nd_uint_t         n;
        nd_json_field_t   f[4], *v;
        const char       *reg = " {\"ip\" : \"10.0.0.1\", \"port\":8080,"
                                "\"w\":1.5,\"ok\":true,\"m\":{\"k\":[1,{}]},"
                                "\"z\":null} ";

        ok(nd_json_fields((u_char *) reg, strlen(reg), f, 4, &n)
           == ND_DECLINED, "fields: more members than room declined");
        {
            nd_json_field_t  g[8];

            ok(nd_json_fields((u_char *) reg, strlen(reg), g, 8, &n) == ND_OK
               && n == 7, "fields: six members and m's one");
            v = nd_json_field(g, n, NULL, "ip");
            ok(v && v->type == ND_JSON_F_STRING
               && nd_str_eq(&v->value, "10.0.0.1"), "fields: a string");
            v = nd_json_field(g, n, NULL, "port");
            ok(v && v->type == ND_JSON_F_INTEGER
               && nd_json_field_int(v) == 8080, "fields: an integer");
            v = nd_json_field(g, n, NULL, "w");
            ok(v && v->type == ND_JSON_F_REAL
               && nd_json_field_real(v) == 1.5, "fields: a real");
            v = nd_json_field(g, n, NULL, "m");
            ok(v && v->type == ND_JSON_F_OBJECT && v->size == 1
               && nd_str_eq(&v->value, "{\"k\":[1,{}]}"),
               "fields: an object, its text");
            ok(nd_json_field(g, n, NULL, "ok")->type == ND_JSON_F_TRUE
               && nd_json_field(g, n, NULL, "z")->type == ND_JSON_F_NULL
               && nd_json_field(g, n, NULL, "q") == NULL, "fields: literals");
            ok(nd_json_field(g, n, NULL, "k") == NULL
               && nd_json_field(g, n, v, "k")->type == ND_JSON_F_ARRAY
               && nd_json_field(g, n, v, "k")->size == 2,
               "fields: a member of a member");
        }

#define fields_declined(text, what)                                           \
        ok(nd_json_fields((u_char *) text, strlen(text), f, 4, &n)            \
           == ND_DECLINED, what)

        fields_declined("{\"a\":\"\\u0041\"}", "fields: an escape declined");
        fields_declined("{\"a\":1,\"a\":2}", "fields: a duplicate declined");
        fields_declined("{\"a\":{\"b\":1,\"b\":1}}",
                        "fields: a nested duplicate declined");
        fields_declined("{\"a\":1e3}", "fields: an exponent declined");
        fields_declined("{\"a\":1234567890123456789}",
                        "fields: 19 digits declined");
        fields_declined("{\"a\":[[[[[[[[[1]]]]]]]]]}",
                        "fields: deep nesting declined");
        fields_declined("[1]", "fields: an array declined");
        fields_declined("{\"a\":1", "fields: a cut object declined");
        fields_declined("{\"a\":1} x", "fields: trailing bytes declined");
        fields_declined("{\"a\":\"\x01\"}", "fields: a control byte declined");
        ok(nd_json_fields((u_char *) "{}", 2, f, 0, &n) == ND_OK && n == 0,
           "fields: an empty object");
    }

    return done_testing();
}

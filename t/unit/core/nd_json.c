/*
 * Unit tests: the jansson glue.  nd_json_get_int on a real outside
 * int64_t (t/fuzz/naming_beat/crashes/beat-port-huge-real: a UBSan
 * report, the conversion is undefined) gives the default, a string that
 * wholly holds a number gives the number; nd_json_str
 * writes what jansson reads back.
 */
#include <nd_core.h>
#include <tap.h>


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

    return done_testing();
}

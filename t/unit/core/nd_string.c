/*
 * Unit tests: numbers, conf units, percent-decoding and -encoding.
 */
#include <nd_core.h>
#include <tap.h>


static int
time_of(const char *s, nd_msec_t *out)
{
    nd_str_t  v;

    v.data = (u_char *) s;
    v.len = strlen(s);
    return nd_parse_time(&v, out);
}


static int
size_of(const char *s, size_t *out)
{
    nd_str_t  v;

    v.data = (u_char *) s;
    v.len = strlen(s);
    return nd_parse_size(&v, out);
}


int
main(void)
{
    char       buf[64];
    size_t     sz;
    int64_t    i64;
    ssize_t    n;
    nd_msec_t  ms;

    ok(time_of("500ms", &ms) == ND_OK && ms == 500, "500ms");
    ok(time_of("10s", &ms) == ND_OK && ms == 10000, "10s");
    ok(time_of("10", &ms) == ND_OK && ms == 10000, "no unit is seconds");
    ok(time_of("1m30s", &ms) == ND_OK && ms == 90000, "1m30s");
    ok(time_of("2h", &ms) == ND_OK && ms == 7200000, "2h");
    ok(time_of("1d", &ms) == ND_OK && ms == 86400000, "1d");
    ok(time_of("", &ms) == ND_ERROR, "empty time refused");
    ok(time_of("5x", &ms) == ND_ERROR, "unknown unit refused");
    ok(time_of("s", &ms) == ND_ERROR, "unit without number refused");
    ok(time_of("99999999999d", &ms) == ND_ERROR, "overflow refused");

    ok(size_of("512", &sz) == ND_OK && sz == 512, "512");
    ok(size_of("16k", &sz) == ND_OK && sz == 16384, "16k");
    ok(size_of("10m", &sz) == ND_OK && sz == 10485760, "10m");
    ok(size_of("1G", &sz) == ND_OK && sz == 1073741824, "1G");
    ok(size_of("k", &sz) == ND_ERROR, "k alone refused");
    ok(size_of("1.5m", &sz) == ND_ERROR, "fraction refused");
    ok(size_of("-1", &sz) == ND_ERROR, "negative refused");

    ok(nd_atoi64((u_char *) "-9223372036854775808", 20, &i64) == ND_OK
       && i64 == INT64_MIN, "int64 min");
    ok(nd_atoi64((u_char *) "9223372036854775808", 19, &i64) == ND_ERROR,
       "int64 overflow refused");
    is_int(nd_atoi((u_char *) "8848", 4), 8848, "atoi");
    is_int(nd_atoi((u_char *) "88a", 3), ND_ERROR, "atoi garbage");

    n = nd_unescape((u_char *) buf, (u_char *) "a%20b+c%2B", 10, 1);
    buf[n < 0 ? 0 : n] = '\0';
    is_str(buf, "a b c+", "form decoding");
    n = nd_unescape((u_char *) buf, (u_char *) "a+b", 3, 0);
    buf[n < 0 ? 0 : n] = '\0';
    is_str(buf, "a+b", "path decoding keeps '+'");
    ok(nd_unescape((u_char *) buf, (u_char *) "%4", 2, 1) < 0,
       "truncated escape refused");
    ok(nd_unescape((u_char *) buf, (u_char *) "%zz", 3, 1) < 0,
       "bad hex refused");

    n = (ssize_t) nd_escape_form((u_char *) buf,
                                 (u_char *) "app.yaml\002G 1\001", 13);
    buf[n] = '\0';
    is_str(buf, "app.yaml%02G+1%01", "Java URLEncoder shape");

    return done_testing();
}

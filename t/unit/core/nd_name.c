/*
 * The Nacos name rules (src/core/nd_name.c): every kind at its empty,
 * maximum and maximum + 1 lengths, each allowed and each forbidden ASCII
 * character, and UTF-8.
 */
#include <nd_core.h>
#include <tap.h>


static nd_name_err_t
check(nd_name_kind_t kind, const char *s, size_t len)
{
    nd_str_t  v = { len, (u_char *) s };

    return nd_name_check(kind, &v);
}


#define CHECK(kind, lit)  check(kind, lit, sizeof(lit) - 1)


static void
diag_fail(const char *kind, int c, nd_name_err_t got, nd_name_err_t want)
{
    printf("#   %s: byte 0x%02x gave %d, expected %d\n", kind, c, (int) got,
           (int) want);
}


static const struct {
    nd_name_kind_t   kind;
    const char      *name;
    size_t           min, max;
    const char      *extra;     /* allowed besides [A-Za-z0-9-] */
} kinds[] = {
    { ND_NAME_DATA_ID,   "dataId",    1, 255, "_.:" },
    { ND_NAME_GROUP,     "group",     1, 128, "_.:" },
    { ND_NAME_NAMESPACE, "namespace", 0, 64,  "_" },
    { ND_NAME_TAG,       "tag",       1, 16,  "_.:" },
    { ND_NAME_CLUSTER,   "cluster",   1, 64,  "" },
};


static void
test_ascii_kinds(void)
{
    char           buf[600], s[2];
    size_t         k;
    int            c, bad, good;
    nd_name_err_t  e, want;

    for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        is_int(nd_name_max(kinds[k].kind), kinds[k].max, "%s: max %zu",
               kinds[k].name, kinds[k].max);

        is_int(check(kinds[k].kind, "", 0),
               kinds[k].min ? ND_NAME_EMPTY : ND_NAME_OK,
               "%s: empty", kinds[k].name);

        memset(buf, 'a', sizeof(buf));
        is_int(check(kinds[k].kind, buf, kinds[k].max), ND_NAME_OK,
               "%s: %zu bytes fit", kinds[k].name, kinds[k].max);
        is_int(check(kinds[k].kind, buf, kinds[k].max + 1), ND_NAME_LONG,
               "%s: %zu bytes are too long", kinds[k].name,
               kinds[k].max + 1);

        /* each of the 256 byte values as a one-byte name */
        bad = 0;
        good = 0;

        for (c = 0; c < 256; c++) {
            s[0] = (char) c;

            if (isalnum(c) || c == '-'
                || (c && strchr(kinds[k].extra, c)))
            {
                want = ND_NAME_OK;
            } else if (kinds[k].kind == ND_NAME_CLUSTER && c == '_') {
                want = ND_NAME_FORM;
            } else {
                want = ND_NAME_CHAR;
            }

            e = check(kinds[k].kind, s, 1);
            if (e != want) {
                diag_fail(kinds[k].name, c, e, want);
                bad++;
            } else if (want == ND_NAME_OK) {
                good++;
            }
        }

        is_int(bad, 0, "%s: each byte value allowed or refused as Nacos "
               "does (%d allowed)", kinds[k].name, good);

        is_int(check(kinds[k].kind, "\xc3\xa9", 2), ND_NAME_CHAR,
               "%s: a non-ASCII letter is refused", kinds[k].name);
    }

    is_int(CHECK(ND_NAME_DATA_ID, "com.example:app-1_x.yaml"), ND_NAME_OK,
           "a dataId with every allowed punctuation");
    is_int(CHECK(ND_NAME_DATA_ID, "a'b"), ND_NAME_CHAR, "a quote is refused");
    is_int(CHECK(ND_NAME_DATA_ID, "a/b"), ND_NAME_CHAR, "a slash is refused");
    is_int(CHECK(ND_NAME_DATA_ID, "a*b"), ND_NAME_CHAR, "a star is refused");
    is_int(CHECK(ND_NAME_NAMESPACE, "a.b"), ND_NAME_CHAR,
           "a dot in a namespace is refused");
    is_int(CHECK(ND_NAME_NAMESPACE, "a:b"), ND_NAME_CHAR,
           "a colon in a namespace is refused");
    is_int(CHECK(ND_NAME_CLUSTER, "a_b"), ND_NAME_FORM,
           "an underscore in a cluster is the second rule");
    is_int(CHECK(ND_NAME_CLUSTER, "a b"), ND_NAME_CHAR,
           "a space in a cluster is a character error first");
}


static void
test_service(void)
{
    char  buf[600];

    is_int(CHECK(ND_NAME_SERVICE, ""), ND_NAME_EMPTY, "service: empty");
    memset(buf, 's', sizeof(buf));
    is_int(check(ND_NAME_SERVICE, buf, 512), ND_NAME_OK, "service: 512 fit");
    is_int(check(ND_NAME_SERVICE, buf, 513), ND_NAME_LONG,
           "service: 513 too long");

    is_int(CHECK(ND_NAME_SERVICE, "demo.svc/v1#x$%&*()"), ND_NAME_OK,
           "service: ASCII punctuation is allowed");
    is_int(CHECK(ND_NAME_SERVICE, "caf\xc3\xa9"), ND_NAME_OK,
           "service: a non-CJK UTF-8 letter is allowed");
    is_int(CHECK(ND_NAME_SERVICE, "\xf0\x9f\x98\x80"), ND_NAME_OK,
           "service: a 4-byte UTF-8 character is allowed");
    is_int(CHECK(ND_NAME_SERVICE, "\xe4\xb8\xad"), ND_NAME_CHAR,
           "service: CJK U+4E2D is refused");
    is_int(CHECK(ND_NAME_SERVICE, "a b"), ND_NAME_CHAR,
           "service: a space is refused");
    is_int(CHECK(ND_NAME_SERVICE, "a\tb"), ND_NAME_CHAR,
           "service: a tab is refused");
    is_int(CHECK(ND_NAME_SERVICE, "a\x7f"), ND_NAME_CHAR,
           "service: DEL is refused");
    is_int(CHECK(ND_NAME_SERVICE, "a\xc2\xa0"), ND_NAME_CHAR,
           "service: a no-break space is refused");
    is_int(CHECK(ND_NAME_SERVICE, "a\xe3\x80\x80"), ND_NAME_CHAR,
           "service: an ideographic space is refused");
    is_int(check(ND_NAME_SERVICE, "a\0b", 3), ND_NAME_CHAR,
           "service: NUL is refused");
    is_int(CHECK(ND_NAME_SERVICE, "a\xff"), ND_NAME_CHAR,
           "service: bytes that are not UTF-8 are refused");
    is_int(CHECK(ND_NAME_SERVICE, "a\xc3"), ND_NAME_CHAR,
           "service: a truncated sequence is refused");
    is_int(CHECK(ND_NAME_SERVICE, "@svc"), ND_NAME_FORM,
           "service: '@' first is refused");
    is_int(CHECK(ND_NAME_SERVICE, "a@@b"), ND_NAME_FORM,
           "service: \"@@\" inside is refused");
    is_int(CHECK(ND_NAME_SERVICE, "a@b"), ND_NAME_OK,
           "service: one '@' inside is allowed");

    is_int(CHECK(ND_NAME_IP, ""), ND_NAME_OK, "ip: empty is the caller's");
    is_int(CHECK(ND_NAME_IP, "fe80::1%eth0"), ND_NAME_OK, "ip: IPv6 scoped");
    is_int(CHECK(ND_NAME_IP, "10.0.0.1 "), ND_NAME_CHAR,
           "ip: a trailing space is refused");
    memset(buf, '1', sizeof(buf));
    is_int(check(ND_NAME_IP, buf, 129), ND_NAME_LONG, "ip: 129 too long");
}


static void
test_text(void)
{
    is_int(CHECK(ND_NAME_APP, ""), ND_NAME_OK, "app: empty is fine");
    is_int(CHECK(ND_NAME_APP, "my app \xe4\xb8\xad"), ND_NAME_OK,
           "app: free text with CJK");
    is_int(check(ND_NAME_APP, "a\0", 2), ND_NAME_CHAR, "app: NUL refused");
    is_int(CHECK(ND_NAME_APP, "x'); DROP --"), ND_NAME_OK,
           "app: SQL-looking text is only text");

    ok(nd_utf8_valid((u_char *) "\xe2\x98\xba", 3, 0), "UTF-8 smiley");
    ok(nd_utf8_valid((u_char *) "\xf4\x8f\xbf\xbf", 4, 0), "U+10FFFF");
    ok(!nd_utf8_valid((u_char *) "\xf4\x90\x80\x80", 4, 0), "past U+10FFFF");
    ok(!nd_utf8_valid((u_char *) "\xc0\xaf", 2, 0), "overlong 2-byte");
    ok(!nd_utf8_valid((u_char *) "\xe0\x80\xaf", 3, 0), "overlong 3-byte");
    ok(!nd_utf8_valid((u_char *) "\xed\xa0\x80", 3, 0), "surrogate");
    ok(!nd_utf8_valid((u_char *) "\x80", 1, 0), "lone continuation byte");
    ok(!nd_utf8_valid((u_char *) "\xe2\x98", 2, 0), "truncated 3-byte");
    ok(!nd_utf8_valid((u_char *) "\xf8\x88\x80\x80\x80", 5, 0), "5-byte form");
    ok(nd_utf8_valid((u_char *) "a\0b", 3, 1), "NUL when allowed");
    ok(!nd_utf8_valid((u_char *) "a\0b", 3, 0), "NUL when not");
    ok(nd_text_valid(&(nd_str_t) { 3, (u_char *) "abc" }, 3), "3 of 3");

    {
        u_char  out[32];
        size_t  n;

        n = nd_utf8_repair(out, (u_char *) "a\xff" "b\xc3\xa9\0\xe2\x98",
                           8);
        ok(n == 16 && memcmp(out, "a\xef\xbf\xbd" "b\xc3\xa9"
                             "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
                             16) == 0
           && nd_utf8_valid(out, n, 0),
           "repair: bad bytes and NUL become U+FFFD, good ones stay");
    }
    ok(!nd_text_valid(&(nd_str_t) { 4, (u_char *) "abcd" }, 3), "4 of 3");
}


int
main(void)
{
    test_ascii_kinds();
    test_service();
    test_text();

    return done_testing();
}

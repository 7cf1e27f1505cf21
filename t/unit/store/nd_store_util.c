/*
 * Store helpers: LIKE patterns, group keys, schema
 * files (and that the built-in schema is conf/schema/ byte for byte).
 */
#include <nd_core.h>
#include <tap.h>

#ifdef ND_WITH_STORE

#include <nd_store_internal.h>

static int  sections;
static int64_t  versions[8];


static nd_int_t
section_cb(void *data, int64_t version, const char *sql, size_t len)
{
    versions[sections++ & 7] = version;
    return ND_OK;
}


static void
like(const char *in, int blur, const char *want, const char *name)
{
    u_char    buf[256];
    size_t    n;
    nd_str_t  s = { strlen(in), (u_char *) in };

    n = nd_store_like_pattern(buf, &s, blur);
    buf[n] = '\0';
    is_str((char *) buf, want, name);
}


static int64_t
walk(const char *text, int64_t from)
{
    sections = 0;
    return nd_store_schema_walk(text, strlen(text), from, section_cb, NULL);
}


static void
same_file(const char *path, const char *builtin)
{
    char    *text;
    size_t   len;

    text = nd_store_read_file(path, &len);
    ok(text != NULL, "%s readable", path);
    ok(text && len == strlen(builtin) && memcmp(text, builtin, len) == 0,
       "built-in schema is %s byte for byte (auto/embed "
       "output)", path);
    nd_free(text);
}


int
main(void)
{
    u_char    key[64];
    size_t    n;
    nd_str_t  d = nd_string("a+b%c"), g = nd_string("G"),
              t = nd_string("ns"), e = nd_null_string;

    /* LIKE patterns */
    like("a_b%c\\d", 0, "a\\_b\\%c\\\\d", "accurate: metacharacters escaped");
    like("svc-*", 1, "svc-%", "blur: * becomes %");
    like("svc-*", 0, "svc-*", "accurate: * is literal");
    like("*_*", 1, "%\\_%", "blur: _ stays literal");

    /* group keys */
    n = nd_store_group_key(key, &d, &g, &t);
    key[n] = '\0';
    is_str((char *) key, "a%2Bb%25c+G+ns", "group key escapes + and %%");
    n = nd_store_group_key(key, &d, &g, &e);
    key[n] = '\0';
    is_str((char *) key, "a%2Bb%25c+G", "public: no tenant part");

    /* schema files */
    is_int(walk("-- c\n-- version 1\nA;\n-- version 2\nB;\n", 0), 2,
           "two sections");
    is_int(sections, 2, "both applied from 0");
    is_int(walk("-- version 1\nA;\n-- version 2\nB;\n", 1), 2,
           "from version 1");
    is_int(sections, 1, "only version 2 applied");
    is_int(versions[0], 2, "it is version 2");
    is_int(walk("-- version 1\nA;\n-- version 3\nB;\n", 0), -1,
           "a gap in versions is refused");
    is_int(walk("CREATE TABLE x (a int);\n-- version 1\nA;\n", 0), -1,
           "SQL before the first section is refused");
    is_int(walk("-- version x\nA;\n", 0), -1, "a bad version is refused");

    same_file("conf/schema/sqlite.sql", nd_store_schema_sqlite);
    same_file("conf/schema/pg.sql", nd_store_schema_pg);

    return done_testing();
}

#else

int
main(void)
{
    printf("1..0 # skip the store module is not built\n");
    return 0;
}

#endif

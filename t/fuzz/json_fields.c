/*
 * Fuzz target: nd_json_fields (src/core/nd_json.c), the tree-less reader
 * of the register fast path.  What it takes, nd_json_loadb must take too
 * (never the other way round: it may decline anything), as an object of
 * the same members: each key there, each value of the type it says, a
 * string with the same bytes, a number equal to its reading, an object
 * or array of the size it says and, read again from its own text, the
 * same tree.
 */
#include <nd_fuzz.h>


static void
nd_fuzz_fields_fail(const char *what, const nd_json_field_t *f)
{
    fprintf(stderr, "nd_json_fields: %s, key \"%.*s\"\n", what,
            (int) f->key.len, (const char *) f->key.data);
    abort();
}


static void
nd_fuzz_fields_check(const nd_json_field_t *f, json_t *v)
{
    json_t  *again;

    switch (f->type) {

    case ND_JSON_F_STRING:
        if (!json_is_string(v) || json_string_length(v) != f->value.len
            || memcmp(json_string_value(v), f->value.data, f->value.len))
        {
            nd_fuzz_fields_fail("another string", f);
        }
        break;

    case ND_JSON_F_INTEGER:
        if (!json_is_integer(v)
            || json_integer_value(v) != nd_json_field_int(f))
        {
            nd_fuzz_fields_fail("another integer", f);
        }
        break;

    case ND_JSON_F_REAL:
        if (!json_is_real(v) || json_real_value(v) != nd_json_field_real(f))
        {
            nd_fuzz_fields_fail("another real", f);
        }
        break;

    case ND_JSON_F_TRUE:
    case ND_JSON_F_FALSE:
        if (!json_is_boolean(v)
            || json_is_true(v) != (f->type == ND_JSON_F_TRUE))
        {
            nd_fuzz_fields_fail("another boolean", f);
        }
        break;

    case ND_JSON_F_NULL:
        if (!json_is_null(v)) {
            nd_fuzz_fields_fail("not null", f);
        }
        break;

    case ND_JSON_F_OBJECT:
    case ND_JSON_F_ARRAY:
        if (f->type == ND_JSON_F_OBJECT
            ? !json_is_object(v) || json_object_size(v) != f->size
            : !json_is_array(v) || json_array_size(v) != f->size)
        {
            nd_fuzz_fields_fail("another object or array", f);
        }
        again = nd_json_loadb((const char *) f->value.data, f->value.len);
        if (!json_equal(again, v)) {
            nd_fuzz_fields_fail("its text is another value", f);
        }
        json_decref(again);
        break;

    default:
        nd_fuzz_fields_fail("no type", f);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char               key[256];
    json_t            *tree, *v;
    nd_uint_t          i, n, max;
    nd_json_field_t    f[ND_JSON_FIELDS_MAX];

    /* byte 0: how many members the caller has room for */
    if (size == 0) {
        return 0;
    }
    max = data[0] % (ND_JSON_FIELDS_MAX + 1);
    data++;
    size--;

    if (nd_json_fields(data, size, f, max, &n) != ND_OK) {
        return 0;                       /* declined: anything may be */
    }

    tree = nd_json_loadb((const char *) data, size);

    if (!json_is_object(tree) || json_object_size(tree) != n || n > max) {
        fprintf(stderr, "nd_json_fields took what nd_json_loadb does not "
                "take as an object of %lu members\n", (unsigned long) n);
        abort();
    }

    for (i = 0; i < n; i++) {
        v = json_object_getn(tree, (const char *) f[i].key.data,
                             f[i].key.len);
        if (v == NULL) {
            nd_fuzz_fields_fail("a key not there", &f[i]);
        }
        nd_fuzz_fields_check(&f[i], v);

        /* keys are distinct and hold no NUL: the lookup finds this one */
        if (f[i].key.len < sizeof(key)) {
            memcpy(key, f[i].key.data, f[i].key.len);
            key[f[i].key.len] = '\0';
            if (nd_json_field(f, n, key) != &f[i]) {
                nd_fuzz_fields_fail("the lookup finds another", &f[i]);
            }
        }
    }

    json_decref(tree);

    return 0;
}

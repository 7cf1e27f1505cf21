/*
 * Fuzz target: nd_json_fields (src/core/nd_json.c), the tree-less reader
 * of the register fast path.  What it takes, nd_json_loadb must take too
 * (never the other way round: it may decline anything), as an object
 * whose members, and those of the objects in them, are the fields: each
 * key there, each value of the type it says, a string with the same
 * bytes, a number equal to its reading, an object or array of the size
 * it says and, read again from its own text, the same tree.
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
    json_t            *tree, *obj, *v[64];
    nd_uint_t          i, k, n, max, members;
    nd_json_field_t    f[64], *in;

    /* byte 0: how many fields the caller has room for */
    if (size == 0) {
        return 0;
    }
    max = data[0] % 65;
    data++;
    size--;

    if (nd_json_fields(data, size, f, max, &n) != ND_OK) {
        return 0;                       /* declined: anything may be */
    }

    tree = nd_json_loadb((const char *) data, size);

    if (!json_is_object(tree) || n > max) {
        fprintf(stderr, "nd_json_fields took what nd_json_loadb does not "
                "take as an object (%lu fields)\n", (unsigned long) n);
        abort();
    }

    for (i = 0; i < n; i++) {
        /* a member comes after the member whose object holds it */
        if (f[i].parent > i) {
            nd_fuzz_fields_fail("a member before its object", &f[i]);
        }
        in = f[i].parent ? &f[f[i].parent - 1] : NULL;
        obj = in ? v[f[i].parent - 1] : tree;
        if (in && in->type != ND_JSON_F_OBJECT) {
            nd_fuzz_fields_fail("a member of no object", &f[i]);
        }

        v[i] = json_object_getn(obj, (const char *) f[i].key.data,
                                f[i].key.len);
        if (v[i] == NULL) {
            nd_fuzz_fields_fail("a key not there", &f[i]);
        }
        nd_fuzz_fields_check(&f[i], v[i]);

        /* keys are distinct and hold no NUL: the lookup finds this one */
        if (f[i].key.len < sizeof(key)) {
            memcpy(key, f[i].key.data, f[i].key.len);
            key[f[i].key.len] = '\0';
            if (nd_json_field(f, n, in, key) != &f[i]) {
                nd_fuzz_fields_fail("the lookup finds another", &f[i]);
            }
        }
    }

    /* every member of every object recorded */
    for (k = 0; k <= n; k++) {
        if (k && f[k - 1].type != ND_JSON_F_OBJECT) {
            continue;
        }
        members = 0;
        for (i = 0; i < n; i++) {
            members += f[i].parent == k;
        }
        if (members != json_object_size(k ? v[k - 1] : tree)) {
            fprintf(stderr, "nd_json_fields: %lu members of object %lu "
                    "recorded\n", (unsigned long) members, (unsigned long) k);
            abort();
        }
    }

    json_decref(tree);

    return 0;
}

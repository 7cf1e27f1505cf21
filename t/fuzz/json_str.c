/*
 * Fuzz target: nd_json_str (src/core/nd_json.c), the string writer of
 * the hand-built JSON bodies.  What it writes for valid UTF-8 must parse
 * back with jansson to the same bytes (NUL included); for any input it
 * must write a quoted literal with no raw control character in it.
 */
#include <nd_fuzz.h>


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t        i;
    json_t       *j, *s;
    nd_buf_t      b;
    json_error_t  err;

    nd_buf_init(&b);

    if (nd_json_str(&b, (const char *) data, size) != ND_OK) {
        abort();
    }

    if (b.len < 2 || b.data[0] != '"' || b.data[b.len - 1] != '"') {
        abort();
    }
    for (i = 0; i < b.len; i++) {
        if (b.data[i] < 0x20) {
            abort();
        }
    }

    /* jansson takes valid UTF-8 only: json_stringn says which it is */
    s = json_stringn((const char *) data, size);
    if (s) {
        j = json_loadb((const char *) b.data, b.len,
                       JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
        if (j == NULL) {
            fprintf(stderr, "nd_json_str wrote what jansson rejects: %s\n",
                    err.text);
            abort();
        }
        if (!json_equal(j, s)) {
            abort();
        }
        json_decref(j);
        json_decref(s);
    }

    nd_buf_free(&b);

    return 0;
}

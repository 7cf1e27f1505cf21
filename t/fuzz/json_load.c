/*
 * Fuzz target: nd_json_loadb (src/core/nd_json.c), the JSON parser of
 * gRPC payload bodies.  It must take what jansson's
 * json_loadb(JSON_REJECT_DUPLICATES) takes, refuse what it refuses, and
 * build an equal tree.
 */
#include <nd_fuzz.h>


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t        *ours, *theirs;
    json_error_t   err;

    ours = nd_json_loadb((const char *) data, size);

    if (memchr(data, '\0', size)) {
        /* a raw NUL is never JSON (RFC 8259: not between tokens, not
         * unescaped in a string); jansson's reader keeps NUL as its own
         * end-of-buffer mark and takes some such inputs (found here:
         * crashes/nul-after-literal), so the grammar is the reference */
        if (ours) {
            fprintf(stderr, "nd_json_loadb took a raw NUL\n");
            abort();
        }
        return 0;
    }

    theirs = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES,
                        &err);

    if ((ours == NULL) != (theirs == NULL)) {
        fprintf(stderr, "nd_json_loadb %s what jansson %s (%s)\n",
                ours ? "took" : "refused", theirs ? "takes" : "refuses",
                theirs ? "" : err.text);
        abort();
    }

    if (ours && !json_equal(ours, theirs)) {
        fprintf(stderr, "nd_json_loadb built another tree than jansson\n");
        abort();
    }

    json_decref(ours);
    json_decref(theirs);

    return 0;
}

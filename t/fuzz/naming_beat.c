/*
 * Fuzz target: v1 beat and metadata parsing (src/modules/naming).  The
 * input is read as the "beat" parameter (a JSON object, as
 * nd_naming_instance_beat_h reads its fields) and as "metadata" (JSON
 * object or k=v,k=v: nd_naming_parse_metadata).  What parses must dump
 * to text that parses back to the same object (the store keeps the
 * dump).
 */
#include <nd_fuzz.h>

#ifdef ND_WITH_NAMING

#include <nd_naming.h>


static void
roundtrip(json_t *meta)
{
    char      *text;
    json_t    *back;
    nd_str_t   s;

    text = nd_naming_dump_metadata(meta);
    if (text == NULL) {
        if (json_object_size(meta)) {
            abort();
        }
        return;
    }

    s.data = (u_char *) text;
    s.len = strlen(text);
    back = nd_naming_parse_metadata(&s);
    if (back == NULL || !json_equal(back, meta)) {
        abort();
    }

    json_decref(back);
    free(text);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t      *beat, *m, *meta;
    int64_t      port;
    double       w;
    nd_str_t     text;
    const char  *s;

    text.data = (u_char *) data;
    text.len = size;

    meta = nd_naming_parse_metadata(&text);
    if (meta) {
        if (!json_is_object(meta)) {
            abort();
        }
        roundtrip(meta);
        json_decref(meta);
    }

    beat = json_loadb((const char *) data, size, 0, NULL);
    if (beat == NULL) {
        return 0;
    }

    if (json_is_object(beat)) {
        s = nd_json_get_str(beat, "cluster", NULL);
        s = nd_json_get_str(beat, "ip", "");
        port = nd_json_get_int(beat, "port", 0);
        w = nd_json_get_real(beat, "weight", 1.0);
        (void) s; (void) port; (void) w;

        m = json_object_get(beat, "metadata");
        if (json_is_object(m)) {
            /* what a beat carries is stored as its dump */
            char  *dump = nd_naming_dump_metadata(m);

            if (dump) {
                text.data = (u_char *) dump;
                text.len = strlen(dump);
                meta = nd_naming_parse_metadata(&text);
                if (meta) {
                    roundtrip(meta);
                    json_decref(meta);
                }
                free(dump);
            }
        }
    }

    json_decref(beat);

    return 0;
}

#else

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return 0;
}

#endif

/*
 * Instance metadata as clients send it: a JSON object, or Nacos 1.x
 * "k=v,k=v" text, parsed into a JSON object; and back to compact text.
 */
#include <nd_core.h>
#include <nd_naming.h>


static json_t *
nd_naming_parse_kv(const nd_str_t *text)
{
    char     *k;
    u_char   *p, *end, *comma, *pend, *eq;
    json_t   *meta;

    meta = json_object();
    if (meta == NULL) {
        return NULL;
    }

    /* keys and values must be text: bytes that are not UTF-8 would be
     * dropped pair by pair, and a NUL would be stored as \u0000, which
     * the JSON reading of the stored text rejects (as it does in a JSON
     * object from a client): the metadata would come back empty */
    if (!nd_utf8_valid(text->data, text->len, 0)) {
        json_decref(meta);
        return NULL;
    }

    /* Java: split(",") then split("=") must give exactly two parts;
     * String.split drops trailing empty pieces */
    end = text->data + text->len;
    while (end > text->data && end[-1] == ',') {
        end--;
    }

    for (p = text->data; p < end; p = comma + 1) {
        comma = memchr(p, ',', (size_t) (end - p));
        if (comma == NULL) {
            comma = end;
        }

        pend = comma;
        while (pend > p && pend[-1] == '=') {
            pend--;
        }

        eq = memchr(p, '=', (size_t) (pend - p));
        if (eq == NULL || memchr(eq + 1, '=', (size_t) (pend - eq - 1))) {
            json_decref(meta);
            return NULL;
        }

        k = strndup((char *) p, (size_t) (eq - p));
        if (k == NULL) {
            json_decref(meta);
            return NULL;
        }
        json_object_set_new(meta, k, json_stringn((char *) eq + 1,
                                                  (size_t) (pend - eq - 1)));
        free(k);
    }

    return meta;
}


json_t *
nd_naming_parse_metadata(const nd_str_t *text)
{
    char        buf[64];
    size_t      i;
    json_t     *j, *meta, *v;
    const char *k;

    for (i = 0; i < text->len; i++) {
        if (!isspace(text->data[i])) {
            break;
        }
    }

    if (i == text->len) {
        return json_object();
    }

    j = json_loadb((char *) text->data, text->len, JSON_DECODE_ANY, NULL);

    if (j && json_is_object(j)) {
        /* Map<String, String>: scalars become their text */
        meta = json_object();
        json_object_foreach(j, k, v) {
            switch (json_typeof(v)) {
            case JSON_STRING:
                json_object_set(meta, k, v);
                break;
            case JSON_INTEGER:
                snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
                         json_integer_value(v));
                json_object_set_new(meta, k, json_string(buf));
                break;
            case JSON_REAL:
                snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
                json_object_set_new(meta, k, json_string(buf));
                break;
            case JSON_TRUE:
            case JSON_FALSE:
                json_object_set_new(meta, k, json_string(
                                    json_is_true(v) ? "true" : "false"));
                break;
            case JSON_NULL:
                break;
            default:
                json_decref(meta);
                json_decref(j);
                return nd_naming_parse_kv(text);
            }
        }
        json_decref(j);
        return meta;
    }

    if (j) {
        json_decref(j);
    }

    return nd_naming_parse_kv(text);
}


json_t *
nd_naming_meta_json(const char *text)
{
    json_t  *j;

    if (text == NULL) {
        return json_object();
    }

    j = json_loads(text, 0, NULL);
    return j ? j : json_object();
}


char *
nd_naming_dump_metadata(json_t *meta)
{
    if (meta == NULL || json_object_size(meta) == 0) {
        return NULL;
    }

    return json_dumps(meta, JSON_COMPACT);
}


size_t
nd_naming_metadata_size(json_t *meta)
{
    size_t       n;
    json_t      *v;
    const char  *k;

    n = 0;

    json_object_foreach(meta, k, v) {
        n += strlen(k);
        if (json_is_string(v)) {
            n += json_string_length(v);
        }
    }

    return n;
}


const char *
nd_naming_metadata_check(nd_naming_conf_t *nf, json_t *meta, char *buf,
    size_t size)
{
    if (meta == NULL || nd_naming_metadata_size(meta) <= nf->max_metadata_size)
    {
        return NULL;
    }

    snprintf(buf, size, "Param 'Metadata' is illegal, the param length "
             "should not exceed %zu.", nf->max_metadata_size);

    return buf;
}

/*
 * JSON glue on jansson.
 */
#include <nd_core.h>


static int
nd_json_buf_cb(const char *buffer, size_t size, void *data)
{
    return nd_buf_append(data, buffer, size) == ND_OK ? 0 : -1;
}


int
nd_json_dump_buf(json_t *json, nd_buf_t *b)
{
    return json_dump_callback(json, nd_json_buf_cb, b, ND_JSON_DUMP_FLAGS)
           == 0 ? ND_OK : ND_ERROR;
}


const char *
nd_json_get_str(json_t *obj, const char *key, const char *dflt)
{
    json_t  *v;

    v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : dflt;
}


int64_t
nd_json_get_int(json_t *obj, const char *key, int64_t dflt)
{
    json_t  *v;

    v = json_object_get(obj, key);
    if (json_is_integer(v)) {
        return (int64_t) json_integer_value(v);
    }
    if (json_is_real(v)) {
        return (int64_t) json_real_value(v);
    }
    return dflt;
}


int
nd_json_get_bool(json_t *obj, const char *key, int dflt)
{
    json_t  *v;

    v = json_object_get(obj, key);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}


double
nd_json_get_real(json_t *obj, const char *key, double dflt)
{
    json_t  *v;

    v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

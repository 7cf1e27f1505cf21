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


/* s as a JSON string literal, quotes included (as jansson escapes) */
int
nd_json_str(nd_buf_t *b, const char *s, size_t len)
{
    u_char             c;
    size_t             i, start;
    static const char  hex[] = "0123456789abcdef";

    if (nd_buf_reserve(b, len + 2) != ND_OK) {
        return ND_ERROR;
    }

    b->data[b->len++] = '"';

    for (i = 0, start = 0; i < len; i++) {
        c = (u_char) s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }

        if (nd_buf_append(b, s + start, i - start) != ND_OK
            || nd_buf_reserve(b, 6) != ND_OK)
        {
            return ND_ERROR;
        }
        start = i + 1;

        b->data[b->len++] = '\\';
        switch (c) {
        case '"':  b->data[b->len++] = '"'; break;
        case '\\': b->data[b->len++] = '\\'; break;
        case '\n': b->data[b->len++] = 'n'; break;
        case '\r': b->data[b->len++] = 'r'; break;
        case '\t': b->data[b->len++] = 't'; break;
        case '\b': b->data[b->len++] = 'b'; break;
        case '\f': b->data[b->len++] = 'f'; break;
        default:
            b->data[b->len++] = 'u';
            b->data[b->len++] = '0';
            b->data[b->len++] = '0';
            b->data[b->len++] = hex[c >> 4];
            b->data[b->len++] = hex[c & 0xf];
        }
    }

    if (nd_buf_append(b, s + start, len - start) != ND_OK) {
        return ND_ERROR;
    }

    return nd_buf_append(b, "\"", 1);
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
    double   d;
    json_t  *v;

    v = json_object_get(obj, key);
    if (json_is_integer(v)) {
        return (int64_t) json_integer_value(v);
    }
    if (json_is_real(v)) {
        d = json_real_value(v);
        /* a double outside int64_t does not convert (undefined
         * behaviour): it is not an integer we can use */
        if (d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
            return (int64_t) d;
        }
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

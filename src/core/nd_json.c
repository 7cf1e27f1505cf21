/*
 * JSON glue on jansson.
 */
#include <nd_core.h>
#include <math.h>


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


/*
 * Numbers as clients send them.  Java servers read JSON with Jackson,
 * which takes a string holding a number where a number is expected
 * ("port":"2001" from the C++ SDK's beat), so we do too: the whole string
 * must be the number, else it is not one.
 */
int
nd_json_int(json_t *obj, const char *key, int64_t *out)
{
    char        *end;
    json_t      *v;
    double       d;
    long long    n;
    const char  *s;

    v = json_object_get(obj, key);

    if (v == NULL || json_is_null(v)) {
        return ND_DECLINED;
    }

    if (json_is_integer(v)) {
        *out = (int64_t) json_integer_value(v);
        return ND_OK;
    }

    if (json_is_real(v)) {
        d = json_real_value(v);
        if (d != d || d < -9.2e18 || d > 9.2e18) {
            return ND_ERROR;
        }
        *out = (int64_t) d;
        return ND_OK;
    }

    if (json_is_string(v)) {
        s = json_string_value(v);
        errno = 0;
        n = strtoll(s, &end, 10);
        if (end == s || *end != '\0' || errno == ERANGE || isspace(*s)) {
            return ND_ERROR;
        }
        *out = (int64_t) n;
        return ND_OK;
    }

    return ND_ERROR;
}


int
nd_json_real(json_t *obj, const char *key, double *out)
{
    char        *end;
    json_t      *v;
    double       d;
    const char  *s;

    v = json_object_get(obj, key);

    if (v == NULL || json_is_null(v)) {
        return ND_DECLINED;
    }

    if (json_is_number(v)) {
        d = json_number_value(v);

    } else if (json_is_string(v)) {
        s = json_string_value(v);
        d = strtod(s, &end);
        if (end == s || *end != '\0' || isspace(*s)) {
            return ND_ERROR;
        }

    } else {
        return ND_ERROR;
    }

    if (!isfinite(d)) {
        return ND_ERROR;
    }

    *out = d;
    return ND_OK;
}


int64_t
nd_json_get_int(json_t *obj, const char *key, int64_t dflt)
{
    int64_t  n;

    return nd_json_int(obj, key, &n) == ND_OK ? n : dflt;
}


int
nd_json_get_bool(json_t *obj, const char *key, int dflt)
{
    json_t      *v;
    const char  *s;

    v = json_object_get(obj, key);

    if (json_is_boolean(v)) {
        return json_is_true(v);
    }

    s = json_is_string(v) ? json_string_value(v) : NULL;

    if (s && strcmp(s, "true") == 0) {
        return 1;
    }

    if (s && strcmp(s, "false") == 0) {
        return 0;
    }

    return dflt;
}


double
nd_json_get_real(json_t *obj, const char *key, double dflt)
{
    double  d;

    return nd_json_real(obj, key, &d) == ND_OK ? d : dflt;
}

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
nd_int_t
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
nd_int_t
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


nd_int_t
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


/*
 * nd_json_loadb: a JSON text to a jansson tree, as
 * json_loadb(JSON_REJECT_DUPLICATES) takes it (same values, same
 * refusals: invalid UTF-8, control characters and \u0000 in strings,
 * unpaired surrogates, duplicate keys, integers beyond int64, reals
 * beyond double, nesting deeper than 2048, anything after the value)
 * but without jansson's byte-at-a-time lexer: strings are scanned in one
 * pass and copied once.  A gRPC payload carries a config's whole content
 * in one string; jansson spent about 130 instructions a byte on it.
 */

#define ND_JSON_MAX_DEPTH  2048

typedef struct {
    const u_char  *p;
    const u_char  *end;
    nd_buf_t       tmp;       /* the decoded bytes of escaped strings */
} nd_json_parser_t;


static json_t *nd_json_parse_value(nd_json_parser_t *jp, nd_uint_t depth);


static void
nd_json_skip_ws(nd_json_parser_t *jp)
{
    while (jp->p < jp->end
           && (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n'
               || *jp->p == '\r'))
    {
        jp->p++;
    }
}


/* the length of the valid UTF-8 sequence at p (lead byte >= 0x80), 0 if
 * none: no overlong forms, no surrogates, nothing beyond U+10FFFF */
static size_t
nd_json_utf8_len(const u_char *p, const u_char *end)
{
    u_char  c = p[0];

    if (c >= 0xc2 && c <= 0xdf) {
        return end - p >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
    }

    if (c >= 0xe0 && c <= 0xef) {
        if (end - p < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80
            || (c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f))
        {
            return 0;
        }
        return 3;
    }

    if (c >= 0xf0 && c <= 0xf4) {
        if (end - p < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80
            || (p[3] & 0xc0) != 0x80 || (c == 0xf0 && p[1] < 0x90)
            || (c == 0xf4 && p[1] > 0x8f))
        {
            return 0;
        }
        return 4;
    }

    return 0;
}


static nd_int_t
nd_json_hex4(const u_char *p, uint32_t *out)
{
    nd_uint_t  i;
    uint32_t   v = 0;
    u_char     c;

    for (i = 0; i < 4; i++) {
        c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= (uint32_t) (c - '0');
        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
            v |= (uint32_t) ((c | 0x20) - 'a' + 10);
        } else {
            return ND_ERROR;
        }
    }

    *out = v;
    return ND_OK;
}


/* a byte of w is zero */
#define nd_json_has_zero(w)                                                   \
    (((w) - 0x0101010101010101ULL) & ~(w) & 0x8080808080808080ULL)


/* a string after its opening quote: *s and *len point at its bytes (in
 * the text, or in jp->tmp when it had escapes); ND_ERROR if invalid */
static nd_int_t
nd_json_parse_string(nd_json_parser_t *jp, const char **s, size_t *len)
{
    const u_char  *start, *p, *end;
    uint32_t       cp, lo;
    size_t         n;
    u_char         c, *d;

    start = jp->p;
    end = jp->end;
    p = start;

    /* the fast path: no escape */
    for ( ;; ) {

        /* 8 plain ASCII bytes at a time: none a quote, a backslash, a
         * control byte or a byte of a multibyte sequence */
        while (end - p >= 8) {
            uint64_t  w;

            memcpy(&w, p, 8);
            if ((w & 0x8080808080808080ULL)
                || nd_json_has_zero(w ^ 0x2222222222222222ULL)
                || nd_json_has_zero(w ^ 0x5c5c5c5c5c5c5c5cULL)
                || ((w - 0x2020202020202020ULL) & ~w
                    & 0x8080808080808080ULL))
            {
                break;
            }
            p += 8;
        }

        if (p == end) {
            return ND_ERROR;
        }
        c = *p;
        if (c == '"') {
            *s = (const char *) start;
            *len = (size_t) (p - start);
            jp->p = p + 1;
            return ND_OK;
        }
        if (c == '\\') {
            break;
        }
        if (c < 0x20) {
            return ND_ERROR;
        }
        if (c < 0x80) {
            /* plain ASCII up to the byte that stopped the word loop
             * (within 8 bytes), rather than one word check a byte */
            do {
                p++;
            } while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"'
                     && *p != '\\');
            continue;
        }
        n = nd_json_utf8_len(p, end);
        if (n == 0) {
            return ND_ERROR;
        }
        p += n;
    }

    /* escapes: decode into tmp */
    jp->tmp.len = 0;
    if (nd_buf_append(&jp->tmp, start, (size_t) (p - start)) != ND_OK) {
        return ND_ERROR;
    }

    for ( ;; ) {
        if (p == end) {
            return ND_ERROR;
        }
        c = *p;

        if (c == '"') {
            *s = (const char *) jp->tmp.data;
            *len = jp->tmp.len;
            jp->p = p + 1;
            return ND_OK;
        }

        if (nd_buf_reserve(&jp->tmp, 4) != ND_OK) {
            return ND_ERROR;
        }
        d = jp->tmp.data + jp->tmp.len;

        if (c != '\\') {
            if (c < 0x20) {
                return ND_ERROR;
            }
            n = c < 0x80 ? 1 : nd_json_utf8_len(p, end);
            if (n == 0) {
                return ND_ERROR;
            }
            memcpy(d, p, n);
            jp->tmp.len += n;
            p += n;
            continue;
        }

        if (end - p < 2) {
            return ND_ERROR;
        }
        p++;
        switch (*p++) {
        case '"':  *d = '"'; break;
        case '\\': *d = '\\'; break;
        case '/':  *d = '/'; break;
        case 'b':  *d = '\b'; break;
        case 'f':  *d = '\f'; break;
        case 'n':  *d = '\n'; break;
        case 'r':  *d = '\r'; break;
        case 't':  *d = '\t'; break;
        case 'u':
            if (end - p < 4 || nd_json_hex4(p, &cp) != ND_OK) {
                return ND_ERROR;
            }
            p += 4;
            if (cp >= 0xdc00 && cp <= 0xdfff) {
                return ND_ERROR;
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u'
                    || nd_json_hex4(p + 2, &lo) != ND_OK
                    || lo < 0xdc00 || lo > 0xdfff)
                {
                    return ND_ERROR;
                }
                p += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            if (cp == 0) {
                return ND_ERROR;
            }
            if (cp < 0x80) {
                d[0] = (u_char) cp;
                jp->tmp.len += 1;
            } else if (cp < 0x800) {
                d[0] = (u_char) (0xc0 | cp >> 6);
                d[1] = (u_char) (0x80 | (cp & 0x3f));
                jp->tmp.len += 2;
            } else if (cp < 0x10000) {
                d[0] = (u_char) (0xe0 | cp >> 12);
                d[1] = (u_char) (0x80 | ((cp >> 6) & 0x3f));
                d[2] = (u_char) (0x80 | (cp & 0x3f));
                jp->tmp.len += 3;
            } else {
                d[0] = (u_char) (0xf0 | cp >> 18);
                d[1] = (u_char) (0x80 | ((cp >> 12) & 0x3f));
                d[2] = (u_char) (0x80 | ((cp >> 6) & 0x3f));
                d[3] = (u_char) (0x80 | (cp & 0x3f));
                jp->tmp.len += 4;
            }
            continue;
        default:
            return ND_ERROR;
        }
        jp->tmp.len++;
    }
}


/* a number's text (NUL-terminated, already checked against the grammar)
 * to an integer or a real value, as jansson converts them */
static json_t *
nd_json_number(const char *s, int real)
{
    char       *e;
    long long   i;
    double      d;

    errno = 0;

    if (!real) {
        i = strtoll(s, &e, 10);
        if (errno == ERANGE || *e != '\0') {
            return NULL;
        }
        return json_integer((json_int_t) i);
    }

    d = strtod(s, &e);
    if ((errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL)) || *e != '\0')
    {
        return NULL;
    }
    return json_real(d);
}


/* the number at jp->p, by the JSON grammar: its end (jp->p is left
 * there), *real set when it has a fraction or an exponent; NULL if none */
static const u_char *
nd_json_scan_number(nd_json_parser_t *jp, int *real)
{
    const u_char  *p;

    p = jp->p;
    *real = 0;

    if (p < jp->end && *p == '-') {
        p++;
    }
    if (p == jp->end || *p < '0' || *p > '9') {
        return NULL;
    }
    if (*p == '0') {
        p++;
        if (p < jp->end && *p >= '0' && *p <= '9') {
            return NULL;
        }
    } else {
        while (p < jp->end && *p >= '0' && *p <= '9') {
            p++;
        }
    }
    if (p < jp->end && *p == '.') {
        *real = 1;
        p++;
        if (p == jp->end || *p < '0' || *p > '9') {
            return NULL;
        }
        while (p < jp->end && *p >= '0' && *p <= '9') {
            p++;
        }
    }
    if (p < jp->end && (*p == 'e' || *p == 'E')) {
        *real = 1;
        p++;
        if (p < jp->end && (*p == '+' || *p == '-')) {
            p++;
        }
        if (p == jp->end || *p < '0' || *p > '9') {
            return NULL;
        }
        while (p < jp->end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    jp->p = p;

    return p;
}


static json_t *
nd_json_parse_number(nd_json_parser_t *jp)
{
    char           buf[64], *heap;
    const u_char  *p, *start;
    size_t         n;
    int            real;
    json_t        *v;

    start = jp->p;

    p = nd_json_scan_number(jp, &real);
    if (p == NULL) {
        return NULL;
    }

    n = (size_t) (p - start);

    if (n < sizeof(buf)) {
        memcpy(buf, start, n);
        buf[n] = '\0';
        return nd_json_number(buf, real);
    }

    /* a long number: a NUL-terminated copy on the heap */
    heap = malloc(n + 1);
    if (heap == NULL) {
        return NULL;
    }
    memcpy(heap, start, n);
    heap[n] = '\0';
    v = nd_json_number(heap, real);
    free(heap);

    return v;
}


static json_t *
nd_json_parse_literal(nd_json_parser_t *jp, const char *word, size_t len,
    json_t *v)
{
    if ((size_t) (jp->end - jp->p) < len || memcmp(jp->p, word, len) != 0) {
        return NULL;
    }
    jp->p += len;
    return v;
}


/* skips blanks; takes the next byte if it is c (1), else 0 */
static int
nd_json_take(nd_json_parser_t *jp, u_char c)
{
    nd_json_skip_ws(jp);

    if (jp->p < jp->end && *jp->p == c) {
        jp->p++;
        return 1;
    }

    return 0;
}


static json_t *
nd_json_parse_object(nd_json_parser_t *jp, nd_uint_t depth)
{
    json_t      *obj, *v;
    const char  *k;
    char        *key;
    size_t       klen;

    obj = json_object();
    if (obj == NULL) {
        return NULL;
    }

    if (nd_json_take(jp, '}')) {
        return obj;
    }

    for ( ;; ) {
        if (!nd_json_take(jp, '"')
            || nd_json_parse_string(jp, &k, &klen) != ND_OK)
        {
            break;
        }

        /* the key outlives jp->tmp, which the value may reuse */
        key = malloc(klen + 1);
        if (key == NULL) {
            break;
        }
        memcpy(key, k, klen);
        key[klen] = '\0';

        v = NULL;
        if (json_object_getn(obj, key, klen) == NULL
            && nd_json_take(jp, ':'))
        {
            v = nd_json_parse_value(jp, depth + 1);
        }
        if (v == NULL || json_object_setn_new_nocheck(obj, key, klen, v) != 0)
        {
            free(key);
            break;
        }
        free(key);

        if (nd_json_take(jp, '}')) {
            return obj;
        }
        if (!nd_json_take(jp, ',')) {
            break;
        }
    }

    json_decref(obj);
    return NULL;
}


static json_t *
nd_json_parse_array(nd_json_parser_t *jp, nd_uint_t depth)
{
    json_t  *arr, *v;

    arr = json_array();
    if (arr == NULL) {
        return NULL;
    }

    if (nd_json_take(jp, ']')) {
        return arr;
    }

    for ( ;; ) {
        v = nd_json_parse_value(jp, depth + 1);
        if (v == NULL || json_array_append_new(arr, v) != 0) {
            break;
        }

        if (nd_json_take(jp, ']')) {
            return arr;
        }
        if (!nd_json_take(jp, ',')) {
            break;
        }
    }

    json_decref(arr);
    return NULL;
}


static json_t *
nd_json_parse_value(nd_json_parser_t *jp, nd_uint_t depth)
{
    const char  *s;
    size_t       len;

    if (depth >= ND_JSON_MAX_DEPTH) {
        return NULL;
    }

    nd_json_skip_ws(jp);
    if (jp->p == jp->end) {
        return NULL;
    }

    switch (*jp->p) {
    case '{':
        jp->p++;
        return nd_json_parse_object(jp, depth);
    case '[':
        jp->p++;
        return nd_json_parse_array(jp, depth);
    case '"':
        jp->p++;
        if (nd_json_parse_string(jp, &s, &len) != ND_OK) {
            return NULL;
        }
        return json_stringn_nocheck(s, len);
    case 't':
        return nd_json_parse_literal(jp, "true", 4, json_true());
    case 'f':
        return nd_json_parse_literal(jp, "false", 5, json_false());
    case 'n':
        return nd_json_parse_literal(jp, "null", 4, json_null());
    default:
        return nd_json_parse_number(jp);
    }
}


json_t *
nd_json_loadb(const char *text, size_t len)
{
    json_t            *v;
    nd_json_parser_t   jp;

    jp.p = (const u_char *) text;
    jp.end = jp.p + len;
    nd_buf_init(&jp.tmp);

    nd_json_skip_ws(&jp);
    if (jp.p == jp.end || (*jp.p != '{' && *jp.p != '[')) {
        v = NULL;

    } else {
        v = nd_json_parse_value(&jp, 0);
        nd_json_skip_ws(&jp);
        if (v != NULL && jp.p != jp.end) {
            json_decref(v);
            v = NULL;
        }
    }

    nd_buf_free(&jp.tmp);
    return v;
}


/*
 * nd_json_fields: the same grammar, checks and refusals as the parser
 * above (its string and number scanners), recording views instead of
 * building values; whatever it does not take whole is ND_DECLINED.
 */

/* where members go: f[] (n of room, nf used) */
typedef struct {
    nd_json_field_t    *f;
    nd_uint_t           n;
    nd_uint_t           nf;
} nd_json_fields_t;

static nd_int_t nd_json_fields_value(nd_json_parser_t *jp,
    nd_json_field_t *v, nd_json_fields_t *fs, nd_uint_t self,
    nd_uint_t depth);


/* a string after its opening quote, without escapes */
static nd_int_t
nd_json_fields_string(nd_json_parser_t *jp, nd_str_t *v)
{
    const char  *s;
    size_t       len;

    if (nd_json_parse_string(jp, &s, &len) != ND_OK
        || (jp->tmp.data && s == (const char *) jp->tmp.data))
    {
        return ND_DECLINED;             /* invalid, or decoded in tmp */
    }

    v->data = (u_char *) s;
    v->len = len;

    return ND_OK;
}


/* after k members or elements: ND_OK at the closing byte (*size = k),
 * ND_AGAIN after a comma, else ND_DECLINED */
static nd_int_t
nd_json_fields_next(nd_json_parser_t *jp, u_char close, nd_uint_t k,
    nd_uint_t *size)
{
    if (nd_json_take(jp, close)) {
        *size = k;
        return ND_OK;
    }

    return nd_json_take(jp, ',') ? ND_AGAIN : ND_DECLINED;
}


/* the members after an object's '{', into fs when given (their parent:
 * parent), their number in *size; distinct keys, as nd_json_loadb wants */
static nd_int_t
nd_json_fields_object(nd_json_parser_t *jp, nd_json_fields_t *fs,
    nd_uint_t parent, nd_uint_t *size, nd_uint_t depth)
{
    nd_int_t          rc;
    nd_str_t          keys[ND_JSON_FIELDS_MAX];
    nd_uint_t         i, k, self;
    nd_json_field_t   skip, *v;

    k = 0;

    if (nd_json_take(jp, '}')) {
        *size = 0;
        return ND_OK;
    }

    for ( ;; ) {
        if (k == ND_JSON_FIELDS_MAX || (fs && fs->nf == fs->n)
            || !nd_json_take(jp, '"')
            || nd_json_fields_string(jp, &keys[k]) != ND_OK)
        {
            return ND_DECLINED;
        }

        for (i = 0; i < k; i++) {
            if (keys[i].len == keys[k].len
                && memcmp(keys[i].data, keys[k].data, keys[k].len) == 0)
            {
                return ND_DECLINED;     /* a duplicate key */
            }
        }

        self = 0;
        v = &skip;
        if (fs) {
            v = &fs->f[fs->nf++];
            self = fs->nf;              /* its index + 1 */
        }
        v->key = keys[k];
        v->parent = parent;

        if (!nd_json_take(jp, ':')
            || nd_json_fields_value(jp, v, fs, self, depth + 1) != ND_OK)
        {
            return ND_DECLINED;
        }

        rc = nd_json_fields_next(jp, '}', ++k, size);
        if (rc != ND_AGAIN) {
            return rc;
        }
    }
}


static nd_int_t
nd_json_fields_array(nd_json_parser_t *jp, nd_uint_t *size, nd_uint_t depth)
{
    nd_int_t          rc;
    nd_uint_t         k;
    nd_json_field_t   skip;

    k = 0;

    if (nd_json_take(jp, ']')) {
        *size = 0;
        return ND_OK;
    }

    for ( ;; ) {
        if (nd_json_fields_value(jp, &skip, NULL, 0, depth + 1) != ND_OK) {
            return ND_DECLINED;
        }

        rc = nd_json_fields_next(jp, ']', ++k, size);
        if (rc != ND_AGAIN) {
            return rc;
        }
    }
}


static nd_int_t
nd_json_fields_literal(nd_json_parser_t *jp, const char *word, size_t len,
    nd_json_field_t *v, nd_json_field_e type)
{
    if ((size_t) (jp->end - jp->p) < len || memcmp(jp->p, word, len) != 0) {
        return ND_DECLINED;
    }

    jp->p += len;
    v->type = type;

    return ND_OK;
}


/* a value into v; an object's members into fs (parent: self) */
static nd_int_t
nd_json_fields_value(nd_json_parser_t *jp, nd_json_field_t *v,
    nd_json_fields_t *fs, nd_uint_t self, nd_uint_t depth)
{
    int            real;
    size_t         len;
    nd_int_t       rc;
    const u_char  *start;

    if (depth > ND_JSON_FIELDS_DEPTH) {
        return ND_DECLINED;
    }

    nd_json_skip_ws(jp);
    if (jp->p == jp->end) {
        return ND_DECLINED;
    }

    start = jp->p;
    v->size = 0;

    switch (*jp->p) {
    case '{':
        jp->p++;
        v->type = ND_JSON_F_OBJECT;
        rc = nd_json_fields_object(jp, fs, self, &v->size, depth);
        break;
    case '[':
        jp->p++;
        v->type = ND_JSON_F_ARRAY;
        rc = nd_json_fields_array(jp, &v->size, depth);
        break;
    case '"':
        jp->p++;
        v->type = ND_JSON_F_STRING;
        return nd_json_fields_string(jp, &v->value);
    case 't':
        rc = nd_json_fields_literal(jp, "true", 4, v, ND_JSON_F_TRUE);
        break;
    case 'f':
        rc = nd_json_fields_literal(jp, "false", 5, v, ND_JSON_F_FALSE);
        break;
    case 'n':
        rc = nd_json_fields_literal(jp, "null", 4, v, ND_JSON_F_NULL);
        break;
    default:
        if (nd_json_scan_number(jp, &real) == NULL) {
            return ND_DECLINED;
        }
        len = (size_t) (jp->p - start);
        /* what converts without a range error: up to 18 digits, a
         * fraction without an exponent */
        if (real ? len > 64 || memchr(start, 'e', len)
                   || memchr(start, 'E', len)
                 : len > 18 + (start[0] == '-'))
        {
            return ND_DECLINED;
        }
        v->type = real ? ND_JSON_F_REAL : ND_JSON_F_INTEGER;
        rc = ND_OK;
        break;
    }

    v->value.data = (u_char *) start;
    v->value.len = (size_t) (jp->p - start);

    return rc;
}


nd_int_t
nd_json_fields(const u_char *text, size_t len, nd_json_field_t *f,
    nd_uint_t n, nd_uint_t *nf)
{
    nd_int_t           rc;
    nd_uint_t          size;
    nd_json_parser_t   jp;
    nd_json_fields_t   fs;

    jp.p = text;
    jp.end = text + len;
    nd_buf_init(&jp.tmp);

    fs.f = f;
    fs.n = n;
    fs.nf = 0;

    rc = ND_DECLINED;

    nd_json_skip_ws(&jp);

    if (jp.p < jp.end && *jp.p == '{') {
        jp.p++;
        rc = nd_json_fields_object(&jp, &fs, 0, &size, 0);
        nd_json_skip_ws(&jp);
        if (jp.p != jp.end) {
            rc = ND_DECLINED;
        }
    }

    nd_buf_free(&jp.tmp);

    *nf = fs.nf;

    return rc;
}


nd_json_field_t *
nd_json_field(nd_json_field_t *f, nd_uint_t nf, const nd_json_field_t *obj,
    const char *key)
{
    size_t     len;
    nd_uint_t  i, parent;

    len = strlen(key);
    parent = obj ? (nd_uint_t) (obj - f) + 1 : 0;

    /* an object's members come after it */
    for (i = parent; i < nf; i++) {
        if (f[i].parent == parent && f[i].key.len == len
            && memcmp(f[i].key.data, key, len) == 0)
        {
            return &f[i];
        }
    }

    return NULL;
}


int64_t
nd_json_field_int(const nd_json_field_t *f)
{
    size_t    i;
    int64_t   n;

    /* at most 18 digits (nd_json_fields): no overflow */
    n = 0;
    for (i = f->value.data[0] == '-'; i < f->value.len; i++) {
        n = n * 10 + (f->value.data[i] - '0');
    }

    return f->value.data[0] == '-' ? -n : n;
}


double
nd_json_field_real(const nd_json_field_t *f)
{
    char  buf[72];

    if (f->type == ND_JSON_F_INTEGER) {
        return (double) nd_json_field_int(f);
    }

    /* at most 64 bytes (nd_json_fields) */
    memcpy(buf, f->value.data, f->value.len);
    buf[f->value.len] = '\0';

    return strtod(buf, NULL);
}

/*
 * The Nacos name rules (nd_name.h).  Unit tested in t/unit/core/nd_name.c.
 */
#include <nd_core.h>
#include <nd_name.h>


typedef enum {
    ND_NAME_SET_KEY,        /* [A-Za-z0-9_.:-] */
    ND_NAME_SET_WORD,       /* [A-Za-z0-9_-] */
    ND_NAME_SET_CLUSTER,    /* [A-Za-z0-9_-], '_' a form error */
    ND_NAME_SET_PRINTABLE,  /* UTF-8 without white space or controls */
    ND_NAME_SET_TEXT        /* UTF-8 without NUL */
} nd_name_set_t;


typedef struct {
    size_t          min;
    size_t          max;
    nd_name_set_t   set;
} nd_name_rule_t;


static const nd_name_rule_t  nd_name_rules[ND_NAME_KINDS] = {
    [ND_NAME_DATA_ID]   = { 1, 255, ND_NAME_SET_KEY },
    [ND_NAME_GROUP]     = { 1, 128, ND_NAME_SET_KEY },
    [ND_NAME_NAMESPACE] = { 0, 64,  ND_NAME_SET_WORD },
    [ND_NAME_TAG]       = { 1, 16,  ND_NAME_SET_KEY },
    [ND_NAME_APP]       = { 0, 128, ND_NAME_SET_TEXT },
    [ND_NAME_SERVICE]   = { 1, 512, ND_NAME_SET_PRINTABLE },
    [ND_NAME_CLUSTER]   = { 1, 64,  ND_NAME_SET_CLUSTER },
    [ND_NAME_IP]        = { 0, 128, ND_NAME_SET_PRINTABLE },
};


/* the code point at p (n bytes left); its length in *len, or 0 when the
 * bytes there are not well-formed UTF-8 */
static uint32_t
nd_utf8_next(const u_char *p, size_t n, size_t *len)
{
    size_t    k, more;
    uint32_t  cp;
    u_char    c;

    c = p[0];

    if (c < 0x80) {
        *len = 1;
        return c;
    }

    if ((c & 0xe0) == 0xc0) {
        more = 1; cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        more = 2; cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        more = 3; cp = c & 0x07;
    } else {
        *len = 0;
        return 0;
    }

    if (more >= n) {
        *len = 0;                       /* truncated */
        return 0;
    }

    for (k = 1; k <= more; k++) {
        if ((p[k] & 0xc0) != 0x80) {
            *len = 0;
            return 0;
        }
        cp = (cp << 6) | (p[k] & 0x3f);
    }

    /* overlong forms, surrogates, beyond U+10FFFF */
    if ((more == 1 && cp < 0x80) || (more == 2 && cp < 0x800)
        || (more == 3 && cp < 0x10000) || cp > 0x10ffff
        || (cp >= 0xd800 && cp <= 0xdfff))
    {
        *len = 0;
        return 0;
    }

    *len = more + 1;
    return cp;
}


int
nd_utf8_valid(const u_char *p, size_t n, int nul_ok)
{
    size_t    i, len;
    uint64_t  w;

    for (i = 0; i < n; i += len) {

        /* 8 ASCII bytes (none NUL unless nul_ok) at a time: most text a
         * client stores, config contents above all, is ASCII */
        while (n - i >= 8) {
            memcpy(&w, p + i, 8);
            if ((w & 0x8080808080808080ULL)
                || (!nul_ok && ((w - 0x0101010101010101ULL) & ~w
                                & 0x8080808080808080ULL)))
            {
                break;
            }
            i += 8;
        }
        if (i == n) {
            break;
        }

        if (p[i] < 0x80) {
            if (p[i] == 0 && !nul_ok) {
                return 0;
            }
            len = 1;
            continue;
        }

        (void) nd_utf8_next(p + i, n - i, &len);
        if (len == 0) {
            return 0;
        }
    }

    return 1;
}


size_t
nd_utf8_repair(u_char *dst, const u_char *src, size_t n)
{
    size_t   i, len;
    u_char  *p;

    p = dst;

    for (i = 0; i < n; i += len) {
        if (src[i] != 0 && src[i] < 0x80) {
            len = 1;
            *p++ = src[i];
            continue;
        }

        (void) nd_utf8_next(src + i, n - i, &len);

        if (len == 0 || src[i] == 0) {
            len = 1;
            *p++ = 0xef;                /* U+FFFD */
            *p++ = 0xbf;
            *p++ = 0xbd;
            continue;
        }

        memcpy(p, src + i, len);
        p += len;
    }

    return (size_t) (p - dst);
}


/* white space and controls, as Java's Character.isWhitespace and
 * isISOControl see them, plus the Unicode spaces */
static int
nd_name_blank(uint32_t cp)
{
    return cp <= 0x20 || (cp >= 0x7f && cp <= 0xa0) || cp == 0x1680
           || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028
           || cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}


static nd_name_err_t
nd_name_check_unicode(nd_name_kind_t kind, const nd_str_t *s)
{
    int       at;
    size_t    i, len;
    uint32_t  cp;

    at = 0;

    for (i = 0; i < s->len; i += len) {
        if (s->data[i] > 0x20 && s->data[i] < 0x7f) {
            len = 1;                    /* printable ASCII: most names */
            if (s->data[i] == '@'
                && (i == 0 || (i + 1 < s->len && s->data[i + 1] == '@')))
            {
                at = 1;                 /* a leading '@' or "@@" */
            }
            continue;
        }
        cp = nd_utf8_next(s->data + i, s->len - i, &len);
        if (len == 0 || nd_name_blank(cp)) {
            return ND_NAME_CHAR;
        }

        /* the parameter-check filter's CJK block */
        if (kind == ND_NAME_SERVICE && cp >= 0x4e00 && cp <= 0x9fa5) {
            return ND_NAME_CHAR;
        }
    }

    if (kind == ND_NAME_SERVICE && at) {
        return ND_NAME_FORM;
    }

    return ND_NAME_OK;
}


/* the ASCII sets as bits of one table (isalnum() is a locale lookup and
 * a call per byte): a word byte is a key byte too */
#define ND_NAME_WORD        0x01        /* [A-Za-z0-9-] */
#define ND_NAME_KEY         0x03        /* the word bytes and [.:] */
#define ND_NAME_UNDERSCORE  0x04

#define ND_NAME_W4(c)  [c] = ND_NAME_KEY, [c + 1] = ND_NAME_KEY,              \
                       [c + 2] = ND_NAME_KEY, [c + 3] = ND_NAME_KEY

static const u_char  nd_name_class[256] = {
    ND_NAME_W4('0'), ND_NAME_W4('4'), ['8'] = ND_NAME_KEY,
    ['9'] = ND_NAME_KEY,
    ND_NAME_W4('A'), ND_NAME_W4('E'), ND_NAME_W4('I'), ND_NAME_W4('M'),
    ND_NAME_W4('Q'), ND_NAME_W4('U'), ['Y'] = ND_NAME_KEY,
    ['Z'] = ND_NAME_KEY,
    ND_NAME_W4('a'), ND_NAME_W4('e'), ND_NAME_W4('i'), ND_NAME_W4('m'),
    ND_NAME_W4('q'), ND_NAME_W4('u'), ['y'] = ND_NAME_KEY,
    ['z'] = ND_NAME_KEY,
    ['-'] = ND_NAME_KEY, ['.'] = ND_NAME_KEY & ~ND_NAME_WORD,
    [':'] = ND_NAME_KEY & ~ND_NAME_WORD, ['_'] = ND_NAME_UNDERSCORE
};


nd_name_err_t
nd_name_check(nd_name_kind_t kind, const nd_str_t *s)
{
    size_t                 i;
    u_char                 c, allowed;
    nd_name_err_t          form;
    const nd_name_rule_t  *rule;

    rule = &nd_name_rules[kind];

    if (s->len < rule->min) {
        return ND_NAME_EMPTY;
    }

    if (s->len > rule->max) {
        return ND_NAME_LONG;
    }

    switch (rule->set) {

    case ND_NAME_SET_TEXT:
        return nd_utf8_valid(s->data, s->len, 0) ? ND_NAME_OK : ND_NAME_CHAR;

    case ND_NAME_SET_PRINTABLE:
        return nd_name_check_unicode(kind, s);

    default:
        break;
    }

    form = ND_NAME_OK;
    allowed = rule->set == ND_NAME_SET_KEY ? ND_NAME_KEY : ND_NAME_WORD;

    for (i = 0; i < s->len; i++) {
        c = nd_name_class[s->data[i]];

        if (c & allowed) {
            continue;
        }

        if (c & ND_NAME_UNDERSCORE) {
            if (rule->set == ND_NAME_SET_CLUSTER) {
                form = ND_NAME_FORM;
            }
            continue;
        }

        return ND_NAME_CHAR;
    }

    return form;
}


size_t
nd_name_max(nd_name_kind_t kind)
{
    return nd_name_rules[kind].max;
}

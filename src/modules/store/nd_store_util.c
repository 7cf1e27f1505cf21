/*
 * Store helpers without state: input validation, LIKE patterns, group
 * keys, schema files.  Unit tested in t/unit/store/.
 */
#include <nd_store_internal.h>


/* Nacos dataId / group: [A-Za-z0-9_.:-], 1..max bytes */
int
nd_store_valid_name(const nd_str_t *s, size_t max)
{
    size_t   i;
    u_char   c;

    if (s->len == 0 || s->len > max) {
        return 0;
    }

    for (i = 0; i < s->len; i++) {
        c = s->data[i];
        if (!(isalnum(c) || c == '_' || c == '-' || c == '.' || c == ':')) {
            return 0;
        }
    }

    return 1;
}


/* namespace id: [A-Za-z0-9_-], 0..128 bytes ('' is public) */
int
nd_store_valid_tenant(const nd_str_t *s)
{
    size_t   i;
    u_char   c;

    if (s->len > 128) {
        return 0;
    }

    for (i = 0; i < s->len; i++) {
        c = s->data[i];
        if (!(isalnum(c) || c == '_' || c == '-')) {
            return 0;
        }
    }

    return 1;
}


/* free text: valid UTF-8, no NUL (PostgreSQL text cannot hold it),
 * at most max bytes */
int
nd_store_valid_text(const nd_str_t *s, size_t max)
{
    size_t     i, n, k;
    uint64_t   w;
    uint32_t   cp;
    u_char     c;

    if (s->len > max) {
        return 0;
    }

    for (i = 0; i < s->len; /* void */ ) {

        /* 8 ASCII bytes, none NUL, at a time: most contents are ASCII */
        while (i + 8 <= s->len) {
            memcpy(&w, s->data + i, 8);
            if ((w & 0x8080808080808080ULL)
                || ((w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL))
            {
                break;
            }
            i += 8;
        }
        if (i == s->len) {
            break;
        }

        c = s->data[i];

        if (c < 0x80) {
            if (c == 0) {
                return 0;
            }
            i++;
            continue;
        }

        if ((c & 0xe0) == 0xc0) {
            n = 1; cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2; cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3; cp = c & 0x07;
        } else {
            return 0;
        }

        if (i + n >= s->len) {
            return 0;                   /* truncated sequence */
        }

        for (k = 1; k <= n; k++) {
            c = s->data[i + k];
            if ((c & 0xc0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (c & 0x3f);
        }

        /* overlong forms, surrogates, beyond U+10FFFF */
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800)
            || (n == 3 && cp < 0x10000) || cp > 0x10ffff
            || (cp >= 0xd800 && cp <= 0xdfff))
        {
            return 0;
        }

        i += n + 1;
    }

    return 1;
}


/* dst needs 2 * src->len bytes */
size_t
nd_store_like_pattern(u_char *dst, const nd_str_t *src, int blur)
{
    u_char  *p;
    size_t   i;
    u_char   c;

    p = dst;

    for (i = 0; i < src->len; i++) {
        c = src->data[i];

        if (c == '*' && blur) {
            *p++ = '%';
            continue;
        }

        if (c == '%' || c == '_' || c == '\\') {
            *p++ = '\\';
        }

        *p++ = c;
    }

    return p - dst;
}


static u_char *
nd_store_key_part(u_char *p, const nd_str_t *s)
{
    size_t  i;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] == '+') {
            *p++ = '%'; *p++ = '2'; *p++ = 'B';
        } else if (s->data[i] == '%') {
            *p++ = '%'; *p++ = '2'; *p++ = '5';
        } else {
            *p++ = s->data[i];
        }
    }

    return p;
}


size_t
nd_store_group_key(u_char *dst, const nd_str_t *data_id,
    const nd_str_t *group, const nd_str_t *tenant)
{
    u_char  *p;

    p = nd_store_key_part(dst, data_id);
    *p++ = '+';
    p = nd_store_key_part(p, group);

    if (tenant->len) {
        *p++ = '+';
        p = nd_store_key_part(p, tenant);
    }

    return p - dst;
}


/*
 * A schema file is SQL split in sections by lines "-- version N" (N
 * strictly increasing from 1).  Text before the first marker is a
 * comment block and must hold no SQL.
 */
int64_t
nd_store_schema_walk(const char *text, size_t len, int64_t from,
    nd_store_schema_pt cb, void *data)
{
    const char  *p, *end, *eol, *sec, *q;
    int64_t      version, v, last;
    static const char  marker[] = "-- version ";

    p = text;
    end = text + len;
    version = 0;
    last = 0;
    sec = NULL;

    for ( ;; ) {
        eol = memchr(p, '\n', end - p);
        if (eol == NULL) {
            eol = end;
        }

        if ((size_t) (eol - p) > sizeof(marker) - 1
            && memcmp(p, marker, sizeof(marker) - 1) == 0)
        {
            q = p + sizeof(marker) - 1;
            while (eol > q && (eol[-1] == '\r' || eol[-1] == ' ')) {
                eol--;
            }
            if (nd_atoi64((u_char *) q, eol - q, &v) != ND_OK
                || v != last + 1)
            {
                return -1;
            }

            if (sec && version > from && cb
                && cb(data, version, sec, p - sec) != ND_OK)
            {
                return -1;
            }

            version = v;
            last = v;
            sec = p;
            eol = memchr(p, '\n', end - p);
            if (eol == NULL) {
                eol = end;
            }

        } else if (sec == NULL) {
            /* the preamble: comments and blank lines only */
            for (q = p; q < eol && (*q == ' ' || *q == '\t' || *q == '\r');
                 q++)
            {
                /* void */
            }
            if (q < eol && !(eol - q >= 2 && q[0] == '-' && q[1] == '-')) {
                return -1;
            }
        }

        if (eol >= end) {
            break;
        }
        p = eol + 1;
    }

    if (sec && version > from && cb
        && cb(data, version, sec, end - sec) != ND_OK)
    {
        return -1;
    }

    return last;
}


char *
nd_store_read_file(const char *path, size_t *len)
{
    int          fd;
    char        *buf;
    ssize_t      n;
    struct stat  st;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return NULL;
    }

    if (fstat(fd, &st) != 0 || st.st_size > 16 * 1024 * 1024) {
        close(fd);
        return NULL;
    }

    buf = nd_alloc(st.st_size + 1);
    if (buf == NULL) {
        close(fd);
        return NULL;
    }

    n = read(fd, buf, st.st_size);
    close(fd);

    if (n != st.st_size) {
        nd_free(buf);
        return NULL;
    }

    buf[n] = '\0';
    *len = (size_t) n;

    return buf;
}


int
nd_store_op_is_write(const nd_store_op_t *op)
{
    switch (op->type) {
    case ND_STORE_CONFIG_PUBLISH:
    case ND_STORE_CONFIG_DELETE:
    case ND_STORE_GRAY_PUBLISH:
    case ND_STORE_GRAY_DELETE:
    case ND_STORE_NS_CREATE:
    case ND_STORE_NS_UPDATE:
    case ND_STORE_NS_DELETE:
    case ND_STORE_INSTANCE_UPSERT:
    case ND_STORE_INSTANCE_DELETE:
        return 1;
    default:
        return 0;
    }
}

/*
 * Store helpers without state: LIKE patterns, group
 * keys, schema files.  Unit tested in t/unit/store/.
 */
#include <nd_store_internal.h>


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
    case ND_STORE_AUTH_WRITE:
        return 1;
    default:
        return 0;
    }
}

/*
 * Configuration parser.  The whole file is read into memory, then split
 * into tokens: words, quoted strings, ';', '{', '}' and '#' comments.
 */
#include <nd_core.h>

#define ND_CONF_TOK_DIRECTIVE   0      /* args end with ';' */
#define ND_CONF_TOK_BLOCK       1      /* args end with '{' */
#define ND_CONF_TOK_BLOCK_DONE  2      /* '}' */
#define ND_CONF_TOK_EOF         3
#define ND_CONF_TOK_ERROR       4

#define ND_CONF_MAX_INCLUDE     8

typedef enum {
    nd_conf_parse_file_e = 0,
    nd_conf_parse_block_e,
    nd_conf_parse_param_e
} nd_conf_parse_type_e;

static char *nd_conf_parse(nd_conf_t *cf, nd_conf_parse_type_e type);
static char *nd_conf_include(nd_conf_t *cf);


void
nd_conf_report(nd_cycle_t *cycle, int reloading, nd_err_t err,
    const char *file, nd_uint_t line, const char *msg)
{
    if (reloading) {
        if (file) {
            nd_log_error(ND_LOG_EMERG, cycle->log, err, "%s in %s:%lu", msg,
                         file, (unsigned long) line);
        } else {
            nd_log_error(ND_LOG_EMERG, cycle->log, err, "%s in command line",
                         msg);
        }
        return;
    }

    if (file) {
        nd_log_stderr(err, "%s in %s:%lu", msg, file, (unsigned long) line);
    } else {
        nd_log_stderr(err, "%s in command line", msg);
    }
}


void
nd_conf_error(nd_conf_t *cf, nd_err_t err, const char *fmt, ...)
{
    char     msg[2048];
    va_list  args;

    va_start(args, fmt);
    vsnprintf(msg, sizeof(msg), fmt, args);
    va_end(args);

    nd_conf_report(cf->cycle, cf->reloading, err,
                   cf->file ? cf->file->path : NULL,
                   cf->file ? cf->file->line : 0, msg);
}


char *
nd_conf_full_name(nd_conf_t *cf, const nd_str_t *name, int conf_dir)
{
    char         *p, *slash;
    size_t        plen;
    const char   *base;
    nd_cycle_t   *cycle;

    cycle = cf->cycle;

    if (name->len && name->data[0] == '/') {
        return nd_pstrdupz(cf->pool, name);
    }

    if (conf_dir && cf->file && cf->file->path) {
        base = cf->file->path;
        slash = strrchr(base, '/');
        plen = slash ? (size_t) (slash - base + 1) : 0;

    } else {
        base = (const char *) cycle->prefix.data;
        plen = cycle->prefix.len;
    }

    p = nd_pnalloc(cf->pool, plen + name->len + 1);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, base, plen);
    memcpy(p + plen, name->data, name->len);
    p[plen + name->len] = '\0';

    return p;
}


static char *
nd_conf_read_file(nd_conf_t *cf, nd_conf_file_t *f)
{
    int          fd;
    u_char      *buf;
    ssize_t      n;
    struct stat  st;

    fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return "open";
    }

    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        errno = EINVAL;
        return "fstat";
    }

    buf = nd_pnalloc(cf->pool, (size_t) st.st_size + 1);
    if (buf == NULL) {
        close(fd);
        return "alloc";
    }

    n = read(fd, buf, (size_t) st.st_size);
    close(fd);

    if (n != st.st_size) {
        if (n >= 0) {
            errno = EIO;
        }
        return "read";
    }

    f->start = buf;
    f->pos = buf;
    f->end = buf + n;
    f->line = 1;

    return NULL;
}


char *
nd_conf_parse_file(nd_conf_t *cf, const nd_str_t *name)
{
    char            *rv, *what;
    nd_conf_file_t   file, *prev;

    memset(&file, 0, sizeof(file));
    file.name = *name;
    file.path = nd_conf_full_name(cf, name, cf->file != NULL);
    if (file.path == NULL) {
        return ND_CONF_ERROR;
    }

    what = nd_conf_read_file(cf, &file);
    if (what) {
        if (cf->reloading) {
            nd_log_error(ND_LOG_EMERG, cf->cycle->log, errno,
                         "%s() \"%s\" failed", what, file.path);
        } else if (cf->file && cf->file->path) {
            nd_log_stderr(errno, "%s() \"%s\" failed in %s:%lu", what,
                          file.path, cf->file->path,
                          (unsigned long) cf->file->line);
        } else {
            nd_log_stderr(errno, "%s() \"%s\" failed", what, file.path);
        }
        return ND_CONF_ERROR;
    }

    prev = cf->file;
    cf->file = &file;
    rv = nd_conf_parse(cf, nd_conf_parse_file_e);
    cf->file = prev;

    return rv;
}


char *
nd_conf_parse_param(nd_conf_t *cf, const nd_str_t *param)
{
    char            *rv;
    nd_conf_file_t   file, *prev;

    memset(&file, 0, sizeof(file));
    file.start = param->data;
    file.pos = param->data;
    file.end = param->data + param->len;
    file.line = 1;

    prev = cf->file;
    cf->file = &file;
    rv = nd_conf_parse(cf, nd_conf_parse_param_e);
    cf->file = prev;

    return rv;
}


static nd_int_t
nd_conf_push_arg(nd_conf_t *cf, u_char *start, size_t len)
{
    nd_str_t  *word;

    if (cf->args->nelts > ND_CONF_MAX_ARGS) {
        nd_conf_error(cf, 0, "too many arguments");
        return ND_ERROR;
    }

    word = nd_array_push(cf->args);
    if (word == NULL) {
        return ND_ERROR;
    }

    word->data = start;
    word->len = len;

    return ND_OK;
}


/* unquote a quoted token in place; the result stays inside the buffer */
static size_t
nd_conf_unquote(u_char *dst, const u_char *src, size_t len)
{
    u_char  *d;

    d = dst;
    while (len) {
        if (*src == '\\' && len > 1) {
            switch (src[1]) {
            case 'n': *d++ = '\n'; break;
            case 't': *d++ = '\t'; break;
            case 'r': *d++ = '\r'; break;
            default:  *d++ = src[1]; break;
            }
            src += 2;
            len -= 2;
            continue;
        }
        *d++ = *src++;
        len--;
    }

    return (size_t) (d - dst);
}


static int
nd_conf_read_token(nd_conf_t *cf)
{
    u_char          ch, quote, *start;
    size_t          len;
    nd_conf_file_t *f;

    f = cf->file;
    cf->args->nelts = 0;

    for ( ;; ) {
        if (f->pos >= f->end) {
            if (cf->args->nelts > 0) {
                nd_conf_error(cf, 0, "unexpected end of file, "
                              "expecting \";\" or \"}\"");
                return ND_CONF_TOK_ERROR;
            }
            return ND_CONF_TOK_EOF;
        }

        ch = *f->pos;

        if (ch == '\n') {
            f->line++;
            f->pos++;
            continue;
        }

        if (ch == ' ' || ch == '\t' || ch == '\r') {
            f->pos++;
            continue;
        }

        if (ch == '#') {
            while (f->pos < f->end && *f->pos != '\n') {
                f->pos++;
            }
            continue;
        }

        if (ch == ';') {
            f->pos++;
            if (cf->args->nelts == 0) {
                nd_conf_error(cf, 0, "unexpected \";\"");
                return ND_CONF_TOK_ERROR;
            }
            return ND_CONF_TOK_DIRECTIVE;
        }

        if (ch == '{') {
            f->pos++;
            if (cf->args->nelts == 0) {
                nd_conf_error(cf, 0, "unexpected \"{\"");
                return ND_CONF_TOK_ERROR;
            }
            return ND_CONF_TOK_BLOCK;
        }

        if (ch == '}') {
            if (cf->args->nelts > 0) {
                nd_conf_error(cf, 0, "unexpected \"}\"");
                return ND_CONF_TOK_ERROR;
            }
            f->pos++;
            return ND_CONF_TOK_BLOCK_DONE;
        }

        if (ch == '"' || ch == '\'') {
            quote = ch;
            start = ++f->pos;

            for ( ;; ) {
                if (f->pos >= f->end) {
                    nd_conf_error(cf, 0, "unexpected end of file, "
                                  "expecting %c", quote);
                    return ND_CONF_TOK_ERROR;
                }
                if (*f->pos == '\\' && f->pos + 1 < f->end) {
                    if (f->pos[1] == '\n') {
                        f->line++;
                    }
                    f->pos += 2;
                    continue;
                }
                if (*f->pos == '\n') {
                    f->line++;
                }
                if (*f->pos == quote) {
                    break;
                }
                f->pos++;
            }

            len = nd_conf_unquote(start, start, (size_t) (f->pos - start));
            f->pos++;

            if (f->pos < f->end && *f->pos != ' ' && *f->pos != '\t'
                && *f->pos != '\n' && *f->pos != '\r' && *f->pos != ';'
                && *f->pos != '{' && *f->pos != '}')
            {
                nd_conf_error(cf, 0, "unexpected \"%c\"", *f->pos);
                return ND_CONF_TOK_ERROR;
            }

            if (nd_conf_push_arg(cf, start, len) != ND_OK) {
                return ND_CONF_TOK_ERROR;
            }
            continue;
        }

        start = f->pos;
        while (f->pos < f->end) {
            ch = *f->pos;
            if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'
                || ch == ';' || ch == '{' || ch == '}' || ch == '#')
            {
                break;
            }
            if (ch == '"' || ch == '\'') {
                nd_conf_error(cf, 0, "unexpected \"%c\"", ch);
                return ND_CONF_TOK_ERROR;
            }
            f->pos++;
        }

        if (nd_conf_push_arg(cf, start, (size_t) (f->pos - start)) != ND_OK) {
            return ND_CONF_TOK_ERROR;
        }
    }
}


static int
nd_conf_args_ok(nd_command_t *cmd, nd_uint_t n)
{
    if (cmd->type & ND_CONF_ANY) {
        return 1;
    }
    if (cmd->type & ND_CONF_FLAG) {
        return n == 1;
    }
    if (cmd->type & ND_CONF_1MORE) {
        return n >= 1;
    }
    if (cmd->type & ND_CONF_2MORE) {
        return n >= 2;
    }
    if (n > 7) {
        return 0;
    }

    return (cmd->type & ((nd_uint_t) 1 << n)) != 0;
}


static char *
nd_conf_handler(nd_conf_t *cf, int last)
{
    char          *rv;
    void          *conf;
    nd_str_t      *name;
    nd_uint_t      i, ctx;
    nd_module_t   *m, *prev;
    nd_command_t  *cmd;
    int            found;

    name = cf->args->elts;

    if (nd_str_eq(name, "include")) {
        if (last != ND_CONF_TOK_DIRECTIVE) {
            nd_conf_error(cf, 0, "directive \"include\" is not terminated "
                          "by \";\"");
            return ND_CONF_ERROR;
        }
        if (cf->args->nelts != 2) {
            nd_conf_error(cf, 0, "invalid number of arguments in "
                          "\"include\" directive");
            return ND_CONF_ERROR;
        }
        return nd_conf_include(cf);
    }

    ctx = cf->module ? ND_BLOCK_CONF : ND_MAIN_CONF;
    found = 0;

    for (i = 0; nd_modules[i]; i++) {
        m = nd_modules[i];

        if (m->commands == NULL) {
            continue;
        }

        for (cmd = m->commands; cmd->name.len; cmd++) {
            if (!nd_str_equal(&cmd->name, name)) {
                continue;
            }

            found = 1;

            if (!(cmd->type & ctx)
                || (ctx == ND_BLOCK_CONF && m != cf->module))
            {
                continue;
            }

            /* "auth off;" and "auth { }": two rows of one name, the
             * one that fits the form is taken */
            if (((cmd->type & ND_CONF_BLOCK) != 0)
                != (last == ND_CONF_TOK_BLOCK)
                && cmd[1].name.len && nd_str_equal(&cmd[1].name, name))
            {
                continue;
            }

            if ((cmd->type & ND_CONF_BLOCK) && last != ND_CONF_TOK_BLOCK) {
                nd_conf_error(cf, 0, "directive \"%.*s\" has no opening "
                              "\"{\"", ND_STR_ARG(*name));
                return ND_CONF_ERROR;
            }

            if (!(cmd->type & ND_CONF_BLOCK) && last != ND_CONF_TOK_DIRECTIVE)
            {
                nd_conf_error(cf, 0, "directive \"%.*s\" is not terminated "
                              "by \";\"", ND_STR_ARG(*name));
                return ND_CONF_ERROR;
            }

            if (!nd_conf_args_ok(cmd, cf->args->nelts - 1)) {
                nd_conf_error(cf, 0, "invalid number of arguments in "
                              "\"%.*s\" directive", ND_STR_ARG(*name));
                return ND_CONF_ERROR;
            }

            conf = cf->conf_ctx[m->index];

            prev = cf->cmd_module;
            cf->cmd_module = m;
            rv = cmd->set(cf, cmd, conf);
            cf->cmd_module = prev;

            if (rv == ND_CONF_OK) {
                cf->directives++;
                return ND_CONF_OK;
            }

            if (rv == ND_CONF_ERROR) {
                return ND_CONF_ERROR;
            }

            nd_conf_error(cf, 0, "\"%.*s\" directive %s", ND_STR_ARG(*name),
                          rv);
            return ND_CONF_ERROR;
        }
    }

    if (found) {
        nd_conf_error(cf, 0, "\"%.*s\" directive is not allowed here",
                      ND_STR_ARG(*name));
    } else {
        nd_conf_error(cf, 0, "unknown directive \"%.*s\"", ND_STR_ARG(*name));
    }

    return ND_CONF_ERROR;
}


static char *
nd_conf_parse(nd_conf_t *cf, nd_conf_parse_type_e type)
{
    int   rc;

    for ( ;; ) {
        rc = nd_conf_read_token(cf);

        switch (rc) {

        case ND_CONF_TOK_ERROR:
            return ND_CONF_ERROR;

        case ND_CONF_TOK_EOF:
            if (type == nd_conf_parse_block_e) {
                nd_conf_error(cf, 0, "unexpected end of file, "
                              "expecting \"}\"");
                return ND_CONF_ERROR;
            }
            return ND_CONF_OK;

        case ND_CONF_TOK_BLOCK_DONE:
            if (type != nd_conf_parse_block_e) {
                nd_conf_error(cf, 0, "unexpected \"}\"");
                return ND_CONF_ERROR;
            }
            return ND_CONF_OK;

        default:
            if (nd_conf_handler(cf, rc) != ND_CONF_OK) {
                return ND_CONF_ERROR;
            }
        }
    }
}


static char *
nd_conf_include(nd_conf_t *cf)
{
    char      *rv;
    nd_str_t  *value, name;

    if (cf->depth >= ND_CONF_MAX_INCLUDE) {
        nd_conf_error(cf, 0, "too many nested includes");
        return ND_CONF_ERROR;
    }

    value = cf->args->elts;
    name = value[1];

    cf->depth++;
    rv = nd_conf_parse_file(cf, &name);
    cf->depth--;

    return rv;
}


char *
nd_conf_module_block(nd_conf_t *cf, nd_command_t *cmd, void *conf)
{
    char         *rv;
    nd_module_t  *m, *prev;

    m = cf->cmd_module;

    if (m->index < 64 && (cf->blocks_seen & ((uint64_t) 1 << m->index))) {
        return "is duplicate";
    }
    cf->blocks_seen |= (uint64_t) 1 << m->index;

    prev = cf->module;
    cf->module = m;
    rv = nd_conf_parse(cf, nd_conf_parse_block_e);
    cf->module = prev;

    return rv;
}


/* generic setters */

#define nd_conf_arg1(cf)  (&((nd_str_t *) (cf)->args->elts)[1])


char *
nd_conf_set_flag_slot(nd_conf_t *cf, nd_command_t *cmd, void *conf)
{
    nd_flag_t  *fp;
    nd_str_t   *v;

    fp = (nd_flag_t *) ((u_char *) conf + cmd->offset);
    if (*fp != ND_CONF_UNSET) {
        return "is duplicate";
    }

    v = nd_conf_arg1(cf);
    if (nd_str_eq(v, "on")) {
        *fp = 1;
    } else if (nd_str_eq(v, "off")) {
        *fp = 0;
    } else {
        nd_conf_error(cf, 0, "invalid value \"%.*s\" in \"%.*s\" directive, "
                      "it must be \"on\" or \"off\"", ND_STR_ARG(*v),
                      ND_STR_ARG(cmd->name));
        return ND_CONF_ERROR;
    }

    return ND_CONF_OK;
}


char *
nd_conf_set_str_slot(nd_conf_t *cf, nd_command_t *cmd, void *conf)
{
    nd_str_t  *field;

    field = (nd_str_t *) ((u_char *) conf + cmd->offset);
    if (field->data) {
        return "is duplicate";
    }

    *field = *nd_conf_arg1(cf);
    field->data = nd_pstrdup(cf->pool, field);

    return field->data ? ND_CONF_OK : ND_CONF_ERROR;
}


char *
nd_conf_set_secret_file_slot(nd_conf_t *cf, nd_command_t *cmd, void *conf)
{
    int        fd;
    char      *path;
    u_char     buf[4096];
    size_t    *min;
    ssize_t    n;
    nd_str_t  *field;

    field = (nd_str_t *) ((u_char *) conf + cmd->offset);
    if (field->data) {
        return "is duplicate";
    }

    path = nd_conf_full_name(cf, nd_conf_arg1(cf), 0);
    if (path == NULL) {
        return ND_CONF_ERROR;
    }

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        nd_conf_error(cf, errno, "cannot open \"%s\"", path);
        return ND_CONF_ERROR;
    }

    n = read(fd, buf, sizeof(buf));
    close(fd);

    if (n < 0 || n == (ssize_t) sizeof(buf)) {
        nd_conf_error(cf, n < 0 ? errno : 0, "cannot read \"%s\" (or it is "
                      "4 KB or more)", path);
        return ND_CONF_ERROR;
    }

    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        n--;
    }

    min = cmd->post;
    if (n == 0 || (min && (size_t) n < *min)) {
        explicit_bzero(buf, sizeof(buf));
        nd_conf_error(cf, 0, "\"%.*s\" directive: \"%s\" holds %zd bytes, "
                      "at least %zu are needed", ND_STR_ARG(cmd->name), path,
                      n, min ? *min : (size_t) 1);
        return ND_CONF_ERROR;
    }

    field->data = nd_pnalloc(cf->pool, n + 1);
    if (field->data == NULL) {
        return ND_CONF_ERROR;
    }
    memcpy(field->data, buf, n);
    field->data[n] = '\0';
    field->len = (size_t) n;
    explicit_bzero(buf, sizeof(buf));

    return ND_CONF_OK;
}


static char *
nd_conf_invalid(nd_conf_t *cf, nd_command_t *cmd)
{
    nd_str_t  *v;

    v = nd_conf_arg1(cf);
    nd_conf_error(cf, 0, "\"%.*s\" directive invalid value \"%.*s\"",
                  ND_STR_ARG(cmd->name), ND_STR_ARG(*v));

    return ND_CONF_ERROR;
}


char *
nd_conf_set_num_slot(nd_conf_t *cf, nd_command_t *cmd, void *conf)
{
    int64_t            v;
    nd_int_t          *np;
    nd_conf_bounds_t  *b;

    np = (nd_int_t *) ((u_char *) conf + cmd->offset);
    if (*np != ND_CONF_UNSET) {
        return "is duplicate";
    }

    if (nd_atoi64(nd_conf_arg1(cf)->data, nd_conf_arg1(cf)->len, &v)
        != ND_OK)
    {
        return nd_conf_invalid(cf, cmd);
    }

    b = cmd->post;
    if (b && (v < b->min || v > b->max)) {
        nd_conf_error(cf, 0, "\"%.*s\" directive value must be between %lld "
                      "and %lld", ND_STR_ARG(cmd->name), (long long) b->min,
                      (long long) b->max);
        return ND_CONF_ERROR;
    }

    *np = (nd_int_t) v;
    return ND_CONF_OK;
}


char *
nd_conf_set_size_slot(nd_conf_t *cf, nd_command_t *cmd, void *conf)
{
    size_t  *sp;

    sp = (size_t *) ((u_char *) conf + cmd->offset);
    if (*sp != ND_CONF_UNSET_SIZE) {
        return "is duplicate";
    }

    if (nd_parse_size(nd_conf_arg1(cf), sp) != ND_OK) {
        *sp = ND_CONF_UNSET_SIZE;
        return nd_conf_invalid(cf, cmd);
    }

    return ND_CONF_OK;
}


char *
nd_conf_set_msec_slot(nd_conf_t *cf, nd_command_t *cmd, void *conf)
{
    nd_msec_t  *mp;

    mp = (nd_msec_t *) ((u_char *) conf + cmd->offset);
    if (*mp != ND_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    if (nd_parse_time(nd_conf_arg1(cf), mp) != ND_OK) {
        *mp = ND_CONF_UNSET_MSEC;
        return nd_conf_invalid(cf, cmd);
    }

    return ND_CONF_OK;
}


char *
nd_conf_set_enum_slot(nd_conf_t *cf, nd_command_t *cmd, void *conf)
{
    nd_uint_t       *up;
    nd_str_t        *v;
    nd_conf_enum_t  *e;

    up = (nd_uint_t *) ((u_char *) conf + cmd->offset);
    if (*up != ND_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    v = nd_conf_arg1(cf);

    for (e = cmd->post; e->name.len; e++) {
        if (nd_str_equal(&e->name, v)) {
            *up = e->value;
            return ND_CONF_OK;
        }
    }

    return nd_conf_invalid(cf, cmd);
}


char *
nd_conf_set_addr_slot(nd_conf_t *cf, nd_command_t *cmd, void *conf)
{
    nd_addr_t  **ap;

    ap = (nd_addr_t **) ((u_char *) conf + cmd->offset);
    if (*ap != ND_CONF_UNSET_PTR && *ap != NULL) {
        return "is duplicate";
    }

    *ap = nd_pcalloc(cf->pool, sizeof(nd_addr_t));
    if (*ap == NULL) {
        return ND_CONF_ERROR;
    }

    if (nd_parse_addr(nd_conf_arg1(cf), *ap) != ND_OK) {
        return nd_conf_invalid(cf, cmd);
    }

    return ND_CONF_OK;
}


char *
nd_conf_set_str_array_slot(nd_conf_t *cf, nd_command_t *cmd, void *conf)
{
    nd_str_t     *s;
    nd_array_t  **ap;

    ap = (nd_array_t **) ((u_char *) conf + cmd->offset);

    if (*ap == ND_CONF_UNSET_PTR || *ap == NULL) {
        *ap = nd_array_create(cf->pool, 4, sizeof(nd_str_t));
        if (*ap == NULL) {
            return ND_CONF_ERROR;
        }
    }

    s = nd_array_push(*ap);
    if (s == NULL) {
        return ND_CONF_ERROR;
    }

    *s = *nd_conf_arg1(cf);
    s->data = nd_pstrdup(cf->pool, s);

    return s->data ? ND_CONF_OK : ND_CONF_ERROR;
}

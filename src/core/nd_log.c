/*
 * Error log.
 */
#include <nd_core.h>

static const char  *nd_log_levels[] = {
    "", "emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"
};

static nd_log_file_t  nd_stderr_file = { STDERR_FILENO, NULL, NULL, NULL };
static nd_log_t       nd_stderr_log = { ND_LOG_NOTICE, &nd_stderr_file, 0,
                                        NULL, NULL, NULL };


nd_log_t *
nd_log_default(void)
{
    return &nd_stderr_log;
}


int
nd_log_level_parse(const char *name, size_t len)
{
    nd_uint_t  i;

    for (i = 1; i < nd_nelts(nd_log_levels); i++) {
        if (strlen(nd_log_levels[i]) == len
            && strncmp(nd_log_levels[i], name, len) == 0)
        {
            return (int) i;
        }
    }

    return -1;
}


const char *
nd_log_level_name(nd_uint_t level)
{
    return level < nd_nelts(nd_log_levels) ? nd_log_levels[level] : "?";
}


static void
nd_log_write(int fd, const char *buf, size_t len)
{
    ssize_t  n;

    while (len) {
        n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return;
        }
        buf += n;
        len -= (size_t) n;
    }
}


/* bounded append: the line is cut, never overflowed */
static void __attribute__((format(printf, 4, 0)))
nd_log_vappend(char *buf, size_t *len, size_t max, const char *fmt,
    va_list args)
{
    int  n;

    if (*len >= max) {
        return;
    }

    n = vsnprintf(buf + *len, max - *len, fmt, args);
    if (n > 0) {
        *len += (size_t) n < max - *len ? (size_t) n : max - *len - 1;
    }
}


static void __attribute__((format(printf, 4, 5)))
nd_log_append(char *buf, size_t *len, size_t max, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    nd_log_vappend(buf, len, max, fmt, args);
    va_end(args);
}


void
nd_log_error_core(nd_uint_t level, nd_log_t *log, nd_err_t err,
    const char *fmt, ...)
{
    char     buf[4096];
    size_t   len, max;
    va_list  args;

    max = sizeof(buf) - 1;                       /* room for '\n' */
    len = 0;

    if (nd_cached_log_time[0] == '\0') {
        nd_time_update();
    }

    nd_log_append(buf, &len, max, "%s [%s] %d#0: ", nd_cached_log_time,
                  nd_log_level_name(level), (int) getpid());

    if (log->connection) {
        nd_log_append(buf, &len, max, "*%lu ",
                      (unsigned long) log->connection);
    }

    va_start(args, fmt);
    nd_log_vappend(buf, &len, max, fmt, args);
    va_end(args);

    if (err) {
        nd_log_append(buf, &len, max, " (%d: %s)", err, strerror(err));
    }

    if (log->action) {
        nd_log_append(buf, &len, max, " %s", log->action);
    }

    if (log->handler && len < max) {
        len += log->handler(log, buf + len, max - len);
    }

    buf[len++] = '\n';

    nd_log_write(log->file->fd, buf, len);

    if (level <= ND_LOG_EMERG && log->file->fd != STDERR_FILENO) {
        nd_log_write(STDERR_FILENO, buf, len);
    }
}


void
nd_log_stderr(nd_err_t err, const char *fmt, ...)
{
    char     buf[4096];
    size_t   len, max;
    va_list  args;

    max = sizeof(buf) - 1;
    len = 0;

    nd_log_append(buf, &len, max, "nacosd: [emerg] ");

    va_start(args, fmt);
    nd_log_vappend(buf, &len, max, fmt, args);
    va_end(args);

    if (err) {
        nd_log_append(buf, &len, max, " (%d: %s)", err, strerror(err));
    }

    buf[len++] = '\n';
    nd_log_write(STDERR_FILENO, buf, len);
}


/* the directory a file is written in, made when missing (one level: a
 * fresh prefix has no logs/), as "make run" used to do by hand */
nd_int_t
nd_create_parent_dir(const char *path)
{
    int     rc;
    char   *dir, *slash;

    dir = strdup(path);
    if (dir == NULL) {
        return ND_ERROR;
    }

    slash = strrchr(dir, '/');
    rc = ND_OK;

    if (slash && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
            rc = ND_ERROR;
        }
    }

    free(dir);

    return rc;
}


nd_int_t
nd_log_file_open(nd_log_file_t *file, const char *path)
{
    int  fd;

    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 && errno == ENOENT && nd_create_parent_dir(path) == ND_OK) {
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    }
    if (fd < 0) {
        return ND_ERROR;
    }

    file->fd = fd;
    return ND_OK;
}


nd_int_t
nd_log_file_reopen(nd_log_file_t *file)
{
    int  fd;

    if (file->path == NULL) {
        return ND_OK;
    }

    if (file->flush) {
        file->flush(file);
    }

    fd = open(file->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        return ND_ERROR;
    }

    if (file->fd > STDERR_FILENO) {
        close(file->fd);
    }
    file->fd = fd;

    return ND_OK;
}

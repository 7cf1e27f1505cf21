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


void
nd_log_error_core(nd_uint_t level, nd_log_t *log, nd_err_t err,
    const char *fmt, ...)
{
    int      n;
    char     buf[4096];
    size_t   len, max;
    va_list  args;

    max = sizeof(buf) - 1;                       /* room for '\n' */

    if (nd_cached_log_time[0] == '\0') {
        nd_time_update();
    }

    n = snprintf(buf, max, "%s [%s] %d#0: ", nd_cached_log_time,
                 nd_log_level_name(level), (int) getpid());
    len = (size_t) n;

    if (log->connection) {
        n = snprintf(buf + len, max - len, "*%lu ",
                     (unsigned long) log->connection);
        len += (size_t) n < max - len ? (size_t) n : max - len;
    }

    va_start(args, fmt);
    n = vsnprintf(buf + len, max - len, fmt, args);
    va_end(args);
    if (n > 0) {
        len += (size_t) n < max - len ? (size_t) n : max - len - 1;
    }

    if (err && len < max) {
        n = snprintf(buf + len, max - len, " (%d: %s)", err, strerror(err));
        if (n > 0) {
            len += (size_t) n < max - len ? (size_t) n : max - len - 1;
        }
    }

    if (log->action && len < max) {
        n = snprintf(buf + len, max - len, " %s", log->action);
        if (n > 0) {
            len += (size_t) n < max - len ? (size_t) n : max - len - 1;
        }
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
    int      n;
    char     buf[4096];
    size_t   len, max;
    va_list  args;

    max = sizeof(buf) - 1;
    len = (size_t) snprintf(buf, max, "nacosd: [emerg] ");

    va_start(args, fmt);
    n = vsnprintf(buf + len, max - len, fmt, args);
    va_end(args);
    if (n > 0) {
        len += (size_t) n < max - len ? (size_t) n : max - len - 1;
    }

    if (err && len < max) {
        n = snprintf(buf + len, max - len, " (%d: %s)", err, strerror(err));
        if (n > 0) {
            len += (size_t) n < max - len ? (size_t) n : max - len - 1;
        }
    }

    buf[len++] = '\n';
    nd_log_write(STDERR_FILENO, buf, len);
}


int
nd_log_file_open(nd_log_file_t *file, const char *path)
{
    int  fd;

    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        return ND_ERROR;
    }

    file->fd = fd;
    return ND_OK;
}


int
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

/*
 * Error log: levels, per-connection context, reopen on signal.
 */
#ifndef ND_LOG_H
#define ND_LOG_H

#include <nd_config.h>

#define ND_LOG_STDERR   0
#define ND_LOG_EMERG    1
#define ND_LOG_ALERT    2
#define ND_LOG_CRIT     3
#define ND_LOG_ERR      4
#define ND_LOG_WARN     5
#define ND_LOG_NOTICE   6
#define ND_LOG_INFO     7
#define ND_LOG_DEBUG    8

typedef struct nd_log_file_s  nd_log_file_t;

typedef struct nd_log_s       nd_log_t;

/* appends ", client: 1.2.3.4" style context; returns bytes written */
typedef size_t (*nd_log_handler_pt)(nd_log_t *log, char *buf, size_t len);

struct nd_log_file_s {
    int              fd;
    char            *path;          /* NULL for stderr */
    /* writes what is buffered for this file; run before a reopen */
    void           (*flush)(nd_log_file_t *file);
    void            *data;
};

struct nd_log_s {
    nd_uint_t           level;
    nd_log_file_t      *file;
    nd_uint_t           connection; /* "*N" prefix when non-zero */
    const char         *action;     /* "while reading request" */
    nd_log_handler_pt   handler;
    void               *data;
};

#define nd_log_error(lvl, lg, err, ...)                                       \
    do {                                                                      \
        if ((lg)->level >= (nd_uint_t) (lvl)) {                               \
            nd_log_error_core(lvl, lg, err, __VA_ARGS__);                     \
        }                                                                     \
    } while (0)

#ifdef ND_DEBUG
#define nd_log_debug(log, ...)                                                \
    nd_log_error(ND_LOG_DEBUG, log, 0, __VA_ARGS__)
#else
#define nd_log_debug(log, ...)
#endif

void nd_log_error_core(nd_uint_t level, nd_log_t *log, nd_err_t err,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* "nacosd: [emerg] ..." on stderr: start-up and command line errors */
void nd_log_stderr(nd_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

nd_log_t *nd_log_default(void);               /* stderr, level notice */
int nd_log_level_parse(const char *name, size_t len);
const char *nd_log_level_name(nd_uint_t level);
/* open (append) a log file; path must be absolute or prefix-resolved */
/* makes the directory of path when it is missing (one level) */
nd_int_t nd_create_parent_dir(const char *path);
nd_int_t nd_log_file_open(nd_log_file_t *file, const char *path);
nd_int_t nd_log_file_reopen(nd_log_file_t *file);

#define nd_assert(log, cond)                                                  \
    do {                                                                      \
        if (!(cond)) {                                                        \
            nd_log_error(ND_LOG_ALERT, log, 0, "assertion failed: %s at %s:%d",\
                         #cond, __FILE__, __LINE__);                          \
            nd_assert_abort();                                                \
        }                                                                     \
    } while (0)

#ifdef ND_DEBUG
#define nd_assert_abort()  abort()
#else
#define nd_assert_abort()
#endif

#endif /* ND_LOG_H */

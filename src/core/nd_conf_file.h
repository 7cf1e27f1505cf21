/*
 * Configuration files: nginx grammar, directive tables, generic setters.
 */
#ifndef ND_CONF_FILE_H
#define ND_CONF_FILE_H

#include <nd_config.h>

/* argument counts: bit n set = n arguments accepted */
#define ND_CONF_NOARGS      0x00000001
#define ND_CONF_TAKE1       0x00000002
#define ND_CONF_TAKE2       0x00000004
#define ND_CONF_TAKE3       0x00000008
#define ND_CONF_TAKE4       0x00000010
#define ND_CONF_TAKE12      (ND_CONF_TAKE1 | ND_CONF_TAKE2)
#define ND_CONF_TAKE123     (ND_CONF_TAKE12 | ND_CONF_TAKE3)
#define ND_CONF_ARGS_MASK   0x000000ff
#define ND_CONF_BLOCK       0x00000100
#define ND_CONF_FLAG        0x00000200
#define ND_CONF_ANY         0x00000400
#define ND_CONF_1MORE       0x00000800
#define ND_CONF_2MORE       0x00001000

/* contexts */
#define ND_MAIN_CONF        0x01000000
#define ND_BLOCK_CONF       0x02000000

#define ND_CONF_OK          NULL
#define ND_CONF_ERROR       ((char *) -1)

#define ND_CONF_UNSET       -1
#define ND_CONF_UNSET_UINT  ((nd_uint_t) -1)
#define ND_CONF_UNSET_SIZE  ((size_t) -1)
#define ND_CONF_UNSET_MSEC  ((nd_msec_t) -1)
#define ND_CONF_UNSET_PTR   ((void *) -1)

#define ND_CONF_MAX_ARGS    8

struct nd_command_s {
    nd_str_t     name;
    nd_uint_t    type;
    char      *(*set)(nd_conf_t *cf, nd_command_t *cmd, void *conf);
    nd_uint_t    offset;
    void        *post;
};

#define nd_null_command  { nd_null_string, 0, NULL, 0, NULL }

typedef struct {
    nd_str_t     name;          /* path as written in the conf */
    char        *path;          /* resolved, for messages */
    u_char      *start, *pos, *end;
    nd_uint_t    line;
} nd_conf_file_t;

struct nd_conf_s {
    nd_cycle_t      *cycle;
    nd_pool_t       *pool;          /* where conf structures live */
    void           **conf_ctx;      /* conf of every module being built */
    nd_array_t      *args;          /* nd_str_t; args[0] is the name */
    nd_conf_file_t  *file;
    nd_module_t     *module;        /* owner of the block being parsed */
    nd_module_t     *cmd_module;    /* owner of the directive being run */
    uint64_t         blocks_seen;   /* module blocks already parsed */
    nd_uint_t        depth;         /* include depth */
    nd_uint_t        directives;    /* directives applied */
    unsigned         reloading:1;   /* errors go to the error log */
};

typedef struct {
    nd_str_t     name;
    nd_uint_t    value;
} nd_conf_enum_t;

typedef struct {
    int64_t      min;
    int64_t      max;
} nd_conf_bounds_t;

char *nd_conf_parse_file(nd_conf_t *cf, const nd_str_t *name);
char *nd_conf_parse_param(nd_conf_t *cf, const nd_str_t *param);
void nd_conf_error(nd_conf_t *cf, nd_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* msg "in file:line" (file NULL: the command line), to stderr at start,
 * to the error log on a reload: for errors found after parsing */
void nd_conf_report(nd_cycle_t *cycle, int reloading, nd_err_t err,
    const char *file, nd_uint_t line, const char *msg);

/* resolve a relative path against the prefix (or the conf dir when
 * conf_dir); returns a NUL-terminated pool string */
char *nd_conf_full_name(nd_conf_t *cf, const nd_str_t *name, int conf_dir);

/* the module-block directive: `http { ... }` */
char *nd_conf_module_block(nd_conf_t *cf, nd_command_t *cmd, void *conf);

char *nd_conf_set_flag_slot(nd_conf_t *cf, nd_command_t *cmd, void *conf);
char *nd_conf_set_str_slot(nd_conf_t *cf, nd_command_t *cmd, void *conf);
char *nd_conf_set_num_slot(nd_conf_t *cf, nd_command_t *cmd, void *conf);
char *nd_conf_set_size_slot(nd_conf_t *cf, nd_command_t *cmd, void *conf);
char *nd_conf_set_msec_slot(nd_conf_t *cf, nd_command_t *cmd, void *conf);
char *nd_conf_set_enum_slot(nd_conf_t *cf, nd_command_t *cmd, void *conf);
char *nd_conf_set_addr_slot(nd_conf_t *cf, nd_command_t *cmd, void *conf);
/* a secret kept in a file (path relative to the prefix): its contents,
 * at most 4 KB, the trailing newline dropped, into an nd_str_t; post: a
 * size_t minimum length (or NULL) */
char *nd_conf_set_secret_file_slot(nd_conf_t *cf, nd_command_t *cmd,
    void *conf);
char *nd_conf_set_str_array_slot(nd_conf_t *cf, nd_command_t *cmd,
    void *conf);

#define nd_conf_init_value(conf, dflt)                                        \
    if (conf == ND_CONF_UNSET) { conf = dflt; }
#define nd_conf_init_uint_value(conf, dflt)                                   \
    if (conf == ND_CONF_UNSET_UINT) { conf = dflt; }
#define nd_conf_init_size_value(conf, dflt)                                   \
    if (conf == ND_CONF_UNSET_SIZE) { conf = dflt; }
#define nd_conf_init_msec_value(conf, dflt)                                   \
    if (conf == ND_CONF_UNSET_MSEC) { conf = dflt; }
#define nd_conf_init_str_value(conf, dflt)                                    \
    if ((conf).data == NULL) { nd_str_set(&(conf), dflt); }

#endif /* ND_CONF_FILE_H */

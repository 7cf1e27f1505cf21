/*
 * Modules: compiled in, listed in objs/nd_modules.c in init order.
 */
#ifndef ND_MODULE_H
#define ND_MODULE_H

#include <nd_config.h>

struct nd_module_s {
    const char      *name;          /* "naming"; same word as --without-naming */
    nd_uint_t        index;         /* slot in cycle->conf_ctx[], set at start */
    nd_command_t    *commands;      /* directive table or NULL */
    void          *(*create_conf)(nd_cycle_t *cycle);
    char          *(*init_conf)(nd_cycle_t *cycle, void *conf);
    nd_int_t       (*init_module)(nd_cycle_t *cycle); /* register, no I/O */
    nd_int_t       (*start)(nd_cycle_t *cycle);       /* loop runs */
    void           (*stop)(nd_cycle_t *cycle);        /* graceful */
    void           (*exit)(nd_cycle_t *cycle);        /* free non-pool */
    /* SIGHUP: take the reloadable settings from a freshly parsed conf */
    void           (*reload)(nd_cycle_t *cycle, void *new_conf);
};

extern nd_module_t  *nd_modules[];
extern const char   *nd_module_names[];

#define nd_get_conf(cycle, module)  ((cycle)->conf_ctx[(module).index])

/* readiness: a module that is not ready at start calls nd_module_pending()
 * in init_module and nd_module_ready() once it is */
void nd_module_pending(nd_cycle_t *cycle, nd_module_t *m);
void nd_module_ready(nd_cycle_t *cycle, nd_module_t *m);
int nd_modules_ready(nd_cycle_t *cycle);

#endif /* ND_MODULE_H */

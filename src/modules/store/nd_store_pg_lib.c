/*
 * The pg backend's libpq: opened with dlopen() when the conf says
 * "backend pg", every call through nd_pq; and the conf's checks that
 * need it (pg_conninfo).
 */
#include <nd_store_pg.h>
#include <dlfcn.h>

#define nd_store_pq_sym(name)  { #name, offsetof(nd_store_pq_t, name) }

static const struct {
    const char          *name;
    size_t               offset;
} nd_store_pq_syms[] = {
    nd_store_pq_sym(PQlibVersion),
    nd_store_pq_sym(PQconninfoParse),
    nd_store_pq_sym(PQconninfoFree),
    nd_store_pq_sym(PQfreemem),
    nd_store_pq_sym(PQconnectStartParams),
    nd_store_pq_sym(PQconnectPoll),
    nd_store_pq_sym(PQstatus),
    nd_store_pq_sym(PQsocket),
    nd_store_pq_sym(PQerrorMessage),
    nd_store_pq_sym(PQsetnonblocking),
    nd_store_pq_sym(PQsetNoticeProcessor),
    nd_store_pq_sym(PQenterPipelineMode),
    nd_store_pq_sym(PQpipelineSync),
    nd_store_pq_sym(PQsendQuery),
    nd_store_pq_sym(PQsendPrepare),
    nd_store_pq_sym(PQsendQueryPrepared),
    nd_store_pq_sym(PQflush),
    nd_store_pq_sym(PQconsumeInput),
    nd_store_pq_sym(PQisBusy),
    nd_store_pq_sym(PQgetResult),
    nd_store_pq_sym(PQresultStatus),
    nd_store_pq_sym(PQresultErrorMessage),
    nd_store_pq_sym(PQntuples),
    nd_store_pq_sym(PQnfields),
    nd_store_pq_sym(PQgetisnull),
    nd_store_pq_sym(PQgetvalue),
    nd_store_pq_sym(PQgetlength),
    nd_store_pq_sym(PQclear),
    nd_store_pq_sym(PQfinish),
};

/* every member but the handle has its row above */
_Static_assert(sizeof(nd_store_pq_t)
               == (nd_nelts(nd_store_pq_syms) + 1) * sizeof(void *),
               "nd_store_pq_syms[] must list every nd_store_pq_t member");

nd_store_pq_t  nd_pq;


/*
 * "backend pg": open libpq and fill nd_pq, or say why not (a conf error:
 * nacosd does not start).  Once per process; a reload that still says
 * "backend pg" keeps the library already open.
 */
char *
nd_store_pg_load(nd_pool_t *pool, const char *library)
{
    char           *msg;
    void           *handle, *sym;
    size_t          len;
    nd_uint_t       i;
    const char     *err;
    nd_store_pq_t   pq;

    if (nd_pq.handle) {
        return ND_CONF_OK;
    }

    handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        err = dlerror();
        len = sizeof("\"backend pg\" cannot load libpq (\"\"): ; "
                     "install the libpq5 package")
              + strlen(library) + (err ? strlen(err) : 0);
        msg = nd_pnalloc(pool, len);
        if (msg == NULL) {
            return ND_CONF_ERROR;
        }
        snprintf(msg, len, "\"backend pg\" cannot load libpq (\"%s\"): %s; "
                 "install the libpq5 package", library, err ? err : "");
        return msg;
    }

    memset(&pq, 0, sizeof(pq));
    pq.handle = handle;

    for (i = 0; i < nd_nelts(nd_store_pq_syms); i++) {
        (void) dlerror();
        sym = dlsym(handle, nd_store_pq_syms[i].name);
        if (sym == NULL) {
            len = sizeof("\"backend pg\": \"\" has no ; libpq 14 or later "
                         "is needed (the libpq5 package)")
                  + strlen(library) + strlen(nd_store_pq_syms[i].name);
            msg = nd_pnalloc(pool, len);
            if (msg) {
                snprintf(msg, len, "\"backend pg\": \"%s\" has no %s; "
                         "libpq 14 or later is needed (the libpq5 package)",
                         library, nd_store_pq_syms[i].name);
            }
            dlclose(handle);
            return msg ? msg : ND_CONF_ERROR;
        }
        /* POSIX: a function pointer has the representation of void * */
        memcpy((u_char *) &pq + nd_store_pq_syms[i].offset, &sym,
               sizeof(sym));
    }

    nd_pq = pq;

    return ND_CONF_OK;
}


/* which libpq was loaded, for the error log */
void
nd_store_pg_log_library(nd_log_t *log)
{
    int       v;
    Dl_info   info;

    if (nd_pq.handle == NULL) {
        return;
    }

    v = nd_pq.PQlibVersion();

    if (dladdr((void *) nd_pq.PQlibVersion, &info) == 0
        || info.dli_fname == NULL)
    {
        info.dli_fname = "?";
    }

    nd_log_error(ND_LOG_INFO, log, 0, "pg: libpq %d.%d from \"%s\"",
                 v / 10000, v % 10000, info.dli_fname);
}


/* pg_conninfo is checked at start-up: no password, no name lookups */
char *
nd_store_pg_check_conninfo(nd_pool_t *pool, const nd_str_t *conninfo)
{
    char               *z, *err, *msg;
    int                 host, hostaddr, password;
    PQconninfoOption   *opts, *o;

    z = nd_pstrdupz(pool, conninfo);
    if (z == NULL) {
        return ND_CONF_ERROR;
    }

    err = NULL;
    opts = nd_pq.PQconninfoParse(z, &err);
    if (opts == NULL) {
        msg = "\"pg_conninfo\" is not a valid libpq connection string";
        if (err) {
            nd_pq.PQfreemem(err);
        }
        return msg;
    }

    host = 0;
    hostaddr = 0;
    password = 0;

    for (o = opts; o->keyword; o++) {
        if (o->val == NULL || o->val[0] == '\0') {
            continue;
        }
        if (strcmp(o->keyword, "password") == 0) {
            password = 1;
        } else if (strcmp(o->keyword, "hostaddr") == 0) {
            hostaddr = 1;
        } else if (strcmp(o->keyword, "host") == 0 && o->val[0] != '/') {
            host = 1;
        }
    }

    nd_pq.PQconninfoFree(opts);

    if (password) {
        return "\"pg_conninfo\" must not hold a password: use libpq's "
               "passfile (PGPASSFILE or passfile=)";
    }

    if (host && !hostaddr) {
        return "\"pg_conninfo\" needs hostaddr= (a host= name lookup "
               "would block the event loop)";
    }

    return ND_CONF_OK;
}

/*
 * The pg backend's own interface: libpq as loaded at run time
 * (nd_store_pg_lib.c) and the statements prepared on each connection
 * (nd_store_pg_sql.c), for nd_store_pg.c.
 */
#ifndef ND_STORE_PG_H
#define ND_STORE_PG_H

#include <nd_store_internal.h>
#include <libpq-fe.h>

/*
 * libpq is not linked: nd_store_pg_load() opens it when the conf says
 * "backend pg", so a SQLite node never maps it, nor what it pulls in
 * (gnutls, krb5, ldap, ...).  Every libpq call of the backend goes through
 * nd_pq; libpq-fe.h still types each member, so the compiler checks the
 * calls, and a direct PQ call left behind fails at link time.
 *
 * Process-wide like the library itself: filled once, at conf time,
 * before the loop runs; read-only afterwards.
 */
typedef struct {
    void                                  *handle;
    __typeof__(PQlibVersion)              *PQlibVersion;
    __typeof__(PQconninfoParse)           *PQconninfoParse;
    __typeof__(PQconninfoFree)            *PQconninfoFree;
    __typeof__(PQfreemem)                 *PQfreemem;
    __typeof__(PQconnectStartParams)      *PQconnectStartParams;
    __typeof__(PQconnectPoll)             *PQconnectPoll;
    __typeof__(PQstatus)                  *PQstatus;
    __typeof__(PQsocket)                  *PQsocket;
    __typeof__(PQerrorMessage)            *PQerrorMessage;
    __typeof__(PQsetnonblocking)          *PQsetnonblocking;
    __typeof__(PQsetNoticeProcessor)      *PQsetNoticeProcessor;
    __typeof__(PQenterPipelineMode)       *PQenterPipelineMode;
    __typeof__(PQpipelineSync)            *PQpipelineSync;
    __typeof__(PQsendQuery)               *PQsendQuery;
    __typeof__(PQsendPrepare)             *PQsendPrepare;
    __typeof__(PQsendQueryPrepared)       *PQsendQueryPrepared;
    __typeof__(PQflush)                   *PQflush;
    __typeof__(PQconsumeInput)            *PQconsumeInput;
    __typeof__(PQisBusy)                  *PQisBusy;
    __typeof__(PQgetResult)               *PQgetResult;
    __typeof__(PQresultStatus)            *PQresultStatus;
    __typeof__(PQresultErrorMessage)      *PQresultErrorMessage;
    __typeof__(PQntuples)                 *PQntuples;
    __typeof__(PQnfields)                 *PQnfields;
    __typeof__(PQgetisnull)               *PQgetisnull;
    __typeof__(PQgetvalue)                *PQgetvalue;
    __typeof__(PQgetlength)               *PQgetlength;
    __typeof__(PQclear)                   *PQclear;
    __typeof__(PQfinish)                  *PQfinish;
} nd_store_pq_t;

extern nd_store_pq_t  nd_pq;

/* the statements each connection prepares, by nd_store_sql_e */
extern const char  *const nd_store_pg_sql[ND_STORE_SQL_N];

/* "backend pg": open libpq (ND_CONF_OK, or why not) */
char *nd_store_pg_load(nd_pool_t *pool, const char *library);
/* pg_conninfo: no password, no name lookups (ND_CONF_OK, or why not) */
char *nd_store_pg_check_conninfo(nd_pool_t *pool, const nd_str_t *conninfo);
/* which libpq was loaded, for the error log */
void nd_store_pg_log_library(nd_log_t *log);

#endif /* ND_STORE_PG_H */

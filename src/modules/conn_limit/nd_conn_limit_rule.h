/*
 * The connection limit rule: the JSON of Nacos 2.0.x's limitRule file.
 *
 *   { "countLimit": -1, "countLimitPerClientIpDefault": -1,
 *     "countLimitPerClientIp": { "10.0.0.5": 10 },
 *     "countLimitPerClientApp": { "my-app": 20 },
 *     "monitorIpList": [ "1.2.3.4" ] }
 *
 * Every key may be absent; -1 (any negative, or 0 for the two scalars)
 * is unlimited; a map entry of 0 refuses every connection of that IP or
 * application.  Keys not listed are ignored, as Nacos ignores them.
 */
#ifndef ND_CONN_LIMIT_RULE_H
#define ND_CONN_LIMIT_RULE_H

#include <nd_core.h>

#define ND_CONN_LIMIT_RULE_MAX  (1024 * 1024)   /* bytes of a rule file */

typedef struct {
    json_t      *json;           /* the rule as read (owned) */
    int64_t      count;          /* countLimit, -1 unlimited */
    int64_t      per_ip_default; /* countLimitPerClientIpDefault */
    json_t      *per_ip;         /* object ip -> integer (borrowed) */
    json_t      *per_app;        /* object app -> integer (borrowed) */
    json_t      *monitor;        /* object ip -> true (owned) */
} nd_conn_limit_rule_t;

/* ND_OK with *rule filled (nd_conn_limit_rule_free it), or ND_ERROR with
 * a message in err */
nd_int_t nd_conn_limit_rule_parse(const u_char *data, size_t len,
    nd_conn_limit_rule_t *rule, char *err, size_t errlen);
/* an empty rule: no limits */
void nd_conn_limit_rule_none(nd_conn_limit_rule_t *rule);
void nd_conn_limit_rule_free(nd_conn_limit_rule_t *rule);
/* the limit for an IP / an application, -1 for none */
int64_t nd_conn_limit_rule_ip(nd_conn_limit_rule_t *rule, const char *ip);
int64_t nd_conn_limit_rule_app(nd_conn_limit_rule_t *rule, const char *app);
/* connections from ip are traced */
int nd_conn_limit_rule_monitored(nd_conn_limit_rule_t *rule, const char *ip);
/* any limit at all */
int nd_conn_limit_rule_limits(nd_conn_limit_rule_t *rule);

#endif /* ND_CONN_LIMIT_RULE_H */

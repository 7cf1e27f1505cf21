/*
 * The connection limit rule file: parse and validate its JSON, answer
 * the limits of an IP and of an application.
 */
#include <nd_conn_limit_rule.h>


static nd_int_t
nd_conn_limit_rule_scalar(json_t *root, const char *key, int64_t *value,
    char *err, size_t errlen)
{
    json_t  *v;

    v = json_object_get(root, key);
    *value = -1;

    if (v == NULL || json_is_null(v)) {
        return ND_OK;
    }

    if (!json_is_integer(v)) {
        snprintf(err, errlen, "\"%s\" is not an integer", key);
        return ND_ERROR;
    }

    *value = json_integer_value(v) > 0 ? json_integer_value(v) : -1;

    return ND_OK;
}


static nd_int_t
nd_conn_limit_rule_map(json_t *root, const char *key, json_t **map,
    char *err, size_t errlen)
{
    json_t      *v, *n;
    const char  *k;

    v = json_object_get(root, key);
    *map = NULL;

    if (v == NULL || json_is_null(v)) {
        return ND_OK;
    }

    if (!json_is_object(v)) {
        snprintf(err, errlen, "\"%s\" is not an object", key);
        return ND_ERROR;
    }

    json_object_foreach(v, k, n) {
        if (k[0] == '\0') {
            snprintf(err, errlen, "\"%s\" has an empty key", key);
            return ND_ERROR;
        }
        if (!json_is_integer(n)) {
            snprintf(err, errlen, "\"%s\": the limit of \"%.64s\" is not "
                     "an integer", key, k);
            return ND_ERROR;
        }
    }

    *map = v;

    return ND_OK;
}


static nd_int_t
nd_conn_limit_rule_monitor(json_t *root, nd_conn_limit_rule_t *rule,
    char *err, size_t errlen)
{
    size_t   i;
    json_t  *v, *ip;

    v = json_object_get(root, "monitorIpList");

    if (v == NULL || json_is_null(v)) {
        return ND_OK;
    }

    if (!json_is_array(v)) {
        snprintf(err, errlen, "\"monitorIpList\" is not an array");
        return ND_ERROR;
    }

    json_array_foreach(v, i, ip) {
        if (!json_is_string(ip) || json_string_length(ip) == 0) {
            snprintf(err, errlen, "\"monitorIpList\" item %zu is not an IP",
                     i);
            return ND_ERROR;
        }
        if (json_object_set(rule->monitor, json_string_value(ip),
                            json_true()) != 0)
        {
            snprintf(err, errlen, "out of memory");
            return ND_ERROR;
        }
    }

    return ND_OK;
}


void
nd_conn_limit_rule_none(nd_conn_limit_rule_t *rule)
{
    memset(rule, 0, sizeof(nd_conn_limit_rule_t));
    rule->count = -1;
    rule->per_ip_default = -1;
}


nd_int_t
nd_conn_limit_rule_parse(const u_char *data, size_t len,
    nd_conn_limit_rule_t *rule, char *err, size_t errlen)
{
    json_t        *root;
    json_error_t   jerr;

    nd_conn_limit_rule_none(rule);

    if (len > ND_CONN_LIMIT_RULE_MAX) {
        snprintf(err, errlen, "larger than %d bytes", ND_CONN_LIMIT_RULE_MAX);
        return ND_ERROR;
    }

    root = json_loadb((const char *) data, len, JSON_REJECT_DUPLICATES,
                      &jerr);
    if (root == NULL) {
        snprintf(err, errlen, "invalid JSON at line %d: %s", jerr.line,
                 jerr.text);
        return ND_ERROR;
    }

    if (!json_is_object(root)) {
        json_decref(root);
        snprintf(err, errlen, "not a JSON object");
        return ND_ERROR;
    }

    rule->json = root;
    rule->monitor = json_object();

    if (rule->monitor == NULL
        || nd_conn_limit_rule_scalar(root, "countLimit", &rule->count,
                                     err, errlen) != ND_OK
        || nd_conn_limit_rule_scalar(root, "countLimitPerClientIpDefault",
                                     &rule->per_ip_default, err, errlen)
           != ND_OK
        || nd_conn_limit_rule_map(root, "countLimitPerClientIp",
                                  &rule->per_ip, err, errlen) != ND_OK
        || nd_conn_limit_rule_map(root, "countLimitPerClientApp",
                                  &rule->per_app, err, errlen) != ND_OK
        || nd_conn_limit_rule_monitor(root, rule, err, errlen) != ND_OK)
    {
        nd_conn_limit_rule_free(rule);
        return ND_ERROR;
    }

    return ND_OK;
}


void
nd_conn_limit_rule_free(nd_conn_limit_rule_t *rule)
{
    json_decref(rule->json);
    json_decref(rule->monitor);
    nd_conn_limit_rule_none(rule);
}


/* an IP's own limit, else the default; a negative entry falls through */
int64_t
nd_conn_limit_rule_ip(nd_conn_limit_rule_t *rule, const char *ip)
{
    json_t  *v;

    v = rule->per_ip ? json_object_get(rule->per_ip, ip) : NULL;
    if (v && json_integer_value(v) >= 0) {
        return json_integer_value(v);
    }

    return rule->per_ip_default;
}


int64_t
nd_conn_limit_rule_app(nd_conn_limit_rule_t *rule, const char *app)
{
    json_t  *v;

    v = rule->per_app ? json_object_get(rule->per_app, app) : NULL;

    return v && json_integer_value(v) >= 0 ? json_integer_value(v) : -1;
}


int
nd_conn_limit_rule_monitored(nd_conn_limit_rule_t *rule, const char *ip)
{
    return rule->monitor && json_object_size(rule->monitor)
           && json_object_get(rule->monitor, ip) != NULL;
}


int
nd_conn_limit_rule_limits(nd_conn_limit_rule_t *rule)
{
    return rule->count >= 0 || rule->per_ip_default >= 0
           || (rule->per_ip && json_object_size(rule->per_ip))
           || (rule->per_app && json_object_size(rule->per_app));
}

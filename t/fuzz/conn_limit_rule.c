/*
 * Fuzz target: the connection limit rule file (src/modules/conn_limit,
 * nd_conn_limit_rule_parse).  What parses must answer every lookup for
 * the IPs, apps and monitored IPs it names without trouble, and the
 * limits it answers must be -1 or not negative.
 */
#include <nd_fuzz.h>

#ifdef ND_WITH_CONN_LIMIT

#include <nd_conn_limit_rule.h>


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                  err[256];
    json_t               *v;
    const char           *k;
    nd_conn_limit_rule_t  rule;

    if (nd_conn_limit_rule_parse(data, size, &rule, err, sizeof(err))
        != ND_OK)
    {
        if (err[0] == '\0' || rule.json != NULL) {
            abort();
        }
        return 0;
    }

    if (rule.count < -1 || rule.per_ip_default < -1) {
        abort();
    }

    if (rule.per_ip) {
        json_object_foreach(rule.per_ip, k, v) {
            if (nd_conn_limit_rule_ip(&rule, k) < -1) {
                abort();
            }
        }
    }

    if (rule.per_app) {
        json_object_foreach(rule.per_app, k, v) {
            if (nd_conn_limit_rule_app(&rule, k) < -1) {
                abort();
            }
        }
    }

    json_object_foreach(rule.monitor, k, v) {
        if (!nd_conn_limit_rule_monitored(&rule, k)) {
            abort();
        }
    }

    (void) nd_conn_limit_rule_limits(&rule);
    nd_conn_limit_rule_free(&rule);

    return 0;
}

#else

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return 0;
}

#endif

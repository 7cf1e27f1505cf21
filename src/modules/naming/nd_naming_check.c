/*
 * The naming side of the Nacos name rules (src/core/nd_name.h): what a
 * bad namespace, group, service name, ip or cluster is answered with,
 * worded as Nacos's parameter-check filter and NamingUtils word it.  The
 * HTTP front end (v1 text, v2 envelope) and the gRPC one (ErrorResponse)
 * both take their message and code from here.
 */
#include <nd_core.h>
#include <nd_naming.h>


const char *
nd_naming_check_ref(const nd_naming_ref_t *ref, nd_int_t *code)
{
    *code = 20002;

    switch (nd_name_check(ND_NAME_NAMESPACE, &ref->ns)) {
    case ND_NAME_OK:
        break;
    case ND_NAME_LONG:
        return "Param 'namespaceId/tenant' is illegal, the param length "
               "should not exceed 64.";
    default:
        return "Param 'namespaceId/tenant' is illegal, illegal characters "
               "should not appear in the param.";
    }

    *code = 21000;

    switch (nd_name_check(ND_NAME_SERVICE, &ref->name)) {
    case ND_NAME_OK:
        break;
    case ND_NAME_EMPTY:
        return "Param 'serviceName' is required.";
    case ND_NAME_LONG:
        return "Param 'serviceName' is illegal, the param length should "
               "not exceed 512.";
    default:
        return "Param 'serviceName' is illegal, illegal characters should "
               "not appear in the param.";
    }

    switch (nd_name_check(ND_NAME_GROUP, &ref->group)) {
    case ND_NAME_OK:
        break;
    case ND_NAME_LONG:
        return "Param 'group' is illegal, the param length should not "
               "exceed 128.";
    default:
        return "Param 'group' is illegal, illegal characters should not "
               "appear in the param.";
    }

    return NULL;
}


const char *
nd_naming_check_ip(const nd_str_t *ip, nd_int_t *code)
{
    *code = 20002;

    switch (nd_name_check(ND_NAME_IP, ip)) {
    case ND_NAME_OK:
        return NULL;
    case ND_NAME_LONG:
        return "Param 'ip' is illegal, the param length should not exceed "
               "128.";
    default:
        return "Param 'ip' is illegal, illegal characters should not "
               "appear in the param.";
    }
}


const char *
nd_naming_check_cluster(const nd_str_t *cluster, char *buf, size_t size,
    nd_int_t *code)
{
    *code = 20002;

    switch (nd_name_check(ND_NAME_CLUSTER, cluster)) {
    case ND_NAME_OK:
        return NULL;
    case ND_NAME_LONG:
        return "Param 'cluster' is illegal, the param length should not "
               "exceed 64.";
    case ND_NAME_FORM:
        /* NamingUtils.checkInstanceIsLegal, after the filter let '_' by */
        *code = 21004;
        snprintf(buf, size, "Instance 'clusterName' should be characters "
                 "with only 0-9a-zA-Z-. (current: %.*s)",
                 ND_STR_ARG(*cluster));
        return buf;
    default:
        return "Param 'cluster' is illegal, illegal characters should not "
               "appear in the param.";
    }
}

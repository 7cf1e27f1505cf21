/*
 * Fuzz target: what members tell each other on the cluster port besides
 * distro: the member report (MemberReportRequest, src/modules/cluster/
 * nd_cluster_member.c) and the config sync and listener query
 * (ConfigChangeClusterSyncRequest, ConfigListenerQueryRequest,
 * src/modules/config/nd_config_cluster.c).  The first input byte picks
 * the type, the rest is the JSON body (nd_fuzz_cluster.h frames it).
 */
#include <nd_fuzz.h>

#if (ND_WITH_GRPC && ND_WITH_CLUSTER)

#include <nd_fuzz_cluster.h>

static const char  *types[] = {
    "MemberReportRequest",
    "ConfigChangeClusterSyncRequest",
    "ConfigListenerQueryRequest",
};


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return nd_fuzz_cluster_call(types, 3, data, size);
}

#else

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return 0;
}

#endif

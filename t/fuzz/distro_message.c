/*
 * Fuzz target: a DistroDataRequest on the cluster port (src/modules/
 * distro: nd_distro_handler, SYNC with nd_distro_client_check and
 * nd_distro_client_apply, VERIFY, SNAPSHOT), the body as JSON from the
 * input (nd_fuzz_cluster.h frames it).
 */
#include <nd_fuzz.h>

#if (ND_WITH_GRPC && ND_WITH_CLUSTER && ND_WITH_DISTRO)

#include <nd_fuzz_cluster.h>

static const char  *types[] = { "DistroDataRequest" };


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return nd_fuzz_cluster_call(types, 1, data, size);
}

#else

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return 0;
}

#endif

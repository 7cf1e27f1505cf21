/*
 * What every libFuzzer target in t/fuzz/ shares: the entry point, a quiet
 * default log (alerts still print: they are our bugs), and a request
 * with its own pool, the way the HTTP module hands one to a handler.
 * Built only by "make fuzz" (./configure --with-fuzzer), never part of
 * nacosd.
 */
#ifndef ND_FUZZ_H
#define ND_FUZZ_H

#include <nd_core.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static inline void
nd_fuzz_quiet(void)
{
    nd_log_default()->level = ND_LOG_ALERT;
}


/* data as a NUL-terminated copy (jansson and friends want C strings) */
static inline char *
nd_fuzz_cstr(const uint8_t *data, size_t size)
{
    char  *s;

    s = malloc(size + 1);
    if (s == NULL) {
        abort();
    }
    if (size) {
        memcpy(s, data, size);
    }
    s[size] = '\0';

    return s;
}

#endif /* ND_FUZZ_H */

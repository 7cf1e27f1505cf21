/*
 * Cached wall-clock time, refreshed once per loop pass.
 */
#ifndef ND_TIME_H
#define ND_TIME_H

#include <nd_config.h>

extern volatile nd_msec_t  nd_current_msec;      /* wall clock, ms */
extern char                nd_cached_log_time[]; /* 2026/11/22 12:00:00 */
extern char                nd_cached_http_time[];/* Sun, 22 Nov 2026 ... */
extern char                nd_cached_access_time[]; /* 22/Nov/2026:... */

#define ND_LOG_TIME_LEN     (sizeof("1970/01/01 00:00:00") - 1)
#define ND_HTTP_TIME_LEN    (sizeof("Thu, 01 Jan 1970 00:00:00 GMT") - 1)

void nd_time_update(void);
nd_msec_t nd_time_now_msec(void);          /* uncached */
/* monotonic ms, uncached */
nd_msec_t nd_time_monotonic_msec(void);
size_t nd_http_time(char *buf, time_t t);  /* buf >= 32 bytes */

#endif /* ND_TIME_H */

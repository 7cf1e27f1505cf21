/*
 * Cached time strings; recomputed only when the second changes.
 */
#include <nd_core.h>

volatile nd_msec_t  nd_current_msec;
char                nd_cached_log_time[sizeof("1970/01/01 00:00:00")];
char                nd_cached_http_time[sizeof("Thu, 01 Jan 1970 00:00:00 GMT")];
char                nd_cached_access_time[sizeof("01/Jan/1970:00:00:00 +0000")];

static time_t       nd_cached_sec = -1;

static const char  *nd_wdays[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri",
                                   "Sat" };
static const char  *nd_months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov",
                                    "Dec" };


nd_msec_t
nd_time_now_msec(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (nd_msec_t) ts.tv_sec * 1000 + (nd_msec_t) ts.tv_nsec / 1000000;
}


nd_msec_t
nd_time_monotonic_msec(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (nd_msec_t) ts.tv_sec * 1000 + (nd_msec_t) ts.tv_nsec / 1000000;
}


size_t
nd_http_time(char *buf, time_t t)
{
    struct tm  tm;

    gmtime_r(&t, &tm);

    return (size_t) snprintf(buf, 32, "%s, %02d %s %4d %02d:%02d:%02d GMT",
                             nd_wdays[tm.tm_wday], tm.tm_mday,
                             nd_months[tm.tm_mon], tm.tm_year + 1900,
                             tm.tm_hour, tm.tm_min, tm.tm_sec);
}


void
nd_time_update(void)
{
    char       tmp[64];
    time_t     sec;
    struct tm  tm;
    long       off;

    nd_current_msec = nd_time_now_msec();
    sec = (time_t) (nd_current_msec / 1000);

    if (sec == nd_cached_sec) {
        return;
    }

    nd_cached_sec = sec;
    localtime_r(&sec, &tm);

    /* format into a roomy buffer, then copy the fixed-width result */
    snprintf(tmp, sizeof(tmp), "%4d/%02d/%02d %02d:%02d:%02d",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec);
    memcpy(nd_cached_log_time, tmp, sizeof(nd_cached_log_time) - 1);

    off = tm.tm_gmtoff / 60;
    snprintf(tmp, sizeof(tmp), "%02d/%s/%4d:%02d:%02d:%02d %c%02ld%02ld",
             tm.tm_mday, nd_months[tm.tm_mon], tm.tm_year + 1900,
             tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
             labs(off) / 60, labs(off) % 60);
    memcpy(nd_cached_access_time, tmp, sizeof(nd_cached_access_time) - 1);

    nd_http_time(nd_cached_http_time, sec);
}

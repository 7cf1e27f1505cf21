/*
 * Metrics registry: modules register counters, gauges, histograms and
 * whole families (sources); the http module serves them all at
 * GET /actuator/prometheus in the Prometheus text format 0.0.4.
 *
 * Hot path: a counter is a plain nd_uint_t in the module's state, a
 * histogram an nd_metrics_hist_t with fixed buckets; both are updated
 * by the loop thread only, without a lock or an allocation.  A gauge is
 * a callback that reads a count the module keeps up to date: a scrape
 * never walks the data.  Labels are bounded: names from the code (request
 * types, route patterns) or from the conf (peer addresses), never a
 * string a client chose.
 */
#ifndef ND_METRICS_H
#define ND_METRICS_H

#include <nd_config.h>
#include <nd_buf.h>
#include <nd_array.h>

#define ND_METRICS_BUCKETS_MAX  16

/* Nacos's gauge family, its series labelled module and name */
#define ND_METRICS_NACOS_MONITOR  "nacos_monitor"
#define ND_METRICS_NACOS_HELP     "Nacos monitor gauges (module, name)."

typedef enum {
    ND_METRIC_COUNTER = 0,
    ND_METRIC_GAUGE,
    ND_METRIC_HISTOGRAM
} nd_metric_type_e;

typedef struct {
    const double        *bounds;    /* ascending upper bounds, no +Inf */
    nd_uint_t            n;         /* <= ND_METRICS_BUCKETS_MAX */
    uint64_t             buckets[ND_METRICS_BUCKETS_MAX + 1]; /* [n]: +Inf */
    uint64_t             count;
    double               sum;
} nd_metrics_hist_t;

/* one labelled histogram of a family of many (a route, a request type) */
typedef struct {
    const char          *labels;
    nd_metrics_hist_t    hist;
} nd_metrics_series_t;

/* seconds: 0.5 ms .. 10 s, for request, push and commit latencies */
extern const double  nd_metrics_latency_bounds[];
#define ND_METRICS_LATENCY_N  14

typedef double (*nd_metrics_value_pt)(void *data);
/* writes whole families (nd_metrics_put_*); owns every family it writes */
typedef void (*nd_metrics_source_pt)(nd_buf_t *out, void *data);

void nd_metrics_hist_init(nd_metrics_hist_t *h, const double *bounds,
    nd_uint_t n);
void nd_metrics_hist_observe(nd_metrics_hist_t *h, double v);

/*
 * Registration, in init_module (registry in the cycle pool).  name is a
 * family name; labels a constant label list without braces
 * ('module="naming",name="ipCount"') or NULL; name, help and labels are
 * kept by pointer (string constants).  Families render in the order they
 * were first registered, then the sources in theirs.
 */
int nd_metrics_add_counter(nd_cycle_t *cycle, const char *name,
    const char *help, const char *labels, const nd_uint_t *value);
int nd_metrics_add_gauge(nd_cycle_t *cycle, const char *name,
    const char *help, const char *labels, const nd_uint_t *value);
/* read through a callback: a count of another type or another thread's,
 * or one computed from several fields */
int nd_metrics_add_counter_fn(nd_cycle_t *cycle, const char *name,
    const char *help, const char *labels, nd_metrics_value_pt fn,
    void *data);
int nd_metrics_add_gauge_fn(nd_cycle_t *cycle, const char *name,
    const char *help, const char *labels, nd_metrics_value_pt fn,
    void *data);
int nd_metrics_add_histogram(nd_cycle_t *cycle, const char *name,
    const char *help, const char *labels, nd_metrics_hist_t *h);
/* the same, h set up first with nd_metrics_latency_bounds (seconds) */
int nd_metrics_add_latency(nd_cycle_t *cycle, const char *name,
    const char *help, const char *labels, nd_metrics_hist_t *h);
/* a histogram family of labelled series (an array of
 * nd_metrics_series_t *, filled by nd_metrics_series_new, at any time
 * before the scrape); the series observed at least once are written */
int nd_metrics_add_series(nd_cycle_t *cycle, const char *name,
    const char *help, nd_array_t *series);
/* a new series in the array, its labels printed from fmt (constants or
 * conf values only); its latency histogram (seconds), or NULL */
nd_metrics_hist_t *nd_metrics_series_new(nd_cycle_t *cycle,
    nd_array_t *series, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
nd_int_t nd_metrics_add_source(nd_cycle_t *cycle, const char *name,
    nd_metrics_source_pt fn, void *data);

/* for sources: "# HELP" and "# TYPE" once per family, then its samples */
void nd_metrics_put_family(nd_buf_t *out, const char *name,
    nd_metric_type_e type, const char *help);
void nd_metrics_put_value(nd_buf_t *out, const char *name,
    const char *labels, double v);
void nd_metrics_put_hist(nd_buf_t *out, const char *name,
    const char *labels, const nd_metrics_hist_t *h);
/* a label value from the conf: escaped as the text format says */
void nd_metrics_put_escaped(nd_buf_t *out, const char *s, size_t len);

/* the whole exposition; ND_OK or ND_ERROR (out of memory) */
nd_int_t nd_metrics_render(nd_cycle_t *cycle, nd_buf_t *out);

/* the process's own: memory, event-loop lag (the event module's hooks) */
nd_int_t nd_metrics_init(nd_cycle_t *cycle);
void nd_metrics_start(nd_cycle_t *cycle);
void nd_metrics_stop(nd_cycle_t *cycle);

#endif /* ND_METRICS_H */

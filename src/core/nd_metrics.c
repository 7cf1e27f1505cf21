/*
 * Metrics registry and the Prometheus text format (0.0.4) writer.
 */
#include <nd_core.h>
#include <math.h>

typedef struct {
    const char            *labels;
    const nd_uint_t       *value;
    nd_metrics_value_pt    fn;
    void                  *data;
    nd_metrics_hist_t     *hist;
    nd_array_t            *series;      /* nd_metrics_series_t * */
} nd_metrics_entry_t;

typedef struct {
    const char            *name;
    const char            *help;
    nd_metric_type_e       type;
    nd_array_t             entries;     /* nd_metrics_entry_t */
} nd_metrics_family_t;

typedef struct {
    const char            *name;
    nd_metrics_source_pt   fn;
    void                  *data;
} nd_metrics_source_t;

struct nd_metrics_s {
    nd_array_t             families;    /* nd_metrics_family_t */
    nd_array_t             sources;     /* nd_metrics_source_t */
    size_t                 last_size;   /* of the previous scrape */

    /* the process's own */
    nd_cycle_t            *cycle;
    nd_timer_t             lag_timer;
    ev_tstamp              lag_due;
    nd_metrics_hist_t      lag;
    long                   page_size;
};

#define ND_METRICS_LAG_MSEC  500

const double  nd_metrics_latency_bounds[ND_METRICS_LATENCY_N] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1, 2.5, 5, 10
};

static const char  *nd_metrics_type_names[] = {
    "counter", "gauge", "histogram"
};


static struct nd_metrics_s *
nd_metrics_get(nd_cycle_t *cycle)
{
    struct nd_metrics_s  *m;

    if (cycle->metrics) {
        return cycle->metrics;
    }

    m = nd_pcalloc(cycle->pool, sizeof(struct nd_metrics_s));
    if (m == NULL) {
        return NULL;
    }

    if (nd_array_init(&m->families, cycle->pool, 32,
                      sizeof(nd_metrics_family_t)) != ND_OK
        || nd_array_init(&m->sources, cycle->pool, 16,
                         sizeof(nd_metrics_source_t)) != ND_OK)
    {
        return NULL;
    }

    m->cycle = cycle;
    cycle->metrics = m;
    return m;
}


void
nd_metrics_hist_init(nd_metrics_hist_t *h, const double *bounds, nd_uint_t n)
{
    memset(h, 0, sizeof(nd_metrics_hist_t));
    h->bounds = bounds;
    h->n = n < ND_METRICS_BUCKETS_MAX ? n : ND_METRICS_BUCKETS_MAX;
}


void
nd_metrics_hist_observe(nd_metrics_hist_t *h, double v)
{
    nd_uint_t  i;

    for (i = 0; i < h->n && v > h->bounds[i]; i++) {
        /* void */
    }

    h->buckets[i]++;
    h->count++;
    h->sum += v;
}


static nd_int_t
nd_metrics_add(nd_cycle_t *cycle, const char *name, const char *help,
    nd_metric_type_e type, const nd_metrics_entry_t *entry)
{
    nd_uint_t              i;
    nd_metrics_entry_t    *e;
    nd_metrics_family_t   *f, *fams;
    struct nd_metrics_s   *m;

    m = nd_metrics_get(cycle);
    if (m == NULL) {
        return ND_ERROR;
    }

    fams = m->families.elts;
    f = NULL;
    for (i = 0; i < m->families.nelts; i++) {
        if (strcmp(fams[i].name, name) == 0) {
            f = &fams[i];
            break;
        }
    }

    if (f == NULL) {
        f = nd_array_push(&m->families);
        if (f == NULL) {
            return ND_ERROR;
        }
        f->name = name;
        f->help = help;
        f->type = type;
        if (nd_array_init(&f->entries, cycle->pool, 4,
                          sizeof(nd_metrics_entry_t)) != ND_OK)
        {
            return ND_ERROR;
        }

    } else if (f->type != type) {
        nd_log_error(ND_LOG_EMERG, cycle->log, 0,
                     "metric \"%s\" registered as a %s and a %s", name,
                     nd_metrics_type_names[f->type],
                     nd_metrics_type_names[type]);
        return ND_ERROR;
    }

    e = nd_array_push(&f->entries);
    if (e == NULL) {
        return ND_ERROR;
    }

    *e = *entry;
    return ND_OK;
}


int
nd_metrics_add_counter(nd_cycle_t *cycle, const char *name, const char *help,
    const char *labels, const nd_uint_t *value)
{
    return nd_metrics_add(cycle, name, help, ND_METRIC_COUNTER,
                          &(nd_metrics_entry_t) { .labels = labels,
                                                  .value = value });
}


int
nd_metrics_add_counter_fn(nd_cycle_t *cycle, const char *name,
    const char *help, const char *labels, nd_metrics_value_pt fn, void *data)
{
    return nd_metrics_add(cycle, name, help, ND_METRIC_COUNTER,
                          &(nd_metrics_entry_t) { .labels = labels,
                                                  .fn = fn, .data = data });
}


int
nd_metrics_add_gauge(nd_cycle_t *cycle, const char *name, const char *help,
    const char *labels, const nd_uint_t *value)
{
    return nd_metrics_add(cycle, name, help, ND_METRIC_GAUGE,
                          &(nd_metrics_entry_t) { .labels = labels,
                                                  .value = value });
}


int
nd_metrics_add_gauge_fn(nd_cycle_t *cycle, const char *name,
    const char *help, const char *labels, nd_metrics_value_pt fn, void *data)
{
    return nd_metrics_add(cycle, name, help, ND_METRIC_GAUGE,
                          &(nd_metrics_entry_t) { .labels = labels,
                                                  .fn = fn, .data = data });
}


int
nd_metrics_add_histogram(nd_cycle_t *cycle, const char *name,
    const char *help, const char *labels, nd_metrics_hist_t *h)
{
    return nd_metrics_add(cycle, name, help, ND_METRIC_HISTOGRAM,
                          &(nd_metrics_entry_t) { .labels = labels,
                                                  .hist = h });
}


int
nd_metrics_add_latency(nd_cycle_t *cycle, const char *name,
    const char *help, const char *labels, nd_metrics_hist_t *h)
{
    nd_metrics_hist_init(h, nd_metrics_latency_bounds, ND_METRICS_LATENCY_N);

    return nd_metrics_add_histogram(cycle, name, help, labels, h);
}


int
nd_metrics_add_series(nd_cycle_t *cycle, const char *name, const char *help,
    nd_array_t *series)
{
    return nd_metrics_add(cycle, name, help, ND_METRIC_HISTOGRAM,
                          &(nd_metrics_entry_t) { .series = series });
}


nd_metrics_hist_t *
nd_metrics_series_new(nd_cycle_t *cycle, nd_array_t *series,
    const char *fmt, ...)
{
    int                    n;
    char                  *labels;
    va_list                ap;
    nd_metrics_series_t   *st, **slot;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);

    st = nd_pcalloc(cycle->pool, sizeof(nd_metrics_series_t));
    labels = n >= 0 ? nd_pnalloc(cycle->pool, (size_t) n + 1) : NULL;
    slot = nd_array_push(series);
    if (st == NULL || labels == NULL || slot == NULL) {
        return NULL;
    }

    va_start(ap, fmt);
    vsnprintf(labels, (size_t) n + 1, fmt, ap);
    va_end(ap);

    st->labels = labels;
    nd_metrics_hist_init(&st->hist, nd_metrics_latency_bounds,
                         ND_METRICS_LATENCY_N);
    *slot = st;

    return &st->hist;
}


nd_int_t
nd_metrics_add_source(nd_cycle_t *cycle, const char *name,
    nd_metrics_source_pt fn, void *data)
{
    nd_metrics_source_t  *s;
    struct nd_metrics_s  *m;

    m = nd_metrics_get(cycle);
    if (m == NULL) {
        return ND_ERROR;
    }

    s = nd_array_push(&m->sources);
    if (s == NULL) {
        return ND_ERROR;
    }

    s->name = name;
    s->fn = fn;
    s->data = data;
    return ND_OK;
}


/* the text format */

static void
nd_metrics_put_number(nd_buf_t *out, double v)
{
    if (isnan(v)) {
        nd_buf_append_lit(out, "NaN");

    } else if (isinf(v)) {
        if (v > 0) {
            nd_buf_append_lit(out, "+Inf");
        } else {
            nd_buf_append_lit(out, "-Inf");
        }

    } else if (v == floor(v) && fabs(v) < 1e15) {
        nd_buf_appendf(out, "%.0f", v);

    } else {
        nd_buf_appendf(out, "%.9g", v);
    }
}


void
nd_metrics_put_family(nd_buf_t *out, const char *name, nd_metric_type_e type,
    const char *help)
{
    nd_buf_appendf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                   nd_metrics_type_names[type]);
}


static void
nd_metrics_put_sample(nd_buf_t *out, const char *name, const char *suffix,
    const char *labels, const char *le, double v)
{
    int  braces;

    braces = (labels && labels[0]) || le;

    nd_buf_appendf(out, "%s%s%s%s%s%s%s%s", name, suffix,
                   braces ? "{" : "", labels ? labels : "",
                   le && labels && labels[0] ? "," : "",
                   le ? "le=\"" : "", le ? le : "",
                   le ? "\"" : "");
    if (braces) {
        nd_buf_append_lit(out, "} ");
    } else {
        nd_buf_append_lit(out, " ");
    }

    nd_metrics_put_number(out, v);
    nd_buf_append_lit(out, "\n");
}


void
nd_metrics_put_value(nd_buf_t *out, const char *name, const char *labels,
    double v)
{
    nd_metrics_put_sample(out, name, "", labels, NULL, v);
}


void
nd_metrics_put_hist(nd_buf_t *out, const char *name, const char *labels,
    const nd_metrics_hist_t *h)
{
    char       le[32];
    uint64_t   cum;
    nd_uint_t  i;

    cum = 0;
    for (i = 0; i < h->n; i++) {
        cum += h->buckets[i];
        snprintf(le, sizeof(le), "%g", h->bounds[i]);
        nd_metrics_put_sample(out, name, "_bucket", labels, le, (double) cum);
    }

    cum += h->buckets[h->n];
    nd_metrics_put_sample(out, name, "_bucket", labels, "+Inf", (double) cum);
    nd_metrics_put_sample(out, name, "_sum", labels, NULL, h->sum);
    nd_metrics_put_sample(out, name, "_count", labels, NULL,
                          (double) h->count);
}


void
nd_metrics_put_escaped(nd_buf_t *out, const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        switch (s[i]) {
        case '\\':
            nd_buf_append_lit(out, "\\\\");
            break;
        case '"':
            nd_buf_append_lit(out, "\\\"");
            break;
        case '\n':
            nd_buf_append_lit(out, "\\n");
            break;
        default:
            nd_buf_append(out, &s[i], 1);
        }
    }
}


/* the series observed at least once (a route never requested is left
 * out: no thousand empty histograms) */
static void
nd_metrics_put_series(nd_buf_t *out, const char *name, nd_array_t *series)
{
    nd_uint_t              i;
    nd_metrics_series_t  **st;

    st = series->elts;
    for (i = 0; i < series->nelts; i++) {
        if (st[i]->hist.count) {
            nd_metrics_put_hist(out, name, st[i]->labels, &st[i]->hist);
        }
    }
}


nd_int_t
nd_metrics_render(nd_cycle_t *cycle, nd_buf_t *out)
{
    double                 v;
    nd_uint_t              i, j;
    nd_metrics_entry_t    *e;
    nd_metrics_family_t   *f;
    nd_metrics_source_t   *s;
    struct nd_metrics_s   *m;

    m = nd_metrics_get(cycle);
    if (m == NULL) {
        return ND_ERROR;
    }

    /* one allocation for a scrape as big as the last */
    if (m->last_size && nd_buf_reserve(out, m->last_size + 4096) != ND_OK) {
        return ND_ERROR;
    }

    f = m->families.elts;
    for (i = 0; i < m->families.nelts; i++) {
        nd_metrics_put_family(out, f[i].name, f[i].type, f[i].help);

        e = f[i].entries.elts;
        for (j = 0; j < f[i].entries.nelts; j++) {
            if (e[j].series) {
                nd_metrics_put_series(out, f[i].name, e[j].series);
                continue;
            }

            if (e[j].hist) {
                nd_metrics_put_hist(out, f[i].name, e[j].labels, e[j].hist);
                continue;
            }

            v = e[j].value ? (double) *e[j].value : e[j].fn(e[j].data);
            nd_metrics_put_value(out, f[i].name, e[j].labels, v);
        }
    }

    s = m->sources.elts;
    for (i = 0; i < m->sources.nelts; i++) {
        s[i].fn(out, s[i].data);
    }

    m->last_size = nd_buf_size(out);
    return ND_OK;
}


/* the process: memory and event-loop lag */

static double
nd_metrics_statm(struct nd_metrics_s *m, int private)
{
    int            fd;
    char           text[256];
    ssize_t        n;
    unsigned long  size, resident, shared;

    fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return NAN;
    }

    n = read(fd, text, sizeof(text) - 1);
    close(fd);

    if (n <= 0) {
        return NAN;
    }

    text[n] = '\0';

    if (sscanf(text, "%lu %lu %lu", &size, &resident, &shared) != 3) {
        return NAN;
    }

    if (private) {
        resident = resident > shared ? resident - shared : 0;
    }

    return (double) resident * (double) m->page_size;
}


static double
nd_metrics_rss(void *data)
{
    return nd_metrics_statm(data, 0);
}


static double
nd_metrics_private(void *data)
{
    return nd_metrics_statm(data, 1);
}


static double
nd_metrics_uptime(void *data)
{
    nd_cycle_t  *cycle;

    cycle = data;
    return (double) (nd_time_monotonic_msec() - cycle->start_msec) / 1000.0;
}


static void
nd_metrics_lag_handler(nd_timer_t *t)
{
    double                lag;
    ev_tstamp             now;
    struct nd_metrics_s  *m;

    m = t->data;
    now = ev_time();

    lag = now - m->lag_due;
    nd_metrics_hist_observe(&m->lag, lag > 0 ? lag : 0);

    m->lag_due = now + ND_METRICS_LAG_MSEC / 1000.0;
    nd_timer_start(&m->lag_timer, ND_METRICS_LAG_MSEC, ND_TIMER_ONCE);
}


nd_int_t
nd_metrics_init(nd_cycle_t *cycle)
{
    struct nd_metrics_s  *m;

    m = nd_metrics_get(cycle);
    if (m == NULL) {
        return ND_ERROR;
    }

    m->page_size = sysconf(_SC_PAGESIZE);
    if (m->page_size <= 0) {
        m->page_size = 4096;
    }

    nd_timer_init(&m->lag_timer, "metrics loop lag", nd_metrics_lag_handler,
                  m);

    if (nd_metrics_add_gauge_fn(cycle, "nacosd_memory_rss_bytes",
            "Resident memory of the process (bytes).", NULL,
            nd_metrics_rss, m) != ND_OK
        || nd_metrics_add_gauge_fn(cycle, "nacosd_memory_private_bytes",
            "Resident memory not shared with files: heap, stacks "
            "(bytes).", NULL, nd_metrics_private, m) != ND_OK
        || nd_metrics_add_gauge_fn(cycle, "nacosd_uptime_seconds",
            "Time since the process started (seconds).", NULL,
            nd_metrics_uptime, cycle) != ND_OK
        || nd_metrics_add_gauge(cycle, "nacosd_open_connections",
            "Open connections of every kind (HTTP, gRPC, peers).", NULL,
            &cycle->connection_n) != ND_OK
        || nd_metrics_add_latency(cycle, "nacosd_event_loop_lag_seconds",
            "How late a 500 ms timer of the event loop fires (seconds).",
            NULL, &m->lag) != ND_OK)
    {
        return ND_ERROR;
    }

    return ND_OK;
}


void
nd_metrics_start(nd_cycle_t *cycle)
{
    struct nd_metrics_s  *m;

    m = cycle->metrics;
    if (m == NULL) {
        return;
    }

    m->lag_due = ev_time() + ND_METRICS_LAG_MSEC / 1000.0;
    nd_timer_start(&m->lag_timer, ND_METRICS_LAG_MSEC, ND_TIMER_ONCE);
}


void
nd_metrics_stop(nd_cycle_t *cycle)
{
    struct nd_metrics_s  *m;

    m = cycle->metrics;
    if (m && m->lag_timer.handler) {
        nd_timer_stop(&m->lag_timer);
    }
}

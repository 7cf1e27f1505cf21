/*
 * Unit tests: the metrics registry and its text format writer: family
 * grouping, labels, number formats, histogram buckets ("le" is an
 * inclusive upper bound, buckets cumulative), label escaping, a family
 * registered with two types refused, a family of series (only those
 * observed are written).
 */
#include <nd_core.h>
#include <tap.h>


static double
half(void *data)
{
    return *(double *) data / 2;
}


static void
source(nd_buf_t *out, void *data)
{
    nd_metrics_put_family(out, "src_info", ND_METRIC_GAUGE, "A source.");
    nd_buf_append_lit(out, "src_info{peer=\"");
    nd_metrics_put_escaped(out, data, strlen(data));
    nd_buf_append_lit(out, "\"} 1\n");
}


int
main(void)
{
    double              v;
    nd_buf_t            out;
    nd_uint_t           hits;
    nd_cycle_t          cycle;
    nd_array_t          series;
    nd_metrics_hist_t   h, *s1, *s2;
    static const double bounds[] = { 0.1, 1 };

    memset(&cycle, 0, sizeof(cycle));
    cycle.pool = nd_create_pool(4096, NULL);
    cycle.log = nd_log_default();

    nd_metrics_hist_init(&h, bounds, 2);
    nd_metrics_hist_observe(&h, 0.1);      /* le="0.1": inclusive */
    nd_metrics_hist_observe(&h, 0.5);
    nd_metrics_hist_observe(&h, 7);        /* +Inf only */
    is_int(h.count, 3, "histogram: count");
    is_int(h.buckets[0], 1, "0.1 falls in le=0.1");
    is_int(h.buckets[1], 1, "0.5 in le=1");
    is_int(h.buckets[2], 1, "7 in +Inf");

    hits = 42;
    v = 3;
    ok(nd_metrics_add_counter(&cycle, "a_total", "Hits.", NULL, &hits)
       == ND_OK, "counter registered");
    ok(nd_metrics_add_gauge_fn(&cycle, "g", "Gauge.", "k=\"x\"", half, &v)
       == ND_OK, "gauge registered");
    ok(nd_metrics_add_histogram(&cycle, "lat_seconds", "Latency.", NULL, &h)
       == ND_OK, "histogram registered");
    ok(nd_metrics_add_gauge(&cycle, "g", NULL, "k=\"y\"", &hits)
       == ND_OK, "second series of g, read from a count");
    ok(nd_metrics_add_counter(&cycle, "g", "Clash.", NULL, &hits)
       == ND_ERROR, "g as a counter too: refused");
    ok(nd_array_init(&series, cycle.pool, 2, sizeof(nd_metrics_series_t *))
       == ND_OK && nd_metrics_add_series(&cycle, "req_seconds", "Requests.",
                                         &series) == ND_OK,
       "series family registered");
    s1 = nd_metrics_series_new(&cycle, &series, "type=\"%s\"", "A");
    s2 = nd_metrics_series_new(&cycle, &series, "type=\"%s\"", "B");
    ok(s1 && s2, "two series");
    nd_metrics_hist_observe(s2, 20);
    ok(nd_metrics_add_source(&cycle, "src", source, "a\"b\\c\nd")
       == ND_OK, "source registered");

    nd_buf_init(&out);
    ok(nd_metrics_render(&cycle, &out) == ND_OK, "render");
    nd_buf_append(&out, "", 1);
    is_str((char *) nd_buf_start(&out),
           "# HELP a_total Hits.\n# TYPE a_total counter\na_total 42\n"
           "# HELP g Gauge.\n# TYPE g gauge\ng{k=\"x\"} 1.5\ng{k=\"y\"} 42\n"
           "# HELP lat_seconds Latency.\n# TYPE lat_seconds histogram\n"
           "lat_seconds_bucket{le=\"0.1\"} 1\n"
           "lat_seconds_bucket{le=\"1\"} 2\n"
           "lat_seconds_bucket{le=\"+Inf\"} 3\n"
           "lat_seconds_sum 7.6\nlat_seconds_count 3\n"
           "# HELP req_seconds Requests.\n# TYPE req_seconds histogram\n"
           "req_seconds_bucket{type=\"B\",le=\"0.0005\"} 0\n"
           "req_seconds_bucket{type=\"B\",le=\"0.001\"} 0\n"
           "req_seconds_bucket{type=\"B\",le=\"0.0025\"} 0\n"
           "req_seconds_bucket{type=\"B\",le=\"0.005\"} 0\n"
           "req_seconds_bucket{type=\"B\",le=\"0.01\"} 0\n"
           "req_seconds_bucket{type=\"B\",le=\"0.025\"} 0\n"
           "req_seconds_bucket{type=\"B\",le=\"0.05\"} 0\n"
           "req_seconds_bucket{type=\"B\",le=\"0.1\"} 0\n"
           "req_seconds_bucket{type=\"B\",le=\"0.25\"} 0\n"
           "req_seconds_bucket{type=\"B\",le=\"0.5\"} 0\n"
           "req_seconds_bucket{type=\"B\",le=\"1\"} 0\n"
           "req_seconds_bucket{type=\"B\",le=\"2.5\"} 0\n"
           "req_seconds_bucket{type=\"B\",le=\"5\"} 0\n"
           "req_seconds_bucket{type=\"B\",le=\"10\"} 0\n"
           "req_seconds_bucket{type=\"B\",le=\"+Inf\"} 1\n"
           "req_seconds_sum{type=\"B\"} 20\n"
           "req_seconds_count{type=\"B\"} 1\n"
           "# HELP src_info A source.\n# TYPE src_info gauge\n"
           "src_info{peer=\"a\\\"b\\\\c\\nd\"} 1\n",
           "the exposition: families grouped, series never observed left out");
    nd_buf_free(&out);

    nd_buf_init(&out);
    nd_metrics_put_hist(&out, "x", "a=\"1\"", &h);
    nd_buf_append(&out, "", 1);
    ok(strstr((char *) nd_buf_start(&out),
              "x_bucket{a=\"1\",le=\"+Inf\"} 3\n") != NULL,
       "labels then le");
    nd_buf_free(&out);

    nd_destroy_pool(cycle.pool);
    return done_testing();
}

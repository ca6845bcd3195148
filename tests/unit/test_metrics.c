/* Unit tests for metrics.c: series identity, the cap, and the exact exposition text. */
#include "metrics.h"
#include "test.h"

#include <stdlib.h>

static void test_series_identity(void)
{
    struct cdl_metrics *m = cdl_metrics_create(0);
    struct cdl_series *a = cdl_metrics_series(m, CDL_M_QUOTES_PROCESSED, "binance", "spot", "true");
    struct cdl_series *b = cdl_metrics_series(m, CDL_M_QUOTES_PROCESSED, "binance", "spot", "false");
    ASSERT(a != b);
    ASSERT(a == cdl_metrics_series(m, CDL_M_QUOTES_PROCESSED, "binance", "spot", "true"));
    cdl_series_add(a, 2);
    cdl_series_add(a, 1);
    ASSERT_EQ(cdl_series_value(a), 3);
    cdl_metrics_destroy(m);
    cdl_metrics_destroy(NULL);
}

static void test_exposition_exact(void)
{
    struct cdl_metrics *m = cdl_metrics_create(0);
    cdl_series_add(cdl_metrics_series(m, CDL_M_FRAMES_REJECTED, "binance", "spot", "bad\"json\\\n"), 4);
    cdl_series_set(cdl_metrics_series(m, CDL_M_QUEUE_DEPTH_CLOSED), 7);
    struct cdl_series *h = cdl_metrics_series(m, CDL_M_QUOTE_LATENCY);
    cdl_series_observe(h, 0.0002);
    cdl_series_observe(h, 3);
    char *txt = cdl_metrics_render(m, NULL);
    ASSERT(strstr(txt, "# TYPE connector_frames_rejected_total counter\n"
                       "connector_frames_rejected_total{exchange=\"binance\",contract_type=\"spot\","
                       "reason=\"bad\\\"json\\\\\\n\"} 4\n") != NULL);
    ASSERT(strstr(txt, "# TYPE connector_queue_depth_closed gauge\nconnector_queue_depth_closed 7\n") != NULL);
    ASSERT(strstr(txt, "connector_quote_latency_seconds_bucket{le=\"0.0001\"} 0\n"
                       "connector_quote_latency_seconds_bucket{le=\"0.00025\"} 1\n") != NULL);
    ASSERT(strstr(txt, "connector_quote_latency_seconds_bucket{le=\"1\"} 1\n"
                       "connector_quote_latency_seconds_bucket{le=\"+Inf\"} 2\n"
                       "connector_quote_latency_seconds_sum 3.0002\n"
                       "connector_quote_latency_seconds_count 2\n") != NULL);
    /* every metric of the table has HELP and TYPE even without series */
    for (int id = 0; id < CDL_M__COUNT; id++) {
        char want[160];
        snprintf(want, sizeof want, "# TYPE %s ", cdl_metric_def(id)->name);
        ASSERT(strstr(txt, want) != NULL);
    }
    free(txt);
    cdl_metrics_destroy(m);
}

static void test_series_cap(void)
{
    struct cdl_metrics *m = cdl_metrics_create(3);
    struct cdl_series *s1 = cdl_metrics_series(m, CDL_M_DUPLICATES, "x", "1");
    cdl_metrics_series(m, CDL_M_DUPLICATES, "x", "2");
    cdl_metrics_series(m, CDL_M_DUPLICATES, "x", "3");
    struct cdl_series *sink = cdl_metrics_series(m, CDL_M_DUPLICATES, "x", "4");
    struct cdl_series *sink2 = cdl_metrics_series(m, CDL_M_DUPLICATES, "x", "5");
    ASSERT(sink == sink2);
    ASSERT(s1 != sink);
    char *txt = cdl_metrics_render(m, NULL);
    ASSERT(strstr(txt, "connector_metric_series_dropped_total 2\n") != NULL);
    ASSERT(strstr(txt, "contract_type=\"3\"") != NULL);
    ASSERT(strstr(txt, "contract_type=\"4\"") == NULL);
    free(txt);
    cdl_metrics_destroy(m);
}

static void test_summary(void)
{
    struct cdl_metrics *m = cdl_metrics_create(0);
    cdl_series_add(cdl_metrics_series(m, CDL_M_FRAMES_REJECTED, "binance", "spot", "bad_json"), 3);
    cdl_metrics_series(m, CDL_M_DUPLICATES, "binance", "spot");       /* zero: left out */
    cdl_series_set(cdl_metrics_series(m, CDL_M_QUEUE_DEPTH_OPEN), 5); /* gauge: left out */
    cdl_series_add(cdl_metrics_series(m, CDL_M_QUEUE_BLOCKING), 2);
    char *txt = cdl_metrics_summary(m);
    ASSERT_STR_EQ(txt,
                  "connector_queue_blocking_events_total=2 connector_frames_rejected_total:binance,spot,bad_json=3");
    free(txt);
    cdl_metrics_destroy(m);
}

int main(void)
{
    TEST_RUN(test_summary);
    TEST_RUN(test_series_identity);
    TEST_RUN(test_exposition_exact);
    TEST_RUN(test_series_cap);
    return TEST_DONE();
}

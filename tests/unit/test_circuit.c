/* Unit tests for circuit.c: one breaker per name (markets and REST hosts, hosts normalised),
 * the state gauges and transition counters follow every change, the registry cap. */
#include <stdlib.h>

#include "circuit.h"
#include "log.h"
#include "metrics.h"
#include "test.h"

static struct cdl_breaker_policy policy(void)
{
    struct cdl_breaker_policy p = {
        .failure_threshold = 2, .half_open_calls = 1, .recovery_ms = 1000, .max_ms = 300000, .jitter_pct = 0
    };
    return p;
}

static double val(struct cdl_metrics *m, enum cdl_metric_id id, const char *a, const char *b, const char *c)
{
    return cdl_series_value(c   ? cdl_metrics_series(m, id, a, b, c)
                            : b ? cdl_metrics_series(m, id, a, b)
                                : cdl_metrics_series(m, id, a));
}

static void test_names(void)
{
    struct cdl_breaker_policy p = policy();
    struct cdl_circuits *cs = cdl_circuits_create(&p, NULL, 1);
    struct cdl_circuit *a = cdl_circuits_ws(cs, "binance", "spot");
    ASSERT(a == cdl_circuits_ws(cs, "binance", "spot"));
    ASSERT(a != cdl_circuits_ws(cs, "binance", "usdm"));
    ASSERT_STR_EQ(cdl_circuit_name(a), "binance/spot");
    struct cdl_circuit *h = cdl_circuits_rest(cs, "https://API.binance.com/api/v3/klines?symbol=X");
    ASSERT_STR_EQ(cdl_circuit_name(h), "api.binance.com:443");
    ASSERT(h == cdl_circuits_rest(cs, "https://api.binance.com:443/fapi"));
    ASSERT(h == cdl_circuits_rest(cs, "https://user@api.binance.com"));
    struct cdl_circuit *l = cdl_circuits_rest(cs, "http://127.0.0.1:9001/api");
    ASSERT_STR_EQ(cdl_circuit_name(l), "127.0.0.1:9001");
    ASSERT_STR_EQ(cdl_circuit_name(cdl_circuits_rest(cs, "http://[::1]/x")), "[::1]:80");
    ASSERT_STR_EQ(cdl_circuit_name(cdl_circuits_rest(cs, "http://[::1]:81")), "[::1]:81");
    ASSERT(cdl_circuits_rest(cs, "ftp://h/") == NULL);
    ASSERT(cdl_circuits_rest(cs, "http:///path") == NULL);
    ASSERT(cdl_circuits_rest(cs, "") == NULL);
    cdl_circuits_destroy(cs);
    cdl_circuits_destroy(NULL);
}

/* A WebSocket market breaker through one full cycle: the gauge and the counters follow. */
static void test_metrics_follow_ws(void)
{
    struct cdl_metrics *m = cdl_metrics_create(0);
    struct cdl_breaker_policy p = policy();
    struct cdl_circuits *cs = cdl_circuits_create(&p, m, 1);
    struct cdl_circuit *c = cdl_circuits_ws(cs, "binance", "spot");
    ASSERT_EQ(val(m, CDL_M_CIRCUIT_STATE, "binance", "spot", NULL), 0);
    ASSERT_EQ(cdl_circuit_allow(c, 0), 1);
    cdl_circuit_failure(c, 0, "refused");
    ASSERT_EQ(cdl_circuit_state(c), CDL_BREAKER_CLOSED);
    ASSERT_EQ(cdl_circuit_failures(c), 1);
    cdl_circuit_failure(c, 0, "refused");
    ASSERT_EQ(cdl_circuit_failures(c), 2);
    ASSERT_EQ(val(m, CDL_M_CIRCUIT_STATE, "binance", "spot", NULL), 1);
    ASSERT_EQ(val(m, CDL_M_CIRCUIT_TRANSITIONS, "binance", "spot", "open"), 1);
    ASSERT_EQ(cdl_circuit_allow(c, 999), 0);
    ASSERT_EQ(cdl_circuit_next_allowed(c, 500), 1000);
    ASSERT_EQ(cdl_circuit_allow(c, 1000), 1);
    ASSERT_EQ(val(m, CDL_M_CIRCUIT_STATE, "binance", "spot", NULL), 2);
    ASSERT_EQ(val(m, CDL_M_CIRCUIT_TRANSITIONS, "binance", "spot", "half_open"), 1);
    cdl_circuit_failure(c, 1000, "refused");
    ASSERT_EQ(val(m, CDL_M_CIRCUIT_TRANSITIONS, "binance", "spot", "open"), 2);
    ASSERT_EQ(cdl_circuit_next_allowed(c, 1000), 3000);
    ASSERT_EQ(cdl_circuit_allow(c, 3000), 1);
    cdl_circuit_release(c);
    ASSERT_EQ(cdl_circuit_allow(c, 3001), 1);
    cdl_circuit_success(c, 3002);
    ASSERT_EQ(cdl_circuit_failures(c), 0);
    ASSERT_EQ(val(m, CDL_M_CIRCUIT_STATE, "binance", "spot", NULL), 0);
    ASSERT_EQ(val(m, CDL_M_CIRCUIT_TRANSITIONS, "binance", "spot", "closed"), 1);
    ASSERT_EQ(val(m, CDL_M_CIRCUIT_TRANSITIONS, "binance", "spot", "half_open"), 2);
    char *sum = cdl_metrics_summary(m);
    ASSERT(strstr(sum, "connector_circuit_breaker_transitions_total:binance,spot,open=2") != NULL);
    free(sum);
    cdl_circuits_destroy(cs);
    cdl_metrics_destroy(m);
}

/* REST hosts: their own metrics, labelled by host; Retry-After; refusals counted. */
static void test_metrics_follow_rest(void)
{
    struct cdl_metrics *m = cdl_metrics_create(0);
    struct cdl_breaker_policy p = policy();
    struct cdl_circuits *cs = cdl_circuits_create(&p, m, 1);
    struct cdl_circuit *c = cdl_circuits_rest(cs, "http://127.0.0.1:9001/api/v3/klines");
    ASSERT_EQ(val(m, CDL_M_REST_CIRCUIT_STATE, "127.0.0.1:9001", NULL, NULL), 0);
    cdl_circuit_retry_after(c, 100, 1500, "HTTP 429");
    ASSERT_EQ(val(m, CDL_M_REST_CIRCUIT_STATE, "127.0.0.1:9001", NULL, NULL), 1);
    ASSERT_EQ(val(m, CDL_M_REST_CIRCUIT_TRANSITIONS, "127.0.0.1:9001", "open", NULL), 1);
    ASSERT_EQ(cdl_circuit_next_allowed(c, 100), 1600);
    cdl_circuit_refused(c);
    cdl_circuit_refused(c);
    ASSERT_EQ(val(m, CDL_M_REST_CIRCUIT_REFUSED, "127.0.0.1:9001", NULL, NULL), 2);
    /* the WebSocket metrics were not touched */
    char *sum = cdl_metrics_summary(m);
    ASSERT(strstr(sum, "connector_circuit_breaker_transitions_total") == NULL);
    free(sum);
    cdl_circuits_destroy(cs);
    cdl_metrics_destroy(m);
}

/* Past CDL_CIRCUITS_MAX names a lookup returns NULL (no breaker), the existing ones stay. */
static void test_cap(void)
{
    struct cdl_breaker_policy p = policy();
    struct cdl_circuits *cs = cdl_circuits_create(&p, NULL, 1);
    char name[32];
    struct cdl_circuit *first = cdl_circuits_ws(cs, "x", "m0");
    for (int i = 1; i < CDL_CIRCUITS_MAX; i++) {
        snprintf(name, sizeof name, "m%d", i);
        ASSERT(cdl_circuits_ws(cs, "x", name) != NULL);
    }
    ASSERT(cdl_circuits_ws(cs, "x", "one-more") == NULL);
    ASSERT(cdl_circuits_rest(cs, "http://h:1/") == NULL);
    ASSERT(cdl_circuits_ws(cs, "x", "m0") == first);
    cdl_circuits_destroy(cs);
}

int main(void)
{
    cdl_log_setup(CDL_LOG_OFF, CDL_LOG_JSON, NULL);
    TEST_RUN(test_names);
    TEST_RUN(test_metrics_follow_ws);
    TEST_RUN(test_metrics_follow_rest);
    TEST_RUN(test_cap);
    return TEST_DONE();
}

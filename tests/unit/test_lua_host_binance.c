/* A full Binance usdm REST page through the real C host and the real adapter: what a golden file
 * cannot hold (a generated page of the market's rest_max_rows and one past it).  The recorded
 * frames and pages, of every exchange, are test_adapter_golden's (tests/fixtures/<exchange>/). */
#include "candle.h"
#include "lua_host.h"
#include "test.h"

#include <stdlib.h>

static struct cdl_lua_host *host;
static struct cdl_adapter *bn;

/* A page of n usdm rows from open time t0, one minute apart, in Binance's row layout. */
static char *usdm_body(int n, int64_t t0, size_t *len)
{
    size_t cap = (size_t)n * 160 + 16, k = 0;
    char *b = malloc(cap);
    b[k++] = '[';
    for (int i = 0; i < n; i++) {
        int64_t t = t0 + (int64_t)i * 60000;
        k += (size_t)snprintf(b + k, cap - k,
                              "%s[%lld,\"100.10\",\"101.20\",\"99.30\",\"100.%02d\",\"12.345\",%lld,"
                              "\"1234.5678\",%d,\"6.000\",\"600.0000\",\"0\"]",
                              i ? "," : "", (long long)t, i % 100, (long long)(t + 59999), i + 1);
    }
    b[k++] = ']';
    b[k] = '\0';
    *len = k;
    return b;
}

/* A full usdm page (1500 rows, the market's rest_max_rows) goes through whole, within the default
 * instruction budget; 100 rows more than that are refused, counted, named (the WebSocket path
 * still stops at CDL_PARSE_MAX: test_lua_host's "many").  The REST weights are in
 * tests/fixtures/binance/MANIFEST.golden. */
static void test_full_page_and_cap(void)
{
    const struct cdl_market *m = cdl_adapter_market(bn, "usdm");
    ASSERT_EQ(m->rest_max_rows, 1500);
    struct cdl_rest_query q = { "BTCUSDT",           "1m", 1700000040000, 1700000040000 + 1500LL * 60000 - 1, 1500,
                                "http://127.0.0.1:1" };
    size_t len;
    char *body = usdm_body(1500, 1700000040000, &len);
    static struct cdl_parse_result r;
    ASSERT_EQ(cdl_adapter_rest_parse(bn, m, &q, body, len, &r), 0);
    free(body);
    ASSERT_EQ(r.n, 1500);
    ASSERT_EQ(r.n_bad, 0);
    ASSERT_EQ(r.items[0].c.open_time, 1700000040000);
    ASSERT_EQ(r.items[1499].c.open_time, 1700000040000 + 1499LL * 60000);
    ASSERT_STR_EQ(r.items[1499].c.close, "100.99");
    ASSERT_EQ(r.items[1499].c.trades, 1500);
    body = usdm_body(1600, 1700000040000, &len);
    ASSERT_EQ(cdl_adapter_rest_parse(bn, m, &q, body, len, &r), 0);
    free(body);
    ASSERT_EQ(r.n, 1500);
    ASSERT_EQ(r.n_bad, 100);
    ASSERT_STR_EQ(r.bad_reason, "too_many_candles");
    ASSERT_EQ(r.items[1499].c.trades, 1500);
}

int main(void)
{
    struct cdl_lua_opts o = { .adapters_dir = CDL_SOURCE_DIR "/adapters", .lua_dir = CDL_SOURCE_DIR "/lua" };
    host = cdl_lua_host_create(&o, NULL);
    char err[512];
    if (cdl_lua_host_load(host, "binance", &bn, err, sizeof err)) {
        fprintf(stderr, "load: %s\n", err);
        return 1;
    }
    TEST_RUN(test_full_page_and_cap);
    cdl_lua_host_destroy(host);
    return TEST_DONE();
}

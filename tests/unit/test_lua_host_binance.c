/* The recorded Binance frames (tests/fixtures/binance) through the real C host and the real
 * adapter: proves the boundary end to end, down to the quote JSON text of interfaces.md. */
#include "candle.h"
#include "lua_host.h"
#include "test.h"

#include <stdlib.h>

static struct cdl_lua_host *host;
static struct cdl_adapter *bn;

static char *read_file(const char *name, size_t *len)
{
    return test_read_fixture("binance", name, len);
}

/* Parses every line of a recording; counts candles, closes, rejects. */
static void run_recording(const char *market, const char *file, int *n, int *closed, int *bad,
                          struct cdl_parsed_candle *first)
{
    size_t len;
    char *text = read_file(file, &len);
    const struct cdl_market *m = cdl_adapter_market(bn, market);
    int s = cdl_adapter_session_new(bn, m, m->ws_url, 1);
    static struct cdl_parse_result r;
    *n = *closed = *bad = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (cdl_adapter_parse(bn, s, line, strlen(line), &r) || r.rejected || r.n_bad) {
            (*bad)++;
            continue;
        }
        if (*n == 0 && r.n)
            *first = r.items[0];
        *n += r.n;
        for (int i = 0; i < r.n; i++)
            *closed += r.items[i].c.closed == 1;
    }
    cdl_adapter_session_free(bn, s);
    free(text);
}

static void test_spot_quote_is_the_interfaces_example(void)
{
    int n, closed, bad;
    struct cdl_parsed_candle c;
    run_recording("spot", "spot_ws_combined_kline_1m.jsonl", &n, &closed, &bad, &c);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(bad, 0);
    ASSERT_STR_EQ(c.symbol, "NKNUSDT");
    struct cdl_quote_meta meta = { .exchange = "binance", .contract_type = "spot", .symbol = "NKNUSDT", .interval = "1m" };
    char buf[512];
    ASSERT(cdl_quote_json(buf, sizeof buf, &meta, &c.c) > 0);
    ASSERT_STR_EQ(buf, "{\"type\":\"quote\",\"exchange\":\"binance\",\"contract_type\":\"spot\",\"symbol\":\"NKNUSDT\","
                       "\"interval\":\"1m\",\"timestamp\":1633998480000,\"open\":0.35270000,\"high\":0.35280000,"
                       "\"low\":0.35220000,\"close\":0.35280000,\"volume\":25877.00000000,\"is_closed\":false,"
                       "\"close_time\":1633998539999,\"quote_volume\":9116.04600000,\"trades\":30}");
}

static void test_usdm_and_coinm_recordings(void)
{
    int n, closed, bad;
    struct cdl_parsed_candle c;
    run_recording("usdm", "usdm_ws_combined_kline_1m.jsonl", &n, &closed, &bad, &c);
    ASSERT_EQ(n, 67);
    ASSERT_EQ(closed, 4);
    ASSERT_EQ(bad, 0);
    run_recording("coinm", "coinm_ws_combined_kline_1m.jsonl", &n, &closed, &bad, &c);
    ASSERT_EQ(n, 33);
    ASSERT_EQ(bad, 0);
    ASSERT_STR_EQ(c.symbol, "ETHUSD_210924");
    ASSERT_STR_EQ(c.c.volume, "9.49653573");
    ASSERT_STR_EQ(c.c.quote_volume, "");
}

static void test_rest_page(void)
{
    size_t len;
    char *body = read_file("spot_rest_klines_btcusdt_1m.json", &len);
    const struct cdl_market *m = cdl_adapter_market(bn, "spot");
    struct cdl_rest_query q = { "BTCUSDT", "1m", 1634943780000, 1634944379999, 1000, "http://127.0.0.1:1" };
    struct cdl_rest_req req;
    ASSERT_EQ(cdl_adapter_rest_request(bn, m, &q, &req), 0);
    ASSERT_STR_EQ(req.url, "http://127.0.0.1:1/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=1634943780000"
                           "&endTime=1634944379999&limit=1000");
    cdl_rest_req_clear(&req);
    static struct cdl_parse_result r;
    ASSERT_EQ(cdl_adapter_rest_parse(bn, m, &q, body, len, &r), 0);
    free(body);
    ASSERT_EQ(r.n, 10);
    ASSERT_EQ(r.n_bad, 0);
    ASSERT_STR_EQ(r.items[0].symbol, "");
    ASSERT_EQ(r.items[0].c.open_time, 1634943780000);
    ASSERT_STR_EQ(r.items[0].c.open, "60685.22000000");
    ASSERT_STR_EQ(r.items[0].c.quote_volume, "1313200.01340410");
    ASSERT_EQ(r.items[0].c.trades, 617);
    ASSERT_EQ(r.items[0].c.closed, -1);
    ASSERT_EQ(r.items[9].c.open_time, 1634944320000);
}

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
 * still stops at CDL_PARSE_MAX: test_lua_host's "many").  The weights follow Binance's table. */
static void test_full_page_and_cap(void)
{
    const struct cdl_market *m = cdl_adapter_market(bn, "usdm");
    ASSERT_EQ(m->rest_max_rows, 1500);
    struct cdl_rest_query q = { "BTCUSDT", "1m", 1700000040000, 1700000040000 + 1500LL * 60000 - 1, 1500,
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

    const struct cdl_market *spot = cdl_adapter_market(bn, "spot");
    ASSERT(spot->rest_weight_per_minute == 6000);
    ASSERT(cdl_market_rest_weight(spot, 1) == 2 && cdl_market_rest_weight(spot, 1000) == 2);
    ASSERT(m->rest_weight_per_minute == 2400);
    static const int limits[] = { 1, 99, 100, 499, 500, 1000, 1001, 1500 };
    static const double weights[] = { 1, 1, 2, 2, 5, 5, 10, 10 };
    for (int i = 0; i < 8; i++)
        ASSERT(cdl_market_rest_weight(m, limits[i]) == weights[i]);
    ASSERT(cdl_adapter_market(bn, "coinm")->rest_weight_per_minute == 2400);
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
    TEST_RUN(test_spot_quote_is_the_interfaces_example);
    TEST_RUN(test_usdm_and_coinm_recordings);
    TEST_RUN(test_rest_page);
    TEST_RUN(test_full_page_and_cap);
    cdl_lua_host_destroy(host);
    return TEST_DONE();
}

/* The recorded Gate.io frames (tests/fixtures/gateio) through the real C host and the real
 * adapter: acks, the futures push with no closed flag (closed stays "unknown" for the core),
 * integer contract volumes, spot pushes without a base volume refused, the boundary's decimal
 * check, and a REST page down to the quote JSON text. */
#include "candle.h"
#include "lua_host.h"
#include "test.h"

static struct cdl_lua_host *host;
static struct cdl_adapter *gt;

/* Parses every line of a recording; counts acks, candles and rejections by reason. */
struct tally {
    int acks, candles, rejected, no_base_volume;
    struct cdl_parsed_candle first;
};

static void run_recording(const char *market, const char *file, struct tally *t)
{
    size_t len;
    char *text = test_read_fixture("gateio", file, &len);
    const struct cdl_market *m = cdl_adapter_market(gt, market);
    int s = cdl_adapter_session_new(gt, m, m->ws_url, 1);
    static struct cdl_parse_result r;
    memset(t, 0, sizeof *t);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (cdl_adapter_parse(gt, s, line, strlen(line), &r))
            continue;
        t->acks += r.event == CDL_EV_ACK;
        t->rejected += r.rejected;
        t->no_base_volume += r.rejected && !strcmp(r.reason, "no_base_volume");
        if (t->candles == 0 && r.n)
            t->first = r.items[0];
        t->candles += r.n;
    }
    cdl_adapter_session_free(gt, s);
    free(text);
}

static void test_futures_recording(void)
{
    struct tally t;
    run_recording("usdt", "futures_usdt_ws_candlesticks_1m.jsonl", &t);
    ASSERT_EQ(t.acks, 10);
    ASSERT_EQ(t.candles, 1);
    ASSERT_EQ(t.rejected, 0);
    ASSERT_STR_EQ(t.first.symbol, "FRONT_USDT");
    ASSERT_STR_EQ(t.first.interval, "1m");
    ASSERT_EQ(t.first.c.closed, -1); /* no flag on futures: the core decides */
    struct cdl_quote_meta meta = { .exchange = "gateio", .contract_type = "usdt", .symbol = "FRONT_USDT", .interval = "1m" };
    char buf[512];
    ASSERT(cdl_quote_json(buf, sizeof buf, &meta, &t.first.c) > 0);
    ASSERT_STR_EQ(buf, "{\"type\":\"quote\",\"exchange\":\"gateio\",\"contract_type\":\"usdt\",\"symbol\":\"FRONT_USDT\","
                       "\"interval\":\"1m\",\"timestamp\":1684930140000,\"open\":0.1701,\"high\":0.1701,"
                       "\"low\":0.1701,\"close\":0.1701,\"volume\":0,\"is_closed\":false}");
}

static void test_spot_recording_has_no_base_volume(void)
{
    struct tally t;
    run_recording("spot", "spot_ws_candlesticks_1m.jsonl", &t);
    ASSERT_EQ(t.acks, 10);
    ASSERT_EQ(t.candles, 0);
    ASSERT_EQ(t.no_base_volume, 14);
}

static void test_spot_push_through_the_boundary(void)
{
    static const char ok[] =
        "{\"time\":1606292600,\"time_ms\":1606292600376,\"channel\":\"spot.candlesticks\",\"event\":\"update\","
        "\"result\":{\"t\":\"1606292580\",\"v\":\"2362.32035\",\"c\":\"19128.1\",\"h\":\"19128.1\",\"l\":\"19128.1\","
        "\"o\":\"19128.1\",\"n\":\"1m_BTC_USDT\",\"a\":\"3.8283\",\"w\":true}}";
    static const char bad[] =
        "{\"time\":1606292600,\"time_ms\":1606292600376,\"channel\":\"spot.candlesticks\",\"event\":\"update\","
        "\"result\":{\"t\":\"1606292580\",\"v\":\"2362.32035\",\"c\":\"19,128.1\",\"h\":\"19128.1\",\"l\":\"19128.1\","
        "\"o\":\"19128.1\",\"n\":\"1m_BTC_USDT\",\"a\":\"3.8283\",\"w\":true}}";
    const struct cdl_market *m = cdl_adapter_market(gt, "spot");
    int s = cdl_adapter_session_new(gt, m, m->ws_url, 1);
    static struct cdl_parse_result r;
    ASSERT_EQ(cdl_adapter_parse(gt, s, ok, strlen(ok), &r), 0);
    ASSERT_EQ(r.n, 1);
    ASSERT_EQ(r.items[0].c.closed, 1);
    ASSERT_STR_EQ(r.items[0].c.volume, "3.8283");
    ASSERT_STR_EQ(r.items[0].c.quote_volume, "2362.32035");
    ASSERT_EQ(r.items[0].c.open_time, 1606292580000);
    ASSERT_EQ(cdl_adapter_parse(gt, s, bad, strlen(bad), &r), 0);
    ASSERT_EQ(r.n, 0);
    ASSERT_EQ(r.n_bad, 1);
    ASSERT_STR_EQ(r.bad_reason, "bad_close");
    cdl_adapter_session_free(gt, s);
}

static void test_rest_pages(void)
{
    size_t len;
    char *body = test_read_fixture("gateio", "spot_rest_candlesticks_btc_usdt_1h.hb.json", &len);
    const struct cdl_market *m = cdl_adapter_market(gt, "spot");
    struct cdl_rest_query q = { "BTC_USDT", "1h", 1685167200000, 1685178000000, 1000, "http://127.0.0.1:1" };
    struct cdl_rest_req req;
    ASSERT_EQ(cdl_adapter_rest_request(gt, m, &q, &req), 0);
    ASSERT_STR_EQ(req.url, "http://127.0.0.1:1/api/v4/spot/candlesticks?currency_pair=BTC_USDT&interval=1h"
                           "&from=1685167200&to=1685178000");
    cdl_rest_req_clear(&req);
    static struct cdl_parse_result r;
    ASSERT_EQ(cdl_adapter_rest_parse(gt, m, &q, body, len, &r), 0);
    free(body);
    ASSERT_EQ(r.n, 4);
    ASSERT_EQ(r.n_bad, 0);
    ASSERT_STR_EQ(r.items[0].c.open, "26728.1");
    ASSERT_STR_EQ(r.items[0].c.volume, "4.856410775");
    ASSERT_STR_EQ(r.items[0].c.quote_volume, "129807.73747903012");
    ASSERT_EQ(r.items[0].c.closed, -1);
    body = test_read_fixture("gateio", "futures_rest_candlesticks.hb.synthetic.json", &len);
    m = cdl_adapter_market(gt, "btc");
    ASSERT_EQ(cdl_adapter_rest_parse(gt, m, &q, body, len, &r), 0);
    free(body);
    ASSERT_EQ(r.n, 4);
    ASSERT_STR_EQ(r.items[3].c.volume, "97151");
    ASSERT_EQ(r.items[3].c.open_time, 1685178000000);
}

int main(void)
{
    struct cdl_lua_opts o = { .adapters_dir = CDL_SOURCE_DIR "/adapters", .lua_dir = CDL_SOURCE_DIR "/lua" };
    host = cdl_lua_host_create(&o, NULL);
    char err[512];
    if (cdl_lua_host_load(host, "gateio", &gt, err, sizeof err)) {
        fprintf(stderr, "load: %s\n", err);
        return 1;
    }
    TEST_RUN(test_futures_recording);
    TEST_RUN(test_spot_recording_has_no_base_volume);
    TEST_RUN(test_spot_push_through_the_boundary);
    TEST_RUN(test_rest_pages);
    cdl_lua_host_destroy(host);
    return TEST_DONE();
}

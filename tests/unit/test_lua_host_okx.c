/* The OKX fixtures (tests/fixtures/okx) through the real C host and the real adapter: pushes,
 * control frames, REST pages and the market_of hook, down to the quote JSON text. */
#include "candle.h"
#include "lua_host.h"
#include "test.h"

#include <stdlib.h>

static struct cdl_lua_host *host;
static struct cdl_adapter *okx;
static struct cdl_parse_result r;

static int parse_fixture(const char *market, const char *file)
{
    size_t len;
    char *text = test_read_fixture("okx", file, &len);
    if (!text)
        return -1;
    const struct cdl_market *m = cdl_adapter_market(okx, market);
    int s = cdl_adapter_session_new(okx, m, m->ws_url, 1);
    int rc = cdl_adapter_parse(okx, s, text, len, &r); /* pretty-printed: the extractor skips whitespace */
    cdl_adapter_session_free(okx, s);
    free(text);
    return rc;
}

static void test_push_to_quote(void)
{
    ASSERT_EQ(parse_fixture("spot", "spot_ws_candle1H_confirm0.hb.json"), 0);
    ASSERT_EQ(r.rejected, 0);
    ASSERT_EQ(r.n, 1);
    ASSERT_EQ(r.n_bad, 0);
    ASSERT_STR_EQ(r.items[0].symbol, "BTC-USDT");
    ASSERT_STR_EQ(r.items[0].interval, "1H");
    ASSERT_EQ(r.items[0].c.closed, 0);
    struct cdl_quote_meta meta = { .exchange = "okx", .contract_type = "spot", .symbol = "BTC-USDT", .interval = "1h" };
    char buf[512];
    ASSERT(cdl_quote_json(buf, sizeof buf, &meta, &r.items[0].c) > 0);
    ASSERT_STR_EQ(buf, "{\"type\":\"quote\",\"exchange\":\"okx\",\"contract_type\":\"spot\",\"symbol\":\"BTC-USDT\","
                       "\"interval\":\"1h\",\"timestamp\":1705435200000,\"open\":43169.8,\"high\":43370,"
                       "\"low\":43168,\"close\":43239,\"volume\":297.60067612,\"is_closed\":false,"
                       "\"quote_volume\":12874025.740848533}");
    ASSERT_EQ(parse_fixture("spot", "spot_ws_candle1H_confirm1.hb.json"), 0);
    ASSERT_EQ(r.items[0].c.closed, 1);
    ASSERT_EQ(r.items[0].c.close_time, -1);
    ASSERT_EQ(r.items[0].c.trades, -1);
}

static void test_control_frames(void)
{
    size_t len;
    char *text = test_read_fixture("okx", "ws_control.docsample.jsonl", &len);
    const struct cdl_market *m = cdl_adapter_market(okx, "swap");
    int s = cdl_adapter_session_new(okx, m, m->ws_url, 1);
    static const enum cdl_parse_event want[] = { CDL_EV_ACK, CDL_EV_ACK, CDL_EV_ERROR, CDL_EV_RECONNECT, CDL_EV_PONG };
    int i = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), i++) {
        ASSERT(i < 5);
        ASSERT_EQ(cdl_adapter_parse(okx, s, line, strlen(line), &r), 0);
        ASSERT_EQ(r.rejected, 0);
        ASSERT_EQ(r.event, want[i]);
        if (want[i] == CDL_EV_RECONNECT)
            ASSERT_STR_EQ(r.message, "The connection will soon be closed for a service upgrade. Please reconnect. "
                                     "(code 64008)");
    }
    ASSERT_EQ(i, 5);
    ASSERT_EQ(cdl_adapter_parse(okx, s, "{\"arg\":", 7, &r), 0);
    ASSERT_EQ(r.rejected, 1);
    ASSERT_STR_EQ(r.reason, "bad_json");
    cdl_adapter_session_free(okx, s);
    free(text);
}

static void test_rest_page(void)
{
    size_t len;
    char *body = test_read_fixture("okx", "swap_rest_history_candles_btc-usdt-swap_1H.hb.json", &len);
    const struct cdl_market *m = cdl_adapter_market(okx, "swap");
    struct cdl_rest_query q = { "BTC-USDT-SWAP", "1H", 1718647200000, 1718658000000, 300, "http://127.0.0.1:1" };
    struct cdl_rest_req req;
    ASSERT_EQ(cdl_adapter_rest_request(okx, m, &q, &req), 0);
    ASSERT_STR_EQ(req.url, "http://127.0.0.1:1/api/v5/market/candles?instId=BTC-USDT-SWAP&bar=1H&after=1718658000001"
                           "&before=1718647199999&limit=300");
    cdl_rest_req_clear(&req);
    ASSERT_EQ(cdl_adapter_rest_parse(okx, m, &q, body, len, &r), 0);
    free(body);
    ASSERT_EQ(r.n, 4);
    ASSERT_EQ(r.n_bad, 0);
    ASSERT_EQ(r.items[0].c.open_time, 1718658000000); /* newest first; the feed sorts */
    ASSERT_STR_EQ(r.items[0].c.volume, "2016.056");   /* volCcy: BTC, not contracts */
    ASSERT_STR_EQ(r.items[0].c.quote_volume, "134181486.8892");
    ASSERT_EQ(r.items[0].c.closed, 1);
    ASSERT_EQ(r.items[3].c.open_time, 1718647200000);
}

static void test_market_of(void)
{
    ASSERT(cdl_adapter_has_market_of(okx));
    ASSERT(cdl_adapter_market_of(okx, "BTC-USDT") == cdl_adapter_market(okx, "spot"));
    ASSERT(cdl_adapter_market_of(okx, "eth-usdt-swap") == cdl_adapter_market(okx, "swap"));
    ASSERT(cdl_adapter_market_of(okx, "BTC-USD-250328") == cdl_adapter_market(okx, "futures"));
    ASSERT(cdl_adapter_market_of(okx, "BTC-USD-250328-100000-C") == NULL);
    char out[CDL_SYMBOL_MAX], why[256] = "";
    ASSERT(cdl_adapter_symbol(okx, cdl_adapter_market(okx, "futures"), "BTC-USDT-SWAP", out, sizeof out, why,
                              sizeof why) != 0);
    ASSERT_STR_EQ(why, "BTC-USDT-SWAP is a swap instrument, not futures");
}

int main(void)
{
    struct cdl_lua_opts o = { .adapters_dir = CDL_SOURCE_DIR "/adapters", .lua_dir = CDL_SOURCE_DIR "/lua" };
    host = cdl_lua_host_create(&o, NULL);
    char err[512];
    if (cdl_lua_host_load(host, "okx", &okx, err, sizeof err)) {
        fprintf(stderr, "load: %s\n", err);
        return 1;
    }
    TEST_RUN(test_push_to_quote);
    TEST_RUN(test_control_frames);
    TEST_RUN(test_rest_page);
    TEST_RUN(test_market_of);
    cdl_lua_host_destroy(host);
    return TEST_DONE();
}

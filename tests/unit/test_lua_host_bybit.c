/* The Bybit fixtures (tests/fixtures/bybit) through the real C host and the real adapter: the
 * boundary end to end, down to the quote JSON text of interfaces.md, for a push, the control
 * frames and a newest-first REST page. */
#include "candle.h"
#include "lua_host.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

static struct cdl_lua_host *host;
static struct cdl_adapter *bb;

static char *read_file(const char *name, size_t *len)
{
    return test_read_fixture("bybit", name, len);
}

static int parse_file(const char *market, const char *file, struct cdl_parse_result *r)
{
    size_t len;
    char *text = read_file(file, &len);
    if (!text)
        return -1;
    const struct cdl_market *m = cdl_adapter_market(bb, market);
    int s = cdl_adapter_session_new(bb, m, m->ws_url, 1);
    int rc = cdl_adapter_parse(bb, s, text, len, r);
    cdl_adapter_session_free(bb, s);
    free(text);
    return rc;
}

static void test_doc_sample_push_is_an_exact_quote(void)
{
    static struct cdl_parse_result r;
    ASSERT_EQ(parse_file("linear", "ws_kline_5_btcusdt.docsample.json", &r), 0);
    ASSERT_EQ(r.n, 1);
    ASSERT_EQ(r.n_bad, 0);
    ASSERT_STR_EQ(r.items[0].symbol, "BTCUSDT");
    ASSERT_STR_EQ(r.items[0].interval, "5");
    struct cdl_quote_meta meta = { .exchange = "bybit", .contract_type = "linear", .symbol = "BTCUSDT", .interval = "5m" };
    char buf[512];
    ASSERT(cdl_quote_json(buf, sizeof buf, &meta, &r.items[0].c) > 0);
    ASSERT_STR_EQ(buf, "{\"type\":\"quote\",\"exchange\":\"bybit\",\"contract_type\":\"linear\",\"symbol\":\"BTCUSDT\","
                       "\"interval\":\"5m\",\"timestamp\":1672324800000,\"open\":16649.5,\"high\":16677,\"low\":16608,"
                       "\"close\":16677,\"volume\":2.081,\"is_closed\":false,\"close_time\":1672325099999,"
                       "\"quote_volume\":34666.4005}");
}

static void test_inverse_close_and_two_candles(void)
{
    static struct cdl_parse_result r;
    ASSERT_EQ(parse_file("inverse", "ws_kline_60_btcusd_inverse_confirm.synthetic.json", &r), 0);
    ASSERT_EQ(r.n, 1);
    ASSERT_EQ(r.items[0].c.closed, 1);
    ASSERT_STR_EQ(r.items[0].c.volume, "0.24469757");
    ASSERT_STR_EQ(r.items[0].c.quote_volume, "4177");
    ASSERT_EQ(parse_file("spot", "ws_kline_1_two_candles.synthetic.json", &r), 0);
    ASSERT_EQ(r.n, 2);
    ASSERT_EQ(r.items[0].c.closed, 1);
    ASSERT_EQ(r.items[1].c.closed, 0);
    ASSERT_STR_EQ(r.items[1].symbol, "ETHUSDT");
    ASSERT_EQ(r.items[1].c.open_time, 1672324800000);
}

static void test_control_frames(void)
{
    static struct cdl_parse_result r;
    size_t len;
    char *text = read_file("ws_control.docsample.jsonl", &len);
    const struct cdl_market *m = cdl_adapter_market(bb, "spot");
    int s = cdl_adapter_session_new(bb, m, m->ws_url, 1);
    enum cdl_parse_event want[] = { CDL_EV_ACK, CDL_EV_ACK, CDL_EV_PONG, CDL_EV_PONG, CDL_EV_PONG };
    int i = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), i++) {
        ASSERT_EQ(cdl_adapter_parse(bb, s, line, strlen(line), &r), 0);
        ASSERT_EQ(r.rejected, 0);
        ASSERT_EQ(r.n, 0);
        ASSERT_EQ((int)r.event, (int)want[i]);
    }
    ASSERT_EQ(i, 5);
    free(text);
    const char *err = "{\"success\":false,\"ret_msg\":\"args size \\u003e10\",\"conn_id\":\"x\",\"op\":\"subscribe\"}";
    ASSERT_EQ(cdl_adapter_parse(bb, s, err, strlen(err), &r), 0);
    ASSERT_EQ((int)r.event, (int)CDL_EV_ERROR);
    ASSERT_STR_EQ(r.message, "args size >10 (op subscribe)");
    ASSERT_EQ(cdl_adapter_parse(bb, s, "{\"topic\":\"kline.5.BTCUSDT\",", 26, &r), 0);
    ASSERT_EQ(r.rejected, 1);
    ASSERT_STR_EQ(r.reason, "bad_json");
    cdl_adapter_session_free(bb, s);
}

static void test_rest_page_newest_first(void)
{
    size_t len;
    char *body = read_file("spot_rest_kline_btcusdt_60.hb.json", &len);
    const struct cdl_market *m = cdl_adapter_market(bb, "spot");
    struct cdl_rest_query q = { "BTCUSDT", "60", 1715162400000, 1715180000000, 1000, "http://127.0.0.1:1" };
    struct cdl_rest_req req;
    ASSERT_EQ(cdl_adapter_rest_request(bb, m, &q, &req), 0);
    ASSERT_STR_EQ(req.url, "http://127.0.0.1:1/v5/market/kline?category=spot&symbol=BTCUSDT&interval=60"
                           "&start=1715162400000&end=1715180000000&limit=1000");
    cdl_rest_req_clear(&req);
    static struct cdl_parse_result r;
    ASSERT_EQ(cdl_adapter_rest_parse(bb, m, &q, body, len, &r), 0);
    free(body);
    ASSERT_EQ(r.n, 5);
    ASSERT_EQ(r.n_bad, 0);
    ASSERT_EQ(r.items[0].c.open_time, 1715176800000); /* as sent: newest first (the feed sorts) */
    ASSERT_EQ(r.items[0].c.close_time, 1715180399999);
    ASSERT_STR_EQ(r.items[0].c.quote_volume, "44137837.83110939");
    ASSERT_EQ(r.items[0].c.closed, -1);
    ASSERT_EQ(r.items[0].c.trades, -1);
    ASSERT_STR_EQ(r.items[4].c.volume, "421.80928");
}

int main(void)
{
    struct cdl_lua_opts o = { .adapters_dir = CDL_SOURCE_DIR "/adapters", .lua_dir = CDL_SOURCE_DIR "/lua" };
    host = cdl_lua_host_create(&o, NULL);
    char err[512];
    if (cdl_lua_host_load(host, "bybit", &bb, err, sizeof err)) {
        fprintf(stderr, "load: %s\n", err);
        return 1;
    }
    TEST_RUN(test_doc_sample_push_is_an_exact_quote);
    TEST_RUN(test_inverse_close_and_two_candles);
    TEST_RUN(test_control_frames);
    TEST_RUN(test_rest_page_newest_first);
    cdl_lua_host_destroy(host);
    return TEST_DONE();
}

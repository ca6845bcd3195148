/* The Hyperliquid fixtures (tests/fixtures/hyperliquid) through the real C host and the real
 * adapter: every payload shape down to the quote JSON text, the control events, candles without
 * a closed flag (-1: the core infers), and the POST /info candleSnapshot request and page. */
#include "candle.h"
#include "lua_host.h"
#include "test.h"

#include <stdlib.h>

static struct cdl_lua_host *host;
static struct cdl_adapter *hl;

static char *read_file(const char *name, size_t *len)
{
    return test_read_fixture("hyperliquid", name, len);
}

static const char *const QUOTE_HEAD =
    "{\"type\":\"quote\",\"exchange\":\"hyperliquid\",\"contract_type\":\"perp\",\"symbol\":\"BTC\","
    "\"interval\":\"1m\",\"timestamp\":1710146280000,\"open\":71400.0,\"high\":71422.0,\"low\":71389.0,";

/* Every line of ws_frames.synthetic.jsonl: three candles (object, array, numbers), the events. */
static void test_ws_frames(void)
{
    size_t len;
    char *text = read_file("ws_frames.synthetic.jsonl", &len);
    ASSERT(text != NULL);
    const struct cdl_market *m = cdl_adapter_market(hl, "perp");
    int s = cdl_adapter_session_new(hl, m, m->ws_url, 1);
    static struct cdl_parse_result r;
    static const char *const tails[] = {
        "\"close\":71411.0,\"volume\":1.20407,\"is_closed\":false,\"close_time\":1710146339999,\"trades\":20}",
        "\"close\":71415.0,\"volume\":1.30407,\"is_closed\":false,\"close_time\":1710146339999,\"trades\":21}",
        "\"close\":71416.0,\"volume\":1.40407,\"is_closed\":false,\"close_time\":1710146339999,\"trades\":22}",
    };
    const int events[] = { CDL_EV_NONE, CDL_EV_ACK, CDL_EV_NONE, CDL_EV_NONE, CDL_EV_NONE, CDL_EV_PONG,
                           CDL_EV_ERROR, CDL_EV_ACK };
    int line_no = 0, candles = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), line_no++) {
        ASSERT(line_no < 8);
        ASSERT_EQ(cdl_adapter_parse(hl, s, line, strlen(line), &r), 0);
        ASSERT_EQ(r.rejected, 0);
        ASSERT_EQ(r.n_bad, 0);
        ASSERT_EQ((int)r.event, events[line_no]);
        for (int i = 0; i < r.n; i++, candles++) {
            char buf[512], want[512];
            struct cdl_quote_meta meta = { .exchange = "hyperliquid", .contract_type = "perp", .symbol = "BTC", .interval = "1m" };
            ASSERT_STR_EQ(r.items[i].symbol, "BTC");
            ASSERT_STR_EQ(r.items[i].interval, "1m");
            ASSERT_EQ(r.items[i].c.closed, -1);
            ASSERT(cdl_quote_json(buf, sizeof buf, &meta, &r.items[i].c) > 0);
            snprintf(want, sizeof want, "%s%s", QUOTE_HEAD, tails[candles]);
            ASSERT_STR_EQ(buf, want);
        }
        if (r.event == CDL_EV_ERROR)
            ASSERT_STR_EQ(r.message, "Already subscribed: {\"type\":\"candle\",\"interval\":\"1m\",\"coin\":\"BTC\"}");
    }
    ASSERT_EQ(line_no, 8);
    ASSERT_EQ(candles, 3);
    cdl_adapter_session_free(hl, s);
    free(text);
}

static void test_rest_request_and_page(void)
{
    const struct cdl_market *m = cdl_adapter_market(hl, "spot");
    ASSERT(m != NULL);
    struct cdl_rest_query q = { "@1", "1h", 1718895600000, 1718913599999, 500, "http://127.0.0.1:1" };
    struct cdl_rest_req req;
    ASSERT_EQ(cdl_adapter_rest_request(hl, m, &q, &req), 0);
    ASSERT_STR_EQ(req.url, "http://127.0.0.1:1/info");
    ASSERT_STR_EQ(req.method, "POST");
    ASSERT_STR_EQ(req.body, "{\"type\":\"candleSnapshot\",\"req\":{\"coin\":\"@1\",\"interval\":\"1h\","
                            "\"startTime\":1718895600000,\"endTime\":1718913599999}}");
    ASSERT_STR_EQ(req.headers[0], "Content-Type: application/json");
    ASSERT(req.headers[1] == NULL);
    cdl_rest_req_clear(&req);
    size_t len;
    char *body = read_file("spot_rest_candleSnapshot_at1_1h.hb.json", &len);
    ASSERT(body != NULL);
    static struct cdl_parse_result r;
    ASSERT_EQ(cdl_adapter_rest_parse(hl, m, &q, body, len, &r), 0);
    free(body);
    ASSERT_EQ(r.rejected, 0);
    ASSERT_EQ(r.n, 5);
    ASSERT_EQ(r.n_bad, 0);
    ASSERT_STR_EQ(r.items[0].symbol, "@1");
    ASSERT_EQ(r.items[0].c.open_time, 1718895600000);
    ASSERT_EQ(r.items[0].c.close_time, 1718899199999);
    ASSERT_STR_EQ(r.items[0].c.open, "7.8095");
    ASSERT_STR_EQ(r.items[0].c.close, "7.765");
    ASSERT_STR_EQ(r.items[0].c.volume, "1746.14");
    ASSERT_STR_EQ(r.items[0].c.quote_volume, "");
    ASSERT_EQ(r.items[0].c.trades, 267);
    ASSERT_EQ(r.items[0].c.closed, -1);
    ASSERT_EQ(r.items[4].c.open_time, 1718910000000);
    ASSERT_EQ(cdl_adapter_rest_parse(hl, m, &q, "{\"error\":\"x\"}", 13, &r), 0);
    ASSERT_EQ(r.rejected, 1);
    ASSERT_STR_EQ(r.reason, "exchange_error");
}

int main(void)
{
    struct cdl_lua_opts o = { .adapters_dir = CDL_SOURCE_DIR "/adapters", .lua_dir = CDL_SOURCE_DIR "/lua" };
    host = cdl_lua_host_create(&o, NULL);
    char err[512];
    if (cdl_lua_host_load(host, "hyperliquid", &hl, err, sizeof err)) {
        fprintf(stderr, "load: %s\n", err);
        return 1;
    }
    TEST_RUN(test_ws_frames);
    TEST_RUN(test_rest_request_and_page);
    cdl_lua_host_destroy(host);
    return TEST_DONE();
}

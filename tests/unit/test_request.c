/* test_request.c - the WebSocket API's request parser: every field, every error code. */
#include "test.h"

#include "err.h"
#include "jsonscan.h"
#include "request.h"

static struct cdl_jsonscan *scan;

static int parse(const char *text, int max, struct cdl_request *rq, const char **code, char *msg)
{
    *code = "";
    return cdl_request_parse(scan, text, strlen(text), max, rq, code, msg, 256);
}

static void test_subscribe(void)
{
    struct cdl_request rq;
    const char *code;
    char msg[256];
    ASSERT_EQ(parse("{\"exchange\":\"binance\",\"contract_type\":\"usdm\",\"symbols\":[\"BTCUSDT\", \"eth\\u0055SDT\"],"
                    "\"interval\":\"1h\",\"limit\":7,\"closed_only\":true,\"extra\":{\"a\":[1]}}",
                    10, &rq, &code, msg),
              0);
    ASSERT_EQ(rq.op, CDL_REQ_SUBSCRIBE);
    ASSERT_STR_EQ(rq.exchange, "binance");
    ASSERT_STR_EQ(rq.market, "usdm");
    ASSERT_STR_EQ(rq.interval, "1h");
    ASSERT_EQ(rq.limit, 7);
    ASSERT_EQ(rq.closed_only, 1);
    ASSERT_EQ(rq.n_symbols, 2);
    ASSERT_STR_EQ(rq.symbols[0], "BTCUSDT");
    ASSERT_STR_EQ(rq.symbols[1], "ethUSDT");
    cdl_request_clear(&rq);
    /* defaults; "market" is an alias of contract_type */
    ASSERT_EQ(parse(" {\"symbols\":[\"X\"],\"market\":\"spot\",\"exchange\":\"okx\"} ", 10, &rq, &code, msg), 0);
    ASSERT_STR_EQ(rq.market, "spot");
    ASSERT_STR_EQ(rq.interval, "1m");
    ASSERT_EQ(rq.limit, 0);
    ASSERT_EQ(rq.closed_only, 0);
    cdl_request_clear(&rq);
    ASSERT_EQ(parse("{\"op\":\"unsubscribe\",\"exchange\":\"binance\",\"symbols\":[\"A\",\"B\",\"C\"]}", 3, &rq, &code,
                    msg),
              0);
    ASSERT_EQ(rq.op, CDL_REQ_UNSUBSCRIBE);
    ASSERT_EQ(rq.n_symbols, 3);
    cdl_request_clear(&rq);
    ASSERT_EQ(parse("{\"op\":\"ping\"}", 3, &rq, &code, msg), 0);
    ASSERT_EQ(rq.op, CDL_REQ_PING);
    cdl_request_clear(&rq);
}

static void expect(const char *text, const char *want_code, const char *want_msg)
{
    struct cdl_request rq;
    const char *code;
    char msg[256];
    int rc = parse(text, 4, &rq, &code, msg);
    cdl_request_clear(&rq);
    if (rc != CDL_EINVAL || strcmp(code, want_code) || (want_msg && strcmp(msg, want_msg)))
        TEST_FAIL_("%s\n    got      %d %s \"%s\"\n    expected %s \"%s\"", text, rc, code, msg, want_code,
                   want_msg ? want_msg : "...");
}

static void test_errors(void)
{
    expect("", "bad_json", NULL);
    expect("{\"exchange\":\"binance\",", "bad_json", NULL);
    expect("{\"a\":1} x", "bad_json", NULL);
    expect("[]", "bad_request", "expected a JSON object");
    expect("\"text\"", "bad_request", "expected a JSON object");
    expect("{\"op\":\"dance\"}", "bad_request", "op: expected \"subscribe\", \"unsubscribe\" or \"ping\"");
    expect("{\"op\":1}", "bad_request", "op: expected \"subscribe\", \"unsubscribe\" or \"ping\"");
    expect("{\"symbols\":[\"X\"]}", "bad_request", "exchange: expected an exchange name");
    expect("{\"exchange\":\"\",\"symbols\":[\"X\"]}", "bad_request", "exchange: expected an exchange name");
    expect("{\"exchange\":5,\"symbols\":[\"X\"]}", "bad_request", "exchange: expected an exchange name");
    expect("{\"exchange\":\"b\",\"contract_type\":[],\"symbols\":[\"X\"]}", "bad_request",
           "contract_type: expected a market name");
    expect("{\"exchange\":\"b\",\"interval\":60,\"symbols\":[\"X\"]}", "bad_request",
           "interval: expected an interval name such as \"1m\"");
    expect("{\"exchange\":\"b\"}", "bad_request", "symbols: required");
    expect("{\"exchange\":\"b\",\"symbols\":[]}", "bad_request", "symbols: empty");
    expect("{\"exchange\":\"b\",\"symbols\":\"X\"}", "bad_request", "symbols: expected an array of symbol strings");
    expect("{\"exchange\":\"b\",\"symbols\":[\"X\",2]}", "bad_request", "symbols: expected an array of symbol strings");
    expect("{\"exchange\":\"b\",\"symbols\":[[\"X\"]]}", "bad_request", "symbols: expected an array of symbol strings");
    expect("{\"exchange\":\"b\",\"symbols\":[\"\"]}", "bad_request", "symbols: each must be 1 to 63 characters");
    expect("{\"exchange\":\"b\",\"symbols\":[\"a\\u0000b\"]}", "bad_request",
           "symbols: each must be 1 to 63 characters");
    expect("{\"exchange\":\"b\",\"symbols\":[\"0123456789012345678901234567890123456789012345678901234567890123\"]}",
           "bad_request", "symbols: each must be 1 to 63 characters");
    expect("{\"exchange\":\"b\",\"symbols\":[\"A\",\"B\",\"C\",\"D\",\"E\"]}", "too_many_symbols",
           "5 symbols in one request; at most 4");
    expect("{\"exchange\":\"b\",\"symbols\":[\"X\"],\"limit\":-1}", "bad_request",
           "limit: expected a non-negative integer");
    expect("{\"exchange\":\"b\",\"symbols\":[\"X\"],\"limit\":1.5}", "bad_request",
           "limit: expected a non-negative integer");
    expect("{\"exchange\":\"b\",\"symbols\":[\"X\"],\"limit\":\"5\"}", "bad_request",
           "limit: expected a non-negative integer");
    expect("{\"exchange\":\"b\",\"symbols\":[\"X\"],\"closed_only\":1}", "bad_request",
           "closed_only: expected true or false");
}

static void test_json_string(void)
{
    char buf[32];
    size_t n = 0;
    ASSERT_EQ(cdl_json_put_string(buf, sizeof buf, &n, "a\"b\\c\n"), 0);
    ASSERT_STR_EQ(buf, "\"a\\\"b\\\\c\\u000a\"");
    n = 0;
    ASSERT_EQ(cdl_json_put_string(buf, 8, &n, "0123456789"), CDL_ERANGE);
    ASSERT_EQ(n, 0);
    /* what goes out is UTF-8 whatever came in: each byte that starts no well-formed sequence
     * (a stray continuation, a character cut short, an overlong form, a surrogate, > U+10FFFF)
     * becomes U+FFFD; well-formed characters pass as they are */
    static const char *const in[][2] = {
        { "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"" },
        { "a\x80"
          "b",
          "\"a\\ufffdb\"" },
        { "x\xe2\x82", "\"x\\ufffd\\ufffd\"" },
        { "\xc0\xaf", "\"\\ufffd\\ufffd\"" },
        { "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" },
        { "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },
        { "\xff", "\"\\ufffd\"" },
    };
    char big[128];
    for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
        n = 0;
        ASSERT_EQ(cdl_json_put_string(big, sizeof big, &n, in[i][0]), 0);
        ASSERT_STR_EQ(big, in[i][1]);
    }
}

int main(void)
{
    scan = cdl_request_scanner();
    TEST_RUN(test_subscribe);
    TEST_RUN(test_errors);
    TEST_RUN(test_json_string);
    cdl_jsonscan_destroy(scan);
    return TEST_DONE();
}

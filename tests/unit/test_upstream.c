/* Unit tests for upstream.c's URL parsing (the connection itself is exercised end to end
 * against candled-sim in tests/e2e). */
#include "err.h"
#include "test.h"
#include "upstream.h"

static void test_url_ok(void)
{
    struct cdl_url u;
    ASSERT_EQ(cdl_url_parse("wss://stream.binance.com:9443/ws", &u), 0);
    ASSERT_EQ(u.tls, 1);
    ASSERT_STR_EQ(u.host, "stream.binance.com");
    ASSERT_EQ(u.port, 9443);
    ASSERT_STR_EQ(u.path, "/ws");
    ASSERT_EQ(cdl_url_parse("ws://127.0.0.1:9001/stream?streams=a@kline_1m/b@kline_1m", &u), 0);
    ASSERT_EQ(u.tls, 0);
    ASSERT_EQ(u.port, 9001);
    ASSERT_STR_EQ(u.path, "/stream?streams=a@kline_1m/b@kline_1m");
    ASSERT_EQ(cdl_url_parse("wss://fstream.binance.com", &u), 0);
    ASSERT_EQ(u.port, 443);
    ASSERT_STR_EQ(u.path, "/");
    ASSERT_EQ(cdl_url_parse("ws://h?x=1", &u), 0);
    ASSERT_EQ(u.port, 80);
    ASSERT_STR_EQ(u.path, "/?x=1");
}

static void test_url_bad(void)
{
    struct cdl_url u;
    const char *bad[] = { "http://x/ws", "ws://",      "ws://:80/", "ws://h:0/",   "ws://h:65536/",
                          "ws://h:x/",   "ws://h/a b", "wss//h",    "ws://h#frag", "" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (cdl_url_parse(bad[i], &u) != CDL_EINVAL) {
            TEST_FAIL_("accepted \"%s\"", bad[i]);
            return;
        }
}

int main(void)
{
    TEST_RUN(test_url_ok);
    TEST_RUN(test_url_bad);
    return TEST_DONE();
}

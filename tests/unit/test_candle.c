/* Unit tests for candle.c: decimal validation and the exact quote encodings. */
#include "candle.h"
#include "err.h"
#include "test.h"

static struct cdl_candle sample(void)
{
    struct cdl_candle c = { .open_time = 1633998480000, .close_time = -1, .trades = -1, .closed = 0 };
    strcpy(c.open, "0.35270000");
    strcpy(c.high, "0.35280000");
    strcpy(c.low, "0.35220000");
    strcpy(c.close, "0.35280000");
    strcpy(c.volume, "25877.00000000");
    return c;
}

static const struct cdl_quote_meta meta = {
    .exchange = "binance", .contract_type = "spot", .symbol = "NKNUSDT", .interval = "1m"
};

static void test_decimal_valid(void)
{
    const char *good[] = { "0", "-0", "0.35270000", "25877.00000000", "1e5", "1.5E-7", "-12.0e+3", "100" };
    const char *bad[] = { "",
                          "-",
                          ".5",
                          "5.",
                          "01",
                          "1e",
                          "1e+",
                          "+1",
                          "1.2.3",
                          "0x10",
                          "1 ",
                          " 1",
                          "NaN",
                          "inf",
                          "1,5",
                          "\"1\"",
                          "123456789012345678901234567890123456789012345678" };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        ASSERT(cdl_decimal_valid(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (cdl_decimal_valid(bad[i], strlen(bad[i]))) {
            TEST_FAIL_("accepted \"%s\"", bad[i]);
            return;
        }
}

static void test_quote_json_exact(void)
{
    struct cdl_candle c = sample();
    char buf[512];
    int n = cdl_quote_json(buf, sizeof buf, &meta, &c);
    ASSERT_STR_EQ(buf, "{\"type\":\"quote\",\"exchange\":\"binance\",\"contract_type\":\"spot\",\"symbol\":\"NKNUSDT\","
                       "\"interval\":\"1m\",\"timestamp\":1633998480000,\"open\":0.35270000,\"high\":0.35280000,"
                       "\"low\":0.35220000,\"close\":0.35280000,\"volume\":25877.00000000,\"is_closed\":false}");
    ASSERT_EQ(n, (int)strlen(buf));
}

static void test_quote_json_optional_fields(void)
{
    struct cdl_candle c = sample();
    c.closed = 1;
    c.close_time = 1633998539999;
    c.trades = 30;
    strcpy(c.quote_volume, "9116.04600000");
    char buf[512];
    struct cdl_quote_meta m = { .exchange = "binance", .contract_type = "spot", .symbol = "we\"ird", .interval = "1m" };
    ASSERT(cdl_quote_json(buf, sizeof buf, &m, &c) > 0);
    ASSERT(strstr(buf, "\"symbol\":\"we\\\"ird\"") != NULL);
    ASSERT(strstr(buf, ",\"is_closed\":true,\"close_time\":1633998539999,\"quote_volume\":9116.04600000,"
                       "\"trades\":30}") != NULL);
}

static void test_quote_json_overflow(void)
{
    struct cdl_candle c = sample();
    char buf[64];
    ASSERT_EQ(cdl_quote_json(buf, sizeof buf, &meta, &c), CDL_ERANGE);
    char exact[400];
    int n = cdl_quote_json(exact, sizeof exact, &meta, &c);
    ASSERT(n > 0);
    ASSERT_EQ(cdl_quote_json(exact, (size_t)n, &meta, &c), CDL_ERANGE);
    ASSERT_EQ(cdl_quote_json(exact, (size_t)n + 1, &meta, &c), n);
}

static void test_quote_csv(void)
{
    struct cdl_candle c = sample();
    char buf[512];
    ASSERT(cdl_quote_csv(buf, sizeof buf, &meta, &c) > 0);
    ASSERT_STR_EQ(buf, "binance,spot,NKNUSDT,1m,1633998480000,0.35270000,0.35280000,0.35220000,0.35280000,"
                       "25877.00000000,false,,,");
    c.closed = 1;
    c.trades = 7;
    c.close_time = 5;
    strcpy(c.quote_volume, "1.5");
    struct cdl_quote_meta m = { .exchange = "binance", .contract_type = "spot", .symbol = "A,B", .interval = "1m" };
    ASSERT(cdl_quote_csv(buf, sizeof buf, &m, &c) > 0);
    ASSERT_STR_EQ(buf, "binance,spot,\"A,B\",1m,1633998480000,0.35270000,0.35280000,0.35220000,0.35280000,"
                       "25877.00000000,true,5,1.5,7");
    ASSERT_STR_EQ(cdl_quote_csv_header(), "exchange,contract_type,symbol,interval,timestamp,open,high,low,close,"
                                          "volume,is_closed,close_time,quote_volume,trades");
}

static void test_integers(void)
{
    struct cdl_candle c = sample();
    char buf[512];
    c.open_time = 0;
    c.trades = 9223372036854775807LL;
    c.close_time = 1;
    ASSERT(cdl_quote_json(buf, sizeof buf, &meta, &c) > 0);
    ASSERT(strstr(buf, "\"timestamp\":0,") != NULL);
    ASSERT(strstr(buf, "\"close_time\":1,") != NULL);
    ASSERT(strstr(buf, "\"trades\":9223372036854775807}") != NULL);
    c.open_time = -1633998480000;
    ASSERT(cdl_quote_csv(buf, sizeof buf, &meta, &c) > 0);
    ASSERT(strstr(buf, ",1m,-1633998480000,") != NULL);
}

int main(void)
{
    TEST_RUN(test_integers);
    TEST_RUN(test_decimal_valid);
    TEST_RUN(test_quote_json_exact);
    TEST_RUN(test_quote_json_optional_fields);
    TEST_RUN(test_quote_json_overflow);
    TEST_RUN(test_quote_csv);
    return TEST_DONE();
}

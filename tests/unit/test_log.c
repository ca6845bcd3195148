/* Unit tests for log.c and err.c. */
#include "err.h"
#include "log.h"
#include "test.h"

#include <stdlib.h>

static char *capture(void (*fn)(void))
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cdl_log_setup(CDL_LOG_INFO, CDL_LOG_JSON, f);
    fn();
    fclose(f);
    cdl_log_setup(CDL_LOG_INFO, CDL_LOG_JSON, NULL);
    return buf;
}

static void log_escaped(void)
{
    cdl_log(CDL_LOG_WARN, "bad \"frame\"\n", "exchange", "binance", "raw", "a\\b\x01", NULL);
}
static void log_debug(void) { cdl_log(CDL_LOG_DEBUG, "hidden", NULL); }
static void log_limited(void)
{
    struct cdl_log_limit lim = { 0 };
    for (int i = 0; i < 5; i++)
        cdl_log_limited(&lim, 60000, CDL_LOG_ERROR, "garbage", "conn", "1", NULL);
    lim.window_start_ms -= 60001;
    cdl_log_limited(&lim, 60000, CDL_LOG_ERROR, "garbage", "conn", "1", NULL);
}

static void log_burst_flush(void)
{
    struct cdl_log_limit lim = { .burst = 3 };
    for (int i = 0; i < 10; i++)
        cdl_log_limited(&lim, 60000, CDL_LOG_WARN, "bad request", "client", "7", NULL);
    cdl_log_limit_flush(&lim);
    cdl_log_limit_flush(&lim); /* nothing left: no line */
}

static void test_burst_and_flush(void)
{
    char *out = capture(log_burst_flush);
    char *rest = out;
    int lines = 0;
    for (char *p = out; *p; p++)
        lines += *p == '\n';
    ASSERT_EQ(lines, 4);
    for (int i = 0; i < 3; i++) {
        rest = strstr(rest, "\"msg\":\"bad request\",\"client\":\"7\"}\n");
        ASSERT(rest != NULL);
        rest++;
    }
    ASSERT(strstr(rest, "\"level\":\"warn\",\"msg\":\"bad request\",\"suppressed\":\"7\"}\n") != NULL);
    free(out);
}

static void test_json_line(void)
{
    char *out = capture(log_escaped);
    /* the timestamp varies: check what follows it */
    char *rest = strstr(out, "\",\"level\"");
    ASSERT(!strncmp(out, "{\"ts\":\"20", 9));
    ASSERT_STR_EQ(rest, "\",\"level\":\"warn\",\"msg\":\"bad \\\"frame\\\"\\n\",\"exchange\":\"binance\","
                        "\"raw\":\"a\\\\b\\u0001\"}\n");
    free(out);
}

static void test_level_filter(void)
{
    char *out = capture(log_debug);
    ASSERT_STR_EQ(out, "");
    free(out);
}

static void test_rate_limit(void)
{
    char *out = capture(log_limited);
    int lines = 0;
    for (char *p = out; *p; p++)
        lines += *p == '\n';
    ASSERT_EQ(lines, 2);
    ASSERT(strstr(out, "\"suppressed\":\"4\"") != NULL);
    free(out);
}

static void test_parse_names(void)
{
    ASSERT_EQ(cdl_log_level_parse("debug"), CDL_LOG_DEBUG);
    ASSERT_EQ(cdl_log_level_parse("warning"), CDL_LOG_WARN);
    ASSERT_EQ(cdl_log_level_parse("loud"), -1);
    ASSERT_EQ(cdl_log_format_parse("text"), CDL_LOG_TEXT);
    ASSERT_EQ(cdl_log_format_parse("xml"), -1);
    ASSERT_STR_EQ(cdl_strerror(CDL_ENOTFOUND), "not found");
    ASSERT_STR_EQ(cdl_strerror(-999), "unknown error");
}

int main(void)
{
    TEST_RUN(test_json_line);
    TEST_RUN(test_level_filter);
    TEST_RUN(test_rate_limit);
    TEST_RUN(test_burst_and_flush);
    TEST_RUN(test_parse_names);
    return TEST_DONE();
}

/* test_clock.c - the CDL_TEST_CLOCK parser, the virtual-time formula, timer conversion, and
 * the process clock with and without a test clock. */
#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "err.h"
#include "test.h"

static int64_t real_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void test_parse_good(void)
{
    struct cdl_clock_spec s;
    char why[128];
    ASSERT_EQ(cdl_clock_parse("1765000000000x20", &s, why, sizeof why), 0);
    ASSERT_EQ(s.anchor_ms, 1765000000000LL);
    ASSERT(s.rate == 20.0);
    ASSERT_EQ(cdl_clock_parse("1765000000000x2.5", &s, why, sizeof why), 0);
    ASSERT(s.rate == 2.5);
    ASSERT_EQ(cdl_clock_parse("1765000000000x1", &s, why, sizeof why), 0);
    ASSERT(s.rate == 1.0);
    ASSERT_EQ(cdl_clock_parse("1765000000000x0.5", &s, why, sizeof why), 0);
    ASSERT(s.rate == 0.5);
    ASSERT_EQ(cdl_clock_parse("1765000000000x1000", &s, why, sizeof why), 0);
    ASSERT(s.rate == 1000.0);
    ASSERT_EQ(cdl_clock_parse("978307200000x3", &s, NULL, 0), 0); /* the lowest anchor, no why */
    ASSERT_EQ(s.anchor_ms, 978307200000LL);
}

/* Every malformed value is refused with its own reason, and leaves *out untouched. */
static void test_parse_bad(void)
{
    static const struct {
        const char *text, *reason;
    } bad[] = {
        { "", "empty; expected <anchor_ms>x<rate>, e.g. 1765000000000x20" },
        { "20", "no 'x'; expected <anchor_ms>x<rate>, e.g. 1765000000000x20" },
        { "x20", "the anchor is not a decimal number of Unix milliseconds" },
        { "-1765000000000x20", "the anchor is not a decimal number of Unix milliseconds" },
        { "1765000000000.5x20", "the anchor is not a decimal number of Unix milliseconds" },
        { "17650000000000x20", "the anchor is not a decimal number of Unix milliseconds" },
        { "1765000000x20", "the anchor is outside 2001..2100 (Unix milliseconds expected)" },
        { "5000000000000x20", "the anchor is outside 2001..2100 (Unix milliseconds expected)" },
        { "1765000000000x", "the rate is not a decimal number (e.g. 20 or 2.5)" },
        { "1765000000000x-2", "the rate is not a decimal number (e.g. 20 or 2.5)" },
        { "1765000000000x+2", "the rate is not a decimal number (e.g. 20 or 2.5)" },
        { "1765000000000x2e1", "the rate is not a decimal number (e.g. 20 or 2.5)" },
        { "1765000000000xinf", "the rate is not a decimal number (e.g. 20 or 2.5)" },
        { "1765000000000xnan", "the rate is not a decimal number (e.g. 20 or 2.5)" },
        { "1765000000000x0x10", "the rate is not a decimal number (e.g. 20 or 2.5)" },
        { "1765000000000x2.", "the rate is not a decimal number (e.g. 20 or 2.5)" },
        { "1765000000000x.5", "the rate is not a decimal number (e.g. 20 or 2.5)" },
        { "1765000000000x1.2.3", "the rate is not a decimal number (e.g. 20 or 2.5)" },
        { "1765000000000x20 ", "the rate is not a decimal number (e.g. 20 or 2.5)" },
        { "1765000000000x0", "the rate must be above 0 and at most 1000" },
        { "1765000000000x0.0", "the rate must be above 0 and at most 1000" },
        { "1765000000000x1000.5", "the rate must be above 0 and at most 1000" },
        { "1765000000000x5000", "the rate must be above 0 and at most 1000" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct cdl_clock_spec s = { 42, 7.0 };
        char why[128] = "";
        ASSERT_EQ(cdl_clock_parse(bad[i].text, &s, why, sizeof why), CDL_EINVAL);
        ASSERT_STR_EQ(why, bad[i].reason);
        ASSERT_EQ(s.anchor_ms, 42);
        ASSERT(s.rate == 7.0);
    }
    struct cdl_clock_spec s;
    ASSERT_EQ(cdl_clock_parse(NULL, &s, NULL, 0), CDL_EINVAL);
}

static void test_formula(void)
{
    struct cdl_clock_spec s = { 1765000000000LL, 20.0 };
    int64_t a_us = s.anchor_ms * 1000;
    ASSERT_EQ(cdl_clock_virtual_ms(&s, a_us), 1765000000000LL);           /* the anchor is fixed */
    ASSERT_EQ(cdl_clock_virtual_ms(&s, a_us + 3000000), 1765000060000LL); /* 3 s real = 1 min */
    ASSERT_EQ(cdl_clock_virtual_ms(&s, a_us + 1000), 1765000000020LL);
    ASSERT_EQ(cdl_clock_virtual_ms(&s, a_us + 49), 1765000000000LL); /* 0.98 ms: floored */
    ASSERT_EQ(cdl_clock_virtual_ms(&s, a_us + 50), 1765000000001LL);
    ASSERT_EQ(cdl_clock_virtual_ms(&s, a_us - 1000000), 1764999980000LL); /* before: slower back */
    ASSERT_EQ(cdl_clock_virtual_ms(&s, a_us - 1), 1764999999999LL);       /* floored, not truncated */
    struct cdl_clock_spec half = { 1765000000000LL, 0.5 };
    ASSERT_EQ(cdl_clock_virtual_ms(&half, a_us + 10000000), 1765000005000LL);
    struct cdl_clock_spec one = { 1765000000000LL, 1.0 };
    ASSERT_EQ(cdl_clock_virtual_ms(&one, 1800000000123456LL), 1800000000123LL); /* identity */
    /* two processes with the same value agree, whenever each asks */
    int64_t t = a_us + 123456789;
    ASSERT_EQ(cdl_clock_virtual_ms(&s, t), cdl_clock_virtual_ms(&s, t));
    ASSERT_EQ(cdl_clock_virtual_ms(&s, t), 1765000000000LL + 123456789LL * 20 / 1000);
}

static void test_delay(void)
{
    struct cdl_clock_spec s = { 1765000000000LL, 20.0 };
    ASSERT_EQ(cdl_clock_delay_ms(&s, 0), 0);
    ASSERT_EQ(cdl_clock_delay_ms(&s, 1), 1); /* never 0 (a timer that spins) */
    ASSERT_EQ(cdl_clock_delay_ms(&s, 20), 1);
    ASSERT_EQ(cdl_clock_delay_ms(&s, 21), 2); /* rounded up: never early */
    ASSERT_EQ(cdl_clock_delay_ms(&s, 250), 13);
    ASSERT_EQ(cdl_clock_delay_ms(&s, 60000), 3000);
    struct cdl_clock_spec slow = { 1765000000000LL, 0.5 };
    ASSERT_EQ(cdl_clock_delay_ms(&slow, 250), 500);
    struct cdl_clock_spec odd = { 1765000000000LL, 3.0 };
    ASSERT_EQ(cdl_clock_delay_ms(&odd, 1000), 334);
    ASSERT_EQ(cdl_clock_delay_ms(&odd, 999), 333);
}

/* The process clock: the system's without the variable, the formula with it; a bad value is
 * refused with the variable's name and value in the message and leaves the system clock. */
static void test_setup(void)
{
    char why[192] = "";
    unsetenv(CDL_CLOCK_ENV);
    ASSERT_EQ(cdl_clock_setup(why, sizeof why), 0);
    ASSERT(cdl_clock_rate() == 1.0);
    ASSERT_EQ(cdl_clock_timer_ms(250), 250);
    int64_t r0 = real_us() / 1000;
    int64_t v = (int64_t)cdl_clock_now_ms();
    int64_t r1 = real_us() / 1000;
    ASSERT(v >= r0 && v <= r1);

    setenv(CDL_CLOCK_ENV, "", 1);
    ASSERT_EQ(cdl_clock_setup(why, sizeof why), 0);
    ASSERT(cdl_clock_rate() == 1.0);

    struct cdl_clock_spec s = { real_us() / 1000 - 60000, 20.0 }; /* a minute ago */
    char val[40];
    snprintf(val, sizeof val, "%lldx20", (long long)s.anchor_ms);
    setenv(CDL_CLOCK_ENV, val, 1);
    ASSERT_EQ(cdl_clock_setup(why, sizeof why), 0);
    ASSERT(cdl_clock_rate() == 20.0);
    ASSERT_EQ(cdl_clock_timer_ms(250), 13);
    int64_t u0 = real_us();
    v = (int64_t)cdl_clock_now_ms();
    int64_t u1 = real_us();
    ASSERT(v >= cdl_clock_virtual_ms(&s, u0) && v <= cdl_clock_virtual_ms(&s, u1));
    ASSERT(v >= u1 / 1000 + 19 * 60000 - 1); /* 20 virtual minutes since the anchor */
    /* monotonic time is never scaled: it moves as the real wall clock does */
    int64_t w0 = real_us();
    uint64_t m0 = cdl_clock_mono_us();
    struct timespec nap = { 0, 20 * 1000000 };
    nanosleep(&nap, NULL);
    uint64_t m1 = cdl_clock_mono_us();
    int64_t w1 = real_us();
    ASSERT(m1 - m0 >= 20000);
    ASSERT((int64_t)(m1 - m0) <= w1 - w0 + 2000);

    setenv(CDL_CLOCK_ENV, "1765000000000x0", 1);
    ASSERT_EQ(cdl_clock_setup(why, sizeof why), CDL_EINVAL);
    ASSERT_STR_EQ(why, "CDL_TEST_CLOCK=1765000000000x0: the rate must be above 0 and at most 1000");
    ASSERT(cdl_clock_rate() == 1.0);
    ASSERT_EQ(cdl_clock_timer_ms(250), 250);
    r0 = real_us() / 1000;
    v = (int64_t)cdl_clock_now_ms();
    r1 = real_us() / 1000;
    ASSERT(v >= r0 && v <= r1);
    setenv(CDL_CLOCK_ENV, "soon", 1);
    ASSERT_EQ(cdl_clock_setup(why, sizeof why), CDL_EINVAL);
    ASSERT_STR_EQ(why, "CDL_TEST_CLOCK=soon: no 'x'; expected <anchor_ms>x<rate>, e.g. 1765000000000x20");
    unsetenv(CDL_CLOCK_ENV);
}

int main(void)
{
    TEST_RUN(test_parse_good);
    TEST_RUN(test_parse_bad);
    TEST_RUN(test_formula);
    TEST_RUN(test_delay);
    TEST_RUN(test_setup);
    return test_failures ? 1 : 0;
}

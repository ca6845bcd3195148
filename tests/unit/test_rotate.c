/* Unit tests for rotate.c: the margin, when a rotation is due (jitter range and spread), the try
 * timeout and the retry backoff. */
#include "backoff.h"
#include "rotate.h"
#include "test.h"

#define DAY_MS (24ULL * 3600 * 1000)

static void test_margin(void)
{
    ASSERT_EQ(cdl_rotate_margin_ms(0), 0);
    ASSERT_EQ(cdl_rotate_margin_ms(4000), 400);       /* a tenth of a short lifetime */
    ASSERT_EQ(cdl_rotate_margin_ms(6000000), 600000); /* 100 min: exactly the cap */
    ASSERT_EQ(cdl_rotate_margin_ms(DAY_MS), 600000);  /* 24 h: 10 minutes */
}

static void test_due_never_without_limit(void) { ASSERT_EQ(cdl_rotate_due_ms(123456, 0, 99), 0); }

static void test_due_exact(void)
{
    /* t0 + A - M - rnd % M */
    ASSERT_EQ(cdl_rotate_due_ms(1000, 4000, 0), 1000 + 4000 - 400);
    ASSERT_EQ(cdl_rotate_due_ms(1000, 4000, 399), 1000 + 4000 - 400 - 399);
    ASSERT_EQ(cdl_rotate_due_ms(1000, 4000, 400), 1000 + 4000 - 400);
    ASSERT_EQ(cdl_rotate_due_ms(0, DAY_MS, 0), DAY_MS - 600000);
    ASSERT_EQ(cdl_rotate_due_ms(0, DAY_MS, 599999), DAY_MS - 1199999);
    ASSERT_EQ(cdl_rotate_due_ms(5, 9, 3), 5 + 9); /* a margin of 0 ms: at the limit, no jitter */
}

/* 10,000 connections opened in the same millisecond: their rotations spread over the whole
 * window [A - 2M, A - M), none after it, and no second holds more than a few of them. */
static void test_due_spread(void)
{
    uint64_t st = 2026, lo = UINT64_MAX, hi = 0;
    static int per_s[600];
    for (int i = 0; i < 10000; i++) {
        uint64_t d = cdl_rotate_due_ms(0, DAY_MS, cdl_rand_next(&st));
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
        ASSERT(d >= DAY_MS - 1200000 && d < DAY_MS - 600000);
        per_s[(d - (DAY_MS - 1200000)) / 1000]++;
    }
    ASSERT(lo < DAY_MS - 1200000 + 2000); /* the whole window is used */
    ASSERT(hi > DAY_MS - 600000 - 2000);
    int most = 0;
    for (int s = 0; s < 600; s++)
        most = per_s[s] > most ? per_s[s] : most;
    ASSERT(most <= 40); /* 16.7 a second on average */
}

static void test_timeout(void)
{
    ASSERT_EQ(cdl_rotate_timeout_ms(4000), 2000); /* margin 400 ms: at least 2 s */
    ASSERT_EQ(cdl_rotate_timeout_ms(100000), 10000);
    ASSERT_EQ(cdl_rotate_timeout_ms(DAY_MS), 30000); /* at most 30 s */
}

static void test_retry(void)
{
    ASSERT_EQ(cdl_rotate_retry_ms(1000, 1, 0), 1000 + 250);
    ASSERT_EQ(cdl_rotate_retry_ms(1000, 0, 0), 1000 + 250);
    ASSERT_EQ(cdl_rotate_retry_ms(1000, 3, 0), 1000 + 1000);
    ASSERT_EQ(cdl_rotate_retry_ms(1000, 50, 0), 1000 + 30000);
    for (uint32_t r = 0; r < 1000; r += 37) {
        uint64_t t = cdl_rotate_retry_ms(0, 4, r);
        ASSERT_EQ(t, cdl_backoff_delay(&cdl_backoff_upstream, 3, r));
        ASSERT(t >= 1400 && t <= 2000);
    }
}

int main(void)
{
    TEST_RUN(test_margin);
    TEST_RUN(test_due_never_without_limit);
    TEST_RUN(test_due_exact);
    TEST_RUN(test_due_spread);
    TEST_RUN(test_timeout);
    TEST_RUN(test_retry);
    return TEST_DONE();
}

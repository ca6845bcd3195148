/* Unit tests for bucket.c, all with injected time: starts full, refills at the rate and no
 * further than the burst, waits rounded up so the wait always suffices, weights over the burst
 * (debt), drain, a default burst of a second's worth, and a clock that steps back. */
#include "bucket.h"
#include "test.h"

/* 60 a minute = one token a second, burst 3. */
static void test_rate_and_burst(void)
{
    struct cdl_bucket b;
    cdl_bucket_init(&b, 60, 3, 1000);
    ASSERT_EQ(cdl_bucket_wait(&b, 1, 1000), 0);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(cdl_bucket_take(&b, 1, 1000), 1);
    ASSERT_EQ(cdl_bucket_take(&b, 1, 1000), 0); /* empty: nothing taken */
    ASSERT_EQ(cdl_bucket_wait(&b, 1, 1000), 1000);
    ASSERT_EQ(cdl_bucket_wait(&b, 1, 1400), 600);
    ASSERT_EQ(cdl_bucket_take(&b, 1, 1999), 0);
    ASSERT_EQ(cdl_bucket_take(&b, 1, 2000), 1);
    ASSERT_EQ(cdl_bucket_wait(&b, 2, 2000), 2000);
    /* a long pause refills up to the burst, not beyond */
    ASSERT(cdl_bucket_level(&b, 60000) == 3);
    ASSERT_EQ(cdl_bucket_wait(&b, 3, 60000), 0);
    ASSERT_EQ(cdl_bucket_take(&b, 3, 60000), 1);
    ASSERT_EQ(cdl_bucket_wait(&b, 3, 60000), 3000);
}

/* Binance spot: 6000 a minute (0.1 per ms), weight 2, the default burst (100 = a second's). */
static void test_default_burst_fractional(void)
{
    struct cdl_bucket b;
    cdl_bucket_init(&b, 6000, 0, 0);
    ASSERT(b.burst == 100);
    int n = 0;
    while (cdl_bucket_take(&b, 2, 0))
        n++;
    ASSERT_EQ(n, 50);
    ASSERT_EQ(cdl_bucket_wait(&b, 2, 0), 20);
    ASSERT_EQ(cdl_bucket_take(&b, 2, 19), 0);
    ASSERT_EQ(cdl_bucket_take(&b, 2, 20), 1);
    /* spread: 100 more requests over 2 s take exactly one every 20 ms */
    uint64_t t = 20;
    for (int i = 0; i < 100; i++) {
        uint64_t w = cdl_bucket_wait(&b, 2, t);
        ASSERT_EQ(w, 20);
        t += w;
        ASSERT_EQ(cdl_bucket_take(&b, 2, t), 1);
    }
    ASSERT_EQ(t, 2020);
}

/* A waited-for time is always enough, whatever the rounding (rates that are not whole per ms). */
static void test_wait_suffices(void)
{
    struct cdl_bucket b;
    cdl_bucket_init(&b, 7, 1.3, 5);
    uint64_t t = 5;
    for (int i = 0; i < 200; i++) {
        uint64_t w = cdl_bucket_wait(&b, 1.1, t);
        t += w;
        ASSERT_EQ(cdl_bucket_take(&b, 1.1, t), 1);
        if (i > 0)
            ASSERT(w > 0);
    }
    /* 199 takes of 1.1 after the first (1.3 there at the start) need 199 * 1.1 - 0.2 tokens at
     * 7/60000 per ms: t is that, rounded up at most once per take */
    double need_ms = (199 * 1.1 - 0.2) / (7.0 / 60000.0);
    ASSERT(t - 5 >= (uint64_t)need_ms && t - 5 <= (uint64_t)need_ms + 200);
}

/* A weight above the burst goes once the bucket is full, and the debt is repaid at the rate. */
static void test_weight_over_burst(void)
{
    struct cdl_bucket b;
    cdl_bucket_init(&b, 60, 2, 0);
    ASSERT_EQ(cdl_bucket_wait(&b, 5, 0), 0);
    ASSERT_EQ(cdl_bucket_take(&b, 5, 0), 1);
    ASSERT(cdl_bucket_level(&b, 0) == -3);
    ASSERT_EQ(cdl_bucket_wait(&b, 1, 0), 4000);
    ASSERT_EQ(cdl_bucket_wait(&b, 5, 0), 5000); /* full again: 2 tokens */
    ASSERT_EQ(cdl_bucket_take(&b, 5, 4999), 0);
    ASSERT_EQ(cdl_bucket_take(&b, 5, 5000), 1);
}

static void test_drain_and_clock_back(void)
{
    struct cdl_bucket b;
    cdl_bucket_init(&b, 60, 3, 10000);
    cdl_bucket_drain(&b, 10000);
    ASSERT(cdl_bucket_level(&b, 10000) == 0);
    ASSERT_EQ(cdl_bucket_wait(&b, 1, 10000), 1000);
    /* a clock that steps back gains nothing and loses nothing */
    ASSERT(cdl_bucket_level(&b, 5000) == 0);
    ASSERT_EQ(cdl_bucket_take(&b, 1, 5000), 0);
    ASSERT_EQ(cdl_bucket_take(&b, 1, 11000), 1);
    ASSERT(cdl_bucket_level(&b, 11000) == 0);
}

int main(void)
{
    TEST_RUN(test_rate_and_burst);
    TEST_RUN(test_default_burst_fractional);
    TEST_RUN(test_wait_suffices);
    TEST_RUN(test_weight_over_burst);
    TEST_RUN(test_drain_and_clock_back);
    return TEST_DONE();
}

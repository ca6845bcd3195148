/* Unit tests for backoff.c: exact bounds, the cap, jitter range, no overflow. */
#include "backoff.h"
#include "test.h"

static const struct cdl_backoff_policy nojit = { .base_ms = 250, .max_ms = 30000, .jitter_pct = 0 };

static void test_doubling_and_cap(void)
{
    const uint32_t want[] = { 250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000 };
    for (unsigned i = 0; i < sizeof want / sizeof *want; i++)
        ASSERT_EQ(cdl_backoff_delay(&nojit, i, 12345), want[i]);
    ASSERT_EQ(cdl_backoff_delay(&nojit, 4000000000u, 7), 30000);
}

static void test_jitter_range(void)
{
    uint64_t st = 42;
    uint32_t lo = UINT32_MAX, hi = 0;
    for (int i = 0; i < 10000; i++) {
        uint32_t d = cdl_backoff_delay(&cdl_backoff_upstream, 2, cdl_rand_next(&st));
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    ASSERT(lo >= 700); /* 1000 - 30% */
    ASSERT(hi <= 1000);
    ASSERT(lo < 720); /* the whole range is used */
    ASSERT(hi > 980);
    ASSERT_EQ(cdl_backoff_delay(&cdl_backoff_upstream, 0, 0), 250);
    ASSERT_EQ(cdl_backoff_delay(&cdl_backoff_upstream, 0, 75), 175);
}

static void test_rand_deterministic(void)
{
    uint64_t a = 7, b = 7, z = 0;
    for (int i = 0; i < 100; i++)
        ASSERT_EQ(cdl_rand_next(&a), cdl_rand_next(&b));
    ASSERT(cdl_rand_next(&z) != 0 || z != 0);
}

int main(void)
{
    TEST_RUN(test_doubling_and_cap);
    TEST_RUN(test_jitter_range);
    TEST_RUN(test_rand_deterministic);
    return TEST_DONE();
}

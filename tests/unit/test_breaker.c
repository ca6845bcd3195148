/* Unit tests for breaker.c, all with injected time: every transition, the doubling waits and
 * their cap, jitter bounds, half-open trial accounting, Retry-After, and what a success resets. */
#include "breaker.h"
#include "test.h"

static struct cdl_breaker *make(unsigned threshold, unsigned trials, uint32_t recovery, unsigned jitter)
{
    struct cdl_breaker_policy p = { .failure_threshold = threshold,
                                    .half_open_calls = trials,
                                    .recovery_ms = recovery,
                                    .max_ms = 300000,
                                    .jitter_pct = jitter };
    return cdl_breaker_create(&p, 42);
}

static void fail_n(struct cdl_breaker *b, int n, uint64_t now)
{
    for (int i = 0; i < n; i++) {
        if (cdl_breaker_allow(b, now))
            cdl_breaker_on_failure(b, now);
    }
}

static void test_defaults(void)
{
    struct cdl_breaker_policy p;
    cdl_breaker_policy_default(&p);
    ASSERT_EQ(p.failure_threshold, 5);
    ASSERT_EQ(p.half_open_calls, 1);
    ASSERT_EQ(p.recovery_ms, 30000);
    ASSERT_EQ(p.max_ms, 300000);
    ASSERT_EQ(p.jitter_pct, 20);
    ASSERT_STR_EQ(cdl_breaker_state_name(CDL_BREAKER_CLOSED), "closed");
    ASSERT_STR_EQ(cdl_breaker_state_name(CDL_BREAKER_OPEN), "open");
    ASSERT_STR_EQ(cdl_breaker_state_name(CDL_BREAKER_HALF_OPEN), "half_open");
    cdl_breaker_destroy(NULL);
}

/* CLOSED -> OPEN exactly at the N-th consecutive failure; a success in between resets. */
static void test_closed_to_open(void)
{
    struct cdl_breaker *b = make(5, 1, 30000, 0);
    ASSERT_EQ(cdl_breaker_state(b), CDL_BREAKER_CLOSED);
    ASSERT_EQ(cdl_breaker_next_allowed(b, 1000), 1000);
    fail_n(b, 4, 1000);
    ASSERT_EQ(cdl_breaker_failures(b), 4);
    ASSERT_EQ(cdl_breaker_state(b), CDL_BREAKER_CLOSED);
    ASSERT_EQ(cdl_breaker_allow(b, 1000), 1);
    cdl_breaker_on_success(b, 1000);
    ASSERT_EQ(cdl_breaker_failures(b), 0);
    fail_n(b, 4, 2000);
    ASSERT_EQ(cdl_breaker_state(b), CDL_BREAKER_CLOSED);
    fail_n(b, 1, 2000);
    ASSERT_EQ(cdl_breaker_state(b), CDL_BREAKER_OPEN);
    ASSERT_EQ(cdl_breaker_failures(b), 5);
    ASSERT_EQ(cdl_breaker_wait_ms(b), 30000);
    ASSERT_EQ(cdl_breaker_next_allowed(b, 2000), 32000);
    ASSERT_EQ(cdl_breaker_next_allowed(b, 40000), 40000);
    cdl_breaker_destroy(b);
}

/* OPEN refuses until the wait is over; then HALF_OPEN lets exactly one trial go. */
static void test_open_to_half_open(void)
{
    struct cdl_breaker *b = make(2, 1, 30000, 0);
    fail_n(b, 2, 0);
    ASSERT_EQ(cdl_breaker_state(b), CDL_BREAKER_OPEN);
    ASSERT_EQ(cdl_breaker_allow(b, 0), 0);
    ASSERT_EQ(cdl_breaker_allow(b, 29999), 0);
    ASSERT_EQ(cdl_breaker_state(b), CDL_BREAKER_OPEN);
    ASSERT_EQ(cdl_breaker_allow(b, 30000), 1);
    ASSERT_EQ(cdl_breaker_state(b), CDL_BREAKER_HALF_OPEN);
    ASSERT_EQ(cdl_breaker_allow(b, 30000), 0);
    ASSERT_EQ(cdl_breaker_allow(b, 99999), 0);
    ASSERT(cdl_breaker_next_allowed(b, 30001) == CDL_BREAKER_AFTER_TRIALS);
    cdl_breaker_destroy(b);
}

/* A trial's success closes it, and the next opening starts again at the first wait. */
static void test_half_open_success_closes_and_resets(void)
{
    struct cdl_breaker *b = make(2, 1, 1000, 0);
    fail_n(b, 2, 0); /* open 1000 */
    ASSERT_EQ(cdl_breaker_allow(b, 1000), 1);
    cdl_breaker_on_failure(b, 1000); /* reopen 2000 */
    ASSERT_EQ(cdl_breaker_wait_ms(b), 2000);
    ASSERT_EQ(cdl_breaker_allow(b, 3000), 1);
    cdl_breaker_on_success(b, 3100);
    ASSERT_EQ(cdl_breaker_state(b), CDL_BREAKER_CLOSED);
    ASSERT_EQ(cdl_breaker_failures(b), 0);
    ASSERT_EQ(cdl_breaker_allow(b, 3100), 1);
    fail_n(b, 1, 4000);
    ASSERT_EQ(cdl_breaker_state(b), CDL_BREAKER_CLOSED); /* the count restarted from 0 */
    fail_n(b, 1, 4000);
    ASSERT_EQ(cdl_breaker_state(b), CDL_BREAKER_OPEN);
    ASSERT_EQ(cdl_breaker_wait_ms(b), 1000); /* and so did the waits */
    ASSERT_EQ(cdl_breaker_next_allowed(b, 4000), 5000);
    cdl_breaker_destroy(b);
}

/* Each failed trial doubles the wait: 30 -> 60 -> 120 -> 240 -> 300 -> 300 s. */
static void test_doubling_and_cap(void)
{
    struct cdl_breaker *b = make(5, 1, 30000, 0);
    const uint64_t want[] = { 30000, 60000, 120000, 240000, 300000, 300000, 300000 };
    uint64_t now = 0;
    fail_n(b, 5, now);
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        ASSERT_EQ(cdl_breaker_state(b), CDL_BREAKER_OPEN);
        ASSERT_EQ(cdl_breaker_wait_ms(b), want[i]);
        ASSERT_EQ(cdl_breaker_next_allowed(b, now), now + want[i]);
        ASSERT_EQ(cdl_breaker_allow(b, now + want[i] - 1), 0);
        now += want[i];
        ASSERT_EQ(cdl_breaker_allow(b, now), 1);
        cdl_breaker_on_failure(b, now);
    }
    /* a thousand more cycles: never above the cap, never overflowing */
    for (int i = 0; i < 1000; i++) {
        ASSERT_EQ(cdl_breaker_wait_ms(b), 300000);
        now += 300000;
        ASSERT_EQ(cdl_breaker_allow(b, now), 1);
        cdl_breaker_on_failure(b, now);
    }
    cdl_breaker_destroy(b);
}

/* Jitter takes off at most jitter_pct, uses the whole range, and is reproducible by seed. */
static void test_jitter_bounds(void)
{
    struct cdl_breaker_policy p = {
        .failure_threshold = 1, .half_open_calls = 1, .recovery_ms = 30000, .max_ms = 300000, .jitter_pct = 20
    };
    uint64_t lo[3] = { UINT64_MAX, UINT64_MAX, UINT64_MAX }, hi[3] = { 0, 0, 0 };
    const uint64_t nominal[3] = { 30000, 60000, 300000 };
    for (uint64_t seed = 1; seed <= 2000; seed++) {
        struct cdl_breaker *b = cdl_breaker_create(&p, seed);
        uint64_t now = 0;
        for (int k = 0; k < 5; k++) { /* openings 1..5: 30, 60, 120, 240, 300 s nominal */
            if (k == 0) {
                cdl_breaker_on_failure(b, now);
            } else {
                now = cdl_breaker_next_allowed(b, now);
                ASSERT_EQ(cdl_breaker_allow(b, now), 1);
                cdl_breaker_on_failure(b, now);
            }
            int slot = k == 0 ? 0 : k == 1 ? 1 : k == 4 ? 2 : -1;
            if (slot < 0)
                continue;
            uint64_t w = cdl_breaker_wait_ms(b);
            lo[slot] = w < lo[slot] ? w : lo[slot];
            hi[slot] = w > hi[slot] ? w : hi[slot];
        }
        cdl_breaker_destroy(b);
    }
    for (int s = 0; s < 3; s++) {
        ASSERT(lo[s] >= nominal[s] * 80 / 100);
        ASSERT(hi[s] <= nominal[s]);
        ASSERT(lo[s] < nominal[s] * 81 / 100); /* the whole range is used */
        ASSERT(hi[s] > nominal[s] * 99 / 100);
    }
    /* same seed, same waits */
    struct cdl_breaker *a = cdl_breaker_create(&p, 7), *c = cdl_breaker_create(&p, 7);
    cdl_breaker_on_failure(a, 0);
    cdl_breaker_on_failure(c, 0);
    ASSERT_EQ(cdl_breaker_wait_ms(a), cdl_breaker_wait_ms(c));
    cdl_breaker_destroy(a);
    cdl_breaker_destroy(c);
}

/* K trials: K go, the K+1-th waits; it closes only after K successes; one failure reopens. */
static void test_half_open_trials(void)
{
    struct cdl_breaker *b = make(1, 3, 1000, 0);
    fail_n(b, 1, 0);
    ASSERT_EQ(cdl_breaker_allow(b, 1000), 1);
    ASSERT_EQ(cdl_breaker_allow(b, 1000), 1);
    ASSERT_EQ(cdl_breaker_next_allowed(b, 1000), 1000);
    ASSERT_EQ(cdl_breaker_allow(b, 1000), 1);
    ASSERT_EQ(cdl_breaker_allow(b, 1000), 0);
    cdl_breaker_on_success(b, 1001);
    cdl_breaker_on_success(b, 1002);
    ASSERT_EQ(cdl_breaker_state(b), CDL_BREAKER_HALF_OPEN);
    ASSERT_EQ(cdl_breaker_allow(b, 1003), 0); /* two done + one out = all three used */
    cdl_breaker_on_success(b, 1004);
    ASSERT_EQ(cdl_breaker_state(b), CDL_BREAKER_CLOSED);

    fail_n(b, 1, 2000); /* opens again, first wait again */
    ASSERT_EQ(cdl_breaker_wait_ms(b), 1000);
    ASSERT_EQ(cdl_breaker_allow(b, 3000), 1);
    ASSERT_EQ(cdl_breaker_allow(b, 3000), 1);
    cdl_breaker_on_success(b, 3001);
    cdl_breaker_on_failure(b, 3002); /* one failed trial is enough */
    ASSERT_EQ(cdl_breaker_state(b), CDL_BREAKER_OPEN);
    ASSERT_EQ(cdl_breaker_wait_ms(b), 2000);
    cdl_breaker_on_success(b, 3003); /* the other trial's late verdict changes nothing */
    ASSERT_EQ(cdl_breaker_state(b), CDL_BREAKER_OPEN);
    ASSERT_EQ(cdl_breaker_next_allowed(b, 3003), 5002);
    cdl_breaker_destroy(b);
}

/* A trial that ends without a verdict gives its slot back. */
static void test_release(void)
{
    struct cdl_breaker *b = make(1, 1, 1000, 0);
    cdl_breaker_release(b); /* CLOSED: nothing to give back */
    ASSERT_EQ(cdl_breaker_state(b), CDL_BREAKER_CLOSED);
    fail_n(b, 1, 0);
    ASSERT_EQ(cdl_breaker_allow(b, 1000), 1);
    ASSERT_EQ(cdl_breaker_allow(b, 1000), 0);
    cdl_breaker_release(b);
    ASSERT_EQ(cdl_breaker_state(b), CDL_BREAKER_HALF_OPEN);
    ASSERT_EQ(cdl_breaker_next_allowed(b, 1001), 1001);
    ASSERT_EQ(cdl_breaker_allow(b, 1001), 1);
    cdl_breaker_release(b);
    cdl_breaker_release(b); /* never below zero */
    ASSERT_EQ(cdl_breaker_allow(b, 1002), 1);
    ASSERT_EQ(cdl_breaker_allow(b, 1002), 0);
    cdl_breaker_destroy(b);
}

/* Retry-After opens at once for exactly that long, whatever the count; never shortens a wait. */
static void test_retry_after(void)
{
    struct cdl_breaker *b = make(5, 1, 30000, 0);
    cdl_breaker_on_retry_after(b, 1000, 2500);
    ASSERT_EQ(cdl_breaker_state(b), CDL_BREAKER_OPEN);
    ASSERT_EQ(cdl_breaker_failures(b), 1);
    ASSERT_EQ(cdl_breaker_wait_ms(b), 2500);
    ASSERT_EQ(cdl_breaker_allow(b, 3499), 0);
    ASSERT_EQ(cdl_breaker_next_allowed(b, 1000), 3500);
    cdl_breaker_on_retry_after(b, 2000, 500); /* shorter than what is left: kept */
    ASSERT_EQ(cdl_breaker_next_allowed(b, 2000), 3500);
    cdl_breaker_on_retry_after(b, 2000, 5000); /* longer: extended */
    ASSERT_EQ(cdl_breaker_next_allowed(b, 2000), 7000);
    ASSERT_EQ(cdl_breaker_allow(b, 7000), 1);
    ASSERT_EQ(cdl_breaker_state(b), CDL_BREAKER_HALF_OPEN);
    cdl_breaker_on_failure(b, 7000); /* the doubling exponent was untouched: first wait */
    ASSERT_EQ(cdl_breaker_wait_ms(b), 30000);
    ASSERT_EQ(cdl_breaker_allow(b, 37000), 1);
    cdl_breaker_on_retry_after(b, 37000, 1000); /* in half-open too */
    ASSERT_EQ(cdl_breaker_state(b), CDL_BREAKER_OPEN);
    ASSERT_EQ(cdl_breaker_next_allowed(b, 37000), 38000);
    ASSERT_EQ(cdl_breaker_allow(b, 38000), 1);
    cdl_breaker_on_success(b, 38000);
    ASSERT_EQ(cdl_breaker_state(b), CDL_BREAKER_CLOSED);
    cdl_breaker_destroy(b);

    b = make(2, 1, 30000, 0);
    cdl_breaker_on_retry_after(b, 0, 0); /* no duration: a plain failure */
    ASSERT_EQ(cdl_breaker_state(b), CDL_BREAKER_CLOSED);
    cdl_breaker_on_retry_after(b, 0, 0);
    ASSERT_EQ(cdl_breaker_state(b), CDL_BREAKER_OPEN);
    ASSERT_EQ(cdl_breaker_wait_ms(b), 30000);
    cdl_breaker_on_retry_after(b, 0, UINT64_MAX); /* clamped to a day, no overflow */
    ASSERT_EQ(cdl_breaker_next_allowed(b, 0), CDL_BREAKER_MAX_RETRY_AFTER_MS);
    cdl_breaker_destroy(b);
}

/* Verdicts that arrive while open (attempts let through before it opened) change nothing. */
static void test_late_verdicts_while_open(void)
{
    struct cdl_breaker *b = make(2, 1, 1000, 0);
    ASSERT_EQ(cdl_breaker_allow(b, 0), 1);
    ASSERT_EQ(cdl_breaker_allow(b, 0), 1);
    ASSERT_EQ(cdl_breaker_allow(b, 0), 1);
    cdl_breaker_on_failure(b, 10);
    cdl_breaker_on_failure(b, 20);
    ASSERT_EQ(cdl_breaker_next_allowed(b, 20), 1020);
    cdl_breaker_on_failure(b, 900);
    ASSERT_EQ(cdl_breaker_next_allowed(b, 900), 1020);
    cdl_breaker_on_success(b, 950);
    ASSERT_EQ(cdl_breaker_state(b), CDL_BREAKER_OPEN);
    ASSERT_EQ(cdl_breaker_next_allowed(b, 950), 1020);
    cdl_breaker_destroy(b);
}

/* Degenerate policies are made sane: threshold/trials 0 mean 1, a cap below the first wait. */
static void test_policy_normalised(void)
{
    struct cdl_breaker_policy p = {
        .failure_threshold = 0, .half_open_calls = 0, .recovery_ms = 5000, .max_ms = 100, .jitter_pct = 0
    };
    struct cdl_breaker *b = cdl_breaker_create(&p, 1);
    cdl_breaker_on_failure(b, 0);
    ASSERT_EQ(cdl_breaker_state(b), CDL_BREAKER_OPEN);
    ASSERT_EQ(cdl_breaker_wait_ms(b), 5000);
    ASSERT_EQ(cdl_breaker_allow(b, 5000), 1);
    ASSERT_EQ(cdl_breaker_allow(b, 5000), 0);
    cdl_breaker_on_failure(b, 5000);
    ASSERT_EQ(cdl_breaker_wait_ms(b), 5000); /* the cap was raised to the first wait */
    cdl_breaker_destroy(b);
}

int main(void)
{
    TEST_RUN(test_defaults);
    TEST_RUN(test_closed_to_open);
    TEST_RUN(test_open_to_half_open);
    TEST_RUN(test_half_open_success_closes_and_resets);
    TEST_RUN(test_doubling_and_cap);
    TEST_RUN(test_jitter_bounds);
    TEST_RUN(test_half_open_trials);
    TEST_RUN(test_release);
    TEST_RUN(test_retry_after);
    TEST_RUN(test_late_verdicts_while_open);
    TEST_RUN(test_policy_normalised);
    return TEST_DONE();
}

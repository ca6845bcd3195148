/* breaker.h - a circuit breaker as a pure state machine: time comes in as an argument (ms on
 * any monotonic clock), it does no I/O and keeps no clock, so every transition is unit-tested
 * with injected time.
 *
 *   CLOSED --failure_threshold consecutive failures--> OPEN
 *   OPEN   --the wait has passed and an attempt asks--> HALF_OPEN
 *   HALF_OPEN --half_open_calls trials all succeeded--> CLOSED (waits start again at the first)
 *   HALF_OPEN --a trial failed--> OPEN with the next, doubled wait
 *   any    --on_retry_after(ms)--> OPEN for at least ms (HTTP 429/418 with Retry-After)
 *
 * The n-th opening since the last close waits min(max_ms, recovery_ms * 2^(n-1)), jittered down
 * by up to jitter_pct from a seedable PRNG (backoff.h).  The caller owns the struct; one breaker
 * may be shared by every connection to the same service. */
#ifndef CDL_BREAKER_H
#define CDL_BREAKER_H

#include <stdint.h>

enum cdl_breaker_state { CDL_BREAKER_CLOSED = 0, CDL_BREAKER_OPEN = 1, CDL_BREAKER_HALF_OPEN = 2 };

struct cdl_breaker_policy {
    unsigned failure_threshold; /* consecutive failures that open it; 0 is taken as 1 */
    unsigned half_open_calls;   /* trial attempts let through when half-open; 0 is taken as 1 */
    uint32_t recovery_ms;       /* first wait in the open state */
    uint32_t max_ms;            /* cap of the doubling waits */
    unsigned jitter_pct;        /* 0..100: a wait w is uniform in [w*(1-j), w] */
};

/* Retry-After values beyond this (one day) are taken as this. */
#define CDL_BREAKER_MAX_RETRY_AFTER_MS 86400000u
/* next_allowed() when half-open and every trial is out: the next chance comes with a verdict. */
#define CDL_BREAKER_AFTER_TRIALS UINT64_MAX

/* 5 failures, 1 trial, 30 s doubling to 300 s, 20% jitter (the predecessor's figures). */
void cdl_breaker_policy_default(struct cdl_breaker_policy *p);

struct cdl_breaker;

/* Copies the policy; seed drives the jitter (same seed, same waits).  Aborts on OOM. */
struct cdl_breaker *cdl_breaker_create(const struct cdl_breaker_policy *p, uint64_t seed);
void cdl_breaker_destroy(struct cdl_breaker *b); /* NULL is a no-op */

/* May an attempt go now?  1 = yes (in HALF_OPEN it takes one trial slot, which the caller gives
 * back with exactly one on_success / on_failure / on_retry_after / release), 0 = no.  Moves OPEN
 * to HALF_OPEN once the wait has passed. */
int cdl_breaker_allow(struct cdl_breaker *b, uint64_t now_ms);
void cdl_breaker_on_success(struct cdl_breaker *b, uint64_t now_ms);
void cdl_breaker_on_failure(struct cdl_breaker *b, uint64_t now_ms);
/* A failure that also says how long to stay away: opens (whatever the failure count) until at
 * least now + ms; ms == 0 is a plain failure. */
void cdl_breaker_on_retry_after(struct cdl_breaker *b, uint64_t now_ms, uint64_t ms);
/* An allowed attempt ended with no verdict (cancelled, shut down): frees its trial slot. */
void cdl_breaker_release(struct cdl_breaker *b);

enum cdl_breaker_state cdl_breaker_state(const struct cdl_breaker *b);
/* Earliest time an attempt may go: now_ms when it may go now, the end of the wait when open,
 * CDL_BREAKER_AFTER_TRIALS when half-open with every trial out.  Changes nothing. */
uint64_t cdl_breaker_next_allowed(const struct cdl_breaker *b, uint64_t now_ms);
/* Consecutive failures counted so far (reset by a success in CLOSED or by closing). */
unsigned cdl_breaker_failures(const struct cdl_breaker *b);
/* Length of the current (or last) open wait, ms. */
uint64_t cdl_breaker_wait_ms(const struct cdl_breaker *b);
/* "closed", "open", "half_open" (the /ready and metric label spelling). */
const char *cdl_breaker_state_name(enum cdl_breaker_state s);

#endif

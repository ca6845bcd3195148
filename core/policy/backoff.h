/* backoff.h - reconnect backoff as a const policy table (lws_retry_bo_t style), pure and
 * time-free: the caller supplies the attempt number and a random number, so it is tested
 * exhaustively without sleeping.  Also a tiny seedable PRNG for the jitter. */
#ifndef CDL_BACKOFF_H
#define CDL_BACKOFF_H

#include <stdint.h>

struct cdl_backoff_policy {
    uint32_t base_ms;    /* delay before the first retry */
    uint32_t max_ms;     /* cap */
    unsigned jitter_pct; /* 0..100: the delay is uniform in [d*(1-j), d] */
};

/* 250 ms doubling to 30 s, 30% jitter: upstream WebSocket reconnects. */
extern const struct cdl_backoff_policy cdl_backoff_upstream;

/* Delay before retry number `attempt` (0 = first): min(max, base * 2^attempt), jittered down by
 * up to jitter_pct using rnd.  Never overflows, whatever the attempt. */
uint32_t cdl_backoff_delay(const struct cdl_backoff_policy *p, unsigned attempt, uint32_t rnd);

/* xorshift64*: next 32 random bits; *state must not be 0 (0 is replaced by a constant). */
uint32_t cdl_rand_next(uint64_t *state);

#endif

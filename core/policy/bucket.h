/* bucket.h - a token bucket for a request budget (REST weight per minute), as pure logic: time
 * comes in as an argument (ms on any monotonic clock), so every rule is unit-tested with
 * injected time.
 *
 * The bucket holds at most `burst` tokens and gains rate_per_minute / 60000 of them every ms; a
 * request of weight w may go once w tokens are there, and takes them.  A weight above the burst
 * may go when the bucket is full and leaves it in debt (below zero), repaid at the same rate, so
 * the rate holds for every weight.  It starts full.  The caller owns the struct. */
#ifndef CDL_BUCKET_H
#define CDL_BUCKET_H

#include <stdint.h>

struct cdl_bucket {
    double per_ms; /* tokens gained per ms */
    double burst;  /* most tokens held */
    double tokens; /* held at at_ms */
    uint64_t at_ms;
};

/* per_minute > 0; burst <= 0 = a second's worth.  Full at now_ms. */
void cdl_bucket_init(struct cdl_bucket *b, double per_minute, double burst, uint64_t now_ms);
/* ms to wait until `weight` may go (0 = now).  Changes nothing. */
uint64_t cdl_bucket_wait(const struct cdl_bucket *b, double weight, uint64_t now_ms);
/* Takes `weight` tokens if they are there: 1, else 0 (nothing taken). */
int cdl_bucket_take(struct cdl_bucket *b, double weight, uint64_t now_ms);
/* Empties it (the host answered 429: what it counted is more than we did). */
void cdl_bucket_drain(struct cdl_bucket *b, uint64_t now_ms);
/* Tokens held at now_ms (negative: in debt). */
double cdl_bucket_level(const struct cdl_bucket *b, uint64_t now_ms);

#endif

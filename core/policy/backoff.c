/* backoff.c - see backoff.h. */
#include "backoff.h"

const struct cdl_backoff_policy cdl_backoff_upstream = { .base_ms = 250, .max_ms = 30000, .jitter_pct = 30 };

uint32_t cdl_backoff_delay(const struct cdl_backoff_policy *p, unsigned attempt, uint32_t rnd)
{
    uint64_t d = p->base_ms;
    for (unsigned i = 0; i < attempt && d < p->max_ms; i++)
        d *= 2;
    if (d > p->max_ms)
        d = p->max_ms;
    unsigned j = p->jitter_pct > 100 ? 100 : p->jitter_pct;
    uint64_t span = d * j / 100; /* how much may be taken off */
    if (span)
        d -= (uint64_t)rnd % (span + 1);
    return (uint32_t)d;
}

uint32_t cdl_rand_next(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9E3779B97F4A7C15ULL;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

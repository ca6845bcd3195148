/* bucket.c - see bucket.h. */
#include "bucket.h"

#include <math.h>

#define EPS 1e-9 /* rounding slack: a wait of ceil(ms) always lets the weight go */

void cdl_bucket_init(struct cdl_bucket *b, double per_minute, double burst, uint64_t now_ms)
{
    b->per_ms = per_minute / 60000.0;
    b->burst = burst > 0 ? burst : per_minute / 60.0;
    b->tokens = b->burst;
    b->at_ms = now_ms;
}

double cdl_bucket_level(const struct cdl_bucket *b, uint64_t now_ms)
{
    if (now_ms <= b->at_ms)
        return b->tokens;
    double t = b->tokens + (double)(now_ms - b->at_ms) * b->per_ms;
    return t < b->burst ? t : b->burst;
}

static double fit(const struct cdl_bucket *b, double weight) { return weight < b->burst ? weight : b->burst; }

uint64_t cdl_bucket_wait(const struct cdl_bucket *b, double weight, uint64_t now_ms)
{
    double need = fit(b, weight) - cdl_bucket_level(b, now_ms);
    if (need <= EPS)
        return 0;
    if (b->per_ms <= 0)
        return UINT64_MAX;
    return (uint64_t)ceil(need / b->per_ms);
}

int cdl_bucket_take(struct cdl_bucket *b, double weight, uint64_t now_ms)
{
    double level = cdl_bucket_level(b, now_ms);
    if (fit(b, weight) - level > EPS)
        return 0;
    b->tokens = level - weight;
    if (now_ms > b->at_ms)
        b->at_ms = now_ms;
    return 1;
}

void cdl_bucket_drain(struct cdl_bucket *b, uint64_t now_ms)
{
    b->tokens = 0;
    if (now_ms > b->at_ms)
        b->at_ms = now_ms;
}

/* rotate.c - see rotate.h. */
#include "rotate.h"

#include "backoff.h"

#define MARGIN_MAX_MS (10ULL * 60 * 1000)

uint64_t cdl_rotate_margin_ms(uint64_t age_ms)
{
    uint64_t m = age_ms / 10;
    return m < MARGIN_MAX_MS ? m : MARGIN_MAX_MS;
}

uint64_t cdl_rotate_due_ms(uint64_t opened_ms, uint64_t age_ms, uint32_t rnd)
{
    if (!age_ms)
        return 0;
    uint64_t m = cdl_rotate_margin_ms(age_ms);
    uint64_t jitter = m ? (uint64_t)rnd % m : 0;
    return opened_ms + age_ms - m - jitter;
}

uint64_t cdl_rotate_timeout_ms(uint64_t age_ms)
{
    uint64_t m = cdl_rotate_margin_ms(age_ms);
    if (m < 2000)
        return 2000;
    return m > 30000 ? 30000 : m;
}

uint64_t cdl_rotate_retry_ms(uint64_t now_ms, unsigned failed, uint32_t rnd)
{
    return now_ms + cdl_backoff_delay(&cdl_backoff_upstream, failed ? failed - 1 : 0, rnd);
}

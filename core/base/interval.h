/* interval.h - candled's canonical candle intervals and their period arithmetic.
 *
 * Canonical names: 1s 10s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 2d 3d 5d 1w 1M 3M (case
 * matters: 1m is a minute, 1M a month).  Fixed intervals are aligned to the Unix epoch, weeks to
 * Monday 00:00 UTC, months and quarters to the first day of the month UTC.  Pure functions,
 * no state. */
#ifndef CDL_INTERVAL_H
#define CDL_INTERVAL_H

#include <stdint.h>

struct cdl_interval {
    const char *name; /* canonical name, static storage */
    int64_t ms;       /* period length for fixed intervals; 0 for calendar months */
    int months;       /* 1 or 3 for calendar intervals, else 0 */
};

/* Looks up a canonical name; 0 or CDL_ENOTFOUND. */
int cdl_interval_parse(const char *name, struct cdl_interval *out);
/* Number of canonical intervals and the i-th one (in ascending length). */
int cdl_interval_count(void);
const struct cdl_interval *cdl_interval_at(int i);

/* Open time of the period containing t (ms since the epoch, UTC). */
int64_t cdl_interval_floor(const struct cdl_interval *iv, int64_t t);
/* Open time of the period after the one opening at `open` (= its close time + 1 ms). */
int64_t cdl_interval_next(const struct cdl_interval *iv, int64_t open);
/* 1 if t is the open time of a period. */
int cdl_interval_aligned(const struct cdl_interval *iv, int64_t t);

#endif

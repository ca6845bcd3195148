/* interval.c - see interval.h. */
#include "interval.h"

#include <string.h>

#include "err.h"

#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

static const struct cdl_interval intervals[] = {
    { "1s", SEC, 0 },        { "10s", 10 * SEC, 0 }, { "1m", MIN, 0 },       { "3m", 3 * MIN, 0 },
    { "5m", 5 * MIN, 0 },    { "15m", 15 * MIN, 0 }, { "30m", 30 * MIN, 0 }, { "1h", HOUR, 0 },
    { "2h", 2 * HOUR, 0 },   { "4h", 4 * HOUR, 0 },  { "6h", 6 * HOUR, 0 },  { "8h", 8 * HOUR, 0 },
    { "12h", 12 * HOUR, 0 }, { "1d", DAY, 0 },       { "2d", 2 * DAY, 0 },   { "3d", 3 * DAY, 0 },
    { "5d", 5 * DAY, 0 },    { "1w", 7 * DAY, 0 },   { "1M", 0, 1 },         { "3M", 0, 3 },
};
#define N_INTERVALS ((int)(sizeof intervals / sizeof intervals[0]))

/* 1970-01-01 was a Thursday; the first Monday 00:00 UTC is 4 days later. */
#define MONDAY_OFFSET (4 * DAY)

int cdl_interval_parse(const char *name, struct cdl_interval *out)
{
    for (int i = 0; i < N_INTERVALS; i++)
        if (!strcmp(name, intervals[i].name)) {
            *out = intervals[i];
            return 0;
        }
    return CDL_ENOTFOUND;
}

int cdl_interval_count(void) { return N_INTERVALS; }

const struct cdl_interval *cdl_interval_at(int i) { return i >= 0 && i < N_INTERVALS ? &intervals[i] : NULL; }

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Days since the epoch <-> civil date (proleptic Gregorian), H. Hinnant's algorithms. */
static void civil_from_days(int64_t z, int64_t *y, int *m)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int64_t days_from_civil(int64_t y, int m)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int64_t cdl_interval_floor(const struct cdl_interval *iv, int64_t t)
{
    if (iv->months) {
        int64_t y;
        int m;
        civil_from_days(floor_div(t, DAY), &y, &m);
        m -= (m - 1) % iv->months;
        return days_from_civil(y, m) * DAY;
    }
    if (iv->ms == 7 * DAY)
        return t - (t - MONDAY_OFFSET - floor_div(t - MONDAY_OFFSET, iv->ms) * iv->ms);
    return floor_div(t, iv->ms) * iv->ms;
}

int64_t cdl_interval_next(const struct cdl_interval *iv, int64_t open)
{
    if (iv->months) {
        int64_t y;
        int m;
        civil_from_days(floor_div(open, DAY), &y, &m);
        m += iv->months;
        if (m > 12) {
            m -= 12;
            y++;
        }
        return days_from_civil(y, m) * DAY;
    }
    return open + iv->ms;
}

int cdl_interval_aligned(const struct cdl_interval *iv, int64_t t) { return cdl_interval_floor(iv, t) == t; }

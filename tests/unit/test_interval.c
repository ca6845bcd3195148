/* Unit tests for interval.c: names and period arithmetic, including weeks and months. */
#include "err.h"
#include "interval.h"
#include "test.h"

static struct cdl_interval iv(const char *name)
{
    struct cdl_interval v = { 0 };
    cdl_interval_parse(name, &v);
    return v;
}

static void test_parse(void)
{
    struct cdl_interval v;
    ASSERT_EQ(cdl_interval_parse("1m", &v), 0);
    ASSERT_EQ(v.ms, 60000);
    ASSERT_EQ(cdl_interval_parse("1M", &v), 0);
    ASSERT_EQ(v.months, 1);
    ASSERT_EQ(v.ms, 0);
    ASSERT_EQ(cdl_interval_parse("1H", &v), CDL_ENOTFOUND);
    ASSERT_EQ(cdl_interval_parse("", &v), CDL_ENOTFOUND);
    ASSERT_EQ(cdl_interval_count(), 20);
    ASSERT_STR_EQ(cdl_interval_at(0)->name, "1s");
    ASSERT(cdl_interval_at(20) == NULL);
}

static void test_fixed(void)
{
    struct cdl_interval m = iv("1m"), h4 = iv("4h"), d3 = iv("3d");
    ASSERT_EQ(cdl_interval_floor(&m, 1633998523963), 1633998480000);
    ASSERT_EQ(cdl_interval_next(&m, 1633998480000), 1633998540000);
    ASSERT(cdl_interval_aligned(&m, 1633998480000));
    ASSERT(!cdl_interval_aligned(&m, 1633998480001));
    ASSERT_EQ(cdl_interval_floor(&h4, 1672531200000 + 5 * 3600000LL), 1672531200000 + 4 * 3600000LL);
    /* 3d bars are epoch-aligned: 2023-01-01 00:00 is day 19358 = 3*6452+2 -> floor day 19356 */
    ASSERT_EQ(cdl_interval_floor(&d3, 1672531200000), 19356LL * 86400000);
    ASSERT_EQ(cdl_interval_floor(&m, -1), -60000);
}

static void test_week_monday(void)
{
    struct cdl_interval w = iv("1w");
    /* 2023-01-01 was a Sunday; its week opened Monday 2022-12-26 00:00 UTC = 1672012800000 */
    ASSERT_EQ(cdl_interval_floor(&w, 1672531200000), 1672012800000);
    /* Monday 2023-01-02 00:00 opens a week */
    ASSERT(cdl_interval_aligned(&w, 1672617600000));
    ASSERT_EQ(cdl_interval_next(&w, 1672012800000), 1672617600000);
}

static void test_months(void)
{
    struct cdl_interval mo = iv("1M"), q = iv("3M");
    /* 2024-02-29 12:00 -> 2024-02-01; next is 2024-03-01 */
    ASSERT_EQ(cdl_interval_floor(&mo, 1709208000000), 1706745600000);
    ASSERT_EQ(cdl_interval_next(&mo, 1706745600000), 1709251200000);
    /* December rolls into the next year: 2023-12-01 -> 2024-01-01 */
    ASSERT_EQ(cdl_interval_next(&mo, 1701388800000), 1704067200000);
    /* quarter: 2024-05-15 -> 2024-04-01; next 2024-07-01 */
    ASSERT_EQ(cdl_interval_floor(&q, 1715731200000), 1711929600000);
    ASSERT_EQ(cdl_interval_next(&q, 1711929600000), 1719792000000);
    ASSERT(!cdl_interval_aligned(&mo, 1706745600001));
}

int main(void)
{
    TEST_RUN(test_parse);
    TEST_RUN(test_fixed);
    TEST_RUN(test_week_monday);
    TEST_RUN(test_months);
    return TEST_DONE();
}

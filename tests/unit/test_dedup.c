/* Unit tests for dedup.c: hits and misses, the window, eviction of the oldest when full, and a
 * long random run checked against a plain list (the probe-run shifting must lose nothing). */
#include <stdlib.h>

#include "backoff.h"
#include "dedup.h"
#include "test.h"

static void test_put_get(void)
{
    struct cdl_dedup *d = cdl_dedup_create(1000, 4);
    uint64_t h = 0;
    ASSERT_EQ(cdl_dedup_get(d, 1, 60000, &h, 0), 0);
    cdl_dedup_put(d, 1, 60000, 111, 0);
    cdl_dedup_put(d, 2, 60000, 222, 0);
    ASSERT_EQ(cdl_dedup_get(d, 1, 60000, &h, 10), 1);
    ASSERT_EQ(h, 111);
    ASSERT_EQ(cdl_dedup_get(d, 2, 60000, &h, 10), 1);
    ASSERT_EQ(h, 222);
    ASSERT_EQ(cdl_dedup_get(d, 1, 120000, &h, 10), 0); /* same stream, other period */
    cdl_dedup_put(d, 1, 60000, 333, 500);              /* again: new hash, old time */
    ASSERT_EQ(cdl_dedup_get(d, 1, 60000, &h, 999), 1);
    ASSERT_EQ(h, 333);
    ASSERT_EQ(cdl_dedup_size(d, 999), 2);
    cdl_dedup_destroy(d);
    cdl_dedup_destroy(NULL);
}

static void test_window(void)
{
    struct cdl_dedup *d = cdl_dedup_create(1000, 10);
    uint64_t h;
    cdl_dedup_put(d, 1, 0, 1, 0);
    cdl_dedup_put(d, 1, 1, 2, 400);
    ASSERT_EQ(cdl_dedup_get(d, 1, 0, &h, 999), 1);
    ASSERT_EQ(cdl_dedup_get(d, 1, 0, &h, 1000), 0); /* exactly the window: gone */
    ASSERT_EQ(cdl_dedup_get(d, 1, 1, &h, 1000), 1);
    ASSERT_EQ(cdl_dedup_size(d, 1400), 0);
    ASSERT_EQ(cdl_dedup_evictions(d), 0);
    cdl_dedup_destroy(d);
}

static void test_full_evicts_oldest(void)
{
    struct cdl_dedup *d = cdl_dedup_create(1000000, 3);
    uint64_t h;
    for (int i = 0; i < 5; i++)
        cdl_dedup_put(d, 9, i, (uint64_t)i + 100, i);
    ASSERT_EQ(cdl_dedup_size(d, 10), 3);
    ASSERT_EQ(cdl_dedup_evictions(d), 2);
    ASSERT_EQ(cdl_dedup_get(d, 9, 0, &h, 10), 0);
    ASSERT_EQ(cdl_dedup_get(d, 9, 1, &h, 10), 0);
    for (int i = 2; i < 5; i++) {
        ASSERT_EQ(cdl_dedup_get(d, 9, i, &h, 10), 1);
        ASSERT_EQ(h, (uint64_t)i + 100);
    }
    cdl_dedup_destroy(d);
}

/* Random keys with many collisions in a small table, against a list of what must be there. */
static void test_random_against_model(void)
{
    enum { CAP = 64, N = 200000 };
    struct cdl_dedup *d = cdl_dedup_create(300, CAP);
    static struct {
        uint64_t key;
        int64_t ot, t;
        uint64_t hash;
    } model[N];
    int first = 0, n = 0;
    uint64_t rnd = 12345;
    for (int64_t now = 0; now < N; now++) {
        uint64_t key = cdl_rand_next(&rnd) % 8;
        int64_t ot = (int64_t)(cdl_rand_next(&rnd) % 40);
        uint64_t h;
        int in_model = -1;
        while (first < n && (model[first].t + 300 <= now || n - first > CAP))
            first++;
        for (int i = first; i < n; i++)
            if (model[i].key == key && model[i].ot == ot)
                in_model = i;
        int got = cdl_dedup_get(d, key, ot, &h, now);
        ASSERT_EQ(got, in_model >= 0);
        if (got)
            ASSERT_EQ(h, model[in_model].hash);
        if (in_model < 0) {
            cdl_dedup_put(d, key, ot, (uint64_t)now, now);
            model[n].key = key;
            model[n].ot = ot;
            model[n].t = now;
            model[n].hash = (uint64_t)now;
            n++;
            while (n - first > CAP)
                first++;
        }
        ASSERT_EQ(cdl_dedup_size(d, now), n - first);
    }
    cdl_dedup_destroy(d);
}

int main(void)
{
    TEST_RUN(test_put_get);
    TEST_RUN(test_window);
    TEST_RUN(test_full_evicts_oldest);
    TEST_RUN(test_random_against_model);
    return TEST_DONE();
}

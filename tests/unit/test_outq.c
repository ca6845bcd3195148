/* Unit tests for outq.c: closed FIFO order and growth, the full/resume hysteresis, open
 * conflation (latest wins, newest first), the open_max cap, closed before open. */
#include <string.h>

#include "outq.h"
#include "test.h"

static struct cdl_candle K(int64_t ot, int closed) {
    struct cdl_candle c;
    memset(&c, 0, sizeof c);
    c.open_time = ot;
    c.closed = closed;
    return c;
}

static void
test_closed_fifo_and_hysteresis(void)
{
    struct cdl_outq *q = cdl_outq_create(4, 1, 0);
    struct cdl_outq_item it;
    for (int i = 0; i < 3; i++) {
        struct cdl_candle c = K(i, 1);
        cdl_outq_push(q, 0, &c, (uint64_t)i);
    }
    ASSERT_EQ(cdl_outq_full(q), 0);
    struct cdl_candle c = K(3, 1);
    cdl_outq_push(q, 0, &c, 3);
    ASSERT_EQ(cdl_outq_full(q), 1);
    for (int i = 4; i < 200; i++) { /* past the mark it still takes them, in order */
        c = K(i, 1);
        cdl_outq_push(q, 1, &c, (uint64_t)i);
    }
    ASSERT_EQ(cdl_outq_closed_depth(q), 200);
    for (int i = 0; i < 198; i++) {
        ASSERT_EQ(cdl_outq_pop(q, &it), 1);
        ASSERT_EQ(it.c.open_time, i);
        ASSERT_EQ(cdl_outq_full(q), 1);
    }
    ASSERT_EQ(cdl_outq_pop(q, &it), 1);
    ASSERT_EQ(cdl_outq_full(q), 0); /* back at the low mark */
    ASSERT_EQ(cdl_outq_pop(q, &it), 1);
    ASSERT_EQ(it.c.open_time, 199);
    ASSERT_EQ(it.stream, 1);
    ASSERT_EQ(it.is_gap, 0);
    c = K(300, 0);
    cdl_outq_push(q, 2, &c, 0);
    cdl_outq_push_gap(q, 2, 200, 300, 100, "timeout"); /* before the open update, like a closed one */
    ASSERT_EQ(cdl_outq_pop(q, &it), 1);
    ASSERT_EQ(it.is_gap, 1);
    ASSERT_EQ(it.gap_from, 200);
    ASSERT_EQ(it.gap_missing, 100);
    ASSERT_STR_EQ(it.gap_reason, "timeout");
    ASSERT_EQ(cdl_outq_pop(q, &it), 1);
    ASSERT_EQ(it.c.open_time, 300);
    ASSERT_EQ(cdl_outq_pop(q, &it), 0);
    cdl_outq_destroy(q);
    cdl_outq_destroy(NULL);
}

static void test_open_conflation_newest_first(void)
{
    struct cdl_outq *q = cdl_outq_create(10, 5, 0);
    struct cdl_outq_item it;
    struct cdl_candle c;
    for (int round = 0; round < 3; round++)
        for (int s = 0; s < 40; s++) {
            c = K(round * 1000 + s, 0);
            cdl_outq_push(q, s, &c, 0);
        }
    ASSERT_EQ(cdl_outq_open_depth(q), 40);
    ASSERT_EQ(cdl_outq_conflated(q), 80);
    c = K(5000, 0);
    cdl_outq_push(q, 7, &c, 0); /* stream 7 is now the newest */
    c = K(1, 1);
    cdl_outq_push(q, 3, &c, 0); /* a closed candle goes first */
    ASSERT_EQ(cdl_outq_pop(q, &it), 1);
    ASSERT_EQ(it.c.closed, 1);
    ASSERT_EQ(cdl_outq_pop(q, &it), 1);
    ASSERT_EQ(it.stream, 7);
    ASSERT_EQ(it.c.open_time, 5000);
    ASSERT_EQ(cdl_outq_pop(q, &it), 1);
    ASSERT_EQ(it.stream, 39);
    ASSERT_EQ(it.c.open_time, 2039); /* latest value of its stream */
    int n = 2;
    while (cdl_outq_pop(q, &it))
        n++;
    ASSERT_EQ(n, 40);
    ASSERT_EQ(cdl_outq_open_depth(q), 0);
    cdl_outq_destroy(q);
}

static void test_open_max(void)
{
    struct cdl_outq *q = cdl_outq_create(10, 5, 3);
    struct cdl_outq_item it;
    for (int s = 0; s < 5; s++) {
        struct cdl_candle c = K(s, 0);
        cdl_outq_push(q, s, &c, 0);
    }
    ASSERT_EQ(cdl_outq_open_depth(q), 3);
    ASSERT_EQ(cdl_outq_open_dropped(q), 2);
    int want[] = { 4, 3, 2 };
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(cdl_outq_pop(q, &it), 1);
        ASSERT_EQ(it.stream, want[i]);
    }
    ASSERT_EQ(cdl_outq_pop(q, &it), 0);
    cdl_outq_destroy(q);
}

int main(void)
{
    TEST_RUN(test_closed_fifo_and_hysteresis);
    TEST_RUN(test_open_conflation_newest_first);
    TEST_RUN(test_open_max);
    return TEST_DONE();
}

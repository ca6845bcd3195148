/* Unit tests for seq.c, with injected time: order, duplicates, revisions, holes held and filled,
 * pagination, gaps (not found, deadline, overflow), missing closes, reconnects, inferred closes,
 * REST rows in progress, calendar months. */
#include <stdio.h>
#include <string.h>

#include "dedup.h"
#include "interval.h"
#include "seq.h"
#include "test.h"

#define MIN 60000LL
#define T0 1700000040000LL /* a minute boundary */
#define P(i) (T0 + (i)*MIN)

struct rec {
    int n_emit;
    int64_t emit_ot[64];
    int emit_closed[64];
    char emit_close[64][CDL_DEC_MAX];
    int n_gap;
    int64_t gap_from[8], gap_to[8], gap_missing[8];
    enum cdl_seq_gap_reason gap_why[8];
    int n_bf;
    int64_t bf_from[16], bf_to[16];
    int bf_rows[16];
    int bf_rc; /* what backfill() answers */
};

static void r_emit(void *u, int stream, const struct cdl_candle *c, uint64_t recv_us)
{
    struct rec *r = u;
    r->emit_ot[r->n_emit] = c->open_time;
    r->emit_closed[r->n_emit] = c->closed;
    snprintf(r->emit_close[r->n_emit], sizeof r->emit_close[0], "%s", c->close);
    r->n_emit++;
}

static void r_gap(void *u, int stream, int64_t from, int64_t to, int64_t missing, enum cdl_seq_gap_reason why)
{
    struct rec *r = u;
    r->gap_from[r->n_gap] = from;
    r->gap_to[r->n_gap] = to;
    r->gap_missing[r->n_gap] = missing;
    r->gap_why[r->n_gap] = why;
    r->n_gap++;
}

static int r_backfill(void *u, int stream, int64_t from, int64_t to, int rows)
{
    struct rec *r = u;
    r->bf_from[r->n_bf] = from;
    r->bf_to[r->n_bf] = to;
    r->bf_rows[r->n_bf] = rows;
    r->n_bf++;
    return r->bf_rc;
}

static struct rec R;
static struct cdl_seq *S;

static struct cdl_seq *mk(const char *iv, int hold_max, int page_rows, struct cdl_dedup *dd)
{
    memset(&R, 0, sizeof R);
    struct cdl_seq_opts o = {
        .grace_ms = 2000,
        .reorder_wait_ms = 1000,
        .hold_ms = 30000,
        .retry_ms = 5000,
        .hold_max = hold_max,
        .page_rows = page_rows,
        .dedup = dd,
    };
    cdl_interval_parse(iv, &o.iv);
    struct cdl_seq_cbs cbs = { .emit = r_emit, .gap = r_gap, .backfill = r_backfill, .user = &R };
    cdl_seq_destroy(S);
    S = cdl_seq_create(&o, &cbs);
    cdl_seq_add(S, 7);
    return S;
}

static struct cdl_candle K(int64_t ot, int closed, const char *close) {
    struct cdl_candle c;
    memset(&c, 0, sizeof c);
    c.open_time = ot;
    c.close_time = -1;
    c.trades = -1;
    c.closed = closed;
    strcpy(c.open, "1.0");
    strcpy(c.high, "2.0");
    strcpy(c.low, "0.5");
    snprintf(c.close, sizeof c.close, "%s", close);
    strcpy(c.volume, "10");
    return c;
}

static enum cdl_seq_verdict
push(int64_t ot, int closed, const char *close, int rest, int64_t now)
{
    struct cdl_candle c = K(ot, closed, close);
    return cdl_seq_push(S, 0, &c, rest, now, 0);
}

static void test_in_order_duplicates_revisions(void)
{
    struct cdl_dedup *dd = cdl_dedup_create(120000, 100);
    mk("1m", 16, 100, dd);
    ASSERT_EQ(push(P(0), 1, "1.5", 0, P(1)), CDL_SEQ_NEW);
    ASSERT_EQ(push(P(1), 1, "1.6", 0, P(2)), CDL_SEQ_NEW);
    ASSERT_EQ(push(P(1), 1, "1.6", 0, P(2)), CDL_SEQ_DUPLICATE);
    ASSERT_EQ(push(P(1), 1, "1.7", 0, P(2)), CDL_SEQ_REVISION);
    ASSERT_EQ(push(P(0), 1, "1.5", 0, P(2)), CDL_SEQ_DUPLICATE); /* older: told by the dedup table */
    ASSERT_EQ(push(P(0), 1, "9.9", 0, P(2)), CDL_SEQ_REVISION);
    ASSERT_EQ(R.n_emit, 2);
    ASSERT_EQ(R.emit_ot[1], P(1));
    ASSERT_STR_EQ(R.emit_close[1], "1.6");
    ASSERT_EQ(cdl_seq_stats(S)->verdicts[CDL_SEQ_REVISION], 2);
    ASSERT_EQ(cdl_seq_stats(S)->verdicts[CDL_SEQ_DUPLICATE], 2);
    /* past the window the table has forgotten: an old close is just a duplicate */
    ASSERT_EQ(push(P(0), 1, "9.9", 0, P(2) + 200000), CDL_SEQ_DUPLICATE);
    cdl_dedup_destroy(dd);
}

static void test_open_updates(void)
{
    mk("1m", 16, 100, NULL);
    ASSERT_EQ(push(P(0), 0, "1.1", 0, P(0) + 1), CDL_SEQ_UPDATE);
    ASSERT_EQ(push(P(0), 0, "1.1", 0, P(0) + 2), CDL_SEQ_DUPLICATE); /* identical repeat */
    ASSERT_EQ(push(P(0), 0, "1.2", 0, P(0) + 3), CDL_SEQ_UPDATE);
    ASSERT_EQ(push(P(0), 1, "1.3", 0, P(1)), CDL_SEQ_NEW);
    ASSERT_EQ(push(P(0), 0, "1.4", 0, P(1) + 1), CDL_SEQ_STALE); /* its period is closed */
    ASSERT_EQ(push(P(1), 0, "1.5", 0, P(1) + 2), CDL_SEQ_UPDATE);
    ASSERT_EQ(push(P(2), 0, "1.6", 0, P(2) + 2), CDL_SEQ_UPDATE);
    ASSERT_EQ(push(P(1), 0, "1.7", 0, P(2) + 3), CDL_SEQ_STALE); /* older than one sent */
    ASSERT_EQ(R.n_emit, 5);
    ASSERT_EQ(R.emit_closed[2], 1);
    ASSERT_EQ(R.emit_closed[4], 0);
}

static void test_hole_held_then_filled(void)
{
    mk("1m", 16, 100, NULL);
    push(P(0), 1, "a", 0, P(1));
    ASSERT_EQ(push(P(2), 1, "c", 0, P(3)), CDL_SEQ_HELD);
    ASSERT_EQ(push(P(3), 0, "d", 0, P(3) + 10), CDL_SEQ_UPDATE); /* open updates never wait */
    ASSERT(cdl_seq_in_hole(S, 0));
    cdl_seq_tick(S, P(3) + 500); /* a reordered frame may still come */
    ASSERT_EQ(R.n_bf, 0);
    cdl_seq_tick(S, P(3) + 1000);
    ASSERT_EQ(R.n_bf, 1);
    ASSERT_EQ(R.bf_from[0], P(1));
    ASSERT_EQ(R.bf_to[0], P(2));
    cdl_seq_tick(S, P(3) + 1500); /* one page in flight at a time */
    ASSERT_EQ(R.n_bf, 1);
    ASSERT_EQ(push(P(1), -1, "b", 1, P(3) + 1600), CDL_SEQ_NEW); /* REST row, over: final */
    cdl_seq_backfill_done(S, 0, 1, P(3) + 1600);
    ASSERT(!cdl_seq_in_hole(S, 0));
    ASSERT_EQ(R.n_emit, 4);
    ASSERT_EQ(R.emit_ot[0], P(0));
    ASSERT_EQ(R.emit_ot[1], P(3));
    ASSERT_EQ(R.emit_ot[2], P(1));
    ASSERT_EQ(R.emit_ot[3], P(2));
    ASSERT_EQ(cdl_seq_expected(S, 0), P(3));
    ASSERT_EQ(cdl_seq_held(S), 0);
    ASSERT_EQ(cdl_seq_stats(S)->holes, 1);
    ASSERT_EQ(cdl_seq_stats(S)->holes_filled, 1);
    ASSERT_EQ(R.n_gap, 0);
}

static void test_reorder_fills_itself(void)
{
    mk("1m", 16, 100, NULL);
    push(P(0), 1, "a", 0, P(1));
    ASSERT_EQ(push(P(2), 1, "c", 0, P(3)), CDL_SEQ_HELD);
    ASSERT_EQ(push(P(1), 1, "b", 0, P(3) + 100), CDL_SEQ_NEW);
    cdl_seq_tick(S, P(3) + 5000);
    ASSERT_EQ(R.n_bf, 0);
    ASSERT_EQ(R.n_emit, 3);
    ASSERT_EQ(R.emit_ot[2], P(2));
    ASSERT_EQ(cdl_seq_stats(S)->holes_filled, 1);
}

static void test_not_found_gap(void)
{
    mk("1m", 16, 100, NULL);
    push(P(0), 1, "a", 0, P(1));
    push(P(3), 1, "d", 0, P(4));
    cdl_seq_tick(S, P(4) + 1000);
    ASSERT_EQ(R.n_bf, 1);
    push(P(2), 1, "c", 1, P(4) + 1100); /* the exchange has P2 but not P1 */
    cdl_seq_backfill_done(S, 0, 1, P(4) + 1100);
    ASSERT_EQ(R.n_gap, 1);
    ASSERT_EQ(R.gap_from[0], P(1));
    ASSERT_EQ(R.gap_to[0], P(2));
    ASSERT_EQ(R.gap_missing[0], 1);
    ASSERT_EQ(R.gap_why[0], CDL_GAP_NOT_FOUND);
    ASSERT_EQ(R.n_emit, 3);
    ASSERT_EQ(R.emit_ot[1], P(2));
    ASSERT_EQ(R.emit_ot[2], P(3));
    ASSERT(!cdl_seq_in_hole(S, 0));
    ASSERT_EQ(cdl_seq_stats(S)->holes_filled, 0);
    ASSERT_EQ(cdl_seq_stats(S)->periods_lost, 1);
}

/* Pages ask for the periods they cover (at most page_rows); a page the exchange answers with
 * fewer rows than asked (its own limit) is followed by one for the rest, with no gap; a page
 * bringing nothing at its start is a not-found gap as before. */
static void test_short_pages_continue(void)
{
    mk("1m", 16, 10, NULL);
    push(P(0), 1, "a", 0, P(1));
    cdl_seq_reconnected(S, 0, P(25) + 30000); /* back at 25:30: periods 1..24 are a hole */
    cdl_seq_tick(S, P(25) + 30000);
    ASSERT_EQ(R.n_bf, 1);
    ASSERT_EQ(R.bf_from[0], P(1));
    ASSERT_EQ(R.bf_to[0], P(11));
    ASSERT_EQ(R.bf_rows[0], 10);
    for (int i = 1; i <= 4; i++) /* the exchange sent 4 of the 10 */
        push(P(i), 1, "r", 1, P(25) + 30100);
    cdl_seq_backfill_done(S, 0, 1, P(25) + 30100);
    ASSERT_EQ(R.n_gap, 0);
    cdl_seq_tick(S, P(25) + 30200);
    ASSERT_EQ(R.n_bf, 2);
    ASSERT_EQ(R.bf_from[1], P(5));
    ASSERT_EQ(R.bf_to[1], P(15));
    for (int i = 5; i <= 14; i++)
        push(P(i), 1, "r", 1, P(25) + 30300);
    cdl_seq_backfill_done(S, 0, 1, P(25) + 30300);
    cdl_seq_tick(S, P(25) + 30400);
    ASSERT_EQ(R.n_bf, 3);
    ASSERT_EQ(R.bf_from[2], P(15));
    ASSERT_EQ(R.bf_to[2], P(25)); /* the hole ends where the reconnect found the clock */
    ASSERT_EQ(R.bf_rows[2], 10);
    cdl_seq_backfill_done(S, 0, 1, P(25) + 30500); /* nothing at all: not found */
    ASSERT_EQ(R.n_gap, 1);
    ASSERT_EQ(R.gap_from[0], P(15));
    ASSERT_EQ(R.gap_to[0], P(25));
    ASSERT_EQ(R.gap_why[0], CDL_GAP_NOT_FOUND);
    ASSERT_EQ(R.n_emit, 15);
    ASSERT_EQ(cdl_seq_expected(S, 0), P(25));
    ASSERT(!cdl_seq_in_hole(S, 0));
}

/* A hole that keeps growing while it is being filled never times out: each period has its own
 * deadline, counted from when its close was owed, not from when the first one went missing.
 * 1s candles; the WebSocket brings only the even seconds' closes (held behind the odd ones,
 * which never come), and the backfill, silent for the first seconds, then answers a page every
 * other second with its oldest row only: it keeps pace, a few seconds behind, so the hole stays
 * open for a minute (twice hold_ms) while no period waits more than about 6 s. */
static void test_growing_hole_does_not_age(void)
{
    mk("1s", 64, 100, NULL);
    int64_t q0 = T0;
    push(q0, 1, "a", 0, q0 + 1100);
    int open_all_along = 1, pages = 0;
    for (int i = 2; i <= 62; i++) {
        int64_t now = q0 + i * 1000LL + 100; /* just after period i - 1 ended */
        if ((i - 1) % 2 == 0)
            push(q0 + (i - 1) * 1000LL, 1, "ws", 0, now);
        cdl_seq_tick(S, now);
        if (i >= 8 && i % 2 == 0 && R.n_bf > 0) { /* the page in flight: its oldest row only */
            push(R.bf_from[R.n_bf - 1], 1, "rest", 1, now + 10);
            cdl_seq_backfill_done(S, 0, 1, now + 10);
            R.n_bf = 0; /* (the recorder keeps 16 pages) */
            pages++;
        }
        if (i > 4 && !cdl_seq_in_hole(S, 0))
            open_all_along = 0;
    }
    ASSERT(open_all_along); /* the scenario: one hole, never closed */
    ASSERT_EQ(pages, 28);
    ASSERT_EQ(R.n_gap, 0);
    ASSERT(R.n_emit >= 50);
    for (int k = 0; k < R.n_emit && k < 64; k++) /* every second, in order, once */
        ASSERT_EQ(R.emit_ot[k], q0 + k * 1000LL);
}

static void test_deadline_gap_and_retries(void)
{
    mk("1m", 16, 100, NULL);
    push(P(0), 1, "a", 0, P(1));
    int64_t t = P(3);
    push(P(2), 1, "c", 0, t); /* hole found at t */
    push(P(4), 1, "e", 0, t + 1);
    cdl_seq_tick(S, t + 1000);
    ASSERT_EQ(R.n_bf, 1);
    cdl_seq_backfill_done(S, 0, 0, t + 1200); /* failed */
    cdl_seq_tick(S, t + 6000);
    ASSERT_EQ(R.n_bf, 1); /* retry waits retry_ms */
    cdl_seq_tick(S, t + 6200);
    ASSERT_EQ(R.n_bf, 2);
    cdl_seq_backfill_done(S, 0, 0, t + 6300);
    ASSERT_EQ(cdl_seq_stats(S)->backfills_failed, 2);
    cdl_seq_tick(S, t + 29999);
    ASSERT_EQ(R.n_gap, 0);
    cdl_seq_tick(S, t + 30000); /* P1: hole found at t, after P1 was owed (P2 + grace) */
    ASSERT_EQ(R.n_gap, 1);
    ASSERT_EQ(R.gap_from[0], P(1));
    ASSERT_EQ(R.gap_to[0], P(2));
    ASSERT_EQ(R.gap_why[0], CDL_GAP_TIMEOUT);
    ASSERT_EQ(R.n_emit, 2); /* the held P2 goes out; P4 waits for P3, not owed before P4 + grace */
    ASSERT_EQ(R.emit_ot[1], P(2));
    ASSERT(cdl_seq_in_hole(S, 0));
    cdl_seq_tick(S, P(4) + 2000 + 29999);
    ASSERT_EQ(R.n_gap, 1);
    cdl_seq_tick(S, P(4) + 2000 + 30000);
    ASSERT_EQ(R.n_gap, 2); /* P3, hold_ms after it was owed */
    ASSERT_EQ(R.gap_from[1], P(3));
    ASSERT_EQ(R.gap_to[1], P(4));
    ASSERT_EQ(R.n_emit, 3);
    ASSERT_EQ(R.emit_ot[2], P(4));
    ASSERT(!cdl_seq_in_hole(S, 0));
    /* a late P3 after its gap: not emitted (order), counted */
    ASSERT_EQ(push(P(3), 1, "d", 0, P(4) + 2000 + 31000), CDL_SEQ_STALE);
    ASSERT_EQ(cdl_seq_stats(S)->late, 1);
}

static void test_overflow(void)
{
    mk("1m", 2, 100, NULL);
    push(P(0), 1, "a", 0, P(1));
    ASSERT_EQ(push(P(2), 1, "c", 0, P(3)), CDL_SEQ_HELD);
    ASSERT_EQ(push(P(3), 1, "d", 0, P(4)), CDL_SEQ_HELD);
    ASSERT_EQ(push(P(4), 1, "e", 0, P(5)), CDL_SEQ_NEW); /* full: P1 is given up, P4 is next */
    ASSERT_EQ(R.n_gap, 1);
    ASSERT_EQ(R.gap_why[0], CDL_GAP_OVERFLOW);
    ASSERT_EQ(R.gap_from[0], P(1));
    ASSERT_EQ(R.gap_to[0], P(2));
    ASSERT_EQ(R.n_emit, 4);
    ASSERT_EQ(R.emit_ot[3], P(4));
    ASSERT(!cdl_seq_in_hole(S, 0));
    /* full again, and the new candle is the next one after the drain */
    push(P(6), 1, "g", 0, P(7));
    push(P(8), 1, "i", 0, P(9));
    ASSERT_EQ(push(P(7), 1, "h", 0, P(9)), CDL_SEQ_NEW);
    ASSERT_EQ(R.n_gap, 2);
    ASSERT_EQ(R.gap_from[1], P(5));
    ASSERT_EQ(R.n_emit, 7);
    ASSERT_EQ(R.emit_ot[4], P(6));
    ASSERT_EQ(R.emit_ot[5], P(7));
    ASSERT_EQ(R.emit_ot[6], P(8));
    ASSERT_EQ(cdl_seq_held(S), 0);
}

static void test_missing_close_and_pages(void)
{
    mk("1m", 16, 2, NULL);
    push(P(0), 1, "a", 0, P(1));
    cdl_seq_tick(S, P(2) + 1999);
    ASSERT(!cdl_seq_in_hole(S, 0));
    /* P1 ended at P(2); no close after the grace: a hole up to what is over (+grace) */
    cdl_seq_tick(S, P(6) + 2500);
    ASSERT(cdl_seq_in_hole(S, 0));
    ASSERT_EQ(R.n_bf, 1);
    ASSERT_EQ(R.bf_from[0], P(1));
    ASSERT_EQ(R.bf_to[0], P(3)); /* pages of 2 */
    push(P(1), -1, "b", 1, P(6) + 2600);
    push(P(2), -1, "c", 1, P(6) + 2600);
    cdl_seq_backfill_done(S, 0, 1, P(6) + 2600);
    cdl_seq_tick(S, P(6) + 2700);
    ASSERT_EQ(R.n_bf, 2);
    ASSERT_EQ(R.bf_from[1], P(3));
    ASSERT_EQ(R.bf_to[1], P(5));
    push(P(3), 1, "d", 1, P(6) + 2800);
    push(P(4), 1, "e", 1, P(6) + 2800);
    cdl_seq_backfill_done(S, 0, 1, P(6) + 2800);
    cdl_seq_tick(S, P(6) + 2900);
    ASSERT_EQ(R.n_bf, 3);
    ASSERT_EQ(R.bf_from[2], P(5));
    ASSERT_EQ(R.bf_to[2], P(6));
    push(P(5), 1, "f", 1, P(6) + 3000);
    push(P(6), -1, "g", 1, P(6) + 3000); /* in progress: the WebSocket brings it */
    cdl_seq_backfill_done(S, 0, 1, P(6) + 3000);
    ASSERT(!cdl_seq_in_hole(S, 0));
    ASSERT_EQ(R.n_emit, 6);
    for (int i = 0; i < 6; i++)
        ASSERT_EQ(R.emit_ot[i], P(i));
    ASSERT_EQ(cdl_seq_stats(S)->verdicts[CDL_SEQ_PENDING], 1);
    ASSERT_EQ(cdl_seq_stats(S)->holes_filled, 1);
}

static void test_reconnect(void)
{
    mk("1m", 16, 100, NULL);
    cdl_seq_reconnected(S, 0, P(3)); /* nothing seen yet: nothing to fill */
    ASSERT(!cdl_seq_in_hole(S, 0));
    push(P(0), 1, "a", 0, P(1));
    cdl_seq_reconnected(S, 0, P(1) + 500); /* the current period is not over: no hole */
    ASSERT(!cdl_seq_in_hole(S, 0));
    cdl_seq_reconnected(S, 0, P(5) + 10000);
    ASSERT(cdl_seq_in_hole(S, 0));
    cdl_seq_tick(S, P(5) + 10000); /* no reorder wait after a reconnect */
    ASSERT_EQ(R.n_bf, 1);
    ASSERT_EQ(R.bf_from[0], P(1));
    ASSERT_EQ(R.bf_to[0], P(5));
    for (int i = 4; i >= 1; i--) /* newest first, as OKX and Bybit send them */
        push(P(i), -1, "x", 1, P(5) + 10100);
    ASSERT_EQ(R.n_emit, 5);
    cdl_seq_backfill_done(S, 0, 1, P(5) + 10100);
    ASSERT(!cdl_seq_in_hole(S, 0));
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(R.emit_ot[i], P(i));
}

static void test_no_backfill_possible(void)
{
    mk("1m", 16, 100, NULL);
    R.bf_rc = -1;
    push(P(0), 1, "a", 0, P(1));
    push(P(2), 1, "c", 0, P(3));
    cdl_seq_tick(S, P(3) + 1000);
    ASSERT_EQ(R.n_bf, 1);
    cdl_seq_tick(S, P(3) + 2000);
    ASSERT_EQ(R.n_bf, 1); /* waits retry_ms */
    cdl_seq_tick(S, P(3) + 30000);
    ASSERT_EQ(R.n_gap, 1);
    ASSERT_EQ(R.n_emit, 2);
}

static void test_inferred_closes(void)
{
    mk("1m", 16, 100, NULL);
    ASSERT_EQ(push(P(0), -1, "a1", 0, P(0) + 1), CDL_SEQ_UPDATE);
    ASSERT_EQ(push(P(0), -1, "a2", 0, P(0) + 2), CDL_SEQ_UPDATE);
    ASSERT_EQ(push(P(1), -1, "b1", 0, P(1) + 1), CDL_SEQ_UPDATE); /* newer period: P0 is final */
    ASSERT_EQ(R.n_emit, 4);
    ASSERT_EQ(R.emit_ot[2], P(0));
    ASSERT_EQ(R.emit_closed[2], 1);
    ASSERT_STR_EQ(R.emit_close[2], "a2");
    ASSERT_EQ(R.emit_closed[3], 0);
    ASSERT_EQ(push(P(0), -1, "a3", 0, P(1) + 2), CDL_SEQ_STALE); /* late update of a closed period */
    cdl_seq_tick(S, P(2) + 1999);
    ASSERT_EQ(R.n_emit, 4);
    cdl_seq_tick(S, P(2) + 2000); /* the clock: period end + grace */
    ASSERT_EQ(R.n_emit, 5);
    ASSERT_EQ(R.emit_ot[4], P(1));
    ASSERT_EQ(R.emit_closed[4], 1);
    ASSERT_STR_EQ(R.emit_close[4], "b1");
    ASSERT_EQ(cdl_seq_stats(S)->inferred, 2);
    /* no update at all in P2 (a quiet market): a hole, found by the clock */
    push(P(3), -1, "d1", 0, P(3) + 5);
    cdl_seq_tick(S, P(4) + 2000); /* P3 is final and waits behind the hole */
    ASSERT_EQ(R.n_bf, 0);
    ASSERT(cdl_seq_in_hole(S, 0));
    cdl_seq_tick(S, P(4) + 3000);
    ASSERT_EQ(R.n_bf, 1);
    ASSERT_EQ(R.bf_from[0], P(2));
    ASSERT_EQ(R.bf_to[0], P(3));
    push(P(2), -1, "c", 1, P(4) + 3100);
    cdl_seq_backfill_done(S, 0, 1, P(4) + 3100);
    ASSERT_EQ(R.emit_ot[R.n_emit - 2], P(2));
    ASSERT_EQ(R.emit_ot[R.n_emit - 1], P(3));
    ASSERT_EQ(R.emit_closed[R.n_emit - 1], 1);
}

/* confirm_inferred: an inferred close waits for the exchange's REST row of its period. */
static void test_confirm_inferred(void)
{
    mk("1m", 16, 100, NULL);
    cdl_seq_set_confirm_inferred(S, 1);
    const uint64_t *cf = cdl_seq_stats(S)->confirm;
    push(P(0), -1, "a1", 0, P(0) + 1);
    ASSERT_EQ(push(P(1), -1, "b1", 0, P(1) + 1), CDL_SEQ_UPDATE); /* roll-over: P0 is inferred, waits */
    ASSERT_EQ(R.n_emit, 2);
    ASSERT_EQ(R.emit_closed[1], 0);
    cdl_seq_tick(S, P(1) + 1999);
    ASSERT_EQ(R.n_bf, 0);
    cdl_seq_tick(S, P(1) + 2000); /* P0 over + grace: its row is asked for at once */
    ASSERT_EQ(R.n_bf, 1);
    ASSERT_EQ(R.bf_from[0], P(0));
    ASSERT_EQ(R.bf_to[0], P(1));
    ASSERT_EQ(push(P(0), -1, "a9", 1, P(1) + 2100), CDL_SEQ_NEW); /* the last trades were not pushed */
    cdl_seq_backfill_done(S, 0, 1, P(1) + 2100);
    ASSERT_EQ(R.n_emit, 3);
    ASSERT_EQ(R.emit_closed[2], 1);
    ASSERT_STR_EQ(R.emit_close[2], "a9");
    ASSERT_EQ(cf[CDL_CONFIRM_CORRECTED], 1);
    ASSERT(!cdl_seq_in_hole(S, 0));
    ASSERT_EQ(cdl_seq_stats(S)->holes, 0); /* a confirmation is no hole (connector_gaps_detected_total) */
    ASSERT_EQ(cdl_seq_stats(S)->holes_filled, 0);

    /* P1 inferred by the clock (a quiet end); the row has the same values */
    cdl_seq_tick(S, P(2) + 2000);
    ASSERT_EQ(R.n_emit, 3);
    ASSERT_EQ(R.n_bf, 2);
    ASSERT_EQ(R.bf_from[1], P(1));
    ASSERT_EQ(push(P(1), -1, "b1", 1, P(2) + 2100), CDL_SEQ_NEW);
    cdl_seq_backfill_done(S, 0, 1, P(2) + 2100);
    ASSERT_STR_EQ(R.emit_close[3], "b1");
    ASSERT_EQ(cf[CDL_CONFIRM_SAME], 1);

    /* P2: REST fails throughout: the inferred close goes out at the hold deadline, no gap */
    push(P(2), -1, "c1", 0, P(2) + 5);
    push(P(3), -1, "d1", 0, P(3) + 5);
    cdl_seq_tick(S, P(3) + 2000);
    ASSERT_EQ(R.n_bf, 3);
    cdl_seq_backfill_done(S, 0, 0, P(3) + 2100);
    int closes = R.n_emit;
    cdl_seq_tick(S, P(3) + 2000 + 29999);
    ASSERT_EQ(R.n_emit, closes);
    cdl_seq_tick(S, P(3) + 2000 + 30000);
    ASSERT_EQ(R.n_gap, 0);
    ASSERT_EQ(R.n_emit, closes + 1);
    ASSERT_EQ(R.emit_ot[closes], P(2));
    ASSERT_EQ(R.emit_closed[closes], 1);
    ASSERT_STR_EQ(R.emit_close[closes], "c1");
    ASSERT_EQ(cf[CDL_CONFIRM_NONE], 1);
    ASSERT(!cdl_seq_in_hole(S, 0));
    ASSERT_EQ(R.n_bf, 4);                                               /* the retry after the failure, still out: */
    ASSERT_EQ(push(P(2), -1, "c9", 1, P(3) + 40000), CDL_SEQ_REVISION); /* its late row: the first stands */
    cdl_seq_backfill_done(S, 0, 1, P(3) + 40000);

    /* P3: the exchange answers without its row: the inferred close, not a gap */
    cdl_seq_tick(S, P(4) + 2000);
    ASSERT_EQ(R.bf_from[R.n_bf - 1], P(3));
    cdl_seq_backfill_done(S, 0, 1, P(4) + 2100);
    ASSERT_EQ(R.n_gap, 0);
    ASSERT_EQ(R.emit_ot[R.n_emit - 1], P(3));
    ASSERT_STR_EQ(R.emit_close[R.n_emit - 1], "d1");
    ASSERT_EQ(cf[CDL_CONFIRM_NONE], 2);
    ASSERT_EQ(cdl_seq_stats(S)->inferred, 4);
    ASSERT_EQ(cdl_seq_stats(S)->holes, 0);

    /* a reconnect while a confirmation is out: the periods missing beyond it are a real hole */
    mk("1m", 16, 100, NULL);
    cdl_seq_set_confirm_inferred(S, 1);
    push(P(0), -1, "a1", 0, P(0) + 1);
    push(P(1), -1, "b1", 0, P(1) + 1);
    cdl_seq_tick(S, P(1) + 2000);
    ASSERT(cdl_seq_in_hole(S, 0));
    ASSERT_EQ(cdl_seq_stats(S)->holes, 0);
    cdl_seq_reconnected(S, 0, P(3) + 3000); /* P1 and P2 went by unseen */
    ASSERT_EQ(cdl_seq_stats(S)->holes, 1);

    /* no REST for the market: nothing to wait for, the inferred close goes out at once */
    mk("1m", 16, 0, NULL);
    cdl_seq_set_confirm_inferred(S, 1);
    push(P(0), -1, "a1", 0, P(0) + 1);
    push(P(1), -1, "b1", 0, P(1) + 1);
    ASSERT_EQ(R.n_emit, 3);
    ASSERT_EQ(R.emit_closed[1], 1);
}

static void test_calendar_months(void)
{
    mk("1M", 16, 100, NULL);
    const int64_t jan = 1704067200000LL, feb = 1706745600000LL, mar = 1709251200000LL, may = 1714521600000LL;
    push(jan, 1, "a", 0, feb);
    ASSERT_EQ(push(may, 1, "e", 0, may + 1), CDL_SEQ_HELD);
    cdl_seq_tick(S, may + 1001);
    ASSERT_EQ(R.n_bf, 1);
    ASSERT_EQ(R.bf_from[0], feb);
    ASSERT_EQ(R.bf_to[0], 1711929600000LL); /* April: May is not over for the grace yet */
    push(mar, 1, "c", 1, may + 1100);
    cdl_seq_backfill_done(S, 0, 1, may + 1100); /* Feb is not there, nor April */
    ASSERT_EQ(R.n_gap, 1);
    ASSERT_EQ(R.gap_from[0], feb);
    ASSERT_EQ(R.gap_to[0], mar);
    ASSERT_EQ(R.gap_missing[0], 1);
    cdl_seq_tick(S, may + 1200);
    ASSERT_EQ(R.n_bf, 1); /* [April, May) asked once April is over for the grace */
    cdl_seq_tick(S, may + 2000);
    ASSERT_EQ(R.n_bf, 2);
    cdl_seq_backfill_done(S, 0, 1, may + 2100);
    ASSERT_EQ(R.n_gap, 2);
    ASSERT_EQ(R.gap_missing[1], 1); /* April */
    ASSERT_EQ(R.emit_ot[R.n_emit - 1], may);
    ASSERT(!cdl_seq_in_hole(S, 0));
}

static void test_no_clock(void)
{
    mk("1m", 16, 100, NULL);
    struct cdl_seq_opts o = { .grace_ms = 2000,
                              .reorder_wait_ms = 1000,
                              .hold_ms = 30000,
                              .retry_ms = 5000,
                              .hold_max = 16,
                              .page_rows = 100,
                              .no_clock = 1 };
    cdl_interval_parse("1m", &o.iv);
    struct cdl_seq_cbs cbs = { .emit = r_emit, .gap = r_gap, .backfill = r_backfill, .user = &R };
    cdl_seq_destroy(S);
    S = cdl_seq_create(&o, &cbs);
    cdl_seq_add(S, 7);
    const int64_t now = P(1000000); /* years later: a replay */
    push(P(0), 1, "a", 0, now);
    cdl_seq_reconnected(S, 0, now);
    push(P(1), -1, "b", 0, now);
    cdl_seq_tick(S, now);
    ASSERT(!cdl_seq_in_hole(S, 0)); /* no missing close, no reconnect hole from the clock */
    ASSERT_EQ(R.n_emit, 2);         /* and P1 is not closed by the clock */
    push(P(2), -1, "c", 0, now);    /* ...but by the newer period */
    ASSERT_EQ(R.n_emit, 4);
    ASSERT_EQ(R.emit_closed[2], 1);
    push(P(4), 1, "e", 0, now); /* holes from the candles themselves still count */
    ASSERT(cdl_seq_in_hole(S, 0));
    cdl_seq_tick(S, now + 1000);
    ASSERT_EQ(R.n_bf, 1);
    ASSERT_EQ(R.bf_from[0], P(2)); /* P2 was never closed */
    ASSERT_EQ(R.bf_to[0], P(4));
}

/* An unflagged period in progress across a reconnect may have missed updates: its last value is
 * not taken as its close; the backfill brings the close.  And the clock closes a period only once
 * the connection has shown life after its end. */
static int64_t alive_ms;
static int64_t r_alive(void *u, int stream) { return alive_ms; }

static void test_inference_after_silence(void)
{
    mk("1m", 16, 100, NULL);
    push(P(0), -1, "a", 0, P(0) + 10);
    push(P(1), -1, "b1", 0, P(1) + 10); /* P0 closed by the newer period */
    ASSERT_EQ(R.emit_closed[1], 1);
    cdl_seq_reconnected(S, 0, P(1) + 30000); /* P1 in progress when the connection came back */
    push(P(2), -1, "c1", 0, P(2) + 10);      /* newer period, but P1's value may be stale */
    ASSERT_EQ(R.n_emit, 4);                  /* a open, a closed, b1 open, c1 open: no P1 close */
    ASSERT_EQ(R.emit_closed[3], 0);
    ASSERT_EQ(cdl_seq_expected(S, 0), P(1));
    cdl_seq_tick(S, P(3) + 2000); /* P2 over: closed by the clock, held behind P1 */
    ASSERT(cdl_seq_in_hole(S, 0));
    cdl_seq_tick(S, P(3) + 3000);
    ASSERT_EQ(R.n_bf, 1);
    ASSERT_EQ(R.bf_from[0], P(1));
    ASSERT_EQ(R.bf_to[0], P(2));
    push(P(1), -1, "b9", 1, P(3) + 3100); /* the exchange's final P1 */
    cdl_seq_backfill_done(S, 0, 1, P(3) + 3100);
    ASSERT_EQ(R.emit_ot[R.n_emit - 2], P(1));
    ASSERT_STR_EQ(R.emit_close[R.n_emit - 2], "b9");
    ASSERT_EQ(R.emit_ot[R.n_emit - 1], P(2));
    /* an update of the same period after the reconnect is the whole state again: trusted */
    push(P(3), -1, "d1", 0, P(3) + 5000);
    cdl_seq_reconnected(S, 0, P(3) + 6000);
    push(P(3), -1, "d2", 0, P(3) + 7000);
    push(P(4), -1, "e1", 0, P(4) + 10);
    ASSERT_EQ(R.emit_ot[R.n_emit - 2], P(3));
    ASSERT_EQ(R.emit_closed[R.n_emit - 2], 1);
    ASSERT_STR_EQ(R.emit_close[R.n_emit - 2], "d2");

    /* the clock waits for a sign of life after the period's end */
    struct cdl_seq_opts o = {
        .grace_ms = 2000, .reorder_wait_ms = 1000, .hold_ms = 30000, .retry_ms = 5000, .hold_max = 16, .page_rows = 100
    };
    cdl_interval_parse("1m", &o.iv);
    struct cdl_seq_cbs cbs = { .emit = r_emit, .gap = r_gap, .backfill = r_backfill, .alive = r_alive, .user = &R };
    cdl_seq_destroy(S);
    memset(&R, 0, sizeof R);
    S = cdl_seq_create(&o, &cbs);
    cdl_seq_add(S, 7);
    alive_ms = P(0) + 30000;
    push(P(0), -1, "a", 0, P(0) + 30000);
    cdl_seq_tick(S, P(1) + 5000); /* nothing heard since P0 ended: maybe lost, not quiet */
    ASSERT_EQ(R.n_emit, 1);
    alive_ms = P(1) + 4000; /* a pong after the end: the connection is fine, the market quiet */
    cdl_seq_tick(S, P(1) + 6000);
    ASSERT_EQ(R.n_emit, 2);
    ASSERT_EQ(R.emit_closed[1], 1);
}

static void test_stale_first_period_is_owed(void)
{
    mk("1m", 16, 100, NULL);
    push(P(0), -1, "a1", 0, P(0) + 10); /* the first period seen, then the connection dies */
    cdl_seq_reconnected(S, 0, P(2) + 1000);
    push(P(2), -1, "c1", 0, P(2) + 1100); /* P0's value is stale, yet P0 and P1 are owed */
    ASSERT_EQ(cdl_seq_expected(S, 0), P(0));
    cdl_seq_tick(S, P(2) + 1200); /* P0 ended long ago: a hole up to what is over */
    ASSERT_EQ(R.n_bf, 1);
    ASSERT_EQ(R.bf_from[0], P(0));
    ASSERT_EQ(R.bf_to[0], P(1)); /* P1 is not over for the grace yet */
}

/* A flagged stream whose first period's close is lost (the connection cut before it): the
 * first period seen was owed all the same, and the reconnect backfills it. */
static void test_first_seen_period_is_owed(void)
{
    mk("1m", 16, 100, NULL);
    ASSERT_EQ(push(P(0), 0, "a0", 0, P(0) + 10), CDL_SEQ_UPDATE);
    ASSERT_EQ(cdl_seq_expected(S, 0), P(0));
    cdl_seq_reconnected(S, 0, P(1) + 2500); /* P0 closed while we were away */
    ASSERT(cdl_seq_in_hole(S, 0));
    cdl_seq_tick(S, P(1) + 2500);
    ASSERT_EQ(R.n_bf, 1);
    ASSERT_EQ(R.bf_from[0], P(0));
    ASSERT_EQ(R.bf_to[0], P(1));
    ASSERT_EQ(push(P(0), -1, "a9", 1, P(1) + 2600), CDL_SEQ_NEW);
    cdl_seq_backfill_done(S, 0, 1, P(1) + 2600);
    ASSERT(!cdl_seq_in_hole(S, 0));
    ASSERT_EQ(R.n_emit, 2);
    ASSERT_EQ(R.emit_closed[1], 1);
    ASSERT_STR_EQ(R.emit_close[1], "a9");

    /* the clock finds it too: a close skipped while connected (P1's, the stream's first) */
    mk("1m", 16, 100, NULL);
    push(P(1), 0, "b0", 0, P(1) + 10);
    ASSERT_EQ(push(P(2), 1, "c", 0, P(3)), CDL_SEQ_HELD);
    ASSERT(cdl_seq_in_hole(S, 0));

    /* the close of a period before the first one seen, arriving late, is the stream's start;
     * the first one seen is still owed after it */
    mk("1m", 16, 100, NULL);
    push(P(1), 0, "b0", 0, P(1) + 10);
    ASSERT_EQ(push(P(0), 1, "a", 0, P(1) + 20), CDL_SEQ_NEW);
    ASSERT_EQ(cdl_seq_expected(S, 0), P(1));
    ASSERT_EQ(push(P(0), 1, "a", 0, P(1) + 30), CDL_SEQ_DUPLICATE);
    ASSERT_EQ(push(P(1), 1, "b", 0, P(2)), CDL_SEQ_NEW);
    ASSERT_EQ(R.n_emit, 3);

    /* an update for a period already closed before a re-subscription is no start */
    mk("1m", 16, 100, NULL);
    push(P(3), 1, "d", 0, P(4));
    cdl_seq_set_active(S, 0, 0);
    cdl_seq_set_active(S, 0, 1);
    ASSERT_EQ(push(P(3), 0, "d0", 0, P(4) + 10), CDL_SEQ_STALE);
    ASSERT_EQ(cdl_seq_expected(S, 0), -1);
    ASSERT_EQ(push(P(4), 0, "e0", 0, P(4) + 20), CDL_SEQ_UPDATE);
    ASSERT_EQ(cdl_seq_expected(S, 0), P(4));
}

static void test_inactive_and_reset(void)
{
    mk("1m", 16, 100, NULL);
    push(P(0), 1, "a", 0, P(1));
    push(P(2), 1, "c", 0, P(3)); /* a hole */
    cdl_seq_set_active(S, 0, 0);
    cdl_seq_tick(S, P(3) + 5000);
    ASSERT_EQ(R.n_bf, 0);        /* nobody wants it: no backfill */
    cdl_seq_set_active(S, 0, 1); /* back: starts afresh, remembering its last close */
    ASSERT(!cdl_seq_in_hole(S, 0));
    ASSERT_EQ(cdl_seq_held(S), 0);
    ASSERT_EQ(push(P(0), 1, "a", 0, P(10)), CDL_SEQ_DUPLICATE);
    ASSERT_EQ(push(P(9), 1, "j", 0, P(10)), CDL_SEQ_NEW);
    cdl_seq_reset(S, 0, 99); /* the slot now carries another stream */
    ASSERT_EQ(cdl_seq_expected(S, 0), -1);
    ASSERT_EQ(push(P(0), 1, "x", 0, P(10)), CDL_SEQ_NEW);
}

static void test_many_streams_independent(void)
{
    mk("1m", 16, 100, NULL);
    cdl_seq_add(S, 8);
    struct cdl_candle c = K(P(0), 1, "a");
    ASSERT_EQ(cdl_seq_push(S, 0, &c, 0, P(1), 0), CDL_SEQ_NEW);
    ASSERT_EQ(cdl_seq_push(S, 1, &c, 0, P(1), 0), CDL_SEQ_NEW);
    c.open_time = P(2);
    ASSERT_EQ(cdl_seq_push(S, 1, &c, 0, P(3), 0), CDL_SEQ_HELD);
    ASSERT(!cdl_seq_in_hole(S, 0));
    ASSERT(cdl_seq_in_hole(S, 1));
    ASSERT_EQ(cdl_seq_count(S), 2);
}

int main(void)
{
    TEST_RUN(test_in_order_duplicates_revisions);
    TEST_RUN(test_open_updates);
    TEST_RUN(test_hole_held_then_filled);
    TEST_RUN(test_reorder_fills_itself);
    TEST_RUN(test_not_found_gap);
    TEST_RUN(test_short_pages_continue);
    TEST_RUN(test_deadline_gap_and_retries);
    TEST_RUN(test_growing_hole_does_not_age);
    TEST_RUN(test_overflow);
    TEST_RUN(test_missing_close_and_pages);
    TEST_RUN(test_reconnect);
    TEST_RUN(test_no_backfill_possible);
    TEST_RUN(test_inferred_closes);
    TEST_RUN(test_confirm_inferred);
    TEST_RUN(test_calendar_months);
    TEST_RUN(test_no_clock);
    TEST_RUN(test_inference_after_silence);
    TEST_RUN(test_stale_first_period_is_owed);
    TEST_RUN(test_first_seen_period_is_owed);
    TEST_RUN(test_inactive_and_reset);
    TEST_RUN(test_many_streams_independent);
    cdl_seq_destroy(S);
    return TEST_DONE();
}

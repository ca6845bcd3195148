/* seq.c - see seq.h. */
#include "seq.h"

#include <stdlib.h>
#include <string.h>

#include "dedup.h"
#include "xalloc.h"

struct held {
    struct cdl_candle c;
    uint64_t recv_us;
};

struct sstream {
    uint64_t key;
    int64_t next;        /* open time of the next closed candle expected, -1 before the first */
    int next_from_open;  /* next is the first period seen (an open update), no close yet */
    int64_t last_closed; /* open time of the last closed candle emitted, -1 none */
    uint64_t last_closed_hash;
    int64_t last_open; /* open time of the last open update emitted, -1 none */
    uint64_t last_open_hash;
    int has_pending;   /* closed == -1 streams: the latest value of the newest period */
    int pending_stale; /* ...received before a reconnect: updates may be missing */
    struct cdl_candle pending;
    uint64_t pending_recv;
    /* a hole: closed candles from `next` up to hole_to (or the first held one) are missing */
    int hole, hole_gapped, inflight;
    int hole_confirm; /* the hole is the REST confirmation of inferred closes, not a loss */
    int64_t hole_to, hole_since, retry_at, page_from, page_to;
    int64_t gap_from, gap_to; /* the last gap announced, to recognise late candles */
    int inactive;
    int n_held, cap_held;
    struct held *held; /* sorted by open time, allocated while a hole lasts */
    int n_cand, cap_cand;
    struct held *cand; /* inferred closes waiting for their REST confirmation, by open time */
};

struct cdl_seq {
    struct cdl_seq_opts o;
    struct cdl_seq_cbs cbs;
    struct sstream *st;
    int n, cap;
    int64_t n_held;
    struct cdl_seq_stats stats;
};

const char *cdl_seq_gap_reason_name(enum cdl_seq_gap_reason r)
{
    static const char *const names[CDL_GAP_REASONS] = {
        [CDL_GAP_NOT_FOUND] = "not_found",
        [CDL_GAP_TIMEOUT] = "timeout",
        [CDL_GAP_OVERFLOW] = "hold_overflow",
    };
    return (unsigned)r < CDL_GAP_REASONS ? names[r] : "unknown";
}

uint64_t cdl_candle_values_hash(const struct cdl_candle *c)
{
    const char *parts[] = { c->open, c->high, c->low, c->close, c->volume, c->quote_volume };
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)c->trades;
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        for (const char *p = parts[i]; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL;
    }
    return h;
}

struct cdl_seq *cdl_seq_create(const struct cdl_seq_opts *o, const struct cdl_seq_cbs *cbs)
{
    struct cdl_seq *s = cdl_xcalloc(1, sizeof *s);
    s->o = *o;
    if (s->o.hold_max < 1)
        s->o.hold_max = 1;
    s->cbs = *cbs;
    return s;
}

void cdl_seq_destroy(struct cdl_seq *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n; i++) {
        free(s->st[i].held);
        free(s->st[i].cand);
    }
    free(s->st);
    free(s);
}

int cdl_seq_add(struct cdl_seq *s, uint64_t key)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->st = cdl_xrealloc(s->st, (size_t)s->cap * sizeof *s->st);
    }
    struct sstream *st = &s->st[s->n];
    memset(st, 0, sizeof *st);
    st->key = key;
    st->next = st->last_closed = st->last_open = -1;
    st->gap_from = st->gap_to = -1;
    return s->n++;
}

int cdl_seq_count(const struct cdl_seq *s) { return s->n; }

static void forget_hole(struct cdl_seq *s, struct sstream *st)
{
    s->n_held -= st->n_held;
    free(st->held);
    st->held = NULL;
    st->n_held = st->cap_held = 0;
    free(st->cand);
    st->cand = NULL;
    st->n_cand = st->cap_cand = 0;
    st->hole = st->hole_gapped = st->inflight = st->hole_confirm = 0;
}

void cdl_seq_reset(struct cdl_seq *s, int id, uint64_t key)
{
    struct sstream *st = &s->st[id];
    forget_hole(s, st);
    memset(st, 0, sizeof *st);
    st->key = key;
    st->next = st->last_closed = st->last_open = -1;
    st->gap_from = st->gap_to = -1;
}

void cdl_seq_set_active(struct cdl_seq *s, int id, int active)
{
    struct sstream *st = &s->st[id];
    if ((!active) == st->inactive)
        return;
    st->inactive = !active;
    if (!active)
        return;
    forget_hole(s, st); /* back: from the next close on, newer than the last one emitted */
    st->next = -1;
    st->next_from_open = 0;
    st->has_pending = 0;
}

/* Room for one more in a held/candidate array of capacity *cap: doubled from `first`, at most max. */
static struct held *grow(struct held *a, int *cap, int first, int max)
{
    *cap = *cap ? *cap * 2 : first;
    if (*cap > max)
        *cap = max;
    a = cdl_xrealloc(a, (size_t)*cap * sizeof *a);
    return a;
}

/* Takes the oldest candidate out (there is one). */
static struct held pop_cand(struct sstream *st)
{
    struct held h = st->cand[0];
    memmove(st->cand, st->cand + 1, (size_t)(st->n_cand - 1) * sizeof *st->cand);
    st->n_cand--;
    return h;
}

/* ---- emitting ------------------------------------------------------------------------------------- */

/* A close for c's period is going out: the candidates up to it are done with; the one for the
 * same period is compared with it (the REST row that confirms or corrects the inference). */
static void drop_cands(struct cdl_seq *s, struct sstream *st, const struct cdl_candle *c)
{
    int k = 0;
    while (k < st->n_cand && st->cand[k].c.open_time <= c->open_time) {
        if (st->cand[k].c.open_time == c->open_time)
            s->stats
                .confirm[cdl_candle_values_hash(&st->cand[k].c) == cdl_candle_values_hash(c) ? CDL_CONFIRM_SAME
                                                                                             : CDL_CONFIRM_CORRECTED]++;
        k++;
    }
    if (k) {
        memmove(st->cand, st->cand + k, (size_t)(st->n_cand - k) * sizeof *st->cand);
        st->n_cand -= k;
    }
}

static void emit_closed(struct cdl_seq *s, struct sstream *st, const struct cdl_candle *c, uint64_t recv_us,
                        int64_t now)
{
    if (st->n_cand)
        drop_cands(s, st, c);
    st->last_closed = c->open_time;
    st->last_closed_hash = cdl_candle_values_hash(c);
    if (!st->next_from_open || cdl_interval_next(&s->o.iv, c->open_time) > st->next)
        st->next = cdl_interval_next(&s->o.iv, c->open_time);
    st->next_from_open = 0;
    if (st->has_pending && st->pending.open_time < st->next)
        st->has_pending = 0;
    if (s->o.dedup)
        cdl_dedup_put(s->o.dedup, st->key, c->open_time, st->last_closed_hash, now);
    s->cbs.emit(s->cbs.user, (int)(st - s->st), c, recv_us);
}

static int64_t periods_between(const struct cdl_seq *s, int64_t from, int64_t to)
{
    if (s->o.iv.ms > 0)
        return (to - from + s->o.iv.ms - 1) / s->o.iv.ms;
    int64_t n = 0;
    for (int64_t t = from; t < to; t = cdl_interval_next(&s->o.iv, t))
        n++;
    return n;
}

/* The periods [next, to) are lost: announce them and move on. */
static void gap_to(struct cdl_seq *s, struct sstream *st, int64_t to, enum cdl_seq_gap_reason why)
{
    if (to <= st->next)
        return;
    int64_t missing = periods_between(s, st->next, to);
    s->stats.gaps[why]++;
    s->stats.periods_lost += (uint64_t)missing;
    st->gap_from = st->next;
    st->gap_to = to;
    st->hole_gapped = 1;
    st->next_from_open = 0;
    int64_t from = st->next;
    st->next = to;
    if (st->has_pending && st->pending.open_time < to)
        st->has_pending = 0;
    s->cbs.gap(s->cbs.user, (int)(st - s->st), from, to, missing, why);
}

/* The periods [next, to) are given up on: those with an inferred close waiting for its REST
 * confirmation get that close (unconfirmed: the best value there is), the others are lost. */
static void announce_gap(struct cdl_seq *s, struct sstream *st, int64_t to, enum cdl_seq_gap_reason why, int64_t now)
{
    while (st->n_cand && st->cand[0].c.open_time < to) {
        struct held h = pop_cand(st);
        if (h.c.open_time < st->next)
            continue;
        gap_to(s, st, h.c.open_time, why);
        s->stats.confirm[CDL_CONFIRM_NONE]++;
        emit_closed(s, st, &h.c, h.recv_us, now);
    }
    gap_to(s, st, to, why);
}

/* Emits the held candles that are now next in line; drops those that became duplicates. */
static void drain_held(struct cdl_seq *s, struct sstream *st, int64_t now)
{
    int k = 0;
    while (k < st->n_held && st->held[k].c.open_time <= st->next) {
        if (st->held[k].c.open_time == st->next)
            emit_closed(s, st, &st->held[k].c, st->held[k].recv_us, now);
        else
            s->stats.verdicts[CDL_SEQ_DUPLICATE]++;
        k++;
    }
    if (k) {
        memmove(st->held, st->held + k, (size_t)(st->n_held - k) * sizeof *st->held);
        st->n_held -= k;
        s->n_held -= k;
    }
}

/* Ends the hole once nothing is missing any more. */
static void hole_check(struct cdl_seq *s, struct sstream *st)
{
    if (!st->hole || st->n_held || st->next < st->hole_to)
        return;
    if (!st->hole_gapped && !st->hole_confirm)
        s->stats.holes_filled++;
    st->hole = st->hole_gapped = st->hole_confirm = 0;
    free(st->held);
    st->held = NULL;
    st->cap_held = 0;
}

static void open_hole(struct cdl_seq *s, struct sstream *st, int64_t to, int64_t now, int64_t wait)
{
    if (st->hole) {
        if (to > st->hole_to)
            st->hole_to = to;
        if (st->hole_confirm &&
            to > (st->n_cand ? cdl_interval_next(&s->o.iv, st->cand[st->n_cand - 1].c.open_time) : st->next)) {
            st->hole_confirm = 0; /* periods with nothing at all are missing too now: a hole */
            s->stats.holes++;
        }
        return;
    }
    /* the period missing has an inferred close waiting for its row: a confirmation, no hole */
    st->hole_confirm = st->n_cand && st->cand[0].c.open_time == st->next;
    if (!st->hole_confirm)
        s->stats.holes++;
    st->hole = 1;
    st->hole_gapped = 0;
    st->hole_to = to;
    st->hole_since = now;
    st->retry_at = now + wait;
}

/* ---- closed candles ----------------------------------------------------------------------------- */

static enum cdl_seq_verdict seen_before(struct cdl_seq *s, struct sstream *st, const struct cdl_candle *c, int64_t now)
{
    uint64_t h = cdl_candle_values_hash(c), old;
    if (c->open_time == st->last_closed)
        return h == st->last_closed_hash ? CDL_SEQ_DUPLICATE : CDL_SEQ_REVISION;
    if (s->o.dedup && cdl_dedup_get(s->o.dedup, st->key, c->open_time, &old, now))
        return h == old ? CDL_SEQ_DUPLICATE : CDL_SEQ_REVISION;
    if (c->open_time >= st->gap_from && c->open_time < st->gap_to) {
        s->stats.late++;
        return CDL_SEQ_STALE;
    }
    return CDL_SEQ_DUPLICATE;
}

/* Holds c (ahead of `next`) in open-time order. */
static enum cdl_seq_verdict hold(struct cdl_seq *s, struct sstream *st, const struct cdl_candle *c, uint64_t recv_us,
                                 int64_t now)
{
    int i = st->n_held;
    while (i > 0 && st->held[i - 1].c.open_time > c->open_time)
        i--;
    if (i > 0 && st->held[i - 1].c.open_time == c->open_time)
        return cdl_candle_values_hash(&st->held[i - 1].c) == cdl_candle_values_hash(c) ? CDL_SEQ_DUPLICATE
                                                                                       : CDL_SEQ_REVISION;
    if (st->n_held == s->o.hold_max) {
        /* no more room: give up on the oldest hole, let what can go out go out */
        announce_gap(s, st, st->held[0].c.open_time, CDL_GAP_OVERFLOW, now);
        drain_held(s, st, now);
        if (c->open_time < st->next)
            return seen_before(s, st, c, now);
        if (c->open_time == st->next) {
            emit_closed(s, st, c, recv_us, now);
            drain_held(s, st, now);
            return CDL_SEQ_NEW;
        }
        i = st->n_held; /* the drain emitted held[0] at least, so there is room now */
        while (i > 0 && st->held[i - 1].c.open_time > c->open_time)
            i--;
    }
    if (st->n_held == st->cap_held)
        st->held = grow(st->held, &st->cap_held, 8, s->o.hold_max);
    memmove(st->held + i + 1, st->held + i, (size_t)(st->n_held - i) * sizeof *st->held);
    st->held[i].c = *c;
    st->held[i].recv_us = recv_us;
    st->n_held++;
    s->n_held++;
    return CDL_SEQ_HELD;
}

static enum cdl_seq_verdict push_closed(struct cdl_seq *s, struct sstream *st, const struct cdl_candle *c,
                                        uint64_t recv_us, int64_t now)
{
    if (st->next_from_open && c->open_time < st->next && c->open_time > st->last_closed) {
        /* the close of a period before the first one seen, late: the start of the stream */
        emit_closed(s, st, c, recv_us, now);
        return CDL_SEQ_NEW;
    }
    if ((st->next >= 0 && c->open_time < st->next) || (st->next < 0 && c->open_time <= st->last_closed))
        return seen_before(s, st, c, now);
    if (st->next < 0 || c->open_time == st->next) {
        emit_closed(s, st, c, recv_us, now);
        drain_held(s, st, now);
        hole_check(s, st);
        return CDL_SEQ_NEW;
    }
    enum cdl_seq_verdict v = hold(s, st, c, recv_us, now);
    if (v == CDL_SEQ_HELD)
        open_hole(s, st, c->open_time, now, s->o.reorder_wait_ms);
    hole_check(s, st);
    return v;
}

/* ---- open updates and inference ------------------------------------------------------------------- */

static enum cdl_seq_verdict push_open(struct cdl_seq *s, struct sstream *st, const struct cdl_candle *c,
                                      uint64_t recv_us)
{
    if ((st->next >= 0 && c->open_time < st->next) || c->open_time <= st->last_closed || c->open_time < st->last_open)
        return CDL_SEQ_STALE;
    uint64_t h = cdl_candle_values_hash(c);
    if (c->open_time == st->last_open && h == st->last_open_hash)
        return CDL_SEQ_DUPLICATE;
    if (st->next < 0 && c->open_time > st->last_closed) {
        /* the first period seen is owed its close, even if the close is lost (a disconnect, an
         * exchange that skips it): from here on a reconnect or the clock finds the hole */
        st->next = c->open_time;
        st->next_from_open = 1;
    }
    st->last_open = c->open_time;
    st->last_open_hash = h;
    s->cbs.emit(s->cbs.user, (int)(st - s->st), c, recv_us);
    return CDL_SEQ_UPDATE;
}

/* An inferred close that waits for REST (confirm_inferred): the period is owed, so once it is
 * over (+ grace) the clock opens a hole for it and the backfill brings the exchange's own row;
 * if none comes before the hold deadline, this value goes out instead of a gap. */
static void add_cand(struct cdl_seq *s, struct sstream *st, const struct cdl_candle *c, uint64_t recv_us)
{
    if (st->next < 0)
        st->next = c->open_time;
    if (c->open_time < st->next || (st->n_cand && st->cand[st->n_cand - 1].c.open_time >= c->open_time))
        return; /* a period already given out, or not newer than the last candidate: nothing new */
    if (st->n_cand == s->o.hold_max) { /* the backfill is far behind: the oldest candidate goes */
        pop_cand(st);
        s->stats.confirm[CDL_CONFIRM_DROPPED]++;
    }
    if (st->n_cand == st->cap_cand)
        st->cand = grow(st->cand, &st->cap_cand, 4, s->o.hold_max);
    st->cand[st->n_cand].c = *c;
    st->cand[st->n_cand].recv_us = recv_us;
    st->n_cand++;
}

/* The pending value of a flag-less stream is final: push it as the period's closed candle. */
static void close_pending(struct cdl_seq *s, struct sstream *st, int64_t now)
{
    struct cdl_candle c = st->pending;
    st->has_pending = 0;
    if (st->pending_stale) { /* not the period's last value for sure: the hole logic backfills it */
        st->pending_stale = 0;
        if (st->next < 0)
            st->next = c.open_time; /* the stream's first period: it is owed all the same */
        return;
    }
    c.closed = 1;
    s->stats.inferred++;
    if (s->o.confirm_inferred && !s->o.no_clock && s->o.page_rows > 0) {
        add_cand(s, st, &c, st->pending_recv);
        return;
    }
    enum cdl_seq_verdict v = push_closed(s, st, &c, st->pending_recv, now);
    s->stats.verdicts[v]++;
}

static enum cdl_seq_verdict push_unflagged(struct cdl_seq *s, struct sstream *st, const struct cdl_candle *c,
                                           uint64_t recv_us, int64_t now)
{
    if ((st->next >= 0 && c->open_time < st->next) || (st->has_pending && c->open_time < st->pending.open_time))
        return CDL_SEQ_STALE;
    if (st->has_pending && c->open_time > st->pending.open_time)
        close_pending(s, st, now);
    if (st->next >= 0 && c->open_time < st->next) /* closing the pending one cannot pass c, but be safe */
        return CDL_SEQ_STALE;
    st->pending = *c;
    st->pending.closed = 0;
    st->pending_recv = recv_us;
    st->has_pending = 1;
    st->pending_stale = 0; /* the exchange sends the whole state of the period each time */
    return push_open(s, st, &st->pending, recv_us);
}

enum cdl_seq_verdict cdl_seq_push(struct cdl_seq *s, int id, const struct cdl_candle *c, int from_rest, int64_t now_ms,
                                  uint64_t recv_us)
{
    struct sstream *st = &s->st[id];
    enum cdl_seq_verdict v;
    if (from_rest && c->closed != 1) {
        /* a REST row is final once its period is over (+ grace); the newest row is in progress */
        if (c->closed == 0 || cdl_interval_next(&s->o.iv, c->open_time) + s->o.grace_ms > now_ms) {
            v = CDL_SEQ_PENDING;
        } else {
            struct cdl_candle k = *c;
            k.closed = 1;
            v = push_closed(s, st, &k, recv_us, now_ms);
        }
    } else if (c->closed == 1) {
        v = push_closed(s, st, c, recv_us, now_ms);
    } else if (c->closed == 0) {
        v = push_open(s, st, c, recv_us);
    } else {
        v = push_unflagged(s, st, c, recv_us, now_ms);
    }
    s->stats.verdicts[v]++;
    return v;
}

/* ---- backfill and the clock --------------------------------------------------------------------- */

/* Open time `rows` periods after t. */
static int64_t advance(const struct cdl_seq *s, int64_t t, int rows)
{
    if (s->o.iv.ms > 0)
        return t + (int64_t)rows * s->o.iv.ms;
    for (int i = 0; i < rows; i++)
        t = cdl_interval_next(&s->o.iv, t);
    return t;
}

static int64_t hole_target(const struct sstream *st) { return st->n_held ? st->held[0].c.open_time : st->hole_to; }

void cdl_seq_backfill_done(struct cdl_seq *s, int id, int ok, int64_t now_ms)
{
    struct sstream *st = &s->st[id];
    if (!st->inflight)
        return;
    st->inflight = 0;
    if (!ok)
        s->stats.backfills_failed++;
    if (!st->hole)
        return;
    if (!ok) {
        st->retry_at = now_ms + s->o.retry_ms;
        return;
    }
    if (st->next < st->page_to && st->next > st->page_from) {
        /* rows up to next came: the exchange's page may be shorter than asked (its own limit
         * for that range); the rest is asked for on the next tick */
    } else if (st->next < st->page_to) {
        /* answered, yet the exchange has nothing for [next, ...): those periods do not exist */
        int64_t t = hole_target(st);
        announce_gap(s, st, t < st->page_to ? t : st->page_to, CDL_GAP_NOT_FOUND, now_ms);
        drain_held(s, st, now_ms);
    }
    st->retry_at = now_ms; /* the next page, if any, on the next tick */
    hole_check(s, st);
}

void cdl_seq_reconnected(struct cdl_seq *s, int id, int64_t now_ms)
{
    struct sstream *st = &s->st[id];
    int64_t cur = cdl_interval_floor(&s->o.iv, now_ms);
    if (st->has_pending)
        st->pending_stale = 1;
    if (s->o.no_clock || st->next < 0 || st->next >= cur)
        return;
    open_hole(s, st, cur, now_ms, 0);
    if (st->retry_at > now_ms && !st->inflight)
        st->retry_at = now_ms;
}

/* When the oldest missing period (next) is given up: hold_ms after its close was owed (its end +
 * grace), or after its hole was found if that was later.  A hole that keeps growing while it is
 * being filled (new skipped closes behind a backfill) does not age with its first period. */
static int64_t hole_deadline(const struct cdl_seq *s, const struct sstream *st)
{
    int64_t owed = cdl_interval_next(&s->o.iv, st->next) + s->o.grace_ms;
    return (owed > st->hole_since ? owed : st->hole_since) + s->o.hold_ms;
}

static void hole_tick(struct cdl_seq *s, struct sstream *st, int64_t now)
{
    if (now >= hole_deadline(s, st)) {
        /* deadline: the overdue periods are announced and what was held behind them goes out;
         * younger missing periods keep their own deadlines */
        int64_t cut = cdl_interval_floor(&s->o.iv, now - s->o.hold_ms - s->o.grace_ms);
        while (st->hole) { /* periods before cut were owed hold_ms ago; cut > next here */
            int64_t t = hole_target(st);
            if (t > cut)
                t = cut;
            if (t <= st->next)
                break;
            announce_gap(s, st, t, CDL_GAP_TIMEOUT, now);
            drain_held(s, st, now);
            hole_check(s, st);
        }
        return;
    }
    if (st->inflight || now < st->retry_at || s->o.page_rows <= 0)
        return;
    /* only periods over for at least the grace: the exchange's rows for them are final */
    int64_t to = hole_target(st), end = advance(s, st->next, s->o.page_rows);
    int64_t ripe = s->o.no_clock ? to : cdl_interval_floor(&s->o.iv, now - s->o.grace_ms);
    if (end < to)
        to = end;
    if (ripe < to)
        to = ripe;
    if (to <= st->next)
        return;
    s->stats.backfills++;
    int rows = (int)periods_between(s, st->next, to);
    if (s->cbs.backfill(s->cbs.user, (int)(st - s->st), st->next, to, rows) == 0) {
        st->inflight = 1;
        st->page_from = st->next;
        st->page_to = to;
    } else {
        s->stats.backfills_failed++;
        st->retry_at = now + s->o.retry_ms;
    }
}

void cdl_seq_tick(struct cdl_seq *s, int64_t now_ms)
{
    for (int i = 0; i < s->n; i++) {
        struct sstream *st = &s->st[i];
        if (st->inactive)
            continue;
        if (s->o.no_clock) {
            if (st->hole)
                hole_tick(s, st, now_ms);
            continue;
        }
        if (st->has_pending) {
            int64_t end = cdl_interval_next(&s->o.iv, st->pending.open_time);
            if (end + s->o.grace_ms <= now_ms && (!s->cbs.alive || s->cbs.alive(s->cbs.user, i) >= end))
                close_pending(s, st, now_ms);
        }
        /* the expected period is over (+ grace) and its close never came */
        if (st->next >= 0 && !st->hole && cdl_interval_next(&s->o.iv, st->next) + s->o.grace_ms <= now_ms)
            open_hole(s, st, cdl_interval_floor(&s->o.iv, now_ms - s->o.grace_ms), now_ms, 0);
        if (st->hole)
            hole_tick(s, st, now_ms);
    }
}

void cdl_seq_set_confirm_inferred(struct cdl_seq *s, int on) { s->o.confirm_inferred = on; }

int cdl_seq_in_hole(const struct cdl_seq *s, int id) { return s->st[id].hole; }
int64_t cdl_seq_expected(const struct cdl_seq *s, int id) { return s->st[id].next; }
int64_t cdl_seq_held(const struct cdl_seq *s) { return s->n_held; }
const struct cdl_seq_stats *cdl_seq_stats(const struct cdl_seq *s) { return &s->stats; }

/* seq.h - the stream sequencer: closed candles exactly once, in order, with no silent hole.
 *
 * One sequencer tracks many streams (one stream = exchange, market, symbol, interval), each by a
 * small integer id.  Every candle that passed the boundary checks is pushed here, from the
 * WebSocket or from a REST backfill; the sequencer decides, per stream:
 *   - closed candles: the next expected period is emitted; an older one is a duplicate (or, if
 *     its values differ from the one emitted, a revision: counted, the first one stands); a newer
 *     one opens a hole and waits (held, in order) until the hole is filled by a backfill, or
 *     until the hold deadline of the periods missing before it (hold_ms after each one's close
 *     was owed), when those are announced as a gap event and the held candles go out;
 *   - open updates: emitted at once (they never wait behind a hole) unless they are for a period
 *     already closed, older than one already sent, or identical to the last one sent;
 *   - candles whose exchange does not say whether they are final (closed == -1): the last value
 *     of a period becomes its closed candle when a newer period arrives, or when the clock passes
 *     the period's end + grace (generic closed-candle inference, for every adapter);
 *   - a missing close (the clock passes the expected period's end + grace with no close) and a
 *     reconnect open a hole too, so every hole, however it happened, is backfilled.
 * Backfills are asked for through a callback in pages of at most `page_rows` periods, one in
 * flight per stream; their rows are pushed back with from_rest set and the page is finished
 * with cdl_seq_backfill_done.  A page answered with rows for only the start of its range (the
 * exchange's own page limit for that range) is followed by one for the rest; periods are
 * announced as not found only when a page brings nothing at its start.
 *
 * Pure: time is an argument (ms since the epoch), no I/O, no clock; the caller drives
 * cdl_seq_tick.  The sequencer owns its per-stream state; candles are copied.  Callbacks may
 * not call back into the sequencer. */
#ifndef CDL_SEQ_H
#define CDL_SEQ_H

#include <stdint.h>

#include "candle.h"
#include "interval.h"

struct cdl_dedup;

/* What happened to one pushed candle. */
enum cdl_seq_verdict {
    CDL_SEQ_NEW = 0,   /* emitted as a closed candle (maybe after others it released) */
    CDL_SEQ_UPDATE,    /* emitted as an open update */
    CDL_SEQ_HELD,      /* a closed candle waiting behind a hole */
    CDL_SEQ_DUPLICATE, /* the same candle was already emitted (or is already held) */
    CDL_SEQ_STALE,     /* an update older than what was already emitted */
    CDL_SEQ_REVISION,  /* a closed candle differing from the one already emitted for its period */
    CDL_SEQ_PENDING,   /* REST row of a period not yet over: ignored, the WebSocket brings it */
    CDL_SEQ_VERDICTS
};

/* Why a gap was announced. */
enum cdl_seq_gap_reason {
    CDL_GAP_NOT_FOUND = 0, /* the backfill succeeded but the exchange has no candle there */
    CDL_GAP_TIMEOUT,       /* the hold deadline passed before a backfill could fill it */
    CDL_GAP_OVERFLOW,      /* more closed candles arrived behind the hole than can be held */
    CDL_GAP_REASONS
};
const char *cdl_seq_gap_reason_name(enum cdl_seq_gap_reason r);

struct cdl_seq_cbs {
    /* A candle leaves the sequencer (closed == 1 or 0); borrowed for the call. */
    void (*emit)(void *user, int stream, const struct cdl_candle *c, uint64_t recv_us);
    /* The periods opening in [from, to) are missing for good (to = the next open time that is
     * there); `missing` = how many periods. */
    void (*gap)(void *user, int stream, int64_t from, int64_t to, int64_t missing, enum cdl_seq_gap_reason why);
    /* Asks for the closed candles opening in [from, to): `rows` periods, at most page_rows (a
     * page of the exchange's full size when the hole is that big).  Returns 0 if the
     * request was issued (the caller then pushes the rows and calls cdl_seq_backfill_done), or
     * a negative value if it cannot be (no REST, breaker open): the hole then waits for late
     * frames until its deadline. */
    int (*backfill)(void *user, int stream, int64_t from, int64_t to, int rows);
    /* Optional: when the stream's connection last received anything (ms).  A candle without a
     * closed flag is closed by the clock only once its connection has shown life after the
     * period's end: silence may be lost updates, not a quiet market. */
    int64_t (*alive)(void *user, int stream);
    void *user;
};

struct cdl_seq_opts {
    struct cdl_interval iv;
    int64_t grace_ms;        /* after a period's end before it is closed by the clock / missed */
    int64_t reorder_wait_ms; /* a hole this young may still fill by itself: backfill after */
    int64_t hold_ms;         /* a missing period is given up this long after its close was owed
                              * (or after its hole was found, if later) */
    int64_t retry_ms;        /* wait after a failed backfill page */
    int hold_max;            /* closed candles held behind a hole, per stream */
    int page_rows;           /* periods per backfill request; 0 = never backfill */
    int no_clock;            /* 1: no rule from the clock (missing closes, clock-inferred closes,
                              * reconnect holes): for replays of recorded data, long over */
    struct cdl_dedup *dedup; /* borrowed, may be NULL: remembers emitted closes to tell revisions */
    int confirm_inferred;    /* 1: an inferred close waits for the exchange's REST row of its
                              * period (the backfill of a hole); emitted itself only if no row
                              * comes by the hold deadline.  Needs the clock and page_rows > 0 */
};

/* What became of inferred closes waiting for REST (confirm_inferred). */
enum cdl_seq_confirm {
    CDL_CONFIRM_SAME = 0,  /* the exchange's row had the inferred values */
    CDL_CONFIRM_CORRECTED, /* it differed: the row went out, the inference would have been wrong */
    CDL_CONFIRM_NONE,      /* no row by the deadline (or REST had none): the inferred close went out */
    CDL_CONFIRM_DROPPED,   /* too many waiting (hold_max): the oldest was let go */
    CDL_CONFIRM_RESULTS
};

/* Counters over all streams. */
struct cdl_seq_stats {
    uint64_t verdicts[CDL_SEQ_VERDICTS];
    uint64_t inferred;     /* closes inferred (newer period or clock) */
    uint64_t holes;        /* holes found */
    uint64_t holes_filled; /* holes closed with every period delivered */
    uint64_t gaps[CDL_GAP_REASONS];
    uint64_t periods_lost; /* periods announced in gaps */
    uint64_t backfills;    /* backfill pages asked for */
    uint64_t backfills_failed;
    uint64_t late; /* closed candles that arrived after their gap was announced */
    uint64_t confirm[CDL_CONFIRM_RESULTS];
};

struct cdl_seq;

struct cdl_seq *cdl_seq_create(const struct cdl_seq_opts *o, const struct cdl_seq_cbs *cbs);
void cdl_seq_destroy(struct cdl_seq *s);

/* Adds a stream and returns its id (0, 1, ...).  key: a stable hash of the stream key, used
 * for the dedup table. */
int cdl_seq_add(struct cdl_seq *s, uint64_t key);
int cdl_seq_count(const struct cdl_seq *s);
/* Stream id now carries another stream (key): everything about the old one is forgotten. */
void cdl_seq_reset(struct cdl_seq *s, int id, uint64_t key);
/* An inactive stream (nobody wants it) gets no clock rule, hole or backfill.  Made active again,
 * it starts afresh from the next closed candle, newer than the last one it emitted: the
 * periods while it was inactive are nobody's loss. */
void cdl_seq_set_active(struct cdl_seq *s, int id, int active);

/* One checked candle of stream id (copied).  from_rest: it came from a backfill page. */
enum cdl_seq_verdict cdl_seq_push(struct cdl_seq *s, int id, const struct cdl_candle *c, int from_rest, int64_t now_ms,
                                  uint64_t recv_us);
/* The backfill page asked for last ended (ok = it was answered and parsed). */
void cdl_seq_backfill_done(struct cdl_seq *s, int id, int ok, int64_t now_ms);
/* The stream's connection was re-established: whatever closed meanwhile is a hole, and the
 * value of an unflagged period in progress may miss updates (until a new one arrives, it is not
 * taken as the period's close: the backfill brings that). */
void cdl_seq_reconnected(struct cdl_seq *s, int id, int64_t now_ms);
/* Turns confirm_inferred on or off (a reload); candidates already waiting keep waiting. */
void cdl_seq_set_confirm_inferred(struct cdl_seq *s, int on);
/* Clock rules: inferred closes, missing closes, backfill requests and retries, deadlines. */
void cdl_seq_tick(struct cdl_seq *s, int64_t now_ms);

/* 1 while stream id has a hole (closed candles may be waiting). */
int cdl_seq_in_hole(const struct cdl_seq *s, int id);
/* Open time of the next closed candle expected, -1 before the first. */
int64_t cdl_seq_expected(const struct cdl_seq *s, int id);
/* Closed candles held, over all streams. */
int64_t cdl_seq_held(const struct cdl_seq *s);
const struct cdl_seq_stats *cdl_seq_stats(const struct cdl_seq *s);

/* A hash of a candle's values (prices, volumes, trades) for "same candle" checks. */
uint64_t cdl_candle_values_hash(const struct cdl_candle *c);

#endif

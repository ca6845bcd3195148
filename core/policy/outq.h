/* outq.h - the dual pipeline between the sequencer and a consumer.
 *
 * Closed candles go into a FIFO: nothing is ever dropped from it, and its depth against
 * `closed_max` is what tells the owner to apply backpressure (stop reading upstream) and when to
 * resume (at or below `closed_low`).  Open candles go into a latest-wins conflation map keyed by
 * stream: a newer update of a stream replaces the waiting one, so the map holds at most one
 * entry per stream (or `open_max` entries when non-zero, the oldest-updated leaving first,
 * counted).  The consumer pops closed candles first, in order, then open ones, the most recently
 * updated first.  Pure data structure, no I/O; items are copied in and out. */
#ifndef CDL_OUTQ_H
#define CDL_OUTQ_H

#include <stddef.h>
#include <stdint.h>

#include "candle.h"

struct cdl_outq_item {
    int stream; /* the owner's stream id, >= 0 */
    struct cdl_candle c;
    uint64_t recv_us;
    /* a gap event instead of a candle (ordered with the closed candles) */
    int is_gap;
    int64_t gap_from, gap_to, gap_missing;
    const char *gap_reason; /* static storage */
};

struct cdl_outq;

/* closed_max >= 1; closed_low < closed_max (the resume mark); open_max 0 = one per stream. */
struct cdl_outq *cdl_outq_create(int closed_max, int closed_low, int open_max);
void cdl_outq_destroy(struct cdl_outq *q);

/* Queues a candle (closed == 1 into the FIFO, anything else into the map). */
void cdl_outq_push(struct cdl_outq *q, int stream, const struct cdl_candle *c, uint64_t recv_us);
/* Queues a gap event in the closed FIFO, in order with the closed candles. */
void cdl_outq_push_gap(struct cdl_outq *q, int stream, int64_t from, int64_t to, int64_t missing, const char *reason);
/* Takes the next item: 1, or 0 if empty. */
int cdl_outq_pop(struct cdl_outq *q, struct cdl_outq_item *out);

size_t cdl_outq_closed_depth(const struct cdl_outq *q);
size_t cdl_outq_open_depth(const struct cdl_outq *q);
/* 1 once the FIFO reached closed_max, until it is back at closed_low (hysteresis). */
int cdl_outq_full(const struct cdl_outq *q);
/* Open updates replaced by a newer one of their stream (conflated) / dropped by open_max. */
uint64_t cdl_outq_conflated(const struct cdl_outq *q);
uint64_t cdl_outq_open_dropped(const struct cdl_outq *q);

#endif

/* dedup.h - a fixed-memory memory of recently emitted closed candles.
 *
 * Remembers, for at most `max_entries` (stream key, open time) pairs and for at most
 * `window_ms`, a hash of the candle's values, so that a closed candle seen again can be told
 * apart as a duplicate (same values) or a revision (different values).  The predecessor's knobs,
 * CONNECTOR_DEDUPLICATION_WINDOW_SECONDS and ..._MAX_ENTRIES, size it.  Entries leave in
 * insertion order: past the window, or the oldest one when the table is full.  All memory is
 * allocated at create.  Pure: time is an argument. */
#ifndef CDL_DEDUP_H
#define CDL_DEDUP_H

#include <stddef.h>
#include <stdint.h>

struct cdl_dedup;

/* max_entries >= 1, window_ms >= 1.  Aborts if out of memory. */
struct cdl_dedup *cdl_dedup_create(int64_t window_ms, int max_entries);
void cdl_dedup_destroy(struct cdl_dedup *d);

/* Remembers (key, open_time) -> hash at now_ms.  An entry already there keeps its time and
 * takes the new hash. */
void cdl_dedup_put(struct cdl_dedup *d, uint64_t key, int64_t open_time, uint64_t hash, int64_t now_ms);
/* 1 with *hash if (key, open_time) is remembered and younger than the window, else 0. */
int cdl_dedup_get(struct cdl_dedup *d, uint64_t key, int64_t open_time, uint64_t *hash, int64_t now_ms);
/* Entries held now (after dropping those past the window at now_ms). */
size_t cdl_dedup_size(struct cdl_dedup *d, int64_t now_ms);
/* Entries dropped because the table was full (not by the window). */
uint64_t cdl_dedup_evictions(const struct cdl_dedup *d);

#endif

/* dedup.c - see dedup.h.
 *
 * A ring of entries in insertion order (so the oldest is always at the head) and an
 * open-addressing index of ring positions with linear probing; deletion shifts the probe run
 * back, so there are no tombstones and lookups stay short. */
#include "dedup.h"
#include "xalloc.h"

#include <stdlib.h>

struct entry {
    uint64_t key;
    int64_t open_time;
    uint64_t hash;
    int64_t t;
    uint32_t slot; /* where the index points at this entry */
};

struct cdl_dedup {
    int64_t window_ms;
    uint32_t cap;  /* ring capacity = max_entries */
    uint32_t head; /* oldest entry */
    uint32_t count;
    struct entry *ring;
    uint32_t mask;  /* index size - 1 (a power of two >= 2 * cap) */
    int32_t *index; /* ring position, or -1 */
    uint64_t evictions;
};

static uint32_t home(const struct cdl_dedup *d, uint64_t key, int64_t open_time)
{
    uint64_t h = (key ^ ((uint64_t)open_time * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;
    return (uint32_t)(h >> 32) & d->mask;
}

struct cdl_dedup *cdl_dedup_create(int64_t window_ms, int max_entries)
{
    struct cdl_dedup *d = cdl_xcalloc(1, sizeof *d);
    d->window_ms = window_ms > 0 ? window_ms : 1;
    d->cap = max_entries > 0 ? (uint32_t)max_entries : 1;
    uint32_t n = 2;
    while (n < 2 * d->cap)
        n <<= 1;
    d->mask = n - 1;
    d->ring = cdl_xmalloc(d->cap * sizeof *d->ring);
    d->index = cdl_xmalloc((size_t)n * sizeof *d->index);
    for (uint32_t i = 0; i < n; i++)
        d->index[i] = -1;
    return d;
}

void cdl_dedup_destroy(struct cdl_dedup *d)
{
    if (!d)
        return;
    free(d->ring);
    free(d->index);
    free(d);
}

/* Empties index slot i and shifts the rest of its probe run back (linear probing). */
static void index_delete(struct cdl_dedup *d, uint32_t i)
{
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & d->mask;
        int32_t p = d->index[j];
        if (p < 0)
            break;
        uint32_t k = home(d, d->ring[p].key, d->ring[p].open_time);
        /* may the entry at j move to i?  only if its home is not in (i, j] (cyclically) */
        int stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays)
            continue;
        d->index[i] = p;
        d->ring[p].slot = i;
        i = j;
    }
    d->index[i] = -1;
}

static void pop_oldest(struct cdl_dedup *d)
{
    index_delete(d, d->ring[d->head].slot);
    d->head = (d->head + 1) % d->cap;
    d->count--;
}

static void expire(struct cdl_dedup *d, int64_t now_ms)
{
    while (d->count && d->ring[d->head].t + d->window_ms <= now_ms)
        pop_oldest(d);
}

/* Index slot of (key, open_time), or the empty slot where it would go (*found = 0). */
static uint32_t find(const struct cdl_dedup *d, uint64_t key, int64_t open_time, int *found)
{
    for (uint32_t i = home(d, key, open_time);; i = (i + 1) & d->mask) {
        int32_t p = d->index[i];
        if (p < 0) {
            *found = 0;
            return i;
        }
        if (d->ring[p].key == key && d->ring[p].open_time == open_time) {
            *found = 1;
            return i;
        }
    }
}

void cdl_dedup_put(struct cdl_dedup *d, uint64_t key, int64_t open_time, uint64_t hash, int64_t now_ms)
{
    expire(d, now_ms);
    int found;
    uint32_t i = find(d, key, open_time, &found);
    if (found) {
        d->ring[d->index[i]].hash = hash;
        return;
    }
    if (d->count == d->cap) {
        pop_oldest(d);
        d->evictions++;
        i = find(d, key, open_time, &found); /* the shift may have moved the empty slot */
    }
    uint32_t p = (d->head + d->count) % d->cap;
    d->ring[p] = (struct entry){ .key = key, .open_time = open_time, .hash = hash, .t = now_ms, .slot = i };
    d->index[i] = (int32_t)p;
    d->count++;
}

int cdl_dedup_get(struct cdl_dedup *d, uint64_t key, int64_t open_time, uint64_t *hash, int64_t now_ms)
{
    expire(d, now_ms);
    int found;
    uint32_t i = find(d, key, open_time, &found);
    if (found)
        *hash = d->ring[d->index[i]].hash;
    return found;
}

size_t cdl_dedup_size(struct cdl_dedup *d, int64_t now_ms)
{
    expire(d, now_ms);
    return d->count;
}

uint64_t cdl_dedup_evictions(const struct cdl_dedup *d) { return d->evictions; }

/* outq.c - see outq.h.
 *
 * The FIFO is a ring that doubles when it must (a few candles may still arrive after the owner
 * paused its upstreams: those already read).  The map is an array indexed by stream id holding
 * a doubly linked recency list of the streams with an update waiting (head = newest). */
#include "outq.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

struct open_slot {
    int waiting;
    int prev, next; /* recency list, -1 ends */
    struct cdl_outq_item item;
};

struct cdl_outq {
    size_t closed_max, closed_low;
    int full;
    struct cdl_outq_item *ring;
    size_t cap, head, len;
    struct open_slot *open;
    int n_open_slots;
    int newest, oldest;
    size_t open_len, open_max;
    uint64_t conflated, open_dropped;
};

struct cdl_outq *cdl_outq_create(int closed_max, int closed_low, int open_max)
{
    struct cdl_outq *q = cdl_xcalloc(1, sizeof *q);
    q->closed_max = closed_max > 0 ? (size_t)closed_max : 1;
    q->closed_low = closed_low >= 0 && (size_t)closed_low < q->closed_max ? (size_t)closed_low : q->closed_max / 2;
    q->open_max = open_max > 0 ? (size_t)open_max : 0;
    q->newest = q->oldest = -1;
    return q;
}

void cdl_outq_destroy(struct cdl_outq *q)
{
    if (!q)
        return;
    free(q->ring);
    free(q->open);
    free(q);
}

static void closed_push(struct cdl_outq *q, const struct cdl_outq_item *it)
{
    if (q->len == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        struct cdl_outq_item *r = cdl_xmalloc(cap * sizeof *r);
        for (size_t i = 0; i < q->len; i++)
            r[i] = q->ring[(q->head + i) % q->cap];
        free(q->ring);
        q->ring = r;
        q->cap = cap;
        q->head = 0;
    }
    q->ring[(q->head + q->len) % q->cap] = *it;
    q->len++;
    if (q->len >= q->closed_max)
        q->full = 1;
}

static void unlink_open(struct cdl_outq *q, int s)
{
    struct open_slot *o = &q->open[s];
    if (o->prev >= 0)
        q->open[o->prev].next = o->next;
    else
        q->newest = o->next;
    if (o->next >= 0)
        q->open[o->next].prev = o->prev;
    else
        q->oldest = o->prev;
    o->waiting = 0;
    q->open_len--;
}

static void open_push(struct cdl_outq *q, const struct cdl_outq_item *it)
{
    int s = it->stream;
    if (s >= q->n_open_slots) {
        int n = q->n_open_slots ? q->n_open_slots : 16;
        while (n <= s)
            n *= 2;
        q->open = cdl_xrealloc(q->open, (size_t)n * sizeof *q->open);
        memset(q->open + q->n_open_slots, 0, (size_t)(n - q->n_open_slots) * sizeof *q->open);
        q->n_open_slots = n;
    }
    if (q->open[s].waiting) {
        unlink_open(q, s);
        q->conflated++;
    } else if (q->open_max && q->open_len == q->open_max) {
        unlink_open(q, q->oldest);
        q->open_dropped++;
    }
    struct open_slot *o = &q->open[s];
    o->item = *it;
    o->waiting = 1;
    o->prev = -1;
    o->next = q->newest;
    if (q->newest >= 0)
        q->open[q->newest].prev = s;
    else
        q->oldest = s;
    q->newest = s;
    q->open_len++;
}

void cdl_outq_push(struct cdl_outq *q, int stream, const struct cdl_candle *c, uint64_t recv_us)
{
    struct cdl_outq_item it = { .stream = stream, .c = *c, .recv_us = recv_us };
    if (c->closed == 1)
        closed_push(q, &it);
    else
        open_push(q, &it);
}

void cdl_outq_push_gap(struct cdl_outq *q, int stream, int64_t from, int64_t to, int64_t missing, const char *reason)
{
    struct cdl_outq_item it = {
        .stream = stream, .is_gap = 1, .gap_from = from, .gap_to = to, .gap_missing = missing, .gap_reason = reason
    };
    closed_push(q, &it);
}

int cdl_outq_pop(struct cdl_outq *q, struct cdl_outq_item *out)
{
    if (q->len) {
        *out = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
        q->len--;
        if (q->len <= q->closed_low)
            q->full = 0;
        return 1;
    }
    if (q->newest < 0)
        return 0;
    int s = q->newest;
    *out = q->open[s].item;
    unlink_open(q, s);
    return 1;
}

size_t cdl_outq_closed_depth(const struct cdl_outq *q) { return q->len; }
size_t cdl_outq_open_depth(const struct cdl_outq *q) { return q->open_len; }
int cdl_outq_full(const struct cdl_outq *q) { return q->full; }
uint64_t cdl_outq_conflated(const struct cdl_outq *q) { return q->conflated; }
uint64_t cdl_outq_open_dropped(const struct cdl_outq *q) { return q->open_dropped; }

/* breaker.c - see breaker.h. */
#include "breaker.h"

#include <stdlib.h>

#include "backoff.h"
#include "xalloc.h"

struct cdl_breaker {
    struct cdl_breaker_policy p;
    uint64_t rng;
    enum cdl_breaker_state state;
    unsigned failures;   /* consecutive */
    unsigned opens;      /* openings since the last close (the doubling exponent + 1) */
    uint64_t open_until; /* OPEN: no attempt before this */
    uint64_t wait_ms;    /* the current or last wait */
    unsigned trials_out; /* HALF_OPEN: let through, no verdict yet */
    unsigned trials_ok;  /* HALF_OPEN: succeeded */
};

void cdl_breaker_policy_default(struct cdl_breaker_policy *p)
{
    p->failure_threshold = 5;
    p->half_open_calls = 1;
    p->recovery_ms = 30000;
    p->max_ms = 300000;
    p->jitter_pct = 20;
}

struct cdl_breaker *cdl_breaker_create(const struct cdl_breaker_policy *p, uint64_t seed)
{
    struct cdl_breaker *b = cdl_xcalloc(1, sizeof *b);
    b->p = *p;
    if (!b->p.failure_threshold)
        b->p.failure_threshold = 1;
    if (!b->p.half_open_calls)
        b->p.half_open_calls = 1;
    if (b->p.max_ms < b->p.recovery_ms)
        b->p.max_ms = b->p.recovery_ms;
    b->rng = seed;
    b->state = CDL_BREAKER_CLOSED;
    return b;
}

void cdl_breaker_destroy(struct cdl_breaker *b) { free(b); }

static void open_for(struct cdl_breaker *b, uint64_t now, uint64_t wait)
{
    b->state = CDL_BREAKER_OPEN;
    b->open_until = now + wait;
    b->wait_ms = wait;
    b->trials_out = b->trials_ok = 0;
}

/* The next doubled, jittered wait. */
static void trip(struct cdl_breaker *b, uint64_t now)
{
    const struct cdl_backoff_policy bp = { .base_ms = b->p.recovery_ms,
                                           .max_ms = b->p.max_ms,
                                           .jitter_pct = b->p.jitter_pct };
    uint32_t wait = cdl_backoff_delay(&bp, b->opens, cdl_rand_next(&b->rng));
    b->opens++;
    open_for(b, now, wait);
}

int cdl_breaker_allow(struct cdl_breaker *b, uint64_t now)
{
    switch (b->state) {
    case CDL_BREAKER_CLOSED: return 1;
    case CDL_BREAKER_OPEN:
        if (now < b->open_until)
            return 0;
        b->state = CDL_BREAKER_HALF_OPEN;
        b->trials_out = b->trials_ok = 0;
        /* fall through */
    case CDL_BREAKER_HALF_OPEN:
        if (b->trials_out + b->trials_ok >= b->p.half_open_calls)
            return 0;
        b->trials_out++;
        return 1;
    }
    return 0;
}

void cdl_breaker_on_success(struct cdl_breaker *b, uint64_t now)
{
    (void)now;
    switch (b->state) {
    case CDL_BREAKER_CLOSED: b->failures = 0; break;
    case CDL_BREAKER_OPEN: /* a late verdict of an attempt let through before opening */ break;
    case CDL_BREAKER_HALF_OPEN:
        if (b->trials_out)
            b->trials_out--;
        if (++b->trials_ok >= b->p.half_open_calls) {
            b->state = CDL_BREAKER_CLOSED;
            b->failures = 0;
            b->opens = 0;
            b->trials_out = b->trials_ok = 0;
        }
        break;
    }
}

void cdl_breaker_on_failure(struct cdl_breaker *b, uint64_t now)
{
    b->failures++;
    switch (b->state) {
    case CDL_BREAKER_CLOSED:
        if (b->failures >= b->p.failure_threshold)
            trip(b, now);
        break;
    case CDL_BREAKER_OPEN: /* late: the wait already covers it */ break;
    case CDL_BREAKER_HALF_OPEN: trip(b, now); break;
    }
}

void cdl_breaker_on_retry_after(struct cdl_breaker *b, uint64_t now, uint64_t ms)
{
    if (!ms) {
        cdl_breaker_on_failure(b, now);
        return;
    }
    if (ms > CDL_BREAKER_MAX_RETRY_AFTER_MS)
        ms = CDL_BREAKER_MAX_RETRY_AFTER_MS;
    b->failures++;
    /* the server said when: that is the wait (kept if already open longer); the doubling
     * exponent is left alone, so a later plain failure continues where it was */
    if (b->state == CDL_BREAKER_OPEN && b->open_until >= now + ms)
        return;
    open_for(b, now, ms);
}

void cdl_breaker_release(struct cdl_breaker *b)
{
    if (b->state == CDL_BREAKER_HALF_OPEN && b->trials_out)
        b->trials_out--;
}

enum cdl_breaker_state cdl_breaker_state(const struct cdl_breaker *b) { return b->state; }

uint64_t cdl_breaker_next_allowed(const struct cdl_breaker *b, uint64_t now)
{
    switch (b->state) {
    case CDL_BREAKER_CLOSED: return now;
    case CDL_BREAKER_OPEN: return b->open_until > now ? b->open_until : now;
    case CDL_BREAKER_HALF_OPEN:
        return b->trials_out + b->trials_ok < b->p.half_open_calls ? now : CDL_BREAKER_AFTER_TRIALS;
    }
    return now;
}

unsigned cdl_breaker_failures(const struct cdl_breaker *b) { return b->failures; }
uint64_t cdl_breaker_wait_ms(const struct cdl_breaker *b) { return b->wait_ms; }

const char *cdl_breaker_state_name(enum cdl_breaker_state s)
{
    switch (s) {
    case CDL_BREAKER_CLOSED: return "closed";
    case CDL_BREAKER_OPEN: return "open";
    case CDL_BREAKER_HALF_OPEN: return "half_open";
    }
    return "?";
}

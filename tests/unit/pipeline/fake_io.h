/* fake_io.h - a fake io layer for the pipeline's unit tests (test_feed, test_hub).
 *
 * It implements what feed.c and hub.c call of upstream.h and rest.h, libuv's timers
 * (uv_timer_*, uv_now, uv_hrtime, uv_close, uv_is_active) and the wall clock (cdl_clock_now_ms, by
 * the linker's --wrap), so the pipeline runs with no socket, no libuv loop and no real time:
 *   - every upstream created is recorded (URL, name, options, frames sent, pauses, reconnect
 *     requests, destroy) and the test plays the exchange: it opens a connection, delivers frames
 *     and oversize notices, and drops it with a reason;
 *   - every REST request is recorded (method, URL, weight) and the test answers or fails it;
 *     the callback runs only then, never inside cdl_rest_request (as rest.h promises);
 *   - time moves only in fake_run: the monotonic clock (uv_now) and the wall clock (cdl_clock_now_ms)
 *     advance together, and the timers due meanwhile fire in deadline order, each at its time.
 * Everything is synchronous and deterministic.  The fake owns what it records until
 * fake_io_reset; the struct cdl_upstream it hands out stays readable after destroy. */
#ifndef CDL_FAKE_IO_H
#define CDL_FAKE_IO_H

#include <stddef.h>
#include <stdint.h>

#include "rest.h"
#include "upstream.h"

struct cdl_upstream {
    char *url, *name;
    struct cdl_upstream_opts o; /* o.url and o.name point to the copies above */
    struct cdl_upstream_cbs cbs;
    void *user;
    int started;   /* cdl_upstream_start called */
    int open;      /* established (fake_up_open) and not dropped since */
    int closing;   /* cdl_upstream_reconnect asked for a close; the test drops it */
    int destroyed; /* cdl_upstream_destroy called: no more callbacks */
    int paused;    /* the last cdl_upstream_pause */
    int pause_calls;
    int reconnects; /* cdl_upstream_reconnect calls */
    int accepted;   /* cdl_upstream_accepted calls */
    unsigned generation;
    size_t queued; /* what cdl_upstream_queued says (the test sets it; 0 = all written) */
    char **sent;   /* frames sent, oldest first */
    int n_sent;
    int index; /* creation order */
};

/* Where the clocks start: monotonic 1,000 ms, wall a minute boundary (2023-11-14 22:13 UTC). */
#define FAKE_MONO0_MS 1000
#define FAKE_WALL0_MS 1699999980000LL

/* Forgets everything recorded and every timer; the clocks go back to their start. */
void fake_io_reset(void);
/* Sets the wall clock (the monotonic one is left as it is). */
void fake_io_set_wall(uint64_t ms);
uint64_t fake_io_wall(void);
uint64_t fake_io_mono(void);
/* Advances both clocks by ms, firing every timer due up to then in deadline order (timers
 * started by a callback included), then runs the close callbacks of closed handles. */
void fake_run(uint64_t ms);
/* Timers initialised and not closed; those of them armed now. */
int fake_timers(void);
int fake_timers_active(void);

/* Upstreams created so far, in order (destroyed ones included). */
int fake_up_count(void);
struct cdl_upstream *fake_up(int i);
/* The exchange's side: establish (on_open), deliver one frame (on_frame), report an oversize
 * message dropped (on_oversize), the ping period's tick (on_ping), lose the connection (on_down).  The frame is
 * delivered with recv_us = the monotonic clock. */
void fake_up_open(struct cdl_upstream *u);
void fake_up_frame(struct cdl_upstream *u, const char *text);
void fake_up_oversize(struct cdl_upstream *u, size_t len);
void fake_up_ping(struct cdl_upstream *u);
void fake_up_drop(struct cdl_upstream *u, const char *why);
/* The last frame sent on u, or "" if none. */
const char *fake_up_last(const struct cdl_upstream *u);

struct fake_rest_req {
    char method[8];
    char *url;
    char *body; /* NULL none */
    double weight;
    cdl_rest_cb cb;
    void *user;
    uint64_t id;
    int done; /* answered, failed or cancelled */
};
/* REST requests made so far, in order. */
int fake_rest_count(void);
struct fake_rest_req *fake_rest(int i);
/* Requests not done yet. */
int fake_rest_pending(void);
/* Answers request i with status and body (the callback runs now). */
void fake_rest_answer(int i, long status, const char *body);
/* Fails request i with error (CDL_EIO...), status 0. */
void fake_rest_fail(int i, int error, const char *text);
/* The budget declared last by cdl_rest_set_budget (url, weight per minute), "" / 0 if none. */
const char *fake_rest_budget_url(void);
double fake_rest_budget_rate(void);

#endif

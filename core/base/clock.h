/* clock.h - the process's clocks: wall time (the exchanges' time) and monotonic time.
 *
 * Wall time is what candle open times, the sequencer's grace, reorder wait, hold deadline and
 * retry wait, backfill ranges, an adapter's os.time() and log timestamps are measured in:
 * cdl_clock_now_ms().
 * Monotonic time (cdl_clock_mono_us(), and libuv's uv_now()/uv_hrtime(), which are the same
 * kind) measures what is about the network and the process itself: connect, idle and ping
 * timeouts, reconnect backoff and circuit breakers, REST weight budgets, connection lifetimes
 * and rotation, send pacing, log rate-limit windows, latency figures.  Those stay real in every
 * mode, because the peer they are about (a socket, lws, an exchange's rate limiter) runs in
 * real time.
 *
 * Test mode: CDL_TEST_CLOCK=<anchor_ms>x<rate> (e.g. 1765000000000x20) makes the wall clock
 * run `rate` times faster from the anchor: virtual = anchor + (real - anchor) * rate, so two
 * processes started at different moments with the same value agree on "now" (candled and
 * candled-sim both compile this file).  A timer whose duration is wall time (the feed's
 * sequencer tick, the simulator's candle schedule) is armed for cdl_clock_timer_ms(duration)
 * real milliseconds.  cdl_clock_setup() is the one place the variable is read; until it runs
 * (and without the variable) the wall clock is the system's.  Process-wide state, set once at
 * start-up on the main thread, read-only afterwards. */
#ifndef CDL_CLOCK_H
#define CDL_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#define CDL_CLOCK_ENV "CDL_TEST_CLOCK"
#define CDL_CLOCK_MAX_RATE 1000.0

/* A parsed CDL_TEST_CLOCK value. */
struct cdl_clock_spec {
    int64_t anchor_ms; /* Unix ms where virtual and real time coincide */
    double rate;       /* virtual ms per real ms, in (0, CDL_CLOCK_MAX_RATE] */
};

/* Parses "<anchor_ms>x<rate>": anchor a decimal integer of Unix ms (year 2001 to 2100), rate
 * a decimal number in (0, 1000].  0, or CDL_EINVAL with a human reason in why (if why_len). */
int cdl_clock_parse(const char *text, struct cdl_clock_spec *out, char *why, size_t why_len);

/* The virtual wall time at real wall time real_us (microseconds since the epoch). */
int64_t cdl_clock_virtual_ms(const struct cdl_clock_spec *spec, int64_t real_us);

/* Real milliseconds for a timer of wall_ms wall time at `rate`: rounded up, at least 1 when
 * wall_ms > 0, so a converted timer never fires early and never spins; 0 stays 0. */
uint64_t cdl_clock_delay_ms(const struct cdl_clock_spec *spec, uint64_t wall_ms);

/* Reads CDL_TEST_CLOCK once (unset or empty: the system clock).  0, or CDL_EINVAL with
 * "CDL_TEST_CLOCK=<value>: <reason>" in why; the clock is then left as the system's. */
int cdl_clock_setup(char *why, size_t why_len);
/* The rate in force (1 without a test clock). */
double cdl_clock_rate(void);

/* Wall clock, ms since the Unix epoch (virtual under a test clock). */
uint64_t cdl_clock_now_ms(void);
/* Real milliseconds to arm a timer for wall_ms of wall time (identity without a test clock). */
uint64_t cdl_clock_timer_ms(uint64_t wall_ms);
/* Monotonic clock, microseconds; never scaled. */
uint64_t cdl_clock_mono_us(void);

#endif

/* clock.c - wall and monotonic clocks, and the test clock of CDL_TEST_CLOCK (clock.h).
 * libc only: candled-sim compiles this file too. */
#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"

#define ANCHOR_MIN_MS 978307200000LL  /* 2001-01-01 */
#define ANCHOR_MAX_MS 4102444800000LL /* 2100-01-01 */

static struct cdl_clock_spec g_spec = { 0, 1.0 };
static int g_scaled; /* a test clock is in force */

static int fail(char *why, size_t why_len, const char *reason)
{
    if (why && why_len)
        snprintf(why, why_len, "%s", reason);
    return CDL_EINVAL;
}

/* Digits only, at least one, at most max_digits; the value in *out. */
static int parse_digits(const char *s, size_t n, size_t max_digits, long long *out)
{
    long long v = 0;
    if (n == 0 || n > max_digits)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int cdl_clock_parse(const char *text, struct cdl_clock_spec *out, char *why, size_t why_len)
{
    if (!text || !*text)
        return fail(why, why_len, "empty; expected <anchor_ms>x<rate>, e.g. 1765000000000x20");
    const char *x = strchr(text, 'x');
    if (!x)
        return fail(why, why_len, "no 'x'; expected <anchor_ms>x<rate>, e.g. 1765000000000x20");
    long long anchor;
    if (parse_digits(text, (size_t)(x - text), 13, &anchor) < 0)
        return fail(why, why_len, "the anchor is not a decimal number of Unix milliseconds");
    if (anchor < ANCHOR_MIN_MS || anchor > ANCHOR_MAX_MS)
        return fail(why, why_len, "the anchor is outside 2001..2100 (Unix milliseconds expected)");
    /* the rate: digits, optionally one '.' and more digits (no sign, exponent, hex, inf, nan);
     * strtod reads it once it is known to be that */
    const char *r = x + 1, *dot = strchr(r, '.');
    size_t int_len = dot ? (size_t)(dot - r) : strlen(r);
    long long digits;
    if (parse_digits(r, int_len, 4, &digits) < 0 || (dot && parse_digits(dot + 1, strlen(dot + 1), 6, &digits) < 0))
        return fail(why, why_len, "the rate is not a decimal number (e.g. 20 or 2.5)");
    double rate = strtod(r, NULL);
    if (!(rate > 0) || rate > CDL_CLOCK_MAX_RATE)
        return fail(why, why_len, "the rate must be above 0 and at most 1000");
    out->anchor_ms = anchor;
    out->rate = rate;
    return 0;
}

int64_t cdl_clock_virtual_ms(const struct cdl_clock_spec *spec, int64_t real_us)
{
    double since_us = (double)(real_us - spec->anchor_ms * 1000);
    /* floor, so that virtual time never runs ahead of what the formula says */
    double v_us = since_us * spec->rate;
    int64_t v_ms = (int64_t)(v_us / 1000.0);
    if (v_us < 0 && (double)v_ms * 1000.0 != v_us)
        v_ms--;
    return spec->anchor_ms + v_ms;
}

uint64_t cdl_clock_delay_ms(const struct cdl_clock_spec *spec, uint64_t wall_ms)
{
    if (wall_ms == 0)
        return 0;
    double real = (double)wall_ms / spec->rate;
    uint64_t ms = (uint64_t)real;
    if ((double)ms < real)
        ms++;
    return ms ? ms : 1;
}

int cdl_clock_setup(char *why, size_t why_len)
{
    const char *v = getenv(CDL_CLOCK_ENV);
    g_scaled = 0;
    g_spec = (struct cdl_clock_spec){ 0, 1.0 };
    if (!v || !*v)
        return 0;
    char reason[128];
    struct cdl_clock_spec spec;
    if (cdl_clock_parse(v, &spec, reason, sizeof reason) < 0) {
        if (why && why_len)
            snprintf(why, why_len, "%s=%.40s: %s", CDL_CLOCK_ENV, v, reason);
        return CDL_EINVAL;
    }
    g_spec = spec;
    g_scaled = 1;
    return 0;
}

double cdl_clock_rate(void) { return g_spec.rate; }

static int64_t real_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

uint64_t cdl_clock_now_ms(void)
{
    int64_t us = real_us();
    return (uint64_t)(g_scaled ? cdl_clock_virtual_ms(&g_spec, us) : us / 1000);
}

uint64_t cdl_clock_timer_ms(uint64_t wall_ms) { return g_scaled ? cdl_clock_delay_ms(&g_spec, wall_ms) : wall_ms; }

uint64_t cdl_clock_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

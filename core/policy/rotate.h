/* rotate.h - when to replace an upstream connection ahead of the exchange's connection lifetime
 * (Binance cuts every connection at 24 h): make-before-break rotation's timing, pure and
 * time-free (times are ms on any one clock, randomness is an argument), so it is tested without
 * sleeping.  The feed (feed.c) opens the replacement, waits until it is live and closes the old
 * connection; this module only decides when.
 *
 * With a lifetime A, the margin M is A/10, at most 10 minutes.  A connection established at t0
 * starts its replacement at t0 + A - M - jitter, the jitter uniform in [0, M): 24 h connections
 * rotate between 23 h 40 min and 23 h 50 min, so thousands of them opened together do not all
 * reconnect in the same second, and each has at least 10 minutes to rotate before the cut.  A
 * replacement not live within the try timeout is given up and tried again after a jittered
 * exponential backoff (the upstream reconnect policy), while the old connection keeps running. */
#ifndef CDL_ROTATE_H
#define CDL_ROTATE_H

#include <stdint.h>

/* How long before the limit rotations end at the latest (see above); 0 for no limit. */
uint64_t cdl_rotate_margin_ms(uint64_t age_ms);
/* When a connection established at opened_ms starts its replacement; 0 when age_ms is 0 (the
 * exchange sets no limit: never). */
uint64_t cdl_rotate_due_ms(uint64_t opened_ms, uint64_t age_ms, uint32_t rnd);
/* How long a replacement may take to become live before the try is given up: the margin,
 * within [2 s, 30 s]. */
uint64_t cdl_rotate_timeout_ms(uint64_t age_ms);
/* When to try again after `failed` tries in a row (1 = the first failed): now + the upstream
 * reconnect backoff (250 ms doubling to 30 s, jittered down by up to 30%). */
uint64_t cdl_rotate_retry_ms(uint64_t now_ms, unsigned failed, uint32_t rnd);
/* After the replacement is live, how long the old connection stays open so frames already on
 * their way on it are still read (the sequencer drops what both delivered). */
#define CDL_ROTATE_DRAIN_MS 1000

#endif

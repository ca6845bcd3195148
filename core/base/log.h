/* log.h - structured logs on stderr.
 *
 * One line per event: JSON ({"ts":...,"level":...,"msg":...,"key":"value",...}) by default,
 * or a human "ts LEVEL msg key=value" format.  Context is passed as NULL-terminated key/value
 * string pairs.  cdl_log_limited() lets a repeated error through a few times per window and
 * counts what it suppressed, so a garbage-spewing upstream or a client flooding bad requests
 * cannot flood the log.  "ts" is clock.h's wall clock (under a test clock the virtual time, so
 * a line's time matches the candle times it mentions); rate-limit windows are monotonic, real
 * time (a flood is a rate per real second).  The module holds
 * only process-wide settings (level, format, sink); it is used from the loop thread. */
#ifndef CDL_LOG_H
#define CDL_LOG_H

#include <stdint.h>
#include <stdio.h>

enum cdl_log_level { CDL_LOG_DEBUG = 0, CDL_LOG_INFO, CDL_LOG_WARN, CDL_LOG_ERROR, CDL_LOG_OFF };
enum cdl_log_format { CDL_LOG_JSON = 0, CDL_LOG_TEXT };

void cdl_log_setup(enum cdl_log_level level, enum cdl_log_format format, FILE *sink);
enum cdl_log_level cdl_log_get_level(void);
/* "debug"|"info"|"warn"|"error"|"off" -> level; -1 if unknown. */
int cdl_log_level_parse(const char *name);
int cdl_log_format_parse(const char *name);

/* cdl_log(level, msg, key1, value1, ..., NULL).  Values are strings; NULL values are skipped. */
void cdl_log(enum cdl_log_level level, const char *msg, ...) __attribute__((sentinel));

/* Rate limit state for one kind of repeated event; zero-initialise it.  `burst` (set by the
 * owner; 0 means 1) is how many lines get through per window. */
struct cdl_log_limit {
    uint64_t window_start_ms;
    uint64_t suppressed;
    unsigned burst, passed;
    const char *msg; /* of the lines suppressed (static storage), for the summary */
    enum cdl_log_level level;
};
/* Logs at most `burst` lines per `window_ms`; the next line that gets through carries
 * "suppressed":"N" for the ones dropped since.  msg must be static (a literal). */
void cdl_log_limited(struct cdl_log_limit *lim, uint64_t window_ms, enum cdl_log_level level, const char *msg, ...)
    __attribute__((sentinel));
/* The summary of what is still suppressed, if anything: one line {"msg":<msg>,"suppressed":"N"}
 * (the owner calls it before it goes away, so no count is lost). */
void cdl_log_limit_flush(struct cdl_log_limit *lim);

#endif

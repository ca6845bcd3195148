/* candle.h - the canonical candle value type and its encodings.
 *
 * A struct cdl_candle is a plain value (copied by value, no pointers): prices and volumes are
 * kept as the exchange's decimal text, never converted to double, so the quote JSON carries
 * exactly the digits the exchange sent (trailing zeros included).  The quote encoders write the
 * object of interfaces.md ("type":"quote", ...) or a CSV row into a caller buffer. */
#ifndef CDL_CANDLE_H
#define CDL_CANDLE_H

#include <stddef.h>
#include <stdint.h>

#define CDL_DEC_MAX 48 /* decimal text up to 47 characters + NUL */

struct cdl_candle {
    int64_t open_time;  /* ms since the epoch, UTC */
    int64_t close_time; /* ms, or -1 if unknown */
    int64_t trades;     /* number of trades, or -1 if unknown */
    int closed;         /* 1 final value of the period, 0 in progress, -1 unknown (to infer) */
    char open[CDL_DEC_MAX];
    char high[CDL_DEC_MAX];
    char low[CDL_DEC_MAX];
    char close[CDL_DEC_MAX];
    char volume[CDL_DEC_MAX];
    char quote_volume[CDL_DEC_MAX]; /* "" if absent */
};

/* Who the candle belongs to, as the consumer sees it (borrowed strings). */
struct cdl_quote_meta {
    const char *exchange;
    const char *contract_type;
    const char *symbol;   /* as the user wrote it */
    const char *interval; /* canonical */
    int stream;           /* the producer's index of the stream (feed.h), for consumers' maps */
};

/* 1 if s[0..len) is a JSON number token: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?,
 * shorter than CDL_DEC_MAX. */
int cdl_decimal_valid(const char *s, size_t len);

/* Writes the quote JSON object (no newline) into buf; returns its length, or a negative
 * CDL_ERANGE if it does not fit in cap (buf is then unspecified).  buf is NUL-terminated. */
int cdl_quote_json(char *buf, size_t cap, const struct cdl_quote_meta *m, const struct cdl_candle *c);

struct cdl_gap {
    int64_t from, to, missing;
    const char *reason; /* static storage */
};

/* The gap event of interfaces.md: {"type":"gap", exchange, contract_type, symbol, interval,
 * "from" (first missing open time), "to" (the open time after the last missing one),
 * "missing" (periods), "reason"}.  Same return convention as cdl_quote_json. */
int cdl_gap_json(char *buf, size_t cap, const struct cdl_quote_meta *m, int64_t from, int64_t to, int64_t missing,
                 const char *reason);

/* CSV: header line (no newline) and one row with the same columns. */
const char *cdl_quote_csv_header(void);
int cdl_quote_csv(char *buf, size_t cap, const struct cdl_quote_meta *m, const struct cdl_candle *c);

#endif

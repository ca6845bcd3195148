/* jsonscan.h - a strict, allocation-free, on-demand JSON scanner.
 *
 * A path set (`a.b`, `data.k.t`, `data.1.start`: keys separated by dots, a numeric segment is a
 * 1-based array index) is compiled once; one pass over a text then validates the whole document
 * (RFC 8259: no trailing garbage, no leading zeros, no control characters in strings, valid
 * escapes, nesting at most 64) and records, for each path, where its value is and what kind it
 * is.  Nothing is copied: spans point into the caller's text.  This is what lets an adapter read
 * ten fields of a kline frame without building a Lua table. */
#ifndef CDL_JSONSCAN_H
#define CDL_JSONSCAN_H

#include <stddef.h>
#include <stdint.h>

enum cdl_json_kind {
    CDL_J_ABSENT = 0,
    CDL_J_STRING,
    CDL_J_NUMBER,
    CDL_J_TRUE,
    CDL_J_FALSE,
    CDL_J_NULL,
    CDL_J_OBJECT,
    CDL_J_ARRAY
};

struct cdl_json_span {
    enum cdl_json_kind kind;
    size_t off, len; /* strings: the contents between the quotes (still escaped) */
    int escaped;     /* strings: contains a backslash */
};

struct cdl_jsonscan;

#define CDL_JSONSCAN_MAX_PATHS 64

/* Compiles `n` paths; NULL if a path is empty, has an empty segment or there are too many. */
struct cdl_jsonscan *cdl_jsonscan_create(const char *const *paths, int n);
void cdl_jsonscan_destroy(struct cdl_jsonscan *s);
int cdl_jsonscan_count(const struct cdl_jsonscan *s);

/* Validates text and fills out[0..n).  0, or CDL_EINVAL with a message ("... at byte N") in err. */
int cdl_jsonscan_run(const struct cdl_jsonscan *s, const char *text, size_t len, struct cdl_json_span *out, char *err,
                     size_t errlen);

/* Unescapes a string span into buf (UTF-8; \uXXXX incl. surrogate pairs).  Returns the length,
 * or -1 if it does not fit or an escape is invalid. */
long cdl_json_unescape(const char *s, size_t len, char *buf, size_t cap);
/* 1 and *out if the number token is an integer (no fraction or exponent) that fits int64. */
int cdl_json_int64(const char *s, size_t len, int64_t *out);

#endif

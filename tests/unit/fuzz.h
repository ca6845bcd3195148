/* fuzz.h - deterministic mutation fuzzing for the unit tests (test_fuzz_*.c).
 *
 * A fixed-seed PRNG (splitmix64) drives mutators that turn a valid seed text (a recorded frame,
 * a REST page, a client request, a config.lua) into the kinds of bad input the wild sends:
 * flipped bytes, truncation (anywhere, and right after each kind of JSON token), two texts
 * spliced, JSON tokens duplicated or removed, numbers replaced by huge / negative / NaN-like /
 * exponent / very long digit strings, deep nesting, invalid UTF-8, very long strings, broken
 * escapes.  The same seed gives the same cases on every run and machine: a failure names its
 * case number and reproduces with the same CDL_FUZZ_SEED.
 *
 * CDL_FUZZ_ITERATIONS (cases per target) and CDL_FUZZ_SEED override the defaults for a longer
 * run (docs/reliability.md, "Fuzzing").  Header-only: each test includes it once. */
#ifndef CDL_FUZZ_H
#define CDL_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct fuzz_rng {
    uint64_t s;
};

static inline uint64_t fuzz_next(struct fuzz_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. */
static inline size_t fuzz_below(struct fuzz_rng *r, size_t n) { return (size_t)(fuzz_next(r) % n); }

/* The seed of this run: CDL_FUZZ_SEED, else `dflt`. */
static inline uint64_t fuzz_seed(uint64_t dflt)
{
    const char *v = getenv("CDL_FUZZ_SEED");
    return v && *v ? strtoull(v, NULL, 0) : dflt;
}

/* Cases per target: CDL_FUZZ_ITERATIONS, else `dflt`. */
static inline long fuzz_iterations(long dflt)
{
    const char *v = getenv("CDL_FUZZ_ITERATIONS");
    long n = v && *v ? strtol(v, NULL, 10) : 0;
    return n > 0 ? n : dflt;
}

static inline double fuzz_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A growable byte buffer, always NUL-terminated. */
struct fuzz_buf {
    char *p;
    size_t len, cap;
};

static inline void fuzz_reserve(struct fuzz_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->p = realloc(b->p, cap);
    if (!b->p)
        abort();
    b->cap = cap;
}

static inline void fuzz_add(struct fuzz_buf *b, const void *s, size_t n)
{
    if (n > SIZE_MAX / 4) /* a mutator's arithmetic went wrong */
        abort();
    fuzz_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static inline void fuzz_adds(struct fuzz_buf *b, const char *s) { fuzz_add(b, s, strlen(s)); }

static inline void fuzz_fill(struct fuzz_buf *b, char c, size_t n)
{
    fuzz_reserve(b, n);
    memset(b->p + b->len, c, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static inline void fuzz_set(struct fuzz_buf *b, const char *s, size_t n)
{
    b->len = 0;
    fuzz_add(b, s, n);
}

/* ---- tokens: where the mutators cut --------------------------------------------------------- */

enum fuzz_tok { FT_PUNCT, FT_STRING, FT_NUMBER, FT_WORD };

struct fuzz_span {
    size_t off, len;
    enum fuzz_tok kind;
};

#define FUZZ_MAX_TOKENS 4096

/* Splits a JSON (or Lua table) text into tokens; returns how many (at most max).  Tolerant: a
 * broken text still splits somehow. */
static inline int fuzz_tokens(const char *s, size_t len, struct fuzz_span *t, int max)
{
    int n = 0;
    size_t i = 0;
    while (i < len && n < max) {
        unsigned char c = (unsigned char)s[i];
        size_t j = i + 1;
        enum fuzz_tok k = FT_PUNCT;
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
            i++;
            continue;
        }
        if (c == '"' || c == '\'') {
            while (j < len && (unsigned char)s[j] != c)
                j += s[j] == '\\' ? 2 : 1;
            j = j < len ? j + 1 : len;
            k = FT_STRING;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            while (j < len && strchr("0123456789.eE+-", s[j]) && s[j])
                j++;
            k = FT_NUMBER;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
            while (j < len && ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z') || s[j] == '_' ||
                               (s[j] >= '0' && s[j] <= '9')))
                j++;
            k = FT_WORD;
        }
        t[n++] = (struct fuzz_span){ i, j - i, k };
        i = j;
    }
    return n;
}

/* A random token of kind `kind` (any kind if kind < 0), or -1. */
static inline int fuzz_pick_token(struct fuzz_rng *r, const struct fuzz_span *t, int n, int kind)
{
    if (n <= 0)
        return -1;
    int start = (int)fuzz_below(r, (size_t)n);
    for (int k = 0; k < n; k++) {
        int i = (start + k) % n;
        if (kind < 0 || (int)t[i].kind == kind)
            return i;
    }
    return -1;
}

/* out = s with s[off, off+cut) replaced by rep[0, replen). */
static inline void fuzz_replace(struct fuzz_buf *out, const char *s, size_t len, size_t off, size_t cut,
                                const char *rep, size_t replen)
{
    struct fuzz_buf tmp = { 0 };
    off = off < len ? off : len;
    cut = cut < len - off ? cut : len - off;
    fuzz_add(&tmp, s, off);
    fuzz_add(&tmp, rep, replen);
    fuzz_add(&tmp, s + off + cut, len - off - cut);
    fuzz_set(out, tmp.p, tmp.len);
    free(tmp.p);
}

/* Number texts that break naive parsers. */
static const char *const fuzz_bad_numbers[] = {
    "1e999",
    "-1e999",
    "1e-999",
    "-1",
    "-0",
    "0",
    "NaN",
    "nan",
    "-nan",
    "Infinity",
    "-Infinity",
    "inf",
    "1E+2",
    "1e",
    "1.",
    ".5",
    "00",
    "0x10",
    "+1",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "4102444800000",
    "946684799999",
    "1.5",
    "1e3",
    "0.000000000000000000000000000000000000000000000000001",
    "123456789012345678901234567890123456789012345678901234567890",
    "1e+308",
    "2.2250738585072014e-308",
    "\"1\"",
    "true",
    "null",
    "[]",
    "{}",
};
#define FUZZ_N_BAD_NUMBERS (sizeof fuzz_bad_numbers / sizeof fuzz_bad_numbers[0])

/* Byte sequences that are not UTF-8 (or are, but are trouble). */
static const char *const fuzz_bad_utf8[] = {
    "\xC3\x28",
    "\xFF",
    "\xFE\xFE",
    "\xC0\xAF",
    "\xE0\x80\xAF",
    "\xED\xA0\x80",
    "\xF4\x90\x80\x80",
    "\xF8\x88\x80\x80\x80",
    "\x80",
    "\xE2\x82",
    "\\u0000",
    "\\uD800",
    "\\uDFFF\\uD800",
    "\\ud83d\\ude00",
    "\\",
    "\\x41",
    "\\u12",
    "\x01",
    "\x7F",
    "\"",
    "\xEF\xBB\xBF",
};
#define FUZZ_N_BAD_UTF8 (sizeof fuzz_bad_utf8 / sizeof fuzz_bad_utf8[0])

/* ---- mutators --------------------------------------------------------------------------------- */

enum fuzz_op {
    FM_FLIP,
    FM_BYTE,
    FM_TRUNCATE,
    FM_TRUNCATE_AT_TOKEN,
    FM_SPLICE,
    FM_DUP_TOKEN,
    FM_DEL_TOKEN,
    FM_NUMBER,
    FM_LONG_DIGITS,
    FM_NEST,
    FM_UTF8,
    FM_LONG_STRING,
    FM_SWAP_TOKENS,
    FM__COUNT
};

static const char *const fuzz_op_names[FM__COUNT] = {
    "flip",        "byte", "truncate", "truncate_at_token", "splice",      "dup_token", "del_token", "number",
    "long_digits", "nest", "utf8",     "long_string",       "swap_tokens",
};

/* A number (or a string) token replaced by a bad number or a very long digit string. */
static inline void fuzz_op_number(struct fuzz_rng *r, enum fuzz_op op, const char *s, size_t len,
                                  const struct fuzz_span *t, int n, struct fuzz_buf *out)
{
    int i = fuzz_pick_token(r, t, n, FT_NUMBER);
    if (i < 0)
        i = fuzz_pick_token(r, t, n, FT_STRING);
    if (i < 0)
        return;
    struct fuzz_buf num = { 0 };
    int quoted = t[i].kind == FT_STRING && fuzz_below(r, 2);
    if (quoted)
        fuzz_adds(&num, "\"");
    if (op == FM_NUMBER) {
        fuzz_adds(&num, fuzz_bad_numbers[fuzz_below(r, FUZZ_N_BAD_NUMBERS)]);
    } else {
        size_t digits = (size_t)1 << (4 + fuzz_below(r, fuzz_below(r, 8) ? 6 : 14)); /* 16 .. 128 Ki, mostly < 1 Ki */
        if (fuzz_below(r, 2))
            fuzz_adds(&num, "-");
        fuzz_adds(&num, "1");
        fuzz_fill(&num, (char)('0' + fuzz_below(r, 10)), digits);
        if (fuzz_below(r, 2))
            fuzz_adds(&num, fuzz_below(r, 2) ? ".5" : "e-400");
    }
    if (quoted)
        fuzz_adds(&num, "\"");
    fuzz_replace(out, s, len, t[i].off, t[i].len, num.p, num.len);
    free(num.p);
}

/* The text (or a number) nested 1 to 5 000 deep, sometimes left open. */
static inline void fuzz_op_nest(struct fuzz_rng *r, const char *s, size_t len, struct fuzz_buf *out)
{
    size_t depth = 1 + fuzz_below(r, fuzz_below(r, 4) ? 70 : 5000);
    struct fuzz_buf tmp = { 0 };
    int obj = (int)fuzz_below(r, 2);
    for (size_t k = 0; k < depth; k++)
        fuzz_adds(&tmp, obj ? "{\"a\":" : "[");
    if (fuzz_below(r, 2) || !len)
        fuzz_adds(&tmp, "1");
    else
        fuzz_add(&tmp, s, len);
    if (fuzz_below(r, 4)) /* sometimes left open */
        for (size_t k = 0; k < depth; k++)
            fuzz_adds(&tmp, obj ? "}" : "]");
    fuzz_set(out, tmp.p, tmp.len);
    free(tmp.p);
}

/* Two tokens swapped: a value of one type where another was (string <-> number <-> literal). */
static inline void fuzz_op_swap(struct fuzz_rng *r, const char *s, size_t len, const struct fuzz_span *t, int n,
                                struct fuzz_buf *out)
{
    int i = fuzz_pick_token(r, t, n, -1), j = fuzz_pick_token(r, t, n, -1);
    if (i < 0 || j < 0 || i == j)
        return;
    if (i > j) {
        int k = i;
        i = j;
        j = k;
    }
    struct fuzz_buf tmp = { 0 };
    fuzz_add(&tmp, s, t[i].off);
    fuzz_add(&tmp, s + t[j].off, t[j].len);
    fuzz_add(&tmp, s + t[i].off + t[i].len, t[j].off - t[i].off - t[i].len);
    fuzz_add(&tmp, s + t[i].off, t[i].len);
    fuzz_add(&tmp, s + t[j].off + t[j].len, len - t[j].off - t[j].len);
    fuzz_set(out, tmp.p, tmp.len);
    free(tmp.p);
}

/* One mutation of s (len) into out; `other` is a second seed for splicing.  Returns the op. */
static inline enum fuzz_op fuzz_mutate_once(struct fuzz_rng *r, const char *s, size_t len, const char *other,
                                            size_t olen, struct fuzz_buf *out)
{
    static struct fuzz_span t[FUZZ_MAX_TOKENS];
    enum fuzz_op op = (enum fuzz_op)fuzz_below(r, FM__COUNT);
    int n = fuzz_tokens(s, len, t, FUZZ_MAX_TOKENS);
    fuzz_set(out, s, len);
    if (!len && op != FM_SPLICE && op != FM_NEST)
        op = FM_BYTE;
    switch (op) {
    case FM_FLIP:
        for (size_t k = 1 + fuzz_below(r, 3); k; k--)
            out->p[fuzz_below(r, len)] ^= (char)(1u << fuzz_below(r, 8));
        break;
    case FM_BYTE: {
        static const char interesting[] = { '\0', '"', '\\', '{', '}', '[',  ']',    ',',
                                            ':',  '-', '.',  'e', ' ', '\n', '\x7f', '\xff' };
        char c = fuzz_below(r, 2) ? interesting[fuzz_below(r, sizeof interesting)] : (char)fuzz_below(r, 256);
        size_t at = len ? fuzz_below(r, len + 1) : 0;
        if (fuzz_below(r, 2) && at < len)
            out->p[at] = c;
        else
            fuzz_replace(out, s, len, at, 0, &c, 1);
        break;
    }
    case FM_TRUNCATE:
        out->len = fuzz_below(r, len);
        out->p[out->len] = '\0';
        break;
    case FM_TRUNCATE_AT_TOKEN: { /* right before, inside or after a token of some kind */
        int i = fuzz_pick_token(r, t, n, (int)fuzz_below(r, 4));
        if (i < 0)
            i = fuzz_pick_token(r, t, n, -1);
        size_t at = i < 0 ? 0
                          : t[i].off + (fuzz_below(r, 3) == 0 ? 0
                                        : fuzz_below(r, 2)    ? t[i].len
                                                              : fuzz_below(r, t[i].len + 1));
        out->len = at < len ? at : len - 1;
        out->p[out->len] = '\0';
        break;
    }
    case FM_SPLICE: {
        size_t a = len ? fuzz_below(r, len + 1) : 0, b = olen ? fuzz_below(r, olen + 1) : 0;
        struct fuzz_buf tmp = { 0 };
        fuzz_add(&tmp, s, a);
        fuzz_add(&tmp, other + b, olen - b);
        fuzz_set(out, tmp.p, tmp.len);
        free(tmp.p);
        break;
    }
    case FM_DUP_TOKEN:
    case FM_DEL_TOKEN: {
        int i = fuzz_pick_token(r, t, n, -1);
        if (i < 0)
            break;
        /* a run of 1 to 4 tokens */
        int j = i + (int)fuzz_below(r, 4);
        if (j >= n)
            j = n - 1;
        size_t off = t[i].off, span = t[j].off + t[j].len - off;
        if (op == FM_DEL_TOKEN)
            fuzz_replace(out, s, len, off, span, "", 0);
        else
            fuzz_replace(out, s, len, off, 0, s + off, span);
        break;
    }
    case FM_NUMBER:
    case FM_LONG_DIGITS: fuzz_op_number(r, op, s, len, t, n, out); break;
    case FM_NEST: fuzz_op_nest(r, s, len, out); break;
    case FM_UTF8: {
        const char *u = fuzz_bad_utf8[fuzz_below(r, FUZZ_N_BAD_UTF8)];
        int i = fuzz_pick_token(r, t, n, FT_STRING);
        size_t at = i >= 0 && t[i].len >= 2 ? t[i].off + 1 + fuzz_below(r, t[i].len - 1) : fuzz_below(r, len + 1);
        fuzz_replace(out, s, len, at, 0, u, strlen(u));
        break;
    }
    case FM_LONG_STRING: {
        int i = fuzz_pick_token(r, t, n, FT_STRING);
        size_t big = (size_t)1 << (6 + fuzz_below(r, fuzz_below(r, 8) ? 8 : 15)); /* 64 B .. 1 MiB, mostly < 16 KiB */
        struct fuzz_buf str = { 0 };
        fuzz_adds(&str, "\"");
        fuzz_fill(&str, fuzz_below(r, 2) ? 'A' : '9', big);
        fuzz_adds(&str, "\"");
        if (i >= 0)
            fuzz_replace(out, s, len, t[i].off, t[i].len, str.p, str.len);
        else
            fuzz_replace(out, s, len, fuzz_below(r, len + 1), 0, str.p, str.len);
        free(str.p);
        break;
    }
    case FM_SWAP_TOKENS: fuzz_op_swap(r, s, len, t, n, out); break;
    case FM__COUNT: break;
    }
    return op;
}

/* 1 to 3 stacked mutations of s into out; returns the first op (for the statistics). */
static inline enum fuzz_op fuzz_mutate(struct fuzz_rng *r, const char *s, size_t len, const char *other, size_t olen,
                                       struct fuzz_buf *out)
{
    enum fuzz_op first = fuzz_mutate_once(r, s, len, other, olen, out);
    struct fuzz_buf tmp = { 0 };
    for (size_t k = fuzz_below(r, 4) == 0 ? 1 + fuzz_below(r, 2) : 0; k; k--) {
        fuzz_set(&tmp, out->p, out->len);
        fuzz_mutate_once(r, tmp.p, tmp.len, other, olen, out);
    }
    free(tmp.p);
    return first;
}

#endif

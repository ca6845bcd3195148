/* manifest.h - reads tests/fixtures/<dir>/MANIFEST, the data that says how each fixture file is
 * parsed (docs/adapters.md, "Golden files"): one case a line, `KIND [FILE] key=value...`, `#`
 * starts a comment.  Used by test_adapter_golden (every case, against the golden files) and
 * test_fuzz_adapters (the ws and rest files as seeds, in their markets). */
#ifndef CDL_TEST_MANIFEST_H
#define CDL_TEST_MANIFEST_H

#include "test.h"

#define MANIFEST_MAX_CASES 128

/* One MANIFEST line. */
struct manifest_case {
    int line;
    char kind[16];    /* ws rest ignore markets symbol market_of subscribe */
    char file[128];   /* ws, rest, ignore */
    char adapter[32]; /* adapter=, default: the directory's name */
    char market[32];
    char symbol[64];
    char interval[16]; /* canonical */
    char symbols[256]; /* subscribe: comma-separated */
    char text[128];    /* symbol, market_of */
    long long start, end;
    int limit;
};

static inline int manifest_file_case(const struct manifest_case *c)
{
    return !strcmp(c->kind, "ws") || !strcmp(c->kind, "rest") || !strcmp(c->kind, "ignore");
}

/* Sets one key=value of c; -1 for an unknown key or a value that does not fit (start, end and
 * limit: a non-negative integer). */
static inline int manifest_set_key(struct manifest_case *c, const char *key, const char *v)
{
    struct {
        const char *key;
        char *dst;
        size_t cap;
    } strs[] = { { "adapter", c->adapter, sizeof c->adapter }, { "market", c->market, sizeof c->market },
                 { "symbol", c->symbol, sizeof c->symbol },    { "interval", c->interval, sizeof c->interval },
                 { "symbols", c->symbols, sizeof c->symbols }, { "text", c->text, sizeof c->text } };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (!strcmp(key, strs[i].key))
            return snprintf(strs[i].dst, strs[i].cap, "%s", v) < (int)strs[i].cap ? 0 : -1;
    char *end;
    long long n = strtoll(v, &end, 10);
    if (end == v || *end || n < 0)
        return -1;
    if (!strcmp(key, "start"))
        c->start = n;
    else if (!strcmp(key, "end"))
        c->end = n;
    else if (!strcmp(key, "limit") && n <= 100000)
        c->limit = (int)n;
    else
        return -1;
    return 0;
}

/* Parses MANIFEST text into cases; returns their number, or -1 with the failure printed. */
static inline int manifest_parse(const char *dir, char *text, struct manifest_case *cases)
{
    int n = 0, line_no = 0;
    for (char *line = text, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        line_no++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *tok = strtok(line, " \t\r");
        if (!tok)
            continue;
        if (n == MANIFEST_MAX_CASES)
            return fprintf(stderr, "  %s/MANIFEST: more than %d cases\n", dir, MANIFEST_MAX_CASES), -1;
        struct manifest_case *c = &cases[n++];
        memset(c, 0, sizeof *c);
        c->line = line_no;
        snprintf(c->adapter, sizeof c->adapter, "%s", dir);
        snprintf(c->kind, sizeof c->kind, "%s", tok);
        if (manifest_file_case(c)) {
            tok = strtok(NULL, " \t\r");
            if (!tok)
                return fprintf(stderr, "  %s/MANIFEST:%d: %s needs a file\n", dir, line_no, c->kind), -1;
            snprintf(c->file, sizeof c->file, "%s", tok);
            if (!strcmp(c->kind, "ignore")) {
                if (!strtok(NULL, " \t\r"))
                    return fprintf(stderr, "  %s/MANIFEST:%d: ignore needs a reason\n", dir, line_no), -1;
                continue;
            }
        } else if (strcmp(c->kind, "markets") && strcmp(c->kind, "symbol") && strcmp(c->kind, "market_of") &&
                   strcmp(c->kind, "subscribe")) {
            return fprintf(stderr, "  %s/MANIFEST:%d: unknown case '%s'\n", dir, line_no, c->kind), -1;
        }
        while ((tok = strtok(NULL, " \t\r"))) {
            char *eq = strchr(tok, '=');
            if (eq)
                *eq = '\0';
            if (!eq || manifest_set_key(c, tok, eq + 1))
                return fprintf(stderr, "  %s/MANIFEST:%d: bad key=value '%s%s%s'\n", dir, line_no, tok, eq ? "=" : "",
                               eq ? eq + 1 : ""),
                       -1;
        }
    }
    return n;
}

/* Reads and parses tests/fixtures/<dir>/MANIFEST into cases[MANIFEST_MAX_CASES]; returns their
 * number, or -1 with the failure printed (no MANIFEST, a bad line). */
static inline int manifest_load(const char *dir, struct manifest_case *cases)
{
    size_t len;
    char *text = test_read_fixture(dir, "MANIFEST", &len);
    if (!text) {
        fprintf(stderr, "  tests/fixtures/%s has no MANIFEST\n", dir);
        return -1;
    }
    int n = manifest_parse(dir, text, cases);
    free(text);
    return n;
}

#endif

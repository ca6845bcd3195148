/* Mutation fuzzing of the JSON scanner (core/base/jsonscan.c) and the client request parser
 * (core/policy/request.c), from valid requests and from every recorded exchange frame.
 *
 * The scanner is checked against an independent oracle: a small recursive RFC 8259 validator
 * written here (same nesting limit, 64; bytes >= 0x80 are not checked as UTF-8, like the
 * scanner), so "accepts exactly the valid documents" can fail either way.  Every span it reports
 * must lie inside the text and hold what its kind says.  The request parser must answer either a
 * request that keeps request.h's promises (op known, exchange set, 1..max symbols of 1..63
 * bytes, limit >= 0) or CDL_EINVAL with one of the documented codes (bad_json, bad_request,
 * too_many_symbols) and a message, and bad_json exactly when the oracle says the text is not
 * JSON. */
#include "err.h"
#include "fuzz.h"
#include "jsonscan.h"
#include "manifest.h"
#include "request.h"
#include "test.h"

#define CASES 50000 /* per target; CDL_FUZZ_ITERATIONS overrides */
#define MAX_SYMBOLS 16

/* ---- the oracle -------------------------------------------------------------------------------- */

struct oracle {
    const unsigned char *p, *end;
    int depth;
};

static int o_value(struct oracle *o);

static void o_ws(struct oracle *o)
{
    while (o->p < o->end && (*o->p == ' ' || *o->p == '\t' || *o->p == '\n' || *o->p == '\r'))
        o->p++;
}

static int o_hex(unsigned char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

static int o_string(struct oracle *o)
{
    o->p++;
    while (o->p < o->end) {
        unsigned char c = *o->p++;
        if (c == '"')
            return 1;
        if (c < 0x20)
            return 0;
        if (c != '\\')
            continue;
        if (o->p >= o->end)
            return 0;
        c = *o->p++;
        if (c == 'u') {
            for (int i = 0; i < 4; i++)
                if (o->p >= o->end || !o_hex(*o->p++))
                    return 0;
        } else if (!strchr("\"\\/bfnrt", c) || !c) {
            return 0;
        }
    }
    return 0;
}

static int o_digits(struct oracle *o)
{
    const unsigned char *s = o->p;
    while (o->p < o->end && *o->p >= '0' && *o->p <= '9')
        o->p++;
    return o->p > s;
}

static int o_number(struct oracle *o)
{
    if (o->p < o->end && *o->p == '-')
        o->p++;
    if (o->p < o->end && *o->p == '0')
        o->p++;
    else if (!o_digits(o))
        return 0;
    if (o->p < o->end && *o->p == '.') {
        o->p++;
        if (!o_digits(o))
            return 0;
    }
    if (o->p < o->end && (*o->p == 'e' || *o->p == 'E')) {
        o->p++;
        if (o->p < o->end && (*o->p == '+' || *o->p == '-'))
            o->p++;
        if (!o_digits(o))
            return 0;
    }
    /* a leading zero followed by digits is not one number, and two values side by side are no document */
    return 1;
}

static int o_container(struct oracle *o, char close)
{
    if (++o->depth > 64)
        return 0;
    o->p++;
    o_ws(o);
    if (o->p < o->end && *o->p == (unsigned char)close) {
        o->p++;
        o->depth--;
        return 1;
    }
    for (;;) {
        o_ws(o);
        if (close == '}') {
            if (o->p >= o->end || *o->p != '"' || !o_string(o))
                return 0;
            o_ws(o);
            if (o->p >= o->end || *o->p++ != ':')
                return 0;
        }
        if (!o_value(o))
            return 0;
        o_ws(o);
        if (o->p >= o->end)
            return 0;
        unsigned char c = *o->p++;
        if (c == (unsigned char)close) {
            o->depth--;
            return 1;
        }
        if (c != ',')
            return 0;
    }
}

static int o_word(struct oracle *o, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(o->end - o->p) < n || memcmp(o->p, w, n))
        return 0;
    o->p += n;
    return 1;
}

static int o_value(struct oracle *o)
{
    o_ws(o);
    if (o->p >= o->end)
        return 0;
    switch (*o->p) {
    case '{': return o_container(o, '}');
    case '[': return o_container(o, ']');
    case '"': return o_string(o);
    case 't': return o_word(o, "true");
    case 'f': return o_word(o, "false");
    case 'n': return o_word(o, "null");
    default: return (*o->p == '-' || (*o->p >= '0' && *o->p <= '9')) && o_number(o);
    }
}

/* 1 if text is one RFC 8259 JSON document (nesting at most 64). */
static int oracle_valid(const char *text, size_t len)
{
    struct oracle o = { (const unsigned char *)text, (const unsigned char *)text + len, 0 };
    if (!o_value(&o))
        return 0;
    o_ws(&o);
    return o.p == o.end;
}

/* ---- span checks --------------------------------------------------------------------------------- */

/* What is wrong with the spans the scanner reported for text, or NULL. */
static const char *spans_wrong(const char *text, size_t len, const struct cdl_json_span *sp, int n)
{
    for (int i = 0; i < n; i++) {
        const struct cdl_json_span *s = &sp[i];
        if (s->kind == CDL_J_ABSENT)
            continue;
        if (s->off > len || s->len > len - s->off)
            return "span outside the text";
        const char *v = text + s->off;
        switch (s->kind) {
        case CDL_J_STRING: {
            if (!s->off || v[-1] != '"' || s->off + s->len >= len || v[s->len] != '"')
                return "string span not between quotes";
            if ((memchr(v, '\\', s->len) != NULL) != s->escaped)
                return "escaped flag wrong";
            char buf[256];
            long u = cdl_json_unescape(v, s->len, buf, sizeof buf);
            if (u > (long)s->len || (u >= 0 && buf[u] != '\0'))
                return "unescaped longer than the span or not terminated";
            break;
        }
        case CDL_J_NUMBER: {
            struct oracle o = { (const unsigned char *)v, (const unsigned char *)v + s->len, 0 };
            if (!s->len || !o_number(&o) || o.p != o.end)
                return "number span is not one number token";
            int64_t x;
            if (cdl_json_int64(v, s->len, &x) &&
                (memchr(v, '.', s->len) || memchr(v, 'e', s->len) || memchr(v, 'E', s->len)))
                return "int64 from a number with a fraction or exponent";
            break;
        }
        case CDL_J_OBJECT:
        case CDL_J_ARRAY:
            if (s->len < 2 || v[0] != (s->kind == CDL_J_OBJECT ? '{' : '[') ||
                v[s->len - 1] != (s->kind == CDL_J_OBJECT ? '}' : ']'))
                return "container span does not hold its brackets";
            break;
        case CDL_J_TRUE:
        case CDL_J_FALSE:
        case CDL_J_NULL: {
            const char *w = s->kind == CDL_J_TRUE ? "true" : s->kind == CDL_J_FALSE ? "false" : "null";
            if (s->len != strlen(w) || memcmp(v, w, s->len))
                return "literal span wrong";
            break;
        }
        default: return "unknown kind";
        }
    }
    return NULL;
}

/* ---- seeds ----------------------------------------------------------------------------------------- */

static const char *const requests[] = {
    "{\"exchange\":\"binance\",\"contract_type\":\"spot\",\"symbols\":[\"BTCUSDT\"],\"interval\":\"1m\",\"limit\":0}",
    "{\"op\":\"unsubscribe\",\"exchange\":\"okx\",\"contract_type\":\"swap\",\"symbols\":[\"BTC-USDT-SWAP\","
    "\"ETH-USDT-SWAP\"],\"interval\":\"1h\"}",
    "{\"op\":\"ping\"}",
    "{\"op\":\"subscribe\",\"exchange\":\"gateio\",\"market\":\"spot\",\"symbols\":[\"BTC_USDT\",\"ETH_USDT\"],"
    "\"closed_only\":true,\"limit\":10}",
    " {\n  \"exchange\" : \"bybit\" ,\n  \"symbols\" : [ \"BTCUSDT\" , \"ETHUSDT\" ] ,\n  \"interval\" : \"5m\"\n } ",
    "{\"exchange\":\"hyperliquid\",\"symbols\":[\"\\u0042TC\",\"@1\",\"xyz:TSLA\"],\"closed_only\":false,"
    "\"client_tag\":{\"a\":[1,2.5e3,-0.1,null]}}",
    "{\"exchange\":\"binance\",\"symbols\":[\"A\",\"B\",\"C\",\"D\",\"E\",\"F\",\"G\",\"H\",\"I\",\"J\",\"K\",\"L\","
    "\"M\",\"N\",\"O\",\"P\"]}",
};
#define N_REQUESTS ((int)(sizeof requests / sizeof requests[0]))

static int request_wrong_ok(const struct cdl_request *r)
{
    if (r->op != CDL_REQ_SUBSCRIBE && r->op != CDL_REQ_UNSUBSCRIBE && r->op != CDL_REQ_PING)
        return 1;
    if (r->op == CDL_REQ_PING)
        return r->n_symbols != 0 || r->symbols != NULL;
    if (!r->exchange[0] || !memchr(r->exchange, '\0', sizeof r->exchange) ||
        !memchr(r->market, '\0', sizeof r->market) || !memchr(r->interval, '\0', sizeof r->interval) || r->limit < 0 ||
        (r->closed_only & ~1))
        return 1;
    if (r->n_symbols < 1 || r->n_symbols > MAX_SYMBOLS || !r->symbols)
        return 1;
    for (int i = 0; i < r->n_symbols; i++) {
        size_t n = strnlen(r->symbols[i], CDL_SYMBOL_MAX);
        if (n < 1 || n >= CDL_SYMBOL_MAX)
            return 1;
    }
    return 0;
}

static void show(const char *what, long i, const struct fuzz_buf *in, const char *why)
{
    fprintf(stderr, "  %s case %ld (%zu bytes): %s\n  input: ", what, i, in->len, why);
    for (size_t k = 0; k < in->len && k < 300; k++)
        fputc(in->p[k] >= 0x20 && in->p[k] < 0x7f ? in->p[k] : '?', stderr);
    fputc('\n', stderr);
}

/* One request text through the parser: NULL or what is wrong.  Counts the codes. */
static const char *check_request(const struct cdl_jsonscan *scan, const char *text, size_t len, long *n_ok,
                                 long *n_json, long *n_req, long *n_many)
{
    struct cdl_request req;
    const char *code = NULL;
    char msg[256] = "";
    int rc = cdl_request_parse(scan, text, len, MAX_SYMBOLS, &req, &code, msg, sizeof msg);
    int valid = oracle_valid(text, len);
    const char *why = NULL;
    if (rc == 0) {
        ++*n_ok;
        if (!valid)
            why = "accepted a text that is not JSON";
        else if (request_wrong_ok(&req))
            why = "accepted request breaks request.h's promises";
    } else if (rc != CDL_EINVAL || !code || !msg[0] || req.symbols || req.n_symbols) {
        why = "error without CDL_EINVAL, a code and a message, or with symbols left";
    } else if (!strcmp(code, "bad_json")) {
        ++*n_json;
        if (valid)
            why = "bad_json for valid JSON";
    } else if (!strcmp(code, "bad_request") || !strcmp(code, "too_many_symbols")) {
        !strcmp(code, "bad_request") ? ++*n_req : ++*n_many;
        if (!valid)
            why = "bad_request for a text that is not JSON";
    } else {
        why = "undocumented error code";
    }
    cdl_request_clear(&req);
    return why;
}

static void test_request_every_prefix_is_bad_json(void)
{
    struct cdl_jsonscan *scan = cdl_request_scanner();
    for (int s = 0; s < N_REQUESTS; s++) {
        size_t len = strlen(requests[s]);
        struct cdl_request req;
        const char *code = NULL;
        char msg[256];
        ASSERT_EQ(cdl_request_parse(scan, requests[s], len, MAX_SYMBOLS, &req, &code, msg, sizeof msg), 0);
        cdl_request_clear(&req);
        size_t last = len;
        while (last > 0 && requests[s][last - 1] == ' ')
            last--;
        for (size_t cut = 0; cut < last; cut++) {
            code = NULL;
            ASSERT_EQ(cdl_request_parse(scan, requests[s], cut, MAX_SYMBOLS, &req, &code, msg, sizeof msg), CDL_EINVAL);
            ASSERT_STR_EQ(code, "bad_json");
            ASSERT(req.symbols == NULL);
        }
    }
    cdl_jsonscan_destroy(scan);
}

static void test_fuzz_requests(void)
{
    struct cdl_jsonscan *scan = cdl_request_scanner();
    struct fuzz_rng rng = { fuzz_seed(0xC0FFEE) ^ 0x5245 };
    struct fuzz_buf in = { 0 };
    long cases = fuzz_iterations(CASES), ok = 0, json = 0, req = 0, many = 0, failed = 0;
    double t0 = fuzz_now();
    for (long i = 0; i < cases && failed < 5; i++) {
        const char *a = requests[fuzz_below(&rng, N_REQUESTS)], *b = requests[fuzz_below(&rng, N_REQUESTS)];
        fuzz_mutate(&rng, a, strlen(a), b, strlen(b), &in);
        const char *why = check_request(scan, in.p, in.len, &ok, &json, &req, &many);
        if (why) {
            show("request", i, &in, why);
            failed++;
        }
    }
    fprintf(stderr,
            "  fuzz requests %ld cases in %.2f s: %ld accepted, %ld bad_json, %ld bad_request, "
            "%ld too_many_symbols\n",
            cases, fuzz_now() - t0, ok, json, req, many);
    free(in.p);
    cdl_jsonscan_destroy(scan);
    ASSERT_EQ(failed, 0);
}

static int strcmp_ptr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Frames of every exchange (the files of tests/fixtures/<exchange>/MANIFEST, a .jsonl one frame a
 * line) as the scanner's seeds. */
static int load_frames(char **frames, int max)
{
    static const char *const ex[] = { "binance", "bybit", "gateio", "hyperliquid", "okx" };
    int n = 0;
    for (int e = 0; e < 5; e++) {
        static struct manifest_case cases[MANIFEST_MAX_CASES];
        int nc = manifest_load(ex[e], cases); /* every file its MANIFEST names, client requests too */
        for (int k = 0; k < nc; k++) {
            if (!manifest_file_case(&cases[k]))
                continue;
            size_t len;
            char *text = test_read_fixture(ex[e], cases[k].file, &len);
            if (text && !strstr(cases[k].file, ".jsonl")) { /* a whole document, maybe pretty-printed */
                if (n < max)
                    frames[n++] = strdup(text);
            } else {
                for (char *line = text ? strtok(text, "\n") : NULL; line && n < max; line = strtok(NULL, "\n"))
                    frames[n++] = strdup(line);
            }
            free(text);
        }
    }
    qsort(frames, (size_t)n, sizeof *frames, strcmp_ptr);
    return n;
}

static void test_fuzz_jsonscan(void)
{
    static const char *const paths[] = { "e",          "k.t",          "k.o",      "data.k.t",
                                         "data.k.x",   "data.1.start", "data.1.1", "result.n",
                                         "result.1.t", "arg.channel",  "data",     "result",
                                         "id",         "error.code",   "topic",    "1",
                                         "1.1",        "symbols.2",    "a.a.a.a" };
    struct cdl_jsonscan *scan = cdl_jsonscan_create(paths, (int)(sizeof paths / sizeof paths[0]));
    ASSERT(scan != NULL);
    static char *frames[1024];
    int n = load_frames(frames, 1024);
    ASSERT(n > 50);
    struct fuzz_rng rng = { fuzz_seed(0xC0FFEE) ^ 0x4A53 };
    struct fuzz_buf in = { 0 };
    struct cdl_json_span sp[CDL_JSONSCAN_MAX_PATHS];
    long cases = fuzz_iterations(CASES), valid = 0, valid_seeds = 0, failed = 0;
    double t0 = fuzz_now();
    for (long i = 0; i < cases + n && failed < 5; i++) {
        if (i < n) { /* every seed as it is first (some are recorded garbage) */
            fuzz_set(&in, frames[i], strlen(frames[i]));
        } else {
            const char *a = frames[fuzz_below(&rng, (size_t)n)], *b = frames[fuzz_below(&rng, (size_t)n)];
            fuzz_mutate(&rng, a, strlen(a), b, strlen(b), &in);
        }
        char err[128] = "";
        int rc = cdl_jsonscan_run(scan, in.p, in.len, sp, err, sizeof err);
        int ok = oracle_valid(in.p, in.len);
        const char *why = NULL;
        if (rc != 0 && rc != CDL_EINVAL)
            why = "unexpected return code";
        else if ((rc == 0) != ok)
            why = ok ? "scanner refused valid JSON" : "scanner accepted invalid JSON";
        else if (rc && !strstr(err, " at byte "))
            why = "error message without its position";
        else if (!rc)
            why = spans_wrong(in.p, in.len, sp, cdl_jsonscan_count(scan));
        valid += !rc;
        valid_seeds += i < n && !rc;
        if (why) {
            show("jsonscan", i, &in, why);
            fprintf(stderr, "  scanner said: %s\n", rc ? err : "valid");
            failed++;
        }
    }
    fprintf(stderr, "  fuzz jsonscan %ld cases (+%d seeds, %ld valid) in %.2f s: %ld valid\n", cases, n, valid_seeds,
            fuzz_now() - t0, valid - valid_seeds);
    for (int i = 0; i < n; i++)
        free(frames[i]);
    free(in.p);
    cdl_jsonscan_destroy(scan);
    ASSERT_EQ(failed, 0);
    ASSERT(valid_seeds > n / 2);
}

int main(void)
{
    TEST_RUN(test_request_every_prefix_is_bad_json);
    TEST_RUN(test_fuzz_requests);
    TEST_RUN(test_fuzz_jsonscan);
    return TEST_DONE();
}

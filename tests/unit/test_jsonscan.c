/* Unit tests for jsonscan.c: path compilation, spans and kinds, strictness, unescaping and
 * int64 edges, and every truncation of a real frame. */
#include "err.h"
#include "jsonscan.h"
#include "test.h"

#include <stdlib.h>

static const char frame[] =
    "{\"stream\":\"nknusdt@kline_1m\",\"data\":{\"e\":\"kline\",\"E\":1633998523963,\"s\":\"NKNUSDT\",\"k\":{"
    "\"t\":1633998480000,\"T\":1633998539999,\"s\":\"NKNUSDT\",\"i\":\"1m\",\"f\":19862761,\"L\":19862790,"
    "\"o\":\"0.35270000\",\"c\":\"0.35280000\",\"h\":\"0.35280000\",\"l\":\"0.35220000\",\"v\":\"25877.00000000\","
    "\"n\":30,\"x\":false,\"q\":\"9116.04600000\",\"V\":\"58.00000000\",\"Q\":\"20.46240000\",\"B\":\"0\"}}}";

static char got[256];
static const char *text_of(const char *doc, const struct cdl_json_span *s)
{
    snprintf(got, sizeof got, "%.*s", (int)s->len, doc + s->off);
    return got;
}

static void test_paths_and_kinds(void)
{
    const char *paths[] = { "data.k.o", "data.k.t", "data.k.x", "stream", "data.k", "nope", "data.k.o" };
    struct cdl_jsonscan *s = cdl_jsonscan_create(paths, 7);
    ASSERT(s != NULL);
    struct cdl_json_span sp[7];
    char err[64];
    ASSERT_EQ(cdl_jsonscan_run(s, frame, strlen(frame), sp, err, sizeof err), 0);
    ASSERT_EQ(sp[0].kind, CDL_J_STRING);
    ASSERT_STR_EQ(text_of(frame, &sp[0]), "0.35270000");
    ASSERT_EQ(sp[1].kind, CDL_J_NUMBER);
    ASSERT_STR_EQ(text_of(frame, &sp[1]), "1633998480000");
    ASSERT_EQ(sp[2].kind, CDL_J_FALSE);
    ASSERT_STR_EQ(text_of(frame, &sp[3]), "nknusdt@kline_1m");
    ASSERT_EQ(sp[4].kind, CDL_J_OBJECT);
    ASSERT(!strncmp(frame + sp[4].off, "{\"t\":", 5));
    ASSERT_EQ(frame[sp[4].off + sp[4].len - 1], '}');
    ASSERT_EQ(sp[5].kind, CDL_J_ABSENT);
    ASSERT_EQ(sp[6].kind, CDL_J_STRING); /* a repeated path shares the span */
    ASSERT_EQ(sp[6].off, sp[0].off);
    cdl_jsonscan_destroy(s);
}

static void test_arrays(void)
{
    const char *paths[] = { "data.1.start", "data.2", "data.3" };
    struct cdl_jsonscan *s = cdl_jsonscan_create(paths, 3);
    const char *doc = " {\"data\" : [ {\"start\": -12.5e+3 } , null ] } \n";
    struct cdl_json_span sp[3];
    ASSERT_EQ(cdl_jsonscan_run(s, doc, strlen(doc), sp, NULL, 0), 0);
    ASSERT_EQ(sp[0].kind, CDL_J_NUMBER);
    ASSERT_STR_EQ(text_of(doc, &sp[0]), "-12.5e+3");
    ASSERT_EQ(sp[1].kind, CDL_J_NULL);
    ASSERT_EQ(sp[2].kind, CDL_J_ABSENT);
    cdl_jsonscan_destroy(s);
}

static void test_bad_paths(void)
{
    const char *empty[] = { "" }, *dots[] = { "a..b" }, *trail[] = { "a." };
    ASSERT(cdl_jsonscan_create(empty, 1) == NULL);
    ASSERT(cdl_jsonscan_create(dots, 1) == NULL);
    ASSERT(cdl_jsonscan_create(trail, 1) == NULL);
    ASSERT(cdl_jsonscan_create(empty, CDL_JSONSCAN_MAX_PATHS + 1) == NULL);
}

static void test_strictness(void)
{
    const char *paths[] = { "a" };
    struct cdl_jsonscan *s = cdl_jsonscan_create(paths, 1);
    struct cdl_json_span sp[1];
    struct {
        const char *doc, *err;
    } bad[] = {
        { "", "truncated document at byte 0" },
        { "{\"a\":1,}", "expected a key at byte 7" },
        { "{\"a\":-}", "bad number at byte 6" },
        { "{\"a\":1e}", "bad exponent at byte 7" },
        { "{\"a\":\"\\u12\"}", "bad \\u escape at byte 7" },
        { "{\"a\" 1}", "expected ':' at byte 5" },
        { "[1 2]", "expected ',' or ']' at byte 3" },
        { "{\"a\":1} {}", "trailing characters at byte 8" },
        { "nul", "invalid literal at byte 0" },
        { "\"abc", "unterminated string at byte 4" },
        { "{\"a\":+1}", "unexpected character at byte 5" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char err[96] = "";
        int rc = cdl_jsonscan_run(s, bad[i].doc, strlen(bad[i].doc), sp, err, sizeof err);
        if (rc != CDL_EINVAL || strcmp(err, bad[i].err)) {
            TEST_FAIL_("\"%s\": rc %d err \"%s\", expected \"%s\"", bad[i].doc, rc, err, bad[i].err);
            return;
        }
    }
    /* an embedded NUL is a control character, not the end of the text */
    const char nul[] = "{\"a\":\"x\0y\"}";
    ASSERT_EQ(cdl_jsonscan_run(s, nul, sizeof nul - 1, sp, NULL, 0), CDL_EINVAL);
    /* nesting: 64 levels are fine, 65 are not */
    char deep[200];
    memset(deep, '[', 64);
    memset(deep + 64, ']', 64);
    ASSERT_EQ(cdl_jsonscan_run(s, deep, 128, sp, NULL, 0), 0);
    memset(deep, '[', 65);
    memset(deep + 65, ']', 65);
    ASSERT_EQ(cdl_jsonscan_run(s, deep, 130, sp, NULL, 0), CDL_EINVAL);
    cdl_jsonscan_destroy(s);
}

static void test_every_truncation(void)
{
    const char *paths[] = { "data.k.c" };
    struct cdl_jsonscan *s = cdl_jsonscan_create(paths, 1);
    struct cdl_json_span sp[1];
    size_t n = strlen(frame);
    for (size_t len = 0; len < n; len++) {
        char *copy = malloc(len ? len : 1); /* exact-size copy: ASan catches any over-read */
        memcpy(copy, frame, len);
        int rc = cdl_jsonscan_run(s, copy, len, sp, NULL, 0);
        free(copy);
        if (rc != CDL_EINVAL) {
            TEST_FAIL_("accepted a truncation to %zu bytes", len);
            return;
        }
    }
    ASSERT_EQ(cdl_jsonscan_run(s, frame, n, sp, NULL, 0), 0);
    cdl_jsonscan_destroy(s);
}

static void test_unescape_and_int64(void)
{
    char buf[32];
    ASSERT_EQ(cdl_json_unescape("a\\n\\u00e9\\ud83d\\ude00", 21, buf, sizeof buf), 8);
    ASSERT_STR_EQ(buf, "a\n\xc3\xa9\xf0\x9f\x98\x80");
    ASSERT_EQ(cdl_json_unescape("\\ud83d", 6, buf, sizeof buf), -1); /* lone high surrogate */
    ASSERT_EQ(cdl_json_unescape("\\ude00", 6, buf, sizeof buf), -1); /* lone low surrogate */
    ASSERT_EQ(cdl_json_unescape("abcdef", 6, buf, 4), -1);           /* does not fit */
    int64_t v;
    ASSERT(cdl_json_int64("9223372036854775807", 19, &v));
    ASSERT(v == INT64_MAX);
    ASSERT(cdl_json_int64("-9223372036854775808", 20, &v));
    ASSERT(v == INT64_MIN);
    ASSERT(!cdl_json_int64("9223372036854775808", 19, &v));
    ASSERT(!cdl_json_int64("1.0", 3, &v));
    ASSERT(!cdl_json_int64("1e3", 3, &v));
    ASSERT(!cdl_json_int64("-", 1, &v));
}

int main(void)
{
    TEST_RUN(test_paths_and_kinds);
    TEST_RUN(test_arrays);
    TEST_RUN(test_bad_paths);
    TEST_RUN(test_strictness);
    TEST_RUN(test_every_truncation);
    TEST_RUN(test_unescape_and_int64);
    return TEST_DONE();
}

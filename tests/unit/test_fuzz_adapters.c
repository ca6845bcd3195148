/* Mutation fuzzing of every adapter's WebSocket frame parser and REST page parser, through the
 * real C host (cdl_adapter_parse, cdl_adapter_rest_parse) as the feed calls them.
 *
 * Seeds: every recorded frame and page of tests/fixtures/<adapter>/ (a .jsonl is one frame a line)
 * and the frames candled-sim renders, tests/fixtures/sim/<adapter>_<market>.jsonl
 * (tools/fuzz_sim_seeds.sh): the ws and rest cases of those directories' MANIFEST, each parsed
 * in the market its case names (manifest.h).  Each case mutates one seed (fuzz.h) and checks:
 *   - the call returns 0 or a hook error (CDL_ELUA / CDL_EBUDGET), and every hook error is
 *     counted in connector_adapter_errors_total (the metric equals the count of errors seen);
 *   - a result is well-formed: at most `limit` candles, a rejection carries a reason token and
 *     no candle, refused candles carry a bad_* reason;
 *   - every candle that comes out passes the boundary rules again, checked with the core's own
 *     functions (open time in range, decimal text, close time, trades, quote JSON that fits);
 * and at the end of each adapter: after a full collection the Lua state holds at most
 * LEAK_BOUND bytes more than before the fuzzing, and every seed parses again to exactly the
 * result it gave before (the host and the adapter's reused tables are not corrupted). */
#include "candle.h"
#include "err.h"
#include "fuzz.h"
#include "interval.h"
#include "log.h"
#include "lua_host.h"
#include "manifest.h"
#include "metrics.h"
#include "test.h"

#include <stdlib.h>

#define MAX_SEEDS 512
#define WS_CASES 20000 /* per adapter; CDL_FUZZ_ITERATIONS overrides */
#define REST_SHARE 5   /* one case in REST_SHARE is a REST page (when the adapter has REST seeds) */
/* Bytes the state may hold more after the fuzzing (after a full GC): the adapters' own bounded
 * caches (gateio keeps up to 4096 stream names of at most 80 bytes, well under 1 MiB). */
#define LEAK_BOUND (1024 * 1024)

struct seed {
    char *text;
    size_t len;
    int rest;
    const struct cdl_market *m;
    char file[96];
};

static struct cdl_lua_host *host;
static struct cdl_metrics *metrics;
static struct cdl_parse_result res;
static struct fuzz_buf in;

/* Figures of one adapter's run. */
struct stats {
    long cases, rest_cases, candles, bad_candles, rejected, events, empty, hook_errors, budget_errors;
    long misaligned; /* candles the feed would refuse as misaligned_open_time (counted, not an error) */
    long by_op[FM__COUNT];
};

static void add_seed(struct seed *s, int *n, const char *text, size_t len, int rest, const struct cdl_market *m,
                     const char *file)
{
    if (*n >= MAX_SEEDS || !len)
        return;
    struct seed *d = &s[(*n)++];
    d->text = malloc(len + 1);
    if (!d->text)
        abort();
    memcpy(d->text, text, len);
    d->text[len] = '\0';
    d->len = len;
    d->rest = rest;
    d->m = m;
    snprintf(d->file, sizeof d->file, "%s", file);
}

/* Reads the seeds of adapter `name`: the ws and rest files of tests/fixtures/<name>/MANIFEST and,
 * with `sim`, the cases of tests/fixtures/sim/MANIFEST for that adapter (tools/fuzz_sim_seeds.sh),
 * each in the market its case names; in MANIFEST order, so the cases do not depend on readdir.
 * Appends to s[*n]. */
static void load_seeds(struct cdl_adapter *a, const char *name, int sim, struct seed *s, int *n)
{
    static struct manifest_case cases[MANIFEST_MAX_CASES];
    const char *dir = sim ? "sim" : name;
    int nc = manifest_load(dir, cases);
    for (int i = 0; i < nc; i++) {
        const struct manifest_case *c = &cases[i];
        int rest = !strcmp(c->kind, "rest");
        const struct cdl_market *m = cdl_adapter_market(a, c->market);
        if ((!rest && strcmp(c->kind, "ws")) || strcmp(c->adapter, name) || !m)
            continue;
        size_t len;
        char *text = test_read_fixture(dir, c->file, &len);
        size_t k = strlen(c->file);
        if (text && k > 6 && !strcmp(c->file + k - 6, ".jsonl")) {
            for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
                add_seed(s, n, line, strlen(line), rest, m, c->file);
        } else if (text) {
            add_seed(s, n, text, len, rest, m, c->file);
        }
        free(text);
    }
}

/* The REST query a page is parsed for: the market's 1h interval (or its first), like a backfill. */
static struct cdl_rest_query query_for(struct cdl_adapter *a, const struct cdl_market *m, const char *canonical)
{
    const char *iv = cdl_adapter_interval(a, m, canonical);
    for (int i = 0; !iv && i < cdl_interval_count(); i++)
        iv = cdl_adapter_interval(a, m, cdl_interval_at(i)->name);
    return (
        struct cdl_rest_query){ "BTCUSDT", iv, 1718647200000, 1718658000000, m->rest_max_rows, "http://127.0.0.1:1" };
}

static int is_token(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

/* The boundary rules, checked again on a candle that came out: NULL or what is wrong. */
static const char *candle_wrong(const struct cdl_parsed_candle *pc)
{
    const struct cdl_candle *c = &pc->c;
    if (!memchr(pc->symbol, '\0', sizeof pc->symbol) || !memchr(pc->interval, '\0', sizeof pc->interval))
        return "symbol or interval not terminated";
    if (!cdl_candle_check_time(c->open_time))
        return "open_time out of range";
    const char *dec[] = { c->open, c->high, c->low, c->close, c->volume };
    for (int i = 0; i < 5; i++)
        if (!memchr(dec[i], '\0', CDL_DEC_MAX) || !cdl_decimal_valid(dec[i], strlen(dec[i])))
            return "price or volume not decimal text";
    if (!memchr(c->quote_volume, '\0', CDL_DEC_MAX) ||
        (c->quote_volume[0] && !cdl_decimal_valid(c->quote_volume, strlen(c->quote_volume))))
        return "quote_volume not decimal text";
    if (c->close_time != -1 && c->close_time < c->open_time)
        return "close_time before open_time";
    if (c->trades < -1)
        return "negative trades";
    if (c->closed < -1 || c->closed > 1)
        return "closed not -1/0/1";
    struct cdl_quote_meta meta = { "x", "spot", pc->symbol[0] ? pc->symbol : "S", "1m", 0 };
    char buf[1024];
    if (cdl_quote_json(buf, sizeof buf, &meta, c) <= 0)
        return "quote JSON does not fit 1 KiB";
    return NULL;
}

/* What is wrong with (rc, res), or NULL.  Updates the figures. */
static const char *result_wrong(struct cdl_adapter *a, const struct cdl_market *m, int rc, struct stats *st)
{
    if (rc == CDL_ELUA || rc == CDL_EBUDGET) {
        st->hook_errors++;
        st->budget_errors += rc == CDL_EBUDGET;
        return NULL;
    }
    if (rc)
        return "unexpected return code";
    if (res.n < 0 || res.n > res.limit || res.n_bad < 0 || res.rejected < 0 || res.rejected > 1)
        return "counts out of range";
    if (res.rejected && (res.n || !is_token(res.reason)))
        return "rejection with candles or without a reason token";
    if (res.n_bad && strncmp(res.bad_reason, "bad_", 4) && strcmp(res.bad_reason, "too_many_candles"))
        return "refused candles without a bad_* reason";
    if (res.event < CDL_EV_NONE || res.event > CDL_EV_RECONNECT || !memchr(res.message, '\0', sizeof res.message))
        return "bad event";
    for (int i = 0; i < res.n; i++) {
        const char *w = candle_wrong(&res.items[i]);
        if (w)
            return w;
        const char *canon =
            res.items[i].interval[0] ? cdl_adapter_interval_canonical(a, m, res.items[i].interval) : NULL;
        struct cdl_interval iv;
        if (canon && !cdl_interval_parse(canon, &iv) && !cdl_interval_aligned(&iv, res.items[i].c.open_time))
            st->misaligned++;
    }
    st->candles += res.n;
    st->bad_candles += res.n_bad;
    st->rejected += res.rejected;
    st->events += res.event != CDL_EV_NONE;
    st->empty += !res.rejected && !res.n && res.event == CDL_EV_NONE;
    return NULL;
}

static int parse_seed(struct cdl_adapter *a, const struct cdl_market *m, int rest, const char *text, size_t len)
{
    if (rest) {
        struct cdl_rest_query q = query_for(a, m, "1h");
        return cdl_adapter_rest_parse(a, m, &q, text, len, &res);
    }
    int s = cdl_adapter_session_new(a, m, m->ws_url, 1);
    int rc = cdl_adapter_parse(a, s, text, len, &res);
    cdl_adapter_session_free(a, s);
    return rc;
}

/* A copy of the parts of res that say what a seed parsed to (items copied out of the scratch). */
struct snapshot {
    int rc, n, n_bad, rejected, event;
    char reason[32], message[256];
    struct cdl_parsed_candle *items;
};

static void snap(struct snapshot *sn, int rc)
{
    sn->rc = rc;
    sn->n = rc ? 0 : res.n;
    sn->n_bad = rc ? 0 : res.n_bad;
    sn->rejected = rc ? 0 : res.rejected;
    sn->event = rc ? 0 : (int)res.event;
    memcpy(sn->reason, res.reason, sizeof sn->reason);
    memcpy(sn->message, res.message, sizeof sn->message);
    sn->items = malloc((size_t)(sn->n + 1) * sizeof *sn->items);
    if (!sn->items)
        abort();
    if (sn->n)
        memcpy(sn->items, res.items, (size_t)sn->n * sizeof *sn->items);
}

static int snap_equal(const struct snapshot *a, const struct snapshot *b)
{
    return a->rc == b->rc && a->n == b->n && a->n_bad == b->n_bad && a->rejected == b->rejected &&
           a->event == b->event && !strcmp(a->reason, b->reason) && !strcmp(a->message, b->message) &&
           (!a->n || !memcmp(a->items, b->items, (size_t)a->n * sizeof *a->items));
}

static double adapter_errors(const char *name, const char *hook)
{
    return cdl_series_value(cdl_metrics_series(metrics, CDL_M_ADAPTER_ERRORS, name, hook));
}

static void print_case(const char *name, long i, enum fuzz_op op, const struct seed *sd, const char *why)
{
    fprintf(stderr, "  %s case %ld (seed file %s, %s, op %s, %zu bytes): %s\n  input: ", name, i, sd->file,
            sd->rest ? "REST" : "WS", fuzz_op_names[op], in.len, why);
    for (size_t k = 0; k < in.len && k < 300; k++)
        fputc(in.p[k] >= 0x20 && in.p[k] < 0x7f ? in.p[k] : '?', stderr);
    fputc('\n', stderr);
}

/* The fuzzing loop of adapter a over seeds[0..n): returns the failed cases (it stops at 5). */
static int run_cases(struct cdl_adapter *a, const char *name, const struct seed *seeds, int n, int n_rest,
                     struct stats *st)
{
    int sessions[8], failed = 0;
    int nm = cdl_adapter_n_markets(a) < 8 ? cdl_adapter_n_markets(a) : 8;
    for (int i = 0; i < nm; i++)
        sessions[i] = cdl_adapter_session_new(a, cdl_adapter_market_at(a, i), cdl_adapter_market_at(a, i)->ws_url, 1);
    struct fuzz_rng rng = { fuzz_seed(0xC0FFEE) ^ (uint64_t)strlen(name) * 0x100000001B3ULL ^ (uint64_t)name[0] };
    long cases = fuzz_iterations(WS_CASES);
    for (long i = 0; i < cases && failed < 5; i++) {
        int rest = n_rest && fuzz_below(&rng, REST_SHARE) == 0;
        const struct seed *sd, *other;
        do
            sd = &seeds[fuzz_below(&rng, (size_t)n)];
        while (sd->rest != rest);
        other = &seeds[fuzz_below(&rng, (size_t)n)];
        enum fuzz_op op = fuzz_mutate(&rng, sd->text, sd->len, other->text, other->len, &in);
        st->by_op[op]++;
        int mi = fuzz_below(&rng, 4) ? -1 : (int)fuzz_below(&rng, (size_t)nm); /* sometimes another market */
        const struct cdl_market *m = mi < 0 ? sd->m : cdl_adapter_market_at(a, mi);
        int rc;
        if (rest) {
            const struct cdl_interval *iv = cdl_interval_at((int)fuzz_below(&rng, (size_t)cdl_interval_count()));
            struct cdl_rest_query q = query_for(a, m, iv->name);
            rc = cdl_adapter_rest_parse(a, m, &q, in.p, in.len, &res);
            st->rest_cases++;
        } else {
            rc = cdl_adapter_parse(a, sessions[m->index < nm ? m->index : 0], in.p, in.len, &res);
        }
        st->cases++;
        const char *why = result_wrong(a, m, rc, st);
        if (why) {
            print_case(name, i, op, sd, why);
            failed++;
        }
    }
    for (int i = 0; i < nm; i++)
        cdl_adapter_session_free(a, sessions[i]);
    return failed;
}

/* After the fuzzing: every seed parses to what it gave before (frees the seeds and snapshots). */
static int seeds_unchanged(struct cdl_adapter *a, const char *name, struct seed *seeds, struct snapshot *before, int n)
{
    int failed = 0;
    for (int i = 0; i < n; i++) {
        struct snapshot after;
        snap(&after, parse_seed(a, seeds[i].m, seeds[i].rest, seeds[i].text, seeds[i].len));
        if (!snap_equal(&before[i], &after)) {
            fprintf(stderr, "  %s: seed %d (%s) parses differently after the fuzzing (rc %d/%d, n %d/%d)\n", name, i,
                    seeds[i].file, before[i].rc, after.rc, before[i].n, after.n);
            failed++;
        }
        free(after.items);
        free(before[i].items);
        free(seeds[i].text);
    }
    return failed;
}

static int fuzz_adapter(const char *name)
{
    struct cdl_adapter *a;
    char err[512];
    if (cdl_lua_host_load(host, name, &a, err, sizeof err)) {
        fprintf(stderr, "  load %s: %s\n", name, err);
        return -1;
    }
    static struct seed seeds[MAX_SEEDS];
    int n = 0, n_rest = 0, n_ws = 0, failed = 0;
    load_seeds(a, name, 0, seeds, &n);
    int n_recorded = n;
    load_seeds(a, name, 1, seeds, &n);
    for (int i = 0; i < n; i++)
        seeds[i].rest ? n_rest++ : n_ws++;
    if (!n_ws || (cdl_adapter_has_rest(a) && !n_rest) || n == n_recorded) {
        fprintf(stderr, "  %s: no WebSocket or REST seeds in tests/fixtures/%s, or none in tests/fixtures/sim\n", name,
                name);
        return -1;
    }
    /* What each seed parses to before any fuzzing; some must give candles, or the check is empty. */
    static struct snapshot before[MAX_SEEDS];
    int with_candles = 0;
    for (int i = 0; i < n; i++) {
        snap(&before[i], parse_seed(a, seeds[i].m, seeds[i].rest, seeds[i].text, seeds[i].len));
        with_candles += before[i].n > 0;
    }
    size_t mem_before = cdl_lua_host_collect(host);
    double err_before = adapter_errors(name, "parse") + adapter_errors(name, "rest.parse");
    struct stats st = { 0 };
    double t0 = fuzz_now();
    failed += run_cases(a, name, seeds, n, n_rest, &st);
    double secs = fuzz_now() - t0;
    double counted = adapter_errors(name, "parse") + adapter_errors(name, "rest.parse") - err_before;
    if (counted != (double)st.hook_errors) {
        fprintf(stderr, "  %s: %ld hook errors returned, %.0f counted in connector_adapter_errors_total\n", name,
                st.hook_errors, counted);
        failed++;
    }
    size_t mem_after = cdl_lua_host_collect(host);
    if (mem_after > mem_before + LEAK_BOUND) {
        fprintf(stderr, "  %s: Lua state %zu bytes before the fuzzing, %zu after a full GC (bound +%d)\n", name,
                mem_before, mem_after, LEAK_BOUND);
        failed++;
    }
    failed += seeds_unchanged(a, name, seeds, before, n);
    if (!with_candles) {
        fprintf(stderr, "  %s: no seed gives a candle\n", name);
        failed++;
    }
    fprintf(
        stderr,
        "  fuzz %-11s %ld cases (%ld REST) from %d seeds (%d simulated) in %.2f s: %ld candles (%ld misaligned), "
        "%ld refused, %ld frames rejected, %ld events, %ld empty, %ld hook errors (%ld budget); Lua %zu -> %zu bytes\n",
        name, st.cases, st.rest_cases, n, n - n_recorded, secs, st.candles, st.misaligned, st.bad_candles, st.rejected,
        st.events, st.empty, st.hook_errors, st.budget_errors, mem_before, mem_after);
    return failed ? -1 : 0;
}

static void test_fuzz_every_adapter(void)
{
    char names[32][CDL_NAME_MAX];
    int n = cdl_lua_host_list(host, names, 32);
    ASSERT(n >= 5);
    int failed = 0;
    const char *only = getenv("CDL_FUZZ_ADAPTER"); /* one adapter, for a long run */
    for (int i = 0; i < n; i++)
        if (!only || !strcmp(only, names[i]))
            failed += fuzz_adapter(names[i]) != 0;
    ASSERT_EQ(failed, 0);
}

/* Regression (found by the fuzzing): gateio cached every distinct stream name "n" it split, at
 * most 4096 of them but of any length, so 4096 frames with megabyte names filled the shared Lua
 * state's 64 MiB cap and every adapter's hooks failed with memory errors until the cache reset.
 * Names longer than the core takes are now refused before the cache. */
static void test_gateio_long_stream_names_bounded(void)
{
    struct cdl_adapter *a;
    char err[512];
    ASSERT_EQ(cdl_lua_host_load(host, "gateio", &a, err, sizeof err), 0);
    const struct cdl_market *m = cdl_adapter_market(a, "spot");
    int s = cdl_adapter_session_new(a, m, m->ws_url, 1);
    size_t before = cdl_lua_host_collect(host);
    struct fuzz_buf f = { 0 };
    for (int i = 0; i < 4200; i++) {
        f.len = 0;
        fuzz_adds(&f, "{\"time\":1606292600,\"channel\":\"spot.candlesticks\",\"event\":\"update\",\"result\":"
                      "{\"t\":\"1606292580\",\"v\":\"2362.32035\",\"c\":\"19128.1\",\"h\":\"19128.1\",\"l\":"
                      "\"19128.1\",\"o\":\"19128.1\",\"a\":\"0.123\",\"w\":true,\"n\":\"1m_BTC_USDT");
        char num[16];
        snprintf(num, sizeof num, "%d", i);
        fuzz_adds(&f, num);
        fuzz_fill(&f, 'X', 16 * 1024);
        fuzz_adds(&f, "\"}}");
        ASSERT_EQ(cdl_adapter_parse(a, s, f.p, f.len, &res), 0);
        ASSERT_EQ(res.rejected, 1);
        ASSERT_STR_EQ(res.reason, "bad_field");
    }
    free(f.p);
    size_t after = cdl_lua_host_collect(host);
    ASSERT(after < before + 256 * 1024);
    /* and the known-good name still parses, exactly */
    const char *good = "{\"time\":1606292600,\"channel\":\"spot.candlesticks\",\"event\":\"update\",\"result\":"
                       "{\"t\":\"1606292580\",\"v\":\"2362.32035\",\"c\":\"19128.1\",\"h\":\"19128.2\",\"l\":"
                       "\"19128.0\",\"o\":\"19128.1\",\"a\":\"0.123\",\"w\":true,\"n\":\"1m_BTC_USDT\"}}";
    ASSERT_EQ(cdl_adapter_parse(a, s, good, strlen(good), &res), 0);
    ASSERT_EQ(res.n, 1);
    ASSERT_STR_EQ(res.items[0].symbol, "BTC_USDT");
    ASSERT_STR_EQ(res.items[0].interval, "1m");
    ASSERT_EQ(res.items[0].c.open_time, 1606292580000);
    ASSERT_STR_EQ(res.items[0].c.high, "19128.2");
    ASSERT_STR_EQ(res.items[0].c.low, "19128.0");
    ASSERT_STR_EQ(res.items[0].c.volume, "0.123");
    ASSERT_STR_EQ(res.items[0].c.quote_volume, "2362.32035");
    ASSERT_EQ(res.items[0].c.closed, 1);
    cdl_adapter_session_free(a, s);
}

/* Regression (found by the fuzzing): binance's rest.parse indexed every element of the page, so
 * a page like [7] raised (an adapter error logged with a traceback) instead of a bad_row. */
static void test_binance_rest_row_not_an_array(void)
{
    struct cdl_adapter *a;
    char err[512];
    ASSERT_EQ(cdl_lua_host_load(host, "binance", &a, err, sizeof err), 0);
    const struct cdl_market *m = cdl_adapter_market(a, "spot");
    struct cdl_rest_query q = query_for(a, m, "1m");
    double errors = adapter_errors("binance", "rest.parse");
    static const char *const pages[] = { "[7]", "[\"x\"]", "[[1,\"1\"],true]" };
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(cdl_adapter_rest_parse(a, m, &q, pages[i], strlen(pages[i]), &res), 0);
        ASSERT_EQ(res.rejected, 1);
        ASSERT_STR_EQ(res.reason, "bad_row");
    }
    ASSERT(adapter_errors("binance", "rest.parse") == errors);
}

/* Regression (found by the fuzzing): hyperliquid read the exact text of prices sent as JSON
 * numbers with a new extractor per row over the whole page, quadratic C time the instruction
 * budget does not see (a 1 MB page of 8000 such rows held the loop 5.9 s; now 0.2 s).  Rows are
 * now read 64 at a time: the texts must stay exact across the chunk boundaries. */
static void test_hyperliquid_numeric_prices_every_row_exact(void)
{
    struct cdl_adapter *a;
    char err[512];
    ASSERT_EQ(cdl_lua_host_load(host, "hyperliquid", &a, err, sizeof err), 0);
    const struct cdl_market *m = cdl_adapter_market(a, "perp");
    struct fuzz_buf b = { 0 };
    fuzz_adds(&b, "[");
    for (int i = 0; i < 200; i++) {
        char row[256];
        long long t = 1718895600000LL + i * 3600000LL;
        snprintf(row, sizeof row,
                 "%s{\"t\":%lld,\"T\":%lld,\"s\":\"BTC\",\"i\":\"1h\",\"o\":%d.10,\"c\":\"%d.0\","
                 "\"h\":%d.50e0,\"l\":%d,\"v\":\"1.0\",\"n\":%d}",
                 i ? "," : "", t, t + 3599999, 100 + i, 100 + i, 200 + i, 50 + i, i);
        fuzz_adds(&b, row);
    }
    fuzz_adds(&b, "]");
    struct cdl_rest_query q = query_for(a, m, "1h");
    int rc = cdl_adapter_rest_parse(a, m, &q, b.p, b.len, &res);
    free(b.p);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(res.n, 200);
    for (int i = 0; i < 200; i++) {
        char o[32], h[32], l[32];
        snprintf(o, sizeof o, "%d.10", 100 + i);
        snprintf(h, sizeof h, "%d.50e0", 200 + i);
        snprintf(l, sizeof l, "%d", 50 + i);
        ASSERT_STR_EQ(res.items[i].c.open, o);
        ASSERT_STR_EQ(res.items[i].c.high, h);
        ASSERT_STR_EQ(res.items[i].c.low, l);
        ASSERT_EQ(res.items[i].c.trades, i);
    }
}

int main(void)
{
    /* a hook error is logged by the host; CDL_FUZZ_LOG=1 shows those lines */
    cdl_log_setup(getenv("CDL_FUZZ_LOG") ? CDL_LOG_ERROR : CDL_LOG_OFF, CDL_LOG_TEXT, stderr);
    metrics = cdl_metrics_create(0);
    struct cdl_lua_opts o = { .adapters_dir = CDL_SOURCE_DIR "/adapters", .lua_dir = CDL_SOURCE_DIR "/lua" };
    host = cdl_lua_host_create(&o, metrics);
    TEST_RUN(test_gateio_long_stream_names_bounded);
    TEST_RUN(test_binance_rest_row_not_an_array);
    TEST_RUN(test_hyperliquid_numeric_prices_every_row_exact);
    TEST_RUN(test_fuzz_every_adapter);
    cdl_lua_host_destroy(host);
    cdl_metrics_destroy(metrics);
    free(in.p);
    return TEST_DONE();
}

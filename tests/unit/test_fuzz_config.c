/* Mutation fuzzing of the config loader (core/lua/config.c) on config.lua texts.
 *
 * Three kinds of cases:
 *   - targeted: one schema key (every key of the schema, read from cdl_config_reference, so new
 *     keys are covered) set to a value of the wrong type, NaN (0/0), +-inf, an out-of-range or
 *     huge number, a too long string, a deep table: the load must fail with CDL_ECONFIG and a
 *     message naming the key's path ("server.port: ..."); the range's own ends must load;
 *   - unknown keys and bad entries in exchanges / subscriptions: the message names their path;
 *   - random: the repo's config.lua and a full example, mutated (fuzz.h plus Lua expressions:
 *     0/0, 2^63, -1/0, nil, {}, functions, deep tables): success with values that keep the
 *     config's promises, or CDL_ECONFIG with a message; never a crash.
 * And the regressions: a config.lua that allocates without bound (a doubling string) fails with
 * a memory message instead of eating the machine; one that loops forever is stopped. */
#include "config.h"
#include "err.h"
#include "fuzz.h"
#include "test.h"

#include <math.h>
#include <unistd.h>

#define RANDOM_CASES 6000 /* CDL_FUZZ_ITERATIONS overrides */
#define MAX_KEYS 128

static char path[64];
static int last_rc; /* of the last check_load */

struct key {
    char name[64]; /* section.key */
    char type[16]; /* integer number boolean string */
    double lo, hi; /* numbers; strings: hi = the longest text */
    int has_range;
};
static struct key keys[MAX_KEYS];
static int n_keys;

static int load_text(const char *text, size_t len, struct cdl_config *cfg, char *err, size_t errlen)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -100;
    fwrite(text, 1, len, f);
    fclose(f);
    err[0] = '\0';
    return cdl_config_load(path, cfg, err, errlen);
}

/* The schema's keys from the generated reference ("| `server.port` | integer | `8765` | 0 .. 65535 | ..."),
 * and no CONNECTOR_* variable left to override what the file says. */
static void read_schema(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cdl_config_reference(f);
    fclose(f);
    for (char *line = strtok(text, "\n"); line && n_keys < MAX_KEYS; line = strtok(NULL, "\n")) {
        struct key *k = &keys[n_keys];
        char range[64] = "", env[64] = "";
        if (sscanf(line, "| `%63[^`]` | %15s | %*[^|]| %63[^|]| %63[^|]|", k->name, k->type, range, env) < 2)
            continue;
        k->has_range = sscanf(range, "%lf .. %lf", &k->lo, &k->hi) == 2;
        char *e = strchr(env, '`');
        if (e) {
            char *end = strchr(e + 1, '`');
            if (end) {
                *end = '\0';
                unsetenv(e + 1);
            }
        }
        n_keys++;
    }
    free(text);
}

/* What a successful load must hold whatever the file said, or NULL. */
static const char *config_wrong(const struct cdl_config *c)
{
    if (c->server_port < 0 || c->server_port > 65535 || c->health_port < 0 || c->health_port > 65535)
        return "port out of range";
    if (!memchr(c->log_level, '\0', sizeof c->log_level) || !memchr(c->server_host, '\0', sizeof c->server_host))
        return "string not terminated";
    if (!isfinite(c->inactivity_timeout) || c->inactivity_timeout <= 0 || !isfinite(c->linger_seconds) ||
        c->linger_seconds < 0 || !isfinite(c->rest_budget_fraction) || c->rest_budget_fraction <= 0)
        return "number not finite or out of range";
    if (c->n_subs < 0 || c->n_subs > CDL_CFG_MAX_SUBS || c->n_overrides < 0 || c->n_overrides > CDL_CFG_MAX_OVERRIDES)
        return "counts out of range";
    for (int i = 0; i < c->n_subs; i++) {
        const struct cdl_subscription *s = &c->subs[i];
        if (!s->exchange[0] || !s->interval[0] || s->n_symbols < 1 || s->n_symbols > CDL_CFG_MAX_SYMBOLS)
            return "subscription incomplete";
        for (int k = 0; k < s->n_symbols; k++)
            if (!s->symbols[k] || !s->symbols[k][0] || strlen(s->symbols[k]) >= 64)
                return "bad subscription symbol";
    }
    return NULL;
}

/* Loads text and checks: if `must_name` the load fails naming it; success keeps the promises. */
static int check_load(const char *text, size_t len, const char *must_name, int must_ok, char *why, size_t whylen)
{
    struct cdl_config *c = malloc(sizeof *c);
    char err[1024];
    if (!c)
        abort();
    int rc = last_rc = load_text(text, len, c, err, sizeof err);
    why[0] = '\0';
    const char *w = NULL;
    if (rc != 0 && rc != CDL_ECONFIG)
        w = "unexpected return code";
    else if (rc && (!err[0] || !memchr(err, '\0', sizeof err)))
        w = "error without a message";
    else if (rc && strncmp(err, path, strlen(path)))
        w = "the message does not start with the file's path";
    else if (!rc && must_name)
        w = "loaded, should have failed";
    else if (rc && must_ok)
        w = "failed, should have loaded";
    else if (rc && must_name && !strstr(err, must_name))
        w = "the message does not name the key";
    else if (!rc)
        w = config_wrong(c);
    if (w)
        snprintf(why, whylen, "%s (rc %d: %s)", w, rc, rc ? err : "ok");
    cdl_config_free(c);
    free(c);
    return w ? -1 : 0;
}

static void show(const char *what, long i, const char *text, size_t len, const char *why)
{
    fprintf(stderr, "  %s case %ld (%zu bytes): %s\n  input: ", what, i, len, why);
    for (size_t k = 0; k < len && k < 300; k++)
        fputc(text[k] >= 0x20 && text[k] < 0x7f ? text[k] : '?', stderr);
    fputc('\n', stderr);
}

/* `return { <section> = { <key> = <value> } }` */
static void one_key(struct fuzz_buf *b, const char *name, const char *value)
{
    const char *dot = strchr(name, '.');
    b->len = 0;
    fuzz_adds(b, "return { ");
    fuzz_add(b, name, (size_t)(dot - name));
    fuzz_adds(b, " = { ");
    fuzz_adds(b, dot + 1);
    fuzz_adds(b, " = ");
    fuzz_adds(b, value);
    fuzz_adds(b, " } }\n");
}

static void deep_table(struct fuzz_buf *b, int depth)
{
    for (int i = 0; i < depth; i++)
        fuzz_adds(b, "{");
    for (int i = 0; i < depth; i++)
        fuzz_adds(b, "}");
}

static void test_every_key_bad_values(void)
{
    static const char *const not_number[] = { "\"8\"", "true", "{}", "function() end", "{ 1, 2 }" };
    static const char *const bad_number[] = { "0/0",
                                              "-(0/0)",
                                              "1/0",
                                              "-1/0",
                                              "1e308 * 10",
                                              "2^63",
                                              "-2^63",
                                              "9223372036854775807",
                                              "-9223372036854775807 - 1",
                                              "1e300" };
    static const char *const not_string[] = { "8", "true", "{}", "{ 'a' }", "function() end", "0/0" };
    static const char *const not_bool[] = { "1", "0", "\"true\"", "{}", "0/0" };
    struct fuzz_buf b = { 0 }, v = { 0 };
    char why[1400];
    long cases = 0, failed = 0;
    ASSERT(n_keys > 30);
    for (int i = 0; i < n_keys && failed < 5; i++) {
        const struct key *k = &keys[i];
        int num = !strcmp(k->type, "integer") || !strcmp(k->type, "number");
        const char *const *bad = num ? not_number : !strcmp(k->type, "string") ? not_string : not_bool;
        int nbad = num ? 5 : !strcmp(k->type, "string") ? 6 : 5;
        for (int j = 0; j < nbad + (num ? 10 : 0) + 3; j++, cases++) {
            v.len = 0;
            if (j < nbad)
                fuzz_adds(&v, bad[j]);
            else if (j < nbad + (num ? 10 : 0))
                fuzz_adds(&v, bad_number[j - nbad]);
            else if (j == nbad + (num ? 10 : 0))
                deep_table(&v, 150);
            else if (num) { /* just outside the range, below and above (the reference prints %g:
                             * ends are known to 6 digits, hence the relative margin) */
                char t[64];
                double lo = k->lo - fmax(!strcmp(k->type, "integer") ? 1 : 1e-9, fabs(k->lo) * 1e-5);
                double hi = k->hi + fmax(1, fabs(k->hi) * 1e-5);
                snprintf(t, sizeof t, !strcmp(k->type, "integer") ? "%.0f" : "%.17g", j == nbad + 11 ? lo : hi);
                fuzz_adds(&v, t);
            } else if (!strcmp(k->type, "string")) { /* longer than any string key takes */
                fuzz_adds(&v, "\"");
                fuzz_fill(&v, 'a', j == nbad + 1 ? 1100 : 5000);
                fuzz_adds(&v, "\"");
            } else {
                fuzz_adds(&v, j == nbad + 1 ? "nil + 1" : "'yes'");
            }
            one_key(&b, k->name, v.p);
            /* a Lua runtime error (nil + 1) names the file, not the key; a long text says so */
            const char *name = strstr(v.p, "nil +")            ? path
                               : v.len > 1000 && v.p[0] == '"' ? "text longer than"
                                                               : k->name;
            if (v.len > 1000 && v.p[0] == '"' && check_load(b.p, b.len, k->name, 0, why, sizeof why)) {
                show(k->name, j, b.p, b.len, why);
                failed++;
            }
            if (check_load(b.p, b.len, name, 0, why, sizeof why)) {
                show(k->name, j, b.p, b.len, why);
                failed++;
            }
        }
        if (num && k->has_range) { /* the range's ends load (the upper one just inside: see above) */
            char lo[64], hi[64];
            snprintf(lo, sizeof lo, "%.17g", k->lo);
            if (!strcmp(k->type, "integer"))
                snprintf(hi, sizeof hi, "%.0f", floor(k->hi * (1 - 1e-5)));
            else
                snprintf(hi, sizeof hi, "%.17g", k->hi * (1 - 1e-5));
            for (int e = 0; e < 2; e++, cases++) {
                one_key(&b, k->name, e ? hi : lo);
                if (check_load(b.p, b.len, NULL, 1, why, sizeof why)) {
                    show(k->name, e, b.p, b.len, why);
                    failed++;
                }
            }
        }
    }
    fprintf(stderr, "  fuzz config: %ld targeted cases on %d schema keys\n", cases, n_keys);
    free(b.p);
    free(v.p);
    ASSERT_EQ(failed, 0);
}

static void test_unknown_keys_and_bad_entries(void)
{
    static const struct {
        const char *text, *names;
    } cases[] = {
        { "return { server = { bogus_key = 1 } }", "server.bogus_key: unknown key" },
        { "return { bogus = {} }", "bogus: unknown key" },
        { "return { server = 1 }", "server: expected a table" },
        { "return { [1] = {} }", "top-level keys must be names" },
        { "return { server = { [1] = 2 } }", "server.?: unknown key" },
        { "return 42", "must return a table" },
        { "return { exchanges = { binance = { spot = { ws_url = 7 } } } }", "exchanges.binance.spot.ws_url" },
        { "return { exchanges = { binance = { spot = { wsurl = 'ws://x' } } } }",
          "exchanges.binance.spot.wsurl: unknown key" },
        { "return { exchanges = { binance = { spot = 'x' } } }", "exchanges.binance.spot: expected a table" },
        { "return { exchanges = { binance = { [3] = {} } } }", "exchanges.binance.?: expected a table" },
        { "return { subscriptions = { { exchange = 'binance', symbols = { 'A', 7 } } } }",
          "subscriptions[1].symbols[2]" },
        { "return { subscriptions = { { exchange = 'binance', symbols = {} } } }", "subscriptions[1].symbols" },
        { "return { subscriptions = { { exchange = 'binance', symbols = { 'A' } }, 5 } }",
          "subscriptions[2]: expected a table" },
        { "return { subscriptions = { { symbols = { 'A' } } } }",
          "subscriptions[1]: exchange and symbols are required" },
        { "return { subscriptions = { { exchange = 'binance', symbols = { 'A' }, color = 'red' } } }",
          "subscriptions[1].color: unknown key" },
        { "return { subscriptions = { { exchange = 'binance', symbols = { 'A' }, interval = 0/0 } } }",
          "subscriptions[1].interval" },
        { "return { subscriptions = { { exchange = 'binance', symbols = { ('x'):rep(70) } } } }",
          "attempt to index a string value" },
        { "return { subscriptions = { { exchange = 'binance', symbols = { '" /* 64 characters */
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' } } } }",
          "subscriptions[1].symbols[1]" },
        { "return { server = { port = 80.5 } }", "server.port: expected an integer" },
        { "return { log = { level = 'info\\0x' } }", "log.level: text contains a NUL byte" },
        { "return { exchanges = { okx = { spot = { ws_url = 'ws://a\\0' } } } }", "exchanges.okx.spot.ws_url" },
        { "return { subscriptions = { { exchange = 'binance', symbols = { '\\0' } } } }",
          "subscriptions[1].symbols[1]" },
        { "return { subscriptions = { { exchange = 'binance', interval = '1m\\0', symbols = { 'A' } } } }",
          "subscriptions[1].interval" },
        { "return { server = { port = ", "unexpected symbol near <eof>" },
        { "return {{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{"
          "{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{"
          "{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{",
          "C stack overflow" },
    };
    char why[1400];
    int failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (check_load(cases[i].text, strlen(cases[i].text), cases[i].names, 0, why, sizeof why)) {
            show("entry", (long)i, cases[i].text, strlen(cases[i].text), why);
            failed++;
        }
    ASSERT_EQ(failed, 0);
}

/* Regression (found by the fuzzing): config.lua ran with no memory cap, so a doubling string
 * (40 steps, far below the instruction budget) allocated until the machine ran out; 30 steps
 * took 1.8 GB and the config was "ok".  Now a memory error names the cap. */
static void test_memory_and_time_bombs(void)
{
    char why[1400];
    const char *bomb = "local s = 'x' for i = 1, 40 do s = s .. s end return { server = { host = s } }";
    ASSERT_EQ(check_load(bomb, strlen(bomb), "uses more than 256 MiB of memory", 0, why, sizeof why), 0);
    const char *table_bomb = "local t = {} for i = 1, 1e9 do t[i] = i end return {}";
    ASSERT_EQ(check_load(table_bomb, strlen(table_bomb), path, 0, why, sizeof why), 0); /* memory or budget */
    const char *loop = "while true do end return {}";
    ASSERT_EQ(check_load(loop, strlen(loop), "ran too long", 0, why, sizeof why), 0);
    /* and the biggest legitimate config still loads: 64 subscriptions of 4096 symbols */
    struct fuzz_buf b = { 0 };
    fuzz_adds(&b, "return { subscriptions = {\n");
    for (int s = 0; s < CDL_CFG_MAX_SUBS; s++) {
        fuzz_adds(&b, "{ exchange = 'binance', symbols = {");
        for (int k = 0; k < CDL_CFG_MAX_SYMBOLS; k++) {
            char sym[80];
            snprintf(sym, sizeof sym, "'S%02d_%04d_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',", s, k);
            fuzz_adds(&b, sym);
        }
        fuzz_adds(&b, "} },\n");
    }
    fuzz_adds(&b, "} }\n");
    struct cdl_config *c = malloc(sizeof *c);
    char err[1024];
    int rc = load_text(b.p, b.len, c, err, sizeof err);
    free(b.p);
    if (rc)
        fprintf(stderr, "  largest config: %s\n", err);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(c->n_subs, CDL_CFG_MAX_SUBS);
    ASSERT_EQ(c->subs[63].n_symbols, CDL_CFG_MAX_SYMBOLS);
    ASSERT_STR_EQ(c->subs[63].symbols[4095], "S63_4095_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    cdl_config_free(c);
    free(c);
}

static const char full_config[] =
    "-- every section\n"
    "return {\n"
    "  server = { host = \"0.0.0.0\", port = 8765, health_port = 8766, health_enabled = true, max_clients = 100,\n"
    "             linger_seconds = 5.5, max_requests_per_sec = 50 },\n"
    "  connection = { inactivity_timeout = 3.0 },\n"
    "  log = { level = 'debug', format = \"text\" },\n"
    "  lua = { memory_limit_mb = 64, instruction_budget = 1000000 },\n"
    "  rest = { budget_fraction = 0.5, budgets = false },\n"
    "  exchanges = { binance = { spot = { ws_url = \"ws://127.0.0.1:9001/ws\", rest_url = \"http://127.0.0.1:9001\" } },\n"
    "                okx = { swap = { ws_url = 'ws://[::1]:1/ws/v5/business' } } },\n"
    "  subscriptions = {\n"
    "    { exchange = \"binance\", market = \"spot\", symbols = { \"BTCUSDT\", \"ETHUSDT\" }, interval = \"1m\" },\n"
    "    { exchange = 'okx', symbols = { 'BTC-USDT-SWAP' }, interval = '1h' },\n"
    "  },\n"
    "}\n";

/* Lua expressions for a number or a value of the random cases. */
static const char *const lua_values[] = {
    "0/0",
    "1/0",
    "-1/0",
    "2^63",
    "-2^63",
    "1e308*10",
    "math.huge",
    "#{}",
    "nil",
    "{}",
    "{{}}",
    "function() end",
    "...",
    "'x' .. 1",
    "true",
    "false",
    "-0.0",
    "0x7fffffffffffffff",
    "0x10p4",
    "[[long]]",
    "\"\\0\"",
    "\"\\xff\"",
    "\"\\u{7FFFFFFF}\"",
    "('x'):rep(3)",
    "{ [0/0 ~= 0/0 and 1 or 2] = 1 }",
    "setmetatable({}, {})",
    "tostring(1)",
};
#define N_LUA_VALUES (sizeof lua_values / sizeof lua_values[0])

static void test_fuzz_random(void)
{
    char *seed0;
    size_t len0;
    {
        char p[1200];
        snprintf(p, sizeof p, "%s/config.lua", CDL_SOURCE_DIR);
        FILE *f = fopen(p, "rb");
        ASSERT(f != NULL);
        static char text[8192];
        len0 = fread(text, 1, sizeof text - 1, f);
        text[len0] = '\0';
        fclose(f);
        seed0 = text;
    }
    const char *seeds[2] = { seed0, full_config };
    size_t lens[2] = { len0, sizeof full_config - 1 };
    char why[1400];
    for (int s = 0; s < 2; s++) /* both seeds load as they are */
        if (check_load(seeds[s], lens[s], NULL, 1, why, sizeof why)) {
            show("seed", s, seeds[s], lens[s], why);
            ASSERT(0);
        }
    struct fuzz_rng rng = { fuzz_seed(0xC0FFEE) ^ 0x434647 };
    struct fuzz_buf in = { 0 }, tmp = { 0 };
    static struct fuzz_span t[FUZZ_MAX_TOKENS];
    long cases = fuzz_iterations(RANDOM_CASES), failed = 0, loaded = 0;
    double t0 = fuzz_now();
    for (long i = 0; i < cases && failed < 5; i++) {
        int s = (int)fuzz_below(&rng, 2);
        if (fuzz_below(&rng, 3)) {
            fuzz_mutate(&rng, seeds[s], lens[s], seeds[1 - s], lens[1 - s], &in);
        } else { /* a Lua value where a number, string or name was, maybe a deep table */
            int n = fuzz_tokens(seeds[s], lens[s], t, FUZZ_MAX_TOKENS);
            int k = fuzz_pick_token(&rng, t, n, fuzz_below(&rng, 2) ? FT_NUMBER : FT_STRING);
            tmp.len = 0;
            if (fuzz_below(&rng, 8) == 0)
                deep_table(&tmp, 1 + (int)fuzz_below(&rng, 300));
            else
                fuzz_adds(&tmp, lua_values[fuzz_below(&rng, N_LUA_VALUES)]);
            fuzz_replace(&in, seeds[s], lens[s], k < 0 ? 0 : t[k].off, k < 0 ? 0 : t[k].len, tmp.p, tmp.len);
        }
        if (check_load(in.p, in.len, NULL, 0, why, sizeof why)) {
            show("config", i, in.p, in.len, why);
            failed++;
        }
        loaded += last_rc == 0;
    }
    fprintf(stderr, "  fuzz config: %ld random cases in %.2f s: %ld loaded, %ld refused with a message\n", cases,
            fuzz_now() - t0, loaded, cases - loaded);
    free(in.p);
    free(tmp.p);
    ASSERT_EQ(failed, 0);
}

int main(void)
{
    snprintf(path, sizeof path, "/tmp/cdl_fuzz_config_%d.lua", (int)getpid());
    read_schema();
    TEST_RUN(test_every_key_bad_values);
    TEST_RUN(test_unknown_keys_and_bad_entries);
    TEST_RUN(test_memory_and_time_bombs);
    TEST_RUN(test_fuzz_random);
    unlink(path);
    return TEST_DONE();
}

/* Unit tests for config.c: defaults, config.lua values, CONNECTOR_* overrides and precedence, and
 * errors that name the key's path. */
#include "config.h"
#include "err.h"
#include "test.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "feed.h"

static char path[64];
/* The build tree's data: share/candled/{adapters,lua} beside the test binaries, symlinks into
 * the source tree (core/datadir.h), canonical. */
static char src_adapters[4096], src_lua[4096];

static int load_text(const char *text, struct cdl_config *cfg, char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return cdl_config_load(path, cfg, err, errlen);
}

static void test_defaults(void)
{
    struct cdl_config c;
    char err[256];
    unsetenv("CONNECTOR_WSS_PORT");
    ASSERT_EQ(cdl_config_load(NULL, &c, err, sizeof err), 0);
    ASSERT_STR_EQ(c.server_host, "127.0.0.1");
    ASSERT_EQ(c.server_port, 8765);
    ASSERT_EQ(c.health_port, 8766);
    ASSERT_EQ(c.health_enabled, 1);
    ASSERT_EQ(c.max_symbol_per_ws, 50);
    ASSERT_EQ(c.closed_queue_maxsize, 1000);
    ASSERT_EQ(c.dedup_max_entries, 10000);
    ASSERT(c.cb_recovery_timeout == 30.0);
    ASSERT(c.inactivity_timeout == 3.0);
    ASSERT_STR_EQ(c.log_level, "info");
    ASSERT_STR_EQ(c.adapters_dir, src_adapters);
    ASSERT_STR_EQ(c.lua_dir, src_lua);
    cdl_config_free(&c);
}

static void test_file_and_env(void)
{
    struct cdl_config c;
    char err[256];
    setenv("CONNECTOR_WSS_PORT", "9000", 1);
    setenv("CONNECTOR_WSS_HEALTH_CHECK_ENABLED", "false", 1);
    int rc = load_text(
        "return { server = { port = 1234, health_port = 4321 },\n"
        "  connection = { max_symbol_per_ws = 7 },\n"
        "  exchanges = { binance = { spot = { ws_url = 'ws://127.0.0.1:1/ws' } } },\n"
        "  subscriptions = { { exchange = 'binance', symbols = { 'BTCUSDT', 'ETHUSDT' } },\n"
        "                    { exchange = 'binance', market = 'usdm', symbols = { 'X' }, interval = '1h' } } }\n",
        &c, err, sizeof err);
    unsetenv("CONNECTOR_WSS_PORT");
    unsetenv("CONNECTOR_WSS_HEALTH_CHECK_ENABLED");
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(c.server_port, 9000); /* environment beats the file */
    ASSERT_EQ(c.health_port, 4321);
    ASSERT_EQ(c.health_enabled, 0);
    ASSERT_EQ(c.max_symbol_per_ws, 7);
    ASSERT_EQ(c.n_subs, 2);
    ASSERT_STR_EQ(c.subs[0].exchange, "binance");
    ASSERT_STR_EQ(c.subs[0].market, "");
    ASSERT_STR_EQ(c.subs[0].interval, "1m");
    ASSERT_EQ(c.subs[0].n_symbols, 2);
    ASSERT_STR_EQ(c.subs[0].symbols[1], "ETHUSDT");
    ASSERT_STR_EQ(c.subs[1].interval, "1h");
    const struct cdl_exchange_override *o = cdl_config_override(&c, "binance", "spot");
    ASSERT(o != NULL);
    ASSERT_STR_EQ(o->ws_url, "ws://127.0.0.1:1/ws");
    ASSERT_STR_EQ(o->rest_url, "");
    ASSERT(cdl_config_override(&c, "binance", "usdm") == NULL);
    ASSERT_STR_EQ(c.adapters_dir, src_adapters); /* no /tmp/adapters: the source tree's */
    cdl_config_free(&c);
}

static void expect_error(const char *text, const char *want)
{
    struct cdl_config c;
    char err[512], full[600];
    int rc = load_text(text, &c, err, sizeof err);
    cdl_config_free(&c);
    snprintf(full, sizeof full, "%s: %s", path, want);
    if (rc != CDL_ECONFIG || strcmp(err, full))
        TEST_FAIL_("config %s\n    got      %d \"%s\"\n    expected \"%s\"", text, rc, err, full);
}

static void test_errors_name_the_path(void)
{
    expect_error("return { server = { prot = 1 } }", "server.prot: unknown key");
    expect_error("return { sevrer = {} }", "sevrer: unknown key");
    expect_error("return { server = { port = 'x' } }", "server.port: expected an integer, got string");
    expect_error("return { server = { port = 70000 } }",
                 "server.port: expected an integer number in [0, 65535], got '70000'");
    expect_error("return { server = { port = 1.5 } }", "server.port: expected an integer, got 1.5");
    expect_error("return { server = { health_enabled = 1 } }", "server.health_enabled: expected a boolean, got number");
    expect_error("return { subscriptions = { { exchange = 'binance', symbols = {} } } }",
                 "subscriptions[1].symbols: expected a non-empty array of strings");
    expect_error("return { subscriptions = { { exchange = 'binance', symbols = { 'A' }, intervl = '1m' } } }",
                 "subscriptions[1].intervl: unknown key (expected exchange, market, symbols, interval)");
    expect_error("return { exchanges = { binance = { spot = { wsurl = 'x' } } } }",
                 "exchanges.binance.spot.wsurl: unknown key (expected ws_url or rest_url)");
    expect_error("return 5", "must return a table");
    struct cdl_config c;
    char err[512];
    /* data only: no libraries, and an endless loop is stopped */
    ASSERT_EQ(load_text("return { log = { level = os.getenv('X') } }", &c, err, sizeof err), CDL_ECONFIG);
    ASSERT(strstr(err, "global 'os'") != NULL);
    cdl_config_free(&c);
    ASSERT_EQ(load_text("while true do end", &c, err, sizeof err), CDL_ECONFIG);
    ASSERT(strstr(err, "ran too long") != NULL);
    cdl_config_free(&c);
    setenv("CONNECTOR_MAX_SYMBOL_PER_WS", "zero", 1);
    ASSERT_EQ(cdl_config_load(NULL, &c, err, sizeof err), CDL_ECONFIG);
    unsetenv("CONNECTOR_MAX_SYMBOL_PER_WS");
    ASSERT_STR_EQ(
        err,
        "CONNECTOR_MAX_SYMBOL_PER_WS: connection.max_symbol_per_ws: expected an integer number in [1, 100000], got 'zero'");
    cdl_config_free(&c);
}

/* The breaker keys: fractional recovery timeouts (fast tests), the 300 s cap, the environment. */
static void test_circuit_breaker_keys(void)
{
    struct cdl_config c;
    char err[512];
    ASSERT_EQ(load_text("return { circuit_breaker = { failure_threshold = 2, recovery_timeout = 0.25,\n"
                        "  half_open_calls = 3 } }",
                        &c, err, sizeof err),
              0);
    ASSERT_EQ(c.cb_failure_threshold, 2);
    ASSERT(c.cb_recovery_timeout == 0.25);
    ASSERT_EQ(c.cb_half_open_calls, 3);
    cdl_config_free(&c);
    setenv("CONNECTOR_CIRCUIT_BREAKER_RECOVERY_TIMEOUT", "0.05", 1);
    setenv("CONNECTOR_CIRCUIT_BREAKER_FAILURE_THRESHOLD", "7", 1);
    int rc = cdl_config_load(NULL, &c, err, sizeof err);
    unsetenv("CONNECTOR_CIRCUIT_BREAKER_RECOVERY_TIMEOUT");
    unsetenv("CONNECTOR_CIRCUIT_BREAKER_FAILURE_THRESHOLD");
    ASSERT_EQ(rc, 0);
    ASSERT(c.cb_recovery_timeout == 0.05);
    ASSERT_EQ(c.cb_failure_threshold, 7);
    cdl_config_free(&c);
    expect_error("return { circuit_breaker = { recovery_timeout = 301 } }",
                 "circuit_breaker.recovery_timeout: expected a number in [0.01, 300], got '301'");
    expect_error("return { circuit_breaker = { recovery_timeout = 0.001 } }",
                 "circuit_breaker.recovery_timeout: expected a number in [0.01, 300], got '0.001'");
    expect_error("return { circuit_breaker = { half_open_calls = 0 } }",
                 "circuit_breaker.half_open_calls: expected an integer number in [1, 100], got '0'");
}

static void test_shipped_config(void)
{
    struct cdl_config c;
    char err[512];
    ASSERT_EQ(cdl_config_load(CDL_SOURCE_DIR "/config.lua", &c, err, sizeof err), 0);
    ASSERT(c.n_subs >= 1);
    ASSERT_STR_EQ(c.adapters_dir, CDL_SOURCE_DIR "/adapters");
    cdl_config_free(&c);
}

/* A reload applies some keys and reports the others. */
static void test_reload_keys(void)
{
    struct cdl_config *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    char err[256], keys[8][48];
    ASSERT_EQ(load_text("return { server = { port = 1, linger_seconds = 2 }, log = { level = 'info' },\n"
                        "  subscriptions = { { exchange = 'binance', symbols = { 'BTCUSDT' } } } }",
                        a, err, sizeof err),
              0);
    ASSERT_EQ(
        load_text("return { server = { port = 2, linger_seconds = 9, max_clients = 7 }, log = { level = 'warn' },\n"
                  "  exchanges = { binance = { spot = { ws_url = 'ws://x/ws' } } },\n"
                  "  subscriptions = { { exchange = 'okx', symbols = { 'A-B', 'C-D' } } } }",
                  b, err, sizeof err),
        0);
    ASSERT_EQ(cdl_config_restart_keys(a, a, keys, 8), 0);
    ASSERT_EQ(cdl_config_restart_keys(a, b, keys, 8), 2);
    ASSERT_STR_EQ(keys[0], "server.port");
    ASSERT_STR_EQ(keys[1], "server.max_clients");
    ASSERT_EQ(cdl_config_restart_keys(a, b, keys, 1), 1); /* at most max */
    cdl_config_apply_reload(a, b);
    ASSERT_EQ(a->server_port, 1); /* needs a restart: the running value stays */
    ASSERT_EQ(a->max_clients, 10000);
    ASSERT(a->linger_seconds == 9.0);
    ASSERT_STR_EQ(a->log_level, "warn");
    ASSERT_EQ(a->n_overrides, 1);
    ASSERT_STR_EQ(a->overrides[0].ws_url, "ws://x/ws");
    ASSERT_EQ(a->n_subs, 1);
    ASSERT_STR_EQ(a->subs[0].exchange, "okx");
    ASSERT_EQ(a->subs[0].n_symbols, 2);
    ASSERT_STR_EQ(a->subs[0].symbols[1], "C-D");
    ASSERT_EQ(b->n_subs, 0); /* moved, not copied */
    cdl_config_free(a);
    cdl_config_free(b);
    free(a);
    free(b);
}

/* Directories: adapters/ copied beside config.lua (no lua/ there) still find the SDK; a lua/
 * holding the SDK beside them is taken. */
static void test_directories(void)
{
    char dir[64], sub[96], cfgp[96], sdk[128];
    snprintf(dir, sizeof dir, "/tmp/cdl_config_dir_%d", (int)getpid());
    snprintf(sub, sizeof sub, "%s/adapters", dir);
    snprintf(cfgp, sizeof cfgp, "%s/config.lua", dir);
    ASSERT_EQ(mkdir(dir, 0700), 0);
    ASSERT_EQ(mkdir(sub, 0700), 0);
    FILE *f = fopen(cfgp, "w");
    fputs("return {}", f);
    fclose(f);
    struct cdl_config c;
    char err[256];
    ASSERT_EQ(cdl_config_load(cfgp, &c, err, sizeof err), 0);
    ASSERT_STR_EQ(c.adapters_dir, sub);
    ASSERT_STR_EQ(c.lua_dir, src_lua);
    cdl_config_free(&c);
    snprintf(sdk, sizeof sdk, "%s/lua", dir);
    ASSERT_EQ(mkdir(sdk, 0700), 0);
    snprintf(sdk, sizeof sdk, "%s/lua/candled", dir);
    ASSERT_EQ(mkdir(sdk, 0700), 0);
    snprintf(sdk, sizeof sdk, "%s/lua/candled/adapter.lua", dir);
    f = fopen(sdk, "w");
    fputs("return {}", f);
    fclose(f);
    ASSERT_EQ(cdl_config_load(cfgp, &c, err, sizeof err), 0);
    snprintf(sdk, sizeof sdk, "%s/lua", dir);
    ASSERT_STR_EQ(c.lua_dir, sdk);
    cdl_config_free(&c);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ASSERT_EQ(system(cmd), 0);
}

/* CONNECTOR_ADAPTER_DIR and CONNECTOR_LUA_DIR beat the file's keys (environment > config.lua)
 * and the executable's data; the SDK still comes from the executable's data when the adapters'
 * directory has no lua/ beside it. */
static void test_directory_environment(void)
{
    struct cdl_config c;
    char err[256];
    setenv("CONNECTOR_ADAPTER_DIR", "/nonexistent/a", 1);
    int rc = load_text("return { lua = { adapters_dir = '/from/file' } }", &c, err, sizeof err);
    ASSERT_EQ(rc, 0);
    ASSERT_STR_EQ(c.adapters_dir, "/nonexistent/a");
    ASSERT_STR_EQ(c.lua_dir, src_lua);
    cdl_config_free(&c);
    setenv("CONNECTOR_LUA_DIR", "/nonexistent/sdk", 1);
    rc = load_text("return { lua = { sdk_dir = '/from/file' } }", &c, err, sizeof err);
    unsetenv("CONNECTOR_ADAPTER_DIR");
    unsetenv("CONNECTOR_LUA_DIR");
    ASSERT_EQ(rc, 0);
    ASSERT_STR_EQ(c.lua_dir, "/nonexistent/sdk");
    cdl_config_free(&c);
    ASSERT_EQ(load_text("return { lua = { adapters_dir = '/from/file' } }", &c, err, sizeof err), 0);
    ASSERT_STR_EQ(c.adapters_dir, "/from/file");
    cdl_config_free(&c);
}

/* sequencer.confirm_inferred: one of three words, into the feed options. */
static void test_confirm_inferred(void)
{
    expect_error("return { sequencer = { confirm_inferred = 'sometimes' } }",
                 "sequencer.confirm_inferred: expected adapter, always or never, got 'sometimes'");
    struct cdl_config c;
    struct cdl_feed_opts fo = { 0 };
    char err[256];
    ASSERT_EQ(cdl_config_load(NULL, &c, err, sizeof err), 0);
    cdl_feed_opts_config(&c, &fo);
    ASSERT_EQ(fo.confirm_inferred, -1);
    cdl_config_free(&c);
    setenv("CONNECTOR_CONFIRM_INFERRED", "never", 1);
    ASSERT_EQ(cdl_config_load(NULL, &c, err, sizeof err), 0);
    unsetenv("CONNECTOR_CONFIRM_INFERRED");
    cdl_feed_opts_config(&c, &fo);
    ASSERT_EQ(fo.confirm_inferred, 0);
    cdl_config_free(&c);
    ASSERT_EQ(load_text("return { sequencer = { confirm_inferred = 'always', hold_seconds = 5 } }", &c, err,
                        sizeof err),
              0);
    cdl_feed_opts_config(&c, &fo);
    ASSERT_EQ(fo.confirm_inferred, 1);
    ASSERT_EQ(fo.hold_ms, 5000);
    cdl_config_free(&c);
}

int main(void)
{
    snprintf(path, sizeof path, "/tmp/cdl_config_%d.lua", (int)getpid());
    if (!realpath(CDL_SOURCE_DIR "/adapters", src_adapters) || !realpath(CDL_SOURCE_DIR "/lua", src_lua))
        return 1;
    TEST_RUN(test_defaults);
    TEST_RUN(test_file_and_env);
    TEST_RUN(test_errors_name_the_path);
    TEST_RUN(test_circuit_breaker_keys);
    TEST_RUN(test_shipped_config);
    TEST_RUN(test_reload_keys);
    TEST_RUN(test_directories);
    TEST_RUN(test_directory_environment);
    TEST_RUN(test_confirm_inferred);
    unlink(path);
    return TEST_DONE();
}

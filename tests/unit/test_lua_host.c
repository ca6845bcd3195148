/* Unit tests for lua_host.c: loading and contract checks, the sandbox, the instruction budget and
 * memory cap, and the strict conversion of what hooks return.  Test adapters are written to a
 * temporary directory by the test itself. */
#include "err.h"
#include "lua_host.h"
#include "metrics.h"
#include "test.h"

#include <stdlib.h>
#include <unistd.h>

static char dir[256];

static void write_adapter(const char *name, const char *body)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.lua", dir, name);
    FILE *f = fopen(path, "w");
    fputs(body, f);
    fclose(f);
}

#define MARKETS                                                                                                        \
    "markets = { { name = 'spot', aliases = { 'cash' }, ws_url = 'wss://x.test/ws',"                                   \
    " rest_url = 'https://x.test', max_streams = 3, max_sends_per_sec = 4 },"                                          \
    " { name = 'perp', ws_url = 'wss://y.test/ws', intervals = { ['1h'] = '60' } } },"                                 \
    " intervals = { ['1m'] = 'M1', ['1h'] = 'H1' },"

static const char good_adapter[] =
    "return { name = 'good', " MARKETS
    " symbol = function(m, s) if s:find('^[A-Z]+$') then return s end return nil, 'letters only' end,"
    " subscribe = function(sess, streams) local out = {}"
    "   for i, s in ipairs(streams) do out[i] = 'sub ' .. s.symbol .. '@' .. s.interval end return out end,"
    " ping = function(sess) return 'ping' end,"
    " parse = function(sess, frame)"
    "   sess.n = (sess.n or 0) + 1"
    "   if frame == 'count' then return { { symbol = 'X', interval = 'M1', open_time = sess.n * 60000 + 1700000000000,"
    "     open = '1', high = '1', low = '1', close = '1', volume = '0' } } end"
    "   if frame == 'ack' then return { event = 'ack' } end"
    "   if frame == 'keep' then sess.fn = print sess.t = { x = 'y', deep = { 1, 2, 3 } } return {} end"
    "   if frame == 'kept' then return { { symbol = 'X', interval = 'M1', open_time = 1700000040000, open = '1',"
    "     high = '1', low = '1', close = '1', volume = tostring(#sess.t.deep) .. sess.t.x:len(),"
    "     closed = sess.fn == nil } } end"
    "   if frame == 'err' then return { event = 'error', message = 'no such symbol' } end"
    "   if frame == 'bogus_event' then return { event = 'bogus' } end"
    "   if frame == 'garbage' then return nil, 'bad json!' end"
    "   if frame == 'raise' then error('boom') end"
    "   if frame == 'loop' then while true do end end"
    "   if frame == 'hog' then local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1024) .. i end end"
    "   if frame == 'number' then return 42 end"
    "   if frame == 'escape' then getmetatable('').__index.upper = nil end"
    "   if frame == 'io' then return io.open('/etc/passwd') end"
    "   if frame == 'req' then return require('os') end"
    "   if frame == 'sentinel' then return { { symbol = 'X', open_time = 1700000040000, open = '1', high = '1',"
    "     low = '1', close = '1', volume = '1', trades = -1 }, { symbol = 'X', open_time = 1700000040000,"
    "     open = '1', high = '1', low = '1', close = '1', volume = '1', close_time = -1 } } end"
    "   if frame == 'many' then local t = {} for i = 1, 70 do t[i] = { symbol = 'X', open_time = 1700000040000,"
    "     open = '1', high = '1', low = '1', close = '1', volume = '1' } end return t end"
    "   return {"
    "     { symbol = 'BTCUSDT', interval = 'M1', open_time = 1700000040000, open = '0.35270000', high = '0.35280000',"
    "       low = '0.35220000', close = '0.35280000', volume = '25877.00000000', closed = true,"
    "       close_time = 1700000099999.0, quote_volume = '9116.04600000', trades = 30 },"
    "     { symbol = 'BTCUSDT', open_time = 1700000040000, open = 0.5, high = '1', low = '1', close = '1', volume = '1' },"
    "     { symbol = 'BTCUSDT', open_time = 1700000040000, open = '01', high = '1', low = '1', close = '1', volume = '1' },"
    "     { symbol = 'BTCUSDT', open_time = 12, open = '1', high = '1', low = '1', close = '1', volume = '1' },"
    "     { symbol = 'BTCUSDT', open_time = 1700000040000, open = 7, high = '1', low = '1', close = '1', volume = '1',"
    "       closed = 'yes' },"
    "     'not a table',"
    "     { symbol = 'ETHUSDT', open_time = 1700000040000, open = 7, high = '1e-8', low = '-1', close = '1', volume = '1' },"
    "   } end,"
    " rest = { request = function(m, q) return { url = q.base_url .. '/k?s=' .. q.symbol .. '&i=' .. q.interval"
    "   .. '&from=' .. q.start_ms .. '&n=' .. q.limit, headers = { 'Accept: application/json' } } end,"
    "   parse = function(m, q, body) if body == '[]' then return {} end return nil, 'bad_body' end },"
    "}\n";

static struct cdl_metrics *metrics;

static struct cdl_lua_host *host(size_t mem, long budget)
{
    struct cdl_lua_opts o = { .adapters_dir = dir, .lua_dir = dir, .memory_limit = mem, .instruction_budget = budget };
    return cdl_lua_host_create(&o, metrics);
}

static void collect(void *user, const char *frame, size_t len)
{
    char *out = user;
    strncat(out, frame, len);
    strcat(out, "|");
}

static void test_load_and_markets(void)
{
    struct cdl_lua_host *h = host(0, 0);
    struct cdl_adapter *a;
    char err[512] = "";
    ASSERT_EQ(cdl_lua_host_load(h, "good", &a, err, sizeof err), 0);
    ASSERT_STR_EQ(cdl_adapter_name(a), "good");
    ASSERT_EQ(cdl_adapter_n_markets(a), 2);
    const struct cdl_market *spot = cdl_adapter_market(a, NULL);
    ASSERT_STR_EQ(spot->name, "spot");
    ASSERT(cdl_adapter_market(a, "cash") == spot);
    ASSERT(cdl_adapter_market(a, "nope") == NULL);
    ASSERT_EQ(spot->max_streams, 3);
    ASSERT_EQ(spot->idle_timeout, 60);
    ASSERT_EQ(spot->max_connection_age, 0); /* no limit unless the adapter says */
    ASSERT_STR_EQ(cdl_adapter_interval(a, spot, "1m"), "M1");
    ASSERT(cdl_adapter_interval(a, spot, "5m") == NULL);
    const struct cdl_market *perp = cdl_adapter_market(a, "perp");
    ASSERT(cdl_adapter_interval(a, perp, "1m") == NULL);
    ASSERT_STR_EQ(cdl_adapter_interval(a, perp, "1h"), "60");
    ASSERT_STR_EQ(cdl_adapter_interval_canonical(a, spot, "H1"), "1h");
    ASSERT(cdl_adapter_has_rest(a));
    struct cdl_adapter *again;
    ASSERT_EQ(cdl_lua_host_load(h, "good", &again, err, sizeof err), 0);
    ASSERT(again == a);
    char names[32][CDL_NAME_MAX];
    int n = cdl_lua_host_list(h, names, 32);
    ASSERT(n >= 2);
    ASSERT_STR_EQ(names[0], "bad_name");
    cdl_lua_host_destroy(h);
}

static void test_load_errors(void)
{
    struct cdl_lua_host *h = host(0, 0);
    struct cdl_adapter *a;
    char err[512];
    ASSERT_EQ(cdl_lua_host_load(h, "missing", &a, err, sizeof err), CDL_ENOTFOUND);
    ASSERT(strstr(err, "unknown exchange 'missing'") != NULL);
    ASSERT_EQ(cdl_lua_host_load(h, "../etc", &a, err, sizeof err), CDL_EINVAL);
    ASSERT_EQ(cdl_lua_host_load(h, "bad_name", &a, err, sizeof err), CDL_EINVAL);
    ASSERT_STR_EQ(err, "adapter 'bad_name': name must be \"bad_name\" (the file name)");
    ASSERT_EQ(cdl_lua_host_load(h, "syntax", &a, err, sizeof err), CDL_ELUA);
    ASSERT(strstr(err, "syntax.lua:2: unexpected symbol near <eof>") != NULL);
    ASSERT_EQ(cdl_lua_host_load(h, "sandbox", &a, err, sizeof err), CDL_ELUA);
    ASSERT(strstr(err, "global 'io'") != NULL);
    ASSERT_EQ(cdl_lua_host_load(h, "badiv", &a, err, sizeof err), CDL_EINVAL);
    ASSERT_STR_EQ(err, "adapter 'badiv': markets[1].intervals has a key that is not a canonical interval: 1min");
    ASSERT_EQ(cdl_lua_host_load(h, "nomarket", &a, err, sizeof err), CDL_EINVAL);
    ASSERT_STR_EQ(err, "adapter 'nomarket': markets[1].ws_url is missing or invalid");
    ASSERT_EQ(cdl_lua_host_load(h, "badage", &a, err, sizeof err), CDL_EINVAL);
    ASSERT_STR_EQ(err, "adapter 'badage': markets[1].max_connection_age is missing or invalid");
    ASSERT_EQ(cdl_lua_host_load(h, "x_aliases", &a, err, sizeof err), CDL_EINVAL);
    ASSERT_STR_EQ(err, "adapter 'x_aliases': markets[1].aliases: at most 4");
    ASSERT_EQ(cdl_lua_host_load(h, "noparse", &a, err, sizeof err), CDL_EINVAL);
    ASSERT_STR_EQ(err, "adapter 'noparse': parse must be a function");
    ASSERT_EQ(cdl_lua_host_load(h, "norequire", &a, err, sizeof err), CDL_ELUA);
    ASSERT(strstr(err, "module 'os' is not available to adapters") != NULL);
    static const char *const budget_bad[][2] = {
        { "w_rows", "rest_max_rows" },      { "w_rate", "rest_weight_per_minute" },
        { "w_burst", "rest_weight_burst" }, { "w_order", "rest_weight" },
        { "w_zero", "rest_weight" },        { "w_shape", "rest_weight" },
        { "w_type", "rest_weight" },        { "w_nan", "idle_timeout" },
    };
    for (int i = 0; i < 8; i++) {
        char want[160];
        ASSERT_EQ(cdl_lua_host_load(h, budget_bad[i][0], &a, err, sizeof err), CDL_EINVAL);
        snprintf(want, sizeof want, "adapter '%s': markets[1].%s is missing or invalid", budget_bad[i][0],
                 budget_bad[i][1]);
        ASSERT_STR_EQ(err, want);
    }
    cdl_lua_host_destroy(h);
}

static struct cdl_adapter *load_good(struct cdl_lua_host *h)
{
    struct cdl_adapter *a = NULL;
    char err[512];
    if (cdl_lua_host_load(h, "good", &a, err, sizeof err))
        fprintf(stderr, "load: %s\n", err);
    return a;
}

static void test_parse_conversion(void)
{
    struct cdl_lua_host *h = host(0, 0);
    struct cdl_adapter *a = load_good(h);
    ASSERT(a);
    const struct cdl_market *m = cdl_adapter_market(a, NULL);
    int s = cdl_adapter_session_new(a, m, m->ws_url, 1);
    struct cdl_parse_result r;
    ASSERT_EQ(cdl_adapter_parse(a, s, "candles", 7, &r), 0);
    ASSERT_EQ(r.n, 2);
    ASSERT_EQ(r.n_bad, 5);
    ASSERT_STR_EQ(r.bad_reason, "bad_open");
    struct cdl_parsed_candle *c = &r.items[0];
    ASSERT_STR_EQ(c->symbol, "BTCUSDT");
    ASSERT_STR_EQ(c->interval, "M1");
    ASSERT_EQ(c->c.open_time, 1700000040000);
    ASSERT_STR_EQ(c->c.open, "0.35270000");
    ASSERT_STR_EQ(c->c.volume, "25877.00000000");
    ASSERT_STR_EQ(c->c.quote_volume, "9116.04600000");
    ASSERT_EQ(c->c.close_time, 1700000099999);
    ASSERT_EQ(c->c.trades, 30);
    ASSERT_EQ(c->c.closed, 1);
    c = &r.items[1];
    ASSERT_STR_EQ(c->symbol, "ETHUSDT");
    ASSERT_STR_EQ(c->interval, "");
    ASSERT_STR_EQ(c->c.open, "7");
    ASSERT_STR_EQ(c->c.high, "1e-8");
    ASSERT_EQ(c->c.closed, -1);
    ASSERT_EQ(c->c.trades, -1);
    ASSERT_EQ(c->c.close_time, -1);
    ASSERT_STR_EQ(c->c.quote_volume, "");
    /* -1 is the core's "absent"; an adapter that means absent says nil, so -1 is refused */
    ASSERT_EQ(cdl_adapter_parse(a, s, "sentinel", 8, &r), 0);
    ASSERT_EQ(r.n, 0);
    ASSERT_EQ(r.n_bad, 2);
    ASSERT_STR_EQ(r.bad_reason, "bad_trades");
    cdl_adapter_session_free(a, s);
    cdl_lua_host_destroy(h);
}

static void test_events_and_rejections(void)
{
    struct cdl_lua_host *h = host(0, 0);
    struct cdl_adapter *a = load_good(h);
    ASSERT(a);
    const struct cdl_market *m = cdl_adapter_market(a, NULL);
    int s = cdl_adapter_session_new(a, m, m->ws_url, 1);
    struct cdl_parse_result r;
    ASSERT_EQ(cdl_adapter_parse(a, s, "ack", 3, &r), 0);
    ASSERT_EQ(r.event, CDL_EV_ACK);
    ASSERT_EQ(r.n, 0);
    ASSERT_EQ(cdl_adapter_parse(a, s, "err", 3, &r), 0);
    ASSERT_EQ(r.event, CDL_EV_ERROR);
    ASSERT_STR_EQ(r.message, "no such symbol");
    ASSERT_EQ(cdl_adapter_parse(a, s, "garbage", 7, &r), 0);
    ASSERT(r.rejected);
    ASSERT_STR_EQ(r.reason, "bad_json_");
    ASSERT_EQ(cdl_adapter_parse(a, s, "nothing", 7, &r), 0); /* falls through to the candle list */
    ASSERT_EQ(cdl_adapter_parse(a, s, "bogus_event", 11, &r), CDL_ELUA);
    ASSERT_EQ(cdl_adapter_parse(a, s, "number", 6, &r), CDL_ELUA);
    ASSERT_EQ(cdl_adapter_parse(a, s, "many", 4, &r), 0);
    ASSERT_EQ(r.n, CDL_PARSE_MAX);
    ASSERT_EQ(r.n_bad, 70 - CDL_PARSE_MAX);
    ASSERT_STR_EQ(r.bad_reason, "too_many_candles");
    /* session state is per session and persists between calls */
    int s2 = cdl_adapter_session_new(a, m, m->ws_url, 2);
    ASSERT_EQ(cdl_adapter_parse(a, s2, "count", 5, &r), 0);
    ASSERT_EQ(r.items[0].c.open_time, 1700000000000 + 60000);
    ASSERT_EQ(cdl_adapter_parse(a, s2, "count", 5, &r), 0);
    ASSERT_EQ(r.items[0].c.open_time, 1700000000000 + 120000);
    cdl_adapter_session_free(a, s);
    cdl_adapter_session_free(a, s2);
    cdl_lua_host_destroy(h);
}

static void test_faults_are_contained(void)
{
    struct cdl_metrics *saved = metrics;
    metrics = cdl_metrics_create(0);
    struct cdl_lua_host *h = host((size_t)8 << 20, 200000);
    struct cdl_adapter *a = load_good(h);
    ASSERT(a);
    const struct cdl_market *m = cdl_adapter_market(a, NULL);
    int s = cdl_adapter_session_new(a, m, m->ws_url, 1);
    struct cdl_parse_result r;
    ASSERT_EQ(cdl_adapter_parse(a, s, "raise", 5, &r), CDL_ELUA);
    ASSERT_EQ(cdl_adapter_parse(a, s, "loop", 4, &r), CDL_EBUDGET);
    ASSERT_EQ(cdl_adapter_parse(a, s, "hog", 3, &r), CDL_EBUDGET);
    ASSERT_EQ(cdl_adapter_parse(a, s, "escape", 6, &r), CDL_ELUA);
    ASSERT_EQ(cdl_adapter_parse(a, s, "io", 2, &r), CDL_ELUA);
    ASSERT_EQ(cdl_adapter_parse(a, s, "req", 3, &r), CDL_ELUA);
    /* still fully working afterwards, and memory went back under the cap */
    ASSERT_EQ(cdl_adapter_parse(a, s, "ack", 3, &r), 0);
    ASSERT_EQ(r.event, CDL_EV_ACK);
    ASSERT(cdl_lua_host_memory(h) < ((size_t)8 << 20));
    ASSERT_EQ(cdl_series_value(cdl_metrics_series(metrics, CDL_M_ADAPTER_ERRORS, "good", "parse")), 6);
    /* the string library the host uses was not modified */
    char out[64], err[128];
    ASSERT_EQ(cdl_adapter_symbol(a, m, "BTC", out, sizeof out, err, sizeof err), 0);
    ASSERT_STR_EQ(out, "BTC");
    ASSERT_EQ(cdl_adapter_symbol(a, m, "btc-1", out, sizeof out, err, sizeof err), CDL_EINVAL);
    ASSERT_STR_EQ(err, "letters only");
    cdl_adapter_session_free(a, s);
    cdl_lua_host_destroy(h);
    cdl_metrics_destroy(metrics);
    metrics = saved;
}

static void test_frames_and_rest(void)
{
    struct cdl_lua_host *h = host(0, 0);
    struct cdl_adapter *a = load_good(h);
    ASSERT(a);
    const struct cdl_market *m = cdl_adapter_market(a, NULL);
    int s = cdl_adapter_session_new(a, m, m->ws_url, 1);
    struct cdl_stream_ref refs[2] = { { "BTC", "M1" }, { "ETH", "M1" } };
    char out[256] = "";
    ASSERT_EQ(cdl_adapter_subscribe(a, s, refs, 2, 0, collect, out), 0);
    ASSERT_STR_EQ(out, "sub BTC@M1|sub ETH@M1|");
    out[0] = '\0';
    ASSERT_EQ(cdl_adapter_subscribe(a, s, refs, 2, 1, collect, out), 0); /* no unsubscribe hook: nothing */
    ASSERT_STR_EQ(out, "");
    ASSERT_EQ(cdl_adapter_ping(a, s, collect, out), 0);
    ASSERT_STR_EQ(out, "ping|");
    char url[256];
    ASSERT_EQ(cdl_adapter_connect_url(a, s, refs, 2, url, sizeof url), 0);
    ASSERT_STR_EQ(url, "wss://x.test/ws");

    struct cdl_rest_query q = { "BTC", "M1", 1700000000000, 1700000600000, 500, "http://127.0.0.1:9" };
    struct cdl_rest_req req;
    ASSERT_EQ(cdl_adapter_rest_request(a, m, &q, &req), 0);
    ASSERT_STR_EQ(req.url, "http://127.0.0.1:9/k?s=BTC&i=M1&from=1700000000000&n=500");
    ASSERT_STR_EQ(req.method, "GET");
    ASSERT_STR_EQ(req.headers[0], "Accept: application/json");
    ASSERT(req.headers[1] == NULL);
    ASSERT(req.body == NULL);
    cdl_rest_req_clear(&req);
    struct cdl_parse_result r;
    ASSERT_EQ(cdl_adapter_rest_parse(a, m, &q, "[]", 2, &r), 0);
    ASSERT_EQ(r.n, 0);
    ASSERT(!r.rejected);
    ASSERT_EQ(cdl_adapter_rest_parse(a, m, &q, "{", 1, &r), 0);
    ASSERT(r.rejected);
    ASSERT_STR_EQ(r.reason, "bad_body");
    cdl_adapter_session_free(a, s);
    cdl_lua_host_destroy(h);
}

/* A reload moves a session to another host: the adapter's plain fields come along. */
static void test_session_migrate(void)
{
    struct cdl_lua_host *h1 = host(0, 0), *h2 = host(0, 0);
    struct cdl_adapter *a1 = load_good(h1), *a2 = load_good(h2);
    ASSERT(a1 && a2);
    const struct cdl_market *m1 = cdl_adapter_market(a1, NULL), *m2 = cdl_adapter_market(a2, "perp");
    int s1 = cdl_adapter_session_new(a1, m1, m1->ws_url, 7);
    struct cdl_parse_result r;
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(cdl_adapter_parse(a1, s1, "count", 5, &r), 0);
    ASSERT_EQ(r.items[0].c.open_time, 3 * 60000 + 1700000000000LL);
    ASSERT_EQ(cdl_adapter_parse(a1, s1, "keep", 4, &r), 0);
    int s2 = cdl_adapter_session_migrate(a1, s1, a2, m2, "wss://moved.test/ws", 7);
    ASSERT(s2 > 0);
    cdl_adapter_session_free(a1, s1);
    cdl_lua_host_destroy(h1);                                /* nothing of the old state is needed any more */
    ASSERT_EQ(cdl_adapter_parse(a2, s2, "count", 5, &r), 0); /* sess.n went on from 4 */
    ASSERT_EQ(r.items[0].c.open_time, 5 * 60000 + 1700000000000LL);
    ASSERT_EQ(cdl_adapter_parse(a2, s2, "kept", 4, &r), 0); /* nested tables copied, the function not */
    ASSERT_EQ(r.n, 1);
    ASSERT_STR_EQ(r.items[0].c.volume, "31");
    ASSERT_EQ(r.items[0].c.closed, 1);
    char url[256];
    ASSERT_EQ(cdl_adapter_connect_url(a2, s2, NULL, 0, url, sizeof url), 0); /* the core's fields are new */
    ASSERT_STR_EQ(url, "wss://moved.test/ws");
    cdl_adapter_session_free(a2, s2);
    cdl_lua_host_destroy(h2);
}

/* The REST budget fields: defaults (no budget, weight 1), a number, a table by limit. */
static void test_rest_budget_fields(void)
{
    struct cdl_lua_host *h = host(0, 0);
    struct cdl_adapter *a = load_good(h);
    ASSERT(a);
    const struct cdl_market *m = cdl_adapter_market(a, NULL);
    ASSERT(m->rest_weight_per_minute == 0 && m->rest_weight_burst == 0);
    ASSERT(cdl_market_rest_weight(m, 500) == 1);
    char err[512] = "";
    ASSERT_EQ(cdl_lua_host_load(h, "w_table", &a, err, sizeof err), 0);
    m = cdl_adapter_market(a, NULL);
    ASSERT(m->rest_weight_per_minute == 1200 && m->rest_weight_burst == 40);
    ASSERT_EQ(m->n_rest_weights, 2);
    ASSERT(cdl_market_rest_weight(m, 1) == 1.5 && cdl_market_rest_weight(m, 10) == 1.5);
    ASSERT(cdl_market_rest_weight(m, 11) == 3 && cdl_market_rest_weight(m, 9999) == 3);
    ASSERT_EQ(cdl_lua_host_load(h, "w_number", &a, err, sizeof err), 0);
    ASSERT(cdl_market_rest_weight(cdl_adapter_market(a, NULL), 10000) == 20);
    cdl_lua_host_destroy(h);
}

/* market_of: the market a symbol names, NULL when the adapter cannot tell or breaks the contract. */
/* A page's rows by open time; rows with the same open time keep their page order. */
static void test_row_order(void)
{
    static struct cdl_parse_result res;
    res.items = res.fixed;
    static const int64_t asc[] = { 1, 2, 2, 5 }, hostile[] = { 5, 3, 9, 3, 1, 3 };
    res.n = 4;
    for (int i = 0; i < 4; i++)
        res.items[i].c.open_time = asc[i];
    ASSERT(cdl_parse_result_order(&res) == NULL); /* in order: nothing to do */
    res.n = 6;
    for (int i = 0; i < 6; i++) {
        res.items[i].c.open_time = hostile[i];
        snprintf(res.items[i].c.close, sizeof res.items[i].c.close, "%d", i);
    }
    int *o = cdl_parse_result_order(&res);
    ASSERT(o != NULL);
    static const int want[] = { 4, 1, 3, 5, 0, 2 }; /* 1, the three 3s in page order, 5, 9 */
    for (int i = 0; i < 6; i++)
        ASSERT_EQ(o[i], want[i]);
    free(o);
}

static void test_market_of(void)
{
    struct cdl_lua_host *h = host(0, 0);
    struct cdl_adapter *a, *good;
    char err[512] = "";
    ASSERT_EQ(cdl_lua_host_load(h, "inferred", &a, err, sizeof err), 0);
    ASSERT(cdl_adapter_has_market_of(a));
    ASSERT(cdl_adapter_market_of(a, "X-PERP") == cdl_adapter_market(a, "perp"));
    ASSERT(cdl_adapter_market_of(a, "X-CASH") == cdl_adapter_market(a, "spot")); /* an alias */
    ASSERT(cdl_adapter_market_of(a, "X") == NULL);                               /* nil: cannot tell */
    ASSERT(cdl_adapter_market_of(a, "X-OPT") == NULL);                           /* no such market */
    ASSERT(cdl_adapter_market_of(a, "X-NUM") == NULL);                           /* not a string */
    ASSERT(cdl_adapter_market_of(a, "X-RAISE") == NULL);                         /* raised */
    ASSERT_EQ(cdl_lua_host_load(h, "good", &good, err, sizeof err), 0);
    ASSERT(!cdl_adapter_has_market_of(good));
    ASSERT(cdl_adapter_market_of(good, "X-PERP") == NULL);
    ASSERT_EQ(cdl_lua_host_load(h, "badhook", &a, err, sizeof err), CDL_EINVAL);
    ASSERT_STR_EQ(err, "adapter 'badhook': market_of must be a function");
    cdl_lua_host_destroy(h);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/cdl_lua_host_XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    write_adapter("good", good_adapter);
    write_adapter("bad_name", "return { name = 'other', " MARKETS " subscribe = print, parse = print }");
    write_adapter("syntax", "return { name = \n");
    write_adapter("sandbox", "local f = io.open('/etc/passwd')\nreturn {}");
    write_adapter("badiv", "return { name = 'badiv', markets = { { name = 'spot', ws_url = 'wss://x' } },"
                           " intervals = { ['1min'] = '1' }, subscribe = function() end, parse = function() end }");
    write_adapter("nomarket", "return { name = 'nomarket', markets = { { name = 'spot' } }, intervals = {['1m']='1'},"
                              " subscribe = function() end, parse = function() end }");
    write_adapter("badage", "return { name = 'badage', markets = { { name = 'spot', ws_url = 'wss://x',"
                            " max_connection_age = -1 } }, intervals = {['1m']='1'},"
                            " subscribe = function() end, parse = function() end }");
    write_adapter("x_aliases", "return { name = 'x_aliases', markets = { { name = 'spot', ws_url = 'wss://x',"
                               " aliases = { 'a', 'b', 'c', 'd', 'e' } } }, intervals = {['1m']='1'},"
                               " subscribe = function() end, parse = function() end }");
    write_adapter("noparse", "return { name = 'noparse', " MARKETS " subscribe = function() end }");
    write_adapter("norequire", "local os = require('os')\nreturn {}");
    write_adapter("inferred",
                  "return { name = 'inferred', " MARKETS " subscribe = function() end, parse = function() end,"
                  " market_of = function(s) local k = s:match('%-(%u+)$')"
                  "   if k == 'RAISE' then error('boom') end if k == 'NUM' then return 7 end"
                  "   return k and k:lower() end }");
    write_adapter("badhook",
                  "return { name = 'badhook', " MARKETS " subscribe = function() end, parse = function() end,"
                  " market_of = 'spot' }");
    static const char *const budget[][2] = {
        { "w_rows", "rest_max_rows = 10001" },
        { "w_rate", "rest_weight_per_minute = -1" },
        { "w_burst", "rest_weight_burst = 'x'" },
        { "w_order", "rest_weight = { { 100, 1 }, { 50, 2 } }" },
        { "w_zero", "rest_weight = 0" },
        { "w_shape", "rest_weight = { { 100 } }" },
        { "w_type", "rest_weight = 'heavy'" },
        { "w_table",
          "rest_weight_per_minute = 1200, rest_weight_burst = 40, rest_weight = { { 10, 1.5 }, { 100, 3 } }" },
        { "w_number", "rest_weight = 20" },
        { "w_nan", "idle_timeout = 0/0" }, /* NaN: no comparison holds, it must still be refused */
    };
    for (int i = 0; i < 10; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "return { name = '%s', markets = { { name = 'spot', ws_url = 'wss://x', %s } },"
                 " intervals = { ['1m'] = '1' }, subscribe = function() end, parse = function() end }",
                 budget[i][0], budget[i][1]);
        write_adapter(budget[i][0], text);
    }
    metrics = NULL;
    TEST_RUN(test_load_and_markets);
    TEST_RUN(test_load_errors);
    TEST_RUN(test_parse_conversion);
    TEST_RUN(test_events_and_rejections);
    TEST_RUN(test_faults_are_contained);
    TEST_RUN(test_frames_and_rest);
    TEST_RUN(test_market_of);
    TEST_RUN(test_row_order);
    TEST_RUN(test_session_migrate);
    TEST_RUN(test_rest_budget_fields);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) {
    }
    return TEST_DONE();
}

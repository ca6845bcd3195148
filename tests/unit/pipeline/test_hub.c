/* Unit tests for hub.c on the fake io layer (fake_io.h), with the real Lua host and the real
 * Binance adapter: shared upstream streams, fan-out with each subscriber's spelling, lingering,
 * pins and the resolve errors of the client protocol.  The test plays the exchange and owns time
 * (fake_run), so the linger is exact and takes no real time. */
#include "config.h"
#include "err.h"
#include "fake_io.h"
#include "hub.h"
#include "log.h"
#include "lua_host.h"
#include "metrics.h"
#include "test.h"

#include <unistd.h>

#define T FAKE_WALL0_MS
#define MINUTE 60000LL

static uv_loop_t loop; /* never run: the fake owns the timers */
static struct cdl_lua_host *host;
static struct cdl_config *cfg;
static struct cdl_metrics *metrics;
static struct cdl_rest *rest;
static struct cdl_hub *hub;

/* ---- subscribers ---------------------------------------------------------------------------------- */

struct client {
    char got[16][400]; /* quote or gap JSON, in order */
    int n;
};

static void on_quote(void *user, const struct cdl_quote_meta *meta, const struct cdl_candle *c,
                     const struct cdl_gap *gap)
{
    struct client *cl = user;
    if (cl->n == 16)
        return;
    if (c)
        cdl_quote_json(cl->got[cl->n++], sizeof cl->got[0], meta, c);
    else
        cdl_gap_json(cl->got[cl->n++], sizeof cl->got[0], meta, gap->from, gap->to, gap->missing, gap->reason);
}

static const char *kline(const char *sym, int64_t t, int closed)
{
    static char b[512];
    snprintf(
        b, sizeof b,
        "{\"e\":\"kline\",\"E\":1,\"s\":\"%s\",\"k\":{\"t\":%lld,\"T\":%lld,\"s\":\"%s\",\"i\":\"1m\",\"o\":\"1.5\","
        "\"c\":\"1.25\",\"h\":\"2\",\"l\":\"1\",\"v\":\"10\",\"n\":3,\"x\":%s,\"q\":\"15\"}}",
        sym, (long long)t, (long long)(t + MINUTE - 1), sym, closed ? "true" : "false");
    return b;
}

static const char *quote(const char *sym, int64_t t, int closed)
{
    static char q[400];
    snprintf(q, sizeof q,
             "{\"type\":\"quote\",\"exchange\":\"binance\",\"contract_type\":\"spot\",\"symbol\":\"%s\","
             "\"interval\":\"1m\",\"timestamp\":%lld,\"open\":1.5,\"high\":2,\"low\":1,\"close\":1.25,\"volume\":10,"
             "\"is_closed\":%s,\"close_time\":%lld,\"quote_volume\":15,\"trades\":3}",
             sym, (long long)t, closed ? "true" : "false", (long long)(t + MINUTE - 1));
    return q;
}

/* ---- a hub on the fake ----------------------------------------------------------------------------- */

static void start_hub(double linger_s)
{
    fake_io_reset();
    fake_io_set_wall(T + 30000);
    metrics = cdl_metrics_create(4096);
    rest = cdl_rest_create(&loop, NULL);
    struct cdl_hub_opts o = {
        .loop = &loop, .rest = rest, .metrics = metrics, .host = host, .cfg = cfg, .linger_s = linger_s
    };
    hub = cdl_hub_create(&o);
}

/* The (binance, spot, 1m) feed of the hub. */
static struct cdl_hub_feed *spot(void)
{
    const char *code = NULL;
    char msg[256];
    struct cdl_hub_feed *hf = cdl_hub_resolve(hub, "binance", "spot", NULL, 0, "1m", &code, msg, sizeof msg);
    if (!hf)
        fprintf(stderr, "resolve: %s %s\n", code, msg);
    return hf;
}

/* Stops and frees the hub; returns the timers left behind (0: every handle closed). */
static int finish(void)
{
    cdl_hub_stop(hub);
    fake_run(0);
    cdl_hub_destroy(hub);
    cdl_rest_destroy(rest);
    fake_run(0);
    cdl_metrics_destroy(metrics);
    return fake_timers();
}

static const char *const SUB_BTC = "{\"method\":\"SUBSCRIBE\",\"params\":[\"btcusdt@kline_1m\"],\"id\":1}";

/* ---- cases ------------------------------------------------------------------------------------------ */

/* Two subscribers of one stream share one upstream stream (one subscribe frame), and each gets
 * every quote with its own spelling; the quote is counted once. */
static void test_shared_stream_fanout(void)
{
    start_hub(5);
    struct cdl_hub_feed *hf = spot();
    ASSERT(hf != NULL);
    ASSERT_STR_EQ(cdl_hub_feed_exchange(hf), "binance");
    ASSERT_STR_EQ(cdl_hub_feed_market(hf), "spot");
    ASSERT_STR_EQ(cdl_hub_feed_interval(hf), "1m");
    ASSERT_EQ(fake_up_count(), 0); /* no stream, no connection */
    static struct client a, b;
    a.n = b.n = 0;
    char msg[256];
    struct cdl_hub_sub *sa = cdl_hub_subscribe(hf, "btcusdt", on_quote, &a, msg, sizeof msg);
    struct cdl_hub_sub *sb = cdl_hub_subscribe(hf, "BTCUSDT", on_quote, &b, msg, sizeof msg);
    ASSERT(sa && sb);
    ASSERT_EQ(cdl_hub_n_streams(hub), 1);
    ASSERT_EQ(fake_up_count(), 1);
    struct cdl_upstream *u = fake_up(0);
    ASSERT_STR_EQ(u->url, "wss://stream.binance.com:9443/ws");
    fake_run(0);
    struct cdl_hub_status st[4];
    ASSERT_EQ(cdl_hub_status(hub, st, 4), 1);
    ASSERT_EQ(st[0].streams, 1);
    ASSERT_EQ(st[0].connections, 1);
    ASSERT_EQ(st[0].healthy, 0); /* a stream and no established connection */
    fake_up_open(u);
    fake_run(1000);
    ASSERT_EQ(u->n_sent, 1);
    ASSERT_STR_EQ(u->sent[0], SUB_BTC);
    /* the same feed for the default market; another market is another feed */
    const char *code;
    ASSERT(cdl_hub_resolve(hub, "binance", NULL, NULL, 0, "1m", &code, msg, sizeof msg) == hf);
    struct cdl_hub_feed *fut = cdl_hub_resolve(hub, "binance", "futures", NULL, 0, "1m", &code, msg, sizeof msg);
    ASSERT(fut != NULL && fut != hf);
    ASSERT_STR_EQ(cdl_hub_feed_market(fut), "usdm");

    fake_up_frame(u, kline("BTCUSDT", T, 0));
    ASSERT_EQ(a.n, 1);
    ASSERT_EQ(b.n, 1);
    ASSERT_STR_EQ(a.got[0], quote("btcusdt", T, 0));
    ASSERT_STR_EQ(b.got[0], quote("BTCUSDT", T, 0));
    ASSERT_STR_EQ(b.got[0],
                  "{\"type\":\"quote\",\"exchange\":\"binance\",\"contract_type\":\"spot\",\"symbol\":\"BTCUSDT\","
                  "\"interval\":\"1m\",\"timestamp\":1699999980000,\"open\":1.5,\"high\":2,\"low\":1,"
                  "\"close\":1.25,\"volume\":10,\"is_closed\":false,\"close_time\":1700000039999,"
                  "\"quote_volume\":15,\"trades\":3}");
    fake_run(30050);
    fake_up_frame(u, kline("BTCUSDT", T, 1));
    ASSERT_EQ(a.n, 2);
    ASSERT_EQ(b.n, 2);
    ASSERT_STR_EQ(a.got[1], quote("btcusdt", T, 1));
    ASSERT_STR_EQ(b.got[1], quote("BTCUSDT", T, 1));
    ASSERT_EQ(cdl_series_value(cdl_metrics_series(metrics, CDL_M_QUOTES_PROCESSED, "binance", "spot", "true")), 1);
    ASSERT_EQ(cdl_series_value(cdl_metrics_series(metrics, CDL_M_QUOTES_PROCESSED, "binance", "spot", "false")), 1);
    int n = cdl_hub_status(hub, st, 4);
    ASSERT_EQ(n, 2);
    int k = strcmp(st[0].contract_type, "spot") ? 1 : 0;
    ASSERT_STR_EQ(st[k].exchange, "binance");
    ASSERT_EQ(st[k].streams, 1);
    ASSERT_EQ(st[k].active_connections, 1);
    ASSERT_EQ(st[k].total_quotes, 2);
    ASSERT_EQ(st[k].healthy, 1);
    ASSERT_EQ(st[!k].streams, 0);
    ASSERT_EQ(st[!k].healthy, 1);
    /* one leaves: the other still gets everything, nothing is sent upstream */
    cdl_hub_unsubscribe(sa);
    fake_run(60000);
    ASSERT_EQ(u->n_sent, 1);
    fake_up_frame(u, kline("BTCUSDT", T + MINUTE, 1));
    ASSERT_EQ(a.n, 2);
    ASSERT_EQ(b.n, 3);
    ASSERT_STR_EQ(b.got[2], quote("BTCUSDT", T + MINUTE, 1));
    cdl_hub_unsubscribe(sb);
    ASSERT_EQ(finish(), 0);
}

/* The last subscriber gone, the stream stays subscribed for the linger (5 s), then an
 * unsubscribe frame goes (the pinned stream keeps the connection). */
static void test_linger_then_unsubscribe(void)
{
    start_hub(5);
    struct cdl_hub_feed *hf = spot();
    char msg[256];
    ASSERT_EQ(cdl_hub_pin(hf, "ethusdt", msg, sizeof msg), 0);
    static struct client a;
    a.n = 0;
    struct cdl_hub_sub *sa = cdl_hub_subscribe(hf, "btcusdt", on_quote, &a, msg, sizeof msg);
    ASSERT(sa != NULL);
    ASSERT_EQ(fake_up_count(), 1);
    struct cdl_upstream *u = fake_up(0);
    fake_up_open(u);
    ASSERT_EQ(u->n_sent, 1);
    ASSERT_STR_EQ(u->sent[0],
                  "{\"method\":\"SUBSCRIBE\",\"params\":[\"ethusdt@kline_1m\",\"btcusdt@kline_1m\"],\"id\":1}");
    cdl_hub_unsubscribe(sa);
    fake_run(4999);
    ASSERT_EQ(cdl_hub_n_streams(hub), 2);
    ASSERT_EQ(u->n_sent, 1);
    fake_run(1);
    ASSERT_EQ(cdl_hub_n_streams(hub), 1);
    ASSERT_EQ(u->n_sent, 2);
    ASSERT_STR_EQ(u->sent[1], "{\"method\":\"UNSUBSCRIBE\",\"params\":[\"btcusdt@kline_1m\"],\"id\":2}");
    ASSERT(!u->destroyed);
    ASSERT_EQ(a.n, 0);
    ASSERT_EQ(finish(), 0);
}

/* Subscribing again within the linger takes the stream back: no frame, no new connection, and
 * it no longer lingers out. */
static void test_resubscribe_within_linger_reuses(void)
{
    start_hub(5);
    struct cdl_hub_feed *hf = spot();
    char msg[256];
    static struct client a, b;
    a.n = b.n = 0;
    struct cdl_hub_sub *sa = cdl_hub_subscribe(hf, "btcusdt", on_quote, &a, msg, sizeof msg);
    struct cdl_upstream *u = fake_up(0);
    fake_up_open(u);
    cdl_hub_unsubscribe(sa);
    fake_run(3000);
    struct cdl_hub_sub *sb = cdl_hub_subscribe(hf, "BtcUsdt", on_quote, &b, msg, sizeof msg);
    ASSERT(sb != NULL);
    fake_run(60000);
    ASSERT_EQ(fake_up_count(), 1);
    ASSERT(!u->destroyed);
    ASSERT_EQ(u->n_sent, 1);
    ASSERT_EQ(cdl_hub_n_streams(hub), 1);
    fake_up_frame(u, kline("BTCUSDT", T + MINUTE, 0));
    ASSERT_EQ(a.n, 0);
    ASSERT_EQ(b.n, 1);
    ASSERT_STR_EQ(b.got[0], quote("BtcUsdt", T + MINUTE, 0));
    cdl_hub_unsubscribe(sb);
    ASSERT_EQ(finish(), 0);
}

/* A connection whose last stream lingers out is closed (no unsubscribe needed); the next
 * subscriber of the stream gets a new connection, subscribed anew. */
static void test_last_stream_lingers_out(void)
{
    start_hub(5);
    struct cdl_hub_feed *hf = spot();
    char msg[256];
    static struct client a;
    a.n = 0;
    struct cdl_hub_sub *sa = cdl_hub_subscribe(hf, "btcusdt", on_quote, &a, msg, sizeof msg);
    struct cdl_upstream *u = fake_up(0);
    fake_up_open(u);
    cdl_hub_unsubscribe(sa);
    fake_run(4999);
    ASSERT(!u->destroyed);
    fake_run(1);
    ASSERT(u->destroyed);
    ASSERT_EQ(u->n_sent, 1);
    ASSERT_EQ(cdl_hub_n_streams(hub), 0);
    sa = cdl_hub_subscribe(hf, "btcusdt", on_quote, &a, msg, sizeof msg);
    ASSERT(sa != NULL);
    ASSERT_EQ(fake_up_count(), 2);
    fake_up_open(fake_up(1));
    ASSERT_STR_EQ(fake_up_last(fake_up(1)), SUB_BTC);
    cdl_hub_unsubscribe(sa);
    ASSERT_EQ(finish(), 0);
}

/* Pins (config.lua subscriptions) never linger out, whatever subscribers come and go; unpinned,
 * the stream lingers like any other. */
static void test_pins_never_linger(void)
{
    start_hub(5);
    struct cdl_hub_feed *hf = spot();
    char msg[256];
    ASSERT_EQ(cdl_hub_pin(hf, "btcusdt", msg, sizeof msg), 0);
    struct cdl_upstream *u = fake_up(0);
    fake_up_open(u);
    static struct client a;
    a.n = 0;
    struct cdl_hub_sub *sa = cdl_hub_subscribe(hf, "BTCUSDT", on_quote, &a, msg, sizeof msg);
    cdl_hub_unsubscribe(sa);
    fake_run(10 * MINUTE);
    ASSERT_EQ(cdl_hub_n_streams(hub), 1);
    ASSERT(!u->destroyed);
    ASSERT_EQ(u->n_sent, 1);
    ASSERT_EQ(cdl_hub_unpin(hf, "ETHUSDT"), CDL_ENOTFOUND);
    ASSERT_EQ(cdl_hub_unpin(hf, "BTCUSDT"), 0);
    ASSERT_EQ(cdl_hub_unpin(hf, "BTCUSDT"), CDL_ENOTFOUND);
    fake_run(4999);
    ASSERT_EQ(cdl_hub_n_streams(hub), 1);
    fake_run(1);
    ASSERT_EQ(cdl_hub_n_streams(hub), 0);
    ASSERT(u->destroyed);
    ASSERT_EQ(finish(), 0);
}

/* A hub with solusdt pinned and btcusdt, ethusdt subscribed (*sb, *se) on one open connection. */
static int three_streams(double linger_s, struct cdl_hub_sub **sb, struct cdl_hub_sub **se)
{
    static struct client a;
    char msg[256];
    start_hub(linger_s);
    struct cdl_hub_feed *hf = spot();
    if (!hf || cdl_hub_pin(hf, "solusdt", msg, sizeof msg))
        return 0;
    *sb = cdl_hub_subscribe(hf, "btcusdt", on_quote, &a, msg, sizeof msg);
    *se = cdl_hub_subscribe(hf, "ethusdt", on_quote, &a, msg, sizeof msg);
    if (!*sb || !*se || fake_up_count() != 1)
        return 0;
    fake_up_open(fake_up(0));
    return 1;
}

/* Streams that stop being wanted at different times linger out each at its own time. */
static void test_linger_each_its_own_time(void)
{
    struct cdl_hub_sub *sb, *se;
    ASSERT(three_streams(5, &sb, &se));
    struct cdl_upstream *u = fake_up(0);
    cdl_hub_unsubscribe(sb);
    fake_run(2000);
    cdl_hub_unsubscribe(se);
    fake_run(3000);
    ASSERT_EQ(cdl_hub_n_streams(hub), 2);
    ASSERT_STR_EQ(fake_up_last(u), "{\"method\":\"UNSUBSCRIBE\",\"params\":[\"btcusdt@kline_1m\"],\"id\":2}");
    fake_run(1999);
    ASSERT_EQ(cdl_hub_n_streams(hub), 2);
    fake_run(1);
    ASSERT_EQ(cdl_hub_n_streams(hub), 1);
    ASSERT_STR_EQ(fake_up_last(u), "{\"method\":\"UNSUBSCRIBE\",\"params\":[\"ethusdt@kline_1m\"],\"id\":3}");
    ASSERT_EQ(finish(), 0);
}

/* A reload changes the linger (server.linger_seconds): streams lingering already go by the new
 * one, shorter or longer. */
static void test_set_linger_applies_to_lingering(void)
{
    struct cdl_hub_sub *sb, *se;
    ASSERT(three_streams(60, &sb, &se));
    cdl_hub_unsubscribe(sb);
    fake_run(1000);
    cdl_hub_set_linger(hub, 5);
    fake_run(3999);
    ASSERT_EQ(cdl_hub_n_streams(hub), 3);
    fake_run(1);
    ASSERT_EQ(cdl_hub_n_streams(hub), 2);
    cdl_hub_unsubscribe(se);
    cdl_hub_set_linger(hub, 20);
    fake_run(19999);
    ASSERT_EQ(cdl_hub_n_streams(hub), 2);
    fake_run(1);
    ASSERT_EQ(cdl_hub_n_streams(hub), 1);
    ASSERT_EQ(finish(), 0);
}

/* adapters/binance.lua with `from` replaced by `to`, as adapter "binance" of a host of its own
 * (in dir, a fresh temporary directory); NULL if that fails. */
static struct cdl_lua_host *edited_binance(char *dir, const char *from, const char *to)
{
    size_t len;
    char path[512], *text = NULL, *at;
    FILE *fp = fopen(CDL_SOURCE_DIR "/adapters/binance.lua", "rb");
    if (!fp)
        return NULL;
    text = calloc(1, 1 << 16);
    len = text ? fread(text, 1, (1 << 16) - 1, fp) : 0;
    fclose(fp);
    if (!len || !(at = strstr(text, from)) || !mkdtemp(dir)) {
        free(text);
        return NULL;
    }
    snprintf(path, sizeof path, "%s/binance.lua", dir);
    fp = fopen(path, "w");
    if (fp) {
        fprintf(fp, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
        fclose(fp);
    }
    free(text);
    struct cdl_lua_opts lo = { .adapters_dir = dir, .lua_dir = CDL_SOURCE_DIR "/lua" };
    return fp ? cdl_lua_host_create(&lo, NULL) : NULL;
}

static void remove_edited(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/binance.lua", dir);
    unlink(path);
    rmdir(dir);
}

/* Reload: the adapters of a new host take over every feed when they name every stream and every
 * client's spelling the same; the connection stays, quotes go on.  One that would rename a
 * stream is refused, and nothing changes. */
static void test_reload_host(void)
{
    start_hub(5);
    struct cdl_hub_feed *hf = spot();
    char msg[256];
    static struct client a;
    a.n = 0;
    ASSERT_EQ(cdl_hub_pin(hf, "ethusdt", msg, sizeof msg), 0);
    struct cdl_hub_sub *sa = cdl_hub_subscribe(hf, "BtcUsdt", on_quote, &a, msg, sizeof msg);
    struct cdl_upstream *u = fake_up(0);
    fake_up_open(u);

    char bad_dir[] = "/tmp/cdl_test_hub_XXXXXX";
    struct cdl_lua_host *bad = edited_binance(bad_dir, "local s = text:upper()", "local s = text:upper() .. 'X'");
    ASSERT(bad != NULL);
    ASSERT_EQ(cdl_hub_check_host(hub, bad, msg, sizeof msg), CDL_EINVAL);
    ASSERT_STR_EQ(msg, "binance spot now names 'ETHUSDT' 'ETHUSDTX' (was 'ETHUSDT'): the stream would change; "
                       "restart to apply");
    cdl_lua_host_destroy(bad);
    remove_edited(bad_dir);

    struct cdl_lua_opts lo = { .adapters_dir = CDL_SOURCE_DIR "/adapters", .lua_dir = CDL_SOURCE_DIR "/lua" };
    struct cdl_lua_host *h2 = cdl_lua_host_create(&lo, NULL);
    ASSERT_EQ(cdl_hub_check_host(hub, h2, msg, sizeof msg), 0);
    ASSERT_EQ(cdl_hub_swap_host(hub, h2), 0);
    ASSERT(!u->destroyed);
    const char *code;
    ASSERT(cdl_hub_resolve(hub, "binance", "spot", NULL, 0, "1m", &code, msg, sizeof msg) == hf);
    fake_up_frame(u, kline("BTCUSDT", T, 0));
    ASSERT_EQ(a.n, 1);
    ASSERT_STR_EQ(a.got[0], quote("BtcUsdt", T, 0));
    cdl_hub_unsubscribe(sa);
    ASSERT_EQ(finish(), 0);
    cdl_lua_host_destroy(h2);
}

/* What the client protocol answers for a request the hub cannot serve. */
static void test_resolve_errors(void)
{
    start_hub(5);
    const char *code = NULL;
    char msg[256];
    ASSERT(cdl_hub_resolve(hub, "nosuch", "spot", NULL, 0, "1m", &code, msg, sizeof msg) == NULL);
    ASSERT_STR_EQ(code, "unknown_exchange");
    ASSERT_STR_EQ(msg, "unknown exchange 'nosuch'");
    ASSERT(cdl_hub_resolve(hub, "../binance", "spot", NULL, 0, "1m", &code, msg, sizeof msg) == NULL);
    ASSERT_STR_EQ(code, "unknown_exchange");
    ASSERT(cdl_hub_resolve(hub, "binance", "options", NULL, 0, "1m", &code, msg, sizeof msg) == NULL);
    ASSERT_STR_EQ(code, "unknown_market");
    ASSERT_STR_EQ(msg, "unknown contract_type 'options' for binance");
    ASSERT(cdl_hub_resolve(hub, "binance", "spot", NULL, 0, "7m", &code, msg, sizeof msg) == NULL);
    ASSERT_STR_EQ(code, "unsupported_interval");
    ASSERT_STR_EQ(msg, "interval '7m' is not supported by binance spot");
    ASSERT(cdl_hub_resolve(hub, "binance", "usdm", NULL, 0, "1s", &code, msg, sizeof msg) == NULL);
    ASSERT_STR_EQ(code, "unsupported_interval");
    ASSERT_STR_EQ(msg, "interval '1s' is not supported by binance usdm");
    struct cdl_hub_feed *hf = spot();
    static struct client a;
    ASSERT(cdl_hub_subscribe(hf, "bad-sym", on_quote, &a, msg, sizeof msg) == NULL);
    ASSERT_STR_EQ(msg, "invalid symbol 'bad-sym' for binance spot: symbol must match [A-Z0-9_]+");
    ASSERT_EQ(cdl_hub_pin(hf, "bad-sym", msg, sizeof msg), CDL_EINVAL);
    ASSERT_EQ(cdl_hub_n_streams(hub), 0);
    ASSERT_EQ(fake_up_count(), 0);
    char sym[CDL_SYMBOL_MAX];
    ASSERT_EQ(cdl_hub_symbol(hf, "ethbtc", sym, msg, sizeof msg), 0);
    ASSERT_STR_EQ(sym, "ETHBTC");
    /* shutting down: nothing new, and a subscription released afterwards is fine */
    struct cdl_hub_sub *s = cdl_hub_subscribe(hf, "btcusdt", on_quote, &a, msg, sizeof msg);
    ASSERT(s != NULL);
    cdl_hub_stop(hub);
    ASSERT(fake_up(0)->destroyed);
    ASSERT(cdl_hub_resolve(hub, "binance", "spot", NULL, 0, "1m", &code, msg, sizeof msg) == NULL);
    ASSERT_STR_EQ(code, "unavailable");
    ASSERT_STR_EQ(msg, "the server is shutting down");
    ASSERT(cdl_hub_subscribe(hf, "btcusdt", on_quote, &a, msg, sizeof msg) == NULL);
    ASSERT_STR_EQ(msg, "the server is shutting down");
    cdl_hub_unsubscribe(s);
    ASSERT_EQ(finish(), 0);
}

/* A gap event goes to every subscriber of the stream, with its spelling. */
static void test_gap_fanout(void)
{
    start_hub(5);
    fake_io_set_wall(T + MINUTE + 50);
    struct cdl_hub_feed *hf = spot();
    char msg[256];
    static struct client a, b;
    a.n = b.n = 0;
    struct cdl_hub_sub *sa = cdl_hub_subscribe(hf, "btcusdt", on_quote, &a, msg, sizeof msg);
    struct cdl_hub_sub *sb = cdl_hub_subscribe(hf, "BTCUSDT", on_quote, &b, msg, sizeof msg);
    struct cdl_upstream *u = fake_up(0);
    fake_up_open(u);
    fake_up_frame(u, kline("BTCUSDT", T, 1));
    /* the close of T + 1 min never comes and REST fails until the hold deadline */
    for (int i = 0; i < 4 * 60 * 3; i++) {
        fake_run(250);
        for (int k = 0; k < fake_rest_count(); k++)
            if (!fake_rest(k)->done)
                fake_rest_answer(k, 500, "oops");
    }
    ASSERT(fake_rest_count() > 0);
    const char *gap = "{\"type\":\"gap\",\"exchange\":\"binance\",\"contract_type\":\"spot\",\"symbol\":\"%s\","
                      "\"interval\":\"1m\",\"from\":1700000040000,\"to\":1700000100000,\"missing\":1,"
                      "\"reason\":\"timeout\"}";
    char want[400];
    ASSERT(a.n >= 2 && b.n >= 2);
    snprintf(want, sizeof want, gap, "btcusdt");
    ASSERT_STR_EQ(a.got[1], want);
    snprintf(want, sizeof want, gap, "BTCUSDT");
    ASSERT_STR_EQ(b.got[1], want);
    cdl_hub_unsubscribe(sa);
    cdl_hub_unsubscribe(sb);
    ASSERT_EQ(finish(), 0);
}

int main(void)
{
    struct cdl_lua_opts lo = { .adapters_dir = CDL_SOURCE_DIR "/adapters", .lua_dir = CDL_SOURCE_DIR "/lua" };
    host = cdl_lua_host_create(&lo, NULL);
    cfg = calloc(1, sizeof *cfg);
    char err[512];
    if (!cfg || cdl_config_load(NULL, cfg, err, sizeof err)) {
        fprintf(stderr, "config: %s\n", err);
        return 1;
    }
    cdl_log_setup(CDL_LOG_OFF, CDL_LOG_JSON, NULL);
    TEST_RUN(test_shared_stream_fanout);
    TEST_RUN(test_linger_then_unsubscribe);
    TEST_RUN(test_resubscribe_within_linger_reuses);
    TEST_RUN(test_last_stream_lingers_out);
    TEST_RUN(test_pins_never_linger);
    TEST_RUN(test_linger_each_its_own_time);
    TEST_RUN(test_set_linger_applies_to_lingering);
    TEST_RUN(test_reload_host);
    TEST_RUN(test_resolve_errors);
    TEST_RUN(test_gap_fanout);
    cdl_config_free(cfg);
    free(cfg);
    cdl_lua_host_destroy(host);
    fake_io_reset();
    return TEST_DONE();
}

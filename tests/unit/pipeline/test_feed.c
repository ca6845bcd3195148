/* Unit tests for feed.c on the fake io layer (fake_io.h), with the real Lua host and the real
 * Binance adapter: the test plays the exchange (opens connections, sends frames, drops them) and
 * the REST server (answers or fails backfill requests), and owns time (fake_run), so every case
 * is exact and takes no real time.  What a case checks is what the sink receives, the frames the
 * feed sends, the requests it makes and the metrics it counts. */
#include "err.h"
#include "fake_io.h"
#include "feed.h"
#include "log.h"
#include "lua_host.h"
#include "metrics.h"
#include "test.h"

#include <unistd.h>

#define T FAKE_WALL0_MS /* open time of the first candle of every case */
#define MINUTE 60000LL

static uv_loop_t loop; /* never run: the fake owns the timers */
static struct cdl_lua_host *host;
static struct cdl_adapter *bn;
static struct cdl_metrics *metrics;
static struct cdl_rest *rest;

/* ---- the sink: what the consumer receives --------------------------------------------------------- */

#define MAXREC 512
struct rec {
    int64_t t;
    int closed; /* 1, 0, or -1 for a gap event */
    char json[400];
};
static struct rec recs[MAXREC];
static int n_recs;

static int on_quote(void *user, const struct cdl_quote_meta *meta, const struct cdl_candle *c, uint64_t recv_us)
{
    (void)user;
    (void)recv_us;
    if (n_recs < MAXREC) {
        recs[n_recs] = (struct rec){ .t = c->open_time, .closed = c->closed };
        cdl_quote_json(recs[n_recs++].json, sizeof recs->json, meta, c);
    }
    return 1;
}

static void on_gap(void *user, const struct cdl_quote_meta *meta, int64_t from, int64_t to, int64_t missing,
                   const char *reason)
{
    (void)user;
    if (n_recs < MAXREC) {
        recs[n_recs] = (struct rec){ .t = from, .closed = -1 };
        cdl_gap_json(recs[n_recs++].json, sizeof recs->json, meta, from, to, missing, reason);
    }
}

/* ---- the exchange's frames and rows -------------------------------------------------------------- */

static char frame_buf[1024];

/* A Binance raw kline of symbol (the exchange's name), interval iv (period ivms), open time t. */
static const char *kline_iv(const char *sym, const char *iv, int64_t ivms, int64_t t, int closed, const char *close)
{
    snprintf(frame_buf, sizeof frame_buf,
             "{\"e\":\"kline\",\"E\":%lld,\"s\":\"%s\",\"k\":{\"t\":%lld,\"T\":%lld,\"s\":\"%s\",\"i\":\"%s\","
             "\"f\":1,\"L\":2,\"o\":\"100.0\",\"c\":\"%s\",\"h\":\"101.5\",\"l\":\"99.5\",\"v\":\"12.5\",\"n\":7,"
             "\"x\":%s,\"q\":\"1250.00\",\"V\":\"1\",\"Q\":\"1\",\"B\":\"0\"}}",
             (long long)(t + 1), sym, (long long)t, (long long)(t + ivms - 1), sym, iv, close,
             closed ? "true" : "false");
    return frame_buf;
}

static const char *kline(const char *sym, int64_t t, int closed, const char *close)
{
    return kline_iv(sym, "1m", MINUTE, t, closed, close);
}

/* The quote JSON the consumer must get for kline_iv(..., t, closed, close) of user symbol sym. */
static const char *quote_iv(const char *sym, const char *iv, int64_t ivms, int64_t t, int closed, const char *close)
{
    static char q[400];
    snprintf(q, sizeof q,
             "{\"type\":\"quote\",\"exchange\":\"binance\",\"contract_type\":\"spot\",\"symbol\":\"%s\","
             "\"interval\":\"%s\",\"timestamp\":%lld,\"open\":100.0,\"high\":101.5,\"low\":99.5,\"close\":%s,"
             "\"volume\":12.5,\"is_closed\":%s,\"close_time\":%lld,\"quote_volume\":1250.00,\"trades\":7}",
             sym, iv, (long long)t, close, closed ? "true" : "false", (long long)(t + ivms - 1));
    return q;
}

static const char *quote(const char *sym, int64_t t, int closed, const char *close)
{
    return quote_iv(sym, "1m", MINUTE, t, closed, close);
}

/* A Binance REST page of n 1m rows from t, closes "100.<i+1>" (the same fields as kline()),
 * oldest first, or newest first if `newest_first`. */
static const char *page(int64_t t, int n, int newest_first)
{
    static char b[4096];
    size_t k = 0;
    b[k++] = '[';
    for (int j = 0; j < n; j++) {
        int i = newest_first ? n - 1 - j : j;
        k += (size_t)
            snprintf(b + k, sizeof b - k,
                     "%s[%lld,\"100.0\",\"101.5\",\"99.5\",\"100.%d\",\"12.5\",%lld,\"1250.00\",7,\"1\",\"1\",\"0\"]",
                     j ? "," : "", (long long)(t + i * MINUTE), i + 1, (long long)(t + (i + 1) * MINUTE - 1));
    }
    snprintf(b + k, sizeof b - k, "]");
    return b;
}

static const char *rows(int64_t t, int n) { return page(t, n, 0); }

static const char *rest_url(int64_t from, int64_t to, int limit)
{
    static char u[256];
    snprintf(u, sizeof u,
             "https://api.binance.com/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=%lld&endTime=%lld&limit=%d",
             (long long)from, (long long)(to - 1), limit);
    return u;
}

/* ---- a feed on the fake ------------------------------------------------------------------------------ */

static struct cdl_feed_opts opts(const char *interval, int per)
{
    struct cdl_feed_opts o = { .adapter = bn,
                               .market = cdl_adapter_market(bn, "spot"),
                               .interval = interval,
                               .max_streams_per_conn = per,
                               .confirm_inferred = -1 };
    return o;
}

/* A started feed of syms, the wall clock at `wall` first. */
static struct cdl_feed *start_feed(struct cdl_feed_opts *o, const char *const *syms, int n, int64_t wall)
{
    fake_io_reset();
    fake_io_set_wall((uint64_t)wall);
    n_recs = 0;
    metrics = cdl_metrics_create(4096);
    rest = cdl_rest_create(&loop, NULL);
    o->symbols = syms;
    o->n_symbols = n;
    struct cdl_feed_sink sink = { .on_quote = on_quote, .on_gap = on_gap };
    char err[256];
    int rc;
    struct cdl_feed *f = cdl_feed_create(&loop, NULL, rest, metrics, o, &sink, &rc, err, sizeof err);
    if (!f || cdl_feed_start(f)) {
        fprintf(stderr, "feed: %s\n", f ? "start failed" : err);
        exit(1);
    }
    return f;
}

/* A started feed of the one stream btcusdt, its connection open. */
static struct cdl_feed *start_btc(struct cdl_feed_opts *o, int64_t wall)
{
    static const char *const btc[] = { "btcusdt" };
    struct cdl_feed *f = start_feed(o, btc, 1, wall);
    fake_up_open(fake_up(0));
    return f;
}

/* Destroys the feed; returns the timers it left behind (0: every handle closed). */
static int finish(struct cdl_feed *f)
{
    cdl_feed_destroy(f);
    cdl_rest_destroy(rest);
    fake_run(0);
    cdl_metrics_destroy(metrics);
    return fake_timers();
}

#define M2(id) cdl_series_value(cdl_metrics_series(metrics, id, "binance", "spot"))
#define M3(id, label) cdl_series_value(cdl_metrics_series(metrics, id, "binance", "spot", label))

/* Fails every pending request, one kind of failure after another (5xx, transport error, an
 * exchange error body); returns how many. */
static int fail_pending(void)
{
    int n = 0;
    for (int i = 0; i < fake_rest_count(); i++) {
        if (fake_rest(i)->done)
            continue;
        if (i % 3 == 0)
            fake_rest_answer(i, 503, "busy");
        else if (i % 3 == 1)
            fake_rest_fail(i, CDL_EIO, "connection refused");
        else
            fake_rest_answer(i, 200, "{\"code\":-1003,\"msg\":\"Too many requests\"}");
        n++;
    }
    return n;
}

/* Runs the clock ms in steps of 250 (the feed's tick), failing every request made. */
static void run_failing(int64_t ms)
{
    for (int64_t done = 0; done < ms; done += 250) {
        fake_run(250);
        fail_pending();
    }
}

/* ---- cases ---------------------------------------------------------------------------------------- */

/* Streams are packed max_streams_per_conn to a connection; each subscribes its own once open. */
static void test_subscribe_on_open_packed(void)
{
    const char *syms[] = { "btcusdt", "ETHUSDT", "solusdt" };
    struct cdl_feed_opts o = opts("1m", 2);
    o.idle_timeout = 15;
    o.max_message = 4096;
    struct cdl_feed *f = start_feed(&o, syms, 3, T + 30000);
    ASSERT_EQ(fake_up_count(), 2);
    ASSERT_EQ(cdl_feed_n_connections(f), 2);
    for (int i = 0; i < 2; i++) {
        struct cdl_upstream *u = fake_up(i);
        ASSERT(u->started);
        ASSERT_STR_EQ(u->url, "wss://stream.binance.com:9443/ws");
        ASSERT_EQ(u->n_sent, 0);
        /* the market's pace and pings, the options' idle timeout and frame cap */
        ASSERT(u->o.max_sends_per_sec == 4 && u->o.ping_interval_s == 0);
        ASSERT(u->o.idle_timeout_s == 15 && u->o.max_message == 4096);
    }
    ASSERT_STR_EQ(fake_up(0)->name, "binance/spot#1");
    ASSERT_STR_EQ(fake_up(1)->name, "binance/spot#2");
    ASSERT_STR_EQ(fake_rest_budget_url(), "https://api.binance.com");
    ASSERT(fake_rest_budget_rate() == 6000);
    fake_up_open(fake_up(0));
    ASSERT_EQ(fake_up(0)->n_sent, 1);
    ASSERT_STR_EQ(fake_up(0)->sent[0],
                  "{\"method\":\"SUBSCRIBE\",\"params\":[\"btcusdt@kline_1m\",\"ethusdt@kline_1m\"],\"id\":1}");
    ASSERT_EQ(fake_up(1)->n_sent, 0);
    fake_up_open(fake_up(1));
    ASSERT_EQ(fake_up(1)->n_sent, 1);
    ASSERT_STR_EQ(fake_up(1)->sent[0], "{\"method\":\"SUBSCRIBE\",\"params\":[\"solusdt@kline_1m\"],\"id\":1}");
    fake_run(5000);
    ASSERT_EQ(fake_up(0)->n_sent + fake_up(1)->n_sent, 2);
    struct cdl_feed_status st;
    cdl_feed_status(f, &st);
    ASSERT_EQ(st.streams, 3);
    ASSERT_EQ(st.connections, 2);
    ASSERT_EQ(st.open_connections, 2);
    ASSERT_EQ(finish(f), 0);
    ASSERT(fake_up(0)->destroyed && fake_up(1)->destroyed);
}

/* Live adds and removes: batched (un)subscribe frames on the connection with room, a new
 * connection when all are full, a connection with nothing left is closed (no unsubscribe), and a
 * removed then re-added stream does not repeat its closed candle. */
static void test_live_add_remove(void)
{
    const char *syms[] = { "btcusdt" };
    struct cdl_feed_opts o = opts("1m", 3);
    struct cdl_feed *f = start_feed(&o, syms, 1, T + 60050);
    struct cdl_upstream *u0 = fake_up(0);
    fake_up_open(u0);
    char err[256];
    ASSERT_EQ(cdl_feed_add(f, "ethusdt", err, sizeof err), 1);
    ASSERT_EQ(cdl_feed_add(f, "solusdt", err, sizeof err), 2);
    ASSERT_EQ(u0->n_sent, 1); /* sent on the next loop turn, both in one frame */
    fake_run(0);
    ASSERT_EQ(u0->n_sent, 2);
    ASSERT_STR_EQ(u0->sent[1],
                  "{\"method\":\"SUBSCRIBE\",\"params\":[\"ethusdt@kline_1m\",\"solusdt@kline_1m\"],\"id\":2}");
    ASSERT_EQ(cdl_feed_add(f, "BTCUSDT", err, sizeof err), 0); /* the same stream: nothing changes */
    ASSERT_EQ(cdl_feed_add(f, "xrpusdt", err, sizeof err), 3); /* u0 is full: a new connection */
    ASSERT_EQ(fake_up_count(), 2);
    struct cdl_upstream *u1 = fake_up(1);
    ASSERT(u1->started);
    fake_run(0);
    ASSERT_EQ(u0->n_sent, 2);
    fake_up_open(u1);
    ASSERT_STR_EQ(fake_up_last(u1), "{\"method\":\"SUBSCRIBE\",\"params\":[\"xrpusdt@kline_1m\"],\"id\":1}");
    ASSERT_EQ(cdl_feed_add(f, "bad-sym", err, sizeof err), CDL_EINVAL);
    ASSERT_STR_EQ(err, "invalid symbol 'bad-sym' for binance spot: symbol must match [A-Z0-9_]+");

    fake_up_frame(u0, kline("ETHUSDT", T, 1, "100.1"));
    ASSERT_EQ(n_recs, 1);
    ASSERT_STR_EQ(recs[0].json, quote("ethusdt", T, 1, "100.1"));
    ASSERT_EQ(cdl_feed_remove(f, "ETHUSDT"), 0);
    ASSERT_EQ(cdl_feed_remove(f, "ethusdt"), CDL_ENOTFOUND);
    ASSERT_EQ(cdl_feed_remove(f, "dogeusdt"), CDL_ENOTFOUND);
    fake_run(0);
    ASSERT_EQ(u0->n_sent, 3);
    ASSERT_STR_EQ(u0->sent[2], "{\"method\":\"UNSUBSCRIBE\",\"params\":[\"ethusdt@kline_1m\"],\"id\":3}");
    /* in flight before the unsubscribe took effect: refused, counted */
    fake_up_frame(u0, kline("ETHUSDT", T + MINUTE, 0, "100.2"));
    ASSERT_EQ(n_recs, 1);
    ASSERT_EQ(M3(CDL_M_CANDLES_REJECTED, "unsubscribed"), 1);

    ASSERT_EQ(cdl_feed_remove(f, "xrpusdt"), 0); /* u1's last stream: u1 closes */
    fake_run(0);
    ASSERT(u1->destroyed);
    ASSERT_EQ(u1->n_sent, 1);
    ASSERT_EQ(cdl_feed_n_connections(f), 1);

    ASSERT_EQ(cdl_feed_add(f, "ethusdt", err, sizeof err), 1); /* back on u0, its old slot */
    fake_run(0);
    ASSERT_EQ(fake_up_count(), 2);
    ASSERT_STR_EQ(fake_up_last(u0), "{\"method\":\"SUBSCRIBE\",\"params\":[\"ethusdt@kline_1m\"],\"id\":4}");
    fake_up_frame(u0, kline("ETHUSDT", T, 1, "100.1")); /* already delivered before the removal */
    ASSERT_EQ(n_recs, 1);
    fake_up_frame(u0, kline("ETHUSDT", T + MINUTE, 1, "100.3"));
    ASSERT_EQ(n_recs, 2);
    ASSERT_STR_EQ(recs[1].json, quote("ethusdt", T + MINUTE, 1, "100.3"));
    ASSERT_EQ(finish(f), 0);
}

/* A pushed kline becomes the quote of interfaces.md exactly, with the user's spelling; what the
 * exchange says counts as a success of the connect attempt (cdl_upstream_accepted). */
static void test_push_becomes_quote(void)
{
    const char *syms[] = { "BtcUsdt" };
    struct cdl_feed_opts o = opts("1m", 0);
    struct cdl_feed *f = start_feed(&o, syms, 1, T + 30000);
    struct cdl_upstream *u = fake_up(0);
    fake_up_open(u);
    fake_up_frame(u, "{\"result\":null,\"id\":1}");
    ASSERT_EQ(n_recs, 0);
    ASSERT_EQ(u->accepted, 1);
    fake_up_frame(u, kline("BTCUSDT", T, 0, "100.25"));
    ASSERT_EQ(n_recs, 1);
    ASSERT_STR_EQ(recs[0].json,
                  "{\"type\":\"quote\",\"exchange\":\"binance\",\"contract_type\":\"spot\",\"symbol\":\"BtcUsdt\","
                  "\"interval\":\"1m\",\"timestamp\":1699999980000,\"open\":100.0,\"high\":101.5,\"low\":99.5,"
                  "\"close\":100.25,\"volume\":12.5,\"is_closed\":false,\"close_time\":1700000039999,"
                  "\"quote_volume\":1250.00,\"trades\":7}");
    fake_run(30050);
    fake_up_frame(u, kline("BTCUSDT", T, 1, "100.50"));
    ASSERT_EQ(n_recs, 2);
    ASSERT_STR_EQ(recs[1].json,
                  "{\"type\":\"quote\",\"exchange\":\"binance\",\"contract_type\":\"spot\",\"symbol\":\"BtcUsdt\","
                  "\"interval\":\"1m\",\"timestamp\":1699999980000,\"open\":100.0,\"high\":101.5,\"low\":99.5,"
                  "\"close\":100.50,\"volume\":12.5,\"is_closed\":true,\"close_time\":1700000039999,"
                  "\"quote_volume\":1250.00,\"trades\":7}");
    ASSERT_EQ(u->accepted, 3);
    struct cdl_feed_status st;
    cdl_feed_status(f, &st);
    ASSERT_EQ(st.frames, 3);
    ASSERT_EQ(st.errors, 0);
    ASSERT_EQ(st.last_frame_ms, T + 60050);
    ASSERT_EQ(finish(f), 0);
}

/* closed_only: the open updates never reach the sink. */
static void test_closed_only(void)
{
    const char *syms[] = { "btcusdt" };
    struct cdl_feed_opts o = opts("1m", 0);
    o.closed_only = 1;
    struct cdl_feed *f = start_feed(&o, syms, 1, T + 60050);
    fake_up_open(fake_up(0));
    fake_up_frame(fake_up(0), kline("BTCUSDT", T, 0, "100.25"));
    fake_up_frame(fake_up(0), kline("BTCUSDT", T, 1, "100.50"));
    fake_up_frame(fake_up(0), kline("BTCUSDT", T + MINUTE, 0, "100.75"));
    ASSERT_EQ(n_recs, 1);
    ASSERT_STR_EQ(recs[0].json, quote("btcusdt", T, 1, "100.50"));
    ASSERT_EQ(finish(f), 0);
}

/* Repeated and out-of-date updates are dropped and counted; a closed candle the exchange sends
 * again with other values is a revision (the first one stands). */
static void test_duplicates_and_stale(void)
{
    struct cdl_feed_opts o = opts("1m", 0);
    struct cdl_feed *f = start_btc(&o, T + 30000);
    struct cdl_upstream *u = fake_up(0);
    fake_up_frame(u, kline("BTCUSDT", T, 0, "100.1"));
    fake_up_frame(u, kline("BTCUSDT", T, 0, "100.1")); /* the same update again */
    fake_up_frame(u, kline("BTCUSDT", T, 0, "100.2"));
    fake_run(30050);
    fake_up_frame(u, kline("BTCUSDT", T, 1, "100.3"));
    fake_up_frame(u, kline("BTCUSDT", T, 1, "100.3")); /* the close again */
    fake_up_frame(u, kline("BTCUSDT", T, 0, "100.2")); /* an update of a closed period */
    fake_up_frame(u, kline("BTCUSDT", T, 1, "100.9")); /* a revised close */
    fake_up_frame(u, kline("BTCUSDT", T + MINUTE, 0, "100.4"));
    fake_up_frame(u, kline("BTCUSDT", T, 0, "100.4")); /* older than what was sent */
    ASSERT_EQ(n_recs, 4);
    ASSERT_STR_EQ(recs[0].json, quote("btcusdt", T, 0, "100.1"));
    ASSERT_STR_EQ(recs[1].json, quote("btcusdt", T, 0, "100.2"));
    ASSERT_STR_EQ(recs[2].json, quote("btcusdt", T, 1, "100.3"));
    ASSERT_STR_EQ(recs[3].json, quote("btcusdt", T + MINUTE, 0, "100.4"));
    ASSERT_EQ(M2(CDL_M_DUPLICATES), 4);
    ASSERT_EQ(M2(CDL_M_REVISIONS), 1);
    ASSERT_EQ(fake_rest_count(), 0);
    ASSERT_EQ(finish(f), 0);
}

/* A close that never comes: the clock finds the hole (grace 2 s after the period), the feed asks
 * REST for exactly that period once the reorder wait (1 s) is over, and the row fills it, ahead
 * of the next close. */
static void test_skipped_close_backfilled(void)
{
    struct cdl_feed_opts o = opts("1m", 0);
    struct cdl_feed *f = start_btc(&o, T + 60050);
    struct cdl_upstream *u = fake_up(0);
    fake_up_frame(u, kline("BTCUSDT", T, 1, "100.0"));
    fake_run(30000);
    fake_up_frame(u, kline("BTCUSDT", T + MINUTE, 0, "100.5"));
    fake_run(31950); /* T + 2 min + 2 s: the close of T + 1 min is owed */
    ASSERT_EQ(fake_rest_count(), 0);
    fake_run(1000); /* the hole is a second old */
    ASSERT_EQ(fake_rest_count(), 1);
    ASSERT_STR_EQ(fake_rest(0)->method, "GET");
    ASSERT_STR_EQ(fake_rest(0)->url, rest_url(T + MINUTE, T + 2 * MINUTE, 1));
    ASSERT(fake_rest(0)->weight == 2);
    fake_run(5000);
    ASSERT_EQ(fake_rest_count(), 1); /* one page in flight per stream */
    fake_up_frame(u, kline("BTCUSDT", T + 2 * MINUTE, 0, "100.6"));
    fake_rest_answer(0, 200, rows(T + MINUTE, 1));
    fake_run(50000);
    fake_up_frame(u, kline("BTCUSDT", T + 2 * MINUTE, 1, "100.7"));
    ASSERT_EQ(n_recs, 5);
    ASSERT_STR_EQ(recs[0].json, quote("btcusdt", T, 1, "100.0"));
    ASSERT_STR_EQ(recs[1].json, quote("btcusdt", T + MINUTE, 0, "100.5"));
    ASSERT_STR_EQ(recs[2].json, quote("btcusdt", T + 2 * MINUTE, 0, "100.6"));
    ASSERT_STR_EQ(recs[3].json, quote("btcusdt", T + MINUTE, 1, "100.1"));
    ASSERT_STR_EQ(recs[4].json, quote("btcusdt", T + 2 * MINUTE, 1, "100.7"));
    ASSERT_EQ(M2(CDL_M_GAPS_DETECTED), 1);
    ASSERT_EQ(M2(CDL_M_GAPS_FILLED), 1);
    ASSERT_EQ(M3(CDL_M_REST_BACKFILLS, "ok"), 1);
    ASSERT_EQ(M3(CDL_M_REST_REQUESTS, "200"), 1);
    ASSERT_EQ(fake_rest_count(), 1);
    ASSERT_EQ(finish(f), 0);
}

/* Closes skipped while the next one arrives: the next is held behind the hole, and the missing
 * periods come by REST in order, each asked for once its row is final (its period over + grace:
 * here 3 min, longer than the period, so the next close comes before the clock gives up on the
 * skipped ones). */
static void test_skip_held_behind_hole(void)
{
    struct cdl_feed_opts o = opts("1m", 0);
    o.grace_ms = 3 * MINUTE;
    struct cdl_feed *f = start_btc(&o, T + 60050);
    struct cdl_upstream *u = fake_up(0);
    fake_up_frame(u, kline("BTCUSDT", T, 1, "100.0"));
    fake_run(3 * MINUTE);
    fake_up_frame(u, kline("BTCUSDT", T + 3 * MINUTE, 1, "100.3")); /* T + 1 and 2 min skipped */
    ASSERT_EQ(n_recs, 1);
    ASSERT_EQ(M2(CDL_M_CANDLES_HELD), 1);
    fake_run(MINUTE - 100); /* T + 5 min - 50 ms: the row of T + 1 min is not final yet */
    ASSERT_EQ(fake_rest_count(), 0);
    fake_run(100);
    ASSERT_EQ(fake_rest_count(), 1);
    ASSERT_STR_EQ(fake_rest(0)->url, rest_url(T + MINUTE, T + 2 * MINUTE, 1));
    fake_rest_answer(0, 200, rows(T + MINUTE, 1));
    ASSERT_EQ(n_recs, 2);
    ASSERT_STR_EQ(recs[1].json, quote("btcusdt", T + MINUTE, 1, "100.1"));
    fake_run(MINUTE - 100);
    ASSERT_EQ(fake_rest_count(), 1);
    fake_run(100);
    ASSERT_EQ(fake_rest_count(), 2);
    ASSERT_STR_EQ(fake_rest(1)->url, rest_url(T + 2 * MINUTE, T + 3 * MINUTE, 1));
    fake_rest_answer(1, 200, rows(T + MINUTE, 2)); /* a page with more than asked: the extra row is a duplicate */
    ASSERT_EQ(n_recs, 4);
    ASSERT_STR_EQ(recs[2].json, quote("btcusdt", T + 2 * MINUTE, 1, "100.2"));
    ASSERT_STR_EQ(recs[3].json, quote("btcusdt", T + 3 * MINUTE, 1, "100.3"));
    ASSERT_EQ(M2(CDL_M_CANDLES_HELD), 0);
    ASSERT_EQ(M2(CDL_M_GAPS_FILLED), 1);
    ASSERT_EQ(finish(f), 0);
}

/* REST fails (5xx, transport, an exchange error body) every 2 s (retry_ms) until the hold
 * deadline (30 s after the close was owed): then the gap event, and the next close goes out. */
static void test_backfill_failing_until_deadline_is_a_gap(void)
{
    struct cdl_feed_opts o = opts("1m", 0);
    struct cdl_feed *f = start_btc(&o, T + 60050);
    struct cdl_upstream *u = fake_up(0);
    fake_up_frame(u, kline("BTCUSDT", T, 1, "100.0"));
    run_failing(2 * MINUTE + 250); /* to T + 3 min + 300 ms */
    /* hole at T + 2 min + 2 s (+50 ms: the tick), pages from 1 s later, every 2 s, until 30 s
     * after the hole: (30 - 1) / 2 + 1 */
    ASSERT_EQ(fake_rest_count(), 15);
    for (int i = 0; i < fake_rest_count(); i++)
        ASSERT_STR_EQ(fake_rest(i)->url, rest_url(T + MINUTE, T + 2 * MINUTE, 1));
    ASSERT_EQ(n_recs, 2);
    ASSERT_STR_EQ(recs[1].json,
                  "{\"type\":\"gap\",\"exchange\":\"binance\",\"contract_type\":\"spot\",\"symbol\":\"btcusdt\","
                  "\"interval\":\"1m\",\"from\":1700000040000,\"to\":1700000100000,\"missing\":1,"
                  "\"reason\":\"timeout\"}");
    ASSERT_EQ(M3(CDL_M_GAPS_UNFILLED, "timeout"), 1);
    ASSERT_EQ(M3(CDL_M_REST_BACKFILLS, "failed"), 15);
    ASSERT_EQ(M3(CDL_M_REST_REQUESTS, "503"), 5);
    ASSERT_EQ(M3(CDL_M_REST_REQUESTS, "0"), 5);
    ASSERT_EQ(M3(CDL_M_REST_REQUESTS, "200"), 5);
    fake_up_frame(u, kline("BTCUSDT", T + 2 * MINUTE, 1, "100.2"));
    ASSERT_EQ(n_recs, 3);
    ASSERT_STR_EQ(recs[2].json, quote("btcusdt", T + 2 * MINUTE, 1, "100.2"));
    /* a late frame of the lost period changes nothing */
    fake_up_frame(u, kline("BTCUSDT", T + MINUTE, 1, "100.1"));
    ASSERT_EQ(n_recs, 3);
    ASSERT_EQ(fake_rest_count(), 15);
    ASSERT_EQ(finish(f), 0);
}

/* A reconnect: the new session subscribes again, and what closed while the connection was down
 * comes by REST in one page for exactly the missing periods (REST was down too meanwhile), in
 * order whatever the page's order. */
static void test_reconnect_resubscribes_and_backfills(void)
{
    struct cdl_feed_opts o = opts("1m", 0);
    o.hold_ms = 10 * MINUTE;
    struct cdl_feed *f = start_btc(&o, T + 60050);
    struct cdl_upstream *u = fake_up(0);
    const char *sub = "{\"method\":\"SUBSCRIBE\",\"params\":[\"btcusdt@kline_1m\"],\"id\":1}";
    ASSERT_STR_EQ(fake_up_last(u), sub);
    fake_up_frame(u, kline("BTCUSDT", T, 1, "100.0"));
    fake_run(950);
    fake_up_frame(u, kline("BTCUSDT", T + MINUTE, 0, "100.5"));
    fake_run(1000);
    fake_up_drop(u, "closed by peer");
    ASSERT_EQ(cdl_feed_n_connections(f), 1);
    ASSERT(!u->destroyed);
    struct cdl_feed_status st;
    cdl_feed_status(f, &st);
    ASSERT_EQ(st.open_connections, 0);
    ASSERT_EQ(st.consecutive_failures, 1);
    run_failing(3 * MINUTE + 8000); /* to T + 4 min + 10 s */
    int failed = fake_rest_count();
    ASSERT(failed > 0);
    for (int i = 0; i < failed; i++) /* while down, only the first missing close was known */
        ASSERT_STR_EQ(fake_rest(i)->url, rest_url(T + MINUTE, T + 2 * MINUTE, 1));
    ASSERT_EQ(n_recs, 2);
    fake_up_open(u);
    ASSERT_EQ(u->n_sent, 2);
    ASSERT_STR_EQ(u->sent[1], sub);
    ASSERT_EQ(fake_rest_count(), failed + 1);
    ASSERT_STR_EQ(fake_rest(failed)->url, rest_url(T + MINUTE, T + 4 * MINUTE, 3));
    fake_rest_answer(failed, 200, page(T + MINUTE, 3, 1)); /* newest first: they go out in order all the same */
    ASSERT_EQ(n_recs, 5);
    for (int i = 0; i < 3; i++) {
        char c[16];
        snprintf(c, sizeof c, "100.%d", i + 1);
        ASSERT_STR_EQ(recs[2 + i].json, quote("btcusdt", T + (i + 1) * MINUTE, 1, c));
    }
    fake_run(49800);
    fake_up_frame(u, kline("BTCUSDT", T + 4 * MINUTE, 1, "100.4"));
    ASSERT_EQ(n_recs, 6);
    ASSERT_STR_EQ(recs[5].json, quote("btcusdt", T + 4 * MINUTE, 1, "100.4"));
    ASSERT_EQ(fake_rest_count(), failed + 1);
    ASSERT_EQ(M2(CDL_M_RECONNECTIONS), 1);
    ASSERT_EQ(M2(CDL_M_GAPS_FILLED), 1);
    cdl_feed_status(f, &st);
    ASSERT_EQ(st.open_connections, 1);
    ASSERT_EQ(st.consecutive_failures, 0);
    ASSERT_EQ(finish(f), 0);
}

/* A backfill answered after the feed is gone (serve's drain: the hub destroys its feeds while
 * the REST client and the loop go on) is dropped, and so is one failed then. */
static void test_backfill_answered_after_destroy(void)
{
    struct cdl_feed_opts o = opts("1m", 0);
    struct cdl_feed *f = start_btc(&o, T + 60050);
    fake_up_frame(fake_up(0), kline("BTCUSDT", T, 1, "100.0"));
    char err[256];
    ASSERT_EQ(cdl_feed_add(f, "ethusdt", err, sizeof err), 1);
    fake_run(0);
    fake_up_frame(fake_up(0), kline("ETHUSDT", T, 1, "200.0"));
    fake_run(MINUTE + 5000); /* both closes of T + 1 min missing: one page each, in flight */
    ASSERT_EQ(fake_rest_count(), 2);
    ASSERT_EQ(fake_rest_pending(), 2);
    ASSERT_EQ(n_recs, 2);
    cdl_feed_destroy(f);
    fake_run(0);
    fake_rest_answer(0, 200, rows(T + MINUTE, 1));
    fake_rest_fail(1, CDL_EIO, "connection reset");
    ASSERT_EQ(n_recs, 2);
    cdl_rest_destroy(rest);
    fake_run(0);
    cdl_metrics_destroy(metrics);
    ASSERT_EQ(fake_timers(), 0);
}

/* Live changes wait until the connection's send queue is empty (the exchange's pace), then go
 * in one batch; streams removed before the connection opened are not subscribed at all. */
static void test_changes_wait_for_send_queue(void)
{
    const char *syms[] = { "btcusdt", "ethusdt", "solusdt" };
    struct cdl_feed_opts o = opts("1m", 0);
    struct cdl_feed *f = start_feed(&o, syms, 3, T + 30000);
    struct cdl_upstream *u = fake_up(0);
    ASSERT_EQ(cdl_feed_remove(f, "ethusdt"), 0);
    fake_run(0);
    fake_up_open(u);
    ASSERT_EQ(u->n_sent, 1);
    ASSERT_STR_EQ(u->sent[0],
                  "{\"method\":\"SUBSCRIBE\",\"params\":[\"btcusdt@kline_1m\",\"solusdt@kline_1m\"],\"id\":1}");
    u->queued = 1; /* the subscribe frame is not written yet */
    char err[256];
    ASSERT_EQ(cdl_feed_add(f, "xrpusdt", err, sizeof err), 1); /* ethusdt's slot: it left the connection */
    ASSERT_EQ(cdl_feed_remove(f, "solusdt"), 0);
    fake_run(1000);
    ASSERT_EQ(u->n_sent, 1);
    ASSERT_EQ(cdl_feed_add(f, "adausdt", err, sizeof err), 3); /* solusdt's is not free: its unsubscribe waits */
    u->queued = 0;
    fake_run(250);
    ASSERT_EQ(u->n_sent, 3);
    ASSERT_STR_EQ(u->sent[1], "{\"method\":\"UNSUBSCRIBE\",\"params\":[\"solusdt@kline_1m\"],\"id\":2}");
    ASSERT_STR_EQ(u->sent[2],
                  "{\"method\":\"SUBSCRIBE\",\"params\":[\"xrpusdt@kline_1m\",\"adausdt@kline_1m\"],\"id\":3}");
    fake_run(5000);
    ASSERT_EQ(u->n_sent, 3);
    ASSERT_EQ(fake_timers_active(), 1);                         /* only the sequencer's tick is left */
    ASSERT_EQ(cdl_feed_add(f, "dogeusdt", err, sizeof err), 2); /* solusdt's slot, free now */
    ASSERT_EQ(finish(f), 0);
    /* every stream removed before the open: the connection closes unopened */
    f = start_feed(&o, syms, 2, T + 30000);
    ASSERT_EQ(cdl_feed_remove(f, "btcusdt"), 0);
    ASSERT_EQ(cdl_feed_remove(f, "ethusdt"), 0);
    fake_run(0);
    ASSERT(fake_up(0)->destroyed);
    ASSERT_EQ(fake_up(0)->n_sent, 0);
    ASSERT_EQ(cdl_feed_n_connections(f), 0);
    ASSERT_EQ(finish(f), 0);
}

/* A failed replacement (down before it was live, or not live within the try timeout: 10 s for a
 * 100 s lifetime) is closed while the old connection goes on, and tried again after the
 * reconnect backoff (250 ms, jittered down by up to 30%).  The old connection lost while its
 * replacement starts: the try is aborted, and the old reconnects as usual. */
static void test_rotation_failures(void)
{
    const char *syms[] = { "btcusdt" };
    struct cdl_feed_opts o = opts("1m", 0);
    o.max_connection_age = 100;
    o.no_clock = 1; /* candles are not the subject here */
    struct cdl_feed *f = start_feed(&o, syms, 1, T + 30000);
    struct cdl_upstream *old = fake_up(0);
    fake_up_open(old);
    fake_run(80000);
    ASSERT_EQ(fake_up_count(), 1);
    /* the replacement starts at a jittered time in (80 s, 90 s]: open it as soon as it exists (a
     * later look could find it timed out already) */
    uint64_t t1 = fake_io_mono();
    while (fake_up_count() == 1 && fake_io_mono() < t1 + 10250)
        fake_run(250);
    ASSERT_EQ(fake_up_count(), 2);
    struct cdl_upstream *r1 = fake_up(1);
    fake_up_open(r1);
    fake_up_drop(r1, "closed by peer");
    ASSERT(r1->destroyed && !old->destroyed);
    ASSERT_EQ(M3(CDL_M_WS_ROTATIONS, "failed"), 1);
    fake_run(500);
    ASSERT_EQ(fake_up_count(), 3);
    struct cdl_upstream *r2 = fake_up(2); /* never connects */
    uint64_t t2 = fake_io_mono();
    while (!r2->destroyed && fake_io_mono() < t2 + 20000)
        fake_run(250);
    ASSERT(fake_io_mono() - t2 >= 9750 && fake_io_mono() - t2 <= 10250);
    ASSERT_EQ(M3(CDL_M_WS_ROTATIONS, "timeout"), 1);
    ASSERT(!old->destroyed && cdl_upstream_is_open(old));
    fake_run(1000); /* the second failure in a row: 500 ms, jittered */
    ASSERT_EQ(fake_up_count(), 4);
    struct cdl_upstream *r3 = fake_up(3);
    fake_up_drop(old, "closed by peer");
    ASSERT_EQ(M3(CDL_M_WS_ROTATIONS, "aborted"), 1);
    ASSERT(r3->destroyed && !old->destroyed);
    fake_run(30000);
    ASSERT_EQ(fake_up_count(), 4); /* nothing planned until the old is established again */
    fake_up_open(old);
    ASSERT_EQ(old->n_sent, 2);
    ASSERT_STR_EQ(old->sent[0], old->sent[1]);
    fake_run(79000);
    ASSERT_EQ(fake_up_count(), 4);
    ASSERT_EQ(M3(CDL_M_WS_ROTATIONS, "ok"), 0);
    ASSERT_EQ(finish(f), 0);
}

/* Streams added and removed while a replacement starts wait for the swap, then go on the new
 * connection; the replacement subscribes what was subscribed when it opened.  No rotation
 * starts while the feed is paused. */
static void test_rotation_defers_live_changes(void)
{
    const char *syms[] = { "btcusdt", "ethusdt" };
    struct cdl_feed_opts o = opts("1m", 0);
    o.max_connection_age = 100;
    o.no_clock = 1;
    struct cdl_feed *f = start_feed(&o, syms, 2, T + 30000);
    struct cdl_upstream *old = fake_up(0);
    fake_up_open(old);
    cdl_feed_pause(f, 1);
    fake_run(120000);
    ASSERT_EQ(fake_up_count(), 1);
    cdl_feed_pause(f, 0);
    fake_run(250);
    ASSERT_EQ(fake_up_count(), 2);
    struct cdl_upstream *fresh = fake_up(1);
    ASSERT(!fresh->paused);
    fake_up_open(fresh);
    ASSERT_STR_EQ(fake_up_last(fresh),
                  "{\"method\":\"SUBSCRIBE\",\"params\":[\"btcusdt@kline_1m\",\"ethusdt@kline_1m\"],\"id\":1}");
    char err[256];
    ASSERT_EQ(cdl_feed_add(f, "solusdt", err, sizeof err), 2);
    ASSERT_EQ(cdl_feed_remove(f, "ethusdt"), 0);
    fake_run(1000);
    ASSERT_EQ(old->n_sent, 1);
    ASSERT_EQ(fresh->n_sent, 1);
    fake_up_frame(fresh, "{\"result\":null,\"id\":1}"); /* live: swapped, the changes go on the next flush */
    fake_run(250);
    ASSERT_EQ(fresh->n_sent, 3);
    ASSERT_STR_EQ(fresh->sent[1], "{\"method\":\"UNSUBSCRIBE\",\"params\":[\"ethusdt@kline_1m\"],\"id\":2}");
    ASSERT_STR_EQ(fresh->sent[2], "{\"method\":\"SUBSCRIBE\",\"params\":[\"solusdt@kline_1m\"],\"id\":3}");
    ASSERT_EQ(old->n_sent, 1);
    fake_run(1000);
    ASSERT(old->destroyed && !fresh->destroyed);
    ASSERT_EQ(M3(CDL_M_WS_ROTATIONS, "ok"), 1);
    ASSERT_EQ(finish(f), 0);
}

/* Reload: a fresh copy of the adapter takes over without touching the connection (its session
 * state, the request id counter, carries over); a changed URL restarts the connection, and what
 * closed meanwhile is backfilled. */
static void test_reload_swap_adapter(void)
{
    struct cdl_lua_opts lo = { .adapters_dir = CDL_SOURCE_DIR "/adapters", .lua_dir = CDL_SOURCE_DIR "/lua" };
    struct cdl_lua_host *h2 = cdl_lua_host_create(&lo, NULL);
    struct cdl_adapter *a2;
    char err[512];
    ASSERT_EQ(cdl_lua_host_load(h2, "binance", &a2, err, sizeof err), 0);
    const struct cdl_market *m2 = cdl_adapter_market(a2, "spot");
    struct cdl_feed_opts o = opts("1m", 0);
    struct cdl_feed *f = start_btc(&o, T + 60050);
    struct cdl_upstream *u = fake_up(0);
    fake_up_frame(u, kline("BTCUSDT", T, 1, "100.0"));
    ASSERT_EQ(cdl_feed_check_adapter(f, a2, m2, err, sizeof err), 0);
    ASSERT_EQ(cdl_feed_swap_adapter(f, a2, m2, NULL, NULL), 0);
    ASSERT(!u->destroyed);
    ASSERT_EQ(cdl_feed_add(f, "ethusdt", err, sizeof err), 1);
    fake_run(0);
    ASSERT_STR_EQ(fake_up_last(u), "{\"method\":\"SUBSCRIBE\",\"params\":[\"ethusdt@kline_1m\"],\"id\":2}");
    fake_run(MINUTE - 50);
    fake_up_frame(u, kline("BTCUSDT", T + MINUTE, 1, "100.5"));
    ASSERT_EQ(n_recs, 2);
    ASSERT_EQ(cdl_feed_swap_adapter(f, a2, m2, "wss://other.test/ws", NULL), 1);
    ASSERT(u->destroyed);
    ASSERT_EQ(fake_up_count(), 2);
    struct cdl_upstream *v = fake_up(1);
    ASSERT_STR_EQ(v->url, "wss://other.test/ws");
    fake_run(MINUTE + 2000); /* down across the close of T + 2 min */
    ASSERT_EQ(fake_rest_count(), 0);
    fake_up_open(v);
    ASSERT_STR_EQ(v->sent[0],
                  "{\"method\":\"SUBSCRIBE\",\"params\":[\"btcusdt@kline_1m\",\"ethusdt@kline_1m\"],\"id\":1}");
    ASSERT_EQ(fake_rest_count(), 1);
    ASSERT_STR_EQ(fake_rest(0)->url, rest_url(T + 2 * MINUTE, T + 3 * MINUTE, 1));
    fake_rest_answer(0, 200, rows(T + 2 * MINUTE, 1));
    ASSERT_EQ(n_recs, 3);
    ASSERT_STR_EQ(recs[2].json, quote("btcusdt", T + 2 * MINUTE, 1, "100.1"));
    ASSERT_EQ(finish(f), 0);
    cdl_lua_host_destroy(h2);
}

/* Streams removed while their connection is down are not subscribed again; a connection left
 * with none is closed rather than reconnected.  Each failure counts until one is established. */
static void test_removed_while_down(void)
{
    const char *syms[] = { "btcusdt", "ethusdt" };
    struct cdl_feed_opts o = opts("1m", 0);
    struct cdl_feed *f = start_feed(&o, syms, 2, T + 30000);
    struct cdl_upstream *u = fake_up(0);
    fake_up_open(u);
    fake_up_drop(u, "closed by peer");
    fake_up_drop(u, "connect error: refused");
    struct cdl_feed_status st;
    cdl_feed_status(f, &st);
    ASSERT_EQ(st.consecutive_failures, 2);
    ASSERT_EQ(cdl_feed_remove(f, "ethusdt"), 0);
    fake_run(0);
    ASSERT(!u->destroyed);
    fake_up_open(u);
    ASSERT_EQ(u->n_sent, 2);
    ASSERT_STR_EQ(u->sent[1], "{\"method\":\"SUBSCRIBE\",\"params\":[\"btcusdt@kline_1m\"],\"id\":1}");
    fake_run(1000);
    ASSERT_EQ(u->n_sent, 2);
    cdl_feed_status(f, &st);
    ASSERT_EQ(st.consecutive_failures, 0);
    fake_up_drop(u, "closed by peer");
    ASSERT_EQ(cdl_feed_remove(f, "btcusdt"), 0);
    fake_run(0);
    ASSERT(u->destroyed);
    ASSERT_EQ(cdl_feed_n_connections(f), 0);
    ASSERT_EQ(finish(f), 0);
}

/* Backpressure reaches every connection of the feed, the ones opened while paused included. */
static void test_pause_every_connection(void)
{
    const char *syms[] = { "btcusdt", "ethusdt", "solusdt" };
    struct cdl_feed_opts o = opts("1m", 1);
    struct cdl_feed *f = start_feed(&o, syms, 3, T + 30000);
    ASSERT_EQ(fake_up_count(), 3);
    for (int i = 0; i < 3; i++)
        fake_up_open(fake_up(i));
    cdl_feed_pause(f, 1);
    for (int i = 0; i < 3; i++)
        ASSERT(fake_up(i)->paused);
    char err[256];
    ASSERT_EQ(cdl_feed_add(f, "xrpusdt", err, sizeof err), 3);
    ASSERT_EQ(fake_up_count(), 4);
    ASSERT(fake_up(3)->paused);
    cdl_feed_pause(f, 0);
    for (int i = 0; i < 4; i++)
        ASSERT(!fake_up(i)->paused);
    ASSERT_EQ(finish(f), 0);
}

/* Make-before-break: ahead of the connection lifetime (100 s: margin 10 s, so 80 to 90 s after
 * the open) a second connection subscribes the same streams; once its subscription is
 * acknowledged it takes over and the old one is closed 1 s later.  Every 1 s candle goes out
 * once, in order, across the overlap, and nothing needs REST. */
static void test_rotation_make_before_break(void)
{
    const char *syms[] = { "btcusdt", "ethusdt" };
    struct cdl_feed_opts o = opts("1s", 0);
    o.max_connection_age = 100;
    struct cdl_feed *f = start_feed(&o, syms, 2, T + 1050);
    struct cdl_upstream *old = fake_up(0);
    fake_up_open(old);
    const char *sub = "{\"method\":\"SUBSCRIBE\",\"params\":[\"btcusdt@kline_1s\",\"ethusdt@kline_1s\"],\"id\":1}";
    ASSERT_STR_EQ(fake_up_last(old), sub);
    fake_up_frame(old, "{\"result\":null,\"id\":1}");
    int64_t t = T; /* the next period to close */
    struct cdl_upstream *fresh = NULL;
    int64_t started = 0, swapped = 0, closed = 0;
    int twice = 0;                               /* candles delivered on both connections */
    for (int step = 0; step < 150 * 4; step++) { /* 150 s in 250 ms steps */
        fake_run(250);
        uint64_t now = fake_io_wall();
        if (!fresh && fake_up_count() == 2) {
            fresh = fake_up(1);
            started = (int64_t)now;
            ASSERT(fresh->started && !old->destroyed);
            ASSERT_STR_EQ(fresh->url, old->url);
            ASSERT_STR_EQ(fresh->name, "binance/spot#1~r");
            ASSERT_EQ(cdl_feed_n_connections(f), 1);
        }
        if (fresh && started == (int64_t)now - 500) { /* the replacement connects 500 ms later */
            fake_up_open(fresh);
            ASSERT_STR_EQ(fake_up_last(fresh), sub);
        }
        if (fresh && started == (int64_t)now - 1500) {
            ASSERT(!old->destroyed);
            fake_up_frame(fresh, "{\"result\":null,\"id\":1}");
            swapped = (int64_t)now;
        }
        if (!closed && old->destroyed) {
            closed = (int64_t)now;
            ASSERT(swapped > 0);
        }
        /* each close, 50 ms after its period, on every connection open then */
        if ((int64_t)now >= t + 1050) {
            struct cdl_upstream *on[2] = { old, fresh };
            int sent = 0;
            for (int k = 0; k < 2; k++)
                if (on[k] && on[k]->open && !on[k]->destroyed) {
                    fake_up_frame(on[k], kline_iv("BTCUSDT", "1s", 1000, t, 1, "100.0"));
                    fake_up_frame(on[k], kline_iv("ETHUSDT", "1s", 1000, t, 1, "200.0"));
                    sent++;
                }
            twice += sent == 2 ? 2 : 0;
            t += 1000;
        }
    }
    ASSERT(fresh != NULL);
    ASSERT(started > T + 1050 + 80000 && started <= T + 1050 + 90000 + 250);
    ASSERT_EQ(closed - swapped, 1000);
    ASSERT(!fresh->destroyed);
    ASSERT_EQ(fake_up_count(), 2); /* the next rotation is 80 s after the swap at the earliest */
    ASSERT_EQ(n_recs, 2 * (int)((t - T) / 1000));
    for (int i = 0; i < n_recs; i++) {
        ASSERT_EQ(recs[i].t, T + (i / 2) * 1000);
        ASSERT_STR_EQ(recs[i].json,
                      quote_iv(i % 2 ? "ethusdt" : "btcusdt", "1s", 1000, recs[i].t, 1, i % 2 ? "200.0" : "100.0"));
    }
    ASSERT_EQ(fake_rest_count(), 0);
    ASSERT_EQ(M3(CDL_M_WS_ROTATIONS, "ok"), 1);
    ASSERT(twice >= 2);
    ASSERT_EQ(M2(CDL_M_DUPLICATES), twice);
    ASSERT_EQ(finish(f), 0);
}

/* Oversize frames, garbage and unknown symbols are counted per reason and isolated: the
 * connection stays, the other connection is untouched, the next good frame goes through. */
static void test_bad_input_counted_and_isolated(void)
{
    const char *syms[] = { "btcusdt", "ethusdt" };
    struct cdl_feed_opts o = opts("1m", 1);
    struct cdl_feed *f = start_feed(&o, syms, 2, T + 30000);
    struct cdl_upstream *u0 = fake_up(0), *u1 = fake_up(1);
    fake_up_open(u0);
    fake_up_open(u1);
    fake_up_oversize(u0, 2u << 20);
    fake_up_frame(u0, "not json at all");
    fake_up_frame(u0, "{\"e\":\"trade\",\"s\":\"BTCUSDT\"}");
    fake_up_frame(u0, kline("DOGEUSDT", T, 0, "1.0"));
    fake_up_frame(u0, kline("BTCUSDT", T + 1, 0, "1.0"));
    fake_up_frame(u0, "{\"error\":{\"code\":2,\"msg\":\"Invalid request\"},\"id\":7}");
    ASSERT_EQ(n_recs, 0);
    ASSERT_EQ(M3(CDL_M_FRAMES_REJECTED, "oversize"), 1);
    ASSERT_EQ(M3(CDL_M_FRAMES_REJECTED, "bad_json"), 1);
    ASSERT_EQ(M3(CDL_M_FRAMES_REJECTED, "unknown_event"), 1);
    ASSERT_EQ(M3(CDL_M_CANDLES_REJECTED, "unknown_symbol"), 1);
    ASSERT_EQ(M3(CDL_M_CANDLES_REJECTED, "misaligned_open_time"), 1);
    ASSERT_EQ(M2(CDL_M_SUBSCRIPTION_ERRORS), 1);
    ASSERT_EQ(u0->accepted, 0);
    fake_up_frame(u1, kline("ETHUSDT", T, 0, "2.0"));
    fake_up_frame(u0, kline("BTCUSDT", T, 0, "1.0"));
    ASSERT_EQ(n_recs, 2);
    ASSERT_STR_EQ(recs[0].json, quote("ethusdt", T, 0, "2.0"));
    ASSERT_STR_EQ(recs[1].json, quote("btcusdt", T, 0, "1.0"));
    ASSERT(!u0->destroyed && !u0->closing && u0->reconnects == 0);
    struct cdl_feed_status st;
    cdl_feed_status(f, &st);
    ASSERT_EQ(st.errors, 5);
    ASSERT_EQ(st.open_connections, 2);
    ASSERT_EQ(finish(f), 0);
}

/* serverShutdown: the feed closes the connection to reconnect at once. */
static void test_shutdown_announced_reconnects(void)
{
    struct cdl_feed_opts o = opts("1m", 0);
    struct cdl_feed *f = start_btc(&o, T + 30000);
    struct cdl_upstream *u = fake_up(0);
    fake_up_frame(u, "{\"e\":\"serverShutdown\",\"E\":1}");
    ASSERT_EQ(u->reconnects, 1);
    ASSERT(!u->destroyed);
    ASSERT_EQ(finish(f), 0);
}

/* ---- an adapter that raises ------------------------------------------------------------------------- */

static char tmpdir[64];

/* A host of its own with adapter `name` written to tmpdir from `text`; NULL if it does not load. */
static struct cdl_lua_host *test_host(const char *name, const char *text, struct cdl_adapter **a)
{
    char path[128], err[512];
    snprintf(path, sizeof path, "%s/%s.lua", tmpdir, name);
    FILE *fp = fopen(path, "w");
    if (!fp)
        return NULL;
    fputs(text, fp);
    fclose(fp);
    struct cdl_lua_opts lo = { .adapters_dir = tmpdir, .lua_dir = CDL_SOURCE_DIR "/lua" };
    struct cdl_lua_host *h = cdl_lua_host_create(&lo, NULL);
    int rc = cdl_lua_host_load(h, name, a, err, sizeof err);
    unlink(path); /* loaded or not, the host is done with the file */
    if (rc) {
        fprintf(stderr, "load %s: %s\n", name, err);
        cdl_lua_host_destroy(h);
        return NULL;
    }
    return h;
}

/* A hook that raises is counted as adapter_error for that frame only. */
static void test_adapter_error_isolated(void)
{
    static const char flaky[] =
        "return { name = 'flaky', markets = { { name = 'spot', ws_url = 'wss://x.test/ws', max_streams = 10 } },"
        " intervals = { ['1m'] = '1m' },"
        " symbol = function(m, s) return s:upper() end,"
        " subscribe = function(sess, streams) return { 'sub ' .. streams[1].symbol } end,"
        " parse = function(sess, frame)"
        "   if frame == 'raise' then error('boom') end"
        "   return { { symbol = 'X', interval = '1m', open_time = tonumber(frame), open = '1', high = '2', low = '0.5',"
        "     close = '1.5', volume = '3', closed = true } } end }\n";
    struct cdl_adapter *a;
    struct cdl_lua_host *h = test_host("flaky", flaky, &a);
    ASSERT(h != NULL);
    const char *syms[] = { "x" };
    struct cdl_feed_opts o = {
        .adapter = a, .market = cdl_adapter_market(a, "spot"), .interval = "1m", .confirm_inferred = -1
    };
    struct cdl_feed *f = start_feed(&o, syms, 1, T + 60050);
    struct cdl_upstream *u = fake_up(0);
    fake_up_open(u);
    ASSERT_STR_EQ(fake_up_last(u), "sub X");
    char t0[24], t1[24];
    snprintf(t0, sizeof t0, "%lld", (long long)T);
    snprintf(t1, sizeof t1, "%lld", (long long)(T + MINUTE));
    fake_up_frame(u, t0);
    fake_up_frame(u, "raise");
    ASSERT_EQ(cdl_series_value(cdl_metrics_series(metrics, CDL_M_FRAMES_REJECTED, "flaky", "spot", "adapter_error")),
              1);
    ASSERT_EQ(n_recs, 1);
    fake_run(MINUTE);
    fake_up_frame(u, t1);
    ASSERT_EQ(n_recs, 2);
    ASSERT_EQ(recs[1].t, T + MINUTE);
    ASSERT(!u->destroyed && u->reconnects == 0);
    ASSERT_EQ(finish(f), 0);
    cdl_lua_host_destroy(h);
}

/* A stream whose connection cannot start (the adapter's connect_url raises for it) is refused
 * and leaves nothing behind: the next stream gets a connection that works. */
static void test_add_refused_when_connection_cannot_start(void)
{
    static const char byurl[] =
        "return { name = 'byurl', markets = { { name = 'spot', ws_url = 'wss://x.test/ws', max_streams = 10 } },"
        " intervals = { ['1m'] = '1m' },"
        " symbol = function(m, s) return s:upper() end,"
        " connect_url = function(sess, streams)"
        "   for _, s in ipairs(streams) do if s.symbol == 'BAD' then error('no url for BAD') end end"
        "   return sess.ws_url end,"
        " subscribe = function(sess, streams) local t = {} for i, s in ipairs(streams) do t[i] = 'sub ' .. s.symbol end"
        "   return t end,"
        " parse = function(sess, frame) return {} end }\n";
    struct cdl_adapter *a;
    struct cdl_lua_host *h = test_host("byurl", byurl, &a);
    ASSERT(h != NULL);
    char err[512];
    struct cdl_feed_opts o = {
        .adapter = a, .market = cdl_adapter_market(a, "spot"), .interval = "1m", .confirm_inferred = -1
    };
    struct cdl_feed *f = start_feed(&o, NULL, 0, T + 30000);
    ASSERT_EQ(cdl_feed_add(f, "bad", err, sizeof err), CDL_ELUA);
    ASSERT_STR_EQ(err, "cannot start a connection for BAD: lua error");
    ASSERT_EQ(cdl_feed_n_connections(f), 0);
    struct cdl_feed_status st;
    cdl_feed_status(f, &st);
    ASSERT_EQ(st.streams, 0);
    ASSERT(cdl_feed_add(f, "good", err, sizeof err) >= 0);
    ASSERT_EQ(cdl_feed_n_connections(f), 1);
    struct cdl_upstream *u = fake_up(fake_up_count() - 1);
    ASSERT(u->started);
    fake_up_open(u);
    ASSERT_EQ(u->n_sent, 1);
    ASSERT_STR_EQ(u->sent[0], "sub GOOD");
    ASSERT_EQ(finish(f), 0);
    cdl_lua_host_destroy(h);
}

/* ---- Hyperliquid: no closed flag, one subscribe frame per stream, application pings ---------------- */

static const char *hl_candle(int64_t t, const char *close)
{
    snprintf(frame_buf, sizeof frame_buf,
             "{\"channel\":\"candle\",\"data\":{\"t\":%lld,\"T\":%lld,\"s\":\"BTC\",\"i\":\"1m\",\"o\":\"71400.0\","
             "\"c\":\"%s\",\"h\":\"71422.0\",\"l\":\"71389.0\",\"v\":\"1.5\",\"n\":20}}",
             (long long)t, (long long)(t + MINUTE - 1), close);
    return frame_buf;
}

static struct cdl_feed *start_hl(struct cdl_adapter *hl, int64_t wall)
{
    static const char *const syms[] = { "BTC", "ETH" };
    struct cdl_feed_opts o = {
        .adapter = hl, .market = cdl_adapter_market(hl, "perp"), .interval = "1m", .confirm_inferred = 0
    };
    struct cdl_feed *f = start_feed(&o, syms, 2, wall);
    fake_up_open(fake_up(0));
    return f;
}

/* A period without a closed flag is closed by the clock (its end + grace) with its last value,
 * once the connection has shown life after its end (a pong will do); a silent connection's
 * period is not taken as closed: the REST backfill brings it. */
static void test_unflagged_close_needs_a_live_connection(void)
{
    struct cdl_adapter *hl;
    char err[512];
    ASSERT_EQ(cdl_lua_host_load(host, "hyperliquid", &hl, err, sizeof err), 0);
    struct cdl_feed *f = start_hl(hl, T + 30000);
    struct cdl_upstream *u = fake_up(0);
    ASSERT(u->o.ping_interval_s == 30);
    ASSERT_EQ(u->n_sent, 2);
    ASSERT_STR_EQ(
        u->sent[0],
        "{\"method\":\"subscribe\",\"subscription\":{\"type\":\"candle\",\"coin\":\"BTC\",\"interval\":\"1m\"}}");
    ASSERT_STR_EQ(
        u->sent[1],
        "{\"method\":\"subscribe\",\"subscription\":{\"type\":\"candle\",\"coin\":\"ETH\",\"interval\":\"1m\"}}");
    fake_up_ping(u);
    ASSERT_STR_EQ(fake_up_last(u), "{\"method\":\"ping\"}");
    fake_up_frame(u, hl_candle(T, "71410.0"));
    fake_run(20000);
    fake_up_frame(u, hl_candle(T, "71411.0"));
    ASSERT_EQ(n_recs, 2);
    ASSERT_EQ(recs[1].closed, 0);
    fake_run(11000); /* T + 61 s */
    fake_up_frame(u, "{\"channel\":\"pong\"}");
    fake_run(1250); /* T + 62.25 s: over + grace 2 s, alive after the end */
    ASSERT_EQ(n_recs, 3);
    ASSERT_EQ(recs[2].t, T);
    ASSERT_EQ(recs[2].closed, 1);
    ASSERT(strstr(recs[2].json, "\"close\":71411.0,") != NULL);
    ASSERT_EQ(fake_rest_count(), 0);
    ASSERT_EQ(cdl_series_value(cdl_metrics_series(metrics, CDL_M_CLOSES_INFERRED, "hyperliquid", "perp")), 1);
    ASSERT_EQ(finish(f), 0);

    f = start_hl(hl, T + 30000);
    u = fake_up(0);
    fake_up_frame(u, hl_candle(T, "71410.0"));
    fake_run(33250); /* silent since: not closed, a hole; its page once the reorder wait is over */
    ASSERT_EQ(n_recs, 1);
    ASSERT_EQ(fake_rest_count(), 1);
    ASSERT_STR_EQ(fake_rest(0)->method, "POST");
    ASSERT_STR_EQ(fake_rest(0)->url, "https://api.hyperliquid.xyz/info");
    ASSERT_STR_EQ(fake_rest(0)->body, "{\"type\":\"candleSnapshot\",\"req\":{\"coin\":\"BTC\",\"interval\":\"1m\","
                                      "\"startTime\":1699999980000,\"endTime\":1700000039999}}");
    ASSERT_EQ(finish(f), 0);
}

int main(void)
{
    struct cdl_lua_opts lo = { .adapters_dir = CDL_SOURCE_DIR "/adapters", .lua_dir = CDL_SOURCE_DIR "/lua" };
    host = cdl_lua_host_create(&lo, NULL);
    char err[512];
    if (cdl_lua_host_load(host, "binance", &bn, err, sizeof err)) {
        fprintf(stderr, "load: %s\n", err);
        return 1;
    }
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cdl_test_feed_XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    cdl_log_setup(CDL_LOG_OFF, CDL_LOG_JSON, NULL);
    TEST_RUN(test_subscribe_on_open_packed);
    TEST_RUN(test_live_add_remove);
    TEST_RUN(test_push_becomes_quote);
    TEST_RUN(test_closed_only);
    TEST_RUN(test_duplicates_and_stale);
    TEST_RUN(test_skipped_close_backfilled);
    TEST_RUN(test_skip_held_behind_hole);
    TEST_RUN(test_backfill_failing_until_deadline_is_a_gap);
    TEST_RUN(test_reconnect_resubscribes_and_backfills);
    TEST_RUN(test_backfill_answered_after_destroy);
    TEST_RUN(test_changes_wait_for_send_queue);
    TEST_RUN(test_rotation_failures);
    TEST_RUN(test_rotation_defers_live_changes);
    TEST_RUN(test_reload_swap_adapter);
    TEST_RUN(test_removed_while_down);
    TEST_RUN(test_pause_every_connection);
    TEST_RUN(test_rotation_make_before_break);
    TEST_RUN(test_bad_input_counted_and_isolated);
    TEST_RUN(test_shutdown_announced_reconnects);
    TEST_RUN(test_adapter_error_isolated);
    TEST_RUN(test_add_refused_when_connection_cannot_start);
    TEST_RUN(test_unflagged_close_needs_a_live_connection);
    rmdir(tmpdir);
    cdl_lua_host_destroy(host);
    fake_io_reset();
    return TEST_DONE();
}

/* ex_hyperliquid.c - Hyperliquid perp and spot candle protocol for candled-sim.
 *
 * WebSocket on /ws: the greeting text "Websocket connection established.", then live
 * {"method":"subscribe"|"unsubscribe","subscription":{"type":"candle","coin":C,"interval":I}}
 * answered {"channel":"subscriptionResponse","data":{"method":..,"subscription":{..}}} or
 * {"channel":"error","data":"<text>"}, and {"method":"ping"} answered {"channel":"pong"}.
 * Pushes are {"channel":"candle","data":{t,T,s,i,o,c,h,l,v,n}} with no closed flag; the query
 * `?shape=array` wraps data in an array (the docs' Candle[]) and `?prices=numbers` sends the
 * decimals as JSON numbers (the docs' type), so candled can be tested on every documented shape.
 * No server pings; a client silent for 60 s is dropped (Hyperliquid's rule).  REST: POST /info
 * {"type":"candleSnapshot","req":{coin, interval, startTime[, endTime]}}: rows oldest first,
 * only the most recent 5000 candles exist.  Decimals are printed the way Hyperliquid prints
 * them: trailing zeros stripped, at least one decimal digit ("65162.0", "7.765").  The
 * exchange keeps no state of its own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "sim.h"

#define HL_STYLE_OBJECT 1
#define HL_STYLE_ARRAY 2
#define HL_STYLE_NUMBERS 3
#define HL_MAX_TOKENS 64
#define HL_HISTORY 5000 /* candles available per coin and interval */
#define HL_MAX_SUBSCRIPTIONS 1000

static const struct sim_market hl_markets[] = {
    { "perp", { "perps", "swap", NULL }, { 2, 5, 2, 0, 0 }, "BTC,ETH", "C%04d" },
    { "spot", { NULL }, { 4, 2, 2, 0, 0 }, "@107,PURR/USDC", "@%d" },
};

/* Hyperliquid's candle intervals (no 1s, no 6h). */
static const char *const hl_intervals[] = { "1m", "3m",  "5m", "15m", "30m", "1h", "2h", "4h",
                                            "8h", "12h", "1d", "3d",  "1w",  "1M", NULL };

static int hl_interval(const char *name, struct sim_interval *iv)
{
    return sim_interval_parse_listed(name, hl_intervals, iv);
}

/* --- init ---------------------------------------------------------------------------------- */

static int hl_init(struct sim *sim)
{
    if (!sim_market_init(sim, hl_markets, sizeof hl_markets / sizeof hl_markets[0], sizeof hl_markets[0], "perp, spot"))
        return -1;
    sim->default_max_msg_rate = 33; /* 2000 messages per minute */
    sim->default_max_streams = HL_MAX_SUBSCRIPTIONS;
    sim->default_idle_disconnect = 60;
    sim->default_ping_interval = 0; /* keepalive is the client's {"method":"ping"} */
    sim->styles = 4;
    return 0;
}

/* --- decimals ------------------------------------------------------------------------------ */

/* v / 10^dp as Hyperliquid prints it: trailing zeros stripped, one decimal digit kept. */
static void hl_dec(char *out, size_t cap, int64_t v, int dp)
{
    size_t n = sim_fmt_dec(out, cap, v, dp);
    if (!strchr(out, '.')) {
        snprintf(out + n, cap - n, ".0");
        return;
    }
    while (out[n - 1] == '0' && out[n - 2] != '.')
        out[--n] = '\0';
}

struct hl_text {
    char o[32], c[32], h[32], l[32], v[32];
};

static void hl_text(const struct sim *sim, const struct sim_candle *k, struct hl_text *t)
{
    const struct sim_gen_format *f = &sim->gen.fmt;
    hl_dec(t->o, sizeof t->o, k->o, f->price_dp);
    hl_dec(t->c, sizeof t->c, k->c, f->price_dp);
    hl_dec(t->h, sizeof t->h, k->h, f->price_dp);
    hl_dec(t->l, sizeof t->l, k->l, f->price_dp);
    hl_dec(t->v, sizeof t->v, k->v, f->qty_dp);
}

/* --- WebSocket ----------------------------------------------------------------------------- */

/* String token i (-1 = absent) into buf: its length, or -1 if absent, not a string or too long. */
static int hl_str(const char *s, const struct sim_json_tok *t, int i, char *buf, size_t cap)
{
    return i < 0 ? -1 : sim_json_str(s, t, i, buf, cap);
}

static int hl_ws_path_ok(struct sim *sim, const char *path)
{
    (void)sim;
    return !strcmp(path, "/ws");
}

static int hl_ws_open(struct sim *sim, struct sim_client *c, const char *path, const char *query)
{
    static const char greeting[] = "Websocket connection established.";
    (void)sim;
    (void)path;
    int style = HL_STYLE_OBJECT;
    if (strstr(query, "shape=array"))
        style = HL_STYLE_ARRAY;
    else if (strstr(query, "prices=numbers"))
        style = HL_STYLE_NUMBERS;
    sim_client_set_style(c, style);
    sim_client_send(c, greeting, sizeof greeting - 1);
    return 0;
}

static void hl_send_error(struct sim_client *c, const char *text)
{
    sim_client_sendf(c, "{\"channel\":\"error\",\"data\":\"%s\"}", text);
}

/* Coins echoed in replies are limited to characters that need no JSON escape. */
static int hl_coin_ok(const char *coin)
{
    if (!*coin)
        return 0;
    for (const char *p = coin; *p; p++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789@/:_-.", *p))
            return 0;
    return 1;
}

static void hl_subscription(struct sim *sim, struct sim_client *c, const char *msg, const struct sim_json_tok *t,
                            int sub, int subscribe)
{
    char type[32], coin[64], ivname[16], key[100], text[200];
    struct sim_interval iv;
    int ty = sub >= 0 ? sim_json_get(msg, t, sub, "type") : -1;
    int co = sub >= 0 ? sim_json_get(msg, t, sub, "coin") : -1;
    int in = sub >= 0 ? sim_json_get(msg, t, sub, "interval") : -1;
    if (sub < 0 || t[sub].type != SIM_JSON_OBJECT || hl_str(msg, t, ty, type, sizeof type) <= 0 ||
        strcmp(type, "candle") || hl_str(msg, t, co, coin, sizeof coin) <= 0 || !hl_coin_ok(coin) ||
        hl_str(msg, t, in, ivname, sizeof ivname) <= 0 || hl_interval(ivname, &iv) < 0) {
        hl_send_error(c, "Invalid subscription");
        return;
    }
    snprintf(key, sizeof key, "candle:%s:%s", coin, ivname);
    /* the server's own spelling of the subscription in errors (key order as recorded) */
    snprintf(text, sizeof text, "{\\\"type\\\":\\\"candle\\\",\\\"interval\\\":\\\"%s\\\",\\\"coin\\\":\\\"%s\\\"}",
             ivname, coin);
    struct sim_buf b = { 0 };
    int had_streams = sim_client_stream_count(c) > 0;
    int rc = subscribe ? sim_client_subscribe(c, key, coin, &iv) : sim_client_unsubscribe(c, key);
    if (subscribe && rc < 0) {
        sim_buf_printf(&b, "Cannot subscribe to more than %d channels.",
                       sim->opts.max_streams ? sim->opts.max_streams : sim->default_max_streams);
        hl_send_error(c, b.data);
    } else if (rc == 1) {
        sim_buf_printf(&b, "%s: %s", subscribe ? "Already subscribed" : "Already unsubscribed", text);
        hl_send_error(c, b.data);
    } else {
        sim_client_sendf(c,
                         "{\"channel\":\"subscriptionResponse\",\"data\":{\"method\":\"%s\","
                         "\"subscription\":{\"type\":\"candle\",\"coin\":\"%s\",\"interval\":\"%s\"}}}",
                         subscribe ? "subscribe" : "unsubscribe", coin, ivname);
        if (subscribe && !had_streams)
            sim_client_start_replay(c); /* after the first acknowledgement */
    }
    sim_buf_free(&b);
}

static void hl_ws_message(struct sim *sim, struct sim_client *c, const char *msg, size_t len)
{
    static const char pong[] = "{\"channel\":\"pong\"}";
    struct sim_json_tok t[HL_MAX_TOKENS];
    size_t err_at = 0;
    sim_client_count_rx(c);
    int n = sim_json_parse(msg, len, t, HL_MAX_TOKENS, &err_at);
    int method = n > 0 && t[0].type == SIM_JSON_OBJECT ? sim_json_get(msg, t, 0, "method") : -1;
    if (method >= 0 && sim_json_streq(msg, t, method, "ping"))
        sim_client_send(c, pong, sizeof pong - 1);
    else if (method >= 0 && sim_json_streq(msg, t, method, "subscribe"))
        hl_subscription(sim, c, msg, t, sim_json_get(msg, t, 0, "subscription"), 1);
    else if (method >= 0 && sim_json_streq(msg, t, method, "unsubscribe"))
        hl_subscription(sim, c, msg, t, sim_json_get(msg, t, 0, "subscription"), 0);
    else
        hl_send_error(c, "Error parsing JSON into valid websocket request");
}

/* One candle object, field for field in the order of ccxt's recorded push. */
static void hl_candle(struct sim *sim, const struct sim_stream *s, const struct sim_candle *k, int numbers,
                      struct sim_buf *out)
{
    struct hl_text x;
    const char *q = numbers ? "" : "\"";
    hl_text(sim, k, &x);
    sim_buf_printf(out,
                   "{\"t\":%lld,\"T\":%lld,\"s\":\"%s\",\"i\":\"%s\",\"o\":%s%s%s,\"c\":%s%s%s,"
                   "\"h\":%s%s%s,\"l\":%s%s%s,\"v\":%s%s%s,\"n\":%lld}",
                   (long long)k->open_time, (long long)k->close_time, sim_stream_symbol(s),
                   sim_stream_interval(s)->name, q, x.o, q, q, x.c, q, q, x.h, q, q, x.l, q, q, x.v, q,
                   (long long)k->trades);
}

static void hl_render(struct sim *sim, const struct sim_stream *s, const struct sim_candle *k, int64_t event_ms,
                      int style, struct sim_buf *out)
{
    (void)event_ms; /* Hyperliquid's candle pushes carry no event time */
    if (style == 0) {
        hl_candle(sim, s, k, 0, out);
        return;
    }
    sim_buf_str(out,
                style == HL_STYLE_ARRAY ? "{\"channel\":\"candle\",\"data\":[" : "{\"channel\":\"candle\",\"data\":");
    hl_candle(sim, s, k, style == HL_STYLE_NUMBERS, out);
    sim_buf_str(out, style == HL_STYLE_ARRAY ? "]}" : "}");
}

/* candled's adapter reports v (the base-asset volume) as the volume, T and n; no quote volume
 * and no closed flag. */
static void hl_truth(struct sim *sim, const struct sim_stream *s, const struct sim_candle *k, struct sim_truth *t)
{
    struct hl_text x;
    hl_text(sim, k, &x);
    sim_truth_set(t, s, x.o, x.h, x.l, x.c, x.v, NULL);
    t->close_time = k->close_time;
    t->trades = k->trades;
    t->flag = 0;
}

/* --- REST ---------------------------------------------------------------------------------- */

/* The JSON body of an axum-style rejection, as Hyperliquid answers a request it cannot read. */
static void hl_rest_reject(struct sim_http_reply *rep)
{
    rep->status = 422;
    sim_buf_str(&rep->body, "Failed to deserialize the JSON body into the target type");
}

/* An integer member of req: 0 absent, 1 present, -1 not a non-negative integer. */
static int hl_int(const char *body, const struct sim_json_tok *t, int obj, const char *key, long long *out)
{
    int v = sim_json_get(body, t, obj, key);
    if (v < 0 || t[v].type == SIM_JSON_NULL)
        return 0;
    if (t[v].type != SIM_JSON_NUMBER || t[v].end - t[v].start > 18)
        return -1;
    long long x = 0;
    for (size_t i = t[v].start; i < t[v].end; i++) {
        if (body[i] < '0' || body[i] > '9')
            return -1;
        x = x * 10 + (body[i] - '0');
    }
    *out = x;
    return 1;
}

static void hl_row(struct sim *sim, struct sim_buf *b, const char *coin, const char *ivname, const struct sim_candle *k,
                   int first)
{
    struct hl_text x;
    hl_text(sim, k, &x);
    sim_buf_printf(b,
                   "%s{\"T\":%lld,\"c\":\"%s\",\"h\":\"%s\",\"i\":\"%s\",\"l\":\"%s\",\"n\":%lld,"
                   "\"o\":\"%s\",\"s\":\"%s\",\"t\":%lld,\"v\":\"%s\"}",
                   first ? "" : ",", (long long)k->close_time, x.c, x.h, ivname, x.l, (long long)k->trades, x.o, coin,
                   (long long)k->open_time, x.v);
}

/* Rows with open time in [start, end], oldest first, never before the 5000 most recent. */
static void hl_rows(struct sim *sim, struct sim_http_reply *rep, const char *coin, const struct sim_interval *iv,
                    long long start, long long end)
{
    int64_t now = sim_now_ms(), cur = sim_interval_floor(iv, now), lo = cur;
    for (int i = 1; i < HL_HISTORY; i++)
        lo = sim_interval_floor(iv, lo - 1);
    int64_t t = sim_interval_floor(iv, start);
    if (t < start)
        t = sim_interval_next(iv, t);
    if (t < lo)
        t = lo;
    uint64_t key = sim_gen_symbol_key(&sim->gen, coin);
    struct sim_candle k;
    int n = 0;
    sim_buf_str(&rep->body, "[");
    for (; t <= end && t <= cur; t = sim_interval_next(iv, t)) {
        sim_gen_candle_asof(&sim->gen, key, iv, t, now, &k);
        hl_row(sim, &rep->body, coin, iv->name, &k, n++ == 0);
    }
    sim_buf_str(&rep->body, "]");
    rep->status = 200;
    rep->weight = 20 + n / 60; /* plus one per 60 items returned */
}

static void hl_candle_snapshot(struct sim *sim, const struct sim_http_req *req, struct sim_http_reply *rep)
{
    struct sim_json_tok t[HL_MAX_TOKENS];
    char type[32], coin[64], ivname[16];
    struct sim_interval iv;
    size_t err_at;
    long long start = 0, end = 0;
    int n = sim_json_parse(req->body, req->body_len, t, HL_MAX_TOKENS, &err_at);
    int ty = n > 0 && t[0].type == SIM_JSON_OBJECT ? sim_json_get(req->body, t, 0, "type") : -1;
    int rq = ty >= 0 ? sim_json_get(req->body, t, 0, "req") : -1;
    if (ty < 0 || hl_str(req->body, t, ty, type, sizeof type) <= 0 || strcmp(type, "candleSnapshot") || rq < 0 ||
        t[rq].type != SIM_JSON_OBJECT)
        return hl_rest_reject(rep);
    int co = sim_json_get(req->body, t, rq, "coin"), in = sim_json_get(req->body, t, rq, "interval");
    int has_start = hl_int(req->body, t, rq, "startTime", &start);
    int has_end = hl_int(req->body, t, rq, "endTime", &end);
    if (hl_str(req->body, t, co, coin, sizeof coin) <= 0 || hl_str(req->body, t, in, ivname, sizeof ivname) <= 0 ||
        hl_interval(ivname, &iv) < 0 || has_start != 1 || has_end < 0)
        return hl_rest_reject(rep);
    if (!has_end)
        end = sim_now_ms();
    if (!sim_symbol_known(sim, coin) || !sim_interval_served(sim, &iv) || start > end) {
        rep->status = 200;
        rep->weight = 20;
        sim_buf_str(&rep->body, "[]");
        return;
    }
    hl_rows(sim, rep, coin, &iv, start, end);
}

static int hl_rest(struct sim *sim, const struct sim_http_req *req, struct sim_http_reply *rep)
{
    if (strcmp(req->path, "/info") || strcmp(req->method, "POST"))
        return -1;
    hl_candle_snapshot(sim, req, rep);
    return 0;
}

static void hl_rest_fault_body(struct sim *sim, int status, struct sim_buf *body)
{
    (void)sim;
    sim_buf_printf(body, "{\"error\":\"candled-sim fault: HTTP %d\"}", status);
}

const struct sim_exchange sim_exchange_hyperliquid = {
    .name = "hyperliquid",
    .init = hl_init,
    .ws_path_ok = hl_ws_path_ok,
    .ws_open = hl_ws_open,
    .ws_message = hl_ws_message,
    .render = hl_render,
    .truth = hl_truth,
    .rest = hl_rest,
    .rest_fault_body = hl_rest_fault_body,
};

/* ex_gateio.c - Gate.io API v4 candlesticks (spot, USDT- and BTC-settled futures) for candled-sim.
 *
 * WebSocket: spot on /ws/v4/, futures on /v4/ws/usdt and /v4/ws/btc (the settle-less /v4/ws is
 * BTC, as on Gate); --market picks which is served.  Requests {"time","id","channel","event",
 * "payload":[interval, pair]} on <p>.candlesticks (p = spot or futures) are answered with
 * {"status":"success"} results or {"code","message"} errors; <p>.ping gets <p>.pong.  Spot pushes
 * an object of strings with the w (window closed) flag, futures an array of candles with integer
 * t and v (contracts) and no flag.  Decimals are printed without trailing zeros, as Gate does.
 * REST: GET /api/v4/spot/candlesticks (8-element string rows, at most 1000 points) and
 * /api/v4/futures/{settle}/candlesticks (objects, at most 2000 points), oldest first, with
 * Gate's from/to/limit rules and its "only the last 10000 points" horizon.  The state is the
 * market's description. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "sim.h"

#define GT_MAX_TOKENS 64
#define GT_HORIZON 10000 /* points back from now that REST serves */
#define GT_TIME_SKEW 60  /* seconds a request's "time" may be off */
/* Query arguments are read into buffers this big: lws stops looking at the first argument
 * ("name=value") that does not fit the caller's buffer. */
#define GT_ARG_MAX 256

struct gt_market {
    struct sim_market m; /* first: names, formats, default symbols */
    const char *prefix;  /* channel prefix: "spot" or "futures" */
    const char *ws_paths[3];
    int max_points;               /* REST points per request */
    const char *default_interval; /* REST interval when none is given */
};

static const struct gt_market gt_markets[] = {
    { { "spot", { NULL }, { 4, 6, 8, 0, 0 }, "BTC_USDT,ETH_USDT", "SYM%04d_USDT" },
      "spot",
      { "/ws/v4/", "/ws/v4", NULL },
      1000,
      "30m" },
    { { "usdt", { "futures", "linear", NULL }, { 1, 0, 4, 0, 0 }, "BTC_USDT,ETH_USDT", "SYM%04d_USDT" },
      "futures",
      { "/v4/ws/usdt", NULL },
      2000,
      "5m" },
    { { "btc", { "inverse", NULL }, { 1, 0, 8, 1, 1 }, "BTC_USD,ETH_USD", "SYM%04d_USD" },
      "futures",
      { "/v4/ws/btc", "/v4/ws", NULL },
      2000,
      "5m" },
};

/* Gate's candlestick intervals that the generator has (7d and 30d are not simulated). */
static const char *const gt_intervals[] = { "10s", "1m", "5m", "15m", "30m", "1h", "4h", "8h", "1d", NULL };

static const struct gt_market *gt_m(const struct sim *sim) { return sim->state; }

static int gt_spot(const struct sim *sim) { return !strcmp(gt_m(sim)->prefix, "spot"); }

static int gt_interval(const char *name, struct sim_interval *iv)
{
    return sim_interval_parse_listed(name, gt_intervals, iv);
}

/* --- init ---------------------------------------------------------------------------------- */

static int gt_init(struct sim *sim)
{
    if (!sim_market_init(sim, gt_markets, sizeof gt_markets / sizeof gt_markets[0], sizeof gt_markets[0],
                         "spot, usdt, btc"))
        return -1;
    sim->default_max_msg_rate = 50; /* Gate publishes no WS message limit: generous */
    sim->default_max_streams = 1000;
    sim->default_idle_disconnect = 60; /* no pong, no ping, no request for 60 s: dropped */
    sim->styles = 1;
    return 0;
}

/* --- decimals ------------------------------------------------------------------------------ */

/* A candle's decimal fields as Gate sends them, without trailing zeros ("26720", "0.1701"):
 * base volume v (contracts on futures), quote volume q (spot's v and REST element 2, futures' a
 * and sum). */
static void gt_text(const struct sim *sim, const struct sim_candle *k, struct sim_candle_text *t)
{
    sim_candle_text(&sim->gen.fmt, k, 1, t);
}

/* --- WebSocket ----------------------------------------------------------------------------- */

static int gt_ws_path_ok(struct sim *sim, const char *path)
{
    for (int i = 0; gt_m(sim)->ws_paths[i]; i++)
        if (!strcmp(path, gt_m(sim)->ws_paths[i]))
            return 1;
    return 0;
}

static int gt_ws_open(struct sim *sim, struct sim_client *c, const char *path, const char *query)
{
    (void)sim, (void)path, (void)query;
    sim_client_set_style(c, 0);
    return 0;
}

/* The envelope every reply starts with; id is JSON text or "" for none. */
static void gt_head(struct sim_buf *b, const char *id, const char *channel, const char *event)
{
    int64_t now = sim_now_ms();
    sim_buf_printf(b, "{\"time\":%lld,\"time_ms\":%lld,", (long long)(now / 1000), (long long)now);
    if (*id)
        sim_buf_printf(b, "\"id\":%s,", id);
    sim_buf_printf(b, "\"channel\":\"%s\",\"event\":\"%s\",", channel, event);
}

static void gt_reply_error(struct sim_client *c, const char *id, const char *channel, const char *event, int code,
                           const char *msg)
{
    struct sim_buf b = { 0 };
    gt_head(&b, id, channel, event);
    sim_buf_printf(&b, "\"error\":{\"code\":%d,\"message\":\"%s\"},\"result\":{\"status\":\"fail\"}}", code, msg);
    sim_client_send(c, b.data, b.len);
    sim_buf_free(&b);
}

static void gt_reply_ok(struct sim_client *c, const char *id, const char *channel, const char *event,
                        const char *result)
{
    struct sim_buf b = { 0 };
    gt_head(&b, id, channel, event);
    sim_buf_printf(&b, "\"error\":null,\"result\":%s}", result);
    sim_client_send(c, b.data, b.len);
    sim_buf_free(&b);
}

/* Copies a token as JSON text (for channel/event strings: their content) into buf. */
static void gt_tok(const char *msg, const struct sim_json_tok *t, int i, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (i >= 0 && t[i].end - t[i].start < cap && (t[i].type == SIM_JSON_STRING || t[i].type == SIM_JSON_NUMBER))
        snprintf(buf, cap, "%.*s", (int)(t[i].end - t[i].start), msg + t[i].start);
    for (char *p = buf; *p; p++)
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
            *p = '_'; /* echoed into a reply: keep it valid JSON */
}

/* [interval, pair] of a candlesticks request: subscribes or unsubscribes, then replies. */
static void gt_candlesticks(struct sim *sim, struct sim_client *c, const char *msg, const struct sim_json_tok *t,
                            int payload, int subscribe, const char *id, const char *channel, const char *event)
{
    char ivname[16], pair[64], key[96];
    struct sim_interval iv;
    int a =
        payload >= 0 && t[payload].type == SIM_JSON_ARRAY && t[payload].size == 2 ? sim_json_elem(t, payload, 0) : -1;
    int b = a >= 0 ? sim_json_elem(t, payload, 1) : -1;
    if (a < 0 || sim_json_str(msg, t, a, ivname, sizeof ivname) <= 0 || sim_json_str(msg, t, b, pair, sizeof pair) <= 0)
        return gt_reply_error(c, id, channel, event, 2, "payload must be [interval, currency pair]");
    if (gt_interval(ivname, &iv) < 0)
        return gt_reply_error(c, id, channel, event, 2, "invalid interval");
    snprintf(key, sizeof key, "%s_%s", ivname, pair);
    if (!subscribe) {
        sim_client_unsubscribe(c, key);
    } else {
        if (!sim_symbol_known(sim, pair))
            return gt_reply_error(c, id, channel, event, 2, "unknown currency pair");
        int had = sim_client_stream_count(c) > 0;
        if (sim_client_subscribe(c, key, pair, &iv) < 0)
            return gt_reply_error(c, id, channel, event, 2, "too many subscriptions");
        gt_reply_ok(c, id, channel, event, "{\"status\":\"success\"}");
        if (!had)
            sim_client_start_replay(c);
        return;
    }
    gt_reply_ok(c, id, channel, event, "{\"status\":\"success\"}");
}

/* 1 if the request's "time" is an integer within GT_TIME_SKEW seconds of now. */
static int gt_time_ok(const char *msg, const struct sim_json_tok *t, int v)
{
    char buf[24];
    if (v < 0 || t[v].type != SIM_JSON_NUMBER || t[v].end - t[v].start >= sizeof buf)
        return 0;
    snprintf(buf, sizeof buf, "%.*s", (int)(t[v].end - t[v].start), msg + t[v].start);
    char *end;
    long long s = strtoll(buf, &end, 10);
    long long now = sim_now_ms() / 1000;
    return !*end && s >= now - GT_TIME_SKEW && s <= now + GT_TIME_SKEW;
}

static void gt_ws_message(struct sim *sim, struct sim_client *c, const char *msg, size_t len)
{
    struct sim_json_tok t[GT_MAX_TOKENS];
    char id[24], channel[64], event[32], want[64];
    size_t err_at = 0;
    const char *p = gt_m(sim)->prefix;
    int spot = gt_spot(sim);
    sim_client_count_rx(c);
    int n = sim_json_parse(msg, len, t, GT_MAX_TOKENS, &err_at);
    if (n < 0 || t[0].type != SIM_JSON_OBJECT)
        return gt_reply_error(c, "", "", "", 1, spot ? "Invalid request body format" : "invalid argument struct");
    int idt = sim_json_get(msg, t, 0, "id");
    gt_tok(msg, t, idt >= 0 && t[idt].type == SIM_JSON_NUMBER ? idt : -1, id, sizeof id);
    gt_tok(msg, t, sim_json_get(msg, t, 0, "channel"), channel, sizeof channel);
    gt_tok(msg, t, sim_json_get(msg, t, 0, "event"), event, sizeof event);
    snprintf(want, sizeof want, "%s.ping", p);
    if (!strcmp(channel, want)) {
        struct sim_buf b = { 0 };
        snprintf(want, sizeof want, "%s.pong", p);
        gt_head(&b, id, want, "");
        sim_buf_str(&b, spot ? "\"error\":null,\"result\":null}" : "\"result\":null}");
        sim_client_send(c, b.data, b.len);
        sim_buf_free(&b);
        return;
    }
    snprintf(want, sizeof want, "%s.candlesticks", p);
    if (strcmp(channel, want))
        return gt_reply_error(c, id, channel, event, 2, "unknown channel");
    if (strcmp(event, "subscribe") && strcmp(event, "unsubscribe"))
        return gt_reply_error(c, id, channel, event, 2, "unknown event");
    if (!gt_time_ok(msg, t, sim_json_get(msg, t, 0, "time")))
        return gt_reply_error(c, id, channel, event, 2, "time must be the request time in seconds, within 60 s");
    gt_candlesticks(sim, c, msg, t, sim_json_get(msg, t, 0, "payload"), !strcmp(event, "subscribe"), id, channel,
                    event);
}

/* One push: spot's result object with the w flag, futures' one-element result array. */
static void gt_render(struct sim *sim, const struct sim_stream *s, const struct sim_candle *k, int64_t event_ms,
                      int style, struct sim_buf *out)
{
    struct sim_candle_text x;
    (void)style;
    gt_text(sim, k, &x);
    sim_buf_printf(out, "{\"time\":%lld,\"time_ms\":%lld,\"channel\":\"%s.candlesticks\",\"event\":\"update\",",
                   (long long)(event_ms / 1000), (long long)event_ms, gt_m(sim)->prefix);
    if (gt_spot(sim))
        sim_buf_printf(out,
                       "\"result\":{\"t\":\"%lld\",\"v\":\"%s\",\"c\":\"%s\",\"h\":\"%s\",\"l\":\"%s\","
                       "\"o\":\"%s\",\"n\":\"%s\",\"a\":\"%s\",\"w\":%s}}",
                       (long long)(k->open_time / 1000), x.q, x.c, x.h, x.l, x.o, sim_stream_key(s), x.v,
                       k->closed ? "true" : "false");
    else
        sim_buf_printf(out,
                       "\"result\":[{\"t\":%lld,\"v\":%s,\"c\":\"%s\",\"h\":\"%s\",\"l\":\"%s\","
                       "\"o\":\"%s\",\"n\":\"%s\",\"a\":\"%s\"}]}",
                       (long long)(k->open_time / 1000), x.v, x.c, x.h, x.l, x.o, sim_stream_key(s), x.q);
}

/* candled's Gate adapter: spot volume = a (base), quote volume = v, closed from w; futures
 * volume = v (contracts), no quote volume, no flag. */
static void gt_truth(struct sim *sim, const struct sim_stream *s, const struct sim_candle *k, struct sim_truth *t)
{
    struct sim_candle_text x;
    gt_text(sim, k, &x);
    sim_truth_set(t, s, x.o, x.h, x.l, x.c, x.v, gt_spot(sim) ? x.q : NULL);
    t->flag = gt_spot(sim);
}

/* --- REST ---------------------------------------------------------------------------------- */

static void gt_rest_error(struct sim_http_reply *rep, int status, const char *label, const char *msg)
{
    rep->status = status;
    sim_buf_printf(&rep->body, "{\"label\":\"%s\",\"message\":\"%s\"}", label, msg);
}

/* Optional integer argument (seconds may be negative); 0 absent, 1 present, -1 malformed. */
static int gt_int_arg(const struct sim_http_req *req, const char *name, long long *out)
{
    char buf[GT_ARG_MAX];
    const char *v = sim_http_arg(req, name, buf, sizeof buf);
    if (!v)
        return 0;
    const char *p = *v == '-' ? v + 1 : v;
    if (!*p || strlen(p) > 15)
        return -1;
    for (; *p; p++)
        if (!isdigit((unsigned char)*p))
            return -1;
    *out = strtoll(v, NULL, 10);
    return 1;
}

static void gt_row(struct sim *sim, struct sim_buf *b, const struct sim_candle *k, int first)
{
    struct sim_candle_text x;
    gt_text(sim, k, &x);
    long long t = (long long)(k->open_time / 1000);
    if (gt_spot(sim))
        sim_buf_printf(b, "%s[\"%lld\",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\"]", first ? "" : ",", t, x.q,
                       x.c, x.h, x.l, x.o, x.v, k->closed ? "true" : "false");
    else
        sim_buf_printf(b, "%s{\"t\":%lld,\"v\":%s,\"c\":\"%s\",\"h\":\"%s\",\"l\":\"%s\",\"o\":\"%s\",\"sum\":\"%s\"}",
                       first ? "" : ",", t, x.v, x.c, x.h, x.l, x.o, x.q);
}

/* Rows for the open times first, first + step, ... <= last (never past the current period). */
static void gt_rows(struct sim *sim, struct sim_buf *b, const char *symbol, const struct sim_interval *iv,
                    int64_t first, int64_t last, int64_t now)
{
    uint64_t key = sim_gen_symbol_key(&sim->gen, symbol);
    int64_t cur = sim_interval_floor(iv, now);
    struct sim_candle k;
    int n = 0;
    sim_buf_str(b, "[");
    for (int64_t t = first; t <= last && t <= cur; t = sim_interval_next(iv, t)) {
        sim_gen_candle_asof(&sim->gen, key, iv, t, now, &k);
        gt_row(sim, b, &k, n++ == 0);
    }
    sim_buf_str(b, "]");
}

static void gt_candles(struct sim *sim, const struct sim_http_req *req, const char *symbol_arg,
                       struct sim_http_reply *rep)
{
    char symbol[GT_ARG_MAX], ivname[GT_ARG_MAX], msg[160];
    struct sim_interval iv;
    long long limit = 100, from = 0, to = 0;
    int max = gt_m(sim)->max_points;
    rep->weight = 1;
    if (!sim_http_arg(req, symbol_arg, symbol, sizeof symbol) || !*symbol) {
        snprintf(msg, sizeof msg, "Missing required parameter: %s", symbol_arg);
        return gt_rest_error(rep, 400, "MISSING_REQUIRED_PARAM", msg);
    }
    if (!sim_symbol_known(sim, symbol))
        return gt_spot(sim) ? gt_rest_error(rep, 400, "INVALID_CURRENCY_PAIR", "Invalid currency pair")
                            : gt_rest_error(rep, 400, "CONTRACT_NOT_FOUND", "Contract not found");
    if (!sim_http_arg(req, "interval", ivname, sizeof ivname))
        snprintf(ivname, sizeof ivname, "%s", gt_m(sim)->default_interval); /* Gate's: spot 30m, futures 5m */
    if (gt_interval(ivname, &iv) < 0 || !sim_interval_served(sim, &iv))
        return gt_rest_error(rep, 400, "INVALID_PARAM_VALUE", "Invalid interval");
    int has_limit = gt_int_arg(req, "limit", &limit);
    int has_from = gt_int_arg(req, "from", &from);
    int has_to = gt_int_arg(req, "to", &to);
    if (has_limit < 0 || has_from < 0 || has_to < 0)
        return gt_rest_error(rep, 400, "INVALID_PARAM_VALUE", "Invalid integer parameter");
    if (has_limit && (has_from || has_to))
        return gt_rest_error(rep, 400, "INVALID_PARAM_VALUE", "limit cannot be used with from or to");
    if (limit < 1 || limit > max) {
        snprintf(msg, sizeof msg, "limit must be between 1 and %d", max);
        return gt_rest_error(rep, 400, "INVALID_PARAM_VALUE", msg);
    }
    int64_t now = sim_now_ms(), step = iv.ms;
    int64_t cur = sim_interval_floor(&iv, now);
    int64_t first, last;
    if (!has_from && !has_to) {
        last = cur;
        first = cur - (limit - 1) * step;
    } else {
        int64_t t_ms = has_to ? to * 1000 : now, f_ms = has_from ? from * 1000 : t_ms - 100 * step;
        last = sim_interval_floor(&iv, t_ms);
        first = sim_interval_floor(&iv, f_ms);
        if (first < f_ms)
            first += step;
        if (last >= first && (last - first) / step + 1 > max) {
            snprintf(msg, sizeof msg, "Candlestick range too broad. Maximum %d data points are allowed per request",
                     max);
            return gt_rest_error(rep, 400, "INVALID_PARAM_VALUE", msg);
        }
    }
    if (first < cur - (int64_t)GT_HORIZON * step) {
        snprintf(msg, sizeof msg, "Candlestick too long ago. Maximum %d points ago are allowed", GT_HORIZON);
        return gt_rest_error(rep, 400, "INVALID_PARAM_VALUE", msg);
    }
    rep->status = 200;
    gt_rows(sim, &rep->body, symbol, &iv, first, last, now);
}

static int gt_rest(struct sim *sim, const struct sim_http_req *req, struct sim_http_reply *rep)
{
    char path[64];
    if (gt_spot(sim)) {
        if (strcmp(req->path, "/api/v4/spot/candlesticks"))
            return -1;
        gt_candles(sim, req, "currency_pair", rep);
        return 0;
    }
    snprintf(path, sizeof path, "/api/v4/futures/%s/candlesticks", gt_m(sim)->m.name);
    if (strcmp(req->path, path))
        return -1;
    gt_candles(sim, req, "contract", rep);
    return 0;
}

static void gt_rest_fault_body(struct sim *sim, int status, struct sim_buf *body)
{
    (void)sim;
    if (status == 429)
        sim_buf_str(body, "{\"label\":\"TOO_MANY_REQUESTS\",\"message\":\"Request Rate limit Exceeded "
                          "(candled-sim fault)\"}");
    else
        sim_buf_str(body, "{\"label\":\"SERVER_ERROR\",\"message\":\"Internal server error "
                          "(candled-sim fault)\"}");
}

const struct sim_exchange sim_exchange_gateio = {
    .name = "gateio",
    .init = gt_init,
    .ws_path_ok = gt_ws_path_ok,
    .ws_open = gt_ws_open,
    .ws_message = gt_ws_message,
    .render = gt_render,
    .truth = gt_truth,
    .rest = gt_rest,
    .rest_fault_body = gt_rest_fault_body,
};

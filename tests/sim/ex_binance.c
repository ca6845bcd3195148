/* ex_binance.c - Binance spot, USD-M and COIN-M kline protocol for candled-sim.
 *
 * WebSocket: raw streams /ws/<stream>[/<stream>...], combined /stream?streams=a/b/c (frames
 * wrapped as {"stream":..,"data":..}), plain /ws with live SUBSCRIBE / UNSUBSCRIBE /
 * LIST_SUBSCRIPTIONS / SET_PROPERTY / GET_PROPERTY, and the same under the USD-M /market prefix.
 * Stream names are <lower-case symbol>@kline_<interval>.  REST: GET /api/v3/klines,
 * /fapi/v1/klines and /dapi/v1/klines (12-element rows, oldest first; COIN-M's "most recent
 * `limit` rows before endTime" window), plus the ping and time endpoints.  --market picks the
 * number formats (decimals, COIN-M contracts) and the default control-message limit; all three
 * REST paths are served whatever the market.  The exchange keeps no state of its own. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "sim.h"

#define BN_STYLE_RAW 0
#define BN_STYLE_COMBINED 1
#define BN_MAX_TOKENS 1100 /* a SUBSCRIBE with up to ~1024 params */
#define BN_DAY_MS 86400000LL

struct bn_market {
    struct sim_market m; /* first: names, formats, default symbols */
    int max_msg_rate;    /* incoming messages per second per connection */
};

static const struct bn_market bn_markets[] = {
    { { "spot", { NULL }, { 8, 8, 8, 0, 0 }, "BTCUSDT,ETHUSDT", "SYM%04dUSDT" }, 5 },
    { { "usdm", { "futures", "linear", NULL }, { 2, 3, 4, 0, 0 }, "BTCUSDT,ETHUSDT", "SYM%04dUSDT" }, 10 },
    { { "coinm", { "delivery", "inverse", NULL }, { 2, 0, 8, 1, 10 }, "BTCUSD_PERP,ETHUSD_PERP", "SYM%04dUSD_PERP" },
      10 },
};

/* REST klines endpoints: path, max limit, weight rule, COIN-M window rule. */
struct bn_route {
    const char *path;
    int max_limit;
    int futures_weight; /* weight by limit; else a flat 2 */
    int coinm_window;   /* startTime/endTime window of at most 200 days, newest first */
};

static const struct bn_route bn_routes[] = {
    { "/api/v3/klines", 1000, 0, 0 },
    { "/fapi/v1/klines", 1500, 1, 0 },
    { "/dapi/v1/klines", 1500, 1, 1 },
};

/* --- init ---------------------------------------------------------------------------------- */

static int bn_init(struct sim *sim)
{
    const struct bn_market *m = sim_market_init(sim, bn_markets, sizeof bn_markets / sizeof bn_markets[0],
                                                sizeof bn_markets[0], "spot, usdm, coinm");
    if (!m)
        return -1;
    sim->default_max_msg_rate = m->max_msg_rate;
    sim->default_max_streams = 1024;
    sim->default_ping_interval = 20;
    sim->styles = 2;
    return 0;
}

/* Binance has every interval the generator knows except 10s. */
static int bn_interval(const char *name, struct sim_interval *iv)
{
    return strcmp(name, "10s") ? sim_interval_parse(name, iv) : -1;
}

/* --- WebSocket ----------------------------------------------------------------------------- */

/* Strips the USD-M "/market" route prefix. */
static const char *bn_route_path(const char *path) { return !strncmp(path, "/market/", 8) ? path + 7 : path; }

static int bn_ws_path_ok(struct sim *sim, const char *path)
{
    path = bn_route_path(path);
    return !strcmp(path, "/ws") || !strncmp(path, "/ws/", 4) || !strcmp(path, "/stream");
}

/* Splits "<symbol>@kline_<interval>" and subscribes; silent streams for anything else. */
static int bn_subscribe_name(struct sim_client *c, const char *name)
{
    char symbol[64];
    struct sim_interval iv = { 0 };
    const char *at = strstr(name, "@kline_");
    size_t n = at ? (size_t)(at - name) : 0;
    if (!at || n == 0 || n >= sizeof symbol || bn_interval(at + 7, &iv) < 0) {
        symbol[0] = '\0'; /* not a kline stream: acknowledged, never fed */
    } else {
        for (size_t i = 0; i < n; i++)
            symbol[i] = (char)toupper((unsigned char)name[i]);
        symbol[n] = '\0';
    }
    return sim_client_subscribe(c, name, symbol, symbol[0] ? &iv : NULL);
}

/* Subscribes every '/'-separated name of list; -1 if the client hits its stream limit. */
static int bn_subscribe_list(struct sim_client *c, char *list)
{
    char *save = NULL;
    for (char *tok = strtok_r(list, "/", &save); tok; tok = strtok_r(NULL, "/", &save))
        if (*tok && bn_subscribe_name(c, tok) < 0)
            return -1;
    return 0;
}

/* Subscribes the '/'-separated names in the first n bytes of s; -1 if over the limit. */
static int bn_subscribe_span(struct sim_client *c, const char *s, size_t n)
{
    char *list = malloc(n + 1);
    if (!list)
        abort();
    memcpy(list, s, n);
    list[n] = '\0';
    int rc = bn_subscribe_list(c, list);
    free(list);
    return rc;
}

static int bn_ws_open(struct sim *sim, struct sim_client *c, const char *path, const char *query)
{
    path = bn_route_path(path);
    if (!strcmp(path, "/stream")) {
        sim_client_set_style(c, BN_STYLE_COMBINED);
        const char *q = !strncmp(query, "streams=", 8) ? query : strstr(query, "&streams=");
        if (q) {
            q = strchr(q, '=') + 1;
            if (bn_subscribe_span(c, q, strcspn(q, "&")) < 0)
                return -1;
        }
        if (sim_client_stream_count(c) > 0)
            sim_client_start_replay(c);
        return 0;
    }
    sim_client_set_style(c, BN_STYLE_RAW);
    if (!strncmp(path, "/ws/", 4) && path[4]) {
        if (bn_subscribe_span(c, path + 4, strlen(path + 4)) < 0)
            return -1;
        sim_client_start_replay(c);
    }
    return 0;
}

static void bn_reply_error(struct sim_client *c, int code, const char *msg, const char *id)
{
    sim_client_sendf(c, "{\"error\":{\"code\":%d,\"msg\":\"%s\"},\"id\":%s}", code, msg, id);
}

static void bn_reply_result(struct sim_client *c, const char *result, const char *id)
{
    sim_client_sendf(c, "{\"result\":%s,\"id\":%s}", result, id);
}

/* Copies the request id as JSON text: an integer, a string of <= 36 alphanumerics, or null. */
static int bn_request_id(const char *msg, const struct sim_json_tok *t, int v, char *id, size_t cap)
{
    if (v < 0) {
        snprintf(id, cap, "null");
        return 0;
    }
    size_t n = t[v].end - t[v].start;
    if (t[v].type == SIM_JSON_NULL) {
        snprintf(id, cap, "null");
        return 0;
    }
    if (t[v].type == SIM_JSON_NUMBER) {
        for (size_t i = t[v].start; i < t[v].end; i++)
            if (!isdigit((unsigned char)msg[i]) && !(i == t[v].start && msg[i] == '-'))
                return -1;
        if (n >= cap || n > 20)
            return -1;
    } else if (t[v].type == SIM_JSON_STRING) {
        if (n > 36)
            return -1;
        for (size_t i = t[v].start; i < t[v].end; i++)
            if (!isalnum((unsigned char)msg[i]) && msg[i] != '-' && msg[i] != '_')
                return -1;
        snprintf(id, cap, "\"%.*s\"", (int)n, msg + t[v].start);
        return 0;
    } else {
        return -1;
    }
    snprintf(id, cap, "%.*s", (int)n, msg + t[v].start);
    return 0;
}

static void bn_list_subscriptions(struct sim_client *c, const char *id)
{
    struct sim_buf b = { 0 };
    sim_buf_str(&b, "[");
    for (int i = 0; i < sim_client_stream_count(c); i++)
        sim_buf_printf(&b, "%s\"%s\"", i ? "," : "", sim_client_stream_key(c, i));
    sim_buf_str(&b, "]");
    bn_reply_result(c, b.data, id);
    sim_buf_free(&b);
}

static void bn_subscribe_msg(struct sim_client *c, const char *msg, const struct sim_json_tok *t, int params,
                             int subscribe, const char *id)
{
    char name[200];
    if (params < 0 || t[params].type != SIM_JSON_ARRAY || t[params].size == 0) {
        bn_reply_error(c, 2, "Invalid request: params must be a non-empty array of stream names", id);
        return;
    }
    for (int i = 0; i < t[params].size; i++) {
        int e = sim_json_elem(t, params, i);
        if (sim_json_str(msg, t, e, name, sizeof name) <= 0) {
            bn_reply_error(c, 2, "Invalid request: stream names must be strings", id);
            return;
        }
    }
    int had_streams = sim_client_stream_count(c) > 0;
    for (int i = 0; i < t[params].size; i++) {
        sim_json_str(msg, t, sim_json_elem(t, params, i), name, sizeof name);
        if (!subscribe) {
            sim_client_unsubscribe(c, name);
        } else if (bn_subscribe_name(c, name) < 0) {
            bn_reply_error(c, 2, "Invalid request: too many streams on this connection", id);
            return;
        }
    }
    bn_reply_result(c, "null", id);
    if (subscribe && !had_streams)
        sim_client_start_replay(c); /* after the ack, as the brief for --replay asks */
}

static void bn_ws_message(struct sim *sim, struct sim_client *c, const char *msg, size_t len)
{
    struct sim_json_tok *t = malloc(BN_MAX_TOKENS * sizeof *t);
    char id[64], buf[160];
    size_t err_at = 0;
    if (!t)
        abort();
    sim_client_count_rx(c);
    int n = sim_json_parse(msg, len, t, BN_MAX_TOKENS, &err_at);
    if (n == -2) {
        bn_reply_error(c, 2, "Invalid request: too many parameters", "null");
        goto done;
    }
    if (n < 0) {
        snprintf(buf, sizeof buf, "Invalid JSON: expected value at line 1 column %zu", err_at + 1);
        bn_reply_error(c, 3, buf, "null");
        goto done;
    }
    if (t[0].type != SIM_JSON_OBJECT) {
        bn_reply_error(c, 2, "Invalid request: expected a JSON object", "null");
        goto done;
    }
    if (bn_request_id(msg, t, sim_json_get(msg, t, 0, "id"), id, sizeof id) < 0) {
        bn_reply_error(c, 2, "Invalid request: request ID must be an unsigned integer", "null");
        goto done;
    }
    int method = sim_json_get(msg, t, 0, "method");
    int params = sim_json_get(msg, t, 0, "params");
    if (method < 0) {
        bn_reply_error(c, 2, "Invalid request: missing field `method`", id);
    } else if (sim_json_streq(msg, t, method, "SUBSCRIBE")) {
        bn_subscribe_msg(c, msg, t, params, 1, id);
    } else if (sim_json_streq(msg, t, method, "UNSUBSCRIBE")) {
        bn_subscribe_msg(c, msg, t, params, 0, id);
    } else if (sim_json_streq(msg, t, method, "LIST_SUBSCRIPTIONS")) {
        bn_list_subscriptions(c, id);
    } else if (sim_json_streq(msg, t, method, "SET_PROPERTY") || sim_json_streq(msg, t, method, "GET_PROPERTY")) {
        int set = sim_json_streq(msg, t, method, "SET_PROPERTY");
        int p0 = params >= 0 ? sim_json_elem(t, params, 0) : -1;
        int p1 = params >= 0 ? sim_json_elem(t, params, 1) : -1;
        if (p0 < 0 || !sim_json_streq(msg, t, p0, "combined")) {
            bn_reply_error(c, 0, "Unknown property", id);
        } else if (!set) {
            bn_reply_result(c, sim_client_style(c) == BN_STYLE_COMBINED ? "true" : "false", id);
        } else if (p1 < 0 || (t[p1].type != SIM_JSON_TRUE && t[p1].type != SIM_JSON_FALSE)) {
            bn_reply_error(c, 1, "Invalid value type: expected Boolean", id);
        } else {
            sim_client_set_style(c, t[p1].type == SIM_JSON_TRUE ? BN_STYLE_COMBINED : BN_STYLE_RAW);
            bn_reply_result(c, "null", id);
        }
    } else {
        bn_reply_error(c, 2,
                       "Invalid request: unknown variant, expected one of `SUBSCRIBE`, "
                       "`UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`",
                       id);
    }
done:
    free(t);
}

/* A candle's decimal fields as text, in the market's formats (WS events and REST rows share it). */
struct bn_text {
    struct sim_candle_text k; /* o h l c v q */
    char tv[32], tq[32];
};

static void bn_text(const struct sim *sim, const struct sim_candle *k, struct bn_text *t)
{
    const struct sim_gen_format *f = &sim->gen.fmt;
    sim_candle_text(f, k, 0, &t->k);
    sim_fmt_dec(t->tv, sizeof t->tv, k->tv, f->qty_dp);
    sim_fmt_dec(t->tq, sizeof t->tq, k->tq, f->quote_dp);
}

/* The kline event, field for field in the order of the recorded frames. */
static void bn_render(struct sim *sim, const struct sim_stream *s, const struct sim_candle *k, int64_t event_ms,
                      int style, struct sim_buf *out)
{
    struct bn_text t;
    bn_text(sim, k, &t);
    const char *sym = sim_stream_symbol(s);
    if (style == BN_STYLE_COMBINED)
        sim_buf_printf(out, "{\"stream\":\"%s\",\"data\":", sim_stream_key(s));
    sim_buf_printf(out,
                   "{\"e\":\"kline\",\"E\":%lld,\"s\":\"%s\",\"k\":{\"t\":%lld,\"T\":%lld,"
                   "\"s\":\"%s\",\"i\":\"%s\",\"f\":%lld,\"L\":%lld,\"o\":\"%s\",\"c\":\"%s\","
                   "\"h\":\"%s\",\"l\":\"%s\",\"v\":\"%s\",\"n\":%lld,\"x\":%s,\"q\":\"%s\","
                   "\"V\":\"%s\",\"Q\":\"%s\",\"B\":\"0\"}}",
                   (long long)event_ms, sym, (long long)k->open_time, (long long)k->close_time, sym,
                   sim_stream_interval(s)->name, (long long)k->first_trade, (long long)k->last_trade, t.k.o, t.k.c,
                   t.k.h, t.k.l, t.k.v, (long long)k->trades, k->closed ? "true" : "false", t.k.q, t.tv, t.tq);
    if (style == BN_STYLE_COMBINED)
        sim_buf_str(out, "}");
}

/* --- REST ---------------------------------------------------------------------------------- */

static void bn_rest_error(struct sim_http_reply *rep, int status, int code, const char *msg)
{
    rep->status = status;
    sim_buf_printf(&rep->body, "{\"code\":%d,\"msg\":\"%s\"}", code, msg);
}

static int bn_weight(const struct bn_route *r, long long limit)
{
    if (!r->futures_weight)
        return 2;
    return limit < 100 ? 1 : limit < 500 ? 2 : limit <= 1000 ? 5 : 10;
}

static void bn_row(struct sim *sim, struct sim_buf *b, const struct sim_candle *k, int first)
{
    struct bn_text t;
    bn_text(sim, k, &t);
    sim_buf_printf(b, "%s[%lld,\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",%lld,\"%s\",%lld,\"%s\",\"%s\",\"0\"]",
                   first ? "" : ",", (long long)k->open_time, t.k.o, t.k.h, t.k.l, t.k.c, t.k.v,
                   (long long)k->close_time, t.k.q, (long long)k->trades, t.tv, t.tq);
}

/* Open times [first, last] (both aligned, first <= last) rendered oldest first. */
static void bn_rows(struct sim *sim, struct sim_buf *b, const char *symbol, const struct sim_interval *iv,
                    int64_t first, int64_t last, int64_t now)
{
    uint64_t key = sim_gen_symbol_key(&sim->gen, symbol);
    struct sim_candle k;
    sim_buf_str(b, "[");
    int n = 0;
    for (int64_t t = first; t <= last; t = sim_interval_next(iv, t)) {
        sim_gen_candle_asof(&sim->gen, key, iv, t, now, &k);
        bn_row(sim, b, &k, n++ == 0);
    }
    sim_buf_str(b, "]");
}

/* Smallest open time >= t. */
static int64_t bn_ceil_open(const struct sim_interval *iv, int64_t t)
{
    int64_t f = sim_interval_floor(iv, t);
    return f == t ? f : sim_interval_next(iv, f);
}

/* Steps back `count - 1` periods from `last`, not before `lo`. */
static int64_t bn_back(const struct sim_interval *iv, int64_t last, long long count, int64_t lo)
{
    int64_t t = last;
    for (long long i = 1; i < count; i++) {
        int64_t prev = sim_interval_floor(iv, t - 1);
        if (prev < lo)
            break;
        t = prev;
    }
    return t;
}

static void bn_klines(struct sim *sim, const struct bn_route *r, const struct sim_http_req *req,
                      struct sim_http_reply *rep)
{
    char symbol[64], ivname[16];
    struct sim_interval iv;
    long long limit = 500, start = 0, end = 0;
    rep->weight = 2;
    if (!sim_http_arg(req, "symbol", symbol, sizeof symbol) || !*symbol)
        return bn_rest_error(rep, 400, -1102,
                             "Mandatory parameter 'symbol' was not sent, was empty/null, or "
                             "malformed.");
    if (!sim_http_arg(req, "interval", ivname, sizeof ivname) || !*ivname)
        return bn_rest_error(rep, 400, -1102,
                             "Mandatory parameter 'interval' was not sent, was empty/null, or "
                             "malformed.");
    if (!sim_symbol_known(sim, symbol))
        return bn_rest_error(rep, 400, -1121, "Invalid symbol.");
    if (bn_interval(ivname, &iv) < 0 || !sim_interval_served(sim, &iv))
        return bn_rest_error(rep, 400, -1120, "Invalid interval.");
    int has_limit = sim_http_int_arg(req, "limit", &limit);
    int has_start = sim_http_int_arg(req, "startTime", &start);
    int has_end = sim_http_int_arg(req, "endTime", &end);
    if (has_limit < 0)
        return bn_rest_error(rep, 400, -1100,
                             "Illegal characters found in parameter 'limit'; legal range is "
                             "'^[0-9]{1,20}$'.");
    if (has_start < 0 || has_end < 0)
        return bn_rest_error(rep, 400, -1100, "Illegal characters found in a parameter.");
    if (limit < 1 || limit > r->max_limit)
        return bn_rest_error(rep, 400, -1130, "Data sent for parameter 'limit' is not valid.");
    if (has_start && has_end && start > end)
        return bn_rest_error(rep, 400, -1023, "Start time is greater than end time.");
    rep->weight = bn_weight(r, limit);

    int64_t now = sim_now_ms();
    int64_t cur = sim_interval_floor(&iv, now);
    int64_t first, last;
    if (r->coinm_window && (has_start || has_end)) {
        /* COIN-M: a window of at most 200 days, the most recent `limit` rows before its end */
        if (has_start && has_end && end - start > 200 * BN_DAY_MS)
            return bn_rest_error(rep, 400, -1127,
                                 "More than 200 days between startTime and "
                                 "endTime.");
        if (!has_end)
            end = start + 200 * BN_DAY_MS;
        if (!has_start)
            start = end - 200 * BN_DAY_MS;
        last = sim_interval_floor(&iv, end < now ? end : now);
        first = bn_back(&iv, last, limit, bn_ceil_open(&iv, start));
    } else if (has_start) {
        first = bn_ceil_open(&iv, start);
        int64_t stop = has_end && end < now ? end : now;
        last = first;
        for (long long i = 1; i < limit; i++) {
            int64_t nx = sim_interval_next(&iv, last);
            if (nx > stop)
                break;
            last = nx;
        }
    } else {
        last = has_end ? sim_interval_floor(&iv, end) : cur;
        if (last > cur)
            last = cur;
        first = bn_back(&iv, last, limit, INT64_MIN);
    }
    rep->status = 200;
    if (first > last || first > cur || (has_end && first > end)) {
        sim_buf_str(&rep->body, "[]");
        return;
    }
    bn_rows(sim, &rep->body, symbol, &iv, first, last > cur ? cur : last, now);
}

static int bn_rest(struct sim *sim, const struct sim_http_req *req, struct sim_http_reply *rep)
{
    for (size_t i = 0; i < sizeof bn_routes / sizeof bn_routes[0]; i++)
        if (!strcmp(req->path, bn_routes[i].path)) {
            bn_klines(sim, &bn_routes[i], req, rep);
            return 0;
        }
    if (!strcmp(req->path, "/api/v3/ping") || !strcmp(req->path, "/fapi/v1/ping") ||
        !strcmp(req->path, "/dapi/v1/ping")) {
        rep->status = 200;
        rep->weight = 1;
        sim_buf_str(&rep->body, "{}");
        return 0;
    }
    if (!strcmp(req->path, "/api/v3/time") || !strcmp(req->path, "/fapi/v1/time") ||
        !strcmp(req->path, "/dapi/v1/time")) {
        rep->status = 200;
        rep->weight = 1;
        sim_buf_printf(&rep->body, "{\"serverTime\":%lld}", (long long)sim_now_ms());
        return 0;
    }
    return -1;
}

static void bn_rest_fault_body(struct sim *sim, int status, struct sim_buf *body)
{
    if (status == 429 || status == 418)
        sim_buf_str(body, "{\"code\":-1003,\"msg\":\"Too many requests; current limit of IP is "
                          "6000 request weight per minute (candled-sim fault).\"}");
    else
        sim_buf_str(body, "{\"code\":-1001,\"msg\":\"Internal error; unable to process your "
                          "request. Please try again.\"}");
}

/* candled's Binance adapter reports v as the volume and q as the quote volume, except on COIN-M
 * where v counts contracts: there q (the base-asset volume) is the volume and there is no quote
 * volume. */
static void bn_truth(struct sim *sim, const struct sim_stream *s, const struct sim_candle *k, struct sim_truth *t)
{
    struct bn_text x;
    int inverse = sim->gen.fmt.inverse;
    bn_text(sim, k, &x);
    sim_truth_set(t, s, x.k.o, x.k.h, x.k.l, x.k.c, inverse ? x.k.q : x.k.v, inverse ? NULL : x.k.q);
    t->close_time = k->close_time;
    t->trades = k->trades;
    t->flag = 1;
}

const struct sim_exchange sim_exchange_binance = {
    .name = "binance",
    .init = bn_init,
    .ws_path_ok = bn_ws_path_ok,
    .ws_open = bn_ws_open,
    .ws_message = bn_ws_message,
    .render = bn_render,
    .truth = bn_truth,
    .rest = bn_rest,
    .rest_fault_body = bn_rest_fault_body,
};

/* ex_bybit.c - Bybit v5 spot, linear and inverse kline protocol for candled-sim.
 *
 * WebSocket: /v5/public/<market> (only the --market's path), live {"op":"subscribe"|
 * "unsubscribe","args":[topics],"req_id":..} answered {"success":..,"ret_msg":..,"conn_id":..,
 * "req_id":..,"op":..} in each market's ack shape, spot's 10-args-per-request limit enforced with
 * Bybit's error, {"op":"ping"} answered with the market's pong, and pushes
 * {"topic":"kline.<iv>.<SYMBOL>","data":[{..,"confirm":..}],"ts":..,"type":"snapshot"}.  Clients
 * that send nothing for 10 minutes are dropped (Bybit's rule; --idle-disconnect overrides it).
 * REST: GET /v5/market/kline (7-string rows, newest first, the most recent `limit` periods of
 * [start, end]) and /v5/market/time.  Decimals are printed the way Bybit prints them: trailing
 * zeros trimmed ("16677", "17055.5").  The exchange keeps no per-client state. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "sim.h"

#define BB_MAX_TOKENS 4096 /* a futures subscribe with ~2000 topics */
#define BB_MAX_LIMIT 1000
#define BB_IDLE_S 600       /* "no ping-pong and no stream data ... cut off after 10 minutes" */
#define BB_ARGS_CHARS 21000 /* one public connection's args, in characters */

struct bb_market {
    struct sim_market m; /* first: names, formats, default symbols */
    int args_limit;      /* topics per subscribe request; 0 = none */
    int spot_acks;       /* spot's reply shape: ret_msg = op, req_id only if sent */
};

static const struct bb_market bb_markets[] = {
    { { "spot", { NULL }, { 2, 6, 8, 0, 0 }, "BTCUSDT,ETHUSDT", "SYM%04dUSDT" }, 10, 1 },
    { { "linear", { NULL }, { 2, 3, 4, 0, 0 }, "BTCUSDT,ETHUSDT", "SYM%04dUSDT" }, 0, 0 },
    /* inverse: `volume` counts contracts of 1 USD, `turnover` is the base coin */
    { { "inverse", { NULL }, { 1, 0, 8, 1, 1 }, "BTCUSD,ETHUSD", "SYM%04dUSD" }, 0, 0 },
};

/* Bybit's interval names and the canonical ones of the generator. */
static const struct {
    const char *bybit, *canonical;
} bb_intervals[] = {
    { "1", "1m" },  { "3", "3m" },   { "5", "5m" },   { "15", "15m" }, { "30", "30m" },
    { "60", "1h" }, { "120", "2h" }, { "240", "4h" }, { "360", "6h" }, { "720", "12h" },
    { "D", "1d" },  { "W", "1w" },   { "M", "1M" },
};
#define BB_N_INTERVALS (sizeof bb_intervals / sizeof bb_intervals[0])

static const struct bb_market *bb_market(const struct sim *sim) { return sim->state; }

static int bb_interval(const char *name, struct sim_interval *iv)
{
    for (size_t i = 0; i < BB_N_INTERVALS; i++)
        if (!strcmp(name, bb_intervals[i].bybit))
            return sim_interval_parse(bb_intervals[i].canonical, iv);
    return -1;
}

static const char *bb_interval_name(const struct sim_interval *iv)
{
    for (size_t i = 0; i < BB_N_INTERVALS; i++)
        if (!strcmp(iv->name, bb_intervals[i].canonical))
            return bb_intervals[i].bybit;
    return "?";
}

/* --- init ---------------------------------------------------------------------------------- */

static int bb_init(struct sim *sim)
{
    if (!sim_market_init(sim, bb_markets, sizeof bb_markets / sizeof bb_markets[0], sizeof bb_markets[0],
                         "spot, linear, inverse"))
        return -1;
    sim->default_max_msg_rate = 100; /* Bybit documents no incoming-message limit */
    sim->default_max_streams = 2000;
    sim->default_idle_disconnect = BB_IDLE_S;
    sim->default_ping_interval = 20; /* the simulator's former default for every exchange */
    sim->styles = 1;
    return 0;
}

/* --- WebSocket ----------------------------------------------------------------------------- */

static int bb_ws_path_ok(struct sim *sim, const char *path)
{
    return !strncmp(path, "/v5/public/", 11) && !strcmp(path + 11, bb_market(sim)->m.name);
}

static int bb_ws_open(struct sim *sim, struct sim_client *c, const char *path, const char *query)
{
    (void)sim, (void)path, (void)query;
    sim_client_set_style(c, 0);
    return 0;
}

/* A connection id in Bybit's UUID shape, stable for the client's lifetime. */
static void bb_conn_id(const struct sim_client *c, char *out, size_t cap)
{
    unsigned long long p = (unsigned long long)(uintptr_t)c;
    snprintf(out, cap, "%08llx-%04llx-4%03llx-8%03llx-%012llx", p & 0xffffffffULL, (p >> 32) & 0xffff, (p >> 8) & 0xfff,
             (p >> 20) & 0xfff, p & 0xffffffffffffULL);
}

/* One reply: {"success":..,"ret_msg":..,"conn_id":..,["req_id":..,]"op":..}.  ret_msg is JSON
 * string content (already escaped); req_id NULL = not sent. */
static void bb_reply(struct sim *sim, struct sim_client *c, int ok, const char *ret_msg, const char *req_id,
                     const char *op)
{
    struct sim_buf b = { 0 };
    char conn[64];
    bb_conn_id(c, conn, sizeof conn);
    sim_buf_printf(&b, "{\"success\":%s,\"ret_msg\":\"%s\",\"conn_id\":\"%s\"", ok ? "true" : "false", ret_msg, conn);
    if (req_id || !bb_market(sim)->spot_acks)
        sim_buf_printf(&b, ",\"req_id\":\"%s\"", req_id ? req_id : "");
    sim_buf_printf(&b, ",\"op\":\"%s\"}", op);
    sim_client_send(c, b.data, b.len);
    sim_buf_free(&b);
}

/* Splits "kline.<interval>.<SYMBOL>": 1 a kline topic, 0 another kind of topic, -1 malformed. */
static int bb_topic(const char *topic, char *symbol, size_t cap, struct sim_interval *iv)
{
    char name[16];
    if (strncmp(topic, "kline.", 6))
        return 0;
    const char *dot = strchr(topic + 6, '.');
    size_t n = dot ? (size_t)(dot - topic - 6) : 0;
    if (!dot || n == 0 || n >= sizeof name || !dot[1] || strlen(dot + 1) >= cap)
        return -1;
    memcpy(name, topic + 6, n);
    name[n] = '\0';
    if (bb_interval(name, iv) < 0)
        return -1;
    strcpy(symbol, dot + 1);
    return 1;
}

static int bb_subscribed(const struct sim_client *c, const char *topic)
{
    for (int i = 0; i < sim_client_stream_count(c); i++)
        if (!strcmp(sim_client_stream_key(c, i), topic))
            return 1;
    return 0;
}

/* Characters of the topics the client holds. */
static size_t bb_args_chars(const struct sim_client *c)
{
    size_t n = 0;
    for (int i = 0; i < sim_client_stream_count(c); i++)
        n += strlen(sim_client_stream_key(c, i));
    return n;
}

/* Checks every topic of a subscribe before taking any: a refusal changes nothing.  Returns 0 or
 * -1 with the error text in err. */
static int bb_check_topics(struct sim *sim, struct sim_client *c, const char *msg, const struct sim_json_tok *t,
                           int args, int subscribe, char *err, size_t cap)
{
    char topic[200], symbol[64];
    struct sim_interval iv;
    size_t chars = subscribe ? bb_args_chars(c) : 0;
    for (int i = 0; i < t[args].size; i++) {
        if (sim_json_str(msg, t, sim_json_elem(t, args, i), topic, sizeof topic) <= 0) {
            snprintf(err, cap, "error:args must be topic strings");
            return -1;
        }
        if (!subscribe)
            continue;
        int kind = bb_topic(topic, symbol, sizeof symbol, &iv);
        if (kind < 0) {
            snprintf(err, cap, "error:handler not found,topic:%.150s", topic);
            return -1;
        }
        if (kind == 1 && !sim_symbol_known(sim, symbol)) {
            snprintf(err, cap, "Invalid symbol :[%.150s]", topic);
            return -1;
        }
        if (bb_subscribed(c, topic)) {
            snprintf(err, cap, "error:already subscribed,topic:%.150s", topic);
            return -1;
        }
        chars += strlen(topic);
        if (chars > BB_ARGS_CHARS) {
            snprintf(err, cap, "error:args of this connection over %d characters", BB_ARGS_CHARS);
            return -1;
        }
    }
    return 0;
}

static void bb_subscribe_msg(struct sim *sim, struct sim_client *c, const char *msg, const struct sim_json_tok *t,
                             int args, int subscribe, const char *req_id)
{
    const char *op = subscribe ? "subscribe" : "unsubscribe";
    const struct bb_market *m = bb_market(sim);
    char err[200], topic[200], symbol[64];
    struct sim_interval iv;
    if (args < 0 || t[args].type != SIM_JSON_ARRAY || t[args].size == 0)
        return bb_reply(sim, c, 0, "error:args must be a non-empty array of topics", req_id, op);
    if (m->args_limit && t[args].size > m->args_limit) {
        snprintf(err, sizeof err, "args size \\u003e%d", m->args_limit); /* as Bybit escapes '>' */
        return bb_reply(sim, c, 0, err, req_id, op);
    }
    if (bb_check_topics(sim, c, msg, t, args, subscribe, err, sizeof err) < 0)
        return bb_reply(sim, c, 0, err, req_id, op);
    int had_streams = sim_client_stream_count(c) > 0;
    for (int i = 0; i < t[args].size; i++) {
        sim_json_str(msg, t, sim_json_elem(t, args, i), topic, sizeof topic);
        if (!subscribe) {
            sim_client_unsubscribe(c, topic);
            continue;
        }
        int kind = bb_topic(topic, symbol, sizeof symbol, &iv);
        if (sim_client_subscribe(c, topic, kind == 1 ? symbol : NULL, kind == 1 ? &iv : NULL) < 0)
            return bb_reply(sim, c, 0, "error:too many topics on this connection", req_id, op);
    }
    bb_reply(sim, c, 1, m->spot_acks ? op : "", req_id, op);
    if (subscribe && !had_streams)
        sim_client_start_replay(c); /* after the first ack */
}

/* Copies req_id (a string of printable characters other than '"' and '\'); NULL if absent. */
static int bb_req_id(const char *msg, const struct sim_json_tok *t, int v, char *buf, size_t cap, const char **out)
{
    *out = NULL;
    if (v < 0)
        return 0;
    if (sim_json_str(msg, t, v, buf, cap) < 0)
        return -1;
    for (const char *p = buf; *p; p++)
        if (!isprint((unsigned char)*p) || *p == '"' || *p == '\\')
            return -1;
    *out = buf;
    return 0;
}

static void bb_ws_message(struct sim *sim, struct sim_client *c, const char *msg, size_t len)
{
    struct sim_json_tok *t = malloc(BB_MAX_TOKENS * sizeof *t);
    char idbuf[80], opname[32];
    const char *req_id;
    size_t err_at = 0;
    if (!t)
        abort();
    sim_client_count_rx(c);
    int n = sim_json_parse(msg, len, t, BB_MAX_TOKENS, &err_at);
    int op = n > 0 && t[0].type == SIM_JSON_OBJECT ? sim_json_get(msg, t, 0, "op") : -1;
    if (n == -2) {
        bb_reply(sim, c, 0, "error:request too large", NULL, "");
    } else if (n < 0 || t[0].type != SIM_JSON_OBJECT) {
        bb_reply(sim, c, 0, "error:request must be a JSON object", NULL, "");
    } else if (bb_req_id(msg, t, sim_json_get(msg, t, 0, "req_id"), idbuf, sizeof idbuf, &req_id) < 0) {
        bb_reply(sim, c, 0, "error:req_id must be a string", NULL, "");
    } else if (op < 0 || sim_json_str(msg, t, op, opname, sizeof opname) <= 0 || strchr(opname, '"')) {
        bb_reply(sim, c, 0, "error:missing op", req_id, "");
    } else if (!strcmp(opname, "ping")) {
        bb_reply(sim, c, 1, "pong", req_id, "ping");
    } else if (!strcmp(opname, "subscribe") || !strcmp(opname, "unsubscribe")) {
        bb_subscribe_msg(sim, c, msg, t, sim_json_get(msg, t, 0, "args"), opname[0] == 's', req_id);
    } else {
        bb_reply(sim, c, 0, "error:unsupported op", req_id, opname);
    }
    free(t);
}

/* --- candles ------------------------------------------------------------------------------- */

/* A candle's decimals as Bybit prints them (trailing zeros and a bare point dropped). */
static void bb_text(const struct sim *sim, const struct sim_candle *k, struct sim_candle_text *t)
{
    sim_candle_text(&sim->gen.fmt, k, 1, t);
}

/* The push: `timestamp` is the last trade's time, inside the candle; `ts` the event time. */
static void bb_render(struct sim *sim, const struct sim_stream *s, const struct sim_candle *k, int64_t event_ms,
                      int style, struct sim_buf *out)
{
    struct sim_candle_text x;
    (void)style;
    bb_text(sim, k, &x);
    int64_t last_trade = event_ms < k->close_time ? event_ms : k->close_time;
    sim_buf_printf(out,
                   "{\"topic\":\"%s\",\"data\":[{\"start\":%lld,\"end\":%lld,\"interval\":\"%s\","
                   "\"open\":\"%s\",\"close\":\"%s\",\"high\":\"%s\",\"low\":\"%s\",\"volume\":\"%s\","
                   "\"turnover\":\"%s\",\"confirm\":%s,\"timestamp\":%lld}],\"ts\":%lld,\"type\":\"snapshot\"}",
                   sim_stream_key(s), (long long)k->open_time, (long long)k->close_time,
                   bb_interval_name(sim_stream_interval(s)), x.o, x.c, x.h, x.l, x.v, x.q, k->closed ? "true" : "false",
                   (long long)last_trade, (long long)event_ms);
}

/* candled's Bybit adapter reports `volume` as the volume and `turnover` as the quote volume,
 * swapped on inverse, where `volume` counts USD contracts and `turnover` is the base coin. */
static void bb_truth(struct sim *sim, const struct sim_stream *s, const struct sim_candle *k, struct sim_truth *t)
{
    struct sim_candle_text x;
    int inverse = sim->gen.fmt.inverse;
    bb_text(sim, k, &x);
    sim_truth_set(t, s, x.o, x.h, x.l, x.c, inverse ? x.q : x.v, inverse ? x.v : x.q);
    t->close_time = k->close_time;
    t->flag = 1;
}

/* --- REST ---------------------------------------------------------------------------------- */

static void bb_rest_body(struct sim_buf *b, int code, const char *msg)
{
    sim_buf_printf(b, "{\"retCode\":%d,\"retMsg\":\"%s\",\"result\":{},\"retExtInfo\":{},\"time\":%lld}", code, msg,
                   (long long)sim_now_ms());
}

/* Bybit answers bad parameters with HTTP 200 and a retCode. */
static void bb_rest_error(struct sim_http_reply *rep, int code, const char *msg)
{
    rep->status = 200;
    bb_rest_body(&rep->body, code, msg);
}

/* Rows for the open times from `last` back to `lo` (at most `limit`), newest first. */
static void bb_rows(struct sim *sim, struct sim_buf *b, const char *symbol, const struct sim_interval *iv, int64_t last,
                    int64_t lo, long long limit, int64_t now)
{
    uint64_t key = sim_gen_symbol_key(&sim->gen, symbol);
    struct sim_candle k;
    struct sim_candle_text x;
    long long n = 0;
    for (int64_t t = last; n < limit && t >= lo; t = sim_interval_floor(iv, t - 1), n++) {
        sim_gen_candle_asof(&sim->gen, key, iv, t, now, &k);
        bb_text(sim, &k, &x);
        sim_buf_printf(b, "%s[\"%lld\",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\"]", n ? "," : "", (long long)t, x.o,
                       x.h, x.l, x.c, x.v, x.q);
    }
}

static void bb_kline(struct sim *sim, const struct sim_http_req *req, struct sim_http_reply *rep)
{
    const struct bb_market *m = bb_market(sim);
    char category[32], symbol[64], ivname[16];
    struct sim_interval iv;
    long long limit = 200, start = 0, end = 0;
    rep->weight = 1;
    if (!sim_http_arg(req, "category", category, sizeof category))
        strcpy(category, "linear"); /* Bybit's default */
    if (strcmp(category, m->m.name))
        return bb_rest_error(rep, 10001, "params error: category is not the simulated market");
    if (!sim_http_arg(req, "symbol", symbol, sizeof symbol) || !*symbol)
        return bb_rest_error(rep, 10001, "params error: symbol is required");
    if (!sim_http_arg(req, "interval", ivname, sizeof ivname) || !*ivname)
        return bb_rest_error(rep, 10001, "params error: interval is required");
    if (!sim_symbol_known(sim, symbol))
        return bb_rest_error(rep, 10001, "Not supported symbols");
    if (bb_interval(ivname, &iv) < 0 || !sim_interval_served(sim, &iv))
        return bb_rest_error(rep, 10001, "params error: interval is invalid");
    int has_limit = sim_http_int_arg(req, "limit", &limit);
    int has_start = sim_http_int_arg(req, "start", &start);
    int has_end = sim_http_int_arg(req, "end", &end);
    if (has_limit < 0 || has_start < 0 || has_end < 0)
        return bb_rest_error(rep, 10001, "params error: start, end and limit must be integers");
    if (limit < 1 || limit > BB_MAX_LIMIT)
        return bb_rest_error(rep, 10001, "params error: limit must be in [1, 1000]");
    if (has_start && has_end && start > end)
        return bb_rest_error(rep, 10001, "params error: start is after end");

    int64_t now = sim_now_ms();
    int64_t top = has_end && end < now ? end : now;
    int64_t last = sim_interval_floor(&iv, top);
    int64_t lo = INT64_MIN;
    if (has_start) {
        lo = sim_interval_floor(&iv, start);
        if (lo < start)
            lo = sim_interval_next(&iv, lo);
    }
    rep->status = 200;
    sim_buf_printf(&rep->body,
                   "{\"retCode\":0,\"retMsg\":\"OK\",\"result\":{\"category\":\"%s\",\"symbol\":\"%s\","
                   "\"list\":[",
                   m->m.name, symbol);
    bb_rows(sim, &rep->body, symbol, &iv, last, lo, limit, now);
    sim_buf_printf(&rep->body, "]},\"retExtInfo\":{},\"time\":%lld}", (long long)now);
}

static int bb_rest(struct sim *sim, const struct sim_http_req *req, struct sim_http_reply *rep)
{
    if (!strcmp(req->path, "/v5/market/kline")) {
        bb_kline(sim, req, rep);
        return 0;
    }
    if (!strcmp(req->path, "/v5/market/time")) {
        int64_t now = sim_now_ms();
        rep->status = 200;
        rep->weight = 1;
        sim_buf_printf(&rep->body,
                       "{\"retCode\":0,\"retMsg\":\"OK\",\"result\":{\"timeSecond\":\"%lld\","
                       "\"timeNano\":\"%lld000000\"},\"retExtInfo\":{},\"time\":%lld}",
                       (long long)(now / 1000), (long long)now, (long long)now);
        return 0;
    }
    return -1;
}

static void bb_rest_fault_body(struct sim *sim, int status, struct sim_buf *body)
{
    (void)sim;
    if (status == 429 || status == 403)
        bb_rest_body(body, 10006, "Too many visits! (candled-sim fault)");
    else
        bb_rest_body(body, 10016, "Server error (candled-sim fault)");
}

const struct sim_exchange sim_exchange_bybit = {
    .name = "bybit",
    .init = bb_init,
    .ws_path_ok = bb_ws_path_ok,
    .ws_open = bb_ws_open,
    .ws_message = bb_ws_message,
    .render = bb_render,
    .truth = bb_truth,
    .rest = bb_rest,
    .rest_fault_body = bb_rest_fault_body,
};

/* ex_okx.c - OKX API v5 candle protocol (spot, swap, futures) for candled-sim.
 *
 * WebSocket: /ws/v5/business serves candle<bar> channels; /ws/v5/public accepts connections but
 * answers candle subscriptions with error 60018, as OKX has since candles moved to business.
 * Clients send {"id":..,"op":"subscribe"|"unsubscribe","args":[{"channel":..,"instId":..}]}; each
 * argument is acknowledged with {"id":..,"event":"subscribe","arg":{..},"connId":..}; malformed
 * requests get {"event":"error","code":"60012",..} and unknown channels or instruments
 * {"event":"error","code":"60018",..}.  The text "ping" is answered "pong"; a client that sends
 * nothing for 30 s is dropped (sim->default_idle_disconnect).  OKX sends no WebSocket pings.
 * Pushes are {"arg":{..},"data":[[ts,o,h,l,c,vol,volCcy,volCcyQuote,confirm]]}, every field a
 * string, decimals without trailing zeros as OKX prints them.  Bars ending in "utc" (and the
 * minute/hour bars) are generated; UTC+8 bars (1D, 6H, 1W, ...) are acknowledged but silent.
 *
 * REST: GET /api/v5/market/candles (the latest 1,440 rows, limit <= 300) and
 * /api/v5/market/history-candles (limit <= 100; the only one with 1s), {"code":"0","data":[..]}
 * newest first; `after` = rows older than ts, `before` = rows newer than ts (exclusive), the
 * newest `limit` rows of what matches.  On swap and futures a contract is 0.01 of the base
 * currency: vol counts contracts, volCcy = vol / 100 is the base currency. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "sim.h"

#define OK_MAX_TOKENS 1200    /* a subscribe with a few hundred arguments */
#define OK_CANDLES_DEPTH 1440 /* rows /market/candles can reach back */
#define OK_CANDLES_MAX 300
#define OK_HISTORY_MAX 100

struct ok_market {
    struct sim_market m; /* first: names, formats, default symbols */
    int derivative;      /* vol counts contracts of 0.01 base */
};

static const struct ok_market ok_markets[] = {
    { { "spot", { NULL }, { 1, 8, 8, 0, 0 }, "BTC-USDT,ETH-USDT", "S%04d-USDT" }, 0 },
    { { "swap", { NULL }, { 1, 2, 4, 0, 0 }, "BTC-USDT-SWAP,ETH-USDT-SWAP", "S%04d-USDT-SWAP" }, 1 },
    { { "futures", { NULL }, { 1, 0, 4, 0, 0 }, "BTC-USD-261225,ETH-USD-261225", "S%04d-USD-261225" }, 1 },
};

/* OKX bar <-> the generator's interval (UTC bars only). */
static const struct {
    const char *bar, *canonical;
} ok_bars[] = {
    { "1s", "1s" },      { "1m", "1m" },    { "3m", "3m" },    { "5m", "5m" },    { "15m", "15m" },
    { "30m", "30m" },    { "1H", "1h" },    { "2H", "2h" },    { "4H", "4h" },    { "6Hutc", "6h" },
    { "12Hutc", "12h" }, { "1Dutc", "1d" }, { "3Dutc", "3d" }, { "1Wutc", "1w" }, { "1Mutc", "1M" },
};
/* Bars OKX has that open at UTC+8 (or that the generator lacks): acknowledged, silent. */
static const char *const ok_silent_bars[] = { "6H", "12H", "1D",    "2D",    "3D",    "5D", "1W",
                                              "1M", "3M",  "2Dutc", "5Dutc", "3Mutc", NULL };

static const char *ok_bar_canonical(const char *bar)
{
    for (size_t i = 0; i < sizeof ok_bars / sizeof ok_bars[0]; i++)
        if (!strcmp(bar, ok_bars[i].bar))
            return ok_bars[i].canonical;
    return NULL;
}

static const char *ok_bar_of(const char *canonical)
{
    for (size_t i = 0; i < sizeof ok_bars / sizeof ok_bars[0]; i++)
        if (!strcmp(canonical, ok_bars[i].canonical))
            return ok_bars[i].bar;
    return "?";
}

static int ok_bar_silent(const char *bar)
{
    for (int i = 0; ok_silent_bars[i]; i++)
        if (!strcmp(bar, ok_silent_bars[i]))
            return 1;
    return 0;
}

/* --- init ---------------------------------------------------------------------------------- */

static int ok_init(struct sim *sim)
{
    if (!sim_market_init(sim, ok_markets, sizeof ok_markets / sizeof ok_markets[0], sizeof ok_markets[0],
                         "spot, swap, futures"))
        return -1;
    sim->default_max_msg_rate = 10;
    sim->default_max_streams = 1000;
    sim->default_idle_disconnect = 30; /* "the connection will break ... for more than 30 seconds" */
    sim->default_ping_interval = 0;    /* the client pings, with the text "ping" */
    sim->styles = 1;
    return 0;
}

/* --- text ---------------------------------------------------------------------------------- */

/* A candle's fields as OKX prints them: no trailing zeros, no trailing point ("43370", "0.0077"). */
struct ok_text {
    struct sim_candle_text k; /* o h l c, v = vol (q unused on contracts) */
    char vol_ccy[32], vol_quote[32];
};

static void ok_text(const struct sim *sim, const struct sim_candle *k, struct ok_text *t)
{
    const struct sim_gen_format *f = &sim->gen.fmt;
    const struct ok_market *m = sim->state;
    sim_candle_text(f, k, 1, &t->k);
    if (m->derivative) { /* contracts of 0.01 base: base = contracts / 100, quote likewise */
        sim_fmt_dec_trim(t->vol_ccy, sizeof t->vol_ccy, k->v, f->qty_dp + 2);
        sim_fmt_dec_trim(t->vol_quote, sizeof t->vol_quote, k->q, f->quote_dp + 2);
    } else {
        memcpy(t->vol_ccy, t->k.q, sizeof t->k.q);
        memcpy(t->vol_quote, t->k.q, sizeof t->k.q);
    }
}

static void ok_row(struct sim *sim, struct sim_buf *b, const struct sim_candle *k)
{
    struct ok_text t;
    ok_text(sim, k, &t);
    sim_buf_printf(b, "[\"%lld\",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\"]", (long long)k->open_time,
                   t.k.o, t.k.h, t.k.l, t.k.c, t.k.v, t.vol_ccy, t.vol_quote, k->closed ? "1" : "0");
}

static void ok_render(struct sim *sim, const struct sim_stream *s, const struct sim_candle *k, int64_t event_ms,
                      int style, struct sim_buf *out)
{
    (void)event_ms;
    (void)style;
    sim_buf_printf(out, "{\"arg\":{\"channel\":\"candle%s\",\"instId\":\"%s\"},\"data\":[",
                   ok_bar_of(sim_stream_interval(s)->name), sim_stream_symbol(s));
    ok_row(sim, out, k);
    sim_buf_str(out, "]}");
}

/* candled's OKX adapter: vol on spot, volCcy (base currency) on contracts; volCcyQuote as the
 * quote volume; no close time, no trade count. */
static void ok_truth(struct sim *sim, const struct sim_stream *s, const struct sim_candle *k, struct sim_truth *t)
{
    struct ok_text x;
    const struct ok_market *m = sim->state;
    ok_text(sim, k, &x);
    sim_truth_set(t, s, x.k.o, x.k.h, x.k.l, x.k.c, m->derivative ? x.vol_ccy : x.k.v, x.vol_quote);
    t->flag = 1;
}

/* --- WebSocket ----------------------------------------------------------------------------- */

static int ok_ws_path_ok(struct sim *sim, const char *path)
{
    (void)sim;
    return !strcmp(path, "/ws/v5/business") || !strcmp(path, "/ws/v5/public");
}

/* The style records whether the client is on /ws/v5/public (1), where candles are refused. */
static int ok_ws_open(struct sim *sim, struct sim_client *c, const char *path, const char *query)
{
    (void)sim;
    (void)query;
    sim_client_set_style(c, !strcmp(path, "/ws/v5/public") ? 1 : 0);
    return 0;
}

static void ok_conn_id(const struct sim_client *c, char out[9])
{
    snprintf(out, 9, "%08x", (unsigned)(((uintptr_t)c >> 4) * 2654435761u));
}

/* Appends s as the body of a JSON string, at most max bytes of it. */
static void ok_escape(struct sim_buf *b, const char *s, size_t len, size_t max)
{
    for (size_t i = 0; i < len && i < max; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\')
            sim_buf_printf(b, "\\%c", ch);
        else if (ch < 0x20)
            sim_buf_printf(b, "\\u%04x", ch);
        else
            sim_buf_add(b, &s[i], 1);
    }
}

/* Starts a reply object with the request id, if the request had one. */
static void ok_reply_start(struct sim_buf *b, const char *id)
{
    sim_buf_str(b, "{");
    if (id && *id)
        sim_buf_printf(b, "\"id\":\"%s\",", id);
}

/* Ends it with the connection id and queues it. */
static void ok_reply_send(struct sim_client *c, struct sim_buf *b)
{
    char cid[9];
    ok_conn_id(c, cid);
    sim_buf_printf(b, ",\"connId\":\"%s\"}", cid);
    sim_client_send(c, b->data, b->len);
    sim_buf_free(b);
}

static void ok_error(struct sim_client *c, const char *id, const char *code, const char *msg, const char *detail,
                     size_t detail_len)
{
    struct sim_buf b = { 0 };
    ok_reply_start(&b, id);
    sim_buf_printf(&b, "\"event\":\"error\",\"code\":\"%s\",\"msg\":\"%s", code, msg);
    if (detail)
        ok_escape(&b, detail, detail_len, 300);
    sim_buf_str(&b, "\"");
    ok_reply_send(c, &b);
}

static void ok_ack(struct sim_client *c, const char *id, const char *op, const char *channel, const char *inst)
{
    struct sim_buf b = { 0 };
    ok_reply_start(&b, id);
    sim_buf_printf(&b, "\"event\":\"%s\",\"arg\":{\"channel\":\"%s\",\"instId\":\"%s\"}", op, channel, inst);
    ok_reply_send(c, &b);
}

/* 0 if the argument names a channel this connection serves (iv filled, or iv->name NULL for a
 * silent UTC+8 bar); -1 after replying 60018. */
static int ok_check_arg(struct sim *sim, struct sim_client *c, const char *id, const char *channel, const char *inst,
                        struct sim_interval *iv)
{
    const char *bar = !strncmp(channel, "candle", 6) ? channel + 6 : NULL;
    const char *canonical = bar ? ok_bar_canonical(bar) : NULL;
    char detail[320];
    memset(iv, 0, sizeof *iv);
    if (sim_client_style(c) == 0 && sim_symbol_known(sim, inst) &&
        ((canonical && sim_interval_parse(canonical, iv) == 0) || (bar && ok_bar_silent(bar))))
        return 0;
    int n = snprintf(detail, sizeof detail,
                     "%s,instId:%s doesn't exist. Please use the correct URL, channel and parameters "
                     "referring to API document.",
                     channel, inst);
    if (n >= (int)sizeof detail)
        n = (int)sizeof detail - 1;
    ok_error(c, id, "60018", "Wrong URL or channel:", detail, (size_t)n);
    return -1;
}

/* Validates the whole request first (OKX refuses it as a whole), then applies each argument. */
static void ok_op(struct sim *sim, struct sim_client *c, const char *msg, size_t len, const struct sim_json_tok *t,
                  int args, int subscribe, const char *id)
{
    char channel[64], inst[64], key[140];
    if (args < 0 || t[args].type != SIM_JSON_ARRAY || t[args].size == 0)
        return ok_error(c, id, "60012", "Invalid request: ", msg, len);
    for (int i = 0; i < t[args].size; i++) {
        int a = sim_json_elem(t, args, i);
        int ch = t[a].type == SIM_JSON_OBJECT ? sim_json_get(msg, t, a, "channel") : -1;
        int in = t[a].type == SIM_JSON_OBJECT ? sim_json_get(msg, t, a, "instId") : -1;
        if (ch < 0 || in < 0 || sim_json_str(msg, t, ch, channel, sizeof channel) <= 0 ||
            sim_json_str(msg, t, in, inst, sizeof inst) <= 0)
            return ok_error(c, id, "60012", "Invalid request: ", msg, len);
    }
    int had_streams = sim_client_stream_count(c) > 0;
    for (int i = 0; i < t[args].size; i++) {
        int a = sim_json_elem(t, args, i);
        struct sim_interval iv;
        sim_json_str(msg, t, sim_json_get(msg, t, a, "channel"), channel, sizeof channel);
        sim_json_str(msg, t, sim_json_get(msg, t, a, "instId"), inst, sizeof inst);
        snprintf(key, sizeof key, "%s:%s", channel, inst);
        if (!subscribe) {
            sim_client_unsubscribe(c, key);
        } else if (ok_check_arg(sim, c, id, channel, inst, &iv) < 0) {
            continue;
        } else if (sim_client_subscribe(c, key, inst, iv.name ? &iv : NULL) < 0) {
            ok_error(c, id, "60012", "Invalid request: too many channels on this connection", NULL, 0);
            continue;
        }
        ok_ack(c, id, subscribe ? "subscribe" : "unsubscribe", channel, inst);
    }
    if (subscribe && !had_streams && sim_client_stream_count(c) > 0)
        sim_client_start_replay(c); /* after the acks */
}

/* The optional request id: at most 32 letters and digits. */
static int ok_request_id(const char *msg, const struct sim_json_tok *t, int v, char *id, size_t cap)
{
    id[0] = '\0';
    if (v < 0)
        return 0;
    if (t[v].type != SIM_JSON_STRING || t[v].end - t[v].start > 32 || cap < 33)
        return -1;
    for (size_t i = t[v].start; i < t[v].end; i++)
        if (!isalnum((unsigned char)msg[i]))
            return -1;
    snprintf(id, cap, "%.*s", (int)(t[v].end - t[v].start), msg + t[v].start);
    return 0;
}

static void ok_ws_message(struct sim *sim, struct sim_client *c, const char *msg, size_t len)
{
    char id[40];
    sim_client_count_rx(c);
    if (len == 4 && !memcmp(msg, "ping", 4)) {
        sim->counters.app_pings++;
        sim_client_send(c, "pong", 4);
        return;
    }
    struct sim_json_tok *t = malloc(OK_MAX_TOKENS * sizeof *t);
    size_t err_at = 0;
    if (!t)
        abort();
    int n = sim_json_parse(msg, len, t, OK_MAX_TOKENS, &err_at);
    if (n < 0 || t[0].type != SIM_JSON_OBJECT) {
        ok_error(c, NULL, "60012", "Invalid request: ", msg, len);
    } else if (ok_request_id(msg, t, sim_json_get(msg, t, 0, "id"), id, sizeof id) < 0) {
        ok_error(c, NULL, "60012", "Invalid request: ", msg, len);
    } else {
        int op = sim_json_get(msg, t, 0, "op"), args = sim_json_get(msg, t, 0, "args");
        if (op >= 0 && sim_json_streq(msg, t, op, "subscribe"))
            ok_op(sim, c, msg, len, t, args, 1, id);
        else if (op >= 0 && sim_json_streq(msg, t, op, "unsubscribe"))
            ok_op(sim, c, msg, len, t, args, 0, id);
        else
            ok_error(c, id, "60012", "Invalid request: ", msg, len);
    }
    free(t);
}

/* --- REST ---------------------------------------------------------------------------------- */

static void ok_rest_error(struct sim_http_reply *rep, const char *code, const char *msg)
{
    rep->status = 400;
    sim_buf_printf(&rep->body, "{\"code\":\"%s\",\"msg\":\"%s\",\"data\":[]}", code, msg);
}

/* Rows newest first: open times below `after`, above `before`, not below `oldest`. */
static void ok_rows(struct sim *sim, struct sim_buf *b, const char *inst, const struct sim_interval *iv, int64_t top,
                    int64_t oldest, int has_before, long long before, long long limit, int64_t now)
{
    uint64_t key = sim_gen_symbol_key(&sim->gen, inst);
    struct sim_candle k;
    int n = 0;
    sim_buf_str(b, "{\"code\":\"0\",\"msg\":\"\",\"data\":[");
    for (int64_t t = top; n < limit && t >= oldest && (!has_before || t > before) && t > 0;
         t = sim_interval_floor(iv, t - 1)) {
        sim_gen_candle_asof(&sim->gen, key, iv, t, now, &k);
        if (n++)
            sim_buf_str(b, ",");
        ok_row(sim, b, &k);
    }
    sim_buf_str(b, "]}");
}

static void ok_candles(struct sim *sim, int history, const struct sim_http_req *req, struct sim_http_reply *rep)
{
    char inst[64], bar[16];
    struct sim_interval iv;
    long long limit = 100, after = 0, before = 0;
    rep->weight = 1;
    if (!sim_http_arg(req, "instId", inst, sizeof inst) || !*inst)
        return ok_rest_error(rep, "50014", "Parameter instId can not be empty.");
    if (!sim_http_arg(req, "bar", bar, sizeof bar))
        snprintf(bar, sizeof bar, "1m");
    const char *canonical = ok_bar_canonical(bar);
    if (!canonical || (!history && !strcmp(bar, "1s")) || sim_interval_parse(canonical, &iv) < 0 ||
        !sim_interval_served(sim, &iv))
        return ok_rest_error(rep, "51000", "Parameter bar error");
    if (!sim_symbol_known(sim, inst))
        return ok_rest_error(rep, "51001", "Instrument ID does not exist");
    int has_limit = sim_http_int_arg(req, "limit", &limit);
    int has_after = sim_http_int_arg(req, "after", &after);
    int has_before = sim_http_int_arg(req, "before", &before);
    if (has_limit < 0 || limit < 1 || limit > (history ? OK_HISTORY_MAX : OK_CANDLES_MAX))
        return ok_rest_error(rep, "51000", "Parameter limit error");
    if (has_after < 0 || has_before < 0)
        return ok_rest_error(rep, "51000", "Parameter after or before error");
    int64_t now = sim_now_ms(), cur = sim_interval_floor(&iv, now);
    int64_t top = cur, oldest = 0;
    if (has_after && after <= cur)
        top = sim_interval_floor(&iv, after - 1);
    if (!history) { /* only the latest 1,440 rows */
        oldest = cur;
        for (int i = 1; i < OK_CANDLES_DEPTH; i++)
            oldest = sim_interval_floor(&iv, oldest - 1);
    }
    rep->status = 200;
    ok_rows(sim, &rep->body, inst, &iv, top, oldest, has_before, before, limit, now);
}

static int ok_rest(struct sim *sim, const struct sim_http_req *req, struct sim_http_reply *rep)
{
    if (!strcmp(req->path, "/api/v5/market/candles")) {
        ok_candles(sim, 0, req, rep);
        return 0;
    }
    if (!strcmp(req->path, "/api/v5/market/history-candles")) {
        ok_candles(sim, 1, req, rep);
        return 0;
    }
    if (!strcmp(req->path, "/api/v5/public/time")) {
        rep->status = 200;
        rep->weight = 1;
        sim_buf_printf(&rep->body, "{\"code\":\"0\",\"msg\":\"\",\"data\":[{\"ts\":\"%lld\"}]}",
                       (long long)sim_now_ms());
        return 0;
    }
    return -1;
}

static void ok_rest_fault_body(struct sim *sim, int status, struct sim_buf *body)
{
    (void)sim;
    if (status == 429)
        sim_buf_str(body, "{\"code\":\"50011\",\"msg\":\"Too Many Requests\",\"data\":[]}");
    else
        sim_buf_str(body, "{\"code\":\"50001\",\"msg\":\"Service temporarily unavailable. Please try "
                          "again later (candled-sim fault).\",\"data\":[]}");
}

const struct sim_exchange sim_exchange_okx = {
    .name = "okx",
    .init = ok_init,
    .ws_path_ok = ok_ws_path_ok,
    .ws_open = ok_ws_open,
    .ws_message = ok_ws_message,
    .render = ok_render,
    .truth = ok_truth,
    .rest = ok_rest,
    .rest_fault_body = ok_rest_fault_body,
};

/* feed.c - see feed.h. */
#include "feed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "interval.h"
#include "log.h"
#include "rest.h"
#include "seq.h"
#include "upstream.h"

struct stream {
    char user_symbol[CDL_SYMBOL_MAX];
    char symbol[CDL_SYMBOL_MAX]; /* the exchange's */
    int conn;                    /* its sequencer id is its index */
};

struct conn {
    struct cdl_feed *feed;
    int index;
    struct cdl_upstream *up;
    int session;
    int first, count; /* streams[first .. first+count) */
    char name[96];
};

struct backfill {
    struct cdl_feed *feed;
    int stream;
    struct cdl_rest_query q;
    char symbol[CDL_SYMBOL_MAX];
};

struct cdl_feed {
    uv_loop_t *loop;
    struct cdl_net *net;
    struct cdl_rest *rest;
    struct cdl_metrics *metrics;
    struct cdl_feed_opts o;
    struct cdl_feed_sink sink;
    struct cdl_adapter *a;
    const struct cdl_market *m;
    struct cdl_interval iv;
    const char *exch_interval;
    char ws_url[CDL_URL_MAX], rest_url[CDL_URL_MAX];
    struct stream *streams;
    int n_streams;
    int *slots; /* open-addressing index: exchange symbol -> stream */
    int n_slots;
    struct conn *conns;
    int n_conns;
    int backfills_in_flight;
    struct cdl_seq *seq;
    struct cdl_seq_stats seen; /* the sequencer's counters already exported */
    uv_timer_t *tick;          /* drives the sequencer's clock rules; freed in its close callback */
    struct cdl_quote_meta meta;
    struct cdl_parse_result res; /* scratch, too big for the stack of a callback */
    struct cdl_series *s_frames, *s_dups, *s_sub_err, *s_active,
        *s_conn_err, *s_reconn, *s_revisions, *s_inferred, *s_holes, *s_filled, *s_held, *s_late;
    struct cdl_log_limit lim_reject, lim_candle, lim_event, lim_rest, lim_gap, lim_rev;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int find_stream(const struct cdl_feed *f, const char *symbol)
{
    for (uint64_t i = hash_str(symbol);; i++) {
        int s = f->slots[i % (uint64_t)f->n_slots];
        if (s < 0)
            return -1;
        if (!strcmp(f->streams[s].symbol, symbol))
            return s;
    }
}

static void count(struct cdl_feed *f, enum cdl_metric_id id, const char *reason)
{
    if (!f->metrics)
        return;
    if (reason)
        cdl_series_add(cdl_metrics_series(f->metrics, id, cdl_adapter_name(f->a), f->m->name, reason), 1);
    else
        cdl_series_add(cdl_metrics_series(f->metrics, id, cdl_adapter_name(f->a), f->m->name), 1);
}

/* ---- the sequencer's callbacks -------------------------------------------------------------------- */

static void seq_emit(void *user, int s, const struct cdl_candle *c, uint64_t recv_us)
{
    struct cdl_feed *f = user;
    if (c->closed != 1 && f->o.closed_only)
        return;
    f->meta.symbol = f->streams[s].user_symbol;
    f->meta.stream = s;
    f->sink.on_quote(f->sink.user, &f->meta, c, recv_us); /* the consumer counts what it writes */
}

static void seq_gap(void *user, int s, int64_t from, int64_t to, int64_t missing, enum cdl_seq_gap_reason why)
{
    struct cdl_feed *f = user;
    const char *reason = cdl_seq_gap_reason_name(why);
    char a[24], b[24], n[24];
    snprintf(a, sizeof a, "%lld", (long long)from);
    snprintf(b, sizeof b, "%lld", (long long)to);
    snprintf(n, sizeof n, "%lld", (long long)missing);
    count(f, CDL_M_GAPS_UNFILLED, reason);
    cdl_log_limited(&f->lim_gap, 10000, CDL_LOG_WARN, "closed candles lost: gap announced", "exchange",
                    cdl_adapter_name(f->a), "market", f->m->name, "symbol", f->streams[s].user_symbol, "interval",
                    f->iv.name, "from", a, "to", b, "missing", n, "reason", reason, NULL);
    if (f->sink.on_gap) {
        f->meta.symbol = f->streams[s].user_symbol;
        f->meta.stream = s;
        f->sink.on_gap(f->sink.user, &f->meta, from, to, missing, reason);
    }
}

static int seq_backfill(void *user, int s, int64_t from, int64_t to, int rows);

/* Exports what the sequencer counted since the last call. */
static void sync_stats(struct cdl_feed *f)
{
    const struct cdl_seq_stats *st = cdl_seq_stats(f->seq);
    if (f->metrics) {
        uint64_t dups = st->verdicts[CDL_SEQ_DUPLICATE] + st->verdicts[CDL_SEQ_STALE] -
                        f->seen.verdicts[CDL_SEQ_DUPLICATE] - f->seen.verdicts[CDL_SEQ_STALE];
        cdl_series_add(f->s_dups, (double)dups);
        cdl_series_add(f->s_revisions,
                       (double)(st->verdicts[CDL_SEQ_REVISION] - f->seen.verdicts[CDL_SEQ_REVISION]));
        cdl_series_add(f->s_inferred, (double)(st->inferred - f->seen.inferred));
        cdl_series_add(f->s_holes, (double)(st->holes - f->seen.holes));
        cdl_series_add(f->s_filled, (double)(st->holes_filled - f->seen.holes_filled));
        cdl_series_add(f->s_late, (double)(st->late - f->seen.late));
        cdl_series_set(f->s_held, (double)cdl_seq_held(f->seq));
    }
    f->seen = *st;
}

static void free_handle(uv_handle_t *h) { free(h); }

static void on_tick(uv_timer_t *t)
{
    struct cdl_feed *f = t->data;
    cdl_seq_tick(f->seq, (int64_t)cdl_now_ms());
    sync_stats(f);
}

/* Runs one checked candle through the sequencer. */
static void deliver(struct cdl_feed *f, int s, const struct cdl_candle *c, int from_rest, uint64_t recv_us)
{
    enum cdl_seq_verdict v = cdl_seq_push(f->seq, s, c, from_rest, (int64_t)cdl_now_ms(), recv_us);
    if (v == CDL_SEQ_REVISION) {
        char ot[24];
        snprintf(ot, sizeof ot, "%lld", (long long)c->open_time);
        cdl_log_limited(&f->lim_rev, 10000, CDL_LOG_WARN, "closed candle revised by the exchange; the first one stands",
                        "exchange", cdl_adapter_name(f->a), "market", f->m->name, "symbol",
                        f->streams[s].user_symbol, "open_time", ot, "source", from_rest ? "rest" : "ws", NULL);
    }
}

/* The checks that need the feed's context: stream known, interval right, open time aligned. */
static int check_candle(struct cdl_feed *f, struct cdl_parsed_candle *pc, int *stream, const char **why)
{
    if (pc->interval[0] && strcmp(pc->interval, f->exch_interval)) {
        *why = "wrong_interval";
        return -1;
    }
    *stream = pc->symbol[0] ? find_stream(f, pc->symbol) : -1;
    if (*stream < 0) {
        *why = "unknown_symbol";
        return -1;
    }
    if (!cdl_interval_aligned(&f->iv, pc->c.open_time)) {
        *why = "misaligned_open_time";
        return -1;
    }
    return 0;
}

static void handle_candles(struct cdl_feed *f, struct cdl_parse_result *res, uint64_t recv_us, const char *conn)
{
    if (res->n_bad) {
        for (int i = 0; i < res->n_bad; i++)
            count(f, CDL_M_CANDLES_REJECTED, res->bad_reason);
        cdl_log_limited(&f->lim_candle, 10000, CDL_LOG_WARN, "candle rejected", "exchange", cdl_adapter_name(f->a),
                        "market", f->m->name, "conn", conn, "reason", res->bad_reason, NULL);
    }
    for (int i = 0; i < res->n; i++) {
        int s;
        const char *why;
        if (check_candle(f, &res->items[i], &s, &why)) {
            count(f, CDL_M_CANDLES_REJECTED, why);
            cdl_log_limited(&f->lim_candle, 10000, CDL_LOG_WARN, "candle rejected", "exchange",
                            cdl_adapter_name(f->a), "market", f->m->name, "conn", conn, "reason", why, "symbol",
                            res->items[i].symbol, NULL);
            continue;
        }
        deliver(f, s, &res->items[i].c, 0, recv_us);
    }
    sync_stats(f);
}

/* ---- upstream callbacks ---------------------------------------------------------------------------- */

static void send_frame(void *user, const char *frame, size_t len)
{
    struct conn *c = user;
    int rc = cdl_upstream_send(c->up, frame, len);
    if (rc)
        cdl_log(CDL_LOG_WARN, "cannot queue frame", "conn", c->name, "error", cdl_strerror(rc), NULL);
}

static void fill_refs(struct cdl_feed *f, struct conn *c, struct cdl_stream_ref *refs)
{
    for (int i = 0; i < c->count; i++) {
        refs[i].symbol = f->streams[c->first + i].symbol;
        refs[i].interval = f->exch_interval;
    }
}

static void on_open(void *user)
{
    struct conn *c = user;
    struct cdl_feed *f = c->feed;
    if (c->session <= 0)
        c->session = cdl_adapter_session_new(f->a, f->m, f->ws_url, (uint64_t)c->index + 1);
    struct cdl_stream_ref *refs = calloc((size_t)c->count, sizeof *refs);
    if (!refs)
        abort();
    fill_refs(f, c, refs);
    cdl_adapter_subscribe(f->a, c->session, refs, c->count, 0, send_frame, c);
    free(refs);
    if (f->s_active)
        cdl_series_add(f->s_active, 1);
    /* After a reconnect, what closed while we were away is a hole: backfill it now. */
    if (cdl_upstream_generation(c->up) > 1) {
        int64_t now = (int64_t)cdl_now_ms();
        for (int i = 0; i < c->count; i++)
            cdl_seq_reconnected(f->seq, c->first + i, now);
        cdl_seq_tick(f->seq, now);
    }
}

static void on_down(void *user, const char *why)
{
    struct conn *c = user;
    struct cdl_feed *f = c->feed;
    if (c->session > 0) {
        cdl_adapter_session_free(f->a, c->session);
        c->session = 0;
        if (f->s_active)
            cdl_series_add(f->s_active, -1);
    }
    if (f->s_conn_err)
        cdl_series_add(f->s_conn_err, 1);
    if (f->s_reconn)
        cdl_series_add(f->s_reconn, 1);
}

static void on_ping(void *user)
{
    struct conn *c = user;
    if (c->session > 0)
        cdl_adapter_ping(c->feed->a, c->session, send_frame, c);
}

static void on_oversize(void *user, size_t len)
{
    struct conn *c = user;
    struct cdl_feed *f = c->feed;
    char n[24];
    snprintf(n, sizeof n, "%zu", len);
    count(f, CDL_M_FRAMES_REJECTED, "oversize");
    cdl_log_limited(&f->lim_reject, 10000, CDL_LOG_WARN, "frame over the size cap dropped", "exchange",
                    cdl_adapter_name(f->a), "market", f->m->name, "conn", c->name, "bytes", n, NULL);
}

static void on_frame(void *user, const char *data, size_t len, uint64_t recv_us)
{
    struct conn *c = user;
    struct cdl_feed *f = c->feed;
    struct cdl_parse_result *res = &f->res;
    if (f->s_frames)
        cdl_series_add(f->s_frames, 1);
    if (c->session <= 0)
        return;
    int rc = cdl_adapter_parse(f->a, c->session, data, len, res);
    if (rc) {
        count(f, CDL_M_FRAMES_REJECTED, "adapter_error");
        return; /* counted and logged by the host */
    }
    if (res->rejected) {
        char head[81];
        size_t hl = len < 80 ? len : 80;
        memcpy(head, data, hl);
        head[hl] = '\0';
        count(f, CDL_M_FRAMES_REJECTED, res->reason);
        cdl_log_limited(&f->lim_reject, 10000, CDL_LOG_WARN, "frame rejected", "exchange", cdl_adapter_name(f->a),
                        "market", f->m->name, "conn", c->name, "reason", res->reason, "frame", head, NULL);
        return;
    }
    switch (res->event) {
    case CDL_EV_ERROR:
        if (f->s_sub_err)
            cdl_series_add(f->s_sub_err, 1);
        cdl_log_limited(&f->lim_event, 10000, CDL_LOG_ERROR, "exchange reported an error", "exchange",
                        cdl_adapter_name(f->a), "market", f->m->name, "conn", c->name, "message", res->message, NULL);
        break;
    case CDL_EV_RECONNECT:
        cdl_log(CDL_LOG_INFO, "exchange announced a shutdown", "conn", c->name, "message", res->message, NULL);
        handle_candles(f, res, recv_us, c->name);
        cdl_upstream_reconnect(c->up, "server shutdown announced");
        return;
    default:
        break;
    }
    handle_candles(f, res, recv_us, c->name);
}

/* ---- REST backfill of the sequencer's holes ---------------------------------------------------------- */

/* Puts a page's rows in open-time order (pages come newest or oldest first). */
static void sort_rows(struct cdl_parse_result *res)
{
    for (int i = 1; i < res->n; i++)
        for (int k = i; k > 0 && res->items[k].c.open_time < res->items[k - 1].c.open_time; k--) {
            struct cdl_parsed_candle t = res->items[k];
            res->items[k] = res->items[k - 1];
            res->items[k - 1] = t;
        }
}

/* Parses a page and pushes its rows; 0 if it was usable. */
static int backfill_rows(struct cdl_feed *f, struct backfill *b, const struct cdl_rest_response *r)
{
    struct cdl_parse_result *res = &f->res;
    if (cdl_adapter_rest_parse(f->a, f->m, &b->q, r->body, r->body_len, res))
        return -1; /* counted and logged by the host */
    if (res->rejected) {
        count(f, CDL_M_FRAMES_REJECTED, res->reason);
        cdl_log_limited(&f->lim_rest, 10000, CDL_LOG_WARN, "backfill page rejected", "exchange",
                        cdl_adapter_name(f->a), "market", f->m->name, "reason", res->reason, NULL);
        return -1;
    }
    for (int i = 0; i < res->n_bad; i++)
        count(f, CDL_M_CANDLES_REJECTED, res->bad_reason);
    sort_rows(res);
    uint64_t now_us = uv_hrtime() / 1000;
    for (int i = 0; i < res->n; i++) {
        struct cdl_parsed_candle *pc = &res->items[i];
        if ((pc->symbol[0] && strcmp(pc->symbol, b->symbol)) || (pc->interval[0] && strcmp(pc->interval, f->exch_interval))) {
            count(f, CDL_M_CANDLES_REJECTED, pc->symbol[0] && strcmp(pc->symbol, b->symbol) ? "unknown_symbol" : "wrong_interval");
            continue;
        }
        if (!cdl_interval_aligned(&f->iv, pc->c.open_time)) {
            count(f, CDL_M_CANDLES_REJECTED, "misaligned_open_time");
            continue;
        }
        deliver(f, b->stream, &pc->c, 1, now_us);
    }
    return 0;
}

static void on_backfill(void *user, const struct cdl_rest_response *r)
{
    struct backfill *b = user;
    struct cdl_feed *f = b->feed;
    if (r->error == CDL_ECLOSED) { /* cancelled: the feed may be gone already */
        free(b);
        return;
    }
    f->backfills_in_flight--;
    char status[16];
    snprintf(status, sizeof status, "%ld", r->status);
    if (f->metrics)
        cdl_series_add(cdl_metrics_series(f->metrics, CDL_M_REST_REQUESTS, cdl_adapter_name(f->a), f->m->name, status), 1);
    int ok = 0;
    if (r->error || r->status != 200)
        cdl_log_limited(&f->lim_rest, 10000, CDL_LOG_WARN, "backfill request failed", "exchange",
                        cdl_adapter_name(f->a), "market", f->m->name, "status", status, "error", r->error_text, NULL);
    else
        ok = backfill_rows(f, b, r) == 0;
    if (f->metrics)
        cdl_series_add(cdl_metrics_series(f->metrics, CDL_M_REST_BACKFILLS, cdl_adapter_name(f->a), f->m->name,
                                          ok ? "ok" : "failed"), 1);
    cdl_seq_backfill_done(f->seq, b->stream, ok, (int64_t)cdl_now_ms());
    sync_stats(f);
    free(b);
}

/* The sequencer asks for the closed candles opening in [from, to) of stream s. */
static int seq_backfill(void *user, int s, int64_t from, int64_t to, int rows)
{
    struct cdl_feed *f = user;
    struct backfill *b = calloc(1, sizeof *b);
    if (!b)
        abort();
    b->feed = f;
    b->stream = s;
    snprintf(b->symbol, sizeof b->symbol, "%s", f->streams[s].symbol);
    b->q.symbol = b->symbol;
    b->q.interval = f->exch_interval;
    b->q.start_ms = from;
    b->q.end_ms = to - 1;
    b->q.limit = rows;
    b->q.base_url = f->rest_url;
    struct cdl_rest_req req;
    int rc = cdl_adapter_rest_request(f->a, f->m, &b->q, &req);
    if (!rc) {
        rc = cdl_rest_request(f->rest, req.method, req.url, (const char *const *)req.headers, req.body, on_backfill, b,
                              NULL);
        cdl_rest_req_clear(&req);
    }
    if (rc) {
        free(b);
        return rc;
    }
    f->backfills_in_flight++;
    return 0;
}

/* ---- lifecycle -------------------------------------------------------------------------------------- */

struct cdl_feed *cdl_feed_create(uv_loop_t *loop, struct cdl_net *net, struct cdl_rest *rest,
                                 struct cdl_metrics *metrics, const struct cdl_feed_opts *o,
                                 const struct cdl_feed_sink *sink, int *rc, char *err, size_t errlen)
{
    struct cdl_interval iv;
    if (cdl_interval_parse(o->interval, &iv)) {
        snprintf(err, errlen, "unknown interval '%s'", o->interval);
        *rc = CDL_ENOTFOUND;
        return NULL;
    }
    const char *exch_iv = cdl_adapter_interval(o->adapter, o->market, o->interval);
    if (!exch_iv) {
        snprintf(err, errlen, "interval '%s' is not supported by %s %s", o->interval, cdl_adapter_name(o->adapter),
                 o->market->name);
        *rc = CDL_ENOTFOUND;
        return NULL;
    }
    if (o->n_symbols < 1) {
        snprintf(err, errlen, "no symbols given");
        *rc = CDL_EINVAL;
        return NULL;
    }
    struct cdl_feed *f = calloc(1, sizeof *f);
    if (!f)
        abort();
    f->loop = loop;
    f->net = net;
    f->rest = rest;
    f->metrics = metrics;
    f->o = *o;
    f->sink = *sink;
    f->a = o->adapter;
    f->m = o->market;
    f->iv = iv;
    f->exch_interval = exch_iv;
    snprintf(f->ws_url, sizeof f->ws_url, "%s", o->ws_url ? o->ws_url : f->m->ws_url);
    snprintf(f->rest_url, sizeof f->rest_url, "%s", o->rest_url ? o->rest_url : f->m->rest_url);
    f->meta.exchange = cdl_adapter_name(f->a);
    f->meta.contract_type = f->m->name;
    f->meta.interval = iv.name;

    int can_backfill = rest && cdl_adapter_has_rest(f->a) && f->rest_url[0];
    struct cdl_seq_opts so = {
        .iv = iv,
        .grace_ms = o->grace_ms > 0 ? o->grace_ms : 2000,
        .reorder_wait_ms = o->reorder_wait_ms > 0 ? o->reorder_wait_ms : 1000,
        .hold_ms = o->hold_ms > 0 ? o->hold_ms : 30000,
        .retry_ms = o->retry_ms > 0 ? o->retry_ms : 2000,
        .hold_max = o->hold_max > 0 ? o->hold_max : 1024,
        .page_rows = can_backfill ? f->m->rest_max_rows : 0,
        .no_clock = o->no_clock,
        .dedup = o->dedup,
    };
    struct cdl_seq_cbs scb = { .emit = seq_emit, .gap = seq_gap, .backfill = seq_backfill, .user = f };
    f->seq = cdl_seq_create(&so, &scb);
    f->streams = calloc((size_t)o->n_symbols, sizeof *f->streams);
    f->n_slots = o->n_symbols * 2 + 1;
    f->slots = malloc((size_t)f->n_slots * sizeof *f->slots);
    if (!f->streams || !f->slots)
        abort();
    for (int i = 0; i < f->n_slots; i++)
        f->slots[i] = -1;
    for (int i = 0; i < o->n_symbols; i++) {
        struct stream *st = &f->streams[f->n_streams];
        char why[200] = "";
        if (strlen(o->symbols[i]) >= sizeof st->user_symbol ||
            cdl_adapter_symbol(f->a, f->m, o->symbols[i], st->symbol, sizeof st->symbol, why, sizeof why)) {
            snprintf(err, errlen, "invalid symbol '%s' for %s %s%s%s", o->symbols[i], cdl_adapter_name(f->a),
                     f->m->name, why[0] ? ": " : "", why);
            *rc = CDL_EINVAL;
            cdl_feed_destroy(f);
            return NULL;
        }
        if (find_stream(f, st->symbol) >= 0)
            continue; /* the same stream twice is one stream */
        snprintf(st->user_symbol, sizeof st->user_symbol, "%s", o->symbols[i]);
        uint64_t h = hash_str(st->symbol);
        while (f->slots[h % (uint64_t)f->n_slots] >= 0)
            h++;
        f->slots[h % (uint64_t)f->n_slots] = f->n_streams++;
        char key[3 * CDL_NAME_MAX + CDL_SYMBOL_MAX];
        snprintf(key, sizeof key, "%s/%s/%s/%s", cdl_adapter_name(f->a), f->m->name, st->symbol, iv.name);
        cdl_seq_add(f->seq, hash_str(key));
    }
    int per = o->max_streams_per_conn > 0 ? o->max_streams_per_conn : f->m->max_streams;
    if (per > f->m->max_streams)
        per = f->m->max_streams;
    f->n_conns = (f->n_streams + per - 1) / per;
    f->conns = calloc((size_t)f->n_conns, sizeof *f->conns);
    if (!f->conns)
        abort();
    for (int i = 0; i < f->n_conns; i++) {
        struct conn *c = &f->conns[i];
        c->feed = f;
        c->index = i;
        c->first = i * per;
        c->count = f->n_streams - c->first < per ? f->n_streams - c->first : per;
        snprintf(c->name, sizeof c->name, "%s/%s#%d", cdl_adapter_name(f->a), f->m->name, i + 1);
        for (int k = 0; k < c->count; k++)
            f->streams[c->first + k].conn = i;
    }
    if (metrics) {
        const char *ex = cdl_adapter_name(f->a), *mk = f->m->name;
        f->s_frames = cdl_metrics_series(metrics, CDL_M_FRAMES_RECEIVED, ex, mk);
        f->s_dups = cdl_metrics_series(metrics, CDL_M_DUPLICATES, ex, mk);
        f->s_sub_err = cdl_metrics_series(metrics, CDL_M_SUBSCRIPTION_ERRORS, ex, mk);
        f->s_active = cdl_metrics_series(metrics, CDL_M_ACTIVE_CONNECTIONS, ex, mk);
        f->s_conn_err = cdl_metrics_series(metrics, CDL_M_CONNECTION_ERRORS, ex, mk);
        f->s_reconn = cdl_metrics_series(metrics, CDL_M_RECONNECTIONS, ex, mk);
        f->s_revisions = cdl_metrics_series(metrics, CDL_M_REVISIONS, ex, mk);
        f->s_inferred = cdl_metrics_series(metrics, CDL_M_CLOSES_INFERRED, ex, mk);
        f->s_holes = cdl_metrics_series(metrics, CDL_M_GAPS_DETECTED, ex, mk);
        f->s_filled = cdl_metrics_series(metrics, CDL_M_GAPS_FILLED, ex, mk);
        f->s_late = cdl_metrics_series(metrics, CDL_M_LATE_CANDLES, ex, mk);
        f->s_held = cdl_metrics_series(metrics, CDL_M_CANDLES_HELD, ex, mk);
    }
    *rc = 0;
    return f;
}

int cdl_feed_n_connections(const struct cdl_feed *f) { return f->n_conns; }

void cdl_feed_pause(struct cdl_feed *f, int paused)
{
    for (int i = 0; f && i < f->n_conns; i++)
        if (f->conns[i].up)
            cdl_upstream_pause(f->conns[i].up, paused);
}

int cdl_feed_start(struct cdl_feed *f)
{
    static const struct cdl_upstream_cbs cbs = {
        .on_open = on_open, .on_frame = on_frame, .on_oversize = on_oversize, .on_ping = on_ping, .on_down = on_down,
    };
    f->tick = malloc(sizeof *f->tick);
    if (!f->tick)
        abort();
    uv_timer_init(f->loop, f->tick);
    f->tick->data = f;
    uv_timer_start(f->tick, on_tick, 250, 250);
    for (int i = 0; i < f->n_conns; i++) {
        struct conn *c = &f->conns[i];
        char url[CDL_URL_MAX];
        struct cdl_stream_ref *refs = calloc((size_t)c->count, sizeof *refs);
        if (!refs)
            abort();
        fill_refs(f, c, refs);
        int session = cdl_adapter_session_new(f->a, f->m, f->ws_url, (uint64_t)i + 1);
        int rc = cdl_adapter_connect_url(f->a, session, refs, c->count, url, sizeof url);
        cdl_adapter_session_free(f->a, session);
        free(refs);
        if (rc)
            return rc;
        struct cdl_upstream_opts uo = {
            .url = url,
            .name = c->name,
            .idle_timeout_s = f->o.idle_timeout > 0 ? f->o.idle_timeout : f->m->idle_timeout,
            .ping_interval_s = f->m->ping_interval,
            .max_sends_per_sec = f->m->max_sends_per_sec,
            .max_message = f->o.max_message,
        };
        c->up = cdl_upstream_create(f->net, f->loop, &uo, &cbs, c);
        if ((rc = cdl_upstream_start(c->up))) {
            cdl_log(CDL_LOG_ERROR, "invalid WebSocket URL", "url", url, NULL);
            return rc;
        }
    }
    return 0;
}

void cdl_feed_destroy(struct cdl_feed *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n_conns; i++) {
        struct conn *c = &f->conns[i];
        if (c->session > 0)
            cdl_adapter_session_free(f->a, c->session);
        cdl_upstream_destroy(c->up);
    }
    free(f->conns);
    if (f->tick)
        uv_close((uv_handle_t *)f->tick, free_handle);
    cdl_seq_destroy(f->seq);
    free(f->streams);
    free(f->slots);
    free(f);
}

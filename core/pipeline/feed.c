/* feed.c - see feed.h. */
#include "feed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "clock.h"
#include "config.h"
#include "err.h"
#include "hash.h"
#include "interval.h"
#include "list.h"
#include "log.h"
#include "rest.h"
#include "rotate.h"
#include "seq.h"
#include "upstream.h"
#include "xalloc.h"

#define FEED_TICK_MS 250 /* wall time between sequencer ticks */

struct conn;

struct stream {
    char user_symbol[CDL_SYMBOL_MAX];
    char symbol[CDL_SYMBOL_MAX]; /* the exchange's */
    struct conn *conn;           /* the connection carrying it, NULL none */
    int live;                    /* wanted (0: removed, kept for its dedup state until reused) */
    int sent;                    /* subscribed on its connection's current session */
    int backfills;               /* REST pages in flight for it (its slot is not reused meanwhile) */
};                               /* its sequencer id is its index */

/* What an upstream's callbacks get as their user pointer: they tell a connection's current
 * upstream (link[cur]) from a rotation's (the other link). */
struct link {
    struct conn *conn;
};

/* Make-before-break rotation of one connection ahead of the exchange's lifetime (rotate.h):
 * STARTING while the replacement connects and subscribes (the connection's live (un)subscribes
 * wait), DRAINING for CDL_ROTATE_DRAIN_MS after the swap while the old upstream is still read. */
enum rot_state { ROT_IDLE, ROT_STARTING, ROT_DRAINING };
struct rotation {
    enum rot_state state;
    struct cdl_upstream *up; /* STARTING: the replacement; DRAINING: the old upstream */
    int session;             /* its adapter session, 0 none */
    int *subs, n_subs;       /* STARTING: the streams subscribed on the replacement */
    int frames, acks;        /* subscribe frames queued on the replacement, acks it delivered */
    unsigned failed;         /* tries failed since the connection was established */
    uint64_t due_ms;         /* loop time of the next try, 0 = none planned */
    uint64_t until_ms;       /* STARTING: when the try is given up; DRAINING: when the old closes */
    uint64_t started_ms;     /* when the try started */
    char name[104];
};

/* One upstream connection and the streams packed onto it (indices into feed->streams; removed
 * streams stay listed until their unsubscribe is sent).  Allocated one by one: the upstream
 * callbacks hold pointers into it. */
struct conn {
    struct cdl_feed *feed;
    int index;
    struct cdl_upstream *up;
    int session;
    int *streams;
    int count, cap;
    int fails;             /* consecutive failures since the last established connection */
    int restarted;         /* a new upstream replaced the old one (reload): its first open is a reconnect */
    int64_t last_frame_ms; /* wall clock of its last frame, 0 none */
    char url[CDL_URL_MAX]; /* what connect_url gave when it was started */
    char name[96];
    struct link link[2]; /* link[cur] is up's */
    int cur;
    struct rotation rot;
};

/* A REST page in flight.  The feed lists them (so that cdl_feed_destroy can orphan them: a page
 * may still be answered after the feed is gone, while the REST client and the loop go on). */
struct backfill {
    struct cdl_feed *feed; /* NULL once the feed is gone */
    struct cdl_list link;  /* in the feed's backfills while the feed lives */
    int stream;
    struct cdl_rest_query q;
    char symbol[CDL_SYMBOL_MAX];
    char interval[CDL_IVNAME_MAX]; /* a copy: a reload may swap the adapter meanwhile */
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
    int n_streams, cap_streams;
    int *slots; /* open-addressing index: exchange symbol -> stream (removed ones included) */
    int n_slots;
    struct conn **conns;
    int n_conns, cap_conns;
    int next_conn_id;
    int per; /* streams per connection */
    int started;
    int paused;             /* backpressure: upstream reads stopped */
    uint64_t rng;           /* rotation jitter */
    int changes;            /* streams added or removed since the last flush */
    uv_timer_t flush_timer; /* sends live (un)subscribes in batches, at the upstream's pace */
    int timer_inited, freeing;
    uint64_t last_frame_ms, n_frames, n_errors;
    int backfills_in_flight;
    struct cdl_list backfills; /* struct backfill.link: in flight, newest first */
    struct cdl_seq *seq;
    struct cdl_seq_stats seen; /* the sequencer's counters already exported */
    uv_timer_t *tick;          /* drives the sequencer's clock rules; freed in its close callback */
    struct cdl_quote_meta meta;
    struct cdl_parse_result res; /* scratch, too big for the stack of a callback */
    struct cdl_series *s_frames, *s_dups, *s_sub_err, *s_active, *s_conn_err, *s_reconn, *s_revisions, *s_inferred,
        *s_holes, *s_filled, *s_held, *s_late, *s_rot[4], *s_confirm[CDL_CONFIRM_RESULTS];
    struct cdl_log_limit lim_reject, lim_oversize, lim_candle, lim_event, lim_rest, lim_rest_fail, lim_gap, lim_rev,
        lim_send;
};

static int find_stream(const struct cdl_feed *f, const char *symbol)
{
    for (uint64_t i = cdl_hash_str(symbol);; i++) {
        int s = f->slots[i % (uint64_t)f->n_slots];
        if (s < 0)
            return -1;
        if (!strcmp(f->streams[s].symbol, symbol))
            return s;
    }
}

static void count(struct cdl_feed *f, enum cdl_metric_id id, const char *reason)
{
    f->n_errors++;
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

static int64_t seq_alive(void *user, int s)
{
    struct cdl_feed *f = user;
    const struct conn *c = f->streams[s].conn;
    return c ? c->last_frame_ms : 0;
}

/* Exports what the sequencer counted since the last call. */
static void sync_stats(struct cdl_feed *f)
{
    const struct cdl_seq_stats *st = cdl_seq_stats(f->seq);
    if (f->metrics) {
        uint64_t dups = st->verdicts[CDL_SEQ_DUPLICATE] + st->verdicts[CDL_SEQ_STALE] -
                        f->seen.verdicts[CDL_SEQ_DUPLICATE] - f->seen.verdicts[CDL_SEQ_STALE];
        cdl_series_add(f->s_dups, (double)dups);
        cdl_series_add(f->s_revisions, (double)(st->verdicts[CDL_SEQ_REVISION] - f->seen.verdicts[CDL_SEQ_REVISION]));
        cdl_series_add(f->s_inferred, (double)(st->inferred - f->seen.inferred));
        cdl_series_add(f->s_holes, (double)(st->holes - f->seen.holes));
        cdl_series_add(f->s_filled, (double)(st->holes_filled - f->seen.holes_filled));
        cdl_series_add(f->s_late, (double)(st->late - f->seen.late));
        static const char *const confirm_results[CDL_CONFIRM_RESULTS] = { "same", "corrected", "unconfirmed",
                                                                          "dropped" };
        for (int i = 0; i < CDL_CONFIRM_RESULTS; i++) {
            uint64_t d = st->confirm[i] - f->seen.confirm[i];
            if (d && !f->s_confirm[i]) /* only markets whose inferred closes are confirmed have them */
                f->s_confirm[i] = cdl_metrics_series(f->metrics, CDL_M_CLOSES_CONFIRMED, cdl_adapter_name(f->a),
                                                     f->m->name, confirm_results[i]);
            if (d)
                cdl_series_add(f->s_confirm[i], (double)d);
        }
        cdl_series_set(f->s_held, (double)cdl_seq_held(f->seq));
    }
    f->seen = *st;
}

static void free_handle(uv_handle_t *h) { free(h); }

static void rot_tick(struct cdl_feed *f);

static void on_tick(uv_timer_t *t)
{
    struct cdl_feed *f = t->data;
    cdl_seq_tick(f->seq, (int64_t)cdl_clock_now_ms());
    sync_stats(f);
    rot_tick(f);
}

/* Runs one checked candle through the sequencer. */
static void deliver(struct cdl_feed *f, int s, const struct cdl_candle *c, int from_rest, uint64_t recv_us)
{
    enum cdl_seq_verdict v = cdl_seq_push(f->seq, s, c, from_rest, (int64_t)cdl_clock_now_ms(), recv_us);
    if (v == CDL_SEQ_REVISION) {
        char ot[24];
        snprintf(ot, sizeof ot, "%lld", (long long)c->open_time);
        cdl_log_limited(&f->lim_rev, 10000, CDL_LOG_WARN, "closed candle revised by the exchange; the first one stands",
                        "exchange", cdl_adapter_name(f->a), "market", f->m->name, "symbol", f->streams[s].user_symbol,
                        "open_time", ot, "source", from_rest ? "rest" : "ws", NULL);
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
    if (!f->streams[*stream].live) { /* in flight before the unsubscribe took effect */
        *why = "unsubscribed";
        return -1;
    }
    if (!cdl_interval_aligned(&f->iv, pc->c.open_time)) {
        *why = "misaligned_open_time";
        return -1;
    }
    return 0;
}

/* Runs a frame's candles through the checks and the sequencer; returns how many passed. */
static int handle_candles(struct cdl_feed *f, struct cdl_parse_result *res, uint64_t recv_us, const char *conn)
{
    int passed = 0;
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
            cdl_log_limited(&f->lim_candle, 10000, CDL_LOG_WARN, "candle rejected", "exchange", cdl_adapter_name(f->a),
                            "market", f->m->name, "conn", conn, "reason", why, "symbol", res->items[i].symbol, NULL);
            continue;
        }
        deliver(f, s, &res->items[i].c, 0, recv_us);
        passed++;
    }
    sync_stats(f);
    return passed;
}

/* ---- upstream callbacks ---------------------------------------------------------------------------- */

static void send_frame(void *user, const char *frame, size_t len)
{
    struct conn *c = user;
    int rc = cdl_upstream_send(c->up, frame, len);
    if (rc)
        cdl_log_limited(&c->feed->lim_send, 10000, CDL_LOG_WARN, "cannot queue frame", "conn", c->name, "error",
                        cdl_strerror(rc), NULL);
}

/* Puts the streams of c whose (live, sent) match into refs and sets their sent flag to
 * `mark`; returns how many. */
static int collect(struct cdl_feed *f, struct conn *c, int live, int sent, int mark, struct cdl_stream_ref *refs)
{
    int n = 0;
    for (int i = 0; i < c->count; i++) {
        struct stream *st = &f->streams[c->streams[i]];
        if (st->live != live || st->sent != sent)
            continue;
        refs[n].symbol = st->symbol;
        refs[n].interval = f->exch_interval;
        st->sent = mark;
        n++;
    }
    return n;
}

/* Removed streams that are not subscribed on c's session leave c. */
static void conn_drop_removed(struct cdl_feed *f, struct conn *c)
{
    int k = 0;
    for (int i = 0; i < c->count; i++) {
        struct stream *st = &f->streams[c->streams[i]];
        if (st->live || st->sent)
            c->streams[k++] = c->streams[i];
        else
            st->conn = NULL;
    }
    c->count = k;
}

static struct cdl_stream_ref *refs_alloc(const struct conn *c)
{
    struct cdl_stream_ref *refs = cdl_xcalloc((size_t)c->count + 1, sizeof *refs);
    return refs;
}

static void arm_flush(struct cdl_feed *f);
static void rot_plan(struct cdl_feed *f, struct conn *c);
static void rot_open(struct cdl_feed *f, struct conn *c);
static void rot_down(struct cdl_feed *f, struct conn *c);
static void rot_end(struct cdl_feed *f, struct conn *c, const char *result);
static void rot_frame(struct cdl_feed *f, struct conn *c, const struct cdl_parse_result *res);

static struct conn *conn_of(void *user) { return ((struct link *)user)->conn; }
/* 1 for the connection's current upstream, 0 for a rotation's. */
static int is_current(void *user)
{
    struct link *l = user;
    return l == &l->conn->link[l->conn->cur];
}

static void on_open(void *user)
{
    struct conn *c = conn_of(user);
    struct cdl_feed *f = c->feed;
    if (!is_current(user)) {
        rot_open(f, c);
        return;
    }
    if (c->session <= 0)
        c->session = cdl_adapter_session_new(f->a, f->m, f->ws_url, (uint64_t)c->index + 1);
    c->fails = 0;
    for (int i = 0; i < c->count; i++) /* a new session has nothing subscribed */
        f->streams[c->streams[i]].sent = 0;
    conn_drop_removed(f, c);
    struct cdl_stream_ref *refs = refs_alloc(c);
    int n = collect(f, c, 1, 0, 1, refs);
    if (n)
        cdl_adapter_subscribe(f->a, c->session, refs, n, 0, send_frame, c);
    free(refs);
    if (f->s_active)
        cdl_series_add(f->s_active, 1);
    if (!n) /* everything was removed while connecting: let the flush close it */
        arm_flush(f);
    /* After a reconnect, what closed while we were away is a hole: backfill it now. */
    if (cdl_upstream_generation(c->up) > 1 || c->restarted) {
        c->restarted = 0;
        int64_t now = (int64_t)cdl_clock_now_ms();
        for (int i = 0; i < c->count; i++)
            if (f->streams[c->streams[i]].live)
                cdl_seq_reconnected(f->seq, c->streams[i], now);
        cdl_seq_tick(f->seq, now);
    }
    rot_plan(f, c);
}

static void on_down(void *user, const char *why)
{
    struct conn *c = conn_of(user);
    struct cdl_feed *f = c->feed;
    if (!is_current(user)) {
        rot_down(f, c);
        return;
    }
    if (c->rot.state == ROT_STARTING) /* the old one went first (the hard limit): reconnect + backfill */
        rot_end(f, c, "aborted");
    if (c->session > 0) {
        cdl_adapter_session_free(f->a, c->session);
        c->session = 0;
        if (f->s_active)
            cdl_series_add(f->s_active, -1);
    }
    c->fails++;
    f->n_errors++;
    for (int i = 0; i < c->count; i++)
        f->streams[c->streams[i]].sent = 0;
    conn_drop_removed(f, c);
    if (!c->count) /* nothing left to reconnect for */
        arm_flush(f);
    if (f->s_conn_err)
        cdl_series_add(f->s_conn_err, 1);
    if (f->s_reconn)
        cdl_series_add(f->s_reconn, 1);
}

static void rot_send_frame(void *user, const char *frame, size_t len);

static void on_ping(void *user)
{
    struct conn *c = conn_of(user);
    if (!is_current(user)) {
        if (c->rot.session > 0)
            cdl_adapter_ping(c->feed->a, c->rot.session, rot_send_frame, c);
    } else if (c->session > 0) {
        cdl_adapter_ping(c->feed->a, c->session, send_frame, c);
    }
}

static void on_oversize(void *user, size_t len)
{
    struct conn *c = conn_of(user);
    struct cdl_feed *f = c->feed;
    char n[24];
    snprintf(n, sizeof n, "%zu", len);
    count(f, CDL_M_FRAMES_REJECTED, "oversize");
    cdl_log_limited(&f->lim_oversize, 10000, CDL_LOG_WARN, "frame over the size cap dropped", "exchange",
                    cdl_adapter_name(f->a), "market", f->m->name, "conn", c->name, "bytes", n, NULL);
}

static void on_frame(void *user, const char *data, size_t len, uint64_t recv_us)
{
    struct conn *c = conn_of(user);
    struct cdl_feed *f = c->feed;
    struct cdl_parse_result *res = &f->res;
    int cur = is_current(user), session = cur ? c->session : c->rot.session;
    if (f->s_frames)
        cdl_series_add(f->s_frames, 1);
    f->n_frames++;
    f->last_frame_ms = cdl_clock_now_ms();
    c->last_frame_ms = (int64_t)f->last_frame_ms;
    if (session <= 0)
        return;
    int rc = cdl_adapter_parse(f->a, session, data, len, res);
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
        if (cur)
            cdl_upstream_reconnect(c->up, "server shutdown announced");
        else
            rot_down(f, c); /* a replacement about to go is no replacement */
        return;
    default: break;
    }
    /* the exchange speaks the protocol: what the connect breaker counts as a success */
    if (handle_candles(f, res, recv_us, c->name) > 0 || res->event == CDL_EV_ACK)
        cdl_upstream_accepted(cur ? c->up : c->rot.up);
    if (!cur)
        rot_frame(f, c, res);
}

/* ---- REST backfill of the sequencer's holes ---------------------------------------------------------- */

/* Parses a page and pushes its rows; 0 if it was usable. */
static int backfill_rows(struct cdl_feed *f, struct backfill *b, const struct cdl_rest_response *r)
{
    struct cdl_parse_result *res = &f->res;
    if (cdl_adapter_rest_parse(f->a, f->m, &b->q, r->body, r->body_len, res))
        return -1; /* counted and logged by the host */
    if (res->rejected) {
        count(f, CDL_M_FRAMES_REJECTED, res->reason);
        cdl_log_limited(&f->lim_rest, 10000, CDL_LOG_WARN, "backfill page rejected", "exchange", cdl_adapter_name(f->a),
                        "market", f->m->name, "reason", res->reason, NULL);
        return -1;
    }
    for (int i = 0; i < res->n_bad; i++)
        count(f, CDL_M_CANDLES_REJECTED, res->bad_reason);
    int *order = cdl_parse_result_order(res);
    uint64_t now_us = uv_hrtime() / 1000;
    for (int i = 0; i < res->n; i++) {
        struct cdl_parsed_candle *pc = &res->items[order ? order[i] : i];
        if ((pc->symbol[0] && strcmp(pc->symbol, b->symbol)) ||
            (pc->interval[0] && strcmp(pc->interval, f->exch_interval))) {
            count(f, CDL_M_CANDLES_REJECTED,
                  pc->symbol[0] && strcmp(pc->symbol, b->symbol) ? "unknown_symbol" : "wrong_interval");
            continue;
        }
        if (!cdl_interval_aligned(&f->iv, pc->c.open_time)) {
            count(f, CDL_M_CANDLES_REJECTED, "misaligned_open_time");
            continue;
        }
        deliver(f, b->stream, &pc->c, 1, now_us);
    }
    free(order);
    return 0;
}

static void on_backfill(void *user, const struct cdl_rest_response *r)
{
    struct backfill *b = user;
    struct cdl_feed *f = b->feed;
    if (f)
        cdl_list_remove(&b->link);
    if (!f || r->error == CDL_ECLOSED) { /* the feed is gone, or the REST client is */
        free(b);
        return;
    }
    f->backfills_in_flight--;
    f->streams[b->stream].backfills--;
    char status[16];
    snprintf(status, sizeof status, "%ld", r->status);
    if (f->metrics)
        cdl_series_add(cdl_metrics_series(f->metrics, CDL_M_REST_REQUESTS, cdl_adapter_name(f->a), f->m->name, status),
                       1);
    int ok = 0;
    if (r->error || r->status != 200)
        cdl_log_limited(&f->lim_rest_fail, 10000, CDL_LOG_WARN, "backfill request failed", "exchange",
                        cdl_adapter_name(f->a), "market", f->m->name, "status", status, "error", r->error_text, NULL);
    else
        ok = backfill_rows(f, b, r) == 0;
    if (f->metrics)
        cdl_series_add(cdl_metrics_series(f->metrics, CDL_M_REST_BACKFILLS, cdl_adapter_name(f->a), f->m->name,
                                          ok ? "ok" : "failed"),
                       1);
    cdl_seq_backfill_done(f->seq, b->stream, ok, (int64_t)cdl_clock_now_ms());
    sync_stats(f);
    free(b);
}

/* The sequencer asks for the closed candles opening in [from, to) of stream s. */
static int seq_backfill(void *user, int s, int64_t from, int64_t to, int rows)
{
    struct cdl_feed *f = user;
    if (!f->streams[s].live)
        return CDL_ENOTFOUND; /* removed: nobody wants its past */
    struct backfill *b = cdl_xcalloc(1, sizeof *b);
    cdl_list_init(&b->link);
    b->feed = f;
    b->stream = s;
    snprintf(b->symbol, sizeof b->symbol, "%s", f->streams[s].symbol);
    snprintf(b->interval, sizeof b->interval, "%s", f->exch_interval);
    b->q.symbol = b->symbol;
    b->q.interval = b->interval;
    b->q.start_ms = from;
    b->q.end_ms = to - 1;
    b->q.limit = rows;
    b->q.base_url = f->rest_url;
    struct cdl_rest_req req;
    int rc = cdl_adapter_rest_request(f->a, f->m, &b->q, &req);
    if (!rc) {
        rc = cdl_rest_request_weighted(f->rest, req.method, req.url, (const char *const *)req.headers, req.body,
                                       cdl_market_rest_weight(f->m, rows), on_backfill, b, NULL);
        cdl_rest_req_clear(&req);
    }
    if (rc) {
        free(b);
        return rc;
    }
    f->backfills_in_flight++;
    f->streams[s].backfills++;
    cdl_list_push_front(&f->backfills, &b->link);
    return 0;
}

/* ---- streams and connections ------------------------------------------------------------------------ */

static void reindex(struct cdl_feed *f)
{
    int want = f->cap_streams * 2 + 1;
    if (want != f->n_slots) {
        free(f->slots);
        f->n_slots = want;
        f->slots = cdl_xmalloc((size_t)want * sizeof *f->slots);
    }
    for (int i = 0; i < f->n_slots; i++)
        f->slots[i] = -1;
    for (int s = 0; s < f->n_streams; s++) {
        uint64_t h = cdl_hash_str(f->streams[s].symbol);
        while (f->slots[h % (uint64_t)f->n_slots] >= 0)
            h++;
        f->slots[h % (uint64_t)f->n_slots] = s;
    }
}

/* A stream for exchange symbol sym (not in the index yet): a removed one that nothing refers to
 * any more is reused, else the array grows. */
static int new_stream(struct cdl_feed *f, const char *sym)
{
    int s = -1, rebuild = 0;
    for (int i = 0; i < f->n_streams && s < 0; i++) {
        const struct stream *st = &f->streams[i];
        if (!st->live && !st->conn && !st->backfills)
            s = i;
    }
    if (s >= 0) {
        rebuild = 1; /* its old symbol leaves the index */
    } else {
        if (f->n_streams == f->cap_streams) {
            int cap = f->cap_streams ? f->cap_streams * 2 : 16;
            f->streams = cdl_xrealloc(f->streams, (size_t)cap * sizeof *f->streams);
            memset(f->streams + f->cap_streams, 0, (size_t)(cap - f->cap_streams) * sizeof *f->streams);
            f->cap_streams = cap;
            rebuild = 1;
        }
        s = f->n_streams++;
    }
    struct stream *st = &f->streams[s];
    memset(st, 0, sizeof *st);
    snprintf(st->symbol, sizeof st->symbol, "%s", sym);
    char key[3 * CDL_NAME_MAX + CDL_SYMBOL_MAX];
    snprintf(key, sizeof key, "%s/%s/%s/%s", cdl_adapter_name(f->a), f->m->name, sym, f->iv.name);
    if (s == cdl_seq_count(f->seq))
        cdl_seq_add(f->seq, cdl_hash_str(key));
    else
        cdl_seq_reset(f->seq, s, cdl_hash_str(key)); /* a slot of a removed stream: a new stream */
    if (rebuild) {
        reindex(f);
    } else {
        uint64_t h = cdl_hash_str(sym);
        while (f->slots[h % (uint64_t)f->n_slots] >= 0)
            h++;
        f->slots[h % (uint64_t)f->n_slots] = s;
    }
    return s;
}

/* The URL of connection c, for its live streams (the adapter's connect_url). */
static int conn_url(struct cdl_feed *f, struct conn *c, char *url, size_t urllen)
{
    struct cdl_stream_ref *refs = refs_alloc(c);
    int n = 0;
    for (int i = 0; i < c->count; i++)
        if (f->streams[c->streams[i]].live) {
            refs[n].symbol = f->streams[c->streams[i]].symbol;
            refs[n++].interval = f->exch_interval;
        }
    int session = cdl_adapter_session_new(f->a, f->m, f->ws_url, (uint64_t)c->index + 1);
    int rc = cdl_adapter_connect_url(f->a, session, refs, n, url, urllen);
    cdl_adapter_session_free(f->a, session);
    free(refs);
    return rc;
}

/* An upstream to url whose callbacks get link (not started); paused if the feed is, so that
 * backpressure holds for connections opened meanwhile (a stream added, a reload restart, a
 * rotation). */
static struct cdl_upstream *conn_upstream(struct cdl_feed *f, const char *url, const char *name, struct link *link)
{
    static const struct cdl_upstream_cbs cbs = {
        .on_open = on_open,
        .on_frame = on_frame,
        .on_oversize = on_oversize,
        .on_ping = on_ping,
        .on_down = on_down,
    };
    struct cdl_upstream_opts uo = {
        .url = url,
        .name = name,
        .idle_timeout_s = f->o.idle_timeout > 0 ? f->o.idle_timeout : f->m->idle_timeout,
        .ping_interval_s = f->m->ping_interval,
        .max_sends_per_sec = f->m->max_sends_per_sec,
        .max_message = f->o.max_message,
        .circuit = f->o.circuit,
    };
    struct cdl_upstream *up = cdl_upstream_create(f->net, f->loop, &uo, &cbs, link);
    if (f->paused)
        cdl_upstream_pause(up, 1);
    return up;
}

static int conn_start(struct cdl_feed *f, struct conn *c)
{
    char url[CDL_URL_MAX];
    int rc = conn_url(f, c, url, sizeof url);
    if (rc)
        return rc;
    snprintf(c->url, sizeof c->url, "%s", url);
    c->up = conn_upstream(f, url, c->name, &c->link[c->cur]);
    if ((rc = cdl_upstream_start(c->up))) {
        cdl_log(CDL_LOG_ERROR, "invalid WebSocket URL", "url", url, NULL);
        return rc;
    }
    return 0;
}

/* Puts stream s on the first connection with room, or on a new one (started if the feed is). */
static int place(struct cdl_feed *f, int s)
{
    struct conn *c = NULL;
    for (int i = 0; i < f->n_conns && !c; i++)
        if (f->conns[i]->count < f->per)
            c = f->conns[i];
    int fresh = !c;
    if (fresh) {
        if (f->n_conns == f->cap_conns) {
            f->cap_conns = f->cap_conns ? f->cap_conns * 2 : 4;
            f->conns = cdl_xrealloc(f->conns, (size_t)f->cap_conns * sizeof *f->conns);
        }
        c = cdl_xcalloc(1, sizeof *c);
        c->feed = f;
        c->link[0].conn = c->link[1].conn = c;
        c->index = f->next_conn_id++;
        snprintf(c->name, sizeof c->name, "%s/%s#%d", cdl_adapter_name(f->a), f->m->name, c->index + 1);
        f->conns[f->n_conns++] = c;
    }
    if (c->count == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 8;
        c->streams = cdl_xrealloc(c->streams, (size_t)c->cap * sizeof *c->streams);
    }
    c->streams[c->count++] = s;
    f->streams[s].conn = c;
    return fresh && f->started ? conn_start(f, c) : 0;
}

static void rot_drop(struct cdl_feed *f, struct conn *c);

/* Closes connection i (a close frame, 1001) and forgets it. */
static void conn_close(struct cdl_feed *f, int i)
{
    struct conn *c = f->conns[i];
    if (c->rot.up)
        rot_drop(f, c);
    if (c->session > 0) {
        cdl_adapter_session_free(f->a, c->session);
        if (f->s_active)
            cdl_series_add(f->s_active, -1);
    }
    cdl_upstream_destroy(c->up);
    for (int k = 0; k < c->count; k++) {
        f->streams[c->streams[k]].conn = NULL;
        f->streams[c->streams[k]].sent = 0;
    }
    free(c->streams);
    free(c);
    memmove(&f->conns[i], &f->conns[i + 1], (size_t)(f->n_conns - i - 1) * sizeof *f->conns);
    f->n_conns--;
}

/* Sends c's pending unsubscribes and subscribes in one batch once its send queue is empty (so a
 * burst of changes becomes a few frames at the exchange's pace).  1 if some are still waiting. */
static int flush_conn(struct cdl_feed *f, struct conn *c)
{
    if (c->session <= 0 || !cdl_upstream_is_open(c->up))
        return 0; /* on_open subscribes what is live then */
    if (cdl_upstream_queued(c->up) > 0 || c->rot.state == ROT_STARTING)
        return 1; /* a replacement takes what was subscribed when it opened; the rest after the swap */
    struct cdl_stream_ref *refs = refs_alloc(c);
    int n = collect(f, c, 0, 1, 0, refs);
    if (n)
        cdl_adapter_subscribe(f->a, c->session, refs, n, 1, send_frame, c);
    conn_drop_removed(f, c);
    n = collect(f, c, 1, 0, 1, refs);
    if (n)
        cdl_adapter_subscribe(f->a, c->session, refs, n, 0, send_frame, c);
    free(refs);
    return 0;
}

static void flush_cb(uv_timer_t *t)
{
    struct cdl_feed *f = t->data;
    int pending = 0;
    for (int i = f->n_conns - 1; i >= 0; i--) {
        struct conn *c = f->conns[i];
        int live = 0;
        for (int k = 0; k < c->count && !live; k++)
            live = f->streams[c->streams[k]].live;
        if (!live)
            conn_close(f, i);
        else
            pending |= flush_conn(f, c);
    }
    if (pending)
        uv_timer_start(&f->flush_timer, flush_cb, 250, 0);
}

static void arm_flush(struct cdl_feed *f)
{
    if (!f->started || f->freeing)
        return;
    if (!f->timer_inited) {
        uv_timer_init(f->loop, &f->flush_timer);
        f->flush_timer.data = f;
        f->timer_inited = 1;
    }
    if (!uv_is_active((uv_handle_t *)&f->flush_timer))
        uv_timer_start(&f->flush_timer, flush_cb, 0, 0);
}

static int normalise(struct cdl_feed *f, const char *text, char *sym, char *err, size_t errlen)
{
    char why[200] = "";
    if (strlen(text) >= CDL_SYMBOL_MAX || cdl_adapter_symbol(f->a, f->m, text, sym, CDL_SYMBOL_MAX, why, sizeof why)) {
        snprintf(err, errlen, "invalid symbol '%.64s' for %s %s%s%s", text, cdl_adapter_name(f->a), f->m->name,
                 why[0] ? ": " : "", why);
        return CDL_EINVAL;
    }
    return 0;
}

int cdl_feed_add(struct cdl_feed *f, const char *text, char *err, size_t errlen)
{
    char sym[CDL_SYMBOL_MAX];
    int rc = normalise(f, text, sym, err, errlen);
    if (rc)
        return rc;
    int s = find_stream(f, sym);
    if (s >= 0 && f->streams[s].live)
        return s; /* the same stream twice is one stream; the first spelling stays */
    if (s < 0)
        s = new_stream(f, sym);
    struct stream *st = &f->streams[s];
    st->live = 1;
    cdl_seq_set_active(f->seq, s, 1);
    snprintf(st->user_symbol, sizeof st->user_symbol, "%s", text);
    if (!st->conn && (rc = place(f, s)) < 0) {
        /* its new connection cannot start (connect_url fails): nothing may stay behind, or the
         * next streams would be placed on that dead connection and never stream */
        snprintf(err, errlen, "cannot start a connection for %s: %s", sym, cdl_strerror(rc));
        st->live = 0;
        cdl_seq_set_active(f->seq, s, 0);
        conn_close(f, f->n_conns - 1); /* place() only starts a connection it just appended */
        return rc;
    }
    arm_flush(f);
    return s;
}

int cdl_feed_remove(struct cdl_feed *f, const char *text)
{
    char sym[CDL_SYMBOL_MAX], err[256];
    if (normalise(f, text, sym, err, sizeof err))
        return CDL_EINVAL;
    int s = find_stream(f, sym);
    if (s < 0 || !f->streams[s].live)
        return CDL_ENOTFOUND;
    struct stream *st = &f->streams[s];
    st->live = 0;
    cdl_seq_set_active(f->seq, s, 0); /* no holes, no backfills; it remembers its last close */
    if (st->conn)
        conn_drop_removed(f, st->conn);
    arm_flush(f);
    return 0;
}

void cdl_feed_status(const struct cdl_feed *f, struct cdl_feed_status *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < f->n_streams; i++)
        out->streams += f->streams[i].live;
    out->connections = f->n_conns;
    for (int i = 0; i < f->n_conns; i++) {
        const struct conn *c = f->conns[i];
        out->open_connections += c->session > 0;
        if (c->fails > out->consecutive_failures)
            out->consecutive_failures = c->fails;
    }
    out->last_frame_ms = f->last_frame_ms;
    out->frames = f->n_frames;
    out->errors = f->n_errors;
}

/* ---- make-before-break rotation ahead of the exchange's connection lifetime (rotate.h) ----------- */

static const char *const rot_results[4] = { "ok", "failed", "timeout", "aborted" };

static uint64_t conn_lifetime_ms(const struct cdl_feed *f)
{
    double s = f->o.max_connection_age > 0 ? f->o.max_connection_age : f->m->max_connection_age;
    return (uint64_t)(s * 1000);
}

/* c's current upstream is established: its replacement is due before the exchange cuts it. */
static void rot_plan(struct cdl_feed *f, struct conn *c)
{
    c->rot.failed = 0;
    c->rot.due_ms = cdl_rotate_due_ms(uv_now(f->loop), conn_lifetime_ms(f), cdl_rand_next(&f->rng));
}

/* Closes the rotation's upstream (a close frame, 1001) and frees its session. */
static void rot_drop(struct cdl_feed *f, struct conn *c)
{
    struct rotation *r = &c->rot;
    if (r->session > 0) {
        cdl_adapter_session_free(f->a, r->session);
        if (f->s_active)
            cdl_series_add(f->s_active, -1);
    }
    cdl_upstream_destroy(r->up);
    free(r->subs);
    r->up = NULL;
    r->subs = NULL;
    r->session = r->n_subs = 0;
    r->state = ROT_IDLE;
}

static void rot_send_frame(void *user, const char *frame, size_t len)
{
    struct conn *c = user;
    int rc = cdl_upstream_send(c->rot.up, frame, len);
    if (rc)
        cdl_log(CDL_LOG_WARN, "cannot queue frame", "conn", c->rot.name, "error", cdl_strerror(rc), NULL);
    else
        c->rot.frames++;
}

static void rot_begin(struct cdl_feed *f, struct conn *c)
{
    struct rotation *r = &c->rot;
    char url[CDL_URL_MAX];
    r->due_ms = 0;
    r->frames = r->acks = 0;
    r->state = ROT_STARTING;
    r->started_ms = uv_now(f->loop);
    r->until_ms = r->started_ms + cdl_rotate_timeout_ms(conn_lifetime_ms(f));
    /* "exchange/market#n~r": the same market breaker as the connection (upstream.h) */
    snprintf(r->name, sizeof r->name, "%s~r", c->name);
    if (conn_url(f, c, url, sizeof url)) {
        rot_end(f, c, "failed");
        return;
    }
    r->up = conn_upstream(f, url, r->name, &c->link[!c->cur]);
    cdl_log(CDL_LOG_INFO, "connection rotation started", "conn", c->name, NULL);
    if (cdl_upstream_start(r->up))
        rot_end(f, c, "failed");
}

/* The replacement is established: it subscribes what the connection has subscribed now (the
 * connection's changes wait for the swap, flush_conn). */
static void rot_open(struct cdl_feed *f, struct conn *c)
{
    struct rotation *r = &c->rot;
    if (r->state != ROT_STARTING)
        return;
    r->session = cdl_adapter_session_new(f->a, f->m, f->ws_url, (uint64_t)c->index + 1);
    if (f->s_active)
        cdl_series_add(f->s_active, 1);
    struct cdl_stream_ref *refs = refs_alloc(c);
    r->subs = cdl_xmalloc(((size_t)c->count + 1) * sizeof *r->subs);
    for (int i = 0; i < c->count; i++) {
        struct stream *st = &f->streams[c->streams[i]];
        if (st->live && st->sent) {
            refs[r->n_subs].symbol = st->symbol;
            refs[r->n_subs].interval = f->exch_interval;
            r->subs[r->n_subs++] = c->streams[i];
        }
    }
    if (r->n_subs)
        cdl_adapter_subscribe(f->a, r->session, refs, r->n_subs, 0, rot_send_frame, c);
    free(refs);
    if (!r->n_subs) /* nothing to wait for */
        rot_end(f, c, "ok");
}

/* A frame of the rotation's upstream was handled: the replacement is live once every subscribe
 * frame is acknowledged (or, for an exchange that subscribes by URL, once candles come). */
static void rot_frame(struct cdl_feed *f, struct conn *c, const struct cdl_parse_result *res)
{
    struct rotation *r = &c->rot;
    if (r->state != ROT_STARTING)
        return;
    if (res->event == CDL_EV_ACK)
        r->acks++;
    if (r->frames ? r->acks >= r->frames && !cdl_upstream_queued(r->up) : res->n > 0)
        rot_end(f, c, "ok");
}

/* The rotation's upstream went down (or announced its shutdown). */
static void rot_down(struct cdl_feed *f, struct conn *c)
{
    if (c->rot.state == ROT_STARTING)
        rot_end(f, c, "failed");
    else if (c->rot.state == ROT_DRAINING)
        rot_drop(f, c);
}

/* The replacement is live: it becomes the connection's upstream, and the old one drains. */
static void rot_swap(struct cdl_feed *f, struct conn *c)
{
    struct rotation *r = &c->rot;
    for (int i = 0; i < c->count; i++) {
        struct stream *st = &f->streams[c->streams[i]];
        st->sent = 0;
        for (int k = 0; k < r->n_subs && !st->sent; k++)
            st->sent = r->subs[k] == c->streams[i];
    }
    free(r->subs);
    r->subs = NULL;
    r->n_subs = 0;
    struct cdl_upstream *old = c->up;
    int old_session = c->session;
    c->up = r->up;
    c->session = r->session;
    c->cur = !c->cur;
    c->fails = 0;
    r->up = old;
    r->session = old_session;
    r->state = ROT_DRAINING;
    r->until_ms = uv_now(f->loop) + CDL_ROTATE_DRAIN_MS;
    conn_drop_removed(f, c); /* removed while rotating and not subscribed on the replacement */
    rot_plan(f, c);
}

/* Ends a try: "ok" swaps; anything else closes the replacement (the old connection goes on)
 * and plans the next try. */
static void rot_end(struct cdl_feed *f, struct conn *c, const char *result)
{
    struct rotation *r = &c->rot;
    int i = 0;
    while (i < 3 && strcmp(rot_results[i], result))
        i++;
    if (f->s_rot[i])
        cdl_series_add(f->s_rot[i], 1);
    if (i == 0) {
        char took[24];
        snprintf(took, sizeof took, "%llu", (unsigned long long)(uv_now(f->loop) - r->started_ms));
        rot_swap(f, c);
        cdl_log(CDL_LOG_INFO, "connection rotated", "conn", c->name, "took_ms", took, NULL);
    } else {
        rot_drop(f, c);
        r->failed++;
        uint64_t now = uv_now(f->loop);
        r->due_ms = i == 3 ? 0 : cdl_rotate_retry_ms(now, r->failed, cdl_rand_next(&f->rng));
        char d[24];
        snprintf(d, sizeof d, "%llu", (unsigned long long)(r->due_ms ? r->due_ms - now : 0));
        cdl_log(CDL_LOG_WARN, "connection rotation failed; the connection goes on", "conn", c->name, "result", result,
                "retry_ms", d, NULL);
    }
    arm_flush(f);
}

static void rot_tick(struct cdl_feed *f)
{
    uint64_t now = uv_now(f->loop);
    for (int i = 0; i < f->n_conns; i++) {
        struct conn *c = f->conns[i];
        struct rotation *r = &c->rot;
        if (r->state == ROT_STARTING && now >= r->until_ms)
            rot_end(f, c, "timeout");
        else if (r->state == ROT_DRAINING && now >= r->until_ms)
            rot_drop(f, c);
        else if (r->state == ROT_IDLE && r->due_ms && now >= r->due_ms && c->session > 0 && !f->paused)
            rot_begin(f, c);
    }
}

/* ---- reload: another copy of the adapter takes over ---------------------------------------------- */

static void discard_frame(void *user, const char *frame, size_t len)
{
    (void)frame;
    (void)len;
    ++*(int *)user;
}

int cdl_feed_check_adapter(const struct cdl_feed *f, struct cdl_adapter *a, const struct cdl_market *m, char *err,
                           size_t errlen)
{
    const char *exch_iv = cdl_adapter_interval(a, m, f->iv.name);
    if (!exch_iv) {
        snprintf(err, errlen, "%s %s no longer has interval %s", cdl_adapter_name(a), m->name, f->iv.name);
        return CDL_EINVAL;
    }
    struct cdl_stream_ref ref = { NULL, exch_iv };
    for (int i = 0; i < f->n_streams; i++) {
        const struct stream *st = &f->streams[i];
        char sym[CDL_SYMBOL_MAX], why[200] = "";
        if (!st->live)
            continue;
        if (cdl_adapter_symbol(a, m, st->user_symbol, sym, sizeof sym, why, sizeof why)) {
            snprintf(err, errlen, "%s %s refuses symbol '%s' that is streaming%s%s", cdl_adapter_name(a), m->name,
                     st->user_symbol, why[0] ? ": " : "", why);
            return CDL_EINVAL;
        }
        if (strcmp(sym, st->symbol)) {
            snprintf(err, errlen, "%s %s now names '%s' '%s' (was '%s'): the stream would change; restart to apply",
                     cdl_adapter_name(a), m->name, st->user_symbol, sym, st->symbol);
            return CDL_EINVAL;
        }
        if (!ref.symbol)
            ref.symbol = st->symbol;
    }
    if (!ref.symbol)
        return 0;
    /* A self-check of the hooks every connection uses, on a throwaway session. */
    int session = cdl_adapter_session_new(a, m, m->ws_url, 0), frames = 0, rc;
    char url[CDL_URL_MAX];
    if ((rc = cdl_adapter_connect_url(a, session, &ref, 1, url, sizeof url)))
        snprintf(err, errlen, "%s: connect_url fails (see the adapter error logged)", cdl_adapter_name(a));
    else if ((rc = cdl_adapter_subscribe(a, session, &ref, 1, 0, discard_frame, &frames)))
        snprintf(err, errlen, "%s: subscribe fails (see the adapter error logged)", cdl_adapter_name(a));
    else if (m->ping_interval > 0 && (rc = cdl_adapter_ping(a, session, discard_frame, &frames)))
        snprintf(err, errlen, "%s: ping fails (see the adapter error logged)", cdl_adapter_name(a));
    cdl_adapter_session_free(a, session);
    return rc ? CDL_EINVAL : 0;
}

/* A new upstream for c, with the feed's current adapter and URL; its first open is a reconnect
 * (the sequencer backfills what closed meanwhile). */
static void conn_restart(struct cdl_feed *f, struct conn *c)
{
    char url[CDL_URL_MAX];
    if (conn_url(f, c, url, sizeof url)) { /* the new adapter cannot name it: keep the old one */
        cdl_log(CDL_LOG_ERROR, "reload: connect_url fails; the connection stays as it was", "conn", c->name, NULL);
        return;
    }
    if (c->session > 0) {
        cdl_adapter_session_free(f->a, c->session);
        c->session = 0;
        if (f->s_active)
            cdl_series_add(f->s_active, -1);
    }
    for (int i = 0; i < c->count; i++)
        f->streams[c->streams[i]].sent = 0;
    cdl_upstream_destroy(c->up);
    c->up = NULL;
    c->restarted = 1;
    if (conn_start(f, c))
        cdl_log(CDL_LOG_ERROR, "reload: cannot restart the connection", "conn", c->name, NULL);
}

int cdl_feed_swap_adapter(struct cdl_feed *f, struct cdl_adapter *a, const struct cdl_market *m, const char *ws_url,
                          const char *rest_url)
{
    const struct cdl_market *om = f->m;
    struct cdl_adapter *oa = f->a;
    const char *exch_iv = cdl_adapter_interval(a, m, f->iv.name);
    if (!exch_iv)
        return CDL_EINVAL; /* cdl_feed_check_adapter said so */
    const char *new_ws = ws_url ? ws_url : m->ws_url;
    int all = strcmp(new_ws, f->ws_url) || strcmp(exch_iv, f->exch_interval) || om->ping_interval != m->ping_interval ||
              om->idle_timeout != m->idle_timeout || om->max_sends_per_sec != m->max_sends_per_sec;
    for (int i = 0; i < f->n_conns; i++) { /* the sessions move to the new state */
        struct conn *c = f->conns[i];
        if (c->rot.up) { /* a rotation under way is dropped (its session is the old state's) and tried again soon */
            int starting = c->rot.state == ROT_STARTING;
            rot_drop(f, c);
            if (starting)
                c->rot.due_ms = cdl_rotate_retry_ms(uv_now(f->loop), 1, cdl_rand_next(&f->rng));
        }
        if (c->session <= 0)
            continue;
        int fresh = cdl_adapter_session_migrate(oa, c->session, a, m, new_ws, (uint64_t)c->index + 1);
        cdl_adapter_session_free(oa, c->session);
        c->session = fresh > 0 ? fresh : 0;
        if (c->session <= 0) {
            if (f->s_active)
                cdl_series_add(f->s_active, -1);
            c->restarted = -1; /* no session: it must reconnect */
        }
    }
    f->a = a;
    f->m = m;
    f->exch_interval = exch_iv;
    cdl_seq_set_confirm_inferred(f->seq, f->o.confirm_inferred < 0 ? m->confirm_inferred : f->o.confirm_inferred);
    snprintf(f->ws_url, sizeof f->ws_url, "%s", new_ws);
    snprintf(f->rest_url, sizeof f->rest_url, "%s", rest_url ? rest_url : m->rest_url);
    f->meta.exchange = cdl_adapter_name(a);
    f->meta.contract_type = m->name;
    int restarted = 0;
    for (int i = 0; i < f->n_conns; i++) {
        struct conn *c = f->conns[i];
        char url[CDL_URL_MAX];
        if (!c->up)
            continue;
        int redo = all || c->restarted < 0;
        if (!redo)
            redo = !conn_url(f, c, url, sizeof url) && strcmp(url, c->url) != 0;
        c->restarted = 0;
        if (redo && f->started) {
            conn_restart(f, c);
            restarted++;
        }
    }
    return restarted;
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
    struct cdl_url url;
    const char *ws_url = o->ws_url ? o->ws_url : o->market->ws_url;
    if (cdl_url_parse(ws_url, &url)) {
        snprintf(err, errlen, "invalid WebSocket URL '%.200s' for %s %s", ws_url, cdl_adapter_name(o->adapter),
                 o->market->name);
        *rc = CDL_EINVAL;
        return NULL;
    }
    struct cdl_feed *f = cdl_xcalloc(1, sizeof *f);
    cdl_list_init(&f->backfills);
    f->loop = loop;
    f->net = net;
    f->rest = rest;
    f->metrics = metrics;
    f->o = *o;
    f->o.symbols = NULL; /* borrowed only for the call */
    f->sink = *sink;
    f->a = o->adapter;
    f->m = o->market;
    f->iv = iv;
    f->rng = uv_hrtime() ^ (uint64_t)(uintptr_t)f;
    f->exch_interval = exch_iv;
    snprintf(f->ws_url, sizeof f->ws_url, "%s", o->ws_url ? o->ws_url : f->m->ws_url);
    snprintf(f->rest_url, sizeof f->rest_url, "%s", o->rest_url ? o->rest_url : f->m->rest_url);
    f->o.ws_url = f->o.rest_url = NULL;
    f->meta.exchange = cdl_adapter_name(f->a);
    f->meta.contract_type = f->m->name;
    f->meta.interval = iv.name;
    f->per = o->max_streams_per_conn > 0 ? o->max_streams_per_conn : f->m->max_streams;
    if (f->per > f->m->max_streams)
        f->per = f->m->max_streams;
    if (f->per < 1)
        f->per = 1;
    int can_backfill = rest && cdl_adapter_has_rest(f->a) && f->rest_url[0];
    struct cdl_seq_opts so = {
        .iv = iv,
        .grace_ms = o->grace_ms > 0 ? o->grace_ms : 2000,
        .reorder_wait_ms = o->reorder_wait_ms > 0 ? o->reorder_wait_ms : 1000,
        .hold_ms = o->hold_ms > 0 ? o->hold_ms : 30000,
        .retry_ms = o->retry_ms > 0 ? o->retry_ms : 2000,
        .hold_max = o->hold_max > 0 ? o->hold_max : 1024,
        .page_rows = can_backfill ? f->m->rest_max_rows : 0, /* full exchange pages (lua_host.h) */
        .no_clock = o->no_clock,
        .dedup = o->dedup,
        .confirm_inferred = o->confirm_inferred < 0 ? f->m->confirm_inferred : o->confirm_inferred,
    };
    struct cdl_seq_cbs scb = {
        .emit = seq_emit,
        .gap = seq_gap,
        .backfill = seq_backfill,
        .alive = seq_alive,
        .user = f,
    };
    f->seq = cdl_seq_create(&so, &scb);
    if (can_backfill) /* the host's budget (the first market declaring a host sets it, the smaller holds) */
        cdl_rest_set_budget(rest, f->rest_url, f->m->rest_weight_per_minute, f->m->rest_weight_burst);
    reindex(f);
    for (int i = 0; i < o->n_symbols; i++) {
        int s = cdl_feed_add(f, o->symbols[i], err, errlen);
        if (s < 0) {
            *rc = s;
            cdl_feed_destroy(f);
            return NULL;
        }
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
        for (int i = 0; i < 4; i++)
            f->s_rot[i] = cdl_metrics_series(metrics, CDL_M_WS_ROTATIONS, ex, mk, rot_results[i]);
    }
    *rc = 0;
    return f;
}

int cdl_feed_n_connections(const struct cdl_feed *f) { return f->n_conns; }

void cdl_feed_pause(struct cdl_feed *f, int paused)
{
    if (!f)
        return;
    f->paused = paused; /* no rotation starts while paused */
    for (int i = 0; i < f->n_conns; i++) {
        if (f->conns[i]->up)
            cdl_upstream_pause(f->conns[i]->up, paused);
        if (f->conns[i]->rot.up)
            cdl_upstream_pause(f->conns[i]->rot.up, paused);
    }
}

int cdl_feed_start(struct cdl_feed *f)
{
    f->started = 1;
    f->tick = cdl_xmalloc(sizeof *f->tick);
    uv_timer_init(f->loop, f->tick);
    f->tick->data = f;
    /* The tick drives the sequencer's wall-clock deadlines (grace, reorder wait, hold, retry):
     * its period is wall time, so it shrinks with a test clock (clock.h). */
    uint64_t tick_ms = cdl_clock_timer_ms(FEED_TICK_MS);
    uv_timer_start(f->tick, on_tick, tick_ms, tick_ms);
    for (int i = 0; i < f->n_conns; i++) {
        int rc = conn_start(f, f->conns[i]);
        if (rc)
            return rc;
    }
    return 0;
}

static void feed_free(uv_handle_t *h) { free(h->data); }

void cdl_feed_destroy(struct cdl_feed *f)
{
    if (!f || f->freeing)
        return;
    f->freeing = 1;
    struct cdl_log_limit *lims[] = { &f->lim_reject,    &f->lim_oversize, &f->lim_candle, &f->lim_event, &f->lim_rest,
                                     &f->lim_rest_fail, &f->lim_gap,      &f->lim_rev,    &f->lim_send };
    for (size_t i = 0; i < sizeof lims / sizeof lims[0]; i++)
        cdl_log_limit_flush(lims[i]); /* what the limits still hold back, before it is lost */
    for (int i = 0; i < f->n_conns; i++) {
        struct conn *c = f->conns[i];
        if (c->session > 0)
            cdl_adapter_session_free(f->a, c->session);
        cdl_upstream_destroy(c->up);
        if (c->rot.session > 0)
            cdl_adapter_session_free(f->a, c->rot.session);
        cdl_upstream_destroy(c->rot.up);
        free(c->rot.subs);
        free(c->streams);
        free(c);
    }
    free(f->conns);
    struct cdl_list *it, *tmp;
    cdl_list_each(it, tmp, &f->backfills)
    {
        struct backfill *b = cdl_list_entry(it, struct backfill, link);
        b->feed = NULL; /* answered later, dropped (on_backfill) */
        cdl_list_remove(&b->link);
    }
    if (f->tick)
        uv_close((uv_handle_t *)f->tick, free_handle);
    cdl_seq_destroy(f->seq);
    free(f->streams);
    free(f->slots);
    if (f->timer_inited)
        uv_close((uv_handle_t *)&f->flush_timer, feed_free);
    else
        free(f);
}

void cdl_feed_opts_config(const struct cdl_config *cfg, struct cdl_feed_opts *fo)
{
    if (fo->adapter && fo->market) {
        const char *ws, *rest;
        cdl_config_endpoints(cfg, cdl_adapter_name(fo->adapter), fo->market->name, &ws, &rest);
        if (!fo->ws_url)
            fo->ws_url = ws;
        if (!fo->rest_url)
            fo->rest_url = rest;
    }
    fo->max_streams_per_conn = cfg->max_symbol_per_ws;
    fo->max_message = (size_t)cfg->max_frame_bytes;
    fo->idle_timeout = cfg->idle_timeout;
    fo->max_connection_age = cfg->max_connection_age;
    fo->grace_ms = (int64_t)(cfg->inactivity_timeout * 1000);
    fo->reorder_wait_ms = (int64_t)(cfg->seq_reorder_wait_seconds * 1000);
    fo->hold_ms = (int64_t)(cfg->seq_hold_seconds * 1000);
    fo->retry_ms = (int64_t)(cfg->seq_retry_seconds * 1000);
    fo->hold_max = cfg->seq_hold_max;
    fo->no_clock = !cfg->seq_clock_rules;
    fo->confirm_inferred = cdl_config_confirm_parse(cfg->seq_confirm_inferred);
}

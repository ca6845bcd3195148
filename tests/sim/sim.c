/* sim.c - candled-sim: a deterministic exchange simulator for tests, benchmarks and demos.
 *
 * One process, one thread, one libuv loop that this file owns.  libwebsockets 4.1.6 runs on it
 * as a foreign loop with one vhost on 127.0.0.1 that serves both the exchange's REST API and its
 * WebSocket endpoints.  The core keeps:
 *   - streams: one per distinct stream key any client subscribed to, each with its current
 *     period, next update index and a cached candle; a timer emits updates and closes and fans
 *     the rendered frames (shared, reference counted) out to subscribers;
 *   - clients: a bounded ring of frames each, written one frame per WRITEABLE; faults are
 *     applied per connection as frames are queued (duplicate, reorder, garbage, oversize) or
 *     sent (disconnect, stall);
 *   - --record (every generated event's bare payload, one line each), --replay (a file's lines
 *     sent verbatim), --flood (frames generated on WRITEABLE as fast as the socket drains).
 * Exchange specifics live behind struct sim_exchange (sim.h).  Close frames are written by hand
 * because Debian's lws 4.1.6 on libuv does not send one on `return -1` (stack-notes §2.4). */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <libwebsockets.h>
#include <uv.h>

#include "sim.h"

#define SIM_RX_MAX (64 * 1024)        /* largest client message we reassemble */
#define SIM_HTTP_CHUNK (32 * 1024)
#define SIM_MAX_HEADER 32768         /* bytes of request line + headers */
#define SIM_MAX_STREAMS_TOTAL 200000  /* distinct stream keys over the process lifetime */
#define SIM_REPLAY_MAX (256u << 20)
#define SIM_DRAIN_MS 2000
#define SIM_HOUSE_MS 100
#define SIM_FLOOD_BATCH 64         /* frames per WRITEABLE in --flood mode */

enum sim_frame_kind {
    SIM_FRAME_DATA,    /* a market-data frame: counted, subject to faults */
    SIM_FRAME_CONTROL, /* a reply to the client */
    SIM_FRAME_EXTRA,   /* an injected garbage or oversize frame */
};

/* An immutable text frame shared by every client it is queued on. */
struct sim_frame {
    int refs;
    enum sim_frame_kind kind;
    size_t len;
    unsigned char data[]; /* LWS_PRE bytes of headroom, then the payload */
};

#define SIM_STYLES 4
#define SIM_SENTINEL_MS 9999999999999LL /* 13 digits, like every ms time until 2286 */
/* --flood: the trade count is patched per frame too (9 digits from 100000000), so that every
 * flood frame is a distinct update, as a live market's are, and none is a repeat a consumer
 * may drop. */
#define SIM_SENTINEL_TRADES 888888888LL

/* --flood: a frame rendered once per tick with a sentinel event time, patched per frame. */
struct sim_flood_tpl {
    struct sim_buf text;
    int tick;                  /* candle tick it was rendered for, -1 = none */
    int64_t open;
    long e_off;                /* offset of the sentinel digits, -1 = not found */
    long n_off;                /* offset of the sentinel trade count, -1 = not found */
};

struct sim_stream {
    char *key;                 /* exchange stream name */
    char *symbol;
    struct sim_interval iv;
    int live;                  /* symbol and interval served: candles are generated */
    uint64_t sym_key;
    struct sim_client **subs;
    int nsubs, capsubs;
    int64_t open;              /* open time of the current period, 0 = idle */
    int64_t next_k;            /* next update index in the period */
    struct sim_candle cur;     /* cache for incremental generation */
    struct sim_candle revise;  /* --revise-every: a closed candle to correct at the next close */
    int64_t revise_end;        /* its period's end (event time), 0 = none pending */
    struct sim_candle flood;   /* --flood: state of the flood frames */
    struct sim_flood_tpl tpl[SIM_STYLES];
    uint64_t flood_seq;        /* --flood: frames sent, patched into the trade count */
};

struct sim_client {
    struct sim_core *core;
    struct lws *wsi;
    struct sim_client *prev, *next;
    uint64_t id;
    int style;
    struct sim_stream **streams;
    int nstreams, capstreams;
    struct sim_frame **q;      /* ring of queued frames */
    size_t qhead, qlen, qcap;
    struct sim_frame *held;    /* --reorder-every: frame waiting to be sent after the next */
    struct sim_buf rx;         /* message reassembly */
    uint64_t data_queued, data_sent, pongs;
    int64_t rx_window_ms;
    int rx_in_window;
    int64_t next_ping_ms;
    int ping_due;
    int64_t last_rx_ms;        /* last message (text or pong) from the client */
    int64_t opened_ms;         /* when the upgrade was accepted (--max-conn-age) */
    int64_t stall_until;
    int stalled;
    int closing, close_code, abrupt;
    char close_reason[100];
    int replay_on;
    size_t replay_pos;
    size_t flood_rr;
};

/* Per-connection lws user data (HTTP transactions and WebSocket connections share it). */
struct sim_pss {
    struct sim_client *client;
    struct sim_http_reply *http;
    size_t http_sent;
    char *post_path;           /* a POST waiting for the rest of its body */
    struct sim_buf post_body;
};

struct sim_core {
    struct sim sim;            /* first: exchanges see &core->sim */
    uv_loop_t loop;
    uv_signal_t sigint, sigterm;
    uv_timer_t gen_timer, house_timer, drain_timer;
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    int port;
    struct sim_stream **streams;
    int nstreams, capstreams;
    struct sim_client *clients;
    int nclients;
    uint64_t next_client_id;
    FILE *record;
    FILE *truth;               /* --truth: the expected quote of every generated candle */
    char *replay_blob;
    size_t *replay_off, *replay_len, nreplay;
    uint32_t served_mask;      /* bit i: sim_interval_at(i) is served */
    int draining, destroyed;
    int64_t drain_deadline;
    int64_t flood_window_ms;
    uint64_t flood_in_window;
    int64_t weight_minute;
    int64_t rest_second;     /* the wall-clock second of the last REST request */
    uint64_t rest_in_second; /* requests received in it */
    int weight_used;
    uint64_t rest_seq;
};

static struct sim_core *sim_core_of(struct sim *sim)
{
    return (struct sim_core *)sim;
}

static void *sim_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "candled-sim: out of memory\n");
        abort();
    }
    return p;
}

static void *sim_xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        fprintf(stderr, "candled-sim: out of memory\n");
        abort();
    }
    return p;
}

static char *sim_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(sim_xmalloc(n), s, n);
}

/* --- small utilities --------------------------------------------------------------------- */

void sim_buf_reserve(struct sim_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->data = sim_xrealloc(b->data, cap);
    b->cap = cap;
}

void sim_buf_add(struct sim_buf *b, const void *p, size_t n)
{
    sim_buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void sim_buf_str(struct sim_buf *b, const char *s)
{
    sim_buf_add(b, s, strlen(s));
}

void sim_buf_printf(struct sim_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    sim_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void sim_buf_free(struct sim_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int64_t sim_now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

void sim_set_format(struct sim *sim, const struct sim_gen_format *fmt)
{
    sim->gen.fmt = *fmt;
}

/* --ping-interval, or the exchange's own rule. */
static int sim_ping_interval(const struct sim *sim)
{
    return sim->opts.ping_interval >= 0 ? sim->opts.ping_interval : sim->default_ping_interval;
}

static void sim_add_symbol(struct sim *sim, const char *name)
{
    sim->opts.symbols = sim_xrealloc(sim->opts.symbols,
                                     (size_t)(sim->opts.nsymbols + 1) * sizeof(char *));
    sim->opts.symbols[sim->opts.nsymbols++] = sim_xstrdup(name);
}

void sim_add_symbol_list(struct sim *sim, const char *list)
{
    char *copy = sim_xstrdup(list), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        if (*tok)
            sim_add_symbol(sim, tok);
    free(copy);
}

int sim_symbols_default(struct sim *sim, const char *defaults, const char *generated_fmt)
{
    char name[64];
    if (sim->opts.nsymbols > 0)
        return 0;
    if (sim->opts.symbol_count > 0) {
        for (int i = 1; i <= sim->opts.symbol_count; i++) {
            snprintf(name, sizeof name, generated_fmt, i);
            sim_add_symbol(sim, name);
        }
        return 0;
    }
    sim_add_symbol_list(sim, defaults);
    return sim->opts.nsymbols > 0 ? 0 : -1;
}

int sim_symbol_known(struct sim *sim, const char *symbol)
{
    for (int i = 0; i < sim->opts.nsymbols; i++)
        if (!strcmp(sim->opts.symbols[i], symbol))
            return 1;
    return 0;
}

int sim_interval_served(struct sim *sim, const struct sim_interval *iv)
{
    for (int i = 0; i < sim_interval_count(); i++)
        if (!strcmp(sim_interval_at(i)->name, iv->name))
            return (sim_core_of(sim)->served_mask >> i) & 1;
    return 0;
}

const char *sim_stream_key(const struct sim_stream *s)
{
    return s->key;
}

const char *sim_stream_symbol(const struct sim_stream *s)
{
    return s->symbol;
}

const struct sim_interval *sim_stream_interval(const struct sim_stream *s)
{
    return &s->iv;
}

/* --- frames and client queues ------------------------------------------------------------ */

static struct sim_frame *sim_frame_new(const char *payload, size_t len, enum sim_frame_kind kind)
{
    struct sim_frame *f = sim_xmalloc(sizeof *f + LWS_PRE + len + 1);
    f->refs = 1;
    f->kind = kind;
    f->len = len;
    memcpy(f->data + LWS_PRE, payload, len);
    f->data[LWS_PRE + len] = '\0';
    return f;
}

static void sim_frame_unref(struct sim_frame *f)
{
    if (f && --f->refs == 0)
        free(f);
}

static void sim_client_wake(struct sim_client *c)
{
    if (c->wsi)
        lws_callback_on_writable(c->wsi);
}

static void sim_queue_clear(struct sim_client *c)
{
    while (c->qlen) {
        sim_frame_unref(c->q[c->qhead]);
        c->qhead = (c->qhead + 1) % c->qcap;
        c->qlen--;
    }
    sim_frame_unref(c->held);
    c->held = NULL;
}

void sim_client_close(struct sim_client *c, int code, const char *reason)
{
    if (c->closing)
        return;
    c->closing = 1;
    c->close_code = code;
    snprintf(c->close_reason, sizeof c->close_reason, "%s", reason);
    sim_queue_clear(c);
    sim_client_wake(c);
}

/* Appends a frame (taking a new reference); drops a client that fell too far behind. */
static void sim_client_push(struct sim_client *c, struct sim_frame *f)
{
    struct sim_core *core = c->core;
    if (c->closing)
        return;
    if (c->qlen >= (size_t)core->sim.opts.queue_max) {
        core->sim.counters.slow_drops++;
        fprintf(stderr, "candled-sim: client %llu send queue over %d frames, closing 1008\n",
                (unsigned long long)c->id, core->sim.opts.queue_max);
        sim_client_close(c, 1008, "send queue overflow: client too slow");
        return;
    }
    if (c->qlen == c->qcap) {
        size_t ncap = c->qcap ? c->qcap * 2 : 16;
        struct sim_frame **nq = sim_xmalloc(ncap * sizeof *nq);
        for (size_t i = 0; i < c->qlen; i++)
            nq[i] = c->q[(c->qhead + i) % c->qcap];
        free(c->q);
        c->q = nq;
        c->qcap = ncap;
        c->qhead = 0;
    }
    f->refs++;
    c->q[(c->qhead + c->qlen) % c->qcap] = f;
    c->qlen++;
    sim_client_wake(c);
}

static struct sim_frame *sim_client_pop(struct sim_client *c)
{
    if (!c->qlen)
        return NULL;
    struct sim_frame *f = c->q[c->qhead];
    c->qhead = (c->qhead + 1) % c->qcap;
    c->qlen--;
    return f;
}

static void sim_push_extra(struct sim_client *c, const char *payload, size_t len)
{
    struct sim_frame *f = sim_frame_new(payload, len, SIM_FRAME_EXTRA);
    sim_client_push(c, f);
    sim_frame_unref(f);
}

/* A garbage frame of one of three kinds, in turn: the first half of the real frame (a
 * truncated message), bytes that are not JSON at all, and valid JSON of the wrong shape. */
static void sim_push_garbage(struct sim_client *c, const struct sim_frame *real, uint64_t n)
{
    static const char not_json[] = "\xef\xbb\xbfNOT JSON }{ \x01\x02";
    static const char wrong_shape[] = "{\"e\":\"kline\",\"E\":null,\"k\":[1,2,3]}";
    switch (n % 3) {
    case 0: sim_push_extra(c, (const char *)real->data + LWS_PRE, real->len / 2); break;
    case 1: sim_push_extra(c, not_json, sizeof not_json - 1); break;
    default: sim_push_extra(c, wrong_shape, sizeof wrong_shape - 1); break;
    }
}

static void sim_push_oversize(struct sim_client *c, size_t bytes)
{
    static const char head[] = "{\"e\":\"oversize\",\"pad\":\"";
    size_t min = sizeof head - 1 + 2;
    if (bytes < min)
        bytes = min;
    char *p = sim_xmalloc(bytes);
    memcpy(p, head, sizeof head - 1);
    memset(p + sizeof head - 1, 'x', bytes - min);
    memcpy(p + bytes - 2, "\"}", 2);
    sim_push_extra(c, p, bytes);
    free(p);
}

/* Queues a market-data frame, applying the queue-time faults. */
static void sim_client_push_data(struct sim_client *c, struct sim_frame *f)
{
    struct sim_opts *o = &c->core->sim.opts;
    struct sim_counters *k = &c->core->sim.counters;
    uint64_t n = ++c->data_queued;
    if (o->garbage_every && n % (uint64_t)o->garbage_every == 0) {
        k->garbage++;
        sim_push_garbage(c, f, n / (uint64_t)o->garbage_every);
    }
    if (o->oversize_every && n % (uint64_t)o->oversize_every == 0) {
        k->oversize++;
        sim_push_oversize(c, (size_t)o->oversize_bytes);
    }
    if (o->reorder_every) {
        if (c->held) { /* this frame overtakes the held one */
            sim_client_push(c, f);
            sim_client_push(c, c->held);
            sim_frame_unref(c->held);
            c->held = NULL;
            k->reorders++;
            return;
        }
        if (n % (uint64_t)o->reorder_every == 0) {
            f->refs++;
            c->held = f;
            return;
        }
    }
    sim_client_push(c, f);
    if (o->duplicate_every && n % (uint64_t)o->duplicate_every == 0) {
        k->duplicates++;
        sim_client_push(c, f);
    }
}

void sim_client_send(struct sim_client *c, const char *text, size_t len)
{
    struct sim_frame *f = sim_frame_new(text, len, SIM_FRAME_CONTROL);
    sim_client_push(c, f);
    sim_frame_unref(f);
}

void sim_client_set_style(struct sim_client *c, int style)
{
    c->style = style;
}

int sim_client_style(const struct sim_client *c)
{
    return c->style;
}

int sim_client_stream_count(const struct sim_client *c)
{
    return c->nstreams;
}

const char *sim_client_stream_key(const struct sim_client *c, int i)
{
    return i >= 0 && i < c->nstreams ? c->streams[i]->key : NULL;
}

void sim_client_start_replay(struct sim_client *c)
{
    if (c->core->nreplay && !c->replay_on) {
        c->replay_on = 1;
        sim_client_wake(c);
    }
}

void sim_client_count_rx(struct sim_client *c)
{
    struct sim_core *core = c->core;
    int64_t now = sim_now_ms();
    int limit = core->sim.opts.max_msg_rate ? core->sim.opts.max_msg_rate
                                            : core->sim.default_max_msg_rate;
    core->sim.counters.rx_msgs++;
    if (now - c->rx_window_ms >= 1000) {
        c->rx_window_ms = now;
        c->rx_in_window = 0;
    }
    if (++c->rx_in_window == limit + 1) {
        fprintf(stderr, "candled-sim: client %llu sent more than %d messages in a second%s\n",
                (unsigned long long)c->id, limit,
                core->sim.opts.enforce_rate ? ", disconnecting" : "");
        if (core->sim.opts.enforce_rate) {
            core->sim.counters.rate_drops++;
            sim_client_close(c, 1008, "too many requests");
        }
    }
}

/* --- streams ------------------------------------------------------------------------------ */

static struct sim_stream *sim_stream_find(struct sim_core *core, const char *key)
{
    for (int i = 0; i < core->nstreams; i++)
        if (!strcmp(core->streams[i]->key, key))
            return core->streams[i];
    return NULL;
}

static struct sim_stream *sim_stream_get(struct sim_core *core, const char *key,
                                         const char *symbol, const struct sim_interval *iv)
{
    struct sim_stream *s = sim_stream_find(core, key);
    if (s || core->nstreams >= SIM_MAX_STREAMS_TOTAL)
        return s;
    s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->key = sim_xstrdup(key);
    s->symbol = sim_xstrdup(symbol ? symbol : "");
    if (iv)
        s->iv = *iv;
    s->live = iv && symbol && sim_symbol_known(&core->sim, symbol) &&
              sim_interval_served(&core->sim, iv);
    s->sym_key = sim_gen_symbol_key(&core->sim.gen, s->symbol);
    if (core->nstreams == core->capstreams) {
        core->capstreams = core->capstreams ? core->capstreams * 2 : 64;
        core->streams = sim_xrealloc(core->streams,
                                     (size_t)core->capstreams * sizeof *core->streams);
    }
    core->streams[core->nstreams++] = s;
    if (core->sim.opts.verbose || !s->live)
        fprintf(stderr, "candled-sim: stream %s%s\n", key,
                s->live ? "" : " (not served: acknowledged but silent)");
    return s;
}

static void sim_stream_free(struct sim_stream *s)
{
    for (int i = 0; i < SIM_STYLES; i++)
        sim_buf_free(&s->tpl[i].text);
    free(s->key);
    free(s->symbol);
    free(s->subs);
    free(s);
}

/* --log-subs: one line per change of who holds which stream. */
static void sim_log_sub(const struct sim_client *c, char op, const char *key)
{
    if (c->core->sim.opts.log_subs)
        fprintf(stderr, "SUBS %lld %llu %c %s\n", (long long)sim_now_ms(), (unsigned long long)c->id, op, key);
}

static void sim_gen_timer_arm(struct sim_core *core);

int sim_client_subscribe(struct sim_client *c, const char *key, const char *symbol,
                         const struct sim_interval *iv)
{
    struct sim_core *core = c->core;
    int max = core->sim.opts.max_streams ? core->sim.opts.max_streams
                                         : core->sim.default_max_streams;
    for (int i = 0; i < c->nstreams; i++)
        if (!strcmp(c->streams[i]->key, key))
            return 1;
    if (max > 0 && c->nstreams >= max)
        return -1;
    struct sim_stream *s = sim_stream_get(core, key, symbol, iv);
    if (!s)
        return -1;
    if (c->nstreams == c->capstreams) {
        c->capstreams = c->capstreams ? c->capstreams * 2 : 8;
        c->streams = sim_xrealloc(c->streams, (size_t)c->capstreams * sizeof *c->streams);
    }
    c->streams[c->nstreams++] = s;
    if (s->nsubs == s->capsubs) {
        s->capsubs = s->capsubs ? s->capsubs * 2 : 4;
        s->subs = sim_xrealloc(s->subs, (size_t)s->capsubs * sizeof *s->subs);
    }
    s->subs[s->nsubs++] = c;
    core->sim.counters.subscribes++;
    sim_log_sub(c, '+', key);
    if (core->sim.opts.subscribe_delay_ms) /* a slow exchange: the reply and the data wait */
        c->stall_until = sim_now_ms() + core->sim.opts.subscribe_delay_ms;
    sim_gen_timer_arm(core);
    if (core->sim.opts.flood)
        sim_client_wake(c);
    return 0;
}

static void sim_stream_drop_sub(struct sim_stream *s, struct sim_client *c)
{
    for (int i = 0; i < s->nsubs; i++)
        if (s->subs[i] == c) {
            memmove(&s->subs[i], &s->subs[i + 1], (size_t)(s->nsubs - i - 1) * sizeof *s->subs);
            s->nsubs--;
            break;
        }
    /* idle: restarts from the wall clock when someone subscribes again; with --max-conn-age it
     * goes on (sim_stream_runs) */
    if (s->nsubs == 0 && c->core->sim.opts.max_conn_age <= 0)
        s->open = 0;
}

int sim_client_unsubscribe(struct sim_client *c, const char *key)
{
    for (int i = 0; i < c->nstreams; i++)
        if (!strcmp(c->streams[i]->key, key)) {
            sim_stream_drop_sub(c->streams[i], c);
            c->core->sim.counters.unsubscribes++;
            sim_log_sub(c, '-', key);
            memmove(&c->streams[i], &c->streams[i + 1],
                    (size_t)(c->nstreams - i - 1) * sizeof *c->streams);
            c->nstreams--;
            return 0;
        }
    return 1;
}

/* --truth: one JSON line with what candled must print for this candle state, and whether its
 * frame was sent (a skipped close is not: only a backfill can deliver it). */
static void sim_truth_write(struct sim_core *core, const struct sim_stream *s, const struct sim_candle *k,
                            int sent, int revision)
{
    struct sim *sim = &core->sim;
    struct sim_truth t;
    memset(&t, 0, sizeof t);
    t.close_time = t.trades = -1;
    sim->ex->truth(sim, s, k, &t);
    fprintf(core->truth,
            "{\"symbol\":\"%s\",\"interval\":\"%s\",\"timestamp\":%lld,\"open\":\"%s\","
            "\"high\":\"%s\",\"low\":\"%s\",\"close\":\"%s\",\"volume\":\"%s\","
            "\"is_closed\":%s,\"flag\":%s,\"sent\":%s,\"revision\":%s",
            t.symbol, s->iv.name, (long long)k->open_time, t.open, t.high, t.low, t.close,
            t.volume, k->closed ? "true" : "false", t.flag ? "true" : "false",
            sent ? "true" : "false", revision ? "true" : "false");
    if (t.close_time >= 0)
        fprintf(core->truth, ",\"close_time\":%lld", (long long)t.close_time);
    if (t.quote_volume[0])
        fprintf(core->truth, ",\"quote_volume\":\"%s\"", t.quote_volume);
    if (t.trades >= 0)
        fprintf(core->truth, ",\"trades\":%lld", (long long)t.trades);
    fputs("}\n", core->truth);
}

/* Renders candle k of stream s and queues it on every subscriber. */
static void sim_push_event(struct sim_core *core, struct sim_stream *s, const struct sim_candle *k,
                           int64_t event_ms, struct sim_buf *b)
{
    struct sim_frame *frames[SIM_STYLES] = {0};
    struct sim *sim = &core->sim;
    for (int i = 0; i < s->nsubs; i++) {
        struct sim_client *c = s->subs[i];
        int st = c->style >= 0 && c->style < SIM_STYLES ? c->style : 0;
        if (!frames[st]) {
            b->len = 0;
            sim->ex->render(sim, s, k, event_ms, st, b);
            frames[st] = sim_frame_new(b->data, b->len, SIM_FRAME_DATA);
        }
        sim_client_push_data(c, frames[st]);
    }
    for (int i = 0; i < SIM_STYLES; i++)
        sim_frame_unref(frames[i]);
}

/* --revise-every: one period after sending a close, the exchange "corrects" it (other
 * volumes).  Not recorded; in the truth as a revision: candled keeps whichever of the two it got
 * first (the original, unless a disconnect lost it).  A period later, so that no reorder fault
 * can put the correction first. */
static void sim_emit_revision(struct sim_core *core, struct sim_stream *s)
{
    struct sim_buf b = {0};
    s->revise.v += 1;
    s->revise.q += 1;
    core->sim.counters.revisions++;
    if (core->truth)
        sim_truth_write(core, s, &s->revise, 1, 1);
    sim_push_event(core, s, &s->revise, s->revise_end, &b);
    sim_buf_free(&b);
    s->revise_end = 0;
}

/* Renders one event and queues it on every subscriber; records style 0. */
static void sim_emit(struct sim_core *core, struct sim_stream *s, int64_t event_ms)
{
    struct sim_buf b = {0};
    struct sim *sim = &core->sim;
    if (core->truth)
        sim_truth_write(core, s, &s->cur, s->nsubs > 0, 0);
    if (core->record) {
        sim->ex->render(sim, s, &s->cur, event_ms, 0, &b);
        fwrite(b.data, 1, b.len, core->record);
        fputc('\n', core->record);
        sim->counters.recorded++;
    }
    sim_push_event(core, s, &s->cur, event_ms, &b);
    sim_buf_free(&b);
}

/* --drop-on-skip: the connections that would have carried a skipped close are closed (1001)
 * instead, so the close is lost with them, as a connection drop loses whatever was in flight. */
static void sim_stream_drop_clients(struct sim_core *core, struct sim_stream *s)
{
    for (int i = 0; i < s->nsubs; i++)
        if (!s->subs[i]->closing) {
            core->sim.counters.disconnects++;
            sim_client_close(s->subs[i], 1001, "candled-sim: drop-on-skip");
        }
}

/* Wall time of update k of the period opening at `open`. */
static int64_t sim_update_time(const struct sim_core *core, int64_t open, int64_t k)
{
    return open + (int64_t)((double)k * 1000.0 / core->sim.opts.rate);
}

/* Emits what is due for one stream at `now`; returns the wall time of its next event. */
static int64_t sim_stream_run(struct sim_core *core, struct sim_stream *s, int64_t now)
{
    struct sim *sim = &core->sim;
    int updates = sim->opts.rate > 0 && !sim->opts.flood;
    if (!s->open) {
        s->open = sim_interval_floor(&s->iv, now);
        sim_gen_start(&sim->gen, s->sym_key, &s->iv, s->open, &s->cur);
        s->next_k = 0;
        if (updates) /* first update at the next grid point of the period */
            while (sim_update_time(core, s->open, s->next_k) < now)
                s->next_k++;
    }
    for (;;) {
        int64_t end = sim_interval_next(&s->iv, s->open);
        int64_t due = updates ? sim_update_time(core, s->open, s->next_k) : end;
        if (due >= end)
            due = end;
        if (due > now)
            return due;
        if (due == end) { /* the period is over: its final frame, then the next period */
            sim_gen_advance(&sim->gen, s->sym_key, &s->cur, 1 << 30);
            int64_t period = sim_interval_index(&s->iv, s->open);
            if (sim->opts.skip_close_every && period % sim->opts.skip_close_every == 0) {
                sim->counters.skipped_closes++;
                if (core->truth)
                    sim_truth_write(core, s, &s->cur, 0, 0);
                if (sim->opts.drop_on_skip)
                    sim_stream_drop_clients(core, s);
            } else {
                if (s->revise_end)
                    sim_emit_revision(core, s);
                sim_emit(core, s, end);
                if (sim->opts.revise_every && period % sim->opts.revise_every == 0) {
                    s->revise = s->cur;
                    s->revise_end = end;
                }
            }
            s->open = end;
            sim_gen_start(&sim->gen, s->sym_key, &s->iv, s->open, &s->cur);
            s->next_k = 0;
            if (sim_interval_next(&s->iv, end) <= now) /* far behind: jump to the present */
                s->open = 0;
            if (!s->open)
                return now;
            continue;
        }
        /* only the latest of several due updates is sent after a hiccup */
        while (updates && sim_update_time(core, s->open, s->next_k + 1) <= now &&
               sim_update_time(core, s->open, s->next_k + 1) < end)
            s->next_k++;
        int64_t t = sim_update_time(core, s->open, s->next_k);
        sim_gen_advance(&sim->gen, s->sym_key, &s->cur, sim_gen_tick_at(&s->cur, t));
        sim_emit(core, s, t);
        s->next_k++;
    }
}

/* Whether stream s is generated now.  With --max-conn-age, a stream goes on while its only
 * subscriber, cut at the age, reconnects (an exchange's market does not stop for a connection),
 * so --truth holds every period's close, and the REST backfill has to bring it. */
static int sim_stream_runs(const struct sim_core *core, const struct sim_stream *s)
{
    return s->live && (s->nsubs || core->sim.opts.max_conn_age > 0);
}

static void sim_gen_timer_cb(uv_timer_t *t)
{
    struct sim_core *core = t->data;
    int64_t now = sim_now_ms(), next = INT64_MAX;
    if (core->draining || core->nreplay)
        return;
    for (int i = 0; i < core->nstreams; i++) {
        struct sim_stream *s = core->streams[i];
        if (!sim_stream_runs(core, s))
            continue;
        int64_t due = sim_stream_run(core, s, now);
        if (due < next)
            next = due;
    }
    if (next != INT64_MAX) {
        int64_t wait = next - sim_now_ms();
        uv_timer_start(&core->gen_timer, sim_gen_timer_cb, wait > 0 ? (uint64_t)wait : 0, 0);
    }
}

/* Runs the generator on the next loop turn (after a subscription changed). */
static void sim_gen_timer_arm(struct sim_core *core)
{
    if (!core->draining && !core->nreplay)
        uv_timer_start(&core->gen_timer, sim_gen_timer_cb, 0, 0);
}

/* Writes the 13 digits of ms at p. */
static void sim_put_ms(unsigned char *p, int64_t ms)
{
    for (int i = 12; i >= 0; i--, ms /= 10)
        p[i] = (unsigned char)('0' + ms % 10);
}

/* --flood: the next frame for this client, its event time = now.  The candle advances one tick
 * per frame up to the last open tick of the period; the text is rendered once per tick and
 * style with a sentinel event time that is patched, so a flood frame costs a copy. */
static struct sim_frame *sim_flood_frame(struct sim_core *core, struct sim_client *c)
{
    struct sim *sim = &core->sim;
    int st = c->style >= 0 && c->style < SIM_STYLES ? c->style : 0;
    for (int tries = 0; tries < c->nstreams; tries++) {
        struct sim_stream *s = c->streams[c->flood_rr++ % (size_t)c->nstreams];
        if (!s->live)
            continue;
        int64_t now = sim_now_ms();
        int64_t open = sim_interval_floor(&s->iv, now);
        if (s->flood.open_time != open || s->flood.close_time == 0)
            sim_gen_start(&sim->gen, s->sym_key, &s->iv, open, &s->flood);
        int ticks = sim_gen_ticks(s->flood.close_time + 1 - s->flood.open_time);
        if (s->flood.tick + 1 < ticks)
            sim_gen_advance(&sim->gen, s->sym_key, &s->flood, s->flood.tick + 1);
        struct sim_flood_tpl *t = &s->tpl[st];
        if (!t->text.data || t->tick != s->flood.tick || t->open != open) {
            t->text.len = 0;
            struct sim_candle k = s->flood;
            k.trades = SIM_SENTINEL_TRADES;
            sim->ex->render(sim, s, &k, SIM_SENTINEL_MS, st, &t->text);
            t->tick = s->flood.tick;
            t->open = open;
            char *hit = strstr(t->text.data, "9999999999999");
            t->e_off = hit ? hit - t->text.data : -1;
            hit = strstr(t->text.data, "888888888");
            t->n_off = hit ? hit - t->text.data : -1;
        }
        struct sim_frame *f;
        if (t->e_off >= 0 && now >= 1000000000000LL && now < SIM_SENTINEL_MS) {
            f = sim_frame_new(t->text.data, t->text.len, SIM_FRAME_DATA);
            sim_put_ms(f->data + LWS_PRE + t->e_off, now);
            if (t->n_off >= 0) {
                uint64_t n = 100000000u + s->flood_seq++ % 800000000u;
                for (int i = 8; i >= 0; i--, n /= 10)
                    f->data[LWS_PRE + t->n_off + i] = (unsigned char)('0' + n % 10);
            }
        } else {
            struct sim_buf b = {0};
            sim->ex->render(sim, s, &s->flood, now, st, &b);
            f = sim_frame_new(b.data, b.len, SIM_FRAME_DATA);
            sim_buf_free(&b);
        }
        core->flood_in_window++;
        return f;
    }
    return NULL;
}

/* --- WebSocket connections --------------------------------------------------------------- */

static struct sim_client *sim_client_new(struct sim_core *core, struct lws *wsi)
{
    struct sim_client *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->core = core;
    c->wsi = wsi;
    c->id = ++core->next_client_id;
    c->next_ping_ms = sim_now_ms() + (int64_t)sim_ping_interval(&core->sim) * 1000;
    c->last_rx_ms = sim_now_ms();
    c->opened_ms = c->last_rx_ms;
    c->next = core->clients;
    if (core->clients)
        core->clients->prev = c;
    core->clients = c;
    core->nclients++;
    core->sim.counters.clients++;
    return c;
}

static void sim_client_free(struct sim_client *c)
{
    struct sim_core *core = c->core;
    sim_log_sub(c, 'x', "-");
    for (int i = 0; i < c->nstreams; i++)
        sim_stream_drop_sub(c->streams[i], c);
    sim_queue_clear(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        core->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    core->nclients--;
    free(c->q);
    free(c->streams);
    sim_buf_free(&c->rx);
    free(c);
}

/* Writes the close frame ourselves (see the file header), then lets lws drop the socket. */
static int sim_client_write_close(struct sim_client *c)
{
    struct sim_counters *k = &c->core->sim.counters;
    if (c->abrupt) {
        k->abrupt_disconnects++;
        shutdown(lws_get_socket_fd(c->wsi), SHUT_RDWR);
        return -1;
    }
    unsigned char buf[LWS_PRE + 2 + 123];
    size_t n = strlen(c->close_reason);
    if (n > 123)
        n = 123;
    buf[LWS_PRE] = (unsigned char)(c->close_code >> 8);
    buf[LWS_PRE + 1] = (unsigned char)(c->close_code & 0xff);
    memcpy(buf + LWS_PRE + 2, c->close_reason, n);
    lws_write(c->wsi, buf + LWS_PRE, 2 + n, (enum lws_write_protocol)4 /* LWS_WRITE_CLOSE */);
    return -1;
}

/* Counts a sent data frame and arms the send-time faults. */
static void sim_client_sent_data(struct sim_client *c, int64_t now)
{
    struct sim_opts *o = &c->core->sim.opts;
    struct sim_counters *k = &c->core->sim.counters;
    c->data_sent++;
    k->data_frames++;
    if (o->disconnect_after && c->data_sent == (uint64_t)o->disconnect_after) {
        k->disconnects++;
        c->abrupt = o->disconnect_abrupt;
        sim_client_close(c, 1001, "candled-sim: disconnect-after");
    } else if (o->stall_after && !c->stalled && c->data_sent == (uint64_t)o->stall_after) {
        k->stalls++;
        c->stalled = 1;
        c->stall_until = now + o->stall_ms;
    }
}

/* Writes the next queued, replayed or flood frame: 1 written, 0 nothing to send, -1 error. */
static int sim_client_write_one(struct sim_client *c, int64_t now)
{
    struct sim_core *core = c->core;
    if (!c->qlen && c->replay_on) {
        while (c->qlen < 8 && c->replay_pos < core->nreplay && !c->closing) {
            size_t i = c->replay_pos++;
            struct sim_frame *f = sim_frame_new(core->replay_blob + core->replay_off[i],
                                                core->replay_len[i], SIM_FRAME_DATA);
            sim_client_push_data(c, f);
            sim_frame_unref(f);
        }
    }
    if (!c->qlen && core->sim.opts.flood && !c->closing) {
        struct sim_frame *f = sim_flood_frame(core, c);
        if (f) {
            sim_client_push_data(c, f);
            sim_frame_unref(f);
        }
    }
    if (c->closing)
        return 0;
    struct sim_frame *f = sim_client_pop(c);
    if (!f)
        return 0;
    int n = lws_write(c->wsi, f->data + LWS_PRE, f->len, LWS_WRITE_TEXT);
    enum sim_frame_kind kind = f->kind;
    sim_frame_unref(f);
    if (n < 0)
        return -1;
    if (kind == SIM_FRAME_DATA)
        sim_client_sent_data(c, now);
    else
        core->sim.counters.control_frames++;
    return 1;
}

/* WRITEABLE: a close, a ping, or one frame, if lws_send_pipe_choked() says the socket takes
 * it.  With --flood, frames keep being written in this callback, up to a batch, until a write
 * is only partly taken by the kernel (lws keeps the rest: lws_partial_buffered()); one frame
 * per WRITEABLE cost a poll(), an epoll_ctl and a loop turn per frame and capped the flood at
 * ~35k frames/s on this machine. */
static int sim_client_writeable(struct sim_client *c)
{
    struct sim_core *core = c->core;
    if (c->closing)
        return sim_client_write_close(c);
    int64_t now = sim_now_ms();
    if (c->stall_until) {
        if (now < c->stall_until)
            return 0; /* the housekeeping timer wakes us when the stall is over */
        c->stall_until = 0;
    }
    if (lws_send_pipe_choked(c->wsi)) {
        sim_client_wake(c);
        return 0;
    }
    if (c->ping_due) {
        /* a payload, because lws 4.1.6 reports no RECEIVE_PONG for an empty pong */
        unsigned char buf[LWS_PRE + 32];
        int n = snprintf((char *)buf + LWS_PRE, 32, "%lld", (long long)now);
        c->ping_due = 0;
        core->sim.counters.pings++;
        if (lws_write(c->wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_PING) < 0)
            return -1;
        sim_client_wake(c);
        return 0;
    }
    int batch = core->sim.opts.flood ? SIM_FLOOD_BATCH : 1, rc;
    do {
        rc = sim_client_write_one(c, now);
        if (rc < 0)
            return -1;
    } while (rc > 0 && --batch > 0 && !c->closing && !c->stall_until && !c->ping_due &&
             !lws_partial_buffered(c->wsi));
    if (c->closing)
        return sim_client_write_close(c);
    if (c->qlen || core->sim.opts.flood || (c->replay_on && c->replay_pos < core->nreplay))
        sim_client_wake(c);
    return 0;
}

static void sim_client_receive(struct sim_client *c, const void *in, size_t len)
{
    struct sim_core *core = c->core;
    if (c->closing)
        return;
    if (c->rx.len + len > SIM_RX_MAX) {
        sim_buf_free(&c->rx);
        sim_client_close(c, 1009, "message too big");
        return;
    }
    sim_buf_add(&c->rx, in, len);
    if (!lws_is_final_fragment(c->wsi) || lws_remaining_packet_payload(c->wsi))
        return;
    c->last_rx_ms = sim_now_ms();
    core->sim.ex->ws_message(&core->sim, c, c->rx.data, c->rx.len);
    c->rx.len = 0;
}

/* Copies the request path and the raw query string of a WebSocket upgrade. */
static void sim_ws_request(struct lws *wsi, char *path, int plen, char *query, int qlen)
{
    if (lws_hdr_copy(wsi, path, plen, WSI_TOKEN_GET_URI) < 0)
        path[0] = '\0';
    static char frag[SIM_MAX_HEADER];
    size_t o = 0;
    query[0] = '\0';
    for (int i = 0;; i++) {
        int n = lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0)
            break;
        if (o + (size_t)n + 2 >= (size_t)qlen)
            break;
        if (o)
            query[o++] = '&';
        memcpy(query + o, frag, (size_t)n);
        o += (size_t)n;
        query[o] = '\0';
    }
}

/* --- REST --------------------------------------------------------------------------------- */

const char *sim_http_arg(const struct sim_http_req *req, const char *name, char *buf, int len)
{
    /* lws copies every argument before the wanted one into the buffer and gives up at the first
     * that does not fit, so a short caller buffer would hide later arguments: use a large one */
    static char frag[SIM_MAX_HEADER];
    char key[64];
    snprintf(key, sizeof key, "%s=", name);
    const char *v = lws_get_urlarg_by_name((struct lws *)req->wsi, key, frag, (int)sizeof frag);
    if (!v || strlen(v) >= (size_t)len)
        return NULL;
    memcpy(buf, v, strlen(v) + 1); /* lws leaves "name=" in front of the value */
    return buf;
}

const void *sim_market_pick(struct sim *sim, const void *table, size_t n, size_t size, int aliased,
                            const char *choices)
{
    const char *want = sim->opts.market ? sim->opts.market : *(const char *const *)table;
    for (size_t i = 0; i < n; i++) {
        const void *m = (const char *)table + i * size;
        int hit = !strcmp(want, *(const char *const *)m);
        for (int a = 0; aliased && !hit && a < 3 && ((const struct sim_market_names *)m)->aliases[a]; a++)
            hit = !strcmp(want, ((const struct sim_market_names *)m)->aliases[a]);
        if (hit) {
            sim->opts.market = *(const char *const *)m;
            return m;
        }
    }
    fprintf(stderr, "candled-sim: %s has no market '%s' (%s)\n", sim->opts.exchange, want, choices);
    return NULL;
}

int sim_http_int_arg(const struct sim_http_req *req, const char *name, long long *out)
{
    char buf[64];
    const char *v = sim_http_arg(req, name, buf, sizeof buf);
    if (!v)
        return 0;
    if (!*v || strlen(v) > 19)
        return -1;
    for (const char *p = v; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    *out = strtoll(v, NULL, 10);
    return 1;
}

static void sim_http_free(struct sim_pss *pss)
{
    free(pss->post_path);
    pss->post_path = NULL;
    sim_buf_free(&pss->post_body);
    if (pss->http) {
        sim_buf_free(&pss->http->body);
        free(pss->http);
        pss->http = NULL;
    }
}

/* Used weight of the current minute, after adding `weight`. */
static int sim_weight_add(struct sim_core *core, int weight)
{
    int64_t minute = sim_now_ms() / 60000;
    if (minute != core->weight_minute) {
        core->weight_minute = minute;
        core->weight_used = 0;
    }
    core->weight_used += weight;
    return core->weight_used;
}

static int sim_http_request(struct sim_core *core, struct lws *wsi, struct sim_pss *pss,
                            struct sim_http_req req)
{
    struct sim *sim = &core->sim;
    const char *path = req.path;
    unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start,
                                       *end = hdr + sizeof hdr - 1;
    char val[32];
    pss->http = calloc(1, sizeof *pss->http);
    if (!pss->http)
        abort();
    pss->http_sent = 0;
    struct sim_http_reply *rep = pss->http;
    sim->counters.rest_requests++;
    core->rest_seq++;
    if (sim_now_ms() / 1000 != core->rest_second) {
        core->rest_second = sim_now_ms() / 1000;
        core->rest_in_second = 0;
    }
    if (++core->rest_in_second > sim->counters.rest_peak_per_sec)
        sim->counters.rest_peak_per_sec = core->rest_in_second;
    if (sim->opts.rest_fail_every && core->rest_seq % (uint64_t)sim->opts.rest_fail_every == 0) {
        sim->counters.rest_failures++;
        rep->status = sim->opts.rest_status;
        rep->weight = 1;
        sim->ex->rest_fault_body(sim, rep->status, &rep->body);
    } else if (req.body_len > SIM_RX_MAX) {
        rep->status = 413;
        sim_buf_str(&rep->body, "{\"error\":\"candled-sim: request body over 64 KiB\"}");
    } else if (sim->ex->rest(sim, &req, rep) < 0) {
        rep->status = 404;
        sim_buf_str(&rep->body, "{\"code\":-1,\"msg\":\"candled-sim: no such endpoint\"}");
    } else if (sim->opts.rest_garbage_every && rep->status == 200 &&
               core->rest_seq % (uint64_t)sim->opts.rest_garbage_every == 0) {
        sim->counters.rest_garbage++; /* a body that does not parse: cut in half */
        rep->body.len /= 2;
    }
    if (sim->opts.verbose)
        fprintf(stderr, "candled-sim: %s %s -> %d\n", req.method, path, rep->status);
    snprintf(val, sizeof val, "%d", sim_weight_add(core, rep->weight));
    if (lws_add_http_common_headers(wsi, (unsigned int)rep->status, "application/json",
                                    rep->body.len, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"X-MBX-USED-WEIGHT-1M:",
                                    (const unsigned char *)val, (int)strlen(val), &p, end))
        return 1;
    if (rep->status == 429 &&
        lws_add_http_header_by_name(wsi, (const unsigned char *)"Retry-After:",
                                    (const unsigned char *)"1", 1, &p, end))
        return 1;
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return 1;
    lws_callback_on_writable(wsi);
    return 0;
}

/* A complete POST body: answered like a GET, with the body (413 if it was over 64 KiB). */
static int sim_http_post_done(struct sim_core *core, struct lws *wsi, struct sim_pss *pss)
{
    struct sim_http_req req = {.path = pss->post_path, .method = "POST", .wsi = wsi,
                               .body = pss->post_body.data ? pss->post_body.data : "",
                               .body_len = pss->post_body.len};
    int rc = sim_http_request(core, wsi, pss, req);
    free(pss->post_path);
    pss->post_path = NULL;
    sim_buf_free(&pss->post_body);
    return rc;
}

/* A request's headers are in: a GET is answered now, a POST once its body has arrived. */
static int sim_http_begin(struct sim_core *core, struct lws *wsi, struct sim_pss *pss,
                          const char *path)
{
    char clen[24];
    sim_http_free(pss);
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) <= 0)
        return sim_http_request(core, wsi, pss,
                                (struct sim_http_req){.path = path, .method = "GET", .wsi = wsi,
                                                      .body = "", .body_len = 0});
    pss->post_path = sim_xstrdup(path);
    if (lws_hdr_copy(wsi, clen, sizeof clen, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0 ||
        !strcmp(clen, "0"))
        return sim_http_post_done(core, wsi, pss); /* no body will come */
    return 0;
}

static int sim_http_writeable(struct lws *wsi, struct sim_pss *pss)
{
    static unsigned char buf[LWS_PRE + SIM_HTTP_CHUNK];
    if (!pss->http)
        return 0;
    size_t left = pss->http->body.len - pss->http_sent;
    size_t n = left > SIM_HTTP_CHUNK ? SIM_HTTP_CHUNK : left;
    int final = n == left;
    memcpy(buf + LWS_PRE, pss->http->body.data + pss->http_sent, n);
    if (lws_write(wsi, buf + LWS_PRE, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
        (int)n)
        return 1;
    pss->http_sent += n;
    if (!final) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    sim_http_free(pss);
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* --- the lws protocol callback ----------------------------------------------------------- */

static int sim_lws_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                      size_t len)
{
    struct sim_core *core = lws_context_user(lws_get_context(wsi));
    struct sim_pss *pss = user;
    static char path[SIM_MAX_HEADER], query[SIM_MAX_HEADER]; /* one thread */

    switch (reason) {
    case LWS_CALLBACK_HTTP:
        if (core->draining)
            return -1;
        return sim_http_begin(core, wsi, pss, in ? (const char *)in : "/");
    case LWS_CALLBACK_HTTP_BODY:
        if (pss->post_path && pss->post_body.len + len <= SIM_RX_MAX)
            sim_buf_add(&pss->post_body, in, len);
        else if (pss->post_path)
            pss->post_body.len = SIM_RX_MAX + 1; /* too big: 413 on completion */
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        /* lws reports a completion for an empty body too: it was answered already */
        return pss->post_path ? sim_http_post_done(core, wsi, pss) : 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return sim_http_writeable(wsi, pss);
    case LWS_CALLBACK_CLOSED_HTTP:
        if (pss)
            sim_http_free(pss);
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        if (lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI) < 0)
            return 1;
        if (core->draining || !core->sim.ex->ws_path_ok(&core->sim, path)) {
            fprintf(stderr, "candled-sim: refusing WebSocket on %s\n", path);
            return 1;
        }
        if (++core->sim.counters.ws_upgrades <= (uint64_t)core->sim.opts.refuse_ws ||
            (core->sim.opts.refuse_ws_every && core->sim.counters.ws_upgrades % (uint64_t)core->sim.opts.refuse_ws_every == 0)) {
            core->sim.counters.ws_refused++; /* --refuse-ws(-every): the connection is dropped, no 101 */
            fprintf(stderr, "candled-sim: refusing WebSocket upgrade %llu (--refuse-ws%s)\n",
                    (unsigned long long)core->sim.counters.ws_upgrades, core->sim.opts.refuse_ws_every ? "-every" : "");
            return 1;
        }
        return 0;
    case LWS_CALLBACK_ESTABLISHED:
        sim_ws_request(wsi, path, sizeof path, query, sizeof query);
        pss->client = sim_client_new(core, wsi);
        if (core->sim.opts.verbose)
            fprintf(stderr, "candled-sim: client %llu connected on %s?%s\n",
                    (unsigned long long)pss->client->id, path, query);
        if (core->sim.ex->ws_open(&core->sim, pss->client, path, query) < 0)
            sim_client_close(pss->client, 1008, "bad stream request");
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return pss->client ? sim_client_writeable(pss->client) : 0;
    case LWS_CALLBACK_RECEIVE:
        if (pss->client)
            sim_client_receive(pss->client, in, len);
        return 0;
    case LWS_CALLBACK_RECEIVE_PONG:
        if (pss->client) {
            core->sim.counters.pongs++;
            pss->client->pongs++;
            pss->client->last_rx_ms = sim_now_ms();
            sim_client_count_rx(pss->client);
        }
        return 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (pss->client && core->sim.opts.verbose && in && len >= 2)
            fprintf(stderr, "candled-sim: client %llu sent close %d\n",
                    (unsigned long long)pss->client->id,
                    ((const unsigned char *)in)[0] << 8 | ((const unsigned char *)in)[1]);
        return 0;
    case LWS_CALLBACK_CLOSED:
        if (pss->client) {
            if (core->sim.opts.verbose)
                fprintf(stderr, "candled-sim: client %llu closed after %llu data frames\n",
                        (unsigned long long)pss->client->id,
                        (unsigned long long)pss->client->data_sent);
            sim_client_free(pss->client);
            pss->client = NULL;
        }
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols sim_protocols[] = {
    {"candled-sim", sim_lws_cb, sizeof(struct sim_pss), 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* lws's own validity pings stay out of the way: the simulator sends its own. */
static const lws_retry_bo_t sim_retry = {
    .secs_since_valid_ping = 3000,
    .secs_since_valid_hangup = 3600,
};

/* --- timers, signals, shutdown ----------------------------------------------------------- */

static void sim_house_cb(uv_timer_t *t)
{
    struct sim_core *core = t->data;
    int64_t now = sim_now_ms();
    int pi = sim_ping_interval(&core->sim);
    int idle = core->sim.opts.idle_disconnect >= 0 ? core->sim.opts.idle_disconnect
                                                   : core->sim.default_idle_disconnect;
    for (struct sim_client *c = core->clients; c; c = c->next) {
        /* the exchange's keepalive rule: a client that sent nothing for `idle` s is dropped */
        if (idle > 0 && !c->closing && now - c->last_rx_ms >= (int64_t)idle * 1000) {
            fprintf(stderr, "candled-sim: client %llu sent nothing for %d s, disconnecting\n",
                    (unsigned long long)c->id, idle);
            core->sim.counters.idle_drops++;
            sim_client_close(c, 1001, "idle timeout");
            continue;
        }
        /* an exchange's connection lifetime (Binance: 24 h): cut at the mark, whatever it carries */
        if (core->sim.opts.max_conn_age > 0 && !c->closing &&
            now - c->opened_ms >= (int64_t)(core->sim.opts.max_conn_age * 1000)) {
            if (core->sim.opts.verbose)
                fprintf(stderr, "candled-sim: client %llu reached the connection lifetime, disconnecting\n",
                        (unsigned long long)c->id);
            core->sim.counters.age_drops++;
            sim_client_close(c, 1001, "max connection age");
            continue;
        }
        if (pi > 0 && now >= c->next_ping_ms) {
            c->next_ping_ms = now + (int64_t)pi * 1000;
            c->ping_due = 1;
            sim_client_wake(c);
        }
        if (c->stall_until && now >= c->stall_until)
            sim_client_wake(c);
    }
    if (core->sim.opts.flood && now - core->flood_window_ms >= 1000) {
        if (core->flood_window_ms)
            fprintf(stderr, "{\"flood_frames_per_s\":%llu,\"clients\":%d}\n",
                    (unsigned long long)(core->flood_in_window * 1000 /
                                         (uint64_t)(now - core->flood_window_ms)),
                    core->nclients);
        core->flood_window_ms = now;
        core->flood_in_window = 0;
    }
}

static void sim_close_handles(struct sim_core *core)
{
    uv_handle_t *h[] = {(uv_handle_t *)&core->sigint, (uv_handle_t *)&core->sigterm,
                        (uv_handle_t *)&core->gen_timer, (uv_handle_t *)&core->house_timer,
                        (uv_handle_t *)&core->drain_timer};
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
        if (!uv_is_closing(h[i]))
            uv_close(h[i], NULL);
    /* Closing the signal handles restores the default action: a second SIGTERM arriving while
     * lws shuts down (a test's stop_sim after it already sent one) would kill us with 143. */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
}

static void sim_drain_cb(uv_timer_t *t)
{
    struct sim_core *core = t->data;
    if (core->nclients > 0 && sim_now_ms() < core->drain_deadline)
        return;
    uv_timer_stop(&core->drain_timer);
    if (!core->destroyed) {
        core->destroyed = 1;
        lws_context_destroy(core->ctx); /* first destroy, from our own uv callback */
    }
    sim_close_handles(core);
}

static void sim_signal_cb(uv_signal_t *s, int signum)
{
    struct sim_core *core = s->data;
    if (core->draining)
        return;
    fprintf(stderr, "candled-sim: signal %d, closing %d client(s)\n", signum, core->nclients);
    core->draining = 1;
    core->drain_deadline = sim_now_ms() + SIM_DRAIN_MS;
    uv_timer_stop(&core->gen_timer);
    for (struct sim_client *c = core->clients; c; c = c->next) {
        c->stall_until = 0;
        c->abrupt = 0;
        sim_client_close(c, 1001, "candled-sim shutting down");
    }
    uv_timer_start(&core->drain_timer, sim_drain_cb, 20, 20);
}

/* --- options ------------------------------------------------------------------------------ */


/* --- start-up ----------------------------------------------------------------------------- */

/* Loads the --replay file: one text frame per non-empty line, '\r' stripped. */
static int sim_load_replay(struct sim_core *core, const char *file)
{
    FILE *f = fopen(file, "rb");
    struct sim_buf b = {0};
    char chunk[65536];
    size_t n;
    if (!f) {
        fprintf(stderr, "candled-sim: cannot open --replay %s: %s\n", file, strerror(errno));
        return -1;
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > SIM_REPLAY_MAX) {
            fprintf(stderr, "candled-sim: --replay file larger than %u bytes\n", SIM_REPLAY_MAX);
            fclose(f);
            sim_buf_free(&b);
            return -1;
        }
        sim_buf_add(&b, chunk, n);
    }
    fclose(f);
    size_t cap = 0;
    for (size_t pos = 0; pos < b.len;) {
        char *nl = memchr(b.data + pos, '\n', b.len - pos);
        size_t end = nl ? (size_t)(nl - b.data) : b.len, len = end - pos;
        if (len && b.data[pos + len - 1] == '\r')
            len--;
        if (len) {
            if (core->nreplay == cap) {
                cap = cap ? cap * 2 : 64;
                core->replay_off = sim_xrealloc(core->replay_off, cap * sizeof(size_t));
                core->replay_len = sim_xrealloc(core->replay_len, cap * sizeof(size_t));
            }
            core->replay_off[core->nreplay] = pos;
            core->replay_len[core->nreplay++] = len;
        }
        pos = end + 1;
    }
    core->replay_blob = b.data ? b.data : sim_xstrdup("");
    fprintf(stderr, "candled-sim: replaying %zu frame(s) from %s\n", core->nreplay, file);
    return 0;
}

static int sim_write_port_file(const char *file, int port)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", file, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 || rename(tmp, file) != 0) {
        fprintf(stderr, "candled-sim: cannot write --port-file %s: %s\n", file, strerror(errno));
        return -1;
    }
    return 0;
}

static int sim_start_lws(struct sim_core *core)
{
    struct lws_context_creation_info info;
    void *foreign_loops[1] = {&core->loop};
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_LIBUV;
    if (core->sim.opts.tls_cert)
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.foreign_loops = foreign_loops;
    info.pcontext = &core->ctx;
    info.user = core;
    info.max_http_header_data = SIM_MAX_HEADER; /* /stream?streams= with ~1000 names */
    core->ctx = lws_create_context(&info);
    if (!core->ctx) {
        fprintf(stderr, "candled-sim: lws_create_context failed\n");
        return -1;
    }
    memset(&info, 0, sizeof info);
    info.vhost_name = "sim";
    info.port = core->sim.opts.port;
    info.iface = "127.0.0.1";
    info.protocols = sim_protocols;
    info.retry_and_idle_policy = &sim_retry;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    if (core->sim.opts.tls_cert) { /* wss:// and https:// on the same port */
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = core->sim.opts.tls_cert;
        info.ssl_private_key_filepath = core->sim.opts.tls_key;
    }
    core->vhost = lws_create_vhost(core->ctx, &info);
    if (!core->vhost) {
        fprintf(stderr, "candled-sim: cannot listen on 127.0.0.1:%d\n", core->sim.opts.port);
        return -1;
    }
    core->port = lws_get_vhost_listen_port(core->vhost);
    return 0;
}

static void sim_print_counters(const struct sim_core *core)
{
    const struct sim_counters *k = &core->sim.counters;
    fprintf(stderr,
            "{\"candled_sim\":{\"exchange\":\"%s\",\"market\":\"%s\",\"clients\":%llu,"
            "\"data_frames\":%llu,\"control_frames\":%llu,\"pings\":%llu,\"pongs\":%llu,\"app_pings\":%llu,"
            "\"rx_msgs\":%llu,\"rest_requests\":%llu,\"recorded\":%llu,\"ws_upgrades\":%llu,\"subscribes\":%llu,"
            "\"unsubscribes\":%llu},"
            "\"faults\":{\"disconnects\":%llu,\"abrupt_disconnects\":%llu,\"stalls\":%llu,"
            "\"duplicates\":%llu,\"reorders\":%llu,\"skipped_closes\":%llu,\"garbage\":%llu,"
            "\"rest_failures\":%llu,\"oversize\":%llu,\"slow_drops\":%llu,\"rate_drops\":%llu,"
            "\"ws_refused\":%llu,\"revisions\":%llu,\"rest_garbage\":%llu,\"idle_drops\":%llu,\"age_drops\":%llu},"
            "\"rest_peak_per_sec\":%llu}\n",
            core->sim.ex->name, core->sim.opts.market ? core->sim.opts.market : "",
            (unsigned long long)k->clients, (unsigned long long)k->data_frames,
            (unsigned long long)k->control_frames, (unsigned long long)k->pings,
            (unsigned long long)k->pongs, (unsigned long long)k->app_pings, (unsigned long long)k->rx_msgs,
            (unsigned long long)k->rest_requests, (unsigned long long)k->recorded,
            (unsigned long long)k->ws_upgrades, (unsigned long long)k->subscribes, (unsigned long long)k->unsubscribes,
            (unsigned long long)k->disconnects, (unsigned long long)k->abrupt_disconnects,
            (unsigned long long)k->stalls, (unsigned long long)k->duplicates,
            (unsigned long long)k->reorders, (unsigned long long)k->skipped_closes,
            (unsigned long long)k->garbage, (unsigned long long)k->rest_failures,
            (unsigned long long)k->oversize, (unsigned long long)k->slow_drops,
            (unsigned long long)k->rate_drops, (unsigned long long)k->ws_refused,
            (unsigned long long)k->revisions, (unsigned long long)k->rest_garbage,
            (unsigned long long)k->idle_drops, (unsigned long long)k->age_drops,
            (unsigned long long)k->rest_peak_per_sec);
}

static void sim_core_free(struct sim_core *core)
{
    for (int i = 0; i < core->nstreams; i++)
        sim_stream_free(core->streams[i]);
    free(core->streams);
    if (core->sim.ex && core->sim.ex->destroy)
        core->sim.ex->destroy(&core->sim);
    for (int i = 0; i < core->sim.opts.nsymbols; i++)
        free(core->sim.opts.symbols[i]);
    free(core->sim.opts.symbols);
    free(core->replay_blob);
    free(core->replay_off);
    free(core->replay_len);
    if (core->record)
        fclose(core->record);
    if (core->truth)
        fclose(core->truth);
}

static int sim_run(struct sim_core *core)
{
    struct sim_opts *o = &core->sim.opts;
    core->sim.default_ping_interval = 20; /* unless the exchange says otherwise */
    if (core->sim.ex->init(&core->sim) < 0)
        return 2;
    if (o->record) {
        core->record = fopen(o->record, "w");
        if (!core->record) {
            fprintf(stderr, "candled-sim: cannot open --record %s: %s\n", o->record,
                    strerror(errno));
            return 1;
        }
        setvbuf(core->record, NULL, _IOLBF, 0);
    }
    if (o->truth) {
        if (!core->sim.ex->truth) {
            fprintf(stderr, "candled-sim: --truth is not supported for %s\n", core->sim.ex->name);
            return 2;
        }
        core->truth = fopen(o->truth, "w");
        if (!core->truth) {
            fprintf(stderr, "candled-sim: cannot open --truth %s: %s\n", o->truth, strerror(errno));
            return 1;
        }
        setvbuf(core->truth, NULL, _IOLBF, 0);
    }
    if (o->replay && sim_load_replay(core, o->replay) < 0)
        return 1;
    if (uv_loop_init(&core->loop))
        return 1;
    lws_set_log_level(o->verbose ? LLL_ERR | LLL_WARN | LLL_NOTICE : LLL_ERR, NULL);
    if (sim_start_lws(core) < 0) {
        if (core->ctx) {
            lws_context_destroy(core->ctx);
            uv_run(&core->loop, UV_RUN_DEFAULT);
            if (core->ctx)
                lws_context_destroy(core->ctx);
        }
        uv_loop_close(&core->loop);
        return 1;
    }
    uv_signal_init(&core->loop, &core->sigint);
    uv_signal_init(&core->loop, &core->sigterm);
    uv_timer_init(&core->loop, &core->gen_timer);
    uv_timer_init(&core->loop, &core->house_timer);
    uv_timer_init(&core->loop, &core->drain_timer);
    core->sigint.data = core->sigterm.data = core;
    core->gen_timer.data = core->house_timer.data = core->drain_timer.data = core;
    uv_signal_start(&core->sigint, sim_signal_cb, SIGINT);
    uv_signal_start(&core->sigterm, sim_signal_cb, SIGTERM);
    uv_timer_start(&core->house_timer, sim_house_cb, SIM_HOUSE_MS, SIM_HOUSE_MS);

    fprintf(stderr, "candled-sim: %s %s on 127.0.0.1:%d, %d symbol(s), rate %g/s, seed %llu%s\n",
            core->sim.ex->name, o->market ? o->market : "", core->port, o->nsymbols, o->rate,
            (unsigned long long)o->seed, o->flood ? ", flood" : "");
    if (o->port_file && sim_write_port_file(o->port_file, core->port) < 0)
        kill(getpid(), SIGTERM);
    printf("PORT %d\n", core->port);
    fflush(stdout);

    uv_run(&core->loop, UV_RUN_DEFAULT);
    if (core->ctx)
        lws_context_destroy(core->ctx); /* second destroy frees it (stack-notes §2.4-3) */
    uv_run(&core->loop, UV_RUN_NOWAIT);
    int rc = uv_loop_close(&core->loop);
    if (rc)
        fprintf(stderr, "candled-sim: uv_loop_close: %s\n", uv_strerror(rc));
    sim_print_counters(core);
    return 0;
}

int main(int argc, char **argv)
{
    static struct sim_core core;
    signal(SIGPIPE, SIG_IGN);
    int rc = sim_parse_args(&core.sim, &core.served_mask, argc, argv);
    if (rc == 0)
        rc = sim_run(&core);
    else if (rc == 1)
        rc = 0;
    sim_core_free(&core);
    return rc;
}

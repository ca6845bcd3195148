/* cli.c - see cli.h. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "candle.h"
#include "circuit.h"
#include "config.h"
#include "err.h"
#include "dedup.h"
#include "feed.h"
#include "log.h"
#include "lua_host.h"
#include "metrics.h"
#include "net.h"
#include "outq.h"
#include "rest.h"
#include "serve.h"

static const char usage_text[] =
    "usage:\n"
    "  candled stream EXCHANGE SYMBOL... [--market M] [--interval I] [--limit N] [--closed-only]\n"
    "                 [--format jsonl|csv] [--config FILE] [--ws-url URL] [--rest-url URL]\n"
    "  candled stream --from-config [--config FILE] ...   stream config.lua's subscriptions\n"
    "  candled serve  [--config FILE] [--host H] [--port P] [--health-port P] [--port-file FILE]\n"
    "  candled check  [--config FILE]                     validate config.lua and every adapter\n"
    "  candled --help | --version\n"
    "  connector-cli ... = candled stream ...\n"
    "  connector-wss ... = candled serve ...\n"
    "\n"
    "stream prints one quote per line on stdout (JSON lines by default) and logs on stderr.\n"
    "serve runs the WebSocket API (default 127.0.0.1:8765) and the admin HTTP port (8766:\n"
    "/health /ready /metrics) until SIGTERM/SIGINT; port 0 picks a free port (see --port-file).\n"
    "Exit status: 0 success, 1 runtime failure, 2 usage error.\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("candled: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CDL_EXIT_USAGE;
}

/* ---- the stream command ---------------------------------------------------------------------------- */

/* Latency of quotes from frame received to written out, in µs with two significant digits:
 * enough for the p50/p99 of the summary line, in fixed memory. */
#define LAT_BUCKETS 820
struct lat_hist {
    uint64_t count;
    uint32_t b[LAT_BUCKETS];
};

static int lat_index(uint64_t us)
{
    if (us < 100)
        return (int)us;
    int e = 0;
    while (us >= 100) {
        us /= 10;
        e++;
    }
    int i = 100 + (e - 1) * 90 + (int)(us - 10);
    return i < LAT_BUCKETS ? i : LAT_BUCKETS - 1;
}

static uint64_t lat_value(int i)
{
    if (i < 100)
        return (uint64_t)i;
    int e = (i - 100) / 90 + 1;
    uint64_t v = (uint64_t)((i - 100) % 90 + 10);
    while (e--)
        v *= 10;
    return v;
}

static uint64_t lat_quantile(const struct lat_hist *h, double q)
{
    uint64_t want = (uint64_t)((double)h->count * q + 0.5), seen = 0;
    if (!h->count)
        return 0;
    if (want < 1)
        want = 1;
    for (int i = 0; i < LAT_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= want)
            return lat_value(i);
    }
    return lat_value(LAT_BUCKETS - 1);
}

#define MAX_FEEDS 64
#define OUT_HIGH (256 * 1024) /* bytes waiting for stdout before the queue stops being drained */

struct stream_run;

/* The sink of one feed: gives its streams ids unique across feeds. */
struct feed_sink {
    struct stream_run *r;
    int base;
};

/* Per output stream: who it is and its counters, looked up once. */
struct out_stream {
    struct cdl_quote_meta meta;
    struct cdl_series *quotes[2]; /* is_closed false / true */
};

struct stream_run {
    uv_loop_t loop;
    uv_signal_t sigint, sigterm;
    uv_prepare_t flush;
    uv_timer_t stop_timer; /* tears down outside of any feed callback */
    uv_poll_t out_poll;    /* stdout writable again (a pipe or socket, non-blocking) */
    int out_nonblock, out_polling;
    struct cdl_net *net;
    struct cdl_rest *rest;
    struct cdl_metrics *metrics;
    struct cdl_circuits *circuits;
    struct cdl_dedup *dedup;
    struct cdl_lua_host *host;
    struct cdl_feed *feeds[MAX_FEEDS];
    struct feed_sink sinks[MAX_FEEDS];
    int n_feeds;
    /* the dual pipeline between the feeds and stdout */
    struct cdl_outq *q;
    struct out_stream *outs;
    int n_outs;
    int paused; /* the feeds' upstreams are paused: the closed queue is full */
    struct cdl_series *s_depth_closed, *s_depth_open, *s_blocking, *s_latency;
    long limit;
    long written;
    int csv;
    int stopping;
    int exit_code;
    char *buf; /* formatted output not yet written to stdout */
    size_t buf_len, buf_cap;
    struct pending { size_t end; uint64_t recv_us; } pend[1024]; /* quotes in buf, for latency */
    int n_pend;
    struct lat_hist lat;
};

/* Latency (frame received -> quote handed to stdout) of the first n pending quotes. */
static void record_latency(struct stream_run *r, int n)
{
    uint64_t now = uv_hrtime() / 1000;
    for (int i = 0; i < n; i++) {
        uint64_t lat = now - r->pend[i].recv_us;
        r->lat.b[lat_index(lat)]++;
        r->lat.count++;
        if (r->s_latency)
            cdl_series_observe(r->s_latency, (double)lat / 1e6);
    }
    memmove(r->pend, r->pend + n, (size_t)(r->n_pend - n) * sizeof *r->pend);
    r->n_pend -= n;
}

static void on_out_writable(uv_poll_t *p, int status, int events);

/* Writes what stdout takes now; the rest waits for it to be writable (non-blocking), or all of
 * it (blocking: files, terminals, and always when stopping). */
static void flush_out(struct stream_run *r)
{
    size_t off = 0;
    while (off < r->buf_len) {
        ssize_t n = write(STDOUT_FILENO, r->buf + off, r->buf_len - off);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!r->stopping) {
                if (!r->out_polling && !uv_poll_start(&r->out_poll, UV_WRITABLE, on_out_writable))
                    r->out_polling = 1;
                break;
            }
            /* stopping: everything queued still goes out */
            fcntl(STDOUT_FILENO, F_SETFL, fcntl(STDOUT_FILENO, F_GETFL) & ~O_NONBLOCK);
            r->out_nonblock = 0;
            continue;
        }
        if (!r->stopping) {
            cdl_log(CDL_LOG_ERROR, "cannot write to stdout", "error", strerror(errno), NULL);
            r->exit_code = CDL_EXIT_FAILURE;
        }
        off = r->buf_len;
    }
    int done = 0;
    while (done < r->n_pend && r->pend[done].end <= off)
        done++;
    record_latency(r, done);
    for (int i = 0; i < r->n_pend; i++)
        r->pend[i].end -= off;
    memmove(r->buf, r->buf + off, r->buf_len - off);
    r->buf_len -= off;
}

static void teardown(uv_timer_t *t)
{
    struct stream_run *r = t->data;
    for (int i = 0; i < r->n_feeds; i++) {
        cdl_feed_destroy(r->feeds[i]);
        r->feeds[i] = NULL;
    }
    cdl_rest_destroy(r->rest);
    r->rest = NULL;
    uv_signal_stop(&r->sigint);
    uv_signal_stop(&r->sigterm);
    uv_close((uv_handle_t *)&r->sigint, NULL);
    uv_close((uv_handle_t *)&r->sigterm, NULL);
    uv_close((uv_handle_t *)&r->flush, NULL);
    uv_close((uv_handle_t *)&r->stop_timer, NULL);
    if (r->out_nonblock)
        uv_close((uv_handle_t *)&r->out_poll, NULL);
    cdl_net_shutdown(r->net);
}

static int limit_reached(const struct stream_run *r) { return r->limit > 0 && r->written >= r->limit; }
static int pop_some(struct stream_run *r);

/* Stops streaming.  Called from inside feed callbacks (the limit), so the feeds are destroyed
 * on the next loop turn.  why == NULL: a start-up failure already reported; stop quietly. */
static void stop(struct stream_run *r, const char *why)
{
    if (r->stopping)
        return;
    r->stopping = 1; /* from now on flush_out writes everything, blocking */
    while (pop_some(r)) /* what is queued still goes out, up to --limit */
        flush_out(r);
    flush_out(r);
    if (why)
        cdl_log(CDL_LOG_INFO, "stopping", "reason", why, NULL);
    uv_timer_start(&r->stop_timer, teardown, 0, 0);
}

/* Formats one queued item into the output buffer; 1 if it was a quote. */
static int format_item(struct stream_run *r, const struct cdl_outq_item *it)
{
    if (r->buf_cap - r->buf_len < 2048) {
        r->buf_cap *= 2;
        r->buf = realloc(r->buf, r->buf_cap);
        if (!r->buf)
            abort();
    }
    struct out_stream *o = &r->outs[it->stream];
    char *p = r->buf + r->buf_len;
    size_t cap = r->buf_cap - r->buf_len - 1;
    int n;
    if (it->is_gap) {
        if (r->csv) /* CSV has no place for it; the log has it */
            return 0;
        n = cdl_gap_json(p, cap, &o->meta, it->gap_from, it->gap_to, it->gap_missing, it->gap_reason);
    } else {
        n = r->csv ? cdl_quote_csv(p, cap, &o->meta, &it->c) : cdl_quote_json(p, cap, &o->meta, &it->c);
    }
    if (n < 0)
        return 0;
    r->buf_len += (size_t)n;
    r->buf[r->buf_len++] = '\n';
    if (it->is_gap)
        return 0;
    if (r->n_pend == (int)(sizeof r->pend / sizeof *r->pend))
        record_latency(r, r->n_pend / 2); /* stdout is far behind: close enough */
    r->pend[r->n_pend].end = r->buf_len;
    r->pend[r->n_pend++].recv_us = it->recv_us;
    if (r->metrics)
        cdl_series_add(o->quotes[it->c.closed == 1], 1);
    return 1;
}

/* Formats queued items while the output buffer has room; returns how many were taken. */
static int pop_some(struct stream_run *r)
{
    struct cdl_outq_item it;
    int n = 0;
    while (r->buf_len < OUT_HIGH && !limit_reached(r) && cdl_outq_pop(r->q, &it)) {
        n++;
        r->written += format_item(r, &it);
    }
    return n;
}

/* Moves queued quotes to stdout while it keeps up, and pauses or resumes the upstreams by the
 * closed queue's depth (backpressure). */
static void drain(struct stream_run *r)
{
    if (r->stopping)
        return;
    pop_some(r);
    if (limit_reached(r)) {
        stop(r, "limit reached");
        return;
    }
    flush_out(r);
    int full = cdl_outq_full(r->q);
    if (full != r->paused) {
        r->paused = full;
        for (int i = 0; i < r->n_feeds; i++)
            cdl_feed_pause(r->feeds[i], full);
        if (full) {
            if (r->s_blocking)
                cdl_series_add(r->s_blocking, 1);
            cdl_log(CDL_LOG_WARN, "closed-candle queue full: upstream reads paused", NULL);
        } else {
            cdl_log(CDL_LOG_INFO, "closed-candle queue drained: upstream reads resumed", NULL);
        }
    }
    if (r->metrics) {
        cdl_series_set(r->s_depth_closed, (double)cdl_outq_closed_depth(r->q));
        cdl_series_set(r->s_depth_open, (double)cdl_outq_open_depth(r->q));
    }
}

static void on_out_writable(uv_poll_t *p, int status, int events)
{
    struct stream_run *r = p->data;
    uv_poll_stop(p);
    r->out_polling = 0;
    flush_out(r);
    drain(r);
}

static struct out_stream *out_stream_at(struct stream_run *r, int id, const struct cdl_quote_meta *meta)
{
    if (id >= r->n_outs) {
        int n = r->n_outs ? r->n_outs : 64;
        while (n <= id)
            n *= 2;
        r->outs = realloc(r->outs, (size_t)n * sizeof *r->outs);
        if (!r->outs)
            abort();
        memset(r->outs + r->n_outs, 0, (size_t)(n - r->n_outs) * sizeof *r->outs);
        r->n_outs = n;
    }
    struct out_stream *o = &r->outs[id];
    if (!o->meta.exchange) {
        o->meta = *meta; /* the feed's strings live as long as the feed */
        if (r->metrics)
            for (int k = 0; k < 2; k++)
                o->quotes[k] = cdl_metrics_series(r->metrics, CDL_M_QUOTES_PROCESSED, meta->exchange,
                                                  meta->contract_type, k ? "true" : "false");
    }
    return o;
}

static int on_quote(void *user, const struct cdl_quote_meta *meta, const struct cdl_candle *c, uint64_t recv_us)
{
    struct feed_sink *fs = user;
    struct stream_run *r = fs->r;
    if (r->stopping)
        return 0;
    int id = fs->base + meta->stream;
    out_stream_at(r, id, meta);
    if (r->buf_len < OUT_HIGH && !cdl_outq_closed_depth(r->q) && !cdl_outq_open_depth(r->q)) {
        /* stdout keeps up: every quote goes out, in order, unconflated */
        struct cdl_outq_item it = { .stream = id, .c = *c, .recv_us = recv_us };
        r->written += format_item(r, &it);
        if (limit_reached(r))
            stop(r, "limit reached");
        return 1;
    }
    cdl_outq_push(r->q, id, c, recv_us); /* stdout is behind: the dual pipeline takes over */
    return 1;
}

static void on_gap(void *user, const struct cdl_quote_meta *meta, int64_t from, int64_t to, int64_t missing,
                   const char *reason)
{
    struct feed_sink *fs = user;
    struct stream_run *r = fs->r;
    if (r->stopping)
        return;
    int id = fs->base + meta->stream;
    out_stream_at(r, id, meta);
    if (r->buf_len < OUT_HIGH && !cdl_outq_closed_depth(r->q) && !cdl_outq_open_depth(r->q)) {
        struct cdl_outq_item it = { .stream = id, .is_gap = 1, .gap_from = from, .gap_to = to,
                                    .gap_missing = missing, .gap_reason = reason };
        format_item(r, &it);
        return;
    }
    cdl_outq_push_gap(r->q, id, from, to, missing, reason);
}

static void on_prepare(uv_prepare_t *p) { drain(p->data); }

static void on_signal(uv_signal_t *s, int signum)
{
    stop(s->data, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

struct stream_args {
    const char *exchange;
    const char *market;
    const char *interval;
    const char **symbols;
    int n_symbols;
    const char *ws_url, *rest_url;
    int closed_only;
};

/* The market of a subscription: --market (or config.lua's market) when given; otherwise the one
 * the adapter's market_of hook reads from the symbols, which must all agree; otherwise the
 * adapter's first market.  NULL with a one-line message in err when that fails. */
static int run_stream(const struct cdl_config *cfg, struct stream_args *subs, int n_subs, long limit, int csv)
{
    struct stream_run r;
    memset(&r, 0, sizeof r);
    r.limit = limit;
    r.csv = csv;
    r.buf_cap = 1 << 16;
    r.buf = malloc(r.buf_cap);
    if (!r.buf)
        abort();
    uv_loop_init(&r.loop);
    r.metrics = cdl_metrics_create(0);
    r.dedup = cdl_dedup_create((int64_t)(cfg->dedup_window_seconds * 1000), cfg->dedup_max_entries);
    r.q = cdl_outq_create(cfg->closed_queue_maxsize, cfg->closed_queue_maxsize / 2, cfg->open_queue_maxsize);
    r.s_depth_closed = cdl_metrics_series(r.metrics, CDL_M_QUEUE_DEPTH_CLOSED);
    r.s_depth_open = cdl_metrics_series(r.metrics, CDL_M_QUEUE_DEPTH_OPEN);
    r.s_blocking = cdl_metrics_series(r.metrics, CDL_M_QUEUE_BLOCKING);
    r.s_latency = cdl_metrics_series(r.metrics, CDL_M_QUOTE_LATENCY);
    struct cdl_lua_opts lo = {
        .adapters_dir = cfg->adapters_dir,
        .lua_dir = cfg->lua_dir,
        .memory_limit = (size_t)cfg->lua_memory_limit_mb << 20,
        .instruction_budget = cfg->lua_instruction_budget,
    };
    r.host = cdl_lua_host_create(&lo, r.metrics);
    int code = CDL_EXIT_OK;

    /* Everything a user can get wrong is checked before any connection is made. */
    struct cdl_feed_opts fo[MAX_FEEDS];
    for (int i = 0; i < n_subs && i < MAX_FEEDS; i++) {
        struct stream_args *s = &subs[i];
        struct cdl_adapter *a;
        char err[512];
        int rc = cdl_lua_host_load(r.host, s->exchange, &a, err, sizeof err);
        if (rc) {
            fprintf(stderr, "candled: %s\n", err);
            code = rc == CDL_ENOTFOUND ? CDL_EXIT_USAGE : CDL_EXIT_FAILURE;
            goto out;
        }
        const struct cdl_market *m = cdl_adapter_pick_market(a, s->market, s->symbols, s->n_symbols, "--market", err, sizeof err);
        if (!m) {
            fprintf(stderr, "candled: %s\n", err);
            code = CDL_EXIT_USAGE;
            goto out;
        }
        const struct cdl_exchange_override *ov = cdl_config_override(cfg, s->exchange, m->name);
        fo[i] = (struct cdl_feed_opts){
            .adapter = a,
            .market = m,
            .interval = s->interval,
            .symbols = s->symbols,
            .n_symbols = s->n_symbols,
            .ws_url = s->ws_url ? s->ws_url : (ov && ov->ws_url[0] ? ov->ws_url : NULL),
            .rest_url = s->rest_url ? s->rest_url : (ov && ov->rest_url[0] ? ov->rest_url : NULL),
            .closed_only = s->closed_only,
            .dedup = r.dedup,
        };
        cdl_config_feed_opts(cfg, &fo[i]);
    }
    r.net = cdl_net_create(&r.loop, cfg->ca_file);
    if (!r.net) {
        code = CDL_EXIT_FAILURE;
        goto out;
    }
    struct cdl_breaker_policy bp;
    cdl_config_breaker_policy(cfg, &bp);
    r.circuits = cdl_circuits_create(&bp, r.metrics, uv_hrtime());
    cdl_net_set_circuits(r.net, r.circuits);
    struct cdl_rest_opts ro;
    cdl_config_rest_opts(cfg, &ro);
    ro.circuits = r.circuits;
    ro.metrics = r.metrics;
    r.rest = cdl_rest_create(&r.loop, &ro);
    int base = 0;
    for (int i = 0; i < n_subs; i++) {
        char err[512];
        int rc;
        r.sinks[i] = (struct feed_sink){ .r = &r, .base = base };
        struct cdl_feed_sink sink = { .on_quote = on_quote, .on_gap = on_gap, .user = &r.sinks[i] };
        base += fo[i].n_symbols;
        struct cdl_feed *f = cdl_feed_create(&r.loop, r.net, r.rest, r.metrics, &fo[i], &sink, &rc, err, sizeof err);
        if (!f) {
            fprintf(stderr, "candled: %s\n", err);
            code = CDL_EXIT_USAGE;
            break;
        }
        r.feeds[r.n_feeds++] = f;
        if ((rc = cdl_feed_start(f))) {
            fprintf(stderr, "candled: cannot start %s: %s\n", subs[i].exchange, cdl_strerror(rc));
            code = rc == CDL_EINVAL ? CDL_EXIT_USAGE : CDL_EXIT_FAILURE;
            break;
        }
    }
    uv_signal_init(&r.loop, &r.sigint);
    uv_signal_init(&r.loop, &r.sigterm);
    uv_prepare_init(&r.loop, &r.flush);
    uv_timer_init(&r.loop, &r.stop_timer);
    r.sigint.data = r.sigterm.data = r.flush.data = r.stop_timer.data = r.out_poll.data = &r;
    /* a pipe or socket consumer may be slow: write to it without blocking the loop */
    struct stat st;
    if (!fstat(STDOUT_FILENO, &st) && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) &&
        !uv_poll_init(&r.loop, &r.out_poll, STDOUT_FILENO)) {
        r.out_nonblock = 1;
        fcntl(STDOUT_FILENO, F_SETFL, fcntl(STDOUT_FILENO, F_GETFL) | O_NONBLOCK);
    }
    if (code == CDL_EXIT_OK) {
        uv_signal_start(&r.sigint, on_signal, SIGINT);
        uv_signal_start(&r.sigterm, on_signal, SIGTERM);
        uv_prepare_start(&r.flush, on_prepare);
        cdl_log(CDL_LOG_INFO, "streaming", NULL);
    } else {
        stop(&r, NULL); /* closes what was opened; the loop below finishes it */
    }
    uv_run(&r.loop, UV_RUN_DEFAULT);
    int started = code == CDL_EXIT_OK;
    code = r.exit_code ? r.exit_code : code;
    if (started) {
        char q[24], p50[24], p99[24];
        snprintf(q, sizeof q, "%ld", r.written);
        snprintf(p50, sizeof p50, "%llu", (unsigned long long)lat_quantile(&r.lat, 0.50));
        snprintf(p99, sizeof p99, "%llu", (unsigned long long)lat_quantile(&r.lat, 0.99));
        char *counters = cdl_metrics_summary(r.metrics);
        cdl_log(CDL_LOG_INFO, "stream finished", "quotes", q, "latency_p50_us", p50, "latency_p99_us", p99,
                "counters", counters, NULL);
        free(counters);
    }
out:
    flush_out(&r);
    cdl_net_destroy(r.net);
    for (int i = 0; i < r.n_feeds; i++)
        cdl_feed_destroy(r.feeds[i]);
    uv_run(&r.loop, UV_RUN_NOWAIT); /* deferred REST completions may still give breaker slots back */
    cdl_circuits_destroy(r.circuits);
    cdl_lua_host_destroy(r.host);
    cdl_metrics_destroy(r.metrics);
    cdl_dedup_destroy(r.dedup);
    cdl_outq_destroy(r.q);
    free(r.outs);
    if (r.out_nonblock) /* the descriptor is shared with whoever gave it to us */
        fcntl(STDOUT_FILENO, F_SETFL, fcntl(STDOUT_FILENO, F_GETFL) & ~O_NONBLOCK);
    uv_run(&r.loop, UV_RUN_NOWAIT);
    if (uv_loop_close(&r.loop))
        cdl_log(CDL_LOG_WARN, "event loop closed with handles still open", NULL);
    free(r.buf);
    return code;
}

/* ---- argument parsing -------------------------------------------------------------------------------- */

enum { OPT_MARKET = 256, OPT_INTERVAL, OPT_LIMIT, OPT_CLOSED_ONLY, OPT_FORMAT, OPT_CONFIG, OPT_WS_URL, OPT_REST_URL,
       OPT_FROM_CONFIG, OPT_HELP };

static const struct option stream_opts[] = {
    { "market", required_argument, NULL, OPT_MARKET },     { "interval", required_argument, NULL, OPT_INTERVAL },
    { "limit", required_argument, NULL, OPT_LIMIT },       { "closed-only", no_argument, NULL, OPT_CLOSED_ONLY },
    { "format", required_argument, NULL, OPT_FORMAT },     { "config", required_argument, NULL, OPT_CONFIG },
    { "ws-url", required_argument, NULL, OPT_WS_URL },     { "rest-url", required_argument, NULL, OPT_REST_URL },
    { "from-config", no_argument, NULL, OPT_FROM_CONFIG }, { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
};

/* struct cdl_config is large: it lives on the heap. */
static struct cdl_config *xcalloc_config(void)
{
    struct cdl_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        abort();
    return cfg;
}

static void free_config(struct cdl_config *cfg)
{
    cdl_config_free(cfg);
    free(cfg);
}

static int setup_logging(const struct cdl_config *cfg)
{
    int lvl = cdl_log_level_parse(cfg->log_level), fmt = cdl_log_format_parse(cfg->log_format);
    if (lvl < 0)
        return usage_error("log.level: unknown level '%s' (debug, info, warn, error, off)", cfg->log_level);
    if (fmt < 0)
        return usage_error("log.format: unknown format '%s' (json, text)", cfg->log_format);
    cdl_log_setup(lvl, fmt, NULL);
    return 0;
}

/* The configuration with logging set up from it: 0, or an exit status (reported). */
static int load_config(const char *path, struct cdl_config **out)
{
    struct cdl_config *cfg = xcalloc_config();
    char err[1024];
    int rc = 0;
    if (cdl_config_load(path, cfg, err, sizeof err)) {
        fprintf(stderr, "candled: %s\n", err);
        rc = CDL_EXIT_USAGE;
    } else {
        rc = setup_logging(cfg);
    }
    if (rc) {
        free_config(cfg);
        cfg = NULL;
    }
    *out = cfg;
    return rc;
}

static int cmd_stream(int argc, char **argv)
{
    int interval_given = 0;
    const char *market = NULL, *interval = "1m", *format = "jsonl", *config_path = NULL, *ws_url = NULL,
               *rest_url = NULL;
    long limit = 0;
    int closed_only = 0, from_config = 0;
    const char *pos[CDL_CFG_MAX_SYMBOLS + 1];
    int npos = 0;

    /* Flags and positional arguments may be mixed; "--" ends the flags. */
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--")) {
            for (i++; i < argc && npos <= CDL_CFG_MAX_SYMBOLS; i++)
                pos[npos++] = argv[i];
            break;
        }
        if (strncmp(arg, "--", 2) || !arg[2]) {
            if (npos <= CDL_CFG_MAX_SYMBOLS)
                pos[npos++] = arg;
            continue;
        }
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t nl = eq ? (size_t)(eq - name) : strlen(name);
        const struct option *o = stream_opts;
        while (o->name && (strlen(o->name) != nl || strncmp(o->name, name, nl)))
            o++;
        if (!o->name)
            return usage_error("unknown option '%s' (try --help)", arg);
        const char *val = NULL;
        if (o->has_arg == required_argument) {
            if (eq)
                val = eq + 1;
            else if (i + 1 < argc)
                val = argv[++i];
            else
                return usage_error("option '%s' needs a value", arg);
        } else if (eq) {
            return usage_error("option '%s' takes no value", arg);
        }
        switch (o->val) {
        case OPT_MARKET: market = val; break;
        case OPT_INTERVAL: interval = val; interval_given = 1; break;
        case OPT_LIMIT: {
            char *end;
            limit = strtol(val, &end, 10);
            if (end == val || *end || limit < 0)
                return usage_error("--limit: expected a non-negative integer, got '%s'", val);
            break;
        }
        case OPT_CLOSED_ONLY: closed_only = 1; break;
        case OPT_FORMAT: format = val; break;
        case OPT_CONFIG: config_path = val; break;
        case OPT_WS_URL: ws_url = val; break;
        case OPT_REST_URL: rest_url = val; break;
        case OPT_FROM_CONFIG: from_config = 1; break;
        case OPT_HELP: fputs(usage_text, stdout); return CDL_EXIT_OK;
        }
    }
    if (npos > CDL_CFG_MAX_SYMBOLS)
        return usage_error("too many symbols (max %s)", "4096");
    if (strcmp(format, "jsonl") && strcmp(format, "csv"))
        return usage_error("--format: expected jsonl or csv, got '%s'", format);
    if (ws_url && strncmp(ws_url, "ws://", 5) && strncmp(ws_url, "wss://", 6))
        return usage_error("--ws-url: expected a ws:// or wss:// URL, got '%s'", ws_url);
    if (rest_url && strncmp(rest_url, "http://", 7) && strncmp(rest_url, "https://", 8))
        return usage_error("--rest-url: expected an http:// or https:// URL, got '%s'", rest_url);

    struct cdl_config *cfg;
    int rc = load_config(config_path, &cfg);
    if (rc)
        return rc;
    struct stream_args subs[CDL_CFG_MAX_SUBS];
    int n_subs = 0;
    if (from_config) {
        if (npos)
            rc = usage_error("--from-config takes no EXCHANGE or SYMBOL arguments (got '%s')", pos[0]);
        else if (market || interval_given) /* each subscription says its own */
            rc = usage_error("--from-config takes no %s: the subscriptions in the configuration say it",
                             market ? "--market" : "--interval");
        for (int i = 0; i < cfg->n_subs; i++) {
            struct cdl_subscription *s = &cfg->subs[i];
            subs[n_subs++] = (struct stream_args){
                .exchange = s->exchange, .market = s->market[0] ? s->market : NULL, .interval = s->interval,
                .symbols = (const char **)s->symbols, .n_symbols = s->n_symbols, .ws_url = ws_url,
                .rest_url = rest_url, .closed_only = closed_only,
            };
        }
        if (!rc && !n_subs)
            rc = usage_error("%s lists no subscriptions", config_path ? config_path : "the configuration");
    } else if (npos < 1) {
        rc = usage_error("stream: missing EXCHANGE%s", " (try --help)");
    } else if (npos < 2) {
        rc = usage_error("stream: missing SYMBOL after '%s'", pos[0]);
    } else {
        subs[n_subs++] = (struct stream_args){
            .exchange = pos[0], .market = market, .interval = interval, .symbols = pos + 1, .n_symbols = npos - 1,
            .ws_url = ws_url, .rest_url = rest_url, .closed_only = closed_only,
        };
    }
    if (!rc) {
        if (!strcmp(format, "csv")) {
            printf("%s\n", cdl_quote_csv_header());
            fflush(stdout); /* before the quotes, which are written with write(2) */
        }
        rc = run_stream(cfg, subs, n_subs, limit, !strcmp(format, "csv"));
    }
    free_config(cfg);
    return rc;
}

/* check: the configuration, every adapter file, and every subscription against its adapter. */
static int cmd_check(int argc, char **argv)
{
    const char *config_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            config_path = argv[++i];
        else if (!strncmp(argv[i], "--config=", 9))
            config_path = argv[i] + 9;
        else if (!strcmp(argv[i], "--help")) {
            fputs(usage_text, stdout);
            return CDL_EXIT_OK;
        } else
            return usage_error("check: unexpected argument '%s'", argv[i]);
    }
    struct cdl_config *cfg = xcalloc_config();
    char err[1024];
    int failures = 0;
    if (cdl_config_load(config_path, cfg, err, sizeof err)) {
        fprintf(stderr, "candled: %s\n", err);
        free_config(cfg);
        return CDL_EXIT_FAILURE;
    }
    struct cdl_lua_opts lo = { .adapters_dir = cfg->adapters_dir,
                               .lua_dir = cfg->lua_dir,
                               .memory_limit = (size_t)cfg->lua_memory_limit_mb << 20,
                               .instruction_budget = cfg->lua_instruction_budget };
    struct cdl_lua_host *h = cdl_lua_host_create(&lo, NULL);
    char names[32][CDL_NAME_MAX];
    int n = cdl_lua_host_list(h, names, 32);
    if (!n) {
        fprintf(stderr, "candled: no adapters found in %s\n", cfg->adapters_dir);
        failures++;
    }
    for (int i = 0; i < n; i++) {
        struct cdl_adapter *a;
        if (cdl_lua_host_load(h, names[i], &a, err, sizeof err)) {
            fprintf(stderr, "candled: %s\n", err);
            failures++;
        } else {
            printf("adapter %s: ok (%d markets)\n", names[i], cdl_adapter_n_markets(a));
        }
    }
    for (int i = 0; i < cfg->n_subs; i++) {
        struct cdl_subscription *s = &cfg->subs[i];
        struct cdl_adapter *a;
        const struct cdl_market *m;
        if (cdl_lua_host_load(h, s->exchange, &a, err, sizeof err)) {
            fprintf(stderr, "candled: subscriptions[%d]: %s\n", i + 1, err);
            failures++;
            continue;
        }
        if (!(m = cdl_adapter_pick_market(a, s->market[0] ? s->market : NULL, (const char *const *)s->symbols,
                                          s->n_symbols, "market", err, sizeof err))) {
            fprintf(stderr, "candled: subscriptions[%d].market: %s\n", i + 1, err);
            failures++;
            continue;
        }
        if (!cdl_adapter_interval(a, m, s->interval)) {
            fprintf(stderr, "candled: subscriptions[%d].interval: '%s' is not supported by %s %s\n", i + 1,
                    s->interval, s->exchange, m->name);
            failures++;
        }
        for (int k = 0; k < s->n_symbols; k++) {
            char out[CDL_SYMBOL_MAX], why[256] = "";
            if (cdl_adapter_symbol(a, m, s->symbols[k], out, sizeof out, why, sizeof why)) {
                fprintf(stderr, "candled: subscriptions[%d].symbols[%d]: invalid symbol '%s': %s\n", i + 1, k + 1,
                        s->symbols[k], why);
                failures++;
            }
        }
    }
    int n_subs = cfg->n_subs;
    cdl_lua_host_destroy(h);
    free_config(cfg);
    if (failures) {
        fprintf(stderr, "candled: check failed (%d problems)\n", failures);
        return CDL_EXIT_FAILURE;
    }
    printf("configuration ok (%d subscriptions)\n", n_subs);
    return CDL_EXIT_OK;
}

/* serve's command line: what every (re)load of the configuration applies on top of config.lua and
 * the environment. */
struct serve_args {
    const char *config_path, *host;
    long port, health_port; /* -1 = not given */
};

static int serve_load(void *user, struct cdl_config **out, char *err, size_t errlen)
{
    const struct serve_args *sa = user;
    struct cdl_config *cfg = xcalloc_config();
    int rc = cdl_config_load(sa->config_path, cfg, err, errlen);
    if (!rc && sa->host && strlen(sa->host) >= sizeof cfg->server_host) {
        snprintf(err, errlen, "--host: too long: '%s'", sa->host);
        rc = CDL_EINVAL;
    }
    if (rc) {
        free_config(cfg);
        return rc;
    }
    if (sa->host)
        snprintf(cfg->server_host, sizeof cfg->server_host, "%s", sa->host);
    if (sa->port >= 0)
        cfg->server_port = (int)sa->port;
    if (sa->health_port >= 0)
        cfg->health_port = (int)sa->health_port;
    *out = cfg;
    return 0;
}

/* serve: flags override config.lua and the environment. */
static int cmd_serve(int argc, char **argv)
{
    struct serve_args sa = { .port = -1, .health_port = -1 };
    const char *port_file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *eq = strchr(arg, '=');
        size_t nl = eq ? (size_t)(eq - arg) : strlen(arg);
        static const char *const names[] = { "--config", "--host", "--port", "--health-port", "--port-file", NULL };
        int k = 0;
        if (!strcmp(arg, "--help")) {
            fputs(usage_text, stdout);
            return CDL_EXIT_OK;
        }
        while (names[k] && (strlen(names[k]) != nl || strncmp(names[k], arg, nl)))
            k++;
        if (!names[k])
            return usage_error("serve: unknown argument '%s' (try --help)", arg);
        const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!val)
            return usage_error("option '%s' needs a value", arg);
        if (k == 0)
            sa.config_path = val;
        else if (k == 1)
            sa.host = val;
        else if (k == 4)
            port_file = val;
        else {
            char *end;
            long v = strtol(val, &end, 10);
            if (end == val || *end || v < 0 || v > 65535)
                return usage_error("expected a port number 0..65535, got '%s'", val);
            *(k == 2 ? &sa.port : &sa.health_port) = v;
        }
    }
    struct cdl_config *cfg;
    char err[1024];
    if (serve_load(&sa, &cfg, err, sizeof err)) {
        fprintf(stderr, "candled: %s\n", err);
        return CDL_EXIT_USAGE;
    }
    int rc = setup_logging(cfg);
    if (!rc) {
        struct cdl_reload_loader loader = { serve_load, &sa };
        rc = cdl_serve_run(cfg, port_file, &loader);
    }
    free_config(cfg);
    return rc;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

int cdl_cli_main(int argc, char **argv)
{
    const char *prog = argc > 0 ? base_name(argv[0]) : "candled";
    if (argc >= 2 && !strcmp(argv[1], "--version")) { /* the aliases' too */
        printf("candled %s\n", CDL_VERSION);
        return CDL_EXIT_OK;
    }
    if (!strcmp(prog, "connector-cli"))
        return cmd_stream(argc, argv);
    if (!strcmp(prog, "connector-wss"))
        return cmd_serve(argc, argv);
    if (argc < 2) {
        fputs(usage_text, stderr);
        return CDL_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(usage_text, stdout);
        return CDL_EXIT_OK;
    }
    if (!strcmp(cmd, "stream"))
        return cmd_stream(argc - 1, argv + 1);
    if (!strcmp(cmd, "check"))
        return cmd_check(argc - 1, argv + 1);
    if (!strcmp(cmd, "config-reference")) {
        cdl_config_reference(stdout);
        return CDL_EXIT_OK;
    }
    if (!strcmp(cmd, "serve"))
        return cmd_serve(argc - 1, argv + 1);
    return usage_error("unknown command '%s' (try --help)", cmd);
}

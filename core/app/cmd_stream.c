/* cmd_stream.c - `candled stream`; see commands.h. */
#include "commands.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "candle.h"
#include "circuit.h"
#include "dedup.h"
#include "err.h"
#include "feed.h"
#include "log.h"
#include "lua_host.h"
#include "metrics.h"
#include "outq.h"
#include "runtime.h"
#include "xalloc.h"

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
    struct cdl_runtime *rt;
    uv_signal_t sigint, sigterm;
    uv_prepare_t flush;
    uv_timer_t stop_timer; /* tears down outside of any feed callback */
    uv_poll_t out_poll;    /* stdout writable again (a pipe or socket, non-blocking) */
    int out_nonblock, out_polling;
    struct cdl_dedup *dedup;
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
    struct pending {
        size_t end;
        uint64_t recv_us;
    } pend[1024]; /* quotes in buf, for latency */
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
    uv_signal_stop(&r->sigint);
    uv_signal_stop(&r->sigterm);
    uv_close((uv_handle_t *)&r->sigint, NULL);
    uv_close((uv_handle_t *)&r->sigterm, NULL);
    uv_close((uv_handle_t *)&r->flush, NULL);
    uv_close((uv_handle_t *)&r->stop_timer, NULL);
    if (r->out_nonblock)
        uv_close((uv_handle_t *)&r->out_poll, NULL);
    cdl_runtime_close(r->rt);
}

static int limit_reached(const struct stream_run *r) { return r->limit > 0 && r->written >= r->limit; }
static int pop_some(struct stream_run *r);

/* Stops streaming.  Called from inside feed callbacks (the limit), so the feeds are destroyed
 * on the next loop turn.  why == NULL: a start-up failure already reported; stop quietly. */
static void stop(struct stream_run *r, const char *why)
{
    if (r->stopping)
        return;
    r->stopping = 1;    /* from now on flush_out writes everything, blocking */
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
        r->buf = cdl_xrealloc(r->buf, r->buf_cap);
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
            cdl_series_add(r->s_blocking, 1);
            cdl_log(CDL_LOG_WARN, "closed-candle queue full: upstream reads paused", NULL);
        } else {
            cdl_log(CDL_LOG_INFO, "closed-candle queue drained: upstream reads resumed", NULL);
        }
    }
    cdl_series_set(r->s_depth_closed, (double)cdl_outq_closed_depth(r->q));
    cdl_series_set(r->s_depth_open, (double)cdl_outq_open_depth(r->q));
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
        r->outs = cdl_xrealloc(r->outs, (size_t)n * sizeof *r->outs);
        memset(r->outs + r->n_outs, 0, (size_t)(n - r->n_outs) * sizeof *r->outs);
        r->n_outs = n;
    }
    struct out_stream *o = &r->outs[id];
    if (!o->meta.exchange) {
        o->meta = *meta; /* the feed's strings live as long as the feed */
        for (int k = 0; k < 2; k++)
            o->quotes[k] = cdl_metrics_series(r->rt->metrics, CDL_M_QUOTES_PROCESSED, meta->exchange,
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
        struct cdl_outq_item it = {
            .stream = id, .is_gap = 1, .gap_from = from, .gap_to = to, .gap_missing = missing, .gap_reason = reason
        };
        format_item(r, &it);
        return;
    }
    cdl_outq_push_gap(r->q, id, from, to, missing, reason);
}

static void on_prepare(uv_prepare_t *p) { drain(p->data); }

static void on_signal(uv_signal_t *s, int signum) { stop(s->data, signum == SIGINT ? "SIGINT" : "SIGTERM"); }

int cdl_cmd_stream(struct cdl_config *cfg, const struct cdl_stream_sub *subs, int n_subs, long limit, int csv)
{
    struct stream_run r;
    memset(&r, 0, sizeof r);
    r.limit = limit;
    r.csv = csv;
    r.buf_cap = 1 << 16;
    r.buf = cdl_xmalloc(r.buf_cap);
    r.rt = cdl_runtime_create(cfg);
    uv_loop_t *loop = &r.rt->loop;
    struct cdl_metrics *metrics = r.rt->metrics;
    r.dedup = cdl_dedup_create((int64_t)(cfg->dedup_window_seconds * 1000), cfg->dedup_max_entries);
    r.q = cdl_outq_create(cfg->closed_queue_maxsize, cfg->closed_queue_maxsize / 2, cfg->open_queue_maxsize);
    r.s_depth_closed = cdl_metrics_series(metrics, CDL_M_QUEUE_DEPTH_CLOSED);
    r.s_depth_open = cdl_metrics_series(metrics, CDL_M_QUEUE_DEPTH_OPEN);
    r.s_blocking = cdl_metrics_series(metrics, CDL_M_QUEUE_BLOCKING);
    r.s_latency = cdl_metrics_series(metrics, CDL_M_QUOTE_LATENCY);
    int code = CDL_EXIT_OK;

    /* Everything a user can get wrong is checked before any connection is made. */
    struct cdl_feed_opts fo[MAX_FEEDS];
    for (int i = 0; i < n_subs && i < MAX_FEEDS; i++) {
        const struct cdl_stream_sub *s = &subs[i];
        struct cdl_adapter *a;
        char err[512];
        int rc = cdl_lua_host_load(r.rt->host, s->exchange, &a, err, sizeof err);
        if (rc) {
            fprintf(stderr, "candled: %s\n", err);
            code = rc == CDL_ENOTFOUND ? CDL_EXIT_USAGE : CDL_EXIT_FAILURE;
            goto out;
        }
        const struct cdl_market *m =
            cdl_adapter_pick_market(a, s->market, s->symbols, s->n_symbols, "--market", err, sizeof err);
        if (!m) {
            fprintf(stderr, "candled: %s\n", err);
            code = CDL_EXIT_USAGE;
            goto out;
        }
        fo[i] = (struct cdl_feed_opts){
            .adapter = a,
            .market = m,
            .interval = s->interval,
            .symbols = s->symbols,
            .n_symbols = s->n_symbols,
            .ws_url = s->ws_url,
            .rest_url = s->rest_url,
            .closed_only = s->closed_only,
            .dedup = r.dedup,
        };
        cdl_feed_opts_config(cfg, &fo[i]);
    }
    if (cdl_runtime_open(r.rt)) {
        code = CDL_EXIT_FAILURE;
        goto out;
    }
    int base = 0;
    for (int i = 0; i < n_subs; i++) {
        char err[512];
        int rc;
        r.sinks[i] = (struct feed_sink){ .r = &r, .base = base };
        struct cdl_feed_sink sink = { .on_quote = on_quote, .on_gap = on_gap, .user = &r.sinks[i] };
        base += fo[i].n_symbols;
        fo[i].circuit = cdl_circuits_ws(r.rt->circuits, cdl_adapter_name(fo[i].adapter), fo[i].market->name);
        struct cdl_feed *f = cdl_feed_create(loop, r.rt->net, r.rt->rest, metrics, &fo[i], &sink, &rc, err, sizeof err);
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
    uv_signal_init(loop, &r.sigint);
    uv_signal_init(loop, &r.sigterm);
    uv_prepare_init(loop, &r.flush);
    uv_timer_init(loop, &r.stop_timer);
    r.sigint.data = r.sigterm.data = r.flush.data = r.stop_timer.data = r.out_poll.data = &r;
    /* a pipe or socket consumer may be slow: write to it without blocking the loop */
    struct stat st;
    if (!fstat(STDOUT_FILENO, &st) && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) &&
        !uv_poll_init(loop, &r.out_poll, STDOUT_FILENO)) {
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
    uv_run(loop, UV_RUN_DEFAULT);
    int started = code == CDL_EXIT_OK;
    code = r.exit_code ? r.exit_code : code;
    if (started) {
        char q[24], p50[24], p99[24];
        snprintf(q, sizeof q, "%ld", r.written);
        snprintf(p50, sizeof p50, "%llu", (unsigned long long)lat_quantile(&r.lat, 0.50));
        snprintf(p99, sizeof p99, "%llu", (unsigned long long)lat_quantile(&r.lat, 0.99));
        char *counters = cdl_metrics_summary(metrics);
        cdl_log(CDL_LOG_INFO, "stream finished", "quotes", q, "latency_p50_us", p50, "latency_p99_us", p99, "counters",
                counters, NULL);
        free(counters);
    }
out:
    flush_out(&r);
    cdl_runtime_release_net(r.rt);
    for (int i = 0; i < r.n_feeds; i++)
        cdl_feed_destroy(r.feeds[i]);
    cdl_dedup_destroy(r.dedup);
    cdl_outq_destroy(r.q);
    free(r.outs);
    if (r.out_nonblock) /* the descriptor is shared with whoever gave it to us */
        fcntl(STDOUT_FILENO, F_SETFL, fcntl(STDOUT_FILENO, F_GETFL) & ~O_NONBLOCK);
    cdl_runtime_destroy(r.rt);
    free(r.buf);
    return code;
}

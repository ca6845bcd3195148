/* metrics.c - see metrics.h. */
#include "metrics.h"
#include "xalloc.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct cdl_metric_def defs[CDL_M__COUNT] = {
    [CDL_M_QUOTES_PROCESSED] = { .name = "connector_quotes_processed_total",
                                 .type = CDL_COUNTER,
                                 .help = "Quotes written to consumers.",
                                 .labels = { "exchange", "contract_type", "is_closed" } },
    [CDL_M_QUOTE_LATENCY] = { .name = "connector_quote_latency_seconds",
                              .type = CDL_HISTOGRAM,
                              .help = "Time from upstream frame received to quote written." },
    [CDL_M_ACTIVE_CONNECTIONS] = { .name = "connector_active_connections",
                                   .type = CDL_GAUGE,
                                   .help = "Established upstream WebSocket connections.",
                                   .labels = { "exchange", "contract_type" } },
    [CDL_M_CONNECTION_ERRORS] = { .name = "connector_connection_errors_total",
                                  .type = CDL_COUNTER,
                                  .help = "Upstream connection failures and unexpected closes.",
                                  .labels = { "exchange", "contract_type" } },
    [CDL_M_RECONNECTIONS] = { .name = "connector_reconnections_total",
                              .type = CDL_COUNTER,
                              .help = "Upstream reconnect attempts.",
                              .labels = { "exchange", "contract_type" } },
    [CDL_M_REST_BACKFILLS] = { .name = "connector_rest_backfills_total",
                               .type = CDL_COUNTER,
                               .help = "REST backfills by result.",
                               .labels = { "exchange", "contract_type", "status" } },
    [CDL_M_QUEUE_DEPTH_CLOSED] = { .name = "connector_queue_depth_closed",
                                   .type = CDL_GAUGE,
                                   .help = "Closed candles waiting in the closed-candle queue." },
    [CDL_M_QUEUE_DEPTH_OPEN] = { .name = "connector_queue_depth_open",
                                 .type = CDL_GAUGE,
                                 .help = "Streams with an open-candle update waiting." },
    [CDL_M_QUEUE_BLOCKING] = { .name = "connector_queue_blocking_events_total",
                               .type = CDL_COUNTER,
                               .help = "Times a full closed queue paused reading an upstream." },
    [CDL_M_CIRCUIT_STATE] = { .name = "connector_circuit_breaker_state",
                              .type = CDL_GAUGE,
                              .help = "Upstream connect circuit breaker state: 0 closed, 1 open, 2 half-open.",
                              .labels = { "exchange", "contract_type" } },
    [CDL_M_DUPLICATES] = { .name = "connector_duplicates_filtered_total",
                           .type = CDL_COUNTER,
                           .help = "Candles dropped as duplicates.",
                           .labels = { "exchange", "contract_type" } },
    [CDL_M_FRAMES_RECEIVED] = { .name = "connector_frames_received_total",
                                .type = CDL_COUNTER,
                                .help = "Upstream text frames received.",
                                .labels = { "exchange", "contract_type" } },
    [CDL_M_FRAMES_REJECTED] = { .name = "connector_frames_rejected_total",
                                .type = CDL_COUNTER,
                                .help = "Upstream frames rejected (garbage, oversize, unknown event).",
                                .labels = { "exchange", "contract_type", "reason" } },
    [CDL_M_CANDLES_REJECTED] = { .name = "connector_candles_rejected_total",
                                 .type = CDL_COUNTER,
                                 .help = "Candles an adapter returned that failed validation.",
                                 .labels = { "exchange", "contract_type", "reason" } },
    [CDL_M_ADAPTER_ERRORS] = { .name = "connector_adapter_errors_total",
                               .type = CDL_COUNTER,
                               .help = "Adapter hooks that raised or broke the contract.",
                               .labels = { "exchange", "hook" } },
    [CDL_M_SUBSCRIPTION_ERRORS] = { .name = "connector_subscription_errors_total",
                                    .type = CDL_COUNTER,
                                    .help = "Errors the exchange reported for subscriptions.",
                                    .labels = { "exchange", "contract_type" } },
    [CDL_M_REST_REQUESTS] = { .name = "connector_rest_requests_total",
                              .type = CDL_COUNTER,
                              .help =
                                  "REST requests by HTTP status (0 = no answer: transport error, or not sent, the host's breaker open).",
                              .labels = { "exchange", "contract_type", "status" } },
    [CDL_M_CIRCUIT_TRANSITIONS] = { .name = "connector_circuit_breaker_transitions_total",
                                    .type = CDL_COUNTER,
                                    .help = "Upstream connect circuit breaker state changes, by new state.",
                                    .labels = { "exchange", "contract_type", "to" } },
    [CDL_M_REST_CIRCUIT_STATE] = { .name = "connector_rest_circuit_breaker_state",
                                   .type = CDL_GAUGE,
                                   .help = "REST host circuit breaker state: 0 closed, 1 open, 2 half-open.",
                                   .labels = { "host" } },
    [CDL_M_REST_CIRCUIT_TRANSITIONS] = { .name = "connector_rest_circuit_breaker_transitions_total",
                                         .type = CDL_COUNTER,
                                         .help = "REST host circuit breaker state changes, by new state.",
                                         .labels = { "host", "to" } },
    [CDL_M_REST_CIRCUIT_REFUSED] = { .name = "connector_rest_circuit_refused_total",
                                     .type = CDL_COUNTER,
                                     .help =
                                         "REST requests failed without being sent: the host's breaker stays open too long.",
                                     .labels = { "host" } },
    [CDL_M_REST_BUDGET_WAITING] = { .name = "connector_rest_budget_waiting",
                                    .type = CDL_GAUGE,
                                    .help = "REST requests queued now, waiting for their host's weight budget.",
                                    .labels = { "host" } },
    [CDL_M_REST_BUDGET_WAITS] = { .name = "connector_rest_budget_waits_total",
                                  .type = CDL_COUNTER,
                                  .help = "REST requests that waited for their host's weight budget before being sent.",
                                  .labels = { "host" } },
    [CDL_M_SERIES_DROPPED] = { .name = "connector_metric_series_dropped_total",
                               .type = CDL_COUNTER,
                               .help = "Metric series not created because the series cap was reached." },
    [CDL_M_GAPS_DETECTED] = { .name = "connector_gaps_detected_total",
                              .type = CDL_COUNTER,
                              .help =
                                  "Holes found in a stream's closed candles (skipped, missed or lost to a disconnect).",
                              .labels = { "exchange", "contract_type" } },
    [CDL_M_GAPS_FILLED] = { .name = "connector_gaps_filled_total",
                            .type = CDL_COUNTER,
                            .help = "Holes filled completely (by a backfill or late frames).",
                            .labels = { "exchange", "contract_type" } },
    [CDL_M_GAPS_UNFILLED] = { .name = "connector_gaps_unfilled_total",
                              .type = CDL_COUNTER,
                              .help = "Gap events: closed candles announced as lost for good.",
                              .labels = { "exchange", "contract_type", "reason" } },
    [CDL_M_REVISIONS] = { .name = "connector_candle_revisions_total",
                          .type = CDL_COUNTER,
                          .help = "Closed candles seen again with other values (the first one stands).",
                          .labels = { "exchange", "contract_type" } },
    [CDL_M_CLOSES_INFERRED] = { .name = "connector_closes_inferred_total",
                                .type = CDL_COUNTER,
                                .help = "Closed candles inferred (newer period or clock) for exchanges without a flag.",
                                .labels = { "exchange", "contract_type" } },
    [CDL_M_LATE_CANDLES] = { .name = "connector_late_candles_total",
                             .type = CDL_COUNTER,
                             .help = "Closed candles that arrived after their gap had been announced.",
                             .labels = { "exchange", "contract_type" } },
    [CDL_M_CANDLES_HELD] = { .name = "connector_candles_held",
                             .type = CDL_GAUGE,
                             .help = "Closed candles waiting behind a hole.",
                             .labels = { "exchange", "contract_type" } },
    [CDL_M_UPSTREAM_STREAMS] = { .name = "connector_upstream_streams",
                                 .type = CDL_GAUGE,
                                 .help = "Streams subscribed upstream, each shared by every client that wants it.",
                                 .labels = { "exchange", "contract_type", "interval" } },
    [CDL_M_WS_ROTATIONS] = { .name = "connector_ws_rotations_total",
                             .type = CDL_COUNTER,
                             .help =
                                 "Upstream connections replaced ahead of the exchange's connection lifetime, by result (ok, failed, timeout, aborted).",
                             .labels = { "exchange", "contract_type", "result" } },
    [CDL_M_CLOSES_CONFIRMED] = { .name = "connector_closes_confirmed_total",
                                 .type = CDL_COUNTER,
                                 .help =
                                     "Inferred closes that waited for the exchange's REST row (confirm_inferred), by result: same (the row had the inferred values), corrected (it differed; the row went out), unconfirmed (no row by the deadline; the inferred close went out), dropped.",
                                 .labels = { "exchange", "contract_type", "result" } },
    [CDL_M_CLIENTS] = { .name = "connector_clients", .type = CDL_GAUGE, .help = "WebSocket clients connected." },
    [CDL_M_CLIENT_STREAMS] = { .name = "connector_client_streams",
                               .type = CDL_GAUGE,
                               .help = "Symbol subscriptions of all WebSocket clients." },
    [CDL_M_CLIENT_CONNECTIONS] = { .name = "connector_client_connections_total",
                                   .type = CDL_COUNTER,
                                   .help = "WebSocket clients accepted." },
    [CDL_M_CLIENT_ERRORS] = { .name = "connector_client_errors_total",
                              .type = CDL_COUNTER,
                              .help = "Error replies sent to WebSocket clients, by code.",
                              .labels = { "code" } },
    [CDL_M_CLIENT_SLOW] = { .name = "connector_slow_client_disconnects_total",
                            .type = CDL_COUNTER,
                            .help = "WebSocket clients closed (1008) because their queue passed its cap." },
    [CDL_M_CLIENT_QUOTES] = { .name = "connector_client_quotes_total",
                              .type = CDL_COUNTER,
                              .help = "Quote messages written to WebSocket clients." },
    [CDL_M_PROCESS_RSS] = { .name = "process_resident_memory_bytes",
                            .type = CDL_GAUGE,
                            .help = "Resident memory size in bytes." },
    [CDL_M_PROCESS_CPU] = { .name = "process_cpu_seconds_total",
                            .type = CDL_COUNTER,
                            .help = "User and system CPU time in seconds." },
    [CDL_M_PROCESS_FDS] = { .name = "process_open_fds", .type = CDL_GAUGE, .help = "Open file descriptors." },
    [CDL_M_RELOADS] = { .name = "connector_reloads_total",
                        .type = CDL_COUNTER,
                        .help = "Configuration and adapter reloads (SIGHUP, POST /-/reload), by result.",
                        .labels = { "result" } },
    [CDL_M_RELOAD_SUCCESS] = { .name = "connector_config_last_reload_successful",
                               .type = CDL_GAUGE,
                               .help = "1 if the last reload was applied (or none was tried), 0 if it was refused." },
    [CDL_M_RELOAD_DURATION] = { .name = "connector_reload_duration_seconds",
                                .type = CDL_GAUGE,
                                .help = "Time the event loop spent in the last reload (the reload pause)." },
};

/* Upper bounds of the latency histogram, seconds. */
static const double hist_bounds[CDL_HIST_BUCKETS] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                      0.01,   0.025,   0.05,   0.1,   0.5,    1.0 };

struct cdl_series {
    struct cdl_series *next; /* next series of the same metric, in creation order */
    char *labels[CDL_METRIC_MAX_LABELS];
    double value; /* counter/gauge value; histogram sum */
    uint64_t count;
    uint64_t buckets[CDL_HIST_BUCKETS];
};

struct cdl_metrics {
    struct cdl_series *head[CDL_M__COUNT];
    struct cdl_series *tail[CDL_M__COUNT];
    size_t n_series, max_series;
    struct cdl_series *dropped;
    struct cdl_series sink;
};

const struct cdl_metric_def *cdl_metric_def(enum cdl_metric_id id)
{
    return (unsigned)id < CDL_M__COUNT ? &defs[id] : NULL;
}

static int n_labels(enum cdl_metric_id id)
{
    int n = 0;
    while (n < CDL_METRIC_MAX_LABELS && defs[id].labels[n])
        n++;
    return n;
}

struct cdl_metrics *cdl_metrics_create(size_t max_series)
{
    struct cdl_metrics *m = cdl_xcalloc(1, sizeof *m);
    m->max_series = max_series ? max_series : 10000;
    /* The drop counter exists from the start, outside the cap, so counting a drop never recurses. */
    m->dropped = cdl_metrics_series(m, CDL_M_SERIES_DROPPED);
    m->n_series = 0;
    return m;
}

void cdl_metrics_destroy(struct cdl_metrics *m)
{
    if (!m)
        return;
    for (int id = 0; id < CDL_M__COUNT; id++) {
        struct cdl_series *s = m->head[id], *next;
        for (; s; s = next) {
            next = s->next;
            for (int i = 0; i < CDL_METRIC_MAX_LABELS; i++)
                free(s->labels[i]);
            free(s);
        }
    }
    free(m);
}

struct cdl_series *cdl_metrics_series(struct cdl_metrics *m, enum cdl_metric_id id, ...)
{
    const char *vals[CDL_METRIC_MAX_LABELS] = { 0 };
    int n = n_labels(id);
    va_list ap;
    va_start(ap, id);
    for (int i = 0; i < n; i++) {
        vals[i] = va_arg(ap, const char *);
        if (!vals[i])
            vals[i] = "";
    }
    va_end(ap);

    for (struct cdl_series *s = m->head[id]; s; s = s->next) {
        int i = 0;
        while (i < n && !strcmp(s->labels[i], vals[i]))
            i++;
        if (i == n)
            return s;
    }
    if (m->n_series >= m->max_series) {
        m->dropped->value += 1;
        return &m->sink;
    }
    struct cdl_series *s = cdl_xcalloc(1, sizeof *s);
    for (int i = 0; i < n; i++) {
        s->labels[i] = cdl_xstrdup(vals[i]);
    }
    if (m->tail[id])
        m->tail[id]->next = s;
    else
        m->head[id] = s;
    m->tail[id] = s;
    m->n_series++;
    return s;
}

void cdl_series_add(struct cdl_series *s, double v) { s->value += v; }
void cdl_series_set(struct cdl_series *s, double v) { s->value = v; }

void cdl_series_observe(struct cdl_series *s, double v)
{
    s->value += v;
    s->count++;
    for (int i = 0; i < CDL_HIST_BUCKETS; i++)
        if (v <= hist_bounds[i])
            s->buckets[i]++;
}

double cdl_series_value(const struct cdl_series *s) { return s->count ? (double)s->count : s->value; }

struct buf {
    char *p;
    size_t n, cap;
};

static void bput(struct buf *b, const char *s, size_t len)
{
    b->p = cdl_xgrow(b->p, &b->cap, b->n + len + 1);
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = '\0';
}

static void bputs(struct buf *b, const char *s) { bput(b, s, strlen(s)); }

static void bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(struct buf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    bput(b, tmp, (size_t)(n < (int)sizeof tmp ? n : (int)sizeof tmp - 1));
}

static void put_number(struct buf *b, double v)
{
    if (isnan(v))
        bputs(b, "NaN");
    else if (isinf(v))
        bputs(b, v > 0 ? "+Inf" : "-Inf");
    else if (v == (double)(int64_t)v && fabs(v) < 9e15)
        bprintf(b, "%lld", (long long)v);
    else {
        /* shortest of %.15g / %.17g that reads back as the same double */
        char tmp[40];
        snprintf(tmp, sizeof tmp, "%.15g", v);
        if (strtod(tmp, NULL) != v)
            snprintf(tmp, sizeof tmp, "%.17g", v);
        bputs(b, tmp);
    }
}

/* Label values escaped per the exposition format: backslash, double quote, newline. */
static void put_label_value(struct buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            bputs(b, "\\\\");
        else if (*s == '"')
            bputs(b, "\\\"");
        else if (*s == '\n')
            bputs(b, "\\n");
        else
            bput(b, s, 1);
    }
}

static void put_labels(struct buf *b, enum cdl_metric_id id, const struct cdl_series *s, const char *le)
{
    int n = n_labels(id);
    if (!n && !le)
        return;
    bputs(b, "{");
    for (int i = 0; i < n; i++) {
        if (i)
            bputs(b, ",");
        bputs(b, defs[id].labels[i]);
        bputs(b, "=\"");
        put_label_value(b, s->labels[i]);
        bputs(b, "\"");
    }
    if (le) {
        if (n)
            bputs(b, ",");
        bputs(b, "le=\"");
        bputs(b, le);
        bputs(b, "\"");
    }
    bputs(b, "}");
}

char *cdl_metrics_render(const struct cdl_metrics *m, size_t *len_out)
{
    static const char *const type_names[] = { "counter", "gauge", "histogram" };
    struct buf b = { 0 };
    bput(&b, "", 0);
    for (int id = 0; id < CDL_M__COUNT; id++) {
        const struct cdl_metric_def *d = &defs[id];
        bprintf(&b, "# HELP %s ", d->name);
        bputs(&b, d->help);
        bprintf(&b, "\n# TYPE %s %s\n", d->name, type_names[d->type]);
        for (const struct cdl_series *s = m->head[id]; s; s = s->next) {
            if (d->type != CDL_HISTOGRAM) {
                bputs(&b, d->name);
                put_labels(&b, id, s, NULL);
                bputs(&b, " ");
                put_number(&b, s->value);
                bputs(&b, "\n");
                continue;
            }
            for (int i = 0; i <= CDL_HIST_BUCKETS; i++) {
                char le[32];
                if (i < CDL_HIST_BUCKETS)
                    snprintf(le, sizeof le, "%g", hist_bounds[i]);
                else
                    strcpy(le, "+Inf");
                bprintf(&b, "%s_bucket", d->name);
                put_labels(&b, id, s, le);
                bputs(&b, " ");
                put_number(&b, (double)(i < CDL_HIST_BUCKETS ? s->buckets[i] : s->count));
                bputs(&b, "\n");
            }
            bprintf(&b, "%s_sum", d->name);
            put_labels(&b, id, s, NULL);
            bputs(&b, " ");
            put_number(&b, s->value);
            bprintf(&b, "\n%s_count", d->name);
            put_labels(&b, id, s, NULL);
            bputs(&b, " ");
            put_number(&b, (double)s->count);
            bputs(&b, "\n");
        }
    }
    if (len_out)
        *len_out = b.n;
    return b.p;
}

char *cdl_metrics_summary(const struct cdl_metrics *m)
{
    struct buf b = { 0 };
    bput(&b, "", 0);
    for (int id = 0; id < CDL_M__COUNT; id++) {
        if (defs[id].type != CDL_COUNTER)
            continue;
        for (const struct cdl_series *s = m->head[id]; s; s = s->next) {
            if (s->value == 0)
                continue;
            if (b.n)
                bputs(&b, " ");
            bputs(&b, defs[id].name);
            for (int i = 0; i < n_labels(id); i++) {
                bputs(&b, i ? "," : ":");
                bputs(&b, s->labels[i]);
            }
            bputs(&b, "=");
            put_number(&b, s->value);
        }
    }
    return b.p;
}

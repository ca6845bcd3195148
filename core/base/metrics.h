/* metrics.h - Prometheus metrics: one definition table, labelled series, text exposition.
 *
 * Every metric candled exports is a row of one table (name, type, help, label names); the
 * exposition writer walks it.  A series (one label-value tuple of one metric) is created on first
 * use and lives as long as the registry, so callers look it up once and keep the pointer.  The
 * number of series is capped: past the cap lookups return a sink series that is never exported
 * (and connector_metric_series_dropped_total counts them), so a flood of odd symbols cannot grow
 * memory.  Used from the loop thread only. */
#ifndef CDL_METRICS_H
#define CDL_METRICS_H

#include <stddef.h>

enum cdl_metric_id {
    CDL_M_QUOTES_PROCESSED,         /* counter {exchange,contract_type,is_closed} */
    CDL_M_QUOTE_LATENCY,            /* histogram, seconds from frame received to quote written */
    CDL_M_ACTIVE_CONNECTIONS,       /* gauge {exchange,contract_type} */
    CDL_M_CONNECTION_ERRORS,        /* counter {exchange,contract_type} */
    CDL_M_RECONNECTIONS,            /* counter {exchange,contract_type} */
    CDL_M_REST_BACKFILLS,           /* counter {exchange,contract_type,status} */
    CDL_M_QUEUE_DEPTH_CLOSED,       /* gauge */
    CDL_M_QUEUE_DEPTH_OPEN,         /* gauge */
    CDL_M_QUEUE_BLOCKING,           /* counter */
    CDL_M_CIRCUIT_STATE,            /* gauge {exchange,contract_type} 0 closed 1 open 2 half-open */
    CDL_M_DUPLICATES,               /* counter {exchange,contract_type} */
    CDL_M_FRAMES_RECEIVED,          /* counter {exchange,contract_type} */
    CDL_M_FRAMES_REJECTED,          /* counter {exchange,contract_type,reason} */
    CDL_M_CANDLES_REJECTED,         /* counter {exchange,contract_type,reason} */
    CDL_M_ADAPTER_ERRORS,           /* counter {exchange,hook} */
    CDL_M_SUBSCRIPTION_ERRORS,      /* counter {exchange,contract_type} */
    CDL_M_REST_REQUESTS,            /* counter {exchange,contract_type,status} */
    CDL_M_CIRCUIT_TRANSITIONS,      /* counter {exchange,contract_type,to} */
    CDL_M_REST_CIRCUIT_STATE,       /* gauge {host} 0 closed 1 open 2 half-open */
    CDL_M_REST_CIRCUIT_TRANSITIONS, /* counter {host,to} */
    CDL_M_REST_CIRCUIT_REFUSED,     /* counter {host}: requests failed at once, the host's breaker open */
    CDL_M_REST_BUDGET_WAITING,      /* gauge {host}: requests queued for the host's weight budget */
    CDL_M_REST_BUDGET_WAITS,        /* counter {host}: requests that waited for it */
    CDL_M_SERIES_DROPPED,           /* counter */
    CDL_M_GAPS_DETECTED,            /* counter {exchange,contract_type}: holes in the closed candles */
    CDL_M_GAPS_FILLED,              /* counter {exchange,contract_type}: holes filled completely */
    CDL_M_GAPS_UNFILLED,            /* counter {exchange,contract_type,reason}: gap events */
    CDL_M_REVISIONS,                /* counter {exchange,contract_type} */
    CDL_M_CLOSES_INFERRED,          /* counter {exchange,contract_type} */
    CDL_M_LATE_CANDLES,             /* counter {exchange,contract_type} */
    CDL_M_CANDLES_HELD,             /* gauge {exchange,contract_type} */
    CDL_M_UPSTREAM_STREAMS,         /* gauge {exchange,contract_type,interval} */
    CDL_M_WS_ROTATIONS,             /* counter {exchange,contract_type,result}: make-before-break replacements */
    CDL_M_CLOSES_CONFIRMED,         /* counter {exchange,contract_type,result}: inferred closes checked against REST */
    CDL_M_CLIENTS,                  /* gauge: WebSocket clients connected */
    CDL_M_CLIENT_STREAMS,           /* gauge: symbol subscriptions of all clients */
    CDL_M_CLIENT_CONNECTIONS,       /* counter: WebSocket clients accepted */
    CDL_M_CLIENT_ERRORS,            /* counter {code}: error replies */
    CDL_M_CLIENT_SLOW,              /* counter: clients closed for falling behind */
    CDL_M_CLIENT_QUOTES,            /* counter: quotes written to clients */
    CDL_M_PROCESS_RSS,              /* gauge: resident memory, bytes */
    CDL_M_PROCESS_CPU,              /* counter: user + system CPU seconds */
    CDL_M_PROCESS_FDS,              /* gauge: open file descriptors */
    CDL_M_RELOADS,                  /* counter {result}: reloads, "ok" or "failed" */
    CDL_M_RELOAD_SUCCESS,           /* gauge: 1 if the last reload was applied (1 before any) */
    CDL_M_RELOAD_DURATION,          /* gauge: seconds the loop spent in the last reload */
    CDL_M__COUNT
};

enum cdl_metric_type { CDL_COUNTER, CDL_GAUGE, CDL_HISTOGRAM };

#define CDL_METRIC_MAX_LABELS 4
#define CDL_HIST_BUCKETS 12

struct cdl_metric_def {
    const char *name;
    enum cdl_metric_type type;
    const char *help;
    const char *labels[CDL_METRIC_MAX_LABELS]; /* NULL-terminated when shorter */
};

/* The table (indexed by enum cdl_metric_id). */
const struct cdl_metric_def *cdl_metric_def(enum cdl_metric_id id);

struct cdl_metrics;
struct cdl_series;

/* max_series: cap on series across all metrics (0 = 10000).  Aborts on OOM. */
struct cdl_metrics *cdl_metrics_create(size_t max_series);
void cdl_metrics_destroy(struct cdl_metrics *m);

/* Finds or creates the series of `id` with the given label values, in the table's label order
 * (exactly as many strings as the metric has labels; copied).  Never NULL. */
struct cdl_series *cdl_metrics_series(struct cdl_metrics *m, enum cdl_metric_id id, ...);

void cdl_series_add(struct cdl_series *s, double v);     /* counters and gauges */
void cdl_series_set(struct cdl_series *s, double v);     /* gauges */
void cdl_series_observe(struct cdl_series *s, double v); /* histograms */
double cdl_series_value(const struct cdl_series *s);     /* counters/gauges; histogram: count */

/* Compact one-line summary of the non-zero counters, for a log line at exit:
 * "name:labelvalue,labelvalue=value name=value ...".  Returns a malloc'd string. */
char *cdl_metrics_summary(const struct cdl_metrics *m);

/* Prometheus text exposition format 0.0.4.  Returns a malloc'd NUL-terminated string. */
char *cdl_metrics_render(const struct cdl_metrics *m, size_t *len_out);

#endif

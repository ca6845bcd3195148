/* sim.h - candled-sim's core and the interface every simulated exchange implements.
 *
 * The core (sim.c with core.c, client.c, stream.c, http.c and record.c; see core.h) owns the
 * libuv loop, the lws context with its one vhost (HTTP and WebSocket on the same port), the
 * clients and their bounded send queues, the table of generated streams, the timers, fault
 * injection, recording and replay.  An exchange (ex_<name>.c) is a const
 * `struct sim_exchange`: it accepts WebSocket paths, answers client messages, renders candle
 * events in its wire format and answers REST requests.  It never writes to a socket: it calls
 * the sim_client_* / sim_stream_* functions below, which queue and count.
 *
 * Everything runs on the loop thread.  Strings passed in are borrowed for the call. */
#ifndef SIM_H
#define SIM_H

#include <stddef.h>
#include <stdint.h>

#include "gen.h"

struct sim;
struct sim_client;
struct sim_stream;

/* A growable byte buffer for building frames and bodies (aborts on out of memory). */
struct sim_buf {
    char *data;
    size_t len, cap;
};
void sim_buf_reserve(struct sim_buf *b, size_t extra);
void sim_buf_add(struct sim_buf *b, const void *p, size_t n);
void sim_buf_str(struct sim_buf *b, const char *s);
void sim_buf_printf(struct sim_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_buf_free(struct sim_buf *b);

/* Command-line options; see docs/simulator.md.  Lists are owned by the option parser. */
struct sim_opts {
    const char *exchange;
    const char *market; /* exchange-defined; NULL = the exchange's first market */
    int port;           /* 0 = pick a free port */
    char **symbols;     /* the symbol universe (REST answers -1121 for others) */
    int nsymbols;
    int symbol_count;      /* --symbol-count: generate this many symbols instead */
    const char *intervals; /* comma list of intervals served, NULL = all */
    double rate;           /* open updates per second per stream; 0 = closes only */
    uint64_t seed;
    const char *port_file, *record, *replay, *truth;
    int flood;
    int enforce_rate;    /* disconnect clients over max_msg_rate */
    int max_msg_rate;    /* incoming messages per second; 0 = the exchange's limit */
    int ping_interval;   /* seconds between server pings; -1 = exchange default, 0 = none */
    int idle_disconnect; /* close a client silent this many seconds; -1 = exchange default, 0 = never */
    double max_conn_age; /* close every connection this many seconds after it opened; 0 = never */
    int queue_max;       /* frames queued per client before it is dropped (1008) */
    int max_streams;     /* streams per connection; 0 = the exchange's limit */
    int verbose;
    int log_subs;                   /* --log-subs: "SUBS <ms> <client> +|-|x <stream>" lines on stderr */
    const char *tls_cert, *tls_key; /* PEM files: serve wss:// and https:// instead */
    /* faults (0 = off) */
    long disconnect_after;
    int disconnect_abrupt;
    long stall_after, stall_ms;
    long duplicate_every, reorder_every, skip_close_every, garbage_every;
    int drop_on_skip; /* a skipped close also closes its stream's connections (lost with them) */
    long rest_fail_every;
    int rest_status;
    long refuse_ws;          /* refuse the first N WebSocket upgrades */
    long refuse_ws_every;    /* refuse every Nth WebSocket upgrade */
    long subscribe_delay_ms; /* after a subscribe, nothing is sent to that client for this long */
    long oversize_every, oversize_bytes;
    long revise_every;       /* after the close of every Nth period, a second close with other values */
    long rest_garbage_every; /* every Nth REST answer: 200 with its body cut in half */
};

/* Fault and traffic counters, printed as one JSON line on exit. */
struct sim_counters {
    uint64_t clients, data_frames, control_frames, pings, pongs, rx_msgs, rest_requests, ws_upgrades;
    uint64_t app_pings; /* application-level pings from clients (text "ping"...), answered */
    uint64_t recorded;
    uint64_t subscribes, unsubscribes; /* streams a client added / removed (client close not counted) */
    uint64_t disconnects, abrupt_disconnects, stalls, duplicates, reorders, skipped_closes;
    uint64_t garbage, rest_failures, oversize, slow_drops, rate_drops, idle_drops, ws_refused;
    uint64_t revisions, rest_garbage;
    uint64_t age_drops;         /* connections closed at --max-conn-age */
    uint64_t rest_peak_per_sec; /* most REST requests received within one wall-clock second */
};

/* What candled must print for one generated candle state (--truth). */
struct sim_truth {
    char symbol[64]; /* as the exchange names it in its frames */
    char open[32], high[32], low[32], close[32], volume[32];
    char quote_volume[32]; /* "" = the adapter reports none */
    int64_t close_time;    /* -1 = none reported */
    int64_t trades;        /* -1 = none reported */
    int flag;              /* 1 if the exchange's frames say whether the candle is closed */
};

/* Fills a truth's symbol (the stream's), prices and volume, and its quote volume unless
 * `quote_volume` is NULL (record.c). */
void sim_truth_set(struct sim_truth *t, const struct sim_stream *s, const char *open, const char *high, const char *low,
                   const char *close, const char *volume, const char *quote_volume);

/* Reply to a REST request, filled by the exchange. */
struct sim_http_reply {
    int status;
    struct sim_buf body; /* JSON */
    int weight;          /* request weight, for the used-weight header */
};

/* A REST request as the exchange sees it. */
struct sim_http_req {
    const char *path;   /* without the query string */
    const char *method; /* "GET" or "POST" */
    const char *body;   /* a POST's body (NUL-terminated, up to 64 KiB); "" for a GET */
    size_t body_len;
    void *wsi; /* for sim_http_arg() */
};
/* Copies the value of query argument `name` (without '=') to the start of buf and returns buf;
 * NULL if absent or longer than len - 1. */
const char *sim_http_arg(const struct sim_http_req *req, const char *name, char *buf, int len);
/* Reads query argument `name` as a non-negative decimal integer (at most 19 digits): 0 absent,
 * 1 present (*out set), -1 malformed. */
int sim_http_int_arg(const struct sim_http_req *req, const char *name, long long *out);

/* One simulated exchange.  Every callback gets the sim; `state` in struct sim is the
 * exchange's own: its market table entry (sim_market_init), or anything init allocates and an
 * optional destroy frees. */
struct sim_exchange {
    const char *name;
    /* Checks opts (market, symbols), fills defaults (sim_set_format, default symbols); 0 or
     * -1 with a message on stderr. */
    int (*init)(struct sim *sim);
    void (*destroy)(struct sim *sim); /* optional */
    /* 1 if a WebSocket upgrade to `path` (no query) is served. */
    int (*ws_path_ok)(struct sim *sim, const char *path);
    /* A client connected on `path` with query argument string `query` (may be ""): set its
     * style, subscribe initial streams, maybe sim_client_start_replay().  0 or -1 to refuse. */
    int (*ws_open)(struct sim *sim, struct sim_client *c, const char *path, const char *query);
    /* One complete text message from a client. */
    void (*ws_message)(struct sim *sim, struct sim_client *c, const char *msg, size_t len);
    /* Renders one candle event of stream s in `style` (style 0 is the bare data payload that
     * --record stores).  event_ms is the event time. */
    void (*render)(struct sim *sim, const struct sim_stream *s, const struct sim_candle *k, int64_t event_ms, int style,
                   struct sim_buf *out);
    /* Fills what candled's quote must show for this candle state (--truth); optional. */
    void (*truth)(struct sim *sim, const struct sim_stream *s, const struct sim_candle *k, struct sim_truth *t);
    /* Answers a GET or POST; return 0 if handled, -1 for 404. */
    int (*rest)(struct sim *sim, const struct sim_http_req *req, struct sim_http_reply *rep);
    /* Body of an injected REST failure with this status. */
    void (*rest_fault_body)(struct sim *sim, int status, struct sim_buf *body);
};

/* The simulator.  Exchanges read opts/gen and may keep state in `state`. */
struct sim {
    struct sim_opts opts;
    const struct sim_exchange *ex;
    void *state;
    struct sim_gen gen;
    struct sim_counters counters;
    int default_max_msg_rate; /* set by the exchange in init */
    int default_max_streams;
    int default_idle_disconnect; /* seconds; the exchange's rule for silent clients (0 = none) */
    int default_ping_interval;   /* seconds between server WebSocket pings (20 unless init changes it) */
    int styles;                  /* number of render styles the exchange uses (<= 4) */
};

/* The exchange's wall clock, ms since the epoch: core/clock.c's, so CDL_TEST_CLOCK runs it as
 * fast as candled's (candles, REST answers, server times, event times follow it). */
int64_t sim_now_ms(void);
/* Real monotonic ms: what is about connections (pings, idle and age cut-offs, stalls, send and
 * request rates, the drain) stays real, as candled's network timers do (clock.h). */
int64_t sim_real_ms(void);
/* How every entry of an exchange's market table begins (its first member). */
struct sim_market {
    const char *name;
    const char *aliases[3]; /* other names for it (--market), NULL-terminated */
    struct sim_gen_format fmt;
    const char *default_symbols; /* comma list, when neither --symbols nor --symbol-count */
    const char *generated_fmt;   /* --symbol-count names, one %d from 1 */
};
/* Call from init: picks the entry of the market table (`n` entries of `size` bytes, each
 * beginning with a struct sim_market) named by --market (default: the first entry), sets
 * opts.market to its name, sim->state to the entry, the number formats and the default symbols.
 * The entry, or NULL after a message naming the `choices`. */
const void *sim_market_init(struct sim *sim, const void *table, size_t n, size_t size, const char *choices);
/* Sets the market's number formats (call from init). */
void sim_set_format(struct sim *sim, const struct sim_gen_format *fmt);
/* Fills the symbol universe if --symbols was not given: --symbol-count names printed with
 * `generated_fmt` (one %d, from 1), else the comma list `defaults`.  0 or -1. */
int sim_symbols_default(struct sim *sim, const char *defaults, const char *generated_fmt);
/* 1 if `symbol` is in the universe (exact match). */
int sim_symbol_known(struct sim *sim, const char *symbol);
/* 1 if the interval is served (--interval). */
int sim_interval_served(struct sim *sim, const struct sim_interval *iv);

/* Client side. */
void sim_client_set_style(struct sim_client *c, int style);
int sim_client_style(const struct sim_client *c);
/* Queues a control reply (not a data frame: faults do not touch it). */
void sim_client_send(struct sim_client *c, const char *text, size_t len);
/* The same, built from a printf format. */
void sim_client_sendf(struct sim_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Subscribes the client to the stream named `key` for (symbol, interval); a stream whose symbol
 * or interval is not served (or iv == NULL: not a candle stream) exists but stays silent.  0, 1 if already subscribed,
 * -1 if the client has too many streams. */
int sim_client_subscribe(struct sim_client *c, const char *key, const char *symbol, const struct sim_interval *iv);
/* 0, or 1 if it was not subscribed. */
int sim_client_unsubscribe(struct sim_client *c, const char *key);
/* The client's subscriptions in the order they were made. */
int sim_client_stream_count(const struct sim_client *c);
const char *sim_client_stream_key(const struct sim_client *c, int i);
/* Starts sending the --replay file to this client (once; no-op without --replay). */
void sim_client_start_replay(struct sim_client *c);
/* Counts one incoming control message against the per-second limit. */
void sim_client_count_rx(struct sim_client *c);
/* Closes the client with a close frame (code, reason). */
void sim_client_close(struct sim_client *c, int code, const char *reason);

/* Stream accessors for render(). */
const char *sim_stream_key(const struct sim_stream *s);
const char *sim_stream_symbol(const struct sim_stream *s);
const struct sim_interval *sim_stream_interval(const struct sim_stream *s);

/* Appends the comma-separated symbols of `list` to the universe (core.c). */
void sim_add_symbol_list(struct sim *sim, const char *list);
/* Fills sim->opts, sim->ex and the served-interval mask from argv (opts.c): 0, 1 after --help,
 * 2 for a usage error (reported on stderr). */
int sim_parse_args(struct sim *sim, uint32_t *served_mask, int argc, char **argv);

/* Exchanges linked into the simulator (ex_*.c). */
extern const struct sim_exchange sim_exchange_binance;
extern const struct sim_exchange sim_exchange_bybit;
extern const struct sim_exchange sim_exchange_hyperliquid;
extern const struct sim_exchange sim_exchange_okx;
extern const struct sim_exchange sim_exchange_gateio;

#endif

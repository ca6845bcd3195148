/* core.h - candled-sim's internals, shared by the core's modules (not by the exchanges).
 *
 * The core is split along its seams, each module owning one part of the state below:
 *   sim.c     start-up, the lws context and its protocol callback, the housekeeping timer
 *             (pings, idle and age cuts), signals, the drain and the counters line;
 *   core.c    allocation, byte buffers, the clock, the symbol universe and market tables;
 *   client.c  WebSocket clients: frames, bounded send queues, queue-time faults (duplicate,
 *             reorder, garbage, oversize), the write path with its send-time faults
 *             (disconnect, stall), --replay sending and message reassembly;
 *   stream.c  the stream table, subscriptions, the generator timer that emits updates and
 *             closes (skip, revise faults) and --flood frames;
 *   http.c    the REST side: requests and POST bodies, REST faults, the weight header;
 *   record.c  the --truth, --record and --replay files.
 * Structs are plain and every module reaches into them directly: one thread, one owner (the
 * struct sim_core of main()).  Exchanges see only sim.h. */
#ifndef SIM_CORE_H
#define SIM_CORE_H

#include <stdarg.h>
#include <stdio.h>

#include <libwebsockets.h>
#include <uv.h>

#include "sim.h"

#define SIM_RX_MAX (64 * 1024) /* largest client message we reassemble */
#define SIM_HTTP_CHUNK (32 * 1024)
#define SIM_MAX_HEADER 32768         /* bytes of request line + headers */
#define SIM_MAX_STREAMS_TOTAL 200000 /* distinct stream keys over the process lifetime */
#define SIM_REPLAY_MAX (256u << 20)
#define SIM_DRAIN_MS 2000
#define SIM_HOUSE_MS 100
#define SIM_FLOOD_BATCH 64 /* frames per WRITEABLE in --flood mode */

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
    int tick; /* candle tick it was rendered for, -1 = none */
    int64_t open;
    long e_off; /* offset of the sentinel digits, -1 = not found */
    long n_off; /* offset of the sentinel trade count, -1 = not found */
};

struct sim_stream {
    char *key; /* exchange stream name */
    char *symbol;
    struct sim_interval iv;
    int live; /* symbol and interval served: candles are generated */
    uint64_t sym_key;
    struct sim_client **subs;
    int nsubs, capsubs;
    int64_t open;             /* open time of the current period, 0 = idle */
    int64_t linger_until;     /* with no subscriber, generated on until then (wall ms) */
    int64_t next_k;           /* next update index in the period */
    struct sim_candle cur;    /* cache for incremental generation */
    struct sim_candle revise; /* --revise-every: a closed candle to correct at the next close */
    int64_t revise_end;       /* its period's end (event time), 0 = none pending */
    struct sim_candle flood;  /* --flood: state of the flood frames */
    struct sim_flood_tpl tpl[SIM_STYLES];
    uint64_t flood_seq; /* --flood: frames sent, patched into the trade count */
};

struct sim_client {
    struct sim_core *core;
    struct lws *wsi;
    struct sim_client *prev, *next;
    uint64_t id;
    int style;
    struct sim_stream **streams;
    int nstreams, capstreams;
    struct sim_frame **q; /* ring of queued frames */
    size_t qhead, qlen, qcap;
    struct sim_frame *held; /* --reorder-every: frame waiting to be sent after the next */
    struct sim_buf rx;      /* message reassembly */
    uint64_t data_queued, data_sent, pongs;
    int64_t rx_window_ms;
    int rx_in_window;
    int64_t next_ping_ms;
    int ping_due;
    int64_t last_rx_ms; /* last message (text or pong) from the client */
    int64_t opened_ms;  /* when the upgrade was accepted (--max-conn-age) */
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
    char *post_path; /* a POST waiting for the rest of its body */
    struct sim_buf post_body;
};

struct sim_core {
    struct sim sim; /* first: exchanges see &core->sim */
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
    FILE *truth; /* --truth: the expected quote of every generated candle */
    char *replay_blob;
    size_t *replay_off, *replay_len, nreplay;
    uint32_t served_mask; /* bit i: sim_interval_at(i) is served */
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

static inline struct sim_core *sim_core_of(struct sim *sim) { return (struct sim_core *)sim; }

/* core.c: allocation that aborts on out of memory, and the ping rule */
void *sim_xmalloc(size_t n);
void *sim_xrealloc(void *p, size_t n);
char *sim_xstrdup(const char *s);
/* sim_buf_printf with a va_list. */
void sim_buf_vprintf(struct sim_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* --ping-interval, or the exchange's own rule. */
int sim_ping_interval(const struct sim *sim);

/* client.c */
/* A frame holding a copy of payload, one reference (the caller's). */
struct sim_frame *sim_frame_new(const char *payload, size_t len, enum sim_frame_kind kind);
void sim_frame_unref(struct sim_frame *f);
/* Asks lws for a WRITEABLE on the client's connection. */
void sim_client_wake(struct sim_client *c);
/* Queues a market-data frame (a new reference), applying the queue-time faults. */
void sim_client_push_data(struct sim_client *c, struct sim_frame *f);
/* A WebSocket connection was accepted: a new client, linked into core->clients. */
struct sim_client *sim_client_new(struct sim_core *core, struct lws *wsi);
/* Its connection closed: drops its subscriptions and queue, unlinks and frees it. */
void sim_client_free(struct sim_client *c);
/* SERVER_WRITEABLE: 0, or -1 to close the connection. */
int sim_client_writeable(struct sim_client *c);
/* RECEIVE: reassembles a message and hands it to the exchange. */
void sim_client_receive(struct sim_client *c, const void *in, size_t len);
/* Copies the request path and the raw query string of a WebSocket upgrade. */
void sim_ws_request(struct lws *wsi, char *path, int plen, char *query, int qlen);

/* stream.c */
void sim_stream_free(struct sim_stream *s);
/* Removes client c from the subscribers of s. */
void sim_stream_drop_sub(struct sim_stream *s, struct sim_client *c);
/* --log-subs: one line per change of who holds which stream. */
void sim_log_sub(const struct sim_client *c, char op, const char *key);
/* --flood: the next frame for this client (one reference), or NULL if it has no live stream. */
struct sim_frame *sim_flood_frame(struct sim_core *core, struct sim_client *c);

/* http.c: the lws HTTP callbacks' work; each returns what the callback returns. */
int sim_http_begin(struct sim_core *core, struct lws *wsi, struct sim_pss *pss, const char *path);
int sim_http_post_done(struct sim_core *core, struct lws *wsi, struct sim_pss *pss);
int sim_http_writeable(struct lws *wsi, struct sim_pss *pss);
void sim_http_free(struct sim_pss *pss);

/* record.c */
/* Opens --record and --truth: 0, 1 (cannot open) or 2 (--truth unsupported), after a message. */
int sim_record_open(struct sim_core *core);
/* Loads the --replay file: 0 or -1 after a message. */
int sim_load_replay(struct sim_core *core, const char *file);
/* --truth: the line for candle state k of stream s, whether it was sent, whether a revision. */
void sim_truth_write(struct sim_core *core, const struct sim_stream *s, const struct sim_candle *k, int sent,
                     int revision);
/* --record: the bare payload (style 0) of one generated event; b is scratch. */
void sim_record_write(struct sim_core *core, const struct sim_stream *s, const struct sim_candle *k, int64_t event_ms,
                      struct sim_buf *b);
/* Closes the files and frees the replay lines. */
void sim_record_close(struct sim_core *core);

#endif

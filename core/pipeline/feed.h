/* feed.h - a set of streams of one exchange market and interval, fed from upstream connections:
 * what `candled stream` runs.
 *
 * A feed resolves the user's symbols through the adapter, packs the streams onto upstream
 * connections (at most the market's max_streams each), subscribes with the adapter's frames once
 * a connection is established, runs every received frame through adapter.parse and the C checks,
 * and hands every checked candle to its stream sequencer (seq.h), which emits closed candles once
 * and in order, holds them behind holes, infers closes for exchanges without a flag, and asks the
 * feed for REST backfills of exactly the missing periods (after a reconnect, a skipped or missing
 * close).  Quotes and gap events go to the sink.  Every rejection is counted and logged
 * rate-limited.  The feed owns its upstreams, Lua sessions and sequencer; the adapter, net, rest,
 * metrics and dedup table are borrowed.
 *
 * Streams can be added and removed while it runs (what `candled serve` does for its clients):
 * a new stream goes on the first connection with room (at most max_streams_per_conn, capped by
 * the market's max_streams) or on a new connection; the subscribe and unsubscribe frames are
 * batched and sent once the connection's send queue is empty, at the exchange's pace; a
 * connection left without streams is closed.  A removed stream is inactive in the sequencer (no
 * backfill) but remembers its last close until its slot is reused, so removing and re-adding a
 * stream never repeats a closed candle.
 *
 * A market with a connection lifetime (max_connection_age, or the option) gets each connection
 * replaced make-before-break before the exchange cuts it (rotate.h): a second upstream with the
 * same streams, swapped in once its subscriptions are acknowledged, the old one closed a moment
 * later; the overlap's candles go through the sequencer, so nothing is lost, repeated or
 * backfilled.  A failed replacement leaves the old connection running and is tried again. */
#ifndef CDL_FEED_H
#define CDL_FEED_H

#include <stdint.h>
#include <uv.h>

#include "candle.h"
#include "lua_host.h"
#include "metrics.h"
#include "net.h"

struct cdl_rest;
struct cdl_dedup;

struct cdl_feed_sink {
    /* One quote; meta and candle are borrowed for the call (meta->stream is the stream's index
     * in the feed, stable for its life).  recv_us: when its frame arrived (monotonic µs), for
     * latency.  Returns 1 if the quote was taken, 0 if the consumer is done.  The consumer
     * counts connector_quotes_processed_total and the latency when it writes the quote. */
    int (*on_quote)(void *user, const struct cdl_quote_meta *meta, const struct cdl_candle *c, uint64_t recv_us);
    /* Optional: the periods opening in [from, to) are lost for good (`missing` of them); reason
     * is "not_found", "timeout" or "hold_overflow".  meta is borrowed for the call. */
    void (*on_gap)(void *user, const struct cdl_quote_meta *meta, int64_t from, int64_t to, int64_t missing,
                   const char *reason);
    void *user;
};

struct cdl_feed_opts {
    struct cdl_adapter *adapter;
    const struct cdl_market *market;
    const char *interval;       /* canonical */
    const char *const *symbols; /* as the user wrote them (borrowed for create; may be none) */
    int n_symbols;
    const char *ws_url;   /* NULL = the market's */
    const char *rest_url; /* NULL = the market's */
    int closed_only;
    int max_streams_per_conn;    /* 0 = the market's max_streams */
    size_t max_message;          /* reassembly cap, 0 = 1 MiB */
    double idle_timeout;         /* seconds, 0 = the market's */
    double max_connection_age;   /* seconds, 0 = the market's (0 there too: never rotated) */
    struct cdl_dedup *dedup;     /* borrowed, may be NULL: tells revisions of older closes */
    struct cdl_circuit *circuit; /* borrowed, may be NULL: the market's breaker for connects */
    /* the sequencer (seq.h); 0 = defaults 2 s, 1 s, 30 s, 2 s, 1024 */
    int64_t grace_ms, reorder_wait_ms, hold_ms, retry_ms;
    int hold_max;
    int no_clock;         /* 1: no sequencer rule from the clock (replays) */
    int confirm_inferred; /* inferred closes wait for REST: -1 as the market says, 0 no, 1 yes */
};

struct cdl_feed;

/* Validates everything (interval supported, symbols accepted by the adapter): on failure returns
 * NULL with CDL_ENOTFOUND/CDL_EINVAL in *rc and a one-line message in err. */
struct cdl_feed *cdl_feed_create(uv_loop_t *loop, struct cdl_net *net, struct cdl_rest *rest,
                                 struct cdl_metrics *metrics, const struct cdl_feed_opts *opts,
                                 const struct cdl_feed_sink *sink, int *rc, char *err, size_t errlen);
int cdl_feed_start(struct cdl_feed *f);
int cdl_feed_n_connections(const struct cdl_feed *f);
/* Backpressure: stops (1) or resumes (0) reading every upstream connection of the feed.  A
 * connection paused past its idle timeout is replaced; what it missed is backfilled. */
void cdl_feed_pause(struct cdl_feed *f, int paused);

/* Adds the stream of `symbol` (as the user wrote it: the sink's meta->symbol); if it is already
 * there, nothing changes (the first spelling stays).  Returns the stream's index (>= 0), or
 * CDL_EINVAL with a one-line message in err when the adapter refuses the symbol. */
int cdl_feed_add(struct cdl_feed *f, const char *symbol, char *err, size_t errlen);
/* Removes the stream of `symbol`: 0, or CDL_ENOTFOUND if it is not there. */
int cdl_feed_remove(struct cdl_feed *f, const char *symbol);

/* Reload.  cdl_feed_check_adapter: can adapter a (a reloaded copy of the feed's) with market m
 * take over?  The interval must still exist, every live stream's symbol must map to the same
 * exchange symbol, and connect_url/subscribe/ping must work on a throwaway session.  0, or
 * CDL_EINVAL with a one-line message.  Changes nothing.
 * cdl_feed_swap_adapter: the feed goes on with a and m (the old adapter must still be alive for
 * the call).  Sessions are migrated (cdl_adapter_session_migrate) and connections stay up, so the
 * next frames are mapped by the new code; a connection is restarted (and what it missed
 * backfilled) only where its parameters changed: URL (ws_url override NULL = the market's),
 * exchange interval name, ping interval, idle timeout or send pace.  Returns the number of
 * connections restarted, or CDL_EINVAL if m lacks the interval. */
int cdl_feed_check_adapter(const struct cdl_feed *f, struct cdl_adapter *a, const struct cdl_market *m, char *err,
                           size_t errlen);
int cdl_feed_swap_adapter(struct cdl_feed *f, struct cdl_adapter *a, const struct cdl_market *m, const char *ws_url,
                          const char *rest_url);

struct cdl_feed_status {
    int streams;              /* live streams */
    int connections;          /* upstream connections (connecting or open) */
    int open_connections;     /* established */
    int consecutive_failures; /* most on one connection since it was last established */
    uint64_t last_frame_ms;   /* wall clock of the last upstream frame, 0 none */
    uint64_t frames;          /* upstream frames received */
    uint64_t errors;          /* rejected frames and candles, connection failures */
};
void cdl_feed_status(const struct cdl_feed *f, struct cdl_feed_status *out);

/* Closes the connections (close frames) and frees; the memory goes on the next loop turn if the
 * feed ever ran its flush timer.  NULL is a no-op. */
void cdl_feed_destroy(struct cdl_feed *f);

struct cdl_config;
/* The feed options that come from the configuration: connections, sequencer, and, when the caller
 * set adapter and market but no URL, config.lua's endpoints for that market.  The caller sets
 * the rest (adapter, market, interval, symbols, URLs given on the command line, dedup). */
void cdl_feed_opts_config(const struct cdl_config *cfg, struct cdl_feed_opts *fo);

#endif

/* feed.h - a set of streams of one exchange market and interval, fed from upstream connections:
 * what `candled stream` runs.
 *
 * A feed resolves the user's symbols through the adapter, packs the streams onto upstream
 * connections (at most the market's max_streams each), subscribes with the adapter's frames once
 * a connection is established, runs every received frame through adapter.parse and the C checks,
 * drops duplicates and stale updates per stream (a closed candle is emitted once per open time;
 * an open update never after its period's close), and hands each quote to the sink.  After a
 * reconnect it asks REST for the closed candles of the outage (when the adapter has REST) so a
 * short disconnect does not lose a close.  Every rejection is counted and logged rate-limited.
 *
 * Streams can be added and removed while it runs (what `candled serve` does for its clients):
 * a new stream goes on the first connection with room (at most max_streams_per_conn, capped by
 * the market's max_streams) or on a new connection; the subscribe and unsubscribe frames are
 * batched and sent once the connection's send queue is empty, at the exchange's pace; a
 * connection left without streams is closed.  A removed stream keeps its dedup state until it is
 * reused, so removing and re-adding a stream never repeats a closed candle.
 * The feed owns its upstreams and Lua sessions; the adapter, net, rest and metrics are borrowed. */
#ifndef CDL_FEED_H
#define CDL_FEED_H

#include <stdint.h>
#include <uv.h>

#include "candle.h"
#include "lua_host.h"
#include "metrics.h"
#include "net.h"

struct cdl_rest;

struct cdl_feed_sink {
    /* One quote; meta and candle are borrowed for the call.  recv_us: when its frame arrived
     * (monotonic µs), for latency.  Returns 1 if the quote was taken, 0 if the consumer is
     * done (it is then not counted). */
    int (*on_quote)(void *user, const struct cdl_quote_meta *meta, const struct cdl_candle *c, uint64_t recv_us);
    void *user;
};

struct cdl_feed_opts {
    struct cdl_adapter *adapter;
    const struct cdl_market *market;
    const char *interval;        /* canonical */
    const char *const *symbols;  /* as the user wrote them (borrowed for create; may be none) */
    int n_symbols;
    const char *ws_url;          /* NULL = the market's */
    const char *rest_url;        /* NULL = the market's */
    int closed_only;
    int max_streams_per_conn;    /* 0 = the market's max_streams */
    size_t max_message;          /* reassembly cap, 0 = 1 MiB */
    double idle_timeout;         /* seconds, 0 = the market's */
};

struct cdl_feed;

/* Validates everything (interval supported, symbols accepted by the adapter): on failure returns
 * NULL with CDL_ENOTFOUND/CDL_EINVAL in *rc and a one-line message in err. */
struct cdl_feed *cdl_feed_create(uv_loop_t *loop, struct cdl_net *net, struct cdl_rest *rest,
                                 struct cdl_metrics *metrics, const struct cdl_feed_opts *opts,
                                 const struct cdl_feed_sink *sink, int *rc, char *err, size_t errlen);
int cdl_feed_start(struct cdl_feed *f);
int cdl_feed_n_connections(const struct cdl_feed *f);

/* Adds the stream of `symbol` (as the user wrote it: the sink's meta->symbol); if it is already
 * there, nothing changes (the first spelling stays).  Returns the stream's index (>= 0), or
 * CDL_EINVAL with a one-line message in err when the adapter refuses the symbol. */
int cdl_feed_add(struct cdl_feed *f, const char *symbol, char *err, size_t errlen);
/* Removes the stream of `symbol`: 0, or CDL_ENOTFOUND if it is not there. */
int cdl_feed_remove(struct cdl_feed *f, const char *symbol);

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

#endif

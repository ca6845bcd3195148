/* hub.h - the shared upstream subscriptions of `candled serve`: one upstream stream per
 * (exchange, market, symbol, interval), however many clients want it.
 *
 * The hub owns one feed (feed.h) per (exchange, market, interval) that anyone asked for, created
 * on first use with no streams.  Each stream is reference counted: pins (the always-on
 * subscriptions of config.lua) plus client subscriptions.  The first reference adds the stream to
 * its feed (a live subscribe upstream); when the last one goes, the stream lingers for
 * `linger_s` seconds (a client that reconnects at once finds it still streaming) and is then
 * removed from the feed (a live unsubscribe; the connection closes when it has no streams left).
 * Every quote of a stream is handed to each of its subscribers with the symbol as that
 * subscriber wrote it.  The lua host, net, rest, metrics and config are borrowed; the hub owns
 * its feeds, streams and subscriptions.  Loop thread only. */
#ifndef CDL_HUB_H
#define CDL_HUB_H

#include <stdint.h>
#include <uv.h>

#include "candle.h"
#include "config.h"
#include "lua_host.h"
#include "metrics.h"
#include "net.h"

struct cdl_rest;
struct cdl_circuits;
struct cdl_hub;
struct cdl_hub_feed; /* one (exchange, market, interval) */
struct cdl_hub_sub;  /* one subscriber of one stream */

struct cdl_hub_opts {
    uv_loop_t *loop;
    struct cdl_net *net;
    struct cdl_rest *rest;
    struct cdl_metrics *metrics;
    struct cdl_circuits *circuits; /* the markets' connect breakers; NULL = none */
    struct cdl_lua_host *host;
    const struct cdl_config *cfg; /* endpoint overrides, per-connection limits, frame cap */
    double linger_s;              /* seconds an unreferenced stream stays subscribed */
};

/* A quote (c) or a gap event (gap: closed candles lost for good, seq.h) for one subscriber;
 * exactly one of them is non-NULL.  meta->symbol is the subscriber's spelling.  Borrowed for the
 * call.  It must not call cdl_hub_unsubscribe (defer that to a later callback). */
typedef void (*cdl_hub_quote_fn)(void *user, const struct cdl_quote_meta *meta, const struct cdl_candle *c,
                                 const struct cdl_gap *gap);

struct cdl_hub *cdl_hub_create(const struct cdl_hub_opts *o);
/* Destroys every feed (their connections close with close frames) and stops the linger timer;
 * the hub stays valid for cdl_hub_destroy.  Subscriptions may still be released afterwards. */
void cdl_hub_stop(struct cdl_hub *h);
/* Frees everything; after cdl_hub_stop and a loop turn.  NULL is a no-op. */
void cdl_hub_destroy(struct cdl_hub *h);

/* Finds or creates the feed of (exchange, market, interval); market NULL or "" = the market the
 * adapter's market_of says the symbols are in (OKX), else the exchange's default.  On failure returns NULL with *code
 * set to the protocol's error code
 * ("unknown_exchange", "unknown_market", "unsupported_interval", "unavailable") and a message. */
struct cdl_hub_feed *cdl_hub_resolve(struct cdl_hub *h, const char *exchange, const char *market,
                                     const char *const *symbols, int n_symbols, const char *interval, const char **code,
                                     char *msg, size_t msglen);
const char *cdl_hub_feed_exchange(const struct cdl_hub_feed *hf);
const char *cdl_hub_feed_market(const struct cdl_hub_feed *hf);   /* canonical name */
const char *cdl_hub_feed_interval(const struct cdl_hub_feed *hf); /* canonical name */

/* The exchange's name of a symbol (what identifies the stream): 0, or CDL_EINVAL and a message. */
int cdl_hub_symbol(struct cdl_hub_feed *hf, const char *text, char out[CDL_SYMBOL_MAX], char *msg, size_t msglen);

/* Subscribes fn(user, ...) to the stream of `symbol` (as written; copied).  NULL with a message
 * if the symbol is refused or the stream cannot start. */
struct cdl_hub_sub *cdl_hub_subscribe(struct cdl_hub_feed *hf, const char *symbol, cdl_hub_quote_fn fn, void *user,
                                      char *msg, size_t msglen);
void cdl_hub_unsubscribe(struct cdl_hub_sub *s);
/* An always-on reference (config.lua): 0, or CDL_EINVAL and a message. */
int cdl_hub_pin(struct cdl_hub_feed *hf, const char *symbol, char *msg, size_t msglen);

/* Drops one always-on reference of the stream named `exch_symbol` (the exchange's name): it
 * lingers if nothing else wants it.  0, or CDL_ENOTFOUND if it has no pin. */
int cdl_hub_unpin(struct cdl_hub_feed *hf, const char *exch_symbol);

/* Reload.  cdl_hub_check_host: can the adapters of host nh (freshly loaded) take over every
 * running feed?  Same markets and intervals, every stream and every client's spelling naming the
 * same exchange symbol, hooks working (cdl_feed_check_adapter).  0 or CDL_EINVAL with a message;
 * changes nothing in the hub (nh loads the adapters it needs).
 * cdl_hub_swap_host: after a successful check, every feed goes on with nh's adapters (endpoint
 * overrides read from the hub's config again) and nh serves the feeds created from now on; the
 * old host must stay alive until this returns.  Returns the connections restarted because their
 * parameters changed. */
int cdl_hub_check_host(struct cdl_hub *h, struct cdl_lua_host *nh, char *msg, size_t msglen);
int cdl_hub_swap_host(struct cdl_hub *h, struct cdl_lua_host *nh);
void cdl_hub_set_linger(struct cdl_hub *h, double seconds);

/* Streams subscribed upstream (lingering ones included). */
int cdl_hub_n_streams(const struct cdl_hub *h);

/* One (exchange, market) for /ready, its feeds of every interval summed. */
struct cdl_hub_status {
    const char *exchange, *contract_type;
    int streams, active_connections, connections, consecutive_failures;
    uint64_t last_message_ms; /* 0 = none yet */
    uint64_t total_quotes, total_errors;
    int healthy; /* no streams, or at least one established connection */
};
/* Fills up to max entries; returns how many. */
int cdl_hub_status(const struct cdl_hub *h, struct cdl_hub_status *out, int max);

#endif

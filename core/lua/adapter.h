/* adapter.h - the adapter API: what the core asks of an exchange adapter and the plain values it
 * gets back (markets, streams, parsed candles, REST requests).  No Lua here: the adapters are
 * loaded by the host (lua_host.h), checked against the contract (adapter_schema.h), and whatever
 * their hooks return is converted into these values at the trust boundary (lua_convert.h).
 *
 * Ownership: a struct cdl_adapter and its markets are owned by the host that loaded it and are
 * borrowed until that host is destroyed; sessions (registry references) live until
 * cdl_adapter_session_free.  Results (struct cdl_parse_result, struct cdl_rest_req) are the
 * caller's. */
#ifndef CDL_ADAPTER_H
#define CDL_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

#include "candle.h"
#include "sizes.h"

/* One market of an adapter, as checked and filled from the market schema (adapter_schema.h). */
struct cdl_market {
    char name[CDL_NAME_MAX];
    char aliases[CDL_ALIASES_MAX][CDL_NAME_MAX];
    int n_aliases;
    char ws_url[CDL_URL_MAX];
    char rest_url[CDL_URL_MAX];
    int max_streams;
    double max_sends_per_sec;
    double ping_interval;      /* seconds, 0 = none */
    double idle_timeout;       /* seconds */
    double max_connection_age; /* seconds the exchange keeps a connection open, 0 = no limit */
    int rest_max_rows;
    /* REST budget of the market's host (docs/adapters.md): weight per minute (0 = none), the
     * burst (0 = a second's worth), and the weight of one request by its limit: the first step
     * whose max_limit >= limit (the last step beyond it); no step = 1 */
    double rest_weight_per_minute;
    double rest_weight_burst;
    int n_rest_weights;
    struct {
        int max_limit;
        double weight;
    } rest_weights[CDL_REST_WEIGHTS_MAX];
    int confirm_inferred; /* 1: closes inferred without a flag wait for the REST row (throttled pushes) */
    int index;            /* position in the adapter's markets, 0 = default */
};

/* One stream as the exchange names it. */
struct cdl_stream_ref {
    const char *symbol;
    const char *interval;
};

enum cdl_parse_event { CDL_EV_NONE = 0, CDL_EV_ACK, CDL_EV_PONG, CDL_EV_ERROR, CDL_EV_RECONNECT };

struct cdl_parsed_candle {
    char symbol[CDL_SYMBOL_MAX];   /* "" if the adapter did not say (REST) */
    char interval[CDL_IVNAME_MAX]; /* exchange interval name, "" if not said */
    struct cdl_candle c;
};

/* WebSocket frames fill fixed[] (at most CDL_PARSE_MAX candles, no allocation on the hot path);
 * a REST page of more rows spills into a scratch array owned by the host (at most the market's
 * rest_max_rows), valid until the next cdl_adapter_rest_parse.  Read the candles through items. */
struct cdl_parse_result {
    int n;                           /* valid candles in items[] */
    struct cdl_parsed_candle *items; /* fixed, or the host's scratch array */
    int cap, limit;                  /* room in items; most candles taken (the rest is refused) */
    struct cdl_parsed_candle fixed[CDL_PARSE_MAX];
    int n_bad;           /* candles refused at the boundary */
    char bad_reason[32]; /* reason of the first refused candle */
    enum cdl_parse_event event;
    int rejected;      /* the adapter rejected the whole frame (nil, reason) */
    char reason[32];   /* rejection reason token */
    char message[256]; /* event message (error/reconnect) */
};

struct cdl_rest_req {
    char url[2 * CDL_URL_MAX];
    char method[8];
    char *body;       /* malloc'd or NULL; free with cdl_rest_req_clear */
    char *headers[9]; /* NULL-terminated, malloc'd */
};
void cdl_rest_req_clear(struct cdl_rest_req *r);

struct cdl_rest_query {
    const char *symbol;   /* exchange symbol */
    const char *interval; /* exchange interval name */
    int64_t start_ms, end_ms;
    int limit;
    const char *base_url;
};

struct cdl_adapter;

const char *cdl_adapter_name(const struct cdl_adapter *a);
int cdl_adapter_n_markets(const struct cdl_adapter *a);
const struct cdl_market *cdl_adapter_market_at(const struct cdl_adapter *a, int i);
/* Market by name or alias; NULL name = the default (first) market.  NULL if unknown. */
const struct cdl_market *cdl_adapter_market(const struct cdl_adapter *a, const char *name);
/* Exchange name of a canonical interval in a market; NULL if the market lacks it. */
const char *cdl_adapter_interval(const struct cdl_adapter *a, const struct cdl_market *m, const char *canonical);
/* Canonical name of an exchange interval name in a market; NULL if unknown. */
const char *cdl_adapter_interval_canonical(const struct cdl_adapter *a, const struct cdl_market *m,
                                           const char *exchange_name);
int cdl_adapter_has_rest(const struct cdl_adapter *a);

/* symbol(market, text) -> out.  CDL_EINVAL with the adapter's reason in err when refused. */
int cdl_adapter_symbol(struct cdl_adapter *a, const struct cdl_market *m, const char *text, char *out, size_t outlen,
                       char *err, size_t errlen);

/* market_of(text) -> the market a symbol belongs to, for exchanges whose symbols say it (OKX
 * instrument ids).  NULL when the adapter has no market_of hook, when the hook returns nil (it
 * cannot tell), raises, or names a market it does not define (the last two counted as contract
 * errors).  cdl_adapter_has_market_of says whether the hook exists. */
int cdl_adapter_has_market_of(struct cdl_adapter *a);
/* The market of a request: `market` (a name or alias) if given, else the one market_of says all
 * of the symbols are in, else the default market.  NULL with a message in err (hint: what the
 * user should give, "--market" or "contract_type") if the market is unknown, a symbol's market
 * cannot be told, or the symbols are in different markets. */
const struct cdl_market *cdl_adapter_pick_market(struct cdl_adapter *a, const char *market, const char *const *symbols,
                                                 int n, const char *hint, char *err, size_t errlen);
const struct cdl_market *cdl_adapter_market_of(struct cdl_adapter *a, const char *text);

/* Sessions: a Lua table per upstream connection.  Returns a reference (> 0) or a negative error. */
int cdl_adapter_session_new(struct cdl_adapter *a, const struct cdl_market *m, const char *ws_url, uint64_t conn_id);
void cdl_adapter_session_free(struct cdl_adapter *a, int session);

/* A session of adapter `to` (a reloaded copy of `from`, possibly in another host) for the same
 * connection: the core's fields are set anew and the adapter's own fields of `session` (plain
 * data: strings, numbers, booleans, tables of them) are copied over, so per-connection state such
 * as a request counter survives a reload.  Returns the new reference or a negative error; the old
 * session is left to the caller. */
int cdl_adapter_session_migrate(struct cdl_adapter *from, int session, struct cdl_adapter *to,
                                const struct cdl_market *m, const char *ws_url, uint64_t conn_id);

int cdl_adapter_connect_url(struct cdl_adapter *a, int session, const struct cdl_stream_ref *streams, int n, char *out,
                            size_t outlen);

/* Frames to send: emit(user, frame, len) is called for each text frame the hook returned. */
typedef void (*cdl_frame_emit)(void *user, const char *frame, size_t len);
int cdl_adapter_subscribe(struct cdl_adapter *a, int session, const struct cdl_stream_ref *streams, int n,
                          int unsubscribe, cdl_frame_emit emit, void *user);
int cdl_adapter_ping(struct cdl_adapter *a, int session, cdl_frame_emit emit, void *user);

/* parse(session, frame) converted into res.  Returns 0 (see res for candles / event / rejection)
 * or a negative error when the hook raised or broke the contract (already counted and logged). */
int cdl_adapter_parse(struct cdl_adapter *a, int session, const char *frame, size_t len, struct cdl_parse_result *res);

/* The order in which res's rows go to the sequencer: by open time (a page comes newest or oldest
 * first), rows with the same open time in their page order, so a page that repeats a period is
 * handled the same way every time.  A malloc'd array of res->n indexes into res->items (free it),
 * or NULL when the rows are in order already. */
int *cdl_parse_result_order(const struct cdl_parse_result *res);

/* 1 if s can name an adapter (and a market): [a-z0-9_]+, shorter than CDL_NAME_MAX. */
int cdl_adapter_name_valid(const char *s);

int cdl_adapter_rest_request(struct cdl_adapter *a, const struct cdl_market *m, const struct cdl_rest_query *q,
                             struct cdl_rest_req *out);
int cdl_adapter_rest_parse(struct cdl_adapter *a, const struct cdl_market *m, const struct cdl_rest_query *q,
                           const char *body, size_t len, struct cdl_parse_result *res);

/* Weight of one REST request for `limit` rows in market m (its rest_weight table). */
double cdl_market_rest_weight(const struct cdl_market *m, int limit);

/* Checks one candle table-converted candle's fields (exposed for tests). */
int cdl_candle_check_time(int64_t open_time);

#endif

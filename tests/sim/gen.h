/* gen.h - the simulator's deterministic candle generator and its period arithmetic.
 *
 * A candle is a pure function of (seed, symbol, interval, open time, tick): nothing here keeps
 * state between calls, so the WebSocket side and the REST side of candled-sim produce the same
 * numbers for the same period without talking to each other.  Prices and volumes are fixed-point
 * integers (units of 10^-dp) rendered as decimal strings with a fixed number of decimals, the way
 * exchanges send them ("0.35270000").
 *
 * Shape of a period: the open is an "anchor" price that depends only on (seed, symbol, time); the
 * final close is the anchor of the next period, so the open of a candle always equals the close
 * of the previous one.  In between, the price walks over sim_gen_ticks() ticks (a Brownian-bridge
 * like path from open to close); the candle after tick j covers ticks 0..j (high/low/volume
 * accumulate), and tick sim_gen_ticks() is the final, closed state.  The caller owns every
 * struct; no allocation happens here. */
#ifndef SIM_GEN_H
#define SIM_GEN_H

#include <stddef.h>
#include <stdint.h>

/* A candle interval: fixed length (ms) or calendar months. */
struct sim_interval {
    const char *name; /* canonical name ("1s", "1m", ..., "1w", "1M"), static storage */
    int64_t ms;       /* period length for fixed intervals; 0 for months */
    int months;       /* 1 for "1M", else 0 */
};

/* Looks up a canonical interval name (1s 10s 1m ... 1w 1M); 0 or -1 if unknown. */
int sim_interval_parse(const char *name, struct sim_interval *out);
/* The same for a name in `names` (an exchange's own set, NULL-terminated) only. */
int sim_interval_parse_listed(const char *name, const char *const *names, struct sim_interval *out);
/* Number of known intervals and the i-th one, shortest first. */
int sim_interval_count(void);
const struct sim_interval *sim_interval_at(int i);
/* Open time of the period containing t (ms since the epoch, UTC).  Weeks open on Monday. */
int64_t sim_interval_floor(const struct sim_interval *iv, int64_t t);
/* Open time of the period after the one opening at `open`. */
int64_t sim_interval_next(const struct sim_interval *iv, int64_t open);
/* Index of the period opening at `open`, counted from the epoch (used by periodic faults). */
int64_t sim_interval_index(const struct sim_interval *iv, int64_t open);

/* Number formats of one market.  `inverse`: the quote volume is the base-asset volume of
 * contracts worth `contract_value` quote units each (Binance COIN-M), else volume * price. */
struct sim_gen_format {
    int price_dp; /* decimals of o/h/l/c */
    int qty_dp;   /* decimals of v and V */
    int quote_dp; /* decimals of q and Q */
    int inverse;
    int contract_value;
};

struct sim_gen {
    uint64_t seed;
    struct sim_gen_format fmt;
};

/* One candle state.  Prices are in units of 10^-price_dp, v/tv in 10^-qty_dp, q/tq in
 * 10^-quote_dp. */
struct sim_candle {
    int64_t open_time, close_time; /* close_time = next open - 1 ms */
    int64_t o, h, l, c;
    int64_t v, q, tv, tq; /* volume, quote volume, taker buy volume, taker buy quote */
    int64_t first_trade, last_trade, trades;
    int tick;   /* ticks applied, 0..sim_gen_ticks() */
    int closed; /* tick == sim_gen_ticks() */
};

/* Per-symbol key mixing the seed and the symbol text; compute once per stream. */
uint64_t sim_gen_symbol_key(const struct sim_gen *g, const char *symbol);
/* Ticks in a period of this length (10..600); tick `ticks` is the closed state. */
int sim_gen_ticks(int64_t period_ms);
/* State of the period opening at `open` after tick 0. */
void sim_gen_start(const struct sim_gen *g, uint64_t key, const struct sim_interval *iv, int64_t open,
                   struct sim_candle *out);
/* Moves `c` forward to `tick` (clamped to the closed state); going backwards restarts. */
void sim_gen_advance(const struct sim_gen *g, uint64_t key, struct sim_candle *c, int tick);
/* sim_gen_start + sim_gen_advance in one call. */
void sim_gen_candle(const struct sim_gen *g, uint64_t key, const struct sim_interval *iv, int64_t open, int tick,
                    struct sim_candle *out);
/* The state of the period opening at `open` as it stands at wall time `now`: the tick it has
 * reached if it is the current period, else its closed state. */
void sim_gen_candle_asof(const struct sim_gen *g, uint64_t key, const struct sim_interval *iv, int64_t open,
                         int64_t now, struct sim_candle *out);
/* The tick an open candle has reached at wall time t (never the closed tick). */
int sim_gen_tick_at(const struct sim_candle *c, int64_t t);

/* Renders v / 10^dp with exactly dp decimals ("0.35270000"; dp 0 gives "3005").  Returns the
 * length written (always < cap for cap >= 32). */
size_t sim_fmt_dec(char *out, size_t cap, int64_t v, int dp);
/* The same without trailing zeros or a bare point ("43370", "0.0077", "0"), as Bybit, OKX and
 * Gate.io print decimals. */
size_t sim_fmt_dec_trim(char *out, size_t cap, int64_t v, int dp);

/* A candle's prices, volume and quote volume as decimal text. */
struct sim_candle_text {
    char o[32], h[32], l[32], c[32], v[32], q[32];
};
/* Renders them in format f, with exactly dp decimals or, with `trim`, as sim_fmt_dec_trim. */
void sim_candle_text(const struct sim_gen_format *f, const struct sim_candle *k, int trim, struct sim_candle_text *t);

#endif

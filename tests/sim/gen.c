/* gen.c - deterministic candles for candled-sim (see gen.h).
 *
 * Everything derives from a 64-bit mix function (splitmix64's finaliser) over the seed, the
 * symbol key, the time and the tick number.  Doubles are used for the shape of the path only;
 * every value is rounded to an integer number of ticks before it is summed or printed, so the
 * decimal text is exact and the same on every call. */
#include "gen.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define SIM_DAY_MS 86400000LL
#define SIM_MONDAY_OFFSET_MS (4 * SIM_DAY_MS) /* 1970-01-05 was the first Monday */

static const struct sim_interval sim_intervals[] = {
    { "1s", 1000LL, 0 },      { "10s", 10000LL, 0 },   { "1m", 60000LL, 0 },        { "3m", 180000LL, 0 },
    { "5m", 300000LL, 0 },    { "15m", 900000LL, 0 },  { "30m", 1800000LL, 0 },     { "1h", 3600000LL, 0 },
    { "2h", 7200000LL, 0 },   { "4h", 14400000LL, 0 }, { "6h", 21600000LL, 0 },     { "8h", 28800000LL, 0 },
    { "12h", 43200000LL, 0 }, { "1d", SIM_DAY_MS, 0 }, { "3d", 3 * SIM_DAY_MS, 0 }, { "1w", 7 * SIM_DAY_MS, 0 },
    { "1M", 0, 1 },
};

static const int64_t sim_pow10[] = {
    1LL,        10LL,        100LL,        1000LL,        10000LL,        100000LL,        1000000LL,
    10000000LL, 100000000LL, 1000000000LL, 10000000000LL, 100000000000LL, 1000000000000LL,
};

int sim_interval_parse_listed(const char *name, const char *const *names, struct sim_interval *out)
{
    for (int i = 0; names[i]; i++)
        if (!strcmp(name, names[i]))
            return sim_interval_parse(name, out);
    return -1;
}

int sim_interval_count(void) { return (int)(sizeof sim_intervals / sizeof sim_intervals[0]); }

const struct sim_interval *sim_interval_at(int i)
{
    return i >= 0 && i < sim_interval_count() ? &sim_intervals[i] : NULL;
}

int sim_interval_parse(const char *name, struct sim_interval *out)
{
    for (int i = 0; i < sim_interval_count(); i++)
        if (!strcmp(name, sim_intervals[i].name)) {
            *out = sim_intervals[i];
            return 0;
        }
    return -1;
}

static int64_t sim_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Civil date <-> days since the epoch (Howard Hinnant's algorithms, proleptic Gregorian). */
static int64_t sim_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = sim_floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void sim_civil_from_days(int64_t z, int64_t *y, int *m)
{
    z += 719468;
    int64_t era = sim_floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

int64_t sim_interval_floor(const struct sim_interval *iv, int64_t t)
{
    if (iv->months) {
        int64_t y;
        int m;
        sim_civil_from_days(sim_floor_div(t, SIM_DAY_MS), &y, &m);
        return sim_days_from_civil(y, m, 1) * SIM_DAY_MS;
    }
    int64_t off = iv->ms == 7 * SIM_DAY_MS ? SIM_MONDAY_OFFSET_MS : 0;
    return sim_floor_div(t - off, iv->ms) * iv->ms + off;
}

int64_t sim_interval_next(const struct sim_interval *iv, int64_t open)
{
    if (iv->months) {
        int64_t y;
        int m;
        sim_civil_from_days(sim_floor_div(open, SIM_DAY_MS), &y, &m);
        if (++m > 12) {
            m = 1;
            y++;
        }
        return sim_days_from_civil(y, m, 1) * SIM_DAY_MS;
    }
    return open + iv->ms;
}

int64_t sim_interval_index(const struct sim_interval *iv, int64_t open)
{
    if (iv->months) {
        int64_t y;
        int m;
        sim_civil_from_days(sim_floor_div(open, SIM_DAY_MS), &y, &m);
        return (y - 1970) * 12 + (m - 1);
    }
    int64_t off = iv->ms == 7 * SIM_DAY_MS ? SIM_MONDAY_OFFSET_MS : 0;
    return sim_floor_div(open - off, iv->ms);
}

/* --- hashing ------------------------------------------------------------------------------- */

static uint64_t sim_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Uniform in [-1, 1). */
static double sim_signed_unit(uint64_t h) { return (double)(h >> 11) * (2.0 / 9007199254740992.0) - 1.0; }

/* Smooth value noise in [-1, 1]: hashed lattice values every `step`, smoothstep between. */
static double sim_value_noise(uint64_t key, uint64_t salt, int64_t t, int64_t step)
{
    int64_t i = sim_floor_div(t, step);
    double f = (double)(t - i * step) / (double)step;
    double a = sim_signed_unit(sim_mix(key ^ salt ^ sim_mix((uint64_t)i)));
    double b = sim_signed_unit(sim_mix(key ^ salt ^ sim_mix((uint64_t)(i + 1))));
    double s = f * f * (3.0 - 2.0 * f);
    return a + (b - a) * s;
}

uint64_t sim_gen_symbol_key(const struct sim_gen *g, const char *symbol)
{
    uint64_t h = sim_mix(g->seed);
    for (const unsigned char *p = (const unsigned char *)symbol; *p; p++)
        h = sim_mix(h ^ *p);
    return h;
}

/* The symbol's price level in quote units: 1..9.99 times a power of ten from 0.1 to 10^4,
 * never so small that price_dp decimals leave fewer than 5 significant digits. */
static double sim_base_price(const struct sim_gen *g, uint64_t key)
{
    uint64_t h = sim_mix(key ^ 0x5eedba5eULL);
    double mant = 1.0 + (double)(h % 900) / 100.0;
    double level = pow(10.0, (double)((h >> 16) % 6) - 1.0);
    double floor_price = pow(10.0, 4 - g->fmt.price_dp);
    double p = mant * level;
    return p < floor_price ? floor_price * mant : p;
}

/* Price (in ticks) at a period boundary: depends only on (seed, symbol, time). */
static int64_t sim_anchor(const struct sim_gen *g, uint64_t key, int64_t t)
{
    double n = 0.010 * sim_value_noise(key, 0xa1, t, 60000LL) + 0.025 * sim_value_noise(key, 0xa2, t, 900000LL) +
               0.050 * sim_value_noise(key, 0xa3, t, 4 * 3600000LL) +
               0.100 * sim_value_noise(key, 0xa4, t, 3 * SIM_DAY_MS) +
               0.0005 * sim_signed_unit(sim_mix(key ^ 0xa5 ^ sim_mix((uint64_t)t)));
    double p = sim_base_price(g, key) * exp(n) * (double)sim_pow10[g->fmt.price_dp];
    int64_t ticks = llround(p);
    return ticks < 1 ? 1 : ticks;
}

int sim_gen_ticks(int64_t period_ms)
{
    int64_t n = period_ms / 100;
    return n < 10 ? 10 : n > 600 ? 600 : (int)n;
}

static int64_t sim_period_ms(const struct sim_candle *c) { return c->close_time + 1 - c->open_time; }

/* Price after tick j (1 <= j < ticks): drift from open to close plus a wiggle that vanishes
 * at both ends. */
static int64_t sim_tick_price(uint64_t key, const struct sim_candle *c, int64_t close_px, int j, int ticks)
{
    double frac = (double)j / ticks;
    double drift = (double)c->o + (double)(close_px - c->o) * frac;
    uint64_t salt = sim_mix((uint64_t)c->open_time);
    int64_t step = ticks / 8 > 0 ? ticks / 8 : 1;
    double wiggle = 0.7 * sim_value_noise(key, salt, j, step) +
                    0.3 * sim_signed_unit(sim_mix(key ^ salt ^ (uint64_t)j * 0x9e37ULL));
    double amp = (double)c->o * 0.003 * sin(M_PI * frac);
    int64_t p = llround(drift + amp * wiggle);
    return p < 1 ? 1 : p;
}

/* Adds the trades and volume of one tick at price px. */
static void sim_tick_volume(const struct sim_gen *g, uint64_t key, struct sim_candle *c, int j, int64_t px)
{
    const struct sim_gen_format *f = &g->fmt;
    uint64_t h = sim_mix(key ^ sim_mix((uint64_t)c->open_time ^ 0x7700) ^ (uint64_t)j);
    double price = (double)px / (double)sim_pow10[f->price_dp];
    int64_t v, q;
    if (f->inverse) {
        v = (int64_t)(1 + h % 50) * sim_pow10[f->qty_dp];
        q = llround((double)v / (double)sim_pow10[f->qty_dp] * f->contract_value / price *
                    (double)sim_pow10[f->quote_dp]);
    } else {
        double notional = 10.0 + (double)(h % 2000000) / 100.0;
        v = llround(notional / price * (double)sim_pow10[f->qty_dp]);
        if (v < 1)
            v = 1;
        q = llround((double)v / (double)sim_pow10[f->qty_dp] * price * (double)sim_pow10[f->quote_dp]);
    }
    double taker = (double)((h >> 20) % 101) / 100.0;
    c->trades += 1 + (int64_t)((h >> 8) % 4);
    c->v += v;
    c->q += q;
    c->tv += llround((double)v * taker);
    c->tq += llround((double)q * taker);
}

void sim_gen_start(const struct sim_gen *g, uint64_t key, const struct sim_interval *iv, int64_t open,
                   struct sim_candle *out)
{
    memset(out, 0, sizeof *out);
    out->open_time = open;
    out->close_time = sim_interval_next(iv, open) - 1;
    out->o = out->h = out->l = out->c = sim_anchor(g, key, open);
    out->first_trade = open;
    sim_tick_volume(g, key, out, 0, out->o);
    out->last_trade = out->first_trade + out->trades - 1;
}

void sim_gen_advance(const struct sim_gen *g, uint64_t key, struct sim_candle *c, int tick)
{
    int ticks = sim_gen_ticks(sim_period_ms(c));
    if (tick > ticks)
        tick = ticks;
    if (tick < c->tick) {
        struct sim_interval fixed = { "", sim_period_ms(c), 0 };
        int64_t open = c->open_time, close_time = c->close_time;
        sim_gen_start(g, key, &fixed, open, c);
        c->close_time = close_time;
    }
    if (tick == c->tick)
        return;
    int64_t close_px = sim_anchor(g, key, c->close_time + 1);
    for (int j = c->tick + 1; j <= tick; j++) {
        int64_t px = j == ticks ? close_px : sim_tick_price(key, c, close_px, j, ticks);
        if (px > c->h)
            c->h = px;
        if (px < c->l)
            c->l = px;
        c->c = px;
        sim_tick_volume(g, key, c, j, px);
    }
    c->tick = tick;
    c->closed = tick == ticks;
    c->last_trade = c->first_trade + c->trades - 1;
}

void sim_gen_candle(const struct sim_gen *g, uint64_t key, const struct sim_interval *iv, int64_t open, int tick,
                    struct sim_candle *out)
{
    sim_gen_start(g, key, iv, open, out);
    sim_gen_advance(g, key, out, tick);
}

void sim_gen_candle_asof(const struct sim_gen *g, uint64_t key, const struct sim_interval *iv, int64_t open,
                         int64_t now, struct sim_candle *out)
{
    sim_gen_start(g, key, iv, open, out);
    int current = open == sim_interval_floor(iv, now);
    sim_gen_advance(g, key, out, current ? sim_gen_tick_at(out, now) : 1 << 30);
}

int sim_gen_tick_at(const struct sim_candle *c, int64_t t)
{
    int64_t len = sim_period_ms(c);
    int ticks = sim_gen_ticks(len);
    if (t <= c->open_time)
        return 0;
    int64_t j = (t - c->open_time) * ticks / len;
    return j >= ticks ? ticks - 1 : (int)j;
}

size_t sim_fmt_dec(char *out, size_t cap, int64_t v, int dp)
{
    int neg = v < 0;
    uint64_t u = neg ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    if (dp <= 0)
        return (size_t)snprintf(out, cap, "%s%llu", neg ? "-" : "", (unsigned long long)u);
    uint64_t scale = (uint64_t)sim_pow10[dp];
    return (size_t)snprintf(out, cap, "%s%llu.%0*llu", neg ? "-" : "", (unsigned long long)(u / scale), dp,
                            (unsigned long long)(u % scale));
}

void sim_candle_text(const struct sim_gen_format *f, const struct sim_candle *k, int trim, struct sim_candle_text *t)
{
    size_t (*dec)(char *, size_t, int64_t, int) = trim ? sim_fmt_dec_trim : sim_fmt_dec;
    dec(t->o, sizeof t->o, k->o, f->price_dp);
    dec(t->h, sizeof t->h, k->h, f->price_dp);
    dec(t->l, sizeof t->l, k->l, f->price_dp);
    dec(t->c, sizeof t->c, k->c, f->price_dp);
    dec(t->v, sizeof t->v, k->v, f->qty_dp);
    dec(t->q, sizeof t->q, k->q, f->quote_dp);
}

size_t sim_fmt_dec_trim(char *out, size_t cap, int64_t v, int dp)
{
    size_t n = sim_fmt_dec(out, cap, v, dp);
    if (!strchr(out, '.'))
        return n;
    while (n > 0 && out[n - 1] == '0')
        out[--n] = '\0';
    if (n > 0 && out[n - 1] == '.')
        out[--n] = '\0';
    return n;
}

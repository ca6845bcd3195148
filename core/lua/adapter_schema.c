/* adapter_schema.c - see adapter_schema.h.
 *
 * Stack-layout comments use [a, b, c] with the top on the right. */
#include "adapter_schema.h"

#include <lauxlib.h>
#include <string.h>

#include "candle.h"
#include "clock.h"
#include "err.h"
#include "interval.h"
#include "log.h"

#define OFF(f) offsetof(struct cdl_market, f)
#define SZ(f) sizeof(((struct cdl_market *)0)->f)
#define WEIGHT_MAX 1e6 /* the heaviest request a rest_weight may declare */

const struct cdl_market_field cdl_market_schema[] = {
    { .field = "name",
      .type = CDL_FT_NAME,
      .required = 1,
      .offset = OFF(name),
      .size = SZ(name),
      .help = "The market's name, a lower-case identifier; the first market is the exchange's default." },
    { .field = "ws_url",
      .type = CDL_FT_URL,
      .required = 1,
      .schemes = { "ws://", "wss://" },
      .expect = "a ws:// or wss:// URL string",
      .offset = OFF(ws_url),
      .size = SZ(ws_url),
      .help = "Default WebSocket endpoint (`exchanges.<exchange>.<market>.ws_url` in `config.lua` or `--ws-url` "
              "replace it)." },
    { .field = "rest_url",
      .type = CDL_FT_URL,
      .schemes = { "http://", "https://" },
      .expect = "an http(s):// URL string",
      .offset = OFF(rest_url),
      .size = SZ(rest_url),
      .help = "REST base for backfill; without it (or without the `rest` hooks) nothing is backfilled." },
    { .field = "max_streams",
      .type = CDL_FT_INT,
      .min = 1,
      .max = 100000,
      .dflt = 200,
      .offset = OFF(max_streams),
      .help = "Streams on one connection." },
    { .field = "max_sends_per_sec",
      .type = CDL_FT_NUM,
      .min = 0.1,
      .max = 1000,
      .dflt = 5,
      .offset = OFF(max_sends_per_sec),
      .help = "Control frames the core may send per second per connection (subscribe, unsubscribe, ping)." },
    { .field = "ping_interval",
      .type = CDL_FT_NUM,
      .min = 0,
      .max = 3600,
      .dflt = 0,
      .offset = OFF(ping_interval),
      .help = "Seconds between calls of `ping()`; 0 = no application ping." },
    { .field = "idle_timeout",
      .type = CDL_FT_NUM,
      .min = 1,
      .max = 86400,
      .dflt = 60,
      .offset = OFF(idle_timeout),
      .help = "Seconds without any frame before the core reconnects." },
    { .field = "max_connection_age",
      .type = CDL_FT_NUM,
      .min = 0,
      .max = 604800,
      .dflt = 0,
      .offset = OFF(max_connection_age),
      .help = "Seconds the exchange keeps a connection open (7 days at most); 0 = no limit. See below." },
    { .field = "rest_max_rows",
      .type = CDL_FT_INT,
      .min = 1,
      .max = CDL_REST_ROWS_MAX,
      .dflt = 500,
      .offset = OFF(rest_max_rows),
      .help = "Rows one REST page may hold: the exchange's maximum." },
    { .field = "rest_weight_per_minute",
      .type = CDL_FT_NUM,
      .min = 0,
      .max = 1e7,
      .dflt = 0,
      .offset = OFF(rest_weight_per_minute),
      .help = "REST weight the exchange allows per minute per IP on `rest_url`'s host; 0 = no budget (REST budgets)." },
    { .field = "rest_weight_burst",
      .type = CDL_FT_NUM,
      .min = 0,
      .max = 1e7,
      .dflt = 0,
      .offset = OFF(rest_weight_burst),
      .help = "Most weight spent at once; 0 = a second's worth of the budget." },
    { .field = "rest_weight",
      .type = CDL_FT_WEIGHTS,
      .max = WEIGHT_MAX,
      .help = "Weight of one request: a number > 0, or at most 16 `{max_limit, weight}` steps with `max_limit` "
              "integers growing in [1, 10000] (REST budgets); absent = 1." },
    { .field = "confirm_inferred",
      .type = CDL_FT_BOOL,
      .dflt = 0,
      .offset = OFF(confirm_inferred),
      .help = "No closed flag and throttled pushes: inferred closes wait for the REST row. See below." },
    { .field = "aliases",
      .type = CDL_FT_ALIASES,
      .max = CDL_ALIASES_MAX,
      .help = "Other names of the market: at most 4 lower-case identifiers, each unique among the adapter's "
              "market names and aliases." },
    { .field = "intervals",
      .type = CDL_FT_INTERVALS,
      .help = "Canonical interval -> the exchange's name (non-empty, at most 15 characters); absent = the "
              "adapter's own `intervals`. Every key must be canonical." },
};
const int cdl_market_schema_count = (int)(sizeof cdl_market_schema / sizeof cdl_market_schema[0]);

const struct cdl_hook_def cdl_hook_schema[] = {
    { .name = "subscribe", .required = 1, .help = "frames that add streams" },
    { .name = "parse", .required = 1, .help = "a frame into candles, an event or a rejection" },
    { .name = "symbol", .help = "the user's symbol text into the exchange's" },
    { .name = "market_of", .help = "the market a symbol names" },
    { .name = "connect_url", .help = "the URL of a connection for its streams" },
    { .name = "unsubscribe", .help = "frames that remove streams" },
    { .name = "ping", .help = "an application ping frame" },
};
const int cdl_hook_schema_count = (int)(sizeof cdl_hook_schema / sizeof cdl_hook_schema[0]);

static const char *const rest_hooks[] = { "request", "parse", NULL };

int cdl_adapter_name_valid(const char *s)
{
    if (!*s || strlen(s) >= CDL_NAME_MAX)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

double cdl_market_rest_weight(const struct cdl_market *m, int limit)
{
    if (!m->n_rest_weights)
        return 1;
    for (int i = 0; i < m->n_rest_weights; i++)
        if (limit <= m->rest_weights[i].max_limit)
            return m->rest_weights[i].weight;
    return m->rest_weights[m->n_rest_weights - 1].weight;
}

/* ---- checks in C -------------------------------------------------------------------------------- */

/* rest_weight at the top of the stack: absent, a number in (0, WEIGHT_MAX], or an array of at
 * most CDL_REST_WEIGHTS_MAX {max_limit, weight} pairs with growing max_limit.  0 or -1. */
static int read_weights(lua_State *L, struct cdl_market *m)
{
    int ty = lua_type(L, -1), rc = 0;
    m->n_rest_weights = 0;
    if (ty == LUA_TNUMBER) {
        double w = lua_tonumber(L, -1);
        if (!(w > 0 && w <= WEIGHT_MAX))
            rc = -1;
        m->rest_weights[0].max_limit = CDL_REST_ROWS_MAX;
        m->rest_weights[0].weight = w;
        m->n_rest_weights = 1;
    } else if (ty == LUA_TTABLE) {
        int n = (int)lua_rawlen(L, -1);
        if (n < 1 || n > CDL_REST_WEIGHTS_MAX)
            rc = -1;
        for (int i = 0; i < n && !rc; i++) {
            int ok = lua_rawgeti(L, -1, i + 1) == LUA_TTABLE && lua_rawlen(L, -1) == 2;
            if (ok) {
                ok = lua_rawgeti(L, -1, 1) == LUA_TNUMBER && lua_isinteger(L, -1);
                ok &= lua_rawgeti(L, -2, 2) == LUA_TNUMBER;
                lua_Integer lim = lua_tointeger(L, -2);
                double w = lua_tonumber(L, -1);
                ok &= lim >= 1 && lim <= CDL_REST_ROWS_MAX && w > 0 && w <= WEIGHT_MAX &&
                      (i == 0 || lim > m->rest_weights[i - 1].max_limit);
                m->rest_weights[i].max_limit = (int)lim;
                m->rest_weights[i].weight = w;
                lua_pop(L, 2);
            }
            lua_pop(L, 1);
            if (!ok)
                rc = -1;
        }
        m->n_rest_weights = rc ? 0 : n;
    } else if (ty != LUA_TNIL) {
        rc = -1;
    }
    return rc;
}

/* aliases at the top of the stack: absent, or an array of at most max names.  0, -1, or -2 for
 * too many. */
static int read_aliases(lua_State *L, const struct cdl_market_field *f, struct cdl_market *m)
{
    m->n_aliases = 0;
    if (lua_isnil(L, -1))
        return 0;
    if (!lua_istable(L, -1))
        return -1;
    int n = (int)lua_rawlen(L, -1);
    if (n > (int)f->max)
        return -2;
    for (int k = 0; k < n; k++) {
        int ok = lua_rawgeti(L, -1, k + 1) == LUA_TSTRING && cdl_adapter_name_valid(lua_tostring(L, -1));
        if (ok)
            memcpy(m->aliases[m->n_aliases++], lua_tostring(L, -1), lua_rawlen(L, -1) + 1);
        lua_pop(L, 1);
        if (!ok)
            return -1;
    }
    return 0;
}

static int has_scheme(const struct cdl_market_field *f, const char *s)
{
    for (int i = 0; f->schemes[i]; i++)
        if (!strncmp(s, f->schemes[i], strlen(f->schemes[i])))
            return 1;
    return 0;
}

/* Field f of the market, at the top of the stack, into m.  0 or -1 (-2: too many aliases). */
static int read_field(lua_State *L, const struct cdl_market_field *f, struct cdl_market *m)
{
    char *p = (char *)m + f->offset;
    int ty = lua_type(L, -1);
    if (ty == LUA_TNIL && f->required)
        return -1;
    switch (f->type) {
    case CDL_FT_NAME:
    case CDL_FT_URL:
        if (ty == LUA_TNIL)
            return 0;
        if (ty != LUA_TSTRING || lua_rawlen(L, -1) >= f->size)
            return -1;
        memcpy(p, lua_tostring(L, -1), lua_rawlen(L, -1) + 1);
        return f->type == CDL_FT_NAME ? (cdl_adapter_name_valid(p) ? 0 : -1) : (has_scheme(f, p) ? 0 : -1);
    case CDL_FT_INT:
    case CDL_FT_NUM: {
        double v = f->dflt;
        if (ty != LUA_TNIL) {
            v = ty == LUA_TNUMBER ? lua_tonumber(L, -1) : 0;
            if (ty != LUA_TNUMBER || !(v >= f->min && v <= f->max)) /* NaN (0/0) fails both */
                return -1;
        }
        if (f->type == CDL_FT_INT)
            *(int *)p = (int)v;
        else
            *(double *)p = v;
        return 0;
    }
    case CDL_FT_BOOL:
        if (ty != LUA_TNIL && ty != LUA_TBOOLEAN)
            return -1;
        *(int *)p = ty == LUA_TNIL ? (int)f->dflt : lua_toboolean(L, -1);
        return 0;
    case CDL_FT_WEIGHTS: return read_weights(L, m);
    case CDL_FT_ALIASES: return read_aliases(L, f, m);
    case CDL_FT_INTERVALS: return 0; /* the host reads the map (it needs the adapter's own as the fallback) */
    }
    return -1;
}

int cdl_schema_check_market(lua_State *L, int mt, struct cdl_market *m, const char *where, char *err, size_t errlen)
{
    for (int i = 0; i < cdl_market_schema_count; i++) {
        const struct cdl_market_field *f = &cdl_market_schema[i];
        lua_getfield(L, mt, f->field);
        int rc = read_field(L, f, m);
        lua_pop(L, 1);
        if (rc == -2) {
            snprintf(err, errlen, "%s.%s: at most %d", where, f->field, (int)f->max);
            return CDL_EINVAL;
        }
        if (rc) {
            snprintf(err, errlen, "%s.%s is missing or invalid", where, f->field);
            return CDL_EINVAL;
        }
    }
    return 0;
}

int cdl_schema_check_hooks(lua_State *L, int t, const char *name, int *has_rest, char *err, size_t errlen)
{
    for (int i = 0; i < cdl_hook_schema_count; i++) {
        const struct cdl_hook_def *hk = &cdl_hook_schema[i];
        int ty = lua_getfield(L, t, hk->name);
        lua_pop(L, 1);
        if (ty != LUA_TFUNCTION && (hk->required || ty != LUA_TNIL)) {
            snprintf(err, errlen, "adapter '%s': %s must be a function", name, hk->name);
            return CDL_EINVAL;
        }
    }
    *has_rest = 0;
    int ty = lua_getfield(L, t, "rest"); /* [rest] */
    if (ty == LUA_TTABLE) {
        int ok = 1;
        for (int i = 0; rest_hooks[i]; i++) {
            ok &= lua_getfield(L, -1, rest_hooks[i]) == LUA_TFUNCTION;
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        if (!ok) {
            snprintf(err, errlen, "adapter '%s': rest.request and rest.parse must be functions", name);
            return CDL_EINVAL;
        }
        *has_rest = 1;
        return 0;
    }
    lua_pop(L, 1);
    if (ty != LUA_TNIL) {
        snprintf(err, errlen, "adapter '%s': rest must be a table", name);
        return CDL_EINVAL;
    }
    return 0;
}

/* ---- the candled.contract module ---------------------------------------------------------------- */

static const char *const type_names[] = {
    [CDL_FT_NAME] = "name",       [CDL_FT_URL] = "url",
    [CDL_FT_INT] = "integer",     [CDL_FT_NUM] = "number",
    [CDL_FT_BOOL] = "boolean",    [CDL_FT_WEIGHTS] = "weights",
    [CDL_FT_ALIASES] = "aliases", [CDL_FT_INTERVALS] = "intervals",
};

/* An integral double as a Lua integer (so that messages print 10000000, not 1e+07). */
static void push_num(lua_State *L, double v)
{
    lua_Integer i;
    if (lua_numbertointeger(v, &i) && (double)i == v)
        lua_pushinteger(L, i);
    else
        lua_pushnumber(L, v);
}

static void set_num(lua_State *L, const char *k, double v)
{
    push_num(L, v);
    lua_setfield(L, -2, k);
}

static void set_str(lua_State *L, const char *k, const char *v)
{
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

static int ro_newindex(lua_State *L) { return luaL_error(L, "candled.contract is read-only"); }

static int ro_len(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, lua_upvalueindex(1)));
    return 1;
}

/* next over the frozen table: (view, key) -> the table's next key and value. */
static int ro_next(lua_State *L)
{
    lua_settop(L, 2);
    if (lua_next(L, lua_upvalueindex(1)) == 0) {
        lua_pushnil(L);
        return 1;
    }
    return 2;
}

static int ro_pairs(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushcclosure(L, ro_next, 1);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

/* [t] -> [view]: a read-only view of t (reads, pairs, ipairs and # see t; writes raise). */
static void freeze(lua_State *L)
{
    lua_newtable(L);          /* [t, view] */
    lua_createtable(L, 0, 5); /* [t, view, mt] */
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, ro_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushvalue(L, -3);
    lua_pushcclosure(L, ro_len, 1);
    lua_setfield(L, -2, "__len");
    lua_pushvalue(L, -3);
    lua_pushcclosure(L, ro_pairs, 1);
    lua_setfield(L, -2, "__pairs");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2); /* [t, view] */
    lua_remove(L, -2);       /* [view] */
}

static int l_is_decimal(lua_State *L)
{
    size_t len;
    const char *s = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &len) : NULL;
    lua_pushboolean(L, s && cdl_decimal_valid(s, len));
    return 1;
}

static int l_is_name(lua_State *L)
{
    size_t len;
    const char *s = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &len) : NULL;
    lua_pushboolean(L, s && strlen(s) == len && cdl_adapter_name_valid(s));
    return 1;
}

static int l_now_ms(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)cdl_clock_now_ms());
    return 1;
}

static void push_market_rows(lua_State *L)
{
    lua_createtable(L, cdl_market_schema_count, 0);
    for (int i = 0; i < cdl_market_schema_count; i++) {
        const struct cdl_market_field *f = &cdl_market_schema[i];
        lua_createtable(L, 0, 9);
        set_str(L, "field", f->field);
        set_str(L, "type", type_names[f->type]);
        lua_pushboolean(L, f->required);
        lua_setfield(L, -2, "required");
        if (f->type == CDL_FT_INT || f->type == CDL_FT_NUM) {
            char expect[96];
            snprintf(expect, sizeof expect, "a number in [%.15g, %.15g]", f->min, f->max);
            set_num(L, "min", f->min);
            set_num(L, "max", f->max);
            set_num(L, "default", f->dflt);
            set_str(L, "expect", expect);
        } else if (f->type == CDL_FT_BOOL) {
            lua_pushboolean(L, f->dflt != 0);
            lua_setfield(L, -2, "default");
            set_str(L, "expect", "a boolean");
        } else if (f->type == CDL_FT_WEIGHTS || f->type == CDL_FT_ALIASES) {
            set_num(L, "max", f->max);
        } else if (f->type == CDL_FT_NAME) {
            set_str(L, "expect", "a lower-case identifier");
        }
        if (f->type == CDL_FT_URL) {
            lua_newtable(L);
            for (int k = 0; f->schemes[k]; k++) {
                lua_pushstring(L, f->schemes[k]);
                lua_rawseti(L, -2, k + 1);
            }
            freeze(L);
            lua_setfield(L, -2, "schemes");
            set_str(L, "expect", f->expect);
        }
        set_str(L, "help", f->help);
        freeze(L);
        lua_rawseti(L, -2, i + 1);
    }
    freeze(L);
}

static void push_hook_rows(lua_State *L)
{
    lua_createtable(L, cdl_hook_schema_count, 0);
    for (int i = 0; i < cdl_hook_schema_count; i++) {
        lua_createtable(L, 0, 2);
        set_str(L, "name", cdl_hook_schema[i].name);
        lua_pushboolean(L, cdl_hook_schema[i].required);
        lua_setfield(L, -2, "required");
        freeze(L);
        lua_rawseti(L, -2, i + 1);
    }
    freeze(L);
}

static void push_intervals(lua_State *L)
{
    lua_createtable(L, cdl_interval_count(), 0);
    for (int i = 0; i < cdl_interval_count(); i++) {
        const struct cdl_interval *iv = cdl_interval_at(i);
        lua_createtable(L, 0, 3);
        set_str(L, "name", iv->name);
        lua_pushinteger(L, (lua_Integer)iv->ms);
        lua_setfield(L, -2, "ms");
        lua_pushinteger(L, iv->months);
        lua_setfield(L, -2, "months");
        freeze(L);
        lua_rawseti(L, -2, i + 1);
    }
    freeze(L);
}

int luaopen_candled_contract(lua_State *L)
{
    lua_createtable(L, 0, 9);
    push_market_rows(L);
    lua_setfield(L, -2, "market");
    push_hook_rows(L);
    lua_setfield(L, -2, "hooks");
    lua_newtable(L);
    for (int i = 0; rest_hooks[i]; i++) {
        lua_pushstring(L, rest_hooks[i]);
        lua_rawseti(L, -2, i + 1);
    }
    freeze(L);
    lua_setfield(L, -2, "rest_hooks");
    push_intervals(L);
    lua_setfield(L, -2, "intervals");
    lua_createtable(L, 0, 8);
    set_num(L, "markets", CDL_MARKETS_MAX);
    set_num(L, "aliases", CDL_ALIASES_MAX);
    set_num(L, "name_len", CDL_NAME_MAX - 1);
    set_num(L, "interval_name_len", CDL_IVNAME_MAX - 1);
    set_num(L, "url_len", CDL_URL_MAX - 1);
    set_num(L, "rest_rows", CDL_REST_ROWS_MAX);
    set_num(L, "rest_weights", CDL_REST_WEIGHTS_MAX);
    set_num(L, "rest_weight", WEIGHT_MAX);
    set_num(L, "decimal_len", CDL_DEC_MAX - 1);
    freeze(L);
    lua_setfield(L, -2, "limits");
    lua_pushcfunction(L, l_is_decimal);
    lua_setfield(L, -2, "is_decimal");
    lua_pushcfunction(L, l_is_name);
    lua_setfield(L, -2, "is_name");
    lua_pushcfunction(L, l_now_ms);
    lua_setfield(L, -2, "now_ms");
    freeze(L);
    return 1;
}

/* ---- docs/adapters.md ---------------------------------------------------------------------------- */

const char *const cdl_schema_blocks[] = { "market-fields", "intervals", NULL };

static void field_range(const struct cdl_market_field *f, char *out, size_t len)
{
    switch (f->type) {
    case CDL_FT_INT:
    case CDL_FT_NUM: snprintf(out, len, "%.15g .. %.15g", f->min, f->max); break;
    case CDL_FT_URL:
        snprintf(out, len, "`%s`%s%s%s", f->schemes[0], f->schemes[1] ? " or `" : "",
                 f->schemes[1] ? f->schemes[1] : "", f->schemes[1] ? "`" : "");
        break;
    case CDL_FT_NAME: snprintf(out, len, "`[a-z0-9_]+`, at most %d characters", CDL_NAME_MAX - 1); break;
    case CDL_FT_ALIASES: snprintf(out, len, "at most %d names", (int)f->max); break;
    case CDL_FT_WEIGHTS: snprintf(out, len, "weights in (0, %.15g]", f->max); break;
    case CDL_FT_BOOL: snprintf(out, len, "`true` or `false`"); break;
    case CDL_FT_INTERVALS: snprintf(out, len, "keys: canonical intervals"); break;
    }
}

static void field_default(const struct cdl_market_field *f, char *out, size_t len)
{
    if (f->required)
        snprintf(out, len, "required");
    else if (f->type == CDL_FT_INT || f->type == CDL_FT_NUM)
        snprintf(out, len, "%.15g", f->dflt);
    else if (f->type == CDL_FT_BOOL)
        snprintf(out, len, "%s", f->dflt ? "true" : "false");
    else
        snprintf(out, len, "none");
}

int cdl_schema_reference(FILE *out, const char *block)
{
    if (!strcmp(block, "market-fields")) {
        fputs("| field | type | range | default | meaning |\n|---|---|---|---|---|\n", out);
        for (int i = 0; i < cdl_market_schema_count; i++) {
            const struct cdl_market_field *f = &cdl_market_schema[i];
            char range[96], dflt[32];
            field_range(f, range, sizeof range);
            field_default(f, dflt, sizeof dflt);
            fprintf(out, "| `%s` | %s | %s | %s | %s |\n", f->field, type_names[f->type], range, dflt, f->help);
        }
        return 0;
    }
    if (!strcmp(block, "intervals")) {
        fputc('`', out);
        for (int i = 0; i < cdl_interval_count(); i++)
            fprintf(out, "%s%s", i ? " " : "", cdl_interval_at(i)->name);
        fputs("`\n", out);
        return 0;
    }
    return -1;
}

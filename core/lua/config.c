/* config.c - see config.h. */
#include "config.h"

#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "datadir.h"
#include "err.h"
#include "lua_host.h"
#include "lua_sandbox.h"
#include "xalloc.h"

enum ktype { K_INT, K_NUM, K_BOOL, K_STR };

struct key {
    const char *section; /* top-level table */
    const char *name;
    enum ktype type;
    const char *dflt; /* as text */
    double min, max;  /* numbers; for strings the max length */
    size_t offset;
    size_t size; /* strings: buffer size */
    const char *env;
    const char *help;
};

#define OFF(f) offsetof(struct cdl_config, f)
#define SZ(f) sizeof(((struct cdl_config *)0)->f)

static const struct key schema[] = {
    {
        .section = "server",
        .name = "host",
        .type = K_STR,
        .dflt = "127.0.0.1",
        .max = 63,
        .offset = OFF(server_host),
        .size = SZ(server_host),
        .help = "Address the WebSocket server and the admin HTTP port listen on (0.0.0.0 in containers).",
    },
    {
        .section = "server",
        .name = "port",
        .type = K_INT,
        .dflt = "8765",
        .max = 65535,
        .offset = OFF(server_port),
        .env = "CONNECTOR_WSS_PORT",
        .help = "WebSocket server port (0 = a free port, reported in the log and by --port-file).",
    },
    {
        .section = "server",
        .name = "health_port",
        .type = K_INT,
        .dflt = "8766",
        .max = 65535,
        .offset = OFF(health_port),
        .env = "CONNECTOR_WSS_HEALTH_CHECK_PORT",
        .help = "Admin HTTP port: /health /ready /metrics (0 = a free port, reported like the WebSocket port).",
    },
    {
        .section = "server",
        .name = "health_enabled",
        .type = K_BOOL,
        .dflt = "true",
        .offset = OFF(health_enabled),
        .env = "CONNECTOR_WSS_HEALTH_CHECK_ENABLED",
        .help = "Serve the admin HTTP port.",
    },
    {
        .section = "server",
        .name = "max_clients",
        .type = K_INT,
        .dflt = "10000",
        .min = 1,
        .max = 1000000,
        .offset = OFF(max_clients),
        .help = "WebSocket clients at most; further connections are refused at the handshake.",
    },
    {
        .section = "server",
        .name = "client_queue_max",
        .type = K_INT,
        .dflt = "1000",
        .min = 1,
        .max = 1000000,
        .offset = OFF(client_queue_max),
        .help =
            "Closed candles queued for one client; past it the client is closed with 1008 (open candles are latest-wins).",
    },
    {
        .section = "server",
        .name = "client_send_buffer",
        .type = K_INT,
        .dflt = "262144",
        .max = 67108864,
        .offset = OFF(client_send_buffer),
        .help =
            "Kernel send buffer of each client socket, bytes (bounds what a client that stops reading pins in the kernel); 0 = the kernel's autotuning.",
    },
    {
        .section = "server",
        .name = "max_message_bytes",
        .type = K_INT,
        .dflt = "1048576",
        .min = 256,
        .max = 67108864,
        .offset = OFF(client_max_message),
        .help = "Largest client message; a bigger one is answered with frame_too_large and dropped.",
    },
    {
        .section = "server",
        .name = "max_symbols_per_client",
        .type = K_INT,
        .dflt = "1024",
        .min = 1,
        .max = 1000000,
        .offset = OFF(max_symbols_per_client),
        .help = "Symbol subscriptions one client may hold (one request included); more is too_many_symbols.",
    },
    {
        .section = "server",
        .name = "max_requests_per_sec",
        .type = K_NUM,
        .dflt = "50",
        .min = 1,
        .max = 1000000,
        .offset = OFF(max_requests_per_sec),
        .help = "Client messages per second (burst of the same size); more are answered with rate_limited.",
    },
    {
        .section = "server",
        .name = "linger_seconds",
        .type = K_NUM,
        .dflt = "5",
        .max = 3600,
        .offset = OFF(linger_seconds),
        .help = "How long an upstream stream no client wants any more stays subscribed.",
    },
    {
        .section = "server",
        .name = "drain_grace_seconds",
        .type = K_NUM,
        .dflt = "1",
        .max = 60,
        .offset = OFF(drain_grace),
        .help = "On SIGTERM/SIGINT: seconds /ready answers 503 before clients get close 1001.",
    },
    {
        .section = "server",
        .name = "drain_timeout_seconds",
        .type = K_NUM,
        .dflt = "10",
        .max = 600,
        .offset = OFF(drain_timeout),
        .help = "On SIGTERM/SIGINT: seconds at most to wait for clients and upstreams to close before exiting.",
    },
    {
        .section = "connection",
        .name = "inactivity_timeout",
        .type = K_NUM,
        .dflt = "3.0",
        .min = 0.1,
        .max = 86400,
        .offset = OFF(inactivity_timeout),
        .env = "CONNECTOR_INACTIVITY_TIMEOUT",
        .help =
            "Seconds after a period's end before its missing close becomes a hole to backfill, a candle without a closed flag is taken as closed, and REST rows are final (the predecessor's 'seconds before REST backfill').",
    },
    {
        .section = "connection",
        .name = "max_symbol_per_ws",
        .type = K_INT,
        .dflt = "50",
        .min = 1,
        .max = 100000,
        .offset = OFF(max_symbol_per_ws),
        .env = "CONNECTOR_MAX_SYMBOL_PER_WS",
        .help = "Streams per upstream connection (capped by the adapter's max_streams).",
    },
    {
        .section = "connection",
        .name = "idle_timeout",
        .type = K_NUM,
        .dflt = "0",
        .max = 86400,
        .offset = OFF(idle_timeout),
        .env = "CONNECTOR_IDLE_TIMEOUT",
        .help =
            "Seconds without any upstream frame before reconnecting (a silent, zombie connection); 0 = each adapter's own value.",
    },
    {
        .section = "connection",
        .name = "max_connection_age",
        .type = K_NUM,
        .dflt = "0",
        .max = 604800,
        .offset = OFF(max_connection_age),
        .env = "CONNECTOR_MAX_CONNECTION_AGE",
        .help =
            "Seconds an exchange keeps one upstream connection open; each is replaced (make-before-break) shortly before: 0 = each adapter's own value (Binance 24 h; none elsewhere). Shorter only for tests or a stricter exchange.",
    },
    {
        .section = "connection",
        .name = "max_frame_bytes",
        .type = K_INT,
        .dflt = "1048576",
        .min = 1024,
        .max = 67108864,
        .offset = OFF(max_frame_bytes),
        .help = "Largest upstream message reassembled; bigger ones are dropped and counted.",
    },
    {
        .section = "connection",
        .name = "ca_file",
        .type = K_STR,
        .dflt = "",
        .max = 1023,
        .offset = OFF(ca_file),
        .size = SZ(ca_file),
        .env = "CONNECTOR_TLS_CA_FILE",
        .help = "PEM file of the CAs trusted for wss:// and https:// (default: the OS CA store).",
    },
    {
        .section = "circuit_breaker",
        .name = "failure_threshold",
        .type = K_INT,
        .dflt = "5",
        .min = 1,
        .max = 1000,
        .offset = OFF(cb_failure_threshold),
        .env = "CONNECTOR_CIRCUIT_BREAKER_FAILURE_THRESHOLD",
        .help =
            "Consecutive failed attempts that open a breaker: WebSocket connects per exchange market, requests per REST host (docs/reliability.md).",
    },
    {
        .section = "circuit_breaker",
        .name = "recovery_timeout",
        .type = K_NUM,
        .dflt = "30.0",
        .min = 0.01,
        .max = 300,
        .offset = OFF(cb_recovery_timeout),
        .env = "CONNECTOR_CIRCUIT_BREAKER_RECOVERY_TIMEOUT",
        .help =
            "First wait in the open state, seconds (fractions allowed); each failed trial doubles it, up to 300 s (30 -> 60 -> 120 -> 240 -> 300), each wait jittered down by up to 20%.",
    },
    {
        .section = "circuit_breaker",
        .name = "half_open_calls",
        .type = K_INT,
        .dflt = "1",
        .min = 1,
        .max = 100,
        .offset = OFF(cb_half_open_calls),
        .env = "CONNECTOR_CIRCUIT_BREAKER_HALF_OPEN_CALLS",
        .help =
            "Trial attempts let through when half-open; the breaker closes when all of them succeed, reopens on a failed one.",
    },
    {
        .section = "queues",
        .name = "closed_maxsize",
        .type = K_INT,
        .dflt = "1000",
        .min = 1,
        .max = 10000000,
        .offset = OFF(closed_queue_maxsize),
        .env = "CONNECTOR_CLOSED_QUEUE_MAXSIZE",
        .help =
            "candled stream: closed candles queued for a slow stdout before upstream reads pause (they resume at half). serve has its per-client caps (server.*).",
    },
    {
        .section = "queues",
        .name = "open_maxsize",
        .type = K_INT,
        .dflt = "0",
        .max = 10000000,
        .offset = OFF(open_queue_maxsize),
        .env = "CONNECTOR_OPEN_QUEUE_MAXSIZE",
        .help =
            "candled stream: cap on the open-candle latest-wins map used while stdout is behind (0 = one entry per stream).",
    },
    {
        .section = "dedup",
        .name = "window_seconds",
        .type = K_NUM,
        .dflt = "120.0",
        .min = 1,
        .max = 86400,
        .offset = OFF(dedup_window_seconds),
        .env = "CONNECTOR_DEDUPLICATION_WINDOW_SECONDS",
        .help =
            "How long an emitted closed candle is remembered, to tell a repeat (dropped, counted as a duplicate) from a revision (dropped, counted, logged).",
    },
    {
        .section = "dedup",
        .name = "max_entries",
        .type = K_INT,
        .dflt = "10000",
        .min = 1,
        .max = 10000000,
        .offset = OFF(dedup_max_entries),
        .env = "CONNECTOR_DEDUPLICATION_MAX_ENTRIES",
        .help = "Closed candles remembered at most (fixed memory; the oldest leave first).",
    },
    {
        .section = "sequencer",
        .name = "hold_seconds",
        .type = K_NUM,
        .dflt = "30.0",
        .min = 0.1,
        .max = 86400,
        .offset = OFF(seq_hold_seconds),
        .env = "CONNECTOR_SEQUENCER_HOLD_SECONDS",
        .help =
            "How long closed candles wait behind a hole for the backfill before the hole is announced as a gap event.",
    },
    {
        .section = "sequencer",
        .name = "reorder_wait_seconds",
        .type = K_NUM,
        .dflt = "1.0",
        .max = 3600,
        .offset = OFF(seq_reorder_wait_seconds),
        .help = "How long a hole may fill by itself (a reordered frame) before it is backfilled.",
    },
    {
        .section = "sequencer",
        .name = "retry_seconds",
        .type = K_NUM,
        .dflt = "2.0",
        .min = 0.05,
        .max = 3600,
        .offset = OFF(seq_retry_seconds),
        .help = "Wait after a failed backfill page before the next try (within hold_seconds).",
    },
    {
        .section = "sequencer",
        .name = "hold_max",
        .type = K_INT,
        .dflt = "1024",
        .min = 1,
        .max = 1000000,
        .offset = OFF(seq_hold_max),
        .help = "Closed candles held behind a hole, per stream; past it the oldest hole is announced as a gap.",
    },
    {
        .section = "sequencer",
        .name = "clock_rules",
        .type = K_BOOL,
        .dflt = "true",
        .offset = OFF(seq_clock_rules),
        .env = "CONNECTOR_SEQUENCER_CLOCK_RULES",
        .help =
            "Use the local clock to find missing closes, close unflagged candles and size reconnect holes; false only for replays of recorded data whose periods are long over.",
    },
    {
        .section = "sequencer",
        .name = "confirm_inferred",
        .type = K_STR,
        .dflt = "adapter",
        .max = 7,
        .offset = OFF(seq_confirm_inferred),
        .size = SZ(seq_confirm_inferred),
        .env = "CONNECTOR_CONFIRM_INFERRED",
        .help =
            "Closes inferred for exchanges without a closed flag wait for the exchange's REST row of their period, which goes out instead (the inferred value only if none comes within hold_seconds): adapter (where the adapter says pushes are throttled: Gate.io futures), always, or never. One REST request per stream and period.",
    },
    {
        .section = "rest",
        .name = "pool_connections",
        .type = K_INT,
        .dflt = "10",
        .min = 1,
        .max = 1000,
        .offset = OFF(rest_pool_connections),
        .env = "CONNECTOR_REST_POOL_CONNECTIONS",
        .help = "REST connections per host.",
    },
    {
        .section = "rest",
        .name = "pool_maxsize",
        .type = K_INT,
        .dflt = "20",
        .min = 1,
        .max = 10000,
        .offset = OFF(rest_pool_maxsize),
        .env = "CONNECTOR_REST_POOL_MAXSIZE",
        .help = "REST connections in total.",
    },
    {
        .section = "rest",
        .name = "budget_fraction",
        .type = K_NUM,
        .dflt = "1.0",
        .min = 0.001,
        .max = 1,
        .offset = OFF(rest_budget_fraction),
        .help =
            "Share of each exchange's REST weight budget (the adapters' rest_weight_per_minute) candled uses; lower it when other clients share the IP. Requests over it wait in order (docs/reliability.md).",
    },
    {
        .section = "rest",
        .name = "budgets",
        .type = K_BOOL,
        .dflt = "true",
        .offset = OFF(rest_budgets),
        .env = "CONNECTOR_REST_BUDGETS",
        .help =
            "Keep to the adapters' REST weight budgets; false only against a simulator or a private mirror without the exchange's limits (the chaos tests: their faults need more REST than Binance allows).",
    },
    {
        .section = "log",
        .name = "level",
        .type = K_STR,
        .dflt = "info",
        .max = 7,
        .offset = OFF(log_level),
        .size = SZ(log_level),
        .env = "CONNECTOR_LOG_LEVEL",
        .help = "debug, info, warn, error or off.",
    },
    {
        .section = "log",
        .name = "format",
        .type = K_STR,
        .dflt = "json",
        .max = 7,
        .offset = OFF(log_format),
        .size = SZ(log_format),
        .env = "CONNECTOR_LOG_FORMAT",
        .help = "json (one object per line) or text.",
    },
    {
        .section = "lua",
        .name = "adapters_dir",
        .type = K_STR,
        .dflt = "",
        .max = 1023,
        .offset = OFF(adapters_dir),
        .size = SZ(adapters_dir),
        .env = "CONNECTOR_ADAPTER_DIR",
        .help =
            "Directory of the exchange adapters (default: adapters/ beside config.lua if it exists, else the executable's: PREFIX/share/candled/adapters installed, the source tree's from a build tree).",
    },
    {
        .section = "lua",
        .name = "sdk_dir",
        .type = K_STR,
        .dflt = "",
        .max = 1023,
        .offset = OFF(lua_dir),
        .size = SZ(lua_dir),
        .env = "CONNECTOR_LUA_DIR",
        .help =
            "Directory holding candled/*.lua, the adapter SDK (default: lua/ beside adapters_dir if it holds candled/adapter.lua, else the executable's: PREFIX/share/candled/lua installed, the source tree's from a build tree).",
    },
    {
        .section = "lua",
        .name = "memory_limit_mb",
        .type = K_INT,
        .dflt = "64",
        .min = 1,
        .max = 4096,
        .offset = OFF(lua_memory_limit_mb),
        .help = "Memory cap of the adapters' Lua state.",
    },
    {
        .section = "lua",
        .name = "instruction_budget",
        .type = K_INT,
        .dflt = "1000000",
        .min = 1000,
        .max = 1000000000,
        .offset = OFF(lua_instruction_budget),
        .help = "Lua VM instructions one adapter hook call may run.",
    },
};
#define N_KEYS ((int)(sizeof schema / sizeof schema[0]))

static const char *const sections[] = {
    "server", "connection", "circuit_breaker", "queues", "dedup", "sequencer", "rest", "log", "lua", NULL
};

/* The scalar keys a reload applies to a running server; every other key needs a restart. */
static const char *const reloadable[] = { "server.linger_seconds",  "log.level",   "log.format",
                                          "lua.adapters_dir",       "lua.sdk_dir", "lua.memory_limit_mb",
                                          "lua.instruction_budget", NULL };

static int set_value(struct cdl_config *cfg, const struct key *k, const char *text, char *err, size_t errlen,
                     const char *origin)
{
    char *p = (char *)cfg + k->offset;
    char *end;
    switch (k->type) {
    case K_INT: {
        long v = strtol(text, &end, 10);
        if (end == text || *end || v < k->min || v > k->max)
            goto range;
        if (k->offset == OFF(lua_instruction_budget) || k->offset == OFF(max_frame_bytes))
            *(long *)p = v;
        else
            *(int *)p = (int)v;
        return 0;
    }
    case K_NUM: {
        double v = strtod(text, &end);
        if (end == text || *end || !isfinite(v) || v < k->min || v > k->max)
            goto range;
        *(double *)p = v;
        return 0;
    }
    case K_BOOL:
        if (!strcmp(text, "true") || !strcmp(text, "1") || !strcmp(text, "yes"))
            *(int *)p = 1;
        else if (!strcmp(text, "false") || !strcmp(text, "0") || !strcmp(text, "no"))
            *(int *)p = 0;
        else
            goto range;
        return 0;
    case K_STR:
        if (k->offset == OFF(seq_confirm_inferred) && cdl_config_confirm_parse(text) == -2) {
            snprintf(err, errlen, "%s%s.%s: expected adapter, always or never, got '%.100s'", origin, k->section,
                     k->name, text);
            return CDL_ECONFIG;
        }
        if (strlen(text) > (size_t)k->max || strlen(text) >= k->size)
            goto range;
        strcpy(p, text);
        return 0;
    }
range:
    if (k->type == K_STR)
        snprintf(err, errlen, "%s%s.%s: text longer than %d characters", origin, k->section, k->name, (int)k->max);
    else if (k->type == K_BOOL)
        snprintf(err, errlen, "%s%s.%s: expected true or false, got '%.100s'", origin, k->section, k->name, text);
    else
        snprintf(err, errlen, "%s%s.%s: expected a%s number in [%.15g, %.15g], got '%.100s'", origin, k->section,
                 k->name, k->type == K_INT ? "n integer" : "", k->min, k->max, text);
    return CDL_ECONFIG;
}

static void hook_budget(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    luaL_error(L, "config.lua ran too long (it must be data)");
}

/* 1 if the string at the top of the stack holds a NUL byte ("info\0x" would be read as "info"). */
static int has_nul(lua_State *L)
{
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    return memchr(s, '\0', len) != NULL;
}

/* Reads the value at the top of the stack for key k. */
static int read_scalar(lua_State *L, struct cdl_config *cfg, const struct key *k, char *err, size_t errlen)
{
    char text[1100];
    int ty = lua_type(L, -1);
    if (k->type == K_BOOL && ty == LUA_TBOOLEAN)
        snprintf(text, sizeof text, "%s", lua_toboolean(L, -1) ? "true" : "false");
    else if ((k->type == K_INT || k->type == K_NUM) && ty == LUA_TNUMBER)
        lua_isinteger(L, -1) ? snprintf(text, sizeof text, "%lld", (long long)lua_tointeger(L, -1))
                             : snprintf(text, sizeof text, "%.17g", lua_tonumber(L, -1));
    else if (k->type == K_STR && ty == LUA_TSTRING && lua_rawlen(L, -1) < sizeof text && !has_nul(L))
        snprintf(text, sizeof text, "%s", lua_tostring(L, -1));
    else if (k->type == K_STR && ty == LUA_TSTRING) { /* not "expected a string, got string" */
        if (has_nul(L))
            snprintf(err, errlen, "%s.%s: text contains a NUL byte", k->section, k->name);
        else
            snprintf(err, errlen, "%s.%s: text longer than %d characters", k->section, k->name, (int)k->max);
        return CDL_ECONFIG;
    } else {
        static const char *const tn[] = { "an integer", "a number", "a boolean", "a string" };
        snprintf(err, errlen, "%s.%s: expected %s, got %s", k->section, k->name, tn[k->type], luaL_typename(L, -1));
        return CDL_ECONFIG;
    }
    if (k->type == K_INT && ty == LUA_TNUMBER && !lua_isinteger(L, -1)) {
        snprintf(err, errlen, "%s.%s: expected an integer, got %.40s", k->section, k->name, text);
        return CDL_ECONFIG;
    }
    return set_value(cfg, k, text, err, errlen, "");
}

static int copy_str(lua_State *L, char *dst, size_t cap, const char *path, char *err, size_t errlen)
{
    if (lua_type(L, -1) != LUA_TSTRING || lua_rawlen(L, -1) == 0 || lua_rawlen(L, -1) >= cap || has_nul(L)) {
        snprintf(err, errlen, "%s: expected a non-empty string (under %zu characters, no NUL byte)", path, cap);
        return CDL_ECONFIG;
    }
    memcpy(dst, lua_tostring(L, -1), lua_rawlen(L, -1) + 1);
    return 0;
}

static int read_exchanges(lua_State *L, struct cdl_config *cfg, char *err, size_t errlen)
{
    if (!lua_istable(L, -1)) {
        snprintf(err, errlen, "exchanges: expected a table");
        return CDL_ECONFIG;
    }
    lua_pushnil(L);
    while (lua_next(L, -2)) { /* [exchanges, ex, markets] */
        if (lua_type(L, -2) != LUA_TSTRING || !lua_istable(L, -1)) {
            snprintf(err, errlen, "exchanges: expected exchange = { market = { ... } } entries");
            return CDL_ECONFIG;
        }
        const char *ex = lua_tostring(L, -2);
        lua_pushnil(L);
        while (lua_next(L, -2)) { /* [.., markets, mk, t] */
            char path[160];
            snprintf(path, sizeof path, "exchanges.%s.%s", ex,
                     lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?");
            if (lua_type(L, -2) != LUA_TSTRING || !lua_istable(L, -1)) {
                snprintf(err, errlen, "%s: expected a table", path);
                return CDL_ECONFIG;
            }
            if (cfg->n_overrides >= CDL_CFG_MAX_OVERRIDES) {
                snprintf(err, errlen, "exchanges: more than %d markets", CDL_CFG_MAX_OVERRIDES);
                return CDL_ECONFIG;
            }
            struct cdl_exchange_override *o = &cfg->overrides[cfg->n_overrides++];
            snprintf(o->exchange, sizeof o->exchange, "%s", ex);
            snprintf(o->market, sizeof o->market, "%s", lua_tostring(L, -2));
            lua_pushnil(L);
            while (lua_next(L, -2)) { /* [.., t, key, value] */
                const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
                char kp[200];
                snprintf(kp, sizeof kp, "%s.%s", path, key);
                int rc;
                if (!strcmp(key, "ws_url"))
                    rc = copy_str(L, o->ws_url, sizeof o->ws_url, kp, err, errlen);
                else if (!strcmp(key, "rest_url"))
                    rc = copy_str(L, o->rest_url, sizeof o->rest_url, kp, err, errlen);
                else {
                    snprintf(err, errlen, "%s: unknown key (expected ws_url or rest_url)", kp);
                    rc = CDL_ECONFIG;
                }
                if (rc)
                    return rc;
                lua_pop(L, 1);
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    return 0;
}

static int read_subscriptions(lua_State *L, struct cdl_config *cfg, char *err, size_t errlen)
{
    if (!lua_istable(L, -1)) {
        snprintf(err, errlen, "subscriptions: expected an array of tables");
        return CDL_ECONFIG;
    }
    int n = (int)lua_rawlen(L, -1);
    for (int i = 1; i <= n; i++) {
        char path[64];
        snprintf(path, sizeof path, "subscriptions[%d]", i);
        if (lua_rawgeti(L, -1, i) != LUA_TTABLE) {
            snprintf(err, errlen, "%s: expected a table", path);
            return CDL_ECONFIG;
        }
        if (cfg->n_subs >= CDL_CFG_MAX_SUBS) {
            snprintf(err, errlen, "subscriptions: more than %d entries", CDL_CFG_MAX_SUBS);
            return CDL_ECONFIG;
        }
        struct cdl_subscription *s = &cfg->subs[cfg->n_subs++];
        strcpy(s->interval, "1m");
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
            char kp[128];
            snprintf(kp, sizeof kp, "%s.%s", path, key);
            int rc = 0;
            if (!strcmp(key, "exchange"))
                rc = copy_str(L, s->exchange, sizeof s->exchange, kp, err, errlen);
            else if (!strcmp(key, "market"))
                rc = copy_str(L, s->market, sizeof s->market, kp, err, errlen);
            else if (!strcmp(key, "interval"))
                rc = copy_str(L, s->interval, sizeof s->interval, kp, err, errlen);
            else if (!strcmp(key, "symbols")) {
                if (!lua_istable(L, -1) || lua_rawlen(L, -1) == 0) {
                    snprintf(err, errlen, "%s: expected a non-empty array of strings", kp);
                    return CDL_ECONFIG;
                }
                int ns = (int)lua_rawlen(L, -1);
                if (ns > CDL_CFG_MAX_SYMBOLS) {
                    snprintf(err, errlen, "%s: more than %d symbols", kp, CDL_CFG_MAX_SYMBOLS);
                    return CDL_ECONFIG;
                }
                s->symbols = cdl_xcalloc((size_t)ns, sizeof *s->symbols);
                for (int k = 1; k <= ns; k++) {
                    if (lua_rawgeti(L, -1, k) != LUA_TSTRING || lua_rawlen(L, -1) == 0 || lua_rawlen(L, -1) >= 64 ||
                        has_nul(L)) {
                        snprintf(err, errlen, "%s[%d]: expected a symbol string", kp, k);
                        return CDL_ECONFIG;
                    }
                    s->symbols[s->n_symbols] = cdl_xstrdup(lua_tostring(L, -1));
                    s->n_symbols++;
                    lua_pop(L, 1);
                }
            } else {
                snprintf(err, errlen, "%s: unknown key (expected exchange, market, symbols, interval)", kp);
                rc = CDL_ECONFIG;
            }
            if (rc)
                return rc;
            lua_pop(L, 1);
        }
        if (!s->exchange[0] || !s->n_symbols) {
            snprintf(err, errlen, "%s: exchange and symbols are required", path);
            return CDL_ECONFIG;
        }
        lua_pop(L, 1);
    }
    return 0;
}

/* Walks the table config.lua returned (at the top of the stack). */
static int read_table(lua_State *L, struct cdl_config *cfg, char *err, size_t errlen)
{
    lua_pushnil(L);
    while (lua_next(L, -2)) { /* [root, section, t] */
        if (lua_type(L, -2) != LUA_TSTRING) {
            snprintf(err, errlen, "config.lua: top-level keys must be names");
            return CDL_ECONFIG;
        }
        const char *sec = lua_tostring(L, -2);
        int rc = 0;
        if (!strcmp(sec, "exchanges")) {
            rc = read_exchanges(L, cfg, err, errlen);
        } else if (!strcmp(sec, "subscriptions")) {
            rc = read_subscriptions(L, cfg, err, errlen);
        } else {
            int known = 0;
            for (int i = 0; sections[i]; i++)
                known |= !strcmp(sections[i], sec);
            if (!known) {
                snprintf(err, errlen, "%s: unknown key", sec);
                return CDL_ECONFIG;
            }
            if (!lua_istable(L, -1)) {
                snprintf(err, errlen, "%s: expected a table", sec);
                return CDL_ECONFIG;
            }
            lua_pushnil(L);
            while (!rc && lua_next(L, -2)) { /* [.., t, key, value] */
                const char *name = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
                const struct key *k = NULL;
                for (int i = 0; i < N_KEYS && !k; i++)
                    if (!strcmp(schema[i].section, sec) && !strcmp(schema[i].name, name))
                        k = &schema[i];
                if (!k) {
                    snprintf(err, errlen, "%s.%s: unknown key", sec, name);
                    return CDL_ECONFIG;
                }
                rc = read_scalar(L, cfg, k, err, errlen);
                lua_pop(L, 1);
            }
        }
        if (rc)
            return rc;
        lua_pop(L, 1);
    }
    return 0;
}

/* config.lua's memory cap: the largest config (64 subscriptions of 4096 symbols) needs ~50 MiB.
 * Without it a two-line loop doubling a string made candled allocate until the OOM killer came
 * (the instruction budget alone does not bound memory: 40 doublings are 2^40 bytes). */
#define CONFIG_MEMORY_MAX ((size_t)256 << 20)

/* The message of a failed load or run, always starting with the file's path (Lua's syntax
 * errors do, "path:3: ..."; its "C stack overflow" of a too deeply nested text does not). */
static void lua_failure(lua_State *L, int status, const char *path, char *err, size_t errlen)
{
    const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "error";
    size_t n = strlen(path);
    if (status == LUA_ERRMEM)
        snprintf(err, errlen, "%s: uses more than %zu MiB of memory (it must be data)", path, CONFIG_MEMORY_MAX >> 20);
    else if (!strncmp(msg, path, n) && msg[n] == ':')
        snprintf(err, errlen, "%s", msg);
    else
        snprintf(err, errlen, "%s: %s", path, msg);
}

static int load_file(const char *path, struct cdl_config *cfg, char *err, size_t errlen)
{
    struct cdl_lua_mem mem = { 0, CONFIG_MEMORY_MAX };
    lua_State *L = lua_newstate(cdl_lua_capped_alloc, &mem); /* no libraries: config.lua is data */
    if (!L)
        abort();
    int rc = 0, status = luaL_loadfilex(L, path, "t");
    if (status != LUA_OK) {
        lua_failure(L, status, path, err, errlen);
        rc = CDL_ECONFIG;
        goto out;
    }
    lua_newtable(L);
    lua_setupvalue(L, -2, 1); /* empty _ENV */
    lua_sethook(L, hook_budget, LUA_MASKCOUNT, 10000000);
    status = lua_pcall(L, 0, 1, 0);
    if (status != LUA_OK) {
        lua_failure(L, status, path, err, errlen);
        rc = CDL_ECONFIG;
        goto out;
    }
    lua_sethook(L, NULL, 0, 0);
    if (!lua_istable(L, -1)) {
        snprintf(err, errlen, "%s: must return a table", path);
        rc = CDL_ECONFIG;
        goto out;
    }
    char inner[900];
    rc = read_table(L, cfg, inner, sizeof inner);
    if (rc)
        snprintf(err, errlen, "%s: %s", path, inner);
out:
    lua_close(L);
    return rc;
}

/* dir = the executable's data directory `sub` (datadir.h), or a message saying how to name it. */
static int data_dir(const char *sub, char *dir, size_t dirlen, char *err, size_t errlen)
{
    int rc = cdl_datadir_find(NULL, sub, dir, dirlen);
    if (rc)
        snprintf(err, errlen,
                 "no %s directory found from the executable's location (%s/%s or share/candled/%s "
                 "beside it: %s); set lua.%s or %s",
                 sub, CDL_DATA_RELDIR, sub, sub, cdl_strerror(rc), !strcmp(sub, "lua") ? "sdk_dir" : "adapters_dir",
                 !strcmp(sub, "lua") ? "CONNECTOR_LUA_DIR" : "CONNECTOR_ADAPTER_DIR");
    return rc;
}

int cdl_config_load(const char *path, struct cdl_config *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    for (int i = 0; i < N_KEYS; i++)
        if (set_value(cfg, &schema[i], schema[i].dflt, err, errlen, "default "))
            return CDL_ECONFIG;
    if (path) {
        int rc = load_file(path, cfg, err, errlen);
        if (rc)
            return rc;
    }
    for (int i = 0; i < N_KEYS; i++) {
        const char *v = schema[i].env ? getenv(schema[i].env) : NULL;
        if (v) {
            char origin[80];
            snprintf(origin, sizeof origin, "%s: ", schema[i].env);
            if (set_value(cfg, &schema[i], v, err, errlen, origin))
                return CDL_ECONFIG;
        }
    }
    /* Directories: adapters/ beside the config file when it exists, else the data installed with
     * the executable (datadir.h: PREFIX/share/candled, or the source tree's from a build tree). */
    if (!cfg->adapters_dir[0]) {
        const char *slash = path ? strrchr(path, '/') : NULL;
        struct stat st;
        if (path)
            snprintf(cfg->adapters_dir, sizeof cfg->adapters_dir, "%.*s%sadapters", slash ? (int)(slash - path) : 0,
                     path, slash ? "/" : "");
        if ((!path || stat(cfg->adapters_dir, &st) || !S_ISDIR(st.st_mode)) &&
            data_dir("adapters", cfg->adapters_dir, sizeof cfg->adapters_dir, err, errlen))
            return CDL_ECONFIG;
    }
    /* The SDK: lua/ beside the adapters' directory when it has candled/adapter.lua (a tree laid
     * out like the source's), else the executable's (adapters copied beside a config.lua). */
    if (!cfg->lua_dir[0]) {
        const char *slash = strrchr(cfg->adapters_dir, '/');
        char probe[sizeof cfg->lua_dir + 32];
        struct stat st;
        if (slash)
            snprintf(cfg->lua_dir, sizeof cfg->lua_dir, "%.*s/lua", (int)(slash - cfg->adapters_dir),
                     cfg->adapters_dir);
        else
            snprintf(cfg->lua_dir, sizeof cfg->lua_dir, "lua");
        snprintf(probe, sizeof probe, "%s/candled/adapter.lua", cfg->lua_dir);
        if (stat(probe, &st) && data_dir("lua", cfg->lua_dir, sizeof cfg->lua_dir, err, errlen))
            return CDL_ECONFIG;
    }
    return 0;
}

void cdl_config_free(struct cdl_config *cfg)
{
    for (int i = 0; i < cfg->n_subs; i++) {
        for (int k = 0; k < cfg->subs[i].n_symbols; k++)
            free(cfg->subs[i].symbols[k]);
        free(cfg->subs[i].symbols);
        cfg->subs[i].symbols = NULL;
    }
    cfg->n_subs = 0;
}

const struct cdl_exchange_override *cdl_config_override(const struct cdl_config *cfg, const char *exchange,
                                                        const char *market)
{
    for (int i = 0; i < cfg->n_overrides; i++)
        if (!strcmp(cfg->overrides[i].exchange, exchange) && !strcmp(cfg->overrides[i].market, market))
            return &cfg->overrides[i];
    return NULL;
}

void cdl_config_endpoints(const struct cdl_config *cfg, const char *exchange, const char *market, const char **ws_url,
                          const char **rest_url)
{
    const struct cdl_exchange_override *ov = cdl_config_override(cfg, exchange, market);
    *ws_url = ov && ov->ws_url[0] ? ov->ws_url : NULL;
    *rest_url = ov && ov->rest_url[0] ? ov->rest_url : NULL;
}

void cdl_config_reference(FILE *out)
{
    static const char *const tn[] = { "integer", "number", "boolean", "string" };
    fputs("# Configuration reference\n\n"
          "<!-- generated by `candled config-reference` from the schema table in core/lua/config.c; "
          "tests/e2e/test_config_docs.py fails if this file drifts -->\n\n"
          "`config.lua` returns one table. It is data: it runs with no libraries and an empty environment,\n"
          "at most 10 million VM instructions and 256 MiB of memory.\n"
          "Precedence: built-in defaults < `config.lua` < environment variables < command-line flags.\n"
          "An unknown key, a wrong type or an out-of-range value is an error naming the key's path.\n\n"
          "| key | type | default | range | environment | meaning |\n|---|---|---|---|---|---|\n",
          out);
    for (int i = 0; i < N_KEYS; i++) {
        const struct key *k = &schema[i];
        char range[64] = "";
        if (k->type == K_INT || k->type == K_NUM)
            snprintf(range, sizeof range, "%.15g .. %.15g", k->min, k->max);
        fprintf(out, "| `%s.%s` | %s | `%s` | %s | %s%s%s | %s |\n", k->section, k->name, tn[k->type],
                k->dflt[0] ? k->dflt : "(see meaning)", range, k->env ? "`" : "", k->env ? k->env : "",
                k->env ? "`" : "", k->help);
    }
    fputs("\n## `exchanges`\n\n"
          "`exchanges.<exchange>.<market> = { ws_url = \"...\", rest_url = \"...\" }` replaces a market's default\n"
          "WebSocket endpoint and REST base (the same as `--ws-url` / `--rest-url` for one run).\n\n"
          "## `subscriptions`\n\n"
          "An array of always-on streams: `{ exchange = \"binance\", market = \"spot\", symbols = { \"BTCUSDT\" },\n"
          "interval = \"1m\" }` (`market` defaults to the one the symbols name when the adapter can tell, as\n"
          "OKX's instrument ids do, else to the exchange's first market; `interval` to `1m`).\n"
          "`candled stream --from-config` streams them; `candled check` validates them against the adapters.\n\n"
          "## Reload\n\n"
          "`candled serve` reloads `config.lua` and the adapters on SIGHUP and `POST /-/reload` (docs/server.md).\n"
          "A reload applies `subscriptions` (only the streams that changed), `exchanges` (connections whose\n"
          "endpoint changed reconnect)",
          out);
    for (int i = 0; reloadable[i]; i++)
        fprintf(out, ", `%s`", reloadable[i]);
    fputs(".  Any other key that changed keeps its running value until a restart; the reload says which\n"
          "(`restart_required` in its result, and a warning in the log).\n",
          out);
}

/* ---- reload ---------------------------------------------------------------------------------------- */

static int is_reloadable(const struct key *k)
{
    char path[64];
    snprintf(path, sizeof path, "%s.%s", k->section, k->name);
    for (int i = 0; reloadable[i]; i++)
        if (!strcmp(reloadable[i], path))
            return 1;
    return 0;
}

static int key_differs(const struct cdl_config *a, const struct cdl_config *b, const struct key *k)
{
    const char *pa = (const char *)a + k->offset, *pb = (const char *)b + k->offset;
    switch (k->type) {
    case K_STR: return strcmp(pa, pb) != 0;
    case K_NUM: return *(const double *)pa != *(const double *)pb;
    case K_INT:
        if (k->offset == OFF(lua_instruction_budget) || k->offset == OFF(max_frame_bytes))
            return *(const long *)pa != *(const long *)pb;
        return *(const int *)pa != *(const int *)pb;
    case K_BOOL: return *(const int *)pa != *(const int *)pb;
    }
    return 0;
}

int cdl_config_restart_keys(const struct cdl_config *a, const struct cdl_config *b, char out[][48], int max)
{
    int n = 0;
    for (int i = 0; i < N_KEYS && n < max; i++)
        if (!is_reloadable(&schema[i]) && key_differs(a, b, &schema[i]))
            snprintf(out[n++], 48, "%s.%s", schema[i].section, schema[i].name);
    return n;
}

void cdl_config_apply_reload(struct cdl_config *dst, struct cdl_config *src)
{
    for (int i = 0; i < N_KEYS; i++)
        if (is_reloadable(&schema[i])) {
            size_t len = schema[i].type == K_STR   ? schema[i].size
                         : schema[i].type == K_NUM ? sizeof(double)
                         : (schema[i].offset == OFF(lua_instruction_budget) || schema[i].offset == OFF(max_frame_bytes))
                             ? sizeof(long)
                             : sizeof(int);
            memcpy((char *)dst + schema[i].offset, (const char *)src + schema[i].offset, len);
        }
    memcpy(dst->overrides, src->overrides, sizeof dst->overrides);
    dst->n_overrides = src->n_overrides;
    cdl_config_free(dst); /* the old subscriptions go; src's move over */
    memcpy(dst->subs, src->subs, sizeof dst->subs);
    dst->n_subs = src->n_subs;
    memset(src->subs, 0, sizeof src->subs);
    src->n_subs = 0;
}

int cdl_config_confirm_parse(const char *text)
{
    return !strcmp(text, "adapter") ? -1 : !strcmp(text, "always") ? 1 : !strcmp(text, "never") ? 0 : -2;
}

void cdl_config_breaker_policy(const struct cdl_config *cfg, struct cdl_breaker_policy *p)
{
    cdl_breaker_policy_default(p);
    p->failure_threshold = (unsigned)cfg->cb_failure_threshold;
    p->half_open_calls = (unsigned)cfg->cb_half_open_calls;
    p->recovery_ms = (uint32_t)(cfg->cb_recovery_timeout * 1000.0 + 0.5);
}

void cdl_config_lua_opts(const struct cdl_config *cfg, struct cdl_lua_opts *o)
{
    *o = (struct cdl_lua_opts){
        .adapters_dir = cfg->adapters_dir,
        .lua_dir = cfg->lua_dir,
        .memory_limit = (size_t)cfg->lua_memory_limit_mb << 20,
        .instruction_budget = cfg->lua_instruction_budget,
    };
}

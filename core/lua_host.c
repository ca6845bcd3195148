/* lua_host.c - see lua_host.h.
 *
 * Stack-layout comments use [a, b, c] with the top on the right. */
#include "lua_host.h"

#include <dirent.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "interval.h"
#include "log.h"
#include "lua_json.h"

#define MAX_ADAPTERS 32
#define MAX_INTERVALS 24
#define HOOK_STEP 1000 /* instructions between count-hook calls */

struct iv_map {
    const char *canonical; /* static (interval table) */
    char exchange[CDL_IVNAME_MAX];
};

struct market_rec {
    struct cdl_market m;
    struct iv_map iv[MAX_INTERVALS];
    int n_iv;
};

struct cdl_adapter {
    struct cdl_lua_host *host;
    char name[CDL_NAME_MAX];
    int ref;     /* the adapter table */
    int env_ref; /* its sandbox environment */
    struct market_rec *markets;
    int n_markets;
    int has_rest;
    struct cdl_log_limit log_limit;
};

struct cdl_lua_host {
    lua_State *L;
    struct cdl_lua_opts opts;
    char adapters_dir[CDL_URL_MAX];
    char lua_dir[CDL_URL_MAX];
    struct cdl_metrics *metrics;
    struct cdl_lua_mem mem;
    long budget_steps, steps_left;
    struct cdl_adapter *adapters[MAX_ADAPTERS];
    int n_adapters;
    struct cdl_parsed_candle *rows; /* the scratch of REST pages over CDL_PARSE_MAX rows */
    int rows_cap;
};

/* ---- allocator with a cap --------------------------------------------------------------------- */

void *cdl_lua_capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct cdl_lua_mem *m = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        m->used -= old;
        return NULL;
    }
    if (nsize > old && m->used - old + nsize > m->limit)
        return NULL; /* Lua raises a memory error inside the protected call */
    void *p = realloc(ptr, nsize);
    if (p)
        m->used = m->used - old + nsize;
    return p;
}

/* ---- instruction budget ---------------------------------------------------------------------- */

/* The host of a state: its allocator's data is the host's mem. */
static struct cdl_lua_host *host_of(lua_State *L)
{
    void *ud;
    lua_getallocf(L, &ud);
    return (struct cdl_lua_host *)((char *)ud - offsetof(struct cdl_lua_host, mem));
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    struct cdl_lua_host *h = host_of(L);
    if (--h->steps_left < 0)
        luaL_error(L, "instruction budget exceeded (%d instructions)", (int)(h->budget_steps * HOOK_STEP));
}

/* Message handler: tracebacks for errors, error tables passed through unchanged. */
static int msgh(lua_State *L)
{
    if (lua_type(L, 1) == LUA_TTABLE)
        return 1;
    const char *msg = lua_tostring(L, 1);
    if (!msg)
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* Runs the function below `nargs` arguments on the top of the stack with a fresh budget.
 * [fn, args...] -> [results...] on success; on failure logs, counts and leaves nothing. */
static int pcall_budget(struct cdl_adapter *a, const char *hook, int nargs, int nres)
{
    struct cdl_lua_host *h = a ? a->host : NULL;
    lua_State *L = h->L;
    int base = lua_gettop(L) - nargs; /* index of fn */
    lua_pushcfunction(L, msgh);
    lua_insert(L, base);
    h->steps_left = h->budget_steps;
    int rc = lua_pcall(L, nargs, nres, base);
    lua_remove(L, base);
    if (rc == LUA_OK)
        return 0;
    const char *msg = lua_tostring(L, -1);
    char buf[64];
    if (!msg) {
        snprintf(buf, sizeof buf, "(error object is a %s value)", luaL_typename(L, -1));
        msg = buf;
    }
    if (a->name[0]) {
        if (h->metrics)
            cdl_series_add(cdl_metrics_series(h->metrics, CDL_M_ADAPTER_ERRORS, a->name, hook), 1);
        cdl_log_limited(&a->log_limit, 10000, CDL_LOG_ERROR, "adapter hook failed", "exchange", a->name, "hook",
                        hook, "error", msg, NULL);
    }
    lua_pop(L, 1);
    return rc == LUA_ERRMEM ? CDL_EBUDGET : (strstr(msg, "instruction budget exceeded") ? CDL_EBUDGET : CDL_ELUA);
}

/* ---- sandbox ------------------------------------------------------------------------------------ */

static const char *const base_allow[] = { "assert", "error",    "ipairs",       "next",         "pairs",
                                          "pcall",  "select",   "tonumber",     "tostring",     "type",
                                          "xpcall", "rawequal", "rawget",       "rawlen",       "rawset",
                                          "setmetatable", "getmetatable", "_VERSION", NULL };

/* Copies the fields of the library table at the top into a new table, skipping `deny`. [lib] -> [copy] */
static void copy_lib(lua_State *L, const char *const *only, const char *deny)
{
    lua_newtable(L); /* [lib, copy] */
    if (only) {
        for (int i = 0; only[i]; i++) {
            lua_getfield(L, -2, only[i]);
            lua_setfield(L, -2, only[i]);
        }
    } else {
        lua_pushnil(L);
        while (lua_next(L, -3)) { /* [lib, copy, k, v] */
            if (lua_type(L, -2) == LUA_TSTRING && deny && !strcmp(lua_tostring(L, -2), deny)) {
                lua_pop(L, 1);
                continue;
            }
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, -4);
        }
    }
    lua_remove(L, -2); /* [copy] */
}

static int sandbox_require(lua_State *L);

/* os.time() in an adapter: without an argument, the daemon's wall clock (clock.h; virtual under
 * a test clock, so a timestamp an adapter sends agrees with the exchange's time); with a date
 * table, Lua's own os.time (upvalue 1). */
static int sandbox_os_time(lua_State *L)
{
    if (lua_isnoneornil(L, 1)) {
        lua_pushinteger(L, (lua_Integer)(cdl_clock_now_ms() / 1000));
        return 1;
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* Builds a new sandbox environment table and leaves it on the stack. */
static void push_sandbox_env(lua_State *L)
{
    static const char *const os_allow[] = { "time", "date", "clock", NULL };
    lua_newtable(L); /* [env] */
    for (int i = 0; base_allow[i]; i++) {
        lua_getglobal(L, base_allow[i]);
        lua_setfield(L, -2, base_allow[i]);
    }
    const char *libs[] = { "string", "table", "math", "utf8", NULL };
    for (int i = 0; libs[i]; i++) {
        lua_getglobal(L, libs[i]);
        copy_lib(L, NULL, !strcmp(libs[i], "string") ? "dump" : NULL);
        lua_setfield(L, -2, libs[i]);
    }
    lua_getglobal(L, "os");
    copy_lib(L, os_allow, NULL); /* [env, os] */
    lua_getfield(L, -1, "time");
    lua_pushcclosure(L, sandbox_os_time, 1); /* upvalue: the real os.time */
    lua_setfield(L, -2, "time");
    lua_setfield(L, -2, "os");
    lua_newtable(L); /* [env, loaded] per-environment module cache */
    lua_pushvalue(L, -2);
    lua_pushcclosure(L, sandbox_require, 2); /* upvalues: loaded, env */
    lua_setfield(L, -2, "require");
    lua_pushvalue(L, -1);
    lua_setfield(L, -2, "_G");
}

static int valid_module_name(const char *s)
{
    if (strncmp(s, "candled.", 8))
        return 0;
    s += 8;
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

/* require(name) inside a sandbox: only candled.* SDK modules, loaded as text into the same
 * environment, cached per environment. */
static int sandbox_require(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    lua_getfield(L, lua_upvalueindex(1), name);
    if (!lua_isnil(L, -1))
        return 1;
    lua_pop(L, 1);
    if (!valid_module_name(name))
        return luaL_error(L, "module '%s' is not available to adapters (only candled.* SDK modules)", name);
    if (!strcmp(name, "candled.json")) {
        lua_pushcfunction(L, luaopen_candled_json);
        lua_call(L, 0, 1);
    } else {
        struct cdl_lua_host *h = host_of(L);
        char path[2 * CDL_URL_MAX];
        snprintf(path, sizeof path, "%s/candled/%s.lua", h->lua_dir, name + 8);
        if (luaL_loadfilex(L, path, "t") != LUA_OK)
            return luaL_error(L, "cannot load module '%s': %s", name, lua_tostring(L, -1));
        lua_pushvalue(L, lua_upvalueindex(2));
        lua_setupvalue(L, -2, 1); /* _ENV of the chunk = the adapter's environment */
        lua_pushstring(L, name);
        lua_call(L, 1, 1);
    }
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, lua_upvalueindex(1), name);
    return 1;
}

/* ---- host --------------------------------------------------------------------------------------- */

struct cdl_lua_host *cdl_lua_host_create(const struct cdl_lua_opts *opts, struct cdl_metrics *metrics)
{
    struct cdl_lua_host *h = calloc(1, sizeof *h);
    if (!h)
        abort();
    h->opts = *opts;
    snprintf(h->adapters_dir, sizeof h->adapters_dir, "%s", opts->adapters_dir ? opts->adapters_dir : "adapters");
    snprintf(h->lua_dir, sizeof h->lua_dir, "%s", opts->lua_dir ? opts->lua_dir : "lua");
    h->metrics = metrics;
    h->mem.limit = opts->memory_limit ? opts->memory_limit : (size_t)64 << 20;
    long budget = opts->instruction_budget > 0 ? opts->instruction_budget : 1000000;
    h->budget_steps = budget / HOOK_STEP > 0 ? budget / HOOK_STEP : 1;
    h->L = lua_newstate(cdl_lua_capped_alloc, &h->mem);
    if (!h->L)
        abort();
    lua_State *L = h->L;
    /* The full libraries exist in the host's own globals only; adapters see copies of what the
     * allow-list names. */
    luaL_openlibs(L);
    /* Lock the string metatable so getmetatable("").__index cannot reach the shared library. */
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);
    lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_STEP);
    lua_gc(L, LUA_GCGEN, 0, 0);
    return h;
}

void cdl_lua_host_destroy(struct cdl_lua_host *h)
{
    if (!h)
        return;
    lua_close(h->L);
    free(h->rows);
    for (int i = 0; i < h->n_adapters; i++) {
        cdl_log_limit_flush(&h->adapters[i]->log_limit);
        free(h->adapters[i]->markets);
        free(h->adapters[i]);
    }
    free(h);
}

size_t cdl_lua_host_memory(const struct cdl_lua_host *h) { return h->mem.used; }

size_t cdl_lua_host_collect(struct cdl_lua_host *h)
{
    lua_gc(h->L, LUA_GCCOLLECT);
    return h->mem.used;
}

int cdl_adapter_name_valid(const char *s)
{
    if (!*s || strlen(s) >= CDL_NAME_MAX)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

static int cmp_names(const void *x, const void *y) { return strcmp(x, y); }

int cdl_lua_host_list(const struct cdl_lua_host *h, char names[][CDL_NAME_MAX], int max)
{
    DIR *d = opendir(h->adapters_dir);
    int n = 0;
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        size_t len = strlen(e->d_name);
        if (len < 5 || len - 4 >= CDL_NAME_MAX || strcmp(e->d_name + len - 4, ".lua"))
            continue;
        memcpy(names[n], e->d_name, len - 4);
        names[n][len - 4] = '\0';
        if (cdl_adapter_name_valid(names[n]))
            n++;
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_names);
    return n;
}

/* ---- contract checks on load -------------------------------------------------------------------- */

/* Reads string field `k` of the table at index t into out; returns 0, 1 if absent, -1 if wrong. */
static int get_str(lua_State *L, int t, const char *k, char *out, size_t len)
{
    int ty = lua_getfield(L, t, k);
    int rc = 0;
    if (ty == LUA_TNIL)
        rc = 1;
    else if (ty != LUA_TSTRING || lua_rawlen(L, -1) >= len)
        rc = -1;
    else
        memcpy(out, lua_tostring(L, -1), lua_rawlen(L, -1) + 1);
    lua_pop(L, 1);
    return rc;
}

static int get_num(lua_State *L, int t, const char *k, double lo, double hi, double dflt, double *out)
{
    int ty = lua_getfield(L, t, k);
    int rc = 0;
    double v = ty == LUA_TNUMBER ? lua_tonumber(L, -1) : 0;
    if (ty == LUA_TNIL)
        *out = dflt;
    else if (ty != LUA_TNUMBER || !(v >= lo && v <= hi)) /* NaN (0/0) fails both */
        rc = -1;
    else
        *out = v;
    lua_pop(L, 1);
    return rc;
}

/* Boolean field k of table t: absent = 0.  0, or -1 if it is not a boolean. */
static int get_flag(lua_State *L, int t, const char *k, int *out)
{
    int ty = lua_getfield(L, t, k), rc = 0;
    if (ty == LUA_TNIL || ty == LUA_TBOOLEAN)
        *out = lua_toboolean(L, -1);
    else
        rc = -1;
    lua_pop(L, 1);
    return rc;
}

/* rest_weight of the market table at mt: absent, a number > 0, or an array of at most
 * CDL_REST_WEIGHTS_MAX {max_limit, weight} pairs with growing max_limit.  0 or -1. */
static int get_weights(lua_State *L, int mt, struct cdl_market *m)
{
    int ty = lua_getfield(L, mt, "rest_weight"), rc = 0;
    m->n_rest_weights = 0;
    if (ty == LUA_TNUMBER) {
        double w = lua_tonumber(L, -1);
        if (!(w > 0 && w <= 1e6))
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
                ok &= lim >= 1 && lim <= CDL_REST_ROWS_MAX && w > 0 && w <= 1e6 &&
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
    lua_pop(L, 1);
    return rc;
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

/* Reads an interval map (canonical -> exchange name) at the top of the stack into rec. */
static int read_intervals(lua_State *L, struct market_rec *rec, char *err, size_t errlen, const char *where)
{
    int t = lua_gettop(L);
    rec->n_iv = 0;
    for (int i = 0; i < cdl_interval_count(); i++) {
        const struct cdl_interval *iv = cdl_interval_at(i);
        int ty = lua_getfield(L, t, iv->name);
        if (ty == LUA_TSTRING && lua_rawlen(L, -1) > 0 && lua_rawlen(L, -1) < CDL_IVNAME_MAX &&
            rec->n_iv < MAX_INTERVALS) {
            rec->iv[rec->n_iv].canonical = iv->name;
            memcpy(rec->iv[rec->n_iv].exchange, lua_tostring(L, -1), lua_rawlen(L, -1) + 1);
            rec->n_iv++;
        } else if (ty != LUA_TNIL) {
            snprintf(err, errlen, "%s.intervals[\"%s\"] must be a non-empty string", where, iv->name);
            lua_pop(L, 1);
            return CDL_EINVAL;
        }
        lua_pop(L, 1);
    }
    /* every key must be canonical */
    lua_pushnil(L);
    while (lua_next(L, t)) {
        struct cdl_interval tmp;
        if (lua_type(L, -2) != LUA_TSTRING || cdl_interval_parse(lua_tostring(L, -2), &tmp)) {
            snprintf(err, errlen, "%s.intervals has a key that is not a canonical interval: %s", where,
                     lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : luaL_typename(L, -2));
            lua_pop(L, 2);
            return CDL_EINVAL;
        }
        lua_pop(L, 1);
    }
    if (!rec->n_iv) {
        snprintf(err, errlen, "%s has no intervals", where);
        return CDL_EINVAL;
    }
    return 0;
}

/* Checks the adapter table at the top of the stack and fills a's markets. */
static int check_adapter(lua_State *L, struct cdl_adapter *a, char *err, size_t errlen)
{
    int t = lua_gettop(L);
    char name[CDL_NAME_MAX] = "";
    if (get_str(L, t, "name", name, sizeof name) || strcmp(name, a->name)) {
        snprintf(err, errlen, "adapter '%s': name must be \"%s\" (the file name)", a->name, a->name);
        return CDL_EINVAL;
    }
    static const char *const required_fn[] = { "subscribe", "parse", NULL };
    static const char *const optional_fn[] = { "symbol", "market_of", "connect_url", "unsubscribe", "ping", NULL };
    for (int i = 0; required_fn[i]; i++) {
        if (lua_getfield(L, t, required_fn[i]) != LUA_TFUNCTION) {
            snprintf(err, errlen, "adapter '%s': %s must be a function", a->name, required_fn[i]);
            lua_pop(L, 1);
            return CDL_EINVAL;
        }
        lua_pop(L, 1);
    }
    for (int i = 0; optional_fn[i]; i++) {
        int ty = lua_getfield(L, t, optional_fn[i]);
        lua_pop(L, 1);
        if (ty != LUA_TNIL && ty != LUA_TFUNCTION) {
            snprintf(err, errlen, "adapter '%s': %s must be a function", a->name, optional_fn[i]);
            return CDL_EINVAL;
        }
    }
    int ty = lua_getfield(L, t, "rest");
    if (ty == LUA_TTABLE) {
        int ok = lua_getfield(L, -1, "request") == LUA_TFUNCTION;
        ok &= lua_getfield(L, -2, "parse") == LUA_TFUNCTION;
        lua_pop(L, 2);
        if (!ok) {
            snprintf(err, errlen, "adapter '%s': rest.request and rest.parse must be functions", a->name);
            lua_pop(L, 1);
            return CDL_EINVAL;
        }
        a->has_rest = 1;
    } else if (ty != LUA_TNIL) {
        snprintf(err, errlen, "adapter '%s': rest must be a table", a->name);
        lua_pop(L, 1);
        return CDL_EINVAL;
    }
    lua_pop(L, 1);

    if (lua_getfield(L, t, "markets") != LUA_TTABLE || lua_rawlen(L, -1) == 0 || lua_rawlen(L, -1) > 16) {
        snprintf(err, errlen, "adapter '%s': markets must be a non-empty array (at most 16)", a->name);
        lua_pop(L, 1);
        return CDL_EINVAL;
    }
    int n = (int)lua_rawlen(L, -1);
    a->markets = calloc((size_t)n, sizeof *a->markets);
    if (!a->markets)
        abort();
    for (int i = 0; i < n; i++) {
        struct market_rec *rec = &a->markets[i];
        struct cdl_market *m = &rec->m;
        char where[96];
        snprintf(where, sizeof where, "adapter '%s': markets[%d]", a->name, i + 1);
        if (lua_rawgeti(L, -1, i + 1) != LUA_TTABLE) {
            snprintf(err, errlen, "%s must be a table", where);
            lua_pop(L, 2);
            return CDL_EINVAL;
        }
        int mt = lua_gettop(L);
        double v;
        int bad = 0;
        const char *field = NULL;
        if (get_str(L, mt, "name", m->name, sizeof m->name) || !cdl_adapter_name_valid(m->name))
            bad = 1, field = "name";
        else if (get_str(L, mt, "ws_url", m->ws_url, sizeof m->ws_url))
            bad = 1, field = "ws_url";
        else if (get_str(L, mt, "rest_url", m->rest_url, sizeof m->rest_url) < 0)
            bad = 1, field = "rest_url";
        else if (get_num(L, mt, "max_streams", 1, 100000, 200, &v))
            bad = 1, field = "max_streams";
        if (!bad) {
            m->max_streams = (int)v;
            if (get_num(L, mt, "max_sends_per_sec", 0.1, 1000, 5, &m->max_sends_per_sec))
                bad = 1, field = "max_sends_per_sec";
            else if (get_num(L, mt, "ping_interval", 0, 3600, 0, &m->ping_interval))
                bad = 1, field = "ping_interval";
            else if (get_num(L, mt, "idle_timeout", 1, 86400, 60, &m->idle_timeout))
                bad = 1, field = "idle_timeout";
            else if (get_num(L, mt, "max_connection_age", 0, 604800, 0, &m->max_connection_age))
                bad = 1, field = "max_connection_age";
            else if (get_num(L, mt, "rest_max_rows", 1, CDL_REST_ROWS_MAX, 500, &v))
                bad = 1, field = "rest_max_rows";
            else
                m->rest_max_rows = (int)v;
        }
        if (!bad) {
            if (get_num(L, mt, "rest_weight_per_minute", 0, 1e7, 0, &m->rest_weight_per_minute))
                bad = 1, field = "rest_weight_per_minute";
            else if (get_num(L, mt, "rest_weight_burst", 0, 1e7, 0, &m->rest_weight_burst))
                bad = 1, field = "rest_weight_burst";
            else if (get_weights(L, mt, m))
                bad = 1, field = "rest_weight";
            else if (get_flag(L, mt, "confirm_inferred", &m->confirm_inferred))
                bad = 1, field = "confirm_inferred";
        }
        if (bad) {
            snprintf(err, errlen, "%s.%s is missing or invalid", where, field);
            lua_pop(L, 2);
            return CDL_EINVAL;
        }
        m->index = i;
        ty = lua_getfield(L, mt, "aliases");
        if (ty == LUA_TTABLE && lua_rawlen(L, -1) > 4) {
            snprintf(err, errlen, "%s.aliases: at most 4", where);
            lua_pop(L, 3);
            return CDL_EINVAL;
        }
        if (ty == LUA_TTABLE) {
            int na = (int)lua_rawlen(L, -1);
            for (int k = 0; k < na && k < 4; k++) {
                if (lua_rawgeti(L, -1, k + 1) == LUA_TSTRING && lua_rawlen(L, -1) < CDL_NAME_MAX)
                    memcpy(m->aliases[m->n_aliases++], lua_tostring(L, -1), lua_rawlen(L, -1) + 1);
                lua_pop(L, 1);
            }
        }
        lua_pop(L, 1);
        ty = lua_getfield(L, mt, "intervals");
        if (ty == LUA_TNIL) {
            lua_pop(L, 1);
            ty = lua_getfield(L, t, "intervals");
        }
        if (ty != LUA_TTABLE) {
            snprintf(err, errlen, "%s.intervals must be a table (or set the adapter's intervals)", where);
            lua_pop(L, 3);
            return CDL_EINVAL;
        }
        int rc = read_intervals(L, rec, err, errlen, where);
        lua_pop(L, 2); /* intervals, market */
        if (rc)
            return rc;
    }
    lua_pop(L, 1);
    a->n_markets = n;
    return 0;
}

int cdl_lua_host_load(struct cdl_lua_host *h, const char *name, struct cdl_adapter **out, char *err,
                      size_t errlen)
{
    for (int i = 0; i < h->n_adapters; i++)
        if (!strcmp(h->adapters[i]->name, name)) {
            *out = h->adapters[i];
            return 0;
        }
    if (!cdl_adapter_name_valid(name)) {
        snprintf(err, errlen, "bad adapter name '%s'", name);
        return CDL_EINVAL;
    }
    if (h->n_adapters >= MAX_ADAPTERS) {
        snprintf(err, errlen, "too many adapters (max %d)", MAX_ADAPTERS);
        return CDL_ERANGE;
    }
    char path[2 * CDL_URL_MAX];
    snprintf(path, sizeof path, "%s/%s.lua", h->adapters_dir, name);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "unknown exchange '%s' (no %s)", name, path);
        return CDL_ENOTFOUND;
    }
    fclose(f);

    lua_State *L = h->L;
    struct cdl_adapter *a = calloc(1, sizeof *a);
    if (!a)
        abort();
    a->host = h;
    snprintf(a->name, sizeof a->name, "%s", name);
    int top = lua_gettop(L);
    int rc;
    if (luaL_loadfilex(L, path, "t") != LUA_OK) {
        snprintf(err, errlen, "adapter '%s': %s", name, lua_tostring(L, -1));
        rc = CDL_ELUA;
        goto fail;
    }
    push_sandbox_env(L); /* [chunk, env] */
    lua_pushvalue(L, -1);
    a->env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_setupvalue(L, -2, 1); /* [chunk] */
    h->steps_left = h->budget_steps;
    lua_pushcfunction(L, msgh);
    lua_insert(L, -2);
    if (lua_pcall(L, 0, 1, -2) != LUA_OK) {
        snprintf(err, errlen, "adapter '%s': %s", name,
                 lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "error while loading");
        rc = CDL_ELUA;
        goto fail;
    }
    if (lua_type(L, -1) != LUA_TTABLE) {
        snprintf(err, errlen, "adapter '%s': the file must return a table (adapter.define{...})", name);
        rc = CDL_EINVAL;
        goto fail;
    }
    if ((rc = check_adapter(L, a, err, errlen)))
        goto fail;
    a->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_settop(L, top);
    h->adapters[h->n_adapters++] = a;
    *out = a;
    return 0;
fail:
    if (a->env_ref)
        luaL_unref(L, LUA_REGISTRYINDEX, a->env_ref);
    lua_settop(L, top);
    free(a->markets);
    free(a);
    return rc;
}

/* ---- market / interval lookups ---------------------------------------------------------------- */

const char *cdl_adapter_name(const struct cdl_adapter *a) { return a->name; }
int cdl_adapter_n_markets(const struct cdl_adapter *a) { return a->n_markets; }
int cdl_adapter_has_rest(const struct cdl_adapter *a) { return a->has_rest; }

const struct cdl_market *cdl_adapter_market_at(const struct cdl_adapter *a, int i)
{
    return i >= 0 && i < a->n_markets ? &a->markets[i].m : NULL;
}

const struct cdl_market *cdl_adapter_market(const struct cdl_adapter *a, const char *name)
{
    if (!name)
        return &a->markets[0].m;
    for (int i = 0; i < a->n_markets; i++) {
        const struct cdl_market *m = &a->markets[i].m;
        if (!strcmp(m->name, name))
            return m;
        for (int k = 0; k < m->n_aliases; k++)
            if (!strcmp(m->aliases[k], name))
                return m;
    }
    return NULL;
}

const char *cdl_adapter_interval(const struct cdl_adapter *a, const struct cdl_market *m, const char *canonical)
{
    const struct market_rec *rec = &a->markets[m->index];
    for (int i = 0; i < rec->n_iv; i++)
        if (!strcmp(rec->iv[i].canonical, canonical))
            return rec->iv[i].exchange;
    return NULL;
}

const char *cdl_adapter_interval_canonical(const struct cdl_adapter *a, const struct cdl_market *m,
                                           const char *exchange_name)
{
    const struct market_rec *rec = &a->markets[m->index];
    for (int i = 0; i < rec->n_iv; i++)
        if (!strcmp(rec->iv[i].exchange, exchange_name))
            return rec->iv[i].canonical;
    return NULL;
}

/* ---- hook calls ---------------------------------------------------------------------------------- */

/* Pushes hook `name` of the adapter (or of its rest table); returns 0 if it is not a function. */
static int push_hook(struct cdl_adapter *a, const char *table, const char *name)
{
    lua_State *L = a->host->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, a->ref);
    if (table) {
        lua_getfield(L, -1, table);
        lua_remove(L, -2);
        if (!lua_istable(L, -1)) {
            lua_pop(L, 1);
            return 0;
        }
    }
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
    if (lua_type(L, -1) != LUA_TFUNCTION) {
        lua_pop(L, 1);
        return 0;
    }
    return 1;
}

static void contract_error(struct cdl_adapter *a, const char *hook, const char *what)
{
    struct cdl_lua_host *h = a->host;
    if (h->metrics)
        cdl_series_add(cdl_metrics_series(h->metrics, CDL_M_ADAPTER_ERRORS, a->name, hook), 1);
    cdl_log_limited(&a->log_limit, 10000, CDL_LOG_ERROR, "adapter broke the contract", "exchange", a->name, "hook",
                    hook, "error", what, NULL);
}

int cdl_adapter_symbol(struct cdl_adapter *a, const struct cdl_market *m, const char *text, char *out,
                       size_t outlen, char *err, size_t errlen)
{
    lua_State *L = a->host->L;
    if (!push_hook(a, NULL, "symbol")) {
        snprintf(out, outlen, "%s", text);
        return strlen(text) < outlen && *text ? 0 : CDL_EINVAL;
    }
    lua_pushstring(L, m->name);
    lua_pushstring(L, text);
    int rc = pcall_budget(a, "symbol", 2, 2);
    if (rc) {
        snprintf(err, errlen, "adapter '%s' failed on symbol '%s'", a->name, text);
        return rc;
    }
    if (lua_type(L, -2) == LUA_TSTRING && lua_rawlen(L, -2) > 0 && lua_rawlen(L, -2) < outlen &&
        lua_rawlen(L, -2) < CDL_SYMBOL_MAX) {
        memcpy(out, lua_tostring(L, -2), lua_rawlen(L, -2) + 1);
        rc = 0;
    } else {
        snprintf(err, errlen, "%s", lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "invalid symbol");
        rc = CDL_EINVAL;
    }
    lua_pop(L, 2);
    return rc;
}

int cdl_adapter_has_market_of(struct cdl_adapter *a)
{
    if (!push_hook(a, NULL, "market_of"))
        return 0;
    lua_pop(a->host->L, 1);
    return 1;
}

const struct cdl_market *cdl_adapter_pick_market(struct cdl_adapter *a, const char *market,
                                                const char *const *symbols, int n, const char *hint, char *err,
                                                size_t errlen)
{
    if (market || !cdl_adapter_has_market_of(a)) {
        const struct cdl_market *m = cdl_adapter_market(a, market);
        if (!m)
            snprintf(err, errlen, "unknown market '%s' for %s", market, a->name);
        return m;
    }
    const struct cdl_market *m = NULL;
    for (int i = 0; i < n; i++) {
        const struct cdl_market *mi = cdl_adapter_market_of(a, symbols[i]);
        if (!mi) {
            snprintf(err, errlen, "cannot tell the market of %s symbol '%s'; give %s", a->name, symbols[i], hint);
            return NULL;
        }
        if (m && mi != m) {
            snprintf(err, errlen, "symbols '%s' (%s) and '%s' (%s) are in different markets; give %s", symbols[0],
                     m->name, symbols[i], mi->name, hint);
            return NULL;
        }
        m = mi;
    }
    return m ? m : cdl_adapter_market(a, NULL);
}

const struct cdl_market *cdl_adapter_market_of(struct cdl_adapter *a, const char *text)
{
    lua_State *L = a->host->L;
    if (!push_hook(a, NULL, "market_of"))
        return NULL;
    lua_pushstring(L, text);
    if (pcall_budget(a, "market_of", 1, 1))
        return NULL;
    const struct cdl_market *m = NULL;
    if (lua_type(L, -1) == LUA_TSTRING) {
        m = cdl_adapter_market(a, lua_tostring(L, -1));
        if (!m)
            contract_error(a, "market_of", "returned a market the adapter does not define");
    } else if (!lua_isnil(L, -1)) {
        contract_error(a, "market_of", "must return a market name or nil");
    }
    lua_pop(L, 1);
    return m;
}

int cdl_adapter_session_new(struct cdl_adapter *a, const struct cdl_market *m, const char *ws_url, uint64_t conn_id)
{
    lua_State *L = a->host->L;
    lua_createtable(L, 0, 6);
    lua_pushstring(L, a->name);
    lua_setfield(L, -2, "exchange");
    lua_pushstring(L, m->name);
    lua_setfield(L, -2, "market");
    lua_pushstring(L, ws_url);
    lua_setfield(L, -2, "ws_url");
    lua_pushinteger(L, (lua_Integer)conn_id);
    lua_setfield(L, -2, "conn_id");
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

void cdl_adapter_session_free(struct cdl_adapter *a, int session)
{
    if (session > 0)
        luaL_unref(a->host->L, LUA_REGISTRYINDEX, session);
}

/* Copies the plain value at the top of `from` (string, number, boolean, or a table of those, at
 * most `depth` levels) onto `to`'s stack; 0, or -1 (nothing pushed) for anything else or when
 * *budget (entries) runs out. */
static int copy_plain(lua_State *from, lua_State *to, int depth, int *budget)
{
    if (--*budget < 0 || !lua_checkstack(to, 4) || !lua_checkstack(from, 4))
        return -1;
    switch (lua_type(from, -1)) {
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(from, -1, &n);
        lua_pushlstring(to, s, n);
        return 0;
    }
    case LUA_TNUMBER:
        if (lua_isinteger(from, -1))
            lua_pushinteger(to, lua_tointeger(from, -1));
        else
            lua_pushnumber(to, lua_tonumber(from, -1));
        return 0;
    case LUA_TBOOLEAN:
        lua_pushboolean(to, lua_toboolean(from, -1));
        return 0;
    case LUA_TTABLE:
        break;
    default:
        return -1;
    }
    if (depth <= 0)
        return -1;
    lua_newtable(to);
    lua_pushnil(from);
    while (lua_next(from, -2)) { /* from: [t, k, v] */
        lua_pushvalue(from, -2);  /* [t, k, v, k] */
        int t = lua_type(from, -1);
        int ok = (t == LUA_TSTRING || t == LUA_TNUMBER || t == LUA_TBOOLEAN) && !copy_plain(from, to, 0, budget);
        lua_pop(from, 1); /* [t, k, v] */
        if (ok && copy_plain(from, to, depth - 1, budget)) {
            lua_pop(to, 1); /* the key */
            ok = 0;
        }
        if (ok)
            lua_rawset(to, -3);
        lua_pop(from, 1); /* [t, k] */
    }
    return 0;
}

int cdl_adapter_session_migrate(struct cdl_adapter *from, int session, struct cdl_adapter *to,
                                const struct cdl_market *m, const char *ws_url, uint64_t conn_id)
{
    int fresh = cdl_adapter_session_new(to, m, ws_url, conn_id);
    if (session <= 0 || fresh <= 0)
        return fresh;
    lua_State *F = from->host->L, *T = to->host->L;
    int budget = 4096, skipped = 0;
    lua_rawgeti(F, LUA_REGISTRYINDEX, session);
    lua_rawgeti(T, LUA_REGISTRYINDEX, fresh);
    lua_pushnil(F);
    while (lua_next(F, -2)) { /* F: [old, k, v]; T: [new] */
        const char *k = lua_type(F, -2) == LUA_TSTRING ? lua_tostring(F, -2) : NULL;
        if (k && (!strcmp(k, "exchange") || !strcmp(k, "market") || !strcmp(k, "ws_url") || !strcmp(k, "conn_id"))) {
            lua_pop(F, 1);
            continue; /* the core's fields: set for the new session already */
        }
        lua_pushvalue(F, -2);
        int ok = k && !copy_plain(F, T, 0, &budget);
        lua_pop(F, 1);
        if (ok && copy_plain(F, T, 8, &budget)) {
            lua_pop(T, 1);
            ok = 0;
        }
        if (ok)
            lua_rawset(T, -3);
        else
            skipped++;
        lua_pop(F, 1);
    }
    lua_pop(F, 1);
    lua_pop(T, 1);
    if (skipped)
        cdl_log(CDL_LOG_WARN, "reload: session fields that are not plain data were not carried over", "exchange",
                to->name, NULL);
    return fresh;
}

static void push_streams(lua_State *L, const struct cdl_stream_ref *streams, int n)
{
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_createtable(L, 0, 2);
        lua_pushstring(L, streams[i].symbol);
        lua_setfield(L, -2, "symbol");
        lua_pushstring(L, streams[i].interval);
        lua_setfield(L, -2, "interval");
        lua_rawseti(L, -2, i + 1);
    }
}

int cdl_adapter_connect_url(struct cdl_adapter *a, int session, const struct cdl_stream_ref *streams, int n,
                            char *out, size_t outlen)
{
    lua_State *L = a->host->L;
    if (!push_hook(a, NULL, "connect_url")) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, session);
        lua_getfield(L, -1, "ws_url");
        snprintf(out, outlen, "%s", lua_tostring(L, -1));
        lua_pop(L, 2);
        return 0;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, session);
    push_streams(L, streams, n);
    int rc = pcall_budget(a, "connect_url", 2, 1);
    if (rc)
        return rc;
    if (lua_type(L, -1) != LUA_TSTRING || lua_rawlen(L, -1) >= outlen) {
        contract_error(a, "connect_url", "must return a URL string");
        rc = CDL_ELUA;
    } else {
        memcpy(out, lua_tostring(L, -1), lua_rawlen(L, -1) + 1);
    }
    lua_pop(L, 1);
    return rc;
}

/* Emits the strings of the array at the top of the stack (or nothing for nil); pops it. */
static int emit_frames(struct cdl_adapter *a, const char *hook, cdl_frame_emit emit, void *user)
{
    lua_State *L = a->host->L;
    int rc = 0;
    if (lua_type(L, -1) == LUA_TSTRING) {
        emit(user, lua_tostring(L, -1), lua_rawlen(L, -1));
    } else if (lua_type(L, -1) == LUA_TTABLE) {
        int n = (int)lua_rawlen(L, -1);
        for (int i = 1; i <= n; i++) {
            if (lua_rawgeti(L, -1, i) == LUA_TSTRING && lua_rawlen(L, -1) > 0)
                emit(user, lua_tostring(L, -1), lua_rawlen(L, -1));
            else {
                contract_error(a, hook, "frames must be non-empty strings");
                rc = CDL_ELUA;
            }
            lua_pop(L, 1);
        }
    } else if (!lua_isnil(L, -1)) {
        contract_error(a, hook, "must return an array of text frames");
        rc = CDL_ELUA;
    }
    lua_pop(L, 1);
    return rc;
}

int cdl_adapter_subscribe(struct cdl_adapter *a, int session, const struct cdl_stream_ref *streams, int n,
                          int unsubscribe, cdl_frame_emit emit, void *user)
{
    const char *hook = unsubscribe ? "unsubscribe" : "subscribe";
    lua_State *L = a->host->L;
    if (!push_hook(a, NULL, hook))
        return unsubscribe ? 0 : CDL_ENOTFOUND;
    lua_rawgeti(L, LUA_REGISTRYINDEX, session);
    push_streams(L, streams, n);
    int rc = pcall_budget(a, hook, 2, 1);
    return rc ? rc : emit_frames(a, hook, emit, user);
}

int cdl_adapter_ping(struct cdl_adapter *a, int session, cdl_frame_emit emit, void *user)
{
    lua_State *L = a->host->L;
    if (!push_hook(a, NULL, "ping"))
        return 0;
    lua_rawgeti(L, LUA_REGISTRYINDEX, session);
    int rc = pcall_budget(a, "ping", 1, 1);
    return rc ? rc : emit_frames(a, "ping", emit, user);
}

/* ---- candle conversion (the trust boundary) ---------------------------------------------------- */

int cdl_candle_check_time(int64_t t)
{
    return t >= 946684800000LL && t < 4102444800000LL; /* 2000-01-01 .. 2100-01-01 */
}

/* Integer field: Lua integer, or a float with an integral value. 0 ok, 1 absent, -1 bad. */
static int field_int(lua_State *L, int t, const char *k, int64_t *out)
{
    int ty = lua_getfield(L, t, k), rc = 0;
    if (ty == LUA_TNIL) {
        rc = 1;
    } else if (ty == LUA_TNUMBER) {
        lua_Integer v;
        if (lua_isinteger(L, -1))
            *out = (int64_t)lua_tointeger(L, -1);
        else if (lua_numbertointeger(lua_tonumber(L, -1), &v) && (lua_Number)v == lua_tonumber(L, -1))
            *out = (int64_t)v;
        else
            rc = -1;
    } else {
        rc = -1;
    }
    lua_pop(L, 1);
    return rc;
}

/* Decimal field: a string holding a JSON number token, or a Lua integer. */
static int field_dec(lua_State *L, int t, const char *k, char *out)
{
    int ty = lua_getfield(L, t, k), rc = 0;
    if (ty == LUA_TNIL) {
        rc = 1;
    } else if (ty == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        if (cdl_decimal_valid(s, len))
            memcpy(out, s, len + 1);
        else
            rc = -1;
    } else if (ty == LUA_TNUMBER && lua_isinteger(L, -1)) {
        snprintf(out, CDL_DEC_MAX, "%lld", (long long)lua_tointeger(L, -1));
    } else {
        rc = -1; /* floats would need a double round trip: refused */
    }
    lua_pop(L, 1);
    return rc;
}

static int field_name(lua_State *L, int t, const char *k, char *out, size_t len)
{
    int ty = lua_getfield(L, t, k), rc = 0;
    if (ty == LUA_TNIL)
        rc = 1;
    else if (ty != LUA_TSTRING || lua_rawlen(L, -1) == 0 || lua_rawlen(L, -1) >= len)
        rc = -1;
    else
        memcpy(out, lua_tostring(L, -1), lua_rawlen(L, -1) + 1);
    lua_pop(L, 1);
    return rc;
}

/* Converts the candle table at index t; returns NULL or the name of the failing field. */
static const char *convert_candle(lua_State *L, int t, struct cdl_parsed_candle *pc)
{
    struct cdl_candle *c = &pc->c;
    memset(pc, 0, sizeof *pc);
    c->close_time = -1;
    c->trades = -1;
    c->closed = -1;
    if (field_name(L, t, "symbol", pc->symbol, sizeof pc->symbol) < 0)
        return "symbol";
    if (field_name(L, t, "interval", pc->interval, sizeof pc->interval) < 0)
        return "interval";
    if (field_int(L, t, "open_time", &c->open_time) || !cdl_candle_check_time(c->open_time))
        return "open_time";
    if (field_dec(L, t, "open", c->open))
        return "open";
    if (field_dec(L, t, "high", c->high))
        return "high";
    if (field_dec(L, t, "low", c->low))
        return "low";
    if (field_dec(L, t, "close", c->close))
        return "close";
    if (field_dec(L, t, "volume", c->volume))
        return "volume";
    if (field_dec(L, t, "quote_volume", c->quote_volume) < 0)
        return "quote_volume";
    /* -1 is the core's "absent": an adapter says absent with nil, so a given value must be real */
    int rc_ct = field_int(L, t, "close_time", &c->close_time);
    if (rc_ct < 0 || (rc_ct == 0 && c->close_time < c->open_time))
        return "close_time";
    int rc_tr = field_int(L, t, "trades", &c->trades);
    if (rc_tr < 0 || (rc_tr == 0 && c->trades < 0))
        return "trades";
    int ty = lua_getfield(L, t, "closed");
    if (ty == LUA_TBOOLEAN)
        c->closed = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (ty != LUA_TBOOLEAN && ty != LUA_TNIL)
        return "closed";
    return NULL;
}

static void copy_token(char *dst, size_t cap, const char *s)
{
    size_t n = 0;
    for (; s && *s && n + 1 < cap; s++)
        dst[n++] = ((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_') ? *s : '_';
    dst[n] = '\0';
    if (!n)
        snprintf(dst, cap, "unspecified");
}

/* More room in res (a REST page): the candles move to the host's scratch array, which grows by
 * doubling up to the result's limit (`want` rows are announced). */
static void grow_rows(struct cdl_lua_host *h, struct cdl_parse_result *res, lua_Unsigned want)
{
    int need = want < (lua_Unsigned)res->limit ? (int)want : res->limit;
    if (need <= res->cap)
        need = res->cap + 1;
    if (h->rows_cap < need) {
        int cap = h->rows_cap ? h->rows_cap : 2 * CDL_PARSE_MAX;
        while (cap < need)
            cap *= 2;
        struct cdl_parsed_candle *rows = realloc(h->rows, (size_t)cap * sizeof *rows);
        if (!rows)
            abort();
        h->rows = rows;
        h->rows_cap = cap;
    }
    if (res->items != h->rows)
        memcpy(h->rows, res->items, (size_t)res->n * sizeof *res->items);
    res->items = h->rows;
    res->cap = h->rows_cap < res->limit ? h->rows_cap : res->limit;
}

/* Converts the hook results [r1, r2] into res.  Runs inside a protected call (convert_results). */
struct convert_ctx {
    struct cdl_adapter *a;
    struct cdl_parse_result *res;
    const char *hook;
    const char *contract; /* set when the return value broke the contract */
};

static int convert_results(lua_State *L)
{
    struct convert_ctx *cx = lua_touserdata(L, 1); /* [ctx, r1, r2] */
    struct cdl_parse_result *res = cx->res;
    if (lua_isnil(L, 2)) {
        if (lua_type(L, 3) == LUA_TSTRING) {
            res->rejected = 1;
            copy_token(res->reason, sizeof res->reason, lua_tostring(L, 3));
        } else if (!lua_isnil(L, 3)) {
            cx->contract = "nil must be followed by a reason string";
        }
        return 0;
    }
    if (!lua_istable(L, 2)) {
        cx->contract = "must return an array of candles, nil, or nil and a reason";
        return 0;
    }
    int ty = lua_getfield(L, 2, "event");
    if (ty == LUA_TSTRING) {
        const char *ev = lua_tostring(L, -1);
        if (!strcmp(ev, "ack"))
            res->event = CDL_EV_ACK;
        else if (!strcmp(ev, "pong"))
            res->event = CDL_EV_PONG;
        else if (!strcmp(ev, "error"))
            res->event = CDL_EV_ERROR;
        else if (!strcmp(ev, "reconnect"))
            res->event = CDL_EV_RECONNECT;
        else
            cx->contract = "unknown event name";
        if (lua_getfield(L, 2, "message") == LUA_TSTRING)
            snprintf(res->message, sizeof res->message, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
    } else if (ty != LUA_TNIL) {
        cx->contract = "event must be a string";
    }
    lua_pop(L, 1);
    lua_Unsigned n = lua_rawlen(L, 2);
    for (lua_Unsigned i = 1; i <= n; i++) {
        if (res->n >= res->limit) {
            res->n_bad += (int)(n - i + 1);
            if (!res->bad_reason[0])
                snprintf(res->bad_reason, sizeof res->bad_reason, "too_many_candles");
            break;
        }
        if (res->n == res->cap)
            grow_rows(cx->a->host, res, n);
        const char *bad;
        if (lua_rawgeti(L, 2, (lua_Integer)i) != LUA_TTABLE)
            bad = "not_a_table";
        else
            bad = convert_candle(L, lua_gettop(L), &res->items[res->n]);
        lua_pop(L, 1);
        if (!bad) {
            res->n++;
        } else {
            if (!res->bad_reason[0])
                snprintf(res->bad_reason, sizeof res->bad_reason, "bad_%s", bad);
            res->n_bad++;
        }
    }
    return 0;
}

static void reset_result(struct cdl_parse_result *res, int limit)
{
    res->items = res->fixed;
    res->cap = CDL_PARSE_MAX < limit ? CDL_PARSE_MAX : limit;
    res->limit = limit;
    res->n = res->n_bad = res->rejected = 0;
    res->event = CDL_EV_NONE;
    res->bad_reason[0] = res->reason[0] = res->message[0] = '\0';
}

/* [r1, r2] on the stack -> converted into res; pops them. */
static int convert(struct cdl_adapter *a, const char *hook, struct cdl_parse_result *res)
{
    lua_State *L = a->host->L;
    struct convert_ctx cx = { a, res, hook, NULL };
    lua_pushcfunction(L, convert_results);
    lua_pushlightuserdata(L, &cx);
    lua_rotate(L, -4, 2); /* [fn, ctx, r1, r2] */
    int rc = pcall_budget(a, hook, 3, 0);
    if (rc)
        return rc;
    if (cx.contract) {
        contract_error(a, hook, cx.contract);
        return CDL_ELUA;
    }
    return 0;
}

int cdl_adapter_parse(struct cdl_adapter *a, int session, const char *frame, size_t len,
                      struct cdl_parse_result *res)
{
    lua_State *L = a->host->L;
    reset_result(res, CDL_PARSE_MAX);
    if (!push_hook(a, NULL, "parse"))
        return CDL_ENOTFOUND;
    lua_rawgeti(L, LUA_REGISTRYINDEX, session);
    lua_pushlstring(L, frame, len);
    int rc = pcall_budget(a, "parse", 2, 2);
    return rc ? rc : convert(a, "parse", res);
}

/* ---- REST ------------------------------------------------------------------------------------------ */

void cdl_rest_req_clear(struct cdl_rest_req *r)
{
    free(r->body);
    for (int i = 0; r->headers[i]; i++)
        free(r->headers[i]);
    memset(r, 0, sizeof *r);
}

static void push_query(lua_State *L, const struct cdl_rest_query *q)
{
    lua_createtable(L, 0, 6);
    lua_pushstring(L, q->symbol);
    lua_setfield(L, -2, "symbol");
    lua_pushstring(L, q->interval);
    lua_setfield(L, -2, "interval");
    lua_pushinteger(L, q->start_ms);
    lua_setfield(L, -2, "start_ms");
    lua_pushinteger(L, q->end_ms);
    lua_setfield(L, -2, "end_ms");
    lua_pushinteger(L, q->limit);
    lua_setfield(L, -2, "limit");
    lua_pushstring(L, q->base_url);
    lua_setfield(L, -2, "base_url");
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

int cdl_adapter_rest_request(struct cdl_adapter *a, const struct cdl_market *m, const struct cdl_rest_query *q,
                             struct cdl_rest_req *out)
{
    lua_State *L = a->host->L;
    memset(out, 0, sizeof *out);
    if (!push_hook(a, "rest", "request"))
        return CDL_ENOTFOUND;
    lua_pushstring(L, m->name);
    push_query(L, q);
    int rc = pcall_budget(a, "rest.request", 2, 1);
    if (rc)
        return rc;
    const char *bad = NULL;
    int t = lua_gettop(L);
    if (!lua_istable(L, t)) {
        bad = "must return a table";
    } else if (get_str(L, t, "url", out->url, sizeof out->url) ||
               (strncmp(out->url, "http://", 7) && strncmp(out->url, "https://", 8))) {
        bad = "url must be an http(s) URL string";
    } else {
        int r = get_str(L, t, "method", out->method, sizeof out->method);
        if (r == 1)
            strcpy(out->method, "GET");
        if (r < 0 || (strcmp(out->method, "GET") && strcmp(out->method, "POST")))
            bad = "method must be GET or POST";
    }
    if (!bad) {
        int ty = lua_getfield(L, t, "body");
        if (ty == LUA_TSTRING)
            out->body = xstrdup(lua_tostring(L, -1));
        else if (ty != LUA_TNIL)
            bad = "body must be a string";
        lua_pop(L, 1);
    }
    if (!bad) {
        int ty = lua_getfield(L, t, "headers");
        if (ty == LUA_TTABLE) {
            int n = (int)lua_rawlen(L, -1);
            for (int i = 0; i < n && !bad; i++) {
                if (i >= 8 || lua_rawgeti(L, -1, i + 1) != LUA_TSTRING || strpbrk(lua_tostring(L, -1), "\r\n"))
                    bad = "headers must be at most 8 \"Name: value\" strings";
                else
                    out->headers[i] = xstrdup(lua_tostring(L, -1));
                if (i < 8)
                    lua_pop(L, 1);
            }
        } else if (ty != LUA_TNIL) {
            bad = "headers must be an array";
        }
        lua_pop(L, 1);
    }
    lua_settop(L, t - 1);
    if (bad) {
        contract_error(a, "rest.request", bad);
        cdl_rest_req_clear(out);
        return CDL_ELUA;
    }
    return 0;
}

struct row_key {
    int64_t open_time;
    int index;
};

static int by_open_time(const void *a, const void *b)
{
    const struct row_key *x = a, *y = b;
    if (x->open_time != y->open_time)
        return x->open_time < y->open_time ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

int *cdl_parse_result_order(const struct cdl_parse_result *res)
{
    int sorted = 1;
    for (int i = 1; i < res->n && sorted; i++)
        sorted = res->items[i - 1].c.open_time <= res->items[i].c.open_time;
    if (sorted)
        return NULL;
    struct row_key *k = malloc((size_t)res->n * sizeof *k);
    int *order = malloc((size_t)res->n * sizeof *order);
    if (!k || !order)
        abort();
    for (int i = 0; i < res->n; i++)
        k[i] = (struct row_key){ res->items[i].c.open_time, i };
    qsort(k, (size_t)res->n, sizeof *k, by_open_time);
    for (int i = 0; i < res->n; i++)
        order[i] = k[i].index;
    free(k);
    return order;
}

int cdl_adapter_rest_parse(struct cdl_adapter *a, const struct cdl_market *m, const struct cdl_rest_query *q,
                           const char *body, size_t len, struct cdl_parse_result *res)
{
    lua_State *L = a->host->L;
    reset_result(res, m->rest_max_rows);
    if (!push_hook(a, "rest", "parse"))
        return CDL_ENOTFOUND;
    lua_pushstring(L, m->name);
    push_query(L, q);
    lua_pushlstring(L, body, len);
    int rc = pcall_budget(a, "rest.parse", 3, 2);
    return rc ? rc : convert(a, "rest.parse", res);
}

/* lua_host.c - see lua_host.h.
 *
 * Stack-layout comments use [a, b, c] with the top on the right. */
#include "lua_host.h"

#include <dirent.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter_schema.h"
#include "err.h"
#include "interval.h"
#include "log.h"
#include "lua_convert.h"
#include "lua_sandbox.h"
#include "xalloc.h"

#define MAX_ADAPTERS 32
#define MAX_INTERVALS 24

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
    struct cdl_sandbox sb;
    lua_State *L; /* sb.L */
    char adapters_dir[CDL_URL_MAX];
    struct cdl_metrics *metrics;
    struct cdl_adapter *adapters[MAX_ADAPTERS];
    int n_adapters;
    struct cdl_row_scratch scratch; /* REST pages over CDL_PARSE_MAX rows */
};

/* Runs the function below `nargs` arguments on the top of the stack with a fresh budget.
 * [fn, args...] -> [results...] on success; on failure logs, counts and leaves nothing. */
static int pcall_budget(struct cdl_adapter *a, const char *hook, int nargs, int nres)
{
    struct cdl_lua_host *h = a->host;
    lua_State *L = h->L;
    int rc = cdl_sandbox_pcall(&h->sb, nargs, nres);
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
        cdl_log_limited(&a->log_limit, 10000, CDL_LOG_ERROR, "adapter hook failed", "exchange", a->name, "hook", hook,
                        "error", msg, NULL);
    }
    rc = cdl_sandbox_over_budget(rc, msg) ? CDL_EBUDGET : CDL_ELUA;
    lua_pop(L, 1);
    return rc;
}

/* ---- host --------------------------------------------------------------------------------------- */

struct cdl_lua_host *cdl_lua_host_create(const struct cdl_lua_opts *opts, struct cdl_metrics *metrics)
{
    struct cdl_lua_host *h = cdl_xcalloc(1, sizeof *h);
    snprintf(h->adapters_dir, sizeof h->adapters_dir, "%s", opts->adapters_dir ? opts->adapters_dir : "adapters");
    h->metrics = metrics;
    cdl_sandbox_open(&h->sb, opts->memory_limit, opts->instruction_budget, opts->lua_dir);
    h->L = h->sb.L;
    return h;
}

void cdl_lua_host_destroy(struct cdl_lua_host *h)
{
    if (!h)
        return;
    cdl_sandbox_close(&h->sb);
    free(h->scratch.rows);
    for (int i = 0; i < h->n_adapters; i++) {
        cdl_log_limit_flush(&h->adapters[i]->log_limit);
        free(h->adapters[i]->markets);
        free(h->adapters[i]);
    }
    free(h);
}

size_t cdl_lua_host_memory(const struct cdl_lua_host *h) { return h->sb.mem.used; }

size_t cdl_lua_host_collect(struct cdl_lua_host *h)
{
    lua_gc(h->L, LUA_GCCOLLECT);
    return h->sb.mem.used;
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

/* 1 if market i's name or one of its aliases is already a name or alias (of an earlier market, or
 * earlier in market i), as the SDK's define refuses it; err says which. */
static int name_taken(const struct cdl_adapter *a, int i, const char *where, char *err, size_t errlen)
{
    const struct cdl_market *m = &a->markets[i].m;
    for (int k = -1; k < m->n_aliases; k++) {
        const char *n = k < 0 ? m->name : m->aliases[k];
        int seen = 0;
        for (int j = 0; j <= i && !seen; j++) {
            const struct cdl_market *o = &a->markets[j].m;
            int before = j < i ? o->n_aliases : k; /* market i: only the names before n */
            seen = (j < i || k >= 0) && !strcmp(o->name, n);
            for (int x = 0; x < before && !seen; x++)
                seen = !strcmp(o->aliases[x], n);
        }
        if (seen) {
            if (k < 0)
                snprintf(err, errlen, "%s: market '%s' defined twice", where, n);
            else
                snprintf(err, errlen, "%s: alias '%s' is already a market or alias", where, n);
            return 1;
        }
    }
    return 0;
}

struct check_ctx {
    struct cdl_adapter *a;
    char *err;
    size_t errlen;
    int rc;
};

/* [ctx, adapter] -> []: checks the adapter table against the contract (adapter_schema.h) and
 * fills the adapter's markets.  Runs protected: reading the table can run its metamethods. */
static int check_adapter(lua_State *L)
{
    struct check_ctx *cx = lua_touserdata(L, 1);
    struct cdl_adapter *a = cx->a;
    char *err = cx->err;
    size_t errlen = cx->errlen;
    const int t = 2;
    cx->rc = CDL_EINVAL;
    if (lua_getfield(L, t, "name") != LUA_TSTRING || strcmp(lua_tostring(L, -1), a->name)) {
        snprintf(err, errlen, "adapter '%s': name must be \"%s\" (the file name)", a->name, a->name);
        return 0;
    }
    lua_pop(L, 1);
    if (cdl_schema_check_hooks(L, t, a->name, &a->has_rest, err, errlen))
        return 0;
    if (lua_getfield(L, t, "markets") != LUA_TTABLE || lua_rawlen(L, -1) == 0 ||
        lua_rawlen(L, -1) > CDL_MARKETS_MAX) { /* [ctx, adapter, markets] */
        snprintf(err, errlen, "adapter '%s': markets must be a non-empty array (at most %d)", a->name, CDL_MARKETS_MAX);
        return 0;
    }
    int n = (int)lua_rawlen(L, -1);
    a->markets = cdl_xcalloc((size_t)n, sizeof *a->markets);
    for (int i = 0; i < n; i++) {
        struct market_rec *rec = &a->markets[i];
        char where[96];
        snprintf(where, sizeof where, "adapter '%s': markets[%d]", a->name, i + 1);
        if (lua_rawgeti(L, 3, i + 1) != LUA_TTABLE) { /* [ctx, adapter, markets, market] */
            snprintf(err, errlen, "%s must be a table", where);
            return 0;
        }
        if (cdl_schema_check_market(L, 4, &rec->m, where, err, errlen))
            return 0;
        rec->m.index = i;
        if (name_taken(a, i, where, err, errlen))
            return 0;
        if (lua_getfield(L, 4, "intervals") == LUA_TNIL) {
            lua_pop(L, 1);
            lua_getfield(L, t, "intervals");
        }
        if (!lua_istable(L, -1)) { /* [ctx, adapter, markets, market, intervals] */
            snprintf(err, errlen, "%s.intervals must be a table (or set the adapter's intervals)", where);
            return 0;
        }
        if (read_intervals(L, rec, err, errlen, where))
            return 0;
        lua_settop(L, 3);
    }
    a->n_markets = n;
    cx->rc = 0;
    return 0;
}

int cdl_lua_host_load(struct cdl_lua_host *h, const char *name, struct cdl_adapter **out, char *err, size_t errlen)
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
    struct cdl_adapter *a = cdl_xcalloc(1, sizeof *a);
    a->host = h;
    snprintf(a->name, sizeof a->name, "%s", name);
    int top = lua_gettop(L);
    int rc = cdl_sandbox_run_file(&h->sb, path, &a->env_ref); /* [adapter] or [message] */
    if (rc != LUA_OK) {
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
    struct check_ctx cx = { .a = a, .err = err, .errlen = errlen, .rc = CDL_EINVAL };
    lua_pushcfunction(L, check_adapter);
    lua_pushlightuserdata(L, &cx);
    lua_pushvalue(L, -3); /* [adapter, check, ctx, adapter] */
    if (cdl_sandbox_pcall(&h->sb, 2, 0) != LUA_OK) {
        snprintf(err, errlen, "adapter '%s': %s", name,
                 lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "error while checking");
        cx.rc = CDL_ELUA;
    }
    if ((rc = cx.rc))
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

int cdl_adapter_symbol(struct cdl_adapter *a, const struct cdl_market *m, const char *text, char *out, size_t outlen,
                       char *err, size_t errlen)
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

const struct cdl_market *cdl_adapter_pick_market(struct cdl_adapter *a, const char *market, const char *const *symbols,
                                                 int n, const char *hint, char *err, size_t errlen)
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
    case LUA_TBOOLEAN: lua_pushboolean(to, lua_toboolean(from, -1)); return 0;
    case LUA_TTABLE: break;
    default: return -1;
    }
    if (depth <= 0)
        return -1;
    lua_newtable(to);
    lua_pushnil(from);
    while (lua_next(from, -2)) { /* from: [t, k, v] */
        lua_pushvalue(from, -2); /* [t, k, v, k] */
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

int cdl_adapter_connect_url(struct cdl_adapter *a, int session, const struct cdl_stream_ref *streams, int n, char *out,
                            size_t outlen)
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
    cdl_lua_push_streams(L, streams, n);
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

/* Emits the frames a hook returned (at the top of the stack) and pops them; each bad entry is a
 * contract breach. */
static int emit_frames(struct cdl_adapter *a, const char *hook, cdl_frame_emit emit, void *user)
{
    int bad = cdl_lua_emit_frames(a->host->L, emit, user);
    if (bad < 0)
        contract_error(a, hook, "must return an array of text frames");
    for (int i = 0; i < bad; i++)
        contract_error(a, hook, "frames must be non-empty strings");
    return bad ? CDL_ELUA : 0;
}

int cdl_adapter_subscribe(struct cdl_adapter *a, int session, const struct cdl_stream_ref *streams, int n,
                          int unsubscribe, cdl_frame_emit emit, void *user)
{
    const char *hook = unsubscribe ? "unsubscribe" : "subscribe";
    lua_State *L = a->host->L;
    if (!push_hook(a, NULL, hook))
        return unsubscribe ? 0 : CDL_ENOTFOUND;
    lua_rawgeti(L, LUA_REGISTRYINDEX, session);
    cdl_lua_push_streams(L, streams, n);
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

/* [r1, r2] on the stack -> converted into res; pops them. */
static int convert(struct cdl_adapter *a, const char *hook, struct cdl_parse_result *res)
{
    lua_State *L = a->host->L;
    struct cdl_convert_ctx cx = { .res = res, .scratch = &a->host->scratch };
    lua_pushcfunction(L, cdl_lua_convert_results);
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

int cdl_adapter_parse(struct cdl_adapter *a, int session, const char *frame, size_t len, struct cdl_parse_result *res)
{
    lua_State *L = a->host->L;
    cdl_parse_result_reset(res, CDL_PARSE_MAX);
    if (!push_hook(a, NULL, "parse"))
        return CDL_ENOTFOUND;
    lua_rawgeti(L, LUA_REGISTRYINDEX, session);
    lua_pushlstring(L, frame, len);
    int rc = pcall_budget(a, "parse", 2, 2);
    return rc ? rc : convert(a, "parse", res);
}

/* ---- REST ------------------------------------------------------------------------------------------ */

struct rest_req_ctx {
    struct cdl_rest_req *out;
    const char *bad;
};

/* [ctx, request] -> [] */
static int rest_req_p(lua_State *L)
{
    struct rest_req_ctx *cx = lua_touserdata(L, 1);
    cx->bad = cdl_lua_rest_req(L, 2, cx->out);
    return 0;
}

int cdl_adapter_rest_request(struct cdl_adapter *a, const struct cdl_market *m, const struct cdl_rest_query *q,
                             struct cdl_rest_req *out)
{
    lua_State *L = a->host->L;
    memset(out, 0, sizeof *out);
    if (!push_hook(a, "rest", "request"))
        return CDL_ENOTFOUND;
    lua_pushstring(L, m->name);
    cdl_lua_push_query(L, q);
    int rc = pcall_budget(a, "rest.request", 2, 1);
    if (rc)
        return rc;
    /* [request] -> converted by a protected call: reading it can run its metamethods */
    struct rest_req_ctx cx = { .out = out };
    lua_pushcfunction(L, rest_req_p);
    lua_insert(L, -2);
    lua_pushlightuserdata(L, &cx);
    lua_insert(L, -2); /* [fn, ctx, request] */
    if ((rc = pcall_budget(a, "rest.request", 2, 0))) {
        cdl_rest_req_clear(out);
        return rc;
    }
    const char *bad = cx.bad;
    if (bad) {
        contract_error(a, "rest.request", bad);
        return CDL_ELUA;
    }
    return 0;
}

int cdl_adapter_rest_parse(struct cdl_adapter *a, const struct cdl_market *m, const struct cdl_rest_query *q,
                           const char *body, size_t len, struct cdl_parse_result *res)
{
    lua_State *L = a->host->L;
    cdl_parse_result_reset(res, m->rest_max_rows);
    if (!push_hook(a, "rest", "parse"))
        return CDL_ENOTFOUND;
    lua_pushstring(L, m->name);
    cdl_lua_push_query(L, q);
    lua_pushlstring(L, body, len);
    int rc = pcall_budget(a, "rest.parse", 3, 2);
    return rc ? rc : convert(a, "rest.parse", res);
}

/* lua_sandbox.c - see lua_sandbox.h.
 *
 * Stack-layout comments use [a, b, c] with the top on the right. */
#include "lua_sandbox.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter_schema.h"
#include "clock.h"
#include "lua_json.h"

#define HOOK_STEP 1000 /* instructions between count-hook calls */

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

/* The sandbox of a state: its allocator's data is the sandbox's mem. */
static struct cdl_sandbox *sandbox_of(lua_State *L)
{
    void *ud;
    lua_getallocf(L, &ud);
    return (struct cdl_sandbox *)((char *)ud - offsetof(struct cdl_sandbox, mem));
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    struct cdl_sandbox *sb = sandbox_of(L);
    if (--sb->steps_left < 0)
        luaL_error(L, "instruction budget exceeded (%d instructions)", (int)(sb->budget_steps * HOOK_STEP));
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

int cdl_sandbox_pcall(struct cdl_sandbox *sb, int nargs, int nres)
{
    lua_State *L = sb->L;
    int base = lua_gettop(L) - nargs; /* index of fn */
    lua_pushcfunction(L, msgh);
    lua_insert(L, base);
    sb->steps_left = sb->budget_steps;
    int rc = lua_pcall(L, nargs, nres, base);
    lua_remove(L, base);
    return rc;
}

int cdl_sandbox_over_budget(int rc, const char *msg)
{
    return rc == LUA_ERRMEM || (msg && strstr(msg, "instruction budget exceeded"));
}

/* ---- sandbox environments ----------------------------------------------------------------------- */

static const char *const base_allow[] = { "assert",       "error",        "ipairs",   "next",     "pairs",
                                          "pcall",        "select",       "tonumber", "tostring", "type",
                                          "xpcall",       "rawequal",     "rawget",   "rawlen",   "rawset",
                                          "setmetatable", "getmetatable", "_VERSION", NULL };

/* The SDK modules implemented in C. */
static const luaL_Reg c_modules[] = {
    { "candled.json", luaopen_candled_json },
    { "candled.contract", luaopen_candled_contract },
    { NULL, NULL },
};

/* Copies the fields of the library table at the top into a new table, skipping `deny`. [lib] -> [copy] */
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

static lua_CFunction c_module(const char *name)
{
    for (int i = 0; c_modules[i].name; i++)
        if (!strcmp(c_modules[i].name, name))
            return c_modules[i].func;
    return NULL;
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
    lua_CFunction open = c_module(name);
    if (open) {
        lua_pushcfunction(L, open);
        lua_call(L, 0, 1);
    } else {
        struct cdl_sandbox *sb = sandbox_of(L);
        char path[2 * CDL_URL_MAX];
        snprintf(path, sizeof path, "%s/candled/%s.lua", sb->lua_dir, name + 8);
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

int cdl_sandbox_run_file(struct cdl_sandbox *sb, const char *path, int *env_ref)
{
    lua_State *L = sb->L;
    *env_ref = 0;
    int rc = luaL_loadfilex(L, path, "t");
    if (rc != LUA_OK)
        return rc;       /* [message] */
    push_sandbox_env(L); /* [chunk, env] */
    lua_pushvalue(L, -1);
    int ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_setupvalue(L, -2, 1); /* [chunk] */
    rc = cdl_sandbox_pcall(sb, 0, 1);
    if (rc != LUA_OK)
        luaL_unref(L, LUA_REGISTRYINDEX, ref);
    else
        *env_ref = ref;
    return rc;
}

/* ---- the state ---------------------------------------------------------------------------------- */

void cdl_sandbox_open(struct cdl_sandbox *sb, size_t memory_limit, long instruction_budget, const char *lua_dir)
{
    snprintf(sb->lua_dir, sizeof sb->lua_dir, "%s", lua_dir ? lua_dir : "lua");
    sb->mem.used = 0;
    sb->mem.limit = memory_limit ? memory_limit : (size_t)64 << 20;
    long budget = instruction_budget > 0 ? instruction_budget : 1000000;
    sb->budget_steps = budget / HOOK_STEP > 0 ? budget / HOOK_STEP : 1;
    sb->L = lua_newstate(cdl_lua_capped_alloc, &sb->mem);
    if (!sb->L)
        abort();
    lua_State *L = sb->L;
    /* The full libraries exist in the state's own globals only; sandboxes see copies of what
     * the allow-list names. */
    luaL_openlibs(L);
    /* Lock the string metatable so getmetatable("").__index cannot reach the shared library. */
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);
    lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_STEP);
    lua_gc(L, LUA_GCGEN, 0, 0);
}

void cdl_sandbox_close(struct cdl_sandbox *sb)
{
    if (sb->L)
        lua_close(sb->L);
    sb->L = NULL;
}

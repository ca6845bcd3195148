/* lua_json.c - see lua_json.h. */
#include "lua_json.h"

#include <lauxlib.h>
#include <lua-cjson.h>
#include <stdlib.h>
#include <string.h>

#include "jsonscan.h"

/* Exported by liblua5.4-cjson but not declared in Debian's generated lua-cjson.h. */
int luaopen_cjson_safe(lua_State *L);

#define EXTRACTOR_MT "candled.json.extractor"

struct extractor {
    struct cdl_jsonscan *scan;
    int n;
};

/* ex(text, out) -> true | nil, message.  [ex, text, out] */
static int ex_call(lua_State *L)
{
    struct extractor *ex = luaL_checkudata(L, 1, EXTRACTOR_MT);
    size_t len;
    const char *text = luaL_checklstring(L, 2, &len);
    luaL_checktype(L, 3, LUA_TTABLE);
    struct cdl_json_span spans[CDL_JSONSCAN_MAX_PATHS];
    char err[96];
    if (cdl_jsonscan_run(ex->scan, text, len, spans, err, sizeof err)) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    for (int i = 0; i < ex->n; i++) {
        const struct cdl_json_span *sp = &spans[i];
        const char *v = text + sp->off;
        int64_t iv;
        switch (sp->kind) {
        case CDL_J_STRING:
            if (!sp->escaped) {
                lua_pushlstring(L, v, sp->len);
            } else {
                luaL_Buffer b;
                char *dst = luaL_buffinitsize(L, &b, sp->len + 4);
                long n = cdl_json_unescape(v, sp->len, dst, sp->len + 4);
                if (n < 0) {
                    lua_pushnil(L);
                    lua_pushstring(L, "bad escape in string");
                    return 2;
                }
                luaL_pushresultsize(&b, (size_t)n);
            }
            break;
        case CDL_J_NUMBER:
            if (cdl_json_int64(v, sp->len, &iv))
                lua_pushinteger(L, (lua_Integer)iv);
            else
                lua_pushlstring(L, v, sp->len); /* the exact token text */
            break;
        case CDL_J_TRUE: lua_pushboolean(L, 1); break;
        case CDL_J_FALSE: lua_pushboolean(L, 0); break;
        case CDL_J_OBJECT:
        case CDL_J_ARRAY: lua_pushlstring(L, v, sp->len); break;
        default: lua_pushnil(L); break;
        }
        lua_rawseti(L, 3, i + 1);
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int ex_gc(lua_State *L)
{
    struct extractor *ex = luaL_checkudata(L, 1, EXTRACTOR_MT);
    cdl_jsonscan_destroy(ex->scan);
    ex->scan = NULL;
    return 0;
}

/* extractor{ "path", ... } -> ex */
static int new_extractor(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int n = (int)lua_rawlen(L, 1);
    if (n < 1 || n > CDL_JSONSCAN_MAX_PATHS)
        return luaL_error(L, "extractor: between 1 and %d paths", CDL_JSONSCAN_MAX_PATHS);
    const char *paths[CDL_JSONSCAN_MAX_PATHS];
    for (int i = 0; i < n; i++) {
        if (lua_rawgeti(L, 1, i + 1) != LUA_TSTRING) /* checked before lua_tostring could convert */
            return luaL_error(L, "extractor: path %d is not a string", i + 1);
        paths[i] = lua_tostring(L, -1);
        lua_pop(L, 1); /* still anchored in the argument table */
    }
    struct extractor *ex = lua_newuserdatauv(L, sizeof *ex, 0);
    ex->scan = NULL;
    ex->n = n;
    luaL_setmetatable(L, EXTRACTOR_MT);
    ex->scan = cdl_jsonscan_create(paths, n);
    if (!ex->scan)
        return luaL_error(L, "extractor: bad path (empty segment, too long or too many nodes)");
    return 1;
}

int luaopen_candled_json(lua_State *L)
{
    if (luaL_newmetatable(L, EXTRACTOR_MT)) {
        lua_pushcfunction(L, ex_call);
        lua_setfield(L, -2, "__call");
        lua_pushcfunction(L, ex_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushliteral(L, "candled.json.extractor");
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
    lua_newtable(L); /* [M] */
    lua_pushcfunction(L, luaopen_cjson_safe);
    lua_call(L, 0, 1); /* [M, cjson] */
    lua_getfield(L, -1, "decode");
    lua_setfield(L, -3, "decode");
    lua_getfield(L, -1, "encode");
    lua_setfield(L, -3, "encode");
    lua_pop(L, 1);
    lua_pushcfunction(L, new_extractor);
    lua_setfield(L, -2, "extractor");
    return 1;
}

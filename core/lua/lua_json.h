/* lua_json.h - the `candled.json` Lua module (docs/adapters.md): decode/encode from lua-cjson's
 * safe variant, and `extractor{paths}`, the allocation-free field reader built on jsonscan.h.
 * The adapter host preloads it for adapters; it is also built as candled/json.so for busted. */
#ifndef CDL_LUA_JSON_H
#define CDL_LUA_JSON_H

#include <lua.h>

int luaopen_candled_json(lua_State *L);

#endif

/* lua_sandbox.h - one Lua 5.4 state for untrusted scripts: a capped allocator, an instruction
 * budget per protected call, and sandbox environments (an allow-list of libraries and a
 * `require` that serves only the candled.* SDK: its Lua files from the SDK directory, and the C
 * modules candled.json and candled.contract).  It knows nothing of adapters (lua_host.h).
 *
 * Ownership: struct cdl_sandbox is the caller's (embedded); it owns the lua_State from
 * cdl_sandbox_open to cdl_sandbox_close.  Everything runs on the thread that opened it. */
#ifndef CDL_LUA_SANDBOX_H
#define CDL_LUA_SANDBOX_H

#include <lua.h>
#include <stddef.h>

#include "sizes.h"

/* A Lua allocator that refuses to grow past limit bytes (Lua raises a memory error in the
 * protected call): lua_newstate(cdl_lua_capped_alloc, &mem).  The adapters' state and config.lua
 * each have one. */
struct cdl_lua_mem {
    size_t used, limit;
};
void *cdl_lua_capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

struct cdl_sandbox {
    lua_State *L;
    struct cdl_lua_mem mem;
    long budget_steps, steps_left; /* in count-hook steps */
    char lua_dir[CDL_URL_MAX];     /* where candled/<module>.lua live */
};

/* Opens the state: memory_limit bytes (0 = 64 MiB), instruction_budget per call (0 = 1,000,000),
 * the SDK in lua_dir (NULL = "lua").  Aborts on OOM. */
void cdl_sandbox_open(struct cdl_sandbox *sb, size_t memory_limit, long instruction_budget, const char *lua_dir);
void cdl_sandbox_close(struct cdl_sandbox *sb);

/* lua_pcall with a fresh budget and a traceback message handler (error tables pass unchanged).
 * [fn, args...] -> [results...] and LUA_OK, or [message] and the error code. */
int cdl_sandbox_pcall(struct cdl_sandbox *sb, int nargs, int nres);
/* 1 if the error code and message of a failed cdl_sandbox_pcall mean the memory cap or the
 * instruction budget, not a raise of the script. */
int cdl_sandbox_over_budget(int rc, const char *msg);

/* Loads the text chunk at `path` into a new sandbox environment and runs it with a budget.
 * Success: [] -> [result], LUA_OK, *env_ref = a registry reference to the environment (the
 * caller's).  Failure: [] -> [message], the load or run error code, *env_ref = 0. */
int cdl_sandbox_run_file(struct cdl_sandbox *sb, const char *path, int *env_ref);

#endif

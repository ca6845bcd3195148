/* lua_host.h - the Lua 5.4 adapter host: the trust boundary between exchange scripts and C.
 *
 * One host owns one Lua state (lua_sandbox.h: on the loop thread, a capped allocator and a
 * per-call instruction budget).  Each adapter file (adapters/<name>.lua) is loaded as text into
 * its own sandbox environment and checked against the contract (adapter_schema.h,
 * docs/adapters.md).  Every hook call goes through lua_pcall with a traceback handler; whatever a
 * hook returns is converted by strict C code (lua_convert.h) into the values of adapter.h or
 * refused.  A raising or misbehaving hook is counted in
 * connector_adapter_errors_total{exchange,hook}, logged (rate-limited) and reported as an error
 * code: it never takes anything else down.  The adapter API itself is in adapter.h.
 *
 * Ownership: the host owns its adapters (struct cdl_adapter is borrowed until the host is
 * destroyed) and the Lua sessions (registry references) until cdl_adapter_session_free. */
#ifndef CDL_LUA_HOST_H
#define CDL_LUA_HOST_H

#include <stddef.h>

#include "adapter.h"
#include "metrics.h"

struct cdl_lua_opts {
    const char *adapters_dir; /* where <name>.lua live */
    const char *lua_dir;      /* where candled/<module>.lua live (the SDK) */
    size_t memory_limit;      /* bytes for the whole state; 0 = 64 MiB */
    long instruction_budget;  /* VM instructions per hook call; 0 = 1,000,000 */
};

struct cdl_lua_host;

/* Creates the state.  `metrics` is borrowed (may be NULL).  Aborts on OOM of the C side. */
struct cdl_lua_host *cdl_lua_host_create(const struct cdl_lua_opts *opts, struct cdl_metrics *metrics);
void cdl_lua_host_destroy(struct cdl_lua_host *h);
size_t cdl_lua_host_memory(const struct cdl_lua_host *h);
/* Runs a full garbage collection of the state; returns the bytes still in use (what the adapters
 * and their sessions really hold, for leak checks). */
size_t cdl_lua_host_collect(struct cdl_lua_host *h);

/* Loads adapters/<name>.lua (name: [a-z0-9_]+).  On failure returns a negative cdl_err and a
 * human message in err.  Loading the same name twice returns the loaded adapter. */
int cdl_lua_host_load(struct cdl_lua_host *h, const char *name, struct cdl_adapter **out, char *err, size_t errlen);
/* Names of adapters/<name>.lua files, sorted; returns the count (at most `max`). */
int cdl_lua_host_list(const struct cdl_lua_host *h, char names[][CDL_NAME_MAX], int max);

#endif

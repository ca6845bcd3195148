/* reload.h - hot reload of `candled serve` (SIGHUP and POST /-/reload).
 *
 * One reload, run on the loop thread between callbacks (a safe point: no hook is running):
 *   1. config.lua is read again through the caller's loader (defaults < file < environment <
 *      the command line's flags), and checked like at start-up;
 *   2. a new Lua host is built from the new lua.* settings; every adapter a running feed uses and
 *      every adapter the new subscriptions name is loaded into it (the adapter contract check);
 *   3. the hub checks that the new adapters can take over every running feed (same markets and
 *      intervals, every stream and every client's symbol naming the same exchange symbol, a
 *      self-check of connect_url / subscribe / ping) and every new subscription resolves;
 *   4. only then is anything changed: the reloadable keys and the subscriptions are applied, the
 *      feeds switch to the new adapters (sessions migrated, connections kept unless their
 *      parameters changed), the old host is freed, and the subscription diff is pinned/unpinned.
 * Any failure before step 4 leaves the running state untouched: the new host and configuration
 * are freed and the result says why.  Keys a reload cannot apply are listed in the result. */
#ifndef CDL_RELOAD_H
#define CDL_RELOAD_H

#include <stdint.h>

#include "config.h"
#include "hub.h"
#include "lua_host.h"
#include "metrics.h"

#define CDL_RELOAD_MAX_RESTART_KEYS 16

/* Builds the new configuration: 0 and *out (heap, freed with cdl_config_free + free by the
 * reload), or a negative error with a message. */
struct cdl_reload_loader {
    int (*load)(void *user, struct cdl_config **out, char *err, size_t errlen);
    void *user;
};

struct cdl_reload_result {
    int ok;             /* 1: applied; 0: refused, the running state stays */
    char message[1024]; /* why it was refused ("" when applied) */
    uint64_t at_ms;     /* wall clock when it finished, 0 = never ran */
    double duration_s;  /* time the loop spent in it */
    int streams_added, streams_removed, connections_restarted;
    char restart_required[CDL_RELOAD_MAX_RESTART_KEYS][48];
    int n_restart_required;
    uint64_t requests; /* reload requests that led to this one (coalesced) */
};

struct cdl_reload_ctx {
    struct cdl_config *cfg;     /* the running configuration, updated in place */
    struct cdl_lua_host **host; /* the running host, replaced */
    struct cdl_hub *hub;
    struct cdl_metrics *metrics; /* may be NULL */
    struct cdl_reload_loader loader;
};

/* Runs one reload; fills *res (requests excepted) and counts it in the reload metrics. */
void cdl_reload_run(const struct cdl_reload_ctx *ctx, struct cdl_reload_result *res);

/* The result as a JSON object (no newline), malloc'd: {"result":"ok"|"failed",...}. */
char *cdl_reload_json(const struct cdl_reload_result *res);

#endif

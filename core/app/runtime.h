/* runtime.h - the composition root: every long-lived object of one candled process, wired from
 * the configuration in one place, in the order they depend on each other, and torn down in the
 * reverse order.  The commands (cmd_stream, cmd_serve, cmd_check) are thin users of it; the
 * objects a later capability adds (a store, a bus) are created and destroyed here too.
 *
 * Life of a runtime:
 *   cdl_runtime_create   the loop, metrics and the Lua host; nothing touches the network, so a
 *                        command checks everything the user asked for before any connection;
 *   cdl_runtime_open     the lws context (client vhost with the upstream protocol), the circuit
 *                        breakers and the REST client;
 *   ...                  the command's own objects on top, then uv_run(&rt->loop);
 *   cdl_runtime_close    from a loop callback, once the command's network users are stopped:
 *                        the REST client goes, the lws context's first destroy lets uv_run end;
 *   cdl_runtime_release_net  after uv_run returned: the context's second destroy (lws #2595).
 *                        Upstream callbacks may still run inside it, so the command's feeds are
 *                        freed only after it;
 *   cdl_runtime_destroy  the rest, after the command freed its own objects.
 * Ownership: the runtime owns every object it points to; cfg is borrowed for its whole life.  The
 * fields are for the commands to read; a reload replaces host (cdl_reload_run takes &rt->host). */
#ifndef CDL_RUNTIME_H
#define CDL_RUNTIME_H

#include <uv.h>

struct cdl_config;
struct cdl_metrics;
struct cdl_lua_host;
struct cdl_net;
struct cdl_circuits;
struct cdl_rest;

struct cdl_runtime {
    uv_loop_t loop;
    struct cdl_config *cfg; /* borrowed; a reload applies into it */
    struct cdl_metrics *metrics;
    struct cdl_lua_host *host;
    struct cdl_net *net;           /* NULL until cdl_runtime_open */
    struct cdl_circuits *circuits; /* NULL until cdl_runtime_open */
    struct cdl_rest *rest;         /* NULL until cdl_runtime_open, and again after cdl_runtime_close */
};

/* Aborts on out of memory; nothing else can fail here. */
struct cdl_runtime *cdl_runtime_create(struct cdl_config *cfg);
/* 0, or CDL_EIO when the lws context cannot be created (logged). */
int cdl_runtime_open(struct cdl_runtime *rt);
/* From a loop callback; idempotent. */
void cdl_runtime_close(struct cdl_runtime *rt);
/* After uv_run returned; idempotent. */
void cdl_runtime_release_net(struct cdl_runtime *rt);
/* Frees everything and closes the loop (a warning if a handle is still open).  NULL is a no-op. */
void cdl_runtime_destroy(struct cdl_runtime *rt);

#endif

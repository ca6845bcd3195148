/* serve.h - `candled serve`: the daemon.  One loop running the hub (shared upstream streams),
 * the WebSocket server and the admin HTTP port, config.lua's subscriptions pinned, and the
 * graceful drain on SIGTERM/SIGINT:
 *   /ready turns 503 at once; after server.drain_grace_seconds clients get close 1001; once they
 *   are gone the upstreams are closed with close frames; then the process exits 0, all of it
 *   within server.drain_timeout_seconds.  A second signal exits at once (128 + signal).
 * SIGHUP and POST /-/reload reload config.lua and the adapters without dropping a connection
 * (reload.h).  The configuration is borrowed. */
#ifndef CDL_SERVE_H
#define CDL_SERVE_H

#include "config.h"
#include "reload.h"

/* Runs until drained; returns the exit status.  port_file: where the bound ports are written
 * ({"ws_port":N,"health_port":M}, renamed into place), or NULL.  loader builds the configuration
 * again for every reload (SIGHUP, POST /-/reload; reload.h); requests that arrive before a
 * reload has run join it (one reload, their count in its result).  cfg is the running
 * configuration: a reload updates it in place. */
int cdl_serve_run(struct cdl_config *cfg, const char *port_file, const struct cdl_reload_loader *loader);

#endif

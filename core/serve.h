/* serve.h - `candled serve`: the daemon.  One loop running the hub (shared upstream streams),
 * the WebSocket server and the admin HTTP port, config.lua's subscriptions pinned, and the
 * graceful drain on SIGTERM/SIGINT:
 *   /ready turns 503 at once; after server.drain_grace_seconds clients get close 1001; once they
 *   are gone the upstreams are closed with close frames; then the process exits 0, all of it
 *   within server.drain_timeout_seconds.  A second signal exits at once (128 + signal).
 * The configuration is borrowed. */
#ifndef CDL_SERVE_H
#define CDL_SERVE_H

#include "config.h"

/* Runs until drained; returns the exit status.  port_file: where the bound ports are written
 * ({"ws_port":N,"health_port":M}, renamed into place), or NULL. */
int cdl_serve_run(const struct cdl_config *cfg, const char *port_file);

#endif

/* commands.h - the commands of the command line, each a thin user of the composition root
 * (runtime.h); cli.c parses the arguments and calls one of them.
 *
 * stream: the feeds of the given subscriptions, their quotes on stdout (JSON lines or CSV,
 *   non-blocking; a closed-candle FIFO and an open latest-wins map behind a slow reader, and
 *   upstream reads paused when the FIFO is full), until --limit, SIGINT or SIGTERM.
 * serve: the daemon.  One loop running the hub (shared upstream streams), the client WebSocket
 *   API and the admin HTTP port, config.lua's subscriptions pinned, and the graceful drain on
 *   SIGTERM/SIGINT: /ready turns 503 at once; after server.drain_grace_seconds clients get close
 *   1001; once they are gone the upstreams are closed with close frames; then the process exits
 *   0, all of it within server.drain_timeout_seconds.  A second signal exits at once
 *   (128 + signal).  SIGHUP and POST /-/reload reload config.lua and the adapters without
 *   dropping a connection (reload.h).
 * check: config.lua, every adapter file, and every subscription against its adapter.
 * Each returns the process's exit status; the configuration is borrowed. */
#ifndef CDL_COMMANDS_H
#define CDL_COMMANDS_H

#include "config.h"
#include "reload.h"

enum { CDL_EXIT_OK = 0, CDL_EXIT_FAILURE = 1, CDL_EXIT_USAGE = 2 };

/* One subscription of `stream`: the strings are borrowed for the run. */
struct cdl_stream_sub {
    const char *exchange;
    const char *market; /* NULL: --market not given (the adapter's market_of, else its first) */
    const char *interval;
    const char **symbols;
    int n_symbols;
    const char *ws_url, *rest_url; /* NULL: config.lua's override, else the market's */
    int closed_only;
};

/* limit: quotes to print before stopping (0 = no limit); csv: CSV rows instead of JSON lines
 * (the header row is the caller's). */
int cdl_cmd_stream(struct cdl_config *cfg, const struct cdl_stream_sub *subs, int n_subs, long limit, int csv);

/* Runs until drained.  port_file: where the bound ports are written
 * ({"ws_port":N,"health_port":M}, renamed into place), or NULL.  loader builds the configuration
 * again for every reload (SIGHUP, POST /-/reload; reload.h); requests that arrive before a
 * reload has run join it (one reload, their count in its result).  cfg is the running
 * configuration: a reload updates it in place. */
int cdl_cmd_serve(struct cdl_config *cfg, const char *port_file, const struct cdl_reload_loader *loader);

/* Prints one line per adapter and a summary on stdout, problems on stderr. */
int cdl_cmd_check(struct cdl_config *cfg);

#endif

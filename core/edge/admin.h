/* admin.h - the admin HTTP port of `candled serve`: /health, /ready, /metrics.
 *
 *   GET /health  200 {"status":"healthy","timestamp":...} while the loop runs
 *   GET /ready   200 {"status":"ready",...,"exchanges":[...]} or 503 "not_ready" while draining
 *                or while an exchange market with streams has no established connection
 *   GET /metrics Prometheus text exposition (metrics.h), with the process figures refreshed
 *   POST /-/reload  asks for a reload (reload.h) and answers when it has run: 200 with the
 *                result ({"result":"ok",...}), 422 with it when it was refused, 503 while draining
 * One lws HTTP vhost on the shared context.  The hub, server and metrics are borrowed;
 * `draining` is read at every request.  Loop thread only. */
#ifndef CDL_ADMIN_H
#define CDL_ADMIN_H

#include "hub.h"
#include "reload.h"
#include "metrics.h"
#include "net.h"
#include "wsapi.h"

struct cdl_admin_opts {
    const char *host;
    int port; /* 0 = a free port */
    struct cdl_hub *hub;
    struct cdl_wsapi *server;
    struct cdl_metrics *metrics;
    struct cdl_circuits *circuits; /* borrowed, may be NULL: /ready's circuit_state */
    const int *draining;
    const struct cdl_reload_result *reload; /* the last reload, for /ready; may be NULL */
    void (*request_reload)(void *user);     /* POST /-/reload; NULL = not offered (404) */
    void *user;
};

struct cdl_admin;
struct cdl_circuits;

/* Listens; NULL if it cannot (logged).  *bound: the port it got. */
struct cdl_admin *cdl_admin_create(struct cdl_net *net, const struct cdl_admin_opts *o, int *bound);
/* Frees; after the lws context is gone.  NULL is a no-op. */
void cdl_admin_destroy(struct cdl_admin *a);

/* Answers every POST /-/reload waiting for the reload that has just run. */
void cdl_admin_reload_done(struct cdl_admin *a, const struct cdl_reload_result *res);

/* The /ready document and its status (200 or 503), malloc'd (exposed for tests). */
char *cdl_admin_ready_json(const struct cdl_admin_opts *o, int *status);
/* Refreshes process_resident_memory_bytes, process_cpu_seconds_total and process_open_fds. */
void cdl_admin_process_metrics(struct cdl_metrics *m);

#endif

/* net.h - the libwebsockets context, run on the daemon's own libuv loop (a foreign loop).
 *
 * Owns one lws_context with explicit vhosts: "client" (no listen socket, client TLS with the OS CA
 * store, and deliberately no permessage-deflate: lws 4.1.6 loops forever on an uncompressed frame
 * in a deflate session, lws #2794).  The upstream protocol's callback lives in upstream.c.
 * Shutdown is two-phase because lws 4.1.6 on a foreign loop only frees the context on a second
 * destroy after uv_run() returns (lws #2595): cdl_net_shutdown() from a uv callback, then
 * cdl_net_destroy() after the loop has stopped. */
#ifndef CDL_NET_H
#define CDL_NET_H

#include <uv.h>

struct lws_context;
struct lws_vhost;
struct cdl_net;
struct cdl_circuits;

/* ca_file: PEM CAs trusted for wss:// (NULL or "" = the OS CA store).  NULL on failure (logged). */
struct cdl_net *cdl_net_create(uv_loop_t *loop, const char *ca_file);
struct lws_context *cdl_net_context(struct cdl_net *n);
struct lws_vhost *cdl_net_client_vhost(struct cdl_net *n);
/* The circuit breakers upstream connections on this context use (borrowed, may be NULL = none);
 * set before any upstream starts. */
void cdl_net_set_circuits(struct cdl_net *n, struct cdl_circuits *cs);
struct cdl_circuits *cdl_net_circuits(struct cdl_net *n);
/* First destroy: starts closing every connection and lets uv_run() return. */
void cdl_net_shutdown(struct cdl_net *n);
/* Second destroy + free; call after uv_run() has returned.  NULL is a no-op. */
void cdl_net_destroy(struct cdl_net *n);

#endif

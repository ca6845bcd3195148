/* net.h - the libwebsockets context, run on the daemon's own libuv loop (a foreign loop).
 *
 * Owns one lws_context with explicit vhosts: "client" (no listen socket, client TLS with the OS CA
 * store, and deliberately no permessage-deflate: lws 4.1.6 loops forever on an uncompressed frame
 * in a deflate session, lws #2794) whose protocols the caller gives (upstream.c's).
 * Shutdown is two-phase because lws 4.1.6 on a foreign loop only frees the context on a second
 * destroy after uv_run() returns (lws #2595): cdl_net_shutdown() from a uv callback, then
 * cdl_net_destroy() after the loop has stopped. */
#ifndef CDL_NET_H
#define CDL_NET_H

#include <uv.h>

struct lws_context;
struct lws_vhost;
struct lws_protocols;
struct cdl_net;

/* ca_file: PEM CAs trusted for wss:// (NULL or "" = the OS CA store); client_protocols: the
 * client vhost's protocols (static, e.g. cdl_upstream_protocols()).  NULL on failure (logged). */
struct cdl_net *cdl_net_create(uv_loop_t *loop, const char *ca_file, const struct lws_protocols *client_protocols);
struct lws_context *cdl_net_context(struct cdl_net *n);
struct lws_vhost *cdl_net_client_vhost(struct cdl_net *n);
/* A listening vhost (the WebSocket server, the admin HTTP port) on host:port; port 0 = a free
 * port.  `protocols` (static) and `user` (lws_vhost_user) are borrowed for the vhost's life.
 * Returns the vhost with the bound port in *bound, or NULL (logged). */
struct lws_vhost *cdl_net_listen(struct cdl_net *n, const char *name, const char *host, int port,
                                 const struct lws_protocols *protocols, void *user, int *bound);
struct lws;
/* Writes a WebSocket close frame (code, reason up to 100 bytes) on wsi, from its WRITEABLE
 * callback, which then returns -1.  Done by hand because under libuv Debian's lws 4.1.6 kills
 * the socket without one after lws_close_reason() (lws #3569). */
void cdl_net_write_close(struct lws *wsi, int code, const char *reason);
/* Reassembly of one WebSocket message from lws's chunks, with a size cap (lws hands the app
 * rx_buffer_size pieces and caps nothing).  Zero-initialise; free with cdl_reasm_free. */
struct cdl_reasm {
    char *buf;
    size_t len, cap;
    int skip; /* dropping the rest of an oversize message */
};
enum { CDL_REASM_MORE = 0, CDL_REASM_DONE, CDL_REASM_OVERSIZE };
/* Feeds one chunk received on wsi.  DONE: *msg (borrowed until the next call) and *msg_len hold
 * the whole message; OVERSIZE: the message was over max bytes and dropped, *msg_len is its size;
 * MORE: incomplete. */
int cdl_reasm_feed(struct cdl_reasm *r, struct lws *wsi, size_t max, const char *in, size_t len, const char **msg,
                   size_t *msg_len);
void cdl_reasm_reset(struct cdl_reasm *r);
void cdl_reasm_free(struct cdl_reasm *r);

/* First destroy: starts closing every connection and lets uv_run() return. */
void cdl_net_shutdown(struct cdl_net *n);
/* Second destroy + free; call after uv_run() has returned.  NULL is a no-op. */
void cdl_net_destroy(struct cdl_net *n);

#endif

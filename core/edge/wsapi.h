/* wsapi.h - the WebSocket API of `candled serve`: clients subscribe to streams and get quotes.
 *
 * One lws server vhost on the shared context.  Each client sends JSON requests (subscribe,
 * unsubscribe, ping; the protocol is in docs/server.md) and gets replies and quotes.  Requests
 * are checked in full before anything is subscribed; a bad one is answered with
 * {"type":"error","code":...} and the connection stays open.  Streams come from the hub, so a
 * stream many clients want is one upstream stream.
 *
 * Delivery per client: replies first, then a bounded FIFO of closed candles, then the open
 * candles, latest-wins per subscribed symbol (memory bounded by the subscriptions).  Each
 * WRITEABLE writes queued messages (each its own WebSocket message) while the socket is not
 * choked, up to a bound.  A client whose closed FIFO passes its cap is closed with 1008 and
 * counted, so a slow client never slows the others or grows memory.  The queue depth gauges
 * (connector_queue_depth_closed / _open) are sums over the clients.  The server owns its
 * clients; net, hub and metrics are borrowed.  Loop thread only. */
#ifndef CDL_WSAPI_H
#define CDL_WSAPI_H

#include "hub.h"
#include "metrics.h"
#include "net.h"

struct cdl_wsapi_opts {
    const char *host;
    int port; /* 0 = a free port */
    int max_clients;
    int queue_max;   /* closed candles queued per client */
    int send_buffer; /* SO_SNDBUF of client sockets, 0 = the kernel's default */
    int max_message; /* bytes of one client message */
    int max_symbols; /* symbol subscriptions per client */
    double max_requests_per_sec;
};

struct cdl_wsapi;

/* Listens; NULL if it cannot (logged).  *bound: the port it got. */
struct cdl_wsapi *cdl_wsapi_create(struct cdl_net *net, struct cdl_hub *hub, struct cdl_metrics *metrics,
                                   const struct cdl_wsapi_opts *o, int *bound);
int cdl_wsapi_n_clients(const struct cdl_wsapi *s);
/* Refuses new clients and closes every client with 1001. */
void cdl_wsapi_drain(struct cdl_wsapi *s);
/* Frees what is left; after the lws context is gone.  NULL is a no-op. */
void cdl_wsapi_destroy(struct cdl_wsapi *s);

#endif

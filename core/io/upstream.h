/* upstream.h - one WebSocket client connection to an exchange, with everything the exchange
 * side needs and nothing exchange-specific:
 *   - DNS through uv_getaddrinfo (lws 4.1.6 would block the loop), TLS with the OS CA store;
 *   - message reassembly with a size cap (an oversize message is dropped and reported, the
 *     connection goes on);
 *   - a paced send queue (control frames at most max_sends_per_sec, the exchange's limit);
 *   - an idle timer (no frame for idle_timeout: reconnect) and an application ping timer;
 *   - reconnect with jittered exponential backoff (backoff.h), attempts reset once established;
 *   - a circuit breaker (circuit.h) shared with the other connections to the same market: no
 *     connect while it is open, only its trial connects while half-open; an attempt succeeds
 *     when the owner accepts a message of the established connection (cdl_upstream_accepted:
 *     a candle or an ack, so a server that upgrades and then sends garbage keeps failing), and
 *     fails when it ends before one (DNS, connect or handshake error, a close or idle timeout
 *     after the upgrade); an upgrade answered 429/418 with Retry-After keeps the breaker open
 *     that long;
 *   - closing with a real close frame (lws 4.1.6 under libuv drops it otherwise, lws #3569).
 * The owner gets callbacks; it owns the struct and destroys it (freed once lws and uv are done
 * with it, so destroy is safe from inside a callback). */
#ifndef CDL_UPSTREAM_H
#define CDL_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "circuit.h"
#include "net.h"
#include "url.h"

struct cdl_upstream;

struct cdl_upstream_cbs {
    void (*on_open)(void *user);                                                  /* established */
    void (*on_frame)(void *user, const char *data, size_t len, uint64_t recv_us); /* one whole message */
    void (*on_oversize)(void *user, size_t len);  /* a message over the cap was dropped */
    void (*on_ping)(void *user);                  /* every ping_interval while open */
    void (*on_down)(void *user, const char *why); /* lost or failed; a reconnect is scheduled */
};

struct cdl_upstream_opts {
    const char *url;             /* ws:// or wss:// */
    const char *name;            /* for logs, e.g. "binance/spot#1" */
    double idle_timeout_s;       /* reconnect after this long without a frame; 0 = never */
    double ping_interval_s;      /* on_ping period; 0 = none */
    double max_sends_per_sec;    /* pacing of send(); 0 = unpaced */
    size_t max_message;          /* reassembly cap in bytes; 0 = 1 MiB */
    size_t max_queued;           /* frames waiting to be sent; 0 = 4096 */
    struct cdl_circuit *circuit; /* borrowed: the market's breaker, shared by its connections; NULL = none */
};

struct cdl_upstream *cdl_upstream_create(struct cdl_net *net, uv_loop_t *loop, const struct cdl_upstream_opts *o,
                                         const struct cdl_upstream_cbs *cbs, void *user);
/* Starts connecting (DNS first).  0 or CDL_EINVAL for a bad URL. */
int cdl_upstream_start(struct cdl_upstream *u);
/* Queues a text frame (copied); CDL_EBUSY when the queue is full, CDL_ECLOSED when not open. */
int cdl_upstream_send(struct cdl_upstream *u, const char *data, size_t len);
/* Closes (close frame 1000) and reconnects after the backoff. */
void cdl_upstream_reconnect(struct cdl_upstream *u, const char *why);
int cdl_upstream_is_open(const struct cdl_upstream *u);
/* Backpressure: stop (1) or resume (0) reading the socket (lws_rx_flow_control); kept across
 * reconnects.  While paused no frame arrives, so the idle timer bounds the pause. */
void cdl_upstream_pause(struct cdl_upstream *u, int paused);
/* Frames queued and not yet written. */
size_t cdl_upstream_queued(const struct cdl_upstream *u);
/* The owner understood a message of the current connection (a candle, an ack): the connect
 * attempt worked, which its breaker learns (once per connection). */
void cdl_upstream_accepted(struct cdl_upstream *u);
/* Connections established so far (1 after the first, 2 after a reconnect...). */
unsigned cdl_upstream_generation(const struct cdl_upstream *u);
/* Closes with a close frame (1001) and frees once everything is released; no more callbacks. */
void cdl_upstream_destroy(struct cdl_upstream *u);

/* Upstreams not yet freed, in the whole process: a drain waits for 0 (every close frame sent). */
int cdl_upstream_alive(void);

/* The lws protocols of upstream connections ("cdl-upstream"), for the client vhost of
 * cdl_net_create: static, terminated by an empty entry. */
const struct lws_protocols *cdl_upstream_protocols(void);

#endif

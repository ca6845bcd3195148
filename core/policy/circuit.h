/* circuit.h - the process's circuit breakers by name: one per (exchange, market) for WebSocket
 * connects, shared by that market's upstream connections, and one per REST host
 * (scheme://host:port) for backfills.  Each is a breaker.h state machine plus what the daemon
 * adds around it: one log line per state change, the state gauge
 * (connector_circuit_breaker_state / connector_rest_circuit_breaker_state) and a counter of
 * changes by new state.  The registry owns its circuits; callers borrow them for the registry's
 * life.  At most CDL_CIRCUITS_MAX exist; past that a lookup returns NULL, which every user
 * treats as "no breaker".  Loop thread only; time is the caller's monotonic ms. */
#ifndef CDL_CIRCUIT_H
#define CDL_CIRCUIT_H

#include <stddef.h>
#include <stdint.h>

#include "breaker.h"

struct cdl_metrics;
struct cdl_circuits;
struct cdl_circuit;

#define CDL_CIRCUITS_MAX 512

/* The policy is copied; metrics may be NULL; seed drives every breaker's jitter. */
struct cdl_circuits *cdl_circuits_create(const struct cdl_breaker_policy *p, struct cdl_metrics *metrics,
                                         uint64_t seed);
void cdl_circuits_destroy(struct cdl_circuits *cs); /* NULL is a no-op */

/* Finds or creates the breaker of WebSocket connects to (exchange, market). */
struct cdl_circuit *cdl_circuits_ws(struct cdl_circuits *cs, const char *exchange, const char *market);
/* The REST host of url (http[s]://host[:port]/...) as "host:port", lower case, the default port
 * filled in: 0, or CDL_EINVAL (-) for a URL without a host.  The name of its breaker and budget. */
int cdl_rest_host_key(const char *url, char *out, size_t len);
/* Finds or creates the breaker of the REST host of url (http[s]://host[:port]/...); NULL for a
 * URL without a host. */
struct cdl_circuit *cdl_circuits_rest(struct cdl_circuits *cs, const char *url);

/* breaker.h's calls, with logging and metrics; why (may be NULL) goes into the log line. */
int cdl_circuit_allow(struct cdl_circuit *c, uint64_t now_ms);
void cdl_circuit_success(struct cdl_circuit *c, uint64_t now_ms);
void cdl_circuit_failure(struct cdl_circuit *c, uint64_t now_ms, const char *why);
void cdl_circuit_retry_after(struct cdl_circuit *c, uint64_t now_ms, uint64_t ms, const char *why);
void cdl_circuit_release(struct cdl_circuit *c);
/* Counts a request given up unsent because the breaker stays open (REST hosts). */
void cdl_circuit_refused(struct cdl_circuit *c);
uint64_t cdl_circuit_next_allowed(const struct cdl_circuit *c, uint64_t now_ms);
enum cdl_breaker_state cdl_circuit_state(const struct cdl_circuit *c);
/* Consecutive failures (for /ready's consecutive_failures). */
unsigned cdl_circuit_failures(const struct cdl_circuit *c);
/* "binance/spot" or "http://127.0.0.1:9001". */
const char *cdl_circuit_name(const struct cdl_circuit *c);

#endif

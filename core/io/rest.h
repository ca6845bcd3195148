/* rest.h - the REST client: libcurl multi on the daemon's libuv loop.
 *
 * One long-lived CURLM per struct cdl_rest (the connection cache, hence reuse and HTTP/2
 * multiplexing, lives in it), driven by CURLMOPT_SOCKETFUNCTION -> uv_poll and
 * CURLMOPT_TIMERFUNCTION -> uv_timer.  Requests beyond max_in_flight wait in a bounded FIFO.
 * Bodies are capped.  The caller owns the struct; each request's callback is called exactly once
 * (with CDL_ECLOSED when cancelled or destroyed), never from inside cdl_rest_request.
 *
 * With circuits set, every host (scheme://host:port) has a circuit breaker (circuit.h): a
 * transport error, HTTP 5xx, 429 or 418 is a failure, and a Retry-After keeps the host closed
 * for at least that long.  A request to a host whose breaker is open waits in the queue until it
 * half-opens (only the trial requests go then), at most breaker_max_wait_ms from the call; if the
 * breaker stays open longer, the request fails at once, unsent, with CDL_EOPEN.
 *
 * A host may also have a weight budget (cdl_rest_set_budget: a token bucket, bucket.h): each
 * request carries a weight, and one over the budget waits in the queue until the bucket has its
 * weight, behind the earlier requests to the same host (in order; requests to other hosts pass
 * it), rather than being sent to earn a 429.  A 429 or 418 from the host empties its bucket.
 * The queue is bounded by max_queued either way. */
#ifndef CDL_REST_H
#define CDL_REST_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct cdl_circuits;
struct cdl_metrics;

struct cdl_rest;

struct cdl_rest_opts {
    long max_in_flight;
    long max_queued;
    long timeout_ms;
    size_t max_body;
    long pool_connections; /* per host (CONNECTOR_REST_POOL_CONNECTIONS) */
    long pool_maxsize;     /* in total (CONNECTOR_REST_POOL_MAXSIZE) */
    const char *user_agent;
    const char *ca_file;           /* PEM CAs for https (NULL = the OS CA store); borrowed for the client's life */
    struct cdl_circuits *circuits; /* per-host breakers, borrowed for the client's life; NULL = none */
    long breaker_max_wait_ms;      /* longest wait for an open host's breaker */
    double budget_fraction;        /* share of every declared budget used, (0, 1]; 0 = no budgets */
    struct cdl_metrics *metrics;   /* borrowed, may be NULL: the budget gauges */
};
/* 8 in flight, 1024 queued, 10 s, 8 MiB, 10, 20, "candled/<version>", OS CA store, no
 * breakers, 10 s, the whole budgets, no metrics */
void cdl_rest_opts_default(struct cdl_rest_opts *o);

struct cdl_rest_response {
    uint64_t id;
    long status;      /* HTTP status, 0 if there was no response */
    const char *body; /* borrowed until the callback returns; NUL-terminated */
    size_t body_len;
    double retry_after_s;   /* Retry-After in seconds, -1 if absent */
    int error;              /* 0, or CDL_EIO (transport), CDL_ERANGE (body cap), CDL_ECLOSED (cancelled),
                             * CDL_EOPEN (not sent: the host's breaker is open) */
    const char *error_text; /* "" when error == 0 */
    long http_version;      /* 1 or 2 */
    double total_s;
};

typedef void (*cdl_rest_cb)(void *user, const struct cdl_rest_response *resp);

struct cdl_rest *cdl_rest_create(uv_loop_t *loop, const struct cdl_rest_opts *opts);
/* method "GET" or "POST"; headers NULL or NULL-terminated "Name: value"; body NULL for none.
 * 0, CDL_EBUSY (queue full), CDL_EINVAL, CDL_ECLOSED (destroyed). */
int cdl_rest_request(struct cdl_rest *r, const char *method, const char *url, const char *const *headers,
                     const char *body, cdl_rest_cb cb, void *user, uint64_t *id_out);
/* The same, with the request's weight against its host's budget (cdl_rest_request: 1). */
int cdl_rest_request_weighted(struct cdl_rest *r, const char *method, const char *url, const char *const *headers,
                              const char *body, double weight, cdl_rest_cb cb, void *user, uint64_t *id_out);
/* Gives the host of url a budget of weight_per_minute (times budget_fraction) with a burst of
 * `burst` (0 = a second's worth).  A host declared twice keeps the smaller rate and burst.
 * weight_per_minute 0 = nothing.  0, or CDL_EINVAL for a URL without a host. */
int cdl_rest_set_budget(struct cdl_rest *r, const char *url, double weight_per_minute, double burst);
int cdl_rest_cancel(struct cdl_rest *r, uint64_t id);
size_t cdl_rest_in_flight(const struct cdl_rest *r);
size_t cdl_rest_queued(const struct cdl_rest *r);

struct cdl_rest_stats {
    uint64_t requests, ok, failed, new_connections, h2;
    uint64_t breaker_waits;   /* requests that waited for a host's breaker */
    uint64_t breaker_refused; /* requests failed with CDL_EOPEN */
    uint64_t budget_waits;    /* requests that waited for their host's budget */
    uint64_t budget_waiting;  /* requests waiting for it now */
};
void cdl_rest_stats(const struct cdl_rest *r, struct cdl_rest_stats *out);

/* Cancels everything (callbacks get CDL_ECLOSED) and closes its uv handles; memory is freed in
 * the close callbacks, so the loop must run afterwards.  NULL is a no-op. */
void cdl_rest_destroy(struct cdl_rest *r);

#endif

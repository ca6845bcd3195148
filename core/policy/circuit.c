/* circuit.c - see circuit.h. */
#include "circuit.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "metrics.h"
#include "xalloc.h"

struct cdl_circuit {
    struct cdl_circuit *next;
    struct cdl_circuits *cs;
    struct cdl_breaker *b;
    int rest;       /* a REST host (else WebSocket connects of a market) */
    char name[300]; /* "exchange/market" or "host:port" */
    char exchange[64], market[64];
    struct cdl_series *s_state, *s_to[3], *s_refused;
};

struct cdl_circuits {
    struct cdl_breaker_policy p;
    struct cdl_metrics *metrics;
    uint64_t seed;
    struct cdl_circuit *head;
    int n;
};

struct cdl_circuits *cdl_circuits_create(const struct cdl_breaker_policy *p, struct cdl_metrics *metrics, uint64_t seed)
{
    struct cdl_circuits *cs = cdl_xcalloc(1, sizeof *cs);
    cs->p = *p;
    cs->metrics = metrics;
    cs->seed = seed;
    return cs;
}

void cdl_circuits_destroy(struct cdl_circuits *cs)
{
    if (!cs)
        return;
    struct cdl_circuit *c = cs->head, *next;
    for (; c; c = next) {
        next = c->next;
        cdl_breaker_destroy(c->b);
        free(c);
    }
    free(cs);
}

static struct cdl_circuit *find(struct cdl_circuits *cs, int rest, const char *name)
{
    for (struct cdl_circuit *c = cs->head; c; c = c->next)
        if (c->rest == rest && !strcmp(c->name, name))
            return c;
    return NULL;
}

static struct cdl_circuit *add(struct cdl_circuits *cs, int rest, const char *name)
{
    if (cs->n >= CDL_CIRCUITS_MAX)
        return NULL;
    struct cdl_circuit *c = cdl_xcalloc(1, sizeof *c);
    c->cs = cs;
    c->rest = rest;
    snprintf(c->name, sizeof c->name, "%s", name);
    /* each breaker its own jitter sequence, so breakers opened together do not retry together */
    c->b = cdl_breaker_create(&cs->p, cs->seed + 0x9E3779B97F4A7C15ULL * (uint64_t)(cs->n + 1));
    c->next = cs->head;
    cs->head = c;
    cs->n++;
    return c;
}

static void make_series(struct cdl_circuit *c)
{
    struct cdl_metrics *m = c->cs->metrics;
    if (!m)
        return;
    for (int s = 0; s < 3; s++) {
        const char *to = cdl_breaker_state_name((enum cdl_breaker_state)s);
        c->s_to[s] = c->rest ? cdl_metrics_series(m, CDL_M_REST_CIRCUIT_TRANSITIONS, c->name, to)
                             : cdl_metrics_series(m, CDL_M_CIRCUIT_TRANSITIONS, c->exchange, c->market, to);
    }
    c->s_state = c->rest ? cdl_metrics_series(m, CDL_M_REST_CIRCUIT_STATE, c->name)
                         : cdl_metrics_series(m, CDL_M_CIRCUIT_STATE, c->exchange, c->market);
    if (c->rest)
        c->s_refused = cdl_metrics_series(m, CDL_M_REST_CIRCUIT_REFUSED, c->name);
    cdl_series_set(c->s_state, CDL_BREAKER_CLOSED);
}

struct cdl_circuit *cdl_circuits_ws(struct cdl_circuits *cs, const char *exchange, const char *market)
{
    char name[300];
    snprintf(name, sizeof name, "%.63s/%.63s", exchange, market);
    struct cdl_circuit *c = find(cs, 0, name);
    if (c || !(c = add(cs, 0, name)))
        return c;
    snprintf(c->exchange, sizeof c->exchange, "%s", exchange);
    snprintf(c->market, sizeof c->market, "%s", market);
    make_series(c);
    return c;
}

int cdl_rest_host_key(const char *url, char *out, size_t len)
{
    int tls = !strncmp(url, "https://", 8);
    if (!tls && strncmp(url, "http://", 7))
        return CDL_EINVAL;
    const char *h = url + (tls ? 8 : 7);
    size_t n = strcspn(h, "/?#");
    const char *at = memchr(h, '@', n); /* userinfo is not part of the host */
    if (at) {
        n -= (size_t)(at + 1 - h);
        h = at + 1;
    }
    if (n == 0 || n > 255 || n + 7 > len)
        return CDL_EINVAL;
    size_t k;
    for (k = 0; k < n; k++)
        out[k] = (char)tolower((unsigned char)h[k]);
    out[k] = '\0';
    /* "host" and "host:443" are one host; a bracketed IPv6 address has colons of its own */
    const char *close = strrchr(out, ']'), *colon = strrchr(out, ':');
    if (!colon || (close && colon < close))
        snprintf(out + k, len - k, ":%d", tls ? 443 : 80);
    return 0;
}

struct cdl_circuit *cdl_circuits_rest(struct cdl_circuits *cs, const char *url)
{
    char name[300];
    if (cdl_rest_host_key(url, name, sizeof name))
        return NULL;
    struct cdl_circuit *c = find(cs, 1, name);
    if (c || !(c = add(cs, 1, name)))
        return c;
    make_series(c);
    return c;
}

/* Logs and counts a change of state. */
static void changed(struct cdl_circuit *c, enum cdl_breaker_state from, uint64_t now, const char *why)
{
    enum cdl_breaker_state to = cdl_breaker_state(c->b);
    if (to == from)
        return;
    if (c->s_state) {
        cdl_series_set(c->s_state, to);
        cdl_series_add(c->s_to[to], 1);
    }
    const char *what = c->rest ? "rest" : "connect";
    if (to == CDL_BREAKER_OPEN) {
        char fails[16], wait[24];
        snprintf(fails, sizeof fails, "%u", cdl_breaker_failures(c->b));
        snprintf(wait, sizeof wait, "%llu", (unsigned long long)(cdl_breaker_next_allowed(c->b, now) - now));
        cdl_log(CDL_LOG_WARN, "circuit breaker open", "circuit", c->name, "kind", what, "from",
                cdl_breaker_state_name(from), "failures", fails, "wait_ms", wait, "reason", why, NULL);
    } else {
        cdl_log(CDL_LOG_INFO, to == CDL_BREAKER_CLOSED ? "circuit breaker closed" : "circuit breaker half-open",
                "circuit", c->name, "kind", what, NULL);
    }
}

int cdl_circuit_allow(struct cdl_circuit *c, uint64_t now)
{
    enum cdl_breaker_state from = cdl_breaker_state(c->b);
    int ok = cdl_breaker_allow(c->b, now);
    changed(c, from, now, NULL);
    return ok;
}

void cdl_circuit_success(struct cdl_circuit *c, uint64_t now)
{
    enum cdl_breaker_state from = cdl_breaker_state(c->b);
    cdl_breaker_on_success(c->b, now);
    changed(c, from, now, NULL);
}

void cdl_circuit_failure(struct cdl_circuit *c, uint64_t now, const char *why)
{
    enum cdl_breaker_state from = cdl_breaker_state(c->b);
    cdl_breaker_on_failure(c->b, now);
    changed(c, from, now, why);
}

void cdl_circuit_retry_after(struct cdl_circuit *c, uint64_t now, uint64_t ms, const char *why)
{
    enum cdl_breaker_state from = cdl_breaker_state(c->b);
    cdl_breaker_on_retry_after(c->b, now, ms);
    changed(c, from, now, why);
}

void cdl_circuit_release(struct cdl_circuit *c) { cdl_breaker_release(c->b); }

void cdl_circuit_refused(struct cdl_circuit *c)
{
    if (c->s_refused)
        cdl_series_add(c->s_refused, 1);
}

uint64_t cdl_circuit_next_allowed(const struct cdl_circuit *c, uint64_t now)
{
    return cdl_breaker_next_allowed(c->b, now);
}

enum cdl_breaker_state cdl_circuit_state(const struct cdl_circuit *c) { return cdl_breaker_state(c->b); }
unsigned cdl_circuit_failures(const struct cdl_circuit *c) { return cdl_breaker_failures(c->b); }
const char *cdl_circuit_name(const struct cdl_circuit *c) { return c->name; }

/* admin.c - see admin.h. */
#include "admin.h"

#include <dirent.h>
#include <stdarg.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "circuit.h"
#include "clock.h"
#include "list.h"
#include "log.h"
#include "xalloc.h"

#define CHUNK 16384
#define MAX_MARKETS 64

struct pss;

struct cdl_admin {
    struct cdl_admin_opts o;
    char host[64];
    struct lws_vhost *vh;
    struct cdl_list waiters; /* struct pss.wlink: POST /-/reload requests waiting for the reload */
};

struct pss {
    char *body; /* malloc'd response body */
    size_t len, sent;
    struct lws *wsi;
    struct cdl_list wlink; /* in the waiters list while waiting */
    int waiting;
    unsigned deferred_status; /* headers still to write at WRITEABLE (a deferred answer), 0 none */
};

/* Growable text. */
struct text {
    char *p;
    size_t n, cap;
};

static void tput(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tput(struct text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->p ? t->p + t->n : NULL, t->p ? t->cap - t->n : 0, fmt, ap);
        va_end(ap);
        if (t->p && (size_t)n < t->cap - t->n) {
            t->n += (size_t)n;
            return;
        }
        t->cap = (t->cap ? t->cap * 2 : 1024) + (size_t)n;
        t->p = cdl_xrealloc(t->p, t->cap);
    }
}

/* ISO 8601 UTC with milliseconds. */
static void iso_time(uint64_t ms, char *buf, size_t cap)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, cap - n, ".%03uZ", (unsigned)(ms % 1000));
}

/* The state of the market's connect breaker (the one its upstreams ask), by name. */
static const char *circuit_state(const struct cdl_admin_opts *o, const struct cdl_hub_status *st)
{
    struct cdl_circuit *c = o->circuits ? cdl_circuits_ws(o->circuits, st->exchange, st->contract_type) : NULL;
    return c ? cdl_breaker_state_name(cdl_circuit_state(c)) : "closed";
}

char *cdl_admin_ready_json(const struct cdl_admin_opts *o, int *status)
{
    struct cdl_hub_status st[MAX_MARKETS];
    int n = o->hub ? cdl_hub_status(o->hub, st, MAX_MARKETS) : 0, ready = !*o->draining;
    for (int i = 0; i < n; i++)
        ready &= st[i].healthy;
    char now[40];
    iso_time(cdl_clock_now_ms(), now, sizeof now);
    struct text t = { 0 };
    tput(&t, "{\"status\":\"%s\",\"timestamp\":\"%s\",\"draining\":%s,\"clients\":%d,\"exchanges\":[",
         ready ? "ready" : "not_ready", now, *o->draining ? "true" : "false", cdl_wsapi_n_clients(o->server));
    for (int i = 0; i < n; i++) {
        char last[40] = "null";
        if (st[i].last_message_ms) {
            last[0] = '"';
            iso_time(st[i].last_message_ms, last + 1, sizeof last - 2);
            strcat(last, "\"");
        }
        tput(&t,
             "%s{\"exchange\":\"%s\",\"contract_type\":\"%s\",\"streams\":%d,\"active_connections\":%d,"
             "\"last_message_time\":%s,\"total_quotes\":%llu,\"total_errors\":%llu,\"consecutive_failures\":%d,"
             "\"circuit_state\":\"%s\",\"healthy\":%s}",
             i ? "," : "", st[i].exchange, st[i].contract_type, st[i].streams, st[i].active_connections, last,
             (unsigned long long)st[i].total_quotes, (unsigned long long)st[i].total_errors, st[i].consecutive_failures,
             circuit_state(o, &st[i]), st[i].healthy ? "true" : "false");
    }
    tput(&t, "]");
    if (o->reload && o->reload->at_ms) {
        char *r = cdl_reload_json(o->reload);
        tput(&t, ",\"reload\":%s", r);
        free(r);
    }
    tput(&t, "}\n");
    *status = ready ? 200 : 503;
    return t.p;
}

void cdl_admin_process_metrics(struct cdl_metrics *m)
{
    long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%*d %ld", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    cdl_series_set(cdl_metrics_series(m, CDL_M_PROCESS_RSS), (double)pages * (double)sysconf(_SC_PAGESIZE));
    struct rusage ru;
    if (!getrusage(RUSAGE_SELF, &ru))
        cdl_series_set(cdl_metrics_series(m, CDL_M_PROCESS_CPU),
                       (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
    int fds = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        for (struct dirent *e; (e = readdir(d));)
            fds += e->d_name[0] != '.';
        closedir(d);
        fds--; /* the directory stream itself */
    }
    cdl_series_set(cdl_metrics_series(m, CDL_M_PROCESS_FDS), fds);
}

static int write_headers(struct lws *wsi, unsigned status, const char *type, size_t len)
{
    unsigned char buf[LWS_PRE + 512], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    if (lws_add_http_common_headers(wsi, status, type, len, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:", (const unsigned char *)"no-store", 8,
                                    &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    return 0;
}

/* Starts a response: headers now, the body at HTTP_WRITEABLE.  Takes ownership of body. */
static int respond(struct lws *wsi, struct pss *pss, unsigned status, const char *type, char *body, size_t len)
{
    pss->body = body;
    pss->len = len;
    pss->sent = 0;
    if (write_headers(wsi, status, type, len))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

static void waiter_unlink(struct pss *pss)
{
    if (!pss->waiting)
        return;
    cdl_list_remove(&pss->wlink);
    pss->waiting = 0;
}

/* POST /-/reload: the answer is written once the reload has run (cdl_admin_reload_done). */
static int on_reload(struct cdl_admin *a, struct lws *wsi, struct pss *pss)
{
    struct text t = { 0 };
    if (*a->o.draining) {
        tput(&t, "{\"error\":\"the server is draining\"}\n");
        return respond(wsi, pss, 503, "application/json", t.p, t.n);
    }
    pss->wsi = wsi;
    pss->waiting = 1;
    cdl_list_push_front(&a->waiters, &pss->wlink);
    a->o.request_reload(a->o.user);
    return 0;
}

void cdl_admin_reload_done(struct cdl_admin *a, const struct cdl_reload_result *res)
{
    while (a && !cdl_list_empty(&a->waiters)) {
        struct pss *pss = cdl_list_entry(a->waiters.next, struct pss, wlink);
        waiter_unlink(pss);
        struct text t = { 0 };
        char *r = cdl_reload_json(res);
        tput(&t, "%s\n", r);
        free(r);
        pss->body = t.p;
        pss->len = t.n;
        pss->sent = 0;
        pss->deferred_status = res->ok ? 200 : 422;
        lws_callback_on_writable(pss->wsi);
    }
}

static int on_request(struct cdl_admin *a, struct lws *wsi, struct pss *pss, const char *path)
{
    int get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
    struct text t = { 0 };
    if (!strcmp(path, "/-/reload") && a->o.request_reload) {
        if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0)
            return on_reload(a, wsi, pss);
        tput(&t, "{\"error\":\"method not allowed: POST /-/reload\"}\n");
        return respond(wsi, pss, 405, "application/json", t.p, t.n);
    }
    if (!strcmp(path, "/health") || !strcmp(path, "/ready") || !strcmp(path, "/metrics")) {
        if (!get) {
            tput(&t, "{\"error\":\"method not allowed\"}\n");
            return respond(wsi, pss, 405, "application/json", t.p, t.n);
        }
    } else {
        tput(&t, "{\"error\":\"not found\",\"paths\":[\"/health\",\"/ready\",\"/metrics\"%s]}\n",
             a->o.request_reload ? ",\"/-/reload\"" : "");
        return respond(wsi, pss, 404, "application/json", t.p, t.n);
    }
    if (!strcmp(path, "/health")) {
        char now[40];
        iso_time(cdl_clock_now_ms(), now, sizeof now);
        tput(&t, "{\"status\":\"healthy\",\"timestamp\":\"%s\"}\n", now);
        return respond(wsi, pss, 200, "application/json", t.p, t.n);
    }
    if (!strcmp(path, "/ready")) {
        int status;
        char *body = cdl_admin_ready_json(&a->o, &status);
        return respond(wsi, pss, (unsigned)status, "application/json", body, strlen(body));
    }
    cdl_admin_process_metrics(a->o.metrics);
    size_t len;
    char *body = cdl_metrics_render(a->o.metrics, &len);
    return respond(wsi, pss, 200, "text/plain; version=0.0.4; charset=utf-8", body, len);
}

static int on_writeable(struct lws *wsi, struct pss *pss)
{
    static unsigned char buf[LWS_PRE + CHUNK];
    if (!pss->body)
        return 0;
    if (pss->deferred_status) {
        unsigned status = pss->deferred_status;
        pss->deferred_status = 0;
        if (write_headers(wsi, status, "application/json", pss->len))
            return -1;
        lws_callback_on_writable(wsi);
        return 0;
    }
    size_t n = pss->len - pss->sent < CHUNK ? pss->len - pss->sent : CHUNK;
    int final = pss->sent + n == pss->len;
    memcpy(buf + LWS_PRE, pss->body + pss->sent, n);
    if (lws_write(wsi, buf + LWS_PRE, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
        return -1;
    pss->sent += n;
    if (!final) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    free(pss->body);
    pss->body = NULL;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int admin_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct pss *pss = user;
    struct lws_vhost *vh = lws_get_vhost(wsi);
    struct cdl_admin *a = vh ? lws_vhost_user(vh) : NULL;
    (void)len;
    switch (reason) {
    case LWS_CALLBACK_HTTP: return a ? on_request(a, wsi, pss, in ? (const char *)in : "/") : -1;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION: /* a POST body: answered at LWS_CALLBACK_HTTP already */ return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE: return on_writeable(wsi, pss);
    case LWS_CALLBACK_CLOSED_HTTP:
        if (pss && a)
            waiter_unlink(pss);
        if (pss) {
            free(pss->body);
            pss->body = NULL;
        }
        return 0;
    default: return 0;
    }
}

static const struct lws_protocols protocols[] = {
    { "http", admin_cb, sizeof(struct pss), 0, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 },
};

struct cdl_admin *cdl_admin_create(struct cdl_net *net, const struct cdl_admin_opts *o, int *bound)
{
    struct cdl_admin *a = cdl_xcalloc(1, sizeof *a);
    a->o = *o;
    cdl_list_init(&a->waiters);
    snprintf(a->host, sizeof a->host, "%s", o->host ? o->host : "");
    a->o.host = a->host;
    a->vh = cdl_net_listen(net, "admin", a->host, o->port, protocols, a, bound);
    if (!a->vh) {
        free(a);
        return NULL;
    }
    return a;
}

void cdl_admin_destroy(struct cdl_admin *a) { free(a); }

/* fake_io.c - see fake_io.h. */
#include "fake_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "err.h"
#include "sizes.h"
#include "url.h"

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p)
        abort();
    return p;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        abort();
    return d;
}

static void die(const char *what)
{
    fprintf(stderr, "fake_io: %s\n", what);
    abort();
}

/* ---- the clocks and libuv's timers ---------------------------------------------------------------- */

static uint64_t mono = FAKE_MONO0_MS, wall_base = FAKE_WALL0_MS, mono_base = FAKE_MONO0_MS;

struct ftimer {
    uv_timer_t *h;
    uv_timer_cb cb;
    uint64_t due, repeat, order; /* order: libuv fires timers due together in start order */
    int active;
};
static struct ftimer *timers;
static int n_timers, cap_timers;
static uint64_t next_order;

struct fclose {
    uv_handle_t *h;
    uv_close_cb cb;
};
static struct fclose *closing;
static int n_closing, cap_closing;

uint64_t fake_io_mono(void) { return mono; }
uint64_t fake_io_wall(void) { return wall_base + (mono - mono_base); }

void fake_io_set_wall(uint64_t ms)
{
    wall_base = ms;
    mono_base = mono;
}

/* The linker sends every call of cdl_clock_now_ms (clock.h) here (--wrap=cdl_clock_now_ms). */
uint64_t __wrap_cdl_clock_now_ms(void);
uint64_t __wrap_cdl_clock_now_ms(void) { return fake_io_wall(); }

static struct ftimer *timer_of(const void *h)
{
    for (int i = 0; i < n_timers; i++)
        if ((const void *)timers[i].h == h)
            return &timers[i];
    return NULL;
}

uint64_t uv_now(const uv_loop_t *loop)
{
    (void)loop;
    return mono;
}

uint64_t uv_hrtime(void) { return mono * 1000000u; }

int uv_timer_init(uv_loop_t *loop, uv_timer_t *h)
{
    if (timer_of(h))
        die("uv_timer_init on a live timer");
    if (n_timers == cap_timers) {
        cap_timers = cap_timers ? cap_timers * 2 : 16;
        timers = xrealloc(timers, (size_t)cap_timers * sizeof *timers);
    }
    timers[n_timers++] = (struct ftimer){ .h = h };
    h->loop = loop;
    h->type = UV_TIMER;
    return 0;
}

int uv_timer_start(uv_timer_t *h, uv_timer_cb cb, uint64_t timeout, uint64_t repeat)
{
    struct ftimer *t = timer_of(h);
    if (!t)
        die("uv_timer_start on a timer not initialised");
    t->cb = cb;
    t->due = mono + timeout;
    t->repeat = repeat;
    t->order = next_order++;
    t->active = 1;
    return 0;
}

int uv_timer_stop(uv_timer_t *h)
{
    struct ftimer *t = timer_of(h);
    if (t)
        t->active = 0;
    return 0;
}

int uv_is_active(const uv_handle_t *h)
{
    const struct ftimer *t = timer_of(h);
    return t && t->active;
}

void uv_close(uv_handle_t *h, uv_close_cb cb)
{
    struct ftimer *t = timer_of(h);
    if (!t)
        die("uv_close of a handle the fake does not know");
    *t = timers[--n_timers];
    if (n_closing == cap_closing) {
        cap_closing = cap_closing ? cap_closing * 2 : 16;
        closing = xrealloc(closing, (size_t)cap_closing * sizeof *closing);
    }
    closing[n_closing++] = (struct fclose){ h, cb };
}

int fake_timers(void) { return n_timers; }

int fake_timers_active(void)
{
    int n = 0;
    for (int i = 0; i < n_timers; i++)
        n += timers[i].active;
    return n;
}

void fake_run(uint64_t ms)
{
    uint64_t target = mono + ms;
    for (long fired = 0;; fired++) {
        if (fired > 10000000)
            die("a timer keeps firing without time passing");
        int best = -1;
        for (int i = 0; i < n_timers; i++) {
            const struct ftimer *t = &timers[i];
            if (t->active && t->due <= target &&
                (best < 0 || t->due < timers[best].due ||
                 (t->due == timers[best].due && t->order < timers[best].order)))
                best = i;
        }
        if (best < 0)
            break;
        struct ftimer *t = &timers[best];
        if (t->due > mono)
            mono = t->due;
        if (t->repeat) {
            t->due = mono + t->repeat;
            t->order = next_order++;
        } else {
            t->active = 0;
        }
        t->cb(t->h); /* may start, stop or close timers: t is stale from here */
    }
    mono = target;
    while (n_closing) { /* libuv runs close callbacks at the end of the loop turn */
        struct fclose c = closing[0];
        memmove(closing, closing + 1, (size_t)--n_closing * sizeof *closing);
        if (c.cb)
            c.cb(c.h);
    }
}

/* ---- upstream.h ------------------------------------------------------------------------------------- */

static struct cdl_upstream **ups;
static int n_ups, cap_ups;

int fake_up_count(void) { return n_ups; }

struct cdl_upstream *fake_up(int i)
{
    if (i < 0 || i >= n_ups)
        die("no such upstream");
    return ups[i];
}

struct cdl_upstream *cdl_upstream_create(struct cdl_net *net, uv_loop_t *loop, const struct cdl_upstream_opts *o,
                                         const struct cdl_upstream_cbs *cbs, void *user)
{
    (void)net;
    (void)loop;
    struct cdl_upstream *u = calloc(1, sizeof *u);
    if (!u)
        abort();
    u->url = xstrdup(o->url);
    u->name = xstrdup(o->name);
    u->o = *o;
    u->o.url = u->url;
    u->o.name = u->name;
    u->cbs = *cbs;
    u->user = user;
    u->index = n_ups;
    if (n_ups == cap_ups) {
        cap_ups = cap_ups ? cap_ups * 2 : 16;
        ups = xrealloc(ups, (size_t)cap_ups * sizeof *ups);
    }
    ups[n_ups++] = u;
    return u;
}

int cdl_upstream_start(struct cdl_upstream *u)
{
    struct cdl_url url;
    if (cdl_url_parse(u->url, &url))
        return CDL_EINVAL;
    u->started = 1;
    return 0;
}

int cdl_upstream_send(struct cdl_upstream *u, const char *data, size_t len)
{
    if (u->destroyed || !u->open || u->closing)
        return CDL_ECLOSED;
    u->sent = xrealloc(u->sent, (size_t)(u->n_sent + 1) * sizeof *u->sent);
    char *copy = malloc(len + 1);
    if (!copy)
        abort();
    memcpy(copy, data, len);
    copy[len] = '\0';
    u->sent[u->n_sent++] = copy;
    return 0;
}

void cdl_upstream_reconnect(struct cdl_upstream *u, const char *why)
{
    (void)why;
    if (u->destroyed)
        return;
    u->reconnects++;
    if (u->open)
        u->closing = 1; /* the close frame goes; the test says when the connection is down */
}

int cdl_upstream_is_open(const struct cdl_upstream *u) { return u->open && !u->closing && !u->destroyed; }

void cdl_upstream_pause(struct cdl_upstream *u, int paused)
{
    u->paused = paused;
    u->pause_calls++;
}

size_t cdl_upstream_queued(const struct cdl_upstream *u) { return u->queued; }

void cdl_upstream_accepted(struct cdl_upstream *u) { u->accepted++; }

unsigned cdl_upstream_generation(const struct cdl_upstream *u) { return u->generation; }

void cdl_upstream_destroy(struct cdl_upstream *u)
{
    if (!u)
        return;
    if (u->destroyed)
        die("upstream destroyed twice");
    u->destroyed = 1;
    u->open = 0;
}

int cdl_upstream_alive(void)
{
    int n = 0;
    for (int i = 0; i < n_ups; i++)
        n += !ups[i]->destroyed;
    return n;
}

static void up_usable(const struct cdl_upstream *u, int must_be_open)
{
    if (u->destroyed)
        die("the test drives a destroyed upstream");
    if (!u->started)
        die("the test drives an upstream never started");
    if (must_be_open && !u->open)
        die("the test delivers on an upstream not open");
}

void fake_up_open(struct cdl_upstream *u)
{
    up_usable(u, 0);
    if (u->open)
        die("the test opens an upstream already open");
    u->open = 1;
    u->closing = 0;
    u->generation++;
    u->cbs.on_open(u->user);
}

void fake_up_frame(struct cdl_upstream *u, const char *text)
{
    up_usable(u, 1);
    u->cbs.on_frame(u->user, text, strlen(text), mono * 1000u);
}

void fake_up_oversize(struct cdl_upstream *u, size_t len)
{
    up_usable(u, 1);
    u->cbs.on_oversize(u->user, len);
}

void fake_up_ping(struct cdl_upstream *u)
{
    up_usable(u, 1);
    u->cbs.on_ping(u->user);
}

void fake_up_drop(struct cdl_upstream *u, const char *why)
{
    up_usable(u, 0);
    u->open = 0;
    u->closing = 0;
    u->cbs.on_down(u->user, why);
}

const char *fake_up_last(const struct cdl_upstream *u) { return u->n_sent ? u->sent[u->n_sent - 1] : ""; }

/* ---- rest.h ----------------------------------------------------------------------------------------- */

struct cdl_rest {
    int destroyed;
};

static struct fake_rest_req *reqs;
static int n_reqs, cap_reqs;
static char budget_url[CDL_URL_MAX];
static double budget_rate;

struct cdl_rest *cdl_rest_create(uv_loop_t *loop, const struct cdl_rest_opts *opts)
{
    (void)loop;
    (void)opts;
    struct cdl_rest *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    return r;
}

int cdl_rest_request_weighted(struct cdl_rest *r, const char *method, const char *url, const char *const *headers,
                              const char *body, double weight, cdl_rest_cb cb, void *user, uint64_t *id_out)
{
    (void)headers;
    if (r->destroyed)
        return CDL_ECLOSED;
    if (!method || !url || !cb || strlen(method) >= sizeof reqs->method)
        return CDL_EINVAL;
    if (n_reqs == cap_reqs) {
        cap_reqs = cap_reqs ? cap_reqs * 2 : 16;
        reqs = xrealloc(reqs, (size_t)cap_reqs * sizeof *reqs);
    }
    struct fake_rest_req *q = &reqs[n_reqs++];
    memset(q, 0, sizeof *q);
    snprintf(q->method, sizeof q->method, "%s", method);
    q->url = xstrdup(url);
    q->body = body ? xstrdup(body) : NULL;
    q->weight = weight;
    q->cb = cb;
    q->user = user;
    q->id = (uint64_t)n_reqs;
    if (id_out)
        *id_out = q->id;
    return 0;
}

int cdl_rest_request(struct cdl_rest *r, const char *method, const char *url, const char *const *headers,
                     const char *body, cdl_rest_cb cb, void *user, uint64_t *id_out)
{
    return cdl_rest_request_weighted(r, method, url, headers, body, 1, cb, user, id_out);
}

int cdl_rest_set_budget(struct cdl_rest *r, const char *url, double weight_per_minute, double burst)
{
    (void)r;
    (void)burst;
    if (!strstr(url, "://"))
        return CDL_EINVAL;
    snprintf(budget_url, sizeof budget_url, "%s", url);
    budget_rate = weight_per_minute;
    return 0;
}

/* Ends request i: the callback runs with what resp says. */
static void rest_finish(int i, struct cdl_rest_response *resp)
{
    if (i < 0 || i >= n_reqs || reqs[i].done)
        die("the test answers a request that is not pending");
    reqs[i].done = 1;
    resp->id = reqs[i].id;
    resp->retry_after_s = -1;
    resp->http_version = 2;
    cdl_rest_cb cb = reqs[i].cb; /* the callback may add requests: reqs may move */
    void *user = reqs[i].user;
    cb(user, resp);
}

void cdl_rest_destroy(struct cdl_rest *r)
{
    if (!r)
        return;
    r->destroyed = 1;
    for (int i = 0; i < n_reqs; i++)
        if (!reqs[i].done) {
            struct cdl_rest_response resp = { .error = CDL_ECLOSED, .error_text = "cancelled", .body = "" };
            rest_finish(i, &resp);
        }
    free(r);
}

int fake_rest_count(void) { return n_reqs; }

struct fake_rest_req *fake_rest(int i)
{
    if (i < 0 || i >= n_reqs)
        die("no such request");
    return &reqs[i];
}

int fake_rest_pending(void)
{
    int n = 0;
    for (int i = 0; i < n_reqs; i++)
        n += !reqs[i].done;
    return n;
}

void fake_rest_answer(int i, long status, const char *body)
{
    struct cdl_rest_response resp = { .status = status, .body = body, .body_len = strlen(body), .error_text = "" };
    rest_finish(i, &resp);
}

void fake_rest_fail(int i, int error, const char *text)
{
    struct cdl_rest_response resp = { .error = error, .error_text = text, .body = "" };
    rest_finish(i, &resp);
}

const char *fake_rest_budget_url(void) { return budget_url; }
double fake_rest_budget_rate(void) { return budget_rate; }

/* ---- reset ------------------------------------------------------------------------------------------ */

void fake_io_reset(void)
{
    for (int i = 0; i < n_ups; i++) {
        for (int k = 0; k < ups[i]->n_sent; k++)
            free(ups[i]->sent[k]);
        free(ups[i]->sent);
        free(ups[i]->url);
        free(ups[i]->name);
        free(ups[i]);
    }
    free(ups);
    ups = NULL;
    n_ups = cap_ups = 0;
    for (int i = 0; i < n_reqs; i++) {
        free(reqs[i].url);
        free(reqs[i].body);
    }
    free(reqs);
    reqs = NULL;
    n_reqs = cap_reqs = 0;
    budget_url[0] = '\0';
    budget_rate = 0;
    free(timers);
    timers = NULL;
    n_timers = cap_timers = 0;
    free(closing);
    closing = NULL;
    n_closing = cap_closing = 0;
    mono = mono_base = FAKE_MONO0_MS;
    wall_base = FAKE_WALL0_MS;
    next_order = 0;
}

/* rest.c - see rest.h. */
#include "rest.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bucket.h"
#include "circuit.h"
#include "err.h"
#include "list.h"
#include "log.h"
#include "metrics.h"
#include "xalloc.h"

/* A host's weight budget. */
struct budget {
    struct budget *next;
    char host[300];
    struct cdl_bucket b;
    double per_minute, burst;
    uint64_t blocked_pass; /* the start_queued pass in which one of its requests had to wait */
    struct cdl_series *s_waiting, *s_waits;
};

struct req {
    struct cdl_list link; /* in the waiting queue or the in-flight list */
    struct cdl_rest *r;
    uint64_t id;
    CURL *easy;
    struct curl_slist *headers;
    char *url, *method, *body;
    cdl_rest_cb cb;
    void *user;
    char *buf;
    size_t len, cap;
    int over_cap;
    double retry_after;
    char errbuf[CURL_ERROR_SIZE];
    int in_flight;
    struct cdl_circuit *circuit; /* the host's breaker, NULL = none */
    int verdict_due;             /* let through by it: owes it a verdict */
    int waited;                  /* counted in breaker_waits */
    uint64_t deadline_ms;        /* fails with CDL_EOPEN if its breaker stays open past this */
    struct budget *budget;       /* its host's, NULL = none */
    double weight;
    int budget_waiting; /* waiting for the budget now (counted in the gauge) */
    int budget_waited;  /* counted in budget_waits */
};

struct sock {
    uv_poll_t poll;
    curl_socket_t fd;
    struct cdl_rest *r;
};

struct cdl_rest {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    uv_timer_t wake; /* for requests waiting for a host's breaker */
    int handles;     /* uv handles not closed yet */
    int n_deferred;  /* completions waiting in struct deferred: r is freed after them */
    struct cdl_rest_opts o;
    char user_agent[64];
    struct cdl_list queued; /* struct req.link: waiting, oldest first */
    struct cdl_list active; /* struct req.link: in flight, newest first */
    size_t n_queued, n_active;
    uint64_t next_id;
    struct cdl_rest_stats stats;
    int closing;
    struct budget *budgets;
    uint64_t pass; /* start_queued passes */
};

static int curl_ready;

void cdl_rest_opts_default(struct cdl_rest_opts *o)
{
    o->max_in_flight = 8;
    o->max_queued = 1024;
    o->timeout_ms = 10000;
    o->max_body = (size_t)8 << 20;
    o->pool_connections = 10;
    o->pool_maxsize = 20;
    o->user_agent = NULL;
    o->ca_file = NULL;
    o->circuits = NULL;
    o->breaker_max_wait_ms = 10000;
    o->budget_fraction = 1.0;
    o->metrics = NULL;
}

static void check_done(struct cdl_rest *r);
static void rest_free(struct cdl_rest *r);
static void start_queued(struct cdl_rest *r);

static void poll_cb(uv_poll_t *p, int status, int events)
{
    struct sock *s = p->data;
    struct cdl_rest *r = s->r;
    int flags = 0, running;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    else {
        if (events & UV_READABLE)
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    curl_multi_socket_action(r->multi, s->fd, flags, &running);
    check_done(r);
}

static void sock_closed(uv_handle_t *h) { free(h->data); }

static int socket_fn(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct cdl_rest *r = userp;
    struct sock *s = socketp;
    (void)e;
    if (what == CURL_POLL_REMOVE) { /* called before curl closes the fd */
        if (s) {
            uv_poll_stop(&s->poll);
            uv_close((uv_handle_t *)&s->poll, sock_closed);
            curl_multi_assign(r->multi, fd, NULL);
        }
        return 0;
    }
    if (!s) {
        s = cdl_xcalloc(1, sizeof *s);
        s->fd = fd;
        s->r = r;
        uv_poll_init_socket(r->loop, &s->poll, fd);
        s->poll.data = s;
        curl_multi_assign(r->multi, fd, s);
    }
    int ev = ((what & CURL_POLL_IN) ? UV_READABLE : 0) | ((what & CURL_POLL_OUT) ? UV_WRITABLE : 0);
    uv_poll_start(&s->poll, ev, poll_cb);
    return 0;
}

static void timer_cb(uv_timer_t *t)
{
    struct cdl_rest *r = t->data;
    int running;
    curl_multi_socket_action(r->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(r);
}

/* Only (re)arms the timer: calling socket_action from here is not allowed. */
static int timer_fn(CURLM *m, long ms, void *userp)
{
    struct cdl_rest *r = userp;
    (void)m;
    if (ms < 0)
        uv_timer_stop(&r->timer);
    else
        uv_timer_start(&r->timer, timer_cb, (uint64_t)ms, 0);
    return 0;
}

static size_t write_fn(char *data, size_t size, size_t n, void *userp)
{
    struct req *q = userp;
    size_t len = size * n;
    if (q->len + len > q->r->o.max_body) {
        q->over_cap = 1;
        return 0; /* aborts the transfer */
    }
    q->buf = cdl_xgrow(q->buf, &q->cap, q->len + len + 1);
    memcpy(q->buf + q->len, data, len);
    q->len += len;
    return len;
}

static size_t header_fn(char *data, size_t size, size_t n, void *userp)
{
    struct req *q = userp;
    size_t len = size * n;
    if (len > 12 && !strncasecmp(data, "Retry-After:", 12)) {
        char tmp[32];
        size_t k = len - 12 < sizeof tmp - 1 ? len - 12 : sizeof tmp - 1;
        memcpy(tmp, data + 12, k);
        tmp[k] = '\0';
        char *end;
        double v = strtod(tmp, &end);
        if (end != tmp && v >= 0)
            q->retry_after = v; /* the HTTP-date form is not used by exchanges */
    }
    return len;
}

/* q waits (1) or no longer waits (0) for its host's budget. */
static void budget_waiting(struct req *q, int waiting)
{
    if (q->budget_waiting == waiting)
        return;
    q->budget_waiting = waiting;
    if (waiting)
        q->r->stats.budget_waiting++;
    else
        q->r->stats.budget_waiting--;
    if (q->budget->s_waiting)
        cdl_series_add(q->budget->s_waiting, waiting ? 1 : -1);
    if (waiting && !q->budget_waited) {
        q->budget_waited = 1;
        q->r->stats.budget_waits++;
        if (q->budget->s_waits)
            cdl_series_add(q->budget->s_waits, 1);
        cdl_log(CDL_LOG_DEBUG, "REST request waits for the host's budget", "url", q->url, "host", q->budget->host,
                NULL);
    }
}

static void req_free(struct req *q)
{
    if (q->budget_waiting)
        budget_waiting(q, 0);
    if (q->verdict_due) /* ended without one (cancelled, shut down): give the trial slot back */
        cdl_circuit_release(q->circuit);
    if (q->easy)
        curl_easy_cleanup(q->easy);
    curl_slist_free_all(q->headers);
    free(q->url);
    free(q->method);
    free(q->body);
    free(q->buf);
    free(q);
}

static void finish(struct req *q, long status, int error, const char *error_text)
{
    struct cdl_rest_response resp = { 0 };
    resp.id = q->id;
    resp.status = status;
    resp.body = q->buf ? q->buf : "";
    if (q->buf)
        q->buf[q->len] = '\0';
    resp.body_len = q->len;
    resp.retry_after_s = q->retry_after;
    resp.error = error;
    resp.error_text = error_text ? error_text : "";
    resp.http_version = 1;
    if (q->easy && q->in_flight) {
        long v = 0;
        curl_easy_getinfo(q->easy, CURLINFO_HTTP_VERSION, &v);
        resp.http_version = v == CURL_HTTP_VERSION_2_0 ? 2 : 1;
        curl_easy_getinfo(q->easy, CURLINFO_TOTAL_TIME, &resp.total_s);
        long nc = 0;
        curl_easy_getinfo(q->easy, CURLINFO_NUM_CONNECTS, &nc);
        q->r->stats.new_connections += (uint64_t)nc;
        if (resp.http_version == 2)
            q->r->stats.h2++;
    }
    if (error)
        q->r->stats.failed++;
    else
        q->r->stats.ok++;
    q->cb(q->user, &resp);
}

static void unlink_active(struct cdl_rest *r, struct req *q)
{
    cdl_list_remove(&q->link);
    r->n_active--;
}

/* The host's breaker learns how the request went: transport errors, 5xx, 429 and 418 are
 * failures (with Retry-After, the wait it asks for); any other answer is a success. */
static void report(struct req *q, long status, int error)
{
    if (!q->verdict_due)
        return;
    q->verdict_due = 0;
    uint64_t now = uv_now(q->r->loop);
    char why[48];
    if (error == CDL_EIO) {
        cdl_circuit_failure(q->circuit, now, "transport error");
    } else if (status == 429 || status == 418 || status >= 500) {
        snprintf(why, sizeof why, "HTTP %ld", status);
        if (q->retry_after > 0)
            cdl_circuit_retry_after(q->circuit, now, (uint64_t)(q->retry_after * 1000.0), why);
        else
            cdl_circuit_failure(q->circuit, now, why);
    } else {
        cdl_circuit_success(q->circuit, now);
    }
}

/* Takes q out of the waiting queue. */
static void unlink_queued(struct cdl_rest *r, struct req *q)
{
    cdl_list_remove(&q->link);
    r->n_queued--;
}

static void check_done(struct cdl_rest *r)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(r->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct req *q = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&q);
        CURLcode code = m->data.result;
        curl_multi_remove_handle(r->multi, q->easy);
        unlink_active(r, q);
        long status = 0;
        curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &status);
        report(q, status, q->over_cap ? 0 : code != CURLE_OK ? CDL_EIO : 0);
        if (q->budget && (status == 429 || status == 418)) /* the host counted more than we did */
            cdl_bucket_drain(&q->budget->b, uv_now(r->loop));
        if (q->over_cap)
            finish(q, status, CDL_ERANGE, "body too large");
        else if (code != CURLE_OK)
            finish(q, status, CDL_EIO, q->errbuf[0] ? q->errbuf : curl_easy_strerror(code));
        else
            finish(q, status, 0, NULL);
        req_free(q);
    }
    if (!r->closing)
        start_queued(r);
}

static int start_one(struct cdl_rest *r, struct req *q)
{
    CURL *e = curl_easy_init();
    if (!e)
        return CDL_ENOMEM;
    q->easy = e;
    curl_easy_setopt(e, CURLOPT_URL, q->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, q);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_fn);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, q);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_fn);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, q);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, q->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, r->o.timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, r->o.timeout_ms);
    curl_easy_setopt(e, CURLOPT_USERAGENT, r->user_agent);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (q->headers)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, q->headers);
    if (r->o.ca_file && *r->o.ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, r->o.ca_file);
    if (!strcmp(q->method, "POST")) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, q->body ? q->body : "");
    }
    if (curl_multi_add_handle(r->multi, e) != CURLM_OK)
        return CDL_EIO;
    q->in_flight = 1;
    cdl_log(CDL_LOG_DEBUG, "REST request sent", "method", q->method, "url", q->url, NULL);
    cdl_list_push_front(&r->active, &q->link);
    r->n_active++;
    r->stats.requests++;
    return 0;
}

static int breaker_wait(struct cdl_rest *r, struct req *q, uint64_t now, uint64_t *wake_at);

/* May q go now?  1 = start it, 0 = it waits for its host's budget or breaker (*wake_at: the
 * earliest time a waiting request may go), -1 = its breaker stays open past its deadline. */
static int gate(struct cdl_rest *r, struct req *q, uint64_t now, uint64_t *wake_at)
{
    struct budget *b = q->budget;
    if (b) { /* in order: once one request of the host waits, the later ones wait too */
        uint64_t w = b->blocked_pass == r->pass ? UINT64_MAX : cdl_bucket_wait(&b->b, q->weight, now);
        if (w) {
            b->blocked_pass = r->pass;
            budget_waiting(q, 1);
            if (w != UINT64_MAX && now + w < *wake_at)
                *wake_at = now + w;
            return 0;
        }
    }
    if (q->circuit && !cdl_circuit_allow(q->circuit, now))
        return breaker_wait(r, q, now, wake_at);
    q->verdict_due = q->circuit != NULL;
    if (b) {
        cdl_bucket_take(&b->b, q->weight, now);
        budget_waiting(q, 0);
    }
    return 1;
}

/* q's breaker said no: 0 (it waits), or -1 when the breaker stays open past its deadline. */
static int breaker_wait(struct cdl_rest *r, struct req *q, uint64_t now, uint64_t *wake_at)
{
    uint64_t at = cdl_circuit_next_allowed(q->circuit, now);
    if (at != CDL_BREAKER_AFTER_TRIALS && at > q->deadline_ms)
        return -1;
    if (!q->waited) {
        q->waited = 1;
        r->stats.breaker_waits++;
        cdl_log(CDL_LOG_DEBUG, "REST request waits for the circuit breaker", "url", q->url, "circuit",
                cdl_circuit_name(q->circuit), NULL);
    }
    if (at != CDL_BREAKER_AFTER_TRIALS && at < *wake_at)
        *wake_at = at; /* else: a trial's verdict (check_done) brings the next chance */
    return 0;
}

static void wake_cb(uv_timer_t *t)
{
    struct cdl_rest *r = t->data;
    if (!r->closing)
        start_queued(r);
}

static void start_queued(struct cdl_rest *r)
{
    uint64_t now = uv_now(r->loop), wake_at = UINT64_MAX;
    struct cdl_list *it = r->queued.next;
    r->pass++;
    while (it != &r->queued && (long)r->n_active < r->o.max_in_flight) {
        struct req *q = cdl_list_entry(it, struct req, link);
        int go = gate(r, q, now, &wake_at);
        if (go == 0) {
            it = it->next;
            continue;
        }
        struct cdl_list *next = it->next;
        unlink_queued(r, q);
        if (go > 0 && !start_one(r, q)) {
            it = next;
            continue;
        }
        if (go < 0) {
            r->stats.breaker_refused++;
            cdl_circuit_refused(q->circuit);
            finish(q, 0, CDL_EOPEN, "the host's circuit breaker is open");
        } else {
            finish(q, 0, CDL_EIO, "cannot start the transfer");
        }
        req_free(q);
        /* the callback may have queued or cancelled requests: walk again from the start */
        it = r->queued.next;
    }
    if (wake_at != UINT64_MAX)
        uv_timer_start(&r->wake, wake_cb, wake_at > now ? wake_at - now : 1, 0);
}

struct cdl_rest *cdl_rest_create(uv_loop_t *loop, const struct cdl_rest_opts *opts)
{
    if (!curl_ready) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        curl_ready = 1;
    }
    struct cdl_rest *r = cdl_xcalloc(1, sizeof *r);
    cdl_list_init(&r->queued);
    cdl_list_init(&r->active);
    r->loop = loop;
    if (opts)
        r->o = *opts;
    else
        cdl_rest_opts_default(&r->o);
    if (r->o.max_in_flight < 1)
        r->o.max_in_flight = 1;
    snprintf(r->user_agent, sizeof r->user_agent, "%s", r->o.user_agent ? r->o.user_agent : "candled/" CDL_VERSION);
    r->multi = curl_multi_init();
    if (!r->multi)
        abort();
    curl_multi_setopt(r->multi, CURLMOPT_SOCKETFUNCTION, socket_fn);
    curl_multi_setopt(r->multi, CURLMOPT_SOCKETDATA, r);
    curl_multi_setopt(r->multi, CURLMOPT_TIMERFUNCTION, timer_fn);
    curl_multi_setopt(r->multi, CURLMOPT_TIMERDATA, r);
    curl_multi_setopt(r->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(r->multi, CURLMOPT_MAX_HOST_CONNECTIONS, r->o.pool_connections);
    curl_multi_setopt(r->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, r->o.pool_maxsize);
    uv_timer_init(loop, &r->timer);
    r->timer.data = r;
    uv_timer_init(loop, &r->wake);
    r->wake.data = r;
    r->handles = 2;
    return r;
}

static char *dup_or_null(const char *s) { return s ? cdl_xstrdup(s) : NULL; }

/* Deferred completion of a request refused or cancelled before it reached curl: the callback
 * must not run inside cdl_rest_request / cancel. */
struct deferred {
    uv_timer_t t;
    struct req *q;
};

static void deferred_closed(uv_handle_t *h) { free(h->data); }

static void deferred_cb(uv_timer_t *t)
{
    struct deferred *d = t->data;
    struct cdl_rest *r = d->q->r;
    finish(d->q, 0, CDL_ECLOSED, "cancelled");
    req_free(d->q); /* may free a half-open trial slot another request waits for */
    r->n_deferred--;
    if (!r->closing)
        start_queued(r);
    else if (!r->handles && !r->n_deferred)
        rest_free(r);
    d->t.data = d;
    uv_close((uv_handle_t *)&d->t, deferred_closed);
}

static void defer_cancel(struct cdl_rest *r, struct req *q)
{
    struct deferred *d = cdl_xcalloc(1, sizeof *d);
    d->q = q;
    r->n_deferred++;
    uv_timer_init(r->loop, &d->t);
    d->t.data = d;
    uv_timer_start(&d->t, deferred_cb, 0, 0);
}

static struct budget *find_budget(struct cdl_rest *r, const char *host)
{
    for (struct budget *b = r->budgets; b; b = b->next)
        if (!strcmp(b->host, host))
            return b;
    return NULL;
}

int cdl_rest_set_budget(struct cdl_rest *r, const char *url, double weight_per_minute, double burst)
{
    char host[300];
    if (cdl_rest_host_key(url, host, sizeof host))
        return CDL_EINVAL;
    if (weight_per_minute <= 0 || r->o.budget_fraction <= 0)
        return 0; /* no budget declared, or budgets off (rest.budgets = false) */
    double frac = r->o.budget_fraction <= 1 ? r->o.budget_fraction : 1;
    double rate = weight_per_minute * frac, fill = burst > 0 ? burst * frac : rate / 60.0;
    struct budget *b = find_budget(r, host);
    if (b) { /* declared again (another market on the same host): the smaller one holds */
        if (rate > b->per_minute)
            rate = b->per_minute;
        if (fill > b->burst)
            fill = b->burst;
    } else {
        b = cdl_xcalloc(1, sizeof *b);
        snprintf(b->host, sizeof b->host, "%s", host);
        b->next = r->budgets;
        r->budgets = b;
        if (r->o.metrics) {
            b->s_waiting = cdl_metrics_series(r->o.metrics, CDL_M_REST_BUDGET_WAITING, host);
            b->s_waits = cdl_metrics_series(r->o.metrics, CDL_M_REST_BUDGET_WAITS, host);
        }
    }
    if (b->per_minute == rate && b->burst == fill)
        return 0;
    uint64_t now = uv_now(r->loop);
    double level = b->per_minute > 0 ? cdl_bucket_level(&b->b, now) : fill;
    b->per_minute = rate;
    b->burst = fill;
    cdl_bucket_init(&b->b, rate, fill, now);
    b->b.tokens = level < fill ? level : fill; /* a change keeps what was spent */
    return 0;
}

int cdl_rest_request(struct cdl_rest *r, const char *method, const char *url, const char *const *headers,
                     const char *body, cdl_rest_cb cb, void *user, uint64_t *id_out)
{
    return cdl_rest_request_weighted(r, method, url, headers, body, 1, cb, user, id_out);
}

int cdl_rest_request_weighted(struct cdl_rest *r, const char *method, const char *url, const char *const *headers,
                              const char *body, double weight, cdl_rest_cb cb, void *user, uint64_t *id_out)
{
    if (r->closing)
        return CDL_ECLOSED;
    if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) ||
        (strcmp(method, "GET") && strcmp(method, "POST")))
        return CDL_EINVAL;
    if ((long)r->n_queued >= r->o.max_queued)
        return CDL_EBUSY;
    struct req *q = cdl_xcalloc(1, sizeof *q);
    q->r = r;
    cdl_list_init(&q->link);
    q->id = ++r->next_id;
    q->url = dup_or_null(url);
    q->method = dup_or_null(method);
    q->body = dup_or_null(body);
    q->cb = cb;
    q->user = user;
    q->retry_after = -1;
    q->circuit = r->o.circuits ? cdl_circuits_rest(r->o.circuits, url) : NULL;
    char host[300];
    q->budget = r->budgets && !cdl_rest_host_key(url, host, sizeof host) ? find_budget(r, host) : NULL;
    q->weight = weight > 0 ? weight : 1;
    q->deadline_ms = uv_now(r->loop) + (uint64_t)(r->o.breaker_max_wait_ms > 0 ? r->o.breaker_max_wait_ms : 0);
    for (int i = 0; headers && headers[i]; i++) {
        struct curl_slist *l = curl_slist_append(q->headers, headers[i]);
        if (!l)
            abort();
        q->headers = l;
    }
    /* queued first, started on the next loop turn, so no callback can run in here */
    cdl_list_push_back(&r->queued, &q->link);
    r->n_queued++;
    /* not curl's timer: curl may hold it armed far ahead, which would delay this request */
    uv_timer_start(&r->wake, wake_cb, 0, 0);
    if (id_out)
        *id_out = q->id;
    return 0;
}

int cdl_rest_cancel(struct cdl_rest *r, uint64_t id)
{
    struct cdl_list *it, *tmp;
    cdl_list_each(it, tmp, &r->queued)
    {
        struct req *q = cdl_list_entry(it, struct req, link);
        if (q->id == id) {
            unlink_queued(r, q);
            defer_cancel(r, q);
            return 0;
        }
    }
    cdl_list_each(it, tmp, &r->active)
    {
        struct req *q = cdl_list_entry(it, struct req, link);
        if (q->id == id) {
            curl_multi_remove_handle(r->multi, q->easy);
            unlink_active(r, q);
            defer_cancel(r, q);
            return 0;
        }
    }
    return CDL_ENOTFOUND;
}

size_t cdl_rest_in_flight(const struct cdl_rest *r) { return r->n_active; }
size_t cdl_rest_queued(const struct cdl_rest *r) { return r->n_queued; }
void cdl_rest_stats(const struct cdl_rest *r, struct cdl_rest_stats *out) { *out = r->stats; }

static void rest_free(struct cdl_rest *r)
{
    while (r->budgets) {
        struct budget *b = r->budgets;
        r->budgets = b->next;
        free(b);
    }
    free(r);
}

static void rest_closed(uv_handle_t *h)
{
    struct cdl_rest *r = h->data;
    if (--r->handles == 0 && !r->n_deferred)
        rest_free(r);
}

void cdl_rest_destroy(struct cdl_rest *r)
{
    if (!r || r->closing)
        return;
    r->closing = 1;
    while (!cdl_list_empty(&r->active)) {
        struct req *q = cdl_list_entry(r->active.next, struct req, link);
        curl_multi_remove_handle(r->multi, q->easy);
        unlink_active(r, q);
        finish(q, 0, CDL_ECLOSED, "cancelled");
        req_free(q);
    }
    while (!cdl_list_empty(&r->queued)) {
        struct req *q = cdl_list_entry(r->queued.next, struct req, link);
        unlink_queued(r, q);
        finish(q, 0, CDL_ECLOSED, "cancelled");
        req_free(q);
    }
    curl_multi_cleanup(r->multi); /* removes its sockets through socket_fn */
    uv_timer_stop(&r->timer);
    uv_timer_stop(&r->wake);
    uv_close((uv_handle_t *)&r->timer, rest_closed);
    uv_close((uv_handle_t *)&r->wake, rest_closed);
}

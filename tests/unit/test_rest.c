/* Unit tests for rest.c against a tiny HTTP/1.1 server run by the test on the same uv loop
 * (127.0.0.1, port 0): statuses, Retry-After, the body cap, timeouts, cancel, the in-flight
 * bound, connection reuse, POST bodies, refused connections, destroy with requests pending, and
 * the per-host circuit breaker (requests wait for it, or fail unsent with CDL_EOPEN), and the
 * per-host weight budget (requests spread to it, in order, other hosts pass, a 429 drains it). */
#include "circuit.h"
#include "err.h"
#include "log.h"
#include "metrics.h"
#include "rest.h"
#include "test.h"

#include <stdlib.h>
#include <unistd.h>

static uv_loop_t loop;
static uv_tcp_t server;
static int port;
static int connections, concurrent, max_concurrent, served;
static char last_body[256];
static uint64_t ok_at[16]; /* when the server got each GET /ok (loop ms) */
static int n_ok;

struct client {
    uv_tcp_t tcp;
    char buf[8192];
    size_t len;
    int busy;
};

static void client_closed(uv_handle_t *h) { free(h->data); }

static void written(uv_write_t *w, int status)
{
    free(w->data);
    free(w);
}

static void reply(struct client *c, const char *status_line, const char *extra, const char *body)
{
    char *out = malloc(strlen(body) + 512);
    int n = sprintf(out, "HTTP/1.1 %s\r\nContent-Length: %zu\r\n%sConnection: keep-alive\r\n\r\n%s", status_line,
                    strlen(body), extra, body);
    uv_write_t *w = malloc(sizeof *w);
    w->data = out;
    uv_buf_t b = uv_buf_init(out, (unsigned)n);
    uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, written);
}

static char big[100000];

/* One request per read burst is enough for these tests (curl sends each request whole). */
static void handle(struct client *c)
{
    char *end = strstr(c->buf, "\r\n\r\n");
    if (!end)
        return;
    size_t hdr = (size_t)(end + 4 - c->buf);
    size_t clen = 0;
    char *cl = strstr(c->buf, "Content-Length: ");
    if (cl && cl < end)
        clen = (size_t)atol(cl + 16);
    if (c->len < hdr + clen)
        return;
    snprintf(last_body, sizeof last_body, "%.*s", (int)clen, c->buf + hdr);
    char path[128] = "";
    sscanf(c->buf, "%*s %127s", path);
    served++;
    size_t used = hdr + clen;
    memmove(c->buf, c->buf + used, c->len - used);
    c->len -= used;
    c->buf[c->len] = '\0';
    if (!strcmp(path, "/ok")) {
        if (n_ok < 16)
            ok_at[n_ok++] = uv_now(&loop);
        reply(c, "200 OK", "", "[1,2,3]");
    } else if (!strcmp(path, "/limited"))
        reply(c, "429 Too Many Requests", "Retry-After: 2\r\n", "{\"code\":-1003}");
    else if (!strcmp(path, "/err500"))
        reply(c, "500 Internal Server Error", "", "{}");
    else if (!strcmp(path, "/banned"))
        reply(c, "418 I'm a teapot", "Retry-After: 1\r\n", "{}");
    else if (!strcmp(path, "/big"))
        reply(c, "200 OK", "", big);
    else if (!strcmp(path, "/post"))
        reply(c, "200 OK", "", last_body);
    else if (!strncmp(path, "/slow", 5)) {
        c->busy = 1; /* never answered */
        concurrent++;
        if (concurrent > max_concurrent)
            max_concurrent = concurrent;
    } else
        reply(c, "404 Not Found", "", "nope");
}

static void alloc_cb(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    struct client *c = h->data;
    *b = uv_buf_init(c->buf + c->len, (unsigned)(sizeof c->buf - c->len - 1));
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct client *c = s->data;
    if (n < 0) {
        if (c->busy)
            concurrent--;
        uv_close((uv_handle_t *)s, client_closed);
        return;
    }
    c->len += (size_t)n;
    c->buf[c->len] = '\0';
    handle(c);
}

static void on_conn(uv_stream_t *s, int status)
{
    struct client *c = calloc(1, sizeof *c);
    uv_tcp_init(&loop, &c->tcp);
    c->tcp.data = c;
    uv_accept(s, (uv_stream_t *)&c->tcp);
    connections++;
    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
}

struct result {
    int calls;
    long status;
    int error;
    double retry_after;
    char body[256];
    int order;
};
static int order_counter;

static void cb(void *user, const struct cdl_rest_response *r)
{
    struct result *res = user;
    res->calls++;
    res->status = r->status;
    res->error = r->error;
    res->retry_after = r->retry_after_s;
    snprintf(res->body, sizeof res->body, "%s", r->body);
    res->order = ++order_counter;
}

static void run_until(int *flag, int want)
{
    for (int i = 0; i < 2000 && *flag < want; i++)
        uv_run(&loop, UV_RUN_ONCE);
}

static char url[128];
static const char *u(const char *path)
{
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    return url;
}

static void test_statuses_and_reuse(void)
{
    struct cdl_rest *r = cdl_rest_create(&loop, NULL);
    struct result a = { 0 }, b = { 0 }, c = { 0 };
    int before = connections;
    ASSERT_EQ(cdl_rest_request(r, "GET", u("/ok"), NULL, NULL, cb, &a, NULL), 0);
    ASSERT_EQ(a.calls, 0); /* never called from inside request() */
    run_until(&a.calls, 1);
    ASSERT_EQ(a.status, 200);
    ASSERT_EQ(a.error, 0);
    ASSERT_STR_EQ(a.body, "[1,2,3]");
    ASSERT(a.retry_after == -1);
    cdl_rest_request(r, "GET", u("/limited"), NULL, NULL, cb, &b, NULL);
    run_until(&b.calls, 1);
    ASSERT_EQ(b.status, 429);
    ASSERT(b.retry_after == 2);
    const char *hdrs[] = { "Content-Type: application/json", NULL };
    cdl_rest_request(r, "POST", u("/post"), hdrs, "{\"type\":\"candleSnapshot\"}", cb, &c, NULL);
    run_until(&c.calls, 1);
    ASSERT_STR_EQ(c.body, "{\"type\":\"candleSnapshot\"}");
    ASSERT_EQ(connections - before, 1); /* one keep-alive connection for all three */
    struct cdl_rest_stats st;
    cdl_rest_stats(r, &st);
    ASSERT_EQ(st.requests, 3);
    ASSERT_EQ(st.new_connections, 1);
    struct result d = { 0 };
    cdl_rest_request(r, "GET", u("/missing"), NULL, NULL, cb, &d, NULL);
    run_until(&d.calls, 1);
    ASSERT_EQ(d.status, 404);
    ASSERT_EQ(cdl_rest_request(r, "GET", "ftp://x", NULL, NULL, cb, &d, NULL), CDL_EINVAL);
    cdl_rest_destroy(r);
    uv_run(&loop, UV_RUN_NOWAIT);
}

static void test_cap_timeout_refused(void)
{
    struct cdl_rest_opts o;
    cdl_rest_opts_default(&o);
    o.max_body = 50000;
    o.timeout_ms = 300;
    struct cdl_rest *r = cdl_rest_create(&loop, &o);
    struct result a = { 0 }, b = { 0 }, c = { 0 };
    cdl_rest_request(r, "GET", u("/big"), NULL, NULL, cb, &a, NULL);
    cdl_rest_request(r, "GET", u("/slow1"), NULL, NULL, cb, &b, NULL);
    cdl_rest_request(r, "GET", "http://127.0.0.1:1/closed", NULL, NULL, cb, &c, NULL);
    run_until(&a.calls, 1);
    run_until(&b.calls, 1);
    run_until(&c.calls, 1);
    ASSERT_EQ(a.error, CDL_ERANGE);
    ASSERT_EQ(b.error, CDL_EIO);
    ASSERT_EQ(b.status, 0);
    ASSERT_EQ(c.error, CDL_EIO);
    cdl_rest_destroy(r);
    uv_run(&loop, UV_RUN_NOWAIT);
}

static void test_in_flight_bound_cancel_destroy(void)
{
    struct cdl_rest_opts o;
    cdl_rest_opts_default(&o);
    o.max_in_flight = 2;
    struct cdl_rest *r = cdl_rest_create(&loop, &o);
    struct result res[5] = { { 0 } };
    uint64_t ids[5];
    concurrent = max_concurrent = 0;
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(cdl_rest_request(r, "GET", u("/slow2"), NULL, NULL, cb, &res[i], &ids[i]), 0);
    for (int i = 0; i < 200; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    ASSERT_EQ(cdl_rest_in_flight(r), 2);
    ASSERT_EQ(cdl_rest_queued(r), 3);
    ASSERT_EQ(cdl_rest_cancel(r, ids[4]), 0);
    ASSERT_EQ(res[4].calls, 0); /* deferred */
    run_until(&res[4].calls, 1);
    ASSERT_EQ(res[4].error, CDL_ECLOSED);
    ASSERT_EQ(cdl_rest_cancel(r, 999), CDL_ENOTFOUND);
    cdl_rest_destroy(r);
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ(res[i].calls, 1);
        ASSERT_EQ(res[i].error, CDL_ECLOSED);
    }
    ASSERT_EQ(res[4].calls, 1);
    ASSERT(max_concurrent <= 2);
    uv_run(&loop, UV_RUN_NOWAIT);
}

static struct cdl_circuits *make_circuits(uint32_t recovery_ms)
{
    struct cdl_breaker_policy p = {
        .failure_threshold = 2, .half_open_calls = 1, .recovery_ms = recovery_ms, .max_ms = 300000, .jitter_pct = 0
    };
    return cdl_circuits_create(&p, NULL, 1);
}

static struct cdl_rest *make_rest(struct cdl_circuits *cs, long max_wait_ms)
{
    struct cdl_rest_opts o;
    cdl_rest_opts_default(&o);
    o.circuits = cs;
    o.breaker_max_wait_ms = max_wait_ms;
    return cdl_rest_create(&loop, &o);
}

static void spin(int n)
{
    for (int i = 0; i < n; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
}

/* Like run_until, but never blocks in poll: a breaker's wake-up is a timer alone. */
static void wait_for(int *flag, int want)
{
    for (int i = 0; i < 20000 && *flag < want; i++) {
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
}

/* A 429 with Retry-After: 2 holds the host for 2 s: the next request waits, unsent, then goes. */
static void test_breaker_retry_after_waits(void)
{
    struct cdl_circuits *cs = make_circuits(300);
    struct cdl_rest *r = make_rest(cs, 5000);
    struct result a = { 0 }, b = { 0 };
    cdl_rest_request(r, "GET", u("/limited"), NULL, NULL, cb, &a, NULL);
    wait_for(&a.calls, 1);
    ASSERT_EQ(a.status, 429);
    struct cdl_circuit *host = cdl_circuits_rest(cs, u("/"));
    ASSERT_EQ(cdl_circuit_state(host), CDL_BREAKER_OPEN);
    uv_update_time(&loop);
    uint64_t t0 = uv_now(&loop);
    int before = served;
    cdl_rest_request(r, "GET", u("/ok"), NULL, NULL, cb, &b, NULL);
    spin(50);
    ASSERT_EQ(b.calls, 0);
    ASSERT_EQ(served, before); /* not sent while open */
    ASSERT_EQ(cdl_rest_queued(r), 1);
    wait_for(&b.calls, 1);
    uv_update_time(&loop);
    ASSERT_EQ(b.status, 200);
    ASSERT_EQ(served, before + 1);
    ASSERT(uv_now(&loop) - t0 >= 1900); /* the 2 s less the time the 429 took to arrive */
    ASSERT_EQ(cdl_circuit_state(host), CDL_BREAKER_CLOSED);
    struct cdl_rest_stats st;
    cdl_rest_stats(r, &st);
    ASSERT_EQ(st.breaker_waits, 1);
    ASSERT_EQ(st.breaker_refused, 0);
    cdl_rest_destroy(r);
    spin(2);
    cdl_circuits_destroy(cs);
}

/* Open longer than breaker_max_wait_ms: requests fail at once, unsent, with CDL_EOPEN. */
static void test_breaker_refuses(void)
{
    struct cdl_circuits *cs = make_circuits(300);
    struct cdl_rest *r = make_rest(cs, 500);
    struct result a = { 0 }, b = { 0 }, c = { 0 };
    cdl_rest_request(r, "GET", u("/limited"), NULL, NULL, cb, &a, NULL);
    wait_for(&a.calls, 1);
    int before = served;
    ASSERT_EQ(cdl_rest_request(r, "GET", u("/ok"), NULL, NULL, cb, &b, NULL), 0);
    ASSERT_EQ(b.calls, 0); /* never from inside request() */
    wait_for(&b.calls, 1);
    ASSERT_EQ(b.error, CDL_EOPEN);
    ASSERT_EQ(b.status, 0);
    ASSERT_EQ(served, before);
    /* another host is not affected */
    cdl_rest_request(r, "GET", "http://localhost:1/x", NULL, NULL, cb, &c, NULL);
    wait_for(&c.calls, 1);
    ASSERT_EQ(c.error, CDL_EIO);
    struct cdl_rest_stats st;
    cdl_rest_stats(r, &st);
    ASSERT_EQ(st.breaker_refused, 1);
    cdl_rest_destroy(r);
    spin(2);
    cdl_circuits_destroy(cs);
}

/* 5xx twice opens it; half-open lets one trial go while the others wait for its verdict; 418
 * with Retry-After counts too; a cancelled trial gives its slot back. */
static void test_breaker_5xx_trials_cancel(void)
{
    struct cdl_circuits *cs = make_circuits(200);
    struct cdl_rest *r = make_rest(cs, 5000);
    struct cdl_circuit *host = cdl_circuits_rest(cs, u("/"));
    struct result e[2] = { { 0 } }, ok[3] = { { 0 } }, t = { 0 }, s = { 0 }, w = { 0 };
    for (int i = 0; i < 2; i++) {
        cdl_rest_request(r, "GET", u("/err500"), NULL, NULL, cb, &e[i], NULL);
        wait_for(&e[i].calls, 1);
        ASSERT_EQ(e[i].status, 500);
    }
    ASSERT_EQ(cdl_circuit_state(host), CDL_BREAKER_OPEN);
    int before = served;
    for (int i = 0; i < 3; i++)
        cdl_rest_request(r, "GET", u("/ok"), NULL, NULL, cb, &ok[i], NULL);
    wait_for(&ok[0].calls, 1);
    ASSERT_EQ(ok[0].status, 200); /* the trial */
    wait_for(&ok[2].calls, 1);
    ASSERT_EQ(ok[1].status, 200);
    ASSERT_EQ(ok[2].status, 200);
    ASSERT(ok[0].order < ok[1].order);
    ASSERT_EQ(served, before + 3);
    ASSERT_EQ(cdl_circuit_state(host), CDL_BREAKER_CLOSED);

    cdl_rest_request(r, "GET", u("/banned"), NULL, NULL, cb, &t, NULL);
    wait_for(&t.calls, 1);
    ASSERT_EQ(t.status, 418);
    ASSERT_EQ(cdl_circuit_state(host), CDL_BREAKER_OPEN); /* at once: it had Retry-After */
    uint64_t id;
    cdl_rest_request(r, "GET", u("/slow3"), NULL, NULL, cb, &s, &id);
    cdl_rest_request(r, "GET", u("/ok"), NULL, NULL, cb, &w, NULL);
    for (int i = 0; i < 20000 && cdl_rest_in_flight(r) == 0; i++) { /* the slow one goes as the trial after 1 s */
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    ASSERT_EQ(cdl_circuit_state(host), CDL_BREAKER_HALF_OPEN);
    spin(50);
    ASSERT_EQ(w.calls, 0); /* waits for the trial's verdict */
    ASSERT_EQ(cdl_rest_cancel(r, id), 0);
    wait_for(&w.calls, 1); /* the cancelled trial's slot went to it */
    ASSERT_EQ(w.status, 200);
    ASSERT_EQ(s.error, CDL_ECLOSED);
    ASSERT_EQ(cdl_circuit_state(host), CDL_BREAKER_CLOSED);
    cdl_rest_destroy(r);
    spin(2);
    cdl_circuits_destroy(cs);
}

/* 240 a minute at a fraction of 0.5, burst 2 -> 1: 120 a minute, one request of weight 1 every
 * 500 ms.  Five queued at once reach the server in order, one every 500 ms (no upper bound: the
 * machine may be slow); a request to another host (localhost) is not held behind them; a 429
 * empties the bucket, so the next one waits for a refill. */
static void test_budget_spreads(void)
{
    struct cdl_metrics *m = cdl_metrics_create(0);
    struct cdl_rest_opts o;
    cdl_rest_opts_default(&o);
    o.metrics = m;
    o.budget_fraction = 0.5;
    struct cdl_rest *r = cdl_rest_create(&loop, &o);
    ASSERT_EQ(cdl_rest_set_budget(r, u("/"), 240, 2), 0);
    ASSERT_EQ(cdl_rest_set_budget(r, "ftp://x/", 240, 2), CDL_EINVAL);
    ASSERT_EQ(cdl_rest_set_budget(r, u("/"), 480, 4), 0); /* declared again, larger: the smaller holds */
    char host[64], other[128];
    snprintf(host, sizeof host, "127.0.0.1:%d", port);
    snprintf(other, sizeof other, "http://localhost:%d/post", port);
    struct cdl_series *waiting = cdl_metrics_series(m, CDL_M_REST_BUDGET_WAITING, host);
    struct cdl_series *waits = cdl_metrics_series(m, CDL_M_REST_BUDGET_WAITS, host);
    struct result res[5] = { { 0 } }, o2 = { 0 }, lim = { 0 }, after = { 0 };
    n_ok = 0;
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(cdl_rest_request_weighted(r, "GET", u("/ok"), NULL, NULL, 1, cb, &res[i], NULL), 0);
    ASSERT_EQ(cdl_rest_request(r, "GET", other, NULL, NULL, cb, &o2, NULL), 0);
    wait_for(&o2.calls, 1);
    ASSERT_EQ(o2.status, 200);
    ASSERT_EQ(res[4].calls, 0); /* the other host went while these wait */
    struct cdl_rest_stats st;
    cdl_rest_stats(r, &st);
    ASSERT(st.budget_waiting >= 1);
    ASSERT_EQ(cdl_series_value(waiting), st.budget_waiting);
    wait_for(&res[4].calls, 1);
    ASSERT_EQ(n_ok, 5);
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ(res[i].status, 200);
        if (i > 0) {
            ASSERT(res[i].order > res[i - 1].order);
            ASSERT(ok_at[i] - ok_at[i - 1] >= 450); /* 500 ms apart when sent */
        }
    }
    ASSERT(ok_at[4] - ok_at[0] >= 1950);
    cdl_rest_stats(r, &st);
    ASSERT_EQ(st.budget_waits, 4); /* the first went at once */
    ASSERT_EQ(st.budget_waiting, 0);
    ASSERT_EQ(cdl_series_value(waiting), 0);
    ASSERT_EQ(cdl_series_value(waits), 4);

    cdl_rest_destroy(r);
    spin(2);

    /* burst 3 (full): a 429 takes 1 of the 3 and drains the other 2, so the next waits 500 ms */
    r = cdl_rest_create(&loop, &o);
    ASSERT_EQ(cdl_rest_set_budget(r, u("/"), 240, 6), 0);
    ASSERT_EQ(cdl_rest_request(r, "GET", u("/limited"), NULL, NULL, cb, &lim, NULL), 0);
    wait_for(&lim.calls, 1);
    ASSERT_EQ(lim.status, 429);
    uv_update_time(&loop);
    uint64_t t429 = uv_now(&loop);
    ASSERT_EQ(cdl_rest_request(r, "GET", u("/ok"), NULL, NULL, cb, &after, NULL), 0);
    wait_for(&after.calls, 1);
    ASSERT_EQ(after.status, 200);
    ASSERT(ok_at[5] - t429 >= 450);
    cdl_rest_destroy(r);
    spin(2);

    /* budgets off (rest.budgets = false): the same 5 go at once */
    o.budget_fraction = 0;
    r = cdl_rest_create(&loop, &o);
    ASSERT_EQ(cdl_rest_set_budget(r, u("/"), 240, 2), 0);
    struct result free5[5] = { { 0 } };
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(cdl_rest_request_weighted(r, "GET", u("/ok"), NULL, NULL, 1, cb, &free5[i], NULL), 0);
    wait_for(&free5[4].calls, 1);
    cdl_rest_stats(r, &st);
    ASSERT_EQ(st.budget_waits, 0);
    cdl_rest_destroy(r);
    spin(2);
    cdl_metrics_destroy(m);
}

static void close_walk(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, h->data && h != (uv_handle_t *)&server ? client_closed : NULL);
}

int main(void)
{
    memset(big, 'x', sizeof big - 1);
    uv_loop_init(&loop);
    uv_tcp_init(&loop, &server);
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", 0, &addr);
    uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
    uv_listen((uv_stream_t *)&server, 16, on_conn);
    struct sockaddr_in got;
    int len = sizeof got;
    uv_tcp_getsockname(&server, (struct sockaddr *)&got, &len);
    port = ntohs(got.sin_port);
    TEST_RUN(test_statuses_and_reuse);
    TEST_RUN(test_cap_timeout_refused);
    TEST_RUN(test_in_flight_bound_cancel_destroy);
    cdl_log_setup(CDL_LOG_OFF, CDL_LOG_JSON, NULL);
    TEST_RUN(test_breaker_retry_after_waits);
    TEST_RUN(test_breaker_refuses);
    TEST_RUN(test_breaker_5xx_trials_cancel);
    TEST_RUN(test_budget_spreads);
    uv_close((uv_handle_t *)&server, NULL);
    uv_walk(&loop, close_walk, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    int closed = uv_loop_close(&loop);
    if (closed)
        fprintf(stderr, "uv_loop_close: %s\n", uv_strerror(closed));
    return TEST_DONE() || closed != 0;
}

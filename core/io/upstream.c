/* upstream.c - see upstream.h. */
#include "upstream.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "err.h"
#include "log.h"
#include "url.h"
#include "xalloc.h"

enum up_state { UP_IDLE, UP_RESOLVING, UP_CONNECTING, UP_OPEN, UP_CLOSING, UP_WAITING };

struct out_frame {
    struct out_frame *next;
    size_t len;
    unsigned char buf[]; /* LWS_PRE + payload */
};

struct cdl_upstream {
    struct cdl_net *net;
    uv_loop_t *loop;
    struct cdl_upstream_opts o;
    char url[1024], name[128];
    struct cdl_url parsed;
    struct cdl_upstream_cbs cbs;
    void *user;

    enum up_state state;
    struct lws *wsi;
    char ip[64];
    uv_getaddrinfo_t gai;
    int gai_busy;

    uv_timer_t retry_timer, idle_timer, ping_timer, send_timer;
    int handles_open; /* uv handles not yet closed */
    int handles_closing;
    int dead;                    /* destroy() called */
    unsigned attempt;            /* consecutive failed attempts */
    struct cdl_circuit *circuit; /* borrowed, may be NULL */
    int verdict_due;             /* this attempt was let through by the breaker and owes it a verdict */
    uint64_t retry_after_ms;     /* the upgrade was answered 429/418 with Retry-After */
    unsigned generation;
    uint64_t rng;
    uint64_t last_rx_ms;
    int close_code;      /* close frame to write at the next WRITEABLE, 0 = none */
    int reconnect_after; /* after our own close: reconnect */
    int paused;          /* backpressure: not reading (applied again on every connection) */

    struct out_frame *q_head, *q_tail;
    size_t q_len;
    double tokens;
    uint64_t tokens_at_ms;

    struct cdl_reasm rx;
};

static int n_alive; /* upstreams created and not yet freed (loop thread only) */

int cdl_upstream_alive(void) { return n_alive; }

static uint64_t now_ms(const struct cdl_upstream *u) { return uv_now(u->loop); }

static void on_handle_closed(uv_handle_t *h)
{
    struct cdl_upstream *u = h->data;
    if (--u->handles_open == 0 && !u->wsi && !u->gai_busy) {
        cdl_reasm_free(&u->rx);
        free(u);
        n_alive--;
    }
}

/* Frees u once nothing refers to it any more (lws wsi gone, DNS finished). */
static void maybe_free(struct cdl_upstream *u)
{
    if (!u->dead || u->wsi || u->gai_busy || u->handles_closing)
        return;
    { /* close our timers; the last close callback frees */
        u->handles_closing = 1;
        uv_close((uv_handle_t *)&u->retry_timer, on_handle_closed);
        uv_close((uv_handle_t *)&u->idle_timer, on_handle_closed);
        uv_close((uv_handle_t *)&u->ping_timer, on_handle_closed);
        uv_close((uv_handle_t *)&u->send_timer, on_handle_closed);
    }
}

static void queue_clear(struct cdl_upstream *u)
{
    struct out_frame *f = u->q_head, *next;
    for (; f; f = next) {
        next = f->next;
        free(f);
    }
    u->q_head = u->q_tail = NULL;
    u->q_len = 0;
}

static void connect_now(struct cdl_upstream *u);
static void resolve(struct cdl_upstream *u);
static void retry_cb(uv_timer_t *t);

/* Every connect attempt starts here: the breaker decides whether it may go now; if not, the
 * attempt waits for the end of the open wait (or, while the half-open trials are out, polls
 * at the backoff delay). */
static void attempt(struct cdl_upstream *u)
{
    if (u->circuit && !u->verdict_due) {
        uint64_t now = now_ms(u);
        if (!cdl_circuit_allow(u->circuit, now)) {
            uint64_t at = cdl_circuit_next_allowed(u->circuit, now), wait;
            if (at == CDL_BREAKER_AFTER_TRIALS)
                wait = cdl_backoff_delay(&cdl_backoff_upstream, u->attempt, cdl_rand_next(&u->rng));
            else
                wait = at > now ? at - now : 1;
            char d[24];
            snprintf(d, sizeof d, "%llu", (unsigned long long)wait);
            cdl_log(CDL_LOG_DEBUG, "upstream held by the circuit breaker", "conn", u->name, "circuit",
                    cdl_circuit_name(u->circuit), "delay_ms", d, NULL);
            u->state = UP_WAITING;
            uv_timer_start(&u->retry_timer, retry_cb, wait, 0);
            return;
        }
        u->verdict_due = 1;
    }
    cdl_log(CDL_LOG_INFO, "upstream connecting", "conn", u->name, NULL);
    resolve(u);
}

static void retry_cb(uv_timer_t *t)
{
    struct cdl_upstream *u = t->data;
    if (!u->dead)
        attempt(u);
}

/* Every failure funnels here: stop timers, tell the owner, schedule the next attempt. */
static void schedule_retry(struct cdl_upstream *u, const char *why)
{
    uv_timer_stop(&u->idle_timer);
    uv_timer_stop(&u->ping_timer);
    uv_timer_stop(&u->send_timer);
    queue_clear(u);
    cdl_reasm_reset(&u->rx);
    if (u->dead)
        return;
    u->state = UP_WAITING;
    uint64_t delay = cdl_backoff_delay(&cdl_backoff_upstream, u->attempt, cdl_rand_next(&u->rng));
    u->attempt++;
    if (u->circuit) {
        uint64_t now = now_ms(u);
        if (u->verdict_due) { /* ended before the exchange said anything that made sense: failed */
            u->verdict_due = 0;
            if (u->retry_after_ms)
                cdl_circuit_retry_after(u->circuit, now, u->retry_after_ms, why);
            else
                cdl_circuit_failure(u->circuit, now, why);
        }
        u->retry_after_ms = 0;
        /* open: the breaker's wait replaces the backoff, the retry goes when it half-opens */
        if (cdl_circuit_state(u->circuit) == CDL_BREAKER_OPEN)
            delay = cdl_circuit_next_allowed(u->circuit, now) - now;
    }
    char d[24];
    snprintf(d, sizeof d, "%llu", (unsigned long long)delay);
    cdl_log(CDL_LOG_WARN, "upstream down, reconnecting", "conn", u->name, "reason", why, "delay_ms", d, NULL);
    if (u->cbs.on_down)
        u->cbs.on_down(u->user, why);
    if (!u->dead)
        uv_timer_start(&u->retry_timer, retry_cb, delay, 0);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct cdl_upstream *u = req->data;
    u->gai_busy = 0;
    if (u->dead) {
        if (res)
            uv_freeaddrinfo(res);
        maybe_free(u);
        return;
    }
    if (status < 0 || !res) {
        if (res)
            uv_freeaddrinfo(res);
        schedule_retry(u, status < 0 ? uv_strerror(status) : "no address");
        return;
    }
    /* IPv4 first: "localhost" often resolves to ::1 too, which a service may not listen on */
    const struct addrinfo *pick = res;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next)
        if (ai->ai_family == AF_INET) {
            pick = ai;
            break;
        }
    uv_ip_name(pick->ai_addr, u->ip, sizeof u->ip);
    uv_freeaddrinfo(res);
    connect_now(u);
}

static void resolve(struct cdl_upstream *u)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    u->state = UP_RESOLVING;
    u->gai.data = u;
    int rc = uv_getaddrinfo(u->loop, &u->gai, on_resolved, u->parsed.host, NULL, &hints);
    if (rc < 0) {
        schedule_retry(u, uv_strerror(rc));
        return;
    }
    u->gai_busy = 1;
}

static void connect_now(struct cdl_upstream *u)
{
    struct lws_client_connect_info i;
    memset(&i, 0, sizeof i);
    i.context = cdl_net_context(u->net);
    i.vhost = cdl_net_client_vhost(u->net);
    i.address = u->ip; /* pre-resolved: lws 4.1.6 would call getaddrinfo() inside the loop */
    i.port = u->parsed.port;
    i.path = u->parsed.path;
    i.host = u->parsed.host; /* SNI and certificate name */
    i.origin = u->parsed.host;
    i.ssl_connection = u->parsed.tls ? LCCSCF_USE_SSL : 0;
    i.local_protocol_name = "cdl-upstream";
    i.pwsi = &u->wsi;
    i.opaque_user_data = u;
    u->state = UP_CONNECTING;
    if (!lws_client_connect_via_info(&i)) {
        /* early failures return NULL without a CONNECTION_ERROR callback (lws #2301) */
        u->wsi = NULL;
        schedule_retry(u, "connect failed");
    }
}

static void idle_cb(uv_timer_t *t)
{
    struct cdl_upstream *u = t->data;
    uint64_t idle = now_ms(u) - u->last_rx_ms;
    uint64_t limit = (uint64_t)(u->o.idle_timeout_s * 1000);
    if (idle >= limit) {
        cdl_upstream_reconnect(u, "idle timeout");
        return;
    }
    uv_timer_start(&u->idle_timer, idle_cb, limit - idle, 0);
}

static void ping_cb(uv_timer_t *t)
{
    struct cdl_upstream *u = t->data;
    if (u->state == UP_OPEN && u->cbs.on_ping)
        u->cbs.on_ping(u->user);
}

static void send_cb(uv_timer_t *t)
{
    struct cdl_upstream *u = t->data;
    if (u->wsi && u->q_head)
        lws_callback_on_writable(u->wsi);
}

/* Token bucket: may one more frame go now?  If not, arms send_timer for when it may. */
static int take_token(struct cdl_upstream *u)
{
    if (u->o.max_sends_per_sec <= 0)
        return 1;
    uint64_t now = now_ms(u);
    double rate = u->o.max_sends_per_sec;
    u->tokens += (double)(now - u->tokens_at_ms) * rate / 1000.0;
    if (u->tokens > rate)
        u->tokens = rate;
    u->tokens_at_ms = now;
    if (u->tokens >= 1.0) {
        u->tokens -= 1.0;
        return 1;
    }
    uint64_t wait = (uint64_t)((1.0 - u->tokens) * 1000.0 / rate) + 1;
    uv_timer_start(&u->send_timer, send_cb, wait, 0);
    return 0;
}

struct cdl_upstream *cdl_upstream_create(struct cdl_net *net, uv_loop_t *loop, const struct cdl_upstream_opts *o,
                                         const struct cdl_upstream_cbs *cbs, void *user)
{
    struct cdl_upstream *u = cdl_xcalloc(1, sizeof *u);
    n_alive++;
    u->net = net;
    u->loop = loop;
    u->o = *o;
    snprintf(u->url, sizeof u->url, "%s", o->url);
    snprintf(u->name, sizeof u->name, "%s", o->name ? o->name : o->url);
    u->o.url = u->url;
    u->o.name = u->name;
    if (!u->o.max_message)
        u->o.max_message = 1 << 20;
    if (!u->o.max_queued)
        u->o.max_queued = 4096;
    u->cbs = *cbs;
    u->user = user;
    u->rng = (uint64_t)(uintptr_t)u ^ uv_hrtime();
    uv_timer_t *timers[] = { &u->retry_timer, &u->idle_timer, &u->ping_timer, &u->send_timer };
    for (int i = 0; i < 4; i++) {
        uv_timer_init(loop, timers[i]);
        timers[i]->data = u;
    }
    u->handles_open = 4;
    u->circuit = o->circuit;
    return u;
}

int cdl_upstream_start(struct cdl_upstream *u)
{
    if (cdl_url_parse(u->url, &u->parsed))
        return CDL_EINVAL;
    attempt(u);
    return 0;
}

int cdl_upstream_is_open(const struct cdl_upstream *u) { return u->state == UP_OPEN; }

void cdl_upstream_pause(struct cdl_upstream *u, int paused)
{
    u->paused = paused;
    if (u->wsi && u->state == UP_OPEN)
        lws_rx_flow_control(u->wsi, !paused);
}
size_t cdl_upstream_queued(const struct cdl_upstream *u) { return u->q_len; }
unsigned cdl_upstream_generation(const struct cdl_upstream *u) { return u->generation; }

void cdl_upstream_accepted(struct cdl_upstream *u)
{
    if (!u || u->dead || u->state != UP_OPEN || !u->verdict_due)
        return;
    u->verdict_due = 0;
    cdl_circuit_success(u->circuit, now_ms(u));
}

int cdl_upstream_send(struct cdl_upstream *u, const char *data, size_t len)
{
    if (u->state != UP_OPEN || !u->wsi)
        return CDL_ECLOSED;
    if (u->q_len >= u->o.max_queued)
        return CDL_EBUSY;
    struct out_frame *f = cdl_xmalloc(sizeof *f + LWS_PRE + len);
    f->next = NULL;
    f->len = len;
    memcpy(f->buf + LWS_PRE, data, len);
    if (u->q_tail)
        u->q_tail->next = f;
    else
        u->q_head = f;
    u->q_tail = f;
    u->q_len++;
    lws_callback_on_writable(u->wsi);
    return 0;
}

void cdl_upstream_reconnect(struct cdl_upstream *u, const char *why)
{
    if (u->dead)
        return;
    if (u->wsi && (u->state == UP_OPEN || u->state == UP_CONNECTING)) {
        cdl_log(CDL_LOG_INFO, "upstream closing to reconnect", "conn", u->name, "reason", why, NULL);
        u->state = UP_CLOSING;
        u->close_code = LWS_CLOSE_STATUS_NORMAL;
        u->reconnect_after = 1;
        lws_callback_on_writable(u->wsi);
        /* if the peer never lets us write, lws kills it after this timeout */
        lws_set_timeout(u->wsi, PENDING_TIMEOUT_CLOSE_SEND, 5);
    } else if (u->state == UP_WAITING) {
        uv_timer_stop(&u->retry_timer);
        attempt(u);
    }
}

void cdl_upstream_destroy(struct cdl_upstream *u)
{
    if (!u || u->dead)
        return;
    u->dead = 1;
    if (u->verdict_due) { /* no verdict: give the trial slot back */
        u->verdict_due = 0;
        cdl_circuit_release(u->circuit);
    }
    queue_clear(u);
    uv_timer_stop(&u->retry_timer);
    uv_timer_stop(&u->idle_timer);
    uv_timer_stop(&u->ping_timer);
    uv_timer_stop(&u->send_timer);
    if (u->gai_busy)
        uv_cancel((uv_req_t *)&u->gai);
    if (u->wsi) {
        u->close_code = LWS_CLOSE_STATUS_GOINGAWAY;
        u->state = UP_CLOSING;
        lws_callback_on_writable(u->wsi);
        lws_set_timeout(u->wsi, PENDING_TIMEOUT_CLOSE_SEND, 3);
    }
    maybe_free(u);
}

static void deliver(struct cdl_upstream *u, const char *data, size_t len)
{
    if (u->cbs.on_frame)
        u->cbs.on_frame(u->user, data, len, uv_hrtime() / 1000);
}

static void on_receive(struct cdl_upstream *u, struct lws *wsi, const char *in, size_t len)
{
    const char *msg;
    size_t n;
    u->last_rx_ms = now_ms(u);
    switch (cdl_reasm_feed(&u->rx, wsi, u->o.max_message, in, len, &msg, &n)) {
    case CDL_REASM_DONE: deliver(u, msg, n); break;
    case CDL_REASM_OVERSIZE:
        if (u->cbs.on_oversize)
            u->cbs.on_oversize(u->user, n);
        break;
    default: break;
    }
}

/* An upgrade refused with 429 or 418 and a Retry-After (seconds): how long the exchange wants us
 * away, in ms; 0 otherwise. */
static uint64_t handshake_retry_after(struct lws *wsi)
{
    unsigned status = lws_http_client_http_response(wsi);
    char ra[32];
    if ((status != 429 && status != 418) || lws_hdr_copy(wsi, ra, sizeof ra, WSI_TOKEN_HTTP_RETRY_AFTER) <= 0)
        return 0;
    char *end;
    double v = strtod(ra, &end);
    return end != ra && v > 0 && v < 86400 ? (uint64_t)(v * 1000.0) : 0;
}

static int lws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct cdl_upstream *u = lws_get_opaque_user_data(wsi);
    (void)user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (!u || u->dead)
            return -1;
        u->state = UP_OPEN;
        u->attempt = 0; /* reset the backoff once a connection works (lws keeps its own count otherwise) */
        u->generation++;
        u->last_rx_ms = now_ms(u);
        u->tokens = u->o.max_sends_per_sec > 1 ? 1 : u->o.max_sends_per_sec;
        u->tokens_at_ms = now_ms(u);
        cdl_log(CDL_LOG_INFO, "upstream connected", "conn", u->name, "url", u->url, NULL);
        if (u->paused)
            lws_rx_flow_control(wsi, 0);
        if (u->o.idle_timeout_s > 0)
            uv_timer_start(&u->idle_timer, idle_cb, (uint64_t)(u->o.idle_timeout_s * 1000), 0);
        if (u->o.ping_interval_s > 0) {
            uint64_t p = (uint64_t)(u->o.ping_interval_s * 1000);
            uv_timer_start(&u->ping_timer, ping_cb, p, p);
        }
        if (u->cbs.on_open)
            u->cbs.on_open(u->user);
        return 0;

    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (!u || u->dead || u->state != UP_OPEN)
            return 0;
        on_receive(u, wsi, in, len); /* the owner says (cdl_upstream_accepted) if it made sense */
        return 0;

    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (!u || u->dead) {
            cdl_net_write_close(wsi, LWS_CLOSE_STATUS_GOINGAWAY, "bye");
            return -1;
        }
        if (u->close_code) {
            cdl_net_write_close(wsi, u->close_code, "reconnect");
            u->close_code = 0;
            return -1;
        }
        /* lws 4.1.6 sends spurious WRITEABLEs (lws #3497): nothing queued is fine */
        if (!u->q_head || !take_token(u))
            return 0;
        {
            struct out_frame *f = u->q_head;
            u->q_head = f->next;
            if (!u->q_head)
                u->q_tail = NULL;
            u->q_len--;
            int n = lws_write(wsi, f->buf + LWS_PRE, f->len, LWS_WRITE_TEXT);
            free(f);
            if (n < 0)
                return -1;
        }
        if (u->q_head)
            lws_callback_on_writable(wsi);
        return 0;

    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (!u)
            return 0;
        lws_set_opaque_user_data(wsi, NULL);
        u->wsi = NULL;
        if (u->dead) {
            maybe_free(u);
            return 0;
        }
        if (reason == LWS_CALLBACK_CLIENT_CONNECTION_ERROR)
            u->retry_after_ms = handshake_retry_after(wsi);
        {
            char why[160];
            if (reason == LWS_CALLBACK_CLIENT_CONNECTION_ERROR)
                snprintf(why, sizeof why, "connect error: %.*s", in ? (int)(len < 120 ? len : 120) : 7,
                         in ? (const char *)in : "unknown");
            else
                snprintf(why, sizeof why, "%s", u->reconnect_after ? "closed to reconnect" : "closed by peer");
            if (u->reconnect_after) {
                u->reconnect_after = 0;
                u->attempt = 0;
            }
            schedule_retry(u, why);
        }
        return 0;

    default: return 0;
    }
}

static const struct lws_protocols protocols[] = {
    { "cdl-upstream", lws_callback, 0, 65536, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 },
};

const struct lws_protocols *cdl_upstream_protocols(void) { return protocols; }

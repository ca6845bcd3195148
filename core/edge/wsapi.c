/* wsapi.c - see wsapi.h. */
#include "wsapi.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "clock.h"
#include "err.h"
#include "jsonscan.h"
#include "list.h"
#include "log.h"
#include "request.h"
#include "xalloc.h"

#define CTL_MAX 4096        /* replies queued for one client before it counts as not reading */
#define CLOSE_WAIT_S 10     /* a client that never lets us write its close frame is dropped after this */
#define LOG_WINDOW_MS 10000 /* rate limit window of the client log lines */
#define LOG_BURST 5         /* lines of one kind per window */
#define WRITE_BATCH 256     /* messages written per WRITEABLE at most, so one busy client cannot hog the loop */

struct client;
struct csub;

/* One queued message: a reply (ss == NULL) or a quote of symbol subscription ss. */
struct msg {
    struct msg *next;
    struct symsub *ss;
    int gap; /* a gap event of ss: not a quote, not counted toward its limit */
    size_t len;
    unsigned char buf[]; /* LWS_PRE + payload */
};

/* One symbol of one subscription: the hub subscriber and its pending open candle. */
struct symsub {
    struct csub *sub;
    struct cdl_hub_sub *hs; /* NULL once released */
    char exch_symbol[CDL_SYMBOL_MAX];
    struct msg *open; /* latest open candle not yet written */
    int64_t open_time;
    struct cdl_list dlink; /* in the client's dirty list while dirty */
    int dirty;
};

/* One subscribe request. */
struct csub {
    struct cdl_list link; /* in the client's subs */
    struct client *cl;
    struct cdl_hub_feed *hf;
    int64_t limit, sent;
    int closed_only;
    int n, n_live;
    struct symsub *syms;
};

struct client {
    struct cdl_list link; /* in the server's clients */
    struct cdl_wsapi *srv;
    struct lws *wsi;
    uint64_t id;
    struct cdl_reasm rx;
    struct msg *ctl_head, *ctl_tail, *q_head, *q_tail;
    int n_ctl, n_q;
    struct cdl_list dirty; /* struct symsub.dlink: pending open candles, oldest first */
    struct cdl_list subs;  /* struct csub.link, newest first */
    int n_symbols;         /* live symbol subscriptions */
    int n_done;            /* subscriptions that delivered their limit */
    double tokens;
    uint64_t tokens_ms;
    int write_asked; /* a WRITEABLE is on its way */
    int close_code;
    char close_reason[100];
};

struct pss {
    struct client *cl;
};

/* The last quote rendered.  The hub hands one candle to every subscriber of its stream in turn,
 * so the clients that spell the symbol alike share one rendering of it. */
struct rendered {
    struct cdl_candle c;
    char exchange[32], contract_type[32], symbol[CDL_SYMBOL_MAX], interval[16];
    int len; /* 0 = nothing cached */
    char buf[2048];
};

struct cdl_wsapi {
    struct cdl_wsapi_opts o;
    char host[64];
    struct cdl_hub *hub;
    struct cdl_metrics *metrics;
    struct lws_vhost *vh;
    struct cdl_jsonscan *scan;
    struct cdl_list clients; /* struct client.link, newest first */
    int n_clients;
    uint64_t next_id;
    int draining;
    struct cdl_series *s_clients, *s_streams, *s_accepted, *s_slow, *s_quotes;
    struct cdl_series *s_depth_closed, *s_depth_open;
    long depth_closed, depth_open; /* closed candles queued / open candles waiting, all clients */
    struct cdl_log_limit lim_slow, lim_refused;
    struct rendered last;
};

static struct msg *msg_new(const char *text, size_t len)
{
    struct msg *m = cdl_xmalloc(sizeof *m + LWS_PRE + len);
    m->next = NULL;
    m->ss = NULL;
    m->gap = 0;
    m->len = len;
    memcpy(m->buf + LWS_PRE, text, len);
    return m;
}

static void msgs_free(struct msg *m)
{
    for (struct msg *next; m; m = next) {
        next = m->next;
        free(m);
    }
}

/* The queue depth gauges are sums over the clients, kept current at every change. */
static void depth_closed_add(struct client *cl, int d)
{
    cl->n_q += d;
    cl->srv->depth_closed += d;
    cdl_series_set(cl->srv->s_depth_closed, (double)cl->srv->depth_closed);
}

static void depth_open_add(struct cdl_wsapi *srv, int d)
{
    srv->depth_open += d;
    cdl_series_set(srv->s_depth_open, (double)srv->depth_open);
}

static void dirty_unlink(struct client *cl, struct symsub *ss)
{
    if (!ss->dirty)
        return;
    depth_open_add(cl->srv, -1);
    cdl_list_remove(&ss->dlink);
    ss->dirty = 0;
}

/* Drops what is queued for ss (all of sub's symbols when ss is NULL). */
static void purge(struct client *cl, struct csub *sub, struct symsub *only)
{
    struct msg **pp = &cl->q_head, *m;
    cl->q_tail = NULL;
    while ((m = *pp)) {
        if (m->ss && m->ss->sub == sub && (!only || m->ss == only)) {
            *pp = m->next;
            free(m);
            depth_closed_add(cl, -1);
        } else {
            cl->q_tail = m;
            pp = &m->next;
        }
    }
    for (int i = 0; i < sub->n; i++) {
        struct symsub *ss = &sub->syms[i];
        if (only && ss != only)
            continue;
        dirty_unlink(cl, ss);
        free(ss->open);
        ss->open = NULL;
    }
}

static void release_symsub(struct client *cl, struct symsub *ss)
{
    if (!ss->hs)
        return;
    cdl_hub_unsubscribe(ss->hs);
    ss->hs = NULL;
    ss->sub->n_live--;
    cl->n_symbols--;
    cdl_series_add(cl->srv->s_streams, -1);
}

static void sub_free(struct client *cl, struct csub *sub)
{
    purge(cl, sub, NULL);
    for (int i = 0; i < sub->n; i++)
        release_symsub(cl, &sub->syms[i]);
    cdl_list_remove(&sub->link);
    free(sub->syms);
    free(sub);
}

/* Asks for one WRITEABLE, once: under libuv every lws_callback_on_writable() restarts the fd's
 * uv_poll, which drops its events still pending in the current loop iteration, so asking again
 * for each quote of a flooding upstream would starve the client of WRITEABLEs for good. */
static void wake(struct client *cl)
{
    if (cl->wsi && !cl->write_asked) {
        cl->write_asked = 1;
        lws_callback_on_writable(cl->wsi);
    }
}

/* Closes the client: queues are dropped, the close frame goes at the next WRITEABLE. */
static void client_close(struct client *cl, int code, const char *reason)
{
    if (cl->close_code)
        return;
    cl->close_code = code;
    snprintf(cl->close_reason, sizeof cl->close_reason, "%s", reason);
    msgs_free(cl->ctl_head);
    msgs_free(cl->q_head);
    cl->ctl_head = cl->ctl_tail = cl->q_head = cl->q_tail = NULL;
    cl->n_ctl = 0;
    depth_closed_add(cl, -cl->n_q);
    struct cdl_list *it, *tmp;
    cdl_list_each(it, tmp, &cl->subs) purge(cl, cdl_list_entry(it, struct csub, link), NULL);
    wake(cl);
    if (cl->wsi)
        lws_set_timeout(cl->wsi, PENDING_TIMEOUT_CLOSE_SEND, CLOSE_WAIT_S);
}

static void slow_client(struct client *cl, const char *what, int n)
{
    char reason[100], id[24], q[24];
    snprintf(reason, sizeof reason, "slow consumer: more than %d %s queued", n, what);
    snprintf(id, sizeof id, "%llu", (unsigned long long)cl->id);
    snprintf(q, sizeof q, "%d", n);
    cdl_series_add(cl->srv->s_slow, 1);
    cdl_log_limited(&cl->srv->lim_slow, LOG_WINDOW_MS, CDL_LOG_WARN, "client too slow, closing (1008)", "client", id,
                    "queued", q, "what", what, NULL);
    client_close(cl, LWS_CLOSE_STATUS_POLICY_VIOLATION, reason);
}

static void send_ctl(struct client *cl, const char *text, size_t len)
{
    if (cl->close_code)
        return;
    if (cl->n_ctl >= CTL_MAX) {
        slow_client(cl, "replies", CTL_MAX);
        return;
    }
    struct msg *m = msg_new(text, len);
    if (cl->ctl_tail)
        cl->ctl_tail->next = m;
    else
        cl->ctl_head = m;
    cl->ctl_tail = m;
    cl->n_ctl++;
    wake(cl);
}

static void send_error(struct client *cl, const char *code, const char *message)
{
    char buf[1024];
    size_t n = (size_t)snprintf(buf, sizeof buf, "{\"type\":\"error\",\"code\":\"%s\",\"message\":", code);
    if (cdl_json_put_string(buf, sizeof buf - 1, &n, message))
        n += (size_t)snprintf(buf + n, sizeof buf - n, "\"(message too long)\"");
    buf[n++] = '}';
    send_ctl(cl, buf, n);
    cdl_series_add(cdl_metrics_series(cl->srv->metrics, CDL_M_CLIENT_ERRORS, code), 1);
    char id[24];
    snprintf(id, sizeof id, "%llu", (unsigned long long)cl->id);
    cdl_log_limited(&cl->srv->lim_refused, LOG_WINDOW_MS, CDL_LOG_WARN, "client request refused", "client", id, "code",
                    code, "message", message, NULL);
}

/* ---- quotes from the hub ------------------------------------------------------------------------------ */

static int copy_key(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

/* The quote's JSON (srv->last.buf) and its length; negative if it does not fit. */
static int render_quote(struct cdl_wsapi *srv, const struct cdl_quote_meta *meta, const struct cdl_candle *c)
{
    struct rendered *r = &srv->last;
    if (r->len > 0 && !memcmp(&r->c, c, sizeof *c) && !strcmp(r->symbol, meta->symbol) &&
        !strcmp(r->interval, meta->interval) && !strcmp(r->exchange, meta->exchange) &&
        !strcmp(r->contract_type, meta->contract_type))
        return r->len;
    r->len = 0;
    int n = cdl_quote_json(r->buf, sizeof r->buf, meta, c);
    if (n > 0 && !copy_key(r->symbol, sizeof r->symbol, meta->symbol) &&
        !copy_key(r->interval, sizeof r->interval, meta->interval) &&
        !copy_key(r->exchange, sizeof r->exchange, meta->exchange) &&
        !copy_key(r->contract_type, sizeof r->contract_type, meta->contract_type)) {
        memcpy(&r->c, c, sizeof *c);
        r->len = n; /* cached only when the whole key fits */
    }
    return n;
}

static void on_quote(void *user, const struct cdl_quote_meta *meta, const struct cdl_candle *c,
                     const struct cdl_gap *gap)
{
    struct symsub *ss = user;
    struct csub *sub = ss->sub;
    struct client *cl = sub->cl;
    if (cl->close_code || (c && sub->closed_only && c->closed != 1))
        return;
    char buf[2048];
    int n = c ? render_quote(cl->srv, meta, c)
              : cdl_gap_json(buf, sizeof buf, meta, gap->from, gap->to, gap->missing, gap->reason);
    if (n < 0)
        return;
    struct msg *m = msg_new(c ? cl->srv->last.buf : buf, (size_t)n);
    m->ss = ss;
    m->gap = !c;
    if (!c || c->closed == 1) {                               /* a gap event is ordered with the closed candles */
        if (c && ss->open && ss->open_time <= c->open_time) { /* superseded by its close */
            dirty_unlink(cl, ss);
            free(ss->open);
            ss->open = NULL;
        }
        if (cl->q_tail)
            cl->q_tail->next = m;
        else
            cl->q_head = m;
        cl->q_tail = m;
        depth_closed_add(cl, 1);
        if (cl->n_q > cl->srv->o.queue_max) {
            slow_client(cl, "closed candles", cl->srv->o.queue_max);
            return;
        }
    } else {
        free(ss->open); /* latest wins */
        ss->open = m;
        ss->open_time = c->open_time;
        if (!ss->dirty) {
            ss->dirty = 1;
            depth_open_add(cl->srv, 1);
            cdl_list_push_back(&cl->dirty, &ss->dlink);
        }
    }
    wake(cl);
}

/* ---- requests ------------------------------------------------------------------------------------------ */

/* The echo of a (un)subscribe: {"type":"subscribed","exchange":..,"contract_type":..,"symbols":[..],...}. */
static void send_echo(struct client *cl, const char *type, struct cdl_hub_feed *hf, const struct cdl_request *rq)
{
    size_t cap = 512 + (size_t)rq->n_symbols * (CDL_SYMBOL_MAX * 6 + 3), n;
    char *buf = cdl_xmalloc(cap);
    n = (size_t)snprintf(buf, cap, "{\"type\":\"%s\",\"exchange\":\"%s\",\"contract_type\":\"%s\",\"symbols\":[", type,
                         cdl_hub_feed_exchange(hf), cdl_hub_feed_market(hf));
    for (int i = 0; i < rq->n_symbols; i++) {
        if (i)
            buf[n++] = ',';
        cdl_json_put_string(buf, cap, &n, rq->symbols[i]);
    }
    n += (size_t)snprintf(buf + n, cap - n, "],\"interval\":\"%s\"", cdl_hub_feed_interval(hf));
    if (rq->op == CDL_REQ_SUBSCRIBE)
        n += (size_t)snprintf(buf + n, cap - n, ",\"limit\":%lld,\"closed_only\":%s}", (long long)rq->limit,
                              rq->closed_only ? "true" : "false");
    else
        buf[n++] = '}';
    send_ctl(cl, buf, n);
    free(buf);
}

/* The exchange names of the request's symbols; drops repeats of one stream (the first spelling
 * stays).  0, or CDL_EINVAL with a message. */
static int normalise(struct cdl_hub_feed *hf, struct cdl_request *rq, char (*exch)[CDL_SYMBOL_MAX], char *msg,
                     size_t msglen)
{
    int k = 0;
    for (int i = 0; i < rq->n_symbols; i++) {
        if (cdl_hub_symbol(hf, rq->symbols[i], exch[k], msg, msglen))
            return CDL_EINVAL;
        int dup = 0;
        for (int j = 0; j < k && !dup; j++)
            dup = !strcmp(exch[j], exch[k]);
        if (!dup) {
            if (k != i)
                memcpy(rq->symbols[k], rq->symbols[i], sizeof rq->symbols[k]);
            k++;
        }
    }
    rq->n_symbols = k;
    return 0;
}

static void do_subscribe(struct client *cl, struct cdl_hub_feed *hf, struct cdl_request *rq,
                         char (*exch)[CDL_SYMBOL_MAX])
{
    char msg[512];
    if (cl->n_symbols + rq->n_symbols > cl->srv->o.max_symbols) {
        snprintf(msg, sizeof msg, "this connection has %d symbol subscriptions; at most %d", cl->n_symbols,
                 cl->srv->o.max_symbols);
        send_error(cl, "too_many_symbols", msg);
        return;
    }
    struct csub *sub = cdl_xcalloc(1, sizeof *sub);
    sub->syms = cdl_xcalloc((size_t)rq->n_symbols, sizeof *sub->syms);
    sub->cl = cl;
    sub->hf = hf;
    sub->limit = rq->limit;
    sub->closed_only = rq->closed_only;
    sub->n = rq->n_symbols;
    cdl_list_push_front(&cl->subs, &sub->link);
    for (int i = 0; i < sub->n; i++) {
        struct symsub *ss = &sub->syms[i];
        ss->sub = sub;
        snprintf(ss->exch_symbol, sizeof ss->exch_symbol, "%s", exch[i]);
        ss->hs = cdl_hub_subscribe(hf, rq->symbols[i], on_quote, ss, msg, sizeof msg);
        if (!ss->hs) {
            sub_free(cl, sub);
            send_error(cl, "unavailable", msg);
            return;
        }
        sub->n_live++;
        cl->n_symbols++;
        cdl_series_add(cl->srv->s_streams, 1);
    }
    send_echo(cl, "subscribed", hf, rq);
}

static void do_unsubscribe(struct client *cl, struct cdl_hub_feed *hf, struct cdl_request *rq,
                           char (*exch)[CDL_SYMBOL_MAX])
{
    for (int i = 0; i < rq->n_symbols; i++) { /* all or nothing */
        int found = 0;
        struct cdl_list *it, *tmp;
        cdl_list_each(it, tmp, &cl->subs)
        {
            const struct csub *s = cdl_list_entry(it, struct csub, link);
            for (int k = 0; k < s->n && !found && s->hf == hf; k++)
                found = s->syms[k].hs && !strcmp(s->syms[k].exch_symbol, exch[i]);
        }
        if (!found) {
            char msg[160];
            snprintf(msg, sizeof msg, "not subscribed to '%.64s'", rq->symbols[i]);
            send_error(cl, "bad_request", msg);
            return;
        }
    }
    struct cdl_list *it, *tmp;
    cdl_list_each(it, tmp, &cl->subs)
    {
        struct csub *s = cdl_list_entry(it, struct csub, link);
        for (int k = 0; k < s->n && s->hf == hf; k++)
            for (int i = 0; i < rq->n_symbols; i++)
                if (s->syms[k].hs && !strcmp(s->syms[k].exch_symbol, exch[i])) {
                    purge(cl, s, &s->syms[k]);
                    release_symsub(cl, &s->syms[k]);
                }
        if (!s->n_live)
            sub_free(cl, s);
    }
    send_echo(cl, "unsubscribed", hf, rq);
    if (cdl_list_empty(&cl->subs) && cl->n_done)
        wake(cl); /* the others delivered their limit: close */
}

static int take_token(struct client *cl)
{
    double rate = cl->srv->o.max_requests_per_sec;
    uint64_t now = cdl_clock_mono_us() / 1000;
    cl->tokens += (double)(now - cl->tokens_ms) * rate / 1000.0;
    if (cl->tokens > rate)
        cl->tokens = rate;
    cl->tokens_ms = now;
    if (cl->tokens < 1.0)
        return 0;
    cl->tokens -= 1.0;
    return 1;
}

static void handle_message(struct client *cl, const char *text, size_t len)
{
    if (!take_token(cl)) {
        char msg[96];
        snprintf(msg, sizeof msg, "more than %g requests per second", cl->srv->o.max_requests_per_sec);
        send_error(cl, "rate_limited", msg);
        return;
    }
    struct cdl_request rq;
    const char *code;
    char msg[512];
    if (cdl_request_parse(cl->srv->scan, text, len, cl->srv->o.max_symbols, &rq, &code, msg, sizeof msg)) {
        send_error(cl, code, msg);
        return;
    }
    if (rq.op == CDL_REQ_PING) {
        send_ctl(cl, "{\"type\":\"pong\"}", 15);
        return;
    }
    const char **names = cdl_xcalloc((size_t)rq.n_symbols + 1, sizeof *names);
    for (int i = 0; i < rq.n_symbols; i++)
        names[i] = rq.symbols[i];
    struct cdl_hub_feed *hf =
        cdl_hub_resolve(cl->srv->hub, rq.exchange, rq.market, names, rq.n_symbols, rq.interval, &code, msg, sizeof msg);
    free(names);
    char(*exch)[CDL_SYMBOL_MAX] = cdl_xcalloc((size_t)rq.n_symbols, sizeof *exch);
    if (!hf)
        send_error(cl, code, msg);
    else if (normalise(hf, &rq, exch, msg, sizeof msg))
        send_error(cl, "bad_request", msg);
    else if (rq.op == CDL_REQ_SUBSCRIBE)
        do_subscribe(cl, hf, &rq, exch);
    else
        do_unsubscribe(cl, hf, &rq, exch);
    free(exch);
    cdl_request_clear(&rq);
}

/* One client message, reassembled up to the cap; a bigger one is dropped and answered. */
static void on_receive(struct client *cl, struct lws *wsi, const char *in, size_t len)
{
    const char *msg;
    size_t n, cap = (size_t)cl->srv->o.max_message;
    switch (cdl_reasm_feed(&cl->rx, wsi, cap, in, len, &msg, &n)) {
    case CDL_REASM_DONE: handle_message(cl, msg, n); break;
    case CDL_REASM_OVERSIZE: {
        char text[128];
        snprintf(text, sizeof text, "message of %zu bytes; at most %zu", n, cap);
        send_error(cl, "frame_too_large", text);
        break;
    }
    default: break;
    }
}

/* ---- writing -------------------------------------------------------------------------------------------- */

/* A subscription delivered its limit: it stops and releases its streams. */
static void sub_done(struct client *cl, struct csub *sub)
{
    sub_free(cl, sub);
    cl->n_done++;
}

/* The next message to write: replies, then closed candles, then open candles. */
static struct msg *next_msg(struct client *cl)
{
    struct msg *m;
    if ((m = cl->ctl_head)) {
        if (!(cl->ctl_head = m->next))
            cl->ctl_tail = NULL;
        cl->n_ctl--;
        return m;
    }
    if ((m = cl->q_head)) {
        if (!(cl->q_head = m->next))
            cl->q_tail = NULL;
        depth_closed_add(cl, -1);
        return m;
    }
    struct cdl_list *first = cdl_list_first(&cl->dirty);
    if (first) {
        struct symsub *ss = cdl_list_entry(first, struct symsub, dlink);
        dirty_unlink(cl, ss);
        m = ss->open;
        ss->open = NULL;
        return m;
    }
    return NULL;
}

/* Writes one message as one WebSocket message; -1 if the connection failed. */
static int write_msg(struct client *cl, struct lws *wsi, struct msg *m)
{
    int n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
    struct symsub *ss = m->ss;
    int gap = m->gap;
    free(m);
    if (n < 0)
        return -1;
    if (ss && !gap) {
        cdl_series_add(cl->srv->s_quotes, 1);
        struct csub *sub = ss->sub;
        if (sub->limit > 0 && ++sub->sent >= sub->limit)
            sub_done(cl, sub);
    }
    return 0;
}

static int has_output(const struct client *cl)
{
    return cl->ctl_head || cl->q_head || !cdl_list_empty(&cl->dirty) || (cdl_list_empty(&cl->subs) && cl->n_done);
}

/* More than one message waiting: worth corking the socket for the batch. */
static int several_waiting(const struct client *cl)
{
    int n = cl->n_ctl + cl->n_q;
    const struct cdl_list *d = &cl->dirty;
    int n_dirty = cdl_list_empty(d) ? 0 : d->next->next == d ? 1 : 2; /* 2: two or more */
    return n > 1 || (n_dirty && (n || n_dirty > 1));
}

static void cork(struct lws *wsi, int on)
{
    int fd = (int)lws_get_socket_fd(wsi);
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
}

/* Writes queued messages, each its own WebSocket message, in order (replies, closed candles,
 * open candles), while the socket takes them, at most WRITE_BATCH.  lws_send_pipe_choked() is
 * checked before every write: it is also true while lws holds the unsent rest of a message
 * (what the kernel did not take, or past the protocol's 4 KiB buffer: lws sends it in pieces),
 * which lws sends before the next WRITEABLE, so messages never interleave.  The
 * socket is corked for the batch, so its messages leave in full TCP segments, not one each.
 * 1: the connection is to close now (the close frame is written). */
static int write_batch(struct client *cl, struct lws *wsi)
{
    for (int i = 0; i < WRITE_BATCH && !lws_send_pipe_choked(wsi); i++) {
        struct msg *m = next_msg(cl);
        if (!m) { /* spurious WRITEABLEs happen; or everything was delivered */
            if (cdl_list_empty(&cl->subs) && cl->n_done) {
                cdl_net_write_close(wsi, LWS_CLOSE_STATUS_NORMAL, "limit reached");
                return 1;
            }
            return 0;
        }
        if (write_msg(cl, wsi, m))
            return 1;
    }
    return 0;
}

static int on_writeable(struct client *cl, struct lws *wsi)
{
    cl->write_asked = 0;
    if (cl->close_code) {
        cdl_net_write_close(wsi, cl->close_code, cl->close_reason);
        return -1;
    }
    int corked = several_waiting(cl);
    if (corked)
        cork(wsi, 1);
    int done = write_batch(cl, wsi);
    if (corked)
        cork(wsi, 0);
    if (done)
        return -1;
    if (has_output(cl))
        wake(cl);
    return 0;
}

/* ---- lifecycle ------------------------------------------------------------------------------------------ */

static struct client *client_new(struct cdl_wsapi *srv, struct lws *wsi)
{
    struct client *cl = cdl_xcalloc(1, sizeof *cl);
    cl->srv = srv;
    cl->wsi = wsi;
    cl->id = ++srv->next_id;
    cl->tokens = srv->o.max_requests_per_sec;
    cl->tokens_ms = cdl_clock_mono_us() / 1000;
    cdl_list_init(&cl->dirty);
    cdl_list_init(&cl->subs);
    cdl_list_push_front(&srv->clients, &cl->link);
    srv->n_clients++;
    cdl_series_set(srv->s_clients, srv->n_clients);
    cdl_series_add(srv->s_accepted, 1);
    return cl;
}

static void client_free(struct client *cl)
{
    struct cdl_wsapi *srv = cl->srv;
    while (!cdl_list_empty(&cl->subs))
        sub_free(cl, cdl_list_entry(cl->subs.next, struct csub, link));
    msgs_free(cl->ctl_head);
    msgs_free(cl->q_head);
    depth_closed_add(cl, -cl->n_q);
    cdl_reasm_free(&cl->rx);
    cdl_list_remove(&cl->link);
    srv->n_clients--;
    cdl_series_set(srv->s_clients, srv->n_clients);
    free(cl);
}

static int server_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct pss *pss = user;
    struct lws_vhost *vh = lws_get_vhost(wsi);
    struct cdl_wsapi *srv = vh ? lws_vhost_user(vh) : NULL;
    switch (reason) {
    case LWS_CALLBACK_HTTP: /* a plain HTTP request on the WebSocket port */
        return lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, "WebSocket only")
                   ? -1
                   : lws_http_transaction_completed(wsi);
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: return !srv || srv->draining || srv->n_clients >= srv->o.max_clients;
    case LWS_CALLBACK_ESTABLISHED:
        if (srv->o.send_buffer > 0) {
            int v = srv->o.send_buffer, fd = (int)lws_get_socket_fd(wsi);
            if (fd >= 0)
                setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
        }
        pss->cl = client_new(srv, wsi);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        if (pss->cl && !pss->cl->close_code)
            on_receive(pss->cl, wsi, in, len);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE: return pss->cl ? on_writeable(pss->cl, wsi) : 0;
    case LWS_CALLBACK_CLOSED:
        if (pss->cl) {
            client_free(pss->cl);
            pss->cl = NULL;
        }
        return 0;
    default: return 0;
    }
}

static const struct lws_protocols protocols[] = {
    { "candled", server_cb, sizeof(struct pss), 4096, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 },
};

struct cdl_wsapi *cdl_wsapi_create(struct cdl_net *net, struct cdl_hub *hub, struct cdl_metrics *metrics,
                                   const struct cdl_wsapi_opts *o, int *bound)
{
    struct cdl_wsapi *s = cdl_xcalloc(1, sizeof *s);
    s->o = *o;
    cdl_list_init(&s->clients);
    snprintf(s->host, sizeof s->host, "%s", o->host ? o->host : "");
    s->o.host = s->host;
    s->hub = hub;
    s->metrics = metrics;
    s->s_clients = cdl_metrics_series(metrics, CDL_M_CLIENTS);
    s->s_streams = cdl_metrics_series(metrics, CDL_M_CLIENT_STREAMS);
    s->s_accepted = cdl_metrics_series(metrics, CDL_M_CLIENT_CONNECTIONS);
    s->s_slow = cdl_metrics_series(metrics, CDL_M_CLIENT_SLOW);
    s->s_quotes = cdl_metrics_series(metrics, CDL_M_CLIENT_QUOTES);
    s->s_depth_closed = cdl_metrics_series(metrics, CDL_M_QUEUE_DEPTH_CLOSED);
    s->s_depth_open = cdl_metrics_series(metrics, CDL_M_QUEUE_DEPTH_OPEN);
    s->scan = cdl_request_scanner();
    s->lim_slow.burst = s->lim_refused.burst = LOG_BURST;
    s->vh = cdl_net_listen(net, "ws", s->host, o->port, protocols, s, bound);
    if (!s->vh) {
        cdl_jsonscan_destroy(s->scan);
        free(s);
        return NULL;
    }
    return s;
}

int cdl_wsapi_n_clients(const struct cdl_wsapi *s) { return s ? s->n_clients : 0; }

void cdl_wsapi_drain(struct cdl_wsapi *s)
{
    if (!s)
        return;
    s->draining = 1;
    struct cdl_list *it, *tmp;
    cdl_list_each(it, tmp, &s->clients)
        client_close(cdl_list_entry(it, struct client, link), LWS_CLOSE_STATUS_GOINGAWAY, "server shutting down");
}

void cdl_wsapi_destroy(struct cdl_wsapi *s)
{
    if (!s)
        return;
    while (!cdl_list_empty(&s->clients)) {
        struct client *cl = cdl_list_entry(s->clients.next, struct client, link);
        cl->wsi = NULL;
        client_free(cl);
    }
    cdl_log_limit_flush(&s->lim_refused);
    cdl_log_limit_flush(&s->lim_slow);
    cdl_jsonscan_destroy(s->scan);
    free(s);
}

/* hub.c - see hub.h. */
#include "hub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "circuit.h"
#include "dedup.h"
#include "err.h"
#include "feed.h"
#include "hash.h"
#include "interval.h"
#include "list.h"
#include "log.h"
#include "xalloc.h"

struct hub_stream {
    struct hub_stream *hnext; /* hash chain */
    struct cdl_hub_feed *hf;
    int index;                   /* the feed's index of the stream (meta->stream) */
    char symbol[CDL_SYMBOL_MAX]; /* the exchange's */
    int pins;
    struct cdl_list subs; /* struct cdl_hub_sub.link, newest first */
    int n_subs;
    uint64_t idle_since_ms; /* lingering since (loop ms), 0 = referenced */
    struct cdl_list linger; /* in the hub's lingering list while idle_since_ms */
};

struct cdl_hub_sub {
    struct cdl_list link; /* in its stream's subs */
    struct hub_stream *st;
    cdl_hub_quote_fn fn;
    void *user;
    char symbol[CDL_SYMBOL_MAX]; /* as the subscriber wrote it */
};

struct cdl_hub_feed {
    struct cdl_hub_feed *next;
    struct cdl_hub *hub;
    struct cdl_adapter *a;
    const struct cdl_market *m;
    const char *interval; /* canonical, static */
    struct cdl_feed *feed;
    struct hub_stream **buckets; /* by the exchange's symbol: subscribe and unsubscribe */
    int n_buckets, n_streams;
    struct hub_stream **by_index; /* by the feed's stream index: every quote */
    int n_index;
    uint64_t quotes;
    struct cdl_series *s_streams, *s_quotes[2];
};

struct cdl_hub {
    struct cdl_hub_opts o;
    struct cdl_hub_feed *feeds;
    struct cdl_list lingering; /* struct hub_stream.linger, oldest first */
    uv_timer_t linger_timer;
    int stopped;
    int n_streams;
    struct cdl_dedup *dedup; /* shared by the feeds' sequencers */
    struct cdl_series *s_latency;
    struct cdl_log_limit lim_adapter; /* adapters that do not load, asked for by clients */
};

static struct hub_stream *find(const struct cdl_hub_feed *hf, const char *sym)
{
    struct hub_stream *st = hf->buckets[cdl_hash_str(sym) % (uint64_t)hf->n_buckets];
    while (st && strcmp(st->symbol, sym))
        st = st->hnext;
    return st;
}

static void rehash(struct cdl_hub_feed *hf, int n)
{
    struct hub_stream **b = cdl_xcalloc((size_t)n, sizeof *b);
    for (int i = 0; i < hf->n_buckets; i++) {
        struct hub_stream *st = hf->buckets[i], *next;
        for (; st; st = next) {
            next = st->hnext;
            uint64_t k = cdl_hash_str(st->symbol) % (uint64_t)n;
            st->hnext = b[k];
            b[k] = st;
        }
    }
    free(hf->buckets);
    hf->buckets = b;
    hf->n_buckets = n;
}

/* The stream the feed calls meta->stream, or NULL. */
static struct hub_stream *at_index(const struct cdl_hub_feed *hf, int index)
{
    return index >= 0 && index < hf->n_index ? hf->by_index[index] : NULL;
}

static void index_set(struct cdl_hub_feed *hf, int index, struct hub_stream *st)
{
    if (index >= hf->n_index) {
        int n = hf->n_index ? hf->n_index : 64;
        while (n <= index)
            n *= 2;
        hf->by_index = cdl_xrealloc(hf->by_index, (size_t)n * sizeof *hf->by_index);
        memset(hf->by_index + hf->n_index, 0, (size_t)(n - hf->n_index) * sizeof *hf->by_index);
        hf->n_index = n;
    }
    hf->by_index[index] = st;
}

/* The feed's sink: fan one quote out to the stream's subscribers (counted once, however many). */
static int on_quote(void *user, const struct cdl_quote_meta *meta, const struct cdl_candle *c, uint64_t recv_us)
{
    struct cdl_hub_feed *hf = user;
    struct hub_stream *st = at_index(hf, meta->stream);
    hf->quotes++;
    if (!st || cdl_list_empty(&st->subs))
        return 0;
    cdl_series_add(hf->s_quotes[c->closed == 1], 1);
    cdl_series_observe(hf->hub->s_latency, (double)(uv_hrtime() / 1000 - recv_us) / 1e6);
    struct cdl_quote_meta m = *meta;
    struct cdl_list *it, *tmp;
    cdl_list_each(it, tmp, &st->subs)
    {
        struct cdl_hub_sub *s = cdl_list_entry(it, struct cdl_hub_sub, link);
        m.symbol = s->symbol;
        s->fn(s->user, &m, c, NULL);
    }
    return 1;
}

/* The feed's gap events, to the stream's subscribers. */
static void on_gap(void *user, const struct cdl_quote_meta *meta, int64_t from, int64_t to, int64_t missing,
                   const char *reason)
{
    struct cdl_hub_feed *hf = user;
    struct hub_stream *st = at_index(hf, meta->stream);
    if (!st)
        return;
    struct cdl_gap g = { .from = from, .to = to, .missing = missing, .reason = reason };
    struct cdl_quote_meta m = *meta;
    struct cdl_list *it, *tmp;
    cdl_list_each(it, tmp, &st->subs)
    {
        struct cdl_hub_sub *s = cdl_list_entry(it, struct cdl_hub_sub, link);
        m.symbol = s->symbol;
        s->fn(s->user, &m, NULL, &g);
    }
}

/* ---- lingering -------------------------------------------------------------------------------------- */

static void linger_unlink(struct hub_stream *st)
{
    cdl_list_remove(&st->linger);
    st->idle_since_ms = 0;
}

static struct hub_stream *oldest_lingering(const struct cdl_hub *h)
{
    struct cdl_list *l = cdl_list_first(&h->lingering);
    return l ? cdl_list_entry(l, struct hub_stream, linger) : NULL;
}

/* Removes the stream from its feed (an unsubscribe upstream) and frees it. */
static void stream_drop(struct cdl_hub *h, struct hub_stream *st)
{
    struct cdl_hub_feed *hf = st->hf;
    if (st->idle_since_ms)
        linger_unlink(st);
    if (hf->feed)
        cdl_feed_remove(hf->feed, st->symbol);
    struct hub_stream **pp = &hf->buckets[cdl_hash_str(st->symbol) % (uint64_t)hf->n_buckets];
    while (*pp != st)
        pp = &(*pp)->hnext;
    *pp = st->hnext;
    index_set(hf, st->index, NULL);
    hf->n_streams--;
    h->n_streams--;
    cdl_series_set(hf->s_streams, (double)hf->n_streams);
    free(st);
}

static void linger_cb(uv_timer_t *t)
{
    struct cdl_hub *h = t->data;
    uint64_t now = uv_now(h->o.loop), linger = (uint64_t)(h->o.linger_s * 1000);
    struct hub_stream *st;
    while ((st = oldest_lingering(h)) && now - st->idle_since_ms >= linger)
        stream_drop(h, st);
    if (st)
        uv_timer_start(&h->linger_timer, linger_cb, linger - (now - st->idle_since_ms), 0);
}

/* Called whenever a reference goes: an unreferenced stream starts lingering. */
static void maybe_linger(struct cdl_hub *h, struct hub_stream *st)
{
    if (st->pins || !cdl_list_empty(&st->subs) || st->idle_since_ms || h->stopped)
        return;
    st->idle_since_ms = uv_now(h->o.loop);
    if (!st->idle_since_ms)
        st->idle_since_ms = 1;
    cdl_list_push_back(&h->lingering, &st->linger);
    if (!uv_is_active((uv_handle_t *)&h->linger_timer))
        uv_timer_start(&h->linger_timer, linger_cb, (uint64_t)(h->o.linger_s * 1000), 0);
}

/* ---- feeds and streams ------------------------------------------------------------------------------ */

struct cdl_hub *cdl_hub_create(const struct cdl_hub_opts *o)
{
    struct cdl_hub *h = cdl_xcalloc(1, sizeof *h);
    h->o = *o;
    cdl_list_init(&h->lingering);
    uv_timer_init(o->loop, &h->linger_timer);
    h->linger_timer.data = h;
    h->dedup = cdl_dedup_create((int64_t)(o->cfg->dedup_window_seconds * 1000), o->cfg->dedup_max_entries);
    h->s_latency = cdl_metrics_series(o->metrics, CDL_M_QUOTE_LATENCY);
    return h;
}

struct cdl_hub_feed *cdl_hub_resolve(struct cdl_hub *h, const char *exchange, const char *market,
                                     const char *const *symbols, int n_symbols, const char *interval, const char **code,
                                     char *msg, size_t msglen)
{
    struct cdl_adapter *a;
    char err[512];
    int rc = cdl_lua_host_load(h->o.host, exchange, &a, err, sizeof err);
    if (rc) {
        if (rc == CDL_ENOTFOUND || !cdl_adapter_name_valid(exchange)) {
            *code = "unknown_exchange";
            snprintf(msg, msglen, "unknown exchange '%.64s'", exchange);
        } else { /* the file is there and does not load, or breaks the contract: the operator's to fix */
            *code = "unavailable";
            snprintf(msg, msglen, "exchange '%.64s' is unavailable: its adapter does not load", exchange);
            cdl_log_limited(&h->lim_adapter, 60000, CDL_LOG_ERROR, "adapter does not load", "exchange", exchange,
                            "error", err, NULL);
        }
        return NULL;
    }
    const struct cdl_market *m;
    if (market && *market) {
        if (!(m = cdl_adapter_market(a, market))) {
            *code = "unknown_market";
            snprintf(msg, msglen, "unknown contract_type '%.64s' for %s", market, exchange);
            return NULL;
        }
    } else if (!(m = cdl_adapter_pick_market(a, NULL, symbols, n_symbols, "contract_type", msg, msglen))) {
        *code = "unknown_market"; /* OKX: the market is the instrument id's */
        return NULL;
    }
    struct cdl_interval iv;
    if (cdl_interval_parse(interval, &iv) || !cdl_adapter_interval(a, m, iv.name)) {
        *code = "unsupported_interval";
        snprintf(msg, msglen, "interval '%.16s' is not supported by %s %s", interval, exchange, m->name);
        return NULL;
    }
    if (h->stopped) {
        *code = "unavailable";
        snprintf(msg, msglen, "the server is shutting down");
        return NULL;
    }
    for (struct cdl_hub_feed *hf = h->feeds; hf; hf = hf->next)
        if (hf->a == a && hf->m == m && !strcmp(hf->interval, iv.name))
            return hf;
    const struct cdl_config *cfg = h->o.cfg;
    struct cdl_feed_opts fo = {
        .adapter = a,
        .market = m,
        .interval = iv.name,
        .dedup = h->dedup,
        .circuit = h->o.circuits ? cdl_circuits_ws(h->o.circuits, cdl_adapter_name(a), m->name) : NULL,
    };
    cdl_feed_opts_config(cfg, &fo);
    struct cdl_hub_feed *hf = cdl_xcalloc(1, sizeof *hf);
    struct cdl_feed_sink sink = { .on_quote = on_quote, .on_gap = on_gap, .user = hf };
    hf->feed = cdl_feed_create(h->o.loop, h->o.net, h->o.rest, h->o.metrics, &fo, &sink, &rc, err, sizeof err);
    if (!hf->feed || cdl_feed_start(hf->feed)) {
        cdl_feed_destroy(hf->feed);
        free(hf);
        *code = "unavailable";
        snprintf(msg, msglen, "cannot stream %s %s %s: %s", exchange, m->name, iv.name, rc ? err : "start failed");
        return NULL;
    }
    hf->hub = h;
    hf->a = a;
    hf->m = m;
    hf->interval = iv.name;
    hf->n_buckets = 64;
    hf->buckets = cdl_xcalloc((size_t)hf->n_buckets, sizeof *hf->buckets);
    hf->s_streams = cdl_metrics_series(h->o.metrics, CDL_M_UPSTREAM_STREAMS, cdl_adapter_name(a), m->name, iv.name);
    for (int k = 0; k < 2; k++)
        hf->s_quotes[k] = cdl_metrics_series(h->o.metrics, CDL_M_QUOTES_PROCESSED, cdl_adapter_name(a), m->name,
                                             k ? "true" : "false");
    hf->next = h->feeds;
    h->feeds = hf;
    return hf;
}

const char *cdl_hub_feed_exchange(const struct cdl_hub_feed *hf) { return cdl_adapter_name(hf->a); }
const char *cdl_hub_feed_market(const struct cdl_hub_feed *hf) { return hf->m->name; }
const char *cdl_hub_feed_interval(const struct cdl_hub_feed *hf) { return hf->interval; }

int cdl_hub_symbol(struct cdl_hub_feed *hf, const char *text, char out[CDL_SYMBOL_MAX], char *msg, size_t msglen)
{
    char why[200] = "";
    if (strlen(text) >= CDL_SYMBOL_MAX ||
        cdl_adapter_symbol(hf->a, hf->m, text, out, CDL_SYMBOL_MAX, why, sizeof why)) {
        snprintf(msg, msglen, "invalid symbol '%.64s' for %s %s%s%s", text, cdl_adapter_name(hf->a), hf->m->name,
                 why[0] ? ": " : "", why);
        return CDL_EINVAL;
    }
    return 0;
}

/* The stream of `text`, added to the feed if new. */
static struct hub_stream *stream_ref(struct cdl_hub_feed *hf, const char *text, char *msg, size_t msglen)
{
    struct cdl_hub *h = hf->hub;
    char sym[CDL_SYMBOL_MAX];
    if (h->stopped || !hf->feed) {
        snprintf(msg, msglen, "the server is shutting down");
        return NULL;
    }
    if (cdl_hub_symbol(hf, text, sym, msg, msglen))
        return NULL;
    struct hub_stream *st = find(hf, sym);
    if (st) {
        if (st->idle_since_ms)
            linger_unlink(st);
        return st;
    }
    /* the feed is told the exchange's name: it comes back as meta->symbol in on_quote */
    int rc = cdl_feed_add(hf->feed, sym, msg, msglen);
    if (rc < 0)
        return NULL;
    st = cdl_xcalloc(1, sizeof *st);
    st->hf = hf;
    cdl_list_init(&st->subs);
    cdl_list_init(&st->linger);
    st->index = rc;
    index_set(hf, rc, st);
    snprintf(st->symbol, sizeof st->symbol, "%s", sym);
    if (hf->n_streams >= hf->n_buckets * 2)
        rehash(hf, hf->n_buckets * 4);
    uint64_t k = cdl_hash_str(sym) % (uint64_t)hf->n_buckets;
    st->hnext = hf->buckets[k];
    hf->buckets[k] = st;
    hf->n_streams++;
    h->n_streams++;
    cdl_series_set(hf->s_streams, (double)hf->n_streams);
    return st;
}

struct cdl_hub_sub *cdl_hub_subscribe(struct cdl_hub_feed *hf, const char *symbol, cdl_hub_quote_fn fn, void *user,
                                      char *msg, size_t msglen)
{
    struct hub_stream *st = stream_ref(hf, symbol, msg, msglen);
    if (!st)
        return NULL;
    struct cdl_hub_sub *s = cdl_xcalloc(1, sizeof *s);
    s->st = st;
    s->fn = fn;
    s->user = user;
    snprintf(s->symbol, sizeof s->symbol, "%s", symbol);
    cdl_list_push_front(&st->subs, &s->link);
    st->n_subs++;
    return s;
}

void cdl_hub_unsubscribe(struct cdl_hub_sub *s)
{
    if (!s)
        return;
    struct hub_stream *st = s->st;
    cdl_list_remove(&s->link);
    st->n_subs--;
    free(s);
    maybe_linger(st->hf->hub, st);
}

int cdl_hub_pin(struct cdl_hub_feed *hf, const char *symbol, char *msg, size_t msglen)
{
    struct hub_stream *st = stream_ref(hf, symbol, msg, msglen);
    if (!st)
        return CDL_EINVAL;
    st->pins++;
    return 0;
}

int cdl_hub_unpin(struct cdl_hub_feed *hf, const char *exch_symbol)
{
    struct hub_stream *st = find(hf, exch_symbol);
    if (!st || !st->pins)
        return CDL_ENOTFOUND;
    st->pins--;
    maybe_linger(hf->hub, st);
    return 0;
}

/* ---- reload ------------------------------------------------------------------------------------------ */

/* The adapter and market of nh that would take over hf; NULL with a message if there is none. */
static struct cdl_adapter *successor(const struct cdl_hub_feed *hf, struct cdl_lua_host *nh,
                                     const struct cdl_market **m, char *msg, size_t msglen)
{
    struct cdl_adapter *a;
    char err[512];
    if (cdl_lua_host_load(nh, cdl_adapter_name(hf->a), &a, err, sizeof err)) {
        snprintf(msg, msglen, "%s", err);
        return NULL;
    }
    if (!(*m = cdl_adapter_market(a, hf->m->name))) {
        snprintf(msg, msglen, "%s no longer has market '%s', which is streaming", cdl_adapter_name(a), hf->m->name);
        return NULL;
    }
    return a;
}

int cdl_hub_check_host(struct cdl_hub *h, struct cdl_lua_host *nh, char *msg, size_t msglen)
{
    for (struct cdl_hub_feed *hf = h->feeds; hf; hf = hf->next) {
        const struct cdl_market *m;
        struct cdl_adapter *a = successor(hf, nh, &m, msg, msglen);
        if (!a || (hf->feed && cdl_feed_check_adapter(hf->feed, a, m, msg, msglen)))
            return CDL_EINVAL;
        for (int i = 0; i < hf->n_buckets; i++) /* every client's spelling still names its stream */
            for (struct hub_stream *st = hf->buckets[i]; st; st = st->hnext)
                for (struct cdl_list *it = st->subs.next; it != &st->subs; it = it->next) {
                    const struct cdl_hub_sub *s = cdl_list_entry(it, struct cdl_hub_sub, link);
                    char sym[CDL_SYMBOL_MAX], why[200] = "";
                    if (cdl_adapter_symbol(a, m, s->symbol, sym, sizeof sym, why, sizeof why) ||
                        strcmp(sym, st->symbol)) {
                        snprintf(msg, msglen, "%s %s: a client's symbol '%s' would no longer name stream '%s'",
                                 cdl_adapter_name(a), m->name, s->symbol, st->symbol);
                        return CDL_EINVAL;
                    }
                }
    }
    return 0;
}

int cdl_hub_swap_host(struct cdl_hub *h, struct cdl_lua_host *nh)
{
    int restarted = 0;
    for (struct cdl_hub_feed *hf = h->feeds; hf; hf = hf->next) {
        const struct cdl_market *m;
        char msg[512];
        struct cdl_adapter *a = successor(hf, nh, &m, msg, sizeof msg);
        if (!a) /* not after a passed cdl_hub_check_host */
            continue;
        if (hf->feed) {
            const char *ws, *rest;
            cdl_config_endpoints(h->o.cfg, cdl_adapter_name(a), m->name, &ws, &rest);
            int n = cdl_feed_swap_adapter(hf->feed, a, m, ws, rest);
            restarted += n > 0 ? n : 0;
        }
        hf->a = a;
        hf->m = m;
    }
    h->o.host = nh;
    return restarted;
}

void cdl_hub_set_linger(struct cdl_hub *h, double seconds)
{
    h->o.linger_s = seconds;
    /* the streams lingering already go by the new linger: their timer was armed with the old one */
    if (!cdl_list_empty(&h->lingering) && !h->stopped)
        uv_timer_start(&h->linger_timer, linger_cb, 0, 0);
}

int cdl_hub_n_streams(const struct cdl_hub *h) { return h->n_streams; }

int cdl_hub_status(const struct cdl_hub *h, struct cdl_hub_status *out, int max)
{
    int n = 0;
    for (const struct cdl_hub_feed *hf = h->feeds; hf; hf = hf->next) {
        int i = 0;
        while (i < n && (strcmp(out[i].exchange, cdl_adapter_name(hf->a)) || strcmp(out[i].contract_type, hf->m->name)))
            i++;
        if (i == n) {
            if (n == max)
                continue;
            memset(&out[n], 0, sizeof out[n]);
            out[n].exchange = cdl_adapter_name(hf->a);
            out[n].contract_type = hf->m->name;
            n++;
        }
        struct cdl_hub_status *o = &out[i];
        struct cdl_feed_status fs = { 0 };
        if (hf->feed)
            cdl_feed_status(hf->feed, &fs);
        o->streams += fs.streams;
        o->active_connections += fs.open_connections;
        o->connections += fs.connections;
        if (fs.consecutive_failures > o->consecutive_failures)
            o->consecutive_failures = fs.consecutive_failures;
        if (fs.last_frame_ms > o->last_message_ms)
            o->last_message_ms = fs.last_frame_ms;
        o->total_quotes += hf->quotes;
        o->total_errors += fs.errors;
    }
    for (int i = 0; i < n; i++)
        out[i].healthy = out[i].streams == 0 || out[i].active_connections > 0;
    return n;
}

void cdl_hub_stop(struct cdl_hub *h)
{
    if (!h || h->stopped)
        return;
    h->stopped = 1;
    for (struct cdl_hub_feed *hf = h->feeds; hf; hf = hf->next) {
        cdl_feed_destroy(hf->feed);
        hf->feed = NULL;
    }
    uv_timer_stop(&h->linger_timer);
    uv_close((uv_handle_t *)&h->linger_timer, NULL);
}

void cdl_hub_destroy(struct cdl_hub *h)
{
    if (!h)
        return;
    cdl_hub_stop(h);
    struct cdl_hub_feed *hf = h->feeds, *next;
    for (; hf; hf = next) {
        next = hf->next;
        for (int i = 0; i < hf->n_buckets; i++) {
            struct hub_stream *st = hf->buckets[i], *sn;
            for (; st; st = sn) {
                sn = st->hnext;
                struct cdl_list *it, *tmp;
                cdl_list_each(it, tmp, &st->subs) free(cdl_list_entry(it, struct cdl_hub_sub, link));
                free(st);
            }
        }
        free(hf->buckets);
        free(hf->by_index);
        free(hf);
    }
    cdl_dedup_destroy(h->dedup);
    free(h);
}

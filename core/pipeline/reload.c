/* reload.c - see reload.h. */
#include "reload.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "clock.h"
#include "err.h"
#include "interval.h"
#include "log.h"
#include "request.h"
#include "url.h"
#include "xalloc.h"

/* One always-on stream of a configuration, resolved by one host. */
struct pin {
    char key[CDL_NAME_MAX * 2 + CDL_IVNAME_MAX + CDL_SYMBOL_MAX + 4]; /* exchange/market/interval/symbol */
    char exchange[CDL_NAME_MAX], market[CDL_NAME_MAX], interval[CDL_IVNAME_MAX];
    char sym[CDL_SYMBOL_MAX]; /* the exchange's */
    const char *user;         /* as config.lua wrote it (borrowed from the new configuration) */
};

struct pins {
    struct pin *p;
    int n, cap;
};

static void fail(struct cdl_reload_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct cdl_reload_result *res, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof res->message, fmt, ap);
    va_end(ap);
    res->ok = 0;
}

static struct pin *pin_push(struct pins *ps)
{
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? ps->cap * 2 : 64;
        ps->p = cdl_xrealloc(ps->p, (size_t)ps->cap * sizeof *ps->p);
    }
    return memset(&ps->p[ps->n++], 0, sizeof *ps->p);
}

/* Resolves cfg's subscriptions with host h into ps, the way pinning them would; 0, or a negative
 * error with a message naming the subscription. */
static int collect_pins(struct cdl_lua_host *h, const struct cdl_config *cfg, struct pins *ps, char *err, size_t errlen)
{
    for (int i = 0; i < cfg->n_subs; i++) {
        const struct cdl_subscription *sub = &cfg->subs[i];
        struct cdl_adapter *a;
        char msg[512];
        if (cdl_lua_host_load(h, sub->exchange, &a, msg, sizeof msg)) {
            snprintf(err, errlen, "subscriptions[%d]: %s", i + 1, msg);
            return CDL_EINVAL;
        }
        char mwhy[256];
        const struct cdl_market *m =
            cdl_adapter_pick_market(a, sub->market[0] ? sub->market : NULL, (const char *const *)sub->symbols,
                                    sub->n_symbols, "market", mwhy, sizeof mwhy);
        if (!m) {
            snprintf(err, errlen, "subscriptions[%d]: %s", i + 1, mwhy);
            return CDL_EINVAL;
        }
        struct cdl_interval iv;
        if (cdl_interval_parse(sub->interval, &iv) || !cdl_adapter_interval(a, m, iv.name)) {
            snprintf(err, errlen, "subscriptions[%d]: interval '%s' is not supported by %s %s", i + 1, sub->interval,
                     sub->exchange, m->name);
            return CDL_EINVAL;
        }
        for (int k = 0; k < sub->n_symbols; k++) {
            struct pin *p = pin_push(ps);
            char why[200] = "";
            if (strlen(sub->symbols[k]) >= CDL_SYMBOL_MAX ||
                cdl_adapter_symbol(a, m, sub->symbols[k], p->sym, sizeof p->sym, why, sizeof why)) {
                snprintf(err, errlen, "subscriptions[%d].symbols[%d]: invalid symbol '%.64s' for %s %s%s%s", i + 1,
                         k + 1, sub->symbols[k], sub->exchange, m->name, why[0] ? ": " : "", why);
                return CDL_EINVAL;
            }
            snprintf(p->exchange, sizeof p->exchange, "%s", cdl_adapter_name(a));
            snprintf(p->market, sizeof p->market, "%s", m->name);
            snprintf(p->interval, sizeof p->interval, "%s", iv.name);
            snprintf(p->key, sizeof p->key, "%s/%s/%s/%s", p->exchange, p->market, p->interval, p->sym);
            p->user = sub->symbols[k];
        }
    }
    return 0;
}

static int cmp_pin(const void *x, const void *y)
{
    return strcmp(((const struct pin *)x)->key, ((const struct pin *)y)->key);
}

/* Every endpoint override must be a URL a connection can use. */
static int check_overrides(const struct cdl_config *cfg, char *err, size_t errlen)
{
    for (int i = 0; i < cfg->n_overrides; i++) {
        const struct cdl_exchange_override *o = &cfg->overrides[i];
        struct cdl_url u;
        if (o->ws_url[0] && cdl_url_parse(o->ws_url, &u)) {
            snprintf(err, errlen, "exchanges.%s.%s.ws_url: not a ws:// or wss:// URL: '%.200s'", o->exchange, o->market,
                     o->ws_url);
            return CDL_EINVAL;
        }
    }
    return 0;
}

/* Pins what only the new configuration has, unpins what only the old one had (a multiset diff
 * on the stream keys: streams in both are not touched). */
static void apply_pins(struct cdl_hub *hub, struct pins *old, struct pins *neu, struct cdl_reload_result *res)
{
    if (old->n)
        qsort(old->p, (size_t)old->n, sizeof *old->p, cmp_pin);
    if (neu->n)
        qsort(neu->p, (size_t)neu->n, sizeof *neu->p, cmp_pin);
    int i = 0, j = 0;
    while (i < old->n || j < neu->n) {
        int c = i == old->n ? 1 : j == neu->n ? -1 : strcmp(old->p[i].key, neu->p[j].key);
        if (!c) {
            i++, j++;
            continue;
        }
        const struct pin *p = c < 0 ? &old->p[i++] : &neu->p[j++];
        const char *code;
        char msg[512];
        struct cdl_hub_feed *hf = cdl_hub_resolve(hub, p->exchange, p->market, NULL, 0, p->interval, &code, msg,
                                                  sizeof msg); /* the market is resolved already */
        int rc = !hf ? CDL_EINVAL : c < 0 ? cdl_hub_unpin(hf, p->sym) : cdl_hub_pin(hf, p->user, msg, sizeof msg);
        if (rc) {
            cdl_log(CDL_LOG_ERROR, c < 0 ? "reload: cannot unpin a stream" : "reload: cannot pin a stream", "stream",
                    p->key, "error", hf ? msg : code, NULL);
            continue;
        }
        if (c < 0)
            res->streams_removed++;
        else
            res->streams_added++;
    }
}

/* Steps 1-3 of reload.h: the new configuration and host, checked.  0 or a negative error (res
 * says why). */
static int prepare(const struct cdl_reload_ctx *ctx, struct cdl_config **ncfg, struct cdl_lua_host **nh,
                   struct pins *neu, struct cdl_reload_result *res)
{
    char err[1024];
    if (ctx->loader.load(ctx->loader.user, ncfg, err, sizeof err)) {
        fail(res, "config: %s", err);
        return CDL_EINVAL;
    }
    const struct cdl_config *c = *ncfg;
    if (cdl_log_level_parse(c->log_level) < 0 || cdl_log_format_parse(c->log_format) < 0) {
        fail(res, "config: log.level or log.format: unknown value '%s' / '%s'", c->log_level, c->log_format);
        return CDL_EINVAL;
    }
    if (check_overrides(c, err, sizeof err)) {
        fail(res, "config: %s", err);
        return CDL_EINVAL;
    }
    struct cdl_lua_opts lo;
    cdl_config_lua_opts(c, &lo);
    *nh = cdl_lua_host_create(&lo, ctx->metrics);
    if (cdl_hub_check_host(ctx->hub, *nh, err, sizeof err)) {
        fail(res, "adapters: %s", err);
        return CDL_EINVAL;
    }
    if (collect_pins(*nh, c, neu, err, sizeof err)) {
        fail(res, "config: %s", err);
        return CDL_EINVAL;
    }
    return 0;
}

static void report(const struct cdl_reload_ctx *ctx, struct cdl_reload_result *res)
{
    if (ctx->metrics) {
        cdl_series_add(cdl_metrics_series(ctx->metrics, CDL_M_RELOADS, res->ok ? "ok" : "failed"), 1);
        cdl_series_set(cdl_metrics_series(ctx->metrics, CDL_M_RELOAD_SUCCESS), res->ok);
        cdl_series_set(cdl_metrics_series(ctx->metrics, CDL_M_RELOAD_DURATION), res->duration_s);
    }
    char ms[32], added[16], removed[16], restarted[16], keys[16 * 48] = "";
    snprintf(ms, sizeof ms, "%.3f", res->duration_s * 1000);
    snprintf(added, sizeof added, "%d", res->streams_added);
    snprintf(removed, sizeof removed, "%d", res->streams_removed);
    snprintf(restarted, sizeof restarted, "%d", res->connections_restarted);
    for (int i = 0; i < res->n_restart_required; i++)
        snprintf(keys + strlen(keys), sizeof keys - strlen(keys), "%s%s", i ? "," : "", res->restart_required[i]);
    if (!res->ok)
        cdl_log(CDL_LOG_ERROR, "reload failed: the running configuration and adapters stay", "error", res->message,
                "duration_ms", ms, NULL);
    else
        cdl_log(CDL_LOG_INFO, "reloaded", "streams_added", added, "streams_removed", removed, "connections_restarted",
                restarted, "duration_ms", ms, NULL);
    if (res->ok && res->n_restart_required)
        cdl_log(CDL_LOG_WARN, "reload: these keys changed but apply only after a restart; their running values stay",
                "keys", keys, NULL);
}

void cdl_reload_run(const struct cdl_reload_ctx *ctx, struct cdl_reload_result *res)
{
    uint64_t t0 = uv_hrtime(), requests = res->requests;
    memset(res, 0, sizeof *res);
    res->requests = requests;
    res->ok = 1;
    struct cdl_config *ncfg = NULL;
    struct cdl_lua_host *nh = NULL;
    struct pins old = { 0 }, neu = { 0 };
    char err[1024];
    if (!prepare(ctx, &ncfg, &nh, &neu, res)) {
        if (collect_pins(*ctx->host, ctx->cfg, &old, err, sizeof err)) /* pinned at start: cannot fail */
            cdl_log(CDL_LOG_WARN, "reload: the running subscriptions no longer resolve", "error", err, NULL);
        res->n_restart_required =
            cdl_config_restart_keys(ctx->cfg, ncfg, res->restart_required, CDL_RELOAD_MAX_RESTART_KEYS);
        /* Step 4: from here on nothing is refused. */
        cdl_config_apply_reload(ctx->cfg, ncfg);
        cdl_log_setup(cdl_log_level_parse(ctx->cfg->log_level), cdl_log_format_parse(ctx->cfg->log_format), NULL);
        cdl_hub_set_linger(ctx->hub, ctx->cfg->linger_seconds);
        res->connections_restarted = cdl_hub_swap_host(ctx->hub, nh);
        cdl_lua_host_destroy(*ctx->host);
        *ctx->host = nh;
        nh = NULL;
        apply_pins(ctx->hub, &old, &neu, res);
    }
    cdl_lua_host_destroy(nh);
    if (ncfg) {
        cdl_config_free(ncfg);
        free(ncfg);
    }
    free(old.p);
    free(neu.p);
    res->at_ms = cdl_clock_now_ms();
    res->duration_s = (double)(uv_hrtime() - t0) / 1e9;
    report(ctx, res);
}

char *cdl_reload_json(const struct cdl_reload_result *r)
{
    /* every character escaped takes at most 6: the message always fits */
    char msg[6 * sizeof r->message + 3], keys[CDL_RELOAD_MAX_RESTART_KEYS * 52 + 2] = "";
    size_t ml = 0, kl = 0;
    cdl_json_put_string(msg, sizeof msg, &ml, r->message);
    for (int i = 0; i < r->n_restart_required; i++) {
        if (i)
            keys[kl++] = ',';
        cdl_json_put_string(keys, sizeof keys, &kl, r->restart_required[i]);
    }
    size_t cap = sizeof msg + sizeof keys + 512;
    char *out = cdl_xmalloc(cap);
    snprintf(out, cap,
             "{\"result\":\"%s\",\"message\":%s,\"at_ms\":%llu,\"duration_ms\":%.3f,\"streams_added\":%d,"
             "\"streams_removed\":%d,\"connections_restarted\":%d,\"restart_required\":[%s],\"requests\":%llu}",
             r->ok ? "ok" : "failed", msg, (unsigned long long)r->at_ms, r->duration_s * 1000, r->streams_added,
             r->streams_removed, r->connections_restarted, keys, (unsigned long long)r->requests);
    return out;
}

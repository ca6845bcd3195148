/* cmd_serve.c - `candled serve`; see commands.h. */
#include "commands.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "admin.h"
#include "err.h"
#include "hub.h"
#include "log.h"
#include "lua_host.h"
#include "metrics.h"
#include "runtime.h"
#include "upstream.h"
#include "wsapi.h"
#include "xalloc.h"

enum phase { PH_RUN, PH_GRACE, PH_CLIENTS, PH_UPSTREAMS, PH_DONE };

struct serve {
    struct cdl_runtime *rt;
    uv_signal_t sigint, sigterm, sighup;
    uv_timer_t drain_timer, reload_timer;
    struct cdl_config *cfg;
    struct cdl_reload_loader loader;
    struct cdl_reload_result reload; /* the last one */
    int reload_pending;
    uint64_t reload_requests;
    struct cdl_hub *hub;
    struct cdl_wsapi *srv;
    struct cdl_admin *admin;
    int draining;
    enum phase phase;
    uint64_t drain_start;
};

static void close_handles(struct serve *s)
{
    uv_close((uv_handle_t *)&s->sigint, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    uv_close((uv_handle_t *)&s->sighup, NULL);
    uv_close((uv_handle_t *)&s->drain_timer, NULL);
    uv_close((uv_handle_t *)&s->reload_timer, NULL);
}

/* Last step, on the loop: everything that is left closes and uv_run() returns. */
static void finish(struct serve *s)
{
    s->phase = PH_DONE;
    cdl_hub_stop(s->hub);
    close_handles(s);
    cdl_runtime_close(s->rt);
}

static void drain_step(uv_timer_t *t)
{
    struct serve *s = t->data;
    uint64_t elapsed = uv_now(&s->rt->loop) - s->drain_start;
    int timed_out = elapsed >= (uint64_t)(s->cfg->drain_timeout * 1000);
    if (s->phase == PH_GRACE && (elapsed >= (uint64_t)(s->cfg->drain_grace * 1000) || timed_out)) {
        cdl_wsapi_drain(s->srv);
        s->phase = PH_CLIENTS;
    }
    if (s->phase == PH_CLIENTS && (!cdl_wsapi_n_clients(s->srv) || timed_out)) {
        cdl_hub_stop(s->hub); /* every upstream writes its close frame */
        s->phase = PH_UPSTREAMS;
    }
    if (s->phase == PH_UPSTREAMS && (!cdl_upstream_alive() || timed_out)) {
        char n[24];
        snprintf(n, sizeof n, "%d", cdl_upstream_alive() + cdl_wsapi_n_clients(s->srv));
        cdl_log(timed_out ? CDL_LOG_WARN : CDL_LOG_INFO, "drained", "left_open", n, NULL);
        finish(s);
        return;
    }
    uv_timer_start(&s->drain_timer, drain_step, 20, 0);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct serve *s = h->data;
    const char *name = signum == SIGINT ? "SIGINT" : "SIGTERM";
    if (s->draining) {
        cdl_log(CDL_LOG_WARN, "second signal: exiting now", "signal", name, NULL);
        _exit(128 + signum);
    }
    s->draining = 1;
    s->phase = PH_GRACE;
    s->drain_start = uv_now(&s->rt->loop);
    cdl_log(CDL_LOG_INFO, "draining", "signal", name, NULL);
    drain_step(&s->drain_timer);
}

static void reload_cb(uv_timer_t *t)
{
    struct serve *s = t->data;
    s->reload_pending = 0;
    s->reload.requests = s->reload_requests;
    s->reload_requests = 0;
    if (s->draining) {
        snprintf(s->reload.message, sizeof s->reload.message, "the server is draining");
        s->reload.ok = 0;
    } else {
        struct cdl_reload_ctx ctx = {
            .cfg = s->cfg, .host = &s->rt->host, .hub = s->hub, .metrics = s->rt->metrics, .loader = s->loader
        };
        cdl_reload_run(&ctx, &s->reload);
    }
    if (s->admin)
        cdl_admin_reload_done(s->admin, &s->reload);
}

/* A reload runs on the next loop turn; the requests that arrive before it join it. */
static void request_reload(void *user)
{
    struct serve *s = user;
    s->reload_requests++;
    if (s->reload_pending)
        return;
    s->reload_pending = 1;
    uv_timer_start(&s->reload_timer, reload_cb, 0, 0);
}

static void on_sighup(uv_signal_t *h, int signum)
{
    (void)signum;
    cdl_log(CDL_LOG_INFO, "SIGHUP: reloading", NULL);
    request_reload(h->data);
}

static int write_port_file(const char *path, int ws_port, int health_port)
{
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return CDL_EIO;
    fprintf(f, "{\"ws_port\":%d,\"health_port\":%d}\n", ws_port, health_port);
    if (fclose(f) || rename(tmp, path))
        return CDL_EIO;
    return 0;
}

/* config.lua's subscriptions, always on.  0 or CDL_EXIT_USAGE (reported). */
static int pin_config(struct serve *s)
{
    struct cdl_hub_feed *feeds[CDL_CFG_MAX_SUBS];
    char msg[512];
    for (int i = 0; i < s->cfg->n_subs; i++) {
        const struct cdl_subscription *sub = &s->cfg->subs[i];
        const char *code;
        feeds[i] = cdl_hub_resolve(s->hub, sub->exchange, sub->market, (const char *const *)sub->symbols,
                                   sub->n_symbols, sub->interval, &code, msg, sizeof msg);
        if (!feeds[i]) {
            fprintf(stderr, "candled: subscriptions[%d]: %s\n", i + 1, msg);
            return CDL_EXIT_USAGE;
        }
        char sym[CDL_SYMBOL_MAX];
        for (int k = 0; k < sub->n_symbols; k++) /* every symbol checked before any connection */
            if (cdl_hub_symbol(feeds[i], sub->symbols[k], sym, msg, sizeof msg)) {
                fprintf(stderr, "candled: subscriptions[%d].symbols[%d]: %s\n", i + 1, k + 1, msg);
                return CDL_EXIT_USAGE;
            }
    }
    for (int i = 0; i < s->cfg->n_subs; i++)
        for (int k = 0; k < s->cfg->subs[i].n_symbols; k++)
            if (cdl_hub_pin(feeds[i], s->cfg->subs[i].symbols[k], msg, sizeof msg)) {
                fprintf(stderr, "candled: subscriptions[%d].symbols[%d]: %s\n", i + 1, k + 1, msg);
                return CDL_EXIT_USAGE;
            }
    return 0;
}

/* Everything up to the listening sockets; 0 or an exit status (reported). */
static int start(struct serve *s, const char *port_file)
{
    const struct cdl_config *cfg = s->cfg;
    struct cdl_runtime *rt = s->rt;
    if (cdl_runtime_open(rt))
        return CDL_EXIT_FAILURE;
    struct cdl_hub_opts ho = { .loop = &rt->loop,
                               .net = rt->net,
                               .rest = rt->rest,
                               .metrics = rt->metrics,
                               .circuits = rt->circuits,
                               .host = rt->host,
                               .cfg = cfg,
                               .linger_s = cfg->linger_seconds };
    s->hub = cdl_hub_create(&ho);
    int rc = pin_config(s);
    if (rc)
        return rc;
    struct cdl_wsapi_opts so = {
        .host = cfg->server_host,
        .port = cfg->server_port,
        .max_clients = cfg->max_clients,
        .queue_max = cfg->client_queue_max,
        .send_buffer = cfg->client_send_buffer,
        .max_message = cfg->client_max_message,
        .max_symbols = cfg->max_symbols_per_client,
        .max_requests_per_sec = cfg->max_requests_per_sec,
    };
    int ws_port = 0, health_port = 0;
    if (!(s->srv = cdl_wsapi_create(rt->net, s->hub, rt->metrics, &so, &ws_port)))
        return CDL_EXIT_FAILURE;
    if (cfg->health_enabled) {
        struct cdl_admin_opts ao = { .host = cfg->server_host,
                                     .port = cfg->health_port,
                                     .hub = s->hub,
                                     .circuits = rt->circuits,
                                     .server = s->srv,
                                     .metrics = rt->metrics,
                                     .draining = &s->draining,
                                     .reload = &s->reload,
                                     .request_reload = request_reload,
                                     .user = s };
        if (!(s->admin = cdl_admin_create(rt->net, &ao, &health_port)))
            return CDL_EXIT_FAILURE;
    }
    if (port_file && write_port_file(port_file, ws_port, health_port)) {
        fprintf(stderr, "candled: cannot write %s\n", port_file);
        return CDL_EXIT_FAILURE;
    }
    char wp[16], hp[16], ns[16];
    snprintf(wp, sizeof wp, "%d", ws_port);
    snprintf(hp, sizeof hp, "%d", health_port);
    snprintf(ns, sizeof ns, "%d", cdl_hub_n_streams(s->hub));
    cdl_log(CDL_LOG_INFO, "serving", "host", cfg->server_host, "ws_port", wp, "health_port",
            cfg->health_enabled ? hp : NULL, "config_streams", ns, NULL);
    return 0;
}

int cdl_cmd_serve(struct cdl_config *cfg, const char *port_file, const struct cdl_reload_loader *loader)
{
    struct serve *s = cdl_xcalloc(1, sizeof *s);
    s->cfg = cfg;
    s->loader = *loader;
    s->rt = cdl_runtime_create(cfg);
    uv_loop_t *loop = &s->rt->loop;
    uv_signal_init(loop, &s->sigint);
    uv_signal_init(loop, &s->sigterm);
    uv_signal_init(loop, &s->sighup);
    uv_timer_init(loop, &s->drain_timer);
    uv_timer_init(loop, &s->reload_timer);
    s->sigint.data = s->sigterm.data = s->sighup.data = s->drain_timer.data = s->reload_timer.data = s;
    cdl_series_set(cdl_metrics_series(s->rt->metrics, CDL_M_RELOAD_SUCCESS), 1);
    int code = start(s, port_file);
    if (code == 0) {
        uv_signal_start(&s->sigint, on_signal, SIGINT);
        uv_signal_start(&s->sigterm, on_signal, SIGTERM);
        uv_signal_start(&s->sighup, on_sighup, SIGHUP);
    } else if (s->rt->net) {
        finish(s);
    } else {
        close_handles(s);
    }
    uv_run(loop, UV_RUN_DEFAULT);
    cdl_runtime_release_net(s->rt);
    cdl_wsapi_destroy(s->srv);
    cdl_admin_destroy(s->admin);
    cdl_hub_destroy(s->hub);
    cdl_runtime_destroy(s->rt);
    free(s);
    return code;
}

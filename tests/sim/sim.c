/* sim.c - candled-sim: a deterministic exchange simulator for tests, benchmarks and demos.
 *
 * One process, one thread, one libuv loop that this file owns.  libwebsockets 4.1.6 runs on it
 * as a foreign loop with one vhost on 127.0.0.1 that serves both the exchange's REST API and its
 * WebSocket endpoints.  This file starts it all (options, exchange, files, lws, timers, signals;
 * the PORT line), dispatches the lws protocol callback to http.c and client.c, runs the
 * housekeeping timer (pings, the idle and age cuts, flood statistics), and on SIGINT/SIGTERM
 * closes every client with 1001, destroys the context and prints the counters line.  The other
 * modules are listed in core.h; exchange specifics live behind struct sim_exchange (sim.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "core.h"

/* --- the lws protocol callback ----------------------------------------------------------- */

static int sim_lws_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct sim_core *core = lws_context_user(lws_get_context(wsi));
    struct sim_pss *pss = user;
    static char path[SIM_MAX_HEADER], query[SIM_MAX_HEADER]; /* one thread */

    switch (reason) {
    case LWS_CALLBACK_HTTP:
        if (core->draining)
            return -1;
        return sim_http_begin(core, wsi, pss, in ? (const char *)in : "/");
    case LWS_CALLBACK_HTTP_BODY:
        if (pss->post_path && pss->post_body.len + len <= SIM_RX_MAX)
            sim_buf_add(&pss->post_body, in, len);
        else if (pss->post_path)
            pss->post_body.len = SIM_RX_MAX + 1; /* too big: 413 on completion */
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        /* lws reports a completion for an empty body too: it was answered already */
        return pss->post_path ? sim_http_post_done(core, wsi, pss) : 0;
    case LWS_CALLBACK_HTTP_WRITEABLE: return sim_http_writeable(wsi, pss);
    case LWS_CALLBACK_CLOSED_HTTP:
        if (pss)
            sim_http_free(pss);
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        if (lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI) < 0)
            return 1;
        if (core->draining || !core->sim.ex->ws_path_ok(&core->sim, path)) {
            fprintf(stderr, "candled-sim: refusing WebSocket on %s\n", path);
            return 1;
        }
        if (++core->sim.counters.ws_upgrades <= (uint64_t)core->sim.opts.refuse_ws ||
            (core->sim.opts.refuse_ws_every &&
             core->sim.counters.ws_upgrades % (uint64_t)core->sim.opts.refuse_ws_every == 0)) {
            core->sim.counters.ws_refused++; /* --refuse-ws(-every): the connection is dropped, no 101 */
            fprintf(stderr, "candled-sim: refusing WebSocket upgrade %llu (--refuse-ws%s)\n",
                    (unsigned long long)core->sim.counters.ws_upgrades, core->sim.opts.refuse_ws_every ? "-every" : "");
            return 1;
        }
        return 0;
    case LWS_CALLBACK_ESTABLISHED:
        sim_ws_request(wsi, path, sizeof path, query, sizeof query);
        pss->client = sim_client_new(core, wsi);
        if (core->sim.opts.verbose)
            fprintf(stderr, "candled-sim: client %llu connected on %s?%s\n", (unsigned long long)pss->client->id, path,
                    query);
        if (core->sim.ex->ws_open(&core->sim, pss->client, path, query) < 0)
            sim_client_close(pss->client, 1008, "bad stream request");
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE: return pss->client ? sim_client_writeable(pss->client) : 0;
    case LWS_CALLBACK_RECEIVE:
        if (pss->client)
            sim_client_receive(pss->client, in, len);
        return 0;
    case LWS_CALLBACK_RECEIVE_PONG:
        if (pss->client) {
            core->sim.counters.pongs++;
            pss->client->pongs++;
            pss->client->last_rx_ms = sim_real_ms();
            sim_client_count_rx(pss->client);
        }
        return 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (pss->client && core->sim.opts.verbose && in && len >= 2)
            fprintf(stderr, "candled-sim: client %llu sent close %d\n", (unsigned long long)pss->client->id,
                    ((const unsigned char *)in)[0] << 8 | ((const unsigned char *)in)[1]);
        return 0;
    case LWS_CALLBACK_CLOSED:
        if (pss->client) {
            if (core->sim.opts.verbose)
                fprintf(stderr, "candled-sim: client %llu closed after %llu data frames\n",
                        (unsigned long long)pss->client->id, (unsigned long long)pss->client->data_sent);
            sim_client_free(pss->client);
            pss->client = NULL;
        }
        return 0;
    default: return 0;
    }
}

static const struct lws_protocols sim_protocols[] = {
    { "candled-sim", sim_lws_cb, sizeof(struct sim_pss), 65536, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 },
};

/* lws's own validity pings stay out of the way: the simulator sends its own. */
static const lws_retry_bo_t sim_retry = {
    .secs_since_valid_ping = 3000,
    .secs_since_valid_hangup = 3600,
};

/* --- timers, signals, shutdown ----------------------------------------------------------- */

static void sim_house_cb(uv_timer_t *t)
{
    struct sim_core *core = t->data;
    int64_t now = sim_real_ms();
    int pi = sim_ping_interval(&core->sim);
    int idle = core->sim.opts.idle_disconnect >= 0 ? core->sim.opts.idle_disconnect : core->sim.default_idle_disconnect;
    for (struct sim_client *c = core->clients; c; c = c->next) {
        /* the exchange's keepalive rule: a client that sent nothing for `idle` s is dropped */
        if (idle > 0 && !c->closing && now - c->last_rx_ms >= (int64_t)idle * 1000) {
            fprintf(stderr, "candled-sim: client %llu sent nothing for %d s, disconnecting\n",
                    (unsigned long long)c->id, idle);
            core->sim.counters.idle_drops++;
            sim_client_close(c, 1001, "idle timeout");
            continue;
        }
        /* an exchange's connection lifetime (Binance: 24 h): cut at the mark, whatever it carries */
        if (core->sim.opts.max_conn_age > 0 && !c->closing &&
            now - c->opened_ms >= (int64_t)(core->sim.opts.max_conn_age * 1000)) {
            if (core->sim.opts.verbose)
                fprintf(stderr, "candled-sim: client %llu reached the connection lifetime, disconnecting\n",
                        (unsigned long long)c->id);
            core->sim.counters.age_drops++;
            sim_client_close(c, 1001, "max connection age");
            continue;
        }
        if (pi > 0 && now >= c->next_ping_ms) {
            c->next_ping_ms = now + (int64_t)pi * 1000;
            c->ping_due = 1;
            sim_client_wake(c);
        }
        if (c->stall_until && now >= c->stall_until)
            sim_client_wake(c);
    }
    if (core->sim.opts.flood && now - core->flood_window_ms >= 1000) {
        if (core->flood_window_ms)
            fprintf(stderr, "{\"flood_frames_per_s\":%llu,\"clients\":%d}\n",
                    (unsigned long long)(core->flood_in_window * 1000 / (uint64_t)(now - core->flood_window_ms)),
                    core->nclients);
        core->flood_window_ms = now;
        core->flood_in_window = 0;
    }
}

static void sim_close_handles(struct sim_core *core)
{
    uv_handle_t *h[] = { (uv_handle_t *)&core->sigint, (uv_handle_t *)&core->sigterm, (uv_handle_t *)&core->gen_timer,
                         (uv_handle_t *)&core->house_timer, (uv_handle_t *)&core->drain_timer };
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
        if (!uv_is_closing(h[i]))
            uv_close(h[i], NULL);
    /* Closing the signal handles restores the default action: a second SIGTERM arriving while
     * lws shuts down (a test's stop_sim after it already sent one) would kill us with 143. */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
}

static void sim_drain_cb(uv_timer_t *t)
{
    struct sim_core *core = t->data;
    if (core->nclients > 0 && sim_real_ms() < core->drain_deadline)
        return;
    uv_timer_stop(&core->drain_timer);
    if (!core->destroyed) {
        core->destroyed = 1;
        lws_context_destroy(core->ctx); /* first destroy, from our own uv callback */
    }
    sim_close_handles(core);
}

static void sim_signal_cb(uv_signal_t *s, int signum)
{
    struct sim_core *core = s->data;
    if (core->draining)
        return;
    fprintf(stderr, "candled-sim: signal %d, closing %d client(s)\n", signum, core->nclients);
    core->draining = 1;
    core->drain_deadline = sim_real_ms() + SIM_DRAIN_MS;
    uv_timer_stop(&core->gen_timer);
    for (struct sim_client *c = core->clients; c; c = c->next) {
        c->stall_until = 0;
        c->abrupt = 0;
        sim_client_close(c, 1001, "candled-sim shutting down");
    }
    uv_timer_start(&core->drain_timer, sim_drain_cb, 20, 20);
}

/* --- start-up ----------------------------------------------------------------------------- */

static int sim_write_port_file(const char *file, int port)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", file, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 || rename(tmp, file) != 0) {
        fprintf(stderr, "candled-sim: cannot write --port-file %s: %s\n", file, strerror(errno));
        return -1;
    }
    return 0;
}

static int sim_start_lws(struct sim_core *core)
{
    struct lws_context_creation_info info;
    void *foreign_loops[1] = { &core->loop };
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_LIBUV;
    if (core->sim.opts.tls_cert)
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.foreign_loops = foreign_loops;
    info.pcontext = &core->ctx;
    info.user = core;
    info.max_http_header_data = SIM_MAX_HEADER; /* /stream?streams= with ~1000 names */
    core->ctx = lws_create_context(&info);
    if (!core->ctx) {
        fprintf(stderr, "candled-sim: lws_create_context failed\n");
        return -1;
    }
    memset(&info, 0, sizeof info);
    info.vhost_name = "sim";
    info.port = core->sim.opts.port;
    info.iface = "127.0.0.1";
    info.protocols = sim_protocols;
    info.retry_and_idle_policy = &sim_retry;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    if (core->sim.opts.tls_cert) { /* wss:// and https:// on the same port */
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = core->sim.opts.tls_cert;
        info.ssl_private_key_filepath = core->sim.opts.tls_key;
    }
    core->vhost = lws_create_vhost(core->ctx, &info);
    if (!core->vhost) {
        fprintf(stderr, "candled-sim: cannot listen on 127.0.0.1:%d\n", core->sim.opts.port);
        return -1;
    }
    core->port = lws_get_vhost_listen_port(core->vhost);
    return 0;
}

static void sim_print_counters(const struct sim_core *core)
{
    const struct sim_counters *k = &core->sim.counters;
    fprintf(stderr,
            "{\"candled_sim\":{\"exchange\":\"%s\",\"market\":\"%s\",\"clients\":%llu,"
            "\"data_frames\":%llu,\"control_frames\":%llu,\"pings\":%llu,\"pongs\":%llu,\"app_pings\":%llu,"
            "\"rx_msgs\":%llu,\"rest_requests\":%llu,\"recorded\":%llu,\"ws_upgrades\":%llu,\"subscribes\":%llu,"
            "\"unsubscribes\":%llu},"
            "\"faults\":{\"disconnects\":%llu,\"abrupt_disconnects\":%llu,\"stalls\":%llu,"
            "\"duplicates\":%llu,\"reorders\":%llu,\"skipped_closes\":%llu,\"garbage\":%llu,"
            "\"rest_failures\":%llu,\"oversize\":%llu,\"slow_drops\":%llu,\"rate_drops\":%llu,"
            "\"ws_refused\":%llu,\"revisions\":%llu,\"rest_garbage\":%llu,\"idle_drops\":%llu,\"age_drops\":%llu},"
            "\"rest_peak_per_sec\":%llu}\n",
            core->sim.ex->name, core->sim.opts.market ? core->sim.opts.market : "", (unsigned long long)k->clients,
            (unsigned long long)k->data_frames, (unsigned long long)k->control_frames, (unsigned long long)k->pings,
            (unsigned long long)k->pongs, (unsigned long long)k->app_pings, (unsigned long long)k->rx_msgs,
            (unsigned long long)k->rest_requests, (unsigned long long)k->recorded, (unsigned long long)k->ws_upgrades,
            (unsigned long long)k->subscribes, (unsigned long long)k->unsubscribes, (unsigned long long)k->disconnects,
            (unsigned long long)k->abrupt_disconnects, (unsigned long long)k->stalls, (unsigned long long)k->duplicates,
            (unsigned long long)k->reorders, (unsigned long long)k->skipped_closes, (unsigned long long)k->garbage,
            (unsigned long long)k->rest_failures, (unsigned long long)k->oversize, (unsigned long long)k->slow_drops,
            (unsigned long long)k->rate_drops, (unsigned long long)k->ws_refused, (unsigned long long)k->revisions,
            (unsigned long long)k->rest_garbage, (unsigned long long)k->idle_drops, (unsigned long long)k->age_drops,
            (unsigned long long)k->rest_peak_per_sec);
}

static void sim_core_free(struct sim_core *core)
{
    for (int i = 0; i < core->nstreams; i++)
        sim_stream_free(core->streams[i]);
    free(core->streams);
    if (core->sim.ex && core->sim.ex->destroy)
        core->sim.ex->destroy(&core->sim);
    for (int i = 0; i < core->sim.opts.nsymbols; i++)
        free(core->sim.opts.symbols[i]);
    free(core->sim.opts.symbols);
    sim_record_close(core);
}

static int sim_run(struct sim_core *core)
{
    struct sim_opts *o = &core->sim.opts;
    core->sim.default_ping_interval = 20; /* unless the exchange says otherwise */
    if (core->sim.ex->init(&core->sim) < 0)
        return 2;
    int rc = sim_record_open(core);
    if (rc)
        return rc;
    if (o->replay && sim_load_replay(core, o->replay) < 0)
        return 1;
    if (uv_loop_init(&core->loop))
        return 1;
    lws_set_log_level(o->verbose ? LLL_ERR | LLL_WARN | LLL_NOTICE : LLL_ERR, NULL);
    if (sim_start_lws(core) < 0) {
        if (core->ctx) {
            lws_context_destroy(core->ctx);
            uv_run(&core->loop, UV_RUN_DEFAULT);
            if (core->ctx)
                lws_context_destroy(core->ctx);
        }
        uv_loop_close(&core->loop);
        return 1;
    }
    uv_signal_init(&core->loop, &core->sigint);
    uv_signal_init(&core->loop, &core->sigterm);
    uv_timer_init(&core->loop, &core->gen_timer);
    uv_timer_init(&core->loop, &core->house_timer);
    uv_timer_init(&core->loop, &core->drain_timer);
    core->sigint.data = core->sigterm.data = core;
    core->gen_timer.data = core->house_timer.data = core->drain_timer.data = core;
    uv_signal_start(&core->sigint, sim_signal_cb, SIGINT);
    uv_signal_start(&core->sigterm, sim_signal_cb, SIGTERM);
    uv_timer_start(&core->house_timer, sim_house_cb, SIM_HOUSE_MS, SIM_HOUSE_MS);

    fprintf(stderr, "candled-sim: %s %s on 127.0.0.1:%d, %d symbol(s), rate %g/s, seed %llu%s\n", core->sim.ex->name,
            o->market ? o->market : "", core->port, o->nsymbols, o->rate, (unsigned long long)o->seed,
            o->flood ? ", flood" : "");
    if (o->port_file && sim_write_port_file(o->port_file, core->port) < 0)
        kill(getpid(), SIGTERM);
    printf("PORT %d\n", core->port);
    fflush(stdout);

    uv_run(&core->loop, UV_RUN_DEFAULT);
    if (core->ctx)
        lws_context_destroy(core->ctx); /* second destroy frees it (stack-notes §2.4-3) */
    uv_run(&core->loop, UV_RUN_NOWAIT);
    rc = uv_loop_close(&core->loop);
    if (rc)
        fprintf(stderr, "candled-sim: uv_loop_close: %s\n", uv_strerror(rc));
    sim_print_counters(core);
    return 0;
}

int main(int argc, char **argv)
{
    static struct sim_core core;
    signal(SIGPIPE, SIG_IGN);
    char why[192];
    if (cdl_clock_setup(why, sizeof why) < 0) {
        fprintf(stderr, "candled-sim: %s\n", why);
        return 2;
    }
    int rc = sim_parse_args(&core.sim, &core.served_mask, argc, argv);
    if (rc == 0)
        rc = sim_run(&core);
    else if (rc == 1)
        rc = 0;
    sim_core_free(&core);
    return rc;
}

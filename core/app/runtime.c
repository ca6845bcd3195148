/* runtime.c - see runtime.h. */
#include "runtime.h"

#include <stdlib.h>

#include "circuit.h"
#include "config.h"
#include "err.h"
#include "log.h"
#include "lua_host.h"
#include "metrics.h"
#include "net.h"
#include "rest.h"
#include "upstream.h"
#include "xalloc.h"

/* The REST client's options from the rest.* keys (rest.h's defaults for the rest). */
static void rest_opts(const struct cdl_config *cfg, struct cdl_rest_opts *o)
{
    cdl_rest_opts_default(o);
    o->pool_connections = cfg->rest_pool_connections;
    o->pool_maxsize = cfg->rest_pool_maxsize;
    o->ca_file = cfg->ca_file;
    o->budget_fraction = cfg->rest_budgets ? cfg->rest_budget_fraction : 0; /* 0: no budgets */
}

struct cdl_runtime *cdl_runtime_create(struct cdl_config *cfg)
{
    struct cdl_runtime *rt = cdl_xcalloc(1, sizeof *rt);
    rt->cfg = cfg;
    uv_loop_init(&rt->loop);
    rt->metrics = cdl_metrics_create(0);
    struct cdl_lua_opts lo;
    cdl_config_lua_opts(cfg, &lo);
    rt->host = cdl_lua_host_create(&lo, rt->metrics);
    return rt;
}

int cdl_runtime_open(struct cdl_runtime *rt)
{
    const struct cdl_config *cfg = rt->cfg;
    if (!(rt->net = cdl_net_create(&rt->loop, cfg->ca_file, cdl_upstream_protocols())))
        return CDL_EIO;
    struct cdl_breaker_policy bp;
    cdl_config_breaker_policy(cfg, &bp);
    rt->circuits = cdl_circuits_create(&bp, rt->metrics, uv_hrtime());
    struct cdl_rest_opts ro;
    rest_opts(cfg, &ro);
    ro.circuits = rt->circuits;
    ro.metrics = rt->metrics;
    rt->rest = cdl_rest_create(&rt->loop, &ro);
    return 0;
}

void cdl_runtime_close(struct cdl_runtime *rt)
{
    cdl_rest_destroy(rt->rest);
    rt->rest = NULL;
    if (rt->net)
        cdl_net_shutdown(rt->net);
}

void cdl_runtime_release_net(struct cdl_runtime *rt)
{
    cdl_net_destroy(rt->net);
    rt->net = NULL;
}

void cdl_runtime_destroy(struct cdl_runtime *rt)
{
    if (!rt)
        return;
    cdl_runtime_release_net(rt);
    cdl_rest_destroy(rt->rest); /* a start-up failure before the loop ran */
    rt->rest = NULL;
    uv_run(&rt->loop, UV_RUN_NOWAIT); /* deferred REST completions may still give breaker slots back */
    cdl_circuits_destroy(rt->circuits);
    cdl_lua_host_destroy(rt->host);
    cdl_metrics_destroy(rt->metrics);
    uv_run(&rt->loop, UV_RUN_NOWAIT);
    if (uv_loop_close(&rt->loop))
        cdl_log(CDL_LOG_WARN, "event loop closed with handles still open", NULL);
    free(rt);
}

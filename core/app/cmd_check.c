/* cmd_check.c - `candled check`; see commands.h. */
#include "commands.h"

#include <stdio.h>

#include "lua_host.h"
#include "runtime.h"

/* Every adapter file in the adapters directory loads and keeps the contract; one line each. */
static int check_adapters(struct cdl_lua_host *h, const struct cdl_config *cfg)
{
    char names[32][CDL_NAME_MAX], err[1024];
    int failures = 0, n = cdl_lua_host_list(h, names, 32);
    if (!n) {
        fprintf(stderr, "candled: no adapters found in %s\n", cfg->adapters_dir);
        failures++;
    }
    for (int i = 0; i < n; i++) {
        struct cdl_adapter *a;
        if (cdl_lua_host_load(h, names[i], &a, err, sizeof err)) {
            fprintf(stderr, "candled: %s\n", err);
            failures++;
        } else {
            printf("adapter %s: ok (%d markets)\n", names[i], cdl_adapter_n_markets(a));
        }
    }
    return failures;
}

/* Subscription i (0-based) against its adapter: market, interval, every symbol. */
static int check_subscription(struct cdl_lua_host *h, const struct cdl_subscription *s, int i)
{
    struct cdl_adapter *a;
    const struct cdl_market *m;
    char err[1024];
    int failures = 0;
    if (cdl_lua_host_load(h, s->exchange, &a, err, sizeof err)) {
        fprintf(stderr, "candled: subscriptions[%d]: %s\n", i + 1, err);
        return 1;
    }
    if (!(m = cdl_adapter_pick_market(a, s->market[0] ? s->market : NULL, (const char *const *)s->symbols, s->n_symbols,
                                      "market", err, sizeof err))) {
        fprintf(stderr, "candled: subscriptions[%d].market: %s\n", i + 1, err);
        return 1;
    }
    if (!cdl_adapter_interval(a, m, s->interval)) {
        fprintf(stderr, "candled: subscriptions[%d].interval: '%s' is not supported by %s %s\n", i + 1, s->interval,
                s->exchange, m->name);
        failures++;
    }
    for (int k = 0; k < s->n_symbols; k++) {
        char out[CDL_SYMBOL_MAX], why[256] = "";
        if (cdl_adapter_symbol(a, m, s->symbols[k], out, sizeof out, why, sizeof why)) {
            fprintf(stderr, "candled: subscriptions[%d].symbols[%d]: invalid symbol '%s': %s\n", i + 1, k + 1,
                    s->symbols[k], why);
            failures++;
        }
    }
    return failures;
}

int cdl_cmd_check(struct cdl_config *cfg)
{
    struct cdl_runtime *rt = cdl_runtime_create(cfg);
    int failures = check_adapters(rt->host, cfg);
    for (int i = 0; i < cfg->n_subs; i++)
        failures += check_subscription(rt->host, &cfg->subs[i], i);
    cdl_runtime_destroy(rt);
    if (failures) {
        fprintf(stderr, "candled: check failed (%d problems)\n", failures);
        return CDL_EXIT_FAILURE;
    }
    printf("configuration ok (%d subscriptions)\n", cfg->n_subs);
    return CDL_EXIT_OK;
}

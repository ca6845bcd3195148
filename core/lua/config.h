/* config.h - candled's configuration: built-in defaults < config.lua < CONNECTOR_* environment
 * variables < command-line flags.
 *
 * config.lua is data: it runs in an empty environment (no libraries, text only, an instruction
 * budget) and returns one table.  One schema table (config.c) names every scalar key with its
 * type, default, range, environment variable and help text; it validates, fills defaults, applies
 * the environment and generates docs/configuration.md.  Errors name the key's path.  A struct
 * cdl_config is a plain value the caller owns. */
#ifndef CDL_CONFIG_H
#define CDL_CONFIG_H

#include "breaker.h"
#include <stddef.h>
#include <stdio.h>

#define CDL_CFG_MAX_SUBS 64
#define CDL_CFG_MAX_OVERRIDES 64
#define CDL_CFG_MAX_SYMBOLS 4096

struct cdl_exchange_override {
    char exchange[32];
    char market[32];
    char ws_url[1024];
    char rest_url[1024];
};

struct cdl_subscription {
    char exchange[32];
    char market[32]; /* "" = the exchange's default market */
    char interval[8];
    char **symbols; /* malloc'd array of malloc'd strings */
    int n_symbols;
};

struct cdl_config {
    char server_host[64];
    int server_port;
    int health_port;
    int health_enabled;
    int max_clients;
    int client_queue_max;
    int client_send_buffer;
    int client_max_message;
    int max_symbols_per_client;
    double max_requests_per_sec;
    double linger_seconds;
    double drain_grace;
    double drain_timeout;
    double inactivity_timeout;
    double idle_timeout;
    double max_connection_age;
    int max_symbol_per_ws;
    int cb_failure_threshold;
    double cb_recovery_timeout;
    int cb_half_open_calls;
    int closed_queue_maxsize;
    int open_queue_maxsize;
    double dedup_window_seconds;
    int dedup_max_entries;
    double seq_hold_seconds;
    double seq_reorder_wait_seconds;
    double seq_retry_seconds;
    int seq_hold_max;
    int seq_clock_rules;
    char seq_confirm_inferred[8]; /* adapter, always, never */
    int rest_pool_connections;
    int rest_pool_maxsize;
    double rest_budget_fraction;
    int rest_budgets;
    char log_level[8];
    char log_format[8];
    char adapters_dir[1024];
    char lua_dir[1024];
    int lua_memory_limit_mb;
    long lua_instruction_budget;
    long max_frame_bytes;
    char ca_file[1024];
    struct cdl_exchange_override overrides[CDL_CFG_MAX_OVERRIDES];
    int n_overrides;
    struct cdl_subscription subs[CDL_CFG_MAX_SUBS];
    int n_subs;
};

/* Fills *cfg from defaults, then `path` (NULL = none), then the environment.  The struct is
 * large (endpoint overrides): keep it on the heap.  On error returns a
 * negative cdl_err with a message naming the key path in err; *cfg must still be freed. */
int cdl_config_load(const char *path, struct cdl_config *cfg, char *err, size_t errlen);
void cdl_config_free(struct cdl_config *cfg);
/* The exchanges.<exchange>.<market> override, or NULL. */
const struct cdl_exchange_override *cdl_config_override(const struct cdl_config *cfg, const char *exchange,
                                                        const char *market);
/* The endpoints config.lua sets for (exchange, market): borrowed from cfg, NULL where it sets none. */
void cdl_config_endpoints(const struct cdl_config *cfg, const char *exchange, const char *market, const char **ws_url,
                          const char **rest_url);
/* Writes the configuration reference (Markdown) generated from the schema table. */
void cdl_config_reference(FILE *out);

/* Reload (candled serve).  cdl_config_restart_keys: the key paths ("server.port") whose values
 * differ between a and b and that a reload does not apply; returns how many (at most max).
 * cdl_config_apply_reload: copies what a reload applies from src into dst: the reloadable keys
 * (server.linger_seconds, log.*, lua.*), the endpoint overrides, and the subscriptions (moved:
 * src is left without any; dst's old ones are freed). */
int cdl_config_restart_keys(const struct cdl_config *a, const struct cdl_config *b, char out[][48], int max);
void cdl_config_apply_reload(struct cdl_config *dst, struct cdl_config *src);

/* The circuit breaker policy of the circuit_breaker.* keys. */
void cdl_config_breaker_policy(const struct cdl_config *cfg, struct cdl_breaker_policy *p);

struct cdl_lua_opts;
/* The Lua host's options (adapter and SDK directories, memory cap, instruction budget); the
 * strings are borrowed from cfg. */
void cdl_config_lua_opts(const struct cdl_config *cfg, struct cdl_lua_opts *o);

/* sequencer.confirm_inferred: -1 adapter (as each market says), 1 always, 0 never; -2 unknown. */
int cdl_config_confirm_parse(const char *text);

#endif

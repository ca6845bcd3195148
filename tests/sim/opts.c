/* opts.c - candled-sim's command line: the options table, their parsing and the list of
 * simulated exchanges (docs/simulator.md is the reference). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static char *opts_strdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

static const struct sim_exchange *const sim_exchanges[] = {
    &sim_exchange_binance, &sim_exchange_bybit, &sim_exchange_hyperliquid, &sim_exchange_okx, &sim_exchange_gateio,
};

static void sim_usage(FILE *f)
{
    fputs("usage: candled-sim --exchange NAME [--market M] [--port P] [--port-file FILE]\n"
          "         [--symbols A,B | --symbol-count N] [--interval LIST] [--rate R] [--seed S]\n"
          "         [--record FILE] [--truth FILE] [--replay FILE.jsonl] [--flood] [--ping-interval SEC]\n"
          "         [--idle-disconnect SEC] [--max-conn-age SEC]\n"
          "         [--enforce-rate] [--max-msg-rate N] [--max-streams N] [--queue-max N]\n"
          "         [--disconnect-after N [--disconnect-abrupt]] [--stall-after N --stall-ms MS]\n"
          "         [--duplicate-every N] [--reorder-every N] [--skip-close-every N [--drop-on-skip]]\n"
          "         [--garbage-every N] [--rest-fail-every N --rest-status 429|500|503]\n"
          "         [--revise-every N] [--rest-garbage-every N] [--refuse-ws N] [--refuse-ws-every N]\n"
          "         [--subscribe-delay-ms MS]\n"
          "         [--oversize-every N --oversize-bytes B] [--tls-cert PEM --tls-key PEM] [--verbose]\n"
          "         [--log-subs]\n"
          "Serves one exchange's WebSocket and REST kline API on 127.0.0.1 (see docs/simulator.md).\n"
          "Prints 'PORT <n>' on stdout once listening.\n",
          f);
}

enum {
    OPT_EXCHANGE = 256,
    OPT_MARKET,
    OPT_PORT,
    OPT_PORT_FILE,
    OPT_SYMBOLS,
    OPT_SYMBOL_COUNT,
    OPT_INTERVAL,
    OPT_RATE,
    OPT_SEED,
    OPT_RECORD,
    OPT_REPLAY,
    OPT_FLOOD,
    OPT_PING,
    OPT_ENFORCE,
    OPT_MAX_RATE,
    OPT_MAX_STREAMS,
    OPT_QUEUE_MAX,
    OPT_DISC,
    OPT_DISC_ABRUPT,
    OPT_STALL,
    OPT_STALL_MS,
    OPT_DUP,
    OPT_REORDER,
    OPT_SKIP_CLOSE,
    OPT_GARBAGE,
    OPT_REST_FAIL,
    OPT_REST_STATUS,
    OPT_OVERSIZE,
    OPT_OVERSIZE_BYTES,
    OPT_VERBOSE,
    OPT_HELP,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_IDLE,
    OPT_TRUTH,
    OPT_REVISE,
    OPT_REST_GARBAGE,
    OPT_REFUSE_WS,
    OPT_MAX_AGE,
    OPT_REFUSE_EVERY,
    OPT_LOG_SUBS,
    OPT_SUB_DELAY,
    OPT_DROP_ON_SKIP,
};

static const struct option sim_long_opts[] = {
    { "exchange", required_argument, NULL, OPT_EXCHANGE },
    { "market", required_argument, NULL, OPT_MARKET },
    { "port", required_argument, NULL, OPT_PORT },
    { "port-file", required_argument, NULL, OPT_PORT_FILE },
    { "symbols", required_argument, NULL, OPT_SYMBOLS },
    { "symbol-count", required_argument, NULL, OPT_SYMBOL_COUNT },
    { "interval", required_argument, NULL, OPT_INTERVAL },
    { "rate", required_argument, NULL, OPT_RATE },
    { "seed", required_argument, NULL, OPT_SEED },
    { "record", required_argument, NULL, OPT_RECORD },
    { "truth", required_argument, NULL, OPT_TRUTH },
    { "replay", required_argument, NULL, OPT_REPLAY },
    { "flood", no_argument, NULL, OPT_FLOOD },
    { "ping-interval", required_argument, NULL, OPT_PING },
    { "idle-disconnect", required_argument, NULL, OPT_IDLE },
    { "max-conn-age", required_argument, NULL, OPT_MAX_AGE },
    { "enforce-rate", no_argument, NULL, OPT_ENFORCE },
    { "max-msg-rate", required_argument, NULL, OPT_MAX_RATE },
    { "max-streams", required_argument, NULL, OPT_MAX_STREAMS },
    { "queue-max", required_argument, NULL, OPT_QUEUE_MAX },
    { "disconnect-after", required_argument, NULL, OPT_DISC },
    { "disconnect-abrupt", no_argument, NULL, OPT_DISC_ABRUPT },
    { "stall-after", required_argument, NULL, OPT_STALL },
    { "stall-ms", required_argument, NULL, OPT_STALL_MS },
    { "duplicate-every", required_argument, NULL, OPT_DUP },
    { "reorder-every", required_argument, NULL, OPT_REORDER },
    { "skip-close-every", required_argument, NULL, OPT_SKIP_CLOSE },
    { "drop-on-skip", no_argument, NULL, OPT_DROP_ON_SKIP },
    { "revise-every", required_argument, NULL, OPT_REVISE },
    { "rest-garbage-every", required_argument, NULL, OPT_REST_GARBAGE },
    { "garbage-every", required_argument, NULL, OPT_GARBAGE },
    { "rest-fail-every", required_argument, NULL, OPT_REST_FAIL },
    { "rest-status", required_argument, NULL, OPT_REST_STATUS },
    { "refuse-ws", required_argument, NULL, OPT_REFUSE_WS },
    { "refuse-ws-every", required_argument, NULL, OPT_REFUSE_EVERY },
    { "subscribe-delay-ms", required_argument, NULL, OPT_SUB_DELAY },
    { "oversize-every", required_argument, NULL, OPT_OVERSIZE },
    { "oversize-bytes", required_argument, NULL, OPT_OVERSIZE_BYTES },
    { "verbose", no_argument, NULL, OPT_VERBOSE },
    { "log-subs", no_argument, NULL, OPT_LOG_SUBS },
    { "tls-cert", required_argument, NULL, OPT_TLS_CERT },
    { "tls-key", required_argument, NULL, OPT_TLS_KEY },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
};

/* Parses a whole decimal integer in [lo, hi]; -1 with a message if it is not one. */
static int sim_parse_long(const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "candled-sim: --%s wants an integer in [%ld, %ld], got '%s'\n", opt, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int sim_parse_intervals(uint32_t *served_mask, const char *list)
{
    if (!list || !strcmp(list, "all")) {
        *served_mask = (1u << sim_interval_count()) - 1;
        return 0;
    }
    char *copy = opts_strdup(list), *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int found = 0;
        for (int i = 0; i < sim_interval_count(); i++)
            if (!strcmp(sim_interval_at(i)->name, tok)) {
                *served_mask |= 1u << i;
                found = 1;
            }
        if (!found) {
            fprintf(stderr, "candled-sim: unknown interval '%s'\n", tok);
            rc = -1;
        }
    }
    free(copy);
    return rc;
}

/* See sim.h. */
int sim_parse_args(struct sim *sim, uint32_t *served_mask, int argc, char **argv)
{
    struct sim_opts *o = &sim->opts;
    long v;
    int c;
    o->rate = 1.0;
    o->seed = 1;
    o->ping_interval = -1;
    o->idle_disconnect = -1;
    o->queue_max = 10000;
    o->stall_ms = 5000;
    o->rest_status = 429;
    o->oversize_bytes = 2 << 20;
    while ((c = getopt_long(argc, argv, "", sim_long_opts, NULL)) != -1) {
        const char *name = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
        while (*name == '-')
            name++;
        switch (c) {
        case OPT_EXCHANGE: o->exchange = optarg; break;
        case OPT_MARKET: o->market = optarg; break;
        case OPT_PORT:
            if (sim_parse_long("port", optarg, 0, 65535, &v))
                return 2;
            o->port = (int)v;
            break;
        case OPT_PORT_FILE: o->port_file = optarg; break;
        case OPT_SYMBOLS: sim_add_symbol_list(sim, optarg); break;
        case OPT_SYMBOL_COUNT:
            if (sim_parse_long("symbol-count", optarg, 1, 100000, &v))
                return 2;
            o->symbol_count = (int)v;
            break;
        case OPT_INTERVAL: o->intervals = optarg; break;
        case OPT_RATE: {
            char *end;
            o->rate = strtod(optarg, &end);
            if (end == optarg || *end || o->rate < 0 || o->rate > 1000) {
                fprintf(stderr, "candled-sim: --rate wants 0..1000, got '%s'\n", optarg);
                return 2;
            }
            break;
        }
        case OPT_SEED: {
            char *end;
            errno = 0;
            o->seed = strtoull(optarg, &end, 0);
            if (errno || end == optarg || *end) {
                fprintf(stderr, "candled-sim: --seed wants an integer, got '%s'\n", optarg);
                return 2;
            }
            break;
        }
        case OPT_RECORD: o->record = optarg; break;
        case OPT_TRUTH: o->truth = optarg; break;
        case OPT_REPLAY: o->replay = optarg; break;
        case OPT_FLOOD: o->flood = 1; break;
        case OPT_TLS_CERT: o->tls_cert = optarg; break;
        case OPT_TLS_KEY: o->tls_key = optarg; break;
        case OPT_PING:
            if (sim_parse_long("ping-interval", optarg, 0, 86400, &v))
                return 2;
            o->ping_interval = (int)v;
            break;
        case OPT_IDLE:
            if (sim_parse_long("idle-disconnect", optarg, 0, 86400, &v))
                return 2;
            o->idle_disconnect = (int)v;
            break;
        case OPT_MAX_AGE: {
            char *end;
            o->max_conn_age = strtod(optarg, &end);
            if (end == optarg || *end || !(o->max_conn_age >= 0.1 && o->max_conn_age <= 604800)) {
                fprintf(stderr, "candled-sim: --max-conn-age wants seconds in [0.1, 604800], got '%s'\n", optarg);
                return 2;
            }
            break;
        }
        case OPT_ENFORCE: o->enforce_rate = 1; break;
        case OPT_MAX_RATE:
            if (sim_parse_long("max-msg-rate", optarg, 1, 1000000, &v))
                return 2;
            o->max_msg_rate = (int)v;
            break;
        case OPT_MAX_STREAMS:
            if (sim_parse_long("max-streams", optarg, 1, 1000000, &v))
                return 2;
            o->max_streams = (int)v;
            break;
        case OPT_QUEUE_MAX:
            if (sim_parse_long("queue-max", optarg, 16, 10000000, &v))
                return 2;
            o->queue_max = (int)v;
            break;
        case OPT_DISC:
            if (sim_parse_long("disconnect-after", optarg, 1, LONG_MAX, &o->disconnect_after))
                return 2;
            break;
        case OPT_DISC_ABRUPT: o->disconnect_abrupt = 1; break;
        case OPT_STALL:
            if (sim_parse_long("stall-after", optarg, 1, LONG_MAX, &o->stall_after))
                return 2;
            break;
        case OPT_STALL_MS:
            if (sim_parse_long("stall-ms", optarg, 1, 86400000, &o->stall_ms))
                return 2;
            break;
        case OPT_DUP:
            if (sim_parse_long("duplicate-every", optarg, 1, LONG_MAX, &o->duplicate_every))
                return 2;
            break;
        case OPT_REORDER:
            if (sim_parse_long("reorder-every", optarg, 1, LONG_MAX, &o->reorder_every))
                return 2;
            break;
        case OPT_SKIP_CLOSE:
            if (sim_parse_long("skip-close-every", optarg, 1, LONG_MAX, &o->skip_close_every))
                return 2;
            break;
        case OPT_DROP_ON_SKIP: o->drop_on_skip = 1; break;
        case OPT_REVISE:
            if (sim_parse_long("revise-every", optarg, 1, LONG_MAX, &o->revise_every))
                return 2;
            break;
        case OPT_REST_GARBAGE:
            if (sim_parse_long("rest-garbage-every", optarg, 1, LONG_MAX, &o->rest_garbage_every))
                return 2;
            break;
        case OPT_GARBAGE:
            if (sim_parse_long("garbage-every", optarg, 1, LONG_MAX, &o->garbage_every))
                return 2;
            break;
        case OPT_REST_FAIL:
            if (sim_parse_long("rest-fail-every", optarg, 1, LONG_MAX, &o->rest_fail_every))
                return 2;
            break;
        case OPT_REST_STATUS:
            if (sim_parse_long("rest-status", optarg, 400, 599, &v))
                return 2;
            o->rest_status = (int)v;
            break;
        case OPT_REFUSE_WS:
            if (sim_parse_long("refuse-ws", optarg, 0, LONG_MAX, &o->refuse_ws))
                return 2;
            break;
        case OPT_REFUSE_EVERY:
            if (sim_parse_long("refuse-ws-every", optarg, 1, LONG_MAX, &o->refuse_ws_every))
                return 2;
            break;
        case OPT_SUB_DELAY:
            if (sim_parse_long("subscribe-delay-ms", optarg, 1, 600000, &o->subscribe_delay_ms))
                return 2;
            break;
        case OPT_OVERSIZE:
            if (sim_parse_long("oversize-every", optarg, 1, LONG_MAX, &o->oversize_every))
                return 2;
            break;
        case OPT_OVERSIZE_BYTES:
            if (sim_parse_long("oversize-bytes", optarg, 64, 256L << 20, &o->oversize_bytes))
                return 2;
            break;
        case OPT_VERBOSE: o->verbose = 1; break;
        case OPT_LOG_SUBS: o->log_subs = 1; break;
        case OPT_HELP: sim_usage(stdout); return 1;
        default: sim_usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "candled-sim: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!o->exchange) {
        fprintf(stderr, "candled-sim: --exchange is required\n");
        sim_usage(stderr);
        return 2;
    }
    for (size_t i = 0; i < sizeof sim_exchanges / sizeof sim_exchanges[0]; i++)
        if (!strcmp(sim_exchanges[i]->name, o->exchange))
            sim->ex = sim_exchanges[i];
    if (!sim->ex) {
        fprintf(stderr, "candled-sim: unknown exchange '%s'\n", o->exchange);
        return 2;
    }
    if (sim_parse_intervals(served_mask, o->intervals) < 0)
        return 2;
    if (!o->tls_cert != !o->tls_key) {
        fprintf(stderr, "candled-sim: --tls-cert and --tls-key go together\n");
        return 2;
    }
    if (o->drop_on_skip && !o->skip_close_every) {
        fprintf(stderr, "candled-sim: --drop-on-skip needs --skip-close-every\n");
        return 2;
    }
    sim->gen.seed = o->seed;
    return 0;
}

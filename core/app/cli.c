/* cli.c - see cli.h.  One table of options for every command; the commands are in cmd_*.c. */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "candle.h"
#include "commands.h"
#include "config.h"
#include "err.h"
#include "log.h"
#include "xalloc.h"

static const char usage_text[] =
    "usage:\n"
    "  candled stream EXCHANGE SYMBOL... [--market M] [--interval I] [--limit N] [--closed-only]\n"
    "                 [--format jsonl|csv] [--config FILE] [--ws-url URL] [--rest-url URL]\n"
    "  candled stream --from-config [--config FILE] ...   stream config.lua's subscriptions\n"
    "  candled serve  [--config FILE] [--host H] [--port P] [--health-port P] [--port-file FILE]\n"
    "  candled check  [--config FILE]                     validate config.lua and every adapter\n"
    "  candled --help | --version\n"
    "  connector-cli ... = candled stream ...\n"
    "  connector-wss ... = candled serve ...\n"
    "\n"
    "stream prints one quote per line on stdout (JSON lines by default) and logs on stderr.\n"
    "serve runs the WebSocket API (default 127.0.0.1:8765) and the admin HTTP port (8766:\n"
    "/health /ready /metrics) until SIGTERM/SIGINT; port 0 picks a free port (see --port-file).\n"
    "Exit status: 0 success, 1 runtime failure, 2 usage error.\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("candled: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CDL_EXIT_USAGE;
}

/* ---- the option table ------------------------------------------------------------------------------ */

enum cmd { CMD_STREAM = 1 << 0, CMD_SERVE = 1 << 1, CMD_CHECK = 1 << 2 };

enum opt {
    OPT_MARKET,
    OPT_INTERVAL,
    OPT_LIMIT,
    OPT_CLOSED_ONLY,
    OPT_FORMAT,
    OPT_WS_URL,
    OPT_REST_URL,
    OPT_FROM_CONFIG,
    OPT_CONFIG,
    OPT_HOST,
    OPT_PORT,
    OPT_HEALTH_PORT,
    OPT_PORT_FILE,
    OPT_HELP,
    OPT_COUNT
};

static const struct option_def {
    const char *name; /* without the leading "--" */
    int has_value;
    unsigned cmds; /* the commands that take it */
} options[OPT_COUNT] = {
    [OPT_MARKET] = { .name = "market", .has_value = 1, .cmds = CMD_STREAM },
    [OPT_INTERVAL] = { .name = "interval", .has_value = 1, .cmds = CMD_STREAM },
    [OPT_LIMIT] = { .name = "limit", .has_value = 1, .cmds = CMD_STREAM },
    [OPT_CLOSED_ONLY] = { .name = "closed-only", .has_value = 0, .cmds = CMD_STREAM },
    [OPT_FORMAT] = { .name = "format", .has_value = 1, .cmds = CMD_STREAM },
    [OPT_WS_URL] = { .name = "ws-url", .has_value = 1, .cmds = CMD_STREAM },
    [OPT_REST_URL] = { .name = "rest-url", .has_value = 1, .cmds = CMD_STREAM },
    [OPT_FROM_CONFIG] = { .name = "from-config", .has_value = 0, .cmds = CMD_STREAM },
    [OPT_CONFIG] = { .name = "config", .has_value = 1, .cmds = CMD_STREAM | CMD_SERVE | CMD_CHECK },
    [OPT_HOST] = { .name = "host", .has_value = 1, .cmds = CMD_SERVE },
    [OPT_PORT] = { .name = "port", .has_value = 1, .cmds = CMD_SERVE },
    [OPT_HEALTH_PORT] = { .name = "health-port", .has_value = 1, .cmds = CMD_SERVE },
    [OPT_PORT_FILE] = { .name = "port-file", .has_value = 1, .cmds = CMD_SERVE },
    [OPT_HELP] = { .name = "help", .has_value = 0, .cmds = CMD_STREAM | CMD_SERVE | CMD_CHECK },
};

/* What each command says of an argument it does not take (the wording users and tests know). */
static const char *unknown_fmt(enum cmd c)
{
    return c == CMD_STREAM  ? "unknown option '%s' (try --help)"
           : c == CMD_SERVE ? "serve: unknown argument '%s' (try --help)"
                            : "check: unexpected argument '%s'";
}

#define MAX_POSITIONAL (CDL_CFG_MAX_SYMBOLS + 1)

struct args {
    const char *value[OPT_COUNT]; /* NULL: not given ("" for a flag without a value) */
    const char *pos[MAX_POSITIONAL + 1];
    int n_pos; /* may exceed MAX_POSITIONAL: counted, not kept */
};

/* Parses argv[1..] for command c; flags and positional arguments may be mixed and "--" ends the
 * flags.  0, or an exit status: an error reported, or --help printed (*help = 1). */
static int parse_args(enum cmd c, int argc, char **argv, struct args *a, int *help)
{
    memset(a, 0, sizeof *a);
    *help = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--") && c == CMD_STREAM) {
            for (i++; i < argc; i++)
                if (a->n_pos++ < MAX_POSITIONAL)
                    a->pos[a->n_pos - 1] = argv[i];
            break;
        }
        if (strncmp(arg, "--", 2) || !arg[2]) {
            if (c != CMD_STREAM)
                return usage_error(unknown_fmt(c), arg);
            if (a->n_pos++ < MAX_POSITIONAL)
                a->pos[a->n_pos - 1] = arg;
            continue;
        }
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t nl = eq ? (size_t)(eq - name) : strlen(name);
        int k = 0;
        while (k < OPT_COUNT &&
               (!(options[k].cmds & c) || strlen(options[k].name) != nl || strncmp(options[k].name, name, nl)))
            k++;
        if (k == OPT_COUNT)
            return usage_error(unknown_fmt(c), arg);
        if (k == OPT_HELP) {
            fputs(usage_text, stdout);
            *help = 1;
            return CDL_EXIT_OK;
        }
        const char *val = "";
        if (options[k].has_value) {
            if (eq)
                val = eq + 1;
            else if (i + 1 < argc)
                val = argv[++i];
            else
                return usage_error("option '%s' needs a value", arg);
        } else if (eq) {
            return usage_error("option '%s' takes no value", arg);
        }
        a->value[k] = val;
    }
    return 0;
}

/* ---- configuration -------------------------------------------------------------------------------- */

/* struct cdl_config is large: it lives on the heap. */
static struct cdl_config *xcalloc_config(void)
{
    struct cdl_config *cfg = cdl_xcalloc(1, sizeof *cfg);
    return cfg;
}

static void free_config(struct cdl_config *cfg)
{
    cdl_config_free(cfg);
    free(cfg);
}

static int setup_logging(const struct cdl_config *cfg)
{
    int lvl = cdl_log_level_parse(cfg->log_level), fmt = cdl_log_format_parse(cfg->log_format);
    if (lvl < 0)
        return usage_error("log.level: unknown level '%s' (debug, info, warn, error, off)", cfg->log_level);
    if (fmt < 0)
        return usage_error("log.format: unknown format '%s' (json, text)", cfg->log_format);
    cdl_log_setup(lvl, fmt, NULL);
    return 0;
}

/* The configuration with logging set up from it: 0, or an exit status (reported). */
static int load_config(const char *path, struct cdl_config **out)
{
    struct cdl_config *cfg = xcalloc_config();
    char err[1024];
    int rc = 0;
    if (cdl_config_load(path, cfg, err, sizeof err)) {
        fprintf(stderr, "candled: %s\n", err);
        rc = CDL_EXIT_USAGE;
    } else {
        rc = setup_logging(cfg);
    }
    if (rc) {
        free_config(cfg);
        cfg = NULL;
    }
    *out = cfg;
    return rc;
}

/* ---- the commands' arguments ---------------------------------------------------------------------- */

static int url_scheme_ok(const char *url, const char *a, const char *b)
{
    return !strncmp(url, a, strlen(a)) || !strncmp(url, b, strlen(b));
}

static int stream_main(int argc, char **argv)
{
    struct args a;
    int help, rc = parse_args(CMD_STREAM, argc, argv, &a, &help);
    if (rc || help)
        return rc;
    const char *interval = a.value[OPT_INTERVAL] ? a.value[OPT_INTERVAL] : "1m";
    const char *format = a.value[OPT_FORMAT] ? a.value[OPT_FORMAT] : "jsonl";
    const char *market = a.value[OPT_MARKET], *ws_url = a.value[OPT_WS_URL], *rest_url = a.value[OPT_REST_URL];
    const char *config_path = a.value[OPT_CONFIG];
    int closed_only = a.value[OPT_CLOSED_ONLY] != NULL;
    long limit = 0;
    if (a.value[OPT_LIMIT]) {
        char *end;
        limit = strtol(a.value[OPT_LIMIT], &end, 10);
        if (end == a.value[OPT_LIMIT] || *end || limit < 0)
            return usage_error("--limit: expected a non-negative integer, got '%s'", a.value[OPT_LIMIT]);
    }
    if (a.n_pos > MAX_POSITIONAL)
        return usage_error("too many symbols (max %d)", CDL_CFG_MAX_SYMBOLS);
    if (strcmp(format, "jsonl") && strcmp(format, "csv"))
        return usage_error("--format: expected jsonl or csv, got '%s'", format);
    if (ws_url && !url_scheme_ok(ws_url, "ws://", "wss://"))
        return usage_error("--ws-url: expected a ws:// or wss:// URL, got '%s'", ws_url);
    if (rest_url && !url_scheme_ok(rest_url, "http://", "https://"))
        return usage_error("--rest-url: expected an http:// or https:// URL, got '%s'", rest_url);

    struct cdl_config *cfg;
    if ((rc = load_config(config_path, &cfg)))
        return rc;
    struct cdl_stream_sub subs[CDL_CFG_MAX_SUBS];
    int n_subs = 0;
    if (a.value[OPT_FROM_CONFIG]) {
        if (a.n_pos)
            rc = usage_error("--from-config takes no EXCHANGE or SYMBOL arguments (got '%s')", a.pos[0]);
        else if (market || a.value[OPT_INTERVAL]) /* each subscription says its own */
            rc = usage_error("--from-config takes no %s: the subscriptions in the configuration say it",
                             market ? "--market" : "--interval");
        for (int i = 0; i < cfg->n_subs; i++) {
            struct cdl_subscription *s = &cfg->subs[i];
            subs[n_subs++] = (struct cdl_stream_sub){
                .exchange = s->exchange,
                .market = s->market[0] ? s->market : NULL,
                .interval = s->interval,
                .symbols = (const char **)s->symbols,
                .n_symbols = s->n_symbols,
                .ws_url = ws_url,
                .rest_url = rest_url,
                .closed_only = closed_only,
            };
        }
        if (!rc && !n_subs)
            rc = usage_error("%s lists no subscriptions", config_path ? config_path : "the configuration");
    } else if (a.n_pos < 1) {
        rc = usage_error("stream: missing EXCHANGE (try --help)");
    } else if (a.n_pos < 2) {
        rc = usage_error("stream: missing SYMBOL after '%s'", a.pos[0]);
    } else {
        subs[n_subs++] = (struct cdl_stream_sub){
            .exchange = a.pos[0],
            .market = market,
            .interval = interval,
            .symbols = a.pos + 1,
            .n_symbols = a.n_pos - 1,
            .ws_url = ws_url,
            .rest_url = rest_url,
            .closed_only = closed_only,
        };
    }
    if (!rc) {
        int csv = !strcmp(format, "csv");
        if (csv) {
            printf("%s\n", cdl_quote_csv_header());
            fflush(stdout); /* before the quotes, which are written with write(2) */
        }
        rc = cdl_cmd_stream(cfg, subs, n_subs, limit, csv);
    }
    free_config(cfg);
    return rc;
}

static int check_main(int argc, char **argv)
{
    struct args a;
    int help, rc = parse_args(CMD_CHECK, argc, argv, &a, &help);
    if (rc || help)
        return rc;
    struct cdl_config *cfg = xcalloc_config();
    char err[1024];
    if (cdl_config_load(a.value[OPT_CONFIG], cfg, err, sizeof err)) {
        fprintf(stderr, "candled: %s\n", err);
        rc = CDL_EXIT_FAILURE;
    } else {
        rc = cdl_cmd_check(cfg);
    }
    free_config(cfg);
    return rc;
}

/* serve's command line: what every (re)load of the configuration applies on top of config.lua and
 * the environment. */
struct serve_args {
    const char *config_path, *host;
    long port, health_port; /* -1 = not given */
};

static int serve_load(void *user, struct cdl_config **out, char *err, size_t errlen)
{
    const struct serve_args *sa = user;
    struct cdl_config *cfg = xcalloc_config();
    int rc = cdl_config_load(sa->config_path, cfg, err, errlen);
    if (!rc && sa->host && strlen(sa->host) >= sizeof cfg->server_host) {
        snprintf(err, errlen, "--host: too long: '%s'", sa->host);
        rc = CDL_EINVAL;
    }
    if (rc) {
        free_config(cfg);
        return rc;
    }
    if (sa->host)
        snprintf(cfg->server_host, sizeof cfg->server_host, "%s", sa->host);
    if (sa->port >= 0)
        cfg->server_port = (int)sa->port;
    if (sa->health_port >= 0)
        cfg->health_port = (int)sa->health_port;
    *out = cfg;
    return 0;
}

/* A port number 0..65535 into *out (-1 when not given); 0 or an exit status (reported). */
static int port_arg(const char *val, long *out)
{
    *out = -1;
    if (!val)
        return 0;
    char *end;
    long v = strtol(val, &end, 10);
    if (end == val || *end || v < 0 || v > 65535)
        return usage_error("expected a port number 0..65535, got '%s'", val);
    *out = v;
    return 0;
}

/* serve: flags override config.lua and the environment. */
static int serve_main(int argc, char **argv)
{
    struct args a;
    int help, rc = parse_args(CMD_SERVE, argc, argv, &a, &help);
    if (rc || help)
        return rc;
    struct serve_args sa = { .config_path = a.value[OPT_CONFIG], .host = a.value[OPT_HOST] };
    if ((rc = port_arg(a.value[OPT_PORT], &sa.port)) || (rc = port_arg(a.value[OPT_HEALTH_PORT], &sa.health_port)))
        return rc;
    struct cdl_config *cfg;
    char err[1024];
    if (serve_load(&sa, &cfg, err, sizeof err)) {
        fprintf(stderr, "candled: %s\n", err);
        return CDL_EXIT_USAGE;
    }
    rc = setup_logging(cfg);
    if (!rc) {
        struct cdl_reload_loader loader = { serve_load, &sa };
        rc = cdl_cmd_serve(cfg, a.value[OPT_PORT_FILE], &loader);
    }
    free_config(cfg);
    return rc;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

int cdl_cli_main(int argc, char **argv)
{
    const char *prog = argc > 0 ? base_name(argv[0]) : "candled";
    if (argc >= 2 && !strcmp(argv[1], "--version")) { /* the aliases' too */
        printf("candled %s\n", CDL_VERSION);
        return CDL_EXIT_OK;
    }
    if (!strcmp(prog, "connector-cli"))
        return stream_main(argc, argv);
    if (!strcmp(prog, "connector-wss"))
        return serve_main(argc, argv);
    if (argc < 2) {
        fputs(usage_text, stderr);
        return CDL_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(usage_text, stdout);
        return CDL_EXIT_OK;
    }
    if (!strcmp(cmd, "stream"))
        return stream_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "check"))
        return check_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "config-reference")) {
        cdl_config_reference(stdout);
        return CDL_EXIT_OK;
    }
    if (!strcmp(cmd, "serve"))
        return serve_main(argc - 1, argv + 1);
    return usage_error("unknown command '%s' (try --help)", cmd);
}

/* cli.c - see cli.h. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char usage_text[] =
    "usage:\n"
    "  candled stream EXCHANGE SYMBOL... [--market M] [--interval I] [--limit N] [--closed-only]\n"
    "                 [--format jsonl|csv] [--config FILE] [--ws-url URL] [--rest-url URL]\n"
    "  candled stream --from-config [--config FILE] ...   stream config.lua's subscriptions\n"
    "  candled serve  [--config FILE] [--host H] [--port P] [--health-port P]\n"
    "  candled check  [--config FILE]\n"
    "  candled --help | --version\n"
    "  connector-cli ... = candled stream ...;  connector-wss ... = candled serve ...\n";

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

int cdl_cli_main(int argc, char **argv)
{
    const char *prog = argc > 0 ? base_name(argv[0]) : "candled";
    const char *cmd = NULL;
    int first = 1;

    if (!strcmp(prog, "connector-cli"))
        cmd = "stream";
    else if (!strcmp(prog, "connector-wss"))
        cmd = "serve";
    else if (argc > 1)
        cmd = argv[first++];

    if (!cmd) {
        fputs(usage_text, stderr);
        return CDL_EXIT_USAGE;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(usage_text, stdout);
        return CDL_EXIT_OK;
    }
    if (!strcmp(cmd, "--version")) {
        printf("candled %s\n", CDL_VERSION);
        return CDL_EXIT_OK;
    }
    (void)first;
    fprintf(stderr, "candled: unknown command '%s' (try --help)\n", cmd);
    return CDL_EXIT_USAGE;
}

/* cli.h - the command line of interfaces.md: `candled stream|serve|check|--help|--version`,
 * and the predecessor's names `connector-cli` (= stream) and `connector-wss` (= serve) chosen by
 * argv[0].  Exit status: 0 success, 1 runtime failure, 2 usage error. */
#ifndef CDL_CLI_H
#define CDL_CLI_H

int cdl_cli_main(int argc, char **argv);

#endif

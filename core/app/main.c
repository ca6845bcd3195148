/* main.c - the candled executable: picks the command from argv[0] or argv[1] and hands over
 * to the command's module.  Everything of substance lives in the cdl_core library. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int main(int argc, char **argv)
{
    return cdl_cli_main(argc, argv);
}

/* main.c - the candled executable: picks the command from argv[0] or argv[1] and hands over
 * to the command's module.  Everything of substance lives in the cdl_core library. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "clock.h"

int main(int argc, char **argv)
{
    char why[192];
    if (cdl_clock_setup(why, sizeof why) < 0) { /* a bad CDL_TEST_CLOCK: nothing runs */
        fprintf(stderr, "candled: %s\n", why);
        return 2;
    }
    return cdl_cli_main(argc, argv);
}

/* datadir.c - see datadir.h. */
#include "datadir.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"

int cdl_datadir_find(const char *exe, const char *sub, char *out, size_t outlen)
{
    char self[PATH_MAX];
    if (!exe) {
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0)
            return CDL_EIO;
        self[n] = '\0';
        exe = self;
    }
    const char *slash = strrchr(exe, '/');
    int dirlen = slash ? (int)(slash - exe) : 1;
    const char *dir = slash ? exe : ".";
    /* installed layout first, then the build tree's symlinks */
    static const char *const layouts[] = { CDL_DATA_RELDIR, "share/candled" };
    for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++) {
        char probe[PATH_MAX + 64], real[PATH_MAX];
        struct stat st;
        if (snprintf(probe, sizeof probe, "%.*s/%s/%s", dirlen, dir, layouts[i], sub) >= (int)sizeof probe)
            continue;
        if (stat(probe, &st) || !S_ISDIR(st.st_mode) || !realpath(probe, real))
            continue;
        if (strlen(real) >= outlen)
            return CDL_ERANGE;
        memcpy(out, real, strlen(real) + 1);
        return 0;
    }
    return CDL_ENOTFOUND;
}

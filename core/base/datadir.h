/* datadir.h - where candled's data (adapters/ and the Lua SDK lua/) lives, found from the
 * executable's own location so that an installed tree works wherever it is put and a build tree
 * works beside its sources, with no path compiled into the binary.
 *
 * Installed (make install), the executable is PREFIX/bin/candled and the data PREFIX/share/candled
 * (CDL_DATA_RELDIR, the configure-time path from bindir to datadir/candled, "../share/candled" by
 * default).  In a build tree, CMake makes BUILD/share/candled/{adapters,lua} symlinks into the
 * source tree beside the binaries; installs never carry them.  The first of the two that holds the
 * wanted directory wins.  Pure apart from the file system reads; no state. */
#ifndef CDL_DATADIR_H
#define CDL_DATADIR_H

#include <stddef.h>

/* bindir -> datadir/candled, from CMake (GNUInstallDirs); the default layout otherwise. */
#ifndef CDL_DATA_RELDIR
#define CDL_DATA_RELDIR "../share/candled"
#endif

/* The canonical path (realpath) of the directory `sub` ("adapters", "lua") of the data that
 * belongs with the executable at `exe` (NULL: this process's, /proc/self/exe) into out.
 * 0, CDL_ENOTFOUND when neither layout has it, CDL_ERANGE when out is too small, CDL_EIO when
 * the executable's path cannot be read. */
int cdl_datadir_find(const char *exe, const char *sub, char *out, size_t outlen);

#endif

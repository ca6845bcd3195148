/* Unit tests for datadir.c: the installed layout (bin/ + share/candled/), the build tree's
 * (share/candled/ beside the binary), which wins, and a binary with neither. */
#include "datadir.h"
#include "err.h"
#include "test.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];

static void mk(const char *rel)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    if (mkdir(p, 0700))
        abort();
}

static void expect(const char *exe_rel, const char *sub, int want_rc, const char *want_rel)
{
    char exe[256], want[256], out[PATH_MAX];
    snprintf(exe, sizeof exe, "%s/%s", root, exe_rel);
    snprintf(want, sizeof want, "%s/%s", root, want_rel ? want_rel : "");
    memset(out, 0, sizeof out);
    int rc = cdl_datadir_find(exe, sub, out, sizeof out);
    ASSERT_EQ(rc, want_rc);
    if (want_rel)
        ASSERT_STR_EQ(out, want);
}

static void test_installed_layout(void)
{
    expect("usr/bin/candled", "adapters", 0, "usr/share/candled/adapters");
    expect("usr/bin/candled", "lua", 0, "usr/share/candled/lua");
    expect("usr/bin/../bin/candled", "lua", 0, "usr/share/candled/lua"); /* canonical */
    expect("opt/bin/candled", "lua", CDL_ENOTFOUND, NULL);               /* no opt/share */
}

static void test_build_tree_layout(void)
{
    expect("build/candled", "adapters", 0, "src/adapters"); /* through the symlink */
    expect("build/candled", "lua", CDL_ENOTFOUND, NULL);    /* only adapters linked here */
}

static void test_neither(void)
{
    expect("candled", "adapters", CDL_ENOTFOUND, NULL);
    char out[8];
    snprintf(out, sizeof out, "x");
    char exe[256];
    snprintf(exe, sizeof exe, "%s/usr/bin/candled", root);
    ASSERT_EQ(cdl_datadir_find(exe, "adapters", out, sizeof out), CDL_ERANGE);
}

/* This test binary lives in the build tree: its own data is the source tree's. */
static void test_self(void)
{
    char out[PATH_MAX], want[PATH_MAX];
    ASSERT(realpath(CDL_SOURCE_DIR "/adapters", want) != NULL);
    ASSERT_EQ(cdl_datadir_find(NULL, "adapters", out, sizeof out), 0);
    ASSERT_STR_EQ(out, want);
}

int main(void)
{
    char tmpl[] = "/tmp/cdl_datadir_XXXXXX", real[PATH_MAX], link[300], target[300];
    if (!mkdtemp(tmpl) || !realpath(tmpl, real) || strlen(real) >= sizeof root)
        return 1;
    memcpy(root, real, strlen(real) + 1);
    const char *dirs[] = { "usr",
                           "usr/bin",
                           "usr/share",
                           "usr/share/candled",
                           "usr/share/candled/adapters",
                           "usr/share/candled/lua",
                           "build",
                           "build/share",
                           "build/share/candled",
                           "src",
                           "src/adapters",
                           NULL };
    for (int i = 0; dirs[i]; i++)
        mk(dirs[i]);
    snprintf(target, sizeof target, "%s/src/adapters", root);
    snprintf(link, sizeof link, "%s/build/share/candled/adapters", root);
    if (symlink(target, link))
        return 1;
    TEST_RUN(test_installed_layout);
    TEST_RUN(test_build_tree_layout);
    TEST_RUN(test_neither);
    TEST_RUN(test_self);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd))
        return 1;
    return TEST_DONE();
}

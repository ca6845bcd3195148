/* test.h - the tiny harness every C unit test uses: asserts print both values and the line,
 * a failing test does not stop the others, and main() returns non-zero if anything failed. */
#ifndef CDL_TEST_H
#define CDL_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures;
static int test_passes;
static int test_current_failed;

#define TEST_FAIL_(...)                                                                                                \
    do {                                                                                                               \
        fprintf(stderr, "  FAIL %s:%d: ", __FILE__, __LINE__);                                                         \
        fprintf(stderr, __VA_ARGS__);                                                                                  \
        fputc('\n', stderr);                                                                                           \
        test_current_failed = 1;                                                                                       \
    } while (0)

#define ASSERT(cond)                                                                                                   \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            TEST_FAIL_("%s", #cond);                                                                                   \
            return;                                                                                                    \
        }                                                                                                              \
    } while (0)

#define ASSERT_EQ(a, b)                                                                                                \
    do {                                                                                                               \
        long long a_ = (long long)(a), b_ = (long long)(b);                                                            \
        if (a_ != b_) {                                                                                                \
            TEST_FAIL_("%s == %s: %lld != %lld", #a, #b, a_, b_);                                                      \
            return;                                                                                                    \
        }                                                                                                              \
    } while (0)

#define ASSERT_STR_EQ(a, b)                                                                                            \
    do {                                                                                                               \
        const char *a_ = (a), *b_ = (b);                                                                               \
        if (!a_ || !b_ || strcmp(a_, b_)) {                                                                            \
            TEST_FAIL_("%s == %s:\n    got      \"%s\"\n    expected \"%s\"", #a, #b, a_ ? a_ : "(null)",              \
                       b_ ? b_ : "(null)");                                                                            \
            return;                                                                                                    \
        }                                                                                                              \
    } while (0)

#define TEST_RUN(fn)                                                                                                   \
    do {                                                                                                               \
        test_current_failed = 0;                                                                                       \
        fn();                                                                                                          \
        if (test_current_failed) {                                                                                     \
            test_failures++;                                                                                           \
            fprintf(stderr, "not ok %s\n", #fn);                                                                       \
        } else {                                                                                                       \
            test_passes++;                                                                                             \
            fprintf(stderr, "ok %s\n", #fn);                                                                           \
        }                                                                                                              \
    } while (0)

/* Reads a file, NUL-terminated (malloc'd; the caller frees it), or NULL. */
static inline char *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!b) {
        fclose(f);
        return NULL;
    }
    *len = fread(b, 1, (size_t)n, f);
    b[*len] = '\0';
    fclose(f);
    return b;
}

/* Reads tests/fixtures/<dir>/<name> of the source tree (test_read_file). */
static inline char *test_read_fixture(const char *dir, const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tests/fixtures/%s/%s", CDL_SOURCE_DIR, dir, name);
    return test_read_file(path, len);
}

#define TEST_DONE() (fprintf(stderr, "%d passed, %d failed\n", test_passes, test_failures), test_failures ? 1 : 0)

#endif

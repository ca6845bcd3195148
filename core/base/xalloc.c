/* xalloc.c - see xalloc.h. */
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *checked(void *p, size_t size)
{
    if (!p && size) {
        fprintf(stderr, "candled: out of memory (%zu bytes)\n", size);
        abort();
    }
    return p;
}

void *cdl_xmalloc(size_t size) { return checked(malloc(size ? size : 1), size ? size : 1); }

void *cdl_xcalloc(size_t n, size_t size)
{
    if (!n || !size)
        n = size = 1;
    return checked(calloc(n, size), n * size);
}

void *cdl_xrealloc(void *p, size_t size) { return checked(realloc(p, size ? size : 1), size ? size : 1); }

char *cdl_xstrdup(const char *s) { return checked(strdup(s), strlen(s) + 1); }

void *cdl_xgrow(void *p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return p;
    size_t n = *cap ? *cap : 4096;
    while (n < need)
        n *= 2;
    *cap = n;
    return cdl_xrealloc(p, n);
}

/* xalloc.h - checked allocation for control code: out of memory is not recoverable there, so
 * these print one line on stderr and abort instead of returning NULL (redis zmalloc).  Only the
 * Lua states' capped allocator (lua_host) treats running out as an error a script can get. */
#ifndef CDL_XALLOC_H
#define CDL_XALLOC_H

#include <stddef.h>

void *cdl_xmalloc(size_t size) __attribute__((malloc, alloc_size(1), returns_nonnull));
void *cdl_xcalloc(size_t n, size_t size) __attribute__((malloc, alloc_size(1, 2), returns_nonnull));
void *cdl_xrealloc(void *p, size_t size) __attribute__((alloc_size(2), returns_nonnull));
char *cdl_xstrdup(const char *s) __attribute__((malloc, returns_nonnull));
/* A growable buffer p of *cap bytes made to hold at least `need`: doubled (from 4096) until it
 * does, *cap updated; p itself when it already holds it. */
void *cdl_xgrow(void *p, size_t *cap, size_t need);

#endif

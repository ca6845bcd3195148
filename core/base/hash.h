/* hash.h - the one string hash of the core (64-bit FNV-1a): symbol indexes and stream keys.
 * Not for anything an attacker could aim at a table's worst case with, unless that table is
 * bounded anyway (every table keyed by it is). */
#ifndef CDL_HASH_H
#define CDL_HASH_H

#include <stdint.h>

static inline uint64_t cdl_hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

#endif

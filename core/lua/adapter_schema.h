/* adapter_schema.h - the adapter contract as data: the market fields (type, range, default,
 * where each lands in struct cdl_market), the hooks, the canonical intervals (interval.h) and the
 * decimal syntax (candle.h).  One table serves three readers:
 *   - the C host checks every adapter's markets with it (cdl_schema_check_market);
 *   - the Lua SDK gets the same rules as the frozen module `candled.contract`
 *     (luaopen_candled_contract; also built as candled/contract.so for busted);
 *   - docs/adapters.md's field table is generated from it (cdl_schema_reference,
 *     tests/unit/test_adapter_docs.c keeps the file true).
 * Static data only; the functions that read Lua tables take the table's stack index. */
#ifndef CDL_ADAPTER_SCHEMA_H
#define CDL_ADAPTER_SCHEMA_H

#include <lua.h>
#include <stddef.h>
#include <stdio.h>

#include "adapter.h"

enum cdl_field_type {
    CDL_FT_NAME,     /* [a-z0-9_]+, shorter than the buffer */
    CDL_FT_URL,      /* a string starting with one of `schemes` */
    CDL_FT_INT,      /* a number in [min, max], stored as int */
    CDL_FT_NUM,      /* a number in [min, max], stored as double */
    CDL_FT_BOOL,     /* a boolean, stored as int */
    CDL_FT_WEIGHTS,  /* rest_weight: a number in (0, max], or {max_limit, weight} steps */
    CDL_FT_ALIASES,  /* an array of at most max names */
    CDL_FT_INTERVALS /* canonical -> exchange interval names: read by the host, not stored here */
};

struct cdl_market_field {
    const char *field;
    enum cdl_field_type type;
    int required;
    double min, max;        /* numbers: the range; WEIGHTS: the largest weight; ALIASES: most entries */
    double dflt;            /* numbers and booleans: the value when absent */
    const char *schemes[3]; /* URL: accepted prefixes (NULL-terminated) */
    const char *expect;     /* URL: what the Lua SDK says it must be */
    size_t offset, size;    /* where the value lands in struct cdl_market; strings: buffer size */
    const char *help;
};

/* The market fields, in the order they are checked (the first bad one is reported). */
extern const struct cdl_market_field cdl_market_schema[];
extern const int cdl_market_schema_count;

/* The hooks of an adapter table, required ones first; the `rest` table holds request and parse. */
struct cdl_hook_def {
    const char *name;
    int required;
    const char *help;
};
extern const struct cdl_hook_def cdl_hook_schema[];
extern const int cdl_hook_schema_count;

/* Checks the market table at index mt against the schema and fills m (fields it does not name
 * are left alone).  0, or CDL_EINVAL with "<where>.<field> is missing or invalid" (or
 * "<where>.aliases: at most 4") in err.  Reads through metamethods: call it protected. */
int cdl_schema_check_market(lua_State *L, int mt, struct cdl_market *m, const char *where, char *err, size_t errlen);
/* Checks the hooks of the adapter table at index t; sets *has_rest.  0, or CDL_EINVAL with
 * "adapter '<name>': <hook> must be a function" (or the rest table's message) in err. */
int cdl_schema_check_hooks(lua_State *L, int t, const char *name, int *has_rest, char *err, size_t errlen);

/* The `candled.contract` module: { market = {rows}, hooks = {rows}, rest_hooks, intervals =
 * {{name, ms, months}}, limits = {...}, is_decimal(s), is_name(s), now_ms() }, frozen. */
int luaopen_candled_contract(lua_State *L);

/* The generated blocks of docs/adapters.md: "market-fields" (the field table) and "intervals"
 * (the canonical interval list).  0, or -1 for an unknown block name. */
int cdl_schema_reference(FILE *out, const char *block);
extern const char *const cdl_schema_blocks[]; /* NULL-terminated */

#endif

/* lua_convert.h - the trust boundary: what an adapter hook returns (Lua values on the stack)
 * converted by strict C code into the values of adapter.h, or refused; and the core's values
 * (streams, REST queries) pushed as hook arguments.  Nothing here calls a hook or logs: the host
 * (lua_host.c) calls, counts and reports.  A conversion that reads candle tables can run
 * metamethods, so it runs as a protected call (cdl_lua_convert_results). */
#ifndef CDL_LUA_CONVERT_H
#define CDL_LUA_CONVERT_H

#include <lua.h>

#include "adapter.h"

/* The scratch array REST pages over CDL_PARSE_MAX rows spill into (adapter.h): owned by the
 * host, grown by doubling, freed with free(rows). */
struct cdl_row_scratch {
    struct cdl_parsed_candle *rows;
    int cap;
};

/* Empties res for a new call that may take `limit` candles. */
void cdl_parse_result_reset(struct cdl_parse_result *res, int limit);

struct cdl_convert_ctx {
    struct cdl_parse_result *res;
    struct cdl_row_scratch *scratch;
    const char *contract; /* set when the return value broke the contract */
};
/* A lua_CFunction: [ctx (light userdata), r1, r2] -> [] converts a parse result (an array of
 * candles, an event table, nil or nil + reason) into ctx->res. */
int cdl_lua_convert_results(lua_State *L);

/* Emits the text frames at the top of the stack (a string, an array of strings, or nil) and
 * pops it.  Returns the number of bad entries (not non-empty strings: skipped), or -1 when the
 * value is neither (nothing emitted). */
int cdl_lua_emit_frames(lua_State *L, cdl_frame_emit emit, void *user);

/* The request table at index t into out (zeroed first).  NULL, or the contract breach (out is
 * then cleared). */
const char *cdl_lua_rest_req(lua_State *L, int t, struct cdl_rest_req *out);

/* Hook arguments: an array of {symbol, interval} tables, and the REST query table. */
void cdl_lua_push_streams(lua_State *L, const struct cdl_stream_ref *streams, int n);
void cdl_lua_push_query(lua_State *L, const struct cdl_rest_query *q);

#endif

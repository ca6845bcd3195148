/* lua_convert.c - see lua_convert.h.
 *
 * Stack-layout comments use [a, b, c] with the top on the right. */
#include "lua_convert.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads string field `k` of the table at index t into out; returns 0, 1 if absent, -1 if wrong. */
static int get_str(lua_State *L, int t, const char *k, char *out, size_t len)
{
    int ty = lua_getfield(L, t, k);
    int rc = 0;
    if (ty == LUA_TNIL)
        rc = 1;
    else if (ty != LUA_TSTRING || lua_rawlen(L, -1) >= len)
        rc = -1;
    else
        memcpy(out, lua_tostring(L, -1), lua_rawlen(L, -1) + 1);
    lua_pop(L, 1);
    return rc;
}

int cdl_candle_check_time(int64_t t)
{
    return t >= 946684800000LL && t < 4102444800000LL; /* 2000-01-01 .. 2100-01-01 */
}

/* Integer field: Lua integer, or a float with an integral value. 0 ok, 1 absent, -1 bad. */
static int field_int(lua_State *L, int t, const char *k, int64_t *out)
{
    int ty = lua_getfield(L, t, k), rc = 0;
    if (ty == LUA_TNIL) {
        rc = 1;
    } else if (ty == LUA_TNUMBER) {
        lua_Integer v;
        if (lua_isinteger(L, -1))
            *out = (int64_t)lua_tointeger(L, -1);
        else if (lua_numbertointeger(lua_tonumber(L, -1), &v) && (lua_Number)v == lua_tonumber(L, -1))
            *out = (int64_t)v;
        else
            rc = -1;
    } else {
        rc = -1;
    }
    lua_pop(L, 1);
    return rc;
}

/* Decimal field: a string holding a JSON number token, or a Lua integer. */
static int field_dec(lua_State *L, int t, const char *k, char *out)
{
    int ty = lua_getfield(L, t, k), rc = 0;
    if (ty == LUA_TNIL) {
        rc = 1;
    } else if (ty == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        if (cdl_decimal_valid(s, len))
            memcpy(out, s, len + 1);
        else
            rc = -1;
    } else if (ty == LUA_TNUMBER && lua_isinteger(L, -1)) {
        snprintf(out, CDL_DEC_MAX, "%lld", (long long)lua_tointeger(L, -1));
    } else {
        rc = -1; /* floats would need a double round trip: refused */
    }
    lua_pop(L, 1);
    return rc;
}

static int field_name(lua_State *L, int t, const char *k, char *out, size_t len)
{
    int ty = lua_getfield(L, t, k), rc = 0;
    if (ty == LUA_TNIL)
        rc = 1;
    else if (ty != LUA_TSTRING || lua_rawlen(L, -1) == 0 || lua_rawlen(L, -1) >= len)
        rc = -1;
    else
        memcpy(out, lua_tostring(L, -1), lua_rawlen(L, -1) + 1);
    lua_pop(L, 1);
    return rc;
}

/* Converts the candle table at index t; returns NULL or the name of the failing field. */
static const char *convert_candle(lua_State *L, int t, struct cdl_parsed_candle *pc)
{
    struct cdl_candle *c = &pc->c;
    memset(pc, 0, sizeof *pc);
    c->close_time = -1;
    c->trades = -1;
    c->closed = -1;
    if (field_name(L, t, "symbol", pc->symbol, sizeof pc->symbol) < 0)
        return "symbol";
    if (field_name(L, t, "interval", pc->interval, sizeof pc->interval) < 0)
        return "interval";
    if (field_int(L, t, "open_time", &c->open_time) || !cdl_candle_check_time(c->open_time))
        return "open_time";
    if (field_dec(L, t, "open", c->open))
        return "open";
    if (field_dec(L, t, "high", c->high))
        return "high";
    if (field_dec(L, t, "low", c->low))
        return "low";
    if (field_dec(L, t, "close", c->close))
        return "close";
    if (field_dec(L, t, "volume", c->volume))
        return "volume";
    if (field_dec(L, t, "quote_volume", c->quote_volume) < 0)
        return "quote_volume";
    /* -1 is the core's "absent": an adapter says absent with nil, so a given value must be real */
    int rc_ct = field_int(L, t, "close_time", &c->close_time);
    if (rc_ct < 0 || (rc_ct == 0 && c->close_time < c->open_time))
        return "close_time";
    int rc_tr = field_int(L, t, "trades", &c->trades);
    if (rc_tr < 0 || (rc_tr == 0 && c->trades < 0))
        return "trades";
    int ty = lua_getfield(L, t, "closed");
    if (ty == LUA_TBOOLEAN)
        c->closed = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (ty != LUA_TBOOLEAN && ty != LUA_TNIL)
        return "closed";
    return NULL;
}

static void copy_token(char *dst, size_t cap, const char *s)
{
    size_t n = 0;
    for (; s && *s && n + 1 < cap; s++)
        dst[n++] = ((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_') ? *s : '_';
    dst[n] = '\0';
    if (!n)
        snprintf(dst, cap, "unspecified");
}

/* More room in res (a REST page): the candles move to the host's scratch array, which grows by
 * doubling up to the result's limit (`want` rows are announced). */
static void grow_rows(struct cdl_row_scratch *h, struct cdl_parse_result *res, lua_Unsigned want)
{
    int need = want < (lua_Unsigned)res->limit ? (int)want : res->limit;
    if (need <= res->cap)
        need = res->cap + 1;
    if (h->cap < need) {
        int cap = h->cap ? h->cap : 2 * CDL_PARSE_MAX;
        while (cap < need)
            cap *= 2;
        struct cdl_parsed_candle *rows = cdl_xrealloc(h->rows, (size_t)cap * sizeof *rows);
        h->rows = rows;
        h->cap = cap;
    }
    if (res->items != h->rows)
        memcpy(h->rows, res->items, (size_t)res->n * sizeof *res->items);
    res->items = h->rows;
    res->cap = h->cap < res->limit ? h->cap : res->limit;
}

int cdl_lua_convert_results(lua_State *L)
{
    struct cdl_convert_ctx *cx = lua_touserdata(L, 1); /* [ctx, r1, r2] */
    struct cdl_parse_result *res = cx->res;
    if (lua_isnil(L, 2)) {
        if (lua_type(L, 3) == LUA_TSTRING) {
            res->rejected = 1;
            copy_token(res->reason, sizeof res->reason, lua_tostring(L, 3));
        } else if (!lua_isnil(L, 3)) {
            cx->contract = "nil must be followed by a reason string";
        }
        return 0;
    }
    if (!lua_istable(L, 2)) {
        cx->contract = "must return an array of candles, nil, or nil and a reason";
        return 0;
    }
    int ty = lua_getfield(L, 2, "event");
    if (ty == LUA_TSTRING) {
        const char *ev = lua_tostring(L, -1);
        if (!strcmp(ev, "ack"))
            res->event = CDL_EV_ACK;
        else if (!strcmp(ev, "pong"))
            res->event = CDL_EV_PONG;
        else if (!strcmp(ev, "error"))
            res->event = CDL_EV_ERROR;
        else if (!strcmp(ev, "reconnect"))
            res->event = CDL_EV_RECONNECT;
        else
            cx->contract = "unknown event name";
        if (lua_getfield(L, 2, "message") == LUA_TSTRING)
            snprintf(res->message, sizeof res->message, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
    } else if (ty != LUA_TNIL) {
        cx->contract = "event must be a string";
    }
    lua_pop(L, 1);
    lua_Unsigned n = lua_rawlen(L, 2);
    for (lua_Unsigned i = 1; i <= n; i++) {
        if (res->n >= res->limit) {
            res->n_bad += (int)(n - i + 1);
            if (!res->bad_reason[0])
                snprintf(res->bad_reason, sizeof res->bad_reason, "too_many_candles");
            break;
        }
        if (res->n == res->cap)
            grow_rows(cx->scratch, res, n);
        const char *bad;
        if (lua_rawgeti(L, 2, (lua_Integer)i) != LUA_TTABLE)
            bad = "not_a_table";
        else
            bad = convert_candle(L, lua_gettop(L), &res->items[res->n]);
        lua_pop(L, 1);
        if (!bad) {
            res->n++;
        } else {
            if (!res->bad_reason[0])
                snprintf(res->bad_reason, sizeof res->bad_reason, "bad_%s", bad);
            res->n_bad++;
        }
    }
    return 0;
}

void cdl_parse_result_reset(struct cdl_parse_result *res, int limit)
{
    res->items = res->fixed;
    res->cap = CDL_PARSE_MAX < limit ? CDL_PARSE_MAX : limit;
    res->limit = limit;
    res->n = res->n_bad = res->rejected = 0;
    res->event = CDL_EV_NONE;
    res->bad_reason[0] = res->reason[0] = res->message[0] = '\0';
}

void cdl_rest_req_clear(struct cdl_rest_req *r)
{
    free(r->body);
    for (int i = 0; r->headers[i]; i++)
        free(r->headers[i]);
    memset(r, 0, sizeof *r);
}

void cdl_lua_push_query(lua_State *L, const struct cdl_rest_query *q)
{
    lua_createtable(L, 0, 6);
    lua_pushstring(L, q->symbol);
    lua_setfield(L, -2, "symbol");
    lua_pushstring(L, q->interval);
    lua_setfield(L, -2, "interval");
    lua_pushinteger(L, q->start_ms);
    lua_setfield(L, -2, "start_ms");
    lua_pushinteger(L, q->end_ms);
    lua_setfield(L, -2, "end_ms");
    lua_pushinteger(L, q->limit);
    lua_setfield(L, -2, "limit");
    lua_pushstring(L, q->base_url);
    lua_setfield(L, -2, "base_url");
}

void cdl_lua_push_streams(lua_State *L, const struct cdl_stream_ref *streams, int n)
{
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_createtable(L, 0, 2);
        lua_pushstring(L, streams[i].symbol);
        lua_setfield(L, -2, "symbol");
        lua_pushstring(L, streams[i].interval);
        lua_setfield(L, -2, "interval");
        lua_rawseti(L, -2, i + 1);
    }
}

int cdl_lua_emit_frames(lua_State *L, cdl_frame_emit emit, void *user)
{
    int bad = 0;
    if (lua_type(L, -1) == LUA_TSTRING) {
        emit(user, lua_tostring(L, -1), lua_rawlen(L, -1));
    } else if (lua_type(L, -1) == LUA_TTABLE) {
        int n = (int)lua_rawlen(L, -1);
        for (int i = 1; i <= n; i++) {
            if (lua_rawgeti(L, -1, i) == LUA_TSTRING && lua_rawlen(L, -1) > 0)
                emit(user, lua_tostring(L, -1), lua_rawlen(L, -1));
            else
                bad++;
            lua_pop(L, 1);
        }
    } else if (!lua_isnil(L, -1)) {
        bad = -1;
    }
    lua_pop(L, 1);
    return bad;
}

const char *cdl_lua_rest_req(lua_State *L, int t, struct cdl_rest_req *out)
{
    const char *bad = NULL;
    memset(out, 0, sizeof *out);
    if (!lua_istable(L, t)) {
        bad = "must return a table";
    } else if (get_str(L, t, "url", out->url, sizeof out->url) ||
               (strncmp(out->url, "http://", 7) && strncmp(out->url, "https://", 8))) {
        bad = "url must be an http(s) URL string";
    } else {
        int r = get_str(L, t, "method", out->method, sizeof out->method);
        if (r == 1)
            strcpy(out->method, "GET");
        if (r < 0 || (strcmp(out->method, "GET") && strcmp(out->method, "POST")))
            bad = "method must be GET or POST";
    }
    if (!bad) {
        int ty = lua_getfield(L, t, "body");
        if (ty == LUA_TSTRING)
            out->body = cdl_xstrdup(lua_tostring(L, -1));
        else if (ty != LUA_TNIL)
            bad = "body must be a string";
        lua_pop(L, 1);
    }
    if (!bad) {
        int ty = lua_getfield(L, t, "headers");
        if (ty == LUA_TTABLE) {
            int n = (int)lua_rawlen(L, -1);
            for (int i = 0; i < n && !bad; i++) {
                if (i >= 8 || lua_rawgeti(L, -1, i + 1) != LUA_TSTRING || strpbrk(lua_tostring(L, -1), "\r\n"))
                    bad = "headers must be at most 8 \"Name: value\" strings";
                else
                    out->headers[i] = cdl_xstrdup(lua_tostring(L, -1));
                if (i < 8)
                    lua_pop(L, 1);
            }
        } else if (ty != LUA_TNIL) {
            bad = "headers must be an array";
        }
        lua_pop(L, 1);
    }
    if (bad)
        cdl_rest_req_clear(out);
    return bad;
}

struct row_key {
    int64_t open_time;
    int index;
};

static int by_open_time(const void *a, const void *b)
{
    const struct row_key *x = a, *y = b;
    if (x->open_time != y->open_time)
        return x->open_time < y->open_time ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

int *cdl_parse_result_order(const struct cdl_parse_result *res)
{
    int sorted = 1;
    for (int i = 1; i < res->n && sorted; i++)
        sorted = res->items[i - 1].c.open_time <= res->items[i].c.open_time;
    if (sorted)
        return NULL;
    struct row_key *k = cdl_xmalloc((size_t)res->n * sizeof *k);
    int *order = cdl_xmalloc((size_t)res->n * sizeof *order);
    for (int i = 0; i < res->n; i++)
        k[i] = (struct row_key){ res->items[i].c.open_time, i };
    qsort(k, (size_t)res->n, sizeof *k, by_open_time);
    for (int i = 0; i < res->n; i++)
        order[i] = k[i].index;
    free(k);
    return order;
}

/* Unit tests for lua_convert.c, the trust boundary, on a bare Lua state: frame lists and REST
 * request tables of every shape, and (through the host) a request table whose metamethods raise,
 * which is an adapter error and not a crash. */
#include "err.h"
#include "lua_convert.h"
#include "lua_host.h"
#include "metrics.h"
#include "test.h"

#include <lauxlib.h>
#include <lualib.h>
#include <unistd.h>

static void collect(void *user, const char *frame, size_t len)
{
    char *out = user;
    strncat(out, frame, len);
    strcat(out, "|");
}

/* Evaluates expr and leaves its value on the stack. */
static void push(lua_State *L, const char *expr)
{
    char chunk[512];
    snprintf(chunk, sizeof chunk, "return %s", expr);
    if (luaL_dostring(L, chunk) != LUA_OK) {
        fprintf(stderr, "%s: %s\n", expr, lua_tostring(L, -1));
        abort();
    }
}

static void test_frames(void)
{
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    static const struct {
        const char *expr, *frames;
        int bad;
    } cases[] = {
        { "'one'", "one|", 0 }, { "{ 'a', 'b' }", "a|b|", 0 },        { "nil", "", 0 },
        { "{}", "", 0 },        { "{ 'a', '', 5, 'd' }", "a|d|", 2 }, { "42", "", -1 },
        { "true", "", -1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[64] = "";
        push(L, cases[i].expr);
        int top = lua_gettop(L);
        ASSERT_EQ(cdl_lua_emit_frames(L, collect, out), cases[i].bad);
        ASSERT_STR_EQ(out, cases[i].frames);
        ASSERT_EQ(lua_gettop(L), top - 1);
    }
    lua_close(L);
}

static void test_rest_req(void)
{
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    static const struct {
        const char *expr, *bad;
    } cases[] = {
        { "{ url = 'https://x/k', headers = { 'A: 1', 'B: 2' }, body = 'q' }", NULL },
        { "{ url = 'http://x/k', method = 'POST' }", NULL },
        { "'https://x'", "must return a table" },
        { "{ url = 'ftp://x' }", "url must be an http(s) URL string" },
        { "{ url = 'https://x', method = 'PUT' }", "method must be GET or POST" },
        { "{ url = 'https://x', body = 5 }", "body must be a string" },
        { "{ url = 'https://x', headers = 'A: 1' }", "headers must be an array" },
        { "{ url = 'https://x', headers = { 'A: 1\\r\\nB: 2' } }",
          "headers must be at most 8 \"Name: value\" strings" },
        { "{ url = 'https://x', headers = { '1', '2', '3', '4', '5', '6', '7', '8', '9' } }",
          "headers must be at most 8 \"Name: value\" strings" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cdl_rest_req r;
        push(L, cases[i].expr);
        const char *bad = cdl_lua_rest_req(L, lua_gettop(L), &r);
        lua_pop(L, 1);
        if (!cases[i].bad) {
            ASSERT(bad == NULL);
            ASSERT(!strncmp(r.url, "http", 4));
        } else {
            ASSERT_STR_EQ(bad, cases[i].bad);
            ASSERT(r.body == NULL && r.headers[0] == NULL); /* cleared */
        }
        if (i == 0) {
            ASSERT_STR_EQ(r.method, "GET");
            ASSERT_STR_EQ(r.body, "q");
            ASSERT_STR_EQ(r.headers[1], "B: 2");
            ASSERT(r.headers[2] == NULL);
        }
        cdl_rest_req_clear(&r);
    }
    lua_close(L);
}

/* A request table whose reads raise (after the body was copied): counted as an adapter error of
 * rest.request, nothing leaks, the host goes on. */
static void test_raising_request(void)
{
    char dir[] = "/tmp/cdl_convert_XXXXXX";
    ASSERT(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/meta.lua", dir);
    FILE *f = fopen(path, "w");
    fputs("return { name = 'meta', intervals = { ['1m'] = '1' }, markets = { { name = 'spot', ws_url = 'wss://x',"
          " rest_url = 'https://x' } }, subscribe = function() end, parse = function() end,"
          " rest = { parse = function() end, request = function(m, q)"
          "   return setmetatable({ url = 'https://x/k', body = 'b' }, { __index = function(t, k)"
          "     error('no field ' .. k) end }) end } }\n",
          f);
    fclose(f);
    struct cdl_metrics *metrics = cdl_metrics_create(64);
    struct cdl_lua_opts o = { .adapters_dir = dir, .lua_dir = dir };
    struct cdl_lua_host *h = cdl_lua_host_create(&o, metrics);
    struct cdl_adapter *a;
    char err[256];
    ASSERT_EQ(cdl_lua_host_load(h, "meta", &a, err, sizeof err), 0);
    const struct cdl_market *m = cdl_adapter_market(a, NULL);
    struct cdl_rest_query q = {
        .symbol = "X", .interval = "1", .start_ms = 1, .end_ms = 2, .limit = 1, .base_url = "https://x"
    };
    struct cdl_rest_req r;
    for (int i = 1; i <= 2; i++) {
        ASSERT_EQ(cdl_adapter_rest_request(a, m, &q, &r), CDL_ELUA);
        ASSERT(r.body == NULL);
        ASSERT_EQ(cdl_series_value(cdl_metrics_series(metrics, CDL_M_ADAPTER_ERRORS, "meta", "rest.request")), i);
    }
    cdl_lua_host_destroy(h);
    cdl_metrics_destroy(metrics);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    TEST_RUN(test_frames);
    TEST_RUN(test_rest_req);
    TEST_RUN(test_raising_request);
    return TEST_DONE();
}

/* Unit tests for adapter_schema.c: the C checks the market schema drives (through the real host,
 * on adapters written to a temporary directory), and the candled.contract module the Lua SDK
 * reads the same rules from. */
#include "adapter_schema.h"
#include "candle.h"
#include "clock.h"
#include "err.h"
#include "interval.h"
#include "log.h"
#include "lua_host.h"
#include "test.h"

#include <lauxlib.h>
#include <lualib.h>
#include <unistd.h>

static char dir[256];

#define HOOKS " subscribe = function() end, parse = function() end }"

static void write_adapter(const char *name, const char *markets)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.lua", dir, name);
    FILE *f = fopen(path, "w");
    fprintf(f, "return { name = '%s', intervals = { ['1m'] = '1' }, markets = { %s }," HOOKS "\n", name, markets);
    fclose(f);
}

static int load(const char *name, char *err, size_t errlen)
{
    struct cdl_lua_opts o = { .adapters_dir = dir, .lua_dir = dir };
    struct cdl_lua_host *h = cdl_lua_host_create(&o, NULL);
    struct cdl_adapter *a;
    int rc = cdl_lua_host_load(h, name, &a, err, errlen);
    cdl_lua_host_destroy(h);
    return rc;
}

static void expect_error(const char *name, const char *want)
{
    char err[512] = "";
    int rc = load(name, err, sizeof err);
    if (rc != CDL_EINVAL || strcmp(err, want))
        TEST_FAIL_("%s: rc %d, err \"%s\", expected \"%s\"", name, rc, err, want);
}

static void test_c_rules(void)
{
    char err[512] = "";
    ASSERT_EQ(load("fine", err, sizeof err), 0);
    expect_error("twice", "adapter 'twice': markets[2]: market 'spot' defined twice");
    expect_error("alias_taken", "adapter 'alias_taken': markets[2]: alias 'spot' is already a market or alias");
    expect_error("alias_again", "adapter 'alias_again': markets[1]: alias 'cash' is already a market or alias");
    expect_error("ws_scheme", "adapter 'ws_scheme': markets[1].ws_url is missing or invalid");
    expect_error("rest_scheme", "adapter 'rest_scheme': markets[1].rest_url is missing or invalid");
    expect_error("alias_name", "adapter 'alias_name': markets[1].aliases is missing or invalid");
    expect_error("alias_type", "adapter 'alias_type': markets[1].aliases is missing or invalid");
    expect_error("nan_rows", "adapter 'nan_rows': markets[1].rest_max_rows is missing or invalid");
    expect_error("flag", "adapter 'flag': markets[1].confirm_inferred is missing or invalid");
    expect_error("too_many", "adapter 'too_many': markets must be a non-empty array (at most 16)");
}

/* Reading the adapter table runs its metamethods: a raising one is a load error, not a crash. */
static void test_raising_metamethod(void)
{
    char err[512] = "";
    ASSERT_EQ(load("meta", err, sizeof err), CDL_ELUA);
    ASSERT(strstr(err, "adapter 'meta': ") == err);
    ASSERT(strstr(err, "no such field: ws_url") != NULL);
}

/* Fills defaults from the table: every number and flag field absent. */
static void test_defaults(void)
{
    struct cdl_lua_opts o = { .adapters_dir = dir, .lua_dir = dir };
    struct cdl_lua_host *h = cdl_lua_host_create(&o, NULL);
    struct cdl_adapter *a;
    char err[256];
    ASSERT_EQ(cdl_lua_host_load(h, "fine", &a, err, sizeof err), 0);
    const struct cdl_market *m = cdl_adapter_market(a, "cash");
    ASSERT(m != NULL);
    ASSERT_STR_EQ(m->name, "spot");
    for (int i = 0; i < cdl_market_schema_count; i++) {
        const struct cdl_market_field *f = &cdl_market_schema[i];
        const char *p = (const char *)m + f->offset;
        if (f->type == CDL_FT_INT)
            ASSERT_EQ(*(const int *)p, (int)f->dflt);
        else if (f->type == CDL_FT_NUM && *(const double *)p != f->dflt)
            TEST_FAIL_("%s: %g, default %g", f->field, *(const double *)p, f->dflt);
        else if (f->type == CDL_FT_BOOL)
            ASSERT_EQ(*(const int *)p, (int)f->dflt);
    }
    ASSERT_EQ(m->n_rest_weights, 0);
    ASSERT_EQ(cdl_market_rest_weight(m, 100), 1);
    cdl_lua_host_destroy(h);
}

static lua_State *contract_state(void)
{
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    luaL_requiref(L, "contract", luaopen_candled_contract, 1);
    lua_pop(L, 1);
    return L;
}

/* Runs chunk (which may use `contract`) and returns its string result, or the error. */
static const char *run(lua_State *L, const char *chunk)
{
    lua_settop(L, 0);
    luaL_dostring(L, chunk);
    const char *s = lua_tostring(L, -1);
    return s ? s : "(not a string)";
}

static void test_contract_module(void)
{
    lua_State *L = contract_state();
    char want[64];
    snprintf(want, sizeof want, "%d", cdl_market_schema_count);
    ASSERT_STR_EQ(run(L, "return tostring(#contract.market)"), want);
    /* the rows are the C table's, in its order */
    for (int i = 0; i < cdl_market_schema_count; i++) {
        const struct cdl_market_field *f = &cdl_market_schema[i];
        char chunk[128];
        snprintf(chunk, sizeof chunk, "return contract.market[%d].field", i + 1);
        ASSERT_STR_EQ(run(L, chunk), f->field);
        if (f->type == CDL_FT_INT || f->type == CDL_FT_NUM) {
            snprintf(chunk, sizeof chunk,
                     "local r = contract.market[%d] return r.min .. ' ' .. r.max .. ' ' .. r.default", i + 1);
            char num[96];
            snprintf(num, sizeof num, "%.15g %.15g %.15g", f->min, f->max, f->dflt);
            ASSERT_STR_EQ(run(L, chunk), num);
        }
    }
    ASSERT_STR_EQ(run(L, "return contract.market[4].expect"), "a number in [1, 100000]");
    ASSERT_STR_EQ(run(L, "return contract.market[2].schemes[2] .. #contract.market[2].schemes"), "wss://2");
    ASSERT_STR_EQ(run(L, "return contract.hooks[1].name .. tostring(contract.hooks[1].required) .. "
                         "contract.hooks[7].name .. tostring(contract.hooks[7].required)"),
                  "subscribetruepingfalse");
    ASSERT_STR_EQ(run(L, "return table.concat(contract.rest_hooks, ',')"), "request,parse");
    ASSERT_STR_EQ(run(L, "return contract.limits.markets .. ' ' .. contract.limits.aliases .. ' ' .. "
                         "contract.limits.rest_rows .. ' ' .. contract.limits.interval_name_len"),
                  "16 4 10000 15");
    /* intervals: the core's table, with its period lengths */
    snprintf(want, sizeof want, "%d", cdl_interval_count());
    ASSERT_STR_EQ(run(L, "return tostring(#contract.intervals)"), want);
    ASSERT_STR_EQ(run(L, "local t = {} for _, iv in ipairs(contract.intervals) do t[#t + 1] = iv.name .. '=' .. "
                         "iv.ms .. '/' .. iv.months end return t[1] .. ' ' .. t[3] .. ' ' .. t[19]"),
                  "1s=1000/0 1m=60000/0 1M=0/1");
    /* frozen, at every level */
    ASSERT(strstr(run(L, "contract.market = {}"), "read-only") != NULL);
    ASSERT(strstr(run(L, "contract.market[1].min = 5"), "read-only") != NULL);
    ASSERT(strstr(run(L, "contract.limits.markets = 99"), "read-only") != NULL);
    ASSERT_STR_EQ(run(L, "pcall(function() contract.limits.markets = 99 end) return tostring(contract.limits.markets)"),
                  "16");
    ASSERT_STR_EQ(run(L, "return tostring(getmetatable(contract))"), "locked");
    ASSERT_STR_EQ(run(L, "local n = 0 for k in pairs(contract.limits) do n = n + 1 end return tostring(n)"), "9");
    lua_close(L);
}

static void test_decimal_and_names(void)
{
    lua_State *L = contract_state();
    static const char *const cases[] = { "0",  "0.35270000", "-1.5", "1e-8", "25877", "",      ".5",   "5.", "01",
                                         "1e", "abc",        "1,5",  "1+5",  "-",     "1E+10", "-0.0", NULL };
    for (int i = 0; cases[i]; i++) {
        char chunk[96];
        snprintf(chunk, sizeof chunk, "return tostring(contract.is_decimal('%s'))", cases[i]);
        ASSERT_STR_EQ(run(L, chunk), cdl_decimal_valid(cases[i], strlen(cases[i])) ? "true" : "false");
    }
    ASSERT_STR_EQ(run(L, "return tostring(contract.is_decimal(5))"), "false");
    ASSERT_STR_EQ(run(L, "return tostring(contract.is_name('usdm')) .. tostring(contract.is_name('USDM')) .. "
                         "tostring(contract.is_name('a\\0b')) .. tostring(contract.is_name(string.rep('a', 32)))"),
                  "truefalsefalsefalse");
    uint64_t before = cdl_clock_now_ms();
    lua_settop(L, 0);
    ASSERT_EQ(luaL_dostring(L, "return contract.now_ms()"), LUA_OK);
    uint64_t t = (uint64_t)lua_tointeger(L, -1);
    ASSERT(t >= before && t <= cdl_clock_now_ms());
    lua_close(L);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/cdl_schema_XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    write_adapter("fine", "{ name = 'spot', aliases = { 'cash' }, ws_url = 'wss://x' }");
    write_adapter("twice", "{ name = 'spot', ws_url = 'wss://x' }, { name = 'spot', ws_url = 'wss://y' }");
    write_adapter("alias_taken", "{ name = 'spot', ws_url = 'wss://x' }, { name = 'perp', aliases = { 'spot' },"
                                 " ws_url = 'wss://y' }");
    write_adapter("alias_again", "{ name = 'spot', aliases = { 'cash', 'cash' }, ws_url = 'wss://x' }");
    write_adapter("ws_scheme", "{ name = 'spot', ws_url = 'http://x' }");
    write_adapter("rest_scheme", "{ name = 'spot', ws_url = 'wss://x', rest_url = 'ftp://x' }");
    write_adapter("alias_name", "{ name = 'spot', aliases = { 'Cash' }, ws_url = 'wss://x' }");
    write_adapter("alias_type", "{ name = 'spot', aliases = 'cash', ws_url = 'wss://x' }");
    write_adapter("nan_rows", "{ name = 'spot', ws_url = 'wss://x', rest_max_rows = 0/0 }");
    write_adapter("flag", "{ name = 'spot', ws_url = 'wss://x', confirm_inferred = 1 }");
    char many[2048] = "";
    for (int i = 0; i < 17; i++) {
        char m[64];
        snprintf(m, sizeof m, "%s{ name = 'm%d', ws_url = 'wss://x' }", i ? ", " : "", i);
        strcat(many, m);
    }
    write_adapter("too_many", many);
    write_adapter("meta",
                  "setmetatable({ name = 'spot' }, { __index = function(t, k) error('no such field: ' .. k) end })");
    TEST_RUN(test_c_rules);
    TEST_RUN(test_raising_metamethod);
    TEST_RUN(test_defaults);
    TEST_RUN(test_contract_module);
    TEST_RUN(test_decimal_and_names);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd))
        return 1;
    return TEST_DONE();
}

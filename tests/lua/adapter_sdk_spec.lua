-- candled.adapter.define: checks and defaults (docs/adapters.md).
local adapter = require("candled.adapter")

local function base()
  return {
    name = "x",
    intervals = { ["1m"] = "1min" },
    markets = { { name = "spot", ws_url = "wss://x.test/ws" } },
    subscribe = function() end,
    parse = function() end,
  }
end

local function err_of(t)
  local ok, e = pcall(adapter.define, t)
  assert.is_false(ok)
  return (e:gsub("^.-:%d+: ", ""))
end

describe("adapter.define", function()
  it("fills the defaults", function()
    local a = adapter.define(base())
    local m = a.markets[1]
    assert.are.equal(200, m.max_streams)
    assert.are.equal(5, m.max_sends_per_sec)
    assert.are.equal(0, m.ping_interval)
    assert.are.equal(60, m.idle_timeout)
    assert.are.equal(500, m.rest_max_rows)
    assert.are.equal(0, m.max_connection_age)
    assert.are.same({}, m.aliases)
    assert.are.equal("1min", m.intervals["1m"])
  end)

  it("names the field that is wrong", function()
    local t = base(); t.markets[1].ws_url = "http://x"
    assert.are.equal("adapter 'x': markets[1].ws_url must be a ws:// or wss:// URL string", err_of(t))
    t = base(); t.markets[2] = { name = "perp", ws_url = "wss://y", max_streams = 0 }
    assert.are.equal("adapter 'x': markets[2].max_streams must be a number in [1, 100000]", err_of(t))
    t = base(); t.markets[1].max_connection_age = -5
    assert.are.equal("adapter 'x': markets[1].max_connection_age must be a number in [0, 604800]", err_of(t))
    t = base(); t.markets[1].aliases = { "a", "b", "c", "d", "e" }
    assert.are.equal("adapter 'x': markets[1].aliases: at most 4", err_of(t))
    t = base(); t.markets[1].confirm_inferred = "yes"
    assert.are.equal("adapter 'x': markets[1].confirm_inferred must be a boolean", err_of(t))
    t = base(); t.intervals = { ["1min"] = "1" }
    assert.are.equal("adapter 'x': adapter.intervals: '1min' is not a canonical interval", err_of(t))
    t = base(); t.parse = nil
    assert.are.equal("adapter 'x': parse must be a function", err_of(t))
    t = base(); t.ping = "ping"
    assert.are.equal("adapter 'x': ping must be a function", err_of(t))
    t = base(); t.market_of = "spot"
    assert.are.equal("adapter 'x': market_of must be a function", err_of(t))
    t = base(); t.rest = { request = function() end }
    assert.are.equal("adapter 'x': rest must be a table with request and parse functions", err_of(t))
    t = base(); t.markets[2] = { name = "spot", ws_url = "wss://y" }
    assert.are.equal("adapter 'x': markets[2]: market 'spot' defined twice", err_of(t))
    t = base(); t.markets = {}
    assert.are.equal("adapter 'x': markets must be a non-empty array", err_of(t))
  end)

  it("checks the REST budget fields", function()
    local m = adapter.define(base()).markets[1]
    assert.are.equal(0, m.rest_weight_per_minute)
    assert.are.equal(0, m.rest_weight_burst)
    assert.is_nil(m.rest_weight)
    local t = base(); t.markets[1].rest_weight = { { 99, 1 }, { 1500, 10 } }; t.markets[1].rest_weight_per_minute = 2400
    assert.are.equal(2400, adapter.define(t).markets[1].rest_weight_per_minute)
    t = base(); t.markets[1].rest_weight_per_minute = -1
    assert.are.equal("adapter 'x': markets[1].rest_weight_per_minute must be a number in [0, 10000000]", err_of(t))
    t = base(); t.markets[1].rest_weight = { { 100, 1 }, { 100, 2 } }
    assert.are.equal("adapter 'x': markets[1].rest_weight[2] must be {max_limit, weight} (max_limit growing, in [1, 10000]; weight > 0)",
      err_of(t))
    t = base(); t.markets[1].rest_weight = { { 1.5, 1 } }
    assert.are.equal("adapter 'x': markets[1].rest_weight[1] must be {max_limit, weight} (max_limit growing, in [1, 10000]; weight > 0)",
      err_of(t))
    t = base(); t.markets[1].rest_weight = 0
    assert.are.equal("adapter 'x': markets[1].rest_weight must be a number > 0 or an array of {max_limit, weight}", err_of(t))
    t = base(); t.markets[1].rest_max_rows = 10001
    assert.are.equal("adapter 'x': markets[1].rest_max_rows must be a number in [1, 10000]", err_of(t))
  end)

  it("recognises decimal text", function()
    for _, s in ipairs({ "0", "0.35270000", "-1.5", "1e-8", "25877" }) do assert.is_true(adapter.is_decimal(s)) end
    for _, s in ipairs({ "", ".5", "5.", "01", "1e", "abc", "1,5" }) do assert.is_false(adapter.is_decimal(s)) end
  end)
end)

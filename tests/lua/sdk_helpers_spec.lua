-- candled.adapter's helpers and candled.contract, the C tables the SDK's rules come from.
local adapter = require("candled.adapter")
local contract = require("candled.contract")

describe("adapter helpers", function()
  it("counts request ids per session", function()
    local a, b = {}, { next_id = 41 }
    assert.are.equal(1, adapter.next_id(a))
    assert.are.equal(2, adapter.next_id(a))
    assert.are.equal(42, adapter.next_id(b))
    assert.are.equal(2, a.next_id)
  end)

  it("splits n streams into batches", function()
    local function all(n, size)
      local t = {}
      for first, last in adapter.batches(n, size) do t[#t + 1] = first .. "-" .. last end
      return table.concat(t, " ")
    end
    assert.are.equal("1-10 11-20 21-25", all(25, 10))
    assert.are.equal("1-10", all(10, 10))
    assert.are.equal("1-1", all(1, 200))
    assert.are.equal("", all(0, 10))
  end)

  it("gives period lengths from the core's interval table", function()
    assert.are.equal(1000, adapter.period_ms("1s"))
    assert.are.equal(604800000, adapter.period_ms("1w"))
    assert.is_nil(adapter.period_ms("1M"))
    assert.is_nil(adapter.period_ms("1min"))
    assert.are.same({ ["60"] = 3600000, D = 86400000 }, adapter.periods({ ["1h"] = "60", ["1d"] = "D", ["1M"] = "M" }))
    assert.are.same({ ["1m"] = "1m", ["1h"] = "1h" }, adapter.same_intervals({ "1m", "1h" }))
  end)

  it("reads the time from the core's clock, in seconds", function()
    local before = os.time()
    local now = adapter.now()
    assert.are.equal("integer", math.type(now))
    assert.is_true(now >= before and now <= os.time())
  end)
end)

describe("candled.contract", function()
  it("holds the canonical intervals in the core's order", function()
    local names = {}
    for i, iv in ipairs(contract.intervals) do names[i] = iv.name end
    assert.are.equal("1s 10s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 2d 3d 5d 1w 1M 3M", table.concat(names, " "))
    for _, iv in ipairs(contract.intervals) do assert.is_true(adapter.canonical_intervals[iv.name]) end
  end)

  it("is read-only", function()
    assert.has_error(function() contract.limits.markets = 1 end, "candled.contract is read-only")
    assert.has_error(function() contract.market[1].field = "x" end, "candled.contract is read-only")
    assert.are.equal("name", contract.market[1].field)
  end)

  it("checks decimals as the core does", function()
    assert.is_false(adapter.is_decimal("1+5")) -- the old Lua pattern let this through
    assert.is_false(adapter.is_decimal(string.rep("1", 48)))
    assert.is_true(adapter.is_decimal(string.rep("1", 47)))
  end)

  it("makes define apply the same rules as the C host", function()
    local function err_of(m)
      local ok, e = pcall(adapter.define, { name = "x", intervals = { ["1m"] = "1" }, markets = m,
                                            subscribe = function() end, parse = function() end })
      assert.is_false(ok)
      return (e:gsub("^.-:%d+: ", ""))
    end
    assert.are.equal("adapter 'x': markets[1].idle_timeout must be a number in [1, 86400]",
      err_of({ { name = "spot", ws_url = "wss://x", idle_timeout = 0 / 0 } }))
    assert.are.equal("adapter 'x': markets[1].aliases[1] must be a lower-case identifier",
      err_of({ { name = "spot", ws_url = "wss://x", aliases = { "Cash" } } }))
    assert.are.equal("adapter 'x': markets[1].rest_url must be an http(s):// URL string",
      err_of({ { name = "spot", ws_url = "wss://x", rest_url = "ftp://x" } }))
    local many = {}
    for i = 1, 17 do many[i] = { name = "m" .. i, ws_url = "wss://x" } end
    assert.are.equal("adapter 'x': markets: at most 16", err_of(many))
  end)
end)

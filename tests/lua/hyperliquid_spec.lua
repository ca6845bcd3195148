-- adapters/hyperliquid.lua on tests/fixtures/hyperliquid (sources in tests/fixtures/README.md): the
-- REST pages are REAL-looking hummingbot mocks (perp BTC, spot @1) and a SYNTHETIC HIP-3 page;
-- the WS push is SEMI-SYNTHETIC (hummingbot); ws_frames.synthetic.jsonl is SYNTHETIC, built from
-- the shapes the docs, the official SDK and ccxt give (greeting, acks, both payload shapes,
-- numbers, pong, the recorded "Already subscribed" error text).
local json = require("candled.json")
local hl = dofile("adapters/hyperliquid.lua")

local function read(path)
  local f = assert(io.open(path))
  local s = f:read("a")
  f:close()
  return s
end

local function lines(path)
  local t = {}
  for l in io.lines(path) do t[#t + 1] = l end
  return t
end

local FIX = "tests/fixtures/hyperliquid/"
local WS = lines(FIX .. "ws_frames.synthetic.jsonl")
local perp = { exchange = "hyperliquid", market = "perp" }
local spot = { exchange = "hyperliquid", market = "spot" }

local function copy(t) local c = {} for k, v in pairs(t) do c[k] = v end return c end

-- The candle fields parse reports, as one comparable table.
local function fields(c)
  return { c.symbol, c.interval, c.open_time, c.close_time, c.open, c.high, c.low, c.close, c.volume, c.trades,
           c.closed, c.quote_volume }
end

describe("hyperliquid markets", function()
  it("has perp (perps, swap) and spot on the same endpoints with Hyperliquid's limits", function()
    local m = hl.markets
    assert.are.equal("perp", m[1].name)
    assert.are.same({ "perps", "swap" }, m[1].aliases)
    assert.are.equal("spot", m[2].name)
    for _, mk in ipairs(m) do
      assert.are.equal("wss://api.hyperliquid.xyz/ws", mk.ws_url)
      assert.are.equal("https://api.hyperliquid.xyz", mk.rest_url)
      assert.are.equal(1000, mk.max_streams)            -- 1000 subscriptions per IP
      assert.is_true(mk.max_sends_per_sec * 60 < 2000)  -- 2000 messages per minute per IP
      assert.is_true(mk.ping_interval > 0 and mk.ping_interval < 60) -- the server's 60 s rule
      assert.is_true(mk.idle_timeout > mk.ping_interval) -- a pong comes back every ping_interval
      assert.are.equal(500, mk.rest_max_rows)           -- the info endpoint's 500 per time range
      assert.are.equal(1200, mk.rest_weight_per_minute) -- REST weight per IP per minute
      -- candleSnapshot: 20, plus 1 per started 60 candles returned
      assert.are.same({ 60, 21 }, mk.rest_weight[1])
      assert.are.same({ 480, 28 }, mk.rest_weight[8])
      assert.are.same({ 500, 29 }, mk.rest_weight[#mk.rest_weight])
    end
  end)

  it("maps Hyperliquid's fourteen intervals to themselves and nothing else", function()
    local want = { "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "8h", "12h", "1d", "3d", "1w", "1M" }
    for _, mk in ipairs(hl.markets) do
      local n = 0
      for k, v in pairs(mk.intervals) do n = n + 1 assert.are.equal(k, v) end
      assert.are.equal(#want, n)
      for _, iv in ipairs(want) do assert.are.equal(iv, mk.intervals[iv]) end
      for _, iv in ipairs({ "1s", "10s", "6h", "2d", "3M" }) do assert.is_nil(mk.intervals[iv]) end
    end
  end)

  it("keeps symbols exactly as written and refuses the other market's names", function()
    assert.are.equal("BTC", hl.symbol("perp", "BTC"))
    assert.are.equal("kPEPE", hl.symbol("perp", "kPEPE")) -- case matters: never upper-cased
    assert.are.equal("xyz:XYZ100", hl.symbol("perp", "xyz:XYZ100"))
    assert.are.equal("@107", hl.symbol("spot", "@107"))
    assert.are.equal("PURR/USDC", hl.symbol("spot", "PURR/USDC"))
    local function why(market, s) local r, reason = hl.symbol(market, s) assert.is_nil(r) return reason end
    assert.are.equal("perp coins are names like BTC or kPEPE, or dex:COIN for HIP-3 dexes", why("perp", "@107"))
    assert.are.equal("perp coins are names like BTC or kPEPE, or dex:COIN for HIP-3 dexes", why("perp", 'BTC"'))
    assert.are.equal("spot pairs are '@<index>' (spotMeta universe, e.g. @107) or PURR/USDC", why("spot", "BTC"))
    assert.are.equal("spot pairs are '@<index>' (spotMeta universe, e.g. @107) or PURR/USDC", why("spot", "HYPE/USDC"))
    assert.are.equal("spot pairs are '@<index>' (spotMeta universe, e.g. @107) or PURR/USDC", why("spot", "@0107"))
    assert.are.equal("spot pairs are '@<index>' (spotMeta universe, e.g. @107) or PURR/USDC", why("spot", "@"))
    assert.are.equal("the spot pair @0 is called PURR/USDC", why("spot", "@0"))
    assert.are.equal("@1", hl.symbol("spot", "@1"))
    assert.are.equal("symbol must be 1 to 40 characters", why("perp", ""))
    assert.are.equal("symbol must be 1 to 40 characters", why("perp", string.rep("A", 41)))
  end)
end)

describe("hyperliquid subscribe and ping", function()
  it("sends one subscribe or unsubscribe per stream, the coin as the exchange names it", function()
    local s = copy(spot)
    assert.are.same({
      '{"method":"subscribe","subscription":{"type":"candle","coin":"@107","interval":"1m"}}',
      '{"method":"subscribe","subscription":{"type":"candle","coin":"PURR/USDC","interval":"1m"}}',
    }, hl.subscribe(s, { { symbol = "@107", interval = "1m" }, { symbol = "PURR/USDC", interval = "1m" } }))
    assert.are.same({ '{"method":"unsubscribe","subscription":{"type":"candle","coin":"xyz:XYZ100","interval":"1M"}}' },
      hl.unsubscribe(copy(perp), { { symbol = "xyz:XYZ100", interval = "1M" } }))
    for _, f in ipairs(hl.subscribe(s, { { symbol = "@1", interval = "4h" } })) do assert.is_truthy(json.decode(f)) end
  end)

  it("pings with {\"method\":\"ping\"}", function()
    assert.are.equal('{"method":"ping"}', hl.ping(copy(perp)))
  end)
end)

describe("hyperliquid parse", function()
  local s = copy(perp)

  it("maps the object payload field by field, decimal text kept, no closed flag", function()
    local r = hl.parse(s, WS[3])
    assert.are.equal(1, #r)
    assert.are.same({ "BTC", "1m", 1710146280000, 1710146339999, "71400.0", "71422.0", "71389.0", "71411.0", "1.20407", 20 },
      fields(r[1]))
    assert.is_nil(r[1].closed)
  end)

  it("reads the documented Candle[] array and prices sent as JSON numbers, exactly", function()
    local r = hl.parse(s, WS[4])
    assert.are.same({ "BTC", "1m", 1710146280000, 1710146339999, "71400.0", "71422.0", "71389.0", "71415.0", "1.30407", 21 },
      fields(r[1]))
    r = hl.parse(s, WS[5])
    assert.are.same({ "BTC", "1m", 1710146280000, 1710146339999, "71400.0", "71422.0", "71389.0", "71416.0", "1.40407", 22 },
      fields(r[1]))
    r = hl.parse(s, '{"channel":"candle","data":{"t":1,"T":2,"s":"BTC","i":"1m","o":71400,"c":"1","h":"1","l":"1","v":"0"}}')
    assert.are.equal(71400, r[1].open) -- an integer token: the core writes its digits
    assert.is_nil(r[1].trades)
  end)

  it("reads every element of an array payload, up to one more than the core takes", function()
    local one = '{"t":%d,"T":%d,"s":"@1","i":"1h","o":"7.8095","c":"7.765","h":"7.8819","l":"7.7403","v":"1746.14","n":%d}'
    local items = {}
    for k = 1, 12 do items[k] = string.format(one, k * 3600000, k * 3600000 + 3599999, k) end
    local r = hl.parse(copy(spot), '{"channel":"candle","data":[' .. table.concat(items, ",") .. ']}')
    assert.are.equal(12, #r)
    assert.are.equal(12 * 3600000, r[12].open_time)
    assert.are.equal(12, r[12].trades)
    assert.are.equal("7.8095", r[7].open)
    for k = 13, 100 do items[k] = string.format(one, k * 3600000, k * 3600000 + 3599999, k) end
    r = hl.parse(copy(spot), '{"channel":"candle","data":[' .. table.concat(items, ",") .. ']}')
    assert.are.equal(65, #r) -- the core refuses the 65th as too_many_candles
    assert.are.same({}, hl.parse(s, '{"channel":"candle","data":[]}'))
  end)

  it("reads the hummingbot push (semi-synthetic: i says 1h)", function()
    local r = hl.parse(s, json.encode(json.decode(read(FIX .. "perp_ws_candle_BTC.hb.semisynthetic.json"))))
    assert.are.same({ "BTC", "1h", 1718914860000, 1718914919999, "65162.0", "65162.0", "65156.0", "65156.0", "0.00296", 2 },
      fields(r[1]))
  end)

  it("answers control frames with events", function()
    assert.are.same({}, hl.parse(s, WS[1])) -- the greeting: nothing to do
    assert.are.same({ event = "ack" }, hl.parse(s, WS[2]))
    assert.are.same({ event = "pong" }, hl.parse(s, WS[6]))
    assert.are.same({ event = "error", message = 'Already subscribed: {"type":"candle","interval":"1m","coin":"BTC"}' },
      hl.parse(s, WS[7]))
    assert.are.same({ event = "ack" }, hl.parse(s, WS[8]))
    assert.are.same({ event = "error", message = "Cannot subscribe to more than 1000 channels." },
      hl.parse(s, '{"channel":"error","data":"Cannot subscribe to more than 1000 channels."}'))
    assert.are.same({ event = "error", message = "error channel without text" }, hl.parse(s, '{"channel":"error"}'))
  end)

  it("rejects garbage, truncated frames, other channels and wrong field types", function()
    local function rej(f) local r, why = hl.parse(s, f) assert.is_nil(r) return why end
    assert.are.equal("bad_json", rej(WS[3]:sub(1, 60)))
    assert.are.equal("bad_json", rej("Websocket connection established"))
    assert.are.equal("bad_json", rej(WS[3] .. "}"))
    assert.are.equal("unknown_frame", rej('{"e":"kline","E":null,"k":[1,2,3]}'))
    assert.are.equal("unknown_frame", rej("[1,2]"))
    assert.are.equal("unknown_channel", rej('{"channel":"trades","data":[]}'))
    assert.are.equal("bad_field", rej('{"channel":"subscriptionResponse","data":{}}'))
    assert.are.equal("bad_field", rej((WS[3]:gsub('"o":"71400.0"', '"o":true'))))
    assert.are.equal("bad_json", rej((WS[3]:gsub('"o":"71400.0"', '"o":1.5e'))))
    assert.are.equal("bad_field", rej((WS[3]:gsub('"s":"BTC"', '"s":null'))))
    assert.are.equal("bad_field", rej((WS[3]:gsub('"t":1710146280000', '"t":"1710146280000"'))))
    assert.are.equal("bad_field", rej((WS[3]:gsub('"T":1710146339999', '"T":1710146339999.5'))))
    assert.are.equal("bad_field", rej((WS[3]:gsub('"n":20', '"n":"20"'))))
    assert.are.equal("bad_field", rej((WS[4]:gsub('"v":"1.30407"', '"v":[1]'))))
    assert.are.equal("bad_field", rej((WS[3]:gsub('"c":"71411.0"', '"c":{"px":1}'))))
    assert.are.equal("bad_field", rej('{"channel":"candle","data":"x"}'))
    assert.are.equal("bad_field", rej('{"channel":"candle","data":[{"t":1}]}'))
  end)
end)

describe("hyperliquid REST candleSnapshot", function()
  local q = { symbol = "BTC", interval = "1h", start_ms = 1718895600000, end_ms = 1718913599999, limit = 500,
              base_url = "http://127.0.0.1:9001" }

  it("POSTs a JSON body to /info", function()
    assert.are.same({ url = "http://127.0.0.1:9001/info", method = "POST", headers = { "Content-Type: application/json" },
      body = '{"type":"candleSnapshot","req":{"coin":"BTC","interval":"1h","startTime":1718895600000,"endTime":1718913599999}}' },
      hl.rest.request("perp", q))
  end)

  it("bounds the window to `limit` periods (the API has no limit parameter)", function()
    local w = copy(q)
    w.interval, w.start_ms, w.end_ms, w.limit = "1m", 1718895600000, 1718999999999, 500
    local body = json.decode(hl.rest.request("perp", w).body)
    assert.are.equal(1718895600000 + 500 * 60000 - 1, body.req.endTime)
    w.interval, w.limit, w.end_ms = "1M", 2, 1800000000000 -- months: 28 days each at most, so never more than the limit
    assert.are.equal(1718895600000 + 2 * 28 * 86400000 - 1, json.decode(hl.rest.request("perp", w).body).req.endTime)
    w.interval, w.limit, w.end_ms = "1d", 500, 1718895600000 + 86400000 - 1 -- a short gap keeps its end
    assert.are.equal(1718895600000 + 86400000 - 1, json.decode(hl.rest.request("perp", w).body).req.endTime)
  end)

  it("parses a perp page oldest first, decimal text exact, closed left to the core", function()
    local rows = hl.rest.parse("perp", q, read(FIX .. "perp_rest_candleSnapshot_BTC_1h.hb.json"))
    assert.are.equal(5, #rows)
    assert.are.same({ "BTC", "1h", 1718895600000, 1718899199999, "64942.0", "65123.0", "64812.0", "64837.0", "190.58479", 1789 },
      fields(rows[1]))
    assert.are.equal(1718910000000, rows[5].open_time)
    for k = 2, 5 do assert.is_true(rows[k].open_time > rows[k - 1].open_time) end
    for _, r in ipairs(rows) do assert.is_nil(r.closed) end
  end)

  it("parses a spot @1 page and a HIP-3 page", function()
    local rows = hl.rest.parse("spot", q, read(FIX .. "spot_rest_candleSnapshot_at1_1h.hb.json"))
    assert.are.same({ "@1", "1h", 1718906400000, 1718909999999, "7.747", "7.7646", "7.5655", "7.5872", "3312.84", 975 },
      fields(rows[4]))
    rows = hl.rest.parse("perp", q, read(FIX .. "perp_hip3_rest_candleSnapshot.hb.synthetic.json"))
    assert.are.equal(5, #rows)
    assert.are.equal("xyz:XYZ100", rows[1].symbol)
    assert.are.equal("1000.0", rows[1].volume)
  end)

  it("keeps the exact text of decimals sent as numbers", function()
    local rows = hl.rest.parse("perp", q,
      '[{"T":3599999,"c":"1.0","h":"2.0","i":"1h","l":"0.5","n":3,"o":"1.0","s":"BTC","t":0,"v":"9.0"},'
      .. '{"T":7199999,"c":1.10,"h":2.50,"i":"1h","l":0.50,"n":4,"o":1.00,"s":"BTC","t":3600000,"v":12}]')
    assert.are.same({ "BTC", "1h", 3600000, 7199999, "1.00", "2.50", "0.50", "1.10", 12, 4 }, fields(rows[2]))
    assert.are.equal("9.0", rows[1].volume)
  end)

  it("reads an empty page and refuses error bodies and malformed rows", function()
    assert.are.same({}, hl.rest.parse("perp", q, "[]"))
    local function rej(body) local r, why = hl.rest.parse("perp", q, body) assert.is_nil(r) return why end
    assert.are.equal("bad_json", rej("Failed to deserialize the JSON body into the target type"))
    assert.are.equal("bad_json", rej('[{"t":1'))
    assert.are.equal("exchange_error", rej('{"error":"rate limited"}'))
    assert.are.equal("exchange_error", rej("null"))
    assert.are.equal("bad_row", rej("[1]"))
    assert.are.equal("bad_row", rej('[{"t":0,"T":1,"s":"BTC","i":"1h","o":"1","c":"1","h":"1","l":"1"}]')) -- no v
    assert.are.equal("bad_row", rej('[{"t":0.5,"T":1,"s":"BTC","i":"1h","o":"1","c":"1","h":"1","l":"1","v":"1"}]'))
    assert.are.equal("bad_row", rej('[{"t":0,"T":1,"s":"BTC","i":"1h","o":"1","c":"1","h":"1","l":"1","v":"1","n":1.5}]'))
  end)
end)

-- adapters/binance.lua on recorded frames (tests/fixtures/binance, sources in tests/fixtures/README.md):
-- spot/usdm/coinm combined streams are REAL recordings (cryptofeed); the raw spot frame and the
-- REST pages are REAL-looking mocks (hummingbot, nautilus); usdm_ws_kline_closed is a DOC SAMPLE.
local json = require("candled.json")
local binance = dofile("adapters/binance.lua")

local fx = dofile("tests/lua/fixtures.lua")
local lines, read = fx.lines, fx.read

local function compact(path) -- a pretty-printed JSON fixture as one frame
  return json.encode(json.decode(read(path)))
end

local FIX = "tests/fixtures/binance/"
local spot = { exchange = "binance", market = "spot" }
local usdm = { exchange = "binance", market = "usdm" }
local coinm = { exchange = "binance", market = "coinm" }

local function copy(t) local c = {} for k, v in pairs(t) do c[k] = v end return c end

describe("binance markets", function()
  it("has spot, usdm and coinm with their endpoints and limits", function()
    local m = binance.markets
    assert.are.equal("spot", m[1].name)
    assert.are.equal("wss://stream.binance.com:9443/ws", m[1].ws_url)
    assert.are.equal("https://api.binance.com", m[1].rest_url)
    assert.are.equal("usdm", m[2].name)
    assert.are.same({ "futures", "linear" }, m[2].aliases)
    assert.are.equal("wss://fstream.binance.com/market/ws", m[2].ws_url) -- the 2026 /market route
    assert.are.equal("coinm", m[3].name)
    assert.are.same({ "delivery", "inverse" }, m[3].aliases)
    assert.are.equal("wss://dstream.binance.com/ws", m[3].ws_url)
    for _, mk in ipairs(m) do assert.are.equal(1024, mk.max_streams) end
    for _, mk in ipairs(m) do assert.are.equal(24 * 3600, mk.max_connection_age) end -- cut at 24 h
    assert.are.equal(1000, m[1].rest_max_rows)
    assert.are.equal(1500, m[2].rest_max_rows)
    -- REST budgets: spot klines weight 2 of 6000 a minute; fapi/dapi by limit of 2400
    assert.are.equal(6000, m[1].rest_weight_per_minute)
    assert.are.equal(2, m[1].rest_weight)
    for k = 2, 3 do
      assert.are.equal(2400, m[k].rest_weight_per_minute)
      assert.are.same({ { 99, 1 }, { 499, 2 }, { 1000, 5 }, { 1500, 10 } }, m[k].rest_weight)
    end
    assert.is_true(m[1].max_sends_per_sec < 5) -- under Binance's 5 incoming messages/s on spot
  end)

  it("maps every Binance interval, 1s on spot only", function()
    local all = { "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M" }
    for _, mk in ipairs(binance.markets) do
      for _, iv in ipairs(all) do assert.are.equal(iv, mk.intervals[iv]) end
      assert.is_nil(mk.intervals["10s"])
      assert.is_nil(mk.intervals["2d"])
    end
    assert.are.equal("1s", binance.markets[1].intervals["1s"])
    assert.is_nil(binance.markets[2].intervals["1s"])
    assert.is_nil(binance.markets[3].intervals["1s"])
  end)

  it("normalises and checks symbols", function()
    assert.are.equal("BTCUSDT", binance.symbol("spot", "btcusdt"))
    assert.are.equal("BTCUSD_PERP", binance.symbol("coinm", "BTCUSD_PERP"))
    local s, why = binance.symbol("spot", "BTC/USDT")
    assert.is_nil(s)
    assert.are.equal("symbol must match [A-Z0-9_]+", why)
  end)
end)

describe("binance subscribe", function()
  it("builds SUBSCRIBE/UNSUBSCRIBE frames with lower-case stream names and rising ids", function()
    local session = copy(spot)
    local frames = binance.subscribe(session, { { symbol = "BTCUSDT", interval = "1m" }, { symbol = "ETHUSDT", interval = "1s" } })
    assert.are.same({ '{"method":"SUBSCRIBE","params":["btcusdt@kline_1m","ethusdt@kline_1s"],"id":1}' }, frames)
    frames = binance.unsubscribe(session, { { symbol = "ETHUSDT", interval = "1s" } })
    assert.are.same({ '{"method":"UNSUBSCRIBE","params":["ethusdt@kline_1s"],"id":2}' }, frames)
  end)

  it("splits large subscriptions into frames of 200 streams", function()
    local streams = {}
    for i = 1, 450 do streams[i] = { symbol = "S" .. i, interval = "1m" } end
    local frames = binance.subscribe(copy(spot), streams)
    assert.are.equal(3, #frames)
    local counts = {}
    for i, f in ipairs(frames) do
      counts[i] = select(2, f:gsub("@kline_1m", ""))
      assert.is_truthy(json.decode(f)) -- valid JSON
    end
    assert.are.same({ 200, 200, 50 }, counts)
    assert.are.equal(3, json.decode(frames[3]).id)
  end)
end)

describe("binance parse on real frames", function()
  it("maps the spot combined frame field by field, keeping decimal text", function()
    local c = binance.parse(copy(spot), lines(FIX .. "spot_ws_combined_kline_1m.jsonl")[1])[1]
    assert.are.equal("NKNUSDT", c.symbol)
    assert.are.equal("1m", c.interval)
    assert.are.equal(1633998480000, c.open_time)
    assert.are.equal(1633998539999, c.close_time)
    assert.are.equal("0.35270000", c.open)
    assert.are.equal("0.35280000", c.high)
    assert.are.equal("0.35220000", c.low)
    assert.are.equal("0.35280000", c.close)
    assert.are.equal("25877.00000000", c.volume)
    assert.are.equal("9116.04600000", c.quote_volume)
    assert.are.equal(30, c.trades)
    assert.is_false(c.closed)
  end)

  it("finds exactly the four closes of the usdm recording", function()
    local closes = {}
    for _, f in ipairs(lines(FIX .. "usdm_ws_combined_kline_1m.jsonl")) do
      local r = binance.parse(copy(usdm), f)
      assert.are.equal(1, #r)
      if r[1].closed then closes[#closes + 1] = r[1].symbol .. " " .. r[1].open .. " " .. r[1].close .. " " .. r[1].volume end
    end
    assert.are.same({ "SUSHIUSDT 7.6080 7.6170 3005", "CTKUSDT 1.01000 1.01200 11074",
                      "AKROUSDT 0.01731 0.01733 235736", "KEEPUSDT 0.2463 0.2466 8464" }, closes)
  end)

  it("uses the base-asset volume on coinm (k.q) and no quote volume", function()
    local c = binance.parse(copy(coinm), lines(FIX .. "coinm_ws_combined_kline_1m.jsonl")[1])[1]
    assert.are.equal("ETHUSD_210924", c.symbol)
    assert.are.equal("1992.70", c.open)
    assert.are.equal("9.49653573", c.volume) -- k.v = 1893 contracts
    assert.is_nil(c.quote_volume)
  end)

  it("reads combined frames laid out differently (whitespace, key order)", function()
    local frame = lines(FIX .. "spot_ws_combined_kline_1m.jsonl")[1]
    local data = frame:match('^{"stream":"[^"]+",("data":.*)}$')
    local c = binance.parse(copy(spot), ' {' .. data .. ',"stream":"nknusdt@kline_1m"}')[1]
    assert.are.equal("0.35270000", c.open)
    assert.are.equal(1633998480000, c.open_time)
  end)

  it("reads raw /ws frames too", function()
    local c = binance.parse(copy(spot), compact(FIX .. "spot_ws_kline_raw_btcusdt_1m.hb.json"))[1]
    assert.are.equal("BTCUSDT", c.symbol)
    assert.are.equal(1718667720000, c.open_time)
    assert.are.equal("66477.91000000", c.open)
    assert.are.equal("10.75371000", c.volume)
    assert.are.equal(246, c.trades)
    c = binance.parse(copy(usdm), compact(FIX .. "usdm_ws_kline_closed.docsample.json"))[1]
    assert.is_true(c.closed)
    assert.are.equal("0.0010", c.open)
  end)
end)

describe("binance control and bad frames", function()
  local s = copy(spot)
  it("acks subscriptions and LIST_SUBSCRIPTIONS answers", function()
    assert.are.same({ event = "ack" }, binance.parse(s, '{"result":null,"id":1}'))
    assert.are.same({ event = "ack" }, binance.parse(s, '{"result":["btcusdt@kline_1m"],"id":3}'))
  end)
  it("reports exchange errors", function()
    assert.are.same({ event = "error", message = "Invalid request (code 2)" },
      binance.parse(s, '{"error":{"code":2,"msg":"Invalid request"},"id":4}'))
    assert.are.same({ event = "error", message = "Too many requests (code -1003)" },
      binance.parse(s, '{"code":-1003,"msg":"Too many requests"}'))
  end)
  it("reconnects on serverShutdown, raw or combined", function()
    assert.are.equal("reconnect", binance.parse(s, '{"e":"serverShutdown","E":1}').event)
    assert.are.equal("reconnect", binance.parse(s, '{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1}}').event)
  end)
  it("keeps a price sent as a JSON number as its exact token text", function()
    local frame = lines(FIX .. "spot_ws_combined_kline_1m.jsonl")[1]
    assert.are.equal("0.3527000", binance.parse(s, (frame:gsub('"o":"0.35270000"', '"o":0.3527000')))[1].open)
  end)
  it("rejects garbage, truncated frames, unknown events and wrong field types", function()
    local frame = lines(FIX .. "spot_ws_combined_kline_1m.jsonl")[1]
    local function rej(f) local r, why = binance.parse(s, f) assert.is_nil(r) return why end
    assert.are.equal("bad_json", rej(frame:sub(1, 100)))
    assert.are.equal("bad_json", rej("not json"))
    assert.are.equal("unknown_event", rej('{"e":"trade","E":1}'))
    assert.are.equal("unknown_frame", rej('{"hello":1}'))
    assert.are.equal("unknown_frame", rej("[1,2]"))
    assert.are.equal("bad_field", rej((frame:gsub('"o":"0.35270000"', '"o":true'))))
    assert.are.equal("bad_field", rej((frame:gsub('"s":"NKNUSDT","i"', '"s":null,"i"'))))
    assert.are.equal("bad_field", rej((frame:gsub('"x":false', '"x":"no"'))))
    assert.are.equal("bad_field", rej((frame:gsub('"t":1633998480000', '"t":"1633998480000"'))))
  end)
end)

describe("binance REST", function()
  local q = { symbol = "BTCUSDT", interval = "1m", start_ms = 1634943780000, end_ms = 1634944379999, limit = 1000,
              base_url = "http://127.0.0.1:9001" }
  it("builds the klines request for each market", function()
    assert.are.same({ method = "GET", url = "http://127.0.0.1:9001/api/v3/klines?symbol=BTCUSDT&interval=1m"
      .. "&startTime=1634943780000&endTime=1634944379999&limit=1000" }, binance.rest.request("spot", q))
    assert.is_truthy(binance.rest.request("usdm", q).url:find("/fapi/v1/klines?", 1, true))
    local coin = binance.rest.request("coinm", q).url
    assert.is_truthy(coin:find("/dapi/v1/klines?", 1, true))
    assert.is_truthy(coin:find("&startTime=1634943780000&endTime=1634944379999", 1, true)) -- both, always
  end)

  it("parses a spot page oldest first with exact text", function()
    local rows = binance.rest.parse("spot", q, read(FIX .. "spot_rest_klines_btcusdt_1m.json"))
    assert.are.equal(10, #rows)
    assert.are.same({ open_time = 1634943780000, close_time = 1634943839999, open = "60685.22000000",
                      high = "60729.84000000", low = "60670.90000000", close = "60719.27000000",
                      volume = "21.63272000", quote_volume = "1313200.01340410", trades = 617 }, rows[1])
    assert.are.equal(1634944320000, rows[10].open_time)
    assert.is_nil(rows[10].closed) -- the core decides by time
  end)

  it("parses a usdm page", function()
    local rows = binance.rest.parse("usdm", q, read(FIX .. "usdm_rest_klines_btcusdt_1h.hb.json"))
    assert.are.equal(4, #rows)
    assert.are.equal("66661.40", rows[1].open)
    assert.are.equal("14150.996", rows[1].volume)
    assert.are.equal(155369, rows[1].trades)
  end)

  it("uses the base volume column on coinm", function()
    local rows = binance.rest.parse("coinm", q,
      '[[1591258320000,"9640.7","9642.4","9640.6","9642.0","206",1591258379999,"2.13660389",48,"119","1.23424865","0"]]')
    assert.are.equal("2.13660389", rows[1].volume)
    assert.is_nil(rows[1].quote_volume)
  end)

  it("rejects error bodies and malformed pages", function()
    local function rej(body) local r, why = binance.rest.parse("spot", q, body) assert.is_nil(r) return why end
    assert.are.equal("exchange_error", rej('{"code":-1121,"msg":"Invalid symbol."}'))
    assert.are.equal("bad_json", rej("<html>502</html>"))
    assert.are.equal("bad_row", rej('[[1,"1"]]'))
    assert.are.equal("bad_row", rej('[7]')) -- a row that is not an array: refused, not raised (found by fuzzing)
    assert.are.equal("bad_row", rej('["x"]'))
  end)
end)

-- adapters/okx.lua on the OKX fixtures (tests/fixtures/okx, sources in tests/fixtures/README.md):
-- the REST pages are REAL-looking mocks (hummingbot, nautilus); the candle pushes are
-- semi-synthetic (hummingbot) or a DOC SAMPLE; the control frames are DOC SAMPLES; the malformed
-- frames are SYNTHETIC.
local json = require("candled.json")
local okx = dofile("adapters/okx.lua")

local function lines(path)
  local t = {}
  for l in io.lines(path) do t[#t + 1] = l end
  return t
end

local function read(path)
  local f = assert(io.open(path))
  local s = f:read("a")
  f:close()
  return s
end

local function compact(path) -- a pretty-printed JSON fixture as one frame
  return json.encode(json.decode(read(path)))
end

local function copy(t) local c = {} for k, v in pairs(t) do c[k] = v end return c end

local FIX = "tests/fixtures/okx/"
local spot = { exchange = "okx", market = "spot" }
local swap = { exchange = "okx", market = "swap" }

describe("okx markets", function()
  it("has spot, swap and futures on the business endpoint", function()
    local names = {}
    for i, m in ipairs(okx.markets) do
      names[i] = m.name
      assert.are.equal("wss://ws.okx.com:8443/ws/v5/business", m.ws_url)
      assert.are.equal("https://www.okx.com", m.rest_url)
      assert.are.equal(20, m.ping_interval) -- under the 30 s after which OKX drops a silent client
      assert.is_true(m.idle_timeout > m.ping_interval)
      assert.are.equal(300, m.rest_max_rows)
      assert.are.equal(600, m.rest_weight_per_minute) -- history-candles: 20 requests / 2 s
      assert.are.equal(1, m.rest_weight)
    end
    assert.are.same({ "spot", "swap", "futures" }, names)
  end)

  it("maps canonical intervals to OKX bars, UTC for 6h and longer", function()
    local iv = okx.markets[1].intervals
    assert.are.equal("1s", iv["1s"])
    assert.are.equal("1m", iv["1m"])
    assert.are.equal("1H", iv["1h"])
    assert.are.equal("4H", iv["4h"])
    assert.are.equal("6Hutc", iv["6h"])
    assert.are.equal("12Hutc", iv["12h"])
    assert.are.equal("1Dutc", iv["1d"])
    assert.are.equal("1Wutc", iv["1w"])
    assert.are.equal("1Mutc", iv["1M"])
    assert.are.equal("3Mutc", iv["3M"])
    assert.is_nil(iv["8h"])
    assert.is_nil(iv["10s"])
    assert.is_nil(iv["5d"])
  end)

  it("infers the market from the instrument id", function()
    assert.are.equal("spot", okx.market_of("BTC-USDT"))
    assert.are.equal("spot", okx.market_of("btc-usdt"))
    assert.are.equal("swap", okx.market_of("BTC-USDT-SWAP"))
    assert.are.equal("swap", okx.market_of("BTC-USD-SWAP"))
    assert.are.equal("futures", okx.market_of("BTC-USD-250328"))
    assert.is_nil(okx.market_of("BTC-USD-250328-100000-C")) -- an option
    assert.is_nil(okx.market_of("BTCUSDT"))
    assert.is_nil(okx.market_of("BTC-USDT-SWAPX"))
  end)

  it("checks symbols against the market", function()
    assert.are.equal("BTC-USDT", okx.symbol("spot", "btc-usdt"))
    assert.are.equal("ETH-USDT-SWAP", okx.symbol("swap", "ETH-USDT-SWAP"))
    local s, why = okx.symbol("spot", "BTC-USDT-SWAP")
    assert.is_nil(s)
    assert.are.equal("BTC-USDT-SWAP is a swap instrument, not spot", why)
    s, why = okx.symbol("futures", "BTCUSDT")
    assert.is_nil(s)
    assert.are.equal("not an OKX instrument id (BTC-USDT, BTC-USDT-SWAP, BTC-USD-250328)", why)
  end)
end)

describe("okx subscribe", function()
  it("builds subscribe/unsubscribe op frames with rising ids", function()
    local session = copy(spot)
    local frames = okx.subscribe(session, { { symbol = "BTC-USDT", interval = "1m" }, { symbol = "ETH-USDT", interval = "1Dutc" } })
    assert.are.same({ '{"id":"1","op":"subscribe","args":[{"channel":"candle1m","instId":"BTC-USDT"},'
      .. '{"channel":"candle1Dutc","instId":"ETH-USDT"}]}' }, frames)
    frames = okx.unsubscribe(session, { { symbol = "ETH-USDT", interval = "1Dutc" } })
    assert.are.same({ '{"id":"2","op":"unsubscribe","args":[{"channel":"candle1Dutc","instId":"ETH-USDT"}]}' }, frames)
  end)

  it("splits large subscriptions into frames of 100 arguments, each well under 64 KB", function()
    local streams = {}
    for i = 1, 250 do streams[i] = { symbol = string.format("S%03d-USDT", i), interval = "1m" } end
    local frames = okx.subscribe(copy(spot), streams)
    assert.are.equal(3, #frames)
    local n = 0
    for _, f in ipairs(frames) do
      assert.is_true(#f < 65536)
      local d = json.decode(f)
      n = n + #d.args
    end
    assert.are.equal(250, n)
    assert.are.equal(50, #json.decode(frames[3]).args)
  end)

  it("keeps the connection alive with the text ping", function()
    assert.are.equal("ping", okx.ping(copy(spot)))
  end)
end)

describe("okx parse", function()
  it("reads an open candle (confirm 0): spot volume is vol, quote volume volCcyQuote", function()
    local r = okx.parse(copy(spot), compact(FIX .. "spot_ws_candle1H_confirm0.hb.json"))
    assert.are.equal(1, #r)
    local c = r[1]
    assert.are.equal("BTC-USDT", c.symbol)
    assert.are.equal("1H", c.interval)
    assert.are.equal(1705435200000, c.open_time)
    assert.are.equal(math.type(c.open_time), "integer")
    assert.are.same({ "43169.8", "43370", "43168", "43239" }, { c.open, c.high, c.low, c.close })
    assert.are.equal("297.60067612", c.volume)
    assert.are.equal("12874025.740848533", c.quote_volume)
    assert.is_false(c.closed)
  end)

  it("reads a closed candle (confirm 1)", function()
    local c = okx.parse(copy(spot), compact(FIX .. "spot_ws_candle1H_confirm1.hb.json"))[1]
    assert.are.equal(1705420800000, c.open_time)
    assert.are.equal("942.87870026", c.volume)
    assert.is_true(c.closed)
    c = okx.parse(copy(spot), compact(FIX .. "ws_candle1D.docsample.json"))[1]
    assert.are.equal("1D", c.interval)
    assert.are.equal("8548.26", c.close)
    assert.is_true(c.closed)
  end)

  it("uses the base-currency volume (volCcy) on contract markets", function()
    local frame = '{"arg":{"channel":"candle1m","instId":"BTC-USDT-SWAP"},"data":[["1747094040000","102806.1",'
      .. '"102820.4","102806.1","102820.4","1040.37","10.4037","1069603.34883","1"]]}'
    local c = okx.parse(copy(swap), frame)[1]
    assert.are.equal("10.4037", c.volume)
    assert.are.equal("1069603.34883", c.quote_volume)
    c = okx.parse({ market = "futures" }, frame)[1]
    assert.are.equal("10.4037", c.volume)
  end)

  it("reads the older 7-field rows: no closed flag, spot quote volume from volCcy", function()
    local frame = '{"arg":{"channel":"candle1m","instId":"BTC-USDT"},"data":[["1626690720000","31334","31334",'
      .. '"31334","31334","0.0077","241.2718"]]}'
    local c = okx.parse(copy(spot), frame)[1]
    assert.is_nil(c.closed)
    assert.are.equal("0.0077", c.volume)
    assert.are.equal("241.2718", c.quote_volume)
    c = okx.parse(copy(swap), frame:gsub("BTC%-USDT", "BTC-USDT-SWAP"))[1]
    assert.are.equal("241.2718", c.volume)
    assert.is_nil(c.quote_volume)
  end)

  it("reads a push with several rows, and with whitespace", function()
    local frame = '{ "arg" : {"channel":"candle1m","instId":"ETH-USDT"}, "data":[["60000","1","2","0.5","1.5","10","15",'
      .. '"15","1"],["120000","1.5","1.5","1.5","1.5","0","0","0","0"]]}'
    local r = okx.parse(copy(spot), frame)
    assert.are.equal(2, #r)
    assert.are.equal(60000, r[1].open_time)
    assert.is_true(r[1].closed)
    assert.are.equal(120000, r[2].open_time)
    assert.is_false(r[2].closed)
    assert.are.equal("ETH-USDT", r[2].symbol)
    assert.are.equal("1m", r[2].interval)
  end)

  it("turns control frames into events", function()
    local f = lines(FIX .. "ws_control.docsample.jsonl")
    assert.are.same({ event = "ack" }, okx.parse(copy(spot), f[1]))
    assert.are.same({ event = "ack" }, okx.parse(copy(spot), f[2]))
    local e = okx.parse(copy(spot), f[3])
    assert.are.equal("error", e.event)
    assert.is_truthy(e.message:find("(code 60012)", 1, true))
    assert.is_truthy(e.message:find("^Invalid request"))
    e = okx.parse(copy(spot), f[4])
    assert.are.same({ event = "reconnect",
      message = "The connection will soon be closed for a service upgrade. Please reconnect. (code 64008)" }, e)
    assert.are.same({ event = "pong" }, okx.parse(copy(spot), f[5]))
  end)

  it("rejects malformed and foreign frames with a reason", function()
    local want = { "bad_json", "bad_field", "bad_field", "bad_field", "unknown_channel", "unknown_event", "unknown_frame",
                   "bad_json" }
    local f = lines(FIX .. "ws_malformed.synthetic.jsonl")
    assert.are.equal(#want, #f)
    for i, frame in ipairs(f) do
      local r, why = okx.parse(copy(spot), frame)
      assert.is_nil(r, "frame " .. i)
      assert.are.equal(want[i], why, "frame " .. i)
    end
    local r, why = okx.parse(copy(spot), '{"arg":{"channel":"mark-price-candle1m","instId":"BTC-USDT"},"data":[]}')
    assert.is_nil(r)
    assert.are.equal("unknown_channel", why)
    assert.are.same({}, okx.parse(copy(spot), '{"arg":{"channel":"candle1m","instId":"BTC-USDT"},"data":[]}'))
  end)
end)

describe("okx rest", function()
  local q = { symbol = "BTC-USDT", interval = "1m", start_ms = 1705420800000, end_ms = 1705420800000 + 3600000,
              limit = 300, base_url = "http://127.0.0.1:9" }

  it("asks /market/candles for the oldest rows of a recent hole, as an after/before window", function()
    local r = okx.rest.request("spot", q)
    assert.are.equal("GET", r.method)
    -- 61 periods fit under the limit: after = end + 1, before = start - 1 (both exclusive)
    assert.are.equal("http://127.0.0.1:9/api/v5/market/candles?instId=BTC-USDT&bar=1m&after=1705424400001"
      .. "&before=1705420799999&limit=300", r.url)
    local big = copy(q)
    big.end_ms = q.start_ms + 1000 * 60000
    r = okx.rest.request("spot", big)
    -- 300 rows from start: after = start + 299 periods + 1
    assert.are.equal("http://127.0.0.1:9/api/v5/market/candles?instId=BTC-USDT&bar=1m&after="
      .. (q.start_ms + 299 * 60000 + 1) .. "&before=1705420799999&limit=300", r.url)
  end)

  it("asks history-candles (100 rows) beyond the latest 1,440 rows, and for 1s bars", function()
    local old = copy(q)
    old.end_ms = q.start_ms + 2000 * 60000
    local r = okx.rest.request("swap", old)
    assert.are.equal("http://127.0.0.1:9/api/v5/market/history-candles?instId=BTC-USDT&bar=1m&after="
      .. (q.start_ms + 99 * 60000 + 1) .. "&before=1705420799999&limit=100", r.url)
    local s = copy(q)
    s.interval = "1s"
    s.end_ms = q.start_ms + 10000
    r = okx.rest.request("spot", s)
    assert.are.equal("http://127.0.0.1:9/api/v5/market/history-candles?instId=BTC-USDT&bar=1s&after="
      .. (q.start_ms + 10001) .. "&before=1705420799999&limit=100", r.url)
    local m = copy(q)
    m.interval = "1Mutc"
    r = okx.rest.request("spot", m)
    assert.is_truthy(r.url:find("/api/v5/market/candles?", 1, true))
    assert.is_truthy(r.url:find("&after=1705424400001&", 1, true))
  end)

  it("reads newest-first pages with the confirm flag", function()
    local c = okx.rest.parse("spot", q, read(FIX .. "spot_rest_history_candles_btc-usdt_1H.hb.json"))
    assert.are.equal(4, #c)
    assert.are.equal(1705431600000, c[1].open_time)
    assert.are.equal(1705420800000, c[4].open_time)
    assert.are.equal("942.87870026", c[4].volume)
    assert.are.equal("40743115.773175484", c[4].quote_volume)
    assert.is_true(c[4].closed)
    c = okx.rest.parse("swap", q, read(FIX .. "swap_rest_history_candles_btc-usdt-swap_1H.hb.json"))
    assert.are.equal("2016.056", c[1].volume) -- volCcy (BTC), not vol (contracts)
    assert.are.equal("134181486.8892", c[1].quote_volume)
    c = okx.rest.parse("swap", q, read(FIX .. "rest_candles_swap_1m_newest_first.json"))
    assert.are.same({ 1747094040000, 1747093980000 }, { c[1].open_time, c[2].open_time })
    c = okx.rest.parse("spot", q, read(FIX .. "rest_candles_synthetic_zero_fields.json"))
    assert.are.equal("778.838", c[1].volume)
    assert.is_false(c[1].closed)
  end)

  it("refuses error answers and bad rows", function()
    local r, why = okx.rest.parse("spot", q, '{"code":"51000","msg":"Parameter bar error","data":[]}')
    assert.is_nil(r)
    assert.are.equal("exchange_error", why)
    r, why = okx.rest.parse("spot", q, "<html>")
    assert.is_nil(r)
    assert.are.equal("bad_json", why)
    r, why = okx.rest.parse("spot", q, '{"code":"0","data":[["x","1","1","1","1","1","1","1","1"]]}')
    assert.is_nil(r)
    assert.are.equal("bad_row", why)
    r, why = okx.rest.parse("spot", q, '{"code":"0","data":[["60000","1","1","1","1","1","1","1","yes"]]}')
    assert.is_nil(r)
    assert.are.equal("bad_row", why)
    assert.are.same({}, okx.rest.parse("spot", q, '{"code":"0","msg":"","data":[]}'))
  end)
end)

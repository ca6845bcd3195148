-- adapters/bybit.lua on the fixtures of tests/fixtures/bybit (sources in tests/fixtures/README.md):
-- the spot REST page is REAL-looking (hummingbot); the WS push, the inverse REST page, the acks and
-- pongs are DOC SAMPLES; the error replies are REAL replies quoted in issue threads; the rest is
-- synthetic (a linear REST page, an inverse closing push, a push carrying two candles).
local json = require("candled.json")
local bybit = dofile("adapters/bybit.lua")

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

local function compact(path) -- a pretty-printed JSON fixture as one frame
  return json.encode(json.decode(read(path)))
end

local FIX = "tests/fixtures/bybit/"
local function session(market) return { exchange = "bybit", market = market } end

describe("bybit markets", function()
  it("has spot, linear and inverse on their own endpoints", function()
    local m = bybit.markets
    assert.are.same({ "spot", "linear", "inverse" }, { m[1].name, m[2].name, m[3].name })
    for _, mk in ipairs(m) do
      assert.are.equal("wss://stream.bybit.com/v5/public/" .. mk.name, mk.ws_url)
      assert.are.equal("https://api.bybit.com", mk.rest_url)
      assert.are.equal(1000, mk.rest_max_rows)
      assert.are.equal(7200, mk.rest_weight_per_minute) -- 600 requests / 5 s per IP
      assert.are.equal(20, mk.ping_interval) -- Bybit's recommended heartbeat
      assert.is_true(mk.idle_timeout > mk.ping_interval)
      assert.are.same({}, mk.aliases)
      -- one connection's args may total 21,000 characters: the longest topics still fit
      assert.is_true(mk.max_streams * #("kline.720." .. string.rep("X", 40)) <= 21000)
    end
  end)

  it("maps candled's canonical intervals to Bybit's names, and only those Bybit has", function()
    local want = { ["1m"] = "1", ["3m"] = "3", ["5m"] = "5", ["15m"] = "15", ["30m"] = "30", ["1h"] = "60",
                   ["2h"] = "120", ["4h"] = "240", ["6h"] = "360", ["12h"] = "720", ["1d"] = "D", ["1w"] = "W",
                   ["1M"] = "M" }
    for _, mk in ipairs(bybit.markets) do assert.are.same(want, mk.intervals) end
    for _, missing in ipairs({ "1s", "10s", "8h", "3d", "3M" }) do assert.is_nil(bybit.markets[1].intervals[missing]) end
  end)

  it("normalises and checks symbols (USDC futures have dashes)", function()
    assert.are.equal("BTCUSDT", bybit.symbol("spot", "btcusdt"))
    assert.are.equal("BTC-24MAR23", bybit.symbol("linear", "btc-24mar23"))
    assert.are.equal("BTCUSDH23", bybit.symbol("inverse", "BTCUSDH23"))
    local s, why = bybit.symbol("spot", "BTC/USDT")
    assert.is_nil(s)
    assert.are.equal("symbol must match [A-Z0-9-]+", why)
    assert.is_nil(bybit.symbol("spot", "-BTC"))
  end)
end)

describe("bybit subscribe", function()
  local function topics(frame)
    local t = json.decode(frame)
    return t.args, t
  end

  it("builds op frames with kline.{interval}.{symbol} topics and rising req_ids", function()
    local s = session("linear")
    local f = bybit.subscribe(s, { { symbol = "BTCUSDT", interval = "1" }, { symbol = "ETHUSDT", interval = "D" } })
    assert.are.same({ '{"req_id":"1","op":"subscribe","args":["kline.1.BTCUSDT","kline.D.ETHUSDT"]}' }, f)
    f = bybit.unsubscribe(s, { { symbol = "ETHUSDT", interval = "D" } })
    assert.are.same({ '{"req_id":"2","op":"unsubscribe","args":["kline.D.ETHUSDT"]}' }, f)
  end)

  it("splits spot requests into frames of at most 10 args", function()
    local streams = {}
    for i = 1, 25 do streams[i] = { symbol = "SYM" .. i .. "USDT", interval = "1" } end
    local f = bybit.subscribe(session("spot"), streams)
    assert.are.equal(3, #f)
    local all = {}
    for i, frame in ipairs(f) do
      local args, t = topics(frame)
      assert.are.equal(({ 10, 10, 5 })[i], #args)
      assert.are.equal(tostring(i), t.req_id)
      for _, a in ipairs(args) do all[#all + 1] = a end
    end
    assert.are.equal(25, #all)
    assert.are.equal("kline.1.SYM1USDT", all[1])
    assert.are.equal("kline.1.SYM25USDT", all[25])
    assert.are.equal(3, #bybit.unsubscribe(session("spot"), streams))
  end)

  it("sends futures subscriptions in frames of 200 args", function()
    local streams = {}
    for i = 1, 450 do streams[i] = { symbol = "S" .. i, interval = "5" } end
    local f = bybit.subscribe(session("inverse"), streams)
    assert.are.same({ 200, 200, 50 }, { #topics(f[1]), #topics(f[2]), #topics(f[3]) })
  end)

  it("pings with op ping", function()
    assert.are.equal('{"op":"ping"}', bybit.ping(session("spot")))
  end)
end)

describe("bybit parse", function()
  it("maps the doc-sample push field by field, the symbol from the topic", function()
    local r = bybit.parse(session("linear"), compact(FIX .. "ws_kline_5_btcusdt.docsample.json"))
    assert.are.equal(1, #r)
    assert.are.same({ symbol = "BTCUSDT", interval = "5", open_time = 1672324800000, close_time = 1672325099999,
                      open = "16649.5", high = "16677", low = "16608", close = "16677", volume = "2.081",
                      quote_volume = "34666.4005", closed = false }, r[1])
  end)

  it("reads the frame as sent too (pretty-printed, whitespace)", function()
    local r = bybit.parse(session("spot"), read(FIX .. "ws_kline_5_btcusdt.docsample.json"))
    assert.are.equal("16649.5", r[1].open)
    assert.are.equal(1672324800000, r[1].open_time)
  end)

  it("takes confirm=true as closed; on inverse the volume is turnover (base coin)", function()
    local r = bybit.parse(session("inverse"), read(FIX .. "ws_kline_60_btcusd_inverse_confirm.synthetic.json"))
    local c = r[1]
    assert.is_true(c.closed)
    assert.are.equal("BTCUSD", c.symbol)
    assert.are.equal("60", c.interval)
    assert.are.equal("0.24469757", c.volume)    -- turnover: BTC
    assert.are.equal("4177", c.quote_volume)    -- volume: contracts of 1 USD
    assert.are.equal(1670608799999, c.close_time)
  end)

  it("returns every candle of a push that carries several", function()
    local r = bybit.parse(session("spot"), read(FIX .. "ws_kline_1_two_candles.synthetic.json"))
    assert.are.equal(2, #r)
    assert.is_true(r[1].closed)
    assert.are.equal(1672324740000, r[1].open_time)
    assert.are.equal("12.30", r[1].volume)
    assert.is_false(r[2].closed)
    assert.are.equal(1672324800000, r[2].open_time)
    assert.are.equal("0", r[2].quote_volume)
    assert.are.equal("ETHUSDT", r[2].symbol)
    -- three candles: the third comes from its own pass
    local frame = read(FIX .. "ws_kline_1_two_candles.synthetic.json")
    local second = frame:match('(,{"start":1672324800000.-})%]')
    local three = frame:gsub("%]", (second:gsub("1672324800000", "1672324860000"):gsub("%%", "%%%%")) .. "]", 1)
    r = bybit.parse(session("spot"), three)
    assert.are.equal(3, #r)
    assert.are.equal(1672324860000, r[3].open_time)
  end)

  it("does not let one push's candles leak into the next", function()
    local s = session("spot")
    bybit.parse(s, read(FIX .. "ws_kline_1_two_candles.synthetic.json"))
    local r = bybit.parse(s, compact(FIX .. "ws_kline_5_btcusdt.docsample.json"))
    assert.are.equal(1, #r)
    assert.are.equal("BTCUSDT", r[1].symbol)
  end)

  it("keeps a price sent as a JSON number as its exact token text", function()
    local frame = compact(FIX .. "ws_kline_5_btcusdt.docsample.json")
    local c = bybit.parse(session("spot"), (frame:gsub('"open":"16649.5"', '"open":16649.50')))[1]
    assert.are.equal("16649.50", c.open)
    c = bybit.parse(session("spot"), (frame:gsub('"high":"16677"', '"high":16677')))[1]
    assert.are.equal(16677, c.high) -- an integer token: the core writes its digits
  end)
end)

describe("bybit control frames", function()
  it("acks subscriptions and reads pongs of every kind (doc samples)", function()
    local f = lines(FIX .. "ws_control.docsample.jsonl")
    assert.are.same({ event = "ack" }, bybit.parse(session("spot"), f[1]))
    assert.are.same({ event = "ack" }, bybit.parse(session("linear"), f[2]))
    assert.are.same({ event = "pong" }, bybit.parse(session("spot"), f[3]))
    assert.are.same({ event = "pong" }, bybit.parse(session("inverse"), f[4]))
    assert.are.same({ event = "pong" }, bybit.parse(session("linear"), f[5]))
    assert.are.same({ event = "ack" }, bybit.parse(session("linear"),
      '{"success":true,"ret_msg":"","conn_id":"x","req_id":"7","op":"unsubscribe"}'))
  end)

  it("reports refused requests as errors with Bybit's message (real replies)", function()
    local f = lines(FIX .. "ws_errors.issues.jsonl")
    assert.are.same({ event = "error", message = "args size >10 (op subscribe)" }, bybit.parse(session("spot"), f[1]))
    assert.are.same({ event = "error", message = "error:handler not found (op subscribe)" },
      bybit.parse(session("linear"), f[2]))
    assert.are.same({ event = "error", message = "Params Error (op subscribe)" }, bybit.parse(session("linear"), f[3]))
    assert.are.same({ event = "error", message = "nil (op ping)" },
      bybit.parse(session("linear"), '{"success":false,"op":"ping"}'))
  end)

  it("rejects garbage, truncated frames, unknown topics and wrong field types", function()
    local frame = compact(FIX .. "ws_kline_5_btcusdt.docsample.json")
    local s = session("spot")
    local function rej(f) local r, why = bybit.parse(s, f) assert.is_nil(r) return why end
    assert.are.equal("bad_json", rej(frame:sub(1, 60)))
    assert.are.equal("bad_json", rej("\xef\xbb\xbfNOT JSON }{"))
    assert.are.equal("bad_json", rej(frame .. "}"))
    assert.are.equal("unknown_frame", rej('{"e":"kline","E":null,"k":[1,2,3]}'))
    assert.are.equal("unknown_frame", rej("[1,2]"))
    assert.are.equal("unknown_frame", rej('{"op":"subscribe"}')) -- no success field
    assert.are.equal("unknown_event", rej('{"success":true,"ret_msg":"","op":"auth"}'))
    assert.are.equal("unknown_event", rej('{"topic":"tickers.BTCUSDT","data":{"symbol":"BTCUSDT"}}'))
    assert.are.equal("bad_field", rej('{"topic":5,"data":[]}'))
    assert.are.equal("bad_field", rej('{"topic":"kline.5.BTCUSDT","data":[]}'))
    assert.are.equal("bad_field", rej((frame:gsub('"open":"16649.5"', '"open":true'))))
    assert.are.equal("bad_field", rej((frame:gsub('"confirm":false', '"confirm":"false"'))))
    assert.are.equal("bad_field", rej((frame:gsub('"start":1672324800000', '"start":"1672324800000"'))))
    assert.are.equal("bad_field", rej((frame:gsub('"volume":"2.081"', '"volume":null'))))
    local two = read(FIX .. "ws_kline_1_two_candles.synthetic.json")
    assert.are.equal("bad_field", rej((two:gsub('"confirm":false', '"confirm":0'))))
  end)
end)

describe("bybit REST", function()
  local q = { symbol = "BTCUSDT", interval = "60", start_ms = 1715162400000, end_ms = 1715180000000, limit = 1000,
              base_url = "http://127.0.0.1:9001" }
  it("builds the kline request with the market as category", function()
    assert.are.same({ method = "GET", url = "http://127.0.0.1:9001/v5/market/kline?category=spot&symbol=BTCUSDT"
      .. "&interval=60&start=1715162400000&end=1715180000000&limit=1000" }, bybit.rest.request("spot", q))
    assert.is_truthy(bybit.rest.request("inverse", q).url:find("?category=inverse&", 1, true))
  end)

  it("parses a newest-first spot page with exact text and close times", function()
    local rows = bybit.rest.parse("spot", q, read(FIX .. "spot_rest_kline_btcusdt_60.hb.json"))
    assert.are.equal(5, #rows)
    assert.are.same({ open_time = 1715176800000, close_time = 1715180399999, open = "62440.14", high = "62841.64",
                      low = "62160.72", close = "62564.68", volume = "706.187244",
                      quote_volume = "44137837.83110939" }, rows[1])
    assert.are.equal(1715162400000, rows[5].open_time)
    assert.are.equal("421.80928", rows[5].volume)
    assert.is_nil(rows[1].closed) -- the core decides by time
  end)

  it("parses a linear page", function()
    local rows = bybit.rest.parse("linear", { interval = "1" }, read(FIX .. "rest_kline_linear.synthetic.json"))
    assert.are.equal(1, #rows)
    assert.are.equal("123.45", rows[1].volume)
    assert.are.equal("3390000", rows[1].quote_volume)
    assert.are.equal(rows[1].open_time + 59999, rows[1].close_time)
  end)

  it("uses turnover (base coin) as the volume on inverse", function()
    local rows = bybit.rest.parse("inverse", q, read(FIX .. "rest_kline_inverse_btcusd_60.docsample.json"))
    assert.are.equal(3, #rows)
    assert.are.equal(1670608800000, rows[1].open_time)
    assert.are.equal("15.74462667", rows[1].volume)
    assert.are.equal("268611", rows[1].quote_volume)
    assert.are.equal("17055.5", rows[1].close)
  end)

  it("computes close times of days, weeks and calendar months", function()
    local function close_of(interval, t)
      local body = string.format('{"retCode":0,"retMsg":"OK","result":{"list":[["%d","1","1","1","1","1","1"]]}}', t)
      return bybit.rest.parse("spot", { interval = interval }, body)[1].close_time
    end
    assert.are.equal(1715126400000 + 86400000 - 1, close_of("D", 1715126400000))
    assert.are.equal(1714953600000 + 7 * 86400000 - 1, close_of("W", 1714953600000)) -- Monday 2024-05-06
    assert.are.equal(1709251200000 - 1, close_of("M", 1706745600000))                -- Feb 2024: 29 days
    assert.are.equal(1740787200000 - 1, close_of("M", 1738368000000))                -- Feb 2025: 28 days
    assert.are.equal(1735689600000 - 1, close_of("M", 1733011200000))                -- Dec 2024
  end)

  it("rejects error bodies and malformed pages", function()
    local function rej(body) local r, why = bybit.rest.parse("spot", q, body) assert.is_nil(r) return why end
    assert.are.equal("exchange_error",
      rej('{"retCode":10001,"retMsg":"params error: symbol invalid","result":{},"retExtInfo":{},"time":1}'))
    assert.are.equal("exchange_error", rej('{"retMsg":"OK","result":{"list":[]}}'))
    assert.are.equal("bad_json", rej("<html>403 Forbidden</html>"))
    assert.are.equal("bad_page", rej('{"retCode":0,"retMsg":"OK","result":{}}'))
    assert.are.equal("bad_row", rej('{"retCode":0,"result":{"list":[[1715176800000,"1","1","1","1","1","1"]]}}'))
    assert.are.equal("bad_row", rej('{"retCode":0,"result":{"list":[["1715176800000","1","1","1","1","1"]]}}'))
    assert.are.equal("bad_row", rej('{"retCode":0,"result":{"list":[["-5","1","1","1","1","1","1"]]}}'))
    assert.are.same({}, bybit.rest.parse("spot", q, '{"retCode":0,"retMsg":"OK","result":{"list":[]}}'))
  end)
end)

-- adapters/gateio.lua on recorded frames (tests/fixtures/gateio, sources in tests/fixtures/README.md):
-- the spot and USDT-futures WS recordings are REAL (cryptofeed, 2021 and 2023); the spot REST page
-- is REAL-looking (hummingbot), the futures REST page SYNTHETIC; the frames written inline below
-- are Gate's DOC SAMPLES (refdocs), marked where used.
local json = require("candled.json")
local gate = dofile("adapters/gateio.lua")

local fx = dofile("tests/lua/fixtures.lua")
local lines, read = fx.lines, fx.read

local FIX = "tests/fixtures/gateio/"
local function session(market) return { exchange = "gateio", market = market } end
local spot, usdt, btc = session("spot"), session("usdt"), session("btc")

-- DOC SAMPLES (Gate spot / futures WS v4 docs)
local SPOT_DOC = '{"time":1606292600,"time_ms":1606292600376,"channel":"spot.candlesticks","event":"update",'
  .. '"result":{"t":"1606292580","v":"2362.32035","c":"19128.1","h":"19128.1","l":"19128.1","o":"19128.1",'
  .. '"n":"1m_BTC_USDT","a":"3.8283","w":true}}'
local FUT_DOC = '{"time":1542162490,"time_ms":1542162490123,"channel":"futures.candlesticks","event":"update",'
  .. '"result":[{"t":1545129300,"v":27525555,"c":"95.4","h":"96.9","l":"89.5","o":"94.3","n":"1m_BTC_USD",'
  .. '"a":"314732.87412"},{"t":1545129360,"v":27525556,"c":"95.5","h":"96.9","l":"89.5","o":"95.4",'
  .. '"n":"1m_BTC_USD","a":"314732.87412"}]}'

local function rejected(s, frame)
  local r, why = gate.parse(s, frame)
  assert.is_nil(r)
  return why
end

describe("gateio markets", function()
  it("has spot, usdt and btc with their endpoints and limits", function()
    local m = gate.markets
    assert.are.equal("spot", m[1].name)
    assert.are.equal("wss://api.gateio.ws/ws/v4/", m[1].ws_url)
    assert.are.equal("usdt", m[2].name)
    assert.are.same({ "futures", "linear" }, m[2].aliases)
    assert.are.equal("wss://fx-ws.gateio.ws/v4/ws/usdt", m[2].ws_url)
    assert.are.equal("btc", m[3].name)
    assert.are.same({ "inverse" }, m[3].aliases)
    assert.are.equal("wss://fx-ws.gateio.ws/v4/ws/btc", m[3].ws_url)
    assert.are.equal(1000, m[1].rest_max_rows)
    assert.are.equal(2000, m[2].rest_max_rows)
    assert.are.equal(2000, m[3].rest_max_rows)
    for k = 1, 3 do assert.are.equal(1200, m[k].rest_weight_per_minute) end -- 200 / 10 s per endpoint
    for _, mk in ipairs(m) do
      assert.are.equal("https://api.gateio.ws", mk.rest_url)
      assert.are.equal(10, mk.ping_interval) -- as Gate's own SDK
      assert.is_true(mk.idle_timeout > mk.ping_interval) -- the pongs alone keep it from firing
    end
  end)

  it("maps Gate's WS intervals and nothing else", function()
    for _, mk in ipairs(gate.markets) do
      for _, iv in ipairs({ "10s", "1m", "5m", "15m", "30m", "1h", "4h", "8h", "1d" }) do
        assert.are.equal(iv, mk.intervals[iv])
      end
      for _, iv in ipairs({ "1s", "3m", "2h", "6h", "12h", "3d", "1w", "1M" }) do assert.is_nil(mk.intervals[iv]) end
    end
  end)

  it("normalises and checks symbols", function()
    assert.are.equal("BTC_USDT", gate.symbol("spot", "btc_usdt"))
    assert.are.equal("BTC_USD", gate.symbol("btc", "BTC_USD"))
    local s, why = gate.symbol("spot", "BTCUSDT")
    assert.is_nil(s)
    assert.are.equal("symbol must look like BTC_USDT", why)
    s, why = gate.symbol("usdt", "mark_BTC_USDT")
    assert.is_nil(s)
    assert.is_truthy(why:find("not supported", 1, true))
  end)
end)

describe("gateio subscribe and ping", function()
  it("sends one request per stream with time, id, channel, event and [interval, pair]", function()
    local s = session("spot")
    local before = os.time()
    local frames = gate.subscribe(s, { { symbol = "BTC_USDT", interval = "1m" }, { symbol = "ETH_USDT", interval = "10s" } })
    assert.are.equal(2, #frames)
    local d = json.decode(frames[2])
    assert.is_true(d.time >= before and d.time <= os.time())
    assert.are.equal(string.format(
      '{"time":%d,"id":2,"channel":"spot.candlesticks","event":"subscribe","payload":["10s","ETH_USDT"]}', d.time),
      frames[2])
    frames = gate.unsubscribe(s, { { symbol = "BTC_USDT", interval = "1m" } })
    d = json.decode(frames[1])
    assert.are.equal("unsubscribe", d.event)
    assert.are.equal(3, d.id)
    assert.are.same({ "1m", "BTC_USDT" }, d.payload)
  end)

  it("uses the futures channel on both settle markets, like the recorded requests", function()
    local want = json.decode(lines(FIX .. "futures_usdt_ws_candlesticks_1m.client_sent.jsonl")[1])
    for _, s in ipairs({ session("usdt"), session("btc") }) do
      local d = json.decode(gate.subscribe(s, { { symbol = "DIA_USDT", interval = "1m" } })[1])
      assert.are.equal(want.channel, d.channel)
      assert.are.equal(want.event, d.event)
      assert.are.same(want.payload, d.payload)
    end
    local d = json.decode(gate.subscribe(session("spot"), { { symbol = "INK_USDT", interval = "1m" } })[1])
    assert.are.same(json.decode(lines(FIX .. "spot_ws_candlesticks_1m.client_sent.jsonl")[1]).payload, d.payload)
  end)

  it("pings at the application level with the market's channel", function()
    local t = os.time()
    local p = json.decode(gate.ping(spot))
    assert.are.equal("spot.ping", p.channel)
    assert.is_true(p.time >= t)
    assert.are.equal("futures.ping", json.decode(gate.ping(btc)).channel)
  end)
end)

describe("gateio parse", function()
  it("maps the spot doc sample field by field: seconds to ms, a is the volume, w closes", function()
    local c = gate.parse(spot, SPOT_DOC)[1]
    assert.are.same({ symbol = "BTC_USDT", interval = "1m", open_time = 1606292580000, open = "19128.1",
                      high = "19128.1", low = "19128.1", close = "19128.1", volume = "3.8283",
                      quote_volume = "2362.32035", closed = true }, c)
  end)

  it("reports w:false as open and a missing w as unknown (the core decides)", function()
    assert.is_false(gate.parse(spot, (SPOT_DOC:gsub('"w":true', '"w":false')))[1].closed)
    assert.is_nil(gate.parse(spot, (SPOT_DOC:gsub(',"w":true', '')))[1].closed)
  end)

  it("refuses real 2021 spot pushes, which have no base volume a", function()
    local n = 0
    for _, f in ipairs(lines(FIX .. "spot_ws_candlesticks_1m.jsonl")) do
      if f:find('"event":"update"', 1, true) then
        assert.are.equal("no_base_volume", rejected(spot, f))
        n = n + 1
      end
    end
    assert.are.equal(14, n)
  end)

  it("maps the real futures push: int seconds, v contracts as the volume, no closed flag", function()
    local f = lines(FIX .. "futures_usdt_ws_candlesticks_1m.jsonl")
    local r = gate.parse(usdt, f[#f])
    assert.are.equal(1, #r)
    assert.are.same({ symbol = "FRONT_USDT", interval = "1m", open_time = 1684930140000, open = "0.1701",
                      high = "0.1701", low = "0.1701", close = "0.1701", volume = 0 }, r[1])
    assert.is_nil(r[1].closed)
    assert.is_nil(r[1].quote_volume)
  end)

  it("reads every candle of a futures frame with several (doc sample)", function()
    local r = gate.parse(btc, FUT_DOC)
    assert.are.equal(2, #r)
    assert.are.equal(1545129300000, r[1].open_time)
    assert.are.equal(27525555, r[1].volume)
    assert.are.equal(1545129360000, r[2].open_time)
    assert.are.equal("95.4", r[2].open)
    assert.are.equal(27525556, r[2].volume)
    assert.is_nil(r[2].closed)
    assert.are.same({}, gate.parse(usdt, '{"time":1,"channel":"futures.candlesticks","event":"update","result":[]}'))
  end)

  it("keeps a futures volume sent as a decimal number as its exact text", function()
    local f = lines(FIX .. "futures_usdt_ws_candlesticks_1m.jsonl")
    assert.are.equal("12.50", gate.parse(usdt, (f[#f]:gsub('"v":0', '"v":12.50')))[1].volume)
  end)
end)

describe("gateio control frames", function()
  it("acks every recorded subscribe reply", function()
    for _, pair in ipairs({ { spot, "spot_ws_candlesticks_1m.jsonl" }, { usdt, "futures_usdt_ws_candlesticks_1m.jsonl" } }) do
      local acks = 0
      for _, f in ipairs(lines(FIX .. pair[2])) do
        if f:find('"event":"subscribe"', 1, true) then
          assert.are.same({ event = "ack" }, gate.parse(pair[1], f))
          acks = acks + 1
        end
      end
      assert.are.equal(10, acks)
    end
    assert.are.same({ event = "ack" }, gate.parse(btc,
      '{"time":1545445847,"time_ms":1545445847123,"channel":"futures.candlesticks","event":"unsubscribe","result":{"status":"success"}}'))
  end)

  it("reads pongs (doc samples)", function()
    assert.are.same({ event = "pong" },
      gate.parse(spot, '{"time":1545404023,"channel":"spot.pong","event":"","error":null,"result":null}'))
    assert.are.same({ event = "pong" },
      gate.parse(usdt, '{"time":1545404023,"time_ms":1545404023123,"channel":"futures.pong","event":"","result":null}'))
  end)

  it("reports error replies with channel, event, message and code", function()
    assert.are.same({ event = "error", message = "futures.candlesticks subscribe: invalid argument (code 2)" },
      gate.parse(usdt, '{"time":1747391482,"time_ms":1747391482960,"id":1,"channel":"futures.candlesticks",'
        .. '"event":"subscribe","payload":["1m","NOPE_USDT"],"error":{"code":2,"message":"invalid argument"},'
        .. '"result":{"status":"fail"}}'))
    assert.are.same({ event = "error", message = "nil nil: Invalid request body format (code 1)" },
      gate.parse(spot, '{"time":1,"error":{"code":1,"message":"Invalid request body format"}}'))
  end)

  it("rejects garbage, truncated frames, other channels and wrong field types", function()
    assert.are.equal("bad_json", rejected(spot, SPOT_DOC:sub(1, 90)))
    assert.are.equal("bad_json", rejected(usdt, "not json"))
    assert.are.equal("unknown_frame", rejected(spot, '{"hello":1}'))
    assert.are.equal("unknown_frame", rejected(spot, "[1,2]"))
    assert.are.equal("unknown_channel", rejected(spot, (SPOT_DOC:gsub("spot%.candlesticks", "futures.candlesticks"))))
    assert.are.equal("unknown_channel", rejected(usdt, '{"time":1,"channel":"futures.trades","event":"update","result":[]}'))
    assert.are.equal("unknown_event", rejected(spot, (SPOT_DOC:gsub('"event":"update"', '"event":"all"'))))
    assert.are.equal("bad_field", rejected(spot, (SPOT_DOC:gsub('"o":"19128.1"', '"o":true'))))
    assert.are.equal("bad_field", rejected(spot, (SPOT_DOC:gsub('"t":"1606292580"', '"t":"16062925x0"'))))
    assert.are.equal("bad_field", rejected(spot, (SPOT_DOC:gsub('"n":"1m_BTC_USDT"', '"n":"1mBTCUSDT"'))))
    -- a stream name longer than the core takes is refused (and not cached: found by fuzzing)
    assert.are.equal("bad_field", rejected(spot, (SPOT_DOC:gsub('"n":"1m_BTC_USDT"', '"n":"1m_BTC_USDT' .. string.rep("X", 70) .. '"'))))
    assert.are.equal("bad_field", rejected(spot, (SPOT_DOC:gsub('"w":true', '"w":"yes"'))))
    -- decimal syntax is the core's check (bad_close), the adapter passes the text on
    assert.are.equal("19,128.1", gate.parse(spot, (SPOT_DOC:gsub('"c":"19128.1"', '"c":"19,128.1"')))[1].close)
    local f = lines(FIX .. "futures_usdt_ws_candlesticks_1m.jsonl")
    local push = f[#f]
    assert.are.equal("bad_field", rejected(usdt, (push:gsub('"t":1684930140', '"t":1684930140.5'))))
    assert.are.equal("bad_field", rejected(usdt, (push:gsub('"v":0', '"v":null'))))
    assert.are.equal("bad_field", rejected(btc, (FUT_DOC:gsub('"v":27525556', '"v":true'))))
    assert.are.equal("bad_json", rejected(btc, FUT_DOC:sub(1, -3)))
  end)
end)

describe("gateio REST", function()
  local q = { symbol = "BTC_USDT", interval = "1h", start_ms = 1685167200000, end_ms = 1685178000000, limit = 1000,
              base_url = "http://127.0.0.1:9001" }
  it("asks for from..to in seconds, inclusive, capped at the page size", function()
    assert.are.same({ method = "GET", url = "http://127.0.0.1:9001/api/v4/spot/candlesticks?currency_pair=BTC_USDT"
      .. "&interval=1h&from=1685167200&to=1685178000" }, gate.rest.request("spot", q))
    local long = { symbol = "BTC_USDT", interval = "1m", start_ms = 1685167200000, end_ms = 1785167200000, limit = 2000,
                   base_url = "http://h" }
    assert.are.equal("http://h/api/v4/futures/usdt/candlesticks?contract=BTC_USDT&interval=1m&from=1685167200"
      .. "&to=" .. (1685167200 + 1999 * 60), gate.rest.request("usdt", long).url)
    long.interval, long.limit, long.symbol = "10s", 5, "BTC_USD"
    assert.are.equal("http://h/api/v4/futures/btc/candlesticks?contract=BTC_USD&interval=10s&from=1685167200"
      .. "&to=1685167240", gate.rest.request("btc", long).url)
  end)

  it("parses a spot page (7-element rows): base volume last, quote volume second", function()
    local rows = gate.rest.parse("spot", q, read(FIX .. "spot_rest_candlesticks_btc_usdt_1h.hb.json"))
    assert.are.equal(4, #rows)
    assert.are.same({ open_time = 1685167200000, open = "26728.1", high = "26736.1", low = "26718.4", close = "26718.4",
                      volume = "4.856410775", quote_volume = "129807.73747903012" }, rows[1])
    assert.are.equal(1685178000000, rows[4].open_time)
    assert.is_nil(rows[4].closed) -- no 8th element: the core decides by time
  end)

  it("reads the 8th element of newer spot rows as the closed flag", function()
    local rows = gate.rest.parse("spot", q, '[["1539852480","971519.677","0.0021724","0.0021922","0.0021724",'
      .. '"0.0021737","447.5","true"],["1539852540","0","0.0021724","0.0021724","0.0021724","0.0021724","0","false"]]')
    assert.is_true(rows[1].closed)
    assert.are.equal("447.5", rows[1].volume)
    assert.are.equal("0.0021737", rows[1].open)
    assert.is_false(rows[2].closed)
  end)

  it("parses a futures page (objects): v contracts as the volume", function()
    local rows = gate.rest.parse("usdt", q, read(FIX .. "futures_rest_candlesticks.hb.synthetic.json"))
    assert.are.equal(4, #rows)
    assert.are.same({ open_time = 1685167200000, open = "1.032", high = "1.032", low = "1.032", close = "1.032",
                      volume = 97151 }, rows[1])
    assert.are.equal(1685178000000, rows[4].open_time)
    assert.are.equal("7.5", gate.rest.parse("btc", q, '[{"t":1685167200,"v":"7.5","c":"1","h":"1","l":"1","o":"1"}]')[1].volume)
  end)

  it("rejects error bodies and malformed pages", function()
    local function rej(m, body) local r, why = gate.rest.parse(m, q, body) assert.is_nil(r) return why end
    assert.are.equal("exchange_error", rej("spot", '{"label":"INVALID_PARAM_VALUE","message":"Candlestick range too broad"}'))
    assert.are.equal("bad_json", rej("spot", "<html>502</html>"))
    assert.are.equal("bad_row", rej("spot", '[["1685167200","1","2"]]'))
    assert.are.equal("bad_row", rej("spot", '[["1685167200","1","2","3","4","5","6","maybe"]]'))
    assert.are.equal("bad_row", rej("spot", '[{"t":1685167200}]'))
    assert.are.equal("bad_row", rej("usdt", '[{"t":1685167200,"c":"1","h":"1","l":"1","o":"1"}]')) -- mark_ rows have no v
    assert.are.equal("bad_row", rej("usdt", '[["1685167200","1","2","3","4","5","6"]]'))
    assert.are.equal("bad_row", rej("btc", '[{"t":1685167200.5,"v":1,"c":"1","h":"1","l":"1","o":"1"}]'))
  end)
end)

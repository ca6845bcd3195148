-- Gate.io API v4: spot, USDT-settled futures (usdt) and BTC-settled futures (btc) candlesticks.
--
-- Facts relied on (Gate's WS v4 docs, extracts in the project's refdocs, and its research notes):
--  * WS endpoints: spot wss://api.gateio.ws/ws/v4/; futures wss://fx-ws.gateio.ws/v4/ws/usdt and
--    .../v4/ws/btc (the settle currency is in the path).  Channels spot.candlesticks and
--    futures.candlesticks; one [interval, pair] per request:
--    {"time":<sec>,"id":N,"channel":"spot.candlesticks","event":"subscribe","payload":["1m","BTC_USDT"]}
--    ("time" must be within 60 s of the server's clock).  Replies echo channel/event with
--    "result":{"status":"success"} and "error":null, or "error":{"code":N,"message":".."}.
--  * Spot pushes: "result" is an object of strings {t (open, SECONDS), v (quote volume), c, h, l,
--    o, n ("<interval>_<pair>"), a (base volume), w (true = window closed; "true may be
--    missing")}.  Futures pushes: "result" is an ARRAY of {t (int seconds), v (int, contracts),
--    c, h, l, o, n, a}; there is no closed flag, so closed is left nil for the core to infer.
--  * Keepalive: the server pings at the protocol level (answered by the core); an application
--    {"time":..,"channel":"spot.ping"} (futures.ping) is answered by spot.pong / futures.pong and
--    resets the server's timeout timer.  Gate's own SDK pings every 10 s.
--  * REST: GET /api/v4/spot/candlesticks?currency_pair=&interval=&from=&to= (seconds, both ends
--    inclusive, at most 1000 points; `limit` may not be combined with from/to) answers rows
--    [t, quote volume, close, high, low, open, base volume, closed ("true"/"false"; absent in
--    older answers)], oldest first.  GET /api/v4/futures/{settle}/candlesticks?contract=&...
--    (at most 2000 points) answers objects {t, v (contracts), c, h, l, o, sum (quote volume)}.
--  * Intervals on both WS channels: 10s 1m 5m 15m 30m 1h 4h 8h 1d 7d.  Gate's 7d bars are not
--    documented to open on Monday (its futures text contrasts "7d" with a natural week), so 1w
--    is not offered; 1s and 30d exist on REST only.
-- Volume: spot reports the base volume `a` (REST element 7) and the quote volume `v` (element 2);
-- futures report `v`, the contract count, on both WS and REST (REST has no base figure, and the
-- WS `a` has no documented unit); see docs/exchanges.md.
local adapter = require("candled.adapter")
local json = require("candled.json")

-- Gate uses the canonical names for these.
local INTERVALS = adapter.same_intervals({ "10s", "1m", "5m", "15m", "30m", "1h", "4h", "8h", "1d" })
local STEP = {} -- seconds per period
for name, ms in pairs(adapter.periods(INTERVALS)) do STEP[name] = ms // 1000 end

local PREFIX = { spot = "spot", usdt = "futures", btc = "futures" }
local CANDLES = { spot = "spot.candlesticks", futures = "futures.candlesticks" }
local PONG = { spot = "spot.pong", futures = "futures.pong" }

-- One extractor per frame shape, with the same slots: spot's result object, futures' result
-- array (its first element; result.2 tells that more follow).  Control fields come last.
local C = { "t", "v", "c", "h", "l", "o", "n", "a", "w" }
local function paths(result)
  local p = { "channel", "event" }
  for _, f in ipairs(C) do p[#p + 1] = result .. f end
  for _, f in ipairs({ "result.2", "error.code", "error.message", "result" }) do p[#p + 1] = f end
  return p
end
local MORE = #C + 3 -- result.2
local extract_spot, extract_fut = json.extractor(paths("result.")), json.extractor(paths("result.1."))
local out = {}

-- Reused between calls: the core copies what parse returns before the next call.
local candle = {}
local result = { candle }

local tointeger, mtype = math.tointeger, math.type

-- Open time in ms from Gate's seconds (a JSON integer, or a string of digits on spot).
local function open_ms(t)
  if type(t) == "string" then
    if not t:find("^%d+$") or #t > 12 then return nil end
    t = tointeger(t)
  end
  if mtype(t) ~= "integer" then return nil end
  return t * 1000
end

-- Decimal text: a JSON string, or a number token (integer or exact text) such as futures' v.
-- Its syntax is checked by the core at the trust boundary (bad_open, bad_volume, ...).
local function dec(x)
  if mtype(x) == "integer" or type(x) == "string" then return x end
  return nil
end

-- "<interval>_<pair>" split once per stream name: interval, pair (nil if malformed).  A name
-- longer than the core takes (interval under 16 bytes, symbol under 64) is refused before the
-- cache: 4096 names of a megabyte each would fill the Lua state's memory cap.
local NAME_MAX = 80
local names, n_names = {}, 0
local function split(n)
  local e = names[n]
  if e then return e[1], e[2] end
  if #n > NAME_MAX then return nil end
  local us = n:find("_", 1, true)
  if not us or us == 1 or us == #n then return nil end
  if n_names >= 4096 then names, n_names = {}, 0 end -- garbage names cannot grow it without bound
  e = { n:sub(1, us - 1), n:sub(us + 1) }
  names[n], n_names = e, n_names + 1
  return e[1], e[2]
end

-- Fills candle `c` from Gate's fields; true, or nil, reason if a field is wrong.
local function fill(c, spot, t, v, cl, h, l, o, n, a, w)
  local ms = open_ms(t)
  local iv, sym
  if type(n) == "string" then iv, sym = split(n) end
  if not ms or not iv then return nil, "bad_field" end
  o, h, l, cl, v = dec(o), dec(h), dec(l), dec(cl), dec(v)
  if not (o and h and l and cl and v) then return nil, "bad_field" end
  c.interval, c.symbol, c.open_time = iv, sym, ms
  c.open, c.high, c.low, c.close = o, h, l, cl
  if spot then
    a = dec(a)
    if not a then return nil, "no_base_volume" end -- frames from before 2024 carry no `a`
    if w ~= nil and type(w) ~= "boolean" then return nil, "bad_field" end
    c.volume, c.quote_volume, c.closed = a, v, w
  else
    c.volume, c.quote_volume, c.closed = v, nil, nil
  end
  return true
end

-- cjson decodes every number as a float: an integral one back to an integer (exact below 2^53).
local function int(x)
  return mtype(x) == "float" and tointeger(x) or x
end

-- A futures frame with several candles: decoded as a whole (rare; the extractor sees the first).
local function futures_many(frame)
  local d = json.decode(frame)
  if type(d) ~= "table" or type(d.result) ~= "table" then return nil, "bad_json" end
  local list = {}
  for k, r in ipairs(d.result) do
    if type(r) ~= "table" then return nil, "bad_field" end
    local c = {}
    local ok, why = fill(c, false, int(r.t), int(r.v), r.c, r.h, r.l, r.o, r.n)
    if not ok then return nil, why end
    list[k] = c
  end
  return list
end

local function parse(session, frame)
  local prefix = PREFIX[session.market]
  local spot = prefix == "spot"
  if not (spot and extract_spot or extract_fut)(frame, out) then return nil, "bad_json" end
  local channel, event = out[1], out[2]
  local ecode, emsg = out[MORE + 1], out[MORE + 2]
  if ecode ~= nil then
    return { event = "error", message = string.format("%s %s: %s (code %s)", tostring(channel), tostring(event),
      tostring(emsg), tostring(ecode)) }
  end
  if channel ~= CANDLES[prefix] then
    if channel == PONG[prefix] then return { event = "pong" } end
    if type(channel) ~= "string" then return nil, "unknown_frame" end
    return nil, "unknown_channel"
  end
  if event == "update" then
    if not spot then
      if out[MORE] ~= nil then return futures_many(frame) end
      if out[MORE + 3] == "[]" then return {} end
    end
    local ok, why = fill(candle, spot, out[3], out[4], out[5], out[6], out[7], out[8], out[9], out[10], out[11])
    if not ok then return nil, why end
    return result
  end
  if event == "subscribe" or event == "unsubscribe" then return { event = "ack" } end
  return nil, "unknown_event"
end

local function control(session, event, streams)
  local frames, channel = {}, PREFIX[session.market] .. ".candlesticks"
  local now = adapter.now()
  for k, s in ipairs(streams) do
    frames[k] = string.format('{"time":%d,"id":%d,"channel":"%s","event":"%s","payload":["%s","%s"]}', now,
      adapter.next_id(session), channel, event, s.interval, s.symbol)
  end
  return frames
end

local function rest_request(market, q)
  local step = STEP[q.interval]
  local from = q.start_ms // 1000
  local to = math.max(from, math.min(q.end_ms // 1000, from + (q.limit - 1) * step))
  local url
  if market == "spot" then
    url = string.format("%s/api/v4/spot/candlesticks?currency_pair=%s&interval=%s&from=%d&to=%d", q.base_url,
      q.symbol, q.interval, from, to)
  else
    url = string.format("%s/api/v4/futures/%s/candlesticks?contract=%s&interval=%s&from=%d&to=%d", q.base_url,
      market, q.symbol, q.interval, from, to)
  end
  return { url = url, method = "GET" }
end

local function spot_row(r)
  local t = open_ms(r[1])
  if not t or #r < 7 then return nil end
  for i = 2, 7 do
    if not dec(r[i]) then return nil end
  end
  local closed = r[8]
  if closed == "true" or closed == true then
    closed = true
  elseif closed == "false" or closed == false then
    closed = false
  elseif closed ~= nil then
    return nil
  end
  return { open_time = t, open = r[6], high = r[4], low = r[5], close = r[3], volume = r[7], quote_volume = r[2],
           closed = closed }
end

local function futures_row(r)
  local t, v = open_ms(int(r.t)), dec(int(r.v))
  if not t or not v or not dec(r.o) or not dec(r.h) or not dec(r.l) or not dec(r.c) then return nil end
  return { open_time = t, open = r.o, high = r.h, low = r.l, close = r.c, volume = v }
end

local function rest_parse(market, q, body)
  local rows = json.decode(body)
  if type(rows) ~= "table" then return nil, "bad_json" end
  if rows.label ~= nil then return nil, "exchange_error" end
  local row = market == "spot" and spot_row or futures_row
  local candles = {}
  for k, r in ipairs(rows) do
    candles[k] = type(r) == "table" and row(r) or nil
    if not candles[k] then return nil, "bad_row" end
  end
  return candles
end

-- Futures candles carry no closed flag and are pushed at most every ~2 s (the docs give spot's
-- channel "update speed: 2000ms"; futures UNCONFIRMED): the last push of a period may miss its
-- last trades, so the inferred close waits for the REST row (confirm_inferred).
local function market_def(name, aliases, ws_url, rows, confirm)
  return { name = name, aliases = aliases, ws_url = ws_url, rest_url = "https://api.gateio.ws",
           max_streams = 200, max_sends_per_sec = 10, ping_interval = 10, idle_timeout = 30,
           rest_max_rows = rows, intervals = INTERVALS, confirm_inferred = confirm,
           rest_weight_per_minute = 1200, rest_weight = 1 } -- 200 requests / 10 s per endpoint per IP
end

return adapter.define{
  name = "gateio",
  markets = {
    market_def("spot", {}, "wss://api.gateio.ws/ws/v4/", 1000, false),
    market_def("usdt", { "futures", "linear" }, "wss://fx-ws.gateio.ws/v4/ws/usdt", 2000, true),
    market_def("btc", { "inverse" }, "wss://fx-ws.gateio.ws/v4/ws/btc", 2000, true),
  },
  symbol = function(market, text)
    if text:find("^mark_") or text:find("^index_") then
      return nil, "mark_ and index_ price candles are not supported (they carry no volume)"
    end
    local s = text:upper()
    if #s > 40 or not s:find("^[A-Z0-9]+_[A-Z0-9_]+$") then return nil, "symbol must look like BTC_USDT" end
    return s
  end,
  subscribe = function(session, streams) return control(session, "subscribe", streams) end,
  unsubscribe = function(session, streams) return control(session, "unsubscribe", streams) end,
  ping = function(session)
    return string.format('{"time":%d,"channel":"%s.ping"}', adapter.now(), PREFIX[session.market])
  end,
  parse = parse,
  rest = { request = rest_request, parse = rest_parse },
}

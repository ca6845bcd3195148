-- Binance: spot, USD-M futures (usdm) and COIN-M futures (coinm) klines.
--
-- Facts relied on (exchange docs as summarised in the project's research notes):
--  * WS endpoints: spot wss://stream.binance.com:9443/ws; USD-M klines live on the /market route
--    since 2026 (wss://fstream.binance.com/market/ws; the unrouted URL acks kline subscriptions
--    but never delivers them); COIN-M wss://dstream.binance.com/ws (not affected by the split).
--  * Live {"method":"SUBSCRIBE","params":[...],"id":N}, answered {"result":null,"id":N};
--    errors {"error":{"code":..,"msg":..},"id":..}; stream names <lower symbol>@kline_<interval>.
--  * Frames are raw {"e":"kline",...} on /ws, or {"stream":..,"data":{...}} on /stream.
--  * k.x is the closed flag; prices and volumes are strings; on COIN-M k.v counts contracts and
--    k.q is the BASE asset volume.  serverShutdown (raw e, or stream !serverShutdown) precedes
--    a server shutdown: reconnect.
--  * Limits: 1024 streams per connection; incoming messages (pings and pongs included) 5/s on
--    spot, 10/s on futures; spot pings every 20 s, futures every 3 min (answered by the core).
--    Klines are pushed every 1-2 s per stream, so 60 s of silence means a dead connection.
--  * A connection is valid 24 h; the server disconnects at the mark (all three markets): the core
--    rotates it before (max_connection_age).
--  * REST: /api/v3/klines (max 1000), /fapi/v1/klines and /dapi/v1/klines (max 1500), rows
--    [open time, o, h, l, c, volume, close time, quote volume (COIN-M: base volume), trades, ...]
--    oldest first; COIN-M needs both startTime and endTime (it anchors on endTime otherwise).
local adapter = require("candled.adapter")
local json = require("candled.json")

-- Binance uses the canonical names themselves.
local SPOT_INTERVALS = adapter.same_intervals({ "1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h",
                                                "12h", "1d", "3d", "1w", "1M" })
local DAY = 24 * 3600 -- seconds: every connection is cut at 24 h
local FUTURES_INTERVALS = {}
for iv, name in pairs(SPOT_INTERVALS) do
  if iv ~= "1s" then FUTURES_INTERVALS[iv] = name end -- 1s is spot only
end

local REST_PATH = { spot = "/api/v3/klines", usdm = "/fapi/v1/klines", coinm = "/dapi/v1/klines" }
local SUBSCRIBE_BATCH = 200

-- Two extractors, each one pass: combined frames ({"stream":..,"data":..}, recognised by their
-- first bytes) and everything else (raw events and control frames).
local K = { "t", "T", "s", "i", "o", "h", "l", "c", "v", "n", "x", "q" }
local raw_paths, combined_paths = { "e" }, { "data.e" }
for _, f in ipairs(K) do
  raw_paths[#raw_paths + 1] = "k." .. f
  combined_paths[#combined_paths + 1] = "data.k." .. f
end
local CTL = #raw_paths
for _, p in ipairs({ "id", "error.code", "error.msg", "code", "msg" }) do raw_paths[#raw_paths + 1] = p end
local extract_raw, extract_combined = json.extractor(raw_paths), json.extractor(combined_paths)
local out = {}

-- Reused between calls: the core copies what parse returns before the next call.
local candle = {}
local result = { candle }

local find = string.find

local function kline(coinm)
  local t, T, s, i = out[2], out[3], out[4], out[5]
  local o, h, l, c = out[6], out[7], out[8], out[9]
  local v, n, x, q = out[10], out[11], out[12], out[13]
  if math.type(t) ~= "integer" or math.type(T) ~= "integer" or type(s) ~= "string" or type(i) ~= "string"
    or type(o) ~= "string" or type(h) ~= "string" or type(l) ~= "string" or type(c) ~= "string"
    or type(v) ~= "string" or type(q) ~= "string" or type(x) ~= "boolean"
    or (n ~= nil and math.type(n) ~= "integer") then
    return nil, "bad_field"
  end
  candle.symbol, candle.interval, candle.open_time, candle.close_time = s, i, t, T
  candle.open, candle.high, candle.low, candle.close = o, h, l, c
  if coinm then
    candle.volume, candle.quote_volume = q, nil
  else
    candle.volume, candle.quote_volume = v, q
  end
  candle.closed, candle.trades = x, n
  return result
end

local function parse(session, frame)
  local extract = find(frame, '^{"stream":') and extract_combined or extract_raw
  if not extract(frame, out) then return nil, "bad_json" end
  local e = out[1]
  if e == nil and extract == extract_raw and out[CTL + 1] == nil and find(frame, '"data"', 1, true) then
    extract = extract_combined -- a combined frame laid out differently (whitespace, key order)
    extract(frame, out)
    e = out[1]
  end
  if e == "kline" then return kline(session.market == "coinm") end
  if e == "serverShutdown" then return { event = "reconnect", message = "serverShutdown" } end
  if e ~= nil then return nil, "unknown_event" end
  if extract == extract_combined then return nil, "unknown_frame" end
  local id, ecode, emsg, code, msg = out[CTL + 1], out[CTL + 2], out[CTL + 3], out[CTL + 4], out[CTL + 5]
  if ecode ~= nil or code ~= nil then
    return { event = "error", message = string.format("%s (code %s)", tostring(emsg or msg), tostring(ecode or code)) }
  end
  if id ~= nil then return { event = "ack" } end -- {"result":null,"id":N} or a LIST_SUBSCRIPTIONS answer
  return nil, "unknown_frame"
end

local function stream_names(streams)
  local names = {}
  for k, s in ipairs(streams) do names[k] = string.format('"%s@kline_%s"', s.symbol:lower(), s.interval) end
  return names
end

local function control(session, method, streams)
  local names, frames = stream_names(streams), {}
  for first, last in adapter.batches(#names, SUBSCRIBE_BATCH) do
    frames[#frames + 1] = string.format('{"method":"%s","params":[%s],"id":%d}', method,
      table.concat(names, ",", first, last), adapter.next_id(session))
  end
  return frames
end

local function rest_request(market, q)
  local url = string.format("%s%s?symbol=%s&interval=%s&startTime=%d&endTime=%d&limit=%d", q.base_url,
    REST_PATH[market], q.symbol, q.interval, q.start_ms, q.end_ms, q.limit)
  return { url = url, method = "GET" }
end

local function rest_parse(market, q, body)
  local rows = json.decode(body)
  if type(rows) ~= "table" then return nil, "bad_json" end
  if rows.code ~= nil then return nil, "exchange_error" end
  local candles = {}
  for k, r in ipairs(rows) do
    if type(r) ~= "table" then return nil, "bad_row" end -- r[1] of a number would raise
    local t, T, n = math.tointeger(r[1]), math.tointeger(r[7]), math.tointeger(r[9])
    if not t or not T or type(r[2]) ~= "string" or type(r[6]) ~= "string" or type(r[8]) ~= "string" then
      return nil, "bad_row"
    end
    candles[k] = {
      open_time = t, close_time = T, open = r[2], high = r[3], low = r[4], close = r[5],
      volume = market == "coinm" and r[8] or r[6], quote_volume = market ~= "coinm" and r[8] or nil,
      trades = n,
    }
  end
  return candles
end

-- REST weight: spot klines 2 whatever the limit, of 6000 a minute per IP; fapi/dapi klines by
-- limit ([1,100) 1, [100,500) 2, [500,1000] 5, more 10) of 2400 a minute.
local FUTURES_WEIGHTS = { { 99, 1 }, { 499, 2 }, { 1000, 5 }, { 1500, 10 } }

return adapter.define{
  name = "binance",
  markets = {
    { name = "spot", ws_url = "wss://stream.binance.com:9443/ws", rest_url = "https://api.binance.com",
      max_streams = 1024, max_sends_per_sec = 4, idle_timeout = 60, rest_max_rows = 1000,
      rest_weight_per_minute = 6000, rest_weight = 2, max_connection_age = DAY,
      intervals = SPOT_INTERVALS },
    { name = "usdm", aliases = { "futures", "linear" }, ws_url = "wss://fstream.binance.com/market/ws",
      rest_url = "https://fapi.binance.com", max_streams = 1024, max_sends_per_sec = 8, idle_timeout = 60,
      rest_max_rows = 1500, rest_weight_per_minute = 2400, rest_weight = FUTURES_WEIGHTS,
      max_connection_age = DAY, intervals = FUTURES_INTERVALS },
    { name = "coinm", aliases = { "delivery", "inverse" }, ws_url = "wss://dstream.binance.com/ws",
      rest_url = "https://dapi.binance.com", max_streams = 1024, max_sends_per_sec = 8, idle_timeout = 60,
      rest_max_rows = 1500, rest_weight_per_minute = 2400, rest_weight = FUTURES_WEIGHTS,
      max_connection_age = DAY, intervals = FUTURES_INTERVALS },
  },
  symbol = function(market, text)
    local s = text:upper()
    if #s > 40 or not s:find("^[A-Z0-9_]+$") then return nil, "symbol must match [A-Z0-9_]+" end
    return s
  end,
  subscribe = function(session, streams) return control(session, "SUBSCRIBE", streams) end,
  unsubscribe = function(session, streams) return control(session, "UNSUBSCRIBE", streams) end,
  parse = parse,
  rest = { request = rest_request, parse = rest_parse },
}

-- Bybit v5: spot, linear (USDT/USDC perpetuals and futures) and inverse klines.
--
-- Facts relied on (Bybit's v5 docs as summarised in the project's research notes, plus real
-- replies quoted in public issue threads):
--  * WS endpoints, one per category: wss://stream.bybit.com/v5/public/{spot,linear,inverse}; the
--    same symbol (BTCUSDT) exists on spot and linear, so the URL (and REST `category`) decides.
--  * {"req_id":"..","op":"subscribe","args":["kline.{interval}.{symbol}",...]}, answered
--    {"success":true|false,"ret_msg":..,"conn_id":..,"req_id":..,"op":"subscribe"}; spot takes at
--    most 10 args per request (more: success false, "args size >10"); futures have no args limit,
--    but one connection's args may total at most 21,000 characters.
--  * Pushes {"topic":"kline.5.BTCUSDT","data":[{start,end,interval,open,close,high,low,volume,
--    turnover,confirm,timestamp}],"ts":..,"type":"snapshot"}; the symbol is only in the topic;
--    confirm=true is the closed candle; data is an array (more than one candle is handled).
--  * Volume: spot and linear `volume` is the base asset and `turnover` the quote; on inverse
--    `volume` counts contracts of 1 USD (the quote coin) and `turnover` is the base coin.
--  * Keepalive: the client sends {"op":"ping"} (every 20 s recommended), answered
--    {"success":true,"ret_msg":"pong",..,"op":"ping"} (options: {"args":[..],"op":"pong"}); with no
--    ping-pong and no data the server cuts the connection after 10 minutes.  Klines are pushed
--    every 1-60 s, pongs come every 20 s: 60 s of silence means a dead connection.
--  * REST GET /v5/market/kline?category=&symbol=&interval=&start=&end=&limit= (limit 1..1000),
--    {"retCode":0,"retMsg":"OK","result":{"category":..,"symbol":..,"list":[[startTime,open,high,
--    low,close,volume,turnover],...]}} with every value a string, NEWEST FIRST; retCode != 0 is an
--    error (HTTP 200).  REST rows carry no closed flag (the core decides by time).
local adapter = require("candled.adapter")
local json = require("candled.json")

local INTERVALS = {
  ["1m"] = "1", ["3m"] = "3", ["5m"] = "5", ["15m"] = "15", ["30m"] = "30", ["1h"] = "60", ["2h"] = "120",
  ["4h"] = "240", ["6h"] = "360", ["12h"] = "720", ["1d"] = "D", ["1w"] = "W", ["1M"] = "M",
}
-- Period length in ms of each Bybit interval name; "M" is calendar months (see close_time).
local PERIOD_MS = adapter.periods(INTERVALS)

-- Topics per subscribe frame: spot's documented limit; futures have none, 200 keeps frames small.
local ARGS_PER_FRAME = { spot = 10, linear = 200, inverse = 200 }

-- One extractor, one pass: the first candle of a push and the control-frame fields.
local K = { "start", "end", "interval", "open", "high", "low", "close", "volume", "turnover", "confirm" }
local paths = { "topic" }
for _, f in ipairs(K) do paths[#paths + 1] = "data.1." .. f end
local MORE = #paths + 1
paths[MORE] = "data.2"
for _, p in ipairs({ "op", "success", "ret_msg" }) do paths[#paths + 1] = p end
local OP, SUCCESS, RET_MSG = MORE + 1, MORE + 2, MORE + 3
local extract = json.extractor(paths)
local out = {}

-- Extractors for the k-th candle of a push that carries several (built on first use).
local extract_nth = {}
local function nth_extractor(k)
  local ex = extract_nth[k]
  if not ex then
    local p = {}
    for i, f in ipairs(K) do p[i] = "data." .. k .. "." .. f end
    p[#p + 1] = "data." .. (k + 1)
    ex = json.extractor(p)
    extract_nth[k] = ex
  end
  return ex
end

local function is_dec(v) return type(v) == "string" or math.type(v) == "integer" end

local function days_in_month(y, m)
  if m == 2 then return (y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0)) and 29 or 28 end
  return (m == 4 or m == 6 or m == 9 or m == 11) and 30 or 31
end

-- Last ms of the period opening at t (REST rows do not say; WS frames do, as `end`).
local function close_time(interval, t)
  local ms = PERIOD_MS[interval]
  if ms then return t + ms - 1 end
  local d = os.date("!*t", t // 1000)
  return t + days_in_month(d.year, d.month) * 86400000 - 1
end

-- Fills c from out[base+1 .. base+#K] (the fields of K in order); false if a field is wrong.
local function fill(c, o, base, symbol, inverse)
  local t, e, i = o[base + 1], o[base + 2], o[base + 3]
  local op, hi, lo, cl, v, q, x = o[base + 4], o[base + 5], o[base + 6], o[base + 7], o[base + 8], o[base + 9],
    o[base + 10]
  if math.type(t) ~= "integer" or math.type(e) ~= "integer" or type(i) ~= "string" or not is_dec(op)
    or not is_dec(hi) or not is_dec(lo) or not is_dec(cl) or not is_dec(v) or not is_dec(q)
    or type(x) ~= "boolean" then
    return false
  end
  c.symbol, c.interval, c.open_time, c.close_time = symbol, i, t, e
  c.open, c.high, c.low, c.close = op, hi, lo, cl
  if inverse then
    c.volume, c.quote_volume = q, v
  else
    c.volume, c.quote_volume = v, q
  end
  c.closed = x
  return true
end

-- Reused between calls: the core copies what parse returns before the next call.
local candle = {}
local result = { candle }

-- The second and later candles of a push, each with its own extractor pass.
local function more_candles(frame, symbol, inverse, first)
  local list, o = { first }, {}
  local k = 2
  while k <= 100 do -- the core refuses candles past its per-frame cap; this bounds the work
    local ex = nth_extractor(k)
    ex(frame, o)
    local c = {}
    if not fill(c, o, 0, symbol, inverse) then return nil, "bad_field" end
    list[k] = c
    if o[#K + 1] == nil then break end
    k = k + 1
  end
  return list
end

local function kline(session, frame, topic)
  local symbol = topic:match("^kline%.[^.]+%.(.+)$")
  if not symbol then return nil, "unknown_event" end
  local inverse = session.market == "inverse"
  if out[MORE] == nil then
    if not fill(candle, out, 1, symbol, inverse) then return nil, "bad_field" end
    return result
  end
  local first = {}
  if not fill(first, out, 1, symbol, inverse) then return nil, "bad_field" end
  return more_candles(frame, symbol, inverse, first)
end

local function control(op)
  local ok, msg = out[SUCCESS], out[RET_MSG]
  if op == "pong" then return { event = "pong" } end
  if ok == false then
    return { event = "error", message = string.format("%s (op %s)", tostring(msg), tostring(op)) }
  end
  if ok ~= true then return nil, "unknown_frame" end
  if op == "ping" then return { event = "pong" } end
  if op == "subscribe" or op == "unsubscribe" then return { event = "ack" } end
  return nil, "unknown_event"
end

local function parse(session, frame)
  if not extract(frame, out) then return nil, "bad_json" end
  local topic = out[1]
  if topic ~= nil then
    if type(topic) ~= "string" then return nil, "bad_field" end
    return kline(session, frame, topic)
  end
  local op = out[OP]
  if type(op) == "string" then return control(op) end
  return nil, "unknown_frame"
end

local function control_frames(session, op, streams)
  local topics, frames = {}, {}
  for k, s in ipairs(streams) do topics[k] = string.format('"kline.%s.%s"', s.interval, s.symbol) end
  for first, last in adapter.batches(#topics, ARGS_PER_FRAME[session.market] or 10) do
    frames[#frames + 1] = string.format('{"req_id":"%d","op":"%s","args":[%s]}', adapter.next_id(session), op,
      table.concat(topics, ",", first, last))
  end
  return frames
end

local function rest_request(market, q)
  local url = string.format("%s/v5/market/kline?category=%s&symbol=%s&interval=%s&start=%d&end=%d&limit=%d",
    q.base_url, market, q.symbol, q.interval, q.start_ms, q.end_ms, q.limit)
  return { url = url, method = "GET" }
end

local function rest_parse(market, q, body)
  local page = json.decode(body)
  if type(page) ~= "table" then return nil, "bad_json" end
  if page.retCode ~= 0 then return nil, "exchange_error" end
  local list = type(page.result) == "table" and page.result.list
  if type(list) ~= "table" then return nil, "bad_page" end
  local inverse = market == "inverse"
  local candles = {}
  for k, r in ipairs(list) do
    if type(r) ~= "table" or type(r[1]) ~= "string" or not r[1]:find("^%d+$") or #r[1] > 15 then
      return nil, "bad_row"
    end
    for i = 2, 7 do
      if type(r[i]) ~= "string" then return nil, "bad_row" end
    end
    local t = math.tointeger(tonumber(r[1]))
    candles[k] = {
      open_time = t, close_time = close_time(q.interval, t), open = r[2], high = r[3], low = r[4], close = r[5],
      volume = inverse and r[7] or r[6], quote_volume = inverse and r[6] or r[7],
    }
  end
  return candles
end

-- One connection's args may total 21,000 characters: 350 topics of the longest symbols this
-- adapter accepts ("kline.720." + 40 characters) stay under it.
local function market(name, rest)
  return {
    name = name, ws_url = "wss://stream.bybit.com/v5/public/" .. name, rest_url = rest, max_streams = 350,
    max_sends_per_sec = 10, ping_interval = 20, idle_timeout = 60, rest_max_rows = 1000,
    rest_weight_per_minute = 7200, rest_weight = 1, -- 600 requests / 5 s per IP
  }
end

return adapter.define{
  name = "bybit",
  intervals = INTERVALS,
  markets = {
    market("spot", "https://api.bybit.com"),
    market("linear", "https://api.bybit.com"),
    market("inverse", "https://api.bybit.com"),
  },
  symbol = function(_, text)
    local s = text:upper()
    if #s > 40 or not s:find("^[A-Z0-9][A-Z0-9-]*$") then return nil, "symbol must match [A-Z0-9-]+" end
    return s
  end,
  subscribe = function(session, streams) return control_frames(session, "subscribe", streams) end,
  unsubscribe = function(session, streams) return control_frames(session, "unsubscribe", streams) end,
  ping = function() return '{"op":"ping"}' end,
  parse = parse,
  rest = { request = rest_request, parse = rest_parse },
}

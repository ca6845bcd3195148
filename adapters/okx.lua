-- OKX (API v5): spot, perpetual swap and expiry futures candles.
--
-- Facts relied on (OKX docs v5 as summarised in the project's research notes, exchanges.md §4):
--  * Candles are only on the business endpoint wss://ws.okx.com:8443/ws/v5/business (moved off
--    /ws/v5/public in 2023).  Channels candle<bar>, argument {"channel":"candle1m","instId":..}.
--  * {"id":"..","op":"subscribe","args":[..]} is answered per argument by
--    {"id":..,"event":"subscribe","arg":{..},"connId":..}; failures by
--    {"event":"error","code":"60012","msg":..}; {"event":"notice","code":"64008"} announces a
--    service-upgrade disconnect.  480 subscribe/unsubscribe requests per connection per hour,
--    64 KB of channels per request.
--  * The server drops a connection with no traffic for 30 s: the client sends the text "ping"
--    and gets the text "pong".
--  * Push {"arg":{..},"data":[[ts,o,h,l,c,vol,volCcy,volCcyQuote,confirm]]}, all strings;
--    confirm "1" = the candle is complete.  vol counts contracts on derivatives (base currency on
--    spot); volCcy is the base currency on derivatives (quote currency on spot); volCcyQuote is
--    the quote currency.  Older pushes had 7 fields (no volCcyQuote, no confirm).
--  * Bars 1m 3m 5m 15m 30m 1H 2H 4H; 6H and longer open at UTC+8 unless the name ends in "utc".
--    1s only on history-candles (REST) and candle1s (WS).
--  * REST GET /api/v5/market/candles (the latest 1,440 rows, limit <= 300) and
--    /api/v5/market/history-candles (older; limit <= 100 in the older docs, 300 in 2025: 100 is
--    used), {"code":"0","data":[rows]} NEWEST FIRST; `after` = rows older than ts, `before` =
--    rows newer than ts (both exclusive).
local adapter = require("candled.adapter")
local json = require("candled.json")

-- Canonical interval -> OKX bar.  Days, weeks and months use the UTC bars (canonical intervals
-- are UTC); 8h and 10s do not exist at OKX; 5D has no REST bar to backfill it.
local INTERVALS = {
  ["1s"] = "1s", ["1m"] = "1m", ["3m"] = "3m", ["5m"] = "5m", ["15m"] = "15m", ["30m"] = "30m",
  ["1h"] = "1H", ["2h"] = "2H", ["4h"] = "4H", ["6h"] = "6Hutc", ["12h"] = "12Hutc",
  ["1d"] = "1Dutc", ["2d"] = "2Dutc", ["3d"] = "3Dutc", ["1w"] = "1Wutc", ["1M"] = "1Mutc", ["3M"] = "3Mutc",
}
local BAR_MS = adapter.periods(INTERVALS) -- OKX bar -> ms (months have no fixed length)
local SUBSCRIBE_BATCH = 100    -- arguments per subscribe frame (~6 KB, far under 64 KB)
local CANDLES_ROWS, HISTORY_ROWS = 300, 100
local CANDLES_DEPTH = 1400     -- /market/candles serves the latest 1,440 rows: stay inside them

-- The market an instrument id names: BTC-USDT spot, BTC-USDT-SWAP swap, BTC-USD-250328 futures.
local function market_of(text)
  local s = text:upper()
  if #s > 40 then return nil end
  if s:find("^[A-Z0-9]+%-[A-Z0-9]+$") then return "spot" end
  if s:find("^[A-Z0-9]+%-[A-Z0-9]+%-SWAP$") then return "swap" end
  if s:find("^[A-Z0-9]+%-[A-Z0-9]+%-%d%d%d%d%d%d$") then return "futures" end
  return nil
end

local function symbol(market, text)
  local s = text:upper()
  local kind = market_of(s)
  if not kind then return nil, "not an OKX instrument id (BTC-USDT, BTC-USDT-SWAP, BTC-USD-250328)" end
  if kind ~= market then return nil, string.format("%s is a %s instrument, not %s", s, kind, market) end
  return s
end

-- One pass over a frame: the event fields and the first row of data.
local PATHS = { "event", "arg.channel", "arg.instId" }
for i = 1, 9 do PATHS[#PATHS + 1] = "data.1." .. i end
local ROW = 4 -- out[ROW .. ROW + 8] = ts .. confirm
local ROW2, CODE, MSG = 13, 14, 15
for _, p in ipairs({ "data.2", "code", "msg" }) do PATHS[#PATHS + 1] = p end
local extract = json.extractor(PATHS)
local out = {}

local find, sub, tonumber, type = string.find, string.sub, tonumber, type

local function open_time(ts)
  if type(ts) ~= "string" or #ts > 15 or not find(ts, "^%d+$") then return nil end
  return tonumber(ts)
end

local CONFIRM = { ["0"] = false, ["1"] = true }

-- Fills candle c from row fields ts..confirm; false if a field is wrong.
local function fill(c, derivative, ts, o, h, l, cl, vol, volccy, volquote, confirm)
  local t = open_time(ts)
  if not t or type(o) ~= "string" or type(h) ~= "string" or type(l) ~= "string" or type(cl) ~= "string"
    or type(vol) ~= "string" or type(volccy) ~= "string" then
    return false
  end
  local closed = nil
  if confirm ~= nil then
    closed = CONFIRM[confirm]
    if closed == nil or type(volquote) ~= "string" then return false end
  elseif volquote ~= nil then
    return false
  end
  c.open_time, c.open, c.high, c.low, c.close, c.closed = t, o, h, l, cl, closed
  if derivative then
    c.volume, c.quote_volume = volccy, volquote           -- vol counts contracts
  else
    c.volume, c.quote_volume = vol, volquote or volccy    -- 7-field rows: volCcy is the quote
  end
  return true
end

-- Reused between calls: the core copies what parse returns before the next call.
local candle = {}
local result = { candle }

-- A push with several rows: decoded in full (rare; OKX sends one row per push).
local function rows_frame(frame, derivative, instid, interval)
  local d = json.decode(frame)
  if type(d) ~= "table" or type(d.data) ~= "table" then return nil, "bad_json" end
  local candles = {}
  for k, r in ipairs(d.data) do
    if type(r) ~= "table" then return nil, "bad_field" end
    local c = { symbol = instid, interval = interval }
    if not fill(c, derivative, r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9]) then return nil, "bad_field" end
    candles[k] = c
  end
  return candles
end

local function push(session, frame)
  local channel, instid = out[2], out[3]
  if type(channel) ~= "string" or type(instid) ~= "string" or sub(channel, 1, 6) ~= "candle" then
    return nil, "unknown_channel"
  end
  local interval, derivative = sub(channel, 7), session.market ~= "spot"
  if out[ROW2] ~= nil then return rows_frame(frame, derivative, instid, interval) end
  if out[ROW] == nil then
    if find(frame, '"data"%s*:%s*%[%s*%]') then return {} end
    return nil, "bad_field"
  end
  if not fill(candle, derivative, out[ROW], out[ROW + 1], out[ROW + 2], out[ROW + 3], out[ROW + 4], out[ROW + 5],
              out[ROW + 6], out[ROW + 7], out[ROW + 8]) then
    return nil, "bad_field"
  end
  candle.symbol, candle.interval = instid, interval
  return result
end

local function parse(session, frame)
  if frame == "pong" then return { event = "pong" } end
  local ok = extract(frame, out)
  if not ok then return nil, "bad_json" end
  local event = out[1]
  if event == nil then
    if out[2] ~= nil then return push(session, frame) end
    return nil, "unknown_frame"
  end
  if event == "subscribe" or event == "unsubscribe" then return { event = "ack" } end
  local code, msg = out[CODE], out[MSG]
  if event == "error" then
    return { event = "error", message = string.format("%s (code %s)", tostring(msg), tostring(code)) }
  end
  if event == "notice" then -- 64008: the connection will soon be closed for a service upgrade
    return { event = "reconnect", message = string.format("%s (code %s)", tostring(msg), tostring(code)) }
  end
  return nil, "unknown_event"
end

local function control(session, op, streams)
  local frames = {}
  for first, last in adapter.batches(#streams, SUBSCRIBE_BATCH) do
    local args = {}
    for k = first, last do
      local s = streams[k]
      args[#args + 1] = string.format('{"channel":"candle%s","instId":"%s"}', s.interval, s.symbol)
    end
    frames[#frames + 1] = string.format('{"id":"%d","op":"%s","args":[%s]}', adapter.next_id(session), op,
      table.concat(args, ","))
  end
  return frames
end

-- The oldest `limit` periods from start_ms (history-candles when they are beyond the latest
-- 1,440 rows of /market/candles, or for 1s bars which only it serves), as an after/before window.
local function rest_request(market, q)
  local ms = BAR_MS[q.interval]
  local history = q.interval == "1s" or (ms ~= nil and q.start_ms < q.end_ms - CANDLES_DEPTH * ms)
  local limit = math.min(q.limit, history and HISTORY_ROWS or CANDLES_ROWS)
  local last = q.end_ms
  if ms and q.start_ms + (limit - 1) * ms < last then last = q.start_ms + (limit - 1) * ms end
  local url = string.format("%s/api/v5/market/%s?instId=%s&bar=%s&after=%d&before=%d&limit=%d", q.base_url,
    history and "history-candles" or "candles", q.symbol, q.interval, last + 1, q.start_ms - 1, limit)
  return { url = url, method = "GET" }
end

local function rest_parse(market, q, body)
  local d = json.decode(body)
  if type(d) ~= "table" then return nil, "bad_json" end
  if d.code ~= "0" then return nil, "exchange_error" end
  if type(d.data) ~= "table" then return nil, "bad_row" end
  local candles, derivative = {}, market ~= "spot"
  for k, r in ipairs(d.data) do
    local c = {}
    if type(r) ~= "table" or not fill(c, derivative, r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9]) then
      return nil, "bad_row"
    end
    candles[k] = c
  end
  return candles
end

local function market(name)
  return {
    name = name, ws_url = "wss://ws.okx.com:8443/ws/v5/business", rest_url = "https://www.okx.com",
    max_streams = 200, max_sends_per_sec = 2, ping_interval = 20, idle_timeout = 45,
    rest_max_rows = CANDLES_ROWS, intervals = INTERVALS,
    -- 40 requests / 2 s on candles, 20 / 2 s on history-candles (per IP, www.okx.com for all
    -- markets): the smaller, as either may be asked
    rest_weight_per_minute = 600, rest_weight = 1,
  }
end

return adapter.define{
  name = "okx",
  markets = { market("spot"), market("swap"), market("futures") },
  market_of = market_of,
  symbol = symbol,
  subscribe = function(session, streams) return control(session, "subscribe", streams) end,
  unsubscribe = function(session, streams) return control(session, "unsubscribe", streams) end,
  ping = function() return "ping" end,
  parse = parse,
  rest = { request = rest_request, parse = rest_parse },
}

-- Hyperliquid: perpetuals (perp, incl. HIP-3 dex:COIN) and spot candles.
--
-- Facts relied on (Hyperliquid's API docs as summarised in the project's research notes):
--  * WS wss://api.hyperliquid.xyz/ws (same endpoint for perps and spot).  Live
--    {"method":"subscribe","subscription":{"type":"candle","coin":C,"interval":I}} and
--    "unsubscribe", acknowledged {"channel":"subscriptionResponse","data":{"method":..,
--    "subscription":{..}}}; errors {"channel":"error","data":"<text>"} (e.g. "Already subscribed:
--    {...}", "Cannot subscribe to more than 1000 channels."); the server may greet with the plain
--    text "Websocket connection established.".
--  * Pushes {"channel":"candle","data":CANDLE}: the docs say data is Candle[], the official SDK
--    and ccxt read one object; both are accepted.  Candle = {t open ms, T close ms (t + interval
--    - 1), s coin, i interval, o c h l (strings in ccxt's sample, numbers in the doc type: both
--    kept as their exact text), v base-asset volume, n trades}.  There is NO closed flag: closed
--    is left nil and the core infers it.
--  * The server closes a connection it sent nothing to for 60 s; a client sends
--    {"method":"ping"} and gets {"channel":"pong"} (the SDK pings every 50 s).
--  * Limits per IP: 1000 subscriptions, 2000 messages sent per minute, 10 connections.
--  * REST: POST /info {"type":"candleSnapshot","req":{"coin","interval","startTime","endTime"}}
--    answers rows {"T","c","h","i","l","n","o","s","t","v"} oldest first; only the most recent
--    5000 candles exist; a time-range answer holds at most 500 elements (page by startTime).
--  * Coins: perps by name ("BTC", "kPEPE": case matters), HIP-3 "dex:COIN"; spot "PURR/USDC"
--    (index 0, the only pair called by name) or "@<index in spotMeta.universe>" ("@107").
local adapter = require("candled.adapter")
local json = require("candled.json")

-- Hyperliquid uses the canonical names.
local INTERVALS = adapter.same_intervals({ "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "8h", "12h", "1d", "3d",
                                           "1w", "1M" })
-- Period lengths for the REST window (1M: its shortest month, so a window never holds more).
local PERIOD_MS = adapter.periods(INTERVALS)
PERIOD_MS["1M"] = 28 * 86400000

local FIELDS = { "t", "T", "s", "i", "o", "c", "h", "l", "v", "n" }
local NF = #FIELDS

-- The frame extractor: the channel, data (raw text when it is an array or an error string),
-- data.method of an acknowledgement, the fields of an object payload, and those of the first
-- element of an array payload with the presence of a second, so that the usual one-candle array
-- costs one pass too.
local frame_paths = { "channel", "data", "data.method", "data.2" }
for _, f in ipairs(FIELDS) do frame_paths[#frame_paths + 1] = "data." .. f end
for _, f in ipairs(FIELDS) do frame_paths[#frame_paths + 1] = "data.1." .. f end
local extract_frame = json.extractor(frame_paths)
local FIELD0, FIRST0 = 4, 4 + NF -- out[FIELD0 + k] is data.FIELDS[k], out[FIRST0 + k] data.1.FIELDS[k]

-- Array payloads are read PER_CHUNK elements per pass (a presence path and the fields of each
-- element); the extractors are built on first use and kept.  Pushes carry one candle in
-- practice, and at most CDL_PARSE_MAX (64) are taken from a frame: read one more, which the core
-- refuses as too_many_candles.
local PER_CHUNK, MAX_ARRAY = 5, 65
local chunks = {}
local function chunk_extractor(c)
  local ex = chunks[c]
  if ex then return ex end
  local paths = {}
  for j = c * PER_CHUNK + 1, (c + 1) * PER_CHUNK do
    paths[#paths + 1] = tostring(j)
    for _, f in ipairs(FIELDS) do paths[#paths + 1] = j .. "." .. f end
  end
  ex = json.extractor(paths)
  chunks[c] = ex
  return ex
end

-- A decimal as the extractor gives it: a string or a number's text (checked by the core), or an
-- integer; not an object or array (their raw text).
local function is_num_text(x)
  return (type(x) == "string" and not x:find("^[%[{]")) or math.type(x) == "integer"
end

-- Fills dst from t, T, s, i, o, c, h, l, v, n; false if a field has the wrong type.
local function fill(dst, t, T, s, i, o, c, h, l, v, n)
  if math.type(t) ~= "integer" or math.type(T) ~= "integer" or type(s) ~= "string" or type(i) ~= "string"
    or not is_num_text(o) or not is_num_text(c) or not is_num_text(h) or not is_num_text(l)
    or not is_num_text(v) or (n ~= nil and math.type(n) ~= "integer") then
    return false
  end
  dst.symbol, dst.interval, dst.open_time, dst.close_time = s, i, t, T
  dst.open, dst.high, dst.low, dst.close, dst.volume, dst.trades = o, h, l, c, v, n
  dst.closed = nil -- no flag: the core infers it
  return true
end

local function fill_at(dst, out, b)
  return fill(dst, out[b + 1], out[b + 2], out[b + 3], out[b + 4], out[b + 5], out[b + 6], out[b + 7],
    out[b + 8], out[b + 9], out[b + 10])
end

-- The candles of a JSON array text (the documented Candle[] payload), or nil, reason.
local function candles_of_array(text)
  local candles, cx = {}, {}
  for c = 0, MAX_ARRAY // PER_CHUNK do
    if not chunk_extractor(c)(text, cx) then return nil, "bad_json" end
    for j = 0, PER_CHUNK - 1 do
      local b = j * (NF + 1)
      if cx[b + 1] == nil or #candles == MAX_ARRAY then return candles end
      local k = {}
      if not fill_at(k, cx, b + 1) then return nil, "bad_field" end
      candles[#candles + 1] = k
    end
  end
  return candles
end

-- Reused between calls: the core copies what parse returns before the next call.
local out = {}
local single = {}
local result = { single }
local NO_CANDLES = {}

local function parse(session, frame)
  if frame == "Websocket connection established." then return NO_CANDLES end -- the greeting
  if not extract_frame(frame, out) then return nil, "bad_json" end
  local channel, data = out[1], out[2]
  if channel == "candle" then
    local base = FIELD0
    if out[FIELD0 + 1] == nil and type(data) == "string" and data:find("^%[") then -- the documented Candle[]
      if out[4] ~= nil or data:find("^%[%s*%]$") then return candles_of_array(data) end
      base = FIRST0
    end
    if not fill_at(single, out, base) then return nil, "bad_field" end
    return result
  end
  if channel == "pong" then return { event = "pong" } end
  if channel == "subscriptionResponse" then
    if out[3] ~= "subscribe" and out[3] ~= "unsubscribe" then return nil, "bad_field" end
    return { event = "ack" }
  end
  if channel == "error" then
    return { event = "error", message = type(data) == "string" and data or "error channel without text" }
  end
  if channel == nil then return nil, "unknown_frame" end
  return nil, "unknown_channel"
end

local function control(method, streams)
  local frames = {}
  for k, s in ipairs(streams) do
    frames[k] = string.format('{"method":"%s","subscription":{"type":"candle","coin":"%s","interval":"%s"}}',
      method, s.symbol, s.interval)
  end
  return frames
end

-- Symbols are the exchange's own and case-sensitive (kPEPE); checked, never changed.
local function symbol(market, text)
  if #text == 0 or #text > 40 then return nil, "symbol must be 1 to 40 characters" end
  if market == "spot" then
    -- the pair at index 0 is the one spot pair Hyperliquid calls by name; no zero-padded indexes
    if text == "@0" then return nil, "the spot pair @0 is called PURR/USDC" end
    if text:find("^@[1-9]%d*$") or text == "PURR/USDC" then return text end
    return nil, "spot pairs are '@<index>' (spotMeta universe, e.g. @107) or PURR/USDC"
  end
  if text:find("^[A-Za-z0-9]+$") or text:find("^[a-z0-9]+:[A-Za-z0-9]+$") then return text end
  return nil, "perp coins are names like BTC or kPEPE, or dex:COIN for HIP-3 dexes"
end

local function rest_request(market, q)
  local period = PERIOD_MS[q.interval]
  local last = q.end_ms
  if period and q.start_ms + q.limit * period - 1 < last then last = q.start_ms + q.limit * period - 1 end
  local body = string.format(
    '{"type":"candleSnapshot","req":{"coin":"%s","interval":"%s","startTime":%d,"endTime":%d}}',
    q.symbol, q.interval, q.start_ms, last)
  return { url = q.base_url .. "/info", method = "POST", body = body, headers = { "Content-Type: application/json" } }
end

-- A price that came as a JSON number: its exact text, read by an extractor (cjson would give a
-- double).  Rows have strings in every documented sample, so this is the rare path.
-- One scan of the body yields the texts of 64 rows (CHUNK[k]: rows 64k-63 .. 64k), and the
-- decimals are read from the row's own text: an extractor per row over the whole body was
-- quadratic, and C time is not counted by the instruction budget (found by fuzzing: a 1 MB page
-- of 8000 such rows held the loop for 6 s).
local ROW_DECIMALS = json.extractor{ "o", "h", "l", "c", "v" }
local CHUNK = {}
local function row_chunk_extractor(k)
  if CHUNK[k] then return CHUNK[k] end
  local p = {}
  for i = 1, 64 do p[i] = tostring(64 * (k - 1) + i) end
  local e = json.extractor(p)
  if k <= 16 then CHUNK[k] = e end -- pages of more than 1024 rows (none legitimate) are not cached
  return e
end

local function exact_decimals(body, j, page)
  local k = (j - 1) // 64 + 1
  if page.k ~= k then
    page.k, page.rows = k, {}
    row_chunk_extractor(k)(body, page.rows)
  end
  local row, v = page.rows[(j - 1) % 64 + 1], {}
  if type(row) ~= "string" or not ROW_DECIMALS(row, v) then return nil end
  return v[1], v[2], v[3], v[4], v[5]
end

local function rest_parse(market, q, body)
  local rows = json.decode(body)
  if rows == nil then return nil, "bad_json" end
  if type(rows) ~= "table" or not body:find("^%s*%[") then return nil, "exchange_error" end
  local candles, page = {}, {}
  for j, r in ipairs(rows) do
    if type(r) ~= "table" then return nil, "bad_row" end
    local o, h, l, c, v = r.o, r.h, r.l, r.c, r.v
    if type(o) == "number" or type(h) == "number" or type(l) == "number" or type(c) == "number"
      or type(v) == "number" then
      o, h, l, c, v = exact_decimals(body, j, page)
    end
    local n = r.n
    if n ~= nil then n = math.tointeger(n) or false end
    local k = {}
    if not fill(k, math.tointeger(r.t) or false, math.tointeger(r.T) or false, r.s, r.i, o, c, h, l, v, n) then
      return nil, "bad_row"
    end
    candles[j] = k
  end
  return candles
end

-- REST weight of candleSnapshot: 20, plus 1 per 60 candles returned (counted per started 60),
-- of 1200 a minute per IP.
local WEIGHTS = {}
for k = 1, 9 do WEIGHTS[k] = { math.min(60 * k, 500), 20 + k } end

return adapter.define{
  name = "hyperliquid",
  intervals = INTERVALS,
  markets = {
    { name = "perp", aliases = { "perps", "swap" }, ws_url = "wss://api.hyperliquid.xyz/ws",
      rest_url = "https://api.hyperliquid.xyz", max_streams = 1000, max_sends_per_sec = 10, ping_interval = 30,
      idle_timeout = 75, rest_max_rows = 500, rest_weight_per_minute = 1200, rest_weight = WEIGHTS },
    { name = "spot", ws_url = "wss://api.hyperliquid.xyz/ws", rest_url = "https://api.hyperliquid.xyz",
      max_streams = 1000, max_sends_per_sec = 10, ping_interval = 30, idle_timeout = 75, rest_max_rows = 500,
      rest_weight_per_minute = 1200, rest_weight = WEIGHTS },
  },
  symbol = symbol,
  subscribe = function(session, streams) return control("subscribe", streams) end,
  unsubscribe = function(session, streams) return control("unsubscribe", streams) end,
  ping = function(session) return '{"method":"ping"}' end,
  parse = parse,
  rest = { request = rest_request, parse = rest_parse },
}

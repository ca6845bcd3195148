-- examples/adapter_skeleton.lua: a complete adapter to start a new exchange from.  Copy it to
-- adapters/<name>.lua, set `name` to <name>, and change what the exchange does differently;
-- `candled check` loads it and names the field of any mistake (docs/adapters.md is the contract).
-- tests/e2e/test_adapter_skeleton.sh checks it as adapters/skeleton.lua, and
-- tests/lua/skeleton_spec.lua runs its hooks.
--
-- The exchange it speaks is made up, in the shape most exchanges have:
--   subscribe  {"op":"subscribe","id":7,"args":["kline.1m.BTCUSDT",...]}   (at most 50 per frame)
--   answer     {"op":"subscribe","id":7,"ok":true}, or "ok":false with "msg" (one per frame)
--   candle     {"topic":"kline.1m.BTCUSDT","t":1700000040000,"o":"1.5","h":"1.6","l":"1.4",
--              "c":"1.55","v":"12.5","x":true}   (x: the period is closed; absent: the core decides)
--   ping/pong  {"op":"ping","ts":<seconds>} every 20 s, answered {"op":"pong"}
--   REST       GET <rest_url>/klines?symbol=&interval=&start=&end=&limit= -> [[t,o,h,l,c,v],...]
local adapter = require("candled.adapter")
local json = require("candled.json")

local INTERVALS = adapter.same_intervals({ "1m", "5m", "1h", "1d" }) -- it names them canonically
local BATCH = 50 -- streams per subscribe frame

-- One pass over a frame, no table built (json.extractor): the control fields and the candle's.
local extract = json.extractor({ "op", "ok", "msg", "topic", "t", "o", "h", "l", "c", "v", "x" })
local out = {}

-- The scratch tables (docs/adapters.md, "The scratch-table rule"): parse hands back the same
-- tables on every call, so a frame costs no garbage; every field is written on every call.
local candle = {}
local result = { candle }

local function kline(topic)
  local interval, symbol = topic:match("^kline%.([^.]+)%.(.+)$")
  if not interval then return nil, "unknown_channel" end
  local t, o, h, l, c, v, x = out[5], out[6], out[7], out[8], out[9], out[10], out[11]
  if math.type(t) ~= "integer" or type(o) ~= "string" or type(h) ~= "string" or type(l) ~= "string"
    or type(c) ~= "string" or type(v) ~= "string" or (x ~= nil and type(x) ~= "boolean") then
    return nil, "bad_field"
  end
  candle.symbol, candle.interval, candle.open_time = symbol, interval, t
  candle.open, candle.high, candle.low, candle.close, candle.volume = o, h, l, c, v
  candle.closed = x
  return result
end

local function parse(session, frame)
  if not extract(frame, out) then return nil, "bad_json" end
  local op, topic = out[1], out[4]
  if type(topic) == "string" then return kline(topic) end
  if op == "subscribe" or op == "unsubscribe" then
    -- The ack rule: one ack for each subscribe frame the exchange confirmed, never before.
    if out[2] == true then return { event = "ack" } end
    return { event = "error", message = tostring(out[3]) }
  end
  if op == "pong" then return { event = "pong" } end
  if op ~= nil then return nil, "unknown_event" end
  return nil, "unknown_frame"
end

local function control(session, op, streams)
  local frames = {}
  for first, last in adapter.batches(#streams, BATCH) do
    local args = {}
    for k = first, last do
      args[#args + 1] = string.format('"kline.%s.%s"', streams[k].interval, streams[k].symbol)
    end
    frames[#frames + 1] = string.format('{"op":"%s","id":%d,"args":[%s]}', op, adapter.next_id(session),
      table.concat(args, ","))
  end
  return frames
end

local function rest_request(market, q)
  return {
    url = string.format("%s/klines?symbol=%s&interval=%s&start=%d&end=%d&limit=%d", q.base_url, q.symbol,
      q.interval, q.start_ms, q.end_ms, q.limit),
  }
end

local function rest_parse(market, q, body)
  local rows = json.decode(body)
  if type(rows) ~= "table" then return nil, "bad_json" end
  local candles = {}
  for k, r in ipairs(rows) do
    local t = type(r) == "table" and math.tointeger(r[1])
    if not t then return nil, "bad_row" end
    for i = 2, 6 do
      if type(r[i]) ~= "string" then return nil, "bad_row" end
    end
    candles[k] = { open_time = t, open = r[2], high = r[3], low = r[4], close = r[5], volume = r[6] }
  end
  return candles
end

return adapter.define{
  name = "skeleton",
  intervals = INTERVALS,
  markets = {
    { name = "spot", ws_url = "wss://ws.skeleton.example/v1", rest_url = "https://api.skeleton.example",
      max_streams = 200, max_sends_per_sec = 5, ping_interval = 20, idle_timeout = 60, rest_max_rows = 1000,
      rest_weight_per_minute = 1200 },
  },
  symbol = function(market, text)
    local s = text:upper()
    if not s:find("^[A-Z0-9]+$") then return nil, "symbol must match [A-Z0-9]+" end
    return s
  end,
  subscribe = function(session, streams) return control(session, "subscribe", streams) end,
  unsubscribe = function(session, streams) return control(session, "unsubscribe", streams) end,
  ping = function() return string.format('{"op":"ping","ts":%d}', adapter.now()) end,
  parse = parse,
  rest = { request = rest_request, parse = rest_parse },
}

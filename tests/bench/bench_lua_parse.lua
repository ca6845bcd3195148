-- The adapters' parse alone (Binance, Bybit, Hyperliquid on its object and array payloads), in
-- plain Lua 5.4 (no sockets, no C host): frames per second with the candled.json extractor,
-- against decoding the same frame with lua-cjson.
--   lua5.4 tests/bench/bench_lua_parse.lua BUILD_DIR [N]
local build, n = arg[1] or "build", tonumber(arg[2]) or 1000000
package.cpath = build .. "/lua/?.so;" .. package.cpath
package.path = "lua/?.lua;" .. package.path
local cjson = require("cjson")
local binance = dofile("adapters/binance.lua")
local frame = io.open("tests/fixtures/binance/spot_ws_combined_kline_1m.jsonl"):read("l")
local session = { exchange = "binance", market = "spot" }

local function bench(name, fn)
  fn() -- warm up
  local t0 = os.clock()
  for _ = 1, n do fn() end
  local dt = os.clock() - t0
  print(string.format("%-40s %10.0f frames/s  %6.2f us/frame", name, n / dt, dt / n * 1e6))
end

bench("binance.parse (candled.json extractor)", function() return binance.parse(session, frame) end)
bench("cjson.decode + field reads", function()
  local d = cjson.decode(frame).data.k
  return d.t, d.o, d.h, d.l, d.c, d.v, d.x
end)

-- Bybit: the doc-sample push (one candle in data[], the symbol in the topic), compacted to one line
local bybit = dofile("adapters/bybit.lua")
local json = require("candled.json")
local bframe = json.encode(json.decode(io.open("tests/fixtures/bybit/ws_kline_5_btcusdt.docsample.json"):read("a")))
local bsession = { exchange = "bybit", market = "linear" }
bench("bybit.parse (candled.json extractor)", function() return bybit.parse(bsession, bframe) end)
bench("cjson.decode + field reads (bybit)", function()
  local d = cjson.decode(bframe).data[1]
  return d.start, d.open, d.high, d.low, d.close, d.volume, d.confirm
end)
local hl = dofile("adapters/hyperliquid.lua")
local hl_frames = {}
for l in io.lines("tests/fixtures/hyperliquid/ws_frames.synthetic.jsonl") do hl_frames[#hl_frames + 1] = l end
local hl_session = { exchange = "hyperliquid", market = "perp" }
bench("hyperliquid.parse, object payload", function() return hl.parse(hl_session, hl_frames[3]) end)
bench("hyperliquid.parse, array payload", function() return hl.parse(hl_session, hl_frames[4]) end)

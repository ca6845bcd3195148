-- examples/adapter_skeleton.lua: its hooks do what its header says (SYNTHETIC frames, written
-- from that header), so the example a new adapter starts from works, not only loads.
local skeleton = dofile("examples/adapter_skeleton.lua")

local CANDLE = '{"topic":"kline.1m.BTCUSDT","t":1700000040000,"o":"1.5","h":"1.6","l":"1.4","c":"1.55",'
  .. '"v":"12.5","x":true}'

describe("the skeleton adapter", function()
  it("batches subscriptions, one request id per frame", function()
    local session, streams = {}, {}
    for i = 1, 120 do streams[i] = { symbol = "S" .. i, interval = "1m" } end
    local frames = skeleton.subscribe(session, streams)
    assert.are.equal(3, #frames)
    assert.are.equal(50, select(2, frames[1]:gsub('"kline', "")))
    assert.are.equal(20, select(2, frames[3]:gsub('"kline', "")))
    assert.truthy(frames[1]:find('^{"op":"subscribe","id":1,"args":%["kline.1m.S1","kline.1m.S2",'))
    assert.truthy(frames[3]:find('"id":3,"args":%["kline.1m.S101",.*"kline.1m.S120"%]}$'))
    assert.are.same({ '{"op":"unsubscribe","id":4,"args":["kline.1m.S1"]}' },
      skeleton.unsubscribe(session, { streams[1] }))
  end)

  it("parses a candle into the scratch tables, every field written each time", function()
    local r = skeleton.parse({}, CANDLE)
    assert.are.same({ { symbol = "BTCUSDT", interval = "1m", open_time = 1700000040000, open = "1.5", high = "1.6",
                        low = "1.4", close = "1.55", volume = "12.5", closed = true } }, r)
    local again = skeleton.parse({}, (CANDLE:gsub(',"x":true', "")))
    assert.are.equal(r, again) -- the same table
    assert.is_nil(again[1].closed) -- not left over from the frame before
  end)

  it("reports one ack per confirmed frame, errors, pongs and rejections", function()
    assert.are.same({ event = "ack" }, skeleton.parse({}, '{"op":"subscribe","id":7,"ok":true}'))
    assert.are.same({ event = "error", message = "no such symbol" },
      skeleton.parse({}, '{"op":"subscribe","id":7,"ok":false,"msg":"no such symbol"}'))
    assert.are.same({ event = "pong" }, skeleton.parse({}, '{"op":"pong"}'))
    local function rej(f) return select(2, skeleton.parse({}, f)) end
    assert.are.equal("bad_json", rej('{"op":'))
    assert.are.equal("unknown_event", rej('{"op":"auth"}'))
    assert.are.equal("unknown_frame", rej("[1]"))
    assert.are.equal("unknown_channel", rej('{"topic":"trades.BTCUSDT"}'))
    assert.are.equal("bad_field", rej((CANDLE:gsub('"t":1700000040000', '"t":"soon"'))))
  end)

  it("pings with the current time and asks for and reads REST pages", function()
    local before = os.time()
    local ts = tonumber(skeleton.ping({}):match('^{"op":"ping","ts":(%d+)}$'))
    assert.is_true(ts >= before and ts <= os.time())
    local q = { symbol = "BTCUSDT", interval = "1m", start_ms = 1700000040000, end_ms = 1700000159999, limit = 2,
                base_url = "https://api.skeleton.example" }
    assert.are.same({ url = "https://api.skeleton.example/klines?symbol=BTCUSDT&interval=1m&start=1700000040000"
                            .. "&end=1700000159999&limit=2" }, skeleton.rest.request("spot", q))
    local rows = skeleton.rest.parse("spot", q, '[[1700000040000,"1","2","0.5","1.5","10"]]')
    assert.are.same({ { open_time = 1700000040000, open = "1", high = "2", low = "0.5", close = "1.5",
                        volume = "10" } }, rows)
    assert.are.same({ nil, "bad_row" }, { skeleton.rest.parse("spot", q, '[[1700000040000,"1"]]') })
    assert.are.equal("BTCUSDT", skeleton.symbol("spot", "btcusdt"))
    assert.are.same({ nil, "symbol must match [A-Z0-9]+" }, { skeleton.symbol("spot", "BTC-USDT") })
  end)
end)

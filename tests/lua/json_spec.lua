-- candled.json (core/lua/lua_json.c + core/base/jsonscan.c), loaded as build/lua/candled/json.so.
local json = require("candled.json")

describe("the test runtime", function()
  it("is Lua 5.4 (busted --lua=lua5.4)", function()
    assert.are.equal("Lua 5.4", _VERSION)
  end)
end)

describe("json.extractor", function()
  it("reads strings, integers, exact number text, booleans, null and raw containers", function()
    local ex = json.extractor{ "s", "i", "f", "big", "neg", "t", "n", "o", "a", "a.2", "missing", "o.x.y" }
    local out = {}
    local doc = '{"s":"0.35270000","i":1633998480000,"f":1.50,"big":9223372036854775808,"neg":-5,'
      .. '"t":true,"n":null,"o":{"x":{"y":"deep"}},"a":[10,"b",[1]]}'
    assert.is_true(ex(doc, out))
    assert.are.equal("0.35270000", out[1])
    assert.are.equal(1633998480000, out[2])
    assert.are.equal("integer", math.type(out[2]))
    assert.are.equal("1.50", out[3])                      -- exact token text, never a float
    assert.are.equal("9223372036854775808", out[4])       -- too big for int64: text
    assert.are.equal(-5, out[5])
    assert.is_true(out[6])
    assert.is_nil(out[7])
    assert.are.equal('{"x":{"y":"deep"}}', out[8])
    assert.are.equal('[10,"b",[1]]', out[9])
    assert.are.equal("b", out[10])
    assert.is_nil(out[11])
    assert.are.equal("deep", out[12])
  end)

  it("unescapes strings, surrogate pairs included", function()
    local ex = json.extractor{ "k" }
    local out = {}
    assert.is_true(ex('{"k":"a\\"b\\\\c\\/d\\n\\u00e9\\ud83d\\ude00"}', out))
    assert.are.equal('a"b\\c/d\n\195\169\240\159\152\128', out[1])
    assert.is_true(ex('{"k\\u0041":1,"k":"x"}', out)) -- keys are compared unescaped
    assert.are.equal("x", out[1])
  end)

  it("clears fields absent from the next document", function()
    local ex = json.extractor{ "a", "b" }
    local out = {}
    assert.is_true(ex('{"a":1,"b":2}', out))
    assert.is_true(ex('{"a":3}', out))
    assert.are.equal(3, out[1])
    assert.is_nil(out[2])
  end)

  local bad = {
    { "", "truncated document at byte 0" },
    { "{", "truncated object at byte 1" },
    { '{"a":1', "truncated object at byte 6" },
    { '{"a":1}x', "trailing characters at byte 7" },
    { '{"a":01}', "leading zero at byte 6" },
    { '{"a":1.}', "bad fraction at byte 7" },
    { '{"a":"x\ny"}', "control character in string at byte 7" },
    { '{"a":"\\q"}', "bad escape at byte 7" },
    { '{"a":tru}', "invalid literal at byte 5" },
    { "{a:1}", "expected a key at byte 1" },
    { '["a" "b"]', "expected ',' or ']' at byte 5" },
    { string.rep("[", 65) .. string.rep("]", 65), "nesting too deep at byte 64" },
  }
  for _, case in ipairs(bad) do
    it("rejects " .. case[1]:sub(1, 20):gsub("\n", "\\n"), function()
      local ok, err = json.extractor{ "a" }(case[1], {})
      assert.is_nil(ok)
      assert.are.equal(case[2], err)
    end)
  end

  it("rejects every truncation of a real frame and accepts the whole", function()
    local f = assert(io.open("tests/fixtures/binance/spot_ws_combined_kline_1m.jsonl"))
    local frame = f:read("l")
    f:close()
    local ex, out = json.extractor{ "data.k.o" }, {}
    for n = 0, #frame - 1 do
      assert.is_nil((ex(frame:sub(1, n), out)))
    end
    assert.is_true(ex(frame, out))
    assert.are.equal("0.35270000", out[1])
  end)

  it("refuses bad paths and arguments with a Lua error", function()
    assert.has_error(function() json.extractor{} end)
    assert.has_error(function() json.extractor{ "a..b" } end)
    assert.has_error(function() json.extractor{ 5 } end)
    assert.has_error(function() json.extractor{ "a" }(nil, {}) end)
  end)
end)

describe("json.decode / json.encode", function()
  it("are lua-cjson's safe variants", function()
    local t = json.decode('{"a":[1,"2"]}')
    assert.are.equal("2", t.a[2])
    local v, err = json.decode("{")
    assert.is_nil(v)
    assert.is_string(err)
    assert.are.equal('{"a":"x"}', json.encode({ a = "x" }))
  end)
end)

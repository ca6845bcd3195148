-- docs/exchanges.md's table against the adapters themselves, so it cannot drift: every market of
-- every adapters/*.lua has exactly one row, with its aliases, its default WebSocket endpoint,
-- its REST page size (the first number of that cell), its connection lifetime ("connections
-- live N h" in the keepalive cell, exactly when max_connection_age is set), "confirmed by REST"
-- in the closed-flag cell exactly when confirm_inferred is set, and exactly the intervals it offers; no row names a market that does not exist.
local fx = dofile("tests/lua/fixtures.lua")

local ORDER = { "1s", "10s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h",
                "1d", "2d", "3d", "5d", "1w", "1M", "3M" }

local function cells(line)
  local out = {}
  for c in line:sub(2, -2):gmatch("([^|]*)|?") do out[#out + 1] = c:match("^%s*(.-)%s*$") end
  if out[#out] == "" then out[#out] = nil end
  return out
end

local rows, order = {}, {}
for line in fx.read("docs/exchanges.md"):gmatch("[^\n]+") do
  local c = cells(line)
  local ex = line:sub(1, 1) == "|" and c[1]:match("^`([%w_]+)`$")
  if ex and #c == 8 then
    local mk = c[2]:match("^`([%w_]+)`")
    local key = ex .. "/" .. mk
    assert(not rows[key], "two rows for " .. key)
    rows[key] = c
    order[#order + 1] = key
  end
end

-- a cell that says "as spot" takes that row's cell
local function resolve(ex, c, i)
  local ref = c[i]:match("^as (%w+)$")
  return ref and rows[ex .. "/" .. ref][i] or c[i]
end

local names = {}
local ls = assert(io.popen("ls adapters"))
for f in ls:lines() do names[#names + 1] = f:match("^([%w_]+)%.lua$") end
ls:close()

describe("docs/exchanges.md", function()
  it("has one row per market of every adapter, and no other", function()
    local want = {}
    for _, name in ipairs(names) do
      for _, m in ipairs(dofile("adapters/" .. name .. ".lua").markets) do want[#want + 1] = name .. "/" .. m.name end
    end
    table.sort(want)
    local got = {}
    for _, k in ipairs(order) do got[#got + 1] = k end
    table.sort(got)
    assert.are.same(want, got)
  end)
  for _, name in ipairs(names) do
    it("matches adapters/" .. name .. ".lua", function()
      local a = dofile("adapters/" .. name .. ".lua")
      for _, m in ipairs(a.markets) do
        local c = rows[name .. "/" .. m.name]
        local aliases = {}
        for al in c[2]:gmatch("%(([^)]*)%)") do
          for x in al:gmatch("`([%w_]+)`") do aliases[#aliases + 1] = x end
        end
        assert.are.same(m.aliases or {}, aliases, name .. " " .. m.name .. " aliases")
        local ws = resolve(name, c, 3):match("^`([^`]+)`")
        assert.are.equal(m.ws_url, ws, name .. " " .. m.name .. " ws_url")
        assert.are.equal(m.rest_max_rows, tonumber(resolve(name, c, 5):match("%d+")), name .. " " .. m.name .. " rows")
        local live = resolve(name, c, 7):match("connections live (%d+) h")
        local age = m.max_connection_age or 0
        assert.are.equal(age > 0 and age / 3600 or nil, live and tonumber(live) or nil, name .. " " .. m.name .. " lifetime")
        assert.are.equal(m.confirm_inferred == true, resolve(name, c, 6):find("confirmed by REST", 1, true) ~= nil,
                         name .. " " .. m.name .. " confirm_inferred")
        local ivs = {}
        for _, iv in ipairs(ORDER) do if m.intervals[iv] then ivs[#ivs + 1] = iv end end
        assert.are.equal(table.concat(ivs, " "), resolve(name, c, 8), name .. " " .. m.name .. " intervals")
      end
    end)
  end
end)

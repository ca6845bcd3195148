-- candled.adapter: the SDK entry point of every adapter (contract: docs/adapters.md).
--
-- define{...} checks the adapter table and fills defaults, so a mistake in an adapter file is a
-- clear load error naming the field ("adapter 'x': markets[2].ws_url must be a ws:// or wss://
-- URL string") rather than a failure on the first frame.  The rules are not written here: they
-- come from candled.contract, the C tables (core/adapter_schema.c) the host checks every adapter
-- with again at the trust boundary, so the two cannot drift.  The helpers below are what every
-- adapter needs: request ids, batches of streams per frame, period lengths, the current time.

local contract = require("candled.contract")

local M = {}

local LIMITS = contract.limits
local CANONICAL, PERIOD = {}, {}
for _, iv in ipairs(contract.intervals) do
  CANONICAL[iv.name] = true
  if iv.ms > 0 then PERIOD[iv.name] = iv.ms end
end
M.canonical_intervals = CANONICAL

local function fail(name, fmt, ...)
  error(string.format("adapter '%s': " .. fmt, name, ...), 3)
end

-- rest_weight: nil (1), a number > 0, or { {max_limit, weight}, ... } with growing max_limit.
local function check_weights(name, where, w, f)
  if w == nil then return end
  if type(w) == "number" then
    if w > 0 and w <= f.max then return end
  elseif type(w) == "table" and #w >= 1 and #w <= LIMITS.rest_weights then
    local last = 0
    for k, step in ipairs(w) do
      local ok = type(step) == "table" and #step == 2 and math.type(step[1]) == "integer" and
        step[1] > last and step[1] <= LIMITS.rest_rows and type(step[2]) == "number" and step[2] > 0 and
        step[2] <= f.max
      if not ok then
        fail(name, "%s.rest_weight[%d] must be {max_limit, weight} (max_limit growing, in [1, %d]; weight > 0)",
             where, k, LIMITS.rest_rows)
      end
      last = step[1]
    end
    return
  end
  fail(name, "%s.rest_weight must be a number > 0 or an array of {max_limit, weight}", where)
end

local function check_intervals(name, where, map)
  if type(map) ~= "table" then fail(name, "%s.intervals must be a table", where) end
  local n = 0
  for k, v in pairs(map) do
    if not CANONICAL[k] then fail(name, "%s.intervals: '%s' is not a canonical interval", where, tostring(k)) end
    if type(v) ~= "string" or v == "" then fail(name, "%s.intervals['%s'] must be a non-empty string", where, k) end
    if #v > LIMITS.interval_name_len then
      fail(name, "%s.intervals['%s'] is longer than %d characters", where, k, LIMITS.interval_name_len)
    end
    n = n + 1
  end
  if n == 0 then fail(name, "%s.intervals is empty", where) end
end

local function has_scheme(s, schemes)
  for _, p in ipairs(schemes) do
    if s:sub(1, #p) == p then return true end
  end
  return false
end

-- Names and aliases must be unique within the adapter: `seen` holds those so far.
local function claim(name, where, seen, n, what)
  if seen[n] then
    if what == "market" then fail(name, "%s: market '%s' defined twice", where, n) end
    fail(name, "%s: alias '%s' is already a market or alias", where, n)
  end
  seen[n] = true
end

local function check_aliases(name, where, m, f, seen)
  m.aliases = m.aliases or {}
  if type(m.aliases) ~= "table" then fail(name, "%s.aliases must be an array", where) end
  if #m.aliases > f.max then fail(name, "%s.aliases: at most %d", where, f.max) end
  for k, a in ipairs(m.aliases) do
    if type(a) ~= "string" then fail(name, "%s.aliases[%d] must be a string", where, k) end
    if not contract.is_name(a) then fail(name, "%s.aliases[%d] must be a lower-case identifier", where, k) end
    claim(name, where, seen, a, "alias")
  end
end

-- One field of market m, by its row of the contract's market schema.
local function check_field(name, where, m, f, seen)
  local v, t = m[f.field], f.type
  if t == "name" then
    if not contract.is_name(v) then fail(name, "%s.%s must be %s", where, f.field, f.expect) end
    claim(name, where, seen, v, "market")
  elseif t == "url" then
    if v == nil and not f.required then return end
    if type(v) ~= "string" or #v > LIMITS.url_len or not has_scheme(v, f.schemes) then
      fail(name, "%s.%s must be %s", where, f.field, f.expect)
    end
  elseif t == "integer" or t == "number" then
    if v == nil then
      m[f.field] = f.default
    elseif type(v) ~= "number" or not (v >= f.min and v <= f.max) then -- NaN fails both
      fail(name, "%s.%s must be %s", where, f.field, f.expect)
    end
  elseif t == "boolean" then
    if v ~= nil and type(v) ~= "boolean" then fail(name, "%s.%s must be %s", where, f.field, f.expect) end
  elseif t == "weights" then
    check_weights(name, where, v, f)
  elseif t == "aliases" then
    check_aliases(name, where, m, f, seen)
  end -- intervals: after the fields (the adapter's own map is the fallback)
end

function M.define(t)
  if type(t) ~= "table" then error("adapter.define expects a table", 2) end
  local name = t.name
  if not contract.is_name(name) then
    error("adapter.define: name must be a lower-case identifier", 2)
  end
  if t.intervals ~= nil then check_intervals(name, "adapter", t.intervals) end
  if type(t.markets) ~= "table" or #t.markets == 0 then fail(name, "markets must be a non-empty array") end
  if #t.markets > LIMITS.markets then fail(name, "markets: at most %d", LIMITS.markets) end
  local seen = {}
  for i, m in ipairs(t.markets) do
    local where = string.format("markets[%d]", i)
    if type(m) ~= "table" then fail(name, "%s must be a table", where) end
    for _, f in ipairs(contract.market) do check_field(name, where, m, f, seen) end
    if m.intervals == nil then
      if t.intervals == nil then fail(name, "%s has no intervals (set markets[].intervals or intervals)", where) end
      m.intervals = t.intervals
    else
      check_intervals(name, where, m.intervals)
    end
  end
  for _, h in ipairs(contract.hooks) do
    local f = t[h.name]
    if f == nil then
      if h.required then fail(name, "%s must be a function", h.name) end
    elseif type(f) ~= "function" then
      fail(name, "%s must be a function", h.name)
    end
  end
  if t.rest ~= nil then
    local ok = type(t.rest) == "table"
    for _, h in ipairs(contract.rest_hooks) do ok = ok and type(t.rest[h]) == "function" end
    if not ok then fail(name, "rest must be a table with request and parse functions") end
  end
  return t
end

-- Decimal text as the core accepts it: a JSON number token of at most 47 characters (the C
-- check of the trust boundary itself).
M.is_decimal = contract.is_decimal

-- ---- helpers -------------------------------------------------------------------------------------

-- The next request id of a connection (1, 2, ...), kept in session.next_id so that it survives a
-- reload (docs/adapters.md, sessions).
function M.next_id(session)
  local id = (session.next_id or 0) + 1
  session.next_id = id
  return id
end

-- for first, last in adapter.batches(n, size): the ranges 1..size, size+1..2*size, ... covering
-- 1..n (none when n is 0): one subscribe frame per range.
function M.batches(n, size)
  local first = 1 - size
  return function()
    first = first + size
    if first > n then return nil end
    return first, math.min(first + size - 1, n)
  end
end

-- An interval map for an exchange that uses the canonical names themselves: { "1m", "1h" } ->
-- { ["1m"] = "1m", ["1h"] = "1h" }.
function M.same_intervals(names)
  local map = {}
  for _, iv in ipairs(names) do map[iv] = iv end
  return map
end

-- The period length in ms of a canonical interval, from the core's interval table; nil for the
-- calendar intervals (1M, 3M), whose length varies.
function M.period_ms(canonical)
  return PERIOD[canonical]
end

-- Period lengths by the exchange's interval names: an interval map (canonical -> exchange name)
-- into { [exchange name] = ms }, calendar intervals left out.
function M.periods(map)
  local ms = {}
  for canonical, exchange in pairs(map) do ms[exchange] = PERIOD[canonical] end
  return ms
end

-- The current time in whole seconds (what os.time() gives), read from the core's clock so that
-- frames that carry a timestamp follow the time the core runs on.
function M.now()
  return contract.now_ms() // 1000
end

return M

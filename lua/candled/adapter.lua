-- candled.adapter: the SDK entry point of every adapter (contract: docs/adapters.md).
--
-- define{...} checks the adapter table and fills defaults, so a mistake in an adapter file is a
-- clear load error naming the field ("adapter 'x': markets[2].ws_url must be a string") rather
-- than a failure on the first frame.  The C host checks the result again at the trust boundary.

local M = {}

local CANONICAL = {}
for _, iv in ipairs({ "1s", "10s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h",
                      "1d", "2d", "3d", "5d", "1w", "1M", "3M" }) do
  CANONICAL[iv] = true
end
M.canonical_intervals = CANONICAL

local DEFAULTS = {
  max_streams = 200, max_sends_per_sec = 5, ping_interval = 0, idle_timeout = 60, rest_max_rows = 500,
  max_connection_age = 0, rest_weight_per_minute = 0, rest_weight_burst = 0,
}
local LIMITS = {
  max_streams = { 1, 100000 }, max_sends_per_sec = { 0.1, 1000 }, ping_interval = { 0, 3600 },
  idle_timeout = { 1, 86400 }, rest_max_rows = { 1, 10000 }, max_connection_age = { 0, 604800 },
  rest_weight_per_minute = { 0, 10000000 }, rest_weight_burst = { 0, 10000000 },
}
local HOOKS = { "symbol", "market_of", "connect_url", "subscribe", "unsubscribe", "ping", "parse" }
local REQUIRED = { subscribe = true, parse = true }

local function fail(name, fmt, ...)
  error(string.format("adapter '%s': " .. fmt, name, ...), 3)
end

-- rest_weight: nil (1), a number > 0, or { {max_limit, weight}, ... } with growing max_limit.
local function check_weights(name, where, w)
  if w == nil then return end
  if type(w) == "number" then
    if w > 0 and w <= 1e6 then return end
  elseif type(w) == "table" and #w >= 1 and #w <= 16 then
    local last = 0
    for k, step in ipairs(w) do
      local ok = type(step) == "table" and #step == 2 and math.type(step[1]) == "integer" and
        step[1] > last and step[1] <= 10000 and type(step[2]) == "number" and step[2] > 0 and step[2] <= 1e6
      if not ok then
        fail(name, "%s.rest_weight[%d] must be {max_limit, weight} (max_limit growing, in [1, 10000]; weight > 0)",
             where, k)
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
    n = n + 1
  end
  if n == 0 then fail(name, "%s.intervals is empty", where) end
end

function M.define(t)
  if type(t) ~= "table" then error("adapter.define expects a table", 2) end
  local name = t.name
  if type(name) ~= "string" or not name:find("^[a-z0-9_]+$") then
    error("adapter.define: name must be a lower-case identifier", 2)
  end
  if t.intervals ~= nil then check_intervals(name, "adapter", t.intervals) end
  if type(t.markets) ~= "table" or #t.markets == 0 then fail(name, "markets must be a non-empty array") end
  local seen = {}
  for i, m in ipairs(t.markets) do
    local where = string.format("markets[%d]", i)
    if type(m) ~= "table" then fail(name, "%s must be a table", where) end
    if type(m.name) ~= "string" or not m.name:find("^[a-z0-9_]+$") then
      fail(name, "%s.name must be a lower-case identifier", where)
    end
    if seen[m.name] then fail(name, "%s: market '%s' defined twice", where, m.name) end
    seen[m.name] = true
    m.aliases = m.aliases or {}
    if type(m.aliases) ~= "table" then fail(name, "%s.aliases must be an array", where) end
    if #m.aliases > 4 then fail(name, "%s.aliases: at most 4", where) end
    for k, a in ipairs(m.aliases) do
      if type(a) ~= "string" then fail(name, "%s.aliases[%d] must be a string", where, k) end
      if seen[a] then fail(name, "%s: alias '%s' is already a market or alias", where, a) end
      seen[a] = true
    end
    if type(m.ws_url) ~= "string" or not m.ws_url:find("^wss?://") then
      fail(name, "%s.ws_url must be a ws:// or wss:// URL string", where)
    end
    if m.rest_url ~= nil and (type(m.rest_url) ~= "string" or not m.rest_url:find("^https?://")) then
      fail(name, "%s.rest_url must be an http(s):// URL string", where)
    end
    for field, dflt in pairs(DEFAULTS) do
      local v = m[field]
      if v == nil then
        m[field] = dflt
      elseif type(v) ~= "number" or v < LIMITS[field][1] or v > LIMITS[field][2] then
        fail(name, "%s.%s must be a number in [%s, %s]", where, field, LIMITS[field][1], LIMITS[field][2])
      end
    end
    check_weights(name, where, m.rest_weight)
    if m.confirm_inferred ~= nil and type(m.confirm_inferred) ~= "boolean" then
      fail(name, "%s.confirm_inferred must be a boolean", where)
    end
    if m.intervals == nil then
      if t.intervals == nil then fail(name, "%s has no intervals (set markets[].intervals or intervals)", where) end
      m.intervals = t.intervals
    else
      check_intervals(name, where, m.intervals)
    end
  end
  for _, h in ipairs(HOOKS) do
    local f = t[h]
    if f == nil then
      if REQUIRED[h] then fail(name, "%s must be a function", h) end
    elseif type(f) ~= "function" then
      fail(name, "%s must be a function", h)
    end
  end
  if t.rest ~= nil then
    if type(t.rest) ~= "table" or type(t.rest.request) ~= "function" or type(t.rest.parse) ~= "function" then
      fail(name, "rest must be a table with request and parse functions")
    end
  end
  return t
end

-- Decimal text as the core accepts it: a JSON number token.
function M.is_decimal(s)
  return type(s) == "string" and #s < 48 and s:find("^%-?%d+%.?%d*[eE]?[-+]?%d*$") ~= nil
    and s:find("^%-?0%d") == nil and s:find("%.$") == nil and s:find("[eE][-+]?$") == nil
end

return M

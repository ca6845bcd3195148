-- Helpers the adapter specs share for reading tests/fixtures/ (loaded with dofile; not a spec).
local M = {}

function M.lines(path) -- one WebSocket frame per line
  local t = {}
  for l in io.lines(path) do t[#t + 1] = l end
  return t
end

function M.read(path)
  local f = assert(io.open(path))
  local s = f:read("a")
  f:close()
  return s
end

return M

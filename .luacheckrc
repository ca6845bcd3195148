-- luacheck (Debian lua-check) for candled's Lua: `luacheck .` from the tree's root, or the
-- CTest test lint/luacheck.  Adapters, the SDK and examples run in the adapters' sandbox
-- (core/lua_host.c, push_sandbox_env): only the globals below, and os only in part.  The busted
-- specs run under plain Lua 5.4 with busted's globals.
std = "lua54"
codes = true

local function fields(...)
  local t = {}
  for _, f in ipairs({ ... }) do t[f] = {} end
  return { fields = t }
end

stds.candled_sandbox = {
  read_globals = {
    "assert", "error", "ipairs", "next", "pairs", "pcall", "select", "tonumber", "tostring", "type",
    "xpcall", "rawequal", "rawget", "rawlen", "rawset", "setmetatable", "getmetatable", "_VERSION",
    "_G", "require",
    -- string.dump is removed
    string = fields("byte", "char", "find", "format", "gmatch", "gsub", "len", "lower", "match", "pack",
                    "packsize", "rep", "reverse", "sub", "unpack", "upper"),
    table = fields("concat", "insert", "move", "pack", "remove", "sort", "unpack"),
    math = fields("abs", "acos", "asin", "atan", "ceil", "cos", "deg", "exp", "floor", "fmod", "huge",
                  "log", "max", "maxinteger", "min", "mininteger", "modf", "pi", "rad", "random",
                  "randomseed", "sin", "sqrt", "tan", "tointeger", "type", "ult"),
    utf8 = fields("char", "charpattern", "codepoint", "codes", "len", "offset"),
    os = fields("clock", "date", "time"),
  },
}

files["adapters"] = { std = "candled_sandbox" }
files["lua"] = { std = "candled_sandbox" }
files["examples"] = { std = "candled_sandbox" }
files["tests/lua"] = { std = "lua54+busted" }

-- The hooks' signatures are the adapter contract (docs/adapters.md): a hook that does not need
-- its session, market or request argument still takes it.
files["adapters"].ignore = { "212/session", "212/market", "212/q" }
files["examples"].ignore = files["adapters"].ignore
-- Specs keep a recorded frame or an expected quote on one line, to be compared and grepped whole.
files["tests/lua"].max_line_length = false
max_line_length = 120
-- config.lua is data: it runs with no libraries and an empty environment.
files["config.lua"] = { std = "none" }
exclude_files = { "build/**", "build-*/**" }

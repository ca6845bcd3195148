-- candled configuration: data only (no libraries), read at start-up and on SIGHUP.
-- Every key, its default and its CONNECTOR_* environment variable: docs/configuration.md.
return {
  server = { host = "127.0.0.1", port = 8765, health_port = 8766 },

  log = { level = "info", format = "json" },          -- "text" for humans

  -- Per exchange and market, replace the default endpoints (e.g. a testnet or candled-sim):
  -- exchanges = {
  --   binance = { spot = { ws_url = "ws://127.0.0.1:9001/ws", rest_url = "http://127.0.0.1:9001" } },
  -- },

  -- The adapters and their SDK: by default adapters/ beside this file if it exists, else the
  -- installation's share/candled/ (found from the executable; from a build tree, the sources').
  -- lua = { adapters_dir = "/path/to/adapters", sdk_dir = "/path/to/lua" },

  -- Always-on streams (`make run` streams these).
  subscriptions = {
    { exchange = "binance", market = "spot", symbols = { "BTCUSDT", "ETHUSDT" }, interval = "1m" },
  },
}

-- candled configuration: data only (no libraries), read at start-up and on SIGHUP.
-- Every key, its default and its CONNECTOR_* environment variable: docs/configuration.md.
return {
  server = { host = "127.0.0.1", port = 8765, health_port = 8766 },

  log = { level = "info", format = "json" },          -- "text" for humans

  -- Per exchange and market, replace the default endpoints (e.g. a testnet or candled-sim):
  -- exchanges = {
  --   binance = { spot = { ws_url = "ws://127.0.0.1:9001/ws", rest_url = "http://127.0.0.1:9001" } },
  -- },

  -- Always-on streams (`make run` streams these).
  subscriptions = {
    { exchange = "binance", market = "spot", symbols = { "BTCUSDT", "ETHUSDT" }, interval = "1m" },
  },
}

"""cases.py - the data the parametrised end-to-end tests run over.

Adding an exchange to these tests is adding its rows here (and its simulator module: see
docs/adapters.md).

  EXCHANGES   exchange -> the markets its simulator serves, in the order its usage error lists them
  SIM_BAD_MARKET  (exchange, a market name it does not have): candled-sim exits 2 and names the
              exchange's markets (another exchange's market name where there is one: it is refused)
"""
EXCHANGES = {
    "binance": ("spot", "usdm", "coinm"),
    "okx": ("spot", "swap", "futures"),
    "bybit": ("spot", "linear", "inverse"),
    "gateio": ("spot", "usdt", "btc"),
    "hyperliquid": ("perp", "spot"),
}

SIM_BAD_MARKET = [
    ("binance", "moon"),
    ("okx", "options"),
    ("bybit", "usdm"),
    ("gateio", "options"),
    ("hyperliquid", "inverse"),
]

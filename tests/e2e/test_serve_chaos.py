"""Chaos through the server.  Replaces test_serve_chaos.py (every check kept; `make chaos` sets
the same variables).

candled-sim streams 1 s candles for 20 symbols while it disconnects, duplicates, reorders, skips
and revises closes, sends garbage and fails REST calls; a WebSocket client of `candled serve`
subscribed closed-only to all of them must receive, per symbol, every second's closed candle
exactly once, in order, with the simulator's exact values (truth.py), and no gap event: every hole
is fillable.  CHAOS_SERVE_SYMBOLS (default 20) symbols, CHAOS_SERVE_PER_SYMBOL (default 15; 8 in
the sanitizer build) closed candles each.
"""
import json
import os
import re

import truth
import wsclient

CONFIG = """return {
  server = { port = 0, health_port = 0, drain_grace_seconds = 0 },
  exchanges = { binance = { spot = { ws_url = "ws://127.0.0.1:%d/ws", rest_url = "http://127.0.0.1:%d" } } },
  subscriptions = {},
  -- the simulator has no weight limit, and at 100 symbols (make chaos) these faults need more
  -- pages than Binance's budget: budgets off, as in test_chaos.sh
  rest = { budgets = false },
}
"""


def test_chaos_through_serve(e2e):
    n = int(os.environ.get("CHAOS_SERVE_SYMBOLS", "20"))
    per = int(os.environ.get("CHAOS_SERVE_PER_SYMBOL", "8" if e2e.env.sanitize else "15"))
    want = n * per
    wait = per * 3 + 75  # the client's timeout: about a second per candle, with room
    # a revision needs a period with index % R == 0 and a later sent close, inside the run: with the
    # sanitizer build's 8 periods, every 5th could fall at the end (seen once: "revisions":0)
    revise = 3 if per < 10 else 5
    truth_path = e2e.path("truth")
    sim = e2e.sim("--exchange", "binance", "--symbol-count", str(n), "--interval", "1s", "--rate", "2",
                  "--truth", truth_path, "--disconnect-after", "300", "--duplicate-every", "7", "--reorder-every", "11",
                  "--skip-close-every", "4", "--garbage-every", "13", "--revise-every", str(revise),
                  "--rest-fail-every", "5", "--rest-status", "500")
    srv = e2e.serve("--config", e2e.write("config.lua", CONFIG % (sim.port, sim.port)),
                    environ={"CONNECTOR_INACTIVITY_TIMEOUT": "0.3"})
    syms = ["SYM%04dUSDT" % i for i in range(1, n + 1)]
    lines, ok = wsclient.transcript(srv.ws_port, "/", timeout=wait, send=[json.dumps(
        {"exchange": "binance", "contract_type": "spot", "symbols": syms, "interval": "1s", "limit": want,
         "closed_only": True}, separators=(",", ":"))])
    assert ok, "the client failed: %r" % lines[-3:]
    assert any(line.startswith("CLOSE 1000") for line in lines), "not closed with 1000 after its limit: %r" % lines[-2:]
    quotes = [line for line in lines if re.match(r'^\{"type":"(quote|gap)"', line)]
    assert sum('"type":"quote"' in q for q in quotes) == want, "expected %d quotes" % want
    assert truth.main([truth_path, e2e.write("quotes", "\n".join(quotes) + "\n"), "--exchange", "binance",
                       "--market", "spot", "--min-symbols", str(n), "--min-closed", str(want), "--max-gaps", "0"]) == 0, \
        "closed candles wrong through the server"
    with open("/proc/%d/status" % srv.pid) as f:
        rss = re.search(r"^VmHWM:\s*([0-9]*) kB", f.read(), re.M).group(1)
    assert srv.stop() == 0, "serve exit status"
    sim.stop()
    faults = re.findall(r'"faults":\{[^}]*\}', sim.log())
    assert any(re.search(r'"disconnects":[1-9].*"skipped_closes":[1-9].*"revisions":[1-9]', f) for f in faults), \
        "too few faults: %r" % faults
    print("faults: %s; candled serve peak RSS %s kB" % (faults, rss))

"""Connection rotation under live subscription churn, through `candled serve`.  Replaces
test_serve_rotation.py (every check kept).

Upstream connections (3 streams each) are replaced every ~2.5 s (CONNECTOR_MAX_CONNECTION_AGE=3)
while one client subscribes and unsubscribes symbols four times a second (rotation_churn.churn).
The simulator logs who holds which stream (--log-subs): no stream is ever on more than three
connections (a draining one, the current one and its replacement), or on more than one for longer
than a rotation's overlap; once the churn is over every stream a client wants is on a connection at
every instant (make-before-break) and no other stream is on any (rotation_churn.check).  A second
client, subscribed closed-only to 3 symbols all along, gets their closed candles exactly once, in
order, exact (truth.py), with no REST request: rotations under churn lose nothing.
"""
import contextlib
import io
import json
import re

from harness import Client
import rotation_churn
import truth

CONFIG = """return {
  server = { port = 0, health_port = 0, linger_seconds = 0, drain_grace_seconds = 0 },
  connection = { max_connection_age = 3, max_symbol_per_ws = 3, inactivity_timeout = 2 },
  exchanges = { binance = { spot = { ws_url = "ws://127.0.0.1:%d/ws", rest_url = "http://127.0.0.1:%d" } } },
  subscriptions = {},
}
"""
STABLE = ["SYM0001USDT", "SYM0002USDT", "SYM0003USDT"]
FINAL = "SYM0004USDT,SYM0007USDT,SYM0011USDT,SYM0015USDT"


def test_rotation_under_churn(e2e):
    secs = 10 if e2e.env.sanitize else 14
    want = 3 * (secs + 14)  # the stable client outlasts the churn (its end takes its streams away)
    truth_path = e2e.path("truth")
    sim = e2e.sim("--exchange", "binance", "--symbol-count", "15", "--interval", "1s", "--rate", "2",
                  "--truth", truth_path, "--max-conn-age", "30", "--log-subs", "--subscribe-delay-ms", "400")
    srv = e2e.serve("--config", e2e.write("config.lua", CONFIG % (sim.port, sim.port)))
    stable = Client(srv.ws_port, [json.dumps({"exchange": "binance", "contract_type": "spot", "symbols": STABLE,
                                              "interval": "1s", "limit": want, "closed_only": True},
                                             separators=(",", ":"))], timeout=120)
    pool = ",".join("SYM%04dUSDT" % i for i in range(4, 16))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = rotation_churn.churn({"--ws-port": str(srv.ws_port), "--pool": pool, "--final": FINAL,
                                   "--seconds": str(secs), "--settle": "8"})
    assert rc == 0, "the churning client failed (its reason is on stderr)"
    assert not stable.done(), "the stable client ended before the churn: %r" % stable.lines[-3:]
    lines, ok = stable.result(130)
    assert ok, "the stable client failed: %r" % lines[-3:]
    metrics = srv.metrics()
    assert srv.stop() == 0, "serve exit status"
    sim.stop()
    quotes = [line for line in lines if re.match(r'^\{"type":"(quote|gap)"', line)]
    assert sum('"type":"quote"' in q for q in quotes) == want, "expected %d quotes" % want
    assert truth.main([truth_path, e2e.write("quotes", "\n".join(quotes) + "\n"), "--exchange", "binance",
                       "--market", "spot", "--min-symbols", "3", "--min-closed", str(want), "--max-gaps", "0"]) == 0, \
        "closed candles wrong under rotation and churn"
    summary = json.loads(out.getvalue())
    # the last requests are answered within a second or two (paced subscribe frames): 4 s after them
    assert rotation_churn.check(sim.err, {"--wanted": ",".join(STABLE) + "," + FINAL,
                                          "--after": str(summary["churn_end_ms"] + 4000),
                                          "--until": str(summary["done_ms"])}) == 0, \
        "streams not on exactly one connection"
    m = re.search(r'^connector_ws_rotations_total\{exchange="binance",contract_type="spot",result="ok"\} ([0-9]*)$',
                  metrics, re.M)
    rot = int(m.group(1)) if m else 0
    assert rot >= 6, "too few rotations: %r" % [line for line in metrics.splitlines() if "rotations" in line]
    assert '"rest_requests":0,' in sim.log(), "REST requests during rotations: " + sim.counters()

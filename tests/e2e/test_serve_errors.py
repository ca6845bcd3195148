"""Bad client input never hurts `candled serve`.  Replaces test_serve_errors.py (every check kept).

Malformed JSON, unknown exchange and market, an exchange whose adapter breaks the contract, an
unsupported interval, 10,000 symbols in one request, a 10 MB frame and a subscribe flood each get
their documented error on a connection that stays open (serve_client.errors); afterwards the
server still serves a new client exact quotes and /health.  server.max_clients refuses the next
handshake; /ready is 503 without an upstream, and shows the open circuit breaker.
"""
import glob
import os
import re
import shutil

from harness import wait_for
import serve_client
import wsclient

BROKEN = """return { name = "broken", markets = { { name = "spot", ws_url = "wss://x", max_streams = 0 } },
         intervals = { ["1m"] = "1m" }, subscribe = function() end, parse = function() end }
"""


def config(e2e, sim, max_clients=""):
    return """return {
  server = { port = 0, health_port = 0, drain_grace_seconds = 0%s },
  exchanges = { binance = { spot = { ws_url = "ws://127.0.0.1:%d/ws" } } },
  lua = { adapters_dir = "%s", sdk_dir = "%s" },
}
""" % (max_clients, sim.port, e2e.path("adapters"), os.path.join(e2e.env.source, "lua"))


def setup_adapters(e2e):
    """The shipped adapters plus one that loads but breaks the contract (an operator's mistake)."""
    os.mkdir(e2e.path("adapters"))
    for f in glob.glob(os.path.join(e2e.env.source, "adapters", "*.lua")):
        shutil.copy(f, e2e.path("adapters"))
    e2e.write("adapters/broken.lua", BROKEN)


def test_bad_requests(e2e):
    rec = e2e.path("rec")
    sim = e2e.sim("--exchange", "binance", "--symbols", "BTCUSDT", "--interval", "1s,1m", "--rate", "4",
                  "--record", rec)
    setup_adapters(e2e)
    srv = e2e.serve("--config", e2e.write("config.lua", config(e2e, sim)))
    serve_client.errors(serve_client.options(srv.ws_port, srv.health_port))
    assert any('"msg":"adapter does not load"' in line and "max_streams is missing or invalid" in line
               for line in srv.log().splitlines()), "the broken adapter's error is not in the log"

    st, health = srv.http("/health")
    assert st == 200, "/health after the abuse: %d %s" % (st, health)
    assert re.search(r'^\{"status":"healthy","timestamp":"20[0-9-]*T[0-9:.]*Z"\}$', health, re.M), \
        "/health body: " + health
    lines, ok = wsclient.transcript(srv.ws_port, "/", timeout=30,
                                    send=['{"exchange":"binance","symbols":["BTCUSDT"],"interval":"1s","limit":3}'])
    assert ok, "a new client after the abuse: %r" % lines
    assert e2e.client_quotes_ok(rec, lines, ["BTCUSDT"], count=3), "quotes after the abuse"
    assert srv.http("/nope")[0] == 404, "unknown admin path"
    assert srv.stop() == 0, "serve exit status"


def test_max_clients(e2e):
    """server.max_clients: the next handshake is refused, the first client is not disturbed."""
    sim = e2e.sim("--exchange", "binance", "--symbols", "BTCUSDT", "--interval", "1s,1m", "--rate", "4")
    setup_adapters(e2e)
    srv = e2e.serve("--config", e2e.write("one.lua", config(e2e, sim, max_clients=", max_clients = 1")))
    first = wsclient.connect("127.0.0.1", srv.ws_port, "/")
    try:
        wsclient.connect("127.0.0.1", srv.ws_port, "/")
        raise AssertionError("a second client was accepted with max_clients = 1")
    except (wsclient.WSError, OSError):
        pass
    first.send_text('{"op":"ping"}')
    assert first.recv_text() == '{"type":"pong"}'
    assert srv.stop() == 0, "serve exit status"


DOWN = """return {
  server = { port = 0, health_port = 0, drain_grace_seconds = 0 },
  exchanges = { binance = { spot = { ws_url = "ws://127.0.0.1:1/ws" } } },
  subscriptions = { { exchange = "binance", symbols = { "BTCUSDT" } } },
}
"""


def test_ready_without_upstream(e2e):
    """/ready is 503 while an exchange with streams has no established connection (nothing
    listens on the port config.lua points at)."""
    srv = e2e.serve("--config", e2e.write("down.lua", DOWN),
                    environ={"CONNECTOR_CIRCUIT_BREAKER_FAILURE_THRESHOLD": "3"})
    st, ready = wait_for(lambda: srv.http("/ready"), 15, "no failed connection reported",
                         until=lambda r: re.search(r'"consecutive_failures":[1-9]', r[1]))
    assert st == 503, "/ready with no upstream: %d %s" % (st, ready)
    assert re.search(r'^\{"status":"not_ready",.*"streams":1,"active_connections":0,.*"healthy":false\}\]\}$',
                     ready, re.M), "/ready body: " + ready
    # after 3 failed connects the market's circuit breaker is open, and /ready says so
    wait_for(lambda: srv.http("/ready"), 15, "circuit not open in /ready",
             until=lambda r: '"circuit_state":"open"' in r[1])
    assert srv.stop() == 0, "serve exit status"

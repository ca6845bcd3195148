"""candled-sim (Binance) -> `candled serve` -> several WebSocket clients on overlapping symbols.
Replaces test_serve_binance.py (every check kept).

Each client gets exact quotes (checked against the simulator's --record), `limit` closes with
1000, closed_only gets closed candles only; the simulator sees ONE upstream connection and ONE
subscribe per stream however many clients want it; streams nobody wants any more are unsubscribed
upstream after the linger, config.lua's stay; /metrics passes promtool.  Then packing: 2 streams
per upstream connection (CONNECTOR_MAX_SYMBOL_PER_WS), 5 streams on 3 connections.
"""
import os
import re

from harness import has_line, in_parallel, promtool_check, wait_for
import wsclient


def config(sim, subscriptions=True):
    subs = ('  subscriptions = { { exchange = "binance", market = "spot", symbols = { "SOLUSDT" }, interval = "1s" } },\n'
            if subscriptions else "")
    return ('return {\n'
            '  server = { port = 0, health_port = 0, linger_seconds = 1, drain_grace_seconds = 0 },\n'
            '  exchanges = { binance = { spot = { ws_url = "ws://127.0.0.1:%d/ws", rest_url = "http://127.0.0.1:%d" } } },\n'
            '%s}\n' % (sim.port, sim.port, subs))


def sub(symbols, extra):
    return '{"exchange":"binance","contract_type":"spot","symbols":[%s],"interval":"1s"%s}' % (symbols, extra)


def client(srv, text):
    def run():
        lines, ok = wsclient.transcript(srv.ws_port, "/", send=[text], timeout=60)
        assert ok, "a client failed: %r" % lines[-3:]
        return lines
    return run


def test_shared_streams(e2e):
    rec = e2e.path("rec")
    sim = e2e.sim("--exchange", "binance", "--symbols", "BTCUSDT,ETHUSDT,XRPUSDT,SOLUSDT", "--interval", "1s",
                  "--rate", "4", "--record", rec)
    # the predecessor's name runs the server too
    wss = e2e.path("connector-wss")
    os.symlink(e2e.env.candled, wss)
    srv = e2e.serve("--config", e2e.write("config.lua", config(sim)), cmd=[wss])

    # /ready: 200 once the config stream's connection is up
    st, ready = wait_for(lambda: srv.http("/ready"), 10, "/ready never 200", until=lambda r: r[0] == 200)
    assert '"exchange":"binance","contract_type":"spot","streams":1,"active_connections":1,' in ready, \
        "/ready detail: " + ready

    a, b, c = in_parallel(client(srv, sub('"BTCUSDT","ETHUSDT"', ',"limit":12')),
                          client(srv, sub('"ethusdt","XRPUSDT","ethusdt"', ',"limit":12')),
                          client(srv, sub('"BTCUSDT","XRPUSDT","SOLUSDT"', ',"limit":4,"closed_only":true')))
    assert a[0] == ('{"type":"subscribed","exchange":"binance","contract_type":"spot","symbols":["BTCUSDT","ETHUSDT"],'
                    '"interval":"1s","limit":12,"closed_only":false}'), "client a: subscribed echo: " + a[0]
    assert b[0] == ('{"type":"subscribed","exchange":"binance","contract_type":"spot","symbols":["ethusdt","XRPUSDT"],'
                    '"interval":"1s","limit":12,"closed_only":false}'), \
        "client b: subscribed echo (one stream per symbol): " + b[0]
    for name, lines in (("a", a), ("b", b), ("c", c)):
        assert lines[-1] == "CLOSE 1000 limit reached", "client %s: no close 1000 after its limit: %s" % (name, lines[-1])
    assert e2e.client_quotes_ok(rec, a, ["BTCUSDT", "ETHUSDT"], count=12), "client a quotes"
    assert e2e.client_quotes_ok(rec, b, ["ethusdt", "XRPUSDT"], count=12), "client b quotes"
    assert e2e.client_quotes_ok(rec, c, ["BTCUSDT", "XRPUSDT", "SOLUSDT"], count=4, closed_only=True), \
        "client c quotes"
    assert not any('"is_closed":false' in line for line in c), "closed_only client got open candles"

    # after the linger only config.lua's stream is left upstream
    metrics = wait_for(srv.metrics, 10, "streams not released after the linger", until=lambda m: has_line(
        m, 'connector_upstream_streams{exchange="binance",contract_type="spot",interval="1s"} 1'))
    assert has_line(metrics, "connector_clients 0"), "clients gauge"
    assert has_line(metrics, "connector_client_connections_total 3"), "clients accepted"
    assert has_line(metrics, "connector_client_quotes_total 28"), \
        "client quotes: %s" % [m for m in metrics.splitlines() if "client_quotes" in m]
    assert re.search(r"^process_resident_memory_bytes [1-9]", metrics, re.M), "no RSS"
    assert re.search(r"^process_open_fds [1-9]", metrics, re.M), "no fd count"
    promtool_check(metrics)

    assert srv.stop() == 0, "serve exit status"
    assert sim.stop() == 0, "sim exit status"
    # one upstream connection; each of the 4 streams subscribed once; the 3 client-only ones
    # unsubscribed once (SOLUSDT is config.lua's)
    assert '"clients":1,' in sim.log(), "more than one upstream connection: " + sim.counters()
    assert '"subscribes":4,"unsubscribes":3}' in sim.log(), "streams not shared: " + sim.counters()
    assert '"msg":"drained","left_open":"0"' in srv.log(), "no clean drain"


def test_packing(e2e):
    """2 streams per upstream connection (CONNECTOR_MAX_SYMBOL_PER_WS): 5 streams -> 3
    connections, each subscribed live; all closed once the streams are released."""
    rec = e2e.path("rec5")
    syms = ["BTCUSDT", "ETHUSDT", "XRPUSDT", "SOLUSDT", "ADAUSDT"]
    sim = e2e.sim("--exchange", "binance", "--symbols", ",".join(syms), "--interval", "1s", "--rate", "4",
                  "--record", rec)
    srv = e2e.serve("--config", e2e.write("pack.lua", config(sim, subscriptions=False)),
                    environ={"CONNECTOR_MAX_SYMBOL_PER_WS": "2"})
    (p,) = in_parallel(client(srv, sub(",".join('"%s"' % s for s in syms), ',"limit":15')))
    assert e2e.client_quotes_ok(rec, p, syms, count=15), "packing client quotes"
    wait_for(lambda: has_line(srv.metrics(), 'connector_active_connections{exchange="binance",contract_type="spot"} 0'),
             10, "connections not closed after the linger")
    assert srv.stop() == 0, "serve exit status"
    assert sim.stop() == 0, "sim exit status"
    assert '"clients":3,' in sim.log(), "5 streams at 2 per connection: expected 3 connections: " + sim.counters()
    assert '"subscribes":5,' in sim.log(), "expected 5 subscribes: " + sim.counters()

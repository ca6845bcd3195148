"""A client that stops reading is cut off with 1008 once its closed-candle queue passes
server.client_queue_max, counted in /metrics, while another client on the same streams keeps
getting exact quotes; clients keep getting quotes while the upstream floods (asking lws for a
WRITEABLE on every quote restarted the client's uv_poll each time and starved it).  Replaces
test_serve_slow.py (every check kept).
"""
from harness import in_parallel
import serve_client
import wsclient

CONFIG = """return {
  server = { port = 0, health_port = 0, %sdrain_grace_seconds = 0 },
  exchanges = { binance = { spot = { ws_url = "ws://127.0.0.1:%d/ws" } } },
}
"""


def test_slow_client_cut_off(e2e):
    rec = e2e.path("rec")
    sim = e2e.sim("--exchange", "binance", "--symbol-count", "20", "--interval", "1s", "--rate", "20",
                  "--record", rec)
    syms = ["SYM%04dUSDT" % i for i in range(1, 21)]
    srv = e2e.serve("--config", e2e.write("config.lua", CONFIG % ("client_queue_max = 20, ", sim.port)))
    good = e2e.path("good")
    serve_client.slow(serve_client.options(srv.ws_port, srv.health_port, symbols=",".join(syms), out=good))
    with open(good) as f:
        assert e2e.client_quotes_ok(rec, f.read().splitlines(), syms), "the good client's quotes"
    assert '"msg":"client too slow, closing (1008)"' in srv.log(), "no log line for the slow client"
    assert srv.stop() == 0, "serve exit status"
    assert sim.stop() == 0, "sim exit status"


def test_clients_fed_during_a_flood(e2e):
    sim = e2e.sim("--exchange", "binance", "--symbols", "BTCUSDT,ETHUSDT", "--interval", "1m", "--flood")
    srv = e2e.serve("--config", e2e.write("flood.lua", CONFIG % ("", sim.port)))

    def client(symbols):
        def run():
            lines, ok = wsclient.transcript(srv.ws_port, "/", count=3001, timeout=120,
                                            send=['{"exchange":"binance","symbols":[%s]}' % symbols])
            assert ok, "a client starved while the upstream floods: %d lines" % len(lines)
            return lines
        return run
    got = in_parallel(client('"BTCUSDT","ETHUSDT"'), client('"ETHUSDT"'))
    for c, lines in enumerate(got, 1):
        n = sum('"type":"quote"' in line for line in lines)
        assert n == 3000, "flood client %d: %d lines" % (c, n)
    assert srv.stop() == 0, "serve exit status"

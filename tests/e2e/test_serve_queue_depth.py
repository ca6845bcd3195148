"""`candled serve` exports connector_queue_depth_closed / _open as the sum over its clients.
Replaces test_serve_queue_depth.py (every check kept).

Two clients that stop reading (small socket buffers on both sides) make the gauges climb: exactly
one waiting open candle per symbol and client (latest-wins), a growing FIFO of closed candles;
that exposition passes promtool; once the clients are gone both gauges are 0.  Then a client
behind tiny socket buffers gets a ~14 KB "subscribed" echo (1,000 silent symbols beside the real
ones), which lws sends in 4 KiB pieces over several loop turns while quotes queue behind it
(lws_send_pipe_choked() holds the batch back until the last piece is out), and then reads in
bursts: whole messages, exact quotes, closed candles all in order.
"""
import re

from harness import has_line, promtool_check
import serve_client

CONFIG = """return {
  server = { port = 0, health_port = 0, client_queue_max = 100000, client_send_buffer = 4096,
             drain_grace_seconds = 0 },
  exchanges = { binance = { spot = { ws_url = "ws://127.0.0.1:%d/ws" } } },
}
"""


def test_queue_depth(e2e):
    rec = e2e.path("rec")
    sim = e2e.sim("--exchange", "binance", "--symbol-count", "10", "--interval", "1s", "--rate", "20", "--record", rec)
    syms = ",".join("SYM%04dUSDT" % i for i in range(1, 11))
    srv = e2e.serve("--config", e2e.write("config.lua", CONFIG % sim.port))
    serve_client.depth(serve_client.options(srv.ws_port, srv.health_port, symbols=syms, out=e2e.path("metrics")))
    metrics = e2e.read("metrics")
    depth = [line for line in metrics.splitlines() if "depth" in line]
    assert has_line(metrics, "# TYPE connector_queue_depth_closed gauge"), "no closed depth gauge"
    assert re.search(r"^connector_queue_depth_closed [1-9]", metrics, re.M), "closed depth: %r" % depth
    assert has_line(metrics, "connector_queue_depth_open 20"), "open depth: %r" % depth
    promtool_check(metrics)
    serve_client.sluggish(serve_client.options(srv.ws_port, srv.health_port, symbols=syms,
                                               out=e2e.path("sluggish")))
    assert e2e.client_quotes_ok(rec, e2e.read("sluggish").splitlines(), syms.split(",")), \
        "the sluggish client's quotes"
    assert srv.stop() == 0, "serve exit status"

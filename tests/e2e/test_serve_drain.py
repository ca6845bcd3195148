"""SIGTERM / SIGINT drain `candled serve` (/ready 503, clients get close 1001, the upstream is
closed, exit 0); a second signal exits at once; the environment's ports and
CONNECTOR_WSS_HEALTH_CHECK_ENABLED=false take effect.  Replaces test_serve_drain.py (every check
kept; /ready and the second signal now follow the "draining" log line instead of a fork's or a
0.2 s sleep's delay).
"""
import re
import signal

from harness import Client, wait_for

CONFIG = """return {
  server = { port = 8765, health_port = 8766, drain_grace_seconds = 3 },
  exchanges = { binance = { spot = { ws_url = "ws://127.0.0.1:%d/ws" } } },
}
"""
# the environment beats config.lua (ports 0: free ones)
PORTS = {"CONNECTOR_WSS_PORT": "0", "CONNECTOR_WSS_HEALTH_CHECK_PORT": "0"}


def test_drain(e2e):
    sim = e2e.sim("--exchange", "binance", "--symbols", "BTCUSDT", "--interval", "1s", "--rate", "4", "--verbose")
    conf = e2e.write("config.lua", CONFIG % sim.port)
    for name, sig in (("TERM", signal.SIGTERM), ("INT", signal.SIGINT)):
        srv = e2e.serve("--config", conf, environ=PORTS)
        c = Client(srv.ws_port, ['{"exchange":"binance","symbols":["BTCUSDT"],"interval":"1s"}'], timeout=60)
        wait_for(c.quotes, 20, "no quotes before SIG" + name, until=lambda n: n >= 3)
        if name == "TERM":  # SIGHUP reloads (the same config: nothing changes) and does not end it
            srv.send(signal.SIGHUP)
            wait_for(srv.log, 10, "SIGHUP not logged", until=lambda log: '"msg":"reloaded","streams_added":"0",'
                     '"streams_removed":"0","connections_restarted":"0"' in log)
            assert srv.http("/ready")[0] == 200, "/ready after SIGHUP"
        srv.send(sig)
        # the signal is handled on the loop's next turn: a /ready sent at once may come first
        wait_for(srv.log, 10, "no draining log line", until=lambda log: '"msg":"draining"' in log)
        st, ready = srv.http("/ready")
        assert st == 503, "/ready while draining: %d %s" % (st, ready)
        assert re.search(r'^\{"status":"not_ready",.*"draining":true,', ready, re.M), "/ready body: " + ready
        assert srv.http("/health")[0] == 200, "/health while draining"
        lines, ok = c.result(70)
        assert ok, "client: %r" % lines[-3:]
        assert lines[-1] == "CLOSE 1001 server shutting down", "client close: " + lines[-1]
        rc = srv.wait(60)
        assert rc == 0, "SIG%s: serve exited %d" % (name, rc)
        assert '"msg":"draining","signal":"SIG%s"' % name in srv.log(), "no draining log line"
        assert '"msg":"drained","left_open":"0"' in srv.log(), "SIG%s: not drained cleanly" % name
    # the simulator saw each upstream connection end with a close frame (2 runs, 1 upstream each)
    log = sim.log()
    assert len(re.findall(r"candled-sim: client [0-9]* closed after", log)) == 2, "upstreams not closed"
    assert len(re.findall(r"^candled-sim: client [0-9]* sent close 1001$", log, re.M)) == 2, \
        "upstreams closed without a close frame"

    # a second signal does not wait for the drain
    srv = e2e.serve("--config", conf, environ=PORTS)
    srv.send(signal.SIGTERM)
    wait_for(srv.log, 10, "no draining log line", until=lambda log: '"msg":"draining"' in log)
    srv.send(signal.SIGTERM)
    rc = srv.wait(60)
    assert rc == 143, "second SIGTERM: exit %d, expected 143" % rc
    assert '"msg":"second signal: exiting now"' in srv.log(), "no second-signal log line"

    # no admin port when disabled
    srv = e2e.serve("--config", conf, environ=dict(PORTS, CONNECTOR_WSS_HEALTH_CHECK_ENABLED="false"))
    assert '"health_port":0}' in srv.ports_text, "admin port opened though disabled"
    assert srv.stop() == 0, "serve exit status"
    assert '"health_port"' not in srv.log(), "health port logged though disabled"
    assert sim.stop() == 0, "sim exit status"

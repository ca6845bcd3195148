"""Backpressure.  Replaces test_stream_backpressure.sh (every check kept).

`candled stream` writes into a pipe whose reader stops reading for 8 s.  The output buffer and
the closed-candle queue (CONNECTOR_CLOSED_QUEUE_MAXSIZE=50) fill, upstream reads pause (counted in
connector_queue_blocking_events_total) instead of memory growing, and resume once the reader
drains the pipe; not one closed candle is lost, repeated or reordered (checked against the
simulator's ground truth).
"""
import os
import re
import time

from harness import Background
import truth

N = 400


def test_backpressure(e2e):
    syms = ["SYM%04dUSDT" % i for i in range(1, N + 1)]
    truth_path, pipe, out = e2e.path("truth"), e2e.path("pipe"), e2e.path("out")
    sim = e2e.sim("--exchange", "binance", "--symbol-count", str(N), "--interval", "1s", "--rate", "0",
                  "--truth", truth_path)
    os.mkfifo(pipe)

    def consumer():  # opens the pipe at once, reads nothing for 8 s, then everything
        with open(pipe, "rb") as f:
            time.sleep(8)
            data = f.read()
        with open(out, "wb") as o:
            o.write(data)

    reader = Background(consumer)
    s = e2e.stream("binance", *syms, "--interval", "1s", "--closed-only", "--ws-url", "ws://127.0.0.1:%d/ws" % sim.port,
                   "--rest-url", "http://127.0.0.1:%d" % sim.port, out=pipe,
                   environ={"CONNECTOR_CLOSED_QUEUE_MAXSIZE": "50", "CONNECTOR_INACTIVITY_TIMEOUT": "0.3"})
    time.sleep(14)  # the run: 8 s blocked, then 6 s draining (the behaviour under test)
    with open("/proc/%d/status" % s.pid) as f:
        rss = re.search(r"^VmHWM:\s*([0-9]+) kB", f.read(), re.M).group(1)
    rc = s.stop()
    reader.result(60)
    sim.stop()
    log = s.log()
    assert rc == 0, "candled exited %d: %s" % (rc, log[-2000:])
    assert '"msg":"closed-candle queue full: upstream reads paused"' in log, "reads never paused"
    assert '"msg":"closed-candle queue drained: upstream reads resumed"' in log, "reads never resumed"
    assert re.search(r"connector_queue_blocking_events_total=[1-9]", s.summary()), \
        "blocking not counted: " + s.summary()
    assert truth.main([truth_path, out, "--min-symbols", str(N), "--min-closed", str(N * 8),
                       "--max-gaps", "0"]) == 0, "closed candles lost or repeated under backpressure"
    print("backpressure paused and resumed the upstreams, nothing lost (peak RSS %s kB)" % rss)

"""candled-sim speaks Binance's kline protocol correctly.  Replaces test_sim_binance.py (every
check kept; its usage errors are binance's rows in test_sim_usage.py).

1. live /ws: SUBSCRIBE ack, LIST_SUBSCRIPTIONS, error replies, kline frames in the recorded field
   order with fixed-decimal strings, an x:true close whose values REST returns for the same
   period, open == previous close, server pings, the --record ground truth; combined /stream and
   /market/stream frames; REST 400s; SIGTERM sends close 1001, exit 0, the counters line.
2. --replay: real recorded frames come back byte for byte after the SUBSCRIBE ack.
3. faults: --disconnect-after closes with 1001 after N frames, --rest-fail-every answers 429 with
   Retry-After, --duplicate-every repeats a frame; the counters line reports them.
4. --flood: 3000 frames from two streams, event times non-decreasing and current.
"""
import json
import re
import signal
import time
import urllib.error
import urllib.request

import simcheck
import wsclient

K_ORDER = ["t", "T", "s", "i", "f", "L", "o", "c", "h", "l", "v", "n", "x", "q", "V", "Q", "B"]
DEC8 = re.compile(r"^[0-9]+\.[0-9]{8}$")


def check_event(ev, symbol, interval):
    assert list(ev) == ["e", "E", "s", "k"], "event field order %r" % list(ev)
    assert list(ev["k"]) == K_ORDER, "kline field order %r" % list(ev["k"])
    k = ev["k"]
    assert ev["e"] == "kline" and ev["s"] == symbol and k["s"] == symbol and k["i"] == interval, \
        "event identity %r" % ev
    for f in "ochlvqVQ":
        assert isinstance(k[f], str) and DEC8.match(k[f]), "8-decimal string %s=%r" % (f, k[f])
    assert k["B"] == "0" and isinstance(k["x"], bool), "B/x fields"
    assert k["T"] == k["t"] + 999, "close time of a 1s kline"
    assert k["L"] - k["f"] + 1 == k["n"], "trade ids match the trade count"
    assert float(k["l"]) <= min(float(k["o"]), float(k["c"])) and \
        float(k["h"]) >= max(float(k["o"]), float(k["c"])), "high/low bound open/close"


def test_live_protocol(e2e):
    record = e2e.path("record.jsonl")
    sim = e2e.sim("--exchange", "binance", "--symbols", "BTCUSDT,ETHUSDT", "--rate", "4", "--seed", "7",
                  "--ping-interval", "1", "--record", record)
    base = "http://127.0.0.1:%d" % sim.port

    def rest(path):
        return simcheck.rest(base, path)

    ws = wsclient.connect("127.0.0.1", sim.port, "/ws")
    ws.send_text('{"method":"SUBSCRIBE","params":["btcusdt@kline_1s"],"id":1}')
    assert ws.recv_text() == '{"result":null,"id":1}', "SUBSCRIBE ack"
    ws.send_text('{"method":"LIST_SUBSCRIPTIONS","id":"q2"}')
    ws.send_text('{"method":"SUBSCRIBE",')
    ws.send_text('{"method":"NOPE","params":[],"id":4}')
    replies, frames = [], []
    while len(replies) < 3:
        msg = json.loads(ws.recv_text())
        (frames if "e" in msg else replies).append(msg)
    assert replies[0] == {"result": ["btcusdt@kline_1s"], "id": "q2"}, "LIST_SUBSCRIPTIONS %r" % replies[0]
    assert replies[1]["id"] is None and replies[1]["error"]["code"] == 3, "bad JSON error %r" % replies[1]
    assert replies[2]["id"] == 4 and replies[2]["error"]["code"] == 2, "unknown method error %r" % replies[2]

    # frames until an x:true close and the first frame of the next period
    closed = nxt = None
    deadline = time.monotonic() + 8
    while nxt is None:
        assert time.monotonic() < deadline, "no close + next period within 8 s"
        ev = frames.pop(0) if frames else json.loads(ws.recv_text(timeout=5))
        check_event(ev, "BTCUSDT", "1s")
        k = ev["k"]
        if closed is None and k["x"]:
            closed = ev
            assert ev["E"] == k["T"] + 1, "close event time is the period end"
        elif closed is not None:
            assert k["t"] == closed["k"]["T"] + 1 and not k["x"], "next period follows the close"
            nxt = ev
    assert nxt["k"]["o"] == closed["k"]["c"], "open == previous close"

    # REST returns the same values for the closed period
    t = closed["k"]["t"]
    st, hdr, rows = rest("/api/v3/klines?symbol=BTCUSDT&interval=1s&startTime=%d&endTime=%d" % (t, t))
    assert st == 200 and len(rows) == 1, "REST one row %r" % (rows,)
    k = closed["k"]
    want = [k["t"], k["o"], k["h"], k["l"], k["c"], k["v"], k["T"], k["q"], k["n"], k["V"], k["Q"], "0"]
    assert rows[0] == want, "REST row == WS close\n  rest %r\n  ws   %r" % (rows[0], want)
    assert "X-MBX-USED-WEIGHT-1M" in hdr, "used-weight header %r" % hdr
    st, _, rows = rest("/api/v3/klines?symbol=BTCUSDT&interval=1s&limit=5")
    assert st == 200 and len(rows) == 5 and all(rows[i][0] + 1000 == rows[i + 1][0] for i in range(4)), \
        "REST latest 5, oldest first"
    assert all(rows[i][4] == rows[i + 1][1] for i in range(4)), "REST open == previous close"

    # REST errors
    for path, status, code in [
            ("/api/v3/klines?symbol=NOPEUSDT&interval=1m", 400, -1121),
            ("/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1001", 400, -1130),
            ("/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=1501", 400, -1130),
            ("/api/v3/klines?symbol=BTCUSDT&interval=7m", 400, -1120),
            ("/api/v3/klines?interval=1m", 400, -1102)]:
        st, _, body = rest(path)
        assert st == status and body.get("code") == code, "%s -> %d %r" % (path, st, body)
    st, _, rows = rest("/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=1500")
    assert st == 200 and len(rows) == 1500, "futures limit 1500"

    # combined streams, plain and under the USD-M /market route
    for path in ("/stream?streams=ethusdt@kline_1s/btcusdt@kline_1s", "/market/stream?streams=ethusdt@kline_1s"):
        c = wsclient.connect("127.0.0.1", sim.port, path)
        msg = json.loads(c.recv_text(timeout=5))
        assert list(msg) == ["stream", "data"], "combined wrapper %r" % msg
        sym = msg["data"]["s"].lower()
        assert msg["stream"] == sym + "@kline_1s", "stream name %r" % msg["stream"]
        check_event(msg["data"], msg["data"]["s"], "1s")
        c.close()

    # the record file holds the close frame's exact text
    raw = json.dumps(closed, separators=(",", ":"))
    with open(record) as f:
        lines = f.read().splitlines()
    assert raw in lines, "close frame recorded verbatim"

    # pings every --ping-interval (1 s), answered by wsclient's pongs
    end = time.monotonic() + 1.5
    while time.monotonic() < end:
        assert ws.recv(timeout=5)[0] == "text", "frames keep coming"
    assert ws.pings >= 1, "server pings every --ping-interval"

    # SIGTERM: the client gets close 1001
    sim.send(signal.SIGTERM)
    while True:
        kind, payload = ws.recv(timeout=5)
        if kind == "close":
            assert payload[0] == 1001, "close code on shutdown %r" % (payload,)
            break
    assert sim.stop() == 0, "candled-sim exit status after SIGTERM"
    assert '"candled_sim":' in sim.log(), "no counters line on exit"
    assert re.search(r'"pongs":[1-9]', sim.log()), "pongs not counted"


# Two real Binance spot frames (cryptofeed sample_data/BINANCE.ws.1.0, 2021-10-12).
REPLAY = """\
{"stream":"nknusdt@kline_1m","data":{"e":"kline","E":1633998523963,"s":"NKNUSDT","k":{"t":1633998480000,"T":1633998539999,"s":"NKNUSDT","i":"1m","f":19862761,"L":19862790,"o":"0.35270000","c":"0.35280000","h":"0.35280000","l":"0.35220000","v":"25877.00000000","n":30,"x":false,"q":"9116.04600000","V":"58.00000000","Q":"20.46240000","B":"0"}}}
{"stream":"lrcbtc@kline_1m","data":{"e":"kline","E":1633998534486,"s":"LRCBTC","k":{"t":1633998480000,"T":1633998539999,"s":"LRCBTC","i":"1m","f":12368013,"L":12368013,"o":"0.00000638","c":"0.00000638","h":"0.00000638","l":"0.00000638","v":"177.00000000","n":1,"x":false,"q":"0.00112926","V":"177.00000000","Q":"0.00112926","B":"0"}}}
"""


def test_replay_byte_exact(e2e):
    sim = e2e.sim("--exchange", "binance", "--replay", e2e.write("replay.jsonl", REPLAY))
    lines, ok = wsclient.transcript(sim.port, "/ws", count=3,
                                    send=['{"method":"SUBSCRIBE","params":["nknusdt@kline_1m"],"id":9}'])
    assert ok, "replay client"
    assert lines == ['{"result":null,"id":9}'] + REPLAY.splitlines(), "replay is not byte-exact: %r" % lines
    assert sim.stop() == 0, "replay sim exit status"


def test_faults(e2e):
    sim = e2e.sim("--exchange", "binance", "--rate", "20", "--disconnect-after", "3", "--duplicate-every", "2",
                  "--rest-fail-every", "1", "--rest-status", "429")
    lines, ok = wsclient.transcript(sim.port, "/ws/btcusdt@kline_1s")
    assert ok, "disconnect-after client: %r" % lines
    n = sum('"e":"kline"' in line for line in lines)
    assert n == 3, "expected 3 frames before the disconnect, got %d: %r" % (n, lines)
    assert lines[-1].startswith("CLOSE 1001 "), "no close 1001: %r" % lines
    assert lines[1] == lines[2], "--duplicate-every 2 did not repeat frame 2: %r" % lines
    try:
        urllib.request.urlopen("http://127.0.0.1:%d/api/v3/klines?symbol=BTCUSDT&interval=1m" % sim.port,
                               timeout=5)
        got = None
    except urllib.error.HTTPError as e:
        got = (e.code, e.headers.get("Retry-After"))
    assert got == (429, "1"), "--rest-fail-every: got %r" % (got,)
    assert sim.stop() == 0, "fault sim exit status"
    log = sim.log()
    assert '"disconnects":1,' in log, "disconnect not counted"
    assert '"duplicates":1,' in log, "duplicate not counted"
    assert '"rest_failures":1,' in log, "REST failure not counted"


def test_flood(e2e):
    """Frames as fast as the socket takes them, E = send time."""
    sim = e2e.sim("--exchange", "binance", "--flood")
    ws = wsclient.connect("127.0.0.1", sim.port, "/stream?streams=btcusdt@kline_1m/ethusdt@kline_1m")
    prev, syms = 0, set()
    for _ in range(3000):
        d = json.loads(ws.recv_text(timeout=5))["data"]
        syms.add(d["s"])
        now = time.time() * 1000
        assert prev <= d["E"] <= now + 5 and now - d["E"] < 5000, "bad flood E %d (prev %d, now %d)" % (d["E"], prev, now)
        prev = d["E"]
    assert syms == {"BTCUSDT", "ETHUSDT"}, "flood did not alternate streams: %r" % syms
    ws.close()
    assert sim.stop() == 0, "flood sim exit status"

"""candled-sim speaks Gate.io's candlestick protocol correctly.  Replaces test_sim_gateio.py (every
check kept; the futures loop over usdt and btc is a parametrised test).  Gate's unknown market
usage error is a new row in test_sim_usage.py.

1. spot /ws/v4/: subscribe ack with the id echoed, error replies (unknown pair, interval, stale
   time, bad JSON, other channel), spot.ping -> spot.pong, pushes with Gate's field order and
   trimmed decimals, w false until the one w:true close, open == previous close, the REST row of
   the closed period equal to the close, unsubscribe stops the pushes; REST rules and errors.
2. usdt /v4/ws/usdt and btc /v4/ws (legacy path): futures pushes (result array, integer t and v,
   no w), futures.pong, object rows, 2000 points per request.
"""
import json
import re
import time

import pytest

import simcheck
import wsclient

DEC = re.compile(r"^(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$")  # Gate's decimals: no trailing zeros


def rest_of(sim):
    """GET from the simulator's REST: (status, JSON body)."""
    def rest(path):
        st, _, body = simcheck.rest("http://127.0.0.1:%d" % sim.port, path)
        return st, body
    return rest


def test_spot(e2e):
    truth = e2e.path("truth")
    sim = e2e.sim("--exchange", "gateio", "--symbols", "BTC_USDT,ETH_USDT", "--interval", "10s,1m", "--rate", "4",
                  "--truth", truth)
    port = sim.port
    rest = rest_of(sim)

    def req(event, payload, t=None, rid=None, channel="spot.candlesticks"):
        d = {"time": int(time.time()) if t is None else t}
        if rid is not None:
            d["id"] = rid
        d.update({"channel": channel, "event": event, "payload": payload})
        return json.dumps(d)

    ws = wsclient.connect("127.0.0.1", port, "/ws/v4/")
    ws.send_text(req("subscribe", ["10s", "BTC_USDT"], rid=7))
    ack = json.loads(ws.recv_text())
    assert list(ack) == ["time", "time_ms", "id", "channel", "event", "error", "result"], "ack fields %r" % ack
    assert (ack["id"] == 7 and ack["channel"] == "spot.candlesticks" and ack["event"] == "subscribe" and
          ack["error"] is None and ack["result"] == {"status": "success"}), "ack %r" % ack
    assert abs(ack["time"] - time.time()) < 5 and ack["time_ms"] // 1000 == ack["time"], "ack times %r" % ack
    for msg, code in [(req("subscribe", ["10s", "NOPE_USDT"], rid=8), 2),
                      (req("subscribe", ["3m", "BTC_USDT"], rid=9), 2),
                      (req("subscribe", ["10s", "BTC_USDT"], t=int(time.time()) - 3600, rid=10), 2),
                      (req("subscribe", ["10s"], rid=11), 2),
                      (req("subscribe", ["10s", "BTC_USDT"], rid=12, channel="spot.trades"), 2),
                      ('{"time":1,"channel":', 1)]:
        ws.send_text(msg)
        r = json.loads(ws.recv_text())
        while r.get("event") == "update":
            r = json.loads(ws.recv_text())
        assert r["error"]["code"] == code and r["result"] == {"status": "fail"}, "%s -> %r" % (msg, r)
        if code == 2:
            assert r["id"] == json.loads(msg)["id"], "error echoes the id %r" % r
    ws.send_text('{"time":%d,"channel":"spot.ping"}' % time.time())
    r = json.loads(ws.recv_text())
    while r.get("event") == "update":
        r = json.loads(ws.recv_text())
    assert (r["channel"] == "spot.pong" and r["event"] == "" and "error" in r and r["error"] is None and
          r["result"] is None), "pong %r" % r

    # pushes until a w:true close and the first push of the next period
    closed = nxt = None
    deadline = time.monotonic() + 25
    while nxt is None:
        assert time.monotonic() < deadline, "no close + next period within 25 s"
        ev = json.loads(ws.recv_text(timeout=15))
        assert list(ev) == ["time", "time_ms", "channel", "event", "result"] and ev["event"] == "update", "push %r" % ev
        k = ev["result"]
        assert list(k) == ["t", "v", "c", "h", "l", "o", "n", "a", "w"], "result fields %r" % list(k)
        assert k["n"] == "10s_BTC_USDT" and isinstance(k["t"], str) and int(k["t"]) % 10 == 0, "identity %r" % k
        for f in "vchloa":
            assert isinstance(k[f], str) and DEC.match(k[f]), "trimmed decimal string %s=%r" % (f, k[f])
        assert float(k["l"]) <= min(float(k["o"]), float(k["c"])) <= max(float(k["o"]), float(k["c"])) <= float(k["h"]), "low <= open, close <= high"
        assert isinstance(k["w"], bool), "w is a boolean"
        if closed is None and k["w"]:
            closed = ev
            assert ev["time_ms"] == (int(k["t"]) + 10) * 1000, "close pushed at the period end"
        elif closed is not None:
            assert int(k["t"]) == int(closed["result"]["t"]) + 10 and not k["w"], "next period follows the close"
            nxt = ev
    assert nxt["result"]["o"] == closed["result"]["c"], "open == previous close"

    t = int(closed["result"]["t"])
    st, rows = rest("/api/v4/spot/candlesticks?currency_pair=BTC_USDT&interval=10s&from=%d&to=%d" % (t, t))
    k = closed["result"]
    assert st == 200 and rows == [[k["t"], k["v"], k["c"], k["h"], k["l"], k["o"], k["a"], "true"]], "REST row == WS close\n  rest %r\n  ws   %r" % (rows, k)

    ws.send_text(req("unsubscribe", ["10s", "BTC_USDT"], rid=13))
    r = json.loads(ws.recv_text())
    while r.get("event") == "update":
        r = json.loads(ws.recv_text())
    assert r["event"] == "unsubscribe" and r["id"] == 13 and r["error"] is None, "unsubscribe ack %r" % r
    try:
        extra = ws.recv_text(timeout=1.5)
        assert False, "a push after unsubscribe: %s" % extra
    except TimeoutError:
        pass
    ws.close()

    # REST: latest `limit` oldest first, the current period last and not closed
    st, rows = rest("/api/v4/spot/candlesticks?currency_pair=ETH_USDT&interval=1m&limit=5")
    assert st == 200 and len(rows) == 5 and all(len(r) == 8 for r in rows), "limit 5 %r" % rows
    assert all(int(rows[i][0]) + 60 == int(rows[i + 1][0]) for i in range(4)), "oldest first, consecutive"
    assert [r[7] for r in rows] == ["true"] * 4 + ["false"], "closed flags %r" % [r[7] for r in rows]
    assert all(rows[i][2] == rows[i + 1][5] for i in range(4)), "open == previous close"
    now = int(time.time())
    st, rows = rest("/api/v4/spot/candlesticks?currency_pair=ETH_USDT&interval=1m&from=%d" % (now - 600))
    assert st == 200 and len(rows) in (10, 11) and int(rows[0][0]) >= now - 600, "from without to: up to now"
    st, rows = rest("/api/v4/spot/candlesticks?currency_pair=ETH_USDT&interval=1m&from=%d&to=%d" % (now - 59999, now))
    assert st == 200 and len(rows) == 1000, "1000 points from..to (inclusive)"
    for path, label in [
            ("/api/v4/spot/candlesticks?currency_pair=ETH_USDT&interval=1m&from=%d&to=%d" % (now - 60060, now),
             "INVALID_PARAM_VALUE"),
            ("/api/v4/spot/candlesticks?currency_pair=ETH_USDT&interval=1m&from=%d&to=%d" % (now - 700000, now - 690000),
             "INVALID_PARAM_VALUE"),
            ("/api/v4/spot/candlesticks?currency_pair=ETH_USDT&interval=1m&limit=5&from=1", "INVALID_PARAM_VALUE"),
            ("/api/v4/spot/candlesticks?currency_pair=ETH_USDT&interval=1m&limit=1001", "INVALID_PARAM_VALUE"),
            ("/api/v4/spot/candlesticks?currency_pair=ETH_USDT&interval=7m", "INVALID_PARAM_VALUE"),
            ("/api/v4/spot/candlesticks?currency_pair=NOPE_USDT&interval=1m", "INVALID_CURRENCY_PAIR"),
            ("/api/v4/spot/candlesticks?interval=1m", "MISSING_REQUIRED_PARAM")]:
        st, body = rest(path)
        assert st == 400 and body.get("label") == label and body.get("message"), "%s -> %d %r" % (path, st, body)
    st, body = rest("/api/v4/spot/candlesticks?currency_pair=ETH_USDT&interval=1m&from=%d&to=%d" % (now - 60060, now))
    assert "too broad" in body["message"], "range error text %r" % body
    st, body = rest("/api/v4/spot/candlesticks?currency_pair=ETH_USDT&interval=1m&from=%d&to=%d" % (now - 700000, now - 690000))
    assert "too long ago" in body["message"], "horizon error text %r" % body

    assert sim.stop() == 0, "candled-sim exit status"
    with open(truth) as f:
        assert '"flag":true' in f.read(), "spot truth lines must say the frames carry a flag"


@pytest.mark.parametrize("market,sym,path", [("usdt", "BTC_USDT", "/v4/ws/usdt"), ("btc", "BTC_USD", "/v4/ws")])
def test_futures(e2e, market, sym, path):
    truth = e2e.path("truth." + market)
    sim = e2e.sim("--exchange", "gateio", "--market", market, "--symbols", sym, "--interval", "10s,5m", "--rate", "4",
                  "--truth", truth)
    port = sim.port
    rest = rest_of(sim)

    try:
        wsclient.connect("127.0.0.1", port, "/ws/v4/")
        assert False, "the spot path is served by a futures simulator"
    except (wsclient.WSError, OSError):
        pass
    ws = wsclient.connect("127.0.0.1", port, path)
    ws.send_text('{"time":%d,"channel":"futures.candlesticks","event":"subscribe","payload":["10s","%s"]}' % (time.time(), sym))
    ack = json.loads(ws.recv_text())
    assert (ack["event"] == "subscribe" and ack["error"] is None and ack["result"] == {"status": "success"}
          and "id" not in ack), "ack %r" % ack
    ws.send_text('{"time":%d,"channel":"futures.ping"}' % time.time())
    pong = None
    pushes = []
    while pong is None or len(pushes) < 3:
        m = json.loads(ws.recv_text(timeout=10))
        if m["channel"] == "futures.pong":
            pong = m
        else:
            pushes.append(m)
    assert list(pong) == ["time", "time_ms", "channel", "event", "result"] and pong["result"] is None, "pong %r" % pong
    for ev in pushes:
        assert (ev["channel"] == "futures.candlesticks" and ev["event"] == "update" and isinstance(ev["result"], list)
              and len(ev["result"]) == 1), "push %r" % ev
        k = ev["result"][0]
        assert list(k) == ["t", "v", "c", "h", "l", "o", "n", "a"], "no closed flag, Gate's field order %r" % list(k)
        assert isinstance(k["t"], int) and isinstance(k["v"], int) and k["n"] == "10s_" + sym, "integer t and v %r" % k
        assert all(isinstance(k[f], str) for f in "chloa"), "string prices %r" % k
    ws.close()
    st, rows = rest("/api/v4/futures/%s/candlesticks?contract=%s&interval=10s&limit=2000" % (market, sym))
    assert st == 200 and len(rows) == 2000 and list(rows[0]) == ["t", "v", "c", "h", "l", "o", "sum"], "2000 object rows"
    assert all(rows[i]["t"] + 10 == rows[i + 1]["t"] for i in range(1999)), "oldest first, consecutive"
    assert all(rows[i]["c"] == rows[i + 1]["o"] for i in range(1999)), "open == previous close"
    t = rows[-10]["t"]
    st, win = rest("/api/v4/futures/%s/candlesticks?contract=%s&interval=10s&from=%d&to=%d" % (market, sym, t, t + 20))
    assert st == 200 and win == rows[-10:-7], "from/to in seconds, both inclusive %r" % win
    st, body = rest("/api/v4/futures/%s/candlesticks?contract=%s&interval=10s&from=%d&to=%d" % (market, sym, t - 20000, t))
    assert st == 400 and "Maximum 2000 data points" in body["message"], "a range over 2000 points %r" % body
    st, rows5 = rest("/api/v4/futures/%s/candlesticks?contract=%s&limit=3" % (market, sym))
    assert st == 200 and [r["t"] % 300 for r in rows5] == [0, 0, 0] and rows5[1]["t"] - rows5[0]["t"] == 300, "no interval: Gate's futures default, 5m %r" % rows5
    st, body = rest("/api/v4/futures/%s/candlesticks?contract=%s&interval=10s&limit=2001" % (market, sym))
    assert st == 400 and body["label"] == "INVALID_PARAM_VALUE", "limit 2001 %r" % body
    st, body = rest("/api/v4/futures/%s/candlesticks?contract=NOPE&interval=10s" % market)
    assert st == 400 and body["label"] == "CONTRACT_NOT_FOUND", "unknown contract %r" % body
    other = "btc" if market == "usdt" else "usdt"
    st, _ = rest("/api/v4/futures/%s/candlesticks?contract=%s&interval=10s" % (other, sym))
    assert st == 404, "the other settle is not served"

    assert sim.stop() == 0, "candled-sim exit status"
    with open(truth) as f:
        assert '"flag":true' not in f.read(), "%s truth lines must say the frames carry no flag" % market


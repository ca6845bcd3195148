"""candled-sim speaks Bybit v5's kline protocol correctly.  Replaces test_sim_bybit.py (every
check kept; its usage error is bybit's row in test_sim_usage.py).

1. spot: acks and pongs in spot's shape, spot's 10-args limit with Bybit's error text, the other
   errors, pushes with the symbol in the topic and trailing zeros trimmed, --record as sent; REST
   newest first with start/end/limit semantics and its retCode errors; only /v5/public/spot.
2. linear: acks and pongs always carry req_id, no args limit; inverse: whole contracts as volume,
   --truth gives the base coin (turnover) as the volume candled must print.
3. faults: --rest-fail-every answers Bybit's rate-limit body.
"""
import json
import re
import time
import urllib.error
import urllib.request

import wsclient

DEC = re.compile(r"^(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$")   # Bybit's decimals: no trailing zeros


def test_spot(e2e):
    record = e2e.path("record.jsonl")
    sim = e2e.sim("--exchange", "bybit", "--market", "spot", "--symbols", "BTCUSDT,ETHUSDT", "--interval", "1m,1h",
                  "--rate", "4", "--ping-interval", "0", "--record", record)
    port = sim.port
    base = "http://127.0.0.1:%d" % port

    def rest(query):
        with urllib.request.urlopen(base + "/v5/market/kline?" + query, timeout=5) as r:
            assert r.status == 200, "HTTP 200 for %s" % query
            return json.loads(r.read())

    ws = wsclient.connect("127.0.0.1", port, "/v5/public/spot")

    def ask(text):
        ws.send_text(text)
        return json.loads(ws.recv_text())
    r = ask('{"req_id":"10001","op":"ping"}')
    assert r["success"] is True and r["ret_msg"] == "pong" and r["op"] == "ping" and r["req_id"] == "10001", \
        "pong %r" % r
    r = ask('{"op":"ping"}')
    assert list(r) == ["success", "ret_msg", "conn_id", "op"], "spot pong without req_id %r" % r
    assert re.match(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$", r["conn_id"]), "conn_id shape"
    ws.send_text(json.dumps({"op": "subscribe", "args": ["kline.1.BTCUSDT"] * 11}))
    raw = ws.recv_text()
    assert '"ret_msg":"args size \\u003e10"' in raw and json.loads(raw)["success"] is False, "args limit %r" % raw
    for topic, want in (("kline.7.BTCUSDT", "error:handler not found,topic:kline.7.BTCUSDT"),
                        ("kline.1.NOPEUSDT", "Invalid symbol :[kline.1.NOPEUSDT]"),
                        ("kline.1", "error:handler not found,topic:kline.1")):
        r = ask(json.dumps({"op": "subscribe", "args": [topic]}))
        assert r["success"] is False and r["ret_msg"] == want, "%s -> %r" % (topic, r)
    r = ask('{"req_id":"a","op":"subscribe","args":["kline.1.BTCUSDT","kline.60.ETHUSDT"]}')
    assert r == {"success": True, "ret_msg": "subscribe", "conn_id": r["conn_id"], "req_id": "a", "op": "subscribe"}, \
        "spot ack %r" % r
    pushes = []

    def reply():  # the next control reply; pushes met on the way are kept
        while True:
            m = json.loads(ws.recv_text())
            if "topic" not in m:
                return m
            pushes.append(m)
    while len(pushes) < 2:
        pushes.append(json.loads(ws.recv_text()))
    ws.send_text('{"op":"subscribe","args":["kline.1.BTCUSDT"]}')
    r = reply()
    assert r["success"] is False and r["ret_msg"] == "error:already subscribed,topic:kline.1.BTCUSDT", "already %r" % r
    for text in ("garbage", '{"op":"frob"}', '{"op":"subscribe","args":[]}', '{"req_id":5,"op":"ping"}'):
        ws.send_text(text)
        r = reply()
        assert r["success"] is False and r["ret_msg"].startswith("error:"), "%s -> %r" % (text, r)
    while len(pushes) < 6:
        pushes.append(json.loads(ws.recv_text()))
    for p in pushes:
        assert list(p) == ["topic", "data", "ts", "type"] and p["type"] == "snapshot", "push shape %r" % p
        k = p["data"][0]
        assert list(k) == ["start", "end", "interval", "open", "close", "high", "low", "volume", "turnover",
                           "confirm", "timestamp"], "candle field order %r" % list(k)
        iv = p["topic"].split(".")[1]
        assert k["interval"] == iv and p["topic"] in ("kline.1.BTCUSDT", "kline.60.ETHUSDT"), "topic %r" % p
        assert k["end"] - k["start"] + 1 == (60000 if iv == "1" else 3600000) and k["start"] % 60000 == 0, "period"
        for f in ("open", "close", "high", "low", "volume", "turnover"):
            assert isinstance(k[f], str) and DEC.match(k[f]), "decimal %s=%r" % (f, k[f])
        assert k["confirm"] is False and k["start"] <= k["timestamp"] <= k["end"] and p["ts"] >= k["timestamp"], "times"
    ws.send_text('{"op":"unsubscribe","args":["kline.1.BTCUSDT","kline.60.ETHUSDT"],"req_id":"u"}')
    r = reply()
    assert r["success"] is True and r["ret_msg"] == "unsubscribe" and r["req_id"] == "u", "unsubscribe %r" % r
    ws.close()
    with open(record) as f:
        recorded = [json.loads(line) for line in f]
    assert all(p in recorded for p in pushes), "every push sent is in --record as sent"

    # REST: newest first, the most recent `limit` periods of [start, end]
    page = rest("category=spot&symbol=BTCUSDT&interval=1&limit=5")
    assert page["retCode"] == 0 and page["retMsg"] == "OK" and page["result"]["category"] == "spot", "page %r" % page
    rows = page["result"]["list"]
    times = [int(r[0]) for r in rows]
    now = int(time.time() * 1000)
    assert len(rows) == 5 and times == sorted(times, reverse=True), "newest first %r" % times
    assert times[0] == now // 60000 * 60000 or times[0] == now // 60000 * 60000 - 60000, "the current period first"
    assert all(a - b == 60000 for a, b in zip(times, times[1:])), "consecutive"
    assert all(len(r) == 7 and all(isinstance(x, str) for x in r) and all(DEC.match(x) for x in r[1:])
               for r in rows), "rows"
    assert all(rows[i][1] == rows[i + 1][4] for i in range(4)), "open = previous close"
    t0 = times[4]
    sub = rest("category=spot&symbol=BTCUSDT&interval=1&start=%d&end=%d&limit=1000" % (t0, times[1] + 5))
    assert [int(r[0]) for r in sub["result"]["list"]] == times[1:], "start/end window %r" % sub
    sub = rest("category=spot&symbol=BTCUSDT&interval=1&start=%d&limit=2" % t0)
    assert [int(r[0]) for r in sub["result"]["list"]][-1] > times[3], "limit keeps the most recent rows"
    assert sub["result"]["list"][1] == rows[1] if int(sub["result"]["list"][0][0]) == times[0] else True, "same values"
    h = rest("category=spot&symbol=ETHUSDT&interval=60&limit=3")["result"]["list"]
    assert [int(r[0]) % 3600000 for r in h] == [0, 0, 0], "hourly rows"
    assert len(rest("category=spot&symbol=BTCUSDT&interval=1&limit=1000")["result"]["list"]) == 1000, "1000 rows"
    for q, msg in (("category=linear&symbol=BTCUSDT&interval=1", "params error: category is not the simulated market"),
                   ("symbol=BTCUSDT&interval=1", "params error: category is not the simulated market"),
                   ("category=spot&symbol=NOPE&interval=1", "Not supported symbols"),
                   ("category=spot&symbol=BTCUSDT&interval=1m", "params error: interval is invalid"),
                   ("category=spot&symbol=BTCUSDT&interval=5", "params error: interval is invalid"),
                   ("category=spot&symbol=BTCUSDT&interval=1&limit=1001", "params error: limit must be in [1, 1000]"),
                   ("category=spot&symbol=BTCUSDT&interval=1&limit=0", "params error: limit must be in [1, 1000]"),
                   ("category=spot&symbol=BTCUSDT&interval=1&start=x",
                    "params error: start, end and limit must be integers"),
                   ("category=spot&symbol=BTCUSDT&interval=1&start=9&end=8", "params error: start is after end")):
        e = rest(q)
        assert e["retCode"] == 10001 and e["retMsg"] == msg and e["result"] == {}, "%s -> %r" % (q, e)
    with urllib.request.urlopen(base + "/v5/market/time", timeout=5) as r:
        t = json.loads(r.read())
    assert t["retCode"] == 0 and abs(int(t["result"]["timeSecond"]) - now // 1000) < 30, "server time %r" % t
    try:
        wsclient.connect("127.0.0.1", port, "/v5/public/linear")
        raise AssertionError("the linear path on a spot simulator")
    except wsclient.WSError:
        pass
    assert sim.stop() == 0, "sim exit status"


def test_linear(e2e):
    sim = e2e.sim("--exchange", "bybit", "--market", "linear", "--symbol-count", "1000", "--interval", "1m",
                  "--rate", "2", "--ping-interval", "0")
    ws = wsclient.connect("127.0.0.1", sim.port, "/v5/public/linear")
    ws.send_text('{"op":"ping"}')
    r = json.loads(ws.recv_text())
    assert list(r) == ["success", "ret_msg", "conn_id", "req_id", "op"] and r["req_id"] == "" and \
        r["ret_msg"] == "pong", r
    ws.send_text(json.dumps({"op": "subscribe", "args": ["kline.1.SYM%04dUSDT" % i for i in range(1, 31)]}))
    r = json.loads(ws.recv_text())
    assert r["success"] is True and r["ret_msg"] == "" and r["req_id"] == "", r   # no args limit on futures

    def reply():
        while True:
            m = json.loads(ws.recv_text())
            if "topic" not in m:
                return m
    # one connection's topics may total 21,000 characters: 30 * 19 + 1000 * 21 is over, and refused whole
    ws.send_text(json.dumps({"op": "subscribe", "args": ["kline.720.SYM%04dUSDT" % i for i in range(1, 1001)]}))
    r = reply()
    assert r["success"] is False and r["ret_msg"] == "error:args of this connection over 21000 characters", r
    ws.send_text(json.dumps({"op": "subscribe", "args": ["kline.720.SYM%04dUSDT" % i for i in range(1, 971)]}))
    r = reply()
    assert r["success"] is True, r   # 570 + 970 * 21 = 20,940
    assert sim.stop() == 0, "sim exit status"


def test_inverse_truth_and_rest_fault(e2e):
    truth_path = e2e.path("truth.jsonl")
    sim = e2e.sim("--exchange", "bybit", "--market", "inverse", "--interval", "1m", "--rate", "2",
                  "--ping-interval", "0", "--rest-fail-every", "2", "--truth", truth_path)
    ws = wsclient.connect("127.0.0.1", sim.port, "/v5/public/inverse")
    ws.send_text('{"op":"subscribe","args":["kline.1.BTCUSD"]}')
    assert json.loads(ws.recv_text())["success"] is True
    k = json.loads(ws.recv_text())["data"][0]
    assert re.match(r"^[1-9][0-9]*$", k["volume"]) and "." in k["turnover"], k   # contracts, base coin
    assert re.match(r"^[0-9]+(\.[0-9])?$", k["open"]), k
    # --truth: what candled must print for this push (inverse: the base coin is the volume)
    with open(truth_path) as f:
        truth = [json.loads(line) for line in f]
    want = {"symbol": "BTCUSD", "interval": "1m", "timestamp": k["start"], "open": k["open"], "high": k["high"],
            "low": k["low"], "close": k["close"], "volume": k["turnover"], "is_closed": False, "flag": True,
            "sent": True, "revision": False, "close_time": k["end"], "quote_volume": k["volume"]}
    assert want in truth, (want, truth[:3])
    assert all("trades" not in t for t in truth), truth[0]
    url = "http://127.0.0.1:%d/v5/market/kline?category=inverse&symbol=BTCUSD&interval=1&limit=2" % sim.port
    with urllib.request.urlopen(url, timeout=5) as r:
        assert json.loads(r.read())["retCode"] == 0
    try:
        urllib.request.urlopen(url, timeout=5)
        raise AssertionError("the second request should fail")
    except urllib.error.HTTPError as e:
        body = json.loads(e.read())
        assert e.code == 429 and body["retCode"] == 10006 and body["retMsg"].startswith("Too many visits!"), body
    assert sim.stop() == 0, "sim exit status"
    assert '"rest_failures":1' in sim.log(), "REST failure not counted"

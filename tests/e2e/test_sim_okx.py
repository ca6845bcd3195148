"""candled-sim speaks OKX's candle protocol correctly.  Replaces test_sim_okx.py (every check
kept; its usage error is okx's row in test_sim_usage.py, now checked for exit status 2).

1. /ws/v5/business: the text ping is answered "pong"; subscribe is acknowledged per argument with
   the request id and a connId; bad requests get 60012, unknown channels or instruments 60018;
   pushes are {"arg":..,"data":[[9 strings]]} with confirm "0"/"1", decimals without trailing
   zeros; an unsubscribe stops the pushes; /ws/v5/public refuses candle channels; no WebSocket
   pings are sent.
2. REST: candles and history-candles newest first, after/before exclusive, limits 300/100, 1s
   only on history-candles, the current candle unconfirmed, a closed push equal to its row;
   errors with OKX codes.
3. the generic faults and the 30 s idle rule default (counters line).
"""
import json
import re
import time
import urllib.error
import urllib.request

import simcheck
import wsclient

DEC = re.compile(r"^(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$")


def recv_text(ws, timeout=5):
    kind, payload = ws.recv(timeout=timeout)
    assert kind == "text", "expected a text frame, got %s %r" % (kind, payload)
    return payload


def check_row(r, closed=None):
    assert isinstance(r, list) and len(r) == 9 and all(isinstance(x, str) for x in r), "row shape %r" % r
    assert re.match(r"^[0-9]{13}$", r[0]) is not None, "ts %r" % r[0]
    for x in r[1:8]:
        assert DEC.match(x) is not None, "decimal %r" % x
    assert r[8] in ("0", "1"), "confirm %r" % r[8]
    if closed is not None:
        assert r[8] == ("1" if closed else "0"), "confirm of %r" % r


def test_protocol_and_rest(e2e):
    record = e2e.path("record.jsonl")
    sim = e2e.sim("--exchange", "okx", "--symbols", "BTC-USDT,ETH-USDT", "--interval", "1s,1m,1d", "--rate", "4",
                  "--seed", "3", "--record", record)
    port = sim.port
    base = "http://127.0.0.1:%d" % port

    def rest(path):
        st, _, body = simcheck.rest(base, path)
        return st, body

    ws = wsclient.connect("127.0.0.1", port, "/ws/v5/business")
    ws.send_text("ping")
    assert recv_text(ws) == "pong", "ping not answered with pong"
    ws.send_text('{"id":"a1","op":"subscribe","args":[{"channel":"candle1s","instId":"BTC-USDT"},'
                 '{"channel":"candle7m","instId":"BTC-USDT"},{"channel":"candle1m","instId":"NOPE-USDT"}]}')
    replies, pushes = [], []
    while len(replies) < 3:
        m = json.loads(recv_text(ws))
        (replies if "event" in m else pushes).append(m)
    ack, err1, err2 = replies
    assert ack["id"] == "a1" and ack["event"] == "subscribe" and \
        ack["arg"] == {"channel": "candle1s", "instId": "BTC-USDT"} and re.match(r"^[0-9a-f]{8}$", ack["connId"]), \
        "ack %r" % ack
    assert err1["event"] == "error" and err1["code"] == "60018" and "candle7m,instId:BTC-USDT" in err1["msg"], \
        "err %r" % err1
    assert err2["code"] == "60018" and "NOPE-USDT" in err2["msg"] and err2["id"] == "a1", "err %r" % err2
    for bad in ('{"op":"subscribe","args":[]}', 'nonsense', '{"op":"login","args":[]}',
                '{"id":"not valid!","op":"subscribe","args":[{"channel":"candle1s","instId":"BTC-USDT"}]}',
                '{"op":"subscribe","args":[{"channel":"candle1s"}]}'):
        ws.send_text(bad)
        while True:
            m = json.loads(recv_text(ws))
            if "event" in m:
                break
            pushes.append(m)
        assert m["event"] == "error" and m["code"] == "60012" and m["msg"].startswith("Invalid request"), \
            "%s -> %r" % (bad, m)
    deadline = time.time() + 10
    closed = None
    while time.time() < deadline and (closed is None or len(pushes) < 6):
        m = json.loads(recv_text(ws))
        pushes.append(m)
        if m["data"][0][8] == "1":
            closed = m
    for m in pushes:
        assert m["arg"] == {"channel": "candle1s", "instId": "BTC-USDT"} and len(m["data"]) == 1, "push %r" % m
        check_row(m["data"][0])
        assert int(m["data"][0][0]) % 1000 == 0, "1s open time aligned"
    assert closed is not None, "no confirmed push in 10 s"
    # the REST row of that second equals the confirmed push
    t = int(closed["data"][0][0])
    st, body = rest("/api/v5/market/history-candles?instId=BTC-USDT&bar=1s&after=%d&before=%d&limit=1" % (t + 1, t - 1))
    assert st == 200 and body["code"] == "0" and body["data"] == closed["data"], \
        "REST row of %d: %r vs %r" % (t, body, closed)
    ws.send_text('{"id":"u1","op":"unsubscribe","args":[{"channel":"candle1s","instId":"BTC-USDT"}]}')
    while True:
        m = json.loads(recv_text(ws))
        if "event" in m:
            break
    assert m == {"id": "u1", "event": "unsubscribe", "arg": {"channel": "candle1s", "instId": "BTC-USDT"},
                 "connId": ack["connId"]}, "unsubscribe ack %r" % m
    try:
        kind, payload = ws.recv(timeout=2.5)
        raise AssertionError("a frame after unsubscribing: %s %r" % (kind, payload))
    except TimeoutError:
        pass
    ws.close()

    pub = wsclient.connect("127.0.0.1", port, "/ws/v5/public")
    pub.send_text('{"op":"subscribe","args":[{"channel":"candle1m","instId":"BTC-USDT"}]}')
    m = json.loads(recv_text(pub))
    assert m["event"] == "error" and m["code"] == "60018", "public endpoint served candles: %r" % m
    pub.close()

    # REST ordering, windows and limits (all inside one minute: not a wait for anything)
    if time.time() % 60 > 55:
        time.sleep(60.5 - time.time() % 60)
    st, body = rest("/api/v5/market/candles?instId=BTC-USDT&bar=1m&limit=5")
    rows = body["data"]
    assert st == 200 and len(rows) == 5, "candles limit 5: %r" % body
    ts = [int(r[0]) for r in rows]
    assert ts == sorted(ts, reverse=True) and all(a - b == 60000 for a, b in zip(ts, ts[1:])), "newest first: %r" % ts
    assert ts[0] == int(time.time() * 1000) // 60000 * 60000 or \
        ts[0] == (int(time.time() * 1000) // 60000 - 1) * 60000, "first row is the current minute"
    check_row(rows[0], closed=False)
    for r in rows[1:]:
        check_row(r, closed=True)
    for a, b in zip(rows, rows[1:]):
        assert a[1] == b[4], "open %s != previous close %s" % (a[1], b[4])
    st, body = rest("/api/v5/market/candles?instId=BTC-USDT&bar=1m&after=%d&before=%d&limit=300" % (ts[1], ts[4]))
    assert [int(r[0]) for r in body["data"]] == ts[2:4], "after/before exclusive: %r" % body["data"]
    st, body = rest("/api/v5/market/candles?instId=BTC-USDT&bar=1m&after=%d&limit=2" % ts[0])
    assert body["data"] == rows[1:3], "after alone: the newest rows older than ts"
    st, body = rest("/api/v5/market/candles?instId=BTC-USDT&bar=1m&before=%d" % ts[3])
    assert [int(r[0]) for r in body["data"]] == ts[:3], "before alone: the latest rows newer than ts"
    st, body = rest("/api/v5/market/candles?instId=BTC-USDT&bar=1m&limit=300&after=%d" % (ts[0] - 1439 * 60000 + 120000))
    assert len(body["data"]) == 2, "candles reach back 1,440 rows only: %d" % len(body["data"])
    st, body = rest("/api/v5/market/history-candles?instId=BTC-USDT&bar=1m&limit=100&after=%d" % (ts[0] - 1439 * 60000))
    assert len(body["data"]) == 100, "history-candles goes further back"
    st, body = rest("/api/v5/market/candles?instId=ETH-USDT&bar=1Dutc&limit=2")
    assert st == 200 and int(body["data"][0][0]) % 86400000 == 0, "1Dutc opens at 00:00 UTC: %r" % body
    for path, status, code in (("/api/v5/market/candles?instId=BTC-USDT&bar=1s", 400, "51000"),
                               ("/api/v5/market/candles?instId=BTC-USDT&limit=301", 400, "51000"),
                               ("/api/v5/market/history-candles?instId=BTC-USDT&limit=101", 400, "51000"),
                               ("/api/v5/market/candles?instId=BTC-USDT&bar=1D", 400, "51000"),
                               ("/api/v5/market/candles?instId=XRP-USDT", 400, "51001"),
                               ("/api/v5/market/candles?bar=1m", 400, "50014"),
                               ("/api/v5/market/candles?instId=BTC-USDT&after=12x", 400, "51000")):
        st, body = rest(path)
        assert st == status and body["code"] == code and body["data"] == [], "%s -> %d %r" % (path, st, body)

    assert sim.stop() == 0, "sim exit status"
    log = sim.log()
    assert '"pings":0,' in log, "OKX sends no WebSocket pings"
    assert '"app_pings":1,' in log, "text ping not counted"
    with open(record) as f:
        first = f.readline()
    assert first.startswith('{"arg":{"channel":"candle1s","instId":"BTC-USDT"},"data":[["'), "recorded frame: " + first


SWAP_PUSH = re.compile(r'"instId":"BTC-USDT-SWAP"\},"data":\[\["[0-9]*"' + r',"[0-9.]*"' * 7 + r',"[01]"\]\]\}$')


def test_faults(e2e):
    """Faults through the generic code: garbage and duplicates are injected, REST failures answered."""
    sim = e2e.sim("--exchange", "okx", "--market", "swap", "--interval", "1s", "--rate", "10", "--garbage-every", "2",
                  "--duplicate-every", "3", "--rest-fail-every", "1", "--rest-status", "429")
    lines, ok = wsclient.transcript(sim.port, "/ws/v5/business", count=12, timeout=10,
                                    send=['{"op":"subscribe","args":[{"channel":"candle1s","instId":"BTC-USDT-SWAP"}]}'])
    assert ok, "fault client: %r" % lines
    try:
        urllib.request.urlopen("http://127.0.0.1:%d/api/v5/market/candles?instId=BTC-USDT-SWAP" % sim.port, timeout=5)
        body = None
    except urllib.error.HTTPError as e:
        body = "%s %d" % (e.read().decode(), e.code)
    sim.stop()
    assert body == '{"code":"50011","msg":"Too Many Requests","data":[]} 429', "REST fault body: %s" % body
    assert any(SWAP_PUSH.search(line) for line in lines), "no swap push: %r" % lines
    log = sim.log()
    assert '"idle_drops":0,' in log, "counters"
    assert re.search(r'"duplicates":[1-9]', log) and re.search(r'"garbage":[1-9]', log), \
        "faults not injected: %s" % sim.counters()

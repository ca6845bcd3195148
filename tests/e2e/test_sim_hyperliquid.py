"""candled-sim speaks Hyperliquid's candle protocol correctly.  Replaces test_sim_hyperliquid.py
(every check kept, and the simulator's exit status now checked too; its usage error is
hyperliquid's row in test_sim_usage.py).

1. /ws: the greeting, ping -> pong, subscribe/unsubscribe acks, the error replies (already
   subscribed, already unsubscribed, invalid subscription, not a request, over the channel limit),
   candle pushes in the recorded field order with Hyperliquid's decimals and no closed flag, the
   array and number shapes, nothing after an unsubscribe, no server pings.
2. the idle rule: a silent client is closed with 1001 "idle timeout", a pinging one is not.
3. POST /info candleSnapshot: oldest first, the [startTime, endTime] window, only the most recent
   5000 candles, the current candle last; 422 for what it cannot read; GET is 404; a body over
   64 KiB is 413.
"""
import json
import re
import time
import urllib.error
import urllib.request

import wsclient

ORDER = ["t", "T", "s", "i", "o", "c", "h", "l", "v", "n"]
HL_DEC = re.compile(r"^[0-9]+\.([0-9]*[1-9]|0)$")  # trailing zeros stripped, one decimal kept


def sub(method, coin, interval, typ="candle"):
    return json.dumps({"method": method, "subscription": {"type": typ, "coin": coin, "interval": interval}},
                      separators=(",", ":"))


def ack(method, coin, interval):
    return ('{"channel":"subscriptionResponse","data":{"method":"%s","subscription":'
            '{"type":"candle","coin":"%s","interval":"%s"}}}' % (method, coin, interval))


def err(text):
    return json.dumps({"channel": "error", "data": text}, separators=(",", ":"))


def next_control(ws):
    while True:
        t = ws.recv_text()
        if not t.startswith('{"channel":"candle"'):
            return t


def test_live_protocol(e2e):
    truth = e2e.path("truth.jsonl")
    sim = e2e.sim("--exchange", "hyperliquid", "--symbols", "BTC,ETH", "--interval", "1m,5m", "--rate", "4",
                  "--max-streams", "3", "--truth", truth)
    port = sim.port
    ws = wsclient.connect("127.0.0.1", port, "/ws")
    assert ws.recv_text() == "Websocket connection established.", "greeting"
    ws.send_text('{"method":"ping"}')
    assert ws.recv_text() == '{"channel":"pong"}', "pong"
    ws.send_text(sub("subscribe", "BTC", "1m"))
    assert ws.recv_text() == ack("subscribe", "BTC", "1m"), "subscribe ack"
    replies = []
    for msg in (sub("subscribe", "BTC", "1m"), sub("subscribe", "BTC", "6h"), sub("subscribe", "BTC", "1m", "trades"),
                "not json", '{"method":"post","id":1}', sub("unsubscribe", "ETH", "1m"),
                sub("subscribe", "ETH", "5m"), sub("subscribe", "NOPE", "1m"), sub("subscribe", "ETH", "1m"),
                '{"method":"ping"}'):
        ws.send_text(msg)
        replies.append(next_control(ws))
    assert (replies == [
        err('Already subscribed: {"type":"candle","interval":"1m","coin":"BTC"}'),
        err("Invalid subscription"), err("Invalid subscription"),
        err("Error parsing JSON into valid websocket request"), err("Error parsing JSON into valid websocket request"),
        err('Already unsubscribed: {"type":"candle","interval":"1m","coin":"ETH"}'),
        ack("subscribe", "ETH", "5m"), ack("subscribe", "NOPE", "1m"),  # unknown coins: acknowledged, silent
        err("Cannot subscribe to more than 3 channels."), '{"channel":"pong"}']), "replies %r" % replies

    seen = {}
    deadline = time.time() + 10
    while len(seen.get("BTC", [])) < 6 or len(seen.get("ETH", [])) < 6:
        assert time.time() < deadline, "candle pushes from both streams"
        t = ws.recv_text()
        if not t.startswith('{"channel":"candle"'):
            continue
        f = json.loads(t, parse_float=str)
        assert list(f) == ["channel", "data"], "frame keys %r" % list(f)
        d = f["data"]
        assert list(d) == ORDER, "candle field order %r" % list(d)
        for k in "ochlv":
            assert isinstance(d[k], str) and HL_DEC.match(d[k]), "decimal %s=%r" % (k, d[k])
        period = {"1m": 60000, "5m": 300000}[d["i"]]
        assert d["t"] % period == 0 and d["T"] == d["t"] + period - 1, "open/close time of %r" % d
        assert (d["s"], d["i"]) in (("BTC", "1m"), ("ETH", "5m")), "stream of %r" % d
        assert float(d["l"]) <= min(float(d["o"]), float(d["c"])) and float(d["h"]) >= max(float(d["o"]), float(d["c"])), "high/low bound open/close"
        seen.setdefault(d["s"], []).append(d)

    # unsubscribe: acknowledged, and BTC stops (frames already queued may still arrive)
    ws.send_text(sub("unsubscribe", "BTC", "1m"))
    assert next_control(ws) == ack("unsubscribe", "BTC", "1m"), "unsubscribe ack"
    end = time.time() + 1.5
    while time.time() < end:
        try:
            t = ws.recv_text(timeout=max(0.05, end - time.time()))
        except (wsclient.WSError, OSError):  # a timeout: nothing more came
            break
        assert '"s":"BTC"' not in t, "BTC frame after its unsubscribe ack"
    assert ws.pings == 0, "the server sent WebSocket pings"
    ws.close()

    # the other payload shapes
    for path in ("/ws?shape=array", "/ws?prices=numbers"):
        w = wsclient.connect("127.0.0.1", port, path)
        assert w.recv_text() == "Websocket connection established.", "greeting on " + path
        w.send_text(sub("subscribe", "ETH", "5m"))
        assert w.recv_text() == ack("subscribe", "ETH", "5m"), "ack on " + path
        text = w.recv_text()
        f = json.loads(text)
        assert isinstance(f["data"], list) if path.endswith("array") else isinstance(f["data"], dict), "shape " + path
        if path.endswith("numbers"):
            assert all(not isinstance(f["data"][k], str) and '"%s":"' % k not in text for k in "ochlv"), "numbers on %s: %s" % (path, text)
        w.close()

    assert sim.stop() == 0, "sim exit status"
    assert '"pings":0,' in sim.log(), "server pings sent without --ping-interval"
    with open(truth) as f:
        assert '"flag":false' in f.read(), "truth lines must say there is no closed flag"


def test_idle_rule(e2e):
    sim = e2e.sim("--exchange", "hyperliquid", "--symbols", "BTC", "--interval", "1m", "--idle-disconnect", "1")
    port = sim.port
    quiet, busy = wsclient.connect("127.0.0.1", port, "/ws"), wsclient.connect("127.0.0.1", port, "/ws")
    quiet.send_text('{"method":"subscribe","subscription":{"type":"candle","coin":"BTC","interval":"1m"}}')
    end = time.time() + 3
    while time.time() < end:
        busy.send_text('{"method":"ping"}')
        time.sleep(0.3)
    while True:
        kind, payload = quiet.recv(timeout=5)
        if kind == "close":
            break
    assert payload == (1001, "idle timeout"), "silent client closed with %r" % (payload,)
    busy.send_text('{"method":"ping"}')
    while True:
        t = busy.recv_text(timeout=5)
        if t == '{"channel":"pong"}':
            break

    assert sim.stop() == 0, "sim exit status"
    assert re.search(r'"idle_drops":1[,}]', sim.log()), "exactly one idle drop expected"


def test_rest(e2e):
    sim = e2e.sim("--exchange", "hyperliquid", "--market", "spot", "--symbols", "@107", "--interval", "1m,1h")
    base = "http://127.0.0.1:%d" % sim.port

    def post(body, method="POST"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(base + "/info", data=data if method == "POST" else None, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def snap(coin, interval, start, end=None):
        req = {"coin": coin, "interval": interval, "startTime": start}
        if end is not None:
            req["endTime"] = end
        return post({"type": "candleSnapshot", "req": req})

    now = int(time.time() * 1000)
    cur = now // 3600000 * 3600000
    st, body = snap("@107", "1h", cur - 3 * 3600000 - 1)       # a start inside a period: from the next
    rows = json.loads(body, parse_float=str)
    assert st == 200 and [r["t"] for r in rows] == [cur - 3 * 3600000, cur - 2 * 3600000, cur - 3600000, cur], "window %r" % body[:200]
    assert list(rows[0]) == ["T", "c", "h", "i", "l", "n", "o", "s", "t", "v"], "row keys %r" % list(rows[0])
    assert all(r["s"] == "@107" and r["i"] == "1h" and r["T"] == r["t"] + 3599999 for r in rows), "row identity"
    assert all(a["c"] == b["o"] for a, b in zip(rows, rows[1:])), "open = previous close"
    st, body = snap("@107", "1h", cur - 2 * 3600000, cur - 3600000)  # endTime inclusive of open times
    assert [r["t"] for r in json.loads(body)] == [cur - 2 * 3600000, cur - 3600000], "endTime bound"
    st, body = snap("@107", "1m", 0)                               # only the most recent 5000 exist
    rows = json.loads(body)
    cur_m = int(time.time() * 1000) // 60000 * 60000
    assert len(rows) == 5000 and rows[-1]["t"] in (cur_m, cur_m - 60000), "5000 rows up to now: %d" % len(rows)
    assert all(b["t"] - a["t"] == 60000 for a, b in zip(rows, rows[1:])), "oldest first, no gap"
    assert snap("NOPE", "1h", cur - 3600000) == (200, "[]"), "unknown coin: no rows"
    assert snap("@107", "5m", cur - 3600000) == (200, "[]"), "interval not served: no rows"
    assert snap("@107", "1h", cur + 3600000) == (200, "[]"), "future window: no rows"
    bad = "Failed to deserialize the JSON body into the target type"
    for body in ({"type": "candleSnapshot", "req": {"coin": "@107", "interval": "6h", "startTime": 0}},
                 {"type": "candleSnapshot", "req": {"coin": "@107", "interval": "1h"}},
                 {"type": "candleSnapshot", "req": {"coin": "@107", "interval": "1h", "startTime": "0"}},
                 {"type": "meta"}, b"not json", b""):
        assert post(body) == (422, bad), "422 for %r" % (body,)
    assert post(b"", method="GET")[0] == 404, "GET /info"
    assert post(b" " * 70000)[0] == 413, "a body over 64 KiB"

    assert sim.stop() == 0, "sim exit status"


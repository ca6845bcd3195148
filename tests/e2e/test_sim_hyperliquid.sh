#!/bin/sh
# test_sim_hyperliquid.sh - candled-sim speaks Hyperliquid's candle protocol correctly.
#
# 1. /ws: the greeting, ping -> pong, subscribe/unsubscribe acks, the error replies (already
#    subscribed, already unsubscribed, invalid subscription, not a request, over the channel
#    limit), candle pushes in the recorded field order with Hyperliquid's decimals and no closed
#    flag, the array and number shapes, nothing after an unsubscribe, no server pings.
# 2. the idle rule: a silent client is closed with 1001 "idle timeout", a pinging one is not.
# 3. POST /info candleSnapshot: oldest first, the [startTime, endTime] window, only the most
#    recent 5000 candles, the current candle last; 422 for what it cannot read; GET is 404; a
#    body over 64 KiB is 413.
# 4. usage errors exit 2.
. "${CDL_SOURCE_DIR:?}/tests/e2e/lib.sh"

# --- 1. live protocol ---------------------------------------------------------------------------
start_sim --exchange hyperliquid --symbols BTC,ETH --interval 1m,5m --rate 4 --max-streams 3 \
    --truth "$E2E_TMP/truth.jsonl"
"$PYTHON" - "$SIM_PORT" <<'EOF' || fail "live protocol checks"
import json, os, re, sys, time
sys.path.insert(0, os.path.join(os.environ["CDL_SOURCE_DIR"], "tests", "e2e"))
import wsclient

port = int(sys.argv[1])
ORDER = ["t", "T", "s", "i", "o", "c", "h", "l", "v", "n"]
HL_DEC = re.compile(r"^[0-9]+\.([0-9]*[1-9]|0)$")  # trailing zeros stripped, one decimal kept

def check(cond, what):
    if not cond:
        print("check failed: " + what, file=sys.stderr)
        sys.exit(1)

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

ws = wsclient.connect("127.0.0.1", port, "/ws")
check(ws.recv_text() == "Websocket connection established.", "greeting")
ws.send_text('{"method":"ping"}')
check(ws.recv_text() == '{"channel":"pong"}', "pong")
ws.send_text(sub("subscribe", "BTC", "1m"))
check(ws.recv_text() == ack("subscribe", "BTC", "1m"), "subscribe ack")
replies = []
for msg in (sub("subscribe", "BTC", "1m"), sub("subscribe", "BTC", "6h"), sub("subscribe", "BTC", "1m", "trades"),
            "not json", '{"method":"post","id":1}', sub("unsubscribe", "ETH", "1m"),
            sub("subscribe", "ETH", "5m"), sub("subscribe", "NOPE", "1m"), sub("subscribe", "ETH", "1m"),
            '{"method":"ping"}'):
    ws.send_text(msg)
    replies.append(next_control(ws))
check(replies == [
    err('Already subscribed: {"type":"candle","interval":"1m","coin":"BTC"}'),
    err("Invalid subscription"), err("Invalid subscription"),
    err("Error parsing JSON into valid websocket request"), err("Error parsing JSON into valid websocket request"),
    err('Already unsubscribed: {"type":"candle","interval":"1m","coin":"ETH"}'),
    ack("subscribe", "ETH", "5m"), ack("subscribe", "NOPE", "1m"),  # unknown coins: acknowledged, silent
    err("Cannot subscribe to more than 3 channels."), '{"channel":"pong"}'], "replies %r" % replies)

seen, last = {}, {}
deadline = time.time() + 10
while len(seen.get("BTC", [])) < 6 or len(seen.get("ETH", [])) < 6:
    check(time.time() < deadline, "candle pushes from both streams")
    t = ws.recv_text()
    if not t.startswith('{"channel":"candle"'):
        continue
    f = json.loads(t, parse_float=str)
    check(list(f) == ["channel", "data"], "frame keys %r" % list(f))
    d = f["data"]
    check(list(d) == ORDER, "candle field order %r" % list(d))
    for k in "ochlv":
        check(isinstance(d[k], str) and HL_DEC.match(d[k]), "decimal %s=%r" % (k, d[k]))
    period = {"1m": 60000, "5m": 300000}[d["i"]]
    check(d["t"] % period == 0 and d["T"] == d["t"] + period - 1, "open/close time of %r" % d)
    check((d["s"], d["i"]) in (("BTC", "1m"), ("ETH", "5m")), "stream of %r" % d)
    check(float(d["l"]) <= min(float(d["o"]), float(d["c"])) and float(d["h"]) >= max(float(d["o"]), float(d["c"])),
          "high/low bound open/close")
    seen.setdefault(d["s"], []).append(d)

# unsubscribe: acknowledged, and BTC stops (frames already queued may still arrive)
ws.send_text(sub("unsubscribe", "BTC", "1m"))
check(next_control(ws) == ack("unsubscribe", "BTC", "1m"), "unsubscribe ack")
end = time.time() + 1.5
while time.time() < end:
    try:
        t = ws.recv_text(timeout=max(0.05, end - time.time()))
    except (wsclient.WSError, OSError):  # a timeout: nothing more came
        break
    check('"s":"BTC"' not in t, "BTC frame after its unsubscribe ack")
check(ws.pings == 0, "the server sent WebSocket pings")
ws.close()

# the other payload shapes
for path in ("/ws?shape=array", "/ws?prices=numbers"):
    w = wsclient.connect("127.0.0.1", port, path)
    check(w.recv_text() == "Websocket connection established.", "greeting on " + path)
    w.send_text(sub("subscribe", "ETH", "5m"))
    check(w.recv_text() == ack("subscribe", "ETH", "5m"), "ack on " + path)
    text = w.recv_text()
    f = json.loads(text)
    check(isinstance(f["data"], list) if path.endswith("array") else isinstance(f["data"], dict), "shape " + path)
    if path.endswith("numbers"):
        check(all(not isinstance(f["data"][k], str) and '"%s":"' % k not in text for k in "ochlv"),
              "numbers on %s: %s" % (path, text))
    w.close()
print("live protocol ok")
EOF
stop_sim
grep -q '"pings":0,' "$SIM_LOG" || fail "server pings sent without --ping-interval"
grep -q '"flag":false' "$E2E_TMP/truth.jsonl" || fail "truth lines must say there is no closed flag"

# --- 2. the idle rule ---------------------------------------------------------------------------
start_sim --exchange hyperliquid --symbols BTC --interval 1m --idle-disconnect 1
"$PYTHON" - "$SIM_PORT" <<'EOF' || fail "idle rule"
import os, sys, time
sys.path.insert(0, os.path.join(os.environ["CDL_SOURCE_DIR"], "tests", "e2e"))
import wsclient
port = int(sys.argv[1])
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
if payload != (1001, "idle timeout"):
    sys.exit("silent client closed with %r" % (payload,))
busy.send_text('{"method":"ping"}')
while True:
    t = busy.recv_text(timeout=5)
    if t == '{"channel":"pong"}':
        break
print("idle rule ok")
EOF
stop_sim
grep -q '"idle_drops":1[,}]' "$SIM_LOG" || fail "exactly one idle drop expected"

# --- 3. REST ------------------------------------------------------------------------------------
start_sim --exchange hyperliquid --market spot --symbols @107 --interval 1m,1h
"$PYTHON" - "$SIM_PORT" <<'EOF' || fail "REST checks"
import json, sys, time, urllib.request, urllib.error
base = "http://127.0.0.1:%s" % sys.argv[1]

def check(cond, what):
    if not cond:
        print("check failed: " + what, file=sys.stderr)
        sys.exit(1)

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
check(st == 200 and [r["t"] for r in rows] == [cur - 3 * 3600000, cur - 2 * 3600000, cur - 3600000, cur],
      "window %r" % body[:200])
check(list(rows[0]) == ["T", "c", "h", "i", "l", "n", "o", "s", "t", "v"], "row keys %r" % list(rows[0]))
check(all(r["s"] == "@107" and r["i"] == "1h" and r["T"] == r["t"] + 3599999 for r in rows), "row identity")
check(all(a["c"] == b["o"] for a, b in zip(rows, rows[1:])), "open = previous close")
st, body = snap("@107", "1h", cur - 2 * 3600000, cur - 3600000)  # endTime inclusive of open times
check([r["t"] for r in json.loads(body)] == [cur - 2 * 3600000, cur - 3600000], "endTime bound")
st, body = snap("@107", "1m", 0)                               # only the most recent 5000 exist
rows = json.loads(body)
cur_m = int(time.time() * 1000) // 60000 * 60000
check(len(rows) == 5000 and rows[-1]["t"] in (cur_m, cur_m - 60000), "5000 rows up to now: %d" % len(rows))
check(all(b["t"] - a["t"] == 60000 for a, b in zip(rows, rows[1:])), "oldest first, no gap")
check(snap("NOPE", "1h", cur - 3600000) == (200, "[]"), "unknown coin: no rows")
check(snap("@107", "5m", cur - 3600000) == (200, "[]"), "interval not served: no rows")
check(snap("@107", "1h", cur + 3600000) == (200, "[]"), "future window: no rows")
bad = "Failed to deserialize the JSON body into the target type"
for body in ({"type": "candleSnapshot", "req": {"coin": "@107", "interval": "6h", "startTime": 0}},
             {"type": "candleSnapshot", "req": {"coin": "@107", "interval": "1h"}},
             {"type": "candleSnapshot", "req": {"coin": "@107", "interval": "1h", "startTime": "0"}},
             {"type": "meta"}, b"not json", b""):
    check(post(body) == (422, bad), "422 for %r" % (body,))
check(post(b"", method="GET")[0] == 404, "GET /info")
check(post(b" " * 70000)[0] == 413, "a body over 64 KiB")
print("REST ok")
EOF
stop_sim

# --- 4. usage errors ----------------------------------------------------------------------------
rc=0
"$SIM_BIN" --exchange hyperliquid --market inverse --port 0 >/dev/null 2>"$E2E_TMP/usage.err" || rc=$?
[ $rc -eq 2 ] && grep -q "hyperliquid has no market 'inverse' (perp, spot)" "$E2E_TMP/usage.err" || fail "bad market: exit $rc"

echo "ok: candled-sim hyperliquid: WS protocol, idle rule, REST candleSnapshot, usage errors"

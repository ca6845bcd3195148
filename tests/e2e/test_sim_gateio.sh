#!/bin/sh
# test_sim_gateio.sh - candled-sim speaks Gate.io's candlestick protocol correctly.
#
# 1. spot /ws/v4/: subscribe ack with the id echoed, error replies (unknown pair, interval, stale
#    time, bad JSON, other channel), spot.ping -> spot.pong, pushes with Gate's field order and
#    trimmed decimals, w false until the one w:true close, open == previous close, the REST row
#    of the closed period equal to the close, unsubscribe stops the pushes; REST rules and errors.
# 2. usdt /v4/ws/usdt and btc /v4/ws (legacy path): futures pushes (result array, integer t and
#    v, no w), futures.pong, object rows, 2000 points per request.
. "${CDL_SOURCE_DIR:?}/tests/e2e/lib.sh"

start_sim --exchange gateio --symbols BTC_USDT,ETH_USDT --interval 10s,1m --rate 4 --truth "$E2E_TMP/truth"
"$PYTHON" - "$SIM_PORT" <<'EOF' || fail "spot protocol checks"
import json, os, re, sys, time
sys.path.insert(0, os.path.join(os.environ["CDL_SOURCE_DIR"], "tests", "e2e"))
import wsclient
from simcheck import check
import simcheck

port = int(sys.argv[1])
base = "http://127.0.0.1:%d" % port
DEC = re.compile(r"^(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$")  # Gate's decimals: no trailing zeros

def rest(path):
    st, _, body = simcheck.rest(base, path)
    return st, body

def req(event, payload, t=None, rid=None, channel="spot.candlesticks"):
    d = {"time": int(time.time()) if t is None else t}
    if rid is not None:
        d["id"] = rid
    d.update({"channel": channel, "event": event, "payload": payload})
    return json.dumps(d)

ws = wsclient.connect("127.0.0.1", port, "/ws/v4/")
ws.send_text(req("subscribe", ["10s", "BTC_USDT"], rid=7))
ack = json.loads(ws.recv_text())
check(list(ack) == ["time", "time_ms", "id", "channel", "event", "error", "result"], "ack fields %r" % ack)
check(ack["id"] == 7 and ack["channel"] == "spot.candlesticks" and ack["event"] == "subscribe" and
      ack["error"] is None and ack["result"] == {"status": "success"}, "ack %r" % ack)
check(abs(ack["time"] - time.time()) < 5 and ack["time_ms"] // 1000 == ack["time"], "ack times %r" % ack)
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
    check(r["error"]["code"] == code and r["result"] == {"status": "fail"}, "%s -> %r" % (msg, r))
    if code == 2:
        check(r["id"] == json.loads(msg)["id"], "error echoes the id %r" % r)
ws.send_text('{"time":%d,"channel":"spot.ping"}' % time.time())
r = json.loads(ws.recv_text())
while r.get("event") == "update":
    r = json.loads(ws.recv_text())
check(r["channel"] == "spot.pong" and r["event"] == "" and "error" in r and r["error"] is None and
      r["result"] is None, "pong %r" % r)

# pushes until a w:true close and the first push of the next period
closed = nxt = None
deadline = time.monotonic() + 25
while nxt is None:
    check(time.monotonic() < deadline, "no close + next period within 25 s")
    ev = json.loads(ws.recv_text(timeout=15))
    check(list(ev) == ["time", "time_ms", "channel", "event", "result"] and ev["event"] == "update", "push %r" % ev)
    k = ev["result"]
    check(list(k) == ["t", "v", "c", "h", "l", "o", "n", "a", "w"], "result fields %r" % list(k))
    check(k["n"] == "10s_BTC_USDT" and isinstance(k["t"], str) and int(k["t"]) % 10 == 0, "identity %r" % k)
    for f in "vchloa":
        check(isinstance(k[f], str) and DEC.match(k[f]), "trimmed decimal string %s=%r" % (f, k[f]))
    check(float(k["l"]) <= min(float(k["o"]), float(k["c"])) <= max(float(k["o"]), float(k["c"])) <= float(k["h"]),
          "low <= open, close <= high")
    check(isinstance(k["w"], bool), "w is a boolean")
    if closed is None and k["w"]:
        closed = ev
        check(ev["time_ms"] == (int(k["t"]) + 10) * 1000, "close pushed at the period end")
    elif closed is not None:
        check(int(k["t"]) == int(closed["result"]["t"]) + 10 and not k["w"], "next period follows the close")
        nxt = ev
check(nxt["result"]["o"] == closed["result"]["c"], "open == previous close")

t = int(closed["result"]["t"])
st, rows = rest("/api/v4/spot/candlesticks?currency_pair=BTC_USDT&interval=10s&from=%d&to=%d" % (t, t))
k = closed["result"]
check(st == 200 and rows == [[k["t"], k["v"], k["c"], k["h"], k["l"], k["o"], k["a"], "true"]],
      "REST row == WS close\n  rest %r\n  ws   %r" % (rows, k))

ws.send_text(req("unsubscribe", ["10s", "BTC_USDT"], rid=13))
r = json.loads(ws.recv_text())
while r.get("event") == "update":
    r = json.loads(ws.recv_text())
check(r["event"] == "unsubscribe" and r["id"] == 13 and r["error"] is None, "unsubscribe ack %r" % r)
try:
    extra = ws.recv_text(timeout=1.5)
    check(False, "a push after unsubscribe: %s" % extra)
except TimeoutError:
    pass
ws.close()

# REST: latest `limit` oldest first, the current period last and not closed
st, rows = rest("/api/v4/spot/candlesticks?currency_pair=ETH_USDT&interval=1m&limit=5")
check(st == 200 and len(rows) == 5 and all(len(r) == 8 for r in rows), "limit 5 %r" % rows)
check(all(int(rows[i][0]) + 60 == int(rows[i + 1][0]) for i in range(4)), "oldest first, consecutive")
check([r[7] for r in rows] == ["true"] * 4 + ["false"], "closed flags %r" % [r[7] for r in rows])
check(all(rows[i][2] == rows[i + 1][5] for i in range(4)), "open == previous close")
now = int(time.time())
st, rows = rest("/api/v4/spot/candlesticks?currency_pair=ETH_USDT&interval=1m&from=%d" % (now - 600))
check(st == 200 and len(rows) in (10, 11) and int(rows[0][0]) >= now - 600, "from without to: up to now")
st, rows = rest("/api/v4/spot/candlesticks?currency_pair=ETH_USDT&interval=1m&from=%d&to=%d" % (now - 59999, now))
check(st == 200 and len(rows) == 1000, "1000 points from..to (inclusive)")
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
    check(st == 400 and body.get("label") == label and body.get("message"), "%s -> %d %r" % (path, st, body))
st, body = rest("/api/v4/spot/candlesticks?currency_pair=ETH_USDT&interval=1m&from=%d&to=%d" % (now - 60060, now))
check("too broad" in body["message"], "range error text %r" % body)
st, body = rest("/api/v4/spot/candlesticks?currency_pair=ETH_USDT&interval=1m&from=%d&to=%d" % (now - 700000, now - 690000))
check("too long ago" in body["message"], "horizon error text %r" % body)
print("ok: spot protocol")
EOF
stop_sim || fail "candled-sim exited $SIM_EXIT"
grep -q '"flag":true' "$E2E_TMP/truth" || fail "spot truth lines must say the frames carry a flag"

for market in usdt btc; do
    sym=BTC_USDT path=/v4/ws/usdt
    [ $market = btc ] && sym=BTC_USD path=/v4/ws
    start_sim --exchange gateio --market $market --symbols $sym --interval 10s,5m --rate 4 --truth "$E2E_TMP/truth.$market"
    "$PYTHON" - "$SIM_PORT" "$market" "$sym" "$path" <<'EOF' || fail "$market protocol checks"
import json, os, sys, time
sys.path.insert(0, os.path.join(os.environ["CDL_SOURCE_DIR"], "tests", "e2e"))
import wsclient
from simcheck import check
import simcheck

port, market, sym, path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
base = "http://127.0.0.1:%d" % port

def rest(p):
    st, _, body = simcheck.rest(base, p)
    return st, body

try:
    wsclient.connect("127.0.0.1", port, "/ws/v4/")
    check(False, "the spot path is served by a futures simulator")
except (wsclient.WSError, OSError):
    pass
ws = wsclient.connect("127.0.0.1", port, path)
ws.send_text('{"time":%d,"channel":"futures.candlesticks","event":"subscribe","payload":["10s","%s"]}' % (time.time(), sym))
ack = json.loads(ws.recv_text())
check(ack["event"] == "subscribe" and ack["error"] is None and ack["result"] == {"status": "success"}
      and "id" not in ack, "ack %r" % ack)
ws.send_text('{"time":%d,"channel":"futures.ping"}' % time.time())
pong = None
pushes = []
while pong is None or len(pushes) < 3:
    m = json.loads(ws.recv_text(timeout=10))
    if m["channel"] == "futures.pong":
        pong = m
    else:
        pushes.append(m)
check(list(pong) == ["time", "time_ms", "channel", "event", "result"] and pong["result"] is None, "pong %r" % pong)
for ev in pushes:
    check(ev["channel"] == "futures.candlesticks" and ev["event"] == "update" and isinstance(ev["result"], list)
          and len(ev["result"]) == 1, "push %r" % ev)
    k = ev["result"][0]
    check(list(k) == ["t", "v", "c", "h", "l", "o", "n", "a"], "no closed flag, Gate's field order %r" % list(k))
    check(isinstance(k["t"], int) and isinstance(k["v"], int) and k["n"] == "10s_" + sym, "integer t and v %r" % k)
    check(all(isinstance(k[f], str) for f in "chloa"), "string prices %r" % k)
ws.close()
st, rows = rest("/api/v4/futures/%s/candlesticks?contract=%s&interval=10s&limit=2000" % (market, sym))
check(st == 200 and len(rows) == 2000 and list(rows[0]) == ["t", "v", "c", "h", "l", "o", "sum"], "2000 object rows")
check(all(rows[i]["t"] + 10 == rows[i + 1]["t"] for i in range(1999)), "oldest first, consecutive")
check(all(rows[i]["c"] == rows[i + 1]["o"] for i in range(1999)), "open == previous close")
t = rows[-10]["t"]
st, win = rest("/api/v4/futures/%s/candlesticks?contract=%s&interval=10s&from=%d&to=%d" % (market, sym, t, t + 20))
check(st == 200 and win == rows[-10:-7], "from/to in seconds, both inclusive %r" % win)
st, body = rest("/api/v4/futures/%s/candlesticks?contract=%s&interval=10s&from=%d&to=%d" % (market, sym, t - 20000, t))
check(st == 400 and "Maximum 2000 data points" in body["message"], "a range over 2000 points %r" % body)
st, rows5 = rest("/api/v4/futures/%s/candlesticks?contract=%s&limit=3" % (market, sym))
check(st == 200 and [r["t"] % 300 for r in rows5] == [0, 0, 0] and rows5[1]["t"] - rows5[0]["t"] == 300,
      "no interval: Gate's futures default, 5m %r" % rows5)
st, body = rest("/api/v4/futures/%s/candlesticks?contract=%s&interval=10s&limit=2001" % (market, sym))
check(st == 400 and body["label"] == "INVALID_PARAM_VALUE", "limit 2001 %r" % body)
st, body = rest("/api/v4/futures/%s/candlesticks?contract=NOPE&interval=10s" % market)
check(st == 400 and body["label"] == "CONTRACT_NOT_FOUND", "unknown contract %r" % body)
other = "btc" if market == "usdt" else "usdt"
st, _ = rest("/api/v4/futures/%s/candlesticks?contract=%s&interval=10s" % (other, sym))
check(st == 404, "the other settle is not served")
print("ok: %s protocol" % market)
EOF
    stop_sim || fail "candled-sim exited $SIM_EXIT"
    grep -q '"flag":true' "$E2E_TMP/truth.$market" && fail "$market truth lines must say the frames carry no flag"
done
echo "ok: candled-sim speaks Gate.io"

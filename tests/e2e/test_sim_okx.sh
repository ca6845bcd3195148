#!/bin/sh
# test_sim_okx.sh - candled-sim speaks OKX's candle protocol correctly.
#
# 1. /ws/v5/business: the text ping is answered "pong"; subscribe is acknowledged per argument
#    with the request id and a connId; bad requests get 60012, unknown channels or instruments
#    60018; pushes are {"arg":..,"data":[[9 strings]]} with confirm "0"/"1", decimals without
#    trailing zeros; an unsubscribe stops the pushes; /ws/v5/public refuses candle channels; no
#    WebSocket pings are sent.
# 2. REST: candles and history-candles newest first, after/before exclusive, limits 300/100,
#    1s only on history-candles, the current candle unconfirmed, a closed push equal to its row;
#    errors with OKX codes.
# 3. the generic faults and the 30 s idle rule default (counters line).
. "${CDL_SOURCE_DIR:?}/tests/e2e/lib.sh"

start_sim --exchange okx --symbols BTC-USDT,ETH-USDT --interval 1s,1m,1d --rate 4 --seed 3 \
    --record "$E2E_TMP/record.jsonl"
"$PYTHON" - "$SIM_PORT" <<'EOF' || fail "okx protocol checks"
import json, os, re, sys, time, urllib.request, urllib.error
sys.path.insert(0, os.path.join(os.environ["CDL_SOURCE_DIR"], "tests", "e2e"))
import wsclient

port = int(sys.argv[1])
base = "http://127.0.0.1:%d" % port
DEC = re.compile(r"^(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$")

def check(cond, what):
    if not cond:
        print("check failed: " + what, file=sys.stderr)
        sys.exit(1)

def rest(path):
    try:
        with urllib.request.urlopen(base + path, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())

def recv_text(ws, timeout=5):
    kind, payload = ws.recv(timeout=timeout)
    check(kind == "text", "expected a text frame, got %s %r" % (kind, payload))
    return payload

def check_row(r, closed=None):
    check(isinstance(r, list) and len(r) == 9 and all(isinstance(x, str) for x in r), "row shape %r" % r)
    check(re.match(r"^[0-9]{13}$", r[0]) is not None, "ts %r" % r[0])
    for x in r[1:8]:
        check(DEC.match(x) is not None, "decimal %r" % x)
    check(r[8] in ("0", "1"), "confirm %r" % r[8])
    if closed is not None:
        check(r[8] == ("1" if closed else "0"), "confirm of %r" % r)

ws = wsclient.connect("127.0.0.1", port, "/ws/v5/business")
ws.send_text("ping")
check(recv_text(ws) == "pong", "ping not answered with pong")
ws.send_text('{"id":"a1","op":"subscribe","args":[{"channel":"candle1s","instId":"BTC-USDT"},'
             '{"channel":"candle7m","instId":"BTC-USDT"},{"channel":"candle1m","instId":"NOPE-USDT"}]}')
replies, pushes = [], []
while len(replies) < 3:
    m = json.loads(recv_text(ws))
    (replies if "event" in m else pushes).append(m)
ack, err1, err2 = replies
check(ack["id"] == "a1" and ack["event"] == "subscribe" and ack["arg"] == {"channel": "candle1s", "instId": "BTC-USDT"}
      and re.match(r"^[0-9a-f]{8}$", ack["connId"]), "ack %r" % ack)
check(err1["event"] == "error" and err1["code"] == "60018" and "candle7m,instId:BTC-USDT" in err1["msg"], "err %r" % err1)
check(err2["code"] == "60018" and "NOPE-USDT" in err2["msg"] and err2["id"] == "a1", "err %r" % err2)
for bad in ('{"op":"subscribe","args":[]}', 'nonsense', '{"op":"login","args":[]}',
            '{"id":"not valid!","op":"subscribe","args":[{"channel":"candle1s","instId":"BTC-USDT"}]}',
            '{"op":"subscribe","args":[{"channel":"candle1s"}]}'):
    ws.send_text(bad)
    while True:
        m = json.loads(recv_text(ws))
        if "event" in m:
            break
        pushes.append(m)
    check(m["event"] == "error" and m["code"] == "60012" and m["msg"].startswith("Invalid request"), "%s -> %r" % (bad, m))
deadline = time.time() + 10
closed = None
while time.time() < deadline and (closed is None or len(pushes) < 6):
    m = json.loads(recv_text(ws))
    pushes.append(m)
    if m["data"][0][8] == "1":
        closed = m
for m in pushes:
    check(m["arg"] == {"channel": "candle1s", "instId": "BTC-USDT"} and len(m["data"]) == 1, "push %r" % m)
    check_row(m["data"][0])
    check(int(m["data"][0][0]) % 1000 == 0, "1s open time aligned")
check(closed is not None, "no confirmed push in 10 s")
# the REST row of that second equals the confirmed push
t = int(closed["data"][0][0])
st, body = rest("/api/v5/market/history-candles?instId=BTC-USDT&bar=1s&after=%d&before=%d&limit=1" % (t + 1, t - 1))
check(st == 200 and body["code"] == "0" and body["data"] == closed["data"], "REST row of %d: %r vs %r" % (t, body, closed))
ws.send_text('{"id":"u1","op":"unsubscribe","args":[{"channel":"candle1s","instId":"BTC-USDT"}]}')
while True:
    m = json.loads(recv_text(ws))
    if "event" in m:
        break
check(m == {"id": "u1", "event": "unsubscribe", "arg": {"channel": "candle1s", "instId": "BTC-USDT"},
            "connId": ack["connId"]}, "unsubscribe ack %r" % m)
try:
    kind, payload = ws.recv(timeout=2.5)
    check(False, "a frame after unsubscribing: %s %r" % (kind, payload))
except TimeoutError:
    pass
ws.close()

pub = wsclient.connect("127.0.0.1", port, "/ws/v5/public")
pub.send_text('{"op":"subscribe","args":[{"channel":"candle1m","instId":"BTC-USDT"}]}')
m = json.loads(recv_text(pub))
check(m["event"] == "error" and m["code"] == "60018", "public endpoint served candles: %r" % m)
pub.close()

# REST ordering, windows and limits (all inside one minute)
if time.time() % 60 > 55:
    time.sleep(60.5 - time.time() % 60)
st, body = rest("/api/v5/market/candles?instId=BTC-USDT&bar=1m&limit=5")
rows = body["data"]
check(st == 200 and len(rows) == 5, "candles limit 5: %r" % body)
ts = [int(r[0]) for r in rows]
check(ts == sorted(ts, reverse=True) and all(a - b == 60000 for a, b in zip(ts, ts[1:])), "newest first: %r" % ts)
check(ts[0] == int(time.time() * 1000) // 60000 * 60000 or ts[0] == (int(time.time() * 1000) // 60000 - 1) * 60000,
      "first row is the current minute")
check_row(rows[0], closed=False)
for r in rows[1:]:
    check_row(r, closed=True)
for a, b in zip(rows, rows[1:]):
    check(a[1] == b[4], "open %s != previous close %s" % (a[1], b[4]))
st, body = rest("/api/v5/market/candles?instId=BTC-USDT&bar=1m&after=%d&before=%d&limit=300" % (ts[1], ts[4]))
check([int(r[0]) for r in body["data"]] == ts[2:4], "after/before exclusive: %r" % body["data"])
st, body = rest("/api/v5/market/candles?instId=BTC-USDT&bar=1m&after=%d&limit=2" % ts[0])
check(body["data"] == rows[1:3], "after alone: the newest rows older than ts")
st, body = rest("/api/v5/market/candles?instId=BTC-USDT&bar=1m&before=%d" % ts[3])
check([int(r[0]) for r in body["data"]] == ts[:3], "before alone: the latest rows newer than ts")
st, body = rest("/api/v5/market/candles?instId=BTC-USDT&bar=1m&limit=300&after=%d" % (ts[0] - 1439 * 60000 + 120000))
check(len(body["data"]) == 2, "candles reach back 1,440 rows only: %d" % len(body["data"]))
st, body = rest("/api/v5/market/history-candles?instId=BTC-USDT&bar=1m&limit=100&after=%d" % (ts[0] - 1439 * 60000))
check(len(body["data"]) == 100, "history-candles goes further back")
st, body = rest("/api/v5/market/candles?instId=ETH-USDT&bar=1Dutc&limit=2")
check(st == 200 and int(body["data"][0][0]) % 86400000 == 0, "1Dutc opens at 00:00 UTC: %r" % body)
for path, status, code in (("/api/v5/market/candles?instId=BTC-USDT&bar=1s", 400, "51000"),
                           ("/api/v5/market/candles?instId=BTC-USDT&limit=301", 400, "51000"),
                           ("/api/v5/market/history-candles?instId=BTC-USDT&limit=101", 400, "51000"),
                           ("/api/v5/market/candles?instId=BTC-USDT&bar=1D", 400, "51000"),
                           ("/api/v5/market/candles?instId=XRP-USDT", 400, "51001"),
                           ("/api/v5/market/candles?bar=1m", 400, "50014"),
                           ("/api/v5/market/candles?instId=BTC-USDT&after=12x", 400, "51000")):
    st, body = rest(path)
    check(st == status and body["code"] == code and body["data"] == [], "%s -> %d %r" % (path, st, body))
EOF
stop_sim || fail "sim exit $SIM_EXIT"
grep -q '"pings":0,' "$SIM_LOG" || fail "OKX sends no WebSocket pings"
grep -q '"app_pings":1,' "$SIM_LOG" || fail "text ping not counted"
head -1 "$E2E_TMP/record.jsonl" | grep -q '^{"arg":{"channel":"candle1s","instId":"BTC-USDT"},"data":\[\["' \
    || fail "recorded frame: $(head -1 "$E2E_TMP/record.jsonl")"

# faults through the generic code: garbage and duplicates are injected, REST failures answered
start_sim --exchange okx --market swap --interval 1s --rate 10 --garbage-every 2 --duplicate-every 3 \
    --rest-fail-every 1 --rest-status 429
out=$("$PYTHON" "$WSCLIENT" --port "$SIM_PORT" --path /ws/v5/business \
    --send '{"op":"subscribe","args":[{"channel":"candle1s","instId":"BTC-USDT-SWAP"}]}' --count 12 --timeout 10) \
    || fail "fault client"
body=$("$PYTHON" -c '
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1], timeout=5)
except urllib.error.HTTPError as e:
    print(e.read().decode(), e.code)
' "http://127.0.0.1:$SIM_PORT/api/v5/market/candles?instId=BTC-USDT-SWAP")
stop_sim || true
[ "$body" = '{"code":"50011","msg":"Too Many Requests","data":[]} 429' ] || fail "REST fault body: $body"
echo "$out" | grep -q '"instId":"BTC-USDT-SWAP"},"data":\[\["[0-9]*","[0-9.]*","[0-9.]*","[0-9.]*","[0-9.]*","[0-9.]*","[0-9.]*","[0-9.]*","[01]"\]\]}$' \
    || fail "no swap push: $out"
grep -q '"idle_drops":0,' "$SIM_LOG" || fail "counters"
grep -q '"duplicates":[1-9]' "$SIM_LOG" && grep -q '"garbage":[1-9]' "$SIM_LOG" || fail "faults not injected: $(tail -1 "$SIM_LOG")"

# usage: unknown market
rc=0
"$SIM_BIN" --exchange okx --market options --port 0 >/dev/null 2>"$E2E_TMP/usage" || rc=$?
[ $rc -ne 0 ] && grep -q "okx has no market 'options' (spot, swap, futures)" "$E2E_TMP/usage" || fail "unknown market: $rc"
echo "ok: candled-sim okx protocol, REST windows, faults"

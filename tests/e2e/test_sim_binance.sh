#!/bin/sh
# test_sim_binance.sh - candled-sim speaks Binance's kline protocol correctly.
#
# 1. live /ws: SUBSCRIBE ack, LIST_SUBSCRIPTIONS, error replies, kline frames in the recorded
#    field order with fixed-decimal strings, an x:true close whose values REST returns for the
#    same period, open == previous close, server pings, the --record ground truth;
#    combined /stream and /market/stream frames; REST 400s; SIGTERM sends close 1001, exit 0.
# 2. --replay: real recorded frames come back byte for byte after the SUBSCRIBE ack.
# 3. faults: --disconnect-after closes with 1001 after N frames, --rest-fail-every answers 429
#    with Retry-After, --duplicate-every repeats a frame; the counters line reports them.
# 4. --flood: 3000 frames from two streams, event times non-decreasing and current.
# 5. usage errors exit 2.
. "${CDL_SOURCE_DIR:?}/tests/e2e/lib.sh"

# --- 1. live protocol ---------------------------------------------------------------------------
start_sim --exchange binance --symbols BTCUSDT,ETHUSDT --rate 4 --seed 7 --ping-interval 1 \
    --record "$E2E_TMP/record.jsonl"
"$PYTHON" - "$SIM_PORT" "$SIM_PID" "$E2E_TMP/record.jsonl" <<'EOF' || fail "live protocol checks"
import json, os, re, signal, sys, time
sys.path.insert(0, os.path.join(os.environ["CDL_SOURCE_DIR"], "tests", "e2e"))
import wsclient
from simcheck import check
import simcheck

port, pid, record = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
base = "http://127.0.0.1:%d" % port
K_ORDER = ["t", "T", "s", "i", "f", "L", "o", "c", "h", "l", "v", "n", "x", "q", "V", "Q", "B"]
DEC8 = re.compile(r"^[0-9]+\.[0-9]{8}$")

def rest(path):
    return simcheck.rest(base, path)

def check_event(ev, symbol, interval):
    check(list(ev) == ["e", "E", "s", "k"], "event field order %r" % list(ev))
    check(list(ev["k"]) == K_ORDER, "kline field order %r" % list(ev["k"]))
    k = ev["k"]
    check(ev["e"] == "kline" and ev["s"] == symbol and k["s"] == symbol and k["i"] == interval,
          "event identity %r" % ev)
    for f in "ochlvqVQ":
        check(isinstance(k[f], str) and DEC8.match(k[f]), "8-decimal string %s=%r" % (f, k[f]))
    check(k["B"] == "0" and isinstance(k["x"], bool), "B/x fields")
    check(k["T"] == k["t"] + 999, "close time of a 1s kline")
    check(k["L"] - k["f"] + 1 == k["n"], "trade ids match the trade count")
    check(float(k["l"]) <= min(float(k["o"]), float(k["c"])) and
          float(k["h"]) >= max(float(k["o"]), float(k["c"])), "high/low bound open/close")

ws = wsclient.connect("127.0.0.1", port, "/ws")
ws.send_text('{"method":"SUBSCRIBE","params":["btcusdt@kline_1s"],"id":1}')
check(ws.recv_text() == '{"result":null,"id":1}', "SUBSCRIBE ack")
ws.send_text('{"method":"LIST_SUBSCRIPTIONS","id":"q2"}')
ws.send_text('{"method":"SUBSCRIBE",')
ws.send_text('{"method":"NOPE","params":[],"id":4}')
replies, frames = [], []
while len(replies) < 3:
    msg = json.loads(ws.recv_text())
    (frames if "e" in msg else replies).append(msg)
check(replies[0] == {"result": ["btcusdt@kline_1s"], "id": "q2"}, "LIST_SUBSCRIPTIONS %r" % replies[0])
check(replies[1]["id"] is None and replies[1]["error"]["code"] == 3, "bad JSON error %r" % replies[1])
check(replies[2]["id"] == 4 and replies[2]["error"]["code"] == 2, "unknown method error %r" % replies[2])

# frames until an x:true close and the first frame of the next period
closed = nxt = None
deadline = time.monotonic() + 8
while nxt is None:
    check(time.monotonic() < deadline, "no close + next period within 8 s")
    if frames:
        ev = frames.pop(0)
    else:
        ev = json.loads(ws.recv_text(timeout=5))
    check_event(ev, "BTCUSDT", "1s")
    k = ev["k"]
    if closed is None and k["x"]:
        closed = ev
        check(ev["E"] == k["T"] + 1, "close event time is the period end")
    elif closed is not None:
        check(k["t"] == closed["k"]["T"] + 1 and not k["x"], "next period follows the close")
        nxt = ev
check(nxt["k"]["o"] == closed["k"]["c"], "open == previous close")

# REST returns the same values for the closed period
t = closed["k"]["t"]
st, hdr, rows = rest("/api/v3/klines?symbol=BTCUSDT&interval=1s&startTime=%d&endTime=%d" % (t, t))
check(st == 200 and len(rows) == 1, "REST one row %r" % (rows,))
k = closed["k"]
want = [k["t"], k["o"], k["h"], k["l"], k["c"], k["v"], k["T"], k["q"], k["n"], k["V"], k["Q"], "0"]
check(rows[0] == want, "REST row == WS close\n  rest %r\n  ws   %r" % (rows[0], want))
check("X-MBX-USED-WEIGHT-1M" in hdr, "used-weight header %r" % hdr)
st, _, rows = rest("/api/v3/klines?symbol=BTCUSDT&interval=1s&limit=5")
check(st == 200 and len(rows) == 5 and all(rows[i][0] + 1000 == rows[i + 1][0] for i in range(4)),
      "REST latest 5, oldest first")
check(all(rows[i][4] == rows[i + 1][1] for i in range(4)), "REST open == previous close")

# REST errors
for path, status, code in [
        ("/api/v3/klines?symbol=NOPEUSDT&interval=1m", 400, -1121),
        ("/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1001", 400, -1130),
        ("/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=1501", 400, -1130),
        ("/api/v3/klines?symbol=BTCUSDT&interval=7m", 400, -1120),
        ("/api/v3/klines?interval=1m", 400, -1102)]:
    st, _, body = rest(path)
    check(st == status and body.get("code") == code, "%s -> %d %r" % (path, st, body))
st, _, rows = rest("/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=1500")
check(st == 200 and len(rows) == 1500, "futures limit 1500")

# combined streams, plain and under the USD-M /market route
for path in ("/stream?streams=ethusdt@kline_1s/btcusdt@kline_1s", "/market/stream?streams=ethusdt@kline_1s"):
    c = wsclient.connect("127.0.0.1", port, path)
    msg = json.loads(c.recv_text(timeout=5))
    check(list(msg) == ["stream", "data"], "combined wrapper %r" % msg)
    sym = msg["data"]["s"].lower()
    check(msg["stream"] == sym + "@kline_1s", "stream name %r" % msg["stream"])
    check_event(msg["data"], msg["data"]["s"], "1s")
    c.close()

# the record file holds the close frame's exact text
raw = json.dumps(closed, separators=(",", ":"))
with open(record) as f:
    lines = f.read().splitlines()
check(raw in lines, "close frame recorded verbatim")

# pings every --ping-interval (1 s), answered by wsclient's pongs
end = time.monotonic() + 1.5
while time.monotonic() < end:
    check(ws.recv(timeout=5)[0] == "text", "frames keep coming")
check(ws.pings >= 1, "server pings every --ping-interval")

# SIGTERM: the client gets close 1001
os.kill(pid, signal.SIGTERM)
while True:
    kind, payload = ws.recv(timeout=5)
    if kind == "close":
        check(payload[0] == 1001, "close code on shutdown %r" % (payload,))
        break
print("live protocol ok: close t=%d c=%s" % (t, k["c"]))
EOF
stop_sim || fail "candled-sim exited with $SIM_EXIT after SIGTERM"
grep -q '"candled_sim":' "$SIM_LOG" || fail "no counters line on exit"
grep -q '"pongs":[1-9]' "$SIM_LOG" || fail "pongs not counted"

# --- 2. replay of real recorded frames --------------------------------------------------------------
# Two real Binance spot frames (cryptofeed sample_data/BINANCE.ws.1.0, 2021-10-12).
cat >"$E2E_TMP/replay.jsonl" <<'EOF'
{"stream":"nknusdt@kline_1m","data":{"e":"kline","E":1633998523963,"s":"NKNUSDT","k":{"t":1633998480000,"T":1633998539999,"s":"NKNUSDT","i":"1m","f":19862761,"L":19862790,"o":"0.35270000","c":"0.35280000","h":"0.35280000","l":"0.35220000","v":"25877.00000000","n":30,"x":false,"q":"9116.04600000","V":"58.00000000","Q":"20.46240000","B":"0"}}}
{"stream":"lrcbtc@kline_1m","data":{"e":"kline","E":1633998534486,"s":"LRCBTC","k":{"t":1633998480000,"T":1633998539999,"s":"LRCBTC","i":"1m","f":12368013,"L":12368013,"o":"0.00000638","c":"0.00000638","h":"0.00000638","l":"0.00000638","v":"177.00000000","n":1,"x":false,"q":"0.00112926","V":"177.00000000","Q":"0.00112926","B":"0"}}}
EOF
start_sim --exchange binance --replay "$E2E_TMP/replay.jsonl"
out=$(timeout 10 "$PYTHON" "$WSCLIENT" --port "$SIM_PORT" --path /ws --count 3 \
    --send '{"method":"SUBSCRIBE","params":["nknusdt@kline_1m"],"id":9}') || fail "replay client"
expected=$(printf '%s\n' '{"result":null,"id":9}'; cat "$E2E_TMP/replay.jsonl")
[ "$out" = "$expected" ] || fail "replay is not byte-exact:
$out"
stop_sim || fail "replay sim exit $SIM_EXIT"

# --- 3. faults --------------------------------------------------------------------------------
start_sim --exchange binance --rate 20 --disconnect-after 3 --duplicate-every 2 \
    --rest-fail-every 1 --rest-status 429
out=$(timeout 10 "$PYTHON" "$WSCLIENT" --port "$SIM_PORT" --path /ws/btcusdt@kline_1s) \
    || fail "disconnect-after client"
n=$(printf '%s\n' "$out" | grep -c '"e":"kline"')
[ "$n" -eq 3 ] || fail "expected 3 frames before the disconnect, got $n: $out"
printf '%s\n' "$out" | tail -n 1 | grep -q '^CLOSE 1001 ' || fail "no close 1001: $out"
[ "$(printf '%s\n' "$out" | sed -n 2p)" = "$(printf '%s\n' "$out" | sed -n 3p)" ] \
    || fail "--duplicate-every 2 did not repeat frame 2: $out"
hdrs=$("$PYTHON" - "$SIM_PORT" <<'EOF'
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen("http://127.0.0.1:%s/api/v3/klines?symbol=BTCUSDT&interval=1m" % sys.argv[1], timeout=5)
except urllib.error.HTTPError as e:
    print(e.code, e.headers.get("Retry-After"))
EOF
)
[ "$hdrs" = "429 1" ] || fail "--rest-fail-every: got '$hdrs'"
stop_sim || fail "fault sim exit $SIM_EXIT"
grep -q '"disconnects":1,' "$SIM_LOG" || fail "disconnect not counted"
grep -q '"duplicates":1,' "$SIM_LOG" || fail "duplicate not counted"
grep -q '"rest_failures":1,' "$SIM_LOG" || fail "REST failure not counted"

# --- 4. flood: frames as fast as the socket takes them, E = send time ---------------------------
start_sim --exchange binance --flood
"$PYTHON" - "$SIM_PORT" <<'EOF' || fail "flood checks"
import json, os, sys, time
sys.path.insert(0, os.path.join(os.environ["CDL_SOURCE_DIR"], "tests", "e2e"))
import wsclient
ws = wsclient.connect("127.0.0.1", int(sys.argv[1]), "/stream?streams=btcusdt@kline_1m/ethusdt@kline_1m")
prev, syms = 0, set()
for i in range(3000):
    m = json.loads(ws.recv_text(timeout=5))
    d = m["data"]
    syms.add(d["s"])
    now = time.time() * 1000
    if not (prev <= d["E"] <= now + 5 and now - d["E"] < 5000):
        sys.exit("bad flood E %d (prev %d, now %d)" % (d["E"], prev, now))
    prev = d["E"]
if syms != {"BTCUSDT", "ETHUSDT"}:
    sys.exit("flood did not alternate streams: %r" % syms)
ws.close()
EOF
stop_sim || fail "flood sim exit $SIM_EXIT"

# --- 5. usage errors ------------------------------------------------------------------------------
"$SIM_BIN" --exchange nowhere --port 0 >/dev/null 2>&1
[ $? -eq 2 ] || fail "unknown exchange should exit 2"
"$SIM_BIN" --exchange binance --market moon --port 0 >/dev/null 2>&1
[ $? -eq 2 ] || fail "unknown market should exit 2"
"$SIM_BIN" --exchange binance --rate fast --port 0 >/dev/null 2>&1
[ $? -eq 2 ] || fail "bad --rate should exit 2"
"$SIM_BIN" --exchange binance --drop-on-skip --port 0 >/dev/null 2>"$E2E_TMP/usage"
[ $? -eq 2 ] && grep -qx "candled-sim: --drop-on-skip needs --skip-close-every" "$E2E_TMP/usage" \
    || fail "--drop-on-skip alone should exit 2: $(cat "$E2E_TMP/usage")"

echo "PASS test_sim_binance"

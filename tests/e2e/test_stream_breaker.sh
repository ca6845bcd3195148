#!/bin/sh
# The circuit breakers, end to end against candled-sim.
#
# 1. WebSocket connects: the simulator refuses the first 4 upgrades (--refuse-ws 4); candled
#    runs 2 connections of one market (one symbol each), which share one breaker, with
#    CONNECTOR_CIRCUIT_BREAKER_FAILURE_THRESHOLD=2 and RECOVERY_TIMEOUT=0.4.  The breaker must open
#    after the 2 failures, let exactly one trial connect through each time it half-opens, double
#    its wait after each failed trial, close on the first trial that works, and no connect may
#    happen while it is open.  Candled's own log order proves the last point (one loop thread
#    writes "upstream connecting" and the breaker lines), and the simulator's count of upgrade
#    attempts proves that log is complete.  Then quotes flow, exact.
# 2. REST: every request is answered 429 with Retry-After: 1 (--rest-fail-every 1), and closes
#    are skipped (--skip-close-every 2), so backfill pages keep coming.  The host's breaker must open
#    for exactly the 1000 ms asked, send no request while open, and one trial when half-open.
# 3. An upgrade answered 429 with Retry-After: 2 opens the connect breaker at once for 2000 ms.
# 4. A server that accepts every upgrade, then sends only garbage and closes: a connect counts
#    as a success only once a candle or an ack is accepted, so the breaker keeps failing and
#    opening (it would close at every upgrade if any message counted).
# The four run side by side (parts, lib.sh), each with its own simulator or server.
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
T="$E2E_TMP"
CANDLED="$CDL_BUILD_DIR/candled"
QUOTES="$PYTHON $CDL_SOURCE_DIR/tests/e2e/quotes.py"

# One letter per event of interest, in log order:
#   C connect attempt  S REST request sent  O breaker opened  H half-open  K closed
tokens() { # FILE KIND (connect|rest)
    grep -o '"msg":"[^"]*"[^}]*' "$1" | awk -v kind="$2" '
        /"msg":"upstream connecting"/ { if (kind == "connect") printf "C" }
        /"msg":"REST request sent"/ { if (kind == "rest") printf "S" }
        /"msg":"circuit breaker / && index($0, "\"kind\":\"" kind "\"") {
            if ($0 ~ /breaker open"/) printf "O"
            else if ($0 ~ /half-open"/) printf "H"
            else if ($0 ~ /closed"/) printf "K"
        }'
}
# The JSON value of "key" in the simulator's exit line.
sim_count() { grep -o "\"$1\":[0-9]*" "$SIM_LOG" | tail -1 | cut -d: -f2; }

# ---- 1. WebSocket connects -------------------------------------------------------------------------
connects() {
start_sim --exchange binance --symbols BTCUSDT,ETHUSDT --interval 1s --rate 4 --record "$T/rec" --refuse-ws 4
echo "$SIM_PID" >>"$T/pids"
rc=0
CONNECTOR_CIRCUIT_BREAKER_FAILURE_THRESHOLD=2 CONNECTOR_CIRCUIT_BREAKER_RECOVERY_TIMEOUT=0.4 \
CONNECTOR_CIRCUIT_BREAKER_HALF_OPEN_CALLS=1 CONNECTOR_MAX_SYMBOL_PER_WS=1 \
    timeout -k 5 120 "$CANDLED" stream binance BTCUSDT ETHUSDT --interval 1s --limit 16 \
    --ws-url "ws://127.0.0.1:$SIM_PORT/ws" --rest-url "http://127.0.0.1:$SIM_PORT" >"$T/out" 2>"$T/err" || rc=$?
stop_sim || true
[ $rc -eq 0 ] || { tail -30 "$T/err"; fail "candled exited $rc"; }
[ "$(wc -l <"$T/out")" = 16 ] || fail "expected 16 quotes, got $(wc -l <"$T/out")"
$QUOTES check-set --market spot "$T/rec" "$T/out"
for s in BTCUSDT ETHUSDT; do
    grep -q "\"symbol\":\"$s\"" "$T/out" || fail "no quote of $s after the breaker closed"
done

# Two connects fail -> open; each half-open lets exactly one trial through, which fails (open
# again) until the simulator accepts: that trial closes it, and the other connection, held back
# until then, connects.  Normally CCOHCOHCOHCKC; on a very loaded machine the first connection's
# retry may start before the second's first failure arrives (CCCOHCOHCKC), so the invariants are
# checked, not one string: no connect between O and H, one per H, every refused connect is one
# candled logged, and the simulator saw every connect candled logged.
seq=$(tokens "$T/err" connect)
echo "$seq" | grep -Eq '^CCC?O(HCO)+HCKC$' || { grep -E 'connecting|circuit' "$T/err" | cut -c1-200; fail "connect/breaker sequence $seq"; }
n_conn=$(printf '%s' "$seq" | tr -cd C | wc -c)
n_before=$(printf '%s' "${seq%%K*}" | tr -cd C | wc -c)
opens=$(printf '%s' "$seq" | tr -cd O | wc -c)
upgrades=$(sim_count ws_upgrades)
refused=$(sim_count ws_refused)
[ "$upgrades" = "$n_conn" ] && [ "$refused" = 4 ] && [ "$n_before" = 5 ] \
    || fail "sim saw $upgrades upgrades (candled logged $n_conn), refused $refused (want 4, and 5 connects before closing)"

# the i-th opening waits 400 * 2^(i-1) ms, jittered down by at most 20%
waits=$(grep '"msg":"circuit breaker open"' "$T/err" | grep -o '"wait_ms":"[0-9]*"' | grep -o '[0-9][0-9]*' | tr '\n' ' ')
echo "$waits" | awk -v n="$opens" '{ if (NF != n) exit 1; w = 400; for (i = 1; i <= NF; i++) { if ($i < w * 0.8 || $i > w) exit 1; w *= 2 } }' \
    || fail "open waits out of bounds for $opens openings: $waits"
grep '"msg":"circuit breaker open"' "$T/err" | head -1 | grep -q '"from":"closed","failures":"2"' \
    || fail "the first opening is not after 2 failures"
summary=$(grep '"msg":"stream finished"' "$T/err")
for want in "open=$opens" "half_open=$opens" closed=1; do
    echo "$summary" | grep -q "connector_circuit_breaker_transitions_total:binance,spot,$want" \
        || { echo "$summary"; fail "transitions not counted: $want"; }
done
echo "$summary" | grep -q 'connector_connection_errors_total:binance,spot=4' || { echo "$summary"; fail "4 connect errors expected"; }
echo "ok: connect breaker $seq, waits ${waits% } ms, sim upgrades $upgrades (refused $refused)"
}

# ---- 2. REST 429 with Retry-After ---------------------------------------------------------------
# Every other close of each of 3 streams is skipped, so the sequencer keeps asking for backfill
# pages (a failed page is retried after 0.3 s), and every REST answer is 429 with Retry-After: 1.
rest() {
start_sim --exchange binance --symbols BTCUSDT,ETHUSDT,BNBUSDT --interval 1s --rate 4 --record "$T/rec2" \
    --skip-close-every 2 --rest-fail-every 1 --rest-status 429
echo "$SIM_PID" >>"$T/pids"
printf 'return { sequencer = { retry_seconds = 0.3, reorder_wait_seconds = 0.1 } }\n' >"$T/fast_retry.lua"
rc=0
CONNECTOR_LOG_LEVEL=debug CONNECTOR_INACTIVITY_TIMEOUT=0.3 CONNECTOR_SEQUENCER_HOLD_SECONDS=3 \
    timeout -k 5 120 "$CANDLED" stream binance BTCUSDT ETHUSDT BNBUSDT --interval 1s --limit 120 --config "$T/fast_retry.lua" \
    --ws-url "ws://127.0.0.1:$SIM_PORT/ws" --rest-url "http://127.0.0.1:$SIM_PORT" >"$T/out2" 2>"$T/err2" || rc=$?
stop_sim || true
[ $rc -eq 0 ] || { tail -30 "$T/err2"; fail "candled exited $rc with REST 429s"; }
$QUOTES check-set --market spot --no-holes "$T/rec2" "$T/out2"
seq=$(tokens "$T/err2" rest)
# never a request while open (O is always followed by H), one trial per half-open (H then S,
# and the 429 reopens it), and it never closes since every answer is a 429 (S+ at the start: on
# a loaded machine a second backfill may leave before the first 429 is back)
echo "$seq" | grep -Eq '^S+(OHS)+(OH?)?$' || { grep -E 'REST request|circuit' "$T/err2" | cut -c1-200; fail "REST/breaker sequence $seq"; }
opens=$(printf '%s' "$seq" | tr -cd O | wc -c)
sent=$(printf '%s' "$seq" | tr -cd S | wc -c)
[ "$opens" -ge 2 ] || fail "the REST breaker opened only $opens times: $seq"
bad=$(grep '"msg":"circuit breaker open".*"kind":"rest"' "$T/err2" | grep -vc "\"circuit\":\"127.0.0.1:$SIM_PORT\".*\"wait_ms\":\"1000\",\"reason\":\"HTTP 429\"" || true)
[ "$bad" = 0 ] || fail "$bad REST openings not for 127.0.0.1:$SIM_PORT, 1000 ms, HTTP 429"
grep -q '"msg":"REST request waits for the circuit breaker"' "$T/err2" || fail "no backfill waited for the breaker"
# the simulator saw every request candled sent (the last may be cancelled before it arrives)
got=$(sim_count rest_requests)
[ "$got" -le "$sent" ] && [ "$got" -ge $((sent - 1)) ] || fail "sim saw $got REST requests, candled sent $sent"
grep '"msg":"stream finished"' "$T/err2" | grep -q "connector_rest_circuit_breaker_transitions_total:127.0.0.1:$SIM_PORT,open=$opens" \
    || fail "REST transitions not counted"
echo "ok: REST breaker $seq: $sent requests for $opens openings of 1000 ms"
}

# ---- 3. an upgrade answered 429 with Retry-After ----------------------------------------------------
# A plain TCP server that answers every upgrade "429 Too Many Requests, Retry-After: 2" (what an
# exchange does past its connection limit).  With the default threshold (5), the breaker must
# open at the first such answer, for exactly 2000 ms, every time.
# upgrades.py MODE: a plain TCP server on a free port (printed first) answering every upgrade
# with "429 Too Many Requests, Retry-After: 2" (MODE 429) or with a real 101, two garbage text
# frames and a close (MODE garbage); one "upgrade N" line per upgrade served.
cat >"$T/upgrades.py" <<'PY'
import base64, hashlib, socket, sys
mode = sys.argv[1]
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
print(s.getsockname()[1], flush=True)
def serve(c, n):
    if mode == "429":
        c.recv(65536)
        c.sendall(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 2\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        print("upgrade", n, flush=True)
        return
    req = b""
    while b"\r\n\r\n" not in req:
        got = c.recv(65536)
        if not got:
            return
        req += got
    key = [l.split(b":", 1)[1].strip() for l in req.split(b"\r\n") if l.lower().startswith(b"sec-websocket-key:")]
    if not key:
        return
    acc = base64.b64encode(hashlib.sha1(key[0] + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Accept: " + acc + b"\r\n\r\n")
    for msg in (b"not json at all", b'{"stream":"nothing","data":[1,2]}'):
        c.sendall(bytes([0x81, len(msg)]) + msg)
    c.sendall(b"\x88\x02\x03\xe8")  # close 1000
    print("upgrade", n, flush=True)
n = 0
while True:
    c, _ = s.accept()
    n += 1
    try:
        serve(c, n)
    except OSError as e:  # the client went away first
        print("client gone", n, e, flush=True)
    c.close()
PY
# py_server MODE: starts upgrades.py MODE; sets SRV_PID, SRV_OUT and port.
py_server() {
    SRV_OUT="$T/upgrades.$1.out"
    $PYTHON "$T/upgrades.py" "$1" >"$SRV_OUT" 2>&1 &
    SRV_PID=$!
    echo "$SRV_PID" >>"$T/pids"
    port=
    for _ in $(seq 100); do port=$(head -1 "$SRV_OUT" 2>/dev/null); [ -n "$port" ] && break; sleep 0.05; done
    [ -n "$port" ] || { kill "$SRV_PID"; fail "the $1 server did not start"; }
}
# against SECONDS N [VAR=value...]: candled stream binance BTCUSDT against the server on $port for
# SECONDS (with those variables), stopped with SIGINT (it must exit 0), then the server;
# output in $T/outN, log in $T/errN.
against() {
    _s=$1 _n=$2
    shift 2
    env "$@" "$CANDLED" stream binance BTCUSDT --ws-url "ws://127.0.0.1:$port/ws" >"$T/out$_n" 2>"$T/err$_n" &
    CANDLED_PID=$!
    echo "$CANDLED_PID" >>"$T/pids"
    sleep "$_s"
    kill -INT "$CANDLED_PID"
    rc=0
    wait "$CANDLED_PID" || rc=$?
    kill "$SRV_PID" 2>/dev/null || true; wait "$SRV_PID" 2>/dev/null || true
    [ $rc -eq 0 ] || { tail -20 "$T/err$_n"; fail "candled exited $rc after SIGINT"; }
}
upgrade_429() {
py_server 429
against 5 3
seq=$(tokens "$T/err3" connect)
echo "$seq" | grep -Eq '^CO(HCO)+(HC?)?$' || { grep -E 'connecting|circuit' "$T/err3" | cut -c1-200; fail "429 upgrade sequence $seq"; }
grep '"msg":"circuit breaker open"' "$T/err3" | head -1 | grep -q '"from":"closed","failures":"1","wait_ms":"2000"' \
    || fail "the first 429 did not open the breaker for 2000 ms"
bad=$(grep '"msg":"circuit breaker open"' "$T/err3" | grep -vc '"wait_ms":"2000","reason":"connect error: HS: ws upgrade response not 101"' || true)
[ "$bad" = 0 ] || fail "$bad openings not for 2000 ms after a refused upgrade"
n_conn=$(printf '%s' "$seq" | tr -cd C | wc -c)
served=$(grep -c '^upgrade' "$SRV_OUT" || true)
# 5 s with 2 s waits: at most 4 connects however slow the machine (without Retry-After the
# backoff alone would make 5 in under 4 s); the server saw them (the last may be cut by SIGINT)
[ "$n_conn" -le 4 ] && [ "$served" -le "$n_conn" ] && [ "$served" -ge $((n_conn - 1)) ] \
    || fail "$n_conn connects logged, $served served"
echo "ok: upgrade 429 Retry-After: 2 -> $seq ($n_conn connects in 5 s, each opening 2000 ms)"
}

# ---- 4. upgraded, then garbage only ------------------------------------------------------------------
upgrade_garbage() {
py_server garbage
against 6 4 CONNECTOR_CIRCUIT_BREAKER_FAILURE_THRESHOLD=2 CONNECTOR_CIRCUIT_BREAKER_RECOVERY_TIMEOUT=0.4
seq=$(tokens "$T/err4" connect)
# two upgraded-but-garbage connects open it; each trial fails again; it never closes
echo "$seq" | grep -Eq '^CCO(HCO)+(HC?)?$' || { grep -E 'connecting|circuit' "$T/err4" | cut -c1-200; fail "garbage sequence $seq"; }
served=$(grep -c '^upgrade' "$SRV_OUT" || true)
n_conn=$(printf '%s' "$seq" | tr -cd C | wc -c)
[ "$served" -ge 3 ] && [ "$served" -le "$n_conn" ] || fail "$served upgrades served, $n_conn connects logged"
summary=$(grep '"msg":"stream finished"' "$T/err4")
echo "$summary" | grep -q 'connector_frames_rejected_total:binance,spot,' || { echo "$summary"; fail "the garbage was not counted"; }
if echo "$summary" | grep -q 'connector_circuit_breaker_transitions_total:binance,spot,closed='; then
    echo "$summary"; fail "the breaker closed on a connection that only sent garbage"
fi
echo "ok: upgraded then garbage -> $seq ($served upgrades served), the breaker never closed"
}

part connects
part rest
part upgrade_429
part upgrade_garbage
wait_parts connects rest upgrade_429 upgrade_garbage || exit 1

#!/bin/sh
# End to end: candled-sim (Gate.io protocol) -> `candled stream gateio` -> exact quotes for spot,
# usdt and btc, checked byte for byte against the simulator's --truth file; the adapter's
# spot.ping keeps a connection open past the simulator's idle rule.  REST backfill on every
# market is tests/e2e/test_stream_backfill.py.
#
# Futures carry no closed flag: the core infers their closes (section 4, GATEIO_FUTURES_CLOSED=0
# skips it).  Open quotes are checked with quotes.py check-truth, closed ones with truth.py.
# Section 4, which waits for 10s periods, runs on a test clock ten times as fast (five under
# ASan); the faults (1c) and the keepalive (3, pings and the idle rule) run in real time beside
# the others.
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
T="$E2E_TMP"
CANDLED="$CDL_BUILD_DIR/candled"
QUOTES="/usr/bin/python3 $CDL_SOURCE_DIR/tests/e2e/quotes.py"
TRUTH="/usr/bin/python3 $CDL_SOURCE_DIR/tests/e2e/truth.py"
FUTURES_CLOSED=${GATEIO_FUTURES_CLOSED:-1}

ws_path() {
    case $1 in
    spot) echo /ws/v4/ ;;
    *) echo "/v4/ws/$1" ;;
    esac
}

# 3. keepalive: no protocol pings and a 12 s idle rule.  candled's spot.ping (every 10 s) keeps
# its connection for 26 s; a client that subscribes and then says nothing is dropped meanwhile.
# A part (lib.sh), in the background with its own simulator.
keepalive() {
    start_sim --exchange gateio --symbols BTC_USDT --interval 10s --rate 1 --ping-interval 0 --idle-disconnect 12
    echo "$SIM_PID" >>"$T/pids"
    "$PYTHON" - "$SIM_PORT" >"$T/silent" 2>&1 <<'EOF' &
import os, sys, time
sys.path.insert(0, os.path.join(os.environ["CDL_SOURCE_DIR"], "tests", "e2e"))
import wsclient
ws = wsclient.connect("127.0.0.1", int(sys.argv[1]), "/ws/v4/")
ws.send_text('{"time":%d,"channel":"spot.candlesticks","event":"subscribe","payload":["10s","BTC_USDT"]}' % time.time())
deadline = time.monotonic() + 40
try:
    while time.monotonic() < deadline:
        ws.recv_text(timeout=deadline - time.monotonic())
    print("silent client still connected after 40 s")
except wsclient.WSError as e:
    print("dropped: %s" % e)
EOF
    silent=$!
    rc=0
    timeout 90 "$CANDLED" stream gateio BTC_USDT --interval 10s --limit 26 \
        --ws-url "ws://127.0.0.1:$SIM_PORT/ws/v4/" >"$T/out.ka" 2>"$T/err.ka" || rc=$?
    wait $silent || true
    stop_sim || fail "candled-sim exited $SIM_EXIT"
    [ $rc -eq 0 ] || fail "keepalive stream exited $rc: $(tail -3 "$T/err.ka")"
    [ "$(wc -l <"$T/out.ka")" = 26 ] || fail "keepalive: expected 26 quotes"
    grep -q '^dropped' "$T/silent" || fail "the idle rule did not drop a silent client: $(cat "$T/silent")"
    grep -q '"clients":2,.*"idle_drops":1[,}]' "$SIM_LOG" || fail "candled's connection was not kept alive: $(tail -1 "$SIM_LOG")"
    grep -q '"msg":"upstream connected"' "$T/err.ka" && [ "$(grep -c '"msg":"upstream connected"' "$T/err.ka")" = 1 ] \
        || fail "candled reconnected"
    echo "ok: spot.ping keeps the connection past the idle rule"
}
part keepalive

# 1c. the simulator's generic faults on Gate frames: the stream goes on, exact, and each is counted
# In the background and in real time (its disconnects' reconnects are real: on a fast clock one
# would often span a period end, whose close nobody then gets): a part.
faults() {
    start_sim --exchange gateio --symbols BTC_USDT,ETH_USDT --interval 10s --rate 4 --truth "$T/truth.ft" \
        --garbage-every 5 --duplicate-every 4 --reorder-every 9 --oversize-every 13 --oversize-bytes 1500000 \
        --disconnect-after 45
    echo "$SIM_PID" >>"$T/pids"
    rc=0
    timeout 90 "$CANDLED" stream gateio BTC_USDT ETH_USDT --interval 10s --limit 100 \
        --ws-url "ws://127.0.0.1:$SIM_PORT/ws/v4/" --rest-url "http://127.0.0.1:$SIM_PORT" >"$T/out.ft" 2>"$T/err.ft" || rc=$?
    [ $rc -eq 0 ] || fail "faults: candled exited $rc: $(tail -3 "$T/err.ft")"
    [ "$(wc -l <"$T/out.ft")" = 100 ] || fail "faults: expected 100 quotes"
    # (reordered frames: the open quotes' order is not the sending order; truth.py checks their values)
    $TRUTH "$T/truth.ft" "$T/out.ft" --exchange gateio --market spot --min-closed 1 --max-gaps 0 || fail "faults: closed quotes"
    stop_sim || fail "candled-sim exited $SIM_EXIT"
    summary=$(grep '"msg":"stream finished"' "$T/err.ft")
    for want in bad_json unknown_frame oversize; do
        echo "$summary" | grep -q "connector_frames_rejected_total:gateio,spot,$want=[1-9]" || fail "not counted: $want: $summary"
    done
    for want in connector_duplicates_filtered_total connector_reconnections_total; do
        echo "$summary" | grep -q "$want:gateio,spot=[1-9]" || fail "not counted: $want: $summary"
    done
    echo "ok: garbage, duplicates, reordering, oversize frames and disconnects on Gate frames"
}
part faults

# 1. every market: exact quotes, both symbols, echoed as written
for market in spot usdt btc; do
    case $market in
    btc) syms="BTC_USD ETH_USD" ;;
    *) syms="BTC_USDT ETH_USDT" ;;
    esac
    start_sim --exchange gateio --market $market --symbols "$(echo $syms | tr ' ' ,)" --interval 10s --rate 4 \
        --truth "$T/truth.$market"
    rc=0
    # shellcheck disable=SC2086
    timeout 60 "$CANDLED" stream gateio $syms --market $market --interval 10s --limit 12 \
        --ws-url "ws://127.0.0.1:$SIM_PORT$(ws_path $market)" --rest-url "http://127.0.0.1:$SIM_PORT" \
        >"$T/out.$market" 2>"$T/err.$market" || rc=$?
    stop_sim || fail "candled-sim exited $SIM_EXIT"
    [ $rc -eq 0 ] || fail "candled stream gateio --market $market exited $rc: $(tail -3 "$T/err.$market")"
    $QUOTES check-truth --exchange gateio --market $market --count 12 "$T/truth.$market" "$T/out.$market" \
        || fail "$market open quotes are not the simulator's"
    $TRUTH "$T/truth.$market" "$T/out.$market" --exchange gateio --market $market --min-closed 0 --min-symbols 0 \
        || fail "$market closed quotes are not the simulator's"
    for s in $syms; do
        grep -q "\"symbol\":\"$s\"" "$T/out.$market" || fail "no quote for $s ($market)"
    done
    grep -q '"msg":"stream finished","quotes":"12"' "$T/err.$market" || fail "no summary ($market)"
    if [ $market != spot ]; then
        grep -q '"quote_volume"' "$T/out.$market" && fail "$market: futures report no quote volume"
    fi
done
echo "ok: spot, usdt and btc quotes are the simulator's, byte for byte"

# 1b. real recorded frames (tests/fixtures/gateio), replayed after the first subscribe ack: the
# 2023 futures push comes out with its exact text; the 2021 spot pushes, which have no base
# volume, are each refused and counted
FIX="$CDL_SOURCE_DIR/tests/fixtures/gateio"
start_sim --exchange gateio --market usdt --symbols FRONT_USDT --replay "$FIX/futures_usdt_ws_candlesticks_1m.jsonl"
timeout 60 "$CANDLED" stream gateio FRONT_USDT --market usdt --limit 1 \
    --ws-url "ws://127.0.0.1:$SIM_PORT/v4/ws/usdt" >"$T/out.real" 2>"$T/err.real" || fail "replay: $(tail -3 "$T/err.real")"
stop_sim || fail "candled-sim exited $SIM_EXIT"
want='{"type":"quote","exchange":"gateio","contract_type":"usdt","symbol":"FRONT_USDT","interval":"1m","timestamp":1684930140000,"open":0.1701,"high":0.1701,"low":0.1701,"close":0.1701,"volume":0,"is_closed":false}'
[ "$(cat "$T/out.real")" = "$want" ] || fail "real futures push: got $(cat "$T/out.real")"
start_sim --exchange gateio --symbols DIS_USDT --replay "$FIX/spot_ws_candlesticks_1m.jsonl"
"$CANDLED" stream gateio DIS_USDT >"$T/out.real2" 2>"$T/err.real2" --ws-url "ws://127.0.0.1:$SIM_PORT/ws/v4/" &
pid=$!
n=0
while ! grep -q '"msg":"frame rejected"' "$T/err.real2" && [ $n -lt 200 ]; do sleep 0.05; n=$((n + 1)); done
sleep 0.5
kill -TERM $pid
wait $pid || fail "candled exited $? on SIGTERM"
stop_sim || fail "candled-sim exited $SIM_EXIT"
[ ! -s "$T/out.real2" ] || fail "a quote from a push without base volume: $(cat "$T/out.real2")"
grep '"msg":"stream finished"' "$T/err.real2" | grep -q 'connector_frames_rejected_total:gateio,spot,no_base_volume=14' \
    || fail "the 14 recorded spot pushes were not refused: $(grep '"msg":"stream finished"' "$T/err.real2")"
echo "ok: real recorded frames: futures exact, spot pushes without base volume refused and counted"

# 2. spot closes once per period with the holes filled from REST: tests/e2e/test_stream_backfill.py

# 4. futures: closed candles once per period (needs the core's closed inference)
use_test_clock 10 5
if [ "$FUTURES_CLOSED" = 1 ]; then
    for market in usdt btc; do
        sym=BTC_USDT
        [ $market = btc ] && sym=BTC_USD
        start_sim --exchange gateio --market $market --symbols $sym --interval 10s --rate 2 --truth "$T/truth.fc.$market"
        rc=0
        timeout 120 "$CANDLED" stream gateio $sym --market $market --interval 10s --closed-only --limit 3 \
            --ws-url "ws://127.0.0.1:$SIM_PORT$(ws_path $market)" --rest-url "http://127.0.0.1:$SIM_PORT" \
            >"$T/out.fc.$market" 2>"$T/err.fc.$market" || rc=$?
        stop_sim || fail "candled-sim exited $SIM_EXIT"
        [ $rc -eq 0 ] || fail "$market closed-only stream exited $rc: $(tail -3 "$T/err.fc.$market")"
        [ "$(grep -c '"is_closed":true' "$T/out.fc.$market")" = 3 ] || fail "$market: expected 3 closed quotes"
        $TRUTH "$T/truth.fc.$market" "$T/out.fc.$market" --exchange gateio --market $market --min-closed 3 \
            --max-gaps 0 || fail "$market closed candles"
    done
    echo "ok: usdt and btc closed candles once per period, inferred"
else
    echo "skip: futures closed candles (GATEIO_FUTURES_CLOSED=0)"
fi

wait_parts faults keepalive || exit 1

#!/bin/sh
# Connection rotation ahead of the exchange's connection lifetime (Binance cuts every connection
# at 24 h; here candled-sim --max-conn-age cuts it after a few seconds).
#   1. candled's lifetime (CONNECTOR_MAX_CONNECTION_AGE) is shorter than the simulator's: every
#      connection is replaced make-before-break before the cut.  Several rotations happen on
#      each of 3 connections; the 1s closed candles of 6 symbols are exact against the
#      simulator's truth, with no hole, no gap, no REST request and no connection cut by the
#      simulator.
#   2. as 1, but the simulator refuses every 4th WebSocket upgrade: a refused replacement leaves
#      the old connection running and is tried again shortly; still no hole and no REST.
#   3. as 1, but the simulator answers subscribes 2.5 s late, past the 2 s a replacement has to
#      become live: every try times out and leaves the old connection running, until the
#      simulator cuts it; the cut is handled by reconnect + backfill, and the output is exact.
#   4. candled's lifetime is the adapter's (24 h), longer than the simulator's: the cut is a
#      plain disconnect, handled by reconnect + REST backfill, and the output is still exact.
# Lifetimes are real time (connections, not candles), so no test clock: the four cases run side
# by side instead, each with its own simulator.
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
T="$E2E_TMP"
CANDLED="$CDL_BUILD_DIR/candled"
[ "${CDL_SANITIZE:-0}" = 1 ] && SECS=20 || SECS=26
SYMS="AAAUSDT BBBUSDT CCCUSDT DDDUSDT EEEUSDT FFFUSDT"
NSYM=6

# run NAME SIM_AGE [CANDLED_AGE [SIM_ARGS]]: the simulator cuts connections at SIM_AGE s; candled
# rotates at CANDLED_AGE (empty: the adapter's 24 h).  Sets COUNTERS (candled's) and SIMLINE.
run() {
    name=$1
    # shellcheck disable=SC2086
    start_sim --exchange binance --symbols "$(echo $SYMS | tr ' ' ,)" --interval 1s --rate 2 \
        --truth "$T/truth.$name" --max-conn-age "$2" ${4:-}
    # shellcheck disable=SC2086
    env ${3:+CONNECTOR_MAX_CONNECTION_AGE=$3} CONNECTOR_MAX_SYMBOL_PER_WS=2 CONNECTOR_INACTIVITY_TIMEOUT=0.5 \
        CONNECTOR_SEQUENCER_HOLD_SECONDS=60 \
        "$CANDLED" stream binance $SYMS --interval 1s --closed-only \
        --ws-url "ws://127.0.0.1:$SIM_PORT/ws" --rest-url "http://127.0.0.1:$SIM_PORT" \
        >"$T/out.$name" 2>"$T/err.$name" &
    pid=$!
    echo "$SIM_PID" >>"$T/pids"
    sleep "$SECS"
    kill -TERM "$pid"
    rc=0
    case_wait "$pid" || rc=$?
    [ $rc -eq 0 ] || fail "candled exited $rc ($name): $(tail -20 "$T/err.$name")"
    COUNTERS=$(sed -n 's/.*"msg":"stream finished".*"counters":"\([^"]*\)".*/\1/p' "$T/err.$name")
    SIMLINE=$(grep '"candled_sim"' "$SIM_LOG")
    $PYTHON "$CDL_SOURCE_DIR/tests/e2e/truth.py" "$T/truth.$name" "$T/out.$name" \
        --exchange binance --market spot --min-symbols "$NSYM" --min-closed $((NSYM * (SECS - 8))) --max-gaps 0 \
        || fail "closed candles wrong ($name): $COUNTERS $SIMLINE"
}

# how many of counter $1 (a prefix of "name:labels") the line $2 holds; 0 if absent
counter() {
    echo "$2" | tr ' ' '\n' | sed -n "s/^$1=\([0-9]*\)$/\1/p" | head -n 1 | grep . || echo 0
}
sim_field() {
    echo "$SIMLINE" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"
}

# no hole, no REST, no cut: what a working rotation must leave (the counters named in $1 are allowed)
no_loss() {
    for c in connector_rest_requests_total connector_rest_backfills_total connector_gaps_detected_total \
             connector_ws_rotations_total:binance,spot,timeout connector_ws_rotations_total:binance,spot,aborted \
             connector_ws_rotations_total:binance,spot,failed connector_connection_errors_total; do
        case " $1 " in *" $c "*) continue ;; esac
        case " $COUNTERS" in
        *" $c"*) fail "a planned rotation must not need $c: $COUNTERS" ;;
        esac
    done
    [ "$(sim_field rest_requests)" = 0 ] || fail "REST requests during rotations: $SIMLINE"
    [ "$(sim_field age_drops)" = 0 ] || fail "the simulator had to cut a connection: $SIMLINE"
}

# 1. rotation before the cut: lifetime 4 s (rotations 3.2-3.6 s after each connect), cut at 8 s
check_rotate() {
rot=$(counter 'connector_ws_rotations_total:binance,spot,ok' "$COUNTERS")
[ "$rot" -ge 9 ] || fail "too few rotations: $rot (3 connections, ${SECS} s): $COUNTERS"
no_loss ""
[ "$(sim_field clients)" -eq $((3 + rot)) ] || fail "one new connection per rotation expected ($rot): $SIMLINE"
echo "$rot rotations in ${SECS} s on 3 connections, exact, no REST: $COUNTERS"
}

# 2. every 4th upgrade refused: upgrades 1-3 are the first connections, so the first try of the
# first rotation fails, and then about every third try
check_refuse() {
rot=$(counter 'connector_ws_rotations_total:binance,spot,ok' "$COUNTERS")
failed=$(counter 'connector_ws_rotations_total:binance,spot,failed' "$COUNTERS")
[ "$rot" -ge 6 ] || fail "too few rotations with refusals: $COUNTERS"
[ "$failed" -ge 2 ] || fail "refused replacements not counted as failed: $COUNTERS"
[ "$(sim_field ws_refused)" -eq "$failed" ] || fail "one failed rotation per refused upgrade: $COUNTERS / $SIMLINE"
no_loss "connector_ws_rotations_total:binance,spot,failed connector_connection_errors_total"
echo "$rot rotations, $failed refused and tried again, exact, no REST: $COUNTERS"
}

# 3. replacements too slow: timeouts, then the cut (a try under way then is aborted)
check_slow() {
timeouts=$(counter 'connector_ws_rotations_total:binance,spot,timeout' "$COUNTERS")
[ "$timeouts" -ge 3 ] || fail "slow replacements not given up: $COUNTERS"
[ "$(counter 'connector_ws_rotations_total:binance,spot,ok' "$COUNTERS")" = 0 ] || fail "a replacement slower than its timeout went live: $COUNTERS"
[ "$(sim_field age_drops)" -ge 3 ] || fail "the simulator never had to cut: $SIMLINE"
[ "$(counter 'connector_rest_backfills_total:binance,spot,ok' "$COUNTERS")" -ge 1 ] || fail "no backfill after the cuts: $COUNTERS"
echo "$timeouts tries timed out, $(sim_field age_drops) cuts handled by reconnect + backfill, exact: $COUNTERS"
}

# 4. the cut comes first (the adapter's 24 h is longer than the simulator's 3 s): reconnect + backfill
check_cut() {
cuts=$(sim_field age_drops)
[ "$cuts" -ge 9 ] || fail "too few cuts: $SIMLINE"
[ "$(counter 'connector_rest_backfills_total:binance,spot,ok' "$COUNTERS")" -ge 1 ] || fail "no backfill after the cuts: $COUNTERS"
[ "$(counter 'connector_reconnections_total:binance,spot' "$COUNTERS")" -ge "$cuts" ] || fail "reconnects < cuts: $COUNTERS"
case "$COUNTERS" in
*connector_ws_rotations_total*) fail "no rotation expected with a 24 h lifetime: $COUNTERS" ;;
esac
echo "$cuts connections cut by the simulator, reconnected and backfilled, exact: $COUNTERS"
}

# name|simulator's cut (s)|candled's lifetime (s; empty: the adapter's)|simulator arguments
CASES=$(cat <<'EOF'
rotate|8|4|
refuse|8|4|--refuse-ws-every 4
slow|8|4|--subscribe-delay-ms 2500
cut|3||
EOF
)

# One case, in a subshell: its verdict is "$T/<name>.fail" (absent = passed) and "$T/<name>.check".
run_case() {
    trap - EXIT INT TERM # a subshell: the script's cleanup is not its to run
    IFS='|' read -r name sim_age age args <<EOF
$1
EOF
    SIM_TAG=".$name."
    fail() { echo "$name: $*" >>"$T/$name.fail"; exit 1; }
    run "$name" "$sim_age" "$age" "$args"
    "check_$name" >"$T/$name.check"
}

run_cases run_case "$CASES" || { echo "FAIL: rotation" >&2; exit 1; }
echo "ok: rotation"

#!/bin/sh
# End to end: candled-sim (Bybit v5 protocol) -> `candled stream bybit` -> exact quotes, for spot,
# linear and inverse, checked byte for byte against the frames the simulator recorded as it sent
# them.  Bybit's shortest interval is 1m, so the scenarios that need closed candles (one close per
# period, a hole that only the REST backfill can fill, keepalive past the idle rule) run for each
# market in the background while the short ones run.  The background runs' exchange time runs
# on a test clock ten times as fast (five under ASan): a 1m period takes 6 s; what is about
# connections (pings, the simulator's idle rule, reconnects) stays real.  The short ones, whose
# pace is the subscribe pacing's, run in real time.
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
T="$E2E_TMP"
CANDLED="$CDL_BUILD_DIR/candled"
QUOTES="/usr/bin/python3 $CDL_SOURCE_DIR/tests/e2e/quotes.py"

# a failure in the foreground must not leave the background runs' processes behind
trap 'for p in $(cat "$T/long.pids" 2>/dev/null); do kill -TERM "$p" 2>/dev/null || true; done; e2e_cleanup' EXIT

syms_of() { case $1 in inverse) echo "BTCUSD ETHUSD" ;; *) echo "BTCUSDT ETHUSDT" ;; esac; }

# --- closes, backfill and keepalive (background, one per market) --------------------------------
# The sim skips only the close of the period after the first one candled sees (P1), and drops the
# connection once, ~8 s after P1 ended: candled must print P0's close from the WebSocket, P1's
# from the REST backfill after the reconnect, each once.  The sim also drops any client silent
# for 25 s; candled's {"op":"ping"} every 20 s must keep both connections alive (no server pings).
# On the test clock those connections live only seconds, so a third background run per market,
# in real time, holds one connection for 27 s on candled's pings alone: one client, pinged, not
# dropped.
# SIGTERM, then SIGKILL after 15 s: a process that hangs on exit is a failure, not a test timeout
stop_pid() {
    kill -TERM "$1"
    _n=0
    while kill -0 "$1" 2>/dev/null && [ $_n -lt 150 ]; do sleep 0.1; _n=$((_n + 1)); done
    if kill -0 "$1" 2>/dev/null; then kill -KILL "$1"; wait "$1"; return 124; fi
    wait "$1"
}
use_test_clock 10 5
t=$(clock_now_ms)
if [ $((60000 - t % 60000)) -lt 6000 ]; then clock_sleep 7; t=$(clock_now_ms); fi
b1=$(( (t / 60000 + 1) * 60000 ))             # end of P0
skip=$((b1 / 60000))                           # index of P1: its close is never sent
frames=$(( (b1 + 60000 + 8000 - t) / 1000 ))   # one update a second: the disconnect comes ~8 s after P1
long_run() {
    trap - EXIT INT TERM # a subshell: the script's cleanup is not its to run
    m=$1
    sim_args="--exchange bybit --market $m --symbols $(syms_of $m | cut -d' ' -f1) --interval 1m --rate 1"
    sim_args="$sim_args --ping-interval 0 --idle-disconnect 25 --skip-close-every $skip --disconnect-after $frames"
    : >"$T/long.sim.$m"
    # shellcheck disable=SC2086
    "$CDL_BUILD_DIR/candled-sim" $sim_args --record "$T/long.rec.$m" --port 0 >>"$T/long.sim.$m" 2>"$T/long.simerr.$m" &
    sim=$!
    echo $sim >>"$T/long.pids"
    n=0
    while ! grep -q '^PORT ' "$T/long.sim.$m" && [ $n -lt 200 ]; do sleep 0.05; n=$((n + 1)); done
    port=$(sed -n 's/^PORT //p' "$T/long.sim.$m")
    : >"$T/long.out.$m"
    # a 10 s grace (plus 1 s of real time for the reconnect): the missing P1 close is found after
    # the disconnect (+8 s), so it is the reconnect's backfill that brings it (with the default
    # 3 s the sequencer would find the hole, and fill it, before the disconnect)
    CONNECTOR_INACTIVITY_TIMEOUT=$((10 + CLOCK_RATE)) "$CANDLED" stream bybit "$(syms_of $m | cut -d' ' -f1)" --market "$m" \
        --ws-url "ws://127.0.0.1:$port/v5/public/$m" --rest-url "http://127.0.0.1:$port" \
        >>"$T/long.out.$m" 2>"$T/long.err.$m" &
    cpid=$!
    echo $cpid >>"$T/long.pids"
    n=0
    while [ "$(grep -c '"is_closed":true' "$T/long.out.$m")" -lt 2 ] && [ $n -lt 1900 ]; do sleep 0.1; n=$((n + 1)); done
    stop_pid $cpid || echo "candled exited $? on SIGTERM" >>"$T/long.fail.$m"
    $QUOTES check-set --exchange bybit --market "$m" --no-holes --rest "http://127.0.0.1:$port" \
        "$T/long.rec.$m" "$T/long.out.$m" >"$T/long.check.$m" 2>&1 || echo "check-set failed" >>"$T/long.fail.$m"
    stop_pid $sim || echo "sim exited $? on SIGTERM" >>"$T/long.fail.$m"
}
for m in spot linear inverse; do long_run $m & eval "long_$m=\$!"; done
unset CDL_TEST_CLOCK # the rest: real time

# keepalive NAME: 27 s of one connection that only candled's pings keep past the idle rule (25 s)
keepalive_run() {
    trap - EXIT INT TERM
    m=$1
    : >"$T/keep.sim.$m"
    "$CDL_BUILD_DIR/candled-sim" --exchange bybit --market "$m" --symbols "$(syms_of $m | cut -d' ' -f1)" \
        --interval 1m --rate 1 --ping-interval 0 --idle-disconnect 25 --port 0 >>"$T/keep.sim.$m" 2>"$T/keep.simerr.$m" &
    sim=$!
    echo $sim >>"$T/long.pids"
    n=0
    while ! grep -q '^PORT ' "$T/keep.sim.$m" && [ $n -lt 200 ]; do sleep 0.05; n=$((n + 1)); done
    port=$(sed -n 's/^PORT //p' "$T/keep.sim.$m")
    "$CANDLED" stream bybit "$(syms_of $m | cut -d' ' -f1)" --market "$m" --ws-url "ws://127.0.0.1:$port/v5/public/$m" \
        >"$T/keep.out.$m" 2>"$T/keep.err.$m" &
    cpid=$!
    echo $cpid >>"$T/long.pids"
    sleep 27
    stop_pid $cpid || echo "candled exited $? on SIGTERM" >>"$T/keep.fail.$m"
    stop_pid $sim || echo "sim exited $? on SIGTERM" >>"$T/keep.fail.$m"
}
for m in spot linear inverse; do keepalive_run $m & eval "keep_$m=\$!"; done

# --- exact quotes on every market ------------------------------------------------------------------
for m in spot linear inverse; do
    syms=$(syms_of $m)
    start_sim --exchange bybit --market $m --symbols "$(echo $syms | tr ' ' ,)" --interval 1m --rate 4 \
        --ping-interval 0 --record "$T/rec.$m"
    rc=0
    # shellcheck disable=SC2086
    timeout 60 "$CANDLED" stream bybit $syms --market $m --limit 10 \
        --ws-url "ws://127.0.0.1:$SIM_PORT/v5/public/$m" --rest-url "http://127.0.0.1:$SIM_PORT" \
        >"$T/out.$m" 2>"$T/err.$m" || rc=$?
    stop_sim
    [ $rc -eq 0 ] || { cat "$T/err.$m"; fail "candled stream --market $m exited $rc"; }
    $QUOTES check --exchange bybit --market $m --count 10 "$T/rec.$m" "$T/out.$m"
    for s in $syms; do
        grep -q "\"contract_type\":\"$m\",\"symbol\":\"$s\"" "$T/out.$m" || fail "no quote for $s ($m)"
    done
    grep -q '"msg":"stream finished","quotes":"10"' "$T/err.$m" || fail "no summary ($m)"
    ! grep -q 'exchange reported an error' "$T/err.$m" || fail "the sim refused a request ($m)"
done
# inverse: the volume is the base coin (turnover), the quote volume the USD contracts (volume)
/usr/bin/python3 - "$T/rec.inverse" "$T/out.inverse" <<'EOF' || fail "inverse volumes"
import json, sys
rec = [json.loads(l, parse_float=str) for l in open(sys.argv[1])]
q = json.loads(open(sys.argv[2]).readline(), parse_float=str, parse_int=str)
k = next(f["data"][0] for f in rec if f["topic"].endswith(q["symbol"]) and f["data"][0]["start"] == int(q["timestamp"]))
assert "." in k["turnover"] and "." not in k["volume"], k   # 8-decimal BTC, whole contracts
assert any(f["data"][0]["turnover"] == q["volume"] and f["data"][0]["volume"] == q["quote_volume"] for f in rec), q
EOF
echo "ok: spot, linear and inverse quotes are exact"

# --- fixtures replayed verbatim: the decimal text of Bybit's own sample frames, byte for byte ------
FIX="$CDL_SOURCE_DIR/tests/fixtures/bybit"
for case in "linear BTCUSDT 5m ws_kline_5_btcusdt.docsample.json" \
            "inverse BTCUSD 1h ws_kline_60_btcusd_inverse_confirm.synthetic.json" \
            "spot ETHUSDT 1m ws_kline_1_two_candles.synthetic.json"; do
    set -- $case
    /usr/bin/python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), separators=(",", ":")))' \
        "$FIX/$4" >"$T/replay.$1"
    $QUOTES expect --exchange bybit --market "$1" "$T/replay.$1" >"$T/want.$1"
    n=$(wc -l <"$T/want.$1")
    start_sim --exchange bybit --market "$1" --symbols "$2" --ping-interval 0 --replay "$T/replay.$1"
    rc=0
    timeout 60 "$CANDLED" stream bybit "$2" --market "$1" --interval "$3" --limit "$n" \
        --ws-url "ws://127.0.0.1:$SIM_PORT/v5/public/$1" >"$T/got.$1" 2>"$T/err.replay.$1" || rc=$?
    stop_sim
    [ $rc -eq 0 ] || { tail -5 "$T/err.replay.$1"; fail "replay $4: exit $rc"; }
    cmp -s "$T/want.$1" "$T/got.$1" || { diff "$T/want.$1" "$T/got.$1"; fail "replay $4: quotes differ"; }
done
grep -q '"open":16649.5,"high":16677,"low":16608,"close":16677,"volume":2.081,"is_closed":false' "$T/got.linear" \
    || fail "the doc sample's text did not survive: $(cat "$T/got.linear")"
echo "ok: fixture frames replayed to identical quotes"

# --- the simulator's generic faults: garbage, truncated, wrong-shape and oversize frames, duplicates,
# reordering.  The stream goes on, every quote is exact, and each fault is counted.
start_sim --exchange bybit --market linear --symbols BTCUSDT,ETHUSDT --interval 1m --rate 4 --ping-interval 0 \
    --record "$T/rec.faults" --garbage-every 5 --duplicate-every 4 --reorder-every 9 --oversize-every 13 \
    --oversize-bytes 1500000
rc=0
timeout 60 "$CANDLED" stream bybit BTCUSDT ETHUSDT --market linear --limit 60 \
    --ws-url "ws://127.0.0.1:$SIM_PORT/v5/public/linear" >"$T/out.faults" 2>"$T/err.faults" || rc=$?
stop_sim
[ $rc -eq 0 ] || { tail -5 "$T/err.faults"; fail "faults: exit $rc"; }
$QUOTES check-set --exchange bybit --market linear "$T/rec.faults" "$T/out.faults" >/dev/null
summary=$(grep '"msg":"stream finished"' "$T/err.faults")
for want in bad_json unknown_frame oversize; do
    echo "$summary" | grep -q "connector_frames_rejected_total:bybit,linear,$want=[1-9]" || fail "not counted: $want: $summary"
done
echo "$summary" | grep -q 'connector_duplicates_filtered_total:bybit,linear=[1-9]' || fail "duplicates not counted"
echo "ok: faults counted, stream exact"

# --- more than 10 symbols on spot: subscribe frames of at most 10 topics, all on one connection ------
start_sim --exchange bybit --market spot --symbol-count 25 --interval 1m --rate 2 --ping-interval 0 --record "$T/rec.many"
syms=$(i=1; while [ $i -le 25 ]; do printf 'SYM%04dUSDT ' $i; i=$((i + 1)); done)
rc=0
# shellcheck disable=SC2086
timeout 60 "$CANDLED" stream bybit $syms --market spot --limit 75 \
    --ws-url "ws://127.0.0.1:$SIM_PORT/v5/public/spot" >"$T/out.many" 2>"$T/err.many" || rc=$?
stop_sim
[ $rc -eq 0 ] || { tail -5 "$T/err.many"; fail "25 spot symbols: exit $rc"; }
$QUOTES check-set --exchange bybit --market spot "$T/rec.many" "$T/out.many" >/dev/null
for s in $syms; do grep -q "\"symbol\":\"$s\"" "$T/out.many" || fail "no quote for $s of 25"; done
! grep -q 'exchange reported an error' "$T/err.many" || fail "a subscribe frame was refused (args size >10?)"
grep -q '"clients":1,.*"rx_msgs":3,' "$SIM_LOG" || fail "expected one connection and 3 subscribe frames"
echo "ok: 25 spot symbols subscribed in 3 frames on one connection"

# --- the idle rule itself: a client that sends nothing for 3 s is dropped (candled pings every 20 s) --
start_sim --exchange bybit --market linear --symbols BTCUSDT --interval 1m --rate 2 --ping-interval 0 --idle-disconnect 3
"$CANDLED" stream bybit BTCUSDT --market linear --ws-url "ws://127.0.0.1:$SIM_PORT/v5/public/linear" \
    >"$T/out.idle" 2>"$T/err.idle" &
pid=$!
n=0
while ! grep -q 'sent nothing for 3 s' "$SIM_LOG" && [ $n -lt 200 ]; do sleep 0.1; n=$((n + 1)); done
stop_pid $pid || fail "candled exited $? on SIGTERM"
stop_sim
grep -q '"idle_drops":[1-9]' "$SIM_LOG" || fail "the idle rule did not drop a silent client"
echo "ok: the simulator's idle rule drops a client that does not ping"

# --- usage errors -------------------------------------------------------------------------------
for iv in 1s 8h 3d; do
    rc=0
    "$CANDLED" stream bybit BTCUSDT --interval $iv >/dev/null 2>"$T/err.iv" || rc=$?
    [ $rc -eq 2 ] || fail "--interval $iv: exit $rc, expected 2"
    grep -qx "candled: interval '$iv' is not supported by bybit spot" "$T/err.iv" || fail "--interval $iv: $(cat "$T/err.iv")"
done
rc=0
"$CANDLED" stream bybit BTC/USDT >/dev/null 2>"$T/err.sym" || rc=$?
[ $rc -eq 2 ] && grep -q 'symbol must match' "$T/err.sym" || fail "bad symbol: exit $rc: $(cat "$T/err.sym")"

# --- the background runs ---------------------------------------------------------------------------
for m in spot linear inverse; do
    eval "wait \$long_$m"
    if [ -f "$T/long.fail.$m" ]; then
        cat "$T/long.fail.$m" "$T/long.check.$m"; tail -5 "$T/long.err.$m"; tail -3 "$T/long.simerr.$m"
        fail "$m: closes/backfill/keepalive run"
    fi
    [ "$(grep -c '"is_closed":true' "$T/long.out.$m")" -ge 2 ] || fail "$m: fewer than 2 closed candles"
    grep -q '(1 only from REST)' "$T/long.check.$m" || { cat "$T/long.check.$m"; fail "$m: P1 did not come from the backfill"; }
    grep '"msg":"stream finished"' "$T/long.err.$m" | grep -q "connector_rest_backfills_total:bybit,$m,ok=[1-9]" \
        || fail "$m: no backfill counted"
    # two connections (the sim's one disconnect), neither dropped by the idle rule: candled pinged
    grep -q '"clients":2,.*"disconnects":1,.*"idle_drops":0[,}]' "$T/long.simerr.$m" \
        || { tail -1 "$T/long.simerr.$m"; fail "$m: keepalive did not hold the connection past the idle rule"; }
    echo "ok: $m: $(cat "$T/long.check.$m")"
    eval "wait \$keep_$m"
    [ ! -f "$T/keep.fail.$m" ] || { cat "$T/keep.fail.$m"; tail -5 "$T/keep.err.$m"; fail "$m: keepalive run"; }
    # rx_msgs: the subscribe and at least one {"op":"ping"}
    grep -Eq '"clients":1,.*"rx_msgs":([2-9]|[1-9][0-9]),.*"disconnects":0,.*"idle_drops":0[,}]' "$T/keep.simerr.$m" \
        || { tail -1 "$T/keep.simerr.$m"; fail "$m: keepalive did not hold a connection 27 s past the idle rule (25 s)"; }
    echo "ok: $m: keepalive: one connection for 27 s on candled's pings"
done
echo "ok: bybit spot, linear, inverse: exact quotes, closes once per period, REST backfill, keepalive"

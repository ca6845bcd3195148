#!/bin/sh
# Backpressure: `candled stream` writes into a pipe whose reader stops reading for 8 s.  The
# output buffer and the closed-candle queue (CONNECTOR_CLOSED_QUEUE_MAXSIZE=50) fill, upstream
# reads pause (counted in connector_queue_blocking_events_total) instead of memory growing, and
# resume once the reader drains the pipe; not one closed candle is lost, repeated or reordered
# (checked against the simulator's ground truth).
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
T="$E2E_TMP"
CANDLED="$CDL_BUILD_DIR/candled"
n=400
syms=$(i=1; while [ $i -le $n ]; do printf 'SYM%04dUSDT ' $i; i=$((i + 1)); done)
start_sim --exchange binance --symbol-count $n --interval 1s --rate 0 --truth "$T/truth"
mkfifo "$T/pipe"
# the consumer: opens the pipe at once, reads nothing for 8 s, then everything
$PYTHON -c 'import sys, time
f = open(sys.argv[1], "rb"); time.sleep(8)
open(sys.argv[2], "wb").write(f.read())' "$T/pipe" "$T/out" &
reader=$!
# shellcheck disable=SC2086
CONNECTOR_CLOSED_QUEUE_MAXSIZE=50 CONNECTOR_INACTIVITY_TIMEOUT=0.3 "$CANDLED" stream binance $syms \
    --interval 1s --closed-only --ws-url "ws://127.0.0.1:$SIM_PORT/ws" --rest-url "http://127.0.0.1:$SIM_PORT" \
    >"$T/pipe" 2>"$T/err" &
pid=$!
sleep 14
rss=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status")
kill -TERM $pid
rc=0
wait $pid || rc=$?
wait $reader
stop_sim || true
[ $rc -eq 0 ] || { tail -5 "$T/err"; fail "candled exited $rc"; }
grep -q '"msg":"closed-candle queue full: upstream reads paused"' "$T/err" || fail "reads never paused"
grep -q '"msg":"closed-candle queue drained: upstream reads resumed"' "$T/err" || fail "reads never resumed"
summary=$(grep '"msg":"stream finished"' "$T/err")
echo "$summary" | grep -q 'connector_queue_blocking_events_total=[1-9]' || fail "blocking not counted: $summary"
$PYTHON "$CDL_SOURCE_DIR/tests/e2e/truth.py" "$T/truth" "$T/out" --min-symbols $n --min-closed $((n * 8)) --max-gaps 0 \
    || fail "closed candles lost or repeated under backpressure"
echo "ok: backpressure paused and resumed the upstreams, nothing lost (peak RSS $rss kB)"

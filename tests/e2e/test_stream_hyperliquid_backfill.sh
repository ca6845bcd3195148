#!/bin/sh
# Hyperliquid backfill end to end: after 5 updates the simulator stalls the connection for 140 s
# (it sends nothing, not even pongs; candled's idle timeout is raised to 125 s so that it waits),
# both in exchange time: on a test clock ten times as fast (five under ASan), the stall and the
# idle timeout, which are real time, are divided by the rate.  A whole period then passes without a frame: once the clock is past its end the core's
# sequencer fetches it with POST /info candleSnapshot.  Every closed candle from the period that
# was in progress when the stall began on must be there, once, in order, with the final state's
# exact values (truth.py), the open quotes must be states that were sent, in order, and the
# simulator must have answered the candleSnapshot request.
#
# The period in progress when the stall began has no closed flag, and the last value received
# before the silence misses the updates the stall swallowed: the core must not close it from
# that (after the reconnect the value is stale), so its close comes from REST too.
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
T="$E2E_TMP"
CANDLED="$CDL_BUILD_DIR/candled"
QUOTES="/usr/bin/python3 $CDL_SOURCE_DIR/tests/e2e/quotes.py"
TRUTH="/usr/bin/python3 $CDL_SOURCE_DIR/tests/e2e/truth.py"
STALL_AFTER=5
use_test_clock 10 5

start_sim --exchange hyperliquid --symbols BTC --interval 1m --rate 1 --stall-after $STALL_AFTER \
    --stall-ms $((140000 / CLOCK_RATE)) --truth "$T/truth"
CONNECTOR_IDLE_TIMEOUT=$(awk -v r="$CLOCK_RATE" 'BEGIN { print 125 / r }') "$CANDLED" stream hyperliquid BTC --ws-url "ws://127.0.0.1:$SIM_PORT/ws" \
    --rest-url "http://127.0.0.1:$SIM_PORT" >"$T/out" 2>"$T/err" &
pid=$!
# P, the period of the last update before the stall; done once a period after it is closed
"$PYTHON" - "$T/out" $STALL_AFTER <<'PY' >"$T/stalled" || { kill $pid; fail "no close after the stalled period in 230 s"; }
import json, sys, time
deadline = time.time() + 230
while time.time() < deadline:
    quotes = [json.loads(l) for l in open(sys.argv[1]) if l.endswith("}\n")]
    opens = [q for q in quotes if q.get("type") == "quote" and not q["is_closed"]]
    if len(opens) >= int(sys.argv[2]):
        p = opens[int(sys.argv[2]) - 1]["timestamp"]
        if any(q["is_closed"] and q["timestamp"] > p for q in quotes if q.get("type") == "quote"):
            print(p)
            sys.exit(0)
    time.sleep(0.5)
sys.exit(1)
PY
kill -TERM $pid
rc=0
wait $pid || rc=$?
stop_sim
[ $rc -eq 0 ] || { tail -5 "$T/err"; fail "candled stream exited $rc"; }
P=$(cat "$T/stalled")
grep -q "\"timestamp\":$P,.*\"is_closed\":true" "$T/out" || fail "the period in progress at the stall ($P) was not closed"
$QUOTES check-truth --exchange hyperliquid --market perp --gaps "$T/truth" "$T/out" || fail "open quotes are not exact"
$TRUTH "$T/truth" "$T/out" --exchange hyperliquid --market perp --min-closed 2 --max-gaps 0 \
    || fail "closed candles are not exact (the period in progress at the stall closed with stale values?)"
grep -q '"stalls":1,' "$SIM_LOG" || fail "no stall"
grep -q '"rest_requests":[1-9]' "$SIM_LOG" || fail "no candleSnapshot request"
grep -q 'connector_rest_backfills_total:hyperliquid,perp,ok=[1-9]' "$T/err" || { tail -1 "$T/err"; fail "no backfill"; }
echo "ok: hyperliquid: the periods missed in a stall were backfilled by POST /info with exact values"

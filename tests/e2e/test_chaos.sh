#!/bin/sh
# Chaos, short: candled-sim streams 1s candles for 50 symbols while it disconnects, stalls,
# duplicates, reorders, skips closes, sends garbage and fails REST calls (429 with Retry-After,
# then 500).  `candled stream --closed-only` must print, per symbol, every second's closed
# candle exactly once, in order, with the simulator's exact values (tests/e2e/truth.py against
# the simulator's --truth), and announce no gap: every hole is fillable, so every hole is filled.
# The same script is the longer chaos run (tests/bench/chaos.sh, `make chaos`): CHAOS_SECONDS,
# CHAOS_SYMBOLS and CHAOS_SAMPLE (seconds between RSS samples) size it.
# The two runs go side by side, each with its own simulator.
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
T="$E2E_TMP"
CANDLED="$CDL_BUILD_DIR/candled"
# the sanitizer build is several times slower: a shorter run there
[ "${CDL_SANITIZE:-0}" = 1 ] && SECS=${CHAOS_SECONDS:-15} || SECS=${CHAOS_SECONDS:-25}
NSYM=${CHAOS_SYMBOLS:-50}
SAMPLE=${CHAOS_SAMPLE:-5}
syms=$(i=1; while [ $i -le "$NSYM" ]; do printf 'SYM%04dUSDT ' $i; i=$((i + 1)); done)

# run 1: disconnects, closed candles revised after the fact (the first one must stand), REST 429
# with Retry-After; run 2: stalls (silent connections the idle timer must catch), REST 500 and
# REST bodies that do not parse.  Both: duplicates, reorders, skipped closes, garbage frames.
# A 429's Retry-After (1 s) closes the REST host for that second (the circuit breaker,
# docs/reliability.md), so run 1 gets one every (symbols / 2)th request (25th for 50 symbols),
# not every 3rd: the faults ask for about one page per second per two symbols, so this is about
# one 429 a second whatever the size; at every 3rd the host would be shut nearly all the time
# and the holes could only time out.
# One run, in a subshell: its verdict is "$T/<status>.fail" (absent = passed) and "$T/<status>.check".
chaos_run() {
    trap - EXIT INT TERM # a subshell: the script's cleanup is not its to run
    status=$1
    SIM_TAG=".$status."
    fail() { echo "REST $status: $*" >>"$T/$status.fail"; exit 1; }
    case $status in
    429) conn_faults="--disconnect-after 400 --revise-every 5" rest_every=$((NSYM / 2 > 3 ? NSYM / 2 : 3)) ;;
    500) conn_faults="--stall-after 300 --stall-ms 3000 --rest-garbage-every 5" rest_every=3 ;;
    esac
    # shellcheck disable=SC2086
    start_sim --exchange binance --symbol-count "$NSYM" --interval 1s --rate 2 --truth "$T/truth.$status" \
        $conn_faults --duplicate-every 7 --reorder-every 11 --skip-close-every 4 --garbage-every 13 \
        --rest-fail-every $rest_every --rest-status $status
    echo "$SIM_PID" >>"$T/pids"
    # shellcheck disable=SC2086
    # The faults make far more holes than a real market: with 100 symbols the backfills need more
    # than Binance's REST weight budget (6000/min, 50 requests/s), so over the budget holes would
    # time out as gap events (by design, docs/reliability.md).  The simulator has no weight
    # limit: budgets off, so the run checks the sequencer, not the budget (test_stream_rest_budget.sh).
    CONNECTOR_REST_BUDGETS=false \
    CONNECTOR_IDLE_TIMEOUT=1.5 CONNECTOR_INACTIVITY_TIMEOUT=0.3 CONNECTOR_SEQUENCER_HOLD_SECONDS=60 \
    "$CANDLED" stream binance $syms --interval 1s --closed-only \
        --ws-url "ws://127.0.0.1:$SIM_PORT/ws" --rest-url "http://127.0.0.1:$SIM_PORT" \
        >"$T/out.$status" 2>"$T/err.$status" &
    pid=$!
    echo "$pid" >>"$T/pids"
    samples="" elapsed=0
    while [ "$elapsed" -lt "$SECS" ]; do  # resident memory over the run, kB
        step=$((SECS - elapsed < SAMPLE ? SECS - elapsed : SAMPLE))
        sleep "$step"
        elapsed=$((elapsed + step))
        samples="$samples $(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status")"
    done
    rss=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status")
    kill -TERM "$pid"
    rc=0
    wait "$pid" || rc=$?
    stop_sim || true
    [ $rc -eq 0 ] || fail "candled exited $rc: $(tail -20 "$T/err.$status")"
    faults=$(grep -o '"faults":{[^}]*}' "$SIM_LOG")
    counters=$(sed -n 's/.*"msg":"stream finished".*"counters":"\([^"]*\)".*/\1/p' "$T/err.$status")
    /usr/bin/python3 "$CDL_SOURCE_DIR/tests/e2e/truth.py" "$T/truth.$status" "$T/out.$status" \
        --exchange binance --market spot --min-symbols "$NSYM" --min-closed $((NSYM * (SECS - 8))) --max-gaps 0 \
        >"$T/truth.$status.out" 2>&1 || fail "closed candles wrong under chaos: $(cat "$T/truth.$status.out") $counters"
    for want in gaps_detected gaps_filled rest_backfills_total:binance,spot,ok duplicates_filtered frames_rejected; do
        echo "$counters" | grep -q "$want[^ ]*=[1-9]" || fail "no $want under chaos: $counters"
    done
    case $status in
    429) injected='"disconnects":[1-9].*"duplicates":[1-9].*"reorders":[1-9].*"skipped_closes":[1-9].*"garbage":[1-9].*"rest_failures":[1-9].*"revisions":[1-9]'
         echo "$counters" | grep -q 'candle_revisions_total[^ ]*=[1-9]' || fail "revisions not counted: $counters" ;;
    500) injected='"stalls":[1-9].*"duplicates":[1-9].*"reorders":[1-9].*"skipped_closes":[1-9].*"garbage":[1-9].*"rest_failures":[1-9].*"rest_garbage":[1-9]' ;;
    esac
    echo "$faults" | grep -q "$injected" || fail "the simulator injected too little: $faults"
    echo "chaos REST $status, $NSYM symbols, ${SECS} s: peak RSS ${rss} kB, RSS every ${SAMPLE} s:$samples"
    echo "  sim $faults"
    echo "  candled: $counters"
    cat "$T/truth.$status.out"
}

chaos_case() { chaos_run "$1" >"$T/$1.check"; }
run_cases chaos_case "$(printf '429\n500')" || { echo "FAIL: chaos" >&2; exit 1; }
echo "ok: chaos, every closed candle exactly once and in order"

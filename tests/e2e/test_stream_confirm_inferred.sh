#!/bin/bash
# Gate.io futures candles carry no closed flag and are pushed at most every couple of seconds,
# so the last push of a period can miss its last trades: the close inferred from it would be
# wrong.  The adapter sets confirm_inferred, and each inferred close waits for the exchange's
# REST row of its period.  The simulator's --skip-close-every 2 plays the throttle: every
# second period's final state is never pushed (the last update seen is not final).
#   - usdt and btc (default settings): every closed candle exact against the simulator's truth
#     (truth.py), no gap; the closes whose final state was never pushed are there (--min-unsent);
#     candled counts corrected and same confirmations, and no hole (connector_gaps_detected_total
#     stays absent: a confirmation is no loss);
#   - usdt with CONNECTOR_CONFIRM_INFERRED=never: the check must fail on a close's values, which
#     shows the first cases prove something.
# The 10s periods run on a test clock ten times as fast (five under ASan); the hold stays 10 s
# of real time (REST requests wait for the host's budget, which is real).
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
T="$E2E_TMP"
use_test_clock 10 5
trap 'for p in $(cat "$T/pids" 2>/dev/null); do kill -TERM "$p" 2>/dev/null || true; done; e2e_cleanup' EXIT

# name market symbols ws-path confirm
CASES=$(cat <<'EOF2'
usdt|usdt|BTC_USDT ETH_USDT|/v4/ws/usdt|adapter
btc|btc|BTC_USD ETH_USD|/v4/ws/btc|adapter
never|usdt|BTC_USDT ETH_USDT|/v4/ws/usdt|never
EOF2
)

run_case() {
    trap - EXIT INT TERM # a subshell: the script's cleanup is not its to run
    IFS='|' read -r name market syms path confirm <<EOF2
$1
EOF2
    SIM_TAG=".$name."
    fail() { echo "$name: $*" >>"$T/$name.fail"; exit 1; }
    # shellcheck disable=SC2086
    start_sim --exchange gateio --market "$market" --symbols "$(echo $syms | tr ' ' ,)" --interval 10s --rate 2 \
        --skip-close-every 2 --truth "$T/$name.truth"
    echo "$SIM_PID" >>"$T/pids"
    # shellcheck disable=SC2086
    CONNECTOR_CONFIRM_INFERRED=$confirm CONNECTOR_INACTIVITY_TIMEOUT=1 CONNECTOR_SEQUENCER_HOLD_SECONDS=$((10 * CLOCK_RATE)) \
        timeout 110 "$CDL_BUILD_DIR/candled" stream gateio $syms --market "$market" --interval 10s --closed-only \
        --limit 6 --ws-url "ws://127.0.0.1:$SIM_PORT$path" --rest-url "http://127.0.0.1:$SIM_PORT" \
        >"$T/$name.out" 2>"$T/$name.err" &
    rc=0
    case_wait $! || rc=$?
    [ $rc -eq 0 ] || fail "candled exited $rc: $(tail -3 "$T/$name.err")"
    summary=$(grep '"msg":"stream finished"' "$T/$name.err")
    if [ "$confirm" = never ]; then
        if $PYTHON "$CDL_SOURCE_DIR/tests/e2e/truth.py" "$T/$name.truth" "$T/$name.out" --exchange gateio \
            --market "$market" --min-symbols 2 --min-closed 6 --max-gaps 0 >"$T/$name.check" 2>&1; then
            fail "inferred closes without confirmation passed the check: the skipped pushes changed nothing"
        fi
        grep -q "closed candle values differ" "$T/$name.check" || fail "unexpected check failure: $(cat "$T/$name.check")"
        echo "$summary" | grep -q "connector_closes_confirmed_total" && fail "confirmations with never: $summary"
        grep -q '"rest_requests":0,' "$SIM_LOG" || fail "REST requests with never: $(grep candled_sim "$SIM_LOG")"
        echo "values differ, as they must" >"$T/$name.check"
        return 0
    fi
    $PYTHON "$CDL_SOURCE_DIR/tests/e2e/truth.py" "$T/$name.truth" "$T/$name.out" --exchange gateio \
        --market "$market" --min-symbols 2 --min-closed 6 --max-gaps 0 --min-unsent 2 \
        >"$T/$name.check" 2>>"$T/$name.fail" || {
        grep -v '"msg":"upstream' "$T/$name.err" | tail -20 >>"$T/$name.fail"
        fail "closed candles wrong"
    }
    echo "$summary" | grep -q "connector_closes_confirmed_total:gateio,$market,corrected=[1-9]" ||
        fail "no corrected confirmation: $summary"
    echo "$summary" | grep -q "connector_closes_confirmed_total:gateio,$market,same=[1-9]" ||
        fail "no same confirmation: $summary"
    echo "$summary" | grep -q "connector_gaps_detected_total" && fail "confirmations counted as holes: $summary"
    echo "$summary" | grep -q "connector_gaps_unfilled_total" && fail "a gap: $summary"
    grep -q '"rest_requests":[1-9]' "$SIM_LOG" || fail "the simulator answered no REST request"
    return 0
}

run_cases run_case "$CASES" || { echo "FAIL: confirmation of inferred closes" >&2; exit 1; }
echo "ok: gateio usdt and btc inferred closes confirmed by REST, exact; without confirmation they are wrong"

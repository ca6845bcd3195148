#!/bin/bash
# REST backfill end to end, one case per market (Bybit's are in test_stream_bybit.sh, the
# Hyperliquid perp stall in test_stream_hyperliquid_backfill.sh): the simulator keeps back the
# closes of some periods, `candled stream --closed-only` must print every period's closed candle
# once, in order, with the simulator's exact values (truth.py against --truth), no gap event, and
# at least the stated number of them must be closes the WebSocket never carried, which only REST
# has; the simulator must have answered REST requests and candled must count successful
# backfills.  The cases run side by side (Hyperliquid's shortest period is a minute: its case
# runs on a test clock, where a minute takes 6 s).
#
# OKX and Gate spot have a closed flag: a close that is not sent is a hole the sequencer sees
# (plus a disconnect every 40 or 16 frames).  Gate.io futures and Hyperliquid have none, and a
# close that merely goes missing is invisible there (the last update looks final); what a client
# can see is a connection lost at a period's end, so --drop-on-skip closes the connection instead
# of sending the close: after the reconnect the period's last value is stale, the core does not
# close it from that, and the backfill brings the final one.  The other Gate futures periods'
# closes are inferred (--min-sent).
#
# BACKFILL_DEAD_REST=1 points --rest-url at a closed port: the test must then fail.
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
T="$E2E_TMP"
trap 'for p in $(cat "$T/pids" 2>/dev/null); do kill -TERM "$p" 2>/dev/null || true; done; e2e_cleanup' EXIT

# name exchange market symbols ws-path interval closed-limit grace truth-checks -- simulator faults
CASES=$(cat <<'EOF'
okx.swap|okx|swap|BTC-USDT-SWAP ETH-USDT-SWAP|/ws/v5/business|1s|24|0.3|--min-unsent 1 --min-sent 1|--rate 2 --skip-close-every 3 --disconnect-after 40
okx.futures|okx|futures|BTC-USD-261225 ETH-USD-261225|/ws/v5/business|1s|24|0.3|--min-unsent 1 --min-sent 1|--rate 2 --skip-close-every 3 --disconnect-after 40
gateio.spot|gateio|spot|BTC_USDT ETH_USDT|/ws/v4/|10s|6|1|--min-unsent 2 --min-sent 2|--rate 2 --skip-close-every 2 --disconnect-after 16
gateio.usdt|gateio|usdt|BTC_USDT ETH_USDT|/v4/ws/usdt|10s|6|1|--min-unsent 2 --min-sent 2|--rate 2 --skip-close-every 2 --drop-on-skip
gateio.btc|gateio|btc|BTC_USD ETH_USD|/v4/ws/btc|10s|6|1|--min-unsent 2 --min-sent 2|--rate 2 --skip-close-every 2 --drop-on-skip
hyperliquid.spot|hyperliquid|spot|PURR/USDC @107|/ws|1m|2|1|--min-unsent 2|--rate 2 --skip-close-every 1 --drop-on-skip
EOF
)

dead_port() {
    $PYTHON -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# One case, in a subshell: its verdict is "$T/<name>.fail" (absent = passed) and "$T/<name>.check".
run_case() {
    trap - EXIT INT TERM # a subshell: the script's cleanup is not its to run
    IFS='|' read -r name ex market syms path iv limit grace checks faults <<EOF
$1
EOF
    SIM_TAG=".$name."
    fail() { echo "$name: $*" >>"$T/$name.fail"; exit 1; }
    # minute periods on a test clock ten times as fast (five under ASan): this case's simulator
    # and candled only; the seconds-long periods of the others stay real.  The hold is 10 s of
    # real time in every case: REST requests wait for the host's weight budget, which is real.
    if [ "$iv" = 1m ]; then
        use_test_clock 10 5
        # both streams must be live before the first period end (--limit 2 closed): start at
        # least 15 s of exchange time before a minute boundary (as in real time, where the
        # start-up is a far smaller share of a minute)
        t=$(clock_now_ms)
        [ $((60000 - t % 60000)) -ge 15000 ] || clock_sleep $(( (60000 - t % 60000) / 1000 + 1 ))
    fi
    # shellcheck disable=SC2086
    start_sim --exchange "$ex" --market "$market" --symbols "$(echo $syms | tr ' ' ,)" --interval "$iv" \
        $faults --truth "$T/$name.truth"
    echo "$SIM_PID" >>"$T/pids"
    rest="http://127.0.0.1:$SIM_PORT"
    [ "${BACKFILL_DEAD_REST:-0}" = 1 ] && rest="http://127.0.0.1:$(dead_port)"
    # shellcheck disable=SC2086
    CONNECTOR_INACTIVITY_TIMEOUT=$grace CONNECTOR_SEQUENCER_HOLD_SECONDS=$((10 * CLOCK_RATE)) timeout 110 \
        "$CDL_BUILD_DIR/candled" stream "$ex" $syms --market "$market" --interval "$iv" --closed-only \
        --limit "$limit" --ws-url "ws://127.0.0.1:$SIM_PORT$path" --rest-url "$rest" \
        >"$T/$name.out" 2>"$T/$name.err" &
    rc=0
    case_wait $! || rc=$?
    [ $rc -eq 0 ] || fail "candled exited $rc: $(tail -3 "$T/$name.err")"
    # shellcheck disable=SC2086
    $PYTHON "$CDL_SOURCE_DIR/tests/e2e/truth.py" "$T/$name.truth" "$T/$name.out" --exchange "$ex" \
        --market "$market" --min-symbols 2 --min-closed "$limit" --max-gaps 0 $checks \
        >"$T/$name.check" 2>>"$T/$name.fail" || {
        # what a failure needs to be understood: the figures, what candled printed and counted
        cat "$T/$name.check" >>"$T/$name.fail"
        grep -v '"msg":"upstream' "$T/$name.err" | tail -20 >>"$T/$name.fail"
        cut -c1-200 "$T/$name.out" >>"$T/$name.fail"
        fail "closed candles wrong"
    }
    summary=$(grep '"msg":"stream finished"' "$T/$name.err")
    echo "$summary" | grep -q "connector_rest_backfills_total:$ex,$market,ok=[1-9]" || fail "no backfill: $summary"
    grep -q '"rest_requests":[1-9]' "$SIM_LOG" || fail "the simulator answered no REST request"
    grep -q '"skipped_closes":[1-9]' "$SIM_LOG" || fail "nothing skipped"
    grep -q '"disconnects":[1-9]' "$SIM_LOG" || fail "no disconnect"
}

run_cases run_case "$CASES" || { echo "FAIL: REST backfill" >&2; exit 1; }
echo "ok: okx swap and futures, gateio spot, usdt and btc, hyperliquid spot: holes filled from REST, exact"

#!/bin/bash
# OKX swap and futures backfill (spot is in test_stream_okx.sh): candled-sim skips every third
# second's close and drops the connection every 40 frames; `candled stream --closed-only` must
# print every second's closed candle once, in order, with the simulator's exact values, the
# skipped ones from REST (truth.py against --truth), and no gap.
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
T="$E2E_TMP"
for market in swap futures; do
    case $market in
    swap) syms="BTC-USDT-SWAP ETH-USDT-SWAP" ;;
    futures) syms="BTC-USD-261225 ETH-USD-261225" ;;
    esac
    start_sim --exchange okx --market $market --symbols "$(echo $syms | tr ' ' ,)" --interval 1s --rate 2 \
        --skip-close-every 3 --disconnect-after 40 --truth "$T/truth.$market"
    rc=0
    # shellcheck disable=SC2086
    CONNECTOR_INACTIVITY_TIMEOUT=0.3 timeout 120 "$CDL_BUILD_DIR/candled" stream okx $syms --interval 1s \
        --closed-only --limit 24 --ws-url "ws://127.0.0.1:$SIM_PORT/ws/v5/business" \
        --rest-url "http://127.0.0.1:$SIM_PORT" >"$T/out.$market" 2>"$T/err.$market" || rc=$?
    stop_sim || true
    [ $rc -eq 0 ] || { tail -5 "$T/err.$market"; fail "$market: candled exited $rc"; }
    $PYTHON "$CDL_SOURCE_DIR/tests/e2e/truth.py" "$T/truth.$market" "$T/out.$market" --exchange okx \
        --market $market --min-symbols 2 --min-closed 24 --max-gaps 0 >"$T/check.$market" \
        || fail "$market: closed candles wrong"
    summary=$(grep '"msg":"stream finished"' "$T/err.$market")
    echo "$summary" | grep -q "connector_rest_backfills_total:okx,$market,ok=[1-9]" || fail "$market: no backfill: $summary"
    grep -q '"skipped_closes":[1-9]' "$SIM_LOG" || fail "$market: nothing skipped"
    echo "$market: $(cat "$T/check.$market")"
done
echo "ok: okx swap and futures holes filled from REST, exact"

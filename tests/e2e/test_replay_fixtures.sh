#!/bin/sh
# Real recorded Binance frames (tests/fixtures/binance, see its README), replayed verbatim by
# candled-sim to `candled stream`: every quote must carry exactly the decimal text of its frame.
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
T="$E2E_TMP"
CANDLED="$CDL_BUILD_DIR/candled"
QUOTES="/usr/bin/python3 $CDL_SOURCE_DIR/tests/e2e/quotes.py"
FIX="$CDL_SOURCE_DIR/tests/fixtures/binance"

for market in spot usdm coinm; do
    frames="$FIX/${market}_ws_combined_kline_1m.jsonl"
    $QUOTES expect --market $market "$frames" >"$T/want.$market"
    n=$(wc -l <"$T/want.$market")
    syms=$(/usr/bin/python3 -c "
import json,sys
seen=[]
for l in open('$frames'):
    s=json.loads(l)['data']['k']['s']
    if s not in seen: seen.append(s)
print(' '.join(seen))")
    start_sim --exchange binance --replay "$frames"
    rc=0
    # shellcheck disable=SC2086
    CONNECTOR_SEQUENCER_CLOCK_RULES=false timeout 60 "$CANDLED" stream binance $syms --market $market --limit "$n" \
        --ws-url "ws://127.0.0.1:$SIM_PORT/ws" >"$T/got.$market" 2>"$T/err.$market" || rc=$?
    stop_sim
    [ $rc -eq 0 ] || { echo "FAIL: $market exited $rc"; cat "$T/err.$market"; exit 1; }
    if ! cmp -s "$T/want.$market" "$T/got.$market"; then
        echo "FAIL: $market quotes differ from the recorded frames"
        diff "$T/want.$market" "$T/got.$market" | head -20
        exit 1
    fi
    echo "ok: $market: $n quotes identical to the recorded frames"
done

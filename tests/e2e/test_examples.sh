#!/bin/bash
# The examples run (so they do not rot): examples/demo.sh starts candled-sim and candled serve,
# examples/client.py subscribes and prints exactly the quotes asked for, then /ready is ready.
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
rc=0
BUILD="$CDL_BUILD_DIR" timeout 120 "$CDL_SOURCE_DIR/examples/demo.sh" 6 >"$E2E_TMP/out" 2>"$E2E_TMP/err" || rc=$?
[ $rc -eq 0 ] || { cat "$E2E_TMP/err"; fail "demo.sh exited $rc"; }
head -1 "$E2E_TMP/out" | grep -q '^{"type":"subscribed","exchange":"binance","contract_type":"spot","symbols":\["BTCUSDT","ETHUSDT"\]' \
    || fail "no subscribed echo: $(head -1 "$E2E_TMP/out")"
[ "$(grep -c '^{"type":"quote","exchange":"binance","contract_type":"spot","symbol":"\(BTC\|ETH\)USDT","interval":"1s"' "$E2E_TMP/out")" = 6 ] \
    || fail "expected 6 quotes: $(cat "$E2E_TMP/out")"
grep -q '/ready says {"status":"ready"' "$E2E_TMP/err" || fail "not ready: $(cat "$E2E_TMP/err")"
echo "ok: examples/demo.sh and examples/client.py"

#!/bin/sh
# `candled serve` under valgrind memcheck: clients subscribing, reaching their limit,
# unsubscribing and sending garbage, streams released after the linger (their connection closed)
# and added again (a new connection), an upstream reconnect, /metrics, then the SIGTERM drain.
# No invalid access, no uninitialised use, nothing left allocated at exit.  Skipped in the
# sanitizer build (ASan and valgrind exclude each other).
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
skip_in_sanitizer_build
T="$E2E_TMP"
start_sim --exchange binance --symbols BTCUSDT,ETHUSDT --interval 1s --rate 4 --disconnect-after 20
cat >"$T/config.lua" <<EOF
return {
  server = { port = 0, health_port = 0, linger_seconds = 1, drain_grace_seconds = 0 },
  exchanges = { binance = { spot = { ws_url = "ws://127.0.0.1:$SIM_PORT/ws", rest_url = "http://127.0.0.1:$SIM_PORT" } } },
}
EOF
SERVE_CMD="valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=all --show-leak-kinds=all \
$CDL_BUILD_DIR/candled serve" start_serve --config "$T/config.lua"
sub='{"exchange":"binance","symbols":["BTCUSDT","ETHUSDT"],"interval":"1s","limit":30}'
$PYTHON "$WSCLIENT" --port "$WS_PORT" --path / --timeout 120 --send "$sub" \
    --send '{"exchange":"binance","symbols":[' --send '{"op":"ping"}' >"$T/a" 2>&1 &
pa=$!
$PYTHON "$WSCLIENT" --port "$WS_PORT" --path / --timeout 120 --count 2 \
    --send '{"exchange":"binance","symbols":["ETHUSDT"],"interval":"1s"}' \
    --send '{"op":"unsubscribe","exchange":"binance","symbols":["ETHUSDT"],"interval":"1s"}' >"$T/b" 2>&1 \
    || fail "client b: $(cat "$T/b")"
wait $pa || fail "client a: $(tail -3 "$T/a")"
tail -1 "$T/a" | grep -qx 'CLOSE 1000 limit reached' || fail "client a: $(tail -1 "$T/a")"
# the linger releases both streams and closes their connection; a new request opens another
n=0
until http /metrics | grep -qx 'connector_upstream_streams{exchange="binance",contract_type="spot",interval="1s"} 0'; do
    n=$((n + 1)); [ $n -lt 300 ] || fail "streams not released"; sleep 0.1
done
$PYTHON "$WSCLIENT" --port "$WS_PORT" --path / --timeout 120 \
    --send '{"exchange":"binance","symbols":["BTCUSDT"],"interval":"1s","limit":2}' >"$T/c" 2>&1 || fail "client c: $(cat "$T/c")"
http /ready | tail -1 | grep -qx 'HTTP 200' || fail "/ready"
rc=0
stop_serve || rc=$?
stop_sim || true
if [ $rc -ne 0 ]; then
    echo "FAIL: valgrind/candled serve exited $rc"
    grep -E '==[0-9]+==' "$SERVE_LOG" | head -60
    exit 1
fi
grep -q 'in use at exit: 0 bytes in 0 blocks' "$SERVE_LOG" || fail "memory left at exit: $(grep -E '==[0-9]+==' "$SERVE_LOG" | tail -20)"
[ "$(grep -c '"type":"quote"' "$T/a")" = 30 ] || fail "client a: expected 30 quotes"
grep -q '"code":"bad_json"' "$T/a" || fail "client a: no bad_json error"
grep -q '"type":"pong"' "$T/a" || fail "client a: no pong"
[ "$(grep -c '"type":"quote"' "$T/c")" = 2 ] || fail "client c: expected 2 quotes"
grep -q '"msg":"upstream down, reconnecting"' "$SERVE_LOG" || fail "no upstream reconnect happened"
echo "ok: valgrind clean through subscribe, limit, unsubscribe, linger, re-subscribe and drain; 0 bytes in use at exit"

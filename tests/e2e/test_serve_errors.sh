#!/bin/sh
# End to end: bad client input never hurts `candled serve`.  Malformed JSON, unknown exchange
# and market, an unsupported interval, 10,000 symbols in one request, a 10 MB frame and a
# subscribe flood each get their documented error on a connection that stays open; afterwards
# the server still serves a new client exact quotes and /health.
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
T="$E2E_TMP"

start_sim --exchange binance --symbols BTCUSDT --interval 1s,1m --rate 4 --record "$T/rec"
cat >"$T/config.lua" <<EOF
return {
  server = { port = 0, health_port = 0, drain_grace_seconds = 0 },
  exchanges = { binance = { spot = { ws_url = "ws://127.0.0.1:$SIM_PORT/ws" } } },
}
EOF
start_serve --config "$T/config.lua"
$PYTHON "$CDL_SOURCE_DIR/tests/e2e/serve_client.py" errors --ws-port "$WS_PORT" --health-port "$HEALTH_PORT" \
    || fail "error replies"

http /health >"$T/health"
tail -1 "$T/health" | grep -qx 'HTTP 200' || fail "/health after the abuse: $(cat "$T/health")"
grep -q '^{"status":"healthy","timestamp":"20[0-9-]*T[0-9:.]*Z"}$' "$T/health" || fail "/health body: $(cat "$T/health")"
$PYTHON "$WSCLIENT" --port "$WS_PORT" --path / --timeout 30 \
    --send '{"exchange":"binance","symbols":["BTCUSDT"],"interval":"1s","limit":3}' >"$T/q" 2>"$T/q.err" \
    || fail "a new client after the abuse: $(cat "$T/q.err")"
$PYTHON "$CDL_SOURCE_DIR/tests/e2e/quotes.py" check-client --market spot "$T/rec" "$T/q" --symbols BTCUSDT --count 3 \
    || fail "quotes after the abuse"
http /nope | tail -1 | grep -qx 'HTTP 404' || fail "unknown admin path"
stop_serve || fail "serve exited $SERVE_EXIT"
echo "ok: every bad request answered with its error, connection and server kept"

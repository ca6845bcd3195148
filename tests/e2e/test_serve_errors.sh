#!/bin/sh
# End to end: bad client input never hurts `candled serve`.  Malformed JSON, unknown exchange
# and market, an exchange whose adapter breaks the contract, an unsupported interval, 10,000 symbols in one request, a 10 MB frame and a
# subscribe flood each get their documented error on a connection that stays open; afterwards
# the server still serves a new client exact quotes and /health.
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
T="$E2E_TMP"

start_sim --exchange binance --symbols BTCUSDT --interval 1s,1m --rate 4 --record "$T/rec"
# the shipped adapters plus one that loads but breaks the contract (an operator's mistake)
mkdir "$T/adapters"
cp "$CDL_SOURCE_DIR"/adapters/*.lua "$T/adapters/"
cat >"$T/adapters/broken.lua" <<'EOF'
return { name = "broken", markets = { { name = "spot", ws_url = "wss://x", max_streams = 0 } },
         intervals = { ["1m"] = "1m" }, subscribe = function() end, parse = function() end }
EOF
cat >"$T/config.lua" <<EOF
return {
  server = { port = 0, health_port = 0, drain_grace_seconds = 0 },
  exchanges = { binance = { spot = { ws_url = "ws://127.0.0.1:$SIM_PORT/ws" } } },
  lua = { adapters_dir = "$T/adapters", sdk_dir = "$CDL_SOURCE_DIR/lua" },
}
EOF
start_serve --config "$T/config.lua"
$PYTHON "$CDL_SOURCE_DIR/tests/e2e/serve_client.py" errors --ws-port "$WS_PORT" --health-port "$HEALTH_PORT" \
    || fail "error replies"
grep '"msg":"adapter does not load"' "$SERVE_LOG" | grep -q 'max_streams is missing or invalid' \
    || fail "the broken adapter's error is not in the log"

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

# server.max_clients: the next handshake is refused, the first client is not disturbed
sed 's|drain_grace_seconds = 0|drain_grace_seconds = 0, max_clients = 1|' "$T/config.lua" >"$T/one.lua"
start_serve --config "$T/one.lua"
$PYTHON - "$WS_PORT" <<'PY' || fail "max_clients"
import os, sys
sys.path.insert(0, os.environ["CDL_SOURCE_DIR"] + "/tests/e2e")
import wsclient
port = int(sys.argv[1])
first = wsclient.connect("127.0.0.1", port, "/")
try:
    wsclient.connect("127.0.0.1", port, "/")
    sys.exit("a second client was accepted with max_clients = 1")
except (wsclient.WSError, OSError):
    pass
first.send_text('{"op":"ping"}')
assert first.recv_text() == '{"type":"pong"}'
PY
stop_serve || fail "serve exited $SERVE_EXIT"

# /ready is 503 while an exchange with streams has no established connection (nothing listens
# on the port config.lua points at)
cat >"$T/down.lua" <<EOF
return {
  server = { port = 0, health_port = 0, drain_grace_seconds = 0 },
  exchanges = { binance = { spot = { ws_url = "ws://127.0.0.1:1/ws" } } },
  subscriptions = { { exchange = "binance", symbols = { "BTCUSDT" } } },
}
EOF
export CONNECTOR_CIRCUIT_BREAKER_FAILURE_THRESHOLD=3
start_serve --config "$T/down.lua"
unset CONNECTOR_CIRCUIT_BREAKER_FAILURE_THRESHOLD
n=0
until http /ready >"$T/ready" && grep -q '"consecutive_failures":[1-9]' "$T/ready"; do
    n=$((n + 1)); [ $n -lt 300 ] || fail "no failed connection reported: $(cat "$T/ready")"; sleep 0.05
done
tail -1 "$T/ready" | grep -qx 'HTTP 503' || fail "/ready with no upstream: $(cat "$T/ready")"
grep -q '^{"status":"not_ready",.*"streams":1,"active_connections":0,.*"healthy":false}\]}$' "$T/ready" \
    || fail "/ready body: $(cat "$T/ready")"
# after 3 failed connects the market's circuit breaker is open, and /ready says so
n=0
until http /ready >"$T/ready" && grep -q '"circuit_state":"open"' "$T/ready"; do
    n=$((n + 1)); [ $n -lt 300 ] || fail "circuit not open in /ready: $(cat "$T/ready")"; sleep 0.05
done
stop_serve || fail "serve exited $SERVE_EXIT"
echo "ok: every bad request answered with its error, connection and server kept; max_clients; /ready 503 without upstream"

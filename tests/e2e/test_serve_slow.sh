#!/bin/sh
# End to end: a client that stops reading is cut off with 1008 once its closed-candle queue
# passes server.client_queue_max, counted in /metrics, while another client on the same streams
# keeps getting exact quotes; clients keep getting quotes while the upstream floods (asking lws
# for a WRITEABLE on every quote restarted the client's uv_poll each time and starved it).
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
T="$E2E_TMP"

start_sim --exchange binance --symbol-count 20 --interval 1s --rate 20 --record "$T/rec"
syms=$(seq -f 'SYM%04gUSDT' 1 20 | paste -sd, -)
cat >"$T/config.lua" <<EOF
return {
  server = { port = 0, health_port = 0, client_queue_max = 20, drain_grace_seconds = 0 },
  exchanges = { binance = { spot = { ws_url = "ws://127.0.0.1:$SIM_PORT/ws" } } },
}
EOF
start_serve --config "$T/config.lua"
$PYTHON "$CDL_SOURCE_DIR/tests/e2e/serve_client.py" slow --ws-port "$WS_PORT" --health-port "$HEALTH_PORT" \
    --symbols "$syms" --out "$T/good" || fail "slow client"
$PYTHON "$CDL_SOURCE_DIR/tests/e2e/quotes.py" check-client --market spot "$T/rec" "$T/good" --symbols "$syms" \
    || fail "the good client's quotes"
grep -q '"msg":"client too slow, closing (1008)"' "$SERVE_LOG" || fail "no log line for the slow client"
stop_serve || fail "serve exited $SERVE_EXIT"
stop_sim

start_sim --exchange binance --symbols BTCUSDT,ETHUSDT --interval 1m --flood
cat >"$T/flood.lua" <<EOF
return {
  server = { port = 0, health_port = 0, drain_grace_seconds = 0 },
  exchanges = { binance = { spot = { ws_url = "ws://127.0.0.1:$SIM_PORT/ws" } } },
}
EOF
start_serve --config "$T/flood.lua"
$PYTHON "$WSCLIENT" --port "$WS_PORT" --path / --timeout 120 --count 3001 \
    --send '{"exchange":"binance","symbols":["BTCUSDT","ETHUSDT"]}' >"$T/flood.1" 2>&1 &
pf1=$!
$PYTHON "$WSCLIENT" --port "$WS_PORT" --path / --timeout 120 --count 3001 \
    --send '{"exchange":"binance","symbols":["ETHUSDT"]}' >"$T/flood.2" 2>&1 &
pf2=$!
{ wait $pf1 && wait $pf2; } || fail "a client starved while the upstream floods: $(wc -l "$T"/flood.*)"
for c in 1 2; do
    [ "$(grep -c '"type":"quote"' "$T/flood.$c")" = 3000 ] || fail "flood client $c: $(wc -l <"$T/flood.$c") lines"
done
stop_serve || fail "serve exited $SERVE_EXIT"
echo "ok: the lazy client was closed with 1008, the good one kept exact quotes; clients fed during a flood"

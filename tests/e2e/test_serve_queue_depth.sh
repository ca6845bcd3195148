#!/bin/sh
# End to end: `candled serve` exports connector_queue_depth_closed / _open as the sum over its
# clients.  Two clients that stop reading (small socket buffers on both sides) make the gauges
# climb: exactly one waiting open candle per symbol and client (latest-wins), a growing FIFO of
# closed candles; that exposition passes promtool; once the clients are gone both gauges are 0.
# Then a client behind tiny socket buffers gets a ~14 KB "subscribed" echo (1,000 silent symbols
# beside the real ones), which lws sends in 4 KiB pieces over several loop turns while quotes
# queue behind it (lws_send_pipe_choked() holds the batch back until the last piece is out), and
# then reads in bursts: whole messages, exact quotes, closed candles all in order.
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
T="$E2E_TMP"

start_sim --exchange binance --symbol-count 10 --interval 1s --rate 20 --record "$T/rec"
syms=$(seq -f 'SYM%04gUSDT' 1 10 | paste -sd, -)
cat >"$T/config.lua" <<EOF
return {
  server = { port = 0, health_port = 0, client_queue_max = 100000, client_send_buffer = 4096,
             drain_grace_seconds = 0 },
  exchanges = { binance = { spot = { ws_url = "ws://127.0.0.1:$SIM_PORT/ws" } } },
}
EOF
start_serve --config "$T/config.lua"
$PYTHON "$CDL_SOURCE_DIR/tests/e2e/serve_client.py" depth --ws-port "$WS_PORT" --health-port "$HEALTH_PORT" \
    --symbols "$syms" --out "$T/metrics" || fail "queue depth"
grep -q '^# TYPE connector_queue_depth_closed gauge$' "$T/metrics" || fail "no closed depth gauge"
grep -q '^connector_queue_depth_closed [1-9]' "$T/metrics" || fail "closed depth: $(grep depth "$T/metrics")"
grep -qx 'connector_queue_depth_open 20' "$T/metrics" || fail "open depth: $(grep depth "$T/metrics")"
command -v promtool >/dev/null || fail "promtool not found (Debian package prometheus: make deps)"
promtool check metrics <"$T/metrics" || fail "promtool check metrics"
$PYTHON "$CDL_SOURCE_DIR/tests/e2e/serve_client.py" sluggish --ws-port "$WS_PORT" --health-port "$HEALTH_PORT" \
    --symbols "$syms" --out "$T/sluggish" || fail "sluggish client"
$PYTHON "$CDL_SOURCE_DIR/tests/e2e/quotes.py" check-client --market spot "$T/rec" "$T/sluggish" --symbols "$syms" \
    || fail "the sluggish client's quotes"
stop_serve || fail "serve exited $SERVE_EXIT"
echo "ok: queue depth gauges summed over two slow clients (open 20, closed growing), promtool ok, 0 after they left; a sluggish reader got exact quotes"

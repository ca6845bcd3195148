#!/bin/sh
# End to end: SIGTERM / SIGINT drain `candled serve` (/ready 503, clients get close 1001, the
# upstream is closed, exit 0); a second signal exits at once; the environment's ports and
# CONNECTOR_WSS_HEALTH_CHECK_ENABLED=false take effect.
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
T="$E2E_TMP"

start_sim --exchange binance --symbols BTCUSDT --interval 1s --rate 4 --verbose
cat >"$T/config.lua" <<EOF
return {
  server = { port = 8765, health_port = 8766, drain_grace_seconds = 3 },
  exchanges = { binance = { spot = { ws_url = "ws://127.0.0.1:$SIM_PORT/ws" } } },
}
EOF
# the environment beats config.lua (ports 0: free ones)
export CONNECTOR_WSS_PORT=0 CONNECTOR_WSS_HEALTH_CHECK_PORT=0

for sig in TERM INT; do
    start_serve --config "$T/config.lua"
    $PYTHON "$WSCLIENT" --port "$WS_PORT" --path / --timeout 60 \
        --send '{"exchange":"binance","symbols":["BTCUSDT"],"interval":"1s"}' >"$T/c.$sig" 2>&1 &
    pc=$!
    n=0
    while [ "$(grep -c '"type":"quote"' "$T/c.$sig")" -lt 3 ]; do
        n=$((n + 1)); [ $n -lt 400 ] || fail "no quotes before SIG$sig"; sleep 0.05
    done
    if [ $sig = TERM ]; then # SIGHUP reloads (the same config: nothing changes) and does not end it
        kill -HUP "$SERVE_PID"
        n=0
        until grep -q '"msg":"reloaded","streams_added":"0","streams_removed":"0","connections_restarted":"0"' "$SERVE_LOG"; do
            n=$((n + 1)); [ $n -lt 200 ] || fail "SIGHUP not logged"; sleep 0.05
        done
        http /ready | tail -1 | grep -qx 'HTTP 200' || fail "/ready after SIGHUP"
    fi
    kill -$sig "$SERVE_PID"
    http /ready >"$T/ready.$sig"
    tail -1 "$T/ready.$sig" | grep -qx 'HTTP 503' || fail "/ready while draining: $(cat "$T/ready.$sig")"
    grep -q '^{"status":"not_ready",.*"draining":true,' "$T/ready.$sig" || fail "/ready body: $(cat "$T/ready.$sig")"
    http /health | tail -1 | grep -qx 'HTTP 200' || fail "/health while draining"
    wait $pc || fail "client: $(tail -3 "$T/c.$sig")"
    tail -1 "$T/c.$sig" | grep -qx 'CLOSE 1001 server shutting down' || fail "client close: $(tail -1 "$T/c.$sig")"
    rc=0
    wait "$SERVE_PID" || rc=$?
    SERVE_PID=
    [ $rc -eq 0 ] || fail "SIG$sig: serve exited $rc"
    grep -q "\"msg\":\"draining\",\"signal\":\"SIG$sig\"" "$SERVE_LOG" || fail "no draining log line"
    grep -q '"msg":"drained","left_open":"0"' "$SERVE_LOG" || fail "SIG$sig: not drained cleanly"
done
# the simulator saw each upstream connection end with a close frame (2 runs, 1 upstream each)
[ "$(grep -c 'candled-sim: client [0-9]* closed after' "$SIM_LOG")" = 2 ] || fail "upstreams not closed"
[ "$(grep -c 'candled-sim: client [0-9]* sent close 1001$' "$SIM_LOG")" = 2 ] || fail "upstreams closed without a close frame"

# a second signal does not wait for the drain
start_serve --config "$T/config.lua"
kill -TERM "$SERVE_PID"
sleep 0.2
kill -TERM "$SERVE_PID"
rc=0
wait "$SERVE_PID" || rc=$?
SERVE_PID=
[ $rc -eq 143 ] || fail "second SIGTERM: exit $rc, expected 143"
grep -q '"msg":"second signal: exiting now"' "$SERVE_LOG" || fail "no second-signal log line"

# no admin port when disabled
CONNECTOR_WSS_HEALTH_CHECK_ENABLED=false start_serve --config "$T/config.lua"
grep -q '"health_port":0}' "$E2E_TMP"/serve*.ports || fail "admin port opened though disabled"
stop_serve || fail "serve exited $SERVE_EXIT"
grep -q '"health_port"' "$SERVE_LOG" && fail "health port logged though disabled"
stop_sim
echo "ok: SIGTERM and SIGINT drain and exit 0; a second signal exits 143; ports from the environment"

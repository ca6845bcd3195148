#!/bin/sh
# Connection rotation under live subscription churn, through `candled serve`: upstream
# connections (3 streams each) are replaced every ~2.5 s (CONNECTOR_MAX_CONNECTION_AGE=3) while
# one client subscribes and unsubscribes symbols four times a second.  The simulator logs who
# holds which stream (--log-subs): no stream is ever on more than three connections (a draining
# one, the current one and its replacement), or on more than one for longer than a rotation's
# overlap; once the churn is over every stream a client wants is on a
# connection at every instant (make-before-break) and no other stream is on any.  A second
# client, subscribed closed-only to 3 symbols all along, gets their closed candles exactly once,
# in order, exact (truth.py), with no REST request: rotations under churn lose nothing.
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
T="$E2E_TMP"
CHURN="$CDL_SOURCE_DIR/tests/e2e/rotation_churn.py"
[ "${CDL_SANITIZE:-0}" = 1 ] && SECS=10 || SECS=14
WANT=$((3 * (SECS + 14))) # the stable client outlasts the churn (its end takes its streams away)
start_sim --exchange binance --symbol-count 15 --interval 1s --rate 2 --truth "$T/truth" --max-conn-age 30 --log-subs \
    --subscribe-delay-ms 400
cat >"$T/config.lua" <<CONF
return {
  server = { port = 0, health_port = 0, linger_seconds = 0, drain_grace_seconds = 0 },
  connection = { max_connection_age = 3, max_symbol_per_ws = 3, inactivity_timeout = 2 },
  exchanges = { binance = { spot = { ws_url = "ws://127.0.0.1:$SIM_PORT/ws", rest_url = "http://127.0.0.1:$SIM_PORT" } } },
  subscriptions = {},
}
CONF
start_serve --config "$T/config.lua"
STABLE="SYM0001USDT SYM0002USDT SYM0003USDT"
$PYTHON "$WSCLIENT" --port "$WS_PORT" --path / --timeout 120 \
    --send '{"exchange":"binance","contract_type":"spot","symbols":["SYM0001USDT","SYM0002USDT","SYM0003USDT"],"interval":"1s","limit":'$WANT',"closed_only":true}' \
    >"$T/stable" 2>"$T/stable.err" &
stable=$!
pool=$(i=4; while [ $i -le 15 ]; do printf 'SYM%04dUSDT,' $i; i=$((i + 1)); done)
FINAL="SYM0004USDT,SYM0007USDT,SYM0011USDT,SYM0015USDT"
$PYTHON "$CHURN" churn --ws-port "$WS_PORT" --pool "${pool%,}" --final "$FINAL" --seconds "$SECS" --settle 8 \
    >"$T/churn" 2>"$T/churn.err" || fail "the churning client failed: $(cat "$T/churn.err")"
kill -0 "$stable" 2>/dev/null || fail "the stable client ended before the churn: $(tail -3 "$T/stable.err")"
rc=0
wait "$stable" || rc=$?
[ $rc -eq 0 ] || fail "the stable client failed ($rc): $(tail -3 "$T/stable.err")"
metrics=$(http /metrics)
stop_serve || fail "serve exited $SERVE_EXIT"
stop_sim || true
grep -E '^\{"type":"(quote|gap)"' "$T/stable" >"$T/quotes"
[ "$(grep -c '"type":"quote"' "$T/quotes")" = $WANT ] || fail "expected $WANT quotes"
$PYTHON "$CDL_SOURCE_DIR/tests/e2e/truth.py" "$T/truth" "$T/quotes" --exchange binance --market spot \
    --min-symbols 3 --min-closed $WANT --max-gaps 0 || fail "closed candles wrong under rotation and churn"
end_ms=$(sed -n 's/.*"churn_end_ms": *\([0-9]*\).*/\1/p' "$T/churn")
until_ms=$(sed -n 's/.*"done_ms": *\([0-9]*\).*/\1/p' "$T/churn")
wanted="$(echo $STABLE | tr ' ' ,),$FINAL"
# the last requests are answered within a second or two (paced subscribe frames): 4 s after them
$PYTHON "$CHURN" check "$SIM_LOG" --wanted "$wanted" --after $((end_ms + 4000)) --until "$until_ms" \
    || fail "streams not on exactly one connection"
rot=$(echo "$metrics" | sed -n 's/^connector_ws_rotations_total{exchange="binance",contract_type="spot",result="ok"} \([0-9]*\)$/\1/p')
[ "${rot:-0}" -ge 6 ] || fail "too few rotations: $(echo "$metrics" | grep rotations)"
grep -q '"rest_requests":0,' "$SIM_LOG" || fail "REST requests during rotations: $(grep candled_sim "$SIM_LOG")"
echo "rotations under churn: $rot ok; $(cat "$T/churn"); $(grep -c '^SUBS' "$SIM_LOG") subscription changes at the simulator"
echo "ok: rotation under live subscribe/unsubscribe churn"

#!/bin/bash
# Chaos through the server: candled-sim streams 1 s candles for 20 symbols while it disconnects,
# duplicates, reorders, skips and revises closes, sends garbage and fails REST calls; a WebSocket
# client of `candled serve` subscribed closed-only to all of them must receive, per symbol, every
# second's closed candle exactly once, in order, with the simulator's exact values (truth.py),
# and no gap event: every hole is fillable.  `make chaos` runs it longer and wider:
# CHAOS_SERVE_SYMBOLS (default 20) symbols, CHAOS_SERVE_PER_SYMBOL (default 15; 8 in the
# sanitizer build) closed candles each.
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
T="$E2E_TMP"
N=${CHAOS_SERVE_SYMBOLS:-20}
[ "${CDL_SANITIZE:-0}" = 1 ] && PER=${CHAOS_SERVE_PER_SYMBOL:-8} || PER=${CHAOS_SERVE_PER_SYMBOL:-15}
WANT=$((N * PER))
WAIT=$((PER * 3 + 75)) # the client's timeout: about a second per candle, with room
# a revision needs a period with index % R == 0 and a later sent close, inside the run: with the
# sanitizer build's 8 periods, every 5th could fall at the end (seen once: "revisions":0)
REVISE=$((PER < 10 ? 3 : 5))
syms=$(i=1; while [ $i -le $N ]; do printf '"SYM%04dUSDT",' $i; i=$((i + 1)); done)
start_sim --exchange binance --symbol-count $N --interval 1s --rate 2 --truth "$T/truth" \
    --disconnect-after 300 --duplicate-every 7 --reorder-every 11 --skip-close-every 4 --garbage-every 13 \
    --revise-every $REVISE --rest-fail-every 5 --rest-status 500
cat >"$T/config.lua" <<CONF
return {
  server = { port = 0, health_port = 0, drain_grace_seconds = 0 },
  exchanges = { binance = { spot = { ws_url = "ws://127.0.0.1:$SIM_PORT/ws", rest_url = "http://127.0.0.1:$SIM_PORT" } } },
  subscriptions = {},
  -- the simulator has no weight limit, and at 100 symbols (make chaos) these faults need more
  -- pages than Binance's budget: budgets off, as in test_chaos.sh
  rest = { budgets = false },
}
CONF
export CONNECTOR_INACTIVITY_TIMEOUT=0.3
start_serve --config "$T/config.lua"
unset CONNECTOR_INACTIVITY_TIMEOUT
rc=0
$PYTHON "$WSCLIENT" --port "$WS_PORT" --path / --timeout $WAIT \
    --send "{\"exchange\":\"binance\",\"contract_type\":\"spot\",\"symbols\":[${syms%,}],\"interval\":\"1s\",\"limit\":$WANT,\"closed_only\":true}" \
    >"$T/client" 2>"$T/client.err" || rc=$?
[ $rc -eq 0 ] || fail "the client failed ($rc): $(tail -3 "$T/client.err") $(tail -3 "$T/client")"
grep -q '^CLOSE 1000' "$T/client" || fail "not closed with 1000 after its limit: $(tail -2 "$T/client")"
grep -E '^\{"type":"(quote|gap)"' "$T/client" >"$T/quotes"
[ "$(grep -c '"type":"quote"' "$T/quotes")" = $WANT ] || fail "expected $WANT quotes"
$PYTHON "$CDL_SOURCE_DIR/tests/e2e/truth.py" "$T/truth" "$T/quotes" --exchange binance --market spot \
    --min-symbols $N --min-closed $WANT --max-gaps 0 || fail "closed candles wrong through the server"
rss=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$SERVE_PID/status")
stop_serve || fail "serve exited $SERVE_EXIT"
stop_sim || true
grep -o '"faults":{[^}]*}' "$SIM_LOG" | grep -q '"disconnects":[1-9].*"skipped_closes":[1-9].*"revisions":[1-9]' \
    || fail "too few faults: $(grep -o '"faults":{[^}]*}' "$SIM_LOG")"
echo "faults: $(grep -o '"faults":{[^}]*}' "$SIM_LOG"); candled serve peak RSS ${rss} kB"
echo "ok: through candled serve, $N symbols, $WANT closed candles, every one exactly once and in order under chaos"

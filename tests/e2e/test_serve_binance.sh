#!/bin/sh
# End to end: candled-sim (Binance) -> `candled serve` -> several WebSocket clients on overlapping
# symbols.  Each client gets exact quotes (checked against the simulator's --record), `limit`
# closes with 1000, closed_only gets closed candles only; the simulator sees ONE upstream
# connection and ONE subscribe per stream however many clients want it; streams nobody wants any
# more are unsubscribed upstream after the linger, config.lua's stay; /metrics passes promtool.
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
T="$E2E_TMP"
QUOTES="$PYTHON $CDL_SOURCE_DIR/tests/e2e/quotes.py"

start_sim --exchange binance --symbols BTCUSDT,ETHUSDT,XRPUSDT,SOLUSDT --interval 1s --rate 4 --record "$T/rec"
cat >"$T/config.lua" <<EOF
return {
  server = { port = 0, health_port = 0, linger_seconds = 1, drain_grace_seconds = 0 },
  exchanges = { binance = { spot = { ws_url = "ws://127.0.0.1:$SIM_PORT/ws", rest_url = "http://127.0.0.1:$SIM_PORT" } } },
  subscriptions = { { exchange = "binance", market = "spot", symbols = { "SOLUSDT" }, interval = "1s" } },
}
EOF
# the predecessor's name runs the server too
ln -s "$CDL_BUILD_DIR/candled" "$T/connector-wss"
SERVE_CMD="$T/connector-wss" start_serve --config "$T/config.lua"

# /ready: 200 once the config stream's connection is up
n=0
until http /ready >"$T/ready" && tail -1 "$T/ready" | grep -qx 'HTTP 200'; do
    n=$((n + 1)); [ $n -lt 200 ] || fail "/ready never 200: $(cat "$T/ready")"; sleep 0.05
done
grep -q '"exchange":"binance","contract_type":"spot","streams":1,"active_connections":1,' "$T/ready" \
    || fail "/ready detail: $(cat "$T/ready")"

sub() { echo "{\"exchange\":\"binance\",\"contract_type\":\"spot\",\"symbols\":[$1],\"interval\":\"1s\"$2}"; }
$PYTHON "$WSCLIENT" --port "$WS_PORT" --path / --timeout 60 \
    --send "$(sub '"BTCUSDT","ETHUSDT"' ',"limit":12')" >"$T/a" 2>"$T/a.err" &
pa=$!
$PYTHON "$WSCLIENT" --port "$WS_PORT" --path / --timeout 60 \
    --send "$(sub '"ethusdt","XRPUSDT","ethusdt"' ',"limit":12')" >"$T/b" 2>"$T/b.err" &
pb=$!
$PYTHON "$WSCLIENT" --port "$WS_PORT" --path / --timeout 60 \
    --send "$(sub '"BTCUSDT","XRPUSDT","SOLUSDT"' ',"limit":4,"closed_only":true')" >"$T/c" 2>"$T/c.err" &
pc=$!
for p in $pa $pb $pc; do wait $p || fail "a client failed: $(cat "$T/a.err" "$T/b.err" "$T/c.err")"; done

head -1 "$T/a" | grep -qx '{"type":"subscribed","exchange":"binance","contract_type":"spot","symbols":\["BTCUSDT","ETHUSDT"\],"interval":"1s","limit":12,"closed_only":false}' \
    || fail "client a: subscribed echo: $(head -1 "$T/a")"
head -1 "$T/b" | grep -qx '{"type":"subscribed","exchange":"binance","contract_type":"spot","symbols":\["ethusdt","XRPUSDT"\],"interval":"1s","limit":12,"closed_only":false}' \
    || fail "client b: subscribed echo (one stream per symbol): $(head -1 "$T/b")"
for c in a b c; do
    tail -1 "$T/$c" | grep -qx 'CLOSE 1000 limit reached' || fail "client $c: no close 1000 after its limit: $(tail -1 "$T/$c")"
done
$QUOTES check-client --market spot "$T/rec" "$T/a" --symbols BTCUSDT,ETHUSDT --count 12 || fail "client a quotes"
$QUOTES check-client --market spot "$T/rec" "$T/b" --symbols ethusdt,XRPUSDT --count 12 || fail "client b quotes"
$QUOTES check-client --market spot "$T/rec" "$T/c" --symbols BTCUSDT,XRPUSDT,SOLUSDT --count 4 --closed-only \
    || fail "client c quotes"
[ "$(grep -c '"is_closed":false' "$T/c")" = 0 ] || fail "closed_only client got open candles"

# after the linger only config.lua's stream is left upstream
n=0
until http /metrics >"$T/metrics" && grep -qx 'connector_upstream_streams{exchange="binance",contract_type="spot",interval="1s"} 1' "$T/metrics"; do
    n=$((n + 1)); [ $n -lt 200 ] || fail "streams not released after the linger: $(grep upstream_streams "$T/metrics")"; sleep 0.05
done
grep -qx 'connector_clients 0' "$T/metrics" || fail "clients gauge: $(grep '^connector_clients' "$T/metrics")"
grep -qx 'connector_client_connections_total 3' "$T/metrics" || fail "clients accepted"
grep -qx 'connector_client_quotes_total 28' "$T/metrics" || fail "client quotes: $(grep client_quotes "$T/metrics")"
grep -q '^process_resident_memory_bytes [1-9]' "$T/metrics" || fail "no RSS"
grep -q '^process_open_fds [1-9]' "$T/metrics" || fail "no fd count"
command -v promtool >/dev/null || fail "promtool not found (Debian package prometheus: make deps)"
sed '$d' "$T/metrics" >"$T/metrics.txt"
promtool check metrics <"$T/metrics.txt" || fail "promtool check metrics"

stop_serve || fail "serve exited $SERVE_EXIT"
stop_sim
# one upstream connection; each of the 4 streams subscribed once; the 3 client-only ones
# unsubscribed once (SOLUSDT is config.lua's)
grep -q '"clients":1,' "$SIM_LOG" || fail "more than one upstream connection: $(tail -1 "$SIM_LOG")"
grep -q '"subscribes":4,"unsubscribes":3}' "$SIM_LOG" || fail "streams not shared: $(tail -1 "$SIM_LOG")"
grep -q '"msg":"drained","left_open":"0"' "$SERVE_LOG" || fail "no clean drain"

# packing: 2 streams per upstream connection (CONNECTOR_MAX_SYMBOL_PER_WS), 5 streams -> 3
# connections, each subscribed live; all closed once the streams are released
start_sim --exchange binance --symbols BTCUSDT,ETHUSDT,XRPUSDT,SOLUSDT,ADAUSDT --interval 1s --rate 4 --record "$T/rec5"
sed "s|ws://127.0.0.1:[0-9]*/ws|ws://127.0.0.1:$SIM_PORT/ws|; s|subscriptions = .*||" "$T/config.lua" >"$T/pack.lua"
CONNECTOR_MAX_SYMBOL_PER_WS=2 start_serve --config "$T/pack.lua"
$PYTHON "$WSCLIENT" --port "$WS_PORT" --path / --timeout 60 \
    --send "$(sub '"BTCUSDT","ETHUSDT","XRPUSDT","SOLUSDT","ADAUSDT"' ',"limit":15')" >"$T/p" 2>"$T/p.err" \
    || fail "packing client: $(cat "$T/p.err")"
$QUOTES check-client --market spot "$T/rec5" "$T/p" --symbols BTCUSDT,ETHUSDT,XRPUSDT,SOLUSDT,ADAUSDT --count 15 \
    || fail "packing client quotes"
n=0
until http /metrics >"$T/metrics" && grep -qx 'connector_active_connections{exchange="binance",contract_type="spot"} 0' "$T/metrics"; do
    n=$((n + 1)); [ $n -lt 200 ] || fail "connections not closed after the linger: $(grep active_conn "$T/metrics")"; sleep 0.05
done
stop_serve || fail "serve exited $SERVE_EXIT"
stop_sim
grep -q '"clients":3,' "$SIM_LOG" || fail "5 streams at 2 per connection: expected 3 connections: $(tail -1 "$SIM_LOG")"
grep -q '"subscribes":5,' "$SIM_LOG" || fail "expected 5 subscribes: $(tail -1 "$SIM_LOG")"

echo "ok: 3 clients on 4 overlapping streams got exact quotes over one upstream connection with 4 subscribes; linger released 3; promtool ok; 5 streams packed 2 per connection on 3"

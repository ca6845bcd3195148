#!/bin/sh
# End to end: hot reload of `candled serve` (SIGHUP and POST /-/reload) while a client streams.
#  - a broken config.lua or a broken adapter is refused: the server keeps serving, the failure is
#    in the log, /ready's "reload" detail, connector_reloads_total and the POST's 422 answer;
#  - an edited adapter changes the output mapping of the next frames without any upstream
#    reconnect (the simulator sees one connection, one upgrade);
#  - subscriptions added to / removed from config.lua are pinned / released, nothing else moves;
#  - a key that needs a restart is reported as such; an endpoint that changed restarts only that
#    market's connection; the client's closed candles stay exactly once and in order throughout.
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
T="$E2E_TMP"

start_sim --exchange binance --symbols BTCUSDT,ETHUSDT,XRPUSDT --interval 1s --rate 4
cp -R "$CDL_SOURCE_DIR/adapters" "$CDL_SOURCE_DIR/lua" "$T/"
config() { # config SYMBOLS [EXTRA SERVER KEYS]
    cat >"$T/config.lua" <<EOF
return {
  server = { port = 0, health_port = 0, linger_seconds = 1, drain_grace_seconds = 0 $2 },
  exchanges = { binance = { spot = { ws_url = "ws://127.0.0.1:$SIM_PORT/ws", rest_url = "http://127.0.0.1:$SIM_PORT" } } },
  subscriptions = { { exchange = "binance", market = "spot", symbols = { $1 }, interval = "1s" } },
}
EOF
}
post_reload() { # prints the body, then "HTTP <status>"
    $PYTHON - "$HEALTH_PORT" <<'PY'
import sys, urllib.request, urllib.error
req = urllib.request.Request("http://127.0.0.1:%s/-/reload" % sys.argv[1], data=b"", method="POST")
try:
    r = urllib.request.urlopen(req, timeout=20)
    status, body = r.status, r.read()
except urllib.error.HTTPError as e:
    status, body = e.code, e.read()
sys.stdout.write(body.decode())
print("HTTP %d" % status)
PY
}
quotes() { grep -c '"type":"quote"' "$T/c" || true; }
more_quotes() { # waits for 3 quotes more than now
    _want=$(($(quotes) + 3)); _n=0
    while [ "$(quotes)" -lt $_want ]; do
        _n=$((_n + 1)); [ $_n -lt 400 ] || fail "client starved: $1"; sleep 0.05
    done
}
streams_up() { # waits for connector_upstream_streams == $1
    _n=0
    until http /metrics >"$T/metrics" && grep -qx "connector_upstream_streams{exchange=\"binance\",contract_type=\"spot\",interval=\"1s\"} $1" "$T/metrics"; do
        _n=$((_n + 1)); [ $_n -lt 300 ] || fail "upstream streams != $1: $(grep upstream_streams "$T/metrics")"; sleep 0.05
    done
}

config '"BTCUSDT"' ""
start_serve --config "$T/config.lua"
$PYTHON "$WSCLIENT" --port "$WS_PORT" --path / --timeout 120 \
    --send '{"exchange":"binance","contract_type":"spot","symbols":["ETHUSDT"],"interval":"1s"}' >"$T/c" 2>"$T/c.err" &
pc=$!
more_quotes "at start"
streams_up 2

# 1. a config.lua that does not parse: SIGHUP is refused, the server keeps serving
echo 'return { server = { port = 0, ' >"$T/config.lua"
kill -HUP "$SERVE_PID"
n=0
until grep -q '"msg":"reload failed: the running configuration and adapters stay"' "$SERVE_LOG"; do
    n=$((n + 1)); [ $n -lt 200 ] || fail "no reload failure logged"; sleep 0.05
done
http /ready >"$T/ready"
tail -1 "$T/ready" | grep -qx 'HTTP 200' || fail "/ready after a failed reload: $(cat "$T/ready")"
grep -q '"reload":{"result":"failed","message":"config: .*config.lua' "$T/ready" || fail "/ready reload detail: $(cat "$T/ready")"
http /metrics >"$T/metrics"
grep -qx 'connector_reloads_total{result="failed"} 1' "$T/metrics" || fail "failed reload not counted"
grep -qx 'connector_config_last_reload_successful 0' "$T/metrics" || fail "last reload gauge"
more_quotes "after a refused SIGHUP"

# 2. the same through POST: 422 with the message; GET is 405
post_reload >"$T/r2"
tail -1 "$T/r2" | grep -qx 'HTTP 422' || fail "POST with a broken config: $(cat "$T/r2")"
grep -q '^{"result":"failed","message":"config: ' "$T/r2" || fail "POST body: $(cat "$T/r2")"
http /-/reload | tail -1 | grep -qx 'HTTP 405' || fail "GET /-/reload"

# 3. a good config.lua but an adapter that does not load: refused
config '"BTCUSDT"' ""
cp "$T/adapters/binance.lua" "$T/binance.lua.orig"
echo 'this is not lua' >>"$T/adapters/binance.lua"
post_reload >"$T/r3"
tail -1 "$T/r3" | grep -qx 'HTTP 422' || fail "POST with a broken adapter: $(cat "$T/r3")"
grep -q '"message":"adapters: adapter .binance.: ' "$T/r3" || fail "broken adapter message: $(cat "$T/r3")"
more_quotes "after a refused adapter"

# 4. an edited adapter (spot volume and quote volume swapped): applied to the next frames, with
#    the connection kept
sed 's/candle.volume, candle.quote_volume = v, q/candle.volume, candle.quote_volume = q, v/' \
    "$T/binance.lua.orig" >"$T/adapters/binance.lua"
grep -q 'candle.quote_volume = q, v' "$T/adapters/binance.lua" || fail "adapter edit did not apply"
before=$(quotes)
kill -HUP "$SERVE_PID"
n=0
until grep -q '"msg":"reloaded"' "$SERVE_LOG"; do
    n=$((n + 1)); [ $n -lt 200 ] || fail "adapter reload not logged: $(tail -3 "$SERVE_LOG")"; sleep 0.05
done
http /ready >"$T/r4"
grep -q ',"reload":{"result":"ok","message":"","at_ms":[0-9]*,"duration_ms":[0-9.]*,"streams_added":0,"streams_removed":0,"connections_restarted":0,"restart_required":\[\],"requests":1}}$' "$T/r4" \
    || fail "reload result: $(cat "$T/r4")"
more_quotes "after the adapter reload"
more_quotes "after the adapter reload"
# volume > quote_volume only with the swap (prices are far above 1)
$PYTHON - "$T/c" "$before" <<'PY' || fail "mapping change not seen: $(tail -3 "$T/c")"
import json, sys
qs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{"type":"quote"')]
before = int(sys.argv[2])
swapped = [float(q["volume"]) > float(q["quote_volume"]) for q in qs]
assert not any(swapped[:before - 1]), "swapped before the reload"
tail = swapped[before + 1:]
assert tail and all(tail), "not swapped after the reload: %s" % swapped[before:]
PY

# 5. subscriptions: XRPUSDT added (pinned), BTCUSDT removed (released after the linger); a key
#    that needs a restart is reported and keeps its running value
config '"XRPUSDT"' ", max_clients = 5"
kill -HUP "$SERVE_PID"
n=0
until grep -q '"msg":"reloaded","streams_added":"1","streams_removed":"1","connections_restarted":"0"' "$SERVE_LOG"; do
    n=$((n + 1)); [ $n -lt 200 ] || fail "subscription reload not logged: $(tail -3 "$SERVE_LOG")"; sleep 0.05
done
grep -q '"msg":"reload: these keys changed but apply only after a restart; their running values stay","keys":"server.max_clients"' "$SERVE_LOG" \
    || fail "restart-only key not reported"
http /ready >"$T/ready"
grep -q '"reload":{"result":"ok",.*"streams_added":1,"streams_removed":1,.*"restart_required":\["server.max_clients"\]' "$T/ready" \
    || fail "/ready after the subscription reload: $(cat "$T/ready")"
streams_up 2 # ETHUSDT (the client) + XRPUSDT; BTCUSDT gone after the linger
http /metrics >"$T/metrics"
grep -qx 'connector_reloads_total{result="ok"} 2' "$T/metrics" || fail "ok reloads: $(grep reloads_total "$T/metrics")"
grep -qx 'connector_config_last_reload_successful 1' "$T/metrics" || fail "last reload gauge after ok"
grep -q '^connector_reload_duration_seconds [0-9]' "$T/metrics" || fail "no reload duration"
grep -qx 'connector_reconnections_total{exchange="binance",contract_type="spot"} 0' "$T/metrics" \
    || fail "an upstream reconnected: $(grep reconnections "$T/metrics")"
sed '$d' "$T/metrics" >"$T/metrics.txt"
promtool check metrics <"$T/metrics.txt" || fail "promtool check metrics"
more_quotes "after the subscription reload"

# 6. an endpoint that changed: that market's connection is restarted (what it missed meanwhile
#    is backfilled: the client's closed candles below stay consecutive)
sed -i "s|ws://127.0.0.1:$SIM_PORT/ws|ws://localhost:$SIM_PORT/ws|" "$T/config.lua"
post_reload >"$T/r6"
grep -q '^{"result":"ok",.*"streams_added":0,"streams_removed":0,"connections_restarted":1,' "$T/r6" \
    || fail "endpoint reload: $(cat "$T/r6")"
more_quotes "after the endpoint reload"
more_quotes "after the endpoint reload"

stop_serve || fail "serve exited $SERVE_EXIT"
wait $pc || true
stop_sim
# one upstream connection until the endpoint changed, then one more; 3 streams subscribed (BTC,
# ETH, XRP), BTC unsubscribed once; ETH and XRP subscribed again on the new connection
grep -q '"clients":2,' "$SIM_LOG" || fail "upstream connections: $(tail -1 "$SIM_LOG")"
grep -q '"ws_upgrades":2,"subscribes":5,"unsubscribes":1}' "$SIM_LOG" || fail "subscriptions: $(tail -1 "$SIM_LOG")"
# the client's closed candles: exactly once, consecutive seconds
$PYTHON - "$T/c" <<'PY' || fail "client closed candles"
import json, sys
ts = [json.loads(l)["timestamp"] for l in open(sys.argv[1]) if l.startswith('{"type":"quote"') and '"is_closed":true' in l]
assert len(ts) >= 5, ts
assert all(b - a == 1000 for a, b in zip(ts, ts[1:])), ts
PY
echo "ok: broken config and adapter refused while serving; adapter edit applied without reconnect; subscriptions diffed; restart-only key reported; endpoint change restarted one connection, nothing lost"

#!/bin/bash
# Offline demo: candled-sim plays Binance spot, `candled serve` streams it, examples/client.py
# prints live quotes.  Nothing leaves this machine.  After `make build`:
#
#   examples/demo.sh [QUOTES]        (default 10; BUILD=dir if not build/)
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
N=${1:-10}
T=$(mktemp -d "${TMPDIR:-/tmp}/candled-demo.XXXXXX")
SIM='' SERVE=''
cleanup() {
    [ -n "$SERVE" ] && kill -TERM "$SERVE" 2>/dev/null && wait "$SERVE" 2>/dev/null
    [ -n "$SIM" ] && kill -TERM "$SIM" 2>/dev/null && wait "$SIM" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
wait_for() { # file, seconds
    for _ in $(seq $(( $2 * 20 ))); do [ -s "$1" ] && return 0; sleep 0.05; done
    echo "demo: $1 did not appear" >&2
    return 1
}

"$BUILD/candled-sim" --exchange binance --symbols BTCUSDT,ETHUSDT --interval 1s --rate 2 --port 0 \
    --port-file "$T/sim.port" >/dev/null 2>"$T/sim.log" &
SIM=$!
wait_for "$T/sim.port" 10
sim_port=$(cat "$T/sim.port")
cat >"$T/config.lua" <<CONF
return {
  server = { host = "127.0.0.1", port = 0, health_port = 0 },
  exchanges = { binance = { spot = { ws_url = "ws://127.0.0.1:$sim_port/ws",
                                     rest_url = "http://127.0.0.1:$sim_port" } } },
  subscriptions = { { exchange = "binance", market = "spot", symbols = { "BTCUSDT" }, interval = "1s" } },
}
CONF
"$BUILD/candled" serve --config "$T/config.lua" --port-file "$T/ports.json" 2>"$T/serve.log" &
SERVE=$!
wait_for "$T/ports.json" 10
read -r ws_port health_port < <(/usr/bin/python3 -c 'import json, sys; p = json.load(open(sys.argv[1]))
print(p["ws_port"], p["health_port"])' "$T/ports.json")
echo "demo: candled-sim on $sim_port, candled serve on ws://127.0.0.1:$ws_port/ (admin :$health_port)" >&2
/usr/bin/python3 examples/client.py --url "ws://127.0.0.1:$ws_port/" --interval 1s --count "$N" BTCUSDT ETHUSDT
echo "demo: /ready says $(/usr/bin/python3 -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "http://127.0.0.1:$health_port/ready")" >&2

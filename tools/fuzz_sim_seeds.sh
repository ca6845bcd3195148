#!/bin/sh
# fuzz_sim_seeds.sh - regenerates tests/fixtures/sim/<exchange>_<market>.jsonl: WebSocket frames
# candled-sim renders (seed 1, rate 4), one a line, the fuzzing's seeds beside the recorded
# fixtures (tests/unit/test_fuzz_adapters.c).  For each market the simulator serves a stream to
# `candled stream` for 8 quotes and --record keeps every candle frame it generated (Hyperliquid's
# record is the bare candle object: wrapped here the way the simulator sends it).
#   usage: tools/fuzz_sim_seeds.sh [BUILD_DIR]      (default: build)
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build}
OUT=$SRC/tests/fixtures/sim
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"

# one market: exchange market symbols ws-path
capture() {
    ex=$1 market=$2 syms=$3 path=$4
    "$BUILD/candled-sim" --exchange "$ex" --market "$market" --symbols "$syms" --interval 1m --rate 4 --seed 1 \
        --record "$TMP/rec" --port 0 >"$TMP/sim.out" 2>"$TMP/sim.err" &
    pid=$!
    port=
    for _ in $(seq 100); do
        read -r line <"$TMP/sim.out" 2>/dev/null || line=
        case $line in "PORT "*) port=${line#PORT }; break ;; esac
        sleep 0.1
    done
    [ -n "$port" ] || { kill "$pid"; echo "candled-sim $ex did not start" >&2; exit 1; }
    # shellcheck disable=SC2046
    timeout 60 "$BUILD/candled" stream "$ex" $(echo "$syms" | tr , ' ') --market "$market" --limit 8 \
        --ws-url "ws://127.0.0.1:$port$path" --rest-url "http://127.0.0.1:$port" >/dev/null 2>"$TMP/err" ||
        { kill "$pid"; cat "$TMP/err" >&2; exit 1; }
    kill "$pid"
    wait "$pid" || true
    if [ "$ex" = hyperliquid ]; then
        sed 's/^/{"channel":"candle","data":/; s/$/}/' "$TMP/rec" >"$OUT/${ex}_$market.jsonl"
    else
        cp "$TMP/rec" "$OUT/${ex}_$market.jsonl"
    fi
    rm -f "$TMP/rec"
    echo "$OUT/${ex}_$market.jsonl: $(wc -l <"$OUT/${ex}_$market.jsonl") frames"
}

capture binance spot BTCUSDT,ETHUSDT /ws
capture binance usdm BTCUSDT /ws
capture binance coinm BTCUSD_PERP /ws
capture okx spot BTC-USDT /ws/v5/business
capture okx swap BTC-USDT-SWAP /ws/v5/business
capture bybit spot BTCUSDT /v5/public/spot
capture bybit linear BTCUSDT /v5/public/linear
capture bybit inverse BTCUSD /v5/public/inverse
capture gateio spot BTC_USDT /ws/v4/
capture gateio usdt BTC_USDT /v4/ws/usdt
capture hyperliquid perp BTC /ws
capture hyperliquid spot @107 /ws
echo "new frames: rewrite their goldens (make golden DIR=sim) and review them (docs/adapters.md, \"Golden files\")"

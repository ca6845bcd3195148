#!/bin/sh
# Benchmarks (not tests): print figures; record them in docs/performance.md.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
echo "== candled stream vs candled-sim --flood (Binance klines over loopback)"
/usr/bin/python3 tests/bench/bench_stream.py "$BUILD" "$@"
echo "== candled serve fan-out: 1,000 Binance streams of 1s candles, 1/10/100 clients on all of them"
/usr/bin/python3 tests/bench/bench_serve.py "$BUILD"
echo "== the same simulator, one client on it directly (the simulator's own share of the latency)"
/usr/bin/python3 tests/bench/bench_serve.py "$BUILD" --direct --clients 1
echo "== candled serve fan-out under a flood (throughput only)"
/usr/bin/python3 tests/bench/bench_serve.py "$BUILD" --flood --seconds 5
echo "== candled serve reload pause: 1,000 pinned streams, 20 reloads"
/usr/bin/python3 tests/bench/bench_reload.py "$BUILD"
if [ -f tests/bench/bench_lua_parse.lua ]; then
    echo "== adapter parse alone (Lua, no sockets)"
    lua5.4 tests/bench/bench_lua_parse.lua "$BUILD"
fi

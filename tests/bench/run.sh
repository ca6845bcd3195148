#!/bin/sh
# Benchmarks (not tests): print figures; record them in docs/performance.md.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
echo "== candled stream vs candled-sim --flood (Binance klines over loopback)"
/usr/bin/python3 tests/bench/bench_stream.py "$BUILD" "$@"
echo "== candled serve fan-out: one flooded upstream, many WebSocket clients"
/usr/bin/python3 tests/bench/bench_serve.py "$BUILD"
echo "== candled serve reload pause: 1,000 pinned streams, 20 reloads"
/usr/bin/python3 tests/bench/bench_reload.py "$BUILD"
if [ -f tests/bench/bench_lua_parse.lua ]; then
    echo "== adapter parse alone (Lua, no sockets)"
    lua5.4 tests/bench/bench_lua_parse.lua "$BUILD"
fi

#!/bin/sh
# Usage errors exit 2 with one clear line on stderr; --help and --version exit 0.
set -eu
CANDLED="$CDL_BUILD_DIR/candled"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

expect() { # expect CODE "stderr line" ARGS...
    want_rc=$1 want_err=$2
    shift 2
    rc=0
    "$CANDLED" "$@" >"$T/out" 2>"$T/err" || rc=$?
    if [ "$rc" != "$want_rc" ]; then
        echo "FAIL: candled $* exited $rc, expected $want_rc"; cat "$T/err"; exit 1
    fi
    if [ -n "$want_err" ]; then
        if [ "$(wc -l <"$T/err")" != 1 ] || [ "$(cat "$T/err")" != "$want_err" ]; then
            echo "FAIL: candled $*: stderr was:"; cat "$T/err"; echo "expected: $want_err"; exit 1
        fi
    fi
}

printf 'return { server = { port = 0, health_port = 0 }, subscriptions = { { exchange = "binance", market = "coinm", symbols = { "BTCUSD_PERP" }, interval = "1s" } } }\n' >"$T/sub1s.lua"
printf 'return { server = { port = 0, health_port = 0 }, subscriptions = { { exchange = "binance", symbols = { "BTCUSDT", "BTC/USDT" } } } }\n' >"$T/badsym.lua"
expect 0 "" --version
grep -qx 'candled [0-9.]*' "$T/out"
expect 0 "" --help
grep -q 'candled stream EXCHANGE SYMBOL' "$T/out"
expect 2 "candled: unknown command 'fly' (try --help)" fly
expect 2 "candled: unknown option '--colour' (try --help)" stream binance BTCUSDT --colour
expect 2 "candled: unknown exchange 'nope' (no $CDL_SOURCE_DIR/adapters/nope.lua)" stream nope BTCUSDT
expect 2 "candled: unknown market 'margin' for binance" stream binance BTCUSDT --market margin
expect 2 "candled: interval '1s' is not supported by binance coinm" stream binance BTCUSD_PERP --market coinm --interval 1s
expect 2 "candled: unknown interval '7m'" stream binance BTCUSDT --interval 7m
expect 2 "candled: stream: missing SYMBOL after 'binance'" stream binance
expect 2 "candled: --limit: expected a non-negative integer, got 'ten'" stream binance BTCUSDT --limit ten
expect 2 "candled: --format: expected jsonl or csv, got 'xml'" stream binance BTCUSDT --format xml
expect 2 "candled: option '--market' needs a value" stream binance BTCUSDT --market
expect 2 "candled: --ws-url: expected a ws:// or wss:// URL, got 'http://x'" stream binance BTCUSDT --ws-url http://x
expect 2 "candled: invalid symbol 'BTC/USDT' for binance spot: symbol must match [A-Z0-9_]+" stream binance BTC/USDT
expect 2 "candled: --from-config takes no --market: the subscriptions in the configuration say it" \
    stream --from-config --config "$T/sub1s.lua" --market spot
expect 2 "candled: --from-config takes no --interval: the subscriptions in the configuration say it" \
    stream --from-config --config "$T/sub1s.lua" --interval 1m
expect 0 "" check --help
grep -q 'candled check' "$T/out"
printf 'return { server = { port = "x" } }\n' >"$T/bad.lua"
expect 2 "candled: $T/bad.lua: server.port: expected an integer, got string" stream binance BTCUSDT --config "$T/bad.lua"
# serve: flags and config.lua's subscriptions are checked before anything listens
expect 2 "candled: serve: unknown argument '--colour' (try --help)" serve --colour
expect 2 "candled: expected a port number 0..65535, got '70000'" serve --port 70000
expect 2 "candled: option '--health-port' needs a value" serve --health-port
expect 2 "candled: subscriptions[1]: interval '1s' is not supported by binance coinm" serve --config "$T/sub1s.lua"
expect 2 "candled: subscriptions[1].symbols[2]: invalid symbol 'BTC/USDT' for binance spot: symbol must match [A-Z0-9_]+" \
    serve --config "$T/badsym.lua"
ln -s "$CANDLED" "$T/connector-wss"
rc=0
"$T/connector-wss" --help >"$T/out" 2>&1 || rc=$?
[ $rc = 0 ] && grep -q 'candled serve  \[--config FILE\]' "$T/out" || { echo "FAIL: connector-wss --help"; cat "$T/out"; exit 1; }
# check validates the shipped configuration and every adapter
expect 0 "" check --config "$CDL_SOURCE_DIR/config.lua"
grep -q '^adapter binance: ok (3 markets)$' "$T/out"
printf 'return { subscriptions = { { exchange = "binance", market = "coinm", symbols = { "BTCUSD_PERP" }, interval = "1s" } } }\n' >"$T/sub.lua"
mkdir -p "$T/cfg" && cp "$T/sub.lua" "$T/cfg/config.lua"
rc=0
"$CANDLED" check --config "$T/sub.lua" >"$T/out" 2>"$T/err" || rc=$?
[ $rc = 1 ] || { echo "FAIL: check on a bad subscription exited $rc"; cat "$T/err"; exit 1; }
echo "ok: usage errors"

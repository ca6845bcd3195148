#!/bin/sh
# `candled stream` under valgrind memcheck, through a reconnect and a REST backfill: no invalid
# access, no uninitialised use, and nothing left allocated at exit (the lws context destroyed
# twice, every uv handle closed).  Skipped in the sanitizer build (ASan and valgrind exclude
# each other).
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
skip_in_sanitizer_build
T="$E2E_TMP"
start_sim --exchange binance --symbols BTCUSDT,ETHUSDT --interval 1s --rate 4 --disconnect-after 25
rc=0
timeout 200 valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=all --show-leak-kinds=all \
    "$CDL_BUILD_DIR/candled" stream binance BTCUSDT ETHUSDT --interval 1s --limit 50 \
    --ws-url "ws://127.0.0.1:$SIM_PORT/ws" --rest-url "http://127.0.0.1:$SIM_PORT" >"$T/out" 2>"$T/err" || rc=$?
stop_sim || true
if [ $rc -ne 0 ]; then
    echo "FAIL: valgrind/candled exited $rc"
    grep -E '==[0-9]+==' "$T/err" | head -60
    exit 1
fi
grep -q 'in use at exit: 0 bytes in 0 blocks' "$T/err" || { echo "FAIL: memory left at exit"; grep -E '==[0-9]+==' "$T/err" | tail -20; exit 1; }
grep '"msg":"stream finished"' "$T/err" | grep -q 'connector_reconnections_total:binance,spot=[1-9]' \
    || { echo "FAIL: no reconnect happened"; exit 1; }
[ "$(wc -l <"$T/out")" = 50 ] || { echo "FAIL: expected 50 quotes"; exit 1; }
echo "ok: valgrind clean through a reconnect and backfill, 0 bytes in use at exit"

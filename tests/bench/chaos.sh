#!/bin/sh
# The longer chaos run (issue #3): the e2e chaos tests (candled stream, then candled serve with a
# WebSocket client) for longer and with more symbols, printing
# the figures docs/reliability.md records (faults injected, candles checked, holes, gaps, RSS
# over time).  CHAOS_SECONDS (default 300) and CHAOS_SYMBOLS (default 100) size it.
set -eu
cd "$(dirname "$0")/../.."
export CDL_SOURCE_DIR="$PWD" CDL_BUILD_DIR="$PWD/${BUILD:-build}"
export CHAOS_SECONDS="${CHAOS_SECONDS:-300}" CHAOS_SYMBOLS="${CHAOS_SYMBOLS:-100}" CHAOS_SAMPLE="${CHAOS_SAMPLE:-30}"
bash tests/e2e/test_chaos.sh
# the same faults through `candled serve` to a WebSocket client, as wide and about as long
CHAOS_SERVE_SYMBOLS="$CHAOS_SYMBOLS" CHAOS_SERVE_PER_SYMBOL=$((CHAOS_SECONDS - 10)) PYTHONDONTWRITEBYTECODE=1 \
    exec /usr/bin/python3 -m pytest -q -s -p no:cacheprovider tests/e2e/test_serve_chaos.py

#!/bin/bash
# A hole of more than 64 periods (the old page cap) on Binance spot is filled with one full-size
# REST page (1000 rows), exact against the simulator's truth: see bighole.sh.  The simulator pings
# every second and drops a connection silent for 5 s; candled is stopped for 110 s of exchange
# time (11 s: a test clock ten times as fast).
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
. "$CDL_SOURCE_DIR/tests/e2e/bighole.sh"
# waiting that the sanitizer build would repeat to no purpose: full-size pages go
# through the same C under ASan in tests/unit/test_lua_host_binance.c (1,500 and 1,600 rows)
skip_in_sanitizer_build
use_test_clock 10
big_hole binance spot BTCUSDT /ws 110 1000 64 90 --ping-interval 1 --idle-disconnect 5

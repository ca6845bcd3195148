#!/bin/bash
# OKX 1s candles come only from history-candles, 100 rows a page (the adapter asks no more,
# whatever rows the sequencer wants): a hole of more than 100 periods takes exactly
# ceil(hole / 100) pages, the short first page followed at once by the rest, no gap, exact
# against the simulator's truth: see bighole.sh.  The simulator pings every second (OKX does
# not: here the pongs keep the keeper's connection alive) and drops a connection silent for 5 s;
# candled is stopped for 150 s of exchange time (15 s: a test clock ten times as fast).
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
. "$CDL_SOURCE_DIR/tests/e2e/bighole.sh"
# waiting that the sanitizer build would repeat to no purpose: full-size pages go
# through the same C under ASan in tests/unit/test_lua_host_binance.c (1,500 and 1,600 rows)
skip_in_sanitizer_build
use_test_clock 10
big_hole okx spot BTC-USDT /ws/v5/business 150 100 100 135 --ping-interval 1 --idle-disconnect 5

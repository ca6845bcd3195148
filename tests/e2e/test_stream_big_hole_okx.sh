#!/bin/bash
# OKX 1s candles come only from history-candles, 100 rows a page (the adapter asks no more,
# whatever rows the sequencer wants): a hole of more than 100 periods takes exactly
# ceil(hole / 100) pages, the short first page followed at once by the rest, no gap, exact
# against the simulator's truth: see bighole.sh.  candled pings every 20 s; the simulator drops
# a connection silent for 25 s; candled is stopped for 150 s.
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
. "$CDL_SOURCE_DIR/tests/e2e/bighole.sh"
# two minutes of waiting that the sanitizer build would repeat to no purpose: full-size pages go
# through the same C under ASan in tests/unit/test_lua_host_binance.c (1,500 and 1,600 rows)
skip_in_sanitizer_build
big_hole okx spot BTC-USDT /ws/v5/business 150 100 100 135 --idle-disconnect 25

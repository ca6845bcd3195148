#!/bin/bash
# The REST weight budget per host, end to end against candled-sim (Binance spot: klines weight 2
# of 6000 a minute).  With rest.budget_fraction = 0.02 candled allows itself 120 a minute, a
# burst of a second's worth (2): one request a second.  8 streams share one connection, and the
# simulator skips every 12th second's close of every stream (the same second for all), so every
# 12 s the sequencer asks for 8 backfill pages at once.  They must reach the simulator spread to the budget - never more than
# 2 within one wall-clock second (1 a second, plus a boundary) where an unbudgeted burst is 8 -
# having waited in order, and every close must still be exact, with no gap.
# The 1s periods run on a test clock twice as fast: a burst every 6 s of real time, so pages
# queue up behind the budget (real time, 1 a second) a little longer; the hold is kept at 30 s
# of real time.
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
T="$E2E_TMP"
use_test_clock 2
syms="BTCUSDT ETHUSDT BNBUSDT XRPUSDT ADAUSDT SOLUSDT DOTUSDT LTCUSDT"
start_sim --exchange binance --symbols "$(echo $syms | tr ' ' ,)" --interval 1s --rate 1 --skip-close-every 12 \
    --truth "$T/truth"
printf 'return { rest = { budget_fraction = 0.02 } }\n' >"$T/budget.lua"
rc=0
# shellcheck disable=SC2086
CONNECTOR_SEQUENCER_HOLD_SECONDS=$((30 * CLOCK_RATE)) CONNECTOR_LOG_LEVEL=debug timeout -k 5 200 "$CDL_BUILD_DIR/candled" stream binance $syms --interval 1s --closed-only \
    --limit 320 --config "$T/budget.lua" --ws-url "ws://127.0.0.1:$SIM_PORT/ws" --rest-url "http://127.0.0.1:$SIM_PORT" \
    >"$T/out" 2>"$T/err" || rc=$?
stop_sim || true
[ $rc -eq 0 ] || { tail -20 "$T/err"; fail "candled exited $rc"; }
$PYTHON "$CDL_SOURCE_DIR/tests/e2e/truth.py" "$T/truth" "$T/out" --exchange binance --market spot --min-symbols 8 \
    --min-closed 320 --max-gaps 0 >"$T/check" || fail "closed candles wrong"
sim() { grep -o "\"$1\":[0-9]*" "$SIM_LOG" | tail -1 | cut -d: -f2; }
reqs=$(sim rest_requests)
peak=$(sim rest_peak_per_sec)
sent=$(grep -c '"msg":"REST request sent"' "$T/err" || true)
waited=$(grep -c '"msg":"REST request waits for the host'"'"'s budget"' "$T/err" || true)
[ "$(sim skipped_closes)" -ge 16 ] || fail "fewer than 2 bursts of skipped closes"
[ "$reqs" -ge 16 ] || fail "only $reqs REST requests: no bursts of backfills"
[ "$reqs" = "$sent" ] || fail "the simulator saw $reqs REST requests, candled sent $sent"
[ "$peak" -le 2 ] || fail "$peak REST requests within one second, the budget allows 1 a second"
[ "$waited" -ge 1 ] || fail "no request waited for the budget"
summary=$(grep '"msg":"stream finished"' "$T/err")
echo "$summary" | grep -q "connector_rest_budget_waits_total:127.0.0.1:$SIM_PORT=$waited" \
    || { echo "$summary"; fail "connector_rest_budget_waits_total is not $waited"; }
# in order: the requests that waited went out in the order they first waited (their queue order);
# candled exits at --limit with the last burst's pages maybe still waiting (cancelled)
grep -E '"msg":"REST request (sent|waits for the host'"'"'s budget)"' "$T/err" | $PYTHON -c '
import json, sys
waited, sent = [], []
for line in sys.stdin:
    e = json.loads(line)
    if e["msg"] == "REST request sent":
        sent.append(e["url"])
    elif e["url"] not in waited:
        waited.append(e["url"])
sent = [u for u in sent if u in waited]
if sent != waited[:len(sent)] or len(waited) - len(sent) > 8:  # the last ones may be cancelled at exit
    for i, (a, b) in enumerate(zip(waited, sent)):
        if a != b:
            print("waited #%d %s\nsent   #%d %s" % (i, a, i, b), file=sys.stderr)
            break
    print("%d waited, %d of them sent" % (len(waited), len(sent)), file=sys.stderr)
    sys.exit(1)
' || fail "requests that waited for the budget were not sent in order"
echo "ok: $reqs backfill requests, at most $peak in one second, $waited waited for the budget: $(cat "$T/check")"

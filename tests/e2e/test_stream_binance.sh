#!/bin/sh
# End to end: candled-sim (Binance protocol) -> `candled stream` -> exact quotes, for every
# Binance market, checked byte for byte against the frames the simulator recorded as it sent them.
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
T="$E2E_TMP"
CANDLED="$CDL_BUILD_DIR/candled"
QUOTES="/usr/bin/python3 $CDL_SOURCE_DIR/tests/e2e/quotes.py"

for market in spot usdm coinm; do
    case $market in
    coinm) syms="BTCUSD_PERP ETHUSD_PERP" ;;
    *) syms="BTCUSDT ETHUSDT" ;;
    esac
    start_sim --exchange binance --symbols "$(echo $syms | tr ' ' ,)" --interval 1m --rate 4 --record "$T/rec.$market"
    rc=0
    # shellcheck disable=SC2086
    timeout 60 "$CANDLED" stream binance $syms --market $market --limit 10 \
        --ws-url "ws://127.0.0.1:$SIM_PORT/ws" --rest-url "http://127.0.0.1:$SIM_PORT" \
        >"$T/out.$market" 2>"$T/err.$market" || rc=$?
    stop_sim
    if [ $rc -ne 0 ]; then
        echo "FAIL: candled stream --market $market exited $rc"; cat "$T/err.$market"; exit 1
    fi
    $QUOTES check --market $market --count 10 "$T/rec.$market" "$T/out.$market"
    # both symbols were streamed, echoed as written
    for s in $syms; do
        grep -q "\"symbol\":\"$s\"" "$T/out.$market" || { echo "FAIL: no quote for $s ($market)"; exit 1; }
    done
    grep -q '"msg":"stream finished","quotes":"10"' "$T/err.$market" || { echo "FAIL: no summary"; cat "$T/err.$market"; exit 1; }
done

# CSV and the predecessor's name, closed candles only on a 1s interval
start_sim --exchange binance --symbols BTCUSDT --interval 1s --rate 2 --record "$T/rec.csv"
ln -s "$CANDLED" "$T/connector-cli"
rc=0
timeout 60 "$T/connector-cli" binance BTCUSDT --interval 1s --closed-only --limit 3 --format csv \
    --ws-url "ws://127.0.0.1:$SIM_PORT/ws" >"$T/out.csv" 2>"$T/err.csv" || rc=$?
stop_sim
[ $rc -eq 0 ] || { echo "FAIL: connector-cli exited $rc"; cat "$T/err.csv"; exit 1; }
head -1 "$T/out.csv" | grep -qx 'exchange,contract_type,symbol,interval,timestamp,open,high,low,close,volume,is_closed,close_time,quote_volume,trades' \
    || { echo "FAIL: csv header"; cat "$T/out.csv"; exit 1; }
[ "$(tail -n +2 "$T/out.csv" | grep -c ',true,')" = 3 ] || { echo "FAIL: expected 3 closed rows"; cat "$T/out.csv"; exit 1; }
# consecutive seconds, strictly increasing
tail -n +2 "$T/out.csv" | awk -F, 'NR > 1 && $5 != prev + 1000 { print "FAIL: not consecutive: " prev " then " $5; exit 1 } { prev = $5 }'
# symbols are echoed as the user wrote them; two spellings of one stream are one stream; the
# server's WebSocket pings (every second here) are answered with pongs, which keeps the
# connection alive under the simulator's idle rule (a silent client is dropped after 2 s)
start_sim --exchange binance --symbols BTCUSDT --interval 1s --rate 4 --ping-interval 1 --idle-disconnect 2
timeout 60 "$CANDLED" stream binance btcusdt BTCUSDT --interval 1s --limit 12 \
    --ws-url "ws://127.0.0.1:$SIM_PORT/ws" >"$T/out.case" 2>"$T/err.case"
stop_sim
[ "$(grep -c '"symbol":"btcusdt"' "$T/out.case")" = 12 ] || { echo "FAIL: symbol not echoed as written"; cat "$T/out.case"; exit 1; }
grep -q '"pongs":[1-9]' "$SIM_LOG" || { echo "FAIL: pings not answered"; tail -2 "$SIM_LOG"; exit 1; }
grep -q '"clients":1,.*"idle_drops":0[,}]' "$SIM_LOG" || { echo "FAIL: connection not kept alive by pongs"; tail -2 "$SIM_LOG"; exit 1; }
# the idle rule itself: without server pings candled sends nothing after subscribing, so it is dropped
start_sim --exchange binance --symbols BTCUSDT --interval 1s --rate 4 --ping-interval 0 --idle-disconnect 1
timeout 60 "$CANDLED" stream binance BTCUSDT --interval 1s --limit 12 \
    --ws-url "ws://127.0.0.1:$SIM_PORT/ws" >"$T/out.idle" 2>"$T/err.idle"
stop_sim
grep -q '"idle_drops":[1-9]' "$SIM_LOG" || { echo "FAIL: the simulator's idle rule did not drop a silent client"; tail -2 "$SIM_LOG"; exit 1; }

# without --limit it runs until SIGTERM/SIGINT, then exits 0 with every line complete
for sig in TERM INT; do
    start_sim --exchange binance --symbols BTCUSDT --interval 1s --rate 10 --record "$T/rec.$sig"
    : >"$T/out.$sig"
    "$CANDLED" stream binance BTCUSDT --interval 1s --ws-url "ws://127.0.0.1:$SIM_PORT/ws" >"$T/out.$sig" 2>"$T/err.$sig" &
    pid=$!
    n=0
    while [ "$(wc -l <"$T/out.$sig")" -lt 5 ] && [ $n -lt 200 ]; do sleep 0.05; n=$((n + 1)); done
    kill -$sig $pid
    rc=0
    wait $pid || rc=$?
    stop_sim
    [ $rc -eq 0 ] || { echo "FAIL: SIG$sig: exit $rc"; tail -5 "$T/err.$sig"; exit 1; }
    $QUOTES check --market spot "$T/rec.$sig" "$T/out.$sig" >/dev/null
    grep -q "\"reason\":\"SIG$sig\"" "$T/err.$sig" || { echo "FAIL: no SIG$sig log line"; exit 1; }
    grep -q "\"msg\":\"stream finished\",\"quotes\":\"$(wc -l <"$T/out.$sig")\"" "$T/err.$sig" \
        || { echo "FAIL: SIG$sig: summary does not count the quotes written"; tail -2 "$T/err.$sig"; exit 1; }
done

# a bad test clock (core/clock.h) stops candled and the simulator at start-up: exit 2, one line
for bin in candled candled-sim; do
    rc=0
    CDL_TEST_CLOCK=1765000000000x0 "$CDL_BUILD_DIR/$bin" stream binance BTCUSDT >/dev/null 2>"$T/err.clock" || rc=$?
    [ $rc -eq 2 ] || { echo "FAIL: $bin with a bad CDL_TEST_CLOCK: exit $rc, expected 2"; exit 1; }
    [ "$(cat "$T/err.clock")" = "$bin: CDL_TEST_CLOCK=1765000000000x0: the rate must be above 0 and at most 1000" ] \
        || { echo "FAIL: $bin with a bad CDL_TEST_CLOCK: $(cat "$T/err.clock")"; exit 1; }
done

echo "ok: spot, usdm, coinm and csv/closed-only streams are exact; SIGTERM/SIGINT exit 0; a bad test clock refused"

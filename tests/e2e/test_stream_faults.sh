#!/bin/sh
# Bad input from the exchange: garbage and truncated frames, frames of the wrong shape,
# oversize frames, duplicates, reordering and disconnects.  The stream must go on, every quote
# must be exact, closed candles must stay unique and ordered, and every fault must be counted.
# The three parts run side by side, each with its own simulator.
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
T="$E2E_TMP"
CANDLED="$CDL_BUILD_DIR/candled"
QUOTES="/usr/bin/python3 $CDL_SOURCE_DIR/tests/e2e/quotes.py"

frames() {
start_sim --exchange binance --symbols BTCUSDT,ETHUSDT --interval 1s --rate 4 --record "$T/rec" \
    --garbage-every 5 --duplicate-every 4 --reorder-every 9 --oversize-every 13 --oversize-bytes 1500000 \
    --disconnect-after 45
echo "$SIM_PID" >>"$T/pids"
rc=0
timeout 90 "$CANDLED" stream binance BTCUSDT ETHUSDT --interval 1s --limit 120 \
    --ws-url "ws://127.0.0.1:$SIM_PORT/ws" --rest-url "http://127.0.0.1:$SIM_PORT" >"$T/out" 2>"$T/err" || rc=$?
[ $rc -eq 0 ] || { echo "FAIL: candled exited $rc"; tail -20 "$T/err"; exit 1; }
[ "$(wc -l <"$T/out")" = 120 ] || { echo "FAIL: expected 120 quotes"; exit 1; }
$QUOTES check-set --market spot --no-holes --rest "http://127.0.0.1:$SIM_PORT" "$T/rec" "$T/out"
stop_sim || true
summary=$(grep '"msg":"stream finished"' "$T/err")
for want in 'connector_frames_rejected_total:binance,spot,bad_json=' \
            'connector_frames_rejected_total:binance,spot,bad_field=' \
            'connector_frames_rejected_total:binance,spot,oversize=' \
            'connector_duplicates_filtered_total:binance,spot=' \
            'connector_reconnections_total:binance,spot='; do
    echo "$summary" | grep -q "$want[1-9]" || { echo "FAIL: not counted: $want"; echo "$summary"; exit 1; }
done
# the quotes counted are exactly the quotes written
counted=$(echo "$summary" | grep -o 'connector_quotes_processed_total:binance,spot,[a-z]*=[0-9]*' | awk -F= '{ n += $2 } END { print n }')
[ "$counted" = 120 ] || { echo "FAIL: counted $counted quotes, wrote 120"; exit 1; }
# rejections are logged, but rate-limited: far fewer lines than rejected frames
n_logged=$(grep -c '"msg":"frame rejected"' "$T/err" || true)
[ "$n_logged" -ge 1 ] && [ "$n_logged" -le 7 ] || { echo "FAIL: $n_logged 'frame rejected' log lines"; exit 1; }
# ... and none is lost: lines + their "suppressed" counts (the last in a summary line at exit) =
# every rejection logged under that message (all but oversize frames and adapter errors)
rejected=$(echo "$summary" | grep -o 'connector_frames_rejected_total:binance,spot,[a-z_]*=[0-9]*' \
    | grep -v ',oversize=\|,adapter_error=' | awk -F= '{ n += $2 } END { print n }')
accounted=$(grep '"msg":"frame rejected"' "$T/err" \
    | awk '/"conn":/ { n++ } match($0, /"suppressed":"[0-9]+"/) { n += substr($0, RSTART + 14, RLENGTH - 15) }
           END { print n }')
[ "$accounted" = "$rejected" ] || { echo "FAIL: 'frame rejected' lines account for $accounted, rejected $rejected"; exit 1; }
grep -q '"msg":"frame rejected","suppressed":"[0-9]*"}$' "$T/err" || { echo "FAIL: no summary line at exit"; exit 1; }
echo "ok: faults counted, stream exact: $summary" | cut -c1-400
}

# REST errors during backfill: counted, the stream goes on, and the holes that cannot be filled
# (every third close is skipped) are announced as gap events once the hold deadline passes
rest_errors() {
start_sim --exchange binance --symbols BTCUSDT --interval 1s --rate 4 --record "$T/rec2" \
    --disconnect-after 20 --rest-fail-every 1 --rest-status 500 --skip-close-every 3
echo "$SIM_PID" >>"$T/pids"
rc=0
CONNECTOR_INACTIVITY_TIMEOUT=0.3 CONNECTOR_SEQUENCER_HOLD_SECONDS=2 \
timeout 90 "$CANDLED" stream binance BTCUSDT --interval 1s --limit 40 \
    --ws-url "ws://127.0.0.1:$SIM_PORT/ws" --rest-url "http://127.0.0.1:$SIM_PORT" >"$T/out2" 2>"$T/err2" || rc=$?
stop_sim || true
[ $rc -eq 0 ] || { echo "FAIL: candled exited $rc with REST failures"; tail -20 "$T/err2"; exit 1; }
$QUOTES check-set --market spot --no-holes "$T/rec2" "$T/out2"
grep -q '"type":"gap".*"missing":1,"reason":"timeout"' "$T/out2" || { echo "FAIL: no gap event"; exit 1; }
summary=$(grep '"msg":"stream finished"' "$T/err2")
for want in 'connector_rest_requests_total:binance,spot,500=' 'connector_rest_backfills_total:binance,spot,failed=' \
    'connector_gaps_detected_total:binance,spot=' 'connector_gaps_unfilled_total:binance,spot,timeout='; do
    echo "$summary" | grep -q "$want[1-9]" || { echo "FAIL: not counted: $want"; echo "$summary"; exit 1; }
done
grep -q '"msg":"backfill request failed".*"status":"500"' "$T/err2" || { echo "FAIL: REST failure not logged"; exit 1; }
echo "ok: REST failures counted and logged, unfillable holes announced as gaps, stream went on"
}

# A silent (stalled) connection is detected by the idle timer, replaced, and the backfill fills
# what closed meanwhile: no hole.
stall() {
start_sim --exchange binance --symbols BTCUSDT --interval 1s --rate 4 --record "$T/rec3" \
    --stall-after 12 --stall-ms 6000
echo "$SIM_PID" >>"$T/pids"
rc=0
CONNECTOR_IDLE_TIMEOUT=1.5 CONNECTOR_INACTIVITY_TIMEOUT=0.3 timeout 90 "$CANDLED" stream binance BTCUSDT --interval 1s --limit 40 \
    --ws-url "ws://127.0.0.1:$SIM_PORT/ws" --rest-url "http://127.0.0.1:$SIM_PORT" >"$T/out3" 2>"$T/err3" || rc=$?
[ $rc -eq 0 ] || { echo "FAIL: candled exited $rc on a stalled upstream"; tail -20 "$T/err3"; exit 1; }
$QUOTES check-set --market spot --no-holes --rest "http://127.0.0.1:$SIM_PORT" "$T/rec3" "$T/out3"
stop_sim || true
grep -q '"msg":"upstream closing to reconnect".*"reason":"idle timeout"' "$T/err3" \
    || { echo "FAIL: the stall was not detected"; tail -20 "$T/err3"; exit 1; }
grep '"msg":"stream finished"' "$T/err3" | grep -q 'connector_rest_backfills_total:binance,spot,ok=[1-9]' \
    || { echo "FAIL: no backfill after the stall"; exit 1; }
echo "ok: stalled connection replaced, no hole"
}

part frames
part rest_errors
part stall
wait_parts frames rest_errors stall || exit 1

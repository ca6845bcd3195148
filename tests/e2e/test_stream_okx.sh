#!/bin/sh
# End to end: candled-sim (OKX protocol) -> `candled stream okx` -> exact quotes for spot, swap and
# futures, checked byte for byte against the pushes the simulator recorded as it sent them; the
# market inferred from the instrument ids; closed candles once per period; REST backfill
# (newest-first pages, after/before windows) after a disconnect and after a stall; the text ping
# keeping a connection open past OKX's 30 s rule for silent clients.
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
T="$E2E_TMP"
CANDLED="$CDL_BUILD_DIR/candled"
QUOTES="/usr/bin/python3 $CDL_SOURCE_DIR/tests/e2e/quotes.py --exchange okx"
ws() { echo "ws://127.0.0.1:$SIM_PORT/ws/v5/business"; }
rest() { echo "http://127.0.0.1:$SIM_PORT"; }

# 4. keepalive: OKX drops a client silent for 30 s; candled's text pings keep one connection
# open past that (36 closed 1 s candles take over 35 s)
# It takes over 30 s of real time, so it runs in the background from the start, with its own
# simulators: a part (lib.sh).
keepalive() {
    start_sim --exchange okx --symbols BTC-USDT --interval 1s --rate 1 --record "$T/rec.keep"
    echo "$SIM_PID" >>"$T/pids"
    rc=0
    timeout 120 "$CANDLED" stream okx BTC-USDT --interval 1s --closed-only --limit 36 --ws-url "$(ws)" \
        >"$T/out.keep" 2>"$T/err.keep" || rc=$?
    stop_sim || fail "candled-sim exited $SIM_EXIT"
    [ $rc -eq 0 ] || fail "keepalive: candled exited $rc"
    $QUOTES check --market spot --closed-only --count 36 "$T/rec.keep" "$T/out.keep" || fail "keepalive: quotes"
    grep -q '"clients":1,.*"app_pings":[1-9].*"idle_drops":0,' "$SIM_LOG" \
        || fail "keepalive: connection not kept by pings: $(tail -1 "$SIM_LOG")"
    # the rule itself: a client that subscribes and then says nothing is dropped (here after 2 s)
    start_sim --exchange okx --symbols BTC-USDT --interval 1s --rate 1 --idle-disconnect 2
    echo "$SIM_PID" >>"$T/pids"
    $PYTHON "$WSCLIENT" --port "$SIM_PORT" --path /ws/v5/business \
        --send '{"op":"subscribe","args":[{"channel":"candle1s","instId":"BTC-USDT"}]}' --timeout 20 >"$T/out.silent" || true
    stop_sim || fail "candled-sim exited $SIM_EXIT"
    grep -q '^CLOSE 1001 idle timeout' "$T/out.silent" || fail "a silent client was not dropped: $(tail -2 "$T/out.silent")"
    grep -q '"idle_drops":1,' "$SIM_LOG" || fail "idle drop not counted"
    echo "ok: keepalive: one connection kept past the idle rule by candled's pings; a silent client dropped"
}
part keepalive

# 1. every market, with --market, then without it (inferred from the ids)
for market in spot swap futures; do
    case $market in
    spot) syms="BTC-USDT ETH-USDT" ;;
    swap) syms="BTC-USDT-SWAP ETH-USDT-SWAP" ;;
    futures) syms="BTC-USD-261225 ETH-USD-261225" ;;
    esac
    for how in given inferred; do
        flag="--market $market"
        [ $how = inferred ] && flag=""
        start_sim --exchange okx --market $market --symbols "$(echo $syms | tr ' ' ,)" --interval 1m --rate 4 \
            --record "$T/rec.$market.$how"
        rc=0
        # shellcheck disable=SC2086
        timeout 60 "$CANDLED" stream okx $syms $flag --limit 10 --ws-url "$(ws)" --rest-url "$(rest)" \
            >"$T/out.$market.$how" 2>"$T/err.$market.$how" || rc=$?
        stop_sim || fail "candled-sim exited $SIM_EXIT ($market, $how)"
        [ $rc -eq 0 ] || fail "candled stream okx ($market, $how) exited $rc: $(tail -3 "$T/err.$market.$how")"
        $QUOTES check --market $market --count 10 "$T/rec.$market.$how" "$T/out.$market.$how" \
            || fail "quotes differ ($market, market $how)"
        for s in $syms; do
            grep -q "\"contract_type\":\"$market\",\"symbol\":\"$s\"" "$T/out.$market.$how" \
                || fail "no $market quote for $s ($how)"
        done
    done
done
# the volume is the base currency: vol on spot, volCcy (contracts / 100 here) on contracts
grep -q '"volume":[0-9.]*,"is_closed"' "$T/out.swap.given" || fail "no volume in swap quotes"
head -1 "$T/rec.swap.given" | grep -q '"data":\[\["[0-9]*",' || fail "recorded push is not an OKX candle push"

# symbols of different markets without --market: a usage error, one line
rc=0
"$CANDLED" stream okx BTC-USDT BTC-USDT-SWAP --limit 1 >"$T/out.mixed" 2>"$T/err.mixed" || rc=$?
[ $rc -eq 2 ] || fail "mixed markets exited $rc, expected 2"
[ "$(wc -l <"$T/err.mixed")" = 1 ] || fail "mixed markets: expected one line on stderr: $(cat "$T/err.mixed")"
grep -qx "candled: symbols 'BTC-USDT' (spot) and 'BTC-USDT-SWAP' (swap) are in different markets; give --market" \
    "$T/err.mixed" || fail "mixed markets message: $(cat "$T/err.mixed")"
rc=0
"$CANDLED" stream okx BTC-USDT-SWAP --market spot --limit 1 >/dev/null 2>"$T/err.wrong" || rc=$?
[ $rc -eq 2 ] && grep -q "BTC-USDT-SWAP is a swap instrument, not spot" "$T/err.wrong" \
    || fail "an instrument of another market: exit $rc, $(cat "$T/err.wrong")"
rc=0
"$CANDLED" stream okx BTC-USDT --interval 8h --limit 1 >/dev/null 2>"$T/err.iv" || rc=$?
[ $rc -eq 2 ] && grep -qx "candled: interval '8h' is not supported by okx spot" "$T/err.iv" \
    || fail "unsupported interval: exit $rc, $(cat "$T/err.iv")"

# config.lua subscriptions without a market: inferred the same way, checked by `candled check`
cat >"$T/okx.lua" <<'LUA'
return { subscriptions = { { exchange = "okx", symbols = { "BTC-USDT-SWAP", "ETH-USDT-SWAP" } },
                           { exchange = "okx", symbols = { "BTC-USD-261225" }, interval = "1d" } } }
LUA
"$CANDLED" check --config "$T/okx.lua" >"$T/out.check" 2>&1 || fail "check of inferred markets: $(cat "$T/out.check")"
grep -qx 'configuration ok (2 subscriptions)' "$T/out.check" || fail "check: $(cat "$T/out.check")"
cat >"$T/okx_mixed.lua" <<'LUA'
return { subscriptions = { { exchange = "okx", symbols = { "BTC-USDT", "BTC-USDT-SWAP" } } } }
LUA
rc=0
"$CANDLED" check --config "$T/okx_mixed.lua" >"$T/out.check2" 2>&1 || rc=$?
[ $rc -eq 1 ] && grep -q "subscriptions\[1\].market: symbols 'BTC-USDT' (spot) and 'BTC-USDT-SWAP' (swap) are in different markets" \
    "$T/out.check2" || fail "check of mixed markets: exit $rc, $(cat "$T/out.check2")"

# Parts 2, 3, the stall and the faults run side by side (parts, lib.sh), each with its own
# simulator.

# 2. closed candles only: once per period, consecutive seconds
closed_only() {
start_sim --exchange okx --symbols BTC-USDT --interval 1s --rate 4 --record "$T/rec.closed"
timeout 60 "$CANDLED" stream okx BTC-USDT --interval 1s --closed-only --limit 6 --ws-url "$(ws)" \
    >"$T/out.closed" 2>"$T/err.closed" || fail "closed-only exited $?"
stop_sim || fail "candled-sim exited $SIM_EXIT (closed-only)"
$QUOTES check --market spot --closed-only --count 6 "$T/rec.closed" "$T/out.closed" || fail "closed quotes differ"
[ "$(grep -c '"is_closed":true' "$T/out.closed")" = 6 ] || fail "expected 6 closed quotes"
grep -o '"timestamp":[0-9]*' "$T/out.closed" | cut -d: -f2 | awk 'NR > 1 && $1 != prev + 1000 { print "FAIL: not consecutive: " prev " then " $1; exit 1 } { prev = $1 }'
}
part closed_only

# 3. a disconnect and skipped closes: candled reconnects and fills the holes from REST
# (history-candles, newest first, after/before windows); every quote exact, no hole
disconnect() {
start_sim --exchange okx --symbols BTC-USDT,ETH-USDT --interval 1s --rate 4 --record "$T/rec.disc" --disconnect-after 12 \
    --skip-close-every 4
rc=0
timeout 90 "$CANDLED" stream okx BTC-USDT ETH-USDT --interval 1s --limit 80 --ws-url "$(ws)" --rest-url "$(rest)" \
    >"$T/out.disc" 2>"$T/err.disc" || rc=$?
[ $rc -eq 0 ] || fail "disconnect: candled exited $rc"
$QUOTES check-set --market spot --no-holes --rest "$(rest)" "$T/rec.disc" "$T/out.disc" || fail "disconnect: quotes"
stop_sim || fail "candled-sim exited $SIM_EXIT"
grep -q '"disconnects":[1-9]' "$SIM_LOG" || fail "the simulator did not disconnect"
summary=$(grep '"msg":"stream finished"' "$T/err.disc")
for want in 'connector_reconnections_total:okx,spot=' 'connector_rest_requests_total:okx,spot,200=' \
            'connector_rest_backfills_total:okx,spot,ok='; do
    echo "$summary" | grep -q "$want[1-9]" || fail "disconnect: not counted: $want ($summary)"
done
}
part disconnect

# a stall long enough that closes are missed on the WebSocket: only the backfill can deliver them
stall() {
start_sim --exchange okx --symbols BTC-USDT --interval 1s --rate 4 --record "$T/rec.stall" --stall-after 10 --stall-ms 6000
rc=0
CONNECTOR_IDLE_TIMEOUT=1.5 timeout 90 "$CANDLED" stream okx BTC-USDT --interval 1s --limit 40 --ws-url "$(ws)" \
    --rest-url "$(rest)" >"$T/out.stall" 2>"$T/err.stall" || rc=$?
[ $rc -eq 0 ] || fail "stall: candled exited $rc"
$QUOTES check-set --market spot --no-holes --rest "$(rest)" "$T/rec.stall" "$T/out.stall" >"$T/check.stall" \
    || fail "stall: quotes"
stop_sim || fail "candled-sim exited $SIM_EXIT"
# the stalled connection was dropped with its queued frames, so the closes of the stall are in the
# output (no hole) only because the backfill fetched them
grep -q '"msg":"upstream closing to reconnect".*"reason":"idle timeout"' "$T/err.stall" || fail "stall: not detected"
grep '"msg":"stream finished"' "$T/err.stall" | grep -q 'connector_rest_backfills_total:okx,spot,ok=[1-9]' \
    || fail "stall: no backfill"
}
part stall

# bad input through the generic fault injection: garbage, duplicates, reordering; the quotes
# equal candle states of the simulator's ground truth (--truth), every fault counted
faults() {
start_sim --exchange okx --market futures --symbols BTC-USD-261225 --interval 1s --rate 4 --truth "$T/truth.faults" \
    --garbage-every 5 --duplicate-every 4 --reorder-every 9
rc=0
timeout 90 "$CANDLED" stream okx BTC-USD-261225 --interval 1s --limit 40 --ws-url "$(ws)" --rest-url "$(rest)" \
    >"$T/out.faults" 2>"$T/err.faults" || rc=$?
stop_sim || fail "candled-sim exited $SIM_EXIT"
[ $rc -eq 0 ] || fail "faults: candled exited $rc"
$PYTHON "$CDL_SOURCE_DIR/tests/e2e/truth.py" "$T/truth.faults" "$T/out.faults" --exchange okx --market futures \
    --min-closed 5 --max-gaps 0 || fail "faults: quotes differ from the simulator's truth"
summary=$(grep '"msg":"stream finished"' "$T/err.faults")
for want in 'connector_frames_rejected_total:okx,futures,bad_json=' 'connector_duplicates_filtered_total:okx,futures='; do
    echo "$summary" | grep -q "$want[1-9]" || fail "faults: not counted: $want ($summary)"
done
}
part faults

wait_parts closed_only disconnect stall faults keepalive || exit 1
echo "ok: okx spot, swap, futures exact (market given and inferred), closed once per period, backfill after disconnect and stall, keepalive"

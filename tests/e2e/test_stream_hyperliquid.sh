#!/bin/sh
# End to end: candled-sim (Hyperliquid protocol) -> `candled stream hyperliquid` -> exact quotes,
# for perp and spot, checked byte for byte against the simulator's --truth file (every candle
# state it generated and whether it was sent), for every payload shape the docs allow (object,
# the documented array, prices as JSON numbers).  Open quotes must be the consecutive run of the
# states sent (quotes.py check-truth); Hyperliquid frames carry no closed flag, so closed candles
# are the core's inference: once per period, in order, with the final state's exact values, no
# period missing (truth.py).  The client ping keeps a connection open past Hyperliquid's 60 s
# rule for silent clients; unsupported intervals and symbols are usage errors.  The backfill by
# POST /info is test_stream_hyperliquid_backfill.sh.
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
T="$E2E_TMP"
CANDLED="$CDL_BUILD_DIR/candled"
QUOTES="/usr/bin/python3 $CDL_SOURCE_DIR/tests/e2e/quotes.py"
TRUTH="/usr/bin/python3 $CDL_SOURCE_DIR/tests/e2e/truth.py"

# stream NAME MARKET LIMIT MIN-CLOSED URL-SUFFIX SYMBOLS...: runs candled against the running
# simulator, stops it and checks the quotes against its truth file
stream() {
    _name=$1 _market=$2 _limit=$3 _min_closed=$4 _suffix=$5
    shift 5
    _rc=0
    timeout 150 "$CANDLED" stream hyperliquid "$@" --market "$_market" --limit "$_limit" \
        --ws-url "ws://127.0.0.1:$SIM_PORT/ws$_suffix" --rest-url "http://127.0.0.1:$SIM_PORT" \
        >"$T/out.$_name" 2>"$T/err.$_name" || _rc=$?
    stop_sim
    [ $_rc -eq 0 ] || { cat "$T/err.$_name"; fail "candled stream ($_name) exited $_rc"; }
    case $_market in perps|swap) _market=perp ;; esac # quotes name the canonical market
    $QUOTES check-truth --exchange hyperliquid --market "$_market" --count "$_limit" \
        "$T/truth.$_name" "$T/out.$_name" || fail "open quotes of $_name are not exact"
    _min_symbols=1
    [ "$_min_closed" -gt 0 ] || _min_symbols=0 # a short run may see no period end
    $TRUTH "$T/truth.$_name" "$T/out.$_name" --exchange hyperliquid --market "$_market" --min-closed "$_min_closed" \
        --min-symbols $_min_symbols --max-gaps 0 || fail "closed quotes of $_name are not exact"
    grep -q "\"msg\":\"stream finished\",\"quotes\":\"$_limit\"" "$T/err.$_name" || fail "no summary ($_name)"
}

# --- keepalive: {"method":"ping"} every 30 s holds the connection past the 60 s rule ------------
# (one stream at 1 update/s: 70 quotes take about 70 s; the simulator's default rule is
# Hyperliquid's 60 s).  A minute boundary passes meanwhile: its close is inferred, exactly once.
# It needs a minute of real time (two client pings), so it runs in the background from the start,
# with its own simulator: a part (lib.sh).
keepalive() {
    start_sim --exchange hyperliquid --symbols BTC --interval 1m --rate 1 --truth "$T/truth.keep"
    echo "$SIM_PID" >>"$T/pids"
    stream keep perp 70 1 "" BTC
    grep -q 'connector_closes_inferred_total:hyperliquid,perp=[1-9]' "$T/err.keep" || fail "no inferred close"
    grep -q '"clients":1,.*"pings":0,"pongs":0,.*"rx_msgs":[3-9]' "$SIM_LOG" || fail "not one connection kept by client pings"
    grep -q '"idle_drops":0[,}]' "$SIM_LOG" || fail "the keepalive connection was dropped"
    # the period that closed meanwhile: POST /info candleSnapshot (what a backfill asks) answers its
    # final state byte for byte (REST is a pure function of the seed: a fresh simulator serves it)
    start_sim --exchange hyperliquid --symbols BTC --interval 1m
    echo "$SIM_PID" >>"$T/pids"
    "$PYTHON" - "$T/truth.keep" "$SIM_PORT" <<'EOF' || fail "REST candleSnapshot rows differ from the final states"
import json, sys, urllib.request
final = [d for d in (json.loads(l) for l in open(sys.argv[1]) if l.strip()) if d["is_closed"]]
if not final:
    sys.exit("no period closed in 70 s")
for d in final:
    body = json.dumps({"type": "candleSnapshot", "req": {"coin": "BTC", "interval": "1m",
                       "startTime": d["timestamp"], "endTime": d["timestamp"] + 59999}}).encode()
    req = urllib.request.Request("http://127.0.0.1:%s/info" % sys.argv[2], data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        rows = json.loads(r.read(), parse_float=str)
    want = [{"T": d["close_time"], "c": d["close"], "h": d["high"], "i": "1m", "l": d["low"], "n": d["trades"],
             "o": d["open"], "s": "BTC", "t": d["timestamp"], "v": d["volume"]}]
    if rows != want:
        sys.exit("REST %r\n final %r" % (rows, want))
print("%d closed period(s): REST rows equal the final states" % len(final))
EOF
    stop_sim
    echo "ok: keepalive past the idle rule, the close inferred meanwhile equals REST's row"
}
part keepalive

# --- perp and spot, symbols echoed as written ---------------------------------------------------
start_sim --exchange hyperliquid --market perp --symbols BTC,kPEPE --interval 1m --rate 4 --truth "$T/truth.perp"
stream perp perp 10 0 "" BTC kPEPE
start_sim --exchange hyperliquid --market spot --symbols @107,PURR/USDC --interval 1m --rate 4 --truth "$T/truth.spot"
stream spot spot 10 0 "" @107 PURR/USDC
for s in '"symbol":"BTC"' '"symbol":"kPEPE"' '"contract_type":"perp"'; do
    grep -q "$s" "$T/out.perp" || fail "no $s in the perp quotes"
done
for s in '"symbol":"@107"' '"symbol":"PURR/USDC"' '"contract_type":"spot"'; do
    grep -q "$s" "$T/out.spot" || fail "no $s in the spot quotes"
done

# --- the documented array payload, prices as JSON numbers, the perps/swap aliases ---------------
start_sim --exchange hyperliquid --symbols ETH --interval 5m --rate 4 --truth "$T/truth.array"
stream array perps 6 0 "?shape=array" ETH --interval 5m
start_sim --exchange hyperliquid --symbols xyz:XYZ100 --interval 1m --rate 4 --truth "$T/truth.numbers"
stream numbers swap 6 0 "?prices=numbers" xyz:XYZ100
grep -q '"contract_type":"perp","symbol":"xyz:XYZ100"' "$T/out.numbers" || fail "HIP-3 coin not echoed"

# --- generic faults: garbage frames are refused and counted, repeats dropped, reconnects resume ---
start_sim --exchange hyperliquid --symbols BTC --interval 1m --rate 8 --garbage-every 3 --duplicate-every 4 \
    --disconnect-after 12 --truth "$T/truth.faults"
rc=0
timeout 60 "$CANDLED" stream hyperliquid BTC --limit 30 --ws-url "ws://127.0.0.1:$SIM_PORT/ws" \
    >"$T/out.faults" 2>"$T/err.faults" || rc=$?
stop_sim
[ $rc -eq 0 ] || { tail -5 "$T/err.faults"; fail "candled stream (faults) exited $rc"; }
$QUOTES check-truth --exchange hyperliquid --market perp --count 30 --gaps "$T/truth.faults" "$T/out.faults" \
    || fail "open quotes under faults are not exact"
$TRUTH "$T/truth.faults" "$T/out.faults" --exchange hyperliquid --market perp --min-closed 0 --min-symbols 0 \
    || fail "closed quotes under faults are not exact"
grep -q '"clients":[2-9],' "$SIM_LOG" && grep -q '"duplicates":[1-9]' "$SIM_LOG" && grep -q '"garbage":[1-9]' "$SIM_LOG" \
    || fail "faults not injected"
grep -q 'connector_frames_rejected_total:hyperliquid,perp,bad_json=[1-9]' "$T/err.faults" \
    && grep -q 'connector_frames_rejected_total:hyperliquid,perp,unknown_frame=[1-9]' "$T/err.faults" \
    || { tail -1 "$T/err.faults"; fail "garbage frames not counted as rejected"; }

# --- usage errors -------------------------------------------------------------------------------
rc=0
"$CANDLED" stream hyperliquid BTC --interval 6h --limit 1 2>"$T/err.iv" || rc=$?
[ $rc -eq 2 ] && grep -q "interval '6h' is not supported by hyperliquid perp" "$T/err.iv" || fail "6h: exit $rc"
rc=0
"$CANDLED" stream hyperliquid BTC --market spot --limit 1 2>"$T/err.sym" || rc=$?
[ $rc -eq 2 ] && grep -q "invalid symbol 'BTC' for hyperliquid spot" "$T/err.sym" || fail "spot BTC: exit $rc"

# --- the idle rule is real: a client that sends nothing for 2 s is dropped ----------------------
start_sim --exchange hyperliquid --symbols BTC --interval 1m --rate 4 --idle-disconnect 2
timeout 60 "$CANDLED" stream hyperliquid BTC --limit 16 --ws-url "ws://127.0.0.1:$SIM_PORT/ws" \
    >"$T/out.idle" 2>"$T/err.idle" || fail "candled stream (idle) failed"
stop_sim
grep -q '"idle_drops":[1-9]' "$SIM_LOG" || fail "the simulator's idle rule did not drop a silent client"


wait_parts keepalive || exit 1
echo "ok: perp and spot quotes exact in every payload shape, inferred closes once per period; keepalive past the idle rule; usage errors"

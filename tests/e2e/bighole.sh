# bighole.sh - the big-hole check shared by test_stream_big_hole_*.sh (source it after lib.sh).
#
#   big_hole EXCHANGE MARKET SYMBOL WS_PATH STOP_S PAGE MIN_HOLE LIMIT_AFTER [SIM ARGS...]
#
# `candled stream --closed-only` runs against candled-sim with 1s candles and --truth, beside a
# second one that keeps the stream subscribed throughout (the simulator generates, and writes
# into --truth, only what someone subscribes to); once the first has printed 4 closes the test
# stops it (SIGSTOP: a suspended machine) for STOP_S seconds, during
# which the simulator drops the silent connection (--idle-disconnect in SIM ARGS) and every
# close it sends is lost, then continues it (SIGCONT).  STOP_S is exchange time: the caller's
# test clock (use_test_clock) shortens the stop, the simulator's idle rule stays real.  Nothing of the hole can come from the
# WebSocket any more: it is backfilled from REST, and candled exits (--limit) LIMIT_AFTER quotes
# after the 4, inside the hole's last page.  Checked:
#   - the closes are exact against the simulator's truth, in order, no gap (truth.py);
#   - the hole was more than MIN_HOLE periods (> 64, the old page cap), the union of the
#     periods the requests asked for (from candled's debug log of each URL);
#   - candled sent exactly ceil(hole / PAGE) requests (PAGE: the exchange's page for 1s rows),
#     and the simulator saw those and the keeper's (if any), no more.
big_hole() {
    _ex=$1 _mk=$2 _sym=$3 _path=$4 _stop=$5 _page=$6 _min=$7 _after=$8
    shift 8
    T="$E2E_TMP"
    : >"$T/out"
    start_sim --exchange "$_ex" --market "$_mk" --symbols "$_sym" --interval 1s --rate 1 --truth "$T/truth" "$@"
    CONNECTOR_LOG_LEVEL=debug "$CDL_BUILD_DIR/candled" stream "$_ex" "$_sym" --market "$_mk" --interval 1s \
        --closed-only --ws-url "ws://127.0.0.1:$SIM_PORT$_path" --rest-url "http://127.0.0.1:$SIM_PORT" \
        >"$T/keeper.out" 2>"$T/keeper.err" &
    _keeper=$!
    _pid=
    trap 'kill -KILL $_keeper $_pid 2>/dev/null || true; e2e_cleanup' EXIT
    # candled itself in the background (not under timeout(1): SIGSTOP must reach it), with a
    # watchdog instead
    CONNECTOR_LOG_LEVEL=debug "$CDL_BUILD_DIR/candled" stream "$_ex" "$_sym" --market "$_mk" \
        --interval 1s --closed-only --limit $((4 + _after)) --ws-url "ws://127.0.0.1:$SIM_PORT$_path" \
        --rest-url "http://127.0.0.1:$SIM_PORT" >"$T/out" 2>"$T/err" &
    _pid=$!
    ( sleep 280; kill -KILL "$_pid" 2>/dev/null ) >/dev/null 2>&1 &
    _wd=$!
    _n=0
    for _ in $(seq 600); do
        _n=$(wc -l <"$T/out")
        [ "$_n" -ge 4 ] && break
        sleep 0.1
    done
    [ "$_n" -ge 4 ] || { kill "$_pid"; tail -5 "$T/err"; fail "no 4 closes before the stop"; }
    kill -STOP "$_pid"
    _before=$(wc -l <"$T/out")
    clock_sleep "$_stop"
    kill -CONT "$_pid"
    _rc=0
    wait "$_pid" || _rc=$?
    kill "$_wd" 2>/dev/null || true
    kill -INT "$_keeper"
    _krc=0
    wait "$_keeper" || _krc=$?
    stop_sim || true
    [ $_krc -eq 0 ] || { tail -20 "$T/keeper.err"; fail "the keeper candled exited $_krc"; }
    [ $_rc -eq 0 ] || { tail -20 "$T/err"; fail "candled exited $_rc"; }
    [ "$(wc -l <"$T/out")" = $((4 + _after)) ] || fail "expected $((4 + _after)) quotes, got $(wc -l <"$T/out")"
    $PYTHON "$CDL_SOURCE_DIR/tests/e2e/truth.py" "$T/truth" "$T/out" --exchange "$_ex" --market "$_mk" \
        --min-closed $((4 + _after)) --max-gaps 0 >"$T/check" || fail "closed candles wrong"
    grep -q '"idle_drops":1' "$SIM_LOG" || fail "the simulator did not drop the stopped connection (only)"
    # the periods each request asked for: Binance startTime..endTime, OKX (before, after)
    _asked=$(grep '"msg":"REST request sent"' "$T/err" | grep -o '"url":"[^"]*"' | $PYTHON -c '
import re, sys
periods, n = set(), 0
for line in sys.stdin:
    q = dict(re.findall(r"[?&]([a-zA-Z]+)=(-?\d+)", line))
    if "startTime" in q:
        lo, hi = int(q["startTime"]), int(q["endTime"])
    else:
        lo, hi = int(q["before"]) + 1, int(q["after"]) - 1
    periods.update(range(lo - lo % 1000, hi + 1, 1000))
    n += 1
print(n, len(periods), (max(periods) - min(periods)) // 1000 + 1 if periods else 0)
')
    set -- $_asked
    _reqs=$1 _hole=$2 _span=$3
    [ "$_hole" = "$_span" ] || fail "the requests asked for $_hole periods over a span of $_span: not one contiguous hole"
    [ "$_hole" -gt "$_min" ] || fail "the hole was only $_hole periods (want more than $_min)"
    _want=$(( (_hole + _page - 1) / _page ))
    [ "$_reqs" = "$_want" ] || fail "$_reqs REST requests for a hole of $_hole periods, want ceil($_hole / $_page) = $_want"
    _sim=$(grep -o '"rest_requests":[0-9]*' "$SIM_LOG" | tail -1 | cut -d: -f2)
    _kreqs=$(grep -c '"msg":"REST request sent"' "$T/keeper.err" || true)
    [ "$_sim" = $((_reqs + _kreqs)) ] || fail "the simulator saw $_sim REST requests, candled logged $_reqs (+ $_kreqs)"
    echo "ok: $_ex $_mk: stopped after $_before closes for $_stop s, a hole of $_hole periods filled with $_reqs" \
        "request(s) of up to $_page rows, exact: $(cat "$T/check")"
}

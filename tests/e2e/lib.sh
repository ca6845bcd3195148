# lib.sh - shared helpers for candled's end-to-end tests (POSIX sh; source it).
#
# Needs CDL_BUILD_DIR (where candled-sim and candled were built) and CDL_SOURCE_DIR (the source
# tree); CTest sets both.  Every test gets a private temporary directory, $E2E_TMP, removed on
# exit together with any simulator still running.  Tests never use fixed ports: the simulator
# is started on port 0 and reports the port it got.
#
#   start_sim ARGS...   starts candled-sim ARGS... --port 0 in the background, waits for its
#                       "PORT <n>" line; sets SIM_PORT, SIM_PID, SIM_LOG (its stderr file),
#                       lists SIM_PID in "$E2E_TMP/pids".
#                       Subshells running simulators side by side set SIM_TAG (a distinct word)
#                       first, so that their files do not collide
#   stop_sim            SIGTERM, waits (SIGKILL after 30 s, reported); sets SIM_EXIT to its exit
#                       status; returns it
#   fail MSG            prints MSG (and the simulator log) and exits 1
#   PYTHON              /usr/bin/python3 (standard library only); WSCLIENT is wsclient.py
#   skip_in_sanitizer_build  exits 0 ("skipped") in the ASan build (valgrind tests)
#   run_cases FUNC CASES  runs FUNC on every line of CASES side by side and reports (below);
#                       case_wait PID waits for a case's candled and stops its simulator
#   use_test_clock RATE [SAN_RATE]  exports CDL_TEST_CLOCK (core/clock.h), anchored now: every
#                       candled and candled-sim the test starts afterwards runs exchange time
#                       RATE times faster (SAN_RATE, default RATE, in the sanitizer build),
#                       network timers stay real; sets CLOCK_RATE (1 without a test clock)
#   clock_now_ms        the exchange's time now, ms (the test clock's, as candled and the sim see it)
#   clock_sleep S       sleeps S seconds of exchange time (S / CLOCK_RATE real seconds)
#   part FUNC           runs FUNC in the background, in a subshell under set -e (its first failure
#                       ends it) with SIM_TAG .FUNC., its output in $E2E_TMP/FUNC.log; a part
#                       lists the processes it starts in "$E2E_TMP/pids" (the exit trap stops them)
#   wait_parts FUNC...  waits for those parts and prints their logs; returns 1 if any failed

: "${CDL_SOURCE_DIR:?CDL_SOURCE_DIR must point at the source tree}"
: "${CDL_BUILD_DIR:?CDL_BUILD_DIR must point at the build tree}"

PYTHON=/usr/bin/python3
WSCLIENT="$CDL_SOURCE_DIR/tests/e2e/wsclient.py"
SIM_BIN="$CDL_BUILD_DIR/candled-sim"
E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cdl-e2e.XXXXXX") || exit 1
SIM_PID=
SIM_PORT=
SIM_LOG=
SIM_EXIT=
_sim_seq=0

# The script's own shell: bash runs these traps in a subshell too when it gets a signal before
# it has reset them (a watchdog killed right after it was forked), and a subshell must not
# remove the test's directory.
E2E_MAIN_PID=${BASHPID:-$$}

e2e_cleanup() {
    [ "${BASHPID:-$$}" = "$E2E_MAIN_PID" ] || return 0
    # shellcheck disable=SC2046
    [ ! -s "$E2E_TMP/pids" ] || kill -TERM $(cat "$E2E_TMP/pids") 2>/dev/null || true
    if [ -n "$SIM_PID" ]; then
        kill -TERM "$SIM_PID" 2>/dev/null
        wait "$SIM_PID" 2>/dev/null
    fi
    rm -rf "$E2E_TMP"
}
trap e2e_cleanup EXIT
trap '[ "${BASHPID:-$$}" = "$E2E_MAIN_PID" ] || exit 143; echo "e2e: stopped by a signal (INT or TERM)" >&2; exit 130' INT TERM

fail() {
    echo "FAIL: $*" >&2
    if [ -n "$SIM_LOG" ] && [ -f "$SIM_LOG" ]; then
        echo "--- candled-sim stderr (last 30 lines) ---" >&2
        tail -n 30 "$SIM_LOG" >&2
    fi
    exit 1
}

start_sim() {
    [ -x "$SIM_BIN" ] || fail "candled-sim not built: $SIM_BIN"
    _sim_seq=$((_sim_seq + 1))
    _out="$E2E_TMP/sim${SIM_TAG:-}$_sim_seq.out"
    SIM_LOG="$E2E_TMP/sim${SIM_TAG:-}$_sim_seq.err"
    "$SIM_BIN" "$@" --port 0 >"$_out" 2>"$SIM_LOG" &
    SIM_PID=$!
    echo "$SIM_PID" >>"$E2E_TMP/pids" # for the exit trap, when a part or case started it
    SIM_PORT=
    _tries=0
    while [ $_tries -lt 200 ]; do               # up to 10 s (ASan builds start slowly)
        # the read builtin, not $(sed ...): one fork less per try (dash was seen hanging in
        # sigsuspend right after this loop under ctest -j2)
        _line=
        [ -s "$_out" ] && read -r _line <"$_out"
        case $_line in
        "PORT "[0-9]*) SIM_PORT=${_line#PORT }; return 0 ;;
        esac
        if ! kill -0 "$SIM_PID" 2>/dev/null; then
            SIM_EXIT=0
            wait "$SIM_PID" || SIM_EXIT=$? # under set -e a bare failing wait would exit silently
            SIM_PID=
            fail "candled-sim $* exited with $SIM_EXIT before listening"
        fi
        sleep 0.05
        _tries=$((_tries + 1))
    done
    fail "candled-sim $* printed no PORT line in 10 s"
}

stop_sim() {
    [ -n "$SIM_PID" ] || return 0
    kill -TERM "$SIM_PID" 2>/dev/null
    # a simulator that does not exit is killed after 30 s and reported (exit 137), instead of
    # hanging the test until its CTest timeout
    ( trap - EXIT INT TERM; sleep 30; kill -KILL "$SIM_PID" 2>/dev/null && echo "candled-sim $SIM_PID did not exit 30 s after SIGTERM: killed" >&2 ) \
        >/dev/null 2>"$E2E_TMP/watchdog.$SIM_PID" &
    _wd=$!
    SIM_EXIT=0
    wait "$SIM_PID" || SIM_EXIT=$?
    kill "$_wd" 2>/dev/null
    if [ -s "$E2E_TMP/watchdog.$SIM_PID" ]; then
        cat "$E2E_TMP/watchdog.$SIM_PID" >&2
        tail -n 5 "$SIM_LOG" >&2
    fi
    SIM_PID=
    return "$SIM_EXIT"
}

# only a test that asks for it runs on a test clock
unset CDL_TEST_CLOCK
CLOCK_RATE=1
use_test_clock() {
    CLOCK_RATE=$1
    [ "${CDL_SANITIZE:-0}" = 1 ] && CLOCK_RATE=${2:-$1}
    CDL_TEST_CLOCK="$(date +%s%3N)x$CLOCK_RATE"
    export CDL_TEST_CLOCK
}

clock_now_ms() {
    _real=$(date +%s%3N)
    if [ -n "${CDL_TEST_CLOCK:-}" ]; then
        _anchor=${CDL_TEST_CLOCK%x*}
        echo $((_anchor + (_real - _anchor) * ${CDL_TEST_CLOCK#*x}))
    else
        echo "$_real"
    fi
}

clock_sleep() {
    sleep "$(awk -v s="$1" -v r="$CLOCK_RATE" 'BEGIN { printf "%.3f", s / r }')"
}

part() {
    ( trap - EXIT INT TERM; SIM_TAG=".$1."; "$1" ) >"$E2E_TMP/$1.log" 2>&1 &
    echo $! >>"$E2E_TMP/pids"
    eval "_part_$1=\$!"
}

wait_parts() {
    _bad=0
    for _p in "$@"; do
        eval "wait \$_part_$_p" || { _bad=1; echo "FAIL: part $_p:" >&2; }
        cat "$E2E_TMP/$_p.log"
    done
    return $_bad
}

skip_in_sanitizer_build() {
    if [ "${CDL_SANITIZE:-0}" = 1 ]; then
        echo "skipped: sanitizer build"
        exit 0
    fi
}

# run_cases FUNC CASES: runs `FUNC LINE` for every line of CASES side by side, each in its own
# subshell (FUNC must reset the traps: `trap - EXIT INT TERM`).  A case's name is its line's
# first |-separated field; its verdict is "$E2E_TMP/NAME.fail" (absent or empty = passed) and
# its summary "$E2E_TMP/NAME.check".  Prints each passed case's summary, each failure (and the
# tails of its simulators' logs, SIM_TAG ".NAME.") on stderr; returns 1 if any case failed.
run_cases() {
    _fn=$1 _cases=$2 _i=0 _bad=0
    while IFS= read -r _c; do
        "$_fn" "$_c" &
        _i=$((_i + 1))
        eval "_case_pid_$_i=\$!"
    done <<EOF
$_cases
EOF
    _i=0
    while IFS= read -r _c; do
        _i=$((_i + 1))
        _name=${_c%%|*}
        eval "wait \$_case_pid_$_i" || true
        if [ -s "$E2E_TMP/$_name.fail" ]; then
            cat "$E2E_TMP/$_name.fail" >&2
            for _f in "$E2E_TMP"/sim."$_name".*.err; do [ -f "$_f" ] && tail -2 "$_f" >&2; done
            _bad=1
        else
            echo "$_name: $(cat "$E2E_TMP/$_name.check" 2>/dev/null)"
        fi
    done <<EOF
$_cases
EOF
    return $_bad
}

# case_wait PID: in a run_cases case, waits for the candled it started in the background (its
# PID listed in "$E2E_TMP/pids" for the script's trap), then stops the case's simulator; returns
# candled's exit status.
case_wait() {
    echo "$1" >>"$E2E_TMP/pids"
    _rc=0
    wait "$1" || _rc=$?
    stop_sim || true
    return $_rc
}

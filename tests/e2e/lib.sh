# lib.sh - shared helpers for candled's end-to-end tests (POSIX sh; source it).
#
# Needs CDL_BUILD_DIR (where candled-sim and candled were built) and CDL_SOURCE_DIR (the source
# tree); CTest sets both.  Every test gets a private temporary directory, $E2E_TMP, removed on
# exit together with any simulator still running.  Tests never use fixed ports: the simulator
# is started on port 0 and reports the port it got.
#
#   start_sim ARGS...   starts candled-sim ARGS... --port 0 in the background, waits for its
#                       "PORT <n>" line; sets SIM_PORT, SIM_PID, SIM_LOG (its stderr file)
#   stop_sim            SIGTERM, waits; sets SIM_EXIT to its exit status; returns it
#   fail MSG            prints MSG (and the simulator log) and exits 1
#   PYTHON              /usr/bin/python3 (standard library only); WSCLIENT is wsclient.py

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

e2e_cleanup() {
    if [ -n "$SIM_PID" ]; then
        kill -TERM "$SIM_PID" 2>/dev/null
        wait "$SIM_PID" 2>/dev/null
    fi
    rm -rf "$E2E_TMP"
}
trap e2e_cleanup EXIT
trap 'echo "e2e: stopped by a signal (INT or TERM)" >&2; exit 130' INT TERM

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
    _out="$E2E_TMP/sim$_sim_seq.out"
    SIM_LOG="$E2E_TMP/sim$_sim_seq.err"
    "$SIM_BIN" "$@" --port 0 >"$_out" 2>"$SIM_LOG" &
    SIM_PID=$!
    SIM_PORT=
    _tries=0
    while [ $_tries -lt 200 ]; do               # up to 10 s (ASan builds start slowly)
        SIM_PORT=$(sed -n 's/^PORT \([0-9][0-9]*\)$/\1/p' "$_out" 2>/dev/null)
        [ -n "$SIM_PORT" ] && return 0
        if ! kill -0 "$SIM_PID" 2>/dev/null; then
            SIM_EXIT=0
            wait "$SIM_PID" || SIM_EXIT=$?  # (a bare wait would end a `set -e` test silently)
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
    wait "$SIM_PID"
    SIM_EXIT=$?
    SIM_PID=
    return "$SIM_EXIT"
}

#!/bin/sh
# End to end: a client flooding `candled serve` with malformed JSON gets an error reply for every
# message, but the log stays bounded: "client request refused" gets through a few times per
# window and the rest are counted; the counts come back as "suppressed" (on the next line that
# gets through, and in a summary line at shutdown), so lines + suppressed = every error reply.
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
T="$E2E_TMP"
N=2000

cat >"$T/config.lua" <<EOF
return { server = { port = 0, health_port = 0, drain_grace_seconds = 0 } }
EOF
start_serve --config "$T/config.lua"
start=$(date +%s)
$PYTHON "$CDL_SOURCE_DIR/tests/e2e/serve_client.py" logflood --ws-port "$WS_PORT" --health-port "$HEALTH_PORT" \
    --count $N >"$T/out" || fail "flood"
elapsed=$(( $(date +%s) - start ))
read -r _ replies counted <"$T/out"
[ "$replies" = $N ] && [ "$counted" = $N ] || fail "replies / connector_client_errors_total: $(cat "$T/out")"
stop_serve || fail "serve exited $SERVE_EXIT"
$PYTHON - "$SERVE_LOG" $N $elapsed <<'PY' || fail "log lines: $(grep -c 'client request refused' "$SERVE_LOG")"
import json, sys
log, n, elapsed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
passed = suppressed = summaries = 0
for line in open(log):
    d = json.loads(line)
    if d["msg"] != "client request refused":
        continue
    if "client" in d:  # a line that got through (maybe carrying the count of those before it)
        assert d["level"] == "warn" and d["code"] in ("bad_json", "rate_limited") and d["message"], d
        passed += 1
    else:  # the summary at shutdown: nothing but the count
        assert set(d) == {"ts", "level", "msg", "suppressed"}, d
        summaries += 1
    suppressed += int(d.get("suppressed", 0))
windows = elapsed // 10 + 2
assert passed + suppressed == n, (passed, suppressed)
assert 1 <= passed <= 5 * windows, (passed, windows)
assert summaries == 1, summaries
print("log: %d lines for %d refused requests, %d suppressed" % (passed + summaries, n, suppressed))
PY
echo "ok: $N malformed requests, every one answered, the log bounded with the suppressed count"

#!/bin/bash
# examples/adapter_skeleton.lua passes `candled check` as adapters/skeleton.lua beside a
# config.lua that subscribes to it (check finds adapters/ beside the config, docs/adapters.md),
# and a broken copy of it fails with the field named.
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
mkdir -p "$E2E_TMP/ok/adapters" "$E2E_TMP/bad/adapters"
cp "$CDL_SOURCE_DIR/examples/adapter_skeleton.lua" "$E2E_TMP/ok/adapters/skeleton.lua"
config='return { subscriptions = { { exchange = "skeleton", symbols = { "btcusdt", "ETHUSDT" }, interval = "5m" } } }'
echo "$config" >"$E2E_TMP/ok/config.lua"
rc=0
"$CDL_BUILD_DIR/candled" check --config "$E2E_TMP/ok/config.lua" >"$E2E_TMP/out" 2>"$E2E_TMP/err" || rc=$?
[ $rc -eq 0 ] || fail "check exited $rc: $(cat "$E2E_TMP/err")"
want='adapter skeleton: ok (1 markets)
configuration ok (1 subscriptions)'
[ "$(cat "$E2E_TMP/out")" = "$want" ] || fail "unexpected output: $(cat "$E2E_TMP/out")"
[ ! -s "$E2E_TMP/err" ] || fail "unexpected errors: $(cat "$E2E_TMP/err")"

# The same file with an out-of-range field: the SDK's define names it, with the schema's range.
sed 's/max_streams = 200/max_streams = 0/' "$CDL_SOURCE_DIR/examples/adapter_skeleton.lua" \
    >"$E2E_TMP/bad/adapters/skeleton.lua"
echo "$config" >"$E2E_TMP/bad/config.lua"
rc=0
"$CDL_BUILD_DIR/candled" check --config "$E2E_TMP/bad/config.lua" >"$E2E_TMP/out" 2>"$E2E_TMP/err" || rc=$?
[ $rc -eq 1 ] || fail "broken copy: check exited $rc"
grep -q "adapter 'skeleton': markets\[1\].max_streams must be a number in \[1, 100000\]" "$E2E_TMP/err" \
    || fail "broken copy: no field named: $(cat "$E2E_TMP/err")"
echo "ok: examples/adapter_skeleton.lua passes candled check"

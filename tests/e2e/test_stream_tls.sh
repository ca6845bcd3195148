#!/bin/bash
# wss:// and https:// end to end: candled-sim serves TLS with a certificate for "localhost" from a
# throwaway CA made here.  With the CA trusted (connection.ca_file / CONNECTOR_TLS_CA_FILE) quotes
# are exact and the REST backfill after a disconnect works over https; without it, or with a
# host name the certificate does not cover, nothing is accepted and candled keeps retrying.
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
T="$E2E_TMP"
CANDLED="$CDL_BUILD_DIR/candled"
QUOTES="/usr/bin/python3 $CDL_SOURCE_DIR/tests/e2e/quotes.py"

cd "$T"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem \
    -days 2 -subj "/CN=candled test CA" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout srv.key -out srv.csr \
    -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost\n' >ext
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 -extfile ext 2>/dev/null

start_sim --exchange binance --symbols BTCUSDT --interval 1s --rate 4 --record "$T/rec" \
    --tls-cert "$T/srv.pem" --tls-key "$T/srv.key" --disconnect-after 15 --skip-close-every 4
rc=0
CONNECTOR_TLS_CA_FILE="$T/ca.pem" CONNECTOR_INACTIVITY_TIMEOUT=0.3 \
    timeout 90 "$CANDLED" stream binance BTCUSDT --interval 1s --limit 40 \
    --ws-url "wss://localhost:$SIM_PORT/ws" --rest-url "https://localhost:$SIM_PORT" >"$T/out" 2>"$T/err" || rc=$?
[ $rc -eq 0 ] || { echo "FAIL: wss stream exited $rc"; tail -20 "$T/err"; exit 1; }
$QUOTES check-set --market spot --no-holes --rest "https://localhost:$SIM_PORT" --cafile "$T/ca.pem" "$T/rec" "$T/out"
grep '"msg":"stream finished"' "$T/err" | grep -q 'connector_rest_requests_total:binance,spot,200=[1-9]' \
    || { echo "FAIL: no https backfill"; grep 'stream finished' "$T/err"; exit 1; }

# untrusted certificate, then a name the certificate does not cover: no quotes, retries, SIGTERM exits 0
# (both side by side)
declare -A pids
for case in untrusted wrongname; do
    if [ $case = untrusted ]; then url="wss://localhost:$SIM_PORT/ws"; ca=""; else url="wss://127.0.0.1:$SIM_PORT/ws"; ca="$T/ca.pem"; fi
    CONNECTOR_TLS_CA_FILE="$ca" "$CANDLED" stream binance BTCUSDT --interval 1s --ws-url "$url" \
        >"$T/out.$case" 2>"$T/err.$case" &
    pids[$case]=$!
    echo "${pids[$case]}" >>"$T/pids"
done
sleep 3
for case in untrusted wrongname; do
    pid=${pids[$case]}
    kill -TERM "$pid"
    rc=0
    wait "$pid" || rc=$?
    [ $rc -eq 0 ] || { echo "FAIL: $case: exit $rc"; tail -5 "$T/err.$case"; exit 1; }
    [ ! -s "$T/out.$case" ] || { echo "FAIL: $case: quotes were accepted"; exit 1; }
    [ "$(grep -c '"msg":"upstream down, reconnecting"' "$T/err.$case")" -ge 2 ] \
        || { echo "FAIL: $case: no retries"; cat "$T/err.$case"; exit 1; }
done
stop_sim
echo "ok: wss/https with a trusted CA; untrusted and wrong-name certificates refused"

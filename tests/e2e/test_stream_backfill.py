"""REST backfill end to end, one case per market.  Replaces test_stream_backfill.sh (every check
kept; Bybit's are in test_stream_bybit.sh, the Hyperliquid perp stall in
test_stream_hyperliquid_backfill.sh).

The simulator keeps back the closes of some periods; `candled stream --closed-only` must print
every period's closed candle once, in order, with the simulator's exact values (truth.py against
--truth), no gap event, and at least the stated number of them must be closes the WebSocket never
carried, which only REST has; the simulator must have answered REST requests and candled must
count successful backfills.  The cases run side by side (Hyperliquid's shortest period is a
minute: its case runs on a test clock, where a minute takes 6 s).

OKX and Gate spot have a closed flag: a close that is not sent is a hole the sequencer sees (plus a
disconnect every 40 or 16 frames).  Gate.io futures and Hyperliquid have none, and a close that
merely goes missing is invisible there (the last update looks final); what a client can see is a
connection lost at a period's end, so --drop-on-skip closes the connection instead of sending the
close: after the reconnect the period's last value is stale, the core does not close it from
that, and the backfill brings the final one.  The other Gate futures periods' closes are inferred
(--min-sent).

BACKFILL_DEAD_REST=1 points --rest-url at a closed port: the test must then fail.
"""
import io
import os
import re
import socket

from harness import Clock, run_parts
import truth

# name: exchange, market, symbols, ws path, interval, closed limit, grace, truth checks, simulator faults
CASES = {
    "okx.swap": ("okx", "swap", "BTC-USDT-SWAP ETH-USDT-SWAP", "/ws/v5/business", "1s", 24, "0.3",
                 "--min-unsent 1 --min-sent 1", "--rate 2 --skip-close-every 3 --disconnect-after 40"),
    "okx.futures": ("okx", "futures", "BTC-USD-261225 ETH-USD-261225", "/ws/v5/business", "1s", 24, "0.3",
                    "--min-unsent 1 --min-sent 1", "--rate 2 --skip-close-every 3 --disconnect-after 40"),
    "gateio.spot": ("gateio", "spot", "BTC_USDT ETH_USDT", "/ws/v4/", "10s", 6, "1",
                    "--min-unsent 2 --min-sent 2", "--rate 2 --skip-close-every 2 --disconnect-after 16"),
    "gateio.usdt": ("gateio", "usdt", "BTC_USDT ETH_USDT", "/v4/ws/usdt", "10s", 6, "1",
                    "--min-unsent 2 --min-sent 2", "--rate 2 --skip-close-every 2 --drop-on-skip"),
    "gateio.btc": ("gateio", "btc", "BTC_USD ETH_USD", "/v4/ws/btc", "10s", 6, "1",
                   "--min-unsent 2 --min-sent 2", "--rate 2 --skip-close-every 2 --drop-on-skip"),
    "hyperliquid.spot": ("hyperliquid", "spot", "PURR/USDC @107", "/ws", "1m", 2, "1",
                         "--min-unsent 2", "--rate 2 --skip-close-every 1 --drop-on-skip"),
}


def dead_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_case(e2e, name):
    ex, market, syms, path, iv, limit, grace, checks, faults = CASES[name]
    syms = syms.split()
    # minute periods on a test clock ten times as fast (five under ASan): this case's simulator
    # and candled only; the seconds-long periods of the others stay real.  The hold is 10 s of
    # real time in every case: REST requests wait for the host's weight budget, which is real.
    clock, rate, environ = None, 1, {}
    if iv == "1m":
        clock = Clock(e2e.env, 10, 5)
        rate, environ = clock.rate, clock.environ
        # both streams must be live before the first period end (--limit 2 closed): start at
        # least 15 s of exchange time before a minute boundary (as in real time, where the
        # start-up is a far smaller share of a minute)
        left = 60000 - clock.now_ms() % 60000
        if left < 15000:
            clock.sleep(left // 1000 + 1)
    truth_path = e2e.path(name + ".truth")
    sim = e2e.sim("--exchange", ex, "--market", market, "--symbols", ",".join(syms), "--interval", iv,
                  *faults.split(), "--truth", truth_path, environ=environ)
    rest = "http://127.0.0.1:%d" % (dead_port() if os.environ.get("BACKFILL_DEAD_REST", "0") == "1" else sim.port)
    s = e2e.stream(ex, *syms, "--market", market, "--interval", iv, "--closed-only", "--limit", str(limit),
                   "--ws-url", "ws://127.0.0.1:%d%s" % (sim.port, path), "--rest-url", rest,
                   environ=dict(environ, CONNECTOR_INACTIVITY_TIMEOUT=grace,
                                CONNECTOR_SEQUENCER_HOLD_SECONDS=str(10 * rate)))
    rc = s.wait(110)
    sim.stop()
    assert rc == 0, "candled exited %d: %s" % (rc, "\n".join(s.log().splitlines()[-3:]))
    report = io.StringIO()
    if truth.main([truth_path, s.out, "--exchange", ex, "--market", market, "--min-symbols", "2",
                   "--min-closed", str(limit), "--max-gaps", "0"] + checks.split(), out=report, err=report) != 0:
        # what a failure needs to be understood: the figures, what candled printed and counted
        raise AssertionError("closed candles wrong: %s\n%s\n%s" % (
            report.getvalue(), "\n".join([line for line in s.log().splitlines() if '"msg":"upstream' not in line][-20:]),
            "\n".join(line[:200] for line in s.lines())))
    summary = s.summary()
    assert re.search(r"connector_rest_backfills_total:%s,%s,ok=[1-9]" % (ex, market), summary), \
        "no backfill: " + summary
    log = sim.log()
    for want, what in (('"rest_requests":[1-9]', "the simulator answered no REST request"),
                       ('"skipped_closes":[1-9]', "nothing skipped"), ('"disconnects":[1-9]', "no disconnect")):
        assert re.search(want, log), what
    return report.getvalue().strip()


def test_backfill(e2e):
    results = run_parts(**{name: (lambda n=name: run_case(e2e, n)) for name in CASES})
    for name in CASES:
        print("%s: %s" % (name, results[name]))

"""Inferred closes confirmed by REST.  Replaces test_stream_confirm_inferred.sh (every check kept).

Gate.io futures candles carry no closed flag and are pushed at most every couple of seconds, so
the last push of a period can miss its last trades: the close inferred from it would be wrong.
The adapter sets confirm_inferred, and each inferred close waits for the exchange's REST row of its
period.  The simulator's --skip-close-every 2 plays the throttle: every second period's final state
is never pushed (the last update seen is not final).
  - usdt and btc (default settings): every closed candle exact against the simulator's truth
    (truth.py), no gap; the closes whose final state was never pushed are there (--min-unsent);
    candled counts corrected and same confirmations, and no hole (connector_gaps_detected_total
    stays absent: a confirmation is no loss);
  - usdt with CONNECTOR_CONFIRM_INFERRED=never: the check must fail on a close's values, which
    shows the first cases prove something.
The 10s periods run on a test clock ten times as fast (five under ASan); the hold stays 10 s of
real time (REST requests wait for the host's budget, which is real).  The cases run side by side.
"""
import io
import re

from harness import Clock, run_parts
import truth

# name: market, symbols, WebSocket path, CONNECTOR_CONFIRM_INFERRED
CASES = {
    "usdt": ("usdt", ("BTC_USDT", "ETH_USDT"), "/v4/ws/usdt", "adapter"),
    "btc": ("btc", ("BTC_USD", "ETH_USD"), "/v4/ws/btc", "adapter"),
    "never": ("usdt", ("BTC_USDT", "ETH_USDT"), "/v4/ws/usdt", "never"),
}


def run_case(e2e, clock, name):
    market, syms, path, confirm = CASES[name]
    truth_path = e2e.path(name + ".truth")
    sim = e2e.sim("--exchange", "gateio", "--market", market, "--symbols", ",".join(syms), "--interval", "10s",
                  "--rate", "2", "--skip-close-every", "2", "--truth", truth_path, environ=clock.environ)
    s = e2e.stream("gateio", *syms, "--market", market, "--interval", "10s", "--closed-only", "--limit", "6",
                   "--ws-url", "ws://127.0.0.1:%d%s" % (sim.port, path), "--rest-url", "http://127.0.0.1:%d" % sim.port,
                   environ=dict(clock.environ, CONNECTOR_CONFIRM_INFERRED=confirm, CONNECTOR_INACTIVITY_TIMEOUT="1",
                                CONNECTOR_SEQUENCER_HOLD_SECONDS=str(10 * clock.rate)))
    rc = s.wait(110)
    sim.stop()
    assert rc == 0, "candled exited %d: %s" % (rc, s.log()[-1000:])
    summary = s.summary()
    argv = [truth_path, s.out, "--exchange", "gateio", "--market", market, "--min-symbols", "2", "--min-closed", "6",
            "--max-gaps", "0"]
    report = io.StringIO()
    if confirm == "never":
        assert truth.main(argv, out=report, err=report) != 0, \
            "inferred closes without confirmation passed the check: the skipped pushes changed nothing"
        assert "closed candle values differ" in report.getvalue(), "unexpected check failure: " + report.getvalue()
        assert "connector_closes_confirmed_total" not in summary, "confirmations with never: " + summary
        assert '"rest_requests":0,' in sim.log(), "REST requests with never: " + sim.counters()
        return "values differ, as they must"
    rc = truth.main(argv + ["--min-unsent", "2"], out=report, err=report)
    assert rc == 0, "closed candles wrong: %s\n%s" % (report.getvalue(), "\n".join(
        [line for line in s.log().splitlines() if '"msg":"upstream' not in line][-20:]))
    assert re.search(r"connector_closes_confirmed_total:gateio,%s,corrected=[1-9]" % market, summary), \
        "no corrected confirmation: " + summary
    assert re.search(r"connector_closes_confirmed_total:gateio,%s,same=[1-9]" % market, summary), \
        "no same confirmation: " + summary
    assert "connector_gaps_detected_total" not in summary, "confirmations counted as holes: " + summary
    assert "connector_gaps_unfilled_total" not in summary, "a gap: " + summary
    assert re.search(r'"rest_requests":[1-9]', sim.log()), "the simulator answered no REST request"
    return report.getvalue().strip()


def test_confirm_inferred(e2e):
    clock = Clock(e2e.env, 10, 5)
    results = run_parts(**{name: (lambda n=name: run_case(e2e, clock, n)) for name in CASES})
    for name in CASES:
        print("%s: %s" % (name, results[name]))

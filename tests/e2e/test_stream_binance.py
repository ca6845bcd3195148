"""candled-sim (Binance protocol) -> `candled stream` -> exact quotes.  Replaces
test_stream_binance.sh (every check kept).

1. every Binance market: quotes checked byte for byte against the frames the simulator recorded
   as it sent them, both symbols streamed, the summary counts them;
2. CSV and the predecessor's name (connector-cli), closed candles only on a 1s interval:
   the header, 3 closed rows, consecutive seconds;
3. symbols echoed as written, two spellings of one stream are one stream; the server's pings are
   answered with pongs, which keeps the connection alive under the simulator's idle rule; the
   idle rule itself drops a client that sends nothing;
4. without --limit it runs until SIGTERM/SIGINT, then exits 0 with every line complete;
5. a bad test clock (core/base/clock.h) stops candled and the simulator at start-up: exit 2, one line.
"""
import os
import re
import signal
import time

import pytest

import quotes

SYMS = {"spot": ("BTCUSDT", "ETHUSDT"), "usdm": ("BTCUSDT", "ETHUSDT"), "coinm": ("BTCUSD_PERP", "ETHUSD_PERP")}


def ws(sim):
    return "ws://127.0.0.1:%d/ws" % sim.port


@pytest.mark.parametrize("market", ["spot", "usdm", "coinm"])
def test_markets_exact(e2e, market):
    syms = SYMS[market]
    rec = e2e.path("rec." + market)
    sim = e2e.sim("--exchange", "binance", "--symbols", ",".join(syms), "--interval", "1m", "--rate", "4",
                  "--record", rec)
    s = e2e.stream("binance", *syms, "--market", market, "--limit", "10", "--ws-url", ws(sim),
                   "--rest-url", "http://127.0.0.1:%d" % sim.port)
    rc = s.wait(60)
    assert sim.stop() == 0, "sim exit status"
    assert rc == 0, "candled stream --market %s exited %d: %s" % (market, rc, s.log())
    assert quotes.check(market, rec, s.out, count=10) == 0, "quotes not exact (%s)" % market
    for sym in syms:  # both symbols were streamed, echoed as written
        assert '"symbol":"%s"' % sym in s.output(), "no quote for %s (%s)" % (sym, market)
    assert '"msg":"stream finished","quotes":"10"' in s.log(), "no summary: " + s.log()


CSV_HEADER = "exchange,contract_type,symbol,interval,timestamp,open,high,low,close,volume,is_closed,close_time," \
             "quote_volume,trades"


def test_csv_closed_only_predecessor_name(e2e):
    sim = e2e.sim("--exchange", "binance", "--symbols", "BTCUSDT", "--interval", "1s", "--rate", "2",
                  "--record", e2e.path("rec.csv"))
    cli = e2e.path("connector-cli")
    os.symlink(e2e.env.candled, cli)
    s = e2e.stream("binance", "BTCUSDT", "--interval", "1s", "--closed-only", "--limit", "3", "--format", "csv",
                   "--ws-url", ws(sim), cmd=[cli])
    rc = s.wait(60)
    assert sim.stop() == 0, "sim exit status"
    assert rc == 0, "connector-cli exited %d: %s" % (rc, s.log())
    lines = s.lines()
    assert lines[:1] == [CSV_HEADER], "csv header: %s" % s.output()
    rows = lines[1:]
    assert sum(",true," in r for r in rows) == 3, "expected 3 closed rows: %s" % s.output()
    ts = [int(r.split(",")[4]) for r in rows]
    for prev, t in zip(ts, ts[1:]):  # consecutive seconds, strictly increasing
        assert t == prev + 1000, "not consecutive: %d then %d" % (prev, t)


def test_echo_spelling_and_pongs(e2e):
    """Symbols are echoed as written; btcusdt and BTCUSDT are one stream; the server's
    WebSocket pings (every second) are answered, which keeps the connection alive under the
    simulator's idle rule (a silent client is dropped after 2 s)."""
    sim = e2e.sim("--exchange", "binance", "--symbols", "BTCUSDT", "--interval", "1s", "--rate", "4",
                  "--ping-interval", "1", "--idle-disconnect", "2")
    s = e2e.stream("binance", "btcusdt", "BTCUSDT", "--interval", "1s", "--limit", "12", "--ws-url", ws(sim))
    assert s.wait(60) == 0, "candled stream exit status: " + s.log()
    assert sim.stop() == 0, "sim exit status"
    assert sum('"symbol":"btcusdt"' in line for line in s.lines()) == 12, \
        "symbol not echoed as written: " + s.output()
    log = sim.log()
    assert re.search(r'"pongs":[1-9]', log), "pings not answered: " + sim.counters()
    assert re.search(r'"clients":1,.*"idle_drops":0[,}]', log), \
        "connection not kept alive by pongs: " + sim.counters()


def test_idle_rule_drops_silent_client(e2e):
    """Without server pings candled sends nothing after subscribing, so it is dropped."""
    sim = e2e.sim("--exchange", "binance", "--symbols", "BTCUSDT", "--interval", "1s", "--rate", "4",
                  "--ping-interval", "0", "--idle-disconnect", "1")
    s = e2e.stream("binance", "BTCUSDT", "--interval", "1s", "--limit", "12", "--ws-url", ws(sim))
    assert s.wait(60) == 0, "candled stream exit status: " + s.log()
    assert sim.stop() == 0, "sim exit status"
    assert re.search(r'"idle_drops":[1-9]', sim.log()), \
        "the simulator's idle rule did not drop a silent client: " + sim.counters()


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_signal_ends_unlimited_stream(e2e, sig):
    rec = e2e.path("rec." + sig)
    sim = e2e.sim("--exchange", "binance", "--symbols", "BTCUSDT", "--interval", "1s", "--rate", "10",
                  "--record", rec)
    s = e2e.stream("binance", "BTCUSDT", "--interval", "1s", "--ws-url", ws(sim))
    # up to 10 s for 5 lines, then the signal whatever came (as the script did: the checks below
    # hold for any number of complete lines)
    deadline = time.monotonic() + 10
    while len(s.lines()) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    rc = s.stop(sig=getattr(signal, sig))
    assert sim.stop() == 0, "sim exit status"
    assert rc == 0, "%s: exit %d: %s" % (sig, rc, s.log())
    assert quotes.check("spot", rec, s.out) == 0, "%s: quotes not exact" % sig
    assert '"reason":"%s"' % sig in s.log(), "no %s log line" % sig
    written = s.output().count("\n")
    assert '"msg":"stream finished","quotes":"%d"' % written in s.log(), \
        "%s: summary does not count the %d quotes written: %s" % (sig, written, s.summary())


@pytest.mark.parametrize("binary", ["candled", "candled-sim"])
def test_bad_test_clock_refused(e2e, binary):
    r = e2e.run([os.path.join(e2e.env.build, binary), "stream", "binance", "BTCUSDT"],
                env=dict(os.environ, CDL_TEST_CLOCK="1765000000000x0"))
    assert r.returncode == 2, "%s with a bad CDL_TEST_CLOCK: exit %d, expected 2" % (binary, r.returncode)
    assert r.stderr.rstrip("\n") == \
        "%s: CDL_TEST_CLOCK=1765000000000x0: the rate must be above 0 and at most 1000" % binary, \
        "%s with a bad CDL_TEST_CLOCK: %s" % (binary, r.stderr)

"""`candled stream` under valgrind memcheck, through a reconnect and a REST backfill: no invalid
access, no uninitialised use, and nothing left allocated at exit (the lws context destroyed
twice, every uv handle closed).  Skipped in the sanitizer build (ASan and valgrind exclude each
other).  Replaces test_stream_valgrind.sh (every check kept).
"""
import re

from conftest import no_sanitizer

VALGRIND = ["valgrind", "--error-exitcode=99", "--leak-check=full", "--errors-for-leak-kinds=all",
            "--show-leak-kinds=all"]


def valgrind_lines(log):
    return re.findall(r"^.*==[0-9]+==.*$", log, re.M)


@no_sanitizer
def test_stream_under_valgrind(e2e):
    sim = e2e.sim("--exchange", "binance", "--symbols", "BTCUSDT,ETHUSDT", "--interval", "1s", "--rate", "4",
                  "--disconnect-after", "25")
    s = e2e.stream("binance", "BTCUSDT", "ETHUSDT", "--interval", "1s", "--limit", "50",
                   "--ws-url", "ws://127.0.0.1:%d/ws" % sim.port, "--rest-url", "http://127.0.0.1:%d" % sim.port,
                   cmd=VALGRIND + [e2e.env.candled, "stream"])
    rc = s.wait(200)
    sim.stop()
    log = s.log()
    assert rc == 0, "valgrind/candled exited %d:\n%s" % (rc, "\n".join(valgrind_lines(log)[:60]))
    assert "in use at exit: 0 bytes in 0 blocks" in log, \
        "memory left at exit:\n%s" % "\n".join(valgrind_lines(log)[-20:])
    assert re.search(r"connector_reconnections_total:binance,spot=[1-9]", s.summary()), \
        "no reconnect happened: " + s.summary()
    assert s.output().count("\n") == 50, "expected 50 quotes"

"""Bad input from the exchange.  Replaces test_stream_faults.sh (every check kept).

Garbage and truncated frames, frames of the wrong shape, oversize frames, duplicates, reordering
and disconnects: the stream goes on, every quote is exact, closed candles stay unique and ordered,
and every fault is counted; rejections are logged rate-limited and none is lost from the count.
REST errors during backfill are counted and logged, and the holes that cannot be filled are
announced as gap events once the hold deadline passes.  A stalled connection is detected by the
idle timer, replaced, and the backfill fills what closed meanwhile.  The three parts run side by
side, each with its own simulator.
"""
import re

from harness import run_parts
import quotes


def urls(sim):
    return ["--ws-url", "ws://127.0.0.1:%d/ws" % sim.port, "--rest-url", "http://127.0.0.1:%d" % sim.port]


def counted(pattern, summary):
    assert re.search(pattern + "[1-9]", summary), "not counted: %s\n%s" % (pattern, summary)


def total(pattern, text):
    return sum(int(n) for n in re.findall(pattern, text))


def frames(e2e):
    rec = e2e.path("rec")
    sim = e2e.sim("--exchange", "binance", "--symbols", "BTCUSDT,ETHUSDT", "--interval", "1s", "--rate", "4",
                  "--record", rec, "--garbage-every", "5", "--duplicate-every", "4", "--reorder-every", "9",
                  "--oversize-every", "13", "--oversize-bytes", "1500000", "--disconnect-after", "45")
    s = e2e.stream("binance", "BTCUSDT", "ETHUSDT", "--interval", "1s", "--limit", "120", *urls(sim))
    rc = s.wait(90)
    assert rc == 0, "candled exited %d: %s" % (rc, s.log()[-3000:])
    assert s.output().count("\n") == 120, "expected 120 quotes"
    assert quotes.check_set("spot", rec, s.out, True, "http://127.0.0.1:%d" % sim.port) == 0, "quotes not exact"
    sim.stop()
    summary, log = s.summary(), s.log()
    for want in ("connector_frames_rejected_total:binance,spot,bad_json=",
                 "connector_frames_rejected_total:binance,spot,bad_field=",
                 "connector_frames_rejected_total:binance,spot,oversize=",
                 "connector_duplicates_filtered_total:binance,spot=",
                 "connector_reconnections_total:binance,spot="):
        counted(want, summary)
    # the quotes counted are exactly the quotes written
    n = total(r"connector_quotes_processed_total:binance,spot,[a-z]*=([0-9]*)", summary)
    assert n == 120, "counted %d quotes, wrote 120" % n
    # rejections are logged, but rate-limited: far fewer lines than rejected frames
    logged = [line for line in log.splitlines() if '"msg":"frame rejected"' in line]
    assert 1 <= len(logged) <= 7, "%d 'frame rejected' log lines" % len(logged)
    # ... and none is lost: lines + their "suppressed" counts (the last in a summary line at exit)
    # = every rejection logged under that message (all but oversize frames and adapter errors)
    rejected = sum(int(v) for k, v in re.findall(r"connector_frames_rejected_total:binance,spot,([a-z_]*)=([0-9]*)",
                                                 summary) if k not in ("oversize", "adapter_error"))
    accounted = 0
    for line in logged:
        accounted += '"conn":' in line
        m = re.search(r'"suppressed":"([0-9]+)"', line)
        accounted += int(m.group(1)) if m else 0
    assert accounted == rejected, "'frame rejected' lines account for %d, rejected %d" % (accounted, rejected)
    assert re.search(r'"msg":"frame rejected","suppressed":"[0-9]*"}$', log, re.M), "no summary line at exit"
    print("faults counted, stream exact: " + summary[:400])


def rest_errors(e2e):
    rec = e2e.path("rec2")
    sim = e2e.sim("--exchange", "binance", "--symbols", "BTCUSDT", "--interval", "1s", "--rate", "4", "--record", rec,
                  "--disconnect-after", "20", "--rest-fail-every", "1", "--rest-status", "500",
                  "--skip-close-every", "3")
    s = e2e.stream("binance", "BTCUSDT", "--interval", "1s", "--limit", "40", *urls(sim),
                   environ={"CONNECTOR_INACTIVITY_TIMEOUT": "0.3", "CONNECTOR_SEQUENCER_HOLD_SECONDS": "2"})
    rc = s.wait(90)
    sim.stop()
    assert rc == 0, "candled exited %d with REST failures: %s" % (rc, s.log()[-3000:])
    assert quotes.check_set("spot", rec, s.out, True) == 0, "quotes not exact"
    assert re.search(r'"type":"gap".*"missing":1,"reason":"timeout"', s.output()), "no gap event"
    summary = s.summary()
    for want in ("connector_rest_requests_total:binance,spot,500=", "connector_rest_backfills_total:binance,spot,failed=",
                 "connector_gaps_detected_total:binance,spot=", "connector_gaps_unfilled_total:binance,spot,timeout="):
        counted(want, summary)
    assert re.search(r'"msg":"backfill request failed".*"status":"500"', s.log()), "REST failure not logged"


def stall(e2e):
    rec = e2e.path("rec3")
    sim = e2e.sim("--exchange", "binance", "--symbols", "BTCUSDT", "--interval", "1s", "--rate", "4", "--record", rec,
                  "--stall-after", "12", "--stall-ms", "6000")
    s = e2e.stream("binance", "BTCUSDT", "--interval", "1s", "--limit", "40", *urls(sim),
                   environ={"CONNECTOR_IDLE_TIMEOUT": "1.5", "CONNECTOR_INACTIVITY_TIMEOUT": "0.3"})
    rc = s.wait(90)
    assert rc == 0, "candled exited %d on a stalled upstream: %s" % (rc, s.log()[-3000:])
    assert quotes.check_set("spot", rec, s.out, True, "http://127.0.0.1:%d" % sim.port) == 0, "quotes not exact"
    sim.stop()
    assert re.search(r'"msg":"upstream closing to reconnect".*"reason":"idle timeout"', s.log()), \
        "the stall was not detected"
    assert re.search(r"connector_rest_backfills_total:binance,spot,ok=[1-9]", s.summary()), \
        "no backfill after the stall"


def test_faults(e2e):
    run_parts(frames=lambda: frames(e2e), rest_errors=lambda: rest_errors(e2e), stall=lambda: stall(e2e))

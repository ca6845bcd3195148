"""Real recorded Binance frames (tests/fixtures/binance, see its README), replayed verbatim by
candled-sim to `candled stream`: every quote must carry exactly the decimal text of its frame.
Replaces test_replay_fixtures.sh (every check kept; one case per market).
"""
import json
import os

import pytest

import quotes


@pytest.mark.parametrize("market", ["spot", "usdm", "coinm"])
def test_replay(e2e, market):
    frames = os.path.join(e2e.env.source, "tests", "fixtures", "binance", "%s_ws_combined_kline_1m.jsonl" % market)
    want = quotes.expected(quotes.load_frames(frames), market)
    syms = []
    with open(frames) as f:
        for line in f:
            s = json.loads(line)["data"]["k"]["s"]
            if s not in syms:
                syms.append(s)
    sim = e2e.sim("--exchange", "binance", "--replay", frames)
    run = e2e.stream("binance", *syms, "--market", market, "--limit", str(len(want)),
                     "--ws-url", "ws://127.0.0.1:%d/ws" % sim.port, environ={"CONNECTOR_SEQUENCER_CLOCK_RULES": "false"})
    rc = run.wait(60)
    assert sim.stop() == 0, "sim exit status"
    assert rc == 0, "%s exited %d" % (market, rc)
    assert run.output() == "".join(line + "\n" for line in want), "%s quotes differ from the recorded frames" % market

"""A client flooding `candled serve` with malformed JSON gets an error reply for every message,
but the log stays bounded.  Replaces test_serve_log_flood.py (every check kept).

"client request refused" gets through a few times per window and the rest are counted; the
counts come back as "suppressed" (on the next line that gets through, and in a summary line at
shutdown), so lines + suppressed = every error reply.
"""
import json
import time

import serve_client

N = 2000


def test_log_flood(e2e):
    srv = e2e.serve("--config", e2e.write("config.lua", "return { server = { port = 0, health_port = 0, "
                                                       "drain_grace_seconds = 0 } }\n"))
    start = time.time()
    replies, counted = serve_client.logflood(serve_client.options(srv.ws_port, srv.health_port, count=N))
    elapsed = int(time.time() - start)
    assert replies == N and counted == N, "replies / connector_client_errors_total: %d %d" % (replies, counted)
    assert srv.stop() == 0, "serve exit status"
    passed = suppressed = summaries = 0
    for line in srv.log().splitlines():
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
    assert passed + suppressed == N, (passed, suppressed)
    assert 1 <= passed <= 5 * windows, (passed, windows)
    assert summaries == 1, summaries

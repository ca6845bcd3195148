"""The examples run (so they do not rot): examples/demo.sh starts candled-sim and candled serve,
examples/client.py subscribes and prints exactly the quotes asked for, then /ready is ready.
Replaces test_examples.sh (every check kept).
"""
import os
import re


def test_demo(e2e):
    r = e2e.run([os.path.join(e2e.env.source, "examples", "demo.sh"), "6"], timeout=120,
                env=dict(os.environ, BUILD=e2e.env.build))
    assert r.returncode == 0, "demo.sh exited %d: %s" % (r.returncode, r.stderr)
    first = r.stdout.split("\n", 1)[0]
    assert first.startswith('{"type":"subscribed","exchange":"binance","contract_type":"spot",'
                            '"symbols":["BTCUSDT","ETHUSDT"]'), "no subscribed echo: " + first
    n = len(re.findall(r'^\{"type":"quote","exchange":"binance","contract_type":"spot","symbol":"(BTC|ETH)USDT",'
                       r'"interval":"1s"', r.stdout, re.M))
    assert n == 6, "expected 6 quotes: " + r.stdout
    assert '/ready says {"status":"ready"' in r.stderr, "not ready: " + r.stderr

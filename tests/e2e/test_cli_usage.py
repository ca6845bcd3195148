"""Usage errors exit 2 with one clear line on stderr; --help and --version exit 0; `check`
validates the shipped configuration and every adapter.  Replaces test_cli_usage.sh (every check
kept): each usage error is a row of USAGE ({tmp}: the test's directory, {src}: the source tree).
"""
import os
import re

import pytest

CONFIGS = {
    "sub1s.lua": 'return { server = { port = 0, health_port = 0 }, subscriptions = { { exchange = "binance", '
                 'market = "coinm", symbols = { "BTCUSD_PERP" }, interval = "1s" } } }\n',
    "badsym.lua": 'return { server = { port = 0, health_port = 0 }, subscriptions = { { exchange = "binance", '
                  'symbols = { "BTCUSDT", "BTC/USDT" } } } }\n',
    "bad.lua": 'return { server = { port = "x" } }\n',
    "sub.lua": 'return { subscriptions = { { exchange = "binance", market = "coinm", symbols = { "BTCUSD_PERP" }, '
               'interval = "1s" } } }\n',
}

USAGE = [
    ("candled: unknown command 'fly' (try --help)", "fly"),
    ("candled: unknown option '--colour' (try --help)", "stream binance BTCUSDT --colour"),
    ("candled: unknown exchange 'nope' (no {src}/adapters/nope.lua)", "stream nope BTCUSDT"),
    ("candled: unknown market 'margin' for binance", "stream binance BTCUSDT --market margin"),
    ("candled: interval '1s' is not supported by binance coinm",
     "stream binance BTCUSD_PERP --market coinm --interval 1s"),
    ("candled: unknown interval '7m'", "stream binance BTCUSDT --interval 7m"),
    ("candled: stream: missing SYMBOL after 'binance'", "stream binance"),
    ("candled: --limit: expected a non-negative integer, got 'ten'", "stream binance BTCUSDT --limit ten"),
    ("candled: --format: expected jsonl or csv, got 'xml'", "stream binance BTCUSDT --format xml"),
    ("candled: option '--market' needs a value", "stream binance BTCUSDT --market"),
    ("candled: --ws-url: expected a ws:// or wss:// URL, got 'http://x'", "stream binance BTCUSDT --ws-url http://x"),
    ("candled: invalid symbol 'BTC/USDT' for binance spot: symbol must match [A-Z0-9_]+", "stream binance BTC/USDT"),
    ("candled: --from-config takes no --market: the subscriptions in the configuration say it",
     "stream --from-config --config {tmp}/sub1s.lua --market spot"),
    ("candled: --from-config takes no --interval: the subscriptions in the configuration say it",
     "stream --from-config --config {tmp}/sub1s.lua --interval 1m"),
    ("candled: {tmp}/bad.lua: server.port: expected an integer, got string",
     "stream binance BTCUSDT --config {tmp}/bad.lua"),
    # serve: flags and config.lua's subscriptions are checked before anything listens
    ("candled: serve: unknown argument '--colour' (try --help)", "serve --colour"),
    ("candled: expected a port number 0..65535, got '70000'", "serve --port 70000"),
    ("candled: option '--health-port' needs a value", "serve --health-port"),
    ("candled: subscriptions[1]: interval '1s' is not supported by binance coinm", "serve --config {tmp}/sub1s.lua"),
    ("candled: subscriptions[1].symbols[2]: invalid symbol 'BTC/USDT' for binance spot: symbol must match [A-Z0-9_]+",
     "serve --config {tmp}/badsym.lua"),
]


def candled(e2e, *args, argv0=None):
    for name, text in CONFIGS.items():
        e2e.write(name, text)
    return e2e.run([argv0 or e2e.env.candled] + list(args), timeout=30)


@pytest.mark.parametrize("line,args", USAGE)
def test_usage_error(e2e, line, args):
    fill = {"tmp": e2e.tmp, "src": e2e.env.source}
    r = candled(e2e, *args.format(**fill).split())
    assert r.returncode == 2, "candled %s exited %d, expected 2: %s" % (args, r.returncode, r.stderr)
    assert r.stderr == line.format(**fill) + "\n", "candled %s: stderr was %r" % (args, r.stderr)


def test_version_and_help(e2e):
    r = candled(e2e, "--version")
    assert r.returncode == 0 and re.search(r"^candled [0-9.]*$", r.stdout, re.M), "--version: %r" % (r,)
    r = candled(e2e, "--help")
    assert r.returncode == 0 and "candled stream EXCHANGE SYMBOL" in r.stdout, "--help: %r" % (r,)
    r = candled(e2e, "check", "--help")
    assert r.returncode == 0 and "candled check" in r.stdout, "check --help: %r" % (r,)
    os.symlink(e2e.env.candled, e2e.path("connector-wss"))
    r = e2e.run([e2e.path("connector-wss"), "--help"], timeout=30)
    assert r.returncode == 0 and "candled serve  [--config FILE]" in r.stdout + r.stderr, "connector-wss --help: %r" % (r,)


def test_check(e2e):
    """check validates the shipped configuration and every adapter; a bad subscription exits 1."""
    r = candled(e2e, "check", "--config", os.path.join(e2e.env.source, "config.lua"))
    assert r.returncode == 0, "check config.lua: %r" % (r,)
    assert re.search(r"^adapter binance: ok \(3 markets\)$", r.stdout, re.M), r.stdout
    r = candled(e2e, "check", "--config", e2e.path("sub.lua"))
    assert r.returncode == 1, "check on a bad subscription exited %d: %s" % (r.returncode, r.stderr)

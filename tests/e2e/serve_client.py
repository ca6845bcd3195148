#!/usr/bin/python3
"""serve_client.py - scripted WebSocket clients of `candled serve` for the end-to-end tests.

  serve_client.py errors --ws-port P --health-port H
      every malformed or refused request gets its documented error and the connection stays
      open (a ping after each is answered); a subscribe flood is answered request by request
      (subscribed or rate_limited) and the server stays up
  serve_client.py slow --ws-port P --health-port H --symbols A,B,... --out FILE
      one client stops reading; the server cuts it off with 1008 (counted in /metrics) while
      another client on the same streams keeps getting quotes, written to FILE
  serve_client.py depth --ws-port P --health-port H --symbols A,B,... --out FILE
      two clients stop reading: connector_queue_depth_open reaches exactly 2 x the symbols
      (latest-wins, summed over the clients) and connector_queue_depth_closed grows; FILE gets
      that /metrics exposition; once both are gone both gauges are 0 again
  serve_client.py sluggish --ws-port P --health-port H --symbols A,B,... --out FILE
      a client with a tiny receive buffer subscribes to the symbols and 1,000 silent ones (an
      echo lws writes in pieces), then reads in bursts with pauses for 8 s; every text frame it
      got after the echo is written to FILE
  serve_client.py logflood --ws-port P --health-port H --count N
      sends N malformed JSON messages and reads every error reply; prints
      "errors <replies> <connector_client_errors_total>"

As a module (the pytest e2e tests): each command is a function of the parsed options
(options(ws_port, health_port, symbols, out, count)) that raises Fail.

Exit status 0 when every check held; otherwise 1 with the failed check on stderr.
"""
import argparse
import json
import sys
import time
import urllib.request

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import wsclient  # noqa: E402


class Fail(Exception):
    pass


def metric(health_port, line_start):
    """Value of the first /metrics sample line starting with line_start, or None."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % health_port, timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(line_start + " "):
                return float(line.split()[-1])
    return None


def reply(ws, timeout=30):
    kind, payload = ws.recv(timeout)
    if kind != "text":
        raise Fail("expected a reply, got %s %r" % (kind, payload))
    return json.loads(payload)


def expect_error(ws, text, code, message=None):
    ws.send_text(text)
    r = reply(ws)
    if r.get("type") != "error" or r.get("code") != code or not r.get("message"):
        raise Fail("%.80s...: expected error %s, got %r" % (text, code, r))
    if message is not None and r["message"] != message:
        raise Fail("%s: message %r, expected %r" % (code, r["message"], message))
    ws.send_text('{"op":"ping"}')
    r = reply(ws)
    if r != {"type": "pong"}:
        raise Fail("after %s the connection did not answer a ping: %r" % (code, r))


def errors(a):
    ws = wsclient.connect("127.0.0.1", a.ws_port, "/")
    sub = '{"exchange":"binance","contract_type":"spot","symbols":%s,"interval":"1m"}'
    cases = [
        ('{"exchange":"binance","symbols":[', "bad_json", None),
        ("not json at all", "bad_json", None),
        ('[{"exchange":"binance"}]', "bad_request", "expected a JSON object"),
        ('{"symbols":["BTCUSDT"]}', "bad_request", "exchange: expected an exchange name"),
        ('{"exchange":"nosuch","symbols":["BTCUSDT"]}', "unknown_exchange", "unknown exchange 'nosuch'"),
        ('{"exchange":"../etc/passwd","symbols":["X"]}', "unknown_exchange", "unknown exchange '../etc/passwd'"),
        ('{"exchange":"broken","symbols":["X"]}', "unavailable",
         "exchange 'broken' is unavailable: its adapter does not load"),
        ('{"exchange":"binance","contract_type":"options","symbols":["BTCUSDT"]}', "unknown_market",
         "unknown contract_type 'options' for binance"),
        ('{"exchange":"binance","symbols":["BTCUSDT"],"interval":"7m"}', "unsupported_interval",
         "interval '7m' is not supported by binance spot"),
        # no contract_type: OKX's market is the instrument id's (swap here, not the default spot)
        ('{"exchange":"okx","symbols":["BTC-USDT-SWAP"],"interval":"7m"}', "unsupported_interval",
         "interval '7m' is not supported by okx swap"),
        ('{"exchange":"okx","symbols":["BTC-USDT-SWAP","BTC-USDT"]}', "unknown_market",
         "symbols 'BTC-USDT-SWAP' (swap) and 'BTC-USDT' (spot) are in different markets; give contract_type"),
        ('{"exchange":"okx","symbols":["NOT_OKX"]}', "unknown_market",
         "cannot tell the market of okx symbol 'NOT_OKX'; give contract_type"),
        ('{"exchange":"binance","contract_type":"futures","symbols":["BTCUSDT"],"interval":"1s"}',
         "unsupported_interval", "interval '1s' is not supported by binance usdm"),
        (sub % '["BTC-USDT"]', "bad_request", None),
        (sub % '[]', "bad_request", "symbols: empty"),
        (sub % '"BTCUSDT"', "bad_request", "symbols: expected an array of symbol strings"),
        (sub % '[1]', "bad_request", "symbols: expected an array of symbol strings"),
        ('{"exchange":"binance","symbols":["BTCUSDT"],"limit":-1}', "bad_request",
         "limit: expected a non-negative integer"),
        ('{"op":"dance"}', "bad_request", None),
        ('{"op":"unsubscribe","exchange":"binance","symbols":["BTCUSDT"]}', "bad_request",
         "not subscribed to 'BTCUSDT'"),
        (sub % json.dumps(["S%05dUSDT" % i for i in range(10000)]), "too_many_symbols",
         "10000 symbols in one request; at most 1024"),
        (sub % json.dumps(["A" * (10 << 20)]), "frame_too_large", None),
    ]
    for text, code, message in cases:
        expect_error(ws, text, code, message)
    bad_json = metric(a.health_port, 'connector_client_errors_total{code="bad_json"}')
    if bad_json != 2:
        raise Fail("connector_client_errors_total{code=\"bad_json\"} = %r, expected 2" % bad_json)
    # a subscribe / unsubscribe round trip, echoed with canonical names
    ws.send_text('{"exchange":"binance","contract_type":"spot","symbols":["btcusdt"]}')
    want = {"type": "subscribed", "exchange": "binance", "contract_type": "spot", "symbols": ["btcusdt"],
            "interval": "1m", "limit": 0, "closed_only": False}
    r = reply(ws)
    if r != want:
        raise Fail("subscribe echo %r" % r)
    ws.send_text('{"op":"unsubscribe","exchange":"binance","symbols":["BTCUSDT"]}')
    r = reply(ws)
    while r.get("type") == "quote":
        r = reply(ws)
    if r != {"type": "unsubscribed", "exchange": "binance", "contract_type": "spot", "symbols": ["BTCUSDT"],
             "interval": "1m"}:
        raise Fail("unsubscribe echo %r" % r)
    flood(a, ws)
    print("errors: %d malformed or refused requests answered, connection kept; flood ok" % len(cases))


def flood(a, ws):
    """300 subscribes at once: each is answered, in order, subscribed or rate_limited."""
    n = 300
    time.sleep(1.5)  # a full bucket of request tokens to start with
    for i in range(n):
        ws.send_text('{"exchange":"binance","symbols":["FLOOD%03dUSDT"]}' % i)
    got = {"subscribed": 0, "rate_limited": 0}
    for i in range(n):
        r = reply(ws)
        if r.get("type") == "subscribed" and r["symbols"] == ["FLOOD%03dUSDT" % i]:
            got["subscribed"] += 1
        elif r.get("type") == "error" and r.get("code") == "rate_limited":
            got["rate_limited"] += 1
        else:
            raise Fail("flood reply %d: %r" % (i, r))
    if got["subscribed"] < 50 or got["rate_limited"] < 1:
        raise Fail("flood: %r (the burst of 50 should pass, the rest be limited)" % got)
    time.sleep(1.5)  # tokens come back
    ws.send_text('{"op":"ping"}')
    if reply(ws) != {"type": "pong"}:
        raise Fail("no pong after the flood")
    streams = metric(a.health_port, "connector_client_streams")
    if streams != got["subscribed"]:
        raise Fail("connector_client_streams %r, expected %d" % (streams, got["subscribed"]))
    ws.close()
    print("flood: %(subscribed)d subscribed, %(rate_limited)d rate_limited" % got)


def slow(a):
    syms = a.symbols.split(",")
    sub = json.dumps({"exchange": "binance", "contract_type": "spot", "symbols": syms, "interval": "1s"})
    good = wsclient.connect("127.0.0.1", a.ws_port, "/")
    good.send_text(sub)
    lazy = wsclient.connect("127.0.0.1", a.ws_port, "/", rcvbuf=4096)
    lazy.send_text(sub)
    if reply(lazy).get("type") != "subscribed":
        raise Fail("lazy client not subscribed")
    out = open(a.out, "w", encoding="utf-8")
    deadline = time.monotonic() + 90
    cut_at = None
    next_poll = 0
    # the lazy client reads nothing now; the good one reads everything
    while True:
        now = time.monotonic()
        if now > deadline:
            raise Fail("the lazy client was never cut off")
        kind, payload = good.recv(30)
        if kind != "text":
            raise Fail("good client: %s %r" % (kind, payload))
        out.write(payload + "\n")
        if cut_at is None and now >= next_poll:
            next_poll = now + 0.5
            if metric(a.health_port, "connector_slow_client_disconnects_total") == 1:
                cut_at = now
        if cut_at is not None and now - cut_at > 3:
            break
    closed_after = 0
    after = 0
    while True:
        kind, payload = lazy.recv(30)
        if kind == "close":
            if payload[0] != 1008 or not payload[1].startswith("slow consumer: more than"):
                raise Fail("lazy client closed with %r, expected 1008 slow consumer" % (payload,))
            break
        closed_after += 1
    # the good client still gets quotes after the cut
    t_end = time.monotonic() + 3
    while time.monotonic() < t_end:
        kind, payload = good.recv(30)
        if kind != "text":
            raise Fail("good client after the cut: %s %r" % (kind, payload))
        out.write(payload + "\n")
        after += 1
    out.close()
    good.close()
    if after < 10:
        raise Fail("good client got only %d messages after the cut" % after)
    print("slow: lazy client closed 1008 (%d messages read after resuming); good client got %d more" %
          (closed_after, after))


def metrics_text(health_port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % health_port, timeout=10) as r:
        return r.read().decode()


def depth(a):
    syms = a.symbols.split(",")
    sub = json.dumps({"exchange": "binance", "contract_type": "spot", "symbols": syms, "interval": "1s"})
    lazy = []
    for _ in range(2):
        ws = wsclient.connect("127.0.0.1", a.ws_port, "/", rcvbuf=4096)
        ws.send_text(sub)
        if reply(ws).get("type") != "subscribed":
            raise Fail("lazy client not subscribed")
        lazy.append(ws)
    # neither reads from now on: their sockets fill, then the server's queues
    deadline = time.monotonic() + 90
    first_closed = None
    while True:
        if time.monotonic() > deadline:
            raise Fail("queue depth never showed both slow clients: open %r closed %r" % (
                metric(a.health_port, "connector_queue_depth_open"),
                metric(a.health_port, "connector_queue_depth_closed")))
        text = metrics_text(a.health_port)
        vals = {}
        for line in text.splitlines():
            for name in ("connector_queue_depth_open", "connector_queue_depth_closed"):
                if line.startswith(name + " "):
                    vals[name] = float(line.split()[-1])
        if vals["connector_queue_depth_open"] > 2 * len(syms):
            raise Fail("open depth %r: more than one waiting per symbol and client" % vals)
        closed = vals["connector_queue_depth_closed"]
        if first_closed is None and closed > 0:
            first_closed = closed
        if vals["connector_queue_depth_open"] == 2 * len(syms) and first_closed and closed > first_closed:
            break
        time.sleep(0.2)
    with open(a.out, "w") as f:
        f.write(text)
    for ws in lazy:
        ws.sock.close()  # gone without reading: the server frees their queues
    deadline = time.monotonic() + 60
    while (metric(a.health_port, "connector_queue_depth_open"), metric(a.health_port, "connector_queue_depth_closed"),
           metric(a.health_port, "connector_clients")) != (0.0, 0.0, 0.0):
        if time.monotonic() > deadline:
            raise Fail("queue depth not back to 0 after the clients left")
        time.sleep(0.2)
    print("depth: open %d (2 clients x %d symbols), closed %d -> %d, then 0" % (
        2 * len(syms), len(syms), first_closed, closed))


def sluggish(a):
    syms = a.symbols.split(",")
    # 1,000 silent symbols after the real ones make the "subscribed" echo ~14 KB: lws sends it in
    # 4 KiB pieces (the protocol's buffer) over several loop turns, holding the rest, while
    # quotes queue behind it; none may be written into the middle of it
    pad = ["PAD%04dUSDT" % i for i in range(1000)]
    ws = wsclient.connect("127.0.0.1", a.ws_port, "/", rcvbuf=4096)
    ws.send_text(json.dumps({"exchange": "binance", "contract_type": "spot", "symbols": syms + pad,
                             "interval": "1s"}))
    time.sleep(1)  # quotes pile up behind the echo meanwhile
    echo = json.loads(ws.recv_text(30))
    if echo.get("type") != "subscribed" or echo["symbols"] != syms + pad:
        raise Fail("sluggish client: echo %.200r" % echo)
    n, end = 0, time.monotonic() + 8
    with open(a.out, "w", encoding="utf-8") as out:
        while time.monotonic() < end:
            kind, payload = ws.recv(30)
            if kind != "text":
                raise Fail("sluggish client: %s %r" % (kind, payload))
            json.loads(payload)  # every message whole
            out.write(payload + "\n")
            n += 1
            if n % 25 == 0:
                time.sleep(0.05)
    ws.close()
    print("sluggish: %d messages" % n)


def logflood(a):
    ws = wsclient.connect("127.0.0.1", a.ws_port, "/")
    for i in range(a.count):
        ws.send_text('{"exchange":"binance","symbols":[%d' % i)  # cut short: bad_json (or rate_limited)
    errors = 0
    for i in range(a.count):
        r = reply(ws)
        if r.get("type") != "error" or r.get("code") not in ("bad_json", "rate_limited"):
            raise Fail("reply %d: %r" % (i, r))
        errors += 1
    ws.close()
    text = metrics_text(a.health_port)
    total = sum(float(line.split()[-1]) for line in text.splitlines()
                if line.startswith("connector_client_errors_total{"))
    print("errors %d %d" % (errors, total))
    return errors, total


def options(ws_port, health_port, symbols="", out="", count=0):
    """The parsed options of a command, for a caller that imports this module."""
    return argparse.Namespace(ws_port=ws_port, health_port=health_port, symbols=symbols, out=out, count=count)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["errors", "slow", "depth", "sluggish", "logflood"])
    ap.add_argument("--ws-port", type=int, required=True)
    ap.add_argument("--health-port", type=int, required=True)
    ap.add_argument("--symbols", default="")
    ap.add_argument("--out", default="")
    ap.add_argument("--count", type=int, default=0)
    a = ap.parse_args()
    try:
        {"errors": errors, "slow": slow, "depth": depth, "sluggish": sluggish,
         "logflood": logflood}[a.cmd](a)
    except (Fail, OSError, wsclient.WSError) as e:
        print("FAIL: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

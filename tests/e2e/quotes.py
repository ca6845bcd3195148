#!/usr/bin/python3
"""Expected candled quotes from Binance kline frames, byte for byte.

The quote of interfaces.md is rebuilt here independently of the C encoder: decimal text is
copied from the frame as it was sent (JSON strings, or the raw token text of numbers), and the
same per-stream rule as candled is applied (a closed candle once per open time; an open update
only if its period has not closed and it is not older than the last one sent).

  quotes.py expect --market M FRAMES [--closed-only]     print the expected quote lines
  quotes.py check --market M FRAMES QUOTES [--count N]   QUOTES must be a consecutive run of them
  quotes.py check-set --market M FRAMES QUOTES [--rest BASE [--cafile PEM]] [--no-holes]
        under faults: every quote equals the quote of a frame that was sent (or, for a closed
        candle whose frame was never sent, the simulator's REST row for it: a backfill); closed
        candles come once per open time, in increasing order, and (with --no-holes) with no open
        time missing between the first and the last
  quotes.py check-client --market M FRAMES QUOTES --symbols a,B [--closed-only] [--count N]
        what one `candled serve` client got (QUOTES: its text frames, quotes and others mixed):
        per symbol (spelled as subscribed), every quote is byte for byte the quote of a frame the
        simulator sent, in the order sent; open updates may be skipped (latest-wins for a client
        that reads slower than they come), closed candles never
"""
import json
import sys


def load_frames(path):
    frames = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if "\t" in line and not line.startswith("{"):
                line = line.split("\t", 1)[1]  # *.recv.tsv: receive time, tab, frame
            frames.append(line)
    return frames


def raw(text):
    # numbers keep their exact token text
    return json.loads(text, parse_float=str, parse_int=str)


def same(a, b):
    """Two open updates carry the same values (candled drops the repeat)."""
    return b is not None and all(a.get(f) == b.get(f) for f in ("o", "h", "l", "c", "v", "q", "n"))


def expected(frames, market, closed_only=False, symbols=None):
    last_closed, last_open, last_k, out = {}, {}, {}, []
    for text in frames:
        try:
            d = raw(text)
        except ValueError:
            continue
        if not isinstance(d, dict):
            continue
        if "data" in d and isinstance(d["data"], dict):
            d = d["data"]
        if d.get("e") != "kline":
            continue
        k = d["k"]
        sym = k["s"]
        if symbols is not None and sym not in symbols:
            continue
        t = int(k["t"])
        closed = k["x"] is True
        if closed:
            if t <= last_closed.get(sym, -1):
                continue
            last_closed[sym] = t
        else:
            if t <= last_closed.get(sym, -1) or t < last_open.get(sym, -1) or \
                    (t == last_open.get(sym) and same(k, last_k.get(sym))):
                continue
            last_open[sym] = t
            last_k[sym] = k
            if closed_only:
                continue
        volume, quote_volume = (k["q"], None) if market == "coinm" else (k["v"], k["q"])
        parts = [
            '{"type":"quote","exchange":"binance","contract_type":"%s","symbol":"%s","interval":"%s"'
            % (market, symbols.get(sym, sym) if symbols else sym, "1m" if k["i"] == "1m" else k["i"]),
            ',"timestamp":%d' % t,
            ',"open":%s,"high":%s,"low":%s,"close":%s,"volume":%s' % (k["o"], k["h"], k["l"], k["c"], volume),
            ',"is_closed":%s' % ("true" if closed else "false"),
            ',"close_time":%s' % k["T"],
        ]
        if quote_volume is not None:
            parts.append(',"quote_volume":%s' % quote_volume)
        parts.append(',"trades":%s}' % k["n"])
        out.append("".join(parts))
    return out


REST_PATH = {"spot": "/api/v3/klines", "usdm": "/fapi/v1/klines", "coinm": "/dapi/v1/klines"}


def rest_quote(base, cafile, market, q):
    """The quote candled must print for a closed candle fetched from the simulator's REST."""
    import ssl
    import urllib.request
    url = "%s%s?symbol=%s&interval=%s&startTime=%d&endTime=%d&limit=1" % (
        base, REST_PATH[market], q["symbol"], q["interval"], q["timestamp"], q["timestamp"])
    ctx = ssl.create_default_context(cafile=cafile) if url.startswith("https") else None
    with urllib.request.urlopen(url, context=ctx, timeout=10) as r:
        rows = json.loads(r.read().decode(), parse_float=str, parse_int=str)
    if not rows:
        return None
    r = rows[0]
    volume, quote_volume = (r[7], None) if market == "coinm" else (r[5], r[7])
    line = ('{"type":"quote","exchange":"binance","contract_type":"%s","symbol":"%s","interval":"%s",'
            '"timestamp":%s,"open":%s,"high":%s,"low":%s,"close":%s,"volume":%s,"is_closed":true,"close_time":%s'
            % (market, q["symbol"], q["interval"], r[0], r[1], r[2], r[3], r[4], volume, r[6]))
    if quote_volume is not None:
        line += ',"quote_volume":%s' % quote_volume
    return line + ',"trades":%s}' % r[8]


def check_set(market, frames_path, quotes_path, no_holes, rest=None, cafile=None):
    frames = load_frames(frames_path)
    # every quote any single frame could produce, without the per-stream rule
    allowed = set()
    for text in frames:
        allowed.update(expected([text], market))
    with open(quotes_path, encoding="utf-8") as f:
        got = [l.rstrip("\n") for l in f if l.strip()]
    closed = {}
    backfilled = 0
    for n, line in enumerate(got):
        q = json.loads(line)
        if line not in allowed:
            want = rest_quote(rest, cafile, market, q) if rest and q["is_closed"] else None
            if want != line:
                print("quote %d matches no frame the simulator sent%s:\n  %s" %
                      (n + 1, "" if want is None else " nor its REST row\n  " + want, line), file=sys.stderr)
                return 1
            backfilled += 1
        if q["is_closed"]:
            times = closed.setdefault(q["symbol"], [])
            if times and q["timestamp"] <= times[-1]:
                print("closed candle out of order or repeated at quote %d: %s" % (n + 1, line), file=sys.stderr)
                return 1
            times.append(q["timestamp"])
    if no_holes:
        for sym, times in closed.items():
            step = times[1] - times[0] if len(times) > 1 else 0
            for a, b in zip(times, times[1:]):
                if b - a != step:
                    print("%s: closed candles jump from %d to %d" % (sym, a, b), file=sys.stderr)
                    return 1
    print("%d quotes, %d closed (%d only from REST), all exact and in order" %
          (len(got), sum(len(t) for t in closed.values()), backfilled))
    return 0


def check_client(market, frames_path, quotes_path, symbols, closed_only, count):
    frames = load_frames(frames_path)
    with open(quotes_path, encoding="utf-8") as f:
        got = [l.rstrip("\n") for l in f if l.startswith('{"type":"quote"')]
    if count is not None and len(got) != count:
        print("got %d quotes, expected %d" % (len(got), count), file=sys.stderr)
        return 1
    if not got:
        print("no quotes", file=sys.stderr)
        return 1
    total_closed = 0
    for spelling in symbols:
        exp = expected(frames, market, closed_only=closed_only, symbols={spelling.upper(): spelling})
        mine = [l for l in got if json.loads(l)["symbol"] == spelling]
        pos = {}
        for i, line in enumerate(exp):
            pos.setdefault(line, i)
        last = -1
        for n, line in enumerate(mine):
            i = pos.get(line)
            if i is None or i <= last:
                print("%s: quote %d %s:\n  %s" % (spelling, n + 1, "out of order" if i is not None else
                                                  "matches no frame the simulator sent", line), file=sys.stderr)
                return 1
            skipped = [e for e in exp[last + 1:i] if '"is_closed":true' in e]
            if last >= 0 and skipped:
                print("%s: closed candle skipped before quote %d:\n  %s" % (spelling, n + 1, skipped[0]),
                      file=sys.stderr)
                return 1
            last = i
        total_closed += sum('"is_closed":true' in l for l in mine)
    others = [l for l in got if json.loads(l)["symbol"] not in symbols]
    if others:
        print("quote for a symbol not subscribed:\n  %s" % others[0], file=sys.stderr)
        return 1
    print("%d quotes (%d closed) for %s, exact and in order" % (len(got), total_closed, ",".join(symbols)))
    return 0


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    opts = {}
    i = 1
    while i < len(argv):
        if argv[i].startswith("--"):
            if argv[i] in ("--market", "--count", "--rest", "--cafile", "--symbols"):
                opts[argv[i]] = argv[i + 1]
                args.remove(argv[i + 1])
                i += 1
            else:
                opts[argv[i]] = True
        i += 1
    cmd = args[0]
    market = opts.get("--market", "spot")
    if cmd == "check-client":
        count = int(opts["--count"]) if "--count" in opts else None
        return check_client(market, args[1], args[2], opts["--symbols"].split(","), "--closed-only" in opts, count)
    if cmd == "check-set":
        return check_set(market, args[1], args[2], "--no-holes" in opts, opts.get("--rest"), opts.get("--cafile"))
    exp = expected(load_frames(args[1]), market, closed_only="--closed-only" in opts)
    if cmd == "expect":
        for line in exp:
            print(line)
        return 0
    with open(args[2], encoding="utf-8") as f:
        got = [l.rstrip("\n") for l in f if l.strip()]
    if "--count" in opts and len(got) != int(opts["--count"]):
        print("got %d quotes, expected %s" % (len(got), opts["--count"]), file=sys.stderr)
        return 1
    if not got:
        print("no quotes", file=sys.stderr)
        return 1
    try:
        start = exp.index(got[0])
    except ValueError:
        print("first quote matches no frame:\n  %s" % got[0], file=sys.stderr)
        return 1
    for n, line in enumerate(got):
        want = exp[start + n] if start + n < len(exp) else "(nothing)"
        if line != want:
            print("quote %d differs:\n  got      %s\n  expected %s" % (n + 1, line, want), file=sys.stderr)
            return 1
    print("%d quotes match the frames byte for byte" % len(got))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

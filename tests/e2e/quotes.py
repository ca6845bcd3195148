#!/usr/bin/python3
"""Expected candled quotes from Binance kline frames, or from candled-sim's --truth file (any
exchange), byte for byte.

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

  With --truth --exchange E, FRAMES is a candled-sim --truth file instead: one JSON line per
  generated candle state with the decimal text candled must print, whether the exchange's frame
  says if it is closed ("flag") and whether it was sent.  A state whose frame carries no flag is
  an open quote (is_closed false), unless --infer-closed: then the final state of each period may
  also appear once as a closed quote (the core's inference), wherever it falls in the output.
  --min-backfilled N (check-set): at least N closed quotes came only from REST.
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


def truth_quote(exchange, market, t, closed):
    """The quote line of one --truth state, fields in candled's order."""
    line = ('{"type":"quote","exchange":"%s","contract_type":"%s","symbol":"%s","interval":"%s","timestamp":%d,'
            '"open":%s,"high":%s,"low":%s,"close":%s,"volume":%s,"is_closed":%s'
            % (exchange, market, t["symbol"], t["interval"], t["timestamp"], t["open"], t["high"], t["low"],
               t["close"], t["volume"], "true" if closed else "false"))
    for f in ("close_time", "quote_volume", "trades"):
        if f in t:
            line += ',"%s":%s' % (f, t[f])
    return line + "}"


def truth_states(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def truth_expected(states, exchange, market, closed_only=False):
    """What candled prints for the sent states in order: the per-stream rule of expected()."""
    last_closed, last_open, last_t, out = {}, {}, {}, []
    fields = ("open", "high", "low", "close", "volume", "quote_volume", "trades")
    for t in states:
        if not t["sent"]:
            continue
        sym, ts = t["symbol"], t["timestamp"]
        closed = t["flag"] and t["is_closed"]
        if closed:
            if ts <= last_closed.get(sym, -1):
                continue
            last_closed[sym] = ts
        else:
            prev = last_t.get(sym)
            if ts <= last_closed.get(sym, -1) or ts < last_open.get(sym, -1) or \
                    (ts == last_open.get(sym) and prev is not None and all(t.get(f) == prev.get(f) for f in fields)):
                continue
            last_open[sym] = ts
            last_t[sym] = t
            if closed_only:
                continue
        out.append(truth_quote(exchange, market, t, closed))
    return out


def truth_allowed(states, exchange, market, infer_closed):
    """Every quote a single sent state could produce, without the per-stream rule."""
    allowed = set()
    for t in states:
        if t["sent"]:
            allowed.add(truth_quote(exchange, market, t, t["flag"] and t["is_closed"]))
        if infer_closed and t["sent"] and not t["flag"] and t["is_closed"]:
            allowed.add(truth_quote(exchange, market, t, True))
    return allowed


REST_PATH = {"spot": "/api/v3/klines", "usdm": "/fapi/v1/klines", "coinm": "/dapi/v1/klines"}


def rest_get(base, cafile, path):
    import ssl
    import urllib.request
    ctx = ssl.create_default_context(cafile=cafile) if base.startswith("https") else None
    with urllib.request.urlopen(base + path, context=ctx, timeout=10) as r:
        return json.loads(r.read().decode(), parse_float=str, parse_int=str)


def gateio_rest_quote(base, cafile, market, q):
    """The quote candled must print for a closed candle fetched from the simulator's Gate REST."""
    sec = q["timestamp"] // 1000
    if market == "spot":
        rows = rest_get(base, cafile, "/api/v4/spot/candlesticks?currency_pair=%s&interval=%s&from=%d&to=%d"
                        % (q["symbol"], q["interval"], sec, sec))
        if not rows:
            return None
        r = rows[0]
        t = {"symbol": q["symbol"], "interval": q["interval"], "timestamp": int(r[0]) * 1000, "open": r[5],
             "high": r[3], "low": r[4], "close": r[2], "volume": r[6], "quote_volume": r[1]}
    else:
        rows = rest_get(base, cafile, "/api/v4/futures/%s/candlesticks?contract=%s&interval=%s&from=%d&to=%d"
                        % (market, q["symbol"], q["interval"], sec, sec))
        if not rows:
            return None
        r = rows[0]
        t = {"symbol": q["symbol"], "interval": q["interval"], "timestamp": int(r["t"]) * 1000, "open": r["o"],
             "high": r["h"], "low": r["l"], "close": r["c"], "volume": r["v"]}
    return truth_quote("gateio", market, t, True)


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


def check_set(market, frames_path, quotes_path, no_holes, rest=None, cafile=None, truth=None,
              min_backfilled=0):
    if truth:
        exchange, infer_closed = truth
        allowed = truth_allowed(truth_states(frames_path), exchange, market, infer_closed)
        rest_quote_of = gateio_rest_quote if exchange == "gateio" else None
    else:
        # every quote any single frame could produce, without the per-stream rule
        allowed = set()
        for text in load_frames(frames_path):
            allowed.update(expected([text], market))
        rest_quote_of = rest_quote
    with open(quotes_path, encoding="utf-8") as f:
        got = [l.rstrip("\n") for l in f if l.strip()]
    closed = {}
    backfilled = 0
    for n, line in enumerate(got):
        q = json.loads(line)
        if line not in allowed:
            want = rest_quote_of(rest, cafile, market, q) if rest and rest_quote_of and q["is_closed"] else None
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
    if backfilled < min_backfilled:
        print("only %d closed quotes came from REST, expected at least %d" % (backfilled, min_backfilled),
              file=sys.stderr)
        return 1
    print("%d quotes, %d closed (%d only from REST), all exact and in order" %
          (len(got), sum(len(t) for t in closed.values()), backfilled))
    return 0


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    opts = {}
    i = 1
    while i < len(argv):
        if argv[i].startswith("--"):
            if argv[i] in ("--market", "--count", "--rest", "--cafile", "--exchange", "--min-backfilled"):
                opts[argv[i]] = argv[i + 1]
                args.remove(argv[i + 1])
                i += 1
            else:
                opts[argv[i]] = True
        i += 1
    cmd = args[0]
    market = opts.get("--market", "spot")
    truth = (opts.get("--exchange", "binance"), "--infer-closed" in opts) if "--truth" in opts else None
    if cmd == "check-set":
        return check_set(market, args[1], args[2], "--no-holes" in opts, opts.get("--rest"), opts.get("--cafile"),
                         truth, int(opts.get("--min-backfilled", 0)))
    if truth:
        exp = truth_expected(truth_states(args[1]), truth[0], market, closed_only="--closed-only" in opts)
    else:
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

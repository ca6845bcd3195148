#!/usr/bin/python3
"""Expected candled quotes from an exchange's kline frames, byte for byte.

The quote of interfaces.md is rebuilt here independently of the C encoder: decimal text is
copied from the frame as it was sent (JSON strings, or the raw token text of numbers), and the
same per-stream rule as candled is applied (a closed candle once per open time; an open update
only if its period has not closed and it is not older than, nor identical to, the last one sent).
Frames are Binance's ({"e":"kline",..}, raw or combined) or Bybit's ({"topic":"kline...",
"data":[..]}), chosen by --exchange (default binance).

  quotes.py expect [--exchange X] --market M FRAMES [--closed-only]     print the expected quote lines
  quotes.py check [--exchange X] --market M FRAMES QUOTES [--count N]   QUOTES must be a consecutive run of them
  quotes.py check-set [--exchange X] --market M FRAMES QUOTES [--rest BASE [--cafile PEM]] [--no-holes]
        under faults: every quote equals the quote of a frame that was sent (or, for a closed
        candle whose frame was never sent, the simulator's REST row for it: a backfill); closed
        candles come once per open time, in increasing order, and (with --no-holes) with no open
        time missing between the first and the last that a gap event does not announce exactly
  quotes.py check-client --market M FRAMES QUOTES --symbols a,B [--closed-only] [--count N]
        what one `candled serve` client got (QUOTES: its text frames, quotes and others mixed):
        per symbol (spelled as subscribed), every quote is byte for byte the quote of a frame the
        simulator sent, in the order sent; open updates may be skipped (latest-wins for a client
        that reads slower than they come), closed candles never
  quotes.py check-truth --exchange EX --market M TRUTH QUOTES [--count N] [--gaps]
        from candled-sim's --truth file (any exchange): the open quotes (is_closed:false) of
        QUOTES must be a consecutive run of the quotes of the open states that were sent (with
        --gaps, for runs that miss frames on reconnects: in the order they were sent).  A state
        whose frames carry no closed flag ("flag":false, Hyperliquid) is an open update on the
        wire even when it is the period's final one.  --count N counts every line.  Closed
        candles and gap events are truth.py's to check
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


# Bybit's interval names and candled's canonical ones
BYBIT_INTERVALS = {"1": "1m", "3": "3m", "5": "5m", "15": "15m", "30": "30m", "60": "1h", "120": "2h",
                   "240": "4h", "360": "6h", "720": "12h", "D": "1d", "W": "1w", "M": "1M"}
BYBIT_NAMES = {v: k for k, v in BYBIT_INTERVALS.items()}


def binance_klines(d, market):
    """The candles of one Binance frame, as the fields a quote shows."""
    if "data" in d and isinstance(d["data"], dict):
        d = d["data"]
    if d.get("e") != "kline":
        return []
    k = d["k"]
    volume, quote_volume = (k["q"], None) if market == "coinm" else (k["v"], k["q"])
    return [{"symbol": k["s"], "interval": k["i"], "t": int(k["t"]), "closed": k["x"] is True, "o": k["o"],
             "h": k["h"], "l": k["l"], "c": k["c"], "volume": volume, "quote_volume": quote_volume,
             "close_time": k["T"], "trades": k["n"]}]


def bybit_klines(d, market):
    """The candles of one Bybit push (the symbol is in the topic; inverse swaps the volumes)."""
    topic = d.get("topic")
    if not isinstance(topic, str) or not topic.startswith("kline.") or not isinstance(d.get("data"), list):
        return []
    symbol = topic.split(".", 2)[2]
    out = []
    for k in d["data"]:
        volume, quote_volume = (k["turnover"], k["volume"]) if market == "inverse" else (k["volume"], k["turnover"])
        out.append({"symbol": symbol, "interval": BYBIT_INTERVALS[k["interval"]], "t": int(k["start"]),
                    "closed": k["confirm"] is True, "o": k["open"], "h": k["high"], "l": k["low"], "c": k["close"],
                    "volume": volume, "quote_volume": quote_volume, "close_time": k["end"], "trades": None})
    return out


# OKX's bars and candled's canonical ones (UTC bars for 6h and longer)
OKX_BARS = {"1s": "1s", "1m": "1m", "3m": "3m", "5m": "5m", "15m": "15m", "30m": "30m", "1H": "1h", "2H": "2h",
            "4H": "4h", "6Hutc": "6h", "12Hutc": "12h", "1Dutc": "1d", "2Dutc": "2d", "3Dutc": "3d",
            "1Wutc": "1w", "1Mutc": "1M", "3Mutc": "3M"}
OKX_NAMES = {v: k for k, v in OKX_BARS.items()}


def okx_row(symbol, interval, r, market):
    """One OKX row [ts,o,h,l,c,vol,volCcy,volCcyQuote,confirm]: the base-currency volume is vol on
    spot, volCcy on contracts; volCcyQuote is the quote volume; no close time, no trade count."""
    return {"symbol": symbol, "interval": interval, "t": int(r[0]), "closed": r[8] == "1", "o": r[1], "h": r[2],
            "l": r[3], "c": r[4], "volume": r[5] if market == "spot" else r[6], "quote_volume": r[7],
            "close_time": None, "trades": None}


def okx_klines(d, market):
    """The candles of one OKX push (the symbol and the bar are in its arg)."""
    arg = d.get("arg")
    if not isinstance(arg, dict) or not str(arg.get("channel", "")).startswith("candle") or \
            not isinstance(d.get("data"), list):
        return []
    interval = OKX_BARS.get(arg["channel"][6:], arg["channel"][6:])
    return [okx_row(arg["instId"], interval, r, market) for r in d["data"]]


KLINES = {"binance": binance_klines, "bybit": bybit_klines, "okx": okx_klines}
VALUES = ("o", "h", "l", "c", "volume", "quote_volume", "trades")


def quote_line(exchange, market, symbol, k, closed):
    parts = [
        '{"type":"quote","exchange":"%s","contract_type":"%s","symbol":"%s","interval":"%s"'
        % (exchange, market, symbol, k["interval"]),
        ',"timestamp":%d' % k["t"],
        ',"open":%s,"high":%s,"low":%s,"close":%s,"volume":%s' % (k["o"], k["h"], k["l"], k["c"], k["volume"]),
        ',"is_closed":%s' % ("true" if closed else "false"),
    ]
    if k["close_time"] is not None:
        parts.append(',"close_time":%s' % k["close_time"])
    if k["quote_volume"] is not None:
        parts.append(',"quote_volume":%s' % k["quote_volume"])
    if k["trades"] is not None:
        parts.append(',"trades":%s' % k["trades"])
    return "".join(parts) + "}"


class StreamRule:
    """candled's per-stream rule: a closed candle once per open time; an open update only if its
    period has not closed, it is not older than the last one sent and not a repeat of it."""

    def __init__(self):
        self.last_closed, self.last_open, self.last_vals = {}, {}, {}

    def keep(self, sym, t, closed, vals):
        if closed:
            if t <= self.last_closed.get(sym, -1):
                return False
            self.last_closed[sym] = t
            return True
        if t <= self.last_closed.get(sym, -1) or t < self.last_open.get(sym, -1) or \
                (t == self.last_open.get(sym) and vals == self.last_vals.get(sym)):
            return False
        self.last_open[sym], self.last_vals[sym] = t, vals
        return True


def expected(frames, market, closed_only=False, symbols=None, exchange="binance"):
    last_closed, last_open, last_k, out = {}, {}, {}, []
    for text in frames:
        try:
            d = raw(text)
        except ValueError:
            continue
        if not isinstance(d, dict):
            continue
        for k in KLINES[exchange](d, market):
            sym, t, closed = k["symbol"], k["t"], k["closed"]
            if symbols is not None and sym not in symbols:
                continue
            if closed:
                if t <= last_closed.get(sym, -1):
                    continue
                last_closed[sym] = t
            else:
                prev = last_k.get(sym)
                if t <= last_closed.get(sym, -1) or t < last_open.get(sym, -1) or \
                        (t == last_open.get(sym) and prev is not None and all(k[f] == prev[f] for f in VALUES)):
                    continue
                last_open[sym] = t
                last_k[sym] = k
                if closed_only:
                    continue
            out.append(quote_line(exchange, market, symbols.get(sym, sym) if symbols else sym, k, closed))
    return out


REST_PATH = {"spot": "/api/v3/klines", "usdm": "/fapi/v1/klines", "coinm": "/dapi/v1/klines"}


PERIOD_MS = {"1m": 60000, "3m": 180000, "5m": 300000, "15m": 900000, "30m": 1800000, "1h": 3600000,
             "2h": 7200000, "4h": 14400000, "6h": 21600000, "12h": 43200000, "1d": 86400000, "1w": 604800000}


def fetch(url, cafile):
    import ssl
    import urllib.request
    ctx = ssl.create_default_context(cafile=cafile) if url.startswith("https") else None
    with urllib.request.urlopen(url, context=ctx, timeout=10) as r:
        return json.loads(r.read().decode(), parse_float=str, parse_int=str)


def rest_quote(base, cafile, market, q, exchange="binance"):
    """The quote candled must print for a closed candle fetched from the simulator's REST."""
    if exchange == "okx":
        rows = fetch("%s/api/v5/market/history-candles?instId=%s&bar=%s&after=%d&before=%d&limit=1" % (
            base, q["symbol"], OKX_NAMES[q["interval"]], q["timestamp"] + 1, q["timestamp"] - 1), cafile)["data"]
        return quote_line(exchange, market, q["symbol"], okx_row(q["symbol"], q["interval"], rows[0], market), True) \
            if rows else None
    if exchange == "bybit":
        page = fetch("%s/v5/market/kline?category=%s&symbol=%s&interval=%s&start=%d&end=%d&limit=1" % (
            base, market, q["symbol"], BYBIT_NAMES[q["interval"]], q["timestamp"], q["timestamp"]), cafile)
        rows = page["result"]["list"]
        if not rows:
            return None
        r = rows[0]
        volume, quote_volume = (r[6], r[5]) if market == "inverse" else (r[5], r[6])
        k = {"interval": q["interval"], "t": int(r[0]), "o": r[1], "h": r[2], "l": r[3], "c": r[4], "volume": volume,
             "quote_volume": quote_volume, "close_time": int(r[0]) + PERIOD_MS[q["interval"]] - 1, "trades": None}
        return quote_line(exchange, market, q["symbol"], k, True)
    rows = fetch("%s%s?symbol=%s&interval=%s&startTime=%d&endTime=%d&limit=1" % (
        base, REST_PATH[market], q["symbol"], q["interval"], q["timestamp"], q["timestamp"]), cafile)
    if not rows:
        return None
    r = rows[0]
    volume, quote_volume = (r[7], None) if market == "coinm" else (r[5], r[7])
    k = {"interval": q["interval"], "t": int(r[0]), "o": r[1], "h": r[2], "l": r[3], "c": r[4], "volume": volume,
         "quote_volume": quote_volume, "close_time": r[6], "trades": r[8]}
    return quote_line(exchange, market, q["symbol"], k, True)


def check_set(market, frames_path, quotes_path, no_holes, rest=None, cafile=None, exchange="binance"):
    frames = load_frames(frames_path)
    # every quote any single frame could produce, without the per-stream rule
    allowed = set()
    for text in frames:
        allowed.update(expected([text], market, exchange=exchange))
    with open(quotes_path, encoding="utf-8") as f:
        got = [l.rstrip("\n") for l in f if l.strip()]
    closed = {}
    gaps = {}
    backfilled = 0
    for n, line in enumerate(got):
        q = json.loads(line)
        if q["type"] == "gap":  # announced holes: the only jumps --no-holes accepts
            gaps.setdefault(q["symbol"], set()).add((q["from"], q["to"]))
            continue
        if line not in allowed:
            want = rest_quote(rest, cafile, market, q, exchange) if rest and q["is_closed"] else None
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
            step = min(b - a for a, b in zip(times, times[1:])) if len(times) > 1 else 0
            ends = dict(gaps.get(sym, ()))  # from -> to
            for a, b in zip(times, times[1:]):
                # a jump must be covered by gap events end to end: one, or one per period when the
                # periods missing reached their hold deadlines one after the other
                x = a + step
                while x < b and x in ends:
                    x = ends[x]
                if b - a != step and x != b:
                    print("%s: closed candles jump from %d to %d" % (sym, a, b), file=sys.stderr)
                    return 1
    print("%d quotes, %d closed (%d only from REST), %d gap events, all exact and in order" %
          (len(got) - sum(len(g) for g in gaps.values()), sum(len(t) for t in closed.values()), backfilled,
           sum(len(g) for g in gaps.values())))
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


def load_truth(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l, parse_float=str) for l in f if l.strip()]


def truth_quote(d, exchange, market, closed):
    """The quote line candled prints for one --truth state, with is_closed as given."""
    parts = [
        '{"type":"quote","exchange":"%s","contract_type":"%s","symbol":"%s","interval":"%s"'
        % (exchange, market, d["symbol"], d["interval"]),
        ',"timestamp":%d' % d["timestamp"],
        ',"open":%s,"high":%s,"low":%s,"close":%s,"volume":%s' % (d["open"], d["high"], d["low"], d["close"], d["volume"]),
        ',"is_closed":%s' % ("true" if closed else "false"),
    ]
    if "close_time" in d:
        parts.append(',"close_time":%d' % d["close_time"])
    if "quote_volume" in d:
        parts.append(',"quote_volume":%s' % d["quote_volume"])
    if "trades" in d:
        parts.append(',"trades":%d' % d["trades"])
    return "".join(parts) + "}"


def expected_from_truth(truth, exchange, market):
    """The quotes of the sent states under candled's per-stream rule (flagless states open)."""
    rule, out = StreamRule(), []
    for d in truth:
        if not d["sent"]:
            continue
        closed = d["is_closed"] and d["flag"]
        vals = tuple(d.get(f) for f in ("open", "high", "low", "close", "volume", "quote_volume", "trades"))
        if rule.keep(d["symbol"], d["timestamp"], closed, vals):
            out.append(truth_quote(d, exchange, market, closed))
    return out


def check_subsequence(exp, got):
    """got must appear in exp in order (frames may be missing between them)."""
    i = 0
    for n, line in enumerate(got):
        while i < len(exp) and exp[i] != line:
            i += 1
        if i == len(exp):
            print("open quote %d is not a sent state (or out of order):\n  %s" % (n + 1, line), file=sys.stderr)
            return 1
        i += 1
    print("%d open quotes exact, in the order sent" % len(got))
    return 0


def load_quotes(path, count):
    """The quote lines of a run; None (reported) if there are none or not `count` of them."""
    with open(path, encoding="utf-8") as f:
        got = [l.rstrip("\n") for l in f if l.strip()]
    if count is not None and len(got) != int(count):
        print("got %d quotes, expected %s" % (len(got), count), file=sys.stderr)
        return None
    if not got:
        print("no quotes", file=sys.stderr)
        return None
    return got


def check_truth(opts, truth_path, quotes_path):
    exchange, market = opts["--exchange"], opts.get("--market", "spot")
    truth = load_truth(truth_path)
    got = load_quotes(quotes_path, opts.get("--count"))
    if got is None:
        return 1
    opens = [l for l in got if '"is_closed":false' in l]
    if not opens:
        print("no open quotes", file=sys.stderr)
        return 1
    exp = [q for q in expected_from_truth(truth, exchange, market) if '"is_closed":false' in q]
    return (check_subsequence if "--gaps" in opts else check_run)(exp, opens)


def check(market, frames_path, quotes_path, count=None, closed_only=False, exchange="binance"):
    """`check`: the quotes of a run are a consecutive run of what the frames produce, byte for
    byte (and `count` of them if given); 0 if so, 1 with the reason on stderr."""
    exp = expected(load_frames(frames_path), market, closed_only=closed_only, exchange=exchange)
    got = load_quotes(quotes_path, count)
    return 1 if got is None else check_run(exp, got)


def check_run(exp, got):
    """got must be a consecutive run of exp."""
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


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    opts = {}
    i = 1
    while i < len(argv):
        if argv[i].startswith("--"):
            if argv[i] in ("--exchange", "--market", "--count", "--rest", "--cafile", "--symbols"):
                opts[argv[i]] = argv[i + 1]
                args.remove(argv[i + 1])
                i += 1
            else:
                opts[argv[i]] = True
        i += 1
    cmd = args[0]
    market = opts.get("--market", "spot")
    exchange = opts.get("--exchange", "binance")
    if cmd == "check-truth":
        return check_truth(opts, args[1], args[2])
    if cmd == "check-client":
        count = int(opts["--count"]) if "--count" in opts else None
        return check_client(market, args[1], args[2], opts["--symbols"].split(","), "--closed-only" in opts, count)
    if exchange not in KLINES:
        print("unknown exchange %s" % exchange, file=sys.stderr)
        return 2
    if cmd == "check-set":
        return check_set(market, args[1], args[2], "--no-holes" in opts, opts.get("--rest"), opts.get("--cafile"),
                         exchange)
    if cmd == "expect":
        for line in expected(load_frames(args[1]), market, closed_only="--closed-only" in opts, exchange=exchange):
            print(line)
        return 0
    return check(market, args[1], args[2], opts.get("--count"), "--closed-only" in opts, exchange)

if __name__ == "__main__":
    sys.exit(main(sys.argv))

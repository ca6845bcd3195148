#!/usr/bin/python3
"""Expected candled quotes from Binance kline frames, byte for byte.

The quote of interfaces.md is rebuilt here independently of the C encoder: decimal text is
copied from the frame as it was sent (JSON strings, or the raw token text of numbers), and the
same per-stream rule as candled is applied (a closed candle once per open time; an open update
only if its period has not closed and it is not older than the last one sent).

  quotes.py expect --market M FRAMES [--closed-only]     print the expected quote lines
  quotes.py check --market M FRAMES QUOTES [--count N]   QUOTES must be a consecutive run of them
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


def expected(frames, market, closed_only=False, symbols=None):
    last_closed, last_open, out = {}, {}, []
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
            if t <= last_closed.get(sym, -1) or t < last_open.get(sym, -1):
                continue
            last_open[sym] = t
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


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    opts = {}
    i = 1
    while i < len(argv):
        if argv[i].startswith("--"):
            if argv[i] in ("--market", "--count"):
                opts[argv[i]] = argv[i + 1]
                args.remove(argv[i + 1])
                i += 1
            else:
                opts[argv[i]] = True
        i += 1
    cmd = args[0]
    market = opts.get("--market", "spot")
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

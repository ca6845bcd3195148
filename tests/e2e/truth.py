#!/usr/bin/python3
"""truth.py - checks what candled printed against the simulator's ground truth (--truth).

    truth.py TRUTH.jsonl QUOTES.jsonl [--exchange E] [--market M] [--min-closed N] [--max-gaps N]
             [--min-symbols N] [--min-unsent N] [--min-sent N]

TRUTH is candled-sim's --truth file: one line per generated candle state, with the exact text
candled must print and whether the frame was sent at all (a skipped close is only in REST).
QUOTES is candled's JSON lines output (quotes and gap events).

For every symbol, from its first closed quote to its last, every period's closed candle must be
there exactly once, in order, with exactly the simulator's values (open, high, low, close,
volume, close_time, quote_volume, trades as text; for a close the simulator later revised, the
original or the revision, whichever came first) - or be covered by a gap event that says so
exactly; and no closed quote may be one the simulator never made.  Open quotes, if any, must be
values the simulator generated for that period.  A closed candle whose close the simulator never
sent (--skip-close-every) can only have come from REST: --min-unsent N asks for at least N of
those among the closed quotes checked, --min-sent N for at least N whose close was sent on the
WebSocket.  Prints one summary line of figures (JSON) on success; exit status 1 with the first
discrepancy otherwise.
Standard library only.
"""
import json
import sys

FIELDS = ("open", "high", "low", "close", "volume", "close_time", "quote_volume", "trades")


def text_fields(q):
    return tuple(None if q.get(k) is None else str(q[k]) for k in FIELDS)


def load(path):
    with open(path, encoding="utf-8") as f:
        # numbers as their exact text: the quote's decimals must be byte-identical
        return [json.loads(l, parse_float=str, parse_int=str) for l in f if l.strip()]


def main(argv, out=None, err=None):
    """The command line's check on argv (its arguments); out and err: where its summary and its
    reason go (default: stdout, stderr; a test running checks side by side gives each its own)."""
    out, err = out or sys.stdout, err or sys.stderr
    args = [a for a in argv if not a.startswith("--")]
    opts = {}
    it = iter(argv)
    for a in it:
        if a.startswith("--"):
            opts[a] = next(it, None)
    if len(args) < 2:
        print(__doc__, file=err)
        return 2
    truth, quotes = load(args[0]), load(args[1])
    closed_truth, revised, open_truth, unsent, unsent_keys = {}, {}, {}, 0, set()
    for t in truth:
        key = (t["symbol"], int(t["timestamp"]))
        if t.get("revision") is True:  # the exchange corrected a close: either value may be first
            revised[key] = text_fields(t)
        elif t["is_closed"] is True:
            closed_truth[key] = text_fields(t)
            unsent += t["sent"] is False
            if t["sent"] is False:
                unsent_keys.add(key)
            if t.get("flag") is False and t["sent"] is True:
                # no closed flag on the wire (Hyperliquid): the final state went out as an update
                open_truth.setdefault(key, set()).add(text_fields(t))
        else:
            open_truth.setdefault(key, set()).add(text_fields(t))
    got, gaps, opens, took_revision = {}, {}, 0, 0
    for n, q in enumerate(quotes, 1):
        if opts.get("--exchange") and q.get("exchange") != opts["--exchange"]:
            print("line %d: exchange %s" % (n, q.get("exchange")), file=err)
            return 1
        if opts.get("--market") and q.get("contract_type") != opts["--market"]:
            print("line %d: contract_type %s" % (n, q.get("contract_type")), file=err)
            return 1
        sym = q["symbol"]
        if q["type"] == "gap":
            gaps.setdefault(sym, []).append((int(q["from"]), int(q["to"]), int(q["missing"]), q["reason"]))
            continue
        ts = int(q["timestamp"])
        if q["is_closed"] is not True:
            if text_fields(q) not in open_truth.get((sym, ts), ()):
                print("line %d: an open quote the simulator never made: %s" % (n, json.dumps(q)), file=err)
                return 1
            opens += 1
            continue
        want = closed_truth.get((sym, ts))
        if want is None:
            print("line %d: a closed quote for a period the simulator never closed: %s" % (n, json.dumps(q)),
                  file=err)
            return 1
        if text_fields(q) == revised.get((sym, ts)):
            took_revision += 1
        elif text_fields(q) != want:
            print("line %d: closed candle values differ:\n  got  %s\n  want %s" % (n, text_fields(q), want),
                  file=err)
            return 1
        times = got.setdefault(sym, [])
        if times and ts <= times[-1]:
            print("line %d: %s closed %d after %d (%s)" % (n, sym, ts, times[-1],
                                                      "duplicate" if ts == times[-1] else "out of order"),
                  file=err)
            return 1
        times.append(ts)
    checked = lost = 0
    from_rest = sum(1 for sym, times in got.items() for ts in times if (sym, ts) in unsent_keys)
    for sym, times in got.items():
        expected = sorted(ts for (s, ts) in closed_truth if s == sym and times[0] <= ts <= times[-1])
        have = set(times)
        covered = set()
        for a, b, missing, _ in gaps.get(sym, ()):
            span = [ts for ts in expected if a <= ts < b]
            if len(span) != missing or any(ts in have for ts in span):
                print("%s: gap [%d, %d) of %d does not match the missing periods %s" % (sym, a, b, missing, span),
                      file=err)
                return 1
            covered.update(span)
        for ts in expected:
            if ts not in have and ts not in covered:
                print("%s: closed candle %d missing (no gap event for it)" % (sym, ts), file=err)
                return 1
        checked += len(times)
        lost += len(covered)
    n_gaps = sum(len(g) for g in gaps.values())
    summary = {"symbols": len(got), "closed_checked": checked, "open_checked": opens, "gap_events": n_gaps,
               "periods_in_gaps": lost, "closes_never_sent": unsent,
               "closed_checked_never_sent": from_rest, "revisions_sent": len(revised),
               "revisions_kept": took_revision}
    print("truth: " + json.dumps(summary), file=out)
    if len(got) < int(opts.get("--min-symbols") or 1):
        print("only %d symbols had closed candles" % len(got), file=err)
        return 1
    if checked < int(opts.get("--min-closed") or 1):
        print("only %d closed candles checked" % checked, file=err)
        return 1
    if from_rest < int(opts.get("--min-unsent") or 0):
        print("only %d closed candles whose close was never sent (from REST), %s wanted" % (from_rest, opts["--min-unsent"]),
              file=err)
        return 1
    if checked - from_rest < int(opts.get("--min-sent") or 0):
        print("only %d closed candles whose close was sent, %s wanted" % (checked - from_rest, opts["--min-sent"]),
              file=err)
        return 1
    if opts.get("--max-gaps") is not None and n_gaps > int(opts["--max-gaps"]):
        print("%d gap events, at most %s allowed" % (n_gaps, opts["--max-gaps"]), file=err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/python3
"""rotation_churn.py - live subscription churn against `candled serve` while its upstream
connections rotate, and the check of who held which stream at the simulator.

  rotation_churn.py churn --ws-port P --pool A,B,... --final A,B --seconds S --settle S
      one client subscribes and unsubscribes symbols of the pool at random (seeded), about 4
      requests a second for S seconds, then subscribes exactly --final and stays --settle
      seconds; prints {"churn_end_ms":..., "done_ms":..., "requests":...} (done: just before
      it closes, which takes its streams away); every request must be answered
      (subscribed / unsubscribed), none with an error
  rotation_churn.py check SIM_STDERR --wanted A,B,... --after MS --until MS [--max-overlap-ms N]
      reads candled-sim --log-subs lines ("SUBS <ms> <client> +|-|x <stream>"): no stream is
      ever held by more than three upstream connections (a loaded machine was seen with an old
      connection still in its 1 s drain while the stream's current connection, re-subscribed
      after churn, was already being replaced), or by more than one for longer than
      --max-overlap-ms (default 4000: a rotation's try and drain, or an unsubscribe crossing a
      subscribe); from --after on, every wanted stream is held by at least one connection at
      every instant (make-before-break: never a moment without) and no other stream by any;
      lines from --until on (the shutdown) are not looked at

Exit status 0 when every check held; otherwise 1 with the failed check on stderr.
Standard library only.
"""
import json
import random
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import wsclient  # noqa: E402


def request(op, symbols):
    r = {"exchange": "binance", "contract_type": "spot", "symbols": symbols, "interval": "1s",
         "closed_only": True}
    if op:
        r["op"] = op
    return json.dumps(r)


def churn(opts):
    pool, final = opts["--pool"].split(","), opts["--final"].split(",")
    rng = random.Random(7)
    ws = wsclient.connect("127.0.0.1", int(opts["--ws-port"]), "/")
    held, sent = set(), 0
    # the client does not read while it churns: its replies and quotes wait in the socket
    end = time.time() + float(opts["--seconds"])
    while time.time() < end:
        sym = rng.choice(pool)
        ws.send_text(request("unsubscribe" if sym in held else None, [sym]))
        held ^= {sym}
        sent += 1
        time.sleep(0.25)
    for sym in sorted(held - set(final)):
        ws.send_text(request("unsubscribe", [sym]))
        sent += 1
    for sym in sorted(set(final) - held):
        ws.send_text(request(None, [sym]))
        sent += 1
    churn_end = int(time.time() * 1000)
    time.sleep(float(opts["--settle"]))
    replies, deadline = 0, time.monotonic() + 30
    try:  # quotes keep coming: read until every request is answered
        while replies < sent:
            kind, payload = ws.recv(timeout=deadline - time.monotonic())
            if kind != "text":
                print("the server closed the churning client: %r" % (payload,), file=sys.stderr)
                return 1
            t = json.loads(payload).get("type")
            if t == "error":
                print("error reply: %s" % payload, file=sys.stderr)
                return 1
            replies += t in ("subscribed", "unsubscribed")
    except OSError:  # socket.timeout
        pass
    done = int(time.time() * 1000)  # before the close takes the client's streams away
    ws.close()
    if replies != sent:
        print("%d requests, %d replies" % (sent, replies), file=sys.stderr)
        return 1
    print(json.dumps({"churn_end_ms": churn_end, "done_ms": done, "requests": sent}))
    return 0


def check(path, opts):
    wanted = {s.lower() for s in opts["--wanted"].split(",")}
    after, until = int(opts["--after"]), int(opts["--until"])
    max_overlap = int(opts.get("--max-overlap-ms", "4000"))
    holders, by_client, double_since = {}, {}, {}
    events, worst = 0, 0

    def verify(now, key):
        nonlocal worst
        n = len(holders.get(key, ()))
        if n > 3:  # an old one still draining, the current one and its replacement at most
            raise AssertionError("%s held by %d connections at %d" % (key, n, now))
        if n >= 2:
            double_since.setdefault(key, now)
        elif key in double_since:
            worst = max(worst, now - double_since.pop(key))
        if now >= after:
            want = key.split("@")[0] in wanted
            if want and n == 0:
                raise AssertionError("%s held by no connection at %d" % (key, now))
            if not want and n:
                raise AssertionError("%s still held at %d, nobody wants it" % (key, now))

    with open(path, encoding="utf-8") as f:
        lines = [l.split() for l in f if l.startswith("SUBS ")]
    try:
        for _, ms, client, op, key in lines:
            now = int(ms)
            if now >= until:
                break
            events += 1
            if op == "+":
                holders.setdefault(key, set()).add(client)
                by_client.setdefault(client, set()).add(key)
                verify(now, key)
            elif op == "-":
                holders[key].discard(client)
                by_client[client].discard(key)
                verify(now, key)
            else:
                for k in by_client.pop(client, set()):
                    holders[k].discard(client)
                    verify(now, k)
        for key, since in double_since.items():  # overlaps still going at --until
            worst = max(worst, until - since)
        if worst > max_overlap:
            raise AssertionError("a stream was held by two connections for %d ms" % worst)
        held = {k.split("@")[0] for k, h in holders.items() if h}
        if held != wanted:
            raise AssertionError("held at the end %s, wanted %s" % (sorted(held), sorted(wanted)))
    except AssertionError as e:
        print("subscriptions: %s" % e, file=sys.stderr)
        return 1
    print(json.dumps({"events": events, "streams": len(holders), "longest_overlap_ms": worst}))
    return 0


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    opts, it = {}, iter(argv[1:])
    for a in it:
        if a.startswith("--"):
            opts[a] = next(it)
            args.remove(opts[a]) if opts[a] in args else None
    if args[:1] == ["churn"]:
        return churn(opts)
    if args[:1] == ["check"] and len(args) == 2:
        return check(args[1], opts)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

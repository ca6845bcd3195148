#!/usr/bin/python3
"""Throughput, latency and memory of `candled stream` against candled-sim in flood mode.

For each stream count the simulator floods Binance kline frames over loopback as fast as candled
reads them; candled parses every frame with the Lua adapter, checks it in C and writes the quote
to stdout (/dev/null here).  Printed per run: quotes, candled's CPU seconds (user+sys, from
wait4), quotes per CPU-second, wall-clock quotes/s, p50/p99 latency from frame received to quote
written (candled's own summary line), and candled's peak RSS.  Not a test: nothing is asserted.

  bench_stream.py BUILD_DIR [--streams 1,100,1000] [--quotes N]
"""
import json
import os
import subprocess
import sys
import time


def run(build, n, quotes):
    syms = ["S%04dUSDT" % i for i in range(n)]
    port_file = "/tmp/candled-bench-port.%d" % os.getpid()
    if os.path.exists(port_file):
        os.unlink(port_file)
    sim = subprocess.Popen([os.path.join(build, "candled-sim"), "--exchange", "binance", "--symbols", ",".join(syms),
                            "--interval", "1m", "--flood", "--port", "0", "--port-file", port_file],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port = None
    for _ in range(200):
        try:
            with open(port_file) as f:
                port = int(f.read().strip() or 0) or None
        except (OSError, ValueError):
            port = None
        if port:
            break
        time.sleep(0.05)
    if os.path.exists(port_file):
        os.unlink(port_file)
    if port is None:
        sim.kill()
        raise SystemExit("candled-sim did not start")
    t0 = time.monotonic()
    with open(os.devnull, "w") as null:
        cand = subprocess.Popen([os.path.join(build, "candled"), "stream", "binance"] + syms +
                                ["--limit", str(quotes), "--ws-url", "ws://127.0.0.1:%d/ws" % port],
                                stdout=null, stderr=subprocess.PIPE, text=True)
        err = cand.stderr.read()
        _, status, ru = os.wait4(cand.pid, 0)
    wall = time.monotonic() - t0
    sim.terminate()
    sim.wait()
    summary = {}
    for line in err.splitlines():
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if d.get("msg") == "stream finished":
            summary = d
    cpu = ru.ru_utime + ru.ru_stime
    got = int(summary.get("quotes", 0))
    return {
        "streams": n, "quotes": got, "exit": os.waitstatus_to_exitcode(status),
        "cpu_s": round(cpu, 3), "quotes_per_cpu_s": int(got / cpu) if cpu else 0,
        "wall_quotes_per_s": int(got / wall) if wall else 0,
        "p50_us": int(summary.get("latency_p50_us", 0)), "p99_us": int(summary.get("latency_p99_us", 0)),
        "peak_rss_mb": round(ru.ru_maxrss / 1024.0, 1),
    }


def main():
    build = sys.argv[1]
    streams, quotes = [1, 100, 1000], 500000
    args = sys.argv[2:]
    for i, a in enumerate(args):
        if a == "--streams":
            streams = [int(x) for x in args[i + 1].split(",")]
        if a == "--quotes":
            quotes = int(args[i + 1])
    print("%8s %9s %8s %14s %12s %8s %8s %9s" % ("streams", "quotes", "cpu_s", "quotes/cpu_s", "wall q/s",
                                                  "p50_us", "p99_us", "rss_MB"))
    for n in streams:
        r = run(build, n, quotes)
        print("%8d %9d %8.2f %14d %12d %8d %8d %9.1f%s" % (r["streams"], r["quotes"], r["cpu_s"],
              r["quotes_per_cpu_s"], r["wall_quotes_per_s"], r["p50_us"], r["p99_us"], r["peak_rss_mb"],
              "" if r["exit"] == 0 else "  (exit %d)" % r["exit"]))
        sys.stdout.flush()


if __name__ == "__main__":
    main()

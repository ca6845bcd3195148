#!/usr/bin/python3
"""The reload pause of `candled serve`: how long the event loop stops while a reload runs.

candled-sim (Binance, 1s candles) serves N streams; `candled serve` pins all of them from
config.lua (packed CONNECTOR_MAX_SYMBOL_PER_WS per upstream connection) and one WebSocket client
reads the first 100.  The bench then asks for K reloads through POST /-/reload, alternating an
unchanged config.lua and one with a symbol removed (so half the reloads also apply a
subscription diff).  A reload runs on the loop between callbacks, so its duration
(`duration_ms` in the answer) is the stall every connection sees.  Printed: the reload duration
(min / median / p90 / max), the largest gap between two messages the client saw during the
reloads against the largest before them, upstream reconnections and simulator connections (both
must not move), and serve's RSS before and after the reloads.  Not a test.

  bench_reload.py BUILD_DIR [--streams 1000] [--reloads 20]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import wsclient  # noqa: E402

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def wait_line(path, proc, prefix):
    for _ in range(400):
        if os.path.exists(path):
            with open(path) as f:
                for line in f:
                    if line.startswith(prefix):
                        return line
        if proc.poll() is not None:
            raise RuntimeError("process exited")
        time.sleep(0.05)
    raise RuntimeError("no %r line in %s" % (prefix, path))


def rss(pid):
    with open("/proc/%d/statm" % pid) as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def metric(port, name):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def post_reload(port):
    req = urllib.request.Request("http://127.0.0.1:%d/-/reload" % port, data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def write_config(path, sim_port, syms):
    quoted = ",".join('"%s"' % s for s in syms)
    with open(path, "w") as f:
        f.write("return {\n  server = { port = 0, health_port = 0, linger_seconds = 0 },\n"
                "  exchanges = { binance = { spot = { ws_url = \"ws://127.0.0.1:%d/ws\", "
                "rest_url = \"http://127.0.0.1:%d\" } } },\n"
                "  subscriptions = { { exchange = \"binance\", market = \"spot\", symbols = { %s }, "
                "interval = \"1s\" } },\n}\n" % (sim_port, sim_port, quoted))


def reader(port, syms, gaps, stop):
    ws = wsclient.connect("127.0.0.1", port, "/")
    ws.send_text(json.dumps({"exchange": "binance", "contract_type": "spot", "symbols": syms, "interval": "1s"}))
    last = None
    while not stop.is_set():
        kind, _ = ws.recv(10)
        now = time.monotonic()
        if kind == "text":
            if last is not None:
                gaps.append((now, now - last))
            last = now


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--streams", type=int, default=1000)
    ap.add_argument("--reloads", type=int, default=20)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="cdl-bench-reload.")
    procs = []
    try:
        sim_err = os.path.join(tmp, "sim.err")
        sim_out = os.path.join(tmp, "sim.out")
        sim = subprocess.Popen([os.path.join(a.build, "candled-sim"), "--exchange", "binance", "--symbol-count",
                                str(a.streams), "--interval", "1s", "--rate", "2", "--port", "0"],
                               stdout=open(sim_out, "w"), stderr=open(sim_err, "w"))
        procs.append(sim)
        sim_port = int(wait_line(sim_out, sim, "PORT ").split()[1])
        syms = ["SYM%04dUSDT" % i for i in range(1, a.streams + 1)]
        cfg = os.path.join(tmp, "config.lua")
        shutil.copytree(os.path.join(SRC, "adapters"), os.path.join(tmp, "adapters"))
        shutil.copytree(os.path.join(SRC, "lua"), os.path.join(tmp, "lua"))
        write_config(cfg, sim_port, syms)
        pf = os.path.join(tmp, "ports")
        serve = subprocess.Popen([os.path.join(a.build, "candled"), "serve", "--config", cfg, "--port-file", pf],
                                 stderr=open(os.path.join(tmp, "serve.err"), "w"))
        procs.append(serve)
        ports = json.loads(wait_line(pf, serve, "{"))
        ws_port, hp = ports["ws_port"], ports["health_port"]
        gaps, stop = [], threading.Event()
        th = threading.Thread(target=reader, args=(ws_port, syms[:100], gaps, stop), daemon=True)
        th.start()
        time.sleep(6)  # every connection up, candles flowing
        rss0, t_start = rss(serve.pid), time.monotonic()
        durations = []
        for i in range(a.reloads):
            write_config(cfg, sim_port, syms if i % 2 == 0 else syms[:-1])
            r = post_reload(hp)
            if r["result"] != "ok":
                raise RuntimeError("reload refused: %s" % r)
            durations.append(r["duration_ms"])
            time.sleep(0.5)
        t_end = time.monotonic()
        rss1 = rss(serve.pid)
        reconn = metric(hp, "connector_reconnections_total")
        stop.set()
        th.join(15)
        before = [g for t, g in gaps if t < t_start]
        during = [g for t, g in gaps if t_start <= t <= t_end]
        durations.sort()
        n = len(durations)
        print("streams %d, reloads %d: reload duration ms min %.2f median %.2f p90 %.2f max %.2f"
              % (a.streams, n, durations[0], durations[n // 2], durations[min(n - 1, int(n * 0.9))], durations[-1]))
        print("client (100 streams): largest gap between messages %.1f ms before the reloads, %.1f ms during"
              % (1000 * max(before or [0]), 1000 * max(during or [0])))
        print("upstream reconnections %d; serve RSS %.1f MB before the reloads, %.1f MB after"
              % (reconn, rss0 / 1e6, rss1 / 1e6))
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        with open(os.path.join(tmp, "sim.err")) as f:
            counters = [l for l in f if l.startswith('{"candled_sim"')]
        if counters:
            c = json.loads(counters[-1])["candled_sim"]
            print("simulator: %d upstream connections, %d subscribes, %d unsubscribes"
                  % (c["clients"], c["subscribes"], c["unsubscribes"]))
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Fan-out of `candled serve`: one flooded upstream, many WebSocket clients on the same streams.

candled-sim --flood sends Binance kline frames as fast as candled reads them; `candled serve`
subscribes each stream once upstream and writes every quote to every client (open candles are
latest-wins per client, so a client slower than the flood gets the newest values, not a backlog).
Each client is a separate process counting the quote frames it reads for a fixed time (Python
clients read slower than the flood, so what they get is bounded by them; the point is that every
client keeps getting quotes and memory stays flat).  Printed per run: upstream frames parsed,
quotes written to clients (connector_client_quotes_total), serve's CPU seconds (from /proc),
(frames + quotes) per CPU-second, and serve's RSS.  Not a test.

  bench_serve.py BUILD_DIR [--clients 1,10,50] [--streams 10] [--seconds 5]
"""
import json
import multiprocessing
import os
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import wsclient  # noqa: E402


def wait_file(path, proc):
    for _ in range(400):
        if os.path.exists(path) and os.path.getsize(path) > 0:
            with open(path) as f:
                return f.read()
        if proc.poll() is not None:
            raise RuntimeError("process exited")
        time.sleep(0.05)
    raise RuntimeError("no port file")


def client(port, syms, seconds, out):
    ws = wsclient.connect("127.0.0.1", port, "/")
    ws.send_text(json.dumps({"exchange": "binance", "contract_type": "spot", "symbols": syms, "interval": "1m"}))
    n, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        kind, _ = ws.recv(10)
        n += kind == "text"
    ws.close()
    out.put(n)


def cpu_rss(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / tick
    with open("/proc/%d/statm" % pid) as f:
        rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return cpu, rss


def metric(port, name):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.split()[-1])
    return 0.0


def run(build, n_clients, n_streams, seconds):
    tmp = "/tmp/candled-bench-serve.%d" % os.getpid()
    os.makedirs(tmp, exist_ok=True)
    for name in ("sim.port", "serve.ports"):
        if os.path.exists(os.path.join(tmp, name)):
            os.unlink(os.path.join(tmp, name))
    syms = ["S%04dUSDT" % i for i in range(n_streams)]
    sim = subprocess.Popen([os.path.join(build, "candled-sim"), "--exchange", "binance", "--symbols", ",".join(syms),
                            "--interval", "1m", "--flood", "--port", "0", "--port-file", tmp + "/sim.port"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    serve = None
    try:
        sim_port = int(wait_file(tmp + "/sim.port", sim))
        with open(tmp + "/config.lua", "w") as f:
            f.write('return { server = { port = 0, health_port = 0, drain_grace_seconds = 0, max_clients = 1000 },'
                    ' log = { level = "warn" },'
                    ' exchanges = { binance = { spot = { ws_url = "ws://127.0.0.1:%d/ws" } } } }' % sim_port)
        serve = subprocess.Popen([os.path.join(build, "candled"), "serve", "--config", tmp + "/config.lua",
                                  "--port-file", tmp + "/serve.ports"], stderr=subprocess.DEVNULL)
        ports = json.loads(wait_file(tmp + "/serve.ports", serve))
        q = multiprocessing.Queue()
        procs = [multiprocessing.Process(target=client, args=(ports["ws_port"], syms, seconds, q))
                 for _ in range(n_clients)]
        cpu0, _ = cpu_rss(serve.pid)
        q0 = metric(ports["health_port"], "connector_client_quotes_total")
        f0 = metric(ports["health_port"], "connector_frames_received_total")
        for p in procs:
            p.start()
        got = [q.get(timeout=seconds + 60) for _ in procs]
        for p in procs:
            p.join()
        cpu1, rss = cpu_rss(serve.pid)
        written = metric(ports["health_port"], "connector_client_quotes_total") - q0
        frames = metric(ports["health_port"], "connector_frames_received_total") - f0
        cpu = cpu1 - cpu0
        print("clients %4d  streams %3d  upstream frames %8d  quotes to clients %8d (read %8d)  "
              "serve CPU %.2f s  (frames + quotes) / CPU-s %7.0f  RSS %.1f MB" %
              (n_clients, n_streams, frames, written, sum(got), cpu, (frames + written) / cpu if cpu else 0,
               rss / 1e6))
    finally:
        if serve:
            serve.terminate()
            serve.wait(30)
        sim.terminate()
        sim.wait(30)


def main(argv):
    build = argv[1] if len(argv) > 1 and not argv[1].startswith("--") else "build"
    opts = dict(zip(argv[2::2], argv[3::2])) if len(argv) > 2 else {}
    clients = [int(x) for x in opts.get("--clients", "1,10,50").split(",")]
    for n in clients:
        run(build, n, int(opts.get("--streams", "10")), float(opts.get("--seconds", "5")))


if __name__ == "__main__":
    main(sys.argv)

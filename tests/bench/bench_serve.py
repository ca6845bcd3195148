#!/usr/bin/python3
"""Fan-out of `candled serve`: 1,000 Binance streams from candled-sim, many WebSocket clients.

Paced mode (the default): candled-sim generates 1s candles for 1,000 symbols at its default rate
of one open update per second per stream, so every second each stream sends its closing frame
(E = close time + 1) and at once the next period's first open update (E = open time): 2,000
frames per second, all due on the second boundary.  `candled serve` subscribes each stream once
upstream; every client subscribes to all 1,000 in one request and so should get 2,000 quotes per
second.  The event time of every quote is known from the quote alone (an open quote's
`timestamp`, a closed quote's `timestamp` + the interval), so the latency printed is from the
exchange event time (the simulator's scheduled send time, wall clock) to the moment the client's
recv() returned the bytes: simulator lateness, candled and the kernel, all on one machine.

Flood mode (--flood): candled-sim sends frames as fast as candled reads them (throughput only:
flood frames carry no event time in the quote, so no latency).  --direct: the clients read
candled-sim itself (raw kline frames, latency from their E): the simulator's own share.

Clients are plain sockets multiplexed with selectors over a few worker processes, each
timestamping every recv(); the quotes of a chunk are counted with one bytes.count, and since
every quote of a paced burst has the same event time, a chunk's latency is read from its first
quote and weighted by its count (a chunk spanning two bursts is read quote by quote), so that
Python is not the bottleneck before candled is.  Quotes are counted during a window that starts
after a warm-up (every client subscribed and receiving), half-way between two bursts.  Printed
per client count: quotes/s per client (mean, min) and in total, what the server says it wrote
(connector_client_quotes_total), latency p50/p99/max, candled's CPU % (of one core) and RSS over
the window, the simulator's and the clients' CPU %.  Not a test: nothing is asserted.

  bench_serve.py BUILD_DIR [--clients 1,10,100] [--streams 1000] [--seconds 10] [--warmup 4]
                           [--workers 4] [--flood] [--direct]
"""
import json
import multiprocessing
import os
import selectors
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import wsclient  # noqa: E402

def wait_file(path, proc):
    for _ in range(600):
        if os.path.exists(path) and os.path.getsize(path) > 0:
            with open(path) as f:
                return f.read()
        if proc.poll() is not None:
            raise RuntimeError("process exited")
        time.sleep(0.05)
    raise RuntimeError("no port file " + path)


QUOTE = b'{"type":"quote"'
KLINE = b'{"e":"kline"'  # candled-sim's raw frames (--direct)


class Conn:
    """One client: its socket, the last bytes of its previous chunk, its counts and latencies."""

    def __init__(self, ws, pattern):
        self.pattern = pattern
        self.sock = ws.sock
        self.tail = bytes(ws.buf)
        self.quotes = 0
        self.closed = False
        self.lat = []  # (latency in us, number of quotes with it)


def event_us(buf, at):
    """Event time (us) of the message starting at buf[at]; None if it is cut.  A quote's is its
    timestamp (+ 1 s when closed); a raw kline frame's (--direct) is its E."""
    if buf.startswith(KLINE, at):
        i = at + len(KLINE) + 5
        j = buf.find(b',', i)
        return int(buf[i:j]) * 1000 if j > 0 else None
    i = buf.find(b'"timestamp":', at)
    j = buf.find(b',', i)
    k = buf.find(b'"is_closed":', j)
    if i < 0 or j < 0 or k < 0 or len(buf) < k + 13:
        return None
    return (int(buf[i + 12:j]) + (1000 if buf[k + 12] == 0x74 else 0)) * 1000


def chunk(c, data, t_us, inside, latency):
    """Counts the messages of one recv() (those split across recvs included, via the kept tail).
    Every message of one paced burst has the same event time (the second boundary), so the
    chunk's latency is taken from its first message and weighted by its count; a chunk spanning
    two bursts (first and last event times differ) is measured message by message."""
    buf = c.tail + data
    c.tail = buf[-(len(c.pattern) - 1):]
    if not inside:
        return
    n = buf.count(c.pattern)
    c.quotes += n
    if not latency or not n:
        return
    first, last = buf.find(c.pattern), buf.rfind(c.pattern)
    e0, e1 = event_us(buf, first), event_us(buf, last)
    if e0 is not None and (e0 == e1 or e1 is None):
        c.lat.append((t_us - e0, n))
        return
    at = first
    while at >= 0:
        e = event_us(buf, at)
        if e is not None:
            c.lat.append((t_us - e, 1))
        at = buf.find(c.pattern, at + 1)


def worker(port, n, syms, t0, t1, o, out):
    sel = selectors.DefaultSelector()
    conns = []
    if o["direct"]:
        path, req = "/ws", json.dumps({"method": "SUBSCRIBE", "params": [x.lower() + "@kline_1s" for x in syms],
                                        "id": 1})
    else:
        path, req = "/", json.dumps({"exchange": "binance", "contract_type": "spot", "symbols": syms,
                                     "interval": "1s"})
    for _ in range(n):
        ws = wsclient.connect("127.0.0.1", port, path, timeout=60)
        ws.send_text(req)
        ws.sock.setblocking(False)
        c = Conn(ws, KLINE if o["direct"] else QUOTE)
        conns.append(c)
        sel.register(ws.sock, selectors.EVENT_READ, c)
    t0_us, t1_us = int(t0 * 1e6), int(t1 * 1e6)
    cpu0 = time.process_time()
    while time.time() < t1 + 0.2:
        for key, _ in sel.select(0.1):
            c = key.data
            try:
                data = c.sock.recv(1 << 20)
            except BlockingIOError:
                continue
            t_us = time.time_ns() // 1000
            if not data:
                sel.unregister(c.sock)
                c.closed = True
                continue
            chunk(c, data, t_us, t0_us <= t_us < t1_us, not o["flood"])
    cpu = time.process_time() - cpu0
    lat = [x for c in conns for x in c.lat]
    for c in conns:
        c.sock.close()
    out.put(([c.quotes for c in conns], sum(c.closed for c in conns), lat, cpu))


def proc_stat(pid):
    """(CPU seconds, RSS bytes) of a process, from /proc."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    with open("/proc/%d/statm" % pid) as f:
        rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return cpu, rss


def metric(port, name):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        total = 0.0
        for line in r.read().decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                total += float(line.split()[-1])
        return total


def pct(samples, total, p):
    """The p-th percentile of sorted (value, weight) samples of the given total weight."""
    want, acc = p / 100.0 * total, 0
    for v, w in samples:
        acc += w
        if acc >= want:
            return v
    return samples[-1][0] if samples else float("nan")


def start_stack(build, tmp, syms, o):
    """candled-sim, and candled serve on it unless --direct; returns (sim, serve, ws port, health port)."""
    for name in ("sim.port", "serve.ports"):
        if os.path.exists(os.path.join(tmp, name)):
            os.unlink(os.path.join(tmp, name))
    sim_args = [os.path.join(build, "candled-sim"), "--exchange", "binance", "--symbols", ",".join(syms),
                "--interval", "1s", "--port", "0", "--port-file", tmp + "/sim.port"]
    sim = subprocess.Popen(sim_args + (["--flood"] if o["flood"] else []),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sim_port = int(wait_file(tmp + "/sim.port", sim))
    if o["direct"]:
        return sim, None, sim_port, None
    with open(tmp + "/config.lua", "w") as f:
        f.write('return { server = { port = 0, health_port = 0, drain_grace_seconds = 0, max_clients = 1000,'
                ' client_queue_max = 100000, max_symbols_per_client = %d },'
                ' log = { level = "warn" },'
                ' exchanges = { binance = { spot = { ws_url = "ws://127.0.0.1:%d/ws" } } } }'
                % (max(1024, len(syms)), sim_port))
    serve = subprocess.Popen([os.path.join(build, "candled"), "serve", "--config", tmp + "/config.lua",
                              "--port-file", tmp + "/serve.ports"], stderr=subprocess.DEVNULL)
    ports = json.loads(wait_file(tmp + "/serve.ports", serve))
    return sim, serve, ports["ws_port"], ports["health_port"]


def report(n_clients, o, got, cpu, rss, sim_cpu, wrote):
    per = [x for g in got for x in g[0]]
    closed = sum(g[1] for g in got)
    lat = sorted(x for g in got for x in g[2])
    secs = o["seconds"]
    line = "clients %4d  streams %4d  quotes/s per client %7.0f (min %7.0f)  total %7.0f" % (
        n_clients, o["streams"], sum(per) / len(per) / secs, min(per) / secs, sum(per) / secs)
    if wrote is not None:
        line += "  server wrote %7.0f/s" % (wrote / secs)
    if not o["flood"]:
        total = sum(w for _, w in lat)
        line += "  latency p50 %6.1f ms  p99 %6.1f ms  max %6.1f ms" % (
            pct(lat, total, 50) / 1e3, pct(lat, total, 99) / 1e3, lat[-1][0] / 1e3 if lat else float("nan"))
    if cpu is not None:
        line += "  candled CPU %5.1f %%  RSS %5.1f MB" % (100 * cpu / secs, rss / 1e6)
    line += "  sim CPU %5.1f %%  clients CPU %5.1f %%" % (100 * sim_cpu / secs, 100 * sum(g[3] for g in got) / secs)
    if closed:
        line += "  CLOSED: %d clients" % closed
    print(line, flush=True)


def run(build, n_clients, o):
    tmp = "/tmp/candled-bench-serve.%d" % os.getpid()
    os.makedirs(tmp, exist_ok=True)
    syms = ["S%04dUSDT" % i for i in range(o["streams"])]
    sim, serve, ws_port, health_port = start_stack(build, tmp, syms, o)
    try:
        t0 = int(time.time() + o["warmup"]) + 0.5  # half-way between two bursts
        t1 = t0 + o["seconds"]
        q = multiprocessing.Queue()
        n_workers = min(n_clients, o["workers"])
        shares = [n_clients // n_workers + (i < n_clients % n_workers) for i in range(n_workers)]
        procs = [multiprocessing.Process(target=worker, args=(ws_port, k, syms, t0, t1, o, q)) for k in shares]
        for p in procs:
            p.start()
        time.sleep(max(0.0, t0 - time.time()))
        cpu0, _ = proc_stat(serve.pid) if serve else (0, 0)
        sim0, _ = proc_stat(sim.pid)
        w0 = metric(health_port, "connector_client_quotes_total") if serve else 0
        time.sleep(max(0.0, t1 - time.time()))
        cpu1, rss = proc_stat(serve.pid) if serve else (0, 0)
        sim1, _ = proc_stat(sim.pid)
        w1 = metric(health_port, "connector_client_quotes_total") if serve else 0
        got = [q.get(timeout=120) for _ in procs]
        for p in procs:
            p.join()
        report(n_clients, o, got, cpu1 - cpu0 if serve else None, rss, sim1 - sim0, w1 - w0 if serve else None)
    finally:
        if serve:
            serve.terminate()
            serve.wait(30)
        sim.terminate()
        sim.wait(30)


USAGE = ("usage: bench_serve.py BUILD_DIR [--clients 1,10,100] [--streams N] [--seconds S] [--warmup S] "
         "[--workers N] [--flood] [--direct]")


def main(argv):
    args = argv[1:]
    build = args.pop(0) if args and not args[0].startswith("--") else "build"
    o = {"clients": "1,10,100", "streams": "1000", "seconds": "10", "warmup": "4", "workers": "4",
         "flood": False, "direct": False}
    while args:
        k = args.pop(0).lstrip("-")
        if k in ("flood", "direct"):
            o[k] = True
        elif k in o and args:
            o[k] = args.pop(0)
        else:
            raise SystemExit(USAGE)
    try:
        for k in ("streams", "workers"):
            o[k] = int(o[k])
        for k in ("seconds", "warmup"):
            o[k] = float(o[k])
        clients = [int(x) for x in o["clients"].split(",")]
    except ValueError:
        raise SystemExit(USAGE)
    print("# %s%s, %d streams of 1s candles, %g s window after %g s warm-up, %s" % (
        "flood" if o["flood"] else "paced (1 open update/s/stream + closes)",
        ", clients on candled-sim directly (baseline)" if o["direct"] else "", o["streams"],
        o["seconds"], o["warmup"], time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())), flush=True)
    for n in clients:
        run(build, n, o)


if __name__ == "__main__":
    main(sys.argv)

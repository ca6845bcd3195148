"""conftest.py - the fixtures of candled's pytest end-to-end suite (see README.md).

  env       harness.Env: source/build trees, CDL_SANITIZE
  e2e       one test's world: a private directory (.tmp, .path(name), .write, .read) and
            .sim(*args, environ=None) -> harness.Sim, .stream(*args, environ=None, cmd=None, out=None) -> harness.Stream,
            .serve(*args, cmd=None, environ=None) -> harness.Serve,
            .run(argv, timeout) -> subprocess.CompletedProcess (text),
            .client_quotes_ok(record, lines, symbols, ...) (quotes.py check-client on a client's
            transcript).  At the end of the test every process still running is killed and the
            directory removed; if the test failed, the tail of each process's log is printed
            first.
  no_sanitizer  a mark: skips the test in the ASan build (the valgrind tests)
"""
import os
import shutil
import signal
import subprocess
import tempfile
import threading

import pytest

import harness
import quotes

no_sanitizer = pytest.mark.skipif(os.environ.get("CDL_SANITIZE", "0") == "1", reason="sanitizer build")


def pytest_configure(config):
    # CTest stops a test with SIGTERM: end the way Ctrl-C does, so that the fixtures' teardown
    # still kills what the test started and removes its directory
    def interrupted(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)
    signal.signal(signal.SIGTERM, interrupted)
    # only a test that asks for it runs on a test clock (core/base/clock.h)
    os.environ.pop("CDL_TEST_CLOCK", None)


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


class World:
    """What the e2e fixture gives a test: its directory and the processes it started."""

    def __init__(self, env, tmp):
        self.env, self.tmp = env, tmp
        self.procs = []
        self._seq = 0
        self._lock = threading.Lock()  # parts (harness.run_parts) start processes from threads

    def path(self, name):
        return os.path.join(self.tmp, name)

    def _next(self):
        with self._lock:
            self._seq += 1
            return self._seq

    def _files(self, stem):
        n = self._next()
        return self.path("%s%d.out" % (stem, n)), self.path("%s%d.err" % (stem, n))

    def sim(self, *args, environ=None):
        """candled-sim ARGS --port 0; environ: added variables (a test clock's)."""
        out, err = self._files("sim")
        s = harness.Sim(self.env, args, out, err, environ=dict(os.environ, **environ) if environ else None)
        self.procs.append(s)
        return s

    def stream(self, *args, environ=None, cmd=None, out=None):
        """candled stream ARGS in the background; environ: added variables; cmd: the command
        before ARGS (default: candled stream); out: where its stdout goes (e.g. a FIFO)."""
        o, err = self._files("stream")
        s = harness.Stream(self.env, args, out or o, err, environ=dict(os.environ, **environ) if environ else None,
                           cmd=cmd)
        self.procs.append(s)
        return s

    def serve(self, *args, cmd=None, environ=None):
        """cmd: the command before ARGS (default: candled serve); environ: added variables."""
        out, err = self._files("serve")
        env = dict(os.environ, **environ) if environ else None
        argv = list(cmd or [self.env.candled, "serve"])
        s = harness.Serve(argv + list(args), out[:-len(".out")] + ".ports", out, err, env=env)
        self.procs.append(s)
        return s

    def run(self, argv, timeout=60, **kw):
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, **kw)

    def write(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(text)
        return self.path(name)

    def read(self, name):
        with open(self.path(name)) as f:
            return f.read()

    def client_quotes_ok(self, record, lines, symbols, count=None, closed_only=False, market="spot"):
        """quotes.py check-client on what a client got (its transcript lines); the reason of a
        failure is on stderr."""
        path = self.write("client%d.txt" % self._next(), "\n".join(lines) + "\n")
        return quotes.check_client(market, record, path, list(symbols), closed_only, count) == 0

    def report(self):
        for p in self.procs:
            print("--- %s %s stderr (last 30 lines) ---" % (p.kind, p.pid))
            print(harness.tail(p.err, 30), end="")

    def cleanup(self):
        for p in self.procs:
            p.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def env():
    return harness.Env()


@pytest.fixture
def e2e(env, request):
    w = World(env, tempfile.mkdtemp(prefix="cdl-e2e."))
    yield w
    try:
        if any(getattr(request.node, "rep_" + when, None) is not None and
               getattr(request.node, "rep_" + when).failed for when in ("setup", "call")):
            w.report()
    finally:
        w.cleanup()

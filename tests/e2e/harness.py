"""harness.py - the machinery of candled's pytest end-to-end suite (standard library only).

conftest.py turns it into fixtures; tests use those (see tests/e2e/README.md).  Every process is
started on port 0 and reports the port it got (candled-sim prints "PORT <n>", candled serve
writes --port-file); every wait polls with a deadline; every process a test started is stopped
and its temporary directory removed when the test ends, and when a test fails the tails of the
logs of everything it started are printed.

  Env              the source and build trees and the sanitizer flag (CDL_SOURCE_DIR,
                   CDL_BUILD_DIR, CDL_SANITIZE), as CTest sets them
  Clock(env, rate, san_rate)  a test clock (CDL_TEST_CLOCK) anchored now, as lib.sh's
                   use_test_clock; .environ for the processes on it, .now_ms(), .sleep(s)
  wait_for(f, timeout, what, until)  polls v = f() until until(v) (default: v is true);
                   returns v, or fails the test with `what` and v after timeout seconds
  Sim, Stream, Serve  a running candled-sim / candled stream / candled serve (use the
                   fixtures' factories; Stream.summary() is its "stream finished" line)
  http_get(port, path)  (status, body text) of GET http://127.0.0.1:port/path
  Background(fn), Client(port, send, ...)  a function / a WebSocket client in a thread
  in_parallel(*calls)  runs functions side by side (clients), their results in order
  run_parts(name=fn, ...)  runs a test's parts side by side: {name: result}, or fails naming each
                   part that failed
  promtool_check(text), has_line(text, line)  checks on a /metrics exposition
"""
import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

E2E_DIR = os.path.dirname(os.path.abspath(__file__))
if E2E_DIR not in sys.path:
    sys.path.insert(0, E2E_DIR)


class Env:
    def __init__(self, environ=os.environ):
        self.source = environ.get("CDL_SOURCE_DIR") or os.path.dirname(os.path.dirname(E2E_DIR))
        self.build = environ.get("CDL_BUILD_DIR")
        if not self.build:
            raise RuntimeError("CDL_BUILD_DIR must point at the build tree (CTest sets it)")
        self.build = os.path.abspath(self.build)  # a relative one would not survive a symlink or a cd
        self.sanitize = environ.get("CDL_SANITIZE", "0") == "1"
        self.candled = os.path.join(self.build, "candled")
        self.sim_bin = os.path.join(self.build, "candled-sim")


class Clock:
    """lib.sh's use_test_clock: exchange time `rate` times faster (san_rate, default rate, in the
    sanitizer build), anchored now (core/base/clock.h, docs/reliability.md "Time").  .environ is
    CDL_TEST_CLOCK=<anchor_ms>x<rate> for the candled and candled-sim that run on it (network
    timers stay real); .now_ms() is their time now; .sleep(s) sleeps s seconds of it."""

    def __init__(self, env, rate, san_rate=None):
        self.rate = (san_rate or rate) if env.sanitize else rate
        self.anchor = int(time.time() * 1000)
        self.environ = {"CDL_TEST_CLOCK": "%dx%s" % (self.anchor, self.rate)}

    def now_ms(self):
        return self.anchor + (int(time.time() * 1000) - self.anchor) * self.rate

    def sleep(self, s):
        time.sleep(s / self.rate)


def wait_for(f, timeout, what, until=bool, interval=0.05):
    """Polls v = f() until until(v) (by default: v is true); returns v.  Fails the test with what
    and the last value after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = f()
        if until(v):
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("%s: not within %g s; last: %.800r" % (what, timeout, v))
        time.sleep(interval)


def http_get(port, path, timeout=10):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def tail(path, n=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


_prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child only calls it


def _die_with_parent():
    """In the child before exec: SIGKILL when the test process dies, however it dies (a CTest
    timeout kills it with no chance to clean up).  Linux's PR_SET_PDEATHSIG, bound to the thread
    that forked: the fixtures start processes from the test's own (main) thread, or from a part
    (run_parts) that waits for what it started."""
    _prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def shell_status(rc):
    """An exit status as the shell reports it: 128 + N for a process killed by signal N."""
    return 128 - rc if rc < 0 else rc


class Proc:
    """A background process whose stdout and stderr go to files in the test's directory."""

    kind = "process"

    def __init__(self, argv, out, err, env=None):
        self.argv, self.out, self.err = argv, out, err
        with open(out, "wb") as o, open(err, "wb") as e:
            self.p = subprocess.Popen(argv, stdout=o, stderr=e, stdin=subprocess.DEVNULL, env=env,
                                      preexec_fn=_die_with_parent)
        self.pid = self.p.pid
        self.returncode = None

    def running(self):
        return self.p.poll() is None

    def check_alive(self, what):
        rc = self.p.poll()
        if rc is not None:
            raise AssertionError("%s %s exited with %d %s" % (self.kind, " ".join(self.argv[1:]), rc, what))

    def send(self, sig):
        if self.running():
            self.p.send_signal(sig)

    stop_timeout = 30

    def stop(self, timeout=None, sig=signal.SIGTERM):
        """Sends sig and waits; a process still running after timeout s (default: stop_timeout)
        is killed and the test fails.  Returns the exit status."""
        timeout = timeout or self.stop_timeout
        if self.returncode is not None:
            return self.returncode
        self.send(sig)
        try:
            self.returncode = shell_status(self.p.wait(timeout))
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.returncode = shell_status(self.p.wait())
            raise AssertionError("%s %d did not exit %g s after signal %d: killed"
                                 % (self.kind, self.pid, timeout, sig))
        return self.returncode

    def wait(self, timeout):
        """Waits for the process to exit by itself; fails the test after timeout s."""
        try:
            self.returncode = shell_status(self.p.wait(timeout))
        except subprocess.TimeoutExpired:
            raise AssertionError("%s %d still running after %g s" % (self.kind, self.pid, timeout))
        return self.returncode

    def kill(self):
        if self.running():
            self.p.kill()
        self.returncode = shell_status(self.p.wait())

    def log(self):
        with open(self.err, errors="replace") as f:
            return f.read()

    def output(self):
        with open(self.out, errors="replace") as f:
            return f.read()


class Sim(Proc):
    """candled-sim ARGS --port 0; .port once it listens.  .counters() is its exit line."""

    kind = "candled-sim"

    def __init__(self, env, args, out, err, start_timeout=10, environ=None):
        super().__init__([env.sim_bin] + list(args) + ["--port", "0"], out, err, env=environ)

        def port():
            self.check_alive("before listening")
            with open(self.out) as f:
                m = re.match(r"PORT ([0-9]+)\n", f.readline())
            return m and int(m.group(1))

        self.port = wait_for(port, start_timeout, "candled-sim %s printed no PORT line" % " ".join(args))

    def counters(self):
        """The "candled_sim" counters line it logs on exit (the text: tests match its fields)."""
        for line in reversed(self.log().splitlines()):
            if '"candled_sim":' in line:
                return line
        raise AssertionError("candled-sim logged no counters line: %s" % tail(self.err, 5))


class Stream(Proc):
    """candled stream ARGS in the background (or cmd ARGS: another argv[0], valgrind): its
    quotes go to .out (.output(), .lines()); .summary() is its "stream finished" log line."""

    kind = "candled stream"

    def __init__(self, env, args, out, err, environ=None, cmd=None):
        super().__init__(list(cmd or [env.candled, "stream"]) + list(args), out, err, env=environ)

    def lines(self):
        return self.output().splitlines()

    def summary(self):
        """The "stream finished" line(s) of its log ("" if none: the test's assertion says what)."""
        return "\n".join(l for l in self.log().splitlines() if '"msg":"stream finished"' in l)


class Serve(Proc):
    """candled serve ARGS --port-file F (or another argv[0], e.g. a connector-wss link);
    .ws_port and .health_port once the port file is written."""

    kind = "candled serve"
    stop_timeout = 60  # the drain is bounded: 60 s is a hang

    def __init__(self, argv, ports, out, err, env=None, start_timeout=20):
        super().__init__(list(argv) + ["--port-file", ports], out, err, env=env)

        def written():
            self.check_alive("before listening")
            try:
                with open(ports) as f:
                    text = f.read()
            except FileNotFoundError:
                return None
            return text if text.endswith("\n") else None

        self.ports_text = wait_for(written, start_timeout, "candled serve wrote no port file")
        p = json.loads(self.ports_text)
        self.ws_port, self.health_port = p["ws_port"], p["health_port"]

    def http(self, path, timeout=10):
        return http_get(self.health_port, path, timeout)

    def metrics(self):
        st, body = self.http("/metrics")
        assert st == 200, "/metrics: HTTP %d" % st
        return body


class Background:
    """fn() run in a thread of its own; .result(timeout) is its value (or raises what it raised)."""

    def __init__(self, fn):
        self._value = self._error = None

        def run():
            try:
                self._value = fn()
            except BaseException as e:  # handed to whoever asks for the result
                self._error = e

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def done(self):
        return not self._thread.is_alive()

    def result(self, timeout):
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError("still running after %g s" % timeout)
        if self._error is not None:
            raise self._error
        return self._value


class Client(Background):
    """A WebSocket client in the background: wsclient.transcript(port, path, send, count,
    timeout); .lines grows as frames arrive; .result(t) is (lines, ok)."""

    def __init__(self, port, send, path="/", count=0, timeout=60):
        import wsclient
        self.lines = []
        super().__init__(lambda: wsclient.transcript(port, path, send, count, timeout, emit=self.lines.append))

    def quotes(self):
        return sum('"type":"quote"' in line for line in list(self.lines))


def in_parallel(*calls):
    """Runs each call (a function of no argument) in its own thread; returns their results in
    order, or raises the first exception one of them raised."""
    runs = [Background(c) for c in calls]
    return [r.result(600) for r in runs]


def run_parts(**parts):
    """Runs each part (name=a function of no argument) side by side, as lib.sh's part/wait_parts
    did, and waits for all of them; returns {name: what its function returned}, or fails the
    test naming every part that failed and why.  The
    processes a part starts must end inside it: one started from a part's thread gets SIGKILL
    when that thread ends (PR_SET_PDEATHSIG belongs to the thread that forked)."""
    runs = {name: Background(fn) for name, fn in parts.items()}
    failed, results = [], {}
    for name, run in runs.items():
        try:
            results[name] = run.result(600)
        except Exception as e:  # noqa: BLE001 - every part is reported, then the test fails
            failed.append("part %s: %s" % (name, e))
    assert not failed, "\n".join(failed)
    return results


def promtool_check(text):
    """promtool check metrics on an exposition; fails the test with promtool's words."""
    assert shutil.which("promtool"), "promtool not found (Debian package prometheus: make deps)"
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, "promtool check metrics: %s%s" % (r.stdout, r.stderr)


def has_line(text, line):
    """grep -qx: some line of text is exactly line."""
    return line in text.splitlines()

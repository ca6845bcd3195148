#!/usr/bin/python3
"""wsclient.py - a tiny RFC 6455 WebSocket client for candled's end-to-end tests.

Standard library only (the tests must not need pip).  Plain ws:// over TCP, client frames
masked, no extensions.  Pings are answered with a pong carrying the same payload; a close frame
from the server is answered and reported.

As a module:
    ws = wsclient.connect("127.0.0.1", port, "/ws")
    ws.send_text('{"method":"SUBSCRIBE","params":["btcusdt@kline_1s"],"id":1}')
    kind, payload = ws.recv(timeout=5)    # kind: "text", "binary", "close"; payload: str/bytes/(code, reason)
    lines, ok = wsclient.transcript(port, "/ws", send=[...], count=3)   # what the command prints

As a command:
    wsclient.py --port P [--path /ws] [--send TEXT]... [--count N] [--timeout S]
prints each received text frame on its own line (stdout), and "CLOSE <code> <reason>" if the
server closes.  Exit status 0 when --count frames arrived (or the connection closed cleanly
without --count), 1 on timeout or error.
"""
import argparse
import base64
import hashlib
import os
import socket
import struct
import sys
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class WSError(Exception):
    pass


class WSClient:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.pings = 0
        self.closed = None  # (code, reason) once the server closed
        self._frag = None

    # --- low level ---------------------------------------------------------------------------
    def _read_exact(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("timed out")
            self.sock.settimeout(left)
            chunk = self.sock.recv(max(65536, n - len(self.buf)))
            if not chunk:
                raise WSError("connection closed by peer (no close frame)")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _send_frame(self, opcode, payload):
        if isinstance(payload, str):
            payload = payload.encode()
        head = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def _read_frame(self, deadline):
        b0, b1 = self._read_exact(2, deadline)
        fin, opcode = b0 & 0x80, b0 & 0x0F
        if b1 & 0x80:
            raise WSError("server frame is masked")
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read_exact(2, deadline))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read_exact(8, deadline))[0]
        return bool(fin), opcode, self._read_exact(n, deadline) if n else b""

    # --- API ---------------------------------------------------------------------------------
    def send_text(self, text):
        self._send_frame(0x1, text)

    def send_ping(self, payload=b""):
        self._send_frame(0x9, payload)

    def recv(self, timeout=10.0):
        """Next data message or close: ("text", str) | ("binary", bytes) | ("close", (code, reason))."""
        deadline = time.monotonic() + timeout
        while True:
            fin, opcode, payload = self._read_frame(deadline)
            if opcode == 0x9:  # ping -> pong with the same payload
                self.pings += 1
                self._send_frame(0xA, payload)
                continue
            if opcode == 0xA:
                continue
            if opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                reason = payload[2:].decode("utf-8", "replace")
                self.closed = (code, reason)
                try:
                    self._send_frame(0x8, payload[:2])
                except OSError:
                    pass
                return "close", (code, reason)
            if opcode in (0x1, 0x2):
                self._frag = (opcode, payload)
            elif opcode == 0x0 and self._frag:
                self._frag = (self._frag[0], self._frag[1] + payload)
            else:
                raise WSError("unexpected opcode %d" % opcode)
            if fin:
                op, data = self._frag
                self._frag = None
                return ("text", data.decode("utf-8")) if op == 0x1 else ("binary", data)

    def recv_text(self, timeout=10.0):
        kind, payload = self.recv(timeout)
        if kind != "text":
            raise WSError("expected a text frame, got %s %r" % (kind, payload))
        return payload

    def close(self, code=1000):
        try:
            self._send_frame(0x8, struct.pack("!H", code))
        except OSError:
            pass
        self.sock.close()


def connect(host, port, path="/", timeout=10.0, rcvbuf=0):
    """Opens a WebSocket; raises WSError if the handshake is refused.  rcvbuf: SO_RCVBUF set
    before connecting (a small one makes a client that stops reading back up quickly)."""
    if rcvbuf:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(timeout)
        sock.connect((host, port))
    else:
        sock = socket.create_connection((host, port), timeout=timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    req = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, host, port, key))
    sock.sendall(req.encode())
    data = b""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in data:
        if time.monotonic() > deadline:
            raise WSError("handshake timed out")
        chunk = sock.recv(4096)
        if not chunk:
            raise WSError("connection closed during handshake")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    if " 101 " not in lines[0] + " ":
        raise WSError("handshake refused: %s" % lines[0])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    want = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
    if headers.get("sec-websocket-accept") != want:
        raise WSError("bad Sec-WebSocket-Accept")
    ws = WSClient(sock)
    ws.buf = rest
    return ws


def transcript(port, path="/ws", send=(), count=0, timeout=10.0, host="127.0.0.1", emit=None):
    """What the command prints, as a list of lines: each received text frame, then
    "CLOSE <code> <reason>" if the server closes; emit(line) is called as each arrives.  Returns
    (lines, ok): ok as the command's exit status 0 (count frames arrived, or a clean close without
    count).  A timeout or a connection error raises (OSError, WSError) as the command exits 1."""
    lines = []

    def out(line):
        lines.append(line)
        if emit:
            emit(line)

    ws = connect(host, port, path)
    for text in send:
        ws.send_text(text)
    deadline = time.monotonic() + timeout
    got = 0
    while count == 0 or got < count:
        kind, payload = ws.recv(max(0.001, deadline - time.monotonic()))
        if kind == "close":
            out("CLOSE %d %s" % payload)
            return lines, count == 0
        if kind == "text":
            out(payload)
            got += 1
    ws.close()
    return lines, True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="/ws")
    ap.add_argument("--send", action="append", default=[], help="text frame to send first")
    ap.add_argument("--count", type=int, default=0, help="stop after N text frames")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds for the whole run")
    a = ap.parse_args()
    try:
        _, ok = transcript(a.port, a.path, a.send, a.count, a.timeout, a.host,
                           emit=lambda line: print(line, flush=True))
        return 0 if ok else 1
    except (OSError, WSError) as e:
        print("wsclient: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

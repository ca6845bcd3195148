#!/usr/bin/python3
"""A minimal candled client: subscribe, print quotes, answer pings.  Standard library only.

    examples/client.py [--url ws://127.0.0.1:8765/] [--exchange binance] [--market spot]
                       [--interval 1m] [--closed-only] [--count N] SYMBOL...

Prints every message the server sends (quotes, gap events, errors) as one JSON line; exits 0
after N quotes (--count, 0 = until the server closes or Ctrl-C).
"""
import argparse
import base64
import json
import os
import socket
import struct
import sys
from urllib.parse import urlsplit


def connect(url):
    u = urlsplit(url)
    if u.scheme != "ws":
        sys.exit("client.py: only ws:// URLs (put a TLS proxy in front of candled for wss)")
    sock = socket.create_connection((u.hostname, u.port or 80), timeout=30)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
                  % (u.path or "/", u.netloc, key)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            sys.exit("client.py: the server closed during the handshake")
        head += chunk
    status, rest = head.split(b"\r\n\r\n", 1)
    if b" 101 " not in status.split(b"\r\n")[0]:
        sys.exit("client.py: handshake refused: %s" % status.split(b"\r\n")[0].decode())
    sock.settimeout(None)
    return sock, rest


def send(sock, opcode, payload):
    """One masked client frame (RFC 6455 section 5.3)."""
    head = bytes([0x80 | opcode])
    n = len(payload)
    head += bytes([0x80 | n]) if n < 126 else (bytes([0xFE]) + struct.pack("!H", n) if n < 65536
                                                else bytes([0xFF]) + struct.pack("!Q", n))
    mask = os.urandom(4)
    sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def messages(sock, buf):
    """Yields (opcode, payload) of whole messages; answers pings on the way."""
    def need(n):
        nonlocal buf
        while len(buf) < n:
            chunk = sock.recv(65536)
            if not chunk:
                raise EOFError
            buf += chunk
        out, buf = buf[:n], buf[n:]
        return out
    partial = b""
    while True:
        b0, b1 = need(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", need(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", need(8))[0]
        opcode, payload = b0 & 0x0F, need(n)
        if opcode == 0x9:
            send(sock, 0xA, payload)
        elif opcode == 0x8:
            yield opcode, payload
            return
        elif opcode in (0x0, 0x1):
            partial += payload
            if b0 & 0x80:
                yield 0x1, partial
                partial = b""


def main():
    p = argparse.ArgumentParser(description="Subscribe to candled and print what it sends.")
    p.add_argument("symbols", nargs="+")
    p.add_argument("--url", default="ws://127.0.0.1:8765/")
    p.add_argument("--exchange", default="binance")
    p.add_argument("--market", default="spot")
    p.add_argument("--interval", default="1m")
    p.add_argument("--closed-only", action="store_true")
    p.add_argument("--count", type=int, default=0)
    a = p.parse_args()
    sock, buf = connect(a.url)
    request = {"exchange": a.exchange, "contract_type": a.market, "symbols": a.symbols,
               "interval": a.interval, "limit": a.count, "closed_only": a.closed_only}
    send(sock, 0x1, json.dumps(request).encode())
    quotes = 0
    try:
        for opcode, payload in messages(sock, buf):
            if opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                print("closed by the server: %d %s" % (code, payload[2:].decode(errors="replace")),
                      file=sys.stderr)
                send(sock, 0x8, payload[:2])
                return 0 if code in (1000, 1001) else 1
            text = payload.decode()
            print(text, flush=True)
            msg = json.loads(text)
            if msg.get("type") == "error":
                return 1
            quotes += msg.get("type") == "quote"
            if a.count and quotes >= a.count:
                send(sock, 0x8, struct.pack("!H", 1000))
                return 0
    except (EOFError, ConnectionError):
        print("connection lost", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        send(sock, 0x8, struct.pack("!H", 1000))
    return 0


if __name__ == "__main__":
    sys.exit(main())

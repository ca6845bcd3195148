"""Helpers for the simulator checks written in Python inside the e2e shell tests.

  check(cond, what)           exit 1 with "check failed: what" unless cond
  rest(base, path)            GET base+path: (status, headers, JSON body or None)
"""
import json
import sys
import urllib.error
import urllib.request


def check(cond, what):
    if not cond:
        print("check failed: " + what, file=sys.stderr)
        sys.exit(1)


def rest(base, path):
    try:
        with urllib.request.urlopen(base + path, timeout=5) as r:
            return r.status, dict(r.headers), json.loads(r.read())
    except urllib.error.HTTPError as e:
        body = e.read()
        try:
            return e.code, dict(e.headers), json.loads(body)
        except ValueError:
            return e.code, dict(e.headers), None

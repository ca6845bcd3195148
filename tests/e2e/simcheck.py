"""Helpers for the simulator checks of the e2e tests (test_sim_*.py).

  rest(base, path)            GET base+path: (status, headers, JSON body or None)
"""
import json
import urllib.error
import urllib.request


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

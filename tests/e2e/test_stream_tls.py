"""wss:// and https:// end to end.  Replaces test_stream_tls.sh (every check kept).

candled-sim serves TLS with a certificate for "localhost" from a throwaway CA made here.  With the
CA trusted (CONNECTOR_TLS_CA_FILE) quotes are exact and the REST backfill after a disconnect works
over https; without it, or with a host name the certificate does not cover, nothing is accepted
and candled keeps retrying (both side by side), and SIGTERM exits 0.
"""
import re
import time

from harness import wait_for
import quotes


def make_ca_and_certificate(e2e):
    """A throwaway CA (ca.pem) and a certificate for localhost it signed (srv.pem, srv.key)."""
    e2e.write("ext", "subjectAltName=DNS:localhost\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for argv in (["openssl", "req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                                                     "-subj", "/CN=candled test CA"],
                 ["openssl", "req"] + ec + ["-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=localhost"],
                 ["openssl", "x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                  "-CAcreateserial", "-out", "srv.pem", "-days", "2", "-extfile", "ext"]):
        r = e2e.run(argv, cwd=e2e.tmp)
        assert r.returncode == 0, "%s: %s" % (" ".join(argv), r.stderr)


def test_tls(e2e):
    make_ca_and_certificate(e2e)
    rec, ca = e2e.path("rec"), e2e.path("ca.pem")
    sim = e2e.sim("--exchange", "binance", "--symbols", "BTCUSDT", "--interval", "1s", "--rate", "4", "--record", rec,
                  "--tls-cert", e2e.path("srv.pem"), "--tls-key", e2e.path("srv.key"), "--disconnect-after", "15",
                  "--skip-close-every", "4")
    rest = "https://localhost:%d" % sim.port
    s = e2e.stream("binance", "BTCUSDT", "--interval", "1s", "--limit", "40", "--ws-url",
                   "wss://localhost:%d/ws" % sim.port, "--rest-url", rest,
                   environ={"CONNECTOR_TLS_CA_FILE": ca, "CONNECTOR_INACTIVITY_TIMEOUT": "0.3"})
    rc = s.wait(90)
    assert rc == 0, "wss stream exited %d: %s" % (rc, s.log()[-3000:])
    assert quotes.check_set("spot", rec, s.out, True, rest, ca) == 0, "wss quotes not exact"
    assert re.search(r"connector_rest_requests_total:binance,spot,200=[1-9]", s.summary()), \
        "no https backfill: " + s.summary()

    # an untrusted certificate, and a name the certificate does not cover, side by side
    start = time.monotonic()
    refused = {"untrusted": e2e.stream("binance", "BTCUSDT", "--interval", "1s", "--ws-url",
                                       "wss://localhost:%d/ws" % sim.port, environ={"CONNECTOR_TLS_CA_FILE": ""}),
               "wrongname": e2e.stream("binance", "BTCUSDT", "--interval", "1s", "--ws-url",
                                       "wss://127.0.0.1:%d/ws" % sim.port, environ={"CONNECTOR_TLS_CA_FILE": ca})}

    def retries(p):
        return p.log().count('"msg":"upstream down, reconnecting"')

    for case, p in refused.items():
        wait_for(lambda: retries(p), 30, "%s: no retries" % case, until=lambda n: n >= 2)
    time.sleep(max(0.0, start + 3 - time.monotonic()))  # 3 s of refusals: nothing may get through
    for case, p in refused.items():
        rc = p.stop()
        assert rc == 0, "%s: exit %d: %s" % (case, rc, p.log()[-2000:])
        assert p.output() == "", "%s: quotes were accepted" % case
        assert retries(p) >= 2, "%s: no retries: %s" % (case, p.log())
    assert sim.stop() == 0, "sim exit status"

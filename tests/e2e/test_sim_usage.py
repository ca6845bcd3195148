"""candled-sim's usage errors exit 2 with a clear message.  Replaces the usage sections of
test_sim_binance.py (5), test_sim_okx.py, test_sim_bybit.py (3) and test_sim_hyperliquid.py (4):
one row per exchange in cases.SIM_BAD_MARKET (gateio's row is new).
"""
import pytest

import cases


def sim_usage(e2e, *args):
    r = e2e.run([e2e.env.sim_bin] + list(args) + ["--port", "0"], timeout=10)
    return r.returncode, r.stderr.splitlines()


@pytest.mark.parametrize("exchange,market", cases.SIM_BAD_MARKET)
def test_unknown_market(e2e, exchange, market):
    rc, err = sim_usage(e2e, "--exchange", exchange, "--market", market)
    want = "candled-sim: %s has no market '%s' (%s)" % (exchange, market, ", ".join(cases.EXCHANGES[exchange]))
    assert rc == 2 and want in err, "unknown market: exit %d, %r" % (rc, err)


@pytest.mark.parametrize("args,line", [
    (["--exchange", "nowhere"], None),
    (["--exchange", "binance", "--rate", "fast"], None),
    (["--exchange", "binance", "--drop-on-skip"], "candled-sim: --drop-on-skip needs --skip-close-every"),
])
def test_usage_error(e2e, args, line):
    rc, err = sim_usage(e2e, *args)
    assert rc == 2, "%s should exit 2: %d %r" % (" ".join(args), rc, err)
    assert line is None or line in err, "%s: %r" % (" ".join(args), err)

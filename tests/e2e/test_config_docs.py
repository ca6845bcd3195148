"""docs/configuration.md is generated from the schema table: fail if it drifted.  Replaces
test_config_docs.sh."""
import difflib
import os


def test_configuration_md_matches_the_schema(e2e):
    r = e2e.run([e2e.env.candled, "config-reference"], timeout=30)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(e2e.env.source, "docs", "configuration.md")) as f:
        doc = f.read()
    assert r.stdout == doc, ("docs/configuration.md is stale: run build/candled config-reference > "
                             "docs/configuration.md\n" + "".join(difflib.unified_diff(
                                 doc.splitlines(True), r.stdout.splitlines(True), "docs/configuration.md", "-")))

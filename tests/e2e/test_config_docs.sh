#!/bin/sh
# docs/configuration.md is generated from the schema table: fail if it drifted.
set -eu
if ! "$CDL_BUILD_DIR/candled" config-reference | diff -u "$CDL_SOURCE_DIR/docs/configuration.md" -; then
    echo "FAIL: docs/configuration.md is stale: run build/candled config-reference > docs/configuration.md"
    exit 1
fi
echo "ok: docs/configuration.md matches the schema"

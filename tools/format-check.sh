#!/bin/sh
# Checks that the C sources (core/, tests/unit/, tests/sim/) are formatted as .clang-format says
# (clang-format 14, Debian's clang-format): prints each difference as a clang-format warning and
# fails if there is any.  `make format` rewrites them.  --list prints the files and exits.
set -eu
cd "$(dirname "$0")/.."
files=$(ls core/*/*.c core/*/*.h tests/unit/*.c tests/unit/*.h tests/unit/*/*.c tests/unit/*/*.h tests/sim/*.c tests/sim/*.h tools/*.c 2>/dev/null || true)
if [ "${1:-}" = --list ]; then
    printf '%s\n' "$files"
    exit 0
fi
command -v clang-format >/dev/null || { echo "clang-format not installed (make deps)" >&2; exit 1; }
# shellcheck disable=SC2086 # one word per file: the names have no spaces
clang-format --dry-run -Werror $files

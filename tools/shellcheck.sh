#!/bin/sh
# Runs shellcheck over every shell script of the tree (*.sh and .ci/run), every severity, with the
# tree's .shellcheckrc (sourced files followed from the repository root).  Fails on any finding,
# except in the files listed in EXCUSED, whose findings are printed for the record: those files
# were being rewritten on other branches when this check was added (issue #11: e2e scripts
# edited, or ported to pytest), so their fixes belong there; remove a name once its file is clean.
# Run from anywhere; CTest runs it as lint/shellcheck.
set -eu
cd "$(dirname "$0")/.."
EXCUSED="tests/e2e/bighole.sh tests/e2e/lib.sh tests/e2e/test_chaos.sh tests/e2e/test_cli_usage.sh
tests/e2e/test_serve_binance.sh tests/e2e/test_serve_chaos.sh tests/e2e/test_serve_log_flood.sh
tests/e2e/test_serve_rotation.sh tests/e2e/test_sim_binance.sh tests/e2e/test_sim_bybit.sh
tests/e2e/test_sim_hyperliquid.sh tests/e2e/test_sim_okx.sh
tests/e2e/test_stream_bybit.sh
tests/e2e/test_stream_gateio.sh
tests/e2e/test_stream_hyperliquid.sh tests/e2e/test_stream_okx.sh tests/e2e/test_stream_rest_budget.sh"
command -v shellcheck >/dev/null || { echo "shellcheck not installed (make deps)" >&2; exit 1; }
if git rev-parse --git-dir >/dev/null 2>&1; then
    files=$(git ls-files --cached --others --exclude-standard '*.sh' .ci/run)
else
    files=$(find . -name '*.sh' -not -path './build*' | sed 's|^\./||'; echo .ci/run)
fi
checked=0 bad=0 excused=0
for f in $files; do
    [ -f "$f" ] || continue # deleted in the working tree
    checked=$((checked + 1))
    case " $(printf %s "$EXCUSED" | tr "\n" " ") " in
    *" $f "*)
        if ! out=$(shellcheck --severity=style -f gcc "$f" 2>&1); then
            excused=$((excused + $(printf '%s\n' "$out" | wc -l)))
            printf '%s\n' "$out" | sed 's/^/excused: /'
        fi ;;
    *)
        shellcheck --severity=style "$f" || bad=$((bad + 1)) ;;
    esac
done
echo "shellcheck: $checked scripts, $bad with findings, $excused excused findings"
[ $checked -gt 0 ] && [ $bad -eq 0 ]

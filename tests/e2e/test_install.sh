#!/bin/bash
# End to end: an installed tree works with its source tree gone (issue #11, "Installable").
# The source tree (what git tracks or would track) is copied, built there (the `candled` target,
# with the sanitizer flags in the sanitizer build) and installed with `make install
# DESTDIR=... PREFIX=/usr`; then the copy and its build tree are deleted and, from /:
#   - the installed files are exactly the layout of docs/architecture.md ("Installed layout"),
#     the aliases relative symlinks, config.lua the source tree's;
#   - `candled check --config etc/candled/config.lua` prints what the build tree's candled
#     prints for the source tree's config.lua, and so does a moved copy of the tree (data found
#     relative to the executable, not at a path compiled in);
#   - `candled stream` of the installed binary against candled-sim prints exact quotes;
#   - `connector-cli --version` through the alias; CONNECTOR_ADAPTER_DIR overrides the data;
#     a binary copied away from its data says so and fails;
#   - the man page renders without warnings.
set -eu
. "$CDL_SOURCE_DIR/tests/e2e/lib.sh"
T="$E2E_TMP"
SRC="$T/src"
QUOTES="$PYTHON $CDL_SOURCE_DIR/tests/e2e/quotes.py"
command -v git >/dev/null || fail "git is needed to list the source tree"
git -C "$CDL_SOURCE_DIR" rev-parse --git-dir >/dev/null 2>&1 || fail "$CDL_SOURCE_DIR is not a git checkout"

# --- copy, build, install -----------------------------------------------------------------------
mkdir "$SRC"
# the working tree's files, tracked or new (not ignored, not deleted)
(cd "$CDL_SOURCE_DIR" && git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done |
    tar -cf - --null -T -) | tar -xf - -C "$SRC"
for f in CMakeLists.txt Makefile adapters/binance.lua; do [ -f "$SRC/$f" ] || fail "source tree not copied: no $f"; done
if [ "${CDL_SANITIZE:-0}" = 1 ]; then
    # the installed binary is an ASan+UBSan one in the sanitizer build (make install keeps the cache)
    cmake -S "$SRC" -B "$SRC/build" -DCDL_SANITIZE=ON >"$T/configure.log" 2>&1 ||
        { tail -20 "$T/configure.log" >&2; fail "configure with CDL_SANITIZE=ON failed"; }
fi
make -C "$SRC" install JOBS=2 DESTDIR="$T/x" PREFIX=/usr >"$T/install.log" 2>&1 ||
    { tail -30 "$T/install.log" >&2; fail "make install failed"; }
rm -rf "$SRC"
[ ! -e "$SRC" ] || fail "source copy not deleted"

# --- the layout, exactly --------------------------------------------------------------------------
X="$T/x"
{
    echo etc/candled/config.lua
    echo usr/bin/candled
    echo usr/bin/connector-cli
    echo usr/bin/connector-wss
    for a in "$CDL_SOURCE_DIR"/adapters/*.lua; do echo "usr/share/candled/adapters/${a##*/}"; done
    for m in "$CDL_SOURCE_DIR"/lua/candled/*.lua; do echo "usr/share/candled/lua/candled/${m##*/}"; done
    echo usr/share/man/man1/candled.1
} | LC_ALL=C sort >"$T/want.files"
(cd "$X" && find . \( -type f -o -type l \) | sed 's|^\./||' | LC_ALL=C sort) >"$T/got.files"
diff -u "$T/want.files" "$T/got.files" >&2 || fail "installed files differ from the layout (- wanted, + got)"
if [ ! -x "$X/usr/bin/candled" ] || [ -L "$X/usr/bin/candled" ]; then fail "usr/bin/candled is not an executable file"; fi
for alias in connector-cli connector-wss; do
    [ "$(readlink "$X/usr/bin/$alias")" = candled ] || fail "$alias is not a relative symlink to candled"
done
cmp "$CDL_SOURCE_DIR/config.lua" "$X/etc/candled/config.lua" || fail "etc/candled/config.lua is not config.lua"

# --- from /, with the source copy gone ------------------------------------------------------------
cd /
"$CDL_BUILD_DIR/candled" check --config "$CDL_SOURCE_DIR/config.lua" >"$T/want.check" 2>&1 ||
    fail "the build tree's candled check failed: $(cat "$T/want.check")"
grep -q '^configuration ok' "$T/want.check" || fail "unexpected check output: $(cat "$T/want.check")"
check_installed() { # ROOT: the installed tree's check of its config.lua prints what the build tree's does
    rc=0
    "$1/usr/bin/candled" check --config "$1/etc/candled/config.lua" >"$T/got.check" 2>&1 || rc=$?
    [ $rc -eq 0 ] || fail "installed candled check (in $1) exited $rc: $(cat "$T/got.check")"
    diff -u "$T/want.check" "$T/got.check" >&2 || fail "installed candled check (in $1) printed otherwise"
}
check_installed "$X"
mv "$X" "$T/moved"
X="$T/moved"
check_installed "$X"

[ "$("$X/usr/bin/connector-cli" --version)" = "$("$CDL_BUILD_DIR/candled" --version)" ] ||
    fail "connector-cli --version: '$("$X/usr/bin/connector-cli" --version 2>&1)'"

# CONNECTOR_ADAPTER_DIR beats the data beside the executable
mkdir "$T/empty"
rc=0
CONNECTOR_ADAPTER_DIR="$T/empty" "$X/usr/bin/candled" check --config "$X/etc/candled/config.lua" \
    >/dev/null 2>"$T/env.err" || rc=$?
[ $rc -eq 1 ] || fail "check with an empty CONNECTOR_ADAPTER_DIR exited $rc"
grep -qx "candled: no adapters found in $T/empty" "$T/env.err" || fail "CONNECTOR_ADAPTER_DIR not used: $(cat "$T/env.err")"

# the binary alone, away from its data: a clear error, no other fallback
mkdir "$T/lone"
cp "$X/usr/bin/candled" "$T/lone/candled"
rc=0
"$T/lone/candled" check >/dev/null 2>"$T/lone.err" || rc=$?
[ $rc -eq 1 ] || fail "a lone binary's check exited $rc"
grep -q "^candled: no adapters directory found from the executable's location" "$T/lone.err" ||
    fail "lone binary: $(cat "$T/lone.err")"

# stream: exact quotes from the installed binary and its installed config.lua
start_sim --exchange binance --symbols BTCUSDT,ETHUSDT --interval 1m --rate 4 --record "$T/rec"
rc=0
timeout 60 "$X/usr/bin/candled" stream binance BTCUSDT ETHUSDT --limit 10 --config "$X/etc/candled/config.lua" \
    --ws-url "ws://127.0.0.1:$SIM_PORT/ws" --rest-url "http://127.0.0.1:$SIM_PORT" >"$T/out" 2>"$T/err" || rc=$?
stop_sim
[ $rc -eq 0 ] || fail "installed candled stream exited $rc: $(tail -5 "$T/err")"
$QUOTES check --market spot --count 10 "$T/rec" "$T/out"
for s in BTCUSDT ETHUSDT; do
    grep -q "\"symbol\":\"$s\"" "$T/out" || fail "no quote for $s"
done

# the man page renders without warnings
MAN="$X/usr/share/man/man1/candled.1"
groff -man -ww -z "$MAN" 2>"$T/groff.err" || fail "groff failed on the man page"
[ ! -s "$T/groff.err" ] || fail "groff warnings: $(cat "$T/groff.err")"
if command -v man >/dev/null; then
    MANWIDTH=80 man -l --warnings "$MAN" >"$T/man.txt" 2>"$T/man.err" || fail "man -l failed"
    [ ! -s "$T/man.err" ] || fail "man warnings: $(cat "$T/man.err")"
    grep -q "candled stream EXCHANGE SYMBOL" "$T/man.txt" || fail "man page without its synopsis"
fi
echo "installed tree ok: $(wc -l <"$T/got.files") files, check and stream from / with the sources deleted"

# Thin entry point; the build itself is CMake (CMakeLists.txt).
# The one list of Debian packages candled needs (build, run, test):
DEB_PACKAGES = gcc make cmake pkg-config libwebsockets-dev libwebsockets-evlib-uv \
               libuv1-dev libcurl4-openssl-dev libssl-dev ca-certificates \
               liblua5.4-dev lua5.4 lua-cjson lua-cjson-dev lua-busted python3 python3-pytest openssl valgrind \
               prometheus git lua-check shellcheck clang-format groff-base man-db

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# Tests side by side: two per core, because the end-to-end tests mostly wait on sockets and
# timers (the suite uses about a fifth of the CPU time it takes), and the longest test bounds it.
TEST_JOBS ?= $(shell echo $$(( $(JOBS) * 2 )))
CONFIG ?= config.lua
# make install: GNU layout under PREFIX, staged under DESTDIR (docs/architecture.md, "Installed layout").
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all deps build asan test test-fast run check bench chaos golden install format clean

all: build

deps:
	@tools/deps.sh $(DEB_PACKAGES)

build:
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j $(JOBS)

asan:
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCDL_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j $(JOBS)

# Everything: unit tests, busted specs, end-to-end tests, then the sanitizer build.
test: deps build asan
	cd build && ctest --output-on-failure -j $(TEST_JOBS)
	cd build-asan && ctest --output-on-failure -j $(TEST_JOBS) -LE nosan

test-fast: build
	cd build && ctest --output-on-failure -j $(TEST_JOBS)

run: deps build
	build/candled serve --config $(CONFIG)

check: build
	build/candled check --config $(CONFIG)

bench: build
	tests/bench/run.sh

# The longer chaos run of issue #3 (CHAOS_SECONDS, CHAOS_SYMBOLS); figures in docs/reliability.md.
chaos: build
	bash tests/bench/chaos.sh

# Rewrites the golden files of tests/fixtures/$(DIR) (all directories without DIR); review them
# (git diff tests/fixtures) before committing: docs/adapters.md, "Golden files".
golden: build
	CDL_GOLDEN_UPDATE=1 build/test_adapter_golden $(DIR)

# The install prefix is a configure-time setting (with PREFIX=/usr, config.lua goes to /etc);
# changing it rebuilds nothing, since no path is compiled into the binary.
install:
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@cmake --build build -j $(JOBS) --target candled
	DESTDIR=$(DESTDIR) cmake --install build

# Rewrites the C sources with .clang-format; tools/format-check.sh only reports.
format:
	clang-format -i $$(tools/format-check.sh --list)

clean:
	rm -rf build build-asan

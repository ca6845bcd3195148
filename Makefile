# Thin entry point; the build itself is CMake (CMakeLists.txt).
# The one list of Debian packages candled needs (build, run, test):
DEB_PACKAGES = gcc make cmake pkg-config libwebsockets-dev libwebsockets-evlib-uv \
               libuv1-dev libcurl4-openssl-dev libssl-dev ca-certificates \
               liblua5.4-dev lua5.4 lua-cjson lua-cjson-dev lua-busted python3 python3-pytest openssl valgrind \
               prometheus

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CONFIG ?= config.lua

.PHONY: all deps build asan test test-fast run check bench chaos clean

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
	cd build && ctest --output-on-failure -j $(JOBS)
	cd build-asan && ctest --output-on-failure -j $(JOBS) -LE nosan

test-fast: build
	cd build && ctest --output-on-failure -j $(JOBS)

run: deps build
	build/candled serve --config $(CONFIG)

check: build
	build/candled check --config $(CONFIG)

bench: build
	tests/bench/run.sh

# The longer chaos run of issue #3 (CHAOS_SECONDS, CHAOS_SYMBOLS); figures in docs/reliability.md.
chaos: build
	bash tests/bench/chaos.sh

clean:
	rm -rf build build-asan

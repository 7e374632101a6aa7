# drove: the developer's entry points. CMake does the building; this file
# installs missing Debian packages first and names the common runs.
BUILD    ?= build
ASAN     ?= build-asan
TSAN     ?= build-tsan
PREFIX   ?= /usr/local
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all deps build demo test check test-sanitize test-tsan install bench \
	clean

all: build

deps:
	@sh scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# The tree reduction and the parameter sweep on the embedded default cluster.
demo: build
	@$(BUILD)/examples/tree_reduce
	@$(BUILD)/examples/sweep

# Every test, then every test again under AddressSanitizer and
# UndefinedBehaviorSanitizer, and under ThreadSanitizer.
test: check test-sanitize test-tsan

check: build
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

test-sanitize: deps
	@cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug \
	    -DDV_SANITIZER=address,undefined -DDV_BENCH=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN) -j $(JOBS)
	@ctest --test-dir $(ASAN) --output-on-failure -j $(JOBS)

test-tsan: deps
	@cmake -S . -B $(TSAN) -DCMAKE_BUILD_TYPE=Debug \
	    -DDV_SANITIZER=thread -DDV_BENCH=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(TSAN) -j $(JOBS)
	@TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/tests/tsan.supp $(TSAN_OPTIONS)" \
	    ctest --test-dir $(TSAN) --output-on-failure -j $(JOBS)

install: build
	@cmake --install $(BUILD) --prefix $(PREFIX)

bench: deps
	@DV_DEPS_BENCH=1 sh scripts/install-deps.sh || true
	@cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DDV_TESTS=OFF >/dev/null
	@cmake --build build-bench -j $(JOBS)
	@sh bench/run.sh build-bench

clean:
	rm -rf $(BUILD) $(ASAN) $(TSAN) build-bench

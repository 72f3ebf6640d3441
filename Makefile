# Thin wrapper over CMake + Ninja + ctest. Everything real lives in CMakeLists.txt.
#   make build    install missing packages, configure build/ (once), build
#   make check    the quick check before each commit (< 4 minutes on 2 cores): build the compiler
#                 and runtime, run the tests labelled quick (ctest -L quick)
#   make test     build, then run every ctest test (lit, lit-asan, fuzz-smoke, stdlib-check...)
#   make demo     build, then tools/demo.sh
#   make fuzz     build, then fuzz the front end for FUZZ_SECONDS (default 300)
#   make format   clang-format our own .c/.h files in place
#   make clean    remove build/
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
CMAKE_ARGS ?=
FUZZ_SECONDS ?= 300
CTEST_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CLANG_FORMAT ?= $(firstword $(foreach c,clang-format-22 clang-format clang-format-14,$(shell command -v $(c) 2>/dev/null)))

.PHONY: all deps configure build check test demo fuzz format clean

all: build

deps:
	@tools/install-deps.sh

configure: deps
	@if [ ! -f $(BUILD_DIR)/CMakeCache.txt ]; then \
	    cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS); \
	elif [ ! -f $(BUILD_DIR)/build.ninja ] && [ ! -f $(BUILD_DIR)/Makefile ]; then \
	    cmake -S . -B $(BUILD_DIR) $(CMAKE_ARGS); \
	fi

build: configure
	cmake --build $(BUILD_DIR)

# The targets the quick tests use (not the ASan and fuzzing builds).
QUICK_TARGETS := tilec tilec_rt test-runtime test-runtime-tsan test-dispatch test-bf16 test-tensor-map \
                 tilec-run runner-example

check: configure
	cmake --build $(BUILD_DIR) --target $(QUICK_TARGETS)
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(CTEST_JOBS) -L quick

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(CTEST_JOBS)

demo: build
	@test -f tools/demo.sh || { echo "make demo: tools/demo.sh does not exist" >&2; exit 1; }
	bash tools/demo.sh

fuzz: build
	TILEC_FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run-fuzz.sh $(BUILD_DIR)/bin/tilec-fuzz \
	    $(FUZZ_SECONDS) $(BUILD_DIR)/fuzz-artifacts

format:
	@test -n "$(CLANG_FORMAT)" || { echo "make format: no clang-format (apt-get install clang-format)" >&2; exit 1; }
	find . \( -path ./.git -o -path './build' -o -path './build-*' -o -path '*/Output' \) -prune -o \
	    -type f \( -name '*.c' -o -name '*.h' \) -print0 | xargs -0 -r $(CLANG_FORMAT) -i

clean:
	rm -rf $(BUILD_DIR)

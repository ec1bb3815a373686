#!/usr/bin/env bash
# test-sanitize.sh: build with AddressSanitizer + UndefinedBehaviorSanitizer
# (-DKC_SANITIZE=ON: no recovery) and run the whole ctest suite under them,
# unit and end-to-end, except the package test (it builds its own release
# packages). Any leak, invalid access or undefined behaviour aborts the test
# that hit it, and the script fails.
#
#   scripts/test-sanitize.sh                     build/asan, every test
#   scripts/test-sanitize.sh -R e2e.test_agent   extra ctest arguments
#   KC_ASAN_BUILD_DIR=/tmp/asan scripts/test-sanitize.sh
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${KC_ASAN_BUILD_DIR:-$src/build/asan}

cmake -S "$src" -B "$build" -DKC_SANITIZE=ON -DKC_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	>/dev/null
cmake --build "$build" -j2

# detect_leaks: the agent and every test program must free what they take.
# abort_on_error / halt_on_error: a report is a failure, never a warning.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd "$build"
ctest --output-on-failure -j2 -E 'test_package' "$@"

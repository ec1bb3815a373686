#!/usr/bin/env bash
# test-sanitize.sh: build with AddressSanitizer + UndefinedBehaviorSanitizer
# (-DKC_SANITIZE=ON: no recovery) and run the whole ctest suite under them,
# unit and end-to-end, except the package test (it builds its own release
# packages). Any leak, invalid access or undefined behaviour aborts the test
# that hit it, and the script fails.
#
# Then the same with clang's sanitizers (they are not gcc's: clang's ASan
# reports malloc_usable_size as the size asked for, which found the
# recycler's overflow, issue 20) over the unit tests and the render
# end-to-end tests, the code that most handles hostile bytes. It adds about
# a minute (a clang build on two cores, then ~10 s of tests); KC_ASAN_CLANG=0
# leaves it out, and it is skipped with a warning where clang is missing.
#
#   scripts/test-sanitize.sh                     build/asan, every test
#   scripts/test-sanitize.sh -R e2e.test_agent   extra ctest arguments (gcc run)
#   KC_ASAN_BUILD_DIR=/tmp/asan scripts/test-sanitize.sh
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${KC_ASAN_BUILD_DIR:-$src/build/asan}
clang_build=${KC_ASAN_CLANG_BUILD_DIR:-$build-clang}

configure() { # build dir, then CMake arguments
	local dir=$1
	shift
	cmake -S "$src" -B "$dir" -DKC_SANITIZE=ON -DKC_WERROR=ON \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
	cmake --build "$dir" -j2
}
configure "$build"

# detect_leaks: the agent and every test program must free what they take.
# abort_on_error / halt_on_error: a report is a failure, never a warning.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd "$build" && ctest --output-on-failure -j"${KC_CTEST_JOBS:-4}" -E 'test_package' "$@")

if [ "${KC_ASAN_CLANG:-1}" = 0 ]; then
	exit 0
elif ! command -v clang >/dev/null; then
	echo "!!! test-sanitize.sh: SKIPPED the clang ASan+UBSan run: no clang" >&2
	exit 0
fi
CC=clang configure "$clang_build" -DCMAKE_C_COMPILER=clang
(cd "$clang_build" && ctest --output-on-failure -j"${KC_CTEST_JOBS:-4}" -R '^unit\.|^e2e\.test_render_')

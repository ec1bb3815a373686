#!/bin/sh
# fuzz-smoke.sh: build the libFuzzer targets with clang in build/fuzz and run
# each for a short fixed time over its seed corpus; fails on any crash, leak,
# timeout or broken invariant. Crash inputs land in build/fuzz/crashes/.
#
#   scripts/fuzz-smoke.sh                 every target, 20 s each, two at a time
#   FUZZ_SECONDS=600 scripts/fuzz-smoke.sh
#   FUZZ_BUILD_DIR=/tmp/fz scripts/fuzz-smoke.sh fuzz_yaml
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$src/build/fuzz}
seconds=${FUZZ_SECONDS:-20}
# Default: every target, i.e. every fuzz/fuzz_*.c but the shared checks.
targets=${*:-$(cd "$src/fuzz" && ls fuzz_*.c | grep -v '^fuzz_check\.c$' | sed 's/\.c$//' | tr '\n' ' ')}

command -v clang >/dev/null || { echo "fuzz-smoke: clang not found (apt-get install clang libclang-rt-dev)" >&2; exit 2; }

CC=clang cmake -S "$src" -B "$build" -DKUBELET_CHECKPOINT_FUZZ=ON -DBUILD_TESTING=OFF \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
# shellcheck disable=SC2086
cmake --build "$build" -j2 --target $targets

mkdir -p "$build/crashes"
rm -f "$build"/*.failed

# One target for $seconds; a failure leaves $build/<target>.failed.
fuzz_one() {
	t=$1
	# New corpus entries go to a scratch directory: the seeds (our corpus and
	# render's hostile inputs) stay as committed.
	scratch=$(mktemp -d)
	dict=""
	[ -f "$src/fuzz/$t.dict" ] && dict="-dict=$src/fuzz/$t.dict"
	seeds="$src/tests/hostile"
	[ -d "$src/fuzz/corpus/$t" ] && seeds="$src/fuzz/corpus/$t $seeds"
	# shellcheck disable=SC2086
	if ! "$build/$t" $dict -max_total_time="$seconds" -max_len=1048576 -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$build/crashes/$t-" \
		"$scratch" $seeds >"$build/$t.log" 2>&1; then
		touch "$build/$t.failed"
	fi
	rm -rf "$scratch"
}

# Two targets at a time: each is one busy process, and the machine has two
# cores (FUZZ_JOBS changes it).
jobs=${FUZZ_JOBS:-2}
running=0
for t in $targets; do
	echo "fuzz-smoke: $t for ${seconds}s"
	fuzz_one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait
		running=0
	fi
done
wait
failed=""
for t in $targets; do
	if [ -e "$build/$t.failed" ]; then
		echo "fuzz-smoke: $t FAILED (log: $build/$t.log, inputs: $build/crashes/)" >&2
		tail -n 40 "$build/$t.log" >&2
		failed="$failed $t"
	else
		echo "fuzz-smoke: $t:"
		grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$build/$t.log" || true
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz-smoke: failures:$failed" >&2
	exit 1
fi
echo "fuzz-smoke: all targets clean"

#!/usr/bin/env bash
# test-valgrind.sh: the end-to-end bridge cycle (test_agent_cycle.py
# test_full_cycle: API down, activation, parent running, flag off/on,
# manifest deleted, API back, GC) with the agent under memcheck. A leak
# (definite or indirect) or an invalid access makes valgrind exit 99, which
# fails the test's "SIGTERM exits 0" check; the valgrind reports are printed.
#
#   scripts/test-valgrind.sh                 release build in build/valgrind
#   KC_VALGRIND_BUILD_DIR=/tmp/vg scripts/test-valgrind.sh
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${KC_VALGRIND_BUILD_DIR:-$src/build/valgrind}
command -v valgrind >/dev/null || { echo "test-valgrind: valgrind not found (scripts/setup.sh --test)" >&2; exit 2; }

cmake -S "$src" -B "$build" -DKC_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2 --target kubelet-checkpoint kc_render_tool

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
export KC_BINARY="$build/kubelet-checkpoint" KC_SOURCE_DIR="$src"
export KC_FIXTURES_DIR="$src/../shared/fixtures/pods"
# agent_env.py prepends this to the agent's command line (shlex syntax).
export KC_AGENT_WRAPPER="valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect \
--errors-for-leak-kinds=definite,indirect --error-exitcode=99 --track-fds=no \
--log-file=$logs/agent.%p.log"
rc=0
python3 "$src/tests/e2e/test_agent_cycle.py" -v AgentCycleTest.test_full_cycle || rc=$?
for f in "$logs"/agent.*.log; do
	[ -s "$f" ] || continue
	echo "test-valgrind: report of $(basename "$f"):"
	cat "$f"
	rc=1
done
[ "$rc" = 0 ] && echo "test-valgrind: clean (no leak, no invalid access)"
exit "$rc"

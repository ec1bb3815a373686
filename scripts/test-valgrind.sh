#!/usr/bin/env bash
# test-valgrind.sh: the end-to-end bridge cycle (test_agent_cycle.py
# test_full_cycle: API down, activation, parent running, flag off/on,
# manifest deleted, API back, GC) and the fault tests (test_agent_faults.py)
# with the agent under memcheck. A leak
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
export KC_FIXTURES_DIR="$src/tests/fixtures/pods"
# agent_env.py prepends KC_AGENT_WRAPPER (shlex syntax) to the agent's command
# line. `status` recognises the running agent by the argv[0] of the pid in the
# status file, and valgrind would show its own there: so valgrind's real binary
# (Debian's /usr/bin/valgrind is a shell wrapper around valgrind.bin) is exec'd
# with the agent's path as argv[0].
vgbin=$(command -v valgrind.bin || command -v valgrind)
vgopts="--quiet --leak-check=full --show-leak-kinds=definite,indirect \
--errors-for-leak-kinds=definite,indirect --error-exitcode=99 --log-file=$logs/agent.%p.log"
export KC_AGENT_WRAPPER="bash -c 'exec -a \"\$1\" $vgbin $vgopts \"\$@\"' kc-valgrind"
rc=0
# The two run side by side (each mostly waits on the agent's timers); their
# outputs follow each other once both ended. The fault tests drive the error
# paths (full disk, read-only and vanishing staticPodPath, SIGHUP reloads,
# damaged checkpoints, 3000 pods).
python3 "$src/tests/e2e/test_agent_cycle.py" -v AgentCycleTest.test_full_cycle \
	>"$logs/cycle.out" 2>&1 &
cycle=$!
python3 "$src/tests/e2e/test_agent_faults.py" -v >"$logs/faults.out" 2>&1 &
faults=$!
wait "$cycle" || rc=$?
wait "$faults" || rc=$?
cat "$logs/cycle.out" "$logs/faults.out"
if ! ls "$logs"/agent.*.log >/dev/null 2>&1; then
	echo "test-valgrind: the agent never ran under valgrind (KC_AGENT_WRAPPER ignored?)" >&2
	exit 1
fi
for f in "$logs"/agent.*.log; do
	[ -s "$f" ] || continue
	echo "test-valgrind: report of $(basename "$f"):"
	cat "$f"
	rc=1
done
[ "$rc" = 0 ] && echo "test-valgrind: clean (no leak, no invalid access)"
exit "$rc"

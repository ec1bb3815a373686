#!/usr/bin/env bash
# Runs every benchmark of kubelet-checkpoint and writes the results as JSON:
# render throughput (bench_render), the disk floor of activation
# (bench/io_floor.py) and the agent against the fake apiserver
# (bench/agent_bench.py: activation overhead, footprint, idle requests, scale).
#
#   scripts/bench.sh [--quick] [--build DIR] [--out DIR] [-- agent_bench args]
#
# --quick: ~2-3 minutes instead of ~20 (2 activation cycles, 20 s idle, 10 s wakeup
# windows, 1 and 10 agents). Only 127.0.0.1 is used. Results: DIR/*.json
# (default build/bench-results). See BENCHMARKS.md for the figures.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=""
build="build/bench"
out=""
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick="--quick" ;;
	--build) build="$2"; shift ;;
	--out) out="$2"; shift ;;
	--) shift; break ;;
	*) echo "usage: $0 [--quick] [--build DIR] [--out DIR] [-- agent_bench args]" >&2; exit 2 ;;
	esac
	shift
done
out="${out:-$build/bench-results}"

cmake -S . -B "$build" -DKC_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2 --target kubelet-checkpoint bench_render kc_render_tool
mkdir -p "$out"

echo "== machine"
echo "nproc $(nproc); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-); kernel $(uname -r)"
echo "disk under ${TMPDIR:-/tmp}: $(df -P "${TMPDIR:-/tmp}" | awk 'NR==2 {print $1}')" \
	"$(lsblk -dno ROTA "$(df -P "${TMPDIR:-/tmp}" | awk 'NR==2 {print $1}')" 2>/dev/null |
		sed 's/^ *1$/(rotational)/; s/^ *0$/(non-rotational)/')"

echo "== render"
inputs="$build/render-inputs"
python3 bench/make_render_inputs.py "$inputs" "$build/kc_render_tool" >/dev/null
"$build/bench_render" "$inputs" | tee "$out/render.txt"

echo "== disk floor of activation (110 manifests)"
repeat="$([ -n "$quick" ] && echo 2 || echo 5)"
python3 bench/io_floor.py --repeat "$repeat" | tee "$out/io_floor.txt"
python3 bench/io_floor.py --repeat "$repeat" --dirty-mib 256 | tee -a "$out/io_floor.txt"

echo "== agent"
python3 bench/agent_bench.py --binary "$build/kubelet-checkpoint" $quick \
	--json "$out/agent.json" "$@"
echo "results in $out"

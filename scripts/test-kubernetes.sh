#!/usr/bin/env bash
# The kubernetes test tier (issue 15): the bridge against a real kubelet, containerd/runc and
# kube-apiserver, all on this machine, nothing pulled from an image registry.
#   tests/kubernetes/test_standalone.py   standalone kubelet runs every fixture pod's bridge
#   tests/kubernetes/test_full_cycle.py   apiserver lost, node rebooted, bridges run, API back
#   tests/kubernetes/test_self_hosted.py  etcd and kube-apiserver as checkpointed pods, cold
#                                         reboot with no apiserver anywhere (~5 min)
# bench/cold_reboot.py (not run here) does N such reboots in a row.
# Needs root (containerd, runc, the kubelet's cgroups and mounts) and Go (the first run builds
# kubelet, kube-apiserver, kubectl and etcd into a cache keyed by versions: see
# tests/kubernetes/build.sh; later runs reuse it).
#
# Usage: scripts/test-kubernetes.sh [BUILD_DIR]   (default build/test; it is built if missing)
# Env:   KC_K8S_TIMINGS=FILE   append the measured timings (JSON lines) to FILE
#        KC_K8S_KEEP=1         keep the temp dirs under /var/tmp/kc-k8s-* for a post-mortem
#        KC_K8S_STRICT=1       a known bug's check fails the tier instead of being reported
#        KC_K8S_SELFHOSTED_OBSERVE=S  seconds /readyz must stay ok after the self-hosted
#                              hand-off (default 180: issue 18's 3 min)
#        KC_K8S_SELFHOSTED_VARIANT=1  also the cold reboot with the kubelet 90 s before the
#                              agent (~3 min more; bench/cold_reboot.py --kubelet-lead 90)
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
build=${1:-build/test}

if [ "$(id -u)" != 0 ]; then
	echo "!!! test-kubernetes: SKIPPED: needs root (containerd, runc, kubelet cgroups and mounts)" >&2
	exit 0
fi
# Go's own installer puts it in /usr/local/go/bin, which a CI shell's PATH may lack.
command -v go >/dev/null 2>&1 || [ ! -x /usr/local/go/bin/go ] || PATH=$PATH:/usr/local/go/bin
if ! command -v go >/dev/null 2>&1; then
	echo "!!! test-kubernetes: SKIPPED: no Go toolchain to build kubelet and kube-apiserver" >&2
	exit 0
fi
# Debian packages (scripts/setup.sh --test installs them).
for need in containerd ctr runc /usr/lib/cni/bridge /bin/busybox iptables curl; do
	if ! command -v "$need" >/dev/null 2>&1; then
		echo "test-kubernetes: $need is missing: run scripts/setup.sh --test" >&2
		exit 1
	fi
done

start=$(date +%s)
if [ ! -x "$build/kubelet-checkpoint" ] || [ ! -x "$build/kc_render_tool" ] || [ ! -x "$build/cri_probe" ]; then
	cmake -S . -B "$build" -DKC_WERROR=ON >/dev/null
	cmake --build "$build" -j"$(nproc)" --target kubelet-checkpoint kc_render_tool cri_probe
fi
bin=$(tests/kubernetes/build.sh)
echo "test-kubernetes: Kubernetes binaries in $bin (kubectl there is reusable by other tests)"
echo "test-kubernetes: the build that made them took $(cat "$bin/BUILD-TIME" 2>/dev/null || echo '?') s"

export KC_BINARY="$src/$build/kubelet-checkpoint"
export KC_RENDER_TOOL="$src/$build/kc_render_tool"
export KC_SOURCE_DIR="$src"
export KC_K8S_BIN="$bin"
failed=0
log=$(mktemp -d /tmp/kc-k8s-tier.XXXXXX)
for t in test_standalone test_full_cycle test_self_hosted; do
	t0=$(date +%s)
	if python3 "tests/kubernetes/$t.py" -v 2>&1 | tee "$log/$t.log"; [ "${PIPESTATUS[0]}" = 0 ]; then
		echo "test-kubernetes: $t passed in $(($(date +%s) - t0)) s"
	else
		echo "test-kubernetes: $t FAILED after $(($(date +%s) - t0)) s"
		failed=1
	fi
done
echo "test-kubernetes: tier took $(($(date +%s) - start)) s"
# Known bugs are checked strictly but reported as skips (KC_K8S_STRICT=1 makes them fail).
if grep -h "KNOWN BUG" "$log"/*.log >/dev/null 2>&1; then
	echo "!!! test-kubernetes: KNOWN BUG hit in this run (a real failure, not counted; see tests/kubernetes/README.md):"
	grep -h "KNOWN BUG" "$log"/*.log | sed 's/^.*\(KNOWN BUG\)/!!!   \1/' | cut -c1-400
fi
# Design targets a test measures but does not fail on (see tests/kubernetes/README.md).
if grep -h "TARGET MISSED" "$log"/*.log >/dev/null 2>&1; then
	grep -h "TARGET MISSED" "$log"/*.log | cut -c1-400
fi
rm -rf "$log"
exit $failed

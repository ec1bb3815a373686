#!/bin/sh
# Builds (once) the Kubernetes components the kubernetes test tier runs: kubelet, kube-apiserver
# and kubectl from the k8s.io/kubernetes Go module pinned in tests/kubernetes/build/go.mod
# (etcd 3.6 from go.etcd.io/etcd/server/v3 too, see below), into a cache directory keyed by the
# Kubernetes version and the Go version, so the second run of the test command does not rebuild.
#
# Usage: tests/kubernetes/build.sh            build if missing, print the cache directory
#        tests/kubernetes/build.sh --print    print the cache directory, build nothing
#        tests/kubernetes/build.sh --regen V  rewrite build/go.mod for k8s.io/kubernetes vV
#
# Other tests can reuse the binaries (kubectl in particular): the cache directory is
#   ${KC_K8S_CACHE:-/var/cache/kubelet-checkpoint-tests/k8s}/<k8s version>-<go version>/
# holding kubelet, kube-apiserver, kubectl, etcd and BUILD-TIME (seconds the build took).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
mod="$here/build"

# The one setting: the Kubernetes release. Staging modules are v0.<minor>.<patch> of it.
regen() {
	v=$1
	sv="0.${v#*.}"
	go mod download -json "k8s.io/kubernetes@v$v" >/dev/null
	src="$(go env GOMODCACHE)/k8s.io/kubernetes@v$v/go.mod"
	{
		echo "// Build module for the kubernetes test tier (issue 15): pins k8s.io/kubernetes and"
		echo "// replaces each staging module with its published v0.Y.Z, which k8s.io/kubernetes'"
		echo "// own go.mod points at local paths its module archive does not carry."
		echo "// Regenerate with tests/kubernetes/build.sh --regen <version>."
		echo "module kubelet-checkpoint/tests/kubernetes/build"
		echo
		echo "go 1.24.0"
		echo
		echo "require k8s.io/kubernetes v$v"
		echo
		echo "tool ("
		echo "	k8s.io/kubernetes/cmd/kubelet"
		echo "	k8s.io/kubernetes/cmd/kube-apiserver"
		echo "	k8s.io/kubernetes/cmd/kubectl"
		echo "	go.etcd.io/etcd/server/v3"
		echo ")"
		echo
		echo "replace ("
		sed -n '/^replace/,/^)/p' "$src" | grep '=>' |
			awk -v sv="$sv" '{print "\t" $1 " => " $1 " v" sv}'
		echo ")"
	} >"$mod/go.mod"
	(cd "$mod" && go mod tidy)
}

if [ "${1:-}" = "--regen" ]; then
	regen "$2"
	exit 0
fi

# go mod tidy moves the require into a block (marked indirect: only tools use it).
k8s_version=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v1\./ {print $2}' "$mod/go.mod")
[ -n "$k8s_version" ] || { echo "build.sh: no k8s.io/kubernetes version in $mod/go.mod" >&2; exit 1; }
go_version=$(go env GOVERSION)
cache="${KC_K8S_CACHE:-/var/cache/kubelet-checkpoint-tests/k8s}/${k8s_version}-${go_version}"

if [ "${1:-}" = "--print" ]; then
	echo "$cache"
	exit 0
fi

bins="kubelet kube-apiserver kubectl etcd"
missing=
for b in $bins; do [ -x "$cache/$b" ] || missing="$missing $b"; done
if [ -z "$missing" ]; then
	echo "$cache"
	exit 0
fi

echo "kubernetes tier: building$missing (k8s $k8s_version, $go_version) into $cache" >&2
echo "kubernetes tier: the first build takes a long time on 2 cores (see tests/kubernetes/README.md)" >&2
mkdir -p "$cache"
tmp="$cache/.build.$$"
mkdir -p "$tmp"
start=$(date +%s)
# -trimpath and -s -w keep the binaries small and the build independent of this checkout's path.
# nice: other work shares the machine's cores. The etcd server module's main package is the
# module root; its version is the one k8s.io/kubernetes requires (go.mod, indirect).
# The version a release build stamps (hack/lib/version.sh): without it the binaries say
# v0.0.0-master, which the kubelet reports in its Node status and kubectl warns about.
minor=${k8s_version#v1.}
minor=${minor%%.*}
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ldflags="$ldflags -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
	ldflags="$ldflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
(cd "$mod" && GOFLAGS="${GOFLAGS:-} -trimpath -mod=readonly" nice -n 10 \
	go build -ldflags "$ldflags" -o "$tmp/" \
	k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-apiserver \
	k8s.io/kubernetes/cmd/kubectl go.etcd.io/etcd/server/v3)
[ -x "$tmp/v3" ] && mv "$tmp/v3" "$tmp/etcd"
[ -x "$tmp/server" ] && mv "$tmp/server" "$tmp/etcd"
for b in $bins; do mv "$tmp/$b" "$cache/$b"; done
rmdir "$tmp"
end=$(date +%s)
echo "$((end - start))" >"$cache/BUILD-TIME"
echo "kubernetes tier: built in $((end - start)) s" >&2
echo "$cache"

#!/usr/bin/env bash
# Installs what kubelet-checkpoint needs to build (with --demo, to run the
# demo; with --test, to run every test) on a fresh Debian machine.
# Idempotent: skips apt-get when all packages are already there.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(build-essential cmake pkg-config libyaml-dev libjansson-dev libcurl4-openssl-dev
      libssl-dev libinotifytools0-dev inotify-tools libcmocka-dev openssl
      libprotobuf-c-dev protobuf-c-compiler libselinux1-dev python3)
mode="${1:-}"
case "$mode" in
  --demo) ;;
  --test) pkgs+=(clang libclang-rt-14-dev valgrind prometheus lintian rpm file
                 clang-format python3-pyflakes dpkg-dev fakeroot systemd faketime
                 python3-grpcio python3-protobuf protobuf-compiler
                 systemd-container mmdebstrap
                 containerd runc containernetworking-plugins busybox-static iptables curl) ;;
  "") ;;
  *) echo "usage: scripts/setup.sh [--demo|--test]" >&2; exit 2 ;;
esac
# The schema check needs Node.js and npm; a machine that already has them (from
# any source) keeps its own, since Debian's npm conflicts with other installs.
if [ -n "$mode" ] && ! { command -v node && command -v npm; } >/dev/null 2>&1; then
  pkgs+=(nodejs npm)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ -n "$mode" ] && [ ! -d tests/schema/node_modules/kubernetes-models ]; then
  echo "setup: installing the Kubernetes schema validator (npm kubernetes-models)"
  (cd tests/schema && npm install --no-audit --no-fund --silent)
fi

#!/usr/bin/env bash
# Installs what kubelet-checkpoint needs to build (and, with --test, to run
# every test) on a fresh Debian machine. Idempotent: skips apt-get when all
# packages are already there.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(build-essential cmake pkg-config libyaml-dev libjansson-dev libcurl4-openssl-dev
      libssl-dev libinotifytools0-dev inotify-tools libcmocka-dev openssl
      python3)
if [ "${1:-}" = "--test" ]; then
  pkgs+=(nodejs npm clang libclang-rt-14-dev valgrind prometheus lintian rpm file
         clang-format dpkg-dev fakeroot systemd)
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

if [ "${1:-}" = "--test" ] && [ ! -d tests/schema/node_modules/kubernetes-models ]; then
  echo "setup: installing the Kubernetes schema validator (npm kubernetes-models)"
  (cd tests/schema && npm install --no-audit --no-fund --silent)
fi

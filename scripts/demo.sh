#!/usr/bin/env bash
# Sets up a fresh Debian machine, builds kubelet-checkpoint and runs the demo:
# the whole bridge cycle against a local fake apiserver, narrated.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --demo
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/demo -j"$(nproc)" --target kubelet-checkpoint kc_render_tool
KC_BINARY="$PWD/build/demo/kubelet-checkpoint" python3 scripts/demo.py

#!/usr/bin/env bash
# Sets up a fresh Debian machine, builds with -Werror and runs every test:
# unit (cmocka), schema, end-to-end against the fake apiserver, packaging,
# sanitizers and short fuzz runs. This is what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
cmake -S . -B build/test -DKC_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/test -j"$(nproc)"
(cd build/test && ctest --output-on-failure -j2)

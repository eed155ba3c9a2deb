#!/usr/bin/env bash
# Build sgdlab with warnings as errors and run the whole test suite (ctest).
#   SGDLAB_BUILD=dir        build folder (default build)
#   SGDLAB_CMAKE_FLAGS=...  extra CMake flags, e.g. -DSGDLAB_SANITIZE=ON
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
build=${SGDLAB_BUILD:-build}
# shellcheck disable=SC2086
cmake -S . -B "$build" -DSGDLAB_WERROR=ON ${SGDLAB_CMAKE_FLAGS:-} >/dev/null
cmake --build "$build" -j"$(nproc)" -- --no-print-directory >/dev/null
ctest --test-dir "$build" --output-on-failure -j"$(nproc)"

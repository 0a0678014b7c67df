#!/usr/bin/env bash
# Builds everything and runs the whole test suite (ctest). Run scripts/setup.sh once first.
#   BUILD_DIR  build folder (default: build)
#   CMAKE_ARGS extra configure arguments (e.g. -DTOKENSTORM_SANITIZE=ON)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
jobs=${JOBS:-2}
# shellcheck disable=SC2086
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo ${CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" -j "$jobs" --output-on-failure

#!/usr/bin/env bash
# Builds the tokenstorm executable and runs the quickstart LoadTest against the built-in simulator.
# (Until the load engine lands, it validates the quickstart and prints its plan and estimates.)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "${JOBS:-2}" --target tokenstorm
"$build/app/tokenstorm" validate --explain examples/quickstart.yaml

#!/usr/bin/env bash
# Builds the tokenstorm executable and runs the quickstart LoadTest against the built-in simulator:
# its plan first (validate --explain), then ten seconds of load, the summary table and report.json.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "${JOBS:-2}" --target tokenstorm
"$build/app/tokenstorm" validate --explain examples/quickstart.yaml
"$build/app/tokenstorm" run examples/quickstart.yaml --out "${OUT_DIR:-tokenstorm-out/quickstart}"

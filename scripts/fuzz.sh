#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for a bounded time.
#   FUZZ_SECONDS  total fuzzing time, split over the targets (default 60)
# Corpora start from examples/ and the data-driven cases; findings land in build-fuzz/findings/.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-fuzz
seconds=${FUZZ_SECONDS:-60}
cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTOKENSTORM_FUZZ=ON >/dev/null
cmake --build "$build" -j "${JOBS:-2}" --target spec_parser_fuzz sim_request_fuzz sse_fuzz
mkdir -p "$build/findings"

run() {  # target corpus-dir
  "$build/tests/fuzz/$1" "$2" -max_total_time=$((seconds / 3)) -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$build/findings/$1-" -print_final_stats=1 2>&1 | tail -n 8
}

spec="$build/corpus/spec"
mkdir -p "$spec"
cp examples/*.yaml "$spec/"
for c in tests/data/validate/*.case; do
  awk '/^----\r?$/{exit} {print}' "$c" >"$spec/$(basename "$c" .case).yaml"
done
run spec_parser_fuzz "$spec"

requests="$build/corpus/sim"
mkdir -p "$requests"
for c in tests/data/sim/*.case; do
  awk '/^----\r?$/{exit} NR>3 {print}' "$c" >"$requests/$(basename "$c" .case).json"
done
run sim_request_fuzz "$requests"

streams="$build/corpus/sse"
mkdir -p "$streams"
for c in tests/data/runner/api/events-*.case; do
  awk '/^----\r?$/{exit} NR>2 {print}' "$c" >"$streams/$(basename "$c" .case).sse"
  sed 's/$/\r/' "$streams/$(basename "$c" .case).sse" >"$streams/$(basename "$c" .case).crlf.sse"
done
run sse_fuzz "$streams"

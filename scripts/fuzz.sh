#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs the spec parser fuzzer for a bounded time.
#   FUZZ_SECONDS  how long to fuzz (default 60)
# The corpus starts from examples/ and the data-driven cases; findings land in build-fuzz/findings/.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-fuzz
seconds=${FUZZ_SECONDS:-60}
cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTOKENSTORM_FUZZ=ON >/dev/null
cmake --build "$build" -j "${JOBS:-2}" --target spec_parser_fuzz
corpus="$build/corpus"
mkdir -p "$corpus" "$build/findings"
cp examples/*.yaml "$corpus/"
for c in tests/data/validate/*.case; do
  awk '/^----\r?$/{exit} {print}' "$c" >"$corpus/$(basename "$c" .case).yaml"
done
"$build/tests/fuzz/spec_parser_fuzz" "$corpus" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
  -rss_limit_mb=2048 -artifact_prefix="$build/findings/" -print_final_stats=1 2>&1 | tail -n 25

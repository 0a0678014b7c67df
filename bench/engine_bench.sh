#!/usr/bin/env bash
# Load engine capacity and accuracy on one runner core: `tokenstorm sim` pinned to core 0, `tokenstorm run`
# pinned to core 1. Prints the figures quoted in docs/benchmarks.md.
#   usage: bench/engine_bench.sh [BUILD_DIR]   (takes ~4 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-bench}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTOKENSTORM_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j 2 --target tokenstorm
bin="$build/app/tokenstorm"
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

start_sim() {  # config-file [truth-file]
  local log="$tmp/sim.log"
  local truth=()
  [ -n "${2:-}" ] && truth=(--truth "$2")
  taskset -c 0 "$bin" sim --listen 127.0.0.1:0 --config "$1" "${truth[@]}" >"$log" 2>&1 &
  sim_pid=$!
  port=
  for _ in $(seq 50); do
    port=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\).*|\1|p' "$log")
    [ -n "$port" ] && break
    sleep 0.1
  done
}
stop_sim() { kill "$sim_pid"; wait "$sim_pid" 2>/dev/null || true; }

sim_config() {  # decode-step max-batch
  cat <<YAML
serving: {prefillOverhead: 0s, prefillTokensPerSecond: 1000000000, decodeStepBase: $1, decodeStepPerSequence: 0s, maxBatch: $2, kvCacheTokens: 1000000000}
prefixCache: {enabled: false}
maxBodyBytes: 67108864
YAML
}

loadtest() {  # load-yaml class-yaml
  cat <<YAML
apiVersion: tokenstorm.dev/v1alpha1
kind: LoadTest
metadata: {name: bench}
spec:
  target:
    endpoints: [{name: sim, url: "http://127.0.0.1:$port", api: openai-chat, model: m, timeout: 10m}]
  workload:
    classes: [$2]
  load: $1
  report: {interval: 5s}
YAML
}

# Runs the engine pinned to core 1; prints its peak RSS and CPU use next to the report's figures.
run_engine() {  # name spec-file [extra args]
  local name=$1 spec=$2
  shift 2
  /usr/bin/time -f "%M %U %S %e" -o "$tmp/time" taskset -c 1 "$bin" run "$spec" --quiet --out "$tmp/$name" "$@" \
    >/dev/null 2>"$tmp/$name.err" || true
  read -r rss_kb user sys wall <"$tmp/time"
  local r="$tmp/$name/report.json"
  echo "$name: $(jq -r '"requests \(.summary.requests.total) ok \(.summary.requests.ok) failed \(.summary.requests.failed)  req/s \(.summary.requestsPerSecond|floor)  events(out tok)/s \(.summary.outputTokensPerSecond|floor)  ttft p50 \(.summary.ttftMs.p50)ms p99 \(.summary.ttftMs.p99)ms  inter-chunk p99 \(.summary.interChunkMs.p99)ms  sched lag p50 \(.summary.client.schedLagMs.p50)ms p99 \(.summary.client.schedLagMs.p99)ms dropped \(.summary.client.droppedArrivals)"' "$r")"
  echo "  runner: peak RSS $((rss_kb / 1024)) MiB, CPU $(awk -v u="$user" -v s="$sys" -v w="$wall" 'BEGIN{printf "%.0f", (u+s)*100/w}')% of one core over ${wall}s"
}

echo "machine: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo | xargs), $(date -u +%F)"
stream_of() { echo "{name: s, prompt: {synthetic: {inputTokens: {fixed: 20}}}, maxOutputTokens: {fixed: $1}, ignoreEos: true}"; }

# 1. Concurrency: 5,000 open streams, 20 events/s each (a decode step every 50 ms).
sim_config 50ms 6000 >"$tmp/sim.yaml"; start_sim "$tmp/sim.yaml"
# Streams of 400 tokens last 20 s, so all 5,000 are open at once from the start to the end of the plan.
loadtest '{mode: closed, maxInFlight: 6000, stages: [{duration: 30s, users: 5000, hold: true}]}' "$(stream_of 400)" >"$tmp/c5000.yaml"
run_engine streams-5000 "$tmp/c5000.yaml"; stop_sim

# 2. Event rate: 1,000 streams offered 500 events/s each (a step every 2 ms): what one runner core parses.
sim_config 2ms 2000 >"$tmp/sim.yaml"; start_sim "$tmp/sim.yaml"
loadtest '{mode: closed, maxInFlight: 2000, stages: [{duration: 20s, users: 1000, hold: true}]}' "$(stream_of 2000)" >"$tmp/ev.yaml"
run_engine events-1000 "$tmp/ev.yaml"; stop_sim

# 3. Short non-streamed requests: 256 users, one output token each.
sim_config 1ms 2000 >"$tmp/sim.yaml"; start_sim "$tmp/sim.yaml"
loadtest '{mode: closed, stages: [{duration: 20s, users: 256, hold: true}]}' \
  '{name: s, prompt: {synthetic: {inputTokens: {fixed: 5}}}, maxOutputTokens: {fixed: 1}, stream: false}' >"$tmp/ns.yaml"
run_engine nonstream-256 "$tmp/ns.yaml"; stop_sim

# 4. Scheduling lag at 1,000 Poisson arrivals/s (16-token streamed answers).
sim_config 2ms 4000 >"$tmp/sim.yaml"; start_sim "$tmp/sim.yaml"
loadtest '{mode: open, arrival: poisson, maxInFlight: 5000, stages: [{duration: 30s, rate: 1000, hold: true}]}' \
  '{name: s, prompt: {synthetic: {inputTokens: {fixed: 50}}}, maxOutputTokens: {fixed: 16}, ignoreEos: true}' >"$tmp/lag.yaml"
run_engine arrivals-1000 "$tmp/lag.yaml"; stop_sim

# 5. Accuracy against the simulator's ground truth: ACCURACY_STREAMS streams of 100 events/s each (default
#    200: 20,000 events/s). More than the simulator's one core can write on time makes the "truth" late,
#    and its coalesced writes no longer match events one to one (those requests are skipped).
streams=${ACCURACY_STREAMS:-200}
sim_config 10ms 2000 >"$tmp/sim.yaml"; start_sim "$tmp/sim.yaml" "$tmp/truth.jsonl"
loadtest "{mode: closed, maxInFlight: 2000, stages: [{duration: 20s, users: $streams, hold: true}]}" \
  '{name: s, prompt: {synthetic: {inputTokens: {fixed: 50}}}, maxOutputTokens: {fixed: 200}, ignoreEos: true}' >"$tmp/acc.yaml"
run_engine "accuracy-$streams" "$tmp/acc.yaml" --request-log "$tmp/requests.jsonl"; stop_sim
python3 bench/join_truth.py "$tmp/requests.jsonl" "$tmp/truth.jsonl"

# 6. 100K-token prompts with 32K-token answers (about 4 of them) among 400 short streams/s: does anything
#    else slow down? Compare the short class with and without them.
sim_config 1ms 4000 >"$tmp/sim.yaml"
short='{name: short, weight: 2000, prompt: {synthetic: {inputTokens: {fixed: 50}}}, maxOutputTokens: {fixed: 50}, ignoreEos: true}'
huge='{name: huge, weight: 1, prompt: {synthetic: {inputTokens: {fixed: 100000}}}, maxOutputTokens: {fixed: 32000}, ignoreEos: true}'
for mix in short-only with-huge; do
  classes=$short
  [ "$mix" = with-huge ] && classes="$short, $huge"
  start_sim "$tmp/sim.yaml"
  loadtest '{mode: open, arrival: poisson, stages: [{duration: 20s, rate: 400, hold: true}]}' "$classes" >"$tmp/$mix.yaml"
  run_engine "$mix" "$tmp/$mix.yaml"
  jq -r '.classes | to_entries[] | "  class \(.key): requests \(.value.requests.total) inter-chunk p50 \(.value.interChunkMs.p50)ms p99 \(.value.interChunkMs.p99)ms  ttft p99 \(.value.ttftMs.p99)ms  e2e max \(.value.e2eMs.max)ms"' "$tmp/$mix/report.json"
  stop_sim
done

#!/usr/bin/env bash
# Simulator throughput: streamed SSE events/s across many concurrent streams (our minimal client), and short
# non-streamed requests/s (wrk). The simulator is pinned to core 0, the load to core 1.
#   usage: bench/sim_bench.sh [BUILD_DIR]      (figures go to stdout; copy them to docs/benchmarks.md)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-bench}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTOKENSTORM_BUILD_TESTS=OFF -DTOKENSTORM_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j 2 --target tokenstorm sim_stream_load
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null 2>&1 || true; }

start_sim() {
  local log
  log=$(mktemp)
  taskset -c 0 "$build/app/tokenstorm" sim --listen 127.0.0.1:0 --config "$@" >"$log" 2>&1 &
  sim_pid=$!
  for _ in $(seq 50); do
    port=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\).*|\1|p' "$log")
    [ -n "$port" ] && break
    sleep 0.1
  done
}
rss_mib() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime, in clock ticks

echo "machine: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo | xargs), $(date -u +%F)"
for conns in 500 2000; do
  start_sim bench/sim_fast.yaml
  idle=$(rss_mib "$sim_pid")
  t0=$(cpu_ticks "$sim_pid")
  result=$(taskset -c 1 "$build/bench/sim_stream_load" --port "$port" --connections "$conns" --seconds 15 --max-tokens 100000)
  cpu=$(( ($(cpu_ticks "$sim_pid") - t0) * 100 / $(getconf CLK_TCK) / 18 ))  # % of one core over ~18 s
  echo "streams=$conns $result simRssMiB=$(rss_mib "$sim_pid") idleRssMiB=$idle simCpuPercent=$cpu"
  kill "$sim_pid"; wait "$sim_pid" 2>/dev/null || true
done

if command -v wrk >/dev/null; then
  start_sim bench/sim_fast.yaml
  cat >/tmp/sim_post.lua <<'LUA'
wrk.method = "POST"
wrk.body = '{"model":"sim-llama-8b","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}'
wrk.headers["Content-Type"] = "application/json"
LUA
  echo "non-streaming, max_tokens 1 (wrk, 256 connections, 15 s):"
  taskset -c 1 wrk -t1 -c256 -d15s -s /tmp/sim_post.lua "http://127.0.0.1:$port/v1/chat/completions" | sed -n '1,12p'
  kill "$sim_pid"; wait "$sim_pid" 2>/dev/null || true
else
  echo "wrk not installed: skipping the non-streaming figure"
fi

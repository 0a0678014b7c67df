#!/usr/bin/env bash
# `tokenstorm run` as users and CI run it, against the built-in simulator: the report files and their
# shape, thresholds → exit 1, invalid input → 2, budget / deadline / Ctrl-C → 3 with the report still written.
#   usage: run_test.sh PATH/TO/tokenstorm   (run from the source root)
set -u
bin=$1
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A LoadTest around the given load/threshold/budget lines.
spec() {
  cat <<YAML
apiVersion: tokenstorm.dev/v1alpha1
kind: LoadTest
metadata:
  name: cli
  annotations: {tokenstorm.dev/sim-config: sim.yaml}
spec:
  target:
    endpoints: [{name: sim, url: "sim://", api: openai-chat, model: sim-llama-8b}]
  workload:
    classes: [{name: chat, prompt: {synthetic: {inputTokens: {fixed: 50}}}, maxOutputTokens: {fixed: 16}, ignoreEos: true}]
$1
YAML
}
printf 'serving: {prefillOverhead: 1ms, decodeStepBase: 2ms, decodeStepPerSequence: 0s}\n' >"$tmp/sim.yaml"

# A passing run: exit 0, report.json in the documented shape, junit.xml, snapshots.
spec '  load: {mode: open, arrival: constant, stages: [{duration: 1s, rate: 20, hold: true}]}
  thresholds: [{metric: errorRate, max: 0.01}, {metric: ttft, stat: p95, max: 5s}]' >"$tmp/pass.yaml"
"$bin" run "$tmp/pass.yaml" --out "$tmp/pass" >"$tmp/out" 2>&1; rc=$?
[ "$rc" = 0 ] || fail "passing run: exit $rc: $(cat "$tmp/out")"
for key in verdict phase reason summary stages classes thresholds timeseries; do
  jq -e "has(\"$key\")" "$tmp/pass/report.json" >/dev/null || fail "report.json lacks $key"
done
[ "$(jq -r .verdict "$tmp/pass/report.json")" = Pass ] || fail "verdict is not Pass"
[ "$(jq -r .summary.requests.total "$tmp/pass/report.json")" = 20 ] || fail "want 20 requests (constant 20/s for 1s)"
[ "$(jq -r .summary.requests.ok "$tmp/pass/report.json")" = 20 ] || fail "want 20 ok"
for key in ttftMs ttftSchedMs ttfoMs e2eMs tpotMs itlMs interChunkMs errors cost client; do
  jq -e ".summary | has(\"$key\")" "$tmp/pass/report.json" >/dev/null || fail "summary lacks $key"
done
jq -e '.summary.ttftMs.p95 > 0' "$tmp/pass/report.json" >/dev/null || fail "ttft p95 is not positive"
grep -q '<testcase' "$tmp/pass/junit.xml" || fail "junit.xml has no test case"
[ -s "$tmp/pass/snapshots.jsonl" ] || fail "no snapshots.jsonl"
jq -e -s '.[-1].final == true' "$tmp/pass/snapshots.jsonl" >/dev/null || fail "last snapshot is not final"
grep -q "Verdict" "$tmp/out" || fail "no summary table on stdout"

# Snapshots on stdout, one JSON object per line, the last one final; the runner's CPU in report.json.
"$bin" run "$tmp/pass.yaml" --out "$tmp/pipe" --snapshots - --quiet >"$tmp/stdout" 2>/dev/null || fail "--snapshots -: failed"
grep '^{' "$tmp/stdout" | jq -e -s '.[-1].final == true and .[-1].total.requests == 20' >/dev/null ||
  fail "--snapshots -: no final snapshot on stdout"
jq -e '.runner.cpuPercent > 0' "$tmp/pass/report.json" >/dev/null || fail "report.json lacks runner.cpuPercent"

# A threshold that cannot hold: exit 1, verdict Fail, a JUnit failure.
spec '  load: {mode: open, arrival: constant, stages: [{duration: 500ms, rate: 20, hold: true}]}
  thresholds: [{metric: ttft, stat: p50, max: 1us}]' >"$tmp/fail.yaml"
"$bin" run "$tmp/fail.yaml" --out "$tmp/fail" >"$tmp/out" 2>&1; rc=$?
[ "$rc" = 1 ] || fail "failing threshold: exit $rc, want 1: $(cat "$tmp/out")"
[ "$(jq -r .verdict "$tmp/fail/report.json")" = Fail ] || fail "verdict is not Fail"
grep -q '<failure' "$tmp/fail/junit.xml" || fail "junit.xml has no failure"

# Invalid input: exit 2 with the field path.
spec '  load: {mode: open, stages: [{duration: -5s, rate: 20}]}' >"$tmp/bad.yaml"
"$bin" run "$tmp/bad.yaml" --out "$tmp/bad" >"$tmp/out" 2>&1; rc=$?
[ "$rc" = 2 ] || fail "invalid spec: exit $rc, want 2"
grep -q "spec.load.stages\[0\].duration" "$tmp/out" || fail "invalid spec: no field path: $(cat "$tmp/out")"
"$bin" run /nonexistent.yaml >/dev/null 2>&1; [ $? = 2 ] || fail "missing file: want exit 2"
"$bin" run >/dev/null 2>&1; [ $? = 2 ] || fail "no file: want exit 2"
"$bin" run "$tmp/pass.yaml" --bogus >/dev/null 2>&1; [ $? = 2 ] || fail "unknown option: want exit 2"

# Budget spent: exit 3, phase Aborted, reason BudgetExceeded, the report still written.
spec '  load: {mode: open, arrival: constant, stages: [{duration: 5s, rate: 20, hold: true}]}
  budget: {maxCost: "0.01", pricing: {input: "0", output: "100"}}' >"$tmp/budget.yaml"
"$bin" run "$tmp/budget.yaml" --out "$tmp/budget" >"$tmp/out" 2>&1; rc=$?
[ "$rc" = 3 ] || fail "budget: exit $rc, want 3: $(cat "$tmp/out")"
[ "$(jq -r .phase "$tmp/budget/report.json")" = Aborted ] || fail "budget: phase is not Aborted"
jq -r .reason "$tmp/budget/report.json" | grep -q BudgetExceeded || fail "budget: reason lacks BudgetExceeded"

# Ctrl-C: exit 3, phase Aborted, what was measured is in the report.
spec '  load: {mode: open, arrival: constant, stages: [{duration: 60s, rate: 20, hold: true}]}' >"$tmp/long.yaml"
"$bin" run "$tmp/long.yaml" --out "$tmp/long" >"$tmp/out" 2>&1 &
pid=$!
for _ in $(seq 50); do [ -s "$tmp/long/snapshots.jsonl" ] && break; sleep 0.1; done
sleep 1
kill -INT $pid
wait $pid; rc=$?
[ "$rc" = 3 ] || fail "SIGINT: exit $rc, want 3: $(cat "$tmp/out")"
[ "$(jq -r .phase "$tmp/long/report.json")" = Aborted ] || fail "SIGINT: phase is not Aborted"
jq -e '.summary.requests.total > 0' "$tmp/long/report.json" >/dev/null || fail "SIGINT: nothing measured"

# --sim sends a real endpoint's traffic to the simulator (a rehearsal); secrets never reach the output.
sed 's|url: "sim://"|url: "http://10.1.2.3:8000", auth: {env: TS_TEST_KEY}|' "$tmp/pass.yaml" >"$tmp/rehearse.yaml"
TS_TEST_KEY=sk-secret-do-not-print "$bin" run "$tmp/rehearse.yaml" --sim --out "$tmp/rehearse" >"$tmp/out" 2>&1; rc=$?
[ "$rc" = 0 ] || fail "--sim: exit $rc: $(cat "$tmp/out")"
if grep -rq "sk-secret-do-not-print" "$tmp/out" "$tmp/rehearse"; then fail "the API key appears in the output"; fi
"$bin" run "$tmp/rehearse.yaml" --sim --out "$tmp/nokey" >"$tmp/out" 2>&1; rc=$?
[ "$rc" = 2 ] || fail "missing key variable: exit $rc, want 2"
grep -q "auth.env" "$tmp/out" || fail "missing key variable: no field path"

# Cluster-only references (Secrets, ConfigMaps) are input errors for a local run, naming the field.
sed 's|url: "sim://"|url: "http://10.1.2.3:8000", auth: {secretRef: {name: k, key: k}}|' "$tmp/pass.yaml" >"$tmp/secret.yaml"
"$bin" run "$tmp/secret.yaml" --out "$tmp/secret" >"$tmp/out" 2>&1; rc=$?
[ "$rc" = 2 ] || fail "auth.secretRef locally: exit $rc, want 2"
grep -q "auth.secretRef" "$tmp/out" || fail "auth.secretRef locally: no field path: $(cat "$tmp/out")"
"$bin" run "$tmp/secret.yaml" --sim --out "$tmp/secret" >"$tmp/out" 2>&1; rc=$?
[ "$rc" = 0 ] || fail "auth.secretRef with --sim needs no key: exit $rc: $(cat "$tmp/out")"

if [ "$failures" -gt 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "run: all checks passed"

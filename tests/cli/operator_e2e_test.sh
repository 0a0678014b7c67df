#!/usr/bin/env bash
# `tokenstorm operator` end to end (docs/operator.md): kube-test-server with its Job controller and process
# kubelet, the CRD applied with kubectl, the operator started as users start it, its runner pods running
# this build's `tokenstorm run --in-cluster` as local processes against the sim:// endpoint.
#   1. a quickstart-like LoadTest (2 runners, 3 s) → Ready, Succeeded, printer columns filled, the summary
#      equals the sum of the shards' final snapshots, the report ConfigMap, Events for the phase changes,
#      /readyz and /metrics; 1b. spec.runId bumped → the same LoadTest runs again (old children replaced,
#      the new run alone in the summary, status.runId, one Rerun Event);
#   2. an invalid LoadTest → Stalled=True, InvalidSpec with the field path, no Job;
#   3. thresholds broken (ttft p95 at most 1 ms) → Failed, Stalled=True, verdict Fail;
#   4. a budget cap → Aborted, BudgetExceeded, the Job deleted; 5. suspend mid-run → Aborted, results kept;
#   6. the operator SIGKILLed mid-run and restarted → Succeeded with every request counted once;
#   7. leader election: a ready standby, the Lease released on SIGTERM and taken over.
# Every finished LoadTest (and one Running) goes through the chart's Argo CD health.lua (`finished` in
# lib/operator.sh, which holds the set-up shared with operator_runners_test.sh: several runners, a runner
# killed, TTL, pricingRef, the budget overshoot).
#   usage: operator_e2e_test.sh PATH/TO/tokenstorm PATH/TO/kube-test-server   (run from the source root)
# Exit 0 when every check passes, 1 otherwise, 77 (skipped) without kubectl on PATH or in tools/bin.
set -u
bin=$(realpath "$1")
server=$2
# shellcheck source=tests/cli/lib/operator.sh
. tests/cli/lib/operator.sh

start_cluster "$server"
step "start the operator"
start_operator "$bin"
# shellcheck disable=SC2317  # run through wait_for
ready() { curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; }
wait_for 30 ready || fail "/readyz never answered 200"
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || fail "/healthz is not 200"

step "1. a quickstart-like LoadTest: 2 runners, 3 s of load → Ready, Succeeded"
loadtest e2e 2 '{mode: open, arrival: constant, stages: [{duration: 3s, rate: 10, hold: true}]}' ||
  fail "cannot apply LoadTest e2e"
if ! k wait --for=condition=Ready lt/e2e --timeout=120s >"$tmp/wait.out" 2>&1; then
  fail "kubectl wait --for=condition=Ready lt/e2e: $(cat "$tmp/wait.out"); status: $(field e2e '{.status}')"
fi
[ "$(field e2e '{.status.phase}')" = Succeeded ] || fail "e2e: phase $(field e2e '{.status.phase}'), want Succeeded"
[ "$(field e2e '{.status.verdict}')" = Pass ] || fail "e2e: verdict $(field e2e '{.status.verdict}'), want Pass"
finished e2e Healthy
k get lt e2e >"$tmp/get.out" || fail "kubectl get lt e2e"
cat "$tmp/get.out"
row=$(tail -n 1 "$tmp/get.out")
grep -q "^NAME *PHASE *STAGE *REQ/S *TTFT-P95 *ERRORS *COST *VERDICT *AGE" "$tmp/get.out" ||
  fail "kubectl get lt: header $(head -1 "$tmp/get.out")"
# NAME PHASE [STAGE] REQ/S TTFT-P95 ERRORS COST VERDICT AGE: the numbers and the verdict are filled.
echo "$row" | grep -Eq '^e2e +Succeeded +([^ ]+ +)?[0-9.]+ +[0-9.]+ +0 +[0-9.]+ +Pass +[0-9]+s' ||
  fail "kubectl get lt: the printer columns are not filled: $row"
total=$(field e2e '{.status.summary.requests.total}')
sum=0
for i in 0 1; do
  k get configmap "e2e-shard-$i" -o jsonpath='{.data.snapshot\.json}' >"$tmp/snap$i.json" ||
    fail "e2e: no shard $i"
  jq -e '.final == true' "$tmp/snap$i.json" >/dev/null || fail "e2e: shard $i: snapshot.json is not final"
  sum=$((sum + $(jq -r '.total.requests // 0' "$tmp/snap$i.json")))
done
[ "${total:-0}" -gt 0 ] || fail "e2e: status.summary.requests.total is '$total'"
[ "$total" = "$sum" ] || fail "e2e: status.summary.requests.total $total != the shards' sum $sum"
[ "$sum" = 30 ] || fail "e2e: the shards hold $sum requests, want 30 (10/s for 3 s)"
report=$(field e2e '{.status.reportRef.name}')
[ "$report" = e2e-report ] || fail "e2e: status.reportRef.name '$report', want e2e-report"
k get configmap "$report" -o jsonpath='{.data.report\.json}' >"$tmp/report.json" 2>/dev/null
jq -e '.' "$tmp/report.json" >/dev/null 2>&1 || fail "e2e: $report has no report.json"
k get events >"$tmp/events.out" 2>&1 || fail "kubectl get events: $(cat "$tmp/events.out")"
grep e2e "$tmp/events.out"
# The phase is the Event's action (events.k8s.io/v1).
k get events.events.k8s.io -o json >"$tmp/events.json" 2>&1 || fail "kubectl get events.events.k8s.io"
for phase in Provisioning Succeeded; do
  jq -e --arg phase "$phase" '[.items[] | select(.regarding.name == "e2e" and .action == $phase)] | length == 1' \
    "$tmp/events.json" >/dev/null || fail "e2e: not exactly one Event for the phase $phase: $(cat "$tmp/events.out")"
done
curl -sf "http://127.0.0.1:$port/metrics" >"$tmp/metrics.txt" || fail "/metrics is not 200"
for metric in 'tokenstorm_operator_reconciles_total [1-9]' 'tokenstorm_operator_loadtests{phase="Succeeded"} 1' \
  'tokenstorm_operator_verdicts_total{verdict="Pass"} 1' 'tokenstorm_operator_queue_depth' \
  'tokenstorm_operator_budget_spent_usd{'; do
  grep -q "^$metric" "$tmp/metrics.txt" || fail "/metrics lacks '$metric'"
done

step "1b. spec.runId bumped → the same LoadTest runs again: old children replaced, Succeeded, status.runId"
old_job=$(k get job e2e-runners -o jsonpath='{.metadata.uid}' 2>/dev/null)
k patch lt e2e --type merge -p '{"spec": {"runId": "2"}}' >/dev/null || fail "e2e: cannot patch spec.runId"
run_is_2() { [ "$(field e2e '{.status.runId}')" = 2 ]; }
wait_for 60 run_is_2 || fail "e2e: status.runId never became 2: $(field e2e '{.status}')"
k wait --for=condition=Ready lt/e2e --timeout=120s >/dev/null 2>&1 ||
  fail "e2e: the re-run never became Ready: $(field e2e '{.status}')"
[ "$(field e2e '{.status.phase}')" = Succeeded ] || fail "e2e re-run: phase $(field e2e '{.status.phase}')"
[ "$(field e2e '{.status.summary.requests.total}')" = 30 ] ||
  fail "e2e re-run: $(field e2e '{.status.summary.requests.total}') requests, want 30 (the new run alone)"
sum=0
for i in 0 1; do
  sum=$((sum + $(k get configmap "e2e-shard-$i" -o jsonpath='{.data.snapshot\.json}' | jq -r '.total.requests // 0')))
done
[ "$sum" = 30 ] || fail "e2e re-run: the shards hold $sum requests, want 30"
new_job=$(k get job e2e-runners -o jsonpath='{.metadata.uid}' 2>/dev/null)
[ -n "$new_job" ] && [ "$new_job" != "$old_job" ] || fail "e2e re-run: the Job was not replaced ($old_job, $new_job)"
k get events.events.k8s.io -o json >"$tmp/events.json" 2>&1 || fail "kubectl get events.events.k8s.io"
jq -e '[.items[] | select(.regarding.name == "e2e" and .reason == "Rerun")] | length == 1' "$tmp/events.json" \
  >/dev/null || fail "e2e re-run: not exactly one Rerun Event"
finished e2e Healthy

step "2. an invalid LoadTest (stage duration 0s) → Stalled, InvalidSpec with the path, nothing created"
loadtest bad 1 '{mode: open, arrival: constant, stages: [{duration: 0s, rate: 10}]}' ||
  fail "cannot apply LoadTest bad"
k wait --for=condition=Stalled lt/bad --timeout=60s >/dev/null 2>&1 || fail "bad: never Stalled: $(field bad '{.status}')"
[ "$(field bad '{.status.conditions[?(@.type=="Stalled")].reason}')" = InvalidSpec ] ||
  fail "bad: Stalled reason $(field bad '{.status.conditions[?(@.type=="Stalled")].reason}'), want InvalidSpec"
field bad '{.status.conditions[?(@.type=="Stalled")].message}' | grep -q 'spec.load.stages\[0\].duration' ||
  fail "bad: the message does not name spec.load.stages[0].duration: $(field bad '{.status.conditions}')"
k get job bad-runners >/dev/null 2>&1 && fail "bad: a Job was created"
k get configmap bad-plan >/dev/null 2>&1 && fail "bad: a plan was created"
finished bad Degraded

step "3. thresholds broken (ttft p95 at most 1 ms) → Failed, Stalled, verdict Fail"
loadtest slow 1 '{mode: open, arrival: constant, stages: [{duration: 2s, rate: 5, hold: true}]}' \
  '[{metric: ttft, stat: p95, max: 1ms}]' || fail "cannot apply LoadTest slow"
k wait --for=jsonpath='{.status.phase}'=Failed lt/slow --timeout=120s >/dev/null 2>&1 ||
  fail "slow: phase $(field slow '{.status.phase}'), want Failed"
[ "$(field slow '{.status.verdict}')" = Fail ] || fail "slow: verdict $(field slow '{.status.verdict}'), want Fail"
[ "$(field slow '{.status.conditions[?(@.type=="Stalled")].status}')" = True ] || fail "slow: Stalled is not True"
finished slow Degraded

step "4. budget cap (0.50 USD at 1000 USD per 1M tokens, 66 tokens a request) → Aborted, BudgetExceeded"
extra='  budget: {maxCost: "0.50", pricing: {input: "1000", output: "1000"}}'
loadtest budget 2 '{mode: open, arrival: constant, stages: [{duration: 30s, rate: 10, hold: true}]}' ||
  fail "cannot apply LoadTest budget"
extra=""
k wait --for=jsonpath='{.status.phase}'=Aborted lt/budget --timeout=120s >/dev/null 2>&1 ||
  fail "budget: phase $(field budget '{.status.phase}'), want Aborted: $(field budget '{.status.conditions}')"
[ "$(field budget '{.status.conditions[?(@.type=="BudgetExceeded")].status}')" = True ] ||
  fail "budget: BudgetExceeded is not True: $(field budget '{.status.conditions}')"
spent=$(field budget '{.status.summary.requests.total}')
[ "${spent:-100}" -lt 100 ] || fail "budget: $spent requests: the cap did not stop the test early"
wait_for 60 bash -c "! '$kubectl_bin' get job budget-runners >/dev/null 2>&1" ||
  fail "budget: the Job is still there: $(k get job budget-runners -o jsonpath='{.status}')"
finished budget Degraded

step "5. suspend mid-run → Aborted with the results so far, Job deleted"
loadtest susp 1 '{mode: open, arrival: constant, stages: [{duration: 60s, rate: 5, hold: true}]}' ||
  fail "cannot apply LoadTest susp"
k wait --for=jsonpath='{.status.phase}'=Running lt/susp --timeout=120s >/dev/null 2>&1 ||
  fail "susp: never Running: $(field susp '{.status}')"
finished susp Progressing
sleep 2
k patch lt susp --type merge -p '{"spec": {"suspend": true}}' >/dev/null || fail "susp: cannot patch suspend"
k wait --for=jsonpath='{.status.phase}'=Aborted lt/susp --timeout=90s >/dev/null 2>&1 ||
  fail "susp: phase $(field susp '{.status.phase}'), want Aborted"
total=$(field susp '{.status.summary.requests.total}')
[ "${total:-0}" -gt 0 ] || fail "susp: no results kept ($total requests)"
wait_for 60 bash -c "! '$kubectl_bin' get job susp-runners >/dev/null 2>&1" || fail "susp: the Job is still there"
finished susp Degraded

step "6. the operator killed mid-run and restarted → completes, every shard counted once"
loadtest restart 2 '{mode: open, arrival: constant, stages: [{duration: 8s, rate: 10, hold: true}]}' ||
  fail "cannot apply LoadTest restart"
k wait --for=jsonpath='{.status.phase}'=Running lt/restart --timeout=120s >/dev/null 2>&1 ||
  fail "restart: never Running: $(field restart '{.status}')"
kill -KILL "$operator_pid"
wait "$operator_pid" 2>/dev/null
sleep 2
start_operator "$bin"
k wait --for=condition=Ready lt/restart --timeout=120s >/dev/null 2>&1 ||
  fail "restart: never Ready after the restart: $(field restart '{.status}')"
[ "$(field restart '{.status.phase}')" = Succeeded ] || fail "restart: phase $(field restart '{.status.phase}')"
[ "$(field restart '{.status.summary.requests.total}')" = 80 ] ||
  fail "restart: $(field restart '{.status.summary.requests.total}') requests, want 80 (10/s for 8 s, once)"
[ "$(grep -c 'action="create Job restart-runners"' "$tmp/operator.err")" = 1 ] ||
  fail "restart: the Job was created more than once"
sum=0
for i in 0 1; do
  sum=$((sum + $(k get configmap "restart-shard-$i" -o jsonpath='{.data.snapshot\.json}' | jq -r '.total.requests // 0')))
done
[ "$sum" = 80 ] || fail "restart: the shards hold $sum requests, want 80"
finished restart Healthy

step "shutdown: SIGTERM → exit 0"
kill -TERM "$operator_pid"
wait "$operator_pid"
rc=$?
[ "$rc" = 0 ] || fail "the operator exited $rc on SIGTERM, want 0"
grep -q "msg=stopped" "$tmp/operator.err" || fail "the operator did not log its shutdown"

step "7. leader election: one leader, a ready standby, the Lease released on SIGTERM and taken over"
# start_elected NAME ARGS...: an operator with leader election on (the default).
start_elected() {
  local name=$1
  shift
  "$bin" operator --kubeconfig "$tmp/kubeconfig" --runner-command "$bin" "$@" >/dev/null 2>"$tmp/$name.err" &
  last_pid=$!
  pids+=("$last_pid")
}
start_elected leader --listen 127.0.0.1:0
leader_pid=$last_pid
wait_for 30 grep -q "msg=\"became leader\"" "$tmp/leader.err" || fail "the first operator never became leader"
# The standby with the flags manifests/ and the chart pass.
start_elected standby --leader-elect --metrics-bind-address=127.0.0.1:0 --watch-namespaces=default,other
standby_pid=$last_pid
wait_for 20 grep -q "listen=" "$tmp/standby.err" || fail "the standby did not start"
standby_port=$(grep -o 'listen=127.0.0.1:[0-9]*' "$tmp/standby.err" | head -1 | cut -d: -f2)
wait_for 30 curl -sf "http://127.0.0.1:$standby_port/readyz" -o /dev/null || fail "the standby is not ready"
grep -q "msg=\"became leader\"" "$tmp/standby.err" && fail "two leaders at once"
[ "$(k get lease tokenstorm-operator -o jsonpath='{.spec.holderIdentity}')" != "" ] || fail "no Lease holder"
kill -TERM "$leader_pid"
wait "$leader_pid" || fail "the leader did not exit 0 on SIGTERM"
# Released (not expired: 15 s): the standby takes over within its 2 s retry period.
wait_for 8 grep -q "msg=\"became leader\"" "$tmp/standby.err" ||
  fail "the standby did not take over after the release: $(tail -5 "$tmp/standby.err")"
kill -TERM "$standby_pid"
wait "$standby_pid" || fail "the standby did not exit 0 on SIGTERM"

finish "operator e2e"

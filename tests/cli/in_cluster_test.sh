#!/usr/bin/env bash
# `tokenstorm run --in-cluster` as the operator's runner pods run it (docs/operator.md "The runner in a
# pod"), as real processes against kube-test-server, with the plan and shard ConfigMaps made by kubectl:
# two runners start together at startAt and write their shards (snapshot.json final, outcome.json), their
# shares add up to the plan; SIGTERM mid-run → exit 0, Aborted, final snapshot; an invalid plan → exit 2
# naming the field; an auth.secretRef key arrives from TOKENSTORM_API_KEY_0 and appears nowhere else.
#   usage: in_cluster_test.sh PATH/TO/tokenstorm PATH/TO/kube-test-server   (run from the source root)
# Exit 0 when every check passes, 1 otherwise, 77 (skipped) without kubectl on PATH or in tools/bin.
set -u
bin=$1
server=$2
# The harness (tmp, pids, cleanup, fail, k, wait_for); this script starts no operator.
# shellcheck source=tests/cli/lib/operator.sh
. tests/cli/lib/operator.sh

start_kube_test_server "$server" "$tmp"
started=$?
pids+=("$kts_pid")
[ "$started" = 0 ] || {
  echo "FAIL: kube-test-server is not listening: $(cat "$tmp/server.err")"
  exit 1
}
export TOKENSTORM_NAMESPACE=default

# A LoadTest as the operator writes it into loadtest.json (JSON), around the given target and load.
plan_json() {
  cat <<JSON
{"apiVersion": "tokenstorm.dev/v1alpha1", "kind": "LoadTest",
 "metadata": {"name": "$1", "namespace": "default", "uid": "uid-$1", "generation": 1},
 "spec": {"target": {"endpoints": [$2]},
          "workload": {"classes": [{"name": "chat", "prompt": {"synthetic": {"inputTokens": {"fixed": 50}}},
                                    "maxOutputTokens": {"fixed": 16}, "ignoreEos": true}]},
          "load": $3,
          "report": {"interval": "1s"}}}
JSON
}
sim_endpoint='{"name": "sim", "url": "sim://", "api": "openai-chat", "model": "sim-llama-8b"}'

# plan NAME RUNNERS JSON-FILE: the plan ConfigMap and RUNNERS empty shards, as the operator creates them.
plan() {
  k create configmap "$1-plan" --from-file=loadtest.json="$3" --from-literal=runners="$2" >/dev/null ||
    fail "$1: cannot create the plan ConfigMap"
  for i in $(seq 0 $(($2 - 1))); do
    k create configmap "$1-shard-$i" >/dev/null || fail "$1: cannot create shard $i"
  done
}
# runner NAME INDEX [VAR=VALUE...]: one runner process in the background; its pid is last_pid.
runner() {
  local name=$1 index=$2
  shift 2
  env TOKENSTORM_PLAN="$name-plan" JOB_COMPLETION_INDEX="$index" TOKENSTORM_POD="$name-runners-$index" "$@" \
    "$bin" run --in-cluster >"$tmp/$name-$index.out" 2>"$tmp/$name-$index.err" &
  last_pid=$!
  pids+=("$last_pid")
}
shard() { k get configmap "$1" -o json | jq -r --arg key "$2" '.data[$key] // empty'; }
has_ready() { [ -n "$(shard "$1" ready)" ]; }
has_snapshot() { [ -n "$(shard "$1" snapshot.json)" ]; }
start_in() { k patch configmap "$1-plan" --type merge -p "{\"data\":{\"startAt\":\"$(date -u -d "+$2 seconds" +%Y-%m-%dT%H:%M:%S.%3NZ)\"}}" >/dev/null; }
logs() { echo "--- $1: $(cat "$tmp/$1.err") $(cat "$tmp/$1.out")"; }

# 1. Two runners, one start: ready → startAt → both run their share and report it.
plan_json two "$sim_endpoint" '{"mode": "open", "arrival": "constant", "stages": [{"duration": "2s", "rate": 20, "hold": true}]}' >"$tmp/two.json"
plan two 2 "$tmp/two.json"
runner two 0
pid0=$last_pid
runner two 1
pid1=$last_pid
if ! wait_for 20 has_ready two-shard-0 || ! wait_for 20 has_ready two-shard-1; then
  fail "two: the runners never wrote ready $(logs two-0) $(logs two-1)"
fi
has_snapshot two-shard-0 && fail "two: a snapshot before startAt"
start_in two 1
wait "$pid0"
rc0=$?
wait "$pid1"
rc1=$?
[ "$rc0" = 0 ] || fail "two: runner 0 exit $rc0, want 0 $(logs two-0)"
[ "$rc1" = 0 ] || fail "two: runner 1 exit $rc1, want 0 $(logs two-1)"
total=0
for i in 0 1; do
  shard "two-shard-$i" snapshot.json >"$tmp/snap$i.json"
  shard "two-shard-$i" outcome.json >"$tmp/outcome$i.json"
  jq -e '.final == true' "$tmp/snap$i.json" >/dev/null || fail "two: shard $i: snapshot.json is not final"
  jq -e '.total.requests > 0' "$tmp/snap$i.json" >/dev/null || fail "two: shard $i: no requests"
  [ "$(jq -r .runnerId "$tmp/snap$i.json")" = "two-runners-$i" ] || fail "two: shard $i: runnerId"
  jq -e '.phase == "Succeeded" and .reason == "Completed"' "$tmp/outcome$i.json" >/dev/null ||
    fail "two: shard $i: outcome $(cat "$tmp/outcome$i.json")"
  jq -e '.startSkewMs >= 0 and .startSkewMs < 100' "$tmp/outcome$i.json" >/dev/null ||
    fail "two: shard $i: startSkewMs not small: $(cat "$tmp/outcome$i.json")"
  for key in elapsedS cpuPercent startedAt; do
    jq -e "has(\"$key\")" "$tmp/outcome$i.json" >/dev/null || fail "two: shard $i: outcome.json lacks $key"
  done
  grep -q "Verdict" "$tmp/two-$i.out" || fail "two: runner $i printed no table $(logs "two-$i")"
  requests=$(jq -r '.total.requests // 0' "$tmp/snap$i.json" 2>/dev/null)
  total=$((total + ${requests:-0}))
done
# constant arrivals: the runners partition the one-runner plan exactly (20/s for 2 s).
[ "$total" = 40 ] || fail "two: the shards hold $total requests, want 40"

# 2. SIGTERM mid-run (the operator deleted the Job): exit 0, Aborted, the final snapshot written.
plan_json term "$sim_endpoint" '{"mode": "open", "arrival": "constant", "stages": [{"duration": "60s", "rate": 20, "hold": true}]}' >"$tmp/term.json"
plan term 1 "$tmp/term.json"
runner term 0
pid=$last_pid
wait_for 20 has_ready term-shard-0 || fail "term: never ready $(logs term-0)"
start_in term 0
wait_for 20 has_snapshot term-shard-0 || fail "term: no snapshot $(logs term-0)"
sleep 1
kill -TERM "$pid"
wait "$pid"
rc=$?
[ "$rc" = 0 ] || fail "term: exit $rc, want 0 $(logs term-0)"
jq -e '.phase == "Aborted" and .reason == "Interrupted"' <<<"$(shard term-shard-0 outcome.json)" >/dev/null ||
  fail "term: outcome $(shard term-shard-0 outcome.json)"
jq -e '.final == true and .total.requests > 0' <<<"$(shard term-shard-0 snapshot.json)" >/dev/null ||
  fail "term: the final snapshot is missing or empty"

# SIGTERM while waiting for startAt: still exit 0 with an outcome and a final (empty) snapshot.
plan_json early "$sim_endpoint" '{"mode": "open", "arrival": "constant", "stages": [{"duration": "60s", "rate": 20, "hold": true}]}' >"$tmp/early.json"
plan early 1 "$tmp/early.json"
runner early 0
pid=$last_pid
wait_for 20 has_ready early-shard-0 || fail "early: never ready $(logs early-0)"
kill -TERM "$pid"
wait "$pid"
rc=$?
[ "$rc" = 0 ] || fail "early: exit $rc, want 0 $(logs early-0)"
jq -e '.phase == "Aborted" and .startSkewMs == null' <<<"$(shard early-shard-0 outcome.json)" >/dev/null ||
  fail "early: outcome $(shard early-shard-0 outcome.json)"
jq -e '.final == true and .total.requests == 0' <<<"$(shard early-shard-0 snapshot.json)" >/dev/null ||
  fail "early: no final snapshot"

# 3. An invalid plan: exit 2 naming the field, nothing written to the shard.
plan_json bad "$sim_endpoint" '{"mode": "open", "stages": [{"duration": "-5s", "rate": 20}]}' >"$tmp/bad.json"
plan bad 1 "$tmp/bad.json"
runner bad 0
wait "$last_pid"
rc=$?
[ "$rc" = 2 ] || fail "bad: exit $rc, want 2 $(logs bad-0)"
grep -q "spec.load.stages\[0\].duration" "$tmp/bad-0.err" || fail "bad: no field path $(logs bad-0)"
[ -z "$(shard bad-shard-0 ready)" ] || fail "bad: an invalid plan wrote ready"
# The share: an index outside the plan's runners.
runner two 2
wait "$last_pid"
rc=$?
[ "$rc" = 2 ] || fail "index 2 of 2: exit $rc, want 2"
grep -q "JOB_COMPLETION_INDEX 2 is out of range" "$tmp/two-2.err" || fail "index 2 of 2: $(logs two-2)"

# 4. auth.secretRef: the key comes from TOKENSTORM_API_KEY_0, reaches the server, and is never written out.
# The simulator counts requests per key (its rate limiter): 120 a minute, refilled at 2/s, so after the
# runner's 20 requests the key's bucket holds about 100, where a key never seen holds 119.
key=sk-e2e-secret-do-not-print
printf 'rateLimits: {requestsPerMinute: 120}\n' >"$tmp/sim.yaml"
"$bin" sim --listen 127.0.0.1:0 --config "$tmp/sim.yaml" >"$tmp/sim.out" 2>&1 &
pids+=("$!")
wait_for 10 grep -q "serving on http://" "$tmp/sim.out" || fail "secret: the simulator did not start"
sim_url=$(grep -o 'http://127.0.0.1:[0-9]*' "$tmp/sim.out" | head -1)
endpoint="{\"name\": \"ext\", \"url\": \"$sim_url\", \"api\": \"openai-chat\", \"model\": \"sim-llama-8b\",
           \"auth\": {\"secretRef\": {\"name\": \"llm-key\", \"key\": \"token\"}}}"
plan_json secret "$endpoint" '{"mode": "open", "arrival": "constant", "stages": [{"duration": "1s", "rate": 20, "hold": true}]}' >"$tmp/secret.json"
plan secret 1 "$tmp/secret.json"
runner secret 0 TOKENSTORM_API_KEY_0="$key"
pid=$last_pid
wait_for 20 has_ready secret-shard-0 || fail "secret: never ready $(logs secret-0)"
start_in secret 0
wait "$pid"
rc=$?
[ "$rc" = 0 ] || fail "secret: exit $rc, want 0 $(logs secret-0)"
jq -e '.total.ok == 20' <<<"$(shard secret-shard-0 snapshot.json)" >/dev/null ||
  fail "secret: want 20 ok requests: $(shard secret-shard-0 snapshot.json | head -c 300)"
remaining() {
  curl -s -D - -o /dev/null "$sim_url/v1/chat/completions" -H "Authorization: Bearer $1" \
    -H 'content-type: application/json' \
    -d '{"model": "sim-llama-8b", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}' |
    tr -d '\r' | awk -F': ' 'tolower($1) == "x-ratelimit-remaining-requests" {print int($2)}'
}
used=$(remaining "$key")
if [ -z "$used" ] || [ "$used" -gt 110 ]; then
  fail "secret: the key's bucket shows no runner requests (remaining '$used' of 120)"
fi
[ "$(remaining sk-never-used)" = 119 ] || fail "secret: a fresh key's bucket is not full"
if grep -rq "$key" "$tmp"/secret-0.* || k get configmaps -o yaml | grep -q "$key"; then
  fail "secret: the API key appears in the output or a ConfigMap"
fi
# Without the variable: exit 2 naming the field.
sed 's/"secret"/"nokey"/; s/uid-secret/uid-nokey/' "$tmp/secret.json" >"$tmp/nokey.json"
plan nokey 1 "$tmp/nokey.json"
runner nokey 0
wait "$last_pid"
rc=$?
[ "$rc" = 2 ] || fail "nokey: exit $rc, want 2"
grep -q "spec.target.endpoints\[0\].auth.secretRef: the environment variable TOKENSTORM_API_KEY_0 is not set" \
  "$tmp/nokey-0.err" || fail "nokey: $(logs nokey-0)"

if [ "$failures" -gt 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "in-cluster: all checks passed"

#!/usr/bin/env bash
# `tokenstorm operator` with several runners, failing runners, cleanup and money (docs/operator.md), on
# kube-test-server as operator_e2e_test.sh runs it (the shared set-up is lib/operator.sh):
#   1. 3 runners → one startAt for all (each outcome's startedAt − startSkewMs, and each pod's log),
#      status.runners.startSkew below 500 ms, and the report's TTFT and E2E equal to the three shards'
#      final histograms merged here, independently (decoded and merged with awk);
#   2. a runner pod SIGKILLed mid-run → Failed, RunnerFailed, the message says which runner and exit code
#      137, and the partial results count (the killed runner's last snapshot included); the same with the
#      kubelet's OOMKilled hook → the message says OOMKilled;
#   3. ttlSecondsAfterFinished: 2 → the Job, its pods, the plan and the shards deleted; the LoadTest, its
#      report ConfigMap and its status kept as they were, the runners counted as succeeded (until then the
#      Job of a run that ended by itself stays: case 1);
#   4. budget.pricingRef through a real ConfigMap → the cost is requests × tokens × those prices, exactly;
#      a missing ConfigMap and a malformed price → InvalidSpec naming the ConfigMap and the key;
#   5. a budget cap with 2 runners → Aborted, BudgetExceeded, the overshoot (spent − maxCost) is what the
#      condition says and at most runners × maxInFlight × the cost of one request;
#   6. every LoadTest through the chart's Argo CD health.lua: Progressing while running, then Healthy or
#      Degraded (lib/operator.sh `finished`; TOKENSTORM_CAPTURE_STATUS_DIR keeps them as fixtures).
#   usage: operator_runners_test.sh PATH/TO/tokenstorm PATH/TO/kube-test-server   (run from the source root)
# Exit 0 when every check passes, 1 otherwise, 77 (skipped) without kubectl on PATH or in tools/bin.
# shellcheck disable=SC2317  # functions run through wait_for
set -u
bin=$(realpath "$1")
server=$2
# shellcheck source=tests/cli/lib/operator.sh
. tests/cli/lib/operator.sh

# Every request costs the same: 50 input and 16 output tokens (lib/operator.sh `loadtest`).
input_tokens=50
output_tokens=16

shard_key() { k get configmap "$1" -o json | jq -r --arg key "$2" '.data[$key] // empty'; }
# nanos DECIMAL: a decimal string in billionths, exactly ("0.066" → 66000000).
nanos() {
  awk -v x="$1" 'BEGIN {
    n = split(x, part, "."); frac = (n > 1 ? part[2] : "");
    if (x !~ /^[0-9]+(\.[0-9]+)?$/ || length(frac) > 9) { print "bad"; exit 1 }
    while (length(frac) < 9) frac = frac "0";
    printf "%.0f\n", part[1] * 1e9 + frac }'
}
# duration_ms DURATION: a Duration as status writes it ("1m2s", "350ms", "1500us", "7ns") in ms.
duration_ms() {
  awk -v d="$1" 'BEGIN {
    unit["h"] = 3600000; unit["m"] = 60000; unit["s"] = 1000; unit["ms"] = 1; unit["us"] = 0.001;
    unit["ns"] = 0.000001; ms = 0; rest = d;
    if (d == "") exit 1;
    while (rest != "") {
      if (!match(rest, /^[0-9.]+(ns|us|ms|s|m|h)/)) exit 1;
      term = substr(rest, 1, RLENGTH); rest = substr(rest, RLENGTH + 1);
      match(term, /[a-z]+$/); ms += substr(term, 1, RSTART - 1) * unit[substr(term, RSTART)] }
    printf "%.6f\n", ms }'
}
epoch() { date -u -d "$1" +%s.%N; }

# hist_buckets: a Histogram::encode() text (core/histogram.h) on stdin → "H count min max sum" then one
# "B index count" line per non-empty bucket. Written from the format, not from our decoder: base64 of
# version, precision, then LEB128 count, clampedLow, clampedHigh, zigzag min, max and sum, then (index gap,
# count) pairs.
hist_buckets() {
  base64 -d | od -An -v -tu1 | awk '
    { for (i = 1; i <= NF; i++) b[++n] = $i }
    function varint(  v, m) { v = 0; m = 1
      while (1) { x = b[++p]; v += (x % 128) * m; m *= 128; if (x < 128) return v } }
    function unzigzag(v) { return (v % 2 == 1) ? -(v + 1) / 2 : v / 2 }
    END {
      if (b[1] != 1 || b[2] != 3) { print "unexpected version " b[1] " or precision " b[2]; exit 1 }
      p = 2; count = varint(); varint(); varint()
      min = unzigzag(varint()); max = unzigzag(varint()); sum = unzigzag(varint())
      printf "H %.0f %.0f %.0f %.0f\n", count, min, max, sum
      index_ = 0
      while (p < n) { index_ += varint(); c = varint(); printf "B %.0f %.0f\n", index_, c; index_++ }
    }'
}
# merged_stats FILE...: the merge of hist_buckets outputs (counts added bucket by bucket, min of the
# mins, max of the maxes, sums added) → "count p50 p90 p95 p99 p999 min max mean", in ns (mean in ms), as
# HdrHistogram reads percentiles: the highest value of the bucket where the running count reaches
# round(p/100 · count), clamped to [min, max]. 3 digits: 2048 sub-buckets, 1024 per half-magnitude.
merged_stats() {
  cat "$@" | awk '
    $1 == "H" { count += $2; sum += $5; if (!seen || $3 < min) min = $3; if (!seen || $4 > max) max = $4; seen = 1 }
    $1 == "B" { c[$2] += $3; if ($2 > top) top = $2 }
    function highest(i,  bucket, width) {
      if (i < 2048) return i
      bucket = int(i / 1024) - 1; width = 2 ^ bucket
      return (i - bucket * 1024) * width + width - 1 }
    function at(pct,  rank, run, i, v) {
      rank = int(pct / 100 * count + 0.5); if (rank < 1) rank = 1; if (rank > count) rank = count
      run = 0; v = max
      for (i = 0; i <= top; i++) if (i in c) { run += c[i]; if (run >= rank) { v = highest(i); break } }
      if (v < min) v = min; if (v > max) v = max
      return v }
    END { printf "%.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.9f\n", count, at(50), at(90), at(95), at(99),
            at(99.9), min, max, sum / count / 1e6 }'
}
# same_stats WANT REPORT-MS: WANT from merged_stats, REPORT-MS "p50 p90 p95 p99 p999 min max mean" in ms:
# every value the same nanosecond, the mean within 1 ns.
same_stats() {
  awk -v want="$1" -v got="$2" 'BEGIN {
    split(want, w, " "); split(got, g, " ")
    for (i = 1; i <= 7; i++) { d = g[i] * 1e6 - w[i + 1]; if (d > 0.5 || d < -0.5) exit 1 }
    d = g[8] - w[9]; exit (d > 1e-6 || d < -1e-6) }'
}
pod_of() { k get pods -l "tokenstorm.dev/loadtest=$1,batch.kubernetes.io/job-completion-index=$2" -o json; }
# counted NAME N: status.runners says N runners succeeded and none is left.
counted() { [ "$(field "$1" '{.status.runners.succeeded}/{.status.runners.active}')" = "$2/0" ]; }
has_snapshot_requests() { jq -e '.total.requests > 0' <<<"$(shard_key "$1" snapshot.json)" >/dev/null 2>&1; }

start_cluster "$server"
step "start the operator"
start_operator "$bin"

step "1. 3 runners → one startAt, startSkew recorded and small, the report's histograms merged exactly"
loadtest three 3 '{mode: open, arrival: constant, stages: [{duration: 3s, rate: 15, hold: true}]}' ||
  fail "cannot apply LoadTest three"
k wait --for=condition=Ready lt/three --timeout=120s >/dev/null 2>&1 ||
  fail "three: never Ready: $(field three '{.status}')"
[ "$(field three '{.status.phase}')" = Succeeded ] || fail "three: phase $(field three '{.status.phase}')"
# Runners that ran to their end exit by themselves: their Job completes (it is not deleted) and the
# status counts them.
k wait --for=condition=Complete job/three-runners --timeout=60s >/dev/null 2>&1 ||
  fail "three: the Job did not complete: $(k get job three-runners -o jsonpath='{.status}' 2>&1)"
wait_for 20 counted three 3 || fail "three: status.runners $(field three '{.status.runners}'), want 3 succeeded"
finished three Healthy
skew=$(field three '{.status.runners.startSkew}')
skew_ms=$(duration_ms "$skew") || fail "three: status.runners.startSkew is '$skew'"
echo "three: status.runners.startSkew $skew"
awk -v s="${skew_ms:-1e9}" 'BEGIN { exit !(s >= 0 && s < 500) }' || fail "three: startSkew $skew is not below 500 ms"
start_at=$(shard_key three-plan startAt)
[ -n "$start_at" ] || fail "three: the plan has no startAt"
largest=0
for i in 0 1 2; do
  shard_key "three-shard-$i" outcome.json >"$tmp/three-outcome$i.json"
  shard_key "three-shard-$i" snapshot.json >"$tmp/three-snap$i.json"
  jq -e '.final == true' "$tmp/three-snap$i.json" >/dev/null || fail "three: shard $i: snapshot.json is not final"
  started=$(jq -r '.startedAt // empty' "$tmp/three-outcome$i.json")
  runner_skew=$(jq -r '.startSkewMs // empty' "$tmp/three-outcome$i.json")
  if [ -z "$started" ] || [ -z "$runner_skew" ]; then
    fail "three: shard $i: outcome.json without startedAt or startSkewMs: $(cat "$tmp/three-outcome$i.json")"
    continue
  fi
  # Each runner's own start instant: it started at startedAt, startSkewMs after the startAt it saw.
  awk -v at="$(epoch "$start_at")" -v started="$(epoch "$started")" -v skew="$runner_skew" \
    'BEGIN { d = started - skew / 1000 - at; exit !(d < 0.001 && d > -0.001) }' ||
    fail "three: shard $i: started $started with skew $runner_skew ms, not from startAt $start_at"
  largest=$(awk -v a="$largest" -v b="$runner_skew" 'BEGIN { b = b < 0 ? -b : b; print (b > a ? b : a) }')
  # And as each pod logged it: "started at T (startAt S, skew X ms)".
  uid=$(pod_of three "$i" | jq -r '.items[0].metadata.uid')
  said=$(grep -ho '(startAt [^,]*' "$tmp"/data/pods/"$uid"/logs/*/*.log 2>/dev/null | cut -d' ' -f2)
  [ "$(epoch "$said" 2>/dev/null)" = "$(epoch "$start_at")" ] ||
    fail "three: runner $i logged startAt '$said', the plan says $start_at"
done
# status.runners.startSkew is the largest |startSkewMs|, to the nanosecond.
awk -v s="${skew_ms:-0}" -v l="$largest" 'BEGIN { d = s - l; exit !(d < 1e-5 && d > -1e-5) }' ||
  fail "three: startSkew $skew is not the runners' largest skew ($largest ms)"
k get configmap three-report -o jsonpath='{.data.report\.json}' >"$tmp/three-report.json" 2>/dev/null
jq -e . "$tmp/three-report.json" >/dev/null 2>&1 || fail "three: three-report has no report.json"
for key in total:requests ok:ok; do
  sum=$(jq -s "map(.total.${key#*:}) | add" "$tmp"/three-snap[012].json)
  got=$(jq ".summary.requests.${key%:*}" "$tmp/three-report.json")
  [ "$got" = "$sum" ] || fail "three: report requests.${key%:*} $got != the shards' $sum"
done
[ "$(jq .summary.requests.total "$tmp/three-report.json")" = 45 ] ||
  fail "three: $(jq .summary.requests.total "$tmp/three-report.json") requests, want 45 (15/s for 3 s)"
for metric in ttft:ttftMs e2e:e2eMs; do
  histogram=${metric%%:*}
  summary=${metric##*:}
  for i in 0 1 2; do
    jq -r ".total.histograms.$histogram // empty" "$tmp/three-snap$i.json" |
      hist_buckets >"$tmp/three-$histogram$i.txt" ||
      fail "three: shard $i: cannot decode histograms.$histogram: $(head -c 200 "$tmp/three-$histogram$i.txt")"
  done
  want=$(merged_stats "$tmp"/three-"$histogram"[012].txt)
  got=$(jq -r ".summary.$summary | [.p50, .p90, .p95, .p99, .p999, .min, .max, .mean] | map(tostring) | join(\" \")" \
    "$tmp/three-report.json")
  echo "three: $histogram merged here: $want; report.json (ms): $got"
  ok=$(jq .summary.requests.ok "$tmp/three-report.json")
  [ "${want%% *}" = "$ok" ] || fail "three: the shards' $histogram histograms hold ${want%% *} values, the report $ok ok"
  same_stats "$want" "$got" || fail "three: report.json summary.$summary ($got) is not the merged shards' ($want)"
  # The status carries 6 significant digits (docs/operator.md); the report every digit.
  sig6='walk(if type == "number" and . != 0 then (. as $v | ($v | fabs | log10 | floor) as $e |
    (pow(10; 5 - $e)) as $m | ($v * $m | round) / $m) else . end)'
  [ "$(jq -Sc ".summary.$summary | $sig6" "$tmp/three-report.json")" = \
    "$(field three "{.status.summary.$summary}" | jq -Sc "$sig6")" ] ||
    fail "three: status.summary.$summary differs from the report's: $(jq -c ".summary.$summary" \
      "$tmp/three-report.json") vs $(field three "{.status.summary.$summary}")"
done

step "2. a runner pod SIGKILLed mid-run → Failed, RunnerFailed (exit code 137), partial results kept"
run20='{mode: open, arrival: constant, stages: [{duration: 20s, rate: 10, hold: true}]}'
# killed_runner NAME INDEX HOW: a 2-runner LoadTest whose runner INDEX is killed once its shard holds
# requests (HOW: sigkill, or oom for the kubelet's OOMKilled hook); waits for the report.
killed_runner() {
  local name=$1 index=$2 how=$3 pid pod message
  loadtest "$name" 2 "$run20" || fail "cannot apply LoadTest $name"
  k wait --for=jsonpath='{.status.phase}'=Running "lt/$name" --timeout=120s >/dev/null 2>&1 ||
    fail "$name: never Running: $(field "$name" '{.status}')"
  finished "$name" Progressing
  wait_for 30 has_snapshot_requests "$name-shard-$index" || fail "$name: runner $index published no requests"
  pod=$(pod_of "$name" "$index" | jq -r '.items[0].metadata.name')
  if [ "$how" = oom ]; then
    k annotate pod "$pod" kts.tokenstorm.dev/oom-kill=test >/dev/null || fail "$name: cannot annotate $pod"
  else
    pid=$(pod_of "$name" "$index" | jq -r '.items[0].metadata.annotations["kts.tokenstorm.dev/pid"] // empty')
    if [ -z "$pid" ] || ! kill -KILL "$pid"; then
      fail "$name: cannot SIGKILL the process of $pod ('$pid')"
    fi
  fi
  k wait --for=jsonpath='{.status.phase}'=Failed "lt/$name" --timeout=60s >/dev/null 2>&1 ||
    fail "$name: phase $(field "$name" '{.status.phase}'), want Failed: $(field "$name" '{.status.conditions}')"
  [ "$(field "$name" '{.status.conditions[?(@.type=="Stalled")].reason}')" = RunnerFailed ] ||
    fail "$name: Stalled reason $(field "$name" '{.status.conditions[?(@.type=="Stalled")].reason}'), want RunnerFailed"
  message=$(field "$name" '{.status.conditions[?(@.type=="Stalled")].message}')
  echo "$name: $message"
  case "$message" in
    "runner $index (pod $pod): "*) ;;
    *) fail "$name: the message does not name runner $index (pod $pod): $message" ;;
  esac
  finished "$name" Degraded
  # The record: every shard's latest snapshot merged, the killed runner's last one (not final) included.
  local total sum=0 requests
  total=$(field "$name" '{.status.summary.requests.total}')
  for i in 0 1; do
    shard_key "$name-shard-$i" snapshot.json >"$tmp/$name-snap$i.json"
    requests=$(jq -r '.total.requests // 0' "$tmp/$name-snap$i.json")
    sum=$((sum + ${requests:-0}))
  done
  jq -e '.final == false and .total.requests > 0' "$tmp/$name-snap$index.json" >/dev/null ||
    fail "$name: the killed runner's snapshot: $(jq -c '{final, requests: .total.requests}' "$tmp/$name-snap$index.json")"
  jq -e '.final == true' "$tmp/$name-snap$((1 - index)).json" >/dev/null ||
    fail "$name: the other runner did not flush a final snapshot"
  [ -n "$(shard_key "$name-shard-$index" outcome.json)" ] && fail "$name: the killed runner wrote an outcome"
  [ "${total:-0}" -gt 0 ] || fail "$name: status.summary.requests.total is '$total'"
  [ "$total" = "$sum" ] || fail "$name: status.summary.requests.total $total != the shards' latest snapshots' $sum"
  [ "$(k get configmap "$name-report" -o jsonpath='{.data.report\.json}' | jq .summary.requests.total)" = "$sum" ] ||
    fail "$name: report.json does not hold the $sum requests of the shards"
}
killed_runner killed 1 sigkill
field killed '{.status.conditions[?(@.type=="Stalled")].message}' | grep -q 'crashed (Error), exit code 137' ||
  fail "killed: the message does not say it crashed with exit code 137"
step "2b. the kubelet's OOMKilled hook on a runner pod → Failed, RunnerFailed, OOMKilled"
killed_runner oom 0 oom
field oom '{.status.conditions[?(@.type=="Stalled")].message}' | grep -q 'OOMKilled' ||
  fail "oom: the message does not say OOMKilled"

step "3. ttlSecondsAfterFinished: 2 → the Job, pods, plan and shards deleted; the LoadTest, report and status kept"
extra='  ttlSecondsAfterFinished: 2'
loadtest ttl 2 '{mode: open, arrival: constant, stages: [{duration: 2s, rate: 10, hold: true}]}' ||
  fail "cannot apply LoadTest ttl"
extra=""
k wait --for=condition=Ready lt/ttl --timeout=120s >/dev/null 2>&1 || fail "ttl: never Ready: $(field ttl '{.status}')"
wait_for 60 has_report ttl || fail "ttl: no reportRef"
# The record counts both runners as done: the TTL writes the status before deleting their pods.
wait_for 20 counted ttl 2 || fail "ttl: status.runners $(field ttl '{.status.runners}'), want 2 succeeded"
k get lt ttl -o json | jq -S .status >"$tmp/ttl-status.json"
# left NAME: what of NAME's children is left (the report aside).
left() {
  k get job "$1-runners" -o name 2>/dev/null
  k get pods -l "tokenstorm.dev/loadtest=$1" -o name
  k get configmaps -l "tokenstorm.dev/loadtest=$1" -o name | grep -v "configmap/$1-report\$"
}
gone() { [ -z "$(left "$1")" ]; }
wait_for 60 gone ttl || fail "ttl: not deleted after the TTL: $(left ttl | tr '\n' ' ')"
k get lt ttl >/dev/null || fail "ttl: the LoadTest was deleted"
k get configmap ttl-report -o jsonpath='{.data.report\.json}' | jq -e '.summary.requests.total == 20' >/dev/null ||
  fail "ttl: ttl-report was deleted or lost its report"
status_changed() { ! k get lt ttl -o json | jq -S .status | cmp -s - "$tmp/ttl-status.json"; }
# The record must not move: one status interval (5 s) and a margin is when a change would be written.
if wait_for 7 status_changed; then
  fail "ttl: the status changed after the TTL: $(k get lt ttl -o json | jq -S .status | diff "$tmp/ttl-status.json" -)"
fi
finished ttl Healthy

step "4. budget.pricingRef through a ConfigMap → cost exactly at those prices; a bad ConfigMap → InvalidSpec"
k create configmap prices --from-literal=prices.yaml=$'input: "3.25"\noutput: "15"\n' >/dev/null ||
  fail "cannot create ConfigMap prices"
extra='  budget: {maxCost: "100", pricingRef: {name: prices, key: prices.yaml}}'
loadtest priced 1 '{mode: open, arrival: constant, stages: [{duration: 2s, rate: 10, hold: true}]}' ||
  fail "cannot apply LoadTest priced"
extra='  budget: {maxCost: "100", pricingRef: {name: missing-prices, key: prices.yaml}}'
loadtest nopricecm 1 '{mode: open, arrival: constant, stages: [{duration: 2s, rate: 10, hold: true}]}' ||
  fail "cannot apply LoadTest nopricecm"
k create configmap bad-prices --from-literal=prices.yaml=$'input: "3.25 USD"\noutput: "15"\n' >/dev/null ||
  fail "cannot create ConfigMap bad-prices"
extra='  budget: {maxCost: "100", pricingRef: {name: bad-prices, key: prices.yaml}}'
loadtest badprice 1 '{mode: open, arrival: constant, stages: [{duration: 2s, rate: 10, hold: true}]}' ||
  fail "cannot apply LoadTest badprice"
extra=""
k wait --for=condition=Ready lt/priced --timeout=120s >/dev/null 2>&1 ||
  fail "priced: never Ready: $(field priced '{.status}')"
finished priced Healthy
# The plan carries the prices read from the ConfigMap, not the reference.
planned=$(shard_key priced-plan loadtest.json | jq -c .spec.budget)
if [ "$(nanos "$(jq -r .pricing.input <<<"$planned")")" != "$(nanos 3.25)" ] ||
  [ "$(nanos "$(jq -r .pricing.output <<<"$planned")")" != "$(nanos 15)" ] ||
  jq -e 'has("pricingRef")' <<<"$planned" >/dev/null; then
  fail "priced: the plan's budget is $planned, want the ConfigMap's prices and no pricingRef"
fi
requests=$(field priced '{.status.summary.requests.total}')
[ "$requests" = 20 ] || fail "priced: $requests requests, want 20"
# Prices are USD per 1M tokens: one token at P costs P × 1000 nano-USD.
per_request=$(($(nanos 3.25) * input_tokens / 1000000 + $(nanos 15) * output_tokens / 1000000))
spent=$(field priced '{.status.summary.cost.spentUsd}')
[ "$(nanos "$spent")" = "$((${requests:-0} * per_request))" ] ||
  fail "priced: spent \$$spent, want $requests × ($input_tokens × \$3.25 + $output_tokens × \$15) / 1M" \
    "= $((${requests:-0} * per_request)) nano-USD"
[ "$(field priced '{.status.summary.cost.estimated}')" = false ] || fail "priced: the cost is marked estimated"
for case in nopricecm:missing-prices:'ConfigMap not found' badprice:bad-prices:'input: not a price'; do
  IFS=: read -r name cm why <<<"$case"
  k wait --for=condition=Stalled "lt/$name" --timeout=60s >/dev/null 2>&1 ||
    fail "$name: never Stalled: $(field "$name" '{.status}')"
  [ "$(field "$name" '{.status.conditions[?(@.type=="Stalled")].reason}')" = InvalidSpec ] ||
    fail "$name: reason $(field "$name" '{.status.conditions[?(@.type=="Stalled")].reason}'), want InvalidSpec"
  message=$(field "$name" '{.status.conditions[?(@.type=="Stalled")].message}')
  echo "$name: $message"
  case "$message" in
    *"spec.budget.pricingRef: ConfigMap \"$cm\" key \"prices.yaml\" could not be read: $why"*) ;;
    *) fail "$name: the message does not name the ConfigMap $cm, its key and why ($why): $message" ;;
  esac
  k get job "$name-runners" >/dev/null 2>&1 && fail "$name: a Job was created"
  [ -z "$(field "$name" '{.status.summary}')" ] || fail "$name: a summary (and a cost) without a run"
  finished "$name" Degraded
done

step "5. a budget cap with 2 runners → Aborted, the overshoot as stated and within runners × maxInFlight × one request"
# The bound: each runner stops issuing once its spend reaches its share (maxCost / runners) and lets the
# requests in flight end; when it crosses its share at most maxInFlight of its requests are unfinished
# (the one that crossed it included), so it spends less than its share + maxInFlight requests. An abort by
# the operator (the merged spend reached maxCost) only cancels what is in flight. So the overshoot is
# below runners × maxInFlight × the cost of one request.
runners=2
max_in_flight=3
# 1000 USD per 1M tokens, in and out: one request (50 + 16 tokens) costs 66 × $0.001 = $0.066.
extra='  budget: {maxCost: "0.50", pricing: {input: "1000", output: "1000"}}'
loadtest overshoot "$runners" "{mode: open, arrival: constant, maxInFlight: $max_in_flight,
    stages: [{duration: 30s, rate: 10, hold: true}]}" || fail "cannot apply LoadTest overshoot"
extra=""
k wait --for=jsonpath='{.status.phase}'=Aborted lt/overshoot --timeout=120s >/dev/null 2>&1 ||
  fail "overshoot: phase $(field overshoot '{.status.phase}'), want Aborted: $(field overshoot '{.status.conditions}')"
[ "$(field overshoot '{.status.conditions[?(@.type=="Stalled")].reason}')" = BudgetExceeded ] ||
  fail "overshoot: reason $(field overshoot '{.status.conditions[?(@.type=="Stalled")].reason}'), want BudgetExceeded"
finished overshoot Degraded
one_request=$(($(nanos 1000) * (input_tokens + output_tokens) / 1000000))
bound=$((runners * max_in_flight * one_request))
spent=$(field overshoot '{.status.summary.cost.spentUsd}')
budget=$(field overshoot '{.status.summary.cost.budgetUsd}')
condition=$(field overshoot '{.status.conditions[?(@.type=="BudgetExceeded")].message}')
echo "overshoot: spent \$$spent of \$$budget; BudgetExceeded: $condition; bound $bound nano-USD"
[ "$(nanos "$budget")" = "$(nanos 0.50)" ] || fail "overshoot: budgetUsd $budget, want 0.50"
over=$(($(nanos "$spent") - $(nanos 0.50)))
[ "$over" -ge 0 ] || fail "overshoot: spent \$$spent is below the cap"
[ "$over" -le "$bound" ] ||
  fail "overshoot: \$$spent spent overshoots \$0.50 by $over nano-USD, over $runners × $max_in_flight × $one_request"
# shellcheck disable=SC2016  # the $ signs are the message's
read -r stated_spent stated_over < <(
  sed -n 's/.*spent \$\([0-9.]*\) of \$0.50 (overshoot \$\([0-9.]*\)).*/\1 \2/p' <<<"$condition")
if [ "$(nanos "${stated_spent:-x}")" != "$(nanos "$spent")" ] || [ "$(nanos "${stated_over:-x}")" != "$over" ]; then
  fail "overshoot: BudgetExceeded says '$condition', the summary spent \$$spent (overshoot $over nano-USD)"
fi
# Each runner stopped at its share ($0.25): its own overshoot is at most its maxInFlight requests.
for i in 0 1; do
  own=$(shard_key "overshoot-shard-$i" outcome.json | jq -r .message | sed -n 's/.*(overshoot \$\([0-9.]*\)).*/\1/p')
  [ -z "$own" ] || [ "$(nanos "$own")" -le $((max_in_flight * one_request)) ] ||
    fail "overshoot: runner $i overshot its share by \$$own"
done
report_reason=$(k get configmap overshoot-report -o jsonpath='{.data.report\.json}' | jq -r .reason)
case "$report_reason" in
  *"spent \$$spent of \$0.50"*) ;;
  *) fail "overshoot: report.json's reason does not state the final spend \$$spent: $report_reason" ;;
esac

finish "operator runners"

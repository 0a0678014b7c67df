#!/usr/bin/env bash
# Fidelity check: the real kubectl against kube-test-server. Every step runs kubectl the way a user does
# and checks its output; if kubectl needs something the server does not do, the server is wrong.
#   usage: kubectl_test.sh PATH/TO/kube-test-server   (run from the source root)
# Exit 0 when every step passes, 1 at the first failing step (named, with kubectl's output and the
# server's log), 77 (skipped) when no kubectl is found on PATH or in tools/bin.
set -u
server=$1
tmp=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# shellcheck source=tests/cli/lib/kube.sh
. tests/cli/lib/kube.sh
find_kubectl

step=start
fail() {
  echo "FAIL [$step]: $*"
  echo "--- output:"
  cat "$tmp/out" 2>/dev/null
  echo "--- server log (last 30 lines):"
  tail -30 "$tmp/server.err" 2>/dev/null
  exit 1
}
# run STEP COMMAND...: runs it with output in $tmp/out; a non-zero exit fails the step.
run() {
  step=$1
  shift
  "$@" >"$tmp/out" 2>&1 || fail "exit $? from: $*"
}
# expect REGEX: the last step's output matches (extended regex).
expect() { grep -qE -- "$1" "$tmp/out" || fail "output lacks /$1/"; }
k() { "$kubectl_bin" --request-timeout=30s "$@"; }

# Start the server on a free port and wait for its "listening on" line.
start_kube_test_server "$server" "$tmp" --verbose || {
  pid=$kts_pid
  fail "kube-test-server is not listening: $(cat "$tmp/server.err")"
}
pid=$kts_pid
echo "kube-test-server: $(cat "$tmp/server.out"), kubectl: $kubectl_bin"

run version k version
expect "Server Version: v1\.32\.0-kts"
run api-resources k api-resources
expect "^pods +po +v1 +true +Pod"
expect "^deployments +deploy +apps/v1 +true +Deployment"
expect "^customresourcedefinitions +crd,crds +apiextensions.k8s.io/v1 +false +CustomResourceDefinition"

# The CRD, as users install it (crds/ is a kustomization; its kustomization.yaml is not an API object).
run apply-crds k apply -k crds/
expect "customresourcedefinition.apiextensions.k8s.io/loadtests.tokenstorm.dev created"
run wait-established k wait --for=condition=Established crd/loadtests.tokenstorm.dev --timeout=10s
expect "condition met"
run api-resources-crd k api-resources --api-group=tokenstorm.dev
expect "^loadtests +lt +tokenstorm.dev/v1alpha1 +true +LoadTest"

# Namespaces the examples use (kubectl create sends protobuf bodies).
for ns in $(grep -h '^  namespace:' examples/*.yaml | awk '{print $2}' | sort -u); do
  run "create-namespace-$ns" k create namespace "$ns"
  expect "namespace/$ns created"
done

# Every example, applied as a user would.
count=0
for f in examples/*.yaml; do
  name=$(awk '/^metadata:/{m=1} m && /^  name:/{print $2; exit}' "$f")
  run "apply-$(basename "$f")" k apply -f "$f"
  expect "loadtest.tokenstorm.dev/$name created"
  count=$((count + 1))
done
run get-loadtests k get loadtests -A
expect "^NAMESPACE +NAME +PHASE +STAGE +REQ/S +TTFT-P95 +ERRORS +COST +VERDICT +AGE$"
rows=$(($(wc -l <"$tmp/out") - 1))
[ "$rows" = "$count" ] || fail "want $count rows, got $rows"
run get-lt-json k get lt -o json
jq -e '.kind == "List" and (.items | length) > 0 and all(.items[]; .kind == "LoadTest")' "$tmp/out" >/dev/null ||
  fail "not a List of LoadTests"
jq -e '.items[] | select(.metadata.name == "quickstart") | .metadata.generation == 1' "$tmp/out" >/dev/null ||
  fail "quickstart is not there with generation 1"

# Spec patch bumps the generation; status patches go through the status subresource.
run patch-spec k patch lt quickstart --type merge -p '{"metadata":{"labels":{"team":"qa"}},"spec":{"load":{"stages":[{"duration":"20s","rate":5,"hold":true}]}}}'
expect "loadtest.tokenstorm.dev/quickstart patched"
run get-generation k get lt quickstart -o 'jsonpath={.metadata.generation} {.metadata.labels.team} {.spec.load.stages[0].rate}'
expect "^2 qa 5$"
run patch-status k patch lt quickstart --subresource=status --type merge \
  -p '{"status":{"phase":"Running","stage":{"name":"steady","index":0},"conditions":[{"type":"Ready","status":"True","reason":"RunnersReady","message":"runners up","lastTransitionTime":"2025-01-01T00:00:00Z"}]}}'
expect "loadtest.tokenstorm.dev/quickstart patched"
run get-phase k get lt quickstart
expect "^quickstart +Running +steady "
run generation-after-status k get lt quickstart -o 'jsonpath={.metadata.generation}'
expect "^2$"
run wait-ready k wait --for=condition=Ready lt/quickstart --timeout=10s
expect "loadtest.tokenstorm.dev/quickstart condition met"
# A wait that is satisfied by a change made while it watches.
k wait --for=jsonpath='{.status.phase}'=Succeeded lt/quickstart --timeout=20s >"$tmp/wait.out" 2>&1 &
waiter=$!
sleep 1
run patch-succeeded k patch lt quickstart --subresource=status --type merge -p '{"status":{"phase":"Succeeded"}}'
step=wait-for-change
wait "$waiter" || { cp "$tmp/wait.out" "$tmp/out"; fail "kubectl wait did not see the change"; }

# Applying a file twice: the second apply writes nothing (the resourceVersion stays).
run reapply-quickstart k apply -f examples/quickstart.yaml
rv=$(k get lt quickstart -o 'jsonpath={.metadata.resourceVersion}')
run reapply-again k apply -f examples/quickstart.yaml
expect "loadtest.tokenstorm.dev/quickstart (unchanged|configured)"
step=reapply-no-write
[ "$(k get lt quickstart -o 'jsonpath={.metadata.resourceVersion}')" = "$rv" ] || fail "the second apply wrote"

# A ConfigMap round trip: create (protobuf), apply, apply again, strategic and JSON patches.
run cm-create k create configmap settings --from-literal=a=1
expect "configmap/settings created"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  labels: {app: demo}\ndata:\n  a: "1"\n  b: "2"\n' >"$tmp/cm.yaml"
run cm-apply k apply -f "$tmp/cm.yaml"
expect "configmap/settings configured"
run cm-apply-again k apply -f "$tmp/cm.yaml"
expect "configmap/settings unchanged"
run cm-patch-strategic k patch configmap settings -p '{"data":{"c":"3"}}'
expect "configmap/settings patched"
run cm-patch-json k patch configmap settings --type json -p '[{"op":"remove","path":"/data/a"}]'
run cm-get k get configmap settings -o 'jsonpath={.data.b}{.data.c}|{.data.a}|{.metadata.labels.app}'
expect "^23\|\|demo$"
run cm-list k get configmaps -l app=demo
expect "^settings +2 +"

# Events: one core/v1 Event about the LoadTest, printed with kube-apiserver's columns.
cat >"$tmp/event.yaml" <<'YAML'
apiVersion: v1
kind: Event
metadata:
  name: quickstart.started
involvedObject:
  apiVersion: tokenstorm.dev/v1alpha1
  kind: LoadTest
  name: quickstart
  namespace: default
reason: Started
message: runners started
type: Normal
source: {component: tokenstorm-operator}
YAML
run event-create k apply -f "$tmp/event.yaml"
run get-events k get events
expect "^LAST SEEN +TYPE +REASON +OBJECT +MESSAGE$"
expect "Normal +Started +loadtest/quickstart +runners started"

# Deletion: plain (kubectl waits until it is gone), and held by a finalizer until it is removed.
run delete-lt k delete lt quickstart --timeout=20s
expect 'loadtest.tokenstorm.dev "quickstart" deleted'
step=deleted-is-gone
k get lt quickstart >"$tmp/out" 2>&1 && fail "quickstart still exists"
expect "NotFound"
run finalizer-add k patch lt ci-gate --type merge -p '{"metadata":{"finalizers":["tokenstorm.dev/cleanup"]}}'
run finalizer-delete k delete lt ci-gate --wait=false
run finalizer-pending k get lt ci-gate -o 'jsonpath={.metadata.deletionTimestamp}'
expect "^[0-9]{4}-"
k wait --for=delete lt/ci-gate --timeout=20s >"$tmp/wait.out" 2>&1 &
waiter=$!
sleep 1
run finalizer-remove k patch lt ci-gate --type json -p '[{"op":"remove","path":"/metadata/finalizers"}]'
step=wait-for-delete
wait "$waiter" || { cp "$tmp/wait.out" "$tmp/out"; fail "kubectl wait --for=delete did not return"; }

# A Job runs as local processes (the process kubelet); `kubectl logs` reads what they printed.
cat >"$tmp/job.yaml" <<'YAML'
apiVersion: batch/v1
kind: Job
metadata: {name: hello}
spec:
  completionMode: Indexed
  completions: 2
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers:
        - {name: main, image: ignored, command: [sh, -c, 'echo "hello from index $JOB_COMPLETION_INDEX"']}
YAML
run job-apply k apply -f "$tmp/job.yaml"
run job-complete k wait --for=condition=Complete job/hello --timeout=30s
run job-get k get job hello
expect "hello +Complete +2/2"
run job-pods k get pods -l job-name=hello -o name
pod=$(grep -- '-0-' "$tmp/out" | head -1)
run job-logs k logs "$pod"
expect "^hello from index 0$"
run job-delete k delete job hello --cascade=foreground
run job-pods-gone k get pods -l job-name=hello
expect "No resources found"

# Removing the CRD removes the type and its objects.
run delete-crds k delete -k crds/
expect 'customresourcedefinition.apiextensions.k8s.io "loadtests.tokenstorm.dev" deleted'
run crds-gone k get crd
expect "No resources found"
step=type-gone
k get loadtests -A >"$tmp/out" 2>&1 && fail "loadtests are still served"

# SIGTERM: a clean exit.
step=sigterm
kill -TERM "$pid"
for _ in $(seq 50); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$pid" 2>/dev/null && fail "still running 5 s after SIGTERM"
wait "$pid"
rc=$?
pid=
[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM"

echo "PASS: kubectl against kube-test-server ($count examples)"

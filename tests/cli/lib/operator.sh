# shellcheck shell=bash
# Shared by the tests/cli scripts that drive runners or the operator against kube-test-server (source it
# from the source root, after `set -u`). Sourcing it sets up the harness:
#   tmp (a fresh directory, removed on exit), pids (processes to stop on exit: add yours), failures,
#   kubectl_bin (find_kubectl: exits 77 without kubectl), and these functions:
# step TEXT: prints a step heading.
# fail TEXT: says FAIL and counts it; finish NAME: dump_logs and exit 1 after failures, else exit 0.
# k ARGS...: kubectl with a request timeout.
# wait_for SECONDS COMMAND...: runs the command every 0.2 s until it succeeds (0) or SECONDS have passed (1).
# field NAME JSONPATH: a field of LoadTest NAME.
# start_cluster SERVER: kube-test-server (Job controller, process kubelet) on a free port, the CRD applied
#   and Established, the ServiceAccount tokenstorm-runner; exits 1 when any of it fails.
# start_operator BIN: `tokenstorm operator` against it (leader election off, runner pods run BIN), its
#   logs appended to $tmp/operator.{out,err}; sets operator_pid and port (the /healthz,/readyz,/metrics
#   listener); exits 1 when it does not start.
# loadtest NAME RUNNERS LOAD [THRESHOLDS]: applies a LoadTest against the simulator (fixed usage: 50 input
#   and 16 output tokens a request); the variable `extra` (lines of spec fields, indented 2) is appended.
# finished NAME HEALTH: checks that charts/tokenstorm/health.lua (health_lua, from
#   tests/cli/lib/health_lua.sh) says HEALTH (Healthy, Degraded or Progressing) of the live object; for a
#   finished test it first waits for status.reportRef when the run started (the final record), and with
#   TOKENSTORM_CAPTURE_STATUS_DIR set writes the object there as NAME.yaml (a health.lua fixture).
# dump_logs: the operator's, the server's and the runner pods' logs (tails).

failures=0
tmp=$(mktemp -d)
pids=()
step() { echo "=== $*"; }
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
cleanup() {
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

# shellcheck source=tests/cli/lib/kube.sh
. tests/cli/lib/kube.sh
find_kubectl
# The lead's Lua runner for health.lua (defines health_lua OBJECT_FILE → "STATUS<TAB>MESSAGE").
if [ -f tests/cli/lib/health_lua.sh ]; then
  # shellcheck source=/dev/null
  . tests/cli/lib/health_lua.sh
fi

k() { "$kubectl_bin" --request-timeout=30s "$@"; }
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  while :; do
    "$@" && return 0
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.2
  done
}
field() { k get lt "$1" -o jsonpath="$2"; }

dump_logs() {
  echo "--- operator log (last 80 lines)"
  tail -n 80 "$tmp/operator.err" 2>/dev/null
  echo "--- kube-test-server log (last 40 lines)"
  tail -n 40 "$tmp/server.err" 2>/dev/null
  echo "--- runner pod logs"
  for f in "$tmp"/data/pods/*/logs/*/*.log; do
    [ -f "$f" ] && { echo "- $f"; tail -n 20 "$f"; }
  done
}
finish() {
  if [ "$failures" -gt 0 ]; then
    dump_logs
    echo "$failures failure(s)"
    exit 1
  fi
  echo "$1: all checks passed"
  exit 0
}

start_cluster() {
  step "start kube-test-server"
  local started
  start_kube_test_server "$1" "$tmp"
  started=$?
  pids+=("$kts_pid")
  [ "$started" = 0 ] || {
    echo "FAIL: kube-test-server is not listening: $(cat "$tmp/server.err")"
    exit 1
  }
  step "install the CRD"
  k apply -k crds/ >/dev/null || { echo "FAIL: kubectl apply -k crds/"; exit 1; }
  k wait --for=condition=Established crd/loadtests.tokenstorm.dev --timeout=20s >/dev/null ||
    { echo "FAIL: the CRD is not Established"; exit 1; }
  # The runner pods name this ServiceAccount (the process kubelet gives every pod the server's token).
  k create serviceaccount tokenstorm-runner >/dev/null 2>&1 || echo "note: no ServiceAccount created"
}

operator_starts() { grep -c "msg=starting" "$tmp/operator.err" 2>/dev/null; }
operator_started_since() { [ "$(operator_starts)" -gt "$1" ]; }
start_operator() {
  local bin=$1 before
  before=$(operator_starts)
  "$bin" operator --kubeconfig "$tmp/kubeconfig" --runner-command "$bin" --leader-elect=false \
    --listen 127.0.0.1:0 >>"$tmp/operator.out" 2>>"$tmp/operator.err" &
  operator_pid=$!
  pids+=("$operator_pid")
  wait_for 20 operator_started_since "${before:-0}" || { dump_logs; echo "FAIL: the operator did not start"; exit 1; }
  # shellcheck disable=SC2034  # the scripts read it
  port=$(grep -o 'listen=127.0.0.1:[0-9]*' "$tmp/operator.err" | tail -1 | cut -d: -f2)
}

default_thresholds='[{metric: errorRate, max: 0.01}, {metric: ttft, stat: p95, max: 2s}]'
extra=""
loadtest() {
  local thresholds=${4:-$default_thresholds}
  cat <<YAML | k apply -f - >/dev/null
apiVersion: tokenstorm.dev/v1alpha1
kind: LoadTest
metadata: {name: $1}
spec:
  target:
    endpoints: [{name: sim, url: "sim://", api: openai-chat, model: sim-llama-8b}]
  workload:
    classes:
      - name: chat
        prompt: {synthetic: {inputTokens: {fixed: 50}}}
        maxOutputTokens: {fixed: 16}
        ignoreEos: true
  load: $3
  runners: {count: $2}
  report: {interval: 1s}
  thresholds: $thresholds
$extra
YAML
}

has_report() { [ -n "$(field "$1" '{.status.reportRef.name}')" ]; }
finished() {
  local name=$1 want=$2 got
  # A run that started ends with its report ConfigMap: wait for it, so that the final record is checked.
  if [ "$want" != Progressing ] && [ -n "$(field "$name" '{.status.startTime}')" ]; then
    wait_for 60 has_report "$name" || fail "$name: no status.reportRef: $(field "$name" '{.status}')"
  fi
  k get lt "$name" -o json >"$tmp/$name.health.json" || { fail "$name: kubectl get lt $name"; return; }
  if ! declare -F health_lua >/dev/null; then
    fail "$name: no health_lua (tests/cli/lib/health_lua.sh) to run charts/tokenstorm/health.lua"
  elif ! got=$(health_lua "$tmp/$name.health.json"); then
    fail "$name: health_lua failed: $got"
  elif [ "${got%%$'\t'*}" != "$want" ]; then
    fail "$name: health.lua says '$got', want $want"
  else
    echo "$name: health.lua: $got"
  fi
  [ "$want" = Progressing ] || [ -z "${TOKENSTORM_CAPTURE_STATUS_DIR:-}" ] || capture_status "$name"
}

# The object as `kubectl get -o yaml` shows it, less what differs on every run and says nothing about
# the status: uid, resourceVersion, creationTimestamp, managedFields and kubectl's last-applied annotation.
capture_status() {
  mkdir -p "$TOKENSTORM_CAPTURE_STATUS_DIR" || { fail "cannot create $TOKENSTORM_CAPTURE_STATUS_DIR"; return; }
  if ! k get lt "$1" -o json |
    jq 'del(.metadata.uid, .metadata.resourceVersion, .metadata.creationTimestamp, .metadata.managedFields,
            .metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"])
        | if .metadata.annotations == {} then del(.metadata.annotations) else . end' >"$tmp/$1.capture.json" ||
    ! k create --dry-run=client -o yaml -f "$tmp/$1.capture.json" >"$TOKENSTORM_CAPTURE_STATUS_DIR/$1.yaml"; then
    fail "$1: cannot write $TOKENSTORM_CAPTURE_STATUS_DIR/$1.yaml"
  fi
}

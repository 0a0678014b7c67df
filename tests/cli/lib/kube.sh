# shellcheck shell=bash
# Shared by the tests/cli scripts that need a cluster (source it from the source root).
#
# find_kubectl: sets kubectl_bin to the kubectl on PATH, else tools/bin/kubectl (scripts/setup.sh puts one
#   there); without either, says so and exits 77, which ctest reports as skipped.
# start_kube_test_server SERVER DIR [ARGS...]: starts kube-test-server on a free port with DIR/data as its
#   data directory and DIR/kubeconfig as its kubeconfig, stdout in DIR/server.out and stderr in
#   DIR/server.err; sets kts_pid, exports KUBECONFIG and KUBECACHEDIR (kubectl's discovery cache, kept out
#   of ~/.kube). Returns 1 when the server exits or does not listen within 10 s.

find_kubectl() {
  kubectl_bin=$(command -v kubectl || true)
  if [ -z "$kubectl_bin" ] && [ -x tools/bin/kubectl ]; then
    kubectl_bin=$PWD/tools/bin/kubectl
  fi
  if [ -z "$kubectl_bin" ]; then
    echo "SKIP: no kubectl on PATH or in tools/bin (scripts/setup.sh installs one)"
    exit 77
  fi
}

start_kube_test_server() {
  local server=$1 dir=$2
  shift 2
  "$server" --listen 127.0.0.1:0 --data "$dir/data" --kubeconfig-out "$dir/kubeconfig" "$@" \
    >"$dir/server.out" 2>"$dir/server.err" &
  kts_pid=$!
  for _ in $(seq 100); do
    grep -q "^listening on https://127.0.0.1:" "$dir/server.out" && break
    kill -0 "$kts_pid" 2>/dev/null || return 1
    sleep 0.1
  done
  grep -q "^listening on https://127.0.0.1:" "$dir/server.out" || return 1
  export KUBECONFIG=$dir/kubeconfig
  export KUBECACHEDIR=$dir/cache
}

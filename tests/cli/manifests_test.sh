#!/usr/bin/env bash
# Renders the kustomize base and the Helm chart with the real tools, and checks what they produce.
#   usage: manifests_test.sh kustomize|helm   (run from the source root)
set -euo pipefail
what=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
kubectl=$(command -v kubectl || echo tools/bin/kubectl)
helm=tools/bin/helm

expect_kinds() {
  for kind in "$@"; do
    grep -q "^kind: $kind$" "$tmp/out.yaml" || { echo "FAIL: rendered output has no $kind"; exit 1; }
  done
}

case "$what" in
  kustomize)
    "$kubectl" kustomize manifests/ >"$tmp/out.yaml"
    expect_kinds Namespace CustomResourceDefinition ServiceAccount ClusterRole ClusterRoleBinding Deployment
    # The CRD in the base is the generated one.
    grep -q "name: loadtests.tokenstorm.dev" "$tmp/out.yaml"
    grep -q "x-kubernetes-preserve-unknown-fields" "$tmp/out.yaml"
    ;;
  helm)
    if [ ! -x "$helm" ]; then
      echo "FAIL: $helm missing: run scripts/setup.sh"
      exit 1
    fi
    "$helm" lint --strict charts/tokenstorm
    "$helm" template tokenstorm charts/tokenstorm --namespace tokenstorm-system --include-crds >"$tmp/out.yaml"
    expect_kinds CustomResourceDefinition ServiceAccount ClusterRole ClusterRoleBinding Deployment
    ;;
  *)
    echo "usage: $0 kustomize|helm"
    exit 2
    ;;
esac
echo "$what: ok"

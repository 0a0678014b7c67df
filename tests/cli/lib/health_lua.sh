# shellcheck shell=bash
# health_lua OBJECT_FILE: prints "STATUS<TAB>MESSAGE" of the chart's Argo CD health check
# (charts/tokenstorm/health.lua, run in Debian's lua5.1) for one LoadTest in YAML or JSON, e.g. the output of
# `kubectl get lt NAME -o json`. Source from the source root; needs scripts/setup.sh (lua5.1, tools/node).
health_lua() {
  NODE_PATH=$PWD/tools/node/node_modules node tests/cli/health_lua_test.js --object charts/tokenstorm "$1"
}

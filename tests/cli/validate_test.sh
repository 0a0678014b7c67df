#!/usr/bin/env bash
# The `tokenstorm` executable as users and CI run it: exit codes, messages on stderr, crds/ drift.
#   usage: validate_test.sh PATH/TO/tokenstorm   (run from the source root)
set -u
bin=$1
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Examples are valid, and --explain prints the plan.
"$bin" validate examples/*.yaml >"$tmp/out" 2>&1 || fail "examples do not validate: $(cat "$tmp/out")"
"$bin" validate --explain examples/spike.yaml >"$tmp/out" 2>&1 || fail "validate --explain failed"
grep -q "recovery" "$tmp/out" || fail "--explain does not list the spike's stages: $(cat "$tmp/out")"

# Every invalid case: exit 2, and each expected field path appears in the error output.
for case in tests/data/validate/*.case; do
  awk '/^----\r?$/{exit} {print}' "$case" >"$tmp/input.yaml"
  "$bin" validate "$tmp/input.yaml" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  [ "$rc" = 2 ] || { fail "$case: exit $rc, want 2"; continue; }
  while IFS= read -r want; do
    want=${want%$'\r'}
    [ -z "$want" ] && continue
    grep -qF -- "$want" "$tmp/err" || fail "$case: stderr lacks: $want"
  done < <(awk 'f{print} /^----\r?$/{f=1}' "$case")
done

# JSON output and stdin.
"$bin" validate -o json - <examples/quickstart.yaml >"$tmp/out" || fail "validate - (stdin) failed"
grep -q '"valid": true' "$tmp/out" || fail "-o json lacks valid: true"

# Usage errors are exit 2; help and version are exit 0; a missing file is reported, not a crash.
"$bin" >/dev/null 2>&1; [ $? = 2 ] || fail "no arguments: want exit 2"
"$bin" frobnicate >/dev/null 2>&1; [ $? = 2 ] || fail "unknown command: want exit 2"
"$bin" validate --bogus x >/dev/null 2>&1; [ $? = 2 ] || fail "unknown option: want exit 2"
"$bin" validate /nonexistent.yaml 2>"$tmp/err"; [ $? = 2 ] || fail "missing file: want exit 2"
grep -q "cannot open file" "$tmp/err" || fail "missing file: no message"
"$bin" validate tests 2>"$tmp/err"; [ $? = 2 ] || fail "a directory: want exit 2"
"$bin" --help | grep -q "validate" || fail "--help lacks validate"
"$bin" validate --help | grep -q "explain" || fail "validate --help lacks --explain"
"$bin" --version | grep -Eq '^tokenstorm [0-9]+\.[0-9]+\.[0-9]+$' || fail "--version format"

# Hostile input through the CLI: a huge file and random bytes end in exit 2, quickly.
head -c 3000000 /dev/zero | tr '\0' 'a' >"$tmp/huge.yaml"
timeout 20 "$bin" validate "$tmp/huge.yaml" 2>"$tmp/err"; rc=$?
[ "$rc" = 2 ] && grep -q "limit is 1048576 bytes" "$tmp/err" || fail "huge file: exit $rc, $(cat "$tmp/err")"
for i in 1 2 3 4 5; do
  head -c 4096 /dev/urandom >"$tmp/random.bin"
  timeout 20 "$bin" validate "$tmp/random.bin" 2>/dev/null; rc=$?
  [ "$rc" = 2 ] || fail "random bytes: exit $rc"
done

# The CRD in crds/ is what the generator prints.
"$bin" crd | diff -q - crds/loadtests.tokenstorm.dev.yaml >/dev/null || fail "crds/ drifted from \`tokenstorm crd\`"

if [ "$failures" -gt 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "cli validate: all checks passed"

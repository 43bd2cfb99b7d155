#!/usr/bin/env bash
# The full test suite: build, lint, TypeScript suites (mocha), and the agent's Go suites when present.
# Ends with one line "N passed, N failed" summing every suite, and exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
# Keep going after a failing suite: every suite runs and counts.
set +e

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
export FLOWLENS_RESULTS=$results

# A step that is not a test runner counts as one test: passed or failed.
step() {
  local name=$1
  shift
  echo "=== $name"
  if "$@"; then
    echo "{\"suite\":\"$name\",\"passed\":1,\"failed\":0}" >"$results/step-$name.json"
  else
    echo "=== $name FAILED"
    echo "{\"suite\":\"$name\",\"passed\":0,\"failed\":1}" >"$results/step-$name.json"
    return 1
  fi
}

if step build npm run --silent build; then
  step lint npx eslint --max-warnings 0 src test webview scripts
  echo "=== typescript (mocha)"
  if ! npm run --silent compile-tests || ! node out/test/run-mocha.js; then
    [ -f "$results/ts.json" ] || echo '{"suite":"typescript","passed":0,"failed":1}' >"$results/ts.json"
  fi
fi

# The .vsix must build and carry the bundles the manifest points at.
vsix_ok() {
  npm run --silent package >/dev/null && npx vsce ls --no-dependencies | grep -qx 'dist/extension.js'
}
step package vsix_ok

echo "=== agent (go test, privileged)"
if ! make -C bpf test TEST_JSON="$results/agent.gojson"; then
  [ -s "$results/agent.gojson" ] || echo '{"suite":"agent","passed":0,"failed":1}' >"$results/agent-build.json"
fi

echo "=== demo-app (go test, privileged)"
bash scripts/go-test.sh sandbox/demo-app "$results/demo-app.gojson" -count=1

echo "=== sandbox (go test, privileged: a real control plane, KWOK nodes, agents)"
if sandbox_cmd=$(bash scripts/sandbox.sh build | tail -n 1); then
  FLOWLENS_SANDBOX_CMD=$sandbox_cmd bash scripts/go-test.sh sandbox "$results/sandbox.gojson" -count=1 -timeout 15m
else
  echo '{"suite":"sandbox-build","passed":0,"failed":1}' >"$results/sandbox-build.json"
fi

node scripts/sum-results.mjs "$results"

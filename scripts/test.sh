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

if [ -f bpf/Makefile ]; then
  echo "=== agent (go test, privileged)"
  if ! make -C bpf test TEST_JSON="$results/go.json"; then
    [ -s "$results/go.json" ] || echo '{"suite":"go","passed":0,"failed":1}' >"$results/go-build.json"
  fi
fi

node scripts/sum-results.mjs "$results"

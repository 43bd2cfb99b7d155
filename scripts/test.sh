#!/usr/bin/env bash
# The full test suite: build, lint, the agent's Go suites (real kernel), demo-app, the sandbox end-to-end
# test, then the TypeScript suites (mocha: core, CLI, webview in headless Chromium, and the cluster layer
# against a sandbox started for them), then packaging. Ends with one line "N passed, N failed, N skipped"
# summing every suite, and exits non-zero if anything failed. Needs root (namespaces, cgroups, eBPF).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
# Keep going after a failing suite: every suite runs and counts.
set +e

results=$(mktemp -d)
sandbox_dir=$(mktemp -d)
sandbox_pid=
cleanup() {
  if [ -n "$sandbox_pid" ]; then
    kill -TERM "$sandbox_pid" 2>/dev/null
    for _ in $(seq 1 600); do kill -0 "$sandbox_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$results" "$sandbox_dir"
}
trap cleanup EXIT
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

step build npm run --silent build
built=$?
step lint npx eslint --max-warnings 0 src test webview scripts

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
  sandbox_cmd=
fi

# One sandbox for the TypeScript suites that need a cluster (test/cluster); without it they are skipped.
if [ -n "$sandbox_cmd" ]; then
  echo "=== starting a sandbox for the TypeScript integration suites"
  FLOWLENS_SANDBOX_DIR=$sandbox_dir setsid $sandbox_cmd >"$sandbox_dir/out.log" 2>&1 &
  sandbox_pid=$!
  for _ in $(seq 1 1200); do
    grep -q "FlowLens sandbox is up." "$sandbox_dir/out.log" 2>/dev/null && break
    kill -0 "$sandbox_pid" 2>/dev/null || break
    sleep 0.25
  done
  if grep -q "FlowLens sandbox is up." "$sandbox_dir/out.log"; then
    export FLOWLENS_SANDBOX_KUBECONFIG=$sandbox_dir/admin.kubeconfig
  else
    echo "=== the sandbox did not come up; the cluster suites will be skipped:"
    tail -n 20 "$sandbox_dir/out.log"
    echo '{"suite":"sandbox-for-typescript","passed":0,"failed":1}' >"$results/sandbox-start.json"
  fi
fi

echo "=== typescript (mocha)"
compiled=1
if [ "$built" = 0 ] && npm run --silent compile-tests; then
  compiled=0
  node out/test/run-mocha.js || true
fi
[ -f "$results/ts.json" ] || echo '{"suite":"typescript","passed":0,"failed":1}' >"$results/ts.json"

# The extension's own suite (test/vscode) in a real VS Code extension host: code-server in headless
# Chromium. FLOWLENS_SANDBOX_KUBECONFIG, exported above when the sandbox is up, reaches the tests through
# code-server's environment.
echo "=== vscode (extension host in code-server)"
if [ "$compiled" = 0 ] && code_server=$(bash scripts/code-server.sh | tail -n 1); then
  FLOWLENS_CODE_SERVER=$code_server node out/test/vscode/run-in-code-server.js || true
fi
[ -f "$results/vscode.json" ] || echo '{"suite":"vscode","passed":0,"failed":1}' >"$results/vscode.json"

# The .vsix must build and carry the bundles the manifest points at (and the demo recording).
vsix_ok() {
  npm run --silent package >/dev/null && npx vsce ls --no-dependencies | grep -qx 'dist/extension.js' && npx vsce ls --no-dependencies | grep -qx 'examples/demo/demo.flows.jsonl'
}
step package vsix_ok

# The whole user workflow in the workbench, with that .vsix installed, against the sandbox (test/e2e).
echo "=== e2e (the workflow in code-server, driven through Chromium)"
if [ "$compiled" = 0 ] && [ -f dist/flowlens.vsix ]; then
  FLOWLENS_VSIX=dist/flowlens.vsix node out/test/e2e/workflow.e2e.js || true
fi
[ -f "$results/e2e.json" ] || echo '{"suite":"e2e","passed":0,"failed":1}' >"$results/e2e.json"

node scripts/sum-results.mjs "$results"

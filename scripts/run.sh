#!/usr/bin/env bash
# Runs FlowLens on its embedded default. Until the local sandbox cluster exists this is the policy
# engine on the bundled shop example: which connections the policies in force plus a candidate allow.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
npm run --silent build
echo "flowlens verdicts on examples/shop (policies in force + the candidate examples/shop/policies.yaml):"
echo
node dist/cli.js verdicts --cluster examples/shop/cluster.yaml --policies examples/shop/policies.yaml \
  --probes examples/shop/probes.json --output text
echo
echo "JSON for scripts: node dist/cli.js verdicts --cluster examples/shop/cluster.yaml --policies examples/shop/policies.yaml --probes examples/shop/probes.json"

#!/usr/bin/env bash
# Runs FlowLens on its embedded default: the local sandbox cluster (a real control plane, three KWOK
# nodes in three zones, a demo application with real traffic, real FlowLens agents) and, on top, the real
# VS Code workbench (code-server) with the freshly built FlowLens .vsix installed and the sandbox's
# kubeconfig selected. Prints the URL to open; runs until Ctrl-C, which stops both. The first run builds
# the control plane from the Go module proxy and installs code-server (about 10 minutes on 2 cores);
# later runs start in seconds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
export FLOWLENS_SANDBOX_DIR=${FLOWLENS_SANDBOX_DIR:-$HOME/.local/state/flowlens-sandbox}
log=$(mktemp)
bash scripts/sandbox.sh up "$@" > >(tee "$log") 2>&1 &
sandbox=$!
# Background jobs of a script ignore Ctrl-C: stop the sandbox explicitly (it treats TERM like Ctrl-C).
trap 'kill -TERM "$sandbox" 2>/dev/null; wait "$sandbox"; rm -f "$log"' EXIT
until grep -q "FlowLens sandbox is up." "$log"; do
  kill -0 "$sandbox" 2>/dev/null || exit 1
  sleep 0.5
done
# The sandbox's "cloud" hosts (203.0.113.0/24) are named S3 and DYNAMODB by this AWS ip-ranges.json excerpt.
bash scripts/workbench.sh --kubeconfig "$FLOWLENS_SANDBOX_DIR/admin.kubeconfig" --setting "flowlens.cloudRanges=\"$PWD/test/fixtures/aws-ip-ranges.json\""

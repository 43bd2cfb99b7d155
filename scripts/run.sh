#!/usr/bin/env bash
# Runs FlowLens on its embedded default: the local sandbox cluster (a real control plane, three KWOK
# nodes in three zones, a demo application with real traffic, real FlowLens agents), in the foreground
# until Ctrl-C. The first run builds the control plane from the Go module proxy (about 10 minutes on
# 2 cores); later runs start in seconds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
npm run --silent build
exec bash scripts/sandbox.sh up "$@"

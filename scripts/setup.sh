#!/usr/bin/env bash
# Installs what FlowLens needs on a fresh machine of this kind, idempotently and quickly when warm:
# a Node.js and a Go new enough for the toolchains, and the npm dependencies from the lockfile. The agent's
# Makefile installs its own Debian packages (clang, libbpf, bpftool, ...) when it builds.
# Sourced by scripts/test.sh and scripts/run.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

node_ok() {
  command -v node >/dev/null 2>&1 && node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'
}
if ! node_ok; then
  echo "flowlens setup: Node.js >= 20.19 is required (found: $(node --version 2>/dev/null || echo none))." >&2
  echo "Install it from your distribution or nodejs.org, then run this again." >&2
  exit 1
fi

if ! command -v go >/dev/null 2>&1 || ! go version | grep -qE 'go1\.(2[6-9]|[3-9][0-9])'; then
  echo "flowlens setup: Go >= 1.26 is required for the agent and the sandbox (found: $(go version 2>/dev/null || echo none))." >&2
  exit 1
fi

# Headless Chromium for the webview tests and benchmark (test/webview, scripts/bench-webview.ts): Debian's,
# driven by playwright-core (never a browser download).
if [ ! -x /usr/bin/chromium ]; then
  echo "flowlens setup: installing Debian chromium..."
  apt-get update -qq
  apt-get install -y --no-install-recommends chromium >/dev/null
fi

# npm ci only when the lockfile changed since the last install (node_modules/.package-lock.json is npm's own record).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "flowlens setup: installing npm dependencies (npm ci)..."
  npm ci --no-audit --no-fund --loglevel=error
fi

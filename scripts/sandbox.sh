#!/usr/bin/env bash
# The local sandbox: a real Kubernetes control plane on loopback, three KWOK nodes, a demo application
# with real traffic, and real FlowLens agents. Builds what is missing (cached outside the repo), then runs
# in the foreground until Ctrl-C.
#   bash scripts/sandbox.sh [up]     start (prints the kubeconfig path)
#   bash scripts/sandbox.sh stop     stop a running sandbox, or clean up after a crashed one
#   bash scripts/sandbox.sh build    only build; prints the flowlens-sandbox command line
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
cmd=${1:-up}
shift || true

if [ "$(id -u)" != 0 ]; then
  echo "flowlens sandbox: needs root (network namespaces, cgroups, eBPF): run it as root (sudo)" >&2
  exit 1
fi
missing=()
for tool in ip:iproute2 nft:nftables; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "flowlens sandbox: installing ${missing[*]}" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cache=${FLOWLENS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flowlens}
bin=$cache/sandbox-bin
mkdir -p "$bin"
if [ "$cmd" = stop ]; then
  (cd sandbox && go build -o "$bin/flowlens-sandbox" ./cmd/flowlens-sandbox)
  exec "$bin/flowlens-sandbox" stop "$@"
fi

components=$(bash sandbox/build-components.sh | tail -n 1)
echo "flowlens sandbox: building the agent, demo-app and sandbox binaries" >&2
make -s -C bpf >&2
export CGO_ENABLED=0
(cd sandbox/demo-app && go build -trimpath -o "$bin/demo-app" .)
(cd sandbox && go build -trimpath -o "$bin/flowlens-sandbox" ./cmd/flowlens-sandbox)

args=(--bin-dir "$components" --agent "$root/bpf/bin/flowlens-agent" --demo-app "$bin/demo-app" --agent-manifests "$root/agent-manifests")
case $cmd in
  build) echo "$bin/flowlens-sandbox up ${args[*]}" ;;
  up) exec "$bin/flowlens-sandbox" up "${args[@]}" "$@" ;;
  *) echo "usage: scripts/sandbox.sh [up|stop|build]" >&2; exit 2 ;;
esac

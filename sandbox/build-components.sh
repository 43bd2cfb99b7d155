#!/usr/bin/env bash
# Builds the sandbox's control plane from the Go module proxy: kube-apiserver, kube-controller-manager and
# kube-scheduler, etcd and kwok. The binaries are cached outside the repository, keyed by version, so only
# the first run pays for the build (many minutes cold on 2 cores; seconds warm).
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod pins the staging modules (k8s.io/api, ...) at
# v0.0.0 with replace directives to ./staging. A small wrapper module requires it and replaces each
# staging module with its published v0.X.Y twin; the list is derived from kubernetes' own go.mod so any
# release works. etcd's server module has relative replaces too, which a wrapper module ignores.
# Prints the bin directory on its last line.
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.36.3}
ETCD_VERSION=${ETCD_VERSION:-v3.6.14}
KWOK_VERSION=${KWOK_VERSION:-v0.8.0}
CACHE=${FLOWLENS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flowlens}
BIN=$CACHE/components/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION/bin
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

log() { echo "flowlens sandbox: $*" >&2; }

# `go build -v` names each package as it compiles it: show a running count instead of a silent wait.
progress() {
  local what=$1 n=0
  while IFS= read -r line; do
    n=$((n + 1))
    if [ $((n % 100)) -eq 0 ]; then log "$what: $n packages compiled..."; fi
    # Compiler diagnostics look like "file.go:12:3: message"; everything else is a package name.
    case $line in *.go:[0-9]*|go:\ *|*FAIL*) echo "$line" >&2 ;; esac
  done
  log "$what: $n packages compiled"
}

build_kubernetes() {
  local dir=$CACHE/build/k8s-$K8S_VERSION minor=${K8S_VERSION#v1.}
  minor=${minor%%.*}
  mkdir -p "$dir" && cd "$dir"
  log "building Kubernetes $K8S_VERSION (kube-apiserver, kube-controller-manager, kube-scheduler)"
  go mod download -json "k8s.io/kubernetes@$K8S_VERSION" >/dev/null
  local mod
  mod=$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$K8S_VERSION.mod
  local goline
  goline=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$mod")
  printf 'module flowlens.local/k8sbin\n\ngo %s\n\nrequire k8s.io/kubernetes %s\n' "$goline" "$K8S_VERSION" >go.mod
  printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kube-controller-manager"\n\t_ "k8s.io/kubernetes/cmd/kube-scheduler"\n)\n' >tools.go
  sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*#\1#p' "$mod" | while read -r m; do
    go mod edit -replace="$m=$m@v0.${K8S_VERSION#v1.}"
  done
  go mod tidy
  local ld="-s -w" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  go build -v -trimpath -ldflags "$ld" -o "$BIN/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler 2>&1 | progress kubernetes
  [ -x "$BIN/kube-apiserver" ] && [ -x "$BIN/kube-controller-manager" ] && [ -x "$BIN/kube-scheduler" ]
}

build_etcd() {
  local dir=$CACHE/build/etcd-$ETCD_VERSION
  mkdir -p "$dir" && cd "$dir"
  log "building etcd $ETCD_VERSION"
  printf 'module flowlens.local/etcdbin\n\ngo 1.25.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >go.mod
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' >tools.go
  go mod tidy
  go build -v -trimpath -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3 2>&1 | progress etcd
  [ -x "$BIN/etcd" ]
}

build_kwok() {
  log "building kwok $KWOK_VERSION"
  GOBIN=$BIN go install -v -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" 2>&1 | progress kwok
  [ -x "$BIN/kwok" ]
}

# The kwok binary needs its lifecycle Stages (node initialize/heartbeat, pod ready/complete/delete) in a
# config file, as kwokctl writes it. They ship in the kwok module; assemble them from there.
kwok_stages() {
  local dir stages=$BIN/kwok-stages.yaml
  dir=$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  : >"$stages.tmp"
  for f in node/fast/node-initialize.yaml node/heartbeat/node-heartbeat.yaml pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    printf -- '---\n' >>"$stages.tmp"
    cat "$dir/kustomize/stage/$f" >>"$stages.tmp"
  done
  mv "$stages.tmp" "$stages"
}

mkdir -p "$BIN"
start=$(date +%s)
for c in kube-apiserver etcd kwok; do
  if [ ! -x "$BIN/$c" ]; then
    case $c in
      kube-apiserver) (build_kubernetes) ;;
      etcd) (build_etcd) ;;
      kwok) (build_kwok) ;;
    esac
  fi
done
[ -s "$BIN/kwok-stages.yaml" ] || (cd "$CACHE" && kwok_stages)
[ "$(($(date +%s) - start))" -gt 5 ] && log "components built in $(($(date +%s) - start)) s"
echo "$BIN"

#!/usr/bin/env bash
# Runs `go vet` and `go test -json` in a Go module, showing the output as `go test -v` would and keeping
# the JSON event stream for scripts/sum-results.mjs.   Usage: go-test.sh <module dir> <results file> [go test args]
set -uo pipefail
dir=$1 results=$2
shift 2
cd "$dir" || exit 1
if ! go vet ./...; then
  echo '{"Action":"fail","Package":"go vet '"$dir"'"}' >"$results"
  exit 1
fi
go test -json "$@" ./... | tee "$results" | node -e '
  const rl = require("readline").createInterface({ input: process.stdin });
  rl.on("line", (l) => { try { const e = JSON.parse(l); if (e.Action === "output") process.stdout.write(e.Output); } catch { console.log(l); } });'

#!/usr/bin/env bash
# FlowLens in the real VS Code workbench: code-server with the FlowLens .vsix installed and a kubeconfig
# selected, in the foreground until Ctrl-C. Prints the URL to open in a browser.
#   bash scripts/workbench.sh --kubeconfig FILE [--vsix FILE] [--setting KEY=JSON]...
# --vsix: the package to install (default: `npm run package`, which builds dist/flowlens.vsix afresh).
# --setting: an extra user setting, its value as JSON (e.g. flowlens.agent.image='"my-agent:dev"').
# Environment: FLOWLENS_WORKBENCH_PORT (default 8080), FLOWLENS_WORKBENCH_DIR (default
# ${FLOWLENS_CACHE:-$HOME/.cache/flowlens}/workbench: extensions, user data, XDG dirs and the workspace
# folder, kept between runs), FLOWLENS_CODE_SERVER (the binary; default: what scripts/code-server.sh prints).
# The end-to-end test (test/e2e) starts its workbench with this script too, in a throwaway directory.
set -euo pipefail

say() { echo "flowlens workbench: $*" >&2; }
usage() { say "usage: bash scripts/workbench.sh --kubeconfig FILE [--vsix FILE] [--setting KEY=JSON]..." && exit 2; }

kubeconfig=
vsix=
settings=()
while [ $# -gt 0 ]; do
  case $1 in
    --kubeconfig) [ $# -ge 2 ] || usage; kubeconfig=$2; shift 2 ;;
    --vsix) [ $# -ge 2 ] || usage; vsix=$2; shift 2 ;;
    --setting) [ $# -ge 2 ] || usage; settings+=("$2"); shift 2 ;;
    *) usage ;;
  esac
done
[ -n "$kubeconfig" ] || usage
[ -f "$kubeconfig" ] || { say "no kubeconfig at $kubeconfig" && exit 1; }
# Absolute before moving to the repository: the paths may be relative to where this was started.
kubeconfig=$(realpath "$kubeconfig")
if [ -n "$vsix" ]; then
  [ -f "$vsix" ] || { say "no package at $vsix" && exit 1; }
  vsix=$(realpath "$vsix")
fi
port=${FLOWLENS_WORKBENCH_PORT:-8080}
dir=${FLOWLENS_WORKBENCH_DIR:-${FLOWLENS_CACHE:-$HOME/.cache/flowlens}/workbench}
mkdir -p "$dir/extensions" "$dir/user-data/User" "$dir/workspace" "$dir/xdg/config" "$dir/xdg/data" "$dir/xdg/cache"
dir=$(realpath "$dir")
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# code-server keeps its own config and state under XDG: in the workbench directory, not in ~.
export XDG_CONFIG_HOME="$dir/xdg/config" XDG_DATA_HOME="$dir/xdg/data" XDG_CACHE_HOME="$dir/xdg/cache"
# Started from inside a VS Code terminal, this would talk to that VS Code instead of starting a server.
unset VSCODE_IPC_HOOK_CLI

code_server=${FLOWLENS_CODE_SERVER:-$(bash scripts/code-server.sh | tail -n 1)}

if [ -z "$vsix" ]; then
  say "packaging the extension (npm run package)"
  npm run --silent package >&2
  vsix=dist/flowlens.vsix
fi
# --force: the persistent directory may hold an older build with the same version number.
"$code_server" --extensions-dir "$dir/extensions" --user-data-dir "$dir/user-data" --install-extension "$vsix" --force >&2

# Merged into the existing settings, so that what the user changed in the workbench stays.
node - "$dir/user-data/User/settings.json" "$kubeconfig" "${settings[@]}" <<'EOF'
const fs = require('node:fs');
const [file, kubeconfig, ...extra] = process.argv.slice(2);
let current = {};
if (fs.existsSync(file)) {
  try {
    current = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    // VS Code allows comments in settings.json; rather than lose them, keep the old file beside the new one.
    fs.copyFileSync(file, `${file}.bak`);
    console.error(`flowlens workbench: ${file} is not plain JSON; kept it as settings.json.bak`);
  }
}
const ours = {
  'flowlens.kubeconfig': kubeconfig,
  'workbench.startupEditor': 'none',
  // Offline there is no marketplace to install recommendations from (e.g. for the YAML files FlowLens writes).
  'extensions.ignoreRecommendations': true,
  // The workbench is for FlowLens: no AI chat side bar taking a third of the window.
  'chat.disableAIFeatures': true,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
};
for (const s of extra) {
  const at = s.indexOf('=');
  if (at <= 0) {
    console.error(`flowlens workbench: --setting ${s}: expected KEY=JSON`);
    process.exit(2);
  }
  try {
    ours[s.slice(0, at)] = JSON.parse(s.slice(at + 1));
  } catch (e) {
    console.error(`flowlens workbench: --setting ${s}: the value is not JSON (${e.message}); quote strings: KEY='"text"'`);
    process.exit(2);
  }
}
fs.writeFileSync(file, JSON.stringify({ ...current, ...ours }, null, 2) + '\n');
EOF

echo "FlowLens workbench: http://127.0.0.1:$port/ (kubeconfig $kubeconfig)"
say "no password (--auth none): it listens on 127.0.0.1 only, but anyone with a shell on this machine can open it."
say "Ctrl-C stops it."
# No login shell to resolve the environment: the extension host gets this one (and stays in this process
# group, so that stopping the group stops everything).
exec "$code_server" --bind-addr "127.0.0.1:$port" --auth none \
  --user-data-dir "$dir/user-data" --extensions-dir "$dir/extensions" \
  --disable-telemetry --disable-update-check --disable-workspace-trust --disable-getting-started-override \
  --vscode-option force-disable-user-env \
  "$dir/workspace"

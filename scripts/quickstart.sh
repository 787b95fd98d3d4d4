#!/usr/bin/env bash
# The main job: classify the example radiology reports with the bundled model (models/radseek-mini,
# trained in-house by scripts/train_bundled.sh) and score them against their gold labels, side by side
# with the rule-based labeler. Installs what it needs, builds radseek, then runs `classify` and `eval`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >&2
BIN=${RADSEEK_BUILD_DIR:-build}/bin/radseek
OUT=${RADSEEK_OUT:-out}
mkdir -p "$OUT"
rm -f "$OUT/quickstart.jsonl" "$OUT/quickstart_rules.jsonl"  # classify appends; a rerun starts afresh
echo "== radseek classify: examples/reports.jsonl, CheXpert labels, the bundled model (reasoning + constrained answer) ==" >&2
"$BIN" classify --labels chexpert --input examples/reports.jsonl --output "$OUT/quickstart.jsonl"
echo "== the same reports with the rule-based labeler (--engine rules), for comparison ==" >&2
"$BIN" classify --engine rules --labels chexpert --input examples/reports.jsonl --output "$OUT/quickstart_rules.jsonl" -q
echo "== radseek eval against examples/gold_chexpert.jsonl (synthetic reports made for this project) ==" >&2
"$BIN" eval --gold examples/gold_chexpert.jsonl --pred "$OUT/quickstart.jsonl" --pred "$OUT/quickstart_rules.jsonl" \
  --md "$OUT/quickstart_eval.md" --html "$OUT/quickstart_eval.html"
echo "Predictions: $OUT/quickstart.jsonl   Report: $OUT/quickstart_eval.html" >&2

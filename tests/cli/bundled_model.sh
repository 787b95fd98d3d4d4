#!/usr/bin/env bash
# No -m: model commands load the bundled model (models/radseek-mini, or $RADSEEK_MODEL), from any
# working directory; `classify` with neither -m nor --engine runs it for labels and for --mc.
#   bundled_model.sh RADSEEK SOURCE_DIR SCRATCH_DIR
set -euo pipefail
radseek=${1:?usage: bundled_model.sh RADSEEK SOURCE_DIR SCRATCH_DIR}
src=${2:?}
scratch=${3:?}
rm -rf "$scratch" && mkdir -p "$scratch"
fails=0
fail() { echo "FAIL $*" >&2; fails=$((fails + 1)); }

head -n 2 "$src/examples/reports.jsonl" > "$scratch/two.jsonl"
head -n 2 "$src/examples/mc_questions.jsonl" > "$scratch/two_mc.jsonl"
cd /  # the bundled model must not depend on the working directory

# 1. $RADSEEK_MODEL names the model: a tiny random one written here.
"$radseek" gen-checkpoint --preset tiny-v3 --with-tokenizer -o "$scratch/tiny" > /dev/null
RADSEEK_MODEL="$scratch/tiny" "$radseek" info > "$scratch/info.txt" || fail "info without -m"
grep -q "deepseek_v3" "$scratch/info.txt" || fail "info without -m did not describe the tiny model"
RADSEEK_MODEL="$scratch/tiny" "$radseek" classify --input "$scratch/two.jsonl" --output "$scratch/out.jsonl" \
  --max-thinking-tokens 4 -q || fail "classify without -m/--engine"
[[ $(grep -c '"engine":"local"' "$scratch/out.jsonl") == 2 ]] || fail "classify did not run the model: $(head -c 300 "$scratch/out.jsonl")"

# 2. A wrong $RADSEEK_MODEL: model commands fail naming it; classify says so and falls back to the rules.
if RADSEEK_MODEL="$scratch/missing" "$radseek" generate --ids 1 -n 1 2> "$scratch/err.txt"; then
  fail "generate with a missing RADSEEK_MODEL succeeded"
fi
grep -q "RADSEEK_MODEL=$scratch/missing" "$scratch/err.txt" || fail "error does not name RADSEEK_MODEL: $(cat "$scratch/err.txt")"
RADSEEK_MODEL="$scratch/missing" "$radseek" classify --input "$scratch/two.jsonl" --output "$scratch/rules.jsonl" -q \
  2> "$scratch/err2.txt" || fail "classify fallback"
grep -q "rule labeler" "$scratch/err2.txt" || fail "classify fallback not announced: $(cat "$scratch/err2.txt")"
[[ $(grep -c '"engine":"rules"' "$scratch/rules.jsonl") == 2 ]] || fail "classify fallback did not use the rules"

# generate --chat drafts with the MTP module: the same ids as without, and the drafts are reported.
for spec in none mtp; do
  RADSEEK_MODEL="$scratch/tiny" "$radseek" generate --chat --prompt hi -n 24 --temperature 0 --speculative $spec --json \
    > "$scratch/chat_$spec.json" || fail "generate --chat --speculative $spec"
done
[[ "$(grep -o '"ids":\[[^]]*\]' "$scratch/chat_none.json")" == "$(grep -o '"ids":\[[^]]*\]' "$scratch/chat_mtp.json")" ]] ||
  fail "generate --chat --speculative mtp changed the output"
grep -q '"drafted"' "$scratch/chat_mtp.json" || fail "generate --chat --speculative mtp: no draft counts"

# 3. The bundled model itself, from the source tree, for both shapes.
if [[ -f "$src/models/radseek-mini/config.json" ]]; then
  env -u RADSEEK_MODEL "$radseek" classify --input "$scratch/two.jsonl" --output "$scratch/b.jsonl" -q || fail "bundled labels"
  [[ $(grep -c '"engine":"local"' "$scratch/b.jsonl") == 2 ]] || fail "bundled labels: not the model"
  env -u RADSEEK_MODEL "$radseek" classify --mc --input "$scratch/two_mc.jsonl" --output "$scratch/bmc.jsonl" -q || fail "bundled mc"
  [[ $(grep -c '"answer":"[A-Z]"' "$scratch/bmc.jsonl") == 2 ]] || fail "bundled mc: no answers"
  # MTP speculative decoding in classify: the same labels and reasoning, and drafts accepted.
  # Every phase: the walk (labels), the walk then the model's answer block, multiple choice.
  head -n 8 "$src/examples/reports.jsonl" > "$scratch/eight.jsonl"
  head -n 8 "$src/examples/mc_questions.jsonl" > "$scratch/eight_mc.jsonl"
  for shape in labels answer mc; do
    case $shape in
      labels) args=(--input "$scratch/eight.jsonl") ;;
      answer) args=(--answer model --input "$scratch/eight.jsonl") ;;
      mc) args=(--mc --input "$scratch/eight_mc.jsonl") ;;
    esac
    for spec in none mtp; do
      rm -f "$scratch/spec_$spec.jsonl"
      env -u RADSEEK_MODEL "$radseek" classify --speculative $spec -t 1 "${args[@]}" \
        --output "$scratch/spec_$spec.jsonl" 2> "$scratch/spec_$spec.txt" || fail "classify $shape --speculative $spec"
      sed -E 's/"(timings|confidence|scores)":(\{[^}]*\}|\[[^]]*\]|[0-9.e-]+)//g' "$scratch/spec_$spec.jsonl" > "$scratch/spec_$spec.cmp"
    done
    grep -q '"error"' "$scratch/spec_mtp.jsonl" && fail "classify $shape --speculative mtp: error records"
    cmp -s "$scratch/spec_none.cmp" "$scratch/spec_mtp.cmp" || fail "classify $shape --speculative mtp changed the output"
    grep -q "drafts accepted" "$scratch/spec_mtp.txt" || fail "$shape: no acceptance reported: $(cat "$scratch/spec_mtp.txt")"
  done
  # serve with no -m and no --ctx-size starts on the bundled model and drafts with its MTP module.
  env -u RADSEEK_MODEL "$radseek" serve --port 0 -t 1 --speculative mtp --audit-log '' 2> "$scratch/serve.txt" &
  serve_pid=$!
  port=""
  for _ in $(seq 1 100); do
    port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$scratch/serve.txt" | grep -o '[0-9]*$' || true)
    [[ -n $port ]] && [[ $(curl -s "localhost:$port/health" 2> /dev/null) == *'"ok"'* ]] && break
    sleep 0.1
  done
  if [[ -z $port ]]; then
    fail "serve did not start: $(cat "$scratch/serve.txt")"
  else
    reply=$(curl -s "localhost:$port/v1/chat/completions" -H 'Content-Type: application/json' \
      -d '{"messages":[{"role":"user","content":"FINDINGS: Small left pleural effusion."}],"max_tokens":40,"temperature":0}')
    [[ $reply == *'"choices"'* ]] || fail "serve: no completion: $reply $(cat "$scratch/serve.txt")"
    drafts=$(curl -s "localhost:$port/metrics" | awk '$1 == "radseek_speculative_drafts_total" { print $2 }')
    [[ ${drafts:-0} -gt 0 ]] || fail "serve --speculative mtp: no drafts in /metrics"
  fi
  kill "$serve_pid" 2> /dev/null; wait "$serve_pid" 2> /dev/null || true
else
  echo "note: $src/models/radseek-mini not present; part 3 not run" >&2
fi
[[ $fails == 0 ]] && echo "bundled model CLI: all checks passed"
exit $((fails > 0))

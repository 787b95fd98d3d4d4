#!/usr/bin/env bash
# End to end on dense models: tiny random Llama 3, R1-Distill-Qwen and Qwen3 folders (dense_make_fixture)
# and Q8_0 GGUF conversions of them, through `radseek info`, `classify --engine local`, `chat` and
# `serve`. The weights are noise: the checks are the plumbing — the architecture wording, a
# constrained answer that parses with one value per label, the reasoning split under a thinking
# budget, a JSON-schema answer that ends at the model's end-of-turn id.
#   e2e.sh RADSEEK MAKE_FIXTURE SCRATCH_DIR
set -euo pipefail
radseek=${1:?usage: e2e.sh RADSEEK MAKE_FIXTURE SCRATCH_DIR}
make_fixture=${2:?}
scratch=${3:?}
rm -rf "$scratch"
mkdir -p "$scratch"

fails=0
fail() { echo "FAIL $*" >&2; fails=$((fails + 1)); }
js() { node -e "const j=JSON.parse(process.argv[1]); $1" "$2"; }  # js EXPR JSON_TEXT

for fam in llama3 r1-distill-qwen qwen3; do
  "$make_fixture" "$scratch/$fam" "$fam" "$scratch/$fam.gguf"
done
models=("$scratch/llama3" "$scratch/llama3.gguf" "$scratch/r1-distill-qwen" "$scratch/r1-distill-qwen.gguf" "$scratch/qwen3")

# --- info: GQA wording, no MLA/MoE lines, full K/V cache bytes (2 layers x 2 KV heads x K,V x head_dim) --
for m in "$scratch/llama3" "$scratch/llama3.gguf"; do
  text=$("$radseek" info -m "$m")
  grep -q 'GQA 4 query heads / 2 KV heads (head_dim 16)' <<< "$text" || fail "info $m: no GQA line: $text"
  grep -qE 'MLA|MoE|routed|latent' <<< "$text" && fail "info $m: DeepSeek wording for a dense model: $text"
  grep -q 'KV cache / token  256 bytes (full K/V of 2 KV heads, BF16; radseek keeps F32: 512); without GQA 512 bytes (2.0x)' <<< "$text" ||
    fail "info $m: KV cache line: $text"
  json=$("$radseek" info -m "$m" --json)
  [[ $(js 'console.log(j.attention.kind, j.attention.kv_heads, j.moe === undefined, j.kv_cache_bytes_per_token.kv_bf16)' "$json") == "GQA 2 true 256" ]] ||
    fail "info --json $m: $json"
done
json=$("$radseek" info -m "$scratch/qwen3" --json)
[[ $(js 'console.log(j.attention.qk_norm, j.attention.head_dim, j.kv_cache_bytes_per_token.kv_bf16)' "$json") == "true 24 384" ]] ||
  fail "info --json qwen3: $json"

# --- classify: every record parses, one value per CheXpert label ---------------------------------------
printf '%s\n' '{"id":"r1","text":"FINDINGS: Small left pleural effusion. No pneumothorax."}' \
  '{"id":"r2","text":"IMPRESSION: Cardiomegaly. Lungs are clear."}' > "$scratch/reports.jsonl"
for m in "${models[@]}"; do
  out="$scratch/classify_$(basename "$m").jsonl"
  if ! "$radseek" classify --engine local -m "$m" --labels chexpert --input "$scratch/reports.jsonl" --output "$out" \
      --max-thinking-tokens 6 --temperature 1 --seed 1 -t 2 -q 2> "$scratch/classify.err"; then
    fail "classify $m: $(cat "$scratch/classify.err")"
    continue
  fi
  [[ $(wc -l < "$out") == 2 ]] || fail "classify $m: $(wc -l < "$out") records"
  while IFS= read -r line; do
    check=$(js 'const v=Object.values(j.labels); console.log(j.error===undefined && v.length===14 &&
      v.every(x=>[1,0,-1,null].includes(x)) && ["closed","budget","loop","eos"].includes(j.reasoning_end))' "$line")
    [[ $check == true ]] || fail "classify $m: record $line"
  done < "$out"
done

# --- chat: one turn, the reasoning budget, a clean exit on /exit -------------------------------------
for m in "$scratch/llama3.gguf" "$scratch/r1-distill-qwen"; do
  if ! printf 'Is there an effusion?\n/exit\n' | "$radseek" chat -m "$m" -n 12 --max-thinking-tokens 3 --temperature 1 --seed 1 -t 2 \
      > "$scratch/chat.out" 2> "$scratch/chat.err"; then
    fail "chat $m: $(cat "$scratch/chat.err")"
    continue
  fi
  stats=$(grep -o '\[[0-9]* reasoning tokens, [0-9]* total' "$scratch/chat.err" || true)
  [[ -n $stats ]] || fail "chat $m: no turn summary: $(cat "$scratch/chat.err")"
  reasoning=$(sed 's/\[\([0-9]*\) reasoning.*/\1/' <<< "$stats")
  # The count includes the forced "\n</think>" (2 tokens here) when the budget of 3 closes the reasoning.
  if [[ $m == *r1-distill* ]]; then (( reasoning >= 1 && reasoning <= 5 )) || fail "chat $m: $reasoning reasoning tokens (budget 3)"
  else [[ $reasoning == 0 ]] || fail "chat $m: a Llama turn has no reasoning, got $reasoning"; fi
done

# --- serve: a JSON-schema answer after a budgeted reasoning, ended by the end-of-turn id -------------
pid=""
stop_server() { if [[ -n "$pid" ]] && kill -0 "$pid" 2> /dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi; pid=""; }
trap stop_server EXIT
for m in "$scratch/r1-distill-qwen.gguf" "$scratch/llama3"; do
  log="$scratch/serve.log"
  : > "$log"
  "$radseek" serve -m "$m" --host 127.0.0.1 --port 0 -t 2 --ctx-size 512 --audit-log '' 2> "$log" &
  pid=$!
  base=""
  for _ in $(seq 1 300); do
    port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -n1 || true)
    if [[ -n "$port" ]] && [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health") == 200 ]]; then
      base="http://127.0.0.1:$port"; break
    fi
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.1
  done
  if [[ -z $base ]]; then fail "serve $m did not start: $(cat "$log")"; stop_server; continue; fi
  body=$(curl -s "$base/v1/chat/completions" -H 'Content-Type: application/json' -d '{
    "messages": [{"role": "user", "content": "Effusion?"}], "max_tokens": 200, "max_reasoning_tokens": 4,
    "temperature": 1, "seed": 3, "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": {
      "type": "object", "properties": {"effusion": {"enum": ["present", "absent"]}}, "required": ["effusion"]}}}}')
  check=$(js 'const c=j.choices[0]; const a=JSON.parse(c.message.content);
    console.log(c.finish_reason, ["present","absent"].includes(a.effusion), (c.message.reasoning_content||"").length>0,
                j.usage.completion_tokens<200)' "$body" 2>&1 || true)
  if [[ $m == *r1-distill* ]]; then want="stop true true true"; else want="stop true false true"; fi
  [[ $check == "$want" ]] || fail "serve $m: want '$want', got '$check' from $body"
  stop_server
done

if (( fails > 0 )); then
  echo "$fails dense e2e check(s) failed" >&2
  exit 1
fi
echo "dense e2e checks passed"

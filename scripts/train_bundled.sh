#!/usr/bin/env bash
# Reproduces the bundled model models/radseek-mini end to end with radseek's own trainer:
#   synthetic corpus (fixed seeds) -> BPE tokenizer -> pretrain -> SFT -> SFT + MTP module -> GRPO
#   -> FP8 export -> held-out eval (SFT and GRPO side by side).
# One command, CPU only (sized for < 2 hours on 2 cores):
#   bash scripts/train_bundled.sh                 # writes models/radseek-mini/
#   RADSEEK_TRAIN_SCALE=0.1 bash scripts/train_bundled.sh   # a 10% run (smoke test of the recipe)
# Environment: RADSEEK_BUILD_DIR (default build), RADSEEK_WORK (default /tmp/radseek-mini-work),
# RADSEEK_MODEL_OUT (default models/radseek-mini), RADSEEK_THREADS (default all cores; on a machine
# shared with other jobs 1 can be faster: the pool's waits suffer when cores are oversubscribed),
# RADSEEK_PRETRAIN_STEPS / RADSEEK_SFT_STEPS / RADSEEK_MTP_STEPS / RADSEEK_GRPO_STEPS (300 / 4500 / 600 / 40;
# about 0.75 s an SFT step on 2 quiet cores), RADSEEK_EVAL_N (held-out reports, 200),
# RADSEEK_FROM_STAGE (skip the stages before it, reusing RADSEEK_WORK's files).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${RADSEEK_BUILD_DIR:-build}/bin/radseek
WORK=${RADSEEK_WORK:-/tmp/radseek-mini-work}
OUT=${RADSEEK_MODEL_OUT:-models/radseek-mini}
THREADS=${RADSEEK_THREADS:-0}
SCALE=${RADSEEK_TRAIN_SCALE:-1}
steps() { awk -v n="$1" -v s="$SCALE" 'BEGIN { v = int(n * s); print (v < 2 ? 2 : v) }'; }
PRE_STEPS=$(steps "${RADSEEK_PRETRAIN_STEPS:-300}")
SFT_STEPS=$(steps "${RADSEEK_SFT_STEPS:-4500}")
MTP_STEPS=$(steps "${RADSEEK_MTP_STEPS:-600}")
GRPO_STEPS=$(steps "${RADSEEK_GRPO_STEPS:-40}")
FROM=${RADSEEK_FROM_STAGE:-1}
EVAL_N=${RADSEEK_EVAL_N:-200}
[ -x "$BIN" ] || { echo "train_bundled: $BIN not found; build first (bash scripts/build.sh)" >&2; exit 2; }
mkdir -p "$WORK" "$OUT"
# stage N TEXT: prints the progress line and returns false (skips the stage) when N < RADSEEK_FROM_STAGE.
stage() { local n=$1; shift; echo "== [$(date +%H:%M:%S)] $n/8 $*" >&2; [ "$n" -ge "$FROM" ]; }

if stage 1 "synthetic corpus (seed 1001: training, seed 2002: held-out evaluation)"; then
"$BIN" synth -n 12000 --seed 1001 --ct-mri-fraction 0.1 -o "$WORK/reports.jsonl"
"$BIN" synth -n 12000 --seed 1001 --ct-mri-fraction 0.1 --sft -o "$WORK/sft.jsonl"
"$BIN" synth -n "$EVAL_N" --seed 2002 --labels chexpert -o "$WORK/heldout_chexpert.jsonl"
"$BIN" synth -n "$EVAL_N" --seed 2002 --labels chestxray14 -o "$WORK/heldout_chestxray14.jsonl"

fi

if stage 2 "tokenizer (byte-level BPE, 2048 ids) on reports and SFT examples"; then
"$BIN" train tokenizer -i "$WORK/reports.jsonl" -i "$WORK/sft.jsonl" --vocab-size 2048 -o "$WORK/tok"

# The architecture: DeepSeek-V3's (MLA with q-LoRA, sigmoid noaux_tc routing with groups, one shared
# expert, a dense first layer) at ~15 M parameters, ~4 M active per token.
cat > "$WORK/config.json" <<'JSON'
{"architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3", "vocab_size": 2048,
 "hidden_size": 256, "intermediate_size": 768, "moe_intermediate_size": 192, "num_hidden_layers": 6,
 "num_attention_heads": 4, "num_key_value_heads": 4, "q_lora_rank": 128, "kv_lora_rank": 64,
 "qk_nope_head_dim": 32, "qk_rope_head_dim": 16, "v_head_dim": 32, "n_routed_experts": 16,
 "n_shared_experts": 1, "num_experts_per_tok": 2, "n_group": 4, "topk_group": 2, "topk_method": "noaux_tc",
 "scoring_func": "sigmoid", "norm_topk_prob": true, "routed_scaling_factor": 2.5, "first_k_dense_replace": 1,
 "moe_layer_freq": 1, "num_nextn_predict_layers": 0, "rms_norm_eps": 1e-6, "rope_theta": 10000,
 "max_position_embeddings": 2048, "tie_word_embeddings": false, "bos_token_id": 0, "eos_token_id": 1,
 "attention_bias": false, "hidden_act": "silu", "torch_dtype": "bfloat16", "radseek_prompt_family": "compact"}
JSON

fi

if stage 3 "pretrain: next-token prediction on the reports ($PRE_STEPS steps)"; then
# The report records serve as {"text": ...} lines as they are (other fields are ignored).
"$BIN" train pretrain --data "$WORK/reports.jsonl" --tokenizer "$WORK/tok" --config "$WORK/config.json" \
  -o "$WORK/pretrain" --steps "$PRE_STEPS" --batch 16 --seq-len 128 --lr 2e-3 --warmup 20 --init-std 0.02 \
  --seed 1 -t "$THREADS" --log-every 10 --dtype f32 2> >(tee "$WORK/pretrain.log" >&2)

fi

if stage 4 "SFT: reasoning + constrained-format answers, loss on the assistant turn ($SFT_STEPS steps)"; then
"$BIN" train sft --data "$WORK/sft.jsonl" --tokenizer "$WORK/tok" --init-from "$WORK/pretrain" \
  -o "$WORK/sft" --steps "$SFT_STEPS" --batch 8 --seq-len 384 --lr 2e-3 --warmup 50 --seed 2 \
  -t "$THREADS" --log-every 10 --save-every 500 --dtype fp8 2> >(tee "$WORK/sft.log" >&2)

fi

if stage 5 "SFT + MTP: DeepSeek-V3's multi-token-prediction module (depth 1, lambda 0.3) trained with the main model ($MTP_STEPS steps)"; then
# The MTP layer starts fresh; the main model continues on the SFT data at a lower learning rate
# (both losses are trained, as in V3's joint objective).
"$BIN" train sft --data "$WORK/sft.jsonl" --tokenizer "$WORK/tok" --init-from "$WORK/sft" \
  -o "$WORK/sft-mtp" --steps "$MTP_STEPS" --batch 8 --seq-len 384 --lr 5e-4 --warmup 20 --seed 5 \
  -t "$THREADS" --log-every 20 --dtype fp8 --mtp-weight 0.3 2> >(tee "$WORK/mtp.log" >&2)

fi

if stage 6 "GRPO: rollouts held to the walk + answer format, reward = F1 of the model's own answer block ($GRPO_STEPS steps)"; then
# Prompts: the training reports (CheXpert labels); 8 reports x 8 rollouts a step; KL to the stage-5 model.
"$BIN" train grpo --data "$WORK/reports.jsonl" --labels chexpert --init-from "$WORK/sft-mtp" -o "$WORK/grpo" \
  --steps "$GRPO_STEPS" --prompts-per-step 8 --group 8 --max-new-tokens 400 --temperature 1.0 \
  --lr 1e-4 --kl-beta 0.04 --seed 7 -t "$THREADS" --dtype fp8 2> >(tee "$WORK/grpo.log" >&2)

fi

if stage 7 "export: FP8 (e4m3, 128x128 blocks) checkpoint + tokenizer + loss curves -> $OUT"; then
for f in config.json model.safetensors tokenizer.json tokenizer_config.json; do cp "$WORK/grpo/$f" "$OUT/$f"; done
mkdir -p "$OUT/eval"
for s in pretrain sft; do  # step,loss from the progress lines
  [ -f "$WORK/$s.log" ] && awk 'BEGIN { print "step,loss" } $1 == "step" { split($2, a, "/"); print a[1] "," $4 }' \
    "$WORK/$s.log" > "$OUT/eval/${s}_loss.csv"
done
[ -f "$WORK/mtp.log" ] && awk 'BEGIN { print "step,loss,mtp_loss" } $1 == "step" { split($2, a, "/"); print a[1] "," $4 "," $6 }' \
  "$WORK/mtp.log" > "$OUT/eval/mtp_loss.csv"
"$BIN" plot --csv "$OUT/eval/pretrain_loss.csv:pretrain (reports)" --log-y --title "radseek-mini: pretraining loss" \
  -o "$OUT/eval/pretrain_loss.svg"
"$BIN" plot --csv "$OUT/eval/sft_loss.csv:SFT (assistant tokens)" --smooth 5 --log-y \
  --title "radseek-mini: SFT loss (moving average of 5 logged steps)" -o "$OUT/eval/sft_loss.svg"
if [ -f "$OUT/eval/mtp_loss.csv" ]; then  # one series per CSV: the main and the MTP loss apart
  cut -d, -f1,2 "$OUT/eval/mtp_loss.csv" > "$WORK/mtp_main.csv"
  cut -d, -f1,3 "$OUT/eval/mtp_loss.csv" | sed '1s/mtp_loss/loss/' > "$WORK/mtp_head.csv"
  "$BIN" plot --csv "$WORK/mtp_main.csv:main model (token i+1)" --csv "$WORK/mtp_head.csv:MTP module (token i+2)" \
    --log-y --title "radseek-mini: MTP stage (lambda 0.3)" -o "$OUT/eval/mtp_loss.svg"
fi
if [ -f "$WORK/grpo.log" ]; then  # step,reward,f1 from "step N/M  reward R (f1 F format 1.000) ..."
  awk 'BEGIN { print "step,reward,f1" } $1 == "step" { split($2, a, "/"); print a[1] "," $4 "," $6 }' \
    "$WORK/grpo.log" > "$OUT/eval/grpo_reward.csv"
  "$BIN" plot --csv "$OUT/eval/grpo_reward.csv:answer-block F1 of the step's rollouts" --y f1 --smooth 5 \
    --title "radseek-mini: GRPO (moving average of 5 steps)" -o "$OUT/eval/grpo_reward.svg"
fi

fi

if stage 8 "evaluation: held-out synthetic reports (seed 2002, never trained on) and examples/"; then
  # classify --family auto reads config.json's radseek_prompt_family (compact): the reasoning walks the
  # report, greedy; labels are read from the walk (--answer walk, the default) or from the model's own
  # answer block (--answer model); the SFT model before GRPO (stage 5's) and the rule labeler run
  # beside them for comparison.
  run_labels() {  # NAME INPUT GOLD LABELS
    local p="$WORK/pred_$1"
    rm -f "$p.jsonl" "${p}_answer_block.jsonl" "${p}_sft.jsonl" "${p}_sft_answer_block.jsonl" "${p}_rules.jsonl"
    "$BIN" classify -m "$OUT" --labels "$4" -t "$THREADS" --input "$2" --output "$p.jsonl" 2>&1 | tail -1 >&2
    "$BIN" classify -m "$OUT" --labels "$4" -t "$THREADS" --answer model --input "$2" --output "${p}_answer_block.jsonl" -q
    "$BIN" classify -m "$WORK/sft-mtp" --labels "$4" -t "$THREADS" --input "$2" --output "${p}_sft.jsonl" -q
    "$BIN" classify -m "$WORK/sft-mtp" --labels "$4" -t "$THREADS" --answer model --input "$2" \
      --output "${p}_sft_answer_block.jsonl" -q
    "$BIN" classify --engine rules --labels "$4" --input "$2" --output "${p}_rules.jsonl" -q
    "$BIN" eval --gold "$3" --pred "$p.jsonl" --pred "${p}_answer_block.jsonl" --pred "${p}_sft.jsonl" \
      --pred "${p}_sft_answer_block.jsonl" --pred "${p}_rules.jsonl" \
      --md "$OUT/eval/$1.md" --svg "$OUT/eval/$1_f1.svg" > /dev/null
    grep -E "^\| pred_" "$OUT/eval/$1.md" | head -5 | sed "s/^/$1: /" >&2
  }
  run_mc() {  # NAME INPUT GOLD
    rm -f "$WORK/pred_$1.jsonl" "$WORK/pred_$1_sft.jsonl"
    "$BIN" classify -m "$OUT" --mc -t "$THREADS" --input "$2" --output "$WORK/pred_$1.jsonl" 2>&1 | tail -1 >&2
    "$BIN" classify -m "$WORK/sft-mtp" --mc -t "$THREADS" --input "$2" --output "$WORK/pred_$1_sft.jsonl" -q
    "$BIN" eval --gold "$3" --pred "$WORK/pred_$1.jsonl" --pred "$WORK/pred_$1_sft.jsonl" --md "$OUT/eval/$1.md" > /dev/null
    grep -E "^\| pred_" "$OUT/eval/$1.md" | head -2 | sed "s/^/$1: /" >&2
  }
  for set in chexpert chestxray14; do
    run_labels "heldout_$set" "$WORK/heldout_$set.jsonl" "$WORK/heldout_$set.jsonl" "$set"
    run_labels "examples_$set" examples/reports.jsonl "examples/gold_$set.jsonl" "$set"
  done
  run_mc heldout_mc "$WORK/heldout_chexpert.jsonl" "$WORK/heldout_chexpert.jsonl"
  run_mc examples_mc examples/mc_questions.jsonl examples/mc_gold.jsonl
fi
echo "== [$(date +%H:%M:%S)] done: $OUT (evaluation reports in $OUT/eval/)" >&2

#!/usr/bin/env bash
# FP8 mixed-precision training (DeepSeek-V3 report §3.3) against BF16 on the same recipe: same seed,
# data, architecture and steps; only `radseek train pretrain --precision` differs. FP8 is simulated
# on the CPU (GEMM inputs quantised to e4m3 with 1x128 activation tiles and 128x128 weight blocks,
# forward and backward; FP32 products, master weights and optimizer; see src/train/fp8_sim.h).
#   bash scripts/fp8_vs_bf16.sh        # ~10 minutes on 2 quiet cores
# Writes under RADSEEK_WORK (default /tmp/radseek-fp8-vs-bf16): bf16.csv, fp8.csv (loss logs),
# loss.svg (both curves, smoothed) and summary.txt, the one line also printed at the end:
# the final smoothed losses and the relative gap |fp8 - bf16| / bf16. Exit status 1 when the gap
# is 0.5% or more (the issue's bound; DeepSeek reports < 0.25% at scale).
# Environment: RADSEEK_BUILD_DIR (default build), RADSEEK_STEPS (default 300), RADSEEK_SMOOTH (moving
# average window and the number of final steps averaged, default 20), RADSEEK_THREADS (0: all cores).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${RADSEEK_BUILD_DIR:-build}/bin/radseek
WORK=${RADSEEK_WORK:-/tmp/radseek-fp8-vs-bf16}
STEPS=${RADSEEK_STEPS:-300}
SMOOTH=${RADSEEK_SMOOTH:-20}
THREADS=${RADSEEK_THREADS:-0}
[ -x "$BIN" ] || { echo "fp8_vs_bf16: $BIN not found; build first (bash scripts/build.sh)" >&2; exit 2; }
mkdir -p "$WORK"
log() { echo "== [$(date +%H:%M:%S)] $*" >&2; }

log "synthetic corpus and tokenizer"
"$BIN" synth -n 3000 --seed 1001 -o "$WORK/reports.jsonl"
"$BIN" train tokenizer -i "$WORK/reports.jsonl" --vocab-size 1024 -o "$WORK/tok"
# DeepSeek-V3's architecture, small: widths chosen so the FP8 groups matter (hidden 256 = two
# 128-column tiles; q-LoRA 128; MoE experts 192 = a full and a ragged tile; kv latent 64, ragged).
cat > "$WORK/config.json" <<'JSON'
{"architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3", "vocab_size": 1024,
 "hidden_size": 256, "intermediate_size": 512, "moe_intermediate_size": 192, "num_hidden_layers": 3,
 "num_attention_heads": 4, "num_key_value_heads": 4, "q_lora_rank": 128, "kv_lora_rank": 64,
 "qk_nope_head_dim": 32, "qk_rope_head_dim": 16, "v_head_dim": 32, "n_routed_experts": 8,
 "n_shared_experts": 1, "num_experts_per_tok": 2, "n_group": 4, "topk_group": 2, "topk_method": "noaux_tc",
 "scoring_func": "sigmoid", "norm_topk_prob": true, "routed_scaling_factor": 2.5, "first_k_dense_replace": 1,
 "moe_layer_freq": 1, "num_nextn_predict_layers": 0, "rms_norm_eps": 1e-6, "rope_theta": 10000,
 "max_position_embeddings": 2048, "tie_word_embeddings": false, "bos_token_id": 0, "eos_token_id": 1,
 "attention_bias": false, "hidden_act": "silu", "torch_dtype": "bfloat16"}
JSON

for p in bf16 fp8; do
  log "pretrain --precision $p ($STEPS steps)"
  "$BIN" train pretrain --data "$WORK/reports.jsonl" --tokenizer "$WORK/tok" --config "$WORK/config.json" \
    -o "$WORK/$p" --steps "$STEPS" --batch 8 --seq-len 128 --lr 2e-3 --warmup 20 --seed 1 -t "$THREADS" \
    --log-every 50 --dtype f32 --precision "$p" --loss-log "$WORK/$p.csv"
done

"$BIN" plot --csv "$WORK/bf16.csv:BF16" --csv "$WORK/fp8.csv:FP8 (e4m3, 1x128 / 128x128 scales)" --y loss \
  --smooth "$SMOOTH" --log-y --title "Pretraining loss: FP8 vs BF16 GEMM inputs (same recipe, seed 1)" -o "$WORK/loss.svg"

# Mean of the last SMOOTH losses of a log (the smoothed curve's final value).
final() { awk -F, -v n="$SMOOTH" 'NR > 1 { v[NR] = $2; last = NR } END {
  s = 0; k = 0; for (i = last; i > 1 && k < n; --i) { s += v[i]; ++k } printf "%.5f", s / k }' "$1"; }
BF=$(final "$WORK/bf16.csv")
FP=$(final "$WORK/fp8.csv")
awk -v b="$BF" -v f="$FP" -v steps="$STEPS" -v n="$SMOOTH" -v svg="$WORK/loss.svg" 'BEGIN {
  gap = (f > b ? f - b : b - f) / b * 100
  printf "fp8_vs_bf16: %d steps, final loss (mean of last %d) bf16 %s fp8 %s, gap |fp8-bf16|/bf16 = %.3f%% " \
         "(DeepSeek-V3: < 0.25%%; required < 0.5%%): %s; chart %s\n", steps, n, b, f, gap, gap < 0.5 ? "PASS" : "FAIL", svg
  exit gap < 0.5 ? 0 : 1 }' | tee "$WORK/summary.txt"

// A training run (`radseek train pretrain|sft`): data, model, AdamW with warm-up + cosine, gradient
// clipping, auxiliary-loss-free load balancing, periodic trainer state for resume, and at the end an
// HF-layout checkpoint (with the tokenizer files) that the engine loads.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "model/checkpoint_gen.h"
#include "model/context.h"
#include "train/data.h"
#include "train/optimizer.h"

namespace radseek::train {

enum class Stage { kPretrain, kSft };

struct StepReport {
  int64_t step = 0, total_steps = 0;
  double loss = 0.0, lr = 0.0, grad_norm = 0.0;
  double tokens_per_s = 0.0;  // counted (target) tokens per second of this run
  double eta_s = 0.0;
  std::vector<int64_t> expert_load;  // [moe layers · E] this step
  std::optional<double> mtp_loss;    // the MTP module's CE (token i+2) when it is trained
};

struct TrainRunOptions {
  Stage stage = Stage::kPretrain;
  std::string data;           // JSONL
  std::string tokenizer_dir;  // folder with tokenizer.json (+ tokenizer_config.json)
  std::string out_dir;        // checkpoint + trainer state
  nlohmann::json config;      // architecture when starting fresh (config.json content)
  std::string init_from = {}; // HF checkpoint to start from instead (e.g. sft after pretrain)
  bool resume = false;        // continue from out_dir's trainer state
  int64_t steps = 100, batch = 8, seq_len = 128;
  LrSchedule lr = {};         // total_steps is set from `steps`
  AdamWOptions adam = {};
  double clip = 1.0;
  double init_std = 0.02;
  double bias_update_speed = 1e-3;  // γ of the load-balancing bias update (V3 report: 0.001)
  // λ of the multi-token-prediction loss (V3 report §2.2: 0.3, then 0.1). > 0 trains an MTP module
  // of depth 1 (fresh, or from init_from when it has one) and exports it for `--speculative mtp`.
  double mtp_weight = 0.0;
  uint64_t seed = 1;
  int threads = 0;            // 0: all cores
  int64_t save_every = 0;     // trainer state every N steps (0: only at the end)
  int64_t stop_at = 0;        // end this run after this step, as an interruption would (0: run to `steps`)
  model::WeightFormat format = model::WeightFormat::kBF16;
  // Number format of the GEMM inputs (simulated, train/fp8_sim.h); weights and optimizer stay FP32.
  model::TrainGemmPrecision precision = model::TrainGemmPrecision::kF32;
  std::string loss_log = {};  // CSV of step,loss,lr,grad_norm (train/loss_log.h); appended on resume
  SftTargets sft_targets = SftTargets::kAssistant;  // sft: train the whole assistant turn or the answer only
  std::function<void(const StepReport&)> on_step = {};
};

struct TrainRunResult {
  std::vector<double> losses;  // per step of this run
  std::vector<double> mtp_losses;  // per step of this run, when MTP is trained
  int64_t final_step = 0;
};

Expected<TrainRunResult> run_training(const TrainRunOptions& options);

}  // namespace radseek::train

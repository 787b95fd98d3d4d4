// `radseek train grpo`: group relative policy optimisation with verifiable rewards (DeepSeekMath
// §4.1, DeepSeek-R1 §2.2). Each step takes P prompts in a seeded order, samples G completions per
// prompt from the current policy with the engine, scores them with the caller's reward, and makes
// one policy-gradient update with a KL penalty to a frozen reference model.
//
// The update is on-policy (one update per sample batch), so the PPO ratio is 1 and the clipped
// objective reduces to −A·log π(o_t). With the GRPO paper's k3 estimator of KL(π‖π_ref),
// k3 = r − log r − 1 with r = π_ref(o_t)/π(o_t), the per-token objective −A·log π(o_t) + β·k3 has
// the gradient (−A + β(1 − r)) w.r.t. log π(o_t): a cross-entropy on the completion tokens with the
// per-token weight A − β(1 − r) (Batch::weights). Each sequence's sum is divided by its completion
// length and by the number of sequences trained in the step (GRPO's 1/G · 1/|o_i| normalisation).
//
// Advantages are group-normalised: A_i = (r_i − mean) / (std + eps) over the G completions of one
// prompt (population std). A group whose rewards are all equal carries no signal and is skipped
// (no gradient, no KL term). log π comes from the sampling pass (the engine runs the FP32 policy
// exported at the start of the step, temperature 1 log-softmax, before any masking); log π_ref from
// a trainer forward with the reference parameters.
//
// A policy with an MTP module keeps it: the module is loaded, carried through the run untouched
// (not run, no gradient) and exported with the policy, so speculative decoding still has it.
//
// The routing correction bias stays as initialised (no load balancing during GRPO: a few hundred
// sampled sequences a step are a noisy load signal, and the reference routes with the same bias).
// The policy is exported each step as an F32 checkpoint into OUT/rollout_policy and loaded by a
// fresh engine; on the radseek-mini sizes this is a small share of a step (GrpoStepReport times it).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "engine/constrained.h"
#include "model/checkpoint_gen.h"
#include "train/optimizer.h"
#include "train/train_model.h"

namespace radseek::train {

struct RewardValue {
  double total = 0.0;
  std::vector<std::pair<std::string, double>> components = {};  // named parts, for the log only
};

// prompt: index into GrpoOptions::prompts; completion: the sampled ids without a final EOS.
using RewardFn = std::function<RewardValue(int64_t prompt, std::span<const int32_t> completion)>;

struct GrpoStepReport {
  int64_t step = 0, total_steps = 0;
  double mean_reward = 0.0;
  std::vector<std::pair<std::string, double>> components;  // means over the step's completions
  double zero_advantage_groups = 0.0;  // fraction of groups skipped (all rewards equal)
  double kl = 0.0;                     // mean k3 over trained completion tokens
  double completion_tokens = 0.0;      // mean completion length (EOS included when sampled)
  double lr = 0.0, grad_norm = 0.0;
  double export_s = 0.0, sample_s = 0.0, update_s = 0.0;  // this step's phases
  double eta_s = 0.0;
};

struct GrpoOptions {
  std::string init_from;  // HF checkpoint the policy starts from (the SFT output)
  std::string ref;        // frozen reference model (empty: init_from)
  std::string out_dir;    // checkpoint + trainer state (+ rollout_policy scratch folder)
  bool resume = false;    // continue from out_dir's trainer state
  std::vector<std::vector<int32_t>> prompts;  // token ids, ready to continue (chat template applied)
  RewardFn reward;
  std::vector<int32_t> banned_ids = {};  // never sampled (ids without text: vocabulary padding)
  // Per prompt (empty, or one per prompt; null: free): the format the whole completion is held to
  // while sampling (engine::ConstrainedDecoder: tokens that leave it are masked, EOS is forced once
  // it is complete). The policy gradient and the KL use the model's unmasked log-probabilities.
  std::vector<std::shared_ptr<const engine::TextConstraint>> formats = {};
  int64_t steps = 20, prompts_per_step = 4, group = 4, max_new_tokens = 256;
  float temperature = 1.0f;
  double kl_beta = 0.04;  // DeepSeekMath §4.2 β
  double adv_eps = 1e-4;
  LrSchedule lr = {};     // total_steps is set from `steps`
  AdamWOptions adam = {.beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = 0.0};
  double clip = 1.0;
  uint64_t seed = 1;
  int threads = 0;          // 0: all cores
  int64_t save_every = 0;   // trainer state every N steps (0: only at the end)
  int64_t stop_at = 0;      // end this run after this step, as an interruption would (0: run to `steps`)
  model::WeightFormat format = model::WeightFormat::kBF16;
  std::function<void(const GrpoStepReport&)> on_step = {};
};

struct GrpoResult {
  std::vector<double> mean_rewards;  // per step of this run
  int64_t final_step = 0;
};

Expected<GrpoResult> run_grpo(const GrpoOptions& options);

// A_i = (r_i − mean) / (std + eps) within each run of `group` consecutive rewards; all-equal groups
// (spread below 1e-12) get exact zeros.
std::vector<double> group_advantages(const std::vector<double>& rewards, int64_t group, double eps);

// Prompt indices for positions first .. first+count of the seeded order: a fresh shuffle of all n
// prompts per epoch (epoch = position / n), so a resumed run continues the same sequence.
std::vector<int64_t> prompt_order(int64_t n, uint64_t seed, int64_t first, int64_t count);

// One completion and the policy's log-probabilities of its tokens when it was sampled.
struct Rollout {
  int64_t prompt = 0;
  std::vector<int32_t> ids;   // [len] sampled ids, EOS included when it ended the completion
  std::vector<float> logp;    // [len] log π(id) at temperature 1
  // [len] held rollouts: 1 where the format left a choice (two or more allowed tokens). Only those
  // tokens carry the advantage; forced text (a sentence the walk copies) keeps only the KL term, as
  // its probability says nothing about the choices the reward judges. Empty: every token is a choice.
  std::vector<uint8_t> chose;
  bool eos = false;
};

// The rows of one group: prompt + completion per row, the completion tokens as targets (row b's
// targets, in order, are rollouts[b].ids), padded with pad_id (no target) to the longest row.
Batch group_batch(const std::vector<std::vector<int32_t>>& prompts, std::span<const Rollout> rollouts, int32_t pad_id);

struct GrpoWeightArgs {
  std::span<const Rollout> rollouts;   // [G] the group, as passed to group_batch
  std::span<const double> advantages;  // [G]
  std::span<const double> logp_ref;    // [counted targets] reference log-probs, in row order
  double kl_beta = 0.0;
  double seq_scale = 1.0;              // 1 / sequences trained this step
};
// Sets batch.weights: coefficient (A − β(1 − r)) · seq_scale / |o_i| per completion token, times the
// counted targets (TrainModel divides its sum by them). Returns Σ k3 over the tokens.
double set_grpo_weights(Batch& batch, const GrpoWeightArgs& a);

}  // namespace radseek::train

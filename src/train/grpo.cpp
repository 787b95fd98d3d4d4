#include "train/grpo.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <random>
#include <thread>

#include "base/mapped_file.h"
#include "base/timer.h"
#include "engine/engine.h"
#include "model/model.h"
#include "train/checkpoint_io.h"

namespace radseek::train {
namespace {

// The spread below which a group's rewards count as all equal (rewards are O(1) scores).
constexpr double kEqualRewards = 1e-12;

uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b) {
  // splitmix64 over the three words: nearby steps and indices give unrelated sampler streams.
  uint64_t z = seed ^ (a * 0x9E3779B97F4A7C15ull) ^ (b * 0xBF58476D1CE4E5B9ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The policy's architecture as config.json: the init checkpoint's, without quantization (the
// trainer holds FP32) or MTP layers (not trained here, so none are written).
Expected<nlohmann::json> policy_config(const std::string& dir) {
  auto text = read_text_file(dir + "/config.json");
  if (!text) return text.error();
  nlohmann::json c = nlohmann::json::parse(*text, nullptr, false);
  if (c.is_discarded() || !c.is_object()) return make_error(ErrorCode::kParse, dir + "/config.json: not a JSON object");
  c.erase("quantization_config");
  return c;
}

Status copy_tokenizer(const std::string& from, const std::string& to) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) {
    if (!fs::exists(fs::path(from) / f) || fs::equivalent(fs::path(from), fs::path(to), ec)) continue;
    fs::copy_file(fs::path(from) / f, fs::path(to) / f, fs::copy_options::overwrite_existing, ec);
    if (ec) return make_error(ErrorCode::kIo, (fs::path(to) / f).string() + ": copy failed: " + ec.message());
  }
  return {};
}

Status validate(const GrpoOptions& o) {
  auto bad = [](const std::string& m) { return make_error(ErrorCode::kInvalidArgument, "grpo: " + m); };
  if (o.prompts.empty()) return bad("no prompts");
  for (size_t i = 0; i < o.prompts.size(); ++i)
    if (o.prompts[i].empty()) return bad("prompt " + std::to_string(i) + " is empty");
  if (!o.reward) return bad("no reward function");
  if (o.group < 2) return bad("--group must be at least 2 (advantages compare completions of one prompt)");
  if (o.prompts_per_step < 1 || o.max_new_tokens < 1 || o.steps < 1) return bad("prompts per step, max new tokens and steps must be >= 1");
  if (!(o.temperature > 0.0f)) return bad("--temperature must be > 0 (GRPO samples)");
  if (o.kl_beta < 0.0) return bad("--kl-beta must be >= 0");
  if (!o.formats.empty() && o.formats.size() != o.prompts.size()) return bad("formats: one per prompt (or none)");
  return {};
}

// log π(id) from raw logits [V] (temperature 1, no masking).
float log_prob(const float* logits, int64_t V, int32_t id) {
  return static_cast<float>(logits[id] - engine::log_sum_exp(logits, V));
}

struct SampleArgs {
  const std::vector<std::vector<int32_t>>* prompts = nullptr;
  std::span<const int64_t> chosen;  // [P] prompt indices
  const GrpoOptions* o = nullptr;
  int64_t step = 0;
};

// P·G completions, all decoded together: each step feeds every unfinished sequence in one batch
// (every weight read once per token position), each with its own seeded sampler.
Expected<std::vector<Rollout>> sample_rollouts(const engine::Engine& e, const SampleArgs& a) {
  const GrpoOptions& o = *a.o;
  const int64_t V = e.model().config().vocab_size, G = o.group, n = static_cast<int64_t>(a.chosen.size()) * G;
  const std::vector<int32_t> eos = e.eos_ids();
  std::vector<Rollout> out(static_cast<size_t>(n));
  std::vector<std::unique_ptr<engine::Session>> sess(static_cast<size_t>(n));
  std::vector<engine::Sampler> samplers;
  for (size_t p = 0; p < a.chosen.size(); ++p) {
    const std::vector<int32_t>& prompt = (*a.prompts)[a.chosen[p]];
    const int64_t cap = static_cast<int64_t>(prompt.size()) + o.max_new_tokens;
    engine::Session base(e.model(), cap);
    RADSEEK_TRY(e.feed(base, prompt));
    for (int64_t g = 0; g < G; ++g) {
      const size_t i = p * G + g;
      sess[i] = std::make_unique<engine::Session>(e.model(), cap);
      RADSEEK_TRY(sess[i]->copy_prefix_from(base, static_cast<int64_t>(prompt.size())));
      std::copy_n(base.last_logits(), V, sess[i]->logits_buffer().data());
      out[i].prompt = a.chosen[p];
      samplers.emplace_back(engine::SamplingParams{.temperature = o.temperature, .seed = mix_seed(o.seed, a.step, i)}, V);
    }
  }
  std::vector<std::unique_ptr<engine::ConstrainedDecoder>> held(static_cast<size_t>(n));
  if (!o.formats.empty() && e.tokenizer() == nullptr)
    return make_error(ErrorCode::kInvalidArgument, "GRPO: formats need the policy's tokenizer.json");
  for (int64_t i = 0; i < n; ++i) {
    const auto* c = o.formats.empty() ? nullptr : o.formats[static_cast<size_t>(out[i].prompt)].get();
    if (c == nullptr) continue;
    held[i] = std::make_unique<engine::ConstrainedDecoder>(engine::ConstrainedDecoderOptions{
        .constraint = c, .tokenizer = e.tokenizer(), .vocab_size = V, .top_n = 16, .first_acceptable_only = false,
        .max_tokens = o.max_new_tokens, .end_ids = eos});
  }
  model::Scratch scratch;
  std::vector<float> masked(static_cast<size_t>(V));
  std::vector<int32_t> next(static_cast<size_t>(n));
  for (int64_t t = 0; t < o.max_new_tokens; ++t) {
    std::vector<engine::Engine::BatchItem> items;
    for (int64_t i = 0; i < n; ++i) {
      Rollout& r = out[i];
      if (r.eos) continue;  // unfinished rows have exactly t ids here
      const float* logits = sess[i]->last_logits();
      std::copy_n(logits, V, masked.data());
      for (int32_t id : o.banned_ids) masked[id] = -1e30f;
      if (held[i]) {
        held[i]->apply(r.ids, masked.data());
        r.chose.push_back(std::count_if(masked.begin(), masked.end(), [](float x) { return x > -1e29f; }) >= 2);
      }
      const int32_t id = samplers[i].sample(masked.data());
      if (held[i]) held[i]->observe(id);
      r.ids.push_back(id);
      r.logp.push_back(log_prob(logits, V, id));
      r.eos = std::find(eos.begin(), eos.end(), id) != eos.end();
      if (r.eos || t + 1 == o.max_new_tokens) continue;
      next[i] = id;
      items.push_back({.session = sess[i].get(), .tokens = std::span<const int32_t>(&next[i], 1)});
    }
    if (items.empty()) break;
    RADSEEK_TRY(e.feed_batch(scratch, items));
  }
  return out;
}

struct StepStats {
  double kl_sum = 0.0;
  int64_t kl_tokens = 0;
  int64_t sequences = 0;
};

struct UpdateArgs {
  const Context* ctx = nullptr;
  TrainModel<float>* model = nullptr;
  const std::vector<float>* ref_params = nullptr;
  const std::vector<float>* params = nullptr;
  const std::vector<std::vector<int32_t>>* prompts = nullptr;
  std::span<const Rollout> rollouts;
  std::span<const double> advantages;
  int64_t group = 0;
  double kl_beta = 0.0;
  int32_t pad_id = 0;
};

// Reference log-probs of the counted targets of the model's last forward, in row order.
std::vector<double> target_logprobs(const TrainModel<float>& m, const Batch& b) {
  const int64_t V = m.config().vocab_size;
  std::vector<double> out;
  const std::vector<float>& logits = m.logits();
  for (int64_t n = 0; n < b.B * b.S; ++n) {
    if (b.targets[n] < 0) continue;
    const float* row = logits.data() + static_cast<int64_t>(out.size()) * V;
    out.push_back(row[b.targets[n]] - engine::log_sum_exp(row, V));
  }
  return out;
}

// Gradients of the step's GRPO objective accumulated into grads, one group per micro-batch.
StepStats policy_update(const UpdateArgs& a, std::vector<float>& grads) {
  StepStats st;
  const int64_t groups = static_cast<int64_t>(a.rollouts.size()) / a.group;
  std::vector<int64_t> live;
  for (int64_t g = 0; g < groups; ++g) {
    const auto adv = a.advantages.subspan(g * a.group, a.group);
    if (std::any_of(adv.begin(), adv.end(), [](double x) { return x != 0.0; })) live.push_back(g);
  }
  st.sequences = static_cast<int64_t>(live.size()) * a.group;
  for (int64_t g : live) {
    const auto rolls = a.rollouts.subspan(g * a.group, a.group);
    Batch b = group_batch(*a.prompts, rolls, a.pad_id);
    a.model->forward(*a.ctx, a.ref_params->data(), b);
    const std::vector<double> ref = target_logprobs(*a.model, b);
    st.kl_sum += set_grpo_weights(b, {.rollouts = rolls, .advantages = a.advantages.subspan(g * a.group, a.group),
                                      .logp_ref = ref, .kl_beta = a.kl_beta,
                                      .seq_scale = 1.0 / static_cast<double>(st.sequences)});
    st.kl_tokens += static_cast<int64_t>(ref.size());
    a.model->forward(*a.ctx, a.params->data(), b);
    a.model->backward(*a.ctx, a.params->data(), grads.data());
  }
  return st;
}

struct RunState {
  nlohmann::json config;
  format::ModelConfig cfg;
  ParamLayout layout;
  TrainerState st;
  std::vector<float> ref_params;
};

Expected<RunState> open_run(const GrpoOptions& o) {
  auto cfgj = policy_config(o.init_from);
  if (!cfgj) return cfgj.error();
  auto cfg = format::parse_model_config(cfgj->dump(), o.init_from + "/config.json");
  if (!cfg) return cfg.error();
  RunState rs{.config = *cfgj, .cfg = *cfg, .layout = make_param_layout(*cfg, cfg->num_nextn_predict_layers > 0),
               .st = {}, .ref_params = {}};
  auto ref = load_hf_params(o.ref.empty() ? o.init_from : o.ref, rs.layout);
  if (!ref) return ref.error();
  rs.ref_params = std::move(*ref);
  if (o.resume) {
    auto s = load_trainer_state(o.out_dir, rs.layout);
    if (!s) return s.error();
    rs.st = std::move(*s);
  } else {
    auto p = o.ref.empty() ? Expected<std::vector<float>>(rs.ref_params) : load_hf_params(o.init_from, rs.layout);
    if (!p) return p.error();
    rs.st.params = std::move(*p);
    rs.st.exp_avg.assign(rs.layout.total, 0.0f);
    rs.st.exp_avg_sq.assign(rs.layout.total, 0.0f);
  }
  rs.st.meta = {{"stage", "grpo"}, {"seed", o.seed}, {"init_from", o.init_from}, {"ref", o.ref.empty() ? o.init_from : o.ref},
                {"prompts_per_step", o.prompts_per_step}, {"group", o.group}, {"max_new_tokens", o.max_new_tokens},
                {"temperature", o.temperature}, {"kl_beta", o.kl_beta}, {"steps", o.steps}, {"peak_lr", o.lr.peak}};
  return rs;
}

// Rewards of every rollout, and the step's means of the reward and its components.
std::vector<double> score(const GrpoOptions& o, const std::vector<Rollout>& rolls, GrpoStepReport& rep) {
  std::vector<double> rewards;
  std::vector<std::pair<std::string, double>> comp;
  for (const Rollout& r : rolls) {
    const size_t len = r.ids.size() - (r.eos ? 1 : 0);
    const RewardValue v = o.reward(r.prompt, std::span<const int32_t>(r.ids.data(), len));
    rewards.push_back(v.total);
    for (const auto& [name, x] : v.components) {
      auto it = std::find_if(comp.begin(), comp.end(), [&](const auto& c) { return c.first == name; });
      if (it == comp.end()) comp.emplace_back(name, x);
      else it->second += x;
    }
    rep.completion_tokens += static_cast<double>(r.ids.size());
  }
  const double n = static_cast<double>(rolls.size());
  for (auto& c : comp) c.second /= n;
  rep.components = std::move(comp);
  rep.mean_reward = std::accumulate(rewards.begin(), rewards.end(), 0.0) / n;
  rep.completion_tokens /= n;
  return rewards;
}

struct Loop {
  const GrpoOptions& o;
  RunState& rs;
  Context ctx;
  TrainModel<float> model;
  std::vector<float> grads;
  std::string scratch_dir;
  int32_t pad_id = 0;
};

// The current policy as an F32 checkpoint in the scratch folder, loaded by a fresh engine that
// samples the step's completions (and is released before the update).
Expected<std::vector<Rollout>> sample_policy(Loop& L, const SampleArgs& a, GrpoStepReport& rep) {
  Timer t;
  RADSEEK_TRY(export_hf_checkpoint({.dir = L.scratch_dir, .config = L.rs.config, .format = model::WeightFormat::kF32,
                                    .layout = &L.rs.layout, .params = L.rs.st.params.data()}));
  // Held rollouts decode their text as they go (the formats are text), so the policy needs the tokenizer.
  if (!L.o.formats.empty()) RADSEEK_TRY(copy_tokenizer(L.o.init_from, L.scratch_dir));
  auto eng = engine::Engine::load({.model_dir = L.scratch_dir, .threads = L.o.threads, .precision = kernels::ActPrecision::kF32,
                                   .attention = model::AttentionMode::kAuto, .isa = std::nullopt});
  if (!eng) return eng.error();
  rep.export_s = t.seconds();
  t.reset();
  auto rolls = sample_rollouts(**eng, a);
  rep.sample_s = t.seconds();
  return rolls;
}

// Export, sample, score, update: one GRPO step.
Expected<GrpoStepReport> grpo_step(Loop& L, int64_t step, const LrSchedule& sched) {
  const GrpoOptions& o = L.o;
  TrainerState& st = L.rs.st;
  GrpoStepReport rep;
  rep.step = step;
  rep.total_steps = o.steps;
  Timer t;
  const int64_t n = static_cast<int64_t>(o.prompts.size());
  const std::vector<int64_t> chosen = prompt_order(n, o.seed, st.examples_seen, o.prompts_per_step);
  st.examples_seen += o.prompts_per_step;
  auto rolls = sample_policy(L, {.prompts = &o.prompts, .chosen = chosen, .o = &o, .step = step}, rep);
  if (!rolls) return rolls.error();
  t.reset();
  t.reset();
  const std::vector<double> rewards = score(o, *rolls, rep);
  const std::vector<double> adv = group_advantages(rewards, o.group, o.adv_eps);
  std::fill(L.grads.begin(), L.grads.end(), 0.0f);
  const StepStats ss = policy_update({.ctx = &L.ctx, .model = &L.model, .ref_params = &L.rs.ref_params, .params = &st.params,
                                      .prompts = &o.prompts, .rollouts = *rolls, .advantages = adv, .group = o.group,
                                      .kl_beta = o.kl_beta, .pad_id = L.pad_id},
                                     L.grads);
  const int64_t groups = o.prompts_per_step;
  rep.zero_advantage_groups = 1.0 - static_cast<double>(ss.sequences / o.group) / static_cast<double>(groups);
  rep.kl = ss.kl_tokens > 0 ? ss.kl_sum / static_cast<double>(ss.kl_tokens) : 0.0;
  rep.lr = sched.at(step);
  if (ss.sequences > 0) {  // no signal at all: no optimiser step (moments and weights stay)
    rep.grad_norm = clip_grad_norm(L.grads, o.clip);
    adamw_step(L.rs.layout, o.adam, step, rep.lr, L.grads, st.params, st.exp_avg, st.exp_avg_sq);
  }
  rep.update_s = t.seconds();
  st.step = step;
  return rep;
}

}  // namespace

std::vector<double> group_advantages(const std::vector<double>& rewards, int64_t group, double eps) {
  std::vector<double> adv(rewards.size(), 0.0);
  for (size_t g0 = 0; g0 + static_cast<size_t>(group) <= rewards.size(); g0 += static_cast<size_t>(group)) {
    const auto first = rewards.begin() + static_cast<std::ptrdiff_t>(g0), last = first + group;
    const auto [lo, hi] = std::minmax_element(first, last);
    if (*hi - *lo < kEqualRewards) continue;
    const double mean = std::accumulate(first, last, 0.0) / static_cast<double>(group);
    double var = 0.0;
    for (auto it = first; it != last; ++it) var += (*it - mean) * (*it - mean);
    const double sd = std::sqrt(var / static_cast<double>(group));
    for (int64_t i = 0; i < group; ++i) adv[g0 + i] = (rewards[g0 + i] - mean) / (sd + eps);
  }
  return adv;
}

std::vector<int64_t> prompt_order(int64_t n, uint64_t seed, int64_t first, int64_t count) {
  std::vector<int64_t> out;
  std::vector<int64_t> perm;
  int64_t epoch = -1;
  for (int64_t pos = first; pos < first + count; ++pos) {
    if (pos / n != epoch) {
      epoch = pos / n;
      perm.resize(static_cast<size_t>(n));
      std::iota(perm.begin(), perm.end(), int64_t{0});
      std::mt19937_64 rng(mix_seed(seed, static_cast<uint64_t>(epoch), 0x6772706fu));
      std::shuffle(perm.begin(), perm.end(), rng);
    }
    out.push_back(perm[static_cast<size_t>(pos % n)]);
  }
  return out;
}

Batch group_batch(const std::vector<std::vector<int32_t>>& prompts, std::span<const Rollout> rollouts, int32_t pad_id) {
  Batch b;
  b.B = static_cast<int64_t>(rollouts.size());
  for (const Rollout& r : rollouts)
    b.S = std::max<int64_t>(b.S, static_cast<int64_t>(prompts[r.prompt].size() + r.ids.size()) - 1);
  b.tokens.assign(static_cast<size_t>(b.B * b.S), pad_id);
  b.targets.assign(static_cast<size_t>(b.B * b.S), -1);
  for (int64_t row = 0; row < b.B; ++row) {
    const Rollout& r = rollouts[row];
    const std::vector<int32_t>& p = prompts[r.prompt];
    std::vector<int32_t> seq(p);
    seq.insert(seq.end(), r.ids.begin(), r.ids.end());
    // Position i predicts seq[i + 1]: the completion's tokens are the targets of positions |p|-1 ...
    for (size_t i = 0; i + 1 < seq.size(); ++i) {
      b.tokens[row * b.S + static_cast<int64_t>(i)] = seq[i];
      if (i + 1 >= p.size()) b.targets[row * b.S + static_cast<int64_t>(i)] = seq[i + 1];
    }
  }
  return b;
}

double set_grpo_weights(Batch& b, const GrpoWeightArgs& a) {
  b.weights.assign(b.tokens.size(), 0.0f);
  const double counted = static_cast<double>(a.logp_ref.size());
  double kl = 0.0;
  size_t k = 0;  // index into the counted targets
  for (int64_t row = 0; row < b.B; ++row) {
    const Rollout& r = a.rollouts[row];
    const double per_seq = a.seq_scale / static_cast<double>(r.ids.size());
    size_t t = 0;
    for (int64_t s = 0; s < b.S; ++s) {
      const int64_t n = row * b.S + s;
      if (b.targets[n] < 0) continue;
      const double advantage = r.chose.empty() || r.chose[t] ? a.advantages[row] : 0.0;
      const double log_ratio = a.logp_ref[k++] - static_cast<double>(r.logp[t++]);  // log(π_ref/π)
      const double ratio = std::exp(log_ratio);
      kl += ratio - log_ratio - 1.0;
      // d(objective)/d(CE) = −d/d(log π) = A − β(1 − r); CE's mean over `counted` is undone.
      b.weights[n] = static_cast<float>((advantage - a.kl_beta * (1.0 - ratio)) * per_seq * counted);
    }
  }
  return kl;
}

Expected<GrpoResult> run_grpo(const GrpoOptions& o) {
  RADSEEK_TRY(validate(o));
  auto rs = open_run(o);
  if (!rs) return rs.error();
  for (const auto& p : o.prompts)
    for (int32_t id : p)
      if (id < 0 || id >= rs->cfg.vocab_size) return make_error(ErrorCode::kInvalidArgument, "grpo: prompt id out of the vocabulary");
  ThreadPool pool(o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  const kernels::KernelTable kt = kernels::make_kernel_table(kernels::best_supported_isa(kernels::detect_cpu_features()));
  Loop L{.o = o, .rs = *rs, .ctx = Context{.pool = &pool, .kernels = &kt}, .model = TrainModel<float>(rs->cfg, rs->layout, {.mtp_weight = 0.0, .run_mtp = false}),
         .grads = std::vector<float>(rs->layout.total), .scratch_dir = o.out_dir + "/rollout_policy",
         .pad_id = static_cast<int32_t>(rs->cfg.eos_token_ids.empty() ? 0 : rs->cfg.eos_token_ids[0])};
  LrSchedule sched = o.lr;
  sched.total_steps = o.steps;
  auto save = [&]() -> Status {
    RADSEEK_TRY(save_trainer_state(o.out_dir, rs->layout, rs->st));
    RADSEEK_TRY(export_hf_checkpoint({.dir = o.out_dir, .config = rs->config, .format = o.format, .layout = &rs->layout,
                                      .params = rs->st.params.data()}));
    return copy_tokenizer(o.init_from, o.out_dir);
  };
  GrpoResult result;
  Timer timer;
  const int64_t first_step = rs->st.step + 1;
  const int64_t last_step = o.stop_at > 0 ? std::min(o.stop_at, o.steps) : o.steps;
  for (int64_t step = first_step; step <= last_step; ++step) {
    auto rep = grpo_step(L, step, sched);
    if (!rep) return rep.error();
    rep->eta_s = timer.seconds() / static_cast<double>(step - first_step + 1) * static_cast<double>(last_step - step);
    result.mean_rewards.push_back(rep->mean_reward);
    if (o.on_step) o.on_step(*rep);
    if (o.save_every > 0 && step % o.save_every == 0 && step < last_step) RADSEEK_TRY(save());
  }
  RADSEEK_TRY(save());
  std::error_code ec;
  std::filesystem::remove_all(L.scratch_dir, ec);
  result.final_step = rs->st.step;
  return result;
}

}  // namespace radseek::train

#include "train/trainer.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <thread>

#include "base/mapped_file.h"
#include "base/timer.h"
#include "tokenizer/tokenizer.h"
#include "train/checkpoint_io.h"
#include "train/data.h"
#include "train/loss_log.h"
#include "train/tokenizer_files.h"
#include "train/train_model.h"

namespace radseek::train {
namespace {

// The architecture to train: the given config, fitted to the tokenizer (BOS/EOS ids), with one MTP
// module when the MTP loss is on and none otherwise (an untrained module is never written).
Expected<nlohmann::json> model_config(const TrainRunOptions& o, const tokenizer::Tokenizer& tok) {
  nlohmann::json c = o.config;
  // A resumed run without a config (the CLI passes none) continues the architecture it saved.
  const std::string from = !o.init_from.empty() ? o.init_from : o.resume && !c.is_object() ? o.out_dir : "";
  if (!from.empty()) {
    auto text = read_text_file(from + "/config.json");
    if (!text) return text.error();
    c = nlohmann::json::parse(*text, nullptr, false);
    if (c.is_discarded() || !c.is_object()) return make_error(ErrorCode::kParse, from + "/config.json: not a JSON object");
  }
  if (!c.is_object()) return make_error(ErrorCode::kInvalidArgument, "training config: expected a config.json object");
  c.erase("quantization_config");
  if (!(o.mtp_weight >= 0.0 && std::isfinite(o.mtp_weight)))
    return make_error(ErrorCode::kInvalidArgument, "--mtp-weight must be a finite value >= 0 (0: no MTP)");
  c["num_nextn_predict_layers"] = o.mtp_weight > 0 ? 1 : 0;
  if (tok.bos_id()) c["bos_token_id"] = *tok.bos_id();
  if (tok.eos_id()) c["eos_token_id"] = *tok.eos_id();
  if (!c.contains("vocab_size") || c["vocab_size"].get<int64_t>() < tok.vocab_size())
    return make_error(ErrorCode::kInvalidArgument, "config: vocab_size must be at least the tokenizer's " + std::to_string(tok.vocab_size()));
  return c;
}

Status copy_tokenizer(const std::string& from, const std::string& to) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(to, ec);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) {
    if (!fs::exists(fs::path(from) / f) || fs::equivalent(fs::path(from), fs::path(to), ec)) continue;
    fs::copy_file(fs::path(from) / f, fs::path(to) / f, fs::copy_options::overwrite_existing, ec);
    if (ec) return make_error(ErrorCode::kIo, (fs::path(to) / f).string() + ": copy failed: " + ec.message());
  }
  return {};
}

Expected<std::vector<Example>> load_data(const TrainRunOptions& o, const tokenizer::Tokenizer& tok) {
  if (o.stage == Stage::kPretrain) return load_pretrain_data(o.data, tok, o.seq_len);
  auto data = load_sft_data(o.data, tok, o.sft_targets);
  if (!data) return data;
  // An answer that starts beyond the window would train nothing: a silent zero loss, so refuse.
  for (size_t i = 0; i < data->size(); ++i) {
    const auto& p = (*data)[i].predicted;
    const auto first = std::find(p.begin(), p.end(), uint8_t{1}) - p.begin();
    if (first >= o.seq_len)
      return make_error(ErrorCode::kInvalidArgument, o.data + ": example " + std::to_string(i + 1) + ": the answer starts at token " +
                                                         std::to_string(first) + ", beyond --seq-len " + std::to_string(o.seq_len));
  }
  return data;
}

// The run's loss log, if asked for; a resumed run keeps the rows up to the step it resumes from.
Expected<std::optional<LossLog>> open_loss_log(const TrainRunOptions& o, int64_t saved_step) {
  if (o.loss_log.empty()) return std::optional<LossLog>();
  auto log = LossLog::open({.path = o.loss_log, .with_mtp = o.mtp_weight > 0,
                            .resume_after = o.resume ? std::optional<int64_t>(saved_step) : std::nullopt});
  if (!log) return log.error();
  return std::optional<LossLog>(std::move(*log));
}

// Where training starts: the saved state (--resume), or seeded values overwritten by the init_from
// checkpoint's tensors. An MTP module init_from lacks (SFT after a pretrain without MTP, the usual
// case) keeps its seeded values: the main tensors are the layout's prefix, which that checkpoint fills.
Expected<TrainerState> initial_state(const TrainRunOptions& o, const format::ModelConfig& cfg, const ParamLayout& layout) {
  if (o.resume) {
    auto s = load_trainer_state(o.out_dir, layout);
    if (!s) return s.error();
    const double saved = s->meta.value("mtp_weight", 0.0);
    if ((saved > 0) != (o.mtp_weight > 0))  // a state with a module would silently lose it
      return make_error(ErrorCode::kInvalidArgument, o.out_dir + ": the saved run was trained with --mtp-weight " +
                                                         std::to_string(saved) + "; resume it with MTP " + (saved > 0 ? "on" : "off"));
    return s;
  }
  TrainerState st;
  st.params = init_params(layout, cfg.num_hidden_layers, o.seed, o.init_std);
  if (!o.init_from.empty()) {
    auto from = format::load_model_config(o.init_from);
    if (!from) return from.error();
    const bool with_mtp = layout_has_mtp(cfg, layout) && from->num_nextn_predict_layers > 0;
    auto p = load_hf_params(o.init_from, with_mtp ? layout : make_param_layout(cfg, false));
    if (!p) return p.error();
    std::copy(p->begin(), p->end(), st.params.begin());
  }
  st.exp_avg.assign(layout.total, 0.0f);
  st.exp_avg_sq.assign(layout.total, 0.0f);
  return st;
}

}  // namespace

Expected<TrainRunResult> run_training(const TrainRunOptions& o) {
  auto tok = tokenizer::Tokenizer::load(o.tokenizer_dir);
  if (!tok) return tok.error();
  auto cfgj = model_config(o, *tok);
  if (!cfgj) return cfgj.error();
  auto cfg = format::parse_model_config(cfgj->dump(), "training config");
  if (!cfg) return cfg.error();
  auto data = load_data(o, *tok);
  if (!data) return data.error();
  const ParamLayout layout = make_param_layout(*cfg, o.mtp_weight > 0);
  auto state = initial_state(o, *cfg, layout);
  if (!state) return state.error();
  TrainerState st = std::move(*state);
  st.meta = {{"stage", o.stage == Stage::kPretrain ? "pretrain" : "sft"}, {"seed", o.seed}, {"batch", o.batch},
             {"seq_len", o.seq_len}, {"steps", o.steps}, {"peak_lr", o.lr.peak}, {"mtp_weight", o.mtp_weight}};
  ThreadPool pool(o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  const kernels::KernelTable kt = kernels::make_kernel_table(kernels::best_supported_isa(kernels::detect_cpu_features()));
  const Context ctx{.pool = &pool, .kernels = &kt, .train_gemm = o.precision};
  TrainModel<float> model(*cfg, layout, {.mtp_weight = o.mtp_weight});
  LrSchedule sched = o.lr;
  sched.total_steps = o.steps;
  const int32_t pad = tok->token_to_id(kPadText).value_or(tok->eos_id().value_or(0));
  std::vector<float> grads(layout.total);
  TrainRunResult result;
  Timer timer;
  int64_t tokens = 0;
  const int64_t first_step = st.step + 1;
  auto save = [&]() -> Status {
    RADSEEK_TRY(save_trainer_state(o.out_dir, layout, st));
    RADSEEK_TRY(export_hf_checkpoint({.dir = o.out_dir, .config = *cfgj, .format = o.format, .layout = &layout,
                                      .params = st.params.data()}));
    return copy_tokenizer(o.tokenizer_dir, o.out_dir);
  };
  const int64_t last_step = o.stop_at > 0 ? std::min(o.stop_at, o.steps) : o.steps;
  auto loss_log = open_loss_log(o, st.step);
  if (!loss_log) return loss_log.error();
  for (int64_t step = first_step; step <= last_step; ++step) {
    const Batch batch = make_batch(*data, o.seed, st.examples_seen, o.batch, o.seq_len, pad);
    st.examples_seen += o.batch;
    const ForwardResult fr = model.forward(ctx, st.params.data(), batch);
    std::fill(grads.begin(), grads.end(), 0.0f);
    model.backward(ctx, st.params.data(), grads.data());
    StepReport rep{.step = step, .total_steps = o.steps, .loss = fr.loss, .lr = sched.at(step),
                   .grad_norm = clip_grad_norm(grads, o.clip), .tokens_per_s = 0, .eta_s = 0, .expert_load = fr.expert_load,
                   .mtp_loss = model.has_mtp() ? std::optional(fr.mtp_loss) : std::nullopt};
    adamw_step(layout, o.adam, step, rep.lr, grads, st.params, st.exp_avg, st.exp_avg_sq);
    if (o.bias_update_speed > 0) balance_expert_bias(*cfg, layout, fr.expert_load, o.bias_update_speed, st.params);
    st.step = step;
    tokens += fr.counted;
    const double secs = timer.seconds();
    rep.tokens_per_s = secs > 0 ? static_cast<double>(tokens) / secs : 0.0;
    rep.eta_s = secs / static_cast<double>(step - first_step + 1) * static_cast<double>(last_step - step);
    result.losses.push_back(fr.loss);
    if (rep.mtp_loss) result.mtp_losses.push_back(*rep.mtp_loss);
    if (*loss_log) RADSEEK_TRY((*loss_log)->write({.step = step, .loss = fr.loss, .mtp_loss = rep.mtp_loss, .lr = rep.lr, .grad_norm = rep.grad_norm}));
    if (o.on_step) o.on_step(rep);
    if (o.save_every > 0 && step % o.save_every == 0 && step < last_step) RADSEEK_TRY(save());
  }
  RADSEEK_TRY(save());
  result.final_step = st.step;
  return result;
}

}  // namespace radseek::train
